//! Discrete action spaces fitted to what a reference driver commands:
//! drive a lap with a [`Driver`] that reports its continuous command,
//! then cluster the (steering angle, speed) pairs with k-means.

use crate::drivers::nearest_action;
use crate::env::{EpisodeStatus, RaceEnv, ResetOptions};
use crate::error::SimError;
use crate::racing_driver::RacingLineDriver;
use chicane_core::{Action, DiscreteAction};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Steering scale of the clustering metric (deg): the same weights as
/// [`nearest_action`], so each command belongs to the cluster whose action
/// the env would pick for it.
const STEER_SCALE_DEG: f64 = 30.0;
/// Speed scale of the clustering metric (m/s), as [`nearest_action`].
const SPEED_SCALE: f64 = 4.0;
/// k-means restarts from fresh k-means++ seeds; the lowest inertia wins
/// (scikit-learn's `n_init` default before 1.4).
const RESTARTS: usize = 10;
/// Lloyd iterations per restart at most (scikit-learn's `max_iter`).
const MAX_ITERATIONS: usize = 300;

/// A lap of a reference driver: what it commanded each step and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLap {
    /// `(steering_angle_deg, speed)` commanded at each step (deg, m/s).
    pub commands: Vec<(f64, f64)>,
    /// The lap time (s) when the lap completed, `None` otherwise.
    pub lap_time: Option<f64>,
    /// How the episode ended.
    pub status: EpisodeStatus,
}

/// Drives one episode of `env` (reset with `seed`) with `driver`, at most
/// `max_steps` steps, and records the driver's continuous command at every
/// step; the env receives the command mapped onto its action space by
/// [`nearest_action`] (a continuous space clamps, a discrete one picks the
/// nearest pair).
///
/// # Errors
/// Whatever [`RaceEnv::reset`] or [`RaceEnv::step`] return.
pub fn drive_reference_lap(
    env: &mut RaceEnv,
    driver: &mut RacingLineDriver,
    seed: u64,
    max_steps: u64,
) -> Result<ReferenceLap, SimError> {
    let (_, mut info) = env.reset(Some(seed), ResetOptions::default())?;
    let mut commands = Vec::new();
    let mut status = info.episode_status;
    for _ in 0..max_steps {
        let (steer, speed) = driver.command(env, &info);
        commands.push((steer, speed));
        let action: Action = nearest_action(env.action_space(), steer, speed);
        let t = env.step(&action)?;
        status = t.info.episode_status;
        info = t.info;
        if t.terminated || t.truncated {
            break;
        }
    }
    let lap_time = (status == EpisodeStatus::LapComplete)
        .then(|| info.lap_times.first().copied())
        .flatten();
    Ok(ReferenceLap {
        commands,
        lap_time,
        status,
    })
}

/// `n` discrete actions that cover `commands` (`(steering_angle_deg,
/// speed)` pairs): the centres of a k-means clustering (Lloyd 1982, "Least
/// squares quantization in PCM", IEEE Trans. Inf. Theory 28(2), seeded by
/// k-means++, Arthur and Vassilvitskii 2007, "k-means++: the advantages of
/// careful seeding", SODA) in the metric of [`nearest_action`] (steering
/// over 30 deg, speed over 4 m/s), best of 10 seeded restarts. Steering is
/// rounded to 0.1 deg and speed to 0.01 m/s, as DeepRacer's console shows
/// them; the list is sorted by speed, then steering (the console's order).
/// Deterministic for a given `seed`.
///
/// # Errors
/// [`SimError::Config`] (field `actions`) when `n` is outside DeepRacer's
/// 2..=30, or there are fewer distinct commands than `n`.
pub fn fit_discrete_actions(
    commands: &[(f64, f64)],
    n: usize,
    seed: u64,
) -> Result<Vec<DiscreteAction>, SimError> {
    if !(2..=30).contains(&n) {
        return Err(SimError::Config {
            field: "actions".into(),
            problem: format!("{n} actions: DeepRacer's action spaces hold 2 to 30"),
        });
    }
    let points: Vec<[f64; 2]> = commands
        .iter()
        .map(|&(s, v)| [s / STEER_SCALE_DEG, v / SPEED_SCALE])
        .collect();
    let mut distinct = points.clone();
    distinct.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    distinct.dedup();
    if distinct.len() < n {
        return Err(SimError::Config {
            field: "actions".into(),
            problem: format!(
                "{n} actions from {} distinct commands: ask for {} or fewer",
                distinct.len(),
                distinct.len()
            ),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best: Option<(f64, Vec<[f64; 2]>)> = None;
    for _ in 0..RESTARTS {
        let (inertia, centres) = lloyd(&points, kmeans_pp(&points, n, &mut rng));
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, centres));
        }
    }
    let centres = best.map(|(_, c)| c).unwrap_or_default();
    let mut actions: Vec<DiscreteAction> = centres
        .iter()
        .map(|c| DiscreteAction {
            steering_angle_deg: (c[0] * STEER_SCALE_DEG * 10.0).round() / 10.0,
            speed: ((c[1] * SPEED_SCALE * 100.0).round() / 100.0).max(0.1),
        })
        .collect();
    actions.sort_by(|a, b| {
        a.speed
            .total_cmp(&b.speed)
            .then(a.steering_angle_deg.total_cmp(&b.steering_angle_deg))
    });
    Ok(actions)
}

fn dist2(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// k-means++ seeding: the first centre uniformly, each next one with
/// probability proportional to the squared distance to the nearest chosen.
fn kmeans_pp(points: &[[f64; 2]], k: usize, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let mut centres = vec![points[rng.random_range(0..points.len())]];
    let mut d2: Vec<f64> = points.iter().map(|p| dist2(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.random::<f64>() * total;
            let mut pick = points.len() - 1;
            for (i, &d) in d2.iter().enumerate() {
                if u < d {
                    pick = i;
                    break;
                }
                u -= d;
            }
            pick
        } else {
            rng.random_range(0..points.len())
        };
        let c = points[pick];
        for (d, p) in d2.iter_mut().zip(points) {
            *d = d.min(dist2(p, &c));
        }
        centres.push(c);
    }
    centres
}

/// Lloyd's iterations from `centres` until no assignment changes. Returns
/// the inertia (sum of squared distances) and the centres. A centre left
/// without points moves to the point farthest from its own centre.
fn lloyd(points: &[[f64; 2]], mut centres: Vec<[f64; 2]>) -> (f64, Vec<[f64; 2]>) {
    let nearest = |p: &[f64; 2], centres: &[[f64; 2]]| {
        (0..centres.len())
            .min_by(|&i, &j| dist2(p, &centres[i]).total_cmp(&dist2(p, &centres[j])))
            .unwrap_or(0)
    };
    let mut assign = vec![usize::MAX; points.len()];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        for (a, p) in assign.iter_mut().zip(points) {
            let c = nearest(p, &centres);
            changed |= *a != c;
            *a = c;
        }
        if !changed {
            break;
        }
        let mut sum = vec![[0.0f64; 2]; centres.len()];
        let mut count = vec![0usize; centres.len()];
        for (&a, p) in assign.iter().zip(points) {
            sum[a][0] += p[0];
            sum[a][1] += p[1];
            count[a] += 1;
        }
        for c in 0..centres.len() {
            if count[c] > 0 {
                centres[c] = [sum[c][0] / count[c] as f64, sum[c][1] / count[c] as f64];
            } else if let Some(far) = (0..points.len()).max_by(|&i, &j| {
                dist2(&points[i], &centres[assign[i]])
                    .total_cmp(&dist2(&points[j], &centres[assign[j]]))
            }) {
                centres[c] = points[far];
                assign[far] = c;
            }
        }
    }
    let inertia = assign
        .iter()
        .zip(points)
        .map(|(&a, p)| dist2(p, &centres[a.min(centres.len() - 1)]))
        .sum();
    (inertia, centres)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight blobs of commands: k = 3 finds their centres.
    #[test]
    fn recovers_three_blobs() {
        let mut cmds = Vec::new();
        for &(s, v) in &[(-20.0, 1.5), (0.0, 3.8), (15.0, 2.2)] {
            for i in 0..40 {
                let d = f64::from(i % 5) - 2.0;
                cmds.push((s + 0.2 * d, v + 0.01 * d));
            }
        }
        let a = fit_discrete_actions(&cmds, 3, 1).unwrap();
        let got: Vec<(f64, f64)> = a.iter().map(|a| (a.steering_angle_deg, a.speed)).collect();
        assert_eq!(got, vec![(-20.0, 1.5), (15.0, 2.2), (0.0, 3.8)]);
    }

    /// Same seed, same actions; the count limits are DeepRacer's.
    #[test]
    fn deterministic_and_checked() {
        let cmds: Vec<(f64, f64)> = (0..200)
            .map(|i| {
                let t = f64::from(i) * 0.1;
                (25.0 * t.sin(), 2.0 + 1.5 * (0.7 * t).cos())
            })
            .collect();
        assert_eq!(
            fit_discrete_actions(&cmds, 7, 5).unwrap(),
            fit_discrete_actions(&cmds, 7, 5).unwrap()
        );
        assert_eq!(fit_discrete_actions(&cmds, 7, 5).unwrap().len(), 7);
        for bad in [1, 31] {
            let e = fit_discrete_actions(&cmds, bad, 0).unwrap_err().to_string();
            assert!(e.contains("2 to 30"), "{e}");
        }
        let e = fit_discrete_actions(&[(0.0, 1.0), (0.0, 1.0), (5.0, 2.0)], 3, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 distinct commands"), "{e}");
    }
}
