//! DeepRacer's `model_metadata.json`, read and written as-is.
//!
//! ```json
//! {"action_space": [{"steering_angle": -30, "speed": 0.6}, ...],
//!  "sensor": ["FRONT_FACING_CAMERA"],
//!  "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
//!  "training_algorithm": "clipped_ppo",
//!  "action_space_type": "discrete",
//!  "version": "5"}
//! ```
//! A continuous space is `{"steering_angle": {"low": -30, "high": 30},
//! "speed": {"low": 1, "high": 2}}`. Keys chicane does not know are kept and
//! written back unchanged.

use crate::action::{ActionSpace, DiscreteAction, Range};
use crate::network::{NetworkKind, TrainingAlgorithm};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::fmt;

/// Errors reading a `model_metadata.json`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: {problem}")]
pub struct MetadataError {
    /// The file (or "model_metadata.json").
    pub origin: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

/// Writes whole numbers without a decimal point, as DeepRacer's files do
/// (`-30`, not `-30.0`), so files round-trip unchanged.
fn ser_number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JsonDiscrete {
    #[serde(serialize_with = "ser_number")]
    steering_angle: f64,
    #[serde(serialize_with = "ser_number")]
    speed: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JsonRange {
    #[serde(serialize_with = "ser_number")]
    high: f64,
    #[serde(serialize_with = "ser_number")]
    low: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct JsonContinuous {
    speed: JsonRange,
    steering_angle: JsonRange,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum JsonActionSpace {
    Discrete(Vec<JsonDiscrete>),
    Continuous(JsonContinuous),
}

/// The sensors DeepRacer knows (`model_metadata.json` `sensor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sensor {
    /// One front camera.
    #[serde(rename = "FRONT_FACING_CAMERA")]
    FrontFacingCamera,
    /// Two front cameras, 6 cm apart.
    #[serde(rename = "STEREO_CAMERAS")]
    StereoCameras,
    /// A 64-beam lidar.
    #[serde(rename = "LIDAR")]
    Lidar,
    /// The lidar reduced to 8 sectors.
    #[serde(rename = "SECTOR_LIDAR")]
    SectorLidar,
}

impl fmt::Display for Sensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

/// A parsed `model_metadata.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetadata {
    /// The action space.
    pub action_space: ActionSpace,
    /// Sensors, in file order.
    pub sensor: Vec<Sensor>,
    /// The network (DeepRacer's, e.g. `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`,
    /// or one of chicane's); `None` when the file names none.
    pub neural_network: Option<NetworkKind>,
    /// `clipped_ppo`, `sac` (or chicane's `vanilla_pg`); `None` when the
    /// file names none (DeepRacer then trains `clipped_ppo`).
    pub training_algorithm: Option<TrainingAlgorithm>,
    /// The file's format version (DeepRacer writes a string, e.g. `"5"`).
    pub version: Option<String>,
    /// Keys chicane does not interpret, kept as they were.
    pub extra: Map<String, Value>,
}

const KNOWN: [&str; 6] = [
    "action_space",
    "sensor",
    "neural_network",
    "training_algorithm",
    "action_space_type",
    "version",
];

impl ModelMetadata {
    /// Parses the JSON text of a `model_metadata.json`; `origin` names the
    /// file in errors.
    ///
    /// # Errors
    /// [`MetadataError`] for bad JSON (with line and column), a missing or
    /// malformed `action_space`, an `action_space_type` that contradicts
    /// the space, an unknown sensor, and an action space outside
    /// DeepRacer's limits.
    pub fn parse(text: &str, origin: &str) -> Result<ModelMetadata, MetadataError> {
        let err = |problem: String| MetadataError {
            origin: origin.to_string(),
            problem,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| err(format!("not valid JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(err("expected a JSON object with an \"action_space\"".into()));
        };
        let space_value = map.remove("action_space").ok_or_else(|| {
            err("missing \"action_space\": give a list of {\"steering_angle\", \"speed\"} or {\"steering_angle\": {\"low\", \"high\"}, \"speed\": {...}}".into())
        })?;
        let space: JsonActionSpace = serde_json::from_value(space_value).map_err(|e| {
            err(format!("\"action_space\": {e}; expected a list of {{\"steering_angle\": DEG, \"speed\": M_PER_S}} or {{\"steering_angle\": {{\"low\": ..., \"high\": ...}}, \"speed\": {{\"low\": ..., \"high\": ...}}}}"))
        })?;
        let action_space = match space {
            JsonActionSpace::Discrete(list) => ActionSpace::Discrete(
                list.into_iter()
                    .map(|a| DiscreteAction {
                        steering_angle_deg: a.steering_angle,
                        speed: a.speed,
                    })
                    .collect(),
            ),
            JsonActionSpace::Continuous(c) => ActionSpace::Continuous {
                steering_angle_deg: Range {
                    low: c.steering_angle.low,
                    high: c.steering_angle.high,
                },
                speed: Range {
                    low: c.speed.low,
                    high: c.speed.high,
                },
            },
        };
        if let Some(kind) = map.remove("action_space_type") {
            let expected = if matches!(action_space, ActionSpace::Discrete(_)) {
                "discrete"
            } else {
                "continuous"
            };
            if kind.as_str() != Some(expected) {
                return Err(err(format!(
                    "\"action_space_type\" is {kind} but the action space is {expected}; make them agree"
                )));
            }
        }
        let sensor = match map.remove("sensor") {
            None => vec![Sensor::FrontFacingCamera],
            Some(v) => serde_json::from_value(v).map_err(|e| {
                err(format!("\"sensor\": {e}; use FRONT_FACING_CAMERA, STEREO_CAMERAS, LIDAR or SECTOR_LIDAR"))
            })?,
        };
        let take_string =
            |map: &mut Map<String, Value>, key: &str| -> Result<Option<String>, MetadataError> {
                match map.remove(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s)),
                    Some(Value::Number(n)) => Ok(Some(n.to_string())),
                    Some(other) => Err(err(format!("\"{key}\" must be a string, found {other}"))),
                }
            };
        let neural_network = take_string(&mut map, "neural_network")?
            .map(|n| NetworkKind::parse(&n))
            .transpose()
            .map_err(|e| err(format!("\"neural_network\": {e}")))?;
        let training_algorithm = take_string(&mut map, "training_algorithm")?
            .map(|n| TrainingAlgorithm::parse(&n))
            .transpose()
            .map_err(|e| err(format!("\"training_algorithm\": {e}")))?;
        let version = take_string(&mut map, "version")?;
        action_space.validate().map_err(|e| err(e.to_string()))?;
        Ok(ModelMetadata {
            action_space,
            sensor,
            neural_network,
            training_algorithm,
            version,
            extra: map,
        })
    }

    /// The JSON value, keys in DeepRacer's order, unknown keys after.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let space = match &self.action_space {
            ActionSpace::Discrete(list) => JsonActionSpace::Discrete(
                list.iter()
                    .map(|a| JsonDiscrete {
                        steering_angle: a.steering_angle_deg,
                        speed: a.speed,
                    })
                    .collect(),
            ),
            ActionSpace::Continuous {
                steering_angle_deg,
                speed,
            } => JsonActionSpace::Continuous(JsonContinuous {
                speed: JsonRange {
                    high: speed.high,
                    low: speed.low,
                },
                steering_angle: JsonRange {
                    high: steering_angle_deg.high,
                    low: steering_angle_deg.low,
                },
            }),
        };
        map.insert(
            "action_space".into(),
            serde_json::to_value(space).unwrap_or(Value::Null),
        );
        map.insert(
            "sensor".into(),
            serde_json::to_value(&self.sensor).unwrap_or(Value::Null),
        );
        if let Some(n) = self.neural_network {
            map.insert("neural_network".into(), Value::String(n.name().into()));
        }
        if let Some(t) = self.training_algorithm {
            map.insert("training_algorithm".into(), Value::String(t.name().into()));
        }
        let kind = if matches!(self.action_space, ActionSpace::Discrete(_)) {
            "discrete"
        } else {
            "continuous"
        };
        map.insert("action_space_type".into(), Value::String(kind.into()));
        if let Some(v) = &self.version {
            map.insert("version".into(), Value::String(v.clone()));
        }
        for (k, v) in &self.extra {
            if !KNOWN.contains(&k.as_str()) {
                map.insert(k.clone(), v.clone());
            }
        }
        Value::Object(map)
    }

    /// The file text, indented by 4 spaces like DeepRacer's console writes it.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        let _ = self.to_value().serialize(&mut ser);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// DeepRacer's console action-space generator: every combination of
/// `steering_levels` angles spread evenly over `-max_steering_deg..=max_steering_deg`
/// and `speed_levels` speeds spread evenly up to `max_speed` (the console
/// lists steering within each speed, slowest first).
///
/// # Errors
/// A message when the result breaks DeepRacer's limits (too many actions,
/// speeds or angles out of range).
pub fn generate_discrete(
    max_steering_deg: f64,
    steering_levels: usize,
    max_speed: f64,
    speed_levels: usize,
) -> Result<ActionSpace, String> {
    if steering_levels == 0 || speed_levels == 0 {
        return Err("steering and speed levels must be at least 1".into());
    }
    let steering: Vec<f64> = if steering_levels == 1 {
        vec![0.0]
    } else {
        (0..steering_levels)
            .map(|i| {
                -max_steering_deg + 2.0 * max_steering_deg * i as f64 / (steering_levels - 1) as f64
            })
            .map(|v| (v * 100.0).round() / 100.0)
            .collect()
    };
    let speeds: Vec<f64> = (1..=speed_levels)
        .map(|i| ((max_speed * i as f64 / speed_levels as f64) * 100.0).round() / 100.0)
        .collect();
    let mut list = Vec::new();
    for &speed in &speeds {
        for &s in &steering {
            list.push(DiscreteAction {
                steering_angle_deg: s,
                speed,
            });
        }
    }
    let space = ActionSpace::Discrete(list);
    space.validate().map_err(|e| e.to_string())?;
    Ok(space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_generator() {
        let s = generate_discrete(30.0, 5, 2.0, 2).unwrap();
        let ActionSpace::Discrete(list) = &s else {
            panic!()
        };
        assert_eq!(list.len(), 10);
        assert_eq!(
            list[0],
            DiscreteAction {
                steering_angle_deg: -30.0,
                speed: 1.0
            }
        );
        assert_eq!(
            list[9],
            DiscreteAction {
                steering_angle_deg: 30.0,
                speed: 2.0
            }
        );
        assert!(
            generate_discrete(30.0, 7, 4.0, 5)
                .unwrap_err()
                .contains("35 discrete actions")
        );
        assert!(generate_discrete(45.0, 3, 1.0, 1).is_err());
    }

    #[test]
    fn bad_files() {
        for (text, needle) in [
            ("{", "not valid JSON"),
            ("[]", "JSON object"),
            ("{\"sensor\": []}", "missing \"action_space\""),
            ("{\"action_space\": 3}", "\"action_space\""),
            (
                "{\"action_space\": [{\"steering_angle\": 0, \"speed\": 1}, {\"steering_angle\": 10, \"speed\": 9}]}",
                "speed 9",
            ),
            (
                "{\"action_space\": [{\"steering_angle\": 0, \"speed\": 1}, {\"steering_angle\": 1, \"speed\": 1}], \"action_space_type\": \"continuous\"}",
                "make them agree",
            ),
            (
                "{\"action_space\": [{\"steering_angle\": 0, \"speed\": 1}, {\"steering_angle\": 1, \"speed\": 1}], \"sensor\": [\"RADAR\"]}",
                "SECTOR_LIDAR",
            ),
            (
                "{\"action_space\": [{\"steering_angle\": 0, \"speed\": 1}], \"neural_network\": \"DEEP_CONVOLUTIONAL_NETWORK_SHALOW\"}",
                "did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?",
            ),
            (
                "{\"action_space\": [{\"steering_angle\": 0, \"speed\": 1}], \"training_algorithm\": \"ppo2\"}",
                "\"training_algorithm\": unknown training_algorithm `ppo2`",
            ),
        ] {
            let e = ModelMetadata::parse(text, "m.json")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("m.json: ") && e.contains(needle),
                "{text}: {e}"
            );
        }
    }
}
