//! End-to-end tests of `chicane reward check`, `chicane action-space` and
//! `chicane config show`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
use std::path::Path;
mod support;
use support::{fails, ok, temp_dir};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reward_fns/examples")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn reward_check_runs_every_example_and_draws_a_heat_map() {
    let dir = temp_dir("check");
    for entry in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("reward_fns/examples"))
            .unwrap()
    {
        let path = entry.unwrap().path();
        let png = dir.join(format!(
            "{}.png",
            path.file_stem().unwrap().to_str().unwrap()
        ));
        let out = ok(&[
            "reward",
            "check",
            path.to_str().unwrap(),
            "--track",
            "easy-oval",
            "--episodes",
            "2",
            "--out",
            png.to_str().unwrap(),
            "--json",
        ]);
        let r: Value = serde_json::from_str(&out).unwrap();
        assert!(
            r["pure_pursuit_lap"]["steps"].as_u64().unwrap() > 50,
            "{out}"
        );
        assert!(r["random_drives"]["steps"].as_u64().unwrap() > 0);
        let img = image::open(&png).unwrap().to_rgb8();
        assert!(img.width() > 300);
    }
    // the centre-line tiers show as bands: the map has high and low rewards
    let r: Value = serde_json::from_str(&ok(&[
        "reward",
        "check",
        &example("center_line.rhai"),
        "--track",
        "easy-oval",
        "--out",
        dir.join("c.png").to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(r["heat_map_range"][0], 1e-3);
    assert_eq!(r["heat_map_range"][1], 1.0);
    assert_eq!(r["pure_pursuit_status"], "lap_complete");
}

#[test]
fn a_broken_script_points_at_its_line() {
    let dir = temp_dir("broken");
    let bad = dir.join("bad.rhai");
    std::fs::write(
        &bad,
        "fn reward_function(params) {\n    let x = ;\n    1.0\n}\n",
    )
    .unwrap();
    let err = fails(&["reward", "check", bad.to_str().unwrap()]);
    assert!(err.contains("bad.rhai:2:"), "{err}");
    let nan = dir.join("nan.rhai");
    std::fs::write(
        &nan,
        "fn reward_function(params) {\n    if params.steps > 3 { 0.0 / 0.0 } else { 1.0 }\n}\n",
    )
    .unwrap();
    let err = fails(&[
        "reward",
        "check",
        nan.to_str().unwrap(),
        "--out",
        dir.join("n.png").to_str().unwrap(),
    ]);
    assert!(
        err.contains("NaN") && err.contains("step 4") && err.contains("\"steps\":4"),
        "{err}"
    );
    let err = fails(&["reward", "check", "/no/such/file.rhai"]);
    assert!(err.contains("/no/such/file.rhai"), "{err}");
}

#[test]
fn action_space_like_the_console() {
    let text = ok(&[
        "action-space",
        "--max-steering",
        "30",
        "--steering-levels",
        "5",
        "--max-speed",
        "2",
        "--speed-levels",
        "2",
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let list = v["action_space"].as_array().unwrap();
    assert_eq!(list.len(), 10);
    assert_eq!(list[0]["steering_angle"], -30);
    assert_eq!(list[9]["speed"], 2);
    assert_eq!(v["action_space_type"], "discrete");
    let err = fails(&[
        "action-space",
        "--steering-levels",
        "7",
        "--speed-levels",
        "5",
    ]);
    assert!(err.contains("35 discrete actions"), "{err}");
}

/// As a competitor would: a DeepRacer track file in a fresh folder, a
/// relative path, the metadata written beside it; the fitted actions must
/// still let the racing-line driver lap, close to its continuous lap.
#[test]
fn action_space_from_the_racing_line() {
    let dir = temp_dir("from-raceline");
    std::fs::copy(
        support::shared_track("reinvent_base"),
        dir.join("reinvent_base.npy"),
    )
    .unwrap();
    let out = support::chicane_in(
        &dir,
        &[
            "action-space",
            "--from-raceline",
            "reinvent_base.npy",
            "--actions",
            "8",
            "--out",
            "model_metadata.json",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model_metadata.json")).unwrap())
            .unwrap();
    let list = v["action_space"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    let speeds: Vec<f64> = list.iter().map(|a| a["speed"].as_f64().unwrap()).collect();
    let steers: Vec<f64> = list
        .iter()
        .map(|a| a["steering_angle"].as_f64().unwrap())
        .collect();
    assert!(
        speeds.iter().all(|&s| (0.1..=4.0).contains(&s)),
        "{speeds:?}"
    );
    assert!(steers.iter().all(|&s| s.abs() <= 30.0), "{steers:?}");
    assert!(
        speeds.windows(2).all(|w| w[0] <= w[1]),
        "sorted by speed: {speeds:?}"
    );
    assert!(
        speeds.last().unwrap() - speeds[0] > 0.5,
        "the racing line varies its speed: {speeds:?}"
    );
    // "... lapped in 9.87 s on the continuous range and 10.12 s with these 8 actions ..."
    let times: Vec<f64> = err
        .split(" s")
        .filter_map(|part| part.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), 3, "predicted, continuous, fitted: {err}");
    assert!(
        times[2] <= 1.25 * times[1],
        "the 8 fitted actions lap within 25% of the continuous reference: {err}"
    );
    let track = support::shared_track("reinvent_base");
    let err = fails(&[
        "action-space",
        "--from-raceline",
        track.to_str().unwrap(),
        "--actions",
        "40",
    ]);
    assert!(
        err.contains("--actions") && err.contains("2 to 30"),
        "{err}"
    );
    let err = fails(&["action-space", "--actions", "8"]);
    assert!(err.contains("--from-raceline"), "{err}");
}

/// The steering angles (deg) of a written model_metadata.json.
fn steering_angles(path: &Path) -> Vec<f64> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["action_space"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["steering_angle"].as_f64().unwrap())
        .collect()
}

/// For multi-track training in both directions: one action space fitted
/// to the reference laps of two tracks, each both ways, from a fresh
/// folder with a built-in name and a relative DeepRacer file. Every lap's
/// commands join one pool, and every lap is driven again with the fitted
/// actions and completes.
#[test]
fn action_space_from_several_racing_lines_both_directions() {
    let dir = temp_dir("from-raceline-multi");
    std::fs::copy(
        support::shared_track("reinvent_base"),
        dir.join("reinvent_base.npy"),
    )
    .unwrap();
    let fit = |extra: &[&str], out: &str| {
        let mut args = vec![
            "action-space",
            "--from-raceline",
            "easy-oval",
            "--actions",
            "8",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out]);
        let o = support::chicane_in(&dir, &args);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(o.status.success(), "{err}");
        err
    };
    let err = fit(&[], "forward.json");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("easy-oval (forward)"), "{err}");
    let forward = steering_angles(&dir.join("forward.json"));
    let err = fit(
        &["--from-raceline", "reinvent_base.npy", "--both-directions"],
        "both.json",
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "two tracks, two directions each: {err}");
    for (line, want) in lines.iter().zip([
        "easy-oval (forward)",
        "easy-oval (reverse)",
        "reinvent_base (forward)",
        "reinvent_base (reverse)",
    ]) {
        assert!(line.starts_with(want), "{line}");
        assert_eq!(
            line.matches(" s ").count() + line.matches(" s;").count(),
            3,
            "{line}"
        );
    }
    // "(120 of 480 commands clustered)": each lap's share of the pool
    let counts: Vec<(u64, u64)> = lines
        .iter()
        .map(|l| {
            let tail = l.rsplit('(').next().unwrap();
            let mut w = tail.split(' ');
            let own = w.next().unwrap().parse().unwrap();
            let all = w.nth(1).unwrap().parse().unwrap();
            (own, all)
        })
        .collect();
    let total: u64 = counts.iter().map(|c| c.0).sum();
    assert!(counts.iter().all(|c| c.1 == total), "{counts:?}");
    assert!(
        total > 2 * counts[0].0,
        "the other laps joined easy-oval's: {counts:?}"
    );
    let both = steering_angles(&dir.join("both.json"));
    assert_eq!(both.len(), 8);
    assert_ne!(forward, both, "a different pool, a different fit");
    let err = fails(&["action-space", "--both-directions"]);
    assert!(err.contains("--from-raceline"), "{err}");
}

#[test]
fn config_show_prints_the_resolved_defaults() {
    let text = ok(&["config", "show"]);
    assert!(
        text.contains("track = \"technical-loop\"") && text.contains("batch_size = 64"),
        "{text}"
    );
    let dir = temp_dir("show");
    std::fs::write(
        dir.join("run.toml"),
        "track = \"speedway\"\n[hyperparameters]\nlr = 0.001\n",
    )
    .unwrap();
    let text = ok(&["config", "show", dir.join("run.toml").to_str().unwrap()]);
    assert!(
        text.contains("track = \"speedway\"") && text.contains("lr = 0.001"),
        "{text}"
    );
    std::fs::write(
        dir.join("bad.toml"),
        "[hyperparameters]\nbeta_entropi = 0.1\n",
    )
    .unwrap();
    let err = fails(&["config", "show", dir.join("bad.toml").to_str().unwrap()]);
    assert!(err.contains("did you mean `beta_entropy`?"), "{err}");
}
