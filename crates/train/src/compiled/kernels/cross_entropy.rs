//! Softmax cross-entropy on logits in one kernel: the gradient of the batch's loss and the
//! batch's summed loss, `∇[b, c] = (softmax(z_b)_c - [c = y_b]) · factor` and
//! `Σ_b (log Σ_c e^{z_bc - m_b} + m_b - z_{b y_b})` with `m_b` the row's maximum, as
//! [`super::super::loss`] composes them from tensor operations.
//!
//! One cube of [`UNITS`] units takes the whole batch: rows are strided over the units (a
//! classifier's rows are short), each unit keeps its rows' loss, and the cube sums them in
//! shared memory, so the summed loss needs no second kernel. A replayed step's variant
//! ([`tallied_softmax_cross_entropy`]) also does the step's bookkeeping that
//! [`super::tally`] does for other losses: the summed loss added into the step's slot of the
//! segment's loss vector and the step counter advanced (one launch fewer a step; nothing after
//! the loss reads the counter, the step's lines having been fetched first).

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{Int, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::CubeDim;
use cubecl::prelude::CubeCount;

/// Units of the one cube: a power of two (the shared-memory sum halves it), no more than any
/// device allows in one cube.
const UNITS: usize = 256;

/// The kernel, in a module of its own: cubecl's prelude has its own `Tensor` and `Int`.
mod kernel {
    use cubecl::prelude::*;

    /// Writes `gradient` `[B, C]` from `logits` `[B, C]`, `classes` `[B]` and `factor` (one
    /// element) and returns the batch's summed loss, valid on unit 0; one cube of `units`
    /// units.
    #[cube]
    fn gradient_and_sum<F: Float, I: Numeric>(
        logits: &Tensor<F>,
        classes: &Tensor<I>,
        factor: &Tensor<F>,
        gradient: &mut Tensor<F>,
        #[comptime] units: usize,
    ) -> F {
        let unit = UNIT_POS as usize;
        let rows = logits.shape(0);
        let width = logits.shape(1);
        let scale = factor[0];
        let mut partial = Shared::<[F]>::new_slice(units);
        // The stride between a unit's rows, as a runtime value (the shared-memory sum below
        // fails to compile from a comptime one).
        let stride = CUBE_DIM as usize;
        let (row_stride, column_stride) = (logits.stride(0), logits.stride(1));
        let (gradient_row_stride, gradient_column_stride) =
            (gradient.stride(0), gradient.stride(1));
        let mut accumulated = F::new(0.0_f32);
        let mut row = unit;
        while row < rows {
            let base = row * row_stride;
            let mut top = logits[base];
            for column in 1..width {
                top = F::max(top, logits[base + column * column_stride]);
            }
            let mut total = F::new(0.0_f32);
            for column in 0..width {
                total += (logits[base + column * column_stride] - top).exp();
            }
            let class = usize::cast_from(classes[row * classes.stride(0)]);
            for column in 0..width {
                let mut value = (logits[base + column * column_stride] - top).exp() / total;
                if column == class {
                    value -= F::new(1.0_f32);
                }
                gradient[row * gradient_row_stride + column * gradient_column_stride] =
                    value * scale;
            }
            accumulated += total.ln() - (logits[base + class * column_stride] - top);
            row += stride;
        }
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
        partial[0]
    }

    /// Writes `gradient` `[B, C]` and `loss` `[1]` from `logits` `[B, C]`, `classes` `[B]`
    /// and `factor` (one element); one cube of `units` units.
    #[cube(launch)]
    pub fn softmax_cross_entropy_kernel<F: Float, I: Numeric>(
        logits: &Tensor<F>,
        classes: &Tensor<I>,
        factor: &Tensor<F>,
        gradient: &mut Tensor<F>,
        loss: &mut Tensor<F>,
        #[comptime] units: usize,
        #[define(F, I)] _types: [ElemType; 2],
    ) {
        let sum = gradient_and_sum::<F, I>(logits, classes, factor, gradient, units);
        if UNIT_POS == 0 {
            loss[0] = sum;
        }
    }

    /// Writes `gradient` as [`softmax_cross_entropy_kernel`] does, adds the summed loss into
    /// `losses[counter[0]]` and advances `counter[0]` by one.
    #[cube(launch)]
    pub fn tallied_softmax_cross_entropy_kernel<F: Float, I: Numeric, C: Int>(
        logits: &Tensor<F>,
        classes: &Tensor<I>,
        factor: &Tensor<F>,
        gradient: &mut Tensor<F>,
        losses: &mut Tensor<F>,
        counter: &mut Tensor<C>,
        #[comptime] units: usize,
        #[define(F, I, C)] _types: [ElemType; 3],
    ) {
        let sum = gradient_and_sum::<F, I>(logits, classes, factor, gradient, units);
        if UNIT_POS == 0 {
            let step = counter[0];
            let slot = usize::cast_from(step) * losses.stride(0);
            losses[slot] += sum;
            counter[0] = step + C::new(1);
        }
    }
}

/// Where the kernel puts the batch's summed loss.
enum Sum {
    /// In a new one-element tensor.
    Returned,
    /// Added into `losses` at `counter`, which is advanced (both written in place).
    Tallied {
        losses: CubeTensor,
        counter: CubeTensor,
    },
}

/// The kernel on cubecl's own tensors (what the fusion operations run): the gradient, and the
/// summed loss where [`Sum::Returned`], else the loss vector and the counter written.
fn launch(
    logits: CubeTensor,
    classes: CubeTensor,
    factor: CubeTensor,
    sum: Sum,
) -> (CubeTensor, Vec<CubeTensor>) {
    // The kernel reads logits and classes through their strides; the factor is one element.
    let factor = into_contiguous(factor);
    let [rows, width] = logits.meta.shape().dims::<2>();
    let client = logits.client.clone();
    let device = logits.device.clone();
    let (float_type, int_type) = (logits.dtype, classes.dtype);
    let gradient = empty_device_dtype(
        client.clone(),
        device.clone(),
        Shape::new([rows, width]),
        float_type,
    );
    let (cubes, units) = (CubeCount::Static(1, 1, 1), CubeDim::new_1d(UNITS as u32));
    let written = match sum {
        Sum::Returned => {
            let loss = empty_device_dtype(client.clone(), device, Shape::new([1]), float_type);
            kernel::softmax_cross_entropy_kernel::launch(
                &client,
                cubes,
                units,
                logits.into_tensor_arg(),
                classes.into_tensor_arg(),
                factor.into_tensor_arg(),
                gradient.clone().into_tensor_arg(),
                loss.clone().into_tensor_arg(),
                UNITS,
                [
                    dtype_to_storage_type(float_type),
                    dtype_to_storage_type(int_type),
                ],
            );
            vec![loss]
        }
        Sum::Tallied { losses, counter } => {
            let (losses, counter) = (super::writable(losses), super::writable(counter));
            let counter_type = counter.dtype;
            kernel::tallied_softmax_cross_entropy_kernel::launch(
                &client,
                cubes,
                units,
                logits.into_tensor_arg(),
                classes.into_tensor_arg(),
                factor.into_tensor_arg(),
                gradient.clone().into_tensor_arg(),
                losses.clone().into_tensor_arg(),
                counter.clone().into_tensor_arg(),
                UNITS,
                [
                    dtype_to_storage_type(float_type),
                    dtype_to_storage_type(int_type),
                    dtype_to_storage_type(counter_type),
                ],
            );
            vec![losses, counter]
        }
    };
    (gradient, written)
}

/// The deferred operation burn-fusion runs in stream order.
#[derive(Debug)]
struct SoftmaxCrossEntropy {
    logits: TensorIr,
    classes: TensorIr,
    factor: TensorIr,
    gradient: TensorIr,
    loss: TensorIr,
}

impl Operation<FusionCubeRuntime> for SoftmaxCrossEntropy {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let logits = handles.get_float_tensor::<CubeBackend>(&self.logits);
        let classes = handles.get_int_tensor::<CubeBackend>(&self.classes);
        let factor = handles.get_float_tensor::<CubeBackend>(&self.factor);
        let (gradient, mut written) = launch(logits, classes, factor, Sum::Returned);
        handles.register_float_tensor::<CubeBackend>(&self.gradient.id, gradient);
        let loss = written.pop().expect("the kernel returns the loss");
        handles.register_float_tensor::<CubeBackend>(&self.loss.id, loss);
        Ok(())
    }
}

/// The deferred operation of the tallied variant.
#[derive(Debug)]
struct TalliedSoftmaxCrossEntropy {
    logits: TensorIr,
    classes: TensorIr,
    factor: TensorIr,
    losses: TensorIr,
    counter: TensorIr,
    gradient: TensorIr,
    new_losses: TensorIr,
    new_counter: TensorIr,
}

impl Operation<FusionCubeRuntime> for TalliedSoftmaxCrossEntropy {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let logits = handles.get_float_tensor::<CubeBackend>(&self.logits);
        let classes = handles.get_int_tensor::<CubeBackend>(&self.classes);
        let factor = handles.get_float_tensor::<CubeBackend>(&self.factor);
        let losses = handles.get_float_tensor::<CubeBackend>(&self.losses);
        let counter = handles.get_int_tensor::<CubeBackend>(&self.counter);
        let (gradient, written) = launch(logits, classes, factor, Sum::Tallied { losses, counter });
        let Ok([losses, counter]) = <[CubeTensor; 2]>::try_from(written) else {
            unreachable!("the tallied kernel writes the loss vector and the counter")
        };
        handles.register_float_tensor::<CubeBackend>(&self.gradient.id, gradient);
        handles.register_float_tensor::<CubeBackend>(&self.new_losses.id, losses);
        handles.register_int_tensor::<CubeBackend>(&self.new_counter.id, counter);
        Ok(())
    }
}

/// The gradient `[B, C]` (times `factor`, one element `[1, 1]`) and the summed loss `[1]` of
/// softmax cross-entropy on `logits` `[B, C]` for `classes` `[B]`, in one kernel. The tensors
/// must be on a device where [`super::available`] holds.
pub fn softmax_cross_entropy(
    logits: Tensor<2>,
    classes: Tensor<1, Int>,
    factor: Tensor<2>,
) -> (Tensor<2>, Tensor<1>) {
    let (logits, classes, factor) = (
        super::primitive(logits),
        super::int_primitive(classes),
        super::primitive(factor),
    );
    let [rows, width] = logits.shape.dims::<2>();
    let outputs = [(Shape::new([rows, width]), None), (Shape::new([1]), None)];
    let [gradient, loss] = super::register(
        "mlpc_softmax_cross_entropy",
        [logits, classes, factor],
        outputs,
        |[logits, classes, factor], [gradient, loss]| SoftmaxCrossEntropy {
            logits,
            classes,
            factor,
            gradient,
            loss,
        },
    );
    (
        Tensor::from_primitive::<Cube>(gradient),
        Tensor::from_primitive::<Cube>(loss),
    )
}

/// [`softmax_cross_entropy`]'s gradient, with the summed loss added into `losses` `[S]` at
/// `counter` `[1]` and the counter advanced by one, in the same kernel (what
/// [`super::tally`] does apart): the gradient, the loss vector and the counter, the last two
/// written into their own buffers where they have no other owner.
pub fn tallied_softmax_cross_entropy(
    logits: Tensor<2>,
    classes: Tensor<1, Int>,
    factor: Tensor<2>,
    losses: Tensor<1>,
    counter: Tensor<1, Int>,
) -> (Tensor<2>, Tensor<1>, Tensor<1, Int>) {
    let (logits, classes, factor, losses, counter) = (
        super::primitive(logits),
        super::int_primitive(classes),
        super::primitive(factor),
        super::primitive(losses),
        super::int_primitive(counter),
    );
    let [rows, width] = logits.shape.dims::<2>();
    let outputs = [
        (Shape::new([rows, width]), None),
        (losses.shape.clone(), None),
        (Shape::new([1]), Some(counter.dtype)),
    ];
    let [gradient, losses, counter] = super::register(
        "mlpc_tallied_softmax_cross_entropy",
        [logits, classes, factor, losses, counter],
        outputs,
        |[logits, classes, factor, losses, counter], [gradient, new_losses, new_counter]| {
            TalliedSoftmaxCrossEntropy {
                logits,
                classes,
                factor,
                losses,
                counter,
                gradient,
                new_losses,
                new_counter,
            }
        },
    );
    (
        Tensor::from_primitive::<Cube>(gradient),
        Tensor::from_primitive::<Cube>(losses),
        Tensor::from_primitive::<Cube>(counter),
    )
}
