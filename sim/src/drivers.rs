//! Scripted drivers: pure pursuit along the centerline (the physics check,
//! every track's reference lap, a baseline for agents) and random actions.

use crate::env::{Info, RaceEnv};
use chicane_core::{Action, ActionSpace, Vec2, wrap_angle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Something that picks actions from the env's state.
pub trait Driver {
    /// The action for the current step, given the last step's info.
    fn act(&mut self, env: &RaceEnv, info: &Info) -> Action;
}

/// Pure pursuit (Coulter, "Implementation of the Pure Pursuit Path Tracking
/// Algorithm", CMU-RI-TR-92-01): steer the rear axle onto a circle through
/// a point on the centerline `lookahead` metres ahead, with a speed that
/// keeps lateral acceleration within `max_lateral_accel` over the curvature
/// ahead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurePursuit {
    /// Lookahead distance at standstill (m). Default 0.35.
    pub lookahead: f64,
    /// Extra lookahead per m/s of speed (s). Default 0.15.
    pub lookahead_per_speed: f64,
    /// Top speed (m/s). Default 4 (DeepRacer's limit).
    pub max_speed: f64,
    /// Lateral acceleration budget (m/s^2). Default 3.
    pub max_lateral_accel: f64,
    /// How far ahead curvature limits the speed (m). Default 1.5.
    pub preview: f64,
}

impl Default for PurePursuit {
    fn default() -> Self {
        Self {
            lookahead: 0.35,
            lookahead_per_speed: 0.15,
            max_speed: 4.0,
            max_lateral_accel: 3.0,
            preview: 1.5,
        }
    }
}

impl PurePursuit {
    /// The steering angle (deg) and speed (m/s) pure pursuit wants now.
    pub fn command(&self, env: &RaceEnv, info: &Info) -> (f64, f64) {
        let track = env.track();
        let car = &info.car;
        let wb = env.config().vehicle.wheelbase;
        let sign = if info.params.is_reversed { -1.0 } else { 1.0 };
        let rear = car.position - car.forward() * (wb / 2.0);
        let s = track.to_frenet(rear).s;
        let ld = self.lookahead + self.lookahead_per_speed * car.speed.max(0.0);
        let target = track.to_world(s + sign * ld, 0.0);
        let to: Vec2 = target - rear;
        let alpha = wrap_angle(to.angle() - car.yaw);
        let dist = to.length().max(1e-6);
        let steer = (2.0 * wb * alpha.sin() / dist).atan().to_degrees();
        let max_steer = env.config().vehicle.max_steering_angle_deg;
        let mut kappa: f64 = 0.0;
        let n = 12;
        for i in 0..=n {
            kappa = kappa.max(
                track
                    .curvature_at(s + sign * self.preview * i as f64 / n as f64)
                    .abs(),
            );
        }
        let speed = if kappa > 1e-9 {
            (self.max_lateral_accel / kappa).sqrt()
        } else {
            self.max_speed
        };
        (
            steer.clamp(-max_steer, max_steer),
            speed.clamp(0.1, self.max_speed),
        )
    }
}

/// The action of `space` closest to a wanted steering angle and speed
/// (continuous spaces clamp; discrete ones pick the nearest pair, steering
/// weighted by 1/30 deg and speed by 1/4 m/s).
pub fn nearest_action(space: &ActionSpace, steer_deg: f64, speed: f64) -> Action {
    match space {
        ActionSpace::Continuous {
            steering_angle_deg,
            speed: v,
        } => Action::Continuous {
            steering_angle_deg: steer_deg.clamp(steering_angle_deg.low, steering_angle_deg.high),
            speed: speed.clamp(v.low, v.high),
        },
        ActionSpace::Discrete(list) => {
            let cost = |a: &chicane_core::DiscreteAction| {
                ((a.steering_angle_deg - steer_deg) / 30.0).powi(2)
                    + ((a.speed - speed) / 4.0).powi(2)
            };
            let best = (0..list.len())
                .min_by(|&i, &j| cost(&list[i]).total_cmp(&cost(&list[j])))
                .unwrap_or(0);
            Action::Discrete(best)
        }
    }
}

impl Driver for PurePursuit {
    fn act(&mut self, env: &RaceEnv, info: &Info) -> Action {
        let (steer, speed) = self.command(env, info);
        nearest_action(env.action_space(), steer, speed)
    }
}

/// Uniformly random actions from a seeded generator.
#[derive(Debug, Clone)]
pub struct RandomDriver {
    rng: ChaCha8Rng,
}

impl RandomDriver {
    /// A random driver with its own seed.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Driver for RandomDriver {
    fn act(&mut self, env: &RaceEnv, _info: &Info) -> Action {
        match env.action_space() {
            ActionSpace::Discrete(list) => Action::Discrete(self.rng.random_range(0..list.len())),
            ActionSpace::Continuous {
                steering_angle_deg: s,
                speed: v,
            } => Action::Continuous {
                steering_angle_deg: self.rng.random_range(s.low..=s.high),
                speed: self.rng.random_range(v.low..=v.high),
            },
        }
    }
}
