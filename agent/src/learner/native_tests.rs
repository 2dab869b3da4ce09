//! The native path against burn: forward outputs and every gradient of the
//! clipped-PPO loss, to 1e-5 (relative to the largest value), on each
//! covered architecture and both heads.

use super::native::{NativeState, to_flat};
use crate::native::Layout;
use crate::net::{ActorCritic, ActorCriticConfig, HeadKind, NetworkKind, ObsBatch};
use crate::ppo::{
    PolicyObjective, PpoConfig, categorical_log_prob_entropy, gaussian_log_prob_entropy, ppo_loss,
};
use burn::module::Param;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use chicane_config::ValueLoss;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * scale,
            "{what}[{i}]: native {x} vs burn {y} (scale {scale})"
        );
    }
}

/// Every parameter's gradient in the native layout's order.
fn burn_grads(model: &ActorCritic, layout: &Layout, grads: &GradientsParams) -> Vec<f32> {
    let mut flat = vec![0.0f32; layout.len];
    let mut put = |slot: crate::native::Slot, g: Option<Vec<f32>>| {
        let g = g.expect("a gradient for every parameter");
        flat[slot.offset..slot.offset + slot.len].copy_from_slice(&g);
    };
    fn g<const D: usize>(p: &Param<Tensor<D>>, grads: &GradientsParams) -> Option<Vec<f32>> {
        grads
            .get::<D>(p.id)
            .map(|t| t.into_data().try_to_vec::<f32>().expect("f32"))
    }
    for (conv, &(w, b)) in model.convs.iter().zip(&layout.conv_slots) {
        put(w, g(&conv.weight, grads));
        put(b, g(conv.bias.as_ref().expect("bias"), grads));
    }
    let dense = model
        .camera_dense
        .iter()
        .chain(std::iter::once(&model.middleware));
    for (d, &(w, b)) in dense.zip(&layout.dense_slots) {
        put(w, g(&d.weight, grads));
        put(b, g(d.bias.as_ref().expect("bias"), grads));
    }
    put(layout.policy.0, g(&model.policy.weight, grads));
    put(
        layout.policy.1,
        g(model.policy.bias.as_ref().expect("bias"), grads),
    );
    put(layout.value.0, g(&model.value.weight, grads));
    put(
        layout.value.1,
        g(model.value.bias.as_ref().expect("bias"), grads),
    );
    if let (Some(slot), Some(ls)) = (layout.log_std, &model.log_std) {
        put(slot, g(ls, grads));
    }
    flat
}

fn check(network: NetworkKind, camera: [usize; 3], head: HeadKind, loss_type: ValueLoss) {
    check_objective(
        network,
        camera,
        head,
        loss_type,
        PolicyObjective::ClippedSurrogate,
    );
}

fn check_objective(
    network: NetworkKind,
    camera: [usize; 3],
    head: HeadKind,
    loss_type: ValueLoss,
    objective: PolicyObjective,
) {
    let what = format!("{network} {camera:?} {head:?} {loss_type:?} {objective:?}");
    let device = Device::flex();
    device.seed(7);
    let device = device.autodiff();
    let mut cfg = ActorCriticConfig::new(network, Some(camera), None, head);
    cfg.middleware = 64;
    let model = cfg.init(&device).expect("model");
    let mut nat = NativeState::of(&cfg, &model)
        .expect("flat")
        .expect("covered");
    let layout = nat.layout.clone();
    let b = 6;
    let [c, h, w] = camera;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x: Vec<f32> = (0..b * c * h * w).map(|_| rng.random::<f32>()).collect();
    let a = head.outputs();
    let obs = ObsBatch {
        camera: Some(Tensor::from_data(
            TensorData::new(x.clone(), [b, c, h, w]),
            &device,
        )),
        vector: None,
    };
    let (policy, values) = model.forward(&obs);
    let (np, nv) = nat.forward(&x, b);
    let bp = policy.clone().into_data().try_to_vec::<f32>().expect("f32");
    let bv = values.clone().into_data().try_to_vec::<f32>().expect("f32");
    close(&format!("{what} policy"), &np, &bp);
    close(&format!("{what} value"), &nv, &bv);

    // a minibatch whose ratios fall both inside and outside the clip range
    let raw: Vec<f32> = match head {
        HeadKind::Categorical(_) => (0..b).map(|i| (i % a) as f32).collect(),
        HeadKind::Gaussian(_) => (0..b * a)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect(),
        HeadKind::SquashedGaussian(_) => panic!("PPO's parity covers PPO's heads"),
    };
    let (log_prob, entropy) = match head {
        HeadKind::Categorical(_) => {
            let act: Vec<i64> = raw.iter().map(|&r| r as i64).collect();
            let act = Tensor::<1, Int>::from_data(TensorData::new(act, [b]), &device);
            categorical_log_prob_entropy(policy, act)
        }
        HeadKind::Gaussian(_) => {
            let act = Tensor::<2>::from_data(TensorData::new(raw.clone(), [b, a]), &device);
            gaussian_log_prob_entropy(policy, model.log_std().expect("log std"), act)
        }
        HeadKind::SquashedGaussian(_) => panic!("PPO's parity covers PPO's heads"),
    };
    let lp = log_prob
        .clone()
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    let shifts = [0.0, 0.5, -0.5, 0.05, -0.05, 1.0];
    let old_lp: Vec<f32> = lp
        .iter()
        .zip(shifts.iter().cycle())
        .map(|(l, s)| l - s)
        .collect();
    let adv: Vec<f32> = (0..b)
        .map(|i| if i % 2 == 0 { 1.3 } else { -0.7 })
        .collect();
    let ret: Vec<f32> = bv
        .iter()
        .zip([0.3, -2.0, 0.9, 3.0, -0.1, 0.0])
        .map(|(v, d)| v + d)
        .collect();
    let ppo = PpoConfig {
        loss_type,
        objective,
        // no clipping: the gradients themselves are compared
        max_grad_norm: 1e9,
        ..PpoConfig::default()
    };
    let t = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [b]), &device);
    let loss = ppo_loss(
        log_prob,
        t(&old_lp),
        t(&adv),
        values,
        t(&ret),
        entropy,
        &ppo,
    );
    let grads = loss.total.backward();
    let grads = GradientsParams::from_grads(grads, &model);
    let want = burn_grads(&model, &layout, &grads);
    let (stats, _) = nat.step(&ppo, &x, &raw, &old_lp, &adv, &ret).expect("step");
    close(&format!("{what} gradients"), nat.grads(), &want);
    close(
        &format!("{what} losses"),
        &[
            stats.policy_loss,
            stats.value_loss,
            stats.entropy,
            stats.approx_kl,
            stats.clip_fraction,
        ],
        &[
            loss.policy,
            loss.value,
            loss.entropy,
            loss.approx_kl,
            loss.clip_fraction,
        ],
    );
    let norm = want.iter().map(|g| g * g).sum::<f32>().sqrt();
    close(
        &format!("{what} gradient norm"),
        &[stats.grad_norm],
        &[norm],
    );
    assert_ne!(
        to_flat(&model, &layout).expect("flat"),
        nat.params,
        "{what}: Adam stepped"
    );
}

#[test]
fn fast_cnn_matches_burn() {
    check(
        NetworkKind::FastCnn,
        [1, 24, 32],
        HeadKind::Categorical(5),
        ValueLoss::Huber,
    );
    check(
        NetworkKind::FastCnn,
        [2, 24, 32],
        HeadKind::Gaussian(2),
        ValueLoss::Mse,
    );
}

#[test]
fn vanilla_pg_matches_burn() {
    check_objective(
        NetworkKind::FastCnn,
        [1, 24, 32],
        HeadKind::Categorical(5),
        ValueLoss::Huber,
        PolicyObjective::VanillaPg,
    );
    check_objective(
        NetworkKind::FastCnn,
        [1, 24, 32],
        HeadKind::Gaussian(2),
        ValueLoss::Mse,
        PolicyObjective::VanillaPg,
    );
}

#[test]
fn deepracer_networks_match_burn() {
    check(
        NetworkKind::DeepRacerShallow,
        [1, 40, 48],
        HeadKind::Categorical(3),
        ValueLoss::Huber,
    );
    check(
        NetworkKind::DeepRacerStandard,
        [3, 24, 28],
        HeadKind::Categorical(4),
        ValueLoss::Mse,
    );
    check(
        NetworkKind::DeepRacerDeep,
        [1, 84, 84],
        HeadKind::Gaussian(2),
        ValueLoss::Huber,
    );
}

#[test]
fn lidar_and_mlp_are_not_covered() {
    let head = HeadKind::Categorical(3);
    assert!(
        Layout::of(&ActorCriticConfig::new(
            NetworkKind::Mlp,
            Some([1, 8, 8]),
            None,
            head
        ))
        .is_none()
    );
    assert!(
        Layout::of(&ActorCriticConfig::new(
            NetworkKind::FastCnn,
            Some([1, 24, 32]),
            Some(8),
            head
        ))
        .is_none()
    );
}
