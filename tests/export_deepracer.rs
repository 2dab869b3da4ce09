//! The stock AWS DeepRacer car's model format, checked with the real tools:
//! `chicane export --format deepracer` writes a `.tar.gz` that passes the
//! car loader's checks, whose frozen graph TensorFlow imports by the car's
//! input and output names and OpenVINO converts for the car (FP16), giving
//! the ONNX bundle's outputs on rendered frames, for every network chicane
//! trains that the car can run, discrete and continuous, mono and stereo,
//! PPO and SAC (rl_coach's SAC names).
//! `chicane import-model` brings such a model back (identical actions), and
//! a graph that TensorFlow builds with rl_coach's node names imports and
//! evaluates. TensorFlow and OpenVINO come from PyPI into a venv under the
//! target directory (made once).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_car::{Bundle, OnnxPolicy, Policy};
use chicane_core::FrameStack;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::{fails, fixture, ok as chicane, python_venv, rendered_frames, temp_dir};

const FRAMES: usize = 100;

fn car_python() -> PathBuf {
    python_venv(
        "deepracer-car",
        &[
            "tensorflow-cpu==2.21.0",
            "openvino-dev==2024.6.0",
            "numpy==1.26.4",
        ],
    )
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

/// The ONNX bundle's outputs on `frames` through chicane-car's tract
/// policy (with the bundle's own preprocessing).
fn bundle_outputs(bundle: &Path, frames: &[Vec<u8>]) -> (Vec<f32>, usize) {
    let b = Bundle::open(bundle).unwrap();
    let pre = b.spec.camera.unwrap();
    let mut policy = OnnxPolicy::load(&b).unwrap();
    let mut stack = FrameStack::new(pre);
    let mut out = Vec::new();
    for f in frames {
        stack.reset(f);
        out.extend(policy.infer(stack.observation(), &[]).unwrap());
    }
    (out, b.spec.output_len)
}

fn write_u8(path: &Path, frames: &[Vec<u8>]) {
    std::fs::write(path, frames.concat()).unwrap();
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A tiny training run (1 episode) of `network` on the run file `toml`.
fn tiny_run(dir: &Path, name: &str, toml: &str, network: &str) -> PathBuf {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, toml).unwrap();
    let run = dir.join(name);
    chicane(&[
        "train",
        cfg.to_str().unwrap(),
        "--network",
        network,
        "--out",
        run.to_str().unwrap(),
        "--max-episodes",
        "1",
        "--num-envs",
        "1",
        "--steps-per-update",
        "16",
        "--quiet",
    ]);
    run
}

const CONTINUOUS: &str = "track = \"easy-oval\"\nseed = 5\n\n[action_space.continuous]\n\
    steering_angle = { low = -30.0, high = 30.0 }\nspeed = { low = 0.5, high = 4.0 }\n";
const DISCRETE: &str = "track = \"easy-oval\"\nseed = 5\n";
const STEREO: &str = "track = \"easy-oval\"\nseed = 5\nsensor = [\"STEREO_CAMERAS\"]\n";
const SAC: &str = "track = \"easy-oval\"\nseed = 5\ntraining_algorithm = \"sac\"\n\n\
    [action_space.continuous]\nsteering_angle = { low = -30.0, high = 30.0 }\n\
    speed = { low = 0.5, high = 4.0 }\n";

#[test]
fn deepracer_export_runs_in_tensorflow_and_openvino_like_the_onnx_bundle() {
    let dir = temp_dir("tf");
    let mut runs: Vec<(String, PathBuf)> = vec![("lapper-fast-discrete".into(), fixture())];
    for (net, short) in [
        ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "shallow"),
        ("DEEP_CONVOLUTIONAL_NETWORK", "standard"),
        ("DEEP_CONVOLUTIONAL_NETWORK_DEEP", "deep"),
        ("FAST_CNN", "fast"),
    ] {
        if short != "fast" {
            let name = format!("{short}-discrete");
            runs.push((name.clone(), tiny_run(&dir, &name, DISCRETE, net)));
        }
        let name = format!("{short}-continuous");
        runs.push((name.clone(), tiny_run(&dir, &name, CONTINUOUS, net)));
    }
    for (net, short) in [
        ("FAST_CNN", "fast"),
        ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "shallow"),
    ] {
        let name = format!("{short}-stereo");
        runs.push((name.clone(), tiny_run(&dir, &name, STEREO, net)));
    }
    for (net, short) in [
        ("FAST_CNN", "fast"),
        ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "shallow"),
    ] {
        let name = format!("{short}-sac");
        runs.push((name.clone(), tiny_run(&dir, &name, SAC, net)));
    }
    let mut cases = Vec::new();
    for (name, run) in &runs {
        // rl_coach's names: the SAC agent's policy network, or PPO's
        let sac = name.ends_with("sac");
        let (scope, output) = if sac {
            (
                "main_level/agent/policy/online",
                "main_level/agent/policy/online/network_0/sac_policy_head_0/policy",
            )
        } else {
            (
                "main_level/agent/main/online",
                "main_level/agent/main/online/network_1/ppo_head_0/policy",
            )
        };
        let run_s = run.to_str().unwrap();
        let bundle = dir.join(format!("{name}-bundle.tar.gz"));
        chicane(&["export", run_s, "--out", bundle.to_str().unwrap()]);
        let archive = dir.join(format!("{name}.tar.gz"));
        let stdout = chicane(&[
            "export",
            run_s,
            "--format",
            "deepracer",
            "--out",
            archive.to_str().unwrap(),
        ]);
        assert!(stdout.contains(output), "{stdout}");
        let frames = rendered_frames(&run.join("run.toml"), FRAMES);
        let (expected, outputs) = bundle_outputs(&bundle, &frames);
        let channels = frames[0].len() / (120 * 160);
        let sensor = if channels == 2 {
            "STEREO_CAMERAS"
        } else {
            "FRONT_FACING_CAMERA"
        };
        let (fpath, epath) = (
            dir.join(format!("{name}.u8")),
            dir.join(format!("{name}.f32")),
        );
        write_u8(&fpath, &frames);
        write_f32(&epath, &expected);
        cases.push(serde_json::json!({
            "name": name,
            "archive": archive,
            "input": format!("{scope}/network_0/{sensor}/{sensor}"),
            "output": output,
            "channels": channels,
            "frames": fpath,
            "expected": epath,
            "n": FRAMES,
            "outputs": outputs,
        }));
    }
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new(car_python())
        .arg(script("deepracer_car_check.py"))
        .arg(&cases_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the TensorFlow/OpenVINO check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let results: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&results).unwrap());
    for (name, _) in &runs {
        let r = &results[name.as_str()];
        assert_eq!(
            r["files"],
            serde_json::json!(["model_metadata.json", "agent/model.pb"]),
            "{name}"
        );
        let algorithm = if name.ends_with("sac") {
            "sac"
        } else {
            "clipped_ppo"
        };
        assert_eq!(r["metadata_training_algorithm"], algorithm, "{name}");
        let channels = if name.ends_with("stereo") { 2 } else { 1 };
        assert_eq!(
            r["tf_input_shape"],
            serde_json::json!([null, 120, 160, channels]),
            "{name}"
        );
        let num = |k: &str| r[k].as_f64().unwrap_or(f64::INFINITY);
        assert!(num("tf_max_abs_diff") <= 1e-4, "{name}: {r}");
        assert!(num("tf_single_frame_max_abs_diff") <= 1e-4, "{name}: {r}");
        // FP16 weights and activations: about 3 significant digits
        assert!(num("openvino_fp16_max_abs_diff") <= 2e-2, "{name}: {r}");
        // the car's mo command line (with 2024's name for its FP16 flag)
        assert_eq!(r["mo_compress_to_fp16_returncode"], 0, "{name}: {r}");
        assert!(
            num("mo_compress_to_fp16_max_abs_diff") <= 2e-2,
            "{name}: {r}"
        );
        // the outputs differ between frames, so agreement is not trivial
        // (an untrained continuous head's means are small: its weights start
        // within +-0.01)
        assert!(num("output_spread") > 1e-4, "{name}: {r}");
    }
}

#[test]
fn import_model_round_trips_an_export_and_reads_an_rl_coach_graph() {
    let dir = temp_dir("import");
    let fx = fixture();
    let frames = rendered_frames(&fx.join("run.toml"), FRAMES);

    // export -> import -> the same actions
    let archive = dir.join("lapper.tar.gz");
    chicane(&[
        "export",
        fx.to_str().unwrap(),
        "--format",
        "deepracer",
        "--out",
        archive.to_str().unwrap(),
    ]);
    let back = dir.join("back");
    let stdout = chicane(&[
        "import-model",
        archive.to_str().unwrap(),
        "--out",
        back.to_str().unwrap(),
    ]);
    assert!(stdout.contains("FAST_CNN"), "{stdout}");
    let (b1, b2) = (dir.join("orig.tar.gz"), dir.join("back.tar.gz"));
    chicane(&[
        "export",
        fx.to_str().unwrap(),
        "--out",
        b1.to_str().unwrap(),
    ]);
    chicane(&[
        "export",
        back.to_str().unwrap(),
        "--out",
        b2.to_str().unwrap(),
    ]);
    let ((p1, a), (p2, _)) = (bundle_outputs(&b1, &frames), bundle_outputs(&b2, &frames));
    let argmax = |p: &[f32]| -> Vec<usize> {
        p.chunks(a)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
                    .0
            })
            .collect()
    };
    assert_eq!(argmax(&p1), argmax(&p2));
    let worst = p1
        .iter()
        .zip(&p2)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-5, "round trip changed the policy by {worst}");
    // the imported run laps reinvent_base as the original does (its run
    // file is the importer's defaults, not the fixture's seed and sim
    // settings, so the two laps need not be step for step the same)
    let track = support::track_path();
    let lap = |run: &Path| -> Value {
        let eval = chicane(&[
            "evaluate",
            run.to_str().unwrap(),
            "--track",
            &track,
            "--laps",
            "1",
            "--json",
        ]);
        let v: Value = serde_json::from_str(&eval).unwrap();
        v["laps"][0].clone()
    };
    let (orig_lap, back_lap) = (lap(&fx), lap(&back));
    for l in [&orig_lap, &back_lap] {
        assert_eq!(l["episode_status"], "lap_complete", "{l}");
        assert_eq!(l["off_track_count"], 0, "{l}");
    }
    let (t1, t2) = (
        orig_lap["lap_time_s"].as_f64().unwrap(),
        back_lap["lap_time_s"].as_f64().unwrap(),
    );
    assert!((t1 - t2).abs() <= 0.05 * t1, "{orig_lap} vs {back_lap}");

    // a graph TensorFlow builds with rl_coach's names, frozen as DeepRacer does
    let mono: Vec<Vec<u8>> = frames.iter().map(|f| f[..120 * 160].to_vec()).collect();
    let fpath = dir.join("frames.u8");
    write_u8(&fpath, &mono);
    for (kind, network) in [
        ("shallow", "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"),
        ("deep_bn", "DEEP_CONVOLUTIONAL_NETWORK_DEEP"),
    ] {
        let model = dir.join(format!("rl_coach_{kind}"));
        let out = Command::new(car_python())
            .arg(script("rl_coach_graph.py"))
            .arg(&model)
            .arg(&fpath)
            .arg(FRAMES.to_string())
            .arg("7")
            .arg(kind)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rl_coach_graph.py {kind} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let imported = dir.join(format!("rl_coach_{kind}_run"));
        let stdout = chicane(&[
            "import-model",
            model.to_str().unwrap(),
            "--out",
            imported.to_str().unwrap(),
        ]);
        assert!(stdout.contains(network), "{stdout}");
        if kind == "deep_bn" {
            assert!(stdout.contains("batch norm"), "{stdout}");
        }
        let b3 = dir.join(format!("rl_coach_{kind}_bundle.tar.gz"));
        chicane(&[
            "export",
            imported.to_str().unwrap(),
            "--out",
            b3.to_str().unwrap(),
        ]);
        let (ours, _) = bundle_outputs(&b3, &mono);
        let theirs = read_f32(&model.join("tf_outputs.f32"));
        assert_eq!(ours.len(), theirs.len());
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4,
            "imported {kind} graph differs from TensorFlow by {worst}"
        );
        chicane(&["evaluate", imported.to_str().unwrap(), "--laps", "1"]);
    }
}

#[test]
fn models_the_car_cannot_run_or_names_it_cannot_take_are_refused() {
    let dir = temp_dir("refuse");
    let fx = fixture();
    for bad in ["my.model.tar.gz", "my model.tar.gz", "model.zip"] {
        let out = dir.join(bad);
        let e = fails(&[
            "export",
            fx.to_str().unwrap(),
            "--format",
            "deepracer",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(e.contains("out"), "{bad}: {e}");
        assert!(!out.exists());
    }
    let lidar = tiny_run(
        &dir,
        "lidar",
        "track = \"easy-oval\"\nsensor = [\"FRONT_FACING_CAMERA\", \"LIDAR\"]\n",
        "FAST_CNN",
    );
    let e = fails(&[
        "export",
        lidar.to_str().unwrap(),
        "--format",
        "deepracer",
        "--out",
        dir.join("lidar.tar.gz").to_str().unwrap(),
    ]);
    assert!(e.contains("lidar"), "{e}");
    // an import source that is no DeepRacer model
    let e = fails(&[
        "import-model",
        fx.join("run.toml").to_str().unwrap(),
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert!(e.contains("not a DeepRacer model"), "{e}");
}
