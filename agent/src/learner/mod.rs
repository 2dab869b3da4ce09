//! The learner: an [`ActorCritic`], its Adam optimizer and the clipped-PPO
//! update; acting (sampling actions) for rollouts and evaluation.

use crate::error::AgentError;
use crate::net::{ActorCritic, ActorCriticConfig, HeadKind, ObsBatch};
use crate::ppo::{PpoConfig, categorical_log_prob_entropy, gaussian_log_prob_entropy, ppo_loss};
pub use sampling::clipped_gaussian_mean;
use sampling::{sample_categorical, sample_gaussian, sample_squashed_gaussian, to_action};

mod io;
mod native;
#[cfg(test)]
mod native_tests;
mod sampling;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use chicane_core::{Action, ActionSpace};
use rand::Rng;
use rand::seq::SliceRandom;
pub use sampling::{head_for, head_for_algorithm};
use serde::{Deserialize, Serialize};

/// Observations on the host, for a batch of `n` envs.
///
/// # Shapes
/// `camera`: `[n, C, H, W]` f32 flattened (empty without a camera);
/// `vector`: `[n, L]` f32 flattened (empty without lidar).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostObs {
    /// Number of observations.
    pub n: usize,
    /// Preprocessed camera frames.
    pub camera: Vec<f32>,
    /// Lidar ranges (m).
    pub vector: Vec<f32>,
}

/// One sampled action with what PPO needs to learn from it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySample {
    /// The action for the env.
    pub action: Action,
    /// The raw policy output: the index (categorical) or the unclipped
    /// Gaussian sample in `[-1, 1]` units.
    pub raw: Vec<f32>,
    /// `log pi(raw | obs)`.
    pub log_prob: f32,
    /// The value estimate `V(obs)`.
    pub value: f32,
}

/// Averages over one update (PPO's, or SAC's gradient steps).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// PPO's clipped surrogate loss (or the vanilla gradient's); SAC's
    /// actor loss `alpha ln pi - min Q`.
    pub policy_loss: f32,
    /// PPO's value loss; SAC's critics' loss (the two critics' sum).
    pub value_loss: f32,
    /// Policy entropy (nats; SAC's is the estimate `-mean ln pi` of the
    /// actor's samples).
    pub entropy: f32,
    /// Approximate KL divergence between the old and new policies (PPO; 0
    /// for SAC, which has no old policy).
    pub approx_kl: f32,
    /// Fraction of clipped ratios (PPO; 0 for SAC).
    pub clip_fraction: f32,
    /// Gradient norm before clipping (PPO); the critics' and encoder's
    /// gradient norm (SAC, which does not clip).
    pub grad_norm: f32,
    /// Gradient steps taken.
    pub gradient_steps: u64,
    /// SAC's entropy temperature alpha after the update (absent for PPO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// SAC: the mean of `min(Q1, Q2)` of the actor's actions over the
    /// update (absent for PPO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q_mean: Option<f32>,
    /// SAC: transitions in the replay buffer after the update (absent for
    /// PPO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_size: Option<u64>,
}

/// Experience for one update, flattened over envs and steps (step-major:
/// row `t * N + i` is env `i`'s step `t`).
///
/// # Shapes
/// `obs`: `B` observations; `raw_actions`: `[B, D]` (`D` = 1 for a
/// categorical head); `next_obs`: `F` observations; the rest `[B]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Rollout {
    /// Observations.
    pub obs: HostObs,
    /// Raw actions as in [`PolicySample::raw`].
    pub raw_actions: Vec<f32>,
    /// Log-probabilities under the policy that acted.
    pub log_probs: Vec<f32>,
    /// GAE advantages.
    pub advantages: Vec<f32>,
    /// Value targets (advantage + value).
    pub returns: Vec<f32>,
    /// The env's reward of each step (SAC learns from them; PPO's
    /// `returns` already hold them).
    pub rewards: Vec<f32>,
    /// True where the step ended its episode in a terminal state (off
    /// track, crashed, lap complete...): nothing is bootstrapped after it.
    /// A truncated episode (time up) is not terminated.
    pub terminated: Vec<bool>,
    /// Where each step's next observation is: `j < B` is row `j` of `obs`,
    /// `B + j` row `j` of `next_obs` (a terminated step may point anywhere:
    /// its next observation is never read).
    pub next: Vec<u32>,
    /// The next observations that are not rows of `obs`: truncated
    /// episodes' final observations and the observations after the
    /// rollout's last step.
    pub next_obs: HostObs,
}

/// The network, optimizer and PPO settings of one agent.
pub struct Learner {
    net: ActorCriticConfig,
    ppo: PpoConfig,
    action_space: ActionSpace,
    device: Device,
    model: ActorCritic,
    inference: ActorCritic,
    optim: ModuleOptimizer,
    /// The native CPU path ([`Learner::use_native`]); the burn model is
    /// kept in step with it after every update.
    native: Option<native::NativeState>,
    /// SAC's critics, targets, temperature and replay buffer, when this
    /// learner trains with SAC ([`Learner::new_sac`]); PPO's otherwise.
    sac: Option<crate::sac::SacState>,
    timings: std::sync::Mutex<LearnerTimings>,
}

/// Where a learner's time went (s, since it was made or
/// [`Learner::take_timings`] last took them): for `chicane bench train`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct LearnerTimings {
    /// Policy and value inference for acting (`act`, `values`).
    pub inference_s: f64,
    /// Gathering minibatches and moving them to the device.
    pub batch_s: f64,
    /// The update's forward pass and loss.
    pub forward_s: f64,
    /// Backpropagation and gradient clipping.
    pub backward_s: f64,
    /// The Adam step.
    pub optimizer_s: f64,
}

impl std::ops::AddAssign for LearnerTimings {
    fn add_assign(&mut self, t: LearnerTimings) {
        // destructured, so that a new field cannot be left out
        let LearnerTimings {
            inference_s,
            batch_s,
            forward_s,
            backward_s,
            optimizer_s,
        } = t;
        self.inference_s += inference_s;
        self.batch_s += batch_s;
        self.forward_s += forward_s;
        self.backward_s += backward_s;
        self.optimizer_s += optimizer_s;
    }
}

impl std::fmt::Debug for Learner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learner")
            .field("network", &self.net.network)
            .field("params", &self.model.num_params())
            .field("native", &self.native.is_some())
            .finish_non_exhaustive()
    }
}

impl Learner {
    fn time(&self, f: impl FnOnce(&mut LearnerTimings) -> &mut f64, since: std::time::Instant) {
        *f(&mut self.timings_mut()) += since.elapsed().as_secs_f64();
    }

    /// The timings, whatever a panicking holder left.
    fn timings_mut(&self) -> std::sync::MutexGuard<'_, LearnerTimings> {
        self.timings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timings so far, zeroing them.
    pub fn take_timings(&self) -> LearnerTimings {
        std::mem::take(&mut *self.timings_mut())
    }

    /// Adds `t` to the timings (an actor's, back from a rollout).
    pub(crate) fn add_timings(&self, t: LearnerTimings) {
        *self.timings_mut() += t;
    }

    /// A copy of this learner's current policy that acts (`act`, `values`)
    /// in a rollout while this learner updates: the same network and
    /// weights, without optimizer state (burn's tensors are shared, the
    /// native parameters copied: 1.6 MB for FAST_CNN). Updating the copy
    /// is not meant: its optimizer starts fresh.
    pub(crate) fn actor(&self) -> Learner {
        Learner {
            net: self.net.clone(),
            ppo: self.ppo.clone(),
            action_space: self.action_space.clone(),
            device: self.device.clone(),
            model: self.model.clone(),
            inference: self.inference.clone(),
            optim: AdamConfig::new().with_epsilon(1e-5).init(),
            native: self.native.as_ref().map(native::NativeState::actor),
            sac: None,
            timings: std::sync::Mutex::new(LearnerTimings::default()),
        }
    }

    /// A fresh agent. Weights are initialised from `seed` on `device` (a
    /// plain device; gradients are enabled here).
    ///
    /// # Errors
    /// [`AgentError::Shape`] or [`AgentError::Hyperparameter`] for a config
    /// that cannot work.
    pub fn new(
        net: ActorCriticConfig,
        ppo: PpoConfig,
        action_space: ActionSpace,
        device: &Device,
        seed: u64,
    ) -> Result<Learner, AgentError> {
        ppo.validate()?;
        if !net.head.fits(&action_space) {
            return Err(AgentError::Shape(format!(
                "the network's head {:?} does not fit the action space",
                net.head
            )));
        }
        device.seed(seed);
        let device = device.clone().autodiff();
        let model = net.init(&device)?;
        let inference = model.valid();
        Ok(Learner {
            timings: std::sync::Mutex::new(LearnerTimings::default()),
            optim: AdamConfig::new().with_epsilon(1e-5).init(),
            native: None,
            sac: None,
            net,
            ppo,
            action_space,
            device,
            model,
            inference,
        })
    }

    /// A fresh SAC agent (`training_algorithm: "sac"`) on chicane's native
    /// CPU kernels: the network `net` (its head a
    /// [`HeadKind::SquashedGaussian`], its weights initialised from `seed`
    /// on `device`, which holds the record for checkpoints and export),
    /// twin critics and an empty replay buffer. Rollouts act with it as
    /// with PPO; [`Learner::update`] adds each rollout to the replay buffer
    /// and learns from it.
    ///
    /// # Errors
    /// [`AgentError::Unsupported`] when the native kernels do not cover the
    /// network (lidar inputs, the MLP); [`AgentError::Shape`] or
    /// [`AgentError::Hyperparameter`] for a config that cannot work.
    pub fn new_sac(
        net: ActorCriticConfig,
        sac: crate::sac::SacConfig,
        action_space: ActionSpace,
        device: &Device,
        seed: u64,
    ) -> Result<Learner, AgentError> {
        if !matches!(net.head, HeadKind::SquashedGaussian(_)) {
            return Err(AgentError::Shape(format!(
                "SAC needs a squashed-Gaussian head, not {:?} (a continuous action space)",
                net.head
            )));
        }
        let ppo = PpoConfig {
            discount_factor: sac.discount_factor,
            ..PpoConfig::default()
        };
        let mut learner = Learner::new(net, ppo, action_space, device, seed)?;
        if !learner.use_native()? {
            return Err(AgentError::Unsupported(format!(
                "SAC trains on chicane's native CPU kernels, which cover camera-only \
                 convolutional networks; {} with {} does not fit them (train a camera-only \
                 CNN: FAST_CNN or DeepRacer's networks, without lidar)",
                learner.net.network,
                if learner.net.vector.is_some() {
                    "a lidar input"
                } else {
                    "this input"
                }
            )));
        }
        let nat = learner
            .native
            .as_ref()
            .ok_or_else(|| AgentError::Unsupported("the native path is off".into()))?;
        let cam_len = learner.net.camera.map_or(0, |[c, h, w]| c * h * w);
        let state = crate::sac::SacState::new(
            sac,
            &nat.layout,
            &nat.params,
            cam_len,
            learner.net.vector.unwrap_or(0),
            learner.net.network.downscale(),
            seed,
        )?;
        learner.sac = Some(state);
        Ok(learner)
    }

    /// SAC's settings when this learner trains with SAC.
    pub fn sac(&self) -> Option<&crate::sac::SacConfig> {
        self.sac.as_ref().map(crate::sac::SacState::config)
    }

    /// Moves acting and the PPO update onto chicane's own CPU kernels
    /// (`crate::native`, verified against burn in `agent/tests/native.rs`)
    /// when they cover the network: camera-only convolutional networks.
    /// Returns whether they do; the learner stays on burn otherwise. Call
    /// it before [`Learner::load`]: the native path keeps its optimizer
    /// state in `optimizer.native`, not burn's `optimizer.bpk`.
    ///
    /// # Errors
    /// [`AgentError::Shape`] when the model does not match its config (a
    /// bug).
    pub fn use_native(&mut self) -> Result<bool, AgentError> {
        self.native = native::NativeState::of(&self.net, &self.model)?;
        Ok(self.native.is_some())
    }

    /// True when acting and updates run on the native CPU path.
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// The inference copy of the network (no autodiff).
    pub(crate) fn inference_model(&self) -> &ActorCritic {
        &self.inference
    }

    /// The network config.
    pub fn network(&self) -> &ActorCriticConfig {
        &self.net
    }

    /// The PPO settings.
    pub fn ppo(&self) -> &PpoConfig {
        &self.ppo
    }

    /// Replaces the PPO settings (a cloned model trains with new
    /// hyperparameters).
    ///
    /// # Errors
    /// [`AgentError::Hyperparameter`] for a bad setting.
    pub fn set_ppo(&mut self, ppo: PpoConfig) -> Result<(), AgentError> {
        ppo.validate()?;
        self.ppo = ppo;
        Ok(())
    }

    /// The action space.
    pub fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    /// Number of trainable parameters.
    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }

    /// Checks that `obs` fits the network's inputs.
    fn check_obs(&self, obs: &HostObs) -> Result<(), AgentError> {
        let n = obs.n;
        let want_cam = self.net.camera.map_or(0, |[c, h, w]| n * c * h * w);
        let want_vec = self.net.vector.map_or(0, |l| n * l);
        if obs.camera.len() != want_cam || obs.vector.len() != want_vec {
            return Err(AgentError::Shape(format!(
                "{n} observations of {} camera values and {} vector values do not fit the \
                 network's camera {:?} and vector {:?} inputs",
                obs.camera.len(),
                obs.vector.len(),
                self.net.camera,
                self.net.vector
            )));
        }
        Ok(())
    }

    fn batch(&self, obs: &HostObs, device: &Device) -> Result<ObsBatch, AgentError> {
        self.check_obs(obs)?;
        let n = obs.n;
        Ok(ObsBatch {
            camera: self
                .net
                .camera
                .filter(|_| !obs.camera.is_empty())
                .map(|[c, h, w]| {
                    Tensor::from_data(TensorData::new(obs.camera.clone(), [n, c, h, w]), device)
                }),
            vector: self
                .net
                .vector
                .filter(|_| !obs.vector.is_empty())
                .map(|l| Tensor::from_data(TensorData::new(obs.vector.clone(), [n, l]), device)),
        })
    }

    /// Policy outputs `[n, A]`, values `[n]` and the Gaussian log std `[A]`
    /// (empty for a categorical head) of `obs`.
    #[allow(clippy::type_complexity)]
    fn outputs(&self, obs: &HostObs) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>), AgentError> {
        if let Some(nat) = &self.native {
            self.check_obs(obs)?;
            let (policy, values) = nat.forward(&obs.camera, obs.n);
            let log_std = nat.log_std().map_or_else(Vec::new, <[f32]>::to_vec);
            return Ok((policy, values, log_std));
        }
        let plain = self.device.clone().without_autodiff();
        let (policy, value) = self.inference.forward(&self.batch(obs, &plain)?);
        let log_std = match self.inference.log_std() {
            Some(t) => host_vec(t, "log_std")?,
            None => Vec::new(),
        };
        Ok((
            host_vec(policy, "policy")?,
            host_vec(value, "value")?,
            log_std,
        ))
    }

    /// Samples an action for each observation (or takes the most likely
    /// one when `deterministic`: the arg-max action, or the Gaussian mean).
    ///
    /// # Shapes
    /// `obs`: `n` observations; returns `n` samples.
    ///
    /// # Errors
    /// [`AgentError::Shape`] when `obs` does not fit the network's inputs,
    /// or the device cannot hand back the outputs.
    pub fn act(
        &self,
        obs: &HostObs,
        rng: &mut impl Rng,
        deterministic: bool,
    ) -> Result<Vec<PolicySample>, AgentError> {
        let started = std::time::Instant::now();
        let (out, values, log_std) = self.outputs(obs)?;
        let a = self.net.head.outputs();
        self.time(|t| &mut t.inference_s, started);
        Ok((0..obs.n)
            .map(|i| {
                let row = &out[i * a..(i + 1) * a];
                let (raw, log_prob) = match self.net.head {
                    HeadKind::Categorical(_) => sample_categorical(row, rng, deterministic),
                    HeadKind::Gaussian(_) => sample_gaussian(row, &log_std, rng, deterministic),
                    HeadKind::SquashedGaussian(_) => {
                        sample_squashed_gaussian(row, rng, deterministic)
                    }
                };
                PolicySample {
                    action: to_action(&self.action_space, &raw),
                    raw,
                    log_prob,
                    value: values[i],
                }
            })
            .collect())
    }

    /// What the exported ONNX policy outputs for each observation: action
    /// probabilities (softmax of the logits) for a categorical head, the
    /// mean action for a Gaussian one ([`clipped_gaussian_mean`] of each
    /// dimension, in `[-1, 1]`), `tanh` of the mean for a squashed
    /// Gaussian (SAC's deterministic action).
    ///
    /// # Shapes
    /// Returns `[n, A]` flattened.
    ///
    /// # Errors
    /// As [`Learner::act`].
    pub fn policy_output(&self, obs: &HostObs) -> Result<Vec<f32>, AgentError> {
        let (mut policy, _, log_std) = self.outputs(obs)?;
        match self.net.head {
            HeadKind::Categorical(a) => {
                for row in policy.chunks_exact_mut(a.max(1)) {
                    sampling::softmax_in_place(row);
                }
            }
            HeadKind::Gaussian(a) => {
                for row in policy.chunks_exact_mut(a.max(1)) {
                    for (m, ls) in row.iter_mut().zip(&log_std) {
                        *m = clipped_gaussian_mean(*m, ls.exp());
                    }
                }
            }
            HeadKind::SquashedGaussian(a) => {
                // the first half of each row: the means
                policy = policy
                    .chunks_exact(2 * a.max(1))
                    .flat_map(|row| row[..a].iter().map(|m| m.tanh()))
                    .collect();
            }
        }
        Ok(policy)
    }

    /// State values of a batch of observations.
    ///
    /// # Shapes
    /// Returns `[n]`.
    ///
    /// # Errors
    /// As [`Learner::act`].
    pub fn values(&self, obs: &HostObs) -> Result<Vec<f32>, AgentError> {
        let started = std::time::Instant::now();
        let (_, values, _) = self.outputs(obs)?;
        self.time(|t| &mut t.inference_s, started);
        Ok(values)
    }

    /// One PPO update: `num_epochs` passes over `rollout` in shuffled
    /// minibatches of `batch_size`.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] when a loss or gradient is NaN or infinite;
    /// the model is then left as it was before the offending step.
    pub fn update(
        &mut self,
        rollout: &Rollout,
        rng: &mut impl Rng,
    ) -> Result<UpdateStats, AgentError> {
        if let Some(sac) = self.sac.as_mut() {
            let nat = self.native.as_mut().ok_or_else(|| {
                AgentError::Unsupported("SAC's learner lost its native path (a bug)".into())
            })?;
            let (stats, [f, b, o]) = sac.update(&nat.layout, &mut nat.params, rollout, rng)?;
            {
                let mut t = self.timings.lock().unwrap_or_else(|e| e.into_inner());
                t.forward_s += f;
                t.backward_s += b;
                t.optimizer_s += o;
            }
            native::from_flat(&mut self.model, &nat.layout, &nat.params);
            self.inference = self.model.valid();
            return Ok(stats);
        }
        if let HeadKind::SquashedGaussian(_) = self.net.head {
            return Err(AgentError::Unsupported(
                "a squashed-Gaussian (SAC) policy learns with SAC (training_algorithm \"sac\"), \
                 not PPO"
                    .into(),
            ));
        }
        let total = rollout.log_probs.len();
        let mut stats = UpdateStats::default();
        if total == 0 {
            return Ok(stats);
        }
        let d = rollout.raw_actions.len() / total;
        let cam_len = self.net.camera.map_or(0, |c| c[0] * c[1] * c[2]);
        let vec_len = self.net.vector.unwrap_or(0);
        let mut idx: Vec<usize> = (0..total).collect();
        let mut count = 0.0f32;
        for _ in 0..self.ppo.num_epochs {
            idx.shuffle(rng);
            for chunk in idx.chunks(self.ppo.batch_size) {
                let started = std::time::Instant::now();
                let b = chunk.len();
                let mut obs = HostObs {
                    n: b,
                    camera: Vec::with_capacity(b * cam_len),
                    vector: Vec::with_capacity(b * vec_len),
                };
                let (mut raw, mut old_lp, mut adv, mut ret) = (
                    Vec::with_capacity(b * d),
                    Vec::with_capacity(b),
                    Vec::with_capacity(b),
                    Vec::with_capacity(b),
                );
                for &k in chunk {
                    if cam_len > 0 && !rollout.obs.camera.is_empty() {
                        obs.camera
                            .extend_from_slice(&rollout.obs.camera[k * cam_len..(k + 1) * cam_len]);
                    }
                    if vec_len > 0 && !rollout.obs.vector.is_empty() {
                        obs.vector
                            .extend_from_slice(&rollout.obs.vector[k * vec_len..(k + 1) * vec_len]);
                    }
                    raw.extend_from_slice(&rollout.raw_actions[k * d..(k + 1) * d]);
                    old_lp.push(rollout.log_probs[k]);
                    adv.push(rollout.advantages[k]);
                    ret.push(rollout.returns[k]);
                }
                if self.ppo.normalize_advantage && b > 1 {
                    let mean = adv.iter().sum::<f32>() / b as f32;
                    let var = adv.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / (b - 1) as f32;
                    let std = var.sqrt() + 1e-8;
                    adv.iter_mut().for_each(|a| *a = (*a - mean) / std);
                }
                self.time(|t| &mut t.batch_s, started);
                let s = match self.native.as_mut() {
                    Some(nat) => {
                        let (s, [f, b, o]) =
                            nat.step(&self.ppo, &obs.camera, &raw, &old_lp, &adv, &ret)?;
                        let mut t = self.timings.lock().unwrap_or_else(|e| e.into_inner());
                        t.forward_s += f;
                        t.backward_s += b;
                        t.optimizer_s += o;
                        s
                    }
                    None => self.step(&obs, raw, old_lp, adv, ret)?,
                };
                stats.policy_loss += s.policy_loss;
                stats.value_loss += s.value_loss;
                stats.entropy += s.entropy;
                stats.approx_kl += s.approx_kl;
                stats.clip_fraction += s.clip_fraction;
                stats.grad_norm += s.grad_norm;
                stats.gradient_steps += 1;
                count += 1.0;
            }
        }
        stats.policy_loss /= count;
        stats.value_loss /= count;
        stats.entropy /= count;
        stats.approx_kl /= count;
        stats.clip_fraction /= count;
        stats.grad_norm /= count;
        if let Some(nat) = &self.native {
            native::from_flat(&mut self.model, &nat.layout, &nat.params);
        }
        self.inference = self.model.valid();
        Ok(stats)
    }

    fn step(
        &mut self,
        obs: &HostObs,
        raw: Vec<f32>,
        old_lp: Vec<f32>,
        adv: Vec<f32>,
        ret: Vec<f32>,
    ) -> Result<UpdateStats, AgentError> {
        let started = std::time::Instant::now();
        let dev = &self.device;
        let b = old_lp.len();
        let (policy, values) = self.model.forward(&self.batch(obs, dev)?);
        let (log_prob, entropy) = match self.net.head {
            HeadKind::Categorical(_) => {
                let actions: Vec<i64> = raw.iter().map(|&a| a as i64).collect();
                let actions = Tensor::<1, Int>::from_data(TensorData::new(actions, [b]), dev);
                categorical_log_prob_entropy(policy, actions)
            }
            HeadKind::Gaussian(n) => {
                let actions = Tensor::<2>::from_data(TensorData::new(raw, [b, n]), dev);
                let log_std = self.model.log_std().ok_or_else(|| {
                    AgentError::Shape("a Gaussian head without its log std".into())
                })?;
                gaussian_log_prob_entropy(policy, log_std, actions)
            }
            HeadKind::SquashedGaussian(_) => {
                return Err(AgentError::Unsupported(
                    "a squashed-Gaussian (SAC) policy learns with SAC, not PPO".into(),
                ));
            }
        };
        let t1 = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [b]), dev);
        let loss = ppo_loss(
            log_prob,
            t1(old_lp),
            t1(adv),
            values,
            t1(ret),
            entropy,
            &self.ppo,
        );
        for (name, v) in [
            ("policy loss", loss.policy),
            ("value loss", loss.value),
            ("entropy", loss.entropy),
        ] {
            if !v.is_finite() {
                return Err(AgentError::NonFinite(name.into()));
            }
        }
        self.time(|t| &mut t.forward_s, started);
        let started = std::time::Instant::now();
        let grads = loss.total.backward();
        let mut grads = GradientsParams::from_grads(grads, &self.model);
        let norm = clip_grad_norm(&self.model, &mut grads, self.ppo.max_grad_norm as f32);
        if !norm.is_finite() {
            return Err(AgentError::NonFinite("gradient norm".into()));
        }
        self.time(|t| &mut t.backward_s, started);
        let started = std::time::Instant::now();
        let model = self.model.clone();
        self.model = self.optim.step(self.ppo.lr, model, grads);
        self.time(|t| &mut t.optimizer_s, started);
        Ok(UpdateStats {
            policy_loss: loss.policy,
            value_loss: loss.value,
            entropy: loss.entropy,
            approx_kl: loss.approx_kl,
            clip_fraction: loss.clip_fraction,
            grad_norm: norm,
            gradient_steps: 1,
            ..UpdateStats::default()
        })
    }
}

/// Scales every gradient so that their global L2 norm is at most
/// `max_norm`; returns the norm before scaling.
fn clip_grad_norm(model: &ActorCritic, grads: &mut GradientsParams, max_norm: f32) -> f32 {
    struct Norm<'a> {
        grads: &'a GradientsParams,
        sum: f32,
    }
    impl ModuleVisitor for Norm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.sum += g.square().sum().into_scalar::<f32>();
            }
        }
    }
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: f32,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                self.grads.register(param.id, g.mul_scalar(self.factor));
            }
        }
    }
    let mut n = Norm { grads, sum: 0.0 };
    model.visit(&mut n);
    let norm = n.sum.sqrt();
    if norm.is_finite() && norm > max_norm {
        let mut s = Scale {
            grads,
            factor: max_norm / (norm + 1e-6),
        };
        model.visit(&mut s);
    }
    norm
}

/// A tensor's values on the host.
fn host_vec<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>, AgentError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| AgentError::Shape(format!("cannot read the {what} output: {e:?}")))
}
