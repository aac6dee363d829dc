//! The checker: from a parsed [`File`] to a [`Model`], or every error found.
//!
//! 1. Top-level statements are matched to sections and their arguments bound against the
//!    vocabulary's rows, which build the loss, optimizer, schedule, data source and training
//!    settings ([`crate::sections`]).
//! 2. The data source is inspected (`mlpc-data`) for the input width and the task.
//! 3. Layers are bound ([`crate::network`]), shapes inferred through the network
//!    ([`crate::shape`]), and the memory training takes estimated ([`crate::memory`]).
//! 4. The loss is checked against the task and the last layer's width; metrics against the task.
//!
//! Errors are collected, never returned early: one run reports everything it can see.

use std::path::Path;

use mlpc_syntax::Span;
use mlpc_syntax::ast::File;

use crate::bind::Binder;
use crate::error::CheckError;
use crate::memory::{MAX_TRAINING_BYTES, MemoryEstimate, heaviest_layer};
use crate::model::*;
use crate::sections::{Sections, default_training};
use crate::shape::Inferred;

/// Checks a parsed file. `model_path` is the file's path: data paths are relative to its folder,
/// and its stem is the default model name.
pub fn check(file: &File, model_path: &Path) -> Result<Model, Vec<CheckError>> {
    let mut binder = Binder::new(model_path.parent().unwrap_or(Path::new("")));
    let sections = Sections::collect(file, &mut binder);

    let name = sections.name.clone().unwrap_or_else(|| {
        model_path.file_stem().map_or("model".to_string(), |stem| {
            stem.to_string_lossy().into_owned()
        })
    });
    let schema = sections.data.as_ref().and_then(|(source, span)| {
        mlpc_data::inspect(source)
            .map_err(|error| binder.errors.push(CheckError::Data { error, span: *span }))
            .ok()
    });
    let task = schema.as_ref().map(|schema| match &schema.target {
        mlpc_data::TargetKind::Classes { count, names } => Task::Classification {
            classes: *count,
            class_names: names.clone(),
        },
        mlpc_data::TargetKind::Regression { name } => Task::Regression {
            target: name.clone(),
        },
    });
    if let (Some(Task::Classification { classes, .. }), Some((_, span))) = (&task, &sections.data)
        && *classes < 2
    {
        binder.errors.push(CheckError::OneClass {
            classes: *classes,
            span: *span,
        });
    }
    // Every training setting has a default, so `train { }` always binds.
    let (training, metrics_span) = sections
        .train
        .unwrap_or_else(|| (default_training(&mut binder), None));
    let (schedule, schedule_span) = sections
        .schedule
        .map_or((Schedule::Constant, None), |(schedule, span)| {
            (schedule, Some(span))
        });
    if let (Some(optimizer), Some(span)) = (&sections.optimizer, schedule_span) {
        binder
            .errors
            .extend(check_schedule(schedule, optimizer.learning_rate(), span));
    }

    let inferred = sections.network.map(|statement| {
        let written = crate::network::bind_layers(statement, &mut binder);
        crate::shape::infer(
            written,
            schema.as_ref().map(|schema| schema.features),
            &mut binder.errors,
        )
    });
    if let (Some(inferred), Some(optimizer)) = (&inferred, &sections.optimizer)
        && inferred.complete
    {
        binder
            .errors
            .extend(check_memory(inferred, optimizer, training.batch_size));
    }

    let (
        Some((data, _)),
        Some(task),
        Some(inferred),
        Some((loss, loss_span)),
        Some(optimizer),
        Some(network_statement),
    ) = (
        sections.data,
        task,
        inferred,
        sections.loss,
        sections.optimizer,
        sections.network,
    )
    else {
        return Err(binder.errors);
    };
    let network = crate::shape::fit_output(
        inferred,
        &task,
        loss,
        loss_span,
        network_statement,
        &mut binder.errors,
    );
    let training = check_metrics(training, &task, metrics_span, &mut binder.errors);
    if !binder.errors.is_empty() {
        return Err(binder.errors);
    }
    Ok(Model {
        name,
        data,
        task,
        network,
        loss,
        optimizer,
        schedule,
        training,
    })
}

/// The error for a schedule that would raise the learning rate `rate` it starts from: a
/// cosine whose floor is above it.
pub fn check_schedule(schedule: Schedule, rate: f64, span: Span) -> Option<CheckError> {
    match schedule {
        Schedule::Cosine { min_lr } if min_lr > rate => {
            Some(CheckError::FloorAboveRate { min_lr, rate, span })
        }
        Schedule::Cosine { .. }
        | Schedule::Constant
        | Schedule::Step { .. }
        | Schedule::Exponential { .. } => None,
    }
}

/// The error for a network over [`MAX_TRAINING_BYTES`], pointing at the layer that takes the
/// most.
fn check_memory(
    inferred: &Inferred,
    optimizer: &Optimizer,
    batch_size: usize,
) -> Option<CheckError> {
    let estimate = MemoryEstimate::of(&inferred.network, optimizer, batch_size);
    if estimate.bytes() <= MAX_TRAINING_BYTES {
        return None;
    }
    let index = heaviest_layer(&inferred.network, &estimate)?;
    let layer = &inferred.network.layers[index];
    Some(CheckError::TooLarge {
        estimate,
        span: inferred.layer_spans[index],
        layer_parameters: layer.parameters as u64,
        layer_outputs: layer.outputs as u64,
    })
}

/// Whether a metric is one of classification (or of regression).
fn is_classification_metric(metric: Metric) -> bool {
    match metric {
        Metric::Accuracy => true,
        Metric::Rmse | Metric::Mae | Metric::R2 => false,
    }
}

/// Fills in the task's metrics where none are written, and rejects written ones that do not
/// fit the task.
fn check_metrics(
    mut training: Training,
    task: &Task,
    written: Option<Span>,
    errors: &mut Vec<CheckError>,
) -> Training {
    let classification = matches!(task, Task::Classification { .. });
    match written {
        None if classification => training.metrics = vec![Metric::Accuracy],
        None => training.metrics = vec![Metric::Rmse, Metric::Mae, Metric::R2],
        Some(span) => {
            for metric in &training.metrics {
                if is_classification_metric(*metric) != classification {
                    errors.push(CheckError::MetricTask {
                        metric: metric.name(),
                        classification,
                        span,
                    });
                }
            }
        }
    }
    training
}
