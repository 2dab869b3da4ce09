//! Evaluating a run (DeepRacer-style timed laps) on a background thread,
//! and exporting its model bundle for the car.

use crate::error::GuiError;
use crate::training::{GuiLog, Training};
use bevy::prelude::*;
use bevy_egui::egui;
use chicane_agent::{CheckpointChoice, DeviceKind, EvalRequest, RunDir, export_bundle};
use crossbeam_channel::{Receiver, bounded};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

pub use chicane_agent::Evaluation;

/// Evaluates the latest checkpoint of `run_dir` on its own track: `laps`
/// laps, `off_track_penalty_s` per reset; writes DeepRacer's evaluation
/// files into a new `evaluation-YYYYMMDDHHMMSS/` of the run, as `chicane
/// evaluate` does.
///
/// # Errors
/// A folder that is not a run, a missing checkpoint, env or I/O errors.
pub fn evaluate_run(
    run_dir: &Path,
    laps: u32,
    off_track_penalty_s: f64,
) -> Result<Evaluation, GuiError> {
    let request = EvalRequest {
        off_track_penalty: Some(format!("{off_track_penalty_s}")),
        ..EvalRequest::new(run_dir, laps)
    };
    Ok(request.resolve()?.run(&mut |_| {})?)
}

/// Writes the car bundle of `run_dir`'s checkpoint `which` (`last`,
/// `best` or an iteration) to `out`; returns a one-line summary.
///
/// # Errors
/// A folder that is not a run, a bad checkpoint choice, an export error.
pub fn export_run(run_dir: &Path, which: &str, out: &Path) -> Result<String, GuiError> {
    let dir = RunDir::open(run_dir)?;
    let run = dir.load_run()?;
    let which: CheckpointChoice = which.parse()?;
    let spec = export_bundle(&dir, &run, which, out, &DeviceKind::Flex.device()?)?;
    Ok(format!(
        "wrote {} ({} from {}); copy it to the car and run `chicane-car run --model {}`",
        out.display(),
        spec.network,
        spec.checkpoint,
        out.display()
    ))
}

/// An evaluation thread and where its result arrives.
type EvalJob = (Receiver<Result<Evaluation, GuiError>>, JoinHandle<()>);

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
    pub fn poll(&mut self) -> Option<Result<Evaluation, GuiError>> {
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
                done.dir.root().display()
            ));
            // show it at once in the replay
            if let Err(e) = replay.load(&done.dir.simtrace()) {
                log.error(e.chain());
            }
        }
        Some(Err(e)) => log.error(format!("evaluation failed: {}", e.chain())),
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

pub(crate) fn evaluate_tab(
    ui: &mut egui::Ui,
    ev: &mut Evaluator,
    training: &Training,
    log: &mut GuiLog,
) {
    if ev.run_dir.is_empty()
        && let Some(d) = &training.out_dir
    {
        ev.run_dir = d.display().to_string();
    }
    ui.horizontal(|ui| {
        ui.label("run folder");
        ui.text_edit_singleline(&mut ev.run_dir);
    });
    ui.add(egui::Slider::new(&mut ev.laps, 1..=10).text("laps"));
    ui.add(
        egui::Slider::new(&mut ev.off_track_penalty_s, 0.0..=10.0).text("off-track penalty (s)"),
    );
    ui.horizontal(|ui| {
        if ui
            .add_enabled(!ev.running(), egui::Button::new("Evaluate"))
            .clicked()
        {
            ev.start();
            log.info(format!("evaluating {} ({} laps)", ev.run_dir, ev.laps));
        }
        if ev.running() {
            ui.spinner();
        }
    });
    if let Some(res) = &ev.result {
        let r = &res.report;
        ui.label(format!(
            "{} on {}: {}/{} laps",
            r.checkpoint,
            r.track,
            r.laps_completed,
            r.laps.len()
        ));
        egui::Grid::new("laps").striped(true).show(ui, |ui| {
            for h in ["lap", "time (s)", "progress", "off track", "status"] {
                ui.strong(h);
            }
            ui.end_row();
            for lap in &r.laps {
                ui.label(lap.trial.to_string());
                ui.label(
                    lap.lap_time_s
                        .map_or_else(|| "-".into(), |t| format!("{t:.3}")),
                );
                ui.label(format!("{:.1} %", lap.progress));
                ui.label(lap.off_track_count.to_string());
                ui.label(lap.episode_status.deepracer_label());
                ui.end_row();
            }
        });
        if let Some(b) = r.best_lap_s {
            ui.label(format!("best lap {b:.3} s (penalties included)"));
        }
    }
    ui.separator();
    ui.strong("Export for the car");
    ui.horizontal(|ui| {
        ui.label("checkpoint");
        ui.text_edit_singleline(&mut ev.checkpoint)
            .on_hover_text("last, best or an iteration number");
    });
    ui.horizontal(|ui| {
        ui.label("bundle");
        ui.text_edit_singleline(&mut ev.export_path);
    });
    if ui.button("Export").clicked() {
        match export_run(
            &PathBuf::from(&ev.run_dir),
            &ev.checkpoint,
            &PathBuf::from(&ev.export_path),
        ) {
            Ok(msg) => log.info(msg),
            Err(e) => log.error(format!("export failed: {}", e.chain())),
        }
    }
}
