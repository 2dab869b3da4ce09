//! Screenshots and timed exits (the window test and the GUI benchmark):
//! `--screenshot FILE --exit-after-frames N`, `--exit-after-secs T
//! --report FILE.json`.

use crate::training::Training;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// When to take the screenshot and leave.
#[derive(Resource, Debug, Clone, Default)]
pub struct CaptureSettings {
    /// Save a PNG of the window here.
    pub screenshot: Option<PathBuf>,
    /// Take the screenshot at this frame (and leave once it is saved);
    /// without a screenshot, leave at this frame.
    pub exit_after_frames: Option<u64>,
    /// Leave after this many seconds (screenshot first, if asked).
    pub exit_after_secs: Option<f64>,
    /// Write a [`GuiReport`] here on leaving.
    pub report: Option<PathBuf>,
}

/// What the GUI measured of itself (for docs/BENCHMARKS.md).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GuiReport {
    /// Frames drawn.
    pub frames: u64,
    /// Wall time (s).
    pub wall_s: f64,
    /// Mean frame time (s): wall time over frames.
    pub mean_frame_time_s: f64,
    /// Env steps the trainer took.
    pub env_steps: u64,
    /// Env steps per second over the run (from the trainer's own counter).
    pub env_steps_per_s: f64,
    /// Episodes finished.
    pub episodes: usize,
    /// PPO updates done.
    pub iterations: usize,
}

#[derive(Resource)]
struct CaptureState {
    frames: u64,
    started: Instant,
    shot_at: Option<u64>,
    first_steps: Option<(Instant, u64)>,
}

fn capture(
    mut commands: Commands,
    settings: Res<CaptureSettings>,
    mut state: ResMut<CaptureState>,
    training: Res<Training>,
    mut exit: MessageWriter<AppExit>,
) {
    state.frames += 1;
    let f = state.frames;
    if state.first_steps.is_none()
        && let Some(s) = &training.snapshot
    {
        state.first_steps = Some((Instant::now(), s.total_steps));
    }
    let secs = state.started.elapsed().as_secs_f64();
    let due = settings.exit_after_frames.is_some_and(|n| f >= n)
        || settings.exit_after_secs.is_some_and(|t| secs >= t);
    if !due {
        return;
    }
    if let Some(path) = &settings.screenshot {
        match state.shot_at {
            None => {
                let _ = std::fs::remove_file(path);
                commands
                    .spawn(Screenshot::primary_window())
                    .observe(save_to_disk(path.clone()));
                state.shot_at = Some(f);
                return;
            }
            // leave once the file is written (or after 300 more frames)
            Some(at) if !path.exists() && f < at + 300 => return,
            Some(_) => {}
        }
    }
    if let Some(path) = &settings.report {
        let steps = training.snapshot.as_ref().map_or(0, |s| s.total_steps);
        let rate = state.first_steps.map_or(0.0, |(t, s0)| {
            steps.saturating_sub(s0) as f64 / t.elapsed().as_secs_f64().max(1e-9)
        });
        let report = GuiReport {
            frames: f,
            wall_s: secs,
            mean_frame_time_s: secs / f as f64,
            env_steps: steps,
            env_steps_per_s: rate,
            episodes: training.episodes.len(),
            iterations: training.iterations.len(),
        };
        match serde_json::to_string_pretty(&report) {
            Ok(text) => {
                if let Err(e) = std::fs::write(path, text) {
                    error!("{}: {e}", path.display());
                }
            }
            Err(e) => error!("report: {e}"),
        }
    }
    exit.write(AppExit::Success);
}

/// Screenshots, timed exits and the self-report.
#[derive(Debug, Default)]
pub struct CapturePlugin;

impl Plugin for CapturePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CaptureSettings>()
            .insert_resource(CaptureState {
                frames: 0,
                started: Instant::now(),
                shot_at: None,
                first_steps: None,
            })
            .add_systems(Last, capture);
    }
}
