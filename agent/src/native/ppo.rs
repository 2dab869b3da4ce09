//! The PPO (or vanilla policy-gradient) loss of one minibatch and its gradient by the
//! network's outputs, for the native path (the same loss as
//! [`crate::ppo_loss`]: Schulman et al. 2017, with burn's Huber and
//! entropy terms).

use crate::ppo::{PolicyObjective, PpoConfig, ValueLoss, clipped_gaussian_log_prob};

/// The loss's parts and the gradients by the policy outputs, the values
/// and (Gaussian heads) the log standard deviation.
#[derive(Debug, Default)]
pub(crate) struct LossGrad {
    pub policy: f32,
    pub value: f32,
    pub entropy: f32,
    pub approx_kl: f32,
    pub clip_fraction: f32,
    pub d_policy: Vec<f32>,
    pub d_value: Vec<f32>,
    pub d_log_std: Vec<f32>,
}

/// The loss of `b` samples, a shard of a minibatch of `total` (means are
/// over `total`, so the shards' losses and gradients add up to the
/// minibatch's): policy outputs `out` (`[b, a]`: logits, or Gaussian means
/// with `log_std`), values, the actions taken (`raw`: indices or `[b, a]`
/// samples), their old log-probabilities, advantages (normalised already)
/// and returns.
#[allow(clippy::too_many_arguments)]
pub(crate) fn loss_grad(
    cfg: &PpoConfig,
    out: &[f32],
    a: usize,
    log_std: Option<&[f32]>,
    values: &[f32],
    raw: &[f32],
    old_lp: &[f32],
    adv: &[f32],
    ret: &[f32],
    total: usize,
) -> LossGrad {
    let b = values.len();
    let bf = total.max(1) as f32;
    let eps = cfg.clip_range as f32;
    let beta = cfg.beta_entropy as f32;
    let mut g = LossGrad {
        d_policy: vec![0.0; b * a],
        d_value: vec![0.0; b],
        d_log_std: vec![0.0; log_std.map_or(0, <[f32]>::len)],
        ..LossGrad::default()
    };
    let half_log_2pi = 0.5 * (2.0 * std::f32::consts::PI).ln();
    let mut probs = vec![0.0f32; a];
    // a Gaussian row's (d lp / d mean, d lp / d log_std) per dimension
    let mut d_gauss = vec![(0.0f32, 0.0f32); a];
    for i in 0..b {
        let row = &out[i * a..(i + 1) * a];
        // log-probability and entropy
        let mut lse = 0.0;
        let (lp, ent) = match log_std {
            None => {
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = row.iter().map(|z| (z - max).exp()).sum();
                lse = max + sum.ln();
                let mut h = 0.0;
                for (p, &z) in probs.iter_mut().zip(row) {
                    *p = (z - lse).exp();
                    h -= *p * (z - lse);
                }
                (row[raw[i] as usize] - lse, h)
            }
            Some(ls) => {
                let mut lp = 0.0;
                for d in 0..a {
                    let (l, dm, dls) = clipped_gaussian_log_prob(raw[i * a + d], row[d], ls[d]);
                    lp += l;
                    d_gauss[d] = (dm, dls);
                }
                let h: f32 = ls.iter().map(|l| l + 0.5 + half_log_2pi).sum();
                (lp, h)
            }
        };
        let log_ratio = lp - old_lp[i];
        let r = log_ratio.exp();
        let d_lp = match cfg.objective {
            PolicyObjective::ClippedSurrogate => {
                let s1 = r * adv[i];
                let rc = r.clamp(1.0 - eps, 1.0 + eps);
                let s2 = rc * adv[i];
                g.policy -= s1.min(s2) / bf;
                // d(-min(s1, s2)) / d lp, through r = exp(lp - old): the
                // unclipped term's gradient where it is the minimum or the
                // clip is inactive, none where the clipped term (constant
                // in r) is
                if s1 <= s2 || (r > 1.0 - eps && r < 1.0 + eps) {
                    -adv[i] * r / bf
                } else {
                    0.0
                }
            }
            PolicyObjective::VanillaPg => {
                g.policy -= lp * adv[i] / bf;
                -adv[i] / bf
            }
        };
        g.entropy += ent / bf;
        g.approx_kl += ((r - 1.0) - log_ratio) / bf;
        if (r - 1.0).abs() > eps {
            g.clip_fraction += 1.0 / bf;
        }
        // value loss
        let err = values[i] - ret[i];
        let (v_loss, d_err) = match cfg.loss_type {
            ValueLoss::Mse => (err * err, 2.0 * err),
            ValueLoss::Huber => {
                let abs = err.abs();
                if abs <= 1.0 {
                    (0.5 * abs * abs, err)
                } else {
                    (abs - 0.5, err.signum())
                }
            }
        };
        g.value += v_loss / bf;
        g.d_value[i] = cfg.value_coef as f32 * d_err / bf;
        // d total / d outputs
        let dp = &mut g.d_policy[i * a..(i + 1) * a];
        match log_std {
            None => {
                let act = raw[i] as usize;
                for k in 0..a {
                    let logp = row[k] - lse;
                    let one = if k == act { 1.0 } else { 0.0 };
                    dp[k] = d_lp * (one - probs[k]) + beta / bf * probs[k] * (logp + ent);
                }
            }
            Some(_) => {
                for d in 0..a {
                    let (dm, dls) = d_gauss[d];
                    dp[d] = d_lp * dm;
                    g.d_log_std[d] += d_lp * dls;
                }
            }
        }
    }
    // the entropy bonus on the log std: -beta * mean(sum(log_std + c)),
    // this shard's part of the mean
    for d in &mut g.d_log_std {
        *d -= beta * b as f32 / bf;
    }
    g
}
