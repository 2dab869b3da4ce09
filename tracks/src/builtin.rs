//! Tracks designed for chicane and embedded in the binary.

use crate::error::TrackError;
use crate::format::parse_toml;
use crate::track::Track;

/// The track used when a run names none: DeepRacer-size, with a hairpin and
/// a chicane.
pub const DEFAULT_TRACK: &str = "technical-loop";

const BUILTINS: &[(&str, &str)] = &[
    ("easy-oval", include_str!("../data/easy-oval.toml")),
    (
        "technical-loop",
        include_str!("../data/technical-loop.toml"),
    ),
    ("flow-circuit", include_str!("../data/flow-circuit.toml")),
    ("speedway", include_str!("../data/speedway.toml")),
];

/// Names of the built-in tracks, in the order `chicane track list` shows them.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _)| *name)
}

/// The TOML source of a built-in track, or `None` for an unknown name.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Loads a built-in track by name; `None` when there is no such built-in.
///
/// # Errors
/// None in practice: every built-in is validated by the test suite. The
/// `Result` carries the validation error should a built-in ever break.
pub fn builtin(name: &str) -> Option<Result<Track, TrackError>> {
    builtin_source(name).map(|text| parse_toml(text, &format!("built-in track {name}")))
}
