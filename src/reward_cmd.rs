//! `chicane reward check`: try a reward function before training with it.

use anyhow::{Context, Result, bail};
use chicane_core::ActionSpace;
use chicane_reward::load_reward;
use chicane_sim::{Driver, PurePursuit, RaceEnv, RandomDriver, ResetOptions, SimConfig};
use chicane_tracks::save_png;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// The `reward` subcommands.
#[derive(Debug, Subcommand)]
pub enum RewardCommand {
    /// Compile a reward function, run it along a pure-pursuit lap and random
    /// drives, print statistics and draw a heat map of it over the track.
    Check(CheckArgs),
}

/// Arguments of `chicane reward check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The reward function: a .rhai script, or a DeepRacer .py (with `--features python`).
    file: PathBuf,
    /// Track to drive.
    #[arg(long, default_value = chicane_tracks::DEFAULT_TRACK)]
    track: String,
    /// Random-driver episodes to run.
    #[arg(long, default_value_t = 5)]
    episodes: u32,
    /// Speed (m/s) assumed for the heat map.
    #[arg(long, default_value_t = 2.0)]
    speed: f64,
    /// Where to write the heat map PNG.
    #[arg(long, default_value = "reward_heatmap.png")]
    out: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Statistics of rewards.
#[derive(Debug, Serialize, Default)]
pub struct Stats {
    steps: usize,
    total: f64,
    mean: f64,
    std: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(v: &[f64]) -> Stats {
        if v.is_empty() {
            return Stats::default();
        }
        let total: f64 = v.iter().sum();
        let mean = total / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        Stats {
            steps: v.len(),
            total,
            mean,
            std: var.sqrt(),
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// What `reward check` reports.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    reward_function: String,
    track: String,
    pure_pursuit_lap: Stats,
    pure_pursuit_status: String,
    random_drives: Stats,
    heat_map: String,
    heat_map_range: [f64; 2],
}

/// Runs a `reward` subcommand.
pub fn run(cmd: RewardCommand) -> Result<()> {
    match cmd {
        RewardCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> Result<()> {
    if !(args.speed.is_finite() && (0.1..=4.0).contains(&args.speed)) {
        bail!("--speed {}: give a speed within 0.1..4 m/s", args.speed);
    }
    let reward = load_reward(&args.file)?;
    let name = reward.name().to_string();
    let track = Arc::new(chicane_tracks::load(&args.track)?);
    let cfg = SimConfig::params_only();
    let space = ActionSpace::full_continuous();
    let mut env = RaceEnv::new(cfg, Arc::clone(&track), space, reward)?;

    let mut driver = PurePursuit::default();
    let (_, mut info) = env.reset(Some(0), ResetOptions::default())?;
    let mut lap = Vec::new();
    let status = loop {
        let a = driver.act(&env, &info);
        let t = env
            .step(&a)
            .context("the reward function failed along the pure-pursuit lap")?;
        lap.push(t.reward);
        if t.terminated || t.truncated {
            break t.info.episode_status.as_str().to_string();
        }
        info = t.info;
    };
    let mut random = Vec::new();
    let mut rd = RandomDriver::new(1);
    for ep in 0..args.episodes {
        let (_, mut info) = env.reset(Some(100 + ep as u64), ResetOptions::default())?;
        loop {
            let a = rd.act(&env, &info);
            let t = env
                .step(&a)
                .context("the reward function failed on a random drive")?;
            random.push(t.reward);
            if t.terminated || t.truncated {
                break;
            }
            info = t.info;
        }
    }

    // heat map: the reward of a car standing on each 1.25 cm of road, facing
    // along the track, at `--speed`, steering straight (a second instance of
    // the function, so the env keeps its own)
    let map = chicane_sim::reward_heat_map(&track, load_reward(&args.file)?, args.speed, 80.0)?;
    let (img, lo, hi) = (map.image, map.low, map.high);
    save_png(&img, &args.out)?;

    let report = CheckReport {
        reward_function: name,
        track: track.name().to_string(),
        pure_pursuit_lap: Stats::of(&lap),
        pure_pursuit_status: status,
        random_drives: Stats::of(&random),
        heat_map: args.out.display().to_string(),
        heat_map_range: [lo, hi],
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} on {}: compiles and runs",
            report.reward_function, report.track
        );
        for (label, s) in [
            ("pure-pursuit lap", &report.pure_pursuit_lap),
            ("random drives", &report.random_drives),
        ] {
            println!(
                "  {label:<17} {:>5} steps  total {:>9.3}  mean {:>8.4}  std {:>8.4}  min {:>8.4}  max {:>8.4}",
                s.steps, s.total, s.mean, s.std, s.min, s.max
            );
        }
        println!("  lap ended        {}", report.pure_pursuit_status);
        println!(
            "  heat map         {} (blue {:.4} .. red {:.4}, at {} m/s facing along the track)",
            report.heat_map, lo, hi, args.speed
        );
    }
    Ok(())
}
