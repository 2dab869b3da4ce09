//! SAC's learner state on the native path and its gradient step.
//!
//! The network: the [`crate::ActorCritic`]'s encoder (convolutions,
//! camera dense layers, middleware) shared by the actor and the critics,
//! as in image-based SAC (Yarats et al. 2021, "Improving Sample Efficiency
//! in Model-Free Reinforcement Learning from Images", SAC-AE; Kostrikov et
//! al. 2021, DrQ): the critics' loss trains the encoder, the actor learns
//! on its features with the encoder held fixed. The actor is the policy
//! head (pre-tanh means and log standard deviations); the value head
//! learns the soft state value `V(s) = E[min Q(s, a) - alpha ln pi(a|s)]`
//! (Haarnoja et al. 2018a, eq. 5) on the same features, for display only:
//! targets come from the twin target critics. Targets: a Polyak copy of
//! the encoder and of both critics.
//!
//! One gradient step on a minibatch: the critics (and encoder) on the soft
//! Bellman target with clipped double Q; then the actor and value head on
//! the features of that forward pass with the updated critics; then the
//! temperature (when automatic); then the targets.

use super::config::{SacConfig, Temperature};
use super::critic::Critic;
use super::math::{soft_update, temperature_loss};
use super::replay::{Batch, ReplayBuffer};
use super::shard::{Shard, ShardOut, Step, add_into};
use crate::checkpoint::{read_postcard, write_postcard};
use crate::error::AgentError;
use crate::learner::{Rollout, UpdateStats};
use crate::native::{Adam, Layout};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The shards each minibatch is split into, run in parallel on rayon's
/// pool and summed in order: fixed, so results do not depend on the cores.
const SHARDS: usize = 2;

/// The file beside `model.bpk` that holds SAC's critics, targets,
/// temperature and optimizer state.
pub(crate) const SAC_FILE: &str = "sac.native";

/// The file of a stopping checkpoint that holds SAC's replay buffer.
pub(crate) const REPLAY_FILE: &str = "replay.bin";

/// What SAC learns beside the network (saved in `sac.native`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Learnt {
    /// Both critics' parameters.
    q: Vec<f32>,
    q_target: Vec<f32>,
    /// The target encoder, flat like the layout (its heads are not used).
    net_target: Vec<f32>,
    log_alpha: f32,
    adam_encoder: Adam,
    adam_q: Adam,
    adam_heads: Adam,
    adam_alpha: Adam,
}

impl Learnt {
    /// Whether `other` has this state's sizes.
    fn fits(&self, other: &Learnt) -> bool {
        other.q.len() == self.q.len()
            && other.q_target.len() == self.q_target.len()
            && other.net_target.len() == self.net_target.len()
            && other.adam_encoder.m.len() == self.adam_encoder.m.len()
            && other.adam_q.m.len() == self.adam_q.m.len()
            && other.adam_heads.m.len() == self.adam_heads.m.len()
            && other.adam_alpha.m.len() == self.adam_alpha.m.len()
    }
}

/// SAC's state beside the native network parameters.
pub(crate) struct SacState {
    cfg: SacConfig,
    critic: Critic,
    actions: usize,
    learnt: Learnt,
    replay: ReplayBuffer,
    shards: Vec<Shard>,
    g_encoder: Vec<f32>,
    g_heads: Vec<f32>,
    g_q: Vec<f32>,
    batch: Batch,
}

impl std::fmt::Debug for SacState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SacState")
            .field("cfg", &self.cfg)
            .field("replay", &self.replay.len())
            .finish_non_exhaustive()
    }
}

/// The rows `lo..hi` of a minibatch of `b` that shard `i` takes.
fn shard_rows(i: usize, b: usize) -> (usize, usize) {
    let per = b.div_ceil(SHARDS);
    let lo = (i * per).min(b);
    (lo, (lo + per).min(b))
}

/// `n` standard-normal numbers (Box-Muller).
fn normals(rng: &mut impl Rng, n: usize, out: &mut Vec<f32>) {
    out.clear();
    while out.len() < n {
        let u1: f32 = rng.random::<f32>().max(1e-12);
        let u2: f32 = rng.random();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f32::consts::PI * u2;
        out.push(r * t.cos());
        if out.len() < n {
            out.push(r * t.sin());
        }
    }
}

impl SacState {
    /// A fresh state for the network of `layout` with parameters `params`
    /// (its encoder becomes the target's), critics initialised from `seed`,
    /// an empty replay buffer for observations of `cam_len` camera values
    /// (box-downscaled by `downscale`) and `vec_len` vector values.
    ///
    /// # Errors
    /// [`AgentError::Hyperparameter`] for a bad setting;
    /// [`AgentError::Shape`] when the layout's head is not a squashed
    /// Gaussian's.
    pub fn new(
        cfg: SacConfig,
        layout: &Layout,
        params: &[f32],
        cam_len: usize,
        vec_len: usize,
        downscale: usize,
        seed: u64,
    ) -> Result<SacState, AgentError> {
        cfg.validate()?;
        if !layout.outputs.is_multiple_of(2) || layout.log_std.is_some() {
            return Err(AgentError::Shape(
                "SAC needs a squashed-Gaussian head (means and log standard deviations)".into(),
            ));
        }
        let actions = layout.outputs / 2;
        let critic = Critic {
            features: layout.features(),
            actions,
            hidden: cfg.critic_hidden,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ac0_c417_1c00);
        let q = critic.init(&mut rng);
        let enc = layout.encoder_len();
        Ok(SacState {
            replay: ReplayBuffer::new(cfg.buffer_size, cam_len, vec_len, actions, downscale),
            g_q: vec![0.0; q.len()],
            learnt: Learnt {
                log_alpha: (cfg.temperature.initial() as f32).ln(),
                adam_encoder: Adam::new(enc),
                adam_q: Adam::new(q.len()),
                adam_heads: Adam::new(layout.len - enc),
                adam_alpha: Adam::new(1),
                q_target: q.clone(),
                q,
                net_target: params.to_vec(),
            },
            g_encoder: vec![0.0; enc],
            g_heads: vec![0.0; layout.len - enc],
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            batch: Batch::default(),
            critic,
            actions,
            cfg,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SacConfig {
        &self.cfg
    }

    /// The temperature alpha now.
    pub fn alpha(&self) -> f32 {
        self.learnt.log_alpha.exp()
    }

    /// Adds `rollout` to the replay buffer, then takes
    /// `ceil(replay_ratio * steps / batch_size)` gradient steps on
    /// minibatches drawn from it, updating `params` (the layout's: encoder
    /// and heads). Returns the averages and the time spent in (forward,
    /// backward, optimizer) (s).
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] when a loss or gradient is NaN or
    /// infinite (the parameters keep the last finite step);
    /// [`AgentError::Shape`] for a rollout that does not fit the buffer.
    pub fn update(
        &mut self,
        layout: &Layout,
        params: &mut [f32],
        rollout: &Rollout,
        rng: &mut impl Rng,
    ) -> Result<(UpdateStats, [f64; 3]), AgentError> {
        self.replay.push(rollout)?;
        let b = self.cfg.batch_size;
        let steps = (self.cfg.replay_ratio * rollout.log_probs.len()).div_ceil(b);
        let mut stats = UpdateStats::default();
        let mut times = [0.0f64; 3];
        let (mut noise_next, mut noise_pi) = (Vec::new(), Vec::new());
        let mut batch = std::mem::take(&mut self.batch);
        let mut sums = ShardOut::default();
        for _ in 0..steps {
            self.replay.sample(b, rng, &mut batch)?;
            normals(rng, b * self.actions, &mut noise_next);
            normals(rng, b * self.actions, &mut noise_pi);
            let step = Step {
                batch: &batch,
                noise_next: &noise_next,
                noise_pi: &noise_pi,
                alpha: self.alpha(),
                total: b,
            };
            let (out, norm, t) = self.gradient_step(layout, params, &step)?;
            sums.critic_loss += out.critic_loss;
            sums.actor_loss += out.actor_loss;
            sums.value_loss += out.value_loss;
            sums.log_prob += out.log_prob;
            sums.q += out.q;
            stats.grad_norm += norm;
            stats.gradient_steps += 1;
            for (acc, v) in times.iter_mut().zip(t) {
                *acc += v;
            }
        }
        self.batch = batch;
        let n = stats.gradient_steps.max(1) as f32;
        stats.policy_loss = sums.actor_loss / n;
        stats.value_loss = sums.critic_loss / n;
        stats.entropy = -sums.log_prob / n;
        stats.grad_norm /= n;
        stats.temperature = Some(self.alpha());
        stats.q_mean = Some(sums.q / n);
        stats.replay_size = Some(self.replay.len() as u64);
        Ok((stats, times))
    }

    /// One gradient step; returns the step's losses, the critics' gradient
    /// norm and the (forward, backward, optimizer) times.
    fn gradient_step(
        &mut self,
        layout: &Layout,
        params: &mut [f32],
        step: &Step<'_>,
    ) -> Result<(ShardOut, f32, [f64; 3]), AgentError> {
        use rayon::prelude::*;
        let t0 = Instant::now();
        let b = step.total;
        let enc = layout.encoder_len();
        // the critics and the encoder
        let outs: Vec<ShardOut> = {
            let (critic, q, q_target, net_target) = (
                &self.critic,
                &self.learnt.q,
                &self.learnt.q_target,
                &self.learnt.net_target,
            );
            let cfg = &self.cfg;
            let p: &[f32] = params;
            self.shards
                .par_iter_mut()
                .enumerate()
                .map(|(i, shard)| {
                    let (lo, hi) = shard_rows(i, b);
                    shard.critic_pass(
                        layout, critic, cfg, p, q, q_target, net_target, step, lo, hi,
                    )
                })
                .collect()
        };
        let critic_loss: f32 = outs.iter().map(|o| o.critic_loss).sum();
        if !critic_loss.is_finite() {
            return Err(AgentError::NonFinite("critic loss".into()));
        }
        self.g_encoder.iter_mut().for_each(|g| *g = 0.0);
        self.g_q.iter_mut().for_each(|g| *g = 0.0);
        for shard in &self.shards {
            add_into(&mut self.g_encoder, &shard.g_net[..enc]);
            add_into(&mut self.g_q, &shard.g_q);
        }
        let norm = (self
            .g_encoder
            .iter()
            .chain(&self.g_q)
            .map(|g| g * g)
            .sum::<f32>())
        .sqrt();
        if !norm.is_finite() {
            return Err(AgentError::NonFinite("critic gradient norm".into()));
        }
        let t1 = Instant::now();
        let lr = self.cfg.lr as f32;
        self.learnt
            .adam_encoder
            .step(lr, &mut params[..enc], &self.g_encoder);
        self.learnt.adam_q.step(lr, &mut self.learnt.q, &self.g_q);
        let t2 = Instant::now();
        // the actor and the value head, on the same features, with the
        // updated critics
        let actor: Vec<ShardOut> = {
            let (critic, q) = (&self.critic, &self.learnt.q);
            self.shards
                .par_iter_mut()
                .enumerate()
                .map(|(i, shard)| {
                    let (lo, hi) = shard_rows(i, b);
                    shard.actor_pass(layout, critic, q, step, lo, hi)
                })
                .collect()
        };
        let actor_loss: f32 = actor.iter().map(|o| o.actor_loss).sum();
        if !actor_loss.is_finite() {
            return Err(AgentError::NonFinite("actor loss".into()));
        }
        self.g_heads.iter_mut().for_each(|g| *g = 0.0);
        for shard in &self.shards {
            add_into(&mut self.g_heads, &shard.g_net[enc..]);
        }
        if !self.g_heads.iter().all(|g| g.is_finite()) {
            return Err(AgentError::NonFinite("actor gradient".into()));
        }
        let t3 = Instant::now();
        self.learnt
            .adam_heads
            .step(lr, &mut params[enc..], &self.g_heads);
        let log_prob: f32 = actor.iter().map(|o| o.log_prob).sum();
        if let Temperature::Auto { target_entropy, .. } = self.cfg.temperature {
            let lps: Vec<f32> = self
                .shards
                .iter()
                .flat_map(|s| s.log_probs.iter().copied())
                .collect();
            let l = &mut self.learnt;
            let (_, d) = temperature_loss(l.log_alpha, &lps, target_entropy as f32);
            let mut la = [l.log_alpha];
            l.adam_alpha.step(lr, &mut la, &[d]);
            l.log_alpha = la[0];
        }
        let tau = self.cfg.tau as f32;
        let l = &mut self.learnt;
        soft_update(&mut l.net_target[..enc], &params[..enc], tau);
        soft_update(&mut l.q_target, &l.q, tau);
        // forward and backward split each parallel section's wall time as
        // the first shard's did
        let split = |o: &ShardOut, wall: f64| {
            let share = o.forward_s / (o.forward_s + o.backward_s).max(1e-12);
            (wall * share, wall * (1.0 - share))
        };
        let (f1, b1) = split(&outs[0], (t1 - t0).as_secs_f64());
        let (f2, b2) = split(&actor[0], (t3 - t2).as_secs_f64());
        let out = ShardOut {
            critic_loss,
            actor_loss,
            value_loss: actor.iter().map(|o| o.value_loss).sum(),
            log_prob,
            q: actor.iter().map(|o| o.q).sum(),
            forward_s: f1 + f2,
            backward_s: b1 + b2,
        };
        let opt = (t2 - t1).as_secs_f64() + t3.elapsed().as_secs_f64();
        Ok((out, norm, [f1 + f2, b1 + b2, opt]))
    }

    /// Writes the critics, targets, temperature and optimizer state to
    /// `dir/sac.native` and, with `replay`, the replay buffer to
    /// `dir/replay.bin` (postcard both).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file.
    pub fn save(&self, dir: &Path, replay: bool) -> Result<(), AgentError> {
        if replay {
            write_postcard(&dir.join(REPLAY_FILE), &self.replay)?;
        }
        write_postcard(&dir.join(SAC_FILE), &self.learnt)
    }

    /// Reads `dir/sac.native` into this state, and the replay buffer from
    /// `dir/replay.bin` when the checkpoint has one (the checkpoint a run
    /// stopped on); without, the buffer starts empty and refills before
    /// the next update.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file when it is missing,
    /// damaged or made for another network or buffer size; the state is
    /// unchanged then.
    pub fn load(&mut self, dir: &Path) -> Result<(), AgentError> {
        let replay_path = dir.join(REPLAY_FILE);
        let replay = if replay_path.is_file() {
            let r: ReplayBuffer = read_postcard(&replay_path)?;
            if let Some(why) = self.replay.mismatch(&r) {
                return Err(AgentError::Checkpoint {
                    path: replay_path,
                    detail: why,
                });
            }
            Some(r)
        } else {
            None
        };
        let path = dir.join(SAC_FILE);
        let err = |detail: String| AgentError::Checkpoint {
            path: path.clone(),
            detail,
        };
        if !path.is_file() {
            return Err(err(
                "missing: this checkpoint was not trained with SAC (training_algorithm \"sac\")"
                    .into(),
            ));
        }
        let r: Learnt = read_postcard(&path)?;
        if !self.learnt.fits(&r) {
            return Err(err(
                "holds the state of a different network or critic width".into(),
            ));
        }
        self.learnt = r;
        if let Some(r) = replay {
            self.replay = r;
        }
        Ok(())
    }

    /// Starts the targets and critics afresh around new network weights
    /// (weights loaded without SAC's state: a clone of another run).
    pub fn reset_targets(&mut self, params: &[f32]) {
        self.learnt.net_target = params.to_vec();
        self.learnt.q_target = self.learnt.q.clone();
    }
}
