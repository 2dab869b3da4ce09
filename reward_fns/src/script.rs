//! Reward functions written in Rhai, loaded at run time.
//!
//! A script defines `fn reward_function(params)` and returns a number.
//! `params` has DeepRacer's keys, read as properties (`params.speed`) or
//! by name (`params["speed"]`), read-only. The math a reward author needs is there as plain
//! functions and in a `math` module, so a DeepRacer Python function ports
//! line by line (`math.atan2(y, x)` becomes `math::atan2(y, x)`):
//! `abs min max sqrt sin cos tan asin acos atan atan2 hypot degrees radians
//! floor ceil round exp ln log10 pi`.
//!
//! The engine is sandboxed: Rhai has no file, network or process access,
//! `eval` is disabled, and each call is capped at [`MAX_OPERATIONS`].
//! The script is compiled once; its top-level statements run once at load.

use crate::{RewardError, RewardFunction, RewardParams};
use rhai::{AST, CallFnOptions, Dynamic, Engine, FLOAT, INT, Module, Scope};
use std::path::Path;
use std::sync::Arc;

/// Most Rhai operations one reward call may take (a runaway loop stops
/// with an error instead of hanging training).
pub const MAX_OPERATIONS: u64 = 1_000_000;

fn math_module() -> Module {
    let mut m = Module::new();
    m.set_native_fn("atan2", |y: FLOAT, x: FLOAT| Ok(y.atan2(x)));
    m.set_native_fn("hypot", |x: FLOAT, y: FLOAT| Ok(x.hypot(y)));
    m.set_native_fn("degrees", |x: FLOAT| Ok(x.to_degrees()));
    m.set_native_fn("radians", |x: FLOAT| Ok(x.to_radians()));
    m.set_native_fn("sqrt", |x: FLOAT| Ok(x.sqrt()));
    m.set_native_fn("sin", |x: FLOAT| Ok(x.sin()));
    m.set_native_fn("cos", |x: FLOAT| Ok(x.cos()));
    m.set_native_fn("tan", |x: FLOAT| Ok(x.tan()));
    m.set_native_fn("asin", |x: FLOAT| Ok(x.asin()));
    m.set_native_fn("acos", |x: FLOAT| Ok(x.acos()));
    m.set_native_fn("atan", |x: FLOAT| Ok(x.atan()));
    m.set_native_fn("floor", |x: FLOAT| Ok(x.floor()));
    m.set_native_fn("ceil", |x: FLOAT| Ok(x.ceil()));
    m.set_native_fn("fabs", |x: FLOAT| Ok(x.abs()));
    m.set_native_fn("exp", |x: FLOAT| Ok(x.exp()));
    m.set_native_fn("log", |x: FLOAT| Ok(x.ln()));
    m.set_native_fn("log10", |x: FLOAT| Ok(x.log10()));
    m.set_native_fn("pow", |x: FLOAT, y: FLOAT| Ok(x.powf(y)));
    m.set_native_fn("isclose", |a: FLOAT, b: FLOAT| {
        Ok((a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
    });
    m.set_var("pi", std::f64::consts::PI);
    m.set_var("e", std::f64::consts::E);
    m.set_var("inf", f64::INFINITY);
    // integer arguments too, as Python's math accepts them
    m.set_native_fn("sqrt", |x: INT| Ok((x as FLOAT).sqrt()));
    m.set_native_fn("degrees", |x: INT| Ok((x as FLOAT).to_degrees()));
    m.set_native_fn("radians", |x: INT| Ok((x as FLOAT).to_radians()));
    m
}

/// `params.waypoints` in Rhai: a read-only list of `[x, y]` shared by
/// every call, so reading it costs an `Arc` clone instead of a deep copy
/// of the whole array. Index it (`wp[i]`, negative from the end like
/// Python), take `len()`, or loop over it.
#[derive(Debug, Clone)]
pub struct Waypoints(Arc<Vec<[f64; 2]>>);

/// `params` in Rhai: DeepRacer's params as read-only properties
/// (`params.speed`) and string indexing (`params["speed"]`), without
/// copying them into a map on every call.
#[derive(Debug, Clone)]
pub struct ParamsView(Arc<RewardParams>, Dynamic);

impl ParamsView {
    fn get(&self, key: &str) -> Option<Dynamic> {
        let p = &self.0;
        fn floats(v: &[f64]) -> Dynamic {
            Dynamic::from_array(v.iter().map(|&x| Dynamic::from_float(x)).collect())
        }
        fn pair(v: [usize; 2]) -> Dynamic {
            Dynamic::from_array(vec![
                Dynamic::from_int(v[0] as INT),
                Dynamic::from_int(v[1] as INT),
            ])
        }
        Some(match key {
            "all_wheels_on_track" => Dynamic::from_bool(p.all_wheels_on_track),
            "x" => Dynamic::from_float(p.x),
            "y" => Dynamic::from_float(p.y),
            "heading" => Dynamic::from_float(p.heading),
            "distance_from_center" => Dynamic::from_float(p.distance_from_center),
            "is_left_of_center" => Dynamic::from_bool(p.is_left_of_center),
            "is_offtrack" => Dynamic::from_bool(p.is_offtrack),
            "is_crashed" => Dynamic::from_bool(p.is_crashed),
            "is_reversed" => Dynamic::from_bool(p.is_reversed),
            "closest_waypoints" => pair(p.closest_waypoints),
            "progress" => Dynamic::from_float(p.progress),
            "speed" => Dynamic::from_float(p.speed),
            "steering_angle" => Dynamic::from_float(p.steering_angle),
            "steps" => Dynamic::from_int(p.steps as INT),
            "track_length" => Dynamic::from_float(p.track_length),
            "track_width" => Dynamic::from_float(p.track_width),
            "waypoints" => self.1.clone(),
            "closest_objects" => pair(p.closest_objects),
            "objects_location" => {
                Dynamic::from_array(p.objects_location.iter().map(|&o| point(o)).collect())
            }
            "objects_left_of_center" => Dynamic::from_array(
                p.objects_left_of_center
                    .iter()
                    .map(|&b| Dynamic::from_bool(b))
                    .collect(),
            ),
            "objects_speed" => floats(&p.objects_speed),
            "objects_heading" => floats(&p.objects_heading),
            "objects_distance" => floats(&p.objects_distance),
            "objects_distance_from_center" => floats(&p.objects_distance_from_center),
            "object_in_camera" => Dynamic::from_bool(p.object_in_camera),
            "projection_distance" => Dynamic::from_float(p.projection_distance),
            "racing_line" => p.racing_line.as_ref().map_or(Dynamic::UNIT, |l| {
                Dynamic::from(Waypoints(Arc::clone(&l.racing_line)))
            }),
            "racing_line_speeds" => p
                .racing_line
                .as_ref()
                .map_or(Dynamic::UNIT, |l| floats(&l.racing_line_speeds)),
            "racing_line_index" => p.racing_line.as_ref().map_or(Dynamic::UNIT, |l| {
                Dynamic::from_int(l.racing_line_index as INT)
            }),
            "racing_line_distance" => p.racing_line.as_ref().map_or(Dynamic::UNIT, |l| {
                Dynamic::from_float(l.racing_line_distance)
            }),
            "racing_line_speed" => p
                .racing_line
                .as_ref()
                .map_or(Dynamic::UNIT, |l| Dynamic::from_float(l.racing_line_speed)),
            _ => return None,
        })
    }
}

/// DeepRacer's params keys, in its documentation's order.
pub const PARAM_KEYS: [&str; 26] = [
    "all_wheels_on_track",
    "x",
    "y",
    "heading",
    "distance_from_center",
    "is_left_of_center",
    "is_offtrack",
    "is_crashed",
    "is_reversed",
    "closest_waypoints",
    "progress",
    "speed",
    "steering_angle",
    "steps",
    "track_length",
    "track_width",
    "waypoints",
    "closest_objects",
    "objects_location",
    "objects_left_of_center",
    "objects_speed",
    "objects_heading",
    "objects_distance",
    "objects_distance_from_center",
    "object_in_camera",
    "projection_distance",
];

/// chicane's own keys beside DeepRacer's: the racing line (see
/// [`crate::RacingLineParams`]).
pub const RACING_LINE_KEYS: [&str; 5] = [
    "racing_line",
    "racing_line_speeds",
    "racing_line_index",
    "racing_line_distance",
    "racing_line_speed",
];

impl IntoIterator for Waypoints {
    type Item = Dynamic;
    type IntoIter = std::vec::IntoIter<Dynamic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0
            .iter()
            .map(|&p| point(p))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

fn point(p: [f64; 2]) -> Dynamic {
    Dynamic::from_array(vec![Dynamic::from_float(p[0]), Dynamic::from_float(p[1])])
}

/// A Rhai engine set up for reward functions.
fn engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .register_type_with_name::<Waypoints>("Waypoints")
        .register_indexer_get(
            |w: &mut Waypoints, i: INT| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
                let n = w.0.len() as INT;
                let k = if i < 0 { i + n } else { i };
                if (0..n).contains(&k) {
                    Ok(point(w.0[k as usize]))
                } else {
                    Err(format!("waypoint index {i} out of range: there are {n} waypoints").into())
                }
            },
        )
        .register_fn("len", |w: &mut Waypoints| w.0.len() as INT)
        .register_iterator::<Waypoints>();
    engine.register_fn("to_array", |w: &mut Waypoints| -> rhai::Array {
        w.0.iter().map(|&p| point(p)).collect()
    });
    engine.register_type_with_name::<ParamsView>("Params");
    for key in PARAM_KEYS.into_iter().chain(RACING_LINE_KEYS) {
        engine.register_get(key, move |p: &mut ParamsView| {
            p.get(key).unwrap_or(Dynamic::UNIT)
        });
    }
    engine.register_indexer_get(
        |p: &mut ParamsView, key: &str| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
            p.get(key).ok_or_else(|| {
                format!(
                    "params has no key \"{key}\"; DeepRacer's keys are {}",
                    PARAM_KEYS.join(", ")
                )
                .into()
            })
        },
    );
    engine.register_fn("contains", |p: &mut ParamsView, key: &str| {
        p.get(key).is_some()
    });
    engine.register_fn("keys", |_: &mut ParamsView| -> rhai::Array {
        PARAM_KEYS
            .iter()
            .map(|k| Dynamic::from(k.to_string()))
            .collect()
    });
    engine.set_max_operations(MAX_OPERATIONS);
    engine.set_max_call_levels(64);
    engine.set_max_string_size(1 << 20);
    engine.set_max_array_size(1 << 20);
    engine.set_max_map_size(1 << 16);
    engine.disable_symbol("eval");
    engine.register_static_module("math", math_module().into());
    // the same functions without the module prefix, with int/float mixes
    engine.register_fn("atan2", |y: FLOAT, x: FLOAT| y.atan2(x));
    engine.register_fn("hypot", |x: FLOAT, y: FLOAT| x.hypot(y));
    engine.register_fn("degrees", |x: FLOAT| x.to_degrees());
    engine.register_fn("radians", |x: FLOAT| x.to_radians());
    engine.register_fn("pi", || std::f64::consts::PI);
    engine.register_fn("ceil", |x: FLOAT| x.ceil());
    for (name, f) in [
        ("min", FLOAT::min as fn(FLOAT, FLOAT) -> FLOAT),
        ("max", FLOAT::max),
    ] {
        engine.register_fn(name, move |a: INT, b: FLOAT| f(a as FLOAT, b));
        engine.register_fn(name, move |a: FLOAT, b: INT| f(a, b as FLOAT));
    }
    engine.register_fn("float", |x: FLOAT| x);
    engine.register_fn("float", |x: INT| x as FLOAT);
    engine.register_fn("float", |x: bool| if x { 1.0 } else { 0.0 });
    engine
}

/// `file:line:column: message` for a Rhai position.
fn at(name: &str, pos: rhai::Position, message: impl std::fmt::Display) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{name}:{l}:{c}: {message}"),
        (Some(l), None) => format!("{name}:{l}: {message}"),
        _ => format!("{name}: {message}"),
    }
}

/// A compiled Rhai reward function.
pub struct RhaiReward {
    name: String,
    /// The source mentions `racing_line` (see [`RewardFunction::uses_racing_line`]).
    racing_line: bool,
    engine: Engine,
    ast: AST,
    scope: Scope<'static>,
    /// The waypoints as a Rhai value, built once per track.
    waypoints: Option<(Arc<Vec<[f64; 2]>>, Dynamic)>,
}

impl std::fmt::Debug for RhaiReward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiReward")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RhaiReward {
    /// Compiles a script; `name` (usually the file path) prefixes errors.
    ///
    /// # Errors
    /// [`RewardError::Failed`] with `name:line:column` for a syntax error,
    /// a failing top-level statement, or a missing
    /// `fn reward_function(params)`.
    pub fn compile(source: &str, name: &str) -> Result<RhaiReward, RewardError> {
        let fail = |message: String| RewardError::Failed {
            function: name.to_string(),
            message,
        };
        let engine = engine();
        let ast = engine
            .compile(source)
            .map_err(|e| fail(at(name, e.position(), e.err_type())))?;
        let has_fn = ast
            .iter_functions()
            .any(|f| f.name == "reward_function" && f.params.len() == 1);
        if !has_fn {
            return Err(fail(format!(
                "{name}: no `fn reward_function(params)` found; define one that returns a number, e.g.\n  fn reward_function(params) {{ if params.all_wheels_on_track {{ 1.0 }} else {{ 1e-3 }} }}"
            )));
        }
        let mut scope = Scope::new();
        engine
            .run_ast_with_scope(&mut scope, &ast)
            .map_err(|e| fail(at(name, e.position(), &e)))?;
        Ok(RhaiReward {
            name: name.to_string(),
            racing_line: source.contains("racing_line"),
            engine,
            ast,
            scope,
            waypoints: None,
        })
    }

    /// Reads and compiles a script file.
    ///
    /// # Errors
    /// As [`RhaiReward::compile`], plus an unreadable file.
    pub fn from_file(path: &Path) -> Result<RhaiReward, RewardError> {
        let name = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| RewardError::Failed {
            function: name.clone(),
            message: format!("{name}: cannot read: {e}"),
        })?;
        RhaiReward::compile(&source, &name)
    }

    fn waypoints(&mut self, wp: &Arc<Vec<[f64; 2]>>) -> Dynamic {
        match &self.waypoints {
            Some((cached, value)) if Arc::ptr_eq(cached, wp) => value.clone(),
            _ => {
                let value = Dynamic::from(Waypoints(Arc::clone(wp)));
                self.waypoints = Some((Arc::clone(wp), value.clone()));
                value
            }
        }
    }
}

impl RewardFunction for RhaiReward {
    fn name(&self) -> &str {
        &self.name
    }

    fn uses_racing_line(&self) -> bool {
        self.racing_line
    }

    fn reward(&mut self, params: &RewardParams) -> Result<f64, RewardError> {
        let view = ParamsView(Arc::new(params.clone()), self.waypoints(&params.waypoints));
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        let out: Dynamic = self
            .engine
            .call_fn_with_options(
                options,
                &mut self.scope,
                &self.ast,
                "reward_function",
                (Dynamic::from(view),),
            )
            .map_err(|e| RewardError::Failed {
                function: self.name.clone(),
                message: at(&self.name, e.position(), &e),
            })?;
        if let Some(f) = out.clone().try_cast::<FLOAT>() {
            Ok(f)
        } else if let Some(i) = out.clone().try_cast::<INT>() {
            Ok(i as f64)
        } else {
            Err(RewardError::Failed {
                function: self.name.clone(),
                message: format!(
                    "{}: reward_function returned {} ({}), not a number",
                    self.name,
                    out,
                    out.type_name()
                ),
            })
        }
    }
}
