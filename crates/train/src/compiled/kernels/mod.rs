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

/// What the kernels' tests share: the wgpu device, and how far two tensors are apart.
#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::{Device, DeviceKind, Tensor};

    /// The wgpu device, or `None` (said loudly) where no adapter exists; with
    /// `MLPC_REQUIRE_WGPU=1` (set by CI) a missing adapter is a failure.
    pub fn wgpu_device() -> Option<Device> {
        if crate::backend::wgpu_adapters().is_empty() {
            assert!(
                !std::env::var("MLPC_REQUIRE_WGPU").is_ok_and(|value| value == "1"),
                "MLPC_REQUIRE_WGPU=1 requires a wgpu adapter (install mesa-vulkan-drivers)"
            );
            eprintln!("*** SKIPPED: no wgpu adapter ***");
            return None;
        }
        crate::backend::configure_wgpu_runtime();
        Some(Device::wgpu(DeviceKind::DefaultDevice))
    }

    /// The largest absolute difference between two tensors' values, and the reference's
    /// largest magnitude.
    pub fn largest_difference<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> (f32, f32) {
        let ours = ours.into_data().try_to_vec::<f32>().expect("f32 values");
        let reference = reference
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 values");
        let scale = reference
            .iter()
            .fold(0f32, |top, value| top.max(value.abs()));
        let difference = ours
            .iter()
            .zip(&reference)
            .fold(0f32, |top, (a, b)| top.max((a - b).abs()));
        (difference, scale)
    }
}
