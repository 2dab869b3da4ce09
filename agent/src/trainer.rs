//! The local training loop: one [`RolloutWorker`](crate::RolloutWorker) feeding a
//! [`TrainingRun`] in this process, reporting to a [`TrainObserver`].

use crate::error::AgentError;
use crate::observer::{StepView, TrainObserver};
use crate::options::StopReason;
use crate::records::TrainSummary;
use crate::records::WorkerEpisode;
use crate::request::RunPlan;
use crate::run_log::RunLog;
use crate::training_run::TrainingRun;

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
/// `observer`: a [`TrainingRun`] fed by one local [`RolloutWorker`](crate::RolloutWorker) with
/// the plan's `num_envs` envs.
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
    let opts = &plan.options;
    let mut tr = TrainingRun::open(plan)?;
    let mut worker = tr.rollout_worker(plan)?;
    let (stop, checkpoint) = loop {
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
        let mut logging = Logging {
            log: &mut tr.log,
            inner: observer,
        };
        let batch = worker.collect(&tr.learner, &mut tr.rng, opts.rollout, &mut logging)?;
        let Some(batch) = batch else {
            // keep the counters of the unfinished rollout; the weights are
            // the last update's
            break (StopReason::Interrupted, tr.checkpoint()?);
        };
        let (rec, ckpt) = tr.update(&batch.rollout)?;
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
        if let Some(stop) = tr.stop_reason(&rec) {
            break (stop, ckpt);
        }
    };
    if let Some(remote) = &opts.remote {
        remote.sync()?;
    }
    Ok(TrainSummary {
        stop_reason: stop,
        state: tr.state().clone(),
        checkpoint: Some(checkpoint),
    })
}
