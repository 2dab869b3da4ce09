//! Where the endpoint, region and credentials come from: the standard AWS
//! environment variables, then the profile in `~/.aws/config` and
//! `~/.aws/credentials`, as the AWS CLI and SDKs read them
//! (<https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html>,
//! <https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html>).

use crate::error::StoreError;
use ini::Ini;
use std::fmt;
use std::path::{Path, PathBuf};

/// The region when neither `AWS_REGION`, `AWS_DEFAULT_REGION` nor the
/// profile names one (the AWS CLI's and MinIO's default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The S3 endpoint, region and credentials of a process.
///
/// Read by [`AwsSettings::from_env`]; each field says where it comes from,
/// the first that is set wins.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// The profile read from the files: `AWS_PROFILE`, else `default`.
    pub profile: String,
    /// The region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's
    /// `region`, else [`DEFAULT_REGION`].
    pub region: String,
    /// An S3 endpoint other than AWS's (MinIO, moto, a LocalStack):
    /// `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
    /// `endpoint_url`; `None` for AWS itself. `http://` endpoints are allowed.
    pub endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID`, else the profile's `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`, else the profile's `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `AWS_SESSION_TOKEN`, else the profile's `aws_session_token`.
    pub session_token: Option<String>,
}

impl fmt::Debug for AwsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsSettings")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl AwsSettings {
    /// The settings of this process: its environment and the `~/.aws`
    /// files (`AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` move them).
    ///
    /// # Errors
    /// [`StoreError::Settings`] for a file that does not parse, a profile
    /// named by `AWS_PROFILE` that neither file has, or an access key
    /// without its secret.
    pub fn from_env() -> Result<AwsSettings, StoreError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        AwsSettings::from_sources(|k| std::env::var(k).ok(), home.as_deref())
    }

    /// [`AwsSettings::from_env`] with the environment given by `var` and
    /// the home folder by `home` (for tests).
    ///
    /// # Errors
    /// As [`AwsSettings::from_env`].
    pub fn from_sources(
        var: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<AwsSettings, StoreError> {
        let var = |k: &str| var(k).filter(|v| !v.is_empty());
        let profile_env = var("AWS_PROFILE");
        let profile = profile_env.clone().unwrap_or_else(|| "default".into());
        let file = |env: &str, name: &str| {
            var(env)
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".aws").join(name)))
        };
        let config = read_profile(file("AWS_CONFIG_FILE", "config"), &profile, true)?;
        let credentials = read_profile(
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            &profile,
            false,
        )?;
        if profile_env.is_some() && config.is_none() && credentials.is_none() {
            return Err(StoreError::Settings {
                source_name: "AWS_PROFILE".into(),
                problem: format!(
                    "no profile `{profile}` in ~/.aws/config or ~/.aws/credentials: add it \
                     (aws configure --profile {profile}) or unset AWS_PROFILE"
                ),
            });
        }
        let from_files = |key: &str| {
            credentials
                .as_ref()
                .and_then(|p| p.get(key))
                .or_else(|| config.as_ref().and_then(|p| p.get(key)))
        };
        let (access_key_id, secret_access_key, session_token) = match var("AWS_ACCESS_KEY_ID") {
            Some(id) => (
                Some(id),
                var("AWS_SECRET_ACCESS_KEY"),
                var("AWS_SESSION_TOKEN"),
            ),
            None => (
                from_files("aws_access_key_id"),
                from_files("aws_secret_access_key"),
                from_files("aws_session_token"),
            ),
        };
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(StoreError::Settings {
                source_name: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".into(),
                problem: "one is set without the other: set both (environment or \
                          ~/.aws/credentials)"
                    .into(),
            });
        }
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .or_else(|| from_files("region"))
            .unwrap_or_else(|| DEFAULT_REGION.into());
        let endpoint = var("AWS_ENDPOINT_URL_S3")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .or_else(|| from_files("endpoint_url"));
        if let Some(e) = &endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(StoreError::Settings {
                source_name: "AWS_ENDPOINT_URL".into(),
                problem: format!("`{e}` is not a URL: write http://host:port or https://host"),
            });
        }
        Ok(AwsSettings {
            profile,
            region,
            endpoint,
            access_key_id,
            secret_access_key,
            session_token,
        })
    }

    /// The endpoint asked, for messages: the custom one or AWS's.
    pub fn endpoint_name(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region))
    }
}

/// The keys of `profile` in an AWS config (`[profile NAME]`, `[default]`)
/// or credentials file (`[NAME]`); `None` when the file or the profile is
/// absent.
fn read_profile(
    path: Option<PathBuf>,
    profile: &str,
    config_file: bool,
) -> Result<Option<Profile>, StoreError> {
    let Some(path) = path.filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let ini = Ini::load_from_file(&path).map_err(|e| StoreError::Settings {
        source_name: path.display().to_string(),
        problem: format!("does not parse as an AWS config file: {e}"),
    })?;
    let section = if config_file && profile != "default" {
        format!("profile {profile}")
    } else {
        profile.to_string()
    };
    Ok(ini.section(Some(section.as_str())).map(|s| Profile {
        keys: s
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .collect(),
    }))
}

struct Profile {
    keys: Vec<(String, String)>,
}

impl Profile {
    fn get(&self, key: &str) -> Option<String> {
        self.keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn home(config: &str, credentials: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "chicane-store-settings-{}-{}",
            std::process::id(),
            config.len() * 1000 + credentials.len()
        ));
        std::fs::create_dir_all(dir.join(".aws")).unwrap();
        std::fs::write(dir.join(".aws/config"), config).unwrap();
        std::fs::write(dir.join(".aws/credentials"), credentials).unwrap();
        dir
    }

    fn settings(env: &[(&str, &str)], home: &Path) -> Result<AwsSettings, StoreError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AwsSettings::from_sources(|k| env.get(k).cloned(), Some(home))
    }

    #[test]
    fn the_environment_wins_over_the_profile() {
        let h = home(
            "[default]\nregion = eu-west-1\n\n[profile minio]\nregion = us-west-2\nendpoint_url = http://127.0.0.1:9000\n",
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s1\n\n[minio]\naws_access_key_id = minioadmin\naws_secret_access_key = minioadmin\n",
        );
        let d = settings(&[], &h).unwrap();
        assert_eq!(d.region, "eu-west-1");
        assert_eq!(d.access_key_id.as_deref(), Some("AKDEFAULT"));
        assert_eq!(d.endpoint, None);
        assert_eq!(d.endpoint_name(), "https://s3.eu-west-1.amazonaws.com");
        let m = settings(&[("AWS_PROFILE", "minio")], &h).unwrap();
        assert_eq!(m.region, "us-west-2");
        assert_eq!(m.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(m.access_key_id.as_deref(), Some("minioadmin"));
        let e = settings(
            &[
                ("AWS_PROFILE", "minio"),
                ("AWS_ACCESS_KEY_ID", "envkey"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_DEFAULT_REGION", "ap-south-1"),
                ("AWS_ENDPOINT_URL", "http://localhost:5000"),
            ],
            &h,
        )
        .unwrap();
        assert_eq!(e.access_key_id.as_deref(), Some("envkey"));
        assert_eq!(e.secret_access_key.as_deref(), Some("envsecret"));
        assert_eq!(e.region, "ap-south-1");
        assert_eq!(e.endpoint.as_deref(), Some("http://localhost:5000"));
        assert!(
            !format!("{e:?}").contains("envsecret"),
            "Debug hides the secret"
        );
    }

    #[test]
    fn nothing_set_is_aws_in_us_east_1_without_keys() {
        let h = std::env::temp_dir().join("chicane-store-settings-no-home");
        let s = settings(&[], &h).unwrap();
        assert_eq!(s.region, DEFAULT_REGION);
        assert_eq!(s.access_key_id, None);
        assert_eq!(s.profile, "default");
    }

    #[test]
    fn bad_settings_are_named() {
        let h = home("[default]\nregion = eu-west-1\n", "");
        let e = settings(&[("AWS_PROFILE", "nope")], &h).unwrap_err();
        assert!(e.to_string().contains("no profile `nope`"), "{e}");
        let e = settings(&[("AWS_ACCESS_KEY_ID", "k")], &h).unwrap_err();
        assert!(
            e.to_string().contains("one is set without the other"),
            "{e}"
        );
        let e = settings(&[("AWS_ENDPOINT_URL", "127.0.0.1:9000")], &h).unwrap_err();
        assert!(e.to_string().contains("http://host:port"), "{e}");
    }
}
