//! What a training run reports: one record per episode and per PPO
//! iteration (the lines of `metrics.jsonl`), and the summary at the end.

use crate::checkpoint::TrainerState;
use crate::learner::UpdateStats;
use crate::options::StopReason;
use chicane_sim::EpisodeStatus;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One episode that finished in a worker, before the learner numbers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerEpisode {
    /// Steps taken.
    pub steps: u64,
    /// Sum of rewards.
    pub reward: f64,
    /// Final progress (%).
    pub progress: f64,
    /// DeepRacer's episode status (`lap_complete`, `off_track`, ...).
    pub status: EpisodeStatus,
    /// Lap time (s) when the lap was completed.
    pub lap_time: Option<f64>,
    /// Start time, ms since the Unix epoch.
    pub start_ms: u128,
    /// End time, ms since the Unix epoch.
    pub end_ms: u128,
    /// The track it ran on (its name).
    pub track: String,
    /// The episode's sim-trace rows without the leading `episode` column
    /// (the learner adds it; columns as [`chicane_sim::SIMTRACE_HEADER`]).
    pub trace_rows: Vec<String>,
}

/// One finished training episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Episode index (0-based, over the whole run).
    pub episode: u64,
    /// The iteration of the rollout it ended in (0-based, as DeepRacer's
    /// `N-iteration.csv`): its policy is the one after this many updates,
    /// or one fewer when rollouts overlap updates
    /// ([`crate::TrainOptions::overlap`]).
    pub iteration: u64,
    /// Steps taken.
    pub steps: u64,
    /// Sum of rewards.
    pub reward: f64,
    /// Final progress (%).
    pub progress: f64,
    /// DeepRacer's episode status (`lap_complete`, `off_track`, ...).
    pub status: EpisodeStatus,
    /// Lap time (s) when the lap was completed.
    pub lap_time: Option<f64>,
    /// Training time when it finished (s).
    pub elapsed_s: f64,
    /// The track it ran on (its name; multi-track training switches).
    #[serde(default)]
    pub track: String,
}

/// The summary of one PPO iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// Iteration index (1-based: the number of updates done).
    pub iteration: u64,
    /// Episodes finished so far, up to the end of the rollout this update
    /// learnt from (an overlapping rollout's are the next iteration's).
    pub episodes: u64,
    /// Env steps so far, up to the same point as `episodes`.
    pub total_steps: u64,
    /// Env steps per second over this iteration, including inference and
    /// the update.
    pub steps_per_s: f64,
    /// Mean episode reward of this rollout.
    pub mean_reward: f64,
    /// Mean progress (%) of this rollout's episodes.
    pub mean_progress: f64,
    /// Laps completed in this rollout.
    pub laps: u64,
    /// Fastest training lap so far (s).
    pub best_lap: Option<f64>,
    /// PPO statistics.
    pub update: UpdateStats,
    /// Training time so far (s).
    pub elapsed_s: f64,
}

/// What a training invocation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// The final counters.
    pub state: TrainerState,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
}

/// A run's completed training laps, summed up (`chicane compare`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LapSummary {
    /// Episodes logged.
    pub episodes: u64,
    /// Completed laps among them.
    pub laps: u64,
    /// Training time when the last episode finished (s, the run's own
    /// clock, [`EpisodeRecord::elapsed_s`]); 0 without episodes.
    pub elapsed_s: f64,
    /// Training time when the first lap was completed (s).
    pub first_lap_at_s: Option<f64>,
    /// The fastest lap (s).
    pub best_lap_s: Option<f64>,
    /// The mean of the last [`LapSummary::LAST_LAPS`] laps, or of all of
    /// them when there are fewer (s).
    pub last_laps_mean_s: Option<f64>,
}

impl LapSummary {
    /// How many of the last laps [`LapSummary::last_laps_mean_s`] averages.
    pub const LAST_LAPS: usize = 100;

    /// The summary of `episodes` (in the order logged).
    pub fn of(episodes: &[EpisodeRecord]) -> LapSummary {
        let laps: Vec<(f64, f64)> = episodes
            .iter()
            .filter_map(|e| Some((e.elapsed_s, e.lap_time?)))
            .collect();
        let last = &laps[laps.len().saturating_sub(Self::LAST_LAPS)..];
        LapSummary {
            episodes: episodes.len() as u64,
            laps: laps.len() as u64,
            elapsed_s: episodes.last().map_or(0.0, |e| e.elapsed_s),
            first_lap_at_s: laps.first().map(|l| l.0),
            best_lap_s: laps.iter().map(|l| l.1).reduce(f64::min),
            last_laps_mean_s: (!last.is_empty())
                .then(|| last.iter().map(|l| l.1).sum::<f64>() / last.len() as f64),
        }
    }
}
