//! The training views: the agent camera (the frame the policy sees), the
//! inspector of the first env's step, and the live charts.

use crate::panel_state::UiState;
use crate::training::Training;
use bevy::prelude::*;
use bevy_egui::EguiContexts;
use bevy_egui::egui;
use chicane_core::Action;
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};

/// Copies the newest agent frame into the agent camera image (made, or
/// remade when the size changes).
pub(crate) fn update_agent_image(
    st: &mut UiState,
    training: &Training,
    images: &mut Assets<Image>,
    contexts: &mut EguiContexts,
) {
    let Some(f) = training.snapshot.as_ref().and_then(|s| s.frame.as_ref()) else {
        return;
    };
    if f.width == 0 || st.agent_frame_seen == training.snapshots_received {
        return;
    }
    st.agent_frame_seen = training.snapshots_received;
    let rgba: Vec<u8> = f
        .pixels
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let size = [f.width, f.height];
    if let Some((h, _, s)) = &st.agent_image
        && *s == size
        && let Some(mut img) = images.get_mut(h)
    {
        img.data = Some(rgba);
        return;
    }
    let mut img = Image::new_fill(
        bevy::render::render_resource::Extent3d {
            width: f.width as u32,
            height: f.height as u32,
            depth_or_array_layers: 1,
        },
        bevy::render::render_resource::TextureDimension::D2,
        &[0, 0, 0, 255],
        bevy::render::render_resource::TextureFormat::Rgba8UnormSrgb,
        bevy::asset::RenderAssetUsages::all(),
    );
    img.sampler = bevy::image::ImageSampler::nearest();
    img.data = Some(rgba);
    let handle = images.add(img);
    let id = contexts.add_image(bevy_egui::EguiTextureHandle::Strong(handle.clone()));
    st.agent_image = Some((handle, id, size));
}

pub(crate) fn agent_camera_ui(ui: &mut egui::Ui, st: &UiState, training: &Training, width: f32) {
    ui.strong("Agent camera (what the policy sees)");
    match (
        &st.agent_image,
        training.snapshot.as_ref().and_then(|s| s.frame.as_ref()),
    ) {
        (Some((_, id, [w, h])), Some(f)) => {
            let height = width * *h as f32 / (*w).max(1) as f32;
            ui.image(egui::load::SizedTexture::new(
                *id,
                egui::vec2(width, height),
            ));
            ui.small(format!("{w}x{h} px, {} channel(s)", f.channels));
        }
        _ => {
            ui.weak("starts with training");
        }
    }
}

pub(crate) fn inspector_ui(ui: &mut egui::Ui, training: &Training) {
    ui.strong("Inspector (env 0, this step)");
    let Some(step) = training.snapshot.as_ref().and_then(|s| s.step.as_ref()) else {
        ui.weak("starts with training");
        return;
    };
    egui::Grid::new("step")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            ui.label("reward");
            ui.monospace(format!("{:.4}", step.reward));
            ui.end_row();
            ui.label("action");
            ui.monospace(match step.action {
                Action::Discrete(i) => format!("#{i}"),
                Action::Continuous {
                    steering_angle_deg,
                    speed,
                } => {
                    format!("{steering_angle_deg:.1} deg, {speed:.2} m/s")
                }
            });
            ui.end_row();
            ui.label("probability");
            ui.monospace(format!("{:.3}", step.probability));
            ui.end_row();
            ui.label("value V(s)");
            ui.monospace(format!("{:.3}", step.value));
            ui.end_row();
            ui.label("status");
            ui.monospace(step.episode_status.as_str());
            ui.end_row();
            if let Ok(serde_json::Value::Object(map)) =
                serde_json::from_str::<serde_json::Value>(&step.params.to_json())
            {
                for (k, v) in map {
                    if k == "waypoints" {
                        continue;
                    }
                    ui.label(k);
                    let text = match &v {
                        serde_json::Value::Number(n) => n.as_f64().map_or_else(
                            || n.to_string(),
                            |f| {
                                if f.fract() == 0.0 {
                                    format!("{f:.0}")
                                } else {
                                    format!("{f:.4}")
                                }
                            },
                        ),
                        other => other.to_string(),
                    };
                    ui.monospace(text);
                    ui.end_row();
                }
            }
        });
}

/// The live charts: episode reward, progress and lap time; per-update
/// entropy and losses.
pub(crate) fn charts_ui(ui: &mut egui::Ui, training: &Training) {
    let h = (ui.available_height() - 8.0).max(120.0);
    let w = (ui.available_width() / 4.0 - 8.0).max(120.0);
    let eps = &training.episodes;
    let its = &training.iterations;
    let series = |f: &dyn Fn(&chicane_agent::EpisodeRecord) -> Option<f64>| -> Vec<[f64; 2]> {
        eps.iter()
            .filter_map(|e| f(e).map(|v| [e.episode as f64, v]))
            .collect()
    };
    let smooth = |pts: &[[f64; 2]]| -> Vec<[f64; 2]> {
        let k = 10usize;
        pts.iter()
            .enumerate()
            .map(|(i, p)| {
                let lo = i.saturating_sub(k - 1);
                let m = pts[lo..=i].iter().map(|q| q[1]).sum::<f64>() / (i - lo + 1) as f64;
                [p[0], m]
            })
            .collect()
    };
    ui.horizontal(|ui| {
        let reward = series(&|e| Some(e.reward));
        let progress = series(&|e| Some(e.progress));
        let laps = series(&|e| e.lap_time);
        Plot::new("reward")
            .width(w)
            .height(h)
            .legend(Legend::default())
            .show(ui, |p| {
                p.points(
                    Points::new("episode reward", PlotPoints::from(reward.clone())).radius(1.5),
                );
                p.line(Line::new("mean of 10", PlotPoints::from(smooth(&reward))));
            });
        Plot::new("progress")
            .width(w)
            .height(h)
            .legend(Legend::default())
            .include_y(0.0)
            .include_y(100.0)
            .show(ui, |p| {
                p.points(
                    Points::new("progress (%)", PlotPoints::from(progress.clone())).radius(1.5),
                );
                p.line(Line::new("mean of 10", PlotPoints::from(smooth(&progress))));
            });
        Plot::new("laps")
            .width(w)
            .height(h)
            .legend(Legend::default())
            .show(ui, |p| {
                p.points(Points::new("lap time (s)", PlotPoints::from(laps)).radius(2.5));
            });
        let it = |f: &dyn Fn(&chicane_agent::IterationRecord) -> f64| -> Vec<[f64; 2]> {
            its.iter().map(|r| [r.iteration as f64, f(r)]).collect()
        };
        Plot::new("losses")
            .width(w)
            .height(h)
            .legend(Legend::default())
            .show(ui, |p| {
                p.line(Line::new(
                    "entropy",
                    PlotPoints::from(it(&|r| f64::from(r.update.entropy))),
                ));
                p.line(Line::new(
                    "policy loss",
                    PlotPoints::from(it(&|r| f64::from(r.update.policy_loss))),
                ));
                p.line(Line::new(
                    "value loss",
                    PlotPoints::from(it(&|r| f64::from(r.update.value_loss))),
                ));
            });
    });
}
