//! The compute device, named once (`--device`, the GUI's and Python's
//! `device`) and turned into a burn [`Device`]. Which kinds exist in a
//! build is decided by this crate's features, which the leaf binary turns on.

use crate::error::AgentError;
use burn::tensor::Device;
use chicane_core::UnknownName;
use std::fmt;
use std::str::FromStr;

/// Where chicane trains: its own CPU kernels or a burn backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceKind {
    /// chicane's own CPU forward/backward pass, PPO loss and Adam for its
    /// camera-only convolutional networks (`Learner::use_native`, about
    /// 3x burn's Flex on these small networks: docs/BENCHMARKS.md), with
    /// burn's Flex model as the record; the default. Networks it does not
    /// cover (lidar inputs, the MLP) train on Flex, which the training
    /// header then names. Needs feature `flex`.
    #[default]
    Cpu,
    /// burn's Flex CPU backend (feature `flex`).
    Flex,
    /// burn's deprecated NdArray CPU backend (feature `ndarray`), kept to
    /// compare against Flex.
    NdArray,
    /// GPU through wgpu (feature `wgpu`).
    Wgpu,
    /// GPU through CUDA, device 0 (feature `cuda`).
    Cuda,
}

impl DeviceKind {
    /// Every kind chicane knows, built or not.
    pub const ALL: [DeviceKind; 5] = [
        DeviceKind::Cpu,
        DeviceKind::Flex,
        DeviceKind::NdArray,
        DeviceKind::Wgpu,
        DeviceKind::Cuda,
    ];

    /// The name on the command line (and the cargo feature that builds it).
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Flex => "flex",
            DeviceKind::NdArray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// The cargo feature that builds the kind.
    pub fn feature(self) -> &'static str {
        match self {
            DeviceKind::Cpu | DeviceKind::Flex => "flex",
            DeviceKind::NdArray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// True when this build has the kind's backend.
    pub fn is_compiled(self) -> bool {
        match self {
            DeviceKind::Cpu | DeviceKind::Flex => cfg!(feature = "flex"),
            DeviceKind::NdArray => cfg!(feature = "ndarray"),
            DeviceKind::Wgpu => cfg!(feature = "wgpu"),
            DeviceKind::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The kinds this build has.
    pub fn compiled() -> Vec<DeviceKind> {
        DeviceKind::ALL
            .into_iter()
            .filter(|k| k.is_compiled())
            .collect()
    }

    /// The burn device (burn's Flex for [`DeviceKind::Cpu`], whose model
    /// is the record of the native path).
    ///
    /// # Errors
    /// [`AgentError::Unsupported`] when this build lacks the backend (the
    /// error says which feature builds it and what this build has).
    pub fn device(self) -> Result<Device, AgentError> {
        match self {
            #[cfg(feature = "flex")]
            DeviceKind::Cpu | DeviceKind::Flex => Ok(Device::flex()),
            // deprecated in burn 0.22; kept to measure it against Flex (docs/BENCHMARKS.md)
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceKind::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            DeviceKind::Wgpu => Ok(Device::wgpu(Default::default())),
            #[cfg(feature = "cuda")]
            DeviceKind::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(AgentError::Unsupported(format!(
                "device `{other}` is not in this build; this build has: {} (build it with \
                 `cargo build --release --features {}`)",
                DeviceKind::compiled()
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                other.feature()
            ))),
        }
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeviceKind {
    type Err = UnknownName;

    /// `cpu`, `flex`, `ndarray`, `wgpu`, `cuda`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.trim().to_ascii_lowercase();
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.name() == n)
            .ok_or_else(|| {
                let names: Vec<&'static str> = DeviceKind::ALL.iter().map(|k| k.name()).collect();
                UnknownName::new("device", s, &names)
            })
    }
}
