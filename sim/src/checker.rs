//! An env checker in the spirit of Gymnasium's `check_env`: the API
//! contract and bit-for-bit determinism.

use crate::drivers::{Driver, RandomDriver};
use crate::env::{Info, RaceEnv, ResetOptions};
use crate::error::SimError;

/// What [`check_env`] verified.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// Steps taken per env.
    pub steps: usize,
    /// Episodes that ended (and were reset) during the check.
    pub episodes: usize,
}

fn same_info(a: &Info, b: &Info) -> bool {
    // the params include every float the reward sees; compare their bits
    a.params.to_json() == b.params.to_json()
        && a.episode_status == b.episode_status
        && a.car.position.x.to_bits() == b.car.position.x.to_bits()
        && a.car.position.y.to_bits() == b.car.position.y.to_bits()
        && a.car.yaw.to_bits() == b.car.yaw.to_bits()
        && a.car.speed.to_bits() == b.car.speed.to_bits()
        && a.lap_times == b.lap_times
}

/// Checks that two envs made by `make` behave identically, bit for bit,
/// under the same seed and the same (random) actions for `steps` steps,
/// resetting when episodes end; that observations have the declared
/// shape; that rewards are finite; that an ended episode refuses `step`
/// until reset; and that re-seeding replays the first episode.
///
/// # Errors
/// A message saying which check failed and at which step.
pub fn check_env(
    make: impl Fn() -> Result<RaceEnv, SimError>,
    seed: u64,
    steps: usize,
) -> Result<CheckReport, String> {
    let err = |e: SimError| e.to_string();
    let (mut a, mut b) = (make().map_err(err)?, make().map_err(err)?);
    if a.step(&first_action(&a)).is_ok() {
        return Err("step before reset must fail with NeedsReset".into());
    }
    let space = a.observation_space();
    let (oa, ia) = a.reset(Some(seed), ResetOptions::default()).map_err(err)?;
    let (ob, ib) = b.reset(Some(seed), ResetOptions::default()).map_err(err)?;
    let shape_ok = |o: &crate::env::Observation| {
        o.camera.len() == space.camera.map_or(0, |(c, h, w)| c * h * w)
            && o.lidar.len() == space.lidar.unwrap_or(0)
    };
    if !shape_ok(&oa) {
        return Err("the reset observation does not match observation_space".into());
    }
    if oa != ob || !same_info(&ia, &ib) {
        return Err("two envs reset with the same seed differ".into());
    }
    let first_obs = oa;
    let mut driver_a = RandomDriver::new(seed ^ 0x5eed);
    let mut driver_b = RandomDriver::new(seed ^ 0x5eed);
    let (mut info_a, mut info_b) = (ia, ib);
    let mut episodes = 0;
    for step in 0..steps {
        let (act_a, act_b) = (driver_a.act(&a, &info_a), driver_b.act(&b, &info_b));
        if act_a != act_b {
            return Err(format!("step {step}: the seeded random driver diverged"));
        }
        let ta = a.step(&act_a).map_err(err)?;
        let tb = b.step(&act_b).map_err(err)?;
        if !shape_ok(&ta.observation) {
            return Err(format!(
                "step {step}: observation does not match observation_space"
            ));
        }
        if !ta.reward.is_finite() {
            return Err(format!("step {step}: reward {} is not finite", ta.reward));
        }
        if ta.terminated && ta.truncated {
            return Err(format!("step {step}: terminated and truncated at once"));
        }
        if ta.observation != tb.observation
            || ta.reward.to_bits() != tb.reward.to_bits()
            || ta.terminated != tb.terminated
            || ta.truncated != tb.truncated
            || !same_info(&ta.info, &tb.info)
        {
            return Err(format!(
                "step {step}: two envs with the same seed and actions diverged"
            ));
        }
        if ta.terminated || ta.truncated {
            if a.step(&act_a).is_ok() {
                return Err(format!(
                    "step {step}: step after the episode ended must fail until reset"
                ));
            }
            episodes += 1;
            let (_, ia) = a.reset(None, ResetOptions::default()).map_err(err)?;
            let (_, ib) = b.reset(None, ResetOptions::default()).map_err(err)?;
            info_a = ia;
            info_b = ib;
        } else {
            info_a = ta.info;
            info_b = tb.info;
        }
    }
    let (again, _) = a.reset(Some(seed), ResetOptions::default()).map_err(err)?;
    if again != first_obs {
        return Err("reset with the same seed does not replay the first observation".into());
    }
    Ok(CheckReport { steps, episodes })
}

fn first_action(env: &RaceEnv) -> chicane_core::Action {
    match env.action_space() {
        chicane_core::ActionSpace::Discrete(_) => chicane_core::Action::Discrete(0),
        chicane_core::ActionSpace::Continuous {
            steering_angle_deg,
            speed,
        } => chicane_core::Action::Continuous {
            steering_angle_deg: steering_angle_deg.low,
            speed: speed.low,
        },
    }
}
