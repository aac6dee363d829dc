//! Helper threads that share the CPU step's matrix products (and its longer element-wise
//! passes) with the thread that trains.
//!
//! # Design
//! A step of a small network on the CPU is a few products of a few dozen to a few hundred
//! microseconds with element-wise work between them. Handing half of a product to a thread
//! that sleeps between products costs its wake-up: measured on a 2-core AMD EPYC, `[64, 784] ·
//! [784, 128]` took 121 µs on one core, 72 µs on rayon's two threads called back to back, and
//! 172 µs (100 µs apart) or 211 µs (300 µs apart) on rayon's two threads when called with work
//! between them, as in a step: rayon's idle threads sleep and are woken per call. So, as BLAS
//! libraries do, the helpers here keep spinning between jobs (yielding the core to any other
//! runnable thread as they spin) and only park after [`SPIN_FOR`] without one: the same
//! product took 61-67 µs, 0 to 300 µs apart.
//!
//! The team is one per process, made on first use: one helper fewer than rayon's thread count
//! (`RAYON_NUM_THREADS`, else the cores), at most [`MOST_THREADS`] threads in all. A job is
//! cut into one [`Part`] per thread (a product into blocks of output rows or columns, a pass
//! into runs of elements); the calling thread runs the first part and waits for the others.
//! Only one caller uses the team at a time: a second (two trainings in one process, as in
//! tests) runs its parts on its own thread rather than wait.

use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long a helper spins for its next job before it parks (a step's products come well
/// within this; between epochs, the helpers park).
pub const SPIN_FOR: Duration = Duration::from_millis(2);

/// The most threads a job is shared among, the caller's included.
pub const MOST_THREADS: usize = 8;

/// A piece of a job that one thread does on its own.
pub trait Part: Sync {
    /// Does the piece on this thread.
    ///
    /// # Safety
    /// The implementor's contract: whatever memory the piece names must stay valid (and what
    /// it writes, unaliased by any other piece) for the call.
    unsafe fn run(&self);
}

/// One block of a product: `gemm`'s arguments, the pointers as addresses (a job crosses
/// threads; the caller keeps every buffer alive until the job is done, see [`Team::run`]).
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// Output rows, output columns and the inner dimension.
    pub rows: usize,
    pub columns: usize,
    pub inner: usize,
    /// The output's first element and its row stride (its column stride is 1).
    pub output: usize,
    pub output_row_stride: isize,
    /// The left operand's first element and its row and column strides.
    pub lhs: usize,
    pub lhs_row_stride: isize,
    pub lhs_column_stride: isize,
    /// The right operand's first element and its row and column strides.
    pub rhs: usize,
    pub rhs_row_stride: isize,
    pub rhs_column_stride: isize,
}

impl Part for Block {
    /// Multiplies the block on this thread.
    ///
    /// # Safety
    /// Every address and stride must describe f32 values that stay valid (and, for the output,
    /// unaliased) for the call: `rows × inner` of the left operand, `inner × columns` of the
    /// right, `rows × columns` of the output.
    unsafe fn run(&self) {
        // SAFETY: the caller's contract; `read_dst` is false, so the output is only written.
        unsafe {
            gemm::gemm(
                self.rows,
                self.columns,
                self.inner,
                self.output as *mut f32,
                1,
                self.output_row_stride,
                false,
                self.lhs as *const f32,
                self.lhs_column_stride,
                self.lhs_row_stride,
                self.rhs as *const f32,
                self.rhs_column_stride,
                self.rhs_row_stride,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

/// A part as a helper receives it: the part's address and the function that runs a part of
/// its type.
#[derive(Clone, Copy)]
struct Job {
    part: usize,
    run: unsafe fn(usize),
}

/// Runs the part of type `P` at `address`.
///
/// # Safety
/// `address` must be a `&P` that stays valid for the call, and [`Part::run`]'s contract hold.
unsafe fn run_part<P: Part>(address: usize) {
    // SAFETY: the caller's contract.
    unsafe { (*(address as *const P)).run() }
}

/// What a helper and the caller share: the job and its generation counters.
struct Slot {
    /// The last job generation posted, and the last one done.
    posted: AtomicUsize,
    done: AtomicUsize,
    /// Whether the helper is parked (or about to park) and must be unparked for a job.
    sleeping: AtomicBool,
    /// Whether a job panicked.
    failed: AtomicBool,
    /// The job, written by the caller before it posts a generation, read by the helper after.
    job: UnsafeCell<Option<Job>>,
}

// SAFETY: `job` is written only by the team's one caller (under `Team::busy`) while the
// helper is idle (every earlier generation done), and read by the helper only after it sees a
// new generation posted (release/acquire on `posted`).
unsafe impl Sync for Slot {}

/// A helper thread and its slot.
struct Helper {
    slot: Arc<Slot>,
    thread: Thread,
}

/// The process's product helpers.
pub struct Team {
    helpers: Vec<Helper>,
    /// Held by the one caller using the team.
    busy: Mutex<()>,
}

impl Team {
    /// The process's team, made on first use.
    pub fn get() -> &'static Team {
        static TEAM: OnceLock<Team> = OnceLock::new();
        TEAM.get_or_init(|| {
            let threads = rayon::current_num_threads().clamp(1, MOST_THREADS);
            Team {
                helpers: (1..threads).filter_map(spawn).collect(),
                busy: Mutex::new(()),
            }
        })
    }

    /// Threads a job may be shared among, the caller's included.
    pub fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Threads to share `work` among, each given at least `least` of it (one at least, at
    /// most [`threads`](Self::threads)).
    pub fn threads_for(&self, work: usize, least: usize) -> usize {
        (work / least).clamp(1, self.threads())
    }

    /// Runs `parts`, the first on this thread and each other on a helper, and returns when
    /// all are done. Where the team is in use by another caller (or `parts` outnumber its
    /// threads), the parts run here, one after another; a single part runs here.
    ///
    /// # Safety
    /// As [`Part::run`], for every part; no part may write what another reads or writes.
    pub unsafe fn run<P: Part>(&self, parts: &[P]) {
        // The lock is taken only where the team will be used (more than one part, no more
        // than its threads), so that parts run here never hold it; one poisoned by a panic
        // elsewhere is still a valid lock.
        let guard = match parts.len() {
            0 | 1 => None,
            count if count > self.threads() => None,
            _ => match self.busy.try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            },
        };
        let Some(guard) = guard else {
            for part in parts {
                // SAFETY: the caller's contract.
                unsafe { part.run() };
            }
            return;
        };
        let Some((own, others)) = parts.split_first() else {
            return;
        };
        let mut generations = Vec::with_capacity(others.len());
        for (helper, part) in self.helpers.iter().zip(others) {
            // SAFETY: the helper is idle (its last generation is done: see below), and only
            // the holder of `busy` writes a job.
            unsafe {
                *helper.slot.job.get() = Some(Job {
                    part: part as *const P as usize,
                    run: run_part::<P>,
                })
            };
            let generation = helper.slot.posted.fetch_add(1, Ordering::SeqCst) + 1;
            if helper.slot.sleeping.load(Ordering::SeqCst) {
                helper.thread.unpark();
            }
            generations.push(generation);
        }
        // SAFETY: the caller's contract. A panic here is held until the helpers are done with
        // the buffers they were given.
        let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { own.run() }));
        let mut failed = false;
        for (helper, generation) in self.helpers.iter().zip(generations) {
            // Spins, yielding the core now and then to any other runnable thread (more
            // threads than cores, as when tests run side by side).
            let mut spins = 0u32;
            while helper.slot.done.load(Ordering::Acquire) != generation {
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(64) {
                    thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            failed |= helper.slot.failed.swap(false, Ordering::AcqRel);
        }
        drop(guard);
        if let Err(panic) = outcome {
            resume_unwind(panic);
        }
        assert!(!failed, "a part of a job failed on a helper thread");
    }
}

/// Starts helper `index`; `None` where the system refuses a thread (the team is then smaller).
fn spawn(index: usize) -> Option<Helper> {
    let slot = Arc::new(Slot {
        posted: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        sleeping: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        job: UnsafeCell::new(None),
    });
    let shared = Arc::clone(&slot);
    let handle = thread::Builder::new()
        .name(format!("mlpc-product-{index}"))
        .spawn(move || serve(&shared))
        .ok()?;
    Some(Helper {
        slot,
        thread: handle.thread().clone(),
    })
}

/// A helper's loop: wait for a generation (spinning, then parked), run its part, mark it
/// done.
fn serve(slot: &Slot) {
    let mut seen = 0;
    loop {
        let idle = Instant::now();
        let mut spins = 0u32;
        while slot.posted.load(Ordering::Acquire) == seen {
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) {
                std::hint::spin_loop();
            } else if idle.elapsed() < SPIN_FOR {
                thread::yield_now();
            } else {
                // Parks only if nothing was posted after `sleeping` was set: the caller sets
                // `posted` before it reads `sleeping` (both sequentially consistent), so either
                // this load sees the job or the caller sees `sleeping` and unparks.
                slot.sleeping.store(true, Ordering::SeqCst);
                if slot.posted.load(Ordering::SeqCst) == seen {
                    thread::park();
                }
                slot.sleeping.store(false, Ordering::SeqCst);
            }
        }
        seen = slot.posted.load(Ordering::Acquire);
        // SAFETY: the caller wrote the job before posting this generation, and writes no other
        // until it is marked done.
        let job = unsafe { *slot.job.get() };
        if let Some(job) = job {
            // SAFETY: the caller keeps the part, and the buffers it names, alive until it sees
            // it done.
            let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { (job.run)(job.part) }));
            if outcome.is_err() {
                slot.failed.store(true, Ordering::Release);
            }
        }
        slot.done.store(seen, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small whole numbers: their products' sums are exact in f32 in any order, so every way of
    /// cutting and sharing a product must give exactly these values.
    struct Case {
        rows: usize,
        inner: usize,
        columns: usize,
        lhs: Vec<f32>,
        rhs: Vec<f32>,
        expected: Vec<f32>,
    }

    impl Case {
        fn new(rows: usize, inner: usize, columns: usize) -> Case {
            let lhs: Vec<f32> = (0..rows * inner)
                .map(|i| ((i * 7) % 13) as f32 - 6.0)
                .collect();
            let rhs: Vec<f32> = (0..inner * columns)
                .map(|i| ((i * 5) % 11) as f32 - 5.0)
                .collect();
            let expected = (0..rows * columns)
                .map(|index| {
                    let (row, column) = (index / columns, index % columns);
                    (0..inner)
                        .map(|step| lhs[row * inner + step] * rhs[step * columns + column])
                        .sum()
                })
                .collect();
            Case {
                rows,
                inner,
                columns,
                lhs,
                rhs,
                expected,
            }
        }

        /// The product, its rows cut into `parts` blocks run on the team.
        fn run(&self, parts: usize) -> Vec<f32> {
            let mut output = vec![f32::NAN; self.rows * self.columns];
            let blocks: Vec<Block> = (0..parts)
                .map(|part| {
                    let start = self.rows * part / parts;
                    let end = self.rows * (part + 1) / parts;
                    Block {
                        rows: end - start,
                        columns: self.columns,
                        inner: self.inner,
                        output: output[start * self.columns..].as_mut_ptr() as usize,
                        output_row_stride: self.columns as isize,
                        lhs: self.lhs[start * self.inner..].as_ptr() as usize,
                        lhs_row_stride: self.inner as isize,
                        lhs_column_stride: 1,
                        rhs: self.rhs.as_ptr() as usize,
                        rhs_row_stride: self.columns as isize,
                        rhs_column_stride: 1,
                    }
                })
                .collect();
            // SAFETY: the blocks are disjoint rows of `output`, which outlives the call, and
            // read rows of `lhs` and all of `rhs` within their lengths.
            unsafe { Team::get().run(&blocks) };
            output
        }
    }

    /// Four threads share the team at once, 200 products each (one at a time gets the helpers,
    /// the others multiply on their own threads): every product is exact.
    #[test]
    fn callers_side_by_side_each_get_their_own_product() {
        let case = Case::new(64, 96, 48);
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for round in 0..200 {
                        let parts = 1 + round % Team::get().threads();
                        assert_eq!(case.run(parts), case.expected, "{parts} blocks");
                    }
                });
            }
        });
    }

    /// A helper that parked after [`SPIN_FOR`] without a job is woken for the next one.
    #[test]
    fn a_parked_helper_is_woken_for_the_next_product() {
        let case = Case::new(48, 32, 40);
        let parts = Team::get().threads().min(3);
        for _ in 0..5 {
            assert_eq!(case.run(parts), case.expected);
            thread::sleep(SPIN_FOR * 3);
        }
    }
}
