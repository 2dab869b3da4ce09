//! SAC must solve a small control problem from camera frames: drive a
//! position to the centre. The state `x` in `[-1, 1]` is shown as the
//! brightness of a 14x14 frame; the action's first dimension moves it
//! (`x += 0.3 a`); the reward is `-|x|`; episodes are 8 steps and end
//! truncated, so the critics must bootstrap through the final
//! observations. Checked through `Learner::update` (replay buffer,
//! critics, targets, automatic temperature) and the greedy policy.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    ActorCriticConfig, HeadKind, HostObs, Learner, NetworkKind, PpoConfig, Rollout, SacConfig,
    Temperature, export_onnx,
};
use chicane_core::{Action, ActionSpace, Range};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SIDE: usize = 14;
const ENVS: usize = 16;
const STEPS: usize = 8;

/// A uniform frame of brightness `(x + 1) / 2`, as `chicane_core::Preprocess`
/// makes it for FAST_CNN: 4x4 boxes of u8 pixels summed, times 1/(255 * 16).
fn frame(x: f32) -> Vec<f32> {
    let level = (((x + 1.0) * 0.5).clamp(0.0, 1.0) * 255.0).round();
    vec![16.0 * level * (1.0 / (255.0 * 16.0)); SIDE * SIDE]
}

fn obs_of(xs: &[f32]) -> HostObs {
    HostObs {
        n: xs.len(),
        camera: xs.iter().flat_map(|&x| frame(x)).collect(),
        vector: Vec::new(),
    }
}

fn steering(a: &Action) -> f32 {
    match a {
        Action::Continuous {
            steering_angle_deg, ..
        } => (*steering_angle_deg / 30.0) as f32,
        Action::Discrete(_) => f32::NAN,
    }
}

/// One episode of every env from random starts; returns the rollout and
/// the mean |x| over the episodes' last half.
fn episode(learner: &Learner, rng: &mut ChaCha8Rng, greedy: bool) -> (Rollout, f32) {
    let mut xs: Vec<f32> = (0..ENVS).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let mut r = Rollout::default();
    let mut late = 0.0;
    for t in 0..STEPS {
        let obs = obs_of(&xs);
        let samples = learner.act(&obs, rng, greedy).unwrap();
        for (i, s) in samples.iter().enumerate() {
            xs[i] = (xs[i] + 0.3 * steering(&s.action)).clamp(-1.0, 1.0);
            r.raw_actions.extend_from_slice(&s.raw);
            r.log_probs.push(s.log_prob);
            r.rewards.push(-xs[i].abs());
            r.terminated.push(false);
            // the next row of the same env, or its final observation
            r.next.push(if t + 1 < STEPS {
                ((t + 1) * ENVS + i) as u32
            } else {
                (STEPS * ENVS + i) as u32
            });
            if t >= STEPS / 2 {
                late += xs[i].abs() / (ENVS * STEPS / 2) as f32;
            }
        }
        r.obs.n += obs.n;
        r.obs.camera.extend(obs.camera);
    }
    r.next_obs = obs_of(&xs);
    r.advantages = vec![0.0; r.log_probs.len()];
    r.returns = vec![0.0; r.log_probs.len()];
    (r, late)
}

#[test]
fn sac_drives_a_position_to_the_centre_from_frames() {
    let cfg = SacConfig {
        lr: 1e-3,
        discount_factor: 0.9,
        replay_ratio: 8,
        temperature: Temperature::Auto {
            initial: 0.1,
            target_entropy: -2.0,
        },
        buffer_size: 20_000,
        critic_hidden: 64,
        ..SacConfig::default()
    };
    let mut learner = Learner::new_sac(net(), cfg, space(), &Device::flex(), 2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let (_, before) = episode(&learner, &mut rng, true);
    let mut last = None;
    for round in 0..60 {
        let (rollout, late) = episode(&learner, &mut rng, false);
        let s = learner.update(&rollout, &mut rng).unwrap();
        assert_eq!(s.gradient_steps, (8 * ENVS * STEPS / 64) as u64);
        if round % 10 == 0 {
            eprintln!("round {round}: sampled late |x| {late:.3}, {s:?}");
        }
        last = Some(s);
    }
    let (_, after) = episode(&learner, &mut rng, true);
    let s = last.unwrap();
    eprintln!("greedy late |x|: {before:.3} -> {after:.3}; {s:?}");
    assert!(after < 0.1 && after < before, "{before} -> {after}");
    // the automatic temperature moved from its start
    let alpha = s.temperature.unwrap();
    assert!(
        alpha.is_finite() && (alpha - 0.1).abs() > 1e-3,
        "alpha {alpha}"
    );
}

fn space() -> ActionSpace {
    ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 1.5,
        },
    }
}

fn net() -> ActorCriticConfig {
    ActorCriticConfig::new(
        NetworkKind::FastCnn,
        Some([1, SIDE, SIDE]),
        None,
        HeadKind::SquashedGaussian(2),
    )
}

#[test]
fn a_sac_checkpoint_loads_for_evaluation_and_exports_to_onnx() {
    let mut learner =
        Learner::new_sac(net(), SacConfig::default(), space(), &Device::flex(), 4).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..3 {
        let (rollout, _) = episode(&learner, &mut rng, false);
        learner.update(&rollout, &mut rng).unwrap();
    }
    let dir = std::env::temp_dir().join(format!("chicane-sac-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    learner.save(&dir).unwrap();
    let probe = obs_of(&[-0.9, -0.3, 0.0, 0.4, 0.8]);
    let want = learner.policy_output(&probe).unwrap();
    assert_eq!(want.len(), 5 * 2);
    assert!(want.iter().all(|a| a.abs() < 1.0));
    // what `chicane evaluate` does: a burn learner of the run's network,
    // the weights only
    let mut eval = Learner::new(net(), PpoConfig::default(), space(), &Device::flex(), 0).unwrap();
    eval.load(&dir, false).unwrap();
    let got = eval.policy_output(&probe).unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "burn {g} vs native {w}");
    }
    let greedy = eval.act(&probe, &mut rng, true).unwrap();
    for (i, s) in greedy.iter().enumerate() {
        assert!((s.raw[0] - want[2 * i]).abs() < 1e-5, "greedy action {i}");
    }
    // a burn learner cannot train the SAC head as PPO
    let (rollout, _) = episode(&eval, &mut rng, false);
    let err = eval.update(&rollout, &mut rng).unwrap_err().to_string();
    assert!(err.contains("learns with SAC"), "{err}");
    // the ONNX graph gives tanh(mean), as the host does
    let onnx = export_onnx(&learner).unwrap();
    assert_eq!(onnx.output_len, 2);
    let got = common::run_onnx(&onnx.bytes, &[5, 1, SIDE, SIDE], &probe.camera);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "ONNX {g} vs host {w}");
    }
    // the critics, targets and optimizers come back as they were saved
    let mut back =
        Learner::new_sac(net(), SacConfig::default(), space(), &Device::flex(), 9).unwrap();
    back.load(&dir, true).unwrap();
    let again = dir.join("again");
    std::fs::create_dir_all(&again).unwrap();
    back.save(&again).unwrap();
    assert!(
        std::fs::read(dir.join("sac.native")).unwrap()
            == std::fs::read(again.join("sac.native")).unwrap(),
        "sac.native round trip"
    );
    // a checkpoint without SAC's state names what is missing
    std::fs::remove_file(dir.join("sac.native")).unwrap();
    let err = back.load(&dir, true).unwrap_err().to_string();
    assert!(
        err.contains("sac.native") && err.contains("not trained with SAC"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sac_refuses_observations_it_cannot_store_exactly() {
    let mut learner =
        Learner::new_sac(net(), SacConfig::default(), space(), &Device::flex(), 2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut rollout, _) = episode(&learner, &mut rng, false);
    rollout.obs.camera[3] = 0.123_456_7;
    let err = learner.update(&rollout, &mut rng).unwrap_err().to_string();
    assert!(err.contains("preprocessed"), "{err}");
}
