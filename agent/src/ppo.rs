//! Clipped PPO: generalised advantage estimation, the policy
//! distributions, and the loss (Schulman et al. 2017, "Proximal Policy
//! Optimization Algorithms", eq. 7 and 9; GAE from Schulman et al. 2016,
//! "High-Dimensional Continuous Control Using Generalized Advantage
//! Estimation", eq. 16).

use crate::error::AgentError;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

pub use chicane_config::ValueLoss;

/// The policy term of the loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyObjective {
    /// PPO's clipped surrogate `-E[min(r A, clip(r, 1-e, 1+e) A)]`
    /// (Schulman et al. 2017, eq. 7), DeepRacer's `clipped_ppo`.
    #[default]
    ClippedSurrogate,
    /// The vanilla policy gradient `-E[log pi(a|s) A]` with `A` from the
    /// value baseline (REINFORCE with a baseline: Williams 1992, "Simple
    /// statistical gradient-following algorithms for connectionist
    /// reinforcement learning", Mach. Learn. 8; OpenAI Spinning Up's VPG),
    /// chicane's `vanilla_pg`: one pass over each rollout.
    VanillaPg,
}

/// Clipped-PPO settings. Defaults follow DeepRacer's `hyperparameters.json`
/// where it has the setting, and Schulman et al. (2017) elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PpoConfig {
    /// The policy term: PPO's clipped surrogate (default) or the vanilla
    /// policy gradient.
    #[serde(default)]
    pub objective: PolicyObjective,
    /// Discount factor gamma. Default 0.99.
    pub discount_factor: f64,
    /// GAE lambda. Default 0.95.
    pub gae_lambda: f64,
    /// Clip range epsilon of the probability ratio. Default 0.2.
    pub clip_range: f64,
    /// Entropy bonus coefficient (DeepRacer's `beta_entropy`). Default 0.01.
    pub beta_entropy: f64,
    /// Value loss coefficient. Default 0.5.
    pub value_coef: f64,
    /// Value loss. Default Huber.
    pub loss_type: ValueLoss,
    /// Adam learning rate. Default 3e-4.
    pub lr: f64,
    /// Minibatch size (DeepRacer's `batch_size`). Default 64.
    pub batch_size: usize,
    /// Passes over each rollout (DeepRacer's `num_epochs`). Default 5.
    pub num_epochs: usize,
    /// Global gradient-norm clip. Default 0.5.
    pub max_grad_norm: f64,
    /// Normalise advantages per minibatch. Default true.
    pub normalize_advantage: bool,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            objective: PolicyObjective::ClippedSurrogate,
            discount_factor: 0.99,
            gae_lambda: 0.95,
            clip_range: 0.2,
            beta_entropy: 0.01,
            value_coef: 0.5,
            loss_type: ValueLoss::Huber,
            lr: 3e-4,
            batch_size: 64,
            num_epochs: 5,
            max_grad_norm: 0.5,
            normalize_advantage: true,
        }
    }
}

impl PpoConfig {
    /// Checks every field's range.
    ///
    /// # Errors
    /// [`AgentError::Hyperparameter`] naming the field and its range.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = crate::error::bad_hyperparameter::<()>;
        if !(0.0..=1.0).contains(&self.discount_factor) {
            return bad("discount_factor", "must be within [0, 1]");
        }
        if !(0.0..=1.0).contains(&self.gae_lambda) {
            return bad("gae_lambda", "must be within [0, 1]");
        }
        if !(self.clip_range > 0.0 && self.clip_range < 1.0) {
            return bad("clip_range", "must be within (0, 1)");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", "must be a positive number");
        }
        if !(self.beta_entropy >= 0.0 && self.beta_entropy.is_finite()) {
            return bad("beta_entropy", "must be a non-negative number");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if self.num_epochs == 0 {
            return bad("num_epochs", "must be at least 1");
        }
        if self.max_grad_norm.is_nan() || self.max_grad_norm <= 0.0 {
            return bad("max_grad_norm", "must be positive");
        }
        Ok(())
    }
}

/// Generalised advantage estimation over a rollout of `T` steps of `N` envs.
///
/// `dones[t][i]` is true when step `t` of env `i` ended its episode (the
/// value after it is not bootstrapped); rewards of truncated steps should
/// already include `gamma * V(final observation)`. `last_values` are the
/// values of the observations after the last step.
///
/// # Shapes
/// `rewards`, `values`, `dones`: `[T * N]` (step-major); `last_values`:
/// `[N]`. Returns `(advantages, returns)`, each `[T * N]`, with
/// `returns = advantages + values`.
pub fn gae(
    rewards: &[f32],
    values: &[f32],
    dones: &[bool],
    last_values: &[f32],
    gamma: f32,
    lambda: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = last_values.len().max(1);
    let t_len = rewards.len() / n;
    let mut adv = vec![0.0f32; rewards.len()];
    let mut next_adv = vec![0.0f32; n];
    let mut next_value = last_values.to_vec();
    for t in (0..t_len).rev() {
        for i in 0..n {
            let k = t * n + i;
            let not_done = if dones[k] { 0.0 } else { 1.0 };
            let delta = rewards[k] + gamma * next_value[i] * not_done - values[k];
            let a = delta + gamma * lambda * not_done * next_adv[i];
            adv[k] = a;
            next_adv[i] = a;
            next_value[i] = values[k];
        }
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

/// Log-probabilities and entropies of a categorical policy.
///
/// # Shapes
/// `logits`: `[N, A]`; `actions`: `[N]` (indices). Returns `(log_prob [N],
/// entropy [N])`.
pub fn categorical_log_prob_entropy(
    logits: Tensor<2>,
    actions: Tensor<1, Int>,
) -> (Tensor<1>, Tensor<1>) {
    let logp_all = log_softmax(logits, 1);
    let entropy = logp_all
        .clone()
        .exp()
        .mul(logp_all.clone())
        .sum_dim(1)
        .neg()
        .flatten(0, 1);
    let logp = logp_all.gather(1, actions.unsqueeze_dim(1)).flatten(0, 1);
    (logp, entropy)
}

/// Log-probabilities and entropies of a diagonal Gaussian policy with a
/// state-independent log standard deviation, whose samples the env clips
/// to `[-1, 1]` (DeepRacer's continuous action space): the log-probability
/// is the one of the action the env received, [`clipped_gaussian_log_prob`]
/// of each dimension (Fujita & Maeda 2018, "Clipped Action Policy
/// Gradient", ICML: a sample beyond a bound has the tail's probability
/// mass, `ln Phi((-1 - mean) / sigma)` below -1 and
/// `ln Phi((mean - 1) / sigma)` above 1; inside, the Gaussian density).
/// The entropy is the unclipped Gaussian's. In f32 on the tensor backend,
/// a tail's mass is floored at 1e-30 (log -69), which only a sample over
/// about 5 standard deviations past a bound reaches; the native trainer's
/// f64 [`clipped_gaussian_log_prob`] has no floor.
///
/// # Shapes
/// `mean`: `[N, D]`; `log_std`: `[D]`; `actions`: `[N, D]`. Returns
/// `(log_prob [N], entropy [N])`.
pub fn gaussian_log_prob_entropy(
    mean: Tensor<2>,
    log_std: Tensor<1>,
    actions: Tensor<2>,
) -> (Tensor<1>, Tensor<1>) {
    let [n, _] = mean.dims();
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let log_std2: Tensor<2> = log_std.clone().unsqueeze_dim(0);
    let sigma = log_std2.clone().exp();
    let z = actions.clone().sub(mean.clone()).div(sigma.clone());
    let inside = z
        .square()
        .mul_scalar(-0.5)
        .sub(log_std2)
        .sub_scalar(half_log_2pi);
    // ln Phi(t) = ln(0.5 (1 + erf(t / sqrt 2))), the standard normal's CDF
    let log_cdf = |t: Tensor<2>| {
        t.div_scalar(std::f64::consts::SQRT_2)
            .erf()
            .add_scalar(1.0)
            .mul_scalar(0.5)
            .clamp_min(1e-30)
            .log()
    };
    let below = log_cdf(mean.clone().neg().sub_scalar(1.0).div(sigma.clone()));
    let above = log_cdf(mean.sub_scalar(1.0).div(sigma));
    let logp = inside
        .mask_where(actions.clone().lower_equal_elem(-1.0), below)
        .mask_where(actions.greater_equal_elem(1.0), above)
        .sum_dim(1)
        .flatten(0, 1);
    let entropy = log_std
        .add_scalar(0.5 + half_log_2pi)
        .sum()
        .unsqueeze_dim::<2>(0)
        .repeat_dim(0, n)
        .flatten(0, 1);
    (logp, entropy)
}

/// One dimension of [`gaussian_log_prob_entropy`]'s log-probability, in
/// f64 inside, with its gradient: the sample `x` of `N(mean, sigma^2)`,
/// `sigma = exp(log_std)`, as the env receives it, clipped to `[-1, 1]`
/// (Fujita & Maeda 2018, "Clipped Action Policy Gradient", ICML, eq. 4):
/// `ln Phi(a)` with `a = (-1 - mean) / sigma` for `x <= -1`,
/// `ln Phi(b)` with `b = (mean - 1) / sigma` for `x >= 1`, and the
/// Gaussian's log density inside. Returns
/// `(log_prob, d log_prob / d mean, d log_prob / d log_std)`; in a tail
/// `d/d mean = -+ lambda / sigma` and `d/d log_std = -t lambda` with
/// `lambda = phi(t) / Phi(t)` (the inverse Mills ratio; its asymptote
/// `-t` past `t = -30`, where `Phi` underflows).
pub fn clipped_gaussian_log_prob(x: f32, mean: f32, log_std: f32) -> (f32, f32, f32) {
    let (x, m, ls) = (f64::from(x), f64::from(mean), f64::from(log_std));
    let sigma = ls.exp();
    let half_log_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    // (ln Phi(t), phi(t) / Phi(t))
    let log_cdf_mills = |t: f64| {
        if t > -30.0 {
            let cdf = 0.5 * libm::erfc(-t / std::f64::consts::SQRT_2);
            let log_pdf = -0.5 * t * t - half_log_2pi;
            (cdf.ln(), (log_pdf - cdf.ln()).exp())
        } else {
            // Phi(t) ~ phi(t) / -t (Abramowitz & Stegun 26.2.12)
            (-0.5 * t * t - half_log_2pi - (-t).ln(), -t)
        }
    };
    let (lp, d_mean, d_ls) = if x <= -1.0 {
        let t = (-1.0 - m) / sigma;
        let (lp, lambda) = log_cdf_mills(t);
        (lp, -lambda / sigma, -t * lambda)
    } else if x >= 1.0 {
        let t = (m - 1.0) / sigma;
        let (lp, lambda) = log_cdf_mills(t);
        (lp, lambda / sigma, -t * lambda)
    } else {
        let z = (x - m) / sigma;
        (-0.5 * z * z - ls - half_log_2pi, z / sigma, z * z - 1.0)
    };
    (lp as f32, d_mean as f32, d_ls as f32)
}

/// The parts of the PPO loss, as tensors (for the gradient) and numbers.
#[derive(Debug, Clone)]
pub struct PpoLoss {
    /// `policy + value_coef * value - beta_entropy * entropy`, `[1]`.
    pub total: Tensor<1>,
    /// The policy term: the clipped surrogate `-E[min(r A, clip(r, 1-e,
    /// 1+e) A)]`, or `-E[log pi A]` for [`PolicyObjective::VanillaPg`].
    pub policy: f32,
    /// The value loss.
    pub value: f32,
    /// The mean entropy.
    pub entropy: f32,
    /// Approximate KL divergence `E[(r - 1) - log r]` (Schulman's k3 estimator).
    pub approx_kl: f32,
    /// Fraction of samples whose ratio was clipped.
    pub clip_fraction: f32,
}

/// The loss of one minibatch: the policy term of `cfg.objective`, the
/// value loss and the entropy bonus.
///
/// # Shapes
/// Every argument `[B]`.
pub fn ppo_loss(
    log_prob: Tensor<1>,
    old_log_prob: Tensor<1>,
    advantages: Tensor<1>,
    values: Tensor<1>,
    returns: Tensor<1>,
    entropy: Tensor<1>,
    cfg: &PpoConfig,
) -> PpoLoss {
    let log_ratio = log_prob.clone().sub(old_log_prob);
    let ratio = log_ratio.clone().exp();
    let eps = cfg.clip_range;
    let policy = match cfg.objective {
        PolicyObjective::ClippedSurrogate => {
            let s1 = ratio.clone().mul(advantages.clone());
            let s2 = ratio.clone().clamp(1.0 - eps, 1.0 + eps).mul(advantages);
            s1.min_pair(s2).mean().neg()
        }
        PolicyObjective::VanillaPg => log_prob.mul(advantages).mean().neg(),
    };
    let err = values.sub(returns);
    let value = match cfg.loss_type {
        ValueLoss::Mse => err.square().mean(),
        ValueLoss::Huber => {
            let abs = err.abs();
            let quad = abs.clone().clamp(0.0, 1.0);
            let lin = abs.sub(quad.clone());
            quad.square().mul_scalar(0.5).add(lin).mean()
        }
    };
    let entropy_mean = entropy.mean();
    let total = policy
        .clone()
        .add(value.clone().mul_scalar(cfg.value_coef))
        .sub(entropy_mean.clone().mul_scalar(cfg.beta_entropy));
    let scalar = |t: Tensor<1>| t.detach().into_scalar::<f32>();
    let ratio_d = ratio.detach();
    let approx_kl = scalar(
        ratio_d
            .clone()
            .sub_scalar(1.0)
            .sub(log_ratio.detach())
            .mean(),
    );
    let clipped = ratio_d
        .sub_scalar(1.0)
        .abs()
        .greater_elem(eps)
        .float()
        .mean();
    PpoLoss {
        total,
        policy: scalar(policy),
        value: scalar(value),
        entropy: scalar(entropy_mean),
        approx_kl,
        clip_fraction: scalar(clipped),
    }
}
