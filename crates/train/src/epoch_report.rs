//! What one epoch of training did: the record `mlpc run` prints and a run folder keeps.

use serde::{Deserialize, Serialize};

use crate::evaluate::Evaluation;

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// Mean training loss over the epoch's batches.
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
