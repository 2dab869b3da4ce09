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
mod preprocess;
mod sensor;

pub use action::{Action, ActionError, ActionSpace, DiscreteAction, Range, limits};
pub use angle::{heading_deg, wrap_angle, wrap_deg};
pub use geom::{Vec2, segments_intersect};
pub use metadata::{MetadataError, ModelMetadata, Sensor, generate_discrete};
pub use preprocess::{FrameStack, Preprocess};
pub use sensor::{CameraConfig, LidarConfig};
