//! Rollout collection: a [`RolloutWorker`] drives a [`VecEnv`] with the
//! current policy and hands back a [`RolloutBatch`] (experience with GAE
//! advantages, plus the episodes that finished). The local trainer runs one
//! worker in its own process; `python -m chicane.ray_train` runs one per
//! Ray actor and sends the batches to the learner.

use crate::error::AgentError;
use crate::learner::{HostObs, Learner, Rollout};
use crate::observer::{StepView, TrainObserver};
use crate::options::RolloutLength;
use crate::ppo::gae;
use crate::records::WorkerEpisode;
use chicane_config::ResolvedRun;
use chicane_core::{FrameStack, Preprocess};
use chicane_sim::{VecEnv, row_without_episode};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

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

    pub(crate) fn frame_len(&self) -> usize {
        self.pre.map_or(0, |p| p.frame_len())
    }
}

/// Milliseconds since the Unix epoch (DeepRacer's metric timestamps).
pub(crate) fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// What one [`RolloutWorker::collect`] gathered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RolloutBatch {
    /// Experience with GAE advantages and returns computed by the worker
    /// with the policy that acted.
    pub rollout: Rollout,
    /// Episodes that finished during this rollout, in the order they ended.
    pub episodes: Vec<WorkerEpisode>,
    /// Env steps taken (steps x envs).
    pub env_steps: u64,
}

impl RolloutBatch {
    /// Joins batches from several workers into one rollout for an update.
    pub fn concat(batches: &[RolloutBatch]) -> Rollout {
        let mut out = Rollout::default();
        for b in batches {
            let r = &b.rollout;
            out.obs.n += r.obs.n;
            out.obs.camera.extend_from_slice(&r.obs.camera);
            out.obs.vector.extend_from_slice(&r.obs.vector);
            out.raw_actions.extend_from_slice(&r.raw_actions);
            out.log_probs.extend_from_slice(&r.log_probs);
            out.advantages.extend_from_slice(&r.advantages);
            out.returns.extend_from_slice(&r.returns);
        }
        out
    }
}

/// A [`VecEnv`] on a run's track with the observation stacks and episode
/// bookkeeping of PPO rollouts. Episodes in progress carry over from one
/// `collect` to the next.
pub struct RolloutWorker {
    venv: VecEnv,
    obs: ObsState,
    frame_len: usize,
    num_envs: usize,
    dt: f64,
    /// Vector steps taken so far (sets the sim-trace `tstamp`).
    step_count: u64,
    ep_reward: Vec<f64>,
    ep_start_ms: Vec<u128>,
    pending_rows: Vec<Vec<String>>,
    env_wall_s: f64,
    observe_s: f64,
}

impl std::fmt::Debug for RolloutWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutWorker")
            .field("num_envs", &self.num_envs)
            .field("step_count", &self.step_count)
            .finish_non_exhaustive()
    }
}

impl RolloutWorker {
    /// `num_envs` envs of `run` (each with its own reward function) on
    /// `num_threads` threads (0 = one per core), observed through
    /// `preprocess`, reset with `seed` (env `i` gets `seed + i`). The
    /// sim-trace `tstamp` starts at `first_step` steps of
    /// `1 / action_hz` s.
    ///
    /// # Errors
    /// A reward script that fails to load, or a simulator config error.
    pub fn new(
        run: &ResolvedRun,
        preprocess: Option<Preprocess>,
        num_envs: usize,
        num_threads: usize,
        seed: u64,
        first_step: u64,
    ) -> Result<RolloutWorker, AgentError> {
        let num_envs = num_envs.max(1);
        let mut venv = run.vec_env(num_envs, num_threads)?;
        let lidar_len = venv.single_observation_space().lidar.unwrap_or(0);
        let mut obs = ObsState::new(preprocess, num_envs, lidar_len);
        venv.reset(Some(seed))?;
        let fl = obs.frame_len();
        for i in 0..num_envs {
            obs.reset(i, &venv.camera_batch()[i * fl..(i + 1) * fl]);
        }
        Ok(RolloutWorker {
            venv,
            obs,
            frame_len: fl,
            num_envs,
            dt: 1.0 / run.sim.physics.action_hz,
            step_count: first_step,
            ep_reward: vec![0.0; num_envs],
            ep_start_ms: vec![now_ms(); num_envs],
            pending_rows: vec![Vec::new(); num_envs],
            env_wall_s: 0.0,
            observe_s: 0.0,
        })
    }

    /// Number of envs.
    pub fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// Where this worker's time went since it was made or the timings were
    /// last taken, zeroing them: `(envs' CPU time by part, wall time in
    /// the vector env's step, time building observation batches)`.
    pub fn take_timings(&mut self) -> (chicane_sim::StepTimings, f64, f64) {
        let t = (self.venv.take_timings(), self.env_wall_s, self.observe_s);
        self.env_wall_s = 0.0;
        self.observe_s = 0.0;
        t
    }

    /// Gives every env a fresh instance of `run`'s reward function (a
    /// reward script edited while training), used from the next step on.
    /// Episodes in progress continue.
    ///
    /// # Errors
    /// The script's compile error; the old functions are then kept.
    pub fn set_reward(&mut self, run: &ResolvedRun) -> Result<(), AgentError> {
        let fresh = (0..self.num_envs)
            .map(|_| run.make_reward())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| chicane_sim::SimError::Config {
                field: "reward".into(),
                problem: chicane_core::error_chain(&e),
            })?;
        for (i, r) in fresh.into_iter().enumerate() {
            self.venv.set_reward(i, r);
        }
        Ok(())
    }

    /// Runs `learner`'s policy (sampling with `rng`) until `length` is
    /// reached, then computes GAE advantages (truncated episodes bootstrap
    /// from the value of their final observation). Tells `observer` of
    /// every step and finished episode. Returns `None` when `observer`
    /// asked to stop before the rollout was complete.
    ///
    /// # Errors
    /// An env or reward error, or an error from `observer`.
    pub fn collect(
        &mut self,
        learner: &Learner,
        rng: &mut impl Rng,
        length: RolloutLength,
        observer: &mut dyn TrainObserver,
    ) -> Result<Option<RolloutBatch>, AgentError> {
        let n = self.num_envs;
        let fl = self.frame_len;
        let gamma = learner.ppo().discount_factor as f32;
        let lambda = learner.ppo().gae_lambda as f32;
        let mut roll_obs = HostObs::default();
        let (mut raw, mut logp, mut values, mut rewards, mut dones) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut finished: Vec<WorkerEpisode> = Vec::new();
        let mut steps_this = 0usize;
        loop {
            let started = std::time::Instant::now();
            let batch = self.obs.batch(self.venv.lidar_batch());
            self.observe_s += started.elapsed().as_secs_f64();
            let samples = learner.act(&batch, rng, false)?;
            let actions: Vec<_> = samples.iter().map(|s| s.action).collect();
            let started = std::time::Instant::now();
            self.venv.step(&actions)?;
            self.env_wall_s += started.elapsed().as_secs_f64();
            steps_this += 1;
            self.step_count += 1;
            observer.steps(n as u64);
            roll_obs.n += batch.n;
            roll_obs.camera.extend_from_slice(&batch.camera);
            roll_obs.vector.extend_from_slice(&batch.vector);
            for (i, s) in samples.iter().enumerate() {
                let mut r = self.venv.rewards()[i];
                let (term, trunc) = (self.venv.terminated()[i], self.venv.truncated()[i]);
                let done = term || trunc;
                let info = if done {
                    self.venv.final_info(i)
                } else {
                    self.venv.info(i)
                };
                if let Some(info) = info {
                    let tstamp = self.step_count as f64 * self.dt;
                    self.pending_rows[i].push(row_without_episode(
                        info,
                        Some(&s.action),
                        r,
                        done,
                        tstamp,
                    ));
                }
                self.ep_reward[i] += r;
                if trunc && let Some(fo) = self.venv.final_observation(i) {
                    let v = learner.values(&self.obs.peek(i, &fo.camera, &fo.lidar))?;
                    let v = v.first().copied().ok_or_else(|| {
                        AgentError::Shape("the value head returned no value".into())
                    })?;
                    r += f64::from(gamma * v);
                }
                raw.extend_from_slice(&s.raw);
                logp.push(s.log_prob);
                values.push(s.value);
                rewards.push(r as f32);
                dones.push(done);
                let frame = &self.venv.camera_batch()[i * fl..(i + 1) * fl];
                if done {
                    if let Some(info) = self.venv.final_info(i) {
                        let lap_time = (info.laps > 0)
                            .then(|| info.lap_times.first().copied())
                            .flatten();
                        let ep = WorkerEpisode {
                            steps: info.params.steps,
                            reward: self.ep_reward[i],
                            progress: info.params.progress,
                            status: info.episode_status,
                            lap_time,
                            start_ms: self.ep_start_ms[i],
                            end_ms: now_ms(),
                            track: info.track.to_string(),
                            trace_rows: std::mem::take(&mut self.pending_rows[i]),
                        };
                        observer.worker_episode(&ep)?;
                        finished.push(ep);
                    }
                    self.pending_rows[i].clear();
                    self.ep_reward[i] = 0.0;
                    self.ep_start_ms[i] = now_ms();
                    self.obs.reset(i, frame);
                } else {
                    self.obs.push(i, frame);
                }
            }
            observer.observe(StepView {
                env: &self.venv,
                samples: &samples,
            });
            if observer.stop_requested() {
                return Ok(None);
            }
            let enough = match length {
                RolloutLength::Episodes(k) => finished.len() >= k.max(1),
                RolloutLength::StepsPerEnv(k) => steps_this >= k.max(1),
            };
            if enough {
                break;
            }
        }
        let last = learner.values(&self.obs.batch(self.venv.lidar_batch()))?;
        let (advantages, returns) = gae(&rewards, &values, &dones, &last, gamma, lambda);
        Ok(Some(RolloutBatch {
            rollout: Rollout {
                obs: roll_obs,
                raw_actions: raw,
                log_probs: logp,
                advantages,
                returns,
            },
            episodes: finished,
            env_steps: (steps_this * n) as u64,
        }))
    }
}
