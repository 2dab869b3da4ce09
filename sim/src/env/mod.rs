//! `RaceEnv`: one car on one track, with Gymnasium's contract
//! (`reset(seed)` -> observation, info; `step(action)` -> observation,
//! reward, terminated, truncated, info) and DeepRacer's params and rules.
//!
//! The env's parts live in their own files: the public types
//! (`types.rs`), the shared assets (`assets.rs`), DeepRacer's episode
//! rules (`rules.rs`), its params (`params.rs`), and the sensors with the
//! camera's domain randomisation (`render.rs`).

use crate::camera::CameraRenderer;
use crate::camera_realism::RealismMaps;
use crate::config::SimConfig;
use crate::error::SimError;
use crate::objects::Objects;
use crate::randomization::{Actuation, EpisodePhysics};
use crate::vehicle::{BoxBody, CarState, Vehicle};
use chicane_core::{Action, ActionSpace, Vec2, wrap_angle};
use chicane_reward::{RewardFunction, RewardParams, check_reward};
use rules::Episode;

mod assets;
mod params;
mod render;
mod rules;
mod types;

pub use assets::{EnvAssets, LineData, RACING_LINE_CLEARANCE};
use chicane_tracks::Track;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;
use std::sync::Arc;
use std::time::Instant;
pub use types::{
    EpisodeStatus, Info, Observation, ObservationSpace, REFERENCE_AHEAD_OF_REAR_AXLE, ResetOptions,
    StepTimings, Transition,
};

/// One simulated car on one track: physics, sensors, rules and reward.
pub struct RaceEnv {
    cfg: SimConfig,
    assets: EnvAssets,
    action_space: ActionSpace,
    reward: Box<dyn RewardFunction>,
    renderer: Option<CameraRenderer>,
    rng: ChaCha8Rng,
    physics: Option<Vehicle>,
    objects: Objects,
    episodes_started: u64,
    ep: Option<Episode>,
    obs: Observation,
    scratch: Vec<u8>,
    boxes: Vec<BoxBody>,
    timings: StepTimings,
    /// This episode's drawn car and actuation (physics randomisation).
    drawn: EpisodePhysics,
    actuation: Actuation,
    /// The camera's previous frame (motion blur).
    prev_camera: Vec<u8>,
    /// The lens's per-pixel tables (camera realism).
    realism_maps: RealismMaps,
    /// Tracks to switch between (multi-track training): empty for one track.
    track_pool: Vec<EnvAssets>,
    /// Episodes on each track before the next.
    switch_every: u64,
    /// This env's first track in the pool.
    pool_offset: usize,
    /// This episode's background objects (scenery), drawn after the others.
    scenery_objects: Vec<crate::camera::DrawBox>,
    /// The scenery's own random stream (stream 1 of the seed), so scenery
    /// on or off leaves every other draw as it was.
    scenery_rng: ChaCha8Rng,
}

/// The scenery's random stream for `seed`: stream 1 of the env's ChaCha8.
fn scenery_stream(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}

impl std::fmt::Debug for RaceEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaceEnv")
            .field("track", &self.assets.track.name())
            .field("reward", &self.reward.name())
            .field("episode", &self.episodes_started)
            .finish_non_exhaustive()
    }
}

impl RaceEnv {
    /// An env on `track` with its own assets. Call [`RaceEnv::reset`] before stepping.
    ///
    /// # Errors
    /// [`SimError::Config`] for a bad config, [`SimError::Action`] for an
    /// action space outside DeepRacer's limits.
    pub fn new(
        cfg: SimConfig,
        track: Arc<Track>,
        action_space: ActionSpace,
        reward: Box<dyn RewardFunction>,
    ) -> Result<RaceEnv, SimError> {
        cfg.validate()?;
        let assets = EnvAssets::new(track, &cfg);
        RaceEnv::with_assets(cfg, assets, action_space, reward)
    }

    /// An env sharing read-only `assets` (built for the same config) with others.
    ///
    /// # Errors
    /// As [`RaceEnv::new`].
    pub fn with_assets(
        cfg: SimConfig,
        assets: EnvAssets,
        action_space: ActionSpace,
        reward: Box<dyn RewardFunction>,
    ) -> Result<RaceEnv, SimError> {
        cfg.validate()?;
        action_space.validate()?;
        let renderer = cfg.camera.as_ref().map(CameraRenderer::new);
        let drawn = EpisodePhysics::nominal(&cfg.vehicle);
        let realism_maps = match &cfg.camera {
            Some(c) if cfg.camera_realism.is_active() => {
                RealismMaps::new(&cfg.camera_realism, c.width as usize, c.height as usize)
            }
            _ => RealismMaps::default(),
        };
        let obs = Observation {
            camera: vec![0; cfg.camera.as_ref().map_or(0, |c| c.frame_len())],
            lidar: vec![0.0; cfg.lidar.as_ref().map_or(0, |l| l.len())],
        };
        Ok(RaceEnv {
            cfg,
            assets,
            action_space,
            reward,
            renderer,
            rng: ChaCha8Rng::seed_from_u64(0),
            physics: None,
            objects: Objects::default(),
            episodes_started: 0,
            ep: None,
            obs,
            scratch: Vec::new(),
            boxes: Vec::new(),
            timings: StepTimings::default(),
            actuation: Actuation::new(&drawn, 0.0),
            drawn,
            prev_camera: Vec::new(),
            realism_maps,
            track_pool: Vec::new(),
            switch_every: 1,
            pool_offset: 0,
            scenery_objects: Vec::new(),
            scenery_rng: scenery_stream(0),
        })
    }

    /// Switches between the tracks of `pool` at resets (multi-track
    /// training): episode `k` after a seeded reset runs on `pool[(offset +
    /// k / switch_every) % pool.len()]`, so envs given different offsets
    /// start on different tracks. Every `EnvAssets` must be built for this
    /// env's config ([`EnvAssets::new`]). An empty pool keeps the env's own
    /// track.
    ///
    /// # Errors
    /// [`SimError::Config`] for `switch_every` 0.
    pub fn set_track_pool(
        &mut self,
        pool: Vec<EnvAssets>,
        switch_every: u32,
        offset: usize,
    ) -> Result<(), SimError> {
        if switch_every == 0 {
            return Err(SimError::Config {
                field: "track_switch_episodes".into(),
                problem: "must be at least 1 (episodes on a track before the next)".into(),
            });
        }
        self.track_pool = pool;
        self.switch_every = u64::from(switch_every);
        self.pool_offset = offset;
        Ok(())
    }

    /// The car and actuation this episode drew ([`SimConfig`]'s
    /// `physics_randomization`; the configured car when it is off).
    pub fn episode_physics(&self) -> &EpisodePhysics {
        &self.drawn
    }

    /// The config.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The track.
    pub fn track(&self) -> &Track {
        &self.assets.track
    }

    /// The action space.
    pub fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    /// The observation shapes.
    pub fn observation_space(&self) -> ObservationSpace {
        ObservationSpace {
            camera: self
                .cfg
                .camera
                .as_ref()
                .map(|c| (c.channels(), c.height as usize, c.width as usize)),
            lidar: self.cfg.lidar.as_ref().map(|l| l.len()),
        }
    }

    /// The latest observation.
    pub fn observation(&self) -> &Observation {
        &self.obs
    }

    /// Replaces the reward function (takes effect on the next step).
    pub fn set_reward(&mut self, reward: Box<dyn RewardFunction>) {
        self.reward = reward;
    }

    /// Starts a new episode. With `seed`, the env's random stream and its
    /// episode count (which drives DeepRacer's alternating direction and
    /// round-robin starts) restart (Gymnasium's semantics); without, they
    /// continue.
    ///
    /// # Errors
    /// [`SimError::Config`] for a bad option.
    pub fn reset(
        &mut self,
        seed: Option<u64>,
        options: ResetOptions,
    ) -> Result<(Observation, Info), SimError> {
        let info = self.reset_in_place(seed, options)?;
        Ok((self.obs.clone(), info))
    }

    /// [`RaceEnv::reset`] without copying the observation (see [`RaceEnv::observation`]).
    ///
    /// # Errors
    /// As [`RaceEnv::reset`].
    pub fn reset_in_place(
        &mut self,
        seed: Option<u64>,
        options: ResetOptions,
    ) -> Result<Info, SimError> {
        let started = Instant::now();
        let info = self.reset_untimed(seed, options);
        self.timings.reset_s += started.elapsed().as_secs_f64();
        info
    }

    /// Where this env's step time went since it was made or
    /// [`RaceEnv::take_timings`] last took them.
    pub fn timings(&self) -> StepTimings {
        self.timings
    }

    /// The timings so far, zeroing them.
    pub fn take_timings(&mut self) -> StepTimings {
        std::mem::take(&mut self.timings)
    }

    fn reset_untimed(
        &mut self,
        seed: Option<u64>,
        options: ResetOptions,
    ) -> Result<Info, SimError> {
        if let Some(seed) = seed {
            // a seed restarts everything random and every schedule (the
            // alternating direction, the round-robin start), so the same
            // seed replays the same episodes (Gymnasium's contract)
            self.rng = ChaCha8Rng::seed_from_u64(seed);
            self.scenery_rng = scenery_stream(seed);
            self.episodes_started = 0;
        }
        if let Some(p) = options.start_position
            && !(p.is_finite() && (0.0..1.0).contains(&p))
        {
            return Err(SimError::Config {
                field: "reset options start_position".into(),
                problem: format!("{p} must be a fraction of the lap in [0, 1)"),
            });
        }
        let episode = self.episodes_started;
        self.episodes_started += 1;
        if !self.track_pool.is_empty() {
            let k = (self.pool_offset as u64 + episode / self.switch_every)
                % self.track_pool.len() as u64;
            self.assets = self.track_pool[k as usize].clone();
        }
        let track = Arc::clone(&self.assets.track);
        let len = track.length();
        let sc = &self.cfg.start;
        let mut direction = options
            .direction
            .or(sc.direction)
            .unwrap_or(track.start().direction);
        if options.direction.is_none() && sc.alternate_driving_direction && episode % 2 == 1 {
            direction = direction.flipped();
        }
        let sign = direction.sign();
        let mut start_s = options
            .start_position
            .map(|f| f * len)
            .or(sc.start_position.map(|f| f * len))
            .unwrap_or(track.start().s);
        if options.start_position.is_none() {
            if sc.random_start {
                start_s = self.rng.random_range(0.0..len);
            } else if sc.change_start_position {
                let advance = sc.round_robin_advance_dist.unwrap_or(0.05);
                start_s += sign * (episode as f64 * advance).fract() * len;
            }
        }
        if track.is_closed() {
            start_s = start_s.rem_euclid(len);
        } else {
            // an open strip driven against its own direction starts from
            // the other end
            if direction != track.start().direction && options.start_position.is_none() {
                start_s = len - start_s;
            }
            // leave room for the car on an open strip
            start_s = start_s.clamp(0.0, len);
        }
        let wb = self.cfg.vehicle.wheelbase;
        let centre_s = start_s + sign * wb / 2.0;
        let position = track.to_world(centre_s, 0.0);
        let yaw = wrap_angle(track.heading_at(centre_s) + if sign < 0.0 { PI } else { 0.0 });
        self.objects = Objects::place(
            &track,
            &self.cfg.obstacles,
            &self.cfg.bots,
            start_s,
            sign,
            &mut self.rng,
        );
        let boxes: Vec<(BoxBody, bool)> = self
            .objects
            .obstacles
            .iter()
            .map(|o| (o.body, false))
            .chain(self.objects.bots.iter().map(|b| (b.body, true)))
            .collect();
        self.drawn = self
            .cfg
            .physics_randomization
            .draw(&self.cfg.vehicle, &mut self.rng);
        self.actuation = Actuation::new(&self.drawn, self.cfg.vehicle.min_speed);
        self.physics = Some(Vehicle::new(
            &self.drawn.vehicle,
            self.cfg.physics.dt(),
            position,
            yaw,
            &boxes,
        ));
        let jitter = self.draw_jitter();
        self.draw_scenery(&track);
        let reference = track.to_frenet(self.reference_point(&self.car_state()));
        let fraction = track.progress(reference.s, start_s, direction);
        self.ep = Some(Episode {
            step: 0,
            start_s,
            direction,
            laps: 0,
            crossings: 0,
            prev_fraction: fraction,
            prev_total: fraction,
            reversed_count: 0,
            immobile_count: 0,
            lap_times: Vec::new(),
            lap_started: 0.0,
            done: false,
            jitter,
        });
        let state = self.car_state();
        let (params, wheels) = self.params(&state, (0.0, 0.0), false, fraction);
        self.observe(&state, false);
        Ok(self.info(params, EpisodeStatus::Prepare, wheels, state, (0.0, 0.0)))
    }

    fn car_state(&self) -> CarState {
        self.physics
            .as_ref()
            .map(Vehicle::state)
            .unwrap_or(CarState {
                position: Vec2::ZERO,
                height: 0.0,
                yaw: 0.0,
                pitch: 0.0,
                roll: 0.0,
                speed: 0.0,
                velocity: Vec2::ZERO,
                steering: 0.0,
                wheels: [Vec2::ZERO; 4],
            })
    }

    fn reference_point(&self, s: &CarState) -> Vec2 {
        s.point_ahead(REFERENCE_AHEAD_OF_REAR_AXLE - self.cfg.vehicle.wheelbase / 2.0)
    }

    /// Advances one action step.
    ///
    /// # Errors
    /// [`SimError::NeedsReset`] before a reset or after the episode ended;
    /// [`SimError::Action`] for an action outside the space (NaN included);
    /// [`SimError::Reward`] when the reward function fails or returns a
    /// value DeepRacer would reject (the run must stop).
    pub fn step(&mut self, action: &Action) -> Result<Transition, SimError> {
        let (reward, terminated, truncated, info) = self.step_in_place(action)?;
        Ok(Transition {
            observation: self.obs.clone(),
            reward,
            terminated,
            truncated,
            info,
        })
    }

    /// [`RaceEnv::step`] without copying the observation (see
    /// [`RaceEnv::observation`]): `(reward, terminated, truncated, info)`.
    ///
    /// # Errors
    /// As [`RaceEnv::step`].
    pub fn step_in_place(&mut self, action: &Action) -> Result<(f64, bool, bool, Info), SimError> {
        match &self.ep {
            None => return Err(SimError::NeedsReset("no episode has started")),
            Some(ep) if ep.done => return Err(SimError::NeedsReset("the episode has ended")),
            _ => {}
        }
        let (steer_deg, speed) = self.action_space.resolve(action)?;
        let speed_cmd = speed.clamp(self.cfg.vehicle.min_speed, self.cfg.vehicle.max_speed);
        // what reaches the car: the command as sent, or through the drawn
        // servo trim, noise and latency
        let (steer_car, speed_car) = if self.cfg.physics_randomization.enabled {
            self.actuation.command(
                &self.cfg.physics_randomization,
                &self.drawn,
                (steer_deg, speed_cmd),
                &mut self.rng,
            )
        } else {
            (steer_deg, speed_cmd)
        };
        let dt = self.cfg.physics.dt();
        let track = Arc::clone(&self.assets.track);
        let physics_started = Instant::now();
        for _ in 0..self.cfg.physics.substeps {
            if !self.objects.bots.is_empty() {
                self.objects
                    .advance(&track, &self.cfg.bots, dt, &mut self.rng);
                let n_obstacles = self.objects.obstacles.len();
                if let Some(physics) = self.physics.as_mut() {
                    for (i, bot) in self.objects.bots.iter().enumerate() {
                        physics.move_object(
                            n_obstacles + i,
                            bot.body.center,
                            bot.body.yaw,
                            bot.body.size[2],
                        );
                    }
                }
            }
            if let Some(physics) = self.physics.as_mut() {
                physics.step(steer_car.to_radians(), speed_car);
            }
        }
        self.timings.physics_s += physics_started.elapsed().as_secs_f64();
        self.timings.steps += 1;
        let state = self.car_state();
        let ep = self.ep.as_mut().expect("checked above");
        ep.step += 1;
        let step = ep.step;
        let episode = self.episodes_started - 1;
        if !(state.position.is_finite() && state.yaw.is_finite() && state.speed.is_finite()) {
            ep.done = true;
            return Err(SimError::Physics { episode, step });
        }
        let reference = track.to_frenet(self.reference_point(&state));
        let action_hz = self.cfg.physics.action_hz;
        let ep = self.ep.as_mut().expect("checked above");
        let fraction = ep.advance(
            &track,
            reference.s,
            step,
            action_hz,
            state.speed,
            &self.cfg.episode,
        );
        let lap_done = ep.laps >= self.cfg.episode.laps;
        let shown_fraction = if lap_done { 1.0 } else { fraction };
        let crashed = self.physics.as_ref().is_some_and(Vehicle::touching_object);
        let (mut params, wheels) = self.params(&state, (steer_deg, speed), crashed, shown_fraction);
        let ep = self.ep.as_ref().expect("checked above");
        let status = ep.status(
            &self.cfg.episode,
            lap_done,
            crashed,
            params.is_offtrack,
            step,
        );
        params.steps = step;
        let reward_started = Instant::now();
        let value = self
            .reward
            .reward(&params)
            .and_then(|r| check_reward(self.reward.name(), r));
        self.timings.reward_s += reward_started.elapsed().as_secs_f64();
        let mut reward = match value {
            Ok(r) => r,
            Err(source) => {
                if let Some(ep) = self.ep.as_mut() {
                    ep.done = true;
                }
                return Err(SimError::Reward {
                    episode,
                    step,
                    params: params.summary(),
                    source,
                });
            }
        };
        if status.is_failure()
            && let Some(r) = self.cfg.episode.failure_reward
        {
            reward = r;
        }
        let terminated = status != EpisodeStatus::InProgress && status != EpisodeStatus::TimeUp;
        let truncated = status == EpisodeStatus::TimeUp;
        if let Some(ep) = self.ep.as_mut() {
            ep.done = terminated || truncated;
        }
        let render_started = Instant::now();
        let pr = &self.cfg.physics_randomization;
        let drop_frame = pr.enabled && pr.frame_drop > 0.0 && self.rng.random_bool(pr.frame_drop);
        self.observe(&state, drop_frame);
        self.timings.render_s += render_started.elapsed().as_secs_f64();
        let info = self.info(params, status, wheels, state, (steer_deg, speed));
        Ok((reward, terminated, truncated, info))
    }

    fn info(
        &self,
        params: RewardParams,
        status: EpisodeStatus,
        wheels: [bool; 4],
        car: CarState,
        action: (f64, f64),
    ) -> Info {
        let ep = self.ep.as_ref();
        Info {
            params,
            episode_status: status,
            episode: self.episodes_started.saturating_sub(1),
            laps: ep.map_or(0, |e| e.laps),
            lap_times: ep.map_or_else(Vec::new, |e| e.lap_times.clone()),
            time: ep.map_or(0.0, |e| e.step as f64 / self.cfg.physics.action_hz),
            wheels_on_track: wheels,
            car,
            action,
            track: Arc::clone(&self.assets.name),
        }
    }
}
