//! From policy output to steering and throttle, as DeepRacer's car does it.
//!
//! - Discrete action spaces: the most likely action (arg-max of the
//!   probabilities). Continuous: the model's mean action (the clipped
//!   Gaussian's mean, computed in the graph), clamped to `[-1, 1]` and
//!   mapped linearly onto the space's ranges (as in training).
//! - Steering is normalised by the model's own maximum steering angle
//!   (`model_metadata.json`), positive = left.
//! - Throttle comes from speed through DeepRacer's curve
//!   `throttle = a v^2 + b v`, whose coefficients map the model's maximum
//!   speed `v_max` to 1.0 and `v_max / 2` to 0.8 (aws-deepracer-navigation-pkg,
//!   `deepracer_navigation_node.py`, `DEFAULT_SPEED_SCALES = [1.0, 0.8]`),
//!   times a user scale (the DeepRacer console's maximum speed percentage),
//!   then capped by `max_throttle`.

use crate::error::CarError;
use chicane_bundle::OutputKind;
use chicane_core::ActionSpace;

/// DeepRacer's speed scales for `v_max` and `v_max / 2` (navigation package).
pub const DEFAULT_SPEED_SCALES: [f64; 2] = [1.0, 0.8];

/// `a`, `b` of `throttle = a v^2 + b v` for a model whose fastest action is
/// `max_speed` (m/s).
pub fn speed_curve(max_speed: f64) -> (f64, f64) {
    let [s1, s2] = DEFAULT_SPEED_SCALES;
    let m = max_speed.max(1e-6);
    ((2.0 * s1 - 4.0 * s2) / (m * m), (4.0 * s2 - s1) / m)
}

/// DeepRacer's throttle for `speed` (m/s), in `[0, ~1]` before scaling.
pub fn speed_to_throttle(speed: f64, max_speed: f64) -> f64 {
    let (a, b) = speed_curve(max_speed);
    let v = speed.max(0.0);
    a * v * v + b * v
}

/// The slowest speed (m/s) whose throttle is `throttle` (the inverse of
/// [`speed_to_throttle`] on its rising branch); throttles beyond the
/// curve's peak give the peak's speed.
pub fn throttle_to_speed(throttle: f64, max_speed: f64) -> f64 {
    let (a, b) = speed_curve(max_speed);
    let t = throttle.max(0.0);
    if a.abs() < 1e-12 {
        return t / b;
    }
    // a < 0: a v^2 + b v - t = 0, smaller root
    let disc = (b * b + 4.0 * a * t).max(0.0);
    (-b + disc.sqrt()) / (2.0 * a)
}

/// What the car is told to do: normalised servo and ESC values and the
/// physical targets they came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// Steering in `[-1, 1]`, positive = left.
    pub steering: f64,
    /// Throttle in `[-1, 1]`, positive = forward; 0 = neutral.
    pub throttle: f64,
    /// The steering angle this commands (deg, positive = left).
    pub steering_angle_deg: f64,
    /// The speed this commands (m/s), after the throttle cap.
    pub speed: f64,
}

impl Command {
    /// Wheels straight, motor stopped.
    pub const NEUTRAL: Command = Command {
        steering: 0.0,
        throttle: 0.0,
        steering_angle_deg: 0.0,
        speed: 0.0,
    };
}

/// How decisions become commands.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlConfig {
    /// The model's action space (`model_metadata.json`).
    pub action_space: ActionSpace,
    /// What the policy outputs.
    pub output: OutputKind,
    /// Scale on the throttle curve, DeepRacer's "maximum speed" percentage
    /// as a fraction. Default 1.0.
    pub throttle_scale: f64,
    /// Hard cap on the throttle in `[0, 1]`. Default 0.6.
    pub max_throttle: f64,
}

impl ControlConfig {
    /// Checks the user's values.
    ///
    /// # Errors
    /// [`CarError::Config`] naming the flag.
    pub fn validate(&self) -> Result<(), CarError> {
        if !(0.0..=1.0).contains(&self.max_throttle) {
            return Err(CarError::config(
                "--max-throttle",
                format!("{} must be within 0..1", self.max_throttle),
            ));
        }
        if !(self.throttle_scale > 0.0 && self.throttle_scale <= 1.0) {
            return Err(CarError::config(
                "--throttle-scale",
                format!("{} must be within (0, 1]", self.throttle_scale),
            ));
        }
        Ok(())
    }
}

/// One decision of the policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// The discrete action chosen (`None` for continuous spaces).
    pub action: Option<usize>,
    /// Its probability (discrete) or 1.0 (continuous).
    pub confidence: f32,
    /// The command for the actuators.
    pub command: Command,
}

/// Turns one policy output into a command.
///
/// # Shapes
/// `output`: `[A]` probabilities or the `[2]` mean action (steering, speed).
///
/// # Errors
/// [`CarError::Model`] for an output of the wrong length or with NaNs.
pub fn decide(cfg: &ControlConfig, output: &[f32]) -> Result<Decision, CarError> {
    if output.iter().any(|x| !x.is_finite()) {
        return Err(CarError::Model(format!(
            "the policy returned non-finite values {output:?}"
        )));
    }
    let (action, confidence, steering_deg, speed) = match (&cfg.action_space, cfg.output) {
        (ActionSpace::Discrete(list), OutputKind::Probabilities) if output.len() == list.len() => {
            let (i, p) = output
                .iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (i, p)| if p > best.1 { (i, p) } else { best },
                );
            let a = &list[i];
            (Some(i), p, a.steering_angle_deg, a.speed)
        }
        (
            ActionSpace::Continuous {
                steering_angle_deg,
                speed,
            },
            OutputKind::GaussianMean,
        ) if output.len() == 2 => {
            let map = |x: f32, lo: f64, hi: f64| {
                lo + (f64::from(x.clamp(-1.0, 1.0)) + 1.0) * 0.5 * (hi - lo)
            };
            (
                None,
                1.0,
                map(output[0], steering_angle_deg.low, steering_angle_deg.high),
                map(output[1], speed.low, speed.high),
            )
        }
        _ => {
            return Err(CarError::Model(format!(
                "{} policy outputs do not fit the action space",
                output.len()
            )));
        }
    };
    let max_steer = cfg.action_space.max_steering_deg();
    let steering = if max_steer > 0.0 {
        (steering_deg / max_steer).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let max_speed = cfg.action_space.max_speed();
    let curve = speed_to_throttle(speed, max_speed) * cfg.throttle_scale;
    let throttle = curve.min(cfg.max_throttle).clamp(0.0, 1.0);
    let speed = if throttle < curve {
        throttle_to_speed(throttle / cfg.throttle_scale, max_speed)
    } else {
        speed
    };
    Ok(Decision {
        action,
        confidence,
        command: Command {
            steering,
            throttle,
            steering_angle_deg: steering_deg,
            speed,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chicane_core::{DiscreteAction, Range};

    #[test]
    fn curve_maps_max_and_half_speed_to_deepracer_scales() {
        assert!((speed_to_throttle(4.0, 4.0) - 1.0).abs() < 1e-12);
        assert!((speed_to_throttle(2.0, 4.0) - 0.8).abs() < 1e-12);
        assert!((speed_to_throttle(0.0, 4.0)).abs() < 1e-12);
        for v in [0.1, 0.5, 1.0, 1.5, 2.0, 3.0] {
            let t = speed_to_throttle(v, 4.0);
            assert!((throttle_to_speed(t, 4.0) - v).abs() < 1e-9, "v {v}");
        }
    }

    fn discrete() -> ControlConfig {
        ControlConfig {
            action_space: ActionSpace::Discrete(vec![
                DiscreteAction {
                    steering_angle_deg: -30.0,
                    speed: 1.0,
                },
                DiscreteAction {
                    steering_angle_deg: 15.0,
                    speed: 2.0,
                },
            ]),
            output: OutputKind::Probabilities,
            throttle_scale: 1.0,
            max_throttle: 1.0,
        }
    }

    #[test]
    fn discrete_takes_argmax_and_normalises_steering() {
        let d = decide(&discrete(), &[0.3, 0.7]).unwrap();
        assert_eq!(d.action, Some(1));
        assert!((d.command.steering - 0.5).abs() < 1e-12);
        assert!((d.command.throttle - 1.0).abs() < 1e-12);
        assert!((d.command.speed - 2.0).abs() < 1e-12);
        let d = decide(&discrete(), &[0.9, 0.1]).unwrap();
        assert!((d.command.steering + 1.0).abs() < 1e-12);
        assert!((d.command.throttle - 0.8).abs() < 1e-12);
    }

    #[test]
    fn throttle_cap_limits_speed_too() {
        let mut cfg = discrete();
        cfg.max_throttle = 0.6;
        let d = decide(&cfg, &[0.0, 1.0]).unwrap();
        assert!((d.command.throttle - 0.6).abs() < 1e-12);
        assert!(d.command.speed < 2.0);
        assert!((speed_to_throttle(d.command.speed, 2.0) - 0.6).abs() < 1e-9);
    }

    #[test]
    fn continuous_maps_mean_linearly() {
        let cfg = ControlConfig {
            action_space: ActionSpace::Continuous {
                steering_angle_deg: Range {
                    low: -20.0,
                    high: 20.0,
                },
                speed: Range {
                    low: 0.5,
                    high: 1.5,
                },
            },
            output: OutputKind::GaussianMean,
            throttle_scale: 0.5,
            max_throttle: 1.0,
        };
        let d = decide(&cfg, &[0.5, 3.0]).unwrap();
        assert!((d.command.steering_angle_deg - 10.0).abs() < 1e-9);
        assert!((d.command.steering - 0.5).abs() < 1e-9);
        assert!((d.command.throttle - 0.5).abs() < 1e-9);
        assert!(decide(&cfg, &[f32::NAN, 0.0]).is_err());
        assert!(decide(&cfg, &[0.0]).is_err());
    }
}
