//! DeepRacer's training hyperparameters, with its names and defaults.

use serde::{Deserialize, Serialize};

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
    pub exploration_type: String,
    /// Value loss: `huber` or `mse`. Default huber.
    pub loss_type: String,
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
    /// SAC's entropy temperature alpha. Default 0.2.
    pub sac_alpha: f64,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            batch_size: 64,
            beta_entropy: 0.01,
            discount_factor: 0.99,
            e_greedy_value: 0.05,
            epsilon_steps: 10_000,
            exploration_type: "categorical".into(),
            loss_type: "huber".into(),
            lr: 3e-4,
            num_episodes_between_training: 20,
            num_epochs: 5,
            stack_size: 1,
            term_cond_avg_score: 350.0,
            term_cond_max_episodes: 1000,
            sac_alpha: 0.2,
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
        if !matches!(
            self.loss_type.as_str(),
            "huber" | "mse" | "mean squared error"
        ) {
            return f(
                "loss_type",
                format!("`{}`: use \"huber\" or \"mse\"", self.loss_type),
            );
        }
        if !matches!(
            self.exploration_type.as_str(),
            "categorical" | "e-greedy" | "e_greedy" | "additive_noise"
        ) {
            return f(
                "exploration_type",
                format!(
                    "`{}`: use \"categorical\" or \"e-greedy\"",
                    self.exploration_type
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
        if !self.term_cond_avg_score.is_finite() {
            return f("term_cond_avg_score", "must be a finite number".into());
        }
        Ok(())
    }
}
