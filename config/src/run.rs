//! Parsing and resolving a run config.

use crate::hyperparameters::Hyperparameters;
use crate::suggest::with_suggestion;
use chicane_core::{ActionSpace, DiscreteAction, LidarConfig, ModelMetadata, Range, Sensor};
use chicane_reward::{RewardError, RewardFunction, RhaiReward, load_reward};
use chicane_sim::{BotConfig, ObstacleConfig, SimConfig};
use chicane_tracks::Track;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The built-in run, embedded in the binary.
const DEFAULT_RUN: &str = include_str!("default_run.toml");

/// Built-in reward functions usable as `reward = "builtin:NAME"`.
const BUILTIN_REWARDS: &[(&str, &str)] = &[
    (
        "center_line",
        include_str!("../../reward_fns/examples/center_line.rhai"),
    ),
    (
        "progress_speed",
        include_str!("../../reward_fns/examples/progress_speed.rhai"),
    ),
    (
        "speed_on_straights",
        include_str!("../../reward_fns/examples/speed_on_straights.rhai"),
    ),
    (
        "object_avoidance",
        include_str!("../../reward_fns/examples/object_avoidance.rhai"),
    ),
    (
        "heading_alignment",
        include_str!("../../reward_fns/examples/heading_alignment.rhai"),
    ),
];

/// The built-in reward functions usable as `reward = "builtin:NAME"`:
/// (name, Rhai source).
pub fn builtin_rewards() -> &'static [(&'static str, &'static str)] {
    BUILTIN_REWARDS
}

/// A run config that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// TOML or JSON that does not parse or fit the schema.
    #[error("{origin}: {detail}")]
    Syntax {
        /// The file.
        origin: String,
        /// The parser's message (with line and column, and a suggestion for
        /// a misspelt key).
        detail: String,
    },
    /// A field holds a value that cannot be used.
    #[error("{origin}: {field}: {problem}")]
    Field {
        /// The file.
        origin: String,
        /// The field.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The track could not be loaded.
    #[error("{origin}: track: {source}")]
    Track {
        /// The file.
        origin: String,
        /// The track loader's error.
        #[source]
        source: chicane_tracks::TrackError,
    },
    /// The reward function could not be loaded.
    #[error("{origin}: reward: {source}")]
    Reward {
        /// The file.
        origin: String,
        /// The script's error (with its line).
        #[source]
        source: RewardError,
    },
}

/// DeepRacer's race types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RaceType {
    /// Alone on the track.
    #[default]
    TimeTrial,
    /// Boxes on the track.
    ObjectAvoidance,
    /// Bot cars on the track.
    HeadToBot,
}

/// The `[race]` table: DeepRacer's race type and its options (their names
/// as in DeepRacer's training configs, lower case).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RaceToml {
    #[serde(rename = "type", default)]
    race_type: RaceType,
    number_of_obstacles: Option<usize>,
    randomize_obstacle_locations: Option<bool>,
    object_positions: Option<Vec<String>>,
    number_of_bot_cars: Option<usize>,
    bot_car_speed: Option<f64>,
    is_lane_change: Option<bool>,
    lower_lane_change_time: Option<f64>,
    upper_lane_change_time: Option<f64>,
    lane_change_distance: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscreteToml {
    steering_angle: f64,
    speed: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeToml {
    low: f64,
    high: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContinuousToml {
    steering_angle: RangeToml,
    speed: RangeToml,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionSpaceToml {
    discrete: Option<Vec<DiscreteToml>>,
    continuous: Option<ContinuousToml>,
}

/// A run file as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunToml {
    track: Option<String>,
    reward: Option<String>,
    seed: Option<u64>,
    network: Option<String>,
    model_metadata: Option<String>,
    action_space: Option<ActionSpaceToml>,
    hyperparameters: Option<Hyperparameters>,
    race: Option<RaceToml>,
    sim: Option<SimConfig>,
}

/// Where the reward function comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RewardSource {
    /// One of the embedded examples (`builtin:NAME`).
    Builtin(String),
    /// A .rhai or .py file.
    File(PathBuf),
}

/// A run config, resolved and validated: everything a trainer needs.
#[derive(Debug, Clone)]
pub struct ResolvedRun {
    /// Where it came from (a file, a folder, or "built-in defaults").
    pub origin: String,
    /// The track as named (built-in name or resolved path).
    pub track_spec: String,
    /// The loaded track.
    pub track: Arc<Track>,
    /// The reward function's source.
    pub reward: RewardSource,
    /// The action space.
    pub action_space: ActionSpace,
    /// The network name, if the config names one.
    pub network: Option<String>,
    /// The training algorithm named by a model_metadata.json, if any.
    pub training_algorithm: Option<String>,
    /// Training hyperparameters.
    pub hyperparameters: Hyperparameters,
    /// The race type.
    pub race_type: RaceType,
    /// The simulator config (sensors, obstacles and bots included).
    pub sim: SimConfig,
    /// The seed.
    pub seed: u64,
}

impl ResolvedRun {
    /// Replaces the track with `spec` (a built-in name, a chicane `.toml`
    /// or a DeepRacer `.npy`). A file is recorded by its absolute path, so
    /// the run's `run.toml` loads from anywhere.
    ///
    /// # Errors
    /// The track loader's error naming the file and what is wrong.
    pub fn set_track(&mut self, spec: &str) -> Result<(), chicane_tracks::TrackError> {
        self.track = Arc::new(chicane_tracks::load(spec)?);
        self.track_spec = std::fs::canonicalize(spec)
            .ok()
            .filter(|p| p.is_file())
            .map_or_else(|| spec.to_string(), |p| p.display().to_string());
        Ok(())
    }

    /// A fresh instance of the run's reward function.
    ///
    /// # Errors
    /// The script's compile error (checked already when the run was loaded).
    pub fn make_reward(&self) -> Result<Box<dyn RewardFunction>, RewardError> {
        match &self.reward {
            RewardSource::Builtin(name) => {
                let src = BUILTIN_REWARDS
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, s)| *s)
                    .unwrap_or("");
                Ok(Box::new(RhaiReward::compile(
                    src,
                    &format!("builtin:{name}"),
                )?))
            }
            RewardSource::File(path) => load_reward(path),
        }
    }

    /// `num_envs` envs of this run, each with its own instance of the
    /// reward function, stepped on `num_threads` threads (0 = one per
    /// core).
    ///
    /// # Errors
    /// [`chicane_sim::SimError::Config`] naming `reward` when the script
    /// fails to compile, or the simulator's own config errors.
    pub fn vec_env(
        &self,
        num_envs: usize,
        num_threads: usize,
    ) -> Result<chicane_sim::VecEnv, chicane_sim::SimError> {
        let rewards = (0..num_envs)
            .map(|_| self.make_reward().map(Some))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| chicane_sim::SimError::Config {
                field: "reward".into(),
                problem: e.to_string(),
            })?;
        let rewards = std::sync::Mutex::new(rewards);
        chicane_sim::VecEnv::new(
            self.sim.clone(),
            Arc::clone(&self.track),
            self.action_space.clone(),
            |i| {
                rewards
                    .lock()
                    .ok()
                    .and_then(|mut r| r.get_mut(i).and_then(Option::take))
                    .unwrap_or_else(|| Box::new(chicane_reward::FollowCenterLine))
            },
            num_envs,
            num_threads,
        )
    }

    /// The resolved config as a run file (paths absolute), which loads back
    /// to the same run.
    pub fn to_toml(&self) -> String {
        let action_space = match &self.action_space {
            ActionSpace::Discrete(list) => ActionSpaceToml {
                discrete: Some(
                    list.iter()
                        .map(|a| DiscreteToml {
                            steering_angle: a.steering_angle_deg,
                            speed: a.speed,
                        })
                        .collect(),
                ),
                continuous: None,
            },
            ActionSpace::Continuous {
                steering_angle_deg,
                speed,
            } => ActionSpaceToml {
                discrete: None,
                continuous: Some(ContinuousToml {
                    steering_angle: RangeToml {
                        low: steering_angle_deg.low,
                        high: steering_angle_deg.high,
                    },
                    speed: RangeToml {
                        low: speed.low,
                        high: speed.high,
                    },
                }),
            },
        };
        let mut sim = self.sim.clone();
        let (o, b) = (&sim.obstacles, &sim.bots);
        let race = match self.race_type {
            RaceType::TimeTrial => RaceToml::default(),
            RaceType::ObjectAvoidance => RaceToml {
                race_type: self.race_type,
                number_of_obstacles: Some(o.number_of_obstacles),
                randomize_obstacle_locations: Some(o.randomize_obstacle_locations),
                object_positions: Some(o.object_positions.clone()),
                ..RaceToml::default()
            },
            RaceType::HeadToBot => RaceToml {
                race_type: self.race_type,
                number_of_bot_cars: Some(b.number_of_bot_cars),
                bot_car_speed: Some(b.bot_car_speed),
                is_lane_change: Some(b.is_lane_change),
                lower_lane_change_time: Some(b.lower_lane_change_time),
                upper_lane_change_time: Some(b.upper_lane_change_time),
                lane_change_distance: Some(b.lane_change_distance),
                ..RaceToml::default()
            },
        };
        sim.obstacles = ObstacleConfig::default();
        sim.bots = BotConfig::default();
        let file = RunToml {
            track: Some(self.track_spec.clone()),
            reward: Some(match &self.reward {
                RewardSource::Builtin(n) => format!("builtin:{n}"),
                RewardSource::File(p) => p.display().to_string(),
            }),
            seed: Some(self.seed),
            network: self.network.clone(),
            model_metadata: None,
            action_space: Some(action_space),
            hyperparameters: Some(self.hyperparameters.clone()),
            race: Some(race),
            sim: Some(sim),
        };
        let body =
            toml::to_string(&file).unwrap_or_else(|e| format!("# cannot write the config: {e}\n"));
        format!("# resolved from {}\n{body}", self.origin)
    }
}

fn field(origin: &str, field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        origin: origin.to_string(),
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// Loads a run: `None` for the built-in defaults, a `.toml` file, or a
/// DeepRacer `custom_files` folder. Relative paths in a file are relative
/// to the file's folder.
///
/// # Errors
/// [`ConfigError`] naming the file and field, before any work starts:
/// syntax, unknown keys (with a suggestion), bad values, a missing or broken
/// track, reward script or model_metadata.json.
pub fn load_run(path: Option<&Path>) -> Result<ResolvedRun, ConfigError> {
    match path {
        None => parse_run(DEFAULT_RUN, "built-in defaults", Path::new(".")),
        Some(p) if p.is_dir() => load_custom_files(p),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
                path: p.to_path_buf(),
                source,
            })?;
            let base = p
                .parent()
                .filter(|b| !b.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            parse_run(&text, &p.display().to_string(), base)
        }
    }
}

/// Parses run-file text; `origin` names it in errors and `base` resolves
/// relative paths.
///
/// # Errors
/// As [`load_run`].
pub fn parse_run(text: &str, origin: &str, base: &Path) -> Result<ResolvedRun, ConfigError> {
    let raw: RunToml = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: origin.to_string(),
        detail: with_suggestion(&e.to_string()),
    })?;
    resolve(raw, origin, base, None)
}

fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn metadata_file(path: &Path, origin: &str) -> Result<ModelMetadata, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ModelMetadata::parse(&text, &path.display().to_string()).map_err(|e| ConfigError::Field {
        origin: origin.to_string(),
        field: "model_metadata".into(),
        problem: e.to_string(),
    })
}

fn resolve(
    raw: RunToml,
    origin: &str,
    base: &Path,
    meta: Option<ModelMetadata>,
) -> Result<ResolvedRun, ConfigError> {
    // track: a built-in name stays a name, anything else is a path
    let track_spec = raw
        .track
        .clone()
        .unwrap_or_else(|| chicane_tracks::DEFAULT_TRACK.to_string());
    let track_spec = if chicane_tracks::builtin_source(&track_spec).is_some() {
        track_spec
    } else {
        resolve_path(base, &track_spec).display().to_string()
    };
    let track = chicane_tracks::load(&track_spec).map_err(|source| ConfigError::Track {
        origin: origin.to_string(),
        source,
    })?;

    // action space and sensors: an inline table, or a model_metadata.json
    let meta = match (&raw.model_metadata, meta) {
        (Some(p), _) => Some(metadata_file(&resolve_path(base, p), origin)?),
        (None, m) => m,
    };
    let inline = match &raw.action_space {
        None => None,
        Some(a) => Some(match (&a.discrete, &a.continuous) {
            (Some(list), None) => ActionSpace::Discrete(
                list.iter()
                    .map(|d| DiscreteAction {
                        steering_angle_deg: d.steering_angle,
                        speed: d.speed,
                    })
                    .collect(),
            ),
            (None, Some(c)) => ActionSpace::Continuous {
                steering_angle_deg: Range {
                    low: c.steering_angle.low,
                    high: c.steering_angle.high,
                },
                speed: Range {
                    low: c.speed.low,
                    high: c.speed.high,
                },
            },
            _ => {
                return Err(field(
                    origin,
                    "action_space",
                    "give either `discrete = [...]` or `continuous = {...}`",
                ));
            }
        }),
    };
    let action_space = match (&meta, inline) {
        (Some(_), Some(_)) => {
            return Err(field(
                origin,
                "action_space",
                "give the action space inline or by model_metadata, not both",
            ));
        }
        (Some(m), None) => m.action_space.clone(),
        (None, Some(a)) => a,
        (None, None) => ActionSpace::default(),
    };
    action_space
        .validate()
        .map_err(|e| field(origin, "action_space", e.to_string()))?;

    let hyperparameters = raw.hyperparameters.unwrap_or_default();
    hyperparameters
        .validate()
        .map_err(|(f, p)| field(origin, &f, p))?;

    let mut sim = raw.sim.unwrap_or_default();
    if sim.obstacles != ObstacleConfig::default() || sim.bots != BotConfig::default() {
        return Err(field(
            origin,
            "sim.obstacles",
            "set obstacles and bot cars in the [race] table",
        ));
    }
    if let Some(m) = &meta {
        apply_sensors(&mut sim, &m.sensor);
    }
    let race = raw.race.unwrap_or_default();
    let (o, b) = (&race, &race);
    match race.race_type {
        RaceType::TimeTrial => {
            if o.number_of_obstacles.unwrap_or(0) > 0 || b.number_of_bot_cars.unwrap_or(0) > 0 {
                return Err(field(
                    origin,
                    "race.type",
                    "a time_trial has no obstacles or bot cars; use type = \"object_avoidance\" or \"head_to_bot\"",
                ));
            }
        }
        RaceType::ObjectAvoidance => {
            sim.obstacles = ObstacleConfig {
                number_of_obstacles: o.number_of_obstacles.unwrap_or(3),
                randomize_obstacle_locations: o.randomize_obstacle_locations.unwrap_or(false),
                object_positions: o.object_positions.clone().unwrap_or_default(),
                size: None,
            };
        }
        RaceType::HeadToBot => {
            let d = BotConfig::default();
            sim.bots = BotConfig {
                number_of_bot_cars: b.number_of_bot_cars.unwrap_or(3),
                bot_car_speed: b.bot_car_speed.unwrap_or(d.bot_car_speed),
                is_lane_change: b.is_lane_change.unwrap_or(d.is_lane_change),
                lower_lane_change_time: b
                    .lower_lane_change_time
                    .unwrap_or(d.lower_lane_change_time),
                upper_lane_change_time: b
                    .upper_lane_change_time
                    .unwrap_or(d.upper_lane_change_time),
                lane_change_distance: b.lane_change_distance.unwrap_or(d.lane_change_distance),
            };
        }
    }
    sim.validate()
        .map_err(|e| field(origin, "sim", e.to_string()))?;

    let reward = match raw.reward.as_deref() {
        None => RewardSource::Builtin("center_line".into()),
        Some(r) => match r.strip_prefix("builtin:") {
            Some(name) => {
                if !BUILTIN_REWARDS.iter().any(|(n, _)| *n == name) {
                    let names: Vec<&str> = BUILTIN_REWARDS.iter().map(|(n, _)| *n).collect();
                    return Err(field(
                        origin,
                        "reward",
                        format!(
                            "no built-in reward `{name}`; built-ins are {}",
                            names.join(", ")
                        ),
                    ));
                }
                RewardSource::Builtin(name.to_string())
            }
            None => RewardSource::File(resolve_path(base, r)),
        },
    };
    let run = ResolvedRun {
        origin: origin.to_string(),
        track_spec,
        track: Arc::new(track),
        reward,
        action_space,
        network: raw
            .network
            .or_else(|| meta.as_ref().and_then(|m| m.neural_network.clone())),
        training_algorithm: meta.as_ref().and_then(|m| m.training_algorithm.clone()),
        hyperparameters,
        race_type: race.race_type,
        sim,
        seed: raw.seed.unwrap_or(0),
    };
    // compile the reward now, so a broken script stops the run before any work
    run.make_reward().map_err(|source| ConfigError::Reward {
        origin: origin.to_string(),
        source,
    })?;
    Ok(run)
}

/// DeepRacer sensors onto the simulator's camera and lidar.
fn apply_sensors(sim: &mut SimConfig, sensors: &[Sensor]) {
    let camera = sensors
        .iter()
        .any(|s| matches!(s, Sensor::FrontFacingCamera | Sensor::StereoCameras));
    let stereo = sensors.contains(&Sensor::StereoCameras);
    if !camera {
        sim.camera = None;
    } else if let Some(c) = sim.camera.as_mut() {
        c.stereo = stereo;
    } else {
        sim.camera = Some(chicane_core::CameraConfig {
            stereo,
            ..Default::default()
        });
    }
    if sensors.contains(&Sensor::SectorLidar) {
        sim.lidar = Some(LidarConfig {
            sectors: Some(8),
            ..LidarConfig::default()
        });
    } else if sensors.contains(&Sensor::Lidar) {
        sim.lidar = Some(LidarConfig::default());
    }
}

/// A DeepRacer `custom_files` folder: `reward_function.py`,
/// `model_metadata.json` and `hyperparameters.json` (each optional).
fn load_custom_files(dir: &Path) -> Result<ResolvedRun, ConfigError> {
    let origin = dir.display().to_string();
    let meta_path = dir.join("model_metadata.json");
    let meta = if meta_path.is_file() {
        Some(metadata_file(&meta_path, &origin)?)
    } else {
        None
    };
    let hp_path = dir.join("hyperparameters.json");
    let hyperparameters = if hp_path.is_file() {
        let text = std::fs::read_to_string(&hp_path).map_err(|source| ConfigError::Io {
            path: hp_path.clone(),
            source,
        })?;
        Some(
            serde_json::from_str::<Hyperparameters>(&text).map_err(|e| ConfigError::Syntax {
                origin: hp_path.display().to_string(),
                detail: with_suggestion(&e.to_string()),
            })?,
        )
    } else {
        None
    };
    let reward_py = dir.join("reward_function.py");
    let raw = RunToml {
        reward: reward_py.is_file().then(|| reward_py.display().to_string()),
        hyperparameters,
        ..RunToml::default()
    };
    resolve(raw, &origin, dir, meta)
}
