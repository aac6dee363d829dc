//! What follows a normalisation up to the next layer that is not element-wise: an activation
//! and a dropout, applied by the norm's forward kernel as it writes its output.
//!
//! burn-fusion fuses element-wise operations into the product before them, but not into a
//! kernel of ours: after batch norm's or layer norm's forward kernel, a `relu` or a dropout
//! mask was a fused element-wise kernel of its own. A norm's forward kernel takes a [`Tail`]
//! instead: the activation (one of [`Function`]'s, its slope a number read at run time) and
//! the dropout's mask, already scaled, and writes, besides the final output, what the tail's
//! backward rules read: the activation's input (the norm's output) where the derivative reads
//! it, and its output where a mask follows and the derivative reads the output. The backward
//! rules are the layers' own, unchanged.

use burn::tensor::{Shape, Tensor};
use burn_cubecl::tensor::CubeTensor;
use mlpc_ir::Activation;

use super::super::activation;

/// An activation a norm's forward kernel applies, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `x`.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x ≥ 0`, `slope · x` below.
    LeakyRelu,
    /// `tanh x`.
    Tanh,
    /// `1 / (1 + e^{-x})`.
    Sigmoid,
    /// `x Φ(x)`, exact: `x (1 + erf(x / √2)) / 2`.
    Gelu,
    /// `x σ(x)`.
    Silu,
}

impl Function {
    /// The function and its slope for `activation`, where a kernel applies it (softmax reads
    /// a whole row; ELU's derivative reads both its input and its output).
    pub fn of(activation: &Activation) -> Option<(Function, f64)> {
        match activation {
            Activation::Identity => Some((Function::Identity, 0.0)),
            Activation::Relu => Some((Function::Relu, 0.0)),
            Activation::LeakyRelu { slope } => Some((Function::LeakyRelu, *slope)),
            Activation::Tanh => Some((Function::Tanh, 0.0)),
            Activation::Sigmoid => Some((Function::Sigmoid, 0.0)),
            Activation::Gelu => Some((Function::Gelu, 0.0)),
            Activation::Silu => Some((Function::Silu, 0.0)),
            Activation::Softmax | Activation::Elu { .. } => None,
        }
    }

    /// Whether the function's output alone gives its derivative (relu, tanh, sigmoid; and no
    /// activation), so that a kernel reading the output applies it
    /// (the kernels' `derivative_from_output`).
    pub fn derivative_reads_output(self) -> bool {
        match self {
            Function::Identity | Function::Relu | Function::Tanh | Function::Sigmoid => true,
            Function::LeakyRelu | Function::Gelu | Function::Silu => false,
        }
    }

    /// The activation the function computes (for the derivative's needs).
    fn activation(self) -> Activation {
        match self {
            Function::Identity => Activation::Identity,
            Function::Relu => Activation::Relu,
            Function::LeakyRelu => Activation::LeakyRelu { slope: 0.0 },
            Function::Tanh => Activation::Tanh,
            Function::Sigmoid => Activation::Sigmoid,
            Function::Gelu => Activation::Gelu,
            Function::Silu => Activation::Silu,
        }
    }
}

/// A tail's form, compiled into the norm's forward kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Form {
    /// The activation (`Identity` where none follows).
    pub function: Function,
    /// Whether a dropout mask multiplies the activation's output.
    pub masked: bool,
}

impl Form {
    /// Whether the kernel writes the activation's input (the norm's output): its derivative
    /// reads it.
    pub fn keeps_input(self) -> bool {
        activation::needs_input(&self.function.activation())
    }

    /// Whether the kernel writes the activation's output apart from the final output: the
    /// derivative reads it and a mask follows (without one, the final output is it).
    pub fn keeps_output(self) -> bool {
        self.masked && activation::needs_output(&self.function.activation())
    }

    /// The form with nothing after the norm.
    pub fn none() -> Form {
        Form {
            function: Function::Identity,
            masked: false,
        }
    }
}

/// What follows a norm, as its forward kernel takes it.
pub struct Tail {
    /// The activation.
    pub function: Function,
    /// Leaky relu's slope (unused by the others).
    pub slope: f64,
    /// The dropout's mask `[B, n]`, already scaled by `1 / (1 - rate)`.
    pub mask: Option<Tensor<2>>,
}

impl Tail {
    /// Nothing after the norm.
    pub fn none() -> Tail {
        Tail {
            function: Function::Identity,
            slope: 0.0,
            mask: None,
        }
    }

    /// The tail's form.
    pub fn form(&self) -> Form {
        Form {
            function: self.function,
            masked: self.mask.is_some(),
        }
    }
}

/// The activation before a norm, whose derivative the norm's backward kernel applies to the
/// input's gradient as it writes it (burn-fusion would leave it a kernel of its own after
/// ours): the layer below then passes its gradient on.
pub struct Lead {
    /// The activation.
    pub function: Function,
    /// Leaky relu's slope (unused by the others).
    pub slope: f64,
    /// What the derivative reads: the activation's output where it gives the derivative
    /// ([`Function::derivative_reads_output`]), else its input.
    pub read: Tensor<2>,
}

impl Lead {
    /// Adds what `lead` reads to a backward kernel's `inputs`, and returns its function and
    /// slope as the deferred operation keeps them (`Identity` without a lead).
    pub(super) fn register(
        lead: Option<Lead>,
        inputs: &mut Vec<super::Primitive>,
    ) -> (Function, f64) {
        match lead {
            Some(Lead {
                function,
                slope,
                read,
            }) => {
                inputs.push(super::primitive(read));
                (function, slope)
            }
            None => (Function::Identity, 0.0),
        }
    }

    /// The tensor a backward kernel binds for a lead of `function`: the next input
    /// [`register`](Self::register) added, or, without a lead, a one-value stand-in like
    /// `like` (unread).
    pub(super) fn read_or_stand_in(
        function: Function,
        next: impl FnOnce() -> CubeTensor,
        like: &CubeTensor,
    ) -> CubeTensor {
        match function {
            Function::Identity => super::empty_like(like, [1, 1]),
            Function::Relu
            | Function::LeakyRelu
            | Function::Tanh
            | Function::Sigmoid
            | Function::Gelu
            | Function::Silu => next(),
        }
    }
}

/// A norm's output through its tail, and what the tail's layers keep.
pub struct Tailed {
    /// The final output (after the activation and the mask).
    pub output: Tensor<2>,
    /// The activation's input (the norm's output), where [`Form::keeps_input`].
    pub activation_input: Option<Tensor<2>>,
    /// The activation's output, where [`Form::keeps_output`].
    pub activation_output: Option<Tensor<2>>,
}

impl Tailed {
    /// The tail's output and what it keeps, `kept` giving the latter in the order
    /// [`kept_shapes`] registered them.
    pub(super) fn from_outputs(
        form: Form,
        output: Tensor<2>,
        kept: &mut impl Iterator<Item = Tensor<2>>,
    ) -> Tailed {
        let mut next = || kept.next().expect("each kept tensor was registered");
        let activation_input = form.keeps_input().then(&mut next);
        let activation_output = form.keeps_output().then(&mut next);
        Tailed {
            output,
            activation_input,
            activation_output,
        }
    }
}

/// The shapes of what a tail of `form` keeps, `batch` each (the activation's input, then its
/// output, where kept).
pub(super) fn kept_shapes(form: Form, batch: &Shape) -> Vec<Shape> {
    [form.keeps_input(), form.keeps_output()]
        .into_iter()
        .filter(|kept| *kept)
        .map(|_| batch.clone())
        .collect()
}

/// Buffers a norm's forward kernel binds for its tail, whatever the tail (see [`Buffers`]).
pub const BUFFERS: usize = 3;

/// A tail's buffers as a norm's forward kernel binds them: the mask it reads and the tensors
/// it keeps, each a one-value stand-in (unread, unwritten) where the form has none.
pub(super) struct Buffers {
    /// The mask.
    pub mask: CubeTensor,
    /// The activation's input.
    pub activation_input: CubeTensor,
    /// The activation's output.
    pub activation_output: CubeTensor,
}

impl Buffers {
    /// The buffers for a tail of `form` on an output of `dims` like `like`, with its `mask`
    /// (present where the form is masked).
    pub fn new(
        form: Form,
        mask: Option<CubeTensor>,
        like: &CubeTensor,
        dims: [usize; 2],
    ) -> Buffers {
        let batch_or_stand_in = |used: bool| match used {
            true => super::empty_like(like, dims),
            false => super::empty_like(like, [1, 1]),
        };
        Buffers {
            mask: mask.unwrap_or_else(|| super::empty_like(like, [1, 1])),
            activation_input: batch_or_stand_in(form.keeps_input()),
            activation_output: batch_or_stand_in(form.keeps_output()),
        }
    }

    /// What the kernel wrote that the form keeps, in the order of [`kept_shapes`].
    pub fn kept(self, form: Form) -> Vec<CubeTensor> {
        let mut kept = Vec::new();
        if form.keeps_input() {
            kept.push(self.activation_input);
        }
        if form.keeps_output() {
            kept.push(self.activation_output);
        }
        kept
    }
}

/// The kernels' share, in a module of their own: cubecl's prelude has its own `Tensor`.
pub(super) mod kernel {
    use super::{Form, Function};
    use cubecl::prelude::*;

    /// `function` at `value` (`slope`: leaky relu's).
    #[cube]
    pub fn activate<F: Float>(value: F, slope: F, #[comptime] function: Function) -> F {
        let zero = F::new(0.0_f32);
        let one = F::new(1.0_f32);
        if comptime!(function == Function::Relu) {
            F::max(value, zero)
        } else if comptime!(function == Function::LeakyRelu) {
            if value >= zero { value } else { value * slope }
        } else if comptime!(function == Function::Tanh) {
            value.tanh()
        } else if comptime!(function == Function::Sigmoid) {
            one / (one + (-value).exp())
        } else if comptime!(function == Function::Gelu) {
            value
                * F::new(0.5_f32)
                * (one + (value * F::new(std::f32::consts::FRAC_1_SQRT_2)).erf())
        } else if comptime!(function == Function::Silu) {
            value / (one + (-value).exp())
        } else {
            value
        }
    }

    /// The derivative of `function` at the point where its output is `output`, for the
    /// functions whose derivative the output determines ([`Function::derivative_reads_output`];
    /// 1 for the others): relu's 1 where the output is positive (as burn's), tanh's `1 - y²`,
    /// sigmoid's `y (1 - y)`.
    #[cube]
    pub fn derivative_from_output<F: Float>(output: F, #[comptime] function: Function) -> F {
        let one = F::new(1.0_f32);
        if comptime!(function == Function::Relu) {
            let mut derivative = F::new(0.0_f32);
            if output > F::new(0.0_f32) {
                derivative = one;
            }
            derivative
        } else if comptime!(function == Function::Tanh) {
            one - output * output
        } else if comptime!(function == Function::Sigmoid) {
            output * (one - output)
        } else {
            one
        }
    }

    /// The derivative of `function` at the point where it read `read`: its output where the
    /// output gives the derivative ([`Function::derivative_reads_output`]), else its input
    /// (leaky relu's 1 at and above zero and `slope` below, GELU's `Φ(x) + x φ(x)`, SiLU's
    /// `σ(x) (1 + x (1 - σ(x)))`), as the layers' backward rules compose them.
    #[cube]
    pub fn derivative<F: Float>(read: F, slope: F, #[comptime] function: Function) -> F {
        let one = F::new(1.0_f32);
        if comptime!(function == Function::LeakyRelu) {
            let mut derivative = slope;
            if read >= F::new(0.0_f32) {
                derivative = one;
            }
            derivative
        } else if comptime!(function == Function::Gelu) {
            let cumulative =
                (one + (read * F::new(std::f32::consts::FRAC_1_SQRT_2)).erf()) * F::new(0.5_f32);
            let density = (read * read * F::new(-0.5_f32)).exp() * F::new(0.398_942_3_f32);
            cumulative + read * density
        } else if comptime!(function == Function::Silu) {
            let sigmoid = one / (one + (-read).exp());
            sigmoid * (one + read * (one - sigmoid))
        } else {
            derivative_from_output::<F>(read, function)
        }
    }

    /// Writes the norm's output `value` for `row` and `column` through the tail: the final
    /// output and what the form keeps at `at` (the contiguous outputs' index); the mask read
    /// through its strides.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    pub fn write<F: Float>(
        value: F,
        row: usize,
        column: usize,
        at: usize,
        slope: F,
        mask: &Tensor<F>,
        output: &mut Tensor<F>,
        activation_input: &mut Tensor<F>,
        activation_output: &mut Tensor<F>,
        #[comptime] form: Form,
    ) {
        if comptime!(form.keeps_input()) {
            activation_input[at] = value;
        }
        let activated = activate::<F>(value, slope, form.function);
        if comptime!(form.keeps_output()) {
            activation_output[at] = activated;
        }
        if comptime!(form.masked) {
            output[at] = activated * mask[row * mask.stride(0) + column * mask.stride(1)];
        } else {
            output[at] = activated;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Draws, relative_gap as gap, wgpu_device};
    use super::super::{BatchNormSetting, batch_norm_forward, layer_norm_forward};
    use super::*;
    use crate::network::apply_activation;
    use burn::tensor::Distribution;

    /// Each norm's forward kernel with every tail against the norm's output put through the
    /// composed activation and mask (the network's own functions): the final output, and the
    /// activation's input and output where the tail keeps them.
    #[test]
    fn the_norms_tails_match_the_composed_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(9, &device);
        let (rows, features) = (37, 300);
        let input = draws.tensor([rows, features], Distribution::Normal(1.0, 3.0));
        let gamma = draws.tensor([1, features], Distribution::Normal(1.0, 0.5));
        let beta = draws.tensor([1, features], Distribution::Normal(0.0, 0.5));
        let keep = 0.8;
        let mask = draws
            .tensor([rows, features], Distribution::Bernoulli(keep))
            .mul_scalar(1.0 / keep);
        let activations = [
            Activation::Identity,
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.1 },
            Activation::LeakyRelu { slope: 1.5 },
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu,
            Activation::Silu,
        ];
        let setting = BatchNormSetting {
            epsilon: 1e-5,
            momentum: 0.1,
            // Every row.
            counted: usize::MAX,
        };
        let statistics = || {
            (
                draws.tensor([1, features], Distribution::Default),
                draws.tensor([1, features], Distribution::Uniform(0.5, 2.0)),
            )
        };
        for norm in ["batch norm", "layer norm"] {
            let forward = |tail: Tail| match norm {
                "batch norm" => {
                    let (mean, variance) = statistics();
                    batch_norm_forward(
                        setting,
                        input.clone(),
                        gamma.clone(),
                        beta.clone(),
                        mean,
                        variance,
                        tail,
                    )
                    .tailed
                }
                _ => layer_norm_forward(1e-5, input.clone(), gamma.clone(), beta.clone(), tail).0,
            };
            let plain = forward(Tail::none()).output;
            for activation in &activations {
                let (function, slope) = Function::of(activation).expect("a kernel's function");
                for masked in [false, true] {
                    let tail = Tail {
                        function,
                        slope,
                        mask: masked.then(|| mask.clone()),
                    };
                    let form = tail.form();
                    let tailed = forward(tail);
                    let activated = apply_activation(activation, plain.clone());
                    let expected = match masked {
                        true => activated.clone() * mask.clone(),
                        false => activated.clone(),
                    };
                    let mut gaps = vec![("output", gap(tailed.output, expected))];
                    assert_eq!(tailed.activation_input.is_some(), form.keeps_input());
                    assert_eq!(tailed.activation_output.is_some(), form.keeps_output());
                    if let Some(kept) = tailed.activation_input {
                        gaps.push(("activation's input", gap(kept, plain.clone())));
                    }
                    if let Some(kept) = tailed.activation_output {
                        gaps.push(("activation's output", gap(kept, activated)));
                    }
                    for (name, value) in gaps {
                        eprintln!("{norm}, {activation:?}, masked {masked}: {name} {value:.1e}");
                        assert!(
                            value < 1e-5,
                            "{norm}, {activation:?}, masked {masked}: {name} differs by {value:e}"
                        );
                    }
                }
            }
        }
    }

    /// Each norm's backward kernel with the activation before it (its lead) against the
    /// kernel without one, its input's gradient then put through the composed derivative (the
    /// layers' own backward rule), for every function a kernel applies: the derivative read
    /// from the activation's output (relu, tanh, sigmoid) or its input (leaky relu, GELU,
    /// SiLU).
    #[test]
    fn the_norms_leads_match_the_composed_derivatives() {
        use super::super::super::activation::{self, Gating};
        use super::super::{batch_norm_backward, layer_norm_backward};
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(8, &device);
        let (rows, features) = (37, 21);
        let activations = [
            Activation::Relu,
            Activation::LeakyRelu { slope: 0.1 },
            Activation::LeakyRelu { slope: 1.5 },
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Gelu,
            Activation::Silu,
        ];
        for activation in activations {
            let (function, slope) = Function::of(&activation).expect("a kernel's function");
            let input = draws.tensor([rows, features], Distribution::Normal(0.0, 2.0));
            let output = apply_activation(&activation, input.clone());
            let read = match function.derivative_reads_output() {
                true => output.clone(),
                false => input.clone(),
            };
            let lead = || {
                Some(Lead {
                    function,
                    slope,
                    read: read.clone(),
                })
            };
            let upstream = draws.tensor([rows, features], Distribution::Normal(0.0, 1.0));
            let normalized = draws.tensor([rows, features], Distribution::Normal(0.0, 1.0));
            let gamma = draws.tensor([1, features], Distribution::Normal(1.0, 0.5));
            let through = |gradient: Tensor<2>| {
                activation::backward(
                    &activation,
                    gradient,
                    Some(&input),
                    Some(&output),
                    Gating::Product,
                )
            };
            let batch_inverse = draws.tensor([1, features], Distribution::Uniform(0.5, 2.0));
            let batch = |lead| {
                let (_, _, gradient) = batch_norm_backward(
                    upstream.clone(),
                    normalized.clone(),
                    batch_inverse.clone(),
                    gamma.clone(),
                    true,
                    rows,
                    lead,
                );
                gradient.expect("asked for")
            };
            let layer_inverse = draws.tensor([rows, 1], Distribution::Uniform(0.5, 2.0));
            let layer = |lead| {
                let (gradient, _) = layer_norm_backward(
                    upstream.clone(),
                    normalized.clone(),
                    layer_inverse.clone(),
                    gamma.clone(),
                    lead,
                );
                gradient
            };
            let gaps = [
                ("batch norm", gap(batch(lead()), through(batch(None)))),
                ("layer norm", gap(layer(lead()), through(layer(None)))),
            ];
            for (norm, value) in gaps {
                eprintln!("{norm} after {activation:?}: {value:.1e}");
                assert!(
                    value < 1e-5,
                    "{norm} after {activation:?}: the input's gradient differs by {value:e}"
                );
            }
        }
    }
}
