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

/// A Python venv under the target directory with `packages` (pinned pip
/// specs) installed, made once per target directory; returns its python.
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-venv"));
    let python = venv.join("bin/python");
    let marker = venv.join(format!(
        "installed-{}",
        packages.join(",").replace(['<', '>', '='], "_")
    ));
    if !marker.is_file() {
        let _ = std::fs::remove_dir_all(&venv);
        let st = Command::new("python3")
            .args(["-m", "venv", venv.to_str().unwrap()])
            .status()
            .expect("python3 runs");
        assert!(st.success(), "python3 -m venv failed");
        let st = Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .args(packages)
            .status()
            .expect("pip runs");
        assert!(st.success(), "pip install {packages:?} failed");
        std::fs::write(&marker, b"").unwrap();
    }
    python
}

/// A copy of the committed fixture run `tests/fixtures/lapper` (a
/// FAST_CNN that completes reinvent_base), whose `run.toml` points at the shared
/// reinvent_base.npy.
pub fn fixture() -> PathBuf {
    static F: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lapper");
        let dst = temp_dir("fixture").join("lapper");
        copy_dir(&src, &dst);
        let toml = std::fs::read_to_string(dst.join("run.toml")).unwrap();
        let track = track_path();
        let toml: Vec<String> = toml
            .lines()
            .map(|l| {
                if l.starts_with("track = ") {
                    format!("track = {:?}", track)
                } else {
                    l.to_string()
                }
            })
            .collect();
        std::fs::write(dst.join("run.toml"), toml.join("\n") + "\n").unwrap();
        dst
    })
    .clone()
}

pub fn track_path() -> String {
    shared_track("reinvent_base").to_str().unwrap().to_string()
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

/// `n` camera frames (`[C, H, W]` u8 each) rendered by the pure-pursuit
/// driver on the track and camera of the run file `run_toml`.
pub fn rendered_frames(run_toml: &Path, n: usize) -> Vec<Vec<u8>> {
    use chicane_sim::{Driver, PurePursuit, RaceEnv, ResetOptions};
    let run = chicane_config::load_run(Some(run_toml)).unwrap();
    let reward = run.make_reward().unwrap();
    // the pure-pursuit driver commands any steering angle and speed
    let space = chicane_core::ActionSpace::full_continuous();
    let mut env = RaceEnv::new(
        run.sim.clone(),
        std::sync::Arc::clone(&run.track),
        space,
        reward,
    )
    .unwrap();
    let mut info = env
        .reset_in_place(Some(3), ResetOptions::default())
        .unwrap();
    let mut driver = PurePursuit::default();
    let mut frames = Vec::new();
    while frames.len() < n {
        frames.push(env.observation().camera.clone());
        let action = driver.act(&env, &info);
        let (_, term, trunc, i) = env.step_in_place(&action).unwrap();
        info = i;
        if term || trunc {
            info = env.reset_in_place(None, ResetOptions::default()).unwrap();
        }
    }
    frames
}
