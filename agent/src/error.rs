//! The agent's errors.

use std::path::PathBuf;

/// Why an agent could not be built, trained, saved or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// An unknown network name.
    #[error("unknown network {name:?}; known networks: {}", known.join(", "))]
    Network {
        /// The name given.
        name: String,
        /// The names chicane knows.
        known: Vec<&'static str>,
    },
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
    /// A checkpoint that cannot be written or read.
    #[error("checkpoint {}: {detail}", path.display())]
    Checkpoint {
        /// The checkpoint file or folder.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
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
}
