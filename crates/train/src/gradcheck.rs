//! The gradient check behind `mlpc gradcheck`: every trainable tensor's gradient, as each
//! training step computes it (burn's autodiff, and the compiled step where it covers the
//! model), against central finite differences of the loss, on a few batches of the model's
//! own data.
//!
//! # Design
//! The check runs in f64 (a CPU backend's float type set to f64 for the process): in f32 a
//! loss carries rounding of 1e-7 of itself, which, divided by a step small enough to miss a
//! relu's kinks, swamps the derivative. The step's rules are the same code in either type.
//!
//! The check is generic over layer kinds: it finds the trainable tensors with burn's module
//! visitor (every `Param` that asks for a gradient) and changes them with burn's module mapper,
//! so a new layer kind is checked the day it exists, without an arm here.
//!
//! - The starting point is the seed's initial weights, each tensor moved by a little seeded
//!   noise (a tenth of its own scale), so that special values (norm scales of exactly 1,
//!   shifts of 0, equal slopes) cannot hide a backward rule that forgets a factor.
//! - For each batch, each tensor is probed along two directions in its own space, each ±1 per
//!   element (so that no few elements move far and cross a relu's kink): the signs of its
//!   autodiff gradient, where the derivative is largest and best measured, and seeded random
//!   signs, which see components a wrong gradient lacks (and the compiled step's gradient
//!   signs, where they differ). The step `ε` is sized so that the loss moves by
//!   [`RELATIVE_CHANGE`] of itself: far above f64 rounding, small against kinks. A probe's error is `|g·v - (L(w + εv) - L(w - εv)) / 2ε|` over the larger of the
//!   two and of the derivative's expected size along that direction, and a tensor's error is its
//!   worst probe's, over every batch.
//! - Dropout masks repeat: the device is seeded before every forward pass, and the compiled
//!   step draws its masks as the network's dropout layers do ([`crate::dropout_mask`]). Batch
//!   norm runs in training mode (batch statistics), as in a training step.
//! - The compiled step's gradients are also compared with autodiff's directly (no finite
//!   differences involved): two independent derivations that must agree to rounding.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Device, FloatDType, Tensor, TensorData};
use mlpc_data::Splits;
use mlpc_data::random::Random;
use mlpc_ir::Model;
use serde::Serialize;

use crate::backend::Backend;
use crate::compiled::{self, CompiledStep, Mutation, Uncovered};
use crate::device_data::DeviceSet;
use crate::error::TrainError;
use crate::network::{self, Network};
use crate::objective::{BatchTargets, Objective};

/// Largest relative error allowed between a step's directional derivative and the finite
/// differences (in f64; measured on the shipped models and on every layer kind: at most 6e-6).
pub const TOLERANCE: f64 = 1e-4;

/// Largest relative difference allowed between the compiled step's and autodiff's
/// gradients of the same tensor (in f64, only rounding separates them: measured 1e-15).
pub const AGREEMENT_TOLERANCE: f64 = 1e-9;

/// How much a probe changes the loss, relative to the loss: far above f64 rounding, and so
/// small that hardly any unit crosses a kink (relu) within the step.
pub const RELATIVE_CHANGE: f64 = 1e-7;

/// The largest step along a direction of ±1 per element.
pub const MAX_STEP: f64 = 1e-5;

/// How closely central differences at two steps (one ten times the other) must agree for
/// neither to straddle a kink.
const AGREEMENT: f64 = 1e-6;

/// The relative rounding error of a loss computed in f64, as seen in the difference of two.
const NOISE: f64 = 1e-15;

/// What to check, and on what.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// How many batches.
    pub batches: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Where the tensors live.
    pub backend: Backend,
    /// A deliberate mistake planted in the compiled step (a test of the check itself).
    #[doc(hidden)]
    pub mutation: Option<Mutation>,
}

impl CheckOptions {
    /// Three batches of the model's batch size (at most 64 examples), on `backend`.
    pub fn for_model(model: &Model, backend: Backend) -> Self {
        CheckOptions {
            batches: 3,
            batch_size: model.training.batch_size.clamp(1, 64),
            backend,
            mutation: None,
        }
    }
}

/// The check of one trainable tensor, over every batch.
#[derive(Debug, Clone, Serialize)]
pub struct TensorCheck {
    /// Its module path (`layers.0.Dense.linear.weight`).
    pub path: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Worst relative error of autodiff's gradient against finite differences.
    pub autodiff: f64,
    /// Worst relative error of the compiled step's gradient against finite differences,
    /// where the compiled step covers the model.
    pub compiled: Option<f64>,
    /// Largest difference between the compiled step's and autodiff's gradients, relative to
    /// the largest magnitude of autodiff's.
    pub agreement: Option<f64>,
}

impl TensorCheck {
    /// Whether every figure is within its tolerance.
    pub fn passed(&self) -> bool {
        self.autodiff <= TOLERANCE
            && self.compiled.is_none_or(|error| error <= TOLERANCE)
            && self.agreement.is_none_or(|gap| gap <= AGREEMENT_TOLERANCE)
    }
}

/// The outcome of a gradient check.
#[derive(Debug, Clone, Serialize)]
pub struct GradientCheck {
    /// One entry per trainable tensor, in the network's order.
    pub tensors: Vec<TensorCheck>,
    /// Batches checked.
    pub batches: usize,
    /// Examples per batch.
    pub batch_size: usize,
    /// Why the compiled step does not cover the model (it is then not checked).
    pub uncovered: Option<String>,
}

impl GradientCheck {
    /// Whether every tensor passed.
    pub fn passed(&self) -> bool {
        self.tensors.iter().all(TensorCheck::passed)
    }

    /// The largest error against finite differences, over tensors and steps.
    pub fn worst(&self) -> f64 {
        self.tensors
            .iter()
            .map(|tensor| tensor.autodiff.max(tensor.compiled.unwrap_or(0.0)))
            .fold(0.0, f64::max)
    }
}

/// A trainable tensor found in a network.
struct Trainable {
    path: String,
    id: ParamId,
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// Collects the trainable tensors (parameters that ask for a gradient) with their paths.
struct Collector {
    path: Vec<String>,
    found: Vec<Trainable>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, parameter: &Param<Tensor<D>>) {
        let value = parameter.val();
        if !value.is_require_grad() {
            return; // a running statistic, not trained by gradient
        }
        self.found.push(Trainable {
            path: self.path.join("."),
            id: parameter.id,
            shape: value.dims().to_vec(),
            values: values(value),
        });
    }
}

/// The trainable tensors of a network on an autodiff device, in the network's order.
fn trainable(network: &Network) -> Vec<Trainable> {
    let mut collector = Collector {
        path: Vec::new(),
        found: Vec::new(),
    };
    network.visit(&mut collector);
    collector.found
}

/// Replaces the values of the trainable tensors it is given, by id.
struct Replacer<'a> {
    values: &'a [(ParamId, Vec<f64>)],
    device: &'a Device,
}

impl ModuleMapper for Replacer<'_> {
    fn map_float<const D: usize>(&mut self, parameter: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((_, replacement)) = self.values.iter().find(|(id, _)| *id == parameter.id) else {
            return parameter;
        };
        let (id, value, _) = parameter.consume();
        let tensor = Tensor::<D>::from_data(
            TensorData::new(replacement.clone(), value.shape()),
            self.device,
        )
        .require_grad();
        Param::initialized(id, tensor)
    }
}

/// `network` with the given tensors' values replaced.
fn with_values(network: &Network, values: &[(ParamId, Vec<f64>)], device: &Device) -> Network {
    network.clone().map(&mut Replacer { values, device })
}

/// Checks `model`'s gradients on the training split of `splits`.
pub fn check(
    model: &Model,
    splits: &Splits,
    options: &CheckOptions,
) -> Result<GradientCheck, TrainError> {
    let plain = double_precision(options.backend)?;
    let autodiff = plain.clone().autodiff();
    let uncovered = compiled::covers(model).err();

    // The starting point: the seed's weights, each tensor nudged off special values.
    let initial = network::build(
        &model.network,
        &network::initial_weights(&model.network, model.training.seed),
        &autodiff,
    );
    let mut random = Random::new(model.training.seed ^ 0x6AD_C4EC);
    let start: Vec<(ParamId, Vec<f64>)> = trainable(&initial)
        .into_iter()
        .map(|tensor| (tensor.id, nudged(&tensor.values, &mut random)))
        .collect();
    let network = with_values(&initial, &start, &autodiff);
    let tensors = trainable(&network);
    let objective = Objective::new(model.loss, &autodiff);

    // The batches: a seeded draw of distinct training rows.
    let rows = splits.train.len();
    let batch_size = options.batch_size.min(rows).max(1);
    let order = random.permutation(rows);
    let mut checks: Vec<TensorCheck> = tensors
        .iter()
        .map(|tensor| TensorCheck {
            path: tensor.path.clone(),
            shape: tensor.shape.clone(),
            autodiff: 0.0,
            compiled: uncovered.is_none().then_some(0.0),
            agreement: uncovered.is_none().then_some(0.0),
        })
        .collect();
    let batches = options.batches.min(rows / batch_size).max(1);
    for batch in 0..batches {
        let subset = splits
            .train
            .select(&order[batch * batch_size..][..batch_size]);
        let (features, targets) = on_device(&subset, &autodiff);
        let mask_seed = model.training.seed.wrapping_add(1 + batch as u64);
        let loss_at = |network: &Network| -> f64 {
            autodiff.seed(mask_seed);
            objective
                .forward(network.forward(features.clone()), &targets)
                .into_scalar::<f64>()
        };

        // Autodiff's gradients.
        autodiff.seed(mask_seed);
        let loss = objective.forward(network.forward(features.clone()), &targets);
        let base_loss = loss.clone().into_scalar::<f64>();
        let autodiff_gradients = autodiff_gradients(&network, &tensors, &loss.backward());

        // The largest gradient of the whole network: the scale under which a tensor's
        // gradient is rounding (the two steps' zeros are not compared digit by digit).
        let gradient_scale = autodiff_gradients
            .iter()
            .flatten()
            .fold(0f64, |top, value| top.max(value.abs()));

        // The compiled step's, from the same values and masks.
        let compiled_gradients = match &uncovered {
            Some(_) => None,
            None => Some(compiled_gradients(
                model,
                &network,
                &tensors,
                &plain,
                &subset,
                mask_seed,
                options.mutation,
            )),
        };

        for (index, tensor) in tensors.iter().enumerate() {
            let autodiff_gradient = &autodiff_gradients[index];
            let random_signs: Vec<f64> = (0..tensor.values.len())
                .map(|_| if random.below(2) == 0 { -1.0 } else { 1.0 })
                .collect();
            let compiled_gradient = compiled_gradients.as_ref().map(|all| all[index].as_slice());
            let check = &mut checks[index];
            for (direction, expected) in probes(autodiff_gradient, compiled_gradient, random_signs)
            {
                let loss_along = |step: f64| {
                    let values: Vec<f64> = tensor
                        .values
                        .iter()
                        .zip(&direction)
                        .map(|(value, along)| value + step * along)
                        .collect();
                    loss_at(&with_values(&network, &[(tensor.id, values)], &autodiff))
                };
                // Central differences at ever smaller steps until two in a row agree: a
                // relu's kink within the step changes the difference, a smooth loss not.
                let first_step = if expected.is_finite() {
                    (RELATIVE_CHANGE * base_loss.abs().max(1e-3) / expected).min(MAX_STEP)
                } else {
                    MAX_STEP // no gradient to size the step by
                };
                let mut step = first_step;
                let mut previous: Option<(f64, f64)> = None;
                let (numeric, noise_floor) = loop {
                    let central = (loss_along(step) - loss_along(-step)) / (2.0 * step);

                    // What rounding leaves of a difference of two losses, per unit of step.
                    let noise_floor = NOISE * base_loss.abs().max(1e-3) / step;
                    if let Some((previous, previous_floor)) = previous {
                        // Agreement: the larger step is the less rounded of the two.
                        let gap = (central - previous).abs();
                        if gap <= AGREEMENT * central.abs() + 10.0 * noise_floor {
                            break (previous, previous_floor);
                        }
                    }
                    if step < first_step * 1e-3 {
                        break (central, noise_floor);
                    }
                    previous = Some((central, noise_floor));
                    step /= 10.0;
                };
                // Errors are relative to the size the derivative is expected to have along
                // the direction (a random direction's derivative may vanish by chance).
                // A difference at the rounding noise is no error: below the noise over the
                // tolerance, differences do not count (a tensor whose true gradient is zero,
                // such as a bias before batch norm, has only rounding to compare).
                let floor = if expected.is_finite() {
                    (noise_floor / TOLERANCE).max(expected)
                } else {
                    noise_floor / TOLERANCE
                };
                let error = |gradient: &[f64]| {
                    let analytic = dot(gradient, &direction);
                    let error =
                        (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
                    not_a_number_fails(error)
                };
                check.autodiff = check.autodiff.max(error(autodiff_gradient));
                if let (Some(compiled), Some(all)) = (&mut check.compiled, &compiled_gradients) {
                    *compiled = compiled.max(error(&all[index]));
                }
            }
            if let (Some(agreement), Some(all)) = (&mut check.agreement, &compiled_gradients) {
                let gap = relative_gap(&all[index], autodiff_gradient, gradient_scale);
                *agreement = agreement.max(not_a_number_fails(gap));
            }
        }
    }
    Ok(GradientCheck {
        tensors: checks,
        batches,
        batch_size,
        uncovered: uncovered.map(|Uncovered { reason }| reason),
    })
}

/// The compiled step's gradient of each tensor, in `tensors`' order, from `network`'s values.
fn compiled_gradients(
    model: &Model,
    network: &Network,
    tensors: &[Trainable],
    plain: &Device,
    subset: &mlpc_data::Dataset,
    mask_seed: u64,
    mutation: Option<Mutation>,
) -> Vec<Vec<f64>> {
    let mut step = CompiledStep::from_network(model, network.valid(), plain);
    if let Some(mutation) = mutation {
        step.mutate(mutation);
    }
    let (features, targets) = on_device(subset, plain);
    plain.seed(mask_seed);
    let (_, gradients) = step.gradients(features, &targets);
    tensors
        .iter()
        .map(|tensor| {
            let position = step
                .parameters()
                .iter()
                .position(|parameter| parameter.id == tensor.id)
                .expect("the compiled step holds every trainable tensor, by id");
            values(gradients[position].clone())
        })
        .collect()
}

/// A few examples on a device, as one batch.
fn on_device(examples: &mlpc_data::Dataset, device: &Device) -> (Tensor<2>, BatchTargets) {
    DeviceSet::upload(examples, device, usize::MAX / 2).range(0, examples.len())
}

/// autodiff's gradient of each tensor, in `tensors`' order (zero where it has none), read in
/// one walk through the network.
fn autodiff_gradients(
    network: &Network,
    tensors: &[Trainable],
    gradients: &burn::tensor::Gradients,
) -> Vec<Vec<f64>> {
    struct Reader<'a> {
        gradients: &'a burn::tensor::Gradients,
        found: Vec<(ParamId, Vec<f64>)>,
    }
    impl ModuleVisitor for Reader<'_> {
        fn visit_float<const D: usize>(&mut self, parameter: &Param<Tensor<D>>) {
            if let Some(gradient) = parameter.val().grad(self.gradients) {
                self.found.push((parameter.id, values(gradient)));
            }
        }
    }
    let mut reader = Reader {
        gradients,
        found: Vec::new(),
    };
    network.visit(&mut reader);
    tensors
        .iter()
        .map(|tensor| {
            reader
                .found
                .iter()
                .find(|(id, _)| *id == tensor.id)
                .map_or_else(
                    || vec![0.0; tensor.values.len()],
                    |(_, gradient)| gradient.clone(),
                )
        })
        .collect()
}

/// The values moved by seeded noise of a tenth of their scale (root mean square, at least
/// 0.05), so that no value stays at a special point.
fn nudged(values: &[f64], random: &mut Random) -> Vec<f64> {
    let scale = (values.iter().map(|v| v.powi(2)).sum::<f64>() / values.len().max(1) as f64)
        .sqrt()
        .max(0.05);
    values
        .iter()
        .map(|value| value + 0.1 * scale * random.normal())
        .collect()
}

/// The directions a tensor is probed along, each with the size its directional derivative
/// is expected to have: the signs of autodiff's gradient (derivative `|g|₁`), the signs of
/// the compiled step's where they differ, and random signs (about `|g|₂`). Every element
/// moves by the same amount, so that no few of them move far.
fn probes(
    autodiff: &[f64],
    compiled: Option<&[f64]>,
    random_signs: Vec<f64>,
) -> Vec<(Vec<f64>, f64)> {
    let signs = |gradient: &[f64]| -> Vec<f64> {
        gradient
            .iter()
            .map(|g| if *g < 0.0 { -1.0 } else { 1.0 })
            .collect()
    };
    let norm_1: f64 = autodiff.iter().map(|g| g.abs()).sum();
    let norm_2: f64 = autodiff.iter().map(|g| g.powi(2)).sum::<f64>().sqrt();
    let mut probes = Vec::new();
    if norm_1 > 0.0 && norm_1.is_finite() {
        probes.push((signs(autodiff), norm_1));
    }
    if let Some(compiled) = compiled {
        let compiled_norm: f64 = compiled.iter().map(|g| g.abs()).sum();
        let direction = signs(compiled);
        let known = probes.iter().any(|(known, _)| *known == direction);
        if !known && compiled_norm > 0.0 && compiled_norm.is_finite() {
            probes.push((direction, compiled_norm));
        }
    }
    let expected = if norm_2 > 0.0 && norm_2.is_finite() {
        norm_2
    } else {
        f64::INFINITY // no gradient to size the step by
    };
    probes.push((random_signs, expected));
    probes
}

fn dot(left: &[f64], right: &[f64]) -> f64 {
    left.iter().zip(right).map(|(a, b)| a * b).sum()
}

/// A tensor's values, flattened, as f64.
fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    network::values_as(tensor)
}

/// The backend's device with f64 as its float type: finite differences in f32 drown in
/// rounding (a loss moves by 1e-7 of itself per rounding), in f64 they are exact to 1e-10.
/// The device must not have made a tensor yet (each command is a fresh process).
fn double_precision(backend: Backend) -> Result<Device, TrainError> {
    let unsupported = || TrainError::Backend {
        message: format!(
            "gradcheck computes in f64, which `{}` does not offer here",
            backend.name()
        ),
        hint: "use `--backend flex` or `--backend ndarray`".to_string(),
    };
    let mut device = match backend {
        Backend::Flex | Backend::Ndarray => backend.plain_device()?,
        Backend::Wgpu => return Err(unsupported()),
    };
    match device.configure(FloatDType::F64) {
        Ok(()) => Ok(device),
        Err(_) if device.settings().float_dtype == FloatDType::F64 => Ok(device),
        Err(_) => Err(unsupported()),
    }
}

/// An error that is not a number (a NaN gradient or loss) as an infinite one: `f64::max`
/// would otherwise drop it, and the check would pass.
fn not_a_number_fails(error: f64) -> f64 {
    if error.is_nan() { f64::INFINITY } else { error }
}

/// The largest difference between two vectors, relative to the reference's largest magnitude
/// (at least a millionth of the network's largest gradient); NaN where a value is not finite.
fn relative_gap(ours: &[f64], reference: &[f64], network_scale: f64) -> f64 {
    if ours.iter().chain(reference).any(|value| !value.is_finite()) {
        return f64::NAN;
    }
    let scale = reference
        .iter()
        .fold(1e-6 * network_scale, |top, value| top.max(value.abs()));
    let gap = ours
        .iter()
        .zip(reference)
        .fold(0f64, |top, (a, b)| top.max((a - b).abs()));
    gap / scale.max(1e-300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_follow_the_gradient_signs_and_random_signs() {
        let found = probes(&[3.0, -4.0], Some(&[3.0, -4.5]), vec![1.0, 1.0]);
        assert_eq!(found, vec![(vec![1.0, -1.0], 7.0), (vec![1.0, 1.0], 5.0)]);
        let found = probes(&[3.0, -4.0], Some(&[-1.0, -4.0]), vec![1.0, 1.0]);
        assert_eq!(found[1], (vec![-1.0, -1.0], 5.0));
        assert_eq!(found.len(), 3);
        let found = probes(&[0.0, 0.0], None, vec![-1.0, 1.0]);
        assert_eq!(found, vec![(vec![-1.0, 1.0], f64::INFINITY)]);
    }

    #[test]
    fn gaps_are_relative_to_the_reference() {
        let gap = relative_gap(&[1.0, 2.2], &[1.0, 2.0], 1.0);
        assert!((gap - 0.1).abs() < 1e-6, "{gap}");
        // A tensor whose gradient is zero but for rounding is not compared digit by digit.
        assert!(relative_gap(&[1e-17], &[-1e-17], 1.0) < 1e-9);
        // A NaN gradient fails.
        let nan = relative_gap(&[f64::NAN], &[1.0], 1.0);
        assert_eq!(not_a_number_fails(nan), f64::INFINITY);
    }
}
