//! Simulator errors.

use chicane_core::ActionError;
use chicane_reward::RewardError;

/// What can go wrong building or stepping an env.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A configuration field is out of range.
    #[error("sim config: {field}: {problem}")]
    Config {
        /// The field, dotted (`camera.fov_deg`).
        field: String,
        /// What is wrong and the accepted range.
        problem: String,
    },
    /// The action does not fit the action space.
    #[error(transparent)]
    Action(#[from] ActionError),
    /// The reward function failed or broke DeepRacer's contract; the run
    /// must stop.
    #[error("the reward function failed at episode {episode}, step {step} (params: {params})")]
    Reward {
        /// Episode index (0-based).
        episode: u64,
        /// Step within the episode (1-based, DeepRacer's `steps`).
        step: u64,
        /// The params the function was given (waypoints elided).
        params: String,
        /// The reward function's error.
        #[source]
        source: RewardError,
    },
    /// `step` was called before `reset`, or after the episode ended
    /// without a reset.
    #[error("step called on an env that needs reset(): {0}")]
    NeedsReset(&'static str),
    /// The physics produced a non-finite state (should never happen; the
    /// episode is discarded).
    #[error("the physics produced a non-finite car state at episode {episode}, step {step}")]
    Physics {
        /// Episode index.
        episode: u64,
        /// Step.
        step: u64,
    },
}
