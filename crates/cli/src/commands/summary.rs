//! `mlpc summary FILE [--json]`

use std::path::Path;

use mlpc_ir::summary::Summary;

use crate::report::{self, Outcome};

/// Prints the summary table (or JSON) of a model.
pub fn run(path: &Path, json: bool) -> Outcome {
    let (_, model) = match report::compile(path) {
        Ok(compiled) => compiled,
        Err(outcome) => return outcome,
    };
    let summary = Summary::of(&model);
    if json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("the summary serialises")
        );
    } else {
        print!("{}", summary.to_table(&model));
    }
    Outcome::Success
}
