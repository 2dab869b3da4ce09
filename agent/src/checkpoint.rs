//! Atomic checkpoints in a run folder.
//!
//! A checkpoint is a folder `checkpoints/iter-NNNNNN/` holding `model.bpk`,
//! `optimizer.bpk` (burnpack) and `state.json`. It is written under a
//! temporary name and renamed into place, then `checkpoints/latest` (a text
//! file naming it) is replaced the same way, so a crash never leaves a
//! half-written checkpoint that `--resume` would pick up.

use crate::error::AgentError;
use crate::learner::Learner;
use crate::net::ActorCriticConfig;
use crate::run_dir::RunDir;
use chicane_core::Preprocess;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a run folder's `agent.json` records: the network and the
/// preprocessing the car must repeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// The network.
    pub network: ActorCriticConfig,
    /// Camera preprocessing (absent for lidar-only agents).
    pub preprocess: Option<Preprocess>,
}

/// Counters and random state saved with every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// PPO updates done (DeepRacer's iterations).
    pub iteration: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Env steps taken.
    pub total_steps: u64,
    /// Training wall-clock time so far (s), over every session.
    pub elapsed_s: f64,
    /// The fastest completed training lap (s).
    pub best_lap: Option<f64>,
    /// Laps completed in training.
    pub laps: u64,
    /// The trainer's ChaCha8 seed.
    pub rng_seed: u64,
    /// The trainer's ChaCha8 word position (the update's stream: minibatch
    /// shuffles).
    pub rng_word_pos: u128,
    /// The word position of the rollouts' stream (stream 1 of the same
    /// seed: action sampling); 0 in checkpoints older than it.
    #[serde(default)]
    pub rollout_rng_word_pos: u128,
}

/// Writes `bytes` to `path` atomically (a temporary file beside it, then rename).
///
/// # Errors
/// [`AgentError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AgentError> {
    let tmp = path.with_extension("tmp");
    let io = |source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes `value` to `path` as postcard: the binary state files inside a
/// checkpoint folder (the native optimizer, SAC's state and replay buffer).
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file.
pub(crate) fn write_postcard<T: Serialize>(path: &Path, value: &T) -> Result<(), AgentError> {
    let err = |detail: String| AgentError::Checkpoint {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = postcard::to_stdvec(value).map_err(|e| err(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|e| err(e.to_string()))
}

/// Reads a file that [`write_postcard`] wrote.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file when it cannot be read or
/// does not decode (a damaged file).
pub(crate) fn read_postcard<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, AgentError> {
    let err = |detail: String| AgentError::Checkpoint {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    postcard::from_bytes(&bytes).map_err(|e| err(format!("{e} (a damaged file)")))
}

/// Saves a checkpoint of `learner` and `state` in `run`, keeping the newest
/// `keep` checkpoints; `last` marks the checkpoint a run stops on, which
/// also holds SAC's replay buffer (so that a run resumed from it goes on
/// as if it had not stopped). Returns its folder.
///
/// # Errors
/// [`AgentError::Io`] or [`AgentError::Checkpoint`] naming the file.
pub fn save_checkpoint(
    run: &RunDir,
    learner: &Learner,
    state: &TrainerState,
    keep: usize,
    last: bool,
) -> Result<PathBuf, AgentError> {
    let dir = run.checkpoints();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AgentError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let name = format!("iter-{:06}", state.iteration);
    let tmp = dir.join(format!(".{name}.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    learner.save_checkpoint_files(&tmp, last)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| AgentError::Checkpoint {
        path: tmp.join("state.json"),
        detail: e.to_string(),
    })?;
    std::fs::write(tmp.join("state.json"), json).map_err(io(&tmp.join("state.json")))?;
    let final_dir = dir.join(&name);
    if final_dir.exists() {
        std::fs::remove_dir_all(&final_dir).map_err(io(&final_dir))?;
    }
    std::fs::rename(&tmp, &final_dir).map_err(io(&final_dir))?;
    write_atomic(&dir.join("latest"), name.as_bytes())?;
    // prune old checkpoints
    let mut all = list_checkpoints(run);
    all.retain(|p| p != &final_dir);
    let excess = all.len().saturating_sub(keep.saturating_sub(1));
    for old in all.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(old);
    }
    Ok(final_dir)
}

/// The run's checkpoint folders, oldest first.
pub fn list_checkpoints(run: &RunDir) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(run.checkpoints())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("iter-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The checkpoint `checkpoints/latest` names.
///
/// # Errors
/// [`AgentError::Checkpoint`] when the run has no checkpoint or `latest`
/// names a missing one.
pub fn latest_checkpoint(run: &RunDir) -> Result<PathBuf, AgentError> {
    let latest = run.checkpoints().join("latest");
    let name = std::fs::read_to_string(&latest).map_err(|_| AgentError::Checkpoint {
        path: latest.clone(),
        detail: format!(
            "no checkpoint in {}: train it first (chicane train --out {})",
            run.root().display(),
            run.root().display()
        ),
    })?;
    let dir = run.checkpoints().join(name.trim());
    if !dir.is_dir() {
        return Err(AgentError::Checkpoint {
            path: latest,
            detail: format!("names {}, which does not exist", dir.display()),
        });
    }
    Ok(dir)
}

/// Reads a checkpoint's `state.json`.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file when it is missing or corrupt.
pub fn read_state(ckpt: &Path) -> Result<TrainerState, AgentError> {
    let p = ckpt.join("state.json");
    let text = std::fs::read_to_string(&p).map_err(|e| AgentError::Checkpoint {
        path: p.clone(),
        detail: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| AgentError::Checkpoint {
        path: p,
        detail: format!("corrupt: {e}"),
    })
}

/// Reads a run folder's `agent.json`.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file when it is missing or corrupt.
pub fn read_agent_spec(run: &RunDir) -> Result<AgentSpec, AgentError> {
    let p = run.agent_json();
    let text = std::fs::read_to_string(&p).map_err(|e| AgentError::Checkpoint {
        path: p.clone(),
        detail: format!("{e} (is {} a chicane run folder?)", run.root().display()),
    })?;
    serde_json::from_str(&text).map_err(|e| AgentError::Checkpoint {
        path: p,
        detail: format!("corrupt: {e}"),
    })
}
