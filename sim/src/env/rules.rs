//! DeepRacer's episode rules (`deepracer_simapp`'s `agent_ctrl`):
//! progress and laps with a signed count of start-line crossings, the
//! reversed and immobilized counters, and the step's status.

use super::render::FrameJitter;
use super::types::EpisodeStatus;
use crate::config::EpisodeConfig;
use chicane_tracks::{Direction, Track};

/// The state of the episode in progress.
#[derive(Debug, Clone)]
pub(super) struct Episode {
    pub step: u64,
    pub start_s: f64,
    pub direction: Direction,
    pub laps: u32,
    pub crossings: i64,
    pub prev_fraction: f64,
    pub prev_total: f64,
    pub reversed_count: u32,
    pub immobile_count: u32,
    pub lap_times: Vec<f64>,
    pub lap_started: f64,
    pub done: bool,
    pub jitter: FrameJitter,
}

impl Episode {
    /// Moves progress on to the car's reference point at arc length `s`
    /// (m) after step `step`: counts start-line crossings and laps (lap
    /// times at `action_hz`), and the reversed and immobilized runs (the
    /// car at `speed` m/s). Returns the lap fraction `[0, 1]`.
    pub fn advance(
        &mut self,
        track: &Track,
        s: f64,
        step: u64,
        action_hz: f64,
        speed: f64,
        rules: &EpisodeConfig,
    ) -> f64 {
        let fraction = track.progress(s, self.start_s, self.direction);
        // a signed count of start-line crossings, so that driving back over
        // the line undoes a lap and progress stays continuous
        if track.is_closed() {
            if self.prev_fraction > 0.75 && fraction < 0.25 {
                self.crossings += 1;
                if self.crossings > self.laps as i64 {
                    self.laps += 1;
                    let now = step as f64 / action_hz;
                    self.lap_times.push(now - self.lap_started);
                    self.lap_started = now;
                }
            } else if self.prev_fraction < 0.25 && fraction > 0.75 {
                self.crossings -= 1;
            }
        } else if fraction >= 1.0 && self.laps == 0 {
            self.laps = 1;
            self.crossings = 1;
            self.lap_times.push(step as f64 / action_hz);
        }
        let total = if track.is_closed() {
            self.crossings as f64 + fraction
        } else {
            fraction
        };
        if total < self.prev_total - 1e-9 {
            self.reversed_count += 1;
        } else {
            self.reversed_count = 0;
        }
        if speed.abs() < rules.immobilized_speed {
            self.immobile_count += 1;
        } else {
            self.immobile_count = 0;
        }
        self.prev_fraction = fraction;
        self.prev_total = total;
        fraction
    }

    /// The status after step `step`, in DeepRacer's order of precedence.
    pub fn status(
        &self,
        rules: &EpisodeConfig,
        lap_done: bool,
        crashed: bool,
        offtrack: bool,
        step: u64,
    ) -> EpisodeStatus {
        if lap_done {
            EpisodeStatus::LapComplete
        } else if crashed {
            EpisodeStatus::Crashed
        } else if offtrack {
            EpisodeStatus::OffTrack
        } else if self.reversed_count >= rules.reversed_steps {
            EpisodeStatus::Reversed
        } else if self.immobile_count >= rules.immobilized_steps {
            EpisodeStatus::Immobilized
        } else if step >= rules.max_steps {
            EpisodeStatus::TimeUp
        } else {
            EpisodeStatus::InProgress
        }
    }
}
