//! The native CPU path (`--device cpu`) learns as burn does: the same
//! seed gives the same network and the same actions to 1e-5 and, after
//! PPO updates, the same outputs to 2e-3; its checkpoints round-trip, and resuming a
//! checkpoint on the other path says which device to use.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    ActorCriticConfig, HostObs, Learner, NetworkKind, PpoConfig, Rollout, head_for,
};
use chicane_core::{ActionSpace, Range};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

/// burn's seed is global to the process: tests that initialise networks
/// take turns.
static SEED_LOCK: Mutex<()> = Mutex::new(());

const CAMERA: [usize; 3] = [1, 24, 32];

/// Outputs and losses after PPO updates (15 Adam steps each) agree to
/// this, absolutely below 1 and relatively above: each step's gradients
/// agree to 1e-5 (`learner::native_tests`), but Adam moves a parameter by
/// about `lr` (3e-4) whatever its gradient's size, so rounding that flips
/// a near-zero gradient's sign moves it by that much.
const AFTER_UPDATES: f32 = 2e-3;

fn learner(space: &ActionSpace, native: bool) -> Learner {
    let net = ActorCriticConfig::new(NetworkKind::FastCnn, Some(CAMERA), None, head_for(space));
    let mut l = Learner::new(net, PpoConfig::default(), space.clone(), &Device::flex(), 3).unwrap();
    assert!(l.use_native().unwrap(), "FAST_CNN on a camera is covered");
    if !native {
        // a fresh burn learner with the same weights
        let mut burn = Learner::new(
            l.network().clone(),
            PpoConfig::default(),
            space.clone(),
            &Device::flex(),
            3,
        )
        .unwrap();
        burn.set_weights(&l.weights().unwrap()).unwrap();
        l = burn;
    }
    assert_eq!(l.is_native(), native);
    l
}

fn obs(n: usize, rng: &mut ChaCha8Rng) -> HostObs {
    let [c, h, w] = CAMERA;
    HostObs {
        n,
        camera: (0..n * c * h * w).map(|_| rng.random::<f32>()).collect(),
        vector: Vec::new(),
    }
}

fn close(what: &str, a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    // relative to the largest value, or absolute below 1 after updates
    let floor: f32 = if tol == AFTER_UPDATES { 1.0 } else { 1e-3 };
    let scale = b.iter().fold(floor, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: native {x} vs burn {y}"
        );
    }
}

/// A rollout of `n` samples acted by `l`.
fn rollout(l: &Learner, n: usize, rng: &mut ChaCha8Rng) -> Rollout {
    let o = obs(n, rng);
    let samples = l.act(&o, rng, false).unwrap();
    Rollout {
        raw_actions: samples.iter().flat_map(|s| s.raw.clone()).collect(),
        log_probs: samples.iter().map(|s| s.log_prob).collect(),
        advantages: (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect(),
        returns: samples
            .iter()
            .map(|s| s.value + rng.random::<f32>())
            .collect(),
        obs: o,
        ..Rollout::default()
    }
}

fn parity(space: ActionSpace) {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut native = learner(&space, true);
    let mut burn = learner(&space, false);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let probe = obs(4, &mut rng);
    close(
        "policy",
        &native.policy_output(&probe).unwrap(),
        &burn.policy_output(&probe).unwrap(),
        1e-5,
    );
    close(
        "value",
        &native.values(&probe).unwrap(),
        &burn.values(&probe).unwrap(),
        1e-5,
    );
    // the same sampled actions from the same random stream
    let (mut r1, mut r2) = (rng.clone(), rng.clone());
    let a1 = native.act(&probe, &mut r1, false).unwrap();
    let a2 = burn.act(&probe, &mut r2, false).unwrap();
    for (x, y) in a1.iter().zip(&a2) {
        assert_eq!(x.raw.len(), y.raw.len());
        close("raw action", &x.raw, &y.raw, 1e-5);
        close("log prob", &[x.log_prob], &[y.log_prob], 1e-5);
    }
    for round in 0..2 {
        let data = rollout(&burn, 150, &mut rng);
        if matches!(space, ActionSpace::Continuous { .. }) {
            // samples past the bounds, whose log-probability is the tail's
            // mass (clipped_gaussian_log_prob), are in the comparison
            let past = data.raw_actions.iter().filter(|a| a.abs() > 1.0).count();
            assert!(past > 0, "no sample past the bounds in round {round}");
        }
        let (mut u1, mut u2) = (rng.clone(), rng.clone());
        let s1 = native.update(&data, &mut u1).unwrap();
        let s2 = burn.update(&data, &mut u2).unwrap();
        assert_eq!(s1.gradient_steps, s2.gradient_steps);
        close(
            &format!("round {round} stats"),
            &[s1.policy_loss, s1.value_loss, s1.entropy, s1.grad_norm],
            &[s2.policy_loss, s2.value_loss, s2.entropy, s2.grad_norm],
            AFTER_UPDATES,
        );
        close(
            &format!("round {round} policy after the update"),
            &native.policy_output(&probe).unwrap(),
            &burn.policy_output(&probe).unwrap(),
            AFTER_UPDATES,
        );
        close(
            &format!("round {round} value after the update"),
            &native.values(&probe).unwrap(),
            &burn.values(&probe).unwrap(),
            AFTER_UPDATES,
        );
    }
}

#[test]
fn discrete_updates_match_burn() {
    parity(ActionSpace::default());
}

#[test]
fn continuous_updates_match_burn() {
    parity(ActionSpace::Continuous {
        steering_angle_deg: Range {
            low: -30.0,
            high: 30.0,
        },
        speed: Range {
            low: 0.5,
            high: 2.0,
        },
    });
}

#[test]
fn native_checkpoints_round_trip_and_name_the_device() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let space = ActionSpace::default();
    let dir = std::env::temp_dir().join(format!("chicane-native-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut a = learner(&space, true);
    let data = rollout(&a, 64, &mut rng);
    a.update(&data, &mut rng.clone()).unwrap();
    a.save(&dir).unwrap();
    assert!(dir.join("optimizer.native").is_file() && !dir.join("optimizer.bpk").exists());
    let probe = obs(3, &mut rng);
    let saved = a.policy_output(&probe).unwrap();

    // resumed, it continues exactly as the original
    let mut b = learner(&space, true);
    b.load(&dir, true).unwrap();
    let (mut r1, mut r2) = (rng.clone(), rng.clone());
    a.update(&data, &mut r1).unwrap();
    b.update(&data, &mut r2).unwrap();
    assert_eq!(
        a.policy_output(&probe).unwrap(),
        b.policy_output(&probe).unwrap()
    );

    // burn cannot resume it, and says which device can
    let mut c = learner(&space, false);
    let err = c.load(&dir, true).unwrap_err().to_string();
    assert!(
        err.contains("optimizer.bpk") && err.contains("--device cpu"),
        "{err}"
    );
    // its weights alone load anywhere
    c.load(&dir, false).unwrap();
    close("weights", &c.policy_output(&probe).unwrap(), &saved, 1e-5);

    // and the other way round
    let burn_dir = dir.join("burn");
    std::fs::create_dir_all(&burn_dir).unwrap();
    c.save(&burn_dir).unwrap();
    let mut d = learner(&space, true);
    let err = d.load(&burn_dir, true).unwrap_err().to_string();
    assert!(
        err.contains("optimizer.native") && err.contains("--device flex"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
