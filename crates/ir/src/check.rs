//! The checker: from a parsed [`File`] to a [`Model`], or every error found.
//!
//! 1. Top-level statements are matched against [`SECTIONS`] (did-you-mean, duplicates) and
//!    their arguments bound with the parameter tables; `train { }` settings likewise.
//! 2. The data source is inspected (`mlpc-data`) for the input width and the task.
//! 3. Layers are bound, and shapes inferred through the network ([`crate::shape`]).
//! 4. The loss is checked against the task and the last layer's width; metrics against the task.
//!
//! Errors are collected, never returned early: one run reports everything it can see.

use std::path::{Component, Path, PathBuf};

use mlpc_syntax::Span;
use mlpc_syntax::ast::{Argument, Entry, File, Statement};

use crate::error::CheckError;
use crate::model::*;
use crate::signature::{Bound, bind, lookup};
use crate::tables::{self, ACTIVATIONS, LAYERS, SECTIONS, TRAIN};

/// Checks a parsed file. `model_path` is the file's path: data paths are relative to its folder,
/// and its stem is the default model name.
pub fn check(file: &File, model_path: &Path) -> Result<Model, Vec<CheckError>> {
    let mut errors = Vec::new();
    let sections = collect_sections(file, &mut errors);
    let model_folder = model_path.parent().unwrap_or(Path::new(""));
    let resolve = |written: &str| normalize(&model_folder.join(written));

    let section = |name: &str| sections.iter().find(|(keyword, _, _)| *keyword == name);
    let nested = |name: &str| {
        section(name).and_then(|(_, bound, _)| {
            bound
                .nested(name)
                .map(|(callee, args)| (callee, args.clone()))
        })
    };

    let name = section("model")
        .and_then(|(_, bound, _)| bound.text("name").map(str::to_string))
        .unwrap_or_else(|| {
            model_path.file_stem().map_or("model".to_string(), |stem| {
                stem.to_string_lossy().into_owned()
            })
        });

    let data_span = section("data").map_or(Span::default(), |(_, _, statement)| statement.span);
    let data = section("data")
        .and_then(|(_, bound, _)| bound.nested("source"))
        .map(|(callee, args)| tables::source(callee, args, resolve));
    let schema = data
        .as_ref()
        .and_then(|source| match mlpc_data::inspect(source) {
            Ok(schema) => Some(schema),
            Err(error) => {
                errors.push(CheckError::Data {
                    message: error.to_string(),
                    span: data_span,
                    hint: error.hint(),
                });
                None
            }
        });

    let loss_entry = nested("loss").map(|(callee, args)| (tables::loss(callee, &args), args.span));
    let optimizer = nested("optimizer").map(|(callee, args)| tables::optimizer(callee, &args));
    let schedule = nested("schedule").map_or(Schedule::Constant, |(callee, args)| {
        tables::schedule(callee, &args)
    });
    let training = section("train").map_or_else(
        || training_settings(&Bound::default()),
        |(_, bound, _)| training_settings(bound),
    );

    for (section_name, example) in [
        ("data", "data mnist(\"../data/mnist\")"),
        ("network", "network { dense 10 }"),
        ("loss", "loss cross_entropy"),
        ("optimizer", "optimizer sgd(lr = 0.1)"),
    ] {
        if section(section_name).is_none() {
            errors.push(CheckError::MissingSection {
                section: section_name.into(),
                example: example.into(),
            });
        }
    }

    let task = schema.as_ref().map(|schema| match &schema.target {
        mlpc_data::TargetKind::Classes { count, names } => Task::Classification {
            classes: *count,
            class_names: names.clone(),
        },
        mlpc_data::TargetKind::Regression { name } => Task::Regression {
            target: name.clone(),
        },
    });

    let network_statement = section("network").map(|(_, _, statement)| *statement);
    let network = network_statement.map(|statement| {
        let layers = bind_layers(statement, &mut errors);
        crate::shape::infer(
            layers,
            schema.as_ref().map(|schema| schema.features),
            &mut errors,
        )
    });

    let (
        Some(data),
        Some(task),
        Some(network),
        Some((loss, loss_span)),
        Some(optimizer),
        Some(network_statement),
    ) = (
        data,
        task,
        network,
        loss_entry,
        optimizer,
        network_statement,
    )
    else {
        return Err(errors);
    };
    let network = crate::shape::fit_output(
        network,
        &task,
        loss,
        loss_span,
        network_statement,
        &mut errors,
    );

    let training = check_metrics(
        training,
        &task,
        section("train").map(|(_, bound, _)| bound),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(errors);
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

/// Matches top-level statements to sections and binds their arguments.
fn collect_sections<'a>(
    file: &'a File,
    errors: &mut Vec<CheckError>,
) -> Vec<(&'static str, Bound, &'a Statement)> {
    let mut sections: Vec<(&'static str, Bound, &Statement)> = Vec::new();
    for entry in &file.entries {
        let statement = match entry {
            Entry::Setting(setting) => {
                errors.push(CheckError::Misplaced {
                    message: format!(
                        "`{}` is a training setting, written outside `train {{ }}`",
                        setting.key.name
                    ),
                    span: setting.span,
                    hint: format!(
                        "move it into the block: `train {{ {} = ... }}`",
                        setting.key.name
                    ),
                });
                continue;
            }
            Entry::Statement(statement) => statement,
        };
        let Some(callable) = lookup(
            SECTIONS,
            "section",
            &statement.keyword.name,
            statement.keyword.span,
            errors,
        ) else {
            continue;
        };
        if let Some((_, _, first)) = sections.iter().find(|(name, _, _)| *name == callable.name) {
            errors.push(CheckError::Duplicate {
                what: "section".into(),
                name: callable.name.into(),
                span: statement.keyword.span,
                first: first.keyword.span,
            });
            continue;
        }
        let takes_block = matches!(callable.name, "network" | "train");
        match (&statement.block, takes_block) {
            (Some(block), false) => errors.push(CheckError::Misplaced {
                message: format!("`{}` takes a value, not a block", callable.name),
                span: block.span,
                hint: format!("write it as `{}`", callable.example),
            }),
            (None, true) => errors.push(CheckError::Misplaced {
                message: format!("`{}` needs a block `{{ ... }}`", callable.name),
                span: statement.span,
                hint: format!("write it as `{}`", callable.example),
            }),
            _ => {}
        }
        let mut bound = bind(callable, statement.all_arguments(), statement.span, errors);
        if callable.name == "train" {
            bound = bind_train(statement, errors);
        }
        sections.push((callable.name, bound, statement));
    }
    sections
}

/// Binds the settings of `train { ... }`.
fn bind_train(statement: &Statement, errors: &mut Vec<CheckError>) -> Bound {
    let mut arguments = Vec::new();
    for entry in statement.block.iter().flat_map(|block| &block.entries) {
        match entry {
            Entry::Setting(setting) => arguments.push(Argument {
                name: Some(setting.key.clone()),
                value: setting.value.clone(),
                span: setting.span,
            }),
            Entry::Statement(inner) => errors.push(CheckError::Misplaced {
                message: format!(
                    "`train` holds settings, but `{}` is written as a statement",
                    inner.keyword.name
                ),
                span: inner.span,
                hint: "write settings as `name = value`, such as `epochs = 10`".into(),
            }),
        }
    }
    bind(&TRAIN, &arguments, statement.span, errors)
}

fn training_settings(bound: &Bound) -> Training {
    Training {
        epochs: bound.integer("epochs", 10) as usize,
        batch_size: bound.integer("batch_size", 32) as usize,
        shuffle: bound.boolean("shuffle", true),
        seed: bound.integer("seed", 0) as u64,
        metrics: Vec::new(),
        validation: bound.real("validation", 0.0),
    }
}

/// Binds each layer statement of the network block, with its span.
fn bind_layers(
    network: &Statement,
    errors: &mut Vec<CheckError>,
) -> Vec<crate::shape::WrittenLayer> {
    let mut layers = Vec::new();
    for entry in network.block.iter().flat_map(|block| &block.entries) {
        let statement = match entry {
            Entry::Statement(statement) => statement,
            Entry::Setting(setting) => {
                errors.push(CheckError::Misplaced {
                    message: "a network holds layers, not settings".into(),
                    span: setting.span,
                    hint: "write a layer as `dense 128 relu`; settings go in `train { }`".into(),
                });
                continue;
            }
        };
        let keyword = &statement.keyword;
        let table = if ACTIVATIONS
            .iter()
            .any(|callable| callable.name == keyword.name)
        {
            ACTIVATIONS
        } else {
            LAYERS
        };
        let callable = match table.iter().find(|callable| callable.name == keyword.name) {
            Some(callable) => callable,
            None => {
                let candidates = LAYERS
                    .iter()
                    .chain(ACTIVATIONS)
                    .map(|callable| callable.name);
                errors.push(crate::signature::unknown(
                    "layer",
                    &keyword.name,
                    keyword.span,
                    candidates,
                ));
                continue;
            }
        };
        if let Some(block) = &statement.block {
            errors.push(CheckError::Misplaced {
                message: "a layer takes no block".into(),
                span: block.span,
                hint: format!("write it as `{}`", callable.example),
            });
        }
        let bound = bind(callable, statement.all_arguments(), statement.span, errors);
        let kind = tables::layer_kind(callable.name, &bound);
        let input_size = (callable.name == "input").then(|| bound.integer("size", 1) as usize);
        layers.push(crate::shape::WrittenLayer {
            kind,
            input_size,
            span: statement.span,
            units_span: bound.span_of("units"),
        });
    }
    layers
}

/// Fills in default metrics and rejects those that do not fit the task.
fn check_metrics(
    mut training: Training,
    task: &Task,
    train: Option<&Bound>,
    errors: &mut Vec<CheckError>,
) -> Training {
    let classification = matches!(task, Task::Classification { .. });
    let written = train.and_then(|bound| {
        bound
            .names("metrics")
            .map(|names| (names.to_vec(), bound.span_of("metrics").unwrap_or_default()))
    });
    training.metrics = match written {
        None if classification => vec![Metric::Accuracy],
        None => vec![Metric::Rmse, Metric::Mae, Metric::R2],
        Some((names, span)) => {
            let mut metrics = Vec::new();
            for name in names {
                let metric = match name.as_str() {
                    "accuracy" => Metric::Accuracy,
                    "rmse" => Metric::Rmse,
                    "mae" => Metric::Mae,
                    _ => Metric::R2,
                };
                if (metric == Metric::Accuracy) != classification {
                    errors.push(CheckError::TaskMismatch {
                        message: format!(
                            "metric `{name}` does not fit a {} task",
                            if classification {
                                "classification"
                            } else {
                                "regression"
                            }
                        ),
                        span,
                        label: "in this list".into(),
                        hint: if classification {
                            "classification reports `accuracy`".into()
                        } else {
                            "regression reports `rmse`, `mae` and `r2`".into()
                        },
                    });
                }
                metrics.push(metric);
            }
            metrics
        }
    };
    training
}

/// Removes `.` and `x/..` from a path without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn normalizes_paths_lexically() {
        assert_eq!(
            normalize(Path::new("models/../data/iris.csv")),
            Path::new("data/iris.csv")
        );
        assert_eq!(
            normalize(Path::new("../../data/x")),
            Path::new("../../data/x")
        );
        assert_eq!(normalize(Path::new("./a/./b")), Path::new("a/b"));
    }
}
