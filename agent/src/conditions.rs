//! One model across a grid of held-out conditions (`chicane evaluate
//! --conditions FILE`): tracks, driving directions and randomisation
//! draws, each cell evaluated DeepRacer-style, summed up as a table (JSON,
//! CSV) and a picture.

use crate::error::{AgentError, io_err};
use crate::eval_request::EvalPlan;
use crate::evaluate::{EvalOptions, evaluate};
use chicane_core::{ActionSpace, LidarConfig};
use chicane_reward::FollowCenterLine;
use chicane_sim::{
    CameraRealism, DomainRandomization, PhysicsRandomization, RACING_LINE_CLEARANCE, RaceEnv,
    RacingLineDriver, Scenery, SimConfig, StartConfig, drive_reference_lap, racing_line_for,
};
use chicane_tracks::{Direction, Track};
use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A conditions file (TOML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionsFile {
    /// Tracks: built-in names, DeepRacer `.npy` or chicane `.toml` files
    /// (relative to the conditions file) or `random:seed=N`.
    pub tracks: Vec<String>,
    /// Driving directions, `forward` and/or `reverse`. Default `["forward"]`.
    #[serde(default = "forward_only")]
    pub directions: Vec<Direction>,
    /// Draws per track and direction: env seeds `0..draws`, which pick the
    /// randomisation. Default 1.
    #[serde(default = "one")]
    pub draws: u32,
    /// Laps per cell. Default 1.
    #[serde(default = "one")]
    pub laps: u32,
    /// Physics randomisation for the whole grid (default: the run's).
    pub physics_randomization: Option<PhysicsRandomization>,
    /// Camera domain randomisation for the whole grid (default: the run's).
    pub domain_randomization: Option<DomainRandomization>,
    /// Camera realism for the whole grid (default: the run's).
    pub camera_realism: Option<CameraRealism>,
    /// Scenery (walls, background objects, floor marks) for the whole
    /// grid (default: the run's).
    pub scenery: Option<Scenery>,
}

fn forward_only() -> Vec<Direction> {
    vec![Direction::Forward]
}

fn one() -> u32 {
    1
}

impl ConditionsFile {
    /// Reads `path`; track files are resolved against its folder.
    ///
    /// # Errors
    /// [`AgentError::Request`] (field `conditions`) naming the file and
    /// what is wrong: syntax, unknown keys, no tracks, zero draws or laps.
    pub fn load(path: &Path) -> Result<ConditionsFile, AgentError> {
        let bad = |problem: String| AgentError::Request {
            field: "conditions",
            problem: format!("{}: {problem}", path.display()),
        };
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let mut c: ConditionsFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if c.tracks.is_empty() || c.directions.is_empty() {
            return Err(bad("give at least one track and one direction".into()));
        }
        if c.draws == 0 || c.laps == 0 {
            return Err(bad("draws and laps must be at least 1".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for t in &mut c.tracks {
            let p = base.join(&*t);
            if chicane_tracks::builtin_source(t).is_none()
                && !t.starts_with("random:")
                && p.exists()
            {
                *t = p.display().to_string();
            }
        }
        Ok(c)
    }
}

/// One cell of the grid: a track, a direction, its draws summed up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionCell {
    /// The track's name.
    pub track: String,
    /// The driving direction.
    pub direction: Direction,
    /// Laps driven (draws x laps).
    pub laps: u32,
    /// Laps completed (off-track resets allowed, as DeepRacer counts).
    pub completed: u32,
    /// Laps completed without leaving the track.
    pub clean: u32,
    /// Mean progress per lap (%).
    pub mean_progress: f64,
    /// Mean time of the completed laps (s, off-track penalties included).
    pub mean_lap_s: Option<f64>,
    /// The racing-line reference lap of this track and direction (s): the
    /// racing-line driver (`chicane sim drive --driver racing-line`) on the
    /// full continuous range with the run's car, no randomisation. `None`
    /// when the track leaves the car no room for a racing line or the
    /// driver does not complete the lap.
    pub reference_lap_s: Option<f64>,
    /// `mean_lap_s / reference_lap_s`, when both exist.
    pub lap_ratio: Option<f64>,
}

/// The grid's results and where they were written.
#[derive(Debug, Clone)]
pub struct ConditionsReport {
    /// The cells, tracks in file order, then directions.
    pub cells: Vec<ConditionCell>,
    /// The folder: `conditions.json`, `conditions.csv`, `conditions.png`.
    pub dir: PathBuf,
}

/// Evaluates `plan`'s policy on every cell of `grid` and writes the table
/// and its picture into a new `conditions-<time>` folder of the run.
///
/// # Errors
/// A track that does not load (named), a config the grid's randomisation
/// makes invalid, env errors, or an I/O error naming the file.
pub fn evaluate_conditions(
    plan: &EvalPlan,
    grid: &ConditionsFile,
    on_cell: &mut dyn FnMut(&ConditionCell),
) -> Result<ConditionsReport, AgentError> {
    let mut cells = Vec::new();
    for spec in &grid.tracks {
        let mut run = plan.run.clone();
        run.set_track(spec).map_err(|source| AgentError::Track {
            spec: spec.clone(),
            source,
        })?;
        if let Some(p) = &grid.physics_randomization {
            run.sim.physics_randomization = p.clone();
        }
        if let Some(d) = &grid.domain_randomization {
            run.sim.domain_randomization = d.clone();
        }
        if let Some(c) = &grid.camera_realism {
            run.sim.camera_realism = c.clone();
        }
        if let Some(s) = &grid.scenery {
            run.sim.scenery = s.clone();
        }
        run.sim.validate()?;
        for &direction in &grid.directions {
            run.sim.start.direction = Some(direction);
            let reference_lap_s = reference_lap(&run.track, &run.sim, direction)?;
            let mut laps = Vec::new();
            for draw in 0..grid.draws {
                let opts = EvalOptions {
                    laps: grid.laps,
                    seed: u64::from(draw),
                    ..plan.options.clone()
                };
                let report = evaluate(&plan.policy, &run, &opts, None, &mut |_| {})?;
                laps.extend(report.laps);
            }
            let times: Vec<f64> = laps.iter().filter_map(|l| l.lap_time_s).collect();
            let cell = ConditionCell {
                track: run.track.name().to_string(),
                direction,
                laps: laps.len() as u32,
                completed: times.len() as u32,
                clean: laps
                    .iter()
                    .filter(|l| l.lap_time_s.is_some() && l.off_track_count == 0)
                    .count() as u32,
                mean_progress: laps.iter().map(|l| l.progress).sum::<f64>()
                    / laps.len().max(1) as f64,
                mean_lap_s: (!times.is_empty())
                    .then(|| times.iter().sum::<f64>() / times.len() as f64),
                reference_lap_s,
                lap_ratio: None,
            };
            let cell = ConditionCell {
                lap_ratio: cell.mean_lap_s.zip(reference_lap_s).map(|(m, r)| m / r),
                ..cell
            };
            on_cell(&cell);
            cells.push(cell);
        }
    }
    let dir = new_conditions_dir(plan.dir.root())?;
    let json = serde_json::to_string_pretty(&cells).map_err(|e| AgentError::Checkpoint {
        path: dir.join("conditions.json"),
        detail: e.to_string(),
    })?;
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(io_err(&p))
    };
    write("conditions.json", json.as_bytes())?;
    let mut csv = String::from(
        "track,direction,laps,completed,clean,mean_progress,mean_lap_s,reference_lap_s,lap_ratio\n",
    );
    let opt = |v: Option<f64>| v.map_or_else(String::new, |t| format!("{t:.3}"));
    for c in &cells {
        csv += &format!(
            "{},{},{},{},{},{:.2},{},{},{}\n",
            c.track,
            c.direction.as_str(),
            c.laps,
            c.completed,
            c.clean,
            c.mean_progress,
            opt(c.mean_lap_s),
            opt(c.reference_lap_s),
            opt(c.lap_ratio),
        );
    }
    write("conditions.csv", csv.as_bytes())?;
    let png = dir.join("conditions.png");
    table_png(&cells)
        .save(&png)
        .map_err(|e| AgentError::Checkpoint {
            path: png.clone(),
            detail: e.to_string(),
        })?;
    plan.sync()?;
    Ok(ConditionsReport { cells, dir })
}

/// Steps the reference driver gets for its lap (15 Hz: 10 minutes).
const REFERENCE_MAX_STEPS: u64 = 9_000;

/// The racing-line reference lap (s) of `track` driven in `direction`
/// with `sim`'s car: the racing line `RACING_LINE_CLEARANCE` from the
/// borders, driven by `RacingLineDriver` on the full continuous range with
/// every randomisation off and a one-beam lidar for a camera. `None` when the track has no
/// room for a racing line or the lap does not complete.
///
/// # Errors
/// An env that cannot be built or stepped.
fn reference_lap(
    track: &Arc<Track>,
    sim: &SimConfig,
    direction: Direction,
) -> Result<Option<f64>, AgentError> {
    let Ok(line) = racing_line_for(
        track,
        &sim.vehicle,
        RACING_LINE_CLEARANCE,
        0.1,
        Some(direction),
    ) else {
        return Ok(None);
    };
    let nominal = SimConfig {
        // the driver needs no pictures: one lidar beam is the cheapest sensor
        camera: None,
        lidar: Some(LidarConfig {
            beams: 1,
            ..LidarConfig::default()
        }),
        physics_randomization: PhysicsRandomization::default(),
        domain_randomization: DomainRandomization::default(),
        camera_realism: CameraRealism::default(),
        scenery: Scenery::default(),
        start: StartConfig {
            direction: Some(direction),
            ..StartConfig::default()
        },
        ..sim.clone()
    };
    let mut env = RaceEnv::new(
        nominal,
        Arc::clone(track),
        ActionSpace::full_continuous(),
        Box::new(FollowCenterLine),
    )?;
    let mut driver = RacingLineDriver::new(&line);
    Ok(drive_reference_lap(&mut env, &mut driver, 0, REFERENCE_MAX_STEPS)?.lap_time)
}

fn new_conditions_dir(root: &Path) -> Result<PathBuf, AgentError> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut dir = root.join(format!("conditions-{stamp}"));
    let mut k = 2;
    while dir.exists() {
        dir = root.join(format!("conditions-{stamp}-{k}"));
        k += 1;
    }
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    Ok(dir)
}

/// The table as a picture: one row per cell, its clean-lap rate as the
/// row's colour (red 0 % to green 100 %).
fn table_png(cells: &[ConditionCell]) -> RgbImage {
    const ROW: u32 = 22;
    let header = "track                 direction  clean/laps  completed  progress  mean lap  reference  ratio";
    let width = 12 + 8 * header.len() as u32 + 12;
    let mut img = RgbImage::from_pixel(width, ROW * (cells.len() as u32 + 2), Rgb([255, 255, 255]));
    crate::chart::text(&mut img, 12, 4, header, [20, 20, 20]);
    for (i, c) in cells.iter().enumerate() {
        let y0 = ROW * (i as u32 + 1) + 2;
        let rate = f64::from(c.clean) / f64::from(c.laps.max(1));
        let bg = [
            (255.0 - 120.0 * rate) as u8,
            (170.0 + 80.0 * rate) as u8,
            170,
        ];
        for y in y0..(y0 + ROW - 2).min(img.height()) {
            for x in 8..width - 8 {
                img.put_pixel(x, y, Rgb(bg));
            }
        }
        let line = format!(
            "{:<21} {:<10} {:>4}/{:<5} {:>9} {:>8.1}% {:>9} {:>10} {:>6}",
            c.track.chars().take(21).collect::<String>(),
            c.direction.as_str(),
            c.clean,
            c.laps,
            c.completed,
            c.mean_progress,
            c.mean_lap_s
                .map_or_else(|| "-".to_string(), |t| format!("{t:.2} s")),
            c.reference_lap_s
                .map_or_else(|| "-".to_string(), |t| format!("{t:.2} s")),
            c.lap_ratio
                .map_or_else(|| "-".to_string(), |r| format!("{r:.2}x")),
        );
        crate::chart::text(&mut img, 12, i64::from(y0) + 2, &line, [10, 10, 10]);
    }
    let clean: u32 = cells.iter().map(|c| c.clean).sum();
    let laps: u32 = cells.iter().map(|c| c.laps).sum();
    let footer = format!(
        "all: {clean}/{laps} laps clean ({:.0} %)",
        100.0 * f64::from(clean) / f64::from(laps.max(1))
    );
    crate::chart::text(
        &mut img,
        12,
        i64::from(ROW * (cells.len() as u32 + 1)) + 3,
        &footer,
        [20, 20, 20],
    );
    img
}
