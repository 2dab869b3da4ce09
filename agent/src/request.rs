//! [`RunRequest`]: what a user asked for, as typed (the CLI's flags, the
//! GUI's fields, Python's keyword arguments), resolved once into a checked
//! [`RunPlan`] (ripgrep's split of raw arguments and one validated config).
//! Every front end parses its input into a request and shows the plan's
//! results, so the same bad input gets the same error everywhere.

use crate::checkpoint::{latest_checkpoint, read_agent_spec};
use crate::device::DeviceKind;
use crate::error::AgentError;
use crate::net::NetworkKind;
use crate::options::{RolloutLength, StopConditions, TrainOptions, parse_duration};
use crate::remote::{Fetched, RemoteRun, new_run_folder, open_run_folder};
use crate::run_dir::RunDir;
use crate::spec::{agent_spec, network_for, ppo_from_run};
use chicane_config::ResolvedRun;
use chicane_core::{LidarConfig, TrainingAlgorithm};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What to do when the output folder already holds a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputPolicy {
    /// Refuse (the CLI): the user resumes it or chooses another folder.
    #[default]
    Refuse,
    /// Train into the first free `<out>-2`, `<out>-3`, ... (the GUI's Start).
    NextFree,
}

/// A training run as asked for, every value as the user gave it. `None`
/// means "the config's or chicane's default".
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    /// A run `.toml` or a DeepRacer `custom_files` folder; `None` for the
    /// built-in defaults (or, when resuming, the run folder's `run.toml`).
    pub config: Option<PathBuf>,
    /// Another track: a built-in name, a chicane `.toml` or a DeepRacer `.npy`.
    pub track: Option<String>,
    /// More tracks after `track`, for multi-track training (`--track`
    /// given several times); ignored without `track`.
    pub more_tracks: Vec<String>,
    /// Another seed.
    pub seed: Option<u64>,
    /// Add (`true`) DeepRacer's 64-beam lidar or remove (`false`) the lidar.
    pub lidar: Option<bool>,
    /// Keep (`true`) or remove (`false`) the camera.
    pub camera: Option<bool>,
    /// The network's name (`model_metadata.json`'s or a short one).
    pub network: Option<String>,
    /// The compute device's name (`flex`, `ndarray`, `wgpu`, `cuda`).
    pub device: Option<String>,
    /// The run folder; default `runs/<track>-<seed>`.
    pub out: Option<PathBuf>,
    /// What to do when `out` already holds a run (without `resume`).
    pub output_policy: OutputPolicy,
    /// Continue the run in `out` from its latest checkpoint.
    pub resume: bool,
    /// Start from another run folder's latest weights (DeepRacer's "clone").
    pub clone_from: Option<PathBuf>,
    /// Stop after this long: `90` (s), `90s`, `10m`, `1h30m`.
    pub max_time: Option<String>,
    /// Stop after this many episodes in total; default the run's
    /// `term_cond_max_episodes`.
    pub max_episodes: Option<u64>,
    /// Stop when a rollout's mean progress (%) reaches this.
    pub target_progress: Option<f64>,
    /// Parallel envs; default 4.
    pub num_envs: Option<usize>,
    /// Env threads (0 = one per core); default 0.
    pub num_threads: Option<usize>,
    /// Update every N steps per env instead of every
    /// `num_episodes_between_training` episodes.
    pub steps_per_update: Option<usize>,
    /// Collect and update in turns, the acting policy always the latest
    /// ([`TrainOptions::overlap`] off); default: the next rollout is
    /// collected while the update runs.
    pub sequential: bool,
}

/// A training run resolved and checked: the run config and the options,
/// ready for [`crate::train`] or [`crate::TrainingRun::open`].
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// The run config, with the request's overrides applied.
    pub run: ResolvedRun,
    /// The invocation's options.
    pub options: TrainOptions,
}

fn request(field: &'static str, problem: impl Into<String>) -> AgentError {
    AgentError::Request {
        field,
        problem: problem.into(),
    }
}

impl RunRequest {
    /// The run config the request names (its file, the resumed folder's
    /// `run.toml`, or the defaults) with the track, seed, lidar and camera
    /// overrides applied: what an env needs (Python's `RaceEnv`, `VecEnv`).
    ///
    /// # Errors
    /// The config's error naming its file and field, a track that does not
    /// load (with the built-in names), or `resume` without `out`.
    pub fn resolve_run(&self) -> Result<ResolvedRun, AgentError> {
        if self.has_s3_inputs() {
            let mut r = self.with_local_inputs(&mut Fetched::default())?;
            if r.resume && r.config.is_none() {
                r.out = r
                    .out
                    .as_deref()
                    .map(|o| open_run_folder(o).map(|f| f.0))
                    .transpose()?;
            }
            return r.resolve_run();
        }
        let config = match (&self.config, self.resume, &self.out) {
            (None, true, Some(out)) => Some(RunDir::open(out)?.run_toml()),
            (None, true, None) => {
                return Err(request(
                    "resume",
                    "needs the run folder to continue (out / --out RUN_DIR)",
                ));
            }
            (c, _, _) => c.clone(),
        };
        let mut run = chicane_config::load_run(config.as_deref())?;
        self.apply_overrides(&mut run)?;
        Ok(run)
    }

    /// The request with its `s3://` config and tracks downloaded into the
    /// cache (recorded in `fetched`).
    fn with_local_inputs(&self, fetched: &mut Fetched) -> Result<RunRequest, AgentError> {
        let mut r = self.clone();
        r.config = r.config.as_deref().map(|c| fetched.input(c)).transpose()?;
        r.track = r.track.as_deref().map(|t| fetched.track(t)).transpose()?;
        r.more_tracks = r
            .more_tracks
            .iter()
            .map(|t| fetched.track(t))
            .collect::<Result<_, _>>()?;
        Ok(r)
    }

    fn has_s3_inputs(&self) -> bool {
        let s3 = |p: &Path| p.to_str().is_some_and(chicane_store::is_s3);
        self.config.as_deref().is_some_and(s3)
            || self.track.as_deref().is_some_and(chicane_store::is_s3)
            || self.more_tracks.iter().any(|t| chicane_store::is_s3(t))
            || (self.resume && self.config.is_none() && self.out.as_deref().is_some_and(s3))
    }

    /// Applies the track, seed, lidar and camera overrides to `run`.
    ///
    /// # Errors
    /// A track that does not load.
    pub fn apply_overrides(&self, run: &mut ResolvedRun) -> Result<(), AgentError> {
        if let Some(spec) = &self.track {
            let specs: Vec<&str> = std::iter::once(spec.as_str())
                .chain(self.more_tracks.iter().map(String::as_str))
                .collect();
            if let Err(source) = run.set_tracks(&specs) {
                // name the track that failed (set_tracks stops at the first)
                let failed = specs
                    .iter()
                    .find(|s| chicane_tracks::load(s).is_err())
                    .map_or_else(|| spec.clone(), |s| s.to_string());
                return Err(AgentError::Track {
                    spec: failed,
                    source,
                });
            }
        }
        if let Some(s) = self.seed {
            run.seed = s;
        }
        match self.lidar {
            Some(true) if run.sim.lidar.is_none() => run.sim.lidar = Some(LidarConfig::default()),
            Some(false) => run.sim.lidar = None,
            _ => {}
        }
        if self.camera == Some(false) {
            run.sim.camera = None;
        }
        Ok(())
    }

    /// Resolves the whole request: [`RunRequest::resolve_run`], then
    /// [`RunRequest::plan`].
    ///
    /// # Errors
    /// As those two.
    pub fn resolve(&self) -> Result<RunPlan, AgentError> {
        let (local, remote) = self.localize()?;
        let run = local.resolve_run()?;
        let mut plan = local.plan(run)?;
        plan.options.remote = remote;
        Ok(plan)
    }

    /// The request with its `s3://` paths made local: inputs downloaded
    /// into the cache, the run folder (`out`) an S3 run's local mirror
    /// (downloaded first when resuming), `clone_from` downloaded.
    fn localize(&self) -> Result<(RunRequest, Option<Arc<RemoteRun>>), AgentError> {
        let mut fetched = Fetched::default();
        let mut r = self.with_local_inputs(&mut fetched)?;
        r.clone_from = match r.clone_from.as_deref() {
            Some(src) => Some(open_run_folder(src)?.0),
            None => None,
        };
        let remote = match r.out.as_deref() {
            Some(out) if self.resume => {
                let (local, remote) = open_run_folder(out)?;
                r.out = Some(local);
                remote
            }
            Some(out) => {
                let (local, remote) = new_run_folder(out, &fetched)?;
                r.out = Some(local);
                remote
            }
            None => None,
        };
        Ok((r, remote))
    }

    /// The options for training `run` (a run already resolved, e.g. edited
    /// in the GUI): names typed (network, device), durations parsed, the
    /// run folder's policy applied, resume and clone sources checked (a
    /// checkpoint exists, the network and sensors match), the algorithm and
    /// the network checked against the run.
    ///
    /// # Errors
    /// [`AgentError`] naming the field at fault and how to fix it.
    pub fn plan(&self, run: ResolvedRun) -> Result<RunPlan, AgentError> {
        let s3 = |p: &Option<PathBuf>| {
            p.as_deref()
                .and_then(Path::to_str)
                .is_some_and(chicane_store::is_s3)
        };
        if s3(&self.out) || s3(&self.clone_from) {
            return Err(request(
                "out",
                "s3:// run folders are set up by RunRequest::resolve (the CLI's and Python's \
                 path); train into a local folder here",
            ));
        }
        let requested = self
            .network
            .as_deref()
            .map(NetworkKind::parse)
            .transpose()?;
        // a resumed run keeps the network it was trained with unless one
        // is asked for (a --network override is not in its run.toml)
        let resumed_network = match (&self.out, self.resume, requested) {
            (Some(out), true, None) => read_agent_spec(&RunDir::new(out))
                .ok()
                .map(|s| s.network.network),
            _ => None,
        };
        let network = network_for(&run, requested.or(resumed_network));
        let device_kind = match &self.device {
            Some(d) => d.parse::<DeviceKind>()?,
            None => DeviceKind::default(),
        };
        let device = device_kind.device()?;
        let num_envs = self.num_envs.unwrap_or(4);
        if num_envs == 0 {
            return Err(request("num_envs", "must be at least 1"));
        }
        let rollout = match self.steps_per_update {
            Some(0) => return Err(request("steps_per_update", "must be at least 1")),
            Some(n) => RolloutLength::StepsPerEnv(n),
            None => RolloutLength::Episodes(run.hyperparameters.num_episodes_between_training),
        };
        if let Some(p) = self.target_progress
            && !(p.is_finite() && (0.0..=100.0).contains(&p))
        {
            return Err(request(
                "target_progress",
                format!("{p} must be a percentage 0..100"),
            ));
        }
        let stop = StopConditions {
            max_time: self
                .max_time
                .as_deref()
                .map(|t| parse_duration("max_time", t))
                .transpose()?,
            max_episodes: Some(
                self.max_episodes
                    .unwrap_or(run.hyperparameters.term_cond_max_episodes),
            ),
            target_avg_score: Some(run.hyperparameters.term_cond_avg_score),
            target_avg_progress: self.target_progress,
        };
        let spec = agent_spec(&run, network)?;
        let native = device_kind == DeviceKind::Cpu && crate::native::covers(&spec.network);
        if run.training_algorithm == TrainingAlgorithm::Sac {
            if device_kind != DeviceKind::Cpu {
                return Err(request(
                    "device",
                    format!(
                        "training_algorithm \"sac\" trains on chicane's native CPU kernels; \
                         use device cpu (the default), not {device_kind}"
                    ),
                ));
            }
            if !native {
                return Err(AgentError::Unsupported(format!(
                    "{}: training_algorithm \"sac\" trains camera-only convolutional networks \
                     on chicane's native CPU kernels; {} {} does not fit them (use FAST_CNN or \
                     one of DeepRacer's CNNs, camera sensors only)",
                    run.origin,
                    network,
                    if run.sim.lidar.is_some() {
                        "with lidar"
                    } else {
                        "on this input"
                    }
                )));
            }
            crate::spec::sac_from_run(&run, crate::spec::replay_obs_bytes(&spec))?;
        } else {
            ppo_from_run(&run, 0.95)?;
        }
        // the run folder
        let out_dir = match &self.out {
            Some(p) => RunDir::new(p),
            None if self.resume => {
                return Err(request(
                    "resume",
                    "needs the run folder to continue (out / --out RUN_DIR)",
                ));
            }
            None => RunDir::default_for(&run),
        };
        let out_dir = if self.resume {
            let saved = read_agent_spec(&out_dir)?;
            if saved.network != spec.network {
                return Err(AgentError::Checkpoint {
                    path: out_dir.agent_json(),
                    detail: format!(
                        "the run was trained with {} (input {:?}, head {:?}); this config asks \
                         for {} (input {:?}, head {:?}): resume with the same network, sensors \
                         and action space",
                        saved.network.network,
                        saved.network.camera,
                        saved.network.head,
                        spec.network.network,
                        spec.network.camera,
                        spec.network.head
                    ),
                });
            }
            latest_checkpoint(&out_dir)?;
            out_dir
        } else {
            match self.output_policy {
                OutputPolicy::NextFree => out_dir.next_free(),
                OutputPolicy::Refuse if out_dir.holds_run() => {
                    return Err(AgentError::Checkpoint {
                        path: out_dir.root().to_path_buf(),
                        detail: "already holds a training run: resume it (--resume) or choose \
                                 another run folder (--out)"
                            .into(),
                    });
                }
                OutputPolicy::Refuse => out_dir,
            }
        };
        let clone_from = match &self.clone_from {
            None => None,
            Some(src) => {
                let src = RunDir::new(src);
                let saved = read_agent_spec(&src)?;
                if saved.network != spec.network {
                    return Err(AgentError::Checkpoint {
                        path: src.agent_json(),
                        detail: format!(
                            "cannot clone: that run's network {} (input {:?}, head {:?}) differs \
                             from this run's {} (input {:?}, head {:?}); keep the network, \
                             sensors and action space",
                            saved.network.network,
                            saved.network.camera,
                            saved.network.head,
                            spec.network.network,
                            spec.network.camera,
                            spec.network.head
                        ),
                    });
                }
                latest_checkpoint(&src)?;
                Some(src)
            }
        };
        Ok(RunPlan {
            run,
            options: TrainOptions {
                out_dir,
                network,
                num_envs,
                num_threads: self.num_threads.unwrap_or(0),
                rollout,
                stop,
                resume: self.resume,
                clone_from,
                device_kind,
                device,
                native,
                overlap: !self.sequential,
                checkpoints_kept: 3,
                gae_lambda: 0.95,
                remote: None,
            },
        })
    }
}
