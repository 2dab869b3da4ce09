//! A minimum-lap-time racing line: the path inside the borders (less a
//! margin) and the speed profile a car with given limits can hold on it.
//!
//! 1. **Path.** The line is the centre line offset by `d_i` along the
//!    track's normal at `N` points `s_i` (0.1 m apart): `p_i = b_i + d_i m_i`
//!    is linear in `d`. Minimising the squared discrete curvature
//!    `sum w_i |p_{i+1} - 2 p_i + p_{i-1}|^2` (`w_i = 1 / h_i^4` with the
//!    current iterate's spacing `h_i`) subject to
//!    `-right_width + margin <= d_i <= left_width - margin` is a convex QP:
//!    the minimum-curvature line of Heilmeier et al. 2019 ("Minimum
//!    curvature trajectory planning and control for an autonomous race
//!    car", Vehicle System Dynamics 58(10)), solved with Clarabel
//!    (Goulart & Chen 2024), re-weighted a few times. Braghin et al. 2008
//!    ("Race driving line optimisation", Vehicle System Dynamics 46 sup1)
//!    blend it with the shortest path, `(1 - e) J_curvature + e J_length`;
//!    the blend `e` with the fastest predicted lap is kept.
//! 2. **Speed.** On that path the fastest speeds within the car's limits:
//!    `v <= sqrt(a_lat / |k|)` and the top speed, then a forward pass
//!    (accelerate within what the friction circle leaves) and a backward
//!    pass (brake likewise), as in Kapania, Subosits and Gerdes 2016 ("A
//!    sequential two-step algorithm for fast generation of vehicle racing
//!    trajectories", J. Dyn. Sys., Meas., Control 138(9)).
//!
//! Lap times are from a standing start at the track's start line, as
//! DeepRacer times a lap; the flying lap is reported beside it.

use crate::error::TrackError;
use crate::track::{Direction, Track};
use chicane_core::Vec2;
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A car's limits for a speed profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpeedLimits {
    /// Largest lateral acceleration (m/s^2).
    pub lateral: f64,
    /// Largest forward acceleration (m/s^2).
    pub accel: f64,
    /// How forward acceleration fades approaching the top speed (1/s): at
    /// speed `v` the car accelerates at most `accel_fade * (top_speed - v)`
    /// (a proportional speed controller's gain over the mass).
    pub accel_fade: f64,
    /// Largest deceleration (m/s^2).
    pub brake: f64,
    /// Top speed (m/s).
    pub top_speed: f64,
}

impl SpeedLimits {
    /// These limits with the accelerations scaled by `factor` (a planning
    /// margin); the top speed kept.
    pub fn scaled(self, factor: f64) -> SpeedLimits {
        SpeedLimits {
            lateral: self.lateral * factor,
            accel: self.accel * factor,
            brake: self.brake * factor,
            ..self
        }
    }
}

/// How to compute a racing line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RacelineOptions {
    /// Distance (m) the line keeps from each border (the car's half width
    /// and some room). Default 0.1.
    pub margin: f64,
    /// Point spacing along the centre line (m). Default 0.1.
    pub spacing: f64,
    /// The driving direction (the path is the same; the speeds are not).
    /// Default: the track's.
    pub direction: Option<Direction>,
    /// The car's limits.
    pub limits: SpeedLimits,
}

impl RacelineOptions {
    /// The defaults for a car with `limits`.
    pub fn new(limits: SpeedLimits) -> RacelineOptions {
        RacelineOptions {
            margin: 0.1,
            spacing: 0.1,
            direction: None,
            limits,
        }
    }
}

/// A racing line and its speed profile, in driving order from the start line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RacingLine {
    /// The track's name.
    pub track: String,
    /// The driving direction.
    pub direction: Direction,
    /// Whether the line is a loop.
    pub closed: bool,
    /// The margin kept from the borders (m).
    pub margin: f64,
    /// The shortest-path blend chosen (Braghin et al.'s `e`, 0 = minimum curvature).
    pub blend: f64,
    /// The limits the speeds respect.
    pub limits: SpeedLimits,
    /// The line's points (m).
    pub points: Vec<[f64; 2]>,
    /// Arc length along the centre line of each point (m).
    pub track_s: Vec<f64>,
    /// Offset of each point from the centre line (m, positive left of the
    /// track's own direction).
    pub offset: Vec<f64>,
    /// Signed curvature at each point (1/m, positive turning left).
    pub curvature: Vec<f64>,
    /// The speed profile at each point (m/s), from a standing start at point 0.
    pub speed: Vec<f64>,
    /// The flying lap's speed profile (m/s): what a lap after the first
    /// holds (equal to `speed` on an open strip).
    pub flying_speed: Vec<f64>,
    /// The line's length (m).
    pub length: f64,
    /// Predicted lap time from a standing start at the start line (s).
    pub lap_time: f64,
    /// Predicted lap time of a flying lap (s); equal to `lap_time` on an open strip.
    pub flying_lap_time: f64,
}

fn bad(track: &Track, problem: String) -> TrackError {
    TrackError::Raceline {
        track: track.name().to_string(),
        problem,
    }
}

/// The curvature of the circle through three points (1/m, signed: positive
/// turning left), 0 for collinear points.
fn menger(a: Vec2, b: Vec2, c: Vec2) -> f64 {
    let (ab, bc, ca) = (b - a, c - b, a - c);
    let denom = ab.length() * bc.length() * ca.length();
    if denom < 1e-12 {
        0.0
    } else {
        2.0 * ab.cross(bc) / denom
    }
}

/// The curvature of every point of a polyline (ends of an open one: 0).
pub fn polyline_curvature(points: &[Vec2], closed: bool) -> Vec<f64> {
    let n = points.len();
    (0..n)
        .map(|i| {
            if closed {
                menger(points[(i + n - 1) % n], points[i], points[(i + 1) % n])
            } else if i == 0 || i + 1 == n {
                0.0
            } else {
                menger(points[i - 1], points[i], points[i + 1])
            }
        })
        .collect()
}

/// The fastest speeds (m/s) along a polyline within `limits`: from rest at
/// point 0 when `standing`, else the periodic (flying) profile of a loop.
/// Returns the speeds and the time to run the polyline once (s).
pub fn speed_profile(
    points: &[Vec2],
    closed: bool,
    limits: &SpeedLimits,
    standing: bool,
) -> (Vec<f64>, f64) {
    let n = points.len();
    if n < 2 {
        return (vec![0.0; n], 0.0);
    }
    let k = polyline_curvature(points, closed);
    let segs = if closed { n } else { n - 1 };
    let ds: Vec<f64> = (0..segs)
        .map(|i| points[i].distance(points[(i + 1) % n]))
        .collect();
    let cap: Vec<f64> = k
        .iter()
        .map(|&k| {
            if k.abs() > 1e-9 {
                (limits.lateral / k.abs()).sqrt().min(limits.top_speed)
            } else {
                limits.top_speed
            }
        })
        .collect();
    // what the friction circle leaves for the longitudinal direction
    let left = |v: f64, k: f64| {
        let lat = v * v * k.abs() / limits.lateral.max(1e-9);
        (1.0 - lat * lat).max(0.0).sqrt()
    };
    let accel = |v: f64, k: f64| {
        limits
            .accel
            .min(limits.accel_fade * (limits.top_speed - v).max(0.0))
            * left(v, k)
    };
    let brake = |v: f64, k: f64| limits.brake * left(v, k);
    let mut v = cap.clone();
    // a loop is run around twice so the wrap settles
    let laps = if closed { 2 } else { 1 };
    let start = if standing || !closed {
        0
    } else {
        (0..n)
            .min_by(|&a, &b| cap[a].total_cmp(&cap[b]))
            .unwrap_or(0)
    };
    if standing {
        v[0] = 0.0;
    }
    // forward
    for step in 0..laps * segs {
        let i = (start + step) % n;
        let j = (i + 1) % n;
        if !closed && i + 1 >= n {
            break;
        }
        let reach = (v[i] * v[i] + 2.0 * ds[i % segs] * accel(v[i], k[i])).sqrt();
        if j == 0 && standing {
            continue; // the standing start stays at rest
        }
        v[j] = v[j].min(reach);
    }
    // backward (a standing start constrains nothing behind it)
    let end = if closed { start } else { n - 1 };
    for step in 0..laps * segs {
        let j = (end + laps * n - step) % n;
        let i = (j + n - 1) % n;
        if !closed && j == 0 {
            break;
        }
        if standing && j == 0 {
            continue;
        }
        let reach = (v[j] * v[j] + 2.0 * ds[i % segs] * brake(v[j], k[j])).sqrt();
        v[i] = v[i].min(reach);
    }
    let time = (0..segs)
        .map(|i| {
            let vm = 0.5 * (v[i] + v[(i + 1) % n]);
            ds[i] / vm.max(1e-3)
        })
        .sum();
    (v, time)
}

/// The QP's sparse matrices: the upper triangle of `P` from triplets.
fn upper_csc(n: usize, entries: &BTreeMap<(usize, usize), f64>) -> CscMatrix<f64> {
    let mut colptr = vec![0usize; n + 1];
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    let mut by_col: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (&(r, c), &v) in entries {
        by_col[c].push((r, v));
    }
    for (c, col) in by_col.iter_mut().enumerate() {
        col.sort_by_key(|e| e.0);
        for &(r, v) in col.iter() {
            rowval.push(r);
            nzval.push(v);
        }
        colptr[c + 1] = rowval.len();
    }
    CscMatrix::new(n, n, colptr, rowval, nzval)
}

/// Solves `min 1/2 x'Px + q'x` with `lo <= x <= hi`.
fn solve_box_qp(
    n: usize,
    p: &BTreeMap<(usize, usize), f64>,
    q: &[f64],
    lo: &[f64],
    hi: &[f64],
) -> Result<Vec<f64>, String> {
    let pm = upper_csc(n, p);
    // [I; -I] x + s = [hi; -lo], s >= 0
    let mut colptr = Vec::with_capacity(n + 1);
    let mut rowval = Vec::with_capacity(2 * n);
    let mut nzval = Vec::with_capacity(2 * n);
    colptr.push(0);
    for i in 0..n {
        rowval.extend([i, n + i]);
        nzval.extend([1.0, -1.0]);
        colptr.push(rowval.len());
    }
    let a = CscMatrix::new(2 * n, n, colptr, rowval, nzval);
    let b: Vec<f64> = hi.iter().copied().chain(lo.iter().map(|l| -l)).collect();
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        .build()
        .map_err(|e| format!("solver settings: {e:?}"))?;
    let cones = [NonnegativeConeT(2 * n)];
    let mut solver = DefaultSolver::new(&pm, q, &a, &b, &cones, settings)
        .map_err(|e| format!("the QP does not set up: {e:?}"))?;
    solver.solve();
    match solver.solution.status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => Ok(solver.solution.x.clone()),
        other => Err(format!("the QP solver stopped: {other:?}")),
    }
}

struct Frame {
    s: Vec<f64>,
    base: Vec<Vec2>,
    normal: Vec<Vec2>,
    lo: Vec<f64>,
    hi: Vec<f64>,
}

impl Frame {
    fn point(&self, i: usize, d: f64) -> Vec2 {
        self.base[i] + self.normal[i] * d
    }
}

/// One QP: the blend `e` of curvature and length, weighted by the spacing
/// of `prev` (the last iterate's offsets).
fn optimise(f: &Frame, closed: bool, e: f64, prev: &[f64]) -> Result<Vec<f64>, String> {
    let n = f.s.len();
    let pts: Vec<Vec2> = (0..n).map(|i| f.point(i, prev[i])).collect();
    let seg = |i: usize| pts[i].distance(pts[(i + 1) % n]).max(1e-4);
    let mut p: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut q = vec![0.0; n];
    let mut add = |terms: &[(usize, Vec2)], c: Vec2, w: f64, p: &mut BTreeMap<_, _>| {
        // w |c + sum a_j d_j|^2 -> P += 2 w a_j.a_k, q += 2 w a_j.c
        for &(j, aj) in terms {
            q[j] += 2.0 * w * aj.dot(c);
            for &(k, ak) in terms {
                if j <= k {
                    *p.entry((j, k)).or_insert(0.0) += 2.0 * w * aj.dot(ak);
                }
            }
        }
    };
    let (first, last) = if closed { (0, n) } else { (1, n - 1) };
    let wrap = |i: isize| ((i + n as isize) % n as isize) as usize;
    // the two objectives, normalised by their values on the centre line
    let mut jk0 = 0.0;
    let mut jl0 = 0.0;
    for i in first..last {
        let (a, b, c) = (wrap(i as isize - 1), i, wrap(i as isize + 1));
        let dd = f.base[c] - f.base[b] * 2.0 + f.base[a];
        let h = 0.5 * (seg(a) + seg(b));
        jk0 += dd.length_squared() / h.powi(4);
    }
    let segs = if closed { n } else { n - 1 };
    for i in 0..segs {
        jl0 += f.base[(i + 1) % n].distance(f.base[i]).powi(2);
    }
    let (wk, wl) = ((1.0 - e) / jk0.max(1e-12), e / jl0.max(1e-12));
    for i in first..last {
        let (a, b, c) = (wrap(i as isize - 1), i, wrap(i as isize + 1));
        let h = 0.5 * (seg(a) + seg(b));
        let cst = f.base[c] - f.base[b] * 2.0 + f.base[a];
        add(
            &[(a, f.normal[a]), (b, f.normal[b] * -2.0), (c, f.normal[c])],
            cst,
            wk / h.powi(4),
            &mut p,
        );
    }
    if e > 0.0 {
        for i in 0..segs {
            let j = (i + 1) % n;
            add(
                &[(i, -f.normal[i]), (j, f.normal[j])],
                f.base[j] - f.base[i],
                wl,
                &mut p,
            );
        }
    }
    // a tiny ridge keeps P positive definite on straight stretches
    for i in 0..n {
        *p.entry((i, i)).or_insert(0.0) += 1e-9;
    }
    solve_box_qp(n, &p, &q, &f.lo, &f.hi)
}

/// The racing line of `track` for `opts` (see the module docs).
///
/// # Errors
/// [`TrackError::Raceline`] when the margin leaves no room somewhere (the
/// place named) or the solver fails.
pub fn racing_line(track: &Track, opts: &RacelineOptions) -> Result<RacingLine, TrackError> {
    let closed = track.is_closed();
    let len = track.length();
    if !(opts.margin.is_finite() && opts.margin >= 0.0) {
        return Err(bad(
            track,
            format!("margin {} m must be 0 or more", opts.margin),
        ));
    }
    if !(opts.spacing.is_finite() && opts.spacing >= 0.01) {
        return Err(bad(
            track,
            format!("spacing {} m must be at least 0.01", opts.spacing),
        ));
    }
    let lim = &opts.limits;
    if !(lim.lateral > 0.0 && lim.accel > 0.0 && lim.brake > 0.0 && lim.top_speed > 0.0) {
        return Err(bad(track, format!("limits {lim:?} must all be positive")));
    }
    let n = ((len / opts.spacing).round() as usize).max(8);
    let count = if closed { n } else { n + 1 };
    let mut f = Frame {
        s: Vec::with_capacity(count),
        base: Vec::with_capacity(count),
        normal: Vec::with_capacity(count),
        lo: Vec::with_capacity(count),
        hi: Vec::with_capacity(count),
    };
    for i in 0..count {
        let s = len * i as f64 / n as f64;
        let b = track.to_world(s, 0.0);
        let (lo, hi) = (
            -(track.right_width_at(s) - opts.margin),
            track.left_width_at(s) - opts.margin,
        );
        if lo > hi {
            return Err(bad(
                track,
                format!(
                    "margin {} m leaves no room at s = {s:.2} m, where the track is {:.3} m wide; \
                     give a margin below {:.3} m",
                    opts.margin,
                    track.width_at(s),
                    track.width_at(s) / 2.0
                ),
            ));
        }
        f.s.push(s);
        f.normal.push(track.to_world(s, 1.0) - b);
        f.base.push(b);
        f.lo.push(lo);
        f.hi.push(hi);
    }
    let direction = opts.direction.unwrap_or(track.start().direction);
    let mut best: Option<(f64, f64, Vec<f64>)> = None;
    for e in [0.0, 0.1, 0.2, 0.35, 0.5] {
        let mut d = vec![0.0; count];
        for _ in 0..4 {
            d = optimise(&f, closed, e, &d).map_err(|p| bad(track, p))?;
        }
        let line = ordered(track, &f, &d, direction);
        let (_, t) = speed_profile(&line.0, closed, lim, true);
        if best.as_ref().is_none_or(|b| t < b.0) {
            best = Some((t, e, d));
        }
    }
    let (lap_time, blend, d) = best.ok_or_else(|| bad(track, "no line".into()))?;
    let (points, order) = ordered(track, &f, &d, direction);
    let (speed, _) = speed_profile(&points, closed, lim, true);
    let (flying_speed, flying) = if closed {
        speed_profile(&points, closed, lim, false)
    } else {
        (speed.clone(), lap_time)
    };
    let curvature = polyline_curvature(&points, closed);
    let segs = if closed {
        points.len()
    } else {
        points.len() - 1
    };
    let length = (0..segs)
        .map(|i| points[i].distance(points[(i + 1) % points.len()]))
        .sum();
    Ok(RacingLine {
        track: track.name().to_string(),
        direction,
        closed,
        margin: opts.margin,
        blend,
        limits: *lim,
        points: points.iter().map(|p| [p.x, p.y]).collect(),
        track_s: order.iter().map(|&i| f.s[i]).collect(),
        offset: order.iter().map(|&i| d[i]).collect(),
        curvature,
        speed,
        flying_speed,
        length,
        lap_time,
        flying_lap_time: flying,
    })
}

/// The line's points in driving order from the start line, and the frame
/// index of each.
fn ordered(track: &Track, f: &Frame, d: &[f64], direction: Direction) -> (Vec<Vec2>, Vec<usize>) {
    let n = f.s.len();
    let len = track.length();
    let mut order: Vec<usize> = (0..n).collect();
    if track.is_closed() {
        let start = track.start().s.rem_euclid(len);
        let i0 = ((start / len * n as f64).round() as usize) % n;
        order.rotate_left(i0);
        if direction == Direction::Reverse {
            order[1..].reverse();
        }
    } else if direction == Direction::Reverse {
        order.reverse();
    }
    (order.iter().map(|&i| f.point(i, d[i])).collect(), order)
}

impl RacingLine {
    /// The line as DeepRacer reward functions paste it: a Python module
    /// with `racing_line = [[x, y], ...]` (and its speeds beside it).
    pub fn to_python(&self) -> String {
        let mut out = format!(
            "# racing line of {} ({:?}), margin {} m, predicted lap {:.2} s (chicane track raceline)\n",
            self.track, self.direction, self.margin, self.lap_time
        );
        out.push_str("racing_line = [\n");
        for p in &self.points {
            out.push_str(&format!("    [{:.4}, {:.4}],\n", p[0], p[1]));
        }
        out.push_str("]\n# speed (m/s) the profile holds at each point\nracing_speed = [\n");
        for v in &self.speed {
            out.push_str(&format!("    {v:.3},\n"));
        }
        out.push_str("]\n");
        out
    }

    /// The line as JSON: points, speeds, curvature, offsets and times.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// DeepRacer `.npy` rows `[x, y, inner_x, inner_y, outer_x, outer_y]`
    /// with the racing line in the centre columns and `track`'s borders
    /// beside each point (a loop repeats its first row at the end).
    pub fn npy_rows(&self, track: &Track) -> Vec<[f64; 6]> {
        let mut rows: Vec<[f64; 6]> = self
            .points
            .iter()
            .zip(&self.track_s)
            .map(|(p, &s)| {
                let l = track.to_world(s, track.left_width_at(s));
                let r = track.to_world(s, -track.right_width_at(s));
                [p[0], p[1], l.x, l.y, r.x, r.y]
            })
            .collect();
        if self.closed
            && let Some(first) = rows.first().copied()
        {
            rows.push(first);
        }
        rows
    }
}
