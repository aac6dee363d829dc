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
//! [`Team`]'s threads, in runs of [`WIDTH`] columns whose sums stay in registers while a
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

use super::team::{Part, Team};

/// The largest share of nonzero values in a left operand for which a product skips its
/// zeros (see the module's overview).
pub const DENSEST: f32 = 0.25;

/// Output columns summed together, in registers (8 AVX2 vectors).
pub const WIDTH: usize = 64;

/// Right operands whose row stride (in values) is a multiple of this are read from a copy
/// with [`PADDING`] more values a row (see [`multiply`]).
const CONFLICTING_STRIDE: isize = 256;

/// Values added to each row of such a copy.
const PADDING: usize = 16;

/// The most values of a right operand copied so.
const MOST_PADDED: usize = 1 << 16;

/// The most values a left operand may have for its zeros to be skipped: a compression
/// reserves two slots of 4 bytes for each (32 MiB here), kept for the next.
pub const MOST_VALUES: usize = 1 << 22;

/// Values each thread compresses (or transposes) at least.
pub const VALUES_PER_THREAD: usize = 1 << 14;

/// Multiply-adds of nonzero values each thread is given at least.
pub const WORK_PER_THREAD: usize = 1 << 18;

/// A left operand's nonzero values, row by row: row `i`'s are the `ranges[i]` slots of
/// `values`, at inner positions the same slots of `positions` (each row's slots lie in a
/// region of `inner` slots of its own, filled from its start).
#[derive(Debug)]
pub struct Compressed {
    /// The operand's inner dimension: every position is below it.
    inner: usize,
    ranges: Vec<[usize; 2]>,
    /// Written through their addresses only, in each row's region (their lengths stay 0).
    positions: Vec<u32>,
    values: Vec<f32>,
}

/// Elements counted at a time (in 32-bit lanes) by [`nonzeros_below`].
const COUNTED_AT_ONCE: usize = 4096;

/// The number of nonzero values among `values`, if it is at most `limit` (`None` as soon as
/// more are found).
pub fn nonzeros_below(values: &[f32], limit: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { nonzeros_below_avx2(values, limit) };
    }
    nonzeros_below_here(values, limit)
}

/// [`nonzeros_below`] compiled for AVX2.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nonzeros_below_avx2(values: &[f32], limit: usize) -> Option<usize> {
    nonzeros_below_here(values, limit)
}

/// [`nonzeros_below`]'s loop, inlined into each of its compilations.
#[inline(always)]
fn nonzeros_below_here(values: &[f32], limit: usize) -> Option<usize> {
    let mut count = 0;
    for chunk in values.chunks(COUNTED_AT_ONCE) {
        count += chunk
            .iter()
            .map(|value| u32::from(*value != 0.0))
            .sum::<u32>() as usize;
        if count > limit {
            return None;
        }
    }
    Some(count)
}

/// For each mask of eight lanes, the lanes whose bit is set, in order, then the others (the
/// indices that pack the set lanes to the front).
static PACKED_LANES: [[u32; 8]; 256] = {
    let mut table = [[0u32; 8]; 256];
    let mut mask = 0;
    while mask < 256 {
        let mut next = 0;
        let mut lane = 0;
        while lane < 8 {
            if mask & (1 << lane) != 0 {
                table[mask][next] = lane as u32;
                next += 1;
            }
            lane += 1;
        }
        lane = 0;
        while lane < 8 {
            if mask & (1 << lane) == 0 {
                table[mask][next] = lane as u32;
                next += 1;
            }
            lane += 1;
        }
        mask += 1;
    }
    table
};

/// Compresses rows `first..end` of a left operand into their regions (a [`Part`]).
#[derive(Clone, Copy, Debug)]
struct Compression {
    /// The operand's element `[i, k]` is at `data + i·row_stride + k·column_stride`.
    data: usize,
    row_stride: isize,
    column_stride: isize,
    inner: usize,
    first: usize,
    end: usize,
    /// The compressed operand's `ranges`, `positions` and `values` (see [`Compressed`]).
    ranges: usize,
    positions: usize,
    values: usize,
}

impl Part for Compression {
    /// Fills the rows' regions and ranges.
    ///
    /// # Safety
    /// The rows' elements must be readable f32; `ranges` must hold the rows' entries, and
    /// `positions` and `values` their regions (`inner` slots a row, from `row · inner`),
    /// written by no other part.
    unsafe fn run(&self) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2; the contract above.
            unsafe {
                if self.column_stride == 1 {
                    return self.along_rows_avx2();
                }
                if self.row_stride == 1 {
                    return self.across_rows_avx2();
                }
            }
        }
        // SAFETY: the contract above.
        unsafe { self.one_by_one(self.first, self.end) }
    }
}

impl Compression {
    /// Rows `first..end`, element by element.
    ///
    /// # Safety
    /// As [`Part::run`], for those rows.
    #[inline(always)]
    unsafe fn one_by_one(&self, first: usize, end: usize) {
        for row in first..end {
            let region = row * self.inner;
            // SAFETY: the caller's contract.
            let next = unsafe { self.from(row, 0, region) };
            // SAFETY: the caller's contract.
            unsafe { *(self.ranges as *mut [usize; 2]).add(row) = [region, next] };
        }
    }

    /// Row `row`'s elements from `position` on into its slots from `next`, element by
    /// element; returns the next free slot.
    ///
    /// # Safety
    /// As [`Part::run`], for that row; `next` must be at most the row's region's start plus
    /// `position`.
    #[inline(always)]
    unsafe fn from(&self, row: usize, position: usize, mut next: usize) -> usize {
        let data = self.data as *const f32;
        let (positions, values) = (self.positions as *mut u32, self.values as *mut f32);
        for position in position..self.inner {
            // SAFETY: the caller's contract: the element is readable, and `next` stays within
            // the row's region (it advances at most once an element).
            unsafe {
                let value = *data.offset(
                    row as isize * self.row_stride + position as isize * self.column_stride,
                );
                *positions.add(next) = position as u32;
                *values.add(next) = value;
                next += usize::from(value != 0.0);
            }
        }
        next
    }

    /// [`Part::run`] where a row's elements are consecutive (column stride 1): eight
    /// elements compared with zero at once, the slots written for the nonzero ones only.
    ///
    /// # Safety
    /// As [`Part::run`], on a CPU with AVX2, with a column stride of 1.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn along_rows_avx2(&self) {
        use std::arch::x86_64::{
            __m256i, _CMP_NEQ_UQ, _mm256_add_epi32, _mm256_cmp_ps, _mm256_loadu_ps,
            _mm256_loadu_si256, _mm256_movemask_ps, _mm256_permutevar8x32_ps, _mm256_set1_epi32,
            _mm256_setzero_ps, _mm256_storeu_ps, _mm256_storeu_si256,
        };
        let data = self.data as *const f32;
        let (positions, values) = (self.positions as *mut u32, self.values as *mut f32);
        for row in self.first..self.end {
            let region = row * self.inner;
            let mut next = region;
            // SAFETY: the caller's contract: the row's elements are readable.
            let start = unsafe { data.offset(row as isize * self.row_stride) };
            let mut position = 0;
            while position + 8 <= self.inner {
                // SAFETY: elements `position..position + 8` of the row are readable. The
                // nonzero ones, packed to the front, and their positions are stored as eight
                // lanes from `next`, which is at most the region's start plus `position`: the
                // eight slots lie in the row's region (`inner` slots); `next` then advances
                // past the nonzero ones only.
                unsafe {
                    let eight = _mm256_loadu_ps(start.add(position));
                    // "Not equal, or unordered": a NaN is kept, as `!= 0.0` keeps it.
                    let mask = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(
                        eight,
                        _mm256_setzero_ps(),
                    )) as usize;
                    // Runs of zeros (an image's background) skip the stores.
                    if mask != 0 {
                        let lanes =
                            _mm256_loadu_si256(PACKED_LANES[mask].as_ptr() as *const __m256i);
                        _mm256_storeu_ps(values.add(next), _mm256_permutevar8x32_ps(eight, lanes));
                        let packed = _mm256_add_epi32(lanes, _mm256_set1_epi32(position as i32));
                        _mm256_storeu_si256(positions.add(next) as *mut __m256i, packed);
                        next += mask.count_ones() as usize;
                    }
                }
                position += 8;
            }
            // SAFETY: the caller's contract; `next` is at most the region's start plus
            // `position`.
            let next = unsafe { self.from(row, position, next) };
            // SAFETY: the caller's contract.
            unsafe { *(self.ranges as *mut [usize; 2]).add(row) = [region, next] };
        }
    }

    /// [`Part::run`] where the rows' elements at one position are consecutive (row stride
    /// 1, as in a transposed row-major operand): eight rows' elements compared with zero at
    /// once, position by position.
    ///
    /// # Safety
    /// As [`Part::run`], on a CPU with AVX2, with a row stride of 1.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn across_rows_avx2(&self) {
        use std::arch::x86_64::{
            _CMP_NEQ_UQ, _mm256_cmp_ps, _mm256_loadu_ps, _mm256_movemask_ps, _mm256_setzero_ps,
        };
        let data = self.data as *const f32;
        let (positions, values) = (self.positions as *mut u32, self.values as *mut f32);
        let mut row = self.first;
        while row + 8 <= self.end {
            let mut next: [usize; 8] = std::array::from_fn(|lane| (row + lane) * self.inner);
            for position in 0..self.inner {
                // SAFETY: rows `row..row + 8` at `position` are readable and consecutive (row
                // stride 1); each nonzero one takes its row's next slot (at most one a
                // position).
                unsafe {
                    let first = data.offset(row as isize + position as isize * self.column_stride);
                    let eight = _mm256_loadu_ps(first);
                    let mut mask = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NEQ_UQ>(
                        eight,
                        _mm256_setzero_ps(),
                    )) as u32;
                    while mask != 0 {
                        let lane = mask.trailing_zeros() as usize;
                        *positions.add(next[lane]) = position as u32;
                        *values.add(next[lane]) = *first.add(lane);
                        next[lane] += 1;
                        mask &= mask - 1;
                    }
                }
            }
            for (lane, next) in next.into_iter().enumerate() {
                // SAFETY: the caller's contract.
                unsafe {
                    *(self.ranges as *mut [usize; 2]).add(row + lane) =
                        [(row + lane) * self.inner, next]
                };
            }
            row += 8;
        }
        // SAFETY: the caller's contract.
        unsafe { self.one_by_one(row, self.end) };
    }
}

impl Compressed {
    /// No rows, and no buffers.
    pub const fn empty() -> Compressed {
        Compressed {
            inner: 0,
            ranges: Vec::new(),
            positions: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Fills this operand's buffers (kept from an earlier operand where they are large
    /// enough) with the nonzero values of the `[rows, inner]` operand whose element `[i, k]`
    /// is at `data + i·row_stride + k·column_stride`, its rows cut among at most `threads` of
    /// the team.
    ///
    /// # Safety
    /// Every such element must be a readable f32.
    pub unsafe fn fill(
        &mut self,
        data: *const f32,
        [rows, inner]: [usize; 2],
        [row_stride, column_stride]: [isize; 2],
        threads: usize,
        team: &Team,
    ) {
        self.inner = inner;
        self.ranges.clear();
        self.ranges.reserve(rows);
        self.positions.reserve(rows * inner);
        self.values.reserve(rows * inner);
        let parts = threads.clamp(1, rows.max(1));
        let whole = Compression {
            data: data as usize,
            row_stride,
            column_stride,
            inner,
            first: 0,
            end: rows,
            ranges: self.ranges.as_mut_ptr() as usize,
            positions: self.positions.as_mut_ptr() as usize,
            values: self.values.as_mut_ptr() as usize,
        };
        let cuts: Vec<Compression> = (0..parts)
            .map(|part| {
                // Cuts at multiples of eight rows (compared eight at a time where the row
                // stride is 1).
                let cut = |part: usize| match part == parts {
                    true => rows,
                    false => rows * part / parts / 8 * 8,
                };
                Compression {
                    first: cut(part),
                    end: cut(part + 1),
                    ..whole
                }
            })
            .collect();
        // SAFETY: the caller's contract; the parts fill disjoint rows' regions and ranges,
        // within the capacities reserved above.
        unsafe { team.run(&cuts) };
        // SAFETY: every row's range was written.
        unsafe { self.ranges.set_len(rows) };
    }

    /// Fills `transpose` (its buffers kept where large enough) with this operand's
    /// transpose, compressed: `inner` rows (this operand's positions), each listing the rows
    /// with a nonzero value there, in order; cut among at most `threads` of the team. The
    /// same as compressing the transpose itself ([`fill`](Self::fill)).
    pub fn transpose(&self, transpose: &mut Compressed, inner: usize, threads: usize, team: &Team) {
        let rows = self.rows();
        transpose.inner = rows;
        transpose.ranges.clear();
        transpose.ranges.reserve(inner);
        transpose.positions.reserve(rows * inner);
        transpose.values.reserve(rows * inner);
        debug_assert!((0..rows).all(|row| {
            self.row(row)
                .0
                .iter()
                .all(|&position| (position as usize) < inner)
        }));
        let parts = threads.clamp(1, inner.max(1));
        let cuts: Vec<Transposition> = (0..parts)
            .map(|part| Transposition {
                source: self as *const Compressed as usize,
                first: inner * part / parts,
                end: inner * (part + 1) / parts,
                ranges: transpose.ranges.as_mut_ptr() as usize,
                positions: transpose.positions.as_mut_ptr() as usize,
                values: transpose.values.as_mut_ptr() as usize,
            })
            .collect();
        // SAFETY: the parts write disjoint rows of the transpose, within the capacities
        // reserved above; this operand's positions are below `inner` (its rows were
        // compressed from `inner` positions).
        unsafe { team.run(&cuts) };
        // SAFETY: every row's range was written.
        unsafe { transpose.ranges.set_len(inner) };
    }

    /// Nonzero values.
    pub fn nonzeros(&self) -> usize {
        self.ranges.iter().map(|[start, end]| end - start).sum()
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.ranges.len()
    }

    /// Row `row`'s nonzero values' positions and values.
    fn row(&self, row: usize) -> (&[u32], &[f32]) {
        let [start, end] = self.ranges[row];
        // SAFETY: the row's slots `start..end` were written (see `Compression`), within the
        // buffers' capacities.
        unsafe {
            (
                std::slice::from_raw_parts(self.positions.as_ptr().add(start), end - start),
                std::slice::from_raw_parts(self.values.as_ptr().add(start), end - start),
            )
        }
    }
}

/// Writes the compressed rows `first..end` of an operand's transpose (its columns) from the
/// operand's compressed rows (a [`Part`]).
#[derive(Clone, Copy, Debug)]
struct Transposition {
    /// The operand, compressed ([`Compressed`]).
    source: usize,
    /// The transpose's rows (the operand's positions) this part writes.
    first: usize,
    end: usize,
    /// The transpose's `ranges`, `positions` and `values`: its row `k`'s region holds the
    /// operand's row count of slots from `k` times that count.
    ranges: usize,
    positions: usize,
    values: usize,
}

impl Part for Transposition {
    /// Fills the rows' regions and ranges: row `k` lists each row of the operand that has a
    /// nonzero value at position `k`, in order, with that value.
    ///
    /// # Safety
    /// `ranges` must hold the transpose's rows' entries, and `positions` and `values` their
    /// regions, written by no other part; the source's positions must be below the
    /// transpose's row count.
    unsafe fn run(&self) {
        // SAFETY: the caller's contract.
        let source = unsafe { &*(self.source as *const Compressed) };
        let rows = source.rows();
        let ranges = self.ranges as *mut [usize; 2];
        let (positions, values) = (self.positions as *mut u32, self.values as *mut f32);
        for row in self.first..self.end {
            // SAFETY: the caller's contract: this part's rows.
            unsafe { *ranges.add(row) = [row * rows, row * rows] };
        }
        for row in 0..rows {
            let (found, numbers) = source.row(row);
            // A row's positions ascend: those of this part's rows are one run.
            let start = found.partition_point(|&position| (position as usize) < self.first);
            let end = found.partition_point(|&position| (position as usize) < self.end);
            for (&position, &value) in found[start..end].iter().zip(&numbers[start..end]) {
                // SAFETY: the caller's contract: a row of this part, whose region has a slot
                // for each of the operand's rows (at most one value each).
                unsafe {
                    let range = &mut *ranges.add(position as usize);
                    *positions.add(range[1]) = row as u32;
                    *values.add(range[1]) = value;
                    range[1] += 1;
                }
            }
        }
    }
}

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
    let inner = compressed.inner;
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

/// Threads to share `work` among, each given at least `least` of it.
pub fn threads_for(work: usize, least: usize, team: &Team) -> usize {
    (work / least).clamp(1, team.threads())
}

#[cfg(test)]
mod tests {
    use super::*;

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
