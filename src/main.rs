//! The `chicane` command line.
//!
//! Flags are parsed by clap into raw values, resolved once into validated
//! inputs, then the command runs. Errors print their whole chain and exit
//! with status 2.

mod bench_cmd;
mod sim_cmd;
mod track_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// chicane: a reinforcement-learning racing simulator for 1/18-scale cars.
#[derive(Debug, Parser)]
#[command(name = "chicane", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, inspect, import, render and generate race tracks.
    #[command(subcommand)]
    Track(track_cmd::TrackCommand),
    /// Drive the simulator with a scripted driver.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Measure speed (results go to docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Track(cmd) => track_cmd::run(cmd),
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Bench(cmd) => bench_cmd::run(cmd),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
