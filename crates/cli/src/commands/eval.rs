//! `mlpc eval RUN_FOLDER [--backend B] [--data PATH] [--json]`: the saved model of a run,
//! evaluated on its test split, or on another data set of the same layout: every row of a
//! CSV file, or the test files of an IDX folder. Labels are numbered and features
//! standardised as in training (the saved mapping and statistics, never the new file's own),
//! and a label the model never saw is an error.

use std::path::PathBuf;

use clap::Args;
use mlpc_data::Source;
use mlpc_train::Backend;
use mlpc_train::checkpoint::evaluate_saved;

use crate::commands::run::redirect_data;
use crate::report::{self, Outcome};

/// Arguments of `mlpc eval`.
#[derive(Args, Debug)]
pub struct EvalArguments {
    /// A run folder written by `mlpc run` (`runs/NAME` by default).
    pub folder: PathBuf,
    /// Where to evaluate: flex (CPU, default), ndarray (CPU) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// Another data set with the same layout: a CSV file (every row is scored) or an IDX
    /// folder (its test files are scored).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `mlpc eval` prints with `--json`: the same field names as `mlpc run --json`.
#[derive(serde::Serialize)]
struct EvalReport {
    /// Epochs the saved model was trained for.
    epochs: usize,
    /// What was scored, in words (`the test split`, `every row of data/iris.csv`).
    scored: String,
    /// Number of examples scored.
    examples: usize,
    test_loss: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_rmse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_mae: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_r2: Option<f64>,
}

/// Loads the saved network and reports its metrics on the data asked for.
pub fn run(arguments: &EvalArguments) -> Outcome {
    let mut state = match report::read_run(&arguments.folder, "eval") {
        Ok(state) => state,
        Err(outcome) => return outcome,
    };
    if let Some(path) = &arguments.data
        && let Err(outcome) = redirect_data(&mut state.model, path, true)
    {
        return outcome;
    }
    let loaded = match (&arguments.data, &state.model.data) {
        (Some(path), Source::Csv { .. }) => mlpc_data::csv_source::load_for_scoring(
            &state.model.data,
            state.class_names.as_deref(),
            state.feature_standardization.as_deref(),
            state.target_standardization,
        )
        .map(|dataset| (dataset, format!("every row of {}", path.display()))),
        (Some(path), Source::Idx { .. } | Source::Generated { .. }) => {
            mlpc_data::load(&state.model.data)
                .map(|splits| (splits.test, format!("the test files of {}", path.display())))
        }
        // Standardised as in training: the validation rows left out of the statistics.
        (None, _) => {
            mlpc_data::load_holding_out(&state.model.data, state.model.training.hold_out())
                .map(|splits| (splits.test, "the test split".into()))
        }
    };
    let (dataset, scored) = match loaded {
        Ok(loaded) => loaded,
        Err(problem) => {
            let hint = match arguments.data {
                Some(_) => problem.hint_on_command_line(),
                None => problem.hint(),
            };
            return report::invalid_data(&problem, hint);
        }
    };
    let evaluation = match evaluate_saved(&arguments.folder, &state, &dataset, arguments.backend) {
        Ok(evaluation) => evaluation,
        Err(error) => return report::failure(&error, error.hint()),
    };
    if arguments.json {
        let report = EvalReport {
            epochs: state.completed_epochs,
            scored,
            examples: dataset.len(),
            test_loss: evaluation.loss,
            test_accuracy: evaluation.accuracy,
            test_rmse: evaluation.rmse,
            test_mae: evaluation.mae,
            test_r2: evaluation.r2,
        };
        println!(
            "{}",
            serde_json::to_string(&report).expect("a report serialises")
        );
        return Outcome::Success;
    }
    let mut line = format!(
        "{} after {} epochs, on {scored} ({} examples): loss {:.4}",
        state.model.name,
        state.completed_epochs,
        dataset.len(),
        evaluation.loss
    );
    line.push_str(&report::metrics_text(
        "",
        evaluation.accuracy,
        evaluation.rmse,
        evaluation.mae,
        evaluation.r2,
    ));
    println!("{line}");
    Outcome::Success
}
