//! One S3 client per process: object get/put/list/delete, and whole
//! folders both ways.

use crate::error::StoreError;
use crate::settings::AwsSettings;
use crate::url::S3Url;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where downloads from S3 are kept: `$CHICANE_CACHE_DIR/s3`, else
/// `$XDG_CACHE_HOME/chicane/s3`, else `~/.cache/chicane/s3`, else
/// `.chicane-cache/s3` in the working folder. An object or prefix
/// `s3://bucket/key` lands at `<root>/bucket/key`.
pub fn cache_root() -> PathBuf {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("CHICANE_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("chicane")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/chicane")))
        .unwrap_or_else(|| PathBuf::from(".chicane-cache"))
        .join("s3")
}

/// A blocking S3 client (object_store's Amazon S3 store on a one-thread
/// tokio runtime), configured once from [`AwsSettings`].
pub struct S3Client {
    settings: AwsSettings,
    runtime: tokio::runtime::Runtime,
    stores: Mutex<HashMap<String, Arc<AmazonS3>>>,
}

impl std::fmt::Debug for S3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Client")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl S3Client {
    /// A client for `settings`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the runtime cannot start.
    pub fn new(settings: AwsSettings) -> Result<S3Client, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StoreError::io("the S3 client's runtime"))?;
        Ok(S3Client {
            settings,
            runtime,
            stores: Mutex::new(HashMap::new()),
        })
    }

    /// A client configured from this process's environment and `~/.aws`
    /// files ([`AwsSettings::from_env`]).
    ///
    /// # Errors
    /// As [`AwsSettings::from_env`].
    pub fn from_env() -> Result<S3Client, StoreError> {
        S3Client::new(AwsSettings::from_env()?)
    }

    /// The settings in use.
    pub fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    fn store(&self, url: &S3Url) -> Result<Arc<AmazonS3>, StoreError> {
        let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = stores.get(url.bucket()) {
            return Ok(Arc::clone(s));
        }
        let s = &self.settings;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(url.bucket())
            .with_region(&s.region)
            // a server that is down fails in seconds, not object_store's
            // default 3 minutes of retries
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            });
        if let Some(e) = &s.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (&s.access_key_id, &s.secret_access_key) {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = &s.session_token {
                b = b.with_token(t);
            }
        }
        let store = Arc::new(b.build().map_err(|e| StoreError::Settings {
            source_name: format!("the S3 client for {url}"),
            problem: e.to_string(),
        })?);
        stores.insert(url.bucket().to_string(), Arc::clone(&store));
        Ok(store)
    }

    /// Maps object_store's error to one that says what to fix.
    fn error(&self, operation: &'static str, url: &S3Url, e: object_store::Error) -> StoreError {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        let endpoint = self.settings.endpoint_name();
        let code = |c: &str| detail.contains(c);
        if code("NoSuchBucket") {
            StoreError::NoSuchBucket {
                bucket: url.bucket().to_string(),
                endpoint,
            }
        } else if code("InvalidAccessKeyId")
            || code("SignatureDoesNotMatch")
            || code("AccessDenied")
            || code("ExpiredToken")
            || code("InvalidToken")
            || matches!(
                e,
                object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. }
            )
        {
            let detail = [
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "AccessDenied",
                "ExpiredToken",
                "InvalidToken",
            ]
            .into_iter()
            .find(|c| code(c))
            .unwrap_or("HTTP 403 without an error code")
            .to_string();
            StoreError::Credentials {
                url: url.to_string(),
                endpoint,
                detail,
            }
        } else if matches!(e, object_store::Error::NotFound { .. }) {
            StoreError::NotFound {
                url: url.to_string(),
            }
        } else {
            StoreError::Request {
                operation,
                url: url.to_string(),
                endpoint,
                detail,
            }
        }
    }

    fn path(url: &S3Url) -> ObjectPath {
        ObjectPath::from(url.key())
    }

    /// The object's bytes.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NoSuchBucket`],
    /// [`StoreError::Credentials`] or [`StoreError::Request`].
    pub fn get(&self, url: &S3Url) -> Result<Vec<u8>, StoreError> {
        let store = self.store(url)?;
        let path = S3Client::path(url);
        self.runtime
            .block_on(async { store.get(&path).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(|e| self.error("get", url, e))
    }

    /// Writes `bytes` as the object (S3 replaces an object whole, so
    /// readers see the old or the new one, never a part).
    ///
    /// # Errors
    /// As [`S3Client::get`].
    pub fn put(&self, url: &S3Url, bytes: Vec<u8>) -> Result<(), StoreError> {
        let store = self.store(url)?;
        let path = S3Client::path(url);
        self.runtime
            .block_on(store.put(&path, bytes.into()))
            .map(|_| ())
            .map_err(|e| self.error("put", url, e))
    }

    /// Whether an object (not a prefix) exists at `url`.
    ///
    /// # Errors
    /// As [`S3Client::get`], except that a missing object is `Ok(false)`.
    pub fn exists(&self, url: &S3Url) -> Result<bool, StoreError> {
        if url.key().is_empty() {
            return Ok(false);
        }
        let store = self.store(url)?;
        let path = S3Client::path(url);
        match self.runtime.block_on(store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => {
                // a HEAD has no body: a missing bucket also reads as 404
                self.list(url).map(|_| false)
            }
            Err(e) => match self.error("head", url, e) {
                // a HEAD's 403 has no body to name the cause: ask again with
                // a request whose answer does (InvalidAccessKeyId, ...)
                head @ StoreError::Credentials { .. } => Err(self.list(url).err().unwrap_or(head)),
                other => Err(other),
            },
        }
    }

    /// Every object under the prefix `url` (the "folder" `url/`), as
    /// (URL, size in bytes), sorted by key.
    ///
    /// # Errors
    /// [`StoreError::NoSuchBucket`], [`StoreError::Credentials`] or
    /// [`StoreError::Request`].
    pub fn list(&self, url: &S3Url) -> Result<Vec<(S3Url, u64)>, StoreError> {
        let store = self.store(url)?;
        let prefix = (!url.key().is_empty()).then(|| S3Client::path(url));
        let metas: Vec<object_store::ObjectMeta> = self
            .runtime
            .block_on(store.list(prefix.as_ref()).try_collect())
            .map_err(|e| self.error("list", url, e))?;
        let root = S3Url::new(url.bucket(), "")?;
        let mut out: Vec<(S3Url, u64)> = metas
            .into_iter()
            .map(|m| (root.join(m.location.as_ref()), m.size))
            .filter(|(u, _)| u.strip_prefix(url).is_some())
            .collect();
        out.sort_by(|a, b| a.0.key().cmp(b.0.key()));
        Ok(out)
    }

    /// Deletes the object (a missing one is no error).
    ///
    /// # Errors
    /// As [`S3Client::get`].
    pub fn delete(&self, url: &S3Url) -> Result<(), StoreError> {
        let store = self.store(url)?;
        let path = S3Client::path(url);
        match self.runtime.block_on(store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("delete", url, e)),
        }
    }

    /// Downloads the object to `path` (written beside it, then renamed).
    ///
    /// # Errors
    /// As [`S3Client::get`], or [`StoreError::Io`] naming the file.
    pub fn download_file(&self, url: &S3Url, path: &Path) -> Result<u64, StoreError> {
        let bytes = self.get(url)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        }
        let tmp = path.with_extension("download");
        std::fs::write(&tmp, &bytes).map_err(StoreError::io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(StoreError::io(path))?;
        Ok(bytes.len() as u64)
    }

    /// Uploads the file at `path` as the object `url`.
    ///
    /// # Errors
    /// [`StoreError::Io`] naming the file, or as [`S3Client::put`].
    pub fn upload_file(&self, path: &Path, url: &S3Url) -> Result<u64, StoreError> {
        let bytes = std::fs::read(path).map_err(StoreError::io(path))?;
        let n = bytes.len() as u64;
        self.put(url, bytes)?;
        Ok(n)
    }

    /// Uploads every file under `dir` to the prefix `url`. Returns the
    /// number of files.
    ///
    /// # Errors
    /// As [`S3Client::upload_file`].
    pub fn upload_dir(&self, dir: &Path, url: &S3Url) -> Result<usize, StoreError> {
        let files = walk(dir)?;
        for (rel, path) in &files {
            self.upload_file(path, &url.join(rel))?;
        }
        Ok(files.len())
    }

    /// Downloads the prefix `url` into `dir` (emptied first, so it holds
    /// exactly what is on S3), skipping objects `skip` returns true for
    /// (given the key relative to `url`). Returns the number of files.
    ///
    /// # Errors
    /// As [`S3Client::list`] and [`S3Client::download_file`].
    pub fn download_prefix(
        &self,
        url: &S3Url,
        dir: &Path,
        skip: impl Fn(&str) -> bool,
    ) -> Result<usize, StoreError> {
        let objects = self.list(url)?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(StoreError::io(dir))?;
        }
        std::fs::create_dir_all(dir).map_err(StoreError::io(dir))?;
        let mut n = 0;
        for (obj, _) in &objects {
            let Some(rel) = obj.strip_prefix(url) else {
                continue;
            };
            // "folder" marker objects (keys ending in /) hold nothing
            if rel.is_empty() || skip(rel) {
                continue;
            }
            self.download_file(obj, &dir.join(rel))?;
            n += 1;
        }
        Ok(n)
    }

    /// An input on S3 as a local path in the cache ([`cache_root`]): an
    /// object is downloaded as a file; otherwise the prefix is downloaded
    /// as a folder (a DeepRacer `custom_files` folder, a run folder, a
    /// DRfC model prefix). A run `.toml` comes with the rest of its folder,
    /// so the paths it gives relative to itself resolve.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is neither an object nor
    /// anything under the prefix; otherwise as [`S3Client::get`].
    pub fn fetch(&self, url: &S3Url) -> Result<PathBuf, StoreError> {
        let local = cache_root().join(url.bucket()).join(url.key());
        if self.exists(url)? {
            if url.key().ends_with(".toml") {
                let folder = S3Url::new(
                    url.bucket(),
                    url.key().rsplit_once('/').map_or("", |(dir, _)| dir),
                )?;
                let dir = local
                    .parent()
                    .map_or_else(|| local.clone(), Path::to_path_buf);
                self.download_prefix(&folder, &dir, |_| false)?;
                return Ok(local);
            }
            self.download_file(url, &local)?;
            return Ok(local);
        }
        if url.key().is_empty() {
            return Err(StoreError::NotFound {
                url: url.to_string(),
            });
        }
        match self.download_prefix(url, &local, |_| false)? {
            0 => Err(StoreError::NotFound {
                url: url.to_string(),
            }),
            _ => Ok(local),
        }
    }
}

/// Every file under `dir` as (key relative to `dir` with `/`, path),
/// sorted; hidden names (`.x`) and `*.tmp` files (checkpoints being
/// written) are left out.
pub(crate) fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((rel, path)) = stack.pop() {
        let rd = std::fs::read_dir(&path).map_err(StoreError::io(&path))?;
        for entry in rd {
            let entry = entry.map_err(StoreError::io(&path))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".tmp") {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let p = entry.path();
            if p.is_dir() {
                stack.push((child_rel, p));
            } else {
                out.push((child_rel, p));
            }
        }
    }
    out.sort();
    Ok(out)
}
