//! Batch normalisation in training mode, a kernel each way, where burn's operations take a
//! reduction, a fused reduction and element-wise kernels for each pass, and a replayed step
//! copied the running statistics back to their buffers after every step.
//!
//! - Forward: per feature `j`, over the batch, `μ = mean(x)`, `σ² = mean((x - μ)²)` (biased),
//!   `x̂ = (x - μ) / √(σ² + ε)`, `y = γ x̂ + β`, and the running statistics moved in their own
//!   buffers, `r ← r (1 - m) + m · batch's`; it keeps `x̂` and `1/√(σ² + ε)` for the
//!   backward pass.
//! - Backward: per feature, `∂β = Σ_b g`, `∂γ = Σ_b g x̂`, and, where the layer below wants
//!   it, `∂x = (γ / σ)(g - mean(g) - x̂ · mean(g x̂))`, written as
//!   [`super::super::layer`] composes it.
//!
//! One unit per feature, looping over the batch: neighbouring units read neighbouring values
//! of a row, and a feature's sums need no communication between units.
//!
//! A short batch padded to the full batch's rows ([`Setting::counted`]) takes its statistics,
//! its sums and its mean gradients from the counted rows only; the padding rows are
//! normalised too (their outputs are never counted) and get a zero input gradient.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::prelude::InputScalar;

use super::tail::{self, Form, Function, Lead, Tail, Tailed};

/// Tensors the forward kernel binds (the backward binds fewer): its own eight and the tail's
/// buffers, which it binds whatever the tail (a one-value stand-in for each one unused).
const FORWARD_TENSORS: usize = 8 + tail::BUFFERS;

/// Whether the kernels can run on `device`: a cubecl device that binds the forward kernel's
/// tensors and one buffer spare (as the update and fetch kernels leave one), which a device
/// at WebGPU's minimum (8 storage buffers a stage) does not; elsewhere the layer composes
/// burn's operations.
pub fn batch_norm_fits(device: &burn::tensor::Device) -> bool {
    super::available(device) && super::bindings(device) > FORWARD_TENSORS
}

/// The kernels, in a module of their own: cubecl's prelude has its own `Tensor`.
pub(super) mod kernel {
    use super::super::tail::{
        Form, Function,
        kernel::{derivative, write},
    };
    use cubecl::prelude::*;

    /// The mean of the `count` values of `input` at `start`, `start + stride`, … (a feature's
    /// over the batch, or an example's over its features).
    #[cube]
    pub fn line_mean<F: Float>(input: &Tensor<F>, start: usize, stride: usize, count: usize) -> F {
        let mut total = F::new(0.0_f32);
        for index in 0..count {
            total += input[start + index * stride];
        }
        total / F::cast_from(count)
    }

    /// The biased variance of the same values around their `mean`.
    #[cube]
    pub fn line_variance<F: Float>(
        input: &Tensor<F>,
        start: usize,
        stride: usize,
        count: usize,
        mean: F,
    ) -> F {
        let mut squares = F::new(0.0_f32);
        for index in 0..count {
            let centered = input[start + index * stride] - mean;
            squares += centered * centered;
        }
        squares / F::cast_from(count)
    }

    /// The forward pass for the feature of this unit: `output` (through the tail),
    /// `normalized` `[B, n]` and `inverse_deviation` `[1, n]` written, `mean` and `variance`
    /// `[1, n]` moved, and what the tail keeps; `input` and `mask` read through their strides,
    /// the rest contiguous.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn forward_kernel<F: Float>(
        input: &Tensor<F>,
        gamma: &Tensor<F>,
        beta: &Tensor<F>,
        mean: &mut Tensor<F>,
        variance: &mut Tensor<F>,
        output: &mut Tensor<F>,
        normalized: &mut Tensor<F>,
        inverse_deviation: &mut Tensor<F>,
        mask: &Tensor<F>,
        activation_input: &mut Tensor<F>,
        activation_output: &mut Tensor<F>,
        epsilon: InputScalar,
        momentum: InputScalar,
        kept: InputScalar,
        slope: InputScalar,
        counted: usize,
        #[comptime] form: Form,
        #[define(F)] _type: ElemType,
    ) {
        let feature = ABSOLUTE_POS;
        let (rows, features) = (input.shape(0), input.shape(1));
        if feature < features {
            let (row_stride, column) = (input.stride(0), feature * input.stride(1));
            // The statistics of the rows counted; padding rows are normalised by them too.
            let batch_mean = line_mean::<F>(input, column, row_stride, counted);
            let batch_variance = line_variance::<F>(input, column, row_stride, counted, batch_mean);
            let inverse = F::new(1.0_f32) / F::sqrt(batch_variance + epsilon.get::<F>());
            let (scale, shift) = (gamma[feature], beta[feature]);
            let slope = slope.get::<F>();
            for row in 0..rows {
                let at = row * features + feature;
                let value = (input[row * row_stride + column] - batch_mean) * inverse;
                normalized[at] = value;
                write::<F>(
                    value * scale + shift,
                    row,
                    feature,
                    at,
                    slope,
                    mask,
                    output,
                    activation_input,
                    activation_output,
                    form,
                );
            }
            inverse_deviation[feature] = inverse;
            let (momentum, kept) = (momentum.get::<F>(), kept.get::<F>());
            mean[feature] = mean[feature] * kept + batch_mean * momentum;
            variance[feature] = variance[feature] * kept + batch_variance * momentum;
        }
    }

    /// The backward pass for the feature of this unit: `gamma_gradient` and `beta_gradient`
    /// `[1, n]`, and `input_gradient` `[B, n]` where `with_input`; `upstream` read through its
    /// strides, the rest contiguous.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn backward_kernel<F: Float>(
        upstream: &Tensor<F>,
        normalized: &Tensor<F>,
        inverse_deviation: &Tensor<F>,
        gamma: &Tensor<F>,
        gamma_gradient: &mut Tensor<F>,
        beta_gradient: &mut Tensor<F>,
        input_gradient: &mut Tensor<F>,
        counted: usize,
        lead: &Tensor<F>,
        slope: InputScalar,
        #[comptime] with_input: bool,
        #[comptime] lead_function: Function,
        #[define(F)] _type: ElemType,
    ) {
        let feature = ABSOLUTE_POS;
        let (rows, features) = (upstream.shape(0), upstream.shape(1));
        if feature < features {
            let (row_stride, column) = (upstream.stride(0), feature * upstream.stride(1));
            let mut shift = F::new(0.0_f32);
            let mut scale = F::new(0.0_f32);
            for row in 0..counted {
                let gradient = upstream[row * row_stride + column];
                shift += gradient;
                scale += gradient * normalized[row * features + feature];
            }
            gamma_gradient[feature] = scale;
            beta_gradient[feature] = shift;
            if comptime!(with_input) {
                let count = F::cast_from(counted);
                let factor = gamma[feature] * inverse_deviation[feature] / count;
                let slope = slope.get::<F>();
                for row in 0..counted {
                    let at = row * features + feature;
                    let gradient = upstream[row * row_stride + column];
                    let mut value = (gradient * count - shift - normalized[at] * scale) * factor;
                    if comptime!(lead_function != Function::Identity) {
                        // Through the activation before the norm.
                        let read = lead[row * lead.stride(0) + feature * lead.stride(1)];
                        value *= derivative::<F>(read, slope, lead_function);
                    }
                    input_gradient[at] = value;
                }
                // Padding rows pass no gradient down.
                for row in counted..rows {
                    input_gradient[row * features + feature] = F::new(0.0_f32);
                }
            }
        }
    }
}

/// What the forward pass keeps and moves, besides its output.
pub struct Forward {
    /// `γ x̂ + β` through the tail, `[B, n]`, and what the tail keeps.
    pub tailed: Tailed,
    /// `x̂`, `[B, n]`.
    pub normalized: Tensor<2>,
    /// `1 / √(σ² + ε)`, `[1, n]`.
    pub inverse_deviation: Tensor<2>,
    /// The running mean, moved (in its own buffer where it has no other owner).
    pub mean: Tensor<2>,
    /// The running variance, moved likewise.
    pub variance: Tensor<2>,
}

/// The numbers of the forward pass.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Added to the variance.
    pub epsilon: f64,
    /// The batch's weight in the running statistics.
    pub momentum: f64,
    /// The rows whose statistics count, the first ones: all of the batch's, or fewer where a
    /// short batch was padded to the full batch's rows (the padding rows are normalised by the
    /// counted rows' statistics, and pass no gradient down).
    pub counted: usize,
}

/// The deferred forward operation.
#[derive(Debug)]
struct ForwardOperation {
    setting: Setting,
    form: Form,
    slope: f64,
    inputs: Vec<TensorIr>,
    outputs: Vec<TensorIr>,
}

impl Operation<FusionCubeRuntime> for ForwardOperation {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let mut inputs = self
            .inputs
            .iter()
            .map(|ir| handles.get_float_tensor::<CubeBackend>(ir));
        let mut next = || inputs.next().expect("each input was registered");
        let (input, gamma, beta, mean, variance) = (next(), next(), next(), next(), next());
        let (gamma, beta) = (into_contiguous(gamma), into_contiguous(beta));
        let (mean, variance) = (super::writable(mean), super::writable(variance));
        let client = input.client.clone();
        let float_type = input.dtype;
        let [rows, features] = input.meta.shape().dims::<2>();
        let (output, normalized) = (
            super::empty_like(&input, [rows, features]),
            super::empty_like(&input, [rows, features]),
        );
        let inverse_deviation = super::empty_like(&input, [1, features]);
        let form = self.form;
        let mask = form.masked.then(next);
        let tail = tail::Buffers::new(form, mask, &input, [rows, features]);
        let storage = dtype_to_storage_type(float_type);
        let scalar = |value: f64| InputScalar::new(value, storage);
        let Setting {
            epsilon,
            momentum,
            counted,
        } = self.setting;
        let (cube_count, cube_dim) = super::unit_each(features);
        kernel::forward_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            input.into_tensor_arg(),
            gamma.into_tensor_arg(),
            beta.into_tensor_arg(),
            mean.clone().into_tensor_arg(),
            variance.clone().into_tensor_arg(),
            output.clone().into_tensor_arg(),
            normalized.clone().into_tensor_arg(),
            inverse_deviation.clone().into_tensor_arg(),
            tail.mask.clone().into_tensor_arg(),
            tail.activation_input.clone().into_tensor_arg(),
            tail.activation_output.clone().into_tensor_arg(),
            scalar(epsilon),
            scalar(momentum),
            scalar(1.0 - momentum),
            scalar(self.slope),
            counted.min(rows),
            form,
            storage,
        );
        let mut written = vec![output, normalized, inverse_deviation, mean, variance];
        written.extend(tail.kept(form));
        for (ir, tensor) in self.outputs.iter().zip(written) {
            handles.register_float_tensor::<CubeBackend>(&ir.id, tensor);
        }
        Ok(())
    }
}

/// Batch norm's forward pass in training mode on `input` `[B, n]` with `gamma` and `beta`
/// `[1, n]`, moving the running `mean` and `variance` `[1, n]`, its output through `tail`,
/// in one kernel. The tensors must be on a device where [`batch_norm_fits`] holds.
pub fn batch_norm_forward(
    setting: Setting,
    input: Tensor<2>,
    gamma: Tensor<2>,
    beta: Tensor<2>,
    mean: Tensor<2>,
    variance: Tensor<2>,
    tail: Tail,
) -> Forward {
    let [rows, features] = input.dims();
    let (form, slope) = (tail.form(), tail.slope);
    let mut inputs: Vec<super::Primitive> = [input, gamma, beta, mean, variance]
        .map(super::primitive)
        .into();
    inputs.extend(tail.mask.map(super::primitive));
    let (batch, row) = (Shape::new([rows, features]), Shape::new([1, features]));
    let mut shapes = vec![batch.clone(), batch.clone(), row.clone(), row.clone(), row];
    shapes.extend(tail::kept_shapes(form, &batch));
    let shapes = shapes.into_iter().map(|shape| (shape, None)).collect();
    let written = super::register_all(
        "mlpc_batch_norm_forward",
        inputs,
        shapes,
        |inputs, outputs| ForwardOperation {
            setting,
            form,
            slope,
            inputs,
            outputs,
        },
    );
    let mut written = written.into_iter().map(Tensor::from_primitive::<Cube>);
    let mut next = || written.next().expect("each output was registered");
    let (output, normalized, inverse_deviation, mean, variance) =
        (next(), next(), next(), next(), next());
    Forward {
        tailed: Tailed::from_outputs(form, output, &mut written),
        normalized,
        inverse_deviation,
        mean,
        variance,
    }
}

/// The deferred backward operation.
#[derive(Debug)]
struct BackwardOperation {
    with_input: bool,
    counted: usize,
    /// The activation before the norm and its slope (`Identity` where none is applied).
    lead: (Function, f64),
    inputs: Vec<TensorIr>,
    outputs: Vec<TensorIr>,
}

impl Operation<FusionCubeRuntime> for BackwardOperation {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let mut inputs = self
            .inputs
            .iter()
            .map(|ir| handles.get_float_tensor::<CubeBackend>(ir));
        let mut next = || inputs.next().expect("each input was registered");
        let (upstream, normalized, inverse_deviation, gamma) = (next(), next(), next(), next());
        let [normalized, inverse_deviation, gamma] =
            [normalized, inverse_deviation, gamma].map(into_contiguous);
        let (lead_function, slope) = self.lead;
        let lead = Lead::read_or_stand_in(lead_function, next, &upstream);
        let client = upstream.client.clone();
        let float_type = upstream.dtype;
        let [rows, features] = upstream.meta.shape().dims::<2>();
        let (gamma_gradient, beta_gradient) = (
            super::empty_like(&upstream, [1, features]),
            super::empty_like(&upstream, [1, features]),
        );
        // Without the input's gradient the kernel writes nothing there: a one-value stand-in.
        let input_gradient = match self.with_input {
            true => super::empty_like(&upstream, [rows, features]),
            false => super::empty_like(&upstream, [1, 1]),
        };
        let (cube_count, cube_dim) = super::unit_each(features);
        kernel::backward_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            upstream.into_tensor_arg(),
            normalized.into_tensor_arg(),
            inverse_deviation.into_tensor_arg(),
            gamma.into_tensor_arg(),
            gamma_gradient.clone().into_tensor_arg(),
            beta_gradient.clone().into_tensor_arg(),
            input_gradient.clone().into_tensor_arg(),
            self.counted.min(rows),
            lead.into_tensor_arg(),
            InputScalar::new(slope, dtype_to_storage_type(float_type)),
            self.with_input,
            lead_function,
            dtype_to_storage_type(float_type),
        );
        let mut written = vec![gamma_gradient, beta_gradient];
        if self.with_input {
            written.push(input_gradient);
        }
        for (ir, tensor) in self.outputs.iter().zip(written) {
            handles.register_float_tensor::<CubeBackend>(&ir.id, tensor);
        }
        Ok(())
    }
}

/// The gradients of batch norm's `gamma` and `beta` (`[1, n]` each) and, where `with_input`,
/// of its input `[B, n]`, from the gradient `upstream` `[B, n]` of its output and what the
/// forward pass kept, in one kernel, over the first `counted` rows (the rest padding, which
/// gets a zero input gradient); the input's gradient through the derivative of the
/// activation before the norm where a `lead` is given. The tensors must be on a device where
/// [`super::available`] holds.
pub fn batch_norm_backward(
    upstream: Tensor<2>,
    normalized: Tensor<2>,
    inverse_deviation: Tensor<2>,
    gamma: Tensor<2>,
    with_input: bool,
    counted: usize,
    lead: Option<Lead>,
) -> (Tensor<2>, Tensor<2>, Option<Tensor<2>>) {
    let [rows, features] = upstream.dims();
    let mut inputs: Vec<super::Primitive> = [upstream, normalized, inverse_deviation, gamma]
        .map(super::primitive)
        .into();
    let lead = Lead::register(lead.filter(|_| with_input), &mut inputs);
    let row = Shape::new([1, features]);
    let mut shapes = vec![(row.clone(), None), (row, None)];
    if with_input {
        shapes.push((Shape::new([rows, features]), None));
    }
    let mut outputs = super::register_all(
        "mlpc_batch_norm_backward",
        inputs,
        shapes,
        |inputs, outputs| BackwardOperation {
            with_input,
            counted,
            lead,
            inputs,
            outputs,
        },
    )
    .into_iter()
    .map(Tensor::from_primitive::<Cube>);
    let mut next = || outputs.next().expect("an output per description");
    let (gamma_gradient, beta_gradient) = (next(), next());
    let input_gradient = with_input.then(next);
    (gamma_gradient, beta_gradient, input_gradient)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Draws, relative_gap as gap, wgpu_device};
    use super::*;
    use burn::tensor::Distribution;

    /// Both kernels against the composed operations on wgpu (the formulas of
    /// [`super::super::super::layer`]): a batch of two, a cube's worth of features, more
    /// features than a cube has units, a transposed (not contiguous) input and upstream, and a
    /// first layer (no input gradient); the running statistics handed in while a clone is
    /// kept are moved in a copy, the clone unchanged.
    #[test]
    fn the_batch_norm_kernels_match_the_composed_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        // Seeded, so every run draws the same numbers.
        let draws = Draws::new(5, &device);
        let setting = Setting {
            epsilon: 1e-5,
            momentum: 0.1,
            // Every row.
            counted: usize::MAX,
        };
        for (rows, features, transposed, with_input) in [
            (2, 3, false, true),
            (64, 256, false, true),
            (300, 700, false, true),
            (33, 5, true, false),
        ] {
            let random = |rows: usize, columns: usize, distribution: Distribution| match transposed
            {
                true => draws.tensor([columns, rows], distribution).transpose(),
                false => draws.tensor([rows, columns], distribution),
            };
            let input = random(rows, features, Distribution::Normal(1.0, 3.0));
            let upstream = random(rows, features, Distribution::Normal(0.0, 1.0));
            let row = |distribution| draws.tensor([1, features], distribution);
            let gamma = row(Distribution::Normal(1.0, 0.5));
            let beta = row(Distribution::Normal(0.0, 0.5));
            let mean = row(Distribution::Normal(0.0, 1.0));
            let variance = row(Distribution::Uniform(0.5, 2.0));
            let kept_mean = mean.clone().into_data();

            let ours = batch_norm_forward(
                setting,
                input.clone(),
                gamma.clone(),
                beta.clone(),
                mean.clone(),
                variance.clone(),
                Tail::none(),
            );
            let (gamma_gradient, beta_gradient, input_gradient) = batch_norm_backward(
                upstream.clone(),
                ours.normalized.clone(),
                ours.inverse_deviation.clone(),
                gamma.clone(),
                with_input,
                rows,
                None,
            );

            let batch_mean = input.clone().mean_dim(0);
            let centered = input - batch_mean.clone();
            let batch_variance = centered.clone().square().mean_dim(0);
            let inverse = batch_variance
                .clone()
                .add_scalar(setting.epsilon)
                .sqrt()
                .recip();
            let normalized = centered * inverse.clone();
            let output = normalized.clone() * gamma.clone() + beta;
            let momentum = setting.momentum;
            let moved_mean =
                mean.clone().mul_scalar(1.0 - momentum) + batch_mean.mul_scalar(momentum);
            let moved_variance =
                variance.mul_scalar(1.0 - momentum) + batch_variance.mul_scalar(momentum);
            let shift = upstream.clone().sum_dim(0);
            let scale = (upstream.clone() * normalized.clone()).sum_dim(0);
            let factor = (gamma * inverse.clone()).mul_scalar(1.0 / rows as f64);
            let reference_input_gradient = (upstream.mul_scalar(rows as f64)
                - shift.clone()
                - normalized.clone() * scale.clone())
                * factor;

            let gaps = [
                ("output", gap(ours.tailed.output, output)),
                ("normalized", gap(ours.normalized, normalized)),
                ("inverse deviation", gap(ours.inverse_deviation, inverse)),
                ("running mean", gap(ours.mean, moved_mean)),
                ("running variance", gap(ours.variance, moved_variance)),
                ("gamma's gradient", gap(gamma_gradient, scale)),
                ("beta's gradient", gap(beta_gradient, shift)),
            ];
            for (name, value) in gaps {
                eprintln!("{rows} x {features}: {name} {value:.1e}");
                assert!(
                    value < 1e-5,
                    "{rows} x {features}: {name} differs by {value:e}"
                );
            }
            match input_gradient {
                Some(ours) => {
                    let value = gap(ours, reference_input_gradient);
                    eprintln!("{rows} x {features}: input's gradient {value:.1e}");
                    assert!(
                        value < 1e-5,
                        "{rows} x {features}: input's gradient {value:e}"
                    );
                }
                None => assert!(!with_input),
            }
            assert_eq!(mean.into_data(), kept_mean, "the kept clone is unchanged");
        }
    }

    /// A batch padded with rows that do not count: the counted rows' outputs, the running
    /// statistics and every gradient are those of the counted rows alone, and the padding
    /// rows' input gradient is exactly zero (their upstream gradient is zero, as a padded
    /// step's is; their inputs are numbers that would change all of it if they counted).
    #[test]
    fn the_batch_norm_kernels_count_only_the_rows_before_the_padding() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(6, &device);
        for (counted, padding, features) in [(5, 11, 3), (29, 35, 300), (2, 62, 8)] {
            let rows = counted + padding;
            let random = |rows: usize, distribution: Distribution| {
                draws.tensor([rows, features], distribution)
            };
            let input = random(rows, Distribution::Normal(1.0, 3.0));
            let upstream = Tensor::cat(
                vec![
                    random(counted, Distribution::Normal(0.0, 1.0)),
                    Tensor::zeros([padding, features], &device),
                ],
                0,
            );
            let row = |distribution| draws.tensor([1, features], distribution);
            let (gamma, beta) = (
                row(Distribution::Normal(1.0, 0.5)),
                row(Distribution::Normal(0.0, 0.5)),
            );
            let (mean, variance) = (
                row(Distribution::Normal(0.0, 1.0)),
                row(Distribution::Uniform(0.5, 2.0)),
            );
            let run = |input: Tensor<2>, upstream: Tensor<2>, counted: usize| {
                let setting = Setting {
                    epsilon: 1e-5,
                    momentum: 0.1,
                    counted,
                };
                let forward = batch_norm_forward(
                    setting,
                    input,
                    gamma.clone(),
                    beta.clone(),
                    mean.clone(),
                    variance.clone(),
                    Tail::none(),
                );
                let (gamma_gradient, beta_gradient, input_gradient) = batch_norm_backward(
                    upstream,
                    forward.normalized.clone(),
                    forward.inverse_deviation.clone(),
                    gamma.clone(),
                    true,
                    counted,
                    None,
                );
                (
                    forward,
                    gamma_gradient,
                    beta_gradient,
                    input_gradient.expect("asked for"),
                )
            };
            let (padded, padded_gamma, padded_beta, padded_input) =
                run(input.clone(), upstream.clone(), counted);
            let (alone, alone_gamma, alone_beta, alone_input) = run(
                input.clone().narrow(0, 0, counted),
                upstream.clone().narrow(0, 0, counted),
                counted,
            );
            let first = |tensor: Tensor<2>| tensor.narrow(0, 0, counted);
            let padding_gradient = padded_input
                .clone()
                .narrow(0, counted, padding)
                .abs()
                .max()
                .into_scalar::<f32>();
            let gaps = [
                (
                    "output",
                    gap(first(padded.tailed.output), alone.tailed.output),
                ),
                ("running mean", gap(padded.mean, alone.mean.clone())),
                ("running variance", gap(padded.variance, alone.variance)),
                ("gamma's gradient", gap(padded_gamma, alone_gamma)),
                ("beta's gradient", gap(padded_beta, alone_beta)),
                ("input's gradient", gap(first(padded_input), alone_input)),
            ];
            eprintln!("{counted} of {rows} x {features}: {gaps:?}, padding {padding_gradient}");
            assert_eq!(padding_gradient, 0.0, "the padding rows' input gradient");
            for (name, value) in gaps {
                assert!(
                    value < 1e-6,
                    "{counted} of {rows} x {features}: {name} differs by {value:e}"
                );
            }
            // Counting every row would move the statistics.
            let (every, ..) = run(input, upstream, rows);
            assert!(gap(every.mean, alone.mean) > 1e-3);
        }
    }
}
