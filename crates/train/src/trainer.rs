//! The training loop: minibatch descent over the device-resident training set.
//!
//! Each epoch the training rows are put in a random order drawn from `(seed, epoch)` on the
//! host (so every backend sees the same batches and a resumed run the same order), sliced into
//! batches, and for each batch the step runs: forward, loss, backward, update with the
//! scheduled learning rate. Batch losses are summed on the device and read once per epoch, so
//! no step waits for the device. After each epoch the test split (and the validation split, if
//! any) is evaluated without autodiff and a checkpoint is written.
//!
//! [`train_in`] is three parts: [`start`] (a fresh run, or one resumed from its checkpoint),
//! [`train_epoch`] (one pass over the training rows) and [`report_epoch`] (evaluation into an
//! [`EpochReport`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Tensor;
use mlpc_data::random::Random;
use mlpc_data::{Splits, Standardization};
use mlpc_ir::Model;

use crate::backend::Backend;
use crate::checkpoint::{self, RunState};
use crate::device_data::DeviceSet;
use crate::epoch_report::{EpochReport, chosen};
use crate::error::{Kept, TrainError};
use crate::evaluate::evaluate;
use crate::network::Network;
use crate::objective::Objective;
use crate::step::{self, StepKind, Stepper};

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

/// What a training run tells its caller as it goes: each epoch's report, and, if asked, the
/// progress of each step (for a progress bar). A closure over `&EpochReport` is an observer
/// of epochs only.
pub trait Observer {
    /// After each epoch, with its report.
    fn epoch(&mut self, report: &EpochReport);

    /// Every how many steps [`step`](Self::step) should carry the epoch's running mean loss
    /// (reading it waits for the device); `None`: steps are not observed.
    fn step_interval(&self) -> Option<usize> {
        None
    }

    /// After each step, when [`step_interval`](Self::step_interval) is `Some`.
    fn step(&mut self, progress: &StepProgress) {
        let _ = progress;
    }

    /// A note for the user, said once (the step chosen could not run as asked).
    fn note(&mut self, text: &str) {
        let _ = text;
    }

    /// Whether training should stop now (asked after every step): it then ends with
    /// [`TrainError::Interrupted`], keeping the last whole epoch's checkpoint.
    fn interrupted(&self) -> bool {
        false
    }
}

impl<F: FnMut(&EpochReport)> Observer for F {
    fn epoch(&mut self, report: &EpochReport) {
        self(report)
    }
}

/// Where an epoch stands after a step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepProgress {
    /// 1-based epoch.
    pub epoch: usize,
    /// Epochs in all.
    pub epochs: usize,
    /// Steps done in this epoch.
    pub step: usize,
    /// Steps in this epoch.
    pub steps: usize,
    /// Examples trained on in this epoch so far.
    pub examples: usize,
    /// Seconds since the epoch began.
    pub seconds: f64,
    /// Mean training loss of the epoch so far, read every [`Observer::step_interval`] steps.
    pub running_loss: Option<f64>,
}

/// Trains a checked model on loaded data on a backend with its default step, calling
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
        StepKind::default_for(backend),
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
    observer: &mut dyn Observer,
) -> Result<Trained, TrainError> {
    let (kind, _) = step::resolve(requested, model, backend);
    crate::memory_budget::check(model, splits, backend, kind)?;
    if backend == Backend::Wgpu && crate::backend::kernel_store_was_empty() {
        observer.note(&format!(
            "mlpc's GPU kernels have not run for this user before: the first epoch and its evaluation include tuning and compiling them, kept in {} for later runs",
            crate::backend::kernel_cache_folder().display()
        ));
    }
    let Started {
        mut stepper,
        mut state,
    } = start(model, splits, backend, kind, folder)?;
    let device = backend.plain_device()?;
    let chunk_bytes = backend.chunk_bytes();
    // The rows the data's statistics left out (`mlpc_data::load_holding_out`).
    let rows = splits.train.len();
    let (train_rows, validation_rows) = match model.training.hold_out() {
        Some(hold_out) => {
            hold_out.check(rows)?;
            hold_out.split(rows)
        }
        None => ((0..rows).collect(), Vec::new()),
    };
    let train_set =
        DeviceSet::upload_rows(&splits.train, &train_rows, &stepper.device(), chunk_bytes);
    let validation_set = (!validation_rows.is_empty())
        .then(|| DeviceSet::upload_rows(&splits.train, &validation_rows, &device, chunk_bytes));
    let evaluation = Evaluator {
        test_set: DeviceSet::upload(&splits.test, &device, chunk_bytes),
        validation_set,
        objective: Objective::new(model.loss, &device),
        target_scale: splits.target_standardization,
    };
    let mut recorded = None;
    for epoch in state.completed_epochs..model.training.epochs {
        crate::fault::strike(epoch + 1);
        let kept = Kept {
            folder: folder.path.clone(),
            epochs: state.completed_epochs,
        };
        let trained = match &mut stepper {
            Stepper::Replay(step) => crate::replayed_epoch::train_epoch(
                model,
                step,
                &train_set,
                epoch,
                &state,
                &kept,
                observer,
                &mut recorded,
                chunk_bytes,
            )?,
            Stepper::Compiled(_) | Stepper::Autodiff { .. } => train_epoch(
                model,
                &mut stepper,
                &train_set,
                backend,
                epoch,
                &state,
                &kept,
                observer,
            )?,
        };
        state
            .history
            .push(report_epoch(model, &stepper, &evaluation, epoch, trained));
        state.completed_epochs = epoch + 1;
        if let Some(path) = &folder.path {
            let frozen = stepper.network();
            checkpoint::save(
                path,
                &frozen,
                |file| stepper.save_optimizer(file),
                &mut state,
            )?;
        }
        observer.epoch(state.history.last().expect("just pushed"));
    }
    Ok(Trained {
        network: stepper.network(),
        history: state.history,
        step: kind,
    })
}

/// A run ready to train: its step (with parameters and optimizer state) and its run state.
pub struct Started {
    /// The training step.
    pub stepper: Stepper,
    /// What a checkpoint writes: the model, the epochs done, their reports.
    pub state: RunState,
}

/// An error unless the run `saved` in the folder `path` is of `model` (but for its number of
/// epochs), naming what differs.
pub fn check_resumable(model: &Model, path: &Path, saved: &RunState) -> Result<(), TrainError> {
    let mut saved_model = saved.model.clone();
    saved_model.training.epochs = model.training.epochs;
    // Runs saved before a two-class generated set recorded its classes as 2 recorded 3, a
    // value its loader ignores: the same model.
    if let mlpc_data::Source::Generated { kind, classes, .. } = &mut saved_model.data {
        match kind {
            mlpc_data::GeneratedKind::Moons
            | mlpc_data::GeneratedKind::Circles
            | mlpc_data::GeneratedKind::Xor => *classes = 2,
            mlpc_data::GeneratedKind::Spiral | mlpc_data::GeneratedKind::Blobs => {}
        }
    }
    if saved_model == *model {
        return Ok(());
    }
    let as_json = |model: &Model| serde_json::to_value(model).expect("a model serialises");
    let mut found = Vec::new();
    differences(&as_json(&saved_model), &as_json(model), "", &mut found);
    if found.is_empty() {
        found.push("its settings differ".to_string());
    }
    let shown = found.len().min(3);
    let more = match found.len() - shown {
        0 => String::new(),
        more => format!(" and {more} more"),
    };
    Err(TrainError::Checkpoint {
        path: path.join("run.json"),
        message: format!(
            "it holds a run of a different model: {}{more} (only the number of epochs may change on resume)",
            found[..shown].join("; ")
        ),
    })
}

/// Where two JSON values differ, as `path: saved, now` phrases.
fn differences(
    saved: &serde_json::Value,
    now: &serde_json::Value,
    path: &str,
    found: &mut Vec<String>,
) {
    use serde_json::Value;
    let inner = |key: &str| match path {
        "" => key.to_string(),
        _ => format!("{path}.{key}"),
    };
    match (saved, now) {
        (Value::Object(saved), Value::Object(now)) if saved.keys().eq(now.keys()) => {
            for (key, value) in saved {
                differences(value, &now[key], &inner(key), found);
            }
        }
        (Value::Array(saved), Value::Array(now)) if saved.len() == now.len() => {
            for (index, (saved, now)) in saved.iter().zip(now).enumerate() {
                differences(saved, now, &inner(&index.to_string()), found);
            }
        }
        _ if saved == now => {}
        _ => found.push(format!("`{path}` is {saved} in the run and {now} now")),
    }
}

/// Starts a run: from the seed's initial weights, or, with `folder.resume`, from the folder's
/// last checkpoint (which must hold a run of the same model; only the number of epochs may
/// differ, and the learning-rate schedule keeps the horizon the run started with).
pub fn start(
    model: &Model,
    splits: &Splits,
    backend: Backend,
    kind: StepKind,
    folder: &RunFolder,
) -> Result<Started, TrainError> {
    let mut state = RunState {
        model: model.clone(),
        completed_epochs: 0,
        schedule_epochs: Some(model.training.epochs),
        checkpoint: String::new(),
        feature_standardization: splits.feature_standardization.clone(),
        target_standardization: splits.target_standardization,
        class_names: splits.class_names.clone(),
        feature_names: splits.feature_names.clone(),
        history: Vec::new(),
    };
    let mut checkpoint_files = None;
    if let (Some(path), true) = (&folder.path, folder.resume) {
        let saved = checkpoint::read_state(path)?;
        check_resumable(model, path, &saved)?;
        checkpoint_files = Some(checkpoint::files(path, &saved));
        state.completed_epochs = saved.history.len();
        state.schedule_epochs = Some(saved.schedule_epochs.unwrap_or(saved.model.training.epochs));
        state.history = saved.history;
    }
    let stepper = Stepper::new(
        kind,
        model,
        backend,
        checkpoint_files
            .as_ref()
            .map(|(network, optimizer)| (network.as_path(), optimizer.as_path())),
    )?;
    Ok(Started { stepper, state })
}

/// What one epoch of steps did, before evaluation.
pub struct EpochTrained {
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Learning rate at the epoch's last step.
    pub learning_rate: f64,
    /// Wall time of the epoch's steps.
    pub seconds: f64,
    /// Training examples.
    pub rows: usize,
}

/// The losses of the steps since the last divergence check, kept on the device and read
/// only when their running sum is not finite, to name the first bad step.
struct DivergenceWatch {
    /// Every how many steps the running sum is read (a device sync on a GPU).
    interval: usize,
    /// The first step (0-based) of `losses`.
    first: usize,
    /// The batch losses since `first`, with their learning rates.
    losses: Vec<(Tensor<1>, f64)>,
    /// The 0-based epoch, and the checkpoint on disk, for the error.
    epoch: usize,
    kept: Kept,
}

impl DivergenceWatch {
    /// Notes step `step`'s loss; every `interval` steps (and at the epoch's last step) reads
    /// the epoch's running `sum` and, if it is not finite, finds the first bad step.
    fn check(
        &mut self,
        step: usize,
        steps: usize,
        loss: &Tensor<1>,
        rate: f64,
        sum: &Tensor<1>,
    ) -> Result<(), TrainError> {
        self.losses.push((loss.clone(), rate));
        if self.losses.len() < self.interval && step + 1 < steps {
            return Ok(());
        }
        let losses = std::mem::take(&mut self.losses);
        let first = std::mem::replace(&mut self.first, step + 1);
        if sum.clone().into_scalar::<f64>().is_finite() {
            return Ok(());
        }
        for (offset, (loss, rate)) in losses.into_iter().enumerate() {
            let value = loss.into_scalar::<f64>();
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch: self.epoch + 1,
                    step: first + offset + 1,
                    steps,
                    value,
                    rate,
                    kept: self.kept.clone(),
                });
            }
        }
        // The sum overflowed though every batch's loss is finite.
        Err(TrainError::Diverged {
            epoch: self.epoch + 1,
            step: step + 1,
            steps,
            value: f64::INFINITY,
            rate,
            kept: self.kept.clone(),
        })
    }
}

/// One pass over the training rows, in the epoch's order, one step per batch. Stops after
/// the step whose loss is NaN or infinite (checked every step on the CPU, every
/// [`Backend::divergence_interval`] steps elsewhere, naming the exact step), or after the
/// step during which the observer asked to stop; either error names `kept`, the checkpoint
/// left on disk.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch(
    model: &Model,
    stepper: &mut Stepper,
    train_set: &DeviceSet,
    backend: Backend,
    epoch: usize,
    state: &RunState,
    kept: &Kept,
    observer: &mut dyn Observer,
) -> Result<EpochTrained, TrainError> {
    let training = &model.training;
    let started = Instant::now();
    let rows = train_set.len();
    let batch_size = training.batch_size.min(rows.max(1));
    let steps = rows.div_ceil(batch_size);
    let initial_rate = model.optimizer.learning_rate();
    let horizon = state.schedule_epochs.unwrap_or(training.epochs);
    // Seeded per epoch, so that a resumed run draws the same dropout masks.
    stepper
        .device()
        .seed(training.seed.wrapping_add(epoch as u64));
    let order = epoch_order(training, epoch, rows);
    let epoch_set = (!backend.gathers_per_step()).then(|| train_set.permuted(&order, batch_size));
    let mut loss_sum: Option<Tensor<1>> = None;
    let mut rate = initial_rate;
    let mut watch = DivergenceWatch {
        interval: backend.divergence_interval(),
        first: 0,
        losses: Vec::new(),
        epoch,
        kept: kept.clone(),
    };
    for step in 0..steps {
        // Asked before each step: a stop asked during an epoch's last step lets that epoch
        // finish, be evaluated and be saved.
        if observer.interrupted() {
            return Err(TrainError::Interrupted {
                epoch: epoch + 1,
                step,
                steps,
                kept: kept.clone(),
            });
        }
        let start = step * batch_size;
        let length = batch_size.min(rows - start);
        let (features, targets) = match &epoch_set {
            Some(permuted) => permuted.range(start, length),
            None => train_set.gather(&order[start..start + length]),
        };
        rate = step_rate(model, horizon, epoch, step, steps);
        let batch_loss = stepper.step(features, &targets, rate, batch_size);
        let sum = match loss_sum {
            Some(sum) => sum + batch_loss.clone(),
            None => batch_loss.clone(),
        };
        watch.check(step, steps, &batch_loss, rate, &sum)?;
        if let Some(interval) = observer.step_interval() {
            let done = start + length;
            let running_loss = ((step + 1) % interval.max(1) == 0)
                .then(|| sum.clone().into_scalar::<f64>() / done as f64);
            observer.step(&StepProgress {
                epoch: epoch + 1,
                epochs: training.epochs,
                step: step + 1,
                steps,
                examples: done,
                seconds: started.elapsed().as_secs_f64(),
                running_loss,
            });
        }
        loss_sum = Some(sum);
    }
    let train_loss = loss_sum.map_or(f64::NAN, |sum| {
        sum.into_scalar::<f64>() / rows.max(1) as f64
    });
    Ok(EpochTrained {
        train_loss,
        learning_rate: rate,
        seconds: started.elapsed().as_secs_f64(),
        rows,
    })
}

/// The order of the training rows in `epoch` (0-based): a permutation drawn from the seed
/// and the epoch where the model shuffles, so every step kind and a resumed run see the same
/// batches.
pub fn epoch_order(training: &mlpc_ir::Training, epoch: usize, rows: usize) -> Vec<usize> {
    if training.shuffle {
        Random::new(
            training
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64),
        )
        .permutation(rows)
    } else {
        (0..rows).collect()
    }
}

/// The scheduled learning rate of step `step` of `steps` in `epoch` (0-based), of a schedule
/// over `horizon` epochs.
pub fn step_rate(model: &Model, horizon: usize, epoch: usize, step: usize, steps: usize) -> f64 {
    model.schedule.rate(
        model.optimizer.learning_rate(),
        epoch as f64 + step as f64 / steps as f64,
        horizon,
    )
}

/// The evaluation sets of a run, on the plain device.
pub struct Evaluator {
    /// The test split.
    pub test_set: DeviceSet,
    /// The validation rows held out of training, if any.
    pub validation_set: Option<DeviceSet>,
    /// The loss, without autodiff.
    pub objective: Objective,
    /// How a regression target was standardised (metrics are reported in its units).
    pub target_scale: Option<Standardization>,
}

/// Evaluates the network after an epoch and makes the epoch's report.
pub fn report_epoch(
    model: &Model,
    stepper: &Stepper,
    evaluator: &Evaluator,
    epoch: usize,
    trained: EpochTrained,
) -> EpochReport {
    let scale = evaluator.target_scale;
    let metrics = &model.training.metrics;
    let frozen = stepper.network();
    let test = chosen(
        evaluate(&frozen, &evaluator.test_set, &evaluator.objective, scale),
        metrics,
    );
    let validation = evaluator
        .validation_set
        .as_ref()
        .map(|set| chosen(evaluate(&frozen, set, &evaluator.objective, scale), metrics));
    EpochReport {
        epoch: epoch + 1,
        epochs: model.training.epochs,
        train_loss: trained.train_loss,
        test_loss: test.loss,
        test_accuracy: test.accuracy,
        test_rmse: test.rmse,
        test_mae: test.mae,
        test_r2: test.r2,
        validation,
        learning_rate: trained.learning_rate,
        seconds: trained.seconds,
        samples_per_sec: trained.rows as f64 / trained.seconds.max(1e-9),
    }
}
