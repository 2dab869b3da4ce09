//! Moving parameters between the burn model (the record: checkpoints,
//! export) and the native path's flat vector, in burn's layouts; the
//! native path's state and its PPO step.

use super::UpdateStats;
use crate::error::AgentError;
use crate::native::{Adam, CHUNK, Cache, Layout, loss_grad};
use crate::net::{ActorCritic, ActorCriticConfig};
use crate::ppo::PpoConfig;
use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use std::path::Path;
use std::time::Instant;

fn values<const D: usize>(p: &Param<Tensor<D>>) -> Result<Vec<f32>, AgentError> {
    p.val()
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| AgentError::Shape(format!("cannot read a weight: {e:?}")))
}

/// Every parameter of `model` in `layout`'s order, flat.
///
/// # Errors
/// [`AgentError::Shape`] when the model does not have the layout's tensors.
pub(crate) fn to_flat(model: &ActorCritic, layout: &Layout) -> Result<Vec<f32>, AgentError> {
    let mut flat = vec![0.0f32; layout.len];
    let mut put = |slot: crate::native::Slot, v: Vec<f32>| -> Result<(), AgentError> {
        if v.len() != slot.len {
            return Err(AgentError::Shape(format!(
                "a weight of {} values where the native layout expects {}",
                v.len(),
                slot.len
            )));
        }
        flat[slot.offset..slot.offset + slot.len].copy_from_slice(&v);
        Ok(())
    };
    if model.convs.len() != layout.convs.len()
        || model.camera_dense.len() + 1 != layout.dense.len()
        || !model.vector_dense.is_empty()
    {
        return Err(AgentError::Shape(
            "the model's layers do not match the native layout".into(),
        ));
    }
    let missing = || AgentError::Shape("a layer without a bias".into());
    for (conv, &(w, b)) in model.convs.iter().zip(&layout.conv_slots) {
        put(w, values(&conv.weight)?)?;
        put(b, values(conv.bias.as_ref().ok_or_else(missing)?)?)?;
    }
    let dense = model
        .camera_dense
        .iter()
        .chain(std::iter::once(&model.middleware));
    for (d, &(w, b)) in dense.zip(&layout.dense_slots) {
        put(w, values(&d.weight)?)?;
        put(b, values(d.bias.as_ref().ok_or_else(missing)?)?)?;
    }
    put(layout.policy.0, values(&model.policy.weight)?)?;
    put(
        layout.policy.1,
        values(model.policy.bias.as_ref().ok_or_else(missing)?)?,
    )?;
    put(layout.value.0, values(&model.value.weight)?)?;
    put(
        layout.value.1,
        values(model.value.bias.as_ref().ok_or_else(missing)?)?,
    )?;
    if let (Some(slot), Some(ls)) = (layout.log_std, &model.log_std) {
        put(slot, values(ls)?)?;
    }
    Ok(flat)
}

fn set<const D: usize>(p: &mut Param<Tensor<D>>, flat: &[f32], slot: crate::native::Slot) {
    let t = p.val();
    let device = t.device();
    let shape = t.shape();
    let data = TensorData::new(flat[slot.offset..slot.offset + slot.len].to_vec(), shape);
    let id = p.id;
    *p = Param::initialized(id, Tensor::from_data(data, &device).require_grad());
}

/// Writes `flat` (in `layout`'s order) into `model`'s parameters.
pub(crate) fn from_flat(model: &mut ActorCritic, layout: &Layout, flat: &[f32]) {
    for (conv, &(w, b)) in model.convs.iter_mut().zip(&layout.conv_slots) {
        set(&mut conv.weight, flat, w);
        if let Some(bias) = conv.bias.as_mut() {
            set(bias, flat, b);
        }
    }
    let dense = model
        .camera_dense
        .iter_mut()
        .chain(std::iter::once(&mut model.middleware));
    for (d, &(w, b)) in dense.zip(&layout.dense_slots) {
        set(&mut d.weight, flat, w);
        if let Some(bias) = d.bias.as_mut() {
            set(bias, flat, b);
        }
    }
    set(&mut model.policy.weight, flat, layout.policy.0);
    if let Some(bias) = model.policy.bias.as_mut() {
        set(bias, flat, layout.policy.1);
    }
    set(&mut model.value.weight, flat, layout.value.0);
    if let Some(bias) = model.value.bias.as_mut() {
        set(bias, flat, layout.value.1);
    }
    if let (Some(slot), Some(ls)) = (layout.log_std, model.log_std.as_mut()) {
        set(ls, flat, slot);
    }
}

/// The shards each minibatch's forward and backward pass is split into,
/// run in parallel on rayon's pool and summed in order. Fixed, so that
/// results do not depend on how many cores run them.
const SHARDS: usize = 2;

/// One shard's buffers.
#[derive(Debug, Default)]
struct Shard {
    cache: Cache,
    grads: Vec<f32>,
}

/// One shard's loss parts and times (s).
#[derive(Debug, Default, Clone, Copy)]
struct ShardOut {
    policy: f32,
    value: f32,
    entropy: f32,
    approx_kl: f32,
    clip_fraction: f32,
    forward_s: f64,
    backward_s: f64,
}

/// The minibatch `step` learns from.
struct Minibatch<'a> {
    camera: &'a [f32],
    raw: &'a [f32],
    old_lp: &'a [f32],
    adv: &'a [f32],
    ret: &'a [f32],
}

impl Shard {
    /// Forward, loss and backward of samples `lo..hi` of `mb` (of `total`).
    fn run(
        &mut self,
        layout: &Layout,
        params: &[f32],
        ppo: &PpoConfig,
        mb: &Minibatch<'_>,
        lo: usize,
        hi: usize,
    ) -> ShardOut {
        let total = mb.old_lp.len();
        self.grads.clear();
        self.grads.resize(layout.len, 0.0);
        if lo >= hi {
            return ShardOut::default();
        }
        let t0 = Instant::now();
        let cam = mb.camera.len() / total;
        let d = mb.raw.len() / total;
        let n = hi - lo;
        layout.forward(params, &mb.camera[lo * cam..hi * cam], n, &mut self.cache);
        let log_std = layout.log_std.map(|s| &params[s.offset..s.offset + s.len]);
        let loss = loss_grad(
            ppo,
            &self.cache.policy,
            layout.outputs,
            log_std,
            &self.cache.value,
            &mb.raw[lo * d..hi * d],
            &mb.old_lp[lo..hi],
            &mb.adv[lo..hi],
            &mb.ret[lo..hi],
            total,
        );
        let t1 = Instant::now();
        layout.backward(
            params,
            &mut self.cache,
            &loss.d_policy,
            &loss.d_value,
            &mut self.grads,
        );
        if let Some(s) = layout.log_std {
            for (g, d) in self.grads[s.offset..s.offset + s.len]
                .iter_mut()
                .zip(&loss.d_log_std)
            {
                *g += d;
            }
        }
        ShardOut {
            policy: loss.policy,
            value: loss.value,
            entropy: loss.entropy,
            approx_kl: loss.approx_kl,
            clip_fraction: loss.clip_fraction,
            forward_s: (t1 - t0).as_secs_f64(),
            backward_s: t1.elapsed().as_secs_f64(),
        }
    }
}

/// The native path's state beside the burn model: flat parameters, Adam's
/// moments and the buffers of the forward and backward passes.
pub(super) struct NativeState {
    pub layout: Layout,
    pub params: Vec<f32>,
    pub adam: Adam,
    grads: Vec<f32>,
    shards: Vec<Shard>,
    /// The acting pass's activations (acting takes `&Learner`, which
    /// rollout threads share).
    infer: std::sync::Mutex<Cache>,
}

/// The file beside `model.bpk` that holds the native path's Adam state.
pub(super) const OPTIMIZER_FILE: &str = "optimizer.native";

impl NativeState {
    /// The native state of `model`, or `None` when the native path does not
    /// cover its network.
    ///
    /// # Errors
    /// [`AgentError::Shape`] when the model's tensors do not match its
    /// config (a bug).
    pub fn of(cfg: &ActorCriticConfig, model: &ActorCritic) -> Result<Option<Self>, AgentError> {
        let Some(layout) = Layout::of(cfg) else {
            return Ok(None);
        };
        let params = to_flat(model, &layout)?;
        Ok(Some(NativeState {
            adam: Adam::new(layout.len),
            grads: vec![0.0; layout.len],
            layout,
            params,
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            infer: std::sync::Mutex::new(Cache::default()),
        }))
    }

    /// A copy of the parameters that can act (forward passes) but not
    /// learn: no optimizer state, gradient or shard buffers.
    pub fn actor(&self) -> NativeState {
        NativeState {
            layout: self.layout.clone(),
            params: self.params.clone(),
            adam: Adam::new(0),
            grads: Vec::new(),
            shards: Vec::new(),
            infer: std::sync::Mutex::new(Cache::default()),
        }
    }

    /// Re-reads the parameters from `model` (after loading weights).
    ///
    /// # Errors
    /// As [`NativeState::of`].
    pub fn reload(&mut self, model: &ActorCritic) -> Result<(), AgentError> {
        self.params = to_flat(model, &self.layout)?;
        Ok(())
    }

    /// Policy outputs `[n, A]` and values `[n]` of `n` camera frames
    /// `[n, C, H, W]`.
    pub fn forward(&self, camera: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
        let mut cache = self.infer.lock().unwrap_or_else(|e| e.into_inner());
        self.layout.forward(&self.params, camera, n, &mut cache);
        (cache.policy.clone(), cache.value.clone())
    }

    /// The gradients of the last [`NativeState::step`], after clipping
    /// (flat like the parameters).
    #[cfg(test)]
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// The log standard deviation of a Gaussian head (`[A]`).
    pub fn log_std(&self) -> Option<&[f32]> {
        self.layout
            .log_std
            .map(|s| &self.params[s.offset..s.offset + s.len])
    }

    /// One clipped-PPO gradient step on a minibatch of camera frames
    /// (`[b, C, H, W]`) with their raw actions, old log-probabilities,
    /// normalised advantages and returns; returns the loss's parts and the
    /// gradient norm before clipping, with the time spent in (forward,
    /// backward, optimizer) (s; the shards run in parallel, so forward and
    /// backward split the parallel section's wall time as the first shard's
    /// did).
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] when a loss or the gradient norm is NaN or
    /// infinite; the parameters are then unchanged.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        ppo: &PpoConfig,
        camera: &[f32],
        raw: &[f32],
        old_lp: &[f32],
        adv: &[f32],
        ret: &[f32],
    ) -> Result<(UpdateStats, [f64; 3]), AgentError> {
        let t0 = Instant::now();
        let b = old_lp.len();
        if b == 0 {
            return Ok((UpdateStats::default(), [0.0; 3]));
        }
        let mb = Minibatch {
            camera,
            raw,
            old_lp,
            adv,
            ret,
        };
        let per = b.div_ceil(SHARDS);
        let (layout, params) = (&self.layout, &self.params);
        let outs: Vec<ShardOut> = {
            use rayon::prelude::*;
            self.shards
                .par_iter_mut()
                .enumerate()
                .map(|(i, shard)| {
                    let lo = (i * per).min(b);
                    shard.run(layout, params, ppo, &mb, lo, (lo + per).min(b))
                })
                .collect()
        };
        let sum = |f: fn(&ShardOut) -> f32| outs.iter().map(f).sum::<f32>();
        let (policy, value, entropy) = (sum(|o| o.policy), sum(|o| o.value), sum(|o| o.entropy));
        for (name, v) in [
            ("policy loss", policy),
            ("value loss", value),
            ("entropy", entropy),
        ] {
            if !v.is_finite() {
                return Err(AgentError::NonFinite(name.into()));
            }
        }
        // the shards' sum and its squared norm, in fixed chunks summed in
        // order (the same result on any number of threads)
        let squares: Vec<f32> = {
            use rayon::prelude::*;
            let shards = &self.shards;
            self.grads
                .par_chunks_mut(CHUNK)
                .enumerate()
                .map(|(c, g)| {
                    let lo = c * CHUNK;
                    g.copy_from_slice(&shards[0].grads[lo..lo + g.len()]);
                    for shard in &shards[1..] {
                        for (g, s) in g.iter_mut().zip(&shard.grads[lo..]) {
                            *g += s;
                        }
                    }
                    g.iter().map(|g| g * g).sum::<f32>()
                })
                .collect()
        };
        // the global-norm clip of `clip_grad_norm` (burn path)
        let norm = squares.iter().sum::<f32>().sqrt();
        if !norm.is_finite() {
            return Err(AgentError::NonFinite("gradient norm".into()));
        }
        let max_norm = ppo.max_grad_norm as f32;
        if norm > max_norm {
            use rayon::prelude::*;
            let factor = max_norm / (norm + 1e-6);
            self.grads
                .par_chunks_mut(CHUNK)
                .for_each(|g| g.iter_mut().for_each(|g| *g *= factor));
        }
        let t2 = Instant::now();
        self.adam.step(ppo.lr as f32, &mut self.params, &self.grads);
        let wall = (t2 - t0).as_secs_f64();
        let first = outs[0];
        let share = first.forward_s / (first.forward_s + first.backward_s).max(1e-12);
        Ok((
            UpdateStats {
                policy_loss: policy,
                value_loss: value,
                entropy,
                approx_kl: sum(|o| o.approx_kl),
                clip_fraction: sum(|o| o.clip_fraction),
                grad_norm: norm,
                gradient_steps: 1,
                ..UpdateStats::default()
            },
            [
                wall * share,
                wall * (1.0 - share),
                t2.elapsed().as_secs_f64(),
            ],
        ))
    }

    /// Writes Adam's state to `dir/optimizer.native` (postcard).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<(), AgentError> {
        crate::checkpoint::write_postcard(&dir.join(OPTIMIZER_FILE), &self.adam)
    }

    /// Reads Adam's state from `dir/optimizer.native`.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file when it is missing
    /// (saying which device wrote the checkpoint instead), damaged or made
    /// for another network.
    pub fn read_optimizer(&self, dir: &Path) -> Result<Adam, AgentError> {
        let path = dir.join(OPTIMIZER_FILE);
        let err = |detail: String| AgentError::Checkpoint {
            path: path.clone(),
            detail,
        };
        if !path.is_file() {
            return Err(err(if dir.join("optimizer.bpk").is_file() {
                "missing: this checkpoint was trained on a burn device (its optimizer state is \
                 optimizer.bpk); resume it with --device flex (or the device it was trained on)"
                    .into()
            } else {
                "missing".into()
            }));
        }
        let adam: Adam = crate::checkpoint::read_postcard(&path)?;
        if adam.m.len() != self.layout.len || adam.v.len() != self.layout.len {
            return Err(err(format!(
                "holds the state of {} parameters where this network has {} (a different network)",
                adam.m.len(),
                self.layout.len
            )));
        }
        Ok(adam)
    }

    /// Takes `model`'s weights and `adam` (a fresh optimizer when `None`).
    ///
    /// # Errors
    /// As [`NativeState::of`]; the state is unchanged then.
    pub fn replace(&mut self, model: &ActorCritic, adam: Option<Adam>) -> Result<(), AgentError> {
        self.params = to_flat(model, &self.layout)?;
        self.adam = adam.unwrap_or_else(|| Adam::new(self.layout.len));
        Ok(())
    }
}
