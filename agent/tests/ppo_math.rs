//! PPO's pieces against hand-computed values.

use chicane_agent::burn::tensor::{Device, Int, Tensor, TensorData};
use chicane_agent::{
    PolicyObjective, PpoConfig, ValueLoss, categorical_log_prob_entropy, gae,
    gaussian_log_prob_entropy, ppo_loss,
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
    let act = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.5], [1, 2]), &dev());
    let (lp, ent) = gaussian_log_prob_entropy(mean, log_std, act);
    let c = 0.5 * (2.0 * std::f32::consts::PI).ln();
    // dim 0: z = 1, std 1; dim 1: z = 1, std 0.5
    let want = (-0.5 - c) + (-0.5 - 0.5f32.ln() - c);
    assert!(close(vec1(lp)[0], want));
    let h = (0.5 + c) + (0.5 + 0.5f32.ln() + c);
    assert!(close(vec1(ent)[0], h));
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
