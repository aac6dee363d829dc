//! The training loop: minibatch descent over the device-resident training set.
//!
//! Each epoch the training rows are put in a random order drawn from `(seed, epoch)` on the
//! host (so every backend sees the same batches and a resumed run the same order), sliced into
//! batches, and for each batch: forward, loss, backward, optimizer step with the scheduled
//! learning rate. Batch losses are summed on the device and read once per epoch, so no step
//! waits for the device. After each epoch the test split (and the validation split, if any)
//! is evaluated without autodiff.

use std::time::Instant;

use burn::tensor::Tensor;
use mlpc_data::random::Random;
use mlpc_data::{Splits, Standardization};
use mlpc_ir::Model;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::checkpoint;
use crate::device_data::DeviceSet;
use crate::error::TrainError;
use crate::evaluate::{Evaluation, evaluate};
use crate::network::Network;
use crate::objective::Objective;
use crate::step::{self, StepKind, Stepper};

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Mean test loss.
    pub test_loss: f64,
    /// Test accuracy (classification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_accuracy: Option<f64>,
    /// Test RMSE in the target's units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_rmse: Option<f64>,
    /// Test MAE in the target's units (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mae: Option<f64>,
    /// Test R² (regression).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_r2: Option<f64>,
    /// Validation loss and metrics, when a validation split is held out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<Evaluation>,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's training (not its evaluation).
    pub seconds: f64,
    /// Training examples per second.
    pub samples_per_sec: f64,
}

/// A trained network and its history.
pub struct Trained {
    /// The network, without autodiff.
    pub network: Network,
    /// One report per epoch.
    pub history: Vec<EpochReport>,
    /// The step that trained it.
    pub step: StepKind,
}

/// Where a run keeps its checkpoints, and whether it goes on from them.
#[derive(Debug, Clone, Default)]
pub struct RunFolder {
    /// The folder; `None` keeps nothing on disk.
    pub path: Option<PathBuf>,
    /// Go on from the folder's last checkpoint instead of starting afresh.
    pub resume: bool,
}

/// Trains a checked model on loaded data on a backend with the default step, calling
/// `on_epoch` after each epoch.
pub fn train(
    model: &Model,
    splits: &Splits,
    backend: Backend,
    mut on_epoch: impl FnMut(&EpochReport),
) -> Result<Trained, TrainError> {
    train_in(
        model,
        splits,
        backend,
        StepKind::default(),
        &RunFolder::default(),
        &mut on_epoch,
    )
}

/// [`train`] with a choice of step and a run folder: a checkpoint after each epoch, and
/// resumption from the last. A compiled step that does not cover the model runs on autodiff
/// ([`step::resolve`] says why).
pub fn train_in(
    model: &Model,
    splits: &Splits,
    backend: Backend,
    requested: StepKind,
    folder: &RunFolder,
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<Trained, TrainError> {
    let training = &model.training;
    let (kind, _) = step::resolve(requested, model);
    let device = &backend.plain_device()?;
    let chunk_bytes = backend.chunk_bytes();
    let mut history: Vec<EpochReport> = Vec::new();
    let mut checkpoint_files = None;
    if let (Some(path), true) = (&folder.path, folder.resume) {
        let saved_state = checkpoint::read_state(path)?;
        let mut saved = saved_state.model.clone();
        saved.training.epochs = model.training.epochs;
        if saved != *model {
            return Err(TrainError::Checkpoint {
                path: path.join("run.json"),
                message: "it holds a run of a different model (only the number of epochs may change on resume)".into(),
            });
        }
        checkpoint_files = Some(checkpoint::files(path, &saved_state));
        history = saved_state.history;
    }
    let mut stepper = Stepper::new(
        kind,
        model,
        backend,
        checkpoint_files
            .as_ref()
            .map(|(network, optimizer)| (network.as_path(), optimizer.as_path())),
    )?;
    let step_device = stepper.device();
    // The run state owns the history: it is what a checkpoint writes.
    let mut state = checkpoint::RunState {
        model: model.clone(),
        completed_epochs: history.len(),
        checkpoint: String::new(),
        feature_standardization: splits.feature_standardization.clone(),
        target_standardization: splits.target_standardization,
        class_names: splits.class_names.clone(),
        history,
    };

    let (train_rows, validation_rows) =
        split_validation(splits.train.len(), training.validation, training.seed);
    let train_set = DeviceSet::upload(&splits.train.select(&train_rows), &step_device, chunk_bytes);
    let validation_set = (!validation_rows.is_empty())
        .then(|| DeviceSet::upload(&splits.train.select(&validation_rows), device, chunk_bytes));
    let test_set = DeviceSet::upload(&splits.test, device, chunk_bytes);
    let evaluation_objective = Objective::new(model.loss, device);
    let target_scale: Option<Standardization> = splits.target_standardization;

    let rows = train_set.len();
    let batch_size = training.batch_size.min(rows.max(1));
    let steps = rows.div_ceil(batch_size);
    let initial_rate = model.optimizer.learning_rate();
    for epoch in state.completed_epochs..training.epochs {
        let started = Instant::now();
        // Seeded per epoch, so that a resumed run draws the same dropout masks.
        step_device.seed(training.seed.wrapping_add(epoch as u64));
        let order: Vec<usize> = if training.shuffle {
            Random::new(
                training
                    .seed
                    .wrapping_mul(1_000_003)
                    .wrapping_add(epoch as u64),
            )
            .permutation(rows)
        } else {
            (0..rows).collect()
        };
        let epoch_set =
            (!backend.gathers_per_step()).then(|| train_set.permuted(&order, batch_size));
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut rate = initial_rate;
        for step in 0..steps {
            let start = step * batch_size;
            let length = batch_size.min(rows - start);
            let (features, targets) = match &epoch_set {
                Some(permuted) => permuted.range(start, length),
                None => train_set.gather(&order[start..start + length]),
            };
            rate = model.schedule.rate(
                initial_rate,
                epoch as f64 + step as f64 / steps as f64,
                training.epochs,
            );
            let batch_loss = stepper.step(features, &targets, rate);
            loss_sum = Some(match loss_sum {
                Some(sum) => sum + batch_loss,
                None => batch_loss,
            });
        }
        let train_loss = loss_sum.map_or(f64::NAN, |sum| {
            sum.into_scalar::<f64>() / rows.max(1) as f64
        });
        let seconds = started.elapsed().as_secs_f64();
        if !train_loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch: epoch + 1,
                value: train_loss,
            });
        }
        let report = {
            let frozen = stepper.network();
            let test = evaluate(&frozen, &test_set, &evaluation_objective, target_scale);
            let validation = validation_set
                .as_ref()
                .map(|set| evaluate(&frozen, set, &evaluation_objective, target_scale));
            state.completed_epochs = epoch + 1;
            EpochReport {
                epoch: epoch + 1,
                epochs: training.epochs,
                train_loss,
                test_loss: test.loss,
                test_accuracy: test.accuracy,
                test_rmse: test.rmse,
                test_mae: test.mae,
                test_r2: test.r2,
                validation,
                learning_rate: rate,
                seconds,
                samples_per_sec: rows as f64 / seconds.max(1e-9),
            }
        };
        state.history.push(report);
        if let Some(path) = &folder.path {
            let frozen = stepper.network();
            checkpoint::save(
                path,
                &frozen,
                |file| stepper.save_optimizer(file),
                &mut state,
            )?;
        }
        on_epoch(state.history.last().expect("just pushed"));
    }
    Ok(Trained {
        network: stepper.network(),
        history: state.history,
        step: kind,
    })
}

/// Splits training row numbers into train and validation rows (a seeded random fraction).
fn split_validation(rows: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    if fraction <= 0.0 {
        return ((0..rows).collect(), Vec::new());
    }
    let order = Random::new(seed ^ 0x0A11_DA7E).permutation(rows);
    let held_out = ((rows as f64) * fraction).round() as usize;
    (order[held_out..].to_vec(), order[..held_out].to_vec())
}
