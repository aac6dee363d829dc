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
//!   regression targets optionally standardised with statistics of the rows trained on only.
//! - [`generated`]: 2-D sets that are not linearly separable: moons, circles, spiral, xor, blobs.
//! - [`holdout`]: the validation rows held out of the training split (and of its statistics).
//! - [`random`]: a small seeded generator (SplitMix64) so that every split, shuffle and
//!   generated set is the same on every machine and every backend.
//!
//! Every failure is a [`DataError`] naming the file and, for CSV, the line and column; a
//! source whose training or test split would be empty is rejected when it is loaded.

pub mod csv_source;
pub mod dataset;
pub mod error;
pub mod generated;
pub mod holdout;
pub mod idx;
pub mod inputs;
pub mod random;
pub mod source;

pub use dataset::{Dataset, Splits, Standardization, Targets};
pub use error::{DataError, Split};
pub use holdout::HoldOut;
pub use source::{CsvTask, GeneratedKind, Schema, Source, TargetKind, TestSplit};

/// Reads just enough of a source to know its shape: input width, task and classes.
pub fn inspect(source: &Source) -> Result<Schema, DataError> {
    match source {
        Source::Idx { directory, .. } => idx::inspect(directory),
        Source::Csv { .. } => csv_source::inspect(source),
        Source::Generated { kind, classes, .. } => Ok(generated::schema(*kind, *classes)),
    }
}

/// Loads a source into a train and a test split, each with one example at least.
pub fn load(source: &Source) -> Result<Splits, DataError> {
    load_holding_out(source, None)
}

/// [`load`], with the training rows `hold_out` keeps for validation left out of the
/// statistics features and targets are standardised with.
pub fn load_holding_out(source: &Source, hold_out: Option<HoldOut>) -> Result<Splits, DataError> {
    let splits = match source {
        Source::Idx {
            directory,
            train_limit,
            test_limit,
        } => idx::load(directory, *train_limit, *test_limit),
        Source::Csv { .. } => csv_source::load(source, hold_out),
        Source::Generated { .. } => Ok(generated::load(source)),
    }?;
    for (split, dataset) in [(Split::Train, &splits.train), (Split::Test, &splits.test)] {
        if dataset.is_empty() {
            return Err(DataError::EmptySplit {
                source_name: source.name(),
                split,
                examples: splits.train.len() + splits.test.len(),
                test_fraction: source.test_fraction(),
            });
        }
    }
    Ok(splits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moons(samples: usize, test_fraction: f64) -> Source {
        Source::Generated {
            kind: GeneratedKind::Moons,
            samples,
            noise: 0.1,
            classes: 2,
            factor: 0.5,
            seed: 0,
            test_fraction,
        }
    }

    #[test]
    fn an_empty_test_split_is_an_error_naming_the_source() {
        let error = load(&moons(10, 0.01)).expect_err("no test example");
        assert_eq!(
            error.to_string(),
            "the test split of `moons` is empty: a test fraction of 0.01 of 10 examples leaves none for it"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some(
                "hold out at least one example: `test_fraction` of 0.05 or more (or more examples)"
            )
        );
        // The fraction the hint gives is enough: 10 * 0.05 rounds to one test example.
        assert_eq!(load(&moons(10, 0.05)).expect("loads").test.len(), 1);
    }

    #[test]
    fn an_empty_training_split_is_an_error_too() {
        let error = load(&moons(4, 0.9)).expect_err("no training example");
        assert_eq!(
            error.to_string(),
            "the training split of `moons` is empty: a test fraction of 0.9 of 4 examples leaves none for it"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("keep at least one example for training: `test_fraction` of 0.87 or less")
        );
        assert_eq!(load(&moons(4, 0.87)).expect("loads").train.len(), 1);
        // 2 × 0.75 = 1.5 rounds to 2: the bound itself is excluded.
        let hint = load(&moons(2, 0.8))
            .expect_err("empty")
            .hint()
            .expect("hint");
        assert!(hint.ends_with("of 0.74 or less"), "{hint}");
        assert_eq!(load(&moons(2, 0.74)).expect("loads").train.len(), 1);
    }
}
