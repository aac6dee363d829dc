//! Activation derivatives, written so that the backward pass needs no recomputation where the
//! output alone determines the derivative. The forward function is the network's own
//! ([`apply_activation`](crate::network::apply_activation)), so the compiled step and burn's
//! autodiff compute the same function; the derivatives are the exact ones (burn's
//! default `gelu` backward is the tanh approximation; flex overrides it with the exact one,
//! which is what the compiled step uses on every backend).

use burn::tensor::{Bool, Device, Tensor, activation};
use mlpc_ir::Activation;

/// `1 / sqrt(2π)`.
const INVERSE_SQRT_TWO_PI: f64 = 0.398_942_280_401_432_7;

/// How a derivative that is a constant on each side of zero (relu, leaky relu, prelu) gates
/// the upstream gradient: the form that is quicker depends on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gating {
    /// A product with a 0/1 indicator. On the CPU: flex's masked fill branches per element,
    /// and on a relu's unpredictable pattern that measured 8x slower than the two vectorised
    /// operations of the product.
    Product,
    /// A masked fill (or masked choice). On a GPU: burn-fusion fuses it with its neighbours,
    /// where the indicator's cast to float is a kernel of its own and the comparison another
    /// (two launches per relu, measured on wgpu).
    Masked,
}

impl Gating {
    /// The quicker form on `device`: masked on cubecl's devices (wgpu), products elsewhere.
    pub fn for_device(device: &Device) -> Gating {
        match super::kernels::available(device) {
            true => Gating::Masked,
            false => Gating::Product,
        }
    }

    /// `upstream` where the derivative is 1 and zero where it is 0: `zero` gives the places
    /// of zeros as a mask (the masked form), `indicator` the derivative as 0s and 1s (the
    /// product form); only the one the form needs is computed.
    fn gate(
        self,
        upstream: Tensor<2>,
        zero: impl FnOnce() -> Tensor<2, Bool>,
        indicator: impl FnOnce() -> Tensor<2>,
    ) -> Tensor<2> {
        match self {
            Gating::Product => upstream * indicator(),
            Gating::Masked => upstream.mask_fill(zero(), 0.0),
        }
    }
}

/// Whether the derivative reads the pre-activation input (else only the output).
pub fn needs_input(function: &Activation) -> bool {
    match function {
        Activation::Identity
        | Activation::Relu
        | Activation::Tanh
        | Activation::Sigmoid
        | Activation::Softmax => false,
        Activation::Gelu
        | Activation::LeakyRelu { .. }
        | Activation::Silu
        | Activation::Elu { .. } => true,
    }
}

/// Whether the derivative reads the activation's output.
pub fn needs_output(function: &Activation) -> bool {
    match function {
        Activation::Relu
        | Activation::Tanh
        | Activation::Sigmoid
        | Activation::Softmax
        | Activation::Elu { .. } => true,
        Activation::Identity
        | Activation::Gelu
        | Activation::LeakyRelu { .. }
        | Activation::Silu => false,
    }
}

/// The gradient with respect to the pre-activation, from the gradient `upstream` with respect
/// to the output; `input` is the pre-activation (present when [`needs_input`] says so) and
/// `output` the activation's value (present when [`needs_output`] says so); `gating` the form
/// of the piecewise-constant derivatives.
pub fn backward(
    function: &Activation,
    upstream: Tensor<2>,
    input: Option<&Tensor<2>>,
    output: Option<&Tensor<2>>,
    gating: Gating,
) -> Tensor<2> {
    let input = || {
        input
            .expect("the activation kept its input for the backward pass")
            .clone()
    };
    let output = || {
        output
            .expect("the activation kept its output for the backward pass")
            .clone()
    };
    match function {
        Activation::Identity => upstream,
        // burn's relu passes no gradient where the output is zero.
        Activation::Relu => gating.gate(
            upstream,
            || output().lower_equal_elem(0.0),
            || output().greater_elem(0.0).float(),
        ),
        // 1 - tanh²
        Activation::Tanh => {
            let output = output();
            upstream.clone() - upstream * output.clone() * output
        }
        // σ (1 - σ)
        Activation::Sigmoid => {
            let output = output();
            upstream * (output.clone() - output.clone() * output)
        }
        // Φ(x) + x φ(x), exact.
        Activation::Gelu => {
            let input = input();
            let cumulative = input
                .clone()
                .mul_scalar(std::f64::consts::FRAC_1_SQRT_2)
                .erf()
                .add_scalar(1.0)
                .mul_scalar(0.5);
            let density = input
                .clone()
                .square()
                .mul_scalar(-0.5)
                .exp()
                .mul_scalar(INVERSE_SQRT_TWO_PI);
            upstream * (cumulative + input * density)
        }
        // burn: x for x >= 0 (derivative 1, at 0 too), slope·x below.
        // As a product ([`Gating::Product`]): the derivative is 1 where x >= 0 and the
        // slope below, i.e. max(indicator, slope) for slopes up to 1 (exact), else
        // slope + (1 - slope)·indicator. Masked: the upstream times the slope below zero.
        Activation::LeakyRelu { slope } if gating == Gating::Masked => {
            let below = upstream.clone().mul_scalar(*slope);
            upstream.mask_where(input().lower_elem(0.0), below)
        }
        Activation::LeakyRelu { slope } => {
            let indicator = input().greater_equal_elem(0.0).float();
            let derivative = if *slope <= 1.0 {
                indicator.clamp_min(*slope)
            } else {
                indicator.mul_scalar(1.0 - slope).add_scalar(*slope)
            };
            upstream * derivative
        }
        // y (g - Σ g y)
        Activation::Softmax => {
            let output = output();
            let weighted = (upstream.clone() * output.clone()).sum_dim(1);
            output * (upstream - weighted)
        }
        // σ(x) (1 + x (1 - σ(x)))
        Activation::Silu => {
            let input = input();
            let sigmoid = activation::sigmoid(input.clone());
            let derivative =
                sigmoid.clone() * (input.clone() - input * sigmoid.clone()).add_scalar(1.0);
            upstream * derivative
        }
        // burn: x for x > 0, alpha (eˣ - 1) for x <= 0, whose derivative is y + alpha.
        Activation::Elu { alpha } => {
            let non_positive = input().lower_equal_elem(0.0);
            let below = upstream.clone() * output().add_scalar(*alpha);
            upstream.mask_where(non_positive, below)
        }
    }
}
