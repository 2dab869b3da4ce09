//! `chicane track raceline`: the minimum-lap-time racing line of a track
//! for the calibrated car, its speed profile and predicted lap time.

use anyhow::{Context, Result, bail};
use chicane_tracks::{
    RacingLine, RenderOptions, draw_polyline, pixel_frame, ramp_color, render_top_down,
    rows_to_npy, save_png,
};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `chicane track raceline`.
#[derive(Debug, Args)]
pub struct RacelineArgs {
    /// A built-in name, a chicane .toml track or a DeepRacer .npy file.
    pub track: String,
    /// Clearance between the car's wheels and each border (m): the line
    /// keeps half the car's track width plus this from the borders.
    #[arg(long, default_value_t = 0.1)]
    pub margin: f64,
    /// Write the line: .py (`racing_line = [[x, y], ...]` for reward
    /// functions), .npy (DeepRacer's rows, the line in the centre columns)
    /// or .json (points, speeds, curvature, times); may be given several times.
    #[arg(long, value_name = "FILE")]
    pub out: Vec<PathBuf>,
    /// Draw the line coloured by speed on the track (PNG).
    #[arg(long, value_name = "FILE.png")]
    pub png: Option<PathBuf>,
    /// Drive the track the other way.
    #[arg(long)]
    pub reverse: bool,
    /// The car: a run file or custom_files folder whose [sim.vehicle] sets
    /// the limits [default: the built-in car].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Point spacing along the track (m).
    #[arg(long, default_value_t = 0.1)]
    pub spacing: f64,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The racing line of `track` for `vehicle` (see
/// [`chicane_sim::racing_line_for`]), the other way round when `reverse`.
///
/// # Errors
/// The line's error (a clearance that leaves no room is named).
pub fn compute(
    track: &chicane_tracks::Track,
    vehicle: &chicane_sim::VehicleConfig,
    clearance: f64,
    spacing: f64,
    reverse: bool,
) -> Result<RacingLine> {
    let direction = reverse.then(|| track.start().direction.flipped());
    Ok(chicane_sim::racing_line_for(
        track, vehicle, clearance, spacing, direction,
    )?)
}

fn write(line: &RacingLine, track: &chicane_tracks::Track, path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("py") => line.to_python().into_bytes(),
        Some("json") => line.to_json().into_bytes(),
        Some("npy") => rows_to_npy(&line.npy_rows(track)),
        _ => bail!(
            "--out {}: give a .py, .npy or .json file name",
            path.display()
        ),
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn draw(line: &RacingLine, track: &chicane_tracks::Track, path: &Path) -> Result<()> {
    let opts = RenderOptions::default();
    let (frame, _, _) = pixel_frame(track, &opts);
    let mut img = render_top_down(track, &opts);
    let top = line.speed.iter().copied().fold(0.1, f64::max);
    let mut pts: Vec<chicane_core::Vec2> = line.points.iter().map(|&p| p.into()).collect();
    let mut colors: Vec<[u8; 3]> = line.speed.iter().map(|v| ramp_color(v / top)).collect();
    if line.closed
        && let (Some(p), Some(c)) = (pts.first().copied(), colors.first().copied())
    {
        pts.push(p);
        colors.push(c);
    }
    draw_polyline(&mut img, &frame, &pts, &colors, 3.0);
    save_png(&img, path)?;
    Ok(())
}

/// Runs `chicane track raceline`.
pub fn run(args: RacelineArgs) -> Result<()> {
    let track =
        chicane_tracks::load(&args.track).with_context(|| format!("track {}", args.track))?;
    let run = chicane_config::load_run(args.config.as_deref())?;
    let line = compute(
        &track,
        &run.sim.vehicle,
        args.margin,
        args.spacing,
        args.reverse,
    )?;
    for p in &args.out {
        write(&line, &track, p)?;
    }
    if let Some(p) = &args.png {
        draw(&line, &track, p)?;
    }
    if args.json {
        let v = serde_json::json!({
            "track": line.track,
            "direction": line.direction,
            "closed": line.closed,
            "length_m": line.length,
            "centerline_m": track.length(),
            "margin_m": line.margin,
            "blend": line.blend,
            "limits": line.limits,
            "lap_time_s": line.lap_time,
            "flying_lap_time_s": line.flying_lap_time,
            "max_speed": line.speed.iter().copied().fold(0.0, f64::max),
            "min_speed": line.speed.iter().skip(1).copied().fold(f64::INFINITY, f64::min),
            "points": line.points.len(),
            "written": args.out.iter().chain(&args.png).map(|p| p.display().to_string()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} ({}): racing line {:.2} m (centre line {:.2} m), margin {} m, blend {}",
            line.track,
            line.direction.as_str(),
            line.length,
            track.length(),
            line.margin,
            line.blend
        );
        println!(
            "  predicted lap {:.2} s from a standing start ({:.2} s flying); speeds {:.2}..{:.2} m/s",
            line.lap_time,
            line.flying_lap_time,
            line.speed
                .iter()
                .skip(1)
                .copied()
                .fold(f64::INFINITY, f64::min),
            line.speed.iter().copied().fold(0.0, f64::max)
        );
        let l = &line.limits;
        println!(
            "  car limits: lateral {:.2} m/s^2, accel {:.2}, brake {:.2}, top speed {:.1} m/s",
            l.lateral, l.accel, l.brake, l.top_speed
        );
        for p in args.out.iter().chain(&args.png) {
            println!("  wrote {}", p.display());
        }
    }
    Ok(())
}
