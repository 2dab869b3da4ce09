//! `chicane action-space`: generate a discrete action space the way
//! DeepRacer's console does, or fitted to the racing-line reference
//! driver's commands (`--from-raceline`), as a `model_metadata.json`.

use anyhow::{Context, Result, anyhow};
use chicane_core::{ActionSpace, ModelMetadata, Sensor, generate_discrete};
use chicane_reward::FollowCenterLine;
use chicane_sim::{
    RaceEnv, RacingLineDriver, SimConfig, StartConfig, drive_reference_lap, fit_discrete_actions,
};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Steps one reference lap may take at most (a 60 m track at 0.5 m/s).
const MAX_LAP_STEPS: u64 = 2_000;

/// Arguments of `chicane action-space`.
#[derive(Debug, Args)]
pub struct ActionSpaceArgs {
    /// Largest steering angle (deg), at most 30.
    #[arg(long, default_value_t = 30.0)]
    max_steering: f64,
    /// Number of steering angles, spread evenly from -max to +max.
    #[arg(long, default_value_t = 5)]
    steering_levels: usize,
    /// Top speed (m/s), at most 4.
    #[arg(long, default_value_t = 1.0)]
    max_speed: f64,
    /// Number of speeds, spread evenly up to the top speed.
    #[arg(long, default_value_t = 2)]
    speed_levels: usize,
    /// Fit the actions to what the racing-line reference driver commands
    /// on this track (a built-in name, a chicane .toml or a DeepRacer .npy):
    /// k-means over its (steering, speed) commands of one lap. Give it
    /// several times to fit one action space to the laps of several tracks
    /// (for multi-track training).
    #[arg(long, value_name = "TRACK", action = clap::ArgAction::Append, conflicts_with_all = ["max_steering", "steering_levels", "max_speed", "speed_levels"])]
    from_raceline: Vec<String>,
    /// Fit to the reference laps in both directions of every track, not
    /// only the track's own (for training with
    /// `alternate_driving_direction`: a track driven the other way turns
    /// the other way).
    #[arg(long, requires = "from_raceline")]
    both_directions: bool,
    /// How many actions `--from-raceline` fits (DeepRacer: 2 to 30).
    #[arg(long, default_value_t = 10, requires = "from_raceline")]
    actions: usize,
    /// Clearance between the wheels and the borders (m) of the racing line
    /// (as `chicane track raceline --margin`).
    #[arg(long, default_value_t = 0.1, requires = "from_raceline")]
    margin: f64,
    /// Seed of the clustering's k-means++ starts.
    #[arg(long, default_value_t = 0, requires = "from_raceline")]
    seed: u64,
    /// The car: a run file or custom_files folder whose [sim.vehicle] sets
    /// its limits [default: the built-in car].
    #[arg(long, requires = "from_raceline")]
    config: Option<PathBuf>,
    /// Write the model_metadata.json here instead of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `chicane action-space`.
pub fn run(args: ActionSpaceArgs) -> Result<()> {
    let space = if args.from_raceline.is_empty() {
        generate_discrete(
            args.max_steering,
            args.steering_levels,
            args.max_speed,
            args.speed_levels,
        )
        .map_err(|e| {
            anyhow!(
                "{e}; DeepRacer allows 2 to 30 actions, steering up to 30 deg and speeds 0.1 to 4 m/s"
            )
        })?
    } else {
        from_raceline(&args)?
    };
    let meta = ModelMetadata {
        action_space: space,
        sensor: vec![Sensor::FrontFacingCamera],
        neural_network: Some(chicane_core::NetworkKind::DeepRacerShallow),
        training_algorithm: Some(chicane_core::TrainingAlgorithm::ClippedPpo),
        version: Some("5".into()),
        extra: Default::default(),
    };
    let text = meta.to_json_string();
    match args.out {
        Some(path) => {
            std::fs::write(&path, text + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// The racing-line reference driver laps each track of
/// `args.from_raceline` (in both directions with `--both-directions`) on
/// the full continuous range; all its commands are clustered together into
/// `args.actions` actions, and the same driver laps each again restricted
/// to them. The lap times go to stderr, one line per track and direction
/// (stdout may be the JSON).
fn from_raceline(args: &ActionSpaceArgs) -> Result<ActionSpace> {
    let cfg = match &args.config {
        Some(p) => chicane_config::load_run(Some(p))?.sim,
        None => SimConfig::default(),
    };
    let mut laps = Vec::new();
    for name in &args.from_raceline {
        let track = Arc::new(chicane_tracks::load(name)?);
        let own = track.start().direction;
        let directions = if args.both_directions {
            vec![own, own.flipped()]
        } else {
            vec![own]
        };
        for direction in directions {
            let line = chicane_sim::racing_line_for(
                &track,
                &cfg.vehicle,
                args.margin,
                0.1,
                Some(direction),
            )
            .with_context(|| format!("the racing line of {name} ({})", direction.as_str()))?;
            let sim = SimConfig {
                start: StartConfig {
                    direction: Some(direction),
                    ..cfg.start.clone()
                },
                ..cfg.clone()
            };
            let reference = reference_lap(
                &sim,
                &track,
                &line,
                ActionSpace::full_continuous(),
                args.seed,
            )?;
            laps.push((Arc::clone(&track), direction, line, sim, reference));
        }
    }
    let commands: Vec<(f64, f64)> = laps
        .iter()
        .flat_map(|(.., reference)| reference.commands.iter().copied())
        .collect();
    let actions = fit_discrete_actions(&commands, args.actions, args.seed)
        .map_err(|e| anyhow!("--actions: {e}"))?;
    let space = ActionSpace::Discrete(actions);
    let show = |l: &chicane_sim::ReferenceLap| match l.lap_time {
        Some(t) => format!("{t:.2} s"),
        None => format!("no lap ({})", l.status.as_str()),
    };
    for (track, direction, line, sim, reference) in &laps {
        let fitted = reference_lap(sim, track, line, space.clone(), args.seed)?;
        eprintln!(
            "{} ({}): racing line predicted {:.2} s; the reference driver lapped in {} on the continuous range and {} with these {} actions ({} of {} commands clustered)",
            track.name(),
            direction.as_str(),
            line.lap_time,
            show(reference),
            show(&fitted),
            args.actions,
            reference.commands.len(),
            commands.len()
        );
    }
    Ok(space)
}

/// One lap of the racing-line driver following `line` on `track` with the
/// car and start of `sim`, its commands mapped onto `space`.
fn reference_lap(
    sim: &SimConfig,
    track: &Arc<chicane_tracks::Track>,
    line: &chicane_tracks::RacingLine,
    space: ActionSpace,
    seed: u64,
) -> Result<chicane_sim::ReferenceLap> {
    let mut env = RaceEnv::new(
        sim.clone(),
        Arc::clone(track),
        space,
        Box::new(FollowCenterLine),
    )?;
    let mut driver = RacingLineDriver::new(line);
    Ok(drive_reference_lap(
        &mut env,
        &mut driver,
        seed,
        MAX_LAP_STEPS,
    )?)
}
