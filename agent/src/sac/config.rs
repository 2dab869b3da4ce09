//! SAC's settings, with DeepRacer's hyperparameter names where it has them.

use crate::error::AgentError;
use crate::ppo::ValueLoss;
use serde::{Deserialize, Serialize};

/// SAC's entropy temperature alpha.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temperature {
    /// A fixed alpha (DeepRacer's `sac_alpha`, as rl_coach's SAC uses it).
    Fixed(f64),
    /// Alpha learnt so that the policy's entropy stays near
    /// `target_entropy` (nats), starting from `initial` (Haarnoja et al.
    /// 2018b, "Soft Actor-Critic Algorithms and Applications", eq. 18;
    /// their heuristic target is `-dim(A)`, -2 for steering and speed).
    Auto {
        /// Alpha at the start.
        initial: f64,
        /// The entropy aimed at (nats).
        target_entropy: f64,
    },
}

impl Temperature {
    /// Alpha at the start of training.
    pub fn initial(self) -> f64 {
        match self {
            Temperature::Fixed(a) | Temperature::Auto { initial: a, .. } => a,
        }
    }
}

/// Soft actor-critic settings. Defaults follow DeepRacer's
/// `hyperparameters.json` where it has the setting and Haarnoja et al.
/// (2018b) elsewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SacConfig {
    /// Discount factor gamma (DeepRacer's `discount_factor`). Default 0.99.
    pub discount_factor: f64,
    /// Adam learning rate of the actor, the critics and the temperature
    /// (DeepRacer's `lr`). Default 3e-4.
    pub lr: f64,
    /// Transitions per gradient step, drawn uniformly from the replay
    /// buffer (DeepRacer's `batch_size`). Default 64.
    pub batch_size: usize,
    /// Transitions learnt from per env step collected (DeepRacer's
    /// `num_epochs` read as SAC's replay ratio: an update after a rollout
    /// of `T` env steps takes `ceil(replay_ratio * T / batch_size)`
    /// gradient steps, as much sampling as PPO's epochs over the same
    /// rollout). Default 5.
    pub replay_ratio: usize,
    /// The critics' loss (DeepRacer's `loss_type`). Default Huber.
    pub loss_type: ValueLoss,
    /// The entropy temperature. Default fixed 0.2 (DeepRacer's `sac_alpha`).
    pub temperature: Temperature,
    /// Polyak rate of the target networks per gradient step. Default 0.005
    /// (Haarnoja et al. 2018b, table 1).
    pub tau: f64,
    /// Replay buffer capacity (transitions). Default 100,000, fewer when
    /// the observations would take more than 1 GiB ([`SacConfig::buffer_for`]).
    pub buffer_size: usize,
    /// Units of each of the critics' two hidden layers. Default 256 (rl_coach's
    /// SAC Q head, `network_layers_sizes = (256, 256)`).
    pub critic_hidden: usize,
}

impl Default for SacConfig {
    fn default() -> Self {
        Self {
            discount_factor: 0.99,
            lr: 3e-4,
            batch_size: 64,
            replay_ratio: 5,
            loss_type: ValueLoss::Huber,
            temperature: Temperature::Fixed(0.2),
            tau: 0.005,
            buffer_size: 100_000,
            critic_hidden: 256,
        }
    }
}

/// The memory the default replay buffer may take for its observations (B).
const DEFAULT_BUFFER_BYTES: usize = 1 << 30;

impl SacConfig {
    /// The default buffer capacity for observations of `obs_bytes` bytes
    /// each: 100,000 transitions, or as many as fit in 1 GiB.
    pub fn buffer_for(obs_bytes: usize) -> usize {
        (DEFAULT_BUFFER_BYTES / obs_bytes.max(1)).clamp(1_000, 100_000)
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`AgentError::Hyperparameter`] naming the field (DeepRacer's name
    /// where it has one) and its range.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = crate::error::bad_hyperparameter::<()>;
        if !(0.0..=1.0).contains(&self.discount_factor) {
            return bad("discount_factor", "must be within [0, 1]");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return bad("lr", "must be a positive number");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if self.replay_ratio == 0 {
            return bad(
                "num_epochs",
                "must be at least 1 (SAC learns from num_epochs transitions per env step)",
            );
        }
        let alpha = self.temperature.initial();
        if !(alpha > 0.0 && alpha.is_finite()) {
            return bad("sac_alpha", "must be a positive number");
        }
        if let Temperature::Auto { target_entropy, .. } = self.temperature
            && !target_entropy.is_finite()
        {
            return bad("sac_target_entropy", "must be a finite number of nats");
        }
        if !(self.tau > 0.0 && self.tau <= 1.0) {
            return bad("sac_tau", "must be within (0, 1]");
        }
        if self.buffer_size < self.batch_size {
            return bad(
                "sac_buffer_size",
                "must hold at least one batch (batch_size)",
            );
        }
        if self.critic_hidden == 0 {
            return bad("critic_hidden", "must be at least 1");
        }
        Ok(())
    }
}
