//! The car's physics against the kinematic bicycle model, and at rest.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use chicane_core::Vec2;
use chicane_sim::{Vehicle, VehicleConfig};

/// Steady turn radius (m) of the rear axle at `speed` with `steer_deg`.
fn turn_radius(steer_deg: f64, speed: f64) -> f64 {
    let cfg = VehicleConfig::default();
    let mut car = Vehicle::new(&cfg, 1.0 / 120.0, Vec2::ZERO, 0.0, &[]);
    // 10 s to settle, then 10 s of samples of the rear axle's path
    let mut pts = Vec::new();
    for i in 0..2400 {
        car.step(steer_deg.to_radians(), speed);
        if i >= 1200 {
            let s = car.state();
            pts.push(s.position - s.forward() * (cfg.wheelbase / 2.0));
        }
    }
    // least-squares circle fit (Kasa): x^2 + y^2 + D x + E y + F = 0
    let n = pts.len() as f64;
    let (mut sx, mut sy, mut sxx, mut syy, mut sxy, mut sz, mut sxz, mut syz) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for p in &pts {
        let z = p.x * p.x + p.y * p.y;
        sx += p.x;
        sy += p.y;
        sxx += p.x * p.x;
        syy += p.y * p.y;
        sxy += p.x * p.y;
        sz += z;
        sxz += p.x * z;
        syz += p.y * z;
    }
    // normal equations for [D, E, F]
    let a = [[sxx, sxy, sx], [sxy, syy, sy], [sx, sy, n]];
    let b = [-sxz, -syz, -sz];
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d0 = det(a);
    let solve = |col: usize| {
        let mut m = a;
        for r in 0..3 {
            m[r][col] = b[r];
        }
        det(m) / d0
    };
    let (d, e, f) = (solve(0), solve(1), solve(2));
    (d * d / 4.0 + e * e / 4.0 - f).sqrt()
}

#[test]
fn steady_turns_match_the_bicycle_model_within_10_percent() {
    let wheelbase = VehicleConfig::default().wheelbase;
    for steer in [10.0f64, 20.0, 30.0] {
        let expected = wheelbase / steer.to_radians().tan();
        let r = turn_radius(steer, 0.5);
        let err = (r - expected).abs() / expected;
        eprintln!(
            "steer {steer} deg: bicycle {expected:.4} m, chicane {r:.4} m ({:+.1}%)",
            100.0 * (r - expected) / expected
        );
        assert!(
            err < 0.10,
            "steer {steer} deg: radius {r:.4} m vs bicycle {expected:.4} m ({:.1}%)",
            err * 100.0
        );
        // and to the right, mirrored
        let r = turn_radius(-steer, 0.5);
        assert!(
            (r - expected).abs() / expected < 0.10,
            "steer -{steer}: {r}"
        );
    }
}

#[test]
fn reaches_and_holds_commanded_speeds() {
    let cfg = VehicleConfig::default();
    for target in [0.5, 1.0, 2.0, 4.0] {
        let mut car = Vehicle::new(&cfg, 1.0 / 120.0, Vec2::ZERO, 0.0, &[]);
        for _ in 0..600 {
            car.step(0.0, target);
        }
        let s = car.state();
        assert!(
            (s.speed - target).abs() < 0.05 * target,
            "target {target}: {}",
            s.speed
        );
        assert!(
            s.position.y.abs() < 1e-3 && s.yaw.abs() < 1e-3,
            "drifted sideways: {s:?}"
        );
        assert!(
            s.roll.abs() < 0.01 && s.pitch.abs() < 0.02,
            "attitude {s:?}"
        );
    }
}

#[test]
fn no_drift_or_explosion_at_standstill() {
    let cfg = VehicleConfig::default();
    let mut car = Vehicle::new(&cfg, 1.0 / 120.0, Vec2::new(3.0, -2.0), 1.0, &[]);
    let start = car.state();
    for _ in 0..1200 {
        car.step(0.0, 0.0);
    }
    let s = car.state();
    assert!(
        s.position.distance(start.position) < 1e-3,
        "drifted {} m",
        s.position.distance(start.position)
    );
    assert!((s.yaw - start.yaw).abs() < 1e-3);
    assert!(
        s.speed.abs() < 1e-3 && s.height > 0.03 && s.height < 0.06,
        "{s:?}"
    );
}

#[test]
fn full_lock_at_top_speed_stays_upright() {
    let cfg = VehicleConfig::default();
    let mut car = Vehicle::new(&cfg, 1.0 / 120.0, Vec2::ZERO, 0.0, &[]);
    for i in 0..1800 {
        let steer = if (i / 120) % 2 == 0 { 30f64 } else { -30.0 };
        car.step(steer.to_radians(), 4.0);
        let s = car.state();
        assert!(
            s.position.is_finite() && s.speed.is_finite(),
            "step {i}: {s:?}"
        );
        assert!(
            s.roll.abs() < 0.6 && s.pitch.abs() < 0.6,
            "step {i}: rolled over {s:?}"
        );
        // a car sliding at full lock may overrun its command a little (the
        // motor drives the wheels' speed, not the slide's), never run away
        assert!(s.velocity.length() < 5.0, "step {i}: {s:?}");
    }
}

#[test]
fn the_grip_limit_is_what_the_tyre_model_implies() {
    let cfg = VehicleConfig::default();
    let b = chicane_sim::measure_vehicle(&cfg);
    eprintln!("{b:#?}");
    let implied = b.implied.lateral;
    assert!(
        (b.max_lateral - implied).abs() / implied < 0.10,
        "held {:.2} m/s^2 at {:.2} m/s; the tyres imply {implied:.2}",
        b.max_lateral,
        b.max_lateral_speed
    );
    // half the grip, half the limit: the tyre model, not a tuned constant
    let half = VehicleConfig {
        grip: 0.5,
        ..VehicleConfig::default()
    };
    let h = chicane_sim::measure_vehicle(&half);
    assert!(
        (h.max_lateral - h.implied.lateral).abs() / h.implied.lateral < 0.10,
        "grip 0.5: {:.2} vs {:.2}",
        h.max_lateral,
        h.implied.lateral
    );
    assert!(b.zero_to_four_s > 0.3 && b.zero_to_four_s < 2.0, "{b:?}");
    assert!(
        b.brake_from_four_m > 0.3 && b.brake_from_four_m < 3.0,
        "{b:?}"
    );
}
