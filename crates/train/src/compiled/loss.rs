//! Loss rules: the batch's summed loss (for the epoch's report) and the gradient of the mean
//! loss with respect to the network's output, with the output activation folded in.
//!
//! - cross-entropy: the softmax is folded into the gradient, `(p - y) / B`;
//! - binary cross-entropy: the sigmoid is folded in, `(σ(z) - t) / B`;
//! - mse `2r / (B·O)`, mae `sign(r) / (B·O)`, huber `clamp(r, ±δ) / (B·O)`, with `r = z - t`.
//!
//! On wgpu each is one kernel of the step's own ([`kernels::loss()`]); elsewhere (the CPU
//! backends) the same formulas are composed of tensor operations, which the kernel is tested
//! against. On wgpu the kernel also applies what of the last layers burn-fusion would leave a
//! kernel of its own ([`Head`]): a one-output layer's bias, and a regression's output
//! activation (relu, tanh, sigmoid) with its derivative. A replayed step hands its [`Tally`] in: the kernel then adds the summed loss into
//! the segment's loss vector at the step counter and advances the counter, and returns no sum.
//!
//! The gradient is multiplied by `scale` as it is made: backpropagation is linear in the
//! output's gradient, so a step that folds the learning rate in here gets every parameter's
//! gradient already scaled, at no cost.

use burn::tensor::{IndexingUpdateOp, Int, Tensor, activation};
use mlpc_ir::{Activation, Loss};

use super::activation::Gating;
use super::kernels::{self, Kind, Multipliers, Targets};
use super::scalar::Scalar;
use crate::network::apply_activation;
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
/// both are written in their own buffers by the loss kernel (on a device where
/// [`kernels::available`] holds, as a replay's is).
pub struct Tally {
    /// Each step's summed loss.
    pub losses: Tensor<1>,
    /// The step counter.
    pub counter: Tensor<1, Int>,
}

/// What of the network's last layers the loss applies to the output it reads (on wgpu the
/// loss kernel does, so that no kernel of their own does).
#[derive(Default)]
pub struct Head {
    /// The output layer's bias `[1, O]`, where the output read is its product: added first.
    pub bias: Option<Tensor<2>>,
    /// An output activation whose output gives its derivative (relu, tanh, sigmoid), for the
    /// regression losses: applied after the bias where there is one (else the output read is
    /// already its output), and the gradient taken through its derivative.
    pub activation: Option<Activation>,
}

/// Evaluates `loss` on the network's output for `targets`: `output` through `head`; with a
/// `tally`, the summed loss goes into it. The gradient is with respect to `output` (the
/// product where the head has a bias, else the pre-activation where it has an activation).
/// Only the first `counted` rows count (all of them where `counted` is the batch's rows):
/// the rest are padding, which adds no loss and gets a zero gradient, and the mean is over
/// the rows counted.
pub fn loss_and_gradient(
    loss: Loss,
    output: Tensor<2>,
    head: Head,
    targets: &BatchTargets,
    counted: usize,
    scale: &Scalar,
    tally: Option<&mut Tally>,
) -> LossOutcome {
    let device = output.device();
    match (kernels::available(&device), tally) {
        (true, tally) => kernel_loss(loss, output, head, targets, counted, scale, tally),
        (false, None) => {
            let (sum, gradient) = composed_head(loss, output, head, targets, counted, scale);
            LossOutcome {
                sum: Some(sum),
                gradient,
            }
        }
        (false, Some(_)) => {
            unreachable!("a replayed step runs where the step's kernels do (its fetch is one)")
        }
    }
}

/// The loss kernel's kind and numbers for `loss` on a batch whose first `counted` examples
/// count, of `width` outputs.
fn kernel_setting(loss: Loss, counted: usize, width: usize) -> (Kind, Multipliers) {
    let (per_batch, per_element) = (1.0 / counted as f64, 1.0 / (counted * width) as f64);
    let per_example = 1.0 / width as f64;
    let multipliers = |gradient: f64, sum: f64, delta: f64| Multipliers {
        gradient,
        sum,
        delta,
        counted,
    };
    match loss {
        Loss::CrossEntropy => (Kind::CrossEntropy, multipliers(per_batch, 1.0, 0.0)),
        Loss::BinaryCrossEntropy => (Kind::BinaryCrossEntropy, multipliers(per_batch, 1.0, 0.0)),
        Loss::Mse => (
            Kind::SquaredError,
            multipliers(2.0 * per_element, per_example, 0.0),
        ),
        Loss::Mae => (
            Kind::AbsoluteError,
            multipliers(per_element, per_example, 0.0),
        ),
        Loss::Huber { delta } => (Kind::Huber, multipliers(per_element, per_example, delta)),
    }
}

/// [`loss_and_gradient`] by one kernel of the step's own.
fn kernel_loss(
    loss: Loss,
    output: Tensor<2>,
    head: Head,
    targets: &BatchTargets,
    counted: usize,
    scale: &Scalar,
    tally: Option<&mut Tally>,
) -> LossOutcome {
    let [batch, width] = output.dims();
    let (kind, multipliers) = kernel_setting(loss, counted.min(batch), width);
    let Head { bias, activation } = head;
    let function = match activation.as_ref().and_then(kernels::Function::of) {
        Some((function, _)) if function.derivative_reads_output() => function,
        Some(_) => unreachable!("the head's activation is one whose output gives its derivative"),
        None => kernels::Function::Identity,
    };
    let targets = match targets {
        BatchTargets::Classes(classes) => Targets::Classes(classes.clone()),
        BatchTargets::Values(values) => Targets::Values(values.clone()),
    };
    // A scale from the host is a number the kernel multiplies in (a recording holds it as it
    // holds the kernel), one from the device a tensor it reads.
    let factor = match scale.clone() {
        Scalar::Host(scale) => kernels::Scale::Host(scale),
        Scalar::Device(scale) => kernels::Scale::Device(scale),
    };
    match tally {
        None => {
            let (gradient, sum) =
                kernels::loss(kind, multipliers, output, bias, function, targets, factor);
            LossOutcome {
                sum: Some(sum),
                gradient,
            }
        }
        Some(tally) => {
            let gradient;
            (gradient, tally.losses, tally.counter) = kernels::tallied_loss(
                kind,
                multipliers,
                output,
                bias,
                function,
                targets,
                factor,
                tally.losses.extract(),
                tally.counter.extract(),
            );
            LossOutcome {
                sum: None,
                gradient,
            }
        }
    }
}

/// [`composed_loss_and_gradient`] on `output` through `head`.
fn composed_head(
    loss: Loss,
    output: Tensor<2>,
    head: Head,
    targets: &BatchTargets,
    counted: usize,
    scale: &Scalar,
) -> (Tensor<1>, Tensor<2>) {
    let output = match (head.bias, &head.activation) {
        (Some(bias), Some(function)) => apply_activation(function, output + bias),
        (Some(bias), None) => output + bias,
        (None, _) => output,
    };
    let (sum, gradient) = composed_counted(loss, output.clone(), targets, counted, scale);
    let gradient = match &head.activation {
        Some(function) => {
            super::activation::backward(function, gradient, None, Some(&output), Gating::Product)
        }
        None => gradient,
    };
    (sum, gradient)
}

/// [`composed_loss_and_gradient`] on the first `counted` rows, the gradient padded with zero
/// rows to the output's.
fn composed_counted(
    loss: Loss,
    output: Tensor<2>,
    targets: &BatchTargets,
    counted: usize,
    scale: &Scalar,
) -> (Tensor<1>, Tensor<2>) {
    let [batch, width] = output.dims();
    if counted >= batch {
        return composed_loss_and_gradient(loss, output, targets, scale);
    }
    let device = output.device();
    let (sum, gradient) = composed_loss_and_gradient(
        loss,
        output.narrow(0, 0, counted),
        &targets.narrow(0, counted),
        scale,
    );
    let padding = Tensor::zeros([batch - counted, width], &device);
    (sum, Tensor::cat(vec![gradient, padding], 0))
}

/// The summed loss `[1]` and `scale` times the gradient of the mean loss, composed of tensor
/// operations (what the loss kernel computes in one).
fn composed_loss_and_gradient(
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
            composed_cross_entropy(output, classes, per_batch)
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

/// Softmax cross-entropy on logits `[B, C]` with class indices `[B]`, composed of tensor
/// operations: the summed loss and the gradient times `factor` (the scale over the batch size).
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
    use super::kernels::testing::{Draws, largest_difference, relative_gap as gap, wgpu_device};
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Every loss mlpc trains with (Huber's with `δ = 1.5`).
    const LOSSES: [Loss; 5] = [
        Loss::CrossEntropy,
        Loss::BinaryCrossEntropy,
        Loss::Mse,
        Loss::Mae,
        Loss::Huber { delta: 1.5 },
    ];

    /// Outputs per example for `loss` in a test of `columns`: binary cross-entropy's one.
    fn outputs_of(loss: Loss, columns: usize) -> usize {
        match loss {
            Loss::BinaryCrossEntropy => 1,
            Loss::CrossEntropy | Loss::Mse | Loss::Mae | Loss::Huber { .. } => columns,
        }
    }

    /// Targets for `loss` on `rows` examples of `columns` outputs: classes cycling through
    /// the columns (two at least), or values from `draws`.
    fn targets_of(loss: Loss, rows: usize, columns: usize, draws: &Draws) -> BatchTargets {
        match loss {
            Loss::CrossEntropy | Loss::BinaryCrossEntropy => {
                let labels: Vec<i64> = (0..rows)
                    .map(|row| ((row * 7 + 3) % columns.max(2)) as i64)
                    .collect();
                BatchTargets::Classes(Tensor::<1, Int>::from_data(
                    TensorData::new(labels, [rows]),
                    draws.device(),
                ))
            }
            Loss::Mse | Loss::Mae | Loss::Huber { .. } => {
                BatchTargets::Values(draws.tensor([rows, columns], Distribution::Normal(0.0, 4.0)))
            }
        }
    }

    /// The loss kernel against the composed operations on wgpu, for every loss: one row, a
    /// batch that fits the kernel's units, one that strides over them, transposed (not
    /// contiguous) outputs, and scales from the host and from the device; the tallied
    /// variant gives the same gradient and adds the same sum into its slot, advancing the
    /// counter; with the output layer's bias handed to the kernel, the numbers of the bias
    /// added first.
    #[test]
    fn the_loss_kernel_matches_the_composed_operations_for_every_loss() {
        let Some(device) = wgpu_device() else {
            return;
        };
        // Seeded, so every run draws the same outputs.
        let draws = Draws::new(11, &device);
        assert!(kernels::available(&device));
        for loss in LOSSES {
            for (rows, columns, transposed, scale) in [
                (1, 10, false, Scalar::Host(1.0)),
                (64, 10, false, Scalar::Host(-0.1)),
                (700, 7, false, Scalar::Host(1.0)),
                (
                    33,
                    5,
                    true,
                    Scalar::Device(Tensor::full([1, 1], 0.25, &device)),
                ),
            ] {
                let columns = outputs_of(loss, columns);
                let random = |rows: usize, columns: usize| {
                    draws.tensor([rows, columns], Distribution::Normal(0.0, 4.0))
                };
                let output = match transposed {
                    true => random(columns, rows).transpose(),
                    false => random(rows, columns),
                };
                let targets = targets_of(loss, rows, columns, &draws);
                let ours = loss_and_gradient(
                    loss,
                    output.clone(),
                    Head::default(),
                    &targets,
                    rows,
                    &scale,
                    None,
                );
                let our_sum = ours.sum.expect("returned without a tally");
                let mut tally = Tally {
                    losses: Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device),
                    counter: Tensor::<1, Int>::from_ints([1], &device),
                };
                let tallied = loss_and_gradient(
                    loss,
                    output.clone(),
                    Head::default(),
                    &targets,
                    rows,
                    &scale,
                    Some(&mut tally),
                );
                assert!(tallied.sum.is_none());
                // With the output layer's bias left to the kernel: the same numbers as with the
                // bias added first (the same f32 sum, then the same kernel).
                let bias = random(1, columns);
                let biased = loss_and_gradient(
                    loss,
                    output.clone(),
                    Head {
                        bias: Some(bias.clone()),
                        activation: None,
                    },
                    &targets,
                    rows,
                    &scale,
                    None,
                );
                let added = loss_and_gradient(
                    loss,
                    output.clone() + bias.clone(),
                    Head::default(),
                    &targets,
                    rows,
                    &scale,
                    None,
                );
                let biased_gaps = (
                    gap(biased.gradient, added.gradient),
                    gap(biased.sum.expect("returned"), added.sum.expect("returned")),
                );
                // With an output activation (the regression losses): through the kernel
                // against the composed activation, its derivative and the loss, with the bias
                // (applied in the kernel) and without (applied before).
                let regression = matches!(loss, Loss::Mse | Loss::Mae | Loss::Huber { .. });
                let activations = [Activation::Relu, Activation::Tanh, Activation::Sigmoid];
                for activation in activations.into_iter().filter(|_| regression) {
                    for with_bias in [true, false] {
                        let (input, bias) = match with_bias {
                            true => (output.clone(), Some(bias.clone())),
                            false => (apply_activation(&activation, output.clone()), None),
                        };
                        let head = || Head {
                            bias: bias.clone(),
                            activation: Some(activation),
                        };
                        let ours = loss_and_gradient(
                            loss,
                            input.clone(),
                            head(),
                            &targets,
                            rows,
                            &scale,
                            None,
                        );
                        let (sum, gradient) = match with_bias {
                            true => composed_head(loss, input, head(), &targets, rows, &scale),
                            // The composed activation's output as the kernel reads it.
                            false => {
                                let (sum, gradient) = composed_loss_and_gradient(
                                    loss,
                                    input.clone(),
                                    &targets,
                                    &scale,
                                );
                                let gradient = super::super::activation::backward(
                                    &activation,
                                    gradient,
                                    None,
                                    Some(&input),
                                    Gating::Product,
                                );
                                (sum, gradient)
                            }
                        };
                        let gaps = (
                            gap(ours.gradient, gradient),
                            gap(ours.sum.expect("returned"), sum),
                        );
                        eprintln!(
                            "{} {rows} x {columns} {activation:?} bias {with_bias}: {:.1e}, {:.1e}",
                            loss.name(),
                            gaps.0,
                            gaps.1
                        );
                        assert!(
                            gaps.0 < 1e-5 && gaps.1 < 1e-5,
                            "{} {rows} x {columns} through {activation:?} (bias: {with_bias}): gradient differs by {:e}, loss by {:e}",
                            loss.name(),
                            gaps.0,
                            gaps.1
                        );
                    }
                }
                let (reference_sum, reference_gradient) =
                    composed_loss_and_gradient(loss, output, &targets, &scale);
                let tallied_losses = tally.losses.into_data().try_to_vec::<f32>().expect("f32");
                let counter = tally
                    .counter
                    .into_data()
                    .convert::<i64>()
                    .try_to_vec::<i64>();
                let our_sum_value = our_sum.clone().into_scalar::<f32>();
                assert_eq!(counter.expect("ints"), [2]);
                assert_eq!(tallied_losses, [1.0, 2.0 + our_sum_value, 3.0]);
                assert_eq!(gap(tallied.gradient, ours.gradient.clone()), 0.0);
                // A derivative near zero made by subtracting nearly equal numbers (σ(z) - 1)
                // keeps the rounding of its terms, one unit in the last place of 1 (where the
                // kernel's and the composed exponential may differ): the gradient's gap is
                // measured against its largest value or the size of a unit derivative, the
                // smallest factor an element of the gradient carries, whichever is larger.
                let unit = match &scale {
                    Scalar::Host(value) => value.abs() as f32,
                    Scalar::Device(value) => value.clone().into_scalar::<f32>().abs(),
                } / (rows * columns) as f32;
                let (difference, largest) = largest_difference(ours.gradient, reference_gradient);
                let gradient_gap = difference / largest.max(unit);
                let loss_gap = gap(our_sum, reference_sum);
                let name = loss.name();
                eprintln!(
                    "{name} {rows} x {columns}: gradient {gradient_gap:.1e}, loss {loss_gap:.1e}; biased {:.1e}, {:.1e}",
                    biased_gaps.0, biased_gaps.1
                );
                assert!(
                    biased_gaps.0 < 1e-6 && biased_gaps.1 < 1e-6,
                    "{name} {rows} x {columns} with a bias: gradient differs by {:e}, loss by {:e}",
                    biased_gaps.0,
                    biased_gaps.1
                );
                assert!(
                    gradient_gap < 1e-5 && loss_gap < 1e-5,
                    "{name} {rows} x {columns} (transposed: {transposed}): gradient differs by {gradient_gap:e}, loss by {loss_gap:e}"
                );
            }
        }
    }

    /// Counting only the first rows (a short batch padded to the full batch's rows): the
    /// kernel's loss and gradient over the rows counted match the composed operations on those
    /// rows alone, for every loss, with and without a tally, and the padding rows' gradient is
    /// exactly zero; the padding holds numbers that would change both if they were counted.
    #[test]
    fn the_loss_kernel_counts_only_the_rows_before_the_padding() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(12, &device);
        for loss in LOSSES {
            for (rows, counted, columns) in [(64, 29, 10), (700, 650, 3), (16, 1, 4)] {
                let columns = outputs_of(loss, columns);
                let output = draws.tensor([rows, columns], Distribution::Normal(0.0, 3.0));
                let targets = targets_of(loss, rows, columns, &draws);
                let scale = Scalar::Host(-0.5);
                let ours = loss_and_gradient(
                    loss,
                    output.clone(),
                    Head::default(),
                    &targets,
                    counted,
                    &scale,
                    None,
                );
                let mut tally = Tally {
                    losses: Tensor::<1>::zeros([2], &device),
                    counter: Tensor::<1, Int>::from_ints([0], &device),
                };
                let tallied = loss_and_gradient(
                    loss,
                    output.clone(),
                    Head::default(),
                    &targets,
                    counted,
                    &scale,
                    Some(&mut tally),
                );
                let (sum, gradient) = composed_loss_and_gradient(
                    loss,
                    output.clone().narrow(0, 0, counted),
                    &targets.narrow(0, counted),
                    &scale,
                );
                let ours_gradient = ours.gradient;
                let padding = ours_gradient
                    .clone()
                    .narrow(0, counted, rows - counted)
                    .abs()
                    .max()
                    .into_scalar::<f32>();
                let gaps = (
                    gap(ours_gradient.clone().narrow(0, 0, counted), gradient),
                    gap(ours.sum.expect("returned without a tally"), sum.clone()),
                    gap(tally.losses.narrow(0, 0, 1), sum.clone()),
                    gap(tallied.gradient, ours_gradient),
                );
                let all =
                    loss_and_gradient(loss, output, Head::default(), &targets, rows, &scale, None);
                let counted_all = gap(all.sum.expect("returned"), sum);
                let name = loss.name();
                eprintln!("{name} {counted} of {rows}: {gaps:?}, padding {padding}");
                assert_eq!(padding, 0.0, "{name}: the padding rows' gradient");
                assert!(
                    gaps.0 < 1e-5 && gaps.1 < 1e-5 && gaps.2 < 1e-5 && gaps.3 == 0.0,
                    "{name} {counted} of {rows} rows: gradient, sum, tallied sum and tallied gradient differ by {gaps:?}"
                );
                assert!(
                    counted_all > 1e-3,
                    "{name}: counting the padding rows too changes the loss ({counted_all:e})"
                );
            }
        }
    }
}
