//! The compiled step's matrix products on the CPU, shared among the cores from a smaller size
//! than flex shares its own.
//!
//! # Design
//! flex multiplies with the `gemm` crate and lets it use every core only from 192³ (7.1
//! million) multiply-adds, through rayon's threads. A dense layer's products at the batch
//! sizes people train with fall below: MNIST's first layer at batch 64 is `[64, 784] · [784,
//! 128]` and its weight gradient `[784, 64] · [64, 128]`, 6.4 million each, and they ran on one
//! core, most of a step. Larger ones woke rayon's sleeping threads at every product (see
//! [`super::team`]). Here, on flex, a product of at least [`SPLIT_FROM`] multiply-adds is cut
//! into blocks of output rows (or columns, where the rows are few), at least
//! [`WORK_PER_THREAD`] each, that the calling thread and the [`Team`]'s spinning helpers
//! multiply with `gemm` on the tensors' own storage and strides (a transposed operand is read
//! in place, as flex reads it). Measured on a 2-core AMD EPYC (AVX-512), one core against two
//! (a block each):
//!
//! | product (m × n × k) | one core | two cores |
//! | --- | --- | --- |
//! | 64 × 128 × 784 (`x W`, batch 64) | 137 µs | 63 µs |
//! | 784 × 128 × 64 (`xᵀ g`, batch 64) | 121 µs | 63 µs |
//! | 64 × 512 × 784 (the flagship's `x W`) | 496 µs | 235 µs |
//! | 512 × 128 × 784 (`x W`, batch 512) | 905 µs | 477 µs |
//!
//! Below [`SPLIT_FROM`], and on every other backend, a product is burn's `matmul` (on wgpu
//! burn-fusion fuses element-wise neighbours into it, which a product of ours would end). The
//! output is written straight into a new vector, not zeroed first (flex's own product zeroes
//! a byte vector and copies it into an aligned one). Every output element is summed by one thread, so the
//! values do not depend on timing: the same machine gives the same values at every run. Their
//! last bits may depend on the number of threads (`gemm` picks its blocking, and so the order of
//! a sum, by a block's size), as they may between machines: the tests compare with burn's
//! product within f32 rounding.
//!
//! A product whose left operand is mostly zeros (MNIST's pixels in the first layer's `x W`
//! and `xᵀ g`) adds up the terms of its nonzero values only ([`super::sparse`], where the
//! figures are); the last operand compressed is remembered with a handle on it, so that the
//! weight gradient's `xᵀ` reuses `x`'s compression.

use std::cell::RefCell;

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexTensor;

use super::flex::{flex_f32, primitive};
use super::sparse;
use super::team::{Block, Team};

/// Multiply-adds from which a product on flex is shared among the cores.
pub const SPLIT_FROM: usize = 2 * WORK_PER_THREAD;

/// Multiply-adds each thread is given at least (about 10 µs of one core's work).
pub const WORK_PER_THREAD: usize = 1 << 20;

/// Rows (or columns) a block has at least: `gemm`'s kernels work on tiles of up to 64 × 6.
const SHORTEST_SIDE: usize = 16;

/// `lhs · rhs` (`[m, k] · [k, n]`), shared among the cores where that pays (see the module's
/// overview); burn's `matmul` otherwise.
pub fn product(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    let [rows, inner] = lhs.dims();
    let [rhs_rows, columns] = rhs.dims();
    let work = rows.saturating_mul(inner).saturating_mul(columns);
    // burn's product checks the shapes (and reports a mismatch); ours reads by them.
    if work < SPLIT_FROM || rhs_rows != inner || !flex_f32(&lhs) || !flex_f32(&rhs) {
        return lhs.matmul(rhs);
    }
    let (lhs, rhs) = (primitive(lhs), primitive(rhs));
    // A flipped operand (a negative stride) reads before its first element: burn's product
    // takes it.
    if !readable(&lhs) || !readable(&rhs) {
        let flex = Tensor::from_primitive::<Flex>;
        return flex(lhs).matmul(flex(rhs));
    }
    let team = Team::get();
    let output = match sparse_multiply(&lhs, &rhs, [rows, inner, columns], team) {
        Some(output) => output,
        None => {
            let threads = team.threads_for(work, WORK_PER_THREAD);
            multiply(&lhs, &rhs, [rows, inner, columns], threads, team)
        }
    };
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(
        output,
        [rows, columns],
    )))
}

/// The row-major `[rows, columns]` product of two f32 flex tensors (`[rows, inner, columns]`
/// their dims), in at most `threads` blocks.
fn multiply(
    lhs: &FlexTensor,
    rhs: &FlexTensor,
    [rows, inner, columns]: [usize; 3],
    threads: usize,
    team: &Team,
) -> Vec<f32> {
    let (lhs_data, lhs_row_stride, lhs_column_stride) = operand(lhs);
    let (rhs_data, rhs_row_stride, rhs_column_stride) = operand(rhs);
    // Not zeroed first: `gemm` writes every output element without reading it (`read_dst`
    // false), and the blocks cover the output once.
    let mut output: Vec<f32> = Vec::with_capacity(rows * columns);
    let whole = Block {
        rows,
        columns,
        inner,
        output: output.as_mut_ptr() as usize,
        output_row_stride: columns as isize,
        lhs: lhs_data.as_ptr() as usize,
        lhs_row_stride,
        lhs_column_stride,
        rhs: rhs_data.as_ptr() as usize,
        rhs_row_stride,
        rhs_column_stride,
    };
    let blocks = split(whole, threads);
    // SAFETY: each block is a disjoint part of the whole product: its operands' addresses and
    // strides are the flex layouts' (storage from the layout's start, as flex's own product
    // passes them), in bounds for its rows and columns, and its output rows or columns are its
    // own within `output`, which outlives the call.
    unsafe { team.run(&blocks) };
    // SAFETY: every element was written by the blocks (see above); a panic in a block leaves
    // the length 0.
    unsafe { output.set_len(rows * columns) };
    output
}

/// The left operand this thread compressed last, and its compressions.
struct Remembered {
    /// A handle on that operand: while it is held, the operand's buffer can be neither freed
    /// (and its address given to another tensor) nor written (flex copies a buffer that has
    /// more than one owner before writing it), so the compressions below stay its own.
    operand: Option<FlexTensor>,
    /// The operand's rows, compressed.
    rows: sparse::Compressed,
    /// Its transpose's rows (its columns), compressed: made from `rows` when the transpose
    /// is a product's left operand (a dense layer's weight gradient `xᵀ g` after its `x W`).
    columns: sparse::Compressed,
    columns_made: bool,
}

thread_local! {
    static REMEMBERED: RefCell<Remembered> = const {
        RefCell::new(Remembered {
            operand: None,
            rows: sparse::Compressed::empty(),
            columns: sparse::Compressed::empty(),
            columns_made: false,
        })
    };
}

/// How a left operand relates to the one [`Remembered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    /// The same buffer read the same way.
    Same,
    /// The same buffer read as its transpose.
    Transposed,
    /// Another operand.
    Other,
}

/// How `lhs` relates to `remembered` (one buffer: the same storage from the same element).
fn relation(remembered: &FlexTensor, lhs: &FlexTensor) -> Relation {
    let (before, now) = (remembered.layout(), lhs.layout());
    let same_buffer = std::ptr::eq(
        remembered.storage::<f32>().as_ptr(),
        lhs.storage::<f32>().as_ptr(),
    ) && before.start_offset() == now.start_offset();
    match (same_buffer, before.as_2d_strides(), now.as_2d_strides()) {
        (true, Some(before), Some(now)) if before == now => Relation::Same,
        (true, Some((rows, inner, row_stride, column_stride)), Some(now))
            if now == (inner, rows, column_stride, row_stride) =>
        {
            Relation::Transposed
        }
        _ => Relation::Other,
    }
}

impl Remembered {
    /// The compressed rows of `lhs` (`[rows, inner]`): this one's where `lhs` is the operand
    /// remembered (its transpose's made once from its rows where `lhs` is its transpose),
    /// else `lhs` compressed and remembered where it has at most [`sparse::DENSEST`] of its
    /// values nonzero, lying once each in one run of its storage (row after row, or column
    /// after column: a whole tensor, a run of its rows, or their transpose); `None` (nothing
    /// remembered) otherwise.
    fn compression(
        &mut self,
        lhs: &FlexTensor,
        [rows, inner]: [usize; 2],
        team: &Team,
    ) -> Option<&sparse::Compressed> {
        let relation = match &self.operand {
            Some(operand) => relation(operand, lhs),
            None => Relation::Other,
        };
        match relation {
            Relation::Same => return Some(&self.rows),
            Relation::Transposed => {
                if !self.columns_made {
                    let threads = team.threads_for(rows * inner, sparse::VALUES_PER_THREAD);
                    self.rows.transpose(&mut self.columns, rows, threads, team);
                    self.columns_made = true;
                    #[cfg(test)]
                    count(1);
                }
                return Some(&self.columns);
            }
            Relation::Other => {}
        }
        let layout = lhs.layout();
        let elements = layout.shape().num_elements();
        let (_, _, row_stride, column_stride) = layout.as_2d_strides()?;
        let in_one_run = (row_stride == inner as isize && column_stride == 1)
            || (row_stride == 1 && column_stride == rows as isize);
        if !in_one_run || elements > sparse::MOST_VALUES {
            return None;
        }
        let start = layout.start_offset();
        let values = lhs.storage::<f32>().get(start..start + elements)?;
        sparse::nonzeros_below(values, (elements as f32 * sparse::DENSEST) as usize)?;
        // Forgotten first: a compression cut short (a panic) must not pass for the last
        // operand's.
        self.operand = None;
        let threads = team.threads_for(elements, sparse::VALUES_PER_THREAD);
        // SAFETY: the operand's elements lie from `values`' first at its layout's strides,
        // within its storage (one run of `elements` values).
        unsafe {
            self.rows.fill(
                values.as_ptr(),
                [rows, inner],
                [row_stride, column_stride],
                threads,
                team,
            )
        };
        self.operand = Some(lhs.clone());
        self.columns_made = false;
        #[cfg(test)]
        count(0);
        Some(&self.rows)
    }
}

/// The row-major `[rows, columns]` product of two f32 flex tensors (`[rows, inner, columns]`
/// their dims) from the left operand's nonzero values only ([`sparse`]), where the operand
/// has a compression ([`Remembered::compression`]) and the right operand's rows are runs of
/// values (column stride 1); `None` (nothing done) otherwise. A dense layer's `x W`
/// compresses `x`; its weight gradient `xᵀ g` that follows finds `x` remembered and
/// transposes its compression instead of compressing `xᵀ` anew.
fn sparse_multiply(
    lhs: &FlexTensor,
    rhs: &FlexTensor,
    [rows, inner, columns]: [usize; 3],
    team: &Team,
) -> Option<Vec<f32>> {
    let (rhs_data, rhs_row_stride, rhs_column_stride) = operand(rhs);
    if rhs_column_stride != 1 {
        return None;
    }
    // `None` (burn's product) while the thread's locals are torn down.
    let outcome = REMEMBERED.try_with(|remembered| {
        // A thread's product is done before its next starts (no part runs a product).
        let mut remembered = remembered.borrow_mut();
        let compressed = remembered.compression(lhs, [rows, inner], team)?;
        // Every output row is written from a compressed row.
        assert_eq!(
            compressed.rows(),
            rows,
            "a compressed row for each output row"
        );
        let threads = team.threads_for(compressed.nonzeros() * columns, sparse::WORK_PER_THREAD);
        let mut output: Vec<f32> = Vec::with_capacity(rows * columns);
        // SAFETY: the right operand's address and strides are the flex layout's, its column
        // stride 1; the compressed operand's positions are below `inner`, its rows; the
        // output holds `rows × columns` values, every one written by the product.
        unsafe {
            sparse::multiply(
                compressed,
                rhs_data.as_ptr(),
                rhs_row_stride,
                columns,
                output.as_mut_ptr(),
                threads,
                team,
            );
            output.set_len(rows * columns);
        }
        #[cfg(test)]
        count(2);
        Some(output)
    });
    outcome.ok().flatten()
}

#[cfg(test)]
thread_local! {
    /// Compressions, transpositions of a compression and products from nonzero values this
    /// thread has run (for tests that must know which way a product went).
    static SPARSE_RUN: std::cell::Cell<[usize; 3]> = const { std::cell::Cell::new([0; 3]) };
}

/// Adds one to [`SPARSE_RUN`]'s count `which`.
#[cfg(test)]
fn count(which: usize) {
    SPARSE_RUN.with(|run| {
        let mut counts = run.get();
        counts[which] += 1;
        run.set(counts);
    });
}

/// `whole` cut into at most `parts` blocks of output rows, or of output columns where the rows
/// are fewer than the columns and too few for blocks of twice [`SHORTEST_SIDE`] (measured for
/// `[64, 784] · [784, 128]` in two: 63 µs by rows, 70 µs by columns), each block at least
/// [`SHORTEST_SIDE`] long.
fn split(whole: Block, parts: usize) -> Vec<Block> {
    let by_rows = whole.rows >= whole.columns || whole.rows >= parts * SHORTEST_SIDE * 2;
    let length = if by_rows { whole.rows } else { whole.columns };
    let parts = parts.min(length / SHORTEST_SIDE).max(1);
    let size = std::mem::size_of::<f32>() as isize;
    (0..parts)
        .map(|part| {
            let start = length * part / parts;
            let end = length * (part + 1) / parts;
            let start_offset = start as isize;
            if by_rows {
                Block {
                    rows: end - start,
                    output: (whole.output as isize + start_offset * whole.output_row_stride * size)
                        as usize,
                    lhs: (whole.lhs as isize + start_offset * whole.lhs_row_stride * size) as usize,
                    ..whole
                }
            } else {
                Block {
                    columns: end - start,
                    output: (whole.output as isize + start_offset * size) as usize,
                    rhs: (whole.rhs as isize + start_offset * whole.rhs_column_stride * size)
                        as usize,
                    ..whole
                }
            }
        })
        .collect()
}

/// Whether a 2-D flex tensor's elements all lie at or after its first one (no negative
/// stride), so that [`operand`]'s values hold every element the product reads.
fn readable(tensor: &FlexTensor) -> bool {
    tensor.layout().strides().iter().all(|&stride| stride >= 0)
}

/// A 2-D f32 flex tensor's values from its first element, and its row and column strides.
fn operand(tensor: &FlexTensor) -> (&[f32], isize, isize) {
    let layout = tensor.layout();
    let strides = layout.strides();
    (
        &tensor.storage::<f32>()[layout.start_offset()..],
        strides[0],
        strides[1],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiled::kernels::testing::Draws;
    use burn::tensor::{Device, Distribution};

    /// How far apart two sums of `inner` products of values in [-1, 1] may be when ordered
    /// differently, relative to the larger of the value and 1: f32 rounding grows with the
    /// terms summed.
    fn tolerance(inner: usize) -> f32 {
        1e-7 * inner as f32
    }

    /// The largest gap between two products' values, relative to the larger of the value and 1.
    fn largest_gap(expected: &[f32], found: &[f32]) -> f32 {
        expected
            .iter()
            .zip(found)
            .map(|(a, b)| (a - b).abs() / a.abs().max(1.0))
            .fold(0.0f32, f32::max)
    }

    /// Two products of `inner` terms a value have the same shape and values within f32
    /// rounding ([`tolerance`]).
    fn assert_within_rounding(expected: TensorData, found: TensorData, inner: usize) {
        assert_eq!(expected.shape(), found.shape());
        let expected = expected.try_to_vec::<f32>().unwrap();
        let found = found.try_to_vec::<f32>().unwrap();
        let gap = largest_gap(&expected, &found);
        assert!(
            gap <= tolerance(inner),
            "relative gap {gap} over {inner} terms"
        );
    }

    /// The product of ours against burn's, on flex, for sizes on both sides of [`SPLIT_FROM`]
    /// and for transposed, sliced and flipped operands (read through their strides).
    #[test]
    fn the_split_product_equals_burns_for_plain_transposed_sliced_and_flipped_operands() {
        let draws = Draws::new(7, &Device::flex());
        let draw = |shape: [usize; 2]| draws.tensor(shape, Distribution::Uniform(-1.0, 1.0));
        let compare = |lhs: Tensor<2>, rhs: Tensor<2>| {
            let inner = lhs.dims()[1];
            let expected = lhs.clone().matmul(rhs.clone()).into_data();
            assert_within_rounding(expected, product(lhs, rhs).into_data(), inner);
        };
        // x W at batch 64 (split), and a small one (burn's).
        compare(draw([64, 784]), draw([784, 128]));
        compare(draw([16, 30]), draw([30, 10]));
        // xᵀ g: a transposed left operand, read in place.
        let x = draw([64, 784]);
        compare(x.clone().transpose(), draw([64, 128]));
        // g Wᵀ: a transposed right operand.
        compare(draw([96, 300]), draw([256, 300]).transpose());
        // A slice that starts inside its storage.
        let wide = draw([200, 900]);
        compare(wide.slice([100..200, 50..850]), draw([800, 100]));
        // A flipped operand (negative strides, where flex flips in place): burn's product.
        compare(draw([64, 784]).flip([0, 1]), draw([784, 128]));
        compare(draw([64, 784]), draw([784, 128]).flip([0]));
    }

    /// Products with a mostly-zero left operand skip its zeros: `x W`, then `xᵀ g` (the
    /// weight gradient, from `x`'s compression transposed), then `x'ᵀ g` of an `x'` never
    /// multiplied (compressed as it is), each burn's product within f32 rounding; an
    /// operand with more nonzero values than [`sparse::DENSEST`] goes to `gemm`.
    #[test]
    fn mostly_zero_left_operands_give_burns_product_from_their_nonzero_values() {
        let device = Device::flex();
        let draws = Draws::new(13, &device);
        let sparse_draw = |shape: [usize; 2], density: f64| {
            let values = draws.tensor(shape, Distribution::Uniform(0.0, 1.0));
            let kept = draws
                .tensor(shape, Distribution::Uniform(0.0, 1.0))
                .lower_elem(density);
            values.mask_fill(kept.bool_not(), 0.0)
        };
        let draw = |shape: [usize; 2]| draws.tensor(shape, Distribution::Uniform(-1.0, 1.0));
        let compare = |lhs: Tensor<2>, rhs: Tensor<2>, ran: [usize; 3]| {
            let inner = lhs.dims()[1];
            let before = SPARSE_RUN.with(|run| run.get());
            let expected = lhs.clone().matmul(rhs.clone()).into_data();
            let found = product(lhs, rhs).into_data();
            let after = SPARSE_RUN.with(|run| run.get());
            let counted: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
            assert_eq!(
                counted, ran,
                "compressions, transpositions, sparse products"
            );
            assert_within_rounding(expected, found, inner);
        };
        let x = sparse_draw([64, 784], 0.2);
        let g = draw([64, 128]);
        compare(x.clone(), draw([784, 128]), [1, 0, 1]);
        compare(x.clone().transpose(), g.clone(), [0, 1, 1]);
        drop(x);
        compare(
            sparse_draw([64, 784], 0.2).transpose(),
            g.clone(),
            [1, 0, 1],
        );
        // Widths that are not a multiple of the runs of columns, rows of 8 and fewer.
        compare(sparse_draw([70, 500], 0.1), draw([500, 130]), [1, 0, 1]);
        compare(
            sparse_draw([500, 70], 0.1).transpose(),
            draw([500, 100]),
            [1, 0, 1],
        );
        // A run of rows of a larger operand (as an evaluation's chunk of a data set), and a
        // slice of its columns (its values not in one run: `gemm`).
        let set = sparse_draw([300, 784], 0.2);
        compare(
            set.clone().slice([100..164, 0..784]),
            draw([784, 128]),
            [1, 0, 1],
        );
        compare(set.slice([100..164, 0..700]), draw([700, 128]), [0, 0, 0]);
        // Half the values nonzero: `gemm`.
        compare(sparse_draw([64, 784], 0.5), draw([784, 128]), [0, 0, 0]);
    }

    /// However a product is cut, every block's values are the whole product's within f32
    /// rounding (a block's sums may be ordered as `gemm` orders its size's), and the same cut
    /// gives the same values at every call (no thread races into a sum).
    #[test]
    fn every_cut_of_a_product_gives_its_values_and_the_same_values_every_time() {
        let draws = Draws::new(11, &Device::flex());
        let lhs = draws
            .tensor([64, 784], Distribution::Uniform(-1.0, 1.0))
            .try_into_primitive::<Flex>()
            .unwrap();
        let rhs = draws
            .tensor([784, 128], Distribution::Uniform(-1.0, 1.0))
            .try_into_primitive::<Flex>()
            .unwrap();
        let team = Team::get();
        let whole = multiply(&lhs, &rhs, [64, 784, 128], 1, team);
        for threads in 2..=4 {
            let cut = multiply(&lhs, &rhs, [64, 784, 128], threads, team);
            let gap = largest_gap(&whole, &cut);
            assert!(
                gap <= tolerance(784),
                "{threads} blocks: relative gap {gap}"
            );
            for _ in 0..20 {
                assert_eq!(cut, multiply(&lhs, &rhs, [64, 784, 128], threads, team));
            }
        }
    }

    /// Blocks cover the product's output exactly once, by rows or (few rows) by columns.
    #[test]
    fn the_blocks_cover_the_output_once() {
        let whole = Block {
            rows: 0,
            columns: 0,
            inner: 7,
            output: 4096,
            output_row_stride: 0,
            lhs: 1 << 20,
            lhs_row_stride: 7,
            lhs_column_stride: 1,
            rhs: 1 << 24,
            rhs_row_stride: 1,
            rhs_column_stride: 7,
        };
        for (rows, columns, parts) in [(64, 128, 2), (784, 128, 3), (16, 1024, 4), (8, 8, 4)] {
            let whole = Block {
                rows,
                columns,
                output_row_stride: columns as isize,
                ..whole
            };
            let mut covered = vec![0u8; rows * columns];
            for block in split(whole, parts) {
                let first = (block.output - whole.output) / 4;
                let (row, column) = (first / columns, first % columns);
                for r in row..row + block.rows {
                    for c in column..column + block.columns {
                        covered[r * columns + c] += 1;
                    }
                }
                // Each block reads its own rows of the left operand and columns of the right.
                assert_eq!(block.lhs - whole.lhs, row * 7 * 4);
                assert_eq!(block.rhs - whole.rhs, column * 7 * 4);
            }
            assert!(
                covered.iter().all(|&count| count == 1),
                "{rows} × {columns} in {parts}"
            );
        }
    }
}
