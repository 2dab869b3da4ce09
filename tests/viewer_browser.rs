//! The live viewer in a real browser: `chicane train --viewer` and
//! `chicane evaluate --viewer` opened in headless Chromium (Debian's
//! `chromium`, installed by .ci/run; Playwright 1.65.2 from PyPI drives
//! it), the screenshot checked for drawn streams and charts, the stop
//! button stopping training with a checkpoint.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use image::RgbaImage;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
mod support;
use support::{fixture, python_venv, small_config, temp_dir};

/// A `chicane` child whose stderr is read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str], dir: &Path) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chicane"))
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The viewer's URL from the `viewer: http://...` line.
    fn viewer_url(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                self.seen.push(line.clone());
                if let Some(url) = line.strip_prefix("viewer: ") {
                    return url.trim().to_string();
                }
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!(
                    "chicane exited ({st}) before the viewer started:\n{}",
                    self.log()
                );
            }
        }
        panic!("no viewer line within 120 s:\n{}", self.log());
    }

    fn log(&mut self) -> String {
        while let Ok(l) = self.lines.try_recv() {
            self.seen.push(l);
        }
        self.seen.join("\n")
    }

    /// Waits for the process to exit; returns its status and stdout.
    fn wait(&mut self, limit: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                self.child
                    .stdout
                    .take()
                    .unwrap()
                    .read_to_string(&mut out)
                    .unwrap();
                return (st, out);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("chicane did not exit within {limit:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the browser script on `url`; returns the screenshot and report.
fn browse(url: &str, mode: &str, dir: &Path) -> (RgbaImage, Value) {
    assert!(
        ["chromium", "chromium-browser"].iter().any(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        }),
        "headless Chromium is needed: install Debian's chromium package (.ci/run does)"
    );
    let python = python_venv("playwright", &["playwright==1.65.2"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/viewer_browser.py");
    let (shot, report) = (
        dir.join(format!("{mode}.png")),
        dir.join(format!("{mode}.json")),
    );
    let out = Command::new(&python)
        .arg(&script)
        .args([url, mode])
        .arg(&shot)
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgba8();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (img, report)
}

/// Distinct colours and the luminance spread (standard deviation) inside
/// a page box of the screenshot.
fn drawn(img: &RgbaImage, b: &Value) -> (usize, f64) {
    let f = |k: &str| b[k].as_f64().unwrap();
    let (x0, y0) = (f("x").max(0.0) as u32, f("y").max(0.0) as u32);
    let x1 = ((f("x") + f("w")) as u32).min(img.width());
    let y1 = ((f("y") + f("h")) as u32).min(img.height());
    assert!(x1 > x0 + 8 && y1 > y0 + 8, "box {b} is (almost) empty");
    let mut colors = std::collections::HashSet::new();
    let (mut n, mut sum, mut sum2) = (0.0, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y).0;
            colors.insert([p[0], p[1], p[2]]);
            let l = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
            n += 1.0;
            sum += l;
            sum2 += l * l;
        }
    }
    let mean = sum / n;
    (colors.len(), (sum2 / n - mean * mean).max(0.0).sqrt())
}

/// Every stream and chart box of the report is drawn (not blank);
/// returns how many of each kind there were.
fn check_drawn(img: &RgbaImage, report: &Value) -> (usize, usize, usize) {
    let (mut cams, mut tops, mut charts) = (0, 0, 0);
    for b in report["boxes"].as_array().unwrap() {
        let (colors, spread) = drawn(img, b);
        let what = format!("{} {}", b["tag"], b["src"]);
        assert!(
            colors >= 16 && spread >= 8.0,
            "{what} looks blank: {colors} colours, spread {spread:.1}"
        );
        let src = b["src"].as_str().unwrap();
        if src.contains("/stream/camera/") {
            cams += 1;
        } else if src.contains("/stream/top_down/") {
            tops += 1;
        } else {
            charts += 1;
        }
    }
    (cams, tops, charts)
}

/// `GET path` from the viewer with a plain socket: status code and body.
fn get(url: &str, path: &str) -> (u16, Vec<u8>) {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, buf[split + 4..].to_vec())
}

#[test]
fn the_viewer_draws_training_in_chromium_and_its_stop_button_checkpoints() {
    let dir = temp_dir("train");
    small_config(&dir);
    let mut run = Running::start(
        &[
            "train",
            "small.toml",
            "--out",
            "runs/watched",
            "--num-envs",
            "2",
            "--max-time",
            "10m",
            "--quiet",
            "--viewer",
            "127.0.0.1:0",
        ],
        &dir,
    );
    let url = run.viewer_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // the JSON endpoints and errors, without a browser
    let (code, body) = get(&url, "/status");
    assert_eq!(code, 200);
    let status: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status["kind"], "training");
    assert_eq!(status["num_envs"], 2);
    assert_eq!(status["camera_width"], 160);
    let (code, body) = get(&url, "/frame/camera/1.jpg");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let cam = image::load_from_memory(&body).unwrap();
    assert_eq!((cam.width(), cam.height()), (160, 120));
    let (code, body) = get(&url, "/stream/camera/7");
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("the run has 2"));
    assert_eq!(get(&url, "/stop").0, 405, "GET /stop must not stop the run");

    let (img, report) = browse(&url, "training", &dir);
    let (cams, tops, charts) = check_drawn(&img, &report);
    assert_eq!((cams, tops, charts), (2, 1, 3), "{report}");
    assert!(!report["stop_disabled"].as_bool().unwrap());
    assert!(report["metrics"]["episodes"].as_array().unwrap().len() >= 10);
    assert!(report["chart_points"]["reward"].as_u64().unwrap() >= 10);
    assert_eq!(report["status"]["state"], "running");

    // Stop: the run ends by itself, with a checkpoint that resumes
    let (st, out) = run.wait(Duration::from_secs(120));
    assert!(st.success(), "{out}\n{}", run.log());
    assert!(out.contains("stopped: interrupted"), "{out}");
    let latest = std::fs::read_to_string(dir.join("runs/watched/checkpoints/latest")).unwrap();
    assert!(
        dir.join("runs/watched/checkpoints")
            .join(latest.trim())
            .join("state.json")
            .is_file()
    );
    let state = report["state_after_stop"].as_str().unwrap();
    assert!(
        state.contains("stopping") || state.contains("finished") || state.contains("ended"),
        "{state}"
    );
}

#[test]
fn the_viewer_shows_an_evaluation_in_real_time() {
    let dir = temp_dir("evaluate");
    let run_dir = fixture();
    let mut run = Running::start(
        &[
            "evaluate",
            run_dir.to_str().unwrap(),
            "--laps",
            "2",
            "--viewer",
            "127.0.0.1:0",
        ],
        &dir,
    );
    let url = run.viewer_url();
    let (img, report) = browse(&url, "evaluation", &dir);
    let (cams, tops, charts) = check_drawn(&img, &report);
    assert_eq!((cams, tops, charts), (1, 1, 2), "{report}");
    assert!(report["stop_disabled"].as_bool().unwrap());
    assert_eq!(report["status"]["kind"], "evaluation");
    // the first lap is charted while the second is driven
    assert_eq!(report["metrics"]["laps"].as_array().unwrap().len(), 1);
    assert_eq!(report["status"]["trial"], 2);
    let (st, out) = run.wait(Duration::from_secs(120));
    assert!(st.success(), "{out}\n{}", run.log());
    assert!(out.contains("2 of 2 laps completed"), "{out}");
}

#[test]
fn a_bad_viewer_address_is_refused_before_training() {
    let out = support::fails_at_once(&["train", "--viewer", "nowhere", "--max-episodes", "1"]);
    assert!(out.contains("--viewer \"nowhere\""), "{out}");
    assert!(out.contains("HOST:PORT"), "{out}");
    // a port in use names it
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let dir = temp_dir("busy");
    small_config(&dir);
    let out = support::chicane(&[
        "train",
        dir.join("small.toml").to_str().unwrap(),
        "--out",
        dir.join("runs/busy").to_str().unwrap(),
        "--max-episodes",
        "1",
        "--viewer",
        &port,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("another program"), "{err}");
}
