//! `s3://` paths in requests (chicane-store underneath): inputs come from
//! the local download cache, a run folder on S3 is trained, evaluated or
//! imported in a local mirror that is synced up after every checkpoint.
//!
//! A run folder on S3 also holds `inputs.json`, the S3 inputs its
//! `run.toml` was resolved from and where they were downloaded. Opening
//! the run on another machine (or with another cache) downloads them again
//! and rewrites those paths in the mirror's `run.toml`.

use crate::error::AgentError;
use chicane_store::{RunMirror, S3Client, S3Url, StoreError, SyncReport, cache_root, is_s3};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The inputs file of a run folder on S3: `{"s3://...": "/local/path"}`.
const INPUTS: &str = "inputs.json";

static CLIENT: Mutex<Option<Arc<S3Client>>> = Mutex::new(None);

/// The process's S3 client, made on first use from the AWS environment.
fn client() -> Result<Arc<S3Client>, AgentError> {
    let mut c = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(c) = c.as_ref() {
        return Ok(Arc::clone(c));
    }
    let made = Arc::new(S3Client::from_env()?);
    *c = Some(Arc::clone(&made));
    Ok(made)
}

fn url_of(path: &Path) -> Option<Result<S3Url, AgentError>> {
    let s = path.to_str()?;
    is_s3(s).then(|| s.parse::<S3Url>().map_err(AgentError::from))
}

/// Where `url` lands in the local cache.
fn cache_path(url: &S3Url) -> PathBuf {
    cache_root().join(url.bucket()).join(url.key())
}

/// The inputs of one request fetched from S3: (URL, local path).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fetched(Vec<(String, PathBuf)>);

impl Fetched {
    /// `path` if local; if `s3://`, the object or folder downloaded.
    pub(crate) fn input(&mut self, path: &Path) -> Result<PathBuf, AgentError> {
        match url_of(path) {
            None => Ok(path.to_path_buf()),
            Some(url) => {
                let url = url?;
                let local = client()?.fetch(&url)?;
                self.0.push((url.to_string(), local.clone()));
                Ok(local)
            }
        }
    }

    /// A track spec: a built-in name, a local file or an `s3://` file.
    pub(crate) fn track(&mut self, spec: &str) -> Result<String, AgentError> {
        if !is_s3(spec) {
            return Ok(spec.to_string());
        }
        let local = self.input(Path::new(spec))?;
        Ok(local.to_string_lossy().into_owned())
    }

    fn write_inputs(&self, dir: &Path) -> Result<(), AgentError> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .map(|(u, p)| (u.clone(), p.to_string_lossy().into_owned().into()))
            .collect();
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        let text = serde_json::to_string_pretty(&map).unwrap_or_default();
        crate::checkpoint::write_atomic(&dir.join(INPUTS), text.as_bytes())
    }
}

/// A run folder on S3 and its local mirror.
#[derive(Debug)]
pub struct RemoteRun {
    url: S3Url,
    local: PathBuf,
    mirror: Mutex<RunMirror>,
}

impl RemoteRun {
    /// The local folder and the remote run, as the openers return them.
    fn folder(url: S3Url, local: PathBuf, mirror: RunMirror) -> (PathBuf, Option<Arc<RemoteRun>>) {
        let run = RemoteRun {
            url,
            local: local.clone(),
            mirror: Mutex::new(mirror),
        };
        (local, Some(Arc::new(run)))
    }

    /// The run folder's URL.
    pub fn url(&self) -> &S3Url {
        &self.url
    }

    /// The local mirror the run is written in.
    pub fn local(&self) -> &Path {
        &self.local
    }

    /// Uploads what changed since the last sync: every file first, the
    /// checkpoint pointer `checkpoints/latest` last (chicane-store's
    /// `RunMirror::sync`).
    ///
    /// # Errors
    /// An S3 error or a local file that cannot be read; nothing is lost,
    /// the next sync uploads what this one did not.
    pub fn sync(&self) -> Result<SyncReport, AgentError> {
        let mut m = self.mirror.lock().unwrap_or_else(|p| p.into_inner());
        Ok(m.sync()?)
    }
}

/// A run folder named by `path`: itself when local; when `s3://`, the run
/// downloaded into the cache (whole checkpoints only, its S3 inputs
/// fetched again, see the module's doc) with a [`RemoteRun`] to sync what
/// is written into it afterwards (an evaluation).
///
/// # Errors
/// An S3 error ([`StoreError::NotFound`] when nothing is at `path`).
pub fn open_run_folder(path: &Path) -> Result<(PathBuf, Option<Arc<RemoteRun>>), AgentError> {
    let Some(url) = url_of(path) else {
        return Ok((path.to_path_buf(), None));
    };
    let url = url?;
    let local = cache_path(&url);
    let mut mirror = chicane_store::download_run(client()?, &url, &local)?;
    refetch_inputs(&local)?;
    // the rewritten run.toml is not news for S3
    mirror.mark_synced()?;
    Ok(RemoteRun::folder(url, local, mirror))
}

/// A new run folder at `path`: itself when local; when `s3://`, an empty
/// local mirror and its [`RemoteRun`]. `fetched` (the S3 inputs of the
/// run) is written into the mirror as `inputs.json`.
///
/// # Errors
/// [`AgentError::Checkpoint`] when the S3 folder already holds a run
/// (`run.toml`); an S3 error.
pub(crate) fn new_run_folder(
    path: &Path,
    fetched: &Fetched,
) -> Result<(PathBuf, Option<Arc<RemoteRun>>), AgentError> {
    let Some(url) = url_of(path) else {
        return Ok((path.to_path_buf(), None));
    };
    let url = url?;
    let client = client()?;
    if client.exists(&url.join("run.toml"))? {
        return Err(AgentError::Checkpoint {
            path: path.to_path_buf(),
            detail: "already holds a training run: resume it (--resume) or choose another run \
                     folder (--out)"
                .into(),
        });
    }
    let local = cache_path(&url);
    if local.exists() {
        std::fs::remove_dir_all(&local).map_err(crate::error::io_err(&local))?;
    }
    if !fetched.0.is_empty() {
        fetched.write_inputs(&local)?;
    }
    let mirror = RunMirror::new(client, url.clone(), &local);
    Ok(RemoteRun::folder(url, local, mirror))
}

/// An input named by `path`: itself when local; when `s3://`, the object
/// or folder downloaded into the cache (see `S3Client::fetch`).
///
/// # Errors
/// An S3 error ([`StoreError::NotFound`] when nothing is at `path`).
pub fn fetch_input(path: &Path) -> Result<PathBuf, AgentError> {
    Fetched::default().input(path)
}

/// A new run folder at `path` (for `import-model`): itself when local;
/// when `s3://`, an empty local mirror and the [`RemoteRun`] to sync it
/// with once written.
///
/// # Errors
/// [`AgentError::Checkpoint`] when the S3 folder already holds a run; an
/// S3 error.
pub fn create_run_folder(path: &Path) -> Result<(PathBuf, Option<Arc<RemoteRun>>), AgentError> {
    new_run_folder(path, &Fetched::default())
}

/// Downloads the S3 inputs a run folder's `inputs.json` lists and, where
/// this machine's cache puts them elsewhere, rewrites their paths in its
/// `run.toml`.
fn refetch_inputs(dir: &Path) -> Result<(), AgentError> {
    let path = dir.join(INPUTS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| AgentError::Checkpoint {
            path: path.clone(),
            detail: format!("does not parse ({e}); delete it if the run's inputs are local"),
        })?;
    let toml_path = dir.join("run.toml");
    let mut toml = std::fs::read_to_string(&toml_path).unwrap_or_default();
    let mut changed = false;
    for (url, old) in &map {
        let Some(old) = old.as_str() else { continue };
        let url: S3Url = url.parse()?;
        let new = client()?.fetch(&url)?;
        let new = new.to_string_lossy();
        if new != old {
            // TOML basic strings escape `\` and `"`; paths are written that way
            let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
            toml = toml.replace(&esc(old), &esc(&new));
            changed = true;
        }
    }
    if changed {
        crate::checkpoint::write_atomic(&toml_path, toml.as_bytes())?;
    }
    let fetched = Fetched(
        map.iter()
            .filter_map(|(u, _)| {
                let u: S3Url = u.parse().ok()?;
                Some((u.to_string(), cache_path(&u)))
            })
            .collect(),
    );
    fetched.write_inputs(dir)
}

/// Writes what `write` makes at `out` (a local path, or an `s3://` object
/// made locally in the cache, then uploaded). Returns the local file.
///
/// # Errors
/// `write`'s error, or an S3 error.
pub fn write_output<T>(
    out: &Path,
    write: impl FnOnce(&Path) -> Result<T, AgentError>,
) -> Result<(T, PathBuf), AgentError> {
    let Some(url) = url_of(out) else {
        return Ok((write(out)?, out.to_path_buf()));
    };
    let url = url?;
    let local = cache_path(&url);
    if let Some(dir) = local.parent() {
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
    }
    let done = write(&local)?;
    client()?.upload_file(&local, &url)?;
    Ok((done, local))
}

impl From<StoreError> for AgentError {
    fn from(e: StoreError) -> AgentError {
        AgentError::Store(e)
    }
}
