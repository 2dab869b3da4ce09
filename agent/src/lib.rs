//! chicane-agent: the learning agent. burn policy/value networks
//! (DeepRacer's camera networks, a small CPU network, an MLP), clipped PPO
//! with GAE, and the [`Learner`] that acts and updates.
//!
//! The backend is a runtime [`burn::tensor::Device`]; which backends exist
//! is decided by the features of the leaf binary (`burn/flex` by default).

mod chart;
mod checkpoint;
mod error;
mod evaluate;
mod export;
mod learner;
mod net;
mod onnx;
mod ppo;
mod rollout;
mod trainer;

pub use burn;
pub use chart::{Panel, plot_training, read_episodes, render as render_chart, save as save_chart};
pub use checkpoint::{
    AgentSpec, TrainerState, latest_checkpoint, list_checkpoints, read_agent_spec, read_state,
};
pub use error::AgentError;
pub use evaluate::{
    EvalOptions, EvalReport, EvalStep, LapResult, Policy, evaluate, load_policy, load_policy_at,
};
pub use export::{CheckpointChoice, choose_checkpoint, export_bundle};
pub use learner::{HostObs, Learner, PolicySample, Rollout, UpdateStats, head_for};
pub use net::{ActorCritic, ActorCriticConfig, HeadKind, NetworkKind, ObsBatch};
pub use onnx::{
    ACTION_MEAN_OUTPUT, CAMERA_INPUT, LIDAR_INPUT, ONNX_OPSET, OnnxPolicy, PROBABILITIES_OUTPUT,
    PolicyOutput, export_onnx,
};
pub use ppo::{
    PpoConfig, PpoLoss, ValueLoss, categorical_log_prob_entropy, gae, gaussian_log_prob_entropy,
    ppo_loss,
};
pub use rollout::{NoHooks, RolloutBatch, RolloutHooks, RolloutWorker, StepView, WorkerEpisode};
pub use trainer::{
    EpisodeRecord, IterationRecord, RolloutLength, StopReason, TrainObserver, TrainOptions,
    TrainSummary, TrainingRun, agent_spec, model_metadata, network_for, ppo_from_run, train,
};
