//! `chicane export`: a trained run's policy as a model bundle for the car
//! (`chicane-car run --model`).

use anyhow::Result;
use chicane_agent::{CheckpointChoice, DeviceKind, RunDir, export_bundle};
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
    let dir = RunDir::open(&args.run_dir)?;
    let run = dir.load_run()?;
    let which: CheckpointChoice = args.checkpoint.parse()?;
    let model_spec = export_bundle(&dir, &run, which, &args.out, &DeviceKind::Flex.device()?)?;
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
