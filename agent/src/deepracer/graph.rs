//! A chicane policy as the TensorFlow frozen graph the stock DeepRacer car
//! loads: translated node by node from the ONNX graph of [`export_onnx`],
//! so the two compute the same function.
//!
//! The graph takes the camera frame as the car feeds it, NHWC raw 0..255
//! (`float [None, 120, 160, C]`), and repeats chicane's preprocessing
//! inside it (box downscale as `AvgPool`, then `x * (1/255)`, as rl_coach's
//! input rescaling divides by 255); convolutions run in NHWC with HWIO
//! filters, and the feature map is transposed back to chicane's `C, H, W`
//! order before it is flattened, so dense weights are used unchanged.

use super::names::{
    PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT, camera_input_name, sac_camera_input_name,
};
use super::tfpb::{
    AttrValue, DT_FLOAT, DT_INT32, Dim, GraphDef, NodeDef, TensorProto, TensorShapeProto,
    VersionDef, attr_value, permute4,
};
use crate::error::AgentError;
use crate::learner::Learner;
use crate::net::HeadKind;
use crate::onnx::export_onnx;
use chicane_bundle::{CAMERA_INPUT, OutputKind};
use chicane_core::{NetworkKind, Preprocess, Sensor, TrainingAlgorithm};
use prost::Message;
use std::collections::HashMap;
use tract_onnx::pb;

/// The DeepRacer camera frame: height and width (px) the car feeds.
pub const CAR_FRAME: [usize; 2] = [120, 160];

/// GraphDef version recorded as the producer: TensorFlow 1.15's
/// `TF_GRAPH_DEF_VERSION` (134), the TensorFlow DeepRacer's rl_coach used.
const PRODUCER: i32 = 134;

/// A policy as a DeepRacer frozen graph.
#[derive(Debug, Clone)]
pub struct DeepRacerGraph {
    /// The serialised `GraphDef` (`model.pb`).
    pub bytes: Vec<u8>,
    /// The input placeholder's name (rl_coach's).
    pub input: String,
    /// The input shape `[1, 120, 160, C]` the car's Model Optimizer is given.
    pub input_shape: [usize; 4],
    /// The output node's name (rl_coach's PPO policy head, or its SAC
    /// policy head for a SAC model).
    pub output: String,
    /// What the output holds: probabilities or the mean action.
    pub output_kind: OutputKind,
    /// Outputs per frame (`A` actions, or 2).
    pub output_len: usize,
    /// The camera sensor the graph is fed by.
    pub sensor: Sensor,
    /// The algorithm whose rl_coach names the graph has (`clipped_ppo`, or
    /// `sac` for a SAC policy): the car finds the output by it.
    pub training_algorithm: TrainingAlgorithm,
}

/// Why a model cannot run on the stock car, or `None` when it can: the
/// car feeds one 160x120 greyscale frame (or a stereo pair) and nothing
/// else to a camera network.
pub fn car_unsupported(
    network: NetworkKind,
    preprocess: Option<&Preprocess>,
    lidar: bool,
) -> Option<String> {
    if lidar {
        return Some(
            "the model reads lidar; the stock car's TensorFlow path feeds cameras only \
             (train with camera sensors only)"
                .into(),
        );
    }
    if network == NetworkKind::Mlp {
        return Some("an MLP policy has no camera network for the car; train a CNN".into());
    }
    let Some(p) = preprocess else {
        return Some("the model has no camera".into());
    };
    if [p.height, p.width] != CAR_FRAME {
        return Some(format!(
            "its camera is {}x{}; the car's camera frames are 160x120 (set [sim.camera] width = 160, height = 120)",
            p.width, p.height
        ));
    }
    if !(p.channels == 1 || p.channels == 2) {
        return Some(format!(
            "its camera has {} channels; the car feeds greyscale (1) or a greyscale stereo pair (2): turn rgb off",
            p.channels
        ));
    }
    if p.stack_size > 1 {
        return Some(format!(
            "it stacks {} frames; the car feeds one frame per step (set stack_size = 1)",
            p.stack_size
        ));
    }
    None
}

/// Exports `learner`'s policy, trained on frames preprocessed by
/// `preprocess`, as a DeepRacer frozen graph (PPO's node names, or SAC's
/// for a squashed-Gaussian policy).
///
/// # Errors
/// [`AgentError::Unsupported`] with the reason when the car cannot run
/// the model ([`car_unsupported`]); [`AgentError::Shape`] when the ONNX
/// graph holds an op this translation does not know (a bug).
pub fn export_deepracer_graph(
    learner: &Learner,
    preprocess: Option<&Preprocess>,
) -> Result<DeepRacerGraph, AgentError> {
    let net = learner.network();
    if let Some(why) = car_unsupported(net.network, preprocess, net.vector.is_some()) {
        return Err(AgentError::Unsupported(format!(
            "the stock DeepRacer car cannot run this model: {why}"
        )));
    }
    let Some(p) = preprocess.copied() else {
        return Err(AgentError::Unsupported("the model has no camera".into()));
    };
    let sensor = if p.channels == 2 {
        Sensor::StereoCameras
    } else {
        Sensor::FrontFacingCamera
    };
    let onnx = export_onnx(learner)?;
    let model = pb::ModelProto::decode(onnx.bytes.as_slice())
        .map_err(|e| AgentError::Shape(format!("re-reading the ONNX graph: {e}")))?;
    let graph = model
        .graph
        .ok_or_else(|| AgentError::Shape("the ONNX model has no graph".into()))?;
    // rl_coach's names: the PPO agent's, or the SAC agent's policy network
    let (input, output, training_algorithm) = match net.head {
        HeadKind::SquashedGaussian(_) => (
            sac_camera_input_name(sensor),
            SAC_POLICY_OUTPUT,
            TrainingAlgorithm::Sac,
        ),
        HeadKind::Categorical(_) | HeadKind::Gaussian(_) => (
            camera_input_name(sensor),
            PPO_POLICY_OUTPUT,
            TrainingAlgorithm::ClippedPpo,
        ),
    };
    let mut t = Translation::new(&graph, output);
    t.preprocess(&input, &p);
    for n in &graph.node {
        t.node(n)?;
    }
    let output_name = onnx.output.tensor_name();
    if t.tf_name(output_name)? != output {
        return Err(AgentError::Shape(format!(
            "the ONNX output `{output_name}` was not translated to {output}"
        )));
    }
    let mut names = std::collections::HashSet::new();
    if let Some(dup) = t.nodes.iter().find(|n| !names.insert(n.name.as_str())) {
        return Err(AgentError::Shape(format!(
            "two TensorFlow nodes named {}",
            dup.name
        )));
    }
    let def = GraphDef {
        node: t.nodes,
        versions: Some(VersionDef {
            producer: PRODUCER,
            min_consumer: 0,
        }),
    };
    Ok(DeepRacerGraph {
        bytes: def.encode_to_vec(),
        input,
        input_shape: [1, CAR_FRAME[0], CAR_FRAME[1], p.channels],
        output: output.into(),
        output_kind: onnx.output,
        output_len: onnx.output_len,
        sensor,
        training_algorithm,
    })
}

/// How a tensor is laid out in the TensorFlow graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// A camera feature map, NHWC (ONNX has it NCHW).
    Nhwc,
    /// Anything else, as in ONNX.
    Same,
}

struct Translation<'a> {
    /// Node names are this prefix + the ONNX node's name.
    scope: String,
    /// The ONNX node whose output is the graph's output gets this name.
    output_tf: &'a str,
    outputs: Vec<String>,
    initializers: HashMap<&'a str, &'a pb::TensorProto>,
    /// ONNX tensor name -> (TF node name, layout).
    tensors: HashMap<String, (String, Layout)>,
    /// Initializers already emitted as `Const` nodes.
    consts: HashMap<String, String>,
    /// ONNX tensor name -> fan-in of the Gemm that reads it.
    gemm_fan_in: HashMap<String, i32>,
    nodes: Vec<NodeDef>,
}

impl<'a> Translation<'a> {
    fn new(graph: &'a pb::GraphProto, output_tf: &'a str) -> Self {
        // the policy tower's scope: network_1 of the online network
        let scope = output_tf
            .rsplit_once('/')
            .and_then(|(head, _)| head.rsplit_once('/'))
            .map_or(String::new(), |(s, _)| format!("{s}/"));
        let initializers: HashMap<&str, &pb::TensorProto> = graph
            .initializer
            .iter()
            .map(|i| (i.name.as_str(), i))
            .collect();
        let gemm_fan_in = graph
            .node
            .iter()
            .filter(|n| n.op_type == "Gemm" && n.input.len() > 1)
            .filter_map(|n| {
                let w = initializers.get(n.input[1].as_str())?;
                Some((n.input[0].clone(), *w.dims.first()? as i32))
            })
            .collect();
        Self {
            scope,
            gemm_fan_in,
            output_tf,
            outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
            initializers,
            tensors: HashMap::new(),
            consts: HashMap::new(),
            nodes: Vec::new(),
        }
    }

    fn push(
        &mut self,
        name: String,
        op: &str,
        input: Vec<String>,
        attr: Vec<(&str, AttrValue)>,
    ) -> String {
        self.nodes.push(NodeDef {
            name: name.clone(),
            op: op.into(),
            input,
            device: String::new(),
            attr: attr.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
        name
    }

    fn const_f32(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        let content = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensor = TensorProto {
            dtype: DT_FLOAT,
            tensor_shape: Some(shape(dims.iter().map(|&d| d as i64))),
            tensor_content: content,
            ..Default::default()
        };
        self.push(
            name,
            "Const",
            vec![],
            vec![("dtype", ty(DT_FLOAT)), ("value", tensor_attr(tensor))],
        )
    }

    fn const_i32(&mut self, name: String, data: &[i32]) -> String {
        let tensor = TensorProto {
            dtype: DT_INT32,
            tensor_shape: Some(shape([data.len() as i64])),
            tensor_content: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        };
        self.push(
            name,
            "Const",
            vec![],
            vec![("dtype", ty(DT_INT32)), ("value", tensor_attr(tensor))],
        )
    }

    /// The placeholder and the preprocessing that turns it into the ONNX
    /// graph's camera input.
    fn preprocess(&mut self, input: &str, p: &Preprocess) {
        let ph = self.push(
            input.into(),
            "Placeholder",
            vec![],
            vec![
                ("dtype", ty(DT_FLOAT)),
                (
                    "shape",
                    AttrValue {
                        value: Some(attr_value::Value::Shape(shape([
                            -1,
                            CAR_FRAME[0] as i64,
                            CAR_FRAME[1] as i64,
                            p.channels as i64,
                        ]))),
                    },
                ),
            ],
        );
        let sensor_scope = input.rsplit_once('/').map_or(input, |(s, _)| s).to_string();
        let mut x = ph;
        if p.downscale > 1 {
            let d = p.downscale as i64;
            x = self.push(
                format!("{sensor_scope}/downscale"),
                "AvgPool",
                vec![x],
                vec![
                    ("T", ty(DT_FLOAT)),
                    ("ksize", ints(&[1, d, d, 1])),
                    ("strides", ints(&[1, d, d, 1])),
                    ("padding", s("VALID")),
                    ("data_format", s("NHWC")),
                ],
            );
        }
        let k = self.const_f32(format!("{sensor_scope}/rescale/y"), &[], &[1.0 / 255.0]);
        x = self.push(
            format!("{sensor_scope}/rescale"),
            "Mul",
            vec![x, k],
            vec![("T", ty(DT_FLOAT))],
        );
        self.tensors
            .insert(CAMERA_INPUT.to_string(), (x, Layout::Nhwc));
    }

    /// The TF node holding the ONNX tensor `name`.
    fn tf_name(&self, name: &str) -> Result<&str, AgentError> {
        self.tensors
            .get(name)
            .map(|(n, _)| n.as_str())
            .ok_or_else(|| AgentError::Shape(format!("ONNX tensor `{name}` has no translation")))
    }

    /// The TF input for ONNX tensor `name`: a node made before, or an
    /// initializer as a `Const`.
    fn input(&mut self, name: &str) -> Result<(String, Layout), AgentError> {
        if let Some(t) = self.tensors.get(name) {
            return Ok(t.clone());
        }
        if let Some(c) = self.consts.get(name) {
            return Ok((c.clone(), Layout::Same));
        }
        let init = *self
            .initializers
            .get(name)
            .ok_or_else(|| AgentError::Shape(format!("ONNX tensor `{name}` is not defined")))?;
        let dims: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
        let data = floats(init)?;
        let c = self.const_f32(format!("{}{name}", self.scope), &dims, &data);
        self.consts.insert(name.to_string(), c.clone());
        Ok((c, Layout::Same))
    }

    fn weight(&mut self, name: &str) -> Result<(&'a pb::TensorProto, Vec<f32>), AgentError> {
        let init = *self.initializers.get(name).ok_or_else(|| {
            AgentError::Shape(format!("ONNX weight `{name}` is not an initializer"))
        })?;
        Ok((init, floats(init)?))
    }

    fn node(&mut self, n: &pb::NodeProto) -> Result<(), AgentError> {
        let out = n
            .output
            .first()
            .ok_or_else(|| AgentError::Shape(format!("ONNX node `{}` has no output", n.name)))?
            .clone();
        let name = if self.outputs.contains(&out) {
            self.output_tf.to_string()
        } else {
            format!("{}{}", self.scope, n.name)
        };
        let float = || ("T", ty(DT_FLOAT));
        let (tf, layout) = match n.op_type.as_str() {
            "Conv" => {
                let (x, layout) = self.input(&n.input[0])?;
                if layout != Layout::Nhwc {
                    return Err(AgentError::Shape(format!(
                        "Conv `{}` on a flat tensor",
                        n.name
                    )));
                }
                let (w, data) = self.weight(&n.input[1])?;
                let [o, i, kh, kw] = dims4(w)?;
                let hwio = permute4(&data, [o, i, kh, kw], [2, 3, 1, 0]);
                let filter = self.const_f32(format!("{name}/kernel"), &[kh, kw, i, o], &hwio);
                let strides = attr(n, "strides").map_or(vec![1, 1], |a| a.ints.clone());
                if attr(n, "pads").is_some_and(|a| a.ints.iter().any(|&p| p != 0))
                    || attr(n, "group").is_some_and(|a| a.i != 1)
                    || attr(n, "dilations").is_some_and(|a| a.ints.iter().any(|&d| d != 1))
                {
                    return Err(AgentError::Shape(format!(
                        "Conv `{}`: only unpadded, undilated, ungrouped convolutions translate",
                        n.name
                    )));
                }
                let conv = self.push(
                    format!("{name}/Conv2D"),
                    "Conv2D",
                    vec![x, filter],
                    vec![
                        float(),
                        ("strides", ints(&[1, strides[0], strides[1], 1])),
                        ("padding", s("VALID")),
                        ("data_format", s("NHWC")),
                        ("dilations", ints(&[1, 1, 1, 1])),
                        ("use_cudnn_on_gpu", b(true)),
                    ],
                );
                (self.bias_add(name, conv, n.input.get(2))?, Layout::Nhwc)
            }
            "Gemm" => {
                for (a, want) in [("transA", 0), ("transB", 0)] {
                    if attr(n, a).is_some_and(|v| v.i != want) {
                        return Err(AgentError::Shape(format!("Gemm `{}` with {a}", n.name)));
                    }
                }
                let (x, _) = self.input(&n.input[0])?;
                let (w, data) = self.weight(&n.input[1])?;
                let dims: Vec<usize> = w.dims.iter().map(|&d| d as usize).collect();
                let kernel = self.const_f32(format!("{name}/kernel"), &dims, &data);
                let mm = self.push(
                    format!("{name}/MatMul"),
                    "MatMul",
                    vec![x, kernel],
                    vec![
                        float(),
                        ("transpose_a", b(false)),
                        ("transpose_b", b(false)),
                    ],
                );
                (self.bias_add(name, mm, n.input.get(2))?, Layout::Same)
            }
            "Flatten" => {
                let (x, layout) = self.input(&n.input[0])?;
                let x = if layout == Layout::Nhwc {
                    // back to ONNX's C, H, W order so dense weights fit as they are
                    let perm = self.const_i32(format!("{name}/perm"), &[0, 3, 1, 2]);
                    self.push(
                        format!("{name}/to_nchw"),
                        "Transpose",
                        vec![x, perm],
                        vec![float(), ("Tperm", ty(DT_INT32))],
                    )
                } else {
                    x
                };
                let shape = self.const_i32(format!("{name}/shape"), &[-1, self.flat_len(n)?]);
                (
                    self.push(
                        name,
                        "Reshape",
                        vec![x, shape],
                        vec![float(), ("Tshape", ty(DT_INT32))],
                    ),
                    Layout::Same,
                )
            }
            "Relu" | "Tanh" | "Erf" | "Exp" | "Identity" | "Softmax" => {
                if n.op_type == "Softmax" && attr(n, "axis").is_some_and(|a| a.i != 1 && a.i != -1)
                {
                    return Err(AgentError::Shape(format!(
                        "Softmax `{}` not over the last axis",
                        n.name
                    )));
                }
                let (x, layout) = self.input(&n.input[0])?;
                (self.push(name, &n.op_type, vec![x], vec![float()]), layout)
            }
            "Add" | "Sub" | "Mul" | "Div" | "Max" | "Min" => {
                let op = match n.op_type.as_str() {
                    "Add" => "AddV2",
                    "Div" => "RealDiv",
                    "Max" => "Maximum",
                    "Min" => "Minimum",
                    other => other,
                };
                let (a, la) = self.input(&n.input[0])?;
                let (b, lb) = self.input(&n.input[1])?;
                if la == Layout::Nhwc || lb == Layout::Nhwc {
                    return Err(AgentError::Shape(format!(
                        "{} `{}` on a camera feature map does not translate",
                        n.op_type, n.name
                    )));
                }
                (self.push(name, op, vec![a, b], vec![float()]), Layout::Same)
            }
            other => {
                return Err(AgentError::Shape(format!(
                    "ONNX op {other} (node `{}`) has no TensorFlow translation",
                    n.name
                )));
            }
        };
        self.tensors.insert(out, (tf, layout));
        Ok(())
    }

    /// `x` plus the ONNX initializer `bias` (a `BiasAdd` named `name`), or
    /// `x` itself without one.
    fn bias_add(
        &mut self,
        name: String,
        x: String,
        bias: Option<&String>,
    ) -> Result<String, AgentError> {
        let Some(bias) = bias else {
            return Ok(x);
        };
        let (_, data) = self.weight(bias)?;
        let c = self.const_f32(format!("{name}/bias"), &[data.len()], &data);
        Ok(self.push(
            name,
            "BiasAdd",
            vec![x, c],
            vec![("T", ty(DT_FLOAT)), ("data_format", s("NHWC"))],
        ))
    }

    /// The flattened length of a Flatten node's input: the fan-in of the
    /// Gemm that reads it.
    fn flat_len(&self, flatten: &pb::NodeProto) -> Result<i32, AgentError> {
        let out = &flatten.output[0];
        self.gemm_fan_in
            .get(out)
            .copied()
            .ok_or_else(|| AgentError::Shape(format!("Flatten `{}` feeds no Gemm", flatten.name)))
    }
}

fn dims4(t: &pb::TensorProto) -> Result<[usize; 4], AgentError> {
    match t.dims.as_slice() {
        &[a, b, c, d] => Ok([a as usize, b as usize, c as usize, d as usize]),
        other => Err(AgentError::Shape(format!(
            "conv weight `{}` has shape {other:?}, not 4-D",
            t.name
        ))),
    }
}

/// The float values of an ONNX initializer.
fn floats(t: &pb::TensorProto) -> Result<Vec<f32>, AgentError> {
    if !t.float_data.is_empty() {
        return Ok(t.float_data.clone());
    }
    if t.raw_data.len().is_multiple_of(4) && !t.raw_data.is_empty() {
        return Ok(t
            .raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect());
    }
    Err(AgentError::Shape(format!(
        "initializer `{}` holds no floats",
        t.name
    )))
}

fn attr<'n>(n: &'n pb::NodeProto, name: &str) -> Option<&'n pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn shape(dims: impl IntoIterator<Item = i64>) -> TensorShapeProto {
    TensorShapeProto {
        dim: dims.into_iter().map(|size| Dim { size }).collect(),
        unknown_rank: false,
    }
}

fn ty(t: i32) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::Type(t)),
    }
}

fn s(v: &str) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::S(v.as_bytes().to_vec())),
    }
}

fn b(v: bool) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::B(v)),
    }
}

fn ints(v: &[i64]) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::List(attr_value::ListValue {
            i: v.to_vec(),
            ..Default::default()
        })),
    }
}

fn tensor_attr(t: TensorProto) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::Tensor(t)),
    }
}
