//! DeepRacer `reward_function.py` files run unchanged through pyo3
//! (`--features python`), agree with plain `python3` and with their Rhai
//! ports, keep module state, and report errors at their line.
#![cfg(feature = "python")]
#![allow(clippy::unwrap_used)]

use chicane_reward::{PythonReward, RewardError, RewardFunction, RewardParams, RhaiReward};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn shared_reward_fns() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("reward_fns").is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    let d = dir.join("reward_fns");
    assert!(
        d.is_dir(),
        "shared reward functions not found at {}",
        d.display()
    );
    d
}

/// Deterministic pseudo-random params covering every branch of the shared functions.
fn states(n: usize) -> Vec<RewardParams> {
    let waypoints: Arc<Vec<[f64; 2]>> = Arc::new(
        (0..60)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / 60.0;
                [3.0 * a.cos(), 2.0 * a.sin()]
            })
            .collect(),
    );
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|i| {
            let nobj = i % 3;
            let prev = (rnd() * 60.0) as usize % 60;
            let width = 0.6 + 0.5 * rnd();
            RewardParams {
                all_wheels_on_track: rnd() > 0.2,
                x: 6.0 * rnd() - 3.0,
                y: 4.0 * rnd() - 2.0,
                heading: 360.0 * rnd() - 180.0,
                distance_from_center: width * 0.7 * rnd(),
                is_left_of_center: rnd() > 0.5,
                is_offtrack: rnd() > 0.9,
                is_crashed: rnd() > 0.95,
                is_reversed: rnd() > 0.5,
                closest_waypoints: [prev, (prev + 1) % 60],
                progress: if i % 50 == 0 { 100.0 } else { 100.0 * rnd() },
                speed: 0.1 + 3.9 * rnd(),
                steering_angle: 60.0 * rnd() - 30.0,
                steps: (i % 40) as u64,
                track_length: 15.8,
                track_width: width,
                waypoints: Arc::clone(&waypoints),
                closest_objects: [0, nobj.saturating_sub(1)],
                objects_location: (0..nobj)
                    .map(|_| [6.0 * rnd() - 3.0, 4.0 * rnd() - 2.0])
                    .collect(),
                objects_left_of_center: (0..nobj).map(|_| rnd() > 0.5).collect(),
                objects_speed: (0..nobj).map(|_| rnd()).collect(),
                objects_heading: (0..nobj).map(|_| 360.0 * rnd() - 180.0).collect(),
                objects_distance: (0..nobj).map(|_| 15.0 * rnd()).collect(),
                objects_distance_from_center: (0..nobj).map(|_| 0.4 * rnd()).collect(),
                object_in_camera: rnd() > 0.5,
                projection_distance: 15.0 * rnd(),
                racing_line: None,
            }
        })
        .collect()
}

fn python3_subprocess(script: &Path, states: &[RewardParams]) -> Vec<f64> {
    let file = std::env::temp_dir().join(format!(
        "chicane-py-{}-{}.jsonl",
        std::process::id(),
        script.file_stem().unwrap().to_str().unwrap()
    ));
    std::fs::write(
        &file,
        states
            .iter()
            .map(RewardParams::to_json)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n",
    )
    .unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/run_reward.py");
    let out = std::process::Command::new("python3")
        .arg(harness)
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn every_shared_reward_function_runs_unchanged() {
    let states = states(1000);
    let mut n = 0;
    for entry in std::fs::read_dir(shared_reward_fns()).unwrap() {
        let py = entry.unwrap().path();
        if py.extension().is_none_or(|e| e != "py") {
            continue;
        }
        n += 1;
        let stem = py.file_stem().unwrap().to_str().unwrap().to_string();
        let mut embedded = PythonReward::from_file(&py).unwrap_or_else(|e| panic!("{e}"));
        let expected = python3_subprocess(&py, &states);
        let rhai_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{stem}.rhai"));
        let mut rhai = RhaiReward::from_file(&rhai_path).unwrap();
        for (i, p) in states.iter().enumerate() {
            let got = embedded.reward(p).unwrap();
            assert_eq!(
                got.to_bits(),
                expected[i].to_bits(),
                "{stem} state {i}: pyo3 {got} vs python3 {}",
                expected[i]
            );
            let port = rhai.reward(p).unwrap();
            assert!(
                (port - got).abs() <= 1e-9,
                "{stem} state {i}: Rhai {port} vs Python {got}"
            );
        }
    }
    assert_eq!(n, 6);
}

#[test]
fn module_state_helpers_and_classes_persist() {
    let src = "import math\n\nCALLS = 0\n\nclass Scale:\n    def __init__(self, k):\n        self.k = k\n\n    def apply(self, v):\n        return v * self.k\n\nSCALE = Scale(2.0)\n\ndef helper(p):\n    return math.hypot(p['x'], p['y'])\n\ndef reward_function(params):\n    global CALLS\n    CALLS += 1\n    return float(CALLS) + SCALE.apply(0.0 * helper(params))\n";
    let mut r = PythonReward::compile(src, "stateful.py").unwrap();
    let p = &states(1)[0];
    assert_eq!(r.reward(p).unwrap(), 1.0);
    assert_eq!(r.reward(p).unwrap(), 2.0);
    assert_eq!(r.reward(p).unwrap(), 3.0);
}

fn message(result: Result<f64, RewardError>) -> String {
    match result {
        Err(RewardError::Failed { message, .. }) => message,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn errors_point_at_the_line() {
    let e = PythonReward::compile(
        "def reward_function(params):\n    return (1.0\n",
        "syntax.py",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("syntax.py:2") && e.contains("SyntaxError"),
        "{e}"
    );
    let e = PythonReward::compile("def reward(params):\n    return 1.0\n", "missing.py")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no `reward_function`"), "{e}");
    let e = PythonReward::compile("import no_such_module_here\n", "imp.py")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("imp.py:1") && e.contains("ModuleNotFoundError"),
        "{e}"
    );
    let mut r = PythonReward::compile(
        "def reward_function(params):\n    x = params['waypoints'][999]\n    return 1.0\n",
        "idx.py",
    )
    .unwrap();
    let m = message(r.reward(&states(1)[0]));
    assert!(m.starts_with("idx.py:2: IndexError"), "{m}");
    let mut r = PythonReward::compile(
        "def reward_function(params):\n    return 'fast'\n",
        "str.py",
    )
    .unwrap();
    assert!(message(r.reward(&states(1)[0])).contains("not a number"));
    let mut r = PythonReward::compile("def reward_function(params):\n    return True\n", "bool.py")
        .unwrap();
    assert!(message(r.reward(&states(1)[0])).contains("bool"));
}
