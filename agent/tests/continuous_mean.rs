//! The mean action of a continuous policy: the Gaussian's mean clipped to
//! `[-1, 1]` as the env receives it, by hand and by numerical integration,
//! and the exported ONNX graph computing the same (run by tract, as the car
//! runs it).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    ActorCriticConfig, HostObs, Learner, NetworkKind, PpoConfig, clipped_gaussian_mean,
    export_onnx, head_for,
};
use chicane_core::{ActionSpace, Range};

/// `E[clip(x, -1, 1)]` for `x ~ N(m, s^2)` by the trapezoid rule.
fn integrated(m: f64, s: f64) -> f64 {
    let n = 200_000;
    let (lo, hi) = (m - 12.0 * s, m + 12.0 * s);
    let h = (hi - lo) / n as f64;
    (0..=n)
        .map(|i| {
            let x = lo + h * i as f64;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            let pdf =
                (-0.5 * ((x - m) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
            w * x.clamp(-1.0, 1.0) * pdf * h
        })
        .sum()
}

#[test]
fn clipped_mean_by_hand_and_by_integration() {
    // no clipping to speak of: the mean itself
    assert!((clipped_gaussian_mean(0.3, 1e-4) - 0.3).abs() < 1e-6);
    // symmetric about 0
    assert!(clipped_gaussian_mean(0.0, 2.0).abs() < 1e-6);
    // far outside the range: the bound
    assert!((clipped_gaussian_mean(5.0, 0.1) - 1.0).abs() < 1e-6);
    assert!((clipped_gaussian_mean(-5.0, 0.1) + 1.0).abs() < 1e-6);
    // m = 1, sigma = 1 (a = -2, b = 0): -Phi(-2) + 0.5 + (0.5 - Phi(-2)) + phi(-2) - phi(0)
    // = -0.0227501 + 0.5 + 0.4772499 + 0.0539910 - 0.3989423
    assert!((clipped_gaussian_mean(1.0, 1.0) - 0.609_548_5).abs() < 1e-5);
    for &(m, s) in &[(-0.6, 0.6), (0.9, 0.3), (-1.4, 1.2), (0.2, 2.5), (1.7, 0.4)] {
        let want = integrated(m, s);
        let got = f64::from(clipped_gaussian_mean(m as f32, s as f32));
        assert!((got - want).abs() < 1e-5, "m {m} s {s}: {got} vs {want}");
    }
}

#[test]
fn onnx_outputs_the_clipped_mean() {
    let space = ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 4.0,
        },
    };
    let mut cfg = ActorCriticConfig::new(NetworkKind::Mlp, None, Some(6), head_for(&space));
    // a wide Gaussian, so that the clip moves every mean
    cfg.init_log_std = 0.5;
    let learner = Learner::new(cfg, PpoConfig::default(), space, &Device::flex(), 3).unwrap();
    let n = 16;
    let obs = HostObs {
        n,
        camera: Vec::new(),
        vector: (0..n * 6)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) * 0.4)
            .collect(),
    };
    let want = learner.policy_output(&obs).unwrap();
    let onnx = export_onnx(&learner).unwrap();
    let got = common::run_onnx(&onnx.bytes, &[n, 6], &obs.vector);
    assert_eq!(got.len(), n * 2);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-5, "output {i}: ONNX {g} vs host {w}");
        assert!(g.abs() <= 1.0);
    }
    // the greedy action is the same mean
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let greedy = learner.act(&obs, &mut rng, true).unwrap();
    for (i, s) in greedy.iter().enumerate() {
        assert!((s.raw[0] - want[2 * i]).abs() < 1e-6 && (s.raw[1] - want[2 * i + 1]).abs() < 1e-6);
    }
}
