//! `mlpc predict RUN_FOLDER INPUT [--json] [--top K] [--backend B]`: the saved model of a run
//! on new inputs. INPUT is a CSV file with the training features' columns (`-` reads one from
//! standard input; a target column is ignored), an IDX image file, or a PNG or PGM image
//! (grey, or converted to grey; resized to the model's square input where its size differs). Per input
//! row: the predicted label by its original name and the probability of every class (or of the
//! K most probable), or for regression the value in the target's units.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use mlpc_data::Source;
use mlpc_data::inputs::{self, Expected, Inputs};
use mlpc_ir::Task;
use mlpc_train::Backend;
use mlpc_train::checkpoint::RunState;
use mlpc_train::predict::{Prediction, predict};

use crate::report::{self, Outcome};

/// Arguments of `mlpc predict`.
#[derive(Args, Debug)]
pub struct PredictArguments {
    /// A run folder written by `mlpc run` (`runs/NAME` by default).
    pub folder: PathBuf,
    /// A CSV file (`-`: standard input), an IDX image file, or a PNG or PGM image.
    pub input: PathBuf,
    /// One JSON object per input row.
    #[arg(long)]
    pub json: bool,
    /// Only the K most probable classes of each row.
    #[arg(long, value_name = "K", value_parser = at_least_one)]
    pub top: Option<usize>,
    /// Where to run: flex (CPU, default), ndarray (CPU) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
}

/// `--top`'s value: a whole number, 1 or more.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("--top takes 1 class at least".into()),
        Ok(top) => Ok(top),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

/// Predicts every input row and prints the predictions.
pub fn run(arguments: &PredictArguments) -> Outcome {
    let state = match report::read_run(&arguments.folder, "predict") {
        Ok(state) => state,
        Err(outcome) => return outcome,
    };
    if let (Some(_), Task::Regression { .. }) = (arguments.top, &state.model.task) {
        report::error(
            "--top picks the most probable classes, and this model predicts a value",
            Some("leave --top out: each row's prediction is one number"),
        );
        return Outcome::Invalid;
    }
    let inputs = match read_inputs(&arguments.input, &state) {
        Ok(inputs) => inputs,
        Err(outcome) => return outcome,
    };
    let predictions = match predict(&arguments.folder, &state, &inputs, arguments.backend) {
        Ok(predictions) => predictions,
        Err(error) => return report::failure(&error, error.hint()),
    };
    for (row, prediction) in predictions.into_iter().enumerate() {
        println!("{}", line(row, prediction, arguments));
    }
    Outcome::Success
}

/// The inputs, read as the model's data was: CSV by column name, images as pixels.
fn read_inputs(path: &Path, state: &RunState) -> Result<Inputs, Outcome> {
    let target = match (&state.model.data, &state.model.task) {
        (Source::Csv { target, .. }, _) => Some(target.as_str()),
        (_, Task::Classification { .. } | Task::Regression { .. }) => None,
    };
    let expected = Expected {
        width: state.model.network.inputs,
        feature_names: state.feature_names.as_deref(),
        target,
    };
    let name = path.to_string_lossy();
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_lowercase());
    let image = matches!(extension.as_deref(), Some("pgm" | "png" | "gz"))
        || (name.contains("idx3") && !matches!(extension.as_deref(), Some("csv" | "txt")));
    let tabular = match &state.model.data {
        Source::Csv { .. } | Source::Generated { .. } => true,
        Source::Idx { .. } => false,
    };
    if image && tabular {
        report::error(
            &format!(
                "`{name}` is an image, and this model takes {} numbers from a CSV file",
                state.model.network.inputs
            ),
            Some(&match &state.feature_names {
                Some(names) => format!("give a CSV file with the columns {}", names.join(", ")),
                None => "give a CSV file with a header row and one row of numbers per example (or `-` for standard input)".to_string(),
            }),
        );
        return Err(Outcome::Invalid);
    }
    let read = match extension.as_deref() {
        _ if name == "-" => {
            let mut text = String::new();
            match std::io::stdin().read_to_string(&mut text) {
                Ok(_) => inputs::csv(Path::new("<standard input>"), &text, expected),
                Err(error) => {
                    report::error(&format!("cannot read standard input: {error}"), None);
                    return Err(Outcome::Invalid);
                }
            }
        }
        Some("pgm") => inputs::pgm(path, expected),
        Some("png") => inputs::png(path, expected),
        Some("csv") | Some("txt") => match std::fs::read_to_string(path) {
            Ok(text) => inputs::csv(path, &text, expected),
            Err(source) => Err(mlpc_data::DataError::Io {
                path: path.to_path_buf(),
                source,
            }),
        },
        _ if name.contains("idx3") || extension.as_deref() == Some("gz") => {
            inputs::idx(path, expected)
        }
        _ => {
            report::error(
                &format!("`{name}` is not an input mlpc reads"),
                Some(
                    "give a CSV file (.csv, or `-` for standard input), an IDX image file (…idx3-ubyte[.gz]) or a PGM or PNG image (.pgm, .png)",
                ),
            );
            return Err(Outcome::Invalid);
        }
    };
    read.map_err(|error| report::invalid_data(&error, error.hint_on_command_line()))
}

/// One prediction as a line of text or JSON.
fn line(row: usize, prediction: Prediction, arguments: &PredictArguments) -> String {
    match prediction {
        Prediction::Value(value) => {
            if arguments.json {
                format!(
                    "{{\"row\":{row},\"value\":{}}}",
                    serde_json::Value::from(value)
                )
            } else {
                format!("{row}: {value:.4}")
            }
        }
        Prediction::Class {
            label,
            mut probabilities,
        } => {
            if let Some(top) = arguments.top {
                probabilities.sort_by(|left, right| right.1.total_cmp(&left.1));
                probabilities.truncate(top);
            }
            if arguments.json {
                // Written by hand to keep the field order and the classes' order.
                let text = |value: &str| serde_json::Value::from(value).to_string();
                let entries: Vec<String> = probabilities
                    .iter()
                    .map(|(label, probability)| {
                        format!("{}:{}", text(label), serde_json::Value::from(*probability))
                    })
                    .collect();
                format!(
                    "{{\"row\":{row},\"label\":{},\"probabilities\":{{{}}}}}",
                    text(&label),
                    entries.join(",")
                )
            } else {
                let listed: Vec<String> = probabilities
                    .iter()
                    .map(|(label, probability)| format!("{label} {:.1}%", probability * 100.0))
                    .collect();
                format!("{row}: {label}  ({})", listed.join(", "))
            }
        }
    }
}
