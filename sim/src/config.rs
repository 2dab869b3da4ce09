//! The simulator's configuration: plain structs whose every field has a
//! unit and a default, resolved and validated once before any work.

use crate::error::SimError;
use crate::vehicle::VehicleConfig;
use chicane_core::{CameraConfig, LidarConfig};
use chicane_tracks::Direction;
use serde::{Deserialize, Serialize};

/// Physics and control timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhysicsConfig {
    /// How often the agent acts (Hz). Default 15 (DeepRacer).
    pub action_hz: f64,
    /// Physics steps per action; the physics step is
    /// `1 / (action_hz * substeps)`. Default 8 (120 Hz physics).
    pub substeps: u32,
}

impl Default for PhysicsConfig {
    fn default() -> Self {
        Self {
            action_hz: 15.0,
            substeps: 8,
        }
    }
}

impl PhysicsConfig {
    /// Physics step (s).
    pub fn dt(&self) -> f64 {
        1.0 / (self.action_hz * self.substeps as f64)
    }
}

/// When an episode ends (DeepRacer's rules, `deepracer_simapp` `agent_ctrl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EpisodeConfig {
    /// Laps to complete before the episode ends. Default 1.
    pub laps: u32,
    /// Steps before the episode is truncated ("time_up"). Default 4500
    /// (5 minutes at 15 Hz).
    pub max_steps: u64,
    /// Consecutive steps of falling progress that end the episode as
    /// "reversed". Default 15.
    pub reversed_steps: u32,
    /// Consecutive steps below `immobilized_speed` that end the episode as
    /// "immobilized". Default 15.
    pub immobilized_steps: u32,
    /// Speed (m/s) below which the car counts as not moving. Default 0.03.
    pub immobilized_speed: f64,
    /// Reward of the last step of a failed episode (off track, crashed,
    /// reversed, immobilized); `None` keeps the reward function's value.
    /// Default 0.001 (DeepRacer's `CRASHED` reward).
    pub failure_reward: Option<f64>,
}

impl Default for EpisodeConfig {
    fn default() -> Self {
        Self {
            laps: 1,
            max_steps: 4500,
            reversed_steps: 15,
            immobilized_steps: 15,
            immobilized_speed: 0.03,
            failure_reward: Some(1e-3),
        }
    }
}

/// Where episodes start (DeepRacer's `CHANGE_START_POSITION`,
/// `ALTERNATE_DRIVING_DIRECTION`, `START_POSITION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StartConfig {
    /// Start position as a fraction of the lap from waypoint 0, `[0, 1)`.
    /// Default: the track's recommended start.
    pub start_position: Option<f64>,
    /// Driving direction. Default: the track's recommended direction.
    pub direction: Option<Direction>,
    /// Flip the direction every episode. Default false.
    pub alternate_driving_direction: bool,
    /// Move the start ahead by `round_robin_advance_dist` each episode.
    /// Default false.
    pub change_start_position: bool,
    /// Fraction of a lap the start moves per episode. Default 0.05 when
    /// unset (DeepRacer's `ROUND_ROBIN_ADVANCE_DIST`).
    pub round_robin_advance_dist: Option<f64>,
    /// Start at a uniformly random position each episode. Default false.
    pub random_start: bool,
}

/// Which side of the centre line an object sits on (DeepRacer's lane
/// `1` = left, `-1` = right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Left of the centre line (`1`).
    Left,
    /// Right of the centre line (`-1`).
    Right,
}

impl Lane {
    /// `+1` for left, `-1` for right.
    pub fn sign(self) -> f64 {
        match self {
            Lane::Left => 1.0,
            Lane::Right => -1.0,
        }
    }
}

/// One of DeepRacer's `OBJECT_POSITIONS`, parsed once from its
/// `"progress,lane"` text: `progress` a fraction of the lap `[0, 1)`,
/// lane `1` (left of the centre line) or `-1` (right).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectPosition {
    /// Fraction of the lap from the start, `[0, 1)`.
    pub progress: f64,
    /// The side of the centre line.
    pub lane: Lane,
}

impl std::str::FromStr for ObjectPosition {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let fix = "write it as \"PROGRESS,LANE\" with PROGRESS in [0, 1) and LANE 1 (left) or -1 (right), e.g. \"0.25,1\"";
        let (p, l) = text
            .split_once(',')
            .ok_or_else(|| format!("`{text}`: {fix}"))?;
        let progress: f64 = p
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: progress is not a number; {fix}"))?;
        let lane: f64 = l
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: lane is not a number; {fix}"))?;
        let lane = match lane {
            1.0 => Lane::Left,
            -1.0 => Lane::Right,
            _ => return Err(format!("`{text}`: {fix}")),
        };
        if !(0.0..1.0).contains(&progress) {
            return Err(format!("`{text}`: {fix}"));
        }
        Ok(ObjectPosition { progress, lane })
    }
}

impl TryFrom<String> for ObjectPosition {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<ObjectPosition> for String {
    fn from(p: ObjectPosition) -> String {
        let lane = match p.lane {
            Lane::Left => 1,
            Lane::Right => -1,
        };
        format!("{},{lane}", p.progress)
    }
}

/// Where obstacles go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ObstacleConfig {
    /// Number of boxes (DeepRacer's `NUMBER_OF_OBSTACLES`). Default 0.
    pub number_of_obstacles: usize,
    /// Place them at random progress and lane each episode
    /// (`RANDOMIZE_OBSTACLE_LOCATIONS`); otherwise evenly spaced in
    /// alternating lanes. Default false.
    pub randomize_obstacle_locations: bool,
    /// Explicit positions as DeepRacer's `OBJECT_POSITIONS`: `"progress,lane"`
    /// with progress a fraction of the lap `[0, 1)` and lane `1` (left of
    /// the centerline) or `-1` (right). Overrides the two options above.
    pub object_positions: Vec<ObjectPosition>,
    /// Box size (m): length, width, height. Default 0.4 x 0.5 x 0.4
    /// (DeepRacer's box obstacle).
    pub size: Option<[f64; 3]>,
}

/// Bot cars for head-to-bot races.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// Number of bot cars (`NUMBER_OF_BOT_CARS`). Default 0.
    pub number_of_bot_cars: usize,
    /// Their speed (m/s) (`BOT_CAR_SPEED`). Default 0.2.
    pub bot_car_speed: f64,
    /// Whether they change lanes (`IS_LANE_CHANGE`). Default false.
    pub is_lane_change: bool,
    /// Shortest time between lane changes (s) (`LOWER_LANE_CHANGE_TIME`). Default 3.
    pub lower_lane_change_time: f64,
    /// Longest time between lane changes (s) (`UPPER_LANE_CHANGE_TIME`). Default 5.
    pub upper_lane_change_time: f64,
    /// Distance (m) along the track over which a lane change happens
    /// (`LANE_CHANGE_DISTANCE`). Default 1.
    pub lane_change_distance: f64,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            number_of_bot_cars: 0,
            bot_car_speed: 0.2,
            is_lane_change: false,
            lower_lane_change_time: 3.0,
            upper_lane_change_time: 5.0,
            lane_change_distance: 1.0,
        }
    }
}

/// Domain randomisation of the camera, off by default. Each factor is
/// drawn once per episode, uniformly within `+-` its magnitude.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DomainRandomization {
    /// Turn it all on or off. Default false.
    pub enabled: bool,
    /// Brightness offset (fraction of full scale), e.g. 0.15.
    pub brightness: f64,
    /// Contrast gain deviation, e.g. 0.2 (gain within 0.8..1.2).
    pub contrast: f64,
    /// Per-channel colour gain deviation, e.g. 0.1.
    pub color: f64,
    /// Texture jitter: amplitude (0..255) of fixed per-episode noise on
    /// the ground, e.g. 8.
    pub texture: f64,
    /// Sensor noise: standard deviation (0..255) of per-pixel noise each frame, e.g. 4.
    pub noise: f64,
    /// Probability of a 3x3 blur per episode, e.g. 0.3.
    pub blur: f64,
    /// Camera mount jitter: height (m), e.g. 0.01.
    pub mount_height: f64,
    /// Camera mount jitter: pitch (deg), e.g. 3.
    pub mount_pitch_deg: f64,
    /// Camera mount jitter: yaw (deg), e.g. 2.
    pub mount_yaw_deg: f64,
    /// Painted line width scale deviation, e.g. 0.25 (0.75x..1.25x);
    /// three texture variants are built when set.
    pub line_width: f64,
}

/// Everything a [`crate::RaceEnv`] needs besides the track and the reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// The car.
    pub vehicle: VehicleConfig,
    /// Timing.
    pub physics: PhysicsConfig,
    /// The front camera; `None` for lidar-only observations.
    pub camera: Option<CameraConfig>,
    /// The lidar; `None` without one. Default none.
    pub lidar: Option<LidarConfig>,
    /// Episode rules.
    pub episode: EpisodeConfig,
    /// Start positions.
    pub start: StartConfig,
    /// Obstacles (object avoidance races).
    pub obstacles: ObstacleConfig,
    /// Bot cars (head-to-bot races).
    pub bots: BotConfig,
    /// Camera domain randomisation.
    pub domain_randomization: DomainRandomization,
    /// Physics and actuation randomisation (grip, mass, motor, steering
    /// trim, latency, action noise, frame drops), off by default.
    pub physics_randomization: crate::randomization::PhysicsRandomization,
    /// The real camera's lens, sensor and compression, off by default.
    pub camera_realism: crate::camera_realism::CameraRealism,
    /// Walls, background objects and marks on the floor, seen by the
    /// camera only; off by default.
    pub scenery: crate::scenery::Scenery,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            vehicle: VehicleConfig::default(),
            physics: PhysicsConfig::default(),
            camera: Some(CameraConfig::default()),
            lidar: None,
            episode: EpisodeConfig::default(),
            start: StartConfig::default(),
            obstacles: ObstacleConfig::default(),
            bots: BotConfig::default(),
            domain_randomization: DomainRandomization::default(),
            physics_randomization: crate::randomization::PhysicsRandomization::default(),
            camera_realism: crate::camera_realism::CameraRealism::default(),
            scenery: crate::scenery::Scenery::default(),
        }
    }
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> SimError {
    SimError::Config {
        field: field.into(),
        problem: problem.into(),
    }
}

impl SimConfig {
    /// The defaults with no camera and a one-beam lidar (an env needs a
    /// sensor): the cheapest car for computing params and rewards, as in
    /// `chicane reward check` and its heat map.
    pub fn params_only() -> SimConfig {
        SimConfig {
            camera: None,
            lidar: Some(chicane_core::LidarConfig {
                beams: 1,
                ..Default::default()
            }),
            ..SimConfig::default()
        }
    }

    /// Checks every section; call once before building envs.
    ///
    /// # Errors
    /// [`SimError::Config`] naming the field and the accepted range.
    pub fn validate(&self) -> Result<(), SimError> {
        self.vehicle.validate().map_err(|(f, p)| bad(f, p))?;
        if let Some(c) = &self.camera {
            c.validate().map_err(|(f, p)| bad(f, p))?;
        }
        if let Some(l) = &self.lidar {
            l.validate().map_err(|(f, p)| bad(f, p))?;
        }
        if self.camera.is_none() && self.lidar.is_none() {
            return Err(bad(
                "camera",
                "the car needs a camera or a lidar (or both) to observe anything",
            ));
        }
        let p = &self.physics;
        if !(p.action_hz.is_finite() && p.action_hz > 0.0 && p.action_hz <= 1000.0) {
            return Err(bad(
                "physics.action_hz",
                format!("{} Hz must be within (0, 1000]", p.action_hz),
            ));
        }
        if !(1..=1000).contains(&p.substeps) {
            return Err(bad(
                "physics.substeps",
                format!("{} must be 1 to 1000", p.substeps),
            ));
        }
        if p.dt() > 0.02 {
            return Err(bad(
                "physics.substeps",
                format!(
                    "the physics step {:.4} s is too long for a stable suspension; use at most 0.02 s (more substeps)",
                    p.dt()
                ),
            ));
        }
        let e = &self.episode;
        if e.laps == 0 || e.max_steps == 0 {
            return Err(bad("episode.laps", "laps and max_steps must be at least 1"));
        }
        if !(e.immobilized_speed.is_finite() && e.immobilized_speed >= 0.0) {
            return Err(bad(
                "episode.immobilized_speed",
                "must be a speed of 0 m/s or more",
            ));
        }
        if let Some(r) = e.failure_reward
            && !(r.is_finite() && r.abs() <= 1e5)
        {
            return Err(bad(
                "episode.failure_reward",
                "must be a finite number within -1e5..1e5",
            ));
        }
        let s = &self.start;
        if let Some(x) = s.start_position
            && !(x.is_finite() && (0.0..1.0).contains(&x))
        {
            return Err(bad(
                "start.start_position",
                format!("{x} must be a fraction of the lap in [0, 1)"),
            ));
        }
        if let Some(x) = s.round_robin_advance_dist
            && !(x.is_finite() && (0.0..1.0).contains(&x))
        {
            return Err(bad(
                "start.round_robin_advance_dist",
                format!("{x} must be a fraction of the lap in [0, 1)"),
            ));
        }
        if self.obstacles.number_of_obstacles > 50 || self.bots.number_of_bot_cars > 20 {
            return Err(bad(
                "obstacles.number_of_obstacles",
                "at most 50 obstacles and 20 bot cars",
            ));
        }
        if let Some(size) = self.obstacles.size
            && !size.iter().all(|v| v.is_finite() && *v > 0.0 && *v < 10.0)
        {
            return Err(bad(
                "obstacles.size",
                "each dimension must be within (0, 10) m",
            ));
        }
        let b = &self.bots;
        if !(b.bot_car_speed.is_finite() && (0.0..=4.0).contains(&b.bot_car_speed)) {
            return Err(bad(
                "bots.bot_car_speed",
                format!("{} m/s must be within 0..4", b.bot_car_speed),
            ));
        }
        if !(b.lower_lane_change_time.is_finite()
            && b.lower_lane_change_time > 0.0
            && b.lower_lane_change_time <= b.upper_lane_change_time
            && b.upper_lane_change_time.is_finite())
        {
            return Err(bad(
                "bots.lower_lane_change_time",
                "lane change times must satisfy 0 < lower <= upper",
            ));
        }
        if !(b.lane_change_distance.is_finite() && b.lane_change_distance > 0.0) {
            return Err(bad(
                "bots.lane_change_distance",
                "must be a positive distance in metres",
            ));
        }
        let d = &self.domain_randomization;
        check_ranges(
            "domain_randomization",
            &[
                ("brightness", d.brightness, 0.0, 1.0),
                ("contrast", d.contrast, 0.0, 1.0),
                ("color", d.color, 0.0, 1.0),
                ("texture", d.texture, 0.0, 128.0),
                ("noise", d.noise, 0.0, 128.0),
                ("blur", d.blur, 0.0, 1.0),
                ("mount_height", d.mount_height, 0.0, 0.05),
                ("mount_pitch_deg", d.mount_pitch_deg, 0.0, 20.0),
                ("mount_yaw_deg", d.mount_yaw_deg, 0.0, 20.0),
                ("line_width", d.line_width, 0.0, 0.9),
            ],
        )
        .map_err(|(f, p)| bad(f, p))?;
        self.physics_randomization
            .validate()
            .map_err(|(f, p)| bad(f, p))?;
        self.camera_realism.validate().map_err(|(f, p)| bad(f, p))?;
        self.scenery.validate().map_err(|(f, p)| bad(f, p))?;
        Ok(())
    }
}

/// Checks that every `(field, value, lo, hi)` of the table `table` is a
/// finite value within `lo..=hi`.
///
/// # Errors
/// `(table.field, "V must be within LO..HI")` for the first that is not.
pub(crate) fn check_ranges(
    table: &str,
    checks: &[(&str, f64, f64, f64)],
) -> Result<(), (String, String)> {
    for &(field, v, lo, hi) in checks {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return Err((
                format!("{table}.{field}"),
                format!("{v} must be within {lo}..{hi}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_positions_parse_like_deepracer() {
        let p: ObjectPosition = "0.25,1".parse().unwrap();
        assert_eq!((p.progress, p.lane), (0.25, Lane::Left));
        let p: ObjectPosition = " 0.5 , -1 ".parse().unwrap();
        assert_eq!((p.progress, p.lane), (0.5, Lane::Right));
        assert_eq!(String::from(p), "0.5,-1");
        for bad in ["0.25", "1.5,1", "0.2,0", "a,1", "0.2,x"] {
            assert!(
                bad.parse::<ObjectPosition>()
                    .unwrap_err()
                    .contains("PROGRESS,LANE"),
                "{bad}"
            );
        }
    }
}
