//! End-to-end tests of `chicane train`, `chicane evaluate` and `chicane
//! compare`: outputs, resume, clone, refusal of corrupt checkpoints, determinism.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
mod support;
use support::{fails, ok, small_config, temp_dir};

/// `chicane train CONFIG --out OUT` on 2 envs, quiet, until `stop` (a
/// stop flag) reaches `value`.
fn limited_args<'a>(config: &'a str, out: &'a str, stop: &'a str, value: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        config,
        "--out",
        out,
        "--num-envs",
        "2",
        stop,
        value,
        "--quiet",
    ]
}

/// A short training invocation of `config`: 2 envs, at least `secs`.
fn train_args<'a>(config: &'a str, out: &'a str, secs: &'a str) -> Vec<&'a str> {
    limited_args(config, out, "--max-time", secs)
}

/// `chicane train CONFIG --out OUT` on 2 envs for `episodes` episodes.
fn episode_args<'a>(config: &'a str, out: &'a str, episodes: &'a str) -> Vec<&'a str> {
    limited_args(config, out, "--max-episodes", episodes)
}

/// Runs `chicane evaluate RUN --json` with `extra` flags; returns the report.
fn evaluate(run: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["evaluate", run.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&args)).unwrap()
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
    let cfg = small_config(&dir);
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    let stdout = ok(&train_args(&cfg, run_s, "1s"));
    assert!(stdout.contains("stopped: max_time reached"), "{stdout}");
    for f in [
        "run.toml",
        "model_metadata.json",
        "model/model_metadata.json",
        "ip/hyperparameters.json",
        "agent.json",
        "metrics.jsonl",
        "training.png",
        "lap_times.png",
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
    // the first sim-trace file holds episodes 0..4, each ending with done
    let trace = std::fs::read_to_string(run.join("training-simtrace/0-iteration.csv")).unwrap();
    assert_eq!(trace.lines().next(), Some(chicane_sim::SIMTRACE_HEADER));
    let rows: Vec<Vec<&str>> = trace
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let mut episodes: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    episodes.dedup();
    assert_eq!(episodes, ["0", "1", "2", "3"]);
    for w in rows.windows(2) {
        if w[0][0] != w[1][0] {
            assert_eq!(w[0][9], "True", "an episode's last row is done");
            assert_eq!(w[1][1], "1", "an episode starts at step 1");
        }
    }
    let s1 = state(&run);
    let it1 = s1["iteration"].as_u64().unwrap();
    assert!(it1 >= 1);
    assert_eq!(metrics(&run, "iteration").len() as u64, it1);
    assert_eq!(
        metrics(&run, "episode").len() as u64,
        s1["episodes"].as_u64().unwrap()
    );
    let dr: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("training_metrics.json")).unwrap())
            .unwrap();
    assert_eq!(dr["metrics"][0]["phase"], "training");

    // the folder holds a run: a new run there is refused
    let err = fails(&train_args(&cfg, run_s, "1s"));
    assert!(err.contains("--resume"), "{err}");

    // resume continues the counters and the metrics
    let args = [
        "train",
        "--out",
        run_s,
        "--resume",
        "--num-envs",
        "2",
        "--max-time",
        "1s",
        "--quiet",
    ];
    ok(&args);
    let s2 = state(&run);
    let it2 = s2["iteration"].as_u64().unwrap();
    assert!(it2 > it1, "{it1} -> {it2}");
    assert!(s2["total_steps"].as_u64() > s1["total_steps"].as_u64());
    assert_eq!(metrics(&run, "iteration").len() as u64, it2);

    // a corrupt checkpoint is refused, named, and kept
    let latest = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    let ckpt = run.join("checkpoints").join(latest.trim());
    std::fs::write(ckpt.join("model.bpk"), b"not a burnpack").unwrap();
    let err = fails(&args);
    assert!(err.contains("model.bpk"), "{err}");
    assert!(ckpt.join("state.json").is_file());
    let kept = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(kept >= 2, "the older checkpoints are kept");
}

/// `training_algorithm = "vanilla_pg"` in a run file trains the vanilla
/// policy gradient: one pass over each rollout whatever `num_epochs` says
/// (PPO's), written into the run's metadata as the algorithm.
#[test]
fn vanilla_pg_trains_one_pass_per_rollout() {
    let dir = temp_dir("vanilla");
    let cfg = dir.join("vpg.toml");
    std::fs::write(
        &cfg,
        std::fs::read_to_string(small_config(&dir))
            .unwrap()
            .replace("seed = 3", "seed = 3\ntraining_algorithm = \"vanilla_pg\""),
    )
    .unwrap();
    let run = dir.join("run");
    let out = support::chicane(&train_args(
        cfg.to_str().unwrap(),
        run.to_str().unwrap(),
        "1s",
    ));
    let header = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{header}");
    assert!(header.contains("by vanilla_pg"), "{header}");
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("model_metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["training_algorithm"], "vanilla_pg");
    let it = &metrics(&run, "iteration")[0]["record"];
    let samples = it["total_steps"].as_u64().unwrap();
    assert_eq!(
        it["update"]["gradient_steps"].as_u64().unwrap(),
        samples.div_ceil(32),
        "one pass of minibatches of 32: {it}"
    );
}

#[test]
fn multi_track_training_runs_each_env_on_its_tracks_and_logs_them() {
    let dir = temp_dir("multitrack");
    let shared = support::shared_track("reinvent_base");
    let cfg = dir.join("multi.toml");
    std::fs::write(
        &cfg,
        format!(
            "track = [\"easy-oval\", {:?}, \"speedway\"]\ntrack_switch_episodes = 1\n\
             reward = \"builtin:center_line\"\nseed = 3\n\n[hyperparameters]\n\
             num_episodes_between_training = 6\nbatch_size = 32\nnum_epochs = 1\n\n\
             [sim.episode]\nmax_steps = 30\n",
            shared.to_str().unwrap()
        ),
    )
    .unwrap();
    let run = dir.join("run");
    let out = support::chicane(&episode_args(
        cfg.to_str().unwrap(),
        run.to_str().unwrap(),
        "12",
    ));
    let header = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{header}");
    assert!(header.contains("also reinvent_base, speedway"), "{header}");
    let tracks: std::collections::BTreeSet<String> = metrics(&run, "episode")
        .iter()
        .map(|e| e["record"]["track"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tracks,
        ["easy-oval", "reinvent_base", "speedway"]
            .map(String::from)
            .into(),
        "every track ran"
    );
    // the run file keeps the list, so resume and evaluate see it
    let toml = std::fs::read_to_string(run.join("run.toml")).unwrap();
    assert!(
        toml.contains("speedway") && toml.contains("track_switch_episodes"),
        "{toml}"
    );
    ok(&["config", "show", run.join("run.toml").to_str().unwrap()]);
    // --track given twice overrides the file's list
    let run2 = dir.join("run2");
    let out = support::chicane(&[
        "train",
        cfg.to_str().unwrap(),
        "--track",
        "easy-oval",
        "--track",
        "technical-loop",
        "--out",
        run2.to_str().unwrap(),
        "--num-envs",
        "2",
        "--max-episodes",
        "6",
        "--quiet",
    ]);
    let header = String::from_utf8_lossy(&out.stderr);
    assert!(header.contains("also technical-loop"), "{header}");
    // bad lists are named
    std::fs::write(&cfg, "track = []\n").unwrap();
    let e = fails(&["train", cfg.to_str().unwrap(), "--quiet"]);
    assert!(e.contains("track") && e.contains("empty list"), "{e}");
    std::fs::write(&cfg, "track = [\"easy-oval\", \"easy-ovl\"]\n").unwrap();
    let e = fails(&["train", cfg.to_str().unwrap(), "--quiet"]);
    assert!(e.contains("easy-ovl"), "{e}");
    std::fs::write(
        &cfg,
        "track = [\"easy-oval\", \"speedway\"]\ntrack_switch_episodes = 0\n",
    )
    .unwrap();
    let e = fails(&["train", cfg.to_str().unwrap(), "--quiet"]);
    assert!(e.contains("track_switch_episodes"), "{e}");
}

#[test]
fn clone_and_evaluate() {
    let dir = temp_dir("clone");
    let cfg = small_config(&dir);
    let src = dir.join("src");
    ok(&train_args(&cfg, src.to_str().unwrap(), "1s"));

    // clone onto another track with the same network
    let dst = dir.join("dst");
    let mut args = train_args(&cfg, dst.to_str().unwrap(), "1s");
    args.extend([
        "--track",
        "technical-loop",
        "--clone-from",
        src.to_str().unwrap(),
    ]);
    ok(&args);
    let run_toml = std::fs::read_to_string(dst.join("run.toml")).unwrap();
    assert!(run_toml.contains("technical-loop"), "{run_toml}");

    // a different network cannot be cloned
    let bad = dir.join("bad");
    let mut args = train_args(&cfg, bad.to_str().unwrap(), "1s");
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
    let report = evaluate(&src, &["--laps", "2", "--record", rec.to_str().unwrap()]);
    assert_eq!(report["laps"].as_array().unwrap().len(), 2);
    let out = PathBuf::from(report["output_dir"].as_str().unwrap());
    let name = out.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("evaluation-") && name.len() == "evaluation-".len() + 14,
        "{name}"
    );
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("evaluation-metrics.json")).unwrap(),
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
    let trace = std::fs::read_to_string(out.join("evaluation-simtrace/0-iteration.csv")).unwrap();
    assert_eq!(trace.lines().next(), Some(chicane_sim::SIMTRACE_HEADER));
    assert!(trace.lines().count() > 10);
    assert!(rec.join("camera.gif").is_file() && rec.join("top_down.gif").is_file());

    // the two runs compared from the folder they are in, by relative paths
    let out = support::chicane_in(
        &dir,
        &["compare", "src", "dst", "--out", "compare.png", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, (name, run)) in rows.iter().zip([("src", &src), ("dst", &dst)]) {
        assert_eq!(row["run"], name);
        let eps = metrics(run, "episode");
        let laps: Vec<f64> = eps
            .iter()
            .filter_map(|e| e["record"]["lap_time"].as_f64())
            .collect();
        let s = &row["summary"];
        assert!(!eps.is_empty());
        assert_eq!(s["episodes"].as_u64(), Some(eps.len() as u64), "{row}");
        assert_eq!(s["laps"].as_u64(), Some(laps.len() as u64), "{row}");
        assert_eq!(
            s["elapsed_s"].as_f64(),
            eps.last().unwrap()["record"]["elapsed_s"].as_f64(),
            "{row}"
        );
        assert_eq!(
            s["best_lap_s"].as_f64(),
            laps.iter().copied().reduce(f64::min),
            "{row}"
        );
    }
    let img = image::open(dir.join("compare.png")).unwrap();
    assert_eq!((img.width(), img.height()), (900, 460), "a panel per run");
    // a folder that is not a run is named, and nothing is written
    let nope = dir.join("nope");
    let err = fails(&[
        "compare",
        src.to_str().unwrap(),
        nope.to_str().unwrap(),
        "--out",
        dir.join("none.png").to_str().unwrap(),
    ]);
    assert!(err.contains("nope") && err.contains("run.toml"), "{err}");
    assert!(!dir.join("none.png").exists());
}

#[test]
fn same_seed_same_first_iteration() {
    let dir = temp_dir("determinism");
    let cfg = small_config(&dir);
    let (a, b) = (dir.join("a"), dir.join("b"));
    ok(&train_args(&cfg, a.to_str().unwrap(), "1ms"));
    ok(&train_args(&cfg, b.to_str().unwrap(), "1ms"));
    let ta = std::fs::read_to_string(a.join("training-simtrace/0-iteration.csv")).unwrap();
    let tb = std::fs::read_to_string(b.join("training-simtrace/0-iteration.csv")).unwrap();
    // the sim-trace has no wall-clock column: it must match bit for bit
    assert_eq!(ta, tb);
    // the updated policies drive the same evaluation lap (the weight files
    // themselves differ: burn gives every parameter a random id)
    let ea = evaluate(&a, &["--laps", "1"]);
    let eb = evaluate(&b, &["--laps", "1"]);
    let trace = |r: &Value| {
        std::fs::read_to_string(
            Path::new(r["output_dir"].as_str().unwrap())
                .join("evaluation-simtrace/0-iteration.csv"),
        )
        .unwrap()
    };
    assert!(
        trace(&ea) == trace(&eb),
        "the first update gave different policies in identical runs"
    );
}

/// Every sim-trace file of a run, by name.
fn simtraces(run: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(run.join("training-simtrace"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Rollouts collected during updates (the default): the same seed gives
/// the same sim-trace bit for bit over several iterations, each episode
/// is logged under the iteration of the rollout it ended in, the stop
/// leaves no rollout collected and dropped, and the acting policy is one
/// update behind: from the second rollout on the run differs from
/// `--sequential` (which acts with the latest policy), whose first rollout
/// it shares.
#[test]
fn overlapped_rollouts_are_deterministic_and_one_update_behind() {
    let dir = temp_dir("overlap");
    let cfg = small_config(&dir);
    let runs: Vec<PathBuf> = ["a", "b", "seq"].iter().map(|n| dir.join(n)).collect();
    for run in &runs {
        let mut args = episode_args(cfg.as_str(), run.to_str().unwrap(), "12");
        if run.ends_with("seq") {
            args.push("--sequential");
        }
        ok(&args);
    }
    let (a, b, seq) = (
        simtraces(&runs[0]),
        simtraces(&runs[1]),
        simtraces(&runs[2]),
    );
    assert!(a.len() >= 3, "{} sim-trace files", a.len());
    assert_eq!(a, b, "two runs of one seed differ");
    assert_eq!(
        a[0], seq[0],
        "the first rollout is acted by the initial policy in both"
    );
    assert_ne!(
        a[1..],
        seq[1..],
        "later rollouts act with a policy one update behind"
    );

    let st = state(&runs[0]);
    let iterations = st["iteration"].as_u64().unwrap();
    assert_eq!(metrics(&runs[0], "iteration").len() as u64, iterations);
    let episodes = metrics(&runs[0], "episode");
    assert_eq!(episodes.len() as u64, st["episodes"].as_u64().unwrap());
    let its: Vec<u64> = episodes
        .iter()
        .map(|e| e["record"]["iteration"].as_u64().unwrap())
        .collect();
    assert!(its.windows(2).all(|w| w[0] <= w[1]), "{its:?}");
    assert_eq!(its.first(), Some(&0));
    // the last rollout was trained on: none was collected after the stop
    assert_eq!(its.last(), Some(&(iterations - 1)), "{its:?}");
    // an iteration counts the episodes up to its own rollout's end, not the
    // overlapping next rollout's (its checkpoint resumes from there)
    for rec in metrics(&runs[0], "iteration") {
        let n = rec["record"]["iteration"].as_u64().unwrap();
        let upto = its.iter().filter(|&&i| i < n).count() as u64;
        assert_eq!(rec["record"]["episodes"].as_u64(), Some(upto), "{rec}");
    }
}

#[test]
fn bad_input_is_named_before_training() {
    let dir = temp_dir("bad");
    let cfg = small_config(&dir);
    let out = dir.join("x");
    let mut args = train_args(&cfg, out.to_str().unwrap(), "1s");
    args.extend(["--track", "no-such-track.npy"]);
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

/// SAC runs are deterministic too: the same seed gives the same sim-trace
/// bit for bit over several iterations (replay sampling, the policy's
/// noise and the critics' shards all follow the seed), with rollouts
/// overlapping the gradient steps as by default.
#[test]
fn sac_runs_of_one_seed_give_the_same_simtrace() {
    let dir = temp_dir("sac-det");
    let cfg = dir.join("sac.toml");
    std::fs::write(
        &cfg,
        "track = \"easy-oval\"\nreward = \"builtin:center_line\"\nseed = 4\n\
         training_algorithm = \"sac\"\n\n[action_space.continuous]\n\
         steering_angle = { low = -30, high = 30 }\nspeed = { low = 0.5, high = 2 }\n\n\
         [hyperparameters]\nnum_episodes_between_training = 4\nbatch_size = 32\nnum_epochs = 2\n\
         sac_target_entropy = -2.0\n",
    )
    .unwrap();
    let cfg = cfg.to_str().unwrap();
    let runs: Vec<PathBuf> = ["a", "b"].iter().map(|n| dir.join(n)).collect();
    for run in &runs {
        ok(&episode_args(cfg, run.to_str().unwrap(), "12"));
    }
    let (a, b) = (simtraces(&runs[0]), simtraces(&runs[1]));
    assert!(a.len() >= 3, "{} sim-trace files", a.len());
    assert_eq!(a, b, "two SAC runs of one seed differ");
    // and they learnt: the temperature moved and the buffer holds every step
    let its = metrics(&runs[0], "iteration");
    let last = &its[its.len() - 1]["record"];
    assert_ne!(last["update"]["temperature"].as_f64(), Some(0.2), "{last}");
    assert_eq!(
        last["update"]["replay_size"].as_u64(),
        last["total_steps"].as_u64(),
        "{last}"
    );
}
