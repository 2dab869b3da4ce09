//! The control loop's safety rules with test doubles: a policy slower than
//! the watchdog never moves the car, and a failing actuator or policy ends
//! the run with neutral.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chicane_car::{
    Actuator, CarError, Channel, Command, ControlConfig, EndReason, FrameFormat, OutputKind,
    Policy, RunOptions, TestPattern, run,
};
use chicane_core::{ActionSpace, DiscreteAction, Preprocess};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every command.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Command>>>);

impl Actuator for Recorder {
    fn apply(&mut self, cmd: &Command) -> Result<(), CarError> {
        self.0.lock().unwrap().push(*cmd);
        Ok(())
    }

    fn set_pulse(&mut self, _: Channel, _: f64) -> Result<(), CarError> {
        Ok(())
    }
}

/// Always picks action 1, after `delay`; fails on call `fail_at`.
struct Fake {
    delay: Duration,
    calls: usize,
    fail_at: Option<usize>,
}

impl Policy for Fake {
    fn infer(&mut self, _camera: &[f32], _lidar: &[f32]) -> Result<Vec<f32>, CarError> {
        self.calls += 1;
        if self.fail_at == Some(self.calls) {
            return Err(CarError::Model("injected failure".into()));
        }
        std::thread::sleep(self.delay);
        Ok(vec![0.1, 0.9])
    }
}

fn setup() -> (Preprocess, ControlConfig, FrameFormat) {
    let pre = Preprocess {
        channels: 1,
        height: 24,
        width: 32,
        downscale: 1,
        stack_size: 2,
    };
    let control = ControlConfig {
        action_space: ActionSpace::Discrete(vec![
            DiscreteAction {
                steering_angle_deg: -20.0,
                speed: 1.0,
            },
            DiscreteAction {
                steering_angle_deg: 20.0,
                speed: 1.0,
            },
        ]),
        output: OutputKind::Probabilities,
        throttle_scale: 1.0,
        max_throttle: 0.5,
    };
    let fmt = FrameFormat {
        channels: 1,
        height: 24,
        width: 32,
    };
    (pre, control, fmt)
}

/// Runs the loop on a test pattern of `fmt` with a recording actuator.
fn drive(
    fmt: FrameFormat,
    policy: &mut Fake,
    opts: &RunOptions,
) -> (Result<chicane_car::RunReport, CarError>, Vec<Command>) {
    let (pre, control, _) = setup();
    let rec = Recorder::default();
    let mut act = rec.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let r = run(
        Box::new(TestPattern::new(fmt, None)),
        pre,
        policy,
        &mut act,
        &control,
        opts,
        &stop,
        None,
    );
    let cmds = rec.0.lock().unwrap().clone();
    (r, cmds)
}

#[test]
fn decisions_slower_than_the_watchdog_are_dropped_for_neutral() {
    let (_, _, fmt) = setup();
    let mut policy = Fake {
        delay: Duration::from_millis(60),
        calls: 0,
        fail_at: None,
    };
    let opts = RunOptions {
        hz: 0.0,
        watchdog: Duration::from_millis(40),
        max_frames: Some(3),
    };
    let (r, cmds) = drive(fmt, &mut policy, &opts);
    let r = r.unwrap();
    assert_eq!(r.overruns, 3);
    assert_eq!(r.stop, EndReason::MaxFrames);
    assert!(cmds.iter().all(|c| *c == Command::NEUTRAL), "{cmds:?}");

    // the same policy within the watchdog drives, throttle capped at 0.5
    policy.delay = Duration::ZERO;
    let (r, cmds) = drive(fmt, &mut policy, &opts);
    let r = r.unwrap();
    assert_eq!((r.overruns, r.decisions), (0, 3));
    assert_eq!(cmds.len(), 5, "neutral, 3 drives, neutral: {cmds:?}");
    assert!((cmds[1].steering - 1.0).abs() < 1e-12 && (cmds[1].throttle - 0.5).abs() < 1e-12);
    assert_eq!(cmds[4], Command::NEUTRAL);
}

#[test]
fn a_policy_error_ends_the_run_in_neutral() {
    let (_, _, fmt) = setup();
    let mut policy = Fake {
        delay: Duration::ZERO,
        calls: 0,
        fail_at: Some(4),
    };
    let opts = RunOptions {
        hz: 0.0,
        ..RunOptions::default()
    };
    let (r, cmds) = drive(fmt, &mut policy, &opts);
    let e = r.unwrap_err();
    assert!(e.to_string().contains("injected failure"), "{e}");
    assert_eq!(cmds.len(), 5, "neutral, 3 drives, neutral: {cmds:?}");
    assert_eq!(*cmds.last().unwrap(), Command::NEUTRAL);

    // a camera whose frames do not fit the model is refused before driving
    let wrong = FrameFormat {
        channels: 1,
        height: 48,
        width: 64,
    };
    let (r, _) = drive(wrong, &mut policy, &opts);
    let e = r.unwrap_err();
    assert!(e.to_string().contains("trained on 1x24x32"), "{e}");
}
