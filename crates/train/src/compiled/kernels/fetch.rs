//! A replayed step's inputs fetched in one kernel: the line `counter` selects of each of the
//! segment's per-step tables (the batch's features, its targets, the step's factors, its
//! dropout masks), copied into buffers of their own. burn's operations take a gather each, and
//! burn-fusion does not fuse gathers of different shapes or element types into one kernel.
//!
//! One unit copies a few values of one table's line (a stride of that table's units apart),
//! the float tables' units first, then the integer tables'.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Int, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use burn_cubecl::tensor::CubeTensor;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::{CubeDim, calculate_cube_count_elemwise};

/// The kernel, in a module of its own: cubecl's prelude has its own `Tensor` and `Int`.
mod kernel {
    use super::{Span, Spans};
    use cubecl::prelude::*;

    /// Copies the part of `span`'s values that falls to `unit` of the line at `offset` of
    /// `table` into `line` (both contiguous), where the unit falls in the span.
    #[cube]
    fn copy_span<E: Numeric>(
        table: &OwnedTensor<E>,
        line: &mut OwnedTensor<E>,
        offset: usize,
        unit: usize,
        #[comptime] span: Span,
        #[comptime] per_unit: usize,
    ) {
        let (start, units, length) = comptime!((span.start, span.units, span.length));
        if unit >= start && unit < start + units {
            let local = unit - start;
            #[unroll]
            for index in 0..per_unit {
                let at = local + index * units;
                if at < length {
                    line[at] = table[offset + at];
                }
            }
        }
    }

    /// Copies line `counter[0]` of every table into its line, by `spans`' units.
    #[cube(launch)]
    #[allow(clippy::too_many_arguments)]
    pub fn fetch_kernel<F: Float, I: Int>(
        float_tables: &Sequence<OwnedTensor<F>>,
        float_lines: &mut Sequence<OwnedTensor<F>>,
        int_tables: &Sequence<OwnedTensor<I>>,
        int_lines: &mut Sequence<OwnedTensor<I>>,
        counter: &Tensor<I>,
        #[comptime] spans: Spans,
        #[comptime] per_unit: usize,
        #[define(F, I)] _types: [ElemType; 2],
    ) {
        let unit = ABSOLUTE_POS;
        let step = usize::cast_from(counter[0]);
        copy_lines::<F>(
            float_tables,
            float_lines,
            step,
            unit,
            comptime!(spans.floats.clone()),
            per_unit,
        );
        copy_lines::<I>(
            int_tables,
            int_lines,
            step,
            unit,
            comptime!(spans.ints.clone()),
            per_unit,
        );
    }

    /// Copies line `step` of each of `tables` into its line, by `spans`' units.
    #[cube]
    // The index also selects the sequences' tensors, which take a constant index.
    #[allow(clippy::needless_range_loop)]
    fn copy_lines<E: Numeric>(
        tables: &Sequence<OwnedTensor<E>>,
        lines: &mut Sequence<OwnedTensor<E>>,
        step: usize,
        unit: usize,
        #[comptime] spans: Vec<Span>,
        #[comptime] per_unit: usize,
    ) {
        #[unroll]
        for index in 0..spans.len() {
            let table = tables.index(index);
            let offset = step * table.stride(0);
            let span = comptime!(spans[index]);
            copy_span::<E>(table, lines.index_mut(index), offset, unit, span, per_unit);
        }
    }
}

/// The units of one line's copy, compiled in (a segment's shapes are fixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Its first unit.
    pub start: usize,
    /// Its units.
    pub units: usize,
    /// Its values.
    pub length: usize,
}

/// The spans of the float lines, then of the integer lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spans {
    /// The float lines'.
    pub floats: Vec<Span>,
    /// The integer lines'.
    pub ints: Vec<Span>,
}

impl Spans {
    /// The spans of lines of `lengths` values, the first `floats` of them float.
    fn new(lengths: &[usize], floats: usize) -> Spans {
        let mut start = 0;
        let mut spans: Vec<Span> = lengths
            .iter()
            .map(|&length| {
                let units = length.div_ceil(VALUES_PER_UNIT);
                let span = Span {
                    start,
                    units,
                    length,
                };
                start += units;
                span
            })
            .collect();
        let ints = spans.split_off(floats);
        Spans {
            floats: spans,
            ints,
        }
    }

    /// Units of all spans.
    fn units(&self) -> usize {
        self.floats
            .iter()
            .chain(&self.ints)
            .map(|span| span.units)
            .sum()
    }
}

/// Values each unit copies.
const VALUES_PER_UNIT: usize = 4;

/// Line `counter` (`[1]`) of each table (`[steps, n]`), as `[1, n]` tensors in buffers of
/// their own, in one kernel (a few where the device binds fewer buffers to a kernel than there
/// are tables): the float tables' lines, then the integer tables'. The tensors must be on a
/// device where [`super::available`] holds.
pub fn fetch(
    counter: Tensor<1, Int>,
    float_tables: Vec<Tensor<2>>,
    int_tables: Vec<Tensor<2, Int>>,
) -> (Vec<Tensor<2>>, Vec<Tensor<2, Int>>) {
    fetch_in_kernels_of(None, counter, float_tables, int_tables)
}

/// [`fetch`] with at most `limit` tables to a kernel where given (tests of the split).
fn fetch_in_kernels_of(
    limit: Option<usize>,
    counter: Tensor<1, Int>,
    float_tables: Vec<Tensor<2>>,
    int_tables: Vec<Tensor<2, Int>>,
) -> (Vec<Tensor<2>>, Vec<Tensor<2, Int>>) {
    let floats = float_tables.len();
    let counter = super::int_primitive(counter);
    let int_type = counter.dtype;
    let mut outputs: Vec<(Shape, Option<DType>)> = Vec::new();
    let mut inputs = Vec::new();
    for table in float_tables {
        let table = super::primitive(table);
        outputs.push((Shape::new([1, table.shape[1]]), Some(table.dtype)));
        inputs.push(table);
    }
    for table in int_tables {
        let table = super::int_primitive(table);
        outputs.push((Shape::new([1, table.shape[1]]), Some(table.dtype)));
        inputs.push(table);
    }
    let float_type = inputs
        .first()
        .filter(|_| floats > 0)
        .map(|table| table.dtype)
        .unwrap_or(DType::F32);
    inputs.push(counter);
    let lines = super::register_all("mlpc_fetch", inputs, outputs, |inputs, outputs| Fetch {
        floats,
        types: [float_type, int_type],
        limit,
        inputs,
        outputs,
    });
    let mut lines = lines.into_iter();
    let float_lines = lines
        .by_ref()
        .take(floats)
        .map(Tensor::from_primitive::<Cube>)
        .collect();
    let int_lines = lines.map(Tensor::from_primitive::<Cube>).collect();
    (float_lines, int_lines)
}

/// The deferred operation burn-fusion runs in stream order: `inputs` are the float tables,
/// the integer tables and the counter; `outputs` their lines.
#[derive(Debug)]
struct Fetch {
    floats: usize,
    /// The float and integer element types the kernel is compiled for.
    types: [DType; 2],
    /// At most this many tables to a kernel, where given.
    limit: Option<usize>,
    inputs: Vec<TensorIr>,
    outputs: Vec<TensorIr>,
}

impl Fetch {
    /// Launches the kernel for the tables in `range` (of all `tables`, the floats first).
    fn launch(
        &self,
        tables: &[CubeTensor],
        lines: &[CubeTensor],
        counter: &CubeTensor,
        range: std::ops::Range<usize>,
    ) {
        let client = counter.client.clone();
        let split = self.floats.clamp(range.start, range.end);
        let lengths: Vec<usize> = lines[range.clone()]
            .iter()
            .map(|line| line.meta.num_elements())
            .collect();
        let spans = Spans::new(&lengths, split - range.start);
        let total = spans.units().max(1);
        let cube_dim = CubeDim::new(&client, total);
        let cube_count = calculate_cube_count_elemwise(&client, total, cube_dim);
        let argument = |tensor: &CubeTensor| tensor.clone().into_tensor_arg();
        kernel::fetch_kernel::launch(
            &client,
            cube_count,
            cube_dim,
            tables[range.start..split].iter().map(argument).collect(),
            lines[range.start..split].iter().map(argument).collect(),
            tables[split..range.end].iter().map(argument).collect(),
            lines[split..range.end].iter().map(argument).collect(),
            counter.clone().into_tensor_arg(),
            spans,
            VALUES_PER_UNIT,
            self.types.map(dtype_to_storage_type),
        );
    }
}

impl Operation<FusionCubeRuntime> for Fetch {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let tables = self.inputs.len() - 1;
        let mut fetch = |ir: &TensorIr, float: bool| -> CubeTensor {
            match float {
                true => handles.get_float_tensor::<CubeBackend>(ir),
                false => handles.get_int_tensor::<CubeBackend>(ir),
            }
        };
        let table_tensors: Vec<CubeTensor> = self.inputs[..tables]
            .iter()
            .enumerate()
            .map(|(index, ir)| into_contiguous(fetch(ir, index < self.floats)))
            .collect();
        let counter = into_contiguous(fetch(&self.inputs[tables], false));
        let client = counter.client.clone();
        let lines: Vec<CubeTensor> = table_tensors
            .iter()
            .map(|table| {
                let columns = table.meta.shape().dims::<2>()[1];
                empty_device_dtype(
                    client.clone(),
                    table.device.clone(),
                    Shape::new([1, columns]),
                    table.dtype,
                )
            })
            .collect();
        // Each table binds itself and its line; the counter and one spare binding besides.
        let bindings = client.properties().hardware.max_bindings as usize;
        let per_kernel = (bindings.saturating_sub(2) / 2)
            .max(1)
            .min(self.limit.unwrap_or(usize::MAX));
        let mut start = 0;
        while start < tables {
            let end = (start + per_kernel).min(tables);
            self.launch(&table_tensors, &lines, &counter, start..end);
            start = end;
        }
        for (index, (output, line)) in self.outputs.iter().zip(lines).enumerate() {
            match index < self.floats {
                true => handles.register_float_tensor::<CubeBackend>(&output.id, line),
                false => handles.register_int_tensor::<CubeBackend>(&output.id, line),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Draws, wgpu_device};
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    /// Each table's line at the counter, as burn's `select` gives it, for tables of different
    /// widths (not multiples of the values per unit) and both element types, in one kernel
    /// and split into kernels of one and of three tables.
    #[test]
    fn the_fetched_lines_are_the_tables_lines_at_the_counter() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let normal = Distribution::Normal(0.0, 1.0);
        let draws = Draws::new(25, &device);
        let floats = [7, 1, 130].map(|width| draws.tensor([5, width], normal));
        let integers = Tensor::<2, Int>::from_data(
            TensorData::new((0..5 * 9).collect::<Vec<i32>>(), [5, 9]),
            &device,
        );
        for step in [0, 3, 4] {
            let counter = Tensor::<1, Int>::from_data(TensorData::new(vec![step], [1]), &device);
            let (float_lines, int_lines) =
                fetch(counter.clone(), floats.to_vec(), vec![integers.clone()]);
            for (line, table) in float_lines.into_iter().zip(&floats) {
                let expected = table.clone().select(0, counter.clone());
                assert_eq!(
                    line.into_data().try_to_vec::<f32>().expect("floats"),
                    expected.into_data().try_to_vec::<f32>().expect("floats"),
                    "step {step}"
                );
            }
            let expected: Vec<i64> = (0..9).map(|column| step as i64 * 9 + column).collect();
            let fetched = int_lines[0].clone().into_data().convert::<i64>();
            assert_eq!(fetched.try_to_vec::<i64>().expect("integers"), expected);
        }
    }
}
