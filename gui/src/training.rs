//! Training on background threads through `chicane_agent::train`, with
//! live snapshots for the 3D view, the agent camera and the inspector.
//!
//! The trainer thread sends [`LiveSnapshot`]s over a bounded channel of one
//! (a snapshot that finds it full is dropped: the GUI only ever wants the
//! newest) and [`TrainEvent`]s over a bounded channel of 4096 (episodes and
//! iterations for the charts); the GUI sends [`TrainCommand`]s back.

use crate::error::GuiError;
use bevy::prelude::*;
use chicane_agent::{
    AgentError, EpisodeRecord, IterationRecord, RunPlan, StepView, StopReason, TrainObserver, train,
};
use chicane_config::ResolvedRun;
use chicane_core::{Action, Preprocess};
use chicane_reward::RewardParams;
use chicane_sim::EpisodeStatus;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where one car is (from DeepRacer's params).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CarPose {
    /// Position (m), track frame.
    pub x: f64,
    /// Position (m), track frame.
    pub y: f64,
    /// Heading (rad, counter-clockwise from +x).
    pub yaw: f64,
    /// Front-wheel steering angle (rad, positive left).
    pub steering: f64,
    /// Speed (m/s).
    pub speed: f64,
}

/// A frame as the policy sees it, after preprocessing (downscale), as
/// 8-bit pixels for display.
///
/// # Shapes
/// `pixels`: `[height, width, 3]` RGB (grey frames repeat their channel).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgentFrame {
    /// Width (px).
    pub width: usize,
    /// Height (px).
    pub height: usize,
    /// Channels of the policy's input (1 grey, 2 stereo, 3 RGB).
    pub channels: usize,
    /// RGB bytes, row-major.
    pub pixels: Vec<u8>,
}

impl AgentFrame {
    /// The first stacked frame of `frame` (`[C, H, W]` u8, as rendered)
    /// after `pre`'s downscale, as RGB bytes. Stereo shows its left eye.
    pub fn from_chw(frame: &[u8], pre: &Preprocess) -> AgentFrame {
        let [c, h, w] = [pre.channels, pre.height, pre.width];
        let d = pre.downscale.max(1);
        let (oh, ow) = (h / d, w / d);
        let mut pixels = vec![0u8; oh * ow * 3];
        if frame.len() < c * h * w || oh == 0 || ow == 0 {
            return AgentFrame::default();
        }
        let area = (d * d) as u32;
        for y in 0..oh {
            for x in 0..ow {
                for k in 0..3 {
                    let ch = if c == 3 { k } else { 0 };
                    let mut sum = 0u32;
                    for dy in 0..d {
                        let row = (ch * h + y * d + dy) * w + x * d;
                        sum += frame[row..row + d]
                            .iter()
                            .map(|&v| u32::from(v))
                            .sum::<u32>();
                    }
                    pixels[(y * ow + x) * 3 + k] = (sum / area) as u8;
                }
            }
        }
        AgentFrame {
            width: ow,
            height: oh,
            channels: c,
            pixels,
        }
    }
}

/// The current step of the first env, for the inspector.
#[derive(Debug, Clone)]
pub struct StepDetail {
    /// DeepRacer's params.
    pub params: RewardParams,
    /// The reward of the step.
    pub reward: f64,
    /// The action taken.
    pub action: Action,
    /// Its probability under the policy (a density for continuous spaces).
    pub probability: f64,
    /// The policy's value estimate `V(obs)`.
    pub value: f64,
    /// DeepRacer's episode status.
    pub episode_status: EpisodeStatus,
}

/// What the GUI draws of a training run at one moment.
#[derive(Debug, Clone, Default)]
pub struct LiveSnapshot {
    /// Env steps taken so far (all envs).
    pub total_steps: u64,
    /// Every env's car.
    ///
    /// # Shapes
    /// `[num_envs]`.
    pub cars: Vec<CarPose>,
    /// The first env's obstacles and bot cars: position (m) and heading (rad).
    pub objects: Vec<(f64, f64, f64)>,
    /// The first env's frame as the policy sees it.
    pub frame: Option<AgentFrame>,
    /// The first env's step.
    pub step: Option<StepDetail>,
}

/// What the trainer thread reports.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// An episode finished.
    Episode(EpisodeRecord),
    /// A PPO update finished (checkpoint written).
    Iteration(IterationRecord),
    /// A line for the log.
    Log(String),
    /// Training ended; the last checkpoint.
    Finished {
        /// Why it stopped.
        reason: StopReason,
        /// The checkpoint written last.
        checkpoint: Option<PathBuf>,
    },
    /// Training failed (the last good checkpoint is kept).
    Failed(String),
}

/// What the GUI asks of the trainer thread.
#[derive(Debug, Clone)]
pub enum TrainCommand {
    /// Hold after the current step.
    Pause,
    /// Go on.
    Resume,
    /// Checkpoint and stop.
    Stop,
    /// Use this run's reward function from the next rollout on.
    ReloadReward(Box<ResolvedRun>),
}

/// The observer on the trainer thread.
struct GuiObserver {
    commands: Receiver<TrainCommand>,
    events: Sender<TrainEvent>,
    snapshots: Sender<LiveSnapshot>,
    preprocess: Option<Preprocess>,
    snapshot_every: Duration,
    last_snapshot: Option<Instant>,
    total_steps: u64,
    paused: bool,
    stop: bool,
    reload: Option<ResolvedRun>,
    dropped_events: u64,
}

impl GuiObserver {
    fn send(&mut self, ev: TrainEvent) {
        if self.events.try_send(ev).is_err() {
            self.dropped_events += 1;
        }
    }

    fn handle(&mut self, cmd: TrainCommand) {
        match cmd {
            TrainCommand::Pause => self.paused = true,
            TrainCommand::Resume => self.paused = false,
            TrainCommand::Stop => self.stop = true,
            TrainCommand::ReloadReward(run) => self.reload = Some(*run),
        }
    }

    fn snapshot(&self, view: &StepView<'_>) -> LiveSnapshot {
        let env = view.env;
        let info = |i: usize| env.final_info(i).or_else(|| env.info(i));
        let cars = (0..env.num_envs())
            .filter_map(info)
            .map(|inf| CarPose {
                x: inf.car.position.x,
                y: inf.car.position.y,
                yaw: inf.car.yaw,
                steering: inf.car.steering,
                speed: inf.car.speed,
            })
            .collect();
        let first = info(0);
        let objects = first
            .map(|inf| {
                inf.params
                    .objects_location
                    .iter()
                    .zip(&inf.params.objects_heading)
                    .map(|(p, h)| (p[0], p[1], h.to_radians()))
                    .collect()
            })
            .unwrap_or_default();
        let frame = self.preprocess.as_ref().and_then(|pre| {
            let len = pre.frame_len();
            env.camera_batch()
                .get(..len)
                .map(|f| AgentFrame::from_chw(f, pre))
        });
        let step = first.zip(view.samples.first()).map(|(inf, s)| StepDetail {
            params: inf.params.clone(),
            reward: env.rewards().first().copied().unwrap_or(0.0),
            action: s.action,
            probability: f64::from(s.log_prob).exp(),
            value: f64::from(s.value),
            episode_status: inf.episode_status,
        });
        LiveSnapshot {
            total_steps: self.total_steps,
            cars,
            objects,
            frame,
            step,
        }
    }
}

impl TrainObserver for GuiObserver {
    fn episode(&mut self, record: &EpisodeRecord) {
        self.send(TrainEvent::Episode(record.clone()));
    }

    fn iteration(&mut self, record: &IterationRecord) {
        self.send(TrainEvent::Iteration(record.clone()));
    }

    fn steps(&mut self, env_steps: u64) {
        self.total_steps += env_steps;
    }

    fn stop_requested(&self) -> bool {
        self.stop
    }

    fn observe(&mut self, view: StepView<'_>) {
        while let Ok(cmd) = self.commands.try_recv() {
            self.handle(cmd);
        }
        let due = self
            .last_snapshot
            .is_none_or(|t| t.elapsed() >= self.snapshot_every);
        if due || self.paused {
            self.last_snapshot = Some(Instant::now());
            let snap = self.snapshot(&view);
            match self.snapshots.try_send(snap) {
                Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
            }
        }
        // paused: hold here (the env state stays as drawn) until told
        while self.paused && !self.stop {
            match self.commands.recv_timeout(Duration::from_millis(200)) {
                Ok(cmd) => self.handle(cmd),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => self.stop = true,
            }
        }
    }

    fn take_reward_reload(&mut self) -> Option<ResolvedRun> {
        self.reload.take()
    }

    fn reward_reloaded(&mut self, iteration: u64, result: Result<&str, &AgentError>) {
        let line = match result {
            Ok(source) => {
                format!("reward function reloaded from {source}: iteration {iteration} on uses it")
            }
            Err(e) => format!(
                "reward reload failed, the old function is kept: {}",
                chicane_core::error_chain(e)
            ),
        };
        self.send(TrainEvent::Log(line));
    }
}

/// A training run on its own thread.
#[derive(Debug)]
pub struct TrainingHandle {
    commands: Sender<TrainCommand>,
    events: Receiver<TrainEvent>,
    snapshots: Receiver<LiveSnapshot>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TrainingHandle {
    /// Closing the app stops training with a checkpoint, never mid-write.
    fn drop(&mut self) {
        let _ = self.commands.try_send(TrainCommand::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The state of the trainer as the GUI sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TrainStatus {
    /// Nothing started yet.
    #[default]
    Idle,
    /// Collecting and updating.
    Running,
    /// Held by the user.
    Paused,
    /// Stop asked; checkpointing.
    Stopping,
    /// Ended (the reason).
    Finished(StopReason),
    /// Failed (the error).
    Failed(String),
}

/// The training run of the app and everything it has reported.
#[derive(Resource, Debug, Default)]
pub struct Training {
    handle: Option<TrainingHandle>,
    /// The trainer's state.
    pub status: TrainStatus,
    /// The run folder.
    pub out_dir: Option<PathBuf>,
    /// Finished episodes, in order.
    pub episodes: Vec<EpisodeRecord>,
    /// PPO updates, in order.
    pub iterations: Vec<IterationRecord>,
    /// The newest snapshot.
    pub snapshot: Option<LiveSnapshot>,
    /// Snapshots received.
    pub snapshots_received: u64,
    /// Env steps per second over the last few seconds (from snapshots).
    pub steps_per_s: f64,
    /// The last checkpoint written.
    pub checkpoint: Option<PathBuf>,
    rate_mark: Option<(Instant, u64)>,
}

/// Log lines (newest last) and the error to show, if any.
#[derive(Resource, Debug, Default)]
pub struct GuiLog {
    /// Every message so far: (is an error, text).
    pub lines: Vec<(bool, String)>,
    /// The newest error not yet dismissed.
    pub error: Option<String>,
}

impl GuiLog {
    /// Adds an informational line.
    pub fn info(&mut self, text: impl Into<String>) {
        let t = text.into();
        info!("{t}");
        self.lines.push((false, t));
    }

    /// Adds an error, shown in the window until dismissed.
    pub fn error(&mut self, text: impl Into<String>) {
        let t = text.into();
        warn!("{t}");
        self.lines.push((true, t.clone()));
        self.error = Some(t);
    }
}

impl Training {
    /// Starts training `plan` (a [`chicane_agent::RunRequest`] resolved)
    /// on a new thread. Snapshots come at most every `snapshot_every`.
    ///
    /// # Errors
    /// When a run is already going, or the plan's network does not fit.
    pub fn start(&mut self, plan: RunPlan, snapshot_every: Duration) -> Result<(), GuiError> {
        if self.is_active() {
            return Err(GuiError::Invalid(
                "a training run is going; stop it first".into(),
            ));
        }
        let preprocess = chicane_agent::agent_spec(&plan.run, plan.options.network)?.preprocess;
        let (cmd_tx, cmd_rx) = bounded(16);
        let (ev_tx, ev_rx) = bounded(4096);
        let (snap_tx, snap_rx) = bounded(1);
        let out_dir = plan.options.out_dir.root().to_path_buf();
        let thread = std::thread::Builder::new()
            .name("chicane-train".into())
            .spawn(move || {
                let mut observer = GuiObserver {
                    commands: cmd_rx,
                    events: ev_tx.clone(),
                    snapshots: snap_tx,
                    preprocess,
                    snapshot_every,
                    last_snapshot: None,
                    total_steps: 0,
                    paused: false,
                    stop: false,
                    reload: None,
                    dropped_events: 0,
                };
                let result = train(&plan, &mut observer);
                let ev = match result {
                    Ok(summary) => TrainEvent::Finished {
                        reason: summary.stop_reason,
                        checkpoint: summary.checkpoint,
                    },
                    Err(e) => TrainEvent::Failed(chicane_core::error_chain(&e)),
                };
                // the last event must arrive: block for it
                let _ = ev_tx.send(ev);
            })
            .map_err(|e| GuiError::Invalid(format!("cannot start the training thread: {e}")))?;
        *self = Training {
            handle: Some(TrainingHandle {
                commands: cmd_tx,
                events: ev_rx,
                snapshots: snap_rx,
                thread: Some(thread),
            }),
            status: TrainStatus::Running,
            out_dir: Some(out_dir),
            ..Training::default()
        };
        Ok(())
    }

    /// True while a trainer thread is running (paused included).
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            TrainStatus::Running | TrainStatus::Paused | TrainStatus::Stopping
        )
    }

    fn command(&self, cmd: TrainCommand) {
        if let Some(h) = &self.handle {
            let _ = h.commands.try_send(cmd);
        }
    }

    /// Holds training after the current step.
    pub fn pause(&mut self) {
        if self.status == TrainStatus::Running {
            self.command(TrainCommand::Pause);
            self.status = TrainStatus::Paused;
        }
    }

    /// Continues after [`Training::pause`].
    pub fn resume(&mut self) {
        if self.status == TrainStatus::Paused {
            self.command(TrainCommand::Resume);
            self.status = TrainStatus::Running;
        }
    }

    /// Asks the trainer to checkpoint and stop.
    pub fn stop(&mut self) {
        if matches!(self.status, TrainStatus::Running | TrainStatus::Paused) {
            self.command(TrainCommand::Stop);
            self.status = TrainStatus::Stopping;
        }
    }

    /// Replaces the reward function from the next rollout on.
    pub fn reload_reward(&mut self, run: ResolvedRun) {
        self.command(TrainCommand::ReloadReward(Box::new(run)));
    }

    /// Takes what the trainer thread sent since the last call; log lines
    /// and errors go to `log`.
    pub fn poll(&mut self, log: &mut GuiLog) {
        let Some(h) = &mut self.handle else {
            return;
        };
        let mut ended = false;
        while let Ok(ev) = h.events.try_recv() {
            match ev {
                TrainEvent::Episode(e) => self.episodes.push(e),
                TrainEvent::Iteration(i) => self.iterations.push(i),
                TrainEvent::Log(line) => log.info(line),
                TrainEvent::Finished { reason, checkpoint } => {
                    log.info(format!(
                        "training stopped ({reason}); checkpoint {}",
                        checkpoint
                            .as_ref()
                            .map_or_else(|| "none".into(), |c| c.display().to_string())
                    ));
                    self.checkpoint = checkpoint;
                    self.status = TrainStatus::Finished(reason);
                    ended = true;
                }
                TrainEvent::Failed(e) => {
                    log.error(format!("training failed: {e}"));
                    self.status = TrainStatus::Failed(e);
                    ended = true;
                }
            }
        }
        if let Ok(snap) = h.snapshots.try_recv() {
            let now = Instant::now();
            match self.rate_mark {
                Some((t, steps)) if now.duration_since(t) >= Duration::from_secs(2) => {
                    self.steps_per_s = snap.total_steps.saturating_sub(steps) as f64
                        / now.duration_since(t).as_secs_f64();
                    self.rate_mark = Some((now, snap.total_steps));
                }
                None => self.rate_mark = Some((now, snap.total_steps)),
                _ => {}
            }
            self.snapshots_received += 1;
            self.snapshot = Some(snap);
        }
        if ended {
            if let Some(t) = h.thread.take() {
                let _ = t.join();
            }
            self.handle = None;
        }
    }

    /// Stops the run (with a checkpoint) and waits for its thread, as
    /// closing the app does.
    pub fn shutdown(&mut self) {
        // dropping the handle sends Stop and joins
        self.handle = None;
    }
}

/// Polls the trainer every frame.
pub fn poll_training(mut training: ResMut<Training>, mut log: ResMut<GuiLog>) {
    training.poll(&mut log);
}

/// Training state and its polling (no UI: see the app's panels).
#[derive(Debug, Default)]
pub struct TrainingPlugin;

impl Plugin for TrainingPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Training>()
            .init_resource::<GuiLog>()
            .add_systems(PreUpdate, poll_training)
            .add_systems(Last, shutdown_on_exit);
    }
}

/// Stops training cleanly (checkpoint) when the app exits.
fn shutdown_on_exit(mut exit: MessageReader<AppExit>, mut training: ResMut<Training>) {
    if exit.read().next().is_some() {
        training.shutdown();
    }
}
