//! Action spaces in DeepRacer's terms: steering angle (deg, positive =
//! left) and speed (m/s), discrete or continuous.

use serde::{Deserialize, Serialize};

/// DeepRacer's limits on an action space (`deepracer_simapp`
/// `model_metadata` validation, and the console): steering within +-30 deg,
/// speed 0.1 to 4 m/s, 2 to 30 discrete actions.
pub mod limits {
    /// Largest steering angle magnitude (deg).
    pub const MAX_STEERING_DEG: f64 = 30.0;
    /// Smallest speed (m/s).
    pub const MIN_SPEED: f64 = 0.1;
    /// Largest speed (m/s).
    pub const MAX_SPEED: f64 = 4.0;
    /// Fewest discrete actions.
    pub const MIN_DISCRETE_ACTIONS: usize = 2;
    /// Most discrete actions.
    pub const MAX_DISCRETE_ACTIONS: usize = 30;
}

/// One entry of a discrete action space, as in `model_metadata.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DiscreteAction {
    /// Steering angle (deg), positive = left. DeepRacer key `steering_angle`.
    #[serde(rename = "steering_angle")]
    pub steering_angle_deg: f64,
    /// Target speed (m/s). DeepRacer key `speed`.
    pub speed: f64,
}

/// A closed interval `[low, high]`, as DeepRacer writes continuous ranges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// An action space: a list of (steering, speed) pairs, or ranges.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// A fixed list of actions; the policy picks an index.
    Discrete(Vec<DiscreteAction>),
    /// Ranges; the policy outputs a steering angle (deg) and a speed (m/s).
    Continuous {
        /// Steering angle range (deg).
        steering_angle_deg: Range,
        /// Speed range (m/s).
        speed: Range,
    },
}

/// What a policy chooses each step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Index into a discrete action space.
    Discrete(usize),
    /// A continuous action.
    Continuous {
        /// Steering angle (deg), positive = left.
        steering_angle_deg: f64,
        /// Target speed (m/s).
        speed: f64,
    },
}

/// A bad action space or action.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The action space breaks DeepRacer's limits.
    #[error("action space: {0}")]
    Space(String),
    /// The action does not fit the action space.
    #[error("action {action:?}: {problem}")]
    Action {
        /// The action given.
        action: Action,
        /// What is wrong.
        problem: String,
    },
}

impl Default for ActionSpace {
    /// DeepRacer's default discrete space (the shared `model_metadata.json`):
    /// steering -30, -15, 0, 15, 30 deg at 0.6 m/s.
    fn default() -> Self {
        ActionSpace::Discrete(
            [-30.0, -15.0, 0.0, 15.0, 30.0]
                .into_iter()
                .map(|steering_angle_deg| DiscreteAction {
                    steering_angle_deg,
                    speed: 0.6,
                })
                .collect(),
        )
    }
}

impl ActionSpace {
    /// The continuous space spanning DeepRacer's whole range
    /// ([`limits`]): any steering angle within +-30 deg and any speed
    /// from 0.1 to 4 m/s (scripted drivers, the car runtime's simulator).
    pub fn full_continuous() -> ActionSpace {
        use limits::*;
        ActionSpace::Continuous {
            steering_angle_deg: Range {
                low: -MAX_STEERING_DEG,
                high: MAX_STEERING_DEG,
            },
            speed: Range {
                low: MIN_SPEED,
                high: MAX_SPEED,
            },
        }
    }

    /// Number of discrete actions, or `None` for a continuous space.
    pub fn num_actions(&self) -> Option<usize> {
        match self {
            ActionSpace::Discrete(a) => Some(a.len()),
            ActionSpace::Continuous { .. } => None,
        }
    }

    /// The largest steering magnitude (deg) the space can command.
    pub fn max_steering_deg(&self) -> f64 {
        match self {
            ActionSpace::Discrete(a) => a
                .iter()
                .map(|x| x.steering_angle_deg.abs())
                .fold(0.0, f64::max),
            ActionSpace::Continuous {
                steering_angle_deg, ..
            } => steering_angle_deg
                .low
                .abs()
                .max(steering_angle_deg.high.abs()),
        }
    }

    /// The largest speed (m/s) the space can command.
    pub fn max_speed(&self) -> f64 {
        match self {
            ActionSpace::Discrete(a) => a.iter().map(|x| x.speed).fold(0.0, f64::max),
            ActionSpace::Continuous { speed, .. } => speed.high,
        }
    }

    /// Checks DeepRacer's limits ([`limits`]).
    ///
    /// # Errors
    /// [`ActionError::Space`] naming the entry or range at fault and the
    /// limit it breaks.
    pub fn validate(&self) -> Result<(), ActionError> {
        use limits::*;
        let steer_ok = |v: f64| v.is_finite() && v.abs() <= MAX_STEERING_DEG;
        let speed_ok = |v: f64| v.is_finite() && (MIN_SPEED..=MAX_SPEED).contains(&v);
        match self {
            ActionSpace::Discrete(actions) => {
                if !(MIN_DISCRETE_ACTIONS..=MAX_DISCRETE_ACTIONS).contains(&actions.len()) {
                    return Err(ActionError::Space(format!(
                        "{} discrete actions; DeepRacer allows {MIN_DISCRETE_ACTIONS} to {MAX_DISCRETE_ACTIONS}",
                        actions.len()
                    )));
                }
                for (i, a) in actions.iter().enumerate() {
                    if !steer_ok(a.steering_angle_deg) {
                        return Err(ActionError::Space(format!(
                            "action {i}: steering_angle {} deg is outside -{MAX_STEERING_DEG}..{MAX_STEERING_DEG}",
                            a.steering_angle_deg
                        )));
                    }
                    if !speed_ok(a.speed) {
                        return Err(ActionError::Space(format!(
                            "action {i}: speed {} m/s is outside {MIN_SPEED}..{MAX_SPEED}",
                            a.speed
                        )));
                    }
                }
            }
            ActionSpace::Continuous {
                steering_angle_deg: s,
                speed: v,
            } => {
                if !(steer_ok(s.low) && steer_ok(s.high) && s.low < s.high) {
                    return Err(ActionError::Space(format!(
                        "steering_angle range [{}, {}] must have low < high within -{MAX_STEERING_DEG}..{MAX_STEERING_DEG} deg",
                        s.low, s.high
                    )));
                }
                if !(speed_ok(v.low) && speed_ok(v.high) && v.low < v.high) {
                    return Err(ActionError::Space(format!(
                        "speed range [{}, {}] must have low < high within {MIN_SPEED}..{MAX_SPEED} m/s",
                        v.low, v.high
                    )));
                }
            }
        }
        Ok(())
    }

    /// The steering angle (deg) and speed (m/s) an action commands.
    ///
    /// # Errors
    /// [`ActionError::Action`] for an index out of range, a NaN, a
    /// continuous value outside the space's ranges, or an action of the
    /// other kind.
    pub fn resolve(&self, action: &Action) -> Result<(f64, f64), ActionError> {
        let err = |problem: String| ActionError::Action {
            action: *action,
            problem,
        };
        match (self, action) {
            (ActionSpace::Discrete(list), Action::Discrete(i)) => list
                .get(*i)
                .map(|a| (a.steering_angle_deg, a.speed))
                .ok_or_else(|| {
                    err(format!(
                        "index out of range: the space has {} actions",
                        list.len()
                    ))
                }),
            (
                ActionSpace::Continuous {
                    steering_angle_deg: s,
                    speed: v,
                },
                Action::Continuous {
                    steering_angle_deg,
                    speed,
                },
            ) => {
                if !steering_angle_deg.is_finite() || !speed.is_finite() {
                    return Err(err("not a number".into()));
                }
                let tol = 1e-9;
                if *steering_angle_deg < s.low - tol || *steering_angle_deg > s.high + tol {
                    return Err(err(format!(
                        "steering_angle outside [{}, {}] deg",
                        s.low, s.high
                    )));
                }
                if *speed < v.low - tol || *speed > v.high + tol {
                    return Err(err(format!("speed outside [{}, {}] m/s", v.low, v.high)));
                }
                Ok((
                    steering_angle_deg.clamp(s.low, s.high),
                    speed.clamp(v.low, v.high),
                ))
            }
            (ActionSpace::Discrete(_), _) => Err(err(
                "a discrete action space takes Action::Discrete(index)".into(),
            )),
            (ActionSpace::Continuous { .. }, _) => Err(err(
                "a continuous action space takes Action::Continuous { steering_angle_deg, speed }"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_deepracers() {
        let s = ActionSpace::default();
        assert_eq!(s.num_actions(), Some(5));
        s.validate().unwrap();
        assert_eq!(s.resolve(&Action::Discrete(0)).unwrap(), (-30.0, 0.6));
        assert!(s.resolve(&Action::Discrete(5)).is_err());
        assert_eq!(s.max_steering_deg(), 30.0);
    }

    #[test]
    fn continuous_limits() {
        let s = ActionSpace::Continuous {
            steering_angle_deg: Range {
                low: -30.0,
                high: 30.0,
            },
            speed: Range {
                low: 1.0,
                high: 2.0,
            },
        };
        s.validate().unwrap();
        let a = Action::Continuous {
            steering_angle_deg: 10.0,
            speed: 1.5,
        };
        assert_eq!(s.resolve(&a).unwrap(), (10.0, 1.5));
        assert!(
            s.resolve(&Action::Continuous {
                steering_angle_deg: f64::NAN,
                speed: 1.5
            })
            .is_err()
        );
        assert!(
            s.resolve(&Action::Continuous {
                steering_angle_deg: 0.0,
                speed: 3.0
            })
            .is_err()
        );
        assert!(s.resolve(&Action::Discrete(0)).is_err());
        let bad = ActionSpace::Continuous {
            steering_angle_deg: Range {
                low: -40.0,
                high: 30.0,
            },
            speed: Range {
                low: 1.0,
                high: 2.0,
            },
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("steering_angle")
        );
    }
}
