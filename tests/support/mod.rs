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

/// Runs `chicane ARGS` with `cwd` as the working directory (relative
/// paths as a user types them).
pub fn chicane_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chicane"))
        .current_dir(cwd)
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

/// An empty scratch folder named after the test binary, `name` and the
/// process. The folders earlier runs left under the same name (their
/// process gone) are removed first: a failed run's files stay for a look
/// until the test runs again, and the temp dir does not fill up (the
/// TensorFlow exports leave about 1 GB each).
pub fn temp_dir(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("test");
    // without cargo's hash, so a rebuilt test binary finds its old folders
    let binary = match stem.rsplit_once('-') {
        Some((b, h)) if h.len() == 16 && h.bytes().all(|c| c.is_ascii_hexdigit()) => b,
        _ => stem,
    };
    let prefix = format!("chicane-{binary}-{name}-");
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for e in entries.flatten() {
            let file = e.file_name();
            let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
                continue;
            };
            let gone = pid.parse::<u32>().is_ok_and(|p| {
                p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists()
            });
            if gone {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `small.toml` into `dir`: easy-oval, the centre-line reward,
/// seed 3, an update after every 4 episodes with small minibatches;
/// returns its path.
pub fn small_config(dir: &Path) -> String {
    let p = dir.join("small.toml");
    std::fs::write(
        &p,
        "track = \"easy-oval\"\nreward = \"builtin:center_line\"\nseed = 3\n\n\
         [hyperparameters]\nnum_episodes_between_training = 4\nbatch_size = 32\nnum_epochs = 2\n",
    )
    .unwrap();
    p.to_str().unwrap().to_string()
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
///
/// Tests of one binary run in parallel threads and several of them may ask
/// for the same venv at once: one lock held while a venv is checked and
/// built lets one of them build it while the others wait, so two pip
/// installs never write into one venv together (cargo runs test binaries
/// one after the other, so a lock in the process is enough).
pub fn python_venv(name: &str, packages: &[&str]) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // a test that panicked while holding it left no half-marked venv behind
    let lock = BUILDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    drop(lock);
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
