//! A frozen graph's policy path as chicane layers: from the camera
//! placeholder to the PPO policy output, each convolution, bias, batch norm
//! (folded), activation, flatten and dense layer, matched to a chicane
//! network.

use super::graph::CAR_FRAME;
use super::names::{PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT};
use super::tfpb::{AttrValue, GraphDef, NodeDef, attr_value, permute4};
use super::tfread::{Tf, ints_attr, str_attr};
use crate::error::AgentError;
use crate::net::{HostLayer, PolicyLayers};
use chicane_core::{NetworkKind, Sensor};
use std::collections::{HashMap, HashSet};

/// A graph's policy path as chicane layers.
#[derive(Debug)]
pub(super) struct Mapped {
    pub(super) network: NetworkKind,
    pub(super) sensor: Sensor,
    pub(super) layers: PolicyLayers,
    /// Policy outputs per frame.
    pub(super) outputs: usize,
    /// True for a softmax (discrete) head.
    pub(super) softmax: bool,
    pub(super) notes: Vec<String>,
}

/// One layer as read from the graph.
#[derive(Debug)]
struct Layer {
    node: String,
    /// Conv: `[filters, kernel, stride]`; dense: `[units, 0, 0]`.
    shape: [usize; 3],
    conv: bool,
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
    activation: Option<String>,
    /// The node whose output is this layer's output so far.
    tail: String,
}

/// Shape-only ops a flatten is built from (`tf.layers.flatten`), and
/// pass-through ops, which carry no weights.
const IGNORED: [&str; 10] = [
    "Identity",
    "Shape",
    "StridedSlice",
    "Pack",
    "Prod",
    "Cast",
    "Const",
    "Size",
    "Rank",
    "Fill",
];

/// Ops of chicane's clipped-Gaussian mean after the policy layer.
const MEAN_OPS: [&str; 10] = [
    "Sub", "RealDiv", "Mul", "Erf", "Exp", "AddV2", "Add", "Maximum", "Minimum", "Identity",
];

pub(super) fn map_graph(graph: &GraphDef) -> Result<Mapped, AgentError> {
    let tf = Tf {
        nodes: graph.node.iter().map(|n| (n.name.as_str(), n)).collect(),
    };
    let unsupported = |m: String| AgentError::Unsupported(m);
    if !tf.nodes.contains_key(PPO_POLICY_OUTPUT) {
        if tf.nodes.contains_key(SAC_POLICY_OUTPUT) {
            return Err(unsupported(format!(
                "a SAC graph ({SAC_POLICY_OUTPUT}); chicane imports DeepRacer's PPO graphs \
                 only (DeepRacer's SAC head, a dense 256 layer before separate mean and log \
                 std layers, is not chicane's SAC head), so it cannot import this policy"
            )));
        }
        return Err(unsupported(format!(
            "no node named {PPO_POLICY_OUTPUT} (the PPO policy output DeepRacer writes)"
        )));
    }
    // the camera placeholder
    let cameras: Vec<(&NodeDef, Sensor)> = graph
        .node
        .iter()
        .filter(|n| n.op == "Placeholder")
        .filter_map(|n| {
            let last = n.name.rsplit('/').next()?;
            match last {
                "FRONT_FACING_CAMERA" => Some((n, Sensor::FrontFacingCamera)),
                "STEREO_CAMERAS" => Some((n, Sensor::StereoCameras)),
                _ => None,
            }
        })
        .collect();
    let (input, sensor) = match cameras.as_slice() {
        [one] => *one,
        [] => {
            return Err(unsupported(
                "no FRONT_FACING_CAMERA or STEREO_CAMERAS placeholder; chicane imports camera models"
                    .into(),
            ));
        }
        _ => return Err(unsupported("more than one camera placeholder".into())),
    };
    // nodes on a path from the camera to the output
    let mut consumers: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in &graph.node {
        for i in tf.data_inputs(n) {
            consumers.entry(i).or_default().push(n.name.as_str());
        }
    }
    let mut forward: HashSet<&str> = HashSet::new();
    let mut stack = vec![input.name.as_str()];
    while let Some(n) = stack.pop() {
        if forward.insert(n) {
            stack.extend(consumers.get(n).into_iter().flatten().copied());
        }
    }
    if !forward.contains(PPO_POLICY_OUTPUT) {
        return Err(unsupported(format!(
            "{PPO_POLICY_OUTPUT} does not depend on the camera input {}",
            input.name
        )));
    }
    // topological order of the path, by depth-first search from the output
    let mut on_path: HashSet<&str> = HashSet::new();
    let mut order: Vec<&str> = Vec::new();
    let mut visiting: Vec<(&str, bool)> = vec![(PPO_POLICY_OUTPUT, false)];
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some((n, done)) = visiting.pop() {
        if done {
            on_path.insert(n);
            order.push(n);
            continue;
        }
        if !seen.insert(n) {
            continue;
        }
        visiting.push((n, true));
        let node = tf.node(n)?;
        for i in tf.data_inputs(node) {
            if forward.contains(i) && !seen.contains(i) {
                visiting.push((i, false));
            }
        }
    }
    let placeholders: Vec<&str> = order
        .iter()
        .filter(|n| tf.nodes.get(*n).is_some_and(|d| d.op == "Placeholder") && **n != input.name)
        .copied()
        .collect();
    if !placeholders.is_empty() {
        return Err(unsupported(format!(
            "the policy also reads {}; chicane maps camera-only models",
            placeholders.join(", ")
        )));
    }

    let mut notes = Vec::new();
    let mut layers: Vec<Layer> = Vec::new();
    let mut downscale = 1usize;
    let mut rescaled = false;
    let mut flatten_at: Option<usize> = None;
    let mut nchw_flatten = false;
    let mut softmax = false;
    let mut head_post = false;
    let mut clipped_mean = false;
    let mut sigma: Option<Vec<f32>> = None;
    for &name in &order {
        let n = tf.node(name)?;
        if name == input.name {
            continue;
        }
        // the index of the last layer when `n` reads its output
        let after_layer = |layers: &[Layer]| -> Option<usize> {
            let last = layers.len().checked_sub(1)?;
            tf.data_inputs(n)
                .any(|i| i == layers[last].tail)
                .then_some(last)
        };
        match n.op.as_str() {
            _ if head_post => {
                if !MEAN_OPS.contains(&n.op.as_str()) {
                    return Err(unsupported(format!(
                        "node `{}` (op {}) after the policy layer is neither softmax nor \
                         chicane's clipped mean",
                        n.name, n.op
                    )));
                }
                mean_node(&tf, n, &on_path, &mut sigma, &mut clipped_mean)?;
            }
            "AvgPool" if layers.is_empty() => {
                let k = ints_attr(n, "ksize").unwrap_or_default();
                let s = ints_attr(n, "strides").unwrap_or_default();
                match (k.as_slice(), s == k) {
                    ([1, a, b, 1], true) if a == b && *a > 0 => downscale *= *a as usize,
                    _ => {
                        return Err(unsupported(format!(
                            "AvgPool `{}` with ksize {k:?} and strides {s:?}; chicane's \
                             downscale is a square box with stride = size",
                            n.name
                        )));
                    }
                }
            }
            "Mul" | "RealDiv" | "Div" if layers.is_empty() && !rescaled => {
                let (_, c) = tf.const_operand(n, &on_path).ok_or_else(|| {
                    unsupported(format!(
                        "`{}` ({}) before the first layer has no constant",
                        n.name, n.op
                    ))
                })?;
                let factor = if n.op == "Mul" { c[0] } else { 1.0 / c[0] };
                if c.len() != 1 || (factor * 255.0 - 1.0).abs() > 1e-4 {
                    return Err(unsupported(format!(
                        "`{}` scales the camera by {factor}; chicane's networks take x / 255",
                        n.name
                    )));
                }
                rescaled = true;
            }
            "Conv2D" => {
                if flatten_at.is_some() {
                    return Err(unsupported(format!(
                        "Conv2D `{}` after the flatten",
                        n.name
                    )));
                }
                let strides = ints_attr(n, "strides").unwrap_or_default();
                let s = match strides.as_slice() {
                    [1, a, b, 1] if a == b => *a as usize,
                    _ => {
                        return Err(unsupported(format!(
                            "Conv2D `{}` with strides {strides:?}; chicane's convolutions are NHWC with equal strides",
                            n.name
                        )));
                    }
                };
                if str_attr(n, "padding").as_deref() != Some("VALID")
                    || str_attr(n, "data_format").is_some_and(|f| f != "NHWC")
                    || ints_attr(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1))
                {
                    return Err(unsupported(format!(
                        "Conv2D `{}`: chicane's convolutions are VALID, NHWC, undilated",
                        n.name
                    )));
                }
                let kernel = tf
                    .data_inputs(n)
                    .nth(1)
                    .ok_or_else(|| unsupported(format!("Conv2D `{}` has no filter", n.name)))?;
                let (dims, w) = tf.constant(kernel)?;
                let [kh, kw, cin, cout] = dims[..] else {
                    return Err(unsupported(format!(
                        "Conv2D `{}` filter of shape {dims:?}",
                        n.name
                    )));
                };
                if kh != kw {
                    return Err(unsupported(format!(
                        "Conv2D `{}`: a {kh}x{kw} kernel is not square",
                        n.name
                    )));
                }
                let oihw = permute4(&w, [kh, kw, cin, cout], [3, 2, 0, 1]);
                layers.push(Layer {
                    node: n.name.clone(),
                    shape: [cout, kh, s],
                    conv: true,
                    weight: oihw,
                    bias: None,
                    activation: None,
                    tail: n.name.clone(),
                });
            }
            "MatMul" => {
                if n.attr
                    .get("transpose_a")
                    .is_some_and(|a| a.value == Some(attr_value::Value::B(true)))
                {
                    return Err(unsupported(format!("MatMul `{}` with transpose_a", n.name)));
                }
                let kernel = tf
                    .data_inputs(n)
                    .nth(1)
                    .ok_or_else(|| unsupported(format!("MatMul `{}` has no weight", n.name)))?;
                let (dims, mut w) = tf.constant(kernel)?;
                let [fan_in, mut units] = dims[..] else {
                    return Err(unsupported(format!(
                        "MatMul `{}` weight of shape {dims:?}",
                        n.name
                    )));
                };
                if n.attr
                    .get("transpose_b")
                    .is_some_and(|a| a.value == Some(attr_value::Value::B(true)))
                {
                    let t = w.clone();
                    for r in 0..fan_in {
                        for c in 0..units {
                            w[c * fan_in + r] = t[r * units + c];
                        }
                    }
                    units = fan_in;
                }
                if flatten_at.is_none() {
                    flatten_at = Some(layers.len());
                }
                layers.push(Layer {
                    node: n.name.clone(),
                    shape: [units, 0, 0],
                    conv: false,
                    weight: w,
                    bias: None,
                    activation: None,
                    tail: n.name.clone(),
                });
            }
            "BiasAdd" | "Add" | "AddV2"
                if after_layer(&layers).is_some_and(|l| {
                    layers[l].bias.is_none() && layers[l].activation.is_none()
                }) =>
            {
                let l = layers.len() - 1;
                let (_, b) = tf.const_operand(n, &on_path).ok_or_else(|| {
                    unsupported(format!(
                        "`{}` ({}) after layer `{}` adds no constant",
                        n.name, n.op, layers[l].node
                    ))
                })?;
                layers[l].bias = Some(b);
                layers[l].tail = n.name.clone();
            }
            "FusedBatchNorm" | "FusedBatchNormV3"
                if after_layer(&layers)
                    .is_some_and(|l| layers[l].conv && layers[l].activation.is_none()) =>
            {
                let l = layers.len() - 1;
                let ins: Vec<&str> = tf.data_inputs(n).collect();
                let get = |k: usize| -> Result<Vec<f32>, AgentError> {
                    let name = ins.get(k).ok_or_else(|| {
                        unsupported(format!("batch norm `{}` lacks input {k}", n.name))
                    })?;
                    Ok(tf.constant(name)?.1)
                };
                let (gamma, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
                let eps = match n.attr.get("epsilon") {
                    Some(AttrValue {
                        value: Some(attr_value::Value::F(e)),
                    }) => *e,
                    _ => 1e-3,
                };
                let layer = &mut layers[l];
                let cout = layer.shape[0];
                let per = layer.weight.len() / cout.max(1);
                let mut bias = layer.bias.take().unwrap_or_else(|| vec![0.0; cout]);
                for o in 0..cout {
                    let k = gamma[o] / (var[o] + eps).sqrt();
                    for w in &mut layer.weight[o * per..(o + 1) * per] {
                        *w *= k;
                    }
                    bias[o] = (bias[o] - mean[o]) * k + beta[o];
                }
                layer.bias = Some(bias);
                layer.tail = n.name.clone();
                notes.push(format!(
                    "batch norm `{}` folded into conv `{}`",
                    n.name, layer.node
                ));
            }
            "Relu" | "Tanh"
                if after_layer(&layers).is_some_and(|l| layers[l].activation.is_none()) =>
            {
                let l = layers.len() - 1;
                layers[l].activation = Some(n.op.clone());
                layers[l].tail = n.name.clone();
            }
            "Transpose" if flatten_at.is_none() && after_layer(&layers).is_some() => {
                let perm = tf
                    .data_inputs(n)
                    .nth(1)
                    .map(|p| tf.constant(p))
                    .transpose()?
                    .map(|(_, v)| v);
                if perm.as_deref() != Some(&[0.0, 3.0, 1.0, 2.0][..]) {
                    return Err(unsupported(format!(
                        "Transpose `{}` with perm {perm:?}; only NHWC -> NCHW before the flatten maps",
                        n.name
                    )));
                }
                nchw_flatten = true;
                let l = layers.len() - 1;
                layers[l].tail = n.name.clone();
            }
            "Reshape" | "Squeeze" if flatten_at.is_none() && after_layer(&layers).is_some() => {
                flatten_at = Some(layers.len());
                let l = layers.len() - 1;
                layers[l].tail = n.name.clone();
            }
            "Softmax" if name == PPO_POLICY_OUTPUT => softmax = true,
            "Identity" if after_layer(&layers).is_some() => {
                let l = layers.len() - 1;
                layers[l].tail = n.name.clone();
            }
            op if IGNORED.contains(&op) && flatten_at.is_none() => {}
            op if MEAN_OPS.contains(&op)
                && !layers.is_empty()
                && !layers[layers.len() - 1].conv =>
            {
                head_post = true;
                mean_node(&tf, n, &on_path, &mut sigma, &mut clipped_mean)?;
            }
            op => {
                return Err(unsupported(format!(
                    "node `{}` (op {op}) is on the policy path and chicane cannot map it",
                    n.name
                )));
            }
        }
    }
    if !rescaled {
        return Err(unsupported(
            "no x / 255 input rescaling before the first layer; DeepRacer graphs divide the \
             camera by 255"
                .into(),
        ));
    }
    if clipped_mean {
        notes.push("chicane's clipped-Gaussian mean output recognised".into());
    }
    build(
        layers,
        flatten_at,
        nchw_flatten,
        downscale,
        input,
        sensor,
        softmax,
        sigma,
        notes,
    )
}

/// A node of chicane's clipped-Gaussian mean after the policy layer: notes
/// an `Erf` (the mean's normal CDF) and picks up the standard deviation
/// constant (`policy.sigma`) it reads.
fn mean_node<'a>(
    tf: &Tf<'a>,
    n: &'a NodeDef,
    on_path: &HashSet<&str>,
    sigma: &mut Option<Vec<f32>>,
    clipped_mean: &mut bool,
) -> Result<(), AgentError> {
    *clipped_mean |= n.op == "Erf";
    for i in tf.data_inputs(n) {
        if !on_path.contains(i) && i.ends_with("policy.sigma") {
            *sigma = Some(tf.constant(i)?.1);
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build(
    layers: Vec<Layer>,
    flatten_at: Option<usize>,
    nchw_flatten: bool,
    downscale: usize,
    input: &NodeDef,
    sensor: Sensor,
    softmax: bool,
    sigma: Option<Vec<f32>>,
    mut notes: Vec<String>,
) -> Result<Mapped, AgentError> {
    let unsupported = |m: String| AgentError::Unsupported(m);
    let Some(flat) = flatten_at else {
        return Err(unsupported("no dense layers after the convolutions".into()));
    };
    let (convs, dense) = layers.split_at(flat);
    if dense.len() < 2 {
        return Err(unsupported(format!(
            "{} dense layer(s); a DeepRacer policy has a middleware and a policy layer",
            dense.len()
        )));
    }
    let conv_shapes: Vec<[usize; 3]> = convs.iter().map(|l| l.shape).collect();
    let camera_dense = &dense[..dense.len() - 2];
    let widths: Vec<usize> = camera_dense.iter().map(|l| l.shape[0]).collect();
    let tanh = convs.first().and_then(|l| l.activation.as_deref()) == Some("Tanh");
    let network = NetworkKind::ALL
        .into_iter()
        .filter(|k| *k != NetworkKind::Mlp)
        .find(|k| {
            k.conv_layers() == conv_shapes.as_slice()
                && k.camera_dense_layers() == widths.as_slice()
                && k.downscale() == downscale
                && k.uses_tanh() == tanh
        })
        .ok_or_else(|| {
            unsupported(format!(
                "its layers (conv [filters, kernel, stride] {conv_shapes:?}, dense {widths:?}, \
                 downscale {downscale}, {}) are none of chicane's networks ({})",
                if tanh { "tanh" } else { "ReLU" },
                NetworkKind::ALL.map(|k| k.name()).join(", ")
            ))
        })?;
    let act = if tanh { "Tanh" } else { "Relu" };
    for l in convs.iter().chain(camera_dense) {
        if l.activation.as_deref() != Some(act) {
            return Err(unsupported(format!(
                "layer `{}` has activation {:?}; {network} uses {act} throughout",
                l.node, l.activation
            )));
        }
    }
    let (middleware, policy) = (&dense[dense.len() - 2], &dense[dense.len() - 1]);
    if middleware.activation.as_deref() != Some("Relu") || policy.activation.is_some() {
        return Err(unsupported(format!(
            "the middleware `{}` should end in ReLU and the policy layer `{}` in none",
            middleware.node, policy.node
        )));
    }
    // conv output size, for the flatten order
    let (mut h, mut w) = (CAR_FRAME[0] / downscale, CAR_FRAME[1] / downscale);
    if let Some(AttrValue {
        value: Some(attr_value::Value::Shape(s)),
    }) = input.attr.get("shape")
        && let [_, hh, ww, _] = s.dim.iter().map(|d| d.size).collect::<Vec<_>>()[..]
        && hh > 0
        && ww > 0
    {
        (h, w) = (hh as usize / downscale, ww as usize / downscale);
    }
    for &[_, k, s] in &conv_shapes {
        if h < k || w < k {
            return Err(unsupported(
                "the convolutions do not fit the camera frame".into(),
            ));
        }
        h = (h - k) / s + 1;
        w = (w - k) / s + 1;
    }
    let c = conv_shapes.last().map_or(0, |l| l[0]);
    let host = |l: &Layer| HostLayer {
        weight: l.weight.clone(),
        bias: l.bias.clone().unwrap_or_else(|| vec![0.0; l.shape[0]]),
    };
    let mut dense_host: Vec<HostLayer> = dense.iter().map(host).collect();
    if !nchw_flatten {
        // TensorFlow flattens H, W, C; burn flattens C, H, W
        let first = &mut dense_host[0];
        let units = first.bias.len();
        let src = first.weight.clone();
        if src.len() != c * h * w * units {
            return Err(unsupported(format!(
                "the first dense layer `{}` takes {} inputs; the convolutions give {c}x{h}x{w}",
                dense[0].node,
                src.len() / units.max(1)
            )));
        }
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let burn_row = (ch * h + y) * w + x;
                    let tf_row = (y * w + x) * c + ch;
                    first.weight[burn_row * units..(burn_row + 1) * units]
                        .copy_from_slice(&src[tf_row * units..(tf_row + 1) * units]);
                }
            }
        }
    }
    let outputs = policy.shape[0];
    let log_std = if softmax {
        None
    } else {
        Some(match sigma {
            Some(s) => s.iter().map(|v| v.ln()).collect(),
            None => {
                notes.push(format!(
                    "the graph outputs the mean action without a standard deviation; the \
                     Gaussian's log std is set to {MEAN_ONLY_LOG_STD}, so the evaluated mean \
                     action is the graph's (clipped to [-1, 1])"
                ));
                vec![MEAN_ONLY_LOG_STD; outputs]
            }
        })
    };
    let policy_host = dense_host
        .pop()
        .ok_or_else(|| unsupported("no policy layer".into()))?;
    let middleware_host = dense_host
        .pop()
        .ok_or_else(|| unsupported("no middleware".into()))?;
    Ok(Mapped {
        network,
        sensor,
        layers: PolicyLayers {
            convs: convs.iter().map(host).collect(),
            camera_dense: dense_host,
            middleware: middleware_host,
            policy: policy_host,
            log_std,
        },
        outputs,
        softmax,
        notes,
    })
}

/// The log std given to a continuous policy whose graph has none: small
/// enough that the clipped-Gaussian mean equals the clipped mean to 1e-6.
const MEAN_ONLY_LOG_STD: f32 = -7.0;
