//! `chicane bench train`: end-to-end env steps per second of a fixed
//! training run, and where the time went.

use crate::error::AgentError;
use crate::learner::LearnerTimings;
use crate::observer::NoObserver;
use crate::request::RunPlan;
use crate::trainer::run_iterations;
use crate::training_run::TrainingRun;
use chicane_sim::StepTimings;
use serde::Serialize;
use std::time::Instant;

/// What a benchmark training run measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBench {
    /// The network.
    pub network: String,
    /// Parallel envs.
    pub num_envs: usize,
    /// PPO updates run.
    pub updates: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Env steps taken.
    pub env_steps: u64,
    /// Whether rollouts overlapped updates ([`crate::TrainOptions::overlap`]):
    /// the parts' times below then add up to more than the wall time.
    pub overlap: bool,
    /// Wall-clock time of the run (s), the first rollout to the last checkpoint.
    pub wall_s: f64,
    /// End-to-end env steps per second (inference, updates and logs included).
    pub steps_per_s: f64,
    /// The envs' CPU time by part (s, summed over envs on parallel threads).
    pub env: StepTimings,
    /// Wall time inside the vector env's step (s).
    pub env_wall_s: f64,
    /// Building observation batches (frame stacks, copies) (s).
    pub observe_s: f64,
    /// The learner's time by part (s).
    pub learner: LearnerTimings,
    /// Everything else (GAE, sim-trace rows, logs, checkpoints) (s): the
    /// wall time less the parts above; `None` when rollouts overlapped
    /// updates, whose parts ran at the same time.
    pub other_s: Option<f64>,
    /// Peak resident memory of the process (MiB), from `/proc/self/status`.
    pub peak_rss_mib: Option<f64>,
}

/// The process's peak resident set (MiB), where Linux reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Trains `plan` for `updates` PPO updates (each after the plan's
/// rollout length) and reports the speed and its breakdown. Writes the run
/// folder as `chicane train` does.
///
/// # Errors
/// As [`crate::train`].
pub fn bench_train(plan: &RunPlan, updates: u64) -> Result<TrainBench, AgentError> {
    let opts = &plan.options;
    let mut tr = TrainingRun::open(plan)?;
    let mut worker = tr.rollout_worker(plan)?;
    worker.take_timings();
    tr.learner.take_timings();
    let before = tr.state().clone();
    let started = Instant::now();
    run_iterations(
        &mut tr,
        &mut worker,
        plan,
        &mut NoObserver,
        Some(updates.max(1)),
    )?;
    let steps = tr.state().total_steps - before.total_steps;
    let episodes = tr.state().episodes - before.episodes;
    let wall_s = started.elapsed().as_secs_f64();
    let (env, env_wall_s, observe_s) = worker.take_timings();
    let learner = tr.learner.take_timings();
    let accounted = env_wall_s
        + observe_s
        + learner.inference_s
        + learner.batch_s
        + learner.forward_s
        + learner.backward_s
        + learner.optimizer_s;
    Ok(TrainBench {
        network: opts.network.name().to_string(),
        num_envs: opts.num_envs.max(1),
        updates: updates.max(1),
        overlap: opts.overlap,
        episodes,
        env_steps: steps,
        wall_s,
        steps_per_s: steps as f64 / wall_s.max(1e-9),
        env,
        env_wall_s,
        observe_s,
        learner,
        other_s: (!opts.overlap).then(|| (wall_s - accounted).max(0.0)),
        peak_rss_mib: peak_rss_mib(),
    })
}
