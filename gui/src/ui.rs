//! The window's panels: the toolbar, the tab on the left (setup, train,
//! evaluate, replay), the agent camera and inspector on the right, live
//! charts at the bottom, the log, and errors. The 3D view fills the rest.

use crate::cars::{CameraMode, MainCamera, ShownCars, ViewCamera};
use crate::evaluate::{Evaluator, export_run};
use crate::replay::{ColorBy, Replay};
use crate::setup::{EDITOR_NAME, Setup};
use crate::training::{GuiLog, TrainStatus, Training};
use bevy::camera::Viewport;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Color32, RichText};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use chicane_agent::{NetworkKind, TrainOptions};
use chicane_config::RaceType;
use chicane_core::{Action, ActionSpace, DiscreteAction};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use std::path::PathBuf;
use std::time::Duration;

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
    agent_image: Option<(Handle<Image>, egui::TextureId, [usize; 2])>,
    agent_frame_seen: u64,
    heat_tex: Option<(u64, egui::TextureHandle)>,
    previews: Vec<(String, egui::TextureHandle)>,
}

fn rgb_texture(
    ctx: &egui::Context,
    name: &str,
    w: usize,
    h: usize,
    rgb: &[u8],
) -> egui::TextureHandle {
    let img = egui::ColorImage::from_rgb([w, h], rgb);
    ctx.load_texture(name, img, egui::TextureOptions::NEAREST)
}

/// Starts training what the setup describes (a fresh numbered folder when
/// the chosen one holds a run and Resume is off).
pub fn start_training(setup: &mut Setup, training: &mut Training, log: &mut GuiLog) {
    let run = match setup.validated_run() {
        Ok(r) => r,
        Err(e) => return log.error(format!("cannot start: {e}")),
    };
    let mut out = PathBuf::from(&setup.out_dir);
    if !setup.resume && out.join("agent.json").exists() {
        let base = setup.out_dir.clone();
        let mut n = 2;
        while PathBuf::from(format!("{base}-{n}"))
            .join("agent.json")
            .exists()
        {
            n += 1;
        }
        out = PathBuf::from(format!("{base}-{n}"));
        log.info(format!(
            "{base} holds a run (tick Resume to continue it); training into {}",
            out.display()
        ));
    }
    let mut opts = TrainOptions::new(&run, out.clone(), burn::tensor::Device::flex());
    match chicane_agent::network_for(&run, setup.network.as_deref()) {
        Ok(n) => opts.network = n,
        Err(e) => return log.error(format!("cannot start: {e}")),
    }
    opts.num_envs = setup.num_envs.max(1);
    opts.resume = setup.resume;
    if setup.max_minutes > 0.0 {
        opts.max_time = Some(Duration::from_secs_f64(setup.max_minutes * 60.0));
    }
    match training.start(run, opts, Duration::from_millis(50)) {
        Ok(()) => log.info(format!("training into {}", out.display())),
        Err(e) => log.error(format!("cannot start: {e}")),
    }
}

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

fn setup_tab(
    ui: &mut egui::Ui,
    st: &mut UiState,
    setup: &mut Setup,
    training: &mut Training,
    log: &mut GuiLog,
) {
    egui::CollapsingHeader::new("Run file")
        .default_open(false)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.text_edit_singleline(&mut setup.config_path);
            });
            ui.horizontal(|ui| {
                if ui
                    .button("Load")
                    .on_hover_text("a run .toml or a DeepRacer custom_files folder")
                    .clicked()
                {
                    let p = PathBuf::from(&setup.config_path);
                    match setup.load(&p) {
                        Ok(()) => log.info(format!("loaded {}", p.display())),
                        Err(e) => log.error(e),
                    }
                }
                if ui.button("Save").clicked() {
                    let p = PathBuf::from(&setup.config_path);
                    match setup.save(&p) {
                        Ok(()) => log.info(format!(
                            "saved {} (chicane train {} trains it)",
                            p.display(),
                            p.display()
                        )),
                        Err(e) => log.error(e),
                    }
                }
            });
        });
    egui::CollapsingHeader::new(format!("Track: {}", setup.run.track.name()))
        .default_open(true)
        .show(ui, |ui| {
            if st.previews.is_empty() {
                for name in chicane_tracks::builtin_names() {
                    if let Some(Ok(t)) = chicane_tracks::builtin(name) {
                        let img = chicane_tracks::render_top_down(
                            &t,
                            &chicane_tracks::RenderOptions {
                                max_size: 96,
                                title: false,
                                ..Default::default()
                            },
                        );
                        let tex = rgb_texture(
                            ui.ctx(),
                            name,
                            img.width() as usize,
                            img.height() as usize,
                            img.as_raw(),
                        );
                        st.previews.push((name.to_string(), tex));
                    }
                }
            }
            let mut pick = None;
            ui.horizontal_wrapped(|ui| {
                for (name, tex) in &st.previews {
                    ui.vertical(|ui| {
                        let b = egui::Button::image(egui::load::SizedTexture::new(
                            tex.id(),
                            tex.size_vec2(),
                        ))
                        .selected(setup.run.track_spec == *name);
                        if ui.add(b).on_hover_text(name).clicked() {
                            pick = Some(name.clone());
                        }
                        ui.small(name);
                    });
                }
            });
            if let Some(name) = pick
                && let Err(e) = setup.set_track(&name)
            {
                log.error(e);
            }
            ui.horizontal(|ui| {
                ui.label("import");
                ui.text_edit_singleline(&mut setup.import_path)
                    .on_hover_text("a DeepRacer .npy or a chicane track .toml");
                if ui.button("Import").clicked() {
                    let p = setup.import_path.clone();
                    match setup.set_track(&p) {
                        Ok(()) => log.info(format!("track {p}")),
                        Err(e) => log.error(e),
                    }
                }
            });
            ui.horizontal(|ui| {
                ui.label("random: seed");
                ui.add(egui::DragValue::new(&mut setup.generate_seed));
                ui.label("length (m)");
                ui.add(egui::DragValue::new(&mut setup.generate_length).range(10.0..=60.0));
                if ui.button("Generate").clicked() {
                    match setup.generate_track() {
                        Ok(p) => log.info(format!("generated {}", p.display())),
                        Err(e) => log.error(e),
                    }
                }
            });
            ui.small(format!(
                "{:.2} m long, {:.2} m wide",
                setup.run.track.length(),
                setup.run.track.width_at(0.0)
            ));
        });
    egui::CollapsingHeader::new("Reward function").default_open(true).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label("start from");
            egui::ComboBox::from_id_salt("builtin-reward")
                .selected_text("a built-in…")
                .show_ui(ui, |ui| {
                    for (name, src) in chicane_config::builtin_rewards() {
                        if ui.selectable_label(false, *name).clicked() {
                            setup.reward_text = (*src).to_string();
                            setup.reward_check = None;
                        }
                    }
                });
        });
        let bad_line = match &setup.reward_check {
            Some(Err(issue)) => issue.line,
            _ => None,
        };
        let lang = if setup.reward_path.ends_with(".py") { "py" } else { "rs" };
        let theme = egui_extras::syntax_highlighting::CodeTheme::from_memory(ui.ctx(), ui.style());
        let mut layouter = |ui: &egui::Ui, buf: &dyn egui::TextBuffer, wrap_width: f32| {
            let mut job = egui_extras::syntax_highlighting::highlight(ui.ctx(), ui.style(), &theme, buf.as_str(), lang);
            job.wrap.max_width = wrap_width;
            ui.painter().layout_job(job)
        };
        ui.horizontal_top(|ui| {
            // line numbers, the failing one in red
            let lines = setup.reward_text.lines().count().max(1);
            let numbers: String = (1..=lines).map(|n| format!("{n:>3}\n")).collect();
            let mut job = egui::text::LayoutJob::default();
            for (i, l) in numbers.lines().enumerate() {
                let color = if bad_line == Some(i + 1) { Color32::RED } else { Color32::GRAY };
                job.append(
                    &format!("{l}\n"),
                    0.0,
                    egui::TextFormat::simple(egui::FontId::monospace(12.0), color),
                );
            }
            ui.add(egui::Label::new(job));
            ui.add(
                egui::TextEdit::multiline(&mut setup.reward_text)
                    .code_editor()
                    .desired_rows(14)
                    .desired_width(f32::INFINITY)
                    .layouter(&mut layouter),
            );
        });
        ui.horizontal(|ui| {
            ui.label("file");
            ui.text_edit_singleline(&mut setup.reward_path);
        });
        ui.horizontal(|ui| {
            if ui.button("Check").on_hover_text("compile it and draw its heat map (chicane reward check)").clicked() {
                setup.check_reward();
            }
            let label = if training.is_active() { "Save + use now" } else { "Save + use" };
            if ui
                .button(label)
                .on_hover_text("save the script and make it the run's reward; while training, the next rollout uses it")
                .clicked()
            {
                match setup.apply_reward() {
                    Ok(p) => {
                        log.info(format!("reward function {}", p.display()));
                        if training.is_active() {
                            training.reload_reward(setup.run.clone());
                            log.info("reward reload sent to the trainer (takes effect at the next rollout)");
                        }
                    }
                    Err(e) => log.error(e),
                }
            }
        });
        match &setup.reward_check {
            Some(Ok(summary)) => {
                ui.colored_label(Color32::from_rgb(60, 170, 60), summary);
            }
            Some(Err(issue)) => {
                ui.colored_label(Color32::RED, &issue.message);
            }
            None => {}
        }
        if let Some(img) = &setup.heat_map {
            let stale = st.heat_tex.as_ref().is_none_or(|(v, _)| *v != setup.heat_map_version);
            if stale {
                let tex = rgb_texture(ui.ctx(), "heat map", img.width() as usize, img.height() as usize, img.as_raw());
                st.heat_tex = Some((setup.heat_map_version, tex));
            }
            if let Some((_, tex)) = &st.heat_tex {
                let w = ui.available_width().min(360.0);
                let s = tex.size_vec2();
                ui.image(egui::load::SizedTexture::new(tex.id(), egui::vec2(w, w * s.y / s.x.max(1.0))));
            }
        }
        let _ = EDITOR_NAME;
    });
    egui::CollapsingHeader::new("Action space").show(ui, |ui| action_space_ui(ui, setup, log));
    egui::CollapsingHeader::new("Hyperparameters").show(ui, |ui| {
        let h = &mut setup.run.hyperparameters;
        egui::Grid::new("hp").num_columns(2).show(ui, |ui| {
            ui.label("batch_size");
            ui.add(egui::DragValue::new(&mut h.batch_size).range(8..=4096));
            ui.end_row();
            ui.label("beta_entropy");
            ui.add(
                egui::DragValue::new(&mut h.beta_entropy)
                    .speed(0.001)
                    .range(0.0..=1.0),
            );
            ui.end_row();
            ui.label("discount_factor");
            ui.add(
                egui::DragValue::new(&mut h.discount_factor)
                    .speed(0.001)
                    .range(0.0..=1.0),
            );
            ui.end_row();
            ui.label("lr");
            ui.add(
                egui::DragValue::new(&mut h.lr)
                    .speed(1e-5)
                    .range(1e-8..=1e-1),
            );
            ui.end_row();
            ui.label("num_episodes_between_training");
            ui.add(egui::DragValue::new(&mut h.num_episodes_between_training).range(1..=1000));
            ui.end_row();
            ui.label("num_epochs");
            ui.add(egui::DragValue::new(&mut h.num_epochs).range(1..=100));
            ui.end_row();
            ui.label("stack_size");
            ui.add(egui::DragValue::new(&mut h.stack_size).range(1..=8));
            ui.end_row();
            ui.label("loss_type");
            egui::ComboBox::from_id_salt("loss")
                .selected_text(h.loss_type.clone())
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut h.loss_type, "huber".to_string(), "huber");
                    ui.selectable_value(&mut h.loss_type, "mse".to_string(), "mse");
                });
            ui.end_row();
            ui.label("term_cond_avg_score");
            ui.add(egui::DragValue::new(&mut h.term_cond_avg_score));
            ui.end_row();
            ui.label("term_cond_max_episodes");
            ui.add(egui::DragValue::new(&mut h.term_cond_max_episodes));
            ui.end_row();
        });
    });
    egui::CollapsingHeader::new("Sensors and network").show(ui, |ui| {
        let mut has_cam = setup.run.sim.camera.is_some();
        if ui
            .checkbox(&mut has_cam, "front camera (160x120)")
            .changed()
        {
            setup.run.sim.camera = has_cam.then(chicane_core::CameraConfig::default);
        }
        if let Some(c) = &mut setup.run.sim.camera {
            ui.checkbox(&mut c.stereo, "stereo (STEREO_CAMERAS)");
            ui.checkbox(&mut c.rgb, "colour");
        }
        let mut has_lidar = setup.run.sim.lidar.is_some();
        if ui
            .checkbox(&mut has_lidar, "lidar (SECTOR_LIDAR)")
            .changed()
        {
            setup.run.sim.lidar = has_lidar.then(chicane_core::LidarConfig::default);
        }
        let auto = chicane_agent::network_for(&setup.run, None).map_or("?", |n| n.name());
        egui::ComboBox::from_label("network")
            .selected_text(
                setup
                    .network
                    .clone()
                    .unwrap_or_else(|| format!("auto ({auto})")),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut setup.network, None, "auto");
                for n in NetworkKind::ALL {
                    ui.selectable_value(&mut setup.network, Some(n.name().to_string()), n.name());
                }
            });
    });
    egui::CollapsingHeader::new("Race type").show(ui, |ui| {
        let mut race = setup.run.race_type;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut race, RaceType::TimeTrial, "time trial");
            ui.selectable_value(&mut race, RaceType::ObjectAvoidance, "object avoidance");
            ui.selectable_value(&mut race, RaceType::HeadToBot, "head-to-bot");
        });
        if race != setup.run.race_type {
            setup.set_race_type(race);
        }
        let sim = &mut setup.run.sim;
        match setup.run.race_type {
            RaceType::ObjectAvoidance => {
                ui.add(
                    egui::Slider::new(&mut sim.obstacles.number_of_obstacles, 1..=6)
                        .text("obstacles"),
                );
                ui.checkbox(
                    &mut sim.obstacles.randomize_obstacle_locations,
                    "random locations",
                );
            }
            RaceType::HeadToBot => {
                ui.add(egui::Slider::new(&mut sim.bots.number_of_bot_cars, 1..=6).text("bot cars"));
                ui.add(
                    egui::Slider::new(&mut sim.bots.bot_car_speed, 0.1..=3.0)
                        .text("bot speed (m/s)"),
                );
                ui.checkbox(&mut sim.bots.is_lane_change, "bots change lanes");
            }
            RaceType::TimeTrial => {}
        }
    });
    egui::CollapsingHeader::new("Domain randomisation").show(ui, |ui| {
        let dr = &mut setup.run.sim.domain_randomization;
        ui.checkbox(&mut dr.enabled, "enabled");
        ui.add_enabled_ui(dr.enabled, |ui| {
            ui.add(egui::Slider::new(&mut dr.brightness, 0.0..=0.5).text("brightness"));
            ui.add(egui::Slider::new(&mut dr.contrast, 0.0..=0.5).text("contrast"));
            ui.add(egui::Slider::new(&mut dr.color, 0.0..=0.5).text("colour"));
            ui.add(egui::Slider::new(&mut dr.noise, 0.0..=20.0).text("sensor noise"));
            ui.add(egui::Slider::new(&mut dr.blur, 0.0..=1.0).text("blur probability"));
            ui.add(
                egui::Slider::new(&mut dr.mount_pitch_deg, 0.0..=10.0).text("mount pitch (deg)"),
            );
        });
    });
    egui::CollapsingHeader::new("Training")
        .default_open(true)
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label("run folder");
                ui.text_edit_singleline(&mut setup.out_dir);
            });
            ui.checkbox(&mut setup.resume, "resume the run in this folder");
            ui.add(egui::Slider::new(&mut setup.num_envs, 1..=16).text("envs"));
            ui.add(
                egui::Slider::new(&mut setup.max_minutes, 0.0..=240.0)
                    .text("max minutes (0 = DeepRacer's limits)"),
            );
        });
}

fn action_space_ui(ui: &mut egui::Ui, setup: &mut Setup, log: &mut GuiLog) {
    let mut continuous = matches!(setup.run.action_space, ActionSpace::Continuous { .. });
    ui.horizontal(|ui| {
        ui.selectable_value(&mut continuous, false, "discrete");
        ui.selectable_value(&mut continuous, true, "continuous");
    });
    setup.set_continuous(continuous);
    match &mut setup.run.action_space {
        ActionSpace::Discrete(list) => {
            let mut remove = None;
            egui::Grid::new("actions").striped(true).show(ui, |ui| {
                ui.label("#");
                ui.label("steering (deg)");
                ui.label("speed (m/s)");
                ui.end_row();
                for (i, a) in list.iter_mut().enumerate() {
                    ui.label(i.to_string());
                    ui.add(
                        egui::DragValue::new(&mut a.steering_angle_deg)
                            .range(-30.0..=30.0)
                            .speed(0.5),
                    );
                    ui.add(
                        egui::DragValue::new(&mut a.speed)
                            .range(0.1..=4.0)
                            .speed(0.05),
                    );
                    if ui.small_button("✖").clicked() {
                        remove = Some(i);
                    }
                    ui.end_row();
                }
            });
            if let Some(i) = remove
                && list.len() > 1
            {
                list.remove(i);
            }
            if ui.button("add an action").clicked() {
                list.push(DiscreteAction {
                    steering_angle_deg: 0.0,
                    speed: 1.0,
                });
            }
            ui.separator();
            let g = &mut setup.generator;
            ui.label("generator (the console's)");
            ui.add(
                egui::Slider::new(&mut g.max_steering_deg, 1.0..=30.0).text("max steering (deg)"),
            );
            ui.add(egui::Slider::new(&mut g.steering_levels, 3..=7).text("steering levels"));
            ui.add(egui::Slider::new(&mut g.max_speed, 0.1..=4.0).text("max speed (m/s)"));
            ui.add(egui::Slider::new(&mut g.speed_levels, 1..=3).text("speed levels"));
            if ui.button("Generate").clicked()
                && let Err(e) = setup.generate_actions()
            {
                log.error(e);
            }
        }
        ActionSpace::Continuous {
            steering_angle_deg,
            speed,
        } => {
            egui::Grid::new("cont").show(ui, |ui| {
                ui.label("steering (deg)");
                ui.add(egui::DragValue::new(&mut steering_angle_deg.low).range(-30.0..=0.0));
                ui.add(egui::DragValue::new(&mut steering_angle_deg.high).range(0.0..=30.0));
                ui.end_row();
                ui.label("speed (m/s)");
                ui.add(
                    egui::DragValue::new(&mut speed.low)
                        .range(0.1..=4.0)
                        .speed(0.05),
                );
                ui.add(
                    egui::DragValue::new(&mut speed.high)
                        .range(0.1..=4.0)
                        .speed(0.05),
                );
                ui.end_row();
            });
        }
    }
}

/// Copies the newest agent frame into the agent camera image (made, or
/// remade when the size changes).
fn update_agent_image(
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

fn agent_camera_ui(ui: &mut egui::Ui, st: &UiState, training: &Training, width: f32) {
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

fn inspector_ui(ui: &mut egui::Ui, training: &Training) {
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
            ui.monospace(&step.episode_status);
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
fn charts_ui(ui: &mut egui::Ui, training: &Training) {
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

fn evaluate_tab(ui: &mut egui::Ui, ev: &mut Evaluator, training: &Training, log: &mut GuiLog) {
    if ev.run_dir.is_empty()
        && let Some(d) = &training.out_dir
    {
        ev.run_dir = d.display().to_string();
    }
    ui.horizontal(|ui| {
        ui.label("run folder");
        ui.text_edit_singleline(&mut ev.run_dir);
    });
    ui.add(egui::Slider::new(&mut ev.laps, 1..=10).text("laps"));
    ui.add(
        egui::Slider::new(&mut ev.off_track_penalty_s, 0.0..=10.0).text("off-track penalty (s)"),
    );
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!ev.running(), egui::Button::new("Evaluate"))
            .clicked()
        {
            ev.start();
            log.info(format!("evaluating {} ({} laps)", ev.run_dir, ev.laps));
        }
        if ev.running() {
            ui.spinner();
        }
    });
    if let Some(res) = &ev.result {
        let r = &res.report;
        ui.label(format!(
            "{} on {}: {}/{} laps",
            r.checkpoint,
            r.track,
            r.laps_completed,
            r.laps.len()
        ));
        egui::Grid::new("laps").striped(true).show(ui, |ui| {
            for h in ["lap", "time (s)", "progress", "off track", "status"] {
                ui.strong(h);
            }
            ui.end_row();
            for lap in &r.laps {
                ui.label(lap.trial.to_string());
                ui.label(
                    lap.lap_time_s
                        .map_or_else(|| "-".into(), |t| format!("{t:.3}")),
                );
                ui.label(format!("{:.1} %", lap.progress));
                ui.label(lap.off_track_count.to_string());
                ui.label(&lap.episode_status);
                ui.end_row();
            }
        });
        if let Some(b) = r.best_lap_s {
            ui.label(format!("best lap {b:.3} s (penalties included)"));
        }
    }
    ui.separator();
    ui.strong("Export for the car");
    ui.horizontal(|ui| {
        ui.label("checkpoint");
        ui.text_edit_singleline(&mut ev.checkpoint)
            .on_hover_text("last, best or an iteration number");
    });
    ui.horizontal(|ui| {
        ui.label("bundle");
        ui.text_edit_singleline(&mut ev.export_path);
    });
    if ui.button("Export").clicked() {
        match export_run(
            &PathBuf::from(&ev.run_dir),
            &ev.checkpoint,
            &PathBuf::from(&ev.export_path),
        ) {
            Ok(msg) => log.info(msg),
            Err(e) => log.error(format!("export failed: {e}")),
        }
    }
}

fn replay_tab(
    ui: &mut egui::Ui,
    st: &mut UiState,
    replay: &mut Replay,
    training: &Training,
    log: &mut GuiLog,
) {
    if st.replay_path.is_empty()
        && let Some(d) = &training.out_dir
    {
        st.replay_path = d
            .join("training-simtrace/0-iteration.csv")
            .display()
            .to_string();
    }
    ui.horizontal(|ui| {
        ui.label("sim-trace");
        ui.text_edit_singleline(&mut st.replay_path)
            .on_hover_text("a sim-trace CSV: training-simtrace/N-iteration.csv, an evaluation trace, or DeepRacer's");
    });
    ui.horizontal(|ui| {
        if ui.button("Load").clicked() {
            match replay.load(&PathBuf::from(&st.replay_path)) {
                Ok(()) => log.info(format!(
                    "replaying {} ({} episodes)",
                    st.replay_path,
                    replay.episodes.len()
                )),
                Err(e) => log.error(e),
            }
        }
        if replay.active && ui.button("Close").clicked() {
            replay.active = false;
        }
    });
    if !replay.active {
        return;
    }
    let mut ep = replay.episode;
    egui::ComboBox::from_label("episode")
        .selected_text(ep.to_string())
        .show_ui(ui, |ui| {
            for e in replay.episodes.clone() {
                ui.selectable_value(&mut ep, e, e.to_string());
            }
        });
    if ep != replay.episode {
        replay.select_episode(ep);
    }
    let n = replay.episode_rows().len();
    ui.horizontal(|ui| {
        let label = if replay.playing { "⏸" } else { "▶" };
        if ui.button(label).clicked() {
            if replay.cursor + 1 >= n {
                replay.cursor = 0;
            }
            replay.playing = !replay.playing;
        }
        ui.add(egui::Slider::new(&mut replay.cursor, 0..=n.saturating_sub(1)).text("step"));
    });
    ui.add(
        egui::Slider::new(&mut replay.speed, 0.1..=8.0)
            .logarithmic(true)
            .text("speed x"),
    );
    ui.horizontal(|ui| {
        ui.label("colour by");
        ui.selectable_value(&mut replay.color_by, ColorBy::Speed, "speed");
        ui.selectable_value(&mut replay.color_by, ColorBy::Reward, "reward");
    });
    if let Some(r) = replay.current() {
        egui::Grid::new("row").num_columns(2).show(ui, |ui| {
            for (k, v) in [
                ("steps", r.steps.to_string()),
                ("x, y (m)", format!("{:.3}, {:.3}", r.x, r.y)),
                ("yaw (deg)", format!("{:.1}", r.yaw.to_degrees())),
                ("steer (deg)", format!("{:.1}", r.steer.to_degrees())),
                ("speed (m/s)", format!("{:.2}", r.throttle)),
                ("reward", format!("{:.4}", r.reward)),
                ("progress (%)", format!("{:.1}", r.progress)),
                ("status", r.episode_status.clone()),
            ] {
                ui.label(k);
                ui.monospace(v);
                ui.end_row();
            }
        });
    }
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
