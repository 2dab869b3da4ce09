//! The pure-pursuit driver laps every built-in and every shared DeepRacer
//! track, and nothing breaks at 4 m/s.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::ActionSpace;
use chicane_sim::{Driver, EpisodeStatus, PurePursuit, ResetOptions, SimConfig};
use chicane_tracks::{Direction, builtin_names};
use common::*;

fn lap(
    spec: &str,
    direction: Direction,
    driver: &mut PurePursuit,
) -> (EpisodeStatus, Vec<f64>, usize) {
    let mut cfg = SimConfig::default();
    cfg.camera = None;
    cfg.lidar = Some(chicane_core::LidarConfig::default());
    let mut env = env(track(spec), cfg, ActionSpace::full_continuous());
    let (_, mut info) = env
        .reset(
            Some(3),
            ResetOptions {
                start_position: None,
                direction: Some(direction),
            },
        )
        .unwrap();
    let mut steps = 0;
    loop {
        let a = driver.act(&env, &info);
        let t = env.step(&a).unwrap();
        steps += 1;
        let car = t.info.car;
        assert!(
            car.position.is_finite() && car.roll.abs() < 0.5 && car.pitch.abs() < 0.5,
            "{spec}: unstable {car:?}"
        );
        if t.terminated || t.truncated {
            return (t.info.episode_status, t.info.lap_times.clone(), steps);
        }
        info = t.info;
    }
}

#[test]
fn pure_pursuit_laps_every_builtin_track_both_ways() {
    for name in builtin_names() {
        for dir in [Direction::Forward, Direction::Reverse] {
            let (status, laps, steps) = lap(name, dir, &mut PurePursuit::default());
            assert_eq!(
                status,
                EpisodeStatus::LapComplete,
                "{name} {dir:?}: ended {status:?} after {steps} steps"
            );
            assert_eq!(laps.len(), 1);
            let length = chicane_tracks::load(name).unwrap().length();
            // faster than 0.5 m/s average, slower than 4 m/s
            assert!(
                laps[0] < length / 0.5 && laps[0] > length / 4.0,
                "{name}: lap {} s",
                laps[0]
            );
        }
    }
}

#[test]
fn pure_pursuit_laps_every_shared_deepracer_track() {
    for file in deepracer_tracks() {
        let spec = file.to_str().unwrap();
        let (status, laps, steps) = lap(spec, Direction::Forward, &mut PurePursuit::default());
        assert_eq!(
            status,
            EpisodeStatus::LapComplete,
            "{spec}: ended {status:?} after {steps} steps"
        );
        assert_eq!(laps.len(), 1, "{spec}");
    }
}

#[test]
fn stable_at_four_metres_per_second_on_every_builtin_track() {
    // a driver that asks for 4 m/s everywhere: it may leave the track in
    // tight corners, but the physics must stay sane (checked in `lap`)
    let mut flat_out = PurePursuit {
        max_lateral_accel: 1e9,
        ..PurePursuit::default()
    };
    for name in builtin_names() {
        let (status, _, steps) = lap(name, Direction::Forward, &mut flat_out);
        assert!(steps > 10, "{name}: {status:?} after {steps}");
    }
    // and on the speedway it reaches 4 m/s
    let mut cfg = SimConfig::default();
    cfg.camera = None;
    cfg.lidar = Some(chicane_core::LidarConfig::default());
    let mut e = env(track("speedway"), cfg, ActionSpace::full_continuous());
    let (_, mut info) = e.reset(Some(1), ResetOptions::default()).unwrap();
    let mut top: f64 = 0.0;
    for _ in 0..40 {
        let a = flat_out.act(&e, &info);
        let t = e.step(&a).unwrap();
        top = top.max(t.info.car.speed);
        info = t.info;
    }
    assert!(top > 3.8 && top < 4.3, "top speed {top}");
}
