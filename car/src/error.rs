//! The runtime's error type.

use std::path::PathBuf;

/// Everything that can go wrong on the car. Messages name the file, field
/// or device at fault and say how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum CarError {
    /// A model bundle that cannot be read or does not hold together.
    #[error(transparent)]
    Bundle(#[from] chicane_bundle::BundleError),
    /// The ONNX model cannot be loaded or run.
    #[error("model: {0}")]
    Model(String),
    /// A calibration file that cannot be read or is out of range.
    #[error("calibration {path}: {problem}")]
    Calibration {
        /// The file (or `defaults`).
        path: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A camera source failed.
    #[error("camera {source_name}: {problem}")]
    Camera {
        /// The `--camera` value.
        source_name: String,
        /// What went wrong.
        problem: String,
    },
    /// An actuator failed.
    #[error("actuator {actuator}: {problem}")]
    Actuator {
        /// The `--actuator` value.
        actuator: String,
        /// What went wrong.
        problem: String,
    },
    /// A bad command-line value.
    #[error("{flag}: {problem}")]
    Config {
        /// The flag at fault, e.g. `--camera`.
        flag: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// File I/O.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl CarError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CarError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bundle(path: &std::path::Path, problem: impl Into<String>) -> Self {
        CarError::Bundle(chicane_bundle::BundleError::Invalid {
            path: path.into(),
            problem: problem.into(),
        })
    }

    pub(crate) fn config(flag: &str, problem: impl Into<String>) -> Self {
        CarError::Config {
            flag: flag.into(),
            problem: problem.into(),
        }
    }
}
