//! Distributed training's pieces: weights sent to a worker act like the
//! learner's, and a `TrainingRun` fed by several `RolloutWorker`s numbers
//! every episode once, in order, and counts every step.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    ActorCriticConfig, HostObs, Learner, NetworkKind, NoObserver, PpoConfig, RolloutBatch,
    RolloutLength, RolloutWorker, RunRequest, TrainingRun, head_for,
};
use chicane_core::ActionSpace;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::sync::Mutex;

/// burn's seed is global to the process: tests that initialise networks
/// take turns.
static SEED_LOCK: Mutex<()> = Mutex::new(());

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("chicane-workers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn learner(seed: u64, inputs: usize) -> Learner {
    let space = ActionSpace::default();
    let net = ActorCriticConfig::new(NetworkKind::Mlp, None, Some(inputs), head_for(&space));
    Learner::new(net, PpoConfig::default(), space, &Device::flex(), seed).unwrap()
}

#[test]
fn weights_sent_to_a_worker_act_like_the_learner() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let a = learner(1, 8);
    let mut b = learner(2, 8);
    let obs = HostObs {
        n: 3,
        camera: Vec::new(),
        vector: (0..24).map(|i| (i as f32 * 0.37).sin()).collect(),
    };
    assert_ne!(
        a.policy_output(&obs).unwrap(),
        b.policy_output(&obs).unwrap(),
        "seeds differ"
    );
    b.set_weights(&a.weights().unwrap()).unwrap();
    assert_eq!(
        a.policy_output(&obs).unwrap(),
        b.policy_output(&obs).unwrap()
    );
    assert_eq!(a.values(&obs).unwrap(), b.values(&obs).unwrap());

    let err = b.set_weights(b"not a burnpack").unwrap_err().to_string();
    assert!(err.contains("burnpack"), "{err}");
    let other = learner(3, 5).weights().unwrap();
    let err = b.set_weights(&other).unwrap_err().to_string();
    assert!(err.contains("different network"), "{err}");
    // the failed loads left the weights alone
    assert_eq!(
        a.policy_output(&obs).unwrap(),
        b.policy_output(&obs).unwrap()
    );
}

#[test]
fn a_learner_fed_by_two_workers_logs_every_episode_once() {
    let _turn = SEED_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("two");
    let cfg = dir.join("run.toml");
    std::fs::write(
        &cfg,
        "track = \"easy-oval\"\nseed = 5\n[hyperparameters]\nbatch_size = 32\nnum_epochs = 1\n\
         num_episodes_between_training = 4\n",
    )
    .unwrap();
    let out = dir.join("run");
    let plan = RunRequest {
        config: Some(cfg.clone()),
        camera: Some(false),
        lidar: Some(true),
        out: Some(out.clone()),
        ..RunRequest::default()
    }
    .resolve()
    .unwrap();
    let run = plan.run.clone();
    assert_eq!(plan.options.network, NetworkKind::Mlp);
    let mut tr = TrainingRun::open(&plan).unwrap();
    let spec = tr.spec().clone();
    let mut workers: Vec<(RolloutWorker, Learner, ChaCha8Rng)> = (0..2u64)
        .map(|w| {
            let worker = RolloutWorker::new(&run, spec.preprocess, 2, 1, 100 + w, 0).unwrap();
            let policy = Learner::new(
                spec.network.clone(),
                tr.learner().ppo().clone(),
                run.action_space.clone(),
                &Device::flex(),
                0,
            )
            .unwrap();
            (worker, policy, ChaCha8Rng::seed_from_u64(w))
        })
        .collect();
    let mut steps = 0;
    let mut episodes = 0;
    for iteration in 1..=2u64 {
        let weights = tr.learner().weights().unwrap();
        let mut batches = Vec::new();
        for (worker, policy, rng) in &mut workers {
            policy.set_weights(&weights).unwrap();
            let batch = worker
                .collect(policy, rng, RolloutLength::Episodes(2), &mut NoObserver)
                .unwrap()
                .expect("NoObserver never stops");
            assert!(batch.episodes.len() >= 2);
            assert_eq!(batch.env_steps as usize, batch.rollout.log_probs.len());
            steps += batch.env_steps;
            episodes += batch.episodes.len() as u64;
            batches.push(batch);
        }
        let joined = RolloutBatch::concat(&batches);
        assert_eq!(
            joined.log_probs.len() as u64,
            steps - (tr.state().total_steps)
        );
        let (rec, ckpt) = tr.update_from_batches(&batches, &mut |_| {}).unwrap();
        assert_eq!(rec.iteration, iteration);
        assert_eq!(rec.episodes, episodes);
        assert_eq!(rec.total_steps, steps);
        assert!(ckpt.join("model.bpk").is_file());
    }

    let lines: Vec<Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<u64> = lines
        .iter()
        .filter(|l| l["type"] == "episode")
        .map(|l| l["record"]["episode"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (0..episodes).collect::<Vec<_>>());
    let iterations: Vec<u64> = lines
        .iter()
        .filter(|l| l["type"] == "iteration")
        .map(|l| l["record"]["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, vec![1, 2]);
    // every episode's rows are in the sim-trace, under its number
    let mut traced = std::collections::BTreeSet::new();
    for f in std::fs::read_dir(out.join("training-simtrace")).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for row in text.lines().skip(1) {
            traced.insert(row.split(',').next().unwrap().parse::<u64>().unwrap());
        }
    }
    assert_eq!(traced, (0..episodes).collect());
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("checkpoints/iter-000002/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["episodes"], episodes);
    assert_eq!(state["total_steps"], steps);
}
