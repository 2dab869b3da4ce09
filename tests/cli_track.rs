//! End-to-end tests of `chicane track ...`, run the way a user runs them.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
mod support;
use support::{chicane, fails_at_once as fails, ok, shared_track, temp_dir};

/// Runs a command that must fail: exit status 2, an `error:` line, no panic.

#[test]
fn list_shows_the_builtins() {
    let text = ok(&["track", "list"]);
    for name in ["easy-oval", "technical-loop", "flow-circuit", "speedway"] {
        assert!(text.contains(name), "{text}");
    }
    let json: Value = serde_json::from_str(&ok(&["track", "list", "--json"])).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries {
        assert!(e["length_m"].as_f64().unwrap() > 15.0);
        assert!(e["width_m"].as_f64().unwrap() > 0.7);
    }
}

#[test]
fn show_a_builtin_and_a_deepracer_file() {
    let text = ok(&["track", "show", "technical-loop"]);
    assert!(text.contains("length") && text.contains("22.5"), "{text}");
    let default = ok(&["track", "show"]);
    assert_eq!(text, default, "the default track is the technical loop");
    let npy = shared_track("reinvent_base");
    let json: Value =
        serde_json::from_str(&ok(&["track", "show", npy.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["name"], "reinvent_base");
    assert!((json["length_m"].as_f64().unwrap() - 17.71).abs() < 0.05);
    assert_eq!(json["closed"], true);
    assert_eq!(json["waypoints"], 118);
}

#[test]
fn import_then_use_the_toml() {
    let dir = temp_dir("import");
    let out = dir.join("vegas.toml");
    let npy = shared_track("Vegas_track");
    let text = ok(&[
        "track",
        "import",
        npy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--name",
        "vegas",
    ]);
    assert!(text.contains("22.5"), "{text}");
    let json: Value =
        serde_json::from_str(&ok(&["track", "show", out.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["name"], "vegas");
    let direct: Value =
        serde_json::from_str(&ok(&["track", "show", npy.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["length_m"], direct["length_m"]);
    assert_eq!(json["waypoints"], direct["waypoints"]);
}

/// Fraction of pixels close to a colour.
fn share_of(img: &image::RgbImage, rgb: [u8; 3]) -> f64 {
    let near = img
        .pixels()
        .filter(|p| {
            p.0.iter()
                .zip(rgb)
                .all(|(&a, b)| (a as i32 - b as i32).abs() <= 6)
        })
        .count();
    near as f64 / (img.width() * img.height()) as f64
}

#[test]
fn render_draws_road_lines_and_ground() {
    let dir = temp_dir("render");
    for (track, file) in [
        ("technical-loop".to_string(), "tech.png"),
        (
            shared_track("reinvent_base").to_str().unwrap().to_string(),
            "reinvent.png",
        ),
    ] {
        let out = dir.join(file);
        ok(&[
            "track",
            "render",
            &track,
            "--out",
            out.to_str().unwrap(),
            "--waypoints",
        ]);
        let img = image::open(&out).unwrap().to_rgb8();
        assert!(
            img.width() > 500 && img.height() > 300,
            "{}x{}",
            img.width(),
            img.height()
        );
        let road = share_of(&img, [0x2a, 0x2a, 0x2a]);
        let ground = share_of(&img, [0x3b, 0x6e, 0x3b]);
        let white = share_of(&img, [0xf5, 0xf5, 0xf5]);
        let yellow = share_of(&img, [0xf0, 0xb4, 0x00]);
        let red = share_of(&img, [0xe0, 0x30, 0x30]);
        assert!(
            road > 0.15 && ground > 0.3,
            "{file}: road {road:.3}, ground {ground:.3}"
        );
        assert!(
            white > 0.005 && yellow > 0.0005 && red > 0.0002,
            "{file}: white {white}, yellow {yellow}, red {red}"
        );
    }
}

#[test]
fn generate_writes_a_loadable_track() {
    let dir = temp_dir("generate");
    let out = dir.join("g.toml");
    let png = dir.join("g.png");
    ok(&[
        "track",
        "generate",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
    ]);
    let first = std::fs::read_to_string(&out).unwrap();
    ok(&[
        "track",
        "generate",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        first,
        std::fs::read_to_string(&out).unwrap(),
        "same seed, same file"
    );
    let json: Value =
        serde_json::from_str(&ok(&["track", "show", out.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(json["name"], "generated-5");
    assert!(json["min_radius_m"].as_f64().unwrap() >= 0.5);
    assert!(image::open(&png).is_ok());
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    let dir = temp_dir("errors");
    let msg = fails(&["track", "show", "nonexistent-track"]);
    assert!(msg.contains("built-in tracks are"), "{msg}");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "name = \"b\"\nwidth = 0.5\ncenterline = [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]]\n")
        .unwrap();
    let msg = fails(&["track", "show", bad.to_str().unwrap()]);
    assert!(
        msg.contains("bad.toml") && msg.contains("crosses itself"),
        "{msg}"
    );
    let garbage = dir.join("garbage.npy");
    std::fs::write(&garbage, b"\x93NUMPY garbage").unwrap();
    let msg = fails(&[
        "track",
        "render",
        garbage.to_str().unwrap(),
        "--out",
        dir.join("x.png").to_str().unwrap(),
    ]);
    assert!(msg.contains("garbage.npy"), "{msg}");
    let msg = fails(&[
        "track",
        "render",
        "easy-oval",
        "--out",
        "/no/such/folder/x.png",
    ]);
    assert!(msg.contains("/no/such/folder/x.png"), "{msg}");
    let msg = fails(&[
        "track",
        "import",
        shared_track("Oval_track").to_str().unwrap(),
        "--out",
        "/no/such/dir/o.toml",
    ]);
    assert!(msg.contains("does not exist"), "{msg}");
    let msg = fails(&[
        "track",
        "render",
        "easy-oval",
        "--out",
        dir.join("y.png").to_str().unwrap(),
        "--scale=-3",
    ]);
    assert!(msg.contains("--scale"), "{msg}");
    let msg = fails(&[
        "track",
        "generate",
        "--seed",
        "1",
        "--width",
        "3",
        "--out",
        dir.join("g.toml").to_str().unwrap(),
    ]);
    assert!(msg.contains("min_radius"), "{msg}");
    // clap's own usage errors also exit 2
    let out = chicane(&["track", "render"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn raceline_writes_what_reward_functions_and_notebooks_use() {
    let dir = temp_dir("raceline");
    let npy = shared_track("reinvent_base");
    let (py, np, js, png) = (
        dir.join("line.py"),
        dir.join("line.npy"),
        dir.join("line.json"),
        dir.join("line.png"),
    );
    let summary: Value = serde_json::from_str(&ok(&[
        "track",
        "raceline",
        npy.to_str().unwrap(),
        "--out",
        py.to_str().unwrap(),
        "--out",
        np.to_str().unwrap(),
        "--out",
        js.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    let lap = summary["lap_time_s"].as_f64().unwrap();
    assert!(lap > 4.4 && lap < 8.5, "{summary}");
    assert!(summary["length_m"].as_f64().unwrap() < summary["centerline_m"].as_f64().unwrap());
    // the .py is the list DeepRacer reward functions paste in
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import runpy; m = runpy.run_path({:?}); l = m['racing_line']; \
                 assert all(len(p) == 2 for p in l); print(len(l), len(m['racing_speed']))",
                py.to_str().unwrap()
            ),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts = String::from_utf8(out.stdout).unwrap();
    let n = summary["points"].as_u64().unwrap();
    assert_eq!(counts.trim(), format!("{n} {n}"));
    // the .npy keeps DeepRacer's rows and loads as a track (the line as its centre)
    let shown: Value =
        serde_json::from_str(&ok(&["track", "show", np.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(shown["closed"], true);
    assert!(
        (shown["length_m"].as_f64().unwrap() - summary["length_m"].as_f64().unwrap()).abs() < 0.05,
        "{shown}"
    );
    let j: Value = serde_json::from_str(&std::fs::read_to_string(&js).unwrap()).unwrap();
    for key in ["points", "speed", "curvature", "offset", "lap_time"] {
        assert!(!j[key].is_null(), "{key}");
    }
    let img = image::open(&png).unwrap();
    assert!(img.width() > 100 && img.height() > 100);
    // too wide a margin, and a file type nobody reads
    let e = fails(&["track", "raceline", "technical-loop", "--margin", "0.4"]);
    assert!(
        e.contains("leaves no room at s = ") && e.contains("give a margin below"),
        "{e}"
    );
    let e = fails(&[
        "track",
        "raceline",
        "technical-loop",
        "--out",
        dir.join("line.txt").to_str().unwrap(),
    ]);
    assert!(e.contains(".py, .npy or .json"), "{e}");
}
