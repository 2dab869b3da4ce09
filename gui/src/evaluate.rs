//! Evaluating a run (DeepRacer-style timed laps) on a background thread,
//! and exporting its model bundle for the car.

use bevy::prelude::*;
use chicane_agent::{
    CheckpointChoice, EvalOptions, EvalReport, evaluate, export_bundle, load_policy,
};
use chicane_config::load_run;
use chicane_sim::SimTraceWriter;
use crossbeam_channel::{Receiver, bounded};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// A finished evaluation: the report and the files written.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The laps.
    pub report: EvalReport,
    /// The evaluation folder (`evaluation-metrics.json`, `report.json`,
    /// `evaluation-simtrace/0-iteration.csv`).
    pub folder: PathBuf,
    /// The sim-trace written.
    pub trace: PathBuf,
}

/// Evaluates the latest checkpoint of `run_dir` on its own track: `laps`
/// laps, `off_track_penalty_s` per reset; writes DeepRacer's evaluation
/// files into `run_dir/evaluation-gui-SECONDS/`.
///
/// # Errors
/// A folder that is not a run, a missing checkpoint, env or I/O errors.
pub fn evaluate_run(
    run_dir: &Path,
    laps: u32,
    off_track_penalty_s: f64,
) -> Result<Evaluation, String> {
    let config = run_dir.join("run.toml");
    if !config.is_file() {
        return Err(format!(
            "{}: not a chicane run folder (no run.toml); train first or pick the folder a training wrote",
            run_dir.display()
        ));
    }
    let run = load_run(Some(&config)).map_err(|e| e.to_string())?;
    let dev = burn::tensor::Device::flex();
    let policy = load_policy(run_dir, &run, &dev).map_err(|e| e.to_string())?;
    let opts = EvalOptions {
        laps,
        off_track_penalty_s,
        ..EvalOptions::default()
    };
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let folder = run_dir.join(format!("evaluation-gui-{secs}"));
    let trace_dir = folder.join("evaluation-simtrace");
    std::fs::create_dir_all(&trace_dir).map_err(|e| format!("{}: {e}", trace_dir.display()))?;
    let trace_path = trace_dir.join("0-iteration.csv");
    let file =
        std::fs::File::create(&trace_path).map_err(|e| format!("{}: {e}", trace_path.display()))?;
    let out: Box<dyn Write> = Box::new(BufWriter::new(file));
    let mut trace =
        SimTraceWriter::new(out).map_err(|e| format!("{}: {e}", trace_path.display()))?;
    let report =
        evaluate(&policy, &run, &opts, Some(&mut trace), &mut |_| {}).map_err(|e| e.to_string())?;
    trace
        .finish()
        .map_err(|e| format!("{}: {e}", trace_path.display()))?;
    let write = |name: &str, text: String| {
        let p = folder.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write(
        "evaluation-metrics.json",
        report.deepracer_metrics_json().to_string(),
    )?;
    write(
        "report.json",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )?;
    Ok(Evaluation {
        report,
        folder,
        trace: trace_path,
    })
}

/// Writes the car bundle of `run_dir`'s checkpoint `which` to `out`;
/// returns a one-line summary.
///
/// # Errors
/// A folder that is not a run, a missing checkpoint, an export error.
pub fn export_run(run_dir: &Path, which: &str, out: &Path) -> Result<String, String> {
    let config = run_dir.join("run.toml");
    let run = load_run(Some(&config)).map_err(|e| e.to_string())?;
    let which: CheckpointChoice = which.parse()?;
    let spec = export_bundle(run_dir, &run, which, out, &burn::tensor::Device::flex())
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} ({} from {}); copy it to the car and run `chicane-car run --model {}`",
        out.display(),
        spec.network,
        spec.checkpoint,
        out.display()
    ))
}

/// An evaluation thread and where its result arrives.
type EvalJob = (Receiver<Result<Evaluation, String>>, JoinHandle<()>);

/// The Evaluate tab's fields and the evaluation in progress.
#[derive(Resource, Debug)]
pub struct Evaluator {
    /// The run folder to evaluate or export.
    pub run_dir: String,
    /// Laps.
    pub laps: u32,
    /// Seconds added per off-track reset.
    pub off_track_penalty_s: f64,
    /// `last`, `best` or an iteration number.
    pub checkpoint: String,
    /// The bundle to write.
    pub export_path: String,
    /// The last evaluation.
    pub result: Option<Evaluation>,
    job: Option<EvalJob>,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self {
            run_dir: String::new(),
            laps: 3,
            off_track_penalty_s: 2.0,
            checkpoint: "last".into(),
            export_path: "model.tar.gz".into(),
            result: None,
            job: None,
        }
    }
}

impl Evaluator {
    /// True while an evaluation runs.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts evaluating `run_dir` on a background thread.
    pub fn start(&mut self) {
        if self.job.is_some() {
            return;
        }
        let (tx, rx) = bounded(1);
        let (dir, laps, pen) = (
            PathBuf::from(&self.run_dir),
            self.laps,
            self.off_track_penalty_s,
        );
        let handle = std::thread::spawn(move || {
            let _ = tx.send(evaluate_run(&dir, laps, pen));
        });
        self.job = Some((rx, handle));
    }

    /// The evaluation's result, once, when it has finished.
    pub fn poll(&mut self) -> Option<Result<Evaluation, String>> {
        let res = self.job.as_ref()?.0.try_recv().ok()?;
        if let Some((_, h)) = self.job.take() {
            let _ = h.join();
        }
        if let Ok(ev) = &res {
            self.result = Some(ev.clone());
        }
        Some(res)
    }
}

fn poll_evaluation(
    mut ev: ResMut<Evaluator>,
    mut log: ResMut<crate::training::GuiLog>,
    mut replay: ResMut<crate::replay::Replay>,
) {
    match ev.poll() {
        Some(Ok(done)) => {
            let r = &done.report;
            log.info(format!(
                "evaluation: {}/{} laps, best {}, files in {}",
                r.laps_completed,
                r.laps.len(),
                r.best_lap_s
                    .map_or_else(|| "-".into(), |t| format!("{t:.3} s")),
                done.folder.display()
            ));
            // show it at once in the replay
            if let Err(e) = replay.load(&done.trace) {
                log.error(e);
            }
        }
        Some(Err(e)) => log.error(format!("evaluation failed: {e}")),
        None => {}
    }
}

/// Evaluation and export (the evaluate feature).
#[derive(Debug, Default)]
pub struct EvaluatePlugin;

impl Plugin for EvaluatePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Evaluator>()
            .add_systems(Update, poll_evaluation);
    }
}
