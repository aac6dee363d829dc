//! `cargo bench -p mlpc-cli`: MNIST 784-128-10 (batch 64), one epoch per backend and step
//! (compiled, autodiff) after a warm-up epoch, compared as ratios measured in the same run. Set `MLPC_BENCH_BACKENDS`
//! (e.g. `ndarray,flex,wgpu`) to choose backends; the first is the baseline.

use std::path::Path;

use mlpc_train::Backend;
use mlpc_train::bench::compare;

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/mnist-bench.mlp");
    let source = std::fs::read_to_string(&path).expect("benches/mnist-bench.mlp");
    let model = mlpc_ir::compile(&source, &path).expect("the bench model checks");
    let splits = mlpc_data::load(&model.data).expect("MNIST loads");
    let backends: Vec<Backend> = std::env::var("MLPC_BENCH_BACKENDS")
        .unwrap_or_else(|_| "flex,ndarray".into())
        .split(',')
        .map(|name| name.trim().parse().expect("a backend name"))
        .collect();
    let steps = [
        mlpc_train::StepKind::Compiled,
        mlpc_train::StepKind::Autodiff,
    ];
    for row in compare(&model, &splits, &backends, &steps).expect("training") {
        println!(
            "{:<8} {:<8} first epoch {:>7.2} s  steady epoch {:>7.2} s  {:>9.0} samples/s  {:>5.2}x",
            row.backend,
            row.step,
            row.first_epoch_seconds,
            row.steady_epoch_seconds,
            row.samples_per_sec,
            row.speedup
        );
    }
}
