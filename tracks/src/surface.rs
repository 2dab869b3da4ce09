//! How a track looks: colours and line sizes, used by the top-down picture
//! and the camera renderer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An sRGB colour, written `"#rrggbb"` in track files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub [u8; 3]);

impl Color {
    /// Parses `#rrggbb` (the `#` is optional).
    ///
    /// # Errors
    /// A message saying what is wrong when the text is not six hex digits.
    pub fn parse(text: &str) -> Result<Color, String> {
        let hex = text.strip_prefix('#').unwrap_or(text);
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!(
                "`{text}` is not a colour; write it as \"#rrggbb\", for example \"#ffffff\""
            ));
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|e| e.to_string());
        Ok(Color([byte(0)?, byte(2)?, byte(4)?]))
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Color::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Colours and painted lines of a track (the `[surface]` table of a track
/// file). Defaults follow the look of DeepRacer's tracks: dark road, white
/// border lines, a dashed yellow centre line, green surroundings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurfaceHints {
    /// Road surface colour. Default `#2a2a2a`.
    pub road: Color,
    /// Border line colour. Default `#f5f5f5`.
    pub border: Color,
    /// Centre line colour. Default `#f0b400`.
    pub center_line: Color,
    /// Off-track ground colour. Default `#3b6e3b`.
    pub off_track: Color,
    /// Width (m) of each painted border line, inside the road edge.
    /// Default 0.0508 (2 in, the tape on DeepRacer's printed tracks).
    pub border_line_width: f64,
    /// Width (m) of the dashed centre line. Default 0.0254 (1 in).
    pub center_line_width: f64,
    /// Length (m) of one centre-line dash. Default 0.15.
    pub dash_length: f64,
    /// Gap (m) between centre-line dashes. Default 0.15.
    pub dash_gap: f64,
}

impl Default for SurfaceHints {
    fn default() -> Self {
        Self {
            road: Color([0x2a, 0x2a, 0x2a]),
            border: Color([0xf5, 0xf5, 0xf5]),
            center_line: Color([0xf0, 0xb4, 0x00]),
            off_track: Color([0x3b, 0x6e, 0x3b]),
            border_line_width: 0.0508,
            center_line_width: 0.0254,
            dash_length: 0.15,
            dash_gap: 0.15,
        }
    }
}

impl SurfaceHints {
    /// Checks the line sizes: each must be finite and positive.
    ///
    /// # Errors
    /// The name of the first bad field and what it must be.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (field, v) in [
            ("surface.border_line_width", self.border_line_width),
            ("surface.center_line_width", self.center_line_width),
            ("surface.dash_length", self.dash_length),
            ("surface.dash_gap", self.dash_gap),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 10.0) {
                return Err((
                    field.to_string(),
                    format!("{v} m must be a number between 0 and 10 (exclusive)"),
                ));
            }
        }
        Ok(())
    }
}
