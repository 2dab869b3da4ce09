//! The env's sensors: the camera frame (with its per-episode domain
//! randomisation) and the lidar.

use super::RaceEnv;
use crate::camera::{CameraPose, DrawBox};
use crate::objects::ray_boxes;
use crate::vehicle::CarState;
use chicane_core::Vec2;
use chicane_tracks::Track;
use rand::Rng;

/// Per-episode camera randomisation draws.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FrameJitter {
    gain: [f32; 3],
    offset: f32,
    noise: f32,
    blur: bool,
    texture: usize,
    mount: [f64; 3], // height (m), pitch (rad), yaw (rad)
    /// Seeds the per-episode texture jitter and sensor noise.
    texture_seed: u64,
    /// Texture jitter amplitude (grey levels).
    texture_amplitude: f32,
}

impl RaceEnv {
    /// Draws this episode's scenery (walls, background objects, floor
    /// marks) from its own stream, so turning scenery on leaves every
    /// other draw as it was.
    pub(super) fn draw_scenery(&mut self, track: &Track) {
        let scenery = &self.cfg.scenery;
        let Some(renderer) = self.renderer.as_mut() else {
            return;
        };
        if !scenery.is_active() {
            self.scenery_objects.clear();
            return;
        }
        let drawn = scenery.draw(track, &mut self.scenery_rng);
        renderer.set_walls(drawn.walls);
        let (lo, hi) = scenery.area(track);
        renderer.set_decals(lo, hi, &drawn.decals);
        self.scenery_objects = drawn.objects;
    }

    pub(super) fn draw_jitter(&mut self) -> FrameJitter {
        let dr = self.cfg.domain_randomization.clone();
        let mut j = FrameJitter {
            gain: [1.0; 3],
            ..FrameJitter::default()
        };
        if !dr.enabled {
            return j;
        }
        let rng = &mut self.rng;
        let mut sym = |m: f64| {
            if m > 0.0 {
                rng.random_range(-m..=m)
            } else {
                0.0
            }
        };
        let contrast = 1.0 + sym(dr.contrast);
        let mut gain = [0.0f32; 3];
        for g in &mut gain {
            *g = (contrast * (1.0 + sym(dr.color))) as f32;
        }
        j.gain = gain;
        j.offset = (sym(dr.brightness) * 255.0) as f32;
        j.noise = dr.noise as f32;
        j.mount = [
            sym(dr.mount_height),
            sym(dr.mount_pitch_deg).to_radians(),
            sym(dr.mount_yaw_deg).to_radians(),
        ];
        j.blur = dr.blur > 0.0 && self.rng.random_bool(dr.blur.min(1.0));
        j.texture = if self.assets.textures.len() > 1 {
            self.rng.random_range(0..self.assets.textures.len())
        } else {
            0
        };
        j.texture_seed = self.rng.random::<u64>() | 1;
        j.texture_amplitude = dr.texture as f32;
        j
    }

    /// Renders the sensors for `state` into `self.obs`; with
    /// `repeat_camera` the camera keeps its last frame (a dropped frame).
    pub(super) fn observe(&mut self, state: &CarState, repeat_camera: bool) {
        let Some(jitter) = self.ep.as_ref().map(|e| e.jitter) else {
            return;
        };
        self.boxes.clear();
        self.boxes.extend(self.objects.boxes());
        if let (Some(cam), Some(renderer), false) =
            (&self.cfg.camera, self.renderer.as_mut(), repeat_camera)
        {
            let tex = &self.assets.textures[jitter.texture];
            let rest_height =
                self.cfg.vehicle.wheel_radius + self.cfg.vehicle.suspension_rest_length;
            let body = [state.position.x, state.position.y, state.height];
            let per = tex.channels() * cam.width as usize * cam.height as usize;
            let lenses: &[f64] = if cam.stereo { &[0.5, -0.5] } else { &[0.0] };
            let n_obstacles = self.objects.obstacles.len();
            let draw: Vec<DrawBox> = self
                .boxes
                .iter()
                .enumerate()
                .map(|(i, b)| DrawBox {
                    body: *b,
                    color: if i < n_obstacles {
                        [236, 236, 228]
                    } else {
                        [40, 110, 220]
                    },
                })
                .chain(self.scenery_objects.iter().copied())
                .collect();
            renderer.set_texture_jitter(Some((jitter.texture_seed, jitter.texture_amplitude)));
            for (i, side) in lenses.iter().enumerate() {
                let mount = [
                    cam.mount_forward,
                    side * cam.stereo_baseline,
                    cam.mount_height + jitter.mount[0] - rest_height,
                ];
                let pose = CameraPose::on_body(
                    body,
                    state.yaw + jitter.mount[2],
                    state.pitch,
                    state.roll,
                    mount,
                    cam.pitch_deg.to_radians() + jitter.mount[1],
                );
                renderer.render(
                    tex,
                    &pose,
                    &draw,
                    &mut self.obs.camera[i * per..(i + 1) * per],
                );
            }
            let step = self.ep.as_ref().map_or(0, |e| e.step);
            let realism = &self.cfg.camera_realism;
            let dims = (
                cam.width as usize,
                cam.height as usize,
                if cam.rgb { 3 } else { 1 },
            );
            if realism.is_active() {
                let previous =
                    (step > 0 && realism.motion_blur > 0.0).then_some(self.prev_camera.as_slice());
                realism.apply(
                    &self.realism_maps,
                    &mut self.obs.camera,
                    &mut self.scratch,
                    dims.2,
                    previous,
                    state.speed / self.cfg.vehicle.max_speed,
                );
            }
            if self.cfg.domain_randomization.enabled {
                postprocess(
                    &mut self.obs.camera,
                    &mut self.scratch,
                    cam.width as usize,
                    cam.height as usize,
                    &jitter,
                    step,
                );
            }
            realism.encode(&mut self.obs.camera, dims);
            if realism.motion_blur > 0.0 {
                self.prev_camera.clone_from(&self.obs.camera);
            }
        }
        if let Some(lidar) = &self.cfg.lidar {
            let fov = lidar.fov_deg.to_radians();
            let beams = lidar.beams;
            let origin = state.position;
            let mut readings = Vec::with_capacity(beams);
            for k in 0..beams {
                let a = if beams == 1 {
                    0.0
                } else {
                    -fov / 2.0 + fov * k as f64 / (beams - 1) as f64
                };
                let dir = Vec2::from_angle(state.yaw + a);
                let r =
                    ray_boxes(origin, dir, &self.boxes, lidar.max_range).unwrap_or(lidar.max_range);
                readings.push(r.clamp(lidar.min_range, lidar.max_range) as f32);
            }
            match lidar.sectors {
                None => self.obs.lidar.copy_from_slice(&readings),
                Some(sectors) => {
                    for (i, out) in self.obs.lidar.iter_mut().enumerate() {
                        let (a, b) = (
                            i * beams / sectors,
                            ((i + 1) * beams / sectors).max(i * beams / sectors + 1),
                        );
                        *out = readings[a..b.min(beams)]
                            .iter()
                            .copied()
                            .fold(f32::INFINITY, f32::min);
                    }
                }
            }
        }
    }
}

/// Applies the episode's colour, noise and blur randomisation.
fn postprocess(
    frame: &mut [u8],
    scratch: &mut Vec<u8>,
    w: usize,
    h: usize,
    j: &FrameJitter,
    step: u64,
) {
    let plane = w * h;
    let channels = frame.len() / plane;
    // a small, fast, deterministic generator for per-pixel noise
    let mut state =
        j.texture_seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // sum of two uniforms: a cheap bell-shaped noise in [-1, 1]
        ((state & 0xffff) as f32 + ((state >> 16) & 0xffff) as f32) / 65535.0 - 1.0
    };
    for c in 0..channels {
        let gain = j.gain[c % 3];
        for v in &mut frame[c * plane..(c + 1) * plane] {
            let mut x = (*v as f32 - 128.0) * gain + 128.0 + j.offset;
            if j.noise > 0.0 {
                x += next() * j.noise * 1.7;
            }
            *v = x.round().clamp(0.0, 255.0) as u8;
        }
    }
    if j.blur {
        scratch.resize(frame.len(), 0);
        scratch.copy_from_slice(frame);
        for c in 0..channels {
            let src = &scratch[c * plane..(c + 1) * plane];
            let dst = &mut frame[c * plane..(c + 1) * plane];
            for y in 0..h {
                for x in 0..w {
                    let mut sum = 0u32;
                    let mut n = 0u32;
                    for yy in y.saturating_sub(1)..(y + 2).min(h) {
                        for xx in x.saturating_sub(1)..(x + 2).min(w) {
                            sum += src[yy * w + xx] as u32;
                            n += 1;
                        }
                    }
                    dst[y * w + x] = ((sum + n / 2) / n) as u8;
                }
            }
        }
    }
}
