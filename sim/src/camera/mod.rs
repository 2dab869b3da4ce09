//! The car's camera, rendered on the CPU in lockstep with physics.
//!
//! The ground is a plane textured with the track's top-down picture
//! (`chicane_tracks::render_top_down`, 1 cm per texel), mip-mapped and
//! sampled bilinearly at a level fixed per pixel from its footprint on the
//! ground, so painted lines neither alias nor flicker as the car moves.
//! Boxes (obstacles and bot cars) are ray-cast per pixel with flat shading;
//! above the horizon is a sky gradient. Each image row maps to the ground
//! through a homography, so a pixel costs a division, a few multiply-adds
//! and four texel reads in fixed point.

use crate::vehicle::BoxBody;
use chicane_core::CameraConfig;
mod texture;

pub use texture::GroundTexture;

/// Ground texture resolution (texels per metre) for the camera.
pub const TEXELS_PER_METER: f64 = 100.0;

/// Mip level offset from the geometric mean of a pixel's footprint sides:
/// one level sharper measured best (RMS error 7.0 grey levels against an 8x
/// supersampled reference, vs 9.3 at 0, 7.4 at -1.5 and 12.7 without mip
/// maps; `tests/camera.rs`).
const LOD_BIAS: f32 = -1.0;

/// Ground beyond this distance (m) fades into the horizon colour.
const FAR: f32 = 40.0;

/// Largest magnitude [`round_i32`] handles exactly.
const ROUND_LIMIT: f32 = 4_000_000.0;

/// Rounds to the nearest integer with the 1.5 x 2^23 trick: adding it
/// leaves the integer in the low mantissa bits. Exact for |x| < 2^22, and
/// branch-free, so the row loop vectorises (Rust's saturating `as` does not).
#[inline(always)]
fn round_i32(x: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    ((x + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32)
}

/// A 3x3 rotation matrix, rows first.
pub(crate) type Mat3 = [[f64; 3]; 3];

pub(crate) fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

pub(crate) fn mat_vec(a: &Mat3, v: [f64; 3]) -> [f64; 3] {
    [
        a[0][0] * v[0] + a[0][1] * v[1] + a[0][2] * v[2],
        a[1][0] * v[0] + a[1][1] * v[1] + a[1][2] * v[2],
        a[2][0] * v[0] + a[2][1] * v[1] + a[2][2] * v[2],
    ]
}

/// Body-to-world rotation from yaw, pitch, roll (Z-Y-X, as `CarState`).
pub(crate) fn body_rotation(yaw: f64, pitch: f64, roll: f64) -> Mat3 {
    let (sy, cy) = yaw.sin_cos();
    let (sp, cp) = pitch.sin_cos();
    let (sr, cr) = roll.sin_cos();
    let rz = [[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]];
    let ry = [[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]];
    let rx = [[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]];
    mat_mul(&rz, &mat_mul(&ry, &rx))
}

/// Where a camera is and where it looks.
#[derive(Debug, Clone, Copy)]
pub struct CameraPose {
    /// Lens position (m), z up.
    pub position: [f64; 3],
    /// World-from-optical rotation (optical frame: x right, y down, z forward).
    pub(crate) rotation: Mat3,
}

impl CameraPose {
    /// The pose of a camera mounted on a car body at `body_position`
    /// (chassis origin, m) with body rotation `yaw, pitch, roll` (rad), the
    /// mount `mount` (forward, left, up) from the chassis origin (m) and a
    /// downward tilt `tilt` (rad).
    pub fn on_body(
        body_position: [f64; 3],
        yaw: f64,
        pitch: f64,
        roll: f64,
        mount: [f64; 3],
        tilt: f64,
    ) -> CameraPose {
        let body = body_rotation(yaw, pitch, roll);
        let (st, ct) = tilt.sin_cos();
        let tilt_m = [[ct, 0.0, st], [0.0, 1.0, 0.0], [-st, 0.0, ct]];
        // optical axes in body coordinates: x right = -y, y down = -z, z forward = +x
        let optical = [[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]];
        let rotation = mat_mul(&body, &mat_mul(&tilt_m, &optical));
        let offset = mat_vec(&body, mount);
        CameraPose {
            position: [
                body_position[0] + offset[0],
                body_position[1] + offset[1],
                body_position[2] + offset[2],
            ],
            rotation,
        }
    }
}

/// Per-frame constants of the ground pass.
struct Ground {
    r: Mat3,
    ox: f32,
    oy: f32,
    oz: f32,
    bx: f32,
    by: f32,
    bz: f32,
    cx: f64,
    cy: f64,
    fx: f64,
    left: f32,
    top: f32,
}

/// A box to draw: its geometry and flat colour.
#[derive(Debug, Clone, Copy)]
pub struct DrawBox {
    /// The box (centre, yaw, size) standing on the ground.
    pub body: BoxBody,
    /// Its colour.
    pub color: [u8; 3],
}

/// Renders camera frames of one size and field of view.
#[derive(Debug, Clone)]
pub struct CameraRenderer {
    width: usize,
    height: usize,
    fx: f64,
    /// Per pixel: log2 of its ground footprint (m) for the nominal mount,
    /// or NaN above the horizon. Add log2(texels per metre) for the lod.
    footprint_log2: Vec<f32>,
    /// Mip level per pixel for one texture scale.
    level_cache: (f64, Vec<u8>),
    /// Per pixel: 256 x texels per metre at its level.
    scale_cache: Vec<f32>,
    /// Ground texture jitter: seed and amplitude (grey levels), if on.
    texture_jitter: Option<(u64, f32)>,
    depth: Vec<f32>,
}

/// Sky colours at the horizon and at the top of the view.
const SKY_HORIZON: [f32; 3] = [196.0, 206.0, 216.0];
const SKY_TOP: [f32; 3] = [118.0, 160.0, 212.0];
/// Direction the light comes from (normalised below), for box shading.
const LIGHT: [f64; 3] = [0.4, 0.3, 0.866];

impl CameraRenderer {
    /// A renderer for frames of `cfg.width x cfg.height` at `cfg.fov_deg`.
    ///
    /// The level of detail of each pixel is fixed here from the nominal
    /// mount (level car): the ground footprint of a pixel is a long thin
    /// parallelogram (8 cm up, a pixel row covers centimetres across and
    /// decimetres along the view), and the texture is sampled one level
    /// below the geometric mean of its two sides (`LOD_BIAS`), which keeps
    /// lines along the track sharp without aliasing the ones across it.
    pub fn new(cfg: &CameraConfig) -> CameraRenderer {
        let (width, height) = (cfg.width as usize, cfg.height as usize);
        let fx = (width as f64 / 2.0) / (cfg.fov_deg.to_radians() / 2.0).tan();
        let pose = CameraPose::on_body(
            [0.0, 0.0, 0.0],
            0.0,
            0.0,
            0.0,
            [0.0, 0.0, cfg.mount_height],
            cfg.pitch_deg.to_radians(),
        );
        let r = &pose.rotation;
        let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
        let oz = cfg.mount_height;
        let b = mat_vec(r, [1.0 / fx, 0.0, 0.0]);
        let c = mat_vec(r, [0.0, 1.0 / fx, 0.0]);
        let mut footprint_log2 = vec![f32::NAN; width * height];
        for v in 0..height {
            for u in 0..width {
                let d = mat_vec(
                    r,
                    [(u as f64 + 0.5 - cx) / fx, (v as f64 + 0.5 - cy) / fx, 1.0],
                );
                if d[2] >= -1e-6 {
                    continue;
                }
                // d(ground point)/du and /dv: -oz (e dz - d ez) / dz^2
                let dz2 = d[2] * d[2];
                let du = [
                    -oz * (b[0] * d[2] - d[0] * b[2]) / dz2,
                    -oz * (b[1] * d[2] - d[1] * b[2]) / dz2,
                ];
                let dv = [
                    -oz * (c[0] * d[2] - d[0] * c[2]) / dz2,
                    -oz * (c[1] * d[2] - d[1] * c[2]) / dz2,
                ];
                let (lu, lv) = (du[0].hypot(du[1]), dv[0].hypot(dv[1]));
                footprint_log2[v * width + u] = (lu * lv).sqrt().max(1e-9).log2() as f32;
            }
        }
        CameraRenderer {
            width,
            height,
            fx,
            footprint_log2,
            level_cache: (0.0, Vec::new()),
            scale_cache: Vec::new(),
            texture_jitter: None,
            depth: vec![0.0; width * height],
        }
    }

    /// Turns on texture jitter (domain randomisation): fixed noise of
    /// `amplitude` grey levels on a 4 cm grid of the ground, different for
    /// each `seed`, that moves with the world. `None` turns it off.
    pub fn set_texture_jitter(&mut self, jitter: Option<(u64, f32)>) {
        self.texture_jitter = jitter.filter(|(_, a)| *a > 0.0);
    }

    /// Mip level of every pixel for a texture of `texels_per_meter` with
    /// `levels` levels (cached: envs on one track share one scale).
    fn pixel_levels(&mut self, texels_per_meter: f64, levels: usize) {
        if self.level_cache.0 != texels_per_meter || self.level_cache.1.is_empty() {
            let tex_log2 = texels_per_meter.log2() as f32;
            let top = (levels - 1) as f32;
            self.level_cache = (
                texels_per_meter,
                self.footprint_log2
                    .iter()
                    .map(|&fp| {
                        if fp.is_nan() {
                            top as u8
                        } else {
                            (fp + tex_log2 + LOD_BIAS).round().clamp(0.0, top) as u8
                        }
                    })
                    .collect(),
            );
            let scale = texels_per_meter as f32;
            self.scale_cache = self
                .level_cache
                .1
                .iter()
                .map(|&lv| 256.0 * scale / (1u32 << lv) as f32)
                .collect();
        }
    }

    /// Renders one frame into `out`, channel-planar (`[C, H, W]`) u8, with
    /// `C = tex.channels()`.
    ///
    /// # Shapes
    /// `out.len() == tex.channels() * height * width`.
    pub fn render(
        &mut self,
        tex: &GroundTexture,
        pose: &CameraPose,
        boxes: &[DrawBox],
        out: &mut [u8],
    ) {
        let (w, h, c) = (self.width, self.height, tex.channels());
        debug_assert_eq!(out.len(), c * w * h);
        let r = pose.rotation;
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let fx = self.fx;
        // world direction of pixel (u, v) = a_row + u * b
        let b = mat_vec(&r, [1.0 / fx, 0.0, 0.0]);
        let (bx, by, bz) = (b[0] as f32, b[1] as f32, b[2] as f32);
        let [ox, oy, oz] = pose.position.map(|v| v as f32);
        let (left, top) = (tex.top_left.x as f32, tex.top_left.y as f32);
        self.pixel_levels(tex.texels_per_meter(), tex.num_levels());
        let ground = Ground {
            r,
            ox,
            oy,
            oz,
            bx,
            by,
            bz,
            cx,
            cy,
            fx,
            left,
            top,
        };
        if c == 1 {
            self.render_ground::<1>(tex, &ground, out);
        } else {
            self.render_ground::<3>(tex, &ground, out);
        }
        for b in boxes {
            self.draw_box(pose, b, c, out);
        }
    }

    /// The ground and sky of one frame, `C` channels. Each row runs in two
    /// passes: plain arithmetic over the row (ray, ground point, fixed-point
    /// texel coordinates) that the compiler vectorises, then the texel
    /// fetches.
    fn render_ground<const C: usize>(&mut self, tex: &GroundTexture, g: &Ground, out: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        let plane = w * h;
        let fog_sky: [f32; C] = std::array::from_fn(|ch| {
            if C == 1 {
                0.299 * SKY_HORIZON[0] + 0.587 * SKY_HORIZON[1] + 0.114 * SKY_HORIZON[2]
            } else {
                SKY_HORIZON[ch]
            }
        });
        let mut tx = vec![0i32; w];
        let mut ty = vec![0i32; w];
        let mut tt = vec![0f32; w];
        let us: Vec<f32> = (0..w).map(|u| u as f32).collect();
        for v in 0..h {
            let a = mat_vec(
                &g.r,
                [(0.5 - g.cx) / g.fx, (v as f64 + 0.5 - g.cy) / g.fx, 1.0],
            );
            let (ax, ay, az) = (a[0] as f32, a[1] as f32, a[2] as f32);
            let row_levels = &self.level_cache.1[v * w..(v + 1) * w];
            let row_scale = &self.scale_cache[v * w..(v + 1) * w];
            // pass 1: vectorisable
            for u in 0..w {
                let (dx, dy, dz) = (ax + us[u] * g.bx, ay + us[u] * g.by, az + us[u] * g.bz);
                let t = -g.oz / dz.min(-1e-6);
                let t = t.min(1e4);
                let (gx, gy) = (g.ox + t * dx, g.oy + t * dy);
                let ls = row_scale[u];
                tx[u] = round_i32(((gx - g.left) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                ty[u] = round_i32(((g.top - gy) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                tt[u] = if dz < -1e-6 { t } else { f32::INFINITY };
            }
            // pass 2: fetches
            let row_depth = &mut self.depth[v * w..(v + 1) * w];
            for u in 0..w {
                let t = tt[u];
                row_depth[u] = t;
                let px: [u8; C] = if t.is_finite() {
                    let lv = row_levels[u] as usize;
                    let mut px = tex.fetch_fixed::<C>(lv, tx[u], ty[u]);
                    if let Some((seed, amplitude)) = self.texture_jitter {
                        // the 4 cm cell (level-2 texel) under the pixel, in world terms
                        let cell = |t: i32| ((t >> 8) << lv) >> 2;
                        let (cx, cy) = (cell(tx[u]), cell(ty[u]));
                        let mut hsh = seed
                            ^ (cx as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                            ^ (cy as u32 as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
                        hsh ^= hsh >> 29;
                        hsh = hsh.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                        hsh ^= hsh >> 32;
                        let noise = (hsh & 0xffff) as f32 / 32767.5 - 1.0;
                        // coarser levels average many cells: less variation
                        let atten = if lv > 2 {
                            1.0 / (1u32 << (lv - 2)) as f32
                        } else {
                            1.0
                        };
                        let delta = noise * amplitude * atten;
                        for p in px.iter_mut() {
                            *p = (*p as f32 + delta).clamp(0.0, 255.0) as u8;
                        }
                    }
                    if t > FAR * 0.5 {
                        let fog = ((t - FAR * 0.5) / (FAR * 0.5)).min(1.0) * 0.6;
                        for ch in 0..C {
                            px[ch] = (px[ch] as f32 + (fog_sky[ch] - px[ch] as f32) * fog) as u8;
                        }
                    }
                    px
                } else {
                    let (dx, dy, dz) = (ax + us[u] * g.bx, ay + us[u] * g.by, az + us[u] * g.bz);
                    let len2 = dx * dx + dy * dy + dz * dz;
                    let elevation = (dz / len2.sqrt()).clamp(0.0, 1.0);
                    let s = (elevation * 2.5).min(1.0);
                    let sky: [f32; 3] = std::array::from_fn(|ch| {
                        SKY_HORIZON[ch] + (SKY_TOP[ch] - SKY_HORIZON[ch]) * s
                    });
                    if C == 1 {
                        std::array::from_fn(|_| {
                            (0.299 * sky[0] + 0.587 * sky[1] + 0.114 * sky[2]) as u8
                        })
                    } else {
                        std::array::from_fn(|ch| sky[ch] as u8)
                    }
                };
                for ch in 0..C {
                    out[ch * plane + v * w + u] = px[ch];
                }
            }
        }
    }

    /// Ray-casts one box over the pixels its corners project to.
    fn draw_box(&mut self, pose: &CameraPose, b: &DrawBox, channels: usize, out: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let r = &pose.rotation;
        let [l, wd, ht] = b.body.size;
        let (sy, cy_) = b.body.yaw.sin_cos();
        let centre = [b.body.center.x, b.body.center.y, ht / 2.0];
        let half = [l / 2.0, wd / 2.0, ht / 2.0];
        // project the corners to find the pixel bounds
        let (mut u0, mut v0, mut u1, mut v1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        let mut behind = false;
        for i in 0..8 {
            let lx = if i & 1 == 0 { -half[0] } else { half[0] };
            let ly = if i & 2 == 0 { -half[1] } else { half[1] };
            let lz = if i & 4 == 0 { -half[2] } else { half[2] };
            let world = [
                centre[0] + cy_ * lx - sy * ly,
                centre[1] + sy * lx + cy_ * ly,
                centre[2] + lz,
            ];
            let rel = [
                world[0] - pose.position[0],
                world[1] - pose.position[1],
                world[2] - pose.position[2],
            ];
            // optical coordinates: transpose(R) * rel
            let oc = [
                r[0][0] * rel[0] + r[1][0] * rel[1] + r[2][0] * rel[2],
                r[0][1] * rel[0] + r[1][1] * rel[1] + r[2][1] * rel[2],
                r[0][2] * rel[0] + r[1][2] * rel[1] + r[2][2] * rel[2],
            ];
            if oc[2] <= 1e-3 {
                behind = true;
                continue;
            }
            let (pu, pv) = (cx + self.fx * oc[0] / oc[2], cy + self.fx * oc[1] / oc[2]);
            u0 = u0.min(pu);
            u1 = u1.max(pu);
            v0 = v0.min(pv);
            v1 = v1.max(pv);
        }
        if behind {
            if !u0.is_finite() {
                return; // entirely behind the camera
            }
            (u0, v0, u1, v1) = (0.0, 0.0, w as f64, h as f64);
        }
        let (us, ue) = (
            u0.floor().max(0.0) as usize,
            (u1.ceil().max(0.0) as usize).min(w),
        );
        let (vs, ve) = (
            v0.floor().max(0.0) as usize,
            (v1.ceil().max(0.0) as usize).min(h),
        );
        if us >= ue || vs >= ve {
            return;
        }
        // ray origin in box coordinates
        let rel0 = [
            pose.position[0] - centre[0],
            pose.position[1] - centre[1],
            pose.position[2] - centre[2],
        ];
        let o = [
            cy_ * rel0[0] + sy * rel0[1],
            -sy * rel0[0] + cy_ * rel0[1],
            rel0[2],
        ];
        let light_len = (LIGHT[0] * LIGHT[0] + LIGHT[1] * LIGHT[1] + LIGHT[2] * LIGHT[2]).sqrt();
        let plane = w * h;
        for v in vs..ve {
            for u in us..ue {
                let dw = mat_vec(
                    r,
                    [
                        (u as f64 + 0.5 - cx) / self.fx,
                        (v as f64 + 0.5 - cy) / self.fx,
                        1.0,
                    ],
                );
                let d = [cy_ * dw[0] + sy * dw[1], -sy * dw[0] + cy_ * dw[1], dw[2]];
                let (mut tnear, mut tfar, mut axis) = (f64::NEG_INFINITY, f64::INFINITY, 0usize);
                let mut hit = true;
                for ax in 0..3 {
                    if d[ax].abs() < 1e-12 {
                        if o[ax].abs() > half[ax] {
                            hit = false;
                            break;
                        }
                        continue;
                    }
                    let (mut t1, mut t2) =
                        ((-half[ax] - o[ax]) / d[ax], (half[ax] - o[ax]) / d[ax]);
                    if t1 > t2 {
                        std::mem::swap(&mut t1, &mut t2);
                    }
                    if t1 > tnear {
                        tnear = t1;
                        axis = ax;
                    }
                    tfar = tfar.min(t2);
                }
                if !hit || tnear > tfar || tnear <= 0.0 {
                    continue;
                }
                let k = v * w + u;
                if tnear as f32 >= self.depth[k] {
                    continue;
                }
                self.depth[k] = tnear as f32;
                // face normal in world coordinates
                let sign = if d[axis] > 0.0 { -1.0 } else { 1.0 };
                let n_local = match axis {
                    0 => [sign, 0.0, 0.0],
                    1 => [0.0, sign, 0.0],
                    _ => [0.0, 0.0, sign],
                };
                let n = [
                    cy_ * n_local[0] - sy * n_local[1],
                    sy * n_local[0] + cy_ * n_local[1],
                    n_local[2],
                ];
                let lambert =
                    ((n[0] * LIGHT[0] + n[1] * LIGHT[1] + n[2] * LIGHT[2]) / light_len).max(0.0);
                let shade = (0.45 + 0.55 * lambert) as f32;
                let col = b.color.map(|x| x as f32 * shade);
                if channels == 1 {
                    out[k] = (0.299 * col[0] + 0.587 * col[1] + 0.114 * col[2] + 0.5) as u8;
                } else {
                    for ch in 0..3 {
                        out[ch * plane + k] = (col[ch] + 0.5) as u8;
                    }
                }
            }
        }
    }
}
