//! Frenet coordinates round-trip to 1e-6 m on every built-in and every
//! shared DeepRacer track.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_tracks::{Track, builtin_names, load, load_file};
use common::deepracer_track_files;

fn all_tracks() -> Vec<Track> {
    let mut tracks: Vec<Track> = builtin_names().map(|n| load(n).unwrap()).collect();
    tracks.extend(
        deepracer_track_files()
            .iter()
            .map(|f| load_file(f).unwrap()),
    );
    tracks
}

/// Distance between two arc lengths on the track (wrapping on a loop).
fn s_error(track: &Track, a: f64, b: f64) -> f64 {
    let e = (a - b).abs();
    if track.is_closed() {
        e.min(track.length() - e)
    } else {
        e
    }
}

#[test]
fn frenet_to_world_and_back() {
    for track in all_tracks() {
        let n = 3000;
        let mut worst: f64 = 0.0;
        for k in 0..n {
            let s = track.length() * (k as f64 + 0.37) / n as f64;
            let (wl, wr) = (track.left_width_at(s), track.right_width_at(s));
            for frac in [-0.95, -0.5, 0.0, 0.3, 0.95] {
                let d = if frac >= 0.0 { frac * wl } else { frac * wr };
                let p = track.to_world(s, d);
                let f = track.to_frenet(p);
                let err = s_error(&track, f.s, s).max((f.d - d).abs());
                worst = worst.max(err);
                // and world -> frenet -> world
                let back = track.to_world(f.s, f.d);
                worst = worst.max(back.distance(p));
            }
        }
        assert!(
            worst < 1e-6,
            "{}: worst round-trip error {worst:e} m",
            track.name()
        );
    }
}

#[test]
fn lateral_offset_is_the_distance_to_the_centerline_on_straights() {
    let track = load("easy-oval").unwrap();
    // the first straight runs along +x from (0, 0) to (5, 0)
    let f = track.to_frenet(chicane_core::Vec2::new(1.0, 0.3));
    assert!(
        (f.s - 1.0).abs() < 1e-9 && (f.d - 0.3).abs() < 1e-9,
        "{f:?}"
    );
    let f = track.to_frenet(chicane_core::Vec2::new(2.0, -0.4));
    assert!(
        (f.s - 2.0).abs() < 1e-9 && (f.d + 0.4).abs() < 1e-9,
        "{f:?}"
    );
    assert!(!track.is_left_of_center(chicane_core::Vec2::new(2.0, -0.4)));
}

#[test]
fn builtin_tracks_match_their_design() {
    let expect = [
        ("easy-oval", 19.42, 1.066),
        ("technical-loop", 22.59, 0.8),
        ("flow-circuit", 28.18, 1.066),
        ("speedway", 73.42, 1.5),
    ];
    for (name, length, width) in expect {
        let t = load(name).unwrap();
        assert!(t.is_closed(), "{name}");
        // sampled arcs are chords, slightly shorter than the true arcs
        assert!(
            (t.length() - length).abs() / length < 0.002,
            "{name}: {} m",
            t.length()
        );
        let (wmin, wmax) = t.width_range();
        assert!(
            (wmin - width).abs() < 1e-9 && (wmax - width).abs() < 1e-9,
            "{name}: {wmin}..{wmax}"
        );
        assert!(
            t.min_radius() >= 0.5 * 0.99,
            "{name}: min radius {}",
            t.min_radius()
        );
        assert!(
            t.min_radius() > width / 2.0,
            "{name}: inner border would fold"
        );
        assert!(!t.description().is_empty());
    }
    // the technical loop has a hairpin and a chicane: a turn of about 180
    // degrees within 3 m, and left and right turns within 3 m of each other
    let t = load("technical-loop").unwrap();
    let n = 4000;
    let ds = t.length() / n as f64;
    let k: Vec<f64> = (0..n).map(|i| t.curvature_at(i as f64 * ds)).collect();
    let window = (3.0 / ds) as usize;
    let max_turn = (0..n)
        .map(|i| (0..window).map(|j| k[(i + j) % n] * ds).sum::<f64>())
        .fold(0.0f64, f64::max);
    assert!(
        max_turn.to_degrees() > 170.0,
        "no hairpin: {:.0} deg",
        max_turn.to_degrees()
    );
    let esse = (0..n).any(|i| {
        let seg: Vec<f64> = (0..window).map(|j| k[(i + j) % n]).collect();
        seg.iter().any(|&x| x > 0.5) && seg.iter().any(|&x| x < -0.5)
    });
    assert!(esse, "no chicane");
}
