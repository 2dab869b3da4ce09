//! Rhai reward scripts: compiled once, sandboxed, and every broken script
//! gets an error that points at the line.
#![allow(clippy::unwrap_used)]

use chicane_reward::{RewardError, RewardFunction, RewardParams, RhaiReward};
use std::sync::Arc;

fn params() -> RewardParams {
    RewardParams {
        all_wheels_on_track: true,
        x: 1.0,
        y: 2.0,
        heading: 30.0,
        distance_from_center: 0.1,
        is_left_of_center: true,
        is_offtrack: false,
        is_crashed: false,
        is_reversed: false,
        closest_waypoints: [3, 4],
        progress: 12.5,
        speed: 2.0,
        steering_angle: -15.0,
        steps: 42,
        track_length: 17.7,
        track_width: 0.76,
        waypoints: Arc::new((0..10).map(|i| [i as f64, 0.5 * i as f64]).collect()),
        closest_objects: [0, 1],
        objects_location: vec![[3.0, 1.0], [4.0, 2.0]],
        objects_left_of_center: vec![true, false],
        objects_speed: vec![0.0, 0.5],
        objects_heading: vec![0.0, 90.0],
        objects_distance: vec![2.0, 5.0],
        objects_distance_from_center: vec![0.2, 0.3],
        object_in_camera: true,
        projection_distance: 2.2,
        racing_line: None,
    }
}

fn failed(source: &str) -> String {
    match RhaiReward::compile(source, "r.rhai") {
        Err(RewardError::Failed { message, .. }) => message,
        Err(e) => panic!("unexpected {e:?}"),
        Ok(mut r) => match r.reward(&params()) {
            Err(RewardError::Failed { message, .. }) => message,
            other => panic!("expected a failure, got {other:?}"),
        },
    }
}

#[test]
fn every_param_and_the_math_library_are_there() {
    let src = r#"
        fn reward_function(params) {
            let wp = params.waypoints;
            let a = wp[params.closest_waypoints[0]];
            let b = wp[params["closest_waypoints"][1]];
            let dir = math::degrees(math::atan2(b[1] - a[1], b[0] - a[0]));
            let checks = [
                params.all_wheels_on_track, !params.is_offtrack, !params.is_crashed, !params.is_reversed,
                params.is_left_of_center, params.object_in_camera,
                params.x == 1.0, params.y == 2.0, params.heading == 30.0, params.progress == 12.5,
                params.steps == 42, params.track_length == 17.7, params.track_width == 0.76,
                params.speed == 2.0, params.steering_angle == -15.0, params.projection_distance == 2.2,
                params.objects_location.len() == 2, params.objects_left_of_center[1] == false,
                params.objects_speed[1] == 0.5, params.objects_heading[1] == 90.0,
                params.objects_distance[0] == 2.0, params.objects_distance_from_center[1] == 0.3,
                params.closest_objects[1] == 1, wp.len() == 10,
                abs(-2.0) == 2.0, min(1, 0.5) == 0.5, max(0.5, 1) == 1.0, sqrt(4.0) == 2.0,
                hypot(3.0, 4.0) == 5.0, math::hypot(3.0, 4.0) == 5.0, floor(1.7) == 1.0, ceil(1.2) == 2.0,
                abs(radians(180.0) - pi()) < 1e-12, abs(math::pi - pi()) < 1e-12, abs(sin(0.0)) < 1e-12,
                abs(cos(0.0) - 1.0) < 1e-12, abs(tan(0.0)) < 1e-12, abs(degrees(atan2(1.0, 1.0)) - 45.0) < 1e-12,
            ];
            for (c, i) in checks { if !c { throw `check ${i} failed`; } }
            dir
        }"#;
    let mut r = RhaiReward::compile(src, "all.rhai").unwrap();
    let got = r.reward(&params()).unwrap();
    assert!((got - 0.5f64.atan().to_degrees()).abs() < 1e-12, "{got}");
}

#[test]
fn integers_are_numbers_and_state_is_not_shared_between_calls() {
    let mut r = RhaiReward::compile("fn reward_function(params) { 3 }", "int.rhai").unwrap();
    assert_eq!(r.reward(&params()).unwrap(), 3.0);
    assert_eq!(r.reward(&params()).unwrap(), 3.0);
}

#[test]
fn syntax_errors_point_at_line_and_column() {
    let msg = failed("fn reward_function(params) {\n    let x = ;\n    1.0\n}\n");
    assert!(msg.starts_with("r.rhai:2:"), "{msg}");
    let msg = failed("fn reward_function(params) {\n  if params.speed > 1 { 1.0 \n}\n");
    assert!(msg.starts_with("r.rhai:"), "{msg}");
}

#[test]
fn a_missing_reward_function_says_what_to_write() {
    let msg = failed("fn reward(params) { 1.0 }");
    assert!(msg.contains("fn reward_function(params)"), "{msg}");
}

#[test]
fn runtime_errors_point_at_the_line() {
    let msg =
        failed("fn reward_function(params) {\n    let wp = params.waypoints;\n    wp[100][0]\n}\n");
    assert!(msg.starts_with("r.rhai:3:"), "{msg}");
    let msg = failed("fn reward_function(params) {\n  params.no_such_key + 1.0\n}\n");
    assert!(msg.starts_with("r.rhai:2:"), "{msg}");
}

#[test]
fn a_non_number_is_an_error() {
    let msg = failed("fn reward_function(params) { \"fast\" }");
    assert!(
        msg.contains("not a number") && msg.contains("fast"),
        "{msg}"
    );
    let msg = failed("fn reward_function(params) { }");
    assert!(msg.contains("not a number"), "{msg}");
}

#[test]
fn runaway_loops_stop_and_eval_is_disabled() {
    let msg = failed("fn reward_function(params) {\n  loop { }\n}\n");
    assert!(msg.to_lowercase().contains("operations"), "{msg}");
    let msg = failed("fn reward_function(params) { eval(\"1.0\") }");
    assert!(msg.starts_with("r.rhai:1:"), "{msg}");
}

#[test]
fn unreadable_files() {
    let e = RhaiReward::from_file(std::path::Path::new("/no/such/reward.rhai")).unwrap_err();
    assert!(
        e.to_string().contains("/no/such/reward.rhai") && e.to_string().contains("cannot read"),
        "{e}"
    );
}
