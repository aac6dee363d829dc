//! Weight initializers of dense layers (biases start at zero).

use crate::model::Initializer;
use crate::signature::{DefaultValue, Kind, Range, Row, Table, with_default};

/// Every initializer.
pub static INITIALIZERS: Table<Initializer> = Table {
    noun: "initializer",
    rows: &[
        Row {
            name: "kaiming_uniform",
            parameters: &[],
            example: "init = kaiming_uniform",
            build: |_| Initializer::KaimingUniform,
        },
        Row {
            name: "kaiming_normal",
            parameters: &[],
            example: "init = kaiming_normal",
            build: |_| Initializer::KaimingNormal,
        },
        Row {
            name: "xavier_uniform",
            parameters: &[],
            example: "init = xavier_uniform",
            build: |_| Initializer::XavierUniform,
        },
        Row {
            name: "xavier_normal",
            parameters: &[],
            example: "init = xavier_normal",
            build: |_| Initializer::XavierNormal,
        },
        Row {
            name: "normal",
            parameters: &[
                with_default("mean", Kind::Real(Range::ANY), DefaultValue::Real(0.0)),
                with_default("std", Kind::Real(Range::POSITIVE), DefaultValue::Real(0.01)),
            ],
            example: "init = normal(std = 0.01)",
            build: |bound| Initializer::Normal {
                mean: bound.real("mean"),
                std: bound.real("std"),
            },
        },
        Row {
            name: "uniform",
            parameters: &[
                with_default("low", Kind::Real(Range::ANY), DefaultValue::Real(-0.05)),
                with_default("high", Kind::Real(Range::ANY), DefaultValue::Real(0.05)),
            ],
            example: "init = uniform(-0.1, 0.1)",
            build: |bound| Initializer::Uniform {
                low: bound.real("low"),
                high: bound.real("high"),
            },
        },
        Row {
            name: "zeros",
            parameters: &[],
            example: "init = zeros",
            build: |_| Initializer::Zeros,
        },
    ],
};
