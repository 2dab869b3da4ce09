//! Running the exported policy with tract.

use crate::error::CarError;
use chicane_bundle::{Bundle, CAMERA_INPUT, LIDAR_INPUT, MODEL_FILE, SPEC_FILE};
use prost::Message;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// Anything that turns an observation into policy outputs (the ONNX model
/// on the car; test doubles in tests).
pub trait Policy {
    /// Runs the policy on one preprocessed observation.
    ///
    /// # Shapes
    /// `camera`: `[C, H, W]` f32 (empty without a camera); `lidar`: `[L]`
    /// (empty without lidar). Returns `[A]` probabilities or `[2]` means.
    ///
    /// # Errors
    /// [`CarError::Model`] if inference fails.
    fn infer(&mut self, camera: &[f32], lidar: &[f32]) -> Result<Vec<f32>, CarError>;
}

type Plan = TypedSimplePlan<TypedModel>;
/// A plan's run state, kept between frames so buffers are reused.
type State = TypedSimpleState<TypedModel, std::sync::Arc<Plan>>;

/// The bundle's `model.onnx`, optimised by tract for batch 1.
#[derive(Debug)]
pub struct OnnxPolicy {
    state: State,
    camera: Option<[usize; 3]>,
    lidar: Option<usize>,
    output_len: usize,
    /// Which graph input is the camera (0 or 1).
    camera_index: usize,
    /// Which graph input is the lidar.
    lidar_index: usize,
}

/// The declared shape of a graph value: `None` for a symbolic dimension.
fn declared_shape(v: &pb::ValueInfoProto) -> Vec<Option<i64>> {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    t.shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Value::DimValue(n)) => Some(n),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fits(declared: &[Option<i64>], want: &[usize]) -> bool {
    declared.len() == want.len()
        && declared
            .iter()
            .zip(want)
            .all(|(d, &w)| d.is_none_or(|d| d == w as i64))
}

fn show(declared: &[Option<i64>]) -> String {
    let dims: Vec<String> = declared
        .iter()
        .map(|d| d.map_or_else(|| "N".into(), |n| n.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

impl OnnxPolicy {
    /// Loads and optimises the bundle's model, refusing one whose inputs or
    /// output disagree with `preprocessing.json` and `model_metadata.json`.
    ///
    /// # Errors
    /// [`CarError::Bundle`] for a shape disagreement (naming both files);
    /// [`CarError::Model`] if tract cannot load or optimise the graph.
    pub fn load(bundle: &Bundle) -> Result<OnnxPolicy, CarError> {
        let bad = |problem: String| CarError::bundle(&bundle.path, problem);
        let proto = pb::ModelProto::decode(bundle.onnx.as_slice())
            .map_err(|e| bad(format!("{MODEL_FILE} is not an ONNX model: {e}")))?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| bad(format!("{MODEL_FILE} has no graph")))?;
        let spec = &bundle.spec;
        let camera = spec.camera.map(|p| p.output_shape());
        let mut want: Vec<(&str, Vec<usize>)> = Vec::new();
        if let Some([c, h, w]) = camera {
            want.push((CAMERA_INPUT, vec![1, c, h, w]));
        }
        if let Some(l) = spec.lidar {
            want.push((LIDAR_INPUT, vec![1, l]));
        }
        // graph inputs minus initializers (older exporters list weights as inputs)
        let inits: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<&pb::ValueInfoProto> = graph
            .input
            .iter()
            .filter(|i| !inits.contains(i.name.as_str()))
            .collect();
        if inputs.len() != want.len() {
            return Err(bad(format!(
                "{MODEL_FILE} has inputs {:?} but {SPEC_FILE} describes {:?}; \
                 the model does not belong to this spec",
                inputs.iter().map(|i| &i.name).collect::<Vec<_>>(),
                want.iter().map(|w| w.0).collect::<Vec<_>>()
            )));
        }
        let (mut camera_index, mut lidar_index) = (0, 0);
        for (name, shape) in &want {
            let (ix, input) = inputs
                .iter()
                .enumerate()
                .find(|(_, i)| i.name == *name)
                .ok_or_else(|| bad(format!("{MODEL_FILE} has no input named `{name}`")))?;
            let declared = declared_shape(input);
            if !fits(&declared, shape) {
                return Err(bad(format!(
                    "{MODEL_FILE}'s input `{name}` is {} but {SPEC_FILE} gives {shape:?} \
                     (batch 1); the model and its preprocessing spec disagree",
                    show(&declared)
                )));
            }
            if *name == CAMERA_INPUT {
                camera_index = ix;
            } else {
                lidar_index = ix;
            }
        }
        let out_name = spec.output.tensor_name();
        let output = graph
            .output
            .iter()
            .find(|o| o.name == out_name)
            .ok_or_else(|| bad(format!("{MODEL_FILE} has no output named `{out_name}`")))?;
        let declared = declared_shape(output);
        if !fits(&declared, &[1, spec.output_len]) {
            return Err(bad(format!(
                "{MODEL_FILE}'s output `{out_name}` is {} but model_metadata.json's action \
                 space needs {} values",
                show(&declared),
                spec.output_len
            )));
        }
        let model_err = |e: TractError| CarError::Model(format!("{MODEL_FILE}: {e:#}"));
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut bundle.onnx.as_slice())
            .map_err(model_err)?;
        for (name, shape) in &want {
            let ix = inputs.iter().position(|i| i.name == *name).unwrap_or(0);
            model = model
                .with_input_fact(ix, f32::fact(shape.as_slice()).into())
                .map_err(model_err)?;
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(model_err)?;
        let state = State::new(std::sync::Arc::new(plan)).map_err(model_err)?;
        Ok(OnnxPolicy {
            state,
            camera,
            lidar: spec.lidar,
            output_len: spec.output_len,
            camera_index,
            lidar_index,
        })
    }
}

impl Policy for OnnxPolicy {
    fn infer(&mut self, camera: &[f32], lidar: &[f32]) -> Result<Vec<f32>, CarError> {
        let err = |e: TractError| CarError::Model(format!("inference failed: {e:#}"));
        let mut inputs: Vec<(usize, TValue)> = Vec::new();
        if let Some([c, h, w]) = self.camera {
            let t = Tensor::from_shape(&[1, c, h, w], camera).map_err(err)?;
            inputs.push((self.camera_index, t.into()));
        }
        if let Some(l) = self.lidar {
            let t = Tensor::from_shape(&[1, l], lidar).map_err(err)?;
            inputs.push((self.lidar_index, t.into()));
        }
        inputs.sort_by_key(|(i, _)| *i);
        let out = self
            .state
            .run(inputs.into_iter().map(|(_, t)| t).collect())
            .map_err(err)?;
        let first = out
            .first()
            .ok_or_else(|| CarError::Model("the model returned no output".into()))?;
        let view = first.to_array_view::<f32>().map_err(err)?;
        let v: Vec<f32> = view.iter().copied().collect();
        if v.len() != self.output_len {
            return Err(CarError::Model(format!(
                "the model returned {} values, expected {}",
                v.len(),
                self.output_len
            )));
        }
        Ok(v)
    }
}
