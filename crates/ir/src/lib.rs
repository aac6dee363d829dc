//! # mlpc-ir: the typed model, its checks and its shapes
//!
//! The second stage of the pipeline (syntax → **IR and checks** → burn lowering and training →
//! CLI). [`check`](fn@check) turns a parsed file into a [`Model`]: a closed, serde-serialisable
//! description of data, task, layers (with every width, parameter count and multiply-add
//! count inferred), loss, optimizer, schedule and training settings. Nothing downstream reads
//! text again.
//!
//! Design: the grammar is generic, so meaning lives here, in parameter tables
//! ([`tables`]), one row per section, layer kind, activation, initializer, loss, optimizer,
//! schedule and data source. A generic binder ([`signature`]) checks written arguments
//! against a row: unknown names (with did-you-mean), duplicates, extra positionals, missing
//! arguments, types and ranges. Shape inference ([`shape`]) walks the layers from the data's
//! input width and checks the output width against the task and the loss. Errors are one enum,
//! [`CheckError`], converted into diagnostics by `to_diagnostic`, and all of a file's errors are
//! reported together. No burn here: this crate builds and tests in seconds.

pub mod check;
pub mod error;
pub mod model;
pub mod shape;
pub mod signature;
pub mod summary;
pub mod tables;

pub use check::check;
pub use error::CheckError;
pub use model::*;

use std::path::Path;

use mlpc_syntax::Diagnostic;

/// Parses and checks a source text: the model, or every diagnostic (syntax errors first; the
/// checker runs only on a file that parsed, so that one slip does not cascade).
pub fn compile(source: &str, model_path: &Path) -> Result<Model, Vec<Diagnostic>> {
    let parsed = mlpc_syntax::parse(source);
    if !parsed.errors.is_empty() {
        return Err(parsed
            .errors
            .iter()
            .map(|error| error.to_diagnostic())
            .collect());
    }
    check(&parsed.file, model_path).map_err(|errors| {
        let mut diagnostics: Vec<Diagnostic> =
            errors.iter().map(CheckError::to_diagnostic).collect();
        diagnostics.sort_by_key(|diagnostic| diagnostic.span.start);
        diagnostics
    })
}
