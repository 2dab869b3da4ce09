//! chicane-reward: what a reward function sees and returns.
//!
//! [`RewardParams`] is DeepRacer's `params` dictionary with the same keys,
//! types and units (DeepRacer's documentation, "Input parameters of the AWS
//! DeepRacer reward function"), so reward functions port line by line.
//! The simulator calls a [`RewardFunction`] once per step and checks the
//! value with [`check_reward`].

use serde::Serialize;
use std::sync::Arc;

#[cfg(feature = "python")]
mod python;
mod script;
#[cfg(feature = "python")]
pub use python::PythonReward;
pub use script::{MAX_OPERATIONS, PARAM_KEYS, RACING_LINE_KEYS, RhaiReward, Waypoints};

/// DeepRacer's reward contract: a finite number within this magnitude.
pub const MAX_ABS_REWARD: f64 = 1e5;

/// DeepRacer's `params`, one step's view of the car and the track.
///
/// Units are DeepRacer's: metres, m/s, and **degrees** for `heading`,
/// `steering_angle` and `objects_heading`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RewardParams {
    /// All four wheels are on the track (inside the borders).
    pub all_wheels_on_track: bool,
    /// x of the car's reference point (m), 0.14 m ahead of the rear axle.
    pub x: f64,
    /// y of the car's reference point (m).
    pub y: f64,
    /// Yaw of the car (deg, counter-clockwise from +x, `(-180, 180]`).
    pub heading: f64,
    /// Distance (m) from the centerline.
    pub distance_from_center: f64,
    /// The car is left of the centerline (in waypoint order).
    pub is_left_of_center: bool,
    /// All four wheels are off the track.
    pub is_offtrack: bool,
    /// The car hit an object.
    pub is_crashed: bool,
    /// The car drives against waypoint order (DeepRacer: "clockwise").
    pub is_reversed: bool,
    /// Indices of the waypoints behind and ahead of the car along the
    /// centerline (see `chicane_tracks::Track::closest_waypoints`).
    pub closest_waypoints: [usize; 2],
    /// Percentage of the lap completed, 0 to 100.
    pub progress: f64,
    /// Speed of the car (m/s).
    pub speed: f64,
    /// Steering angle of the front wheels (deg), positive = left.
    pub steering_angle: f64,
    /// Steps taken in this episode, 1 on the first step.
    pub steps: u64,
    /// Track centerline length (m).
    pub track_length: f64,
    /// Track width (m) at the car's position.
    pub track_width: f64,
    /// Centerline waypoints `[x, y]` (m), shared by every step of a track.
    pub waypoints: Arc<Vec<[f64; 2]>>,
    /// Indices of the nearest objects behind and ahead along the track
    /// (`[0, 0]` without objects).
    pub closest_objects: [usize; 2],
    /// Object positions `[x, y]` (m).
    pub objects_location: Vec<[f64; 2]>,
    /// Whether each object is left of the centerline.
    pub objects_left_of_center: Vec<bool>,
    /// Object speeds (m/s).
    pub objects_speed: Vec<f64>,
    /// Object headings (deg).
    pub objects_heading: Vec<f64>,
    /// Object distances (m) along the centerline from the start.
    pub objects_distance: Vec<f64>,
    /// Object distances (m) from the centerline.
    pub objects_distance_from_center: Vec<f64>,
    /// The nearest object ahead is in the camera's view.
    pub object_in_camera: bool,
    /// Distance (m) along the centerline from the start to the car.
    pub projection_distance: f64,
    /// chicane's own key, not DeepRacer's: the racing line
    /// (`chicane track raceline`) for the car and the driving direction,
    /// when the reward function uses it ([`RewardFunction::uses_racing_line`]).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub racing_line: Option<RacingLineParams>,
}

/// The racing line as a reward function sees it (chicane's own keys:
/// DeepRacer has no racing line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RacingLineParams {
    /// The line's points `[x, y]` (m) in driving order from the start line.
    pub racing_line: Arc<Vec<[f64; 2]>>,
    /// The flying lap's speed profile (m/s) at each point.
    pub racing_line_speeds: Arc<Vec<f64>>,
    /// Index of the line's point nearest the car.
    pub racing_line_index: usize,
    /// Distance (m) from the car's reference point to the line.
    pub racing_line_distance: f64,
    /// The profile's speed (m/s) at the nearest point.
    pub racing_line_speed: f64,
}

impl RewardParams {
    /// The params as DeepRacer's JSON dictionary (for error reports and logs).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The params without the (long) waypoint list, for error messages.
    pub fn summary(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.insert(
                "waypoints".into(),
                serde_json::Value::String(format!("[{} waypoints]", self.waypoints.len())),
            );
        }
        v.to_string()
    }
}

/// A reward function failed or returned something DeepRacer would reject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RewardError {
    /// The function itself failed (a script error, for example). The
    /// message starts with the file (and line, where known).
    #[error("{message}")]
    Failed {
        /// The reward function's name (a file path for scripts).
        function: String,
        /// What went wrong, with the script's line where known.
        message: String,
    },
    /// The function returned NaN, an infinity or a value beyond
    /// [`MAX_ABS_REWARD`].
    #[error(
        "{function}: returned {value}, but a reward must be a finite number within -1e5..1e5 (DeepRacer's contract)"
    )]
    BadValue {
        /// The reward function's name.
        function: String,
        /// The value returned.
        value: f64,
    },
}

/// A reward function: called once per step with DeepRacer's params.
///
/// Implementations may keep state between calls (as DeepRacer Python
/// functions do with globals).
pub trait RewardFunction: Send {
    /// A name for messages: the script's path, or the built-in's name.
    fn name(&self) -> &str;

    /// The reward for this step.
    ///
    /// # Errors
    /// [`RewardError::Failed`] when the function cannot produce a value.
    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError>;

    /// Whether the function reads the racing-line keys (the simulator then
    /// computes the line and fills [`RewardParams::racing_line`]). Default
    /// false; scripts say yes when their source mentions `racing_line`.
    fn uses_racing_line(&self) -> bool {
        false
    }
}

/// Checks a reward against DeepRacer's contract: finite and within
/// [`MAX_ABS_REWARD`].
///
/// # Errors
/// [`RewardError::BadValue`] otherwise.
pub fn check_reward(function: &str, value: f64) -> Result<f64, RewardError> {
    if value.is_finite() && value.abs() <= MAX_ABS_REWARD {
        Ok(value)
    } else {
        Err(RewardError::BadValue {
            function: function.to_string(),
            value,
        })
    }
}

/// DeepRacer's sample reward "follow the center line": 1.0 within 10% of
/// the track width of the centerline, 0.5 within 25%, 0.1 within 50%, and
/// 1e-3 (likely crashed or close to off track) beyond
/// (`../shared/data/reward_fns/center_line.py`; DeepRacer console example 1).
#[derive(Debug, Clone, Copy, Default)]
pub struct FollowCenterLine;

impl RewardFunction for FollowCenterLine {
    fn name(&self) -> &str {
        "built-in follow-center-line"
    }

    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError> {
        let width = params.track_width;
        let d = params.distance_from_center;
        Ok(if d <= 0.1 * width {
            1.0
        } else if d <= 0.25 * width {
            0.5
        } else if d <= 0.5 * width {
            0.1
        } else {
            1e-3
        })
    }
}

/// Loads a reward function file by extension: `.rhai` (built in) or `.py`
/// (DeepRacer's Python, with the `python` feature).
///
/// # Errors
/// The loaders' errors; a `.py` file without the `python` feature, or an
/// unknown extension, gets an error saying what to do.
pub fn load_reward(path: &std::path::Path) -> Result<Box<dyn RewardFunction>, RewardError> {
    let name = path.display().to_string();
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("rhai") => Ok(Box::new(RhaiReward::from_file(path)?)),
        #[cfg(feature = "python")]
        Some("py") => Ok(Box::new(PythonReward::from_file(path)?)),
        #[cfg(not(feature = "python"))]
        Some("py") => Err(RewardError::Failed {
            function: name.clone(),
            message: format!(
                "{name}: this chicane was built without Python; rebuild with `cargo build --release --features python` to run it unchanged, or port it to Rhai (reward_fns/examples has ports of DeepRacer's examples)"
            ),
        }),
        _ => Err(RewardError::Failed {
            function: name.clone(),
            message: format!(
                "{name}: a reward function is a .rhai script or (with --features python) a DeepRacer .py file"
            ),
        }),
    }
}

/// A reward function from a closure, for tests and quick experiments.
pub struct FnReward<F> {
    name: String,
    f: F,
    racing_line: bool,
}

impl<F: FnMut(&RewardParams) -> f64 + Send> FnReward<F> {
    /// Wraps `f` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            f,
            racing_line: false,
        }
    }

    /// The same function, asking for the racing-line keys
    /// ([`RewardFunction::uses_racing_line`]).
    pub fn with_racing_line(mut self) -> Self {
        self.racing_line = true;
        self
    }
}

impl<F: FnMut(&RewardParams) -> f64 + Send> RewardFunction for FnReward<F> {
    fn name(&self) -> &str {
        &self.name
    }

    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError> {
        Ok((self.f)(params))
    }

    fn uses_racing_line(&self) -> bool {
        self.racing_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(d: f64) -> RewardParams {
        RewardParams {
            all_wheels_on_track: true,
            x: 0.0,
            y: 0.0,
            heading: 0.0,
            distance_from_center: d,
            is_left_of_center: true,
            is_offtrack: false,
            is_crashed: false,
            is_reversed: false,
            closest_waypoints: [0, 1],
            progress: 0.0,
            speed: 1.0,
            steering_angle: 0.0,
            steps: 1,
            track_length: 10.0,
            track_width: 1.0,
            waypoints: Arc::new(vec![[0.0, 0.0], [1.0, 0.0]]),
            closest_objects: [0, 0],
            objects_location: vec![],
            objects_left_of_center: vec![],
            objects_speed: vec![],
            objects_heading: vec![],
            objects_distance: vec![],
            objects_distance_from_center: vec![],
            object_in_camera: false,
            projection_distance: 0.0,
            racing_line: None,
        }
    }

    #[test]
    fn center_line_tiers() {
        let mut r = FollowCenterLine;
        for (d, want) in [(0.05, 1.0), (0.1, 1.0), (0.2, 0.5), (0.4, 0.1), (0.6, 1e-3)] {
            assert_eq!(r.reward(&params(d)).unwrap(), want, "d = {d}");
        }
    }

    #[test]
    fn contract() {
        assert_eq!(check_reward("f", 3.0), Ok(3.0));
        assert!(check_reward("f", f64::NAN).is_err());
        assert!(
            check_reward("f", 1e6)
                .unwrap_err()
                .to_string()
                .contains("-1e5..1e5")
        );
        let json = params(0.1).to_json();
        assert!(json.contains("\"distance_from_center\":0.1") && json.contains("\"waypoints\""));
        assert!(params(0.1).summary().contains("[2 waypoints]"));
    }
}
