//! The resolved options of one training invocation (the run config holds
//! the rest), and why training stops.

use crate::device::DeviceKind;
use crate::error::AgentError;
use crate::net::NetworkKind;
use crate::run_dir::RunDir;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// How long a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutLength {
    /// Until this many episodes have finished (DeepRacer's
    /// `num_episodes_between_training`).
    Episodes(usize),
    /// This many steps of every env.
    StepsPerEnv(usize),
}

/// When training stops (any that is set).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StopConditions {
    /// After this much wall-clock time in this invocation.
    pub max_time: Option<Duration>,
    /// After this many episodes in total (DeepRacer's `term_cond_max_episodes`).
    pub max_episodes: Option<u64>,
    /// When the mean reward of the last rollout's episodes reaches this
    /// (DeepRacer's `term_cond_avg_score`).
    pub target_avg_score: Option<f64>,
    /// When the mean progress (%) of the last rollout's episodes reaches this.
    pub target_avg_progress: Option<f64>,
}

/// Why training stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `max_time` passed.
    MaxTime,
    /// `max_episodes` reached.
    MaxEpisodes,
    /// The mean reward reached `target_avg_score`.
    AvgScore,
    /// The mean progress reached `target_avg_progress`.
    AvgProgress,
    /// The observer asked to stop (Ctrl-C, the GUI's Stop).
    Interrupted,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::MaxTime => "max_time reached",
            StopReason::MaxEpisodes => "max_episodes reached (term_cond_max_episodes)",
            StopReason::AvgScore => "average score reached term_cond_avg_score",
            StopReason::AvgProgress => "target progress reached",
            StopReason::Interrupted => "interrupted",
        })
    }
}

/// Options of one training invocation, resolved and checked by
/// [`crate::RunRequest::resolve`] (or built by hand in tests).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The run folder.
    pub out_dir: RunDir,
    /// The network (the request's, the config's, or chicane's default).
    pub network: NetworkKind,
    /// Parallel envs. Default 4.
    pub num_envs: usize,
    /// Env threads (0 = one per core).
    pub num_threads: usize,
    /// Rollout length. Default: the run's `num_episodes_between_training`.
    pub rollout: RolloutLength,
    /// When to stop.
    pub stop: StopConditions,
    /// Continue the run in `out_dir` from its latest checkpoint.
    pub resume: bool,
    /// Start from the latest weights of another run folder.
    pub clone_from: Option<RunDir>,
    /// The compute device's kind.
    pub device_kind: DeviceKind,
    /// The compute device (plain; autodiff is added for training).
    pub device: Device,
    /// The learner acts and updates on chicane's native CPU kernels:
    /// device `cpu` with a network they cover (camera-only CNNs).
    pub native: bool,
    /// The local trainer collects the next rollout while the update on the
    /// last one runs (Sample Factory's double-buffered sampling, Petrenko
    /// et al. 2020): the acting policy is then one update behind the
    /// learner, which PPO's ratio to the acting policy's log-probabilities
    /// corrects. Deterministic either way (the lag is always one update).
    /// Default on; `false` (`--sequential`) takes turns as DeepRacer does.
    pub overlap: bool,
    /// Checkpoints kept. Default 3.
    pub checkpoints_kept: usize,
    /// GAE lambda. Default 0.95.
    pub gae_lambda: f64,
    /// The run folder on S3 when `out` was an `s3://` URL: `out_dir` is
    /// then its local mirror, synced after every checkpoint.
    pub remote: Option<std::sync::Arc<crate::RemoteRun>>,
}

/// A duration as users write them: `90` (seconds), `90s`, `10m`, `1h30m`,
/// `2h 5m` (humantime's forms).
///
/// # Errors
/// [`AgentError::Request`] naming `field` and the accepted forms.
pub fn parse_duration(field: &'static str, text: &str) -> Result<Duration, AgentError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    } else if let Ok(d) = humantime::parse_duration(t) {
        return Ok(d);
    }
    Err(AgentError::Request {
        field,
        problem: format!("`{text}`: use seconds (90) or units like 90s, 10m, 1h30m"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let p = |t| parse_duration("max_time", t).ok();
        assert_eq!(p("90"), Some(Duration::from_secs(90)));
        assert_eq!(p("10m"), Some(Duration::from_secs(600)));
        assert_eq!(p("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(p("2.5"), Some(Duration::from_millis(2500)));
        let e = parse_duration("max_time", "10 parsecs")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("max_time: `10 parsecs`"), "{e}");
        assert!(p("-3").is_none());
    }
}
