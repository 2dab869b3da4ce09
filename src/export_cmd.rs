//! `chicane export`: a trained run's policy as a model bundle for
//! `chicane-car` (ONNX), or as the `.tar.gz` the stock DeepRacer car's
//! console loads (a TensorFlow frozen graph).

use anyhow::Result;
use chicane_agent::{CheckpointChoice, DeviceKind, RunDir, export_bundle, export_deepracer};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// What `chicane export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// chicane's bundle for `chicane-car`: ONNX, metadata, preprocessing, checksums.
    Onnx,
    /// The stock AWS DeepRacer car's model: `model_metadata.json` and
    /// `agent/model.pb` (a TensorFlow frozen graph with rl_coach's names).
    Deepracer,
}

/// `chicane export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run folder (`chicane train --out`; local or `s3://`).
    pub run_dir: PathBuf,
    /// Which checkpoint: `last`, `best` (the kept checkpoint whose training
    /// iteration had the highest mean progress, then reward) or an
    /// iteration number.
    #[arg(long, default_value = "last")]
    pub checkpoint: String,
    /// What to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Onnx)]
    pub format: ExportFormat,
    /// The file to write (local or `s3://bucket/key`). Default `model.tar.gz` (onnx) or
    /// `<run folder name>.tar.gz` (deepracer: the car names the model
    /// after the file, which must have no dots or spaces).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `chicane export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let (local, _remote) = chicane_agent::open_run_folder(&args.run_dir)?;
    let dir = RunDir::open(&local)?;
    let run = dir.load_run()?;
    let which: CheckpointChoice = args.checkpoint.parse()?;
    let device = DeviceKind::Flex.device()?;
    match args.format {
        ExportFormat::Onnx => {
            let out = args.out.unwrap_or_else(|| PathBuf::from("model.tar.gz"));
            let (model_spec, local) = chicane_agent::write_output(&out, |o| {
                export_bundle(&dir, &run, which, o, &device)
            })?;
            let bytes = std::fs::metadata(&local).map_or(0, |m| m.len());
            println!(
                "wrote {} ({} from {}, {} KiB)",
                out.display(),
                model_spec.network,
                model_spec.checkpoint,
                bytes / 1024
            );
        }
        ExportFormat::Deepracer => {
            let out = args.out.unwrap_or_else(|| {
                let name = dir
                    .root()
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "model".into())
                    .replace(['.', ' '], "-");
                PathBuf::from(format!("{name}.tar.gz"))
            });
            let (done, local) = chicane_agent::write_output(&out, |o| {
                export_deepracer(&dir, &run, which, o, &device)
            })?;
            let bytes = std::fs::metadata(&local).map_or(0, |m| m.len());
            let g = &done.graph;
            println!(
                "wrote {} for the DeepRacer car (model `{}`, {} KiB, checkpoint {})",
                out.display(),
                done.archive.model_name,
                bytes / 1024,
                done.checkpoint
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            println!(
                "  input  {} float {:?} (NHWC, 0..255)",
                g.input, g.input_shape
            );
            println!(
                "  output {} ({:?}, {} values)",
                g.output, g.output_kind, g.output_len
            );
            println!("  upload it in the car's web console: Models > Upload (see docs/CAR.md)");
        }
    }
    Ok(())
}
