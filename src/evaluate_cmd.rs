//! `chicane evaluate`: DeepRacer-style timed laps of a trained run.

use crate::sim_cmd::write_gif;
use anyhow::{Context, Result};
use chicane_agent::{EvalRequest, EvalStep};
use chicane_tracks::{RenderOptions, draw_polyline, pixel_frame, ramp_color, render_top_down};
use clap::Args;
use image::{Delay, Frame, RgbaImage};
use std::path::PathBuf;

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
    /// Time added per off-track reset, e.g. 2s, 3s [default: 2s].
    #[arg(long)]
    pub off_track_penalty: Option<String>,
    /// Save camera.gif (the agent's view) and top_down.gif (the trajectory) here.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Compute device (see `chicane train --help`) [default: cpu].
    #[arg(long)]
    pub device: Option<String>,
    /// Evaluate across a grid of conditions instead (a TOML file: tracks,
    /// directions, draws, laps, randomisation); writes conditions.json,
    /// .csv and .png into a conditions-* folder of the run.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["track", "record"])]
    pub conditions: Option<PathBuf>,
    /// Serve the live viewer (the camera, the top-down view, lap charts) at
    /// PORT or HOST:PORT; a port alone binds 127.0.0.1. The laps then run
    /// in real time (one action per 1/action_hz s), to be watched.
    #[arg(long, value_name = "[HOST:]PORT", conflicts_with = "conditions")]
    pub viewer: Option<String>,
}

/// Runs `chicane evaluate`.
pub fn run(args: EvaluateArgs) -> Result<()> {
    let viewer_addr = args
        .viewer
        .as_deref()
        .map(str::parse::<chicane_viewer::ViewerAddr>)
        .transpose()?;
    let plan = EvalRequest {
        run_dir: args.run_dir.clone(),
        track: args.track.clone(),
        race_type: args.race_type.clone(),
        laps: args.laps,
        off_track_penalty: args.off_track_penalty.clone(),
        device: args.device.clone(),
    }
    .resolve()?;
    if let Some(file) = &args.conditions {
        let grid = chicane_agent::ConditionsFile::load(file)?;
        let done = chicane_agent::evaluate_conditions(&plan, &grid, &mut |c| {
            if !args.json {
                eprintln!(
                    "  {:<22} {:<8} clean {}/{}  completed {}  progress {:5.1}%  lap {}  reference {}",
                    c.track,
                    format!("{:?}", c.direction).to_lowercase(),
                    c.clean,
                    c.laps,
                    c.completed,
                    c.mean_progress,
                    c.mean_lap_s
                        .map_or_else(|| "-".into(), |t| format!("{t:.2} s")),
                    match (c.reference_lap_s, c.lap_ratio) {
                        (Some(r), Some(x)) => format!("{r:.2} s ({x:.2}x)"),
                        (Some(r), None) => format!("{r:.2} s"),
                        _ => "-".into(),
                    }
                );
            }
        })?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"cells": done.cells, "output_dir": done.dir})
            );
        } else {
            let clean: u32 = done.cells.iter().map(|c| c.clean).sum();
            let laps: u32 = done.cells.iter().map(|c| c.laps).sum();
            println!(
                "{clean} of {laps} laps clean; wrote {}/conditions.json, .csv and .png",
                done.dir.display()
            );
        }
        return Ok(());
    }
    let run = &plan.run;
    let cam = run.sim.camera.clone();
    let mut camera_frames: Vec<Frame> = Vec::new();
    let mut path = Vec::new();
    let mut speeds = Vec::new();
    let recording = args.record.is_some();
    let viewer = viewer_addr
        .map(|a| {
            chicane_viewer::Viewer::start(&a, chicane_viewer::ViewerSetup::for_evaluation(&plan))
        })
        .transpose()?;
    if let Some(v) = &viewer {
        eprintln!("viewer: {}", v.url());
    }
    // with a viewer the laps run in real time, to be watched
    let step_s = 1.0 / plan.run.sim.physics.action_hz;
    let mut live = viewer
        .as_ref()
        .map(|v| chicane_viewer::EvalViewer::new(v, step_s));
    let mut on_step = |s: EvalStep<'_>| {
        if let Some(l) = live.as_mut() {
            l.step(&s);
        }
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
    let done = plan.run(&mut on_step);
    if let Some(v) = &viewer {
        v.finish(&match &done {
            Ok(d) => format!(
                "{} of {} laps completed",
                d.report.laps_completed,
                d.report.laps.len()
            ),
            Err(e) => format!("failed: {e}"),
        });
    }
    let done = done?;
    let report = &done.report;
    let (metrics_path, trace_path) = (done.dir.metrics(), done.dir.simtrace());
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
        let mut v = serde_json::to_value(report)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert(
                "output_dir".into(),
                done.dir.root().display().to_string().into(),
            );
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
                l.episode_status.deepracer_label()
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
