//! Losses.

use crate::model::Loss;
use crate::signature::{DefaultValue, Kind, Range, Row, Table, with_default};

/// Every loss.
pub static LOSSES: Table<Loss> = Table {
    noun: "loss",
    rows: &[
        Row {
            name: "cross_entropy",
            parameters: &[],
            example: "loss cross_entropy",
            build: |_| Loss::CrossEntropy,
        },
        Row {
            name: "binary_cross_entropy",
            parameters: &[],
            example: "loss binary_cross_entropy",
            build: |_| Loss::BinaryCrossEntropy,
        },
        Row {
            name: "mse",
            parameters: &[],
            example: "loss mse",
            build: |_| Loss::Mse,
        },
        Row {
            name: "mae",
            parameters: &[],
            example: "loss mae",
            build: |_| Loss::Mae,
        },
        Row {
            name: "huber",
            parameters: &[with_default(
                "delta",
                Kind::Real(Range::POSITIVE),
                DefaultValue::Real(1.0),
            )],
            example: "loss huber(delta = 1.0)",
            build: |bound| Loss::Huber {
                delta: bound.real("delta"),
            },
        },
    ],
};
