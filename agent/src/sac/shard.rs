//! One shard of a SAC minibatch: the critics' pass (their loss and the
//! gradients of the critics and the encoder) and the actor's pass (the
//! actor's and the value head's loss and gradients), on rows `lo..hi`.

use super::config::SacConfig;
use super::critic::{Critic, CriticCache};
use super::math::{
    SquashedSample, actor_loss, critic_loss, soft_q_target, squashed_gaussian_sample,
};
use super::replay::Batch;
use crate::native::{Cache, Layout, col_sums, gemm};
use std::time::Instant;

/// One shard's buffers.
#[derive(Debug, Default)]
pub(super) struct Shard {
    pub(super) obs: Cache,
    pub(super) next: Cache,
    pub(super) target: Cache,
    pub(super) critic: CriticCache,
    pub(super) critic_target: CriticCache,
    /// Gradients flat like the layout's parameters (encoder, then heads).
    pub(super) g_net: Vec<f32>,
    pub(super) g_q: Vec<f32>,
    pub(super) dx: Vec<f32>,
    pub(super) dh: Vec<f32>,
    pub(super) next_actions: Vec<f32>,
    pub(super) next_log_probs: Vec<f32>,
    pub(super) actions: Vec<f32>,
    pub(super) log_probs: Vec<f32>,
    pub(super) dq: [Vec<f32>; 2],
    pub(super) d_policy: Vec<f32>,
    pub(super) d_value: Vec<f32>,
}

/// One shard's sums (divided by the minibatch size already) and times (s).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct ShardOut {
    pub(super) critic_loss: f32,
    pub(super) actor_loss: f32,
    pub(super) value_loss: f32,
    pub(super) log_prob: f32,
    pub(super) q: f32,
    pub(super) forward_s: f64,
    pub(super) backward_s: f64,
}

/// What a minibatch's gradient step reads.
pub(super) struct Step<'a> {
    pub(super) batch: &'a Batch,
    /// Standard-normal noise of the next actions and of the actor's
    /// actions, `[b, A]` each.
    pub(super) noise_next: &'a [f32],
    pub(super) noise_pi: &'a [f32],
    pub(super) alpha: f32,
    pub(super) total: usize,
}

pub(super) fn add_into(acc: &mut [f32], x: &[f32]) {
    for (a, v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}

/// Squashed-Gaussian samples of every row of a head's outputs `policy`
/// (`[n, 2a]`: means, then raw log stds) for the noise `[n, a]`: the
/// actions (`[n, a]`) and each row's log-probability (`[n]`) replace the
/// buffers' contents; `each` sees every dimension's sample.
fn sample_rows(
    policy: &[f32],
    a: usize,
    noise: &[f32],
    actions: &mut Vec<f32>,
    log_probs: &mut Vec<f32>,
    mut each: impl FnMut(SquashedSample),
) {
    actions.clear();
    log_probs.clear();
    for (out, z) in policy.chunks_exact(2 * a).zip(noise.chunks_exact(a)) {
        let mut lp = 0.0;
        for d in 0..a {
            let s = squashed_gaussian_sample(out[d], out[a + d], z[d]);
            actions.push(s.action);
            lp += s.log_prob;
            each(s);
        }
        log_probs.push(lp);
    }
}

/// Rows `lo..hi` of an `[n, len]` array.
fn rows(v: &[f32], len: usize, lo: usize, hi: usize) -> &[f32] {
    &v[lo * len..hi * len]
}

impl Shard {
    /// The critics' loss and gradients (critics and encoder) of rows
    /// `lo..hi` of the minibatch.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn critic_pass(
        &mut self,
        layout: &Layout,
        critic: &Critic,
        cfg: &SacConfig,
        p: &[f32],
        q: &[f32],
        q_target: &[f32],
        net_target: &[f32],
        step: &Step<'_>,
        lo: usize,
        hi: usize,
    ) -> ShardOut {
        self.g_net.clear();
        self.g_net.resize(layout.len, 0.0);
        self.g_q.clear();
        self.g_q.resize(critic.len(), 0.0);
        let n = hi - lo;
        if n == 0 {
            return ShardOut::default();
        }
        let t0 = Instant::now();
        let batch = step.batch;
        let a = critic.actions;
        let cam = batch.obs.camera.len() / step.total;
        let bf = step.total as f32;
        layout.forward(p, rows(&batch.obs.camera, cam, lo, hi), n, &mut self.obs);
        let next_cam = rows(&batch.next_obs.camera, cam, lo, hi);
        layout.forward(p, next_cam, n, &mut self.next);
        layout.forward(net_target, next_cam, n, &mut self.target);
        // a' ~ pi(. | s') by the online actor
        sample_rows(
            &self.next.policy,
            a,
            &step.noise_next[lo * a..hi * a],
            &mut self.next_actions,
            &mut self.next_log_probs,
            |_| {},
        );
        critic.forward(
            q_target,
            self.target.features(),
            &self.next_actions,
            n,
            &mut self.critic_target,
        );
        critic.forward(
            q,
            self.obs.features(),
            rows(&batch.actions, a, lo, hi),
            n,
            &mut self.critic,
        );
        let gamma = cfg.discount_factor as f32;
        let mut loss = 0.0;
        for j in 0..2 {
            self.dq[j].clear();
        }
        for r in 0..n {
            let y = soft_q_target(
                batch.rewards[lo + r],
                batch.terminated[lo + r],
                gamma,
                self.critic_target.q[0][r],
                self.critic_target.q[1][r],
                step.alpha,
                self.next_log_probs[r],
            );
            for j in 0..2 {
                let (l, d) = critic_loss(self.critic.q[j][r], y, cfg.loss_type);
                loss += l / bf;
                self.dq[j].push(d / bf);
            }
        }
        let t1 = Instant::now();
        critic.backward(
            q,
            &mut self.critic,
            [&self.dq[0], &self.dq[1]],
            Some(&mut self.g_q),
            &mut self.dx,
        );
        let f = critic.features;
        self.dh.clear();
        for r in 0..n {
            self.dh
                .extend_from_slice(&self.dx[r * (f + a)..r * (f + a) + f]);
        }
        layout.backward_features(p, &mut self.obs, &self.dh, &mut self.g_net);
        ShardOut {
            critic_loss: loss,
            forward_s: (t1 - t0).as_secs_f64(),
            backward_s: t1.elapsed().as_secs_f64(),
            ..ShardOut::default()
        }
    }

    /// The actor's and the value head's loss and gradients (the heads'
    /// slots of `g_net`) of rows `lo..hi`, on the features of the critic
    /// pass, with the critics `q`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn actor_pass(
        &mut self,
        layout: &Layout,
        critic: &Critic,
        q: &[f32],
        step: &Step<'_>,
        lo: usize,
        hi: usize,
    ) -> ShardOut {
        let n = hi - lo;
        self.log_probs.clear();
        if n == 0 {
            return ShardOut::default();
        }
        let t0 = Instant::now();
        let a = critic.actions;
        let bf = step.total as f32;
        let alpha = step.alpha;
        let mut samples = Vec::with_capacity(n * a);
        sample_rows(
            &self.obs.policy,
            a,
            &step.noise_pi[lo * a..hi * a],
            &mut self.actions,
            &mut self.log_probs,
            |s| samples.push(s),
        );
        critic.forward(q, self.obs.features(), &self.actions, n, &mut self.critic);
        // d loss / d Q_j: the smaller critic carries the gradient
        let mut out = ShardOut::default();
        for j in 0..2 {
            self.dq[j].clear();
        }
        self.d_value.clear();
        for r in 0..n {
            let (q1, q2) = (self.critic.q[0][r], self.critic.q[1][r]);
            let lp = self.log_probs[r];
            out.actor_loss += actor_loss(alpha, lp, q1, q2) / bf;
            out.log_prob += lp / bf;
            out.q += q1.min(q2) / bf;
            let first = q1 <= q2;
            self.dq[0].push(if first { -1.0 / bf } else { 0.0 });
            self.dq[1].push(if first { 0.0 } else { -1.0 / bf });
            // the value head's regression on the soft state value
            let v_target = q1.min(q2) - alpha * lp;
            let e = self.obs.value[r] - v_target;
            out.value_loss += 0.5 * e * e / bf;
            self.d_value.push(e / bf);
        }
        let t1 = Instant::now();
        critic.backward(
            q,
            &mut self.critic,
            [&self.dq[0], &self.dq[1]],
            None,
            &mut self.dx,
        );
        // d loss / d (mean, log std) through the action and ln pi
        let f = critic.features;
        self.d_policy.clear();
        self.d_policy.resize(n * 2 * a, 0.0);
        for r in 0..n {
            for d in 0..a {
                let s = &samples[r * a + d];
                let dl_da = self.dx[r * (f + a) + f + d];
                let dl_dlp = alpha / bf;
                self.d_policy[r * 2 * a + d] =
                    dl_dlp * s.d_log_prob_d_mean + dl_da * s.d_action_d_mean;
                self.d_policy[r * 2 * a + a + d] =
                    dl_dlp * s.d_log_prob_d_log_std + dl_da * s.d_action_d_log_std;
            }
        }
        // the heads are dense layers on the features
        let h = self.obs.features();
        let (pw, pb) = layout.policy;
        let (vw, vb) = layout.value;
        let g = &mut self.g_net;
        gemm(
            f,
            n,
            2 * a,
            h,
            true,
            &self.d_policy,
            false,
            1.0,
            &mut g[pw.offset..pw.offset + pw.len],
        );
        col_sums(&self.d_policy, 2 * a, &mut g[pb.offset..pb.offset + pb.len]);
        gemm(
            f,
            n,
            1,
            h,
            true,
            &self.d_value,
            false,
            1.0,
            &mut g[vw.offset..vw.offset + vw.len],
        );
        g[vb.offset] += self.d_value.iter().sum::<f32>();
        out.forward_s = (t1 - t0).as_secs_f64();
        out.backward_s = t1.elapsed().as_secs_f64();
        out
    }
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
