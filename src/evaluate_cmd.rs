//! `chicane evaluate`: DeepRacer-style timed laps of a trained run.

use crate::sim_cmd::write_gif;
use crate::train_cmd::{device, resolve_run};
use anyhow::{Context, Result, bail};
use chicane_agent::{EvalOptions, EvalStep, evaluate, load_policy};
use chicane_config::RaceType;
use chicane_sim::SimTraceWriter;
use chicane_tracks::{RenderOptions, draw_polyline, pixel_frame, ramp_color, render_top_down};
use clap::Args;
use image::{Delay, Frame, RgbaImage};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

/// `chicane evaluate` flags.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The run folder (`chicane train --out`).
    pub run_dir: PathBuf,
    /// Evaluate on another track: a built-in name, a track .toml or a DeepRacer .npy.
    #[arg(long)]
    pub track: Option<String>,
    /// Laps (DeepRacer's trials).
    #[arg(long, default_value_t = 3)]
    pub laps: u32,
    /// Race type: time_trial, object_avoidance or head_to_bot [default: the run's].
    #[arg(long)]
    pub race_type: Option<String>,
    /// Time added per off-track reset, e.g. 2s, 3s.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    pub off_track_penalty: Duration,
    /// Save camera.gif (the agent's view) and top_down.gif (the trajectory) here.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Compute device (see `chicane train --help`).
    #[arg(long, default_value = "flex")]
    pub device: String,
}

/// The current UTC time as `YYYYMMDDHHMMSS`.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The `run.toml` of a training run folder.
///
/// # Errors
/// When `run_dir` holds none: it is not the `--out` folder of `chicane train`.
pub fn run_config(run_dir: &std::path::Path) -> Result<PathBuf> {
    let config = run_dir.join("run.toml");
    if !config.is_file() {
        bail!(
            "{}: not a chicane run folder (no run.toml); give the --out folder of `chicane train`",
            run_dir.display()
        );
    }
    Ok(config)
}

/// Runs `chicane evaluate`.
pub fn run(args: EvaluateArgs) -> Result<()> {
    let config = run_config(&args.run_dir)?;
    let mut run = resolve_run(Some(&config), args.track.as_deref(), None)?;
    if let Some(rt) = &args.race_type {
        let rt: RaceType =
            serde_json::from_value(serde_json::Value::String(rt.clone())).map_err(|_| {
                anyhow::anyhow!("--race-type {rt}: use time_trial, object_avoidance or head_to_bot")
            })?;
        match rt {
            RaceType::TimeTrial => {
                run.sim.obstacles.number_of_obstacles = 0;
                run.sim.bots.number_of_bot_cars = 0;
            }
            RaceType::ObjectAvoidance if run.sim.obstacles.number_of_obstacles == 0 => {
                run.sim.obstacles.number_of_obstacles = 3;
            }
            RaceType::HeadToBot if run.sim.bots.number_of_bot_cars == 0 => {
                run.sim.bots.number_of_bot_cars = 3;
            }
            _ => {}
        }
        run.race_type = rt;
    }
    let dev = device(&args.device)?;
    let policy = load_policy(&args.run_dir, &run, &dev)?;
    let opts = EvalOptions {
        laps: args.laps,
        off_track_penalty_s: args.off_track_penalty.as_secs_f64(),
        ..EvalOptions::default()
    };
    // DeepRacer-for-Cloud's layout: evaluation-YYYYMMDDHHMMSS/evaluation-simtrace/
    let out = args.run_dir.join(format!("evaluation-{}", utc_stamp()));
    let trace_dir = out.join("evaluation-simtrace");
    std::fs::create_dir_all(&trace_dir)
        .with_context(|| format!("cannot create {}", trace_dir.display()))?;
    let trace_path = trace_dir.join("0-iteration.csv");
    let file: Box<dyn Write> = Box::new(BufWriter::new(
        File::create(&trace_path)
            .with_context(|| format!("cannot create {}", trace_path.display()))?,
    ));
    let mut trace = SimTraceWriter::new(file)
        .with_context(|| format!("cannot write {}", trace_path.display()))?;
    let cam = run.sim.camera.clone();
    let mut camera_frames: Vec<Frame> = Vec::new();
    let mut path = Vec::new();
    let mut speeds = Vec::new();
    let recording = args.record.is_some();
    let mut on_step = |s: EvalStep<'_>| {
        if !recording {
            return;
        }
        path.push(s.info.car.position);
        speeds.push(s.info.car.speed);
        if let Some(c) = &cam {
            let (w, h) = (c.width, c.height);
            let n = (w * h) as usize;
            if s.camera.len() >= n {
                let px = &s.camera[..n];
                let rgba = RgbaImage::from_fn(w, h, |x, y| {
                    let v = px[(y * w + x) as usize];
                    image::Rgba([v, v, v, 255])
                });
                camera_frames.push(Frame::from_parts(
                    rgba,
                    0,
                    0,
                    Delay::from_numer_denom_ms(1000, 15),
                ));
            }
        }
    };
    let report = evaluate(&policy, &run, &opts, Some(&mut trace), &mut on_step)?;
    trace
        .finish()
        .with_context(|| format!("cannot write {}", trace_path.display()))?;
    let metrics_path = out.join("evaluation-metrics.json");
    std::fs::write(&metrics_path, report.deepracer_metrics_json().to_string())
        .with_context(|| format!("cannot write {}", metrics_path.display()))?;
    let report_path = out.join("report.json");
    std::fs::write(&report_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", report_path.display()))?;
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        if !camera_frames.is_empty() {
            write_gif(&dir.join("camera.gif"), camera_frames)?;
        }
        // top-down: the trajectory drawn progressively, 5 frames per second
        let ropts = RenderOptions {
            max_size: 480,
            ..RenderOptions::default()
        };
        let (frame, _, _) = pixel_frame(&run.track, &ropts);
        let base = render_top_down(&run.track, &ropts);
        let max_speed = speeds.iter().copied().fold(0.1, f64::max);
        let colors: Vec<[u8; 3]> = speeds.iter().map(|v| ramp_color(v / max_speed)).collect();
        let mut frames = Vec::new();
        let mut img = base.clone();
        let stride = 8;
        let mut drawn = 0usize;
        while drawn + 1 < path.len() {
            let end = (drawn + stride).min(path.len() - 1);
            draw_polyline(
                &mut img,
                &frame,
                &path[drawn..=end],
                &colors[drawn..=end],
                3.0,
            );
            drawn = end;
            let rgba = image::DynamicImage::ImageRgb8(img.clone()).to_rgba8();
            frames.push(Frame::from_parts(
                rgba,
                0,
                0,
                Delay::from_numer_denom_ms(200, 1),
            ));
        }
        write_gif(&dir.join("top_down.gif"), frames)?;
    }
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("output_dir".into(), out.display().to_string().into());
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} on {}:", report.checkpoint, report.track);
        for l in &report.laps {
            println!(
                "  lap {}: {:>8}  progress {:5.1}%  off track {}  crashed {}  reversed {}  immobilized {}  ({})",
                l.trial,
                l.lap_time_s.map_or("-".into(), |t| format!("{t:.2} s")),
                l.progress,
                l.off_track_count,
                l.crash_count,
                l.reversed_count,
                l.immobilized_count,
                l.episode_status
            );
        }
        println!(
            "  {} of {} laps completed; best {}; mean {}",
            report.laps_completed,
            report.laps.len(),
            report
                .best_lap_s
                .map_or("-".into(), |t| format!("{t:.2} s")),
            report
                .mean_lap_s
                .map_or("-".into(), |t| format!("{t:.2} s"))
        );
        println!(
            "  wrote {} and {}",
            metrics_path.display(),
            trace_path.display()
        );
        if let Some(dir) = &args.record {
            println!("  recorded {} (camera.gif, top_down.gif)", dir.display());
        }
    }
    Ok(())
}
