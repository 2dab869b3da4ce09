//! `chicane track ...`: list, show, import, render and generate tracks.

use anyhow::{Context, Result, bail};
use chicane_tracks::{
    GenerateParams, RenderOptions, Track, builtin_names, load, render_top_down, save_png, to_toml,
};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The `track` subcommands.
#[derive(Debug, Subcommand)]
pub enum TrackCommand {
    /// List the built-in tracks with their length and width.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show a track's geometry: length, width, waypoints, radius, start.
    Show {
        /// A built-in name, a chicane .toml track or a DeepRacer .npy file.
        #[arg(default_value = chicane_tracks::DEFAULT_TRACK)]
        track: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Convert a DeepRacer .npy track into a chicane .toml track.
    Import {
        /// The DeepRacer track file (float64 (N, 6) rows).
        file: PathBuf,
        /// Where to write the .toml track.
        #[arg(long)]
        out: PathBuf,
        /// Track name (default: the file name without extension).
        #[arg(long)]
        name: Option<String>,
    },
    /// Draw a top-down PNG picture of a track.
    Render(RenderArgs),
    /// Make a random closed track and write it as a .toml track.
    Generate(GenerateArgs),
    /// The minimum-lap-time racing line for the car, its speeds and lap time.
    Raceline(crate::raceline_cmd::RacelineArgs),
}

/// Arguments of `chicane track render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A built-in name, a chicane .toml track or a DeepRacer .npy file.
    track: String,
    /// The PNG file to write.
    #[arg(long)]
    out: PathBuf,
    /// Number the waypoints (the indices of DeepRacer's closest_waypoints).
    #[arg(long)]
    waypoints: bool,
    /// Picture scale in pixels per metre.
    #[arg(long, default_value_t = 100.0)]
    scale: f64,
}

/// Arguments of `chicane track generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Random seed: the same seed and limits give the same track.
    #[arg(long)]
    seed: u64,
    /// Where to write the .toml track.
    #[arg(long)]
    out: PathBuf,
    /// Centerline length (m).
    #[arg(long, default_value_t = GenerateParams::default().length)]
    length: f64,
    /// Track width, border to border (m).
    #[arg(long, default_value_t = GenerateParams::default().width)]
    width: f64,
    /// Smallest radius of curvature of the centerline (m).
    #[arg(long, default_value_t = GenerateParams::default().min_radius)]
    min_radius: f64,
    /// How wiggly the loop is, 0 (a circle) to 1.
    #[arg(long, default_value_t = GenerateParams::default().roughness)]
    roughness: f64,
    /// Also draw the track to this PNG file.
    #[arg(long)]
    png: Option<PathBuf>,
}

/// What `track list --json` prints per track.
#[derive(Debug, Serialize)]
struct ListEntry {
    name: String,
    description: String,
    length_m: f64,
    width_m: f64,
}

/// What `track show --json` prints.
#[derive(Debug, Serialize)]
struct ShowSummary {
    name: String,
    description: String,
    closed: bool,
    length_m: f64,
    width_min_m: f64,
    width_max_m: f64,
    waypoints: usize,
    mean_spacing_m: f64,
    min_radius_m: Option<f64>,
    bounds_min_m: [f64; 2],
    bounds_max_m: [f64; 2],
    start_s_m: f64,
    start_direction: String,
}

impl ShowSummary {
    fn of(track: &Track) -> Self {
        let (wmin, wmax) = track.width_range();
        let (lo, hi) = track.bounds();
        let segments = if track.is_closed() {
            track.num_waypoints()
        } else {
            track.num_waypoints() - 1
        };
        let r = track.min_radius();
        let start = track.start();
        ShowSummary {
            name: track.name().to_string(),
            description: track.description().to_string(),
            closed: track.is_closed(),
            length_m: track.length(),
            width_min_m: wmin,
            width_max_m: wmax,
            waypoints: track.num_waypoints(),
            mean_spacing_m: track.length() / segments as f64,
            min_radius_m: r.is_finite().then_some(r),
            bounds_min_m: [lo.x, lo.y],
            bounds_max_m: [hi.x, hi.y],
            start_s_m: start.s,
            start_direction: format!("{:?}", start.direction).to_lowercase(),
        }
    }
}

/// Runs a `track` subcommand.
pub fn run(cmd: TrackCommand) -> Result<()> {
    match cmd {
        TrackCommand::List { json } => list(json),
        TrackCommand::Show { track, json } => show(&track, json),
        TrackCommand::Import { file, out, name } => import(&file, &out, name),
        TrackCommand::Render(args) => render(args),
        TrackCommand::Generate(args) => generate(args),
        TrackCommand::Raceline(args) => crate::raceline_cmd::run(args),
    }
}

fn list(json: bool) -> Result<()> {
    let mut entries = Vec::new();
    for name in builtin_names() {
        let track = load(name)?;
        let (wmin, _) = track.width_range();
        entries.push(ListEntry {
            name: name.to_string(),
            description: track.description().to_string(),
            length_m: track.length(),
            width_m: wmin,
        });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        println!("{:<16} {:>9} {:>8}  description", "name", "length", "width");
        for e in entries {
            println!(
                "{:<16} {:>7.2} m {:>6.3} m  {}",
                e.name, e.length_m, e.width_m, e.description
            );
        }
    }
    Ok(())
}

fn show(spec: &str, json: bool) -> Result<()> {
    let track = load(spec)?;
    let s = ShowSummary::of(&track);
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("{}: {}", s.name, s.description);
    println!(
        "  shape       {}",
        if s.closed {
            "closed loop"
        } else {
            "open strip"
        }
    );
    println!("  length      {:.3} m", s.length_m);
    if (s.width_max_m - s.width_min_m) < 5e-4 {
        println!("  width       {:.3} m", s.width_min_m);
    } else {
        println!(
            "  width       {:.3} to {:.3} m",
            s.width_min_m, s.width_max_m
        );
    }
    println!(
        "  waypoints   {} (mean spacing {:.3} m)",
        s.waypoints, s.mean_spacing_m
    );
    match s.min_radius_m {
        Some(r) => println!("  min radius  {r:.3} m"),
        None => println!("  min radius  none (straight)"),
    }
    println!(
        "  extent      {:.2} x {:.2} m (x {:.2}..{:.2}, y {:.2}..{:.2})",
        s.bounds_max_m[0] - s.bounds_min_m[0],
        s.bounds_max_m[1] - s.bounds_min_m[1],
        s.bounds_min_m[0],
        s.bounds_max_m[0],
        s.bounds_min_m[1],
        s.bounds_max_m[1]
    );
    println!(
        "  start       s = {:.3} m, driving {}",
        s.start_s_m, s.start_direction
    );
    Ok(())
}

/// Writes `text` to `path` atomically: a temporary file beside it, then a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{}: the folder {} does not exist; create it first",
            path.display(),
            dir.display()
        );
    }
    let file_name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp", file_name.to_string_lossy()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

fn import(file: &Path, out: &Path, name: Option<String>) -> Result<()> {
    let mut track = chicane_tracks::load_file(file)?;
    if let Some(name) = name {
        track.set_name(name);
    }
    write_atomic(out, to_toml(&track).as_bytes())?;
    println!(
        "imported {} ({:.3} m, {} waypoints, {}) -> {}",
        file.display(),
        track.length(),
        track.num_waypoints(),
        if track.is_closed() { "closed" } else { "open" },
        out.display()
    );
    Ok(())
}

fn render(args: RenderArgs) -> Result<()> {
    if !(args.scale.is_finite() && args.scale > 0.0) {
        bail!(
            "--scale {}: give a positive number of pixels per metre, such as 100",
            args.scale
        );
    }
    let track = load(&args.track)?;
    let opts = RenderOptions {
        pixels_per_meter: args.scale,
        waypoint_numbers: args.waypoints,
        ..Default::default()
    };
    let img = render_top_down(&track, &opts);
    save_png(&img, &args.out)?;
    println!(
        "rendered {} ({}x{} px) -> {}",
        track.name(),
        img.width(),
        img.height(),
        args.out.display()
    );
    Ok(())
}

fn generate(args: GenerateArgs) -> Result<()> {
    let params = GenerateParams {
        length: args.length,
        width: args.width,
        min_radius: args.min_radius,
        roughness: args.roughness,
        ..Default::default()
    };
    let track = Track::generate(args.seed, &params)?;
    write_atomic(&args.out, to_toml(&track).as_bytes())?;
    println!(
        "generated {} ({:.2} m, min radius {:.2} m) -> {}",
        track.name(),
        track.length(),
        track.min_radius(),
        args.out.display()
    );
    if let Some(png) = args.png {
        save_png(&render_top_down(&track, &RenderOptions::default()), &png)?;
        println!("rendered -> {}", png.display());
    }
    Ok(())
}
