//! `chicane config show`: the resolved run config.

use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved run config (defaults filled in, paths resolved) as TOML.
    Show {
        /// A run .toml or a DeepRacer custom_files folder; none = the built-in defaults.
        run: Option<PathBuf>,
    },
}

/// Runs a `config` subcommand.
pub fn run(cmd: ConfigCommand) -> Result<()> {
    match cmd {
        ConfigCommand::Show { run } => {
            let resolved = chicane_config::load_run(run.as_deref())?;
            print!("{}", resolved.to_toml());
            Ok(())
        }
    }
}
