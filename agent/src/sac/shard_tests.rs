//! SAC's native gradients against central finite differences of its
//! losses: the critics' loss by the critics' and the encoder's parameters,
//! the actor's loss by the policy head, the value head's loss by the value
//! head (each along random directions, so that every parameter counts).

use super::*;
use crate::net::{ActorCriticConfig, HeadKind, NetworkKind};
use crate::ppo::ValueLoss;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CAM: [usize; 3] = [1, 14, 14];

struct Fixture {
    layout: Layout,
    critic: Critic,
    p: Vec<f32>,
    q: Vec<f32>,
    batch: Batch,
    noise_next: Vec<f32>,
    noise_pi: Vec<f32>,
}

fn fixture(seed: u64) -> Fixture {
    let cfg = ActorCriticConfig::new(
        NetworkKind::FastCnn,
        Some(CAM),
        None,
        HeadKind::SquashedGaussian(2),
    );
    let layout = Layout::of(&cfg).expect("FAST_CNN is native");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let p: Vec<f32> = (0..layout.len)
        .map(|_| rng.random_range(-0.2f32..0.2))
        .collect();
    let critic = Critic {
        features: layout.features(),
        actions: 2,
        hidden: 16,
    };
    let q = critic.init(&mut rng);
    let n = 6;
    let len = CAM.iter().product::<usize>();
    let frame = |rng: &mut ChaCha8Rng| -> Vec<f32> {
        (0..len)
            .map(|_| f32::from(rng.random::<u8>()) / 255.0)
            .collect()
    };
    let mut batch = Batch::default();
    for _ in 0..n {
        batch.obs.n += 1;
        batch.obs.camera.extend(frame(&mut rng));
        batch.next_obs.n += 1;
        batch.next_obs.camera.extend(frame(&mut rng));
        batch.actions.extend([
            rng.random_range(-0.9f32..0.9),
            rng.random_range(-0.9f32..0.9),
        ]);
        batch.rewards.push(rng.random_range(-1.0f32..1.0));
        // terminal: the target is the reward, which no parameter moves
        batch.terminated.push(true);
    }
    let mut normal =
        || -> Vec<f32> { (0..n * 2).map(|_| rng.random_range(-1.5f32..1.5)).collect() };
    let (noise_next, noise_pi) = (normal(), normal());
    Fixture {
        layout,
        critic,
        p,
        q,
        batch,
        noise_next,
        noise_pi,
    }
}

fn cfg() -> SacConfig {
    SacConfig {
        loss_type: ValueLoss::Mse,
        ..SacConfig::default()
    }
}

impl Fixture {
    fn step(&self) -> Step<'_> {
        Step {
            batch: &self.batch,
            noise_next: &self.noise_next,
            noise_pi: &self.noise_pi,
            alpha: 0.3,
            total: self.batch.obs.n,
        }
    }

    /// Both passes over the whole batch in one shard.
    fn run(&self, p: &[f32], q: &[f32]) -> (Shard, ShardOut, ShardOut) {
        let mut shard = Shard::default();
        let n = self.batch.obs.n;
        let c = shard.critic_pass(
            &self.layout,
            &self.critic,
            &cfg(),
            p,
            q,
            q,
            p,
            &self.step(),
            0,
            n,
        );
        let a = shard.actor_pass(&self.layout, &self.critic, q, &self.step(), 0, n);
        (shard, c, a)
    }
}

/// `(f(x + e d) - f(x - e d)) / 2e` against `g . d` over `range` of the
/// parameters, for unit directions `d` half along the gradient and half
/// random (so that the derivative stands well above f32's rounding and
/// every parameter still counts).
fn check(
    what: &str,
    grad: &[f32],
    x: &[f32],
    range: std::ops::Range<usize>,
    f: impl Fn(&[f32]) -> f32,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for trial in 0..3 {
        let r: Vec<f32> = range
            .clone()
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let unit = |v: &[f32]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let (g_hat, r_hat) = (unit(&grad[range.clone()]), unit(&r));
        let d = unit(
            &g_hat
                .iter()
                .zip(&r_hat)
                .map(|(g, r)| g + r)
                .collect::<Vec<f32>>(),
        );
        let eps = 1e-3f32;
        let moved = |sign: f32| {
            let mut y = x.to_vec();
            for (v, dv) in y[range.clone()].iter_mut().zip(&d) {
                *v += sign * eps * dv;
            }
            f(&y)
        };
        let numeric = (moved(1.0) - moved(-1.0)) / (2.0 * eps);
        let analytic: f32 = grad[range.clone()].iter().zip(&d).map(|(g, d)| g * d).sum();
        assert!(
            (numeric - analytic).abs() <= 2e-2 * (analytic.abs() + 1e-2),
            "{what}, trial {trial}: finite differences {numeric} vs {analytic}"
        );
    }
}

#[test]
fn critic_gradients_match_finite_differences() {
    let fx = fixture(3);
    let (shard, c, _) = fx.run(&fx.p, &fx.q);
    assert!(c.critic_loss > 0.0);
    let enc = fx.layout.encoder_len();
    check(
        "critics' parameters",
        &shard.g_q,
        &fx.q,
        0..fx.q.len(),
        |q| fx.run(&fx.p, q).1.critic_loss,
    );
    check("encoder", &shard.g_net, &fx.p, 0..enc, |p| {
        fx.run(p, &fx.q).1.critic_loss
    });
}

#[test]
fn actor_and_value_head_gradients_match_finite_differences() {
    let fx = fixture(4);
    let (shard, _, a) = fx.run(&fx.p, &fx.q);
    assert!(a.actor_loss.is_finite() && a.value_loss > 0.0);
    let (pw, pb) = fx.layout.policy;
    let (vw, vb) = fx.layout.value;
    // the actor's loss by the policy head (its samples move with it)
    check(
        "policy head",
        &shard.g_net,
        &fx.p,
        pw.offset..pb.offset + pb.len,
        |p| fx.run(p, &fx.q).2.actor_loss,
    );
    // the value head's regression (its target held: it is detached)
    check(
        "value head",
        &shard.g_net,
        &fx.p,
        vw.offset..vb.offset + vb.len,
        |p| fx.run(p, &fx.q).2.value_loss,
    );
}

#[test]
fn targets_bootstrap_through_the_target_critics_when_not_terminal() {
    // with every transition terminal, the target critics cannot matter;
    // without, they must
    let mut fx = fixture(5);
    let n = fx.batch.obs.n;
    let run_with = |fx: &Fixture, q_target: &[f32]| {
        let mut shard = Shard::default();
        shard
            .critic_pass(
                &fx.layout,
                &fx.critic,
                &cfg(),
                &fx.p,
                &fx.q,
                q_target,
                &fx.p,
                &fx.step(),
                0,
                n,
            )
            .critic_loss
    };
    let other: Vec<f32> = fx.q.iter().map(|v| v + 0.5).collect();
    assert_eq!(run_with(&fx, &fx.q), run_with(&fx, &other));
    fx.batch.terminated = vec![false; n];
    assert_ne!(run_with(&fx, &fx.q), run_with(&fx, &other));
}
