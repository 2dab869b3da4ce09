//! Helpers shared by the CLI end-to-end tests: run the built `chicane`
//! binary, expect success or a clear error, make scratch folders, find the
//! shared DeepRacer data.
#![allow(dead_code)] // each test file uses its own subset
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `chicane ARGS`.
pub fn chicane(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chicane"))
        .args(args)
        .output()
        .expect("the chicane binary runs")
}

/// Runs `chicane ARGS`, which must succeed; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = chicane(args);
    assert!(
        out.status.success(),
        "chicane {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Runs `chicane ARGS`, which must fail with status 2, never a panic;
/// returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = chicane(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "chicane {args:?} should exit 2: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// [`fails`], and stderr must start with the `error: ` line (commands that
/// print nothing before they fail).
pub fn fails_at_once(args: &[&str]) -> String {
    let stderr = fails(args);
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

/// An empty scratch folder named after the test binary, `name` and the process.
pub fn temp_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("test");
    let dir = std::env::temp_dir().join(format!("chicane-{binary}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A DeepRacer track from the shared data (`CHICANE_SHARED_DATA`, or
/// `../shared/data` / `shared/data` beside the repository).
pub fn shared_track(name: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("deepracer/tracks").is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    let p = dir.join("deepracer/tracks").join(format!("{name}.npy"));
    assert!(
        p.is_file(),
        "shared DeepRacer track missing: {} (set CHICANE_SHARED_DATA)",
        p.display()
    );
    p
}
