//! Turning the policy's outputs into actions: categorical and diagonal
//! Gaussian sampling on the host, and DeepRacer's mapping of the raw
//! action onto the action space.

use crate::error::AgentError;
use crate::net::HeadKind;
use crate::ppo::clipped_gaussian_log_prob;
use crate::sac::{squashed_gaussian_log_prob, squashed_gaussian_sample};
use chicane_core::{Action, ActionSpace, TrainingAlgorithm};
use rand::Rng;

/// Maps a raw action to the env's action.
pub(super) fn to_action(space: &ActionSpace, raw: &[f32]) -> Action {
    match space {
        ActionSpace::Discrete(_) => Action::Discrete(raw.first().map_or(0, |&i| i as usize)),
        ActionSpace::Continuous {
            steering_angle_deg,
            speed,
        } => {
            // DeepRacer scales the policy's [-1, 1] output linearly onto each range
            let map = |x: f32, lo: f64, hi: f64| {
                lo + (f64::from(x.clamp(-1.0, 1.0)) + 1.0) * 0.5 * (hi - lo)
            };
            Action::Continuous {
                steering_angle_deg: map(
                    raw.first().copied().unwrap_or(0.0),
                    steering_angle_deg.low,
                    steering_angle_deg.high,
                ),
                speed: map(raw.get(1).copied().unwrap_or(0.0), speed.low, speed.high),
            }
        }
    }
}

/// The head an action space needs for PPO (and the vanilla policy
/// gradient): categorical over a discrete space, a clipped Gaussian over a
/// continuous one.
pub fn head_for(space: &ActionSpace) -> HeadKind {
    match space {
        ActionSpace::Discrete(list) => HeadKind::Categorical(list.len()),
        ActionSpace::Continuous { .. } => HeadKind::Gaussian(2),
    }
}

/// The head `algorithm` trains in `space`: [`head_for`]'s for PPO and the
/// vanilla policy gradient, a tanh-squashed Gaussian for SAC.
///
/// # Errors
/// [`AgentError::Unsupported`] for SAC over a discrete action space
/// (DeepRacer's SAC is continuous only, as is Haarnoja et al.'s).
pub fn head_for_algorithm(
    space: &ActionSpace,
    algorithm: TrainingAlgorithm,
) -> Result<HeadKind, AgentError> {
    match (algorithm, space) {
        (TrainingAlgorithm::Sac, ActionSpace::Continuous { .. }) => {
            Ok(HeadKind::SquashedGaussian(2))
        }
        (TrainingAlgorithm::Sac, ActionSpace::Discrete(_)) => Err(AgentError::Unsupported(
            "training_algorithm \"sac\" needs a continuous action space (steering_angle and \
             speed ranges, \"action_space_type\": \"continuous\"), as DeepRacer's SAC does; \
             use clipped_ppo for a discrete one"
                .into(),
        )),
        (TrainingAlgorithm::ClippedPpo | TrainingAlgorithm::VanillaPg, _) => Ok(head_for(space)),
    }
}

/// Replaces logits with their softmax probabilities.
pub(super) fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    row.iter_mut().for_each(|l| *l = (*l - max).exp());
    let sum: f32 = row.iter().sum();
    row.iter_mut().for_each(|p| *p /= sum);
}

/// Softmax sampling on the host. Returns `([index], log_prob)`.
pub(super) fn sample_categorical(
    logits: &[f32],
    rng: &mut impl Rng,
    greedy: bool,
) -> (Vec<f32>, f32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    let idx = if greedy {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i)
    } else {
        let mut u = rng.random::<f32>() * sum;
        let mut pick = exps.len() - 1;
        for (i, e) in exps.iter().enumerate() {
            if u < *e {
                pick = i;
                break;
            }
            u -= e;
        }
        pick
    };
    let log_prob = (exps[idx] / sum).ln();
    (vec![idx as f32], log_prob)
}

/// The mean of `x ~ N(mean, sigma^2)` clipped to `[-1, 1]`, the action the
/// env receives on average (DeepRacer clips the policy's sample to the
/// range): the mean of a doubly censored normal,
/// `E = -Phi(a) + (1 - Phi(b)) + mean (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b))`
/// with `a = (-1 - mean) / sigma`, `b = (1 - mean) / sigma` (e.g. Greene,
/// "Econometric Analysis", 7th ed., section 19.3.2, censored normal).
/// Equals `mean` when the clip never bites; within `[-1, 1]` always.
pub fn clipped_gaussian_mean(mean: f32, sigma: f32) -> f32 {
    let (m, s) = (f64::from(mean), f64::from(sigma).max(1e-12));
    let cdf = |z: f64| 0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2));
    let pdf = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let (a, b) = ((-1.0 - m) / s, (1.0 - m) / s);
    let e = -cdf(a) + (1.0 - cdf(b)) + m * (cdf(b) - cdf(a)) + s * (pdf(a) - pdf(b));
    e.clamp(-1.0, 1.0) as f32
}

/// One standard-normal number (Box-Muller's cosine branch, Box & Muller
/// 1958), from two uniforms of `rng`.
fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(1e-12);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

/// Diagonal Gaussian sampling (Box-Muller). Returns `(sample, log_prob)`,
/// the sample unclipped (the env clips it: [`to_action`]) and its
/// log-probability the one of the clipped action
/// ([`clipped_gaussian_log_prob`], as the loss computes it); `greedy`
/// returns the mean action the env receives, [`clipped_gaussian_mean`] of
/// each dimension (its `log_prob` is the density's at the distribution's
/// mean).
pub(super) fn sample_gaussian(
    mean: &[f32],
    log_std: &[f32],
    rng: &mut impl Rng,
    greedy: bool,
) -> (Vec<f32>, f32) {
    let half_log_2pi = 0.5 * (2.0 * std::f32::consts::PI).ln();
    let mut lp = 0.0;
    let x = mean
        .iter()
        .enumerate()
        .map(|(j, &m)| {
            let ls = log_std.get(j).copied().unwrap_or(0.0);
            if greedy {
                lp += -ls - half_log_2pi;
                return clipped_gaussian_mean(m, ls.exp());
            }
            let z = standard_normal(rng);
            let x = m + ls.exp() * z;
            lp += clipped_gaussian_log_prob(x, m, ls).0;
            x
        })
        .collect();
    (x, lp)
}

/// Squashed-Gaussian sampling for SAC: `row` holds the pre-tanh means and
/// the raw log standard deviations (`[2n]`). Returns `(action, log_prob)`,
/// the action `tanh(mean + std * noise)` in `(-1, 1)` units (what the env
/// maps onto the ranges) and its log-probability with the tanh correction;
/// `greedy` returns `tanh(mean)`, SAC's deterministic action (its
/// `log_prob` is the density's there).
pub(super) fn sample_squashed_gaussian(
    row: &[f32],
    rng: &mut impl Rng,
    greedy: bool,
) -> (Vec<f32>, f32) {
    let n = row.len() / 2;
    let (means, log_stds) = row.split_at(n);
    let mut lp = 0.0;
    let x = means
        .iter()
        .zip(log_stds)
        .map(|(&m, &ls)| {
            if greedy {
                lp += squashed_gaussian_log_prob(m, m, ls);
                return m.tanh();
            }
            let z = standard_normal(rng);
            let s = squashed_gaussian_sample(m, ls, z);
            lp += s.log_prob;
            s.action
        })
        .collect();
    (x, lp)
}
