//! Run configs: embedded defaults, TOML files, DeepRacer custom_files
//! folders; every bad input is a clear error before any work.
#![allow(clippy::unwrap_used)]

use chicane_config::{RaceType, ValueLoss, load_run, parse_run};
use chicane_core::{ActionSpace, NetworkKind, TrainingAlgorithm, error_chain};
use std::path::{Path, PathBuf};

fn shared_config() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    assert!(
        dir.join("deepracer/config").is_dir(),
        "shared data not found at {}",
        dir.display()
    );
    dir
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chicane-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn err(text: &str) -> String {
    error_chain(&parse_run(text, "run.toml", Path::new(".")).unwrap_err())
}

#[test]
fn the_defaults_need_no_file_and_round_trip() {
    let run = load_run(None).unwrap();
    assert_eq!(run.track.name(), "technical-loop");
    assert_eq!(run.action_space, ActionSpace::default());
    assert_eq!(run.hyperparameters.batch_size, 64);
    assert_eq!(run.race_type, RaceType::TimeTrial);
    assert!(run.sim.camera.is_some());
    let text = run.to_toml();
    let again = parse_run(&text, "shown.toml", Path::new(".")).unwrap();
    assert_eq!(
        again.to_toml().lines().skip(1).collect::<Vec<_>>(),
        text.lines().skip(1).collect::<Vec<_>>()
    );
    let mut reward = run.make_reward().unwrap();
    assert!(reward.name().contains("center_line"));
    let _ = &mut reward;
}

#[test]
fn a_full_run_file() {
    let dir = temp("full");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reward_fns/examples/object_avoidance.rhai"),
        dir.join("r.rhai"),
    )
    .unwrap();
    let npy = shared_config().join("deepracer/tracks/reinvent_base.npy");
    let text = format!(
        r#"
track = "{}"
reward = "r.rhai"
seed = 7
network = "fast_cnn"
model_metadata = "{}"

[hyperparameters]
batch_size = 128
lr = 0.0001
loss_type = "mse"
num_episodes_between_training = 10

[race]
type = "object_avoidance"
number_of_obstacles = 2
randomize_obstacle_locations = true

[sim.camera]
fov_deg = 120.0

[sim.domain_randomization]
enabled = true
brightness = 0.1
"#,
        npy.display(),
        shared_config()
            .join("deepracer/config/model_metadata_cont.json")
            .display()
    );
    std::fs::write(dir.join("run.toml"), text).unwrap();
    let run = load_run(Some(&dir.join("run.toml"))).unwrap();
    assert_eq!(run.track.name(), "reinvent_base");
    assert_eq!(run.seed, 7);
    assert_eq!(run.network, Some(NetworkKind::FastCnn));
    assert!(matches!(run.action_space, ActionSpace::Continuous { .. }));
    assert_eq!(run.hyperparameters.batch_size, 128);
    assert_eq!(run.sim.obstacles.number_of_obstacles, 2);
    assert!(run.sim.obstacles.randomize_obstacle_locations);
    assert_eq!(run.sim.camera.as_ref().unwrap().fov_deg, 120.0);
    assert!(run.sim.domain_randomization.enabled);
    assert_eq!(run.race_type, RaceType::ObjectAvoidance);
    assert_eq!(run.training_algorithm, TrainingAlgorithm::ClippedPpo);
    assert_eq!(run.hyperparameters.loss_type, ValueLoss::Mse);
    // and what `config show` prints loads back to the same run
    let again = parse_run(&run.to_toml(), "shown.toml", Path::new("/")).unwrap();
    assert_eq!(
        again.to_toml().lines().skip(1).collect::<Vec<_>>(),
        run.to_toml().lines().skip(1).collect::<Vec<_>>()
    );
}

#[test]
fn a_deepracer_custom_files_folder() {
    let dir = temp("custom");
    let cfg = shared_config().join("deepracer/config");
    std::fs::copy(
        cfg.join("model_metadata.json"),
        dir.join("model_metadata.json"),
    )
    .unwrap();
    std::fs::copy(
        cfg.join("hyperparameters.json"),
        dir.join("hyperparameters.json"),
    )
    .unwrap();
    // without a reward_function.py, the built-in centre line
    let run = load_run(Some(&dir)).unwrap();
    assert_eq!(run.action_space, ActionSpace::default());
    assert_eq!(run.hyperparameters.num_epochs, 5);
    assert_eq!(run.hyperparameters.loss_type, ValueLoss::Huber);
    assert_eq!(run.network, Some(NetworkKind::DeepRacerShallow));
    std::fs::copy(
        shared_config().join("reward_fns/center_line.py"),
        dir.join("reward_function.py"),
    )
    .unwrap();
    let result = load_run(Some(&dir));
    if cfg!(feature = "python") {
        result.unwrap();
    } else {
        let e = error_chain(&result.unwrap_err());
        assert!(
            e.contains("reward_function.py") && e.contains("--features python"),
            "{e}"
        );
    }
}

#[test]
fn unknown_keys_get_the_closest_name() {
    let e = err("trak = \"easy-oval\"\n");
    assert!(
        e.contains("unknown field `trak`") && e.contains("did you mean `track`?"),
        "{e}"
    );
    let e = err("[hyperparameters]\nbatch_sise = 32\n");
    assert!(
        e.contains("did you mean `batch_size`?") && e.contains("line 2"),
        "{e}"
    );
    let e = err("[race]\ntype = \"object_avoidance\"\nnumber_of_obstacle = 2\n");
    assert!(e.contains("did you mean `number_of_obstacles`?"), "{e}");
    let e = err("[race]\ntype = \"drag_race\"\n");
    assert!(e.contains("time_trial"), "{e}");
}

#[test]
fn bad_values_name_their_field() {
    for (text, needle) in [
        ("[hyperparameters]\nlr = -1.0\n", "hyperparameters.lr"),
        (
            "[hyperparameters]\nloss_type = \"l1\"\n",
            "loss_type `l1`: use \"huber\" or \"mean squared error\"",
        ),
        (
            "[hyperparameters]\ndiscount_factor = 1.5\n",
            "hyperparameters.discount_factor",
        ),
        ("[race]\nnumber_of_obstacles = 3\n", "race.type"),
        (
            "track = \"nowhere/track.npy\"\n",
            "neither a track file nor a built-in",
        ),
        (
            "track = \"technical_lop\"\n",
            "did you mean `technical-loop`?",
        ),
        (
            "network = \"DEEP_CONVOLUTIONAL_NETWORK_SHALOW\"\n",
            "network: unknown network `DEEP_CONVOLUTIONAL_NETWORK_SHALOW` (did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?)",
        ),
        (
            "training_algorithm = \"clipped-ppo\"\n",
            "did you mean `clipped_ppo`?",
        ),
        (
            "reward = \"builtin:center_lin\"\n",
            "did you mean `builtin:center_line`?",
        ),
        (
            "[race]\ntype = \"object_avoidance\"\nobject_positions = [\"half,left\"]\n",
            "PROGRESS,LANE",
        ),
        ("reward = \"builtin:nope\"\n", "no built-in reward"),
        ("reward = \"missing.rhai\"\n", "missing.rhai"),
        (
            "[action_space]\ndiscrete = [{ steering_angle = 45, speed = 1 }, { steering_angle = 0, speed = 1 }]\n",
            "steering_angle 45",
        ),
        ("[action_space]\n", "either `discrete"),
        ("[sim.camera]\nfov_deg = 0.0\n", "camera.fov_deg"),
        ("[sim.obstacles]\nnumber_of_obstacles = 1\n", "[race]"),
    ] {
        let e = err(text);
        assert!(
            e.starts_with("run.toml: ") && e.contains(needle),
            "{text:?}: {e}"
        );
    }
}

#[test]
fn a_broken_reward_script_stops_before_any_work() {
    let dir = temp("broken");
    std::fs::write(
        dir.join("bad.rhai"),
        "fn reward_function(params) {\n    let x = ;\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("run.toml"), "reward = \"bad.rhai\"\n").unwrap();
    let e = error_chain(&load_run(Some(&dir.join("run.toml"))).unwrap_err());
    assert!(e.contains("bad.rhai:2:"), "{e}");
}

#[test]
fn paths_resolve_against_the_files_folder_once_and_are_written_absolute() {
    let dir = temp("paths");
    let cf = dir.join("custom_files");
    std::fs::create_dir_all(&cf).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reward_fns/examples/center_line.rhai"),
        cf.join("r.rhai"),
    )
    .unwrap();
    std::fs::copy(
        shared_config().join("deepracer/config/model_metadata_sac.json"),
        cf.join("m.json"),
    )
    .unwrap();
    std::fs::write(
        cf.join("run.toml"),
        "reward = \"r.rhai\"\nmodel_metadata = \"./m.json\"\n",
    )
    .unwrap();
    let run = load_run(Some(&cf.join("run.toml"))).unwrap();
    let chicane_config::RewardSource::File(p) = &run.reward else {
        panic!("{:?}", run.reward)
    };
    assert!(
        p.is_absolute() && p.ends_with("custom_files/r.rhai"),
        "{}",
        p.display()
    );
    // SAC metadata is read as SAC (the trainer refuses it until it trains SAC)
    assert_eq!(run.training_algorithm, TrainingAlgorithm::Sac);
    let shown = run.to_toml();
    assert!(shown.contains("training_algorithm = \"sac\""), "{shown}");
    // a run.toml written elsewhere loads back the same reward file
    let elsewhere = dir.join("runs/x");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("run.toml"), &shown).unwrap();
    let again = load_run(Some(&elsewhere.join("run.toml"))).unwrap();
    assert_eq!(again.reward, run.reward);
}

#[test]
fn a_lidar_only_run_writes_and_loads_back_without_a_camera() {
    let mut run = load_run(None).unwrap();
    run.sim.camera = None;
    run.sim.lidar = Some(chicane_core::LidarConfig::default());
    let text = run.to_toml();
    assert!(text.contains("sensor = [\"LIDAR\"]"), "{text}");
    let back = parse_run(&text, "shown.toml", Path::new("/")).unwrap();
    assert!(back.sim.camera.is_none() && back.sim.lidar.is_some());
    let e = err("sensor = []\n");
    assert!(e.contains("sensor: list at least one"), "{e}");
    let e = err("sensor = [\"RADAR\"]\n");
    assert!(e.contains("RADAR"), "{e}");
}

/// Every run file under `examples/` loads as a user would load it, and
/// each key it sets is the one the run gets: a key that misses (a typo, a
/// moved file) would otherwise train the built-in defaults in silence.
#[test]
fn every_example_run_file_loads_with_the_tracks_reward_and_actions_it_names() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    let mut dirs = vec![examples];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let defaults = load_run(None).unwrap();
    for file in &files {
        let run = load_run(Some(file))
            .unwrap_or_else(|e| panic!("{}: {}", file.display(), error_chain(&e)));
        let raw: toml::Table = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let named: Vec<&str> = match raw.get("track") {
            Some(toml::Value::String(s)) => vec![s.as_str()],
            Some(toml::Value::Array(a)) => a.iter().map(|v| v.as_str().unwrap()).collect(),
            Some(other) => panic!("{}: track = {other}", file.display()),
            None => Vec::new(),
        };
        if !named.is_empty() {
            assert_eq!(run.training_tracks.len(), named.len(), "{}", file.display());
            for ((spec, _), name) in run.training_tracks.iter().zip(&named) {
                let stem = Path::new(name).file_stem().unwrap().to_str().unwrap();
                assert!(spec.contains(stem), "{}: {spec} for {name}", file.display());
            }
        }
        if raw.contains_key("reward") {
            assert_ne!(run.reward, defaults.reward, "{}", file.display());
        }
        if raw.contains_key("model_metadata") {
            assert_ne!(
                run.action_space,
                defaults.action_space,
                "{}",
                file.display()
            );
        }
        if raw.contains_key("network") {
            assert!(run.network.is_some(), "{}", file.display());
        }
    }
}
