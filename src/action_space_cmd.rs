//! `chicane action-space`: generate a discrete action space the way
//! DeepRacer's console does, as a `model_metadata.json`.

use anyhow::{Context, Result, anyhow};
use chicane_core::{ModelMetadata, Sensor, generate_discrete};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `chicane action-space`.
#[derive(Debug, Args)]
pub struct ActionSpaceArgs {
    /// Largest steering angle (deg), at most 30.
    #[arg(long, default_value_t = 30.0)]
    max_steering: f64,
    /// Number of steering angles, spread evenly from -max to +max.
    #[arg(long, default_value_t = 5)]
    steering_levels: usize,
    /// Top speed (m/s), at most 4.
    #[arg(long, default_value_t = 1.0)]
    max_speed: f64,
    /// Number of speeds, spread evenly up to the top speed.
    #[arg(long, default_value_t = 2)]
    speed_levels: usize,
    /// Write the model_metadata.json here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `chicane action-space`.
pub fn run(args: ActionSpaceArgs) -> Result<()> {
    let space = generate_discrete(
        args.max_steering,
        args.steering_levels,
        args.max_speed,
        args.speed_levels,
    )
    .map_err(|e| {
        anyhow!(
            "{e}; DeepRacer allows 2 to 30 actions, steering up to 30 deg and speeds 0.1 to 4 m/s"
        )
    })?;
    let meta = ModelMetadata {
        action_space: space,
        sensor: vec![Sensor::FrontFacingCamera],
        neural_network: Some(chicane_core::NetworkKind::DeepRacerShallow),
        training_algorithm: Some(chicane_core::TrainingAlgorithm::ClippedPpo),
        version: Some("5".into()),
        extra: Default::default(),
    };
    let text = meta.to_json_string();
    match args.out {
        Some(path) => {
            std::fs::write(&path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}
