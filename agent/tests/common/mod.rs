//! Helpers shared by the agent's integration tests.

use tract_onnx::prelude::*;

/// Runs an exported ONNX policy with tract (as the car's runtime does) on
/// `input`, the graph's only input, and returns its first output.
///
/// # Shapes
/// `input`: `shape` (the graph's input, batch first) flattened; returns
/// the first output flattened.
pub fn run_onnx(bytes: &[u8], shape: &[usize], input: &[f32]) -> Vec<f32> {
    let plan = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = Tensor::from_shape(shape, input).unwrap();
    let out = plan.run(tvec!(input.into())).unwrap();
    out[0]
        .to_array_view::<f32>()
        .unwrap()
        .iter()
        .copied()
        .collect()
}
