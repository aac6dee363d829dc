//! The settings of `train { }`, and the metrics it may list.

use crate::model::{Metric, Training};
use crate::signature::{
    DefaultValue, Kind, Range, Row, Signature, Table, Written, optional, with_default,
};
use crate::vocabulary::shared::SEED;

/// Every metric.
pub static METRICS: Table<Metric> = Table {
    noun: "metric",
    rows: &[
        Row {
            name: "accuracy",
            parameters: &[],
            example: "metrics = [accuracy]",
            build: |_| Metric::Accuracy,
        },
        Row {
            name: "rmse",
            parameters: &[],
            example: "metrics = [rmse]",
            build: |_| Metric::Rmse,
        },
        Row {
            name: "mae",
            parameters: &[],
            example: "metrics = [mae]",
            build: |_| Metric::Mae,
        },
        Row {
            name: "r2",
            parameters: &[],
            example: "metrics = [r2]",
            build: |_| Metric::R2,
        },
    ],
};

/// The training settings. `metrics` has no default here: the checker gives the task's.
pub static TRAIN: Row<Training> = Row {
    name: "train",
    parameters: &[
        with_default(
            "epochs",
            Kind::Integer(Range::at_least(1)),
            DefaultValue::Integer(10),
        ),
        with_default(
            "batch_size",
            Kind::Integer(Range::at_least(1)),
            DefaultValue::Integer(32),
        ),
        with_default("shuffle", Kind::Boolean, DefaultValue::Boolean(true)),
        SEED,
        optional("metrics", Kind::Metrics(&METRICS)),
        with_default(
            "validation",
            Kind::Real(Range::UNIT_FROM_ZERO),
            DefaultValue::Real(0.0),
        ),
    ],
    example: "train { epochs = 10, batch_size = 64, seed = 42 }",
    build: |bound| Training {
        epochs: bound.count("epochs"),
        batch_size: bound.count("batch_size"),
        shuffle: bound.boolean("shuffle"),
        seed: bound.count("seed") as u64,
        metrics: bound.optional_metrics("metrics").unwrap_or_default(),
        validation: bound.real("validation"),
    },
};

/// The training settings as binding sees them: settings of a block, not arguments.
pub fn train_signature() -> Signature {
    Signature {
        written: Written::Settings,
        ..TRAIN.signature()
    }
}
