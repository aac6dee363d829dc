//! Learning-rate schedules, in epochs.

use crate::model::Schedule;
use crate::signature::{DefaultValue, Kind, Range, Row, Table, with_default};

/// Every schedule.
pub static SCHEDULES: Table<Schedule> = Table {
    noun: "schedule",
    rows: &[
        Row {
            name: "constant",
            parameters: &[],
            example: "schedule constant",
            build: |_| Schedule::Constant,
        },
        Row {
            name: "step",
            parameters: &[
                with_default(
                    "every",
                    Kind::Integer(Range::at_least(1)),
                    DefaultValue::Integer(10),
                ),
                with_default(
                    "gamma",
                    Kind::Real(Range::UNIT_TO_ONE),
                    DefaultValue::Real(0.1),
                ),
            ],
            example: "schedule step(every = 5, gamma = 0.5)",
            build: |bound| Schedule::Step {
                every: bound.count("every"),
                gamma: bound.real("gamma"),
            },
        },
        Row {
            name: "exponential",
            parameters: &[with_default(
                "gamma",
                Kind::Real(Range::UNIT_TO_ONE),
                DefaultValue::Real(0.95),
            )],
            example: "schedule exponential(gamma = 0.9)",
            build: |bound| Schedule::Exponential {
                gamma: bound.real("gamma"),
            },
        },
        Row {
            name: "cosine",
            parameters: &[with_default(
                "min_lr",
                Kind::Real(Range::NON_NEGATIVE),
                DefaultValue::Real(0.0),
            )],
            example: "schedule cosine",
            build: |bound| Schedule::Cosine {
                min_lr: bound.real("min_lr"),
            },
        },
    ],
};
