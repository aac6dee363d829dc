//! Loss rules: the batch's summed loss (for the epoch's report) and the gradient of the mean
//! loss with respect to the network's output, with the output activation folded in.
//!
//! - cross-entropy: the softmax is folded into the gradient, `(p - y) / B`;
//! - binary cross-entropy: the sigmoid is folded in, `(σ(z) - t) / B`;
//! - mse `2r / (B·O)`, mae `sign(r) / (B·O)`, huber `clamp(r, ±δ) / (B·O)`, with `r = z - t`.
//!
//! The gradient is multiplied by `scale` as it is made: backpropagation is linear in the
//! output's gradient, so a step that folds the learning rate in here gets every parameter's
//! gradient already scaled, at no cost.

use burn::tensor::{IndexingUpdateOp, Int, Tensor, activation};
use mlpc_ir::Loss;

use crate::objective::BatchTargets;

/// The loss of one batch: its sum over the batch, and the output's gradient.
pub struct LossOutcome {
    /// The batch's loss times its size, `[1]` (the mean loss of the batch is this over `B`).
    pub sum: Tensor<1>,
    /// `scale` times the gradient of the batch's mean loss, `[B, O]`.
    pub gradient: Tensor<2>,
}

/// Evaluates `loss` on the network's `output` for `targets`.
pub fn loss_and_gradient(
    loss: Loss,
    output: Tensor<2>,
    targets: &BatchTargets,
    scale: f64,
) -> LossOutcome {
    let [batch, width] = output.dims();
    match (loss, targets) {
        (Loss::CrossEntropy, BatchTargets::Classes(classes)) => {
            cross_entropy(output, classes, scale)
        }
        (Loss::BinaryCrossEntropy, BatchTargets::Classes(classes)) => {
            let targets = classes.clone().float().reshape([batch, 1]);
            // burn's BCE on logits: (1 - t) z - log σ(z), averaged.
            let sum = ((targets.clone().neg().add_scalar(1.0) * output.clone())
                - activation::log_sigmoid(output.clone()))
            .sum();
            let gradient = (activation::sigmoid(output) - targets).mul_scalar(scale / batch as f64);
            LossOutcome { sum, gradient }
        }
        (Loss::Mse, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            let per_example = 1.0 / width as f64;
            LossOutcome {
                sum: residual.clone().square().sum().mul_scalar(per_example),
                gradient: residual.mul_scalar(2.0 * scale / (batch * width) as f64),
            }
        }
        (Loss::Mae, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            LossOutcome {
                sum: residual.clone().abs().sum().mul_scalar(1.0 / width as f64),
                gradient: residual.sign().mul_scalar(scale / (batch * width) as f64),
            }
        }
        (Loss::Huber { delta }, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            let size = residual.clone().abs();
            // ½r² within δ, δ(|r| - ½δ) beyond: both are c(|r| - ½c) with c = min(|r|, δ).
            let clipped = size.clone().clamp_max(delta);
            let sum = (clipped.clone() * (size - clipped.mul_scalar(0.5)))
                .sum()
                .mul_scalar(1.0 / width as f64);
            LossOutcome {
                sum,
                gradient: residual
                    .clamp(-delta, delta)
                    .mul_scalar(scale / (batch * width) as f64),
            }
        }
        // The checker pairs classification losses with class targets and the others with values.
        (Loss::CrossEntropy | Loss::BinaryCrossEntropy, BatchTargets::Values(_))
        | (Loss::Mse | Loss::Mae | Loss::Huber { .. }, BatchTargets::Classes(_)) => {
            unreachable!("the IR checker pairs each loss with its kind of target")
        }
    }
}

/// Softmax cross-entropy on logits, `[B, C]`, with class indices `[B]`.
fn cross_entropy(logits: Tensor<2>, classes: &Tensor<1, Int>, scale: f64) -> LossOutcome {
    let [batch, _] = logits.dims();
    let indices = classes.clone().reshape([batch, 1]);
    let shifted = logits.clone() - logits.max_dim(1);
    // Read s_y before the exponential, which then writes the shifted logits' own buffer.
    let picked = shifted.clone().gather(1, indices.clone());
    let exponentials = shifted.exp();
    let totals = exponentials.clone().sum_dim(1);
    // -log p_y = log Σ e^s - s_y
    let sum = (totals.clone().log() - picked).sum();
    let factor = scale / batch as f64;
    let probabilities = exponentials / totals.mul_scalar(1.0 / factor);
    // p - y: subtract the scaled one at each example's class.
    let ones = Tensor::full([batch, 1], -factor, &classes.device());
    let gradient = probabilities.scatter(1, indices, ones, IndexingUpdateOp::Add);
    LossOutcome { sum, gradient }
}
