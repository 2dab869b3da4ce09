//! Physics randomisation: each draw within its documented range, the same
//! draws and trajectory for the same seed, off changing nothing, each
//! factor acting on the car, and bad values named.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace};
use chicane_sim::{PhysicsRandomization, ResetOptions, SimConfig, check_env};
use common::*;

fn randomized() -> PhysicsRandomization {
    PhysicsRandomization {
        frame_drop: 0.1,
        ..PhysicsRandomization::example()
    }
}

/// `steps` steps of a fixed action; the car's positions and the frames.
fn drive(
    cfg: &SimConfig,
    seed: u64,
    steps: usize,
    action: &Action,
) -> (Vec<[f64; 2]>, Vec<Vec<u8>>) {
    let mut e = env(
        track("technical-loop"),
        cfg.clone(),
        ActionSpace::full_continuous(),
    );
    e.reset_in_place(Some(seed), ResetOptions::default())
        .unwrap();
    let (mut xy, mut frames) = (Vec::new(), vec![e.observation().camera.clone()]);
    for _ in 0..steps {
        let (_, term, trunc, info) = e.step_in_place(action).unwrap();
        xy.push([info.params.x, info.params.y]);
        frames.push(e.observation().camera.clone());
        if term || trunc {
            break;
        }
    }
    (xy, frames)
}

fn straight_at(speed: f64) -> Action {
    Action::Continuous {
        steering_angle_deg: 0.0,
        speed,
    }
}

#[test]
fn draws_stay_in_their_ranges_and_vary() {
    let mut cfg = SimConfig::default();
    cfg.physics_randomization = randomized();
    let base = cfg.vehicle.clone();
    let mut e = env(track("easy-oval"), cfg, ActionSpace::default());
    let (mut grips, mut latencies) = (Vec::new(), std::collections::BTreeSet::new());
    for i in 0..200 {
        e.reset_in_place(if i == 0 { Some(9) } else { None }, ResetOptions::default())
            .unwrap();
        let d = e.episode_physics();
        let within = |v: f64, nominal: f64, dev: f64| {
            v >= nominal * (1.0 - dev) - 1e-12 && v <= nominal * (1.0 + dev) + 1e-12
        };
        assert!(within(d.vehicle.grip, base.grip, 0.15), "{d:?}");
        assert!(within(d.vehicle.mass, base.mass, 0.1), "{d:?}");
        assert!(within(d.vehicle.max_drive_force, base.max_drive_force, 0.2));
        // drive force and controller gain scale together
        let k = d.vehicle.max_drive_force / base.max_drive_force;
        assert!((d.vehicle.speed_gain / base.speed_gain - k).abs() < 1e-12);
        assert!(d.steering_offset_deg.abs() <= 2.0);
        assert!((d.steering_gain - 1.0).abs() <= 0.1 + 1e-12);
        assert!(d.latency_steps <= 2);
        grips.push(d.vehicle.grip);
        latencies.insert(d.latency_steps);
    }
    let (lo, hi) = grips
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &g| (a.min(g), b.max(g)));
    assert!(hi - lo > 0.2 * base.grip, "grip barely varies: {lo}..{hi}");
    assert_eq!(latencies.len(), 3, "latencies drawn: {latencies:?}");
}

#[test]
fn same_seed_same_episode_and_off_changes_nothing() {
    let mut on = SimConfig::default();
    on.physics_randomization = randomized();
    let action = Action::Continuous {
        steering_angle_deg: 8.0,
        speed: 1.5,
    };
    let a = drive(&on, 4, 60, &action);
    assert_eq!(
        a,
        drive(&on, 4, 60, &action),
        "same seed, different episode"
    );
    assert_ne!(a.0, drive(&on, 5, 60, &action).0);
    // the block present but disabled is the default config, bit for bit
    let mut off = SimConfig::default();
    off.physics_randomization = PhysicsRandomization {
        enabled: false,
        ..randomized()
    };
    assert_eq!(
        drive(&off, 4, 60, &action),
        drive(&SimConfig::default(), 4, 60, &action)
    );
    // and the env checker (reset/step contract, determinism) passes with it on
    check_env(
        || {
            chicane_sim::RaceEnv::new(
                on.clone(),
                track("speedway"),
                ActionSpace::full_continuous(),
                Box::new(chicane_reward::FollowCenterLine),
            )
        },
        3,
        100,
    )
    .unwrap();
}

#[test]
fn each_factor_acts_on_the_car() {
    let only = |f: fn(&mut PhysicsRandomization)| {
        let mut cfg = SimConfig::default();
        let mut r = PhysicsRandomization {
            enabled: true,
            ..PhysicsRandomization::default()
        };
        f(&mut r);
        cfg.physics_randomization = r;
        cfg
    };
    let nominal = drive(&SimConfig::default(), 2, 45, &straight_at(2.0));
    // latency: the car starts later, so it has gone less far after 3 s
    // (at least one of a few seeds draws a latency above 0)
    let cfg = only(|r| r.action_latency_steps = 2);
    let dist = |xy: &[[f64; 2]]| {
        let (a, b) = (xy[0], xy[xy.len() - 1]);
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
    };
    let late = (0..6)
        .map(|s| dist(&drive(&cfg, s, 45, &straight_at(2.0)).0))
        .fold(f64::MAX, f64::min);
    assert!(
        late < dist(&nominal.0) - 0.01,
        "{late} vs {}",
        dist(&nominal.0)
    );
    // steering offset: a straight command curves
    let cfg = only(|r| r.steering_offset_deg = 10.0);
    let curved = drive(&cfg, 2, 45, &straight_at(2.0));
    assert_ne!(curved.0, nominal.0);
    // frame drops: some frames repeat the one before while the car moves
    let cfg = only(|r| r.frame_drop = 0.5);
    let (_, frames) = drive(&cfg, 2, 45, &straight_at(2.0));
    let repeats = frames.windows(2).filter(|w| w[0] == w[1]).count();
    let (_, nominal_frames) = &nominal;
    let nominal_repeats = nominal_frames.windows(2).filter(|w| w[0] == w[1]).count();
    assert!(repeats >= 10 + nominal_repeats, "{repeats} repeated frames");
    // action noise and grip change the trajectory
    for cfg in [
        only(|r| r.action_noise = 0.1),
        only(|r| r.grip = 0.5),
        only(|r| r.mass = 0.5),
        only(|r| r.motor_response = 0.5),
    ] {
        assert_ne!(
            drive(&cfg, 2, 45, &straight_at(3.0)).0,
            drive(&SimConfig::default(), 2, 45, &straight_at(3.0)).0
        );
    }
}

#[test]
fn bad_values_name_the_field() {
    type Set = fn(&mut PhysicsRandomization);
    let cases: [(Set, &str); 4] = [
        (|r| r.grip = 1.5, "physics_randomization.grip"),
        (
            |r| r.action_noise = f64::NAN,
            "physics_randomization.action_noise",
        ),
        (|r| r.frame_drop = -0.1, "physics_randomization.frame_drop"),
        (
            |r| r.action_latency_steps = 50,
            "physics_randomization.action_latency_steps",
        ),
    ];
    for (set, field) in cases {
        let mut cfg = SimConfig::default();
        set(&mut cfg.physics_randomization);
        let e = config_error(cfg);
        assert!(e.contains(field) && e.contains("within"), "{e}");
    }
    // a misspelt key is refused by name
    let e = serde_json::from_str::<SimConfig>(r#"{"physics_randomization": {"latency": 2}}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("latency"), "{e}");
}
