//! Layer rules: each IR layer kind's forward pass in training mode, what it keeps for the
//! backward pass, and its backward rule (the gradients of its parameters and of its input).
//!
//! A new layer kind adds an arm to [`LayerRule`] and to each match below; the compiler lists
//! them. The rules are written with few tensor operations: on the CPU the cost of a small
//! network's step is mostly per operation, not per number.

use burn::tensor::Tensor;
use mlpc_ir::Activation;

use super::Mutation;
use super::activation::{self, Gating};
use super::kernels;
use super::product::product;
use crate::dropout_mask;
use crate::network::apply_activation;

/// One layer of the compiled step. Parameters are indices into the step's parameter list.
#[derive(Debug, Clone)]
pub enum LayerRule {
    /// `y = f(x W + b)`.
    Dense {
        /// The weight `[inputs, units]`.
        weight: usize,
        /// The bias `[1, units]`.
        bias: Option<usize>,
        /// `f`.
        activation: Activation,
    },
    /// `y = f(x)`.
    Activation(Activation),
    /// `y = max(0, x) + a · min(0, x)`, with a learned slope `a` per unit.
    Prelu {
        /// The slopes `[1, n]`.
        slope: usize,
    },
    /// `y = x + f(x)`, `f` the block's layers.
    Residual {
        /// The block's rules.
        rules: Vec<LayerRule>,
    },
    /// `y = x · mask / (1 - rate)`.
    Dropout {
        /// Probability of dropping.
        rate: f64,
    },
    /// Normalisation over the batch, with running statistics for evaluation.
    BatchNorm {
        /// Scale `[1, n]`.
        gamma: usize,
        /// Shift `[1, n]`.
        beta: usize,
        /// Index of the running statistics.
        running: usize,
        /// Weight of the batch in the running statistics.
        momentum: f64,
        /// Added to the variance.
        epsilon: f64,
    },
    /// Normalisation over each example's features.
    LayerNorm {
        /// Scale `[1, n]`.
        gamma: usize,
        /// Shift `[1, n]`.
        beta: usize,
        /// Added to the variance.
        epsilon: f64,
    },
}

/// How the backward rules are written for one step.
#[derive(Debug, Clone, Copy)]
pub struct Form {
    /// The form of piecewise-constant derivatives quicker on the step's device.
    pub gating: Gating,
    /// A deliberate mistake planted for the tests, if any.
    pub mutation: Option<Mutation>,
    /// The batch's rows that count, the first ones (see [`Batch::counted`]).
    pub counted: usize,
}

/// What the layers that compute across the batch's rows (batch norm) read and write in a
/// forward pass besides their input.
pub struct Batch<'a> {
    /// Batch norm's running statistics, moved by each forward pass in training mode.
    pub running: &'a mut [Running],
    /// The rows that count, the first ones: all of the batch's, or fewer where a short batch
    /// was padded to the full batch's rows (batch norm's statistics are the counted rows',
    /// and the padding rows pass no gradient down).
    pub counted: usize,
}

/// What a layer's forward pass keeps for its backward pass.
pub enum Saved {
    /// Dense: the input, and the pre-activation and the output where the derivative reads
    /// them.
    Dense {
        /// `x`.
        input: Tensor<2>,
        /// `x W + b`, when the activation's derivative needs it.
        affine: Option<Tensor<2>>,
        /// `f(x W + b)`, when the activation's derivative needs it.
        output: Option<Tensor<2>>,
        /// Whether the layer above (a norm's backward kernel, [`lead_into_norms`]) applies the
        /// activation's derivative: the gradient it passes down is the pre-activation's.
        applied: bool,
    },
    /// Activation: its input and output, where the derivative reads them.
    Activation {
        /// The input, when the derivative needs it.
        input: Option<Tensor<2>>,
        /// The output, when the derivative needs it.
        output: Option<Tensor<2>>,
    },
    /// PReLU: the input.
    Prelu(Tensor<2>),
    /// An output activation whose derivative the loss applied (see [`super::loss::Head`]):
    /// its backward pass passes the gradient on.
    Applied,
    /// Residual: what each of the block's layers kept.
    Residual(Vec<Saved>),
    /// Dropout: the mask, already scaled by `1 / (1 - rate)`.
    Dropout(Option<Tensor<2>>),
    /// Normalisation: the normalised input and the inverse deviation (`[1, n]` for batch
    /// norm, `[B, 1]` for layer norm).
    Norm {
        /// `(x - mean) / sqrt(var + ε)`.
        normalized: Tensor<2>,
        /// `1 / sqrt(var + ε)`.
        inverse_deviation: Tensor<2>,
        /// The activation before the norm, whose derivative its backward kernel applies to
        /// the input's gradient ([`lead_into_norms`]).
        lead: Option<kernels::Lead>,
    },
}

/// Where dropout layers take their masks.
pub enum Masks {
    /// Drawn by each dropout layer from the device's seeded generator, as the network's
    /// dropout layers draw them ([`crate::dropout_mask::scaled_mask`]).
    Drawn,
    /// Given, already scaled by `1 / (1 - rate)`, one per dropout layer with a non-zero rate
    /// in the order the forward pass meets them (a replayed step reads them from a pool drawn
    /// ahead, as a recording cannot draw fresh numbers).
    Given {
        /// The masks.
        masks: std::vec::IntoIter<Tensor<2>>,
        /// Whether the network's first layer is a dropout whose mask was applied to the
        /// input already (a replay's segment multiplies its features by their masks once):
        /// that layer passes its input on, and `masks` starts with the next layer's. Its
        /// backward rule is never asked for (no layer before it has parameters).
        input_applied: bool,
    },
}

impl Masks {
    /// The next dropout layer's mask for an input like `like`, scaled by `1 / (1 - rate)`.
    fn next(&mut self, rate: f64, like: &Tensor<2>) -> Tensor<2> {
        match self {
            // Dropout: x · Bernoulli(1 - rate) · 1/(1 - rate), the mask drawn as the network's
            // dropout layers draw it, so that both steps use the same masks from the same seed.
            Masks::Drawn => dropout_mask::scaled_mask(like, 1.0 - rate),
            Masks::Given { masks, .. } => masks
                .next()
                .expect("one mask is given for each dropout layer"),
        }
    }

    /// Whether the dropout layer met now had its mask applied to the input already (it is the
    /// network's first layer, see [`Masks::Given`]); true once at most.
    fn take_input_applied(&mut self) -> bool {
        match self {
            Masks::Drawn => false,
            Masks::Given { input_applied, .. } => std::mem::take(input_applied),
        }
    }
}

/// Batch norm's running mean and variance, `[1, n]` each.
pub struct Running {
    /// Running mean.
    pub mean: Tensor<2>,
    /// Running (biased) variance.
    pub variance: Tensor<2>,
}

/// The parameter gradients one layer's backward pass produced: `(parameter index, gradient)`.
pub type Gradients = Vec<(usize, Gradient)>;

/// A parameter's gradient as the backward pass gives it.
pub enum Gradient {
    /// The gradient, shaped as the parameter.
    Value(Tensor<2>),
    /// Rows `[B, n]` whose sum over the batch is the gradient `[1, n]` (a dense layer's bias,
    /// a PReLU's slopes):
    /// an update added in place adds their sums in one kernel ([`super::update::Updates::InPlace`]).
    RowSum(Tensor<2>),
}

impl Gradient {
    /// The gradient, shaped as the parameter.
    pub fn summed(self) -> Tensor<2> {
        match self {
            Gradient::Value(value) => value,
            Gradient::RowSum(rows) => rows.sum_dim(0),
        }
    }

    /// `factor` times the gradient.
    pub fn times(self, factor: f64) -> Gradient {
        match self {
            Gradient::Value(value) => Gradient::Value(value.mul_scalar(factor)),
            Gradient::RowSum(rows) => Gradient::RowSum(rows.mul_scalar(factor)),
        }
    }
}

impl LayerRule {
    /// Whether the rule (or a layer of its block) has parameters.
    pub fn has_parameters(&self) -> bool {
        match self {
            LayerRule::Dense { .. }
            | LayerRule::Prelu { .. }
            | LayerRule::BatchNorm { .. }
            | LayerRule::LayerNorm { .. } => true,
            LayerRule::Residual { rules } => rules.iter().any(LayerRule::has_parameters),
            LayerRule::Activation(_) | LayerRule::Dropout { .. } => false,
        }
    }

    /// The bias a loss may add for this layer, where it is the network's last: a dense
    /// layer's with no activation (whose output is `x W + b`).
    pub fn bias_for_loss(&self) -> Option<usize> {
        match self {
            LayerRule::Dense {
                bias: Some(bias),
                activation: Activation::Identity,
                ..
            } => Some(*bias),
            LayerRule::Dense { .. }
            | LayerRule::Activation(_)
            | LayerRule::Prelu { .. }
            | LayerRule::Residual { .. }
            | LayerRule::Dropout { .. }
            | LayerRule::BatchNorm { .. }
            | LayerRule::LayerNorm { .. } => None,
        }
    }

    /// Forward in training mode of a layer with a [`bias_for_loss`](Self::bias_for_loss),
    /// the bias left out (`x W`, to which the loss adds it) and what the backward pass needs
    /// (the same as with the bias: the derivative of no activation reads nothing).
    pub fn forward_without_bias(
        &self,
        input: Tensor<2>,
        values: &[&Tensor<2>],
    ) -> (Tensor<2>, Saved) {
        match self {
            LayerRule::Dense { weight, .. } => {
                let product = product(input.clone(), values[*weight].clone());
                let saved = Saved::Dense {
                    input,
                    affine: None,
                    output: None,
                    applied: false,
                };
                (product, saved)
            }
            LayerRule::Activation(_)
            | LayerRule::Prelu { .. }
            | LayerRule::Residual { .. }
            | LayerRule::Dropout { .. }
            | LayerRule::BatchNorm { .. }
            | LayerRule::LayerNorm { .. } => {
                unreachable!("only a layer with a bias for the loss leaves it out")
            }
        }
    }

    /// Forward in training mode: the output and what the backward pass needs. `values` are
    /// the step's parameter values; `batch` its batch-norm statistics, updated here, and the
    /// rows that count.
    pub fn forward(
        &self,
        input: Tensor<2>,
        values: &[&Tensor<2>],
        batch: &mut Batch<'_>,
        masks: &mut Masks,
    ) -> (Tensor<2>, Saved) {
        match self {
            LayerRule::Dense {
                weight,
                bias,
                activation,
            } => {
                let product = product(input.clone(), values[*weight].clone());
                let affine = match bias {
                    Some(bias) => product + values[*bias].clone(),
                    None => product,
                };
                let kept = activation::needs_input(activation).then(|| affine.clone());
                let output = apply_activation(activation, affine);
                let saved = Saved::Dense {
                    input,
                    affine: kept,
                    output: activation::needs_output(activation).then(|| output.clone()),
                    applied: false,
                };
                (output, saved)
            }
            LayerRule::Activation(function) => {
                let kept = activation::needs_input(function).then(|| input.clone());
                let output = apply_activation(function, input);
                let saved = Saved::Activation {
                    input: kept,
                    output: activation::needs_output(function).then(|| output.clone()),
                };
                (output, saved)
            }
            LayerRule::Prelu { slope } => {
                let negative = input.clone().clamp_max(0.0);
                let output = input.clone().clamp_min(0.0) + negative * values[*slope].clone();
                (output, Saved::Prelu(input))
            }
            LayerRule::Residual { rules } => {
                let (hidden, saved) = forward_all(rules, input.clone(), values, batch, masks);
                (input + hidden, Saved::Residual(saved))
            }
            LayerRule::Dropout { rate } => {
                if *rate == 0.0 || masks.take_input_applied() {
                    return (input, Saved::Dropout(None));
                }
                let mask = masks.next(*rate, &input);
                (input * mask.clone(), Saved::Dropout(Some(mask)))
            }
            LayerRule::BatchNorm {
                gamma,
                beta,
                running: index,
                momentum,
                epsilon,
            } => {
                if kernels::batch_norm_fits(&input.device()) {
                    return self.forward_in_kernel(input, values, batch, masks);
                }
                let [rows, _] = input.dims();
                let counted = batch.counted.min(rows);
                let statistics = &mut batch.running[*index];
                // The statistics of the rows counted; padding rows are normalised by them too.
                let mean = input.clone().narrow(0, 0, counted).mean_dim(0);
                let centered = input - mean.clone();
                let variance = centered.clone().narrow(0, 0, counted).square().mean_dim(0);
                let inverse_deviation = variance.clone().add_scalar(*epsilon).sqrt().recip();
                let normalized = centered * inverse_deviation.clone();
                let output = normalized.clone() * values[*gamma].clone() + values[*beta].clone();
                statistics.mean = statistics.mean.extract().mul_scalar(1.0 - momentum)
                    + mean.mul_scalar(*momentum);
                statistics.variance = statistics.variance.extract().mul_scalar(1.0 - momentum)
                    + variance.mul_scalar(*momentum);
                (
                    output,
                    Saved::Norm {
                        normalized,
                        inverse_deviation,
                        lead: None,
                    },
                )
            }
            LayerRule::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => {
                if kernels::layer_norm_fits(&input.device()) {
                    return self.forward_in_kernel(input, values, batch, masks);
                }
                let mean = input.clone().mean_dim(1);
                let centered = input - mean;
                let variance = centered.clone().square().mean_dim(1);
                let inverse_deviation = variance.add_scalar(*epsilon).sqrt().recip();
                let normalized = centered * inverse_deviation.clone();
                let output = normalized.clone() * values[*gamma].clone() + values[*beta].clone();
                (
                    output,
                    Saved::Norm {
                        normalized,
                        inverse_deviation,
                        lead: None,
                    },
                )
            }
        }
    }

    /// Backward: from the gradient with respect to the layer's output, the gradients of its
    /// parameters (pushed onto `gradients`) and, if `wants_input` (not for the first layer),
    /// the gradient with respect to its input.
    pub fn backward(
        &self,
        upstream: Tensor<2>,
        saved: Saved,
        values: &[&Tensor<2>],
        wants_input: bool,
        gradients: &mut Gradients,
        form: Form,
    ) -> Option<Tensor<2>> {
        let Form {
            gating, mutation, ..
        } = form;
        match (self, saved) {
            (
                LayerRule::Dense {
                    weight,
                    bias,
                    activation,
                },
                Saved::Dense {
                    input,
                    affine,
                    output,
                    applied,
                },
            ) => {
                let affine_gradient = match mutation {
                    _ if applied => upstream,
                    Some(Mutation::ActivationDerivativeDropped) => upstream,
                    Some(
                        Mutation::ParameterGradientScaled { .. }
                        | Mutation::UpdatesOutOfPlace
                        | Mutation::HostWriteInStep
                        | Mutation::HostWriteInFirstRecording,
                    )
                    | None => activation::backward(
                        activation,
                        upstream,
                        affine.as_ref(),
                        output.as_ref(),
                        gating,
                    ),
                };
                drop((affine, output));
                // The weight's gradient first, the input's last: the layer below applies its
                // activation's derivative to the input's gradient next, and on a GPU
                // burn-fusion fuses that element-wise step into this product's kernel only
                // when no other product comes between them (one launch fewer a layer).
                gradients.push((
                    *weight,
                    Gradient::Value(product(input.transpose(), affine_gradient.clone())),
                ));
                let input_gradient = wants_input
                    .then(|| product(affine_gradient.clone(), values[*weight].clone().transpose()));
                if let Some(bias) = bias {
                    gradients.push((*bias, Gradient::RowSum(affine_gradient)));
                }
                input_gradient
            }
            (LayerRule::Activation(_), Saved::Applied) => Some(upstream),
            (LayerRule::Activation(function), Saved::Activation { input, output }) => Some(
                activation::backward(function, upstream, input.as_ref(), output.as_ref(), gating),
            ),
            (LayerRule::Prelu { slope }, Saved::Prelu(input)) => {
                // dy/dx = a where x < 0, 1 elsewhere (at 0 too, as burn's); dy/da = min(0, x).
                // As a product (CPU): 1 - (1 - a) · [x < 0]; masked (GPU): the upstream
                // times a where x < 0 ([`Gating`]).
                let slope_value = values[*slope].clone();
                let input_gradient = wants_input.then(|| match gating {
                    Gating::Product => {
                        let negative = input.clone().lower_elem(0.0).float();
                        let derivative = (negative * slope_value.neg().add_scalar(1.0))
                            .neg()
                            .add_scalar(1.0);
                        upstream.clone() * derivative
                    }
                    Gating::Masked => upstream.clone().mask_where(
                        input.clone().lower_elem(0.0),
                        upstream.clone() * slope_value,
                    ),
                });
                // As rows to sum, like a dense layer's bias: an update in place sums them in its
                // kernel, and on a GPU burn-fusion fuses the product with min(0, x) into the
                // kernel before (a reduction of its own measured one launch more a step).
                gradients.push((*slope, Gradient::RowSum(upstream * input.clamp_max(0.0))));
                input_gradient
            }
            (LayerRule::Residual { rules }, Saved::Residual(mut saved)) => {
                // The sum passes the output's gradient to the input twice: directly, and
                // through the block.
                let wants = |index: usize| index > 0 || wants_input;
                lead_into_norms(rules, &mut saved, wants, form, &upstream.device());
                let mut through = Some(upstream.clone());
                for (index, (rule, kept)) in rules.iter().zip(saved).enumerate().rev() {
                    let Some(gradient) = through.take() else {
                        break;
                    };
                    through = rule.backward(
                        gradient,
                        kept,
                        values,
                        index > 0 || wants_input,
                        gradients,
                        form,
                    );
                }
                if wants_input {
                    through.map(|through| upstream + through)
                } else {
                    None
                }
            }
            (LayerRule::Dropout { .. }, Saved::Dropout(mask)) => Some(match mask {
                Some(mask) => upstream * mask,
                None => upstream,
            }),
            (
                LayerRule::BatchNorm { gamma, beta, .. },
                Saved::Norm {
                    normalized,
                    inverse_deviation,
                    lead,
                },
            ) => {
                if kernels::batch_norm_fits(&upstream.device()) {
                    let (scale_gradient, shift_gradient, input_gradient) =
                        kernels::batch_norm_backward(
                            upstream,
                            normalized,
                            inverse_deviation,
                            values[*gamma].clone(),
                            wants_input,
                            form.counted,
                            lead,
                        );
                    gradients.push((*gamma, Gradient::Value(scale_gradient)));
                    gradients.push((*beta, Gradient::Value(shift_gradient)));
                    return input_gradient;
                }
                let [rows, width] = upstream.dims();
                let counted = form.counted.min(rows);
                let device = upstream.device();
                // Padding rows' upstream gradient is zero: the sums are the counted rows'.
                let shift_gradient = upstream.clone().sum_dim(0);
                let scale_gradient = (upstream.clone() * normalized.clone()).sum_dim(0);
                let input_gradient = wants_input.then(|| {
                    // (γ / σ) (g - mean(g) - x̂ · mean(g x̂)), the means over the counted rows
                    let factor = (values[*gamma].clone() * inverse_deviation)
                        .mul_scalar(1.0 / counted as f64);
                    let gradient = (upstream.mul_scalar(counted as f64)
                        - shift_gradient.clone()
                        - normalized * scale_gradient.clone())
                        * factor;
                    match counted < rows {
                        // Padding rows pass no gradient down.
                        true => Tensor::cat(
                            vec![
                                gradient.narrow(0, 0, counted),
                                Tensor::zeros([rows - counted, width], &device),
                            ],
                            0,
                        ),
                        false => gradient,
                    }
                });
                gradients.push((*gamma, Gradient::Value(scale_gradient)));
                gradients.push((*beta, Gradient::Value(shift_gradient)));
                input_gradient
            }
            (
                LayerRule::LayerNorm { gamma, beta, .. },
                Saved::Norm {
                    normalized,
                    inverse_deviation,
                    lead,
                },
            ) => {
                let fits = kernels::layer_norm_fits(&upstream.device());
                if fits && wants_input {
                    // γ's and β's gradients as rows the update kernel sums: g x̂ (written by
                    // the backward kernel) and g.
                    let (input_gradient, scale_rows) = kernels::layer_norm_backward(
                        upstream.clone(),
                        normalized,
                        inverse_deviation,
                        values[*gamma].clone(),
                        lead,
                    );
                    gradients.push((*gamma, Gradient::RowSum(scale_rows)));
                    gradients.push((*beta, Gradient::RowSum(upstream)));
                    return Some(input_gradient);
                }
                if fits {
                    // γ's and β's gradients are the column sums batch norm's kernel takes
                    // (without the input's gradient it reads no deviation).
                    let (scale_gradient, shift_gradient, _) = kernels::batch_norm_backward(
                        upstream,
                        normalized,
                        inverse_deviation,
                        values[*gamma].clone(),
                        false,
                        form.counted,
                        None,
                    );
                    gradients.push((*gamma, Gradient::Value(scale_gradient)));
                    gradients.push((*beta, Gradient::Value(shift_gradient)));
                    return None;
                }
                let shift_gradient = upstream.clone().sum_dim(0);
                let scale_gradient = (upstream.clone() * normalized.clone()).sum_dim(0);
                let input_gradient = wants_input.then(|| {
                    // With g = upstream · γ: (1/σ) (g - mean(g) - x̂ · mean(g x̂)), per example.
                    let scaled = upstream * values[*gamma].clone();
                    let mean = scaled.clone().mean_dim(1);
                    let correlation = (scaled.clone() * normalized.clone()).mean_dim(1);
                    (scaled - mean - normalized * correlation) * inverse_deviation
                });
                gradients.push((*gamma, Gradient::Value(scale_gradient)));
                gradients.push((*beta, Gradient::Value(shift_gradient)));
                input_gradient
            }
            (
                LayerRule::Dense { .. }
                | LayerRule::Activation(_)
                | LayerRule::Prelu { .. }
                | LayerRule::Residual { .. }
                | LayerRule::Dropout { .. }
                | LayerRule::BatchNorm { .. }
                | LayerRule::LayerNorm { .. },
                _,
            ) => unreachable!("each layer's backward pass reads what its own forward pass saved"),
        }
    }
}

/// The forward pass in training mode through `rules` in order: the output, and what each rule
/// keeps for its backward pass (one entry per rule). Where a norm's forward kernel runs, it
/// also applies the activation and the dropout that follow the norm (its tail,
/// [`kernels::Tail`]: burn-fusion would leave them a kernel of their own after ours), and each
/// of those layers keeps what its own backward rule reads.
pub fn forward_all(
    rules: &[LayerRule],
    input: Tensor<2>,
    values: &[&Tensor<2>],
    batch: &mut Batch<'_>,
    masks: &mut Masks,
) -> (Tensor<2>, Vec<Saved>) {
    let mut saved = Vec::with_capacity(rules.len());
    let mut hidden = input;
    let mut index = 0;
    while index < rules.len() {
        let rule = &rules[index];
        match TailPlan::after(rules, index, &hidden.device()) {
            Some(plan) => {
                let (output, kept) = rule.forward_with_tail(hidden, values, batch, masks, &plan);
                index += kept.len();
                saved.extend(kept);
                hidden = output;
            }
            None => {
                let (output, kept) = rule.forward(hidden, values, batch, masks);
                saved.push(kept);
                hidden = output;
                index += 1;
            }
        }
    }
    (hidden, saved)
}

/// Hands each norm whose backward kernel runs the activation just before it (a dense layer's,
/// or an activation layer), where `wants_input` says the norm passes a gradient down: the
/// kernel applies that activation's derivative to the input's gradient as it writes it
/// (burn-fusion would leave it a fused kernel of its own after ours), and the layer below
/// passes its gradient on ([`Saved::Dense`]'s `applied`, [`Saved::Applied`]). `saved` holds
/// what `rules` kept, one entry each; a step with a planted mutation keeps every derivative
/// where it is.
pub fn lead_into_norms(
    rules: &[LayerRule],
    saved: &mut [Saved],
    wants_input: impl Fn(usize) -> bool,
    form: Form,
    device: &burn::tensor::Device,
) {
    if form.mutation.is_some() {
        return;
    }
    for index in 1..rules.len().min(saved.len()) {
        let fits = rules[index].norm_kernels_fit(device);
        let function = match &rules[index - 1] {
            LayerRule::Dense { activation, .. } | LayerRule::Activation(activation) => {
                kernels::Function::of(activation)
            }
            LayerRule::Prelu { .. }
            | LayerRule::Residual { .. }
            | LayerRule::Dropout { .. }
            | LayerRule::BatchNorm { .. }
            | LayerRule::LayerNorm { .. } => None,
        };
        let Some((function, slope)) = function.filter(|(function, _)| {
            fits && wants_input(index) && *function != kernels::Function::Identity
        }) else {
            continue;
        };
        let (below, above) = saved.split_at_mut(index);
        let Saved::Norm { lead, .. } = &mut above[0] else {
            continue;
        };
        // The tensor the derivative reads: the activation's output or its input.
        let reads_output = function.derivative_reads_output();
        let read = match &mut below[index - 1] {
            Saved::Dense {
                affine,
                output,
                applied,
                ..
            } => {
                let read = if reads_output { output } else { affine }.take();
                *applied = read.is_some();
                read
            }
            Saved::Activation { input, output } => if reads_output { output } else { input }.take(),
            Saved::Prelu(_)
            | Saved::Applied
            | Saved::Residual(_)
            | Saved::Dropout(_)
            | Saved::Norm { .. } => None,
        };
        let Some(read) = read else {
            continue;
        };
        if matches!(below[index - 1], Saved::Activation { .. }) {
            below[index - 1] = Saved::Applied;
        }
        *lead = Some(kernels::Lead {
            function,
            slope,
            read,
        });
    }
}

/// The layers a norm's forward kernel takes after it: an activation its kernel applies, then
/// a dropout, either or both.
struct TailPlan {
    /// The activation that follows, with its kernel form and slope.
    activation: Option<(Activation, kernels::Function, f64)>,
    /// The rate of the dropout that follows (not zero).
    rate: Option<f64>,
}

impl TailPlan {
    /// The tail after `rules[index]`, where it is a norm whose kernel runs on `device`.
    fn after(rules: &[LayerRule], index: usize, device: &burn::tensor::Device) -> Option<TailPlan> {
        let mut next = index + 1;
        let activation = match rules.get(next) {
            Some(LayerRule::Activation(function)) => {
                kernels::Function::of(function).map(|(kernel, slope)| (*function, kernel, slope))
            }
            Some(_) | None => None,
        };
        next += usize::from(activation.is_some());
        let rate = match rules.get(next) {
            Some(LayerRule::Dropout { rate }) if *rate > 0.0 => Some(*rate),
            Some(_) | None => None,
        };
        if activation.is_none() && rate.is_none() {
            return None;
        }
        let plan = TailPlan { activation, rate };
        rules[index].norm_kernels_fit(device).then_some(plan)
    }
}

impl LayerRule {
    /// Whether the rule is a norm whose kernels run on `device`.
    fn norm_kernels_fit(&self, device: &burn::tensor::Device) -> bool {
        match self {
            LayerRule::BatchNorm { .. } => kernels::batch_norm_fits(device),
            LayerRule::LayerNorm { .. } => kernels::layer_norm_fits(device),
            LayerRule::Dense { .. }
            | LayerRule::Activation(_)
            | LayerRule::Prelu { .. }
            | LayerRule::Residual { .. }
            | LayerRule::Dropout { .. } => false,
        }
    }

    /// A norm's forward pass in training mode by its kernel, with no tail.
    fn forward_in_kernel(
        &self,
        input: Tensor<2>,
        values: &[&Tensor<2>],
        batch: &mut Batch<'_>,
        masks: &mut Masks,
    ) -> (Tensor<2>, Saved) {
        let no_tail = TailPlan {
            activation: None,
            rate: None,
        };
        let (output, kept) = self.forward_with_tail(input, values, batch, masks, &no_tail);
        let Ok([saved]) = <[Saved; 1]>::try_from(kept) else {
            unreachable!("a norm with no tail keeps one entry")
        };
        (output, saved)
    }

    /// A norm's forward pass in training mode with the tail `plan` applied by its kernel:
    /// the tail's output, and what the norm and each of the tail's layers keep.
    fn forward_with_tail(
        &self,
        input: Tensor<2>,
        values: &[&Tensor<2>],
        batch: &mut Batch<'_>,
        masks: &mut Masks,
        plan: &TailPlan,
    ) -> (Tensor<2>, Vec<Saved>) {
        let mask = plan.rate.map(|rate| masks.next(rate, &input));
        let (function, slope) = plan.activation.as_ref().map_or(
            (kernels::Function::Identity, 0.0),
            |(_, function, slope)| (*function, *slope),
        );
        let tail = kernels::Tail {
            function,
            slope,
            mask: mask.clone(),
        };
        let (tailed, normalized, inverse_deviation) = match self {
            LayerRule::BatchNorm {
                gamma,
                beta,
                running: index,
                momentum,
                epsilon,
            } => {
                let statistics = &mut batch.running[*index];
                let setting = kernels::BatchNormSetting {
                    epsilon: *epsilon,
                    momentum: *momentum,
                    counted: batch.counted,
                };
                let forward = kernels::batch_norm_forward(
                    setting,
                    input,
                    values[*gamma].clone(),
                    values[*beta].clone(),
                    statistics.mean.extract(),
                    statistics.variance.extract(),
                    tail,
                );
                (statistics.mean, statistics.variance) = (forward.mean, forward.variance);
                (
                    forward.tailed,
                    forward.normalized,
                    forward.inverse_deviation,
                )
            }
            LayerRule::LayerNorm {
                gamma,
                beta,
                epsilon,
            } => kernels::layer_norm_forward(
                *epsilon,
                input,
                values[*gamma].clone(),
                values[*beta].clone(),
                tail,
            ),
            LayerRule::Dense { .. }
            | LayerRule::Activation(_)
            | LayerRule::Prelu { .. }
            | LayerRule::Residual { .. }
            | LayerRule::Dropout { .. } => {
                unreachable!("only a norm's kernel takes a tail (TailPlan::after)")
            }
        };
        let mut kept = vec![Saved::Norm {
            normalized,
            inverse_deviation,
            lead: None,
        }];
        if let Some((activation, _, _)) = &plan.activation {
            // The activation's output is the tail's where no mask follows.
            let output = match mask.is_some() {
                true => tailed.activation_output,
                false => activation::needs_output(activation).then(|| tailed.output.clone()),
            };
            kept.push(Saved::Activation {
                input: tailed.activation_input,
                output,
            });
        }
        if mask.is_some() {
            kept.push(Saved::Dropout(mask));
        }
        (tailed.output, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::kernels::testing::Draws;
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// The largest difference between two tensors' values.
    fn difference(a: Tensor<2>, b: Tensor<2>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    /// Batch norm's composed operations (the CPU's, and a GPU's where its kernels do not fit)
    /// on a batch padded with rows that do not count: the counted rows' output, the running
    /// statistics and the gradients are the counted rows' alone, and the padding rows pass a
    /// zero gradient down.
    #[test]
    fn composed_batch_norm_counts_only_the_rows_before_the_padding() {
        let device = Device::flex();
        let draws = Draws::new(4, &device);
        let (counted, padding, features) = (6, 10, 5);
        let rows = counted + padding;
        let rule = LayerRule::BatchNorm {
            gamma: 0,
            beta: 1,
            running: 0,
            momentum: 0.1,
            epsilon: 1e-5,
        };
        let random =
            |rows: usize, distribution: Distribution| draws.tensor([rows, features], distribution);
        let gamma = random(1, Distribution::Normal(1.0, 0.5));
        let beta = random(1, Distribution::Normal(0.0, 0.5));
        let input = random(rows, Distribution::Normal(1.0, 3.0));
        let upstream = Tensor::cat(
            vec![
                random(counted, Distribution::Normal(0.0, 1.0)),
                Tensor::zeros([padding, features], &device),
            ],
            0,
        );
        let run = |input: Tensor<2>, upstream: Tensor<2>| {
            let mut running = vec![Running {
                mean: Tensor::zeros([1, features], &device),
                variance: Tensor::ones([1, features], &device),
            }];
            let values = [&gamma, &beta];
            let mut batch = Batch {
                running: &mut running,
                counted,
            };
            let (output, saved) = rule.forward(input, &values, &mut batch, &mut Masks::Drawn);
            let mut gradients = Gradients::new();
            let form = Form {
                gating: Gating::for_device(&device),
                mutation: None,
                counted,
            };
            let input_gradient = rule
                .backward(upstream, saved, &values, true, &mut gradients, form)
                .expect("asked for");
            let [statistics] = <[Running; 1]>::try_from(running).ok().expect("one");
            let mut gradients = gradients.into_iter().map(|(_, gradient)| gradient.summed());
            let (gamma_gradient, beta_gradient) = (
                gradients.next().expect("γ's"),
                gradients.next().expect("β's"),
            );
            (
                output,
                statistics,
                gamma_gradient,
                beta_gradient,
                input_gradient,
            )
        };
        let padded = run(input.clone(), upstream.clone());
        let alone = run(input.narrow(0, 0, counted), upstream.narrow(0, 0, counted));
        let first = |tensor: Tensor<2>| tensor.narrow(0, 0, counted);
        let differences = [
            difference(first(padded.0), alone.0),
            difference(padded.1.mean, alone.1.mean),
            difference(padded.1.variance, alone.1.variance),
            difference(padded.2, alone.2),
            difference(padded.3, alone.3),
            difference(first(padded.4.clone()), alone.4),
        ];
        let padding_gradient = padded
            .4
            .narrow(0, counted, padding)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert_eq!(padding_gradient, 0.0, "the padding rows' input gradient");
        assert!(
            differences.iter().all(|difference| *difference < 1e-5),
            "output, running mean and variance, γ's, β's and the input's gradients: {differences:?}"
        );
    }
}
