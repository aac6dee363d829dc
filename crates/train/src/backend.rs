//! Backends: which burn device a run uses, and what this machine offers.
//!
//! `flex` (the default: measured 2.2x `ndarray` with the compiled step on MNIST 784-128-10 at
//! batch 64 and at 512, `benches/cpu.sh`) and `ndarray` run on the CPU; `wgpu` runs on a GPU through Vulkan (or
//! another graphics API wgpu finds), or on a software Vulkan driver such as Mesa's lavapipe
//! where no GPU exists. Before a wgpu run, adapters are listed with wgpu itself: where there
//! is none, the run stops with one clear line instead of a panic in cubecl's threads.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, DeviceKind};

use crate::error::TrainError;

/// A burn backend this build can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// burn-ndarray, on the CPU.
    Ndarray,
    /// burn-flex, burn's newer pure-Rust CPU backend.
    Flex,
    /// burn-wgpu: a GPU (or a software Vulkan driver).
    Wgpu,
}

impl Backend {
    /// Every backend of this build.
    pub const ALL: [Backend; 3] = [Backend::Ndarray, Backend::Flex, Backend::Wgpu];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ndarray => "ndarray",
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }

    /// The largest tensor of examples this backend stores in one piece: wgpu's storage buffers
    /// are limited to 128 MiB (lavapipe and wgpu's default limits), the CPU's are not.
    pub fn chunk_bytes(self) -> usize {
        match self {
            Backend::Ndarray | Backend::Flex => usize::MAX / 2,
            Backend::Wgpu => 64 * 1024 * 1024,
        }
    }

    /// Whether batches are best gathered from the training set at each step (on the CPU, where
    /// a gather is a cheap copy) rather than sliced from a copy permuted once per epoch (on a
    /// GPU, where each step's host-to-device index upload and extra kernels cost more than one
    /// permutation per epoch). Measured on MNIST 784-128-10, batch 64: per-step gathers are
    /// 5-10% faster on ndarray; the per-epoch permutation is 25% faster on wgpu (lavapipe).
    pub fn gathers_per_step(self) -> bool {
        match self {
            Backend::Ndarray | Backend::Flex => true,
            Backend::Wgpu => false,
        }
    }

    /// The device to train on (with autodiff), after checking that one exists.
    pub fn device(self) -> Result<Device, TrainError> {
        Ok(self.plain_device()?.autodiff())
    }

    /// The device without autodiff.
    pub fn plain_device(self) -> Result<Device, TrainError> {
        Ok(match self {
            #[allow(deprecated)] // burn-ndarray is the user's choice of CPU backend here
            Backend::Ndarray => Device::ndarray(),
            Backend::Flex => Device::flex(),
            Backend::Wgpu => {
                if wgpu_adapters().is_empty() {
                    return Err(TrainError::Backend {
                        message: "no wgpu adapter found: this machine has no GPU driver that wgpu can use (Vulkan, GL or Metal)".into(),
                        hint: "run on the CPU with `--backend ndarray`, or install a Vulkan driver (on Debian: `apt-get install mesa-vulkan-drivers`)".into(),
                    });
                }
                Device::wgpu(DeviceKind::DefaultDevice)
            }
        })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Backend::ALL
            .into_iter()
            .find(|backend| backend.name() == text)
            .ok_or_else(|| format!("unknown backend `{text}`; this build has: ndarray, flex, wgpu"))
    }
}

/// A graphics adapter wgpu can use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Adapter {
    /// Its name, such as "NVIDIA H100" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Discrete GPU, integrated GPU, CPU (software)...
    pub kind: String,
    /// The graphics API: Vulkan, Gl, Metal...
    pub api: String,
}

/// The adapters wgpu finds on this machine.
pub fn wgpu_adapters() -> Vec<Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .iter()
        .map(|adapter| {
            let info = adapter.get_info();
            Adapter {
                name: info.name,
                kind: format!("{:?}", info.device_type),
                api: format!("{:?}", info.backend),
            }
        })
        .collect()
}

/// Runs a future that is ready at once on native platforms (as wgpu's adapter listing is).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}
