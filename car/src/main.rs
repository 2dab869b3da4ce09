//! `chicane-car`: drive a car with an exported chicane model.

use anyhow::{Context, Result, bail};
use chicane_car::sim::{SimFrameHeader, SimLink};
use chicane_car::{
    Actuator, Bundle, Calibration, Camera, Channel, ControlConfig, DryRun, FrameFormat, OnnxPolicy,
    OutputKind, Percentiles, Policy, ReplayCamera, RunOptions, RunReport, SysfsPwm, TestPattern,
};
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Drive a 1/18-scale car with a model exported by `chicane export`.
#[derive(Debug, Parser)]
#[command(name = "chicane-car", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the control loop: camera -> model -> steering servo and ESC.
    Run(RunArgs),
    /// Find the servo's and the ESC's pulse widths and save calibration.json
    /// (commands from stdin; `help` lists them).
    Calibrate(CalibrateArgs),
    /// Time preprocessing and inference per frame (docs/BENCHMARKS.md).
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The model bundle (`chicane export RUN --out model.tar.gz`).
    #[arg(long)]
    model: PathBuf,
    /// Frames from: `test-pattern`, `test-pattern:stall-after=N` (drills the
    /// watchdog), a folder of images or a .gif (replay), `sim:TRACK` (start
    /// the simulator), `sim@HOST:PORT` (a running `chicane sim serve`), or a
    /// V4L2 device such as /dev/video0 (feature `v4l2`).
    #[arg(long)]
    camera: String,
    /// Commands to: `dry-run` (log them), `sim`, `sysfs:deepracer` (the stock
    /// DeepRacer car's PWM chip, found by its PCI device),
    /// `sysfs:/sys/class/pwm/pwmchip0` (Linux PWM), or
    /// `pca9685:/dev/i2c-1[@0x40]` (I2C servo board).
    #[arg(long, default_value = "dry-run")]
    actuator: String,
    /// Pulse widths and channels: chicane's calibration.json, or the stock
    /// car's /opt/aws/deepracer/calibration.json as its servo package wrote
    /// it (ESC on channel 0, servo on channel 1) [default: DeepRacer's pulse
    /// widths, steering 1.20/1.45/1.70 ms on channel 0, ESC 1.311/1.446/1.6035
    /// ms on channel 1, 50 Hz].
    #[arg(long)]
    calibration: Option<PathBuf>,
    /// Throttle cap, 0..1.
    #[arg(long, default_value_t = 0.6)]
    max_throttle: f64,
    /// Scale on DeepRacer's speed->throttle curve (the console's maximum
    /// speed percentage as a fraction).
    #[arg(long, default_value_t = 1.0)]
    throttle_scale: f64,
    /// Loop rate (Hz); 0 = as fast as frames come.
    #[arg(long, default_value_t = 15.0)]
    hz: f64,
    /// Neutral when no frame or no decision comes for this long.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "200ms")]
    watchdog: Duration,
    /// Stop after this many frames.
    #[arg(long)]
    max_frames: Option<u64>,
    /// Replay the folder or GIF forever.
    #[arg(long = "loop")]
    looped: bool,
    /// With `sim:`: stop after this many completed laps.
    #[arg(long)]
    laps: Option<u32>,
    /// Log every decision to this CSV file.
    #[arg(long)]
    log_csv: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct CalibrateArgs {
    /// Where to send pulses (see `run --actuator`).
    #[arg(long, default_value = "dry-run")]
    actuator: String,
    /// The calibration file to create or update.
    #[arg(long, default_value = "calibration.json")]
    calibration: PathBuf,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// The model bundle.
    #[arg(long)]
    model: PathBuf,
    /// Frames from (see `run --camera`; replays loop).
    #[arg(long, default_value = "test-pattern")]
    camera: String,
    /// Frames to time.
    #[arg(long, default_value_t = 1000)]
    frames: usize,
    /// Untimed frames first.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The camera frames and preprocessing the bundle's model needs.
fn frame_format(bundle: &Bundle) -> Result<(FrameFormat, chicane_core::Preprocess)> {
    let Some(p) = bundle.spec.camera else {
        bail!(
            "{}: this model has no camera input (lidar only); chicane-car drives camera models",
            bundle.path.display()
        );
    };
    if bundle.spec.lidar.is_some() {
        bail!(
            "{}: this model also needs a lidar, which chicane-car cannot read yet; train a \
             camera-only model",
            bundle.path.display()
        );
    }
    let fmt = FrameFormat {
        channels: p.channels,
        height: p.height,
        width: p.width,
    };
    Ok((fmt, p))
}

/// Opens a camera that is not the simulator.
fn open_camera(spec: &str, fmt: FrameFormat, looped: bool) -> Result<Box<dyn Camera>> {
    if spec == "test-pattern" {
        return Ok(Box::new(TestPattern::new(fmt, None)));
    }
    if let Some(rest) = spec.strip_prefix("test-pattern:") {
        let n = rest
            .strip_prefix("stall-after=")
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("--camera {spec}: expected test-pattern:stall-after=N"))?;
        return Ok(Box::new(TestPattern::new(fmt, Some(n))));
    }
    if spec.starts_with("/dev/video") {
        #[cfg(feature = "v4l2")]
        return Ok(Box::new(chicane_car::V4l2Camera::open(
            Path::new(spec),
            fmt,
        )?));
        #[cfg(not(feature = "v4l2"))]
        bail!("--camera {spec}: this build has no V4L2 support; rebuild with `--features v4l2`");
    }
    Ok(Box::new(ReplayCamera::open(Path::new(spec), fmt, looped)?))
}

fn open_actuator(spec: &str, cal: Calibration) -> Result<Box<dyn Actuator>> {
    if spec == "dry-run" {
        return Ok(Box::new(DryRun::new(cal, Box::new(std::io::stdout()))));
    }
    if spec == "sysfs:deepracer" {
        let chip = chicane_car::deepracer_pwm_chip(Path::new("/sys/class/pwm"))?;
        return Ok(Box::new(SysfsPwm::open(&chip, cal)?));
    }
    if let Some(chip) = spec.strip_prefix("sysfs:") {
        return Ok(Box::new(SysfsPwm::open(Path::new(chip), cal)?));
    }
    if let Some(rest) = spec.strip_prefix("pca9685:") {
        #[cfg(feature = "pca9685")]
        {
            let (bus, addr) = match rest.split_once('@') {
                Some((b, a)) => {
                    let a = a.trim_start_matches("0x");
                    let addr = u8::from_str_radix(a, 16)
                        .with_context(|| format!("--actuator {spec}: bad I2C address"))?;
                    (b, addr)
                }
                None => (rest, 0x40),
            };
            return Ok(Box::new(chicane_car::Pca9685::open(
                Path::new(bus),
                addr,
                cal,
            )?));
        }
        #[cfg(not(feature = "pca9685"))]
        bail!("--actuator pca9685:{rest}: this build has no PCA9685 support (feature pca9685)");
    }
    if spec == "sim" {
        bail!("--actuator sim needs --camera sim:TRACK or sim@HOST:PORT");
    }
    bail!(
        "--actuator {spec}: unknown; use dry-run, sim, sysfs:deepracer (the stock car's PWM), \
         sysfs:/sys/class/pwm/pwmchipN or pca9685:/dev/i2c-N[@0x40]"
    )
}

fn print_report(r: &RunReport) {
    eprintln!(
        "{} decisions at {:.1} Hz; watchdog trips {}, overruns {}; stopped: {:?}",
        r.decisions, r.loop_hz, r.watchdog_trips, r.overruns, r.stop
    );
    eprintln!("latency (ms)     p50      p90      p99      max");
    let row = |name: &str, p: &Percentiles| {
        eprintln!(
            "{name:<12} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
            p.p50, p.p90, p.p99, p.max
        );
    };
    row("capture", &r.capture_ms);
    row("preprocess", &r.preprocess_ms);
    row("inference", &r.inference_ms);
    row("actuate", &r.actuate_ms);
}

fn cmd_run(args: RunArgs) -> Result<()> {
    let bundle = Bundle::open(&args.model)?;
    let (fmt, preprocess) = frame_format(&bundle)?;
    let cal = match &args.calibration {
        Some(p) => Calibration::load(p)?,
        None => Calibration::default(),
    };
    let control = ControlConfig {
        action_space: bundle.metadata.action_space.clone(),
        output: bundle.spec.output,
        throttle_scale: args.throttle_scale,
        max_throttle: args.max_throttle,
    };
    control.validate()?;
    let mut policy = OnnxPolicy::load(&bundle)?;
    eprintln!(
        "model {} ({}, {} {}), camera {}x{}x{}, stack {}",
        args.model.display(),
        bundle.spec.network,
        bundle.spec.output_len,
        match bundle.spec.output {
            OutputKind::Probabilities => "actions",
            OutputKind::GaussianMean => "continuous outputs",
        },
        fmt.channels,
        fmt.height,
        fmt.width,
        preprocess.stack_size
    );
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot install the Ctrl-C/SIGTERM handler")?;
    }
    let mut sim_status = None;
    let tmp = std::env::temp_dir().join(format!("chicane-car-{}", std::process::id()));
    let (camera, mut actuator): (Box<dyn Camera>, Box<dyn Actuator>) =
        if let Some(target) = args.camera.strip_prefix("sim") {
            if args.actuator != "sim" {
                bail!(
                    "--camera {} drives the simulated car: use --actuator sim",
                    args.camera
                );
            }
            let link = if let Some(track) = target.strip_prefix(':') {
                std::fs::create_dir_all(&tmp).with_context(|| tmp.display().to_string())?;
                let config = bundle.write_config(&tmp)?;
                SimLink::spawn(track, &config)?
            } else if let Some(addr) = target.strip_prefix('@') {
                SimLink::connect(addr)?
            } else {
                bail!("--camera {}: use sim:TRACK or sim@HOST:PORT", args.camera);
            };
            let (cam, car) = link.split()?;
            let cam = cam.with_max_laps(args.laps);
            sim_status = Some(cam.status());
            (Box::new(cam), Box::new(car))
        } else {
            if args.actuator == "sim" {
                bail!("--actuator sim needs --camera sim:TRACK or sim@HOST:PORT");
            }
            (
                open_camera(&args.camera, fmt, args.looped)?,
                open_actuator(&args.actuator, cal)?,
            )
        };
    let opts = RunOptions {
        hz: args.hz,
        watchdog: args.watchdog,
        max_frames: args.max_frames,
    };
    let mut log_file = match &args.log_csv {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("--log-csv {}", p.display()))?,
        )),
        None => None,
    };
    let result = chicane_car::run(
        camera,
        preprocess,
        &mut policy as &mut dyn Policy,
        actuator.as_mut(),
        &control,
        &opts,
        &stop,
        log_file.as_mut().map(|f| f as &mut dyn Write),
    );
    drop(actuator);
    let _ = std::fs::remove_dir_all(&tmp);
    if let Some(mut f) = log_file {
        f.flush().context("--log-csv")?;
    }
    let report = result?;
    let sim: Option<SimFrameHeader> = sim_status.and_then(|s| s.lock().ok().map(|s| s.clone()));
    if let Some(s) = &sim {
        for (i, t) in s.lap_times_s.iter().enumerate() {
            println!("lap {}: {t:.3} s", i + 1);
        }
        println!(
            "simulator: {} lap(s) completed, {} off-track reset(s), progress {:.1}%",
            s.laps_completed, s.off_track, s.progress
        );
    }
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(s) = &sim {
            v["sim"] = serde_json::to_value(s)?;
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    print_report(&report);
    Ok(())
}

const CALIBRATE_HELP: &str = "commands:
  steering MS | throttle MS        send a pulse (ms) to that channel
  save steering|throttle min|mid|max   store the last pulse sent to that channel
  polarity steering|throttle 1|-1  reverse a channel
  channel steering|throttle N      its PWM channel
  pwm-hz HZ                        PWM frequency
  show                             print the calibration
  quit                             neutral and exit";

fn cmd_calibrate(args: CalibrateArgs) -> Result<()> {
    let mut cal = if args.calibration.is_file() {
        Calibration::load(&args.calibration)?
    } else {
        Calibration::default()
    };
    let mut act = open_actuator(&args.actuator, cal)?;
    let mut last: [Option<f64>; 2] = [None, None];
    let idx = |c: Channel| usize::from(c == Channel::Throttle);
    let channel = |s: &str| match s {
        "steering" => Ok(Channel::Steering),
        "throttle" => Ok(Channel::Throttle),
        _ => Err(anyhow::anyhow!("`{s}`: say steering or throttle")),
    };
    eprintln!("{CALIBRATE_HELP}");
    let stdin = std::io::stdin();
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.context("stdin")?;
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut step = || -> Result<bool> {
            match words.as_slice() {
                [] => {}
                ["quit" | "exit"] => return Ok(false),
                ["help"] => eprintln!("{CALIBRATE_HELP}"),
                ["show"] => println!("{}", serde_json::to_string_pretty(&cal)?),
                [ch @ ("steering" | "throttle"), ms] => {
                    let ms: f64 = ms
                        .parse()
                        .with_context(|| format!("`{ms}` is not a number"))?;
                    if !(0.5..=2.5).contains(&ms) {
                        bail!("{ms} ms is outside 0.5..2.5 ms; servos take about 1-2 ms");
                    }
                    let c = channel(ch)?;
                    act.set_pulse(c, ms)?;
                    last[idx(c)] = Some(ms);
                }
                ["save", ch, which] => {
                    let c = channel(ch)?;
                    let ms = last[idx(c)]
                        .with_context(|| format!("send a {ch} pulse first, e.g. `{ch} 1.45`"))?;
                    let cc = cal.channel_mut(c);
                    match *which {
                        "min" => cc.min_ms = ms,
                        "mid" => cc.mid_ms = ms,
                        "max" => cc.max_ms = ms,
                        w => bail!("`{w}`: say min, mid or max"),
                    }
                    save(&cal, &args.calibration);
                }
                ["polarity", ch, p] => {
                    cal.channel_mut(channel(ch)?).polarity =
                        p.parse().with_context(|| format!("`{p}`: say 1 or -1"))?;
                    save(&cal, &args.calibration);
                }
                ["channel", ch, k] => {
                    cal.channel_mut(channel(ch)?).channel = k
                        .parse()
                        .with_context(|| format!("`{k}`: a channel number 0..15"))?;
                    save(&cal, &args.calibration);
                }
                ["pwm-hz", hz] => {
                    cal.pwm_hz = hz
                        .parse()
                        .with_context(|| format!("`{hz}` is not a number"))?;
                    save(&cal, &args.calibration);
                }
                _ => bail!("unknown command; type `help`"),
            }
            Ok(true)
        };
        match step() {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => eprintln!("line {}: {e:#}", n + 1),
        }
    }
    act.neutral()?;
    cal.validate()
        .map_err(|p| anyhow::anyhow!("{}: not saved: {p}", args.calibration.display()))?;
    Ok(())
}

fn save(cal: &Calibration, path: &Path) {
    match cal.validate() {
        Ok(()) => match cal.save(path) {
            Ok(()) => eprintln!("saved {}", path.display()),
            Err(e) => eprintln!("{e}"),
        },
        Err(p) => eprintln!("not saved yet: {p}"),
    }
}

fn cmd_bench(args: BenchArgs) -> Result<()> {
    let bundle = Bundle::open(&args.model)?;
    let (fmt, preprocess) = frame_format(&bundle)?;
    let mut policy = OnnxPolicy::load(&bundle)?;
    let mut camera = open_camera(&args.camera, fmt, true)?;
    let mut stack = chicane_core::FrameStack::new(preprocess);
    let mut frame = Vec::new();
    let (mut pre, mut inf, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..args.warmup + args.frames {
        if !camera.next_frame(&mut frame)? {
            bail!("--camera {}: ran out of frames", args.camera);
        }
        let t0 = Instant::now();
        stack.push(&frame);
        let t1 = Instant::now();
        let out = policy.infer(stack.observation(), &[])?;
        let t2 = Instant::now();
        std::hint::black_box(out);
        if i >= args.warmup {
            pre.push((t1 - t0).as_secs_f64() * 1e3);
            inf.push((t2 - t1).as_secs_f64() * 1e3);
            total.push((t2 - t0).as_secs_f64() * 1e3);
        }
    }
    let (p, i, t) = (
        Percentiles::of(&pre),
        Percentiles::of(&inf),
        Percentiles::of(&total),
    );
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "network": bundle.spec.network,
                "frames": args.frames,
                "preprocess_ms": p,
                "inference_ms": i,
                "total_ms": t,
            }))?
        );
    } else {
        println!(
            "{} ({}x{}x{} frames), {} frames, one thread",
            bundle.spec.network, fmt.channels, fmt.height, fmt.width, args.frames
        );
        println!("(ms)            p50      p90      p99      max");
        for (name, q) in [("preprocess", &p), ("inference", &i), ("total", &t)] {
            println!(
                "{name:<12} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
                q.p50, q.p90, q.p99, q.max
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(a) => cmd_run(a),
        Cmd::Calibrate(a) => cmd_calibrate(a),
        Cmd::Bench(a) => cmd_bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
