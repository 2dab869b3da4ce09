//! Where a run's reward function comes from: the built-in examples or a file.

use chicane_reward::{RewardError, RewardFunction, RhaiReward, load_reward};
use std::path::PathBuf;

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
    (
        "racing_line",
        include_str!("../../reward_fns/examples/racing_line.rhai"),
    ),
    ("race", include_str!("../../reward_fns/examples/race.rhai")),
];

/// The built-in reward functions usable as `reward = "builtin:NAME"`:
/// (name, Rhai source).
pub fn builtin_rewards() -> &'static [(&'static str, &'static str)] {
    BUILTIN_REWARDS
}

/// Where the reward function comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RewardSource {
    /// One of the embedded examples (`builtin:NAME`); the name is checked
    /// when the run is resolved.
    Builtin(String),
    /// A .rhai or .py file.
    File(PathBuf),
}

impl RewardSource {
    /// Parses `builtin:NAME` (checked against the built-ins) or a file path
    /// (kept as given).
    ///
    /// # Errors
    /// A message naming the unknown built-in and listing the known ones.
    pub fn parse(text: &str) -> Result<RewardSource, String> {
        match text.strip_prefix("builtin:") {
            Some(name) => {
                if BUILTIN_REWARDS.iter().any(|(n, _)| *n == name) {
                    Ok(RewardSource::Builtin(name.to_string()))
                } else {
                    let names: Vec<&str> = BUILTIN_REWARDS.iter().map(|(n, _)| *n).collect();
                    let hint = chicane_core::closest(name, names.iter().copied())
                        .map(|s| format!(" (did you mean `builtin:{s}`?)"))
                        .unwrap_or_default();
                    Err(format!(
                        "no built-in reward `{name}`{hint}; built-ins are {}",
                        names.join(", ")
                    ))
                }
            }
            None => Ok(RewardSource::File(PathBuf::from(text))),
        }
    }

    /// As written in a run file: `builtin:NAME` or the path.
    pub fn as_config_string(&self) -> String {
        match self {
            RewardSource::Builtin(n) => format!("builtin:{n}"),
            RewardSource::File(p) => p.display().to_string(),
        }
    }

    /// A fresh instance of the reward function.
    ///
    /// # Errors
    /// The script's compile error, or [`RewardError::Failed`] for a
    /// built-in name that does not exist (only possible when the source
    /// was built by hand rather than parsed).
    pub fn load(&self) -> Result<Box<dyn RewardFunction>, RewardError> {
        match self {
            RewardSource::Builtin(name) => {
                let src = BUILTIN_REWARDS
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, s)| *s)
                    .ok_or_else(|| RewardError::Failed {
                        function: format!("builtin:{name}"),
                        message: format!("no built-in reward `{name}`"),
                    })?;
                Ok(Box::new(RhaiReward::compile(
                    src,
                    &format!("builtin:{name}"),
                )?))
            }
            RewardSource::File(path) => load_reward(path),
        }
    }
}
