//! The agent's errors.

use std::path::PathBuf;

/// Why an agent could not be built, trained, saved or loaded. A message
/// never repeats its `source`: front ends print the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A name that is not one of the accepted ones (network, device, ...).
    #[error(transparent)]
    Name(#[from] chicane_core::UnknownName),
    /// The run config does not load or does not validate.
    #[error(transparent)]
    Config(#[from] chicane_config::ConfigError),
    /// A track asked for in a request (not the run file's) that does not load.
    #[error("track `{spec}`")]
    Track {
        /// The track as asked for.
        spec: String,
        /// The loader's error.
        #[source]
        source: chicane_tracks::TrackError,
    },
    /// A request's value that cannot be used (a field of the run request:
    /// `num_envs`, `max_time`, `out`, ...).
    #[error("{field}: {problem}")]
    Request {
        /// The request's field, as the front ends name it.
        field: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Something this build or this algorithm cannot do (yet), with the way out.
    #[error("{0}")]
    Unsupported(String),
    /// Inputs that do not fit the network.
    #[error("network input: {0}")]
    Shape(String),
    /// A hyperparameter out of range.
    #[error("hyperparameter {name}: {problem}")]
    Hyperparameter {
        /// DeepRacer's name of the hyperparameter.
        name: String,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// A checkpoint or run folder that cannot be written or read.
    #[error("{}: {detail}", path.display())]
    Checkpoint {
        /// The checkpoint file or folder.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A file that cannot be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A loss or gradient became NaN or infinite.
    #[error("training diverged: {0} is not finite; lower lr or check the reward function's scale")]
    NonFinite(String),
    /// The simulator failed (a reward function error included).
    #[error(transparent)]
    Sim(#[from] chicane_sim::SimError),
    /// The model bundle could not be written.
    #[error(transparent)]
    Bundle(#[from] chicane_bundle::BundleError),
    /// An `s3://` path that could not be read or written.
    #[error(transparent)]
    Store(chicane_store::StoreError),
}

/// `Err(AgentError::Hyperparameter)` for the setting `name` (DeepRacer's
/// name where it has one), saying what is accepted.
pub(crate) fn bad_hyperparameter<T>(name: &str, problem: &str) -> Result<T, AgentError> {
    Err(AgentError::Hyperparameter {
        name: name.into(),
        problem: problem.into(),
    })
}

/// [`AgentError::Io`] for `path`, for `map_err`.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AgentError + '_ {
    move |source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    }
}
