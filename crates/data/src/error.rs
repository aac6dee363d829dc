//! Data errors: the one error enum of the data stage.

use std::path::PathBuf;

use thiserror::Error;

/// Why a source could not be inspected or loaded.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An IDX file whose header or length is wrong.
    #[error("`{path}` is not a valid IDX file: {message}")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An image (PGM, PNG, or IDX images of the wrong shape) that cannot be used.
    #[error("`{path}`: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A CSV record that cannot be used.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// What is wrong, naming the column.
        message: String,
    },
    /// A validation fraction that leaves no training example to validate on, or none to train
    /// on.
    #[error(
        "a validation fraction of {fraction} of the {examples} training examples {}",
        if *held_out == 0 { "holds out none to validate on" } else { "leaves none to train on" }
    )]
    EmptyValidation {
        /// The fraction asked for.
        fraction: f64,
        /// Training examples before validation's are held out.
        examples: usize,
        /// Examples it holds out.
        held_out: usize,
    },
    /// A cell that should hold a number holds a word.
    #[error("{path}:{line}: {what} `{column}` holds `{field}`, which is not a number")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// `column` or `target column`.
        what: String,
        /// The column's name.
        column: String,
        /// The cell.
        field: String,
    },
    /// A CSV file of inputs whose first line is numbers, not column names.
    #[error("{path}:1: the first line holds numbers (`{first}`), not column names")]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// The first line, as read.
        first: String,
        /// The names the model's features had in training, where it had names.
        names: Option<String>,
    },
    /// A CSV file with no column but the target.
    #[error("`{path}` has no feature column: its only column is the target `{target}`")]
    NoFeatures {
        /// The file.
        path: PathBuf,
        /// The target column's name.
        target: String,
    },
    /// The target column named in the model is not in the header.
    #[error("`{path}` has no column named `{name}`")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The columns the header has.
        available: Vec<String>,
    },
    /// A split with no example: nothing to train on, or nothing to score.
    #[error(
        "the {split} split of {source_name} is empty: {}",
        match test_fraction {
            Some(fraction) => format!("a test fraction of {fraction} of {examples} example{} leaves none for it", if *examples == 1 { "" } else { "s" }),
            None => format!("the {split} file has no example"),
        }
    )]
    EmptySplit {
        /// The data source, as messages name it: the generated set, the file or the folder.
        source_name: String,
        /// The split that is empty.
        split: Split,
        /// Examples in both splits together.
        examples: usize,
        /// The fraction held out for testing, where a fraction made the split.
        test_fraction: Option<f64>,
    },
}

/// The two splits of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The examples trained on.
    Train,
    /// The examples held out and scored.
    Test,
}

impl std::fmt::Display for Split {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Split::Train => "training",
            Split::Test => "test",
        })
    }
}

impl DataError {
    /// The file the error is about, and the line of the record where one is known.
    pub fn location(&self) -> Option<(&std::path::Path, Option<u64>)> {
        match self {
            DataError::Csv { path, line, .. } | DataError::NotANumber { path, line, .. } => {
                Some((path, Some(*line)))
            }
            DataError::NoHeader { path, .. } => Some((path, Some(1))),
            DataError::Io { path, .. }
            | DataError::Idx { path, .. }
            | DataError::Image { path, .. }
            | DataError::MissingColumn { path, .. }
            | DataError::NoFeatures { path, .. } => Some((path, None)),
            DataError::EmptySplit { .. } | DataError::EmptyValidation { .. } => None,
        }
    }

    /// A suggestion for the user about data named on the command line (`--data`, `mlpc
    /// predict`'s inputs), whose paths are relative to the working folder.
    pub fn hint_on_command_line(&self) -> Option<String> {
        match self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
                "check the path; a path on the command line is relative to the folder mlpc runs in"
                    .to_string(),
            ),
            DataError::Io { .. }
            | DataError::Idx { .. }
            | DataError::Image { .. }
            | DataError::Csv { .. }
            | DataError::EmptyValidation { .. }
            | DataError::NoHeader { .. }
            | DataError::NotANumber { .. }
            | DataError::NoFeatures { .. }
            | DataError::MissingColumn { .. }
            | DataError::EmptySplit { .. } => self.hint(),
        }
    }

    /// A suggestion for the user, where one fits.
    pub fn hint(&self) -> Option<String> {
        match self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
                "check the path; paths written in a .mlp file are relative to that file's folder"
                    .to_string(),
            ),
            DataError::MissingColumn { available, .. } => {
                Some(format!("the columns are: {}", available.join(", ")))
            }
            DataError::EmptySplit {
                split,
                examples,
                test_fraction,
                ..
            } => Some(empty_split_hint(*split, *examples, *test_fraction)),
            DataError::EmptyValidation {
                examples, held_out, ..
            } => Some(if *examples < 2 {
                format!("validation needs two training examples at least, one to train on and one to validate on; there are {examples}")
            } else if *held_out == 0 {
                format!(
                    "a `validation` of {} or more holds out one example at least (or leave it out)",
                    least_fraction(*examples)
                )
            } else {
                format!(
                    "a `validation` of {} or less keeps one example at least for training",
                    greatest_fraction(*examples)
                )
            }),
            DataError::NotANumber { field, .. }
                if field.replacen(',', ".", 1).parse::<f64>().is_ok() =>
            {
                Some(format!(
                    "numbers are read with a decimal point: write `{}`, not `{field}` (a spreadsheet can export CSV with points)",
                    field.replacen(',', ".", 1)
                ))
            }
            DataError::NotANumber { what, .. } if what == "column" => Some(
                "features are read as numbers: write a column of categories as numbers (one 0/1 column per category), or leave it out of the file"
                    .to_string(),
            ),
            DataError::NotANumber { .. } => Some(
                "a regression target is read as numbers: leave `task` out (or write `task = classification`) to read words as class labels"
                    .to_string(),
            ),
            DataError::NoHeader { names, .. } => Some(match names {
                Some(names) => format!("a CSV file of inputs starts with a line of column names: `{names}`"),
                None => "a CSV file of inputs starts with a line of column names, one per feature (`x,y`, say), else its first row would be taken for them".to_string(),
            }),
            DataError::NoFeatures { .. } => Some(
                "a CSV source needs one column at least besides the target, whose numbers the network takes as its inputs"
                    .to_string(),
            ),
            DataError::Io { .. }
            | DataError::Idx { .. }
            | DataError::Image { .. }
            | DataError::Csv { .. } => None,
        }
    }
}

/// How to give an empty split an example: the test fraction that would, or more examples.
fn empty_split_hint(split: Split, examples: usize, test_fraction: Option<f64>) -> String {
    if examples < 2 {
        return format!(
            "a source needs two examples at least, one for each split; this one has {examples}"
        );
    }
    let Some(_) = test_fraction else {
        return format!("give the {split} file at least one example");
    };
    // round(examples * fraction) examples are held out: one or more, and fewer than all. The
    // bound is given to two significant digits, checked with that very rounding.
    match split {
        Split::Test => format!(
            "hold out at least one example: `test_fraction` of {} or more (or more examples)",
            least_fraction(examples)
        ),
        Split::Train => format!(
            "keep at least one example for training: `test_fraction` of {} or less",
            greatest_fraction(examples)
        ),
    }
}

/// Examples a fraction of `examples` takes: `round(examples · fraction)`, as every split does.
fn taken(examples: usize, fraction: f64) -> usize {
    (examples as f64 * fraction).round() as usize
}

/// The least fraction, to two significant digits, that takes one of `examples` (two at
/// least) or more.
pub fn least_fraction(examples: usize) -> f64 {
    let (mut units, scale) = two_digits(0.5 / examples as f64, f64::ceil);
    while taken(examples, units / scale) < 1 {
        units += 1.0;
    }
    units / scale
}

/// The greatest fraction, to two significant digits, that leaves one of `examples` (two at
/// least) or more.
pub fn greatest_fraction(examples: usize) -> f64 {
    let count = examples as f64;
    let (mut units, scale) = two_digits((count - 0.5) / count, f64::floor);
    while taken(examples, units / scale) >= examples {
        units -= 1.0;
    }
    units / scale
}

/// `value` to two significant digits, rounded with `rounding` (up or down): as a whole number
/// of units and the units in one.
fn two_digits(value: f64, rounding: fn(f64) -> f64) -> (f64, f64) {
    let scale = 10f64.powi(1 - value.abs().log10().floor() as i32);
    (rounding(value * scale), scale)
}
