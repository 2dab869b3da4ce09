//! `chicane sim serve`: the simulator as a virtual camera and car for
//! `chicane-car run --camera sim:TRACK --actuator sim` (protocol in
//! `chicane_car::sim`). Laps follow DeepRacer's evaluation rules, as
//! `chicane evaluate` does: a standing start at the start line, a car that
//! leaves the track is put back where it left with a time penalty.

use anyhow::{Context, Result};
use chicane_agent::RunRequest;
use chicane_car::sim::{SimCommand, SimFrameHeader, SimHello};
use chicane_core::{Action, ActionSpace};
use chicane_reward::FollowCenterLine;
use chicane_sim::{EpisodeStatus, EvalStart, RaceEnv};
use clap::Args;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `chicane sim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The run config (a run's run.toml, or the one in a model bundle)
    /// [default: the built-in defaults].
    #[arg(long)]
    config: Option<PathBuf>,
    /// A built-in track name, a chicane .toml track or a DeepRacer .npy file
    /// [default: the config's].
    #[arg(long)]
    track: Option<String>,
    /// Address to listen on; port 0 picks a free one. The chosen address is
    /// printed as `listening on HOST:PORT`.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Time added per off-track reset.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "2s")]
    off_track_penalty: Duration,
}

/// Runs `chicane sim serve` for one client.
pub fn serve(args: ServeArgs) -> Result<()> {
    let run = RunRequest {
        config: args.config.clone(),
        track: args.track.clone(),
        ..RunRequest::default()
    }
    .resolve_run()?;
    let reward = run.make_reward().unwrap_or_else(|e| {
        eprintln!("sim serve: reward function unavailable ({e}); using the centre-line reward");
        Box::new(FollowCenterLine)
    });
    let mut sim = run.sim.clone();
    let cam = sim
        .camera
        .clone()
        .context("the config has no camera; chicane-car drives camera models")?;
    let track = Arc::clone(&run.track);
    let len = track.length();
    let start = EvalStart::new(&mut sim, &track);
    // any steering angle and speed the car may command
    let space = ActionSpace::full_continuous();
    let dt = 1.0 / sim.physics.action_hz;
    let action_hz = sim.physics.action_hz;
    let mut env = RaceEnv::new(sim, Arc::clone(&track), space, reward)?;
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("--listen {}: cannot listen", args.listen))?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let (stream, peer) = listener.accept().context("accept")?;
    stream.set_nodelay(true)?;
    eprintln!("sim serve: {peer} connected");
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = std::io::BufWriter::new(stream);
    let hello = SimHello {
        width: cam.width as usize,
        height: cam.height as usize,
        channels: cam.channels(),
        action_hz,
        track: track.name().to_string(),
        track_length: len,
    };
    writeln!(out, "{}", serde_json::to_string(&hello)?)?;
    env.reset_in_place(Some(0), start.reset_at(0.0))?;
    let mut h = SimFrameHeader {
        status: "prepare".into(),
        ..SimFrameHeader::default()
    };
    // distance covered before the current env episode (m), time of this lap (s)
    let (mut base_m, mut lap_s) = (0.0f64, 0.0f64);
    let mut line = String::new();
    loop {
        let frame = &env.observation().camera;
        h.bytes = frame.len();
        writeln!(out, "{}", serde_json::to_string(&h)?)?;
        out.write_all(frame)?;
        out.flush()?;
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let Ok(cmd) = serde_json::from_str::<SimCommand>(&line) else {
            // `{"stop": true}` or anything else ends the session
            break;
        };
        let action = Action::Continuous {
            steering_angle_deg: cmd.steering_angle_deg.clamp(
                -chicane_core::limits::MAX_STEERING_DEG,
                chicane_core::limits::MAX_STEERING_DEG,
            ),
            speed: cmd.speed.clamp(
                chicane_core::limits::MIN_SPEED,
                chicane_core::limits::MAX_SPEED,
            ),
        };
        let (_, term, trunc, info) = env.step_in_place(&action)?;
        h.t += dt;
        lap_s += dt;
        let covered = base_m + info.params.progress / 100.0 * len;
        h.progress = (covered / len * 100.0).min(100.0);
        h.x = info.car.position.x;
        h.y = info.car.position.y;
        h.status = info.episode_status.as_str().to_string();
        if covered >= len - 1e-6 || info.episode_status == EpisodeStatus::LapComplete {
            h.laps_completed += 1;
            h.lap_times_s.push(lap_s);
            eprintln!("sim serve: lap {} in {lap_s:.3} s", h.laps_completed);
            (base_m, lap_s) = (0.0, 0.0);
            env.reset_in_place(None, start.reset_at(0.0))?;
        } else if term || trunc {
            if info.episode_status == EpisodeStatus::OffTrack {
                h.off_track += 1;
                lap_s += args.off_track_penalty.as_secs_f64();
            }
            base_m = covered;
            env.reset_in_place(None, start.reset_at(base_m))?;
        }
    }
    eprintln!("sim serve: session ended");
    Ok(())
}
