//! One epoch with the replayed step ([`crate::compiled::replay`]): the same batches, in the
//! same order, at the same learning rates as [`crate::trainer::train_epoch`], in segments.
//!
//! The training rows are permuted on the device once per epoch into chunks of whole batches;
//! each chunk's full batches are one segment, recorded once and replayed. A short last batch
//! (rows not divisible by the batch size) runs as an eager compiled step on the same
//! parameters, its updates in place as a replay's are, and padded to the full batch's rows
//! ([`CompiledStep::short_step`]; the loss and batch norm count the short batch's rows only):
//! it then runs the replayed step's products, where a product of another shape, or fused with
//! other operations, would be tuned and compiled anew in the first epoch. Each segment's losses are read when it ends: the epoch's loss, and the exact
//! step a divergence began at. An interrupt is honoured between replays, after a whole step.

use std::time::Instant;

use mlpc_ir::Model;

use crate::checkpoint::RunState;
use crate::compiled::CompiledStep;
use crate::compiled::replay::{self, Segment};
use crate::compiled::scalar::StepRow;
use crate::compiled::update::{UpdateRule, Updates};
use crate::device_data::DeviceSet;
use crate::error::{Kept, TrainError};
use crate::trainer::{EpochTrained, Observer, StepProgress, epoch_order, step_rate};

/// Where the epoch stands, for progress, interrupts and errors.
struct Place<'a> {
    epoch: usize,
    epochs: usize,
    steps: usize,
    batch_size: usize,
    rows: usize,
    started: Instant,
    kept: &'a Kept,
}

impl Place<'_> {
    fn progress(&self, step: usize, running_loss: Option<f64>) -> StepProgress {
        StepProgress {
            epoch: self.epoch + 1,
            epochs: self.epochs,
            step,
            steps: self.steps,
            examples: (step * self.batch_size).min(self.rows),
            seconds: self.started.elapsed().as_secs_f64(),
            running_loss,
        }
    }

    fn interrupted(&self, step: usize) -> TrainError {
        TrainError::Interrupted {
            epoch: self.epoch + 1,
            step,
            steps: self.steps,
            kept: self.kept.clone(),
        }
    }

    /// The error for batch losses (the first at 0-based step `first`), if one is not finite.
    fn diverged(&self, first: usize, losses: &[f64], rates: &[f64]) -> Result<(), TrainError> {
        match losses.iter().position(|loss| !loss.is_finite()) {
            Some(offset) => Err(TrainError::Diverged {
                epoch: self.epoch + 1,
                step: first + offset + 1,
                steps: self.steps,
                value: losses[offset],
                rate: rates[first + offset],
                kept: self.kept.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// One pass over the training rows with the replayed step. `recorded` is set, once per run,
/// to whether the backend replayed from recordings (it stays unset while no segment was long
/// enough), and the observer is told once when it did not;
/// `chunk_bytes` is the largest tensor the backend stores in one piece.
#[allow(clippy::too_many_arguments)]
pub fn train_epoch(
    model: &Model,
    step: &mut CompiledStep,
    train_set: &DeviceSet,
    epoch: usize,
    state: &RunState,
    kept: &Kept,
    observer: &mut dyn Observer,
    recorded: &mut Option<bool>,
    chunk_bytes: usize,
) -> Result<EpochTrained, TrainError> {
    let training = &model.training;
    let rows = train_set.len();
    let batch_size = training.batch_size.min(rows.max(1));
    let steps = rows.div_ceil(batch_size);
    let place = Place {
        epoch,
        epochs: training.epochs,
        steps,
        batch_size,
        rows,
        started: Instant::now(),
        kept,
    };
    let horizon = state.schedule_epochs.unwrap_or(training.epochs);
    let rates: Vec<f64> = (0..steps)
        .map(|index| step_rate(model, horizon, epoch, index, steps))
        .collect();
    // Seeded per epoch as the other steps are (the dropout pools are drawn from it).
    step.device().seed(training.seed.wrapping_add(epoch as u64));
    let order = epoch_order(training, epoch, rows);
    let permuted = train_set.permuted(&order, batch_size);
    // A segment's dropout pools hold a mask per step: no pool may exceed a chunk's bytes (a
    // wgpu buffer's limit), so a chunk's batches may take several segments.
    let dropouts = step.dropouts();
    let longest = dropouts
        .layers
        .iter()
        .map(|&(_, width)| (chunk_bytes / (batch_size * width.max(1) * 4)).max(1))
        .min()
        .unwrap_or(usize::MAX);
    let mut loss_sum = 0.0;
    let mut done = 0;
    let step_interval = observer.step_interval();
    for chunk in 0..permuted.chunk_count() {
        let chunk_start = chunk * permuted.chunk_rows();
        let chunk_length = permuted.chunk_rows().min(rows - chunk_start);
        let full = chunk_length / batch_size;
        let mut segment_start = 0;
        while segment_start < full {
            let length = longest.min(full - segment_start);
            if observer.interrupted() {
                return Err(place.interrupted(done));
            }
            let (features, targets) =
                permuted.chunk_rows_at(chunk, segment_start * batch_size, length * batch_size);
            segment_start += length;
            let first_time = UpdateRule::next_time(step.parameters());
            let table: Vec<StepRow> = (0..length)
                .map(|offset| {
                    StepRow::new(step.optimizer(), rates[done + offset], first_time + offset)
                })
                .collect();
            let segment = Segment::new(
                features,
                targets,
                batch_size,
                step.optimizer(),
                &table,
                &dropouts,
            );
            let first = done;
            // Once a device has been seen not to record, later segments do not try again.
            let record = *recorded != Some(false);
            let outcome = replay::run(step, segment, record, &mut |ran| {
                if step_interval.is_some() {
                    observer.step(&place.progress(first + ran, None));
                }
                !observer.interrupted()
            })
            .map_err(|lost| TrainError::Backend {
                message: format!(
                    "replayed training steps did not all land: {} were dispatched but the device counted {}",
                    lost.dispatched, lost.counted
                ),
                hint: "train with `--step compiled`, which does not replay recorded steps".into(),
            })?;
            if outcome.steps >= replay::SHORTEST_RECORDED && recorded.is_none() {
                *recorded = Some(outcome.recorded);
                if !outcome.recorded {
                    observer.note(
                        "kernel launches could not be recorded on this device: the replay step runs the compiled step at every batch",
                    );
                }
            }
            let losses: Vec<f64> = outcome
                .losses
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap_or_default();
            let losses = &losses[..outcome.steps.min(losses.len())];
            place.diverged(first, losses, &rates)?;
            loss_sum += losses.iter().sum::<f64>();
            done += outcome.steps;
            if step_interval.is_some() {
                let examples = done * batch_size;
                observer.step(&place.progress(done, Some(loss_sum / examples as f64)));
            }
            if outcome.steps < length {
                return Err(place.interrupted(done));
            }
        }
        if chunk_length > full * batch_size {
            // The epoch's short last batch.
            if observer.interrupted() {
                return Err(place.interrupted(done));
            }
            let start = chunk_start + full * batch_size;
            let (features, targets) = permuted.range(start, chunk_length - full * batch_size);
            let loss = step
                .short_step(
                    features,
                    &targets,
                    rates[done],
                    batch_size,
                    Updates::InPlace,
                )
                .into_scalar::<f64>();
            place.diverged(done, &[loss], &rates)?;
            loss_sum += loss;
            done += 1;
        }
    }
    Ok(EpochTrained {
        train_loss: loss_sum / rows.max(1) as f64,
        learning_rate: rates
            .last()
            .copied()
            .unwrap_or(model.optimizer.learning_rate()),
        seconds: place.started.elapsed().as_secs_f64(),
        rows,
    })
}
