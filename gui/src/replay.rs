//! Replays of sim-traces (chicane's or a DeepRacer CSV) in the 3D view: a
//! timeline scrubber and the trajectory coloured by speed or reward.

use crate::cars::ShownCars;
use crate::error::GuiError;
use crate::panel_state::UiState;
use crate::scene::world;
use crate::training::CarPose;
use crate::training::{GuiLog, Training};
use bevy::prelude::*;
use bevy_egui::egui;
use std::path::{Path, PathBuf};

/// One sim-trace row (DeepRacer's columns; yaw and steer in degrees as
/// DeepRacer writes them, converted to radians here).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// Episode number.
    pub episode: u64,
    /// Step within the episode.
    pub steps: u64,
    /// Position (m).
    pub x: f64,
    /// Position (m).
    pub y: f64,
    /// Heading (rad).
    pub yaw: f64,
    /// Steering angle (rad).
    pub steer: f64,
    /// Speed command (m/s), DeepRacer's `throttle` column.
    pub throttle: f64,
    /// Reward of the step.
    pub reward: f64,
    /// Progress (%).
    pub progress: f64,
    /// Simulation clock (s).
    pub tstamp: f64,
    /// DeepRacer's episode status.
    pub episode_status: String,
}

/// The columns a replay needs.
const NEEDED: [&str; 10] = [
    "episode", "steps", "X", "Y", "yaw", "steer", "throttle", "reward", "progress", "tstamp",
];

/// Reads a sim-trace CSV (chicane's `training-simtrace/N-iteration.csv`,
/// an evaluation trace, or DeepRacer's own files).
///
/// # Errors
/// The file and line of an unreadable file, a missing column (named) or a
/// value that is not a number.
pub fn read_sim_trace(path: &Path) -> Result<Vec<TraceRow>, GuiError> {
    let bad = |line: Option<usize>, problem: String| GuiError::Trace {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(None, e.to_string()))?;
    let headers = rdr.headers().map_err(|e| bad(None, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                bad(
                    None,
                    format!(
                        "no `{name}` column; a sim-trace has DeepRacer's header ({})",
                        chicane_sim::SIMTRACE_HEADER
                    ),
                )
            })
    };
    let idx: Vec<usize> = NEEDED.iter().map(|n| col(n)).collect::<Result<_, _>>()?;
    let status = col("episode_status").ok();
    let mut rows = Vec::new();
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(Some(line + 2), e.to_string()))?;
        let num = |k: usize| -> Result<f64, GuiError> {
            let raw = rec.get(idx[k]).unwrap_or("").trim();
            raw.parse::<f64>().map_err(|_| {
                bad(
                    Some(line + 2),
                    format!("column {} is {raw:?}, not a number", NEEDED[k]),
                )
            })
        };
        rows.push(TraceRow {
            episode: num(0)? as u64,
            steps: num(1)? as u64,
            x: num(2)?,
            y: num(3)?,
            yaw: num(4)?.to_radians(),
            steer: num(5)?.to_radians(),
            throttle: num(6)?,
            reward: num(7)?,
            progress: num(8)?,
            tstamp: num(9)?,
            episode_status: status.and_then(|c| rec.get(c)).unwrap_or("").to_string(),
        });
    }
    if rows.is_empty() {
        return Err(bad(None, "no rows after the header".into()));
    }
    Ok(rows)
}

/// What the trajectory is coloured by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorBy {
    /// The speed command (m/s).
    #[default]
    Speed,
    /// The step's reward.
    Reward,
}

/// The loaded replay and where the scrubber is.
#[derive(Resource, Debug, Default)]
pub struct Replay {
    /// The file shown.
    pub path: Option<PathBuf>,
    /// All rows of the file.
    pub rows: Vec<TraceRow>,
    /// The episodes in the file.
    pub episodes: Vec<u64>,
    /// The episode shown.
    pub episode: u64,
    /// Index of the shown step within the episode's rows.
    pub cursor: usize,
    /// Playing (advances at the trace's own clock).
    pub playing: bool,
    /// Playback speed factor.
    pub speed: f32,
    /// Trajectory colouring.
    pub color_by: ColorBy,
    /// True while the replay owns the 3D view.
    pub active: bool,
    clock: f32,
}

impl Replay {
    /// Loads `path`, showing its first episode.
    ///
    /// # Errors
    /// As [`read_sim_trace`].
    pub fn load(&mut self, path: &Path) -> Result<(), GuiError> {
        let rows = read_sim_trace(path)?;
        let mut episodes: Vec<u64> = rows.iter().map(|r| r.episode).collect();
        episodes.dedup();
        episodes.sort_unstable();
        episodes.dedup();
        *self = Replay {
            path: Some(path.to_path_buf()),
            episode: episodes.first().copied().unwrap_or(0),
            rows,
            episodes,
            speed: 1.0,
            active: true,
            ..Replay::default()
        };
        Ok(())
    }

    /// The rows of the shown episode.
    pub fn episode_rows(&self) -> Vec<&TraceRow> {
        self.rows
            .iter()
            .filter(|r| r.episode == self.episode)
            .collect()
    }

    /// The shown step.
    pub fn current(&self) -> Option<&TraceRow> {
        self.rows
            .iter()
            .filter(|r| r.episode == self.episode)
            .nth(self.cursor)
    }

    /// Shows episode `episode` from its start.
    pub fn select_episode(&mut self, episode: u64) {
        self.episode = episode;
        self.cursor = 0;
        self.clock = 0.0;
    }

    /// Moves playback on by `dt` seconds of wall time.
    pub fn advance(&mut self, dt: f32) {
        if !self.playing {
            return;
        }
        let stamps: Vec<f64> = self.episode_rows().iter().map(|r| r.tstamp).collect();
        let n = stamps.len();
        if n == 0 {
            return;
        }
        self.clock += dt * self.speed;
        // step at the trace's own clock (15 Hz where tstamps do not advance)
        while self.cursor + 1 < n {
            let p = (stamps[self.cursor + 1] - stamps[self.cursor]).clamp(0.0, 1.0) as f32;
            let period = if p > 0.0 { p } else { 1.0 / 15.0 };
            if self.clock < period {
                break;
            }
            self.clock -= period;
            self.cursor += 1;
        }
        if self.cursor + 1 >= n {
            self.playing = false;
        }
    }
}

fn step_replay(time: Res<Time>, mut replay: ResMut<Replay>, mut shown: ResMut<ShownCars>) {
    if !replay.active {
        return;
    }
    replay.advance(time.delta_secs());
    if let Some(r) = replay.current() {
        shown.cars = vec![CarPose {
            x: r.x,
            y: r.y,
            yaw: r.yaw,
            steering: r.steer,
            speed: r.throttle,
        }];
        shown.objects.clear();
    }
}

/// The trajectory of the shown episode, coloured on the ramp from blue
/// (lowest) to red (highest).
fn draw_trajectory(replay: Res<Replay>, mut gizmos: Gizmos) {
    if !replay.active {
        return;
    }
    let rows = replay.episode_rows();
    let value = |r: &TraceRow| match replay.color_by {
        ColorBy::Speed => r.throttle,
        ColorBy::Reward => r.reward,
    };
    let (lo, hi) = rows
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), r| {
            (a.min(value(r)), b.max(value(r)))
        });
    gizmos.linestrip_gradient(rows.iter().map(|r| {
        let t = if hi > lo {
            (value(r) - lo) / (hi - lo)
        } else {
            0.5
        };
        let [cr, cg, cb] = chicane_tracks::ramp_color(t);
        (world(r.x, r.y, 0.02), Color::srgb_u8(cr, cg, cb))
    }));
}

/// Sim-trace replays (the replay feature).
#[derive(Debug, Default)]
pub struct ReplayPlugin;

impl Plugin for ReplayPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Replay>()
            .add_systems(Update, (step_replay, draw_trajectory));
    }
}

pub(crate) fn replay_tab(
    ui: &mut egui::Ui,
    st: &mut UiState,
    replay: &mut Replay,
    training: &Training,
    log: &mut GuiLog,
) {
    if st.replay_path.is_empty()
        && let Some(d) = &training.out_dir
    {
        st.replay_path = d
            .join("training-simtrace/0-iteration.csv")
            .display()
            .to_string();
    }
    ui.horizontal(|ui| {
        ui.label("sim-trace");
        ui.text_edit_singleline(&mut st.replay_path)
            .on_hover_text("a sim-trace CSV: training-simtrace/N-iteration.csv, an evaluation trace, or DeepRacer's");
    });
    ui.horizontal(|ui| {
        if ui.button("Load").clicked() {
            match replay.load(&PathBuf::from(&st.replay_path)) {
                Ok(()) => log.info(format!(
                    "replaying {} ({} episodes)",
                    st.replay_path,
                    replay.episodes.len()
                )),
                Err(e) => log.error(e.chain()),
            }
        }
        if replay.active && ui.button("Close").clicked() {
            replay.active = false;
        }
    });
    if !replay.active {
        return;
    }
    let mut ep = replay.episode;
    egui::ComboBox::from_label("episode")
        .selected_text(ep.to_string())
        .show_ui(ui, |ui| {
            for e in replay.episodes.clone() {
                ui.selectable_value(&mut ep, e, e.to_string());
            }
        });
    if ep != replay.episode {
        replay.select_episode(ep);
    }
    let n = replay.episode_rows().len();
    ui.horizontal(|ui| {
        let label = if replay.playing { "⏸" } else { "▶" };
        if ui.button(label).clicked() {
            if replay.cursor + 1 >= n {
                replay.cursor = 0;
            }
            replay.playing = !replay.playing;
        }
        ui.add(egui::Slider::new(&mut replay.cursor, 0..=n.saturating_sub(1)).text("step"));
    });
    ui.add(
        egui::Slider::new(&mut replay.speed, 0.1..=8.0)
            .logarithmic(true)
            .text("speed x"),
    );
    ui.horizontal(|ui| {
        ui.label("colour by");
        ui.selectable_value(&mut replay.color_by, ColorBy::Speed, "speed");
        ui.selectable_value(&mut replay.color_by, ColorBy::Reward, "reward");
    });
    if let Some(r) = replay.current() {
        egui::Grid::new("row").num_columns(2).show(ui, |ui| {
            for (k, v) in [
                ("steps", r.steps.to_string()),
                ("x, y (m)", format!("{:.3}, {:.3}", r.x, r.y)),
                ("yaw (deg)", format!("{:.1}", r.yaw.to_degrees())),
                ("steer (deg)", format!("{:.1}", r.steer.to_degrees())),
                ("speed (m/s)", format!("{:.2}", r.throttle)),
                ("reward", format!("{:.4}", r.reward)),
                ("progress (%)", format!("{:.1}", r.progress)),
                ("status", r.episode_status.clone()),
            ] {
                ui.label(k);
                ui.monospace(v);
                ui.end_row();
            }
        });
    }
}
