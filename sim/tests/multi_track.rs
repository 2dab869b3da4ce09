//! Multi-track training envs: each env starts on its own track and moves to
//! the next every `switch_every` episodes, the same way for the same seed;
//! `Info::track` names the track of every step.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace};
use chicane_reward::{FollowCenterLine, RewardFunction};
use chicane_sim::{SimConfig, VecEnv};
use common::*;

/// The track of each finished episode, per env, over `steps` steps.
fn episode_tracks(switch_every: u32, seed: u64, steps: usize) -> Vec<Vec<String>> {
    let mut cfg = SimConfig::default();
    cfg.episode.max_steps = 5;
    let tracks = [
        track("easy-oval"),
        track("speedway"),
        track("technical-loop"),
    ];
    let rewards: Vec<Box<dyn RewardFunction>> = (0..2)
        .map(|_| Box::new(FollowCenterLine) as Box<dyn RewardFunction>)
        .collect();
    let mut v = VecEnv::with_tracks(
        cfg,
        &tracks,
        switch_every,
        ActionSpace::default(),
        rewards,
        1,
    )
    .unwrap();
    v.reset(Some(seed)).unwrap();
    let mut out = vec![Vec::new(), Vec::new()];
    let act = vec![Action::Discrete(2); 2];
    for _ in 0..steps {
        v.step(&act).unwrap();
        for (i, o) in out.iter_mut().enumerate() {
            if let Some(info) = v.final_info(i) {
                o.push(info.track.to_string());
            }
        }
    }
    out
}

#[test]
fn envs_rotate_through_the_tracks() {
    let got = episode_tracks(2, 1, 5 * 6);
    let names = ["easy-oval", "speedway", "technical-loop"];
    for (i, eps) in got.iter().enumerate() {
        assert_eq!(eps.len(), 6, "env {i}: {eps:?}");
        for (k, t) in eps.iter().enumerate() {
            // env i starts on track i, two episodes on each
            assert_eq!(t, names[(i + k / 2) % 3], "env {i} episode {k}: {eps:?}");
        }
    }
    assert_eq!(got, episode_tracks(2, 1, 30), "same seed, same schedule");
    let every = episode_tracks(1, 1, 5 * 3);
    assert_eq!(every[0], ["easy-oval", "speedway", "technical-loop"]);
}

#[test]
fn no_tracks_or_zero_switch_is_an_error() {
    let r = || vec![Box::new(FollowCenterLine) as Box<dyn RewardFunction>];
    let e = VecEnv::with_tracks(SimConfig::default(), &[], 1, ActionSpace::default(), r(), 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("track"), "{e}");
    let t = [track("easy-oval"), track("speedway")];
    let e = VecEnv::with_tracks(SimConfig::default(), &t, 0, ActionSpace::default(), r(), 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("track_switch_episodes"), "{e}");
}
