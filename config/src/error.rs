//! Why a run config cannot be used.

use chicane_reward::RewardError;
use std::path::PathBuf;

/// A run config that cannot be used. Messages name the file and field;
/// the cause of an I/O, track or reward error is its `source` (printed by
/// the front end's error chain, not repeated in the message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{}: cannot read", path.display())]
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
    #[error("{origin}: track")]
    Track {
        /// The file.
        origin: String,
        /// The track loader's error.
        #[source]
        source: chicane_tracks::TrackError,
    },
    /// The reward function could not be loaded.
    #[error("{origin}: reward")]
    Reward {
        /// The file.
        origin: String,
        /// The script's error (with its line).
        #[source]
        source: RewardError,
    },
}

/// A [`ConfigError::Field`].
pub(crate) fn field(origin: &str, field: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        origin: origin.to_string(),
        field: field.to_string(),
        problem: problem.into(),
    }
}
