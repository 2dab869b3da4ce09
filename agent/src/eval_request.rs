//! [`EvalRequest`]: a DeepRacer-style evaluation as asked for (`chicane
//! evaluate`, the GUI's Evaluate), resolved once and run into a new
//! `evaluation-*` folder of the run.

use crate::device::DeviceKind;
use crate::error::{AgentError, io_err};
use crate::evaluate::{EvalOptions, EvalReport, EvalStep, LoadedPolicy, evaluate, load_policy};
use crate::options::parse_duration;
use crate::request::RunRequest;
use crate::run_dir::{EvaluationDir, RunDir};
use chicane_config::{RaceType, ResolvedRun};
use chicane_sim::SimTraceWriter;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// An evaluation as asked for, every value as the user gave it.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// The run folder (`chicane train --out`).
    pub run_dir: PathBuf,
    /// Evaluate on another track (a built-in name, `.toml` or `.npy`).
    pub track: Option<String>,
    /// Another race type (`time_trial`, `object_avoidance`, `head_to_bot`).
    pub race_type: Option<String>,
    /// Laps (DeepRacer's trials). Default 3.
    pub laps: u32,
    /// Time added per off-track reset, e.g. `2s`. Default 2 s.
    pub off_track_penalty: Option<String>,
    /// The compute device's name. Default `flex`.
    pub device: Option<String>,
}

impl EvalRequest {
    /// A request for `laps` laps of `run_dir` with everything else default.
    pub fn new(run_dir: impl Into<PathBuf>, laps: u32) -> EvalRequest {
        EvalRequest {
            run_dir: run_dir.into(),
            track: None,
            race_type: None,
            laps,
            off_track_penalty: None,
            device: None,
        }
    }

    /// Resolves the request: the run folder and its config (with the track
    /// and race type overrides), the policy of its latest checkpoint, the
    /// evaluation options.
    ///
    /// # Errors
    /// A folder that is not a run, a config or track that does not load, a
    /// bad race type, duration or device (named), a missing checkpoint.
    pub fn resolve(&self) -> Result<EvalPlan, AgentError> {
        let (local, remote) = crate::remote::open_run_folder(&self.run_dir)?;
        let dir = RunDir::open(&local)?;
        let mut run = RunRequest {
            config: Some(dir.run_toml()),
            track: self.track.clone(),
            ..RunRequest::default()
        }
        .resolve_run()?;
        if let Some(rt) = &self.race_type {
            run.set_race_type(rt.parse::<RaceType>()?);
        }
        if self.laps == 0 {
            return Err(AgentError::Request {
                field: "laps",
                problem: "must be at least 1".into(),
            });
        }
        let penalty = match &self.off_track_penalty {
            Some(t) => parse_duration("off_track_penalty", t)?.as_secs_f64(),
            None => EvalOptions::default().off_track_penalty_s,
        };
        let kind = match &self.device {
            Some(d) => d.parse::<DeviceKind>()?,
            None => DeviceKind::default(),
        };
        let mut policy = load_policy(&dir, &run, &kind.device()?)?;
        if kind == DeviceKind::Cpu {
            policy.learner.use_native()?;
        }
        Ok(EvalPlan {
            dir,
            remote,
            run,
            policy,
            options: EvalOptions {
                laps: self.laps,
                off_track_penalty_s: penalty,
                ..EvalOptions::default()
            },
        })
    }
}

/// A resolved evaluation.
#[derive(Debug)]
pub struct EvalPlan {
    /// The run folder (the local mirror of an `s3://` one).
    pub dir: RunDir,
    /// The run folder on S3, when `run_dir` was an `s3://` URL: the
    /// evaluation folder is uploaded into it when written.
    pub remote: Option<std::sync::Arc<crate::RemoteRun>>,
    /// The run config evaluated (overrides applied).
    pub run: ResolvedRun,
    /// The policy of the run's latest checkpoint.
    pub policy: LoadedPolicy,
    /// Laps and penalties.
    pub options: EvalOptions,
}

/// A finished evaluation and where its files are.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The laps.
    pub report: EvalReport,
    /// The evaluation folder: `evaluation-metrics.json` (DeepRacer's),
    /// `report.json` (chicane's) and `evaluation-simtrace/0-iteration.csv`.
    pub dir: EvaluationDir,
}

impl EvalPlan {
    /// Uploads what the evaluation wrote when the run folder is on S3.
    ///
    /// # Errors
    /// An S3 error.
    pub fn sync(&self) -> Result<(), AgentError> {
        if let Some(r) = &self.remote {
            r.sync()?;
        }
        Ok(())
    }

    /// Drives the laps, calling `on_step` every step, and writes the
    /// evaluation folder.
    ///
    /// # Errors
    /// Env and reward errors, or an I/O error naming the file.
    pub fn run(&self, on_step: &mut dyn FnMut(EvalStep<'_>)) -> Result<Evaluation, AgentError> {
        let dir = self.dir.new_evaluation()?;
        let trace_path = dir.simtrace();
        let file = std::fs::File::create(&trace_path).map_err(io_err(&trace_path))?;
        let out: Box<dyn Write> = Box::new(BufWriter::new(file));
        let mut trace = SimTraceWriter::new(out).map_err(io_err(&trace_path))?;
        let report = evaluate(
            &self.policy,
            &self.run,
            &self.options,
            Some(&mut trace),
            on_step,
        )?;
        trace.finish().map_err(io_err(&trace_path))?;
        let write = |path: PathBuf, text: String| {
            std::fs::write(&path, text).map_err(|source| AgentError::Io { path, source })
        };
        write(dir.metrics(), report.deepracer_metrics_json().to_string())?;
        let json = serde_json::to_string_pretty(&report).map_err(|e| AgentError::Checkpoint {
            path: dir.report(),
            detail: e.to_string(),
        })?;
        write(dir.report(), json)?;
        self.sync()?;
        Ok(Evaluation { report, dir })
    }
}
