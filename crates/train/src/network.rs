//! The compiler: an IR [`mlpc_ir::Network`] becomes a burn [`Network`] module.
//!
//! A network is a `Vec` of [`LayerModule`], an enum with one arm per IR layer kind (matched
//! exhaustively, so a new kind in the IR is a compile error here until it is lowered).
//! Weights are drawn on the host from the model's seed ([`initial_weights`]) and uploaded,
//! so every backend starts from the very same numbers: CPU runs repeat exactly, and CPU and
//! GPU runs can be compared step for step.

use crate::dropout_mask;
use burn::module::{Module, Param};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, PRelu,
    PReluConfig,
};
use burn::tensor::activation;
use burn::tensor::{Device, Element, Tensor, TensorData};
use mlpc_data::random::Random;
use mlpc_ir::{Activation, Initializer, LayerKind};

/// A dense layer: an affine map and an activation.
#[derive(Module, Debug)]
pub struct DenseLayer {
    /// Weight `[inputs, units]` and bias `[units]`.
    pub linear: Linear,
    /// Applied after the affine map.
    #[module(skip)]
    pub activation: Activation,
}

/// An activation on its own.
#[derive(Module, Debug)]
pub struct ActivationLayer {
    /// Which one.
    #[module(skip)]
    pub activation: Activation,
}

/// A residual block: its layers, whose output is added to the block's input.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// The block's layers, in order.
    pub layers: Vec<LayerModule>,
}

/// One layer of a compiled network: one arm per IR layer kind.
#[derive(Module, Debug)]
pub enum LayerModule {
    /// `dense`
    Dense(DenseLayer),
    /// `relu`, `tanh`...
    Activation(ActivationLayer),
    /// `prelu`: one learned slope per unit.
    Prelu(PRelu),
    /// `residual { ... }`
    Residual(ResidualBlock),
    /// `dropout`
    Dropout(Dropout),
    /// `batchnorm`
    BatchNorm(BatchNorm),
    /// `layernorm`
    LayerNorm(LayerNorm),
}

/// A compiled network.
#[derive(Module, Debug)]
pub struct Network {
    /// The layers, in order.
    pub layers: Vec<LayerModule>,
}

/// burn's dropout in training (`x · mask · 1/(1 - rate)` where a backward pass is possible and
/// the layer takes part in it; the input as it is otherwise), its scaled mask drawn by
/// [`dropout_mask::scaled_mask`] as the compiled step draws it.
fn dropout_forward(dropout: &Dropout, input: Tensor<2>) -> Tensor<2> {
    if !dropout.training.is_enabled() || !input.device().is_autodiff() || dropout.prob == 0.0 {
        return input;
    }
    let mask = dropout_mask::scaled_mask(&input, 1.0 - dropout.prob);
    input * mask
}

/// Applies an activation function.
pub fn apply_activation(function: &Activation, input: Tensor<2>) -> Tensor<2> {
    match function {
        Activation::Identity => input,
        Activation::Relu => activation::relu(input),
        Activation::Tanh => activation::tanh(input),
        Activation::Sigmoid => activation::sigmoid(input),
        Activation::Gelu => activation::gelu(input),
        Activation::LeakyRelu { slope } => activation::leaky_relu(input, *slope),
        Activation::Softmax => activation::softmax(input, 1),
        Activation::Silu => activation::silu(input),
        Activation::Elu { alpha } => activation::elu(input, *alpha),
    }
}

impl LayerModule {
    /// `[batch, inputs]` to `[batch, outputs]`.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        match self {
            LayerModule::Dense(dense) => {
                // burn's `Linear` makes its bias a row after the product; queued there, that
                // reshape ends burn-fusion's fused product on wgpu (a plain product, then the
                // bias and the activation apart, each product shape tuned again). As a row
                // first, the product takes its bias and activation in, as in the compiled step;
                // the CPU computes the same operations either way. The product is the compiled
                // step's (on flex without autodiff: shared among the cores, a mostly-zero input's
                // zeros skipped; burn's `matmul` elsewhere), so evaluating and predicting run it
                // as training does.
                let bias = dense
                    .linear
                    .bias
                    .as_ref()
                    .map(|bias| bias.val().unsqueeze_dim(0));
                let product = crate::compiled::product::product(input, dense.linear.weight.val());
                let affine = match bias {
                    Some(bias) => product + bias,
                    None => product,
                };
                apply_activation(&dense.activation, affine)
            }
            LayerModule::Activation(layer) => apply_activation(&layer.activation, input),
            LayerModule::Prelu(prelu) => prelu.forward(input),
            LayerModule::Residual(block) => {
                let output = block
                    .layers
                    .iter()
                    .fold(input.clone(), |hidden, layer| layer.forward(hidden));
                input + output
            }
            LayerModule::Dropout(dropout) => dropout_forward(dropout, input),
            LayerModule::BatchNorm(norm) => norm.forward(input),
            LayerModule::LayerNorm(norm) => norm.forward(input),
        }
    }
}

impl Network {
    /// The logits (or regression outputs): `[batch, inputs]` to `[batch, outputs]`.
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(input, |hidden, layer| layer.forward(hidden))
    }
}

/// Host-side initial weights of one dense layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseWeights {
    /// Row-major `[inputs, units]`.
    pub weight: Vec<f32>,
    /// `[units]`, if the layer has a bias.
    pub bias: Option<Vec<f32>>,
}

/// Draws every dense layer's initial weights from the seed, in layer order (a residual
/// block's layers in their place).
pub fn initial_weights(network: &mlpc_ir::Network, seed: u64) -> Vec<DenseWeights> {
    let mut random = Random::new(seed ^ 0x1417_5EED);
    let random = &mut random;
    let mut weights = Vec::new();
    for layer in network.every_layer() {
        match &layer.kind {
            LayerKind::Dense {
                initializer, bias, ..
            } => {
                let (fan_in, fan_out) = (layer.inputs, layer.outputs);
                let weight = (0..fan_in * fan_out)
                    .map(|_| draw(initializer, fan_in, fan_out, random))
                    .collect();
                // Biases start as PyTorch's do for the default initializer, at zero otherwise.
                let bias = bias.then(|| match initializer {
                    Initializer::KaimingUniform => {
                        let bound = 1.0 / (fan_in as f64).sqrt();
                        (0..fan_out)
                            .map(|_| ((random.uniform() * 2.0 - 1.0) * bound) as f32)
                            .collect()
                    }
                    _ => vec![0.0; fan_out],
                });
                weights.push(DenseWeights { weight, bias });
            }
            // A block's own layers come next in the walk.
            LayerKind::Residual { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Prelu { .. }
            | LayerKind::Dropout { .. }
            | LayerKind::BatchNorm { .. }
            | LayerKind::LayerNorm { .. } => {}
        }
    }
    weights
}

fn draw(initializer: &Initializer, fan_in: usize, fan_out: usize, random: &mut Random) -> f32 {
    let uniform = |random: &mut Random, bound: f64| (random.uniform() * 2.0 - 1.0) * bound;
    let value = match initializer {
        // PyTorch's default for nn.Linear (burn's too): U(±1/sqrt(fan_in)).
        Initializer::KaimingUniform => uniform(random, 1.0 / (fan_in as f64).sqrt()),
        Initializer::KaimingNormal => random.normal() * (2.0 / fan_in as f64).sqrt(),
        Initializer::XavierUniform => uniform(random, (6.0 / (fan_in + fan_out) as f64).sqrt()),
        Initializer::XavierNormal => random.normal() * (2.0 / (fan_in + fan_out) as f64).sqrt(),
        Initializer::Normal { mean, std } => mean + std * random.normal(),
        Initializer::Uniform { low, high } => low + (high - low) * random.uniform(),
        Initializer::Zeros => 0.0,
    };
    value as f32
}

/// Builds the burn network for an IR network with the given dense weights, on a device.
pub fn build(network: &mlpc_ir::Network, weights: &[DenseWeights], device: &Device) -> Network {
    let mut dense_weights = weights.iter();
    Network {
        layers: build_layers(&network.layers, &mut dense_weights, device),
    }
}

fn build_layers<'a>(
    layers: &[mlpc_ir::Layer],
    dense_weights: &mut impl Iterator<Item = &'a DenseWeights>,
    device: &Device,
) -> Vec<LayerModule> {
    layers
        .iter()
        .map(|layer| match &layer.kind {
            LayerKind::Dense { activation, .. } => {
                let weights = dense_weights
                    .next()
                    .expect("one set of weights per dense layer");
                let weight = Param::from_data(
                    TensorData::new(weights.weight.clone(), [layer.inputs, layer.outputs]),
                    device,
                );
                let bias = weights.bias.as_ref().map(|bias| {
                    Param::from_data(TensorData::new(bias.clone(), [layer.outputs]), device)
                });
                LayerModule::Dense(DenseLayer {
                    linear: Linear { weight, bias },
                    activation: *activation,
                })
            }
            LayerKind::Activation { activation } => LayerModule::Activation(ActivationLayer {
                activation: *activation,
            }),
            LayerKind::Prelu { initial_slope } => LayerModule::Prelu(
                PReluConfig::new()
                    .with_num_parameters(layer.inputs)
                    .with_alpha(*initial_slope)
                    .init(device),
            ),
            LayerKind::Residual { layers } => LayerModule::Residual(ResidualBlock {
                layers: build_layers(layers, dense_weights, device),
            }),
            LayerKind::Dropout { rate } => LayerModule::Dropout(DropoutConfig::new(*rate).init()),
            LayerKind::BatchNorm { momentum, epsilon } => LayerModule::BatchNorm(
                BatchNormConfig::new(layer.inputs)
                    .with_momentum(*momentum)
                    .with_epsilon(*epsilon)
                    .init(device),
            ),
            LayerKind::LayerNorm { epsilon } => LayerModule::LayerNorm(
                LayerNormConfig::new(layer.inputs)
                    .with_epsilon(*epsilon)
                    .init(device),
            ),
        })
        .collect()
}

/// A trainable tensor of a network: a weight matrix, or a vector (bias, norm scale or shift).
pub enum Trainable {
    /// `[inputs, units]`.
    Matrix(Tensor<2>),
    /// `[n]`.
    Vector(Tensor<1>),
}

/// A tensor's values, flattened, as f32.
pub(crate) fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    values_as(tensor)
}

/// A tensor's values, flattened, as `E` (f64 for the gradient check).
pub(crate) fn values_as<E: Element, const D: usize>(tensor: Tensor<D>) -> Vec<E> {
    tensor
        .into_data()
        .convert::<E>()
        .try_to_vec::<E>()
        .expect("float values")
}

impl Trainable {
    /// Its values, flattened.
    pub fn values(&self) -> Vec<f32> {
        match self {
            Trainable::Matrix(tensor) => values(tensor.clone()),
            Trainable::Vector(tensor) => values(tensor.clone()),
        }
    }

    /// Its gradient in `gradients` (of a loss on an autodiff device), flattened.
    pub fn gradient(&self, gradients: &burn::tensor::Gradients) -> Option<Vec<f32>> {
        match self {
            Trainable::Matrix(tensor) => tensor.grad(gradients).map(values),
            Trainable::Vector(tensor) => tensor.grad(gradients).map(values),
        }
    }
}

/// Every trainable tensor of a network with its path, in layer order.
pub fn trainable(network: &Network) -> Vec<(String, Trainable)> {
    let mut found = Vec::new();
    trainable_in(&network.layers, "layers", &mut found);
    found
}

fn trainable_in(layers: &[LayerModule], prefix: &str, found: &mut Vec<(String, Trainable)>) {
    for (index, layer) in layers.iter().enumerate() {
        let path = |name: &str| format!("{prefix}.{index}.{name}");
        match layer {
            LayerModule::Dense(dense) => {
                found.push((path("weight"), Trainable::Matrix(dense.linear.weight.val())));
                if let Some(bias) = &dense.linear.bias {
                    found.push((path("bias"), Trainable::Vector(bias.val())));
                }
            }
            LayerModule::Prelu(prelu) => {
                found.push((path("alpha"), Trainable::Vector(prelu.alpha.val())));
            }
            LayerModule::Residual(block) => trainable_in(&block.layers, &path("layers"), found),
            LayerModule::BatchNorm(norm) => {
                found.push((path("gamma"), Trainable::Vector(norm.gamma.val())));
                found.push((path("beta"), Trainable::Vector(norm.beta.val())));
            }
            LayerModule::LayerNorm(norm) => {
                found.push((path("gamma"), Trainable::Vector(norm.gamma.val())));
                if let Some(beta) = &norm.beta {
                    found.push((path("beta"), Trainable::Vector(beta.val())));
                }
            }
            LayerModule::Activation(_) | LayerModule::Dropout(_) => {}
        }
    }
}

/// Every trainable tensor and batch-norm running statistic of a network with its path and
/// values (for comparing two networks, and for tests).
pub fn named_values(network: &Network) -> Vec<(String, Vec<f32>)> {
    let mut named: Vec<(String, Vec<f32>)> = trainable(network)
        .into_iter()
        .map(|(path, tensor)| (path, tensor.values()))
        .collect();
    running_statistics(&network.layers, "layers", &mut named);
    named
}

fn running_statistics(layers: &[LayerModule], prefix: &str, named: &mut Vec<(String, Vec<f32>)>) {
    for (index, layer) in layers.iter().enumerate() {
        match layer {
            LayerModule::BatchNorm(norm) => {
                named.push((
                    format!("{prefix}.{index}.running_mean"),
                    values(norm.running_mean.value()),
                ));
                named.push((
                    format!("{prefix}.{index}.running_var"),
                    values(norm.running_var.value()),
                ));
            }
            LayerModule::Residual(block) => {
                running_statistics(&block.layers, &format!("{prefix}.{index}.layers"), named)
            }
            LayerModule::Dense(_)
            | LayerModule::Activation(_)
            | LayerModule::Prelu(_)
            | LayerModule::Dropout(_)
            | LayerModule::LayerNorm(_) => {}
        }
    }
}
