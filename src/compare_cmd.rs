//! `chicane compare`: several training runs side by side: a table of their
//! training laps (first, best, the mean of the last 100) and, with
//! `--out`, their lap times against training time on shared axes.

use anyhow::{Result, bail};
use chicane_agent::{LapSummary, RunDir, plot_lap_time_comparison, read_episodes};
use clap::Args;
use std::path::PathBuf;

/// `chicane compare` flags.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run folders (`chicane train --out`), named in the table and the
    /// chart as given.
    #[arg(required = true, num_args = 1..)]
    pub run_dirs: Vec<PathBuf>,
    /// Write the runs' lap times against training time here (PNG, one
    /// panel per run on the same axes).
    #[arg(long, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
    /// Print the table as JSON (one object per run).
    #[arg(long)]
    pub json: bool,
}

/// Runs `chicane compare`.
pub fn run(args: CompareArgs) -> Result<()> {
    let mut runs = Vec::with_capacity(args.run_dirs.len());
    for path in &args.run_dirs {
        let dir = RunDir::open(path)?;
        let metrics = dir.metrics();
        if !metrics.is_file() {
            bail!(
                "{}: no metrics.jsonl: this run has not finished an episode yet",
                path.display()
            );
        }
        runs.push((path.display().to_string(), read_episodes(&metrics)));
    }
    let rows: Vec<(&str, LapSummary)> = runs
        .iter()
        .map(|(name, eps)| (name.as_str(), LapSummary::of(eps)))
        .collect();
    if args.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|(name, s)| serde_json::json!({"run": name, "summary": s}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&rows);
    }
    if let Some(out) = &args.out {
        let curves: Vec<(&str, &[chicane_agent::EpisodeRecord])> = runs
            .iter()
            .map(|(name, eps)| (name.as_str(), eps.as_slice()))
            .collect();
        plot_lap_time_comparison(&curves, out)?;
        eprintln!("lap times against training time: {}", out.display());
    }
    Ok(())
}

fn print_table(rows: &[(&str, LapSummary)]) {
    let secs = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |t| format!("{t:.2} s"));
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(3).max(3);
    println!(
        "{:<width$}  {:>8}  {:>8}  {:>7}  {:>10}  {:>9}  {:>14}",
        "run",
        "minutes",
        "episodes",
        "laps",
        "first lap",
        "best lap",
        format!("last {} laps", LapSummary::LAST_LAPS),
    );
    for (name, s) in rows {
        println!(
            "{:<width$}  {:>8.1}  {:>8}  {:>7}  {:>10}  {:>9}  {:>14}",
            name,
            s.elapsed_s / 60.0,
            s.episodes,
            s.laps,
            s.first_lap_at_s
                .map_or_else(|| "-".to_string(), |t| format!("{:.1} min", t / 60.0)),
            secs(s.best_lap_s),
            secs(s.last_laps_mean_s),
        );
    }
}
