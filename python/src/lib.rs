//! `chicane._chicane`: the simulator for Python. The Gymnasium classes in
//! `chicane/__init__.py` wrap [`RustRaceEnv`]; every bad argument becomes a
//! `ValueError` carrying the Rust error's message.

use chicane_agent::RunRequest;
use chicane_core::{Action, ActionSpace};
use chicane_reward::{RewardError, RewardFunction, RewardParams};
use chicane_sim::{Info, RaceEnv, ResetOptions, VecEnv};
use numpy::{IntoPyArray, PyArray3};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::Arc;

mod train;

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A library error as a `ValueError` whose message is the whole chain
/// (the same text `chicane train` prints, on one line).
fn py_err<E: std::error::Error>(e: E) -> PyErr {
    PyValueError::new_err(chicane_core::error_chain(&e))
}

/// A Python callable `reward_function(params) -> float` with DeepRacer's
/// params dict.
struct CallableReward {
    func: Py<PyAny>,
    loads: Py<PyAny>,
}

impl RewardFunction for CallableReward {
    fn name(&self) -> &str {
        "reward_function (Python callable)"
    }

    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError> {
        let fail = |message: String| RewardError::Failed {
            function: self.name().into(),
            message,
        };
        let json = serde_json::to_string(params).map_err(|e| fail(e.to_string()))?;
        Python::attach(|py| {
            let d = self.loads.call1(py, (json,))?;
            self.func.call1(py, (d,))?.extract::<f64>(py)
        })
        .map_err(|e| fail(e.to_string()))
    }
}

/// One chicane race environment (Gymnasium semantics; the Python class
/// `chicane.RaceEnv` adds the spaces).
#[pyclass(unsendable)]
struct RustRaceEnv {
    env: RaceEnv,
    camera: Option<(usize, usize, usize)>,
    lidar: Option<usize>,
    lidar_range: (f64, f64),
    loads: Py<PyAny>,
    /// The car's last position (m), for `render_top_down`.
    position: chicane_core::Vec2,
}

/// Writes channel-major `src` (`[C, H, W]` u8) into `dst` as `[H, W, C]`.
fn chw_to_hwc(src: &[u8], dst: &mut [u8], (c, h, w): (usize, usize, usize)) {
    for ch in 0..c {
        for (i, &v) in src[ch * h * w..(ch + 1) * h * w].iter().enumerate() {
            dst[i * c + ch] = v;
        }
    }
}

/// `[C, H, W]` u8 to a numpy `[H, W, C]` array (the one copy per step).
///
/// # Errors
/// `RuntimeError` when `chw` does not hold `c * h * w` values (a frame of
/// another shape than the env declared: a bug, never hidden as zeros).
fn hwc<'py>(
    py: Python<'py>,
    chw: &[u8],
    (c, h, w): (usize, usize, usize),
) -> PyResult<Bound<'py, PyArray3<u8>>> {
    if chw.len() != c * h * w {
        return Err(PyRuntimeError::new_err(format!(
            "camera frame of {} bytes does not fit the declared shape ({h}, {w}, {c})",
            chw.len()
        )));
    }
    let mut out = vec![0u8; c * h * w];
    chw_to_hwc(chw, &mut out, (c, h, w));
    Ok(numpy::ndarray::Array3::from_shape_vec((h, w, c), out)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .into_pyarray(py))
}

impl RustRaceEnv {
    fn obs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let o = self.env.observation();
        let cam = self.camera.map(|s| hwc(py, &o.camera, s)).transpose()?;
        let lid = self.lidar.map(|_| o.lidar.clone().into_pyarray(py));
        Ok(match (cam, lid) {
            (Some(c), None) => c.into_any(),
            (None, Some(l)) => l.into_any(),
            (c, l) => {
                let d = PyDict::new(py);
                if let Some(c) = c {
                    d.set_item("camera", c)?;
                }
                if let Some(l) = l {
                    d.set_item("lidar", l)?;
                }
                d.into_any()
            }
        })
    }

    fn info<'py>(&self, py: Python<'py>, info: &Info) -> PyResult<Bound<'py, PyAny>> {
        let json = serde_json::to_string(&info.params).map_err(value_error)?;
        let d = self.loads.call1(py, (json,))?.into_bound(py);
        d.set_item("episode_status", info.episode_status.as_str())?;
        d.set_item("laps", info.laps)?;
        d.set_item("lap_times", info.lap_times.clone())?;
        d.set_item("time", info.time)?;
        d.set_item("track", &*info.track)?;
        Ok(d)
    }
}

#[pymethods]
impl RustRaceEnv {
    /// `config`: a run TOML, a DeepRacer custom_files folder or None (the
    /// built-in defaults); `track`: a built-in name, a .toml or a DeepRacer
    /// .npy; `reward_function`: a callable taking DeepRacer's params dict;
    /// `lidar`: add (True) or remove (False) the 64-beam lidar; `camera`:
    /// keep (True) or remove (False) the camera.
    #[new]
    #[pyo3(signature = (config=None, track=None, reward_function=None, lidar=None, camera=None))]
    fn new(
        py: Python<'_>,
        config: Option<PathBuf>,
        track: Option<String>,
        reward_function: Option<Py<PyAny>>,
        lidar: Option<bool>,
        camera: Option<bool>,
    ) -> PyResult<Self> {
        let run = load_run(config, track, lidar, camera)?;
        let loads = py.import("json")?.getattr("loads")?.unbind();
        let reward: Box<dyn RewardFunction> = match reward_function {
            Some(func) => {
                if !func.bind(py).is_callable() {
                    return Err(PyValueError::new_err(
                        "reward_function must be callable: def reward_function(params): return 1.0",
                    ));
                }
                Box::new(CallableReward {
                    func,
                    loads: loads.clone_ref(py),
                })
            }
            None => run.make_reward().map_err(py_err)?,
        };
        let lidar_range = run
            .sim
            .lidar
            .as_ref()
            .map_or((0.0, 0.0), |l| (l.min_range, l.max_range));
        let env = RaceEnv::new(
            run.sim.clone(),
            Arc::clone(&run.track),
            run.action_space.clone(),
            reward,
        )
        .map_err(py_err)?;
        let space = env.observation_space();
        Ok(RustRaceEnv {
            camera: space.camera,
            lidar: space.lidar,
            lidar_range,
            env,
            loads,
            position: chicane_core::Vec2::ZERO,
        })
    }

    /// `(H, W, C)` of camera observations, or None.
    #[getter]
    fn camera_shape(&self) -> Option<(usize, usize, usize)> {
        self.camera.map(|(c, h, w)| (h, w, c))
    }

    /// Lidar beams, or None.
    #[getter]
    fn lidar_beams(&self) -> Option<usize> {
        self.lidar
    }

    /// `(min, max)` lidar range (m).
    #[getter]
    fn lidar_range(&self) -> (f64, f64) {
        self.lidar_range
    }

    /// `("discrete", [(steering_angle_deg, speed), ...])` or
    /// `("continuous", (steer_low, steer_high), (speed_low, speed_high))`.
    #[getter]
    fn action_space<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.env.action_space() {
            ActionSpace::Discrete(list) => {
                let v: Vec<(f64, f64)> = list
                    .iter()
                    .map(|a| (a.steering_angle_deg, a.speed))
                    .collect();
                ("discrete", v).into_pyobject(py)?.into_any()
            }
            ActionSpace::Continuous {
                steering_angle_deg: s,
                speed: v,
            } => ("continuous", (s.low, s.high), (v.low, v.high))
                .into_pyobject(py)?
                .into_any(),
        })
    }

    /// The track's name.
    #[getter]
    fn track_name(&self) -> String {
        self.env.track().name().to_string()
    }

    /// Starts an episode; `seed` reseeds the env's random start;
    /// `start_position` (fraction of the lap) and `direction` (`forward` or
    /// `reverse`) override the config's for this episode.
    #[pyo3(signature = (seed=None, start_position=None, direction=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<u64>,
        start_position: Option<f64>,
        direction: Option<String>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let options = reset_options(start_position, direction)?;
        let info = self.env.reset_in_place(seed, options).map_err(py_err)?;
        self.position = info.car.position;
        Ok((self.obs(py)?, self.info(py, &info)?))
    }

    /// One step: an action index (discrete) or `[steering_angle_deg, speed]`
    /// (continuous). Returns `(obs, reward, terminated, truncated, info)`.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, f64, bool, bool, Bound<'py, PyAny>)> {
        let action = match self.env.action_space() {
            ActionSpace::Discrete(_) => {
                Action::Discrete(action.extract::<usize>().map_err(|_| {
                    PyValueError::new_err(format!("action {action}: expected an action index"))
                })?)
            }
            ActionSpace::Continuous { .. } => {
                let v: Vec<f64> = action.extract().map_err(|_| {
                    PyValueError::new_err(format!(
                        "action {action}: expected [steering_angle_deg, speed]"
                    ))
                })?;
                let [s, v] = v[..] else {
                    return Err(PyValueError::new_err(
                        "action: expected two values [steering_angle_deg, speed]",
                    ));
                };
                Action::Continuous {
                    steering_angle_deg: s,
                    speed: v,
                }
            }
        };
        let (r, term, trunc, info) = self.env.step_in_place(&action).map_err(py_err)?;
        self.position = info.car.position;
        Ok((self.obs(py)?, r, term, trunc, self.info(py, &info)?))
    }

    /// The track from above with the car as a red square, `[H, W, 3]` u8.
    fn render_top_down<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let opts = chicane_tracks::RenderOptions {
            pixels_per_meter: 40.0,
            title: false,
            ..chicane_tracks::RenderOptions::default()
        };
        let img = chicane_tracks::render_top_down(self.env.track(), &opts);
        let (frame, _, _) = chicane_tracks::pixel_frame(self.env.track(), &opts);
        let (w, h) = (img.width() as i64, img.height() as i64);
        let mut px = img.into_raw();
        let (x, y) = frame.to_pixel(self.position);
        for dy in -3..=3 {
            for dx in -3..=3 {
                let (u, v) = (x as i64 + dx, y as i64 + dy);
                if (0..w).contains(&u) && (0..h).contains(&v) {
                    let i = ((v * w + u) * 3) as usize;
                    px[i..i + 3].copy_from_slice(&[220, 30, 30]);
                }
            }
        }
        Ok(
            numpy::ndarray::Array3::from_shape_vec((h as usize, w as usize, 3), px)
                .map_err(value_error)?
                .into_pyarray(py),
        )
    }
}

/// N race environments stepped in parallel in Rust (rayon) without the
/// GIL; observations come back as one numpy batch. Autoreset: same step
/// (Gymnasium's `AutoresetMode.SAME_STEP`).
#[pyclass(unsendable)]
struct RustVecEnv {
    vec: VecEnv,
    camera: Option<(usize, usize, usize)>,
    lidar: Option<usize>,
    discrete: bool,
}

/// Gymnasium's reset `options` (`start_position`, `direction`) as the
/// simulator's.
fn reset_options(start_position: Option<f64>, direction: Option<String>) -> PyResult<ResetOptions> {
    let direction = match direction.as_deref() {
        None => None,
        Some("forward") => Some(chicane_tracks::Direction::Forward),
        Some("reverse") => Some(chicane_tracks::Direction::Reverse),
        Some(other) => {
            return Err(value_error(format!(
                "options[\"direction\"] = {other:?}: use \"forward\" or \"reverse\""
            )));
        }
    };
    Ok(ResetOptions {
        start_position,
        direction,
    })
}

/// The run request of the Python-side arguments (resolved by the library,
/// as `chicane train` resolves its flags).
fn env_request(
    config: Option<PathBuf>,
    track: Option<String>,
    lidar: Option<bool>,
    camera: Option<bool>,
) -> RunRequest {
    RunRequest {
        config,
        track,
        lidar,
        camera,
        ..RunRequest::default()
    }
}

/// Loads a run config with the Python-side overrides.
fn load_run(
    config: Option<PathBuf>,
    track: Option<String>,
    lidar: Option<bool>,
    camera: Option<bool>,
) -> PyResult<chicane_config::ResolvedRun> {
    env_request(config, track, lidar, camera)
        .resolve_run()
        .map_err(py_err)
}

impl RustVecEnv {
    /// The batch observation: `[N, H, W, C]` u8 and/or `[N, L]` f32.
    fn obs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.vec.num_envs();
        let cam = self.camera.map(|(c, h, w)| {
            let chw = self.vec.camera_batch();
            let one = c * h * w;
            let mut out = vec![0u8; n * one];
            for (src, dst) in chw.chunks_exact(one).zip(out.chunks_exact_mut(one)) {
                chw_to_hwc(src, dst, (c, h, w));
            }
            numpy::ndarray::Array4::from_shape_vec((n, h, w, c), out).map(|a| a.into_pyarray(py))
        });
        let lid = self.lidar.map(|l| {
            numpy::ndarray::Array2::from_shape_vec((n, l), self.vec.lidar_batch().to_vec())
                .map(|a| a.into_pyarray(py))
        });
        Ok(match (cam, lid) {
            (Some(c), None) => c.map_err(value_error)?.into_any(),
            (None, Some(l)) => l.map_err(value_error)?.into_any(),
            (c, l) => {
                let d = PyDict::new(py);
                if let Some(c) = c {
                    d.set_item("camera", c.map_err(value_error)?)?;
                }
                if let Some(l) = l {
                    d.set_item("lidar", l.map_err(value_error)?)?;
                }
                d.into_any()
            }
        })
    }

    /// Per-env progress, speed and status, and the final observation and
    /// status of envs whose episode ended this step.
    fn infos<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let n = self.vec.num_envs();
        let d = PyDict::new(py);
        let get = |f: &dyn Fn(&Info) -> f64| -> Vec<f64> {
            (0..n).map(|i| self.vec.info(i).map_or(0.0, f)).collect()
        };
        d.set_item("progress", get(&|i| i.params.progress).into_pyarray(py))?;
        d.set_item("speed", get(&|i| i.params.speed).into_pyarray(py))?;
        let status: Vec<&str> = (0..n)
            .map(|i| self.vec.info(i).map_or("", |x| x.episode_status.as_str()))
            .collect();
        d.set_item("episode_status", status)?;
        let tracks: Vec<&str> = (0..n)
            .map(|i| self.vec.info(i).map_or("", |x| &*x.track))
            .collect();
        d.set_item("track", tracks)?;
        let ended: Vec<bool> = (0..n).map(|i| self.vec.final_info(i).is_some()).collect();
        if ended.iter().any(|&e| e) {
            let final_status: Vec<Option<&str>> = (0..n)
                .map(|i| self.vec.final_info(i).map(|x| x.episode_status.as_str()))
                .collect();
            let final_progress: Vec<Option<f64>> = (0..n)
                .map(|i| self.vec.final_info(i).map(|x| x.params.progress))
                .collect();
            let fi = PyDict::new(py);
            fi.set_item("episode_status", final_status)?;
            fi.set_item("progress", final_progress)?;
            let final_track: Vec<Option<&str>> = (0..n)
                .map(|i| self.vec.final_info(i).map(|x| &*x.track))
                .collect();
            fi.set_item("track", final_track)?;
            d.set_item("final_info", fi)?;
            d.set_item("_final_info", ended.clone().into_pyarray(py))?;
        }
        Ok(d)
    }
}

#[pymethods]
impl RustVecEnv {
    /// `num_envs` envs from one run config (see `RustRaceEnv`), stepped on
    /// `num_threads` threads (0 = one per core).
    #[new]
    #[pyo3(signature = (num_envs, config=None, track=None, lidar=None, camera=None, num_threads=0))]
    fn new(
        num_envs: usize,
        config: Option<PathBuf>,
        track: Option<String>,
        lidar: Option<bool>,
        camera: Option<bool>,
        num_threads: usize,
    ) -> PyResult<Self> {
        let run = load_run(config, track, lidar, camera)?;
        let vec = run.vec_env(num_envs, num_threads).map_err(py_err)?;
        let space = vec.single_observation_space();
        Ok(RustVecEnv {
            camera: space.camera,
            lidar: space.lidar,
            discrete: matches!(vec.single_action_space(), ActionSpace::Discrete(_)),
            vec,
        })
    }

    /// Number of sub-envs.
    #[getter]
    fn num_envs(&self) -> usize {
        self.vec.num_envs()
    }

    /// Resets every sub-env (env `i` seeded `seed + i`), with the same
    /// `start_position` and `direction` overrides for all.
    #[pyo3(signature = (seed=None, start_position=None, direction=None))]
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: Option<u64>,
        start_position: Option<f64>,
        direction: Option<String>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
        let options = reset_options(start_position, direction)?;
        let vec = &mut self.vec;
        py.detach(|| vec.reset_with(seed, options))
            .map_err(py_err)?;
        Ok((self.obs(py)?, self.infos(py)?))
    }

    /// Steps every sub-env: `actions` is `[N]` indices (discrete) or
    /// `[N, 2]` (steering_angle_deg, speed). Returns `(obs, rewards,
    /// terminated, truncated, infos)`.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
    ) -> PyResult<(
        Bound<'py, PyAny>,
        Bound<'py, numpy::PyArray1<f64>>,
        Bound<'py, numpy::PyArray1<bool>>,
        Bound<'py, numpy::PyArray1<bool>>,
        Bound<'py, PyDict>,
    )> {
        let n = self.vec.num_envs();
        let acts: Vec<Action> = if self.discrete {
            let v: Vec<i64> = actions.extract().map_err(|_| {
                PyValueError::new_err(format!("actions: expected {n} action indices"))
            })?;
            v.into_iter()
                .map(|a| usize::try_from(a).map(Action::Discrete))
                .collect::<Result<_, _>>()
                .map_err(|_| PyValueError::new_err("actions: indices must be >= 0"))?
        } else {
            let v: Vec<Vec<f64>> = actions.extract().map_err(|_| {
                PyValueError::new_err(format!(
                    "actions: expected [{n}, 2] (steering_angle_deg, speed)"
                ))
            })?;
            v.into_iter()
                .map(|a| match a[..] {
                    [s, v] => Ok(Action::Continuous {
                        steering_angle_deg: s,
                        speed: v,
                    }),
                    _ => Err(PyValueError::new_err(
                        "actions: each row must be [steering_angle_deg, speed]",
                    )),
                })
                .collect::<PyResult<_>>()?
        };
        let vec = &mut self.vec;
        py.detach(|| vec.step(&acts)).map_err(py_err)?;
        Ok((
            self.obs(py)?,
            self.vec.rewards().to_vec().into_pyarray(py),
            self.vec.terminated().to_vec().into_pyarray(py),
            self.vec.truncated().to_vec().into_pyarray(py),
            self.infos(py)?,
        ))
    }
}

/// Seconds in a duration as `chicane train --max-time` reads it: `90`,
/// `90s`, `10m`, `1h30m`.
#[pyfunction]
fn parse_duration(text: &str) -> PyResult<f64> {
    chicane_agent::parse_duration("max_time", text)
        .map(|d| d.as_secs_f64())
        .map_err(py_err)
}

/// The names of chicane's built-in tracks.
#[pyfunction]
fn builtin_tracks() -> Vec<String> {
    chicane_tracks::builtin_names()
        .map(str::to_string)
        .collect()
}

#[pymodule]
fn _chicane(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RustRaceEnv>()?;
    m.add_class::<RustVecEnv>()?;
    m.add_class::<train::RustLearner>()?;
    m.add_class::<train::RustRolloutWorker>()?;
    m.add_function(wrap_pyfunction!(builtin_tracks, m)?)?;
    m.add_function(wrap_pyfunction!(parse_duration, m)?)?;
    Ok(())
}
