//! Camera realism: each effect visible in the frames as documented, the same
//! frames for the same seed, off by default, and bad values named.
#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

mod common;

use chicane_core::{Action, ActionSpace};
use chicane_sim::{CameraRealism, ResetOptions, SimConfig};
use common::*;

/// Frames of `steps` steps straight ahead at 3 m/s on easy-oval.
fn frames(realism: CameraRealism, rgb: bool, steps: usize) -> Vec<Vec<u8>> {
    let mut cfg = SimConfig::default();
    cfg.camera_realism = realism;
    if let Some(c) = cfg.camera.as_mut() {
        c.rgb = rgb;
    }
    let mut e = env(track("easy-oval"), cfg, ActionSpace::full_continuous());
    e.reset_in_place(Some(1), ResetOptions::default()).unwrap();
    let mut out = vec![e.observation().camera.clone()];
    let a = Action::Continuous {
        steering_angle_deg: 0.0,
        speed: 3.0,
    };
    for _ in 0..steps {
        e.step_in_place(&a).unwrap();
        out.push(e.observation().camera.clone());
    }
    out
}

fn mean(v: &[u8]) -> f64 {
    v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64
}

/// Mean of a `size` x `size` block at (x, y) of a 160-wide grey frame.
fn block(f: &[u8], x: usize, y: usize, size: usize) -> f64 {
    let mut s = 0.0;
    for yy in y..y + size {
        for xx in x..x + size {
            s += f64::from(f[yy * 160 + xx]);
        }
    }
    s / (size * size) as f64
}

#[test]
fn off_by_default_and_deterministic_when_on() {
    assert!(!SimConfig::default().camera_realism.is_active());
    let on = CameraRealism {
        lens_distortion: 0.25,
        vignetting: 0.35,
        exposure: 1.2,
        white_balance: [1.1, 1.0, 0.9],
        motion_blur: 0.4,
        jpeg_quality: 60,
    };
    assert_eq!(frames(on.clone(), true, 10), frames(on, true, 10));
}

#[test]
fn each_effect_shows_in_the_frame() {
    let plain = frames(CameraRealism::default(), false, 12);
    let with = |f: fn(&mut CameraRealism)| {
        let mut r = CameraRealism::default();
        f(&mut r);
        frames(r, false, 12)
    };
    // vignetting darkens the corners, not the centre
    let v = with(|r| r.vignetting = 0.5);
    let (p, q) = (&plain[0], &v[0]);
    assert!((block(p, 76, 56, 8) - block(q, 76, 56, 8)).abs() < 2.0);
    assert!(
        block(q, 0, 0, 8) < 0.7 * block(p, 0, 0, 8) + 1.0,
        "corner not darker"
    );
    // exposure scales brightness
    let ex = with(|r| r.exposure = 0.5);
    assert!((mean(&ex[0]) - 0.5 * mean(&plain[0])).abs() < 1.5);
    // barrel distortion keeps the centre and moves the rest
    let d = with(|r| r.lens_distortion = 0.4);
    assert!((block(&plain[0], 78, 58, 4) - block(&d[0], 78, 58, 4)).abs() < 3.0);
    assert_ne!(d[0], plain[0]);
    // motion blur: no blur on the first frame, then frames mix with the last
    let mb = with(|r| r.motion_blur = 0.8);
    assert_eq!(mb[0], plain[0]);
    assert_ne!(mb[12], plain[12]);
    // JPEG: close to the render, not equal
    let j = with(|r| r.jpeg_quality = 30);
    let diff: f64 = j[0]
        .iter()
        .zip(&plain[0])
        .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
        .sum::<f64>()
        / j[0].len() as f64;
    assert!(diff > 0.1 && diff < 8.0, "mean |diff| {diff}");
    // white balance: colour frames' channels scale, grey frames do not change
    let wb = CameraRealism {
        white_balance: [1.5, 1.0, 0.6],
        ..CameraRealism::default()
    };
    assert_eq!(
        frames(wb.clone(), false, 0),
        frames(CameraRealism::default(), false, 0)
    );
    let (c0, c1) = (
        frames(CameraRealism::default(), true, 0),
        frames(wb, true, 0),
    );
    let plane = 160 * 120;
    assert!(mean(&c1[0][..plane]) > mean(&c0[0][..plane]) + 1.0);
    assert!(mean(&c1[0][2 * plane..]) < mean(&c0[0][2 * plane..]) - 1.0);
}

#[test]
fn bad_values_name_the_field() {
    type Set = fn(&mut CameraRealism);
    let cases: [(Set, &str); 4] = [
        (
            |r| r.lens_distortion = 0.8,
            "camera_realism.lens_distortion",
        ),
        (|r| r.exposure = 0.0, "camera_realism.exposure"),
        (
            |r| r.white_balance = [1.0, 3.0, 1.0],
            "camera_realism.white_balance",
        ),
        (|r| r.jpeg_quality = 101, "camera_realism.jpeg_quality"),
    ];
    for (set, field) in cases {
        let mut cfg = SimConfig::default();
        set(&mut cfg.camera_realism);
        let e = config_error(cfg);
        assert!(e.contains(field), "{e}");
    }
}
