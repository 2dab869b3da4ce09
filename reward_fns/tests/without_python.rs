//! The default build (no `python` feature): a DeepRacer
//! `reward_function.py` is refused with an error that names the file and
//! says how to run it (rebuild with `--features python`, or port it to
//! Rhai). CI runs this with `cargo test --release -p chicane-reward`.
#![cfg(not(feature = "python"))]
#![allow(clippy::unwrap_used)]

use chicane_reward::load_reward;
use std::path::{Path, PathBuf};

/// DeepRacer's centre-line example from the shared data.
fn center_line_py() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("reward_fns").is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    let f = dir.join("reward_fns/center_line.py");
    assert!(
        f.is_file(),
        "shared reward function not found at {}",
        f.display()
    );
    f
}

#[test]
fn a_python_reward_says_how_to_run_it() {
    let path = center_line_py();
    let Err(e) = load_reward(&path) else {
        panic!("a .py file loaded without the python feature");
    };
    let msg = e.to_string();
    assert!(msg.contains("center_line.py"), "{msg}");
    assert!(msg.contains("--features python"), "{msg}");
    assert!(msg.contains("Rhai"), "{msg}");
}
