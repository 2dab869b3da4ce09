//! `chicane evaluate --conditions FILE`: one trained model across tracks,
//! directions and randomisation draws, as a table and a picture.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;

mod support;
use support::{fails, fixture, ok, shared_track, temp_dir};

#[test]
fn a_grid_of_conditions_is_evaluated_and_written() {
    let dir = temp_dir("grid");
    let fx = fixture();
    let cfg = dir.join("held_out.toml");
    std::fs::write(
        &cfg,
        format!(
            "tracks = [{:?}, \"random:seed=3\"]\ndirections = [\"forward\", \"reverse\"]\n\
             draws = 2\nlaps = 1\n\n[physics_randomization]\nenabled = true\n\
             action_noise = 0.05\nsteering_offset_deg = 1.0\n",
            shared_track("reinvent_base").to_str().unwrap()
        ),
    )
    .unwrap();
    let out = ok(&[
        "evaluate",
        fx.to_str().unwrap(),
        "--conditions",
        cfg.to_str().unwrap(),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let cells = v["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "{v}");
    let names: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| {
            (
                c["track"].as_str().unwrap(),
                c["direction"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("reinvent_base", "forward"),
            ("reinvent_base", "reverse"),
            ("random-3", "forward"),
            ("random-3", "reverse")
        ]
    );
    for c in cells {
        assert_eq!(c["laps"], 2, "{c}");
        let (clean, done) = (
            c["clean"].as_u64().unwrap(),
            c["completed"].as_u64().unwrap(),
        );
        assert!(clean <= done && done <= 2, "{c}");
        let p = c["mean_progress"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&p), "{c}");
    }
    // the fixture laps its own track forwards
    assert!(cells[0]["completed"].as_u64().unwrap() >= 1, "{}", cells[0]);
    // every cell has its racing-line reference; a completed cell its ratio
    // (the 0.6 m/s fixture is several times slower than the line)
    for c in cells {
        let r = c["reference_lap_s"].as_f64().unwrap();
        assert!(r > 3.0 && r < 30.0, "{c}");
        if let Some(mean) = c["mean_lap_s"].as_f64() {
            let ratio = c["lap_ratio"].as_f64().unwrap();
            assert!((ratio - mean / r).abs() < 1e-9 && ratio > 1.0, "{c}");
        } else {
            assert!(c["lap_ratio"].is_null(), "{c}");
        }
    }
    // reverse is its own line: not the forward lap's time
    assert_ne!(cells[0]["reference_lap_s"], cells[1]["reference_lap_s"]);
    let folder = std::path::PathBuf::from(v["output_dir"].as_str().unwrap());
    let csv = std::fs::read_to_string(folder.join("conditions.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.starts_with(
            "track,direction,laps,completed,clean,mean_progress,mean_lap_s,reference_lap_s,lap_ratio\n"
        ),
        "{csv}"
    );
    let img = image::open(folder.join("conditions.png"))
        .unwrap()
        .to_rgb8();
    let distinct: std::collections::BTreeSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 10, "the picture is blank");
}

#[test]
fn bad_conditions_files_are_named() {
    let dir = temp_dir("badgrid");
    let fx = fixture();
    let cfg = dir.join("bad.toml");
    for (text, want) in [
        ("tracks = []\n", "at least one track"),
        ("tracks = [\"easy-oval\"]\ndraws = 0\n", "draws"),
        ("tracks = [\"easy-oval\"]\nlap = 2\n", "lap"),
        (
            "tracks = [\"easy-oval\"]\ndirections = [\"sideways\"]\n",
            "sideways",
        ),
        ("tracks = [\"no-such-track\"]\n", "no-such-track"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let e = fails(&[
            "evaluate",
            fx.to_str().unwrap(),
            "--conditions",
            cfg.to_str().unwrap(),
        ]);
        assert!(e.contains(want), "{text}: {e}");
    }
}
