//! `mlpc plot RUN_FOLDER`: draws a run's pictures again (see `plots`): loss and metric
//! curves, the decision boundary of a 2-D classifier, the confusion matrix, or predicted
//! against true values. The run's data must be at hand, as for `mlpc eval`.

use std::path::Path;

use crate::report::{self, Outcome};

/// Draws the pictures of the run in `folder` and says where they are.
pub fn run(folder: &Path) -> Outcome {
    let state = match report::read_run(folder, "plot") {
        Ok(state) => state,
        Err(outcome) => return outcome,
    };
    let splits = match report::load_data(&state.model) {
        Ok(splits) => splits,
        Err(outcome) => return outcome,
    };
    match crate::plots::write_all(folder, &state, &splits) {
        Ok(files) => {
            for file in files {
                println!("wrote {}", file.display());
            }
            Outcome::Success
        }
        Err(message) => report::failure(&format!("cannot draw the pictures: {message}"), None),
    }
}
