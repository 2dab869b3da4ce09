//! chicane-tracks: race track geometry.
//!
//! A [`Track`] is a validated centerline (m) with a border on each side,
//! closed or open. It answers what the simulator and reward functions ask:
//! length, local width, heading, curvature, Frenet coordinates `(s, d)`,
//! DeepRacer's `closest_waypoints` and progress. Tracks come from
//! chicane's TOML files ([`parse_toml`]), DeepRacer's `.npy` files
//! ([`parse_npy`]), the built-ins ([`builtin`]) or [`Track::generate`].
//!
//! ```
//! let track = chicane_tracks::load("easy-oval").unwrap();
//! let f = track.to_frenet(track.to_world(3.0, 0.2));
//! assert!((f.s - 3.0).abs() < 1e-9 && (f.d - 0.2).abs() < 1e-9);
//! ```

mod builtin;
mod error;
mod format;
mod generate;
mod npy;
mod path;
mod raceline;
mod render;
mod surface;
mod track;

pub use builtin::{DEFAULT_TRACK, builtin, builtin_names, builtin_source};
pub use error::TrackError;
pub use format::{DEFAULT_PATH_SPACING, parse_toml, to_toml};
pub use generate::GenerateParams;
pub use npy::{parse_npy, rows_to_npy, to_npy};
pub use path::PathSegment;
pub use raceline::{
    RacelineOptions, RacingLine, SpeedLimits, polyline_curvature, racing_line, speed_profile,
};
pub use render::{
    PixelFrame, RenderOptions, draw_polyline, pixel_frame, ramp_color, render_top_down, save_png,
};
pub use surface::{Color, SurfaceHints};
pub use track::{Direction, Frenet, Start, Track};

use std::path::Path;

/// Loads a track from a built-in name, a chicane `.toml` file or a
/// DeepRacer `.npy` file (by extension). An imported `.npy` track is named
/// after its file stem.
///
/// # Errors
/// [`TrackError::Unknown`] for a name that is neither a built-in nor a
/// file, [`TrackError::Io`] for an unreadable file, and the loaders' errors.
pub fn load(spec: &str) -> Result<Track, TrackError> {
    if let Some(track) = builtin(spec) {
        return track;
    }
    if let Some(rest) = spec.strip_prefix("random:") {
        return load_random(spec, rest);
    }
    let path = Path::new(spec);
    if !path.exists() {
        // a missing file or an unknown name: say both, and suggest the
        // nearest built-in (by the file stem for a path)
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(spec)
            .replace('_', "-");
        let suggestion = chicane_core::closest(&stem, builtin_names()).map(str::to_string);
        return Err(TrackError::Unknown {
            name: spec.to_string(),
            suggestion,
            builtins: builtin_names().collect::<Vec<_>>().join(", "),
        });
    }
    load_file(path)
}

/// A procedural track from a `random:seed=N[,length=M]` spec
/// ([`Track::generate`] with the default parameters, `length` in m).
fn load_random(spec: &str, rest: &str) -> Result<Track, TrackError> {
    let bad = |problem: String| TrackError::Field {
        origin: spec.to_string(),
        field: "random".into(),
        problem,
    };
    let mut seed = None;
    let mut params = GenerateParams::default();
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("seed", v)) => {
                seed = Some(
                    v.parse::<u64>()
                        .map_err(|_| bad(format!("seed `{v}` is not a whole number")))?,
                )
            }
            Some(("length", v)) => {
                params.length = v
                    .parse::<f64>()
                    .map_err(|_| bad(format!("length `{v}` is not a number of metres")))?
            }
            _ => {
                return Err(bad(format!(
                    "`{part}`: write random:seed=N or random:seed=N,length=METRES"
                )));
            }
        }
    }
    let seed = seed.ok_or_else(|| bad("no seed: write random:seed=N".into()))?;
    let mut track = Track::generate(seed, &params)?;
    track.set_name(format!("random-{seed}"));
    Ok(track)
}

/// Loads a track file: `.npy` (DeepRacer) or anything else as chicane TOML.
///
/// # Errors
/// [`TrackError::Io`] for an unreadable file and the loaders' errors.
pub fn load_file(path: &Path) -> Result<Track, TrackError> {
    let io = |source| TrackError::Io {
        path: path.to_path_buf(),
        action: "cannot read track file",
        source,
    };
    let origin = path.display().to_string();
    let is_npy = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        let bytes = std::fs::read(path).map_err(io)?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("imported");
        parse_npy(&bytes, &origin, name)
    } else {
        let text = std::fs::read_to_string(path).map_err(io)?;
        parse_toml(&text, &origin)
    }
}

#[cfg(test)]
mod random_spec_tests {
    use super::*;

    #[test]
    fn random_specs_generate_the_same_track_per_seed() {
        let a = load("random:seed=3").expect("generates");
        let b = load("random:seed=3").expect("generates");
        assert_eq!(a.name(), "random-3");
        assert_eq!(a.waypoints(), b.waypoints());
        assert_ne!(
            a.waypoints(),
            load("random:seed=4").expect("generates").waypoints()
        );
        let long = load("random:seed=3,length=30").expect("generates");
        assert!((long.length() - 30.0).abs() < 3.0, "{}", long.length());
        for bad in [
            "random:",
            "random:seed=x",
            "random:seed=1,width=2",
            "random:len=3",
        ] {
            let e = load(bad).expect_err(bad).to_string();
            assert!(e.contains("random"), "{bad}: {e}");
        }
    }
}
