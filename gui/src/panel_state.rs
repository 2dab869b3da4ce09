//! What the panels keep between frames that is not part of the run: the
//! tab shown, the replay path, textures of the agent camera, the heat map
//! and the track previews.

use bevy::prelude::*;
use bevy_egui::egui;

/// The tab shown on the left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// Track, reward, actions, hyperparameters, sensors, race.
    #[default]
    Setup,
    /// The agent camera and the inspector, large.
    Train,
    /// Timed laps and export.
    Evaluate,
    /// Sim-trace replay.
    Replay,
}

/// Panel state that is not part of the run.
#[derive(Resource, Default)]
pub struct UiState {
    /// The tab.
    pub tab: Tab,
    /// The sim-trace path in the replay tab.
    pub replay_path: String,
    /// Mean frame time (s), smoothed.
    pub frame_time_s: f64,
    /// The agent camera as a bevy image shown by egui (updated in place:
    /// a new egui-managed texture per frame would never be on the GPU in
    /// time to be drawn).
    pub(crate) agent_image: Option<(Handle<Image>, egui::TextureId, [usize; 2])>,
    pub(crate) agent_frame_seen: u64,
    pub(crate) heat_tex: Option<(u64, egui::TextureHandle)>,
    pub(crate) previews: Vec<(String, egui::TextureHandle)>,
}

pub(crate) fn rgb_texture(
    ctx: &egui::Context,
    name: &str,
    w: usize,
    h: usize,
    rgb: &[u8],
) -> egui::TextureHandle {
    let img = egui::ColorImage::from_rgb([w, h], rgb);
    ctx.load_texture(name, img, egui::TextureOptions::NEAREST)
}
