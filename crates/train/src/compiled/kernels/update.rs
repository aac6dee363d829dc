//! The optimizer's update of every parameter in one kernel, written in place: each parameter's
//! value and optimizer state (momentum's velocity, Adam's moments) in their own buffers
//! (where they have no other owner, else in copies, as burn's own in-place operations do).
//!
//! burn's operations take several kernels per parameter for a rule (a bias gradient's sum over
//! the batch, the velocity or the moments, the direction, the update) and write each result to
//! a new buffer, which a replayed step must then copy back to where the next replay reads it.
//! Here one unit updates a few values of one parameter from start to end: it reads the
//! gradient (or, for a bias whose gradient comes as rows, sums its column of them in a
//! register), advances the state, and adds the step into the value. The units of the first
//! parameter come first, then those of the second, and so on: one launch for the whole step
//! (a few where the device binds fewer buffers to a kernel than the step has tensors).
//!
//! The arithmetic is the composed operations' ([`super::super::update`]), in the same order
//! and in f32: the rate arrives negated (`w + (-lr)·d`, exactly `w - lr·d`), the per-step
//! factors (the rate, Adam's bias corrections, AdamW's decay) as `[1, 1]` device tensors read
//! by every unit, the optimizer's constants (momentum, β₁, β₂, ε, the penalty) as launch
//! scalars, which a recording keeps.

use burn::backend::Cube;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::tensor::{DType, Shape, Tensor};
use burn_cubecl::CubeBackend;
use burn_cubecl::fusion::{CubeFusionHandle, FusionCubeRuntime};
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::tensor::CubeTensor;
use burn_fusion::ExecutionError;
use burn_fusion::custom::{HandleContainer, Operation, TensorIr};
use cubecl::prelude::{InputScalar, SequenceArg};
use cubecl::{CubeDim, calculate_cube_count_elemwise};

/// The kernel, in a module of its own: cubecl's prelude has its own `Tensor`.
mod kernel {
    use super::{
        BETA1, BETA2, COMPLEMENT1, COMPLEMENT2, EPSILON, FACTOR_A, FACTOR_B, FACTOR_C, Form,
        Layout, MOMENTUM, PENALTY, RATE, Rule,
    };
    use cubecl::prelude::*;

    /// The factor `index` of the step (`[1, 1]`).
    #[cube]
    fn factor<F: Float>(factors: &Sequence<OwnedTensor<F>>, #[comptime] index: usize) -> F {
        let tensor = factors.index(index);
        tensor[0]
    }

    /// Parameter `parameter`'s value at `at` updated from its `gradient` there, and its state
    /// (`firsts[parameter]`, `seconds[parameter]`) advanced, by `form`'s rule.
    #[cube]
    #[allow(clippy::too_many_arguments)]
    fn update_at<F: Float>(
        value: &mut OwnedTensor<F>,
        firsts: &mut Sequence<OwnedTensor<F>>,
        seconds: &mut Sequence<OwnedTensor<F>>,
        parameter: usize,
        at: usize,
        gradient: F,
        factors: &Sequence<OwnedTensor<F>>,
        constants: &Sequence<InputScalar>,
        #[comptime] form: Form,
    ) {
        let weight = value[at];
        let mut gradient = gradient;
        if comptime!(form.penalty) {
            gradient = weight * constants.index(PENALTY).get::<F>() + gradient;
        }
        if comptime!(form.rule == Rule::Added) {
            value[at] = weight + gradient;
        } else if comptime!(form.rule == Rule::Sgd) {
            value[at] = weight + gradient * factor::<F>(factors, RATE);
        } else if comptime!(form.rule == Rule::Momentum || form.rule == Rule::Nesterov) {
            let momentum = constants.index(MOMENTUM).get::<F>();
            let velocity = firsts.index_mut(parameter);
            let advanced = velocity[at] * momentum + gradient;
            velocity[at] = advanced;
            let direction = if comptime!(form.rule == Rule::Nesterov) {
                advanced * momentum + gradient
            } else {
                advanced
            };
            value[at] = weight + direction * factor::<F>(factors, RATE);
        } else {
            let first = firsts.index_mut(parameter);
            let mean = first[at] * constants.index(BETA1).get::<F>()
                + gradient * constants.index(COMPLEMENT1).get::<F>();
            first[at] = mean;
            let second = seconds.index_mut(parameter);
            let square = second[at] * constants.index(BETA2).get::<F>()
                + (gradient * gradient) * constants.index(COMPLEMENT2).get::<F>();
            second[at] = square;
            let rate = factor::<F>(factors, RATE);
            if comptime!(form.rule == Rule::Adam) {
                let direction = (mean * factor::<F>(factors, FACTOR_A))
                    / (F::sqrt(square) + factor::<F>(factors, FACTOR_B));
                value[at] = weight + direction * rate;
            } else {
                let corrected = mean / factor::<F>(factors, FACTOR_A);
                let spread = F::sqrt(square / factor::<F>(factors, FACTOR_B));
                let direction = corrected / (spread + constants.index(EPSILON).get::<F>());
                if comptime!(form.rule == Rule::DecayedAdamW) {
                    value[at] = weight * factor::<F>(factors, FACTOR_C) + direction * rate;
                } else {
                    value[at] = weight + direction * rate;
                }
            }
        }
    }

    /// Every parameter's update: the units of `layout`'s parts, one part per parameter. A unit
    /// takes `per_unit` values of its parameter (a stride of that parameter's units apart, so
    /// that neighbouring units read neighbouring values), or, where the gradient comes as rows
    /// `[B, n]` for a value `[1, n]`, the sum of one column of them.
    #[cube(launch_unchecked)]
    #[allow(clippy::too_many_arguments)]
    pub fn update_kernel<F: Float>(
        values: &mut Sequence<OwnedTensor<F>>,
        firsts: &mut Sequence<OwnedTensor<F>>,
        seconds: &mut Sequence<OwnedTensor<F>>,
        gradients: &Sequence<OwnedTensor<F>>,
        factors: &Sequence<OwnedTensor<F>>,
        constants: &Sequence<InputScalar>,
        #[comptime] form: Form,
        #[comptime] layout: Layout,
        #[comptime] per_unit: usize,
        #[define(F)] _type: ElemType,
    ) {
        let unit = ABSOLUTE_POS;
        #[unroll]
        for parameter in 0..layout.parts.len() {
            let part = comptime!(layout.parts[parameter]);
            let (start, units) = comptime!((part.start, part.units));
            if unit >= start && unit < start + units {
                let local = unit - start;
                let gradient = gradients.index(parameter);
                let value = values.index_mut(parameter);
                if comptime!(part.columns) {
                    // The value `[1, n]` is contiguous: column `local` is its value `local`.
                    let (row_stride, column_stride) = (gradient.stride(0), gradient.stride(1));
                    let mut total = F::new(0.0_f32);
                    for row in 0..gradient.shape(0) {
                        total += gradient[row * row_stride + local * column_stride];
                    }
                    update_at::<F>(
                        value, firsts, seconds, parameter, local, total, factors, constants, form,
                    );
                } else {
                    let length = comptime!(part.length);
                    #[unroll]
                    for index in 0..per_unit {
                        let at = local + index * units;
                        if at < length {
                            let change = gradient[at];
                            update_at::<F>(
                                value, firsts, seconds, parameter, at, change, factors, constants,
                                form,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Where each parameter's units lie in the kernel, compiled in (a step's shapes are fixed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Layout {
    /// One part per parameter, in order.
    pub parts: Vec<Part>,
}

/// The units of one parameter's update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Part {
    /// Its first unit.
    pub start: usize,
    /// Its units.
    pub units: usize,
    /// Its values.
    pub length: usize,
    /// Whether its gradient comes as rows whose column sums it adds (one unit per column).
    pub columns: bool,
}

impl Layout {
    /// The layout of updates of `values` from `gradients`.
    fn new(values: &[CubeTensor], gradients: &[CubeTensor]) -> Layout {
        let mut start = 0;
        let parts = values
            .iter()
            .zip(gradients)
            .map(|(value, gradient)| {
                let [rows, columns] = value.meta.shape().dims::<2>();
                let by_columns = summed_by_columns(value, gradient);
                let units = match by_columns {
                    true => columns,
                    false => (rows * columns).div_ceil(VALUES_PER_UNIT),
                };
                let part = Part {
                    start,
                    units,
                    length: rows * columns,
                    columns: by_columns,
                };
                start += units.next_multiple_of(CUBE_UNITS);
                part
            })
            .collect();
        Layout { parts }
    }

    /// Units of all parts, each part's rounded up to whole cubes.
    fn units(&self) -> usize {
        self.parts
            .iter()
            .map(|part| part.units.next_multiple_of(CUBE_UNITS))
            .sum()
    }
}

/// Where each step factor sits in the kernel's factors: the (negated) rate, then the
/// optimizer's `a`, `b`, `c` ([`Rule`]).
const RATE: usize = 0;
const FACTOR_A: usize = 1;
const FACTOR_B: usize = 2;
const FACTOR_C: usize = 3;

/// Where each optimizer constant sits in the kernel's scalars.
const MOMENTUM: usize = 0;
const PENALTY: usize = 1;
const BETA1: usize = 2;
const COMPLEMENT1: usize = 3;
const BETA2: usize = 4;
const COMPLEMENT2: usize = 5;
const EPSILON: usize = 6;

/// Units of a cube: each parameter's units start at a cube's first, so that the units of a
/// cube (and of a GPU's warp, or a software driver's SIMD lanes) all take the same branch.
const CUBE_UNITS: usize = 256;

/// Values each unit updates where the gradient has the value's shape: fewer units than values
/// (a software driver pays per unit), neighbouring units on neighbouring values (as a GPU
/// reads best).
const VALUES_PER_UNIT: usize = 4;

/// The rule the kernel applies to each value `w` with gradient `g` (after the penalty `g + λw`
/// where [`Form::penalty`]), the step's negated rate `r` and factors `a, b, c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `w + g`: the gradient already holds the negated rate (plain SGD).
    Added,
    /// `w + r·g` (SGD without momentum, with a penalty).
    Sgd,
    /// `v = μv + g`, `w + r·v` (velocity in the first state).
    Momentum,
    /// `v = μv + g`, `w + r·(μv + g)` (Nesterov's look-ahead).
    Nesterov,
    /// `m = β₁m + (1-β₁)g`, `s = β₂s + (1-β₂)g²` (the two states), `w + r·(a·m / (√s + b))`
    /// (burn's Adam: `a` the bias corrections folded into one, `b` its scaled ε).
    Adam,
    /// The moments as Adam's, `w + r·((m / a) / (√(s / b) + ε))` (burn's AdamW: `a = 1 - β₁ᵗ`,
    /// `b = 1 - β₂ᵗ`).
    AdamW,
    /// As [`Rule::AdamW`] with the decoupled decay: `c·w + r·…` (`c = 1 - lr·λ`).
    DecayedAdamW,
}

impl Rule {
    /// State tensors per parameter.
    pub fn states(self) -> usize {
        match self {
            Rule::Added | Rule::Sgd => 0,
            Rule::Momentum | Rule::Nesterov => 1,
            Rule::Adam | Rule::AdamW | Rule::DecayedAdamW => 2,
        }
    }

    /// Step factors the rule reads (`[r]`, `[r, a, b]`, `[r, a, b, c]`).
    pub fn factors(self) -> usize {
        match self {
            Rule::Added => 0,
            Rule::Sgd | Rule::Momentum | Rule::Nesterov => 1,
            Rule::Adam | Rule::AdamW => 3,
            Rule::DecayedAdamW => 4,
        }
    }
}

/// The kernel's rule, as it is compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Form {
    /// The rule.
    pub rule: Rule,
    /// Whether `λw` is added to the gradient first (an L2 penalty, SGD's and Adam's weight
    /// decay).
    pub penalty: bool,
}

/// The optimizer's constants, in f32 as burn's optimizers apply them (unused ones are 0).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Constants {
    /// Momentum `μ`.
    pub momentum: f32,
    /// The penalty `λ`.
    pub penalty: f32,
    /// Adam's `β₁`.
    pub beta1: f32,
    /// Adam's `β₂`.
    pub beta2: f32,
    /// AdamW's `ε`.
    pub epsilon: f32,
}

impl Constants {
    /// The kernel's scalars, at the positions it reads them from.
    fn scalars(&self, float_type: cubecl::ir::ElemType) -> SequenceArg<InputScalar> {
        let mut values = [0f32; 7];
        values[MOMENTUM] = self.momentum;
        values[PENALTY] = self.penalty;
        values[BETA1] = self.beta1;
        values[COMPLEMENT1] = 1.0 - self.beta1;
        values[BETA2] = self.beta2;
        values[COMPLEMENT2] = 1.0 - self.beta2;
        values[EPSILON] = self.epsilon;
        values
            .into_iter()
            .map(|value| InputScalar::new(value, float_type))
            .collect()
    }
}

/// The update of one parameter: its value, its state (as many tensors as the rule keeps, each
/// of the value's shape) and its gradient: of the value's shape, or rows `[B, n]` whose column
/// sums are the gradient of a value `[1, n]`.
pub struct Target {
    /// The value.
    pub value: Tensor<2>,
    /// The state.
    pub states: Vec<Tensor<2>>,
    /// The gradient.
    pub gradient: Tensor<2>,
}

/// A parameter's value and state after its update.
pub struct Updated {
    /// The value.
    pub value: Tensor<2>,
    /// The state.
    pub states: Vec<Tensor<2>>,
}

/// Updates every target by `form`'s rule with the step's `factors` (`[1, 1]` each, the rate
/// negated) and the optimizer's `constants`, in one kernel (a few where the device binds too
/// few buffers for all), each value and state written into its own buffer where it has no
/// other owner. The tensors must be on a device where [`super::available`] holds.
pub fn update(
    form: Form,
    constants: Constants,
    factors: Vec<Tensor<2>>,
    targets: Vec<Target>,
) -> Vec<Updated> {
    update_in_kernels_of(None, form, constants, factors, targets)
}

/// [`update()`] with at most `limit` parameters to a kernel where given (tests of the split).
fn update_in_kernels_of(
    limit: Option<usize>,
    form: Form,
    constants: Constants,
    factors: Vec<Tensor<2>>,
    targets: Vec<Target>,
) -> Vec<Updated> {
    let states = form.rule.states();
    assert_eq!(factors.len(), form.rule.factors(), "the rule's factors");
    assert!(
        targets.iter().all(|target| target.states.len() == states),
        "the rule's states"
    );
    if targets.is_empty() {
        return Vec::new();
    }
    let count = targets.len();
    // Inputs: the values, each state's tensors (all firsts, then all seconds), the gradients,
    // the factors. Outputs: the values and the states, in the same order.
    let mut values = Vec::with_capacity(count);
    let mut state_lists: Vec<Vec<super::Primitive>> = vec![Vec::with_capacity(count); states];
    let mut gradients = Vec::with_capacity(count);
    for target in targets {
        values.push(super::primitive(target.value));
        for (list, state) in state_lists.iter_mut().zip(target.states) {
            list.push(super::primitive(state));
        }
        gradients.push(super::primitive(target.gradient));
    }
    let written: Vec<super::Primitive> = values
        .into_iter()
        .chain(state_lists.into_iter().flatten())
        .collect();
    let outputs = written
        .iter()
        .map(|tensor| (tensor.shape.clone(), None))
        .collect::<Vec<(Shape, Option<DType>)>>();
    let inputs = written
        .into_iter()
        .chain(gradients)
        .chain(factors.into_iter().map(super::primitive))
        .collect();
    let results = super::register_all("mlpc_update", inputs, outputs, |inputs, outputs| Update {
        form,
        constants,
        count,
        limit,
        inputs,
        outputs,
    });
    // The results come as the outputs were given: the values, then each state's tensors.
    let mut results = results.into_iter().map(Tensor::from_primitive::<Cube>);
    let mut updated: Vec<Updated> = results
        .by_ref()
        .take(count)
        .map(|value| Updated {
            value,
            states: Vec::with_capacity(states),
        })
        .collect();
    for _ in 0..states {
        for (parameter, state) in updated.iter_mut().zip(results.by_ref()) {
            parameter.states.push(state);
        }
    }
    updated
}

/// The deferred operation burn-fusion runs in stream order. `inputs`: the `count` values, the
/// rule's states (`count` tensors per state), the gradients, the factors; `outputs`: the
/// values and the states.
#[derive(Debug)]
struct Update {
    form: Form,
    constants: Constants,
    count: usize,
    /// At most this many parameters to a kernel, where given.
    limit: Option<usize>,
    inputs: Vec<TensorIr>,
    outputs: Vec<TensorIr>,
}

impl Operation<FusionCubeRuntime> for Update {
    fn execute(
        &self,
        handles: &mut HandleContainer<CubeFusionHandle>,
    ) -> Result<(), ExecutionError> {
        let count = self.count;
        let written_count = count * (1 + self.form.rule.states());
        let mut fetch = |ir: &TensorIr| handles.get_float_tensor::<CubeBackend>(ir);
        let written: Vec<CubeTensor> = self.inputs[..written_count]
            .iter()
            .map(|ir| super::writable(fetch(ir)))
            .collect();
        let gradients: Vec<CubeTensor> = self.inputs[written_count..written_count + count]
            .iter()
            .zip(&written)
            .map(|(ir, value)| readable(fetch(ir), value))
            .collect();
        let factors: Vec<CubeTensor> = self.inputs[written_count + count..]
            .iter()
            .map(&mut fetch)
            .collect();
        let per_kernel = parameters_per_kernel(&written[0], self.form.rule, factors.len())
            .min(self.limit.unwrap_or(usize::MAX));
        let mut start = 0;
        while start < count {
            let end = (start + per_kernel).min(count);
            self.launch(&written, &gradients, &factors, start..end);
            start = end;
        }
        for (output, tensor) in self.outputs.iter().zip(written) {
            handles.register_float_tensor::<CubeBackend>(&output.id, tensor);
        }
        Ok(())
    }
}

impl Update {
    /// Launches the kernel for the parameters in `range`: `written` holds every value, then
    /// each state's tensors, `count` of each.
    fn launch(
        &self,
        written: &[CubeTensor],
        gradients: &[CubeTensor],
        factors: &[CubeTensor],
        range: std::ops::Range<usize>,
    ) {
        let count = self.count;
        let argument = |tensor: &CubeTensor| tensor.clone().into_tensor_arg();
        // The state `state` of the range's parameters (an empty list where the rule keeps
        // fewer states).
        let state = |state: usize| -> Vec<&CubeTensor> {
            match state < self.form.rule.states() {
                true => written[(1 + state) * count..][range.clone()]
                    .iter()
                    .collect(),
                false => Vec::new(),
            }
        };
        let values = &written[range.clone()];
        let gradients = &gradients[range.clone()];
        let layout = Layout::new(values, gradients);
        let total = layout.units();
        let client = values[0].client.clone();
        let float_type = dtype_to_storage_type(values[0].dtype);
        let cube_dim = CubeDim::new_1d(CUBE_UNITS as u32);
        let cube_count = calculate_cube_count_elemwise(&client, total, cube_dim);
        // SAFETY: every index the kernel reads or writes is within its tensor: a unit's values
        // are below its part's length (checked in the kernel), a column below the value's
        // width and a row below the gradient's rows (by the layout, made from these tensors'
        // shapes), and the factors are `[1, 1]`.
        unsafe {
            kernel::update_kernel::launch_unchecked(
                &client,
                cube_count,
                cube_dim,
                values.iter().map(argument).collect(),
                state(0).into_iter().map(argument).collect(),
                state(1).into_iter().map(argument).collect(),
                gradients.iter().map(argument).collect(),
                factors.iter().map(argument).collect(),
                self.constants.scalars(float_type),
                self.form,
                layout,
                VALUES_PER_UNIT,
                float_type,
            );
        }
    }
}

/// Whether `gradient` comes as rows whose column sums are the gradient of `value` `[1, n]`.
fn summed_by_columns(value: &CubeTensor, gradient: &CubeTensor) -> bool {
    gradient.meta.shape().dims::<2>()[0] != value.meta.shape().dims::<2>()[0]
}

/// `gradient` as the kernel reads it: rows to sum by columns through their strides, else
/// contiguous like the value it updates.
fn readable(gradient: CubeTensor, value: &CubeTensor) -> CubeTensor {
    match summed_by_columns(value, &gradient) {
        true => gradient,
        false => into_contiguous(gradient),
    }
}

/// Parameters one kernel updates on `tensor`'s device: as many as its buffer bindings allow
/// (each parameter binds its value, state and gradient; the factors are bound once; one
/// binding is left spare), at least one.
fn parameters_per_kernel(tensor: &CubeTensor, rule: Rule, factors: usize) -> usize {
    let bindings = tensor.client.properties().hardware.max_bindings as usize;
    let per_parameter = 2 + rule.states();
    (bindings.saturating_sub(factors + 1) / per_parameter).max(1)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Draws, largest_difference, wgpu_device};
    use super::*;
    use burn::tensor::Distribution;

    /// The largest absolute difference between two tensors' values.
    fn gap(ours: Tensor<2>, reference: Tensor<2>) -> f32 {
        largest_difference(ours, reference).0
    }

    const ADDED: Form = Form {
        rule: Rule::Added,
        penalty: false,
    };

    /// A target `[rows, columns]` and a transposed (not contiguous) gradient of its shape.
    fn values(draws: &Draws, rows: usize, columns: usize) -> (Tensor<2>, Tensor<2>) {
        let normal = Distribution::Normal(0.0, 1.0);
        (
            draws.tensor([rows, columns], normal),
            draws.tensor([columns, rows], normal).transpose(),
        )
    }

    /// A bias `[1, columns]` and gradient rows `[batch, columns]`.
    fn column_sums(draws: &Draws, batch: usize, columns: usize) -> (Tensor<2>, Tensor<2>) {
        let normal = Distribution::Normal(0.0, 1.0);
        (
            draws.tensor([1, columns], normal),
            draws.tensor([batch, columns], normal),
        )
    }

    /// A target of the added rule.
    fn added(value: Tensor<2>, gradient: Tensor<2>) -> Target {
        Target {
            value,
            states: Vec::new(),
            gradient,
        }
    }

    /// Both additions against burn's operations on wgpu, on shapes whose value counts are not
    /// multiples of the values per unit, with a transposed (not contiguous) gradient; a target
    /// whose buffer is shared (a clone is kept) is added into a copy, the clone unchanged.
    #[test]
    fn the_added_rule_matches_burns_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(21, &device);
        for [rows, columns] in [[1, 1], [7, 13], [784, 128]] {
            let (target, change) = values(&draws, rows, columns);
            let expected = target.clone() + change.clone();
            let original = target.clone() * 1.0;
            let kept = target.clone();
            let [updated] = <[Updated; 1]>::try_from(update(
                ADDED,
                Constants::default(),
                Vec::new(),
                vec![added(target, change)],
            ))
            .ok()
            .expect("one parameter");
            assert!(
                gap(updated.value, expected) == 0.0,
                "values [{rows}, {columns}]"
            );
            // `kept` shared the buffer, so the addition wrote a copy and left it as it was.
            assert!(gap(kept, original) == 0.0, "a shared target was written");
        }
        for [batch, columns] in [[2, 3], [64, 128], [300, 10]] {
            let (bias, rows) = column_sums(&draws, batch, columns);
            let expected = bias.clone() + rows.clone().sum_dim(0);
            let updated = update(
                ADDED,
                Constants::default(),
                Vec::new(),
                vec![added(bias * 1.0, rows)],
            );
            let difference = gap(updated[0].value.clone(), expected);
            assert!(
                difference < 1e-4,
                "column sums [{batch}, {columns}] differ by {difference}"
            );
        }
    }

    /// Five parameters of both kinds in one kernel, and split into kernels of one and of two
    /// (as on a device that binds few buffers), each as burn's operations make it.
    #[test]
    fn many_parameters_in_one_kernel_or_in_several_match_burns_operations() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let draws = Draws::new(22, &device);
        for limit in [None, Some(1), Some(2)] {
            let mut targets = Vec::new();
            let mut expected = Vec::new();
            for (index, columns) in [false, true, true, false, true].into_iter().enumerate() {
                let size = 17 + 20 * index;
                let (value, gradient) = match columns {
                    true => column_sums(&draws, 33, size),
                    false => values(&draws, size, 13),
                };
                expected.push(match columns {
                    true => value.clone() + gradient.clone().sum_dim(0),
                    false => value.clone() + gradient.clone(),
                });
                targets.push(added(value * 1.0, gradient));
            }
            let updated =
                update_in_kernels_of(limit, ADDED, Constants::default(), Vec::new(), targets);
            assert_eq!(updated.len(), 5);
            for (index, (updated, expected)) in updated.into_iter().zip(expected).enumerate() {
                let difference = gap(updated.value, expected);
                assert!(
                    difference < 1e-4,
                    "parameter {index} with at most {limit:?} to a kernel: {difference}"
                );
            }
        }
    }

    /// Adam's update (two states a parameter) split into kernels of one and of two parameters
    /// gives every value and state the single kernel gives.
    #[test]
    fn a_split_update_keeps_each_parameters_state() {
        let Some(device) = wgpu_device() else {
            return;
        };
        let form = Form {
            rule: Rule::Adam,
            penalty: true,
        };
        let constants = Constants {
            penalty: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            ..Constants::default()
        };
        let normal = Distribution::Normal(0.0, 1.0);
        let draws = Draws::new(23, &device);
        let shapes = [
            ([7, 13], 7),
            ([1, 13], 5),
            ([13, 3], 13),
            ([1, 3], 5),
            ([4, 4], 4),
        ];
        let tensors: Vec<[Tensor<2>; 4]> = shapes
            .iter()
            .map(|&(shape, rows)| {
                [
                    draws.tensor(shape, normal),
                    draws.tensor(shape, normal),
                    draws.tensor(shape, Distribution::Uniform(0.0, 1.0)),
                    draws.tensor([rows, shape[1]], normal),
                ]
            })
            .collect();
        let run = |limit: Option<usize>| -> Vec<Vec<Tensor<2>>> {
            let targets = tensors
                .iter()
                .map(|[value, first, second, gradient]| Target {
                    value: value.clone() * 1.0,
                    states: vec![first.clone() * 1.0, second.clone() * 1.0],
                    gradient: gradient.clone(),
                })
                .collect();
            let factors = [-0.01f32, 0.9, 1e-7]
                .map(|factor| Tensor::<2>::full([1, 1], factor, &device))
                .to_vec();
            update_in_kernels_of(limit, form, constants, factors, targets)
                .into_iter()
                .map(|updated| {
                    std::iter::once(updated.value)
                        .chain(updated.states)
                        .collect()
                })
                .collect()
        };
        let whole = run(None);
        for limit in [Some(1), Some(2)] {
            for (parameter, (split, whole)) in run(limit).into_iter().zip(&whole).enumerate() {
                for (index, (split, whole)) in split.into_iter().zip(whole).enumerate() {
                    assert!(
                        gap(split, whole.clone()) == 0.0,
                        "parameter {parameter}, tensor {index}, at most {limit:?} to a kernel"
                    );
                }
            }
        }
    }
}
