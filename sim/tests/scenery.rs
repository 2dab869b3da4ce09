//! Scenery: walls, background objects, shadows, tape and reflections each
//! visible in the camera's frames as documented, drawn again each episode,
//! the same for the same seed, leaving physics and every other random draw
//! alone, off by default, and bad values named.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace};
use chicane_sim::{DomainRandomization, PhysicsRandomization, ResetOptions, Scenery, SimConfig};
use common::*;

fn config(scenery: Scenery, rgb: bool) -> SimConfig {
    let mut cfg = SimConfig::default();
    cfg.scenery = scenery;
    if let Some(c) = cfg.camera.as_mut() {
        c.rgb = rgb;
    }
    cfg
}

/// The first frame of `episodes` episodes from the start line of
/// technical-loop, the first reset seeded with `seed`.
fn first_frames(scenery: Scenery, rgb: bool, seed: u64, episodes: usize) -> Vec<Vec<u8>> {
    let mut e = env(
        track("technical-loop"),
        config(scenery, rgb),
        ActionSpace::full_continuous(),
    );
    (0..episodes)
        .map(|i| {
            let opts = ResetOptions {
                start_position: Some(0.0),
                ..ResetOptions::default()
            };
            e.reset_in_place((i == 0).then_some(seed), opts).unwrap();
            e.observation().camera.clone()
        })
        .collect()
}

fn all_on() -> Scenery {
    Scenery {
        wall_height: 0.6,
        background_objects: 30,
        shadows: 40,
        tape_strips: 60,
        reflections: 20,
        ..Scenery::default()
    }
}

/// Per-pixel `with - plain` over the same frames.
fn diffs(with: &[u8], plain: &[u8]) -> Vec<i32> {
    with.iter()
        .zip(plain)
        .map(|(&a, &b)| i32::from(a) - i32::from(b))
        .collect()
}

#[test]
fn off_by_default_redrawn_each_episode_and_deterministic() {
    assert!(!SimConfig::default().scenery.is_active());
    assert!(all_on().is_active());
    let plain = first_frames(Scenery::default(), false, 3, 2);
    assert_eq!(plain[0], plain[1], "the same start without scenery");
    let a = first_frames(all_on(), false, 3, 3);
    assert_eq!(a, first_frames(all_on(), false, 3, 3), "same seed");
    assert_ne!(a[0], plain[0]);
    assert_ne!(a[0], a[1], "episode 2 has its own scenery");
    assert_ne!(a[1], a[2]);
    assert_ne!(a[0], first_frames(all_on(), false, 4, 1)[0], "another seed");
}

#[test]
fn scenery_leaves_physics_and_the_other_draws_alone() {
    let run = |scenery: Scenery| {
        let mut cfg = config(scenery, false);
        cfg.start.random_start = true;
        cfg.domain_randomization = DomainRandomization {
            enabled: true,
            brightness: 0.1,
            ..DomainRandomization::default()
        };
        cfg.physics_randomization = PhysicsRandomization::example();
        let mut e = env(track("technical-loop"), cfg, ActionSpace::full_continuous());
        let mut xy = Vec::new();
        for ep in 0..3 {
            e.reset_in_place((ep == 0).then_some(11), ResetOptions::default())
                .unwrap();
            for _ in 0..20 {
                let (reward, term, trunc, info) = e
                    .step_in_place(&Action::Continuous {
                        steering_angle_deg: 5.0,
                        speed: 2.0,
                    })
                    .unwrap();
                xy.push([info.params.x, info.params.y, reward]);
                if term || trunc {
                    break;
                }
            }
        }
        xy
    };
    assert_eq!(run(Scenery::default()), run(all_on()));
}

#[test]
fn each_part_shows_in_the_frame() {
    let plain = &first_frames(Scenery::default(), false, 5, 1)[0];
    let with = |s: Scenery| first_frames(s, false, 5, 1).remove(0);
    let (w, h) = (160usize, 120usize);

    // walls: sky near the horizon becomes the dark barrier
    let walls = with(Scenery {
        wall_height: 1.0,
        ..Scenery::default()
    });
    let darkened = plain
        .iter()
        .zip(&walls)
        .filter(|(p, q)| **p > 180 && **q < 90)
        .count();
    assert!(darkened > 1000, "{darkened} sky pixels became wall");

    // background objects stand in view (above the ground's pixels too)
    let objects = with(Scenery {
        background_objects: 60,
        ..Scenery::default()
    });
    let changed = diffs(&objects, plain).iter().filter(|d| **d != 0).count();
    assert!(changed > 500, "{changed} pixels show objects");

    // shadows only darken, reflections only brighten, the ground only
    let shadows = with(Scenery {
        shadows: 100,
        shadow_strength: 0.9,
        ..Scenery::default()
    });
    let d = diffs(&shadows, plain);
    assert!(d.iter().all(|&x| x <= 1), "a shadow brightened a pixel");
    let dark: i64 = d.iter().map(|&x| i64::from(-x.min(0))).sum();
    assert!(dark > 3_000, "shadows took {dark} grey levels");
    let reflections = with(Scenery {
        reflections: 100,
        reflection_strength: 1.0,
        ..Scenery::default()
    });
    let d = diffs(&reflections, plain);
    assert!(d.iter().all(|&x| x >= -1), "a reflection darkened a pixel");
    let bright: i64 = d.iter().map(|&x| i64::from(x.max(0))).sum();
    assert!(bright > 4_000, "reflections added {bright} grey levels");
    // nothing on the floor reaches above the horizon: the top rows are sky
    for frame in [&shadows, &reflections] {
        assert_eq!(frame[..w * 10], plain[..w * 10]);
    }

    // tape: thin strips in tape colours on colour frames
    let plain_rgb = &first_frames(Scenery::default(), true, 5, 1)[0];
    let tape = first_frames(
        Scenery {
            tape_strips: 200,
            ..Scenery::default()
        },
        true,
        5,
        1,
    )
    .remove(0);
    let plane = w * h;
    let yellow = |f: &[u8], i: usize| f[i] > 150 && f[plane + i] > 120 && f[2 * plane + i] < 90;
    let blue = |f: &[u8], i: usize| f[2 * plane + i] > 120 && f[i] < 90;
    let new_tape = (0..plane)
        .filter(|&i| {
            (yellow(&tape, i) && !yellow(plain_rgb, i)) || (blue(&tape, i) && !blue(plain_rgb, i))
        })
        .count();
    assert!(new_tape > 15, "{new_tape} pixels of yellow or blue tape");
}

#[test]
fn bad_values_name_the_field() {
    type Set = fn(&mut Scenery);
    let cases: [(Set, &str); 5] = [
        (|s| s.wall_height = 5.0, "scenery.wall_height"),
        (|s| s.wall_distance = 0.0, "scenery.wall_distance"),
        (|s| s.tape_strips = 500, "scenery.tape_strips"),
        (|s| s.shadow_strength = -0.1, "scenery.shadow_strength"),
        (
            |s| s.reflection_strength = f64::NAN,
            "scenery.reflection_strength",
        ),
    ];
    for (set, field) in cases {
        let mut cfg = SimConfig::default();
        set(&mut cfg.scenery);
        let e = config_error(cfg);
        assert!(e.contains(field), "{e}");
    }
}
