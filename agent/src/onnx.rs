//! ONNX export of a trained policy: the [`ActorCritic`](crate::ActorCritic)'s policy path as a
//! standard ONNX graph (opset 13), written through tract-onnx's protobuf
//! definitions (`tract_onnx::pb`, generated from onnx.proto by prost).
//!
//! The graph takes the preprocessed observation, exactly what the network
//! sees in training, and returns the policy: action probabilities (softmax
//! of the logits) for a discrete action space, the mean action in `[-1, 1]`
//! units for a continuous one (the mean of the Gaussian clipped to the
//! range, what the env receives on average: `clipped_gaussian_mean`; for
//! SAC's squashed Gaussian, `tanh` of its mean). Preprocessing (u8 -> f32, box
//! downscale, frame stacking) stays outside the graph, in `chicane-core`,
//! where training and the car share it.

use crate::error::AgentError;
use crate::learner::Learner;
use crate::net::HeadKind;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use chicane_bundle::{CAMERA_INPUT, LIDAR_INPUT, ONNX_OPSET, OutputKind};
use prost::Message;
use tract_onnx::pb;

/// An exported policy graph and its interface.
#[derive(Debug, Clone)]
pub struct OnnxModel {
    /// The serialised `ModelProto`.
    pub bytes: Vec<u8>,
    /// Camera input shape `[C, H, W]` (the batch dimension `N` is dynamic).
    pub camera: Option<[usize; 3]>,
    /// Lidar input length `L`.
    pub lidar: Option<usize>,
    /// The policy output.
    pub output: OutputKind,
    /// Number of policy outputs per observation (`A` actions, or 2).
    pub output_len: usize,
}

/// Exports `learner`'s current policy as ONNX.
///
/// # Errors
/// [`AgentError::Shape`] if a weight cannot be read from the device.
pub fn export_onnx(learner: &Learner) -> Result<OnnxModel, AgentError> {
    let net = learner.network();
    let model = learner.inference_model();
    let mut g = GraphBuilder::default();
    let batch = || dim_param("N");
    if let Some([c, h, w]) = net.camera {
        g.inputs.push(value_info(
            CAMERA_INPUT,
            vec![batch(), dim(c), dim(h), dim(w)],
        ));
    }
    if let Some(l) = net.vector {
        g.inputs
            .push(value_info(LIDAR_INPUT, vec![batch(), dim(l)]));
    }
    let act = if model.tanh { "Tanh" } else { "Relu" };
    let mut parts = Vec::new();
    if net.camera.is_some() && !model.convs.is_empty() {
        let mut x = CAMERA_INPUT.to_string();
        for (i, conv) in model.convs.iter().enumerate() {
            x = g.conv(&format!("conv{i}"), &x, conv)?;
            x = g.unary(act, &format!("conv{i}_act"), &x);
        }
        x = g.flatten("camera_flat", &x);
        for (i, d) in model.camera_dense.iter().enumerate() {
            x = g.gemm(&format!("camera_dense{i}"), &x, d)?;
            x = g.unary(act, &format!("camera_dense{i}_act"), &x);
        }
        parts.push(x);
    }
    if !model.vector_dense.is_empty() {
        let mut x = if model.camera_as_vector {
            g.flatten("camera_flat", CAMERA_INPUT)
        } else {
            LIDAR_INPUT.to_string()
        };
        for (i, d) in model.vector_dense.iter().enumerate() {
            x = g.gemm(&format!("vector_dense{i}"), &x, d)?;
            x = g.unary("Relu", &format!("vector_dense{i}_act"), &x);
        }
        parts.push(x);
    }
    let features = if parts.len() == 1 {
        parts.remove(0)
    } else {
        g.node("Concat", "features", parts, vec![attr_int("axis", 1)])
    };
    let h = g.gemm("middleware", &features, &model.middleware)?;
    let h = g.unary("Relu", "middleware_act", &h);
    let (output, n) = match net.head {
        HeadKind::Categorical(n) => (OutputKind::Probabilities, n),
        HeadKind::Gaussian(n) | HeadKind::SquashedGaussian(n) => (OutputKind::GaussianMean, n),
    };
    let name = output.tensor_name();
    if let HeadKind::SquashedGaussian(n) = net.head {
        // SAC's deterministic action: tanh of the means (the head's first
        // n outputs; the log standard deviations are left out)
        let mean = g.gemm_cols("policy", &h, &model.policy, n)?;
        g.nodes
            .push(node("Tanh", "squash", vec![mean], name, vec![]));
        return Ok(finish(g, net, output, n));
    }
    let logits = g.gemm("policy", &h, &model.policy)?;
    match output {
        OutputKind::Probabilities => {
            g.nodes.push(node(
                "Softmax",
                "softmax",
                vec![logits],
                name,
                vec![attr_int("axis", 1)],
            ));
        }
        OutputKind::GaussianMean => {
            let log_std = model.log_std().ok_or_else(|| {
                AgentError::Shape("ONNX export: a Gaussian head without log_std".into())
            })?;
            let sigma = g.weight("policy.sigma", log_std.exp())?;
            let mean = g.clipped_gaussian_mean(&logits, &sigma);
            g.nodes
                .push(node("Identity", "mean", vec![mean], name, vec![]));
        }
    }
    Ok(finish(g, net, output, n))
}

/// The model around the graph `g` built for `net`, whose output is `n`
/// values of `output` per observation.
fn finish(
    g: GraphBuilder,
    net: &crate::net::ActorCriticConfig,
    output: OutputKind,
    n: usize,
) -> OnnxModel {
    let name = output.tensor_name();
    let outputs = vec![value_info(name, vec![dim_param("N"), dim(n)])];
    let graph = pb::GraphProto {
        node: g.nodes,
        name: "chicane_policy".into(),
        initializer: g.initializers,
        doc_string: format!(
            "chicane {} policy; preprocessing outside the graph (chicane-core Preprocess)",
            net.network
        ),
        input: g.inputs,
        output: outputs,
        ..Default::default()
    };
    let model_proto = pb::ModelProto {
        // IR version 7 is the one opset 13 was released with
        ir_version: 7,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: ONNX_OPSET,
        }],
        producer_name: "chicane".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "rl.chicane".into(),
        model_version: 1,
        doc_string: "A chicane racing policy (DeepRacer-compatible action space)".into(),
        graph: Some(graph),
        metadata_props: vec![pb::StringStringEntryProto {
            key: "network".into(),
            value: net.network.name().into(),
        }],
        ..Default::default()
    };
    OnnxModel {
        bytes: model_proto.encode_to_vec(),
        camera: net.camera,
        lidar: net.vector,
        output,
        output_len: n,
    }
}

#[derive(Default)]
struct GraphBuilder {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    inputs: Vec<pb::ValueInfoProto>,
}

impl GraphBuilder {
    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: Vec<String>,
        attrs: Vec<pb::AttributeProto>,
    ) -> String {
        self.nodes.push(node(op, name, inputs, name, attrs));
        name.to_string()
    }

    fn unary(&mut self, op: &str, name: &str, x: &str) -> String {
        self.node(op, name, vec![x.to_string()], vec![])
    }

    fn flatten(&mut self, name: &str, x: &str) -> String {
        self.node(
            "Flatten",
            name,
            vec![x.to_string()],
            vec![attr_int("axis", 1)],
        )
    }

    fn weight<const D: usize>(&mut self, name: &str, t: Tensor<D>) -> Result<String, AgentError> {
        let dims: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
        let data = t
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| AgentError::Shape(format!("ONNX export: weight {name}: {e:?}")))?;
        Ok(self.initializer(name, dims, data))
    }

    /// A float initializer named `name`.
    fn initializer(&mut self, name: &str, dims: Vec<i64>, data: Vec<f32>) -> String {
        self.initializers.push(pb::TensorProto {
            dims,
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data: data,
            name: name.to_string(),
            ..Default::default()
        });
        name.to_string()
    }

    /// A constant `[1]` float tensor.
    fn constant(&mut self, name: &str, v: f32) -> String {
        self.initializer(name, vec![1], vec![v])
    }

    fn binary(&mut self, op: &str, name: &str, x: &str, y: &str) -> String {
        self.node(op, name, vec![x.to_string(), y.to_string()], vec![])
    }

    /// The mean of `N(mean, sigma^2)` clipped to `[-1, 1]`, as
    /// `crate::learner::clipped_gaussian_mean` computes it on the host
    /// (the censored normal's mean, with `Erf` for the normal CDF).
    ///
    /// # Shapes
    /// `mean`: `[N, A]`; `sigma`: `[A]`. Returns `[N, A]`.
    fn clipped_gaussian_mean(&mut self, mean: &str, sigma: &str) -> String {
        let one = self.constant("cgm.one", 1.0);
        let neg_one = self.constant("cgm.neg_one", -1.0);
        let half = self.constant("cgm.half", 0.5);
        let neg_half = self.constant("cgm.neg_half", -0.5);
        let inv_sqrt2 = self.constant("cgm.inv_sqrt2", std::f32::consts::FRAC_1_SQRT_2);
        let inv_sqrt_2pi = self.constant(
            "cgm.inv_sqrt_2pi",
            1.0 / (2.0 * std::f32::consts::PI).sqrt(),
        );
        let lo = self.binary("Sub", "cgm.lo_gap", &neg_one, mean);
        let a = self.binary("Div", "cgm.a", &lo, sigma);
        let hi = self.binary("Sub", "cgm.hi_gap", &one, mean);
        let b = self.binary("Div", "cgm.b", &hi, sigma);
        let mut cdf_pdf = |z: &str, tag: &str| {
            let zs = self.binary("Mul", &format!("cgm.{tag}_scaled"), z, &inv_sqrt2);
            let erf = self.unary("Erf", &format!("cgm.{tag}_erf"), &zs);
            let e1 = self.binary("Add", &format!("cgm.{tag}_erf1"), &erf, &one);
            let cdf = self.binary("Mul", &format!("cgm.{tag}_cdf"), &e1, &half);
            let z2 = self.binary("Mul", &format!("cgm.{tag}_sq"), z, z);
            let ez = self.binary("Mul", &format!("cgm.{tag}_exponent"), &z2, &neg_half);
            let ex = self.unary("Exp", &format!("cgm.{tag}_exp"), &ez);
            let pdf = self.binary("Mul", &format!("cgm.{tag}_pdf"), &ex, &inv_sqrt_2pi);
            (cdf, pdf)
        };
        let (cdf_a, pdf_a) = cdf_pdf(&a, "a");
        let (cdf_b, pdf_b) = cdf_pdf(&b, "b");
        // -Phi(a) + (1 - Phi(b)) + mean (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b))
        let upper = self.binary("Sub", "cgm.upper", &one, &cdf_b);
        let tails = self.binary("Sub", "cgm.tails", &upper, &cdf_a);
        let inside = self.binary("Sub", "cgm.inside", &cdf_b, &cdf_a);
        let m_inside = self.binary("Mul", "cgm.mean_inside", mean, &inside);
        let dens = self.binary("Sub", "cgm.density", &pdf_a, &pdf_b);
        let s_dens = self.binary("Mul", "cgm.sigma_density", sigma, &dens);
        let sum = self.binary("Add", "cgm.sum1", &tails, &m_inside);
        let sum = self.binary("Add", "cgm.sum2", &sum, &s_dens);
        let low = self.binary("Max", "cgm.at_least", &sum, &neg_one);
        self.binary("Min", "cgm.clipped_mean", &low, &one)
    }

    /// A burn `Conv2d` (valid padding, no dilation, one group) as ONNX `Conv`.
    fn conv(&mut self, name: &str, x: &str, conv: &Conv2d) -> Result<String, AgentError> {
        let w = conv.weight.val();
        let [_, _, kh, kw] = w.dims();
        let mut inputs = vec![x.to_string(), self.weight(&format!("{name}.weight"), w)?];
        if let Some(b) = &conv.bias {
            inputs.push(self.weight(&format!("{name}.bias"), b.val())?);
        }
        let attrs = vec![
            attr_ints("kernel_shape", &[kh as i64, kw as i64]),
            attr_ints("strides", &[conv.stride[0] as i64, conv.stride[1] as i64]),
            attr_ints("pads", &[0, 0, 0, 0]),
            attr_ints("dilations", &[1, 1]),
            attr_int("group", 1),
        ];
        Ok(self.node("Conv", name, inputs, attrs))
    }

    /// The first `cols` outputs of a burn `Linear` as ONNX `Gemm`.
    fn gemm_cols(
        &mut self,
        name: &str,
        x: &str,
        lin: &Linear,
        cols: usize,
    ) -> Result<String, AgentError> {
        let w = lin.weight.val();
        let mut inputs = vec![
            x.to_string(),
            self.weight(&format!("{name}.weight"), w.narrow(1, 0, cols))?,
        ];
        if let Some(b) = &lin.bias {
            inputs.push(self.weight(&format!("{name}.bias"), b.val().narrow(0, 0, cols))?);
        }
        Ok(self.node("Gemm", name, inputs, vec![]))
    }

    /// A burn `Linear` (`y = x W + b`, `W` stored `[in, out]`) as ONNX `Gemm`.
    fn gemm(&mut self, name: &str, x: &str, lin: &Linear) -> Result<String, AgentError> {
        let [_, cols] = lin.weight.dims();
        self.gemm_cols(name, x, lin, cols)
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: Vec<String>,
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs,
        output: vec![output.to_string()],
        name: name.to_string(),
        op_type: op.to_string(),
        attribute,
        ..Default::default()
    }
}

fn attr_int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

fn attr_ints(name: &str, ints: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}

fn dim(n: usize) -> pb::tensor_shape_proto::Dimension {
    pb::tensor_shape_proto::Dimension {
        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(n as i64)),
        ..Default::default()
    }
}

fn dim_param(name: &str) -> pb::tensor_shape_proto::Dimension {
    pb::tensor_shape_proto::Dimension {
        value: Some(pb::tensor_shape_proto::dimension::Value::DimParam(
            name.into(),
        )),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: Vec<pb::tensor_shape_proto::Dimension>) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
