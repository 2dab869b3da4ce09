//! Feeding the viewer from a run: [`ViewerObserver`] for training (a
//! [`TrainObserver`] around the front end's own), [`EvalViewer`] for an
//! evaluation's steps.

use crate::hub::{CarMark, Viewer};
use chicane_agent::{
    AgentError, EpisodeRecord, EvalStep, IterationRecord, StepView, TrainObserver, WorkerEpisode,
};
use chicane_config::ResolvedRun;
use chicane_sim::Info;
use std::time::Instant;

/// The car of `info` on the viewer's tracks; `None` when its track is not
/// one of them.
fn car_mark(viewer: &Viewer, info: &Info) -> Option<CarMark> {
    let track = viewer
        .setup()
        .tracks
        .iter()
        .position(|t| t.name() == &*info.track)?;
    Some(CarMark {
        track,
        position: info.car.position,
        yaw: info.car.yaw,
    })
}

/// Frames are published at most once per [`Viewer::frame_interval`], and
/// only while the viewer is watched.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn due(&mut self, viewer: &Viewer) -> bool {
        if !viewer.watched() {
            return false;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < viewer.frame_interval())
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// A [`TrainObserver`] that shows training on a [`Viewer`] and passes
/// everything on to the front end's own observer (the CLI's progress bar,
/// Ctrl-C). Training stops when either asks.
pub struct ViewerObserver<'a> {
    viewer: &'a Viewer,
    inner: &'a mut dyn TrainObserver,
    throttle: Throttle,
    cars: Vec<CarMark>,
}

impl<'a> ViewerObserver<'a> {
    /// Shows training on `viewer`, passing events on to `inner`.
    pub fn new(viewer: &'a Viewer, inner: &'a mut dyn TrainObserver) -> ViewerObserver<'a> {
        ViewerObserver {
            viewer,
            inner,
            throttle: Throttle::default(),
            cars: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ViewerObserver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerObserver")
            .field("viewer", &self.viewer.url())
            .finish_non_exhaustive()
    }
}

impl TrainObserver for ViewerObserver<'_> {
    fn worker_episode(&mut self, episode: &WorkerEpisode) -> Result<(), AgentError> {
        self.inner.worker_episode(episode)
    }

    fn episode(&mut self, record: &EpisodeRecord) {
        self.viewer.episode(record);
        self.inner.episode(record);
    }

    fn iteration(&mut self, record: &IterationRecord) {
        self.viewer.iteration(record);
        self.inner.iteration(record);
    }

    fn steps(&mut self, env_steps: u64) {
        self.viewer.steps(env_steps);
        self.inner.steps(env_steps);
    }

    fn warning(&mut self, message: &str) {
        self.inner.warning(message);
    }

    fn stop_requested(&self) -> bool {
        // the page's stop marks the run stopping itself; Ctrl-C is shown here
        if self.inner.stop_requested() {
            self.viewer.stopping();
            return true;
        }
        self.viewer.stop_requested()
    }

    fn observe(&mut self, view: StepView<'_>) {
        if self.throttle.due(self.viewer) {
            self.cars.clear();
            for i in 0..view.env.num_envs() {
                let info = view.env.final_info(i).or_else(|| view.env.info(i));
                if let Some(car) = info.and_then(|info| car_mark(self.viewer, info)) {
                    self.cars.push(car);
                }
            }
            self.viewer
                .publish_frame(view.env.camera_batch(), &self.cars);
        }
        self.inner.observe(view);
    }

    fn take_reward_reload(&mut self) -> Option<ResolvedRun> {
        self.inner.take_reward_reload()
    }

    fn reward_reloaded(&mut self, iteration: u64, result: Result<&str, &AgentError>) {
        self.inner.reward_reloaded(iteration, result);
    }
}

/// Shows an evaluation on a [`Viewer`] in real time: call
/// [`EvalViewer::step`] from the evaluation's step callback. The
/// simulator runs many times faster than real time, so each step waits
/// until its moment on the car's clock (one action every `step_s`), as
/// DeepRacer's console streams an evaluation.
#[derive(Debug)]
pub struct EvalViewer<'a> {
    viewer: &'a Viewer,
    throttle: Throttle,
    step_s: f64,
    start: Option<Instant>,
    steps: u64,
}

impl<'a> EvalViewer<'a> {
    /// Shows the evaluation on `viewer`, one step every `step_s` seconds
    /// (`1 / action_hz`, DeepRacer's 15 Hz by default).
    pub fn new(viewer: &'a Viewer, step_s: f64) -> EvalViewer<'a> {
        EvalViewer {
            viewer,
            throttle: Throttle::default(),
            step_s: if step_s.is_finite() {
                step_s.max(0.0)
            } else {
                0.0
            },
            start: None,
            steps: 0,
        }
    }

    /// One evaluation step: waits for its moment, then shows the lap
    /// number, the car, the camera, and the lap once it ends.
    pub fn step(&mut self, s: &EvalStep<'_>) {
        let start = *self.start.get_or_insert_with(Instant::now);
        self.steps += 1;
        let due = start + std::time::Duration::from_secs_f64(self.steps as f64 * self.step_s);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        self.viewer.steps(1);
        self.viewer.trial(s.trial);
        if self.throttle.due(self.viewer) {
            let cars: Vec<CarMark> = car_mark(self.viewer, s.info).into_iter().collect();
            self.viewer.publish_frame(s.camera, &cars);
        }
        if let Some(lap) = s.lap_done {
            self.viewer.lap(lap);
        }
    }
}
