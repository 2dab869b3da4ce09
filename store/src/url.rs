//! `s3://bucket/key` URLs.

use crate::error::StoreError;
use std::fmt;
use std::str::FromStr;

/// Whether `s` is written as an S3 URL (`s3://...`).
pub fn is_s3(s: &str) -> bool {
    s.starts_with("s3://")
}

/// An object or a prefix ("folder") in a bucket: `s3://bucket/key`.
///
/// The key has no leading or trailing `/`; an empty key is the bucket's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct S3Url {
    bucket: String,
    key: String,
}

impl S3Url {
    /// The URL of `key` in `bucket`.
    ///
    /// # Errors
    /// [`StoreError::BadUrl`] for a bucket name S3 would refuse
    /// (3-63 characters of `a-z`, `0-9`, `.` and `-`).
    pub fn new(bucket: &str, key: &str) -> Result<S3Url, StoreError> {
        let url = format!("s3://{bucket}/{key}");
        let bad = |problem: &str| StoreError::BadUrl {
            url: url.clone(),
            problem: problem.into(),
        };
        if bucket.is_empty() {
            return Err(bad("no bucket"));
        }
        if !(3..=63).contains(&bucket.len())
            || !bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Err(bad(
                "a bucket name is 3-63 characters of a-z, 0-9, '.' and '-'",
            ));
        }
        let key = key.trim_matches('/');
        if key.split('/').any(|part| part == ".." || part == ".") {
            return Err(bad("'.' and '..' are not allowed in a key"));
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key (no leading or trailing `/`; empty for the bucket's root).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `self/rel` (`rel` is a relative key such as `checkpoints/latest`).
    pub fn join(&self, rel: &str) -> S3Url {
        let rel = rel.trim_matches('/');
        let key = match (self.key.is_empty(), rel.is_empty()) {
            (true, _) => rel.to_string(),
            (false, true) => self.key.clone(),
            (false, false) => format!("{}/{rel}", self.key),
        };
        S3Url {
            bucket: self.bucket.clone(),
            key,
        }
    }

    /// The last part of the key (`model.tar.gz` of `s3://b/x/model.tar.gz`).
    pub fn file_name(&self) -> Option<&str> {
        self.key.rsplit('/').next().filter(|n| !n.is_empty())
    }

    /// The key relative to `prefix`, when this URL lies under it.
    pub fn strip_prefix(&self, prefix: &S3Url) -> Option<&str> {
        if self.bucket != prefix.bucket {
            return None;
        }
        if prefix.key.is_empty() {
            return Some(&self.key);
        }
        self.key
            .strip_prefix(&prefix.key)
            .and_then(|rest| rest.strip_prefix('/'))
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

impl FromStr for S3Url {
    type Err = StoreError;

    /// Parses `s3://bucket[/key]`.
    fn from_str(s: &str) -> Result<S3Url, StoreError> {
        let rest = s.strip_prefix("s3://").ok_or_else(|| StoreError::BadUrl {
            url: s.to_string(),
            problem: "it does not start with s3://".into(),
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        S3Url::new(bucket, key).map_err(|e| match e {
            StoreError::BadUrl { problem, .. } => StoreError::BadUrl {
                url: s.to_string(),
                problem,
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_key() {
        let u: S3Url = "s3://my-bucket/models/run-1/".parse().unwrap();
        assert_eq!(u.bucket(), "my-bucket");
        assert_eq!(u.key(), "models/run-1");
        assert_eq!(u.to_string(), "s3://my-bucket/models/run-1");
        assert_eq!(
            u.join("checkpoints/latest").key(),
            "models/run-1/checkpoints/latest"
        );
        assert_eq!(u.file_name(), Some("run-1"));
        let root: S3Url = "s3://my-bucket".parse().unwrap();
        assert_eq!(root.key(), "");
        assert_eq!(root.join("custom_files").key(), "custom_files");
        assert_eq!(
            u.join("a/b").strip_prefix(&u),
            Some("a/b"),
            "a key under the prefix"
        );
        assert_eq!(root.join("x").strip_prefix(&u), None);
        assert_eq!(
            "s3://my-bucket/models/run-10"
                .parse::<S3Url>()
                .unwrap()
                .strip_prefix(&u),
            None,
            "run-10 is not under run-1"
        );
    }

    #[test]
    fn refuses_what_s3_would() {
        for bad in [
            "s3://",
            "s3:///key",
            "s3://Caps/x",
            "s3://ab/x",
            "s3://b_b/x",
            "s3://bkt/a/../b",
            "/local/path",
        ] {
            let e = bad.parse::<S3Url>().unwrap_err();
            assert!(matches!(e, StoreError::BadUrl { .. }), "{bad}: {e}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }
}
