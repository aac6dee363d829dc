//! What one epoch of training did: the record `mlpc run` prints and a run folder keeps.

use serde::{Deserialize, Serialize};

use crate::evaluate::Evaluation;
use mlpc_ir::Metric;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// Mean training loss over the epoch's examples (each batch's mean weighted by its rows).
    pub train_loss: f64,
    /// Mean test loss.
    pub test_loss: f64,
    /// Test accuracy (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// Test RMSE in the target's units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_rmse: Option<f64>,
    /// Test MAE in the target's units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mae: Option<f64>,
    /// Test R² (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_r2: Option<f64>,
    /// Validation loss and metrics, when a validation split is held out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Evaluation>,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's training (not its evaluation).
    pub seconds: f64,
    /// Training examples per second.
    pub samples_per_sec: f64,
}

/// The metrics a model's `train { metrics = [...] }` asks for, kept; the others dropped.
pub fn chosen(evaluation: Evaluation, metrics: &[Metric]) -> Evaluation {
    let wants = |metric: Metric| metrics.contains(&metric);
    Evaluation {
        loss: evaluation.loss,
        accuracy: evaluation.accuracy.filter(|_| wants(Metric::Accuracy)),
        rmse: evaluation.rmse.filter(|_| wants(Metric::Rmse)),
        mae: evaluation.mae.filter(|_| wants(Metric::Mae)),
        r2: evaluation.r2.filter(|_| wants(Metric::R2)),
    }
}

/// The epoch reports as CSV (`metrics.csv` in a run folder): one row per epoch with the fields
/// of `mlpc run --json`, validation ones flattened as `validation_loss`, `validation_accuracy`...
pub fn metrics_csv(history: &[EpochReport]) -> String {
    type Column = (&'static str, fn(&EpochReport) -> Option<f64>);
    let columns: [Column; 16] = [
        ("epoch", |report| Some(report.epoch as f64)),
        ("epochs", |report| Some(report.epochs as f64)),
        ("train_loss", |report| Some(report.train_loss)),
        ("test_loss", |report| Some(report.test_loss)),
        ("test_accuracy", |report| report.test_accuracy),
        ("test_rmse", |report| report.test_rmse),
        ("test_mae", |report| report.test_mae),
        ("test_r2", |report| report.test_r2),
        ("validation_loss", |report| {
            report.validation.map(|v| v.loss)
        }),
        ("validation_accuracy", |report| {
            report.validation.and_then(|v| v.accuracy)
        }),
        ("validation_rmse", |report| {
            report.validation.and_then(|v| v.rmse)
        }),
        ("validation_mae", |report| {
            report.validation.and_then(|v| v.mae)
        }),
        ("validation_r2", |report| {
            report.validation.and_then(|v| v.r2)
        }),
        ("learning_rate", |report| Some(report.learning_rate)),
        ("seconds", |report| Some(report.seconds)),
        ("samples_per_sec", |report| Some(report.samples_per_sec)),
    ];
    // Only the columns some epoch has a value for: the run's own metrics.
    let present: Vec<&Column> = columns
        .iter()
        .filter(|(_, value)| history.iter().any(|report| value(report).is_some()))
        .collect();
    let mut text = present
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for report in history {
        let row: Vec<String> = present
            .iter()
            .map(|(_, value)| value(report).map_or(String::new(), |number| number.to_string()))
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text
}
