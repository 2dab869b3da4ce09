//! The racing-line reference: driven in the simulator by
//! `RacingLineDriver`, its lap matches the predicted lap within 5% on
//! every shared DeepRacer track in both directions with all wheels on the
//! track, and laps re:Invent 2018 in 8.5 s or less. The racing-line params
//! reach reward functions that use them.
#![allow(clippy::unwrap_used)]

mod common;
use chicane_core::ActionSpace;
use chicane_reward::{FnReward, RewardParams};
use chicane_sim::{
    Driver, EpisodeStatus, RaceEnv, RacingLineDriver, ResetOptions, SimConfig, racing_line_for,
};
use chicane_tracks::Track;
use std::sync::Arc;

/// Drives one lap; returns (lap time, predicted, steps with a wheel off).
fn drive(track: Arc<Track>, reverse: bool) -> (f64, f64, u64) {
    let mut cfg = SimConfig::default();
    let direction = reverse.then(|| track.start().direction.flipped());
    cfg.start.direction = direction;
    let line = racing_line_for(&track, &cfg.vehicle, 0.1, 0.1, direction).unwrap();
    let mut driver = RacingLineDriver::new(&line);
    let mut env = RaceEnv::new(
        cfg,
        track,
        ActionSpace::full_continuous(),
        Box::new(chicane_reward::FollowCenterLine),
    )
    .unwrap();
    let (_, mut info) = env.reset(Some(0), ResetOptions::default()).unwrap();
    let mut off = 0;
    for _ in 0..1000 {
        let a = driver.act(&env, &info);
        let t = env.step(&a).unwrap();
        if !t.info.params.all_wheels_on_track {
            off += 1;
        }
        if t.terminated || t.truncated {
            assert_eq!(
                t.info.episode_status,
                EpisodeStatus::LapComplete,
                "{:?}",
                t.info
            );
            return (t.info.lap_times[0], line.lap_time, off);
        }
        info = t.info;
    }
    panic!("no lap in 1000 steps");
}

#[test]
fn the_driven_lap_matches_the_prediction_on_every_shared_track() {
    for file in common::deepracer_tracks() {
        let t = common::track(file.to_str().unwrap());
        for reverse in [false, true] {
            let (lap, predicted, off) = drive(Arc::clone(&t), reverse);
            let gap = lap / predicted - 1.0;
            eprintln!(
                "{} {}: driven {lap:.2} s, predicted {predicted:.2} s ({:+.1}%), {off} steps with a wheel off",
                t.name(),
                if reverse { "reverse" } else { "forward" },
                100.0 * gap
            );
            assert!(gap.abs() <= 0.05, "{}: {lap} vs {predicted}", t.name());
            assert_eq!(off, 0, "{}: wheels left the track", t.name());
        }
    }
}

#[test]
fn reinvent_2018_laps_in_at_most_8_5_s() {
    let t = common::track(
        common::shared_data()
            .join("deepracer/tracks/reinvent_base.npy")
            .to_str()
            .unwrap(),
    );
    let (lap, _, _) = drive(t, false);
    assert!(lap <= 8.5, "{lap} s");
}

#[test]
fn reward_functions_that_use_the_racing_line_get_it() {
    let t = common::track("easy-oval");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<RewardParams>::new()));
    let log = Arc::clone(&seen);
    // a Rhai script that mentions it gets the keys; the built-in one too
    let script = chicane_reward::RhaiReward::compile(
        "fn reward_function(params) { params.racing_line_distance + 0.0 * params.racing_line_speed }",
        "line.rhai",
    )
    .unwrap();
    let mut env = RaceEnv::new(
        SimConfig::default(),
        Arc::clone(&t),
        ActionSpace::default(),
        Box::new(script),
    )
    .unwrap();
    env.reset(Some(0), ResetOptions::default()).unwrap();
    let tr = env.step(&chicane_core::Action::Discrete(2)).unwrap();
    let line = tr.info.params.racing_line.as_ref().unwrap();
    assert!((tr.reward - line.racing_line_distance).abs() < 1e-12);
    assert!(
        line.racing_line.len() > 100 && line.racing_line_speeds.len() == line.racing_line.len()
    );
    assert!(line.racing_line_distance < t.width_at(0.0));
    // one that does not is not slowed down by it
    let plain = FnReward::new("plain", move |p: &RewardParams| {
        log.lock().unwrap().push(p.clone());
        1.0
    });
    let mut env = RaceEnv::new(
        SimConfig::default(),
        t,
        ActionSpace::default(),
        Box::new(plain),
    )
    .unwrap();
    env.reset(Some(0), ResetOptions::default()).unwrap();
    env.step(&chicane_core::Action::Discrete(2)).unwrap();
    assert!(seen.lock().unwrap()[0].racing_line.is_none());
}
