//! A run folder on S3: trained in a local mirror, synced up after every
//! checkpoint, downloaded to resume, evaluate, export or clone.

use crate::client::{S3Client, walk};
use crate::error::StoreError;
use crate::url::S3Url;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// The checkpoint pointer, relative to the run folder (chicane's
/// `checkpoints/latest`, a text file naming the newest checkpoint folder).
const POINTER: &str = "checkpoints/latest";

/// What one [`RunMirror::sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Files uploaded (new or changed since the last sync).
    pub uploaded: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Objects deleted (checkpoints pruned locally).
    pub deleted: usize,
}

/// A local run folder kept in step with a prefix on S3.
///
/// [`RunMirror::sync`] uploads what is new or changed (by size and
/// modification time), every file before the checkpoint pointer, then the
/// pointer, then deletes the checkpoints the run pruned: S3's
/// `checkpoints/latest` only ever names a checkpoint whose files are all
/// uploaded.
#[derive(Debug)]
pub struct RunMirror {
    client: Arc<S3Client>,
    remote: S3Url,
    local: PathBuf,
    sent: HashMap<String, (u64, Option<SystemTime>)>,
}

impl RunMirror {
    /// A mirror of `local` at `remote` that has uploaded nothing yet.
    pub fn new(client: Arc<S3Client>, remote: S3Url, local: impl Into<PathBuf>) -> RunMirror {
        RunMirror {
            client,
            remote,
            local: local.into(),
            sent: HashMap::new(),
        }
    }

    /// The run folder on S3.
    pub fn remote(&self) -> &S3Url {
        &self.remote
    }

    /// The local folder.
    pub fn local(&self) -> &Path {
        &self.local
    }

    /// Counts the files now in the local folder as already on S3 (after a
    /// download, so the next sync uploads only what changes).
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the folder.
    pub fn mark_synced(&mut self) -> Result<(), StoreError> {
        for (rel, path) in walk(&self.local)? {
            self.sent.insert(rel, stamp(&path));
        }
        Ok(())
    }

    /// Uploads what changed since the last sync; see [`RunMirror`].
    ///
    /// # Errors
    /// [`StoreError::Io`] for a local file, or an S3 error (nothing is
    /// lost: the next sync uploads what this one did not).
    pub fn sync(&mut self) -> Result<SyncReport, StoreError> {
        let mut report = SyncReport::default();
        if !self.local.is_dir() {
            return Ok(report);
        }
        let files = walk(&self.local)?;
        let mut pointer = None;
        for (rel, path) in &files {
            let now = stamp(path);
            if self.sent.get(rel) == Some(&now) {
                continue;
            }
            if rel == POINTER {
                pointer = Some((path, now));
                continue;
            }
            report.bytes += self.client.upload_file(path, &self.remote.join(rel))?;
            report.uploaded += 1;
            self.sent.insert(rel.clone(), now);
        }
        if let Some((path, now)) = pointer {
            report.bytes += self.client.upload_file(path, &self.remote.join(POINTER))?;
            report.uploaded += 1;
            self.sent.insert(POINTER.to_string(), now);
            // the checkpoints the run pruned, now that the pointer has moved
            let here: std::collections::HashSet<&str> =
                files.iter().map(|(rel, _)| rel.as_str()).collect();
            let gone: Vec<String> = self
                .sent
                .keys()
                .filter(|rel| rel.starts_with("checkpoints/iter-") && !here.contains(rel.as_str()))
                .cloned()
                .collect();
            for rel in gone {
                self.client.delete(&self.remote.join(&rel))?;
                self.sent.remove(&rel);
                report.deleted += 1;
            }
        }
        Ok(report)
    }
}

fn stamp(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path).map_or((0, None), |m| (m.len(), m.modified().ok()))
}

/// Downloads the run folder at `remote` into `local` (emptied first) and
/// returns a [`RunMirror`] of it that counts those files as synced.
///
/// Checkpoint folders newer than the one `checkpoints/latest` names (an
/// upload cut short by a crash) are left out, so `--resume` and export see
/// only whole checkpoints.
///
/// # Errors
/// [`StoreError::NotFound`] when nothing is under `remote`; otherwise as
/// [`S3Client::download_prefix`].
pub fn download_run(
    client: Arc<S3Client>,
    remote: &S3Url,
    local: &Path,
) -> Result<RunMirror, StoreError> {
    let latest = match client.get(&remote.join(POINTER)) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_string()),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let n = client.download_prefix(remote, local, |rel| {
        let Some(ckpt) = rel
            .strip_prefix("checkpoints/")
            .and_then(|r| r.split_once('/'))
            .map(|(dir, _)| dir)
        else {
            return false;
        };
        // a checkpoint is whole when it is the one `latest` names or older
        match &latest {
            Some(l) => ckpt > l.as_str(),
            None => true,
        }
    })?;
    if n == 0 {
        return Err(StoreError::NotFound {
            url: remote.to_string(),
        });
    }
    let mut mirror = RunMirror::new(client, remote.clone(), local);
    mirror.mark_synced()?;
    Ok(mirror)
}
