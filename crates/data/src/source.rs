//! What a model's data is: the [`Source`] (part of the IR) and its [`Schema`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where a model's examples come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum Source {
    /// An IDX image set in MNIST's layout: `train-images-idx3-ubyte[.gz]`,
    /// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
    Idx {
        /// The folder holding the four files.
        directory: PathBuf,
        /// Use only the first this many training examples.
        train_limit: Option<usize>,
        /// Use only the first this many test examples.
        test_limit: Option<usize>,
    },
    /// A CSV file with a header row.
    Csv {
        /// The file.
        path: PathBuf,
        /// The name of the target column.
        target: String,
        /// Classification, regression, or decided from the target column.
        task: CsvTask,
        /// Standardise features with the training split's mean and deviation.
        standardize: bool,
        /// Standardise a regression target (metrics are still reported in its own units).
        standardize_target: bool,
        /// How the test split is made.
        test: TestSplit,
    },
    /// A generated 2-D set.
    Generated {
        /// Which shape.
        kind: GeneratedKind,
        /// How many examples in all (train and test).
        samples: usize,
        /// Standard deviation of the Gaussian noise added to each point.
        noise: f64,
        /// Number of classes (spiral and blobs; 2 for the others).
        classes: usize,
        /// Ratio of the inner to the outer circle (circles only).
        factor: f64,
        /// Seed of the generator.
        seed: u64,
        /// Fraction of examples held out for the test split.
        test_fraction: f64,
    },
}

/// The task a CSV file's target column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvTask {
    /// Classification when the target column holds non-numbers, regression otherwise.
    Auto,
    /// Each distinct value of the target is a class.
    Classification,
    /// The target is a number to predict.
    Regression,
}

/// How a CSV source's test split is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSplit {
    /// Hold out this fraction of the rows, chosen at random with this seed.
    Fraction {
        /// Between 0 and 1.
        fraction: f64,
        /// Seed of the random choice.
        seed: u64,
    },
    /// Read the test rows from a second file with the same header.
    File {
        /// The second file.
        path: PathBuf,
    },
}

/// The 2-D shapes that can be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratedKind {
    /// Two interleaving half circles.
    Moons,
    /// A small circle inside a big one.
    Circles,
    /// Arms of a spiral, one per class.
    Spiral,
    /// Four clusters at the corners of a square, opposite corners sharing a class.
    Xor,
    /// Gaussian clusters, one per class.
    Blobs,
}

impl GeneratedKind {
    /// Every kind.
    pub const ALL: [GeneratedKind; 5] = [
        GeneratedKind::Moons,
        GeneratedKind::Circles,
        GeneratedKind::Spiral,
        GeneratedKind::Xor,
        GeneratedKind::Blobs,
    ];

    /// Its name in the language.
    pub fn name(self) -> &'static str {
        match self {
            GeneratedKind::Moons => "moons",
            GeneratedKind::Circles => "circles",
            GeneratedKind::Spiral => "spiral",
            GeneratedKind::Xor => "xor",
            GeneratedKind::Blobs => "blobs",
        }
    }
}

impl Source {
    /// The source as messages name it: the generated set, the CSV file or the IDX folder.
    pub fn name(&self) -> String {
        match self {
            Source::Idx { directory, .. } => format!("`{}`", directory.display()),
            Source::Csv { path, .. } => format!("`{}`", path.display()),
            Source::Generated { kind, .. } => format!("`{}`", kind.name()),
        }
    }

    /// The fraction of examples held out for testing, where a fraction makes the test split.
    pub fn test_fraction(&self) -> Option<f64> {
        match self {
            Source::Idx { .. }
            | Source::Csv {
                test: TestSplit::File { .. },
                ..
            } => None,
            Source::Csv {
                test: TestSplit::Fraction { fraction, .. },
                ..
            } => Some(*fraction),
            Source::Generated { test_fraction, .. } => Some(*test_fraction),
        }
    }
}

/// The shape of a source's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Input width of one example.
    pub features: usize,
    /// Names of the input columns, where the source has them.
    pub feature_names: Option<Vec<String>>,
    /// What is predicted.
    pub target: TargetKind,
}

/// What a source's target is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Class indices `0..count`.
    Classes {
        /// Number of classes.
        count: usize,
        /// The label of each class index, for sources with named labels.
        names: Option<Vec<String>>,
    },
    /// One real number per example.
    Regression {
        /// The target column's name, where there is one.
        name: Option<String>,
    },
}
