//! `chicane import-model`: a DeepRacer model (console download, DRfC's
//! `model/` folder, or a `.pb` with its metadata) as a chicane run.

use anyhow::Result;
use chicane_agent::{DeviceKind, import_model};
use clap::Args;
use std::path::PathBuf;

/// `chicane import-model` flags.
#[derive(Debug, Args)]
pub struct ImportModelArgs {
    /// The model: a `.tar.gz`, a folder with one `.pb` and
    /// `model_metadata.json`, or a `.pb` with `model_metadata.json` beside it.
    pub source: PathBuf,
    /// The run folder to create (must be new or empty).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `chicane import-model`.
pub fn run(args: ImportModelArgs) -> Result<()> {
    let done = import_model(&args.source, &args.out, &DeviceKind::Flex.device()?)?;
    println!(
        "imported {} as {} ({}, {})",
        done.graph_source,
        done.run_dir.root().display(),
        done.network,
        done.sensor
    );
    for note in &done.notes {
        println!("  note: {note}");
    }
    println!(
        "  evaluate: chicane evaluate {}   fine-tune: chicane train --clone-from {}",
        done.run_dir.root().display(),
        done.run_dir.root().display()
    );
    Ok(())
}
