//! The ONNX contract: the names and meaning of the policy graph's inputs
//! and outputs, defined once for the exporter (`chicane-agent`) and the
//! car runtime (`chicane-car`).

use serde::{Deserialize, Serialize};

/// The ONNX opset the exporter writes (tract and onnxruntime both run it).
pub const ONNX_OPSET: i64 = 13;

/// The camera input: `[N, C, H, W]` f32 in `[0, 1]`, after the bundle's
/// preprocessing (see [`crate::ModelSpec::camera`]).
pub const CAMERA_INPUT: &str = "camera";

/// The lidar input: `[N, L]` f32 distances (m).
pub const LIDAR_INPUT: &str = "lidar";

/// What the policy graph outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// `[N, A]` softmax probabilities over the discrete actions (output
    /// `probabilities`).
    Probabilities,
    /// `[N, 2]` mean action (steering, speed) in `[-1, 1]` units (output
    /// `action_mean`): the mean of the policy's Gaussian clipped to
    /// `[-1, 1]`, as the env receives it on average; mapped linearly onto
    /// the continuous ranges.
    GaussianMean,
}

impl OutputKind {
    /// The ONNX output tensor's name.
    pub fn tensor_name(self) -> &'static str {
        match self {
            OutputKind::Probabilities => "probabilities",
            OutputKind::GaussianMean => "action_mean",
        }
    }
}
