//! Tracks described as a sequence of straights and circular turns, the way
//! the built-in tracks are designed (like laying out a slot-car set).

use crate::error::TrackError;
use chicane_core::{Vec2, wrap_angle};
use serde::{Deserialize, Serialize};

/// One piece of a track path: a straight, or a circular turn.
///
/// In a track file: `{ straight = 2.5 }` or `{ turn_deg = 90, radius = 1.2 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSegment {
    /// Length (m) of a straight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub straight: Option<f64>,
    /// Turn angle (deg) of a circular turn, positive = left (counter-clockwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_deg: Option<f64>,
    /// Radius (m) of a circular turn, measured at the centerline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
}

/// Samples a path into centerline points at most `spacing` metres apart,
/// starting at `origin` heading `heading` (rad). Returns the points and the
/// final heading (rad). The first point is `origin`; the last point is the
/// end of the path.
pub(crate) fn sample_path(
    origin_name: &str,
    segments: &[PathSegment],
    origin: Vec2,
    heading: f64,
    spacing: f64,
) -> Result<(Vec<Vec2>, f64), TrackError> {
    let field_err = |i: usize, problem: String| TrackError::Field {
        origin: origin_name.to_string(),
        field: format!("path[{i}]"),
        problem,
    };
    let mut points = vec![origin];
    let (mut pos, mut h) = (origin, heading);
    for (i, seg) in segments.iter().enumerate() {
        match (seg.straight, seg.turn_deg, seg.radius) {
            (Some(len), None, None) => {
                if !(len.is_finite() && len > 0.0) {
                    return Err(field_err(
                        i,
                        format!(
                            "straight = {len}: a straight's length must be a positive number of metres"
                        ),
                    ));
                }
                let n = (len / spacing).ceil().max(1.0) as usize;
                let dir = Vec2::from_angle(h);
                for k in 1..=n {
                    points.push(pos + dir * (len * k as f64 / n as f64));
                }
                pos += dir * len;
            }
            (None, Some(turn_deg), Some(radius)) => {
                if !(radius.is_finite() && radius > 0.0) {
                    return Err(field_err(
                        i,
                        format!(
                            "radius = {radius}: a turn's radius must be a positive number of metres"
                        ),
                    ));
                }
                if !(turn_deg.is_finite() && turn_deg != 0.0 && turn_deg.abs() <= 360.0) {
                    return Err(field_err(
                        i,
                        format!(
                            "turn_deg = {turn_deg}: a turn's angle must be non-zero and within -360..360 degrees (positive = left)"
                        ),
                    ));
                }
                let turn = turn_deg.to_radians();
                let side = turn.signum();
                // centre of the circle, to the left for a left turn
                let centre = pos + Vec2::from_angle(h).perp() * (radius * side);
                let arc = turn.abs() * radius;
                let n = (arc / spacing).ceil().max(1.0) as usize;
                let from_centre = pos - centre;
                for k in 1..=n {
                    points.push(centre + from_centre.rotated(turn * k as f64 / n as f64));
                }
                pos = centre + from_centre.rotated(turn);
                h = wrap_angle(h + turn);
            }
            _ => {
                return Err(field_err(
                    i,
                    "each path piece is either `{ straight = LENGTH_M }` or `{ turn_deg = ANGLE, radius = RADIUS_M }`".to_string(),
                ));
            }
        }
    }
    Ok((points, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oval_path_closes() {
        let segs = [
            PathSegment {
                straight: Some(4.0),
                turn_deg: None,
                radius: None,
            },
            PathSegment {
                straight: None,
                turn_deg: Some(180.0),
                radius: Some(1.5),
            },
            PathSegment {
                straight: Some(4.0),
                turn_deg: None,
                radius: None,
            },
            PathSegment {
                straight: None,
                turn_deg: Some(180.0),
                radius: Some(1.5),
            },
        ];
        let (pts, h) = sample_path("t", &segs, Vec2::ZERO, 0.0, 0.1).unwrap();
        let end = *pts.last().unwrap();
        assert!(end.length() < 1e-12, "{end:?}");
        assert!(wrap_angle(h).abs() < 1e-12);
        let max_step = pts
            .windows(2)
            .map(|w| w[0].distance(w[1]))
            .fold(0.0, f64::max);
        assert!(max_step <= 0.1 + 1e-12);
    }
}
