//! The real window: `chicane-gui --demo --screenshot FILE.png
//! --exit-after-frames N` under an X server (Xvfb, started here when no
//! DISPLAY is set) with Mesa's software Vulkan (llvmpipe). The PNG must
//! show the panels and the 3D view, and the demo must have trained.
//!
//! `.ci/run` installs Xvfb and Mesa (apt-get install xvfb
//! mesa-vulkan-drivers); elsewhere set CHICANE_SKIP_WINDOW_TESTS=1 to skip.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Xvfb(Option<Child>, String);

impl Drop for Xvfb {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A display to draw on: $DISPLAY, or a fresh Xvfb.
fn display() -> Option<Xvfb> {
    if std::env::var_os("CHICANE_SKIP_WINDOW_TESTS").is_some() {
        return None;
    }
    if let Ok(d) = std::env::var("DISPLAY")
        && !d.is_empty()
    {
        return Some(Xvfb(None, d));
    }
    let n = 90 + std::process::id() % 100;
    let name = format!(":{n}");
    let child = Command::new("Xvfb")
        .args([&name, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "no DISPLAY and no Xvfb ({e}): install it (apt-get install xvfb \
                 mesa-vulkan-drivers) or set CHICANE_SKIP_WINDOW_TESTS=1"
            )
        });
    let sock = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Xvfb(Some(child), name))
}

fn mean_std(px: &[[u8; 3]]) -> (f64, f64) {
    let v: Vec<f64> = px
        .iter()
        .map(|p| (f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2])) / 3.0)
        .collect();
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let s = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64).sqrt();
    (m, s)
}

fn region(img: &image::RgbImage, x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<[u8; 3]> {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let mut out = Vec::new();
    for y in (y0 * h) as u32..(y1 * h) as u32 {
        for x in (x0 * w) as u32..(x1 * w) as u32 {
            out.push(img.get_pixel(x, y).0);
        }
    }
    out
}

#[test]
fn the_demo_window_draws_the_3d_view_and_the_panels() {
    let Some(x) = display() else {
        eprintln!("CHICANE_SKIP_WINDOW_TESTS set: window test skipped");
        return;
    };
    let dir = std::env::temp_dir().join(format!("chicane-gui-window-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("demo.png");
    let report = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_chicane-gui"))
        .args(["--demo", "--workdir"])
        .arg(&dir)
        .arg("--screenshot")
        .arg(&png)
        .args(["--exit-after-secs", "25", "--report"])
        .arg(&report)
        .env("DISPLAY", &x.1)
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chicane-gui failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let img = image::open(&png)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", png.display()))
        .to_rgb8();
    assert_eq!((img.width(), img.height()), (1280, 720));
    check_screenshot(&img, &png);
    // the demo trained while the window drew
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(r["frames"].as_u64().unwrap() >= 10, "{r}");
    assert!(r["env_steps"].as_u64().unwrap() > 100, "{r}");
    assert!(r["episodes"].as_u64().unwrap() >= 2, "{r}");
    assert!(dir.join("runs/demo/metrics.jsonl").is_file());
}

fn check_screenshot(img: &image::RgbImage, png: &Path) {
    // not blank
    let all = region(img, 0.0, 0.0, 1.0, 1.0);
    let (_, s) = mean_std(&all);
    assert!(s > 20.0, "{}: nearly uniform (std {s:.1})", png.display());
    // the 3D view (centre of the window): sky, grass, road: varied colour,
    // and some green of the ground
    let view = region(img, 0.36, 0.15, 0.76, 0.62);
    let (_, vs) = mean_std(&view);
    assert!(
        vs > 10.0,
        "{}: the 3D view is flat (std {vs:.1})",
        png.display()
    );
    let green = view
        .iter()
        .filter(|p| i32::from(p[1]) > i32::from(p[0]) + 15 && i32::from(p[1]) > i32::from(p[2]) + 5)
        .count();
    assert!(
        green * 50 > view.len(),
        "{}: no ground in the 3D view ({green} green px)",
        png.display()
    );
    // egui's dark panels on the left and at the bottom, with text on them
    for (name, r) in [
        ("left panel", region(img, 0.0, 0.1, 0.25, 0.6)),
        ("charts", region(img, 0.35, 0.8, 0.95, 0.95)),
    ] {
        let (m, s) = mean_std(&r);
        assert!(
            m < 90.0,
            "{}: the {name} is not drawn (mean {m:.0})",
            png.display()
        );
        assert!(
            s > 5.0,
            "{}: the {name} is empty (std {s:.1})",
            png.display()
        );
    }
}
