//! Predictions of a saved model on new inputs (`mlpc predict`): the inputs are standardised
//! with the training run's statistics (never their own), the network runs without autodiff in
//! batches, and its outputs become what the model was trained to give: class probabilities
//! (softmax of the logits for cross-entropy, the sigmoid for binary cross-entropy) with each
//! class's original label, or a value in the target's own units.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData, activation};
use mlpc_data::inputs::Inputs;
use mlpc_ir::Loss;

use crate::checkpoint::{RunState, files, load_network};
use crate::error::TrainError;
use crate::network::Network;

/// Rows per forward pass.
const BATCH: usize = 4096;

/// One input row's prediction.
#[derive(Debug, Clone, PartialEq)]
pub enum Prediction {
    /// A class: its label and every class's probability, in class order.
    Class {
        /// The most probable class's label.
        label: String,
        /// `(label, probability)` for every class.
        probabilities: Vec<(String, f64)>,
    },
    /// A regression value, in the target's units.
    Value(f64),
}

/// Predicts every row of `inputs` with the network a run folder saved.
pub fn predict(
    folder: &Path,
    state: &RunState,
    inputs: &Inputs,
    backend: crate::Backend,
) -> Result<Vec<Prediction>, TrainError> {
    let mut features = inputs.features.clone();
    if let Some(statistics) = &state.feature_standardization {
        mlpc_data::Standardization::apply_to_rows(statistics, &mut features);
    }
    let prepared = Inputs {
        features,
        width: inputs.width,
    };
    predict_prepared(folder, state, &prepared, backend)
}

/// [`predict`] on inputs already standardised as training's were (a loaded data set's).
pub fn predict_prepared(
    folder: &Path,
    state: &RunState,
    inputs: &Inputs,
    backend: crate::Backend,
) -> Result<Vec<Prediction>, TrainError> {
    let (network, device) = load_saved(folder, state, backend)?;
    Ok(predict_with(&network, &device, state, inputs))
}

/// The network a run folder saved, on `backend`'s device without autodiff, and that device
/// (to predict with it several times: [`predict_with`]).
pub fn load_saved(
    folder: &Path,
    state: &RunState,
    backend: crate::Backend,
) -> Result<(Network, Device), TrainError> {
    let device = backend.plain_device()?;
    let network = load_network(&state.model, &device, &files(folder, state).0)?;
    Ok((network, device))
}

/// [`predict_prepared`] with a network already loaded ([`load_saved`]).
pub fn predict_with(
    network: &Network,
    device: &Device,
    state: &RunState,
    inputs: &Inputs,
) -> Vec<Prediction> {
    let model = &state.model;
    let width = inputs.width;
    let features = &inputs.features;
    let labels: Vec<String> = match &state.class_names {
        Some(names) => names.clone(),
        None => (0..model.network.outputs.max(2))
            .map(|class| class.to_string())
            .collect(),
    };
    let mut predictions = Vec::with_capacity(inputs.rows());
    for chunk in features.chunks(BATCH * width.max(1)) {
        let rows = chunk.len() / width.max(1);
        let batch: Tensor<2> =
            Tensor::from_data(TensorData::new(chunk.to_vec(), [rows, width]), device);
        let output = network.forward(batch);
        let [_, outputs] = output.dims();
        let values: Vec<f32> = match model.loss {
            Loss::CrossEntropy => activation::softmax(output, 1),
            Loss::BinaryCrossEntropy => {
                let positive = activation::sigmoid(output);
                Tensor::cat(vec![positive.clone().neg().add_scalar(1.0), positive], 1)
            }
            Loss::Mse | Loss::Mae | Loss::Huber { .. } => output,
        }
        .into_data()
        .try_to_vec::<f32>()
        .expect("the network's outputs are f32");
        let per_row = if model.loss == Loss::BinaryCrossEntropy {
            2
        } else {
            outputs
        };
        for row in values.chunks(per_row) {
            predictions.push(match model.loss {
                Loss::CrossEntropy | Loss::BinaryCrossEntropy => {
                    let best = row
                        .iter()
                        .enumerate()
                        .max_by(|left, right| left.1.total_cmp(right.1))
                        .map_or(0, |(index, _)| index);
                    Prediction::Class {
                        label: labels
                            .get(best)
                            .cloned()
                            .unwrap_or_else(|| best.to_string()),
                        probabilities: row
                            .iter()
                            .enumerate()
                            .map(|(class, &probability)| {
                                let label = labels
                                    .get(class)
                                    .cloned()
                                    .unwrap_or_else(|| class.to_string());
                                (label, probability as f64)
                            })
                            .collect(),
                    }
                }
                Loss::Mse | Loss::Mae | Loss::Huber { .. } => {
                    let value = row[0] as f64;
                    Prediction::Value(match state.target_standardization {
                        Some(scale) => value * scale.deviation + scale.mean,
                        None => value,
                    })
                }
            });
        }
    }
    predictions
}
