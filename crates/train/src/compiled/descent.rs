//! The update's element-wise passes on the CPU: a parameter's value lowered by its decrement
//! (`w ← w - d`), and SGD with momentum, Adam and AdamW (the state advanced and the value
//! lowered) in one pass each, in the tensors' own buffers and shared among the cores.
//!
//! # Design
//! Composed of burn's operations, momentum is five passes over a parameter's values (`m v`,
//! `+ g`, and for Nesterov `m v` and `+ g` again, then `lr d`) and a sixth for `w - lr d`, and
//! Adam a dozen, each writing a new tensor; on flex they run element by element on the
//! training thread while the [`Team`]'s helpers wait for the next product. For the flagship's
//! first layer (784 × 512 values) those passes were most of a step's element-wise work, and
//! with Adam about half of the whole step. On flex, where the value's and the states' buffers
//! each have one owner and every tensor is laid out row after row, [`momentum`] and [`adam`] do
//! the same f32 arithmetic, operation by operation in the same order as `super::update`'s
//! composed operations (burn's optimizers' order: the weight decay added to the gradient, `v ←
//! v·m + g`, `d = v·m + g` or `v`, `w ← w - d·lr`; Adam's moments, its direction with the
//! bias corrections as [`super::scalar::StepRow::new`] folds them, AdamW's decoupled decay),
//! in one pass over the buffers, so their values are burn's to the bit (the tests here and in
//! `super::update` compare them for every rule); [`subtract`] is plain SGD's `w - d` the same
//! way, each compiled for AVX2 where the CPU has it (chosen at run time). A pass of at least
//! [`SHARE_FROM`] values is cut into one run of elements per thread;
//! each element is computed alone, so the values do not depend on the cut. Anywhere else (not
//! flex, not f32, a factor on the device, a shared buffer, another layout) burn's operations
//! run.
//!
//! Measured on a 2-core AMD EPYC (AVX-512): the flagship's first-layer Nesterov update took
//! 209-247 µs composed and 122-179 µs with the velocity and decrement in one pass and the
//! value's subtraction apart, before this module; with it, on one thread, 104 µs (72 µs in
//! the AVX2 compilation), and Adam's 251 µs (129 µs); the whole step's figures are in the
//! README (Performance).

use burn::backend::Flex;
use burn::tensor::Tensor;

use super::flex::{flex_f32, primitive, row_after_row};
use super::scalar::Scalar;
use super::team::{Part, Team};

/// Values from which a pass is shared among the cores.
pub const SHARE_FROM: usize = 2 * VALUES_PER_THREAD;

/// Values each thread is given at least (about 10 µs of one core's momentum pass).
pub const VALUES_PER_THREAD: usize = 1 << 15;

/// Values a run's start is a multiple of (a 64-byte cache line of f32): where a buffer starts
/// on a line, as large allocations usually do, no two threads write the same line.
const ALIGNMENT: usize = 16;

/// What a pass with `N` state tensors (the velocity; Adam's two moments) did.
// Returned once per parameter and step, and taken apart at once: boxing the larger variant
// would allocate each time.
#[allow(clippy::large_enum_variant)]
pub enum Outcome<const N: usize> {
    /// The value lowered and the states advanced, each in its own buffer.
    Done {
        value: Tensor<2>,
        states: [Tensor<2>; N],
    },
    /// The pass does not apply: the tensors, as they were given.
    GivenBack {
        value: Tensor<2>,
        states: [Tensor<2>; N],
        gradient: Tensor<2>,
    },
}

/// SGD with momentum: `g ← g + λ·w` where `weight_decay` λ is not 0, `velocity ← momentum ·
/// velocity + g` and `value ← value - rate · direction` (`direction` = `momentum · velocity +
/// g` with Nesterov, else the velocity), in the value's and the velocity's buffers, as burn's
/// f32 operations compute them; the tensors are given back where this pass does not apply
/// (see the module's overview).
pub fn momentum(
    value: Tensor<2>,
    velocity: Tensor<2>,
    gradient: Tensor<2>,
    momentum: f32,
    nesterov: bool,
    weight_decay: f64,
    rate: &Scalar,
) -> Outcome<1> {
    let rule = match nesterov {
        true => Rule::Nesterov,
        false => Rule::Momentum,
    };
    let constants = host(rate).map(|rate| Constants {
        momentum,
        rate,
        penalty: weight_decay as f32,
        ..Constants::default()
    });
    fused(
        value,
        [velocity],
        gradient,
        rule,
        weight_decay > 0.0,
        constants,
    )
}

/// Adam (`decoupled` false: `g ← g + λ·w` where `weight_decay` λ is not 0) or AdamW
/// (`decoupled`: `w ← w·factors[2]` where λ is not 0) with the bias corrections folded into
/// `factors` as [`super::scalar::StepRow::new`] computes them: the moments advanced (`m ← β₁ m
/// + (1 - β₁) g`, `s ← β₂ s + (1 - β₂) g²`) and the value lowered by `rate` times Adam's
/// direction, in their own buffers, as burn's f32 operations compute them (see
/// `super::update`); the tensors are given back where this pass does not apply.
#[allow(clippy::too_many_arguments)]
pub fn adam(
    value: Tensor<2>,
    moments: [Tensor<2>; 2],
    gradient: Tensor<2>,
    decoupled: bool,
    [beta1, beta2]: [f32; 2],
    [epsilon, weight_decay]: [f64; 2],
    factors: &[Scalar; 3],
    rate: &Scalar,
) -> Outcome<2> {
    let rule = match decoupled {
        true => Rule::AdamW,
        false => Rule::Adam,
    };
    let constants = match (host(rate), factors.each_ref().map(host)) {
        (Some(rate), [Some(factor0), Some(factor1), Some(factor2)]) => Some(Constants {
            rate,
            beta1,
            keep1: 1.0 - beta1,
            beta2,
            keep2: 1.0 - beta2,
            factors: [factor0, factor1, factor2],
            epsilon: epsilon as f32,
            penalty: weight_decay as f32,
            ..Constants::default()
        }),
        _ => None,
    };
    fused(
        value,
        moments,
        gradient,
        rule,
        weight_decay > 0.0,
        constants,
    )
}

/// `value - decrement`, in the value's buffer and shared among the cores where the pass
/// applies (see the module's overview); burn's subtraction otherwise.
pub fn subtract(value: Tensor<2>, decrement: Tensor<2>) -> Tensor<2> {
    let constants = Some(Constants::default());
    match fused(value, [], decrement, Rule::Subtract, false, constants) {
        Outcome::Done { value, .. } => value,
        Outcome::GivenBack {
            value, gradient, ..
        } => value - gradient,
    }
}

/// A factor as the pass takes it: a host number in f32 (as burn's scalar operations take it),
/// `None` for one on the device.
fn host(scalar: &Scalar) -> Option<f32> {
    match scalar {
        Scalar::Host(value) => Some(*value as f32),
        Scalar::Device(_) => None,
    }
}

/// The pass of `rule` over a value, its `N` states and its gradient, where it applies (flex,
/// f32, one shape, row after row, the value and the states each of one owner, `constants`
/// known on the host); the tensors are given back otherwise.
fn fused<const N: usize>(
    value: Tensor<2>,
    states: [Tensor<2>; N],
    gradient: Tensor<2>,
    rule: Rule,
    weighted: bool,
    constants: Option<Constants>,
) -> Outcome<N> {
    // A pass addresses at most two states (`Pass::first`, `Pass::second`).
    const { assert!(N <= 2) };
    let dims = value.dims();
    let applies = std::iter::once(&value)
        .chain(&states)
        .chain([&gradient])
        .all(|tensor| flex_f32(tensor) && tensor.dims() == dims);
    let (Some(constants), true) = (constants, applies) else {
        return Outcome::GivenBack {
            value,
            states,
            gradient,
        };
    };
    let (mut value, mut states, gradient) =
        (primitive(value), states.map(primitive), primitive(gradient));
    let laid_out = std::iter::once(&value)
        .chain(&states)
        .chain([&gradient])
        .all(row_after_row);
    // The value's and the states' buffers, where each has this pass as its one owner (asked
    // only of tensors laid out for the pass).
    let mut owned = laid_out;
    let mut addresses = [0usize; 3];
    let written = std::iter::once(&mut value).chain(&mut states);
    for (address, tensor) in addresses.iter_mut().zip(written) {
        if !owned {
            break;
        }
        match tensor.try_storage_mut::<f32>() {
            Some(values) => *address = values.as_mut_ptr() as usize,
            None => owned = false,
        }
    }
    if !owned {
        return Outcome::GivenBack {
            value: Tensor::from_primitive::<Flex>(value),
            states: states.map(Tensor::from_primitive::<Flex>),
            gradient: Tensor::from_primitive::<Flex>(gradient),
        };
    }
    let [value_address, first, second] = addresses;
    let whole = Pass {
        rule,
        weighted,
        value: value_address,
        gradient: gradient.storage::<f32>().as_ptr() as usize,
        first,
        second,
        length: dims[0] * dims[1],
        constants,
    };
    #[cfg(test)]
    count_pass(rule);
    // SAFETY: the value's and the states' buffers are each this pass's own (one owner, so
    // `try_storage_mut` gave them, and no two are one) and hold `length` values, as does the
    // gradient's, which nothing writes while it is read; all outlive the call.
    unsafe { whole.run_shared() };
    Outcome::Done {
        value: Tensor::from_primitive::<Flex>(value),
        states: states.map(Tensor::from_primitive::<Flex>),
    }
}

/// What a pass computes per element (`g` the gradient, `+ λ w` first where the pass is
/// weighted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// `w ← w - g` (the gradient being the decrement).
    Subtract,
    /// `v ← v·m + g`, `w ← w - v·lr`.
    Momentum,
    /// `v ← v·m + g`, `w ← w - (v·m + g)·lr`.
    Nesterov,
    /// Burn's Adam: the moments advanced, `w ← w - (m·f₀ / (√s + f₁))·lr`.
    Adam,
    /// Burn's AdamW: the moments advanced, `w ← w·f₂ - ((m / f₀) / (√(s / f₁) + ε))·lr` (`w·f₂`
    /// where the pass is weighted, else `w`).
    AdamW,
}

/// The f32 constants of a pass: each as burn's scalar operations take it.
#[derive(Clone, Copy, Debug, Default)]
struct Constants {
    momentum: f32,
    rate: f32,
    beta1: f32,
    /// `1 - β₁`, in f32.
    keep1: f32,
    beta2: f32,
    /// `1 - β₂`, in f32.
    keep2: f32,
    /// The step's optimizer factors ([`super::scalar::StepRow::new`]).
    factors: [f32; 3],
    epsilon: f32,
    /// The weight decay λ.
    penalty: f32,
}

/// A pass over `length` values from the given addresses (a [`Part`] may cross threads):
/// `first` is the velocity or Adam's first moment, `second` Adam's second moment (0 where the
/// rule has none).
#[derive(Clone, Copy, Debug)]
struct Pass {
    rule: Rule,
    /// Whether the weight decay applies (`g + λ w`; AdamW's `w·f₂`).
    weighted: bool,
    value: usize,
    gradient: usize,
    first: usize,
    second: usize,
    length: usize,
    constants: Constants,
}

#[cfg(test)]
thread_local! {
    /// Momentum and Adam passes, and subtractions, this thread has run (for tests that must
    /// know a pass ran, not burn's operations).
    static PASSES_RUN: std::cell::Cell<[usize; 2]> = const { std::cell::Cell::new([0, 0]) };
}

/// Momentum and Adam passes, and subtractions, this thread has run.
#[cfg(test)]
pub fn passes_run() -> [usize; 2] {
    PASSES_RUN.with(|passes| passes.get())
}

/// Counts a pass of `rule` (a subtraction, or a momentum or Adam pass).
#[cfg(test)]
fn count_pass(rule: Rule) {
    PASSES_RUN.with(|passes| {
        let mut counts = passes.get();
        counts[usize::from(rule == Rule::Subtract)] += 1;
        passes.set(counts);
    });
}

impl Pass {
    /// The pass cut into runs, one per thread where it is long enough, run on the team.
    ///
    /// # Safety
    /// As [`Part::run`] for the whole pass.
    unsafe fn run_shared(&self) {
        let team = Team::get();
        let parts = team.threads_for(self.length, VALUES_PER_THREAD);
        let runs: Vec<Pass> = runs(self.length, parts)
            .map(|(start, end)| {
                let offset = |address: usize| match address {
                    0 => 0,
                    address => address + start * std::mem::size_of::<f32>(),
                };
                Pass {
                    value: offset(self.value),
                    gradient: offset(self.gradient),
                    first: offset(self.first),
                    second: offset(self.second),
                    length: end - start,
                    ..*self
                }
            })
            .collect();
        // SAFETY: the runs are disjoint ranges of the whole pass's buffers.
        unsafe { team.run(&runs) };
    }
}

/// `length` elements cut into `parts` consecutive `(start, end)` ranges, every start but the
/// first a multiple of [`ALIGNMENT`] (an empty range where there are too few elements).
fn runs(length: usize, parts: usize) -> impl Iterator<Item = (usize, usize)> {
    let boundary = move |part: usize| match part == parts {
        true => length,
        false => length * part / parts / ALIGNMENT * ALIGNMENT,
    };
    (0..parts).map(move |part| (boundary(part), boundary(part + 1)))
}

impl Part for Pass {
    /// The pass over its values.
    ///
    /// # Safety
    /// `value`, and the states its rule has (`first`, `second`), must each address `length`
    /// f32 values that nothing else reads or writes during the call, and `gradient` `length`
    /// values that nothing writes.
    unsafe fn run(&self) {
        // The same arithmetic in wider vectors where the CPU has them (each operation rounds
        // as in any width: IEEE f32, and Rust fuses no multiply-add of its own). AVX2, not
        // AVX-512: on a 2-core AMD EPYC (AVX-512 in two halves) one thread's Nesterov pass
        // over 401,408 values took 104 µs plain, 72 µs with AVX2 and 82 µs with AVX-512, and
        // Adam's 251, 129 and 144 µs (medians of 200 interleaved runs).
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2; the contract above.
            return unsafe { self.run_avx2() };
        }
        // SAFETY: the contract above.
        unsafe { self.run_here() }
    }
}

impl Pass {
    /// [`Part::run`] compiled for AVX2.
    ///
    /// # Safety
    /// As [`Part::run`], on a CPU with AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
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
        let length = self.length;
        // SAFETY: the contract above.
        let state =
            |address: usize| unsafe { std::slice::from_raw_parts_mut(address as *mut f32, length) };
        // SAFETY: the contract above.
        let (values, gradients) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.value as *mut f32, length),
                std::slice::from_raw_parts(self.gradient as *const f32, length),
            )
        };
        let velocity = || state(self.first);
        let moments = || [state(self.first), state(self.second)];
        let constants = &self.constants;
        // One loop per rule and weighting, so that none branches per element (each
        // vectorises).
        match (self.rule, self.weighted) {
            (Rule::Subtract, _) => subtract_pass(values, gradients),
            (Rule::Momentum, false) => {
                momentum_pass::<false, false>(values, velocity(), gradients, constants)
            }
            (Rule::Momentum, true) => {
                momentum_pass::<false, true>(values, velocity(), gradients, constants)
            }
            (Rule::Nesterov, false) => {
                momentum_pass::<true, false>(values, velocity(), gradients, constants)
            }
            (Rule::Nesterov, true) => {
                momentum_pass::<true, true>(values, velocity(), gradients, constants)
            }
            (Rule::Adam, false) => {
                adam_pass::<false, false>(values, moments(), gradients, constants)
            }
            (Rule::Adam, true) => adam_pass::<false, true>(values, moments(), gradients, constants),
            (Rule::AdamW, false) => {
                adam_pass::<true, false>(values, moments(), gradients, constants)
            }
            (Rule::AdamW, true) => adam_pass::<true, true>(values, moments(), gradients, constants),
        }
    }
}

/// `w ← w - d`.
#[inline(always)]
fn subtract_pass(values: &mut [f32], decrements: &[f32]) {
    for (value, &decrement) in values.iter_mut().zip(decrements) {
        *value -= decrement;
    }
}

/// Momentum (`NESTEROV`: Nesterov's), with the weight decay added to the gradient where
/// `WEIGHTED`, each operation as burn's f32 operations round it.
#[inline(always)]
fn momentum_pass<const NESTEROV: bool, const WEIGHTED: bool>(
    values: &mut [f32],
    velocities: &mut [f32],
    gradients: &[f32],
    constants: &Constants,
) {
    let Constants {
        momentum,
        rate,
        penalty,
        ..
    } = *constants;
    for ((value, velocity), &gradient) in values.iter_mut().zip(velocities).zip(gradients) {
        // burn's `w·λ + g`.
        let slope = if WEIGHTED {
            *value * penalty + gradient
        } else {
            gradient
        };
        let advanced = *velocity * momentum + slope;
        *velocity = advanced;
        let direction = if NESTEROV {
            advanced * momentum + slope
        } else {
            advanced
        };
        *value -= direction * rate;
    }
}

/// Adam (`DECOUPLED`: AdamW) as burn computes it (see [`Rule`]), each operation as burn's f32
/// operations round it; `WEIGHTED`: Adam's `g + λ w`, AdamW's `w·f₂`.
#[inline(always)]
fn adam_pass<const DECOUPLED: bool, const WEIGHTED: bool>(
    values: &mut [f32],
    [firsts, seconds]: [&mut [f32]; 2],
    gradients: &[f32],
    constants: &Constants,
) {
    let Constants {
        rate,
        beta1,
        keep1,
        beta2,
        keep2,
        factors: [factor0, factor1, factor2],
        epsilon,
        penalty,
        ..
    } = *constants;
    let moments = firsts.iter_mut().zip(seconds.iter_mut());
    for ((value, (first, second)), &gradient) in values.iter_mut().zip(moments).zip(gradients) {
        let slope = if WEIGHTED && !DECOUPLED {
            *value * penalty + gradient
        } else {
            gradient
        };
        let advanced_first = *first * beta1 + slope * keep1;
        let advanced_second = *second * beta2 + (slope * slope) * keep2;
        *first = advanced_first;
        *second = advanced_second;
        if DECOUPLED {
            let direction =
                (advanced_first / factor0) / ((advanced_second / factor1).sqrt() + epsilon);
            let kept = if WEIGHTED { *value * factor2 } else { *value };
            *value = kept - direction * rate;
        } else {
            let direction = (advanced_first * factor0) / (advanced_second.sqrt() + factor1);
            *value -= direction * rate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Outcome, SHARE_FROM, runs};
    use crate::compiled::kernels::testing::Draws;
    use crate::compiled::scalar::Scalar;
    use burn::tensor::{Device, Distribution, Tensor};

    /// A tensor's values in a buffer of their own.
    fn copy(tensor: &Tensor<2>) -> Tensor<2> {
        Tensor::from_data(tensor.to_data(), &tensor.device())
    }

    /// Shapes below and above [`SHARE_FROM`] (one run, and one per thread).
    const SHAPES: [[usize; 2]; 2] = [[37, 129], [301, 400]];

    /// The momentum pass gives burn's composed operations' values to the bit, with and without
    /// Nesterov, over several steps, run alone or shared.
    #[test]
    fn the_momentum_pass_gives_the_composed_operations_values_exactly() {
        assert!(SHAPES[1][0] * SHAPES[1][1] >= SHARE_FROM);
        let draws = Draws::new(3, &Device::flex());
        for shape in SHAPES {
            for nesterov in [false, true] {
                let mut value = draws.tensor(shape, Distribution::Normal(0.0, 1.0));
                let mut velocity = draws.tensor(shape, Distribution::Normal(0.0, 1.0));
                let (mut composed_value, mut composed_velocity) = (copy(&value), copy(&velocity));
                for step in 0..4 {
                    let gradient = draws.tensor(shape, Distribution::Normal(0.0, 0.3));
                    let (momentum, rate) = (0.9f32, 0.05 / (1.0 + step as f64));
                    let outcome = super::momentum(
                        value,
                        velocity,
                        gradient.clone(),
                        momentum,
                        nesterov,
                        0.0,
                        &Scalar::Host(rate),
                    );
                    let Outcome::Done {
                        value: new_value,
                        states: [new_velocity],
                    } = outcome
                    else {
                        panic!("the pass applies on flex");
                    };
                    let advanced = composed_velocity.mul_scalar(momentum as f64) + gradient.clone();
                    let direction = if nesterov {
                        advanced.clone().mul_scalar(momentum as f64) + gradient
                    } else {
                        advanced.clone()
                    };
                    let lowered = composed_value - direction.mul_scalar(rate);
                    let context = format!("{shape:?}, Nesterov {nesterov}, step {step}");
                    assert_eq!(
                        new_velocity.to_data(),
                        advanced.to_data(),
                        "velocity, {context}"
                    );
                    assert_eq!(new_value.to_data(), lowered.to_data(), "value, {context}");
                    (value, velocity) = (new_value, new_velocity);
                    (composed_value, composed_velocity) = (lowered, advanced);
                }
            }
        }
    }

    /// The subtraction gives burn's to the bit, alone or shared, in the value's own buffer
    /// where it has one owner, and burn's where it has more.
    #[test]
    fn the_subtraction_gives_burns_values_exactly() {
        let draws = Draws::new(4, &Device::flex());
        for shape in SHAPES {
            let value = draws.tensor(shape, Distribution::Normal(0.0, 1.0));
            let decrement = draws.tensor(shape, Distribution::Normal(0.0, 0.1));
            let expected = copy(&value) - decrement.clone();
            let original = value.to_data();
            let held = value.clone();
            let [_, before] = super::passes_run();
            let held_elsewhere = super::subtract(value, decrement.clone());
            assert_eq!(
                super::passes_run()[1],
                before,
                "{shape:?}: burn's subtraction"
            );
            assert_eq!(
                held_elsewhere.to_data(),
                expected.to_data(),
                "{shape:?}, held"
            );
            assert_eq!(held.to_data(), original, "the held value is unchanged");
            let own = super::subtract(held, decrement);
            assert_eq!(super::passes_run()[1], before + 1, "{shape:?}: the pass");
            assert_eq!(own.to_data(), expected.to_data(), "{shape:?}, one owner");
        }
    }

    /// A shared value or velocity, or a transposed gradient, is given back for the composed
    /// operations.
    #[test]
    fn shared_or_transposed_tensors_are_given_back() {
        let draws = Draws::new(5, &Device::flex());
        let draw = |shape| draws.tensor(shape, Distribution::Normal(0.0, 1.0));
        fn given_back<const N: usize>(outcome: Outcome<N>) -> bool {
            matches!(outcome, Outcome::GivenBack { .. })
        }
        let rate = Scalar::Host(0.1);
        let momentum = |value, velocity, gradient| {
            given_back(super::momentum(
                value, velocity, gradient, 0.9, true, 0.0, &rate,
            ))
        };
        let velocity = draw([8, 16]);
        let (held, original) = (velocity.clone(), velocity.to_data());
        assert!(
            momentum(draw([8, 16]), velocity, draw([8, 16])),
            "a shared velocity"
        );
        assert_eq!(held.to_data(), original, "the shared velocity is unchanged");
        let value = draw([8, 16]);
        let (held, original) = (value.clone(), value.to_data());
        assert!(
            momentum(value, draw([8, 16]), draw([8, 16])),
            "a shared value"
        );
        assert_eq!(held.to_data(), original, "the shared value is unchanged");
        let transposed = draw([16, 16]).transpose();
        assert!(
            momentum(draw([16, 16]), draw([16, 16]), transposed),
            "a transposed gradient"
        );
        assert!(
            !momentum(draw([16, 16]), draw([16, 16]), draw([16, 16])),
            "all its own"
        );
        let factors = [Scalar::Host(1.0), Scalar::Host(1e-8), Scalar::Host(1.0)];
        let adam = |moments, decoupled| {
            given_back(super::adam(
                draw([8, 16]),
                moments,
                draw([8, 16]),
                decoupled,
                [0.9, 0.999],
                [1e-8, 0.0],
                &factors,
                &rate,
            ))
        };
        let moment = draw([8, 16]);
        let (held, original) = (moment.clone(), moment.to_data());
        assert!(adam([draw([8, 16]), moment], false), "a shared moment");
        assert_eq!(held.to_data(), original, "the shared moment is unchanged");
        for decoupled in [false, true] {
            assert!(
                !adam([draw([8, 16]), draw([8, 16])], decoupled),
                "all its own"
            );
        }
    }

    /// Both compilations of the passes (plain, and AVX2 where the CPU has it) give the same
    /// values to the bit, for every rule, with and without the weight decay.
    #[test]
    fn every_compilation_of_the_passes_gives_the_same_values() {
        use super::{Constants, Pass, Rule};
        let length = 1007;
        let draw = |seed: u64, square: bool| -> Vec<f32> {
            let mut random = mlpc_data::random::Random::new(seed);
            let draw = |_| random.normal() as f32;
            (0..length)
                .map(draw)
                .map(|value| if square { value * value } else { value })
                .collect()
        };
        let constants = Constants {
            momentum: 0.9,
            rate: 0.01,
            beta1: 0.9,
            keep1: 1.0 - 0.9,
            beta2: 0.999,
            keep2: 1.0 - 0.999,
            factors: [0.7, 1e-7, 0.999],
            epsilon: 1e-8,
            penalty: 0.01,
        };
        let rules = [
            Rule::Subtract,
            Rule::Momentum,
            Rule::Nesterov,
            Rule::Adam,
            Rule::AdamW,
        ];
        for rule in rules {
            for weighted in [false, true] {
                // The value, the two states and the gradient after a pass run by `how`.
                let run = |how: &dyn Fn(&Pass)| -> [Vec<f32>; 3] {
                    let (mut value, mut first, mut second) =
                        (draw(1, false), draw(2, false), draw(3, true));
                    let gradient = draw(4, false);
                    let pass = Pass {
                        rule,
                        weighted,
                        value: value.as_mut_ptr() as usize,
                        gradient: gradient.as_ptr() as usize,
                        first: first.as_mut_ptr() as usize,
                        second: second.as_mut_ptr() as usize,
                        length,
                        constants,
                    };
                    how(&pass);
                    [value, first, second]
                };
                // SAFETY (each call): the pass addresses four buffers of `length` values of
                // its own.
                let plain = run(&|pass| unsafe { pass.run_here() });
                assert_ne!(plain[0], draw(1, false), "{rule:?}: the value moved");
                #[cfg(target_arch = "x86_64")]
                {
                    if std::arch::is_x86_feature_detected!("avx2") {
                        let wide = run(&|pass| unsafe { pass.run_avx2() });
                        assert_eq!(wide, plain, "{rule:?}, weighted {weighted}: AVX2");
                    }
                }
            }
        }
    }

    /// A rate or a factor on the device (a replayed step's) is given back for the composed
    /// operations.
    #[test]
    fn factors_on_the_device_are_given_back() {
        let device = Device::flex();
        let draws = Draws::new(6, &device);
        let draw = || draws.tensor([8, 16], Distribution::Normal(0.0, 1.0));
        let on_device = || Scalar::Device(Tensor::<2>::ones([1, 1], &device).mul_scalar(0.1));
        let outcome = super::momentum(draw(), draw(), draw(), 0.9, false, 0.0, &on_device());
        assert!(
            matches!(outcome, Outcome::GivenBack { .. }),
            "a rate on the device"
        );
        let factors = [Scalar::Host(1.0), on_device(), Scalar::Host(1.0)];
        let outcome = super::adam(
            draw(),
            [draw(), draw()],
            draw(),
            false,
            [0.9, 0.999],
            [1e-8, 0.0],
            &factors,
            &Scalar::Host(0.1),
        );
        assert!(
            matches!(outcome, Outcome::GivenBack { .. }),
            "a factor on the device"
        );
    }

    /// The runs cover every element once, in order, each but the first starting on a cache
    /// line.
    #[test]
    fn runs_cover_the_elements_once() {
        for (length, parts) in [(1000, 1), (1000, 2), (1000, 3), (65_537, 8), (7, 4)] {
            let cut: Vec<_> = runs(length, parts).collect();
            assert_eq!(cut.len(), parts);
            assert_eq!(cut[0].0, 0);
            assert_eq!(cut[parts - 1].1, length);
            for pair in cut.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "{length} in {parts}: {cut:?}");
            }
            for &(start, end) in &cut {
                assert!(
                    start <= end && start % 16 == 0,
                    "{length} in {parts}: {cut:?}"
                );
            }
        }
    }
}
