//! Angle conventions.
//!
//! chicane measures yaw counter-clockwise from the world +x axis, like ROS
//! (REP 103) and DeepRacer's `heading` param.

use crate::Vec2;
use std::f64::consts::{PI, TAU};

/// Wraps an angle in radians into `(-pi, pi]`.
///
/// Non-finite input is returned unchanged (NaN stays NaN).
pub fn wrap_angle(angle: f64) -> f64 {
    if !angle.is_finite() {
        return angle;
    }
    let mut a = angle.rem_euclid(TAU); // [0, 2pi)
    if a > PI {
        a -= TAU;
    }
    a
}

/// Wraps an angle in degrees into `(-180, 180]`, the range of DeepRacer's
/// `heading` param (`deepracer_simapp` `agent_ctrl` reports yaw in that range).
pub fn wrap_deg(angle_deg: f64) -> f64 {
    if !angle_deg.is_finite() {
        return angle_deg;
    }
    let mut a = angle_deg.rem_euclid(360.0);
    if a > 180.0 {
        a -= 360.0;
    }
    a
}

/// Heading of a direction vector in degrees, `(-180, 180]`, counter-clockwise
/// from +x (DeepRacer's `heading` convention). A zero vector gives 0.
pub fn heading_deg(direction: Vec2) -> f64 {
    wrap_deg(direction.y.atan2(direction.x).to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_into_half_open_range() {
        assert_eq!(wrap_angle(PI), PI);
        assert_eq!(wrap_angle(-PI), PI);
        assert!((wrap_angle(3.0 * PI) - PI).abs() < 1e-12);
        assert!((wrap_angle(-0.5) + 0.5).abs() < 1e-15);
        assert_eq!(wrap_deg(180.0), 180.0);
        assert_eq!(wrap_deg(-180.0), 180.0);
        assert_eq!(wrap_deg(190.0), -170.0);
        assert_eq!(wrap_deg(-730.0), -10.0);
        assert!(wrap_deg(f64::NAN).is_nan());
    }

    #[test]
    fn heading_of_axes() {
        assert_eq!(heading_deg(Vec2::new(1.0, 0.0)), 0.0);
        assert_eq!(heading_deg(Vec2::new(0.0, 1.0)), 90.0);
        assert_eq!(heading_deg(Vec2::new(-1.0, 0.0)), 180.0);
        assert_eq!(heading_deg(Vec2::new(0.0, -2.0)), -90.0);
    }
}
