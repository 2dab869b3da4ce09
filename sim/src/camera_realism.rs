//! Where a real 1/18 car's camera differs from the simulator's pinhole
//! render: its wide lens bends and darkens the image, its sensor has its own
//! exposure and white balance and smears motion, and its MJPEG stream
//! compresses every frame. Applied to every frame, in that order (optics,
//! sensor, encoding); all off by default.

use serde::{Deserialize, Serialize};

/// Camera realism settings (`[sim.camera_realism]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraRealism {
    /// Barrel distortion `k1` of the radial model (Brown 1966): the output
    /// pixel at normalised radius `r` (1 at the half-diagonal) shows the
    /// pinhole render at `r (1 + k1 r^2)`, edges clamped. 0 = pinhole;
    /// within 0..0.5, e.g. 0.25 for DeepRacer's wide lens. Default 0.
    pub lens_distortion: f64,
    /// Vignetting: the fraction of brightness lost at the corners, falling
    /// off as `r^2`; within 0..1, e.g. 0.35. Default 0.
    pub vignetting: f64,
    /// Exposure gain (1 = as rendered), within 0.25..4. Default 1.
    pub exposure: f64,
    /// White balance: gains of the red, green and blue channels of colour
    /// frames (grey frames are not changed), each within 0.5..2. Default
    /// `[1, 1, 1]`.
    pub white_balance: [f64; 3],
    /// Motion blur: the previous frame's weight in this one at the car's top
    /// speed, scaled by `speed / max_speed`; within 0..0.9, e.g. 0.4.
    /// Default 0.
    pub motion_blur: f64,
    /// JPEG quality of the camera's stream, 1..100 (each frame encoded and
    /// decoded, as MJPEG cameras send them); 0 = no compression. Default 0.
    pub jpeg_quality: u8,
}

impl Default for CameraRealism {
    fn default() -> Self {
        Self {
            lens_distortion: 0.0,
            vignetting: 0.0,
            exposure: 1.0,
            white_balance: [1.0; 3],
            motion_blur: 0.0,
            jpeg_quality: 0,
        }
    }
}

impl CameraRealism {
    /// True when any effect is on.
    pub fn is_active(&self) -> bool {
        *self != CameraRealism::default()
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// `(field, problem)` naming the field (as `camera_realism.X`) and its
    /// allowed range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let [r, g, b] = self.white_balance;
        crate::config::check_ranges(
            "camera_realism",
            &[
                ("lens_distortion", self.lens_distortion, 0.0, 0.5),
                ("vignetting", self.vignetting, 0.0, 1.0),
                ("exposure", self.exposure, 0.25, 4.0),
                ("motion_blur", self.motion_blur, 0.0, 0.9),
                ("white_balance", r, 0.5, 2.0),
                ("white_balance", g, 0.5, 2.0),
                ("white_balance", b, 0.5, 2.0),
            ],
        )?;
        if self.jpeg_quality > 100 {
            return Err((
                "camera_realism.jpeg_quality".into(),
                format!("{} must be 1..100, or 0 for none", self.jpeg_quality),
            ));
        }
        Ok(())
    }

    /// Applies the optical and sensor effects (all but JPEG) to `frame`
    /// (`[lenses * per_lens, h, w]` planar u8, `per_lens` 1 grey or 3 RGB)
    /// with `maps` built for this frame size, `previous` being the frame
    /// before (motion blur; `None` right after a reset) and
    /// `speed_fraction` the car's speed over its top speed.
    pub(crate) fn apply(
        &self,
        maps: &RealismMaps,
        frame: &mut [u8],
        scratch: &mut Vec<u8>,
        per_lens: usize,
        previous: Option<&[u8]>,
        speed_fraction: f64,
    ) {
        let plane = maps.gain.len();
        if plane == 0 || !frame.len().is_multiple_of(plane) {
            return;
        }
        if !maps.taps.is_empty() {
            scratch.resize(frame.len(), 0);
            scratch.copy_from_slice(frame);
            for (src, dst) in scratch
                .chunks_exact(plane)
                .zip(frame.chunks_exact_mut(plane))
            {
                for (d, t) in dst.iter_mut().zip(&maps.taps) {
                    let v = f32::from(src[t.0[0] as usize]) * t.1[0]
                        + f32::from(src[t.0[1] as usize]) * t.1[1]
                        + f32::from(src[t.0[2] as usize]) * t.1[2]
                        + f32::from(src[t.0[3] as usize]) * t.1[3];
                    *d = to_u8(v);
                }
            }
        }
        let colour = per_lens == 3 && self.white_balance != [1.0; 3];
        if self.vignetting > 0.0 || self.exposure != 1.0 || colour {
            for (p, dst) in frame.chunks_exact_mut(plane).enumerate() {
                let wb = if per_lens == 3 {
                    self.white_balance[p % 3] as f32
                } else {
                    1.0
                };
                for (d, g) in dst.iter_mut().zip(&maps.gain) {
                    *d = to_u8(f32::from(*d) * g * wb);
                }
            }
        }
        if let Some(prev) = previous.filter(|p| p.len() == frame.len())
            && self.motion_blur > 0.0
        {
            let a = (self.motion_blur * speed_fraction.clamp(0.0, 1.0)) as f32;
            for (v, &p) in frame.iter_mut().zip(prev) {
                *v = to_u8(f32::from(*v) * (1.0 - a) + f32::from(p) * a);
            }
        }
    }

    /// The camera's JPEG encoding (last, after any sensor noise).
    pub(crate) fn encode(&self, frame: &mut [u8], dims: (usize, usize, usize)) {
        if self.jpeg_quality > 0 {
            jpeg_round_trip(frame, dims, self.jpeg_quality);
        }
    }
}

/// `v` rounded to the nearest 0..=255 (`as` saturates, so no branch).
#[inline]
fn to_u8(v: f32) -> u8 {
    (v + 0.5) as u8
}

/// Per-pixel tables of the lens for one frame size: the distortion's four
/// bilinear taps and the vignetting and exposure gain.
#[derive(Debug, Clone, Default)]
pub(crate) struct RealismMaps {
    /// Per output pixel: the source pixels and their weights (empty
    /// without distortion).
    taps: Vec<([u32; 4], [f32; 4])>,
    /// Per pixel: exposure x vignetting.
    gain: Vec<f32>,
}

impl RealismMaps {
    /// The tables of `r` for `w` x `h` frames.
    pub(crate) fn new(r: &CameraRealism, w: usize, h: usize) -> RealismMaps {
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        let r_max = (cx * cx + cy * cy).sqrt().max(1.0);
        let mut taps = Vec::new();
        let mut gain = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                let r2 = (dx * dx + dy * dy) / (r_max * r_max);
                gain.push((r.exposure * (1.0 - r.vignetting * r2)) as f32);
                if r.lens_distortion > 0.0 {
                    let s = 1.0 + r.lens_distortion * r2;
                    let (sx, sy) = (
                        (cx + dx * s).clamp(0.0, w as f64 - 1.0),
                        (cy + dy * s).clamp(0.0, h as f64 - 1.0),
                    );
                    let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
                    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                    let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
                    let at = |xx: usize, yy: usize| (yy * w + xx) as u32;
                    taps.push((
                        [at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1)],
                        [
                            (1.0 - fx) * (1.0 - fy),
                            fx * (1.0 - fy),
                            (1.0 - fx) * fy,
                            fx * fy,
                        ],
                    ));
                }
            }
        }
        RealismMaps { taps, gain }
    }
}

/// Encodes each lens's image as JPEG at `quality` and decodes it back in
/// place (the `image` crate's encoder and decoder). A frame that fails to
/// encode or decode is left as it was.
fn jpeg_round_trip(frame: &mut [u8], (w, h, per_lens): (usize, usize, usize), quality: u8) {
    use image::ImageDecoder;
    let plane = w * h;
    let lens_len = plane * per_lens;
    for lens in frame.chunks_mut(lens_len) {
        if lens.len() != lens_len {
            continue;
        }
        // planar -> interleaved
        let mut inter = vec![0u8; lens_len];
        for p in 0..per_lens {
            for i in 0..plane {
                inter[i * per_lens + p] = lens[p * plane + i];
            }
        }
        let colour = if per_lens == 3 {
            image::ExtendedColorType::Rgb8
        } else {
            image::ExtendedColorType::L8
        };
        let mut bytes = Vec::new();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality);
        if image::ImageEncoder::write_image(enc, &inter, w as u32, h as u32, colour).is_err() {
            continue;
        }
        let Ok(dec) = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&bytes)) else {
            continue;
        };
        if dec.total_bytes() != lens_len as u64 || dec.read_image(&mut inter).is_err() {
            continue;
        }
        for p in 0..per_lens {
            for i in 0..plane {
                lens[p * plane + i] = inter[i * per_lens + p];
            }
        }
    }
}
