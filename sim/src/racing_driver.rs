//! The racing-line reference driver: a path-tracking controller on a
//! racing line (`chicane_tracks::racing_line`) with its speed profile, the
//! "physical best" learning benchmarks are measured against.

use crate::drivers::{Driver, nearest_action};
use crate::env::{Info, RaceEnv};
use chicane_core::{Action, Vec2, wrap_angle};

use chicane_tracks::RacingLine;

/// Follows a racing line with the Stanley controller (Hoffmann, Tomlin,
/// Montemerlo and Thrun 2007, "Autonomous automobile trajectory tracking
/// for off-road driving", ACC; the Stanford DARPA entry's steering law:
/// heading error plus `atan(k e / v)` at the front axle) and the line's
/// curvature as feed-forward (`atan(L k)`), read a little ahead for the
/// servo's and the 15 Hz command's delay; commands the line's speed
/// profile a little ahead of the car, so the proportional speed controller
/// has time to reach it.
#[derive(Debug, Clone)]
pub struct RacingLineDriver {
    points: Vec<Vec2>,
    speed: Vec<f64>,
    curvature: Vec<f64>,
    /// Cumulative arc length at each point (m).
    s: Vec<f64>,
    length: f64,
    closed: bool,
    last: usize,
    /// Stanley's cross-track gain `k` (1/s). Default 4.
    pub cross_track_gain: f64,
    /// How far ahead (s of travel) the curvature feed-forward is read. Default 0.05.
    pub steer_preview_s: f64,
    /// How far ahead (s of travel) the commanded speed is read. Default 0.25.
    pub speed_preview_s: f64,
}

impl RacingLineDriver {
    /// A driver of `line` (its points in driving order).
    pub fn new(line: &RacingLine) -> RacingLineDriver {
        let points: Vec<Vec2> = line.points.iter().map(|&p| p.into()).collect();
        let n = points.len();
        let mut s = Vec::with_capacity(n);
        let mut acc = 0.0;
        for i in 0..n {
            s.push(acc);
            if i + 1 < n {
                acc += points[i].distance(points[i + 1]);
            }
        }
        let length = if line.closed && n > 1 {
            acc + points[n - 1].distance(points[0])
        } else {
            acc
        };
        RacingLineDriver {
            points,
            speed: line.speed.clone(),
            curvature: line.curvature.clone(),
            s,
            length,
            closed: line.closed,
            last: 0,
            cross_track_gain: 4.0,
            steer_preview_s: 0.05,
            speed_preview_s: 0.25,
        }
    }

    /// The point index nearest `p`, searched near the last one.
    fn nearest(&mut self, p: Vec2) -> usize {
        let n = self.points.len();
        let window = 40.min(n);
        let mut best = (f64::INFINITY, self.last);
        for k in 0..window {
            let i = if self.closed {
                (self.last + n + k - window / 4) % n
            } else {
                (self.last + k).saturating_sub(window / 4).min(n - 1)
            };
            let d = self.points[i].distance(p);
            if d < best.0 {
                best = (d, i);
            }
        }
        // lost (a reset): search everything
        if best.0 > 0.5 {
            best = (0..n)
                .map(|i| (self.points[i].distance(p), i))
                .fold((f64::INFINITY, 0), |a, b| if b.0 < a.0 { b } else { a });
        }
        self.last = best.1;
        best.1
    }

    /// The point `ahead` metres along the line from point `i`.
    fn along(&self, i: usize, ahead: f64) -> usize {
        let n = self.points.len();
        let target = self.s[i] + ahead;
        let mut j = i;
        for _ in 0..n {
            let next = if self.closed {
                (j + 1) % n
            } else {
                (j + 1).min(n - 1)
            };
            let sj = if next < j {
                self.s[next] + self.length
            } else {
                self.s[next]
            };
            if sj > target || next == j {
                break;
            }
            j = next;
            if j == i {
                break;
            }
        }
        j
    }

    /// The steering angle (deg) and speed (m/s) the driver wants now.
    pub fn command(&mut self, env: &RaceEnv, info: &Info) -> (f64, f64) {
        let car = &info.car;
        let wb = env.config().vehicle.wheelbase;
        let front = car.position + car.forward() * (wb / 2.0);
        let n = self.points.len();
        let i = self.nearest(front);
        // the segment the front axle is on, and the offset from it
        let j = if self.closed {
            (i + 1) % n
        } else {
            (i + 1).min(n - 1)
        };
        let (a, b) = if i == j {
            (self.points[i.saturating_sub(1)], self.points[i])
        } else {
            (self.points[i], self.points[j])
        };
        let dir = (b - a).normalized();
        let e = dir.cross(front - a); // positive: the car is left of the line
        let heading_error = wrap_angle(dir.angle() - car.yaw);
        let v = car.speed.max(0.0);
        let ff = self.along(i, v * self.steer_preview_s + 0.02);
        let steer = (wb * self.curvature[ff]).atan()
            + heading_error
            + (-self.cross_track_gain * e / (v + 0.5)).atan();
        let max_steer = env.config().vehicle.max_steering_angle_deg;
        // the profile's speed a little ahead: the speed controller (a
        // proportional one) needs the command to lead the speed wanted
        let preview = self.along(i, (v * self.speed_preview_s).max(0.05));
        let speed = self.speed[preview];
        (
            steer.to_degrees().clamp(-max_steer, max_steer),
            speed.max(0.1),
        )
    }
}

impl Driver for RacingLineDriver {
    fn act(&mut self, env: &RaceEnv, info: &Info) -> Action {
        let (steer, speed) = self.command(env, info);
        nearest_action(env.action_space(), steer, speed)
    }
}
