//! The env's public types: observations, infos, transitions, reset
//! options and DeepRacer's episode statuses.

use crate::vehicle::CarState;
use chicane_reward::RewardParams;
use chicane_tracks::Direction;

/// DeepRacer reports the car's position 0.14 m ahead of the rear axle.
pub const REFERENCE_AHEAD_OF_REAR_AXLE: f64 = 0.14;

/// DeepRacer's episode statuses (`deepracer_simapp` `EpisodeStatus`), as
/// written in sim-traces (serde uses the same snake_case names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    /// Reset, no step taken yet.
    Prepare,
    /// Driving.
    InProgress,
    /// All four wheels left the track.
    OffTrack,
    /// Hit an obstacle or a bot car.
    Crashed,
    /// Progress fell for too many steps in a row.
    Reversed,
    /// Barely moved for too many steps in a row.
    Immobilized,
    /// Completed the configured laps.
    LapComplete,
    /// Reached the step cap (truncated, not terminated).
    TimeUp,
}

impl EpisodeStatus {
    /// DeepRacer's string for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeStatus::Prepare => "prepare",
            EpisodeStatus::InProgress => "in_progress",
            EpisodeStatus::OffTrack => "off_track",
            EpisodeStatus::Crashed => "crashed",
            EpisodeStatus::Reversed => "reversed",
            EpisodeStatus::Immobilized => "immobilized",
            EpisodeStatus::LapComplete => "lap_complete",
            EpisodeStatus::TimeUp => "time_up",
        }
    }

    /// DeepRacer's label in its metrics JSON (`training_metrics.json`,
    /// `evaluation-metrics.json`): `Lap complete`, `Off track`, ...
    pub fn deepracer_label(self) -> &'static str {
        match self {
            EpisodeStatus::Prepare | EpisodeStatus::InProgress => "In progress",
            EpisodeStatus::OffTrack => "Off track",
            EpisodeStatus::Crashed => "Crashed",
            EpisodeStatus::Reversed => "Reversed",
            EpisodeStatus::Immobilized => "Immobilized",
            EpisodeStatus::LapComplete => "Lap complete",
            EpisodeStatus::TimeUp => "Time up",
        }
    }

    /// Whether the episode failed (the car must be reset).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            EpisodeStatus::OffTrack
                | EpisodeStatus::Crashed
                | EpisodeStatus::Reversed
                | EpisodeStatus::Immobilized
        )
    }
}

/// What the car senses.
///
/// # Shapes
/// `camera`: `[C, H, W]` u8, channel-planar, `C` = 1 gray, 3 RGB, doubled
/// for stereo (left camera first). `lidar`: `[beams]` or `[sectors]` f32
/// distances (m).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// Camera frame(s); empty without a camera.
    pub camera: Vec<u8>,
    /// Lidar distances (m); empty without a lidar.
    pub lidar: Vec<f32>,
}

/// The shape of observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationSpace {
    /// `(channels, height, width)` of the camera, if any; values 0..=255.
    pub camera: Option<(usize, usize, usize)>,
    /// Number of lidar values, if any; values in `[min_range, max_range]` m.
    pub lidar: Option<usize>,
}

/// Per-step information besides the observation and reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// DeepRacer's params of this step.
    pub params: RewardParams,
    /// DeepRacer's episode status.
    pub episode_status: EpisodeStatus,
    /// Episode index (0-based, counts resets).
    pub episode: u64,
    /// Laps completed this episode.
    pub laps: u32,
    /// Time of each completed lap (s), in simulated time.
    pub lap_times: Vec<f64>,
    /// Simulated time since the reset (s).
    pub time: f64,
    /// Which wheels are on the track: front-left, front-right, rear-left, rear-right.
    pub wheels_on_track: [bool; 4],
    /// The car's state.
    pub car: CarState,
    /// The action's steering angle (deg) and speed (m/s) this step.
    pub action: (f64, f64),
    /// The track this episode runs on (its name), for multi-track training.
    pub track: std::sync::Arc<str>,
}

/// One `step`'s result.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The observation after the step.
    pub observation: Observation,
    /// The reward.
    pub reward: f64,
    /// The episode ended by the rules (off track, crashed, reversed,
    /// immobilized, lap complete).
    pub terminated: bool,
    /// The episode was cut by the step cap.
    pub truncated: bool,
    /// Everything else.
    pub info: Info,
}

/// Options for one `reset` (overriding the config for that episode).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResetOptions {
    /// Start at this fraction of the lap from waypoint 0.
    pub start_position: Option<f64>,
    /// Drive this way.
    pub direction: Option<Direction>,
}

/// Where an env's step time went (CPU seconds, summed since the env was
/// made or the timings were taken): for `chicane bench train`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct StepTimings {
    /// Rapier steps (with the tyres and bot cars).
    pub physics_s: f64,
    /// Camera and lidar.
    pub render_s: f64,
    /// The reward function (its params included).
    pub reward_s: f64,
    /// Resets (the car rebuilt, objects placed, the first frame).
    pub reset_s: f64,
    /// Steps taken.
    pub steps: u64,
}

impl std::ops::AddAssign for StepTimings {
    fn add_assign(&mut self, o: StepTimings) {
        self.physics_s += o.physics_s;
        self.render_s += o.render_s;
        self.reward_s += o.reward_s;
        self.reset_s += o.reset_s;
        self.steps += o.steps;
    }
}
