//! Regression: an env switching between tracks whose ground textures have
//! the same scale but mip chains of different lengths (a small track, then
//! a large one) panicked in the renderer ("index out of bounds" in the
//! texture fetch): the per-pixel mip levels were cached by scale alone, so
//! the small track's clamp was kept for the large track, and the other way
//! round fetched a level past the end where a pixel above the nominal
//! horizon (the coarsest level) saw the ground: a camera tilted down by its
//! mount jitter or the car's pitch. Found training
//! `examples/race/generalise.toml`.
#![allow(clippy::unwrap_used)]

mod common;

use chicane_core::{Action, ActionSpace};
use chicane_reward::{FollowCenterLine, RewardFunction};
use chicane_sim::{DomainRandomization, EnvAssets, RaceEnv, ResetOptions, SimConfig};
use common::*;

#[test]
fn switching_between_tracks_of_every_size_renders() {
    // the mount tilts up to 10 deg down: the nominal sky's pixels see ground
    let cfg = SimConfig {
        domain_randomization: DomainRandomization {
            enabled: true,
            mount_pitch_deg: 10.0,
            ..DomainRandomization::default()
        },
        ..SimConfig::default()
    };
    // every built-in and shared DeepRacer track: their textures' mip chains
    // run from 10 to 13 levels, in both orders along the pool
    let mut specs: Vec<String> = ["easy-oval", "technical-loop", "flow-circuit", "speedway"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    specs.extend(deepracer_tracks().iter().map(|p| p.display().to_string()));
    let pool: Vec<EnvAssets> = specs
        .iter()
        .map(|t| EnvAssets::new(track(t), &cfg))
        .collect();
    let reward: Box<dyn RewardFunction> = Box::new(FollowCenterLine);
    let mut pooled =
        RaceEnv::with_assets(cfg.clone(), pool[0].clone(), ActionSpace::default(), reward).unwrap();
    pooled.set_track_pool(pool, 1, 0).unwrap();
    let mut frames = Vec::new();
    for episode in 0..2 * specs.len() {
        pooled
            .reset_in_place((episode == 0).then_some(0), ResetOptions::default())
            .unwrap();
        pooled.step_in_place(&Action::Discrete(2)).unwrap();
        frames.push(pooled.observation().camera.clone());
    }
    // the first episode's frame is a fresh env's on that track
    let mut fresh = env(track(&specs[0]), cfg, ActionSpace::default());
    fresh
        .reset_in_place(Some(0), ResetOptions::default())
        .unwrap();
    fresh.step_in_place(&Action::Discrete(2)).unwrap();
    assert_eq!(frames[0], fresh.observation().camera);
    assert_eq!(frames.len(), 2 * specs.len());
}
