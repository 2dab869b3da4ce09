//! Plain 2D geometry in the ground plane (metres).

use serde::{Deserialize, Serialize};
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

/// A point or vector in the ground plane, in metres. `x` east, `y` north
/// (counter-clockwise is positive rotation), as in DeepRacer's track files.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vec2 {
    /// x coordinate (m).
    pub x: f64,
    /// y coordinate (m).
    pub y: f64,
}

impl Vec2 {
    /// The origin.
    pub const ZERO: Vec2 = Vec2 { x: 0.0, y: 0.0 };

    /// A vector from its coordinates (m).
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    /// The unit vector at `angle` radians counter-clockwise from +x.
    pub fn from_angle(angle: f64) -> Self {
        let (s, c) = angle.sin_cos();
        Self { x: c, y: s }
    }

    /// Dot product.
    pub fn dot(self, o: Vec2) -> f64 {
        self.x * o.x + self.y * o.y
    }

    /// z component of the 3D cross product: positive when `o` is
    /// counter-clockwise (to the left) of `self`.
    pub fn cross(self, o: Vec2) -> f64 {
        self.x * o.y - self.y * o.x
    }

    /// Euclidean length (m).
    pub fn length(self) -> f64 {
        self.x.hypot(self.y)
    }

    /// Squared length (m^2).
    pub fn length_squared(self) -> f64 {
        self.dot(self)
    }

    /// Distance to another point (m).
    pub fn distance(self, o: Vec2) -> f64 {
        (self - o).length()
    }

    /// This vector scaled to unit length; the zero vector stays zero.
    pub fn normalized(self) -> Vec2 {
        let l = self.length();
        if l > 0.0 { self / l } else { Vec2::ZERO }
    }

    /// This vector rotated 90 degrees counter-clockwise (its left normal).
    pub fn perp(self) -> Vec2 {
        Vec2::new(-self.y, self.x)
    }

    /// Angle of this vector, radians counter-clockwise from +x, `(-pi, pi]`.
    pub fn angle(self) -> f64 {
        self.y.atan2(self.x)
    }

    /// Rotated by `angle` radians counter-clockwise.
    pub fn rotated(self, angle: f64) -> Vec2 {
        let (s, c) = angle.sin_cos();
        Vec2::new(c * self.x - s * self.y, s * self.x + c * self.y)
    }

    /// Linear interpolation: `self` at `t = 0`, `o` at `t = 1`.
    pub fn lerp(self, o: Vec2, t: f64) -> Vec2 {
        self + (o - self) * t
    }

    /// Whether both coordinates are finite.
    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }
}

impl From<[f64; 2]> for Vec2 {
    fn from(a: [f64; 2]) -> Self {
        Vec2::new(a[0], a[1])
    }
}

impl From<Vec2> for [f64; 2] {
    fn from(v: Vec2) -> Self {
        [v.x, v.y]
    }
}

impl Add for Vec2 {
    type Output = Vec2;
    fn add(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x + o.x, self.y + o.y)
    }
}

impl AddAssign for Vec2 {
    fn add_assign(&mut self, o: Vec2) {
        *self = *self + o;
    }
}

impl Sub for Vec2 {
    type Output = Vec2;
    fn sub(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x - o.x, self.y - o.y)
    }
}

impl SubAssign for Vec2 {
    fn sub_assign(&mut self, o: Vec2) {
        *self = *self - o;
    }
}

impl Mul<f64> for Vec2 {
    type Output = Vec2;
    fn mul(self, k: f64) -> Vec2 {
        Vec2::new(self.x * k, self.y * k)
    }
}

impl Div<f64> for Vec2 {
    type Output = Vec2;
    fn div(self, k: f64) -> Vec2 {
        Vec2::new(self.x / k, self.y / k)
    }
}

impl Neg for Vec2 {
    type Output = Vec2;
    fn neg(self) -> Vec2 {
        Vec2::new(-self.x, -self.y)
    }
}

/// Whether the closed segments `a0-a1` and `b0-b1` share a point
/// (proper crossings, touching endpoints and collinear overlap all count).
///
/// Orientation test from O'Rourke, *Computational Geometry in C*, sec. 1.5.
pub fn segments_intersect(a0: Vec2, a1: Vec2, b0: Vec2, b1: Vec2) -> bool {
    fn orient(p: Vec2, q: Vec2, r: Vec2) -> f64 {
        (q - p).cross(r - p)
    }
    fn on_segment(p: Vec2, q: Vec2, r: Vec2) -> bool {
        r.x >= p.x.min(q.x) && r.x <= p.x.max(q.x) && r.y >= p.y.min(q.y) && r.y <= p.y.max(q.y)
    }
    let d1 = orient(b0, b1, a0);
    let d2 = orient(b0, b1, a1);
    let d3 = orient(a0, a1, b0);
    let d4 = orient(a0, a1, b1);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(b0, b1, a0))
        || (d2 == 0.0 && on_segment(b0, b1, a1))
        || (d3 == 0.0 && on_segment(a0, a1, b0))
        || (d4 == 0.0 && on_segment(a0, a1, b1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_algebra() {
        let a = Vec2::new(3.0, 4.0);
        assert_eq!(a.length(), 5.0);
        assert_eq!(a.perp(), Vec2::new(-4.0, 3.0));
        assert_eq!(a.cross(a.perp()), 25.0);
        assert_eq!(a.dot(a.perp()), 0.0);
        assert!(
            (Vec2::new(1.0, 0.0).rotated(std::f64::consts::FRAC_PI_2) - Vec2::new(0.0, 1.0))
                .length()
                < 1e-15
        );
        assert_eq!(Vec2::ZERO.normalized(), Vec2::ZERO);
    }

    #[test]
    fn segment_intersection_cases() {
        let v = Vec2::new;
        assert!(segments_intersect(
            v(0., 0.),
            v(2., 2.),
            v(0., 2.),
            v(2., 0.)
        ));
        assert!(!segments_intersect(
            v(0., 0.),
            v(1., 0.),
            v(0., 1.),
            v(1., 1.)
        ));
        // touching at an endpoint
        assert!(segments_intersect(
            v(0., 0.),
            v(1., 0.),
            v(1., 0.),
            v(1., 1.)
        ));
        // collinear, disjoint
        assert!(!segments_intersect(
            v(0., 0.),
            v(1., 0.),
            v(2., 0.),
            v(3., 0.)
        ));
        // collinear, overlapping
        assert!(segments_intersect(
            v(0., 0.),
            v(2., 0.),
            v(1., 0.),
            v(3., 0.)
        ));
    }
}
