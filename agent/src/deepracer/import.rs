//! A DeepRacer model (a frozen TensorFlow graph and its
//! `model_metadata.json`) as a chicane run folder: the policy path's
//! weights are read from the graph into the burn network of the same
//! shape, so `chicane evaluate` times it and `chicane train --clone-from`
//! fine-tunes it. The value head starts fresh (the car's graph has none).
//!
//! The graph is read by structure, not by node names: from the camera
//! placeholder to the PPO policy output, each convolution, dense layer,
//! bias, activation and the flatten between them, and the network is the
//! chicane network with those layers. Inference-mode batch norm after a
//! convolution (DeepRacer's deep network) is folded into it exactly.

use super::graph::CAR_FRAME;
use super::names::{PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT};
use super::tfpb::{AttrValue, DT_FLOAT, DT_INT32, GraphDef, NodeDef, attr_value};
use crate::checkpoint::{TrainerState, save_checkpoint, write_atomic};
use crate::error::{AgentError, io_err};
use crate::learner::Learner;
use crate::net::{HostLayer, PolicyLayers};
use crate::run_dir::RunDir;
use crate::ppo::PpoConfig;
use crate::spec::agent_spec;
use burn::tensor::Device;
use chicane_core::{ActionSpace, ModelMetadata, NetworkKind, Sensor, TrainingAlgorithm};
use flate2::read::GzDecoder;
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What `import_model` made.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    /// The new run folder.
    pub run_dir: RunDir,
    /// The chicane network the graph's layers are.
    pub network: NetworkKind,
    /// The camera the graph is fed by.
    pub sensor: Sensor,
    /// Where the graph came from (the `.pb`, inside an archive or not).
    pub graph_source: String,
    /// Things the user should know (batch norm folded, value head fresh, ...).
    pub notes: Vec<String>,
}

/// Imports the DeepRacer model `source` into a new run folder `out`.
/// `source` is a `.tar.gz` (the console's download, DeepRacer-for-Cloud's
/// upload archive, or `chicane export --format deepracer`), a folder
/// holding one `.pb` and `model_metadata.json` (DeepRacer-for-Cloud's
/// `model/` prefix), or a `.pb` with `model_metadata.json` beside it.
///
/// # Errors
/// [`AgentError::Request`] (field `out`) when `out` already holds files;
/// [`AgentError::Checkpoint`] naming the file for a source without exactly
/// one graph or without metadata; [`AgentError::Unsupported`] naming the
/// node for a graph chicane cannot map; metadata that disagrees with the
/// graph; I/O errors naming the file.
pub fn import_model(source: &Path, out: &Path, device: &Device) -> Result<ImportedModel, AgentError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
    {
        return Err(AgentError::Request {
            field: "out",
            problem: format!(
                "{} already holds files; import into a new folder",
                out.display()
            ),
        });
    }
    let src = read_source(source)?;
    let meta = ModelMetadata::parse(&src.metadata, &src.metadata_origin)
        .map_err(|e| AgentError::Checkpoint {
            path: source.to_path_buf(),
            detail: e.to_string(),
        })?;
    let graph = GraphDef::decode(src.pb.as_slice()).map_err(|e| AgentError::Checkpoint {
        path: source.to_path_buf(),
        detail: format!("{}: not a TensorFlow GraphDef: {e}", src.pb_origin),
    })?;
    let mapped = map_graph(&graph).map_err(|e| match e {
        AgentError::Unsupported(m) => {
            AgentError::Unsupported(format!("{}: {m}", src.pb_origin))
        }
        other => other,
    })?;
    check_metadata(&meta, &mapped, &src.metadata_origin)?;

    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let dir = RunDir::new(out);
    let mut meta = meta;
    meta.neural_network = Some(mapped.network);
    meta.training_algorithm = Some(TrainingAlgorithm::ClippedPpo);
    write_atomic(&dir.model_metadata(), meta.to_json_string().as_bytes())?;
    let run = chicane_config::parse_run(
        "model_metadata = \"model_metadata.json\"\n",
        &format!("import of {}", source.display()),
        out,
    )?;
    write_atomic(&dir.run_toml(), run.to_toml().as_bytes())?;
    let mut spec = agent_spec(&run, mapped.network)?;
    spec.network.middleware = mapped.layers.middleware.bias.len();
    let spec_json = serde_json::to_vec_pretty(&spec).map_err(|e| AgentError::Checkpoint {
        path: dir.agent_json(),
        detail: e.to_string(),
    })?;
    write_atomic(&dir.agent_json(), &spec_json)?;
    let mut learner = Learner::new(
        spec.network.clone(),
        PpoConfig::default(),
        run.action_space.clone(),
        device,
        run.seed,
    )?;
    learner.set_policy_layers(&mapped.layers)?;
    save_checkpoint(&dir, &learner, &TrainerState::default(), 1)?;
    let mut notes = mapped.notes;
    notes.push(
        "the value head starts untrained (the car's graph has none); `chicane train \
         --clone-from` trains it"
            .into(),
    );
    Ok(ImportedModel {
        run_dir: dir,
        network: mapped.network,
        sensor: mapped.sensor,
        graph_source: src.pb_origin,
        notes,
    })
}

/// The graph and metadata of a source, with where each came from.
struct Source {
    pb: Vec<u8>,
    pb_origin: String,
    metadata: String,
    metadata_origin: String,
}

fn read_source(source: &Path) -> Result<Source, AgentError> {
    let bad = |detail: String| AgentError::Checkpoint {
        path: source.to_path_buf(),
        detail,
    };
    let name = source.to_string_lossy();
    if source.is_file() && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        let file = std::fs::File::open(source).map_err(io_err(source))?;
        let mut tar = tar::Archive::new(GzDecoder::new(file));
        let mut pbs = Vec::new();
        let mut metas = Vec::new();
        for entry in tar.entries().map_err(io_err(source))? {
            let mut entry = entry.map_err(io_err(source))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().map_err(io_err(source))?.to_string_lossy().into_owned();
            let path = path.trim_start_matches("./").to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(io_err(source))?;
            if path.ends_with(".pb") {
                pbs.push((path, bytes));
            } else if path.rsplit('/').next() == Some("model_metadata.json") {
                metas.push((path, bytes));
            }
        }
        let (pb_path, pb) = one(pbs, "frozen graph (.pb)").map_err(bad)?;
        // the root's metadata first, as the car reads it
        metas.sort_by_key(|(p, _)| p.matches('/').count());
        let (meta_path, meta) = metas
            .into_iter()
            .next()
            .ok_or_else(|| bad("no model_metadata.json in the archive".into()))?;
        let metadata = String::from_utf8(meta)
            .map_err(|_| bad(format!("{meta_path} is not UTF-8 text")))?;
        return Ok(Source {
            pb,
            pb_origin: format!("{name}:{pb_path}"),
            metadata,
            metadata_origin: format!("{name}:{meta_path}"),
        });
    }
    let pb_path = if source.is_dir() {
        let mut found = Vec::new();
        find_pbs(source, &mut found)?;
        let (p, ()) = one(found.into_iter().map(|p| (p, ())).collect(), "frozen graph (.pb)")
            .map_err(bad)?;
        PathBuf::from(p)
    } else if source.extension().is_some_and(|e| e == "pb") {
        source.to_path_buf()
    } else {
        return Err(bad(
            "not a DeepRacer model: give a .tar.gz, a folder with one .pb and \
             model_metadata.json, or a .pb"
                .into(),
        ));
    };
    let candidates = [
        pb_path.with_file_name("model_metadata.json"),
        pb_path
            .parent()
            .and_then(Path::parent)
            .map_or_else(PathBuf::new, |p| p.join("model_metadata.json")),
        source.join("model_metadata.json"),
    ];
    let meta_path = candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            bad(format!(
                "no model_metadata.json beside {} or in its parent folder",
                pb_path.display()
            ))
        })?;
    Ok(Source {
        pb: std::fs::read(&pb_path).map_err(io_err(&pb_path))?,
        pb_origin: pb_path.display().to_string(),
        metadata: std::fs::read_to_string(meta_path).map_err(io_err(meta_path))?,
        metadata_origin: meta_path.display().to_string(),
    })
}

fn find_pbs(dir: &Path, found: &mut Vec<String>) -> Result<(), AgentError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = entry.map_err(io_err(dir))?.path();
        if p.is_dir() {
            find_pbs(&p, found)?;
        } else if p.extension().is_some_and(|e| e == "pb") {
            found.push(p.display().to_string());
        }
    }
    found.sort();
    Ok(())
}

fn one<T>(mut items: Vec<(String, T)>, what: &str) -> Result<(String, T), String> {
    match items.len() {
        1 => Ok(items.remove(0)),
        0 => Err(format!("no {what} found")),
        _ => Err(format!(
            "{} {what}s ({}); give the one to import",
            items.len(),
            items.iter().map(|i| i.0.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A graph's policy path as chicane layers.
#[derive(Debug)]
struct Mapped {
    network: NetworkKind,
    sensor: Sensor,
    layers: PolicyLayers,
    /// Policy outputs per frame.
    outputs: usize,
    /// True for a softmax (discrete) head.
    softmax: bool,
    notes: Vec<String>,
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
    "Identity", "Shape", "StridedSlice", "Pack", "Prod", "Cast", "Const", "Size", "Rank", "Fill",
];

/// Ops of chicane's clipped-Gaussian mean after the policy layer.
const MEAN_OPS: [&str; 10] = [
    "Sub", "RealDiv", "Mul", "Erf", "Exp", "AddV2", "Add", "Maximum", "Minimum", "Identity",
];

struct Tf<'a> {
    nodes: HashMap<&'a str, &'a NodeDef>,
}

/// `node:0` -> `node`; control inputs (`^node`) are `None`.
fn input_name(i: &str) -> Option<&str> {
    if i.starts_with('^') {
        return None;
    }
    Some(i.split(':').next().unwrap_or(i))
}

impl<'a> Tf<'a> {
    fn data_inputs(&self, n: &'a NodeDef) -> impl Iterator<Item = &'a str> + '_ {
        n.input.iter().filter_map(|i| input_name(i))
    }

    fn node(&self, name: &str) -> Result<&'a NodeDef, AgentError> {
        self.nodes
            .get(name)
            .copied()
            .ok_or_else(|| AgentError::Unsupported(format!("node `{name}` is named but not defined")))
    }

    /// The float constant behind `name` (through `Identity` nodes), with
    /// its shape.
    fn constant(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), AgentError> {
        let mut n = self.node(name)?;
        while n.op == "Identity" {
            let next = self
                .data_inputs(n)
                .next()
                .ok_or_else(|| AgentError::Unsupported(format!("Identity `{}` has no input", n.name)))?;
            n = self.node(next)?;
        }
        if n.op != "Const" {
            return Err(AgentError::Unsupported(format!(
                "`{}` (op {}) should be a frozen constant; freeze the graph (variables to constants) first",
                n.name, n.op
            )));
        }
        let Some(AttrValue {
            value: Some(attr_value::Value::Tensor(t)),
        }) = n.attr.get("value")
        else {
            return Err(AgentError::Unsupported(format!("Const `{}` has no value", n.name)));
        };
        let dims: Vec<usize> = t
            .tensor_shape
            .as_ref()
            .map(|s| s.dim.iter().map(|d| d.size.max(0) as usize).collect())
            .unwrap_or_default();
        let len: usize = dims.iter().product();
        let data: Vec<f32> = match t.dtype {
            DT_FLOAT if !t.tensor_content.is_empty() => t
                .tensor_content
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DT_FLOAT => broadcast(&t.float_val, len),
            DT_INT32 if !t.tensor_content.is_empty() => t
                .tensor_content
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            DT_INT32 => broadcast(&t.int_val, len).into_iter().map(|v| v as f32).collect(),
            other => {
                return Err(AgentError::Unsupported(format!(
                    "Const `{}` has data type {other}, not float",
                    n.name
                )));
            }
        };
        if data.len() != len.max(1) {
            return Err(AgentError::Unsupported(format!(
                "Const `{}` holds {} values for shape {dims:?}",
                n.name,
                data.len()
            )));
        }
        Ok((dims, data))
    }

    /// The constant operand of a binary node, if one is.
    fn const_operand(&self, n: &'a NodeDef, on_path: &HashSet<&str>) -> Option<(Vec<usize>, Vec<f32>)> {
        self.data_inputs(n)
            .find(|i| !on_path.contains(i))
            .and_then(|i| self.constant(i).ok())
    }
}

fn broadcast<T: Copy + Default>(v: &[T], len: usize) -> Vec<T> {
    match v {
        [one] => vec![*one; len.max(1)],
        _ => v.to_vec(),
    }
}

fn ints_attr(n: &NodeDef, name: &str) -> Option<Vec<i64>> {
    match n.attr.get(name) {
        Some(AttrValue {
            value: Some(attr_value::Value::List(l)),
        }) => Some(l.i.clone()),
        _ => None,
    }
}

fn str_attr(n: &NodeDef, name: &str) -> Option<String> {
    match n.attr.get(name) {
        Some(AttrValue {
            value: Some(attr_value::Value::S(s)),
        }) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn map_graph(graph: &GraphDef) -> Result<Mapped, AgentError> {
    let tf = Tf {
        nodes: graph.node.iter().map(|n| (n.name.as_str(), n)).collect(),
    };
    let unsupported = |m: String| AgentError::Unsupported(m);
    if !tf.nodes.contains_key(PPO_POLICY_OUTPUT) {
        if tf.nodes.contains_key(SAC_POLICY_OUTPUT) {
            return Err(unsupported(format!(
                "a SAC graph ({SAC_POLICY_OUTPUT}); chicane trains clipped PPO only, so it \
                 cannot import a SAC policy yet"
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
                if n.op == "Erf" {
                    notes.push("chicane's clipped-Gaussian mean output recognised".into());
                }
                if !MEAN_OPS.contains(&n.op.as_str()) {
                    return Err(unsupported(format!(
                        "node `{}` (op {}) after the policy layer is neither softmax nor \
                         chicane's clipped mean",
                        n.name, n.op
                    )));
                }
                for i in tf.data_inputs(n) {
                    if !on_path.contains(i) && i.ends_with("policy.sigma") {
                        sigma = Some(tf.constant(i)?.1);
                    }
                }
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
                    unsupported(format!("`{}` ({}) before the first layer has no constant", n.name, n.op))
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
                    return Err(unsupported(format!("Conv2D `{}` after the flatten", n.name)));
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
                    return Err(unsupported(format!("Conv2D `{}` filter of shape {dims:?}", n.name)));
                };
                if kh != kw {
                    return Err(unsupported(format!("Conv2D `{}`: a {kh}x{kw} kernel is not square", n.name)));
                }
                let mut oihw = vec![0.0; w.len()];
                for o in 0..cout {
                    for i in 0..cin {
                        for y in 0..kh {
                            for x in 0..kw {
                                oihw[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o];
                            }
                        }
                    }
                }
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
                if n.attr.get("transpose_a").is_some_and(|a| a.value == Some(attr_value::Value::B(true))) {
                    return Err(unsupported(format!("MatMul `{}` with transpose_a", n.name)));
                }
                let kernel = tf
                    .data_inputs(n)
                    .nth(1)
                    .ok_or_else(|| unsupported(format!("MatMul `{}` has no weight", n.name)))?;
                let (dims, mut w) = tf.constant(kernel)?;
                let [fan_in, mut units] = dims[..] else {
                    return Err(unsupported(format!("MatMul `{}` weight of shape {dims:?}", n.name)));
                };
                if n.attr.get("transpose_b").is_some_and(|a| a.value == Some(attr_value::Value::B(true))) {
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
            "BiasAdd" | "Add" | "AddV2" if after_layer(&layers).is_some_and(|l| layers[l].bias.is_none() && layers[l].activation.is_none()) => {
                let l = layers.len() - 1;
                let (_, b) = tf.const_operand(n, &on_path).ok_or_else(|| {
                    unsupported(format!("`{}` ({}) after layer `{}` adds no constant", n.name, n.op, layers[l].node))
                })?;
                layers[l].bias = Some(b);
                layers[l].tail = n.name.clone();
            }
            "FusedBatchNorm" | "FusedBatchNormV3" if after_layer(&layers).is_some_and(|l| layers[l].conv && layers[l].activation.is_none()) => {
                let l = layers.len() - 1;
                let ins: Vec<&str> = tf.data_inputs(n).collect();
                let get = |k: usize| -> Result<Vec<f32>, AgentError> {
                    let name = ins.get(k).ok_or_else(|| unsupported(format!("batch norm `{}` lacks input {k}", n.name)))?;
                    Ok(tf.constant(name)?.1)
                };
                let (gamma, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
                let eps = match n.attr.get("epsilon") {
                    Some(AttrValue { value: Some(attr_value::Value::F(e)) }) => *e,
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
                notes.push(format!("batch norm `{}` folded into conv `{}`", n.name, layer.node));
            }
            "Relu" | "Tanh" if after_layer(&layers).is_some_and(|l| layers[l].activation.is_none()) => {
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
            op if MEAN_OPS.contains(&op) && !layers.is_empty() && !layers[layers.len() - 1].conv => {
                head_post = true;
                if op == "Erf" {
                    notes.push("chicane's clipped-Gaussian mean output recognised".into());
                }
                for i in tf.data_inputs(n) {
                    if !on_path.contains(i) && i.ends_with("policy.sigma") {
                        sigma = Some(tf.constant(i)?.1);
                    }
                }
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
    build(layers, flatten_at, nchw_flatten, downscale, input, sensor, softmax, sigma, notes)
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
            return Err(unsupported("the convolutions do not fit the camera frame".into()));
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
    let policy_host = dense_host.pop().ok_or_else(|| unsupported("no policy layer".into()))?;
    let middleware_host = dense_host.pop().ok_or_else(|| unsupported("no middleware".into()))?;
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

fn check_metadata(meta: &ModelMetadata, m: &Mapped, origin: &str) -> Result<(), AgentError> {
    let bad = |problem: String| AgentError::Checkpoint {
        path: origin.into(),
        detail: problem,
    };
    match (&meta.action_space, m.softmax) {
        (ActionSpace::Discrete(list), true) if list.len() == m.outputs => {}
        (ActionSpace::Continuous { .. }, false) if m.outputs == 2 => {}
        (space, _) => {
            return Err(bad(format!(
                "the metadata's {} action space does not fit the graph's policy ({} outputs{})",
                if matches!(space, ActionSpace::Discrete(_)) { "discrete" } else { "continuous" },
                m.outputs,
                if m.softmax { ", softmax" } else { "" }
            )));
        }
    }
    if !meta.sensor.contains(&m.sensor) || meta.sensor.len() != 1 {
        return Err(bad(format!(
            "sensors {:?} in the metadata; the graph reads {} only",
            meta.sensor, m.sensor
        )));
    }
    Ok(())
}
