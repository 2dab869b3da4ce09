//! `RaceEnv`: one car on one track, with Gymnasium's contract
//! (`reset(seed)` -> observation, info; `step(action)` -> observation,
//! reward, terminated, truncated, info) and DeepRacer's params and rules.

use crate::camera::{CameraPose, CameraRenderer, DrawBox, GroundTexture};
use crate::config::SimConfig;
use crate::error::SimError;
use crate::objects::{Objects, ray_boxes};
use crate::vehicle::{BoxBody, CarState, Vehicle};
use chicane_core::{Action, ActionSpace, Vec2, wrap_angle, wrap_deg};
use chicane_reward::{RewardFunction, RewardParams, check_reward};
use chicane_tracks::{Direction, Track};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::PI;
use std::sync::Arc;

/// DeepRacer reports the car's position 0.14 m ahead of the rear axle.
pub const REFERENCE_AHEAD_OF_REAR_AXLE: f64 = 0.14;

/// DeepRacer's episode statuses (`deepracer_simapp` `EpisodeStatus`), as
/// written in sim-traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpisodeStatus {
    /// Reset, no step taken yet.
    Prepare,
    /// Driving.
    InProgress,
    /// All four wheels left the track.
    OffTrack,
    /// Hit an obstacle or a bot car.
    Crashed,
    /// Progress fell for too many steps in a row.
    Reversed,
    /// Barely moved for too many steps in a row.
    Immobilized,
    /// Completed the configured laps.
    LapComplete,
    /// Reached the step cap (truncated, not terminated).
    TimeUp,
}

impl EpisodeStatus {
    /// DeepRacer's string for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            EpisodeStatus::Prepare => "prepare",
            EpisodeStatus::InProgress => "in_progress",
            EpisodeStatus::OffTrack => "off_track",
            EpisodeStatus::Crashed => "crashed",
            EpisodeStatus::Reversed => "reversed",
            EpisodeStatus::Immobilized => "immobilized",
            EpisodeStatus::LapComplete => "lap_complete",
            EpisodeStatus::TimeUp => "time_up",
        }
    }

    /// Whether the episode failed (the car must be reset).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            EpisodeStatus::OffTrack
                | EpisodeStatus::Crashed
                | EpisodeStatus::Reversed
                | EpisodeStatus::Immobilized
        )
    }
}

/// What the car senses.
///
/// # Shapes
/// `camera`: `[C, H, W]` u8, channel-planar, `C` = 1 gray, 3 RGB, doubled
/// for stereo (left camera first). `lidar`: `[beams]` or `[sectors]` f32
/// distances (m).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    /// Camera frame(s); empty without a camera.
    pub camera: Vec<u8>,
    /// Lidar distances (m); empty without a lidar.
    pub lidar: Vec<f32>,
}

/// The shape of observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationSpace {
    /// `(channels, height, width)` of the camera, if any; values 0..=255.
    pub camera: Option<(usize, usize, usize)>,
    /// Number of lidar values, if any; values in `[min_range, max_range]` m.
    pub lidar: Option<usize>,
}

/// Per-step information besides the observation and reward.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// DeepRacer's params of this step.
    pub params: RewardParams,
    /// DeepRacer's episode status.
    pub episode_status: EpisodeStatus,
    /// Episode index (0-based, counts resets).
    pub episode: u64,
    /// Laps completed this episode.
    pub laps: u32,
    /// Time of each completed lap (s), in simulated time.
    pub lap_times: Vec<f64>,
    /// Simulated time since the reset (s).
    pub time: f64,
    /// Which wheels are on the track: front-left, front-right, rear-left, rear-right.
    pub wheels_on_track: [bool; 4],
    /// The car's state.
    pub car: CarState,
    /// The action's steering angle (deg) and speed (m/s) this step.
    pub action: (f64, f64),
}

/// One `step`'s result.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The observation after the step.
    pub observation: Observation,
    /// The reward.
    pub reward: f64,
    /// The episode ended by the rules (off track, crashed, reversed,
    /// immobilized, lap complete).
    pub terminated: bool,
    /// The episode was cut by the step cap.
    pub truncated: bool,
    /// Everything else.
    pub info: Info,
}

/// Options for one `reset` (overriding the config for that episode).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ResetOptions {
    /// Start at this fraction of the lap from waypoint 0.
    pub start_position: Option<f64>,
    /// Drive this way.
    pub direction: Option<Direction>,
}

/// Read-only data shared by every env on one track and config: the track
/// and its ground textures.
#[derive(Debug, Clone)]
pub struct EnvAssets {
    track: Arc<Track>,
    textures: Arc<Vec<GroundTexture>>,
    waypoints: [Arc<Vec<[f64; 2]>>; 2],
}

impl EnvAssets {
    /// Builds the textures for `cfg`'s camera (three line-width variants
    /// when that randomisation is on).
    pub fn new(track: Arc<Track>, cfg: &SimConfig) -> EnvAssets {
        let textures = match &cfg.camera {
            None => Vec::new(),
            Some(cam) => {
                let dr = &cfg.domain_randomization;
                let scales: Vec<f64> = if dr.enabled && dr.line_width > 0.0 {
                    vec![1.0, 1.0 - dr.line_width, 1.0 + dr.line_width]
                } else {
                    vec![1.0]
                };
                scales
                    .iter()
                    .map(|&k| GroundTexture::new(&track, cam.rgb, k))
                    .collect()
            }
        };
        let fwd: Vec<[f64; 2]> = track.waypoints().iter().map(|p| [p.x, p.y]).collect();
        let rev: Vec<[f64; 2]> = fwd.iter().rev().copied().collect();
        EnvAssets {
            track,
            textures: Arc::new(textures),
            waypoints: [Arc::new(fwd), Arc::new(rev)],
        }
    }

    /// The track.
    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }

    /// Memory shared by all envs using these assets (bytes).
    pub fn memory_bytes(&self) -> usize {
        self.textures.iter().map(GroundTexture::memory_bytes).sum()
    }
}

/// Per-episode camera randomisation draws.
#[derive(Debug, Clone, Copy, Default)]
struct FrameJitter {
    gain: [f32; 3],
    offset: f32,
    noise: f32,
    blur: bool,
    texture: usize,
    mount: [f64; 3], // height (m), pitch (rad), yaw (rad)
    /// Seeds the per-episode texture jitter and sensor noise.
    texture_seed: u64,
    /// Texture jitter amplitude (grey levels).
    texture_amplitude: f32,
}

#[derive(Debug, Clone)]
struct Episode {
    step: u64,
    start_s: f64,
    direction: Direction,
    laps: u32,
    crossings: i64,
    prev_fraction: f64,
    prev_total: f64,
    reversed_count: u32,
    immobile_count: u32,
    lap_times: Vec<f64>,
    lap_started: f64,
    done: bool,
    jitter: FrameJitter,
}

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
        })
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

    /// Starts a new episode. With `seed`, the env's random stream restarts
    /// from it (Gymnasium's semantics); without, it continues.
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
        if let Some(seed) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(seed);
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
        self.physics = Some(Vehicle::new(
            &self.cfg.vehicle,
            self.cfg.physics.dt(),
            position,
            yaw,
            &boxes,
        ));
        let jitter = self.draw_jitter();
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
        self.observe(&state);
        Ok(self.info(params, EpisodeStatus::Prepare, wheels, state, (0.0, 0.0)))
    }

    fn draw_jitter(&mut self) -> FrameJitter {
        let dr = self.cfg.domain_randomization.clone();
        let mut j = FrameJitter {
            gain: [1.0; 3],
            ..FrameJitter::default()
        };
        if !dr.enabled {
            return j;
        }
        let rng = &mut self.rng;
        let mut sym = |m: f64| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        let contrast = 1.0 + sym(dr.contrast);
        let mut gain = [0.0f32; 3];
        for g in &mut gain {
            *g = (contrast * (1.0 + sym(dr.color))) as f32;
        }
        j.gain = gain;
        j.offset = (sym(dr.brightness) * 255.0) as f32;
        j.noise = dr.noise as f32;
        j.mount = [
            sym(dr.mount_height),
            sym(dr.mount_pitch_deg).to_radians(),
            sym(dr.mount_yaw_deg).to_radians(),
        ];
        j.blur = dr.blur > 0.0 && self.rng.random_bool(dr.blur.min(1.0));
        j.texture = if self.assets.textures.len() > 1 {
            self.rng.random_range(0..self.assets.textures.len())
        } else {
            0
        };
        j.texture_seed = self.rng.random::<u64>() | 1;
        j.texture_amplitude = dr.texture as f32;
        j
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
        let dt = self.cfg.physics.dt();
        let track = Arc::clone(&self.assets.track);
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
                physics.step(steer_deg.to_radians(), speed_cmd);
            }
        }
        let state = self.car_state();
        let ep = self.ep.as_mut().expect("checked above");
        ep.step += 1;
        let step = ep.step;
        let episode = self.episodes_started - 1;
        if !(state.position.is_finite() && state.yaw.is_finite() && state.speed.is_finite()) {
            ep.done = true;
            return Err(SimError::Physics { episode, step });
        }
        // progress and laps
        let reference = track.to_frenet(self.reference_point(&state));
        let ep = self.ep.as_mut().expect("checked above");
        let fraction = track.progress(reference.s, ep.start_s, ep.direction);
        // a signed count of start-line crossings, so that driving back over
        // the line undoes a lap and progress stays continuous
        if track.is_closed() {
            if ep.prev_fraction > 0.75 && fraction < 0.25 {
                ep.crossings += 1;
                if ep.crossings > ep.laps as i64 {
                    ep.laps += 1;
                    let now = step as f64 / self.cfg.physics.action_hz;
                    ep.lap_times.push(now - ep.lap_started);
                    ep.lap_started = now;
                }
            } else if ep.prev_fraction < 0.25 && fraction > 0.75 {
                ep.crossings -= 1;
            }
        } else if fraction >= 1.0 && ep.laps == 0 {
            ep.laps = 1;
            ep.crossings = 1;
            ep.lap_times.push(step as f64 / self.cfg.physics.action_hz);
        }
        let total = if track.is_closed() {
            ep.crossings as f64 + fraction
        } else {
            fraction
        };
        if total < ep.prev_total - 1e-9 {
            ep.reversed_count += 1;
        } else {
            ep.reversed_count = 0;
        }
        if state.speed.abs() < self.cfg.episode.immobilized_speed {
            ep.immobile_count += 1;
        } else {
            ep.immobile_count = 0;
        }
        ep.prev_fraction = fraction;
        ep.prev_total = total;
        let lap_done = ep.laps >= self.cfg.episode.laps;
        let shown_fraction = if lap_done { 1.0 } else { fraction };
        let crashed = self.physics.as_ref().is_some_and(Vehicle::touching_object);
        let (mut params, wheels) = self.params(&state, (steer_deg, speed), crashed, shown_fraction);
        let ep = self.ep.as_ref().expect("checked above");
        let status = if lap_done {
            EpisodeStatus::LapComplete
        } else if crashed {
            EpisodeStatus::Crashed
        } else if params.is_offtrack {
            EpisodeStatus::OffTrack
        } else if ep.reversed_count >= self.cfg.episode.reversed_steps {
            EpisodeStatus::Reversed
        } else if ep.immobile_count >= self.cfg.episode.immobilized_steps {
            EpisodeStatus::Immobilized
        } else if step >= self.cfg.episode.max_steps {
            EpisodeStatus::TimeUp
        } else {
            EpisodeStatus::InProgress
        };
        params.steps = step;
        let value = self
            .reward
            .reward(&params)
            .and_then(|r| check_reward(self.reward.name(), r));
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
        self.observe(&state);
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
        }
    }

    /// DeepRacer's params for the car standing at `position` (chassis
    /// centre, m) facing `yaw` (rad) with `action` = (steering deg, speed
    /// m/s), in the current episode's frame (start and direction), as if it
    /// were step 1. For reward heat maps and tests; needs a reset first.
    pub fn params_at(&self, position: Vec2, yaw: f64, action: (f64, f64)) -> RewardParams {
        let v = self.cfg.vehicle.clone();
        let fwd = Vec2::from_angle(yaw);
        let left = fwd.perp();
        let (hx, hy) = (v.wheelbase / 2.0, v.track_width / 2.0);
        let state = CarState {
            position,
            height: v.wheel_radius,
            yaw,
            pitch: 0.0,
            roll: 0.0,
            speed: action.1,
            velocity: fwd * action.1,
            steering: action.0.to_radians(),
            wheels: [
                position + fwd * hx + left * hy,
                position + fwd * hx - left * hy,
                position - fwd * hx + left * hy,
                position - fwd * hx - left * hy,
            ],
        };
        let (start_s, direction) = self
            .ep
            .as_ref()
            .map_or((0.0, Direction::Forward), |e| (e.start_s, e.direction));
        let reference = self.assets.track.to_frenet(self.reference_point(&state));
        let fraction = self.assets.track.progress(reference.s, start_s, direction);
        let (mut params, _) = self.params(&state, action, false, fraction);
        params.steps = 1;
        params
    }

    /// DeepRacer's params for the car state, in the driving direction's frame.
    fn params(
        &self,
        state: &CarState,
        action: (f64, f64),
        crashed: bool,
        fraction: f64,
    ) -> (RewardParams, [bool; 4]) {
        let track = &self.assets.track;
        let ep = self.ep.as_ref();
        let direction = ep.map_or(Direction::Forward, |e| e.direction);
        let reverse = direction == Direction::Reverse;
        let reference = self.reference_point(state);
        let f = track.to_frenet(reference);
        let mut wheels = [false; 4];
        for (on, w) in wheels.iter_mut().zip(state.wheels) {
            let wf = track.to_frenet(w);
            *on = wf.d <= track.left_width_at(wf.s) && -wf.d <= track.right_width_at(wf.s);
        }
        let n = track.num_waypoints();
        let [prev, next] = track.closest_waypoints(f.s);
        let closest_waypoints = if reverse {
            [n - 1 - next, n - 1 - prev]
        } else {
            [prev, next]
        };
        let len = track.length();
        let along = |s: f64| {
            if reverse {
                (len - s).rem_euclid(len)
            } else {
                s
            }
        };
        let car_along = along(f.s);
        // objects, in the driving frame
        let mut objects_location = Vec::new();
        let mut objects_left_of_center = Vec::new();
        let mut objects_speed = Vec::new();
        let mut objects_heading = Vec::new();
        let mut objects_distance = Vec::new();
        let mut objects_distance_from_center = Vec::new();
        let push = |s: f64,
                    d: f64,
                    b: &BoxBody,
                    speed: f64,
                    loc: &mut Vec<[f64; 2]>,
                    left: &mut Vec<bool>,
                    spd: &mut Vec<f64>,
                    hd: &mut Vec<f64>,
                    dist: &mut Vec<f64>,
                    dfc: &mut Vec<f64>| {
            loc.push([b.center.x, b.center.y]);
            left.push(if reverse { d < 0.0 } else { d > 0.0 });
            spd.push(speed);
            hd.push(wrap_deg(b.yaw.to_degrees()));
            dist.push(along(s));
            dfc.push(d.abs());
        };
        for o in &self.objects.obstacles {
            push(
                o.s,
                o.d,
                &o.body,
                0.0,
                &mut objects_location,
                &mut objects_left_of_center,
                &mut objects_speed,
                &mut objects_heading,
                &mut objects_distance,
                &mut objects_distance_from_center,
            );
        }
        for b in &self.objects.bots {
            push(
                b.s,
                b.d,
                &b.body,
                b.speed,
                &mut objects_location,
                &mut objects_left_of_center,
                &mut objects_speed,
                &mut objects_heading,
                &mut objects_distance,
                &mut objects_distance_from_center,
            );
        }
        let mut closest_objects = [0usize, 0usize];
        let mut object_in_camera = false;
        if !objects_distance.is_empty() {
            let ahead = |d: f64| (d - car_along).rem_euclid(len);
            let next_obj = (0..objects_distance.len())
                .min_by(|&a, &b| ahead(objects_distance[a]).total_cmp(&ahead(objects_distance[b])))
                .unwrap_or(0);
            let prev_obj = (0..objects_distance.len())
                .max_by(|&a, &b| ahead(objects_distance[a]).total_cmp(&ahead(objects_distance[b])))
                .unwrap_or(0);
            closest_objects = [prev_obj, next_obj];
            if let Some(cam) = &self.cfg.camera {
                let to = Vec2::from(objects_location[next_obj]) - state.position;
                let angle = wrap_angle(to.angle() - state.yaw).abs();
                object_in_camera = to.length() < 10.0 && angle < cam.fov_deg.to_radians() / 2.0;
            }
        }
        let params = RewardParams {
            all_wheels_on_track: wheels.iter().all(|&w| w),
            x: reference.x,
            y: reference.y,
            heading: wrap_deg(state.yaw.to_degrees()),
            distance_from_center: f.d.abs(),
            is_left_of_center: if reverse { f.d < 0.0 } else { f.d > 0.0 },
            is_offtrack: wheels.iter().all(|&w| !w),
            is_crashed: crashed,
            is_reversed: reverse,
            closest_waypoints,
            progress: 100.0 * fraction,
            speed: action.1,
            steering_angle: action.0,
            steps: ep.map_or(0, |e| e.step),
            track_length: len,
            track_width: track.width_at(f.s),
            waypoints: Arc::clone(&self.assets.waypoints[usize::from(reverse)]),
            closest_objects,
            objects_location,
            objects_left_of_center,
            objects_speed,
            objects_heading,
            objects_distance,
            objects_distance_from_center,
            object_in_camera,
            projection_distance: car_along,
        };
        (params, wheels)
    }

    /// Renders the sensors for `state` into `self.obs`.
    fn observe(&mut self, state: &CarState) {
        let Some(jitter) = self.ep.as_ref().map(|e| e.jitter) else {
            return;
        };
        self.boxes.clear();
        self.boxes.extend(self.objects.boxes());
        if let (Some(cam), Some(renderer)) = (&self.cfg.camera, self.renderer.as_mut()) {
            let tex = &self.assets.textures[jitter.texture];
            let rest_height =
                self.cfg.vehicle.wheel_radius + self.cfg.vehicle.suspension_rest_length;
            let body = [state.position.x, state.position.y, state.height];
            let per = tex.channels() * cam.width as usize * cam.height as usize;
            let lenses: &[f64] = if cam.stereo { &[0.5, -0.5] } else { &[0.0] };
            let n_obstacles = self.objects.obstacles.len();
            let draw: Vec<DrawBox> = self
                .boxes
                .iter()
                .enumerate()
                .map(|(i, b)| DrawBox {
                    body: *b,
                    color: if i < n_obstacles {
                        [236, 236, 228]
                    } else {
                        [40, 110, 220]
                    },
                })
                .collect();
            renderer.set_texture_jitter(Some((jitter.texture_seed, jitter.texture_amplitude)));
            for (i, side) in lenses.iter().enumerate() {
                let mount = [
                    cam.mount_forward,
                    side * cam.stereo_baseline,
                    cam.mount_height + jitter.mount[0] - rest_height,
                ];
                let pose = CameraPose::on_body(
                    body,
                    state.yaw + jitter.mount[2],
                    state.pitch,
                    state.roll,
                    mount,
                    cam.pitch_deg.to_radians() + jitter.mount[1],
                );
                renderer.render(
                    tex,
                    &pose,
                    &draw,
                    &mut self.obs.camera[i * per..(i + 1) * per],
                );
            }
            if self.cfg.domain_randomization.enabled {
                let step = self.ep.as_ref().map_or(0, |e| e.step);
                postprocess(
                    &mut self.obs.camera,
                    &mut self.scratch,
                    cam.width as usize,
                    cam.height as usize,
                    &jitter,
                    step,
                );
            }
        }
        if let Some(lidar) = &self.cfg.lidar {
            let fov = lidar.fov_deg.to_radians();
            let beams = lidar.beams;
            let origin = state.position;
            let mut readings = Vec::with_capacity(beams);
            for k in 0..beams {
                let a = if beams == 1 {
                    0.0
                } else {
                    -fov / 2.0 + fov * k as f64 / (beams - 1) as f64
                };
                let dir = Vec2::from_angle(state.yaw + a);
                let r =
                    ray_boxes(origin, dir, &self.boxes, lidar.max_range).unwrap_or(lidar.max_range);
                readings.push(r.clamp(lidar.min_range, lidar.max_range) as f32);
            }
            match lidar.sectors {
                None => self.obs.lidar.copy_from_slice(&readings),
                Some(sectors) => {
                    for (i, out) in self.obs.lidar.iter_mut().enumerate() {
                        let (a, b) = (
                            i * beams / sectors,
                            ((i + 1) * beams / sectors).max(i * beams / sectors + 1),
                        );
                        *out = readings[a..b.min(beams)]
                            .iter()
                            .copied()
                            .fold(f32::INFINITY, f32::min);
                    }
                }
            }
        }
    }
}

/// Applies the episode's colour, noise and blur randomisation.
fn postprocess(
    frame: &mut [u8],
    scratch: &mut Vec<u8>,
    w: usize,
    h: usize,
    j: &FrameJitter,
    step: u64,
) {
    let plane = w * h;
    let channels = frame.len() / plane;
    // a small, fast, deterministic generator for per-pixel noise
    let mut state =
        j.texture_seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // sum of two uniforms: a cheap bell-shaped noise in [-1, 1]
        ((state & 0xffff) as f32 + ((state >> 16) & 0xffff) as f32) / 65535.0 - 1.0
    };
    for c in 0..channels {
        let gain = j.gain[c % 3];
        for v in &mut frame[c * plane..(c + 1) * plane] {
            let mut x = (*v as f32 - 128.0) * gain + 128.0 + j.offset;
            if j.noise > 0.0 {
                x += next() * j.noise * 1.7;
            }
            *v = x.round().clamp(0.0, 255.0) as u8;
        }
    }
    if j.blur {
        scratch.resize(frame.len(), 0);
        scratch.copy_from_slice(frame);
        for c in 0..channels {
            let src = &scratch[c * plane..(c + 1) * plane];
            let dst = &mut frame[c * plane..(c + 1) * plane];
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0u32;
                    let mut n = 0u32;
                    for yy in y.saturating_sub(1)..(y + 2).min(h) {
                        for xx in x.saturating_sub(1)..(x + 2).min(w) {
                            sum += src[yy * w + xx] as u32;
                            n += 1;
                        }
                    }
                    dst[y * w + x] = ((sum + n / 2) / n) as u8;
                }
            }
        }
    }
}
