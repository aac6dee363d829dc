//! Backends: which burn device a run uses, and what this machine offers.
//!
//! `flex` (the default: measured 2.7x and 2.6x `ndarray` with the compiled step on MNIST
//! 784-128-10 at batch 64 and 512, `benches/cpu.sh`) and `ndarray` run on the CPU; `wgpu` runs
//! on a GPU through Vulkan (or
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

    /// Every how many steps training reads its running loss to stop at a NaN or infinite
    /// one: every step on the CPU (a read costs nothing there), every 100 on a GPU (a read
    /// waits for the device); the exact step is named either way.
    pub fn divergence_interval(self) -> usize {
        match self {
            Backend::Ndarray | Backend::Flex => 1,
            Backend::Wgpu => 100,
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
                configure_wgpu_runtime();
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
        crate::names::parse(text, &Backend::ALL, Backend::name, "backend")
    }
}

/// Where cubecl keeps its kernel autotuning results and compiled kernels between runs.
///
/// cubecl's default is the `target/` folder of the outermost Cargo project above the working
/// directory, else the user's cache folder: the same machine would tune again (22.6 s against
/// 0.8 s for a steady epoch on an H200) whenever mlpc runs from another folder. mlpc keeps
/// them in one per-user place whatever the working directory: `MLPC_KERNEL_CACHE` if set, else
/// the user cache folder (`$XDG_CACHE_HOME/cubecl`, usually `~/.cache/cubecl`).
pub fn kernel_cache_folder() -> std::path::PathBuf {
    match std::env::var_os("MLPC_KERNEL_CACHE") {
        Some(folder) => folder.into(),
        None => cubecl_environment::persistence::CacheConfig::Global.root(),
    }
}

/// Whether cubecl's kernel store ([`kernel_cache_folder`]) held nothing when this process
/// configured cubecl ([`configure_wgpu_runtime`]): a first run of mlpc's GPU kernels on the
/// machine (or for this user), whose first epoch includes tuning and compiling them.
static FRESH_KERNEL_STORE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Whether this process found cubecl's kernel store empty (see [`FRESH_KERNEL_STORE`]);
/// false before [`configure_wgpu_runtime`] looked, or where a configuration file chose the
/// store's folder.
pub fn kernel_store_was_empty() -> bool {
    FRESH_KERNEL_STORE.get().copied().unwrap_or(false)
}

/// Sets cubecl's configuration before the first wgpu device: as cubecl itself would read it
/// (a `cubecl.toml` or `burn.toml` above the working directory, then `CUBECL_*` variables),
/// with the kernel store's folder set to [`kernel_cache_folder`] unless a configuration file
/// chose one.
pub fn configure_wgpu_runtime() {
    use cubecl_runtime::config::cache::CacheConfig;
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
        if matches!(config.environment.path, CacheConfig::Target) {
            let folder = kernel_cache_folder();
            let empty =
                std::fs::read_dir(&folder).map_or(true, |mut entries| entries.next().is_none());
            let _ = FRESH_KERNEL_STORE.set(empty);
            config.environment.path = CacheConfig::Directory(folder);
        }
        // Refused (keeping cubecl's own) only if a device was already made in this process.
        let _ = CubeClRuntimeConfig::try_set(config);
    });
}

/// Why `backend` cannot replay recorded steps, if it cannot: only wgpu records.
pub fn replay_unavailable(backend: Backend) -> Option<String> {
    match backend {
        Backend::Ndarray | Backend::Flex => Some(format!(
            "replay records GPU kernel launches, and {backend} runs on the CPU"
        )),
        Backend::Wgpu => None,
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
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::yield_now();
    }
}
