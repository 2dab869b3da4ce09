//! chicane-config: everything a training run needs, in one TOML file.
//!
//! ```toml
//! track = "technical-loop"            # built-in, .toml or DeepRacer .npy (relative to this file)
//! reward = "center_line.rhai"         # .rhai, .py (--features python) or builtin:NAME
//! seed = 0
//! network = "..."                     # optional; the trainer's default otherwise
//! training_algorithm = "clipped_ppo"  # optional; model_metadata.json's, else clipped_ppo
//! sensor = ["FRONT_FACING_CAMERA"]    # optional; DeepRacer's names (model_metadata.json's otherwise)
//! model_metadata = "model_metadata.json"   # or an [action_space] table:
//! [action_space]
//! discrete = [{ steering_angle = -30, speed = 0.6 }, ...]
//! # continuous = { steering_angle = { low = -30, high = 30 }, speed = { low = 1, high = 2 } }
//! [hyperparameters]                   # DeepRacer's names and defaults
//! batch_size = 64
//! [race]
//! type = "object_avoidance"           # time_trial | object_avoidance | head_to_bot
//! number_of_obstacles = 3
//! [sim]                               # chicane_sim::SimConfig: vehicle, physics, camera, lidar,
//!                                     # episode, start, domain_randomization
//! ```
//!
//! A DeepRacer `custom_files` folder (`reward_function.py`,
//! `model_metadata.json`, `hyperparameters.json`) is a run config too.
//! [`load_run`] resolves and validates it all once, before any work: the
//! network and training algorithm become types (a typo is an error with
//! the closest name), every path is resolved against the file's folder
//! exactly once.

mod error;
mod file;
mod hyperparameters;
mod resolve;
mod rewards;
mod run;
mod suggest;

pub use error::ConfigError;
pub use hyperparameters::{ExplorationType, Hyperparameters, ValueLoss};
pub use resolve::{load_run, parse_run};
pub use rewards::{RewardSource, builtin_rewards};
pub use run::{RaceType, ResolvedRun};
