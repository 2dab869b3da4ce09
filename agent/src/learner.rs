//! The learner: an [`ActorCritic`], its Adam optimizer and the clipped-PPO
//! update; acting (sampling actions) for rollouts and evaluation.

use crate::error::AgentError;
use crate::net::{ActorCritic, ActorCriticConfig, HeadKind, ObsBatch};
use crate::ppo::{PpoConfig, categorical_log_prob_entropy, gaussian_log_prob_entropy, ppo_loss};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use chicane_core::{Action, ActionSpace};
use rand::Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::path::Path;

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

/// Averages over one PPO update.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// Clipped surrogate loss.
    pub policy_loss: f32,
    /// Value loss.
    pub value_loss: f32,
    /// Policy entropy (nats).
    pub entropy: f32,
    /// Approximate KL divergence between the old and new policies.
    pub approx_kl: f32,
    /// Fraction of clipped ratios.
    pub clip_fraction: f32,
    /// Gradient norm before clipping.
    pub grad_norm: f32,
    /// Gradient steps taken.
    pub gradient_steps: u64,
}

/// Experience for one PPO update, flattened over envs and steps.
///
/// # Shapes
/// `obs`: `B` observations; `raw_actions`: `[B, D]` (`D` = 1 for a
/// categorical head); the rest `[B]`.
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
}

/// Maps a raw action to the env's action.
fn to_action(space: &ActionSpace, raw: &[f32]) -> Action {
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

/// The head an action space needs.
pub fn head_for(space: &ActionSpace) -> HeadKind {
    match space {
        ActionSpace::Discrete(list) => HeadKind::Categorical(list.len()),
        ActionSpace::Continuous { .. } => HeadKind::Gaussian(2),
    }
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
}

impl std::fmt::Debug for Learner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learner")
            .field("network", &self.net.network)
            .field("params", &self.model.num_params())
            .finish_non_exhaustive()
    }
}

impl Learner {
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
        if head_for(&action_space) != net.head {
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
            optim: AdamConfig::new().with_epsilon(1e-5).init(),
            net,
            ppo,
            action_space,
            device,
            model,
            inference,
        })
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

    fn batch(&self, obs: &HostObs, device: &Device) -> ObsBatch {
        let n = obs.n;
        ObsBatch {
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
        }
    }

    /// Samples an action for each observation (or takes the most likely
    /// one when `deterministic`: the arg-max action, or the Gaussian mean).
    ///
    /// # Shapes
    /// `obs`: `n` observations; returns `n` samples.
    pub fn act(&self, obs: &HostObs, rng: &mut impl Rng, deterministic: bool) -> Vec<PolicySample> {
        let plain = self.device.clone().without_autodiff();
        let (policy, value) = self.inference.forward(&self.batch(obs, &plain));
        let a = self.net.head.outputs();
        let out: Vec<f32> = policy.into_data().try_to_vec::<f32>().unwrap_or_default();
        let values: Vec<f32> = value.into_data().try_to_vec::<f32>().unwrap_or_default();
        let log_std: Vec<f32> = self
            .inference
            .log_std()
            .map(|t| t.into_data().try_to_vec::<f32>().unwrap_or_default())
            .unwrap_or_default();
        (0..obs.n)
            .map(|i| {
                let row = &out[i * a..(i + 1) * a];
                let (raw, log_prob) = match self.net.head {
                    HeadKind::Categorical(_) => sample_categorical(row, rng, deterministic),
                    HeadKind::Gaussian(_) => sample_gaussian(row, &log_std, rng, deterministic),
                };
                PolicySample {
                    action: to_action(&self.action_space, &raw),
                    raw,
                    log_prob,
                    value: values.get(i).copied().unwrap_or(0.0),
                }
            })
            .collect()
    }

    /// What the exported ONNX policy outputs for each observation: action
    /// probabilities (softmax of the logits) for a categorical head, the
    /// Gaussian mean for a Gaussian one.
    ///
    /// # Shapes
    /// Returns `[n, A]` flattened.
    pub fn policy_output(&self, obs: &HostObs) -> Vec<f32> {
        let plain = self.device.clone().without_autodiff();
        let (policy, _) = self.inference.forward(&self.batch(obs, &plain));
        let policy = match self.net.head {
            HeadKind::Categorical(_) => burn::tensor::activation::softmax(policy, 1),
            HeadKind::Gaussian(_) => policy,
        };
        policy.into_data().try_to_vec::<f32>().unwrap_or_default()
    }

    /// State values of a batch of observations.
    ///
    /// # Shapes
    /// Returns `[n]`.
    pub fn values(&self, obs: &HostObs) -> Vec<f32> {
        let plain = self.device.clone().without_autodiff();
        let (_, value) = self.inference.forward(&self.batch(obs, &plain));
        value.into_data().try_to_vec::<f32>().unwrap_or_default()
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
                let s = self.step(&obs, raw, old_lp, adv, ret)?;
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
        let dev = &self.device;
        let b = old_lp.len();
        let (policy, values) = self.model.forward(&self.batch(obs, dev));
        let (log_prob, entropy) = match self.net.head {
            HeadKind::Categorical(_) => {
                let actions: Vec<i64> = raw.iter().map(|&a| a as i64).collect();
                let actions = Tensor::<1, Int>::from_data(TensorData::new(actions, [b]), dev);
                categorical_log_prob_entropy(policy, actions)
            }
            HeadKind::Gaussian(n) => {
                let actions = Tensor::<2>::from_data(TensorData::new(raw, [b, n]), dev);
                let log_std = self
                    .model
                    .log_std()
                    .unwrap_or_else(|| Tensor::zeros([n], dev));
                gaussian_log_prob_entropy(policy, log_std, actions)
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
        let grads = loss.total.backward();
        let mut grads = GradientsParams::from_grads(grads, &self.model);
        let norm = clip_grad_norm(&self.model, &mut grads, self.ppo.max_grad_norm as f32);
        if !norm.is_finite() {
            return Err(AgentError::NonFinite("gradient norm".into()));
        }
        let model = self.model.clone();
        self.model = self.optim.step(self.ppo.lr, model, grads);
        Ok(UpdateStats {
            policy_loss: loss.policy,
            value_loss: loss.value,
            entropy: loss.entropy,
            approx_kl: loss.approx_kl,
            clip_fraction: loss.clip_fraction,
            grad_norm: norm,
            gradient_steps: 1,
        })
    }

    /// Writes the weights (`model.bpk`) and the optimizer state
    /// (`optimizer.bpk`) into `dir`, which must exist.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<(), AgentError> {
        let m = dir.join("model.bpk");
        self.model
            .clone()
            .save_file(&m)
            .map_err(|e| AgentError::Checkpoint {
                path: m.clone(),
                detail: e.to_string(),
            })?;
        let o = dir.join("optimizer.bpk");
        self.optim.save(&o).map_err(|e| AgentError::Checkpoint {
            path: o.clone(),
            detail: e.to_string(),
        })
    }

    /// The network's weights as an in-memory burnpack (what `model.bpk`
    /// holds), to send to rollout workers.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] when burn cannot serialise the record.
    pub fn weights(&self) -> Result<Vec<u8>, AgentError> {
        let bytes =
            self.model
                .clone()
                .into_record()
                .into_bytes()
                .map_err(|e| AgentError::Checkpoint {
                    path: "<weights>".into(),
                    detail: e.to_string(),
                })?;
        Ok(bytes.to_vec())
    }

    /// Replaces the network's weights with `bytes` from
    /// [`Learner::weights`] (the optimizer state is kept).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] for bytes that are not a burnpack of this
    /// network; the learner is unchanged then.
    pub fn set_weights(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let err = |detail: String| AgentError::Checkpoint {
            path: "<weights>".into(),
            detail,
        };
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(
            bytes.to_vec(),
        ))
        .map_err(|e| err(format!("{e} (not a burnpack)")))?;
        let model = self
            .model
            .clone()
            .try_load_record(record)
            .map_err(|e| err(format!("{e} (weights of a different network)")))?;
        self.model = model;
        self.inference = self.model.valid();
        Ok(())
    }

    /// Loads the weights from `dir/model.bpk` and, with `with_optimizer`,
    /// the optimizer state from `dir/optimizer.bpk`.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file that is missing, corrupt or
    /// made for another network; the learner is unchanged then.
    pub fn load(&mut self, dir: &Path, with_optimizer: bool) -> Result<(), AgentError> {
        let m = dir.join("model.bpk");
        if !m.is_file() {
            return Err(AgentError::Checkpoint {
                path: m,
                detail: "missing".into(),
            });
        }
        let model = self
            .model
            .clone()
            .try_load_file(&m)
            .map_err(|e| AgentError::Checkpoint {
                path: m.clone(),
                detail: format!("{e} (a different network, or a damaged file)"),
            })?;
        let optim = if with_optimizer {
            let o = dir.join("optimizer.bpk");
            if !o.is_file() {
                return Err(AgentError::Checkpoint {
                    path: o,
                    detail: "missing".into(),
                });
            }
            self.optim
                .clone()
                .load(&o)
                .map_err(|e| AgentError::Checkpoint {
                    path: o.clone(),
                    detail: e.to_string(),
                })?
        } else {
            AdamConfig::new().with_epsilon(1e-5).init()
        };
        self.model = model;
        self.optim = optim;
        self.inference = self.model.valid();
        Ok(())
    }
}

/// Softmax sampling on the host. Returns `([index], log_prob)`.
fn sample_categorical(logits: &[f32], rng: &mut impl Rng, greedy: bool) -> (Vec<f32>, f32) {
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

/// Diagonal Gaussian sampling (Box-Muller). Returns `(sample, log_prob)`.
fn sample_gaussian(
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
            let z = if greedy {
                0.0
            } else {
                let u1: f32 = rng.random::<f32>().max(1e-12);
                let u2: f32 = rng.random();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
            };
            lp += -0.5 * z * z - ls - half_log_2pi;
            m + ls.exp() * z
        })
        .collect();
    (x, lp)
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
