//! Read-only data shared by every env on one track and config.

use crate::camera::GroundTexture;
use crate::config::SimConfig;
use crate::vehicle::VehicleConfig;
use chicane_tracks::{Direction, Track};
use std::sync::{Arc, OnceLock};

/// Clearance (m) the env's racing line keeps between the wheels and the
/// borders (`chicane track raceline`'s default).
pub const RACING_LINE_CLEARANCE: f64 = 0.1;

/// A racing line's points and speeds, in one driving direction.
#[derive(Debug, Clone, PartialEq)]
pub struct LineData {
    /// Points `[x, y]` (m) in driving order from the start line.
    pub points: Arc<Vec<[f64; 2]>>,
    /// The flying lap's speed profile (m/s) at each point.
    pub speeds: Arc<Vec<f64>>,
}

/// Read-only data shared by every env on one track and config: the track,
/// its ground textures, and (computed when first asked) its racing lines.
#[derive(Debug, Clone)]
pub struct EnvAssets {
    pub(super) track: Arc<Track>,
    pub(super) textures: Arc<Vec<GroundTexture>>,
    pub(super) waypoints: [Arc<Vec<[f64; 2]>>; 2],
    pub(super) name: Arc<str>,
    vehicle: VehicleConfig,
    lines: Arc<[OnceLock<Option<LineData>>; 2]>,
}

impl EnvAssets {
    /// Builds the textures for `cfg`'s camera (three line-width variants
    /// when that randomisation is on).
    pub fn new(track: Arc<Track>, cfg: &SimConfig) -> EnvAssets {
        let textures = match &cfg.camera {
            None => Vec::new(),
            Some(cam) => {
                let dr = &cfg.domain_randomization;
                let scales: Vec<f64> = if dr.enabled && dr.line_width > 0.0 {
                    vec![1.0, 1.0 - dr.line_width, 1.0 + dr.line_width]
                } else {
                    vec![1.0]
                };
                scales
                    .iter()
                    .map(|&k| GroundTexture::new(&track, cam.rgb, k))
                    .collect()
            }
        };
        let fwd: Vec<[f64; 2]> = track.waypoints().iter().map(|p| [p.x, p.y]).collect();
        let rev: Vec<[f64; 2]> = fwd.iter().rev().copied().collect();
        EnvAssets {
            name: Arc::from(track.name()),
            track,
            textures: Arc::new(textures),
            waypoints: [Arc::new(fwd), Arc::new(rev)],
            vehicle: cfg.vehicle.clone(),
            lines: Arc::new([OnceLock::new(), OnceLock::new()]),
        }
    }

    /// The racing line for driving `direction` (computed once, shared by
    /// every env on these assets): the car's measured limits, the wheels
    /// [`RACING_LINE_CLEARANCE`] from the borders. `None` when the track
    /// leaves the car no room for one.
    pub fn racing_line(&self, direction: Direction) -> Option<&LineData> {
        let slot = &self.lines[usize::from(direction == Direction::Reverse)];
        slot.get_or_init(|| {
            crate::limits::racing_line_for(
                &self.track,
                &self.vehicle,
                RACING_LINE_CLEARANCE,
                0.1,
                Some(direction),
            )
            .ok()
            .map(|l| LineData {
                points: Arc::new(l.points),
                speeds: Arc::new(l.speed),
            })
        })
        .as_ref()
    }

    /// The track.
    pub fn track(&self) -> &Arc<Track> {
        &self.track
    }

    /// Memory shared by all envs using these assets (bytes).
    pub fn memory_bytes(&self) -> usize {
        self.textures.iter().map(GroundTexture::memory_bytes).sum()
    }
}
