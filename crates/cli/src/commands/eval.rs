//! `mlpc eval RUN_FOLDER [--backend B] [--data PATH] [--json]`: the saved model of a run,
//! evaluated on its test split (or on another data set of the same layout).

use std::path::PathBuf;

use clap::Args;
use mlpc_train::Backend;
use mlpc_train::checkpoint::{evaluate_saved, read_state};

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
    /// Another data set with the same layout: a folder for an IDX set, a file for a CSV.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Loads the saved network and reports its test metrics.
pub fn run(arguments: &EvalArguments) -> Outcome {
    let mut state = match read_state(&arguments.folder) {
        Ok(state) => state,
        Err(error) => {
            report::error(
                &error.to_string(),
                Some(
                    "`mlpc eval` reads the folder that `mlpc run` wrote (`--out DIR`, default runs/NAME)",
                ),
            );
            return Outcome::Failure;
        }
    };
    if let Some(path) = &arguments.data
        && let Err(outcome) = redirect_data(&mut state.model, path)
    {
        return outcome;
    }
    let splits = match report::load_data(&state.model) {
        Ok(splits) => splits,
        Err(outcome) => return outcome,
    };
    let evaluation = match evaluate_saved(&arguments.folder, &state, &splits, arguments.backend) {
        Ok(evaluation) => evaluation,
        Err(error) => return report::failure(&error, error.hint()),
    };
    if arguments.json {
        println!(
            "{}",
            serde_json::to_string(&evaluation).expect("an evaluation serialises")
        );
        return Outcome::Success;
    }
    let mut line = format!(
        "{} after {} epochs: test loss {:.4}",
        state.model.name, state.completed_epochs, evaluation.loss
    );
    line.push_str(&report::metrics_text(
        evaluation.accuracy,
        evaluation.rmse,
        evaluation.mae,
        evaluation.r2,
    ));
    line.push_str(&format!("  ({} test examples)", splits.test.len()));
    println!("{line}");
    Outcome::Success
}
