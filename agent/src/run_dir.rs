//! [`RunDir`]: the layout of a training run folder, in one place.
//!
//! ```text
//! run.toml                     the resolved config (loads from anywhere)
//! model_metadata.json          DeepRacer's (also model/model_metadata.json, DRfC's place)
//! ip/hyperparameters.json      DeepRacer's hyperparameters (DRfC's place)
//! agent.json                   network + preprocessing ([`crate::AgentSpec`])
//! metrics.jsonl                one JSON object per episode, iteration and note
//! training_metrics.json        DeepRacer's training metrics
//! training.png                 reward, progress and lap time per episode
//! lap_times.png                lap time against training time
//! training-simtrace/N-iteration.csv   DeepRacer's sim-traces
//! checkpoints/iter-NNNNNN/, checkpoints/latest
//! evaluation-YYYYMMDDHHMMSS/   one per evaluation (DRfC's layout)
//! ```

use crate::error::{AgentError, io_err};
use chicane_config::{ConfigError, ResolvedRun};
use std::path::{Path, PathBuf};

/// A training run folder: every file's place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run folder at `root` (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        RunDir { root: root.into() }
    }

    /// An existing run folder: `root` must hold a `run.toml`.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming `root` when it is not a chicane run
    /// folder.
    pub fn open(root: impl Into<PathBuf>) -> Result<RunDir, AgentError> {
        let dir = RunDir::new(root);
        if !dir.run_toml().is_file() {
            return Err(AgentError::Checkpoint {
                path: dir.root.clone(),
                detail: "not a chicane run folder (no run.toml); give the --out folder of \
                         `chicane train`"
                    .into(),
            });
        }
        Ok(dir)
    }

    /// chicane's default run folder for `run`: `runs/<track>-<seed>` (the
    /// track's file stem or built-in name).
    pub fn default_for(run: &ResolvedRun) -> RunDir {
        let name = Path::new(&run.track_spec)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("run")
            .to_string();
        RunDir::new(PathBuf::from("runs").join(format!("{name}-{}", run.seed)))
    }

    /// `self` when it holds no training run yet, else the first of
    /// `<root>-2`, `<root>-3`, ... that does not (the GUI's Start).
    pub fn next_free(self) -> RunDir {
        if !self.holds_run() {
            return self;
        }
        let base = self.root.display().to_string();
        (2..)
            .map(|i| RunDir::new(format!("{base}-{i}")))
            .find(|d| !d.holds_run())
            .unwrap_or(self)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when the folder holds a training run (its `agent.json`).
    pub fn holds_run(&self) -> bool {
        self.agent_json().is_file()
    }

    /// `run.toml`: the resolved config.
    pub fn run_toml(&self) -> PathBuf {
        self.root.join("run.toml")
    }

    /// `model_metadata.json`.
    pub fn model_metadata(&self) -> PathBuf {
        self.root.join("model_metadata.json")
    }

    /// `model/model_metadata.json`, where DeepRacer-for-Cloud keeps it.
    pub fn drfc_model_metadata(&self) -> PathBuf {
        self.root.join("model").join("model_metadata.json")
    }

    /// `ip/hyperparameters.json`, where DeepRacer-for-Cloud keeps them.
    pub fn drfc_hyperparameters(&self) -> PathBuf {
        self.root.join("ip").join("hyperparameters.json")
    }

    /// `agent.json`: network and preprocessing.
    pub fn agent_json(&self) -> PathBuf {
        self.root.join("agent.json")
    }

    /// `metrics.jsonl`: chicane's own log.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.jsonl")
    }

    /// `training_metrics.json`: DeepRacer's training metrics.
    pub fn training_metrics(&self) -> PathBuf {
        self.root.join("training_metrics.json")
    }

    /// `training.png`: the training chart.
    pub fn training_chart(&self) -> PathBuf {
        self.root.join("training.png")
    }

    /// `lap_times.png`: the completed training laps' times against
    /// training time.
    pub fn lap_time_chart(&self) -> PathBuf {
        self.root.join("lap_times.png")
    }

    /// `training-simtrace/`: DeepRacer's training sim-traces.
    pub fn training_simtrace(&self) -> PathBuf {
        self.root.join("training-simtrace")
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// The run's config, loaded from its `run.toml`.
    ///
    /// # Errors
    /// The config's error naming the file.
    pub fn load_run(&self) -> Result<ResolvedRun, ConfigError> {
        chicane_config::load_run(Some(&self.run_toml()))
    }

    /// Creates a new evaluation folder `evaluation-YYYYMMDDHHMMSS` (UTC, as
    /// DeepRacer-for-Cloud names them; `-2`, `-3`, ... when two start in
    /// the same second) with its `evaluation-simtrace/`.
    ///
    /// # Errors
    /// [`AgentError::Io`] naming the folder.
    pub fn new_evaluation(&self) -> Result<EvaluationDir, AgentError> {
        let stamp = utc_stamp();
        let mut root = self.root.join(format!("evaluation-{stamp}"));
        let mut i = 2;
        while root.exists() {
            root = self.root.join(format!("evaluation-{stamp}-{i}"));
            i += 1;
        }
        let dir = EvaluationDir { root };
        std::fs::create_dir_all(dir.simtrace_dir()).map_err(io_err(&dir.simtrace_dir()))?;
        Ok(dir)
    }
}

/// One evaluation's folder inside a run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationDir {
    root: PathBuf,
}

impl EvaluationDir {
    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `evaluation-simtrace/`.
    pub fn simtrace_dir(&self) -> PathBuf {
        self.root.join("evaluation-simtrace")
    }

    /// `evaluation-simtrace/0-iteration.csv`: DeepRacer's evaluation sim-trace.
    pub fn simtrace(&self) -> PathBuf {
        self.simtrace_dir().join("0-iteration.csv")
    }

    /// `evaluation-metrics.json`: DeepRacer's evaluation metrics.
    pub fn metrics(&self) -> PathBuf {
        self.root.join("evaluation-metrics.json")
    }

    /// `report.json`: chicane's evaluation report.
    pub fn report(&self) -> PathBuf {
        self.root.join("report.json")
    }
}

/// The current UTC time as `YYYYMMDDHHMMSS`.
fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_fourteen_digits_and_next_free_skips_runs() {
        let s = utc_stamp();
        assert_eq!(s.len(), 14);
        assert!(s.starts_with("20"), "{s}");
        let tmp = std::env::temp_dir().join(format!("chicane-rundir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let d = RunDir::new(tmp.join("r"));
        assert_eq!(d.clone().next_free(), d);
        std::fs::create_dir_all(d.root()).unwrap();
        std::fs::write(d.agent_json(), "{}").unwrap();
        assert_eq!(d.clone().next_free().root(), tmp.join("r-2"));
        let e1 = d.new_evaluation().unwrap();
        let e2 = d.new_evaluation().unwrap();
        assert_ne!(e1, e2);
        assert!(e1.simtrace_dir().is_dir() && e2.simtrace_dir().is_dir());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
