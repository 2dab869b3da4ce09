//! The `.tar.gz` the stock car's web console takes, and the checks its
//! model loader makes (aws-deepracer-systems-pkg,
//! `model_loader_module/model_loader_node.py` and `model_install_state.py`):
//! the archive's name (without `.tar.gz`) becomes the model's folder, every
//! file whose extension Python's `os.path.splitext` gives as one of
//! `""`, `"."`, `".p"`, `".pb"` is taken for a model (the loader tests
//! `ext in ".pb"`, a substring test on a string), exactly one model must
//! be found, and `model_metadata.json` is read from the archive's root
//! (sensors among the car's, `training_algorithm` `clipped_ppo` or `sac`).

use crate::error::{AgentError, io_err};
use chicane_core::TrainingAlgorithm;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::Read;
use std::path::Path;

/// Where the frozen graph sits in the archive (as DeepRacer-for-Cloud packs it).
pub const MODEL_PB: &str = "agent/model.pb";

/// The metadata file at the archive's root.
pub const METADATA_JSON: &str = "model_metadata.json";

/// Sensor names the car's software knows (`SensorInputKeys` in
/// aws-deepracer-systems-pkg `constants.py`).
const CAR_SENSORS: [&str; 5] = [
    "FRONT_FACING_CAMERA",
    "STEREO_CAMERAS",
    "LIDAR",
    "SECTOR_LIDAR",
    "observation",
];

/// Training algorithms the car's loader accepts.
const CAR_ALGORITHMS: [&str; 2] = ["clipped_ppo", "sac"];

/// What a car archive holds, as its loader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CarArchive {
    /// The model folder name the car gives it (the file name less `.tar.gz`).
    pub model_name: String,
    /// Every file in the archive, in order.
    pub files: Vec<String>,
    /// The one model file.
    pub model_file: String,
    /// The frozen graph's bytes.
    pub model_pb: Vec<u8>,
    /// `model_metadata.json`, parsed.
    pub metadata: serde_json::Value,
}

/// Python's `os.path.splitext(path)[1]`: the last dot of the file name and
/// what follows, leading dots of the name not counting.
fn python_ext(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let body = name.trim_start_matches('.');
    match body.rfind('.') {
        Some(i) => &body[i..],
        None => "",
    }
}

/// True when the car's loader takes `path` for a model file.
fn loader_takes_for_model(path: &str) -> bool {
    ".pb".contains(python_ext(path))
}

/// The model folder name of an archive file name, checked: the loader
/// strips every extension, so a dot in the name would cut it short; spaces
/// break the console's paths.
///
/// # Errors
/// [`AgentError::Request`] (field `out`) naming the fix.
pub fn car_model_name(path: &Path) -> Result<String, AgentError> {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(stem) = file.strip_suffix(".tar.gz") else {
        return Err(AgentError::Request {
            field: "out",
            problem: format!("`{file}`: the car takes a .tar.gz; name it NAME.tar.gz"),
        });
    };
    if stem.is_empty() || stem.contains('.') || stem.chars().any(char::is_whitespace) {
        return Err(AgentError::Request {
            field: "out",
            problem: format!(
                "`{file}`: the car names the model after the file, without dots or spaces; \
                 use letters, digits, `-` and `_` (for example my-model.tar.gz)"
            ),
        });
    }
    Ok(stem.to_string())
}

/// The metadata the car reads, from a run's `model_metadata.json`, with
/// `training_algorithm` set to the algorithm whose rl_coach node names the
/// exported graph has, which the car looks its output up by: `sac` for a
/// SAC policy, `clipped_ppo` for every other (a `vanilla_pg` run has PPO's
/// policy head; the car knows only `clipped_ppo` and `sac`).
///
/// # Errors
/// [`AgentError::Checkpoint`] when the run's metadata is not JSON.
pub fn car_metadata(
    run_metadata: &str,
    path: &Path,
    graph_algorithm: TrainingAlgorithm,
) -> Result<String, AgentError> {
    let mut v: serde_json::Value =
        serde_json::from_str(run_metadata).map_err(|e| AgentError::Checkpoint {
            path: path.to_path_buf(),
            detail: format!("not JSON: {e}"),
        })?;
    let name = match graph_algorithm {
        TrainingAlgorithm::Sac => TrainingAlgorithm::Sac.name(),
        TrainingAlgorithm::ClippedPpo | TrainingAlgorithm::VanillaPg => {
            TrainingAlgorithm::ClippedPpo.name()
        }
    };
    if let Some(obj) = v.as_object_mut() {
        obj.insert("training_algorithm".into(), name.into());
    }
    serde_json::to_string_pretty(&v).map_err(|e| AgentError::Checkpoint {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Writes the car archive `out`: `model_metadata.json` and
/// [`MODEL_PB`], nothing else, with fixed timestamps and modes so the same
/// model gives the same bytes. Written to a temporary file, checked with
/// [`check_car_archive`], then renamed into place.
///
/// # Errors
/// [`AgentError::Request`] for a name the car refuses; [`AgentError::Io`]
/// naming the file.
pub fn write_car_archive(
    out: &Path,
    metadata: &str,
    model_pb: &[u8],
) -> Result<CarArchive, AgentError> {
    let model_name = car_model_name(out)?;
    let tmp = out.with_file_name(format!(
        ".{}.tmp",
        out.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default()
    ));
    let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mut add = |name: &str, bytes: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(&mut h, name, bytes).map_err(io_err(&tmp))
    };
    add(METADATA_JSON, metadata.as_bytes())?;
    add(MODEL_PB, model_pb)?;
    let gz = tar.into_inner().map_err(io_err(&tmp))?;
    gz.finish().map_err(io_err(&tmp))?;
    // checked under the final name's rules before it takes that name
    let checked = read_archive(&tmp, model_name)?;
    std::fs::rename(&tmp, out).map_err(io_err(out))?;
    Ok(checked)
}

/// Reads `path` as the car's model loader would and checks it: the name,
/// exactly one model file and it a `.pb`, `model_metadata.json` at the
/// root with sensors and algorithm the car knows.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the archive and what the car would
/// refuse; [`AgentError::Request`] for its name.
pub fn check_car_archive(path: &Path) -> Result<CarArchive, AgentError> {
    read_archive(path, car_model_name(path)?)
}

fn read_archive(path: &Path, model_name: String) -> Result<CarArchive, AgentError> {
    let bad = |detail: String| AgentError::Checkpoint {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut tar = tar::Archive::new(GzDecoder::new(file));
    let mut files = Vec::new();
    let mut models: Vec<(String, Vec<u8>)> = Vec::new();
    let mut metadata = None;
    for entry in tar.entries().map_err(io_err(path))? {
        let mut entry = entry.map_err(io_err(path))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(io_err(path))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(io_err(path))?;
        if loader_takes_for_model(&name) {
            models.push((name.clone(), bytes));
        } else if name == METADATA_JSON {
            metadata = Some(bytes);
        }
        files.push(name);
    }
    let (model_file, model_pb) = match models.len() {
        1 => models.remove(0),
        0 => return Err(bad("no .pb model file: the car would find no model".into())),
        _ => {
            let names: Vec<&str> = models.iter().map(|m| m.0.as_str()).collect();
            return Err(bad(format!(
                "the car's loader takes each of {} for a model (a .pb or a file without an \
                 extension); keep exactly one .pb",
                names.join(", ")
            )));
        }
    };
    if python_ext(&model_file) != ".pb" {
        return Err(bad(format!(
            "`{model_file}` has no .pb extension; the car's optimizer needs a .pb frozen graph"
        )));
    }
    let metadata = metadata.ok_or_else(|| {
        bad(format!(
            "no {METADATA_JSON} at the archive's root (files: {})",
            files.join(", ")
        ))
    })?;
    let metadata: serde_json::Value = serde_json::from_slice(&metadata)
        .map_err(|e| bad(format!("{METADATA_JSON} is not JSON: {e}")))?;
    if let Some(sensors) = metadata.get("sensor") {
        let list = sensors
            .as_array()
            .ok_or_else(|| bad(format!("{METADATA_JSON}: `sensor` is not a list")))?;
        for s in list {
            if !s.as_str().is_some_and(|s| CAR_SENSORS.contains(&s)) {
                return Err(bad(format!(
                    "{METADATA_JSON}: sensor {s} is not one the car has ({})",
                    CAR_SENSORS.join(", ")
                )));
            }
        }
    }
    if let Some(algo) = metadata.get("training_algorithm")
        && !algo.as_str().is_some_and(|a| CAR_ALGORITHMS.contains(&a))
    {
        return Err(bad(format!(
            "{METADATA_JSON}: training_algorithm {algo} is not one the car loads ({})",
            CAR_ALGORITHMS.join(", ")
        )));
    }
    Ok(CarArchive {
        model_name,
        files,
        model_file,
        model_pb,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitext_matches_python() {
        assert_eq!(python_ext("agent/model.pb"), ".pb");
        assert_eq!(python_ext("agent/checkpoint"), "");
        assert_eq!(python_ext(".hidden"), "");
        assert_eq!(python_ext("a/b.tar.gz"), ".gz");
        assert_eq!(python_ext("x."), ".");
        assert!(loader_takes_for_model("agent/checkpoint"));
        assert!(loader_takes_for_model("model.p"));
        assert!(!loader_takes_for_model("model_metadata.json"));
    }

    #[test]
    fn names_the_car_refuses() {
        assert!(car_model_name(Path::new("runs/my-model_2.tar.gz")).is_ok());
        for bad in ["my.model.tar.gz", "my model.tar.gz", "model.zip", ".tar.gz"] {
            let e = car_model_name(Path::new(bad)).unwrap_err().to_string();
            assert!(e.contains("out"), "{bad}: {e}");
        }
    }
}
