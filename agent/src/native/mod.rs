//! The native path: chicane's own forward and backward pass, PPO loss and
//! Adam for its camera networks on the CPU (`DeviceKind::Cpu`), where
//! burn's per-operation overhead dominates these small networks. Verified
//! against burn to 1e-5 (`agent/tests/native.rs`); the burn model stays
//! the record (checkpoints, ONNX export) and is synchronised after every
//! update.

mod adam;
mod gemm;
mod net;
mod ppo;

pub(crate) use adam::{Adam, CHUNK};
pub(crate) use gemm::gemm;
pub(crate) use net::{Act, Cache, Layout, Slot, act_grad, bias_act, col_sums};
pub(crate) use ppo::loss_grad;

/// True when the native path covers `cfg`: a camera-only convolutional
/// network (no lidar or other vector input, not the MLP).
pub(crate) fn covers(cfg: &crate::net::ActorCriticConfig) -> bool {
    Layout::of(cfg).is_some()
}
