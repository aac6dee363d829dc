//! The training step a run uses: the compiled step ([`crate::compiled`], the default on the
//! CPU), the same step recorded once and replayed ([`crate::compiled::replay`], the default on
//! wgpu), or burn's autodiff (the reference, and the fallback for a model the compiled step
//! does not cover). All start from the same weights, draw the same batches, and write
//! checkpoints in the same format, so a run started with one resumes with another.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use mlpc_ir::Model;

use crate::backend::Backend;
use crate::checkpoint::{checkpoint_error, load_network};
use crate::compiled::update::Updates;
use crate::compiled::{CompiledStep, Uncovered};
use crate::error::TrainError;
use crate::network::{self, Network};
use crate::objective::{self, BatchTargets, Objective};

/// Which training step to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepKind {
    /// The compiled step: backward pass derived by mlpc, parameters updated in place.
    #[default]
    Compiled,
    /// The compiled step recorded once per segment of batches and replayed (a GPU's kernel
    /// launches resolved once instead of at every step).
    Replay,
    /// burn's autodiff and optimizers.
    Autodiff,
}

impl StepKind {
    /// Every kind.
    pub const ALL: [StepKind; 3] = [StepKind::Compiled, StepKind::Replay, StepKind::Autodiff];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Compiled => "compiled",
            StepKind::Replay => "replay",
            StepKind::Autodiff => "autodiff",
        }
    }

    /// The step a backend trains with unless asked otherwise: replay on wgpu, where kernel
    /// launches cost the most, the compiled step on the CPU.
    pub fn default_for(backend: Backend) -> StepKind {
        match backend {
            Backend::Wgpu => StepKind::Replay,
            Backend::Ndarray | Backend::Flex => StepKind::Compiled,
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for StepKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::names::parse(text, &StepKind::ALL, StepKind::name, "step")
    }
}

/// The step a run asked for, resolved: the compiled step (or its replay) where it covers the
/// model, else autodiff; replay where the backend can record, else the compiled step; with a
/// note to tell the user when the step is not the one asked for.
pub fn resolve(requested: StepKind, model: &Model, backend: Backend) -> (StepKind, Option<String>) {
    let uncovered = |Uncovered { reason }: Uncovered| {
        (
            StepKind::Autodiff,
            Some(format!(
                "the compiled step does not cover {reason}; training with autodiff"
            )),
        )
    };
    match (requested, crate::compiled::covers(model)) {
        (StepKind::Compiled | StepKind::Replay, Err(reason)) => uncovered(reason),
        (StepKind::Replay, Ok(())) => match crate::backend::replay_unavailable(backend) {
            Some(reason) => (
                StepKind::Compiled,
                Some(format!("{reason}; training with the compiled step")),
            ),
            None => (StepKind::Replay, None),
        },
        (kind @ (StepKind::Compiled | StepKind::Autodiff), _) => (kind, None),
    }
}

/// A training step with its state: parameters, optimizer state and the loss.
pub enum Stepper {
    /// The compiled step, on the plain device.
    Compiled(CompiledStep),
    /// The compiled step, replayed from recordings (the trainer runs its segments).
    Replay(CompiledStep),
    /// burn's autodiff, on the autodiff device.
    Autodiff {
        /// The network, with autodiff.
        network: Network,
        /// burn's optimizer.
        optimizer: ModuleOptimizer,
        /// burn's loss.
        objective: Objective,
    },
}

impl Stepper {
    /// A step of `kind` for `model` on `backend` (autodiff adds its layer to the device),
    /// starting from the seed's initial weights or, if given, a checkpoint's network and
    /// optimizer files.
    pub fn new(
        kind: StepKind,
        model: &Model,
        backend: Backend,
        checkpoint: Option<(&Path, &Path)>,
    ) -> Result<Stepper, TrainError> {
        let device = &backend.plain_device()?;
        let step_device = match kind {
            StepKind::Compiled | StepKind::Replay => device.clone(),
            StepKind::Autodiff => device.clone().autodiff(),
        };
        let network = match checkpoint {
            Some((network_file, _)) => load_network(model, &step_device, network_file)?,
            None => network::build(
                &model.network,
                &network::initial_weights(&model.network, model.training.seed),
                &step_device,
            ),
        };
        let optimizer_file = checkpoint.map(|(_, optimizer_file)| optimizer_file);
        match kind {
            StepKind::Compiled | StepKind::Replay => {
                let mut step = CompiledStep::from_network(model, network, device);
                if let Some(path) = optimizer_file {
                    step.load_optimizer(path)
                        .map_err(|error| checkpoint_error(path, error))?;
                }
                Ok(if kind == StepKind::Replay {
                    Stepper::Replay(step)
                } else {
                    Stepper::Compiled(step)
                })
            }
            StepKind::Autodiff => {
                let mut optimizer = objective::optimizer(&model.optimizer);
                if let Some(path) = optimizer_file {
                    optimizer = optimizer
                        .load(path)
                        .map_err(|error| checkpoint_error(path, error))?;
                }
                Ok(Stepper::Autodiff {
                    network,
                    optimizer,
                    objective: Objective::new(model.loss, &step_device),
                })
            }
        }
    }

    /// The device batches must be on.
    pub fn device(&self) -> Device {
        match self {
            Stepper::Compiled(step) | Stepper::Replay(step) => step.device().clone(),
            Stepper::Autodiff { network, .. } => network
                .devices()
                .into_iter()
                .next()
                .expect("a network has parameters on a device"),
        }
    }

    /// One step on a batch of at most `batch` rows (fewer: an epoch's short last batch);
    /// returns the batch's summed loss `[1]`, on the device.
    pub fn step(
        &mut self,
        features: Tensor<2>,
        targets: &BatchTargets,
        rate: f64,
        batch: usize,
    ) -> Tensor<1> {
        match self {
            Stepper::Compiled(step) => {
                step.short_step(features, targets, rate, batch, Updates::New)
            }
            Stepper::Replay(step) => {
                step.short_step(features, targets, rate, batch, Updates::InPlace)
            }
            Stepper::Autodiff {
                network,
                optimizer,
                objective,
            } => {
                let [batch, _] = features.dims();
                let output = network.forward(features);
                let loss = objective.forward(output, targets);
                let sum = loss.clone().detach().mul_scalar(batch as f64);
                let gradients = GradientsParams::from_grads(loss.backward(), network);
                let current = std::mem::replace(network, Network { layers: Vec::new() });
                *network = optimizer.step(rate, current, gradients);
                sum
            }
        }
    }

    /// The network without autodiff (dropout off, batch norm on running statistics), for
    /// evaluation and checkpoints.
    pub fn network(&self) -> Network {
        match self {
            Stepper::Compiled(step) | Stepper::Replay(step) => step.network(),
            Stepper::Autodiff { network, .. } => network.valid(),
        }
    }

    /// Writes the optimizer state to `path` (burn's optimizer-record format, either step).
    pub fn save_optimizer(&self, path: &Path) -> Result<(), String> {
        match self {
            Stepper::Compiled(step) | Stepper::Replay(step) => step.save_optimizer(path),
            Stepper::Autodiff { optimizer, .. } => {
                optimizer.save(path).map_err(|error| error.to_string())
            }
        }
    }
}
