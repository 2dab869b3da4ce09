//! End-to-end tests of `chicane train` and `chicane evaluate`: outputs,
//! resume, clone, refusal of corrupt checkpoints, determinism.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chicane(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chicane"))
        .args(args)
        .output()
        .expect("the chicane binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = chicane(args);
    assert!(
        out.status.success(),
        "chicane {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = chicane(args);
    assert!(!out.status.success(), "chicane {args:?} should fail");
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8(out.stderr).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chicane-cli-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A short training invocation: 2 envs, an update every 32 steps per env,
/// at least `secs` seconds.
fn train_args<'a>(out: &'a str, secs: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--track",
        "easy-oval",
        "--out",
        out,
        "--num-envs",
        "2",
        "--steps-per-update",
        "32",
        "--max-time",
        secs,
        "--quiet",
        "--seed",
        "3",
    ]
}

fn state(run: &Path) -> Value {
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    let p = run
        .join("checkpoints")
        .join(latest.trim())
        .join("state.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn metrics(run: &Path, kind: &str) -> Vec<Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == kind)
        .collect()
}

#[test]
fn train_writes_its_outputs_and_resumes() {
    let dir = temp_dir("resume");
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    let stdout = ok(&train_args(run_s, "1s"));
    assert!(stdout.contains("stopped: --max-time reached"), "{stdout}");
    for f in [
        "run.toml",
        "model_metadata.json",
        "agent.json",
        "metrics.jsonl",
        "training.png",
        "training_metrics.json",
        "training-simtrace/0-iteration.csv",
        "checkpoints/latest",
    ] {
        assert!(run.join(f).is_file(), "missing {f}");
    }
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model_metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["neural_network"], "FAST_CNN");
    assert_eq!(meta["training_algorithm"], "clipped_ppo");
    assert_eq!(meta["action_space"].as_array().unwrap().len(), 5);
    let trace = std::fs::read_to_string(run.join("training-simtrace/0-iteration.csv")).unwrap();
    assert_eq!(trace.lines().next(), Some(chicane_sim::SIMTRACE_HEADER));
    // 2 envs x 32 steps in the first iteration
    assert_eq!(trace.lines().count(), 1 + 64);
    let s1 = state(&run);
    let it1 = s1["iteration"].as_u64().unwrap();
    assert!(it1 >= 1);
    assert_eq!(metrics(&run, "iteration").len() as u64, it1);
    let dr: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("training_metrics.json")).unwrap())
            .unwrap();
    assert!(dr["metrics"].is_array());

    // the folder holds a run: a new run there is refused
    let err = fails(&train_args(run_s, "1s"));
    assert!(err.contains("--resume"), "{err}");

    // resume continues the counters and the metrics
    let mut args = train_args(run_s, "1s");
    args.push("--resume");
    ok(&args);
    let s2 = state(&run);
    let it2 = s2["iteration"].as_u64().unwrap();
    assert!(it2 > it1, "{it1} -> {it2}");
    assert!(s2["total_steps"].as_u64() > s1["total_steps"].as_u64());
    assert_eq!(metrics(&run, "iteration").len() as u64, it2);
    assert!(
        run.join(format!("training-simtrace/{it1}-iteration.csv"))
            .is_file()
    );

    // a corrupt checkpoint is refused, named, and kept
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    let ckpt = run.join("checkpoints").join(latest.trim());
    std::fs::write(ckpt.join("model.bpk"), b"not a burnpack").unwrap();
    let err = fails(&args);
    assert!(err.contains("model.bpk"), "{err}");
    assert!(ckpt.join("state.json").is_file());
    let older = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(older >= 2, "the older checkpoints are kept");
}

#[test]
fn clone_and_evaluate() {
    let dir = temp_dir("clone");
    let src = dir.join("src");
    ok(&train_args(src.to_str().unwrap(), "1s"));

    // clone onto another track with the same network
    let dst = dir.join("dst");
    let mut args = train_args(dst.to_str().unwrap(), "1s");
    args[2] = "technical-loop";
    args.extend(["--clone-from", src.to_str().unwrap()]);
    ok(&args);
    let run_toml = std::fs::read_to_string(dst.join("run.toml")).unwrap();
    assert!(run_toml.contains("technical-loop"), "{run_toml}");

    // a different network cannot be cloned
    let bad = dir.join("bad");
    let mut args = train_args(bad.to_str().unwrap(), "1s");
    args.extend([
        "--clone-from",
        src.to_str().unwrap(),
        "--network",
        "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
    ]);
    let err = fails(&args);
    assert!(err.contains("cannot clone"), "{err}");

    // evaluation: DeepRacer's metrics JSON and sim-trace, and recordings
    let rec = dir.join("rec");
    let out = ok(&[
        "evaluate",
        src.to_str().unwrap(),
        "--laps",
        "2",
        "--json",
        "--record",
        rec.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["laps"].as_array().unwrap().len(), 2);
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(src.join("evaluation/evaluation-metrics.json")).unwrap(),
    )
    .unwrap();
    let m = m["metrics"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["trial"], 1);
    for key in [
        "completion_percentage",
        "elapsed_time_in_milliseconds",
        "episode_status",
        "off_track_count",
        "crash_count",
    ] {
        assert!(m[0].get(key).is_some(), "missing {key}");
    }
    let trace = std::fs::read_to_string(src.join("evaluation/evaluation-simtrace/0-iteration.csv"))
        .unwrap();
    assert_eq!(trace.lines().next(), Some(chicane_sim::SIMTRACE_HEADER));
    assert!(trace.lines().count() > 10);
    assert!(rec.join("camera.gif").is_file() && rec.join("top_down.gif").is_file());
}

#[test]
fn same_seed_same_first_iteration() {
    let dir = temp_dir("determinism");
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(&train_args(a.to_str().unwrap(), "1ms"));
    ok(&train_args(b.to_str().unwrap(), "1ms"));
    let ta = std::fs::read_to_string(a.join("training-simtrace/0-iteration.csv")).unwrap();
    let tb = std::fs::read_to_string(b.join("training-simtrace/0-iteration.csv")).unwrap();
    // the wall-clock-free columns must match bit for bit
    assert_eq!(ta, tb);
    // the updated policies drive the same evaluation lap (the weight files
    // themselves differ: burn gives every parameter a random id)
    for run in [&a, &b] {
        ok(&["evaluate", run.to_str().unwrap(), "--laps", "1", "--json"]);
    }
    let trace = "evaluation/evaluation-simtrace/0-iteration.csv";
    let ea = std::fs::read_to_string(a.join(trace)).unwrap();
    let eb = std::fs::read_to_string(b.join(trace)).unwrap();
    assert!(ea == eb, "the first update gave different policies in identical runs");
}

#[test]
fn bad_input_is_named_before_training() {
    let dir = temp_dir("bad");
    let out = dir.join("x");
    let mut args = train_args(out.to_str().unwrap(), "1s");
    args[2] = "no-such-track.npy";
    let err = fails(&args);
    assert!(err.contains("no-such-track.npy"), "{err}");
    assert!(!out.join("agent.json").exists());

    let err = fails(&[
        "train",
        "--network",
        "RESNET",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"), "{err}");

    let err = fails(&["evaluate", dir.to_str().unwrap()]);
    assert!(err.contains("run.toml"), "{err}");
}
