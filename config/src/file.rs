//! The run file as written (TOML), before it is resolved, and the resolved
//! run written back as a run file.

use crate::hyperparameters::Hyperparameters;
use crate::run::{RaceType, ResolvedRun};
use chicane_core::{ActionSpace, Sensor};
use chicane_sim::{BotConfig, ObjectPosition, ObstacleConfig, SimConfig};
use serde::{Deserialize, Serialize};

/// The `[race]` table: DeepRacer's race type and its options (their names
/// as in DeepRacer's training configs, lower case).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RaceToml {
    #[serde(rename = "type", default)]
    pub race_type: RaceType,
    pub number_of_obstacles: Option<usize>,
    pub randomize_obstacle_locations: Option<bool>,
    pub object_positions: Option<Vec<ObjectPosition>>,
    pub number_of_bot_cars: Option<usize>,
    pub bot_car_speed: Option<f64>,
    pub is_lane_change: Option<bool>,
    pub lower_lane_change_time: Option<f64>,
    pub upper_lane_change_time: Option<f64>,
    pub lane_change_distance: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscreteToml {
    pub steering_angle: f64,
    pub speed: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RangeToml {
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContinuousToml {
    pub steering_angle: RangeToml,
    pub speed: RangeToml,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionSpaceToml {
    pub discrete: Option<Vec<DiscreteToml>>,
    pub continuous: Option<ContinuousToml>,
}

/// `track`: one track, or several for multi-track training.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum TrackList {
    One(String),
    Many(Vec<String>),
}

/// A run file as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunToml {
    pub track: Option<TrackList>,
    pub track_switch_episodes: Option<u32>,
    pub reward: Option<String>,
    pub seed: Option<u64>,
    pub network: Option<String>,
    pub training_algorithm: Option<String>,
    pub sensor: Option<Vec<Sensor>>,
    pub model_metadata: Option<String>,
    pub action_space: Option<ActionSpaceToml>,
    pub hyperparameters: Option<Hyperparameters>,
    pub race: Option<RaceToml>,
    pub sim: Option<SimConfig>,
}

impl ActionSpaceToml {
    fn from_space(space: &ActionSpace) -> ActionSpaceToml {
        match space {
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
        }
    }
}

impl ResolvedRun {
    /// The resolved config as a run file (paths absolute), which loads back
    /// to the same run.
    pub fn to_toml(&self) -> String {
        to_toml(self)
    }
}

fn to_toml(run: &ResolvedRun) -> String {
    let mut sim = run.sim.clone();
    let (o, b) = (&sim.obstacles, &sim.bots);
    let race = match run.race_type {
        RaceType::TimeTrial => RaceToml::default(),
        RaceType::ObjectAvoidance => RaceToml {
            race_type: run.race_type,
            number_of_obstacles: Some(o.number_of_obstacles),
            randomize_obstacle_locations: Some(o.randomize_obstacle_locations),
            object_positions: Some(o.object_positions.clone()),
            ..RaceToml::default()
        },
        RaceType::HeadToBot => RaceToml {
            race_type: run.race_type,
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
        track: Some(if run.training_tracks.len() > 1 {
            TrackList::Many(run.training_tracks.iter().map(|t| t.0.clone()).collect())
        } else {
            TrackList::One(run.track_spec.clone())
        }),
        track_switch_episodes: (run.training_tracks.len() > 1).then_some(run.track_switch_episodes),
        reward: Some(run.reward.as_config_string()),
        seed: Some(run.seed),
        network: run.network.map(|n| n.name().to_string()),
        training_algorithm: Some(run.training_algorithm.name().to_string()),
        sensor: Some(sensors_of(&run.sim)),
        model_metadata: None,
        action_space: Some(ActionSpaceToml::from_space(&run.action_space)),
        hyperparameters: Some(run.hyperparameters.clone()),
        race: Some(race),
        sim: Some(sim),
    };
    let body =
        toml::to_string(&file).unwrap_or_else(|e| format!("# cannot write the config: {e}\n"));
    format!("# resolved from {}\n{body}", run.origin)
}

/// DeepRacer's sensor list for the simulator's camera and lidar (written
/// into run files, so a lidar-only or stereo run loads back as it was).
pub(crate) fn sensors_of(sim: &SimConfig) -> Vec<Sensor> {
    let mut v = Vec::new();
    if let Some(c) = &sim.camera {
        v.push(if c.stereo {
            Sensor::StereoCameras
        } else {
            Sensor::FrontFacingCamera
        });
    }
    if let Some(l) = &sim.lidar {
        v.push(if l.sectors.is_some() {
            Sensor::SectorLidar
        } else {
            Sensor::Lidar
        });
    }
    v
}
