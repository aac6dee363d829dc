//! The update's element-wise passes on the CPU: a parameter's value lowered by its decrement
//! (`w ← w - d`), and SGD with momentum (the velocity advanced and the value lowered) in one
//! pass, each in the tensors' own buffers and shared among the cores.
//!
//! # Design
//! Composed of burn's operations, momentum is five passes over a parameter's values (`m v`,
//! `+ g`, and for Nesterov `m v` and `+ g` again, then `lr d`) and a sixth for `w - lr d`, each
//! writing a new tensor; on flex they run element by element on the training thread while the
//! [`Team`]'s helpers wait for the next product. For the flagship's first layer (784 × 512
//! values) those passes were most of a step's element-wise work. On flex, where the value's
//! and the velocity's buffers each have one owner and every tensor is laid out row after row,
//! [`momentum`] does the same f32 arithmetic, operation by operation in the same order (`v ←
//! v·m + g`, `d = v·m + g` or `v`, `w ← w - lr·d`) in one pass over the buffers, so its values
//! are burn's to the bit (the tests below compare them); [`subtract`] is plain SGD's `w - d`
//! the same way. A pass of at least [`SHARE_FROM`] values is cut into one run of elements per
//! thread; each element is computed alone, so the values do not depend on the cut. Anywhere
//! else (not flex, not f32, a rate on the device, a shared buffer, another layout) burn's
//! operations run.
//!
//! Measured on a 2-core AMD EPYC (AVX-512) for the flagship's first layer (401,408 values):
//! Nesterov's update took 209-247 µs composed, 122-179 µs with the velocity and decrement in one
//! pass and the value's subtraction apart; see the README's CPU figures for the whole step.

use burn::backend::Flex;
use burn::tensor::Tensor;
use burn_flex::FlexTensor;

use super::product::flex_f32;
use super::scalar::Scalar;
use super::team::{Part, Team};

/// Values from which a pass is shared among the cores.
pub const SHARE_FROM: usize = 2 * VALUES_PER_THREAD;

/// Values each thread is given at least (about 10 µs of one core's momentum pass).
pub const VALUES_PER_THREAD: usize = 1 << 15;

/// Values a run's start is a multiple of (a 64-byte cache line of f32), so that no two threads
/// write the same line.
const ALIGNMENT: usize = 16;

/// What [`momentum`] did.
// Returned once per parameter and step, and taken apart at once: boxing the larger variant
// would allocate each time.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// The value lowered and the velocity advanced, each in its own buffer.
    Done {
        value: Tensor<2>,
        velocity: Tensor<2>,
    },
    /// The pass does not apply: the tensors, as they were given.
    GivenBack {
        value: Tensor<2>,
        velocity: Tensor<2>,
        gradient: Tensor<2>,
    },
}

/// `velocity ← momentum · velocity + gradient` and `value ← value - rate · direction`
/// (`direction` = `momentum · velocity + gradient` with Nesterov, else the velocity), in the
/// value's and the velocity's buffers, as burn's f32 operations compute them; the tensors are
/// given back where this pass does not apply (see the module's overview).
pub fn momentum(
    value: Tensor<2>,
    velocity: Tensor<2>,
    gradient: Tensor<2>,
    momentum: f32,
    nesterov: bool,
    rate: &Scalar,
) -> Outcome {
    let dims = value.dims();
    let applies = [&value, &velocity, &gradient]
        .iter()
        .all(|tensor| flex_f32(tensor) && tensor.dims() == dims);
    let (Scalar::Host(rate), true) = (rate, applies) else {
        return Outcome::GivenBack {
            value,
            velocity,
            gradient,
        };
    };
    let (mut value, mut velocity, gradient) =
        (primitive(value), primitive(velocity), primitive(gradient));
    let back = |value, velocity, gradient| Outcome::GivenBack {
        value: Tensor::from_primitive::<Flex>(value),
        velocity: Tensor::from_primitive::<Flex>(velocity),
        gradient: Tensor::from_primitive::<Flex>(gradient),
    };
    if ![&value, &velocity, &gradient]
        .into_iter()
        .all(row_after_row)
    {
        return back(value, velocity, gradient);
    }
    let (Some(values), Some(velocities)) = (
        value
            .try_storage_mut::<f32>()
            .map(|values| values.as_mut_ptr()),
        velocity
            .try_storage_mut::<f32>()
            .map(|velocities| velocities.as_mut_ptr()),
    ) else {
        return back(value, velocity, gradient);
    };
    let whole = Pass {
        rule: match nesterov {
            true => Rule::Nesterov,
            false => Rule::Momentum,
        },
        value: values as usize,
        velocity: velocities as usize,
        decrement: gradient.storage::<f32>().as_ptr() as usize,
        length: dims[0] * dims[1],
        momentum,
        rate: *rate as f32,
    };
    // SAFETY: the value's and the velocity's buffers are each this pass's own (one owner, so
    // `try_storage_mut` gave them) and hold `length` values, as does the gradient's, which
    // nothing writes while it is read; all three outlive the call.
    unsafe { whole.run_shared() };
    Outcome::Done {
        value: Tensor::from_primitive::<Flex>(value),
        velocity: Tensor::from_primitive::<Flex>(velocity),
    }
}

/// `value - decrement`, in the value's buffer and shared among the cores where the pass
/// applies (see the module's overview); burn's subtraction otherwise.
pub fn subtract(value: Tensor<2>, decrement: Tensor<2>) -> Tensor<2> {
    let dims = value.dims();
    let applies = flex_f32(&value) && flex_f32(&decrement) && decrement.dims() == dims;
    if !applies {
        return value - decrement;
    }
    let (mut value, decrement) = (primitive(value), primitive(decrement));
    let values = match row_after_row(&value) && row_after_row(&decrement) {
        true => value
            .try_storage_mut::<f32>()
            .map(|values| values.as_mut_ptr()),
        false => None,
    };
    let Some(values) = values else {
        return Tensor::from_primitive::<Flex>(value) - Tensor::from_primitive::<Flex>(decrement);
    };
    let whole = Pass {
        rule: Rule::Subtract,
        value: values as usize,
        velocity: 0,
        decrement: decrement.storage::<f32>().as_ptr() as usize,
        length: dims[0] * dims[1],
        momentum: 0.0,
        rate: 0.0,
    };
    // SAFETY: the value's buffer is this pass's own and holds `length` values, as does the
    // decrement's, which nothing writes while it is read; both outlive the call.
    unsafe { whole.run_shared() };
    Tensor::from_primitive::<Flex>(value)
}

/// A flex tensor's primitive (the callers checked that it is one, without autodiff).
fn primitive(tensor: Tensor<2>) -> FlexTensor {
    match tensor.try_into_primitive::<Flex>() {
        Ok(primitive) => primitive,
        Err(_) => unreachable!("flex tensors without autodiff (checked) are flex primitives"),
    }
}

/// Whether a flex tensor's values are its whole storage, one row after another.
fn row_after_row(tensor: &FlexTensor) -> bool {
    let layout = tensor.layout();
    layout.is_contiguous()
        && layout.start_offset() == 0
        && tensor.storage::<f32>().len() == layout.shape().num_elements()
}

/// What a pass computes per element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    /// `w ← w - d`.
    Subtract,
    /// `v ← v·m + g`, `w ← w - lr·v`.
    Momentum,
    /// `v ← v·m + g`, `w ← w - lr·(v·m + g)`.
    Nesterov,
}

/// A pass over `length` values from the given addresses (a [`Part`] may cross threads):
/// `decrement` is the gradient for the momentum rules; `velocity` is unused by
/// [`Rule::Subtract`].
#[derive(Clone, Copy, Debug)]
struct Pass {
    rule: Rule,
    value: usize,
    velocity: usize,
    decrement: usize,
    length: usize,
    momentum: f32,
    rate: f32,
}

impl Pass {
    /// The pass cut into runs, one per thread where it is long enough, run on the team.
    ///
    /// # Safety
    /// As [`Part::run`] for the whole pass.
    unsafe fn run_shared(&self) {
        let team = Team::get();
        let parts = (self.length / VALUES_PER_THREAD).clamp(1, team.threads());
        let runs: Vec<Pass> = runs(self.length, parts)
            .map(|(start, end)| {
                let offset = |address: usize| match address {
                    0 => 0,
                    address => address + start * std::mem::size_of::<f32>(),
                };
                Pass {
                    value: offset(self.value),
                    velocity: offset(self.velocity),
                    decrement: offset(self.decrement),
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
    /// `value` (and for the momentum rules `velocity`) must address `length` f32 values that
    /// nothing else reads or writes during the call, and `decrement` `length` values that
    /// nothing writes.
    unsafe fn run(&self) {
        // SAFETY: the contract above.
        let (values, decrements) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.value as *mut f32, self.length),
                std::slice::from_raw_parts(self.decrement as *const f32, self.length),
            )
        };
        let (momentum, rate) = (self.momentum, self.rate);
        // One loop per rule, so that none branches per element (each vectorises).
        match self.rule {
            Rule::Subtract => {
                for (value, &decrement) in values.iter_mut().zip(decrements) {
                    *value -= decrement;
                }
                return;
            }
            Rule::Momentum | Rule::Nesterov => {}
        }
        // SAFETY: the contract above.
        let velocities =
            unsafe { std::slice::from_raw_parts_mut(self.velocity as *mut f32, self.length) };
        let triples = values.iter_mut().zip(velocities).zip(decrements);
        if self.rule == Rule::Nesterov {
            for ((value, velocity), &slope) in triples {
                let advanced = *velocity * momentum + slope;
                *velocity = advanced;
                *value -= (advanced * momentum + slope) * rate;
            }
        } else {
            for ((value, velocity), &slope) in triples {
                let advanced = *velocity * momentum + slope;
                *velocity = advanced;
                *value -= advanced * rate;
            }
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
                        &Scalar::Host(rate),
                    );
                    let Outcome::Done {
                        value: new_value,
                        velocity: new_velocity,
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
            let held = value.clone();
            let held_elsewhere = super::subtract(value, decrement.clone());
            assert_eq!(
                held_elsewhere.to_data(),
                expected.to_data(),
                "{shape:?}, held"
            );
            assert_ne!(
                held.to_data(),
                expected.to_data(),
                "the held value is unchanged"
            );
            let own = super::subtract(held, decrement);
            assert_eq!(own.to_data(), expected.to_data(), "{shape:?}, one owner");
        }
    }

    /// A shared value or velocity, or a transposed gradient, is given back for the composed
    /// operations.
    #[test]
    fn shared_or_transposed_tensors_are_given_back() {
        let draws = Draws::new(5, &Device::flex());
        let draw = |shape| draws.tensor(shape, Distribution::Normal(0.0, 1.0));
        let given_back = |outcome| matches!(outcome, Outcome::GivenBack { .. });
        let rate = Scalar::Host(0.1);
        let velocity = draw([8, 16]);
        let held = velocity.clone();
        let outcome = super::momentum(draw([8, 16]), velocity, draw([8, 16]), 0.9, false, &rate);
        assert!(given_back(outcome), "a shared velocity");
        drop(held);
        let value = draw([8, 16]);
        let held = value.clone();
        let outcome = super::momentum(value, draw([8, 16]), draw([8, 16]), 0.9, false, &rate);
        assert!(given_back(outcome), "a shared value");
        drop(held);
        let transposed = draw([16, 16]).transpose();
        let outcome = super::momentum(draw([16, 16]), draw([16, 16]), transposed, 0.9, true, &rate);
        assert!(given_back(outcome), "a transposed gradient");
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
