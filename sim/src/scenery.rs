//! What stands around a physical track and lies on its floor: barriers
//! around it, furniture and people beyond the road, and on the floor tape,
//! shadows and the reflections of ceiling lights. A model trained on a bare
//! textured plane under a clean sky meets all of these on a real car's
//! first lap; DeepRacer's sim-to-real paper (Balaji et al. 2019, arXiv
//! 1911.01562, section 5) names shadows among the image randomisations
//! that transferred.
//!
//! Everything here is seen by the camera only: nothing collides and the
//! lidar does not see it. The objects and the floor's marks are drawn
//! again at every reset from the env's seeded stream, so the same seed
//! gives the same scenery; all of it is off by default.

use crate::camera::{Decal, DecalShape, DrawBox, Walls};
use crate::vehicle::BoxBody;
use chicane_core::Vec2;
use chicane_tracks::Track;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Scenery settings (`[sim.scenery]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenery {
    /// Height (m) of a barrier standing all around the track: the four
    /// sides of the track's bounding rectangle (borders included), each
    /// pushed out by `wall_distance`. 0 = no walls; within 0..3, e.g. 0.6.
    /// Default 0.
    pub wall_height: f64,
    /// How far (m) the walls stand outside the track's bounding rectangle,
    /// within 0.1..20. Default 1.
    pub wall_distance: f64,
    /// The walls' colour (sRGB), shaded per face by the light. Default
    /// `[48, 52, 64]`, a dark blue-grey.
    pub wall_color: [u8; 3],
    /// Boxes of random size (0.2-1.2 m across, 0.3-1.8 m tall) and colour
    /// standing off the road, at least 0.5 m beyond its borders and inside
    /// the walls' rectangle: tables, crates, people. Within 0..200, e.g. 12.
    /// Default 0.
    pub background_objects: u32,
    /// Shadows on the floor per episode: soft ellipses 0.3-1.5 m long,
    /// anywhere in the walls' rectangle, road included. Within 0..100,
    /// e.g. 6. Default 0.
    pub shadows: u32,
    /// The light a shadow's core takes away (0 = invisible, 1 = black),
    /// within 0..0.95. Each shadow draws its own darkness within
    /// `0.4..1` of this. Default 0.5.
    pub shadow_strength: f64,
    /// Strips of tape on the floor per episode: 24-50 mm wide (1-2 inch
    /// gaffer tape), 0.2-1.5 m long, white, yellow, black, red or blue,
    /// at any angle, road included. Within 0..200, e.g. 10. Default 0.
    pub tape_strips: u32,
    /// Reflections of ceiling lights on a glossy floor per episode: bright
    /// soft ellipses 0.15-0.6 m across. Within 0..100, e.g. 4. Default 0.
    pub reflections: u32,
    /// A reflection's brightness at its core (the fraction blended
    /// towards white), within 0..1. Default 0.4.
    pub reflection_strength: f64,
}

impl Default for Scenery {
    fn default() -> Self {
        Self {
            wall_height: 0.0,
            wall_distance: 1.0,
            wall_color: [48, 52, 64],
            background_objects: 0,
            shadows: 0,
            shadow_strength: 0.5,
            tape_strips: 0,
            reflections: 0,
            reflection_strength: 0.4,
        }
    }
}

/// Tape colours (sRGB): white, yellow, black, red, blue.
const TAPE_COLORS: [[u8; 3]; 5] = [
    [236, 236, 230],
    [232, 196, 40],
    [28, 28, 30],
    [196, 44, 40],
    [40, 84, 196],
];

/// Clearance (m) between a background object and the road's borders.
const OBJECT_CLEARANCE: f64 = 0.5;

/// Where scenery is drawn when there are no walls: the track's bounding
/// rectangle grown by this (m).
const OPEN_MARGIN: f64 = 2.0;

/// One episode's scenery, drawn by [`Scenery::draw`].
#[derive(Debug, Clone, Default)]
pub(crate) struct SceneryDraw {
    /// The barrier, if any.
    pub walls: Option<Walls>,
    /// Background objects.
    pub objects: Vec<DrawBox>,
    /// Marks on the floor, in painting order.
    pub decals: Vec<Decal>,
}

impl Scenery {
    /// True when anything is drawn.
    pub fn is_active(&self) -> bool {
        self.wall_height > 0.0
            || self.background_objects > 0
            || self.shadows > 0
            || self.tape_strips > 0
            || self.reflections > 0
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// `(field, problem)` naming the field (as `scenery.X`) and its
    /// allowed range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        crate::config::check_ranges(
            "scenery",
            &[
                ("wall_height", self.wall_height, 0.0, 3.0),
                ("wall_distance", self.wall_distance, 0.1, 20.0),
                (
                    "background_objects",
                    f64::from(self.background_objects),
                    0.0,
                    200.0,
                ),
                ("shadows", f64::from(self.shadows), 0.0, 100.0),
                ("shadow_strength", self.shadow_strength, 0.0, 0.95),
                ("tape_strips", f64::from(self.tape_strips), 0.0, 200.0),
                ("reflections", f64::from(self.reflections), 0.0, 100.0),
                ("reflection_strength", self.reflection_strength, 0.0, 1.0),
            ],
        )
    }

    /// The rectangle `(min, max)` (m) the scenery lives in: inside the
    /// walls, or the track's bounds grown by [`OPEN_MARGIN`] without them.
    pub(crate) fn area(&self, track: &Track) -> (Vec2, Vec2) {
        let (lo, hi) = track.bounds();
        let m = if self.wall_height > 0.0 {
            self.wall_distance
        } else {
            OPEN_MARGIN
        };
        (Vec2::new(lo.x - m, lo.y - m), Vec2::new(hi.x + m, hi.y + m))
    }

    /// Draws one episode's scenery on `track` from `rng`.
    pub(crate) fn draw(&self, track: &Track, rng: &mut ChaCha8Rng) -> SceneryDraw {
        let (lo, hi) = self.area(track);
        let walls = (self.wall_height > 0.0).then_some(Walls {
            min: [lo.x, lo.y],
            max: [hi.x, hi.y],
            height: self.wall_height,
            color: self.wall_color,
        });
        let point = |rng: &mut ChaCha8Rng| {
            Vec2::new(rng.random_range(lo.x..hi.x), rng.random_range(lo.y..hi.y))
        };
        let mut objects = Vec::new();
        for _ in 0..self.background_objects {
            // a few tries to find room off the road; a crowded infield
            // simply gets fewer objects
            for _ in 0..50 {
                let size: [f64; 3] = [
                    rng.random_range(0.2..1.2),
                    rng.random_range(0.2..1.2),
                    rng.random_range(0.3..1.8),
                ];
                let centre = point(rng);
                let reach = 0.5 * size[0].hypot(size[1]);
                let inside = centre.x - reach > lo.x
                    && centre.x + reach < hi.x
                    && centre.y - reach > lo.y
                    && centre.y + reach < hi.y;
                if !inside || on_road(track, centre, reach + OBJECT_CLEARANCE) {
                    continue;
                }
                let color = [
                    rng.random_range(30..=230),
                    rng.random_range(30..=230),
                    rng.random_range(30..=230),
                ];
                objects.push(DrawBox {
                    body: BoxBody {
                        center: centre,
                        yaw: rng.random_range(0.0..std::f64::consts::PI),
                        size,
                    },
                    color,
                });
                break;
            }
        }
        let mut decals = Vec::new();
        for _ in 0..self.shadows {
            let a = rng.random_range(0.3..1.5) / 2.0;
            let b = a * rng.random_range(0.3..1.0);
            decals.push(Decal {
                shape: DecalShape::Ellipse {
                    radii: [a, b],
                    softness: 0.5,
                },
                center: point(rng),
                yaw: rng.random_range(0.0..std::f64::consts::PI),
                color: [0, 0, 0],
                alpha: self.shadow_strength * rng.random_range(0.4..1.0),
            });
        }
        for _ in 0..self.reflections {
            let a = rng.random_range(0.15..0.6) / 2.0;
            let b = a * rng.random_range(0.5..1.0);
            decals.push(Decal {
                shape: DecalShape::Ellipse {
                    radii: [a, b],
                    softness: 1.0,
                },
                center: point(rng),
                yaw: rng.random_range(0.0..std::f64::consts::PI),
                color: [255, 255, 255],
                alpha: self.reflection_strength,
            });
        }
        for _ in 0..self.tape_strips {
            let half_width = rng.random_range(0.024..0.05) / 2.0;
            let half_length = rng.random_range(0.2..1.5) / 2.0;
            decals.push(Decal {
                shape: DecalShape::Strip {
                    half_length,
                    half_width,
                },
                center: point(rng),
                yaw: rng.random_range(0.0..std::f64::consts::PI),
                color: TAPE_COLORS[rng.random_range(0..TAPE_COLORS.len())],
                alpha: 1.0,
            });
        }
        SceneryDraw {
            walls,
            objects,
            decals,
        }
    }
}

/// True when a disc of radius `reach` (m) at `p` touches the road.
fn on_road(track: &Track, p: Vec2, reach: f64) -> bool {
    let f = track.to_frenet(p);
    let half = if f.d >= 0.0 {
        track.left_width_at(f.s)
    } else {
        track.right_width_at(f.s)
    };
    f.d.abs() < half + reach
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn track() -> Track {
        chicane_tracks::load("speedway").expect("built-in")
    }

    #[test]
    fn off_by_default_and_ranges_checked() {
        assert!(!Scenery::default().is_active());
        Scenery::default().validate().expect("defaults valid");
        let bad = Scenery {
            shadow_strength: 1.0,
            ..Scenery::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "scenery.shadow_strength");
        let bad = Scenery {
            wall_height: f64::NAN,
            ..Scenery::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "scenery.wall_height");
    }

    #[test]
    fn draws_within_the_area_and_objects_off_the_road() {
        let t = track();
        let s = Scenery {
            wall_height: 0.6,
            wall_distance: 1.5,
            background_objects: 30,
            shadows: 5,
            tape_strips: 7,
            reflections: 3,
            ..Scenery::default()
        };
        let d = s.draw(&t, &mut ChaCha8Rng::seed_from_u64(4));
        let (lo, hi) = t.bounds();
        let w = d.walls.expect("walls");
        assert_eq!(w.min, [lo.x - 1.5, lo.y - 1.5]);
        assert_eq!(w.max, [hi.x + 1.5, hi.y + 1.5]);
        assert!(d.objects.len() >= 20, "{} objects", d.objects.len());
        for o in &d.objects {
            let c = o.body.center;
            assert!(c.x > w.min[0] && c.x < w.max[0] && c.y > w.min[1] && c.y < w.max[1]);
            assert!(!on_road(&t, c, OBJECT_CLEARANCE));
        }
        assert_eq!(d.decals.len(), 15);
        // the same stream draws the same scenery
        let e = s.draw(&t, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(format!("{:?}", d.decals), format!("{:?}", e.decals));
    }
}
