//! `chicane bench sim`: how fast the simulator runs on this machine.

use anyhow::{Context, Result};
use chicane_core::{Action, ActionSpace, LidarConfig};
use chicane_reward::FollowCenterLine;
use chicane_sim::{
    CameraPose, CameraRenderer, EnvAssets, GroundTexture, RaceEnv, ResetOptions, SimConfig, VecEnv,
};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// The `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Camera render time, env steps/s (1 core), VecEnv scaling, memory per env.
    Sim(SimBenchArgs),
    /// Time per reward-function call (params conversion included) for
    /// .rhai or .py (with `--features python`) files.
    Reward(RewardBenchArgs),
    /// The car's limits measured on the rapier car: grip limit, understeer,
    /// 0 -> 4 m/s, braking, steering step (docs/VEHICLE.md).
    Vehicle(VehicleBenchArgs),
    /// End-to-end training speed (env steps/s) of a fixed run and where
    /// the time goes (docs/BENCHMARKS.md).
    Train(TrainBenchArgs),
}

/// Arguments of `chicane bench train`.
#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// A run file or custom_files folder [default: the built-in run:
    /// DeepRacer's hyperparameters, 20 episodes per update].
    config: Option<std::path::PathBuf>,
    /// PPO updates to time.
    #[arg(long, default_value_t = 5)]
    updates: u64,
    /// The network [default: FAST_CNN].
    #[arg(long)]
    network: Option<String>,
    /// Parallel envs.
    #[arg(long, default_value_t = 4)]
    num_envs: usize,
    /// The track [default: the config's].
    #[arg(long)]
    track: Option<String>,
    /// Compute device: cpu (chicane's native kernels), flex, ... [default: cpu].
    #[arg(long)]
    device: Option<String>,
    /// Update every N steps per env instead of every 20 episodes.
    #[arg(long)]
    steps_per_update: Option<usize>,
    /// Collect and update in turns (as `chicane train --sequential`)
    /// instead of collecting the next rollout during each update.
    #[arg(long)]
    sequential: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `chicane bench vehicle`.
#[derive(Debug, Args)]
pub struct VehicleBenchArgs {
    /// A run file or custom_files folder whose [sim.vehicle] to measure
    /// [default: the built-in car].
    config: Option<std::path::PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `chicane bench reward`.
#[derive(Debug, Args)]
pub struct RewardBenchArgs {
    /// Reward function files to time.
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Calls per file.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One file's reward-call time.
#[derive(Debug, Serialize)]
pub struct RewardBench {
    file: String,
    calls: usize,
    median_us: f64,
    mean_us: f64,
}

fn reward_bench(args: RewardBenchArgs) -> Result<()> {
    // real params: a pure-pursuit lap around the default track
    let track = Arc::new(chicane_tracks::load(chicane_tracks::DEFAULT_TRACK)?);
    let cfg = SimConfig {
        camera: None,
        lidar: Some(LidarConfig {
            beams: 1,
            ..LidarConfig::default()
        }),
        ..SimConfig::default()
    };
    let recorded = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = Arc::clone(&recorded);
    let recorder =
        chicane_reward::FnReward::new("recorder", move |p: &chicane_reward::RewardParams| {
            if let Ok(mut v) = log.lock() {
                v.push(p.clone());
            }
            1.0
        });
    let space = ActionSpace::Continuous {
        steering_angle_deg: chicane_core::Range {
            low: -30.0,
            high: 30.0,
        },
        speed: chicane_core::Range {
            low: 0.1,
            high: 4.0,
        },
    };
    let mut env = RaceEnv::new(cfg, track, space, Box::new(recorder))?;
    let (_, mut info) = env.reset(Some(0), ResetOptions::default())?;
    let mut driver = chicane_sim::PurePursuit::default();
    loop {
        let a = chicane_sim::Driver::act(&mut driver, &env, &info);
        let t = env.step(&a)?;
        if t.terminated || t.truncated {
            break;
        }
        info = t.info;
    }
    let params = recorded
        .lock()
        .map_err(|_| anyhow::anyhow!("recorder poisoned"))?
        .clone();
    let mut results = Vec::new();
    for file in &args.files {
        let mut f = chicane_reward::load_reward(file)?;
        let mut samples = Vec::with_capacity(args.calls);
        for i in 0..args.calls {
            let p = &params[i % params.len()];
            let t = Instant::now();
            std::hint::black_box(f.reward(p)?);
            samples.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        samples.sort_by(f64::total_cmp);
        results.push(RewardBench {
            file: file.display().to_string(),
            calls: args.calls,
            median_us: samples[samples.len() / 2],
            mean_us: mean,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in &results {
            println!(
                "{:<60} median {:>7.2} us  mean {:>7.2} us  ({} calls)",
                r.file, r.median_us, r.mean_us, r.calls
            );
        }
    }
    Ok(())
}

/// Arguments of `chicane bench sim`.
#[derive(Debug, Args)]
pub struct SimBenchArgs {
    /// Track to drive.
    #[arg(long, default_value = chicane_tracks::DEFAULT_TRACK)]
    track: String,
    /// Env steps per measurement.
    #[arg(long, default_value_t = 3000)]
    steps: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// What `bench sim` measures.
#[derive(Debug, Serialize)]
pub struct SimBench {
    track: String,
    render_gray_160x120_us: f64,
    render_rgb_160x120_us: f64,
    steps_per_s_physics: f64,
    steps_per_s_physics_camera: f64,
    steps_per_s_physics_camera_lidar: f64,
    /// With every camera-realism effect but JPEG and the physics randomisation on.
    steps_per_s_physics_camera_realism_no_jpeg: f64,
    /// With every camera-realism effect and the physics randomisation on.
    steps_per_s_physics_camera_realism: f64,
    /// With scenery on: walls, 12 background objects, 6 shadows, 10 tape
    /// strips, 4 reflections (README's example values).
    steps_per_s_physics_camera_scenery: f64,
    vec_env_steps_per_s_1_thread: f64,
    vec_env_steps_per_s_2_threads: f64,
    independent_envs_steps_per_s_2_threads: f64,
    memory_per_env_bytes: f64,
    shared_texture_bytes: usize,
    physics_substeps_per_step: u32,
}

/// Runs a `bench` subcommand.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Sim(args) => sim(args),
        BenchCommand::Reward(args) => reward_bench(args),
        BenchCommand::Vehicle(args) => vehicle_bench(args),
        BenchCommand::Train(args) => train_bench(args),
    }
}

fn train_bench(args: TrainBenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("chicane-bench-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let plan = chicane_agent::RunRequest {
        config: args.config.clone(),
        track: args.track.clone(),
        network: Some(args.network.clone().unwrap_or_else(|| "FAST_CNN".into())),
        device: args.device.clone(),
        num_envs: Some(args.num_envs),
        steps_per_update: args.steps_per_update,
        sequential: args.sequential,
        out: Some(dir.clone()),
        ..chicane_agent::RunRequest::default()
    }
    .resolve()?;
    let b = chicane_agent::bench_train(&plan, args.updates);
    let _ = std::fs::remove_dir_all(&dir);
    let b = b?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&b)?);
        return Ok(());
    }
    let pct = |s: f64| 100.0 * s / b.wall_s;
    println!(
        "{} x {} envs on {}: {} updates, {} episodes, {} env steps in {:.1} s = {:.0} env steps/s ({})",
        b.network,
        b.num_envs,
        plan.run.track.name(),
        b.updates,
        b.episodes,
        b.env_steps,
        b.wall_s,
        b.steps_per_s,
        if b.overlap {
            "rollouts overlap updates: the parts add up to more than the wall time"
        } else {
            "sequential"
        }
    );
    let l = &b.learner;
    for (what, s) in [
        ("env step (wall, all envs)", b.env_wall_s),
        ("observation batches", b.observe_s),
        ("inference (act, values)", l.inference_s),
        ("update: minibatches", l.batch_s),
        ("update: forward + loss", l.forward_s),
        ("update: backward + clip", l.backward_s),
        ("update: optimizer", l.optimizer_s),
    ] {
        println!("  {what:<32} {s:8.2} s  {:5.1}%", pct(s));
    }
    match b.other_s {
        Some(s) => println!(
            "  {:<32} {s:8.2} s  {:5.1}%",
            "other (GAE, logs, checkpoints)",
            pct(s)
        ),
        None => println!("  other (GAE, logs, checkpoints): not separable, the parts overlap"),
    }
    let e = &b.env;
    println!(
        "  env CPU time by part: physics {:.2} s, render {:.2} s, reward {:.2} s, resets {:.2} s ({} steps, {:.0} us per step)",
        e.physics_s,
        e.render_s,
        e.reward_s,
        e.reset_s,
        e.steps,
        1e6 * (e.physics_s + e.render_s + e.reward_s) / e.steps.max(1) as f64
    );
    if let Some(m) = b.peak_rss_mib {
        println!("  peak RSS {m:.0} MiB");
    }
    Ok(())
}

fn vehicle_bench(args: VehicleBenchArgs) -> Result<()> {
    let run = chicane_config::load_run(args.config.as_deref())?;
    let b = chicane_sim::measure_vehicle(&run.sim.vehicle);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&b)?);
        return Ok(());
    }
    let i = &b.implied;
    println!("vehicle of {} (rapier car, 120 Hz physics)", run.origin);
    println!(
        "  grip limit        {:6.2} m/s^2 held at {:.2} m/s ({} deg constant-steer ramp); the tyres imply {:.2} ({:+.1}%)",
        b.max_lateral,
        b.max_lateral_speed,
        b.ramp_steer_deg,
        i.lateral,
        100.0 * (b.max_lateral / i.lateral - 1.0)
    );
    println!(
        "  understeer        {:+6.2} deg/g (20-50% of the grip limit; negative oversteers)",
        b.understeer_deg_per_g
    );
    println!(
        "  0 -> 4 m/s        {:6.2} s to 3.8 m/s, mean {:.2} m/s^2 (implied {:.2})",
        b.zero_to_four_s, b.mean_accel, i.accel
    );
    println!(
        "  4 -> 0 m/s        {:6.2} s, {:.2} m (implied {:.2} m/s^2: {:.2} m)",
        b.brake_from_four_s,
        b.brake_from_four_m,
        i.brake,
        16.0 / (2.0 * i.brake)
    );
    println!(
        "  steering step     {:6.3} s to 90% of the yaw rate (0 -> 15 deg at 2 m/s), overshoot {:.1}%",
        b.steer_step_rise_s, b.steer_step_overshoot_pct
    );
    Ok(())
}

fn render_us(track: &chicane_tracks::Track, rgb: bool) -> f64 {
    let cam = chicane_core::CameraConfig {
        rgb,
        ..Default::default()
    };
    let tex = GroundTexture::new(track, rgb, 1.0);
    let mut r = CameraRenderer::new(&cam);
    let mut out = vec![0u8; cam.frame_len()];
    let mut samples = Vec::new();
    for k in 0..400 {
        let s = track.length() * k as f64 / 400.0;
        let p = track.to_world(s, 0.0);
        let pose = CameraPose::on_body(
            [p.x, p.y, 0.048],
            track.heading_at(s),
            0.0,
            0.0,
            [0.1, 0.0, 0.032],
            0.26,
        );
        let t = Instant::now();
        r.render(&tex, &pose, &[], &mut out);
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Steps/s of one env on this thread: cycling actions, resetting when done.
fn env_rate(track: &Arc<chicane_tracks::Track>, cfg: SimConfig, steps: u64) -> Result<f64> {
    let mut env = RaceEnv::new(
        cfg,
        Arc::clone(track),
        ActionSpace::default(),
        Box::new(FollowCenterLine),
    )?;
    env.reset(Some(0), ResetOptions::default())?;
    let t = Instant::now();
    for i in 0..steps {
        let (_, term, trunc, _) = env.step_in_place(&Action::Discrete(((i / 5) % 5) as usize))?;
        if term || trunc {
            env.reset_in_place(None, ResetOptions::default())?;
        }
    }
    Ok(steps as f64 / t.elapsed().as_secs_f64())
}

fn vec_rate(track: &Arc<chicane_tracks::Track>, threads: usize, steps: u64) -> Result<f64> {
    let n = 8;
    let mut v = VecEnv::new(
        SimConfig::default(),
        Arc::clone(track),
        ActionSpace::default(),
        (0..n)
            .map(|_| Box::new(FollowCenterLine) as Box<dyn chicane_reward::RewardFunction>)
            .collect(),
        threads,
    )?;
    v.reset(Some(0))?;
    let iters = (steps / n as u64).max(1);
    let t = Instant::now();
    for i in 0..iters {
        let actions: Vec<Action> = (0..n)
            .map(|k| Action::Discrete(((i as usize / 5) + k) % 5))
            .collect();
        v.step(&actions)?;
    }
    Ok((iters * n as u64) as f64 / t.elapsed().as_secs_f64())
}

/// Steps/s of two envs each on its own OS thread, no coordination: the
/// machine's ceiling for two threads.
fn independent_rate(track: &Arc<chicane_tracks::Track>, steps: u64) -> Result<f64> {
    let t = Instant::now();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let track = Arc::clone(track);
            std::thread::spawn(move || env_rate(&track, SimConfig::default(), steps / 2))
        })
        .collect();
    for h in handles {
        h.join()
            .map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))??;
    }
    Ok(steps as f64 / t.elapsed().as_secs_f64())
}

/// Resident memory (bytes) of this process, from /proc/self/statm.
fn rss_bytes() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = text.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0)
}

fn sim(args: SimBenchArgs) -> Result<()> {
    let track = Arc::new(chicane_tracks::load(&args.track)?);
    let physics_only = SimConfig {
        camera: None,
        lidar: Some(LidarConfig {
            beams: 1,
            ..LidarConfig::default()
        }),
        ..SimConfig::default()
    };
    let with_lidar = SimConfig {
        lidar: Some(LidarConfig::default()),
        ..SimConfig::default()
    };
    let default = SimConfig::default();
    // the real camera and car: every camera-realism effect and the physics
    // randomisation on (README's example values)
    let realistic = SimConfig {
        camera_realism: chicane_sim::CameraRealism {
            lens_distortion: 0.25,
            vignetting: 0.35,
            motion_blur: 0.4,
            jpeg_quality: 60,
            ..chicane_sim::CameraRealism::default()
        },
        physics_randomization: chicane_sim::PhysicsRandomization::example(),
        ..SimConfig::default()
    };
    let scenery = SimConfig {
        scenery: chicane_sim::Scenery {
            wall_height: 0.6,
            background_objects: 12,
            shadows: 6,
            tape_strips: 10,
            reflections: 4,
            ..chicane_sim::Scenery::default()
        },
        ..SimConfig::default()
    };
    let mut realistic_no_jpeg = realistic.clone();
    realistic_no_jpeg.camera_realism.jpeg_quality = 0;
    // memory: envs sharing one set of textures, after a reset each
    let assets = EnvAssets::new(Arc::clone(&track), &default);
    let before = rss_bytes();
    let mut envs = Vec::new();
    for _ in 0..16 {
        let mut e = RaceEnv::with_assets(
            default.clone(),
            assets.clone(),
            ActionSpace::default(),
            Box::new(FollowCenterLine),
        )?;
        e.reset(Some(0), ResetOptions::default())?;
        e.step_in_place(&Action::Discrete(2))?;
        envs.push(e);
    }
    let after = rss_bytes();
    let memory_per_env = match (before, after) {
        (Some(b), Some(a)) => (a - b) / 16.0,
        _ => f64::NAN,
    };
    drop(envs);
    let bench = SimBench {
        track: track.name().to_string(),
        render_gray_160x120_us: render_us(&track, false),
        render_rgb_160x120_us: render_us(&track, true),
        steps_per_s_physics: env_rate(&track, physics_only, args.steps)?,
        steps_per_s_physics_camera: env_rate(&track, default.clone(), args.steps)?,
        steps_per_s_physics_camera_lidar: env_rate(&track, with_lidar, args.steps)?,
        steps_per_s_physics_camera_realism_no_jpeg: env_rate(
            &track,
            realistic_no_jpeg,
            args.steps,
        )?,
        steps_per_s_physics_camera_realism: env_rate(&track, realistic, args.steps)?,
        steps_per_s_physics_camera_scenery: env_rate(&track, scenery, args.steps)?,
        vec_env_steps_per_s_1_thread: vec_rate(&track, 1, args.steps)?,
        vec_env_steps_per_s_2_threads: vec_rate(&track, 2, args.steps)?,
        independent_envs_steps_per_s_2_threads: independent_rate(&track, args.steps)?,
        memory_per_env_bytes: memory_per_env,
        shared_texture_bytes: assets.memory_bytes(),
        physics_substeps_per_step: default.physics.substeps,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&bench).context("json")?);
    } else {
        println!(
            "chicane bench sim on {} ({} physics substeps per env step)",
            bench.track, bench.physics_substeps_per_step
        );
        println!(
            "  render 160x120 gray          {:>9.1} us/frame",
            bench.render_gray_160x120_us
        );
        println!(
            "  render 160x120 RGB           {:>9.1} us/frame",
            bench.render_rgb_160x120_us
        );
        println!(
            "  env, physics only            {:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics
        );
        println!(
            "  env, physics + camera        {:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics_camera
        );
        println!(
            "  env, physics + camera + lidar{:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics_camera_lidar
        );
        println!(
            "  env, realism (no JPEG) + physics rand.{:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics_camera_realism_no_jpeg
        );
        println!(
            "  env, realism + JPEG 60 + physics rand.{:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics_camera_realism
        );
        println!(
            "  env, scenery (walls, objects, floor marks){:>9.0} steps/s (1 core)",
            bench.steps_per_s_physics_camera_scenery
        );
        println!(
            "  VecEnv(8), 1 thread          {:>9.0} steps/s",
            bench.vec_env_steps_per_s_1_thread
        );
        println!(
            "  VecEnv(8), 2 threads         {:>9.0} steps/s ({:.2}x)",
            bench.vec_env_steps_per_s_2_threads,
            bench.vec_env_steps_per_s_2_threads / bench.vec_env_steps_per_s_1_thread
        );
        println!(
            "  2 independent envs, 2 threads{:>9.0} steps/s ({:.2}x of one env: the machine's ceiling)",
            bench.independent_envs_steps_per_s_2_threads,
            bench.independent_envs_steps_per_s_2_threads / bench.steps_per_s_physics_camera
        );
        println!(
            "  memory per env               {:>9.2} MiB",
            bench.memory_per_env_bytes / (1024.0 * 1024.0)
        );
        println!(
            "  shared track textures        {:>9.2} MiB",
            bench.shared_texture_bytes as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}
