//! SGD with momentum on the CPU in one pass: the velocity advanced in its own buffer and the
//! step's decrement written as it goes.
//!
//! # Design
//! Composed of burn's operations, momentum is five passes over a parameter's values (`m v`,
//! `+ g`, and for Nesterov `m v` and `+ g` again, then `lr d`), each writing a new tensor; on
//! flex the scalar products run element by element. For the flagship's first layer (784 × 512
//! values) those passes were most of a step's element-wise work: measured on a 2-core AMD
//! EPYC, its Nesterov update (with the value's own decrement) took 209-247 µs composed and
//! 122-179 µs with this pass (plain momentum: 140-150 µs and 122-147 µs). On flex, where the velocity's
//! buffer is the parameter's own (one owner) and both tensors are laid out row after row, this
//! pass does the same f32 arithmetic, operation by operation in the same order (`v ← v·m + g`,
//! `d = v·m + g` or `v`, `lr·d`), so its values are burn's to the bit (the test below compares
//! them); anywhere else the composed operations run.

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use burn_flex::FlexTensor;

use super::product::flex_f32;
use super::scalar::Scalar;

/// What [`momentum`] did.
pub enum Outcome {
    /// The velocity, advanced in its own buffer, and the step's decrement of the value.
    Done {
        velocity: Tensor<2>,
        decrement: Tensor<2>,
    },
    /// The pass does not apply: the velocity and the gradient, as they were given.
    GivenBack {
        velocity: Tensor<2>,
        gradient: Tensor<2>,
    },
}

/// `velocity ← momentum · velocity + gradient` in the velocity's buffer, and the decrement
/// `rate · direction` (`direction` = `momentum · velocity + gradient` with Nesterov, else the
/// velocity), both as burn's f32 operations compute them; the tensors are given back where
/// this pass does not apply (not flex or not f32, a rate on the device, shapes that differ, a
/// layout that is not one row after another, a velocity whose buffer is shared).
pub fn momentum(
    velocity: Tensor<2>,
    gradient: Tensor<2>,
    momentum: f32,
    nesterov: bool,
    rate: &Scalar,
) -> Outcome {
    let applies = flex_f32(&velocity) && flex_f32(&gradient) && velocity.dims() == gradient.dims();
    let (Scalar::Host(rate), true) = (rate, applies) else {
        return Outcome::GivenBack { velocity, gradient };
    };
    let shape = velocity.dims();
    let (mut velocity, gradient) = match (
        velocity.try_into_primitive::<Flex>(),
        gradient.try_into_primitive::<Flex>(),
    ) {
        (Ok(velocity), Ok(gradient)) => (velocity, gradient),
        _ => unreachable!("flex tensors without autodiff (checked above) are flex primitives"),
    };
    let back = |velocity: FlexTensor, gradient: FlexTensor| Outcome::GivenBack {
        velocity: Tensor::from_primitive::<Flex>(velocity),
        gradient: Tensor::from_primitive::<Flex>(gradient),
    };
    if !row_after_row(&velocity) || !row_after_row(&gradient) {
        return back(velocity, gradient);
    }
    let rate = *rate as f32;
    let Some(values) = velocity.try_storage_mut::<f32>() else {
        return back(velocity, gradient);
    };
    let slopes = gradient.storage::<f32>();
    let mut decrement = vec![0.0f32; values.len()];
    // Two loops, so that neither branches per element (each vectorises).
    let pairs = values.iter_mut().zip(slopes).zip(decrement.iter_mut());
    if nesterov {
        for ((value, &slope), out) in pairs {
            let advanced = *value * momentum + slope;
            *value = advanced;
            *out = (advanced * momentum + slope) * rate;
        }
    } else {
        for ((value, &slope), out) in pairs {
            let advanced = *value * momentum + slope;
            *value = advanced;
            *out = advanced * rate;
        }
    }
    Outcome::Done {
        velocity: Tensor::from_primitive::<Flex>(velocity),
        decrement: Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(
            decrement, shape,
        ))),
    }
}

/// Whether a flex tensor's values are its whole storage, one row after another.
fn row_after_row(tensor: &FlexTensor) -> bool {
    let layout = tensor.layout();
    layout.is_contiguous()
        && layout.start_offset() == 0
        && tensor.storage::<f32>().len() == layout.shape().num_elements()
}

#[cfg(test)]
mod tests {
    use super::Outcome;
    use crate::compiled::kernels::testing::Draws;
    use crate::compiled::scalar::Scalar;
    use burn::tensor::{Device, Distribution};

    /// The pass gives burn's composed operations' values to the bit, with and without
    /// Nesterov, over several steps.
    #[test]
    fn the_pass_gives_the_composed_operations_values_exactly() {
        let draws = Draws::new(3, &Device::flex());
        for nesterov in [false, true] {
            let mut fused = draws.tensor([37, 129], Distribution::Normal(0.0, 1.0));
            let mut composed = fused.clone().mul_scalar(1.0);
            for step in 0..4 {
                let gradient = draws.tensor([37, 129], Distribution::Normal(0.0, 0.3));
                let (momentum, rate) = (0.9f32, 0.05 / (1.0 + step as f64));
                let Outcome::Done {
                    velocity,
                    decrement,
                } = super::momentum(
                    fused,
                    gradient.clone(),
                    momentum,
                    nesterov,
                    &Scalar::Host(rate),
                )
                else {
                    panic!("the pass applies on flex");
                };
                let advanced = composed.mul_scalar(momentum as f64) + gradient.clone();
                let direction = if nesterov {
                    advanced.clone().mul_scalar(momentum as f64) + gradient
                } else {
                    advanced.clone()
                };
                let expected = direction.mul_scalar(rate);
                assert_eq!(
                    velocity.to_data(),
                    advanced.to_data(),
                    "velocity, step {step}"
                );
                assert_eq!(
                    decrement.to_data(),
                    expected.to_data(),
                    "decrement, step {step}"
                );
                fused = velocity;
                composed = advanced;
            }
        }
    }

    /// A shared velocity, or a transposed gradient, is given back for the composed operations.
    #[test]
    fn shared_or_transposed_tensors_are_given_back() {
        let draws = Draws::new(5, &Device::flex());
        let velocity = draws.tensor([8, 16], Distribution::Normal(0.0, 1.0));
        let gradient = draws.tensor([8, 16], Distribution::Normal(0.0, 1.0));
        let held = velocity.clone();
        let given_back = |outcome| matches!(outcome, Outcome::GivenBack { .. });
        assert!(given_back(super::momentum(
            velocity,
            gradient,
            0.9,
            false,
            &Scalar::Host(0.1)
        )));
        drop(held);
        let square = draws.tensor([16, 16], Distribution::Normal(0.0, 1.0));
        let transposed = draws
            .tensor([16, 16], Distribution::Normal(0.0, 1.0))
            .transpose();
        assert!(given_back(super::momentum(
            square,
            transposed,
            0.9,
            true,
            &Scalar::Host(0.1)
        )));
    }
}
