//! The racing line stays inside the borders less its margin on every
//! shared DeepRacer track and 200 procedural ones, in both directions; its
//! speed profile never exceeds the limits it was given; bad input is a
//! clear error.
#![allow(clippy::unwrap_used)]

mod common;
use chicane_core::Vec2;
use chicane_tracks::{
    Direction, GenerateParams, RacelineOptions, RacingLine, SpeedLimits, Track, load, racing_line,
    speed_profile,
};

/// The limits of chicane's default car, about (`chicane bench vehicle`).
const LIMITS: SpeedLimits = SpeedLimits {
    lateral: 4.5,
    accel: 4.8,
    accel_fade: 8.0,
    brake: 6.9,
    top_speed: 4.0,
};

fn line(track: &Track, margin: f64, direction: Direction) -> RacingLine {
    let mut o = RacelineOptions::new(LIMITS);
    o.margin = margin;
    o.direction = Some(direction);
    racing_line(track, &o).unwrap_or_else(|e| panic!("{}: {e}", track.name()))
}

/// Distance (m) from `p` to a polyline.
fn to_polyline(p: Vec2, poly: &[Vec2], closed: bool) -> f64 {
    let n = poly.len();
    let segs = if closed { n } else { n - 1 };
    (0..segs)
        .map(|k| {
            let (a, b) = (poly[k], poly[(k + 1) % n]);
            let e = b - a;
            let t = ((p - a).dot(e) / e.length_squared().max(1e-18)).clamp(0.0, 1.0);
            p.distance(a + e * t)
        })
        .fold(f64::INFINITY, f64::min)
}

/// Every point at least `margin` from both border polylines (5 mm of
/// slack: the borders are straight between waypoints) and on the road
/// (nearer the centre line than the widest half-width); the profile within
/// the limits.
fn check(track: &Track, l: &RacingLine, margin: f64) {
    let name = track.name();
    assert!(
        l.points.len() > 8 && l.speed.len() == l.points.len(),
        "{name}"
    );
    let closed = track.is_closed();
    let (left, right) = (track.left_border(), track.right_border());
    let half = track.width_range().1 / 2.0;
    for (p, s) in l.points.iter().zip(&l.track_s) {
        let q = Vec2::from(*p);
        let (dl, dr) = (
            to_polyline(q, &left, closed),
            to_polyline(q, &right, closed),
        );
        assert!(
            dl >= margin - 5e-3 && dr >= margin - 5e-3,
            "{name}: point {p:?} (s {s:.2}) is {dl:.3} m from the left and {dr:.3} m from the right border (margin {margin})"
        );
        let dc = to_polyline(q, track.waypoints(), closed);
        assert!(
            dc <= half,
            "{name}: point {p:?} is off the road ({dc:.3} m from the centre line)"
        );
    }
    let n = l.points.len();
    for i in 0..n {
        let v = l.speed[i];
        assert!(
            (0.0..=LIMITS.top_speed + 1e-9).contains(&v),
            "{name}: v {v}"
        );
        assert!(
            v * v * l.curvature[i].abs() <= LIMITS.lateral * (1.0 + 1e-6) + 1e-9,
            "{name}: point {i}: {v} m/s at curvature {} exceeds the lateral limit",
            l.curvature[i]
        );
        if i + 1 < n {
            let ds = Vec2::from(l.points[i]).distance(Vec2::from(l.points[i + 1]));
            let a = (l.speed[i + 1].powi(2) - v * v) / (2.0 * ds);
            assert!(
                a <= LIMITS.accel + 1e-6 && -a <= LIMITS.brake + 1e-6,
                "{name}: point {i}: acceleration {a} m/s^2 beyond the limits"
            );
        }
    }
    assert!(
        l.lap_time.is_finite() && l.lap_time > l.length / LIMITS.top_speed,
        "{name}"
    );
    assert!(l.flying_lap_time <= l.lap_time + 1e-9, "{name}");
}

#[test]
fn inside_the_borders_on_every_shared_track_both_ways() {
    for file in common::deepracer_track_files() {
        let t = load(file.to_str().unwrap()).unwrap();
        for dir in [Direction::Forward, Direction::Reverse] {
            let l = line(&t, 0.18, dir);
            check(&t, &l, 0.18);
            assert_eq!(l.direction, dir);
        }
    }
    for name in chicane_tracks::builtin_names() {
        let t = load(name).unwrap();
        check(&t, &line(&t, 0.18, Direction::Forward), 0.18);
    }
}

#[test]
fn inside_the_borders_on_200_procedural_tracks() {
    for seed in 0..200 {
        let t = Track::generate(seed, &GenerateParams::default()).unwrap();
        let dir = if seed % 2 == 0 {
            Direction::Forward
        } else {
            Direction::Reverse
        };
        check(&t, &line(&t, 0.15, dir), 0.15);
    }
}

#[test]
fn the_line_is_faster_than_the_centre_line() {
    let t = load(
        common::shared_data()
            .join("deepracer/tracks/reinvent_base.npy")
            .to_str()
            .unwrap(),
    )
    .unwrap();
    let l = line(&t, 0.18, Direction::Forward);
    let centre: Vec<Vec2> = (0..177)
        .map(|i| t.to_world(t.length() * i as f64 / 177.0 + t.start().s, 0.0))
        .collect();
    let (_, centre_time) = speed_profile(&centre, true, &LIMITS, true);
    assert!(
        l.lap_time < 0.92 * centre_time,
        "line {:.2} s vs centre line {centre_time:.2} s",
        l.lap_time
    );
    assert!(l.length < t.length());
}

#[test]
fn bad_input_is_named() {
    let t = load("technical-loop").unwrap();
    let mut o = RacelineOptions::new(LIMITS);
    o.margin = 0.5;
    let e = racing_line(&t, &o).unwrap_err().to_string();
    assert!(
        e.starts_with("technical-loop: racing line: margin 0.5 m leaves no room at s = ")
            && e.contains("give a margin below"),
        "{e}"
    );
    o.margin = -0.1;
    assert!(
        racing_line(&t, &o)
            .unwrap_err()
            .to_string()
            .contains("must be 0 or more")
    );
    o.margin = 0.1;
    o.limits.lateral = 0.0;
    assert!(
        racing_line(&t, &o)
            .unwrap_err()
            .to_string()
            .contains("must all be positive")
    );
}
