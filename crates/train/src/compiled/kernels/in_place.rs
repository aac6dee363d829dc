//! Parameter updates added in place, one kernel each, writing into the parameter's own buffer
//! (where it has no other owner, else into a copy, as burn's own in-place operations do):
//! - [`add_into`]: `target += change`, a few values per unit (both contiguous: no index
//!   arithmetic, which a software driver pays for per value);
//! - [`add_column_sums`]: a bias's update from its gradient rows, `target[0, c] += Σ_b
//!   rows[b, c]`, where burn's operations would take two kernels (a sum over the batch, then an
//!   addition); one unit per column sums its column in a register (reads across units are
//!   contiguous) and adds the sum once.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::Tensor;
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::{CubeDim, calculate_cube_count_elemwise};

/// The kernels, in a module of their own: cubecl's prelude has its own `Tensor`.
mod kernel {
    use cubecl::prelude::*;

    /// Adds `change` into `target` (both `[R, C]` and contiguous), each of the `units` units
    /// adding `per_unit` values a stride of `units` apart (neighbouring units read
    /// neighbouring values).
    #[cube(launch)]
    pub fn add_into_kernel<F: Float>(
        target: &mut Tensor<F>,
        change: &Tensor<F>,
        units: usize,
        #[comptime] per_unit: usize,
        #[define(F)] _type: ElemType,
    ) {
        let unit = ABSOLUTE_POS;
        if unit >= units {
            terminate!();
        }
        let length = change.len();
        #[unroll]
        for index in 0..per_unit {
            let position = unit + index * units;
            if position < length {
                target[position] += change[position];
            }
        }
    }

    /// Adds the column sums of `rows` `[B, n]` into `target` `[1, n]`, one unit per column.
    #[cube(launch)]
    pub fn add_column_sums_kernel<F: Float>(
        target: &mut Tensor<F>,
        rows: &Tensor<F>,
        #[define(F)] _type: ElemType,
    ) {
        let column = ABSOLUTE_POS;
        if column >= rows.shape(1) {
            terminate!();
        }
        let (row_stride, column_stride) = (rows.stride(0), rows.stride(1));
        let mut total = F::new(0.0_f32);
        for row in 0..rows.shape(0) {
            total += rows[row * row_stride + column * column_stride];
        }
        let at = column * target.stride(1);
        target[at] += total;
    }
}

/// Values each unit of [`add_into`] adds: fewer units than values (a software driver pays
/// per unit), neighbouring units on neighbouring values (as a GPU reads best).
const VALUES_PER_UNIT: usize = 4;

/// Which addition an [`AddInPlace`] runs.
#[derive(Debug, Clone, Copy)]
enum Addition {
    /// [`add_into`].
    Values,
    /// [`add_column_sums`].
    ColumnSums,
}

/// The kernel on cubecl's own tensors: writes into `target` where its buffer has no other
/// owner (and is contiguous, as a parameter's is), else into a copy (as burn's own in-place
/// operations do).
fn launch(addition: Addition, target: CubeTensor, source: CubeTensor) -> CubeTensor {
    let target = super::writable(target);
    let source = into_contiguous(source);
    let [rows, columns] = source.meta.shape().dims::<2>();
    let client = source.client.clone();
    let float_type = dtype_to_storage_type(target.dtype);
    let units = match addition {
        Addition::Values => (rows * columns).div_ceil(VALUES_PER_UNIT),
        Addition::ColumnSums => columns,
    };
    let cube_dim = CubeDim::new(&client, units);
    let cube_count = calculate_cube_count_elemwise(&client, units, cube_dim);
    let (target_argument, source_argument) =
        (target.clone().into_tensor_arg(), source.into_tensor_arg());
    match addition {
        Addition::Values => kernel::add_into_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            target_argument,
            source_argument,
            units,
            VALUES_PER_UNIT,
            float_type,
        ),
        Addition::ColumnSums => kernel::add_column_sums_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            target_argument,
            source_argument,
            float_type,
        ),
    }
    target
}

/// The deferred operation burn-fusion runs in stream order.
#[derive(Debug)]
struct AddInPlace {
    addition: Addition,
    target: TensorIr,
    source: TensorIr,
    output: TensorIr,
}

impl Operation<FusionCubeRuntime> for AddInPlace {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let target = handles.get_float_tensor::<CubeBackend>(&self.target);
        let source = handles.get_float_tensor::<CubeBackend>(&self.source);
        let output = launch(self.addition, target, source);
        handles.register_float_tensor::<CubeBackend>(&self.output.id, output);
        Ok(())
    }
}

/// `target + change` (both `[R, C]`), in one kernel, written into `target`'s own buffer
/// where it has no other owner. The tensors must be on a device where [`super::available`]
/// holds.
pub fn add_into(target: Tensor<2>, change: Tensor<2>) -> Tensor<2> {
    register(Addition::Values, target, change)
}

/// `target` `[1, n]` plus the sum over the batch of `rows` `[B, n]`, in one kernel, written
/// into `target`'s own buffer where it has no other owner. The tensors must be on a device
/// where [`super::available`] holds.
pub fn add_column_sums(target: Tensor<2>, rows: Tensor<2>) -> Tensor<2> {
    register(Addition::ColumnSums, target, rows)
}

/// Registers an [`AddInPlace`] with burn-fusion.
fn register(addition: Addition, target: Tensor<2>, source: Tensor<2>) -> Tensor<2> {
    let (target, source) = (super::primitive(target), super::primitive(source));
    let name = match addition {
        Addition::Values => "mlpc_add_into",
        Addition::ColumnSums => "mlpc_add_column_sums",
    };
    let outputs = [(target.shape.clone(), None)];
    let outputs = super::register(name, vec![target, source], &outputs, |inputs, outputs| {
        let [target, source] = <[TensorIr; 2]>::try_from(inputs).expect("2 inputs");
        let [output] = <[TensorIr; 1]>::try_from(outputs).expect("1 output");
        AddInPlace {
            addition,
            target,
            source,
            output,
        }
    });
    let Some(output) = outputs.into_iter().next() else {
        unreachable!("the operation registers its output")
    };
    Tensor::from_primitive::<Cube>(output)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{largest_difference, wgpu_device};
    use super::*;
    use burn::tensor::Distribution;

    /// The largest absolute difference between two tensors' values.
    fn gap(ours: Tensor<2>, reference: Tensor<2>) -> f32 {
        largest_difference(ours, reference).0
    }

    /// Both additions against burn's operations on wgpu, on shapes whose value counts are not
    /// multiples of the values per unit, with a transposed (not contiguous) source; a target
    /// whose buffer is shared (a clone is kept) is added into a copy, the clone unchanged.
    #[test]
    fn the_in_place_additions_match_burns_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let normal = Distribution::Normal(0.0, 1.0);
        for [rows, columns] in [[1, 1], [7, 13], [784, 128]] {
            let target = Tensor::<2>::random([rows, columns], normal, &device);
            let change = Tensor::<2>::random([columns, rows], normal, &device).transpose();
            let expected = target.clone() + change.clone();
            let original = target.clone() * 1.0;
            let kept = target.clone();
            let added = add_into(target, change);
            assert!(gap(added, expected) == 0.0, "add_into [{rows}, {columns}]");
            // `kept` shared the buffer, so the addition wrote a copy and left it as it was.
            assert!(gap(kept, original) == 0.0, "a shared target was written");
        }
        for [batch, columns] in [[1, 3], [64, 128], [300, 10]] {
            let bias = Tensor::<2>::random([1, columns], normal, &device);
            let rows = Tensor::<2>::random([batch, columns], normal, &device);
            let expected = bias.clone() + rows.clone().sum_dim(0);
            let added = add_column_sums(bias * 1.0, rows);
            let difference = gap(added, expected);
            assert!(
                difference < 1e-4,
                "add_column_sums [{batch}, {columns}] differs by {difference}"
            );
        }
    }
}
