//! Backpropagation checked against central finite differences, for every layer kind and every
//! loss: burn's gradient of the loss along a random direction in parameter space must match
//! `(L(w + εv) - L(w - εv)) / 2ε`, where `w` is every trainable tensor (dense weights and
//! biases, and batch and layer norms' scales and shifts). A wrong lowering (a missing bias, a wrong activation, a
//! loss on the wrong tensor) cannot pass. Also: the compiled network's forward pass equals a
//! hand-written burn network's given the same weights.

use burn::module::Param;
use burn::tensor::{Device, Int, Tensor, TensorData, activation};
use mlpc_data::random::Random;
use mlpc_ir::shape::layer_shape;
use mlpc_ir::{Activation, Initializer, LayerKind, Loss, Network};
use mlpc_train::network::{self, LayerModule, Network as NetworkModule};
use mlpc_train::objective::{BatchTargets, Objective};

const BATCH: usize = 8;
/// Largest relative error allowed between autodiff's and finite differences' directional
/// derivatives (measured: 2e-6 to 1.2e-3 in f32 with ε = 3e-3).
const TOLERANCE: f64 = 5e-3;
const INPUTS: usize = 5;

fn device() -> Device {
    #[allow(deprecated)]
    Device::ndarray().autodiff()
}

fn dense(units: usize, activation: Activation) -> LayerKind {
    LayerKind::Dense {
        units,
        activation,
        initializer: Initializer::XavierNormal,
        bias: true,
    }
}

fn ir_network(kinds: Vec<LayerKind>) -> Network {
    let mut width = INPUTS;
    let layers: Vec<_> = kinds
        .into_iter()
        .map(|kind| {
            let layer = layer_shape(&kind, width);
            width = layer.outputs;
            layer
        })
        .collect();
    Network {
        inputs: INPUTS,
        outputs: width,
        layers,
        output_activation: None,
    }
}

fn inputs(device: &Device) -> Tensor<2> {
    let mut random = Random::new(11);
    let values: Vec<f32> = (0..BATCH * INPUTS)
        .map(|_| random.normal() as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, [BATCH, INPUTS]), device)
}

fn targets(loss: Loss, outputs: usize, device: &Device) -> BatchTargets {
    let mut random = Random::new(12);
    match loss {
        Loss::CrossEntropy | Loss::BinaryCrossEntropy => {
            let classes = if loss == Loss::BinaryCrossEntropy {
                2
            } else {
                outputs
            };
            let values: Vec<i64> = (0..BATCH).map(|_| random.below(classes) as i64).collect();
            BatchTargets::Classes(Tensor::<1, Int>::from_data(
                TensorData::new(values, [BATCH]),
                device,
            ))
        }
        _ => {
            let values: Vec<f32> = (0..BATCH).map(|_| (random.normal() * 2.0) as f32).collect();
            BatchTargets::Values(Tensor::from_data(
                TensorData::new(values, [BATCH, 1]),
                device,
            ))
        }
    }
}

/// The values of every trainable tensor, flattened in layer order.
fn flatten(network: &NetworkModule) -> Vec<f32> {
    network::trainable(network)
        .iter()
        .flat_map(|(_, tensor)| tensor.values())
        .collect()
}

/// The network with every trainable tensor replaced, in [`flatten`]'s order, from `flat`.
fn with_values(mut network: NetworkModule, flat: &[f32], device: &Device) -> NetworkModule {
    let mut offset = 0;
    replace_values(&mut network.layers, flat, &mut offset, device);
    network
}

/// Replaces the trainable values of `layers` (a residual block's in their place) from
/// `flat[offset..]`, advancing `offset`.
fn replace_values(layers: &mut [LayerModule], flat: &[f32], offset: &mut usize, device: &Device) {
    fn next(flat: &[f32], offset: &mut usize, count: usize) -> Vec<f32> {
        let slice = flat[*offset..*offset + count].to_vec();
        *offset += count;
        slice
    }
    let vector = |values: Vec<f32>, device: &Device| {
        let count = values.len();
        Param::from_data(TensorData::new(values, [count]), device)
    };
    for layer in layers {
        let mut take = |count: usize| next(flat, offset, count);
        match layer {
            LayerModule::Dense(dense) => {
                let [rows, columns] = dense.linear.weight.val().dims();
                dense.linear.weight = Param::from_data(
                    TensorData::new(take(rows * columns), [rows, columns]),
                    device,
                );
                if let Some(bias) = &mut dense.linear.bias {
                    let [count] = bias.val().dims();
                    *bias = vector(take(count), device);
                }
            }
            LayerModule::BatchNorm(norm) => {
                let [count] = norm.gamma.val().dims();
                norm.gamma = vector(take(count), device);
                norm.beta = vector(take(count), device);
            }
            LayerModule::LayerNorm(norm) => {
                let [count] = norm.gamma.val().dims();
                norm.gamma = vector(take(count), device);
                norm.beta = Some(vector(take(count), device));
            }
            LayerModule::Prelu(prelu) => {
                let [count] = prelu.alpha.val().dims();
                prelu.alpha = vector(take(count), device);
            }
            LayerModule::Residual(block) => replace_values(&mut block.layers, flat, offset, device),
            LayerModule::Activation(_) | LayerModule::Dropout(_) => {}
        }
    }
}

/// The gradient of every trainable tensor, in [`flatten`]'s order.
fn flat_gradients(network: &NetworkModule, gradients: &burn::tensor::Gradients) -> Vec<f32> {
    network::trainable(network)
        .iter()
        .flat_map(|(path, tensor)| {
            tensor
                .gradient(gradients)
                .unwrap_or_else(|| panic!("no gradient for `{path}`"))
        })
        .collect()
}

/// The loss at the trainable values `flat` (dropout masks repeat: the device is seeded before
/// each pass), and its gradient with respect to every one of them.
fn loss_at(ir: &Network, flat: &[f32], loss: Loss, device: &Device) -> (f64, Vec<f32>) {
    device.seed(5);
    let weights = network::initial_weights(ir, 3);
    let compiled = with_values(network::build(ir, &weights, device), flat, device);
    let objective = Objective::new(loss, device);
    let value = objective.forward(
        compiled.forward(inputs(device)),
        &targets(loss, ir.outputs, device),
    );
    let gradients = value.backward();
    let flat = flat_gradients(&compiled, &gradients);
    (value.into_scalar::<f64>(), flat)
}

/// Starting values: the seed's weights, and norm scales and shifts moved off 1 and 0 so that
/// every parameter's derivative is exercised away from its special initial value.
fn starting_values(ir: &Network, device: &Device) -> Vec<f32> {
    let weights = network::initial_weights(ir, 3);
    let mut flat = flatten(&network::build(ir, &weights, device));
    let mut random = Random::new(7);
    for value in flat.iter_mut() {
        *value += 0.05 * random.normal() as f32;
    }
    flat
}

fn shifted(flat: &[f32], direction: &[f32], step: f32) -> Vec<f32> {
    flat.iter()
        .zip(direction)
        .map(|(value, along)| value + step * along)
        .collect()
}

/// Relative error between autodiff's and finite differences' directional derivatives.
fn gradient_error(kinds: Vec<LayerKind>, loss: Loss) -> f64 {
    let device = device();
    let ir = ir_network(kinds);
    let weights = starting_values(&ir, &device);
    let (_, gradient) = loss_at(&ir, &weights, loss, &device);
    let mut random = Random::new(99);
    let direction: Vec<f32> = (0..gradient.len())
        .map(|_| random.normal() as f32)
        .collect();
    let analytic: f64 = gradient
        .iter()
        .zip(&direction)
        .map(|(g, d)| (*g as f64) * (*d as f64))
        .sum();
    let epsilon = 3e-3;
    let (plus, _) = loss_at(&ir, &shifted(&weights, &direction, epsilon), loss, &device);
    let (minus, _) = loss_at(&ir, &shifted(&weights, &direction, -epsilon), loss, &device);
    let numeric = (plus - minus) / (2.0 * epsilon as f64);
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(1e-3)
}

#[test]
fn every_layer_kind_backpropagates_correctly() {
    let hidden = |kind: LayerKind| {
        vec![
            dense(6, Activation::Identity),
            kind,
            dense(3, Activation::Identity),
        ]
    };
    let cases: Vec<(&str, Vec<LayerKind>)> = vec![
        ("dense", vec![dense(3, Activation::Identity)]),
        (
            "dense relu",
            vec![dense(6, Activation::Relu), dense(3, Activation::Identity)],
        ),
        (
            "tanh",
            hidden(LayerKind::Activation {
                activation: Activation::Tanh,
            }),
        ),
        (
            "sigmoid",
            hidden(LayerKind::Activation {
                activation: Activation::Sigmoid,
            }),
        ),
        (
            "gelu",
            hidden(LayerKind::Activation {
                activation: Activation::Gelu,
            }),
        ),
        (
            "leaky relu",
            hidden(LayerKind::Activation {
                activation: Activation::LeakyRelu { slope: 0.1 },
            }),
        ),
        (
            "softmax",
            hidden(LayerKind::Activation {
                activation: Activation::Softmax,
            }),
        ),
        (
            "silu",
            hidden(LayerKind::Activation {
                activation: Activation::Silu,
            }),
        ),
        (
            "elu",
            hidden(LayerKind::Activation {
                activation: Activation::Elu { alpha: 0.7 },
            }),
        ),
        ("dropout", hidden(LayerKind::Dropout { rate: 0.3 })),
        ("prelu", hidden(LayerKind::Prelu { initial_slope: 0.2 })),
        (
            "residual",
            hidden(LayerKind::Residual {
                layers: vec![
                    layer_shape(&dense(4, Activation::Tanh), 6),
                    layer_shape(&LayerKind::LayerNorm { epsilon: 1e-5 }, 4),
                    layer_shape(&dense(6, Activation::Identity), 4),
                ],
            }),
        ),
        (
            "batchnorm",
            hidden(LayerKind::BatchNorm {
                momentum: 0.1,
                epsilon: 1e-5,
            }),
        ),
        ("layernorm", hidden(LayerKind::LayerNorm { epsilon: 1e-5 })),
    ];
    let mut failures = Vec::new();
    for (name, kinds) in cases {
        let error = gradient_error(kinds, Loss::CrossEntropy);
        eprintln!("gradient check {name}: relative error {error:.1e}");
        if error > TOLERANCE {
            failures.push(format!("{name}: relative error {error:.2e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn every_loss_backpropagates_correctly() {
    let mut failures = Vec::new();
    for (loss, outputs) in [
        (Loss::CrossEntropy, 3),
        (Loss::BinaryCrossEntropy, 1),
        (Loss::Mse, 1),
        (Loss::Mae, 1),
        (Loss::Huber { delta: 0.5 }, 1),
    ] {
        let error = gradient_error(
            vec![
                dense(6, Activation::Tanh),
                dense(outputs, Activation::Identity),
            ],
            loss,
        );
        eprintln!("gradient check {loss:?}: relative error {error:.1e}");
        if error > TOLERANCE {
            failures.push(format!("{loss:?}: relative error {error:.2e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn a_wrong_gradient_would_be_caught() {
    // The check is sharp: a deliberately wrong derivative (autodiff's, doubled) fails it.
    let device = device();
    let ir = ir_network(vec![
        dense(4, Activation::Tanh),
        dense(3, Activation::Identity),
    ]);
    let weights = starting_values(&ir, &device);
    let (_, gradient) = loss_at(&ir, &weights, Loss::CrossEntropy, &device);
    let direction: Vec<f32> = gradient.iter().map(|g| g.signum()).collect();
    let doubled: f64 = gradient
        .iter()
        .zip(&direction)
        .map(|(g, d)| 2.0 * (*g as f64) * (*d as f64))
        .sum();
    let (plus, _) = loss_at(
        &ir,
        &shifted(&weights, &direction, 1e-2),
        Loss::CrossEntropy,
        &device,
    );
    let (minus, _) = loss_at(
        &ir,
        &shifted(&weights, &direction, -1e-2),
        Loss::CrossEntropy,
        &device,
    );
    let numeric = (plus - minus) / 2e-2;
    assert!((doubled - numeric).abs() / numeric.abs() > 0.5);
}

#[test]
fn compiled_forward_matches_a_hand_written_network() {
    let device = device().inner();
    let ir = ir_network(vec![
        dense(7, Activation::Relu),
        LayerKind::Activation {
            activation: Activation::Tanh,
        },
        dense(3, Activation::LeakyRelu { slope: 0.2 }),
    ]);
    let weights = network::initial_weights(&ir, 8);
    let compiled = network::build(&ir, &weights, &device);
    let x = inputs(&device);
    let tensor = |values: &[f32], shape: [usize; 2]| {
        Tensor::<2>::from_data(TensorData::new(values.to_vec(), shape), &device)
    };
    let w1 = tensor(&weights[0].weight, [INPUTS, 7]);
    let b1 = tensor(weights[0].bias.as_deref().expect("bias"), [1, 7]);
    let w2 = tensor(&weights[1].weight, [7, 3]);
    let b2 = tensor(weights[1].bias.as_deref().expect("bias"), [1, 3]);
    let hidden = activation::tanh(activation::relu(x.clone().matmul(w1) + b1));
    let expected = activation::leaky_relu(hidden.matmul(w2) + b2, 0.2);
    let actual = compiled.forward(x);
    let difference: f32 = (actual - expected).abs().max().into_scalar();
    assert!(difference < 1e-5, "max difference {difference}");
}
