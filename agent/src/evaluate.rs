//! DeepRacer-style evaluation: timed laps with the greedy policy; when the
//! car leaves the track it is put back where it left and a time penalty is
//! added (DeepRacer's `off_track_penalty`, 2 s in the console's
//! evaluations).

use crate::checkpoint::{AgentSpec, latest_checkpoint, read_agent_spec};
use crate::error::AgentError;
use crate::learner::Learner;
use crate::ppo::PpoConfig;
use crate::rollout::ObsState;
use crate::run_dir::RunDir;
use burn::tensor::Device;
use chicane_config::ResolvedRun;
use chicane_sim::{EpisodeStatus, EvalStart, Info, RaceEnv, SimTraceWriter, row_without_episode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Laps (DeepRacer's trials). Default 3.
    pub laps: u32,
    /// Time added per off-track reset (s). Default 2 (DeepRacer's console
    /// default for time trials).
    pub off_track_penalty_s: f64,
    /// Time added per crash reset (s). Default 5 (DeepRacer's default
    /// collision penalty).
    pub crash_penalty_s: f64,
    /// A lap is abandoned after this much simulated time (s). Default 180.
    pub max_lap_time_s: f64,
    /// Sample actions instead of taking the most likely one. Default false.
    pub stochastic: bool,
    /// Env seed. Default 0.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            laps: 3,
            off_track_penalty_s: 2.0,
            crash_penalty_s: 5.0,
            max_lap_time_s: 180.0,
            stochastic: false,
            seed: 0,
        }
    }
}

/// One evaluated lap (DeepRacer's evaluation metrics entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapResult {
    /// Lap number (1-based, DeepRacer's `trial`).
    pub trial: u32,
    /// Lap time including penalties (s), when the lap was completed.
    pub lap_time_s: Option<f64>,
    /// Progress reached (%).
    pub progress: f64,
    /// Off-track resets.
    pub off_track_count: u32,
    /// Crash resets.
    pub crash_count: u32,
    /// Reversed resets.
    pub reversed_count: u32,
    /// Immobilized resets.
    pub immobilized_count: u32,
    /// `lap_complete`, or why the lap was abandoned (`time_up`; DeepRacer's
    /// label, `Lap complete`, in its metrics JSON).
    pub episode_status: EpisodeStatus,
    /// Steps taken.
    pub steps: u64,
}

/// A whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The track's name.
    pub track: String,
    /// The checkpoint evaluated.
    pub checkpoint: String,
    /// The laps.
    pub laps: Vec<LapResult>,
    /// Completed laps.
    pub laps_completed: u32,
    /// The fastest completed lap (s).
    pub best_lap_s: Option<f64>,
    /// Mean of the completed laps (s).
    pub mean_lap_s: Option<f64>,
}

impl EvalReport {
    /// DeepRacer's evaluation metrics JSON (`{"metrics": [...]}`, one entry
    /// per trial, times in ms), as in `evaluation-metrics.json`.
    pub fn deepracer_metrics_json(&self) -> serde_json::Value {
        let mut t0 = 0u64;
        let metrics: Vec<serde_json::Value> = self
            .laps
            .iter()
            .map(|l| {
                let ms = (l.lap_time_s.unwrap_or(l.steps as f64 / 15.0) * 1000.0).round() as u64;
                let v = serde_json::json!({
                    "completion_percentage": l.progress.round() as i64,
                    "metric_time": t0 + ms,
                    "start_time": t0,
                    "elapsed_time_in_milliseconds": ms,
                    "episode_status": l.episode_status.deepracer_label(),
                    "crash_count": l.crash_count,
                    "immobilized_count": l.immobilized_count,
                    "off_track_count": l.off_track_count,
                    "reversed_count": l.reversed_count,
                    "reset_count": l.off_track_count + l.crash_count + l.reversed_count + l.immobilized_count,
                    "trial": l.trial,
                });
                t0 += ms;
                v
            })
            .collect();
        serde_json::json!({ "metrics": metrics })
    }
}

/// What [`evaluate`] shows its caller at every step (for recordings).
#[derive(Debug)]
pub struct EvalStep<'a> {
    /// The lap (1-based).
    pub trial: u32,
    /// The camera frame `[C, H, W]` u8 (empty without a camera).
    pub camera: &'a [u8],
    /// The step's info.
    pub info: &'a Info,
    /// The lap, on the step that ended it (completed or out of time).
    pub lap_done: Option<&'a LapResult>,
}

/// A trained policy loaded from a run folder's checkpoint.
#[derive(Debug)]
pub struct LoadedPolicy {
    /// The learner holding the weights.
    pub learner: Learner,
    /// The network and preprocessing.
    pub spec: AgentSpec,
    /// The checkpoint folder it came from.
    pub checkpoint: std::path::PathBuf,
}

/// Loads the latest checkpoint of the run folder `run_dir`.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the missing or corrupt file.
pub fn load_policy(
    run_dir: &RunDir,
    run: &ResolvedRun,
    device: &Device,
) -> Result<LoadedPolicy, AgentError> {
    load_policy_at(run_dir, &latest_checkpoint(run_dir)?, run, device)
}

/// Loads the checkpoint folder `checkpoint` of the run folder `run_dir`
/// (whose `agent.json` gives the network).
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the missing or corrupt file.
pub fn load_policy_at(
    run_dir: &RunDir,
    checkpoint: &Path,
    run: &ResolvedRun,
    device: &Device,
) -> Result<LoadedPolicy, AgentError> {
    let spec = read_agent_spec(run_dir)?;
    let mut learner = Learner::new(
        spec.network.clone(),
        PpoConfig::default(),
        run.action_space.clone(),
        device,
        0,
    )?;
    learner.load(checkpoint, false)?;
    Ok(LoadedPolicy {
        learner,
        spec,
        checkpoint: checkpoint.to_path_buf(),
    })
}

/// Evaluates `policy` on `run`'s track and sim settings: `opts.laps` laps
/// from the start line, the policy's most likely action each step, resets
/// where the car left the track with a time penalty. Sim-trace rows go to
/// `trace` (DeepRacer's evaluation sim-trace) and every step to `on_step`.
///
/// # Errors
/// Env and reward errors, and I/O errors of `trace`.
pub fn evaluate(
    policy: &LoadedPolicy,
    run: &ResolvedRun,
    opts: &EvalOptions,
    mut trace: Option<&mut SimTraceWriter<Box<dyn Write>>>,
    on_step: &mut dyn FnMut(EvalStep<'_>),
) -> Result<EvalReport, AgentError> {
    let reward = run.make_reward().map_err(|e| {
        AgentError::Sim(chicane_sim::SimError::Config {
            field: "reward".into(),
            problem: chicane_core::error_chain(&e),
        })
    })?;
    let mut sim = run.sim.clone();
    let track = Arc::clone(&run.track);
    let len = track.length();
    let start = EvalStart::new(&mut sim, &track);
    let mut env = RaceEnv::new(sim, Arc::clone(&track), run.action_space.clone(), reward)?;
    let lidar_len = env.observation_space().lidar.unwrap_or(0);
    let mut obs = ObsState::new(policy.spec.preprocess, 1, lidar_len);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let dt = 1.0 / run.sim.physics.action_hz;
    let mut laps = Vec::new();
    // the sim-trace's clock, running on over laps as DeepRacer's does
    let mut clock_s = 0.0f64;
    for trial in 1..=opts.laps.max(1) {
        let mut lap = LapResult {
            trial,
            lap_time_s: None,
            progress: 0.0,
            off_track_count: 0,
            crash_count: 0,
            reversed_count: 0,
            immobilized_count: 0,
            episode_status: EpisodeStatus::InProgress,
            steps: 0,
        };
        // distance covered before the current env episode (m) and time (s)
        let (mut base_m, mut time_s) = (0.0f64, 0.0f64);
        let seed = (trial == 1).then_some(opts.seed);
        env.reset_in_place(seed, start.reset_at(0.0))?;
        obs.reset(0, &env.observation().camera);
        loop {
            let batch = obs.batch(&env.observation().lidar);
            let sample = policy.learner.act(&batch, &mut rng, !opts.stochastic)?;
            let action = sample
                .first()
                .map(|s| s.action)
                .ok_or_else(|| AgentError::Shape("the policy returned no action".into()))?;
            let (r, term, trunc, info) = env.step_in_place(&action)?;
            lap.steps += 1;
            time_s += dt;
            let covered = base_m + info.params.progress / 100.0 * len;
            lap.progress = (covered / len * 100.0).min(100.0);
            let done_lap =
                covered >= len - 1e-6 || info.episode_status == EpisodeStatus::LapComplete;
            if let Some(t) = trace.as_deref_mut() {
                clock_s += dt;
                let row = row_without_episode(
                    &info,
                    Some(&action),
                    r,
                    term || trunc || done_lap,
                    clock_s,
                );
                t.write_row(u64::from(trial - 1), &row)
                    .map_err(|source| AgentError::Io {
                        path: "evaluation sim-trace".into(),
                        source,
                    })?;
            }
            let ended = if done_lap {
                lap.progress = 100.0;
                lap.lap_time_s = Some(time_s);
                lap.episode_status = EpisodeStatus::LapComplete;
                true
            } else if time_s >= opts.max_lap_time_s || trunc {
                lap.episode_status = EpisodeStatus::TimeUp;
                true
            } else {
                false
            };
            on_step(EvalStep {
                trial,
                camera: &env.observation().camera,
                info: &info,
                lap_done: ended.then_some(&lap),
            });
            if ended {
                break;
            }
            if term {
                match info.episode_status {
                    EpisodeStatus::OffTrack => {
                        lap.off_track_count += 1;
                        time_s += opts.off_track_penalty_s;
                    }
                    EpisodeStatus::Crashed => {
                        lap.crash_count += 1;
                        time_s += opts.crash_penalty_s;
                    }
                    EpisodeStatus::Reversed => lap.reversed_count += 1,
                    EpisodeStatus::Immobilized => lap.immobilized_count += 1,
                    _ => {}
                }
                base_m = covered;
                env.reset_in_place(None, start.reset_at(base_m))?;
                obs.reset(0, &env.observation().camera);
            } else {
                obs.push(0, &env.observation().camera);
            }
        }
        laps.push(lap);
    }
    let times: Vec<f64> = laps.iter().filter_map(|l| l.lap_time_s).collect();
    Ok(EvalReport {
        track: track.name().to_string(),
        checkpoint: policy.checkpoint.display().to_string(),
        laps_completed: times.len() as u32,
        best_lap_s: times.iter().copied().reduce(f64::min),
        mean_lap_s: (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64),
        laps,
    })
}
