//! A DeepRacer model (a frozen TensorFlow graph and its
//! `model_metadata.json`) as a chicane run folder: the policy path's
//! weights are read from the graph into the burn network of the same
//! shape, so `chicane evaluate` times it and `chicane train --clone-from`
//! fine-tunes it. The value head starts fresh (the car's graph has none).
//!
//! The graph is read by structure, not by node names: from the camera
//! placeholder to the PPO policy output, each convolution, dense layer,
//! bias, activation and the flatten between them, and the network is the
//! chicane network with those layers. Inference-mode batch norm after a
//! convolution (DeepRacer's deep network) is folded into it exactly.

use super::map::{Mapped, map_graph};
use super::tfpb::GraphDef;
use crate::checkpoint::{TrainerState, save_checkpoint, write_atomic};
use crate::error::{AgentError, io_err};
use crate::learner::Learner;
use crate::ppo::PpoConfig;
use crate::run_dir::RunDir;
use crate::spec::agent_spec;
use burn::tensor::Device;
use chicane_core::{ActionSpace, ModelMetadata, NetworkKind, Sensor, TrainingAlgorithm};
use flate2::read::GzDecoder;
use prost::Message;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What `import_model` made.
#[derive(Debug, Clone)]
pub struct ImportedModel {
    /// The new run folder.
    pub run_dir: RunDir,
    /// The chicane network the graph's layers are.
    pub network: NetworkKind,
    /// The camera the graph is fed by.
    pub sensor: Sensor,
    /// Where the graph came from (the `.pb`, inside an archive or not).
    pub graph_source: String,
    /// Things the user should know (batch norm folded, value head fresh, ...).
    pub notes: Vec<String>,
}

/// Imports the DeepRacer model `source` into a new run folder `out`.
/// `source` is a `.tar.gz` (the console's download, DeepRacer-for-Cloud's
/// upload archive, or `chicane export --format deepracer`), a folder
/// holding one `.pb` and `model_metadata.json` (DeepRacer-for-Cloud's
/// `model/` prefix), or a `.pb` with `model_metadata.json` beside it.
///
/// # Errors
/// [`AgentError::Request`] (field `out`) when `out` already holds files;
/// [`AgentError::Checkpoint`] naming the file for a source without exactly
/// one graph or without metadata; [`AgentError::Unsupported`] naming the
/// node for a graph chicane cannot map; metadata that disagrees with the
/// graph; I/O errors naming the file.
pub fn import_model(
    source: &Path,
    out: &Path,
    device: &Device,
) -> Result<ImportedModel, AgentError> {
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some()
    {
        return Err(AgentError::Request {
            field: "out",
            problem: format!(
                "{} already holds files; import into a new folder",
                out.display()
            ),
        });
    }
    let src = read_source(source)?;
    let meta = ModelMetadata::parse(&src.metadata, &src.metadata_origin).map_err(|e| {
        AgentError::Checkpoint {
            path: source.to_path_buf(),
            detail: e.to_string(),
        }
    })?;
    let graph = GraphDef::decode(src.pb.as_slice()).map_err(|e| AgentError::Checkpoint {
        path: source.to_path_buf(),
        detail: format!("{}: not a TensorFlow GraphDef: {e}", src.pb_origin),
    })?;
    let mapped = map_graph(&graph).map_err(|e| match e {
        AgentError::Unsupported(m) => AgentError::Unsupported(format!("{}: {m}", src.pb_origin)),
        other => other,
    })?;
    check_metadata(&meta, &mapped, &src.metadata_origin)?;

    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let dir = RunDir::new(out);
    let mut meta = meta;
    meta.neural_network = Some(mapped.network);
    meta.training_algorithm = Some(TrainingAlgorithm::ClippedPpo);
    write_atomic(&dir.model_metadata(), meta.to_json_string().as_bytes())?;
    let run = chicane_config::parse_run(
        "model_metadata = \"model_metadata.json\"\n",
        &format!("import of {}", source.display()),
        out,
    )?;
    write_atomic(&dir.run_toml(), run.to_toml().as_bytes())?;
    let mut spec = agent_spec(&run, mapped.network)?;
    spec.network.middleware = mapped.layers.middleware.bias.len();
    let spec_json = serde_json::to_vec_pretty(&spec).map_err(|e| AgentError::Checkpoint {
        path: dir.agent_json(),
        detail: e.to_string(),
    })?;
    write_atomic(&dir.agent_json(), &spec_json)?;
    let mut learner = Learner::new(
        spec.network.clone(),
        PpoConfig::default(),
        run.action_space.clone(),
        device,
        run.seed,
    )?;
    learner.set_policy_layers(&mapped.layers)?;
    save_checkpoint(&dir, &learner, &TrainerState::default(), 1, false)?;
    let mut notes = mapped.notes;
    notes.push(
        "the value head starts untrained (the car's graph has none); `chicane train \
         --clone-from` trains it"
            .into(),
    );
    Ok(ImportedModel {
        run_dir: dir,
        network: mapped.network,
        sensor: mapped.sensor,
        graph_source: src.pb_origin,
        notes,
    })
}

/// The graph and metadata of a source, with where each came from.
struct Source {
    pb: Vec<u8>,
    pb_origin: String,
    metadata: String,
    metadata_origin: String,
}

fn read_source(source: &Path) -> Result<Source, AgentError> {
    let bad = |detail: String| AgentError::Checkpoint {
        path: source.to_path_buf(),
        detail,
    };
    let name = source.to_string_lossy();
    if source.is_file() && (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
        let file = std::fs::File::open(source).map_err(io_err(source))?;
        let mut tar = tar::Archive::new(GzDecoder::new(file));
        let mut pbs = Vec::new();
        let mut metas = Vec::new();
        for entry in tar.entries().map_err(io_err(source))? {
            let mut entry = entry.map_err(io_err(source))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()
                .map_err(io_err(source))?
                .to_string_lossy()
                .into_owned();
            let path = path.trim_start_matches("./").to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(io_err(source))?;
            if path.ends_with(".pb") {
                pbs.push((path, bytes));
            } else if path.rsplit('/').next() == Some("model_metadata.json") {
                metas.push((path, bytes));
            }
        }
        let (pb_path, pb) = one(pbs, "frozen graph (.pb)").map_err(bad)?;
        // the root's metadata first, as the car reads it
        metas.sort_by_key(|(p, _)| p.matches('/').count());
        let (meta_path, meta) = metas
            .into_iter()
            .next()
            .ok_or_else(|| bad("no model_metadata.json in the archive".into()))?;
        let metadata =
            String::from_utf8(meta).map_err(|_| bad(format!("{meta_path} is not UTF-8 text")))?;
        return Ok(Source {
            pb,
            pb_origin: format!("{name}:{pb_path}"),
            metadata,
            metadata_origin: format!("{name}:{meta_path}"),
        });
    }
    let pb_path = if source.is_dir() {
        let mut found = Vec::new();
        find_pbs(source, &mut found)?;
        let (p, ()) = one(
            found.into_iter().map(|p| (p, ())).collect(),
            "frozen graph (.pb)",
        )
        .map_err(bad)?;
        PathBuf::from(p)
    } else if source.extension().is_some_and(|e| e == "pb") {
        source.to_path_buf()
    } else {
        return Err(bad(
            "not a DeepRacer model: give a .tar.gz, a folder with one .pb and \
             model_metadata.json, or a .pb"
                .into(),
        ));
    };
    let candidates = [
        pb_path.with_file_name("model_metadata.json"),
        pb_path
            .parent()
            .and_then(Path::parent)
            .map_or_else(PathBuf::new, |p| p.join("model_metadata.json")),
        source.join("model_metadata.json"),
    ];
    let meta_path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        bad(format!(
            "no model_metadata.json beside {} or in its parent folder",
            pb_path.display()
        ))
    })?;
    Ok(Source {
        pb: std::fs::read(&pb_path).map_err(io_err(&pb_path))?,
        pb_origin: pb_path.display().to_string(),
        metadata: std::fs::read_to_string(meta_path).map_err(io_err(meta_path))?,
        metadata_origin: meta_path.display().to_string(),
    })
}

fn find_pbs(dir: &Path, found: &mut Vec<String>) -> Result<(), AgentError> {
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = entry.map_err(io_err(dir))?.path();
        if p.is_dir() {
            find_pbs(&p, found)?;
        } else if p.extension().is_some_and(|e| e == "pb") {
            found.push(p.display().to_string());
        }
    }
    found.sort();
    Ok(())
}

fn one<T>(mut items: Vec<(String, T)>, what: &str) -> Result<(String, T), String> {
    match items.len() {
        1 => Ok(items.remove(0)),
        0 => Err(format!("no {what} found")),
        _ => Err(format!(
            "{} {what}s ({}); give the one to import",
            items.len(),
            items
                .iter()
                .map(|i| i.0.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn check_metadata(meta: &ModelMetadata, m: &Mapped, origin: &str) -> Result<(), AgentError> {
    let bad = |problem: String| AgentError::Checkpoint {
        path: origin.into(),
        detail: problem,
    };
    match (&meta.action_space, m.softmax) {
        (ActionSpace::Discrete(list), true) if list.len() == m.outputs => {}
        (ActionSpace::Continuous { .. }, false) if m.outputs == 2 => {}
        (space, _) => {
            return Err(bad(format!(
                "the metadata's {} action space does not fit the graph's policy ({} outputs{})",
                if matches!(space, ActionSpace::Discrete(_)) {
                    "discrete"
                } else {
                    "continuous"
                },
                m.outputs,
                if m.softmax { ", softmax" } else { "" }
            )));
        }
    }
    if !meta.sensor.contains(&m.sensor) || meta.sensor.len() != 1 {
        return Err(bad(format!(
            "sensors {:?} in the metadata; the graph reads {} only",
            meta.sensor, m.sensor
        )));
    }
    Ok(())
}
