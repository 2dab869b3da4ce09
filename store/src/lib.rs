//! Run folders and inputs on S3 for chicane.
//!
//! Every path of a run may be an `s3://bucket/prefix` URL. chicane keeps
//! working on local files: inputs (a run file, a DeepRacer `custom_files`
//! folder, tracks, a run to clone or evaluate, a model to import) are
//! downloaded into a local cache first ([`S3Client::fetch`],
//! [`download_run`]), and a run folder on S3 is trained in a local mirror
//! that [`RunMirror::sync`] uploads after every checkpoint: every file
//! first, `checkpoints/latest` (the pointer naming the newest checkpoint)
//! last, so a crash never leaves `latest` naming a half-uploaded
//! checkpoint.
//!
//! The endpoint, region and credentials come from the standard AWS
//! environment variables and `~/.aws/config` / `~/.aws/credentials`
//! ([`AwsSettings`]), so AWS, MinIO and other S3 servers work alike.
//!
//! ```no_run
//! use chicane_store::{S3Client, S3Url};
//! let client = S3Client::from_env()?;
//! let custom_files = client.fetch(&"s3://bucket/custom_files".parse::<S3Url>()?)?;
//! println!("downloaded to {}", custom_files.display());
//! # Ok::<(), chicane_store::StoreError>(())
//! ```

mod client;
mod error;
mod mirror;
mod settings;
mod url;

pub use client::{S3Client, cache_root};
pub use error::StoreError;
pub use mirror::{RunMirror, SyncReport, download_run};
pub use settings::AwsSettings;
pub use url::{S3Url, is_s3};
