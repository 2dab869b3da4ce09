//! The cars (and obstacles and bot cars) in the 3D view, and the view's
//! cameras: chase, top-down and orbit.

use crate::scene::{ShownTrack, world};
use crate::training::CarPose;
use bevy::prelude::*;
use chicane_sim::{BOT_SIZE, OBSTACLE_SIZE};

/// What the 3D view shows now (written by training, evaluation or replay).
#[derive(Resource, Debug, Clone, Default)]
pub struct ShownCars {
    /// The cars; the first is the one the chase camera follows.
    pub cars: Vec<CarPose>,
    /// Obstacles or bot cars: position (m) and heading (rad).
    pub objects: Vec<(f64, f64, f64)>,
    /// The objects are bot cars (head-to-bot), not boxes.
    pub bots: bool,
}

/// A car of the view (index into [`ShownCars::cars`]).
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarMarker(pub usize);

/// An obstacle or bot car of the view.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMarker(pub usize);

/// How the 3D camera moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CameraMode {
    /// Behind and above the first car.
    #[default]
    Chase,
    /// Straight down on the whole track.
    TopDown,
    /// Around the track's centre (drag sliders, or it turns by itself).
    Orbit,
}

/// The 3D camera's settings.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct ViewCamera {
    /// The mode.
    pub mode: CameraMode,
    /// Orbit: angle around the track (rad).
    pub orbit_yaw: f32,
    /// Orbit: elevation (rad).
    pub orbit_pitch: f32,
    /// Orbit: turn rate (rad/s), 0 to hold.
    pub orbit_speed: f32,
    /// Chase: distance behind the car (m).
    pub chase_distance: f32,
}

impl Default for ViewCamera {
    fn default() -> Self {
        Self {
            mode: CameraMode::Chase,
            orbit_yaw: 0.6,
            orbit_pitch: 0.7,
            orbit_speed: 0.15,
            chase_distance: 1.2,
        }
    }
}

/// Marks the 3D view's camera.
#[derive(Component, Debug, Clone, Copy)]
pub struct MainCamera;

/// Car body length, width, height (m): DeepRacer's 1/18 car is about
/// 0.40 x 0.20 x 0.13 m with a 0.165 m wheelbase.
const BODY: Vec3 = Vec3::new(0.36, 0.07, 0.19);

#[derive(Resource)]
struct CarAssets {
    body: Handle<Mesh>,
    wheel: Handle<Mesh>,
    cam: Handle<Mesh>,
    mats: Vec<Handle<StandardMaterial>>,
    tyre: Handle<StandardMaterial>,
    obstacle: Handle<Mesh>,
    obstacle_mat: Handle<StandardMaterial>,
    bot: Handle<Mesh>,
    bot_mat: Handle<StandardMaterial>,
}

fn setup(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let colors = [
        Color::srgb(0.85, 0.1, 0.1),
        Color::srgb(0.1, 0.35, 0.9),
        Color::srgb(0.1, 0.7, 0.3),
        Color::srgb(0.9, 0.6, 0.1),
        Color::srgb(0.6, 0.2, 0.8),
        Color::srgb(0.1, 0.7, 0.75),
    ];
    let assets = CarAssets {
        body: meshes.add(Cuboid::new(BODY.x, BODY.y, BODY.z)),
        wheel: meshes.add(Cylinder::new(0.03, 0.025)),
        cam: meshes.add(Cuboid::new(0.03, 0.03, 0.05)),
        mats: colors
            .iter()
            .map(|&c| materials.add(StandardMaterial::from(c)))
            .collect(),
        tyre: materials.add(StandardMaterial::from(Color::srgb(0.05, 0.05, 0.05))),
        obstacle: meshes.add(Cuboid::new(
            OBSTACLE_SIZE[0] as f32,
            OBSTACLE_SIZE[2] as f32,
            OBSTACLE_SIZE[1] as f32,
        )),
        obstacle_mat: materials.add(StandardMaterial::from(Color::srgb(0.95, 0.95, 0.95))),
        bot: meshes.add(Cuboid::new(
            BOT_SIZE[0] as f32,
            BOT_SIZE[2] as f32,
            BOT_SIZE[1] as f32,
        )),
        bot_mat: materials.add(StandardMaterial::from(Color::srgb(0.2, 0.2, 0.25))),
    };
    commands.insert_resource(assets);
    // no MSAA: with software rendering (llvmpipe) it costs more than the
    // rest of the frame, CPU the trainer needs
    commands.spawn((
        MainCamera,
        Camera3d::default(),
        bevy::render::view::Msaa::Off,
        Transform::from_xyz(0.0, 8.0, 8.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
}

fn pose_transform(p: &CarPose, h: f32) -> Transform {
    Transform::from_translation(world(p.x, p.y, h))
        .with_rotation(Quat::from_rotation_y(p.yaw as f32))
}

/// Spawns, moves and removes car and object entities to match [`ShownCars`].
fn sync_cars(
    mut commands: Commands,
    shown: Res<ShownCars>,
    assets: Option<Res<CarAssets>>,
    mut cars: Query<(Entity, &CarMarker, &mut Transform), Without<ObjectMarker>>,
    mut objects: Query<(Entity, &ObjectMarker, &mut Transform), Without<CarMarker>>,
) {
    let Some(assets) = assets else {
        return;
    };
    let mut have = vec![false; shown.cars.len()];
    for (e, m, mut t) in &mut cars {
        match shown.cars.get(m.0) {
            Some(p) => {
                *t = pose_transform(p, 0.0);
                have[m.0] = true;
            }
            None => commands.entity(e).despawn(),
        }
    }
    for (i, p) in shown.cars.iter().enumerate() {
        if have[i] {
            continue;
        }
        let mat = assets.mats[i % assets.mats.len()].clone();
        commands
            .spawn((CarMarker(i), pose_transform(p, 0.0), Visibility::default()))
            .with_children(|c| {
                c.spawn((
                    Mesh3d(assets.body.clone()),
                    MeshMaterial3d(mat),
                    Transform::from_xyz(0.0, 0.065, 0.0),
                ));
                c.spawn((
                    Mesh3d(assets.cam.clone()),
                    MeshMaterial3d(assets.tyre.clone()),
                    Transform::from_xyz(0.15, 0.115, 0.0),
                ));
                for (dx, dz) in [
                    (0.0825, 0.09),
                    (0.0825, -0.09),
                    (-0.0825, 0.09),
                    (-0.0825, -0.09),
                ] {
                    c.spawn((
                        Mesh3d(assets.wheel.clone()),
                        MeshMaterial3d(assets.tyre.clone()),
                        Transform::from_xyz(dx, 0.03, dz)
                            .with_rotation(Quat::from_rotation_x(std::f32::consts::FRAC_PI_2)),
                    ));
                }
            });
    }
    let half_height = if shown.bots {
        BOT_SIZE[2]
    } else {
        OBSTACLE_SIZE[2]
    } as f32
        / 2.0;
    let mut have = vec![false; shown.objects.len()];
    for (e, m, mut t) in &mut objects {
        match shown.objects.get(m.0) {
            Some(&(x, y, yaw)) => {
                *t = Transform::from_translation(world(x, y, half_height))
                    .with_rotation(Quat::from_rotation_y(yaw as f32));
                have[m.0] = true;
            }
            None => commands.entity(e).despawn(),
        }
    }
    for (i, &(x, y, yaw)) in shown.objects.iter().enumerate() {
        if have[i] {
            continue;
        }
        let (mesh, mat) = if shown.bots {
            (assets.bot.clone(), assets.bot_mat.clone())
        } else {
            (assets.obstacle.clone(), assets.obstacle_mat.clone())
        };
        commands.spawn((
            ObjectMarker(i),
            Mesh3d(mesh),
            MeshMaterial3d(mat),
            Transform::from_translation(world(x, y, half_height))
                .with_rotation(Quat::from_rotation_y(yaw as f32)),
        ));
    }
}

/// Where the 3D camera should be for `cam` looking at `cars` on a track
/// spanning `lo..hi` (m), `t` seconds since start.
pub fn camera_transform(cam: &ViewCamera, cars: &[CarPose], lo: Vec2, hi: Vec2) -> Transform {
    let centre = world(
        f64::from(lo.x + hi.x) / 2.0,
        f64::from(lo.y + hi.y) / 2.0,
        0.0,
    );
    let span = (hi - lo).max_element().max(1.0);
    match (cam.mode, cars.first()) {
        (CameraMode::Chase, Some(p)) => {
            let car = world(p.x, p.y, 0.0);
            let back = Vec3::new(-(p.yaw.cos() as f32), 0.0, p.yaw.sin() as f32);
            let eye = car + back * cam.chase_distance + Vec3::Y * cam.chase_distance * 0.55;
            Transform::from_translation(eye).looking_at(car + Vec3::Y * 0.05 - back * 0.4, Vec3::Y)
        }
        (CameraMode::TopDown, _) | (CameraMode::Chase, None) => {
            // a 45 deg vertical field of view sees `span` from 1.25 span up
            Transform::from_translation(centre + Vec3::Y * span * 1.25)
                .looking_at(centre, Vec3::NEG_Z)
        }
        (CameraMode::Orbit, _) => {
            let d = span * 0.9;
            let (yaw, pitch) = (cam.orbit_yaw, cam.orbit_pitch.clamp(0.1, 1.5));
            let eye = centre
                + Vec3::new(
                    yaw.cos() * pitch.cos(),
                    pitch.sin(),
                    yaw.sin() * pitch.cos(),
                ) * d;
            Transform::from_translation(eye).looking_at(centre, Vec3::Y)
        }
    }
}

fn move_camera(
    time: Res<Time>,
    mut cam: ResMut<ViewCamera>,
    shown: Res<ShownCars>,
    track: Option<Res<ShownTrack>>,
    mut q: Query<&mut Transform, With<MainCamera>>,
) {
    if cam.mode == CameraMode::Orbit {
        cam.orbit_yaw =
            (cam.orbit_yaw + cam.orbit_speed * time.delta_secs()) % std::f32::consts::TAU;
    }
    let (lo, hi) = track.map_or((Vec2::splat(-3.0), Vec2::splat(3.0)), |t| {
        let (lo, hi) = t.track.bounds();
        (
            Vec2::new(lo.x as f32, lo.y as f32),
            Vec2::new(hi.x as f32, hi.y as f32),
        )
    });
    let target = camera_transform(&cam, &shown.cars, lo, hi);
    for mut t in &mut q {
        // ease towards the target so the chase camera does not jitter
        let k = (time.delta_secs() * 6.0).clamp(0.0, 1.0);
        t.translation = t.translation.lerp(target.translation, k);
        t.rotation = t.rotation.slerp(target.rotation, k);
    }
}

/// The cars, objects and the 3D camera (the car view feature).
#[derive(Debug, Default)]
pub struct CarViewPlugin;

impl Plugin for CarViewPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<ShownCars>()
            .init_resource::<ViewCamera>()
            .add_systems(Startup, setup)
            .add_systems(Update, (sync_cars, move_camera));
    }
}
