//! Soft actor-critic (DeepRacer's second algorithm, `training_algorithm:
//! "sac"`): a tanh-squashed Gaussian actor, twin Q critics with target
//! networks, a replay buffer and a fixed or automatic temperature, on
//! chicane's native CPU kernels (Haarnoja et al. 2018a and 2018b).

mod config;
mod critic;
mod math;
mod replay;
mod shard;
mod state;

pub use config::{SacConfig, Temperature};
pub use math::{
    LOG_STD_MAX, LOG_STD_MIN, SquashedSample, actor_loss, clamp_log_std, critic_loss,
    log_one_minus_tanh_sq, soft_q_target, soft_update, squashed_gaussian_log_prob,
    squashed_gaussian_sample, temperature_loss,
};
pub(crate) use replay::ReplayBuffer;
pub(crate) use state::SacState;
