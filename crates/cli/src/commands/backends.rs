//! `mlpc backends`: what this build supports and what the machine offers.

use mlpc_train::Backend;
use mlpc_train::backend::wgpu_adapters;

use crate::report::Outcome;

/// Lists backends and wgpu adapters.
pub fn run(json: bool) -> Outcome {
    let adapters = wgpu_adapters();
    if json {
        let value = serde_json::json!({
            "backends": Backend::ALL.iter().map(|backend| backend.name()).collect::<Vec<_>>(),
            "default": Backend::Ndarray.name(),
            "wgpu_adapters": adapters,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("serialises")
        );
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
    }
    Outcome::Success
}
