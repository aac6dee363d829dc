//! The product of a compressed left operand and a right operand ([`multiply`]): each output
//! row's runs of [`WIDTH`] columns summed in registers from the row's nonzero values.

use super::Compressed;
use crate::compiled::team::{Part, Team};

/// Output columns summed together, in registers (8 AVX2 vectors).
pub const WIDTH: usize = 64;

/// Right operands whose row stride (in values) is a multiple of this are read from a copy
/// with [`PADDING`] more values a row (see [`multiply`]).
const CONFLICTING_STRIDE: isize = 256;

/// Values added to each row of such a copy.
const PADDING: usize = 16;

/// The most values of a right operand copied so.
const MOST_PADDED: usize = 1 << 16;

/// A run of output columns of a product with a compressed left operand (a [`Part`]; the
/// addresses' owners outlive the job).
#[derive(Clone, Copy, Debug)]
pub struct Columns {
    /// The left operand ([`Compressed`]).
    pub compressed: usize,
    /// The run's first column and its number of columns.
    pub first: usize,
    pub count: usize,
    /// The right operand's first element and its row stride (its column stride is 1).
    pub rhs: usize,
    pub rhs_row_stride: isize,
    /// The output's first element and its row stride (its column stride is 1).
    pub output: usize,
    pub output_row_stride: isize,
}

impl Part for Columns {
    /// Writes the run's columns of every output row.
    ///
    /// # Safety
    /// `compressed` must address a [`Compressed`] whose positions are rows of the right
    /// operand, which must hold the run's columns in each; the output must hold them in each
    /// of the compressed rows, unaliased.
    unsafe fn run(&self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA; the contract above.
            return unsafe { self.run_avx2() };
        }
        // SAFETY: the contract above.
        unsafe { self.run_here() }
    }
}

impl Columns {
    /// [`Part::run`] compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// As [`Part::run`], on a CPU with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self) {
        // SAFETY: the caller's contract.
        unsafe { self.run_here() }
    }

    /// [`Part::run`]'s loops, inlined into each of its compilations.
    ///
    /// # Safety
    /// As [`Part::run`].
    #[inline(always)]
    unsafe fn run_here(&self) {
        let mut column = self.first;
        let end = self.first + self.count;
        // Runs of `WIDTH` columns, then of eight, then one by one.
        while column < end {
            let left = end - column;
            // SAFETY: the caller's contract, for columns within the run.
            let width = unsafe {
                if left >= WIDTH {
                    self.sums::<WIDTH>(column, WIDTH);
                    WIDTH
                } else if left >= 8 {
                    self.sums::<8>(column, left / 8 * 8);
                    left / 8 * 8
                } else {
                    self.sums::<1>(column, left);
                    left
                }
            };
            column += width;
        }
    }

    /// Output columns `column..column + width`, `W` at a time (`width` a multiple of `W`).
    ///
    /// # Safety
    /// As [`Part::run`], for those columns.
    #[inline(always)]
    unsafe fn sums<const W: usize>(&self, column: usize, width: usize) {
        // SAFETY: the caller's contract.
        let compressed = unsafe { &*(self.compressed as *const Compressed) };
        let rhs = self.rhs as *const f32;
        let output = self.output as *mut f32;
        for row in 0..compressed.rows() {
            let (positions, values) = compressed.row(row);
            for offset in (0..width).step_by(W) {
                let mut sums = [0f32; W];
                for (&position, &value) in positions.iter().zip(values) {
                    // SAFETY: the caller's contract: the position is a row of the right
                    // operand holding these columns.
                    let terms = unsafe {
                        &*(rhs.offset(
                            position as isize * self.rhs_row_stride + (column + offset) as isize,
                        ) as *const [f32; W])
                    };
                    for (sum, term) in sums.iter_mut().zip(terms) {
                        *sum = value.mul_add(*term, *sum);
                    }
                }
                // SAFETY: the caller's contract: the output row holds these columns, and only
                // this run writes them.
                unsafe {
                    let first = output
                        .offset(row as isize * self.output_row_stride + (column + offset) as isize);
                    std::ptr::copy_nonoverlapping(sums.as_ptr(), first, W);
                }
            }
        }
    }
}

/// `lhs · rhs` into `output` (`[rows, columns]`, row stride `columns`) from the nonzero
/// values of the left operand, compressed: the right operand's element `[k, c]` is at `rhs +
/// k·rhs_row_stride + c`. The output's columns are cut among at most `threads` of the team
/// (see the module's overview).
///
/// # Safety
/// `rhs` must hold `columns` values in each of its first `inner` rows (the compressed
/// operand's inner dimension; at its row stride), and `output` `rows × columns` values that
/// nothing else reads or writes.
pub unsafe fn multiply(
    compressed: &Compressed,
    rhs: *const f32,
    rhs_row_stride: isize,
    columns: usize,
    output: *mut f32,
    threads: usize,
    team: &Team,
) {
    // A right operand whose rows lie a multiple of 1 KiB apart (a weight gradient's `g`, 512
    // values wide) is read from a copy with longer rows: in place, a run's rows fall into the
    // same few sets of the core's first-level cache and evict each other (`xᵀ g` at `[784,
    // 64] · [64, 512]` took 142 µs reading `g` in place, 91 µs with rows 16 values longer).
    let padded: Vec<f32>;
    let inner = compressed.inner();
    let (rhs, rhs_row_stride) =
        match rhs_row_stride % CONFLICTING_STRIDE == 0 && inner * columns <= MOST_PADDED {
            true => {
                let stride = columns + PADDING;
                let mut copy = Vec::with_capacity(inner * stride);
                for position in 0..inner {
                    // SAFETY: the caller's contract: `rhs` holds `columns` values in each of
                    // its first `inner` rows.
                    copy.extend_from_slice(unsafe {
                        std::slice::from_raw_parts(
                            rhs.offset(position as isize * rhs_row_stride),
                            columns,
                        )
                    });
                    copy.extend_from_slice(&[0.0; PADDING]);
                }
                padded = copy;
                (padded.as_ptr(), stride as isize)
            }
            false => (rhs, rhs_row_stride),
        };
    let parts = threads.min(columns.div_ceil(WIDTH)).max(1);
    let runs: Vec<Columns> = (0..parts)
        .map(|part| {
            // Each run but the last a whole number of `WIDTH` columns.
            let boundary = |part: usize| match part == parts {
                true => columns,
                false => (columns * part / parts).div_ceil(WIDTH) * WIDTH,
            };
            let (first, end) = (boundary(part), boundary(part + 1).min(columns));
            Columns {
                compressed: compressed as *const Compressed as usize,
                first,
                count: end.saturating_sub(first),
                rhs: rhs as usize,
                rhs_row_stride,
                output: output as usize,
                output_row_stride: columns as isize,
            }
        })
        .collect();
    // SAFETY: the runs write disjoint columns of the output; the caller's contract.
    unsafe { team.run(&runs) };
}
