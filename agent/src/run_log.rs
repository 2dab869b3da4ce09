//! The run folder's logs and counters: `metrics.jsonl`, DeepRacer's
//! sim-traces and `training_metrics.json`.

use crate::checkpoint::{TrainerState, write_atomic};
use crate::error::{AgentError, io_err};
use crate::options::RolloutLength;
use crate::records::EpisodeRecord;
use crate::records::WorkerEpisode;
use crate::run_dir::RunDir;
use chicane_sim::SIMTRACE_HEADER;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// DeepRacer's `training_metrics.json` entry of one episode.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeepRacerEpisodeMetric {
    reward_score: i64,
    metric_time: u128,
    start_time: u128,
    elapsed_time_in_milliseconds: u128,
    episode: u64,
    trial: u64,
    phase: String,
    completion_percentage: i64,
    episode_status: String,
}

#[derive(Debug, Clone, Deserialize)]
struct DeepRacerMetricsFile {
    metrics: Vec<DeepRacerEpisodeMetric>,
}

/// Appends one finished episode's rows to `training-simtrace/{index}-iteration.csv`.
fn append_trace(dir: &Path, index: u64, episode: u64, rows: &[String]) -> Result<(), AgentError> {
    let path = dir.join(format!("{index}-iteration.csv"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut text = String::new();
    if file.metadata().map_err(io_err(&path))?.len() == 0 {
        text.push_str(SIMTRACE_HEADER);
        text.push('\n');
    }
    for row in rows {
        text.push_str(&format!("{episode},{row}\n"));
    }
    file.write_all(text.as_bytes()).map_err(io_err(&path))
}

/// The counters and DeepRacer metrics as a rollout ended: what the
/// iteration that learns from it checkpoints and reports, even when the
/// next rollout has moved the live counters on meanwhile (overlap).
#[derive(Debug, Clone)]
pub(crate) struct RolloutEnd {
    /// The counters (`iteration` already counting the update to come).
    pub state: TrainerState,
    /// How many of `training_metrics.json`'s episodes had ended.
    dr_metrics: usize,
}

/// The logs and counters of a training run (everything but the network).
pub(crate) struct RunLog {
    pub dir: RunDir,
    metrics: std::fs::File,
    dr_metrics: Vec<DeepRacerEpisodeMetric>,
    pub state: TrainerState,
    rollout: RolloutLength,
    pub started: Instant,
    elapsed_before: f64,
    pub iter_started: Instant,
    pub steps_before: u64,
    /// Episodes of the rollout in progress.
    pub finished: Vec<EpisodeRecord>,
    /// Episodes that ended in the last update's rollout.
    pub last_iteration_episodes: usize,
}

impl RunLog {
    /// Opens (appends to) the logs of `dir` with counters `state`.
    ///
    /// # Errors
    /// An I/O error naming the file, or a `training_metrics.json` that a
    /// resumed run cannot read (it is never emptied in silence).
    pub fn open(
        dir: RunDir,
        state: TrainerState,
        rollout: RolloutLength,
    ) -> Result<RunLog, AgentError> {
        let trace_dir = dir.training_simtrace();
        std::fs::create_dir_all(&trace_dir).map_err(io_err(&trace_dir))?;
        let metrics_path = dir.metrics();
        let metrics = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&metrics_path)
            .map_err(io_err(&metrics_path))?;
        let dr_path = dir.training_metrics();
        let dr_metrics = match std::fs::read_to_string(&dr_path) {
            Ok(text) => serde_json::from_str::<DeepRacerMetricsFile>(&text)
                .map_err(|e| AgentError::Checkpoint {
                    path: dr_path.clone(),
                    detail: format!(
                        "corrupt ({e}); restore it or delete it to start DeepRacer's metrics afresh"
                    ),
                })?
                .metrics,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&dr_path)(e)),
        };
        let now = Instant::now();
        Ok(RunLog {
            dir,
            metrics,
            dr_metrics,
            elapsed_before: state.elapsed_s,
            steps_before: state.total_steps,
            state,
            rollout,
            started: now,
            iter_started: now,
            finished: Vec::new(),
            last_iteration_episodes: 0,
        })
    }

    /// Training time over every session so far (s).
    pub fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Numbers and logs one finished episode.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn record_episode(&mut self, ep: &WorkerEpisode) -> Result<EpisodeRecord, AgentError> {
        let rec = EpisodeRecord {
            episode: self.state.episodes,
            iteration: self.state.iteration,
            steps: ep.steps,
            reward: ep.reward,
            progress: ep.progress,
            status: ep.status,
            lap_time: ep.lap_time,
            elapsed_s: self.elapsed(),
            track: ep.track.clone(),
        };
        if let Some(t) = rec.lap_time {
            self.state.laps += 1;
            self.state.best_lap = Some(self.state.best_lap.map_or(t, |b: f64| b.min(t)));
        }
        self.dr_metrics.push(DeepRacerEpisodeMetric {
            reward_score: rec.reward.round() as i64,
            metric_time: ep.end_ms,
            start_time: ep.start_ms,
            elapsed_time_in_milliseconds: ep.end_ms.saturating_sub(ep.start_ms),
            episode: rec.episode,
            trial: rec.episode + 1,
            phase: "training".into(),
            completion_percentage: rec.progress.round() as i64,
            episode_status: rec.status.deepracer_label().into(),
        });
        // DeepRacer numbers episodes in order and puts
        // num_episodes_between_training of them in each N-iteration.csv
        // (deepracer-utils relies on it)
        let file_index = match self.rollout {
            RolloutLength::Episodes(n) => rec.episode / n.max(1) as u64,
            RolloutLength::StepsPerEnv(_) => self.state.iteration,
        };
        append_trace(
            &self.dir.training_simtrace(),
            file_index,
            rec.episode,
            &ep.trace_rows,
        )?;
        let line = serde_json::json!({"type": "episode", "record": &rec});
        self.write_line(&line)?;
        self.state.episodes += 1;
        self.finished.push(rec.clone());
        Ok(rec)
    }

    /// Appends one JSON line to `metrics.jsonl` and flushes it.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn write_line(&mut self, line: &serde_json::Value) -> Result<(), AgentError> {
        writeln!(self.metrics, "{line}").map_err(io_err(&self.dir.metrics()))
    }

    /// Flushes `metrics.jsonl`.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn flush(&mut self) -> Result<(), AgentError> {
        self.metrics.flush().map_err(io_err(&self.dir.metrics()))
    }

    /// The counters and metrics now, as a rollout ends.
    pub fn rollout_end(&self) -> RolloutEnd {
        RolloutEnd {
            state: self.state.clone(),
            dr_metrics: self.dr_metrics.len(),
        }
    }

    /// Rewrites DeepRacer's `training_metrics.json` (atomically) with the
    /// episodes that had ended at `end`.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn write_deepracer_metrics(&self, end: &RolloutEnd) -> Result<(), AgentError> {
        let ended = end.dr_metrics.min(self.dr_metrics.len());
        let dr = serde_json::json!({
            "metrics": &self.dr_metrics[..ended],
            "version": "2",
            "best_model_metric": "progress",
        });
        write_atomic(&self.dir.training_metrics(), dr.to_string().as_bytes())
    }
}
