//! Models for the stock AWS DeepRacer car, both ways: a chicane run as the
//! `.tar.gz` of a TensorFlow frozen graph and `model_metadata.json` that the
//! car's console loads (`chicane export --format deepracer`), and a
//! DeepRacer model's frozen graph as a chicane run (`chicane import-model`).

mod archive;
mod graph;
mod import;
mod map;
mod names;
mod tfpb;
mod tfread;

pub use archive::{
    CarArchive, METADATA_JSON, MODEL_PB, car_metadata, car_model_name, check_car_archive,
    write_car_archive,
};
pub use graph::{CAR_FRAME, DeepRacerGraph, car_unsupported, export_deepracer_graph};
pub use import::{ImportedModel, import_model};
pub use names::{PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT, camera_input_name};

use crate::export::{CheckpointChoice, choose_checkpoint};
use crate::run_dir::RunDir;
use crate::{AgentError, LoadedPolicy, load_policy_at};
use burn::tensor::Device;
use chicane_config::ResolvedRun;
use std::path::Path;

/// What `chicane export --format deepracer` wrote.
#[derive(Debug, Clone)]
pub struct DeepRacerExport {
    /// The graph's interface (names, shapes, output kind).
    pub graph: DeepRacerGraph,
    /// The archive, as the car's loader reads it.
    pub archive: CarArchive,
    /// The checkpoint folder exported.
    pub checkpoint: std::path::PathBuf,
}

/// Writes the car archive of `run_dir`'s checkpoint `which` to `out`
/// (`NAME.tar.gz`, no dots or spaces in `NAME`).
///
/// # Errors
/// [`AgentError::Unsupported`] with the reason for a model the car cannot
/// run (lidar, RGB, stacked frames, a camera other than 160x120, MLP);
/// a bad archive name; a missing checkpoint; a file that cannot be written.
pub fn export_deepracer(
    run_dir: &RunDir,
    run: &ResolvedRun,
    which: CheckpointChoice,
    out: &Path,
    device: &Device,
) -> Result<DeepRacerExport, AgentError> {
    car_model_name(out)?;
    let ckpt = choose_checkpoint(run_dir, which)?;
    let LoadedPolicy { learner, spec, .. } = load_policy_at(run_dir, &ckpt, run, device)?;
    let graph = export_deepracer_graph(&learner, spec.preprocess.as_ref())?;
    let path = run_dir.model_metadata();
    let text = std::fs::read_to_string(&path).map_err(crate::error::io_err(&path))?;
    let metadata = car_metadata(&text, &path)?;
    let archive = write_car_archive(out, &metadata, &graph.bytes)?;
    Ok(DeepRacerExport {
        graph,
        archive,
        checkpoint: ckpt,
    })
}
