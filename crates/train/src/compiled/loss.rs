//! Loss rules: the batch's summed loss (for the epoch's report) and the gradient of the mean
//! loss with respect to the network's output, with the output activation folded in.
//!
//! - cross-entropy: the softmax is folded into the gradient, `(p - y) / B` (on wgpu, loss and
//!   gradient in one kernel of the step's own, [`super::kernels`]);
//! - binary cross-entropy: the sigmoid is folded in, `(σ(z) - t) / B`;
//! - mse `2r / (B·O)`, mae `sign(r) / (B·O)`, huber `clamp(r, ±δ) / (B·O)`, with `r = z - t`.
//!
//! A replayed step hands its [`Tally`] in: the summed loss is then added into the segment's
//! loss vector at the step counter, which is advanced (by the cross-entropy kernel itself, or
//! by [`kernels::tally`] after the other losses), and not returned.
//!
//! The gradient is multiplied by `scale` as it is made: backpropagation is linear in the
//! output's gradient, so a step that folds the learning rate in here gets every parameter's
//! gradient already scaled, at no cost.

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, activation};
use mlpc_ir::Loss;

use super::kernels;
use super::scalar::Scalar;
use crate::objective::BatchTargets;

/// The loss of one batch: its sum over the batch, and the output's gradient.
pub struct LossOutcome {
    /// The batch's loss times its size, `[1]` (the mean loss of the batch is this over `B`);
    /// `None` where it went into a [`Tally`].
    pub sum: Option<Tensor<1>>,
    /// `scale` times the gradient of the batch's mean loss, `[B, O]`.
    pub gradient: Tensor<2>,
}

/// A replayed step's bookkeeping: the segment's loss vector `[S]`, into whose slot at
/// `counter` `[1]` the step adds its summed loss, and the counter, which the step advances;
/// both are written in their own buffers (on a device where [`kernels::available`] holds).
pub struct Tally {
    /// Each step's summed loss.
    pub losses: Tensor<1>,
    /// The step counter.
    pub counter: Tensor<1, Int>,
}

impl Tally {
    /// `sum` added into its slot and the counter advanced, by one kernel.
    fn add(&mut self, sum: Tensor<1>) {
        (self.losses, self.counter) =
            kernels::tally(self.losses.extract(), self.counter.extract(), sum);
    }
}

/// Evaluates `loss` on the network's `output` for `targets`; with a `tally`, the summed loss
/// goes into it.
pub fn loss_and_gradient(
    loss: Loss,
    output: Tensor<2>,
    targets: &BatchTargets,
    scale: &Scalar,
    tally: Option<&mut Tally>,
) -> LossOutcome {
    let (sum, gradient) = match (loss, targets, tally) {
        // The cross-entropy kernel tallies the loss itself.
        (Loss::CrossEntropy, BatchTargets::Classes(classes), Some(tally))
            if kernels::available(&classes.device()) =>
        {
            let [batch, _] = output.dims();
            let factor = scale.scaled(1.0 / batch as f64);
            return LossOutcome {
                sum: None,
                gradient: tallied_cross_entropy(output, classes, factor, tally),
            };
        }
        (loss, targets, Some(tally)) => {
            let (sum, gradient) = summed_loss_and_gradient(loss, output, targets, scale);
            tally.add(sum);
            return LossOutcome {
                sum: None,
                gradient,
            };
        }
        (loss, targets, None) => summed_loss_and_gradient(loss, output, targets, scale),
    };
    LossOutcome {
        sum: Some(sum),
        gradient,
    }
}

/// The summed loss `[1]` and `scale` times the gradient of the mean loss.
fn summed_loss_and_gradient(
    loss: Loss,
    output: Tensor<2>,
    targets: &BatchTargets,
    scale: &Scalar,
) -> (Tensor<1>, Tensor<2>) {
    let [batch, width] = output.dims();
    let per_batch = scale.scaled(1.0 / batch as f64);
    let per_element = scale.scaled(1.0 / (batch * width) as f64);
    match (loss, targets) {
        (Loss::CrossEntropy, BatchTargets::Classes(classes)) => {
            cross_entropy(output, classes, per_batch)
        }
        (Loss::BinaryCrossEntropy, BatchTargets::Classes(classes)) => {
            let targets = classes.clone().float().reshape([batch, 1]);
            // burn's BCE on logits: (1 - t) z - log σ(z), averaged.
            let sum = ((targets.clone().neg().add_scalar(1.0) * output.clone())
                - activation::log_sigmoid(output.clone()))
            .sum();
            let gradient = per_batch.times(activation::sigmoid(output) - targets);
            (sum, gradient)
        }
        (Loss::Mse, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            let per_example = 1.0 / width as f64;
            (
                residual.clone().square().sum().mul_scalar(per_example),
                per_element.scaled(2.0).times(residual),
            )
        }
        (Loss::Mae, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            (
                residual.clone().abs().sum().mul_scalar(1.0 / width as f64),
                per_element.times(residual.sign()),
            )
        }
        (Loss::Huber { delta }, BatchTargets::Values(values)) => {
            let residual = output - values.clone();
            let size = residual.clone().abs();
            // ½r² within δ, δ(|r| - ½δ) beyond: both are c(|r| - ½c) with c = min(|r|, δ).
            let clipped = size.clone().clamp_max(delta);
            let sum = (clipped.clone() * (size - clipped.mul_scalar(0.5)))
                .sum()
                .mul_scalar(1.0 / width as f64);
            (sum, per_element.times(residual.clamp(-delta, delta)))
        }
        // The checker pairs classification losses with class targets and the others with values.
        (Loss::CrossEntropy | Loss::BinaryCrossEntropy, BatchTargets::Values(_))
        | (Loss::Mse | Loss::Mae | Loss::Huber { .. }, BatchTargets::Classes(_)) => {
            unreachable!("the IR checker pairs each loss with its kind of target")
        }
    }
}

/// Softmax cross-entropy on logits, `[B, C]`, with class indices `[B]`: the summed loss and
/// the gradient multiplied by `factor` (the scale over the batch size). One kernel of the
/// step's own where the device runs them, else composed of tensor operations.
fn cross_entropy(
    logits: Tensor<2>,
    classes: &Tensor<1, Int>,
    factor: Scalar,
) -> (Tensor<1>, Tensor<2>) {
    let device = classes.device();
    if !kernels::available(&device) {
        return composed_cross_entropy(logits, classes, factor);
    }
    let (gradient, sum) =
        kernels::softmax_cross_entropy(logits, classes.clone(), factor_tensor(factor, &device));
    (sum, gradient)
}

/// The factor as the cross-entropy kernel reads it, `[1, 1]` on `device`: one from the host
/// is filled on the device (a kernel, which a recording holds, where a write from the host
/// would not be replayed).
fn factor_tensor(factor: Scalar, device: &Device) -> Tensor<2> {
    match factor {
        Scalar::Host(factor) => Tensor::full([1, 1], factor, device),
        Scalar::Device(factor) => factor,
    }
}

/// [`cross_entropy`]'s gradient with the summed loss added into `tally`, by one kernel (on a
/// device where [`kernels::available`] holds).
fn tallied_cross_entropy(
    logits: Tensor<2>,
    classes: &Tensor<1, Int>,
    factor: Scalar,
    tally: &mut Tally,
) -> Tensor<2> {
    let factor = factor_tensor(factor, &classes.device());
    let gradient;
    (gradient, tally.losses, tally.counter) = kernels::tallied_softmax_cross_entropy(
        logits,
        classes.clone(),
        factor,
        tally.losses.extract(),
        tally.counter.extract(),
    );
    gradient
}

/// [`cross_entropy`] composed of tensor operations.
fn composed_cross_entropy(
    logits: Tensor<2>,
    classes: &Tensor<1, Int>,
    factor: Scalar,
) -> (Tensor<1>, Tensor<2>) {
    let [batch, _] = logits.dims();
    let indices = classes.clone().reshape([batch, 1]);
    let shifted = logits.clone() - logits.max_dim(1);
    // Read s_y before the exponential, which then writes the shifted logits' own buffer.
    let picked = shifted.clone().gather(1, indices.clone());
    let exponentials = shifted.exp();
    let totals = exponentials.clone().sum_dim(1);
    // -log p_y = log Σ e^s - s_y
    let sum = (totals.clone().log() - picked).sum();
    // p - y: subtract the (scaled) one at each example's class.
    let device = classes.device();
    let gradient = match factor {
        Scalar::Host(factor) => (exponentials / totals.mul_scalar(1.0 / factor)).scatter(
            1,
            indices,
            Tensor::full([batch, 1], -factor, &device),
            IndexingUpdateOp::Add,
        ),
        // A factor read on the device multiplies the difference (one kernel fewer than
        // scaling the probabilities and the ones apart).
        Scalar::Device(factor) => {
            let ones = Tensor::full([batch, 1], -1.0, &device);
            (exponentials / totals).scatter(1, indices, ones, IndexingUpdateOp::Add) * factor
        }
    };
    (sum, gradient)
}

#[cfg(test)]
mod tests {
    use super::kernels::testing::{largest_difference, wgpu_device};
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// The largest difference between two tensors, relative to the reference's largest value.
    fn gap<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> f32 {
        let (difference, scale) = largest_difference(ours, reference);
        difference / scale
    }

    /// The one-kernel cross-entropy against the composed one on wgpu: one row, a batch that
    /// fits the kernel's units, one that strides over them, transposed (not contiguous)
    /// logits, and factors from the host and from the device; the tallied variant gives the
    /// same gradient and adds the same sum into its slot, advancing the counter.
    #[test]
    fn the_cross_entropy_kernel_matches_the_composed_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        // Seeded, so every run draws the same logits.
        device.seed(11);
        assert!(kernels::available(&device));
        for (rows, classes_count, transposed, factor) in [
            (1, 10, false, Scalar::Host(1.0)),
            (64, 10, false, Scalar::Host(-0.1 / 64.0)),
            (700, 7, false, Scalar::Host(1.0 / 700.0)),
            (
                33,
                5,
                true,
                Scalar::Device(Tensor::full([1, 1], 0.25, &device)),
            ),
        ] {
            let logits = if transposed {
                Tensor::<2>::random(
                    [classes_count, rows],
                    Distribution::Normal(0.0, 4.0),
                    &device,
                )
                .transpose()
            } else {
                Tensor::<2>::random(
                    [rows, classes_count],
                    Distribution::Normal(0.0, 4.0),
                    &device,
                )
            };
            let labels: Vec<i64> = (0..rows)
                .map(|row| ((row * 7 + 3) % classes_count) as i64)
                .collect();
            let classes = Tensor::<1, Int>::from_data(TensorData::new(labels, [rows]), &device);
            let (our_sum, our_gradient) = cross_entropy(logits.clone(), &classes, factor.clone());
            // The tallied kernel: the same gradient, its sum added at the counter's slot.
            let mut tally = Tally {
                losses: Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device),
                counter: Tensor::<1, Int>::from_ints([1], &device),
            };
            let tallied_gradient =
                tallied_cross_entropy(logits.clone(), &classes, factor.clone(), &mut tally);
            let (reference_sum, reference_gradient) =
                composed_cross_entropy(logits, &classes, factor);
            let tallied_losses = tally.losses.into_data().try_to_vec::<f32>().expect("f32");
            let counter = tally.counter.into_data().convert::<i64>().try_to_vec::<i64>();
            let our_sum_value = our_sum.clone().into_scalar::<f32>();
            assert_eq!(counter.expect("ints"), [2]);
            assert_eq!(tallied_losses, [1.0, 2.0 + our_sum_value, 3.0]);
            assert_eq!(gap(tallied_gradient, our_gradient.clone()), 0.0);
            let gradient_gap = gap(our_gradient, reference_gradient);
            let loss_gap = gap(our_sum, reference_sum);
            eprintln!("{rows} x {classes_count}: gradient {gradient_gap:.1e}, loss {loss_gap:.1e}");
            assert!(
                gradient_gap < 1e-5 && loss_gap < 1e-5,
                "{rows} x {classes_count} (transposed: {transposed}): gradient differs by {gradient_gap:e}, loss by {loss_gap:e}"
            );
        }
    }
}
