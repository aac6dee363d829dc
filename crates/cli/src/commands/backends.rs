//! `mlpc backends`: what this build supports and what the machine offers.

use mlpc_train::Backend;
use mlpc_train::backend::wgpu_adapters;
use mlpc_train::gpu_memory::default_adapter_memory;

use crate::report::Outcome;

/// Lists backends and wgpu adapters, and the free memory of the adapter a wgpu run lands on
/// (what a run on wgpu is checked against before it starts).
pub fn run(json: bool) -> Outcome {
    let adapters = wgpu_adapters();
    let memory = match adapters.is_empty() {
        true => None,
        false => default_adapter_memory(),
    };
    if json {
        let value = serde_json::json!({
            "backends": Backend::ALL.iter().map(|backend| backend.name()).collect::<Vec<_>>(),
            "default": Backend::Flex.name(),
            "wgpu_adapters": adapters,
            "wgpu_memory": memory.as_ref().map(|memory| serde_json::json!({
                "adapter": memory.adapter,
                "bytes": memory.bytes,
                "budget": memory.budgeted,
            })),
        });
        println!("{}", serde_json::to_string(&value).expect("serialises"));
        return Outcome::Success;
    }
    println!("backends in this build:");
    println!("  flex     CPU (default), burn's newer pure-Rust backend");
    println!("  ndarray  CPU, burn's ndarray backend");
    if adapters.is_empty() {
        println!(
            "  wgpu     GPU: no adapter found on this machine (install a Vulkan driver, such as Debian's mesa-vulkan-drivers)"
        );
    } else {
        println!(
            "  wgpu     GPU, {} adapter{} found:",
            adapters.len(),
            if adapters.len() == 1 { "" } else { "s" }
        );
        for adapter in &adapters {
            println!(
                "             {} ({}, {})",
                adapter.name, adapter.kind, adapter.api
            );
        }
        match &memory {
            Some(memory) => println!(
                "           a wgpu run lands on {}: {} {}",
                memory.adapter,
                mlpc_ir::memory::gibibytes(memory.bytes),
                match memory.budgeted {
                    true => "free (Vulkan's budget)",
                    false => "of device memory (Vulkan's heap size)",
                }
            ),
            None => println!(
                "           its memory is not reported (no Vulkan adapter, or CUBECL_WGPU_DEFAULT_DEVICE picks another), so runs are not checked against it"
            ),
        }
    }
    Outcome::Success
}
