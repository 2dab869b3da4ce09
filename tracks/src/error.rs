//! Errors of track loading, validation and rendering.

use std::path::PathBuf;

/// Everything that can go wrong reading, validating or writing a track.
///
/// Every message names its source (a file path, `built-in NAME` or
/// `generated (seed N)`), the row or field at fault where there is one, and
/// how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackError {
    /// The file could not be read or written.
    #[error("{}: {action}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("cannot read", "cannot write").
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The `.npy` container itself is unreadable.
    #[error(
        "{origin}: not a readable .npy file ({detail}); save the track with numpy.save(path, array)"
    )]
    NpyFormat {
        /// Where the data came from.
        origin: String,
        /// What the npy reader said.
        detail: String,
    },
    /// The `.npy` array has the wrong shape.
    #[error(
        "{origin}: array shape is {shape:?}, expected (N, 6) rows of [center_x, center_y, inner_x, inner_y, outer_x, outer_y] (DeepRacer's track format)"
    )]
    NpyShape {
        /// Where the data came from.
        origin: String,
        /// The shape found.
        shape: Vec<u64>,
    },
    /// The `.npy` array has a dtype that is not a float.
    #[error(
        "{origin}: dtype is `{dtype}`, expected float64 ('<f8'); convert with numpy.save(path, array.astype(numpy.float64))"
    )]
    NpyDtype {
        /// Where the data came from.
        origin: String,
        /// The dtype descriptor found.
        dtype: String,
    },
    /// The TOML text is not valid TOML or does not fit the track schema.
    #[error("{origin}: {detail}")]
    Toml {
        /// Where the data came from.
        origin: String,
        /// The TOML parser's message, with line and column.
        detail: String,
    },
    /// A field holds a value that cannot be used.
    #[error("{origin}: {field}: {problem}")]
    Field {
        /// Where the data came from.
        origin: String,
        /// The field (`width`, `centerline[12]`, `row 7 inner_x`, ...).
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A coordinate or width is NaN or infinite.
    #[error(
        "{origin}: {location}: {field} is {value}, not a finite number; fix or delete that row"
    )]
    NonFinite {
        /// Where the data came from.
        origin: String,
        /// The row (`row 12`, `centerline[12]`).
        location: String,
        /// The column or field name.
        field: String,
        /// The offending value.
        value: f64,
    },
    /// Too few distinct centerline points for a track.
    #[error(
        "{origin}: only {distinct} distinct centerline points (after dropping repeats); a track needs at least 4"
    )]
    TooFewPoints {
        /// Where the data came from.
        origin: String,
        /// The number of distinct points found.
        distinct: usize,
    },
    /// A border lies on the wrong side of, or on, the centerline.
    #[error(
        "{origin}: {location}: the borders cross the centerline (both border points are on the {side} side, or one lies on it); the two border points of a row must lie on opposite sides of the centerline"
    )]
    BorderSide {
        /// Where the data came from.
        origin: String,
        /// The row.
        location: String,
        /// "left", "right" or "same".
        side: &'static str,
    },
    /// A track width that is zero or negative.
    #[error(
        "{origin}: {location}: the distance from the centerline to the border is {width} m; it must be greater than 0 (the border must not cross the centerline)"
    )]
    Width {
        /// Where the data came from.
        origin: String,
        /// The row or field.
        location: String,
        /// The width found on that side (m).
        width: f64,
    },
    /// Two centerline segments cross.
    #[error(
        "{origin}: the centerline crosses itself: the segment from {first} to the next point crosses the segment from {second}; a track must not intersect itself (a figure-eight needs a bridge chicane cannot simulate)"
    )]
    SelfIntersection {
        /// Where the data came from.
        origin: String,
        /// The first segment's starting row.
        first: String,
        /// The second segment's starting row.
        second: String,
    },
    /// The centerline doubles back on itself at a point.
    #[error(
        "{origin}: {location}: the centerline turns by {turn_deg:.0} degrees at this point, doubling back on itself; remove the stray point or smooth the corner (at most {max_deg:.0} degrees per point)"
    )]
    Spike {
        /// Where the data came from.
        origin: String,
        /// The row.
        location: String,
        /// The turn at that point (deg).
        turn_deg: f64,
        /// The largest turn accepted (deg).
        max_deg: f64,
    },
    /// A name that is neither a built-in track nor an existing file.
    #[error(
        "`{name}` is neither a track file nor a built-in track{}; built-in tracks are {builtins}; otherwise give the path of a chicane .toml track or a DeepRacer .npy file",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The closest built-in name, when `name` looks like a typo of it.
        suggestion: Option<String>,
        /// The built-in names, comma separated.
        builtins: String,
    },
    /// A racing line that cannot be computed on this track.
    #[error("{track}: racing line: {problem}")]
    Raceline {
        /// The track's name.
        track: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// Procedural generation found no valid track.
    #[error(
        "generated (seed {seed}): no valid track after {attempts} attempts with these parameters; loosen them (a larger length, a smaller width or a smaller min_radius)"
    )]
    Generate {
        /// The seed.
        seed: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// Encoding the rendered picture failed.
    #[error("{}: cannot write the picture: {detail}", path.display())]
    Image {
        /// The output file.
        path: PathBuf,
        /// The encoder's message.
        detail: String,
    },
}
