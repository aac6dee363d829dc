//! # mlpc-ir: the typed model, its checks and its shapes
//!
//! The second stage of the pipeline (syntax → **IR and checks** → burn lowering and training →
//! CLI). [`check`](fn@check) turns a parsed file into a [`Model`]: a closed, serde-serialisable
//! description of data, task, layers (with every width, parameter count and multiply-add
//! count inferred), loss, optimizer, schedule and training settings. Nothing downstream reads
//! text again.
//!
//! Design: the grammar is generic, so meaning lives here, in the [`vocabulary`]: one table of
//! typed rows per kind of name (layer kinds, activations, initializers, losses, optimizers,
//! schedules, data sources, metrics), each row owning its parameters (types, ranges,
//! defaults: [`signature`], [`range`]) and the builder of its IR value, so that no code matches names as
//! strings. [`section`] says what each top-level section takes. A generic [`bind`]er checks
//! written arguments against a row (unknown names with a did-you-mean, duplicates, extra
//! positionals, missing arguments, types, ranges with the nearest valid value) into a
//! [`bound::Bound`] that the row's builder reads; [`sections`] and [`network`] bind a file's
//! sections and layers. Shape inference ([`shape`]) walks the layers from the data's input
//! width and checks the output width against the task and the loss; [`memory`] refuses a
//! network too large to train. Errors are one enum, [`CheckError`], one variant per construct;
//! `diagnostic.rs` turns them into diagnostics, and all of a file's errors are reported
//! together. No burn here: this crate builds and tests in seconds.
//!
//! Adding a layer kind touches, in this crate: its row in `vocabulary/layers.rs` (name,
//! parameters, builder), its variant in [`LayerKind`], and the two matches the compiler then
//! points at: its shape rule in [`shape::layer_shape`] and its name in
//! [`LayerKind::display_name`].

pub mod bind;
pub mod bound;
pub mod check;
mod diagnostic;
pub mod error;
pub mod memory;
pub mod model;
pub mod network;
pub mod range;
pub mod section;
pub mod sections;
pub mod shape;
pub mod signature;
pub mod summary;
pub mod vocabulary;

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
