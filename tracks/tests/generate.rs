//! Procedural tracks: valid, drivable, deterministic.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_core::{Vec2, segments_intersect};
use chicane_tracks::{GenerateParams, Track, TrackError, parse_toml, to_toml};

/// Whether a closed polyline crosses itself (neighbouring segments excluded).
fn self_intersects(p: &[Vec2]) -> bool {
    let n = p.len();
    (0..n).any(|i| {
        ((i + 2)..n).any(|j| {
            !(i == 0 && j == n - 1)
                && segments_intersect(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n])
        })
    })
}

/// Whether two closed polylines touch.
fn polylines_touch(a: &[Vec2], b: &[Vec2]) -> bool {
    let (n, m) = (a.len(), b.len());
    (0..n).any(|i| (0..m).any(|j| segments_intersect(a[i], a[(i + 1) % n], b[j], b[(j + 1) % m])))
}

#[test]
fn a_thousand_seeds_give_valid_drivable_tracks() {
    let params = GenerateParams::default();
    for seed in 0..1000u64 {
        let t = Track::generate(seed, &params).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(t.is_closed());
        assert!(
            (t.length() - params.length).abs() / params.length < 0.01,
            "seed {seed}: {} m",
            t.length()
        );
        assert!(
            t.min_radius() >= 0.5,
            "seed {seed}: min radius {}",
            t.min_radius()
        );
        let (wmin, wmax) = t.width_range();
        assert!((wmin - params.width).abs() < 1e-12 && (wmax - params.width).abs() < 1e-12);
        assert!(
            !self_intersects(t.waypoints()),
            "seed {seed}: centerline crosses itself"
        );
        // the road edges neither cross themselves nor each other
        let (left, right) = (t.left_border(), t.right_border());
        assert!(
            !self_intersects(&left),
            "seed {seed}: left border crosses itself"
        );
        assert!(
            !self_intersects(&right),
            "seed {seed}: right border crosses itself"
        );
        assert!(
            !polylines_touch(&left, &right),
            "seed {seed}: borders touch"
        );
    }
}

#[test]
fn same_seed_same_track_bit_for_bit() {
    let params = GenerateParams::default();
    for seed in [0u64, 7, 123_456_789, u64::MAX] {
        let a = Track::generate(seed, &params).unwrap();
        let b = Track::generate(seed, &params).unwrap();
        assert_eq!(a.waypoints(), b.waypoints());
        assert_eq!(a.start(), b.start());
        assert_eq!(to_toml(&a), to_toml(&b));
    }
    let a = Track::generate(1, &params).unwrap();
    let b = Track::generate(2, &params).unwrap();
    assert_ne!(a.waypoints(), b.waypoints());
}

#[test]
fn generated_tracks_survive_the_file_format() {
    let t = Track::generate(42, &GenerateParams::default()).unwrap();
    let again = parse_toml(&to_toml(&t), "generated.toml").unwrap();
    assert_eq!(again.waypoints(), t.waypoints());
    assert_eq!(again.start(), t.start());
}

#[test]
fn other_limits_are_honoured() {
    let params = GenerateParams {
        length: 40.0,
        width: 1.066,
        min_radius: 0.8,
        ..Default::default()
    };
    for seed in 0..50 {
        let t = Track::generate(seed, &params).unwrap();
        assert!(t.min_radius() >= 0.8, "seed {seed}: {}", t.min_radius());
        assert!((t.length() - 40.0).abs() < 0.4);
    }
}

#[test]
fn impossible_limits_are_errors() {
    let bad = GenerateParams {
        width: 1.5,
        min_radius: 0.6,
        ..Default::default()
    };
    let msg = Track::generate(0, &bad).unwrap_err().to_string();
    assert!(
        msg.contains("min_radius") && msg.contains("half the width"),
        "{msg}"
    );
    let bad = GenerateParams {
        length: 2.0,
        ..Default::default()
    };
    assert!(
        Track::generate(0, &bad)
            .unwrap_err()
            .to_string()
            .contains("too short")
    );
    let bad = GenerateParams {
        roughness: f64::NAN,
        ..Default::default()
    };
    assert!(matches!(
        Track::generate(0, &bad),
        Err(TrackError::Field { .. })
    ));
    // a gap that no loop of this length can keep
    let tight = GenerateParams {
        length: 8.0,
        width: 0.76,
        min_radius: 1.2,
        min_gap: 3.0,
        ..Default::default()
    };
    assert!(matches!(
        Track::generate(3, &tight),
        Err(TrackError::Generate { .. })
    ));
}
