//! The names a run gives its network and its training algorithm
//! (`model_metadata.json`'s `neural_network` and `training_algorithm`),
//! parsed once into types.
//!
//! The layer shapes live here too, so the trainer, the exporters and the
//! car agree on what each name means.

use crate::suggest::closest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A name that is not one of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}`{}; known: {}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
pub struct UnknownName {
    /// What was named ("network", "training algorithm", "device", ...).
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The closest accepted name, when the given one looks like a typo of it.
    pub suggestion: Option<&'static str>,
    /// Every accepted name.
    pub known: Vec<&'static str>,
}

impl UnknownName {
    /// The error for `name` among `known`, with a suggestion when one is close.
    pub fn new(what: &'static str, name: &str, known: &[&'static str]) -> UnknownName {
        UnknownName {
            what,
            name: name.to_string(),
            suggestion: closest(name, known.iter().copied()),
            known: known.to_vec(),
        }
    }
}

/// The network architectures, by the names `model_metadata.json` uses
/// (DeepRacer's) or chicane's own.
///
/// Conv layers are `[filters, kernel, stride]`, unpadded, as in DeepRacer's
/// `markov/sensors/utils.py` (`get_front_camera_embedders`); every network
/// then has DeepRacer's 512-unit dense middleware and a policy and a value
/// head. DeepRacer's deep network puts batch norm after its convolutions;
/// chicane leaves it out so that the policy that collects a rollout and the
/// one PPO updates compute the same function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetworkKind {
    /// DeepRacer's 3-layer CNN: `[32,8,4] [64,4,2] [64,3,1]`, ReLU.
    #[serde(rename = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW")]
    DeepRacerShallow,
    /// DeepRacer's 4-layer CNN: `[32,5,2] [32,3,1] [64,3,2] [64,3,1]` +
    /// dense 64, tanh.
    #[serde(rename = "DEEP_CONVOLUTIONAL_NETWORK")]
    DeepRacerStandard,
    /// DeepRacer's deep CNN: `[32,8,4] [32,4,2] [64,4,2] [64,3,1]` + dense
    /// 512, 512, ReLU.
    #[serde(rename = "DEEP_CONVOLUTIONAL_NETWORK_DEEP")]
    DeepRacerDeep,
    /// chicane's CPU network: frames downscaled 4x (160x120 -> 40x30), then
    /// `[16,5,2] [32,3,2]` + dense 256, ReLU. About 0.6 MFLOP per frame.
    #[serde(rename = "FAST_CNN")]
    FastCnn,
    /// No camera network: lidar (or any vector input) through dense 256,
    /// 256, ReLU (DeepRacer's lidar embedder).
    #[serde(rename = "MLP")]
    Mlp,
}

impl NetworkKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [NetworkKind; 5] = [
        NetworkKind::FastCnn,
        NetworkKind::DeepRacerShallow,
        NetworkKind::DeepRacerStandard,
        NetworkKind::DeepRacerDeep,
        NetworkKind::Mlp,
    ];

    /// The name used in `model_metadata.json` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::DeepRacerShallow => "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
            NetworkKind::DeepRacerStandard => "DEEP_CONVOLUTIONAL_NETWORK",
            NetworkKind::DeepRacerDeep => "DEEP_CONVOLUTIONAL_NETWORK_DEEP",
            NetworkKind::FastCnn => "FAST_CNN",
            NetworkKind::Mlp => "MLP",
        }
    }

    /// Parses a name (case-insensitive; `shallow`, `standard`, `deep`,
    /// `fast` and `mlp` are accepted too).
    ///
    /// # Errors
    /// [`UnknownName`] listing the known names, with the closest one when
    /// `name` looks like a typo of it.
    pub fn parse(name: &str) -> Result<NetworkKind, UnknownName> {
        let n = name.trim().to_ascii_uppercase();
        let short = match n.as_str() {
            "SHALLOW" => Some(NetworkKind::DeepRacerShallow),
            "STANDARD" => Some(NetworkKind::DeepRacerStandard),
            "DEEP" => Some(NetworkKind::DeepRacerDeep),
            "FAST" | "FAST-CNN" => Some(NetworkKind::FastCnn),
            _ => None,
        };
        short
            .or_else(|| NetworkKind::ALL.into_iter().find(|k| k.name() == n))
            .ok_or_else(|| {
                let known: Vec<&'static str> = NetworkKind::ALL.iter().map(|k| k.name()).collect();
                UnknownName::new("network", name, &known)
            })
    }

    /// The camera downscale factor this network is built for.
    pub fn downscale(self) -> usize {
        match self {
            NetworkKind::FastCnn => 4,
            _ => 1,
        }
    }

    /// The camera embedder's conv layers, `[filters, kernel, stride]` each
    /// (DeepRacer's `markov/sensors/utils.py`).
    pub fn conv_layers(self) -> &'static [[usize; 3]] {
        match self {
            NetworkKind::DeepRacerShallow => &[[32, 8, 4], [64, 4, 2], [64, 3, 1]],
            NetworkKind::DeepRacerStandard => &[[32, 5, 2], [32, 3, 1], [64, 3, 2], [64, 3, 1]],
            NetworkKind::DeepRacerDeep => &[[32, 8, 4], [32, 4, 2], [64, 4, 2], [64, 3, 1]],
            NetworkKind::FastCnn => &[[16, 5, 2], [32, 3, 2]],
            NetworkKind::Mlp => &[],
        }
    }

    /// Dense layers after the convolutions, before the middleware (units).
    pub fn camera_dense_layers(self) -> &'static [usize] {
        match self {
            NetworkKind::DeepRacerStandard => &[64],
            NetworkKind::DeepRacerDeep => &[512, 512],
            NetworkKind::FastCnn => &[256],
            _ => &[],
        }
    }

    /// True when the embedder's activation is tanh (DeepRacer's standard
    /// network); ReLU otherwise.
    pub fn uses_tanh(self) -> bool {
        self == NetworkKind::DeepRacerStandard
    }
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NetworkKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NetworkKind::parse(s)
    }
}

/// The learning algorithm (`model_metadata.json`'s `training_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingAlgorithm {
    /// DeepRacer's default: PPO with the clipped surrogate objective.
    #[default]
    ClippedPpo,
    /// Soft actor-critic (DeepRacer's second algorithm, continuous spaces).
    Sac,
    /// REINFORCE with a value baseline (vanilla policy gradient), the
    /// algorithm DeepRacer's workshops teach first; chicane's own name.
    VanillaPg,
}

impl TrainingAlgorithm {
    /// Every algorithm, by its file name.
    pub const ALL: [TrainingAlgorithm; 3] = [
        TrainingAlgorithm::ClippedPpo,
        TrainingAlgorithm::Sac,
        TrainingAlgorithm::VanillaPg,
    ];

    /// The name in `model_metadata.json`.
    pub fn name(self) -> &'static str {
        match self {
            TrainingAlgorithm::ClippedPpo => "clipped_ppo",
            TrainingAlgorithm::Sac => "sac",
            TrainingAlgorithm::VanillaPg => "vanilla_pg",
        }
    }

    /// Parses a name (case-insensitive).
    ///
    /// # Errors
    /// [`UnknownName`] listing the known names.
    pub fn parse(name: &str) -> Result<TrainingAlgorithm, UnknownName> {
        let n = name.trim().to_ascii_lowercase();
        TrainingAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == n)
            .ok_or_else(|| {
                let known: Vec<&'static str> =
                    TrainingAlgorithm::ALL.iter().map(|a| a.name()).collect();
                UnknownName::new("training_algorithm", name, &known)
            })
    }
}

impl fmt::Display for TrainingAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TrainingAlgorithm {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrainingAlgorithm::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_typos_get_a_suggestion() {
        for k in NetworkKind::ALL {
            assert_eq!(NetworkKind::parse(k.name()), Ok(k));
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.name()));
        }
        let e = NetworkKind::parse("DEEP_CONVOLUTIONAL_NETWORK_SHALOW").unwrap_err();
        assert_eq!(e.suggestion, Some("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"));
        assert!(
            e.to_string()
                .contains("did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?")
        );
        for a in TrainingAlgorithm::ALL {
            assert_eq!(TrainingAlgorithm::parse(a.name()), Ok(a));
        }
        assert_eq!(
            TrainingAlgorithm::parse("clipped_pp")
                .unwrap_err()
                .suggestion,
            Some("clipped_ppo")
        );
    }
}
