//! DeepRacer's `params` for the car's state, in the driving direction's
//! frame (`deepracer_simapp`'s agent and track data).

use super::RaceEnv;
use crate::vehicle::{BoxBody, CarState};
use chicane_core::{Vec2, wrap_angle, wrap_deg};
use chicane_reward::{RacingLineParams, RewardParams};
use chicane_tracks::Direction;
use std::sync::Arc;

impl RaceEnv {
    /// DeepRacer's params for the car standing at `position` (chassis
    /// centre, m) facing `yaw` (rad) with `action` = (steering deg, speed
    /// m/s), in the current episode's frame (start and direction), as if it
    /// were step 1. For reward heat maps and tests; needs a reset first.
    pub fn params_at(&self, position: Vec2, yaw: f64, action: (f64, f64)) -> RewardParams {
        let v = self.cfg.vehicle.clone();
        let fwd = Vec2::from_angle(yaw);
        let left = fwd.perp();
        let (hx, hy) = (v.wheelbase / 2.0, v.track_width / 2.0);
        let state = CarState {
            position,
            height: v.wheel_radius,
            yaw,
            pitch: 0.0,
            roll: 0.0,
            speed: action.1,
            velocity: fwd * action.1,
            steering: action.0.to_radians(),
            wheels: [
                position + fwd * hx + left * hy,
                position + fwd * hx - left * hy,
                position - fwd * hx + left * hy,
                position - fwd * hx - left * hy,
            ],
        };
        let (start_s, direction) = self
            .ep
            .as_ref()
            .map_or((0.0, Direction::Forward), |e| (e.start_s, e.direction));
        let reference = self.assets.track.to_frenet(self.reference_point(&state));
        let fraction = self.assets.track.progress(reference.s, start_s, direction);
        let (mut params, _) = self.params(&state, action, false, fraction);
        params.steps = 1;
        params
    }

    /// DeepRacer's params for the car state, in the driving direction's frame.
    pub(super) fn params(
        &self,
        state: &CarState,
        action: (f64, f64),
        crashed: bool,
        fraction: f64,
    ) -> (RewardParams, [bool; 4]) {
        let track = &self.assets.track;
        let ep = self.ep.as_ref();
        let direction = ep.map_or(Direction::Forward, |e| e.direction);
        let reverse = direction == Direction::Reverse;
        let reference = self.reference_point(state);
        let f = track.to_frenet(reference);
        let mut wheels = [false; 4];
        for (on, w) in wheels.iter_mut().zip(state.wheels) {
            let wf = track.to_frenet(w);
            *on = wf.d <= track.left_width_at(wf.s) && -wf.d <= track.right_width_at(wf.s);
        }
        let n = track.num_waypoints();
        let [prev, next] = track.closest_waypoints(f.s);
        let closest_waypoints = if reverse {
            [n - 1 - next, n - 1 - prev]
        } else {
            [prev, next]
        };
        let len = track.length();
        let along = |s: f64| {
            if reverse {
                (len - s).rem_euclid(len)
            } else {
                s
            }
        };
        let car_along = along(f.s);
        // objects, in the driving frame
        let mut objects_location = Vec::new();
        let mut objects_left_of_center = Vec::new();
        let mut objects_speed = Vec::new();
        let mut objects_heading = Vec::new();
        let mut objects_distance = Vec::new();
        let mut objects_distance_from_center = Vec::new();
        let push = |s: f64,
                    d: f64,
                    b: &BoxBody,
                    speed: f64,
                    loc: &mut Vec<[f64; 2]>,
                    left: &mut Vec<bool>,
                    spd: &mut Vec<f64>,
                    hd: &mut Vec<f64>,
                    dist: &mut Vec<f64>,
                    dfc: &mut Vec<f64>| {
            loc.push([b.center.x, b.center.y]);
            left.push(if reverse { d < 0.0 } else { d > 0.0 });
            spd.push(speed);
            hd.push(wrap_deg(b.yaw.to_degrees()));
            dist.push(along(s));
            dfc.push(d.abs());
        };
        for o in &self.objects.obstacles {
            push(
                o.s,
                o.d,
                &o.body,
                0.0,
                &mut objects_location,
                &mut objects_left_of_center,
                &mut objects_speed,
                &mut objects_heading,
                &mut objects_distance,
                &mut objects_distance_from_center,
            );
        }
        for b in &self.objects.bots {
            push(
                b.s,
                b.d,
                &b.body,
                b.speed,
                &mut objects_location,
                &mut objects_left_of_center,
                &mut objects_speed,
                &mut objects_heading,
                &mut objects_distance,
                &mut objects_distance_from_center,
            );
        }
        let mut closest_objects = [0usize, 0usize];
        let mut object_in_camera = false;
        if !objects_distance.is_empty() {
            let ahead = |d: f64| (d - car_along).rem_euclid(len);
            let next_obj = (0..objects_distance.len())
                .min_by(|&a, &b| ahead(objects_distance[a]).total_cmp(&ahead(objects_distance[b])))
                .unwrap_or(0);
            let prev_obj = (0..objects_distance.len())
                .max_by(|&a, &b| ahead(objects_distance[a]).total_cmp(&ahead(objects_distance[b])))
                .unwrap_or(0);
            closest_objects = [prev_obj, next_obj];
            if let Some(cam) = &self.cfg.camera {
                let to = Vec2::from(objects_location[next_obj]) - state.position;
                let angle = wrap_angle(to.angle() - state.yaw).abs();
                object_in_camera = to.length() < 10.0 && angle < cam.fov_deg.to_radians() / 2.0;
            }
        }
        let params = RewardParams {
            all_wheels_on_track: wheels.iter().all(|&w| w),
            x: reference.x,
            y: reference.y,
            heading: wrap_deg(state.yaw.to_degrees()),
            distance_from_center: f.d.abs(),
            is_left_of_center: if reverse { f.d < 0.0 } else { f.d > 0.0 },
            is_offtrack: wheels.iter().all(|&w| !w),
            is_crashed: crashed,
            is_reversed: reverse,
            closest_waypoints,
            progress: 100.0 * fraction,
            speed: action.1,
            steering_angle: action.0,
            steps: ep.map_or(0, |e| e.step),
            track_length: len,
            track_width: track.width_at(f.s),
            waypoints: Arc::clone(&self.assets.waypoints[usize::from(reverse)]),
            closest_objects,
            objects_location,
            objects_left_of_center,
            objects_speed,
            objects_heading,
            objects_distance,
            objects_distance_from_center,
            object_in_camera,
            projection_distance: car_along,
            racing_line: None,
        };
        let mut params = params;
        if self.reward.uses_racing_line() {
            self.add_racing_line(&mut params);
        }
        (params, wheels)
    }

    /// Fills chicane's racing-line keys of `params` (the line of the
    /// episode's direction, the point nearest `params.x, params.y`); the
    /// env does it by itself when its reward function asks
    /// ([`chicane_reward::RewardFunction::uses_racing_line`]). Leaves them
    /// empty when the track leaves no room for a line.
    pub fn add_racing_line(&self, params: &mut RewardParams) {
        let direction = self.ep.as_ref().map_or(Direction::Forward, |e| e.direction);
        let Some(line) = self.assets.racing_line(direction) else {
            return;
        };
        let at = Vec2::new(params.x, params.y);
        let (index, distance) = line
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (i, Vec2::from(*p).distance(at)))
            .fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        params.racing_line = Some(RacingLineParams {
            racing_line: Arc::clone(&line.points),
            racing_line_speeds: Arc::clone(&line.speeds),
            racing_line_index: index,
            racing_line_distance: distance,
            racing_line_speed: line.speeds[index],
        });
    }
}
