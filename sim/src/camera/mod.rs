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
use chicane_core::{CameraConfig, Vec2};
mod overlay;
mod texture;

pub(crate) use overlay::{Decal, DecalShape, GroundOverlay};
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

/// Fades a pixel `t` metres away into the horizon's colour: from nothing
/// at `FAR / 2` to 60 % at `FAR` and beyond.
#[inline(always)]
fn fog<const C: usize>(px: &mut [u8; C], sky: &[f32; C], t: f32) {
    if t > FAR * 0.5 {
        let fog = ((t - FAR * 0.5) / (FAR * 0.5)).min(1.0) * 0.6;
        for ch in 0..C {
            px[ch] = (px[ch] as f32 + (sky[ch] - px[ch] as f32) * fog) as u8;
        }
    }
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

/// A box's own frame, shared by its screen bounds and its ray cast: the
/// yaw's sine and cosine, the centre `[x, y, z]` (m, world) and the half
/// extents `[length, width, height] / 2` (m).
fn box_frame(b: &DrawBox) -> (f64, f64, [f64; 3], [f64; 3]) {
    let [l, wd, ht] = b.body.size;
    let (sin_yaw, cos_yaw) = b.body.yaw.sin_cos();
    (
        sin_yaw,
        cos_yaw,
        [b.body.center.x, b.body.center.y, ht / 2.0],
        [l / 2.0, wd / 2.0, ht / 2.0],
    )
}

/// A barrier around the track: the four vertical sides of the world
/// rectangle `min..max`, standing on the ground.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Walls {
    /// The rectangle's lower corner `[x, y]` (m).
    pub min: [f64; 2],
    /// Its upper corner `[x, y]` (m).
    pub max: [f64; 2],
    /// Height (m).
    pub height: f64,
    /// Colour (sRGB) before shading.
    pub color: [u8; 3],
}

/// Mip level and fixed-point scale of every pixel for one texture scale
/// and mip chain length.
#[derive(Debug, Clone, Default)]
struct PixelLevels {
    /// The texels per metre these were computed for.
    texels_per_meter: f64,
    /// The number of mip levels they were clamped to (textures of one
    /// scale differ in it: a larger track has more levels).
    num_levels: usize,
    /// Mip level per pixel.
    level: Vec<u8>,
    /// Per pixel: 256 x texels per metre at its level.
    scale: Vec<f32>,
}

impl PixelLevels {
    /// Recomputes the levels for a texture of `texels_per_meter` with
    /// `levels` levels, unless they are already for that texture shape.
    fn update(&mut self, footprint_log2: &[f32], texels_per_meter: f64, levels: usize) {
        if self.texels_per_meter == texels_per_meter
            && self.num_levels == levels
            && !self.level.is_empty()
        {
            return;
        }
        let tex_log2 = texels_per_meter.log2() as f32;
        let top = (levels - 1) as f32;
        self.texels_per_meter = texels_per_meter;
        self.num_levels = levels;
        self.level = footprint_log2
            .iter()
            .map(|&fp| {
                if fp.is_nan() {
                    top as u8
                } else {
                    (fp + tex_log2 + LOD_BIAS).round().clamp(0.0, top) as u8
                }
            })
            .collect();
        let scale = texels_per_meter as f32;
        self.scale = self
            .level
            .iter()
            .map(|&lv| 256.0 * scale / (1u32 << lv) as f32)
            .collect();
    }
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
    /// The ground texture's level per pixel (cached per texture scale).
    levels: PixelLevels,
    /// The floor overlay's level per pixel.
    overlay_levels: PixelLevels,
    /// Ground texture jitter: seed and amplitude (grey levels), if on.
    texture_jitter: Option<(u64, f32)>,
    /// The barrier around the track, if any (scenery).
    walls: Option<Walls>,
    /// Marks on the floor, if any (scenery).
    overlay: Option<GroundOverlay>,
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
            levels: PixelLevels::default(),
            overlay_levels: PixelLevels::default(),
            texture_jitter: None,
            walls: None,
            overlay: None,
            depth: vec![0.0; width * height],
        }
    }

    /// Turns on texture jitter (domain randomisation): fixed noise of
    /// `amplitude` grey levels on a 4 cm grid of the ground, different for
    /// each `seed`, that moves with the world. `None` turns it off.
    pub fn set_texture_jitter(&mut self, jitter: Option<(u64, f32)>) {
        self.texture_jitter = jitter.filter(|(_, a)| *a > 0.0);
    }

    /// Sets the barrier drawn around the track (`None`: no walls).
    pub(crate) fn set_walls(&mut self, walls: Option<Walls>) {
        self.walls = walls;
    }

    /// Paints the floor's marks over `min..max` (m) for the next frames;
    /// an empty list removes the overlay. The overlay's memory is kept
    /// from episode to episode while its area stays the same.
    pub(crate) fn set_decals(&mut self, min: Vec2, max: Vec2, decals: &[Decal]) {
        if decals.is_empty() {
            self.overlay = None;
            return;
        }
        let (top_left, scale, _, _) = GroundOverlay::frame(min, max);
        let overlay = match self.overlay.take() {
            Some(o) if o.top_left == top_left && o.scale == scale => o,
            _ => GroundOverlay::new(min, max),
        };
        self.overlay.insert(overlay).paint(decals);
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
        self.levels.update(
            &self.footprint_log2,
            tex.texels_per_meter(),
            tex.num_levels(),
        );
        if let Some(o) = &self.overlay {
            self.overlay_levels
                .update(&self.footprint_log2, o.texels_per_meter(), o.num_levels());
        }
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

    /// The ground and sky of one frame, `C` channels, with the scenery's
    /// walls and floor overlay when set. Each row runs in passes: plain
    /// arithmetic over the row (ray, ground point, fixed-point texel
    /// coordinates, the ray's exit through the walls) that the compiler
    /// vectorises, then the texel fetches.
    fn render_ground<const C: usize>(&mut self, tex: &GroundTexture, g: &Ground, out: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        let plane = w * h;
        let to_c = |rgb: [f32; 3]| -> [f32; C] {
            std::array::from_fn(|ch| {
                if C == 1 {
                    0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
                } else {
                    rgb[ch]
                }
            })
        };
        let fog_sky: [f32; C] = to_c(SKY_HORIZON);
        // walls only while the camera is inside them (it always is on the
        // track; a car far off it sees none)
        let walls = self.walls.filter(|wl| {
            (wl.min[0]..wl.max[0]).contains(&f64::from(g.ox))
                && (wl.min[1]..wl.max[1]).contains(&f64::from(g.oy))
                && f64::from(g.oz) < wl.height + 10.0
        });
        // each wall's shaded colour: faces x = max, x = min, y = max, y = min
        let wall_colors: [[u8; C]; 4] = {
            let normals = [[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]];
            let light_len =
                (LIGHT[0] * LIGHT[0] + LIGHT[1] * LIGHT[1] + LIGHT[2] * LIGHT[2]).sqrt();
            let color = walls.map_or([0; 3], |wl| wl.color);
            normals.map(|n: [f64; 2]| {
                let lambert = ((n[0] * LIGHT[0] + n[1] * LIGHT[1]) / light_len).max(0.0);
                let shade = (0.45 + 0.55 * lambert) as f32;
                to_c(color.map(|x| f32::from(x) * shade)).map(|x| (x + 0.5) as u8)
            })
        };
        let mut tx = vec![0i32; w];
        let mut ty = vec![0i32; w];
        let mut tt = vec![0f32; w];
        let mut gxs = vec![0f32; w];
        let mut gys = vec![0f32; w];
        let mut wall_t = vec![f32::INFINITY; w];
        let mut wall_face = vec![0u8; w];
        let mut ovx = vec![0i32; w];
        let mut ovy = vec![0i32; w];
        let us: Vec<f32> = (0..w).map(|u| u as f32).collect();
        for v in 0..h {
            let a = mat_vec(
                &g.r,
                [(0.5 - g.cx) / g.fx, (v as f64 + 0.5 - g.cy) / g.fx, 1.0],
            );
            let (ax, ay, az) = (a[0] as f32, a[1] as f32, a[2] as f32);
            let row_levels = &self.levels.level[v * w..(v + 1) * w];
            let row_scale = &self.levels.scale[v * w..(v + 1) * w];
            // pass 1: vectorisable
            for u in 0..w {
                let (dx, dy, dz) = (ax + us[u] * g.bx, ay + us[u] * g.by, az + us[u] * g.bz);
                let t = -g.oz / dz.min(-1e-6);
                let t = t.min(1e4);
                let (gx, gy) = (g.ox + t * dx, g.oy + t * dy);
                gxs[u] = gx;
                gys[u] = gy;
                let ls = row_scale[u];
                tx[u] = round_i32(((gx - g.left) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                ty[u] = round_i32(((g.top - gy) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                tt[u] = if dz < -1e-6 { t } else { f32::INFINITY };
            }
            if let Some(wl) = &walls {
                // where the ray leaves the walls' rectangle, and how high
                let (x0, x1) = ((wl.min[0] as f32 - g.ox), (wl.max[0] as f32 - g.ox));
                let (y0, y1) = ((wl.min[1] as f32 - g.oy), (wl.max[1] as f32 - g.oy));
                let height = wl.height as f32;
                for u in 0..w {
                    let (dx, dy, dz) = (ax + us[u] * g.bx, ay + us[u] * g.by, az + us[u] * g.bz);
                    let (ix, iy) = (1.0 / dx, 1.0 / dy);
                    let tex_ = (x0 * ix).max(x1 * ix);
                    let tey = (y0 * iy).max(y1 * iy);
                    let te = tex_.min(tey);
                    let z = g.oz + te * dz;
                    wall_t[u] = if z <= height { te } else { f32::INFINITY };
                    wall_face[u] = if tex_ <= tey {
                        u8::from(dx < 0.0)
                    } else {
                        2 + u8::from(dy < 0.0)
                    };
                }
            }
            if let Some(o) = &self.overlay {
                let (ol, ot) = (o.top_left.x as f32, o.top_left.y as f32);
                let row_os = &self.overlay_levels.scale[v * w..(v + 1) * w];
                for u in 0..w {
                    let ls = row_os[u];
                    ovx[u] =
                        round_i32(((gxs[u] - ol) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                    ovy[u] =
                        round_i32(((ot - gys[u]) * ls - 128.0).clamp(-ROUND_LIMIT, ROUND_LIMIT));
                }
            }
            // pass 2: fetches
            let row_depth = &mut self.depth[v * w..(v + 1) * w];
            let row_olevels = self
                .overlay
                .as_ref()
                .map(|_| &self.overlay_levels.level[v * w..(v + 1) * w]);
            for u in 0..w {
                let mut t = tt[u];
                let on_wall = wall_t[u] < t;
                let px: [u8; C] = if on_wall {
                    t = wall_t[u];
                    let mut px = wall_colors[wall_face[u] as usize];
                    fog(&mut px, &fog_sky, t);
                    px
                } else if t.is_finite() {
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
                    if let (Some(o), Some(olv)) = (&self.overlay, row_olevels)
                        && o.may_cover(olv[u] as usize, ovx[u], ovy[u])
                    {
                        let q = o.levels[olv[u] as usize].bilinear::<4>(ovx[u], ovy[u], &[0; 4]);
                        if q[3] > 0 {
                            let keep = 255 - u32::from(q[3]);
                            let add: [u32; C] = if C == 1 {
                                let l = (u32::from(q[0]) * 299
                                    + u32::from(q[1]) * 587
                                    + u32::from(q[2]) * 114
                                    + 500)
                                    / 1000;
                                [l; C]
                            } else {
                                std::array::from_fn(|ch| u32::from(q[ch]))
                            };
                            for ch in 0..C {
                                let v = (u32::from(px[ch]) * keep + 127) / 255 + add[ch];
                                px[ch] = v.min(255) as u8;
                            }
                        }
                    }
                    fog(&mut px, &fog_sky, t);
                    px
                } else {
                    let (dx, dy, dz) = (ax + us[u] * g.bx, ay + us[u] * g.by, az + us[u] * g.bz);
                    let len2 = dx * dx + dy * dy + dz * dz;
                    let elevation = (dz / len2.sqrt()).clamp(0.0, 1.0);
                    let s = (elevation * 2.5).min(1.0);
                    let sky: [f32; 3] = std::array::from_fn(|ch| {
                        SKY_HORIZON[ch] + (SKY_TOP[ch] - SKY_HORIZON[ch]) * s
                    });
                    to_c(sky).map(|x| x as u8)
                };
                row_depth[u] = t;
                for ch in 0..C {
                    out[ch * plane + v * w + u] = px[ch];
                }
            }
        }
    }

    /// Ray-casts one box over the pixels the part of it in front of the
    /// camera projects to.
    fn draw_box(&mut self, pose: &CameraPose, b: &DrawBox, channels: usize, out: &mut [u8]) {
        if let Some(bounds) = self.box_bounds(pose, b) {
            self.raycast_box(pose, b, bounds, channels, out);
        }
    }

    /// The pixel rectangle `(u_start, u_end, v_start, v_end)` (ends
    /// exclusive) the box can cover, `None` when it is out of view.
    fn box_bounds(&self, pose: &CameraPose, b: &DrawBox) -> Option<(usize, usize, usize, usize)> {
        let (w, h) = (self.width, self.height);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let r = &pose.rotation;
        let (sy, cy_, centre, half) = box_frame(b);
        // the corners in optical coordinates (x right, y down, z forward)
        let corners: [[f64; 3]; 8] = std::array::from_fn(|i| {
            let lx = if i & 1 == 0 { -half[0] } else { half[0] };
            let ly = if i & 2 == 0 { -half[1] } else { half[1] };
            let lz = if i & 4 == 0 { -half[2] } else { half[2] };
            let rel = [
                centre[0] + cy_ * lx - sy * ly - pose.position[0],
                centre[1] + sy * lx + cy_ * ly - pose.position[1],
                centre[2] + lz - pose.position[2],
            ];
            // transpose(R) * rel
            [
                r[0][0] * rel[0] + r[1][0] * rel[1] + r[2][0] * rel[2],
                r[0][1] * rel[0] + r[1][1] * rel[1] + r[2][1] * rel[2],
                r[0][2] * rel[0] + r[1][2] * rel[1] + r[2][2] * rel[2],
            ]
        });
        // pixel bounds of the part in front of the camera: the corners in
        // front, and where the 12 edges cross the near plane
        const NEAR: f64 = 1e-3;
        let (mut u0, mut v0, mut u1, mut v1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        let mut include = |p: [f64; 3]| {
            let (pu, pv) = (cx + self.fx * p[0] / p[2], cy + self.fx * p[1] / p[2]);
            u0 = u0.min(pu);
            u1 = u1.max(pu);
            v0 = v0.min(pv);
            v1 = v1.max(pv);
        };
        for (i, c) in corners.iter().enumerate() {
            if c[2] > NEAR {
                include(*c);
            }
            for bit in [1, 2, 4] {
                let j = i | bit;
                if j == i {
                    continue;
                }
                let d = corners[j];
                if (c[2] > NEAR) != (d[2] > NEAR) {
                    let k = (NEAR - c[2]) / (d[2] - c[2]);
                    include([c[0] + (d[0] - c[0]) * k, c[1] + (d[1] - c[1]) * k, NEAR]);
                }
            }
        }
        if !u0.is_finite() || !v0.is_finite() {
            return None; // entirely behind the camera
        }
        let (u0, u1, v0, v1) = (
            u0.clamp(-1.0, w as f64 + 1.0),
            u1.clamp(-1.0, w as f64 + 1.0),
            v0.clamp(-1.0, h as f64 + 1.0),
            v1.clamp(-1.0, h as f64 + 1.0),
        );
        let (us, ue) = (
            u0.floor().max(0.0) as usize,
            (u1.ceil().max(0.0) as usize).min(w),
        );
        let (vs, ve) = (
            v0.floor().max(0.0) as usize,
            (v1.ceil().max(0.0) as usize).min(h),
        );
        (us < ue && vs < ve).then_some((us, ue, vs, ve))
    }

    /// Ray-casts box `b` over the pixels of `bounds` (`box_bounds`).
    fn raycast_box(
        &mut self,
        pose: &CameraPose,
        b: &DrawBox,
        (us, ue, vs, ve): (usize, usize, usize, usize),
        channels: usize,
        out: &mut [u8],
    ) {
        let (w, h) = (self.width, self.height);
        let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
        let r = &pose.rotation;
        let (sy, cy_, centre, half) = box_frame(b);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Boxes beside, around and behind the camera: the pixel bounds from
    /// the near-plane clipping never leave out a pixel the box covers.
    #[test]
    fn clipped_box_bounds_match_a_full_frame_ray_cast() {
        let cfg = CameraConfig::default();
        let mut renderer = CameraRenderer::new(&cfg);
        let pose = CameraPose::on_body([0.0, 0.0, 0.0], 0.3, 0.0, 0.0, [0.0, 0.0, 0.1], 0.2);
        let (w, h) = (cfg.width as usize, cfg.height as usize);
        let mut seen = 0;
        for (i, (x, y, len, yaw)) in [
            (0.0, 0.0, 0.6, 0.0),   // around the camera
            (-0.5, 0.4, 2.0, 0.4),  // beside it, reaching behind
            (3.0, 1.0, 0.5, 1.0),   // ahead
            (-3.0, -1.0, 0.5, 0.0), // behind
            (0.2, -0.3, 8.0, 0.3),  // a long wall through the view
            (0.3, 0.7, 3.0, 0.3),   // beside it on the left, from behind to ahead
        ]
        .into_iter()
        .enumerate()
        {
            let b = DrawBox {
                body: BoxBody {
                    center: Vec2::new(x, y),
                    yaw,
                    size: [len, 0.3, 0.5],
                },
                color: [200, 100, 50],
            };
            let mut clipped = vec![0u8; w * h];
            let mut full = vec![0u8; w * h];
            renderer.depth.fill(f32::INFINITY);
            renderer.draw_box(&pose, &b, 1, &mut clipped);
            renderer.depth.fill(f32::INFINITY);
            renderer.raycast_box(&pose, &b, (0, w, 0, h), 1, &mut full);
            assert_eq!(clipped, full, "box {i}");
            seen += usize::from(full.iter().any(|&v| v > 0));
        }
        assert!(seen >= 3, "only {seen} boxes in view");
    }
}
