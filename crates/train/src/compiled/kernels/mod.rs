//! The compiled step's own GPU kernels, where burn's tensor operations would launch many small
//! kernels for one rule.
//!
//! # Design
//! On a GPU a small network's step is a few dozen tiny kernels whose launches set the speed, and
//! a replayed step ([`super::replay`]) pays for each recorded kernel on every replay. burn-fusion
//! fuses chains of element-wise operations, but a rule that mixes reductions, gathers and
//! scatters (the softmax cross-entropy: a maximum, an exponential, a sum, a logarithm, a pick at
//! the class, a subtraction at the class) stays several kernels. Such a rule gets one kernel of
//! its own, written in cubecl's kernel language and registered with burn-fusion as a custom
//! operation: it runs in stream order with the fused kernels around it, inside or outside a
//! recording, and its outputs are allocated by cubecl's memory manager like any operation's.
//!
//! Each kernel computes what the composed tensor operations compute (same formula, same f32
//! arithmetic up to the order of a row's sums): the CPU backends keep the composed form, and the
//! tests compare the two on wgpu (`tests/compiled.rs`, against autodiff).
//!
//! Only cubecl devices (wgpu) run them ([`available`]); a kernel never reads from or writes to
//! the host, which a recording could not hold.

mod cross_entropy;
mod in_place;

pub use cross_entropy::softmax_cross_entropy;
pub use in_place::{add_column_sums, add_into};

use burn::backend::DispatchDevice;
use burn::tensor::Device;

/// Whether `device` runs cubecl kernels (wgpu without autodiff): there the step's own kernels
/// run; elsewhere the composed tensor operations do.
pub fn available(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Cube(_))
}
