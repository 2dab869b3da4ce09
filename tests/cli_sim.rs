//! End-to-end tests of `chicane sim drive` and `chicane bench sim`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::Value;
mod support;
use support::{chicane, ok, shared_track, temp_dir};

#[test]
fn pure_pursuit_lap_with_record_and_trace() {
    let dir = temp_dir("drive");
    let rec = dir.join("rec");
    let trace = dir.join("trace.csv");
    let out = ok(&[
        "sim",
        "drive",
        "--track",
        "easy-oval",
        "--driver",
        "pure-pursuit",
        "--record",
        rec.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
        "--json",
    ]);
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["laps_completed"], 1);
    assert_eq!(s["final_episode_status"], "lap_complete");
    assert_eq!(s["off_track_count"], 0);
    let lap = s["lap_times_s"][0].as_f64().unwrap();
    assert!(lap > 4.0 && lap < 20.0, "lap time {lap}");
    let steps = s["steps"].as_u64().unwrap() as usize;
    // the camera frames, a GIF and the path from above
    for i in [1, steps] {
        let frame = image::open(rec.join(format!("frame_{i:05}.png")))
            .unwrap()
            .to_luma8();
        assert_eq!(frame.dimensions(), (160, 120));
    }
    assert!(std::fs::metadata(rec.join("camera.gif")).unwrap().len() > 10_000);
    let top = image::open(rec.join("top_down.png")).unwrap().to_rgb8();
    assert!(top.width() > 500);
    // DeepRacer's sim-trace: header, one row per step, the last one done
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], chicane_sim_header());
    assert_eq!(lines.len(), steps + 1);
    let last: Vec<&str> = lines[steps].split(',').collect();
    assert_eq!(last.len(), 17);
    assert_eq!(last[9], "True");
    assert_eq!(last[15], "lap_complete");
    assert_eq!(last[11].parse::<f64>().unwrap(), 100.0);
}

fn chicane_sim_header() -> &'static str {
    "episode,steps,X,Y,yaw,steer,throttle,action,reward,done,all_wheels_on_track,progress,closest_waypoint,track_len,tstamp,episode_status,pause_duration"
}

#[test]
fn drive_a_deepracer_track_and_a_random_driver() {
    let npy = shared_track("reinvent_base");
    let s: Value = serde_json::from_str(&ok(&[
        "sim",
        "drive",
        "--track",
        npy.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(s["laps_completed"], 1);
    assert_eq!(s["track"], "reinvent_base");
    let text = ok(&[
        "sim", "drive", "--driver", "random", "--seed", "3", "--steps", "200",
    ]);
    assert!(
        text.contains("200 steps") || text.contains("episode(s)"),
        "{text}"
    );
    assert!(text.contains("off track"), "{text}");
}

#[test]
fn bench_sim_reports_positive_rates() {
    let b: Value = serde_json::from_str(&ok(&["bench", "sim", "--steps", "60", "--json"])).unwrap();
    for key in [
        "render_gray_160x120_us",
        "steps_per_s_physics",
        "steps_per_s_physics_camera",
        "vec_env_steps_per_s_2_threads",
    ] {
        assert!(b[key].as_f64().unwrap() > 0.0, "{key}: {}", b[key]);
    }
}

#[test]
fn bad_drive_arguments_are_clear_errors() {
    let out = chicane(&["sim", "drive", "--track", "no-such-track"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("built-in tracks are") && !err.contains("panicked"),
        "{err}"
    );
    let out = chicane(&["sim", "drive", "--laps", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let out = chicane(&[
        "sim",
        "drive",
        "--trace",
        "/no/such/dir/t.csv",
        "--steps",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dir/t.csv"));
}

#[test]
fn the_racing_line_reference_and_the_vehicle_bench() {
    let npy = shared_track("reinvent_base");
    let s: Value = serde_json::from_str(&ok(&[
        "sim",
        "drive",
        "--track",
        npy.to_str().unwrap(),
        "--driver",
        "racing-line",
        "--json",
    ]))
    .unwrap();
    let lap = s["lap_times_s"][0].as_f64().unwrap();
    let predicted = s["predicted_lap_s"].as_f64().unwrap();
    assert!(lap <= 8.5 && (lap / predicted - 1.0).abs() <= 0.05, "{s}");
    assert_eq!(s["steps_not_all_wheels_on_track"], 0, "{s}");
    // the centre-line reference is slower
    let c: Value = serde_json::from_str(&ok(&[
        "sim",
        "drive",
        "--track",
        npy.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert!(c["lap_times_s"][0].as_f64().unwrap() > lap * 1.2, "{c}");
    let b: Value = serde_json::from_str(&ok(&["bench", "vehicle", "--json"])).unwrap();
    let (held, implied) = (
        b["max_lateral"].as_f64().unwrap(),
        b["implied"]["lateral"].as_f64().unwrap(),
    );
    assert!((held / implied - 1.0).abs() < 0.1, "{b}");
    let text = ok(&["bench", "vehicle"]);
    assert!(
        text.contains("grip limit") && text.contains("0 -> 4 m/s"),
        "{text}"
    );
}

/// `sim drive --config F --record DIR` shows what the run file's camera
/// sees: colour frames for an RGB camera, the scenery and the camera
/// realism of `[sim.scenery]` and `[sim.camera_realism]`.
#[test]
fn recorded_frames_show_the_run_files_camera() {
    let dir = temp_dir("drive_scenery");
    let record = |name: &str, toml: &str| {
        std::fs::write(dir.join(format!("{name}.toml")), toml).unwrap();
        let rec = dir.join(name);
        ok(&[
            "sim",
            "drive",
            "--track",
            "technical-loop",
            "--steps",
            "10",
            "--config",
            dir.join(format!("{name}.toml")).to_str().unwrap(),
            "--record",
            rec.to_str().unwrap(),
        ]);
        let img = image::open(rec.join("frame_00005.png")).unwrap();
        assert_eq!((img.width(), img.height()), (160, 120));
        img
    };
    let plain = record("plain", "[sim.camera]\nrgb = true\n");
    assert_eq!(plain.color(), image::ColorType::Rgb8);
    let plain = plain.to_rgb8();
    // colour, not one channel: the sky is bluer than it is red
    let sky = plain.get_pixel(80, 2).0;
    assert!(i32::from(sky[2]) > i32::from(sky[0]) + 20, "sky {sky:?}");
    let walls = record(
        "walls",
        "[sim.camera]\nrgb = true\n[sim.scenery]\nwall_height = 1.0\nwall_color = [200, 30, 30]\n\
         tape_strips = 100\n[sim.camera_realism]\nvignetting = 0.5\n",
    )
    .to_rgb8();
    // the red barrier stands where the sky was
    let red = walls
        .pixels()
        .zip(plain.pixels())
        .filter(|(w, p)| i32::from(w.0[0]) > i32::from(w.0[2]) + 40 && p.0[2] > p.0[0])
        .count();
    assert!(red > 300, "{red} pixels of red wall");
    // vignetting darkens the corner
    let (c, p) = (walls.get_pixel(1, 118).0, plain.get_pixel(1, 118).0);
    assert!(c[1] < p[1], "corner {c:?} vs {p:?}");
    // a grey camera still records grey frames
    let grey = record("grey", "[sim.scenery]\nshadows = 10\n");
    assert_eq!(grey.color(), image::ColorType::L8);
}
