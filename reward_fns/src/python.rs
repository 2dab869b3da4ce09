//! DeepRacer `reward_function.py` files, run unchanged through the
//! machine's Python (feature `python`, pyo3).
//!
//! The file is loaded once as a module, so its imports, module-level
//! constants and state kept in globals persist between calls, and helper
//! functions and classes work. `params` is a dict with DeepRacer's keys and
//! Python types (lists, tuples, bools, floats, ints); the waypoint list is
//! built once per track and reused.

use crate::{RewardError, RewardFunction, RewardParams};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::ffi::CString;
use std::path::Path;
use std::sync::Arc;

/// The waypoint list of one track, kept as a Python list between calls.
type CachedWaypoints = Option<(Arc<Vec<[f64; 2]>>, Py<PyList>)>;

/// A loaded Python reward function.
pub struct PythonReward {
    name: String,
    func: Py<PyAny>,
    waypoints: CachedWaypoints,
    /// The source mentions `racing_line` (chicane's racing-line keys).
    racing_line: bool,
}

impl std::fmt::Debug for PythonReward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PythonReward")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `file:line: Type: message` and the traceback, for a Python error.
fn describe(py: Python<'_>, err: &PyErr, name: &str) -> String {
    let value = err.value(py);
    let kind = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Error".into());
    // syntax errors carry their own position
    if let (Ok(line), Ok(offset)) = (value.getattr("lineno"), value.getattr("offset"))
        && let (Ok(line), Ok(offset)) = (line.extract::<i64>(), offset.extract::<i64>())
    {
        let msg = value
            .getattr("msg")
            .map(|m| m.to_string())
            .unwrap_or_else(|_| value.to_string());
        return format!("{name}:{line}:{offset}: {kind}: {msg}");
    }
    let mut line = None;
    let mut trace = String::new();
    if let Some(tb) = err.traceback(py) {
        trace = tb.format().unwrap_or_default();
        // the deepest frame in the reward file
        let marker = format!("File \"{name}\", line ");
        for l in trace.lines() {
            if let Some(rest) = l.trim_start().strip_prefix(&marker) {
                line = rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .map(str::to_string);
            }
        }
    }
    match line {
        Some(l) => format!("{name}:{l}: {kind}: {value}\n{trace}"),
        None => format!("{name}: {kind}: {value}\n{trace}"),
    }
}

impl PythonReward {
    /// Loads Python source as a module; `name` (the file path) is used in
    /// tracebacks and errors.
    ///
    /// # Errors
    /// [`RewardError::Failed`] with `file:line` for a syntax error, an
    /// exception at import, or a missing `reward_function`.
    pub fn compile(source: &str, name: &str) -> Result<PythonReward, RewardError> {
        let fail = |message: String| RewardError::Failed {
            function: name.to_string(),
            message,
        };
        let code = CString::new(source)
            .map_err(|_| fail(format!("{name}: the file contains a NUL byte")))?;
        let file = CString::new(name).map_err(|_| fail(format!("{name}: bad file name")))?;
        // Python reuses a module object of the same name: each load gets its own
        static LOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let module_name = CString::new(format!("chicane_reward_function_{n}"))
            .map_err(|_| fail("module name".into()))?;
        Python::attach(|py| {
            let module = PyModule::from_code(py, &code, &file, &module_name)
                .map_err(|e| fail(describe(py, &e, name)))?;
            let func = module.getattr("reward_function").map_err(|_| {
                fail(format!("{name}: no `reward_function` defined; DeepRacer calls `def reward_function(params): ... return float(reward)`"))
            })?;
            if !func.is_callable() {
                return Err(fail(format!("{name}: `reward_function` is not a function")));
            }
            Ok(PythonReward {
                name: name.to_string(),
                func: func.unbind(),
                waypoints: None,
                racing_line: source.contains("racing_line"),
            })
        })
    }

    /// Reads and loads a `reward_function.py`.
    ///
    /// # Errors
    /// As [`PythonReward::compile`], plus an unreadable file.
    pub fn from_file(path: &Path) -> Result<PythonReward, RewardError> {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| RewardError::Failed {
            function: name.clone(),
            message: format!("{name}: cannot read: {e}"),
        })?;
        PythonReward::compile(&source, &name)
    }

    fn params_dict<'py>(
        &mut self,
        py: Python<'py>,
        p: &RewardParams,
    ) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("all_wheels_on_track", p.all_wheels_on_track)?;
        d.set_item("x", p.x)?;
        d.set_item("y", p.y)?;
        d.set_item("heading", p.heading)?;
        d.set_item("distance_from_center", p.distance_from_center)?;
        d.set_item("is_left_of_center", p.is_left_of_center)?;
        d.set_item("is_offtrack", p.is_offtrack)?;
        d.set_item("is_crashed", p.is_crashed)?;
        d.set_item("is_reversed", p.is_reversed)?;
        d.set_item("closest_waypoints", PyList::new(py, p.closest_waypoints)?)?;
        d.set_item("progress", p.progress)?;
        d.set_item("speed", p.speed)?;
        d.set_item("steering_angle", p.steering_angle)?;
        d.set_item("steps", p.steps)?;
        d.set_item("track_length", p.track_length)?;
        d.set_item("track_width", p.track_width)?;
        let wp = match &self.waypoints {
            Some((cached, list)) if Arc::ptr_eq(cached, &p.waypoints) => list.clone_ref(py),
            _ => {
                let tuples: Vec<Bound<'py, PyTuple>> = p
                    .waypoints
                    .iter()
                    .map(|w| PyTuple::new(py, [w[0], w[1]]))
                    .collect::<PyResult<_>>()?;
                let list = PyList::new(py, tuples)?.unbind();
                self.waypoints = Some((Arc::clone(&p.waypoints), list.clone_ref(py)));
                list
            }
        };
        d.set_item("waypoints", wp)?;
        d.set_item("closest_objects", PyList::new(py, p.closest_objects)?)?;
        let locs: Vec<Bound<'py, PyTuple>> = p
            .objects_location
            .iter()
            .map(|o| PyTuple::new(py, [o[0], o[1]]))
            .collect::<PyResult<_>>()?;
        d.set_item("objects_location", PyList::new(py, locs)?)?;
        d.set_item(
            "objects_left_of_center",
            PyList::new(py, &p.objects_left_of_center)?,
        )?;
        d.set_item("objects_speed", PyList::new(py, &p.objects_speed)?)?;
        d.set_item("objects_heading", PyList::new(py, &p.objects_heading)?)?;
        d.set_item("objects_distance", PyList::new(py, &p.objects_distance)?)?;
        d.set_item(
            "objects_distance_from_center",
            PyList::new(py, &p.objects_distance_from_center)?,
        )?;
        d.set_item("object_in_camera", p.object_in_camera)?;
        d.set_item("projection_distance", p.projection_distance)?;
        if let Some(l) = &p.racing_line {
            let pts: Vec<Bound<'py, PyList>> = l
                .racing_line
                .iter()
                .map(|w| PyList::new(py, [w[0], w[1]]))
                .collect::<PyResult<_>>()?;
            d.set_item("racing_line", PyList::new(py, pts)?)?;
            d.set_item(
                "racing_line_speeds",
                PyList::new(py, l.racing_line_speeds.iter())?,
            )?;
            d.set_item("racing_line_index", l.racing_line_index)?;
            d.set_item("racing_line_distance", l.racing_line_distance)?;
            d.set_item("racing_line_speed", l.racing_line_speed)?;
        }
        Ok(d)
    }
}

impl RewardFunction for PythonReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn uses_racing_line(&self) -> bool {
        self.racing_line
    }

    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError> {
        let name = self.name.clone();
        Python::attach(|py| {
            let fail = |message: String| RewardError::Failed {
                function: name.clone(),
                message,
            };
            let d = self
                .params_dict(py, params)
                .map_err(|e| fail(describe(py, &e, &name)))?;
            let out = self
                .func
                .bind(py)
                .call1((d,))
                .map_err(|e| fail(describe(py, &e, &self.name)))?;
            if out.is_instance_of::<pyo3::types::PyBool>() {
                return Err(fail(format!(
                    "{}: reward_function returned a bool ({out}), not a number",
                    self.name
                )));
            }
            out.extract::<f64>().map_err(|_| {
                let kind = out
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default();
                fail(format!(
                    "{}: reward_function returned {out} ({kind}), not a number",
                    self.name
                ))
            })
        })
    }
}
