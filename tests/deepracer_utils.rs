//! The training and evaluation sim-traces of a chicane run load with the
//! `deepracer-utils` package's log readers (as DeepRacer's log-analysis
//! notebooks use them). The package is installed with pip into a venv under
//! the target directory on first use.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::ok as chicane;

/// A venv with deepracer-utils (pinned), made once per target directory.
fn venv_python() -> PathBuf {
    support::python_venv("deepracer-utils", &["deepracer-utils==1.5.6"])
}

#[test]
fn deepracer_utils_reads_training_and_evaluation_traces() {
    let dir = std::env::temp_dir().join(format!("chicane-dru-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("run.toml");
    std::fs::write(
        &cfg,
        "track = \"easy-oval\"\nreward = \"builtin:center_line\"\nseed = 1\n\n\
         [hyperparameters]\nnum_episodes_between_training = 4\nbatch_size = 32\nnum_epochs = 2\n",
    )
    .unwrap();
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    chicane(&[
        "train",
        cfg.to_str().unwrap(),
        "--out",
        run_s,
        "--num-envs",
        "2",
        "--max-time",
        "3s",
        "--quiet",
    ]);
    chicane(&["evaluate", run_s, "--laps", "2", "--json"]);

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/deepracer_utils_check.py");
    let out = Command::new(venv_python())
        .arg(&script)
        .arg(&run)
        .output()
        .expect("the check script runs");
    assert!(
        out.status.success(),
        "deepracer-utils could not read the run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["folder_type"], "DRFC_MODEL_SINGLE_WORKERS");

    // every trace file's episodes, numbered as chicane's metrics number them
    let mut rows = 0;
    let mut episodes = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(run.join("training-simtrace")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines().skip(1) {
            rows += 1;
            episodes.insert(line.split(',').next().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(r["rows"].as_u64().unwrap(), rows);
    let unique: Vec<u64> = r["unique_episodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(unique, episodes.into_iter().collect::<Vec<_>>());
    assert_eq!(r["agg_episodes"].as_u64().unwrap() as usize, unique.len());
    assert!(r["agg_min_time"].as_f64().unwrap() > 0.0, "{r}");
    for col in [
        "x",
        "y",
        "yaw",
        "steering_angle",
        "speed",
        "progress",
        "on_track",
        "unique_episode",
    ] {
        assert!(
            r["columns"].as_array().unwrap().iter().any(|c| c == col),
            "missing column {col}"
        );
    }
    assert_eq!(r["action_space"].as_array().unwrap().len(), 5);
    assert_eq!(r["hyperparameters"]["num_episodes_between_training"], 4);
    assert_eq!(r["network"]["network"], "FAST_CNN");
    // the evaluation: two laps
    assert_eq!(r["eval_episodes"], 2, "{r}");
    assert!(r["eval_rows"].as_u64().unwrap() > 10);
}
