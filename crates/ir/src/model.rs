//! The IR: a checked model with every shape inferred. Downstream stages read only this.

use mlpc_data::Source;
use serde::{Deserialize, Serialize};

/// A checked model: everything needed to build, train and evaluate it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The model's name (`model NAME`, or the file's stem).
    pub name: String,
    /// Where the examples come from.
    pub data: Source,
    /// What is predicted.
    pub task: Task,
    /// The layers, with their shapes.
    pub network: Network,
    /// What training minimises.
    pub loss: Loss,
    /// How parameters are updated.
    pub optimizer: Optimizer,
    /// How the learning rate changes over training.
    pub schedule: Schedule,
    /// Epochs, batch size, seed and the rest.
    pub training: Training,
}

/// What a model predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Task {
    /// One of `classes` classes.
    Classification {
        /// Number of classes.
        classes: usize,
        /// The label of each class, where the data names them.
        class_names: Option<Vec<String>>,
    },
    /// One real number.
    Regression {
        /// The target's name, where the data names it.
        target: Option<String>,
    },
}

/// The layers and their shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Width of one input example.
    pub inputs: usize,
    /// Width of the output.
    pub outputs: usize,
    /// The layers in order, each with its input and output width.
    pub layers: Vec<Layer>,
    /// An activation that ends the written network but is applied by the loss in training
    /// (softmax before cross-entropy, sigmoid before binary cross-entropy) and to predictions.
    pub output_activation: Option<Activation>,
}

impl Network {
    /// Every layer, depth first: a block's layers right after the block's own entry (the
    /// order in which the file writes them).
    pub fn every_layer(&self) -> Vec<&Layer> {
        fn walk<'a>(layers: &'a [Layer], every: &mut Vec<&'a Layer>) {
            for layer in layers {
                every.push(layer);
                walk(layer.block(), every);
            }
        }
        let mut every = Vec::new();
        walk(&self.layers, &mut every);
        every
    }

    /// The rate and input width of each dropout layer that drops anything (rate above 0), in
    /// the order the forward pass meets them (a block's layers in place).
    pub fn dropouts(&self) -> Vec<(f64, usize)> {
        self.every_layer()
            .into_iter()
            .filter_map(|layer| match layer.kind {
                LayerKind::Dropout { rate } if rate > 0.0 => Some((rate, layer.inputs)),
                LayerKind::Dropout { .. }
                | LayerKind::Dense { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Prelu { .. }
                | LayerKind::Residual { .. }
                | LayerKind::BatchNorm { .. }
                | LayerKind::LayerNorm { .. } => None,
            })
            .collect()
    }

    /// Trainable parameters of the whole network.
    pub fn parameters(&self) -> usize {
        self.layers.iter().fold(0usize, |total, layer| {
            total.saturating_add(layer.parameters)
        })
    }

    /// Multiply-adds of one forward pass of one example.
    pub fn multiply_adds(&self) -> usize {
        self.layers.iter().fold(0usize, |total, layer| {
            total.saturating_add(layer.multiply_adds)
        })
    }
}

/// A layer with its inferred shape and cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// What the layer does.
    pub kind: LayerKind,
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// Multiply-adds for one example.
    pub multiply_adds: usize,
}

/// The layer kinds. Matches on this enum are exhaustive everywhere, so adding a kind makes
/// the compiler list each place (shape rule, summary name, burn lowering) that needs an arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "layer")]
pub enum LayerKind {
    /// `y = activation(x W + b)`.
    Dense {
        /// Output width.
        units: usize,
        /// Applied to the affine output.
        activation: Activation,
        /// How the weights start.
        initializer: Initializer,
        /// Whether there is a bias `b`.
        bias: bool,
    },
    /// An activation on its own.
    Activation {
        /// Which one.
        activation: Activation,
    },
    /// A leaky relu whose slope for negative inputs is learned, one per unit:
    /// `max(0, x) + a · min(0, x)`.
    Prelu {
        /// Every unit's slope before training.
        initial_slope: f64,
    },
    /// A block of layers whose output is added to its input: `y = x + f(x)`. The block's
    /// output width equals its input width (the checker says so otherwise).
    Residual {
        /// The block's layers, with their shapes.
        layers: Vec<Layer>,
    },
    /// Zeroes each value with probability `rate` in training, scaling the rest by `1/(1-rate)`.
    Dropout {
        /// Probability of dropping, in [0, 1).
        rate: f64,
    },
    /// Normalises each feature over the batch (running statistics at evaluation).
    BatchNorm {
        /// Weight of the new batch in the running statistics.
        momentum: f64,
        /// Added to the variance.
        epsilon: f64,
    },
    /// Normalises each example over its features.
    LayerNorm {
        /// Added to the variance.
        epsilon: f64,
    },
}

impl LayerKind {
    /// The name `mlpc summary` shows.
    pub fn display_name(&self) -> String {
        match self {
            LayerKind::Dense {
                activation: Activation::Identity,
                ..
            } => "dense".to_string(),
            LayerKind::Dense { activation, .. } => format!("dense ({})", activation.name()),
            LayerKind::Activation { activation } => activation.name(),
            LayerKind::Prelu { .. } => "prelu".to_string(),
            LayerKind::Residual { layers } => format!(
                "residual ({} layer{})",
                layers.len(),
                if layers.len() == 1 { "" } else { "s" }
            ),
            LayerKind::Dropout { rate } => format!("dropout ({rate})"),
            LayerKind::BatchNorm { .. } => "batchnorm".to_string(),
            LayerKind::LayerNorm { .. } => "layernorm".to_string(),
        }
    }
}

impl Layer {
    /// The layers of its block (a residual block's), none for other kinds.
    pub fn block(&self) -> &[Layer] {
        match &self.kind {
            LayerKind::Residual { layers } => layers,
            LayerKind::Dense { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Prelu { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::LayerNorm { .. } => &[],
        }
    }

    /// Values one example makes in a forward pass through the layer: its output, and its
    /// block's layers' outputs too.
    pub fn values_per_example(&self) -> usize {
        self.block().iter().fold(self.outputs, |total, layer| {
            total.saturating_add(layer.values_per_example())
        })
    }
}

impl LayerKind {
    /// Whether the kind is written with a block of layers (`residual { ... }`).
    pub fn takes_block(&self) -> bool {
        match self {
            LayerKind::Residual { .. } => true,
            LayerKind::Dense { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Prelu { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::LayerNorm { .. } => false,
        }
    }
}

/// Element-wise non-linearities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "function")]
pub enum Activation {
    /// `x`
    Identity,
    /// `max(0, x)`
    Relu,
    /// `tanh(x)`
    Tanh,
    /// `1 / (1 + e^-x)`
    Sigmoid,
    /// Gaussian error linear unit.
    Gelu,
    /// `x` for `x > 0`, `slope * x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f64,
    },
    /// `e^x / sum(e^x)` over the features.
    Softmax,
    /// `x * sigmoid(x)` (also called swish).
    Silu,
    /// `x` for `x > 0`, `alpha * (e^x - 1)` otherwise.
    Elu {
        /// Saturation value for negative inputs.
        alpha: f64,
    },
}

impl Activation {
    /// The name as written in a `.mlp` file.
    pub fn name(&self) -> String {
        match self {
            Activation::Identity => "identity".into(),
            Activation::Relu => "relu".into(),
            Activation::Tanh => "tanh".into(),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::Gelu => "gelu".into(),
            Activation::LeakyRelu { slope } => format!("leaky_relu({slope})"),
            Activation::Softmax => "softmax".into(),
            Activation::Silu => "silu".into(),
            Activation::Elu { alpha } => format!("elu({alpha})"),
        }
    }
}

/// How a dense layer's weights start (biases start at zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "initializer")]
pub enum Initializer {
    /// Uniform in ±sqrt(1/fan_in) (PyTorch's and burn's default).
    KaimingUniform,
    /// Normal with deviation sqrt(2/fan_in).
    KaimingNormal,
    /// Uniform in ±sqrt(6/(fan_in+fan_out)).
    XavierUniform,
    /// Normal with deviation sqrt(2/(fan_in+fan_out)).
    XavierNormal,
    /// Normal with this mean and deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Uniform in [low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// All zero.
    Zeros,
}

/// What training minimises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "loss")]
pub enum Loss {
    /// Softmax cross-entropy on logits (multi-class logistic loss).
    CrossEntropy,
    /// Sigmoid cross-entropy on one logit (binary logistic loss).
    BinaryCrossEntropy,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
    /// Squared below `delta`, linear above.
    Huber {
        /// Where the loss turns linear.
        delta: f64,
    },
}

impl Loss {
    /// The name as written in a `.mlp` file.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross_entropy",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
        }
    }

    /// Whether the loss is for classification.
    pub fn is_classification(&self) -> bool {
        matches!(self, Loss::CrossEntropy | Loss::BinaryCrossEntropy)
    }
}

/// How parameters are updated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "optimizer")]
pub enum Optimizer {
    /// Stochastic gradient descent.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 for none).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// Adam.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to the denominator.
        epsilon: f64,
        /// L2 penalty added to the gradient.
        weight_decay: f64,
    },
    /// Adam with decoupled weight decay.
    AdamW {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Added to the denominator.
        epsilon: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
}

impl Optimizer {
    /// The learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. } => *lr,
        }
    }

    /// The same optimizer with another learning rate.
    pub fn with_learning_rate(mut self, new: f64) -> Self {
        match &mut self {
            Optimizer::Sgd { lr, .. }
            | Optimizer::Adam { lr, .. }
            | Optimizer::AdamW { lr, .. } => *lr = new,
        }
        self
    }
}

/// How the learning rate changes, in epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "schedule")]
pub enum Schedule {
    /// The same all along.
    Constant,
    /// Multiplied by `gamma` every `every` epochs.
    Step {
        /// Epochs between drops.
        every: usize,
        /// Factor of each drop.
        gamma: f64,
    },
    /// Multiplied by `gamma` every epoch.
    Exponential {
        /// Factor per epoch.
        gamma: f64,
    },
    /// Half a cosine from the initial rate down to `min_lr` over the whole training.
    Cosine {
        /// The final rate.
        min_lr: f64,
    },
}

impl Schedule {
    /// The learning rate at a fractional epoch `progress` (0 at the start), of `epochs` in all.
    pub fn rate(&self, initial: f64, progress: f64, epochs: usize) -> f64 {
        match self {
            Schedule::Constant => initial,
            Schedule::Step { every, gamma } => {
                initial * gamma.powi((progress / *every as f64).floor() as i32)
            }
            Schedule::Exponential { gamma } => initial * gamma.powf(progress),
            Schedule::Cosine { min_lr } => {
                let fraction = (progress / epochs.max(1) as f64).clamp(0.0, 1.0);
                min_lr + (initial - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * fraction).cos())
            }
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// Passes over the training split.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Reshuffle the training split every epoch.
    pub shuffle: bool,
    /// Seed of initial weights, shuffling and dropout.
    pub seed: u64,
    /// Metrics reported each epoch (the loss always is).
    pub metrics: Vec<Metric>,
    /// Fraction of the training split held out for validation.
    pub validation: f64,
}

impl Training {
    /// The training rows held out for validation (drawn with the run's seed), if any.
    pub fn hold_out(&self) -> Option<mlpc_data::HoldOut> {
        mlpc_data::HoldOut::of(self.validation, self.seed)
    }
}

/// Metrics reported on the test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Fraction of examples classified right (1 - the 0-1 loss).
    Accuracy,
    /// Root mean squared error, in the target's units.
    Rmse,
    /// Mean absolute error, in the target's units.
    Mae,
    /// Coefficient of determination.
    R2,
}

impl Metric {
    /// The name as written in a `.mlp` file.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
        }
    }
}
