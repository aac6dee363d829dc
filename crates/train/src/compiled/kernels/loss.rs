//! A loss and its gradient in one kernel: the gradient of the batch's mean loss (times the
//! step's scale) and the batch's summed loss, as [`super::super::loss`] composes them from
//! tensor operations, for every loss mlpc trains with ([`Kind`]):
//! - softmax cross-entropy on logits, row by row: `∇[b, c] = (softmax(z_b)_c - [c = y_b]) · f`
//!   and `Σ_b (log Σ_c e^{z_bc - m_b} + m_b - z_{b y_b})` with `m_b` the row's maximum;
//! - the element-wise losses, with `r = z - t`: squared error (`r²`, `∇ = r · f`, the 2 in
//!   `f`'s multiplier), absolute error (`|r|`, `sign(r) · f`), Huber (`c(|r| - c/2)` with
//!   `c = min(|r|, δ)`, `clamp(r, ±δ) · f`), each summed over an example's outputs and divided by their number,
//!   and binary cross-entropy on a logit (`(1 - t) z - log σ(z)`, `(σ(z) - t) · f`).
//!
//! `f` is the scale read from the device (`[1, 1]`, the learning rate where a step folds it)
//! times a multiplier known when the step is built (`1/B`, `1/(B·O)`, `2/(B·O)`), so no kernel
//! scales the scale; a scale known when the step is built is multiplied into the multiplier
//! ([`Scale::Host`]), so no kernel fills a tensor with it.
//!
//! `z` may be a product whose bias the kernel adds as it reads it (`z = x W + b`, the output
//! layer's bias handed in): where the product has one column burn-fusion runs it as a plain
//! matrix-vector product and would add the bias in a kernel of its own.
//!
//! One cube of [`UNITS`] units takes the whole batch: rows (or elements) are strided over the
//! units, each unit keeps its share of the loss, and the cube sums them in shared memory, so
//! the summed loss needs no second kernel. A replayed step's variant ([`tallied_loss`]) also
//! does the step's bookkeeping: the summed loss added into the step's slot of the segment's
//! loss vector and the step counter advanced (nothing after the loss reads the counter, the
//! step's lines having been fetched first).

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{Int, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;

use super::tail::Function;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::CubeDim;
use cubecl::prelude::{CubeCount, InputScalar};

/// Units of the one cube: a power of two (the shared-memory sum halves it), no more than any
/// device allows in one cube.
const UNITS: usize = 256;

/// The loss a kernel computes, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Softmax cross-entropy on logits `[B, C]`, class indices `[B]`.
    CrossEntropy,
    /// Binary cross-entropy on logits `[B, 1]`, classes (0 or 1) `[B, 1]`.
    BinaryCrossEntropy,
    /// Squared error on outputs and values `[B, O]`.
    SquaredError,
    /// Absolute error on outputs and values `[B, O]`.
    AbsoluteError,
    /// Huber's loss on outputs and values `[B, O]`, with its `δ`.
    Huber,
}

impl Kind {
    /// Whether the targets are class indices (integers), else values.
    fn reads_classes(self) -> bool {
        match self {
            Kind::CrossEntropy | Kind::BinaryCrossEntropy => true,
            Kind::SquaredError | Kind::AbsoluteError | Kind::Huber => false,
        }
    }
}

/// The numbers a loss kernel reads besides its tensors, known when the step is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Multipliers {
    /// Multiplies the scale into each gradient element's factor `f` (`1/B`, `1/(B·O)`,
    /// `2/(B·O)`).
    pub gradient: f64,
    /// Multiplies the summed loss (`1/O` for the element-wise regression losses, else 1).
    pub sum: f64,
    /// Huber's `δ` (unused by the other losses).
    pub delta: f64,
    /// The rows the loss counts, the first ones: all of the batch's, or fewer where a short
    /// batch was padded to the full batch's shape (the padding rows add no loss and get a zero
    /// gradient; the multipliers are then over the rows counted).
    pub counted: usize,
}

/// The kernels, in a module of their own: cubecl's prelude has its own `Tensor` and `Int`.
mod kernel {
    use super::super::tail::Function;
    use super::super::tail::kernel::{activate, derivative_from_output};
    use super::{Kind, Reading};
    use cubecl::prelude::*;

    /// The output at `base + column · column_stride`, plus the bias at `column` and through
    /// the output activation where `reading.biased` (the output layer's bias and activation,
    /// applied here rather than by a kernel of their own).
    #[cube]
    fn logit<F: Float>(
        outputs: &Tensor<F>,
        bias: &Tensor<F>,
        base: usize,
        column: usize,
        column_stride: usize,
        #[comptime] reading: Reading,
    ) -> F {
        let value = outputs[base + column * column_stride];
        if comptime!(reading.biased) {
            activate::<F>(
                value + bias[column * bias.stride(1)],
                F::new(0.0_f32),
                reading.function,
            )
        } else {
            value
        }
    }

    /// Unit `unit`'s share of the summed loss of softmax cross-entropy, its rows' gradient
    /// written (times `scale`).
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn cross_entropy_rows<F: Float, I: Numeric>(
        logits: &Tensor<F>,
        bias: &Tensor<F>,
        classes: &Tensor<I>,
        scale: F,
        gradient: &mut Tensor<F>,
        counted: usize,
        unit: usize,
        stride: usize,
        #[comptime] reading: Reading,
    ) -> F {
        let rows = logits.shape(0);
        let width = logits.shape(1);
        let (row_stride, column_stride) = (logits.stride(0), logits.stride(1));
        let (gradient_row_stride, gradient_column_stride) =
            (gradient.stride(0), gradient.stride(1));
        let mut accumulated = F::new(0.0_f32);
        let mut row = unit;
        while row < counted {
            let base = row * row_stride;
            let mut top = logit::<F>(logits, bias, base, 0, column_stride, reading);
            for column in 1..width {
                top = F::max(
                    top,
                    logit::<F>(logits, bias, base, column, column_stride, reading),
                );
            }
            let mut total = F::new(0.0_f32);
            for column in 0..width {
                total +=
                    (logit::<F>(logits, bias, base, column, column_stride, reading) - top).exp();
            }
            let class = usize::cast_from(classes[row * classes.stride(0)]);
            for column in 0..width {
                let mut value =
                    (logit::<F>(logits, bias, base, column, column_stride, reading) - top).exp()
                        / total;
                if column == class {
                    value -= F::new(1.0_f32);
                }
                gradient[row * gradient_row_stride + column * gradient_column_stride] =
                    value * scale;
            }
            accumulated +=
                total.ln() - (logit::<F>(logits, bias, base, class, column_stride, reading) - top);
            row += stride;
        }
        // Padding rows (from `counted` on): no loss, a zero gradient.
        while row < rows {
            for column in 0..width {
                gradient[row * gradient_row_stride + column * gradient_column_stride] =
                    F::new(0.0_f32);
            }
            row += stride;
        }
        accumulated
    }

    /// Unit `unit`'s share of the summed loss of an element-wise loss (`kind`), its
    /// elements' gradient written (times `scale`).
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn element_losses<F: Float, I: Numeric>(
        outputs: &Tensor<F>,
        bias: &Tensor<F>,
        targets: &Tensor<I>,
        scale: F,
        delta: F,
        gradient: &mut Tensor<F>,
        counted: usize,
        unit: usize,
        stride: usize,
        #[comptime] kind: Kind,
        #[comptime] reading: Reading,
    ) -> F {
        let width = outputs.shape(1);
        let count = counted * width;
        let mut accumulated = F::new(0.0_f32);
        let mut element = unit;
        while element < count {
            let (row, column) = (element / width, element % width);
            let output = logit::<F>(
                outputs,
                bias,
                row * outputs.stride(0),
                column,
                outputs.stride(1),
                reading,
            );
            let target =
                F::cast_from(targets[row * targets.stride(0) + column * targets.stride(1)]);
            let mut derivative = F::new(0.0_f32);
            if comptime!(kind == Kind::BinaryCrossEntropy) {
                // (1 - t) z - log σ(z), with log σ(z) = min(z, 0) - log(1 + e^{-|z|}).
                let log_sigmoid = F::min(output, F::new(0.0_f32))
                    - (F::new(1.0_f32) + (-F::abs(output)).exp()).ln();
                accumulated += (F::new(1.0_f32) - target) * output - log_sigmoid;
                derivative = F::new(1.0_f32) / (F::new(1.0_f32) + (-output).exp()) - target;
            } else {
                let residual = output - target;
                if comptime!(kind == Kind::SquaredError) {
                    accumulated += residual * residual;
                    derivative = residual;
                } else if comptime!(kind == Kind::AbsoluteError) {
                    accumulated += F::abs(residual);
                    if residual > F::new(0.0_f32) {
                        derivative = F::new(1.0_f32);
                    } else if residual < F::new(0.0_f32) {
                        derivative = F::new(-1.0_f32);
                    }
                } else {
                    let size = F::abs(residual);
                    let clipped = F::min(size, delta);
                    accumulated += clipped * (size - clipped * F::new(0.5_f32));
                    derivative = F::clamp(residual, -delta, delta);
                }
            }
            if comptime!(reading.function != Function::Identity) {
                // Through the output activation, its derivative read from its output.
                derivative *= derivative_from_output::<F>(output, reading.function);
            }
            let at = row * gradient.stride(0) + column * gradient.stride(1);
            gradient[at] = derivative * scale;
            element += stride;
        }
        // Padding rows (from `counted` on): no loss, a zero gradient.
        let all = outputs.shape(0) * width;
        while element < all {
            let (row, column) = (element / width, element % width);
            let at = row * gradient.stride(0) + column * gradient.stride(1);
            gradient[at] = F::new(0.0_f32);
            element += stride;
        }
        accumulated
    }

    /// Writes `gradient` `[B, O]` from `outputs` `[B, O]`, `targets` and the scale `factor`
    /// (one element, times `multiplier`), and returns the batch's summed loss times
    /// `sum_multiplier`, valid on unit 0; one cube of `units` units.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn gradient_and_sum<F: Float, I: Numeric>(
        outputs: &Tensor<F>,
        bias: &Tensor<F>,
        targets: &Tensor<I>,
        factor: &Tensor<F>,
        multiplier: InputScalar,
        sum_multiplier: InputScalar,
        delta: InputScalar,
        counted: usize,
        gradient: &mut Tensor<F>,
        #[comptime] units: usize,
        #[comptime] kind: Kind,
        #[comptime] reading: Reading,
        #[comptime] device_scale: bool,
    ) -> F {
        let unit = UNIT_POS as usize;
        let scale = if comptime!(device_scale) {
            factor[0] * multiplier.get::<F>()
        } else {
            multiplier.get::<F>()
        };
        let mut partial = Shared::<[F]>::new_slice(units);
        // The stride between a unit's rows, as a runtime value (the shared-memory sum below
        // fails to compile from a comptime one).
        let stride = CUBE_DIM as usize;
        let accumulated = if comptime!(kind == Kind::CrossEntropy) {
            cross_entropy_rows::<F, I>(
                outputs, bias, targets, scale, gradient, counted, unit, stride, reading,
            )
        } else {
            element_losses::<F, I>(
                outputs,
                bias,
                targets,
                scale,
                delta.get::<F>(),
                gradient,
                counted,
                unit,
                stride,
                kind,
                reading,
            )
        };
        partial[unit] = accumulated;
        sync_cube();
        let mut half = stride / 2;
        while half > 0 {
            if unit < half {
                let other = partial[unit + half];
                partial[unit] += other;
            }
            sync_cube();
            half /= 2;
        }
        partial[0] * sum_multiplier.get::<F>()
    }

    /// Writes `gradient` and the summed loss `loss` `[1]`.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn loss_kernel<F: Float, I: Numeric>(
        outputs: &Tensor<F>,
        bias: &Tensor<F>,
        targets: &Tensor<I>,
        factor: &Tensor<F>,
        multiplier: InputScalar,
        sum_multiplier: InputScalar,
        delta: InputScalar,
        counted: usize,
        gradient: &mut Tensor<F>,
        loss: &mut Tensor<F>,
        #[comptime] units: usize,
        #[comptime] kind: Kind,
        #[comptime] reading: Reading,
        #[comptime] device_scale: bool,
        #[define(F, I)] _types: [ElemType; 2],
    ) {
        let sum = gradient_and_sum::<F, I>(
            outputs,
            bias,
            targets,
            factor,
            multiplier,
            sum_multiplier,
            delta,
            counted,
            gradient,
            units,
            kind,
            reading,
            device_scale,
        );
        if UNIT_POS == 0 {
            loss[0] = sum;
        }
    }

    /// Writes `gradient` as [`loss_kernel`] does, adds the summed loss into
    /// `losses[counter[0]]` and advances `counter[0]` by one.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn tallied_loss_kernel<F: Float, I: Numeric, C: Int>(
        outputs: &Tensor<F>,
        bias: &Tensor<F>,
        targets: &Tensor<I>,
        factor: &Tensor<F>,
        multiplier: InputScalar,
        sum_multiplier: InputScalar,
        delta: InputScalar,
        counted: usize,
        gradient: &mut Tensor<F>,
        losses: &mut Tensor<F>,
        counter: &mut Tensor<C>,
        #[comptime] units: usize,
        #[comptime] kind: Kind,
        #[comptime] reading: Reading,
        #[comptime] device_scale: bool,
        #[define(F, I, C)] _types: [ElemType; 3],
    ) {
        let sum = gradient_and_sum::<F, I>(
            outputs,
            bias,
            targets,
            factor,
            multiplier,
            sum_multiplier,
            delta,
            counted,
            gradient,
            units,
            kind,
            reading,
            device_scale,
        );
        if UNIT_POS == 0 {
            let step = counter[0];
            let slot = usize::cast_from(step) * losses.stride(0);
            losses[slot] += sum;
            counter[0] = step + C::new(1);
        }
    }
}

/// Where the kernel puts the batch's summed loss.
// Made once a launch and matched at once: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Sum {
    /// In a new one-element tensor.
    Returned,
    /// Added into `losses` at `counter`, which is advanced (both written in place).
    Tallied {
        losses: CubeTensor,
        counter: CubeTensor,
    },
}

/// What a loss operation computes, besides its tensors.
#[derive(Debug, Clone, Copy)]
struct Setting {
    kind: Kind,
    multipliers: Multipliers,
    output: Function,
}

/// How the kernel reads the outputs, compiled in: with the output layer's bias (then through
/// the output activation too), and the output activation whose derivative it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Reading {
    biased: bool,
    function: Function,
}

/// The kernel on cubecl's own tensors (what the fusion operations run): the gradient, and the
/// summed loss where [`Sum::Returned`], else the loss vector and the counter written.
fn launch(
    setting: Setting,
    outputs: CubeTensor,
    bias: Option<CubeTensor>,
    targets: CubeTensor,
    factor: Option<CubeTensor>,
    sum: Sum,
) -> (CubeTensor, Vec<CubeTensor>) {
    // The kernel reads outputs and targets through their strides; the factor is one element.
    let factor = factor.map(into_contiguous);
    let [rows, width] = outputs.meta.shape().dims::<2>();
    let client = outputs.client.clone();
    let (float_type, target_type) = (outputs.dtype, targets.dtype);
    let float_storage = dtype_to_storage_type(float_type);
    let gradient = super::empty_like(&outputs, [rows, width]);
    let Multipliers {
        gradient: multiplier,
        sum: sum_multiplier,
        delta,
        counted,
    } = setting.multipliers;
    let counted = counted.min(rows);
    let scalar = |value: f64| InputScalar::new(value, float_storage);
    // Without a bias or a factor the kernel reads none: an unwritten element stands in.
    let (biased, device_scale) = (bias.is_some(), factor.is_some());
    let reading = Reading {
        biased,
        function: setting.output,
    };
    let bias = bias.unwrap_or_else(|| super::empty_like(&outputs, [1, 1]));
    let factor = factor.unwrap_or_else(|| super::empty_like(&outputs, [1, 1]));
    let (cubes, units) = (CubeCount::Static(1, 1, 1), CubeDim::new_1d(UNITS as u32));
    let written = match sum {
        Sum::Returned => {
            let loss = super::empty_like(&outputs, [1]);
            kernel::loss_kernel::launch(
                &client,
                cubes,
                units,
                outputs.into_tensor_arg(),
                bias.into_tensor_arg(),
                targets.into_tensor_arg(),
                factor.into_tensor_arg(),
                scalar(multiplier),
                scalar(sum_multiplier),
                scalar(delta),
                counted,
                gradient.clone().into_tensor_arg(),
                loss.clone().into_tensor_arg(),
                UNITS,
                setting.kind,
                reading,
                device_scale,
                [float_storage, dtype_to_storage_type(target_type)],
            );
            vec![loss]
        }
        Sum::Tallied { losses, counter } => {
            let (losses, counter) = (super::writable(losses), super::writable(counter));
            let counter_type = counter.dtype;
            kernel::tallied_loss_kernel::launch(
                &client,
                cubes,
                units,
                outputs.into_tensor_arg(),
                bias.into_tensor_arg(),
                targets.into_tensor_arg(),
                factor.into_tensor_arg(),
                scalar(multiplier),
                scalar(sum_multiplier),
                scalar(delta),
                counted,
                gradient.clone().into_tensor_arg(),
                losses.clone().into_tensor_arg(),
                counter.clone().into_tensor_arg(),
                UNITS,
                setting.kind,
                reading,
                device_scale,
                [
                    float_storage,
                    dtype_to_storage_type(target_type),
                    dtype_to_storage_type(counter_type),
                ],
            );
            vec![losses, counter]
        }
    };
    (gradient, written)
}

impl Reads {
    /// The tensors from burn-fusion's handles: the outputs, the bias if any, the targets and
    /// the factor.
    fn tensors(
        &self,
        setting: Setting,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> (
        CubeTensor,
        Option<CubeTensor>,
        CubeTensor,
        Option<CubeTensor>,
    ) {
        let outputs = handles.get_float_tensor::<CubeBackend>(&self.outputs);
        let bias = self
            .bias
            .as_ref()
            .map(|bias| handles.get_float_tensor::<CubeBackend>(bias));
        let targets = targets_of(setting, handles, &self.targets);
        let factor = self
            .factor
            .as_ref()
            .map(|factor| handles.get_float_tensor::<CubeBackend>(factor));
        (outputs, bias, targets, factor)
    }
}

/// The targets as the operation reads them from burn-fusion's handles.
fn targets_of(
    setting: Setting,
    handles: &mut HandleContainer<CubeFusionHandle>,
    targets: &TensorIr,
) -> CubeTensor {
    match setting.kind.reads_classes() {
        true => handles.get_int_tensor::<CubeBackend>(targets),
        false => handles.get_float_tensor::<CubeBackend>(targets),
    }
}

/// The deferred operation burn-fusion runs in stream order.
#[derive(Debug)]
struct Loss {
    setting: Setting,
    reads: Reads,
    gradient: TensorIr,
    loss: TensorIr,
}

impl Operation<FusionCubeRuntime> for Loss {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let (outputs, bias, targets, factor) = self.reads.tensors(self.setting, handles);
        let (gradient, mut written) =
            launch(self.setting, outputs, bias, targets, factor, Sum::Returned);
        handles.register_float_tensor::<CubeBackend>(&self.gradient.id, gradient);
        let loss = written.pop().expect("the kernel returns the loss");
        handles.register_float_tensor::<CubeBackend>(&self.loss.id, loss);
        Ok(())
    }
}

/// The deferred operation of the tallied variant.
#[derive(Debug)]
struct TalliedLoss {
    setting: Setting,
    reads: Reads,
    losses: TensorIr,
    counter: TensorIr,
    gradient: TensorIr,
    new_losses: TensorIr,
    new_counter: TensorIr,
}

impl Operation<FusionCubeRuntime> for TalliedLoss {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let (outputs, bias, targets, factor) = self.reads.tensors(self.setting, handles);
        let losses = handles.get_float_tensor::<CubeBackend>(&self.losses);
        let counter = handles.get_int_tensor::<CubeBackend>(&self.counter);
        let (gradient, written) = launch(
            self.setting,
            outputs,
            bias,
            targets,
            factor,
            Sum::Tallied { losses, counter },
        );
        let Ok([losses, counter]) = <[CubeTensor; 2]>::try_from(written) else {
            unreachable!("the tallied kernel writes the loss vector and the counter")
        };
        handles.register_float_tensor::<CubeBackend>(&self.gradient.id, gradient);
        handles.register_float_tensor::<CubeBackend>(&self.new_losses.id, losses);
        handles.register_int_tensor::<CubeBackend>(&self.new_counter.id, counter);
        Ok(())
    }
}

/// A loss's targets, as its kernel takes them.
pub enum Targets {
    /// Class indices `[B]` (reshaped to `[B, 1]` for binary cross-entropy).
    Classes(Tensor<1, Int>),
    /// Values `[B, O]`.
    Values(Tensor<2>),
}

impl Targets {
    /// The targets' primitive, `[B, 1]` for binary cross-entropy's classes.
    fn primitive(self, kind: Kind) -> super::Primitive {
        match self {
            Targets::Classes(classes) => match kind {
                Kind::BinaryCrossEntropy => {
                    let [batch] = classes.dims();
                    super::int_primitive(classes.reshape([batch, 1]))
                }
                Kind::CrossEntropy | Kind::SquaredError | Kind::AbsoluteError | Kind::Huber => {
                    super::int_primitive(classes)
                }
            },
            Targets::Values(values) => super::primitive(values),
        }
    }
}

/// The descriptions of what a loss kernel reads besides the tallied variant's loss vector
/// and counter.
#[derive(Debug)]
struct Reads {
    outputs: TensorIr,
    bias: Option<TensorIr>,
    targets: TensorIr,
    factor: Option<TensorIr>,
}

impl Reads {
    /// The primitives to register, in the order [`Reads::take`] takes their descriptions:
    /// the outputs, the targets, and the factor and the bias if any.
    fn primitives(
        kind: Kind,
        outputs: Tensor<2>,
        bias: Option<Tensor<2>>,
        targets: Targets,
        scale: Scale,
    ) -> Vec<super::Primitive> {
        let mut inputs = vec![super::primitive(outputs), targets.primitive(kind)];
        if let Scale::Device(factor) = scale {
            inputs.push(super::primitive(factor));
        }
        inputs.extend(bias.map(super::primitive));
        inputs
    }

    /// The descriptions from the front of `inputs`, registered as [`Reads::primitives`] gave
    /// them (`biased`: with a bias; `device_scale`: with a factor).
    fn take(inputs: &mut std::vec::IntoIter<TensorIr>, biased: bool, device_scale: bool) -> Reads {
        let mut next = || inputs.next().expect("each read was registered");
        let (outputs, targets) = (next(), next());
        let factor = device_scale.then(&mut next);
        let bias = biased.then(next);
        Reads {
            outputs,
            bias,
            targets,
            factor,
        }
    }
}

/// The scale a loss kernel multiplies into the gradient, besides the multiplier.
// Made once a call and matched at once: its size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Scale {
    /// A number known when the step is built: multiplied into the multiplier, no tensor read.
    Host(f64),
    /// One element `[1, 1]` on the device (the learning rate where a step folds it).
    Device(Tensor<2>),
}

impl Scale {
    /// The setting with a host scale multiplied in, and whether the kernel reads a factor.
    fn setting(&self, kind: Kind, multipliers: Multipliers, output: Function) -> (Setting, bool) {
        let (gradient, device_scale) = match self {
            Scale::Host(scale) => (multipliers.gradient * scale, false),
            Scale::Device(_) => (multipliers.gradient, true),
        };
        let multipliers = Multipliers {
            gradient,
            ..multipliers
        };
        let setting = Setting {
            kind,
            multipliers,
            output,
        };
        (setting, device_scale)
    }
}

/// The gradient `[B, O]` (the `scale` times the multiplier folded in) and the summed loss
/// `[1]` of `kind` on `outputs` `[B, O]` plus `bias` `[1, O]`
/// where given (the output layer's bias, added in the kernel rather than by a kernel of its
/// own) for `targets`, in one kernel. The tensors must be on a device where
/// [`super::available`] holds.
pub fn loss(
    kind: Kind,
    multipliers: Multipliers,
    outputs: Tensor<2>,
    bias: Option<Tensor<2>>,
    output: Function,
    targets: Targets,
    scale: Scale,
) -> (Tensor<2>, Tensor<1>) {
    let (setting, device_scale) = scale.setting(kind, multipliers, output);
    let [rows, width] = outputs.dims();
    let biased = bias.is_some();
    let inputs = Reads::primitives(kind, outputs, bias, targets, scale);
    let shapes = vec![(Shape::new([rows, width]), None), (Shape::new([1]), None)];
    let written = super::register_all("mlpc_loss", inputs, shapes, |inputs, outputs| {
        let reads = Reads::take(&mut inputs.into_iter(), biased, device_scale);
        let Ok([gradient, loss]) = <[TensorIr; 2]>::try_from(outputs) else {
            unreachable!("two outputs were asked for")
        };
        Loss {
            setting,
            reads,
            gradient,
            loss,
        }
    });
    let Ok([gradient, loss]) = <[super::Primitive; 2]>::try_from(written) else {
        unreachable!("burn-fusion registers each output of an operation")
    };
    (
        Tensor::from_primitive::<Cube>(gradient),
        Tensor::from_primitive::<Cube>(loss),
    )
}

/// [`loss`]'s gradient, with the summed loss added into `losses` `[S]` at `counter` `[1]` and
/// the counter advanced by one, in the same kernel (a replayed step's bookkeeping): the
/// gradient, the loss vector and the counter, the last two written into their own buffers
/// where they have no other owner.
#[allow(clippy::too_many_arguments)]
pub fn tallied_loss(
    kind: Kind,
    multipliers: Multipliers,
    outputs: Tensor<2>,
    bias: Option<Tensor<2>>,
    output: Function,
    targets: Targets,
    scale: Scale,
    losses: Tensor<1>,
    counter: Tensor<1, Int>,
) -> (Tensor<2>, Tensor<1>, Tensor<1, Int>) {
    let (setting, device_scale) = scale.setting(kind, multipliers, output);
    let [rows, width] = outputs.dims();
    let biased = bias.is_some();
    let mut inputs = Reads::primitives(kind, outputs, bias, targets, scale);
    let (losses, counter) = (super::primitive(losses), super::int_primitive(counter));
    let shapes = vec![
        (Shape::new([rows, width]), None),
        (losses.shape.clone(), None),
        (Shape::new([1]), Some(counter.dtype)),
    ];
    inputs.extend([losses, counter]);
    let written = super::register_all("mlpc_tallied_loss", inputs, shapes, |inputs, outputs| {
        let mut inputs = inputs.into_iter();
        let reads = Reads::take(&mut inputs, biased, device_scale);
        let (Some(losses), Some(counter)) = (inputs.next(), inputs.next()) else {
            unreachable!("the loss vector and the counter follow the reads")
        };
        let Ok([gradient, new_losses, new_counter]) = <[TensorIr; 3]>::try_from(outputs) else {
            unreachable!("three outputs were asked for")
        };
        TalliedLoss {
            setting,
            reads,
            losses,
            counter,
            gradient,
            new_losses,
            new_counter,
        }
    });
    let Ok([gradient, losses, counter]) = <[super::Primitive; 3]>::try_from(written) else {
        unreachable!("burn-fusion registers each output of an operation")
    };
    (
        Tensor::from_primitive::<Cube>(gradient),
        Tensor::from_primitive::<Cube>(losses),
        Tensor::from_primitive::<Cube>(counter),
    )
}
