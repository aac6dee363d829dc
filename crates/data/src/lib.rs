//! # mlpc-data: where the examples come from
//!
//! A [`Source`] says where a model's data is (it is part of the IR, so it is serde data); this
//! crate *inspects* a source cheaply (input width, task, classes: what the checker needs for
//! shape inference) and *loads* it into host memory as a train and a test [`Dataset`].
//! It depends on neither the parser nor burn, so the checker and the trainer both use it.
//!
//! - [`idx`]: IDX image sets in MNIST's layout (gzip or raw), pixels scaled to [0, 1];
//!   decoding of the big image files is split across threads with rayon.
//! - [`csv_source`]: CSV files with a header; a target column by name; string class labels
//!   mapped to indices (sorted, so the mapping does not depend on row order); features and
//!   regression targets optionally standardised with statistics of the training split only.
//! - [`generated`]: 2-D sets that are not linearly separable: moons, circles, spiral, xor, blobs.
//! - [`random`]: a small seeded generator (SplitMix64) so that every split, shuffle and
//!   generated set is the same on every machine and every backend.
//!
//! Every failure is a [`DataError`] naming the file and, for CSV, the line and column.

pub mod csv_source;
pub mod dataset;
pub mod error;
pub mod generated;
pub mod idx;
pub mod random;
pub mod source;

pub use dataset::{Dataset, Splits, Standardization, Targets};
pub use error::DataError;
pub use source::{CsvTask, GeneratedKind, Schema, Source, TargetKind, TestSplit};

/// Reads just enough of a source to know its shape: input width, task and classes.
pub fn inspect(source: &Source) -> Result<Schema, DataError> {
    match source {
        Source::Idx { directory, .. } => idx::inspect(directory),
        Source::Csv { .. } => csv_source::inspect(source),
        Source::Generated { kind, classes, .. } => Ok(generated::schema(*kind, *classes)),
    }
}

/// Loads a source into a train and a test split.
pub fn load(source: &Source) -> Result<Splits, DataError> {
    match source {
        Source::Idx {
            directory,
            train_limit,
            test_limit,
        } => idx::load(directory, *train_limit, *test_limit),
        Source::Csv { .. } => csv_source::load(source),
        Source::Generated { .. } => Ok(generated::load(source)),
    }
}
