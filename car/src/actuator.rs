//! Actuators: where commands go. Each turns a [`Command`] into pulse widths
//! through the [`Calibration`].

use crate::calibration::{Calibration, Channel};
use crate::control::Command;
use crate::error::CarError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Something that moves the car.
pub trait Actuator: Send {
    /// Applies a command.
    ///
    /// # Errors
    /// [`CarError::Actuator`] when the hardware cannot be written.
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError>;

    /// Wheels straight, motor stopped.
    ///
    /// # Errors
    /// As [`Actuator::apply`].
    fn neutral(&mut self) -> Result<(), CarError> {
        self.apply(&Command::NEUTRAL)
    }

    /// Sets one channel to a raw pulse width (ms), for calibration.
    ///
    /// # Errors
    /// As [`Actuator::apply`].
    fn set_pulse(&mut self, channel: Channel, pulse_ms: f64) -> Result<(), CarError>;
}

/// Logs every command (with the pulse widths it would send) to a writer.
pub struct DryRun {
    calibration: Calibration,
    out: Box<dyn Write + Send>,
    start: Instant,
}

impl DryRun {
    /// A dry-run actuator logging to `out`.
    pub fn new(calibration: Calibration, out: Box<dyn Write + Send>) -> Self {
        Self {
            calibration,
            out,
            start: Instant::now(),
        }
    }

    fn log(&mut self, line: std::fmt::Arguments<'_>) -> Result<(), CarError> {
        writeln!(self.out, "{line}")
            .and_then(|()| self.out.flush())
            .map_err(|e| CarError::Actuator {
                actuator: "dry-run".into(),
                problem: e.to_string(),
            })
    }
}

impl Actuator for DryRun {
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError> {
        let c = self.calibration;
        let t = self.start.elapsed().as_secs_f64();
        let kind = if *cmd == Command::NEUTRAL {
            "neutral"
        } else {
            "drive"
        };
        self.log(format_args!(
            "dry-run t={t:.3} {kind} steering={:+.3} ({:.4} ms) throttle={:+.3} ({:.4} ms) \
             steering_angle={:+.1} deg speed={:.2} m/s",
            cmd.steering,
            c.steering.pulse_ms(cmd.steering),
            cmd.throttle,
            c.throttle.pulse_ms(cmd.throttle),
            cmd.steering_angle_deg,
            cmd.speed
        ))
    }

    fn set_pulse(&mut self, channel: Channel, pulse_ms: f64) -> Result<(), CarError> {
        let ch = self.calibration.channel(channel).channel;
        self.log(format_args!(
            "dry-run pulse {channel:?} (channel {ch}) = {pulse_ms:.4} ms"
        ))
    }
}

/// Linux PWM through sysfs (`/sys/class/pwm/pwmchipN`): each channel's
/// `period`, `duty_cycle` (ns) and `enable` files.
pub struct SysfsPwm {
    chip: PathBuf,
    calibration: Calibration,
}

impl SysfsPwm {
    /// Exports and enables the calibration's two channels on `chip`, at
    /// neutral.
    ///
    /// # Errors
    /// [`CarError::Actuator`] naming the sysfs file that could not be
    /// written (permissions: add the user to the `gpio`/`pwm` group or run
    /// as root).
    pub fn open(chip: &Path, calibration: Calibration) -> Result<SysfsPwm, CarError> {
        let pwm = SysfsPwm {
            chip: chip.into(),
            calibration,
        };
        let period_ns = (1e9 / calibration.pwm_hz).round() as u64;
        for ch in [Channel::Steering, Channel::Throttle] {
            let n = calibration.channel(ch).channel;
            let dir = pwm.chip.join(format!("pwm{n}"));
            if !dir.is_dir() {
                pwm.write(&pwm.chip.join("export"), &n.to_string())?;
                // udev may take a moment to create the channel's folder
                let t0 = Instant::now();
                while !dir.is_dir() && t0.elapsed() < Duration::from_secs(1) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            pwm.write(&dir.join("period"), &period_ns.to_string())?;
            pwm.write_pulse(ch, calibration.channel(ch).mid_ms)?;
            pwm.write(&dir.join("enable"), "1")?;
        }
        Ok(pwm)
    }

    fn write(&self, path: &Path, value: &str) -> Result<(), CarError> {
        std::fs::write(path, value).map_err(|e| CarError::Actuator {
            actuator: format!("sysfs:{}", self.chip.display()),
            problem: format!("writing {value} to {}: {e}", path.display()),
        })
    }

    fn write_pulse(&self, channel: Channel, pulse_ms: f64) -> Result<(), CarError> {
        let n = self.calibration.channel(channel).channel;
        let duty_ns = (pulse_ms * 1e6).round() as u64;
        self.write(
            &self.chip.join(format!("pwm{n}")).join("duty_cycle"),
            &duty_ns.to_string(),
        )
    }
}

impl Actuator for SysfsPwm {
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError> {
        let c = self.calibration;
        self.write_pulse(Channel::Steering, c.steering.pulse_ms(cmd.steering))?;
        self.write_pulse(Channel::Throttle, c.throttle.pulse_ms(cmd.throttle))
    }

    fn set_pulse(&mut self, channel: Channel, pulse_ms: f64) -> Result<(), CarError> {
        self.write_pulse(channel, pulse_ms)
    }
}

/// The PCI device of the stock DeepRacer car's PWM controller
/// (aws-deepracer-servo-pkg `pwm.cpp`: `PWMDEV "0000:00:17.0"`).
pub const DEEPRACER_PWM_DEVICE: &str = "0000:00:17.0";

/// The `pwmchipN` under `base` (`/sys/class/pwm`) whose link points at
/// the stock DeepRacer car's PWM controller, found as the car's servo
/// package finds it.
///
/// # Errors
/// [`CarError::Actuator`] when no chip under `base` is that device.
pub fn deepracer_pwm_chip(base: &Path) -> Result<PathBuf, CarError> {
    let fail = |problem: String| CarError::Actuator {
        actuator: "sysfs:deepracer".into(),
        problem,
    };
    let entries = std::fs::read_dir(base).map_err(|e| fail(format!("{}: {e}", base.display())))?;
    let mut chips: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            std::fs::read_link(p).is_ok_and(|t| t.to_string_lossy().contains(DEEPRACER_PWM_DEVICE))
        })
        .collect();
    chips.sort();
    chips.into_iter().next().ok_or_else(|| {
        fail(format!(
            "no PWM chip in {} is the DeepRacer's {DEEPRACER_PWM_DEVICE}; give \
             sysfs:/sys/class/pwm/pwmchipN",
            base.display()
        ))
    })
}

/// The PCA9685 prescale for `pwm_hz` with its 25 MHz oscillator
/// (datasheet section 7.3.5: `round(25 MHz / (4096 * f)) - 1`).
pub fn pca9685_prescale(pwm_hz: f64) -> u8 {
    ((25e6 / (4096.0 * pwm_hz)).round() - 1.0).clamp(3.0, 255.0) as u8
}

/// The PCA9685 OFF count (of 4096 per period) for a pulse of `pulse_ms`.
pub fn pca9685_counts(pulse_ms: f64, pwm_hz: f64) -> u16 {
    (pulse_ms * 1e-3 * pwm_hz * 4096.0)
        .round()
        .clamp(0.0, 4095.0) as u16
}

/// A PCA9685 16-channel PWM driver on a Linux I2C bus (the DeepRacer and
/// Donkey Car servo board).
#[cfg(feature = "pca9685")]
pub struct Pca9685 {
    dev: pwm_pca9685::Pca9685<linux_embedded_hal::I2cdev>,
    calibration: Calibration,
    name: String,
}

#[cfg(feature = "pca9685")]
impl Pca9685 {
    /// Opens `bus` (e.g. `/dev/i2c-1`) at `address` (default 0x40), sets
    /// the PWM frequency and puts both channels at neutral.
    ///
    /// # Errors
    /// [`CarError::Actuator`] if the bus cannot be opened or written.
    pub fn open(bus: &Path, address: u8, calibration: Calibration) -> Result<Pca9685, CarError> {
        let name = format!("pca9685:{}@{address:#04x}", bus.display());
        let err = |problem: String| CarError::Actuator {
            actuator: name.clone(),
            problem,
        };
        let i2c = linux_embedded_hal::I2cdev::new(bus).map_err(|e| {
            err(format!(
                "cannot open {}: {e} (enable I2C, check the bus number with `i2cdetect -l`)",
                bus.display()
            ))
        })?;
        let mut dev = pwm_pca9685::Pca9685::new(i2c, address)
            .map_err(|e| err(format!("bad address: {e:?}")))?;
        dev.set_prescale(pca9685_prescale(calibration.pwm_hz))
            .and_then(|()| dev.enable())
            .map_err(|e| err(format!("no reply from the board: {e:?}")))?;
        let mut p = Pca9685 {
            dev,
            calibration,
            name,
        };
        p.neutral()?;
        Ok(p)
    }
}

#[cfg(feature = "pca9685")]
impl Actuator for Pca9685 {
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError> {
        let c = self.calibration;
        self.set_pulse(Channel::Steering, c.steering.pulse_ms(cmd.steering))?;
        self.set_pulse(Channel::Throttle, c.throttle.pulse_ms(cmd.throttle))
    }

    fn set_pulse(&mut self, channel: Channel, pulse_ms: f64) -> Result<(), CarError> {
        let n = self.calibration.channel(channel).channel;
        let ch = pwm_pca9685::Channel::try_from(n).map_err(|()| CarError::Actuator {
            actuator: self.name.clone(),
            problem: format!("channel {n} is not 0..15"),
        })?;
        let off = pca9685_counts(pulse_ms, self.calibration.pwm_hz);
        self.dev
            .set_channel_on_off(ch, 0, off)
            .map_err(|e| CarError::Actuator {
                actuator: self.name.clone(),
                problem: format!("I2C write failed: {e:?}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca9685_numbers_match_the_datasheet() {
        // 50 Hz: 25e6 / (4096 * 50) = 122.07 -> prescale 121
        assert_eq!(pca9685_prescale(50.0), 121);
        // 1.5 ms of a 20 ms period = 307.2 counts
        assert_eq!(pca9685_counts(1.5, 50.0), 307);
    }

    #[test]
    fn sysfs_pwm_exports_and_writes_duty_cycles() {
        let dir = std::env::temp_dir().join(format!("chicane-sysfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pwm0")).unwrap();
        std::fs::create_dir_all(dir.join("pwm1")).unwrap();
        let cal = Calibration::default();
        let mut pwm = SysfsPwm::open(&dir, cal).unwrap();
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
        assert_eq!(read("pwm0/period"), "20000000");
        assert_eq!(read("pwm0/enable"), "1");
        assert_eq!(read("pwm1/duty_cycle"), "1446000");
        pwm.apply(&Command {
            steering: 1.0,
            throttle: 1.0,
            steering_angle_deg: 30.0,
            speed: 1.0,
        })
        .unwrap();
        assert_eq!(read("pwm0/duty_cycle"), "1700000");
        assert_eq!(read("pwm1/duty_cycle"), "1603500");
        pwm.neutral().unwrap();
        assert_eq!(read("pwm0/duty_cycle"), "1450000");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_deepracer_pwm_chip_is_found_by_its_pci_device() {
        let dir = std::env::temp_dir().join(format!("chicane-pwmclass-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let devices = dir.join("devices");
        for dev in ["0000:00:1a.0", "0000:00:17.0"] {
            std::fs::create_dir_all(devices.join(dev).join("pwm/pwmchip")).unwrap();
        }
        let class = dir.join("class");
        std::fs::create_dir_all(&class).unwrap();
        std::os::unix::fs::symlink(
            devices.join("0000:00:1a.0/pwm/pwmchip"),
            class.join("pwmchip0"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            devices.join("0000:00:17.0/pwm/pwmchip"),
            class.join("pwmchip1"),
        )
        .unwrap();
        assert_eq!(deepracer_pwm_chip(&class).unwrap(), class.join("pwmchip1"));
        std::fs::remove_file(class.join("pwmchip1")).unwrap();
        let e = deepracer_pwm_chip(&class).unwrap_err().to_string();
        assert!(e.contains("0000:00:17.0"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
