//! `chicane train`: PPO training with a progress bar, plots and checkpoints.

use anyhow::Result;
use chicane_agent::{
    EpisodeRecord, IterationRecord, OutputPolicy, RunRequest, TrainObserver, read_episodes,
};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `chicane train` flags.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// A run .toml or a DeepRacer custom_files folder (reward_function.py,
    /// model_metadata.json, hyperparameters.json), local or on S3
    /// (`s3://bucket/custom_files`); none = built-in defaults.
    pub run: Option<PathBuf>,
    /// Override the track: a built-in name, a track .toml or a DeepRacer .npy;
    /// give it several times to train on several tracks (multi-track).
    #[arg(long)]
    pub track: Vec<String>,
    /// The run folder [default: runs/<track>-<seed>]; an `s3://bucket/prefix`
    /// URL trains in a local mirror synced to S3 after every checkpoint.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start from another run's weights (DeepRacer's "clone model").
    #[arg(long, value_name = "RUN_DIR")]
    pub clone_from: Option<PathBuf>,
    /// Stop after this long, e.g. 30m, 1h30m, 90s (or seconds: 90).
    #[arg(long)]
    pub max_time: Option<String>,
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
    /// Parallel simulated cars [default: 4].
    #[arg(long)]
    pub num_envs: Option<usize>,
    /// Train every N steps per env instead of every
    /// num_episodes_between_training episodes.
    #[arg(long, value_name = "N")]
    pub steps_per_update: Option<usize>,
    /// Compute device: cpu (chicane's own kernels for camera CNNs, burn's
    /// flex for other networks), flex or ndarray (burn's CPU backends),
    /// wgpu or cuda (GPU builds with the feature of the same name)
    /// [default: cpu].
    #[arg(long)]
    pub device: Option<String>,
    /// Collect and update in turns, the acting policy always the latest
    /// (DeepRacer's loop) [default: collect the next rollout while each
    /// update runs, the acting policy one update behind].
    #[arg(long)]
    pub sequential: bool,
    /// No progress bar (log lines instead).
    #[arg(long)]
    pub quiet: bool,
    /// Serve the live viewer (camera streams, top-down view, charts, a stop
    /// button) at PORT or HOST:PORT; a port alone binds 127.0.0.1.
    #[arg(long, value_name = "[HOST:]PORT")]
    pub viewer: Option<String>,
}

impl TrainArgs {
    /// The flags as a run request (resolved by the library, as the GUI's
    /// and Python's are).
    fn request(&self) -> RunRequest {
        RunRequest {
            config: self.run.clone(),
            track: self.track.first().cloned(),
            more_tracks: self.track.iter().skip(1).cloned().collect(),
            seed: self.seed,
            network: self.network.clone(),
            device: self.device.clone(),
            out: self.out.clone(),
            output_policy: OutputPolicy::Refuse,
            resume: self.resume,
            clone_from: self.clone_from.clone(),
            max_time: self.max_time.clone(),
            max_episodes: self.max_episodes,
            target_progress: self.target_progress,
            num_envs: self.num_envs,
            steps_per_update: self.steps_per_update,
            sequential: self.sequential,
            ..RunRequest::default()
        }
    }
}

struct CliObserver {
    bar: ProgressBar,
    quiet: bool,
    stop: Arc<AtomicBool>,
    chart: PathBuf,
    lap_chart: PathBuf,
    episodes: Vec<EpisodeRecord>,
}

impl CliObserver {
    fn plot(&self) -> Result<()> {
        chicane_agent::plot_training(&self.episodes, &self.chart)?;
        Ok(chicane_agent::plot_lap_times(
            &self.episodes,
            &self.lap_chart,
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
    }

    fn warning(&mut self, message: &str) {
        self.bar.println(format!("warning: {message}"));
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Runs `chicane train`.
pub fn run(args: TrainArgs) -> Result<()> {
    let viewer_addr = args
        .viewer
        .as_deref()
        .map(str::parse::<chicane_viewer::ViewerAddr>)
        .transpose()?;
    let plan = args.request().resolve()?;
    let (run, opts) = (&plan.run, &plan.options);
    // an S3 run folder is shown by its URL (its local mirror is the cache's)
    let shown_out = match &opts.remote {
        Some(r) => format!("{} (mirrored in {})", r.url(), r.local().display()),
        None => opts.out_dir.root().display().to_string(),
    };
    let run_name = opts.remote.as_ref().map_or_else(
        || opts.out_dir.root().display().to_string(),
        |r| r.url().to_string(),
    );
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
        "training on {} ({:.2} m{}) by {} with {} | reward {} | {} envs | network {} | device {} | run folder {}",
        run.track.name(),
        run.track.length(),
        if run.training_tracks.len() > 1 {
            let names: Vec<&str> = run.training_tracks[1..]
                .iter()
                .map(|t| t.1.name())
                .collect();
            format!(
                "; also {}, switching every {} episode(s)",
                names.join(", "),
                run.track_switch_episodes
            )
        } else {
            String::new()
        },
        match run.training_algorithm {
            chicane_core::TrainingAlgorithm::VanillaPg => {
                "vanilla_pg (one pass per rollout)".to_string()
            }
            other => other.name().to_string(),
        },
        match &run.action_space {
            chicane_core::ActionSpace::Discrete(l) => format!("{} discrete actions", l.len()),
            chicane_core::ActionSpace::Continuous { .. } => "a continuous action space".into(),
        },
        run.reward.as_config_string(),
        opts.num_envs,
        opts.network,
        match (opts.device_kind, opts.native) {
            (chicane_agent::DeviceKind::Cpu, true) => "cpu (chicane's native kernels)".to_string(),
            (chicane_agent::DeviceKind::Cpu, false) => {
                "cpu (burn flex: the native kernels cover camera-only CNNs)".to_string()
            }
            (kind, _) => kind.to_string(),
        },
        shown_out
    );
    let total = opts.stop.max_episodes.unwrap_or(0);
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
        chart: opts.out_dir.training_chart(),
        lap_chart: opts.out_dir.lap_time_chart(),
        episodes: Vec::new(),
    };
    if opts.resume {
        obs.episodes = read_episodes(&opts.out_dir.metrics());
        obs.bar.set_position(obs.episodes.len() as u64);
    }
    let viewer = viewer_addr
        .map(|a| {
            chicane_viewer::Viewer::start(&a, chicane_viewer::ViewerSetup::for_training(&plan))
        })
        .transpose()?;
    let summary = match &viewer {
        Some(v) => {
            // printed whether or not the bar is drawn (stderr may be no terminal)
            obs.bar.suspend(|| eprintln!("viewer: {}", v.url()));
            chicane_agent::train(&plan, &mut chicane_viewer::ViewerObserver::new(v, &mut obs))
        }
        None => chicane_agent::train(&plan, &mut obs),
    };
    if let Some(v) = &viewer {
        v.finish(&match &summary {
            Ok(s) => s.stop_reason.to_string(),
            Err(e) => format!("failed: {e}"),
        });
    }
    obs.bar.finish_and_clear();
    let summary = summary?;
    let s = &summary.state;
    println!(
        "stopped: {}\n  {} iterations, {} episodes, {} steps in {:.1} s; {} laps, best lap {}",
        summary.stop_reason,
        s.iteration,
        s.episodes,
        s.total_steps,
        s.elapsed_s,
        s.laps,
        s.best_lap.map_or("-".into(), |b| format!("{b:.2} s")),
    );
    if let Some(c) = &summary.checkpoint {
        println!("  checkpoint: {}", c.display());
    }
    if let Some(r) = &opts.remote {
        println!("  synced to {}", r.url());
    }
    println!("  evaluate it: chicane evaluate {run_name}");
    Ok(())
}
