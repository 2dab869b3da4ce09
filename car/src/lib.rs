//! chicane-car: the edge runtime that drives a 1/18-scale car with a model
//! exported by `chicane export`.
//!
//! The pipeline is camera -> the training's own preprocessing
//! ([`chicane_core::Preprocess`], [`chicane_core::FrameStack`]) -> the ONNX
//! policy (tract) -> DeepRacer's action-to-command mapping -> PWM pulses
//! through a calibration. It depends on `chicane-core`, tract and hardware
//! crates only: never on burn, bevy or the simulator (the simulator is
//! reached over a socket, see [`sim`]).

mod actuator;
mod calibration;
mod camera;
mod control;
mod error;
mod policy;
mod runner;
pub mod sim;

#[cfg(feature = "pca9685")]
pub use actuator::Pca9685;
pub use actuator::{
    Actuator, DEEPRACER_PWM_DEVICE, DryRun, SysfsPwm, deepracer_pwm_chip, pca9685_counts,
    pca9685_prescale,
};
pub use calibration::{
    Calibration, Channel, ChannelCalibration, DEEPRACER_MOTOR_CHANNEL, DEEPRACER_SERVO_CHANNEL,
};
#[cfg(feature = "v4l2")]
pub use camera::V4l2Camera;
pub use camera::{Camera, FrameFormat, ReplayCamera, TestPattern, image_to_frame};
pub use chicane_bundle::{
    BUNDLE_FORMAT, Bundle, BundleError, CHECKSUMS_FILE, CONFIG_FILE, METADATA_FILE, MODEL_FILE,
    ModelSpec, OutputKind, SPEC_FILE, write_bundle,
};
pub use control::{
    Command, ControlConfig, DEFAULT_SPEED_SCALES, Decision, decide, speed_curve, speed_to_throttle,
    throttle_to_speed,
};
pub use error::CarError;
pub use policy::{OnnxPolicy, Policy};
pub use runner::{CSV_HEADER, EndReason, Percentiles, RunOptions, RunReport, run};
