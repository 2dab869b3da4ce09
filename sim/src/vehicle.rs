//! The car: a rigid chassis on rapier's ray-cast vehicle controller.
//!
//! Frames: world x east, y north, z up (the track's plane is z = 0); the
//! chassis frame is x forward, y left, z up (ROS REP 103). The chassis
//! origin is midway between the axles at the height of the wheel hubs.

use chicane_core::Vec2;
use rapier3d::control::{DynamicRayCastVehicleController, WheelTuning};
use rapier3d::prelude::*;
use serde::{Deserialize, Serialize};

/// Physical parameters of a 1/18-scale car, DeepRacer class. Nominal values
/// for the WLtoys A979-based 1/18 chassis that the DeepRacer car and many
/// Donkey Cars use; measure and tune for your own car.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleConfig {
    /// Distance between front and rear axles (m). Default 0.165.
    pub wheelbase: f64,
    /// Distance between the left and right wheel centres (m). Default 0.145.
    pub track_width: f64,
    /// Total mass (kg). Default 1.5 (car, battery and compute module).
    pub mass: f64,
    /// Wheel radius (m). Default 0.032.
    pub wheel_radius: f64,
    /// Chassis box length, width and height (m), for collisions and what
    /// other cars' cameras see. Default 0.29 x 0.19 x 0.10.
    pub body_size: [f64; 3],
    /// Largest steering angle of the front wheels (deg). Default 30
    /// (DeepRacer's limit).
    pub max_steering_angle_deg: f64,
    /// Steering servo rate (rad/s): the wheels turn at most this fast.
    /// Default 8.7 (a 0.12 s / 60 deg hobby servo).
    pub steering_rate: f64,
    /// Slowest commanded speed (m/s). Default 0.1 (DeepRacer's limit).
    pub min_speed: f64,
    /// Fastest commanded speed (m/s). Default 4.0 (DeepRacer's limit).
    pub max_speed: f64,
    /// Largest total drive force (N). Default 8 (about 5 m/s^2 at 1.5 kg).
    pub max_drive_force: f64,
    /// Largest total braking force (N). Default 12.
    pub max_brake_force: f64,
    /// Speed controller gain (N per m/s of speed error). Default 12.
    pub speed_gain: f64,
    /// Suspension length at rest (m). Default 0.02.
    pub suspension_rest_length: f64,
    /// Suspension travel either side of rest (m). Default 0.012.
    pub suspension_travel: f64,
    /// Suspension stiffness per unit sprung mass (1/s^2, rapier's
    /// `WheelTuning::suspension_stiffness`). Default 500: about 5 mm of sag.
    pub suspension_stiffness: f64,
    /// Suspension damping per unit mass (1/s). Default 20 (about 0.45 of critical).
    pub suspension_damping: f64,
    /// Tyre grip: the friction coefficient limiting wheel forces (rapier's
    /// `friction_slip`). Default 1.0 (rubber on carpet or vinyl).
    pub grip: f64,
    /// How fast a tyre removes its own sideways slip (1/s): each physics
    /// step a wheel applies the lateral impulse that would cancel
    /// `lateral_slip_rate * dt` of its contact point's sideways velocity.
    /// Default 15: turn radii within 10% of the kinematic bicycle model at
    /// 0.5 m/s (`tests/bicycle_model.rs`).
    pub lateral_slip_rate: f64,
}

impl Default for VehicleConfig {
    fn default() -> Self {
        Self {
            wheelbase: 0.165,
            track_width: 0.145,
            mass: 1.5,
            wheel_radius: 0.032,
            body_size: [0.29, 0.19, 0.10],
            max_steering_angle_deg: 30.0,
            steering_rate: 8.7,
            min_speed: 0.1,
            max_speed: 4.0,
            max_drive_force: 8.0,
            max_brake_force: 12.0,
            speed_gain: 12.0,
            suspension_rest_length: 0.02,
            suspension_travel: 0.012,
            suspension_stiffness: 500.0,
            suspension_damping: 20.0,
            grip: 1.0,
            lateral_slip_rate: 15.0,
        }
    }
}

impl VehicleConfig {
    /// Checks every field: finite, positive where a size or a rate, and
    /// consistent (`min_speed < max_speed`, steering within 0..60 deg).
    ///
    /// # Errors
    /// The field at fault and what it must be.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let positive = [
            ("vehicle.wheelbase", self.wheelbase),
            ("vehicle.track_width", self.track_width),
            ("vehicle.mass", self.mass),
            ("vehicle.wheel_radius", self.wheel_radius),
            ("vehicle.body_size[0]", self.body_size[0]),
            ("vehicle.body_size[1]", self.body_size[1]),
            ("vehicle.body_size[2]", self.body_size[2]),
            ("vehicle.steering_rate", self.steering_rate),
            ("vehicle.max_speed", self.max_speed),
            ("vehicle.max_drive_force", self.max_drive_force),
            ("vehicle.max_brake_force", self.max_brake_force),
            ("vehicle.speed_gain", self.speed_gain),
            (
                "vehicle.suspension_rest_length",
                self.suspension_rest_length,
            ),
            ("vehicle.suspension_travel", self.suspension_travel),
            ("vehicle.suspension_stiffness", self.suspension_stiffness),
            ("vehicle.suspension_damping", self.suspension_damping),
            ("vehicle.grip", self.grip),
            ("vehicle.lateral_slip_rate", self.lateral_slip_rate),
        ];
        for (field, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err((field.into(), format!("{v} must be a positive number")));
            }
        }
        if !(self.max_steering_angle_deg.is_finite()
            && self.max_steering_angle_deg > 0.0
            && self.max_steering_angle_deg < 60.0)
        {
            return Err((
                "vehicle.max_steering_angle_deg".into(),
                format!("{} must be within 0..60 deg", self.max_steering_angle_deg),
            ));
        }
        if !(self.min_speed.is_finite() && self.min_speed >= 0.0 && self.min_speed < self.max_speed)
        {
            return Err((
                "vehicle.min_speed".into(),
                format!(
                    "{} m/s must be at least 0 and below max_speed ({} m/s)",
                    self.min_speed, self.max_speed
                ),
            ));
        }
        Ok(())
    }
}

/// The car's state in the ground plane and its attitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CarState {
    /// Chassis origin (midway between the axles) in the ground plane (m).
    pub position: Vec2,
    /// Height of the chassis origin above the ground (m).
    pub height: f64,
    /// Yaw (rad, counter-clockwise from +x).
    pub yaw: f64,
    /// Pitch (rad, positive = nose down, about the chassis y axis).
    pub pitch: f64,
    /// Roll (rad, positive = right side down, about the chassis x axis).
    pub roll: f64,
    /// Velocity along the chassis x axis (m/s); negative when rolling back.
    pub speed: f64,
    /// Velocity in the ground plane (m/s).
    pub velocity: Vec2,
    /// Current front-wheel steering angle (rad), positive = left.
    pub steering: f64,
    /// Ground contact points of the wheels (m): front-left, front-right,
    /// rear-left, rear-right.
    pub wheels: [Vec2; 4],
}

impl CarState {
    /// Unit vector of the car's heading.
    pub fn forward(&self) -> Vec2 {
        Vec2::from_angle(self.yaw)
    }

    /// A point `ahead` metres in front of the chassis origin along its heading.
    pub fn point_ahead(&self, ahead: f64) -> Vec2 {
        self.position + self.forward() * ahead
    }
}

/// A box collider in the world: an obstacle or a bot car.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxBody {
    /// Centre in the ground plane (m).
    pub center: Vec2,
    /// Yaw (rad).
    pub yaw: f64,
    /// Length (along yaw), width and height (m).
    pub size: [f64; 3],
}

/// The car in its own rapier world (a flat ground and box objects),
/// stepped at a fixed `dt`.
pub struct Vehicle {
    world: PhysicsWorld,
    chassis: RigidBodyHandle,
    controller: DynamicRayCastVehicleController,
    objects: Vec<(RigidBodyHandle, ColliderHandle)>,
    chassis_collider: ColliderHandle,
    steering: f64,
    cfg: VehicleConfig,
    dt: f64,
}

const GROUND_HALF_EXTENT: f32 = 500.0;

/// rapier's `side_friction_stiffness` that makes each wheel's lateral
/// impulse cancel `lateral_slip_rate * dt` of its sideways slip.
///
/// rapier 0.36's `resolve_single_unilateral` divides by
/// `1/m + |I^-1 (r x n)|^2` and damps by 0.2, where the impulse that
/// cancels a point's velocity along `n` divides by `1/m + (r x n) . I^-1 (r x n)`.
/// For a 1.5 kg car with a small inertia the first is about 30 times the
/// second, so the tyres barely hold; this factor puts the right response
/// back, computed at the front-left contact point.
fn side_friction_stiffness(body: &RigidBody, cfg: &VehicleConfig, dt: f64) -> f32 {
    let com = body.center_of_mass();
    let contact = body.position()
        * Vector::new(
            (cfg.wheelbase / 2.0) as f32,
            (cfg.track_width / 2.0) as f32,
            -cfg.wheel_radius as f32,
        );
    let r = contact - com;
    let n = Vector::Y;
    let a = r.cross(n);
    let inv_i = body.mass_properties().effective_world_inv_inertia * a;
    let inv_m = body.mass_properties().local_mprops.inv_mass;
    let rapier_denominator = inv_m + inv_i.dot(inv_i);
    let true_denominator = inv_m + a.dot(inv_i);
    let fraction = (cfg.lateral_slip_rate * dt).clamp(0.0, 1.0) as f32;
    fraction / 0.2 * rapier_denominator / true_denominator
}

impl Vehicle {
    /// A world with the car at rest at `position` (m, chassis origin) facing
    /// `yaw` (rad), stepped every `dt` seconds, with box `objects` (the
    /// `true` ones kinematic, moved with [`Vehicle::move_object`]).
    pub fn new(
        cfg: &VehicleConfig,
        dt: f64,
        position: Vec2,
        yaw: f64,
        objects: &[(BoxBody, bool)],
    ) -> Vehicle {
        let mut world = PhysicsWorld::new();
        world.gravity = Vector::new(0.0, 0.0, -9.81);
        world.integration_parameters.dt = dt as f32;
        // ground: a thick slab whose top face is z = 0
        world.insert(
            RigidBodyBuilder::fixed().translation(Vector::new(0.0, 0.0, -0.5)),
            ColliderBuilder::cuboid(GROUND_HALF_EXTENT, GROUND_HALF_EXTENT, 0.5).friction(1.0),
        );
        // static sag of the suspension: 4 springs carry the weight
        let sag = (9.81 / (4.0 * cfg.suspension_stiffness)).min(cfg.suspension_travel);
        let height = cfg.wheel_radius + cfg.suspension_rest_length - sag;
        let [len, wid, hgt] = cfg.body_size;
        let body = RigidBodyBuilder::dynamic()
            .pose(Pose::from_parts(
                Vector::new(position.x as f32, position.y as f32, height as f32),
                Rotation::from_rotation_z(yaw as f32),
            ))
            .can_sleep(false);
        // the body box rides above the wheel hubs, clear of the ground
        let collider =
            ColliderBuilder::cuboid((len / 2.0) as f32, (wid / 2.0) as f32, (hgt / 2.0) as f32)
                .translation(Vector::new(
                    0.0,
                    0.0,
                    (hgt / 2.0 - cfg.wheel_radius * 0.5) as f32,
                ))
                .mass(cfg.mass as f32)
                .friction(0.6);
        let (chassis, chassis_collider) = world.insert(body, collider);
        let tuning = WheelTuning {
            suspension_stiffness: cfg.suspension_stiffness as f32,
            suspension_compression: cfg.suspension_damping as f32,
            suspension_damping: cfg.suspension_damping as f32,
            max_suspension_travel: cfg.suspension_travel as f32,
            side_friction_stiffness: side_friction_stiffness(&world.bodies[chassis], cfg, dt),
            friction_slip: cfg.grip as f32,
            max_suspension_force: (cfg.mass * 9.81 * 4.0) as f32,
        };
        let mut controller = DynamicRayCastVehicleController::new(chassis);
        controller.index_up_axis = 2;
        controller.index_forward_axis = 0;
        let (hx, hy) = ((cfg.wheelbase / 2.0) as f32, (cfg.track_width / 2.0) as f32);
        for (x, y) in [(hx, hy), (hx, -hy), (-hx, hy), (-hx, -hy)] {
            controller.add_wheel(
                Vector::new(x, y, 0.0),
                -Vector::Z,
                // rapier rolls a wheel along contact_normal x axle: -y gives +x
                -Vector::Y,
                cfg.suspension_rest_length as f32,
                cfg.wheel_radius as f32,
                &tuning,
            );
        }
        let mut physics = Vehicle {
            world,
            chassis,
            controller,
            objects: Vec::new(),
            chassis_collider,
            steering: 0.0,
            cfg: cfg.clone(),
            dt,
        };
        for (b, kinematic) in objects {
            physics.add_box(b, *kinematic);
        }
        physics
    }

    fn add_box(&mut self, b: &BoxBody, kinematic: bool) {
        let [l, w, h] = b.size;
        let pose = Pose::from_parts(
            Vector::new(b.center.x as f32, b.center.y as f32, (h / 2.0) as f32),
            Rotation::from_rotation_z(b.yaw as f32),
        );
        let rb = if kinematic {
            RigidBodyBuilder::kinematic_position_based()
        } else {
            RigidBodyBuilder::fixed()
        };
        let handles = self.world.insert(
            rb.pose(pose),
            ColliderBuilder::cuboid((l / 2.0) as f32, (w / 2.0) as f32, (h / 2.0) as f32)
                .active_events(ActiveEvents::COLLISION_EVENTS)
                .friction(0.5),
        );
        self.objects.push(handles);
    }

    /// Moves a kinematic object to a new pose (takes effect over the next step).
    pub fn move_object(&mut self, index: usize, center: Vec2, yaw: f64, height: f64) {
        if let Some(&(body, _)) = self.objects.get(index) {
            let pose = Pose::from_parts(
                Vector::new(center.x as f32, center.y as f32, (height / 2.0) as f32),
                Rotation::from_rotation_z(yaw as f32),
            );
            self.world.bodies[body].set_next_kinematic_position(pose);
        }
    }

    /// Advances one physics step of `dt` with the commanded steering (rad,
    /// clamped to the car's limit) and speed (m/s; 0 brakes to a stop). Steering is rate-limited like a servo; speed goes
    /// through a proportional controller onto all four wheels (4WD).
    pub fn step(&mut self, steering_cmd: f64, speed_cmd: f64) {
        let max_steer = self.cfg.max_steering_angle_deg.to_radians();
        let target = steering_cmd.clamp(-max_steer, max_steer);
        let max_delta = self.cfg.steering_rate * self.dt;
        self.steering += (target - self.steering).clamp(-max_delta, max_delta);
        let speed = self.forward_speed();
        let mut force = self.cfg.speed_gain * (speed_cmd - speed);
        force = force.clamp(-self.cfg.max_brake_force, self.cfg.max_drive_force);
        // the speed controller brakes but never drives backwards
        if speed_cmd >= 0.0 && speed < 0.05 && force < 0.0 {
            force = 0.0;
        }
        // Ackermann geometry: both front wheels point at the centre of the
        // turn the bicycle model gives for the commanded angle
        let (left, right) = if self.steering.abs() < 1e-9 {
            (0.0, 0.0)
        } else {
            let radius = self.cfg.wheelbase / self.steering.tan(); // signed, + = left
            let half = self.cfg.track_width / 2.0;
            (
                (self.cfg.wheelbase / (radius - half)).atan(),
                (self.cfg.wheelbase / (radius + half)).atan(),
            )
        };
        for (i, wheel) in self.controller.wheels_mut().iter_mut().enumerate() {
            wheel.steering = match i {
                0 => left as f32,
                1 => right as f32,
                _ => 0.0,
            };
            wheel.engine_force = (force / 4.0) as f32;
            wheel.brake = 0.0;
        }
        let world = &mut self.world;
        let queries = world.broad_phase.as_query_pipeline_mut(
            world.narrow_phase.query_dispatcher(),
            &mut world.bodies,
            &mut world.colliders,
            QueryFilter::default().exclude_rigid_body(self.chassis),
        );
        self.controller.update_vehicle(self.dt as f32, queries);
        self.world.step();
    }

    fn forward_speed(&self) -> f64 {
        let body = &self.world.bodies[self.chassis];
        let fwd = *body.rotation() * Vector::X;
        body.linvel().dot(fwd) as f64
    }

    /// The car's current state.
    pub fn state(&self) -> CarState {
        let body = &self.world.bodies[self.chassis];
        let t = body.translation();
        let rot = *body.rotation();
        let (yaw, pitch, roll) = rot.to_euler(rapier3d::glamx::EulerRot::ZYX);
        let v = body.linvel();
        let mut wheels = [Vec2::ZERO; 4];
        for (w, out) in self.controller.wheels().iter().zip(wheels.iter_mut()) {
            let p = w.raycast_info().contact_point_ws;
            *out = Vec2::new(p.x as f64, p.y as f64);
        }
        CarState {
            position: Vec2::new(t.x as f64, t.y as f64),
            height: t.z as f64,
            yaw: yaw as f64,
            pitch: pitch as f64,
            roll: roll as f64,
            speed: self.forward_speed(),
            velocity: Vec2::new(v.x as f64, v.y as f64),
            steering: self.steering,
            wheels,
        }
    }

    /// Whether the car's body touches any object (obstacle or bot car).
    pub fn touching_object(&self) -> bool {
        self.objects.iter().any(|&(_, c)| {
            self.world
                .narrow_phase
                .contact_pair(self.chassis_collider, c)
                .is_some_and(|p| p.has_any_active_contact())
        })
    }
}
