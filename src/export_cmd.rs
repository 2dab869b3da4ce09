//! `chicane export`: a trained run's policy as a model bundle for the car
//! (`chicane-car run --model`).

use crate::train_cmd::{device, resolve_run};
use anyhow::{Context, Result, bail};
use chicane_agent::{
    Learner, PolicyOutput, PpoConfig, export_onnx, list_checkpoints, read_agent_spec, read_state,
};
use chicane_car::{BUNDLE_FORMAT, ModelSpec, OutputKind, write_bundle};
use clap::Args;
use std::path::{Path, PathBuf};

/// `chicane export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run folder (`chicane train --out`).
    pub run_dir: PathBuf,
    /// Which checkpoint: `last`, `best` (the kept checkpoint whose training
    /// iteration had the highest mean progress, then reward) or an
    /// iteration number.
    #[arg(long, default_value = "last")]
    pub checkpoint: String,
    /// The bundle to write.
    #[arg(long, default_value = "model.tar.gz")]
    pub out: PathBuf,
}

/// Mean progress and reward per training iteration, from `metrics.jsonl`.
fn iteration_scores(run_dir: &Path) -> Vec<(u64, f64, f64)> {
    let Ok(text) = std::fs::read_to_string(run_dir.join("metrics.jsonl")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "iteration")
        .filter_map(|v| {
            let r = &v["record"];
            Some((
                r["iteration"].as_u64()?,
                r["mean_progress"].as_f64()?,
                r["mean_reward"].as_f64()?,
            ))
        })
        .collect()
}

/// Picks the checkpoint folder for `which`.
fn choose_checkpoint(run_dir: &Path, which: &str) -> Result<PathBuf> {
    let all = list_checkpoints(run_dir);
    if all.is_empty() {
        bail!(
            "{}: no checkpoints; train first (chicane train --out {})",
            run_dir.display(),
            run_dir.display()
        );
    }
    let iter_of = |p: &PathBuf| read_state(p).map(|s| s.iteration).ok();
    let kept: Vec<String> = all
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    match which {
        "last" => Ok(chicane_agent::latest_checkpoint(run_dir)?),
        "best" => {
            let scores = iteration_scores(run_dir);
            let score = |it: u64| {
                scores
                    .iter()
                    .find(|s| s.0 == it)
                    .map_or((f64::MIN, f64::MIN), |s| (s.1, s.2))
            };
            all.iter()
                .filter_map(|p| iter_of(p).map(|it| (p, score(it))))
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(a.1.1.total_cmp(&b.1.1)))
                .map(|(p, _)| p.clone())
                .context("no readable checkpoint")
        }
        n => {
            let n: u64 = n.parse().map_err(|_| {
                anyhow::anyhow!("--checkpoint {n}: use last, best or an iteration number")
            })?;
            all.iter()
                .find(|p| iter_of(p) == Some(n))
                .cloned()
                .with_context(|| {
                    format!(
                        "--checkpoint {n}: no such checkpoint in {} (kept: {})",
                        run_dir.display(),
                        kept.join(", ")
                    )
                })
        }
    }
}

/// Runs `chicane export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let config = crate::evaluate_cmd::run_config(&args.run_dir)?;
    let run = resolve_run(Some(&config), None, None)?;
    let spec = read_agent_spec(&args.run_dir)?;
    let ckpt = choose_checkpoint(&args.run_dir, &args.checkpoint)?;
    let dev = device("flex")?;
    let mut learner = Learner::new(
        spec.network.clone(),
        PpoConfig::default(),
        run.action_space.clone(),
        &dev,
        0,
    )?;
    learner.load(&ckpt, false)?;
    let onnx = export_onnx(&learner)?;
    let metadata_path = args.run_dir.join("model_metadata.json");
    let metadata = std::fs::read_to_string(&metadata_path)
        .with_context(|| format!("cannot read {}", metadata_path.display()))?;
    let model_spec = ModelSpec {
        format_version: BUNDLE_FORMAT,
        network: spec.network.network.name().into(),
        camera: spec.preprocess,
        lidar: onnx.lidar,
        output: match onnx.output {
            PolicyOutput::Probabilities => OutputKind::Probabilities,
            PolicyOutput::GaussianMean => OutputKind::GaussianMean,
        },
        output_len: onnx.output_len,
        action_hz: run.sim.physics.action_hz,
        run: args.run_dir.display().to_string(),
        checkpoint: ckpt
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    };
    write_bundle(
        &args.out,
        &model_spec,
        &metadata,
        &onnx.bytes,
        &std::fs::read_to_string(&config)
            .with_context(|| format!("cannot read {}", config.display()))?,
    )?;
    println!(
        "wrote {} ({} from {}, {} KiB ONNX)",
        args.out.display(),
        model_spec.network,
        model_spec.checkpoint,
        onnx.bytes.len() / 1024
    );
    Ok(())
}
