//! Marks on the floor (shadows, tape, reflections) as a second,
//! per-env texture over the track's: premultiplied RGBA at 2.5 cm per
//! texel with its own mip chain, repainted each episode and composited
//! over the ground texture (`out = ground (1 - a) + rgb`, Porter and Duff
//! 1984's "over").

use super::texture::Level;
use chicane_core::Vec2;

/// Overlay resolution (texels per metre); less for a very large area.
pub(crate) const OVERLAY_TEXELS_PER_METER: f64 = 40.0;

/// Largest overlay side (texels).
const MAX_SIDE: f64 = 2048.0;

/// Side (level-0 texels, a power of two) of the cells of the occupancy
/// mask that lets the renderer skip the overlay where nothing is painted.
const CELL: usize = 16;

/// log2 of [`CELL`]: from this mip level up, a texel's bilinear footprint
/// spans more than a cell and the mask is not consulted.
const CELL_LOG2: usize = 4;

/// A mark's outline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DecalShape {
    /// An ellipse with semi-axes `radii` (m, along its yaw and across),
    /// its opacity falling to 0 over the outer `softness` fraction of the
    /// radius (0 = a hard edge, 1 = from the centre).
    Ellipse {
        /// Semi-axes (m).
        radii: [f64; 2],
        /// Fraction of the radius the edge fades over, in 0..=1.
        softness: f64,
    },
    /// A straight strip (tape), hard edged (antialiased over one texel).
    Strip {
        /// Half its length (m), along its yaw.
        half_length: f64,
        /// Half its width (m).
        half_width: f64,
    },
}

/// One mark on the floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decal {
    /// The outline.
    pub shape: DecalShape,
    /// Centre (m).
    pub center: Vec2,
    /// Orientation (rad, counter-clockwise from +x).
    pub yaw: f64,
    /// Colour (sRGB).
    pub color: [u8; 3],
    /// Opacity at the core, in 0..=1.
    pub alpha: f64,
}

/// The floor's marks as a mip-mapped premultiplied RGBA texture over a
/// world rectangle.
#[derive(Debug, Clone)]
pub(crate) struct GroundOverlay {
    pub(super) levels: Vec<Level>,
    /// Level-0 rectangles `[x0, x1, y0, y1]` (inclusive) the last paint
    /// touched, cleared by the next.
    painted: Vec<[usize; 4]>,
    /// Per [`CELL`] x [`CELL`] block of level 0, grown by one block: 1
    /// where a mark may show, row-major, `mask_w` wide.
    mask: Vec<u8>,
    mask_w: usize,
    /// World point of the top-left corner of texel (0, 0) (m).
    pub(super) top_left: Vec2,
    /// Texels per metre at level 0.
    pub(super) scale: f64,
}

impl GroundOverlay {
    /// The top-left corner (m), texels per metre and level-0 size of an
    /// overlay covering `min..max` (m).
    pub(crate) fn frame(min: Vec2, max: Vec2) -> (Vec2, f64, usize, usize) {
        let (w_m, h_m) = ((max.x - min.x).max(0.1), (max.y - min.y).max(0.1));
        let scale = OVERLAY_TEXELS_PER_METER
            .min(MAX_SIDE / w_m)
            .min(MAX_SIDE / h_m);
        (
            Vec2::new(min.x, max.y),
            scale,
            (w_m * scale).ceil() as usize + 1,
            (h_m * scale).ceil() as usize + 1,
        )
    }

    /// An empty (transparent) overlay covering `min..max` (m).
    pub(crate) fn new(min: Vec2, max: Vec2) -> GroundOverlay {
        let (top_left, scale, w, h) = GroundOverlay::frame(min, max);
        let levels = Level {
            w,
            h,
            data: vec![0; w * h * 4],
        }
        .mip_chain(4);
        let mask_w = w.div_ceil(CELL);
        GroundOverlay {
            levels,
            painted: Vec::new(),
            mask: vec![0; mask_w * h.div_ceil(CELL)],
            mask_w,
            top_left,
            scale,
        }
    }

    /// Clears the overlay and paints `decals` in order, each over those
    /// before, then rebuilds the mip chain where anything changed.
    pub(crate) fn paint(&mut self, decals: &[Decal]) {
        let (w, h) = (self.levels[0].w, self.levels[0].h);
        let mut dirty = std::mem::take(&mut self.painted);
        let data = &mut self.levels[0].data;
        for &[x0, x1, y0, y1] in &dirty {
            for y in y0..=y1 {
                data[(y * w + x0) * 4..(y * w + x1 + 1) * 4].fill(0);
            }
        }
        // cells with a painted texel, grown by one cell into the mask below
        let mut marked = vec![0u8; self.mask.len()];
        let mask_h = self.mask.len() / self.mask_w;
        let texel = 1.0 / self.scale;
        for d in decals {
            let (sy, cy) = d.yaw.sin_cos();
            let reach = match d.shape {
                DecalShape::Ellipse { radii, .. } => radii[0].max(radii[1]),
                DecalShape::Strip {
                    half_length,
                    half_width,
                } => half_length.hypot(half_width),
            } + texel;
            // texel bounds of the mark's bounding disc
            let to_x = |x: f64| ((x - self.top_left.x) * self.scale).floor();
            let to_y = |y: f64| ((self.top_left.y - y) * self.scale).floor();
            let (x0, x1) = (to_x(d.center.x - reach), to_x(d.center.x + reach));
            let (y0, y1) = (to_y(d.center.y + reach), to_y(d.center.y - reach));
            let clampi = |v: f64, n: usize| v.clamp(0.0, n as f64 - 1.0) as usize;
            let (x0, x1, y0, y1) = (clampi(x0, w), clampi(x1, w), clampi(y0, h), clampi(y1, h));
            self.painted.push([x0, x1, y0, y1]);
            for ty in y0..=y1 {
                for tx in x0..=x1 {
                    // the texel's centre in the mark's own frame
                    let p = Vec2::new(
                        self.top_left.x + (tx as f64 + 0.5) * texel,
                        self.top_left.y - (ty as f64 + 0.5) * texel,
                    ) - d.center;
                    let (lx, ly) = (cy * p.x + sy * p.y, -sy * p.x + cy * p.y);
                    let coverage = match d.shape {
                        DecalShape::Ellipse { radii, softness } => {
                            let r = ((lx / radii[0]).powi(2) + (ly / radii[1]).powi(2)).sqrt();
                            if softness <= 0.0 {
                                f64::from(u8::from(r <= 1.0))
                            } else {
                                // smoothstep from the hard core to the rim
                                let t = ((1.0 - r) / softness).clamp(0.0, 1.0);
                                t * t * (3.0 - 2.0 * t)
                            }
                        }
                        DecalShape::Strip {
                            half_length,
                            half_width,
                        } => {
                            let edge = |half: f64, v: f64| {
                                ((half - v.abs()) / texel + 0.5).clamp(0.0, 1.0)
                            };
                            edge(half_length, lx) * edge(half_width, ly)
                        }
                    };
                    let a = (d.alpha * coverage).clamp(0.0, 1.0);
                    if a <= 0.0 {
                        continue;
                    }
                    marked[(ty / CELL) * self.mask_w + tx / CELL] = 1;
                    let i = (ty * w + tx) * 4;
                    let px = &mut data[i..i + 4];
                    // premultiplied "over": new = src + dst (1 - src_a)
                    let keep = 1.0 - a;
                    for (p, &c) in px.iter_mut().zip(&d.color) {
                        let src = f64::from(c) * a;
                        *p = (src + f64::from(*p) * keep + 0.5).min(255.0) as u8;
                    }
                    px[3] = (255.0 * a + f64::from(px[3]) * keep + 0.5).min(255.0) as u8;
                }
            }
        }
        let mw = self.mask_w;
        for my in 0..mask_h {
            for mx in 0..mw {
                let near = |dy: isize, dx: isize| {
                    let (y, x) = (my as isize + dy, mx as isize + dx);
                    y >= 0
                        && x >= 0
                        && (y as usize) < mask_h
                        && (x as usize) < mw
                        && marked[y as usize * mw + x as usize] != 0
                };
                self.mask[my * mw + mx] =
                    u8::from((-1..=1).any(|dy| (-1..=1).any(|dx| near(dy, dx))));
            }
        }
        dirty.extend_from_slice(&self.painted);
        for lv in 1..self.levels.len() {
            let (done, rest) = self.levels.split_at_mut(lv);
            for &[x0, x1, y0, y1] in &dirty {
                done[lv - 1].downsample_rect(
                    4,
                    &mut rest[0],
                    [x0 >> lv, x1 >> lv, y0 >> lv, y1 >> lv],
                );
            }
        }
    }

    /// False only where nothing is painted near the level-`lv` fixed-point
    /// coordinates `(x, y)` (as `Level::bilinear` takes them), so the
    /// fetch can be skipped.
    #[inline(always)]
    pub(super) fn may_cover(&self, lv: usize, x: i32, y: i32) -> bool {
        if lv >= CELL_LOG2 {
            return true;
        }
        let (cx, cy) = (((x >> 8) << lv) >> CELL_LOG2, ((y >> 8) << lv) >> CELL_LOG2);
        if cx < 0 || cy < 0 {
            return false;
        }
        let (cx, cy) = (cx as usize, cy as usize);
        cx < self.mask_w
            && self
                .mask
                .get(cy * self.mask_w + cx)
                .is_some_and(|&m| m != 0)
    }

    /// Number of mip levels.
    pub(super) fn num_levels(&self) -> usize {
        self.levels.len()
    }

    /// Texels per metre at level 0.
    pub(super) fn texels_per_meter(&self) -> f64 {
        self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_paint_where_they_are_and_mips_average() {
        let mut o = GroundOverlay::new(Vec2::new(0.0, 0.0), Vec2::new(2.0, 1.0));
        assert_eq!((o.levels[0].w, o.levels[0].h), (81, 41));
        let tape = Decal {
            shape: DecalShape::Strip {
                half_length: 0.5,
                half_width: 0.025,
            },
            center: Vec2::new(1.0, 0.5),
            yaw: 0.0,
            color: [255, 0, 0],
            alpha: 1.0,
        };
        let shadow = Decal {
            shape: DecalShape::Ellipse {
                radii: [0.2, 0.2],
                softness: 0.0,
            },
            center: Vec2::new(0.3, 0.5),
            yaw: 0.3,
            color: [0, 0, 0],
            alpha: 0.5,
        };
        o.paint(&[tape, shadow]);
        let at = |x: f64, y: f64| {
            let tx = ((x - 0.0) * 40.0) as usize;
            let ty = ((1.0 - y) * 40.0) as usize;
            let i = (ty * 81 + tx) * 4;
            [
                o.levels[0].data[i],
                o.levels[0].data[i + 1],
                o.levels[0].data[i + 2],
                o.levels[0].data[i + 3],
            ]
        };
        assert_eq!(at(1.2, 0.5), [255, 0, 0, 255]); // on the tape
        assert_eq!(at(1.2, 0.6), [0, 0, 0, 0]); // beside it
        assert_eq!(at(0.3, 0.5), [0, 0, 0, 128]); // in the shadow
        // a coarse level still holds the marks' mean opacity
        let top = o.levels.last().expect("levels");
        assert_eq!((top.w, top.h), (1, 1));
        assert!(top.data[3] > 0);
        // repainting clears what was there
        o.paint(&[]);
        assert!(o.levels.iter().all(|l| l.data.iter().all(|&v| v == 0)));
    }
}
