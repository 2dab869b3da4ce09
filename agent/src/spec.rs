//! What a run trains, derived from its config: the network, the agent
//! spec (network + preprocessing), the PPO and SAC settings and the
//! `model_metadata.json` it writes.

use crate::checkpoint::AgentSpec;
use crate::error::AgentError;
use crate::learner::head_for_algorithm;
use crate::net::{ActorCriticConfig, NetworkKind};
use crate::ppo::{PolicyObjective, PpoConfig};
use crate::sac::{SacConfig, Temperature};
use chicane_config::ResolvedRun;
use chicane_core::{ModelMetadata, Preprocess, Sensor, TrainingAlgorithm};

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
/// PPO's: reusing a rollout needs PPO's ratio, so it is 1 here). For `sac`
/// these are the settings its rollouts keep their books with (the
/// discount of the advantages they report); SAC learns with
/// [`sac_from_run`]'s, and a SAC network's squashed-Gaussian head refuses
/// a PPO update.
///
/// # Errors
/// [`AgentError::Hyperparameter`] for a setting the learner cannot use.
pub fn ppo_from_run(run: &ResolvedRun, gae_lambda: f64) -> Result<PpoConfig, AgentError> {
    let h = &run.hyperparameters;
    let (objective, num_epochs) = match run.training_algorithm {
        TrainingAlgorithm::ClippedPpo | TrainingAlgorithm::Sac => {
            (PolicyObjective::ClippedSurrogate, h.num_epochs)
        }
        TrainingAlgorithm::VanillaPg => (PolicyObjective::VanillaPg, 1),
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

/// SAC's settings from DeepRacer's hyperparameters (`discount_factor`,
/// `lr`, `batch_size`, `num_epochs` as the replay ratio, `loss_type`,
/// `sac_alpha`) and chicane's (`sac_target_entropy` for an automatic
/// temperature, `sac_tau`, `sac_buffer_size`), for observations of
/// `obs_bytes` bytes in the replay buffer (which sizes the default buffer).
///
/// # Errors
/// [`AgentError::Hyperparameter`] for a setting SAC cannot use.
pub fn sac_from_run(run: &ResolvedRun, obs_bytes: usize) -> Result<SacConfig, AgentError> {
    let h = &run.hyperparameters;
    let defaults = SacConfig::default();
    let cfg = SacConfig {
        discount_factor: h.discount_factor,
        lr: h.lr,
        batch_size: h.batch_size,
        replay_ratio: h.num_epochs,
        loss_type: h.loss_type,
        temperature: match h.sac_target_entropy {
            Some(target_entropy) => Temperature::Auto {
                initial: h.sac_alpha,
                target_entropy,
            },
            None => Temperature::Fixed(h.sac_alpha),
        },
        tau: h.sac_tau.unwrap_or(defaults.tau),
        buffer_size: h
            .sac_buffer_size
            .unwrap_or_else(|| SacConfig::buffer_for(obs_bytes)),
        ..defaults
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The bytes one observation of `spec` takes in SAC's replay buffer.
pub(crate) fn replay_obs_bytes(spec: &AgentSpec) -> usize {
    let cam = spec.network.camera.map_or(0, |[c, h, w]| c * h * w);
    crate::sac::ReplayBuffer::obs_bytes(cam, spec.network.vector.unwrap_or(0))
}

/// The agent spec (network + preprocessing) for `run` with `network`: the
/// head is the one the run's `training_algorithm` trains in its action
/// space ([`head_for_algorithm`]).
///
/// # Errors
/// [`AgentError::Shape`] when the network does not fit the sensors;
/// [`AgentError::Unsupported`] for SAC over a discrete action space.
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
            head_for_algorithm(&run.action_space, run.training_algorithm).map_err(|e| {
                // name the config the algorithm and action space came from
                AgentError::Unsupported(format!("{}: {e}", run.origin))
            })?,
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
