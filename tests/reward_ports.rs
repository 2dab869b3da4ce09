//! Each Rhai port in reward_fns/examples agrees with its DeepRacer Python
//! original (../shared/data/reward_fns) to 1e-9 on 1,000 states driven on
//! real tracks. The Python runs unchanged in a `python3` subprocess.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use chicane_core::{ActionSpace, Range};
use chicane_reward::{FnReward, RewardFunction, RewardParams, RhaiReward};
use chicane_sim::{Driver, PurePursuit, RaceEnv, RandomDriver, ResetOptions, SimConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

fn shared_data() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("reward_fns").is_dir())
        })
        .expect("shared data with reward_fns/ (set CHICANE_SHARED_DATA)")
}

/// About `n` DeepRacer params from driving real tracks: pure pursuit and
/// random drivers, with obstacles and bot cars on one of them.
pub fn collect_states(n: usize) -> Vec<RewardParams> {
    let data = shared_data();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tracks = [
        (
            data.join("deepracer/tracks/reinvent_base.npy")
                .to_str()
                .unwrap()
                .to_string(),
            false,
        ),
        (
            data.join("deepracer/tracks/reInvent2019_track.npy")
                .to_str()
                .unwrap()
                .to_string(),
            false,
        ),
        ("speedway".to_string(), true),
    ];
    let space = ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 4.0,
        },
    };
    for (k, (spec, objects)) in tracks.iter().enumerate() {
        let mut cfg = SimConfig::default();
        cfg.camera = None;
        cfg.lidar = Some(chicane_core::LidarConfig {
            beams: 8,
            ..Default::default()
        });
        if *objects {
            cfg.obstacles.number_of_obstacles = 3;
            cfg.bots.number_of_bot_cars = 2;
        }
        cfg.start.random_start = true;
        cfg.start.alternate_driving_direction = true;
        let log = seen.clone();
        let recorder = FnReward::new("recorder", move |p: &RewardParams| {
            log.lock().unwrap().push(p.clone());
            1.0
        })
        .with_racing_line();
        let track = Arc::new(chicane_tracks::load(spec).unwrap());
        let mut env = RaceEnv::new(cfg, track, space.clone(), Box::new(recorder)).unwrap();
        let mut pp = PurePursuit::default();
        let mut random = RandomDriver::new(k as u64);
        let (_, mut info) = env.reset(Some(k as u64), ResetOptions::default()).unwrap();
        let target = n * (k + 1) / tracks.len();
        let mut step = 0;
        while seen.lock().unwrap().len() < target {
            step += 1;
            let a = if (step / 20) % 2 == 0 {
                pp.act(&env, &info)
            } else {
                random.act(&env, &info)
            };
            let t = env.step(&a).unwrap();
            info = if t.terminated || t.truncated {
                env.reset(None, ResetOptions::default()).unwrap().1
            } else {
                t.info
            };
        }
    }
    seen.lock().unwrap().clone()
}

fn python_rewards(script: &Path, states: &[RewardParams]) -> Vec<f64> {
    let dir = std::env::temp_dir().join(format!("chicane-ports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!(
        "{}.jsonl",
        script.file_stem().unwrap().to_str().unwrap()
    ));
    let lines: Vec<String> = states.iter().map(RewardParams::to_json).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/run_reward.py");
    let out = std::process::Command::new("python3")
        .arg(&harness)
        .arg(script)
        .arg(&file)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn rhai_ports_agree_with_the_python_originals() {
    let states = collect_states(1000);
    assert!(states.len() >= 1000);
    let states = &states[..1000];
    // the states cover what the functions branch on
    assert!(
        states.iter().any(|p| !p.all_wheels_on_track)
            && states.iter().any(|p| p.all_wheels_on_track)
    );
    assert!(states.iter().any(|p| !p.objects_location.is_empty()));
    assert!(states.iter().any(|p| p.steering_angle.abs() > 15.0));
    assert!(states.iter().any(|p| p.is_reversed));
    let py_dir = shared_data().join("reward_fns");
    let mut ported = 0;
    for entry in std::fs::read_dir(&py_dir).unwrap() {
        let py = entry.unwrap().path();
        if py.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let stem = py.file_stem().unwrap().to_str().unwrap();
        let rhai_path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("reward_fns/examples/{stem}.rhai"));
        assert!(rhai_path.is_file(), "no Rhai port of {}", py.display());
        let mut rhai = RhaiReward::from_file(&rhai_path).unwrap();
        let expected = python_rewards(&py, states);
        assert_eq!(expected.len(), states.len());
        for (i, (p, want)) in states.iter().zip(&expected).enumerate() {
            let got = rhai.reward(p).unwrap();
            assert!(
                (got - want).abs() <= 1e-9,
                "{stem}, state {i}: Rhai {got} vs Python {want}\n{}",
                p.summary()
            );
        }
        ported += 1;
    }
    assert_eq!(ported, 6);
}

#[test]
fn chicanes_python_examples_agree_with_their_rhai_twins() {
    let mut states = collect_states(600);
    states.truncate(600);
    // lap completions (the random half of the driving rarely finishes one),
    // so the lap bonus of race.py / race.rhai is compared too
    let finished: Vec<RewardParams> = states
        .iter()
        .step_by(30)
        .enumerate()
        .map(|(i, p)| {
            let mut p = p.clone();
            p.progress = 100.0;
            p.steps = 110 + 7 * i as u64;
            p
        })
        .collect();
    states.extend(finished);
    let states = &states[..];
    assert!(states.iter().all(|p| p.racing_line.is_some()));
    assert!(
        states
            .iter()
            .any(|p| p.progress >= 100.0 && p.all_wheels_on_track)
    );
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("reward_fns/examples");
    let mut twins = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let py = entry.unwrap().path();
        if py.extension().is_none_or(|e| e != "py") {
            continue;
        }
        let rhai_path = py.with_extension("rhai");
        assert!(rhai_path.is_file(), "no Rhai twin of {}", py.display());
        let mut rhai = RhaiReward::from_file(&rhai_path).unwrap();
        let expected = python_rewards(&py, states);
        for (i, (p, want)) in states.iter().zip(&expected).enumerate() {
            let got = rhai.reward(p).unwrap();
            assert!(
                (got - want).abs() <= 1e-9,
                "{}, state {i}: Rhai {got} vs Python {want}",
                py.display()
            );
        }
        twins += 1;
    }
    assert!(twins >= 2, "racing_line.py and race.py at least");
}
