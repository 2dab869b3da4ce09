//! Procedural tracks: random closed loops a 1/18-scale car can drive.

use crate::error::TrackError;
use crate::surface::SurfaceHints;
use crate::track::{Direction, Extent, RawRow, RawTrack, Start, Track};
use chicane_core::{Vec2, wrap_angle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::{PI, TAU};

/// Limits for [`Track::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenerateParams {
    /// Centerline length (m). Default 24 (between DeepRacer's reinvent_base,
    /// 17.7 m, and reInvent2019_track, 23.1 m).
    pub length: f64,
    /// Track width (m), border to border. Default 0.76 (reinvent_base).
    pub width: f64,
    /// Smallest radius of curvature of the centerline (m). Default 0.6:
    /// above the 1/18 car's minimum turn radius (0.165 m wheelbase /
    /// tan 30 deg = 0.29 m) with margin, and above half the width so the
    /// inner border never folds.
    pub min_radius: f64,
    /// Least off-track gap (m) between two stretches of road that are not
    /// neighbours along the track. Default 0.3.
    pub min_gap: f64,
    /// Waypoint spacing (m). Default 0.15.
    pub spacing: f64,
    /// How wiggly the loop is, 0 (a circle) to 1. Default 1.
    pub roughness: f64,
}

impl Default for GenerateParams {
    fn default() -> Self {
        Self {
            length: 24.0,
            width: 0.76,
            min_radius: 0.6,
            min_gap: 0.3,
            spacing: 0.15,
            roughness: 1.0,
        }
    }
}

const MAX_ATTEMPTS: u32 = 400;
const HARMONICS: usize = 6;

impl GenerateParams {
    fn validate(&self, origin: &str) -> Result<(), TrackError> {
        let bad = |field: &str, problem: String| TrackError::Field {
            origin: origin.to_string(),
            field: field.to_string(),
            problem,
        };
        let positive = [
            ("length", self.length),
            ("width", self.width),
            ("min_radius", self.min_radius),
            ("spacing", self.spacing),
        ];
        for (field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(
                    field,
                    format!("{v}: must be a positive number of metres"),
                ));
            }
        }
        if !(self.min_gap.is_finite() && self.min_gap >= 0.0) {
            return Err(bad(
                "min_gap",
                format!("{}: must be 0 or more metres", self.min_gap),
            ));
        }
        if !(0.0..=1.0).contains(&self.roughness) {
            return Err(bad(
                "roughness",
                format!("{}: must be between 0 and 1", self.roughness),
            ));
        }
        if self.min_radius <= self.width / 2.0 {
            return Err(bad(
                "min_radius",
                format!(
                    "{} m must exceed half the width ({} m), or the inner border folds over itself",
                    self.min_radius,
                    self.width / 2.0
                ),
            ));
        }
        if self.length < 2.0 * PI * self.min_radius || self.length < 20.0 * self.spacing {
            return Err(bad(
                "length",
                format!(
                    "{} m is too short: use at least 2*pi*min_radius and 20 waypoint spacings",
                    self.length
                ),
            ));
        }
        if self.length > 1000.0 {
            return Err(bad("length", format!("{} m: at most 1000 m", self.length)));
        }
        Ok(())
    }
}

/// A closed star-shaped curve r(theta) = 1 + sum a_k cos(k theta + phi_k),
/// scaled to `length` and resampled every `spacing` metres.
fn candidate(amps: &[(f64, f64)], length: f64, spacing: f64) -> Vec<Vec2> {
    const FINE: usize = 2048;
    let fine: Vec<Vec2> = (0..FINE)
        .map(|i| {
            let th = TAU * i as f64 / FINE as f64;
            let r = 1.0
                + amps
                    .iter()
                    .enumerate()
                    .map(|(k, (a, ph))| a * ((k + 2) as f64 * th + ph).cos())
                    .sum::<f64>();
            Vec2::from_angle(th) * r
        })
        .collect();
    let perimeter: f64 = (0..FINE)
        .map(|i| fine[i].distance(fine[(i + 1) % FINE]))
        .sum();
    let scale = length / perimeter;
    let n = (length / spacing).round().max(8.0) as usize;
    let step = length / n as f64;
    let mut out = Vec::with_capacity(n);
    let (mut acc, mut i) = (0.0, 0usize);
    for k in 0..n {
        let target = k as f64 * step;
        loop {
            let seg = fine[i].distance(fine[(i + 1) % FINE]) * scale;
            if acc + seg >= target || i + 1 == FINE {
                let t = if seg > 0.0 {
                    ((target - acc) / seg).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                out.push(fine[i].lerp(fine[(i + 1) % FINE], t) * scale);
                break;
            }
            acc += seg;
            i += 1;
        }
    }
    out
}

fn acceptable(pts: &[Vec2], p: &GenerateParams) -> bool {
    let n = pts.len();
    for i in 0..n {
        // the same discrete curvature as `Track::curvature_at`: the turn at
        // a waypoint over the mean length of its two segments
        let (a, b) = (pts[i] - pts[(i + n - 1) % n], pts[(i + 1) % n] - pts[i]);
        let turn = wrap_angle(b.angle() - a.angle()).abs();
        if turn > 0.0 && 0.5 * (a.length() + b.length()) / turn < p.min_radius {
            return false;
        }
    }
    // stretches further apart along the track than half a turn at the
    // minimum radius must be at least a road width plus the gap apart
    let step = p.length / n as f64;
    let skip = ((PI * p.min_radius + p.width) / step).ceil() as usize;
    let clearance = p.width + p.min_gap;
    for i in 0..n {
        for j in (i + skip)..n {
            if n - (j - i) < skip {
                break;
            }
            if pts[i].distance(pts[j]) < clearance {
                return false;
            }
        }
    }
    true
}

impl Track {
    /// A random closed track, the same for the same `seed` and `params`.
    ///
    /// The loop is a star-shaped curve, radius `1 + sum_k a_k cos(k theta +
    /// phi_k)` with random harmonics `k = 2..7` whose amplitudes sum below 1
    /// (so it never crosses itself), scaled to `params.length`. It is kept
    /// only if its radius of curvature stays above `params.min_radius`
    /// everywhere and any two stretches that are not neighbours keep
    /// `width + min_gap` apart. The start position and driving direction are
    /// random too.
    ///
    /// # Errors
    /// [`TrackError::Field`] for parameters that cannot give a track, and
    /// [`TrackError::Generate`] when no candidate passes in 400 attempts.
    pub fn generate(seed: u64, params: &GenerateParams) -> Result<Track, TrackError> {
        let origin = format!("generated (seed {seed})");
        params.validate(&origin)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for attempt in 0..MAX_ATTEMPTS {
            // later attempts are calmer, so tight limits still find a track
            let calm = 1.0 - 0.8 * attempt as f64 / MAX_ATTEMPTS as f64;
            let amps: Vec<(f64, f64)> = (0..HARMONICS)
                .map(|k| {
                    let limit = 0.35 * params.roughness * calm / (k as f64 + 1.0);
                    (
                        rng.random_range(-1.0..=1.0) * limit,
                        rng.random_range(0.0..TAU),
                    )
                })
                .collect();
            let pts = candidate(&amps, params.length, params.spacing);
            if !acceptable(&pts, params) {
                continue;
            }
            let half = params.width / 2.0;
            let n = pts.len();
            let start = Start {
                s: rng.random_range(0.0..params.length),
                direction: if rng.random_bool(0.5) {
                    Direction::Forward
                } else {
                    Direction::Reverse
                },
            };
            return Track::from_raw(RawTrack {
                origin,
                name: format!("generated-{seed}"),
                description: format!(
                    "Procedural track, seed {seed}: {:.1} m long, {} m wide, min radius {} m",
                    params.length, params.width, params.min_radius
                ),
                closed: Some(true),
                rows: (0..n)
                    .map(|i| RawRow {
                        label: format!("point {i}"),
                        center: pts[i],
                        extent: Extent::Widths {
                            left: half,
                            right: half,
                        },
                    })
                    .collect(),
                start,
                surface: SurfaceHints::default(),
            });
        }
        Err(TrackError::Generate {
            seed,
            attempts: MAX_ATTEMPTS,
        })
    }
}
