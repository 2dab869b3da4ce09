//! chicane-agent: the learning agent. burn policy/value networks
//! (DeepRacer's camera networks, a small CPU network, an MLP), clipped PPO
//! with GAE, soft actor-critic ([`SacConfig`]), the [`Learner`] that acts
//! and updates, and training runs:
//! a [`RunRequest`] (what the user typed) resolved once into a [`RunPlan`],
//! trained by [`train`] into a [`RunDir`].
//!
//! The backend is a runtime [`burn::tensor::Device`] picked by
//! [`DeviceKind`]; which kinds exist is decided by this crate's features,
//! which the leaf binary turns on (`flex` by default).

mod bench;
mod chart;
mod checkpoint;
mod conditions;
mod deepracer;
mod device;
mod error;
mod eval_request;
mod evaluate;
mod export;
mod learner;
mod native;
mod net;
mod observer;
mod onnx;
mod options;
mod ppo;
mod records;
mod remote;
mod request;
mod rollout;
mod run_dir;
mod run_log;
mod sac;
mod spec;
mod trainer;
mod training_run;

pub use bench::{TrainBench, bench_train, peak_rss_mib};
pub use burn;
pub use chart::{
    Panel, plot_lap_time_comparison, plot_lap_times, plot_training, read_episodes,
    render as render_chart, save as save_chart,
};
pub use checkpoint::{
    AgentSpec, TrainerState, latest_checkpoint, list_checkpoints, read_agent_spec, read_state,
};
pub use conditions::{ConditionCell, ConditionsFile, ConditionsReport, evaluate_conditions};
pub use deepracer::{
    CAR_FRAME, CarArchive, DeepRacerExport, DeepRacerGraph, ImportedModel, METADATA_JSON, MODEL_PB,
    PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT, camera_input_name, car_unsupported, check_car_archive,
    export_deepracer, export_deepracer_graph, import_model, sac_camera_input_name,
};
pub use device::DeviceKind;
pub use error::AgentError;
pub use eval_request::{EvalPlan, EvalRequest, Evaluation};
pub use evaluate::{
    EvalOptions, EvalReport, EvalStep, LapResult, LoadedPolicy, evaluate, load_policy,
    load_policy_at,
};
pub use export::{CheckpointChoice, choose_checkpoint, export_bundle};
pub use learner::{
    HostObs, Learner, LearnerTimings, PolicySample, Rollout, UpdateStats, clipped_gaussian_mean,
    head_for, head_for_algorithm,
};
pub use net::{ActorCritic, ActorCriticConfig, HeadKind, NetworkKind, ObsBatch};
pub use observer::{NoObserver, StepView, TrainObserver};
pub use onnx::{OnnxModel, export_onnx};
pub use options::{RolloutLength, StopConditions, StopReason, TrainOptions, parse_duration};
pub use ppo::{
    PolicyObjective, PpoConfig, PpoLoss, ValueLoss, categorical_log_prob_entropy,
    clipped_gaussian_log_prob, gae, gaussian_log_prob_entropy, ppo_loss,
};
pub use records::{EpisodeRecord, IterationRecord, LapSummary, TrainSummary, WorkerEpisode};
pub use remote::{RemoteRun, create_run_folder, fetch_input, open_run_folder, write_output};
pub use request::{OutputPolicy, RunPlan, RunRequest};
pub use rollout::{RolloutBatch, RolloutWorker};
pub use run_dir::{EvaluationDir, RunDir};
pub use sac::{
    LOG_STD_MAX, LOG_STD_MIN, SacConfig, SquashedSample, Temperature, actor_loss, clamp_log_std,
    critic_loss, log_one_minus_tanh_sq, soft_q_target, soft_update, squashed_gaussian_log_prob,
    squashed_gaussian_sample, temperature_loss,
};
pub use spec::{agent_spec, model_metadata, network_for, ppo_from_run};
pub use trainer::train;
pub use training_run::TrainingRun;
