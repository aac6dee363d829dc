//! Optimizer rules: each parameter is updated from its gradient, with its state (momentum
//! velocity, Adam's moments and step count) kept in buffers that live across steps.
//!
//! The arithmetic follows burn's optimizers step for step (`burn-optim`: weight decay added to
//! the gradient before momentum; momentum without dampening, Nesterov's look-ahead; Adam with
//! the bias corrections folded into one factor and ε scaled by `sqrt(1 - β₂ᵗ)`; AdamW's decay
//! `w (1 - lr·λ)` decoupled from the gradient), so that both steps train the same model.
//!
//! Plain SGD (no momentum, no decay) updates `w -= lr·g`: the step folds `lr` into the loss
//! gradient ([`UpdateRule::folds_rate`]), and the update is one subtraction per parameter.
//!
//! Two forms of the same arithmetic: the eager step composes burn's tensor operations (each
//! result a new tensor); a replayed step ([`Updates::InPlace`]) updates every parameter's value
//! and state in their own buffers by one kernel of ours ([`kernels::update`]; a few where the
//! device binds fewer buffers to a kernel than the step has tensors), so that nothing moves to
//! another buffer and nothing needs a copy back. There the rate arrives negated, `w + (-lr)·d`
//! (exactly `w - lr·d` in floating point; a folded rate negates the whole backward pass
//! exactly): a replayed step's table stores it negated ([`super::scalar::Table`]), so no
//! kernel negates it.

use burn::module::ParamId;
use burn::tensor::Tensor;
use mlpc_ir::Optimizer;

use super::descent::{self, Outcome};
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
    /// The state's tensors (none, the velocity, or the first and second moments) and its kind.
    fn into_tensors(self) -> (Vec<Tensor<2>>, Kept) {
        match self {
            State::None => (Vec::new(), Kept::Nothing),
            State::Velocity(velocity) => (vec![velocity], Kept::Velocity),
            State::Moments(Moments {
                first,
                second,
                time,
            }) => (vec![first, second], Kept::Moments { time }),
        }
    }

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
    /// Into each parameter's own buffers, values and state, by one kernel for the whole step
    /// ([`kernels::update`]; a few where the device binds fewer buffers to a kernel), where the
    /// device runs the step's kernels: the replayed step,
    /// whose recording must find every parameter where it left it. Elsewhere (nothing is
    /// recorded there) as new values.
    InPlace,
}

/// A parameter without its value.
struct Unvalued {
    id: ParamId,
    path: String,
    is_vector: bool,
    state: State,
}

impl Parameter {
    /// The value, and the rest of the parameter (the value moved out, so that its buffer keeps
    /// one owner).
    fn split(self) -> (Tensor<2>, Unvalued) {
        let Parameter {
            id,
            path,
            value,
            is_vector,
            state,
        } = self;
        let rest = Unvalued {
            id,
            path,
            is_vector,
            state,
        };
        (value, rest)
    }
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
    /// step's kernels, with the rate in `scalars` negated) every parameter's value and state
    /// are updated in their own buffers by one kernel ([`kernels::update`]); otherwise each
    /// parameter gets new tensors from burn's operations.
    pub fn apply_all(
        &self,
        parameters: Vec<Parameter>,
        gradients: Vec<Gradient>,
        scalars: &StepScalars,
        in_place: bool,
    ) -> Vec<Parameter> {
        if in_place {
            return self.apply_in_place(parameters, gradients, scalars);
        }
        parameters
            .into_iter()
            .zip(gradients)
            .map(|(parameter, gradient)| self.updated(parameter, gradient, scalars))
            .collect()
    }

    /// [`apply_all`](Self::apply_all) in place, by one kernel.
    fn apply_in_place(
        &self,
        parameters: Vec<Parameter>,
        gradients: Vec<Gradient>,
        scalars: &StepScalars,
    ) -> Vec<Parameter> {
        assert!(
            scalars.rate_negated,
            "updates in place add (-lr)·d: the rate must come negated"
        );
        if parameters.is_empty() {
            return parameters;
        }
        let (form, constants) = self.kernel_form();
        let factors = std::iter::once(&scalars.rate)
            .chain(&scalars.factors)
            .take(form.rule.factors())
            .map(|factor| factor.tensor(&parameters[0].value.device()))
            .collect();
        let mut rests = Vec::with_capacity(parameters.len());
        let mut targets = Vec::with_capacity(parameters.len());
        for (parameter, gradient) in parameters.into_iter().zip(gradients) {
            let (value, mut rest) = parameter.split();
            let (states, kept) = std::mem::replace(&mut rest.state, State::None).into_tensors();
            let gradient = match gradient {
                Gradient::Value(gradient) | Gradient::RowSum(gradient) => gradient,
            };
            targets.push(kernels::Target {
                value,
                states,
                gradient,
            });
            rests.push((rest, kept.advanced()));
        }
        kernels::update(form, constants, factors, targets)
            .into_iter()
            .zip(rests)
            .map(|(updated, (mut rest, kept))| {
                rest.state = kept.with_tensors(updated.states);
                rest.with_value(updated.value)
            })
            .collect()
    }

    /// The optimizer as the update kernel applies it: its rule and its constants, in f32 as
    /// burn's optimizers keep them.
    fn kernel_form(&self) -> (kernels::Form, kernels::Constants) {
        let none = kernels::Constants::default();
        match self.optimizer {
            Optimizer::Sgd { .. } if self.folds_rate() => (
                kernels::Form {
                    rule: kernels::Rule::Added,
                    penalty: false,
                },
                none,
            ),
            Optimizer::Sgd {
                momentum,
                nesterov,
                weight_decay,
                ..
            } => {
                let rule = match (momentum > 0.0, nesterov) {
                    (false, _) => kernels::Rule::Sgd,
                    (true, false) => kernels::Rule::Momentum,
                    (true, true) => kernels::Rule::Nesterov,
                };
                let form = kernels::Form {
                    rule,
                    penalty: weight_decay > 0.0,
                };
                let constants = kernels::Constants {
                    momentum: momentum as f32,
                    penalty: weight_decay as f32,
                    ..none
                };
                (form, constants)
            }
            Optimizer::Adam {
                beta1,
                beta2,
                weight_decay,
                ..
            } => {
                let form = kernels::Form {
                    rule: kernels::Rule::Adam,
                    penalty: weight_decay > 0.0,
                };
                let constants = kernels::Constants {
                    penalty: weight_decay as f32,
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    ..none
                };
                (form, constants)
            }
            Optimizer::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
                ..
            } => {
                let rule = match weight_decay == 0.0 {
                    true => kernels::Rule::AdamW,
                    false => kernels::Rule::DecayedAdamW,
                };
                let form = kernels::Form {
                    rule,
                    penalty: false,
                };
                let constants = kernels::Constants {
                    beta1: beta1 as f32,
                    beta2: beta2 as f32,
                    epsilon: epsilon as f32,
                    ..none
                };
                (form, constants)
            }
        }
    }

    /// `parameter` after one step of the rule from `gradient`: its value lowered and its state
    /// advanced.
    fn updated(
        &self,
        parameter: Parameter,
        gradient: Gradient,
        scalars: &StepScalars,
    ) -> Parameter {
        let (value, mut rest) = parameter.split();
        let state = std::mem::replace(&mut rest.state, State::None);
        let (value, state) = match (self.optimizer, state) {
            // The rate is in the gradient: `w - g` (in the value's buffer on flex).
            (_, state) if self.folds_rate() => (descent::subtract(value, gradient.summed()), state),
            (optimizer, state) => self.change(optimizer, state, gradient.summed(), value, scalars),
        };
        rest.state = state;
        rest.with_value(value)
    }

    /// The value after a step of a rule that does not fold the rate, from the summed
    /// `gradient`, and the state after it.
    fn change(
        &self,
        optimizer: Optimizer,
        state: State,
        gradient: Tensor<2>,
        value: Tensor<2>,
        scalars: &StepScalars,
    ) -> (Tensor<2>, State) {
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
            ) => match state {
                State::Velocity(velocity) => {
                    // On flex, in one pass (the same arithmetic).
                    let outcome = descent::momentum(
                        value,
                        velocity,
                        gradient,
                        momentum as f32,
                        nesterov,
                        weight_decay,
                        rate,
                    );
                    let (value, velocity, gradient) = match outcome {
                        Outcome::Done {
                            value,
                            states: [velocity],
                        } => return (value, State::Velocity(velocity)),
                        Outcome::GivenBack {
                            value,
                            states: [velocity],
                            gradient,
                        } => (value, velocity, gradient),
                    };
                    let gradient = with_penalty(gradient, &value, weight_decay);
                    // burn keeps the momentum factor in f32.
                    let momentum = momentum as f32 as f64;
                    let velocity = velocity.mul_scalar(momentum) + gradient.clone();
                    let direction = if nesterov {
                        velocity.clone().mul_scalar(momentum) + gradient
                    } else {
                        velocity.clone()
                    };
                    let value = descent::subtract(value, rate.times(direction));
                    (value, State::Velocity(velocity))
                }
                state @ (State::None | State::Moments(_)) => {
                    let gradient = with_penalty(gradient, &value, weight_decay);
                    (descent::subtract(value, rate.times(gradient)), state)
                }
            },
            (
                Optimizer::Adam {
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                    ..
                }
                | Optimizer::AdamW {
                    beta1,
                    beta2,
                    epsilon,
                    weight_decay,
                    ..
                },
                State::Moments(moments),
            ) => {
                let decoupled = matches!(optimizer, Optimizer::AdamW { .. });
                // On flex, in one pass (the same arithmetic).
                let outcome = descent::adam(
                    value,
                    [moments.first, moments.second],
                    gradient,
                    decoupled,
                    [beta1 as f32, beta2 as f32],
                    [epsilon, weight_decay],
                    &scalars.factors,
                    rate,
                );
                let time = moments.time;
                let (value, [first, second], gradient) = match outcome {
                    Outcome::Done {
                        value,
                        states: [first, second],
                    } => {
                        let moments = Moments {
                            first,
                            second,
                            time: time + 1,
                        };
                        return (value, State::Moments(moments));
                    }
                    Outcome::GivenBack {
                        value,
                        states,
                        gradient,
                    } => (value, states, gradient),
                };
                let moments = Moments {
                    first,
                    second,
                    time,
                };
                if !decoupled {
                    let gradient = with_penalty(gradient, &value, weight_decay);
                    let moments = moments.advance(beta1, beta2, gradient);
                    let direction = moments.adam_direction(&scalars.factors);
                    let value = descent::subtract(value, rate.times(direction));
                    return (value, State::Moments(moments));
                }
                let moments = moments.advance(beta1, beta2, gradient);
                let direction = moments.adamw_direction(&scalars.factors, epsilon);
                let decrement = rate.times(direction);
                let value = if weight_decay > 0.0 {
                    // Decoupled decay, `w (1 - lr·λ)`.
                    descent::subtract(scalars.factors[2].times(value), decrement)
                } else {
                    descent::subtract(value, decrement)
                };
                (value, State::Moments(moments))
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

/// The kind of state a parameter keeps, while its tensors are in the update kernel.
enum Kept {
    Nothing,
    Velocity,
    /// Adam's moments, with the steps they have taken.
    Moments {
        time: usize,
    },
}

impl Kept {
    /// The same kind after one more step (Adam counts its steps).
    fn advanced(self) -> Kept {
        match self {
            Kept::Moments { time } => Kept::Moments { time: time + 1 },
            kept @ (Kept::Nothing | Kept::Velocity) => kept,
        }
    }

    /// The state of this kind made of `tensors` (as [`State::into_tensors`] gives them).
    fn with_tensors(self, tensors: Vec<Tensor<2>>) -> State {
        let mut tensors = tensors.into_iter();
        let mut next = || tensors.next().expect("the rule's states come back");
        match self {
            Kept::Nothing => State::None,
            Kept::Velocity => State::Velocity(next()),
            Kept::Moments { time } => State::Moments(Moments {
                first: next(),
                second: next(),
                time,
            }),
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

#[cfg(test)]
mod tests {
    use super::super::kernels::testing::{Draws, largest_difference, wgpu_device};
    use super::super::scalar::StepRow;
    use super::*;
    use burn::tensor::{Device, Distribution, TensorData};

    /// A `[1, 1]` device factor.
    fn device_scalar(value: f64, device: &Device) -> Scalar {
        Scalar::Device(Tensor::from_data(
            TensorData::new(vec![value as f32], [1, 1]),
            device,
        ))
    }

    /// A weight `[rows, width]` and a bias `[1, width]` (with its optimizer's initial state).
    fn parameters(
        optimizer: &Optimizer,
        draws: &Draws,
        [rows, width]: [usize; 2],
    ) -> Vec<Parameter> {
        let normal = Distribution::Normal(0.0, 1.0);
        [([rows, width], false), ([1, width], true)]
            .into_iter()
            .map(|(shape, is_vector)| {
                let value = draws.tensor(shape, normal);
                Parameter {
                    id: ParamId::new(),
                    path: format!("parameter {shape:?}"),
                    state: State::initial(optimizer, &value),
                    value,
                    is_vector,
                }
            })
            .collect()
    }

    /// The same parameter's values in buffers of their own.
    fn copies(parameters: &[Parameter]) -> Vec<Parameter> {
        parameters
            .iter()
            .map(|parameter| Parameter {
                id: parameter.id,
                path: parameter.path.clone(),
                value: copy(&parameter.value),
                is_vector: parameter.is_vector,
                state: parameter.state.copy(),
            })
            .collect()
    }

    /// The tensors of a parameter's value and state.
    fn tensors(parameter: &Parameter) -> Vec<Tensor<2>> {
        let mut tensors = vec![parameter.value.clone()];
        match &parameter.state {
            State::None => {}
            State::Velocity(velocity) => tensors.push(velocity.clone()),
            State::Moments(moments) => {
                tensors.push(moments.first.clone());
                tensors.push(moments.second.clone());
            }
        }
        tensors
    }

    /// Each optimizer with and without its decay (and SGD with and without momentum and
    /// Nesterov's look-ahead).
    fn every_rule() -> [Optimizer; 10] {
        let sgd = |momentum: f64, nesterov: bool, weight_decay: f64| Optimizer::Sgd {
            lr: 0.1,
            momentum,
            nesterov,
            weight_decay,
        };
        let adam = |weight_decay: f64| Optimizer::Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay,
        };
        let adamw = |weight_decay: f64| Optimizer::AdamW {
            lr: 0.01,
            beta1: 0.8,
            beta2: 0.99,
            epsilon: 1e-6,
            weight_decay,
        };
        [
            sgd(0.0, false, 0.0),
            sgd(0.0, false, 0.01),
            sgd(0.9, false, 0.0),
            sgd(0.9, false, 0.001),
            sgd(0.9, true, 0.0),
            sgd(0.9, true, 0.001),
            adam(0.0),
            adam(0.01),
            adamw(0.0),
            adamw(0.1),
        ]
    }

    /// On flex, the updates in one pass (`super::descent`) give burn's composed operations'
    /// values to the bit for every rule, over four steps at changing rates, for a weight large
    /// enough to be shared among the cores and a bias summed from gradient rows. The composed
    /// operations run where a clone of each tensor is held (the pass then declines: a buffer
    /// with another owner is not written in place).
    #[test]
    fn on_flex_every_rule_in_one_pass_gives_the_composed_operations_values_exactly() {
        let device = Device::flex();
        let draws = Draws::new(31, &device);
        let normal = Distribution::Normal(0.0, 1.0);
        let width = 400;
        assert!(301 * width >= super::super::descent::SHARE_FROM);
        for optimizer in every_rule() {
            let rule = UpdateRule::new(optimizer);
            let start = parameters(&optimizer, &draws, [301, width]);
            let mut composed = copies(&start);
            let mut fused = start;
            for step in 0..4 {
                let rate = optimizer.learning_rate() * (1.0 - 0.2 * step as f64);
                let row = StepRow::new(&optimizer, rate, UpdateRule::next_time(&composed));
                let scale = if rule.folds_rate() { rate } else { 1.0 };
                let weight = draws.tensor([301, width], normal).mul_scalar(scale);
                let rows = draws.tensor([5, width], normal).mul_scalar(scale);
                let gradients = || {
                    vec![
                        Gradient::Value(copy(&weight)),
                        Gradient::RowSum(copy(&rows)),
                    ]
                };
                let held: Vec<Vec<Tensor<2>>> = composed.iter().map(tensors).collect();
                let scalars = StepScalars::host(row);
                let [passes, _] = descent::passes_run();
                composed = rule.apply_all(composed, gradients(), &scalars, false);
                assert_eq!(descent::passes_run()[0], passes, "{optimizer:?}: composed");
                drop(held);
                fused = rule.apply_all(fused, gradients(), &scalars, false);
                // Plain SGD is one subtraction (tested in `descent`).
                let stateful = !matches!(State::initial(&optimizer, &weight), State::None);
                let expected = passes + if stateful { 2 } else { 0 };
                assert_eq!(
                    descent::passes_run()[0],
                    expected,
                    "{optimizer:?}: a pass each"
                );
                for (parameter, expected) in fused.iter().zip(&composed) {
                    let path = &expected.path;
                    for (index, (ours, reference)) in tensors(parameter)
                        .into_iter()
                        .zip(tensors(expected))
                        .enumerate()
                    {
                        assert_eq!(
                            ours.into_data(),
                            reference.into_data(),
                            "{optimizer:?}, {path}, step {step}, tensor {index}",
                        );
                    }
                }
            }
            assert_eq!(
                UpdateRule::next_time(&fused),
                UpdateRule::next_time(&composed)
            );
        }
    }

    /// Every rule the update kernel compiles (each optimizer, with and without its decay)
    /// updates values and state as burn's composed operations do, over four steps at changing
    /// rates, with a weight's gradient and a bias's gradient rows.
    #[test]
    fn the_update_kernel_applies_every_rule_as_the_composed_operations_do() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(24, &device);
        for optimizer in every_rule() {
            let rule = UpdateRule::new(optimizer);
            let mut composed = parameters(&optimizer, &draws, [7, 13]);
            let mut in_place = copies(&composed);
            for step in 0..4 {
                let rate = optimizer.learning_rate() * (1.0 - 0.2 * step as f64);
                let row = StepRow::new(&optimizer, rate, UpdateRule::next_time(&composed));
                let normal = Distribution::Normal(0.0, 1.0);
                let weight = draws.tensor([7, 13], normal);
                let rows = draws.tensor([5, 13], normal);
                let gradients = |scale: f64| {
                    vec![
                        Gradient::Value(weight.clone().mul_scalar(scale)),
                        Gradient::RowSum(rows.clone().mul_scalar(scale)),
                    ]
                };
                // A folded rate arrives in the gradients (negated for updates in place).
                let (scale, negated_scale) = match rule.folds_rate() {
                    true => (rate, -rate),
                    false => (1.0, 1.0),
                };
                composed =
                    rule.apply_all(composed, gradients(scale), &StepScalars::host(row), false);
                let [rate, a, b, c] = row.0;
                let device_scalars = StepScalars {
                    rate: device_scalar(rate, &device),
                    factors: [a, b, c].map(|factor| device_scalar(factor, &device)),
                    rate_negated: false,
                };
                in_place = rule.apply_all(
                    in_place,
                    gradients(negated_scale),
                    &device_scalars.with_rate_sign(true),
                    true,
                );
            }
            assert_eq!(
                UpdateRule::next_time(&composed),
                UpdateRule::next_time(&in_place)
            );
            for (ours, parameter) in in_place.iter().zip(&composed) {
                for (index, (ours, reference)) in tensors(ours)
                    .into_iter()
                    .zip(tensors(parameter))
                    .enumerate()
                {
                    let (difference, scale) = largest_difference(ours, reference);
                    assert!(
                        difference <= 1e-5 * scale.max(1.0),
                        "{optimizer:?}, {}, tensor {index}: {difference} (scale {scale})",
                        parameter.path
                    );
                }
            }
        }
    }
}
