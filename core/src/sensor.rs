//! Sensor configuration shared by the simulator, the trainer and the car:
//! what the policy sees, and from where.

use serde::{Deserialize, Serialize};

/// A front camera: a pinhole model mounted on the chassis.
///
/// Defaults are DeepRacer's: 160x120 grayscale, about 65 deg horizontal
/// field of view in the simulator (120 deg for the real car's wide lens),
/// 0.08 m above the ground, pitched 15 deg down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Image width (px). Default 160.
    pub width: u32,
    /// Image height (px). Default 120.
    pub height: u32,
    /// Horizontal field of view (deg), within (0, 180). Default 65.
    pub fov_deg: f64,
    /// Height of the lens above the ground (m). Default 0.08.
    pub mount_height: f64,
    /// Distance of the lens ahead of the chassis centre (m). Default 0.10.
    pub mount_forward: f64,
    /// Downward pitch of the camera (deg). Default 15.
    pub pitch_deg: f64,
    /// Colour frames (3 channels) instead of grayscale (1). Default false.
    pub rgb: bool,
    /// Two cameras `stereo_baseline` apart, stacked as channels (DeepRacer's
    /// STEREO_CAMERAS). Default false.
    pub stereo: bool,
    /// Distance between the stereo lenses (m). Default 0.06 (DeepRacer).
    pub stereo_baseline: f64,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            width: 160,
            height: 120,
            fov_deg: 65.0,
            mount_height: 0.08,
            mount_forward: 0.10,
            pitch_deg: 15.0,
            rgb: false,
            stereo: false,
            stereo_baseline: 0.06,
        }
    }
}

impl CameraConfig {
    /// Channels per frame: 1 (gray) or 3 (RGB), doubled for stereo.
    pub fn channels(&self) -> usize {
        let per = if self.rgb { 3 } else { 1 };
        if self.stereo { 2 * per } else { per }
    }

    /// Bytes of one observation: channels x height x width.
    pub fn frame_len(&self) -> usize {
        self.channels() * self.width as usize * self.height as usize
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// The field at fault and the accepted range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(1..=4096).contains(&self.width) || !(1..=4096).contains(&self.height) {
            return Err((
                "camera.width".into(),
                format!(
                    "{}x{} px: width and height must be 1 to 4096",
                    self.width, self.height
                ),
            ));
        }
        if !(self.fov_deg.is_finite() && self.fov_deg > 0.0 && self.fov_deg < 180.0) {
            return Err((
                "camera.fov_deg".into(),
                format!("{} deg must be within (0, 180)", self.fov_deg),
            ));
        }
        if !(self.mount_height.is_finite() && self.mount_height > 0.0 && self.mount_height < 2.0) {
            return Err((
                "camera.mount_height".into(),
                format!("{} m must be within (0, 2)", self.mount_height),
            ));
        }
        if !(self.pitch_deg.is_finite() && self.pitch_deg.abs() < 89.0) {
            return Err((
                "camera.pitch_deg".into(),
                format!("{} deg must be within -89..89", self.pitch_deg),
            ));
        }
        if !self.mount_forward.is_finite() || self.mount_forward.abs() > 1.0 {
            return Err((
                "camera.mount_forward".into(),
                format!("{} m must be within -1..1", self.mount_forward),
            ));
        }
        if !(self.stereo_baseline.is_finite()
            && self.stereo_baseline >= 0.0
            && self.stereo_baseline < 1.0)
        {
            return Err((
                "camera.stereo_baseline".into(),
                format!("{} m must be within 0..1", self.stereo_baseline),
            ));
        }
        Ok(())
    }
}

/// A planar scanning lidar (DeepRacer's LIDAR sensor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LidarConfig {
    /// Number of beams. Default 64.
    pub beams: usize,
    /// Total field of view (deg), centred ahead. Default 300 (+-150).
    pub fov_deg: f64,
    /// Shortest range (m); nearer returns read as this. Default 0.15.
    pub min_range: f64,
    /// Longest range (m); no return reads as this. Default 12.
    pub max_range: f64,
    /// Report the nearest return in this many equal sectors instead of
    /// every beam (DeepRacer's SECTOR_LIDAR has 8). Default: every beam.
    pub sectors: Option<usize>,
}

impl Default for LidarConfig {
    fn default() -> Self {
        Self {
            beams: 64,
            fov_deg: 300.0,
            min_range: 0.15,
            max_range: 12.0,
            sectors: None,
        }
    }
}

impl LidarConfig {
    /// Values per reading: `sectors` or `beams`.
    pub fn len(&self) -> usize {
        self.sectors.unwrap_or(self.beams)
    }

    /// Whether a reading is empty (never, for a valid config).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks the ranges.
    ///
    /// # Errors
    /// The field at fault and the accepted range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(1..=4096).contains(&self.beams) {
            return Err((
                "lidar.beams".into(),
                format!("{} must be 1 to 4096", self.beams),
            ));
        }
        if !(self.fov_deg.is_finite() && self.fov_deg > 0.0 && self.fov_deg <= 360.0) {
            return Err((
                "lidar.fov_deg".into(),
                format!("{} deg must be within (0, 360]", self.fov_deg),
            ));
        }
        if !(self.min_range.is_finite()
            && self.min_range >= 0.0
            && self.min_range < self.max_range
            && self.max_range.is_finite())
        {
            return Err((
                "lidar.max_range".into(),
                format!(
                    "ranges {}..{} m must satisfy 0 <= min_range < max_range",
                    self.min_range, self.max_range
                ),
            ));
        }
        if let Some(s) = self.sectors
            && !(1..=self.beams).contains(&s)
        {
            return Err((
                "lidar.sectors".into(),
                format!("{s} must be 1 to beams ({})", self.beams),
            ));
        }
        Ok(())
    }
}
