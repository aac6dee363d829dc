//! Losses and optimizers: the IR's choices mapped onto burn's.

use burn::nn::loss::{
    BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig, CrossEntropyLoss, CrossEntropyLossConfig,
    HuberLoss, HuberLossConfig, LpLossConfig, MseLoss, Reduction,
};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use mlpc_ir::{Loss, Optimizer};

/// The targets of one batch, on the device.
#[derive(Debug, Clone)]
pub enum BatchTargets {
    /// Class indices `[batch]`.
    Classes(Tensor<1, Int>),
    /// Values `[batch, 1]`.
    Values(Tensor<2>),
}

impl BatchTargets {
    /// The targets at `indices`, in that order.
    pub fn select(&self, indices: Tensor<1, Int>) -> BatchTargets {
        match self {
            BatchTargets::Classes(classes) => {
                BatchTargets::Classes(classes.clone().select(0, indices))
            }
            BatchTargets::Values(values) => BatchTargets::Values(values.clone().select(0, indices)),
        }
    }

    /// The targets followed by `rows` padding rows (class 0, or zero values), which a loss
    /// told to count only the first rows leaves out.
    pub fn padded(&self, rows: usize) -> BatchTargets {
        match self {
            BatchTargets::Classes(classes) => {
                let padding = Tensor::zeros([rows], &classes.device());
                BatchTargets::Classes(Tensor::cat(vec![classes.clone(), padding], 0))
            }
            BatchTargets::Values(values) => {
                let [_, width] = values.dims();
                let padding = Tensor::zeros([rows, width], &values.device());
                BatchTargets::Values(Tensor::cat(vec![values.clone(), padding], 0))
            }
        }
    }

    /// The targets `start..start + length`.
    pub fn narrow(&self, start: usize, length: usize) -> BatchTargets {
        match self {
            BatchTargets::Classes(classes) => {
                BatchTargets::Classes(classes.clone().narrow(0, start, length))
            }
            BatchTargets::Values(values) => {
                BatchTargets::Values(values.clone().narrow(0, start, length))
            }
        }
    }
}

/// A loss, built once.
pub enum Objective {
    /// Softmax cross-entropy on logits.
    CrossEntropy(CrossEntropyLoss),
    /// Sigmoid cross-entropy on one logit.
    BinaryCrossEntropy(BinaryCrossEntropyLoss),
    /// Mean squared error.
    Mse(MseLoss),
    /// Mean absolute error.
    Mae,
    /// Huber.
    Huber(HuberLoss),
}

impl Objective {
    /// The burn loss for an IR loss.
    pub fn new(loss: Loss, device: &Device) -> Self {
        match loss {
            Loss::CrossEntropy => {
                Objective::CrossEntropy(CrossEntropyLossConfig::new().init(device))
            }
            Loss::BinaryCrossEntropy => Objective::BinaryCrossEntropy(
                BinaryCrossEntropyLossConfig::new()
                    .with_logits(true)
                    .init(device),
            ),
            Loss::Mse => Objective::Mse(MseLoss::new()),
            Loss::Mae => Objective::Mae,
            Loss::Huber { delta } => Objective::Huber(HuberLossConfig::new(delta as f32).init()),
        }
    }

    /// The mean loss of a batch: `output` is `[batch, outputs]`.
    pub fn forward(&self, output: Tensor<2>, targets: &BatchTargets) -> Tensor<1> {
        match (self, targets) {
            (Objective::CrossEntropy(loss), BatchTargets::Classes(classes)) => {
                loss.forward(output, classes.clone())
            }
            (Objective::BinaryCrossEntropy(loss), BatchTargets::Classes(classes)) => {
                let [batch] = classes.dims();
                loss.forward(output, classes.clone().reshape([batch, 1]))
            }
            (Objective::Mse(loss), BatchTargets::Values(values)) => {
                loss.forward(output, values.clone(), Reduction::Mean)
            }
            (Objective::Mae, BatchTargets::Values(values)) => {
                LpLossConfig::l1().forward(output, values.clone(), Reduction::Mean)
            }
            (Objective::Huber(loss), BatchTargets::Values(values)) => {
                loss.forward(output, values.clone(), Reduction::Mean)
            }
            // The checker pairs classification losses with class targets and the others with values.
            _ => unreachable!("the IR checker pairs each loss with its kind of target"),
        }
    }
}

/// The burn optimizer for an IR optimizer (the learning rate is given at each step).
pub fn optimizer(optimizer: &Optimizer) -> ModuleOptimizer {
    let decay = |penalty: f64| (penalty > 0.0).then(|| WeightDecayConfig::new(penalty as f32));
    match *optimizer {
        Optimizer::Sgd {
            momentum,
            nesterov,
            weight_decay,
            ..
        } => SgdConfig::new()
            .with_momentum((momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(momentum)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov)
            }))
            .with_weight_decay(decay(weight_decay))
            .init(),
        Optimizer::Adam {
            beta1,
            beta2,
            epsilon,
            weight_decay,
            ..
        } => AdamConfig::new()
            .with_beta_1(beta1 as f32)
            .with_beta_2(beta2 as f32)
            .with_epsilon(epsilon as f32)
            .with_weight_decay(decay(weight_decay))
            .init(),
        Optimizer::AdamW {
            beta1,
            beta2,
            epsilon,
            weight_decay,
            ..
        } => AdamWConfig::new()
            .with_beta_1(beta1 as f32)
            .with_beta_2(beta2 as f32)
            .with_epsilon(epsilon as f32)
            .with_weight_decay(weight_decay as f32)
            .init(),
    }
}
