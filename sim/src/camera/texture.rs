//! The track's ground texture: the top-down picture at 1 cm per texel
//! and its mip chain, shared read-only by every env on a track.

use super::TEXELS_PER_METER;
use chicane_core::Vec2;
use chicane_tracks::{RenderOptions, Track, pixel_frame, render_top_down};

/// One mip level: `w x h` texels of `channels` bytes each.
#[derive(Debug, Clone)]
pub(super) struct Level {
    pub w: usize,
    pub h: usize,
    pub data: Vec<u8>,
}

impl Level {
    /// Bilinear fetch in 24.8 fixed point: `(x, y)` are texel coordinates
    /// times 256, already shifted by half a texel; texels outside the
    /// level read as `border`. `C` is the level's channel count.
    #[inline(always)]
    pub(super) fn bilinear<const C: usize>(&self, x: i32, y: i32, border: &[u8; C]) -> [u8; C] {
        let (x0, y0) = (x >> 8, y >> 8);
        let (ax, ay) = ((x & 255) as u32, (y & 255) as u32);
        let mut out = [0u8; C];
        // one unsigned compare per axis also rejects negative coordinates
        if (x0 as u32 as usize) < self.w.wrapping_sub(1)
            && (y0 as u32 as usize) < self.h.wrapping_sub(1)
        {
            let row = self.w * C;
            let i = (y0 as usize * self.w + x0 as usize) * C;
            let block = &self.data[i..i + row + 2 * C];
            let (top, bottom) = (&block[..2 * C], &block[row..row + 2 * C]);
            for ch in 0..C {
                let t = top[ch] as u32 * (256 - ax) + top[C + ch] as u32 * ax;
                let b = bottom[ch] as u32 * (256 - ax) + bottom[C + ch] as u32 * ax;
                out[ch] = ((t * (256 - ay) + b * ay + 32768) >> 16) as u8;
            }
            return out;
        }
        let texel = |xi: i32, yi: i32, ch: usize| -> u32 {
            if xi < 0 || yi < 0 || xi as usize >= self.w || yi as usize >= self.h {
                border[ch] as u32
            } else {
                self.data[(yi as usize * self.w + xi as usize) * C + ch] as u32
            }
        };
        for (ch, o) in out.iter_mut().enumerate() {
            let t = texel(x0, y0, ch) * (256 - ax) + texel(x0 + 1, y0, ch) * ax;
            let b = texel(x0, y0 + 1, ch) * (256 - ax) + texel(x0 + 1, y0 + 1, ch) * ax;
            *o = ((t * (256 - ay) + b * ay + 32768) >> 16) as u8;
        }
        out
    }

    /// This level and every coarser one down to 1 x 1, each
    /// [`Level::downsample_into`] the one before; `channels` bytes per texel.
    pub(super) fn mip_chain(self, channels: usize) -> Vec<Level> {
        let mut levels = vec![self];
        while let Some(last) = levels.last().filter(|l| l.w > 1 || l.h > 1) {
            let mut next = Level {
                w: 0,
                h: 0,
                data: Vec::new(),
            };
            last.downsample_into(channels, &mut next);
            levels.push(next);
        }
        levels
    }

    /// The next mip level down: each texel the rounded mean of a 2 x 2
    /// block of `self` (edge texels repeated), `channels` bytes per texel,
    /// written into `next` (resized to fit).
    pub(super) fn downsample_into(&self, channels: usize, next: &mut Level) {
        let (nw, nh) = (self.w.div_ceil(2), self.h.div_ceil(2));
        next.w = nw;
        next.h = nh;
        next.data.resize(nw * nh * channels, 0);
        self.downsample_rect(channels, next, [0, nw - 1, 0, nh - 1]);
    }

    /// [`Level::downsample_into`] for the texels `[x0, x1, y0, y1]`
    /// (inclusive, clamped) of `next` only, `next` already sized.
    pub(super) fn downsample_rect(&self, channels: usize, next: &mut Level, rect: [usize; 4]) {
        let nw = next.w;
        let [xa, xb, ya, yb] = [
            rect[0],
            rect[1].min(nw - 1),
            rect[2],
            rect[3].min(next.h - 1),
        ];
        for y in ya..=yb {
            let (y0, y1) = (2 * y, (2 * y + 1).min(self.h - 1));
            for x in xa..=xb {
                let (x0, x1) = (2 * x, (2 * x + 1).min(self.w - 1));
                for c in 0..channels {
                    let at =
                        |xx: usize, yy: usize| self.data[(yy * self.w + xx) * channels + c] as u32;
                    let sum = at(x0, y0) + at(x1, y0) + at(x0, y1) + at(x1, y1);
                    next.data[(y * nw + x) * channels + c] = ((sum + 2) / 4) as u8;
                }
            }
        }
    }
}

/// The track's ground texture with its mip chain, shared (read-only) by
/// every env on the same track.
#[derive(Debug, Clone)]
pub struct GroundTexture {
    pub(super) levels: Vec<Level>,
    pub(super) channels: usize,
    /// World point of the top-left corner of texel (0, 0) (m).
    pub(super) top_left: Vec2,
    /// Texels per metre at level 0.
    pub(super) scale: f64,
    /// Off-track colour, per channel.
    pub(super) off_track: [u8; 3],
}

fn luma(rgb: [u8; 3]) -> u8 {
    // ITU-R BT.601 luma, as OpenCV's RGB2GRAY (DeepRacer converts frames with OpenCV)
    ((rgb[0] as u32 * 299 + rgb[1] as u32 * 587 + rgb[2] as u32 * 114 + 500) / 1000) as u8
}

impl GroundTexture {
    /// Renders the track's ground at [`TEXELS_PER_METER`] (less for very
    /// large tracks) in gray (`rgb = false`) or colour, with painted lines
    /// scaled by `line_width_scale` (domain randomisation; 1 = as designed).
    pub fn new(track: &Track, rgb: bool, line_width_scale: f64) -> GroundTexture {
        let mut track = track.clone();
        let mut surface = track.surface().clone();
        surface.border_line_width *= line_width_scale;
        surface.center_line_width *= line_width_scale;
        track.set_surface(surface.clone());
        let opts = RenderOptions {
            pixels_per_meter: TEXELS_PER_METER,
            margin: 1.0,
            max_size: 4096,
            waypoint_numbers: false,
            title: false,
            direction_arrow: false,
        };
        let (frame, _, _) = pixel_frame(&track, &opts);
        let img = render_top_down(&track, &opts);
        let (w, h) = (img.width() as usize, img.height() as usize);
        let channels = if rgb { 3 } else { 1 };
        let data: Vec<u8> = if rgb {
            img.into_raw()
        } else {
            img.pixels().map(|p| luma(p.0)).collect()
        };
        let off = surface.off_track.0;
        let off_track = if rgb { off } else { [luma(off); 3] };
        let levels = Level { w, h, data }.mip_chain(channels);
        GroundTexture {
            levels,
            channels,
            top_left: frame.top_left,
            scale: frame.scale,
            off_track,
        }
    }

    /// Channels per texel: 1 (gray) or 3 (RGB).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Memory held by the texture and its mip chain (bytes).
    pub fn memory_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.data.len()).sum()
    }

    /// Bilinear fetch at level `lv` in 24.8 fixed point: `(x, y)` are
    /// level-`lv` texel coordinates times 256, already shifted by half a
    /// texel. `C` is the texture's channel count.
    #[inline(always)]
    pub(super) fn fetch_fixed<const C: usize>(&self, lv: usize, x: i32, y: i32) -> [u8; C] {
        let border: [u8; C] = std::array::from_fn(|ch| self.off_track[ch]);
        self.levels[lv].bilinear(x, y, &border)
    }

    /// Number of mip levels.
    pub(super) fn num_levels(&self) -> usize {
        self.levels.len()
    }

    /// Texels per metre at level 0.
    pub fn texels_per_meter(&self) -> f64 {
        self.scale
    }
}
