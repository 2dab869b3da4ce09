//! [`TrainObserver`]: what a front end (the CLI's progress bar, the GUI,
//! a Python driver) sees of training and how it steers it, while rollout
//! workers and the learner run.

use crate::error::AgentError;
use crate::learner::PolicySample;
use crate::records::{EpisodeRecord, IterationRecord, WorkerEpisode};
use chicane_config::ResolvedRun;
use chicane_sim::VecEnv;

/// What a rollout shows [`TrainObserver::observe`] after each vector step.
#[derive(Debug, Clone, Copy)]
pub struct StepView<'a> {
    /// The envs after the step: `info(i)` (or `final_info(i)` where an
    /// episode just ended), `camera_batch()`, `rewards()`.
    pub env: &'a VecEnv,
    /// The policy's sample for each env this step (action, probability).
    ///
    /// # Shapes
    /// `[num_envs]`.
    pub samples: &'a [PolicySample],
}

/// Receives progress while training runs and may steer it. Every method
/// has a default that does nothing, so an observer implements what it
/// needs. A [`crate::RolloutWorker`] calls the per-step methods
/// (`worker_episode`, `steps`, `observe`, `stop_requested`); the trainer
/// calls the rest.
pub trait TrainObserver {
    /// An episode ended in a rollout worker, before the learner numbers it
    /// (the local trainer logs it here, then reports it as
    /// [`TrainObserver::episode`]).
    ///
    /// # Errors
    /// Any error stops the rollout and is returned by `collect`.
    fn worker_episode(&mut self, _episode: &WorkerEpisode) -> Result<(), AgentError> {
        Ok(())
    }
    /// An episode finished and was logged.
    fn episode(&mut self, _record: &EpisodeRecord) {}
    /// A PPO update finished and its checkpoint was written.
    fn iteration(&mut self, _record: &IterationRecord) {}
    /// `env_steps` more env steps were taken (once per vector step).
    fn steps(&mut self, _env_steps: u64) {}
    /// Something went wrong that does not stop the run (an upload of the
    /// run folder to S3 that the next checkpoint retries).
    fn warning(&mut self, _message: &str) {}
    /// True when training should stop (Ctrl-C, the GUI's Stop); checked
    /// every vector step.
    fn stop_requested(&self) -> bool {
        false
    }
    /// The envs after each vector step and the policy's samples that drove
    /// them (live views; copy only what is needed). Blocking here pauses
    /// training.
    fn observe(&mut self, _view: StepView<'_>) {}
    /// A run whose reward function replaces the current one from the next
    /// rollout on (a reward script edited while training); asked before
    /// every rollout.
    fn take_reward_reload(&mut self) -> Option<ResolvedRun> {
        None
    }
    /// The reward function was replaced before iteration `iteration`
    /// (`Err`: the new one failed to load and the old one is kept).
    fn reward_reloaded(&mut self, _iteration: u64, _result: Result<&str, &AgentError>) {}
}

/// A [`TrainObserver`] that sees nothing and never stops training (a Ray
/// rollout worker, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl TrainObserver for NoObserver {}
