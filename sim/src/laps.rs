//! Standing-start laps as DeepRacer's evaluation runs them: from the start
//! line, no start randomisation, and a car that leaves the track is put
//! back where it left (`chicane evaluate`, `chicane sim serve`).

use crate::config::SimConfig;
use crate::env::ResetOptions;
use chicane_tracks::{Direction, Track};

/// Where evaluation laps start and where resets put the car.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalStart {
    start_s: f64,
    len: f64,
    direction: Direction,
}

impl EvalStart {
    /// Turns off `cfg`'s start randomisation (random starts, changing and
    /// alternating start positions) and remembers the configured start:
    /// `cfg.start.start_position` (a fraction of the lap) or the track's
    /// start line, in `cfg.start.direction` or the track's.
    pub fn new(cfg: &mut SimConfig, track: &Track) -> EvalStart {
        cfg.start.change_start_position = false;
        cfg.start.random_start = false;
        cfg.start.alternate_driving_direction = false;
        let len = track.length();
        EvalStart {
            start_s: cfg
                .start
                .start_position
                .map_or(track.start().s, |f| f * len),
            len,
            direction: cfg.start.direction.unwrap_or(track.start().direction),
        }
    }

    /// Reset options that put the car `covered_m` metres (m) along the lap
    /// from the start, in the lap's direction.
    pub fn reset_at(&self, covered_m: f64) -> ResetOptions {
        let s = self.start_s + self.direction.sign() * covered_m;
        ResetOptions {
            start_position: Some((s / self.len).rem_euclid(1.0).min(1.0 - 1e-9)),
            direction: Some(self.direction),
        }
    }
}
