//! The run request, resolved once: DeepRacer `custom_files` folders given
//! as users type them (relative, `./`, `../`, absolute) from a fresh
//! working directory, and the errors every front end shares (a misspelt
//! network, an unknown track, SAC where it cannot train); DeepRacer's SAC
//! metadata trains SAC.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
mod support;
use support::{chicane_in, temp_dir};

fn shared() -> PathBuf {
    support::shared_track("reinvent_base")
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf()
}

/// A DeepRacer `custom_files` folder in `dir`: the shared Python reward,
/// `model_metadata` (the file given) and a small `hyperparameters.json`.
fn custom_files(dir: &Path, metadata: &str) -> PathBuf {
    let cf = dir.join("custom_files");
    std::fs::create_dir_all(&cf).unwrap();
    let data = shared();
    std::fs::copy(
        data.join("reward_fns/center_line.py"),
        cf.join("reward_function.py"),
    )
    .unwrap();
    std::fs::copy(
        data.join("deepracer/config").join(metadata),
        cf.join("model_metadata.json"),
    )
    .unwrap();
    std::fs::write(
        cf.join("hyperparameters.json"),
        r#"{"batch_size": 16, "num_epochs": 1, "num_episodes_between_training": 1}"#,
    )
    .unwrap();
    cf
}

fn train_in(cwd: &Path, config: &str, out: &str) -> std::process::Output {
    chicane_in(
        cwd,
        &[
            "train",
            config,
            "--out",
            out,
            "--num-envs",
            "1",
            "--max-episodes",
            "1",
            "--network",
            "FAST_CNN",
            "--quiet",
        ],
    )
}

#[test]
fn custom_files_train_from_every_way_of_naming_the_folder() {
    let dir = temp_dir("cf");
    custom_files(&dir, "model_metadata.json");
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let abs = dir.join("custom_files");
    let abs = abs.to_str().unwrap();
    for (i, (cwd, name)) in [
        (&dir, "custom_files"),
        (&dir, "./custom_files"),
        (&sub, "../custom_files"),
        (&sub, abs),
    ]
    .into_iter()
    .enumerate()
    {
        let out = format!("run-{i}");
        let o = train_in(cwd, name, &out);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "{name} from {}: {stderr}",
            cwd.display()
        );
        let run = cwd.join(&out);
        assert!(run.join("checkpoints/latest").is_file(), "{name}");
        // the run's own config names the reward file once, absolute
        let toml = std::fs::read_to_string(run.join("run.toml")).unwrap();
        let reward = toml
            .lines()
            .find(|l| l.starts_with("reward = "))
            .unwrap()
            .to_string();
        assert!(
            reward.contains(&format!("{}/reward_function.py", abs))
                && !reward.contains("custom_files/custom_files"),
            "{name}: {reward}"
        );
        // and it loads from anywhere: evaluate from another folder
        let o = chicane_in(
            Path::new("/"),
            &["evaluate", run.to_str().unwrap(), "--laps", "1", "--json"],
        );
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn the_same_bad_input_gets_the_same_clear_error() {
    let dir = temp_dir("errors");
    // a misspelt network in a run file
    std::fs::write(
        dir.join("typo.toml"),
        "network = \"DEEP_CONVOLUTIONAL_NETWORK_SHALOW\"\n",
    )
    .unwrap();
    let o = train_in(&dir, "typo.toml", "typo-run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("typo.toml: network: unknown network `DEEP_CONVOLUTIONAL_NETWORK_SHALOW` (did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?)"),
        "{err}"
    );
    assert!(!dir.join("typo-run").exists(), "nothing written");
    // an unknown track lists the built-ins and the nearest one
    let o = chicane_in(
        &dir,
        &["train", "--track", "technical_lop", "--out", "t", "--quiet"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("did you mean `technical-loop`?") && err.contains("easy-oval"),
        "{err}"
    );
    // SAC over a discrete action space, with lidar or on a burn device is
    // refused with the way out, and nothing is written
    std::fs::write(
        dir.join("sac_discrete.toml"),
        "training_algorithm = \"sac\"\n",
    )
    .unwrap();
    let o = train_in(&dir, "sac_discrete.toml", "sac-discrete");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sac_discrete.toml") && err.contains("needs a continuous action space"),
        "{err}"
    );
    assert!(!dir.join("sac-discrete").exists());
    std::fs::write(
        dir.join("sac_lidar.toml"),
        "training_algorithm = \"sac\"\nsensor = [\"FRONT_FACING_CAMERA\", \"LIDAR\"]\n\
         [action_space.continuous]\nsteering_angle = { low = -30, high = 30 }\n\
         speed = { low = 0.5, high = 2 }\n",
    )
    .unwrap();
    let o = train_in(&dir, "sac_lidar.toml", "sac-lidar");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("sac_lidar.toml") && err.contains("with lidar"),
        "{err}"
    );
    std::fs::write(
        dir.join("sac_camera.toml"),
        "training_algorithm = \"sac\"\n[action_space.continuous]\n\
         steering_angle = { low = -30, high = 30 }\nspeed = { low = 0.5, high = 2 }\n",
    )
    .unwrap();
    let o = chicane_in(
        &dir,
        &[
            "train",
            "sac_camera.toml",
            "--device",
            "flex",
            "--out",
            "sac-flex",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("use device cpu"), "{err}");
    assert!(!dir.join("sac-flex").exists());
    // a bad device and a bad duration
    let o = chicane_in(&dir, &["train", "--device", "gpu0", "--out", "d"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown device `gpu0`"), "{err}");
    let o = chicane_in(&dir, &["train", "--max-time", "10 parsecs", "--out", "d"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("max_time: `10 parsecs`"), "{err}");
    // each cause printed once (no message repeats its source)
    let o = chicane_in(&dir, &["train", "missing.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn sac_custom_files_train_sac_evaluate_and_resume() {
    let dir = temp_dir("sac");
    // DeepRacer's own SAC model_metadata.json (continuous, sac) with its
    // Python reward
    custom_files(&dir, "model_metadata_sac.json");
    let o = train_in(&dir, "custom_files", "sac-run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("by sac"), "{err}");
    let run = dir.join("sac-run");
    let meta = std::fs::read_to_string(run.join("model_metadata.json")).unwrap();
    assert!(meta.contains("\"training_algorithm\": \"sac\""), "{meta}");
    let agent = std::fs::read_to_string(run.join("agent.json")).unwrap();
    assert!(agent.contains("squashed_gaussian"), "{agent}");
    let ckpt = std::fs::read_to_string(run.join("checkpoints/latest")).unwrap();
    let ckpt = run.join("checkpoints").join(ckpt.trim());
    assert!(
        ckpt.join("sac.native").is_file(),
        "SAC's critics are checkpointed"
    );
    assert!(
        !ckpt.join("optimizer.native").exists(),
        "no PPO optimizer state"
    );
    // the checkpoint the run stopped on keeps the replay buffer
    assert!(
        ckpt.join("replay.bin").is_file(),
        "the last checkpoint keeps the replay buffer"
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(
        metrics.contains("\"temperature\""),
        "SAC's update stats are logged"
    );
    // evaluated with the deterministic action, and resumed with its critics
    let o = chicane_in(&dir, &["evaluate", "sac-run", "--laps", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = chicane_in(
        &dir,
        &[
            "train",
            "--resume",
            "--out",
            "sac-run",
            "--max-episodes",
            "3",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let sizes: Vec<(u64, u64)> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "iteration")
        .map(|v| {
            (
                v["record"]["total_steps"].as_u64().unwrap(),
                v["record"]["update"]["replay_size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(sizes.len() >= 2, "{metrics}");
    // the resumed run's buffer holds the first run's transitions too:
    // every step taken so far is in it
    let (steps, size) = sizes[sizes.len() - 1];
    assert_eq!(size, steps, "{metrics}");
}
