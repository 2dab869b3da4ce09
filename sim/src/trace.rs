//! DeepRacer's sim-trace CSV (`training-simtrace/N-iteration.csv`,
//! `evaluation-simtrace/...`), as `deepracer-utils` and the log analysis
//! notebooks read it.

use crate::env::Info;
use chicane_core::Action;
use std::io::{self, Write};

/// The columns, in DeepRacer's order (`deepracer_simapp` `SIMTRACE_TRAINING_CSV_HEADER`,
/// before the newer obstacle_crash_counter and wall_clock).
pub const SIMTRACE_HEADER: &str = "episode,steps,X,Y,yaw,steer,throttle,action,reward,done,all_wheels_on_track,progress,closest_waypoint,track_len,tstamp,episode_status,pause_duration";

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// Writes sim-trace rows.
#[derive(Debug)]
pub struct SimTraceWriter<W: Write> {
    out: W,
}

impl<W: Write> SimTraceWriter<W> {
    /// Writes the header and returns the writer.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn new(mut out: W) -> io::Result<Self> {
        writeln!(out, "{SIMTRACE_HEADER}")?;
        Ok(Self { out })
    }

    /// Writes one step's row, with `info.episode` in the episode column.
    /// `action` is the policy's choice (`-1` in the action column for
    /// continuous actions, as DeepRacer writes); `closest_waypoint` is the
    /// Euclidean nearest waypoint, as in DeepRacer's files.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write(
        &mut self,
        info: &Info,
        action: Option<&Action>,
        reward: f64,
        done: bool,
    ) -> io::Result<()> {
        let row = row_without_episode(info, action, reward, done, info.time);
        writeln!(self.out, "{},{row}", info.episode)
    }

    /// Writes a row made by [`row_without_episode`] under episode number `episode`.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn write_row(&mut self, episode: u64, row: &str) -> io::Result<()> {
        writeln!(self.out, "{episode},{row}")
    }

    /// Flushes and returns the inner writer.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One sim-trace row without its first (episode) column, for writers that
/// number episodes themselves (the trainer numbers them across its envs in
/// the order they finish), with `tstamp` (s) in the tstamp column: DeepRacer
/// writes its simulation clock there, which runs on across episodes. The
/// first step of an episode gets DeepRacer's status `prepare` (log analysis
/// starts each episode's time and distance there). Columns as in
/// [`SIMTRACE_HEADER`].
pub fn row_without_episode(
    info: &Info,
    action: Option<&Action>,
    reward: f64,
    done: bool,
    tstamp: f64,
) -> String {
    let p = &info.params;
    let action_col = match action {
        Some(Action::Discrete(i)) => *i as i64,
        _ => -1,
    };
    let nearest = p
        .waypoints
        .iter()
        .enumerate()
        .min_by(|a, b| {
            let da = (a.1[0] - p.x).powi(2) + (a.1[1] - p.y).powi(2);
            let db = (b.1[0] - p.x).powi(2) + (b.1[1] - p.y).powi(2);
            da.total_cmp(&db)
        })
        .map_or(0, |(i, _)| i);
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{},0.0",
        p.steps,
        p.x,
        p.y,
        p.heading,
        p.steering_angle,
        p.speed,
        action_col,
        reward,
        py_bool(done),
        py_bool(p.all_wheels_on_track),
        p.progress,
        nearest,
        p.track_length,
        tstamp,
        if p.steps == 1 && !done {
            "prepare"
        } else {
            info.episode_status.as_str()
        },
    )
}
