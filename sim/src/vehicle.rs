//! The car: a rigid chassis on rapier's ray-cast vehicle controller
//! (suspension), with chicane's own tyre forces (Fiala's brush model
//! within a friction circle, [`crate::tyre`]) applied at the four contact
//! points every physics step.
//!
//! Frames: world x east, y north, z up (the track's plane is z = 0); the
//! chassis frame is x forward, y left, z up (ROS REP 103). The chassis
//! origin is midway between the axles at the height of the wheel hubs.

use chicane_core::Vec2;
use rapier3d::control::{DynamicRayCastVehicleController, WheelTuning};
use rapier3d::prelude::*;
use serde::{Deserialize, Serialize};

/// Physical parameters of a 1/18-scale car, DeepRacer class. Geometry and
/// grip follow DeepRacer's own simulated car (deepracer-simapp's
/// `urdf/deepracer/*.urdf` and `racecar.gazebo`); docs/VEHICLE.md lists
/// each value with its source. Measure and tune for your own car
/// (`chicane bench vehicle` shows what a config does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VehicleConfig {
    /// Distance between front and rear axles (m). Default 0.164
    /// (deepracer-simapp: steering hinges at x = +0.0823, rear wheels at
    /// x = -0.0817).
    pub wheelbase: f64,
    /// Distance between the left and right wheel centres (m). Default 0.16
    /// (deepracer-simapp: 0.162 rear, 0.159 front).
    pub track_width: f64,
    /// Total mass (kg). Default 1.5 (car, battery and compute module).
    pub mass: f64,
    /// Wheel radius (m). Default 0.035 (deepracer-simapp's
    /// `get_wheel_radius` for simapp version 3 and later).
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
    /// Height of the centre of mass above the ground (m). Default 0.04:
    /// DeepRacer's simulated car (its URDF's links) has it at 0.037 m, at
    /// about its wheel hubs, and the battery sits low in the chassis.
    pub com_height: f64,
    /// Suspension length at rest (m). Default 0.02.
    pub suspension_rest_length: f64,
    /// Suspension travel either side of rest (m). Default 0.012.
    pub suspension_travel: f64,
    /// Suspension stiffness per unit sprung mass (1/s^2, rapier's
    /// `WheelTuning::suspension_stiffness`). Default 500: about 5 mm of sag.
    pub suspension_stiffness: f64,
    /// Suspension damping per unit mass (1/s). Default 20 (about 0.45 of critical).
    pub suspension_damping: f64,
    /// Tyre grip: the friction coefficient `mu` of the friction circle
    /// `mu * Fz` that bounds each tyre's combined drive, brake and side
    /// force. Default 0.5: DeepRacer's simulated wheels (`mu1 = mu2 = 0.5`
    /// in deepracer-simapp's `racecar.gazebo`), about 4.9 m/s^2 of grip.
    pub grip: f64,
    /// Normalised cornering stiffness `C / Fz` of each tyre (1/rad): the
    /// slope of side force over slip angle at small angles, per newton of
    /// load (Fiala's brush model, Pacejka 2012 section 3.2.2). Default 12.
    pub cornering_stiffness: f64,
}

impl Default for VehicleConfig {
    fn default() -> Self {
        Self {
            wheelbase: 0.164,
            track_width: 0.16,
            mass: 1.5,
            wheel_radius: 0.035,
            body_size: [0.29, 0.19, 0.10],
            max_steering_angle_deg: 30.0,
            steering_rate: 8.7,
            min_speed: 0.1,
            max_speed: 4.0,
            max_drive_force: 8.0,
            max_brake_force: 12.0,
            speed_gain: 12.0,
            com_height: 0.04,
            suspension_rest_length: 0.02,
            suspension_travel: 0.012,
            suspension_stiffness: 500.0,
            suspension_damping: 20.0,
            grip: 0.5,
            cornering_stiffness: 12.0,
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
            ("vehicle.com_height", self.com_height),
            (
                "vehicle.suspension_rest_length",
                self.suspension_rest_length,
            ),
            ("vehicle.suspension_travel", self.suspension_travel),
            ("vehicle.suspension_stiffness", self.suspension_stiffness),
            ("vehicle.suspension_damping", self.suspension_damping),
            ("vehicle.grip", self.grip),
            ("vehicle.cornering_stiffness", self.cornering_stiffness),
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

/// Rolling speed (m/s) below which a tyre's slip angle is taken against
/// this speed (see [`crate::tyre::slip_angle`]).
const SLIP_SPEED_FLOOR: f64 = 0.2;

/// The inverse effective mass (1/kg) of `body` at world point `p` along
/// unit direction `d`: how much one newton-second there changes the
/// point's velocity along `d` (the denominator of an impulse solve).
fn inverse_effective_mass(body: &RigidBody, p: Vector, d: Vector) -> f32 {
    let r = p - body.center_of_mass();
    let a = r.cross(d);
    let inv_i = body.mass_properties().effective_world_inv_inertia * a;
    body.mass_properties().local_mprops.inv_mass + a.dot(inv_i)
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
            .can_sleep(false)
            // the mass sits low (battery, motor), not at the body box's centre:
            // the centre of mass at com_height, the box's inertia
            .additional_mass_properties(MassProperties::new(
                Vector::new(0.0, 0.0, (cfg.com_height - height) as f32),
                cfg.mass as f32,
                Vector::new(
                    (cfg.mass / 12.0 * (wid * wid + hgt * hgt)) as f32,
                    (cfg.mass / 12.0 * (len * len + hgt * hgt)) as f32,
                    (cfg.mass / 12.0 * (len * len + wid * wid)) as f32,
                ),
            ));
        // the body box rides above the wheel hubs, clear of the ground
        let collider =
            ColliderBuilder::cuboid((len / 2.0) as f32, (wid / 2.0) as f32, (hgt / 2.0) as f32)
                .translation(Vector::new(
                    0.0,
                    0.0,
                    (hgt / 2.0 - cfg.wheel_radius * 0.5) as f32,
                ))
                .density(0.0)
                .friction(0.6);
        let (chassis, chassis_collider) = world.insert(body, collider);
        let tuning = WheelTuning {
            suspension_stiffness: cfg.suspension_stiffness as f32,
            suspension_compression: cfg.suspension_damping as f32,
            suspension_damping: cfg.suspension_damping as f32,
            max_suspension_travel: cfg.suspension_travel as f32,
            // rapier only suspends the car: the tyre forces are chicane's
            side_friction_stiffness: 0.0,
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
        // cast the wheels once (a zero step applies no impulse), so the
        // state at rest has its wheel contact points
        physics.update_wheels(0.0);
        physics
    }

    fn update_wheels(&mut self, dt: f64) {
        let world = &mut self.world;
        let queries = world.broad_phase.as_query_pipeline_mut(
            world.narrow_phase.query_dispatcher(),
            &mut world.bodies,
            &mut world.colliders,
            QueryFilter::default().exclude_rigid_body(self.chassis),
        );
        self.controller.update_vehicle(dt as f32, queries);
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
        let steer = [left, right, 0.0, 0.0];
        for (wheel, s) in self.controller.wheels_mut().iter_mut().zip(steer) {
            wheel.steering = s as f32;
            wheel.engine_force = 0.0;
            wheel.brake = 0.0;
        }
        self.update_wheels(self.dt);
        self.apply_tyre_forces(&steer, force / 4.0);
        self.world.step();
    }

    /// Each tyre in contact: the drive or brake force `fx` (N) and Fiala's
    /// side force within the friction circle of its load, applied as an
    /// impulse at its contact point. An impulse never reverses the slide
    /// it opposes (kinetic friction stops a slide, it does not push back),
    /// which also keeps the slow, stiff regime stable at any step.
    fn apply_tyre_forces(&mut self, steer: &[f64; 4], fx: f64) {
        let dt = self.dt;
        let (mu, c_alpha) = (self.cfg.grip, self.cfg.cornering_stiffness);
        let body = &mut self.world.bodies[self.chassis];
        let in_contact = self
            .controller
            .wheels()
            .iter()
            .filter(|w| w.raycast_info().is_in_contact)
            .count()
            .max(1) as f64;
        // all four from the same velocities (Jacobi), so neither side of
        // the car acts first; each may stop at most its share of a slide
        let mut impulses = Vec::with_capacity(4);
        for (wheel, &delta) in self.controller.wheels().iter().zip(steer) {
            let info = wheel.raycast_info();
            let fz = f64::from(wheel.wheel_suspension_force.min(wheel.max_suspension_force));
            if !info.is_in_contact || fz <= 0.0 {
                continue;
            }
            let n = info.contact_normal_ws;
            let p = info.contact_point_ws;
            let heading =
                *body.rotation() * Vector::new(delta.cos() as f32, delta.sin() as f32, 0.0);
            let fwd = (heading - n * n.dot(heading)).normalize_or_zero();
            let lat = n.cross(fwd);
            let v = body.velocity_at_point(p);
            let (vx, vy) = (f64::from(v.dot(fwd)), f64::from(v.dot(lat)));
            // the drive demand and the slide through the combined-slip brush model
            let alpha = crate::tyre::slip_angle(vx, vy, SLIP_SPEED_FLOOR);
            let (fx, fy) = crate::tyre::combined_forces(fx, alpha, fz, mu, c_alpha);
            // a brake never drives the point backwards
            let mut jx = fx * dt;
            if jx * vx < 0.0 {
                let stop = vx.abs() / f64::from(inverse_effective_mass(body, p, fwd)) / in_contact;
                jx = jx.signum() * jx.abs().min(stop);
            }
            let stop = vy.abs() / f64::from(inverse_effective_mass(body, p, lat)) / in_contact;
            let jy = fy.signum() * (fy.abs() * dt).min(stop);
            impulses.push((fwd * jx as f32 + lat * jy as f32, p));
        }
        for (j, p) in impulses {
            body.apply_impulse_at_point(j, p, true);
        }
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
