//! `VecEnv`: many `RaceEnv`s stepped in parallel into one batch.

use crate::config::SimConfig;
use crate::env::{
    EnvAssets, Info, Observation, ObservationSpace, RaceEnv, ResetOptions, StepTimings,
};
use crate::error::SimError;
use chicane_core::{Action, ActionSpace};
use chicane_reward::RewardFunction;
use chicane_tracks::Track;
use rayon::prelude::*;
use std::sync::Arc;

/// When a finished sub-env restarts (Gymnasium's `AutoresetMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoresetMode {
    /// In the same `step` that ends its episode: the batch holds the first
    /// observation of the new episode, and the last one is kept in
    /// [`VecEnv::final_observation`] / [`VecEnv::final_info`]
    /// (Gymnasium's `AutoresetMode.SAME_STEP`).
    SameStep,
}

/// N envs on one track, stepped in parallel on a thread pool, writing one
/// contiguous observation batch.
///
/// # Shapes
/// Camera batch `[N, C, H, W]` u8; lidar batch `[N, L]` f32; rewards,
/// terminated and truncated `[N]`.
pub struct VecEnv {
    envs: Vec<RaceEnv>,
    cam_len: usize,
    lid_len: usize,
    pool: rayon::ThreadPool,
    camera: Vec<u8>,
    lidar: Vec<f32>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    infos: Vec<Option<Info>>,
    final_observations: Vec<Option<Observation>>,
    final_infos: Vec<Option<Info>>,
    assets: EnvAssets,
}

impl std::fmt::Debug for VecEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecEnv")
            .field("num_envs", &self.envs.len())
            .finish_non_exhaustive()
    }
}

impl VecEnv {
    /// The autoreset mode of every `VecEnv`.
    pub const AUTORESET_MODE: AutoresetMode = AutoresetMode::SameStep;

    /// One env per reward function in `rewards` (env `i` gets
    /// `rewards[i]`), sharing one copy of the track's textures, stepped on
    /// `num_threads` threads (0 = one per core).
    ///
    /// # Errors
    /// [`SimError::Config`] for a bad config or no reward functions (no
    /// envs), and the errors of [`RaceEnv::with_assets`].
    pub fn new(
        cfg: SimConfig,
        track: Arc<Track>,
        action_space: ActionSpace,
        rewards: Vec<Box<dyn RewardFunction>>,
        num_threads: usize,
    ) -> Result<VecEnv, SimError> {
        let num_envs = rewards.len();
        if num_envs == 0 {
            return Err(SimError::Config {
                field: "num_envs".into(),
                problem: "must be at least 1 (give one reward function per env)".into(),
            });
        }
        cfg.validate()?;
        let assets = EnvAssets::new(track, &cfg);
        let envs = rewards
            .into_iter()
            .map(|r| RaceEnv::with_assets(cfg.clone(), assets.clone(), action_space.clone(), r))
            .collect::<Result<Vec<_>, _>>()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(num_threads)
            .thread_name(|i| format!("chicane-env-{i}"))
            .build()
            .map_err(|e| SimError::Config {
                field: "num_threads".into(),
                problem: e.to_string(),
            })?;
        let space = envs[0].observation_space();
        let cam = space.camera.map_or(0, |(c, h, w)| c * h * w);
        let lid = space.lidar.unwrap_or(0);
        // chunks of at least one element keep every env in the parallel
        // zips when it has no camera or no lidar
        Ok(VecEnv {
            cam_len: cam,
            lid_len: lid,
            camera: vec![0; cam.max(1) * num_envs],
            lidar: vec![0.0; lid.max(1) * num_envs],
            rewards: vec![0.0; num_envs],
            terminated: vec![false; num_envs],
            truncated: vec![false; num_envs],
            infos: vec![None; num_envs],
            final_observations: vec![None; num_envs],
            final_infos: vec![None; num_envs],
            envs,
            pool,
            assets,
        })
    }

    /// Multi-track training: one env per reward function, env `i` starting
    /// on `tracks[i % n]` and moving to the next track every
    /// `switch_every` episodes ([`RaceEnv::set_track_pool`]); each track's
    /// textures built once and shared.
    ///
    /// # Errors
    /// As [`VecEnv::new`]; [`SimError::Config`] for no tracks or
    /// `switch_every` 0.
    pub fn with_tracks(
        cfg: SimConfig,
        tracks: &[Arc<Track>],
        switch_every: u32,
        action_space: ActionSpace,
        rewards: Vec<Box<dyn RewardFunction>>,
        num_threads: usize,
    ) -> Result<VecEnv, SimError> {
        let first = tracks.first().ok_or_else(|| SimError::Config {
            field: "track".into(),
            problem: "no tracks given".into(),
        })?;
        let mut v = VecEnv::new(
            cfg.clone(),
            Arc::clone(first),
            action_space,
            rewards,
            num_threads,
        )?;
        if tracks.len() > 1 {
            let pool: Vec<EnvAssets> = std::iter::once(v.assets.clone())
                .chain(
                    tracks[1..]
                        .iter()
                        .map(|t| EnvAssets::new(Arc::clone(t), &cfg)),
                )
                .collect();
            for (i, env) in v.envs.iter_mut().enumerate() {
                env.set_track_pool(pool.clone(), switch_every, i)?;
            }
        }
        Ok(v)
    }

    /// Where the sub-envs' step time went (CPU seconds summed over the
    /// envs, which run in parallel), zeroing it.
    pub fn take_timings(&mut self) -> StepTimings {
        let mut t = StepTimings::default();
        for e in &mut self.envs {
            t += e.take_timings();
        }
        t
    }

    /// Number of sub-envs.
    pub fn num_envs(&self) -> usize {
        self.envs.len()
    }

    /// Observation shape of one sub-env.
    pub fn single_observation_space(&self) -> ObservationSpace {
        self.envs[0].observation_space()
    }

    /// The action space of every sub-env.
    pub fn single_action_space(&self) -> &ActionSpace {
        self.envs[0].action_space()
    }

    /// The sub-envs (read-only).
    pub fn envs(&self) -> &[RaceEnv] {
        &self.envs
    }

    /// Replaces sub-env `i`'s reward function from its next step on (a
    /// reward script reloaded while training). Out-of-range `i` is ignored.
    pub fn set_reward(&mut self, i: usize, reward: Box<dyn RewardFunction>) {
        if let Some(env) = self.envs.get_mut(i) {
            env.set_reward(reward);
        }
    }

    /// Memory shared by all sub-envs (track textures), bytes.
    pub fn shared_memory_bytes(&self) -> usize {
        self.assets.memory_bytes()
    }

    /// Resets every sub-env; with `seed`, sub-env `i` gets `seed + i`.
    ///
    /// # Errors
    /// The first sub-env's error.
    pub fn reset(&mut self, seed: Option<u64>) -> Result<(), SimError> {
        self.reset_with(seed, ResetOptions::default())
    }

    /// [`VecEnv::reset`] with the same `options` (start position,
    /// direction) for every sub-env.
    ///
    /// # Errors
    /// As [`VecEnv::reset`].
    pub fn reset_with(&mut self, seed: Option<u64>, options: ResetOptions) -> Result<(), SimError> {
        let (cam, lid) = (self.cam_len, self.lid_len);
        let results: Vec<Result<Info, SimError>> = self.pool.install(|| {
            self.envs
                .par_iter_mut()
                .zip(self.camera.par_chunks_mut(cam.max(1)))
                .zip(self.lidar.par_chunks_mut(lid.max(1)))
                .enumerate()
                .map(|(i, ((env, cam_out), lid_out))| {
                    let info =
                        env.reset_in_place(seed.map(|s| s.wrapping_add(i as u64)), options)?;
                    copy_obs(env.observation(), cam_out, lid_out, cam, lid);
                    Ok(info)
                })
                .collect()
        });
        for (i, r) in results.into_iter().enumerate() {
            self.infos[i] = Some(r?);
            self.final_observations[i] = None;
            self.final_infos[i] = None;
            self.terminated[i] = false;
            self.truncated[i] = false;
            self.rewards[i] = 0.0;
        }
        Ok(())
    }

    /// Steps every sub-env with its action, in parallel; finished sub-envs
    /// reset in the same step ([`AutoresetMode::SameStep`]).
    ///
    /// # Errors
    /// [`SimError::Config`] when `actions.len() != num_envs`; otherwise the
    /// first sub-env error (a reward error stops the run).
    pub fn step(&mut self, actions: &[Action]) -> Result<(), SimError> {
        if actions.len() != self.envs.len() {
            return Err(SimError::Config {
                field: "actions".into(),
                problem: format!(
                    "{} actions for {} envs: give one per env",
                    actions.len(),
                    self.envs.len()
                ),
            });
        }
        let (cam, lid) = (self.cam_len, self.lid_len);
        type Out = (f64, bool, bool, Info, Option<(Observation, Info)>);
        let results: Vec<Result<Out, SimError>> = self.pool.install(|| {
            self.envs
                .par_iter_mut()
                .zip(self.camera.par_chunks_mut(cam.max(1)))
                .zip(self.lidar.par_chunks_mut(lid.max(1)))
                .zip(actions.par_iter())
                .map(|(((env, cam_out), lid_out), action)| {
                    let (reward, terminated, truncated, info) = env.step_in_place(action)?;
                    let mut finished = None;
                    let info = if terminated || truncated {
                        finished = Some((env.observation().clone(), info));
                        env.reset_in_place(None, ResetOptions::default())?
                    } else {
                        info
                    };
                    copy_obs(env.observation(), cam_out, lid_out, cam, lid);
                    Ok((reward, terminated, truncated, info, finished))
                })
                .collect()
        });
        for (i, r) in results.into_iter().enumerate() {
            let (reward, terminated, truncated, info, finished) = r?;
            self.rewards[i] = reward;
            self.terminated[i] = terminated;
            self.truncated[i] = truncated;
            self.infos[i] = Some(info);
            match finished {
                Some((obs, info)) => {
                    self.final_observations[i] = Some(obs);
                    self.final_infos[i] = Some(info);
                }
                None => {
                    self.final_observations[i] = None;
                    self.final_infos[i] = None;
                }
            }
        }
        Ok(())
    }

    /// The camera batch `[N, C, H, W]`.
    pub fn camera_batch(&self) -> &[u8] {
        &self.camera[..self.cam_len * self.envs.len()]
    }

    /// The lidar batch `[N, L]`.
    pub fn lidar_batch(&self) -> &[f32] {
        &self.lidar[..self.lid_len * self.envs.len()]
    }

    /// Rewards of the last step.
    pub fn rewards(&self) -> &[f64] {
        &self.rewards
    }

    /// Which sub-envs' episodes terminated in the last step.
    pub fn terminated(&self) -> &[bool] {
        &self.terminated
    }

    /// Which sub-envs' episodes were truncated in the last step.
    pub fn truncated(&self) -> &[bool] {
        &self.truncated
    }

    /// Info of sub-env `i` for its current observation (after an autoreset,
    /// the new episode's first info).
    ///
    /// # Panics
    /// If `i >= num_envs()`.
    pub fn info(&self, i: usize) -> Option<&Info> {
        self.infos[i].as_ref()
    }

    /// The last observation of sub-env `i`'s episode that ended in the last step.
    ///
    /// # Panics
    /// If `i >= num_envs()`.
    pub fn final_observation(&self, i: usize) -> Option<&Observation> {
        self.final_observations[i].as_ref()
    }

    /// The last info of sub-env `i`'s episode that ended in the last step.
    ///
    /// # Panics
    /// If `i >= num_envs()`.
    pub fn final_info(&self, i: usize) -> Option<&Info> {
        self.final_infos[i].as_ref()
    }
}

fn copy_obs(obs: &Observation, cam_out: &mut [u8], lid_out: &mut [f32], cam: usize, lid: usize) {
    if cam > 0 {
        cam_out[..cam].copy_from_slice(&obs.camera);
    }
    if lid > 0 {
        lid_out[..lid].copy_from_slice(&obs.lidar);
    }
}
