//! The wgpu backend: parity with the CPU, and the full MNIST training set on a software
//! Vulkan driver (one wgpu buffer may not exceed 128 MiB; the set is 188 MB as f32).
//!
//! Where no wgpu adapter exists these tests say loudly that they were skipped; with
//! `MLPC_REQUIRE_WGPU=1` (set by `.ci/run`, which installs Mesa's lavapipe) they fail instead.

mod common;

use common::wgpu_available;
use std::path::Path;

use mlpc_ir::Model;
use mlpc_train::{Backend, EpochReport, train};

/// Largest relative difference allowed between CPU and wgpu losses, epoch by epoch.
const PARITY_TOLERANCE: f64 = 1e-3;

fn model(text: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models/parity.mlp");
    mlpc_ir::compile(text, &path).unwrap_or_else(|diagnostics| panic!("{diagnostics:?}"))
}

fn run(model: &Model, backend: Backend) -> Vec<EpochReport> {
    let splits = mlpc_data::load(&model.data).expect("data loads");
    train(model, &splits, backend, |_| {})
        .expect("training")
        .history
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn wgpu_and_ndarray_agree_epoch_by_epoch() {
    if !wgpu_available("wgpu_and_ndarray_agree_epoch_by_epoch") {
        return;
    }
    // 8x8 digits, 1,437 training rows, batch 32: 5 epochs are 225 optimizer steps.
    let model = model(
        "data csv(\"../../data/digits.csv\", target = \"digit\", task = classification, split_seed = 4)\n\
         network {\n  dense 64 relu\n  dense 10\n}\n\
         loss cross_entropy\noptimizer sgd(lr = 0.05, momentum = 0.9)\n\
         train { epochs = 5, batch_size = 32, seed = 4 }\n",
    );
    let cpu = run(&model, Backend::Ndarray);
    let gpu = run(&model, Backend::Wgpu);
    for (cpu, gpu) in cpu.iter().zip(&gpu) {
        for (what, a, b) in [
            ("train loss", cpu.train_loss, gpu.train_loss),
            ("test loss", cpu.test_loss, gpu.test_loss),
        ] {
            assert!(
                relative(a, b) < PARITY_TOLERANCE,
                "epoch {}: {what} {a} on ndarray, {b} on wgpu",
                cpu.epoch
            );
        }
    }
    assert!(
        cpu.last().expect("epochs").train_loss < cpu[0].train_loss,
        "the model learns"
    );
    assert!(
        gpu.last()
            .and_then(|report| report.test_accuracy)
            .expect("accuracy")
            > 0.9
    );
}

#[test]
fn full_mnist_trains_on_wgpu_in_chunks() {
    if !wgpu_available("full_mnist_trains_on_wgpu_in_chunks") {
        return;
    }
    let model = model(
        "data mnist(\"../../data/mnist\")\nnetwork {\n  dense 128 relu\n  dense 10\n}\n\
         loss cross_entropy\noptimizer sgd(lr = 0.1, momentum = 0.9)\ntrain { epochs = 1, batch_size = 64, seed = 1 }\n",
    );
    let reports = run(&model, Backend::Wgpu);
    let accuracy = reports[0].test_accuracy.expect("accuracy");
    assert!(
        accuracy > 0.94,
        "one epoch of 784-128-10 on all 60,000 digits: {accuracy}"
    );
}
