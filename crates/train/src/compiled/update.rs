//! Optimizer rules: each parameter is updated in place from its gradient, with its state
//! (momentum velocity, Adam's moments and step count) kept in buffers that live across steps.
//!
//! The arithmetic follows burn's optimizers step for step (`burn-optim`: weight decay added to
//! the gradient before momentum; momentum without dampening, Nesterov's look-ahead; Adam with
//! the bias corrections folded into one factor and ε scaled by `sqrt(1 - β₂ᵗ)`; AdamW's decay
//! `w (1 - lr·λ)` decoupled from the gradient), so that both steps train the same model.
//!
//! Plain SGD (no momentum, no decay) updates `w -= lr·g`: the step folds `lr` into the loss
//! gradient ([`UpdateRule::folds_rate`]), and the update is one subtraction per parameter.
//!
//! Every rule but AdamW's decoupled decay is `w - lr·d`; a replayed step adds `(-lr)·d` into
//! the parameter's own buffer by one indexed addition ([`Updates::InPlace`]), in place, so the
//! parameter never moves to another buffer and needs no copy back
//! ([`UpdateRule::adds_in_place`]). The step negates the rate where it is read, so the
//! negation costs no kernel; `w + (-lr)·d` is `w - lr·d` exactly in floating point (and a
//! folded rate negates the whole backward pass exactly), so both forms train the same numbers.

use burn::module::ParamId;
use burn::tensor::Tensor;
use mlpc_ir::Optimizer;

use super::kernels;
use super::layer::Gradient;
use super::scalar::{Scalar, StepScalars};

/// A trainable tensor and its optimizer state.
pub struct Parameter {
    /// burn's identity of the parameter: optimizer records are keyed by it.
    pub id: ParamId,
    /// Its module path, as burn's records name it (`layers.0.Dense.linear.weight`).
    pub path: String,
    /// The value, always 2-D here: a vector `[n]` is kept as `[1, n]` so it broadcasts over a
    /// batch without a reshape per step.
    pub value: Tensor<2>,
    /// Whether burn stores it as a vector `[n]` (biases, norm scales and shifts).
    pub is_vector: bool,
    /// Momentum or Adam state, where the optimizer keeps any.
    pub state: State,
}

/// Per-parameter optimizer state.
pub enum State {
    /// Plain SGD keeps none.
    None,
    /// SGD with momentum: the velocity.
    Velocity(Tensor<2>),
    /// Adam and AdamW: the moment estimates and the number of steps taken.
    Moments(Moments),
}

/// Adam's moment estimates of one parameter.
pub struct Moments {
    /// First moment (mean of gradients).
    pub first: Tensor<2>,
    /// Second moment (mean of squared gradients).
    pub second: Tensor<2>,
    /// Steps taken.
    pub time: usize,
}

impl Moments {
    /// The estimates after one more gradient (burn's order of operations, in f32).
    fn advance(self, beta1: f64, beta2: f64, gradient: Tensor<2>) -> Moments {
        let (beta1, beta2) = (beta1 as f32, beta2 as f32);
        Moments {
            first: self.first.mul_scalar(beta1) + gradient.clone().mul_scalar(1.0 - beta1),
            second: self.second.mul_scalar(beta2) + gradient.square().mul_scalar(1.0 - beta2),
            time: self.time + 1,
        }
    }

    /// Adam's direction as burn's Adam computes it: the bias corrections folded into one
    /// factor, ε scaled by `sqrt(1 - β₂ᵗ)` (`factors` from [`super::scalar::StepRow::new`]).
    fn adam_direction(&self, factors: &[Scalar]) -> Tensor<2> {
        factors[0]
            .times(self.first.clone())
            .div(factors[1].plus(self.second.clone().sqrt()))
    }

    /// The same direction as burn's AdamW computes it: each moment corrected on its own.
    fn adamw_direction(&self, factors: &[Scalar], epsilon: f64) -> Tensor<2> {
        let epsilon = epsilon as f32;
        let first = factors[0].divides(self.first.clone());
        let second = factors[1].divides(self.second.clone());
        first.div(second.sqrt().add_scalar(epsilon))
    }
}

impl State {
    /// The same state in buffers of its own.
    pub fn copy(&self) -> State {
        match self {
            State::None => State::None,
            State::Velocity(velocity) => State::Velocity(copy(velocity)),
            State::Moments(moments) => State::Moments(Moments {
                first: copy(&moments.first),
                second: copy(&moments.second),
                time: moments.time,
            }),
        }
    }

    /// The state an optimizer starts a parameter of this shape with: zeros, which give burn's
    /// first step exactly (`v = g`, `m = (1 - β₁) g`).
    pub fn initial(optimizer: &Optimizer, value: &Tensor<2>) -> State {
        let zeros = || value.zeros_like();
        match *optimizer {
            Optimizer::Sgd { momentum, .. } if momentum > 0.0 => State::Velocity(zeros()),
            Optimizer::Sgd { .. } => State::None,
            Optimizer::Adam { .. } | Optimizer::AdamW { .. } => State::Moments(Moments {
                first: zeros(),
                second: zeros(),
                time: 0,
            }),
        }
    }
}

/// Where updated parameter values go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updates {
    /// Into new tensors, in whatever buffers the backend chooses (the eager step).
    New,
    /// Added into each parameter's own buffer, where the rule allows it
    /// ([`UpdateRule::adds_in_place`]) and the device runs the step's kernels (two updates to
    /// a kernel, [`super::kernels::add_two`]; a bias whose gradient comes as rows gets their
    /// column sums): the replayed step, whose recording must find every parameter where it
    /// left it. Elsewhere (nothing is recorded there) as new values.
    InPlace,
}

/// A parameter whose state has advanced, and the change still to be made to its value.
struct Pending {
    /// The value before the change (moved out, so that its buffer keeps one owner).
    value: Tensor<2>,
    /// The rest of the parameter.
    rest: Unvalued,
    change: Change,
}

impl Pending {
    /// The parameter with the change made into a new value.
    fn into_new(self) -> Parameter {
        let value = match self.change {
            Change::Decrement(decrement) => self.value - decrement.summed(),
            Change::Decayed { factor, decrement } => factor.times(self.value) - decrement,
        };
        self.rest.with_value(value)
    }

    /// The value, the rest, and what an update in place adds into the value (the rate came
    /// negated: the decrement is `-Δ`).
    fn into_addition(self) -> (Tensor<2>, Unvalued, kernels::Addend) {
        let addend = match self.change {
            Change::Decrement(Gradient::Value(decrement)) => kernels::Addend::Values(decrement),
            Change::Decrement(Gradient::RowSum(rows)) => kernels::Addend::ColumnSums(rows),
            Change::Decayed { .. } => {
                unreachable!("a rule that decays does not add in place (adds_in_place)")
            }
        };
        (self.value, self.rest, addend)
    }
}

/// A parameter without its value.
struct Unvalued {
    id: ParamId,
    path: String,
    is_vector: bool,
    state: State,
}

impl Unvalued {
    /// The parameter with `value`.
    fn with_value(self, value: Tensor<2>) -> Parameter {
        let Unvalued {
            id,
            path,
            is_vector,
            state,
        } = self;
        Parameter {
            id,
            path,
            value,
            is_vector,
            state,
        }
    }
}

/// What a rule does to a parameter's value.
enum Change {
    /// `w - Δ`, or `w + Δ` where the rate came negated.
    Decrement(Gradient),
    /// `c·w - Δ` (AdamW's decoupled decay, `c = 1 - lr·λ`).
    Decayed {
        factor: Scalar,
        decrement: Tensor<2>,
    },
}

/// The optimizer's update, as a rule applied to each parameter.
#[derive(Debug, Clone, Copy)]
pub struct UpdateRule {
    optimizer: Optimizer,
}

impl UpdateRule {
    /// The rule of an IR optimizer.
    pub fn new(optimizer: Optimizer) -> Self {
        UpdateRule { optimizer }
    }

    /// Whether gradients arrive already multiplied by the learning rate (plain SGD), so that
    /// the update is `w -= g`.
    pub fn folds_rate(&self) -> bool {
        matches!(
            self.optimizer,
            Optimizer::Sgd { momentum, weight_decay, .. } if momentum == 0.0 && weight_decay == 0.0
        )
    }

    /// Whether every update is `w - Δ`, which [`Updates::InPlace`] adds into the parameter's
    /// own buffer (all rules but AdamW with a decay, whose `c·w - Δ` makes a new value).
    pub fn adds_in_place(&self) -> bool {
        !matches!(self.optimizer, Optimizer::AdamW { weight_decay, .. } if weight_decay != 0.0)
    }

    /// The optimizer's time (1-based) of the next update: one more than the steps its
    /// parameters' state has taken (0 for optimizers that keep no count).
    pub fn next_time(parameters: &[Parameter]) -> usize {
        parameters
            .iter()
            .find_map(|parameter| match &parameter.state {
                State::Moments(moments) => Some(moments.time),
                State::None | State::Velocity(_) => None,
            })
            .unwrap_or(0)
            + 1
    }

    /// Updates every parameter from its gradient (of the batch's mean loss, times the rate if
    /// [`folds_rate`](Self::folds_rate)) with the step's learning rate and optimizer factors.
    /// Values and states are moved in and out, so each buffer has one owner and the backend
    /// can write in place.
    ///
    /// With `in_place` (the caller's promise: [`Updates::InPlace`] on a device that runs the
    /// step's kernels, under a rule that [adds in place](Self::adds_in_place), with the rate
    /// in `scalars` negated) every change is computed before any value is written, and the
    /// changes are added into the parameters' buffers two to a kernel
    /// ([`kernels::add_two`]), in parameter order; otherwise each parameter gets a new value.
    pub fn apply_all(
        &self,
        parameters: Vec<Parameter>,
        gradients: Vec<Gradient>,
        scalars: &StepScalars,
        in_place: bool,
    ) -> Vec<Parameter> {
        let pending = parameters
            .into_iter()
            .zip(gradients)
            .map(|(parameter, gradient)| self.pending(parameter, gradient, scalars));
        if !in_place {
            return pending.map(Pending::into_new).collect();
        }
        let mut pending = pending.collect::<Vec<_>>().into_iter();
        let mut updated = Vec::with_capacity(pending.len());
        while let Some(first) = pending.next() {
            let (value, rest, addend) = first.into_addition();
            match pending.next() {
                Some(second) => {
                    let (second_value, second_rest, second_addend) = second.into_addition();
                    let (value, second_value) =
                        kernels::add_two((value, addend), (second_value, second_addend));
                    updated.push(rest.with_value(value));
                    updated.push(second_rest.with_value(second_value));
                }
                None => updated.push(rest.with_value(kernels::add(value, addend))),
            }
        }
        updated
    }

    /// The change `gradient` makes to `parameter`, whose state it already advanced.
    fn pending(&self, parameter: Parameter, gradient: Gradient, scalars: &StepScalars) -> Pending {
        let Parameter {
            id,
            path,
            value,
            is_vector,
            state,
        } = parameter;
        let (change, state) = match (self.optimizer, state) {
            (_, state) if self.folds_rate() => (Change::Decrement(gradient), state),
            (optimizer, state) => self.change(optimizer, state, gradient.summed(), &value, scalars),
        };
        Pending {
            value,
            rest: Unvalued {
                id,
                path,
                is_vector,
                state,
            },
            change,
        }
    }

    /// The change of a rule that does not fold the rate, from the summed `gradient`, and the
    /// state after it.
    fn change(
        &self,
        optimizer: Optimizer,
        state: State,
        gradient: Tensor<2>,
        value: &Tensor<2>,
        scalars: &StepScalars,
    ) -> (Change, State) {
        let rate = &scalars.rate;
        match (optimizer, state) {
            (
                Optimizer::Sgd {
                    momentum,
                    nesterov,
                    weight_decay,
                    ..
                },
                state,
            ) => {
                let gradient = with_penalty(gradient, value, weight_decay);
                let (direction, state) = match state {
                    State::Velocity(velocity) => {
                        // burn keeps the momentum factor in f32.
                        let momentum = momentum as f32 as f64;
                        let velocity = velocity.mul_scalar(momentum) + gradient.clone();
                        let direction = if nesterov {
                            velocity.clone().mul_scalar(momentum) + gradient
                        } else {
                            velocity.clone()
                        };
                        (direction, State::Velocity(velocity))
                    }
                    state @ (State::None | State::Moments(_)) => (gradient, state),
                };
                (
                    Change::Decrement(Gradient::Value(rate.times(direction))),
                    state,
                )
            }
            (
                Optimizer::Adam {
                    beta1,
                    beta2,
                    weight_decay,
                    ..
                },
                State::Moments(moments),
            ) => {
                let gradient = with_penalty(gradient, value, weight_decay);
                let moments = moments.advance(beta1, beta2, gradient);
                let direction = moments.adam_direction(&scalars.factors);
                (
                    Change::Decrement(Gradient::Value(rate.times(direction))),
                    State::Moments(moments),
                )
            }
            (
                Optimizer::AdamW {
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                    ..
                },
                State::Moments(moments),
            ) => {
                let moments = moments.advance(beta1, beta2, gradient);
                let direction = moments.adamw_direction(&scalars.factors, epsilon);
                let decrement = rate.times(direction);
                let change = if weight_decay == 0.0 {
                    Change::Decrement(Gradient::Value(decrement))
                } else {
                    // Decoupled decay, `w (1 - lr·λ)`.
                    Change::Decayed {
                        factor: scalars.factors[2].clone(),
                        decrement,
                    }
                };
                (change, State::Moments(moments))
            }
            (
                Optimizer::Adam { .. } | Optimizer::AdamW { .. },
                State::None | State::Velocity(_),
            ) => {
                unreachable!("Adam's parameters start with moments")
            }
        }
    }
}

/// A tensor's values in a buffer of their own.
pub fn copy(tensor: &Tensor<2>) -> Tensor<2> {
    tensor.clone().mul_scalar(1.0)
}

/// The gradient with an L2 penalty `λ w` added, as burn's SGD and Adam add it (none for λ = 0).
fn with_penalty(gradient: Tensor<2>, value: &Tensor<2>, weight_decay: f64) -> Tensor<2> {
    if weight_decay > 0.0 {
        value.clone().mul_scalar(weight_decay) + gradient
    } else {
        gradient
    }
}
