//! A learner's weights and optimizer state: burnpack files in a
//! checkpoint folder, or bytes for remote workers.

use super::{Learner, native};
use crate::error::AgentError;
use burn::module::Module;
use burn::optim::AdamConfig;
use std::path::Path;

impl Learner {
    /// Writes the weights (`model.bpk`) and the optimizer state
    /// (`optimizer.bpk`, or `optimizer.native` on the native path; SAC's
    /// critics, targets, temperature and optimizers in `sac.native`) into
    /// `dir`, which must exist. SAC's replay buffer is not saved here (see
    /// the checkpoint a run stops on).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<(), AgentError> {
        self.save_checkpoint_files(dir, false)
    }

    /// [`Learner::save`], and with `replay` SAC's replay buffer
    /// (`replay.bin`, which [`Learner::load`] reads back when present).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file.
    pub(crate) fn save_checkpoint_files(&self, dir: &Path, replay: bool) -> Result<(), AgentError> {
        let m = dir.join("model.bpk");
        self.model
            .clone()
            .save_file(&m)
            .map_err(|e| AgentError::Checkpoint {
                path: m.clone(),
                detail: e.to_string(),
            })?;
        if let Some(sac) = &self.sac {
            return sac.save(dir, replay);
        }
        if let Some(nat) = &self.native {
            return nat.save(dir);
        }
        let o = dir.join("optimizer.bpk");
        self.optim.save(&o).map_err(|e| AgentError::Checkpoint {
            path: o.clone(),
            detail: e.to_string(),
        })
    }

    /// The network's weights as an in-memory burnpack (what `model.bpk`
    /// holds), to send to rollout workers.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] when burn cannot serialise the record.
    pub fn weights(&self) -> Result<Vec<u8>, AgentError> {
        let bytes =
            self.model
                .clone()
                .into_record()
                .into_bytes()
                .map_err(|e| AgentError::Checkpoint {
                    path: "<weights>".into(),
                    detail: e.to_string(),
                })?;
        Ok(bytes.to_vec())
    }

    /// Replaces the network's weights with `bytes` from
    /// [`Learner::weights`] (the optimizer state is kept).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] for bytes that are not a burnpack of this
    /// network; the learner is unchanged then.
    pub fn set_weights(&mut self, bytes: &[u8]) -> Result<(), AgentError> {
        let err = |detail: String| AgentError::Checkpoint {
            path: "<weights>".into(),
            detail,
        };
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(
            bytes.to_vec(),
        ))
        .map_err(|e| err(format!("{e} (not a burnpack)")))?;
        let model = self
            .model
            .clone()
            .try_load_record(record)
            .map_err(|e| err(format!("{e} (weights of a different network)")))?;
        if let Some(nat) = self.native.as_mut() {
            nat.reload(&model)?;
        }
        self.model = model;
        self.inference = self.model.valid();
        Ok(())
    }

    /// Loads the weights from `dir/model.bpk` and, with `with_optimizer`,
    /// the optimizer state from `dir/optimizer.bpk` (`dir/optimizer.native`
    /// on the native path; SAC's `sac.native`, and its replay buffer from
    /// `replay.bin` where the checkpoint has one); without, the optimizer
    /// starts afresh.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] naming the file that is missing, corrupt or
    /// made for another network; the learner is unchanged then.
    pub fn load(&mut self, dir: &Path, with_optimizer: bool) -> Result<(), AgentError> {
        let m = dir.join("model.bpk");
        if !m.is_file() {
            return Err(AgentError::Checkpoint {
                path: m,
                detail: "missing".into(),
            });
        }
        let model = self
            .model
            .clone()
            .try_load_file(&m)
            .map_err(|e| AgentError::Checkpoint {
                path: m.clone(),
                detail: format!("{e} (a different network, or a damaged file)"),
            })?;
        if let Some(nat) = self.native.as_mut() {
            // SAC keeps its optimizers in sac.native, PPO in optimizer.native
            let adam = (with_optimizer && self.sac.is_none())
                .then(|| nat.read_optimizer(dir))
                .transpose()?;
            if let Some(sac) = self.sac.as_mut() {
                if with_optimizer {
                    sac.load(dir)?;
                }
                nat.replace(&model, None)?;
                if !with_optimizer {
                    // weights of another run: critics and targets start
                    // around them
                    sac.reset_targets(&nat.params);
                }
                self.model = model;
                self.inference = self.model.valid();
                return Ok(());
            }
            nat.replace(&model, adam)?;
            self.model = model;
            self.inference = self.model.valid();
            return Ok(());
        }
        let optim = if with_optimizer {
            let o = dir.join("optimizer.bpk");
            if !o.is_file() {
                let native = dir.join(native::OPTIMIZER_FILE).is_file();
                return Err(AgentError::Checkpoint {
                    path: o,
                    detail: if native {
                        "missing: this checkpoint was trained on chicane's native CPU path (its \
                         optimizer state is optimizer.native); resume it with --device cpu"
                            .into()
                    } else {
                        "missing".into()
                    },
                });
            }
            self.optim
                .clone()
                .load(&o)
                .map_err(|e| AgentError::Checkpoint {
                    path: o.clone(),
                    detail: e.to_string(),
                })?
        } else {
            AdamConfig::new().with_epsilon(1e-5).init()
        };
        self.model = model;
        self.optim = optim;
        self.inference = self.model.valid();
        Ok(())
    }
}

impl Learner {
    /// Replaces the policy path's weights (an imported model's); the value
    /// head keeps its fresh initialisation.
    ///
    /// # Errors
    /// [`AgentError::Shape`] naming the layer that does not fit; the learner
    /// is unchanged then.
    pub(crate) fn set_policy_layers(
        &mut self,
        layers: &crate::net::PolicyLayers,
    ) -> Result<(), AgentError> {
        let model = self.model.clone().with_policy_layers(layers)?;
        if let Some(nat) = self.native.as_mut() {
            nat.reload(&model)?;
        }
        self.model = model;
        self.inference = self.model.valid();
        Ok(())
    }
}
