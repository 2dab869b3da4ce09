//! Run folders and inputs on S3, against a real S3 API server started on
//! 127.0.0.1 by the test (moto's server mode, moto 5.2.1 from PyPI), with
//! boto3 making the bucket, uploading the inputs and reading chicane's
//! uploads back: a DeepRacer-for-Cloud bucket (`custom_files/`, the model
//! prefix `rl-deepracer-sagemaker/`) trained into, killed, resumed on a
//! fresh cache, evaluated and exported, all on `s3://` paths; wrong
//! credentials and a missing bucket named clearly.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
mod support;
use support::{python_venv, shared_track, temp_dir};

const PACKAGES: &[&str] = &["moto[server]==5.2.1", "boto3==1.44.8"];

/// A moto server on a free port of 127.0.0.1, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
    python: PathBuf,
}

impl Moto {
    /// `auth_after`: moto checks credentials after this many requests
    /// (None: never).
    fn start(auth_after: Option<u32>) -> Moto {
        let python = python_venv("s3", PACKAGES);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(python.parent().unwrap().join("moto_server"));
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(n) = auth_after {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = cmd.spawn().unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(60), "moto did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Moto {
            child,
            endpoint,
            python,
        }
    }

    /// tests/support/s3.py COMMAND ARGS with the key `key`; returns stdout.
    fn boto(&self, key: (&str, &str), args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/s3.py");
        let out = Command::new(&self.python)
            .arg(script)
            .arg(&self.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", key.0)
            .env("AWS_SECRET_ACCESS_KEY", key.1)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "s3.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn list(&self, key: (&str, &str), bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let v: Value = serde_json::from_str(&self.boto(key, &["list", bucket, prefix])).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| (o[0].as_str().unwrap().to_string(), o[1].as_u64().unwrap()))
            .collect()
    }

    /// `chicane ARGS` in `dir` with this server's endpoint, `key` and
    /// `cache` as the download cache.
    fn chicane(&self, key: (&str, &str), cache: &Path, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chicane"));
        c.args(args)
            .current_dir(dir)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", key.0)
            .env("AWS_SECRET_ACCESS_KEY", key.1)
            .env("AWS_REGION", "us-east-1")
            .env("CHICANE_CACHE_DIR", cache)
            .env_remove("AWS_PROFILE");
        c
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(out: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed: {stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + stderr.as_ref()
}

fn fails(out: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{what} should fail: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

const KEY: (&str, &str) = ("testing", "testing");
const MODEL: &str = "s3://bucket/rl-deepracer-sagemaker";

/// The checkpoint S3's `checkpoints/latest` names, if any.
fn latest(moto: &Moto, dir: &Path) -> Option<String> {
    let keys = moto.list(KEY, "bucket", "rl-deepracer-sagemaker/checkpoints/latest");
    if keys.is_empty() {
        return None;
    }
    let f = dir.join("latest.txt");
    moto.boto(
        KEY,
        &[
            "get",
            "bucket",
            "rl-deepracer-sagemaker/checkpoints/latest",
            f.to_str().unwrap(),
        ],
    );
    Some(std::fs::read_to_string(f).unwrap().trim().to_string())
}

#[test]
fn a_drfc_bucket_trains_is_killed_resumes_evaluates_and_exports_on_s3() {
    let moto = Moto::start(None);
    let dir = temp_dir("drfc");
    moto.boto(KEY, &["bucket", "bucket"]);
    // DRfC's bucket: custom_files/ with DeepRacer's own three files
    let data = shared_track("reinvent_base");
    let data = data.parent().unwrap().parent().unwrap().parent().unwrap();
    for (file, from) in [
        ("reward_function.py", data.join("reward_fns/center_line.py")),
        (
            "model_metadata.json",
            data.join("deepracer/config/model_metadata.json"),
        ),
        (
            "hyperparameters.json",
            data.join("deepracer/config/hyperparameters.json"),
        ),
    ] {
        let key = format!("custom_files/{file}");
        moto.boto(KEY, &["put", "bucket", &key, from.to_str().unwrap()]);
    }
    let track = shared_track("reinvent_base");
    moto.boto(
        KEY,
        &[
            "put",
            "bucket",
            "tracks/reinvent_base.npy",
            track.to_str().unwrap(),
        ],
    );

    // train into the model prefix, until S3 has a second checkpoint, then kill it
    let cache1 = dir.join("cache-node-1");
    let train = [
        "train",
        "s3://bucket/custom_files",
        "--track",
        "s3://bucket/tracks/reinvent_base.npy",
        "--network",
        "FAST_CNN",
        "--out",
        MODEL,
        "--quiet",
    ];
    let mut child = moto
        .chicane(KEY, &cache1, &dir, &train)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let killed_at = loop {
        if let Some(l) = latest(&moto, &dir)
            && l.as_str() >= "iter-000002"
        {
            child.kill().unwrap();
            break l;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "training ended before it was killed"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no second checkpoint on S3"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    child.wait().unwrap();
    let keys: Vec<String> = moto
        .list(KEY, "bucket", "rl-deepracer-sagemaker/")
        .into_iter()
        .map(|k| k.0)
        .collect();
    for want in [
        "run.toml",
        "inputs.json",
        "agent.json",
        "metrics.jsonl",
        "model/model_metadata.json",
        "ip/hyperparameters.json",
    ] {
        let k = format!("rl-deepracer-sagemaker/{want}");
        assert!(keys.contains(&k), "{k} not on S3: {keys:?}");
    }
    let ckpt = format!("rl-deepracer-sagemaker/checkpoints/{killed_at}/");
    for f in ["model.bpk", "state.json"] {
        assert!(keys.contains(&format!("{ckpt}{f}")), "{ckpt}{f}: {keys:?}");
    }

    // a second run into the same prefix is refused
    let again = fails(
        moto.chicane(KEY, &cache1, &dir, &train).output().unwrap(),
        "train again",
    );
    assert!(again.contains("already holds a training run"), "{again}");

    // resume on a fresh cache (another machine): the inputs come from S3 again
    let cache2 = dir.join("cache-node-2");
    let out = ok(
        moto.chicane(
            KEY,
            &cache2,
            &dir,
            &[
                "train",
                "--out",
                MODEL,
                "--resume",
                "--network",
                "FAST_CNN",
                "--max-episodes",
                "80",
                "--quiet",
            ],
        )
        .output()
        .unwrap(),
        "resume",
    );
    assert!(out.contains(&format!("synced to {MODEL}")), "{out}");
    let resumed = latest(&moto, &dir).unwrap();
    assert!(resumed > killed_at, "{resumed} after {killed_at}");
    let state = dir.join("state.json");
    moto.boto(
        KEY,
        &[
            "get",
            "bucket",
            &format!("rl-deepracer-sagemaker/checkpoints/{resumed}/state.json"),
            state.to_str().unwrap(),
        ],
    );
    let state: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert_eq!(state["episodes"], 80, "{state}");
    let toml =
        std::fs::read_to_string(cache2.join("s3/bucket/rl-deepracer-sagemaker/run.toml")).unwrap();
    assert!(
        toml.contains(cache2.to_str().unwrap()) && !toml.contains(cache1.to_str().unwrap()),
        "the resumed run.toml points at this cache: {toml}"
    );

    // evaluate: the evaluation folder lands beside the run on S3
    let cache3 = dir.join("cache-node-3");
    ok(
        moto.chicane(KEY, &cache3, &dir, &["evaluate", MODEL, "--laps", "1"])
            .output()
            .unwrap(),
        "evaluate",
    );
    let keys = moto.list(KEY, "bucket", "rl-deepracer-sagemaker/evaluation-");
    assert!(
        keys.iter().any(|k| k.0.ends_with("/report.json")),
        "no evaluation report on S3: {keys:?}"
    );

    // export to S3; boto3 reads the bundle back
    let out = ok(
        moto.chicane(
            KEY,
            &cache3,
            &dir,
            &["export", MODEL, "--out", "s3://bucket/exports/model.tar.gz"],
        )
        .output()
        .unwrap(),
        "export",
    );
    assert!(
        out.contains("wrote s3://bucket/exports/model.tar.gz"),
        "{out}"
    );
    let bundle = dir.join("model.tar.gz");
    moto.boto(
        KEY,
        &[
            "get",
            "bucket",
            "exports/model.tar.gz",
            bundle.to_str().unwrap(),
        ],
    );
    let listing = Command::new("tar")
        .arg("tzf")
        .arg(&bundle)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("model.onnx"), "{listing}");

    // a bucket that does not exist
    let missing = fails(
        moto.chicane(
            KEY,
            &cache3,
            &dir,
            &[
                "train",
                "--out",
                "s3://no-such-bucket/run",
                "--max-episodes",
                "4",
            ],
        )
        .output()
        .unwrap(),
        "a missing bucket",
    );
    assert!(
        missing.contains("S3 bucket `no-such-bucket` does not exist at")
            && missing.contains("aws s3 mb s3://no-such-bucket"),
        "{missing}"
    );
    let nothing = fails(
        moto.chicane(KEY, &cache3, &dir, &["evaluate", "s3://bucket/no-run-here"])
            .output()
            .unwrap(),
        "an empty prefix",
    );
    assert!(
        nothing.contains("nothing at s3://bucket/no-run-here"),
        "{nothing}"
    );
}

#[test]
fn wrong_credentials_are_named() {
    // moto checks credentials after the 3 requests that make the user
    let moto = Moto::start(Some(3));
    let dir = temp_dir("credentials");
    let key: Value = serde_json::from_str(&moto.boto(("setup", "setup"), &["user"])).unwrap();
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    moto.boto((id, secret), &["bucket", "runs"]);
    let cache = dir.join("cache");
    for (bad, code) in [
        ((id, "not-the-secret"), "SignatureDoesNotMatch"),
        (("AKIANOSUCHKEY0000000", secret), "InvalidAccessKeyId"),
    ] {
        let e = fails(
            moto.chicane(
                bad,
                &cache,
                &dir,
                &["train", "--out", "s3://runs/r", "--max-episodes", "4"],
            )
            .output()
            .unwrap(),
            code,
        );
        assert!(
            e.contains("S3 refused the credentials for s3://runs/r")
                && e.contains(code)
                && e.contains("AWS_SECRET_ACCESS_KEY"),
            "{e}"
        );
    }
}
