//! What a run trains, derived from its config: the network, the agent
//! spec (network + preprocessing), the PPO settings and the
//! `model_metadata.json` it writes.

use crate::checkpoint::AgentSpec;
use crate::error::AgentError;
use crate::learner::head_for;
use crate::net::{ActorCriticConfig, NetworkKind};
use crate::ppo::{PolicyObjective, PpoConfig};
use chicane_config::ResolvedRun;
use chicane_core::{ModelMetadata, Preprocess, Sensor, TrainingAlgorithm};

/// The error for a run that asks for SAC, which this chicane does not train.
pub(crate) fn sac_unsupported(run: &ResolvedRun) -> AgentError {
    AgentError::Unsupported(format!(
        "{}: training_algorithm `sac`: this chicane trains clipped_ppo and vanilla_pg, not SAC \
         yet; set \"training_algorithm\": \"clipped_ppo\" in model_metadata.json (or \
         training_algorithm = \"clipped_ppo\" in the run file)",
        run.origin
    ))
}

/// The network a run trains: `requested` when given, else the config's
/// `network` (or its model_metadata.json's), else `FAST_CNN` when the car
/// has a camera and `MLP` when it has only lidar.
pub fn network_for(run: &ResolvedRun, requested: Option<NetworkKind>) -> NetworkKind {
    requested
        .or(run.network)
        .unwrap_or(if run.sim.camera.is_some() {
            NetworkKind::FastCnn
        } else {
            NetworkKind::Mlp
        })
}

/// The learner's settings DeepRacer's hyperparameters give, for the run's
/// `training_algorithm`: `clipped_ppo` trains PPO; `vanilla_pg` the
/// vanilla policy gradient, one pass over each rollout (`num_epochs` is
/// PPO's: reusing a rollout needs PPO's ratio, so it is 1 here).
///
/// # Errors
/// [`AgentError::Hyperparameter`] for a setting the learner cannot use;
/// [`AgentError::Unsupported`] for `sac`.
pub fn ppo_from_run(run: &ResolvedRun, gae_lambda: f64) -> Result<PpoConfig, AgentError> {
    let h = &run.hyperparameters;
    let (objective, num_epochs) = match run.training_algorithm {
        TrainingAlgorithm::ClippedPpo => (PolicyObjective::ClippedSurrogate, h.num_epochs),
        TrainingAlgorithm::VanillaPg => (PolicyObjective::VanillaPg, 1),
        TrainingAlgorithm::Sac => return Err(sac_unsupported(run)),
    };
    let cfg = PpoConfig {
        objective,
        discount_factor: h.discount_factor,
        gae_lambda,
        beta_entropy: h.beta_entropy,
        loss_type: h.loss_type,
        lr: h.lr,
        batch_size: h.batch_size,
        num_epochs,
        ..PpoConfig::default()
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The agent spec (network + preprocessing) for `run` with `network`.
///
/// # Errors
/// [`AgentError::Shape`] when the network does not fit the sensors.
pub fn agent_spec(run: &ResolvedRun, network: NetworkKind) -> Result<AgentSpec, AgentError> {
    let preprocess = run.sim.camera.as_ref().map(|c| Preprocess {
        channels: if c.stereo {
            2
        } else if c.rgb {
            3
        } else {
            1
        },
        height: c.height as usize,
        width: c.width as usize,
        downscale: network.downscale(),
        stack_size: run.hyperparameters.stack_size.max(1),
    });
    let spec = AgentSpec {
        network: ActorCriticConfig::new(
            network,
            preprocess.map(|p| p.output_shape()),
            run.sim.lidar.as_ref().map(|l| l.len()),
            head_for(&run.action_space),
        ),
        preprocess,
    };
    spec.network.validate()?;
    Ok(spec)
}

/// The `model_metadata.json` of a run trained with `network`.
pub fn model_metadata(run: &ResolvedRun, network: NetworkKind) -> ModelMetadata {
    let mut sensor = Vec::new();
    if let Some(c) = &run.sim.camera {
        sensor.push(if c.stereo {
            Sensor::StereoCameras
        } else {
            Sensor::FrontFacingCamera
        });
    }
    if run.sim.lidar.is_some() {
        sensor.push(Sensor::Lidar);
    }
    ModelMetadata {
        action_space: run.action_space.clone(),
        sensor,
        neural_network: Some(network),
        training_algorithm: Some(run.training_algorithm),
        version: Some("5".into()),
        extra: Default::default(),
    }
}
