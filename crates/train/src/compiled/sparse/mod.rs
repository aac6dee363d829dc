//! Products whose left operand is mostly zeros, on the CPU: only its nonzero values are
//! multiplied.
//!
//! # Design
//! A dense layer's input is often mostly zeros: MNIST's pixels are 81% zeros (the digit's
//! background), a one-hot encoded table more. `gemm` multiplies every value. On flex, where the
//! left operand of a large product (the first layer's input `x` in `x W`, its transpose in
//! the weight's gradient `xᵀ g`) has at most [`DENSEST`] of its values nonzero,
//! `super::product` lists each of its rows' nonzero values and their positions
//! ([`Compressed::fill`]: eight values compared with zero at once, the nonzero ones packed
//! and stored together, runs of zeros skipped), and [`multiply`] sums, for each output row,
//! those values times the right operand's matching rows: `out[i, c] = Σₖ lhs[i, k] · rhs[k,
//! c]` over the nonzero `lhs[i, k]`, in increasing `k`, each term a fused multiply-add (the
//! same values on every machine: a CPU without the instruction computes the same rounding in
//! software) and for any number of threads. The output's columns are cut among the
//! team's threads, in runs of [`WIDTH`] columns whose sums stay in registers while a
//! row's nonzero values are read. `super::product` keeps the last operand it compressed (and
//! a handle on it, so its buffer stays as it was): the weight gradient's `xᵀ` that follows
//! `x W` takes `x`'s compression transposed ([`Compressed::transpose`]) rather than reading
//! `x` again.
//!
//! Measured on a 2-core AMD EPYC (AVX-512), two threads, MNIST's images (a different batch
//! each time), best of 300:
//!
//! | product | `gemm` | compressing (or transposing) + multiplying |
//! | --- | --- | --- |
//! | `x W`, `[64, 784] · [784, 512]` (the flagship's) | 232 µs | 17 + 135 µs |
//! | `xᵀ g`, `[784, 64] · [64, 512]` | 238 µs | 17 + 107 µs (`g` copied with longer rows) |
//! | `x W`, `[64, 784] · [784, 128]` | 57 µs | 15 + 31 µs |
//! | `xᵀ g`, `[784, 64] · [64, 128]` | 60 µs | 19 + 29 µs |
//! | `x W`, `[512, 784] · [784, 128]` | 450 µs | 129 + 252 µs |
//! | `xᵀ g`, `[784, 512] · [512, 128]` | 447 µs | 146 + 249 µs |
//!
//! With uniformly scattered nonzero values (no runs of zeros to skip), the product of
//! `[64, 784] · [784, 128]` broke even with `gemm` at 30% of them nonzero; [`DENSEST`] is
//! 25%. A hidden layer's input after relu (about half zeros) stays with `gemm`.
//!
//! Skipping a zero leaves out a term `0 · r`, which is `0` unless `r` is infinite or not a
//! number: a weight that has become one shows in the outputs of the rows whose value there is
//! not zero, as with `gemm`, and in no other.

mod compression;
mod multiply;

pub use compression::{Compressed, nonzeros_below};
pub use multiply::{WIDTH, multiply};

/// The largest share of nonzero values in a left operand for which a product skips its
/// zeros (see the module's overview).
pub const DENSEST: f32 = 0.25;

/// The most values a left operand may have for its zeros to be skipped: a compression
/// reserves two slots of 4 bytes for each (32 MiB here), kept for the next.
pub const MOST_VALUES: usize = 1 << 22;

/// Values each thread compresses (or transposes) at least.
pub const VALUES_PER_THREAD: usize = 1 << 14;

/// Multiply-adds of nonzero values each thread is given at least.
pub const WORK_PER_THREAD: usize = 1 << 18;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiled::team::Team;

    /// A `[rows, inner]` operand of small whole numbers with about `density` of them nonzero,
    /// from a seed (the products' sums are exact in f32 in any order).
    fn operand(rows: usize, inner: usize, density: f64, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..rows * inner)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let draw = (state >> 33) as f64 / (1u64 << 31) as f64;
                match draw < density {
                    true => ((state >> 20) % 9) as f32 - 4.0,
                    false => 0.0,
                }
            })
            .collect()
    }

    fn dense_product(
        lhs: &[f32],
        rhs: &[f32],
        [rows, inner, columns]: [usize; 3],
        transposed: bool,
    ) -> Vec<f32> {
        (0..rows * columns)
            .map(|index| {
                let (row, column) = (index / columns, index % columns);
                (0..inner)
                    .map(|k| {
                        let left = match transposed {
                            true => lhs[k * rows + row],
                            false => lhs[row * inner + k],
                        };
                        left * rhs[k * columns + column]
                    })
                    .sum()
            })
            .collect()
    }

    fn sparse_product(
        lhs: &[f32],
        rhs: &[f32],
        [rows, inner, columns]: [usize; 3],
        transposed: bool,
        threads: usize,
    ) -> Vec<f32> {
        let strides = match transposed {
            true => [1, rows as isize],
            false => [inner as isize, 1],
        };
        let team = Team::get();
        let mut compressed = Compressed::empty();
        // SAFETY: the strides address `lhs` within its length.
        unsafe { compressed.fill(lhs.as_ptr(), [rows, inner], strides, threads, team) };
        multiplied(&compressed, rhs, columns, threads)
    }

    /// The product of a compressed operand and `rhs` (`columns` wide), on `threads`.
    fn multiplied(
        compressed: &Compressed,
        rhs: &[f32],
        columns: usize,
        threads: usize,
    ) -> Vec<f32> {
        let rows = compressed.rows();
        let mut output = vec![f32::NAN; rows * columns];
        // SAFETY: `rhs` holds `columns` values from each of its rows the positions name, the
        // output `[rows, columns]`.
        unsafe {
            multiply(
                compressed,
                rhs.as_ptr(),
                columns as isize,
                columns,
                output.as_mut_ptr(),
                threads,
                Team::get(),
            )
        };
        output
    }

    /// An operand's transpose from its compressed rows is its compressed columns: the same
    /// rows, positions and values as compressing the transpose, and so the same products.
    #[test]
    fn the_transposed_compression_is_the_compression_of_the_transpose() {
        let team = Team::get();
        for (rows, inner) in [(64, 784), (5, 7), (33, 50), (16, 8)] {
            let lhs = operand(rows, inner, 0.2, 8);
            let mut direct = Compressed::empty();
            let mut transposed = Compressed::empty();
            // SAFETY: row-major and column-major strides within `lhs`.
            unsafe {
                direct.fill(lhs.as_ptr(), [rows, inner], [inner as isize, 1], 2, team);
                transposed.fill(lhs.as_ptr(), [inner, rows], [1, inner as isize], 2, team);
            }
            for threads in 1..=3 {
                let mut derived = Compressed::empty();
                direct.transpose(&mut derived, inner, threads, team);
                assert_eq!(derived.rows(), inner);
                for row in 0..inner {
                    assert_eq!(
                        derived.row(row),
                        transposed.row(row),
                        "{rows}×{inner}, row {row}"
                    );
                }
                let rhs = operand(rows, 70, 1.0, 9);
                assert_eq!(
                    multiplied(&derived, &rhs, 70, threads),
                    multiplied(&transposed, &rhs, 70, threads)
                );
            }
        }
    }

    /// Whole numbers: the skipped zeros leave the sums exact, for plain and transposed left
    /// operands, widths that are and are not multiples of [`WIDTH`], and any number of runs.
    #[test]
    fn the_product_of_the_nonzero_values_is_the_whole_product() {
        for (rows, inner, columns) in [
            (64, 784, 128),
            (784, 64, 512),
            (5, 7, 3),
            (33, 50, 130),
            (9, 20, 91),
        ] {
            for transposed in [false, true] {
                let lhs = operand(rows, inner, 0.2, 3);
                let rhs = operand(inner, columns, 1.0, 4);
                let expected = dense_product(&lhs, &rhs, [rows, inner, columns], transposed);
                for threads in 1..=4 {
                    let found =
                        sparse_product(&lhs, &rhs, [rows, inner, columns], transposed, threads);
                    assert_eq!(found, expected, "{rows}×{inner}×{columns}, {threads} runs");
                }
            }
        }
    }

    /// An operand of zeros only, and one with none.
    #[test]
    fn all_zeros_and_no_zeros() {
        for density in [0.0, 1.0] {
            let lhs = operand(20, 30, density, 5);
            let rhs = operand(30, 70, 1.0, 6);
            let expected = dense_product(&lhs, &rhs, [20, 30, 70], false);
            assert_eq!(sparse_product(&lhs, &rhs, [20, 30, 70], false, 2), expected);
        }
    }
}
