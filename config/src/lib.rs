//! chicane-config: everything a training run needs, in one TOML file.
//!
//! ```toml
//! track = "technical-loop"            # built-in, .toml or DeepRacer .npy (relative to this file)
//! reward = "center_line.rhai"         # .rhai, .py (--features python) or builtin:NAME
//! seed = 0
//! network = "..."                     # optional; the trainer's default otherwise
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
//! [`load_run`] resolves and validates it all once, before any work.

mod hyperparameters;
mod run;
mod suggest;

pub use hyperparameters::Hyperparameters;
pub use run::{
    ConfigError, RaceType, ResolvedRun, RewardSource, builtin_rewards, load_run, parse_run,
};
