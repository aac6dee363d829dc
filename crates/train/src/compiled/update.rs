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

use burn::module::ParamId;
use burn::tensor::Tensor;
use mlpc_ir::Optimizer;

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
    /// factor, ε scaled by `sqrt(1 - β₂ᵗ)`.
    fn adam_direction(&self, beta1: f64, beta2: f64, epsilon: f64) -> Tensor<2> {
        let (beta1, beta2, epsilon) = (beta1 as f32, beta2 as f32, epsilon as f32);
        let power = self.time as i32;
        let correction2 = (1.0 - beta2.powi(power)).sqrt();
        let combined = correction2 / (1.0 - beta1.powi(power));
        self.first
            .clone()
            .mul_scalar(combined)
            .div(self.second.clone().sqrt().add_scalar(epsilon * correction2))
    }

    /// The same direction as burn's AdamW computes it: each moment corrected on its own.
    fn adamw_direction(&self, beta1: f64, beta2: f64, epsilon: f64) -> Tensor<2> {
        let (beta1, beta2, epsilon) = (beta1 as f32, beta2 as f32, epsilon as f32);
        let power = self.time as i32;
        let first = self.first.clone().div_scalar(1.0 - beta1.powi(power));
        let second = self.second.clone().div_scalar(1.0 - beta2.powi(power));
        first.div(second.sqrt().add_scalar(epsilon))
    }
}

impl State {
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

    /// Updates `parameter` from its `gradient` (of the batch's mean loss, times the rate if
    /// [`folds_rate`](Self::folds_rate)) at learning rate `rate`. The value and its state are
    /// moved in and out, so each buffer has one owner and the backend can write in place.
    pub fn apply(&self, parameter: Parameter, gradient: Tensor<2>, rate: f64) -> Parameter {
        let Parameter { value, state, .. } = parameter;
        let (value, state) = match (self.optimizer, state) {
            (_, state) if self.folds_rate() => (value - gradient, state),
            (
                Optimizer::Sgd {
                    momentum,
                    nesterov,
                    weight_decay,
                    ..
                },
                state,
            ) => {
                let gradient = with_penalty(gradient, &value, weight_decay);
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
                (value - direction.mul_scalar(rate), state)
            }
            (
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                    ..
                },
                State::Moments(moments),
            ) => {
                let gradient = with_penalty(gradient, &value, weight_decay);
                let moments = moments.advance(beta1, beta2, gradient);
                let direction = moments.adam_direction(beta1, beta2, epsilon);
                (value - direction.mul_scalar(rate), State::Moments(moments))
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
                let direction = moments.adamw_direction(beta1, beta2, epsilon);
                // Decoupled decay, `w (1 - lr·λ)`, with λ in f32 as burn keeps it.
                let decay = rate * (weight_decay as f32 as f64);
                let decayed = if decay == 0.0 {
                    value
                } else {
                    value.mul_scalar(1.0 - decay)
                };
                (
                    decayed - direction.mul_scalar(rate),
                    State::Moments(moments),
                )
            }
            (
                Optimizer::Adam { .. } | Optimizer::AdamW { .. },
                State::None | State::Velocity(_),
            ) => {
                unreachable!("Adam's parameters start with moments")
            }
        };
        Parameter {
            value,
            state,
            ..parameter
        }
    }
}

/// The gradient with an L2 penalty `λ w` added, as burn's SGD and Adam add it (none for λ = 0).
fn with_penalty(gradient: Tensor<2>, value: &Tensor<2>, weight_decay: f64) -> Tensor<2> {
    if weight_decay > 0.0 {
        value.clone().mul_scalar(weight_decay) + gradient
    } else {
        gradient
    }
}
