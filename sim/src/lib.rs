//! chicane-sim: the physics-based world an RL agent learns to drive in.
//!
//! A [`RaceEnv`] puts one car ([`VehicleConfig`], on rapier3d's ray-cast
//! vehicle controller) on a `chicane_tracks::Track`, renders what its
//! camera sees on the CPU ([`CameraRenderer`]), computes DeepRacer's
//! `params`, applies DeepRacer's episode rules and asks a
//! `chicane_reward::RewardFunction` for the reward. [`VecEnv`] steps many
//! in parallel into one observation batch.

mod camera;
mod checker;
mod config;
mod drivers;
mod env;
mod error;
mod heatmap;
mod laps;
mod objects;
mod trace;
mod vec_env;
mod vehicle;

pub use camera::{CameraPose, CameraRenderer, DrawBox, GroundTexture, TEXELS_PER_METER};
pub use checker::{CheckReport, check_env};
pub use config::{
    BotConfig, DomainRandomization, EpisodeConfig, Lane, ObjectPosition, ObstacleConfig,
    PhysicsConfig, SimConfig, StartConfig,
};
pub use drivers::{Driver, PurePursuit, RandomDriver, nearest_action};
pub use env::{
    EnvAssets, EpisodeStatus, Info, Observation, ObservationSpace, REFERENCE_AHEAD_OF_REAR_AXLE,
    RaceEnv, ResetOptions, Transition,
};
pub use error::SimError;
pub use heatmap::{RewardHeatMap, reward_heat_map};
pub use laps::EvalStart;
pub use objects::{BOT_SIZE, OBSTACLE_SIZE};
pub use trace::{SIMTRACE_HEADER, SimTraceWriter, row_without_episode};
pub use vec_env::{AutoresetMode, VecEnv};
pub use vehicle::{BoxBody, CarState, Vehicle, VehicleConfig};
