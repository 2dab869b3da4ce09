//! The training loop: a [`VecEnv`] on the run's track, rollouts of
//! DeepRacer's `num_episodes_between_training` episodes (or a fixed number
//! of steps per env), PPO updates, checkpoints and DeepRacer-format logs.

use crate::checkpoint::{
    AgentSpec, TrainerState, latest_checkpoint, read_agent_spec, read_state, save_checkpoint,
    write_atomic,
};
use crate::error::AgentError;
use crate::learner::{HostObs, Learner, Rollout, UpdateStats, head_for};
use crate::net::{ActorCriticConfig, NetworkKind};
use crate::ppo::{PpoConfig, ValueLoss, gae};
use burn::tensor::Device;
use chicane_config::ResolvedRun;
use chicane_core::{FrameStack, ModelMetadata, Preprocess, Sensor};
use chicane_sim::{SIMTRACE_HEADER, VecEnv, row_without_episode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

impl TrainOptions {
    /// Defaults for `run`, writing to `out_dir` on `device`.
    pub fn new(run: &ResolvedRun, out_dir: PathBuf, device: Device) -> Self {
        let network = run
            .network
            .as_deref()
            .and_then(|n| NetworkKind::parse(n).ok())
            .unwrap_or(if run.sim.camera.is_some() {
                NetworkKind::FastCnn
            } else {
                NetworkKind::Mlp
            });
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

/// Per-env observation state: frame stacks and the host batch.
pub(crate) struct ObsState {
    pre: Option<Preprocess>,
    stacks: Vec<FrameStack>,
    lidar_len: usize,
}

impl ObsState {
    pub(crate) fn new(pre: Option<Preprocess>, n: usize, lidar_len: usize) -> Self {
        Self {
            pre,
            stacks: pre.map_or_else(Vec::new, |p| vec![FrameStack::new(p); n]),
            lidar_len,
        }
    }

    /// Restarts env `i`'s stack with `frame`.
    pub(crate) fn reset(&mut self, i: usize, frame: &[u8]) {
        if let Some(s) = self.stacks.get_mut(i) {
            s.reset(frame);
        }
    }

    /// Appends `frame` to env `i`'s stack.
    pub(crate) fn push(&mut self, i: usize, frame: &[u8]) {
        if let Some(s) = self.stacks.get_mut(i) {
            s.push(frame);
        }
    }

    /// The batch of every env's current observation.
    pub(crate) fn batch(&self, lidar: &[f32]) -> HostObs {
        let n = self
            .stacks
            .len()
            .max(lidar.len().checked_div(self.lidar_len).unwrap_or(0));
        HostObs {
            n,
            camera: self
                .stacks
                .iter()
                .flat_map(|s| s.observation().iter().copied())
                .collect(),
            vector: lidar.to_vec(),
        }
    }

    /// The observation env `i` would have after `frame` (for bootstrapping
    /// a truncated episode's value) without changing its stack.
    pub(crate) fn peek(&self, i: usize, frame: &[u8], lidar: &[f32]) -> HostObs {
        let mut camera = Vec::new();
        if let Some(s) = self.stacks.get(i) {
            let mut s = s.clone();
            s.push(frame);
            camera = s.observation().to_vec();
        }
        HostObs {
            n: 1,
            camera,
            vector: lidar.to_vec(),
        }
    }

    fn frame_len(&self) -> usize {
        self.pre.map_or(0, |p| p.frame_len())
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

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
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

/// Trains the run described by `run` with `opts`, reporting to `observer`.
///
/// Writes into `opts.out_dir`: `run.toml` (the resolved config),
/// `model_metadata.json` (also as `model/model_metadata.json`, with
/// `ip/hyperparameters.json`, where DeepRacer-for-Cloud keeps them), `agent.json`, `metrics.jsonl` (one JSON object
/// per episode and per iteration), `training-simtrace/N-iteration.csv`,
/// `training_metrics.json` (DeepRacer's format) and `checkpoints/`.
///
/// # Errors
/// A run folder that already holds a run (without `resume`), a missing or
/// corrupt checkpoint (on `resume` or `clone_from`; nothing is deleted), an
/// env or reward error, or a non-finite loss (the last good checkpoint is
/// kept).
pub fn train(
    run: &ResolvedRun,
    opts: &TrainOptions,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, AgentError> {
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
                    "the run was trained with {:?}; this config asks for {:?}: resume with the \
                     same network and sensors",
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
                    "cannot clone: that run's network {:?} (input {:?}, head {:?}) differs from \
                     this run's {:?} (input {:?}, head {:?}); keep the network, sensors and \
                     action space",
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
    write_atomic(
        &out.join("model_metadata.json"),
        model_metadata(run, opts.network)
            .to_json_string()
            .as_bytes(),
    )?;
    // DeepRacer's (DRfC's) places, where deepracer-utils looks for them
    for dir in ["model", "ip"] {
        std::fs::create_dir_all(out.join(dir)).map_err(io_err(&out.join(dir)))?;
    }
    write_atomic(
        &out.join("model/model_metadata.json"),
        model_metadata(run, opts.network)
            .to_json_string()
            .as_bytes(),
    )?;
    let hp =
        serde_json::to_vec_pretty(&run.hyperparameters).map_err(|e| AgentError::Checkpoint {
            path: out.join("ip/hyperparameters.json"),
            detail: e.to_string(),
        })?;
    write_atomic(&out.join("ip/hyperparameters.json"), &hp)?;
    let spec_json = serde_json::to_vec_pretty(&spec).map_err(|e| AgentError::Checkpoint {
        path: out.join("agent.json"),
        detail: e.to_string(),
    })?;
    write_atomic(&out.join("agent.json"), &spec_json)?;
    let metrics_path = out.join("metrics.jsonl");
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(io_err(&metrics_path))?;
    let dr_metrics_path = out.join("training_metrics.json");
    let mut dr_metrics: Vec<DeepRacerEpisodeMetric> = std::fs::read_to_string(&dr_metrics_path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v.get("metrics")?.clone()).ok())
        .unwrap_or_default();

    let mut rng = ChaCha8Rng::seed_from_u64(state.rng_seed);
    rng.set_word_pos(state.rng_word_pos);
    let num_envs = opts.num_envs.max(1);
    let mut rewards_fns = Vec::with_capacity(num_envs);
    for _ in 0..num_envs {
        rewards_fns.push(Some(run.make_reward().map_err(|e| {
            AgentError::Sim(chicane_sim::SimError::Config {
                field: "reward".into(),
                problem: e.to_string(),
            })
        })?));
    }
    let rewards_cell = std::sync::Mutex::new(rewards_fns);
    let mut venv = VecEnv::new(
        run.sim.clone(),
        Arc::clone(&run.track),
        run.action_space.clone(),
        |i| {
            rewards_cell
                .lock()
                .ok()
                .and_then(|mut v| v.get_mut(i).and_then(Option::take))
                .unwrap_or_else(|| Box::new(chicane_reward::FollowCenterLine))
        },
        num_envs,
        opts.num_threads,
    )?;
    let lidar_len = venv.single_observation_space().lidar.unwrap_or(0);
    let mut obs = ObsState::new(spec.preprocess, num_envs, lidar_len);
    venv.reset(Some(
        run.seed
            .wrapping_add(state.iteration.wrapping_mul(1_000_003)),
    ))?;
    let fl = obs.frame_len();
    for i in 0..num_envs {
        obs.reset(i, &venv.camera_batch()[i * fl..(i + 1) * fl]);
    }

    let dt = 1.0 / run.sim.physics.action_hz;
    let gamma = learner.ppo().discount_factor as f32;
    let lambda = learner.ppo().gae_lambda as f32;
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let elapsed = |started: &Instant| elapsed_before + started.elapsed().as_secs_f64();
    // per-env running episode accumulators
    let mut ep_reward = vec![0.0f64; num_envs];
    let mut ep_start_ms = vec![now_ms(); num_envs];
    // sim-trace rows of each env's episode in progress
    let mut pending_rows: Vec<Vec<String>> = vec![Vec::new(); num_envs];

    let (stop, checkpoint) = loop {
        let iter_started = Instant::now();
        let steps_before = state.total_steps;
        let mut roll_obs = HostObs::default();
        let (mut raw, mut logp, mut values, mut rewards, mut dones) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut finished: Vec<EpisodeRecord> = Vec::new();
        let mut steps_this = 0usize;
        let mut interrupted = false;
        loop {
            let batch = obs.batch(venv.lidar_batch());
            let samples = learner.act(&batch, &mut rng, false);
            let actions: Vec<_> = samples.iter().map(|s| s.action).collect();
            venv.step(&actions)?;
            steps_this += 1;
            state.total_steps += num_envs as u64;
            roll_obs.n += batch.n;
            roll_obs.camera.extend_from_slice(&batch.camera);
            roll_obs.vector.extend_from_slice(&batch.vector);
            for (i, s) in samples.iter().enumerate() {
                let mut r = venv.rewards()[i];
                let (term, trunc) = (venv.terminated()[i], venv.truncated()[i]);
                let done = term || trunc;
                let info = if done {
                    venv.final_info(i)
                } else {
                    venv.info(i)
                };
                if let Some(info) = info {
                    let tstamp = (state.total_steps / num_envs as u64) as f64 * dt;
                    pending_rows[i].push(row_without_episode(
                        info,
                        Some(&s.action),
                        r,
                        done,
                        tstamp,
                    ));
                }
                ep_reward[i] += r;
                if trunc && let Some(fo) = venv.final_observation(i) {
                    let v = learner.values(&obs.peek(i, &fo.camera, &fo.lidar));
                    r += f64::from(gamma * v.first().copied().unwrap_or(0.0));
                }
                raw.extend_from_slice(&s.raw);
                logp.push(s.log_prob);
                values.push(s.value);
                rewards.push(r as f32);
                dones.push(done);
                let frame = &venv.camera_batch()[i * fl..(i + 1) * fl];
                if done {
                    if let Some(info) = venv.final_info(i) {
                        let lap_time = (info.laps > 0)
                            .then(|| info.lap_times.first().copied())
                            .flatten();
                        let rec = EpisodeRecord {
                            episode: state.episodes,
                            iteration: state.iteration,
                            steps: info.params.steps,
                            reward: ep_reward[i],
                            progress: info.params.progress,
                            status: info.episode_status.as_str().to_string(),
                            lap_time,
                            elapsed_s: elapsed(&started),
                        };
                        if let Some(t) = lap_time {
                            state.laps += 1;
                            state.best_lap = Some(state.best_lap.map_or(t, |b: f64| b.min(t)));
                        }
                        let end = now_ms();
                        dr_metrics.push(DeepRacerEpisodeMetric {
                            reward_score: rec.reward.round() as i64,
                            metric_time: end,
                            start_time: ep_start_ms[i],
                            elapsed_time_in_milliseconds: end.saturating_sub(ep_start_ms[i]),
                            episode: rec.episode,
                            trial: rec.episode + 1,
                            phase: "training".into(),
                            completion_percentage: rec.progress.round() as i64,
                            episode_status: deepracer_status(&rec.status).into(),
                        });
                        // DeepRacer numbers episodes in order and puts
                        // num_episodes_between_training of them in each
                        // N-iteration.csv (deepracer-utils relies on it)
                        let file_index = match opts.rollout {
                            RolloutLength::Episodes(n) => rec.episode / n.max(1) as u64,
                            RolloutLength::StepsPerEnv(_) => state.iteration,
                        };
                        append_trace(&trace_dir, file_index, rec.episode, &pending_rows[i])?;
                        let line = serde_json::json!({"type": "episode", "record": &rec});
                        writeln!(metrics, "{line}").map_err(io_err(&metrics_path))?;
                        observer.episode(&rec);
                        finished.push(rec);
                    }
                    state.episodes += 1;
                    pending_rows[i].clear();
                    ep_reward[i] = 0.0;
                    ep_start_ms[i] = now_ms();
                    obs.reset(i, frame);
                } else {
                    obs.push(i, frame);
                }
            }
            observer.steps(state.total_steps);
            if observer.stop_requested() {
                interrupted = true;
                break;
            }
            let enough = match opts.rollout {
                RolloutLength::Episodes(n) => finished.len() >= n.max(1),
                RolloutLength::StepsPerEnv(n) => steps_this >= n.max(1),
            };
            if enough {
                break;
            }
        }
        if interrupted {
            // keep the counters of the unfinished rollout; the weights are
            // the last update's
            state.elapsed_s = elapsed(&started);
            state.rng_word_pos = rng.get_word_pos();
            metrics.flush().map_err(io_err(&metrics_path))?;
            let ckpt = save_checkpoint(out, &learner, &state, opts.checkpoints_kept)?;
            break (StopReason::Interrupted, ckpt);
        }
        let last = learner.values(&obs.batch(venv.lidar_batch()));
        let (advantages, returns) = gae(&rewards, &values, &dones, &last, gamma, lambda);
        let rollout = Rollout {
            obs: roll_obs,
            raw_actions: raw,
            log_probs: logp,
            advantages,
            returns,
        };
        let update = learner.update(&rollout, &mut rng)?;
        state.iteration += 1;
        state.elapsed_s = elapsed(&started);
        state.rng_word_pos = rng.get_word_pos();
        let ckpt = save_checkpoint(out, &learner, &state, opts.checkpoints_kept)?;
        let n_eps = finished.len().max(1) as f64;
        let rec = IterationRecord {
            iteration: state.iteration,
            episodes: state.episodes,
            total_steps: state.total_steps,
            steps_per_s: (state.total_steps - steps_before) as f64
                / iter_started.elapsed().as_secs_f64().max(1e-9),
            mean_reward: finished.iter().map(|e| e.reward).sum::<f64>() / n_eps,
            mean_progress: finished.iter().map(|e| e.progress).sum::<f64>() / n_eps,
            laps: finished.iter().filter(|e| e.lap_time.is_some()).count() as u64,
            best_lap: state.best_lap,
            update,
            elapsed_s: state.elapsed_s,
        };
        let line = serde_json::json!({"type": "iteration", "record": &rec});
        writeln!(metrics, "{line}").map_err(io_err(&metrics_path))?;
        metrics.flush().map_err(io_err(&metrics_path))?;
        let dr = serde_json::json!({
            "metrics": &dr_metrics,
            "version": "2",
            "best_model_metric": "progress",
        });
        write_atomic(&dr_metrics_path, dr.to_string().as_bytes())?;
        observer.iteration(&rec);

        if opts.max_time.is_some_and(|t| started.elapsed() >= t) {
            break (StopReason::MaxTime, ckpt);
        }
        if opts.max_episodes.is_some_and(|m| state.episodes >= m) {
            break (StopReason::MaxEpisodes, ckpt);
        }
        if !finished.is_empty() {
            if opts.target_avg_score.is_some_and(|s| rec.mean_reward >= s) {
                break (StopReason::AvgScore, ckpt);
            }
            if opts
                .target_avg_progress
                .is_some_and(|p| rec.mean_progress >= p)
            {
                break (StopReason::AvgProgress, ckpt);
            }
        }
    };
    Ok(TrainSummary {
        stop_reason: stop,
        state,
        checkpoint: Some(checkpoint),
    })
}
