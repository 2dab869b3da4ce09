//! A track's geometry queries: Frenet coordinates `(s, d)` both ways,
//! DeepRacer's `closest_waypoints` and progress, widths, curvature,
//! heading and borders.

use super::{Direction, Frenet, Track};
use chicane_core::Vec2;

impl Track {
    pub(super) fn num_segments(&self) -> usize {
        self.seg_len.len()
    }

    /// Index of the segment holding arc length `s`, and `s` itself wrapped
    /// onto a closed loop (an open strip is not clamped).
    pub(super) fn locate(&self, s: f64) -> (usize, f64) {
        let s = if self.closed {
            s.rem_euclid(self.length)
        } else {
            s
        };
        let nseg = self.num_segments();
        let i = self.cum_s[..nseg]
            .partition_point(|&c| c <= s)
            .saturating_sub(1)
            .min(nseg - 1);
        (i, s)
    }

    pub(super) fn vertex(&self, i: usize) -> usize {
        i % self.points.len()
    }

    /// World position (m) of Frenet coordinates `(s, d)`: `s` metres along
    /// the centerline (wrapped on a loop, extrapolated off an open strip's
    /// ends), then `d` metres to the left (negative: right).
    pub fn to_world(&self, s: f64, d: f64) -> Vec2 {
        let (i, s) = self.locate(s);
        let j = self.vertex(i + 1);
        let along = s - self.cum_s[i];
        let t = along / self.seg_len[i];
        let m = self.miter[i] * (1.0 - t) + self.miter[j] * t;
        self.points[i] + self.seg_dir[i] * along + m * d
    }

    /// Frenet coordinates of a world point (m). Exact inverse of
    /// [`Track::to_world`] within the track's tube (`|d|` below the local
    /// radius of curvature); far from the track, the nearest cell wins.
    pub fn to_frenet(&self, p: Vec2) -> Frenet {
        let nseg = self.num_segments();
        let mut best: Option<(f64, Frenet)> = None;
        for i in 0..nseg {
            let j = self.vertex(i + 1);
            let (p0, e, len) = (self.points[i], self.seg_dir[i], self.seg_len[i]);
            let rel = p - p0;
            let d = rel.dot(e.perp());
            let denom = len + d * (self.miter[j] - self.miter[i]).dot(e);
            if denom <= 1e-12 * len {
                continue; // beyond the fold on the inside of a corner
            }
            let t = (rel - self.miter[i] * d).dot(e) / denom;
            let lo_ok = t >= 0.0 || (!self.closed && i == 0);
            let hi_ok = t <= 1.0 || (!self.closed && i == nseg - 1);
            if lo_ok && hi_ok && best.as_ref().is_none_or(|(bd, _)| d.abs() < *bd) {
                best = Some((
                    d.abs(),
                    Frenet {
                        s: self.cum_s[i] + t * len,
                        d,
                    },
                ));
            }
        }
        if let Some((_, f)) = best {
            return self.wrap_frenet(f);
        }
        // Outside every cell (far off a sharp corner): nearest point on the polyline.
        let mut nearest = (f64::INFINITY, Frenet { s: 0.0, d: 0.0 });
        for i in 0..nseg {
            let (p0, e, len) = (self.points[i], self.seg_dir[i], self.seg_len[i]);
            let along = (p - p0).dot(e).clamp(0.0, len);
            let q = p0 + e * along;
            let dist = p.distance(q);
            if dist < nearest.0 {
                let side = if e.cross(p - q) >= 0.0 { 1.0 } else { -1.0 };
                nearest = (
                    dist,
                    Frenet {
                        s: self.cum_s[i] + along,
                        d: side * dist,
                    },
                );
            }
        }
        self.wrap_frenet(nearest.1)
    }

    fn wrap_frenet(&self, mut f: Frenet) -> Frenet {
        if self.closed {
            f.s = f.s.rem_euclid(self.length);
            if f.s >= self.length {
                f.s = 0.0;
            }
        }
        f
    }

    /// DeepRacer's `closest_waypoints` for a point at arc length `s` (m):
    /// `[previous, next]`, the waypoints just behind and just ahead of the
    /// point's projection on the centerline in waypoint order
    /// (`deepracer_simapp` `TrackData.find_prev_next`, which bisects the
    /// projected distance rather than taking the Euclidean nearest point).
    pub fn closest_waypoints(&self, s: f64) -> [usize; 2] {
        let (i, _) = self.locate(s);
        [i, self.vertex(i + 1)]
    }

    /// Whether a world point lies left of the centerline in waypoint order
    /// (DeepRacer's `is_left_of_center`, which is for the track's own
    /// direction).
    pub fn is_left_of_center(&self, p: Vec2) -> bool {
        self.to_frenet(p).d > 0.0
    }

    /// Fraction of a lap `[0, 1)` covered by driving from `start_s` to `s`
    /// in `direction` (DeepRacer's `progress` / 100). On a loop it wraps to
    /// 0 at the start line; on an open strip it is the fraction of the
    /// distance from the start to the end ahead, clamped to `[0, 1]`.
    pub fn progress(&self, s: f64, start_s: f64, direction: Direction) -> f64 {
        if self.closed {
            let ahead = ((s - start_s) * direction.sign()).rem_euclid(self.length);
            let f = ahead / self.length;
            if f >= 1.0 { 0.0 } else { f }
        } else {
            let (travelled, available) = match direction {
                Direction::Forward => (s - start_s, self.length - start_s),
                Direction::Reverse => (start_s - s, start_s),
            };
            if available <= 0.0 {
                1.0
            } else {
                (travelled / available).clamp(0.0, 1.0)
            }
        }
    }

    /// Distance (m) from the centerline to the left border at `s`.
    pub fn left_width_at(&self, s: f64) -> f64 {
        self.lerp_vertices(s, &self.left_width)
    }

    /// Distance (m) from the centerline to the right border at `s`.
    pub fn right_width_at(&self, s: f64) -> f64 {
        self.lerp_vertices(s, &self.right_width)
    }

    /// Local track width (m) at `s`: border to border (DeepRacer's `track_width`).
    pub fn width_at(&self, s: f64) -> f64 {
        self.left_width_at(s) + self.right_width_at(s)
    }

    /// Signed curvature (1/m) at `s`, positive for a left turn in waypoint
    /// order: the turn angle at each waypoint over the mean length of its
    /// two segments, interpolated between waypoints.
    pub fn curvature_at(&self, s: f64) -> f64 {
        self.lerp_vertices(s, &self.curvature)
    }

    /// Heading (rad, counter-clockwise from +x) of the centerline at `s` in
    /// waypoint order.
    pub fn heading_at(&self, s: f64) -> f64 {
        let (i, _) = self.locate(s);
        self.seg_dir[i].angle()
    }

    /// Smallest radius of curvature (m) over the waypoints (infinite for a
    /// straight strip).
    pub fn min_radius(&self) -> f64 {
        let k = self.curvature.iter().fold(0.0f64, |a, &k| a.max(k.abs()));
        if k > 0.0 { 1.0 / k } else { f64::INFINITY }
    }

    /// Smallest and largest track width (m) over the waypoints.
    pub fn width_range(&self) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = 0.0f64;
        for (l, r) in self.left_width.iter().zip(&self.right_width) {
            lo = lo.min(l + r);
            hi = hi.max(l + r);
        }
        (lo, hi)
    }

    /// Left border points (m), one per waypoint.
    pub fn left_border(&self) -> Vec<Vec2> {
        (0..self.points.len())
            .map(|i| self.points[i] + self.miter[i] * self.left_width[i])
            .collect()
    }

    /// Right border points (m), one per waypoint.
    pub fn right_border(&self) -> Vec<Vec2> {
        (0..self.points.len())
            .map(|i| self.points[i] - self.miter[i] * self.right_width[i])
            .collect()
    }

    /// Axis-aligned bounds `(min, max)` (m) of the centerline and borders.
    pub fn bounds(&self) -> (Vec2, Vec2) {
        let mut lo = Vec2::new(f64::INFINITY, f64::INFINITY);
        let mut hi = Vec2::new(f64::NEG_INFINITY, f64::NEG_INFINITY);
        for p in self
            .left_border()
            .into_iter()
            .chain(self.right_border())
            .chain(self.points.iter().copied())
        {
            lo = Vec2::new(lo.x.min(p.x), lo.y.min(p.y));
            hi = Vec2::new(hi.x.max(p.x), hi.y.max(p.y));
        }
        (lo, hi)
    }

    /// Segment `i` as (start point, unit direction, length, start mitre,
    /// end mitre, start s), for rasterising.
    pub(crate) fn segment(&self, i: usize) -> (Vec2, Vec2, f64, Vec2, Vec2, f64) {
        let j = self.vertex(i + 1);
        (
            self.points[i],
            self.seg_dir[i],
            self.seg_len[i],
            self.miter[i],
            self.miter[j],
            self.cum_s[i],
        )
    }

    /// Number of centerline segments (`num_waypoints` on a loop, one fewer on a strip).
    pub(crate) fn segment_count(&self) -> usize {
        self.num_segments()
    }

    fn lerp_vertices(&self, s: f64, values: &[f64]) -> f64 {
        let (i, s) = self.locate(s);
        let t = ((s - self.cum_s[i]) / self.seg_len[i]).clamp(0.0, 1.0);
        values[i] * (1.0 - t) + values[self.vertex(i + 1)] * t
    }
}
