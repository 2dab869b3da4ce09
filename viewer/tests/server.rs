//! The viewer's HTTP side on a bare `Viewer` (no training): the MJPEG
//! stream's framing and pictures (stereo side by side), the metrics'
//! indices, the stop button for training and evaluation, 404s that say
//! what exists.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_agent::{EpisodeRecord, LapResult};
use chicane_core::{CameraConfig, Vec2};
use chicane_sim::EpisodeStatus;
use chicane_viewer::{CarMark, RunKind, RunState, Viewer, ViewerAddr, ViewerSetup};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

fn viewer(kind: RunKind, camera: CameraConfig, num_envs: usize) -> Viewer {
    let track = Arc::new(chicane_tracks::builtin("easy-oval").unwrap().unwrap());
    let setup = ViewerSetup {
        title: "bare".into(),
        kind,
        tracks: vec![track],
        camera: Some(camera),
        num_envs,
        fps: 15.0,
        top_down_px: 320,
        note: None,
    };
    Viewer::start(&"127.0.0.1:0".parse::<ViewerAddr>().unwrap(), setup).unwrap()
}

fn connect(v: &Viewer, method: &str, path: &str) -> BufReader<TcpStream> {
    let mut s = TcpStream::connect(v.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    BufReader::new(s)
}

/// Status code, headers (lower-case names) and the body read to the end.
fn request(v: &Viewer, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut r = connect(v, method, path);
    let (code, head) = read_head(&mut r);
    let mut body = Vec::new();
    r.read_to_end(&mut body).unwrap();
    (code, head, body)
}

fn read_head(r: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head)
}

/// Reads one part of a multipart stream: its JPEG bytes.
fn read_part(r: &mut BufReader<TcpStream>) -> Vec<u8> {
    let mut len = None;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let l = line.trim().to_ascii_lowercase();
        if let Some(n) = l.strip_prefix("content-length:") {
            len = Some(n.trim().parse::<usize>().unwrap());
        }
        if l.is_empty() && len.is_some() {
            break;
        }
        if !l.is_empty() && len.is_none() {
            assert!(
                l == "--chicaneframe" || l.starts_with("content-type: image/jpeg"),
                "{l}"
            );
        }
    }
    let mut jpeg = vec![0; len.unwrap()];
    r.read_exact(&mut jpeg).unwrap();
    jpeg
}

#[test]
fn the_camera_stream_is_mjpeg_with_stereo_eyes_side_by_side() {
    let cam = CameraConfig {
        stereo: true,
        ..CameraConfig::default()
    };
    let v = viewer(RunKind::Training, cam.clone(), 2);
    let mut r = connect(&v, "GET", "/stream/camera/1");
    let (code, head) = read_head(&mut r);
    assert_eq!(code, 200);
    assert!(
        head.contains("multipart/x-mixed-replace; boundary=chicaneframe"),
        "{head}"
    );
    // env 1's left eye black, right eye white
    let n = cam.frame_len();
    let plane = (cam.width * cam.height) as usize;
    let mut batch = vec![0u8; 2 * n];
    batch[n + plane..2 * n].fill(255);
    let car = CarMark {
        track: 0,
        position: Vec2::new(0.0, 0.0),
        yaw: 0.0,
    };
    // publish until the stream thread (which started waiting) sends one
    let jpeg = std::thread::scope(|s| {
        let reader = s.spawn(move || read_part(&mut r));
        while !reader.is_finished() {
            v.publish_frame(&batch, &[car, car]);
            std::thread::sleep(Duration::from_millis(50));
        }
        reader.join().unwrap()
    });
    let img = image::load_from_memory(&jpeg).unwrap().to_luma8();
    assert_eq!((img.width(), img.height()), (2 * cam.width, cam.height));
    assert!(img.get_pixel(20, 60).0[0] < 30, "left eye is black");
    assert!(
        img.get_pixel(cam.width + 20, 60).0[0] > 225,
        "right eye is white"
    );
    assert!(v.status().stream_clients <= 1);

    // the top-down view, and 404s that say what exists
    let (code, head, body) = request(&v, "GET", "/frame/top_down/0.jpg");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert!(head.contains("image/jpeg"));
    let td = image::load_from_memory(&body).unwrap();
    assert!(td.width() <= 320 && td.height() <= 320);
    let (code, _, body) = request(&v, "GET", "/stream/camera/2");
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("the run has 2"));
    let (code, _, body) = request(&v, "GET", "/stream/top_down/1");
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("the run has 1"));
    let (code, _, body) = request(&v, "GET", "/nothing");
    assert_eq!(code, 404);
    assert!(String::from_utf8_lossy(&body).contains("/status"));
}

fn episode(i: u64, lap: Option<f64>) -> EpisodeRecord {
    EpisodeRecord {
        episode: i,
        iteration: 0,
        steps: 10,
        reward: i as f64,
        progress: 10.0,
        status: if lap.is_some() {
            EpisodeStatus::LapComplete
        } else {
            EpisodeStatus::OffTrack
        },
        lap_time: lap,
        elapsed_s: 1.0,
        track: "easy-oval".into(),
    }
}

#[test]
fn metrics_come_from_the_indices_asked_and_stop_stops_training_only() {
    let v = viewer(RunKind::Training, CameraConfig::default(), 1);
    for i in 0..5 {
        v.episode(&episode(i, (i == 3).then_some(12.5)));
    }
    let (code, head, body) = request(&v, "GET", "/metrics?episodes_from=3");
    assert_eq!(code, 200);
    assert!(head.contains("application/json"));
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let eps = m["episodes"].as_array().unwrap();
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0]["episode"], 3);
    assert_eq!(eps[0]["lap_time"], 12.5);
    let (_, _, body) = request(&v, "GET", "/metrics?episodes_from=99");
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(m["episodes"].as_array().unwrap().len(), 0);
    let s = v.status();
    assert_eq!((s.episodes, s.best_lap_s), (5, Some(12.5)));

    assert!(!v.stop_requested());
    assert_eq!(request(&v, "GET", "/stop").0, 405);
    assert!(!v.stop_requested());
    let (code, _, body) = request(&v, "POST", "/stop");
    assert_eq!(code, 202, "{}", String::from_utf8_lossy(&body));
    assert!(v.stop_requested());
    assert_eq!(v.status().state, RunState::Stopping);
    v.finish("interrupted");
    assert_eq!(v.status().state, RunState::Finished);
    assert_eq!(v.status().stop_reason.as_deref(), Some("interrupted"));

    let e = viewer(RunKind::Evaluation, CameraConfig::default(), 1);
    let (code, _, body) = request(&e, "POST", "/stop");
    assert_eq!(code, 409);
    assert!(String::from_utf8_lossy(&body).contains("runs its laps to the end"));
    assert!(!e.stop_requested());
    e.lap(&LapResult {
        trial: 1,
        lap_time_s: Some(20.0),
        progress: 100.0,
        off_track_count: 0,
        crash_count: 0,
        reversed_count: 0,
        immobilized_count: 0,
        episode_status: EpisodeStatus::LapComplete,
        steps: 300,
    });
    let (_, _, body) = request(&e, "GET", "/metrics");
    let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(m["laps"][0]["lap_time_s"], 20.0);
    assert_eq!(e.status().laps, 1);
}

#[test]
fn the_page_and_its_scripts_are_served_from_the_process() {
    let v = viewer(RunKind::Training, CameraConfig::default(), 1);
    let (code, head, body) = request(&v, "GET", "/");
    assert_eq!(code, 200);
    assert!(head.contains("text/html"));
    let page = String::from_utf8(body).unwrap();
    // nothing from the internet: every script and style from this server
    for src in ["/uPlot.iife.min.js", "/viewer.js", "/uPlot.min.css"] {
        assert!(page.contains(&format!("\"{src}\"")), "{src}");
        let (code, _, body) = request(&v, "GET", src);
        assert_eq!(code, 200, "{src}");
        assert!(body.len() > 1000, "{src}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"));
}
