//! Same seed and config, same trajectory, bit for bit; the env checker on
//! every built-in track; `VecEnv` equals its envs stepped one by one.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace, LidarConfig};
use chicane_reward::FollowCenterLine;
use chicane_sim::{RaceEnv, ResetOptions, SimConfig, VecEnv, check_env};
use chicane_tracks::builtin_names;
use common::*;

#[test]
fn env_checker_passes_on_every_builtin_track_with_and_without_lidar() {
    for name in builtin_names() {
        let t = track(name);
        for lidar in [false, true] {
            let mut cfg = SimConfig::default();
            if lidar {
                cfg.lidar = Some(LidarConfig::default());
            }
            let report = check_env(
                || {
                    RaceEnv::new(
                        cfg.clone(),
                        t.clone(),
                        ActionSpace::default(),
                        Box::new(FollowCenterLine),
                    )
                },
                7,
                150,
            )
            .unwrap_or_else(|e| panic!("{name} (lidar {lidar}): {e}"));
            assert!(
                report.episodes >= 1,
                "{name}: random actions should end an episode in 150 steps"
            );
        }
    }
}

#[test]
fn env_checker_passes_with_everything_on() {
    let t = track("speedway");
    let mut cfg = SimConfig::default();
    cfg.lidar = Some(LidarConfig {
        sectors: Some(8),
        ..LidarConfig::default()
    });
    cfg.obstacles.number_of_obstacles = 3;
    cfg.obstacles.randomize_obstacle_locations = true;
    cfg.bots.number_of_bot_cars = 2;
    cfg.bots.is_lane_change = true;
    cfg.start.random_start = true;
    cfg.start.alternate_driving_direction = true;
    cfg.domain_randomization = chicane_sim::DomainRandomization {
        enabled: true,
        brightness: 0.1,
        contrast: 0.2,
        color: 0.1,
        texture: 6.0,
        noise: 4.0,
        blur: 0.5,
        mount_height: 0.01,
        mount_pitch_deg: 2.0,
        mount_yaw_deg: 2.0,
        line_width: 0.25,
    };
    if let Some(c) = cfg.camera.as_mut() {
        c.rgb = true;
        c.stereo = true;
    }
    check_env(
        || {
            RaceEnv::new(
                cfg.clone(),
                t.clone(),
                ActionSpace::full_continuous(),
                Box::new(FollowCenterLine),
            )
        },
        11,
        120,
    )
    .unwrap();
}

#[test]
fn different_seeds_give_different_episodes() {
    let t = track("technical-loop");
    let mut cfg = SimConfig::default();
    cfg.start.random_start = true;
    let mut a = env(t.clone(), cfg.clone(), ActionSpace::default());
    let mut b = env(t, cfg, ActionSpace::default());
    let (oa, _) = a.reset(Some(1), ResetOptions::default()).unwrap();
    let (ob, _) = b.reset(Some(2), ResetOptions::default()).unwrap();
    assert_ne!(oa, ob);
}

#[test]
fn vec_env_matches_single_envs_bit_for_bit() {
    let t = track("easy-oval");
    let mut cfg = SimConfig::default();
    cfg.lidar = Some(LidarConfig::default());
    cfg.obstacles.number_of_obstacles = 2;
    let n = 3;
    let mut vec = VecEnv::new(
        cfg.clone(),
        t.clone(),
        ActionSpace::default(),
        (0..n)
            .map(|_| Box::new(FollowCenterLine) as Box<dyn chicane_reward::RewardFunction>)
            .collect(),
        2,
    )
    .unwrap();
    let mut singles: Vec<RaceEnv> = (0..n)
        .map(|_| env(t.clone(), cfg.clone(), ActionSpace::default()))
        .collect();
    vec.reset(Some(100)).unwrap();
    for (i, e) in singles.iter_mut().enumerate() {
        e.reset(Some(100 + i as u64), ResetOptions::default())
            .unwrap();
    }
    let (c, h, w) = vec.single_observation_space().camera.unwrap();
    let frame = c * h * w;
    assert_eq!(vec.camera_batch().len(), n * frame);
    assert_eq!(vec.lidar_batch().len(), n * 64);
    let mut ended = 0;
    for step in 0..120 {
        let actions: Vec<Action> = (0..n)
            .map(|i| Action::Discrete((step / 7 + i) % 5))
            .collect();
        vec.step(&actions).unwrap();
        for (i, e) in singles.iter_mut().enumerate() {
            let tr = e.step(&actions[i]).unwrap();
            assert_eq!(
                vec.rewards()[i].to_bits(),
                tr.reward.to_bits(),
                "env {i} step {step}"
            );
            assert_eq!(vec.terminated()[i], tr.terminated);
            if tr.terminated || tr.truncated {
                ended += 1;
                assert_eq!(vec.final_observation(i).unwrap(), &tr.observation);
                e.reset(None, ResetOptions::default()).unwrap();
            }
            assert_eq!(
                &vec.camera_batch()[i * frame..(i + 1) * frame],
                &e.observation().camera[..],
                "env {i} step {step}"
            );
            assert_eq!(
                &vec.lidar_batch()[i * 64..(i + 1) * 64],
                &e.observation().lidar[..]
            );
        }
    }
    assert!(ended > 0, "some episodes should have ended and autoreset");
    assert!(
        vec.step(&[Action::Discrete(0)]).is_err(),
        "wrong number of actions"
    );
}
