//! The compute device, named once (`--device`, the GUI's and Python's
//! `device`) and turned into a burn [`Device`]. Which kinds exist in a
//! build is decided by this crate's features, which the leaf binary turns on.

use crate::error::AgentError;
use burn::tensor::Device;
use chicane_core::UnknownName;
use std::fmt;
use std::str::FromStr;

/// A burn backend chicane can train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceKind {
    /// burn's Flex CPU backend (feature `flex`, the default; also `cpu`).
    #[default]
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
    pub const ALL: [DeviceKind; 4] = [
        DeviceKind::Flex,
        DeviceKind::NdArray,
        DeviceKind::Wgpu,
        DeviceKind::Cuda,
    ];

    /// The name on the command line (and the cargo feature that builds it).
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Flex => "flex",
            DeviceKind::NdArray => "ndarray",
            DeviceKind::Wgpu => "wgpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// True when this build has the kind's backend.
    pub fn is_compiled(self) -> bool {
        match self {
            DeviceKind::Flex => cfg!(feature = "flex"),
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

    /// The burn device.
    ///
    /// # Errors
    /// [`AgentError::Unsupported`] when this build lacks the backend (the
    /// error says which feature builds it and what this build has).
    pub fn device(self) -> Result<Device, AgentError> {
        match self {
            #[cfg(feature = "flex")]
            DeviceKind::Flex => Ok(Device::flex()),
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
                 `cargo build --release --features {other}`)",
                DeviceKind::compiled()
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", ")
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

    /// `flex` (or `cpu`), `ndarray`, `wgpu`, `cuda`, case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.trim().to_ascii_lowercase();
        if n == "cpu" {
            return Ok(DeviceKind::Flex);
        }
        DeviceKind::ALL
            .into_iter()
            .find(|k| k.name() == n)
            .ok_or_else(|| {
                let names: Vec<&'static str> = DeviceKind::ALL.iter().map(|k| k.name()).collect();
                UnknownName::new("device", s, &names)
            })
    }
}
