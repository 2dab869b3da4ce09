//! The window's panels: the toolbar, the tab on the left (setup, train,
//! evaluate, replay), the agent camera and inspector on the right, live
//! charts at the bottom, the log, and errors. The 3D view fills the rest.

use crate::cars::{CameraMode, MainCamera, ShownCars, ViewCamera};
use crate::evaluate::{Evaluator, evaluate_tab};
use crate::panel_state::{Tab, UiState};
use crate::replay::{Replay, replay_tab};
use crate::setup::Setup;
use crate::setup_panel::{setup_tab, start_training};
use crate::training::{GuiLog, TrainStatus, Training};
use crate::training_panel::{agent_camera_ui, charts_ui, inspector_ui, update_agent_image};
use bevy::camera::Viewport;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Color32, RichText};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use chicane_config::RaceType;

fn toolbar(
    ui: &mut egui::Ui,
    st: &mut UiState,
    setup: &mut Setup,
    training: &mut Training,
    log: &mut GuiLog,
    cam: &mut ViewCamera,
) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("chicane");
        ui.separator();
        for (tab, label) in [
            (Tab::Setup, "Setup"),
            (Tab::Train, "Train"),
            (Tab::Evaluate, "Evaluate"),
            (Tab::Replay, "Replay"),
        ] {
            ui.selectable_value(&mut st.tab, tab, label);
        }
        ui.separator();
        let active = training.is_active();
        if ui
            .add_enabled(!active, egui::Button::new("▶ Start"))
            .clicked()
        {
            start_training(setup, training, log);
        }
        match training.status {
            TrainStatus::Paused => {
                if ui.button("⏵ Resume").clicked() {
                    training.resume();
                }
            }
            _ => {
                if ui
                    .add_enabled(
                        training.status == TrainStatus::Running,
                        egui::Button::new("⏸ Pause"),
                    )
                    .clicked()
                {
                    training.pause();
                }
            }
        }
        if ui
            .add_enabled(active, egui::Button::new("⏹ Stop"))
            .clicked()
        {
            training.stop();
        }
        let status = match &training.status {
            TrainStatus::Idle => "idle".to_string(),
            TrainStatus::Running => format!(
                "training: {} episodes, iteration {}, {:.0} steps/s",
                training.episodes.len(),
                training.iterations.len(),
                training.steps_per_s
            ),
            TrainStatus::Paused => "paused".into(),
            TrainStatus::Stopping => "stopping (checkpoint)".into(),
            TrainStatus::Finished(r) => format!("finished: {r}"),
            TrainStatus::Failed(_) => "failed (see the log)".into(),
        };
        ui.label(status);
        ui.separator();
        ui.label("camera");
        ui.selectable_value(&mut cam.mode, CameraMode::Chase, "chase");
        ui.selectable_value(&mut cam.mode, CameraMode::TopDown, "top-down");
        ui.selectable_value(&mut cam.mode, CameraMode::Orbit, "orbit");
        if cam.mode == CameraMode::Orbit {
            ui.add(
                egui::DragValue::new(&mut cam.orbit_pitch)
                    .range(0.1..=1.5)
                    .speed(0.01)
                    .prefix("elevation "),
            );
            ui.add(
                egui::DragValue::new(&mut cam.orbit_speed)
                    .range(-1.0..=1.0)
                    .speed(0.01)
                    .prefix("turn "),
            );
        }
        if cam.mode == CameraMode::Chase {
            ui.add(
                egui::DragValue::new(&mut cam.chase_distance)
                    .range(0.3..=5.0)
                    .speed(0.02)
                    .suffix(" m"),
            );
        }
        ui.separator();
        ui.label(format!("{:.0} ms/frame", st.frame_time_s * 1000.0));
    });
}

/// Draws every panel and fits the 3D camera into what they leave.
#[allow(clippy::too_many_arguments)]
fn panels(
    mut contexts: EguiContexts,
    mut st: ResMut<UiState>,
    mut setup: ResMut<Setup>,
    mut training: ResMut<Training>,
    mut log: ResMut<GuiLog>,
    mut cam: ResMut<ViewCamera>,
    mut replay: ResMut<Replay>,
    mut ev: ResMut<Evaluator>,
    mut camera: Query<&mut Camera, With<MainCamera>>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut images: ResMut<Assets<Image>>,
) -> Result {
    update_agent_image(&mut st, &training, &mut images, &mut contexts);
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    let top = egui::Panel::top("toolbar")
        .show(&mut root, |ui| {
            toolbar(ui, &mut st, &mut setup, &mut training, &mut log, &mut cam)
        })
        .response
        .rect
        .height();
    let log_h = egui::Panel::bottom("log")
        .exact_size(26.0)
        .show(&mut root, |ui| {
            ui.horizontal(|ui| {
                if let Some((is_err, line)) = log.lines.last() {
                    let t = RichText::new(line.as_str());
                    ui.label(if *is_err { t.color(Color32::RED) } else { t });
                }
            });
        })
        .response
        .rect
        .height();
    let bottom = egui::Panel::bottom("charts")
        .exact_size(190.0)
        .show(&mut root, |ui| charts_ui(ui, &training))
        .response
        .rect
        .height();
    let left = egui::Panel::left("tab")
        .resizable(true)
        .default_size(400.0)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| match st.tab {
                Tab::Setup => setup_tab(ui, &mut st, &mut setup, &mut training, &mut log),
                Tab::Train => {
                    let w = ui.available_width();
                    agent_camera_ui(ui, &st, &training, w);
                    ui.separator();
                    inspector_ui(ui, &training);
                }
                Tab::Evaluate => evaluate_tab(ui, &mut ev, &training, &mut log),
                Tab::Replay => replay_tab(ui, &mut st, &mut replay, &training, &mut log),
            });
        })
        .response
        .rect
        .width();
    let right = egui::Panel::right("agent")
        .resizable(true)
        .default_size(270.0)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                agent_camera_ui(ui, &st, &training, 240.0);
                ui.separator();
                inspector_ui(ui, &training);
            });
        })
        .response
        .rect
        .width();
    if let Some(err) = log.error.clone() {
        let mut open = true;
        egui::Window::new("Error")
            .collapsible(false)
            .open(&mut open)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 60.0))
            .show(&ctx, |ui| {
                ui.colored_label(Color32::RED, err);
                if ui.button("Dismiss").clicked() {
                    log.error = None;
                }
            });
        if !open {
            log.error = None;
        }
    }
    // the 3D view gets what the panels leave
    if let (Ok(window), Ok(mut camera)) = (window.single(), camera.single_mut()) {
        let s = window.scale_factor();
        let pos = UVec2::new((left * s) as u32, (top * s) as u32);
        let full = UVec2::new(window.physical_width(), window.physical_height());
        let used = pos + UVec2::new((right * s) as u32, ((bottom + log_h) * s) as u32);
        if full.x > used.x + 16 && full.y > used.y + 16 {
            camera.viewport = Some(Viewport {
                physical_position: pos,
                physical_size: full - used,
                ..default()
            });
        }
    }
    Ok(())
}

/// Which run the 3D view shows: a replay when one is open, else training.
fn pick_shown(
    training: Res<Training>,
    replay: Res<Replay>,
    setup: Res<Setup>,
    mut shown: ResMut<ShownCars>,
) {
    if replay.active {
        return;
    }
    if let Some(s) = &training.snapshot {
        shown.cars.clone_from(&s.cars);
        shown.objects.clone_from(&s.objects);
        shown.bots = setup.run.race_type == RaceType::HeadToBot;
    }
}

/// The egui camera: drawn over the whole window after the 3D view (whose
/// viewport the panels shrink), rendering nothing but the UI.
fn setup_ui_camera(mut commands: Commands, mut settings: ResMut<bevy_egui::EguiGlobalSettings>) {
    settings.auto_create_primary_context = false;
    commands.spawn((
        bevy_egui::PrimaryEguiContext,
        Camera2d,
        bevy::camera::visibility::RenderLayers::none(),
        bevy::render::view::Msaa::Off,
        Camera {
            order: 1,
            output_mode: bevy::camera::CameraOutputMode::Write {
                blend_state: Some(bevy::render::render_resource::BlendState::ALPHA_BLENDING),
                clear_color: ClearColorConfig::None,
            },
            clear_color: ClearColorConfig::Custom(Color::NONE),
            ..default()
        },
    ));
}

fn frame_time(time: Res<Time>, mut st: ResMut<UiState>) {
    let dt = f64::from(time.delta_secs());
    st.frame_time_s = if st.frame_time_s == 0.0 {
        dt
    } else {
        0.9 * st.frame_time_s + 0.1 * dt
    };
}

/// The panels (setup editor, training control, charts, inspector, agent
/// camera, evaluate/export and replay controls).
#[derive(Debug, Default)]
pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .add_systems(Startup, setup_ui_camera)
            .add_systems(EguiPrimaryContextPass, panels)
            .add_systems(Update, (pick_shown, frame_time));
    }
}
