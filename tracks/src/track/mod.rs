//! The `Track` type: validated centerline geometry and its Frenet frame.

use crate::error::TrackError;
use crate::surface::SurfaceHints;
use chicane_core::{Vec2, segments_intersect, wrap_angle};
use serde::{Deserialize, Serialize};

mod queries;

/// Two points closer than this (m) are the same point: DeepRacer files
/// repeat rows, and a closed loop repeats its first row at the end.
pub(crate) const SAME_POINT_M: f64 = 1e-6;

/// The largest turn (deg) the centerline may make at one waypoint. More is a
/// stray point that doubles back, not a corner.
pub(crate) const MAX_TURN_DEG: f64 = 150.0;

/// Driving direction relative to the order of the waypoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// In waypoint order (DeepRacer's default direction for a track file).
    #[default]
    Forward,
    /// Against waypoint order (DeepRacer's `REVERSE_DIR`).
    Reverse,
}

impl Direction {
    /// +1 for [`Direction::Forward`], -1 for [`Direction::Reverse`].
    pub fn sign(self) -> f64 {
        match self {
            Direction::Forward => 1.0,
            Direction::Reverse => -1.0,
        }
    }

    /// The name run files and reports use: `"forward"` or `"reverse"` (as
    /// serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        }
    }

    /// The other direction.
    pub fn flipped(self) -> Direction {
        match self {
            Direction::Forward => Direction::Reverse,
            Direction::Reverse => Direction::Forward,
        }
    }
}

/// The recommended start of a track: where the start line is and which way
/// the car drives from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// Arc length (m) along the centerline from waypoint 0. Default 0.
    #[serde(default)]
    pub s: f64,
    /// Driving direction. Default [`Direction::Forward`].
    #[serde(default)]
    pub direction: Direction,
}

/// Frenet coordinates of a point relative to the centerline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frenet {
    /// Arc length (m) along the centerline from waypoint 0, in `[0, length)`
    /// on a closed track. On an open track it is extrapolated past the ends.
    pub s: f64,
    /// Signed lateral offset (m) from the centerline, positive to the left
    /// of the waypoint order.
    pub d: f64,
}

/// One input row before validation: a centerline point and either its
/// widths or its two border points.
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    /// How errors name this row (`row 12`, `centerline[12]`).
    pub label: String,
    /// The centerline point (m).
    pub center: Vec2,
    /// The row's lateral extent.
    pub extent: Extent,
}

/// Lateral extent of a raw row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Extent {
    /// Distances (m) from the centerline to the left and right border.
    Widths { left: f64, right: f64 },
    /// Two border points, on either side in any order (DeepRacer's inner/outer).
    Borders { a: Vec2, b: Vec2 },
}

/// A track to validate: what every loader produces.
#[derive(Debug, Clone)]
pub(crate) struct RawTrack {
    /// Where the data came from, for error messages.
    pub origin: String,
    pub name: String,
    pub description: String,
    /// `None`: closed when the last point repeats the first (DeepRacer's rule).
    pub closed: Option<bool>,
    pub rows: Vec<RawRow>,
    pub start: Start,
    pub surface: SurfaceHints,
}

/// A validated race track: a centerline in metres with a border on each
/// side, closed (a loop) or open (a strip, such as DeepRacer's
/// `Straight_track`).
///
/// Lateral positions use a Frenet frame built on the centerline polyline:
/// each waypoint carries a mitre vector (the bisector of its two segment
/// normals, scaled so that its component along either normal is 1), and
/// `to_world(s, d)` moves `d` metres along the mitre interpolated over the
/// segment. Lines of constant `d` are therefore the polyline offset by
/// exactly `d`, borders are straight between waypoints, and
/// [`Track::to_frenet`] inverts [`Track::to_world`] exactly (up to rounding)
/// wherever `|d|` is smaller than the local radius of curvature. Off the
/// segment ends, `d` equals DeepRacer's `distance_from_center` (the
/// Euclidean distance to the centerline); near a vertex the two differ by
/// less than `|d| * (1 - cos(turn / 2))`.
#[derive(Debug, Clone)]
pub struct Track {
    name: String,
    description: String,
    closed: bool,
    points: Vec<Vec2>,
    left_width: Vec<f64>,
    right_width: Vec<f64>,
    /// Arc length at each waypoint; one more entry (the total) when closed.
    cum_s: Vec<f64>,
    seg_len: Vec<f64>,
    seg_dir: Vec<Vec2>,
    miter: Vec<Vec2>,
    curvature: Vec<f64>,
    length: f64,
    start: Start,
    surface: SurfaceHints,
}

impl Track {
    /// Validates raw rows and derives the geometry.
    pub(crate) fn from_raw(raw: RawTrack) -> Result<Track, TrackError> {
        let origin = raw.origin;
        // 1. finite values
        for row in &raw.rows {
            let mut fields: Vec<(&str, f64)> =
                vec![("center_x", row.center.x), ("center_y", row.center.y)];
            match row.extent {
                Extent::Widths { left, right } => {
                    fields.push(("left_width", left));
                    fields.push(("right_width", right));
                }
                Extent::Borders { a, b } => {
                    fields.extend([
                        ("inner_x", a.x),
                        ("inner_y", a.y),
                        ("outer_x", b.x),
                        ("outer_y", b.y),
                    ]);
                }
            }
            for (field, value) in fields {
                if !value.is_finite() {
                    return Err(TrackError::NonFinite {
                        origin,
                        location: row.label.clone(),
                        field: field.to_string(),
                        value,
                    });
                }
            }
        }
        // 2. drop consecutive repeats, and the closing repeat of a loop
        let mut rows: Vec<RawRow> = Vec::with_capacity(raw.rows.len());
        for row in raw.rows {
            if rows
                .last()
                .is_some_and(|p: &RawRow| p.center.distance(row.center) < SAME_POINT_M)
            {
                continue;
            }
            rows.push(row);
        }
        let mut closed = raw.closed;
        if rows.len() >= 2 && rows[0].center.distance(rows[rows.len() - 1].center) < SAME_POINT_M {
            rows.pop();
            closed.get_or_insert(true);
        }
        let closed = closed.unwrap_or(false);
        if rows.len() < 4 {
            return Err(TrackError::TooFewPoints {
                origin,
                distinct: rows.len(),
            });
        }
        let n = rows.len();
        let points: Vec<Vec2> = rows.iter().map(|r| r.center).collect();
        let nseg = if closed { n } else { n - 1 };
        let seg_vec: Vec<Vec2> = (0..nseg).map(|i| points[(i + 1) % n] - points[i]).collect();
        let seg_len: Vec<f64> = seg_vec.iter().map(|v| v.length()).collect();
        let seg_dir: Vec<Vec2> = seg_vec.iter().map(|v| v.normalized()).collect();

        // 3. spikes: a point where the centerline doubles back
        let prev_seg = |i: usize| -> Option<usize> {
            if i > 0 {
                Some(i - 1)
            } else if closed {
                Some(nseg - 1)
            } else {
                None
            }
        };
        let next_seg = |i: usize| -> Option<usize> { if i < nseg { Some(i) } else { None } };
        let mut miter = Vec::with_capacity(n);
        let mut curvature = Vec::with_capacity(n);
        #[allow(clippy::needless_range_loop)] // i indexes rows, segments and vertices alike
        for i in 0..n {
            match (prev_seg(i), next_seg(i)) {
                (Some(a), Some(b)) => {
                    let turn = wrap_angle(seg_dir[b].angle() - seg_dir[a].angle());
                    if turn.abs().to_degrees() > MAX_TURN_DEG {
                        return Err(TrackError::Spike {
                            origin,
                            location: rows[i].label.clone(),
                            turn_deg: turn.abs().to_degrees(),
                            max_deg: MAX_TURN_DEG,
                        });
                    }
                    let (na, nb) = (seg_dir[a].perp(), seg_dir[b].perp());
                    miter.push((na + nb) / (1.0 + na.dot(nb)));
                    curvature.push(turn / (0.5 * (seg_len[a] + seg_len[b])));
                }
                (Some(a), None) => {
                    miter.push(seg_dir[a].perp());
                    curvature.push(0.0);
                }
                (None, Some(b)) => {
                    miter.push(seg_dir[b].perp());
                    curvature.push(0.0);
                }
                (None, None) => unreachable!("a track has at least 4 points"),
            }
        }

        // 4. widths, and which border is on which side
        let mut sides: Vec<(f64, f64)> = Vec::with_capacity(n); // (left, right) offsets by projection
        let mut border_pts: Vec<(Vec2, Vec2)> = Vec::new(); // (left, right) points of border rows
        for (i, row) in rows.iter().enumerate() {
            let (l, r) = match row.extent {
                Extent::Widths { left, right } => (left, right),
                Extent::Borders { a, b } => {
                    // The lateral offset of a border point in the Frenet frame is
                    // its projection on the mitre over the mitre's length, so that
                    // `to_world(s_i, offset)` lands back on it.
                    let m = miter[i];
                    let (sa, sb) = (
                        (a - row.center).dot(m) / m.length_squared(),
                        (b - row.center).dot(m) / m.length_squared(),
                    );
                    if sa > 0.0 && sb < 0.0 {
                        border_pts.push((a, b));
                        (sa, -sb)
                    } else if sa < 0.0 && sb > 0.0 {
                        border_pts.push((b, a));
                        (sb, -sa)
                    } else {
                        let side = if sa > 0.0 && sb > 0.0 {
                            "left"
                        } else if sa < 0.0 && sb < 0.0 {
                            "right"
                        } else {
                            "same"
                        };
                        return Err(TrackError::BorderSide {
                            origin,
                            location: row.label.clone(),
                            side,
                        });
                    }
                }
            };
            sides.push((l, r));
        }
        if border_pts.len() == n {
            // DeepRacer files may sample a border at other places than the
            // centerline (Bowtie_track's border points sit up to 0.5 m ahead or
            // behind): the local width is where the waypoint's lateral ray
            // meets the border polyline, not the offset of the row's own point.
            let left: Vec<Vec2> = border_pts.iter().map(|p| p.0).collect();
            let right: Vec<Vec2> = border_pts.iter().map(|p| p.1).collect();
            for i in 0..n {
                let m = miter[i];
                if let Some(t) = ray_polyline(points[i], m, &left, closed) {
                    sides[i].0 = t;
                }
                if let Some(t) = ray_polyline(points[i], -m, &right, closed) {
                    sides[i].1 = t;
                }
            }
        }
        let mut left_width = Vec::with_capacity(n);
        let mut right_width = Vec::with_capacity(n);
        for (row, &(l, r)) in rows.iter().zip(&sides) {
            for (side, w) in [("left", l), ("right", r)] {
                if w <= 0.0 {
                    return Err(TrackError::Width {
                        origin,
                        location: format!("{} ({side} side)", row.label),
                        width: w,
                    });
                }
            }
            left_width.push(l);
            right_width.push(r);
        }

        // 5. self-intersection of the centerline
        for i in 0..nseg {
            for j in (i + 2)..nseg {
                if closed && i == 0 && j == nseg - 1 {
                    continue; // neighbours across the start
                }
                if segments_intersect(
                    points[i],
                    points[(i + 1) % n],
                    points[j],
                    points[(j + 1) % n],
                ) {
                    return Err(TrackError::SelfIntersection {
                        origin,
                        first: rows[i].label.clone(),
                        second: rows[j].label.clone(),
                    });
                }
            }
        }

        let mut cum_s = Vec::with_capacity(n + 1);
        let mut acc = 0.0;
        cum_s.push(0.0);
        for len in &seg_len {
            acc += len;
            cum_s.push(acc);
        }
        let length = acc;
        if !closed {
            cum_s.truncate(n);
        }
        let mut start = raw.start;
        if !start.s.is_finite() || (!closed && !(0.0..=length).contains(&start.s)) {
            return Err(TrackError::Field {
                origin,
                field: "start.s".into(),
                problem: format!(
                    "{} is not a position on this {length:.3} m track; use 0 to {length:.3}",
                    start.s
                ),
            });
        }
        if closed {
            start.s = start.s.rem_euclid(length);
        }
        Ok(Track {
            name: raw.name,
            description: raw.description,
            closed,
            points,
            left_width,
            right_width,
            cum_s,
            seg_len,
            seg_dir,
            miter,
            curvature,
            length,
            start,
            surface: raw.surface,
        })
    }

    /// The track's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A one-line description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether the centerline is a loop (`true`) or a strip with two ends.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Centerline length (m): the loop's perimeter, or the strip's length.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// The distinct centerline waypoints (m), in driving order; a closed
    /// loop does not repeat its first point. These are DeepRacer's
    /// `params["waypoints"]`.
    pub fn waypoints(&self) -> &[Vec2] {
        &self.points
    }

    /// Number of waypoints.
    pub fn num_waypoints(&self) -> usize {
        self.points.len()
    }

    /// Arc length (m) of waypoint `i` from waypoint 0.
    ///
    /// # Panics
    /// If `i >= num_waypoints()`.
    pub fn waypoint_s(&self, i: usize) -> f64 {
        self.cum_s[i]
    }

    /// Distance (m) from waypoint `i` to the left border.
    ///
    /// # Panics
    /// If `i >= num_waypoints()`.
    pub fn waypoint_left_width(&self, i: usize) -> f64 {
        self.left_width[i]
    }

    /// Distance (m) from waypoint `i` to the right border.
    ///
    /// # Panics
    /// If `i >= num_waypoints()`.
    pub fn waypoint_right_width(&self, i: usize) -> f64 {
        self.right_width[i]
    }

    /// The recommended start position and direction.
    pub fn start(&self) -> Start {
        self.start
    }

    /// Colour and line hints for pictures and the camera renderer.
    pub fn surface(&self) -> &SurfaceHints {
        &self.surface
    }

    /// Replaces the name (for example after importing a file).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// Replaces the description.
    pub fn set_description(&mut self, description: impl Into<String>) {
        self.description = description.into();
    }

    /// Replaces the recommended start; `s` is wrapped onto a closed loop and
    /// clamped onto an open strip.
    pub fn set_start(&mut self, mut start: Start) {
        start.s = if self.closed {
            start.s.rem_euclid(self.length)
        } else {
            start.s.clamp(0.0, self.length)
        };
        self.start = start;
    }

    /// Replaces the surface hints.
    pub fn set_surface(&mut self, surface: SurfaceHints) {
        self.surface = surface;
    }
}

/// Smallest `t > 0` with `origin + dir * t` on the polyline (closed when
/// `closed`), or `None` when the ray misses it.
fn ray_polyline(origin: Vec2, dir: Vec2, poly: &[Vec2], closed: bool) -> Option<f64> {
    let n = poly.len();
    let segs = if closed { n } else { n - 1 };
    let mut best: Option<f64> = None;
    for k in 0..segs {
        let (a, b) = (poly[k], poly[(k + 1) % n]);
        let e = b - a;
        let denom = dir.cross(e);
        if denom == 0.0 {
            continue;
        }
        let rel = a - origin;
        let t = rel.cross(e) / denom;
        let u = rel.cross(dir) / denom;
        if t > 0.0 && (-1e-9..=1.0 + 1e-9).contains(&u) && best.is_none_or(|bt| t < bt) {
            best = Some(t);
        }
    }
    best
}
