//! Out-of-range config and actions are clear errors, never panics or NaN
//! in the physics.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace, CameraConfig, DiscreteAction, LidarConfig, Range};
use chicane_reward::FollowCenterLine;
use chicane_sim::{RaceEnv, ResetOptions, SimConfig, SimError, VecEnv};
use common::*;

#[test]
fn bad_camera_settings() {
    for fov in [0.0, -10.0, 180.0, 200.0, f64::NAN] {
        let cfg = SimConfig {
            camera: Some(CameraConfig {
                fov_deg: fov,
                ..CameraConfig::default()
            }),
            ..SimConfig::default()
        };
        let msg = config_error(cfg);
        assert!(
            msg.contains("camera.fov_deg") && msg.contains("(0, 180)"),
            "{msg}"
        );
    }
    let cfg = SimConfig {
        camera: Some(CameraConfig {
            width: 0,
            ..CameraConfig::default()
        }),
        ..SimConfig::default()
    };
    assert!(config_error(cfg).contains("camera.width"));
    let cfg = SimConfig {
        camera: Some(CameraConfig {
            mount_height: -0.1,
            ..CameraConfig::default()
        }),
        ..SimConfig::default()
    };
    assert!(config_error(cfg).contains("mount_height"));
    let cfg = SimConfig {
        camera: None,
        lidar: None,
        ..SimConfig::default()
    };
    assert!(config_error(cfg).contains("camera or a lidar"));
    let cfg = SimConfig {
        lidar: Some(LidarConfig {
            min_range: 5.0,
            max_range: 1.0,
            ..LidarConfig::default()
        }),
        ..SimConfig::default()
    };
    assert!(config_error(cfg).contains("lidar.max_range"));
}

#[test]
fn bad_vehicle_physics_and_rules() {
    let mut cfg = SimConfig::default();
    cfg.vehicle.max_speed = -1.0;
    assert!(config_error(cfg).contains("vehicle.max_speed"));
    let mut cfg = SimConfig::default();
    cfg.vehicle.min_speed = 5.0;
    assert!(config_error(cfg).contains("vehicle.min_speed"));
    let mut cfg = SimConfig::default();
    cfg.vehicle.mass = f64::NAN;
    assert!(config_error(cfg).contains("vehicle.mass"));
    let mut cfg = SimConfig::default();
    cfg.physics.substeps = 1;
    assert!(
        config_error(cfg).contains("physics.substeps"),
        "66 ms physics steps are too long"
    );
    // object positions are parsed once, where the config is read
    let msg = "half,left"
        .parse::<chicane_sim::ObjectPosition>()
        .unwrap_err();
    assert!(msg.contains("PROGRESS,LANE"), "{msg}");
    let mut cfg = SimConfig::default();
    cfg.start.start_position = Some(1.5);
    assert!(config_error(cfg).contains("start.start_position"));
    let mut cfg = SimConfig::default();
    cfg.bots.lower_lane_change_time = 5.0;
    cfg.bots.upper_lane_change_time = 1.0;
    assert!(config_error(cfg).contains("lane_change_time"));
}

#[test]
fn bad_action_spaces() {
    let negative = ActionSpace::Discrete(vec![
        DiscreteAction {
            steering_angle_deg: 0.0,
            speed: -1.0,
        },
        DiscreteAction {
            steering_angle_deg: 0.0,
            speed: 1.0,
        },
    ]);
    let err = RaceEnv::new(
        SimConfig::default(),
        track("easy-oval"),
        negative,
        Box::new(FollowCenterLine),
    )
    .unwrap_err();
    assert!(err.to_string().contains("speed -1 m/s"), "{err}");
    let one = ActionSpace::Discrete(vec![DiscreteAction {
        steering_angle_deg: 0.0,
        speed: 1.0,
    }]);
    assert!(
        RaceEnv::new(
            SimConfig::default(),
            track("easy-oval"),
            one,
            Box::new(FollowCenterLine)
        )
        .is_err()
    );
}

#[test]
fn bad_actions_are_errors_and_leave_the_env_usable() {
    let space = ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 2.0,
        },
    };
    let mut e = env(track("easy-oval"), SimConfig::default(), space);
    e.reset(Some(0), ResetOptions::default()).unwrap();
    for bad in [
        Action::Continuous {
            steering_angle_deg: f64::NAN,
            speed: 1.0,
        },
        Action::Continuous {
            steering_angle_deg: 0.0,
            speed: f64::INFINITY,
        },
        Action::Continuous {
            steering_angle_deg: 45.0,
            speed: 1.0,
        },
        Action::Continuous {
            steering_angle_deg: 0.0,
            speed: -1.0,
        },
        Action::Discrete(0),
    ] {
        let err = e.step(&bad).unwrap_err();
        assert!(matches!(err, SimError::Action(_)), "{bad:?}: {err}");
    }
    // the env still steps normally, and the car never saw a NaN
    let t = e
        .step(&Action::Continuous {
            steering_angle_deg: 0.0,
            speed: 1.0,
        })
        .unwrap();
    assert!(t.info.car.position.is_finite() && t.info.params.steps == 1);
    let mut d = env(
        track("easy-oval"),
        SimConfig::default(),
        ActionSpace::default(),
    );
    d.reset(Some(0), ResetOptions::default()).unwrap();
    assert!(matches!(
        d.step(&Action::Discrete(99)),
        Err(SimError::Action(_))
    ));
}

#[test]
fn bad_reset_options_and_vec_env_sizes() {
    let mut e = env(
        track("easy-oval"),
        SimConfig::default(),
        ActionSpace::default(),
    );
    assert!(matches!(
        e.step(&Action::Discrete(0)),
        Err(SimError::NeedsReset(_))
    ));
    let err = e
        .reset(
            Some(0),
            ResetOptions {
                start_position: Some(f64::NAN),
                direction: None,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("start_position"));
    let err = VecEnv::new(
        SimConfig::default(),
        track("easy-oval"),
        ActionSpace::default(),
        (0..0)
            .map(|_| Box::new(FollowCenterLine) as Box<dyn chicane_reward::RewardFunction>)
            .collect(),
        1,
    )
    .unwrap_err();
    assert!(err.to_string().contains("num_envs"));
}
