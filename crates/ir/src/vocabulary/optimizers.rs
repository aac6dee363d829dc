//! Optimizers.

use crate::model::Optimizer;
use crate::signature::{DefaultValue, Kind, Parameter, Range, Row, Table, required, with_default};

const DECAY: Kind = Kind::Real(Range::UNIT_FROM_ZERO);
const POSITIVE: Kind = Kind::Real(Range::POSITIVE);
const NON_NEGATIVE: Kind = Kind::Real(Range::NON_NEGATIVE);

/// Adam's parameters, with `weight_decay`'s default.
const fn adam_parameters(weight_decay: f64) -> [Parameter; 5] {
    [
        with_default("lr", POSITIVE, DefaultValue::Real(1e-3)),
        with_default("beta1", DECAY, DefaultValue::Real(0.9)),
        with_default("beta2", DECAY, DefaultValue::Real(0.999)),
        with_default("epsilon", POSITIVE, DefaultValue::Real(1e-8)),
        with_default(
            "weight_decay",
            NON_NEGATIVE,
            DefaultValue::Real(weight_decay),
        ),
    ]
}

/// Every optimizer.
pub static OPTIMIZERS: Table<Optimizer> = Table {
    noun: "optimizer",
    rows: &[
        Row {
            name: "sgd",
            parameters: &[
                required("lr", POSITIVE),
                with_default("momentum", DECAY, DefaultValue::Real(0.0)),
                with_default("nesterov", Kind::Boolean, DefaultValue::Boolean(false)),
                with_default("weight_decay", NON_NEGATIVE, DefaultValue::Real(0.0)),
            ],
            example: "optimizer sgd(lr = 0.1, momentum = 0.9)",
            build: |bound| Optimizer::Sgd {
                lr: bound.real("lr"),
                momentum: bound.real("momentum"),
                nesterov: bound.boolean("nesterov"),
                weight_decay: bound.real("weight_decay"),
            },
        },
        Row {
            name: "adam",
            parameters: &adam_parameters(0.0),
            example: "optimizer adam(lr = 0.001)",
            build: |bound| Optimizer::Adam {
                lr: bound.real("lr"),
                beta1: bound.real("beta1"),
                beta2: bound.real("beta2"),
                epsilon: bound.real("epsilon"),
                weight_decay: bound.real("weight_decay"),
            },
        },
        Row {
            name: "adamw",
            parameters: &adam_parameters(0.01),
            example: "optimizer adamw(lr = 0.001, weight_decay = 0.01)",
            build: |bound| Optimizer::AdamW {
                lr: bound.real("lr"),
                beta1: bound.real("beta1"),
                beta2: bound.real("beta2"),
                epsilon: bound.real("epsilon"),
                weight_decay: bound.real("weight_decay"),
            },
        },
    ],
};
