//! A left operand's nonzero values listed row by row ([`Compressed`]): eight values compared
//! with zero at once and the nonzero ones stored packed ([`Compressed::fill`]), or an
//! operand's compression transposed ([`Compressed::transpose`]).

use crate::compiled::team::{Part, Team};

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
        if self.column_stride == 1 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2; the contract above.
            return unsafe { self.along_rows_avx2() };
        }
        // Any other layout (a transpose compressed as it is, where no compression of the
        // operand it transposes is remembered: rare), element by element.
        // SAFETY: the contract above.
        unsafe { self.one_by_one() }
    }
}

impl Compression {
    /// [`Part::run`] element by element.
    ///
    /// # Safety
    /// As [`Part::run`].
    unsafe fn one_by_one(&self) {
        for row in self.first..self.end {
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
            .map(|part| Compression {
                first: rows * part / parts,
                end: rows * (part + 1) / parts,
                ..whole
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

    /// The operand's inner dimension: every position is below it.
    pub fn inner(&self) -> usize {
        self.inner
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.ranges.len()
    }

    /// Row `row`'s nonzero values' positions and values.
    pub(super) fn row(&self, row: usize) -> (&[u32], &[f32]) {
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
