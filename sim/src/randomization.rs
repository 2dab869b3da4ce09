//! Physics and actuation randomisation per episode: the car's grip, mass
//! and motor, a mis-trimmed and mis-scaled steering servo, late and noisy
//! commands, dropped camera frames. DeepRacer's sim-to-real paper
//! (Balaji et al. 2019, "DeepRacer: Educational Autonomous Racing Platform
//! for Experimentation with Sim2Real Reinforcement Learning", arXiv
//! 1911.01562, section 5) trained with up to 10 % action noise; the rest
//! are the ways a real 1/18 car differs from its model.

use crate::vehicle::VehicleConfig;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Physics randomisation, off by default. Scale factors are drawn once per
/// episode uniformly within `1 +- ` their magnitude, offsets within
/// `+-` theirs, the latency uniformly in `0..=action_latency_steps`;
/// action noise and frame drops are drawn every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PhysicsRandomization {
    /// Turn it all on or off. Default false.
    pub enabled: bool,
    /// Tyre grip (`vehicle.grip`, the friction coefficient) scale
    /// deviation, within 0..0.9, e.g. 0.15. Default 0.
    pub grip: f64,
    /// Mass (`vehicle.mass`) scale deviation, within 0..0.9, e.g. 0.1.
    /// Default 0.
    pub mass: f64,
    /// Motor response: the drive force and the speed controller's gain
    /// (`vehicle.max_drive_force`, `vehicle.speed_gain`) scaled together,
    /// deviation within 0..0.9, e.g. 0.2. Default 0.
    pub motor_response: f64,
    /// Steering offset (deg) added to every command of an episode (a servo
    /// trimmed off centre), within 0..10, e.g. 2. Default 0.
    pub steering_offset_deg: f64,
    /// Steering gain deviation: commands scaled by the drawn gain, within
    /// 0..0.5, e.g. 0.1. Default 0.
    pub steering_gain: f64,
    /// Action latency (agent steps): an episode's commands reach the car
    /// this many steps late, drawn in `0..=N`, N within 0..10, e.g. 2 (the
    /// paper's 0-2). Until then the car gets straight wheels at the
    /// slowest speed. Default 0.
    pub action_latency_steps: u32,
    /// Action noise: each step, uniform noise of up to this fraction of the
    /// car's steering limit and top speed is added to the command, within
    /// 0..0.5, e.g. 0.1 (the paper's 10 %). Default 0.
    pub action_noise: f64,
    /// Camera frame drops: the probability, each step, that the camera
    /// delivers its previous frame again, within 0..0.5, e.g. 0.05.
    /// Default 0.
    pub frame_drop: f64,
}

impl PhysicsRandomization {
    /// Every factor on, at the README's example values: grip 0.15, mass
    /// 0.1, motor 0.2, steering offset 2 deg and gain 0.1, latency up to 2
    /// steps and 10 % action noise (the paper's), 5 % frame drops.
    pub fn example() -> PhysicsRandomization {
        PhysicsRandomization {
            enabled: true,
            grip: 0.15,
            mass: 0.1,
            motor_response: 0.2,
            steering_offset_deg: 2.0,
            steering_gain: 0.1,
            action_latency_steps: 2,
            action_noise: 0.1,
            frame_drop: 0.05,
        }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// `(field, problem)` naming the field (as `physics_randomization.X`)
    /// and its allowed range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        crate::config::check_ranges(
            "physics_randomization",
            &[
                ("grip", self.grip, 0.0, 0.9),
                ("mass", self.mass, 0.0, 0.9),
                ("motor_response", self.motor_response, 0.0, 0.9),
                ("steering_offset_deg", self.steering_offset_deg, 0.0, 10.0),
                ("steering_gain", self.steering_gain, 0.0, 0.5),
                ("action_noise", self.action_noise, 0.0, 0.5),
                ("frame_drop", self.frame_drop, 0.0, 0.5),
            ],
        )?;
        if self.action_latency_steps > 10 {
            return Err((
                "physics_randomization.action_latency_steps".into(),
                format!(
                    "{} must be within 0..10 agent steps",
                    self.action_latency_steps
                ),
            ));
        }
        Ok(())
    }

    /// This episode's draw for the car `vehicle` (nothing is drawn, and
    /// the car is `vehicle` itself, when randomisation is off).
    pub fn draw(&self, vehicle: &VehicleConfig, rng: &mut ChaCha8Rng) -> EpisodePhysics {
        let mut ep = EpisodePhysics::nominal(vehicle);
        if !self.enabled {
            return ep;
        }
        let mut sym = |m: f64| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        ep.vehicle.grip *= 1.0 + sym(self.grip);
        ep.vehicle.mass *= 1.0 + sym(self.mass);
        let motor = 1.0 + sym(self.motor_response);
        ep.vehicle.max_drive_force *= motor;
        ep.vehicle.speed_gain *= motor;
        ep.steering_offset_deg = sym(self.steering_offset_deg);
        ep.steering_gain = 1.0 + sym(self.steering_gain);
        if self.action_latency_steps > 0 {
            ep.latency_steps = rng.random_range(0..=self.action_latency_steps);
        }
        ep
    }
}

/// One episode's drawn car and actuation.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodePhysics {
    /// The car this episode (grip, mass and motor scaled).
    pub vehicle: VehicleConfig,
    /// Added to every steering command (deg).
    pub steering_offset_deg: f64,
    /// Multiplies every steering command.
    pub steering_gain: f64,
    /// Agent steps between a command and the car acting on it.
    pub latency_steps: u32,
}

impl EpisodePhysics {
    /// `vehicle` as configured, commands as sent.
    pub fn nominal(vehicle: &VehicleConfig) -> EpisodePhysics {
        EpisodePhysics {
            vehicle: vehicle.clone(),
            steering_offset_deg: 0.0,
            steering_gain: 1.0,
            latency_steps: 0,
        }
    }
}

/// Commands on their way to the car: gain, offset, noise, then the
/// latency queue.
#[derive(Debug, Clone)]
pub(crate) struct Actuation {
    queue: VecDeque<(f64, f64)>,
}

impl Actuation {
    /// An empty pipeline for `ep`: `latency_steps` commands of straight
    /// wheels at `idle_speed` (m/s) queued ahead.
    pub(crate) fn new(ep: &EpisodePhysics, idle_speed: f64) -> Actuation {
        Actuation {
            queue: std::iter::repeat_n((0.0, idle_speed), ep.latency_steps as usize).collect(),
        }
    }

    /// The command `(steering deg, speed m/s)` the car gets this step when
    /// the agent sends `(steer_deg, speed)`, clamped to the car's limits.
    pub(crate) fn command(
        &mut self,
        cfg: &PhysicsRandomization,
        ep: &EpisodePhysics,
        (steer_deg, speed): (f64, f64),
        rng: &mut ChaCha8Rng,
    ) -> (f64, f64) {
        let v = &ep.vehicle;
        let (mut s, mut u) = (steer_deg * ep.steering_gain + ep.steering_offset_deg, speed);
        if cfg.enabled && cfg.action_noise > 0.0 {
            let n = cfg.action_noise;
            s += rng.random_range(-n..=n) * v.max_steering_angle_deg;
            u += rng.random_range(-n..=n) * v.max_speed;
        }
        let s = s.clamp(-v.max_steering_angle_deg, v.max_steering_angle_deg);
        let u = u.clamp(v.min_speed, v.max_speed);
        self.queue.push_back((s, u));
        self.queue.pop_front().unwrap_or((s, u))
    }
}
