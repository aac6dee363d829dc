//! `mlpc check FILE... [--emit ir]`

use std::path::PathBuf;

use crate::report::{self, Outcome};

/// Checks every file; the worst outcome wins.
pub fn run(files: &[PathBuf], emit_ir: bool) -> Outcome {
    let mut outcome = Outcome::Success;
    for path in files {
        match report::compile(path) {
            Ok((_, model)) => {
                // One file's IR is indented for people; several files' are one JSON object
                // a line, a stream a program can read.
                if emit_ir && files.len() == 1 {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&model).expect("the IR serialises")
                    );
                } else if emit_ir {
                    println!(
                        "{}",
                        serde_json::to_string(&model).expect("the IR serialises")
                    );
                }
            }
            Err(failure) => outcome = outcome.max_by(failure),
        }
    }
    outcome
}
