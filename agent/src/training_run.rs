//! [`TrainingRun`]: the learner's side of a training run: the run folder,
//! the [`Learner`], the counters and the stop conditions. Rollouts come
//! from one local [`crate::RolloutWorker`] ([`crate::train`]) or from
//! remote workers ([`TrainingRun::update_from_batches`], the Ray driver).

use crate::checkpoint::{
    AgentSpec, TrainerState, latest_checkpoint, read_state, save_checkpoint, write_atomic,
};
use crate::error::{AgentError, io_err};
use crate::learner::{Learner, Rollout, UpdateStats};
use crate::options::{StopConditions, StopReason};
use crate::records::EpisodeRecord;
use crate::records::IterationRecord;
use crate::records::WorkerEpisode;
use crate::request::RunPlan;
use crate::rollout::{RolloutBatch, RolloutWorker};
use crate::run_dir::RunDir;
use crate::run_log::{RolloutEnd, RunLog};
use crate::spec::{agent_spec, model_metadata, ppo_from_run, replay_obs_bytes, sac_from_run};
use chicane_config::ResolvedRun;
use chicane_core::TrainingAlgorithm;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The learner's side of a training run.
pub struct TrainingRun {
    pub(crate) learner: Learner,
    /// The update's random stream (minibatch shuffles).
    pub(crate) rng: ChaCha8Rng,
    /// The local rollouts' random stream (action sampling): its own, so
    /// that a rollout can sample while an update shuffles.
    pub(crate) rollout_rng: ChaCha8Rng,
    pub(crate) log: RunLog,
    spec: AgentSpec,
    reset_seed: u64,
    checkpoints_kept: usize,
    stop: StopConditions,
}

impl std::fmt::Debug for TrainingRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingRun")
            .field("out", &self.log.dir)
            .field("state", &self.log.state)
            .finish_non_exhaustive()
    }
}

fn json_bytes<T: serde::Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, AgentError> {
    serde_json::to_vec_pretty(value).map_err(|e| AgentError::Checkpoint {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

impl TrainingRun {
    /// Creates the plan's run folder (or reopens it to resume) and the
    /// learner; with `clone_from`, starts from that run's latest weights.
    /// The plan was checked when it was resolved (a new run's folder holds
    /// no run, a resumed one's network matches).
    ///
    /// Writes `run.toml` (the resolved config), `model_metadata.json` (also
    /// as `model/model_metadata.json`, with `ip/hyperparameters.json`, where
    /// DeepRacer-for-Cloud keeps them) and `agent.json`.
    ///
    /// # Errors
    /// A missing or corrupt checkpoint (on resume or clone; nothing is
    /// deleted), a network that does not fit the sensors, or an I/O error
    /// naming the file.
    pub fn open(plan: &RunPlan) -> Result<TrainingRun, AgentError> {
        let (run, opts) = (&plan.run, &plan.options);
        let dir = &opts.out_dir;
        let spec = agent_spec(run, opts.network)?;
        let mut learner = match run.training_algorithm {
            TrainingAlgorithm::Sac => Learner::new_sac(
                spec.network.clone(),
                sac_from_run(run, replay_obs_bytes(&spec))?,
                run.action_space.clone(),
                &opts.device,
                run.seed,
            )?,
            TrainingAlgorithm::ClippedPpo | TrainingAlgorithm::VanillaPg => {
                let mut learner = Learner::new(
                    spec.network.clone(),
                    ppo_from_run(run, opts.gae_lambda)?,
                    run.action_space.clone(),
                    &opts.device,
                    run.seed,
                )?;
                if opts.native {
                    learner.use_native()?;
                }
                learner
            }
        };
        let mut state = TrainerState {
            rng_seed: run.seed ^ 0x5eed_c41c_a9e0,
            ..TrainerState::default()
        };
        if opts.resume {
            let ckpt = latest_checkpoint(dir)?;
            state = read_state(&ckpt)?;
            learner.load(&ckpt, true)?;
        } else if let Some(src) = &opts.clone_from {
            learner.load(&latest_checkpoint(src)?, false)?;
        }
        let root = dir.root();
        std::fs::create_dir_all(root).map_err(io_err(root))?;
        write_atomic(&dir.run_toml(), run.to_toml().as_bytes())?;
        let metadata = model_metadata(run, opts.network).to_json_string();
        write_atomic(&dir.model_metadata(), metadata.as_bytes())?;
        // DeepRacer's (DRfC's) places, where deepracer-utils looks for them
        for p in [dir.drfc_model_metadata(), dir.drfc_hyperparameters()] {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
        }
        write_atomic(&dir.drfc_model_metadata(), metadata.as_bytes())?;
        let hp_path = dir.drfc_hyperparameters();
        write_atomic(&hp_path, &json_bytes(&hp_path, &run.hyperparameters)?)?;
        write_atomic(&dir.agent_json(), &json_bytes(&dir.agent_json(), &spec)?)?;
        let mut rng = ChaCha8Rng::seed_from_u64(state.rng_seed);
        rng.set_word_pos(state.rng_word_pos);
        let mut rollout_rng = ChaCha8Rng::seed_from_u64(state.rng_seed);
        rollout_rng.set_stream(1);
        rollout_rng.set_word_pos(state.rollout_rng_word_pos);
        let reset_seed = run
            .seed
            .wrapping_add(state.iteration.wrapping_mul(1_000_003));
        Ok(TrainingRun {
            learner,
            rng,
            rollout_rng,
            spec,
            reset_seed,
            checkpoints_kept: opts.checkpoints_kept,
            stop: opts.stop,
            log: RunLog::open(dir.clone(), state, opts.rollout)?,
        })
    }

    /// The learner (its policy acts in rollouts).
    pub fn learner(&self) -> &Learner {
        &self.learner
    }

    /// The counters so far.
    pub fn state(&self) -> &TrainerState {
        &self.log.state
    }

    /// The network and preprocessing of this run.
    pub fn spec(&self) -> &AgentSpec {
        &self.spec
    }

    /// The run folder.
    pub fn run_dir(&self) -> &RunDir {
        &self.log.dir
    }

    /// The seed workers reset their envs with (the run's seed, moved on by
    /// the iterations done so a resumed run sees new episodes).
    pub fn reset_seed(&self) -> u64 {
        self.reset_seed
    }

    /// The local rollout worker of `plan` (the plan this run was opened
    /// with): its envs, threads and reset seed, its step counter where the
    /// run left off.
    ///
    /// # Errors
    /// The env's or the reward function's error.
    pub fn rollout_worker(&self, plan: &RunPlan) -> Result<RolloutWorker, AgentError> {
        let num_envs = plan.options.num_envs.max(1);
        RolloutWorker::new(
            &plan.run,
            self.spec.preprocess,
            num_envs,
            plan.options.num_threads,
            self.reset_seed,
            self.state().total_steps / num_envs as u64,
        )
    }

    /// Logs one finished episode (sim-trace rows, `metrics.jsonl`,
    /// DeepRacer's metrics) under the next episode number.
    ///
    /// # Errors
    /// [`AgentError::Io`] naming the file.
    pub fn record_episode(&mut self, episode: &WorkerEpisode) -> Result<EpisodeRecord, AgentError> {
        self.log.record_episode(episode)
    }

    /// Counts `env_steps` env steps taken.
    pub fn add_steps(&mut self, env_steps: u64) {
        self.log.state.total_steps += env_steps;
    }

    /// One update on `rollout` (PPO's, or SAC's gradient steps on its
    /// replay buffer after adding `rollout`), then a checkpoint and the iteration's
    /// line in the logs. Returns the iteration record and the checkpoint.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] (the last good checkpoint is kept) or an
    /// I/O error naming the file.
    pub fn update(&mut self, rollout: &Rollout) -> Result<(IterationRecord, PathBuf), AgentError> {
        let (finished, end) = self.end_rollout();
        let update = self.learner.update(rollout, &mut self.rng)?;
        self.finish_iteration(update, finished, end, false)
    }

    /// Ends the rollout an update is about to learn from: its episodes
    /// (those recorded since the last call) and the counters as it ended,
    /// with `state.iteration` moved on to count that update, so that the
    /// next rollout's episodes belong to the next iteration.
    pub(crate) fn end_rollout(&mut self) -> (Vec<EpisodeRecord>, RolloutEnd) {
        self.log.state.iteration += 1;
        self.log.state.rollout_rng_word_pos = self.rollout_rng.get_word_pos();
        (
            std::mem::take(&mut self.log.finished),
            self.log.rollout_end(),
        )
    }

    /// The rest of an iteration after its update: a checkpoint and the
    /// iteration's line in the logs, with `finished` and `end` from
    /// [`TrainingRun::end_rollout`] before the update. The checkpoint
    /// holds `end`'s counters, not the live ones, which an overlapping
    /// rollout has moved on: a run resumed from it collects that rollout
    /// again, and `training_metrics.json` lists its episodes only once.
    /// `last` marks the iteration training stops after (its checkpoint
    /// keeps SAC's replay buffer).
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub(crate) fn finish_iteration(
        &mut self,
        update: UpdateStats,
        finished: Vec<EpisodeRecord>,
        end: RolloutEnd,
        last: bool,
    ) -> Result<(IterationRecord, PathBuf), AgentError> {
        let log = &mut self.log;
        let mut state = end.state.clone();
        state.elapsed_s = log.elapsed();
        state.rng_word_pos = self.rng.get_word_pos();
        let ckpt = save_checkpoint(&log.dir, &self.learner, &state, self.checkpoints_kept, last)?;
        log.state.elapsed_s = state.elapsed_s;
        log.state.rng_word_pos = state.rng_word_pos;
        log.last_iteration_episodes = finished.len();
        let (mean_reward, mean_progress) = episode_means(&finished).unwrap_or((0.0, 0.0));
        let rec = IterationRecord {
            iteration: state.iteration,
            episodes: state.episodes,
            total_steps: state.total_steps,
            steps_per_s: (state.total_steps - log.steps_before) as f64
                / log.iter_started.elapsed().as_secs_f64().max(1e-9),
            mean_reward,
            mean_progress,
            laps: finished.iter().filter(|e| e.lap_time.is_some()).count() as u64,
            best_lap: state.best_lap,
            update,
            elapsed_s: state.elapsed_s,
        };
        log.write_line(&serde_json::json!({"type": "iteration", "record": &rec}))?;
        log.flush()?;
        log.write_deepracer_metrics(&end)?;
        log.iter_started = Instant::now();
        log.steps_before = state.total_steps;
        Ok((rec, ckpt))
    }

    /// Records the episodes and steps of `batches` (in the order given;
    /// `on_episode` sees each record as it is logged, for live views) and
    /// runs one update on their joined experience: what the learner of a
    /// distributed run does with its workers' rollouts.
    ///
    /// # Errors
    /// As [`TrainingRun::record_episode`] and [`TrainingRun::update`].
    pub fn update_from_batches(
        &mut self,
        batches: &[RolloutBatch],
        on_episode: &mut dyn FnMut(&EpisodeRecord),
    ) -> Result<(IterationRecord, PathBuf), AgentError> {
        for b in batches {
            for ep in &b.episodes {
                on_episode(&self.record_episode(ep)?);
            }
            self.add_steps(b.env_steps);
        }
        self.update(&RolloutBatch::concat(batches))
    }

    /// Why training should stop after the iteration `rec`, if it should:
    /// the plan's time, episode, score and progress limits.
    pub fn stop_reason(&self, rec: &IterationRecord) -> Option<StopReason> {
        let means =
            (self.log.last_iteration_episodes > 0).then_some((rec.mean_reward, rec.mean_progress));
        self.stop_reason_of(means)
    }

    /// Why training should stop once the update on the rollout that
    /// finished `episodes` is done: known before that update runs, so the
    /// local trainer knows whether to collect another rollout meanwhile.
    pub(crate) fn stop_after(&self, episodes: &[EpisodeRecord]) -> Option<StopReason> {
        self.stop_reason_of(episode_means(episodes))
    }

    /// The stop conditions against the clock, the episode count and the
    /// last rollout's `(mean reward, mean progress %)` (none without
    /// finished episodes).
    fn stop_reason_of(&self, means: Option<(f64, f64)>) -> Option<StopReason> {
        let s = &self.stop;
        if s.max_time.is_some_and(|t| self.log.started.elapsed() >= t) {
            return Some(StopReason::MaxTime);
        }
        if s.max_episodes.is_some_and(|m| self.log.state.episodes >= m) {
            return Some(StopReason::MaxEpisodes);
        }
        if let Some((reward, progress)) = means {
            if s.target_avg_score.is_some_and(|v| reward >= v) {
                return Some(StopReason::AvgScore);
            }
            if s.target_avg_progress.is_some_and(|p| progress >= p) {
                return Some(StopReason::AvgProgress);
            }
        }
        None
    }

    /// Records that the reward function changed to `run`'s before the next
    /// iteration: `run.toml` is rewritten (atomically) with the new reward
    /// source and `metrics.jsonl` gets a line `{"type": "note", "iteration":
    /// N, "message": ...}`. Returns the new source as written in `run.toml`.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn note_reward_reload(&mut self, run: &ResolvedRun) -> Result<String, AgentError> {
        let source = run.reward.as_config_string();
        let log = &mut self.log;
        write_atomic(&log.dir.run_toml(), run.to_toml().as_bytes())?;
        let line = serde_json::json!({
            "type": "note",
            "iteration": log.state.iteration + 1,
            "episode": log.state.episodes,
            "message": format!("reward function reloaded from {source}"),
        });
        log.write_line(&line)?;
        log.flush()?;
        Ok(source)
    }

    /// Writes a checkpoint of the current weights and counters without an
    /// update (on a stop: the unfinished rollout's counters are kept; SAC's
    /// replay buffer is kept too).
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn checkpoint(&mut self) -> Result<PathBuf, AgentError> {
        let log = &mut self.log;
        log.state.elapsed_s = log.elapsed();
        log.state.rng_word_pos = self.rng.get_word_pos();
        log.state.rollout_rng_word_pos = self.rollout_rng.get_word_pos();
        log.flush()?;
        save_checkpoint(
            &log.dir,
            &self.learner,
            &log.state,
            self.checkpoints_kept,
            true,
        )
    }
}

/// The mean reward and mean progress (%) of `episodes`; `None` when there
/// are none.
fn episode_means(episodes: &[EpisodeRecord]) -> Option<(f64, f64)> {
    let n = episodes.len() as f64;
    (!episodes.is_empty()).then(|| {
        (
            episodes.iter().map(|e| e.reward).sum::<f64>() / n,
            episodes.iter().map(|e| e.progress).sum::<f64>() / n,
        )
    })
}
