//! DeepRacer's episode rules and params, driven the way an agent would.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace, DiscreteAction, LidarConfig};
use chicane_reward::{FnReward, RewardParams};
use chicane_sim::{EpisodeStatus, Info, RaceEnv, ResetOptions, SimConfig, SimError, Transition};
use chicane_tracks::Direction;
use common::*;

/// Straight ahead, full left, full right at `speed`.
fn space(speed: f64) -> ActionSpace {
    ActionSpace::Discrete(
        [0.0, 30.0, -30.0]
            .into_iter()
            .map(|steering_angle_deg| DiscreteAction {
                steering_angle_deg,
                speed,
            })
            .collect(),
    )
}

fn run_until_done(env: &mut RaceEnv, action: impl Fn(u64) -> Action) -> Transition {
    for step in 0..2000 {
        let t = env.step(&action(step)).unwrap();
        if t.terminated || t.truncated {
            return t;
        }
    }
    panic!("the episode did not end");
}

#[test]
fn driving_straight_into_a_turn_goes_off_track() {
    let mut e = env(track("easy-oval"), SimConfig::default(), space(1.0));
    e.reset(Some(0), ResetOptions::default()).unwrap();
    let t = run_until_done(&mut e, |_| Action::Discrete(0));
    assert_eq!(t.info.episode_status, EpisodeStatus::OffTrack);
    assert!(t.terminated && !t.truncated);
    assert!(t.info.params.is_offtrack && !t.info.params.all_wheels_on_track);
    assert_eq!(
        t.reward, 1e-3,
        "DeepRacer's crashed reward on the failing step"
    );
    assert!(
        t.info.params.progress > 10.0,
        "it got past the straight: {}",
        t.info.params.progress
    );
}

#[test]
fn turning_around_is_reversed() {
    // full lock on the wide speedway until the car faces back, then straight
    let mut e = env(track("speedway"), SimConfig::default(), space(0.6));
    let (_, mut info) = e.reset(Some(0), ResetOptions::default()).unwrap();
    for _ in 0..200 {
        let turned = info.params.heading.abs() > 170.0;
        let t = e
            .step(&Action::Discrete(if turned { 0 } else { 1 }))
            .unwrap();
        if t.terminated || t.truncated {
            assert_eq!(
                t.info.episode_status,
                EpisodeStatus::Reversed,
                "{:?}",
                t.info.car
            );
            assert!(t.info.params.all_wheels_on_track);
            return;
        }
        info = t.info;
    }
    panic!("the episode did not end");
}

#[test]
fn barely_moving_is_immobilized() {
    let mut cfg = SimConfig::default();
    cfg.episode.immobilized_speed = 0.5; // faster than the action's 0.3 m/s
    let mut e = env(track("speedway"), cfg, space(0.3));
    e.reset(Some(0), ResetOptions::default()).unwrap();
    let t = run_until_done(&mut e, |_| Action::Discrete(0));
    assert_eq!(t.info.episode_status, EpisodeStatus::Immobilized);
    assert_eq!(t.info.params.steps, 15);
}

#[test]
fn hitting_an_obstacle_is_a_crash() {
    let mut cfg = SimConfig::default();
    cfg.obstacles.object_positions = vec!["0.05,1".parse().unwrap()];
    // a wide box in the left lane 5% of the lap (3.7 m) ahead reaches
    // across the centerline; edge left a little and drive into it
    cfg.obstacles.size = Some([0.4, 1.0, 0.4]);
    let gentle = ActionSpace::Discrete(
        [0.0, 5.0, -5.0]
            .into_iter()
            .map(|steering_angle_deg| DiscreteAction {
                steering_angle_deg,
                speed: 1.0,
            })
            .collect(),
    );
    let mut e = env(track("speedway"), cfg, gentle);
    let (_, info) = e.reset(Some(0), ResetOptions::default()).unwrap();
    assert_eq!(info.params.objects_location.len(), 1);
    assert!(info.params.objects_left_of_center[0]);
    assert!(info.params.object_in_camera);
    assert_eq!(info.params.closest_objects, [0, 0]);
    let t = run_until_done(&mut e, |step| match step {
        0..6 => Action::Discrete(1),
        6..12 => Action::Discrete(2),
        _ => Action::Discrete(0),
    });
    assert_eq!(
        t.info.episode_status,
        EpisodeStatus::Crashed,
        "{:?}",
        t.info.car
    );
    assert!(t.info.params.is_crashed);
    assert!(t.info.params.all_wheels_on_track);
}

#[test]
fn lidar_sees_an_obstacle_ahead() {
    let mut cfg = SimConfig::default();
    cfg.camera = None;
    cfg.lidar = Some(LidarConfig::default());
    cfg.obstacles.object_positions = vec!["0.05,1".parse().unwrap()];
    let mut e = env(track("speedway"), cfg, space(1.0));
    let (obs, info) = e.reset(Some(0), ResetOptions::default()).unwrap();
    assert_eq!(obs.lidar.len(), 64);
    assert!(obs.camera.is_empty());
    let obstacle = chicane_core::Vec2::from(info.params.objects_location[0]);
    let dist = obstacle.distance(info.car.position);
    let nearest = obs.lidar.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    assert!(
        nearest < dist && nearest > dist - 0.5,
        "nearest return {nearest} m, obstacle centre {dist} m away"
    );
    assert!(
        obs.lidar.iter().filter(|&&r| r == 12.0).count() > 50,
        "most beams see nothing"
    );
}

#[test]
fn the_step_cap_truncates() {
    let mut cfg = SimConfig::default();
    cfg.episode.max_steps = 10;
    let mut e = env(track("speedway"), cfg, space(0.5));
    e.reset(Some(0), ResetOptions::default()).unwrap();
    let t = run_until_done(&mut e, |_| Action::Discrete(0));
    assert!(t.truncated && !t.terminated);
    assert_eq!(t.info.episode_status, EpisodeStatus::TimeUp);
    assert!(matches!(
        e.step(&Action::Discrete(0)),
        Err(SimError::NeedsReset(_))
    ));
}

#[test]
fn params_follow_deepracer_semantics() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<RewardParams>::new()));
    let log = seen.clone();
    let reward = FnReward::new("recorder", move |p: &RewardParams| {
        log.lock().unwrap().push(p.clone());
        1.0
    });
    let t = track("easy-oval");
    let mut e = RaceEnv::new(
        SimConfig::default(),
        t.clone(),
        space(1.0),
        Box::new(reward),
    )
    .unwrap();
    let (_, info0) = e
        .reset(
            Some(0),
            ResetOptions {
                start_position: Some(0.0),
                direction: Some(Direction::Forward),
            },
        )
        .unwrap();
    // 0.14 m ahead of the rear axle, which sits on the start line
    let p0: &Info = &info0;
    assert!(
        (p0.params.progress - 100.0 * 0.14 / t.length()).abs() < 0.05,
        "{}",
        p0.params.progress
    );
    assert_eq!(p0.params.steps, 0);
    for _ in 0..5 {
        e.step(&Action::Discrete(0)).unwrap();
    }
    let p = seen.lock().unwrap().clone();
    assert_eq!(p.len(), 5);
    assert_eq!(
        p.iter().map(|x| x.steps).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let last = &p[4];
    assert_eq!(last.speed, 1.0, "the action's speed, as DeepRacer reports");
    assert_eq!(last.steering_angle, 0.0);
    assert!(
        last.heading.abs() < 1.0,
        "heading east along the first straight: {}",
        last.heading
    );
    assert_eq!(last.closest_waypoints[1], last.closest_waypoints[0] + 1);
    assert!(last.progress > p[0].progress);
    assert!((last.track_width - 1.066).abs() < 1e-9);
    assert_eq!(last.waypoints.len(), t.num_waypoints());
    assert!(!last.is_reversed && last.all_wheels_on_track && !last.is_offtrack);
    assert!((last.projection_distance - (last.progress / 100.0 * t.length())).abs() < 1e-6);
    // the reverse direction: reversed waypoints, is_reversed, progress from the start
    let (_, info) = e
        .reset(
            Some(0),
            ResetOptions {
                start_position: Some(0.0),
                direction: Some(Direction::Reverse),
            },
        )
        .unwrap();
    assert!(info.params.is_reversed);
    assert!(
        (info.params.heading.abs() - 180.0).abs() < 5.0,
        "{}",
        info.params.heading
    );
    assert!(info.params.progress < 1.0);
    let n = t.num_waypoints();
    assert_eq!(
        (info.params.closest_waypoints[0] + 1) % n,
        info.params.closest_waypoints[1]
    );
    let [x, y] = info.params.waypoints[info.params.closest_waypoints[1]];
    let ahead = chicane_core::Vec2::new(x, y) - info.car.position;
    assert!(
        ahead.dot(info.car.forward()) > 0.0,
        "the next waypoint is ahead of the car"
    );
}

#[test]
fn a_broken_reward_stops_with_step_episode_and_params() {
    let bad = FnReward::new(
        "nan-after-3",
        |p: &RewardParams| if p.steps > 3 { f64::NAN } else { 1.0 },
    );
    let mut e = RaceEnv::new(
        SimConfig::default(),
        track("easy-oval"),
        space(1.0),
        Box::new(bad),
    )
    .unwrap();
    e.reset(Some(0), ResetOptions::default()).unwrap();
    for _ in 0..3 {
        e.step(&Action::Discrete(0)).unwrap();
    }
    let err = e.step(&Action::Discrete(0)).unwrap_err();
    // the message and its cause, as the front ends print them
    let msg = chicane_core::error_chain(&err);
    assert!(
        matches!(
            err,
            SimError::Reward {
                episode: 0,
                step: 4,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("nan-after-3") && msg.contains("NaN") && msg.contains("\"steps\":4"),
        "{msg}"
    );
    assert!(msg.contains("-1e5..1e5"), "{msg}");
    let huge = FnReward::new("huge", |_: &RewardParams| 2e5);
    let mut e = RaceEnv::new(
        SimConfig::default(),
        track("easy-oval"),
        space(1.0),
        Box::new(huge),
    )
    .unwrap();
    e.reset(Some(0), ResetOptions::default()).unwrap();
    assert!(
        chicane_core::error_chain(&e.step(&Action::Discrete(0)).unwrap_err()).contains("200000")
    );
}

#[test]
fn start_options_change_start_and_direction() {
    let t = track("technical-loop");
    let mut cfg = SimConfig::default();
    cfg.start.alternate_driving_direction = true;
    cfg.start.change_start_position = true;
    let mut e = env(t.clone(), cfg, space(1.0));
    let mut starts = Vec::new();
    for ep in 0..4 {
        let (_, info) = e
            .reset(
                if ep == 0 { Some(0) } else { None },
                ResetOptions::default(),
            )
            .unwrap();
        assert_eq!(info.params.is_reversed, ep % 2 == 1, "episode {ep}");
        starts.push(info.car.position);
    }
    for w in starts.windows(2) {
        assert!(w[0].distance(w[1]) > 0.3, "the start moves each episode");
    }
    let mut cfg = SimConfig::default();
    cfg.start.random_start = true;
    let mut e = env(t, cfg, space(1.0));
    let (_, a) = e.reset(Some(1), ResetOptions::default()).unwrap();
    let (_, b) = e.reset(None, ResetOptions::default()).unwrap();
    assert!(a.car.position.distance(b.car.position) > 0.1);
}

#[test]
fn bot_cars_drive_their_lanes() {
    let mut cfg = SimConfig::default();
    cfg.bots.number_of_bot_cars = 2;
    cfg.bots.bot_car_speed = 0.5;
    cfg.bots.is_lane_change = true;
    cfg.bots.lower_lane_change_time = 1.0;
    cfg.bots.upper_lane_change_time = 1.5;
    let mut e = env(track("speedway"), cfg, space(0.3));
    let (_, i0) = e.reset(Some(0), ResetOptions::default()).unwrap();
    let mut last = i0.params.clone();
    let mut sides_changed = false;
    for _ in 0..45 {
        let t = e.step(&Action::Discrete(0)).unwrap();
        let p = t.info.params;
        assert_eq!(p.objects_speed, vec![0.5, 0.5]);
        for k in 0..2 {
            assert!(
                p.objects_distance[k] > last.objects_distance[k] - 1e-9
                    || p.objects_distance[k] < 1.0,
                "bots move forward"
            );
            sides_changed |= p.objects_left_of_center[k] != i0.params.objects_left_of_center[k];
        }
        last = p;
    }
    assert!(
        sides_changed,
        "with lane changes every 1-1.5 s, a bot changes lanes in 3 s"
    );
}
