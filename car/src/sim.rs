//! The chicane simulator as a virtual camera and car: `chicane sim serve`
//! runs the physics and the camera renderer in its own process (the car
//! runtime never links the simulator); this module speaks its protocol
//! over a local TCP socket.
//!
//! Protocol (all lines are JSON, `\n`-terminated):
//! 1. server -> car: a hello `{"width", "height", "channels", "action_hz",
//!    "track", "track_length"}`;
//! 2. server -> car: a frame header [`SimFrameHeader`] followed by
//!    `width * height * channels` raw bytes (`[C, H, W]` u8);
//! 3. car -> server: a command `{"steering_angle_deg": f, "speed": f}`; the
//!    server advances one action step (1 / `action_hz` s) and answers with
//!    the next frame (2). `{"stop": true}` or closing the socket ends it.

use crate::actuator::Actuator;
use crate::calibration::Channel;
use crate::camera::{Camera, FrameFormat};
use crate::control::Command;
use crate::error::CarError;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

/// The server's greeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimHello {
    /// Frame width (px).
    pub width: usize,
    /// Frame height (px).
    pub height: usize,
    /// Frame channels.
    pub channels: usize,
    /// Action rate (Hz): each command advances 1 / `action_hz` s.
    pub action_hz: f64,
    /// Track name.
    pub track: String,
    /// Track length (m).
    pub track_length: f64,
}

/// What the simulator says with every frame (DeepRacer evaluation rules:
/// off-track resets where the car left, with a time penalty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimFrameHeader {
    /// Simulated time since the start (s).
    pub t: f64,
    /// Progress of the current lap (%).
    pub progress: f64,
    /// Laps completed.
    pub laps_completed: u32,
    /// Times of the completed laps (s), penalties included.
    pub lap_times_s: Vec<f64>,
    /// Off-track resets so far.
    pub off_track: u32,
    /// The last step's DeepRacer episode status.
    pub status: String,
    /// Car position (m).
    pub x: f64,
    /// Car position (m).
    pub y: f64,
    /// Bytes of frame data that follow.
    pub bytes: usize,
}

/// A command to the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimCommand {
    /// Steering angle (deg, positive = left).
    pub steering_angle_deg: f64,
    /// Speed (m/s).
    pub speed: f64,
}

/// The latest state the simulator reported, shared by its camera and car.
pub type SimStatus = Arc<Mutex<SimFrameHeader>>;

/// A connection to `chicane sim serve`, and the server process when this
/// side started it.
pub struct SimLink {
    /// The greeting.
    pub hello: SimHello,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    child: Option<Child>,
    /// The latest frame header.
    pub status: SimStatus,
}

/// Finds the `chicane` binary: `$CHICANE_BIN`, else beside this executable
/// (cargo builds both into one folder), else on `PATH`.
fn chicane_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CHICANE_BIN") {
        return p.into();
    }
    if let Ok(exe) = std::env::current_exe() {
        let sibling = exe.with_file_name("chicane");
        if sibling.is_file() {
            return sibling;
        }
    }
    "chicane".into()
}

impl SimLink {
    /// Starts `chicane sim serve` for `track` (empty: the config's track)
    /// with the training config `config` and connects to it on 127.0.0.1.
    ///
    /// # Errors
    /// [`CarError::Camera`] if the simulator cannot be started or reached.
    pub fn spawn(track: &str, config: &Path) -> Result<SimLink, CarError> {
        let bad = |problem: String| CarError::Camera {
            source_name: format!("sim:{track}"),
            problem,
        };
        let bin = chicane_bin();
        let mut cmd = std::process::Command::new(&bin);
        cmd.args(["sim", "serve", "--listen", "127.0.0.1:0"]);
        if !track.is_empty() {
            cmd.args(["--track", track]);
        }
        let mut child = cmd
            .arg("--config")
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                bad(format!(
                    "cannot start {} ({e}); install chicane or set CHICANE_BIN",
                    bin.display()
                ))
            })?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| bad(e.to_string()))?;
        }
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let status = child.wait().ok();
            return Err(bad(format!(
                "the simulator did not start ({}); see its error above",
                status.map_or_else(|| "no status".into(), |s| s.to_string())
            )));
        };
        let mut link = SimLink::connect(addr)?;
        link.child = Some(child);
        Ok(link)
    }

    /// Connects to a running `chicane sim serve` at `addr` (`HOST:PORT`).
    ///
    /// # Errors
    /// [`CarError::Camera`] if it cannot be reached or greets wrongly.
    pub fn connect(addr: &str) -> Result<SimLink, CarError> {
        let bad = |problem: String| CarError::Camera {
            source_name: format!("sim@{addr}"),
            problem,
        };
        let stream = TcpStream::connect(addr).map_err(|e| bad(e.to_string()))?;
        stream.set_nodelay(true).map_err(|e| bad(e.to_string()))?;
        let writer = stream.try_clone().map_err(|e| bad(e.to_string()))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| bad(e.to_string()))?;
        let hello: SimHello =
            serde_json::from_str(&line).map_err(|e| bad(format!("bad greeting: {e}")))?;
        Ok(SimLink {
            hello,
            reader,
            writer,
            child: None,
            status: Arc::default(),
        })
    }

    /// Splits into the camera and the car.
    ///
    /// # Errors
    /// [`CarError::Camera`] if the socket cannot be shared.
    pub fn split(self) -> Result<(SimCamera, SimCar), CarError> {
        let fmt = FrameFormat {
            channels: self.hello.channels,
            height: self.hello.height,
            width: self.hello.width,
        };
        let car = SimCar {
            writer: self.writer,
            child: self.child,
        };
        Ok((
            SimCamera {
                reader: self.reader,
                fmt,
                status: self.status,
                max_laps: None,
            },
            car,
        ))
    }
}

/// The simulated camera.
pub struct SimCamera {
    reader: BufReader<TcpStream>,
    fmt: FrameFormat,
    status: SimStatus,
    max_laps: Option<u32>,
}

impl SimCamera {
    /// Ends the stream after `laps` completed laps.
    pub fn with_max_laps(mut self, laps: Option<u32>) -> Self {
        self.max_laps = laps;
        self
    }

    /// The shared status.
    pub fn status(&self) -> SimStatus {
        Arc::clone(&self.status)
    }
}

impl Camera for SimCamera {
    fn format(&self) -> FrameFormat {
        self.fmt
    }

    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool, CarError> {
        let bad = |problem: String| CarError::Camera {
            source_name: "sim".into(),
            problem,
        };
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(|e| bad(e.to_string()))?;
        if n == 0 {
            return Ok(false);
        }
        let header: SimFrameHeader =
            serde_json::from_str(&line).map_err(|e| bad(format!("bad frame header: {e}")))?;
        if header.bytes != self.fmt.len() {
            return Err(bad(format!(
                "frame of {} bytes, expected {}",
                header.bytes,
                self.fmt.len()
            )));
        }
        out.resize(header.bytes, 0);
        self.reader
            .read_exact(out)
            .map_err(|e| bad(e.to_string()))?;
        let laps = header.laps_completed;
        if let Ok(mut s) = self.status.lock() {
            *s = header;
        }
        Ok(self.max_laps.is_none_or(|m| laps < m))
    }
}

/// The simulated car: commands become the simulator's steering angle and
/// speed (the physical targets of [`Command`], after the throttle cap).
pub struct SimCar {
    writer: TcpStream,
    child: Option<Child>,
}

impl SimCar {
    fn send(&mut self, value: &impl Serialize) -> Result<(), CarError> {
        let mut line = serde_json::to_string(value).map_err(|e| CarError::Actuator {
            actuator: "sim".into(),
            problem: e.to_string(),
        })?;
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| CarError::Actuator {
                actuator: "sim".into(),
                problem: format!("the simulator went away: {e}"),
            })
    }
}

impl Actuator for SimCar {
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError> {
        self.send(&SimCommand {
            steering_angle_deg: cmd.steering_angle_deg,
            speed: cmd.speed,
        })
    }

    /// The simulated clock only runs with commands, so a stopped loop
    /// already stops the car; neutral sends nothing (sending would advance
    /// the simulation by a step and put frames and commands out of step).
    fn neutral(&mut self) -> Result<(), CarError> {
        Ok(())
    }

    fn set_pulse(&mut self, _channel: Channel, _pulse_ms: f64) -> Result<(), CarError> {
        Err(CarError::Actuator {
            actuator: "sim".into(),
            problem: "the simulator takes commands, not pulse widths; calibrate real hardware"
                .into(),
        })
    }
}

impl Drop for SimCar {
    fn drop(&mut self) {
        let _ = self.send(&serde_json::json!({"stop": true}));
        let _ = self.writer.shutdown(std::net::Shutdown::Both);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}
