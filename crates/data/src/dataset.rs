//! Examples in host memory: [`Dataset`] and the [`Splits`] a source loads into.

use crate::holdout::HoldOut;
use serde::{Deserialize, Serialize};

/// Examples as a row-major `[rows, features]` matrix and their targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Row-major features, `rows * feature_count` values.
    pub features: Vec<f32>,
    /// Width of one row.
    pub feature_count: usize,
    /// One target per row.
    pub targets: Targets,
}

/// The targets of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices.
    Classes(Vec<u32>),
    /// Real values (standardised if the source says so).
    Values(Vec<f32>),
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes(classes) => classes.len(),
            Targets::Values(values) => values.len(),
        }
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let width = self.feature_count;
        let mut features = Vec::with_capacity(indices.len() * width);
        for &index in indices {
            features.extend_from_slice(&self.features[index * width..(index + 1) * width]);
        }
        let targets = match &self.targets {
            Targets::Classes(classes) => {
                Targets::Classes(indices.iter().map(|&i| classes[i]).collect())
            }
            Targets::Values(values) => {
                Targets::Values(indices.iter().map(|&i| values[i]).collect())
            }
        };
        Dataset {
            features,
            feature_count: width,
            targets,
        }
    }
}

/// Mean and standard deviation of a column, fitted on training rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (1 where the column is constant).
    pub deviation: f64,
}

impl Standardization {
    /// Fits mean and deviation to values.
    pub fn fit(values: impl Iterator<Item = f64> + Clone) -> Self {
        let count = values.clone().count().max(1) as f64;
        let mean = values.clone().sum::<f64>() / count;
        let variance = values.map(|value| (value - mean).powi(2)).sum::<f64>() / count;
        let deviation = if variance.sqrt() > 1e-12 {
            variance.sqrt()
        } else {
            1.0
        };
        Standardization { mean, deviation }
    }

    /// `(value - mean) / deviation`
    pub fn apply(&self, value: f64) -> f64 {
        (value - self.mean) / self.deviation
    }

    /// Standardises row-major `features` in place, column `c` with `statistics[c]`.
    pub fn apply_to_rows(statistics: &[Standardization], features: &mut [f32]) {
        for row in features.chunks_mut(statistics.len().max(1)) {
            for (value, statistic) in row.iter_mut().zip(statistics) {
                *value = statistic.apply(*value as f64) as f32;
            }
        }
    }
}

/// A source loaded: train and test examples, and what is needed to read predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Training examples.
    pub train: Dataset,
    /// Test examples.
    pub test: Dataset,
    /// The label of each class index, for sources with named labels.
    pub class_names: Option<Vec<String>>,
    /// How a regression target was standardised, to report metrics in its own units.
    pub target_standardization: Option<Standardization>,
    /// How each feature was standardised, to apply to new inputs.
    pub feature_standardization: Option<Vec<Standardization>>,
    /// The name of each feature, for sources that name them (a CSV file's header).
    pub feature_names: Option<Vec<String>>,
}

impl Splits {
    /// The training rows statistics are fitted on: all, or those a hold-out leaves.
    fn fitted_rows(&self, hold_out: Option<HoldOut>) -> Vec<usize> {
        match hold_out {
            Some(hold_out) => hold_out.split(self.train.len()).0,
            None => (0..self.train.len()).collect(),
        }
    }

    /// Standardises features in place with the statistics of the training split (less the
    /// rows `hold_out` keeps for validation).
    pub fn standardize_features(&mut self, hold_out: Option<HoldOut>) {
        let width = self.train.feature_count;
        let rows = self.fitted_rows(hold_out);
        let features = &self.train.features;
        let statistics: Vec<Standardization> = (0..width)
            .map(|column| {
                Standardization::fit(
                    rows.iter()
                        .map(|&row| features[row * width + column] as f64),
                )
            })
            .collect();
        for dataset in [&mut self.train, &mut self.test] {
            for row in dataset.features.chunks_mut(width) {
                for (value, statistic) in row.iter_mut().zip(&statistics) {
                    *value = statistic.apply(*value as f64) as f32;
                }
            }
        }
        self.feature_standardization = Some(statistics);
    }

    /// Standardises a regression target in place with the statistics of the training split
    /// (less the rows `hold_out` keeps for validation).
    pub fn standardize_target(&mut self, hold_out: Option<HoldOut>) {
        let rows = self.fitted_rows(hold_out);
        let Targets::Values(train) = &self.train.targets else {
            return;
        };
        let statistic = Standardization::fit(rows.iter().map(|&row| train[row] as f64));
        for dataset in [&mut self.train, &mut self.test] {
            if let Targets::Values(values) = &mut dataset.targets {
                for value in values.iter_mut() {
                    *value = statistic.apply(*value as f64) as f32;
                }
            }
        }
        self.target_standardization = Some(statistic);
    }
}
