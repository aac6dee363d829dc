//! Export of a trained network as safetensors, named and laid out as PyTorch's
//! `torch.nn.Sequential` of the same network names them, so that
//! `model.load_state_dict(safetensors.torch.load_file(path))` loads it.
//!
//! Every IR layer becomes one module of the sequence, and a dense layer with an activation
//! two (`Linear`, then the activation), so indices count activations and dropouts too:
//! `dense 128 relu, dropout 0.2, dense 10` is `Sequential(Linear(784, 128), ReLU(),
//! Dropout(p=0.2), Linear(128, 10))`, with tensors `0.weight` (`[out, in]`, PyTorch's layout;
//! burn keeps `[in, out]`), `0.bias`, `3.weight`, `3.bias`. Batch norm gives `weight`, `bias`,
//! `running_mean`, `running_var` and `num_batches_tracked`; layer norm `weight` and `bias`;
//! `prelu` is `PReLU(num_parameters=n)` with its slopes as `weight`. A residual block is one
//! module, `Residual(Sequential(...))`, its layers named `3.block.0.weight` and so on; PyTorch
//! has no such module, and three lines define it:
//! `class Residual(nn.Module): def __init__(self, block): super().__init__(); self.block = block`
//! and `def forward(self, x): return x + self.block(x)`.
//! The network outputs logits (the softmax or sigmoid is the loss's). The file's metadata holds
//! the model's IR (`mlpc_ir`), the sequence in PyTorch's words (`mlpc_sequential`), the class
//! names, the feature standardisation a caller must apply to inputs, and a regression's
//! target standardisation (`mlpc_target_standardization`: the network predicts
//! `(y - mean) / deviation`, so `y = output · deviation + mean`; `null` where the target is
//! not standardised).

use std::collections::HashMap;

use burn::tensor::Tensor;
use mlpc_ir::{Activation, LayerKind};
use safetensors::{Dtype, tensor::TensorView};

use crate::checkpoint::RunState;
use crate::network::{LayerModule, Network};

/// One exported tensor.
struct Named {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

fn floats<const D: usize>(tensor: Tensor<D>) -> (Vec<usize>, Vec<u8>) {
    let shape = tensor.dims().to_vec();
    let values = crate::network::values(tensor);
    (
        shape,
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect(),
    )
}

fn float(name: String, (shape, bytes): (Vec<usize>, Vec<u8>)) -> Named {
    Named {
        name,
        dtype: Dtype::F32,
        shape,
        bytes,
    }
}

/// PyTorch's module for an activation (`None` for the identity, which adds no module).
fn torch_activation(activation: &Activation) -> Option<String> {
    Some(match activation {
        Activation::Identity => return None,
        Activation::Relu => "ReLU()".into(),
        Activation::Tanh => "Tanh()".into(),
        Activation::Sigmoid => "Sigmoid()".into(),
        Activation::Gelu => "GELU()".into(),
        Activation::LeakyRelu { slope } => format!("LeakyReLU(negative_slope={slope})"),
        Activation::Softmax => "Softmax(dim=1)".into(),
        Activation::Silu => "SiLU()".into(),
        Activation::Elu { alpha } => format!("ELU(alpha={alpha})"),
    })
}

/// The safetensors file of a run's trained network, with its metadata.
pub fn safetensors(network: &Network, state: &RunState) -> Result<Vec<u8>, String> {
    let model = &state.model;
    let mut tensors: Vec<Named> = Vec::new();
    let mut modules: Vec<String> = Vec::new();
    export_layers(
        &model.network.layers,
        &network.layers,
        "",
        &mut tensors,
        &mut modules,
    )?;
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), "pt".to_string());
    metadata.insert("mlpc_ir".to_string(), json(model));
    metadata.insert(
        "mlpc_sequential".to_string(),
        format!("Sequential({})", modules.join(", ")),
    );
    metadata.insert("mlpc_class_names".to_string(), json(&state.class_names));
    metadata.insert(
        "mlpc_feature_standardization".to_string(),
        json(&state.feature_standardization),
    );
    metadata.insert("mlpc_feature_names".to_string(), json(&state.feature_names));
    metadata.insert(
        "mlpc_target_standardization".to_string(),
        json(&state.target_standardization),
    );
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|tensor| {
            TensorView::new(tensor.dtype, tensor.shape.clone(), &tensor.bytes)
                .map(|view| (tensor.name.clone(), view))
                .map_err(|error| error.to_string())
        })
        .collect::<Result<_, _>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|error| error.to_string())
}

/// JSON text of a value the metadata holds.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("metadata serialises")
}

/// The tensors and PyTorch modules of layers, named from `prefix` (`""`, or `3.block.` in a
/// residual block) and the modules' indices in their sequence.
fn export_layers(
    layers: &[mlpc_ir::Layer],
    network: &[LayerModule],
    prefix: &str,
    tensors: &mut Vec<Named>,
    modules: &mut Vec<String>,
) -> Result<(), String> {
    for (layer, module) in layers.iter().zip(network) {
        let index = modules.len();
        let name = |tensor: &str| format!("{prefix}{index}.{tensor}");
        match (&layer.kind, module) {
            (LayerKind::Dense { activation, .. }, LayerModule::Dense(dense)) => {
                let weight = dense.linear.weight.val().transpose();
                tensors.push(float(name("weight"), floats(weight)));
                if let Some(bias) = &dense.linear.bias {
                    tensors.push(float(name("bias"), floats(bias.val())));
                }
                modules.push(format!(
                    "Linear({}, {}, bias={})",
                    layer.inputs,
                    layer.outputs,
                    if dense.linear.bias.is_some() {
                        "True"
                    } else {
                        "False"
                    }
                ));
                modules.extend(torch_activation(activation));
            }
            (LayerKind::Activation { activation }, LayerModule::Activation(_)) => {
                // An identity layer still takes its place in the sequence.
                modules.push(torch_activation(activation).unwrap_or_else(|| "Identity()".into()));
            }
            (LayerKind::Residual { layers }, LayerModule::Residual(block)) => {
                let mut inner = Vec::new();
                export_layers(
                    layers,
                    &block.layers,
                    &format!("{prefix}{index}.block."),
                    tensors,
                    &mut inner,
                )?;
                modules.push(format!("Residual(Sequential({}))", inner.join(", ")));
            }
            (LayerKind::Prelu { initial_slope }, LayerModule::Prelu(prelu)) => {
                tensors.push(float(name("weight"), floats(prelu.alpha.val())));
                modules.push(format!(
                    "PReLU(num_parameters={}, init={initial_slope})",
                    layer.outputs
                ));
            }
            (LayerKind::Dropout { rate }, LayerModule::Dropout(_)) => {
                modules.push(format!("Dropout(p={rate})"));
            }
            (LayerKind::BatchNorm { momentum, epsilon }, LayerModule::BatchNorm(norm)) => {
                tensors.push(float(name("weight"), floats(norm.gamma.val())));
                tensors.push(float(name("bias"), floats(norm.beta.val())));
                tensors.push(float(
                    name("running_mean"),
                    floats(norm.running_mean.value()),
                ));
                tensors.push(float(name("running_var"), floats(norm.running_var.value())));
                tensors.push(Named {
                    name: name("num_batches_tracked"),
                    dtype: Dtype::I64,
                    shape: Vec::new(),
                    bytes: 0i64.to_le_bytes().to_vec(),
                });
                modules.push(format!(
                    "BatchNorm1d({}, eps={epsilon}, momentum={momentum})",
                    layer.outputs
                ));
            }
            (LayerKind::LayerNorm { epsilon }, LayerModule::LayerNorm(norm)) => {
                tensors.push(float(name("weight"), floats(norm.gamma.val())));
                if let Some(beta) = &norm.beta {
                    tensors.push(float(name("bias"), floats(beta.val())));
                }
                modules.push(format!("LayerNorm({}, eps={epsilon})", layer.outputs));
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
            ) => return Err("the saved network does not match its model".into()),
        }
    }
    Ok(())
}
