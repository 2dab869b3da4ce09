//! Train -> export -> car: a trained run (the committed fixture
//! `tests/fixtures/lapper`, a FAST_CNN that completes reinvent_base) is
//! exported as a bundle, its ONNX policy matches burn's on real rendered
//! frames, onnxruntime runs it, and `chicane-car` drives with it: replaying
//! recorded frames and closing the loop on the simulator. Safety: the
//! watchdog, signals and errors all end in neutral.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_agent::{HostObs, Learner, PpoConfig, RunDir, read_agent_spec};
use chicane_car::{Bundle, OnnxPolicy, Policy};
use chicane_core::FrameStack;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod support;
use support::{fixture, ok as chicane, temp_dir, track_path};

/// The `chicane-car` binary, beside `chicane` (built by `cargo test
/// --workspace`; built here if missing).
fn car_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_chicane")).with_file_name("chicane-car");
    if !bin.is_file() {
        let st = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "-p",
                "chicane-car",
                "--bin",
                "chicane-car",
            ])
            .status()
            .unwrap();
        assert!(st.success(), "cannot build chicane-car");
    }
    bin
}

fn car(args: &[&str]) -> Output {
    Command::new(car_bin()).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The fixture exported once per test process.
fn bundle() -> &'static Path {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let out = temp_dir("bundle").join("model.tar.gz");
        let fx = fixture();
        let stdout = chicane(&[
            "export",
            fx.to_str().unwrap(),
            "--checkpoint",
            "last",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(stdout.contains("wrote"), "{stdout}");
        out
    })
}

/// 100 camera frames rendered along reinvent_base by the pure-pursuit
/// driver, as the fixture's camera sees them.
fn rendered_frames(n: usize) -> Vec<Vec<u8>> {
    support::rendered_frames(&fixture().join("run.toml"), n)
}

#[test]
fn onnx_policy_matches_burn_on_rendered_frames() {
    let fx = fixture();
    let run = chicane_config::load_run(Some(&fx.join("run.toml"))).unwrap();
    let spec = read_agent_spec(&RunDir::new(&fx)).unwrap();
    let dev = burn::tensor::Device::flex();
    let mut learner = Learner::new(
        spec.network.clone(),
        PpoConfig::default(),
        run.action_space.clone(),
        &dev,
        0,
    )
    .unwrap();
    learner
        .load(
            &chicane_agent::latest_checkpoint(&RunDir::new(&fx)).unwrap(),
            false,
        )
        .unwrap();
    let b = Bundle::open(bundle()).unwrap();
    let mut onnx = OnnxPolicy::load(&b).unwrap();
    let pre = spec.preprocess.unwrap();
    let mut stack = FrameStack::new(pre);
    let frames = rendered_frames(100);
    let (mut worst, mut peaked) = (0f32, 0f32);
    let mut argmaxes = std::collections::BTreeSet::new();
    let (mut inputs, mut expected) = (Vec::new(), Vec::new());
    for (i, f) in frames.iter().enumerate() {
        if i == 0 {
            stack.reset(f);
        } else {
            stack.push(f);
        }
        let obs = stack.observation().to_vec();
        let burn_p = learner
            .policy_output(&HostObs {
                n: 1,
                camera: obs.clone(),
                vector: Vec::new(),
            })
            .unwrap();
        let tract_p = onnx.infer(&obs, &[]).unwrap();
        assert_eq!(burn_p.len(), tract_p.len());
        for (a, b) in burn_p.iter().zip(&tract_p) {
            worst = worst.max((a - b).abs());
        }
        let (best, p) = tract_p
            .iter()
            .copied()
            .enumerate()
            .fold((0, 0.0), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        argmaxes.insert(best);
        peaked += p;
        inputs.extend_from_slice(&obs);
        expected.extend_from_slice(&tract_p);
    }
    assert!(worst <= 1e-4, "burn and tract differ by {worst}");
    // a trained policy, far from uniform (0.2) and reacting to the frames,
    // so the comparison is not trivial
    let mean_max = peaked / 100.0;
    assert!(mean_max > 0.3, "mean top probability {mean_max}");
    assert!(argmaxes.len() >= 2, "always action {argmaxes:?}");

    // onnxruntime runs the same file (standard ONNX) and agrees with tract
    let dir = temp_dir("ort");
    let model = dir.join("model.onnx");
    std::fs::write(&model, &b.onnx).unwrap();
    let write_f32 = |p: &Path, v: &[f32]| {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(p, bytes).unwrap();
    };
    write_f32(&dir.join("inputs.f32"), &inputs);
    write_f32(&dir.join("expected.f32"), &expected);
    let [c, h, w] = pre.output_shape();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/onnxruntime_check.py");
    let out = Command::new(support::python_venv(
        "onnxruntime",
        &["onnxruntime==1.23.2", "onnx==1.19.1", "numpy<2.3"],
    ))
    .arg(&script)
    .arg(&model)
    .arg(dir.join("inputs.f32"))
    .arg(dir.join("expected.f32"))
    .args(["100", &c.to_string(), &h.to_string(), &w.to_string()])
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "onnxruntime disagrees or fails: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let r: Value = serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(r["opset"], 13);
    assert_eq!(r["outputs"][0], "probabilities");
}

#[test]
fn exported_model_laps_the_simulator_as_in_evaluate() {
    let fx = fixture();
    let eval: Value = serde_json::from_str(&chicane(&[
        "evaluate",
        fx.to_str().unwrap(),
        "--laps",
        "1",
        "--json",
    ]))
    .unwrap();
    let eval_lap = eval["laps"][0]["lap_time_s"].as_f64();
    assert!(
        eval_lap.is_some(),
        "the fixture no longer laps in evaluate: {eval}"
    );
    let out = car(&[
        "run",
        "--model",
        bundle().to_str().unwrap(),
        "--camera",
        &format!("sim:{}", track_path()),
        "--actuator",
        "sim",
        "--laps",
        "1",
        "--hz",
        "0",
        "--max-throttle",
        "1",
        "--json",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    let json_start = stdout.find('{').unwrap();
    let r: Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(r["sim"]["laps_completed"], 1, "{stdout}");
    assert_eq!(r["stop"], "end_of_stream");
    let car_lap = r["sim"]["lap_times_s"][0].as_f64().unwrap();
    let eval_lap = eval_lap.unwrap();
    // the same physics, frames and policy: the same lap within a few steps
    assert!(
        (car_lap - eval_lap).abs() <= 0.5,
        "chicane-car lap {car_lap} s vs evaluate {eval_lap} s"
    );
    assert_eq!(
        r["sim"]["off_track"].as_u64(),
        eval["laps"][0]["off_track_count"].as_u64()
    );
}

#[test]
fn replays_recorded_frames_with_a_dry_run_actuator() {
    let fx = fixture();
    let dir = temp_dir("replay");
    // frames from an evaluation recording (camera.gif) ...
    let rec = dir.join("rec");
    chicane(&[
        "evaluate",
        fx.to_str().unwrap(),
        "--laps",
        "1",
        "--record",
        rec.to_str().unwrap(),
    ]);
    let csv = dir.join("decisions.csv");
    let out = car(&[
        "run",
        "--model",
        bundle().to_str().unwrap(),
        "--camera",
        rec.join("camera.gif").to_str().unwrap(),
        "--actuator",
        "dry-run",
        "--hz",
        "0",
        "--log-csv",
        csv.to_str().unwrap(),
        "--json",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drives = stdout.lines().filter(|l| l.contains(" drive ")).count();
    assert!(drives > 100, "{drives} commands");
    let last_cmd = stdout.lines().rfind(|l| l.starts_with("dry-run")).unwrap();
    assert!(last_cmd.contains("neutral"), "{last_cmd}");
    // pulse widths within DeepRacer's default calibration
    assert!(stdout.contains("ms) throttle="));
    let log = std::fs::read_to_string(&csv).unwrap();
    assert!(log.starts_with(chicane_car::CSV_HEADER));
    assert_eq!(log.lines().count() - 1, drives);
    let json_start = stdout.find("{\n").unwrap();
    let r: Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(r["decisions"].as_u64().unwrap() as usize, drives);
    assert!(r["inference_ms"]["p50"].as_f64().unwrap() > 0.0);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("inference") && stderr.contains("p99"),
        "{stderr}"
    );
}

/// Starts `chicane-car run ARGS`, sends SIGTERM after `after`, returns its output.
fn run_then_terminate(args: &[&str], after: Duration) -> Output {
    let child = Command::new(car_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let t0 = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(5), "slow to stop");
    out
}

fn dry_run_lines(stdout: &str) -> Vec<(f64, bool)> {
    stdout
        .lines()
        .filter_map(|l| {
            let t = l.strip_prefix("dry-run t=")?.split_whitespace().next()?;
            Some((t.parse().ok()?, l.contains(" neutral ")))
        })
        .collect()
}

#[test]
fn watchdog_sends_neutral_when_frames_stop_and_sigterm_stops_the_car() {
    let model = bundle().to_str().unwrap();
    let out = run_then_terminate(
        &[
            "run",
            "--model",
            model,
            "--camera",
            "test-pattern:stall-after=10",
            "--actuator",
            "dry-run",
            "--hz",
            "30",
        ],
        Duration::from_millis(1500),
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("watchdog: no camera frame"), "{stderr}");
    let lines = dry_run_lines(&stdout);
    let last_drive = lines.iter().rposition(|l| !l.1).unwrap();
    assert_eq!(
        last_drive, 10,
        "10 frames, 10 drives after the first neutral"
    );
    let (t_drive, _) = lines[last_drive];
    let (t_neutral, neutral) = lines[last_drive + 1];
    assert!(neutral);
    let gap = t_neutral - t_drive;
    assert!(
        (0.15..0.3).contains(&gap),
        "neutral {gap:.3} s after the last frame (watchdog 200 ms)"
    );
    assert!(lines.last().unwrap().1, "ends in neutral");
    assert!(stderr.contains("Signal"), "{stderr}");

    // a running car stops on SIGTERM, with neutral last
    let out = run_then_terminate(
        &[
            "run",
            "--model",
            model,
            "--camera",
            "test-pattern",
            "--hz",
            "15",
        ],
        Duration::from_millis(1000),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = dry_run_lines(&text(&out.stdout));
    assert!(lines.iter().filter(|l| !l.1).count() >= 5);
    assert!(lines.last().unwrap().1, "ends in neutral");
}

#[test]
fn errors_stop_the_car_and_bad_bundles_are_refused() {
    let model = bundle();
    // a replay whose third image is corrupt: neutral, then a non-zero exit naming the file
    let dir = temp_dir("errors");
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    for (i, f) in rendered_frames(2).iter().enumerate() {
        let img = image::GrayImage::from_raw(160, 120, f.clone()).unwrap();
        img.save(frames.join(format!("{i:03}.png"))).unwrap();
    }
    std::fs::write(frames.join("002.png"), b"not a png").unwrap();
    let out = car(&[
        "run",
        "--model",
        model.to_str().unwrap(),
        "--camera",
        frames.to_str().unwrap(),
        "--hz",
        "0",
    ]);
    assert!(!out.status.success());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stderr.contains("002.png"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines = dry_run_lines(&stdout);
    assert_eq!(lines.iter().filter(|l| !l.1).count(), 2);
    assert!(lines.last().unwrap().1, "ends in neutral");

    // a bundle whose spec disagrees with its ONNX input shape
    let b = Bundle::open(model).unwrap();
    let metadata = b.metadata.to_json_string();
    let mut spec = b.spec.clone();
    let mut pre = spec.camera.unwrap();
    pre.downscale = 2;
    spec.camera = Some(pre);
    let bad = dir.join("bad-shape.tar.gz");
    chicane_car::write_bundle(&bad, &spec, &metadata, &b.onnx, &b.run_toml).unwrap();
    let out = car(&[
        "run",
        "--model",
        bad.to_str().unwrap(),
        "--camera",
        "test-pattern",
    ]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("input `camera`") && stderr.contains("preprocessing.json"),
        "{stderr}"
    );

    // metadata for a stereo camera with a one-channel spec: refused when written and read
    let stereo = metadata.replace("FRONT_FACING_CAMERA", "STEREO_CAMERAS");
    let e = chicane_car::write_bundle(&dir.join("x.tar.gz"), &b.spec, &stereo, &b.onnx, "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("STEREO") || e.contains("Stereo"), "{e}");

    // a damaged file inside the bundle: the checksum catches it
    let damaged = dir.join("damaged.tar.gz");
    let mut onnx = b.onnx.clone();
    let mid = onnx.len() / 2;
    onnx[mid] ^= 0x55;
    chicane_car::write_bundle(&damaged, &b.spec, &metadata, &onnx, &b.run_toml).unwrap();
    // rewrite the archive with the original checksums
    repack_with_checksums(&damaged, model);
    let e = Bundle::open(&damaged).unwrap_err().to_string();
    assert!(e.contains("model.onnx") && e.contains("SHA-256"), "{e}");

    // not a bundle at all
    let out = car(&[
        "run",
        "--model",
        frames.join("000.png").to_str().unwrap(),
        "--camera",
        "test-pattern",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("chicane export"),
        "{}",
        text(&out.stderr)
    );
}

/// Replaces `target`'s checksums.sha256 with `source`'s.
fn repack_with_checksums(target: &Path, source: &Path) {
    let read = |p: &Path| {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(p).unwrap(),
        ));
        let mut files = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            files.push((name, data));
        }
        files
    };
    let src = read(source);
    let sums = src
        .iter()
        .find(|f| f.0 == "checksums.sha256")
        .unwrap()
        .1
        .clone();
    let files: Vec<(String, Vec<u8>)> = read(target)
        .into_iter()
        .map(|(n, d)| {
            if n == "checksums.sha256" {
                (n, sums.clone())
            } else {
                (n, d)
            }
        })
        .collect();
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(target).unwrap(),
        flate2::Compression::default(),
    );
    let mut t = tar::Builder::new(gz);
    for (n, d) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, n, d.as_slice()).unwrap();
    }
    t.into_inner().unwrap().finish().unwrap();
}

#[test]
fn export_picks_checkpoints_and_refuses_what_it_cannot_export() {
    let fx = fixture();
    let fx = fx.to_str().unwrap();
    let dir = temp_dir("checkpoints");
    let out = dir.join("m.tar.gz");
    let out_s = out.to_str().unwrap();
    for which in ["best", "10", "last"] {
        let stdout = chicane(&["export", fx, "--checkpoint", which, "--out", out_s]);
        assert!(stdout.contains("from iter-000010"), "{which}: {stdout}");
        let b = Bundle::open(&out).unwrap();
        assert_eq!(b.spec.checkpoint, "iter-000010");
        assert_eq!(b.spec.network, chicane_core::NetworkKind::FastCnn);
        assert_eq!(b.metadata.action_space.num_actions(), Some(5));
    }
    let e = support::fails(&["export", fx, "--checkpoint", "3", "--out", out_s]);
    assert!(
        e.contains("no such checkpoint") && e.contains("iter-000010"),
        "{e}"
    );
    let e = support::fails(&["export", fx, "--checkpoint", "newest", "--out", out_s]);
    assert!(e.contains("use last, best or an iteration number"), "{e}");
    let e = support::fails(&["export", dir.to_str().unwrap(), "--out", out_s]);
    assert!(e.contains("not a chicane run folder"), "{e}");
}

#[test]
fn chicane_car_drives_a_running_sim_server() {
    let fx = fixture();
    let mut server = Command::new(env!("CARGO_BIN_EXE_chicane"))
        .args(["sim", "serve", "--config"])
        .arg(fx.join("run.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let out = car(&[
        "run",
        "--model",
        bundle().to_str().unwrap(),
        "--camera",
        &format!("sim@{addr}"),
        "--actuator",
        "sim",
        "--hz",
        "0",
        "--max-frames",
        "30",
        "--json",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_str(&stdout[stdout.find('{').unwrap()..]).unwrap();
    assert_eq!(r["decisions"], 30);
    assert!(r["sim"]["progress"].as_f64().unwrap() > 0.0, "{stdout}");
    // the session ends with the car: the server exits by itself
    let t0 = Instant::now();
    while server.try_wait().unwrap().is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "sim serve did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
