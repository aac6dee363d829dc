//! Layer normalisation in training mode: the forward pass in one kernel and the backward pass
//! in another, one unit per example looping over its features. The gradients of `γ` and `β`
//! are column sums over the batch, `Σ_b g x̂` and `Σ_b g`: the backward kernel writes the rows
//! `g x̂` as it goes, and the step's update kernel sums them and `g`'s as it updates `γ` and
//! `β` (as it does a dense layer's bias), so no kernel of its own takes the sums. Where the
//! layer below wants no input gradient, batch norm's backward kernel takes the sums
//! ([`super::batch_norm_backward`] without the input's gradient).
//!
//! - Forward: per example, `μ = mean(x)`, `σ² = mean((x - μ)²)`, `x̂ = (x - μ) / √(σ² + ε)`,
//!   `y = γ x̂ + β`; it keeps `x̂` and `1/√(σ² + ε)` (`[B, 1]`).
//! - Input's gradient: with `s = g γ`, `(s - mean(s) - x̂ · mean(s x̂)) / σ`, per example, as
//!   [`super::super::layer`] composes it.

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

/// Tensors the forward kernel binds (the input's gradient binds fewer): its own six and the
/// tail's buffers, which it binds whatever the tail.
const FORWARD_TENSORS: usize = 6 + tail::BUFFERS;

/// Whether the kernels can run on `device`: a cubecl device that binds the forward kernel's
/// tensors and one buffer spare, and batch norm's backward kernel (for `γ` and `β`).
pub fn layer_norm_fits(device: &burn::tensor::Device) -> bool {
    super::batch_norm_fits(device) && super::bindings(device) > FORWARD_TENSORS
}

/// The kernels, in a module of their own: cubecl's prelude has its own `Tensor`.
mod kernel {
    use super::super::batch_norm::kernel::{line_mean, line_variance};
    use super::super::tail::{
        Form, Function,
        kernel::{derivative, write},
    };
    use cubecl::prelude::*;

    /// The forward pass for the example of this unit: `output`, `normalized` `[B, n]` and
    /// `inverse_deviation` `[B, 1]` written; `input` read through its strides, the rest
    /// contiguous.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn forward_kernel<F: Float>(
        input: &Tensor<F>,
        gamma: &Tensor<F>,
        beta: &Tensor<F>,
        output: &mut Tensor<F>,
        normalized: &mut Tensor<F>,
        inverse_deviation: &mut Tensor<F>,
        mask: &Tensor<F>,
        activation_input: &mut Tensor<F>,
        activation_output: &mut Tensor<F>,
        epsilon: InputScalar,
        slope: InputScalar,
        #[comptime] form: Form,
        #[define(F)] _type: ElemType,
    ) {
        let example = ABSOLUTE_POS;
        let (rows, features) = (input.shape(0), input.shape(1));
        if example < rows {
            let (base, column_stride) = (example * input.stride(0), input.stride(1));
            let mean = line_mean::<F>(input, base, column_stride, features);
            let variance = line_variance::<F>(input, base, column_stride, features, mean);
            let inverse = F::new(1.0_f32) / F::sqrt(variance + epsilon.get::<F>());
            let slope = slope.get::<F>();
            for feature in 0..features {
                let at = example * features + feature;
                let value = (input[base + feature * column_stride] - mean) * inverse;
                normalized[at] = value;
                write::<F>(
                    value * gamma[feature] + beta[feature],
                    example,
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
            inverse_deviation[example] = inverse;
        }
    }

    /// The input's gradient and the rows `g x̂` whose column sums are `γ`'s gradient, for the
    /// example of this unit; `upstream` read through its strides, the rest contiguous.
    #[cube(launch)]
    pub fn backward_kernel<F: Float>(
        upstream: &Tensor<F>,
        normalized: &Tensor<F>,
        inverse_deviation: &Tensor<F>,
        gamma: &Tensor<F>,
        input_gradient: &mut Tensor<F>,
        scale_rows: &mut Tensor<F>,
        lead: &Tensor<F>,
        slope: InputScalar,
        #[comptime] lead_function: Function,
        #[define(F)] _type: ElemType,
    ) {
        let example = ABSOLUTE_POS;
        let (rows, features) = (upstream.shape(0), upstream.shape(1));
        if example < rows {
            let (base, column_stride) = (example * upstream.stride(0), upstream.stride(1));
            let count = F::cast_from(features);
            let mut total = F::new(0.0_f32);
            let mut correlation = F::new(0.0_f32);
            for feature in 0..features {
                let scaled = upstream[base + feature * column_stride] * gamma[feature];
                total += scaled;
                correlation += scaled * normalized[example * features + feature];
            }
            let (mean, correlation) = (total / count, correlation / count);
            let inverse = inverse_deviation[example];
            let slope = slope.get::<F>();
            for feature in 0..features {
                let at = example * features + feature;
                let gradient = upstream[base + feature * column_stride];
                let scaled = gradient * gamma[feature];
                let mut value = (scaled - mean - normalized[at] * correlation) * inverse;
                if comptime!(lead_function != Function::Identity) {
                    // Through the activation before the norm.
                    let read = lead[example * lead.stride(0) + feature * lead.stride(1)];
                    value *= derivative::<F>(read, slope, lead_function);
                }
                input_gradient[at] = value;
                scale_rows[at] = gradient * normalized[at];
            }
        }
    }
}

/// The deferred forward operation.
#[derive(Debug)]
struct ForwardOperation {
    epsilon: f64,
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
        let (input, gamma, beta) = (next(), next(), next());
        let (gamma, beta) = (into_contiguous(gamma), into_contiguous(beta));
        let client = input.client.clone();
        let float_type = input.dtype;
        let [rows, features] = input.meta.shape().dims::<2>();
        let (output, normalized) = (
            super::empty_like(&input, [rows, features]),
            super::empty_like(&input, [rows, features]),
        );
        let inverse_deviation = super::empty_like(&input, [rows, 1]);
        let form = self.form;
        let mask = form.masked.then(next);
        let tail = tail::Buffers::new(form, mask, &input, [rows, features]);
        let storage = dtype_to_storage_type(float_type);
        let (cube_count, cube_dim) = super::unit_each(rows);
        kernel::forward_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            input.into_tensor_arg(),
            gamma.into_tensor_arg(),
            beta.into_tensor_arg(),
            output.clone().into_tensor_arg(),
            normalized.clone().into_tensor_arg(),
            inverse_deviation.clone().into_tensor_arg(),
            tail.mask.clone().into_tensor_arg(),
            tail.activation_input.clone().into_tensor_arg(),
            tail.activation_output.clone().into_tensor_arg(),
            InputScalar::new(self.epsilon, storage),
            InputScalar::new(self.slope, storage),
            form,
            storage,
        );
        let mut written = vec![output, normalized, inverse_deviation];
        written.extend(tail.kept(form));
        for (ir, tensor) in self.outputs.iter().zip(written) {
            handles.register_float_tensor::<CubeBackend>(&ir.id, tensor);
        }
        Ok(())
    }
}

/// Layer norm's forward pass in training mode on `input` `[B, n]` with `gamma` and `beta`
/// `[1, n]`: the output through `tail` with what the tail keeps, `x̂` `[B, n]` and
/// `1/√(σ² + ε)` `[B, 1]`, in one kernel. The tensors must be on a device where
/// [`layer_norm_fits`] holds.
pub fn layer_norm_forward(
    epsilon: f64,
    input: Tensor<2>,
    gamma: Tensor<2>,
    beta: Tensor<2>,
    tail: Tail,
) -> (Tailed, Tensor<2>, Tensor<2>) {
    let [rows, features] = input.dims();
    let (form, slope) = (tail.form(), tail.slope);
    let mut inputs: Vec<super::Primitive> = [input, gamma, beta].map(super::primitive).into();
    inputs.extend(tail.mask.map(super::primitive));
    let batch = Shape::new([rows, features]);
    let mut shapes = vec![batch.clone(), batch.clone(), Shape::new([rows, 1])];
    shapes.extend(tail::kept_shapes(form, &batch));
    let shapes = shapes.into_iter().map(|shape| (shape, None)).collect();
    let written = super::register_all(
        "mlpc_layer_norm_forward",
        inputs,
        shapes,
        |inputs, outputs| ForwardOperation {
            epsilon,
            form,
            slope,
            inputs,
            outputs,
        },
    );
    let mut written = written.into_iter().map(Tensor::from_primitive::<Cube>);
    let mut next = || written.next().expect("each output was registered");
    let (output, normalized, inverse_deviation) = (next(), next(), next());
    let tailed = Tailed::from_outputs(form, output, &mut written);
    (tailed, normalized, inverse_deviation)
}

/// The deferred backward operation.
#[derive(Debug)]
struct BackwardOperation {
    /// The activation before the norm and its slope (`Identity` where none is applied).
    lead: (Function, f64),
    inputs: Vec<TensorIr>,
    outputs: [TensorIr; 2],
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
        let input_gradient = super::empty_like(&upstream, [rows, features]);
        let scale_rows = super::empty_like(&upstream, [rows, features]);
        let (cube_count, cube_dim) = super::unit_each(rows);
        kernel::backward_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            upstream.into_tensor_arg(),
            normalized.into_tensor_arg(),
            inverse_deviation.into_tensor_arg(),
            gamma.into_tensor_arg(),
            input_gradient.clone().into_tensor_arg(),
            scale_rows.clone().into_tensor_arg(),
            lead.into_tensor_arg(),
            InputScalar::new(slope, dtype_to_storage_type(float_type)),
            lead_function,
            dtype_to_storage_type(float_type),
        );
        handles.register_float_tensor::<CubeBackend>(&self.outputs[0].id, input_gradient);
        handles.register_float_tensor::<CubeBackend>(&self.outputs[1].id, scale_rows);
        Ok(())
    }
}

/// Layer norm's input gradient `[B, n]` and the rows `g x̂` `[B, n]` whose column sums are
/// `γ`'s gradient, from the gradient `upstream` (`g`) `[B, n]` of its output and what the
/// forward pass kept, in one kernel; the input's gradient through the derivative of the
/// activation before the norm where a `lead` is given. The tensors must be on a device where
/// [`layer_norm_fits`] holds.
pub fn layer_norm_backward(
    upstream: Tensor<2>,
    normalized: Tensor<2>,
    inverse_deviation: Tensor<2>,
    gamma: Tensor<2>,
    lead: Option<Lead>,
) -> (Tensor<2>, Tensor<2>) {
    let shape = Shape::new(upstream.dims());
    let mut inputs: Vec<super::Primitive> = [upstream, normalized, inverse_deviation, gamma]
        .map(super::primitive)
        .into();
    let lead = Lead::register(lead, &mut inputs);
    let written = super::register_all(
        "mlpc_layer_norm_backward",
        inputs,
        vec![(shape.clone(), None), (shape, None)],
        |inputs, outputs| {
            let Ok(outputs) = outputs.try_into() else {
                unreachable!("two outputs were asked for")
            };
            BackwardOperation {
                lead,
                inputs,
                outputs,
            }
        },
    );
    let Ok([input_gradient, scale_rows]) = <[super::Primitive; 2]>::try_from(written) else {
        unreachable!("burn-fusion registers each output of an operation")
    };
    (
        Tensor::from_primitive::<Cube>(input_gradient),
        Tensor::from_primitive::<Cube>(scale_rows),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Draws, relative_gap as gap, wgpu_device};
    use super::*;
    use burn::tensor::Distribution;

    /// Both kernels against the composed operations on wgpu (the formulas of
    /// [`super::super::super::layer`]): two features, a cube's worth of examples, more
    /// examples than a cube has units, and a transposed (not contiguous) input and upstream.
    #[test]
    fn the_layer_norm_kernels_match_the_composed_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        // Seeded, so every run draws the same numbers.
        let draws = Draws::new(6, &device);
        let epsilon = 1e-5;
        for (rows, features, transposed) in [
            (3, 2, false),
            (256, 64, false),
            (700, 300, false),
            (33, 5, true),
        ] {
            let random = |distribution: Distribution| match transposed {
                true => draws.tensor([features, rows], distribution).transpose(),
                false => draws.tensor([rows, features], distribution),
            };
            let input = random(Distribution::Normal(1.0, 3.0));
            let upstream = random(Distribution::Normal(0.0, 1.0));
            let row = |distribution| draws.tensor([1, features], distribution);
            let gamma = row(Distribution::Normal(1.0, 0.5));
            let beta = row(Distribution::Normal(0.0, 0.5));

            let (tailed, normalized, inverse_deviation) = layer_norm_forward(
                epsilon,
                input.clone(),
                gamma.clone(),
                beta.clone(),
                Tail::none(),
            );
            let output = tailed.output;
            let (input_gradient, scale_rows) = layer_norm_backward(
                upstream.clone(),
                normalized.clone(),
                inverse_deviation.clone(),
                gamma.clone(),
                None,
            );

            let mean = input.clone().mean_dim(1);
            let centered = input - mean;
            let variance = centered.clone().square().mean_dim(1);
            let inverse = variance.add_scalar(epsilon).sqrt().recip();
            let reference_normalized = centered * inverse.clone();
            let reference_output = reference_normalized.clone() * gamma.clone() + beta;
            let reference_scale_rows = upstream.clone() * reference_normalized.clone();
            let scaled = upstream * gamma;
            let scaled_mean = scaled.clone().mean_dim(1);
            let correlation = (scaled.clone() * reference_normalized.clone()).mean_dim(1);
            let reference_input_gradient =
                (scaled - scaled_mean - reference_normalized.clone() * correlation)
                    * inverse.clone();

            let gaps = [
                ("output", gap(output, reference_output)),
                ("normalized", gap(normalized, reference_normalized)),
                ("inverse deviation", gap(inverse_deviation, inverse)),
                (
                    "input's gradient",
                    gap(input_gradient, reference_input_gradient),
                ),
                ("γ's gradient rows", gap(scale_rows, reference_scale_rows)),
            ];
            for (name, value) in gaps {
                eprintln!("{rows} x {features}: {name} {value:.1e}");
                assert!(
                    value < 1e-5,
                    "{rows} x {features}: {name} differs by {value:e}"
                );
            }
        }
    }
}
