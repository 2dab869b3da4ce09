//! DeepRacer's training hyperparameters, with its names and defaults.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The value loss (DeepRacer's `loss_type` hyperparameter), parsed once
/// from DeepRacer's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ValueLoss {
    /// Mean squared error (`"mean squared error"` in DeepRacer, also `"mse"`).
    Mse,
    /// Huber loss with delta 1 (`"huber"`, DeepRacer's default).
    #[default]
    Huber,
}

impl ValueLoss {
    /// DeepRacer's name, as `hyperparameters.json` writes it.
    pub fn name(self) -> &'static str {
        match self {
            ValueLoss::Mse => "mean squared error",
            ValueLoss::Huber => "huber",
        }
    }
}

impl TryFrom<String> for ValueLoss {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "huber" => Ok(ValueLoss::Huber),
            "mean squared error" | "mse" | "mean_squared_error" => Ok(ValueLoss::Mse),
            _ => Err(format!(
                "loss_type `{name}`: use \"huber\" or \"mean squared error\""
            )),
        }
    }
}

impl From<ValueLoss> for String {
    fn from(v: ValueLoss) -> String {
        v.name().to_string()
    }
}

impl fmt::Display for ValueLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a discrete policy explores (DeepRacer's `exploration_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ExplorationType {
    /// Sample the policy's distribution (DeepRacer's default).
    #[default]
    Categorical,
    /// Epsilon-greedy (DeepRacer keeps the name; chicane's PPO samples the
    /// policy either way).
    EGreedy,
    /// Additive Gaussian noise (DeepRacer's continuous spaces).
    AdditiveNoise,
}

impl ExplorationType {
    /// DeepRacer's name.
    pub fn name(self) -> &'static str {
        match self {
            ExplorationType::Categorical => "categorical",
            ExplorationType::EGreedy => "e-greedy",
            ExplorationType::AdditiveNoise => "additive_noise",
        }
    }
}

impl TryFrom<String> for ExplorationType {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "categorical" => Ok(ExplorationType::Categorical),
            "e-greedy" | "e_greedy" => Ok(ExplorationType::EGreedy),
            "additive_noise" => Ok(ExplorationType::AdditiveNoise),
            _ => Err(format!(
                "exploration_type `{name}`: use \"categorical\", \"e-greedy\" or \"additive_noise\""
            )),
        }
    }
}

impl From<ExplorationType> for String {
    fn from(v: ExplorationType) -> String {
        v.name().to_string()
    }
}

/// DeepRacer's `hyperparameters.json` (names, meanings and defaults as in
/// the shared DeepRacer file and the console).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hyperparameters {
    /// Experiences per gradient step (minibatch size). Default 64.
    pub batch_size: usize,
    /// Entropy bonus weight (PPO). Default 0.01.
    pub beta_entropy: f64,
    /// Discount factor gamma. Default 0.99.
    pub discount_factor: f64,
    /// Exploration epsilon for e-greedy (DeepRacer keeps it; unused by PPO). Default 0.05.
    pub e_greedy_value: f64,
    /// Steps over which epsilon decays. Default 10000.
    pub epsilon_steps: u64,
    /// `categorical` (sample from the policy) or `e-greedy`. Default categorical.
    pub exploration_type: ExplorationType,
    /// Value loss: `huber` or `mean squared error`. Default huber.
    pub loss_type: ValueLoss,
    /// Learning rate (Adam). Default 0.0003.
    pub lr: f64,
    /// Episodes of experience between policy updates. Default 20.
    pub num_episodes_between_training: usize,
    /// Passes over the experience per update. Default 5.
    pub num_epochs: usize,
    /// Frames stacked into one observation. Default 1.
    pub stack_size: usize,
    /// Stop when the average reward over recent episodes reaches this. Default 350.
    pub term_cond_avg_score: f64,
    /// Stop after this many episodes. Default 1000.
    pub term_cond_max_episodes: u64,
    /// SAC's entropy temperature alpha: fixed (DeepRacer's meaning), or
    /// the starting value when `sac_target_entropy` is given. Default 0.2.
    pub sac_alpha: f64,
    /// chicane's: an automatic SAC temperature that keeps the policy's
    /// entropy near this many nats (Haarnoja et al. 2018b, eq. 18; their
    /// heuristic is -2 for steering and speed). Absent: alpha is fixed at
    /// `sac_alpha`, as in DeepRacer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sac_target_entropy: Option<f64>,
    /// chicane's: SAC's Polyak rate of the target networks per gradient
    /// step. Absent: 0.005 (Haarnoja et al. 2018b).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sac_tau: Option<f64>,
    /// chicane's: SAC's replay buffer capacity (transitions). Absent:
    /// 100,000, or as many as fit in 1 GiB of observations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sac_buffer_size: Option<usize>,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            batch_size: 64,
            beta_entropy: 0.01,
            discount_factor: 0.99,
            e_greedy_value: 0.05,
            epsilon_steps: 10_000,
            exploration_type: ExplorationType::Categorical,
            loss_type: ValueLoss::Huber,
            lr: 3e-4,
            num_episodes_between_training: 20,
            num_epochs: 5,
            stack_size: 1,
            term_cond_avg_score: 350.0,
            term_cond_max_episodes: 1000,
            sac_alpha: 0.2,
            sac_target_entropy: None,
            sac_tau: None,
            sac_buffer_size: None,
        }
    }
}

impl Hyperparameters {
    /// Checks the ranges DeepRacer's console accepts.
    ///
    /// # Errors
    /// The field and the accepted range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let f = |k: &str, p: String| Err((format!("hyperparameters.{k}"), p));
        if !(1..=8192).contains(&self.batch_size) {
            return f(
                "batch_size",
                format!(
                    "{} must be 1 to 8192 (DeepRacer offers 32 to 512)",
                    self.batch_size
                ),
            );
        }
        if !(self.beta_entropy.is_finite() && (0.0..=1.0).contains(&self.beta_entropy)) {
            return f(
                "beta_entropy",
                format!("{} must be within 0..1", self.beta_entropy),
            );
        }
        if !(self.discount_factor.is_finite() && (0.0..=1.0).contains(&self.discount_factor)) {
            return f(
                "discount_factor",
                format!("{} must be within 0..1", self.discount_factor),
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr < 1.0) {
            return f(
                "lr",
                format!(
                    "{} must be within (0, 1); DeepRacer uses 1e-8 to 1e-3",
                    self.lr
                ),
            );
        }
        if self.num_episodes_between_training == 0 || self.num_epochs == 0 || self.stack_size == 0 {
            return f(
                "num_epochs",
                "num_epochs, num_episodes_between_training and stack_size must be at least 1"
                    .into(),
            );
        }
        if self.stack_size > 16 {
            return f("stack_size", format!("{} must be 1 to 16", self.stack_size));
        }
        if !(self.sac_alpha.is_finite() && self.sac_alpha > 0.0) {
            return f(
                "sac_alpha",
                format!("{} must be a positive number", self.sac_alpha),
            );
        }
        if let Some(t) = self.sac_target_entropy
            && !t.is_finite()
        {
            return f(
                "sac_target_entropy",
                format!("{t} must be a finite number of nats (-2 is the usual)"),
            );
        }
        if let Some(t) = self.sac_tau
            && !(t > 0.0 && t <= 1.0)
        {
            return f("sac_tau", format!("{t} must be within (0, 1]"));
        }
        if let Some(n) = self.sac_buffer_size
            && n < self.batch_size
        {
            return f(
                "sac_buffer_size",
                format!(
                    "{n} must hold at least one batch (batch_size {})",
                    self.batch_size
                ),
            );
        }
        if !self.term_cond_avg_score.is_finite() {
            return f("term_cond_avg_score", "must be a finite number".into());
        }
        Ok(())
    }
}
