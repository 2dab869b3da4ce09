//! `chicane train`: PPO training with a progress bar, plots and checkpoints.

use anyhow::{Context, Result, bail};
use chicane_agent::burn::tensor::Device;
use chicane_agent::{
    EpisodeRecord, IterationRecord, NetworkKind, RolloutLength, StopReason, TrainObserver,
    TrainOptions,
};
use chicane_config::ResolvedRun;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `chicane train` flags.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A run .toml or a DeepRacer custom_files folder (reward_function.py,
    /// model_metadata.json, hyperparameters.json); none = built-in defaults.
    pub run: Option<PathBuf>,
    /// Override the track: a built-in name, a track .toml or a DeepRacer .npy.
    #[arg(long)]
    pub track: Option<String>,
    /// The run folder [default: runs/<track>-<seed>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start from another run's weights (DeepRacer's "clone model").
    #[arg(long, value_name = "RUN_DIR")]
    pub clone_from: Option<PathBuf>,
    /// Stop after this long, e.g. 30m, 1h30m, 90s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_time: Option<Duration>,
    /// Stop after this many episodes in total [default: term_cond_max_episodes].
    #[arg(long)]
    pub max_episodes: Option<u64>,
    /// Stop when a rollout's mean progress (%) reaches this.
    #[arg(long)]
    pub target_progress: Option<f64>,
    /// The seed [default: the config's].
    #[arg(long)]
    pub seed: Option<u64>,
    /// The network: FAST_CNN (chicane's default on CPU),
    /// DEEP_CONVOLUTIONAL_NETWORK_SHALLOW, DEEP_CONVOLUTIONAL_NETWORK,
    /// DEEP_CONVOLUTIONAL_NETWORK_DEEP, MLP (lidar) [default: the config's
    /// model_metadata neural_network, else FAST_CNN].
    #[arg(long)]
    pub network: Option<String>,
    /// Parallel simulated cars.
    #[arg(long, default_value_t = 4)]
    pub num_envs: usize,
    /// Train every N steps per env instead of every
    /// num_episodes_between_training episodes.
    #[arg(long, value_name = "N")]
    pub steps_per_update: Option<usize>,
    /// Compute device: flex (CPU), ndarray (CPU), wgpu or cuda (GPU builds
    /// with the feature of the same name).
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// No progress bar (log lines instead).
    #[arg(long)]
    pub quiet: bool,
}

/// The device a `--device` name picks, if this build has it.
pub fn device(name: &str) -> Result<Device> {
    match name {
        #[cfg(feature = "flex")]
        "flex" | "cpu" => Ok(Device::flex()),
        // deprecated in burn 0.22; kept to measure it against Flex (docs/BENCHMARKS.md)
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        other => bail!(
            "--device {other}: not in this build; this build has: {} (GPU backends need \
             `cargo build --release --features wgpu` or `--features cuda`)",
            compiled_devices().join(", ")
        ),
    }
}

fn compiled_devices() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    v
}

/// Loads the run config, applying `--track` and `--seed`.
pub fn resolve_run(
    run: Option<&Path>,
    track: Option<&str>,
    seed: Option<u64>,
) -> Result<ResolvedRun> {
    let mut resolved = chicane_config::load_run(run)?;
    if let Some(spec) = track {
        resolved
            .set_track(spec)
            .with_context(|| format!("--track {spec}"))?;
    }
    if let Some(s) = seed {
        resolved.seed = s;
    }
    Ok(resolved)
}

struct CliObserver {
    bar: ProgressBar,
    quiet: bool,
    stop: Arc<AtomicBool>,
    out: PathBuf,
    episodes: Vec<EpisodeRecord>,
    last: Option<IterationRecord>,
}

impl CliObserver {
    fn plot(&self) -> Result<()> {
        Ok(chicane_agent::plot_training(
            &self.episodes,
            &self.out.join("training.png"),
        )?)
    }
}

impl TrainObserver for CliObserver {
    fn episode(&mut self, r: &EpisodeRecord) {
        self.episodes.push(r.clone());
        self.bar.set_position(self.episodes.len() as u64);
    }

    fn iteration(&mut self, r: &IterationRecord) {
        let best = r.best_lap.map_or("-".into(), |b| format!("{b:.2} s"));
        let msg = format!(
            "iter {} | {:.0} steps/s | reward {:.1} | progress {:.1}% | laps {} | best lap {best} | entropy {:.2}",
            r.iteration, r.steps_per_s, r.mean_reward, r.mean_progress, r.laps, r.update.entropy
        );
        if self.quiet {
            eprintln!("[{:>7.1} s] episodes {} {msg}", r.elapsed_s, r.episodes);
        } else {
            self.bar.set_message(msg);
        }
        if let Err(e) = self.plot() {
            self.bar
                .println(format!("warning: could not write the plot: {e:#}"));
        }
        self.last = Some(r.clone());
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Resolves the options of a train invocation.
fn options(args: &TrainArgs, run: &ResolvedRun) -> Result<TrainOptions> {
    let out = args.out.clone().unwrap_or_else(|| {
        let name = Path::new(&run.track_spec)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("run")
            .to_string();
        PathBuf::from("runs").join(format!("{name}-{}", run.seed))
    });
    let mut opts = TrainOptions::new(run, out, device(&args.device)?);
    if let Some(n) = &args.network {
        opts.network = NetworkKind::parse(n).context("--network")?;
    }
    if args.num_envs == 0 {
        bail!("--num-envs must be at least 1");
    }
    opts.num_envs = args.num_envs;
    if let Some(n) = args.steps_per_update {
        opts.rollout = RolloutLength::StepsPerEnv(n);
    }
    opts.max_time = args.max_time;
    if args.max_episodes.is_some() {
        opts.max_episodes = args.max_episodes;
    }
    opts.target_avg_progress = args.target_progress;
    opts.resume = args.resume;
    opts.clone_from = args.clone_from.clone();
    Ok(opts)
}

/// Runs `chicane train`.
pub fn run(args: TrainArgs) -> Result<()> {
    // --resume without a config continues with the run folder's own config
    let run_path = match (&args.run, args.resume, &args.out) {
        (None, true, Some(out)) => Some(out.join("run.toml")),
        _ => args.run.clone(),
    };
    if args.resume && args.out.is_none() {
        bail!("--resume needs --out RUN_DIR: the run folder to continue");
    }
    let run = resolve_run(run_path.as_deref(), args.track.as_deref(), args.seed)?;
    let opts = options(&args, &run)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // a second Ctrl-C while saving falls through to the default handler
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
        });
    }
    eprintln!(
        "training on {} ({:.2} m) with {} | reward {} | {} envs | network {} | device {} | run folder {}",
        run.track.name(),
        run.track.length(),
        match &run.action_space {
            chicane_core::ActionSpace::Discrete(l) => format!("{} discrete actions", l.len()),
            chicane_core::ActionSpace::Continuous { .. } => "a continuous action space".into(),
        },
        run.to_toml()
            .lines()
            .find(|l| l.starts_with("reward"))
            .unwrap_or("reward = ?")
            .trim_start_matches("reward = "),
        opts.num_envs,
        opts.network,
        args.device,
        opts.out_dir.display()
    );
    let total = opts.max_episodes.unwrap_or(0);
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} episodes | {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b.enable_steady_tick(Duration::from_millis(500));
        b.set_message("collecting the first rollout...");
        b
    };
    let mut obs = CliObserver {
        bar,
        quiet: args.quiet,
        stop,
        out: opts.out_dir.clone(),
        episodes: Vec::new(),
        last: None,
    };
    if args.resume {
        obs.episodes = chicane_agent::read_episodes(&opts.out_dir.join("metrics.jsonl"));
        obs.bar.set_position(obs.episodes.len() as u64);
    }
    let summary = chicane_agent::train(&run, &opts, &mut obs);
    obs.bar.finish_and_clear();
    let summary = summary?;
    let reason = match summary.stop_reason {
        StopReason::MaxTime => "--max-time reached",
        StopReason::MaxEpisodes => "max episodes reached",
        StopReason::AvgScore => "average score reached term_cond_avg_score",
        StopReason::AvgProgress => "--target-progress reached",
        StopReason::Interrupted => "interrupted (Ctrl-C)",
    };
    let s = &summary.state;
    println!(
        "stopped: {reason}\n  {} iterations, {} episodes, {} steps in {:.1} s; {} laps, best lap {}",
        s.iteration,
        s.episodes,
        s.total_steps,
        s.elapsed_s,
        s.laps,
        s.best_lap.map_or("-".into(), |b| format!("{b:.2} s"))
    );
    if let Some(c) = &summary.checkpoint {
        println!("  checkpoint: {}", c.display());
    }
    println!("  evaluate it: chicane evaluate {}", opts.out_dir.display());
    Ok(())
}
