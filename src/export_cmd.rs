//! `chicane export`: a trained run's policy as a model bundle for the car
//! (`chicane-car run --model`).

use crate::train_cmd::{device, resolve_run};
use anyhow::Result;
use chicane_agent::{CheckpointChoice, export_bundle};
use clap::Args;
use std::path::PathBuf;

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

/// Runs `chicane export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let config = crate::evaluate_cmd::run_config(&args.run_dir)?;
    let run = resolve_run(Some(&config), None, None)?;
    let which: CheckpointChoice = args
        .checkpoint
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--checkpoint: {e}"))?;
    let model_spec = export_bundle(&args.run_dir, &run, which, &args.out, &device("flex")?)?;
    let onnx_bytes = std::fs::metadata(&args.out).map_or(0, |m| m.len());
    println!(
        "wrote {} ({} from {}, {} KiB)",
        args.out.display(),
        model_spec.network,
        model_spec.checkpoint,
        onnx_bytes / 1024
    );
    Ok(())
}
