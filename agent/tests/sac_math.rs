//! SAC's formulas against hand-computed values, finite differences and
//! numerical integration.

use chicane_agent::{
    LOG_STD_MAX, LOG_STD_MIN, ValueLoss, actor_loss, clamp_log_std, critic_loss,
    log_one_minus_tanh_sq, soft_q_target, soft_update, squashed_gaussian_log_prob,
    squashed_gaussian_sample, temperature_loss,
};

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn log_one_minus_tanh_sq_is_the_direct_formula_and_stays_finite() {
    for u in [-3.0f32, -0.7, 0.0, 0.2, 1.5, 4.0] {
        let direct = (1.0 - u.tanh().powi(2)).ln();
        assert!(close(log_one_minus_tanh_sq(u), direct, 1e-5), "u = {u}");
    }
    // where 1 - tanh^2 underflows to 0 in f32, the stable form is the
    // asymptote 2 ln 2 - 2|u|
    let u = 50.0f32;
    assert!(close(
        log_one_minus_tanh_sq(u),
        2.0 * 2f32.ln() - 100.0,
        1e-6
    ));
    assert!(log_one_minus_tanh_sq(-u).is_finite());
}

#[test]
fn squashed_sample_matches_hand_values() {
    // mean 0.3, log std ln 0.5, noise 1.2: u = 0.3 + 0.5 * 1.2 = 0.9
    let s = squashed_gaussian_sample(0.3, 0.5f32.ln(), 1.2);
    let u = 0.9f32;
    assert!(close(s.action, u.tanh(), 1e-6), "{s:?}");
    let lp = -0.5 * 1.44
        - 0.5f32.ln()
        - 0.5 * (2.0 * std::f32::consts::PI).ln()
        - (1.0 - u.tanh().powi(2)).ln();
    assert!(close(s.log_prob, lp, 1e-5), "{} vs {lp}", s.log_prob);
    // and the density version at the same point agrees
    assert!(close(
        squashed_gaussian_log_prob(u, 0.3, 0.5f32.ln()),
        lp,
        1e-5
    ));
}

#[test]
fn squashed_sample_derivatives_match_finite_differences() {
    let eps = 1e-3f32;
    for &(m, ls, z) in &[
        (0.3f32, -0.7f32, 1.2f32),
        (-1.1, 0.4, -0.5),
        (2.0, -2.0, 0.3),
    ] {
        let s = squashed_gaussian_sample(m, ls, z);
        let f = |m: f32, ls: f32| squashed_gaussian_sample(m, ls, z);
        let (mp, mm) = (f(m + eps, ls), f(m - eps, ls));
        let (lp, lm) = (f(m, ls + eps), f(m, ls - eps));
        let d = |a: f32, b: f32| (a - b) / (2.0 * eps);
        assert!(
            close(s.d_log_prob_d_mean, d(mp.log_prob, mm.log_prob), 2e-3),
            "{s:?}"
        );
        assert!(
            close(s.d_log_prob_d_log_std, d(lp.log_prob, lm.log_prob), 2e-3),
            "{s:?}"
        );
        assert!(
            close(s.d_action_d_mean, d(mp.action, mm.action), 2e-3),
            "{s:?}"
        );
        assert!(
            close(s.d_action_d_log_std, d(lp.action, lm.action), 2e-3),
            "{s:?}"
        );
    }
}

#[test]
fn the_clamp_holds_the_log_std_and_stops_its_gradient() {
    assert_eq!(clamp_log_std(5.0), LOG_STD_MAX);
    assert_eq!(clamp_log_std(-30.0), LOG_STD_MIN);
    let s = squashed_gaussian_sample(0.1, 5.0, 0.7);
    let at_cap = squashed_gaussian_sample(0.1, LOG_STD_MAX, 0.7);
    assert_eq!(s.action, at_cap.action);
    assert_eq!(s.log_prob, at_cap.log_prob);
    assert_eq!(s.d_log_prob_d_log_std, 0.0);
    assert_eq!(s.d_action_d_log_std, 0.0);
}

#[test]
fn the_squashed_density_integrates_to_one_over_the_action_range() {
    // p(a) = exp(log_prob(atanh(a))) over a in (-1, 1), midpoint rule
    for &(m, ls) in &[(0.0f32, 0.0f32), (1.5, -0.5), (-0.4, 0.8)] {
        let n = 200_000;
        let mut total = 0.0f64;
        for k in 0..n {
            let a = -1.0 + (k as f64 + 0.5) * 2.0 / n as f64;
            let u = a.atanh() as f32;
            total += f64::from(squashed_gaussian_log_prob(u, m, ls).exp()) * 2.0 / n as f64;
        }
        assert!((total - 1.0).abs() < 2e-3, "mean {m} log std {ls}: {total}");
    }
}

#[test]
fn soft_q_target_matches_hand_values() {
    // r + gamma (min(q1, q2) - alpha ln pi)
    let y = soft_q_target(1.0, false, 0.9, 5.0, 4.0, 0.2, -1.5);
    assert!(close(y, 1.0 + 0.9 * (4.0 + 0.3), 1e-6), "{y}");
    // a terminal transition bootstraps nothing
    assert_eq!(soft_q_target(1.0, true, 0.9, 5.0, 4.0, 0.2, -1.5), 1.0);
}

#[test]
fn critic_losses_match_hand_values() {
    assert_eq!(critic_loss(3.0, 1.0, ValueLoss::Mse), (2.0, 2.0));
    assert_eq!(critic_loss(1.5, 1.0, ValueLoss::Huber), (0.125, 0.5));
    assert_eq!(critic_loss(-2.0, 1.0, ValueLoss::Huber), (2.5, -1.0));
}

#[test]
fn actor_and_temperature_losses_match_hand_values() {
    assert!(close(actor_loss(0.1, -2.0, 3.0, 2.5), -0.2 - 2.5, 1e-6));
    // -ln(alpha) * mean(ln pi + target): ln pi = [-1, -3], target -2
    let (l, d) = temperature_loss(0.5f32.ln(), &[-1.0, -3.0], -2.0);
    let mean = ((-1.0 - 2.0) + (-3.0 - 2.0)) / 2.0f32;
    assert!(close(l, -(0.5f32.ln()) * mean, 1e-6), "{l}");
    assert!(close(d, -mean, 1e-6), "{d}");
    // the entropy (2 nats) is above the target: a gradient step lowers alpha
    assert!(d > 0.0);
    // an entropy below the target (ln pi = 3: -3 nats) raises it
    let (_, d) = temperature_loss(0.0, &[3.0], -2.0);
    assert!(close(d, -1.0, 1e-6), "{d}");
}

#[test]
fn soft_update_moves_targets_by_tau() {
    let mut t = vec![1.0f32, -2.0, 0.0];
    soft_update(&mut t, &[3.0, 2.0, 0.5], 0.25);
    assert_eq!(t, vec![1.5, -1.0, 0.125]);
    // tau 1 copies
    soft_update(&mut t, &[3.0, 2.0, 0.5], 1.0);
    assert_eq!(t, vec![3.0, 2.0, 0.5]);
}
