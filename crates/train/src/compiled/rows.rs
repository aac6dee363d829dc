//! A batch's rows copied out of the resident training set on the CPU, shared among the cores.
//!
//! # Design
//! On the CPU each step gathers its batch's rows from the training set ([`crate::device_data`]):
//! rows of a few kilobytes each from anywhere in a set of a few hundred megabytes, so mostly
//! waits on memory. burn's `select` copies them one after another on the training thread: for
//! the MNIST benchmark at batch 64 (784-128-10, a step of about 220 µs on a 2-core AMD EPYC)
//! that was a sixth of the training thread while the product helpers waited. On flex, for an
//! f32 set laid out row after row, [`gather`] cuts the batch's rows into one run per thread of
//! the [`Team`] (from [`ROWS_SHARED_FROM`] values) and copies them into a new tensor; the copy
//! is the rows' values exactly, so nothing downstream changes. Elsewhere it declines and burn's
//! `select` runs. Measured on that machine, interleaved (five runs each): the benchmark at batch
//! 64 went from 250,300-300,000 (median 275,700) to 263,800-322,100 (median 292,500) samples/s,
//! ahead in every pair.

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexTensor;

use super::flex::{flex_f32, primitive};
use super::team::{Part, Team};

/// Values a thread copies at least (32 KiB of f32), and so the fewest a shared gather copies
/// per thread.
pub const VALUES_PER_THREAD: usize = 1 << 13;

/// Values of a batch from which its rows are shared among the cores.
pub const ROWS_SHARED_FROM: usize = 2 * VALUES_PER_THREAD;

/// The rows of `set` (`[rows, width]`) at `indices`, in that order, as a new tensor; `None`
/// where this copy does not apply (not an f32 tensor on flex, not laid out row after row, an
/// index out of range, nothing to copy), for burn's `select` to take (and report).
pub fn gather(set: &Tensor<2>, indices: &[usize]) -> Option<Tensor<2>> {
    let [rows, width] = set.dims();
    let values = indices.len().checked_mul(width)?;
    if !flex_f32(set) || values == 0 || indices.iter().any(|&index| index >= rows) {
        return None;
    }
    let primitive = primitive(set.clone());
    let layout = primitive.layout();
    if !layout.is_contiguous() {
        return None;
    }
    let storage = primitive.storage::<f32>();
    let source = storage.get(layout.start_offset()..layout.start_offset() + rows * width)?;
    let mut output: Vec<f32> = Vec::with_capacity(values);
    let team = Team::get();
    let parts = team
        .threads_for(values, VALUES_PER_THREAD)
        .min(indices.len());
    let copies: Vec<RowCopy> = (0..parts)
        .map(|part| {
            let start = indices.len() * part / parts;
            let end = indices.len() * (part + 1) / parts;
            RowCopy {
                source: source.as_ptr() as usize,
                indices: indices[start..end].as_ptr() as usize,
                rows: end - start,
                width,
                output: output.as_mut_ptr() as usize + start * width * std::mem::size_of::<f32>(),
            }
        })
        .collect();
    // SAFETY: each copy reads whole rows of `source` (every index checked in range) and the
    // indices of its own range, and writes its own rows of `output`, within its capacity; all
    // outlive the call.
    unsafe { team.run(&copies) };
    // SAFETY: the copies wrote every row of the output (their ranges cover the indices); a
    // panic in one leaves the length 0.
    unsafe { output.set_len(values) };
    Some(Tensor::from_primitive::<Flex>(FlexTensor::from_data(
        TensorData::new(output, [indices.len(), width]),
    )))
}

/// Rows `indices[..rows]` of a row-after-row `source` of `width` values each, into
/// consecutive rows of `output` (the addresses as numbers: a [`Part`] may cross threads).
#[derive(Clone, Copy, Debug)]
struct RowCopy {
    source: usize,
    indices: usize,
    rows: usize,
    width: usize,
    output: usize,
}

impl Part for RowCopy {
    /// Copies the rows.
    ///
    /// # Safety
    /// `indices` must address `rows` indices, each of a whole row of `source`, and `output`
    /// room for `rows × width` values that nothing else reads or writes during the call.
    unsafe fn run(&self) {
        // SAFETY: the contract above.
        unsafe {
            let indices = std::slice::from_raw_parts(self.indices as *const usize, self.rows);
            let source = self.source as *const f32;
            let output = self.output as *mut f32;
            for (row, &index) in indices.iter().enumerate() {
                std::ptr::copy_nonoverlapping(
                    source.add(index * self.width),
                    output.add(row * self.width),
                    self.width,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ROWS_SHARED_FROM, gather};
    use burn::tensor::{Device, Int, Tensor, TensorData};

    /// A set whose every value says its row and column.
    fn set(rows: usize, width: usize) -> Tensor<2> {
        let values: Vec<f32> = (0..rows * width).map(|value| value as f32).collect();
        Tensor::from_data(TensorData::new(values, [rows, width]), &Device::flex())
    }

    /// burn's `select` of the same rows.
    fn selected(set: &Tensor<2>, indices: &[usize]) -> Tensor<2> {
        let indices: Vec<i64> = indices.iter().map(|&index| index as i64).collect();
        let count = indices.len();
        let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [count]), &set.device());
        set.clone().select(0, indices)
    }

    /// Small and large batches (one run, and one per thread), repeated and reversed rows, and
    /// a set that is a slice of a larger one: burn's `select`'s values exactly.
    #[test]
    fn the_rows_are_burns_selects() {
        let whole = set(700, 150);
        let sliced = whole.clone().narrow(0, 50, 600);
        let many: Vec<usize> = (0..512).map(|row| (row * 379) % 600).collect();
        assert!(many.len() * 150 >= ROWS_SHARED_FROM);
        for (set, indices) in [
            (&whole, vec![3, 3, 0, 699]),
            (&whole, (0..700).rev().collect()),
            (&sliced, many.clone()),
            (&sliced, vec![599, 0]),
        ] {
            let found = gather(set, &indices).expect("the copy applies on flex");
            assert_eq!(found.to_data(), selected(set, &indices).to_data());
        }
    }

    /// An index out of range, no rows, and a transposed set are left to burn's `select`.
    #[test]
    fn it_declines_what_it_does_not_copy() {
        let whole = set(10, 4);
        assert!(gather(&whole, &[2, 10]).is_none());
        assert!(gather(&whole, &[]).is_none());
        assert!(gather(&whole.transpose(), &[1]).is_none());
    }
}
