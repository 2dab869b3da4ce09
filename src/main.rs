//! The `chicane` command line.
//!
//! Flags are parsed by clap into raw values, resolved once into validated
//! inputs, then the command runs. Errors print their whole chain and exit
//! with status 2.

mod action_space_cmd;
mod bench_cmd;
mod compare_cmd;
mod config_cmd;
mod evaluate_cmd;
mod export_cmd;
mod import_cmd;
mod raceline_cmd;
mod reward_cmd;
mod sim_cmd;
mod sim_serve;
mod track_cmd;
mod train_cmd;

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
    /// Train a PPO agent (no arguments: the built-in defaults).
    Train(train_cmd::TrainArgs),
    /// Time laps with a trained run's policy (DeepRacer-style evaluation).
    Evaluate(evaluate_cmd::EvaluateArgs),
    /// Compare training runs: their laps in a table, lap time against training time in a PNG.
    Compare(compare_cmd::CompareArgs),
    /// Export a trained run for a car: chicane-car's ONNX bundle, or the stock DeepRacer car's model.
    Export(export_cmd::ExportArgs),
    /// Import a DeepRacer model (frozen graph + model_metadata.json) as a run.
    ImportModel(import_cmd::ImportModelArgs),
    /// List, inspect, import, render and generate race tracks.
    #[command(subcommand)]
    Track(track_cmd::TrackCommand),
    /// Generate a discrete action space like DeepRacer's console (model_metadata.json).
    ActionSpace(action_space_cmd::ActionSpaceArgs),
    /// Show the resolved run config.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Check a reward function: statistics along a lap and a heat map.
    #[command(subcommand)]
    Reward(reward_cmd::RewardCommand),
    /// Drive the simulator with a scripted driver.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Measure speed (results go to docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => train_cmd::run(args),
        Command::Evaluate(args) => evaluate_cmd::run(args),
        Command::Compare(args) => compare_cmd::run(args),
        Command::Export(args) => export_cmd::run(args),
        Command::ImportModel(args) => import_cmd::run(args),
        Command::Track(cmd) => track_cmd::run(cmd),
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Reward(cmd) => reward_cmd::run(cmd),
        Command::ActionSpace(args) => action_space_cmd::run(args),
        Command::Config(cmd) => config_cmd::run(cmd),
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
