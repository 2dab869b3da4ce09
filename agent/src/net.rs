//! Policy/value networks: DeepRacer's camera networks, chicane's small
//! CPU network, and an MLP for lidar.

use crate::error::AgentError;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use chicane_core::NetworkKind;

/// What the policy outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// Logits over `n` discrete actions (categorical).
    Categorical(usize),
    /// The mean of a diagonal Gaussian over `n` dimensions in `[-1, 1]`
    /// units, with a learned state-independent log standard deviation;
    /// samples are clipped to `[-1, 1]` (PPO's continuous head).
    Gaussian(usize),
    /// SAC's tanh-squashed Gaussian over `n` dimensions: the head outputs
    /// the pre-tanh mean and the log standard deviation (`2n` values, both
    /// state-dependent, the log std clamped to `[-20, 2]`), the action is
    /// `tanh(mean + std * noise)` in `[-1, 1]` units (Haarnoja et al. 2018,
    /// "Soft Actor-Critic", appendix C; rl_coach's `SACPolicyHead`, which
    /// DeepRacer trains).
    SquashedGaussian(usize),
}

impl HeadKind {
    /// Number of policy outputs: `n` logits or means, `2n` (means, then
    /// log standard deviations) for a squashed Gaussian.
    pub fn outputs(self) -> usize {
        match self {
            HeadKind::Categorical(n) | HeadKind::Gaussian(n) => n,
            HeadKind::SquashedGaussian(n) => 2 * n,
        }
    }

    /// Dimensions of the action the head chooses: 1 (an index) for a
    /// categorical head, `n` for a Gaussian one.
    pub fn action_dims(self) -> usize {
        match self {
            HeadKind::Categorical(_) => 1,
            HeadKind::Gaussian(n) | HeadKind::SquashedGaussian(n) => n,
        }
    }

    /// True when the head can act in `space`: a categorical head of as many
    /// actions as a discrete space lists, a Gaussian one of 2 dimensions
    /// (steering, speed) for a continuous space.
    pub fn fits(self, space: &chicane_core::ActionSpace) -> bool {
        match (self, space) {
            (HeadKind::Categorical(n), chicane_core::ActionSpace::Discrete(list)) => {
                n == list.len()
            }
            (
                HeadKind::Gaussian(n) | HeadKind::SquashedGaussian(n),
                chicane_core::ActionSpace::Continuous { .. },
            ) => n == 2,
            _ => false,
        }
    }
}

/// Builds an [`ActorCritic`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorCriticConfig {
    /// The architecture.
    pub network: NetworkKind,
    /// Camera input `[C, H, W]` after preprocessing, if the agent has a camera.
    pub camera: Option<[usize; 3]>,
    /// Vector input length (lidar beams), if any.
    pub vector: Option<usize>,
    /// The policy head.
    pub head: HeadKind,
    /// Width of the dense middleware. Default 512 (DeepRacer).
    pub middleware: usize,
    /// Initial log standard deviation of a Gaussian head. Default -0.5.
    pub init_log_std: f32,
}

impl ActorCriticConfig {
    /// A config with DeepRacer's middleware width and the default log std.
    pub fn new(
        network: NetworkKind,
        camera: Option<[usize; 3]>,
        vector: Option<usize>,
        head: HeadKind,
    ) -> Self {
        Self {
            network,
            camera,
            vector,
            head,
            middleware: 512,
            init_log_std: -0.5,
        }
    }

    /// Checks that the inputs fit the network.
    ///
    /// # Errors
    /// [`AgentError::Shape`] naming the layer
    /// whose output would be empty, or an input the network cannot take.
    pub fn validate(&self) -> Result<(), AgentError> {
        if self.camera.is_none() && self.vector.is_none() {
            return Err(AgentError::Shape(
                "the agent has neither a camera nor a vector (lidar) input".into(),
            ));
        }
        if self.network != NetworkKind::Mlp && self.camera.is_none() {
            return Err(AgentError::Shape(format!(
                "network {} needs a camera; use MLP for lidar-only agents",
                self.network
            )));
        }
        if let Some(cam) = self.camera {
            conv_output(self.network, cam)?;
        }
        if self.head.outputs() == 0 {
            return Err(AgentError::Shape("the action space is empty".into()));
        }
        Ok(())
    }

    /// The network, with freshly initialised weights on `device`.
    ///
    /// # Errors
    /// As [`ActorCriticConfig::validate`].
    pub fn init(&self, device: &Device) -> Result<ActorCritic, AgentError> {
        self.validate()?;
        let mut features = 0;
        let mut convs = Vec::new();
        let mut camera_dense = Vec::new();
        let use_camera = self.network != NetworkKind::Mlp;
        if let (Some(cam), true) = (self.camera, use_camera) {
            let mut ch = cam[0];
            for &[f, k, s] in self.network.conv_layers() {
                convs.push(
                    Conv2dConfig::new([ch, f], [k, k])
                        .with_stride([s, s])
                        .init(device),
                );
                ch = f;
            }
            let (h, w) = conv_output(self.network, cam)?;
            let mut n = ch * h * w;
            for &d in self.network.camera_dense_layers() {
                camera_dense.push(LinearConfig::new(n, d).init(device));
                n = d;
            }
            features += n;
        }
        let mut vector_dense = Vec::new();
        let mut vector_in = self.vector;
        if !use_camera && vector_in.is_none() {
            // an MLP over the (flattened) camera frame
            vector_in = self.camera.map(|c| c[0] * c[1] * c[2]);
        }
        if let Some(len) = vector_in {
            let mut n = len;
            for d in [256, 256] {
                vector_dense.push(LinearConfig::new(n, d).init(device));
                n = d;
            }
            features += n;
        }
        let middleware = LinearConfig::new(features, self.middleware).init(device);
        let policy = LinearConfig::new(self.middleware, self.head.outputs())
            .with_initializer(burn::nn::Initializer::Uniform {
                min: -0.01,
                max: 0.01,
            })
            .init(device);
        let value = LinearConfig::new(self.middleware, 1).init(device);
        let log_std = match self.head {
            HeadKind::Gaussian(n) => Some(Param::from_tensor(
                Tensor::<1>::ones([n], device).mul_scalar(self.init_log_std),
            )),
            // a squashed Gaussian's log std is an output of the head
            HeadKind::Categorical(_) | HeadKind::SquashedGaussian(_) => None,
        };
        Ok(ActorCritic {
            convs,
            camera_dense,
            vector_dense,
            middleware,
            policy,
            value,
            log_std,
            tanh: self.network.uses_tanh(),
            camera_as_vector: !use_camera && self.vector.is_none(),
        })
    }
}

fn conv_output(network: NetworkKind, cam: [usize; 3]) -> Result<(usize, usize), AgentError> {
    let (mut h, mut w) = (cam[1], cam[2]);
    for (i, &[_, k, s]) in network.conv_layers().iter().enumerate() {
        if h < k || w < k {
            return Err(AgentError::Shape(format!(
                "network {network}: conv layer {} (kernel {k}) does not fit its {h}x{w} input; \
                 use a larger camera image or a smaller downscale",
                i + 1
            )));
        }
        h = (h - k) / s + 1;
        w = (w - k) / s + 1;
    }
    Ok((h, w))
}

/// A batch of observations on the network's device.
///
/// # Shapes
/// `camera`: `[N, C, H, W]` in `[0, 1]`; `vector`: `[N, L]`.
#[derive(Debug, Clone)]
pub struct ObsBatch {
    /// Preprocessed camera frames.
    pub camera: Option<Tensor<4>>,
    /// Lidar (or other vector) input.
    pub vector: Option<Tensor<2>>,
}

/// The policy and value networks: a shared encoder and middleware, a
/// policy head and a value head (DeepRacer's clipped-PPO network layout).
#[derive(Module, Debug)]
pub struct ActorCritic {
    pub(crate) convs: Vec<Conv2d>,
    pub(crate) camera_dense: Vec<Linear>,
    pub(crate) vector_dense: Vec<Linear>,
    pub(crate) middleware: Linear,
    pub(crate) policy: Linear,
    pub(crate) value: Linear,
    pub(crate) log_std: Option<Param<Tensor<1>>>,
    pub(crate) tanh: bool,
    pub(crate) camera_as_vector: bool,
}

impl ActorCritic {
    /// Policy outputs and state values.
    ///
    /// # Shapes
    /// Returns `(policy [N, A], value [N])`: logits for a categorical head,
    /// Gaussian means for a Gaussian one, pre-tanh means then log standard
    /// deviations (`A = 2n`, unclamped) for a squashed Gaussian.
    pub fn forward(&self, obs: &ObsBatch) -> (Tensor<2>, Tensor<1>) {
        let act = |x: Tensor<2>| if self.tanh { tanh(x) } else { relu(x) };
        let mut parts: Vec<Tensor<2>> = Vec::new();
        if let (Some(cam), false) = (&obs.camera, self.convs.is_empty()) {
            let mut x = cam.clone();
            for conv in &self.convs {
                x = conv.forward(x);
                x = if self.tanh { tanh(x) } else { relu(x) };
            }
            let mut x: Tensor<2> = x.flatten(1, 3);
            for d in &self.camera_dense {
                x = act(d.forward(x));
            }
            parts.push(x);
        }
        let vector = if self.camera_as_vector {
            obs.camera.clone().map(|c| c.flatten(1, 3))
        } else {
            obs.vector.clone()
        };
        if let (Some(v), false) = (vector, self.vector_dense.is_empty()) {
            let mut x = v;
            for d in &self.vector_dense {
                x = relu(d.forward(x));
            }
            parts.push(x);
        }
        let features = if parts.len() == 1 {
            parts.remove(0)
        } else {
            Tensor::cat(parts, 1)
        };
        let h = relu(self.middleware.forward(features));
        let policy = self.policy.forward(h.clone());
        let value = self.value.forward(h).flatten(0, 1);
        (policy, value)
    }

    /// The log standard deviation of a Gaussian head.
    ///
    /// # Shapes
    /// `[A]`; `None` for a categorical head.
    pub fn log_std(&self) -> Option<Tensor<1>> {
        self.log_std.as_ref().map(|p| p.val())
    }
}

/// One layer's weights on the host, in burn's layouts: a conv's
/// `[out, in, kh, kw]`, a dense layer's `[in, out]`, and its bias `[out]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostLayer {
    /// The weight, row-major in burn's layout.
    pub weight: Vec<f32>,
    /// The bias.
    pub bias: Vec<f32>,
}

/// The weights of the policy path of an [`ActorCritic`] (the value head is
/// not among them), as an imported model brings them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PolicyLayers {
    /// Camera convolutions, input first.
    pub convs: Vec<HostLayer>,
    /// Dense layers after the convolutions.
    pub camera_dense: Vec<HostLayer>,
    /// The 512-unit middleware.
    pub middleware: HostLayer,
    /// The policy head.
    pub policy: HostLayer,
    /// A Gaussian head's log standard deviation `[A]`.
    pub log_std: Option<Vec<f32>>,
}

impl ActorCritic {
    /// This network with its policy path's weights replaced by `layers`.
    ///
    /// # Errors
    /// [`AgentError::Shape`] naming the layer whose size does not match.
    pub(crate) fn with_policy_layers(mut self, layers: &PolicyLayers) -> Result<Self, AgentError> {
        fn put<const D: usize>(
            p: &mut Param<Tensor<D>>,
            data: &[f32],
            what: &str,
        ) -> Result<(), AgentError> {
            let t = p.val();
            let dims = t.dims();
            if dims.iter().product::<usize>() != data.len() {
                return Err(AgentError::Shape(format!(
                    "{what}: {} values for a {dims:?} tensor",
                    data.len()
                )));
            }
            *p = Param::from_tensor(Tensor::from_data(
                burn::tensor::TensorData::new(data.to_vec(), dims),
                &t.device(),
            ));
            Ok(())
        }
        fn dense(l: &mut Linear, h: &HostLayer, what: &str) -> Result<(), AgentError> {
            put(&mut l.weight, &h.weight, &format!("{what} weight"))?;
            match &mut l.bias {
                Some(b) => put(b, &h.bias, &format!("{what} bias")),
                None => Ok(()),
            }
        }
        if layers.convs.len() != self.convs.len()
            || layers.camera_dense.len() != self.camera_dense.len()
        {
            return Err(AgentError::Shape(format!(
                "{} conv and {} dense layers for a network of {} and {}",
                layers.convs.len(),
                layers.camera_dense.len(),
                self.convs.len(),
                self.camera_dense.len()
            )));
        }
        for (i, (c, h)) in self.convs.iter_mut().zip(&layers.convs).enumerate() {
            put(&mut c.weight, &h.weight, &format!("conv {i} weight"))?;
            if let Some(b) = &mut c.bias {
                put(b, &h.bias, &format!("conv {i} bias"))?;
            }
        }
        for (i, (d, h)) in self
            .camera_dense
            .iter_mut()
            .zip(&layers.camera_dense)
            .enumerate()
        {
            dense(d, h, &format!("dense {i}"))?;
        }
        dense(&mut self.middleware, &layers.middleware, "middleware")?;
        dense(&mut self.policy, &layers.policy, "policy head")?;
        match (&mut self.log_std, &layers.log_std) {
            (Some(p), Some(v)) => put(p, v, "log_std")?,
            (None, None) => {}
            _ => {
                return Err(AgentError::Shape(
                    "a Gaussian head's log_std for a categorical network, or none for a Gaussian one"
                        .into(),
                ));
            }
        }
        Ok(self)
    }
}
