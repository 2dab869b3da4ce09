//! PPO's pieces against hand-computed values.

use chicane_agent::burn::tensor::{Device, Int, Tensor, TensorData};
use chicane_agent::{
    PolicyObjective, PpoConfig, ValueLoss, categorical_log_prob_entropy, clipped_gaussian_log_prob,
    gae, gaussian_log_prob_entropy, ppo_loss,
};

fn dev() -> Device {
    Device::flex()
}

fn t1(v: &[f32]) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &dev())
}

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 data")
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn gae_matches_hand_computation() {
    // one env, three steps, the last ends the episode
    let (g, l) = (0.9f32, 0.8f32);
    let r = [1.0, 0.0, 2.0];
    let v = [0.5, 0.4, 0.3];
    let d = [false, false, true];
    let (adv, ret) = gae(&r, &v, &d, &[10.0], g, l);
    let d2 = 2.0 - 0.3; // terminal: no bootstrap from 10.0
    let d1 = 0.0 + g * 0.3 - 0.4;
    let d0 = 1.0 + g * 0.4 - 0.5;
    let a2 = d2;
    let a1 = d1 + g * l * a2;
    let a0 = d0 + g * l * a1;
    assert!(
        close(adv[0], a0) && close(adv[1], a1) && close(adv[2], a2),
        "{adv:?}"
    );
    assert!(close(ret[0], a0 + 0.5));
}

#[test]
fn gae_bootstraps_unfinished_episodes_per_env() {
    // two envs interleaved step-major; env 1 ends at t=0
    let r = [1.0, 1.0, 1.0, 1.0];
    let v = [0.0, 0.0, 0.0, 0.0];
    let d = [false, true, false, false];
    let (adv, _) = gae(&r, &v, &d, &[2.0, 3.0], 0.5, 1.0);
    // env 0: t1 = 1 + 0.5*2 = 2; t0 = 1 + 0.5*0 - 0 + 0.5*2 = 2
    assert!(close(adv[2], 2.0) && close(adv[0], 2.0), "{adv:?}");
    // env 1: t1 = 1 + 0.5*3 = 2.5; t0 is terminal: 1
    assert!(close(adv[3], 2.5) && close(adv[1], 1.0), "{adv:?}");
}

#[test]
fn categorical_log_prob_and_entropy() {
    let logits = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, (2.0f32).ln(), 0.0, 0.0], [2, 2]),
        &dev(),
    );
    let actions = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &dev());
    let (lp, ent) = categorical_log_prob_entropy(logits, actions);
    let (lp, ent) = (vec1(lp), vec1(ent));
    // row 0: p = [1/3, 2/3]; row 1: p = [1/2, 1/2]
    assert!(close(lp[0], (2.0f32 / 3.0).ln()), "{lp:?}");
    assert!(close(lp[1], 0.5f32.ln()));
    let h0 = -(1.0f32 / 3.0 * (1.0f32 / 3.0).ln() + 2.0 / 3.0 * (2.0f32 / 3.0).ln());
    assert!(close(ent[0], h0) && close(ent[1], 2.0f32.ln()), "{ent:?}");
}

#[test]
fn gaussian_log_prob_and_entropy() {
    let mean = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0], [1, 2]), &dev());
    let log_std = t1(&[0.0, (0.5f32).ln()]);
    let act = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.5], [1, 2]), &dev());
    let (lp, ent) = gaussian_log_prob_entropy(mean, log_std, act);
    let c = 0.5 * (2.0 * std::f32::consts::PI).ln();
    // inside [-1, 1], the density: dim 0: z = 0.5, std 1; dim 1: z = -1, std 0.5
    let want = (-0.125 - c) + (-0.5 - 0.5f32.ln() - c);
    assert!(close(vec1(lp)[0], want));
    let h = (0.5 + c) + (0.5 + 0.5f32.ln() + c);
    assert!(close(vec1(ent)[0], h));
}

/// ln Phi(t) of the standard normal, from Python's `math.erfc`.
const LN_PHI_MINUS_1: f32 = -1.841_021_6;
const LN_PHI_MINUS_3: f32 = -6.607_726;

#[test]
fn clipped_actions_have_the_tail_mass() {
    // Fujita & Maeda 2018: past a bound, the probability of the bound
    // mean 0, std 1, beyond 1: P = Phi(-1)
    let (lp, _, _) = clipped_gaussian_log_prob(1.5, 0.0, 0.0);
    assert!(close(lp, LN_PHI_MINUS_1), "{lp}");
    // on the bound itself, the same mass
    assert!(close(
        clipped_gaussian_log_prob(1.0, 0.0, 0.0).0,
        LN_PHI_MINUS_1
    ));
    // mean 0.5, std 0.5, below -1: P = Phi((-1 - 0.5) / 0.5) = Phi(-3)
    let (lp, _, _) = clipped_gaussian_log_prob(-2.0, 0.5, 0.5f32.ln());
    assert!((lp - LN_PHI_MINUS_3).abs() < 1e-4, "{lp}");
    // mean on the bound: half the mass is past it
    assert!(close(
        clipped_gaussian_log_prob(3.0, 1.0, -1.0).0,
        0.5f32.ln()
    ));
    // inside, the density
    let c = 0.5 * (2.0 * std::f32::consts::PI).ln();
    assert!(close(
        clipped_gaussian_log_prob(0.5, 0.0, 0.0).0,
        -0.125 - c
    ));
    // far tails stay finite: t = -40, ln Phi(t) = -804.61 (A&S 26.2.12)
    let (lp, dm, dls) = clipped_gaussian_log_prob(-2.0, 0.0, (1.0f32 / 40.0).ln());
    assert!((lp + 804.61).abs() < 0.01, "{lp}");
    // lambda -> -t = 40: d/d mean = -lambda / sigma (a higher mean leaves
    // less mass below -1), d/d log_std = -t lambda
    assert!(
        (dm + 1600.0).abs() < 1.0 && (dls - 1600.0).abs() < 1.0,
        "{dm} {dls}"
    );
}

#[test]
fn clipped_gaussian_gradient_matches_finite_differences() {
    let h = 1e-3f64;
    // inside, both tails, near and past the bounds, wide and narrow
    for &(x, m, ls) in &[
        (0.3f32, -0.2f32, -0.5f32),
        (1.7, 0.4, -0.5),
        (-1.2, 0.9, -1.0),
        (1.0, 1.3, 0.2),
        (-5.0, -0.8, -2.0),
        (2.0, -0.5, -1.5),
    ] {
        let (_, dm, dls) = clipped_gaussian_log_prob(x, m, ls);
        let f = |m: f64, ls: f64| f64::from(clipped_gaussian_log_prob(x, m as f32, ls as f32).0);
        let (m64, ls64) = (f64::from(m), f64::from(ls));
        let fd_m = (f(m64 + h, ls64) - f(m64 - h, ls64)) / (2.0 * h);
        let fd_ls = (f(m64, ls64 + h) - f(m64, ls64 - h)) / (2.0 * h);
        let tol = |g: f64| 2e-3 * g.abs().max(1.0);
        assert!(
            (f64::from(dm) - fd_m).abs() < tol(fd_m),
            "d/d mean at {x} {m} {ls}: {dm} vs {fd_m}"
        );
        assert!(
            (f64::from(dls) - fd_ls).abs() < tol(fd_ls),
            "d/d log_std at {x} {m} {ls}: {dls} vs {fd_ls}"
        );
    }
}

#[test]
fn tensor_and_scalar_clipped_log_probs_agree() {
    // the burn learner's loss and the native trainer's, row by row
    let xs = [-3.0f32, -1.0, -0.4, 0.0, 0.9, 1.0, 2.5, 7.0];
    let ms = [0.2f32, -0.9, 0.1, 1.4, -0.3, 0.0, 0.95, -1.2];
    let ls = -0.7f32;
    let n = xs.len();
    let mean = Tensor::<2>::from_data(TensorData::new(ms.to_vec(), [n, 1]), &dev());
    let act = Tensor::<2>::from_data(TensorData::new(xs.to_vec(), [n, 1]), &dev());
    let (lp, _) = gaussian_log_prob_entropy(mean, t1(&[ls]), act);
    for (i, got) in vec1(lp).into_iter().enumerate() {
        let want = clipped_gaussian_log_prob(xs[i], ms[i], ls).0;
        assert!(
            (got - want).abs() < 1e-4 * want.abs().max(1.0),
            "row {i}: {got} vs {want}"
        );
    }
}

#[test]
fn clipped_surrogate_and_value_losses() {
    let cfg = PpoConfig {
        clip_range: 0.2,
        value_coef: 0.5,
        beta_entropy: 0.1,
        loss_type: ValueLoss::Mse,
        ..PpoConfig::default()
    };
    // ratios 1.5 (A=+1, clipped to 1.2) and 0.5 (A=-1, clipped: min(-0.5, -0.8) = -0.8)
    let lp = t1(&[1.5f32.ln(), 0.5f32.ln()]);
    let old = t1(&[0.0, 0.0]);
    let adv = t1(&[1.0, -1.0]);
    let values = t1(&[1.0, 0.0]);
    let returns = t1(&[3.0, 0.0]);
    let ent = t1(&[0.2, 0.4]);
    let loss = ppo_loss(lp, old, adv, values, returns, ent, &cfg);
    let policy = -(1.2 + -0.8) / 2.0;
    assert!(close(loss.policy, policy), "{loss:?}");
    assert!(close(loss.value, 2.0), "{loss:?}"); // mean(4, 0)
    assert!(close(loss.entropy, 0.3));
    assert!(close(loss.clip_fraction, 1.0));
    let total = loss.total.into_scalar::<f32>();
    assert!(close(total, policy + 0.5 * 2.0 - 0.1 * 0.3), "{total}");
    // k3 KL estimator: mean((r - 1) - ln r)
    let kl = ((0.5 - 1.5f32.ln()) + (-0.5 - 0.5f32.ln())) / 2.0;
    assert!(close(loss.approx_kl, kl));
}

/// The vanilla policy gradient's policy term is `-mean(log pi * A)`, with
/// no ratio and no clipping (its gradient is checked against the native
/// kernels' in `learner/native_tests.rs`).
#[test]
fn vanilla_pg_loss_by_hand() {
    let cfg = PpoConfig {
        objective: PolicyObjective::VanillaPg,
        value_coef: 0.5,
        beta_entropy: 0.1,
        loss_type: ValueLoss::Mse,
        ..PpoConfig::default()
    };
    // far from the old policy (ratios 1.5 and 0.5): PPO would clip both
    let loss_of = |cfg: &PpoConfig| {
        ppo_loss(
            t1(&[1.5f32.ln(), 0.5f32.ln()]),
            t1(&[0.0, 0.0]),
            t1(&[1.0, -2.0]),
            t1(&[1.0, 0.0]),
            t1(&[3.0, 0.0]),
            t1(&[0.2, 0.4]),
            cfg,
        )
    };
    let loss = loss_of(&cfg);
    let policy = -(1.5f32.ln() * 1.0 + 0.5f32.ln() * -2.0) / 2.0;
    assert!(close(loss.policy, policy), "{loss:?}");
    let total = loss.total.into_scalar::<f32>();
    assert!(close(total, policy + 0.5 * 2.0 - 0.1 * 0.3), "{total}");
    let clipped = loss_of(&PpoConfig::default());
    assert!(!close(clipped.policy, policy));
}

#[test]
fn huber_value_loss() {
    let cfg = PpoConfig {
        loss_type: ValueLoss::Huber,
        ..PpoConfig::default()
    };
    let z = t1(&[0.0, 0.0]);
    let loss = ppo_loss(
        z.clone(),
        z.clone(),
        z.clone(),
        t1(&[0.0, 0.0]),
        t1(&[0.5, 3.0]),
        z,
        &cfg,
    );
    // 0.5 * 0.25 and 3 - 0.5
    assert!(close(loss.value, (0.125 + 2.5) / 2.0), "{loss:?}");
}

#[test]
fn bad_hyperparameters_are_named() {
    let cfg = PpoConfig {
        clip_range: 1.5,
        ..PpoConfig::default()
    };
    let e = cfg.validate().expect_err("clip range 1.5").to_string();
    assert!(e.contains("clip_range"), "{e}");
    assert!(ValueLoss::try_from("cross entropy".to_string()).is_err());
    assert_eq!(
        ValueLoss::try_from("mean squared error".to_string()).ok(),
        Some(ValueLoss::Mse)
    );
}
