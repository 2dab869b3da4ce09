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
    /// `model_metadata.json`, or a `.pb` with `model_metadata.json` beside
    /// it; local or `s3://bucket/prefix` (a DRfC model's `model/` prefix).
    pub source: PathBuf,
    /// The run folder to create (must be new or empty; local or `s3://`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `chicane import-model`.
pub fn run(args: ImportModelArgs) -> Result<()> {
    let source = chicane_agent::fetch_input(&args.source)?;
    let (out, remote) = chicane_agent::create_run_folder(&args.out)?;
    let done = import_model(&source, &out, &DeviceKind::Flex.device()?)?;
    if let Some(r) = &remote {
        r.sync()?;
    }
    let shown = args.out.display();
    println!(
        "imported {} as {shown} ({}, {})",
        done.graph_source, done.network, done.sensor
    );
    for note in &done.notes {
        println!("  note: {note}");
    }
    println!(
        "  evaluate: chicane evaluate {shown}   fine-tune: chicane train --clone-from {shown}"
    );
    Ok(())
}
