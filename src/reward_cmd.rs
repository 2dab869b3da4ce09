//! `chicane reward check`: try a reward function before training with it.

use anyhow::{Context, Result, bail};
use chicane_core::{ActionSpace, Vec2};
use chicane_reward::load_reward;
use chicane_sim::{Driver, PurePursuit, RaceEnv, RandomDriver, ResetOptions, SimConfig};
use chicane_tracks::{RenderOptions, pixel_frame, ramp_color, render_top_down, save_png};
use clap::{Args, Subcommand};
use image::Rgb;
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
    let cfg = SimConfig {
        camera: None,
        lidar: Some(chicane_core::LidarConfig {
            beams: 1,
            ..Default::default()
        }),
        ..SimConfig::default()
    };
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
    // along the track, at `--speed`, steering straight
    env.reset(Some(0), ResetOptions::default())?;
    let opts = RenderOptions {
        pixels_per_meter: 80.0,
        ..RenderOptions::default()
    };
    let (frame, w, h) = pixel_frame(&track, &opts);
    let mut img = render_top_down(&track, &opts);
    let sign = if env.track().start().direction == chicane_tracks::Direction::Reverse {
        -1.0
    } else {
        1.0
    };
    let mut values: Vec<(u32, u32, f64)> = Vec::new();
    // a second instance of the function for the map, so the env keeps its own
    let mut map_reward = load_reward(&args.file)?;
    for y in 0..h.min(img.height()) {
        for x in 0..w.min(img.width()) {
            let p: Vec2 = frame.to_world(x, y);
            let f = track.to_frenet(p);
            if f.d > track.left_width_at(f.s) + 0.05 || -f.d > track.right_width_at(f.s) + 0.05 {
                continue;
            }
            let yaw = track.heading_at(f.s)
                + if sign < 0.0 {
                    std::f64::consts::PI
                } else {
                    0.0
                };
            let params = env.params_at(p, yaw, (0.0, args.speed));
            let r = map_reward
                .reward(&params)
                .and_then(|v| chicane_reward::check_reward(map_reward.name(), v))
                .with_context(|| {
                    format!(
                        "the reward function failed in the heat map at x={:.2}, y={:.2}",
                        p.x, p.y
                    )
                })?;
            values.push((x, y, r));
        }
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v.2), b.max(v.2))
        });
    for &(x, y, r) in &values {
        let t = if hi > lo { (r - lo) / (hi - lo) } else { 0.5 };
        let c = ramp_color(t);
        let base = img.get_pixel(x, y).0;
        let mix = |a: u8, b: u8| (0.25 * a as f64 + 0.75 * b as f64) as u8;
        img.put_pixel(
            x,
            y,
            Rgb([mix(base[0], c[0]), mix(base[1], c[1]), mix(base[2], c[2])]),
        );
    }
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
