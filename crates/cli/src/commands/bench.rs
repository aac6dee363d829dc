//! `mlpc bench FILE [--backends ndarray,flex,wgpu] [--steps compiled,replay,autodiff] [--epochs N] [--batch-size N] [--json]`

use std::path::PathBuf;

use clap::Args;
use mlpc_train::bench::compare;
use mlpc_train::{Backend, StepKind};

use crate::report::{self, Outcome};

/// Arguments of `mlpc bench`.
#[derive(Args, Debug)]
pub struct BenchArguments {
    /// The `.mlp` file.
    pub file: PathBuf,
    /// Backends to compare, the first being the baseline.
    #[arg(long, value_delimiter = ',', default_value = "flex,ndarray")]
    pub backends: Vec<Backend>,
    /// Training steps to compare on each backend (replay runs on wgpu only: on the CPU it is
    /// the compiled step, which is not run twice).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "compiled,replay,autodiff"
    )]
    pub steps: Vec<StepKind>,
    /// Epochs per backend (2 or more separate the first epoch's warm-up from steady speed).
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Examples per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// One JSON object per backend and step, a line each.
    #[arg(long)]
    pub json: bool,
}

/// Trains the model on each backend and prints their speeds side by side.
pub fn run(arguments: &BenchArguments) -> Outcome {
    let (_, mut model) = match report::compile(&arguments.file) {
        Ok(compiled) => compiled,
        Err(outcome) => return outcome,
    };
    if arguments.epochs == 0 || arguments.batch_size == Some(0) {
        report::error(
            "--epochs and --batch-size must be at least 1",
            Some("for example `--epochs 3 --batch-size 64`"),
        );
        return Outcome::Invalid;
    }
    model.training.epochs = arguments.epochs;
    if let Some(batch_size) = arguments.batch_size {
        model.training.batch_size = batch_size;
    }
    if arguments.epochs == 1 {
        report::note(
            "with one epoch there is no steady epoch: the steady figures are the first epoch's, warm-up included",
            Some("--epochs 2 or more separates them"),
        );
    }
    let splits = match report::load_data(&model) {
        Ok(splits) => splits,
        Err(outcome) => return outcome,
    };
    let rows = match compare(&model, &splits, &arguments.backends, &arguments.steps) {
        Ok(rows) => rows,
        Err(error) => return report::failure(&error, error.hint()),
    };
    if arguments.json {
        // One object a row, a line each, as every command's --json.
        for row in &rows {
            println!("{}", serde_json::to_string(row).expect("rows serialise"));
        }
        return Outcome::Success;
    }
    // The rows trained on: a validation hold-out is not.
    let held_out = mlpc_data::HoldOut::count_in(model.training.hold_out(), splits.train.len());
    println!(
        "{}: {} training examples, batch {}, {} epoch(s) per backend and step",
        model.name,
        splits.train.len() - held_out,
        model.training.batch_size,
        model.training.epochs
    );
    println!(
        "{:<8}  {:<8}  {:>12}  {:>13}  {:>12}  {:>8}  {:>11}",
        "backend", "step", "first epoch", "steady epoch", "samples/s", "speedup", "test"
    );
    for row in &rows {
        // The same work on every row: the test accuracy, or a regression's test loss.
        let accuracy = row.test_accuracy.map_or_else(
            || format!("loss {:.4}", row.test_loss),
            |accuracy| format!("{:.2}%", accuracy * 100.0),
        );
        println!(
            "{:<8}  {:<8}  {:>11.2}s  {:>12.2}s  {:>12.0}  {:>7.2}x  {:>11}",
            row.backend,
            row.step,
            row.first_epoch_seconds,
            row.steady_epoch_seconds,
            row.samples_per_sec,
            row.speedup,
            accuracy
        );
    }
    Outcome::Success
}
