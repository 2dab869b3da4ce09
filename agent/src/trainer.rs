//! The local training loop: one [`RolloutWorker`] feeding a
//! [`TrainingRun`] in this process, reporting to a [`TrainObserver`].

use crate::error::AgentError;
use crate::observer::{StepView, TrainObserver};
use crate::options::StopReason;
use crate::records::TrainSummary;
use crate::records::WorkerEpisode;
use crate::request::RunPlan;
use crate::rollout::RolloutWorker;
use crate::run_log::RunLog;
use crate::training_run::TrainingRun;
use std::path::PathBuf;

/// The local trainer's view of a rollout: episodes go to the run log, then
/// to the front end's observer.
struct Logging<'a> {
    log: &'a mut RunLog,
    inner: &'a mut dyn TrainObserver,
}

impl TrainObserver for Logging<'_> {
    fn worker_episode(&mut self, episode: &WorkerEpisode) -> Result<(), AgentError> {
        let rec = self.log.record_episode(episode)?;
        self.inner.episode(&rec);
        Ok(())
    }

    fn steps(&mut self, env_steps: u64) {
        self.log.state.total_steps += env_steps;
        self.inner.steps(env_steps);
    }

    fn stop_requested(&self) -> bool {
        self.inner.stop_requested()
    }

    fn observe(&mut self, view: StepView<'_>) {
        self.inner.observe(view);
    }
}

/// Trains `plan` (from [`crate::RunRequest::resolve`]), reporting to
/// `observer`: a [`TrainingRun`] fed by one local [`RolloutWorker`] with
/// the plan's `num_envs` envs. With [`TrainOptions::overlap`](crate::TrainOptions::overlap)
/// (the default) the worker collects the next rollout, with a copy of the
/// policy, while the update on the last one runs on another thread.
///
/// Writes into the run folder what [`TrainingRun::open`] lists, plus
/// `metrics.jsonl` (one JSON object per episode and per iteration),
/// `training-simtrace/N-iteration.csv`, `training_metrics.json`
/// (DeepRacer's format) and `checkpoints/`.
///
/// # Errors
/// As [`TrainingRun::open`]; an env or reward error, or a non-finite loss
/// (the last good checkpoint is kept).
pub fn train(plan: &RunPlan, observer: &mut dyn TrainObserver) -> Result<TrainSummary, AgentError> {
    let mut tr = TrainingRun::open(plan)?;
    let mut worker = tr.rollout_worker(plan)?;
    let (ended, checkpoint) = run_iterations(&mut tr, &mut worker, plan, observer, None)?;
    let Ended::Stop(stop) = ended else {
        return Err(AgentError::Unsupported(
            "training ended on an update limit it was not given".into(),
        ));
    };
    if let Some(remote) = &plan.options.remote {
        remote.sync()?;
    }
    Ok(TrainSummary {
        stop_reason: stop,
        state: tr.state().clone(),
        checkpoint: Some(checkpoint),
    })
}

/// Why [`run_iterations`] returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ended {
    /// A stop condition or the observer.
    Stop(StopReason),
    /// The update limit it was given (`chicane bench train`).
    UpdateLimit,
}

/// Applies a reward function the observer reloaded, if any, from the next
/// rollout on.
fn reload_reward(
    tr: &mut TrainingRun,
    worker: &mut RolloutWorker,
    observer: &mut dyn TrainObserver,
) {
    if let Some(new_run) = observer.take_reward_reload() {
        let result = worker
            .set_reward(&new_run)
            .and_then(|()| tr.note_reward_reload(&new_run));
        let next = tr.state().iteration + 1;
        match &result {
            Ok(source) => observer.reward_reloaded(next, Ok(source)),
            Err(e) => observer.reward_reloaded(next, Err(e)),
        }
    }
}

/// The training loop of [`train`] (and of `chicane bench train`, which
/// gives `max_updates`): rollouts and updates until a stop condition, the
/// observer or `max_updates` ends it. Returns why, and the last checkpoint.
///
/// With overlap, iteration `k`'s update (on rollout `k`, collected by the
/// policy after `k - 1` updates) runs on a scoped thread while this thread
/// collects rollout `k + 1` with a copy of the same policy ([`Learner`]'s
/// `actor`). Every rollout is thus acted by the policy one update behind
/// the one it trains, whatever the threads' timing: runs stay
/// deterministic. The stop conditions are checked before each update (they
/// depend on the rollout and the clock, not on the update), so the last
/// update overlaps nothing and no rollout is collected only to be dropped.
///
/// # Errors
/// As [`train`]. An update's error wins over the overlapping rollout's;
/// a finished update is checkpointed before the rollout's error is returned.
pub(crate) fn run_iterations(
    tr: &mut TrainingRun,
    worker: &mut RolloutWorker,
    plan: &RunPlan,
    observer: &mut dyn TrainObserver,
    max_updates: Option<u64>,
) -> Result<(Ended, PathBuf), AgentError> {
    let opts = &plan.options;
    reload_reward(tr, worker, observer);
    let first = {
        let mut logging = Logging {
            log: &mut tr.log,
            inner: &mut *observer,
        };
        worker.collect(&tr.learner, &mut tr.rollout_rng, opts.rollout, &mut logging)?
    };
    let Some(mut batch) = first else {
        // keep the counters of the unfinished rollout; the weights are
        // the last update's
        return Ok((Ended::Stop(StopReason::Interrupted), tr.checkpoint()?));
    };
    let mut updates = 0u64;
    loop {
        updates += 1;
        let (finished, end) = tr.end_rollout();
        let ending = match tr.stop_after(&finished) {
            Some(stop) => Some(Ended::Stop(stop)),
            None => max_updates
                .is_some_and(|m| updates >= m)
                .then_some(Ended::UpdateLimit),
        };
        if ending.is_none() {
            reload_reward(tr, worker, observer);
        }
        let (update, overlapped) = if ending.is_some() || !opts.overlap {
            (tr.learner.update(&batch.rollout, &mut tr.rng), None)
        } else {
            let actor = tr.learner.actor();
            let TrainingRun {
                learner,
                rng,
                rollout_rng,
                log,
                ..
            } = &mut *tr;
            let rollout = &batch.rollout;
            let (update, next) = std::thread::scope(|s| {
                let handle = s.spawn(move || learner.update(rollout, rng));
                let mut logging = Logging {
                    log,
                    inner: &mut *observer,
                };
                let next = worker.collect(&actor, rollout_rng, opts.rollout, &mut logging);
                let update = handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (update, next)
            });
            tr.learner.add_timings(actor.take_timings());
            (update, Some(next))
        };
        let (rec, ckpt) = tr.finish_iteration(update?, finished, end, ending.is_some())?;
        observer.iteration(&rec);
        if let Some(remote) = &opts.remote
            && let Err(e) = remote.sync()
        {
            // the run goes on; the next sync uploads what this one did not
            observer.warning(&format!(
                "could not sync the run folder to {}: {}",
                remote.url(),
                chicane_core::error_chain(&e)
            ));
        }
        if let Some(ending) = ending {
            return Ok((ending, ckpt));
        }
        let next = match overlapped {
            Some(next) => next,
            None => {
                let mut logging = Logging {
                    log: &mut tr.log,
                    inner: &mut *observer,
                };
                worker.collect(&tr.learner, &mut tr.rollout_rng, opts.rollout, &mut logging)
            }
        };
        match next? {
            Some(b) => batch = b,
            // the observer stopped the rollout: keep its counters
            None => return Ok((Ended::Stop(StopReason::Interrupted), tr.checkpoint()?)),
        }
    }
}
