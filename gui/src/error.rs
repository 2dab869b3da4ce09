//! The GUI library's errors: typed, with the library's causes as sources;
//! the window shows them with [`GuiError::chain`].

use std::path::PathBuf;

/// What went wrong behind a button.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GuiError {
    /// A run config that does not load or validate.
    #[error(transparent)]
    Config(#[from] chicane_config::ConfigError),
    /// Training, evaluation or export failed (or the request was refused).
    #[error(transparent)]
    Agent(#[from] chicane_agent::AgentError),
    /// A track that does not load or generate.
    #[error(transparent)]
    Track(#[from] chicane_tracks::TrackError),
    /// A reward function that does not compile or run.
    #[error(transparent)]
    Reward(#[from] chicane_reward::RewardError),
    /// The simulator refused (the reward heat map).
    #[error(transparent)]
    Sim(#[from] chicane_sim::SimError),
    /// A file that cannot be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A sim-trace that cannot be replayed.
    #[error("{}{}: {problem}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Trace {
        /// The CSV file.
        path: PathBuf,
        /// The line (1-based) at fault, if one is.
        line: Option<usize>,
        /// What is wrong.
        problem: String,
    },
    /// A value the panel cannot use (the generator's limits, a busy trainer).
    #[error("{0}")]
    Invalid(String),
}

impl GuiError {
    /// The message and its causes on one line, as the log and the error
    /// window show them.
    pub fn chain(&self) -> String {
        chicane_core::error_chain(self)
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> GuiError {
        let path = path.into();
        move |source| GuiError::Io { path, source }
    }
}
