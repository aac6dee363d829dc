//! Backend benchmark: the same model, data and seed trained on several backends in one
//! process, so their speeds compare as ratios measured under the same conditions.

use mlpc_data::Splits;
use mlpc_ir::Model;
use serde::Serialize;

use crate::backend::Backend;
use crate::error::TrainError;
use crate::step::StepKind;
use crate::trainer::{RunFolder, train_in};

/// One backend's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// The backend.
    pub backend: String,
    /// The training step.
    pub step: String,
    /// Seconds of the first epoch (kernel compilation and autotuning included, on a GPU).
    pub first_epoch_seconds: f64,
    /// Median seconds of the later epochs (the first one's, with a single epoch).
    pub steady_epoch_seconds: f64,
    /// Training examples per second in steady state.
    pub samples_per_sec: f64,
    /// Steady speed relative to the first row (the first backend's first step).
    pub speedup: f64,
    /// Test accuracy after the last epoch (classification), to show the work was the same.
    pub test_accuracy: Option<f64>,
    /// Test loss after the last epoch.
    pub test_loss: f64,
}

/// Trains `model` for its epochs on each backend in turn, with each step kind in turn; a step
/// that resolves on a backend to one already run there (replay on the CPU is the compiled
/// step) is not run twice.
pub fn compare(
    model: &Model,
    splits: &Splits,
    backends: &[Backend],
    steps: &[StepKind],
) -> Result<Vec<BenchRow>, TrainError> {
    let mut rows: Vec<BenchRow> = Vec::new();
    let runs = backends
        .iter()
        .flat_map(|backend| steps.iter().map(move |step| (*backend, *step)));
    let mut done: Vec<(Backend, StepKind)> = Vec::new();
    for (backend, step) in runs {
        let (resolved, _) = crate::step::resolve(step, model, backend);
        if done.contains(&(backend, resolved)) {
            continue;
        }
        done.push((backend, resolved));
        let trained = train_in(
            model,
            splits,
            backend,
            step,
            &RunFolder::default(),
            &mut |_: &crate::EpochReport| {},
        )?;
        let history = trained.history;
        let first = history.first().map_or(f64::NAN, |report| report.seconds);
        let mut later: Vec<f64> = history
            .iter()
            .skip(1)
            .map(|report| report.seconds)
            .collect();
        later.sort_by(f64::total_cmp);
        let steady = later.get(later.len() / 2).copied().unwrap_or(first);
        let last = history.last().expect("at least one epoch");
        let samples_per_sec = last.samples_per_sec * last.seconds / steady;
        let speedup = rows
            .first()
            .map_or(1.0, |baseline| samples_per_sec / baseline.samples_per_sec);
        rows.push(BenchRow {
            backend: backend.name().to_string(),
            step: trained.step.name().to_string(),
            first_epoch_seconds: first,
            steady_epoch_seconds: steady,
            samples_per_sec,
            speedup,
            test_accuracy: last.test_accuracy,
            test_loss: last.test_loss,
        });
    }
    Ok(rows)
}
