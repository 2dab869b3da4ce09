//! chicane's trainer for Python drivers (`chicane.ray_train`): a
//! [`RustLearner`] owns the run folder and the PPO update, and
//! [`RustRolloutWorker`]s (one per Ray actor) run a VecEnv with the
//! learner's weights. Rollouts travel as postcard bytes of
//! [`RolloutBatch`]; weights as burnpack bytes.

use crate::{env_request, py_err, value_error};
use chicane_agent::{
    DeviceKind, Learner, NetworkKind, NoObserver, RolloutBatch, RolloutLength, RolloutWorker,
    RunRequest, TrainingRun, agent_spec, network_for, ppo_from_run,
};
use chicane_viewer::{Viewer, ViewerAddr, ViewerSetup};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::Mutex;

/// GAE lambda of distributed runs (the local trainer's default).
const GAE_LAMBDA: f64 = 0.95;

fn json_dict<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(value_error)?;
    py.import("json")?.getattr("loads")?.call1((text,))
}

fn poisoned<T>(_: T) -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err("a previous call panicked; make a new object")
}

struct WorkerState {
    worker: RolloutWorker,
    policy: Learner,
    rng: ChaCha8Rng,
}

/// A rollout worker: `num_envs` envs of the run config, acting with the
/// weights it is given.
#[pyclass(module = "chicane._chicane")]
pub struct RustRolloutWorker {
    state: Mutex<WorkerState>,
    network: &'static str,
}

#[pymethods]
impl RustRolloutWorker {
    /// `config`, `track`, `lidar`, `camera` as for `RustRaceEnv`;
    /// `network` as `chicane train --network` (default: the config's, else
    /// FAST_CNN with a camera, MLP without); `seed` seeds the env resets and
    /// the action sampling; `num_threads` env threads (0 = one per core).
    #[new]
    #[pyo3(signature = (num_envs, seed, config=None, track=None, lidar=None, camera=None, network=None, num_threads=1))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        num_envs: usize,
        seed: u64,
        config: Option<PathBuf>,
        track: Option<String>,
        lidar: Option<bool>,
        camera: Option<bool>,
        network: Option<String>,
        num_threads: usize,
    ) -> PyResult<Self> {
        if num_envs == 0 {
            return Err(value_error("num_envs must be at least 1"));
        }
        let run = env_request(config, track, lidar, camera)
            .resolve_run()
            .map_err(py_err)?;
        let requested = network
            .as_deref()
            .map(NetworkKind::parse)
            .transpose()
            .map_err(py_err)?;
        let kind = network_for(&run, requested);
        let spec = agent_spec(&run, kind).map_err(py_err)?;
        let ppo = ppo_from_run(&run, GAE_LAMBDA).map_err(py_err)?;
        let device = DeviceKind::Cpu.device().map_err(py_err)?;
        let mut policy = Learner::new(
            spec.network.clone(),
            ppo,
            run.action_space.clone(),
            &device,
            seed,
        )
        .map_err(py_err)?;
        // acting on chicane's native kernels where they cover the network
        policy.use_native().map_err(py_err)?;
        let worker = RolloutWorker::new(&run, spec.preprocess, num_envs, num_threads, seed, 0)
            .map_err(py_err)?;
        Ok(RustRolloutWorker {
            state: Mutex::new(WorkerState {
                worker,
                policy,
                rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_c41c_a9e0),
            }),
            network: kind.name(),
        })
    }

    /// The network's `model_metadata.json` name.
    #[getter]
    fn network(&self) -> &'static str {
        self.network
    }

    /// Loads `weights` (from `RustLearner.weights()`), then collects until
    /// `episodes` episodes have ended (or for `steps_per_env` steps of
    /// every env). Returns `(batch, env_steps, episodes)`: the batch as
    /// bytes for `RustLearner.update`. The envs run without the GIL.
    #[pyo3(signature = (weights, episodes=None, steps_per_env=None))]
    fn collect<'py>(
        &self,
        py: Python<'py>,
        weights: &[u8],
        episodes: Option<usize>,
        steps_per_env: Option<usize>,
    ) -> PyResult<(Bound<'py, PyBytes>, u64, usize)> {
        let length = match (episodes, steps_per_env) {
            (Some(e), None) => RolloutLength::Episodes(e.max(1)),
            (None, Some(s)) => RolloutLength::StepsPerEnv(s.max(1)),
            _ => {
                return Err(value_error(
                    "give exactly one of episodes= or steps_per_env=",
                ));
            }
        };
        let mut guard = self.state.lock().map_err(poisoned)?;
        let st = &mut *guard;
        st.policy.set_weights(weights).map_err(py_err)?;
        let batch = py
            .detach(|| {
                st.worker
                    .collect(&st.policy, &mut st.rng, length, &mut NoObserver)
            })
            .map_err(py_err)?
            .ok_or_else(|| value_error("the rollout was stopped"))?;
        let bytes = py
            .detach(|| postcard::to_stdvec(&batch))
            .map_err(value_error)?;
        Ok((
            PyBytes::new(py, &bytes),
            batch.env_steps,
            batch.episodes.len(),
        ))
    }
}

/// The learner of a distributed run: the run folder (same files as
/// `chicane train`), the network and its PPO update.
#[pyclass(module = "chicane._chicane")]
pub struct RustLearner {
    run: Mutex<TrainingRun>,
    network: &'static str,
    episodes_per_update: usize,
    /// What `start_viewer` shows: the run's tracks and charts; the camera
    /// frames stay on the workers.
    viewer_setup: ViewerSetup,
    viewer: Mutex<Option<Viewer>>,
    /// The run folder on S3 when `out` was an `s3://` URL: synced after
    /// every update and checkpoint.
    remote: Option<std::sync::Arc<chicane_agent::RemoteRun>>,
}

#[pymethods]
impl RustLearner {
    /// Opens the run folder `out` (a new one, or with `resume` the one to
    /// continue). `config`, `track`, `lidar`, `camera`, `network` as for
    /// `RustRolloutWorker`; `seed` overrides the config's. Resolved as
    /// `chicane train` resolves its flags (the same errors).
    #[new]
    #[pyo3(signature = (out, config=None, track=None, lidar=None, camera=None, network=None, resume=false, seed=None, steps_per_env=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        out: PathBuf,
        config: Option<PathBuf>,
        track: Option<String>,
        lidar: Option<bool>,
        camera: Option<bool>,
        network: Option<String>,
        resume: bool,
        seed: Option<u64>,
        steps_per_env: Option<usize>,
    ) -> PyResult<Self> {
        let request = RunRequest {
            out: Some(out),
            resume,
            seed,
            network,
            steps_per_update: steps_per_env,
            ..env_request(config, track, lidar, camera)
        };
        let plan = request.resolve().map_err(py_err)?;
        let episodes_per_update = plan.run.hyperparameters.num_episodes_between_training;
        let network = plan.options.network.name();
        let tr = py.detach(|| TrainingRun::open(&plan)).map_err(py_err)?;
        let viewer_setup = ViewerSetup {
            camera: None,
            num_envs: 0,
            note: Some(
                "no camera streams in a Ray run: the frames stay on the workers (chicane train --viewer streams them)"
                    .into(),
            ),
            ..ViewerSetup::for_training(&plan)
        };
        Ok(RustLearner {
            run: Mutex::new(tr),
            network,
            episodes_per_update,
            viewer_setup,
            viewer: Mutex::new(None),
            remote: plan.options.remote.clone(),
        })
    }

    /// The network's `model_metadata.json` name.
    #[getter]
    fn network(&self) -> &'static str {
        self.network
    }

    /// DeepRacer's `num_episodes_between_training` of the run.
    #[getter]
    fn episodes_per_update(&self) -> usize {
        self.episodes_per_update
    }

    /// The seed workers should reset with (moves on with the iterations,
    /// so a resumed run sees new episodes).
    #[getter]
    fn reset_seed(&self) -> PyResult<u64> {
        Ok(self.run.lock().map_err(poisoned)?.reset_seed())
    }

    /// The counters: iteration, episodes, total_steps, elapsed_s, laps,
    /// best_lap (DeepRacer-style `state.json` of the last checkpoint).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.run.lock().map_err(poisoned)?.state().clone();
        json_dict(py, &state)
    }

    /// The network weights (burnpack bytes) for the workers.
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let w = self
            .run
            .lock()
            .map_err(poisoned)?
            .learner()
            .weights()
            .map_err(py_err)?;
        Ok(PyBytes::new(py, &w))
    }

    /// Logs the episodes of `batches` (bytes from `RustRolloutWorker.collect`,
    /// in the order given), runs one PPO update on their experience and
    /// writes a checkpoint. Returns the iteration record (as in
    /// `metrics.jsonl`) with `checkpoint` and `stop_reason` (None, or why
    /// the config's limits say to stop) added.
    fn update<'py>(&self, py: Python<'py>, batches: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyDict>> {
        let batches = batches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                postcard::from_bytes::<RolloutBatch>(b)
                    .map_err(|e| value_error(format!("batch {i}: {e} (not from collect())")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let mut tr = self.run.lock().map_err(poisoned)?;
        let tr = &mut *tr;
        let viewer = self.viewer.lock().map_err(poisoned)?;
        let (rec, ckpt) = py
            .detach(|| {
                tr.update_from_batches(&batches, &mut |e| {
                    if let Some(v) = viewer.as_ref() {
                        v.episode(e);
                    }
                })
            })
            .map_err(py_err)?;
        if let Some(v) = viewer.as_ref() {
            v.iteration(&rec);
            v.steps(batches.iter().map(|b| b.env_steps).sum());
        }
        let stop = tr.stop_reason(&rec).map(|s| s.to_string());
        if let Some(remote) = &self.remote
            && let Err(e) = py.detach(|| remote.sync())
        {
            // the run goes on; the next update's sync uploads what this one did not
            let msg = format!(
                "could not sync the run folder to {}: {}",
                remote.url(),
                chicane_core::error_chain(&e)
            );
            let msg = std::ffi::CString::new(msg).unwrap_or_default();
            PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyRuntimeWarning>(),
                &msg,
                1,
            )?;
        }
        let d = json_dict(py, &rec)?.downcast_into::<PyDict>()?;
        d.set_item("checkpoint", ckpt.display().to_string())?;
        d.set_item("stop_reason", stop)?;
        Ok(d)
    }

    /// Starts the live viewer at `addr` (`PORT` or `HOST:PORT`; a port
    /// alone binds 127.0.0.1): the run's charts, status, top-down track and
    /// stop button, fed by `update`. Returns the page's URL.
    ///
    /// Raises ValueError for a bad address or one that cannot be listened on.
    fn start_viewer(&self, addr: &str) -> PyResult<String> {
        let addr: ViewerAddr = addr.parse().map_err(value_error)?;
        let v = Viewer::start(&addr, self.viewer_setup.clone()).map_err(value_error)?;
        let url = v.url();
        *self.viewer.lock().map_err(poisoned)? = Some(v);
        Ok(url)
    }

    /// True once the viewer's stop button was pressed: the driver stops
    /// after the update it is in (whose checkpoint is kept).
    #[getter]
    fn stop_requested(&self) -> PyResult<bool> {
        let v = self.viewer.lock().map_err(poisoned)?;
        Ok(v.as_ref().is_some_and(Viewer::stop_requested))
    }

    /// Marks the run finished on the viewer with `reason` and stops the
    /// server (after the open page saw it, at most 3 s).
    fn close_viewer(&self, py: Python<'_>, reason: &str) -> PyResult<()> {
        let v = self.viewer.lock().map_err(poisoned)?.take();
        if let Some(v) = v {
            py.detach(|| v.finish(reason));
        }
        Ok(())
    }

    /// Writes a checkpoint of the current weights and counters (no
    /// update), and syncs an S3 run folder; returns its folder.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        let mut tr = self.run.lock().map_err(poisoned)?;
        let ckpt = tr.checkpoint().map_err(py_err)?;
        if let Some(remote) = &self.remote {
            py.detach(|| remote.sync()).map_err(py_err)?;
        }
        Ok(ckpt.display().to_string())
    }

    /// Writes `training.png` (reward, progress, lap time per episode) and
    /// `lap_times.png` (lap time against training time) in the run folder
    /// from its `metrics.jsonl`; returns the first's path.
    fn plot(&self) -> PyResult<String> {
        let tr = self.run.lock().map_err(poisoned)?;
        let dir = tr.run_dir();
        let episodes = chicane_agent::read_episodes(&dir.metrics());
        let path = dir.training_chart();
        chicane_agent::plot_training(&episodes, &path).map_err(py_err)?;
        chicane_agent::plot_lap_times(&episodes, &dir.lap_time_chart()).map_err(py_err)?;
        Ok(path.display().to_string())
    }
}
