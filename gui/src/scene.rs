//! The 3D track, generated from the track geometry: road surface, white
//! borders, dashed centre line, start line, ground and surroundings.
//!
//! Track coordinates (x east, y north, z up; DeepRacer's) map to bevy's
//! y-up world as `(x, y) -> (x, 0, -y)`, so a heading `yaw` (rad,
//! counter-clockwise from +x) is a rotation of `yaw` about bevy's +Y.

use bevy::asset::RenderAssetUsages;
use bevy::image::{
    CompressedImageFormats, ImageAddressMode, ImageSampler, ImageSamplerDescriptor, ImageType,
};
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use chicane_tracks::Track;
use std::sync::Arc;

/// Border line width (m): DeepRacer's tracks paint 5 cm white lines.
pub const BORDER_WIDTH: f64 = 0.05;
/// Centre line width (m).
pub const CENTER_LINE_WIDTH: f64 = 0.025;
/// Centre line dash and gap length (m).
pub const DASH_LENGTH: f64 = 0.15;

/// The track point `(x, y)` (m) at height `h` (m) in bevy's world.
pub fn world(x: f64, y: f64, h: f32) -> Vec3 {
    Vec3::new(x as f32, h, -(y as f32))
}

/// The track being shown. Replace `track` and bump `version` to rebuild the
/// scene.
#[derive(Resource, Debug, Clone)]
pub struct ShownTrack {
    /// The track.
    pub track: Arc<Track>,
    /// Bumped on every change.
    pub version: u64,
}

/// Marks every entity of the generated track scene.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackPart {
    /// The asphalt.
    Road,
    /// A white border line.
    Border,
    /// A dash of the centre line.
    CenterLine,
    /// The start/finish line.
    StartLine,
    /// The ground and what stands on it.
    Surroundings,
}

/// A flat ribbon between two polylines of equal length (normals up).
///
/// # Shapes
/// `left`, `right`: `[n]` points; the mesh has `2n` vertices and
/// `6 (n - 1)` indices (`6 n` when `closed`).
pub fn ribbon(left: &[Vec3], right: &[Vec3], closed: bool) -> Mesh {
    let n = left.len().min(right.len());
    let mut positions = Vec::with_capacity(2 * n);
    for i in 0..n {
        positions.push(left[i].to_array());
        positions.push(right[i].to_array());
    }
    let mut indices = Vec::with_capacity(6 * n);
    let segs = if closed { n } else { n.saturating_sub(1) };
    for i in 0..segs {
        let j = (i + 1) % n;
        let (l0, r0, l1, r1) = (
            2 * i as u32,
            2 * i as u32 + 1,
            2 * j as u32,
            2 * j as u32 + 1,
        );
        // counter-clockwise seen from above (+Y)
        indices.extend_from_slice(&[l0, r0, l1, l1, r0, r1]);
    }
    let normals = vec![[0.0f32, 1.0, 0.0]; positions.len()];
    let uvs = vec![[0.0f32, 0.0]; positions.len()];
    Mesh::new(
        PrimitiveTopology::TriangleList,
        RenderAssetUsages::default(),
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
    .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
    .with_inserted_indices(Indices::U32(indices))
}

/// Points along the track at arc length `s` (m) every `step` m, offset
/// `d` (m, left positive) from the centre line, at height `h`.
fn offset_line(
    track: &Track,
    d: impl Fn(f64) -> f64,
    s0: f64,
    s1: f64,
    step: f64,
    h: f32,
) -> Vec<Vec3> {
    let n = (((s1 - s0) / step).ceil() as usize).max(1);
    (0..=n)
        .map(|k| {
            let s = s0 + (s1 - s0) * k as f64 / n as f64;
            let p = track.to_world(s, d(s));
            world(p.x, p.y, h)
        })
        .collect()
}

/// The meshes of a track scene, by part.
pub fn track_meshes(track: &Track) -> Vec<(TrackPart, Mesh)> {
    let len = track.length();
    let closed = track.is_closed();
    // sample finely enough for the tightest corner
    let step = 0.05_f64.min(len / 50.0).max(0.005);
    let end = if closed { len - step * 0.5 } else { len };
    let lw = |s: f64| track.left_width_at(s);
    let rw = |s: f64| track.right_width_at(s);
    let mut out = Vec::new();
    let road_l = offset_line(track, lw, 0.0, end, step, 0.0);
    let road_r = offset_line(track, |s| -rw(s), 0.0, end, step, 0.0);
    out.push((TrackPart::Road, ribbon(&road_l, &road_r, closed)));
    for (outer, inner) in [
        (
            offset_line(track, lw, 0.0, end, step, 0.002),
            offset_line(track, |s| lw(s) - BORDER_WIDTH, 0.0, end, step, 0.002),
        ),
        (
            offset_line(track, |s| -rw(s) + BORDER_WIDTH, 0.0, end, step, 0.002),
            offset_line(track, |s| -rw(s), 0.0, end, step, 0.002),
        ),
    ] {
        out.push((TrackPart::Border, ribbon(&outer, &inner, closed)));
    }
    let half = CENTER_LINE_WIDTH / 2.0;
    let mut s = 0.0;
    while s + DASH_LENGTH <= len {
        let l = offset_line(track, |_| half, s, s + DASH_LENGTH, step, 0.002);
        let r = offset_line(track, |_| -half, s, s + DASH_LENGTH, step, 0.002);
        out.push((TrackPart::CenterLine, ribbon(&l, &r, false)));
        s += 2.0 * DASH_LENGTH;
    }
    let start = track.start();
    let s0 = start.s.clamp(0.0, len);
    let a = offset_line(track, lw, s0, s0 + 0.05, 0.05, 0.003);
    let b = offset_line(track, |s| -rw(s), s0, s0 + 0.05, 0.05, 0.003);
    if a.len() >= 2 && b.len() >= 2 {
        out.push((
            TrackPart::StartLine,
            ribbon(&[a[0], a[a.len() - 1]], &[b[0], b[b.len() - 1]], false),
        ));
    }
    out
}

/// The road's texture (`assets/textures/asphalt.png`, tileable, made by
/// `assets/textures/make_textures.py`), embedded so the app runs from any
/// folder.
const ASPHALT_PNG: &[u8] = include_bytes!("../../assets/textures/asphalt.png");
/// The ground's texture (`assets/textures/grass.png`).
const GRASS_PNG: &[u8] = include_bytes!("../../assets/textures/grass.png");
/// Texture repeats per metre on the ground plane.
const TEXTURE_REPEAT_PER_M: f32 = 2.0;

/// A tiling (repeating, linearly filtered) texture from PNG bytes.
///
/// # Errors
/// The decoder's error for bytes that are not a PNG.
pub fn tiling_texture(png: &[u8]) -> Result<Image, bevy::image::TextureError> {
    let sampler = ImageSampler::Descriptor(ImageSamplerDescriptor {
        address_mode_u: ImageAddressMode::Repeat,
        address_mode_v: ImageAddressMode::Repeat,
        ..ImageSamplerDescriptor::linear()
    });
    Image::from_buffer(
        png,
        ImageType::Extension("png"),
        CompressedImageFormats::NONE,
        true,
        sampler,
        RenderAssetUsages::default(),
    )
}

/// Planar texture coordinates for a mesh lying on the ground (x, z):
/// [`TEXTURE_REPEAT_PER_M`] repeats per metre.
fn ground_uvs(mesh: &mut Mesh) {
    let uvs: Option<Vec<[f32; 2]>> = mesh
        .attribute(Mesh::ATTRIBUTE_POSITION)
        .and_then(|a| a.as_float3())
        .map(|ps| {
            ps.iter()
                .map(|p| [p[0] * TEXTURE_REPEAT_PER_M, p[2] * TEXTURE_REPEAT_PER_M])
                .collect()
        });
    if let Some(uvs) = uvs {
        mesh.insert_attribute(Mesh::ATTRIBUTE_UV_0, uvs);
    }
}

/// Rebuilds the track scene when [`ShownTrack`] changes.
pub fn rebuild_track(
    mut commands: Commands,
    shown: Option<Res<ShownTrack>>,
    mut built: Local<Option<u64>>,
    old: Query<Entity, With<TrackPart>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut images: ResMut<Assets<Image>>,
) {
    let Some(shown) = shown else {
        return;
    };
    if *built == Some(shown.version) {
        return;
    }
    *built = Some(shown.version);
    for e in &old {
        commands.entity(e).despawn();
    }
    let track = &shown.track;
    let mat = |materials: &mut Assets<StandardMaterial>, c: Color, rough: f32| {
        materials.add(StandardMaterial {
            base_color: c,
            perceptual_roughness: rough,
            ..default()
        })
    };
    let textured = |materials: &mut Assets<StandardMaterial>,
                    images: &mut Assets<Image>,
                    png: &[u8],
                    rough: f32| {
        // the textures are the project's own files (a test decodes them):
        // a failure is a build defect, logged and drawn untextured
        let texture = match tiling_texture(png) {
            Ok(img) => Some(images.add(img)),
            Err(e) => {
                warn!("a ground texture in assets/textures does not decode: {e}");
                None
            }
        };
        materials.add(StandardMaterial {
            base_color_texture: texture,
            perceptual_roughness: rough,
            ..default()
        })
    };
    let asphalt = textured(&mut materials, &mut images, ASPHALT_PNG, 0.9);
    let white = mat(&mut materials, Color::srgb(0.95, 0.95, 0.95), 0.6);
    let yellow = mat(&mut materials, Color::srgb(0.95, 0.8, 0.2), 0.6);
    let start = mat(&mut materials, Color::srgb(0.9, 0.1, 0.1), 0.6);
    for (part, mut mesh) in track_meshes(track) {
        if part == TrackPart::Road {
            ground_uvs(&mut mesh);
        }
        let m = match part {
            TrackPart::Road => asphalt.clone(),
            TrackPart::Border => white.clone(),
            TrackPart::CenterLine => yellow.clone(),
            TrackPart::StartLine => start.clone(),
            TrackPart::Surroundings => white.clone(),
        };
        commands.spawn((
            part,
            Mesh3d(meshes.add(mesh)),
            MeshMaterial3d(m),
            Transform::default(),
        ));
    }
    // ground and a low fence around the track's bounds
    let (lo, hi) = track.bounds();
    let margin = 1.0;
    let (cx, cy) = ((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0);
    let (w, h) = ((hi.x - lo.x) + 2.0 * margin, (hi.y - lo.y) + 2.0 * margin);
    let grass = textured(&mut materials, &mut images, GRASS_PNG, 1.0);
    let mut ground = Plane3d::default()
        .mesh()
        .size(w as f32 * 3.0, h as f32 * 3.0)
        .build();
    ground_uvs(&mut ground);
    commands.spawn((
        TrackPart::Surroundings,
        Mesh3d(meshes.add(ground)),
        MeshMaterial3d(grass),
        Transform::from_translation(world(cx, cy, -0.01)),
    ));
    let fence = mat(&mut materials, Color::srgb(0.55, 0.57, 0.62), 0.8);
    let t = 0.05_f32;
    for (px, py, sx, sz) in [
        (cx, cy + h / 2.0, w as f32, t),
        (cx, cy - h / 2.0, w as f32, t),
        (cx + w / 2.0, cy, t, h as f32),
        (cx - w / 2.0, cy, t, h as f32),
    ] {
        commands.spawn((
            TrackPart::Surroundings,
            Mesh3d(meshes.add(Cuboid::new(sx, 0.25, sz))),
            MeshMaterial3d(fence.clone()),
            Transform::from_translation(world(px, py, 0.125)),
        ));
    }
}

/// Lights for the scene (once).
fn setup_lights(mut commands: Commands) {
    commands.spawn((
        DirectionalLight {
            illuminance: 9_000.0,
            shadow_maps_enabled: false,
            ..default()
        },
        Transform::from_xyz(4.0, 10.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.insert_resource(GlobalAmbientLight {
        brightness: 600.0,
        ..default()
    });
}

/// The track scene (one plugin per feature: the track view).
#[derive(Debug, Default)]
pub struct TrackViewPlugin;

impl Plugin for TrackViewPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup_lights)
            .add_systems(Update, rebuild_track);
    }
}
