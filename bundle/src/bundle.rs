//! The model bundle `chicane export` writes and the car reads: one
//! `.tar.gz` holding
//!
//! | file | what |
//! |---|---|
//! | `model.onnx` | the policy, standard ONNX (opset 13) |
//! | `model_metadata.json` | DeepRacer's: action space, sensors, network |
//! | `preprocessing.json` | [`ModelSpec`]: input size, channels, frame stack, scaling, output |
//! | `run.toml` | the training config, as `chicane config show` prints it |
//! | `checksums.sha256` | SHA-256 of every other file (`sha256sum -c` format) |

use crate::contract::OutputKind;
use chicane_core::{ModelMetadata, Preprocess, Sensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The bundle format version this build writes and reads.
pub const BUNDLE_FORMAT: u32 = 1;
/// The ONNX model's file name in the bundle.
pub const MODEL_FILE: &str = "model.onnx";
/// DeepRacer's metadata file name.
pub const METADATA_FILE: &str = "model_metadata.json";
/// The preprocessing spec's file name.
pub const SPEC_FILE: &str = "preprocessing.json";
/// The training config's file name.
pub const CONFIG_FILE: &str = "run.toml";
/// The checksum list's file name.
pub const CHECKSUMS_FILE: &str = "checksums.sha256";

/// Largest file read from a bundle (bytes); DeepRacer's deepest network
/// is about 100 MB of f32 weights.
const MAX_FILE_BYTES: u64 = 1 << 30;

/// A bundle that cannot be written or read, or whose parts disagree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A bundle that cannot be read or does not hold together.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The bundle.
        path: PathBuf,
        /// What is wrong (naming the file inside the bundle) and how to fix it.
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

fn io_error(path: &Path, source: std::io::Error) -> BundleError {
    BundleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `preprocessing.json`: how camera frames become the ONNX input, and what
/// comes out. The car applies exactly this (chicane-core's [`Preprocess`]
/// and `FrameStack`, the code training used).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// [`BUNDLE_FORMAT`].
    pub format_version: u32,
    /// The network (`model_metadata.json`'s `neural_network`).
    pub network: chicane_core::NetworkKind,
    /// Camera preprocessing: frames `[channels, height, width]` u8 become
    /// `[channels * stack_size, height / downscale, width / downscale]` f32
    /// in `[0, 1]` (pixel / 255, box-averaged). The ONNX input `camera` is
    /// `[N, C, H, W]` of that shape.
    pub camera: Option<Preprocess>,
    /// Lidar beams of the ONNX input `lidar` (`[N, L]`, metres), if any.
    pub lidar: Option<usize>,
    /// The policy output.
    pub output: OutputKind,
    /// Values per observation of the output (actions, or 2).
    pub output_len: usize,
    /// The rate the policy was trained to act at (Hz); DeepRacer's 15.
    pub action_hz: f64,
    /// The run folder the model came from.
    pub run: String,
    /// The checkpoint exported (its folder name, e.g. `iter-000012`).
    pub checkpoint: String,
}

/// A model bundle read into memory and checked.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Where it was read from.
    pub path: PathBuf,
    /// `preprocessing.json`.
    pub spec: ModelSpec,
    /// `model_metadata.json`.
    pub metadata: ModelMetadata,
    /// `model.onnx`.
    pub onnx: Vec<u8>,
    /// `run.toml`.
    pub run_toml: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a bundle to `path` atomically (a temporary file beside it, then
/// rename), so a crash never leaves half a bundle.
///
/// # Errors
/// [`BundleError::Io`] naming the file that could not be written;
/// [`BundleError::Invalid`] if the parts do not agree (see [`Bundle::check`]).
pub fn write_bundle(
    path: &Path,
    spec: &ModelSpec,
    metadata_json: &str,
    onnx: &[u8],
    run_toml: &str,
) -> Result<(), BundleError> {
    let spec_json = serde_json::to_string_pretty(spec).map_err(|e| BundleError::Invalid {
        path: path.into(),
        problem: format!("cannot serialise {SPEC_FILE}: {e}"),
    })?;
    let mut files: Vec<(&str, &[u8])> = vec![
        (MODEL_FILE, onnx),
        (METADATA_FILE, metadata_json.as_bytes()),
        (SPEC_FILE, spec_json.as_bytes()),
        (CONFIG_FILE, run_toml.as_bytes()),
    ];
    // check what the car will check before anything is written
    let parsed =
        ModelMetadata::parse(metadata_json, METADATA_FILE).map_err(|e| BundleError::Invalid {
            path: path.into(),
            problem: e.to_string(),
        })?;
    check_parts(path, spec, &parsed)?;
    let sums: String = files
        .iter()
        .map(|(name, data)| format!("{}  {name}\n", sha256_hex(data)))
        .collect();
    files.push((CHECKSUMS_FILE, sums.as_bytes()));
    let file_name = path
        .file_name()
        .map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (name, data) in &files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            tar.append_data(&mut header, name, *data)?;
        }
        let gz = tar.into_inner()?;
        let file = gz.finish()?;
        file.sync_all()?;
        Ok(())
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    write().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn check_parts(path: &Path, spec: &ModelSpec, metadata: &ModelMetadata) -> Result<(), BundleError> {
    let bad = |problem: String| BundleError::Invalid {
        path: path.into(),
        problem,
    };
    if spec.format_version != BUNDLE_FORMAT {
        return Err(bad(format!(
            "{SPEC_FILE}: format_version {} is not {BUNDLE_FORMAT}; export the model again \
             with this version of chicane",
            spec.format_version
        )));
    }
    let cameras: usize = metadata
        .sensor
        .iter()
        .map(|s| match s {
            Sensor::FrontFacingCamera => 1,
            Sensor::StereoCameras => 2,
            _ => 0,
        })
        .sum();
    let has_lidar = metadata
        .sensor
        .iter()
        .any(|s| matches!(s, Sensor::Lidar | Sensor::SectorLidar));
    match (&spec.camera, cameras) {
        (None, 0) => {}
        (Some(p), n) if n > 0 && p.channels == n => {}
        (Some(p), n) => {
            return Err(bad(format!(
                "{METADATA_FILE} lists sensors {:?} ({n} camera channel(s)) but {SPEC_FILE} \
                 gives a {}-channel camera input; the files come from different models",
                metadata.sensor, p.channels
            )));
        }
        (None, n) => {
            return Err(bad(format!(
                "{METADATA_FILE} lists {n} camera(s) but {SPEC_FILE} has no camera input"
            )));
        }
    }
    if has_lidar != spec.lidar.is_some() {
        return Err(bad(format!(
            "{METADATA_FILE} sensors {:?} and {SPEC_FILE} lidar {:?} disagree",
            metadata.sensor, spec.lidar
        )));
    }
    let (want_kind, want_len) = match metadata.action_space.num_actions() {
        Some(n) => (OutputKind::Probabilities, n),
        None => (OutputKind::GaussianMean, 2),
    };
    if spec.output != want_kind || spec.output_len != want_len {
        return Err(bad(format!(
            "{METADATA_FILE}'s action space needs {want_len} {want_kind:?} outputs but \
             {SPEC_FILE} declares {} {:?}",
            spec.output_len, spec.output
        )));
    }
    if !(spec.action_hz.is_finite() && spec.action_hz > 0.0) {
        return Err(bad(format!(
            "{SPEC_FILE}: action_hz {} must be a positive rate",
            spec.action_hz
        )));
    }
    Ok(())
}

impl Bundle {
    /// Reads and checks the bundle at `path`: every file present, every
    /// checksum right, the spec and the metadata in agreement.
    ///
    /// # Errors
    /// [`BundleError::Invalid`] naming the file inside the bundle at fault;
    /// [`BundleError::Io`] if `path` cannot be read.
    pub fn open(path: &Path) -> Result<Bundle, BundleError> {
        let bad = |problem: String| BundleError::Invalid {
            path: path.into(),
            problem,
        };
        let file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut files = BTreeMap::new();
        let entries = archive.entries().map_err(|e| {
            bad(format!(
                "not a .tar.gz model bundle ({e}); create one with `chicane export RUN --out FILE`"
            ))
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                bad(format!(
                    "not a model bundle or a damaged one ({e}); create one with \
                     `chicane export RUN --out FILE`"
                ))
            })?;
            let name = entry
                .path()
                .map_err(|e| bad(format!("bad file name: {e}")))?
                .to_string_lossy()
                .into_owned();
            let mut data = Vec::new();
            entry
                .take(MAX_FILE_BYTES)
                .read_to_end(&mut data)
                .map_err(|e| bad(format!("{name}: corrupt archive: {e}")))?;
            files.insert(name, data);
        }
        let get = |name: &str| {
            files.get(name).ok_or_else(|| {
                bad(format!(
                    "{name} is missing; a bundle holds {MODEL_FILE}, {METADATA_FILE}, \
                     {SPEC_FILE}, {CONFIG_FILE} and {CHECKSUMS_FILE}"
                ))
            })
        };
        let sums = String::from_utf8_lossy(get(CHECKSUMS_FILE)?).into_owned();
        let mut listed = BTreeMap::new();
        for (i, line) in sums
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let (hex, name) = line.split_once("  ").ok_or_else(|| {
                bad(format!(
                    "{CHECKSUMS_FILE} line {}: expected `<sha256>  <file>`",
                    i + 1
                ))
            })?;
            listed.insert(name.trim().to_string(), hex.trim().to_string());
        }
        for (name, data) in &files {
            if name == CHECKSUMS_FILE {
                continue;
            }
            let want = listed
                .get(name)
                .ok_or_else(|| bad(format!("{name} is not listed in {CHECKSUMS_FILE}")))?;
            if *want != sha256_hex(data) {
                return Err(bad(format!(
                    "{name}: SHA-256 mismatch (the file was changed or damaged in transit); \
                     copy the bundle again"
                )));
            }
        }
        let text = |name: &str| -> Result<String, BundleError> {
            String::from_utf8(get(name)?.clone())
                .map_err(|_| bad(format!("{name} is not UTF-8 text")))
        };
        let spec: ModelSpec = serde_json::from_str(&text(SPEC_FILE)?)
            .map_err(|e| bad(format!("{SPEC_FILE}: {e}")))?;
        let metadata = ModelMetadata::parse(&text(METADATA_FILE)?, METADATA_FILE)
            .map_err(|e| bad(e.to_string()))?;
        check_parts(path, &spec, &metadata)?;
        Ok(Bundle {
            path: path.into(),
            onnx: get(MODEL_FILE)?.clone(),
            run_toml: text(CONFIG_FILE)?,
            spec,
            metadata,
        })
    }

    /// Writes `run.toml` into `dir` and returns its path (for the simulator).
    ///
    /// # Errors
    /// [`BundleError::Io`].
    pub fn write_config(&self, dir: &Path) -> Result<PathBuf, BundleError> {
        let p = dir.join(CONFIG_FILE);
        let mut f = std::fs::File::create(&p).map_err(|e| io_error(&p, e))?;
        f.write_all(self.run_toml.as_bytes())
            .map_err(|e| io_error(&p, e))?;
        Ok(p)
    }
}
