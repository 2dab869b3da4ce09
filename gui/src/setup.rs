//! Setting up a run: track, reward function (editor, check, heat map),
//! action space, hyperparameters, sensors, race type, domain
//! randomisation; load and save the same TOML / `custom_files` as the CLI.

use crate::error::GuiError;
use crate::scene::ShownTrack;
use bevy::prelude::*;
use chicane_agent::{OutputPolicy, RunPlan, RunRequest};
use chicane_config::{RaceType, ResolvedRun, RewardSource, builtin_rewards, load_run, parse_run};
use chicane_core::{ActionSpace, DiscreteAction, NetworkKind, Range};
use chicane_reward::RhaiReward;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a reward script failed: the line (1-based, when the message
/// names one) and the message.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardIssue {
    /// The script line.
    pub line: Option<usize>,
    /// The compiler's or the function's message.
    pub message: String,
}

/// The name the editor's script compiles under (messages start with it).
pub const EDITOR_NAME: &str = "reward_function.rhai";

/// The line a reward error names: `NAME:LINE:COL: ...` or `NAME:LINE: ...`.
pub fn error_line(message: &str, name: &str) -> Option<usize> {
    let rest = message.split_once(&format!("{name}:"))?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Compiles the editor's Rhai source.
///
/// # Errors
/// The compile error with its line.
pub fn check_script(source: &str) -> Result<RhaiReward, RewardIssue> {
    RhaiReward::compile(source, EDITOR_NAME).map_err(|e| {
        let message = e.to_string();
        RewardIssue {
            line: error_line(&message, EDITOR_NAME),
            message,
        }
    })
}

/// The console's action-space generator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionGenerator {
    /// Largest steering angle (deg).
    pub max_steering_deg: f64,
    /// Steering angles.
    pub steering_levels: usize,
    /// Top speed (m/s).
    pub max_speed: f64,
    /// Speeds.
    pub speed_levels: usize,
}

impl Default for ActionGenerator {
    fn default() -> Self {
        Self {
            max_steering_deg: 30.0,
            steering_levels: 5,
            max_speed: 1.0,
            speed_levels: 2,
        }
    }
}

/// The run being set up, and the setup panel's fields.
#[derive(Resource, Debug)]
pub struct Setup {
    /// The run as edited (what Start trains).
    pub run: ResolvedRun,
    /// The run file to load or save (`.toml`, or a `custom_files` folder to load).
    pub config_path: String,
    /// The reward function's source in the editor.
    pub reward_text: String,
    /// Where the editor's script is saved (the run's `reward`).
    pub reward_path: String,
    /// The last check: Ok(summary) or the issue.
    pub reward_check: Option<Result<String, RewardIssue>>,
    /// The heat map of the last successful check.
    pub heat_map: Option<image::RgbImage>,
    /// Bumped when `heat_map` changes.
    pub heat_map_version: u64,
    /// The run folder training writes.
    pub out_dir: String,
    /// Envs stepped in parallel.
    pub num_envs: usize,
    /// Stop after this many minutes (0 = DeepRacer's limits only).
    pub max_minutes: f64,
    /// The network; `None`: the config's, else `FAST_CNN` with a camera,
    /// `MLP` with lidar only.
    pub network: Option<NetworkKind>,
    /// Resume the run folder instead of starting over.
    pub resume: bool,
    /// A DeepRacer `.npy` (or chicane `.toml`) track to import.
    pub import_path: String,
    /// Seed of the next generated track.
    pub generate_seed: u64,
    /// Length (m) of generated tracks.
    pub generate_length: f64,
    /// The action-space generator.
    pub generator: ActionGenerator,
    /// Working folder (generated tracks and saved scripts go here).
    pub workdir: PathBuf,
    /// Bumped when the track changes.
    pub track_version: u64,
    /// A track to add to the training tracks (multi-track training).
    pub extra_track_input: String,
}

impl Setup {
    /// A setup of `run`, working in `workdir`.
    pub fn new(run: ResolvedRun, workdir: PathBuf) -> Setup {
        let reward_text = reward_source(&run).unwrap_or_default();
        let reward_path = match &run.reward {
            RewardSource::File(p) => p.display().to_string(),
            RewardSource::Builtin(_) => workdir.join(EDITOR_NAME).display().to_string(),
        };
        Setup {
            config_path: workdir.join("run.toml").display().to_string(),
            out_dir: workdir.join("runs/gui").display().to_string(),
            network: None,
            run,
            reward_text,
            reward_path,
            reward_check: None,
            heat_map: None,
            heat_map_version: 0,
            num_envs: 4,
            max_minutes: 0.0,
            resume: false,
            import_path: String::new(),
            generate_seed: 1,
            generate_length: 20.0,
            generator: ActionGenerator::default(),
            workdir,
            track_version: 0,
            extra_track_input: String::new(),
        }
    }

    /// Replaces the track (a built-in name or a file); the other training
    /// tracks stay.
    ///
    /// # Errors
    /// The track loader's message naming the file.
    pub fn set_track(&mut self, spec: &str) -> Result<(), GuiError> {
        let rest = self.training_track_specs();
        let specs: Vec<&str> = std::iter::once(spec)
            .chain(rest.iter().skip(1).map(String::as_str))
            .collect();
        self.run.set_tracks(&specs)?;
        self.track_version += 1;
        Ok(())
    }

    /// The training tracks as named, the run's track first.
    pub fn training_track_specs(&self) -> Vec<String> {
        self.run
            .training_tracks
            .iter()
            .map(|t| t.0.clone())
            .collect()
    }

    /// Adds `spec` (a built-in name or a file) to the tracks training
    /// runs on (multi-track training: each env starts on its own and moves
    /// to the next every `track_switch_episodes` episodes).
    ///
    /// # Errors
    /// The track loader's message naming the file.
    pub fn add_training_track(&mut self, spec: &str) -> Result<(), GuiError> {
        let mut specs = self.training_track_specs();
        specs.push(spec.to_string());
        let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
        self.run.set_tracks(&refs)?;
        Ok(())
    }

    /// Removes training track `i`; the first (the run's own track) stays.
    pub fn remove_training_track(&mut self, i: usize) {
        if i > 0 && i < self.run.training_tracks.len() {
            self.run.training_tracks.remove(i);
        }
    }

    /// Generates a random track (seed `generate_seed`), saves it under the
    /// working folder and uses it.
    ///
    /// # Errors
    /// The generator's or the file's error.
    pub fn generate_track(&mut self) -> Result<PathBuf, GuiError> {
        let params = chicane_tracks::GenerateParams {
            length: self.generate_length,
            ..Default::default()
        };
        let track = chicane_tracks::Track::generate(self.generate_seed, &params)?;
        let dir = self.workdir.join("tracks");
        std::fs::create_dir_all(&dir).map_err(GuiError::io(&dir))?;
        let path = dir.join(format!("random-{}.toml", self.generate_seed));
        std::fs::write(&path, chicane_tracks::to_toml(&track)).map_err(GuiError::io(&path))?;
        self.set_track(&path.display().to_string())?;
        self.generate_seed += 1;
        Ok(path)
    }

    /// Loads a run file or `custom_files` folder (the CLI's loader).
    ///
    /// # Errors
    /// The loader's message naming the file and field.
    pub fn load(&mut self, path: &Path) -> Result<(), GuiError> {
        let run = load_run(Some(path))?;
        let workdir = self.workdir.clone();
        let keep = (self.out_dir.clone(), self.num_envs, self.max_minutes);
        *self = Setup::new(run, workdir);
        (self.out_dir, self.num_envs, self.max_minutes) = keep;
        self.config_path = path.display().to_string();
        self.track_version += 1;
        Ok(())
    }

    /// Saves the editor's script to `reward_path` and makes it the run's
    /// reward function.
    ///
    /// # Errors
    /// A script that does not compile (with its line), or an unwritable file.
    pub fn apply_reward(&mut self) -> Result<PathBuf, GuiError> {
        let is_py = self.reward_path.ends_with(".py");
        if !is_py && let Err(issue) = check_script(&self.reward_text) {
            let msg = issue.message.clone();
            self.reward_check = Some(Err(issue));
            return Err(GuiError::Invalid(msg));
        }
        let path = PathBuf::from(&self.reward_path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(GuiError::io(dir))?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &self.reward_text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(GuiError::io(&path))?;
        let abs = std::fs::canonicalize(&path).map_err(GuiError::io(&path))?;
        self.run.reward = RewardSource::File(abs.clone());
        // the file must load as the trainer will load it
        self.run.make_reward()?;
        Ok(abs)
    }

    /// The run as edited, checked by the CLI's loader (so a run the GUI
    /// starts is one `chicane train` would accept).
    ///
    /// # Errors
    /// The loader's message naming the field.
    pub fn validated_run(&self) -> Result<ResolvedRun, GuiError> {
        let text = self.run.to_toml();
        let mut run = parse_run(&text, "the GUI's setup", &self.workdir)?;
        run.origin = self.run.origin.clone();
        run.track = Arc::clone(&self.run.track);
        run.training_tracks = self.run.training_tracks.clone();
        Ok(run)
    }

    /// Writes the run as a TOML file the CLI loads (`chicane train FILE`).
    ///
    /// # Errors
    /// An invalid run or an unwritable file.
    pub fn save(&mut self, path: &Path) -> Result<(), GuiError> {
        self.validated_run()?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, self.run.to_toml())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(GuiError::io(path))?;
        self.config_path = path.display().to_string();
        Ok(())
    }

    /// Runs the reward check of `chicane reward check`: compile, then the
    /// heat map over the track at 2 m/s.
    pub fn check_reward(&mut self) {
        let result = check_script(&self.reward_text).and_then(|f| {
            chicane_sim::reward_heat_map(&self.run.track, Box::new(f), 2.0, 40.0).map_err(|e| {
                let message = e.to_string();
                RewardIssue {
                    line: error_line(&message, EDITOR_NAME),
                    message,
                }
            })
        });
        match result {
            Ok(map) => {
                self.reward_check = Some(Ok(format!(
                    "compiles and runs; on the road at 2 m/s the reward spans {:.4} (blue) .. {:.4} (red)",
                    map.low, map.high
                )));
                self.heat_map = Some(map.image);
                self.heat_map_version += 1;
            }
            Err(issue) => self.reward_check = Some(Err(issue)),
        }
    }

    /// Replaces the action space by the console generator's.
    ///
    /// # Errors
    /// The generator's message (DeepRacer's limits).
    pub fn generate_actions(&mut self) -> Result<(), GuiError> {
        let g = self.generator;
        self.run.action_space = chicane_core::generate_discrete(
            g.max_steering_deg,
            g.steering_levels,
            g.max_speed,
            g.speed_levels,
        )
        .map_err(GuiError::Invalid)?;
        Ok(())
    }

    /// The training the setup describes, as the run request every front
    /// end resolves (the run folder moves on to `<out>-2`, ... when it
    /// holds a run and Resume is off).
    pub fn request(&self) -> RunRequest {
        RunRequest {
            network: self.network.map(|n| n.name().to_string()),
            out: Some(PathBuf::from(&self.out_dir)),
            output_policy: OutputPolicy::NextFree,
            resume: self.resume,
            num_envs: Some(self.num_envs),
            max_time: (self.max_minutes > 0.0).then(|| format!("{}", self.max_minutes * 60.0)),
            ..RunRequest::default()
        }
    }

    /// The setup's run (checked by the CLI's loader) resolved with its
    /// request: what Start trains.
    ///
    /// # Errors
    /// The field at fault, as `chicane train` would name it.
    pub fn plan(&self) -> Result<RunPlan, GuiError> {
        Ok(self.request().plan(self.validated_run()?)?)
    }

    /// Switches between a discrete and a continuous space (DeepRacer's
    /// defaults for the new kind).
    pub fn set_continuous(&mut self, continuous: bool) {
        let is = matches!(self.run.action_space, ActionSpace::Continuous { .. });
        if continuous == is {
            return;
        }
        self.run.action_space = if continuous {
            ActionSpace::Continuous {
                steering_angle_deg: Range {
                    low: -30.0,
                    high: 30.0,
                },
                speed: Range {
                    low: 0.5,
                    high: 1.0,
                },
            }
        } else {
            ActionSpace::Discrete(
                [-30.0, -15.0, 0.0, 15.0, 30.0]
                    .iter()
                    .map(|&a| DiscreteAction {
                        steering_angle_deg: a,
                        speed: 0.6,
                    })
                    .collect(),
            )
        };
    }

    /// Sets the race type (DeepRacer's defaults for its objects).
    pub fn set_race_type(&mut self, race: RaceType) {
        self.run.set_race_type(race);
    }
}

/// The Rhai source of a run's reward function (the built-in's, or the file's).
pub fn reward_source(run: &ResolvedRun) -> Option<String> {
    match &run.reward {
        RewardSource::Builtin(name) => builtin_rewards()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| (*s).to_string()),
        RewardSource::File(p) => std::fs::read_to_string(p).ok(),
    }
}

/// Keeps the 3D scene's track in step with the setup's.
fn show_setup_track(setup: Res<Setup>, shown: Option<ResMut<ShownTrack>>, mut commands: Commands) {
    match shown {
        Some(mut s) if s.version != setup.track_version => {
            s.track = Arc::clone(&setup.run.track);
            s.version = setup.track_version;
        }
        Some(_) => {}
        None => commands.insert_resource(ShownTrack {
            track: Arc::clone(&setup.run.track),
            version: setup.track_version,
        }),
    }
}

/// The run setup (the editor feature): the [`Setup`] resource must be
/// inserted by the app.
#[derive(Debug, Default)]
pub struct SetupPlugin;

impl Plugin for SetupPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(PreUpdate, show_setup_track);
    }
}
