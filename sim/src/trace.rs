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

    /// Writes one step's row. `action` is the policy's choice (`-1` in the
    /// action column for continuous actions, as DeepRacer writes);
    /// `closest_waypoint` is the Euclidean nearest waypoint, as in
    /// DeepRacer's files.
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
        writeln!(
            self.out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{},0.0",
            info.episode,
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
            info.time,
            info.episode_status.as_str(),
        )
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
