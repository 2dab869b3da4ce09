//! Soft actor-critic's formulas, one dimension or one sample at a time, so
//! that each can be checked against hand values: the tanh-squashed
//! Gaussian policy, the soft Q target, the critic, actor and temperature
//! losses and the target networks' Polyak averaging.
//!
//! Sources: Haarnoja et al. 2018a, "Soft Actor-Critic: Off-Policy Maximum
//! Entropy Deep Reinforcement Learning with a Stochastic Actor" (ICML;
//! appendix C, the squashed Gaussian's log-likelihood, eq. 21); Haarnoja et
//! al. 2018b, "Soft Actor-Critic Algorithms and Applications" (arXiv
//! 1812.05905; twin target Q networks, eq. 5-7, and the automatic
//! temperature, eq. 18); Fujimoto et al. 2018 (TD3, clipped double Q).

use crate::ppo::ValueLoss;

/// The smallest log standard deviation a squashed-Gaussian head may
/// output: rl_coach's `LOG_SIG_CAP_MIN` (DeepRacer's SAC head).
pub const LOG_STD_MIN: f32 = -20.0;

/// The largest log standard deviation: rl_coach's `LOG_SIG_CAP_MAX`.
pub const LOG_STD_MAX: f32 = 2.0;

/// `ln(2 pi) / 2`.
const HALF_LOG_2PI: f32 = 0.918_938_5;

/// `ln(1 + e^x)` without overflow.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// `ln(1 - tanh(u)^2)` for a pre-tanh value `u`, in the form that stays
/// finite for large `|u|`: `2 (ln 2 - u - softplus(-2u))` (OpenAI Spinning
/// Up's SAC).
pub fn log_one_minus_tanh_sq(u: f32) -> f32 {
    2.0 * (std::f32::consts::LN_2 - u - softplus(-2.0 * u))
}

/// One dimension of a squashed-Gaussian sample, drawn by
/// reparameterisation `u = mean + exp(log_std) * noise`, `action = tanh(u)`,
/// with the derivatives the actor's loss needs (`noise` held fixed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquashedSample {
    /// The action `tanh(u)`, in `(-1, 1)`.
    pub action: f32,
    /// `ln pi(action)`: the Gaussian's log-density at `u` less
    /// `ln(1 - tanh(u)^2)` (the change of variables; Haarnoja et al. 2018a,
    /// eq. 21).
    pub log_prob: f32,
    /// `d log_prob / d mean`.
    pub d_log_prob_d_mean: f32,
    /// `d log_prob / d log_std_raw` (0 where the clamp holds it).
    pub d_log_prob_d_log_std: f32,
    /// `d action / d mean` (`1 - action^2`).
    pub d_action_d_mean: f32,
    /// `d action / d log_std_raw` (0 where the clamp holds it).
    pub d_action_d_log_std: f32,
}

/// The log standard deviation a head's raw output means: clamped to
/// [`LOG_STD_MIN`]..=[`LOG_STD_MAX`] (rl_coach's `tf.clip_by_value`).
pub fn clamp_log_std(log_std_raw: f32) -> f32 {
    log_std_raw.clamp(LOG_STD_MIN, LOG_STD_MAX)
}

/// A sample of one dimension of the squashed Gaussian with pre-tanh
/// `mean` and raw log standard deviation `log_std_raw` (the head's output,
/// clamped here) for the standard-normal `noise`.
pub fn squashed_gaussian_sample(mean: f32, log_std_raw: f32, noise: f32) -> SquashedSample {
    let ls = clamp_log_std(log_std_raw);
    let free = (LOG_STD_MIN..=LOG_STD_MAX).contains(&log_std_raw);
    let sigma = ls.exp();
    let u = mean + sigma * noise;
    let action = u.tanh();
    let log_prob = -0.5 * noise * noise - ls - HALF_LOG_2PI - log_one_minus_tanh_sq(u);
    // with the noise fixed, the density's own term depends on log_std
    // only (d/d ls = -1); the squash correction -ln(1 - tanh^2 u) has
    // d/du = 2 tanh(u), and du/d mean = 1, du/d ls = sigma * noise
    let d_u = 2.0 * action;
    let slope = 1.0 - action * action;
    SquashedSample {
        action,
        log_prob,
        d_log_prob_d_mean: d_u,
        d_log_prob_d_log_std: if free {
            -1.0 + d_u * sigma * noise
        } else {
            0.0
        },
        d_action_d_mean: slope,
        d_action_d_log_std: if free { slope * sigma * noise } else { 0.0 },
    }
}

/// `ln pi(tanh(u))` of one dimension for a pre-tanh value `u` (the
/// density of the squashed action, Haarnoja et al. 2018a eq. 21).
pub fn squashed_gaussian_log_prob(u: f32, mean: f32, log_std_raw: f32) -> f32 {
    let ls = clamp_log_std(log_std_raw);
    let z = (u - mean) / ls.exp();
    -0.5 * z * z - ls - HALF_LOG_2PI - log_one_minus_tanh_sq(u)
}

/// The soft Bellman target of one transition with clipped double Q
/// (Haarnoja et al. 2018b, eq. 5-6; Fujimoto et al. 2018):
/// `y = r + gamma (1 - terminated) (min(Q1'(s', a'), Q2'(s', a')) - alpha ln pi(a'|s'))`,
/// `a' ~ pi(. | s')` and `Q'` the target networks.
pub fn soft_q_target(
    reward: f32,
    terminated: bool,
    gamma: f32,
    q1_next: f32,
    q2_next: f32,
    alpha: f32,
    next_log_prob: f32,
) -> f32 {
    if terminated {
        return reward;
    }
    reward + gamma * (q1_next.min(q2_next) - alpha * next_log_prob)
}

/// One critic's loss for one sample and its derivative by `q`: half the
/// squared error (SAC's `J_Q`, eq. 5 of Haarnoja et al. 2018b) or the
/// Huber loss with delta 1 (DeepRacer's default `loss_type`, which burn's
/// and rl_coach's Huber define as `0.5 e^2` within 1 and `|e| - 0.5` past it).
pub fn critic_loss(q: f32, target: f32, loss: ValueLoss) -> (f32, f32) {
    let e = q - target;
    match loss {
        ValueLoss::Mse => (0.5 * e * e, e),
        ValueLoss::Huber if e.abs() <= 1.0 => (0.5 * e * e, e),
        ValueLoss::Huber => (e.abs() - 0.5, e.signum()),
    }
}

/// The actor's loss for one sample, `alpha ln pi(a|s) - min(Q1(s, a), Q2(s, a))`
/// (Haarnoja et al. 2018b, eq. 7 with the clipped double Q of eq. 6).
pub fn actor_loss(alpha: f32, log_prob: f32, q1: f32, q2: f32) -> f32 {
    alpha * log_prob - q1.min(q2)
}

/// The temperature's loss over a batch and its derivative by `ln alpha`:
/// `-ln(alpha) * mean(ln pi + target_entropy)` (Haarnoja et al. 2018b,
/// eq. 18, learnt in `ln alpha` as Stable-Baselines3 and the authors'
/// code do, so alpha stays positive).
pub fn temperature_loss(log_alpha: f32, log_probs: &[f32], target_entropy: f32) -> (f32, f32) {
    let n = log_probs.len().max(1) as f32;
    let mean = log_probs.iter().map(|lp| lp + target_entropy).sum::<f32>() / n;
    (-log_alpha * mean, -mean)
}

/// Polyak averaging of target parameters: `target <- tau * online + (1 -
/// tau) * target` (Lillicrap et al. 2016, DDPG; SAC's `tau`).
///
/// # Panics
/// When the two slices differ in length (a caller's bug).
pub fn soft_update(target: &mut [f32], online: &[f32], tau: f32) {
    assert_eq!(target.len(), online.len(), "target and online parameters");
    for (t, o) in target.iter_mut().zip(online) {
        *t += tau * (o - *t);
    }
}
