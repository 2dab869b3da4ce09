//! `chicane-gui`: the desktop app (see the crate docs of `chicane_gui`).

use anyhow::{Context, Result};
use bevy::prelude::*;
use bevy::window::{PresentMode, WindowResolution};
use bevy::winit::{UpdateMode, WinitSettings};
use chicane_gui::{
    CameraMode, CapturePlugin, CaptureSettings, CarViewPlugin, EvaluatePlugin, GuiLog,
    PanelsPlugin, ReplayPlugin, Setup, SetupPlugin, Tab, TrackViewPlugin, Training, TrainingPlugin,
    UiState, ViewCamera, start_training,
};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// The chicane desktop app: set up a run, watch the car learn, edit the
/// reward, evaluate, replay and export.
#[derive(Debug, Parser)]
#[command(name = "chicane-gui", version)]
struct Args {
    /// A run file (.toml) or DeepRacer custom_files folder to open [default: built-in defaults].
    config: Option<PathBuf>,
    /// Folder for runs, generated tracks and saved scripts.
    #[arg(long, default_value = ".")]
    workdir: PathBuf,
    /// Start a short demo training on the built-in track at once.
    #[arg(long)]
    demo: bool,
    /// Save a PNG of the window (with --exit-after-frames or --exit-after-secs).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    /// Leave after this many frames (after the screenshot, if asked).
    #[arg(long, value_name = "N")]
    exit_after_frames: Option<u64>,
    /// Leave after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    exit_after_secs: Option<f64>,
    /// Write frame time and training speed as JSON here on leaving.
    #[arg(long, value_name = "FILE.json")]
    report: Option<PathBuf>,
    /// Highest frame rate (frames/s); the rest of the CPU trains.
    #[arg(long, default_value_t = 20.0)]
    max_fps: f64,
    /// Window size in logical pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    size: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (w, h) = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .filter(|&(w, h)| w >= 640 && h >= 400)
        .with_context(|| format!("--size {}: give WIDTHxHEIGHT, at least 640x400", args.size))?;
    if !(args.max_fps.is_finite() && args.max_fps >= 1.0) {
        anyhow::bail!("--max-fps {}: give at least 1", args.max_fps);
    }
    std::fs::create_dir_all(&args.workdir)
        .with_context(|| format!("cannot create --workdir {}", args.workdir.display()))?;
    let workdir = std::fs::canonicalize(&args.workdir)
        .with_context(|| format!("--workdir {}", args.workdir.display()))?;

    // a bad config is shown in the window; the app opens on the defaults
    let mut log = GuiLog::default();
    let defaults = chicane_config::load_run(None).context("the built-in run does not load")?;
    let mut setup = Setup::new(defaults, workdir.clone());
    if let Some(path) = &args.config
        && let Err(e) = setup.load(path)
    {
        log.error(format!("{e}\n(opened the built-in defaults instead)"));
    }
    let mut training = Training::default();
    let mut ui_state = UiState::default();
    if args.demo {
        // a short run on the built-in track, 2 envs, 2 episodes per update
        setup.out_dir = workdir.join("runs/demo").display().to_string();
        setup.num_envs = 2;
        setup.run.hyperparameters.num_episodes_between_training = 2;
        if setup.max_minutes == 0.0 {
            setup.max_minutes = 5.0;
        }
        start_training(&mut setup, &mut training, &mut log);
        ui_state.tab = Tab::Setup;
    }
    let period = Duration::from_secs_f64(1.0 / args.max_fps);
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "chicane".into(),
                    resolution: WindowResolution::new(w, h),
                    present_mode: PresentMode::AutoVsync,
                    ..default()
                }),
                ..default()
            })
            .set(bevy::log::LogPlugin {
                filter: "warn,chicane_gui=info,wgpu=error,naga=error".into(),
                ..default()
            }),
    )
    .add_plugins(bevy_egui::EguiPlugin::default())
    // cap the frame rate: the GUI never starves training
    .insert_resource(WinitSettings {
        focused_mode: UpdateMode::reactive(period),
        unfocused_mode: UpdateMode::reactive(period),
    })
    .insert_resource(ClearColor(Color::srgb(0.55, 0.7, 0.85)))
    .insert_resource(setup)
    .insert_resource(training)
    .insert_resource(log)
    .insert_resource(ui_state)
    .insert_resource(ViewCamera {
        mode: CameraMode::Chase,
        ..default()
    })
    .insert_resource(CaptureSettings {
        screenshot: args.screenshot,
        exit_after_frames: args.exit_after_frames,
        exit_after_secs: args.exit_after_secs,
        report: args.report,
    })
    .add_plugins((
        TrainingPlugin,
        SetupPlugin,
        TrackViewPlugin,
        CarViewPlugin,
        EvaluatePlugin,
        ReplayPlugin,
        PanelsPlugin,
        CapturePlugin,
    ));
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the app stopped with error code {code}"),
    }
}
