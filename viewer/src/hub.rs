//! The [`Viewer`] handle and the state it shares with the server's threads.

use crate::addr::ViewerAddr;
use crate::error::ViewerError;
use crate::server;
use chicane_agent::{EpisodeRecord, EvalPlan, IterationRecord, LapResult, RunPlan};
use chicane_core::{CameraConfig, Vec2};
use chicane_tracks::Track;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the process is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `chicane train` (or `chicane.ray_train`): stoppable.
    Training,
    /// `chicane evaluate`: runs its laps to the end.
    Evaluation,
}

/// Where the run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Stepping envs and learning.
    Running,
    /// Asked to stop (the stop button): finishing the step and writing the
    /// checkpoint.
    Stopping,
    /// Done; `stop_reason` says why.
    Finished,
}

/// What the viewer shows: fixed when it starts.
#[derive(Debug, Clone)]
pub struct ViewerSetup {
    /// The page's title (the run folder's name).
    pub title: String,
    /// Training or evaluation.
    pub kind: RunKind,
    /// The tracks the cars drive on, each with a top-down stream.
    pub tracks: Vec<Arc<Track>>,
    /// The envs' camera; `None` for lidar-only runs (no camera streams).
    pub camera: Option<CameraConfig>,
    /// Envs stepped together (one camera stream each).
    pub num_envs: usize,
    /// Most frames per second copied out of the envs and streamed, while a
    /// stream is open. Default 15.
    pub fps: f64,
    /// Top-down pictures' largest side (px). Default 480.
    pub top_down_px: u32,
    /// A line shown where the camera streams would be, when there are none
    /// (a Ray run's frames stay on its workers). Default `None`.
    pub note: Option<String>,
}

impl ViewerSetup {
    /// The setup of a training run: its folder's name, its training tracks,
    /// camera and env count.
    pub fn for_training(plan: &RunPlan) -> ViewerSetup {
        ViewerSetup {
            title: folder_name(plan.options.out_dir.root()),
            kind: RunKind::Training,
            tracks: plan
                .run
                .training_tracks
                .iter()
                .map(|(_, t)| Arc::clone(t))
                .collect(),
            camera: plan.run.sim.camera.clone(),
            num_envs: plan.options.num_envs,
            fps: 15.0,
            top_down_px: 480,
            note: None,
        }
    }

    /// The setup of an evaluation: one car on the evaluated track.
    pub fn for_evaluation(plan: &EvalPlan) -> ViewerSetup {
        ViewerSetup {
            title: format!("{} (evaluation)", folder_name(plan.dir.root())),
            kind: RunKind::Evaluation,
            tracks: vec![Arc::clone(&plan.run.track)],
            camera: plan.run.sim.camera.clone(),
            num_envs: 1,
            fps: 15.0,
            top_down_px: 480,
            note: None,
        }
    }
}

fn folder_name(p: &std::path::Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// One car drawn on the top-down view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CarMark {
    /// Index into [`ViewerSetup::tracks`] of the track it is on.
    pub track: usize,
    /// Position (m, world frame).
    pub position: Vec2,
    /// Heading (rad, counter-clockwise from +x).
    pub yaw: f64,
}

/// The run's status (`GET /status`).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The page's title.
    pub title: String,
    /// Training or evaluation.
    pub kind: RunKind,
    /// Running, stopping or finished.
    pub state: RunState,
    /// Whether `POST /stop` stops it (training only).
    pub can_stop: bool,
    /// The tracks' names, in the order of the `/stream/top_down/{track}` streams.
    pub tracks: Vec<String>,
    /// Envs (camera streams).
    pub num_envs: usize,
    /// Camera frame width (px); 0 without a camera.
    pub camera_width: u32,
    /// Camera frame height (px); 0 without a camera.
    pub camera_height: u32,
    /// Camera channels per frame (1 gray, 2 stereo gray, 3 RGB, 6 stereo
    /// RGB); 0 without a camera.
    pub camera_channels: usize,
    /// Seconds since the viewer started (wall clock).
    pub uptime_s: f64,
    /// Env steps taken (training: all envs together; evaluation: the car's).
    pub total_steps: u64,
    /// Updates done (training).
    pub iteration: u64,
    /// Episodes finished (training) or laps driven (evaluation).
    pub episodes: u64,
    /// Training time at the last update (s).
    pub elapsed_s: f64,
    /// Env steps per second over the last update.
    pub steps_per_s: f64,
    /// Mean episode reward of the last rollout.
    pub mean_reward: f64,
    /// Mean progress (%) of the last rollout.
    pub mean_progress: f64,
    /// Laps completed (training: in the last rollout; evaluation: so far).
    pub laps: u64,
    /// Fastest lap so far (s).
    pub best_lap_s: Option<f64>,
    /// The lap being driven (evaluation; 0 in training).
    pub trial: u32,
    /// Why it finished (once `state` is `finished`).
    pub stop_reason: Option<String>,
    /// Open streams.
    pub stream_clients: usize,
    /// [`ViewerSetup::note`].
    pub note: Option<String>,
}

/// The records charted by the page (`GET /metrics`).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub episodes: Vec<EpisodeRecord>,
    pub iterations: Vec<IterationRecord>,
    pub laps: Vec<LapResult>,
}

/// The latest frames copied out of the envs.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    /// Bumped at every publish; stream threads wait for a change.
    pub generation: u64,
    /// `[num_envs, C, H, W]` u8.
    pub camera: Vec<u8>,
    pub cars: Vec<CarMark>,
}

/// State shared by the [`Viewer`] handle and the server's threads.
#[derive(Debug)]
pub(crate) struct Shared {
    pub setup: ViewerSetup,
    pub started: Instant,
    pub frames: Mutex<Frames>,
    pub new_frame: Condvar,
    pub metrics: Mutex<Metrics>,
    pub status: Mutex<Status>,
    pub total_steps: AtomicU64,
    pub stop: AtomicBool,
    pub shutdown: AtomicBool,
    pub streams: AtomicUsize,
    /// `uptime` (ms) of the last single-frame request: frames are copied for
    /// two seconds after one.
    pub frame_wanted_ms: AtomicU64,
    /// `uptime` (ms) of the last `/metrics` request (the page polls it).
    pub metrics_polled_ms: AtomicU64,
    /// The top-down pictures, drawn at the first request.
    pub top_down: Vec<std::sync::OnceLock<crate::draw::TopDown>>,
}

/// Locks a mutex, taking the data of one a panicking thread left (the
/// viewer's state is plain values, never half-written).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Shows the run as stopping (a stop was asked for and honoured).
    pub fn mark_stopping(&self) {
        let mut s = lock(&self.status);
        if s.state == RunState::Running {
            s.state = RunState::Stopping;
        }
    }

    pub fn uptime_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// True while someone watches the frames.
    pub fn watched(&self) -> bool {
        self.streams.load(Ordering::Relaxed) > 0
            || self.uptime_ms()
                < self
                    .frame_wanted_ms
                    .load(Ordering::Relaxed)
                    .saturating_add(2000)
    }
}

/// The running viewer: a server thread and the state it serves. Dropping it
/// stops the server (open streams end within a second).
pub struct Viewer {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl Viewer {
    /// Starts the server on `addr`.
    ///
    /// # Errors
    /// [`ViewerError::Bind`] when the address cannot be listened on,
    /// [`ViewerError::Thread`] when the server thread cannot start.
    pub fn start(addr: &ViewerAddr, setup: ViewerSetup) -> Result<Viewer, ViewerError> {
        let server = tiny_http::Server::http(addr.0).map_err(|e| ViewerError::Bind {
            addr: addr.0,
            detail: e.to_string(),
        })?;
        let local = server.server_addr().to_ip().unwrap_or(addr.0);
        let cam = setup.camera.as_ref();
        let status = Status {
            title: setup.title.clone(),
            kind: setup.kind,
            state: RunState::Running,
            can_stop: setup.kind == RunKind::Training,
            tracks: setup.tracks.iter().map(|t| t.name().to_string()).collect(),
            num_envs: setup.num_envs,
            camera_width: cam.map_or(0, |c| c.width),
            camera_height: cam.map_or(0, |c| c.height),
            camera_channels: cam.map_or(0, CameraConfig::channels),
            uptime_s: 0.0,
            total_steps: 0,
            iteration: 0,
            episodes: 0,
            elapsed_s: 0.0,
            steps_per_s: 0.0,
            mean_reward: 0.0,
            mean_progress: 0.0,
            laps: 0,
            best_lap_s: None,
            trial: 0,
            stop_reason: None,
            stream_clients: 0,
            note: setup.note.clone(),
        };
        let shared = Arc::new(Shared {
            top_down: setup.tracks.iter().map(|_| Default::default()).collect(),
            setup,
            started: Instant::now(),
            frames: Mutex::new(Frames::default()),
            new_frame: Condvar::new(),
            metrics: Mutex::new(Metrics::default()),
            status: Mutex::new(status),
            total_steps: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            streams: AtomicUsize::new(0),
            frame_wanted_ms: AtomicU64::new(0),
            metrics_polled_ms: AtomicU64::new(0),
        });
        let server = Arc::new(server);
        let thread = {
            let (shared, server) = (Arc::clone(&shared), Arc::clone(&server));
            std::thread::Builder::new()
                .name("chicane-viewer".into())
                .spawn(move || server::accept(&server, &shared))
                .map_err(ViewerError::Thread)?
        };
        Ok(Viewer {
            shared,
            server,
            addr: local,
            thread: Some(thread),
        })
    }

    /// The address listened on (the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL, `http://HOST:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The setup it was started with.
    pub fn setup(&self) -> &ViewerSetup {
        &self.shared.setup
    }

    /// True once the page's stop button was pressed (training only).
    pub fn stop_requested(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    /// True while a stream is open or a single frame was asked for in the
    /// last two seconds: only then are frames worth copying.
    pub fn watched(&self) -> bool {
        self.shared.watched()
    }

    /// The shortest time between two published frames (1 / `fps`).
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.shared.setup.fps.clamp(0.5, 120.0))
    }

    /// Publishes the envs' camera frames and the cars' poses; the open
    /// streams send them.
    ///
    /// # Shapes
    /// `camera`: `[num_envs, C, H, W]` u8 (empty without a camera);
    /// `cars`: one per env.
    pub fn publish_frame(&self, camera: &[u8], cars: &[CarMark]) {
        let mut f = lock(&self.shared.frames);
        f.camera.clear();
        f.camera.extend_from_slice(camera);
        f.cars.clear();
        f.cars.extend_from_slice(cars);
        f.generation += 1;
        drop(f);
        self.shared.new_frame.notify_all();
    }

    /// Counts `n` more env steps.
    pub fn steps(&self, n: u64) {
        self.shared.total_steps.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds a finished training episode to the charts.
    pub fn episode(&self, r: &EpisodeRecord) {
        lock(&self.shared.metrics).episodes.push(r.clone());
        let mut s = lock(&self.shared.status);
        s.episodes = s.episodes.max(r.episode + 1);
        if let Some(t) = r.lap_time {
            s.best_lap_s = Some(s.best_lap_s.map_or(t, |b| b.min(t)));
        }
    }

    /// Adds a finished update to the charts and the status.
    pub fn iteration(&self, r: &IterationRecord) {
        lock(&self.shared.metrics).iterations.push(r.clone());
        let mut s = lock(&self.shared.status);
        s.iteration = r.iteration;
        s.episodes = r.episodes;
        s.elapsed_s = r.elapsed_s;
        s.steps_per_s = r.steps_per_s;
        s.mean_reward = r.mean_reward;
        s.mean_progress = r.mean_progress;
        s.laps = r.laps;
        if r.best_lap.is_some() {
            s.best_lap_s = r.best_lap;
        }
        self.shared
            .total_steps
            .fetch_max(r.total_steps, Ordering::Relaxed);
    }

    /// The evaluation's lap being driven (1-based).
    pub fn trial(&self, trial: u32) {
        lock(&self.shared.status).trial = trial;
    }

    /// Adds an evaluated lap to the charts.
    pub fn lap(&self, lap: &LapResult) {
        lock(&self.shared.metrics).laps.push(lap.clone());
        let mut s = lock(&self.shared.status);
        s.episodes += 1;
        if let Some(t) = lap.lap_time_s {
            s.laps += 1;
            s.best_lap_s = Some(s.best_lap_s.map_or(t, |b| b.min(t)));
        }
    }

    /// Marks the run stopping (the stop button was honoured and the
    /// checkpoint is being written).
    pub fn stopping(&self) {
        self.shared.mark_stopping();
    }

    /// Marks the run finished, with why, and, when a page is open (it
    /// polled `/metrics` in the last 3 s), serves it up to 3 s more so it
    /// shows the last records and the reason.
    pub fn finish(&self, reason: &str) {
        {
            let mut s = lock(&self.shared.status);
            s.state = RunState::Finished;
            s.stop_reason = Some(reason.to_string());
        }
        let sh = &self.shared;
        let finished = sh.uptime_ms();
        let polled = || sh.metrics_polled_ms.load(Ordering::Relaxed);
        if polled() + 3000 < finished {
            return;
        }
        while polled() <= finished && sh.uptime_ms() < finished + 3000 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The status as `GET /status` serves it.
    pub fn status(&self) -> Status {
        server::status(&self.shared)
    }
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("addr", &self.addr)
            .field("title", &self.shared.setup.title)
            .finish_non_exhaustive()
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::Relaxed);
        self.shared.new_frame.notify_all();
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
