//! Every DeepRacer track in the shared data imports, with the lengths
//! DeepRacer reports, and behaves like DeepRacer's track data.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_core::Vec2;
use chicane_tracks::{Direction, Track, load_file, parse_npy, parse_toml, to_npy, to_toml};
use common::{deepracer_track_files, shared_data};

fn deepracer(name: &str) -> Track {
    load_file(
        &shared_data()
            .join("deepracer/tracks")
            .join(format!("{name}.npy")),
    )
    .expect("imports")
}

#[test]
fn every_shared_track_imports() {
    let files = deepracer_track_files();
    assert!(
        files.len() >= 9,
        "expected the 9 shared tracks, found {}",
        files.len()
    );
    for file in files {
        let track = load_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let stem = file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(track.name(), stem);
        assert!(track.length() > 5.0, "{stem}: {}", track.length());
        let (wmin, wmax) = track.width_range();
        assert!(wmin > 0.5 && wmax < 1.3, "{stem}: width {wmin}..{wmax}");
        assert_eq!(track.is_closed(), stem != "Straight_track", "{stem}");
    }
}

#[test]
fn lengths_match_deepracer_within_half_a_percent() {
    for (name, reported) in [
        ("reinvent_base", 17.71),
        ("reInvent2019_track", 23.12),
        ("Oval_track", 19.55),
        ("Vegas_track", 22.55),
    ] {
        let len = deepracer(name).length();
        let rel = (len - reported).abs() / reported;
        assert!(
            rel < 0.005,
            "{name}: {len:.3} m vs DeepRacer's {reported} m ({:.2}%)",
            rel * 100.0
        );
    }
}

#[test]
fn repeated_rows_are_dropped() {
    // Oval_track repeats one row mid-file besides closing the loop: 102 rows, 100 distinct points.
    let oval = deepracer("Oval_track");
    assert_eq!(oval.num_waypoints(), 100);
    let base = deepracer("reinvent_base");
    assert_eq!(base.num_waypoints(), 118);
}

#[test]
fn clockwise_and_counter_clockwise_files_both_load() {
    let ccw = deepracer("reInvent2019_track_ccw");
    let cw = deepracer("reInvent2019_track_cw");
    assert!((ccw.length() - cw.length()).abs() < 1e-6);
    // the inner border is on the left of a counter-clockwise loop, on the right of a clockwise one
    let area = |t: &Track| {
        let p = t.waypoints();
        (0..p.len())
            .map(|i| p[i].cross(p[(i + 1) % p.len()]))
            .sum::<f64>()
            / 2.0
    };
    assert!(area(&ccw) > 0.0 && area(&cw) < 0.0);
    for t in [&ccw, &cw] {
        // 1.06 m between the border points; in the Frenet frame a little less
        // at the sharpest waypoints (by cos(turn / 2))
        let (wmin, wmax) = t.width_range();
        assert!((wmax - 1.06).abs() < 0.005 && wmin > 1.0, "{wmin}..{wmax}");
    }
}

/// DeepRacer's definition, written independently: project the point on the
/// centerline polyline (shapely `LineString.project`: the nearest point),
/// then bisect the waypoints' distances (`TrackData.find_prev_next`).
/// Returns `None` in the wedge outside a corner, where the nearest point is
/// the vertex itself and shapely's answer depends on rounding.
fn deepracer_closest_waypoints(wp: &[Vec2], p: Vec2) -> Option<[usize; 2]> {
    let n = wp.len();
    let mut cum = vec![0.0];
    for i in 0..n {
        cum.push(cum[i] + wp[i].distance(wp[(i + 1) % n]));
    }
    let (mut best, mut best_s, mut at_vertex) = (f64::INFINITY, 0.0, false);
    for i in 0..n {
        let (a, b) = (wp[i], wp[(i + 1) % n]);
        let e = b - a;
        let t = ((p - a).dot(e) / e.length_squared()).clamp(0.0, 1.0);
        let dist = p.distance(a + e * t);
        if dist < best {
            (best, best_s, at_vertex) = (dist, cum[i] + t * e.length(), t == 0.0 || t == 1.0);
        }
    }
    if at_vertex {
        return None;
    }
    let prev = cum[..n].partition_point(|&c| c <= best_s) - 1;
    Some([prev, (prev + 1) % n])
}

#[test]
fn closest_waypoints_follow_deepracer_projection() {
    let track = deepracer("reinvent_base");
    let wp = track.waypoints();
    // Hand-checked: points 90% of the way from waypoint i to i+1 on the
    // centerline. The Euclidean nearest waypoint is i+1, but DeepRacer
    // bisects the projected distance, so the answer is [i, i+1].
    for i in [0usize, 10, 37, 64, 100, 116] {
        let j = (i + 1) % wp.len();
        let f = track.to_frenet(wp[i].lerp(wp[j], 0.9));
        assert_eq!(track.closest_waypoints(f.s), [i, j], "point {i}+0.9");
        // and 0.2 m to either side, on a straight stretch
        let side = (wp[j] - wp[i]).normalized().perp();
        let mid = wp[i].lerp(wp[j], 0.5);
        for offset in [-0.2, 0.2] {
            let p = mid + side * offset;
            let f = track.to_frenet(p);
            assert_eq!(
                track.closest_waypoints(f.s),
                [i, j],
                "point {i}+0.5, offset {offset}"
            );
            assert_eq!(
                track.is_left_of_center(p),
                offset > 0.0,
                "point {i}, offset {offset}"
            );
            assert!(
                (f.d.abs() - 0.2).abs() < 1e-9,
                "distance_from_center {}",
                f.d
            );
        }
    }
    // the last waypoint's next is waypoint 0 on a loop
    let last = wp.len() - 1;
    let f = track.to_frenet(wp[last].lerp(wp[0], 0.5));
    assert_eq!(track.closest_waypoints(f.s), [last, 0]);

    // A grid of points over the whole road agrees with the independent
    // implementation of DeepRacer's definition.
    let (lo, hi) = track.bounds();
    let (mut checked, mut skipped) = (0, 0);
    for gy in 0..120 {
        for gx in 0..160 {
            let p = Vec2::new(
                lo.x + (hi.x - lo.x) * (gx as f64 + 0.5) / 160.0,
                lo.y + (hi.y - lo.y) * (gy as f64 + 0.5) / 120.0,
            );
            let f = track.to_frenet(p);
            if f.d > track.left_width_at(f.s) || -f.d > track.right_width_at(f.s) {
                continue;
            }
            match deepracer_closest_waypoints(wp, p) {
                Some(expected) => {
                    assert_eq!(track.closest_waypoints(f.s), expected, "point {p:?}");
                    checked += 1;
                }
                None => skipped += 1,
            }
        }
    }
    assert!(
        checked > 3000 && skipped < checked / 10,
        "checked {checked}, skipped {skipped}"
    );
}

#[test]
fn progress_is_monotonic_both_ways_and_wraps_at_the_start() {
    for name in ["reinvent_base", "reInvent2019_track_cw", "Vegas_track"] {
        let track = deepracer(name);
        let len = track.length();
        let start = 0.37 * len;
        for dir in [Direction::Forward, Direction::Reverse] {
            let steps = 2000;
            let mut prev = -1.0;
            let mut wraps = 0;
            for k in 0..=steps {
                // drive one lap plus a bit along the centerline, 10 cm left of it
                let travelled = len * 1.05 * k as f64 / steps as f64;
                let s = start + dir.sign() * travelled;
                let p = track.to_world(s, 0.1);
                let f = track.to_frenet(p);
                let progress = track.progress(f.s, start, dir);
                assert!((0.0..1.0).contains(&progress), "{name} {dir:?}: {progress}");
                if progress < prev {
                    wraps += 1;
                    assert!(
                        prev > 0.99 && progress < 0.01,
                        "{name} {dir:?}: dropped {prev} -> {progress}"
                    );
                } else {
                    let expected = (travelled / len).fract();
                    assert!(
                        (progress - expected).abs() < 1e-9,
                        "{name} {dir:?}: {progress} vs {expected}"
                    );
                }
                prev = progress;
            }
            assert_eq!(
                wraps, 1,
                "{name} {dir:?}: progress must wrap exactly once per lap"
            );
        }
    }
}

#[test]
fn open_track_progress_runs_from_start_to_end() {
    let track = deepracer("Straight_track");
    assert!(!track.is_closed());
    let len = track.length();
    assert!((track.progress(len, 0.0, Direction::Forward) - 1.0).abs() < 1e-12);
    assert!((track.progress(len / 2.0, 0.0, Direction::Forward) - 0.5).abs() < 1e-12);
    assert_eq!(track.progress(-1.0, 0.0, Direction::Forward), 0.0);
    assert!((track.progress(0.0, len, Direction::Reverse) - 1.0).abs() < 1e-12);
    let last = track.num_waypoints() - 1;
    assert_eq!(track.closest_waypoints(len), [last - 1, last]);
}

#[test]
fn npy_and_toml_round_trip() {
    for file in deepracer_track_files() {
        let track = load_file(&file).unwrap();
        let again = parse_toml(&to_toml(&track), "round trip").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.waypoints(), track.waypoints(), "{}", file.display());
        assert_eq!(again.length(), track.length());
        for i in 0..track.num_waypoints() {
            assert_eq!(again.waypoint_left_width(i), track.waypoint_left_width(i));
            assert_eq!(again.waypoint_right_width(i), track.waypoint_right_width(i));
        }
        assert_eq!(again.is_closed(), track.is_closed());
        let via_npy = parse_npy(&to_npy(&track), "npy round trip", track.name()).unwrap();
        assert_eq!(via_npy.waypoints(), track.waypoints());
        for i in 0..track.num_waypoints() {
            let (a, b) = (via_npy.waypoint_left_width(i), track.waypoint_left_width(i));
            assert!(
                (a - b).abs() < 1e-9,
                "{} waypoint {i}: {a} vs {b}",
                track.name()
            );
        }
    }
}

#[test]
fn geometry_queries_are_sensible_on_reinvent_base() {
    let track = deepracer("reinvent_base");
    let (lo, hi) = track.bounds();
    assert!(hi.x - lo.x > 7.0 && hi.y - lo.y > 4.0);
    // heading of the first segment matches its waypoints
    let wp = track.waypoints();
    let h = (wp[1] - wp[0]).angle();
    assert!((track.heading_at(0.01) - h).abs() < 1e-12);
    // a closed loop turns through 2*pi in total: integrate the curvature
    let n = 20_000;
    let ds = track.length() / n as f64;
    let total: f64 = (0..n)
        .map(|k| track.curvature_at((k as f64 + 0.5) * ds) * ds)
        .sum();
    assert!(
        (total.abs() - std::f64::consts::TAU).abs() < 0.05,
        "total turn {total}"
    );
    assert!(
        track.min_radius() > 0.2 && track.min_radius() < 2.0,
        "{}",
        track.min_radius()
    );
    let w = track.width_at(5.0);
    assert!((w - 0.76).abs() < 0.01, "{w}");
    let _ = Vec2::ZERO;
}
