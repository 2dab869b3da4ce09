//! PPO must solve small problems quickly: a contextual bandit with a
//! discrete head and a target-reaching task with a Gaussian head.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    ActorCriticConfig, HostObs, Learner, NetworkKind, PpoConfig, Rollout, gae, head_for,
};
use chicane_core::{Action, ActionSpace, DiscreteAction, Range};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

/// burn's seed is global to the process: tests that initialise networks
/// take turns so that each one's weights depend on its own seed only.
static SEED_LOCK: Mutex<()> = Mutex::new(());

/// One-step episodes: the observation is a one-hot of the correct action
/// among 3; reward 1 for the right action, 0 otherwise.
fn bandit_round(learner: &Learner, rng: &mut ChaCha8Rng, n: usize, greedy: bool) -> (Rollout, f32) {
    let mut obs = HostObs {
        n,
        ..HostObs::default()
    };
    let mut targets = Vec::new();
    for _ in 0..n {
        let t = rng.random_range(0..3usize);
        let mut v = [0.0f32; 3];
        v[t] = 1.0;
        obs.vector.extend_from_slice(&v);
        targets.push(t);
    }
    let samples = learner.act(&obs, rng, greedy).unwrap();
    let rewards: Vec<f32> = samples
        .iter()
        .zip(&targets)
        .map(|(s, &t)| {
            if s.action == Action::Discrete(t) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let values: Vec<f32> = samples.iter().map(|s| s.value).collect();
    let (advantages, returns) = gae(&rewards, &values, &vec![true; n], &vec![0.0; n], 0.99, 0.95);
    let mean = rewards.iter().sum::<f32>() / n as f32;
    (
        Rollout {
            obs,
            raw_actions: samples.iter().flat_map(|s| s.raw.clone()).collect(),
            log_probs: samples.iter().map(|s| s.log_prob).collect(),
            advantages,
            returns,
            ..Rollout::default()
        },
        mean,
    )
}

fn discrete3() -> ActionSpace {
    ActionSpace::Discrete(
        [-30.0, 0.0, 30.0]
            .iter()
            .map(|&s| DiscreteAction {
                steering_angle_deg: s,
                speed: 1.0,
            })
            .collect(),
    )
}

#[test]
fn ppo_solves_a_contextual_bandit() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let space = discrete3();
    let net = ActorCriticConfig::new(NetworkKind::Mlp, None, Some(3), head_for(&space));
    let ppo = PpoConfig {
        lr: 2e-3,
        batch_size: 64,
        num_epochs: 4,
        ..PpoConfig::default()
    };
    let mut learner = Learner::new(net, ppo, space, &Device::flex(), 1).expect("learner");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (_, before) = bandit_round(&learner, &mut rng, 256, true);
    for _ in 0..40 {
        let (rollout, m) = bandit_round(&learner, &mut rng, 256, false);
        let s = learner.update(&rollout, &mut rng).expect("update");
        eprintln!("mean reward {m:.3}, {s:?}");
    }
    let (_, after) = bandit_round(&learner, &mut rng, 256, true);
    assert!(after > 0.95, "greedy accuracy {before} -> {after}");
}

#[test]
fn ppo_gaussian_head_reaches_a_target() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // continuous action: reward = -|steering - target| where the target
    // (in [-1, 1] policy units) is the observation
    let space = ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 1.5,
        },
    };
    let net = ActorCriticConfig::new(NetworkKind::Mlp, None, Some(1), head_for(&space));
    let ppo = PpoConfig {
        lr: 3e-3,
        num_epochs: 4,
        beta_entropy: 0.0,
        ..PpoConfig::default()
    };
    let mut learner = Learner::new(net, ppo, space, &Device::flex(), 3).expect("learner");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let round = |learner: &Learner, rng: &mut ChaCha8Rng, greedy: bool| {
        let n = 256;
        let targets: Vec<f32> = (0..n).map(|_| rng.random_range(-0.8f32..0.8)).collect();
        let obs = HostObs {
            n,
            camera: vec![],
            vector: targets.clone(),
        };
        let samples = learner.act(&obs, rng, greedy).unwrap();
        let rewards: Vec<f32> = samples
            .iter()
            .zip(&targets)
            .map(|(s, t)| match s.action {
                Action::Continuous {
                    steering_angle_deg, ..
                } => -((steering_angle_deg / 30.0) as f32 - t).abs(),
                Action::Discrete(_) => f32::NAN,
            })
            .collect();
        let values: Vec<f32> = samples.iter().map(|s| s.value).collect();
        let (advantages, returns) =
            gae(&rewards, &values, &vec![true; n], &vec![0.0; n], 0.99, 0.95);
        let err = -rewards.iter().sum::<f32>() / n as f32;
        (
            Rollout {
                obs,
                raw_actions: samples.iter().flat_map(|s| s.raw.clone()).collect(),
                log_probs: samples.iter().map(|s| s.log_prob).collect(),
                advantages,
                returns,
                ..Rollout::default()
            },
            err,
        )
    };
    let (_, before) = round(&learner, &mut rng, true);
    for _ in 0..40 {
        let (rollout, _) = round(&learner, &mut rng, false);
        learner.update(&rollout, &mut rng).expect("update");
    }
    let (_, after) = round(&learner, &mut rng, true);
    assert!(
        after < 0.15 && after < before,
        "mean |error| {before} -> {after}"
    );
}

#[test]
fn non_finite_loss_stops_the_update_and_keeps_the_weights() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let space = discrete3();
    let net = ActorCriticConfig::new(NetworkKind::Mlp, None, Some(3), head_for(&space));
    let mut learner =
        Learner::new(net, PpoConfig::default(), space, &Device::flex(), 5).expect("learner");
    let obs = HostObs {
        n: 2,
        camera: vec![],
        vector: vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    };
    let before = learner.values(&obs).unwrap();
    let rollout = Rollout {
        obs: obs.clone(),
        raw_actions: vec![0.0, 1.0],
        log_probs: vec![-1.0, -1.0],
        advantages: vec![f32::NAN, 1.0],
        returns: vec![f32::INFINITY, 0.0],
        ..Rollout::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let err = learner
        .update(&rollout, &mut rng)
        .expect_err("NaN must stop the update");
    assert!(err.to_string().contains("not finite"), "{err}");
    assert_eq!(learner.values(&obs).unwrap(), before);
}
