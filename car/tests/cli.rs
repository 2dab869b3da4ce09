//! `chicane-car calibrate` and `chicane-car run`'s input errors, as a user
//! meets them. (Driving with a real exported model is tested end to end in
//! the workspace's `tests/export_car.rs`.)
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::Write;
use std::process::{Command, Stdio};

fn car_with_stdin(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chicane-car"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("chicane-car-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn calibrate_saves_the_pulses_the_user_tried() {
    let dir = temp("cal");
    let file = dir.join("calibration.json");
    let script = "steering 1.30\nsave steering min\nsteering 1.48\nsave steering mid\n\
                  steering 1.71\nsave steering max\npolarity steering -1\n\
                  throttle 1.20\nsave throttle min\nbogus\nthrottle 9\nshow\nquit\n";
    let (ok, stdout, stderr) = car_with_stdin(
        &["calibrate", "--calibration", file.to_str().unwrap()],
        script,
    );
    assert!(ok, "{stderr}");
    // the dry-run actuator shows each pulse and the final neutral
    assert!(
        stdout.contains("pulse Steering (channel 0) = 1.3000 ms"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pulse Throttle (channel 1) = 1.2000 ms"),
        "{stdout}"
    );
    assert!(
        stdout.lines().last().unwrap().contains("neutral"),
        "{stdout}"
    );
    // bad lines are reported with their number and skipped
    assert!(stderr.contains("line 10: unknown command"), "{stderr}");
    assert!(stderr.contains("line 11: 9 ms is outside"), "{stderr}");
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(cal["steering"]["min_ms"], 1.3);
    assert_eq!(cal["steering"]["mid_ms"], 1.48);
    assert_eq!(cal["steering"]["max_ms"], 1.71);
    assert_eq!(cal["steering"]["polarity"], -1);
    assert_eq!(cal["throttle"]["min_ms"], 1.2);
    assert_eq!(cal["throttle"]["mid_ms"], 1.446);

    // the file is read back and updated on the next session
    let (ok, _, stderr) = car_with_stdin(
        &["calibrate", "--calibration", file.to_str().unwrap()],
        "throttle 1.62\nsave throttle max\n",
    );
    assert!(ok, "{stderr}");
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(cal["throttle"]["max_ms"], 1.62);
    assert_eq!(cal["steering"]["min_ms"], 1.3);
}

#[test]
fn inconsistent_calibration_is_not_saved_and_exits_non_zero() {
    let dir = temp("badcal");
    let file = dir.join("calibration.json");
    let (ok, _, stderr) = car_with_stdin(
        &["calibrate", "--calibration", file.to_str().unwrap()],
        "steering 1.60\nsave steering min\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("not saved yet: steering: need min_ms < mid_ms"),
        "{stderr}"
    );
    assert!(!file.exists());
    // a broken calibration file is refused by run, naming it
    std::fs::write(&file, "{\"pwm_hz\": 50}").unwrap();
    let (ok, _, stderr) = car_with_stdin(
        &[
            "run",
            "--model",
            "missing.tar.gz",
            "--camera",
            "test-pattern",
            "--calibration",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert!(!ok);
    assert!(stderr.contains("missing.tar.gz"), "{stderr}");
}

#[test]
fn bad_flags_name_themselves() {
    let (ok, _, stderr) = car_with_stdin(
        &["run", "--model", "nope.tar.gz", "--camera", "test-pattern"],
        "",
    );
    assert!(!ok);
    assert!(stderr.starts_with("error: nope.tar.gz"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
