//! Evaluation: the loss and metrics of a network on a dataset, without autodiff (dropout off,
//! batch norm on running statistics). Sums stay on the device until the end: one read-back.

use burn::tensor::{Int, Tensor};
use mlpc_data::Standardization;
use serde::{Deserialize, Serialize};

use crate::device_data::DeviceSet;
use crate::network::Network;
use crate::objective::{BatchTargets, Objective};

/// Rows per evaluation batch.
pub(crate) const EVALUATION_BATCH: usize = 2048;

/// Loss and metrics on one split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f64,
    /// Fraction classified right (classification).
    pub accuracy: Option<f64>,
    /// Root mean squared error in the target's units (regression).
    pub rmse: Option<f64>,
    /// Mean absolute error in the target's units (regression).
    pub mae: Option<f64>,
    /// Coefficient of determination (regression).
    pub r2: Option<f64>,
}

/// Evaluates `network` (already without autodiff) on `set`.
pub fn evaluate(
    network: &Network,
    set: &DeviceSet,
    objective: &Objective,
    target_scale: Option<Standardization>,
) -> Evaluation {
    let rows = set.len();
    let mut loss_sum: Option<Tensor<1>> = None;
    let mut correct: Option<Tensor<1, Int>> = None;
    // Regression sums: squared error, absolute error, target, squared target.
    let mut sums: Option<Tensor<1>> = None;
    let mut start = 0;
    while start < rows {
        let length = EVALUATION_BATCH.min(rows - start);
        let (features, targets) = set.range(start, length);
        let output = network.forward(features);
        let batch_loss = objective
            .forward(output.clone(), &targets)
            .mul_scalar(length as f64);
        loss_sum = Some(match loss_sum {
            Some(sum) => sum + batch_loss,
            None => batch_loss,
        });
        match &targets {
            BatchTargets::Classes(classes) => {
                let predicted = match objective {
                    Objective::BinaryCrossEntropy(_) => {
                        output.greater_elem(0.0).int().reshape([length])
                    }
                    _ => output.argmax(1).reshape([length]),
                };
                let hits = predicted.equal(classes.clone()).int().sum();
                correct = Some(match correct {
                    Some(sum) => sum + hits,
                    None => hits,
                });
            }
            BatchTargets::Values(values) => {
                let error = output - values.clone();
                let batch_sums = Tensor::cat(
                    vec![
                        error.clone().powf_scalar(2.0).sum(),
                        error.abs().sum(),
                        values.clone().sum(),
                        values.clone().powf_scalar(2.0).sum(),
                    ],
                    0,
                );
                sums = Some(match sums {
                    Some(sum) => sum + batch_sums,
                    None => batch_sums,
                });
            }
        }
        start += length;
    }
    let count = rows.max(1) as f64;
    let loss_value = loss_sum.map_or(f64::NAN, |sum| sum.into_scalar::<f64>() / count);
    let accuracy = correct.map(|hits| hits.into_scalar::<i64>() as f64 / count);
    let sums: Option<Vec<f32>> = sums.map(|sums| {
        sums.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    });
    let (rmse, mae, r2) = match sums.as_deref() {
        Some(&[squared, absolute, total, total_squared]) => {
            let [squared, absolute, total, total_squared] =
                [squared, absolute, total, total_squared].map(f64::from);
            let scale = target_scale.map_or(1.0, |scale| scale.deviation);
            let variance_sum = total_squared - total * total / count;
            let r2 = if variance_sum > 0.0 {
                1.0 - squared / variance_sum
            } else {
                f64::NAN
            };
            (
                Some((squared / count).sqrt() * scale),
                Some(absolute / count * scale),
                Some(r2),
            )
        }
        // Four sums were made; anything else means nothing was evaluated.
        Some(_) | None => (None, None, None),
    };
    Evaluation {
        loss: loss_value,
        accuracy,
        rmse,
        mae,
        r2,
    }
}
