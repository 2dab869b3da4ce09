//! The Setup tab: track, reward editor with check and heat map, action
//! space, hyperparameters, sensors and network, race type, domain
//! randomisation, load/save; and Start.

use crate::panel_state::{UiState, rgb_texture};
use crate::setup::{EDITOR_NAME, Setup};
use crate::training::{GuiLog, Training};
use bevy_egui::egui::{self, Color32};
use chicane_agent::NetworkKind;
use chicane_config::{RaceType, ValueLoss};
use chicane_core::{ActionSpace, DiscreteAction, TrainingAlgorithm};
use std::path::PathBuf;

/// Starts training what the setup describes: the setup's run request
/// resolved as `chicane train` resolves its flags (a fresh numbered folder
/// when the chosen one holds a run and Resume is off).
pub fn start_training(setup: &mut Setup, training: &mut Training, log: &mut GuiLog) {
    let plan = match setup.plan() {
        Ok(p) => p,
        Err(e) => return log.error(format!("cannot start: {}", e.chain())),
    };
    let out = plan.options.out_dir.root().to_path_buf();
    if out != std::path::Path::new(&setup.out_dir) {
        log.info(format!(
            "{} holds a run (tick Resume to continue it); training into {}",
            setup.out_dir,
            out.display()
        ));
    }
    match training.start(plan, std::time::Duration::from_millis(50)) {
        Ok(()) => log.info(format!("training into {}", out.display())),
        Err(e) => log.error(format!("cannot start: {}", e.chain())),
    }
}

pub(crate) fn setup_tab(
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
                        Err(e) => log.error(e.chain()),
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
                        Err(e) => log.error(e.chain()),
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
                log.error(e.chain());
            }
            ui.horizontal_wrapped(|ui| {
                ui.label("also train on");
                let mut remove = None;
                for (i, (spec, t)) in setup.run.training_tracks.iter().enumerate().skip(1) {
                    if ui
                        .button(format!("{} \u{2715}", t.name()))
                        .on_hover_text(format!("{spec}: click to remove"))
                        .clicked()
                    {
                        remove = Some(i);
                    }
                }
                if let Some(i) = remove {
                    setup.remove_training_track(i);
                }
                ui.text_edit_singleline(&mut setup.extra_track_input)
                    .on_hover_text("a built-in name, a DeepRacer .npy or a chicane .toml");
                if ui.button("Add").clicked() {
                    let p = setup.extra_track_input.clone();
                    match setup.add_training_track(&p) {
                        Ok(()) => log.info(format!("also training on {p}")),
                        Err(e) => log.error(e.chain()),
                    }
                }
            });
            if setup.run.training_tracks.len() > 1 {
                ui.add(
                    egui::Slider::new(&mut setup.run.track_switch_episodes, 1..=20)
                        .text("episodes per track"),
                );
            }
            ui.horizontal(|ui| {
                ui.label("import");
                ui.text_edit_singleline(&mut setup.import_path)
                    .on_hover_text("a DeepRacer .npy or a chicane track .toml");
                if ui.button("Import").clicked() {
                    let p = setup.import_path.clone();
                    match setup.set_track(&p) {
                        Ok(()) => log.info(format!("track {p}")),
                        Err(e) => log.error(e.chain()),
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
                        Err(e) => log.error(e.chain()),
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
                    Err(e) => log.error(e.chain()),
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
        let algorithm = &mut setup.run.training_algorithm;
        let h = &mut setup.run.hyperparameters;
        egui::Grid::new("hp").num_columns(2).show(ui, |ui| {
            ui.label("training_algorithm");
            egui::ComboBox::from_id_salt("algorithm")
                .selected_text(algorithm.name())
                .show_ui(ui, |ui| {
                    for a in TrainingAlgorithm::ALL {
                        ui.selectable_value(algorithm, a, a.name());
                    }
                });
            ui.end_row();
            if *algorithm == TrainingAlgorithm::Sac {
                ui.label("sac_alpha");
                ui.add(
                    egui::DragValue::new(&mut h.sac_alpha)
                        .speed(0.001)
                        .range(1e-4..=10.0),
                );
                ui.end_row();
                // chicane's automatic temperature (Haarnoja et al. 2018b)
                let mut auto = h.sac_target_entropy.is_some();
                ui.label("automatic alpha");
                if ui
                    .checkbox(&mut auto, "keep the entropy near a target")
                    .changed()
                {
                    h.sac_target_entropy = auto.then_some(-2.0);
                }
                ui.end_row();
                if let Some(t) = h.sac_target_entropy.as_mut() {
                    ui.label("sac_target_entropy");
                    ui.add(egui::DragValue::new(t).speed(0.05).range(-10.0..=5.0));
                    ui.end_row();
                }
            }
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
                .selected_text(h.loss_type.name())
                .show_ui(ui, |ui| {
                    for loss in [ValueLoss::Huber, ValueLoss::Mse] {
                        ui.selectable_value(&mut h.loss_type, loss, loss.name());
                    }
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
        let auto = chicane_agent::network_for(&setup.run, None);
        egui::ComboBox::from_label("network")
            .selected_text(
                setup
                    .network
                    .map_or_else(|| format!("auto ({auto})"), |n| n.name().to_string()),
            )
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut setup.network, None, "auto");
                for n in NetworkKind::ALL {
                    ui.selectable_value(&mut setup.network, Some(n), n.name());
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
    egui::CollapsingHeader::new("Camera realism").show(ui, |ui| {
        let cr = &mut setup.run.sim.camera_realism;
        ui.add(egui::Slider::new(&mut cr.lens_distortion, 0.0..=0.5).text("lens distortion k1"));
        ui.add(egui::Slider::new(&mut cr.vignetting, 0.0..=1.0).text("vignetting"));
        ui.add(egui::Slider::new(&mut cr.exposure, 0.25..=4.0).text("exposure"));
        ui.horizontal(|ui| {
            ui.label("white balance R G B");
            for g in &mut cr.white_balance {
                ui.add(egui::DragValue::new(g).range(0.5..=2.0).speed(0.01));
            }
        });
        ui.add(egui::Slider::new(&mut cr.motion_blur, 0.0..=0.9).text("motion blur"));
        ui.add(egui::Slider::new(&mut cr.jpeg_quality, 0..=100).text("JPEG quality (0 = off)"));
    });
    egui::CollapsingHeader::new("Scenery").show(ui, |ui| {
        let sc = &mut setup.run.sim.scenery;
        ui.add(egui::Slider::new(&mut sc.wall_height, 0.0..=3.0).text("wall height (m, 0 = none)"));
        ui.add(egui::Slider::new(&mut sc.wall_distance, 0.1..=20.0).text("wall distance (m)"));
        ui.horizontal(|ui| {
            ui.label("wall colour");
            ui.color_edit_button_srgb(&mut sc.wall_color);
        });
        ui.add(egui::Slider::new(&mut sc.background_objects, 0..=200).text("background objects"));
        ui.add(egui::Slider::new(&mut sc.shadows, 0..=100).text("shadows per episode"));
        ui.add(egui::Slider::new(&mut sc.shadow_strength, 0.0..=0.95).text("shadow strength"));
        ui.add(egui::Slider::new(&mut sc.tape_strips, 0..=200).text("tape strips per episode"));
        ui.add(egui::Slider::new(&mut sc.reflections, 0..=100).text("reflections per episode"));
        ui.add(
            egui::Slider::new(&mut sc.reflection_strength, 0.0..=1.0).text("reflection strength"),
        );
    });
    egui::CollapsingHeader::new("Physics randomisation").show(ui, |ui| {
        let pr = &mut setup.run.sim.physics_randomization;
        ui.checkbox(&mut pr.enabled, "enabled");
        ui.add_enabled_ui(pr.enabled, |ui| {
            ui.add(egui::Slider::new(&mut pr.grip, 0.0..=0.5).text("grip (+- fraction)"));
            ui.add(egui::Slider::new(&mut pr.mass, 0.0..=0.5).text("mass (+- fraction)"));
            ui.add(
                egui::Slider::new(&mut pr.motor_response, 0.0..=0.5).text("motor (+- fraction)"),
            );
            ui.add(
                egui::Slider::new(&mut pr.steering_offset_deg, 0.0..=5.0)
                    .text("steering offset (deg)"),
            );
            ui.add(egui::Slider::new(&mut pr.steering_gain, 0.0..=0.3).text("steering gain (+-)"));
            ui.add(
                egui::Slider::new(&mut pr.action_latency_steps, 0..=4).text("latency (steps, max)"),
            );
            ui.add(
                egui::Slider::new(&mut pr.action_noise, 0.0..=0.2).text("action noise (fraction)"),
            );
            ui.add(egui::Slider::new(&mut pr.frame_drop, 0.0..=0.3).text("frame drop probability"));
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
                log.error(e.chain());
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
