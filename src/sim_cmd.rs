//! `chicane sim drive`: drive a track with a scripted driver, record what
//! the camera saw, write a DeepRacer sim-trace, summarise.

use anyhow::{Context, Result, bail};
use chicane_core::{ActionSpace, Vec2};
use chicane_reward::FollowCenterLine;
use chicane_sim::{
    Driver, EpisodeStatus, PurePursuit, RaceEnv, RacingLineDriver, RandomDriver, ResetOptions,
    SimConfig, SimTraceWriter,
};
use chicane_tracks::{
    RenderOptions, draw_polyline, pixel_frame, ramp_color, render_top_down, save_png,
};
use clap::{Args, Subcommand, ValueEnum};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};
use serde::Serialize;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `sim` subcommands.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Drive a track with a scripted driver; record frames, a sim-trace and a summary.
    Drive(DriveArgs),
    /// Serve the simulator to `chicane-car run --camera sim@HOST:PORT` (one session).
    Serve(crate::sim_serve::ServeArgs),
}

/// Which scripted driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverKind {
    /// Follows the centerline (the physics check and each track's reference lap).
    PurePursuit,
    /// Uniformly random actions.
    Random,
    /// Follows the racing line (`chicane track raceline`) at its speeds:
    /// the reference lap near the car's limit.
    RacingLine,
}

/// Arguments of `chicane sim drive`.
#[derive(Debug, Args)]
pub struct DriveArgs {
    /// A built-in track name, a chicane .toml track or a DeepRacer .npy file.
    #[arg(long, default_value = chicane_tracks::DEFAULT_TRACK)]
    track: String,
    /// The driver.
    #[arg(long, value_enum, default_value_t = DriverKind::PurePursuit)]
    driver: DriverKind,
    /// Random seed (start randomisation, random driver).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop after this many steps in all (15 steps = 1 s).
    #[arg(long, default_value_t = 4500)]
    steps: u64,
    /// Stop after completing this many laps.
    #[arg(long, default_value_t = 1)]
    laps: u32,
    /// Save camera frames (PNG), an animated GIF and a top-down PNG of the path here.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Write a DeepRacer-format sim-trace CSV here.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// The racing line's clearance between the wheels and the borders (m),
    /// for `--driver racing-line` (as `chicane track raceline --margin`).
    #[arg(long, default_value_t = 0.1)]
    margin: f64,
    /// Drive the track the other way.
    #[arg(long)]
    reverse: bool,
    /// A run file whose [sim] (car, physics, camera) to drive with
    /// [default: the built-in simulator config].
    #[arg(long)]
    config: Option<PathBuf>,
}

/// What `sim drive` reports.
#[derive(Debug, Serialize)]
pub struct DriveSummary {
    track: String,
    driver: String,
    steps: u64,
    episodes: u64,
    laps_completed: u32,
    lap_times_s: Vec<f64>,
    off_track_count: u32,
    crash_count: u32,
    reversed_count: u32,
    immobilized_count: u32,
    final_episode_status: String,
    mean_speed_mps: f64,
    /// Steps with a wheel off the track.
    steps_not_all_wheels_on_track: u64,
    /// The racing line's predicted lap time (s), for `--driver racing-line`.
    predicted_lap_s: Option<f64>,
}

/// Runs a `sim` subcommand.
pub fn run(cmd: SimCommand) -> Result<()> {
    match cmd {
        SimCommand::Drive(args) => drive(args),
        SimCommand::Serve(args) => crate::sim_serve::serve(args),
    }
}

fn drive(args: DriveArgs) -> Result<()> {
    if args.laps == 0 || args.steps == 0 {
        bail!("--laps and --steps must be at least 1");
    }
    let track = Arc::new(chicane_tracks::load(&args.track)?);
    let mut cfg = match &args.config {
        Some(p) => chicane_config::load_run(Some(p))?.sim,
        None => SimConfig::default(),
    };
    cfg.episode.laps = args.laps;
    if args.reverse {
        cfg.start.direction = Some(track.start().direction.flipped());
    }
    let camera = cfg
        .camera
        .clone()
        .context("the default config has a camera")?;
    let space = ActionSpace::full_continuous();
    let vehicle = cfg.vehicle.clone();
    let mut env = RaceEnv::new(cfg, Arc::clone(&track), space, Box::new(FollowCenterLine))?;
    let mut predicted_lap_s = None;
    let mut driver: Box<dyn Driver> = match args.driver {
        DriverKind::PurePursuit => Box::new(PurePursuit::default()),
        DriverKind::Random => Box::new(RandomDriver::new(args.seed)),
        DriverKind::RacingLine => {
            let line =
                crate::raceline_cmd::compute(&track, &vehicle, args.margin, 0.1, args.reverse)?;
            predicted_lap_s = Some(line.lap_time);
            Box::new(RacingLineDriver::new(&line))
        }
    };
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the record folder {}", dir.display()))?;
    }
    let mut trace = match &args.trace {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the sim-trace {}", path.display()))?;
            Some(
                SimTraceWriter::new(BufWriter::new(file))
                    .with_context(|| format!("cannot write {}", path.display()))?,
            )
        }
        None => None,
    };
    let mut gif_frames: Vec<Frame> = Vec::new();
    let mut path: Vec<Vec2> = Vec::new();
    let mut speeds: Vec<f64> = Vec::new();
    let (_, mut info) = env.reset(Some(args.seed), ResetOptions::default())?;
    let mut summary = DriveSummary {
        track: track.name().to_string(),
        driver: format!("{:?}", args.driver),
        steps: 0,
        episodes: 1,
        laps_completed: 0,
        lap_times_s: Vec::new(),
        off_track_count: 0,
        crash_count: 0,
        reversed_count: 0,
        immobilized_count: 0,
        final_episode_status: info.episode_status.as_str().to_string(),
        mean_speed_mps: 0.0,
        steps_not_all_wheels_on_track: 0,
        predicted_lap_s,
    };
    let (w, h) = (camera.width, camera.height);
    while summary.steps < args.steps {
        let action = driver.act(&env, &info);
        let t = env.step(&action)?;
        summary.steps += 1;
        if !t.info.params.all_wheels_on_track {
            summary.steps_not_all_wheels_on_track += 1;
        }
        path.push(t.info.car.position);
        speeds.push(t.info.car.speed);
        if let Some(tr) = trace.as_mut() {
            tr.write(
                &t.info,
                Some(&action),
                t.reward,
                t.terminated || t.truncated,
            )?;
        }
        if let Some(dir) = &args.record {
            // the first lens's frame, channel-planar: grey or RGB
            let rgba = camera_rgba(&t.observation.camera, w, h, camera.rgb)
                .context("camera frame size")?;
            let file = dir.join(format!("frame_{:05}.png", summary.steps));
            let saved = if camera.rgb {
                image::DynamicImage::ImageRgba8(rgba.clone())
                    .to_rgb8()
                    .save(&file)
            } else {
                image::DynamicImage::ImageRgba8(rgba.clone())
                    .to_luma8()
                    .save(&file)
            };
            saved.with_context(|| format!("cannot write {}", file.display()))?;
            gif_frames.push(Frame::from_parts(
                rgba,
                0,
                0,
                Delay::from_numer_denom_ms(1000, 15),
            ));
        }
        summary.final_episode_status = t.info.episode_status.as_str().to_string();
        if t.terminated || t.truncated {
            match t.info.episode_status {
                EpisodeStatus::LapComplete => {
                    summary.laps_completed += t.info.laps;
                    summary.lap_times_s.extend(&t.info.lap_times);
                }
                EpisodeStatus::OffTrack => summary.off_track_count += 1,
                EpisodeStatus::Crashed => summary.crash_count += 1,
                EpisodeStatus::Reversed => summary.reversed_count += 1,
                EpisodeStatus::Immobilized => summary.immobilized_count += 1,
                _ => {}
            }
            if summary.laps_completed >= args.laps || summary.steps >= args.steps {
                break;
            }
            summary.episodes += 1;
            info = env.reset(None, ResetOptions::default())?.1;
        } else {
            info = t.info;
        }
    }
    summary.mean_speed_mps = speeds.iter().sum::<f64>() / speeds.len().max(1) as f64;
    if let Some(tr) = trace {
        tr.finish().context("cannot finish the sim-trace")?;
    }
    if let Some(dir) = &args.record {
        write_gif(&dir.join("camera.gif"), gif_frames)?;
        let opts = RenderOptions::default();
        let (frame, _, _) = pixel_frame(&track, &opts);
        let mut img = render_top_down(&track, &opts);
        let max_speed = speeds.iter().copied().fold(0.1, f64::max);
        let colors: Vec<[u8; 3]> = speeds.iter().map(|v| ramp_color(v / max_speed)).collect();
        draw_polyline(&mut img, &frame, &path, &colors, 3.0);
        save_png(&img, &dir.join("top_down.png"))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} with {}: {} steps, {} episode(s)",
            summary.track, summary.driver, summary.steps, summary.episodes
        );
        let times: Vec<String> = summary
            .lap_times_s
            .iter()
            .map(|t| format!("{t:.2} s"))
            .collect();
        println!(
            "  laps completed  {} [{}]",
            summary.laps_completed,
            times.join(", ")
        );
        println!(
            "  off track {}, crashed {}, reversed {}, immobilized {}",
            summary.off_track_count,
            summary.crash_count,
            summary.reversed_count,
            summary.immobilized_count
        );
        println!("  mean speed      {:.2} m/s", summary.mean_speed_mps);
        println!(
            "  wheels off      {} steps with a wheel off the track",
            summary.steps_not_all_wheels_on_track
        );
        if let Some(p) = summary.predicted_lap_s {
            let gap = summary
                .lap_times_s
                .first()
                .map_or("-".into(), |t| format!("{:+.1}%", 100.0 * (t / p - 1.0)));
            println!("  predicted lap   {p:.2} s (racing line; driven {gap})");
        }
        println!("  final status    {}", summary.final_episode_status);
        if let Some(dir) = &args.record {
            println!(
                "  recorded        {} (frame_*.png, camera.gif, top_down.png)",
                dir.display()
            );
        }
        if let Some(t) = &args.trace {
            println!("  sim-trace       {}", t.display());
        }
    }
    Ok(())
}

/// Writes `frames` as a looping GIF.
pub fn write_gif(path: &Path, frames: Vec<Frame>) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = GifEncoder::new_with_speed(BufWriter::new(file), 10);
    encoder
        .set_repeat(Repeat::Infinite)
        .with_context(|| format!("cannot write {}", path.display()))?;
    encoder
        .encode_frames(frames)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The first lens's camera frame (`[C, H, W]` planar u8, `C` 3 with `rgb`,
/// else 1) as an RGBA picture; `None` when `frame` is too short.
fn camera_rgba(frame: &[u8], w: u32, h: u32, rgb: bool) -> Option<RgbaImage> {
    let plane = (w * h) as usize;
    let channels = if rgb { 3 } else { 1 };
    let frame = frame.get(..plane * channels)?;
    Some(RgbaImage::from_fn(w, h, |x, y| {
        let i = (y * w + x) as usize;
        let at = |c: usize| frame[(c % channels) * plane + i];
        image::Rgba([at(0), at(1), at(2), 255])
    }))
}
