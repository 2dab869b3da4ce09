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
        let total = batches.iter().map(|b| b.rollout.obs.n).sum::<usize>();
        let (mut rows, mut finals) = (0usize, 0usize);
        for b in batches {
            let r = &b.rollout;
            // next-observation indices move with their rows: rows of `obs`
            // by the rows before, final ones past every batch's rows
            let own = r.obs.n;
            out.next.extend(r.next.iter().map(|&j| {
                let j = j as usize;
                (if j < own {
                    rows + j
                } else {
                    total + finals + (j - own)
                }) as u32
            }));
            rows += own;
            finals += r.next_obs.n;
            out.obs.n += r.obs.n;
            out.obs.camera.extend_from_slice(&r.obs.camera);
            out.obs.vector.extend_from_slice(&r.obs.vector);
            out.raw_actions.extend_from_slice(&r.raw_actions);
            out.log_probs.extend_from_slice(&r.log_probs);
            out.advantages.extend_from_slice(&r.advantages);
            out.returns.extend_from_slice(&r.returns);
            out.rewards.extend_from_slice(&r.rewards);
            out.terminated.extend_from_slice(&r.terminated);
            out.next_obs.n += r.next_obs.n;
            out.next_obs.camera.extend_from_slice(&r.next_obs.camera);
            out.next_obs.vector.extend_from_slice(&r.next_obs.vector);
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
        // SAC's view: the env's rewards, terminal flags, and where each
        // done step's next observation is among the final observations
        let (mut env_rewards, mut terminated) = (Vec::new(), Vec::new());
        let mut final_of: Vec<Option<u32>> = Vec::new();
        let mut final_obs = HostObs::default();
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
                env_rewards.push(r as f32);
                terminated.push(term);
                final_of.push(None);
                if trunc && !term {
                    let fo = self.venv.final_observation(i).ok_or_else(|| {
                        AgentError::Shape(format!(
                            "env {i} ended its episode (truncated) without a final observation"
                        ))
                    })?;
                    let next = self.obs.peek(i, &fo.camera, &fo.lidar);
                    let v = learner.values(&next)?;
                    let v = v.first().copied().ok_or_else(|| {
                        AgentError::Shape("the value head returned no value".into())
                    })?;
                    r += f64::from(gamma * v);
                    if let Some(slot) = final_of.last_mut() {
                        *slot = Some(final_obs.n as u32);
                    }
                    final_obs.n += 1;
                    final_obs.camera.extend_from_slice(&next.camera);
                    final_obs.vector.extend_from_slice(&next.vector);
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
        let after = self.obs.batch(self.venv.lidar_batch());
        let last = learner.values(&after)?;
        let (advantages, returns) = gae(&rewards, &values, &dones, &last, gamma, lambda);
        // the next observation of every step: the same env's next row, its
        // episode's final observation, or the observation after the
        // rollout's last step (appended after the episodes' final ones)
        let rows = roll_obs.n;
        let tail = rows + final_obs.n;
        let next = final_of
            .iter()
            .enumerate()
            .map(|(k, f)| match f {
                Some(j) => (rows as u32) + j,
                None if k + n < rows => (k + n) as u32,
                None => (tail + k % n) as u32,
            })
            .collect();
        final_obs.n += after.n;
        final_obs.camera.extend_from_slice(&after.camera);
        final_obs.vector.extend_from_slice(&after.vector);
        Ok(Some(RolloutBatch {
            rollout: Rollout {
                obs: roll_obs,
                raw_actions: raw,
                log_probs: logp,
                advantages,
                returns,
                rewards: env_rewards,
                terminated,
                next,
                next_obs: final_obs,
            },
            episodes: finished,
            env_steps: (steps_this * n) as u64,
        }))
    }
}
