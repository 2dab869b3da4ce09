//! What a car can do, from its parameters and measured on the rapier car:
//! the limits a racing line's speed profile must respect
//! ([`implied_limits`]), and the vehicle bench that checks them
//! ([`measure_vehicle`], `chicane bench vehicle`).

use crate::vehicle::{Vehicle, VehicleConfig};
use chicane_core::Vec2;
use chicane_tracks::{Direction, RacelineOptions, RacingLine, SpeedLimits, Track, TrackError};
use serde::{Deserialize, Serialize};

/// Standard gravity (m/s^2).
pub const G: f64 = 9.81;

/// The limits `cfg`'s parameters imply, for planning a speed profile: the
/// friction circles of four tyres carry at most `grip * m * g` whatever
/// the load transfer (the capacity is linear in load), so the lateral
/// limit is `grip * g`; drive and brake forces over the mass, each capped
/// by the same circle; the drive fades as the speed controller's gain over
/// the mass near the top speed, the commanded limit.
pub fn implied_limits(cfg: &VehicleConfig) -> SpeedLimits {
    let circle = cfg.grip * G;
    SpeedLimits {
        lateral: circle,
        accel: (cfg.max_drive_force / cfg.mass).min(circle),
        accel_fade: cfg.speed_gain / cfg.mass,
        brake: (cfg.max_brake_force / cfg.mass).min(circle),
        top_speed: cfg.max_speed,
    }
}

/// The limits the rapier car holds, measured by [`measure_vehicle`]: the
/// grip limit of the constant-steer ramp, the mean acceleration to 4 m/s,
/// the mean deceleration of the stop from 4 m/s; the fade and top speed
/// as implied. What a racing line's speed profile should plan with.
pub fn measured_limits(cfg: &VehicleConfig) -> SpeedLimits {
    let b = measure_vehicle(cfg);
    let implied = implied_limits(cfg);
    SpeedLimits {
        lateral: b.max_lateral,
        accel: b.mean_accel.min(implied.accel),
        brake: (16.0 / (2.0 * b.brake_from_four_m.max(1e-3))).min(implied.brake),
        ..implied
    }
}

/// What the vehicle bench measured on the rapier car.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VehicleBench {
    /// The limits the parameters imply ([`implied_limits`]).
    pub implied: SpeedLimits,
    /// Steady-state cornering: the largest lateral acceleration held on a
    /// constant-steer speed ramp (m/s^2) (ISO 4138's constant steer-angle
    /// method), and the speed where it was reached (m/s).
    pub max_lateral: f64,
    /// The speed at [`VehicleBench::max_lateral`] (m/s).
    pub max_lateral_speed: f64,
    /// The steering angle of the ramp (deg).
    pub ramp_steer_deg: f64,
    /// Understeer gradient (deg of steering per g of lateral acceleration)
    /// between 20% and 50% of the grip limit: positive understeers.
    pub understeer_deg_per_g: f64,
    /// Time from rest to 95% of 4 m/s (s) at full command.
    pub zero_to_four_s: f64,
    /// Mean acceleration over that run (m/s^2).
    pub mean_accel: f64,
    /// Time to stop from 4 m/s (s) with a 0 m/s command.
    pub brake_from_four_s: f64,
    /// Distance to stop from 4 m/s (m).
    pub brake_from_four_m: f64,
    /// Steering step 0 -> 15 deg at 2 m/s: time to 90% of the steady yaw
    /// rate (s).
    pub steer_step_rise_s: f64,
    /// Its yaw-rate overshoot over the steady value (%).
    pub steer_step_overshoot_pct: f64,
}

const DT: f64 = 1.0 / 120.0;

fn car(cfg: &VehicleConfig) -> Vehicle {
    Vehicle::new(cfg, DT, Vec2::ZERO, 0.0, &[])
}

/// Yaw rate (rad/s) between two states `DT` apart.
fn yaw_rate(a: f64, b: f64) -> f64 {
    chicane_core::wrap_angle(b - a) / DT
}

/// Runs the bench on `cfg`'s car (about 3 s of compute).
pub fn measure_vehicle(cfg: &VehicleConfig) -> VehicleBench {
    let implied = implied_limits(cfg);
    // constant steer, speed ramped at 0.25 m/s^2 from 0.5 m/s to the top
    let steer_deg = 15.0f64;
    let mut c = car(cfg);
    let mut v_cmd = 0.5;
    for _ in 0..240 {
        c.step(steer_deg.to_radians(), v_cmd);
    }
    let (mut best, mut best_v) = (0.0f64, 0.0);
    let mut samples = Vec::new(); // (a_y, steady radius)
    let mut prev = c.state();
    let mut smooth = 0.0;
    while v_cmd < cfg.max_speed {
        v_cmd += 0.25 * DT;
        c.step(steer_deg.to_radians(), v_cmd);
        let s = c.state();
        let r = yaw_rate(prev.yaw, s.yaw);
        let v = s.velocity.length();
        let ay = v * r.abs();
        // a 0.1 s running mean rides over the wheel-load ripple
        smooth += (ay - smooth) * (DT / 0.1);
        if smooth > best {
            best = smooth;
            best_v = v;
        }
        if r.abs() > 1e-3 {
            samples.push((smooth, v / r.abs()));
        }
        prev = s;
    }
    // understeer gradient: steering needed beyond Ackermann (L / R) per g
    let (lo, hi) = (0.2 * implied.lateral, 0.5 * implied.lateral);
    let pts: Vec<(f64, f64)> = samples
        .iter()
        .filter(|(a, _)| (lo..hi).contains(a))
        .map(|&(a, r)| {
            (
                a / G,
                (steer_deg.to_radians() - (cfg.wheelbase / r).atan()).to_degrees(),
            )
        })
        .collect();
    let understeer = if pts.len() > 2 {
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        if sxx > 0.0 { sxy / sxx } else { 0.0 }
    } else {
        f64::NAN
    };
    // 0 -> 4 m/s
    let mut c = car(cfg);
    let mut t = 0.0;
    while c.state().speed < 0.95 * 4.0 && t < 10.0 {
        c.step(0.0, 4.0);
        t += DT;
    }
    let zero_to_four = t;
    // hold 4 m/s, then brake to a stop
    for _ in 0..240 {
        c.step(0.0, 4.0);
    }
    let start = c.state().position;
    let mut tb = 0.0;
    while c.state().speed > 0.05 && tb < 10.0 {
        c.step(0.0, 0.0);
        tb += DT;
    }
    let brake_m = c.state().position.distance(start);
    // steering step at 2 m/s
    let mut c = car(cfg);
    for _ in 0..360 {
        c.step(0.0, 2.0);
    }
    let mut prev = c.state();
    let mut rates = Vec::new();
    for _ in 0..240 {
        c.step(15f64.to_radians(), 2.0);
        let s = c.state();
        rates.push(yaw_rate(prev.yaw, s.yaw));
        prev = s;
    }
    let tail = &rates[rates.len() - 60..];
    let steady = tail.iter().sum::<f64>() / tail.len() as f64;
    let rise = rates
        .iter()
        .position(|r| r.abs() >= 0.9 * steady.abs())
        .map_or(f64::NAN, |i| (i + 1) as f64 * DT);
    let peak = rates.iter().map(|r| r.abs()).fold(0.0, f64::max);
    VehicleBench {
        implied,
        max_lateral: best,
        max_lateral_speed: best_v,
        ramp_steer_deg: steer_deg,
        understeer_deg_per_g: understeer,
        zero_to_four_s: zero_to_four,
        mean_accel: 0.95 * 4.0 / zero_to_four,
        brake_from_four_s: tb,
        brake_from_four_m: brake_m,
        steer_step_rise_s: rise,
        steer_step_overshoot_pct: 100.0 * (peak / steady.abs() - 1.0),
    }
}

/// The racing line of `track` for `vehicle`: its limits measured on the
/// rapier car ([`measured_limits`]), the wheels `clearance` metres from
/// the borders (the line keeps half the car's track width more), points
/// `spacing` metres apart, driven in `direction` (default: the track's).
///
/// # Errors
/// [`TrackError::Raceline`] when the clearance leaves no room (the place
/// named) or the solver fails.
pub fn racing_line_for(
    track: &Track,
    vehicle: &VehicleConfig,
    clearance: f64,
    spacing: f64,
    direction: Option<Direction>,
) -> Result<RacingLine, TrackError> {
    if !(clearance.is_finite() && clearance >= 0.0) {
        return Err(TrackError::Raceline {
            track: track.name().to_string(),
            problem: format!("clearance {clearance} m must be 0 or more, such as 0.1"),
        });
    }
    let mut opts = RacelineOptions::new(measured_limits(vehicle));
    opts.margin = vehicle.track_width / 2.0 + clearance;
    opts.spacing = spacing;
    opts.direction = direction;
    chicane_tracks::racing_line(track, &opts)
}
