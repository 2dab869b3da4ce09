//! chicane-core: the vocabulary every chicane crate shares: units and
//! angles, 2D geometry, DeepRacer's action spaces, and the observation
//! preprocessing that training and the car share.
//!
//! Units are SI throughout (m, s, rad) unless a name ends in `_deg`.
//! This crate stays small and dependency-light because the car runtime
//! (`chicane-car`) depends on it as well as the simulator and the trainer.

mod action;
mod angle;
mod geom;
mod metadata;
mod network;
mod preprocess;
mod sensor;
mod suggest;

pub use action::{Action, ActionError, ActionSpace, DiscreteAction, Range, limits};
pub use angle::{heading_deg, wrap_angle, wrap_deg};
pub use geom::{Vec2, segments_intersect};
pub use metadata::{MetadataError, ModelMetadata, Sensor, generate_discrete};
pub use network::{NetworkKind, TrainingAlgorithm, UnknownName};
pub use preprocess::{FrameStack, Preprocess};
pub use sensor::{CameraConfig, LidarConfig};
pub use suggest::{closest, edit_distance};

/// An error and its causes in one line, `outer: cause: root cause`: for
/// front ends that show one string (the GUI's log, a Python exception),
/// where the CLI prints the chain line by line.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !text.ends_with(&msg) {
            text.push_str(": ");
            text.push_str(&msg);
        }
        cause = c.source();
    }
    text
}
