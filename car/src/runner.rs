//! The control loop: camera -> preprocessing -> policy -> command ->
//! actuator, with the safety rules.
//!
//! - The camera runs on its own thread; the loop waits for frames at most
//!   the watchdog timeout (default 200 ms). When none comes, the car gets
//!   neutral (wheels straight, motor stopped) until frames return.
//! - When preprocessing plus inference take longer than the watchdog
//!   timeout, the late command is dropped and the car gets neutral.
//! - On a stop request (Ctrl-C, SIGTERM), at the end of a replay and on
//!   any error, the car gets neutral before the loop returns.

use crate::actuator::Actuator;
use crate::camera::Camera;
use crate::control::{Command, ControlConfig, Decision, decide};
use crate::error::CarError;
use crate::policy::Policy;
use chicane_core::{FrameStack, Preprocess};
use serde::Serialize;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

/// Loop settings.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Target loop rate (Hz); 0 = as fast as frames come (replays and the
    /// simulator). Default 15 (DeepRacer's camera rate).
    pub hz: f64,
    /// No frame, or no decision, for this long -> neutral. Default 200 ms.
    pub watchdog: Duration,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            hz: 15.0,
            watchdog: Duration::from_millis(200),
            max_frames: None,
        }
    }
}

/// Latency percentiles of one stage (ms).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Worst.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of `samples_ms` (nearest rank).
    pub fn of(samples_ms: &[f64]) -> Percentiles {
        if samples_ms.is_empty() {
            return Percentiles::default();
        }
        let mut v = samples_ms.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: v[v.len() - 1],
        }
    }
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Ctrl-C or SIGTERM.
    Signal,
    /// The replay (or the simulator's lap count) ended.
    EndOfStream,
    /// `max_frames` reached.
    MaxFrames,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Frames turned into commands.
    pub decisions: u64,
    /// Times the watchdog sent neutral because no frame came.
    pub watchdog_trips: u64,
    /// Decisions dropped because they took longer than the watchdog.
    pub overruns: u64,
    /// Mean loop rate (Hz) over the run.
    pub loop_hz: f64,
    /// Camera wait per frame (ms).
    pub capture_ms: Percentiles,
    /// Preprocessing per frame (ms).
    pub preprocess_ms: Percentiles,
    /// Inference per frame (ms).
    pub inference_ms: Percentiles,
    /// Actuator write per frame (ms).
    pub actuate_ms: Percentiles,
    /// Why it stopped.
    pub stop: EndReason,
}

/// One decision, as logged to CSV.
fn csv_row(
    out: &mut dyn Write,
    frame: u64,
    t: f64,
    d: Option<&Decision>,
    cmd: &Command,
    times: [f64; 4],
    event: &str,
) -> std::io::Result<()> {
    let (action, conf) = d.map_or((String::new(), String::new()), |d| {
        (
            d.action.map_or_else(String::new, |a| a.to_string()),
            format!("{:.5}", d.confidence),
        )
    });
    writeln!(
        out,
        "{frame},{t:.4},{action},{conf},{:.3},{:.4},{:.4},{:.4},{:.3},{:.3},{:.3},{:.3},{event}",
        cmd.steering_angle_deg,
        cmd.speed,
        cmd.steering,
        cmd.throttle,
        times[0],
        times[1],
        times[2],
        times[3]
    )
}

/// The CSV log's header line.
pub const CSV_HEADER: &str = "frame,t_s,action,confidence,steering_angle_deg,speed,steering,throttle,capture_ms,preprocess_ms,inference_ms,actuate_ms,event";

enum Msg {
    Frame(Vec<u8>, f64),
    End,
    Err(CarError),
}

/// Runs the loop until a stop request, the end of the stream or
/// `max_frames`. Neutral is sent on every way out.
///
/// # Errors
/// The first camera, model or actuator error (after neutral was sent).
#[allow(clippy::too_many_arguments)]
pub fn run(
    mut camera: Box<dyn Camera>,
    preprocess: Preprocess,
    policy: &mut dyn Policy,
    actuator: &mut dyn Actuator,
    control: &ControlConfig,
    opts: &RunOptions,
    stop: &Arc<AtomicBool>,
    mut log: Option<&mut dyn Write>,
) -> Result<RunReport, CarError> {
    let fmt = camera.format();
    if (fmt.channels, fmt.height, fmt.width)
        != (preprocess.channels, preprocess.height, preprocess.width)
    {
        let _ = actuator.neutral();
        return Err(CarError::config(
            "--camera",
            format!(
                "the camera gives {}x{}x{} frames but the model was trained on {}x{}x{} \
                 (channels x height x width)",
                fmt.channels,
                fmt.height,
                fmt.width,
                preprocess.channels,
                preprocess.height,
                preprocess.width
            ),
        ));
    }
    let (tx, rx) = sync_channel::<Msg>(1);
    let cam_stop = Arc::clone(stop);
    std::thread::Builder::new()
        .name("camera".into())
        .spawn(move || {
            loop {
                let mut buf = Vec::new();
                let t0 = Instant::now();
                let msg = match camera.next_frame(&mut buf) {
                    Ok(true) => Msg::Frame(buf, t0.elapsed().as_secs_f64() * 1e3),
                    Ok(false) => Msg::End,
                    Err(e) => Msg::Err(e),
                };
                let last = !matches!(msg, Msg::Frame(..));
                if tx.send(msg).is_err() || last || cam_stop.load(Ordering::Relaxed) {
                    return;
                }
            }
        })
        .map_err(|e| CarError::Camera {
            source_name: "camera thread".into(),
            problem: e.to_string(),
        })?;
    let result = drive(
        &rx, preprocess, policy, actuator, control, opts, stop, &mut log,
    );
    // whatever happened, stop the car
    let neutral = actuator.neutral();
    let report = result?;
    neutral?;
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn drive(
    rx: &std::sync::mpsc::Receiver<Msg>,
    preprocess: Preprocess,
    policy: &mut dyn Policy,
    actuator: &mut dyn Actuator,
    control: &ControlConfig,
    opts: &RunOptions,
    stop: &Arc<AtomicBool>,
    log: &mut Option<&mut dyn Write>,
) -> Result<RunReport, CarError> {
    let log_err = |e: std::io::Error| CarError::io("--log-csv", e);
    if let Some(l) = log.as_deref_mut() {
        writeln!(l, "{CSV_HEADER}").map_err(log_err)?;
    }
    let mut stack = FrameStack::new(preprocess);
    let period = (opts.hz > 0.0).then(|| Duration::from_secs_f64(1.0 / opts.hz));
    let start = Instant::now();
    let mut next_tick = start;
    let mut last_frame = Instant::now();
    let mut neutral_sent = true;
    let (mut cap, mut pre, mut inf, mut act) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut decisions, mut trips, mut overruns, mut frames) = (0u64, 0u64, 0u64, 0u64);
    actuator.neutral()?;
    let stop_reason = loop {
        if stop.load(Ordering::Relaxed) {
            break EndReason::Signal;
        }
        if opts.max_frames.is_some_and(|m| frames >= m) {
            break EndReason::MaxFrames;
        }
        // wake at least every 20 ms to see stop requests
        let wait = opts.watchdog.min(Duration::from_millis(20));
        let (frame, capture_ms) = match rx.recv_timeout(wait) {
            Ok(Msg::Frame(f, ms)) => (f, ms),
            Ok(Msg::End) | Err(RecvTimeoutError::Disconnected) => break EndReason::EndOfStream,
            Ok(Msg::Err(e)) => return Err(e),
            Err(RecvTimeoutError::Timeout) => {
                if !neutral_sent && last_frame.elapsed() >= opts.watchdog {
                    actuator.neutral()?;
                    neutral_sent = true;
                    trips += 1;
                    eprintln!(
                        "watchdog: no camera frame for {} ms: neutral",
                        opts.watchdog.as_millis()
                    );
                    if let Some(l) = log.as_deref_mut() {
                        let t = start.elapsed().as_secs_f64();
                        csv_row(l, frames, t, None, &Command::NEUTRAL, [0.0; 4], "watchdog")
                            .map_err(log_err)?;
                    }
                }
                continue;
            }
        };
        last_frame = Instant::now();
        let t0 = Instant::now();
        if frames == 0 {
            stack.reset(&frame);
        } else {
            stack.push(&frame);
        }
        frames += 1;
        let pre_ms = t0.elapsed().as_secs_f64() * 1e3;
        let t1 = Instant::now();
        let output = policy.infer(stack.observation(), &[])?;
        let inf_ms = t1.elapsed().as_secs_f64() * 1e3;
        let decision = decide(control, &output)?;
        let t2 = Instant::now();
        let late = t0.elapsed() > opts.watchdog;
        let (cmd, event) = if late {
            overruns += 1;
            eprintln!(
                "watchdog: decision took {:.0} ms (> {} ms): neutral",
                t0.elapsed().as_secs_f64() * 1e3,
                opts.watchdog.as_millis()
            );
            actuator.neutral()?;
            neutral_sent = true;
            (Command::NEUTRAL, "overrun")
        } else {
            actuator.apply(&decision.command)?;
            neutral_sent = false;
            (decision.command, "drive")
        };
        let act_ms = t2.elapsed().as_secs_f64() * 1e3;
        decisions += 1;
        cap.push(capture_ms);
        pre.push(pre_ms);
        inf.push(inf_ms);
        act.push(act_ms);
        if let Some(l) = log.as_deref_mut() {
            let t = start.elapsed().as_secs_f64();
            csv_row(
                l,
                frames,
                t,
                Some(&decision),
                &cmd,
                [capture_ms, pre_ms, inf_ms, act_ms],
                event,
            )
            .map_err(log_err)?;
        }
        if let Some(p) = period {
            next_tick += p;
            let now = Instant::now();
            if next_tick > now {
                std::thread::sleep(next_tick - now);
            } else {
                next_tick = now;
            }
        }
    };
    let secs = start.elapsed().as_secs_f64();
    Ok(RunReport {
        decisions,
        watchdog_trips: trips,
        overruns,
        loop_hz: if secs > 0.0 {
            decisions as f64 / secs
        } else {
            0.0
        },
        capture_ms: Percentiles::of(&cap),
        preprocess_ms: Percentiles::of(&pre),
        inference_ms: Percentiles::of(&inf),
        actuate_ms: Percentiles::of(&act),
        stop: stop_reason,
    })
}
