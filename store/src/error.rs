//! The store's errors.

use std::path::PathBuf;

/// What went wrong reading or writing S3.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A string that is not an `s3://bucket/key` URL.
    #[error("`{url}` is not an S3 URL: {problem} (write s3://bucket/prefix)")]
    BadUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The AWS settings (environment or `~/.aws` files) are unusable.
    #[error("AWS settings ({source_name}): {problem}")]
    Settings {
        /// The variable or file at fault.
        source_name: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The bucket does not exist on the endpoint.
    #[error(
        "S3 bucket `{bucket}` does not exist at {endpoint}: create it (aws s3 mb s3://{bucket}) \
         or fix the URL"
    )]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
    },
    /// The server refused the credentials.
    #[error(
        "S3 refused the credentials for {url} at {endpoint} ({detail}): check \
         AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile in ~/.aws/credentials"
    )]
    Credentials {
        /// The URL asked for.
        url: String,
        /// The endpoint asked.
        endpoint: String,
        /// The server's error code.
        detail: String,
    },
    /// Nothing at the URL (no object and no object under it as a prefix).
    #[error("nothing at {url}: no object and no folder of that name")]
    NotFound {
        /// The URL asked for.
        url: String,
    },
    /// Any other failure of an S3 request.
    #[error("S3 {operation} {url} at {endpoint} failed: {detail}")]
    Request {
        /// get, put, list or delete.
        operation: &'static str,
        /// The URL.
        url: String,
        /// The endpoint asked.
        endpoint: String,
        /// The client's message.
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}
