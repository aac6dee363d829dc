//! The compiled training step: the IR lowered a second time, into one function that runs the
//! forward pass, derives the backward pass from each layer's rule, and updates the parameters,
//! all as burn tensor operations on the plain (non-autodiff) device.
//!
//! # Design
//! burn's autodiff records a graph at every step, allocates a gradient for every tensor, and its
//! optimizer returns a new module. For a small dense network that bookkeeping costs more than
//! the arithmetic. The compiler knows the whole network, so it does what a hand-written loop
//! does:
//! - [`layer`]: each IR layer kind has a forward rule (training mode, keeping what its backward
//!   pass reads) and a backward rule (its parameters' gradients and its input's gradient; the
//!   first layer with parameters skips the latter). [`activation`] holds the activations' rules.
//! - [`loss`]: each loss gives its summed value and the output's gradient with the output
//!   activation folded in (softmax cross-entropy as `p - y`, sigmoid cross-entropy as `σ - t`).
//! - [`update`]: each optimizer's rule, following burn's arithmetic, applied to each parameter
//!   as soon as the backward pass is done; parameters and their state are moved through the
//!   update (one owner per buffer), so backends that reuse a sole owner's buffer update in place.
//!   Plain SGD folds the learning rate into the loss gradient.
//! - [`kernels`]: on GPU devices (wgpu), rules that burn's operations would split into many
//!   small kernels run as kernels of the step's own (every loss with its gradient, batch norm
//!   each way, every parameter's update in place, a replay's fetch of its inputs);
//!   [`activation::Gating`] picks the quicker form of relu-like derivatives
//!   per device. The CPU keeps the composed operations.
//! - [`product`]: a dense layer's products; on flex, those of a million multiply-adds and more
//!   are shared among the cores by [`team`]'s helper threads, which spin between a step's
//!   products instead of sleeping (a product below flex's own threshold ran on one core);
//!   [`sparse`]: one whose left operand is mostly zeros (MNIST's pixels) multiplies its
//!   nonzero values only.
//! - [`descent`]: on flex, each parameter's update (SGD, momentum, Adam, AdamW) in one pass in
//!   its own buffers, shared among the cores, burn's arithmetic to the bit; [`rows`]: a
//!   batch's rows gathered by the cores together; [`flex`]: the checks these loops share.
//! - [`replay`]: the step recorded once per segment of an epoch and replayed on a GPU.
//! - [`record`]: the optimizer state in burn's record format, and [`CompiledStep::network`] /
//!   [`CompiledStep::from_network`] convert to and from the burn module with the same parameter
//!   ids, so checkpoints are shared with the autodiff step.
//!
//! Exactness is tested against burn's autodiff (`tests/compiled.rs`: parameters after 20 steps
//! from the same weights, batches and dropout masks agree to 1e-5 relative) and against finite
//! differences through it.

pub mod activation;
pub mod descent;
pub mod flex;
pub mod kernels;
pub mod layer;
pub mod loss;
pub mod product;
pub mod record;
pub mod replay;
pub mod rows;
pub mod scalar;
pub mod sparse;
pub mod team;
pub mod update;

use burn::module::{Param, ParamId, RunningState};
use burn::nn::{BatchNormConfig, DropoutConfig, LayerNormConfig, Linear, PReluConfig};
use burn::tensor::{Device, Tensor, TensorData};
use mlpc_ir::{LayerKind, Loss, Model};

use crate::network::{ActivationLayer, DenseLayer, LayerModule, Network, ResidualBlock};
use crate::objective::BatchTargets;
use activation::Gating;
use layer::{Batch, Form, Gradient, Gradients, LayerRule, Masks, Running, Saved};
use loss::Tally;
use scalar::{Scalar, StepRow, StepScalars};
use update::{Parameter, State, UpdateRule, Updates};

/// Why a model cannot be trained with the compiled step (it then runs on autodiff).
#[derive(Debug, Clone, PartialEq)]
pub struct Uncovered {
    /// What has no compiled rule, in words.
    pub reason: String,
}

/// The step's parameters as they are collected from a burn network, each with the state its
/// optimizer starts from.
struct Parameters {
    optimizer: mlpc_ir::Optimizer,
    list: Vec<Parameter>,
}

impl Parameters {
    /// Takes a parameter out of the network; returns its index.
    fn add(&mut self, path: String, id: ParamId, value: Tensor<2>, is_vector: bool) -> usize {
        let state = State::initial(&self.optimizer, &value);
        self.list.push(Parameter {
            id,
            path,
            value,
            is_vector,
            state,
        });
        self.list.len() - 1
    }

    /// A weight matrix.
    fn matrix(&mut self, path: String, parameter: Param<Tensor<2>>) -> usize {
        let (id, value, _) = parameter.consume();
        self.add(path, id, value, false)
    }

    /// A vector `[n]`, kept as a row `[1, n]`.
    fn vector(&mut self, path: String, parameter: Param<Tensor<1>>) -> usize {
        let (id, value, _) = parameter.consume();
        self.add(path, id, row(value), true)
    }
}

/// A vector `[n]` as a row `[1, n]`, which broadcasts over a batch.
fn row(vector: Tensor<1>) -> Tensor<2> {
    let [width] = vector.dims();
    vector.reshape([1, width])
}

/// A row `[1, n]` as burn's vector `[n]`.
fn vector(row: &Tensor<2>) -> Tensor<1> {
    let [_, width] = row.dims();
    row.clone().reshape([width])
}

/// Whether the compiled step has rules for every layer, loss and optimizer of `model`. A new
/// layer kind gets its arm here: `Ok` once its forward and backward rules exist in [`layer`],
/// else an [`Uncovered`] reason, and models using it train on autodiff.
pub fn covers(model: &Model) -> Result<(), Uncovered> {
    for layer in model.network.every_layer() {
        match &layer.kind {
            // A block's own layers come next in the walk.
            LayerKind::Residual { .. }
            | LayerKind::Dense { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Prelu { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::LayerNorm { .. } => {}
        }
    }
    match model.loss {
        Loss::CrossEntropy
        | Loss::BinaryCrossEntropy
        | Loss::Mse
        | Loss::Mae
        | Loss::Huber { .. } => {}
    }
    match model.optimizer {
        mlpc_ir::Optimizer::Sgd { .. }
        | mlpc_ir::Optimizer::Adam { .. }
        | mlpc_ir::Optimizer::AdamW { .. } => {}
    }
    Ok(())
}

/// Compiles IR layers and their burn modules (built from the same IR) into layer rules,
/// taking their parameters and running statistics out of the modules; `prefix` is the
/// modules' path (`layers`).
fn compile_layers(
    irs: &[mlpc_ir::Layer],
    modules: Vec<LayerModule>,
    prefix: &str,
    parameters: &mut Parameters,
    running: &mut Vec<Running>,
) -> Vec<LayerRule> {
    let mut rules = Vec::with_capacity(irs.len());
    for (index, (ir, module)) in irs.iter().zip(modules).enumerate() {
        let path = |name: &str| format!("{prefix}.{index}.{name}");
        let rule = match (&ir.kind, module) {
            (LayerKind::Dense { activation, .. }, LayerModule::Dense(dense)) => LayerRule::Dense {
                weight: parameters.matrix(path("Dense.linear.weight"), dense.linear.weight),
                bias: dense
                    .linear
                    .bias
                    .map(|bias| parameters.vector(path("Dense.linear.bias"), bias)),
                activation: *activation,
            },
            (LayerKind::Activation { activation }, LayerModule::Activation(_)) => {
                LayerRule::Activation(*activation)
            }
            (LayerKind::Residual { layers }, LayerModule::Residual(block)) => LayerRule::Residual {
                rules: compile_layers(
                    layers,
                    block.layers,
                    &path("Residual.layers"),
                    parameters,
                    running,
                ),
            },
            (LayerKind::Prelu { .. }, LayerModule::Prelu(prelu)) => LayerRule::Prelu {
                slope: parameters.vector(path("Prelu.alpha"), prelu.alpha),
            },
            (LayerKind::Dropout { rate }, LayerModule::Dropout(_)) => {
                LayerRule::Dropout { rate: *rate }
            }
            (LayerKind::BatchNorm { momentum, epsilon }, LayerModule::BatchNorm(norm)) => {
                running.push(Running {
                    mean: row(norm.running_mean.value()),
                    variance: row(norm.running_var.value()),
                });
                LayerRule::BatchNorm {
                    gamma: parameters.vector(path("BatchNorm.gamma"), norm.gamma),
                    beta: parameters.vector(path("BatchNorm.beta"), norm.beta),
                    running: running.len() - 1,
                    momentum: *momentum,
                    epsilon: *epsilon,
                }
            }
            (LayerKind::LayerNorm { epsilon }, LayerModule::LayerNorm(norm)) => {
                LayerRule::LayerNorm {
                    gamma: parameters.vector(path("LayerNorm.gamma"), norm.gamma),
                    beta: parameters.vector(
                        path("LayerNorm.beta"),
                        norm.beta.expect("mlpc's layer norms have a shift"),
                    ),
                    epsilon: *epsilon,
                }
            }
            (
                LayerKind::Dense { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Prelu { .. }
                | LayerKind::Residual { .. }
                | LayerKind::Dropout { .. }
                | LayerKind::BatchNorm { .. }
                | LayerKind::LayerNorm { .. },
                _,
            ) => unreachable!("the burn network is built from the same IR, layer by layer"),
        };
        rules.push(rule);
    }
    rules
}

/// A deliberate mistake in the compiled rules, which the parity tests must catch (a test of
/// the tests: a wrong backward rule cannot pass them).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mutation {
    /// Dense layers pass the output's gradient through their activation unchanged.
    ActivationDerivativeDropped,
    /// One parameter's gradient is multiplied by a factor.
    ParameterGradientScaled {
        /// Its index in [`CompiledStep::parameters`].
        parameter: usize,
        /// The factor.
        factor: f64,
    },
    /// Updates are written to new buffers (the step holds a second handle on every parameter
    /// while it updates, so the update kernel writes copies): an eager step computes the same
    /// numbers, but a replay keeps reading the buffers it recorded, so its updates are lost.
    UpdatesOutOfPlace,
    /// The step sends a number from the host (a zero added to the batch): a recording cannot
    /// hold a host write, so recording the step fails.
    HostWriteInStep,
    /// As [`Mutation::HostWriteInStep`] until a recording fails, then gone: the second
    /// recording of the segment succeeds (a recording that fails once, as one that allocates
    /// in its run can).
    HostWriteInFirstRecording,
}

/// What a step writes, copied ([`CompiledStep::snapshot`]).
struct Snapshot {
    parameters: Vec<(Tensor<2>, State)>,
    running: Vec<Running>,
}

/// A network, its loss and its optimizer compiled into one training step.
pub struct CompiledStep {
    mutation: Option<Mutation>,
    layers: Vec<LayerRule>,
    parameters: Vec<Parameter>,
    running: Vec<Running>,
    /// The first layer that has parameters: layers before it need no input gradient.
    first_trained: usize,
    network: mlpc_ir::Network,
    loss: Loss,
    optimizer: mlpc_ir::Optimizer,
    update: UpdateRule,
    /// The form of piecewise-constant derivatives quicker on the step's device.
    gating: Gating,
    /// What of the last layers the loss takes over.
    head: LossHead,
    device: Device,
}

/// Which of a step's last layers its loss kernel takes over (on wgpu; none elsewhere), decided
/// once when the step is built.
#[derive(Debug, Clone, Copy)]
struct LossHead {
    /// The layers before them, which run their own forward passes.
    body: usize,
    /// The output layer's bias, where the loss adds it: the layer at `body` is then a dense
    /// layer whose forward pass leaves it out.
    bias: Option<usize>,
    /// A regression's output activation (the last layer) whose derivative the loss applies.
    activation: Option<mlpc_ir::Activation>,
}

impl LossHead {
    /// The head for `layers`, `loss` and the parameters' `values` on `device`.
    ///
    /// On wgpu a regression's output activation whose output gives its derivative (relu,
    /// tanh, sigmoid) has its derivative applied by the loss kernel as it writes the gradient:
    /// after a kernel of ours, burn-fusion left it a kernel of its own. With one output the
    /// loss kernel also adds the output layer's bias (and applies that activation) as it reads
    /// the product: burn-fusion runs a product with one column as a plain matrix-vector
    /// product and the addition as a kernel of its own (measured: one launch more a step).
    /// With more columns it fuses the addition into the product, and a product left alone
    /// there measured two launches more (a plain product and a copy), so the layer keeps its
    /// bias.
    fn new(layers: &[LayerRule], loss: Loss, values: &[Parameter], device: &Device) -> LossHead {
        let mut head = LossHead {
            body: layers.len(),
            bias: None,
            activation: None,
        };
        if !kernels::available(device) {
            return head;
        }
        if let (Loss::Mse | Loss::Mae | Loss::Huber { .. }, Some(LayerRule::Activation(function))) =
            (loss, layers.last())
            && kernels::Function::of(function)
                .is_some_and(|(function, _)| function.derivative_reads_output())
        {
            head.activation = Some(*function);
            head.body -= 1;
        }
        head.bias = layers[..head.body]
            .last()
            .and_then(LayerRule::bias_for_loss)
            .filter(|bias| values[*bias].value.dims()[1] == 1);
        head.body -= usize::from(head.bias.is_some());
        head
    }
}

impl CompiledStep {
    /// Compiles `model`, starting from the values (and parameter ids) of `network`, a burn
    /// module of the same model on the plain device the step runs on.
    pub fn from_network(model: &Model, network: Network, device: &Device) -> Self {
        let mut parameters = Parameters {
            optimizer: model.optimizer,
            list: Vec::new(),
        };
        let mut running = Vec::new();
        let layers = compile_layers(
            &model.network.layers,
            network.layers,
            "layers",
            &mut parameters,
            &mut running,
        );
        let first_trained = layers
            .iter()
            .position(LayerRule::has_parameters)
            .unwrap_or(layers.len());
        let head = LossHead::new(&layers, model.loss, &parameters.list, device);
        CompiledStep {
            mutation: None,
            layers,
            parameters: parameters.list,
            running,
            first_trained,
            network: model.network.clone(),
            loss: model.loss,
            optimizer: model.optimizer,
            update: UpdateRule::new(model.optimizer),
            gating: Gating::for_device(device),
            head,
            device: device.clone(),
        }
    }

    /// One training step on a batch at learning rate `rate`: forward, loss, backward and
    /// update. Returns the batch's summed loss `[1]`, left on the device.
    pub fn step(&mut self, features: Tensor<2>, targets: &BatchTargets, rate: f64) -> Tensor<1> {
        let [rows, _] = features.dims();
        self.short_step(features, targets, rate, rows, Updates::New)
    }

    /// One training step with the step's factors and dropout masks given, and where its
    /// updates and its loss go: the step a replay records ([`replay`]), where the factors and
    /// masks come from device buffers, the updates go in place and the loss into the
    /// segment's `tally`. Returns the batch's summed loss `[1]` where no tally is given.
    pub fn step_with(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
        scalars: &StepScalars,
        masks: Masks,
        updates: Updates,
        tally: Option<&mut Tally>,
    ) -> Option<Tensor<1>> {
        self.counted_step(features, targets, None, scalars, masks, updates, tally)
    }

    /// One training step on a batch of at most `batch` rows, its updates made as the epoch's
    /// other steps make theirs (`updates`). A short batch (an epoch's last) is padded to
    /// `batch` rows where [`pads_short_batches`](Self::pads_short_batches) holds, so that it
    /// runs the same products as every other step of the epoch; else it runs as it is. The
    /// padding rows are zeros, their loss is not counted and their gradient is zero, so the
    /// update is the short batch's own (up to the order of sums in the products). Returns the
    /// batch's summed loss `[1]`, left on the device.
    pub fn short_step(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
        rate: f64,
        batch: usize,
        updates: Updates,
    ) -> Tensor<1> {
        let [rows, width] = features.dims();
        let row = StepRow::new(
            &self.optimizer,
            rate,
            UpdateRule::next_time(&self.parameters),
        );
        let scalars = StepScalars::host(row);
        if rows >= batch || !self.pads_short_batches() {
            return self
                .step_with(features, targets, &scalars, Masks::Drawn, updates, None)
                .expect("a step without a tally returns its loss");
        }
        let padding = batch - rows;
        let features = Tensor::cat(
            vec![features, Tensor::zeros([padding, width], &self.device)],
            0,
        );
        let targets = targets.padded(padding);
        self.counted_step(
            features,
            &targets,
            Some(rows),
            &scalars,
            Masks::Drawn,
            updates,
            None,
        )
        .expect("a step without a tally returns its loss")
    }

    /// Whether [`short_step`](Self::short_step) pads a short batch to the full batch's rows:
    /// on a device that runs the step's own kernels (a GPU, where a batch of another size
    /// would have its products tuned and compiled anew, cubecl tuning each product shape on
    /// its first use). Every rule counts the first rows only where told ([`Batch::counted`]):
    /// the loss, and batch norm's statistics and input gradient.
    pub fn pads_short_batches(&self) -> bool {
        kernels::available(&self.device)
    }

    /// [`step_with`](Self::step_with), counting the loss over the first `counted` rows only
    /// where given (the rest are padding).
    #[allow(clippy::too_many_arguments)]
    fn counted_step(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
        counted: Option<usize>,
        scalars: &StepScalars,
        mut masks: Masks,
        updates: Updates,
        tally: Option<&mut Tally>,
    ) -> Option<Tensor<1>> {
        let in_place = updates == Updates::InPlace && kernels::available(&self.device);
        // Updates added in place read the rate negated (`w + (-lr)·d`).
        let scalars = &scalars.with_rate_sign(in_place);
        let scale = if self.update.folds_rate() {
            scalars.rate.clone()
        } else {
            Scalar::Host(1.0)
        };
        let features = match self.mutation {
            Some(Mutation::HostWriteInStep | Mutation::HostWriteInFirstRecording) => {
                features + Tensor::from_data(TensorData::new(vec![0f32], [1, 1]), &self.device)
            }
            Some(
                Mutation::ActivationDerivativeDropped
                | Mutation::ParameterGradientScaled { .. }
                | Mutation::UpdatesOutOfPlace,
            )
            | None => features,
        };
        let counted = counted.unwrap_or_else(|| features.dims()[0]);
        let (sum, gradients) =
            self.forward_backward(features, targets, counted, &scale, &mut masks, tally);
        let held: Vec<Tensor<2>> = match self.mutation {
            Some(Mutation::UpdatesOutOfPlace) => self
                .parameters
                .iter()
                .map(|parameter| parameter.value.clone())
                .collect(),
            Some(
                Mutation::ActivationDerivativeDropped
                | Mutation::ParameterGradientScaled { .. }
                | Mutation::HostWriteInStep
                | Mutation::HostWriteInFirstRecording,
            )
            | None => Vec::new(),
        };
        let parameters = std::mem::take(&mut self.parameters);
        self.parameters = self
            .update
            .apply_all(parameters, gradients, scalars, in_place);
        drop(held);
        sum
    }

    /// The gradient of the batch's mean loss with respect to every parameter, as the step
    /// computes it, without updating anything (batch norm's running statistics do move, as
    /// in any forward pass in training mode). Returns the batch's summed loss `[1]` and one
    /// gradient per parameter, in [`parameters`](Self::parameters) order, shaped as the
    /// parameter (vectors as rows `[1, n]`).
    pub fn gradients(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
    ) -> (Tensor<1>, Vec<Tensor<2>>) {
        let counted = features.dims()[0];
        let (sum, gradients) = self.forward_backward(
            features,
            targets,
            counted,
            &Scalar::Host(1.0),
            &mut Masks::Drawn,
            None,
        );
        let sum = sum.expect("a step without a tally returns its loss");
        (sum, gradients.into_iter().map(Gradient::summed).collect())
    }

    /// Forward, loss and backward: the summed loss (`None` where it went into `tally`) and
    /// `scale` times each parameter's gradient, in parameter order; the loss counts the first
    /// `counted` rows.
    fn forward_backward(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
        counted: usize,
        scale: &Scalar,
        masks: &mut Masks,
        tally: Option<&mut Tally>,
    ) -> (Option<Tensor<1>>, Vec<Gradient>) {
        let mut gradients: Gradients = Vec::with_capacity(self.parameters.len());
        let sum = {
            let values: Vec<&Tensor<2>> = self.parameters.iter().map(|p| &p.value).collect();
            let mut saved: Vec<Saved> = Vec::with_capacity(self.layers.len());
            let LossHead {
                body,
                bias: bias_for_loss,
                activation: head_activation,
            } = self.head;
            let last = bias_for_loss.map(|_| &self.layers[body]);
            let body = &self.layers[..body];
            let mut batch = Batch {
                running: &mut self.running,
                counted,
            };
            let (mut hidden, kept) = layer::forward_all(body, features, &values, &mut batch, masks);
            saved.extend(kept);
            if let Some(rule) = last {
                let (output, kept) = rule.forward_without_bias(hidden, &values);
                saved.push(kept);
                hidden = output;
            }
            if let Some(function) = &head_activation {
                // Applied here where the output layer keeps its bias (burn-fusion fuses it into
                // the product), else by the loss kernel.
                if last.is_none() {
                    hidden = crate::network::apply_activation(function, hidden);
                }
                saved.push(Saved::Applied);
            }
            let head = loss::Head {
                bias: bias_for_loss.map(|bias| values[bias].clone()),
                activation: head_activation,
            };
            let outcome =
                loss::loss_and_gradient(self.loss, hidden, head, targets, counted, scale, tally);
            let form = Form {
                gating: self.gating,
                mutation: self.mutation,
                counted,
            };
            let first_trained = self.first_trained;
            let wants_input = |index: usize| index > first_trained;
            layer::lead_into_norms(&self.layers, &mut saved, wants_input, form, &self.device);
            let mut upstream = Some(outcome.gradient);
            for (index, (rule, kept)) in self.layers.iter().zip(saved).enumerate().rev() {
                let Some(gradient) = upstream.take() else {
                    break;
                };
                upstream = rule.backward(
                    gradient,
                    kept,
                    &values,
                    wants_input(index),
                    &mut gradients,
                    form,
                );
            }
            outcome.sum
        };
        // Every parameter has exactly one gradient, pushed in backward order.
        gradients.sort_unstable_by_key(|(index, _)| *index);
        debug_assert!(
            gradients
                .iter()
                .enumerate()
                .all(|(at, (index, _))| at == *index)
        );
        let gradients = gradients
            .into_iter()
            .map(|(index, gradient)| match self.mutation {
                Some(Mutation::ParameterGradientScaled { parameter, factor })
                    if parameter == index =>
                {
                    gradient.times(factor)
                }
                Some(_) | None => gradient,
            })
            .collect();
        (sum, gradients)
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &mlpc_ir::Optimizer {
        &self.optimizer
    }

    /// The dropout layers with a non-zero rate, in the order the forward pass meets them
    /// (the masks [`step_with`](Self::step_with) takes), and whether the first is the
    /// network's first layer.
    pub fn dropouts(&self) -> replay::Dropouts {
        replay::Dropouts {
            layers: self.network.dropouts(),
            on_input: matches!(
                self.layers.first(),
                Some(LayerRule::Dropout { rate }) if *rate > 0.0
            ),
        }
    }

    /// A copy of everything a step writes (parameters, optimizer state, batch norm's running
    /// statistics) in buffers of its own.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            parameters: self
                .parameters
                .iter()
                .map(|parameter| (update::copy(&parameter.value), parameter.state.copy()))
                .collect(),
            running: self
                .running
                .iter()
                .map(|statistics| Running {
                    mean: update::copy(&statistics.mean),
                    variance: update::copy(&statistics.variance),
                })
                .collect(),
        }
    }

    /// Sets the step back to a [`snapshot`](Self::snapshot).
    fn restore(&mut self, snapshot: Snapshot) {
        for (parameter, (value, state)) in self.parameters.iter_mut().zip(snapshot.parameters) {
            parameter.value = value;
            parameter.state = state;
        }
        self.running = snapshot.running;
    }

    /// Sets the optimizer's count of updates (Adam's `t`) after steps that did not count
    /// them on the host (replayed steps).
    fn set_time(&mut self, time: usize) {
        for parameter in &mut self.parameters {
            if let update::State::Moments(moments) = &mut parameter.state {
                moments.time = time;
            }
        }
    }

    /// Plants a deliberate mistake (see [`Mutation`]).
    #[doc(hidden)]
    pub fn mutate(&mut self, mutation: Mutation) {
        self.mutation = Some(mutation);
    }

    /// The device the step runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The trained network as a burn module on the step's device, with the same parameter ids
    /// (for evaluation and checkpoints). It shares the step's buffers: drop it before the next
    /// step, or that step copies them instead of updating them in place.
    pub fn network(&self) -> Network {
        Network {
            layers: self.modules(&self.network.layers, &self.layers),
        }
    }

    /// The burn modules of IR layers and their rules, sharing the step's buffers.
    fn modules(&self, irs: &[mlpc_ir::Layer], rules: &[LayerRule]) -> Vec<LayerModule> {
        let parameter = &|index: usize| &self.parameters[index];
        let parameter2 =
            |index: usize| Param::initialized(parameter(index).id, parameter(index).value.clone());
        let parameter1 =
            |index: usize| Param::initialized(parameter(index).id, vector(&parameter(index).value));
        irs.iter()
            .zip(rules)
            .map(|(ir, rule)| match rule {
                LayerRule::Dense {
                    weight,
                    bias,
                    activation,
                } => LayerModule::Dense(DenseLayer {
                    linear: Linear {
                        weight: parameter2(*weight),
                        bias: bias.map(parameter1),
                    },
                    activation: *activation,
                }),
                LayerRule::Activation(activation) => LayerModule::Activation(ActivationLayer {
                    activation: *activation,
                }),
                LayerRule::Residual { rules } => {
                    let LayerKind::Residual { layers } = &ir.kind else {
                        unreachable!("a residual rule is compiled from a residual layer")
                    };
                    LayerModule::Residual(ResidualBlock {
                        layers: self.modules(layers, rules),
                    })
                }
                LayerRule::Prelu { slope } => {
                    let mut prelu = PReluConfig::new()
                        .with_num_parameters(ir.inputs)
                        .init(&self.device);
                    prelu.alpha = parameter1(*slope);
                    LayerModule::Prelu(prelu)
                }
                LayerRule::Dropout { rate } => {
                    LayerModule::Dropout(DropoutConfig::new(*rate).init())
                }
                LayerRule::BatchNorm {
                    gamma,
                    beta,
                    running,
                    momentum,
                    epsilon,
                } => {
                    let mut norm = BatchNormConfig::new(ir.inputs)
                        .with_momentum(*momentum)
                        .with_epsilon(*epsilon)
                        .init(&self.device);
                    norm.gamma = parameter1(*gamma);
                    norm.beta = parameter1(*beta);
                    let statistics = &self.running[*running];
                    norm.running_mean = RunningState::new(vector(&statistics.mean));
                    norm.running_var = RunningState::new(vector(&statistics.variance));
                    LayerModule::BatchNorm(norm)
                }
                LayerRule::LayerNorm {
                    gamma,
                    beta,
                    epsilon,
                } => {
                    let mut norm = LayerNormConfig::new(ir.inputs)
                        .with_epsilon(*epsilon)
                        .init(&self.device);
                    norm.gamma = parameter1(*gamma);
                    norm.beta = Some(parameter1(*beta));
                    LayerModule::LayerNorm(norm)
                }
            })
            .collect()
    }

    /// Writes the optimizer state to a burnpack file that burn's optimizer reads too.
    pub fn save_optimizer(&self, path: &std::path::Path) -> Result<(), String> {
        record::write(&self.parameters, path)
    }

    /// Reads the optimizer state written by [`save_optimizer`](Self::save_optimizer) or by
    /// burn's optimizer for the same parameters.
    pub fn load_optimizer(&mut self, path: &std::path::Path) -> Result<(), String> {
        record::read(&mut self.parameters, path, &self.device)
    }

    /// The parameters, in the order the network holds them (for tests and diagnostics).
    pub fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }
}
