//! A trained run's policy as a model bundle for the car (`chicane export`
//! and the GUI's Export button).

use crate::run_dir::RunDir;
use crate::{
    AgentError, LoadedPolicy, export_onnx, latest_checkpoint, list_checkpoints, load_policy_at,
    read_state,
};
use burn::tensor::Device;
use chicane_bundle::{BUNDLE_FORMAT, ModelSpec, write_bundle};
use chicane_config::ResolvedRun;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which checkpoint of a run to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckpointChoice {
    /// The newest (`latest`).
    #[default]
    Last,
    /// The kept checkpoint whose training iteration had the highest mean
    /// progress, then mean reward (from `metrics.jsonl`).
    Best,
    /// The checkpoint of this training iteration.
    Iteration(u64),
}

impl FromStr for CheckpointChoice {
    type Err = AgentError;

    /// `last`, `best` or an iteration number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "last" => Ok(CheckpointChoice::Last),
            "best" => Ok(CheckpointChoice::Best),
            n => n
                .parse()
                .map(CheckpointChoice::Iteration)
                .map_err(|_| AgentError::Request {
                    field: "checkpoint",
                    problem: format!("`{n}`: use last, best or an iteration number"),
                }),
        }
    }
}

/// Mean progress and reward per training iteration, from `metrics.jsonl`.
fn iteration_scores(run_dir: &RunDir) -> Vec<(u64, f64, f64)> {
    let Ok(text) = std::fs::read_to_string(run_dir.metrics()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "iteration")
        .filter_map(|v| {
            let r = &v["record"];
            Some((
                r["iteration"].as_u64()?,
                r["mean_progress"].as_f64()?,
                r["mean_reward"].as_f64()?,
            ))
        })
        .collect()
}

/// The checkpoint folder of `run_dir` that `which` names.
///
/// # Errors
/// [`AgentError::Checkpoint`] when the run has no checkpoints, none is
/// readable, or the iteration is not among those kept (they are listed).
pub fn choose_checkpoint(run_dir: &RunDir, which: CheckpointChoice) -> Result<PathBuf, AgentError> {
    let all = list_checkpoints(run_dir);
    let fail = |detail: String| AgentError::Checkpoint {
        path: run_dir.checkpoints(),
        detail,
    };
    if all.is_empty() {
        return Err(fail("no checkpoints; train first".into()));
    }
    let iter_of = |p: &PathBuf| read_state(p).map(|s| s.iteration).ok();
    match which {
        CheckpointChoice::Last => latest_checkpoint(run_dir),
        CheckpointChoice::Best => {
            let scores = iteration_scores(run_dir);
            let score = |it: u64| {
                scores
                    .iter()
                    .find(|s| s.0 == it)
                    .map_or((f64::MIN, f64::MIN), |s| (s.1, s.2))
            };
            all.iter()
                .filter_map(|p| iter_of(p).map(|it| (p, score(it))))
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0).then(a.1.1.total_cmp(&b.1.1)))
                .map(|(p, _)| p.clone())
                .ok_or_else(|| fail("no readable checkpoint".into()))
        }
        CheckpointChoice::Iteration(n) => all
            .iter()
            .find(|p| iter_of(p) == Some(n))
            .cloned()
            .ok_or_else(|| {
                let kept: Vec<String> = all
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect();
                fail(format!(
                    "no such checkpoint: iteration {n} (kept: {})",
                    kept.join(", ")
                ))
            }),
    }
}

/// Writes the model bundle of `run_dir` (a `chicane train --out` folder
/// whose `run.toml` resolved to `run`) to `out`: the ONNX policy of the
/// checkpoint `which`, DeepRacer's `model_metadata.json`, the bundle's
/// `preprocessing.json`, the run's `run.toml` and checksums (see
/// `chicane_car::write_bundle`). Returns the bundle's spec.
///
/// # Errors
/// A missing or corrupt checkpoint or run file (named), an ONNX export or
/// bundle write error.
pub fn export_bundle(
    run_dir: &RunDir,
    run: &ResolvedRun,
    which: CheckpointChoice,
    out: &Path,
    device: &Device,
) -> Result<ModelSpec, AgentError> {
    let ckpt = choose_checkpoint(run_dir, which)?;
    let LoadedPolicy { learner, spec, .. } = load_policy_at(run_dir, &ckpt, run, device)?;
    let onnx = export_onnx(&learner)?;
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|source| AgentError::Io { path, source })
    };
    let metadata = read(run_dir.model_metadata())?;
    let run_toml = read(run_dir.run_toml())?;
    let model_spec = ModelSpec {
        format_version: BUNDLE_FORMAT,
        network: spec.network.network,
        camera: spec.preprocess,
        lidar: onnx.lidar,
        output: onnx.output,
        output_len: onnx.output_len,
        action_hz: run.sim.physics.action_hz,
        run: run_dir.root().display().to_string(),
        checkpoint: ckpt
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
    };
    write_bundle(out, &model_spec, &metadata, &onnx.bytes, &run_toml)?;
    Ok(model_spec)
}
