//! Parameter updates added in place, writing into each parameter's own buffer (where it has no
//! other owner, else into a copy, as burn's own in-place operations do). An [`Addend`] says
//! what is added:
//! - [`Addend::Values`]: `target += change`, a few values per unit (both contiguous: no index
//!   arithmetic, which a software driver pays for per value);
//! - [`Addend::ColumnSums`]: a bias's update from its gradient rows, `target[0, c] += Σ_b
//!   rows[b, c]`, where burn's operations would take two kernels (a sum over the batch, then an
//!   addition); one unit per column sums its column in a register (reads across units are
//!   contiguous) and adds the sum once.
//!
//! [`add`] runs one update in one kernel, [`add_two`] two updates in one kernel (the units of
//! the first, then those of the second): a step's updates go two to a launch.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape, Tensor};
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

    /// One update by unit `unit` of `units`: with `columns`, the sum of column `unit` of
    /// `source` `[B, n]` added into `target` `[1, n]`; else `per_unit` values of `source` added
    /// into `target` (both `[R, C]` and contiguous), a stride of `units` apart (neighbouring
    /// units on neighbouring values).
    #[cube]
    fn add_part<F: Float>(
        target: &mut Tensor<F>,
        source: &Tensor<F>,
        unit: usize,
        units: usize,
        #[comptime] columns: bool,
        #[comptime] per_unit: usize,
    ) {
        if columns {
            let (row_stride, column_stride) = (source.stride(0), source.stride(1));
            let mut total = F::new(0.0_f32);
            for row in 0..source.shape(0) {
                total += source[row * row_stride + unit * column_stride];
            }
            let at = unit * target.stride(1);
            target[at] += total;
        } else {
            let length = source.len();
            #[unroll]
            for index in 0..per_unit {
                let position = unit + index * units;
                if position < length {
                    target[position] += source[position];
                }
            }
        }
    }

    /// One update over `units` units.
    #[cube(launch)]
    pub fn add_kernel<F: Float>(
        target: &mut Tensor<F>,
        source: &Tensor<F>,
        units: usize,
        #[comptime] columns: bool,
        #[comptime] per_unit: usize,
        #[define(F)] _type: ElemType,
    ) {
        let unit = ABSOLUTE_POS;
        if unit < units {
            add_part::<F>(target, source, unit, units, columns, per_unit);
        }
    }

    /// Two updates, the first over units `0..first_units`, the second over the
    /// `second_units` after them.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_two_kernel<F: Float>(
        first_target: &mut Tensor<F>,
        first_source: &Tensor<F>,
        second_target: &mut Tensor<F>,
        second_source: &Tensor<F>,
        first_units: usize,
        second_units: usize,
        #[comptime] first_columns: bool,
        #[comptime] second_columns: bool,
        #[comptime] per_unit: usize,
        #[define(F)] _type: ElemType,
    ) {
        let unit = ABSOLUTE_POS;
        if unit < first_units {
            add_part::<F>(
                first_target,
                first_source,
                unit,
                first_units,
                first_columns,
                per_unit,
            );
        } else if unit < first_units + second_units {
            add_part::<F>(
                second_target,
                second_source,
                unit - first_units,
                second_units,
                second_columns,
                per_unit,
            );
        }
    }
}

/// Values each unit adds in [`Addend::Values`]: fewer units than values (a software driver
/// pays per unit), neighbouring units on neighbouring values (as a GPU reads best).
const VALUES_PER_UNIT: usize = 4;

/// What an update adds into its target.
pub enum Addend {
    /// A tensor of the target's shape.
    Values(Tensor<2>),
    /// The column sums of rows `[B, n]`, into a target `[1, n]`.
    ColumnSums(Tensor<2>),
}

impl Addend {
    /// Whether the rows' column sums are added.
    fn columns(&self) -> bool {
        match self {
            Addend::Values(_) => false,
            Addend::ColumnSums(_) => true,
        }
    }

    /// The tensor added (or summed).
    fn into_tensor(self) -> Tensor<2> {
        match self {
            Addend::Values(tensor) | Addend::ColumnSums(tensor) => tensor,
        }
    }
}

/// One update, on cubecl's own tensors: the target to write, the source read, and whether
/// column sums are added.
struct Part {
    target: CubeTensor,
    source: CubeTensor,
    columns: bool,
}

impl Part {
    /// The target made writable (its own buffer where it has no other owner) and a source the
    /// kernel can read (contiguous where values are added).
    fn new(target: CubeTensor, source: CubeTensor, columns: bool) -> Part {
        let source = match columns {
            true => source,
            false => into_contiguous(source),
        };
        Part {
            target: super::writable(target),
            source,
            columns,
        }
    }

    /// Units the update takes.
    fn units(&self) -> usize {
        let [rows, columns] = self.source.meta.shape().dims::<2>();
        match self.columns {
            true => columns,
            false => (rows * columns).div_ceil(VALUES_PER_UNIT),
        }
    }
}

/// Launches one kernel for one or two updates, returning their targets.
fn launch(parts: Vec<Part>) -> Vec<CubeTensor> {
    let client = parts[0].target.client.clone();
    let float_type = dtype_to_storage_type(parts[0].target.dtype);
    let units: Vec<usize> = parts.iter().map(Part::units).collect();
    let total: usize = units.iter().sum();
    let cube_dim = CubeDim::new(&client, total);
    let cube_count = calculate_cube_count_elemwise(&client, total, cube_dim);
    let targets: Vec<CubeTensor> = parts.iter().map(|part| part.target.clone()).collect();
    match parts.as_slice() {
        [first] => kernel::add_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            first.target.clone().into_tensor_arg(),
            first.source.clone().into_tensor_arg(),
            units[0],
            first.columns,
            VALUES_PER_UNIT,
            float_type,
        ),
        [first, second] => kernel::add_two_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            first.target.clone().into_tensor_arg(),
            first.source.clone().into_tensor_arg(),
            second.target.clone().into_tensor_arg(),
            second.source.clone().into_tensor_arg(),
            units[0],
            units[1],
            first.columns,
            second.columns,
            VALUES_PER_UNIT,
            float_type,
        ),
        _ => unreachable!("one or two updates per kernel"),
    }
    targets
}

/// The deferred operation burn-fusion runs in stream order: `inputs` are each update's target
/// and source, `outputs` each update's result.
#[derive(Debug)]
struct AddInPlace {
    columns: Vec<bool>,
    inputs: Vec<TensorIr>,
    outputs: Vec<TensorIr>,
}

impl Operation<FusionCubeRuntime> for AddInPlace {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let parts = self
            .columns
            .iter()
            .zip(self.inputs.chunks(2))
            .map(|(&columns, pair)| {
                let target = handles.get_float_tensor::<CubeBackend>(&pair[0]);
                let source = handles.get_float_tensor::<CubeBackend>(&pair[1]);
                Part::new(target, source, columns)
            })
            .collect();
        for (output, target) in self.outputs.iter().zip(launch(parts)) {
            handles.register_float_tensor::<CubeBackend>(&output.id, target);
        }
        Ok(())
    }
}

/// An update's target and source as the registration takes them, the target's shape (the
/// result's), and whether column sums are added.
fn operands(
    target: Tensor<2>,
    addend: Addend,
) -> ([super::Primitive; 2], (Shape, Option<DType>), bool) {
    let columns = addend.columns();
    let target = super::primitive(target);
    let shape = target.shape.clone();
    let source = super::primitive(addend.into_tensor());
    ([target, source], (shape, None), columns)
}

/// `target` plus `addend`, in one kernel, written into `target`'s own buffer where it has no
/// other owner. The tensors must be on a device where [`super::available`] holds.
pub fn add(target: Tensor<2>, addend: Addend) -> Tensor<2> {
    let name = match addend {
        Addend::Values(_) => "mlpc_add_into",
        Addend::ColumnSums(_) => "mlpc_add_column_sums",
    };
    let (inputs, output, columns) = operands(target, addend);
    let [result] = super::register(name, inputs, [output], |inputs, outputs| AddInPlace {
        columns: vec![columns],
        inputs: inputs.into(),
        outputs: outputs.into(),
    });
    Tensor::from_primitive::<Cube>(result)
}

/// Two updates as [`add`] makes one, in one kernel.
pub fn add_two(first: (Tensor<2>, Addend), second: (Tensor<2>, Addend)) -> (Tensor<2>, Tensor<2>) {
    let ([target, source], output, columns) = operands(first.0, first.1);
    let ([second_target, second_source], second_output, second_columns) =
        operands(second.0, second.1);
    let inputs = [target, source, second_target, second_source];
    let [first, second] = super::register(
        "mlpc_add_two",
        inputs,
        [output, second_output],
        |inputs, outputs| AddInPlace {
            columns: vec![columns, second_columns],
            inputs: inputs.into(),
            outputs: outputs.into(),
        },
    );
    (
        Tensor::from_primitive::<Cube>(first),
        Tensor::from_primitive::<Cube>(second),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{largest_difference, wgpu_device};
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// The largest absolute difference between two tensors' values.
    fn gap(ours: Tensor<2>, reference: Tensor<2>) -> f32 {
        largest_difference(ours, reference).0
    }

    /// A target `[rows, columns]` and a transposed (not contiguous) change of its shape.
    fn values(rows: usize, columns: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let normal = Distribution::Normal(0.0, 1.0);
        (
            Tensor::<2>::random([rows, columns], normal, device),
            Tensor::<2>::random([columns, rows], normal, device).transpose(),
        )
    }

    /// A bias `[1, columns]` and gradient rows `[batch, columns]`.
    fn column_sums(batch: usize, columns: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let normal = Distribution::Normal(0.0, 1.0);
        (
            Tensor::<2>::random([1, columns], normal, device),
            Tensor::<2>::random([batch, columns], normal, device),
        )
    }

    /// Both additions against burn's operations on wgpu, on shapes whose value counts are not
    /// multiples of the values per unit, with a transposed (not contiguous) source; a target
    /// whose buffer is shared (a clone is kept) is added into a copy, the clone unchanged.
    #[test]
    fn the_in_place_additions_match_burns_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        for [rows, columns] in [[1, 1], [7, 13], [784, 128]] {
            let (target, change) = values(rows, columns, &device);
            let expected = target.clone() + change.clone();
            let original = target.clone() * 1.0;
            let kept = target.clone();
            let added = add(target, Addend::Values(change));
            assert!(gap(added, expected) == 0.0, "values [{rows}, {columns}]");
            // `kept` shared the buffer, so the addition wrote a copy and left it as it was.
            assert!(gap(kept, original) == 0.0, "a shared target was written");
        }
        for [batch, columns] in [[1, 3], [64, 128], [300, 10]] {
            let (bias, rows) = column_sums(batch, columns, &device);
            let expected = bias.clone() + rows.clone().sum_dim(0);
            let added = add(bias * 1.0, Addend::ColumnSums(rows));
            let difference = gap(added, expected);
            assert!(
                difference < 1e-4,
                "column sums [{batch}, {columns}] differ by {difference}"
            );
        }
    }

    /// Two updates in one kernel, in every pairing of the two additions and with the units of
    /// the first not a multiple of a cube's, each as burn's operations make it.
    #[test]
    fn two_updates_in_one_kernel_match_burns_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        for (first_columns, second_columns) in
            [(false, true), (true, false), (false, false), (true, true)]
        {
            let make = |columns: bool, size: usize| {
                let (target, source) = match columns {
                    true => column_sums(33, size, &device),
                    false => values(size, 13, &device),
                };
                let expected = match columns {
                    true => target.clone() + source.clone().sum_dim(0),
                    false => target.clone() + source.clone(),
                };
                let addend = match columns {
                    true => Addend::ColumnSums(source),
                    false => Addend::Values(source),
                };
                (target * 1.0, addend, expected)
            };
            let (first, first_addend, first_expected) = make(first_columns, 101);
            let (second, second_addend, second_expected) = make(second_columns, 57);
            let (first, second) = add_two((first, first_addend), (second, second_addend));
            let label = format!("columns {first_columns}, {second_columns}");
            assert!(gap(first, first_expected) < 1e-4, "first of {label}");
            assert!(gap(second, second_expected) < 1e-4, "second of {label}");
        }
    }
}
