//! Loading a run: the built-in defaults, a run `.toml`, or a DeepRacer
//! `custom_files` folder, resolved and validated once.
//!
//! Every relative path in a run file is resolved against the file's own
//! folder, exactly once, and recorded absolute, so the resolved run (and
//! the `run.toml` a training writes) loads from any working directory.

use crate::error::{ConfigError, field};
use crate::file::{ActionSpaceToml, RaceToml, RunToml, TrackList};
use crate::hyperparameters::Hyperparameters;
use crate::rewards::RewardSource;
use crate::run::{RaceType, ResolvedRun};
use crate::suggest::with_suggestion;
use chicane_core::{
    ActionSpace, DiscreteAction, LidarConfig, ModelMetadata, NetworkKind, Range, Sensor,
    TrainingAlgorithm,
};
use chicane_sim::{BotConfig, ObstacleConfig, SimConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The built-in run, embedded in the binary.
const DEFAULT_RUN: &str = include_str!("default_run.toml");

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

/// Parses run-file text; `origin` names it in errors and `base` (the
/// file's folder) resolves relative paths.
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

/// `p` against `base` (once), made absolute against the working directory
/// (symbolic links and `..` resolved when the file exists).
fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let joined = if Path::new(p).is_absolute() {
        PathBuf::from(p)
    } else {
        base.join(p)
    };
    std::fs::canonicalize(&joined)
        .or_else(|_| std::path::absolute(&joined))
        .unwrap_or(joined)
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

fn inline_action_space(a: &ActionSpaceToml, origin: &str) -> Result<ActionSpace, ConfigError> {
    Ok(match (&a.discrete, &a.continuous) {
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
    })
}

/// The `[race]` table onto the simulator's obstacles and bots.
fn apply_race(sim: &mut SimConfig, race: &RaceToml, origin: &str) -> Result<(), ConfigError> {
    match race.race_type {
        RaceType::TimeTrial => {
            if race.number_of_obstacles.unwrap_or(0) > 0 || race.number_of_bot_cars.unwrap_or(0) > 0
            {
                return Err(field(
                    origin,
                    "race.type",
                    "a time_trial has no obstacles or bot cars; use type = \"object_avoidance\" or \"head_to_bot\"",
                ));
            }
        }
        RaceType::ObjectAvoidance => {
            sim.obstacles = ObstacleConfig {
                number_of_obstacles: race.number_of_obstacles.unwrap_or(3),
                randomize_obstacle_locations: race.randomize_obstacle_locations.unwrap_or(false),
                object_positions: race.object_positions.clone().unwrap_or_default(),
                size: None,
            };
        }
        RaceType::HeadToBot => {
            let d = BotConfig::default();
            sim.bots = BotConfig {
                number_of_bot_cars: race.number_of_bot_cars.unwrap_or(3),
                bot_car_speed: race.bot_car_speed.unwrap_or(d.bot_car_speed),
                is_lane_change: race.is_lane_change.unwrap_or(d.is_lane_change),
                lower_lane_change_time: race
                    .lower_lane_change_time
                    .unwrap_or(d.lower_lane_change_time),
                upper_lane_change_time: race
                    .upper_lane_change_time
                    .unwrap_or(d.upper_lane_change_time),
                lane_change_distance: race.lane_change_distance.unwrap_or(d.lane_change_distance),
            };
        }
    }
    Ok(())
}

fn resolve(
    raw: RunToml,
    origin: &str,
    base: &Path,
    meta: Option<ModelMetadata>,
) -> Result<ResolvedRun, ConfigError> {
    // tracks: a built-in name stays a name, anything else is a path
    let specs: Vec<String> = match raw.track.clone() {
        None => vec![chicane_tracks::DEFAULT_TRACK.to_string()],
        Some(TrackList::One(t)) => vec![t],
        Some(TrackList::Many(list)) if list.is_empty() => {
            return Err(field(
                origin,
                "track",
                "an empty list; give a track, or several as [\"a.npy\", \"b.npy\"]",
            ));
        }
        Some(TrackList::Many(list)) => list,
    };
    let mut training_tracks = Vec::with_capacity(specs.len());
    for track_spec in specs {
        let track_spec = if chicane_tracks::builtin_source(&track_spec).is_some() {
            track_spec
        } else {
            let path = resolve_path(base, &track_spec);
            if path.exists() {
                path.display().to_string()
            } else {
                // keep the name as written so the error says what the user typed
                track_spec
            }
        };
        let track = chicane_tracks::load(&track_spec).map_err(|source| ConfigError::Track {
            origin: origin.to_string(),
            source,
        })?;
        training_tracks.push((track_spec, Arc::new(track)));
    }
    let (track_spec, track) = training_tracks[0].clone();
    let track_switch_episodes = raw.track_switch_episodes.unwrap_or(1);
    if track_switch_episodes == 0 {
        return Err(field(
            origin,
            "track_switch_episodes",
            "must be at least 1 (episodes on a track before an env moves to the next)",
        ));
    }

    // action space and sensors: an inline table, or a model_metadata.json
    let meta = match (&raw.model_metadata, meta) {
        (Some(p), _) => Some(metadata_file(&resolve_path(base, p), origin)?),
        (None, m) => m,
    };
    let inline = raw
        .action_space
        .as_ref()
        .map(|a| inline_action_space(a, origin))
        .transpose()?;
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
    // sensors: the file's `sensor` list (DeepRacer's names), else its
    // model_metadata.json's
    match (&raw.sensor, &meta) {
        (Some(list), _) => {
            if list.is_empty() {
                return Err(field(
                    origin,
                    "sensor",
                    "list at least one of FRONT_FACING_CAMERA, STEREO_CAMERAS, LIDAR, SECTOR_LIDAR",
                ));
            }
            apply_sensors(&mut sim, list);
        }
        (None, Some(m)) => apply_sensors(&mut sim, &m.sensor),
        (None, None) => {}
    }
    let race = raw.race.unwrap_or_default();
    apply_race(&mut sim, &race, origin)?;
    sim.validate()
        .map_err(|e| field(origin, "sim", e.to_string()))?;

    let reward = match raw.reward.as_deref() {
        None => RewardSource::Builtin("center_line".into()),
        Some(r) => match RewardSource::parse(r).map_err(|p| field(origin, "reward", p))? {
            RewardSource::File(p) => RewardSource::File(resolve_path(base, &p.to_string_lossy())),
            builtin => builtin,
        },
    };
    let network = match raw.network.as_deref() {
        Some(n) => {
            Some(NetworkKind::parse(n).map_err(|e| field(origin, "network", e.to_string()))?)
        }
        None => meta.as_ref().and_then(|m| m.neural_network),
    };
    let training_algorithm = match raw.training_algorithm.as_deref() {
        Some(a) => TrainingAlgorithm::parse(a)
            .map_err(|e| field(origin, "training_algorithm", e.to_string()))?,
        None => meta
            .as_ref()
            .and_then(|m| m.training_algorithm)
            .unwrap_or_default(),
    };
    let run = ResolvedRun {
        origin: origin.to_string(),
        track_spec,
        track,
        training_tracks,
        track_switch_episodes,
        reward,
        action_space,
        network,
        training_algorithm,
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
    // a configured [sim.lidar] is kept; the list only says whether there is one
    if sensors.contains(&Sensor::SectorLidar) {
        let l = sim.lidar.get_or_insert_with(LidarConfig::default);
        l.sectors = l.sectors.or(Some(8));
    } else if sensors.contains(&Sensor::Lidar) {
        sim.lidar.get_or_insert_with(LidarConfig::default);
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
    // names relative to the folder: `resolve` joins them to it once
    let raw = RunToml {
        reward: dir
            .join("reward_function.py")
            .is_file()
            .then(|| "reward_function.py".to_string()),
        hyperparameters,
        ..RunToml::default()
    };
    resolve(raw, &origin, dir, meta)
}
