//! The resolved run: everything a trainer needs, checked once.

use crate::hyperparameters::Hyperparameters;
use crate::rewards::RewardSource;
use chicane_core::{ActionSpace, NetworkKind, TrainingAlgorithm};
use chicane_reward::{RewardError, RewardFunction};
use chicane_sim::SimConfig;
use chicane_tracks::Track;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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

impl RaceType {
    /// Every race type, by DeepRacer's lower-case name.
    pub const ALL: [RaceType; 3] = [
        RaceType::TimeTrial,
        RaceType::ObjectAvoidance,
        RaceType::HeadToBot,
    ];

    /// DeepRacer's name (`time_trial`, `object_avoidance`, `head_to_bot`).
    pub fn name(self) -> &'static str {
        match self {
            RaceType::TimeTrial => "time_trial",
            RaceType::ObjectAvoidance => "object_avoidance",
            RaceType::HeadToBot => "head_to_bot",
        }
    }
}

impl std::str::FromStr for RaceType {
    type Err = chicane_core::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RaceType::ALL
            .into_iter()
            .find(|r| r.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                let names: Vec<&'static str> = RaceType::ALL.iter().map(|r| r.name()).collect();
                chicane_core::UnknownName::new("race type", s, &names)
            })
    }
}

impl std::fmt::Display for RaceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A run config, resolved and validated: everything a trainer needs.
#[derive(Debug, Clone)]
pub struct ResolvedRun {
    /// Where it came from (a file, a folder, or "built-in defaults").
    pub origin: String,
    /// The track as named (built-in name or resolved path).
    pub track_spec: String,
    /// The loaded track (the first of `training_tracks`).
    pub track: Arc<Track>,
    /// Every track training runs on, as named and loaded, the first being
    /// `track`: more than one for multi-track training (run file `track =
    /// ["a.npy", "b.npy"]`), each env starting on its own and moving to the
    /// next every `track_switch_episodes` episodes.
    pub training_tracks: Vec<(String, Arc<Track>)>,
    /// Episodes on one track before an env moves to the next (multi-track
    /// training). Default 1.
    pub track_switch_episodes: u32,
    /// The reward function's source.
    pub reward: RewardSource,
    /// The action space.
    pub action_space: ActionSpace,
    /// The network, if the config (or its model_metadata.json) names one.
    pub network: Option<NetworkKind>,
    /// The training algorithm (the config's, its model_metadata.json's, or
    /// DeepRacer's default `clipped_ppo`).
    pub training_algorithm: TrainingAlgorithm,
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
    /// The track loader's error naming the file and what is wrong (a name
    /// that is neither a file nor a built-in lists the built-ins).
    pub fn set_track(&mut self, spec: &str) -> Result<(), chicane_tracks::TrackError> {
        self.set_tracks(&[spec])
    }

    /// Replaces the training tracks with `specs` (multi-track training
    /// when there are several; `--track` given several times). Files are
    /// recorded by their absolute paths. An empty list changes nothing.
    ///
    /// # Errors
    /// The track loader's error for the first track that does not load
    /// (the run is unchanged then).
    pub fn set_tracks(&mut self, specs: &[&str]) -> Result<(), chicane_tracks::TrackError> {
        let mut tracks = Vec::with_capacity(specs.len());
        for spec in specs {
            let track = Arc::new(chicane_tracks::load(spec)?);
            let named = std::fs::canonicalize(spec)
                .ok()
                .filter(|p| p.is_file())
                .map_or_else(|| spec.to_string(), |p| p.display().to_string());
            tracks.push((named, track));
        }
        let Some((spec, track)) = tracks.first().cloned() else {
            return Ok(());
        };
        self.track = track;
        self.track_spec = spec;
        self.training_tracks = tracks;
        Ok(())
    }

    /// Sets the race type, giving the new type DeepRacer's default count of
    /// objects (3 obstacles or 3 bot cars) when the run has none, and
    /// removing the objects of the other types.
    pub fn set_race_type(&mut self, race_type: RaceType) {
        match race_type {
            RaceType::TimeTrial => {
                self.sim.obstacles.number_of_obstacles = 0;
                self.sim.obstacles.object_positions.clear();
                self.sim.bots.number_of_bot_cars = 0;
            }
            RaceType::ObjectAvoidance => {
                self.sim.bots.number_of_bot_cars = 0;
                if self.sim.obstacles.number_of_obstacles == 0 {
                    self.sim.obstacles.number_of_obstacles = 3;
                }
            }
            RaceType::HeadToBot => {
                self.sim.obstacles.number_of_obstacles = 0;
                self.sim.obstacles.object_positions.clear();
                if self.sim.bots.number_of_bot_cars == 0 {
                    self.sim.bots.number_of_bot_cars = 3;
                }
            }
        }
        self.race_type = race_type;
    }

    /// A fresh instance of the run's reward function.
    ///
    /// # Errors
    /// The script's compile error (checked already when the run was loaded).
    pub fn make_reward(&self) -> Result<Box<dyn RewardFunction>, RewardError> {
        self.reward.load()
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
            .map(|_| self.make_reward())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| chicane_sim::SimError::Config {
                field: "reward".into(),
                problem: chicane_core::error_chain(&e),
            })?;
        let tracks: Vec<Arc<Track>> = self
            .training_tracks
            .iter()
            .map(|t| Arc::clone(&t.1))
            .collect();
        chicane_sim::VecEnv::with_tracks(
            self.sim.clone(),
            &tracks,
            self.track_switch_episodes,
            self.action_space.clone(),
            rewards,
            num_threads,
        )
    }
}
