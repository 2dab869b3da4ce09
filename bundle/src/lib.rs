//! chicane-bundle: what `chicane export` hands the car.
//!
//! The ONNX contract (input and output tensor names, output kinds) and the
//! `.tar.gz` model bundle (`model.onnx`, `model_metadata.json`,
//! `preprocessing.json`, `run.toml`, checksums), written by the trainer and
//! read by `chicane-car`. A small crate of its own so the trainer, the GUI
//! and the Python wheel do not compile the car binary's stack.

mod bundle;
mod contract;

pub use bundle::{
    BUNDLE_FORMAT, Bundle, BundleError, CHECKSUMS_FILE, CONFIG_FILE, METADATA_FILE, MODEL_FILE,
    ModelSpec, SPEC_FILE, write_bundle,
};
pub use contract::{CAMERA_INPUT, LIDAR_INPUT, ONNX_OPSET, OutputKind};
