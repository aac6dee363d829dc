//! Using mlpc as a library: check a model written in Rust source, train it, read the metrics.
//!
//! `cargo run --release --example library`

use std::path::Path;

fn main() {
    let source = r#"
        data moons(n = 600, noise = 0.1, seed = 1)
        network {
          dense 16 relu
          dense 2
        }
        loss cross_entropy
        optimizer adam(lr = 0.01)
        train { epochs = 30, batch_size = 32 }
    "#;
    // Paths in the text would be relative to this (virtual) file's folder.
    let path = Path::new("examples/inline.mlp");
    let model = match mlpc_ir::compile(source, path) {
        Ok(model) => model,
        Err(diagnostics) => {
            eprint!(
                "{}",
                mlpc_syntax::render(
                    "inline.mlp",
                    source,
                    &diagnostics,
                    mlpc_syntax::Colour::Plain
                )
            );
            std::process::exit(2);
        }
    };
    println!("{}", mlpc_ir::summary::Summary::of(&model).to_table(&model));
    let splits = mlpc_data::load(&model.data).expect("generated data always loads");
    let trained = mlpc_train::train(&model, &splits, mlpc_train::Backend::Flex, |report| {
        if report.epoch % 10 == 0 {
            println!(
                "epoch {:>2}: test accuracy {:.1}%",
                report.epoch,
                report.test_accuracy.unwrap_or(0.0) * 100.0
            );
        }
    })
    .expect("training");
    println!("trained {} epochs", trained.history.len());
}
