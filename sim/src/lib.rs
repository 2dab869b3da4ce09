//! chicane-sim: the physics-based world an RL agent learns to drive in.
//!
//! A [`RaceEnv`] puts one car ([`VehicleConfig`], on rapier3d's ray-cast
//! vehicle controller) on a `chicane_tracks::Track`, renders what its
//! camera sees on the CPU ([`CameraRenderer`]), computes DeepRacer's
//! `params`, applies DeepRacer's episode rules and asks a
//! `chicane_reward::RewardFunction` for the reward. [`VecEnv`] steps many
//! in parallel into one observation batch.

mod action_fit;
mod camera;
mod camera_realism;
mod checker;
mod config;
mod drivers;
mod env;
mod error;
mod heatmap;
mod laps;
mod limits;
mod objects;
mod racing_driver;
mod randomization;
mod scenery;
mod trace;
mod tyre;
mod vec_env;
mod vehicle;

pub use action_fit::{ReferenceLap, drive_reference_lap, fit_discrete_actions};
pub use camera::{CameraPose, CameraRenderer, DrawBox, GroundTexture, TEXELS_PER_METER};
pub use camera_realism::CameraRealism;
pub use checker::{CheckReport, check_env};
pub use config::{
    BotConfig, DomainRandomization, EpisodeConfig, Lane, ObjectPosition, ObstacleConfig,
    PhysicsConfig, SimConfig, StartConfig,
};
pub use drivers::{Driver, PurePursuit, RandomDriver, nearest_action};
pub use env::{
    EnvAssets, EpisodeStatus, Info, LineData, Observation, ObservationSpace, RACING_LINE_CLEARANCE,
    REFERENCE_AHEAD_OF_REAR_AXLE, RaceEnv, ResetOptions, StepTimings, Transition,
};
pub use error::SimError;
pub use heatmap::{RewardHeatMap, reward_heat_map};
pub use laps::EvalStart;
pub use limits::{
    G, VehicleBench, implied_limits, measure_vehicle, measured_limits, racing_line_for,
};
pub use objects::{BOT_SIZE, OBSTACLE_SIZE};
pub use racing_driver::RacingLineDriver;
pub use randomization::{EpisodePhysics, PhysicsRandomization};
pub use scenery::Scenery;
pub use trace::{SIMTRACE_HEADER, SimTraceWriter, row_without_episode};
pub use tyre::{combined_forces, fiala_side_force, side_capacity, slip_angle};
pub use vec_env::{AutoresetMode, VecEnv};
pub use vehicle::{BoxBody, CarState, Vehicle, VehicleConfig};
