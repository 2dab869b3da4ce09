//! Servo and ESC calibration: pulse widths for the ends and the middle of
//! each channel, as DeepRacer's calibration page sets them.

use crate::error::CarError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One PWM channel's calibration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelCalibration {
    /// Output channel (PCA9685 channel 0-15, or the sysfs `pwmN` index).
    pub channel: u8,
    /// Pulse width for value -1 (ms).
    pub min_ms: f64,
    /// Pulse width for value 0: wheels straight / motor stopped (ms).
    pub mid_ms: f64,
    /// Pulse width for value +1 (ms).
    pub max_ms: f64,
    /// +1, or -1 to swap the ends (a servo mounted the other way, a
    /// reversed ESC).
    pub polarity: i8,
}

impl ChannelCalibration {
    /// The pulse width (ms) for a value in `[-1, 1]` (clamped): linear from
    /// `mid_ms` to `max_ms` above 0 and to `min_ms` below, after polarity.
    pub fn pulse_ms(&self, value: f64) -> f64 {
        let v = (value * f64::from(self.polarity.signum())).clamp(-1.0, 1.0);
        if v >= 0.0 {
            self.mid_ms + v * (self.max_ms - self.mid_ms)
        } else {
            self.mid_ms + v * (self.mid_ms - self.min_ms)
        }
    }

    fn validate(&self, name: &str) -> Result<(), String> {
        let ok = |x: f64| x.is_finite() && (0.5..=2.5).contains(&x);
        if !(ok(self.min_ms) && ok(self.mid_ms) && ok(self.max_ms)) {
            return Err(format!(
                "{name}: pulse widths must be 0.5..2.5 ms (hobby servos use about 1-2 ms)"
            ));
        }
        if !(self.min_ms < self.mid_ms && self.mid_ms < self.max_ms) {
            return Err(format!(
                "{name}: need min_ms < mid_ms < max_ms, got {} / {} / {}; use polarity -1 to \
                 reverse a channel",
                self.min_ms, self.mid_ms, self.max_ms
            ));
        }
        if self.polarity != 1 && self.polarity != -1 {
            return Err(format!("{name}: polarity must be 1 or -1"));
        }
        if self.channel > 15 {
            return Err(format!("{name}: channel {} is not 0..15", self.channel));
        }
        Ok(())
    }
}

/// The stock DeepRacer car's ESC channel (aws-deepracer-servo-pkg:
/// `throttle_(Servo(0))`).
pub const DEEPRACER_MOTOR_CHANNEL: u8 = 0;
/// The stock DeepRacer car's steering servo channel (`angle_(Servo(1))`).
pub const DEEPRACER_SERVO_CHANNEL: u8 = 1;
/// The stock car's PWM period (ns): `SERVO_PERIOD` in `servo_mgr.hpp`.
const DEEPRACER_PERIOD_NS: f64 = 20_000_000.0;

/// `calibration.json`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// PWM frequency (Hz). Default 50 (standard hobby servos and DeepRacer).
    pub pwm_hz: f64,
    /// The steering servo. Default channel 0, 1.20 / 1.45 / 1.70 ms
    /// (DeepRacer's defaults).
    pub steering: ChannelCalibration,
    /// The ESC. Default channel 1, 1.311 / 1.446 / 1.6035 ms (DeepRacer's
    /// defaults).
    pub throttle: ChannelCalibration,
}

impl Default for Calibration {
    fn default() -> Self {
        Self {
            pwm_hz: 50.0,
            steering: ChannelCalibration {
                channel: 0,
                min_ms: 1.20,
                mid_ms: 1.45,
                max_ms: 1.70,
                polarity: 1,
            },
            throttle: ChannelCalibration {
                channel: 1,
                min_ms: 1.311,
                mid_ms: 1.446,
                max_ms: 1.6035,
                polarity: 1,
            },
        }
    }
}

/// The two channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The steering servo.
    Steering,
    /// The ESC.
    Throttle,
}

impl Calibration {
    /// Checks every field.
    ///
    /// # Errors
    /// A message naming the field and its allowed range.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.pwm_hz.is_finite() && (40.0..=400.0).contains(&self.pwm_hz)) {
            return Err(format!("pwm_hz {} must be 40..400", self.pwm_hz));
        }
        let period_ms = 1000.0 / self.pwm_hz;
        for (name, c) in [("steering", &self.steering), ("throttle", &self.throttle)] {
            c.validate(name)?;
            if c.max_ms >= period_ms {
                return Err(format!(
                    "{name}: max_ms {} does not fit the {period_ms} ms period of pwm_hz {}",
                    c.max_ms, self.pwm_hz
                ));
            }
        }
        if self.steering.channel == self.throttle.channel {
            return Err("steering and throttle use the same channel".into());
        }
        Ok(())
    }

    /// The calibration of `channel`.
    pub fn channel(&self, channel: Channel) -> &ChannelCalibration {
        match channel {
            Channel::Steering => &self.steering,
            Channel::Throttle => &self.throttle,
        }
    }

    /// The calibration of `channel`, mutably.
    pub fn channel_mut(&mut self, channel: Channel) -> &mut ChannelCalibration {
        match channel {
            Channel::Steering => &mut self.steering,
            Channel::Throttle => &mut self.throttle,
        }
    }

    /// The calibration in DeepRacer's own `calibration.json`
    /// (`/opt/aws/deepracer/calibration.json`, written by
    /// aws-deepracer-servo-pkg's `servo_mgr.cpp`): `{"Calibration":
    /// {"Servo": {"min", "mid", "max", "polarity"}, "Motor": {...},
    /// "version": 1}}`, pulse widths in ns of a 20 ms period; the stock
    /// car's ESC is PWM channel 0 and its steering servo channel 1.
    ///
    /// # Errors
    /// A message naming the missing or bad key.
    pub fn from_deepracer_json(text: &str) -> Result<Calibration, String> {
        #[derive(Deserialize)]
        struct File {
            #[serde(rename = "Calibration")]
            calibration: Cal,
        }
        #[derive(Deserialize)]
        struct Cal {
            #[serde(rename = "Servo")]
            servo: Ns,
            #[serde(rename = "Motor")]
            motor: Ns,
        }
        #[derive(Deserialize)]
        struct Ns {
            min: f64,
            mid: f64,
            max: f64,
            polarity: i8,
        }
        let f: File = serde_json::from_str(text).map_err(|e| {
            format!("DeepRacer calibration (Calibration.Servo / Calibration.Motor: min, mid, max in ns, polarity): {e}")
        })?;
        let ch = |channel: u8, n: &Ns| ChannelCalibration {
            channel,
            min_ms: n.min / 1e6,
            mid_ms: n.mid / 1e6,
            max_ms: n.max / 1e6,
            polarity: n.polarity,
        };
        let c = Calibration {
            pwm_hz: 1e9 / DEEPRACER_PERIOD_NS,
            steering: ch(DEEPRACER_SERVO_CHANNEL, &f.calibration.servo),
            throttle: ch(DEEPRACER_MOTOR_CHANNEL, &f.calibration.motor),
        };
        c.validate()?;
        Ok(c)
    }

    /// Reads and checks `path`: chicane's `calibration.json`, or the stock
    /// DeepRacer car's (recognised by its `Calibration` key; see
    /// [`Calibration::from_deepracer_json`]).
    ///
    /// # Errors
    /// [`CarError::Calibration`] naming the file and the field.
    pub fn load(path: &Path) -> Result<Calibration, CarError> {
        let bad = |problem: String| CarError::Calibration {
            path: path.into(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad(format!(
                "{e}; create one with `chicane-car calibrate --calibration {}`",
                path.display()
            ))
        })?;
        // DeepRacer's header key, even in a file that does not parse
        let is_deepracer = text.contains("\"Calibration\"");
        if is_deepracer {
            return Calibration::from_deepracer_json(&text).map_err(bad);
        }
        let c: Calibration = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        c.validate().map_err(bad)?;
        Ok(c)
    }

    /// Writes `path` atomically (temporary file, then rename).
    ///
    /// # Errors
    /// [`CarError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), CarError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| CarError::Model(format!("cannot serialise the calibration: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(|e| CarError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| CarError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deepracer_defaults_map_ends_and_middle() {
        let c = Calibration::default();
        c.validate().unwrap();
        assert!((c.steering.pulse_ms(0.0) - 1.45).abs() < 1e-12);
        assert!((c.steering.pulse_ms(1.0) - 1.70).abs() < 1e-12);
        assert!((c.steering.pulse_ms(-1.0) - 1.20).abs() < 1e-12);
        assert!((c.throttle.pulse_ms(0.5) - (1.446 + 0.5 * (1.6035 - 1.446))).abs() < 1e-12);
        assert!((c.throttle.pulse_ms(7.0) - 1.6035).abs() < 1e-12);
        let mut r = c.steering;
        r.polarity = -1;
        assert!((r.pulse_ms(1.0) - 1.20).abs() < 1e-12);
    }

    #[test]
    fn deepracer_calibration_file_is_read_as_the_servo_package_writes_it() {
        // servo_mgr.cpp's defaults, as writeCalJSON writes them
        let text = r#"{"Calibration": {"Motor": {"max": 1603500, "mid": 1446000,
            "min": 1311000, "polarity": -1}, "Servo": {"max": 1700000, "mid": 1450000,
            "min": 1200000, "polarity": 1}, "version": 1}}"#;
        let c = Calibration::from_deepracer_json(text).unwrap();
        assert_eq!(c.throttle.channel, 0);
        assert_eq!(c.steering.channel, 1);
        assert_eq!(c.throttle.polarity, -1);
        assert!((c.pwm_hz - 50.0).abs() < 1e-12);
        // servo_mgr.cpp: duty = mid + v * polarity * (max - mid) for v * polarity > 0
        assert!((c.steering.pulse_ms(0.5) - 1.575).abs() < 1e-12);
        assert!((c.throttle.pulse_ms(0.5) - (1.446 - 0.5 * (1.446 - 1.311))).abs() < 1e-12);
        let dir = std::env::temp_dir().join(format!("chicane-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("calibration.json");
        std::fs::write(&path, text).unwrap();
        assert_eq!(Calibration::load(&path).unwrap(), c);
        let missing = text.replace(", \"polarity\": 1}", "}");
        std::fs::write(&path, missing).unwrap();
        let e = Calibration::load(&path).unwrap_err().to_string();
        assert!(e.contains("polarity"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = Calibration::default();
        c.steering.min_ms = 1.5;
        let e = c.validate().unwrap_err();
        assert!(
            e.contains("steering") && e.contains("min_ms < mid_ms"),
            "{e}"
        );
        let mut c = Calibration::default();
        c.throttle.channel = 0;
        assert!(c.validate().unwrap_err().contains("same channel"));
    }
}
