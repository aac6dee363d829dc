//! How much memory the GPU a wgpu run lands on can still give, as its Vulkan driver reports it.
//!
//! wgpu has no call for a device's memory, so this goes one level down: the adapter that
//! cubecl's default device picks (wgpu's high-performance adapter on Vulkan) is opened through
//! wgpu's hardware layer, and its device-local memory heaps are read from Vulkan. Where the
//! driver has `VK_EXT_memory_budget` (NVIDIA, AMD, Intel and Mesa's drivers do), the figure is
//! each heap's budget less what is already in use there (other programs included); otherwise it
//! is the heap's size. A software driver (lavapipe) keeps its "device" memory in the host's, so
//! there the host's own available figure also bounds it. Nothing is reported (and the run is not
//! checked) where there is no Vulkan, or where `CUBECL_WGPU_DEFAULT_DEVICE` sends cubecl to
//! another adapter than this one.

use ash::vk;

/// Device memory a run may still use on the GPU wgpu's default device lands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuMemory {
    /// Bytes.
    pub bytes: u64,
    /// The adapter's name, as the driver gives it.
    pub adapter: String,
    /// Whether the figure is the driver's budget less its usage (else the heaps' size).
    pub budgeted: bool,
    /// Whether the adapter is a software driver running on the CPU (lavapipe).
    pub software: bool,
}

impl GpuMemory {
    /// Where the figure comes from, in words.
    pub fn source(&self) -> String {
        match self.budgeted {
            true => format!("free device memory of {} (Vulkan's budget)", self.adapter),
            false => format!("device memory of {} (Vulkan's heap size)", self.adapter),
        }
    }
}

/// The device memory of the adapter a default wgpu device lands on, where Vulkan reports it.
pub fn default_adapter_memory() -> Option<GpuMemory> {
    if std::env::var_os("CUBECL_WGPU_DEFAULT_DEVICE").is_some() {
        return None;
    }
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter =
        crate::backend::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..wgpu::RequestAdapterOptions::default()
        }))
        .ok()?;
    let information = adapter.get_info();
    // SAFETY: the adapter outlives the guard, and only queries are made through it (no object
    // is created or destroyed, nothing wgpu tracks is touched).
    let hardware = unsafe { adapter.as_hal::<wgpu::hal::api::Vulkan>() }?;
    // SAFETY: `hardware` is the live Vulkan adapter of wgpu's just obtained.
    let heaps = unsafe { device_local_heaps(&hardware) };
    let (bytes, budgeted) = heaps?;
    Some(GpuMemory {
        bytes,
        adapter: information.name,
        budgeted,
        software: information.device_type == wgpu::DeviceType::Cpu,
    })
}

/// The free bytes of the adapter's largest device-local heap (budget less usage, `true`), or
/// its size where the driver has no budget extension (`false`). The largest, not the sum: a
/// buffer lives in one heap, and the second device-local heap some GPUs show is a small window
/// onto the same memory.
///
/// # Safety
/// `adapter` must be a live Vulkan adapter of wgpu's.
unsafe fn device_local_heaps(adapter: &wgpu::hal::vulkan::Adapter) -> Option<(u64, bool)> {
    let shared = adapter.shared_instance();
    let instance = shared.raw_instance();
    let physical = adapter.raw_physical_device();
    let capabilities = adapter.physical_device_capabilities();
    let version_1_1 = shared.instance_api_version() >= vk::API_VERSION_1_1
        && capabilities.properties().api_version >= vk::API_VERSION_1_1;
    let budget_extension = capabilities.supports_extension(ash::ext::memory_budget::NAME);
    if version_1_1 && budget_extension {
        let mut budget = vk::PhysicalDeviceMemoryBudgetPropertiesEXT::default();
        let mut properties = vk::PhysicalDeviceMemoryProperties2::default().push_next(&mut budget);
        // SAFETY: Vulkan 1.1 on both the instance and the device, and the extension supported.
        unsafe { instance.get_physical_device_memory_properties2(physical, &mut properties) };
        let heaps = properties.memory_properties;
        let free = local_heap_indices(&heaps)
            .map(|index| budget.heap_budget[index].saturating_sub(budget.heap_usage[index]))
            .max()
            .unwrap_or(0);
        return local_heap_indices(&heaps).next().map(|_| (free, true));
    }
    // SAFETY: a Vulkan 1.0 query on a physical device of this instance.
    let heaps = unsafe { instance.get_physical_device_memory_properties(physical) };
    let size = local_heap_indices(&heaps)
        .map(|index| heaps.memory_heaps[index].size)
        .max()
        .unwrap_or(0);
    local_heap_indices(&heaps).next().map(|_| (size, false))
}

/// The indices of the device-local heaps among `heaps`.
fn local_heap_indices(heaps: &vk::PhysicalDeviceMemoryProperties) -> impl Iterator<Item = usize> {
    let count = (heaps.memory_heap_count as usize).min(vk::MAX_MEMORY_HEAPS);
    (0..count).filter(|&index| {
        heaps.memory_heaps[index]
            .flags
            .contains(vk::MemoryHeapFlags::DEVICE_LOCAL)
    })
}

/// The largest buffer cubecl allocates on the default wgpu device (the device a wgpu run
/// trains on, made here if it was not yet), and that device's name: no tensor may be larger.
pub fn default_device_largest_buffer() -> (u64, String) {
    use cubecl::wgpu::{WgpuBackend, WgpuDevice, WgpuDeviceKind, WgpuRuntime};
    use cubecl_runtime::runtime::Runtime;
    crate::backend::configure_wgpu_runtime();
    let device = WgpuDevice::new(WgpuDeviceKind::DefaultDevice).on(WgpuBackend::Auto);
    let client = WgpuRuntime::<cubecl::wgpu::AutoCompiler>::client(&device);
    let properties = client.properties();
    (
        properties.memory.max_page_size,
        properties.identity.name.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine with a Vulkan driver (CI installs lavapipe; `MLPC_REQUIRE_WGPU=1` makes
    /// its absence a failure) the default adapter's memory is read, and is a plausible figure.
    #[test]
    fn the_default_adapter_reports_its_memory_through_vulkan() {
        let memory = default_adapter_memory();
        if memory.is_none() && std::env::var_os("MLPC_REQUIRE_WGPU").is_none() {
            eprintln!("*** SKIPPED: no Vulkan adapter reports its memory ***");
            return;
        }
        let memory = memory.expect("a Vulkan adapter's memory");
        assert!(memory.bytes >= 64 << 20, "{memory:?}");
        assert!(memory.bytes < 1 << 50, "{memory:?}");
        assert!(!memory.adapter.is_empty());
        let (largest, name) = default_device_largest_buffer();
        assert!((64 << 20..=1 << 50).contains(&largest), "{largest}");
        assert_eq!(name, memory.adapter);
    }
}
