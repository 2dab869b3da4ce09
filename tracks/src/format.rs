//! chicane's own track file format (TOML).
//!
//! ```toml
//! name = "my-track"
//! description = "What it is like to drive"
//! closed = true                 # default true; false for a strip with two ends
//! width = 1.066                 # m, border to border, centred
//!
//! # Either a centerline (m) ...
//! centerline = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.5], [1.0, 1.5]]
//! # ... with `width`, or per-point `widths`, or `left_widths` + `right_widths`,
//! # or a [borders] table of `left` and `right` points;
//! # or a path of straights and turns:
//! # path = [{ straight = 4.0 }, { turn_deg = 180, radius = 1.5 }, ...]
//! # spacing = 0.15              # m between sampled waypoints
//! # origin = [0.0, 0.0]         # path start (m)
//! # heading_deg = 0.0           # path start heading
//!
//! [start]
//! s = 0.0                       # m along the centerline
//! direction = "forward"         # or "reverse"
//!
//! [surface]                     # all optional, see SurfaceHints
//! road = "#2a2a2a"
//! ```

use crate::error::TrackError;
use crate::path::{PathSegment, sample_path};
use crate::surface::SurfaceHints;
use crate::track::{Extent, RawRow, RawTrack, SAME_POINT_M, Start, Track};
use chicane_core::{Vec2, wrap_angle};
use serde::Deserialize;
use std::fmt::Write as _;

/// Default spacing (m) of waypoints sampled from a `path`.
pub const DEFAULT_PATH_SPACING: f64 = 0.15;

/// How close (m) a closed path must end to where it started.
const PATH_CLOSE_TOLERANCE_M: f64 = 0.01;

/// The `[borders]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Borders {
    left: Vec<[f64; 2]>,
    right: Vec<[f64; 2]>,
}

/// A track file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    closed: Option<bool>,
    #[serde(default)]
    width: Option<f64>,
    #[serde(default)]
    centerline: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    widths: Option<Vec<f64>>,
    #[serde(default)]
    left_widths: Option<Vec<f64>>,
    #[serde(default)]
    right_widths: Option<Vec<f64>>,
    #[serde(default)]
    borders: Option<Borders>,
    #[serde(default)]
    path: Option<Vec<PathSegment>>,
    #[serde(default)]
    spacing: Option<f64>,
    #[serde(default)]
    origin: Option<[f64; 2]>,
    #[serde(default)]
    heading_deg: Option<f64>,
    #[serde(default)]
    start: Start,
    #[serde(default)]
    surface: SurfaceHints,
}

fn field(origin: &str, field: &str, problem: impl Into<String>) -> TrackError {
    TrackError::Field {
        origin: origin.to_string(),
        field: field.to_string(),
        problem: problem.into(),
    }
}

fn check_len(origin: &str, name: &str, len: usize, expected: usize) -> Result<(), TrackError> {
    if len != expected {
        return Err(field(
            origin,
            name,
            format!(
                "has {len} entries but `centerline` has {expected} points; give one per centerline point"
            ),
        ));
    }
    Ok(())
}

/// Parses a chicane track file. `origin` names the file in error messages.
///
/// # Errors
/// TOML syntax and unknown fields (with line and column), missing or
/// conflicting fields, and every geometry check of [`Track`].
pub fn parse_toml(text: &str, origin: &str) -> Result<Track, TrackError> {
    let file: TrackFile = toml::from_str(text).map_err(|e| TrackError::Toml {
        origin: origin.to_string(),
        detail: e.to_string(),
    })?;
    if let Err((f, problem)) = file.surface.validate() {
        return Err(field(origin, &f, problem));
    }
    if let Some(w) = file.width
        && !(w.is_finite() && w > 0.0)
    {
        return Err(field(
            origin,
            "width",
            format!("{w} m: the track width must be a positive number of metres"),
        ));
    }
    let (rows, closed) = match (&file.centerline, &file.path) {
        (Some(_), Some(_)) => {
            return Err(field(
                origin,
                "path",
                "give either `centerline` or `path`, not both",
            ));
        }
        (None, None) => {
            return Err(field(
                origin,
                "centerline",
                "missing: give the centerline as `centerline = [[x, y], ...]` (m) or as `path = [{ straight = ... }, ...]`",
            ));
        }
        (Some(centerline), None) => (
            centerline_rows(&file, centerline, origin)?,
            Some(file.closed.unwrap_or(true)),
        ),
        (None, Some(path)) => (
            path_rows(&file, path, origin)?,
            Some(file.closed.unwrap_or(true)),
        ),
    };
    Track::from_raw(RawTrack {
        origin: origin.to_string(),
        name: file.name,
        description: file.description,
        closed,
        rows,
        start: file.start,
        surface: file.surface,
    })
}

fn centerline_rows(
    file: &TrackFile,
    centerline: &[[f64; 2]],
    origin: &str,
) -> Result<Vec<RawRow>, TrackError> {
    let n = centerline.len();
    let given = [
        file.width.is_some(),
        file.widths.is_some(),
        file.left_widths.is_some() || file.right_widths.is_some(),
        file.borders.is_some(),
    ];
    match given.iter().filter(|&&g| g).count() {
        0 => {
            return Err(field(
                origin,
                "width",
                "missing: give `width = METRES`, per-point `widths`, `left_widths` and `right_widths`, or a [borders] table",
            ));
        }
        1 => {}
        _ => {
            return Err(field(
                origin,
                "width",
                "give only one of `width`, `widths`, `left_widths`/`right_widths` and [borders]",
            ));
        }
    }
    let extents: Vec<Extent> = if let Some(w) = file.width {
        vec![
            Extent::Widths {
                left: w / 2.0,
                right: w / 2.0
            };
            n
        ]
    } else if let Some(ws) = &file.widths {
        check_len(origin, "widths", ws.len(), n)?;
        ws.iter()
            .map(|&w| Extent::Widths {
                left: w / 2.0,
                right: w / 2.0,
            })
            .collect()
    } else if let Some(b) = &file.borders {
        check_len(origin, "borders.left", b.left.len(), n)?;
        check_len(origin, "borders.right", b.right.len(), n)?;
        b.left
            .iter()
            .zip(&b.right)
            .map(|(l, r)| Extent::Borders {
                a: Vec2::from(*l),
                b: Vec2::from(*r),
            })
            .collect()
    } else {
        let (Some(l), Some(r)) = (&file.left_widths, &file.right_widths) else {
            return Err(field(
                origin,
                "left_widths",
                "`left_widths` and `right_widths` go together: give both",
            ));
        };
        check_len(origin, "left_widths", l.len(), n)?;
        check_len(origin, "right_widths", r.len(), n)?;
        l.iter()
            .zip(r)
            .map(|(&left, &right)| Extent::Widths { left, right })
            .collect()
    };
    Ok(centerline
        .iter()
        .zip(extents)
        .enumerate()
        .map(|(i, (c, extent))| RawRow {
            label: format!("centerline[{i}]"),
            center: Vec2::from(*c),
            extent,
        })
        .collect())
}

fn path_rows(
    file: &TrackFile,
    path: &[PathSegment],
    origin: &str,
) -> Result<Vec<RawRow>, TrackError> {
    let Some(width) = file.width else {
        return Err(field(
            origin,
            "width",
            "missing: a track made from `path` needs `width = METRES`",
        ));
    };
    if file.widths.is_some()
        || file.left_widths.is_some()
        || file.right_widths.is_some()
        || file.borders.is_some()
    {
        return Err(field(
            origin,
            "widths",
            "per-point widths and borders go with `centerline`; a `path` takes one `width`",
        ));
    }
    let spacing = file.spacing.unwrap_or(DEFAULT_PATH_SPACING);
    if !(0.01..=5.0).contains(&spacing) {
        return Err(field(
            origin,
            "spacing",
            format!("{spacing} m: use a spacing between 0.01 and 5 m"),
        ));
    }
    let origin_pt = Vec2::from(file.origin.unwrap_or([0.0, 0.0]));
    let heading_deg = file.heading_deg.unwrap_or(0.0);
    if !origin_pt.is_finite() || !heading_deg.is_finite() {
        return Err(field(
            origin,
            "origin",
            "`origin` and `heading_deg` must be finite numbers",
        ));
    }
    let heading = heading_deg.to_radians();
    let (mut points, end_heading) = sample_path(origin, path, origin_pt, heading, spacing)?;
    if file.closed.unwrap_or(true) {
        let end = points[points.len() - 1];
        let gap = end.distance(origin_pt);
        let turn = wrap_angle(end_heading - heading).to_degrees();
        if gap > PATH_CLOSE_TOLERANCE_M || turn.abs() > 1.0 {
            return Err(field(
                origin,
                "path",
                format!(
                    "a closed track's path must end where it starts, but it ends {gap:.4} m away at ({:.4}, {:.4}) heading {:.2} deg (start heading {heading_deg:.2} deg): lengthen or shorten a straight, change a turn, or set closed = false",
                    end.x,
                    end.y,
                    wrap_angle(end_heading).to_degrees()
                ),
            ));
        }
        // the end coincides with the start: drop it, the loop closes by itself
        points.pop();
        if points
            .last()
            .is_some_and(|p| p.distance(origin_pt) < SAME_POINT_M)
        {
            points.pop();
        }
    }
    Ok(points
        .into_iter()
        .enumerate()
        .map(|(i, c)| RawRow {
            label: format!("path point {i}"),
            center: c,
            extent: Extent::Widths {
                left: width / 2.0,
                right: width / 2.0,
            },
        })
        .collect())
}

/// Writes a track as a chicane track file with an explicit centerline and
/// per-point widths (a single `width` when every point has the same centred
/// width). Numbers are written in Rust's shortest round-trip form, so
/// [`parse_toml`] gives back the same track.
pub fn to_toml(track: &Track) -> String {
    let mut out = String::new();
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    let _ = writeln!(
        out,
        "# chicane track file (see `chicane track --help`); coordinates and widths in metres"
    );
    let _ = writeln!(out, "name = {}", quote(track.name()));
    let _ = writeln!(out, "description = {}", quote(track.description()));
    let _ = writeln!(out, "closed = {}", track.is_closed());
    let n = track.num_waypoints();
    let w0 = track.waypoint_left_width(0);
    let uniform =
        (0..n).all(|i| track.waypoint_left_width(i) == w0 && track.waypoint_right_width(i) == w0);
    if uniform {
        let _ = writeln!(out, "width = {:?}", 2.0 * w0);
    }
    let _ = writeln!(out, "centerline = [");
    for p in track.waypoints() {
        let _ = writeln!(out, "  [{:?}, {:?}],", p.x, p.y);
    }
    let _ = writeln!(out, "]");
    if !uniform {
        for (key, get) in [
            (
                "left_widths",
                Track::waypoint_left_width as fn(&Track, usize) -> f64,
            ),
            ("right_widths", Track::waypoint_right_width),
        ] {
            let _ = write!(out, "{key} = [");
            for i in 0..n {
                if i % 8 == 0 {
                    out.push_str("\n ");
                }
                let _ = write!(out, " {:?},", get(track, i));
            }
            let _ = writeln!(out, "\n]");
        }
    }
    let start = track.start();
    let _ = writeln!(
        out,
        "\n[start]\ns = {:?}\ndirection = {}",
        start.s,
        quote(start.direction.as_str())
    );
    let surface = toml::to_string(track.surface()).unwrap_or_default();
    let _ = writeln!(out, "\n[surface]\n{surface}");
    out
}
