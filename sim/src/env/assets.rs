//! Read-only data shared by every env on one track and config.

use crate::camera::GroundTexture;
use crate::config::SimConfig;
use chicane_tracks::Track;
use std::sync::Arc;

/// Read-only data shared by every env on one track and config: the track
/// and its ground textures.
#[derive(Debug, Clone)]
pub struct EnvAssets {
    pub(super) track: Arc<Track>,
    pub(super) textures: Arc<Vec<GroundTexture>>,
    pub(super) waypoints: [Arc<Vec<[f64; 2]>>; 2],
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
            track,
            textures: Arc::new(textures),
            waypoints: [Arc::new(fwd), Arc::new(rev)],
        }
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
