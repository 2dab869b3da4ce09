//! The training loop: a [`VecEnv`] on the run's track, rollouts of
//! DeepRacer's `num_episodes_between_training` episodes (or a fixed number
//! of steps per env), PPO updates, checkpoints and DeepRacer-format logs.

use crate::checkpoint::{
    AgentSpec, TrainerState, latest_checkpoint, read_agent_spec, read_state, save_checkpoint,
    write_atomic,
};
use crate::error::AgentError;
use crate::learner::{Learner, Rollout, UpdateStats, head_for};
use crate::net::{ActorCriticConfig, NetworkKind};
use crate::ppo::{PpoConfig, ValueLoss};
use crate::rollout::{RolloutBatch, RolloutHooks, RolloutWorker, StepView, WorkerEpisode};
use burn::tensor::Device;
use chicane_config::ResolvedRun;
use chicane_core::{ModelMetadata, Preprocess, Sensor};
use chicane_sim::SIMTRACE_HEADER;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// Options of one `chicane train` invocation (the run config holds the rest).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The run folder.
    pub out_dir: PathBuf,
    /// The network (the config's, `--network`, or chicane's default).
    pub network: NetworkKind,
    /// Parallel envs. Default 4.
    pub num_envs: usize,
    /// Env threads (0 = one per core).
    pub num_threads: usize,
    /// Rollout length. Default: the run's `num_episodes_between_training`.
    pub rollout: RolloutLength,
    /// Stop after this much wall-clock time in this invocation.
    pub max_time: Option<Duration>,
    /// Stop after this many episodes in total (DeepRacer's
    /// `term_cond_max_episodes`).
    pub max_episodes: Option<u64>,
    /// Stop when the mean reward of the last rollout's episodes reaches this
    /// (DeepRacer's `term_cond_avg_score`).
    pub target_avg_score: Option<f64>,
    /// Stop when the mean progress (%) of the last rollout's episodes
    /// reaches this.
    pub target_avg_progress: Option<f64>,
    /// Continue the run in `out_dir` from its latest checkpoint.
    pub resume: bool,
    /// Start from the latest weights of another run folder.
    pub clone_from: Option<PathBuf>,
    /// The compute device (plain; autodiff is added for training).
    pub device: Device,
    /// Checkpoints kept. Default 3.
    pub checkpoints_kept: usize,
    /// GAE lambda. Default 0.95.
    pub gae_lambda: f64,
}

/// The network a run trains: `name` when given, else the config's
/// `network` (or its model_metadata.json's), else `FAST_CNN` when the car
/// has a camera and `MLP` when it has only lidar.
///
/// # Errors
/// [`AgentError::Network`] for an unknown name (the known ones listed).
pub fn network_for(run: &ResolvedRun, name: Option<&str>) -> Result<NetworkKind, AgentError> {
    match name.or(run.network.as_deref()) {
        Some(n) => NetworkKind::parse(n),
        None => Ok(if run.sim.camera.is_some() {
            NetworkKind::FastCnn
        } else {
            NetworkKind::Mlp
        }),
    }
}

impl TrainOptions {
    /// Defaults for `run`, writing to `out_dir` on `device`.
    pub fn new(run: &ResolvedRun, out_dir: PathBuf, device: Device) -> Self {
        // the config's name was checked when it was loaded
        let network = network_for(run, None).unwrap_or(NetworkKind::FastCnn);
        Self {
            out_dir,
            network,
            num_envs: 4,
            num_threads: 0,
            rollout: RolloutLength::Episodes(run.hyperparameters.num_episodes_between_training),
            max_time: None,
            max_episodes: Some(run.hyperparameters.term_cond_max_episodes),
            target_avg_score: Some(run.hyperparameters.term_cond_avg_score),
            target_avg_progress: None,
            resume: false,
            clone_from: None,
            device,
            checkpoints_kept: 3,
            gae_lambda: 0.95,
        }
    }
}

/// One finished training episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Episode index (0-based, over the whole run).
    pub episode: u64,
    /// The PPO iteration whose policy drove it.
    pub iteration: u64,
    /// Steps taken.
    pub steps: u64,
    /// Sum of rewards.
    pub reward: f64,
    /// Final progress (%).
    pub progress: f64,
    /// DeepRacer's episode status (`lap_complete`, `off_track`, ...).
    pub status: String,
    /// Lap time (s) when the lap was completed.
    pub lap_time: Option<f64>,
    /// Training time when it finished (s).
    pub elapsed_s: f64,
}

/// The summary of one PPO iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// Iteration index (1-based: the number of updates done).
    pub iteration: u64,
    /// Episodes finished so far.
    pub episodes: u64,
    /// Env steps so far.
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

/// Receives progress while training runs; the CLI draws bars and plots
/// with it, the GUI forwards it to its charts.
pub trait TrainObserver {
    /// An episode finished.
    fn episode(&mut self, _record: &EpisodeRecord) {}
    /// A PPO update finished and its checkpoint was written.
    fn iteration(&mut self, _record: &IterationRecord) {}
    /// Env steps taken so far (called every step).
    fn steps(&mut self, _total_steps: u64) {}
    /// True when training should stop (Ctrl-C); checked every step.
    fn stop_requested(&self) -> bool {
        false
    }
    /// The envs after each vector step (live views; see
    /// [`RolloutHooks::observe`]). Blocking here pauses training.
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
    /// The observer asked to stop (Ctrl-C).
    Interrupted,
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

/// The PPO settings DeepRacer's hyperparameters give.
///
/// # Errors
/// [`AgentError::Hyperparameter`] for an unknown `loss_type`.
pub fn ppo_from_run(run: &ResolvedRun, gae_lambda: f64) -> Result<PpoConfig, AgentError> {
    let h = &run.hyperparameters;
    let cfg = PpoConfig {
        discount_factor: h.discount_factor,
        gae_lambda,
        beta_entropy: h.beta_entropy,
        loss_type: ValueLoss::parse(&h.loss_type)?,
        lr: h.lr,
        batch_size: h.batch_size,
        num_epochs: h.num_epochs,
        ..PpoConfig::default()
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The agent spec (network + preprocessing) for `run` with `network`.
///
/// # Errors
/// [`AgentError::Shape`] when the network does not fit the sensors.
pub fn agent_spec(run: &ResolvedRun, network: NetworkKind) -> Result<AgentSpec, AgentError> {
    let preprocess = run.sim.camera.as_ref().map(|c| Preprocess {
        channels: if c.stereo {
            2
        } else if c.rgb {
            3
        } else {
            1
        },
        height: c.height as usize,
        width: c.width as usize,
        downscale: network.downscale(),
        stack_size: run.hyperparameters.stack_size.max(1),
    });
    let spec = AgentSpec {
        network: ActorCriticConfig::new(
            network,
            preprocess.map(|p| p.output_shape()),
            run.sim.lidar.as_ref().map(|l| l.len()),
            head_for(&run.action_space),
        ),
        preprocess,
    };
    spec.network.validate()?;
    Ok(spec)
}

/// The `model_metadata.json` of a run.
pub fn model_metadata(run: &ResolvedRun, network: NetworkKind) -> ModelMetadata {
    let mut sensor = Vec::new();
    if let Some(c) = &run.sim.camera {
        sensor.push(if c.stereo {
            Sensor::StereoCameras
        } else {
            Sensor::FrontFacingCamera
        });
    }
    if run.sim.lidar.is_some() {
        sensor.push(Sensor::Lidar);
    }
    ModelMetadata {
        action_space: run.action_space.clone(),
        sensor,
        neural_network: Some(network.name().to_string()),
        training_algorithm: Some("clipped_ppo".into()),
        version: Some("5".into()),
        extra: Default::default(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends one finished episode's rows to `training-simtrace/{index}-iteration.csv`.
fn append_trace(dir: &Path, index: u64, episode: u64, rows: &[String]) -> Result<(), AgentError> {
    let path = dir.join(format!("{index}-iteration.csv"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut text = String::new();
    if file.metadata().map_err(io_err(&path))?.len() == 0 {
        text.push_str(SIMTRACE_HEADER);
        text.push('\n');
    }
    for row in rows {
        text.push_str(&format!("{episode},{row}\n"));
    }
    file.write_all(text.as_bytes()).map_err(io_err(&path))
}

/// DeepRacer's `training_metrics.json` entry of one episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeepRacerEpisodeMetric {
    reward_score: i64,
    metric_time: u128,
    start_time: u128,
    elapsed_time_in_milliseconds: u128,
    episode: u64,
    trial: u64,
    phase: String,
    completion_percentage: i64,
    episode_status: String,
}

/// DeepRacer's status strings in metrics JSON.
pub(crate) fn deepracer_status(status: &str) -> &'static str {
    match status {
        "lap_complete" => "Lap complete",
        "off_track" => "Off track",
        "crashed" => "Crashed",
        "reversed" => "Reversed",
        "immobilized" => "Immobilized",
        "time_up" => "Time up",
        _ => "In progress",
    }
}

/// The run folder's logs and counters (everything but the network).
struct RunLog {
    out: PathBuf,
    trace_dir: PathBuf,
    metrics: std::fs::File,
    metrics_path: PathBuf,
    dr_metrics: Vec<DeepRacerEpisodeMetric>,
    dr_metrics_path: PathBuf,
    state: TrainerState,
    rollout: RolloutLength,
    started: Instant,
    elapsed_before: f64,
    iter_started: Instant,
    steps_before: u64,
    /// Episodes of the rollout in progress.
    finished: Vec<EpisodeRecord>,
    /// Episodes that ended in the last update's rollout.
    last_iteration_episodes: usize,
}

impl RunLog {
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    fn record_episode(&mut self, ep: &WorkerEpisode) -> Result<EpisodeRecord, AgentError> {
        let rec = EpisodeRecord {
            episode: self.state.episodes,
            iteration: self.state.iteration,
            steps: ep.steps,
            reward: ep.reward,
            progress: ep.progress,
            status: ep.status.clone(),
            lap_time: ep.lap_time,
            elapsed_s: self.elapsed(),
        };
        if let Some(t) = rec.lap_time {
            self.state.laps += 1;
            self.state.best_lap = Some(self.state.best_lap.map_or(t, |b: f64| b.min(t)));
        }
        self.dr_metrics.push(DeepRacerEpisodeMetric {
            reward_score: rec.reward.round() as i64,
            metric_time: ep.end_ms,
            start_time: ep.start_ms,
            elapsed_time_in_milliseconds: ep.end_ms.saturating_sub(ep.start_ms),
            episode: rec.episode,
            trial: rec.episode + 1,
            phase: "training".into(),
            completion_percentage: rec.progress.round() as i64,
            episode_status: deepracer_status(&rec.status).into(),
        });
        // DeepRacer numbers episodes in order and puts
        // num_episodes_between_training of them in each N-iteration.csv
        // (deepracer-utils relies on it)
        let file_index = match self.rollout {
            RolloutLength::Episodes(n) => rec.episode / n.max(1) as u64,
            RolloutLength::StepsPerEnv(_) => self.state.iteration,
        };
        append_trace(&self.trace_dir, file_index, rec.episode, &ep.trace_rows)?;
        let line = serde_json::json!({"type": "episode", "record": &rec});
        writeln!(self.metrics, "{line}").map_err(io_err(&self.metrics_path))?;
        self.state.episodes += 1;
        self.finished.push(rec.clone());
        Ok(rec)
    }
}

/// The learner's side of a training run: the run folder (config, metadata,
/// `metrics.jsonl`, sim-traces, DeepRacer's `training_metrics.json`,
/// checkpoints), the [`Learner`] and the counters. Rollouts come from one
/// local [`RolloutWorker`] ([`train`]) or from remote workers
/// ([`TrainingRun::update_from_batches`]).
pub struct TrainingRun {
    learner: Learner,
    rng: ChaCha8Rng,
    log: RunLog,
    spec: AgentSpec,
    reset_seed: u64,
    checkpoints_kept: usize,
    max_time: Option<Duration>,
    max_episodes: Option<u64>,
    target_avg_score: Option<f64>,
    target_avg_progress: Option<f64>,
}

impl std::fmt::Debug for TrainingRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainingRun")
            .field("out", &self.log.out)
            .field("state", &self.log.state)
            .finish_non_exhaustive()
    }
}

impl TrainingRun {
    /// Creates the run folder `opts.out_dir` (or reopens it with
    /// `opts.resume`) and the learner; with `opts.clone_from`, starts from
    /// that run's latest weights.
    ///
    /// Writes `run.toml` (the resolved config), `model_metadata.json` (also
    /// as `model/model_metadata.json`, with `ip/hyperparameters.json`, where
    /// DeepRacer-for-Cloud keeps them) and `agent.json`.
    ///
    /// # Errors
    /// A run folder that already holds a run (without `resume`), a missing
    /// or corrupt checkpoint (on `resume` or `clone_from`; nothing is
    /// deleted), a network that does not fit the sensors, or an I/O error
    /// naming the file.
    pub fn open(run: &ResolvedRun, opts: &TrainOptions) -> Result<TrainingRun, AgentError> {
        let out = &opts.out_dir;
        let spec = agent_spec(run, opts.network)?;
        let ppo = ppo_from_run(run, opts.gae_lambda)?;
        let has_run = out.join("agent.json").exists();
        if has_run && !opts.resume {
            return Err(AgentError::Checkpoint {
                path: out.clone(),
                detail: "already holds a training run: add --resume to continue it, or choose \
                         another --out"
                    .into(),
            });
        }
        let mut learner = Learner::new(
            spec.network.clone(),
            ppo,
            run.action_space.clone(),
            &opts.device,
            run.seed,
        )?;
        let mut state = TrainerState {
            rng_seed: run.seed ^ 0x5eed_c41c_a9e0,
            ..TrainerState::default()
        };
        if opts.resume {
            let saved = read_agent_spec(out)?;
            if saved.network != spec.network {
                return Err(AgentError::Checkpoint {
                    path: out.join("agent.json"),
                    detail: format!(
                        "the run was trained with {:?}; this config asks for {:?}: resume with \
                         the same network and sensors",
                        saved.network.network, spec.network.network
                    ),
                });
            }
            let ckpt = latest_checkpoint(out)?;
            state = read_state(&ckpt)?;
            learner.load(&ckpt, true)?;
        } else if let Some(src) = &opts.clone_from {
            let saved = read_agent_spec(src)?;
            if saved.network != spec.network {
                return Err(AgentError::Checkpoint {
                    path: src.join("agent.json"),
                    detail: format!(
                        "cannot clone: that run's network {:?} (input {:?}, head {:?}) differs \
                         from this run's {:?} (input {:?}, head {:?}); keep the network, \
                         sensors and action space",
                        saved.network.network,
                        saved.network.camera,
                        saved.network.head,
                        spec.network.network,
                        spec.network.camera,
                        spec.network.head
                    ),
                });
            }
            learner.load(&latest_checkpoint(src)?, false)?;
        }
        std::fs::create_dir_all(out).map_err(io_err(out))?;
        let trace_dir = out.join("training-simtrace");
        std::fs::create_dir_all(&trace_dir).map_err(io_err(&trace_dir))?;
        write_atomic(&out.join("run.toml"), run.to_toml().as_bytes())?;
        let metadata = model_metadata(run, opts.network).to_json_string();
        write_atomic(&out.join("model_metadata.json"), metadata.as_bytes())?;
        // DeepRacer's (DRfC's) places, where deepracer-utils looks for them
        for dir in ["model", "ip"] {
            std::fs::create_dir_all(out.join(dir)).map_err(io_err(&out.join(dir)))?;
        }
        write_atomic(&out.join("model/model_metadata.json"), metadata.as_bytes())?;
        let hp = serde_json::to_vec_pretty(&run.hyperparameters).map_err(|e| {
            AgentError::Checkpoint {
                path: out.join("ip/hyperparameters.json"),
                detail: e.to_string(),
            }
        })?;
        write_atomic(&out.join("ip/hyperparameters.json"), &hp)?;
        let spec_json = serde_json::to_vec_pretty(&spec).map_err(|e| AgentError::Checkpoint {
            path: out.join("agent.json"),
            detail: e.to_string(),
        })?;
        write_atomic(&out.join("agent.json"), &spec_json)?;
        let metrics_path = out.join("metrics.jsonl");
        let metrics = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&metrics_path)
            .map_err(io_err(&metrics_path))?;
        let dr_metrics_path = out.join("training_metrics.json");
        let dr_metrics: Vec<DeepRacerEpisodeMetric> = std::fs::read_to_string(&dr_metrics_path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| serde_json::from_value(v.get("metrics")?.clone()).ok())
            .unwrap_or_default();
        let mut rng = ChaCha8Rng::seed_from_u64(state.rng_seed);
        rng.set_word_pos(state.rng_word_pos);
        let reset_seed = run
            .seed
            .wrapping_add(state.iteration.wrapping_mul(1_000_003));
        let now = Instant::now();
        Ok(TrainingRun {
            learner,
            rng,
            spec,
            reset_seed,
            checkpoints_kept: opts.checkpoints_kept,
            max_time: opts.max_time,
            max_episodes: opts.max_episodes,
            target_avg_score: opts.target_avg_score,
            target_avg_progress: opts.target_avg_progress,
            log: RunLog {
                out: out.clone(),
                trace_dir,
                metrics,
                metrics_path,
                dr_metrics,
                dr_metrics_path,
                elapsed_before: state.elapsed_s,
                steps_before: state.total_steps,
                state,
                rollout: opts.rollout,
                started: now,
                iter_started: now,
                finished: Vec::new(),
                last_iteration_episodes: 0,
            },
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
    pub fn out_dir(&self) -> &Path {
        &self.log.out
    }

    /// The seed workers reset their envs with (the run's seed, moved on by
    /// the iterations done so a resumed run sees new episodes).
    pub fn reset_seed(&self) -> u64 {
        self.reset_seed
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

    /// One PPO update on `rollout`, then a checkpoint and the iteration's
    /// line in the logs. Returns the iteration record and the checkpoint.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] (the last good checkpoint is kept) or an
    /// I/O error naming the file.
    pub fn update(&mut self, rollout: &Rollout) -> Result<(IterationRecord, PathBuf), AgentError> {
        let update = self.learner.update(rollout, &mut self.rng)?;
        let log = &mut self.log;
        log.state.iteration += 1;
        log.state.elapsed_s = log.elapsed();
        log.state.rng_word_pos = self.rng.get_word_pos();
        let ckpt = save_checkpoint(&log.out, &self.learner, &log.state, self.checkpoints_kept)?;
        let finished = std::mem::take(&mut log.finished);
        log.last_iteration_episodes = finished.len();
        let n_eps = finished.len().max(1) as f64;
        let rec = IterationRecord {
            iteration: log.state.iteration,
            episodes: log.state.episodes,
            total_steps: log.state.total_steps,
            steps_per_s: (log.state.total_steps - log.steps_before) as f64
                / log.iter_started.elapsed().as_secs_f64().max(1e-9),
            mean_reward: finished.iter().map(|e| e.reward).sum::<f64>() / n_eps,
            mean_progress: finished.iter().map(|e| e.progress).sum::<f64>() / n_eps,
            laps: finished.iter().filter(|e| e.lap_time.is_some()).count() as u64,
            best_lap: log.state.best_lap,
            update,
            elapsed_s: log.state.elapsed_s,
        };
        let line = serde_json::json!({"type": "iteration", "record": &rec});
        writeln!(log.metrics, "{line}").map_err(io_err(&log.metrics_path))?;
        log.metrics.flush().map_err(io_err(&log.metrics_path))?;
        let dr = serde_json::json!({
            "metrics": &log.dr_metrics,
            "version": "2",
            "best_model_metric": "progress",
        });
        write_atomic(&log.dr_metrics_path, dr.to_string().as_bytes())?;
        log.iter_started = Instant::now();
        log.steps_before = log.state.total_steps;
        Ok((rec, ckpt))
    }

    /// Records the episodes and steps of `batches` (in the order given)
    /// and runs one update on their joined experience: what the learner of
    /// a distributed run does with its workers' rollouts.
    ///
    /// # Errors
    /// As [`TrainingRun::record_episode`] and [`TrainingRun::update`].
    pub fn update_from_batches(
        &mut self,
        batches: &[RolloutBatch],
    ) -> Result<(IterationRecord, PathBuf), AgentError> {
        for b in batches {
            for ep in &b.episodes {
                self.record_episode(ep)?;
            }
            self.add_steps(b.env_steps);
        }
        self.update(&RolloutBatch::concat(batches))
    }

    /// Why training should stop after the iteration `rec`, if it should:
    /// the options' time, episode, score and progress limits.
    pub fn stop_reason(&self, rec: &IterationRecord) -> Option<StopReason> {
        if self
            .max_time
            .is_some_and(|t| self.log.started.elapsed() >= t)
        {
            return Some(StopReason::MaxTime);
        }
        if self
            .max_episodes
            .is_some_and(|m| self.log.state.episodes >= m)
        {
            return Some(StopReason::MaxEpisodes);
        }
        if self.log.last_iteration_episodes > 0 {
            if self.target_avg_score.is_some_and(|s| rec.mean_reward >= s) {
                return Some(StopReason::AvgScore);
            }
            if self
                .target_avg_progress
                .is_some_and(|p| rec.mean_progress >= p)
            {
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
        let source = match &run.reward {
            chicane_config::RewardSource::Builtin(n) => format!("builtin:{n}"),
            chicane_config::RewardSource::File(p) => p.display().to_string(),
        };
        let log = &mut self.log;
        write_atomic(&log.out.join("run.toml"), run.to_toml().as_bytes())?;
        let line = serde_json::json!({
            "type": "note",
            "iteration": log.state.iteration + 1,
            "episode": log.state.episodes,
            "message": format!("reward function reloaded from {source}"),
        });
        writeln!(log.metrics, "{line}").map_err(io_err(&log.metrics_path))?;
        log.metrics.flush().map_err(io_err(&log.metrics_path))?;
        Ok(source)
    }

    /// Writes a checkpoint of the current weights and counters without an
    /// update (on Ctrl-C: the unfinished rollout's counters are kept).
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn checkpoint(&mut self) -> Result<PathBuf, AgentError> {
        let log = &mut self.log;
        log.state.elapsed_s = log.elapsed();
        log.state.rng_word_pos = self.rng.get_word_pos();
        log.metrics.flush().map_err(io_err(&log.metrics_path))?;
        save_checkpoint(&log.out, &self.learner, &log.state, self.checkpoints_kept)
    }
}

/// The local trainer's hooks: episodes go to the run log and the observer.
struct LocalHooks<'a> {
    log: &'a mut RunLog,
    observer: &'a mut dyn TrainObserver,
}

impl RolloutHooks for LocalHooks<'_> {
    fn episode(&mut self, episode: &WorkerEpisode) -> Result<(), AgentError> {
        let rec = self.log.record_episode(episode)?;
        self.observer.episode(&rec);
        Ok(())
    }

    fn step(&mut self, env_steps: u64) {
        self.log.state.total_steps += env_steps;
        self.observer.steps(self.log.state.total_steps);
    }

    fn stop_requested(&self) -> bool {
        self.observer.stop_requested()
    }

    fn observe(&mut self, view: StepView<'_>) {
        self.observer.observe(view);
    }
}

/// Trains the run described by `run` with `opts`, reporting to `observer`:
/// a [`TrainingRun`] fed by one local [`RolloutWorker`] with
/// `opts.num_envs` envs.
///
/// Writes into `opts.out_dir` what [`TrainingRun::open`] lists, plus
/// `metrics.jsonl` (one JSON object per episode and per iteration),
/// `training-simtrace/N-iteration.csv`, `training_metrics.json`
/// (DeepRacer's format) and `checkpoints/`.
///
/// # Errors
/// As [`TrainingRun::open`]; an env or reward error, or a non-finite loss
/// (the last good checkpoint is kept).
pub fn train(
    run: &ResolvedRun,
    opts: &TrainOptions,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, AgentError> {
    let mut tr = TrainingRun::open(run, opts)?;
    let num_envs = opts.num_envs.max(1);
    let mut worker = RolloutWorker::new(
        run,
        tr.spec.preprocess,
        num_envs,
        opts.num_threads,
        tr.reset_seed,
        tr.log.state.total_steps / num_envs as u64,
    )?;
    let (stop, checkpoint) = loop {
        if let Some(new_run) = observer.take_reward_reload() {
            let result = worker
                .set_reward(&new_run)
                .and_then(|()| tr.note_reward_reload(&new_run));
            let next = tr.log.state.iteration + 1;
            match &result {
                Ok(source) => observer.reward_reloaded(next, Ok(source)),
                Err(e) => observer.reward_reloaded(next, Err(e)),
            }
        }
        let mut hooks = LocalHooks {
            log: &mut tr.log,
            observer,
        };
        let batch = worker.collect(&tr.learner, &mut tr.rng, opts.rollout, &mut hooks)?;
        let Some(batch) = batch else {
            // keep the counters of the unfinished rollout; the weights are
            // the last update's
            break (StopReason::Interrupted, tr.checkpoint()?);
        };
        let (rec, ckpt) = tr.update(&batch.rollout)?;
        observer.iteration(&rec);
        if let Some(stop) = tr.stop_reason(&rec) {
            break (stop, ckpt);
        }
    };
    Ok(TrainSummary {
        stop_reason: stop,
        state: tr.log.state.clone(),
        checkpoint: Some(checkpoint),
    })
}
