//! Helpers shared by the training crate's test files.
#![allow(dead_code)] // each test file uses its own subset

use std::path::Path;

use mlpc_ir::Model;
use mlpc_train::backend::wgpu_adapters;

/// The model in `text`, whose paths are relative to a file in `models/` (as a shipped
/// model's are).
pub fn model(text: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/test.mlp");
    mlpc_ir::compile(text, &path).unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"))
}

/// A regression model on the diabetes set (batches of 16), with `network`, `loss` and
/// `optimizer` lines.
pub fn diabetes(network: &str, loss: &str, optimizer: &str) -> Model {
    model(&format!(
        "data csv(\"../data/diabetes.csv\", target = \"progression\")\n\
         network {{\n{network}\n}}\n\
         loss {loss}\n\
         optimizer {optimizer}\n\
         train {{ epochs = 1, batch_size = 16, seed = 6 }}\n"
    ))
}

/// Whether a wgpu adapter exists. Without one the test says loudly that it was skipped, or,
/// with `MLPC_REQUIRE_WGPU=1` (set by `.ci/run`, which installs Mesa's lavapipe), fails.
pub fn wgpu_available(test: &str) -> bool {
    if !wgpu_adapters().is_empty() {
        return true;
    }
    if std::env::var("MLPC_REQUIRE_WGPU").is_ok_and(|value| value == "1") {
        panic!(
            "{test}: no wgpu adapter found, and MLPC_REQUIRE_WGPU=1 requires one (install mesa-vulkan-drivers)"
        );
    }
    eprintln!(
        "\n*** SKIPPED {test}: no wgpu adapter on this machine (install mesa-vulkan-drivers to run it) ***\n"
    );
    false
}

/// The largest relative difference between two networks' values, tensor by tensor (each
/// relative to the largest magnitude in the reference tensor), with its tensor's name.
pub fn largest_gap(ours: &[(String, Vec<f32>)], reference: &[(String, Vec<f32>)]) -> (f64, String) {
    assert_eq!(ours.len(), reference.len());
    ours.iter()
        .zip(reference)
        .map(|((name, ours), (reference_name, theirs))| {
            assert_eq!(name, reference_name);
            let scale = theirs
                .iter()
                .fold(0f64, |top, value| top.max(value.abs() as f64));
            let gap = ours
                .iter()
                .zip(theirs)
                .fold(0f64, |top, (a, b)| top.max((*a as f64 - *b as f64).abs()));
            (gap / scale.max(1e-12), name.clone())
        })
        .fold((0.0, String::new()), |top, next| {
            if next.0 > top.0 { next } else { top }
        })
}
