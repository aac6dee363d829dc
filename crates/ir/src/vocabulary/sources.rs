//! Data sources: IDX image sets, CSV files and generated 2-D sets.

use mlpc_data::{CsvTask, GeneratedKind, Source, TestSplit};

use crate::bound::Bound;
use crate::signature::{
    DefaultValue, Kind, Parameter, Range, Row, Table, optional, required, with_default,
};
use crate::vocabulary::shared::SEED;

/// A held-out fraction: in (0, 1), so that both splits can hold examples.
const FRACTION: Kind = Kind::Real(Range::UNIT_OPEN);

/// The parameters every generated set has, with its own default noise.
const fn generated_parameters(noise: f64) -> [Parameter; 4] {
    [
        with_default(
            "n",
            Kind::Integer(Range::at_least(4)),
            DefaultValue::Integer(1000),
        ),
        with_default(
            "noise",
            Kind::Real(Range::NON_NEGATIVE),
            DefaultValue::Real(noise),
        ),
        SEED,
        with_default("test_fraction", FRACTION, DefaultValue::Real(0.25)),
    ]
}

/// A generated set's parameters, and its number of classes.
const fn with_classes(noise: f64) -> [Parameter; 5] {
    let [n, noise, seed, test_fraction] = generated_parameters(noise);
    [
        n,
        noise,
        seed,
        test_fraction,
        with_default(
            "classes",
            Kind::Integer(Range::at_least(2)),
            DefaultValue::Integer(3),
        ),
    ]
}

/// A generated set's parameters, and the ratio of its inner circle to its outer one.
const fn with_factor(noise: f64) -> [Parameter; 5] {
    let [n, noise, seed, test_fraction] = generated_parameters(noise);
    [
        n,
        noise,
        seed,
        test_fraction,
        with_default("factor", FRACTION, DefaultValue::Real(0.5)),
    ]
}

/// The classes of a generated set of a kind without a `classes` parameter (moons, circles,
/// xor): two, as its loader makes, so that the IR says what the data holds.
const TWO_CLASSES: usize = 2;
/// What a generated set of a kind without a `factor` parameter records: its loader ignores
/// it. (The IR keeps it, so that its JSON has one shape.)
const UNUSED_FACTOR: f64 = 0.5;

fn generated(bound: &Bound, kind: GeneratedKind, classes: usize, factor: f64) -> Source {
    Source::Generated {
        kind,
        samples: bound.count("n"),
        noise: bound.real("noise"),
        classes,
        factor,
        seed: bound.count("seed") as u64,
        test_fraction: bound.real("test_fraction"),
    }
}

/// Every data source.
pub static SOURCES: Table<Source> = Table {
    noun: "data source",
    rows: &[
        Row {
            name: "mnist",
            parameters: &[
                required("path", Kind::Path),
                optional("train_limit", Kind::Integer(Range::at_least(1))),
                optional("test_limit", Kind::Integer(Range::at_least(1))),
            ],
            example: "data mnist(\"../data/mnist\")",
            build: |bound| Source::Idx {
                directory: bound.path("path"),
                train_limit: bound
                    .optional_integer("train_limit")
                    .map(|limit| limit as usize),
                test_limit: bound
                    .optional_integer("test_limit")
                    .map(|limit| limit as usize),
            },
        },
        Row {
            name: "csv",
            parameters: &[
                required("path", Kind::Path),
                required("target", Kind::Text),
                with_default("task", Kind::Task(&TASKS), DefaultValue::Named("auto")),
                with_default("standardize", Kind::Boolean, DefaultValue::Boolean(true)),
                with_default(
                    "standardize_target",
                    Kind::Boolean,
                    DefaultValue::Boolean(true),
                ),
                optional("test", Kind::Path).excluding(&["test_fraction", "split_seed"]),
                with_default("test_fraction", FRACTION, DefaultValue::Real(0.2)),
                with_default(
                    "split_seed",
                    Kind::Integer(Range::at_least(0)),
                    DefaultValue::Integer(0),
                ),
            ],
            example: "data csv(\"../data/iris.csv\", target = \"species\")",
            build: |bound| Source::Csv {
                path: bound.path("path"),
                target: bound.text("target"),
                task: bound.task("task"),
                standardize: bound.boolean("standardize"),
                standardize_target: bound.boolean("standardize_target"),
                test: match bound.optional_path("test") {
                    Some(path) => TestSplit::File { path },
                    None => TestSplit::Fraction {
                        fraction: bound.real("test_fraction"),
                        seed: bound.count("split_seed") as u64,
                    },
                },
            },
        },
        Row {
            name: "moons",
            parameters: &generated_parameters(0.1),
            example: "data moons(n = 1000, noise = 0.1)",
            build: |bound| generated(bound, GeneratedKind::Moons, TWO_CLASSES, UNUSED_FACTOR),
        },
        Row {
            name: "circles",
            parameters: &with_factor(0.05),
            example: "data circles(n = 1000, noise = 0.05, factor = 0.5)",
            build: |bound| {
                let factor = bound.real("factor");
                generated(bound, GeneratedKind::Circles, TWO_CLASSES, factor)
            },
        },
        Row {
            name: "spiral",
            parameters: &with_classes(0.1),
            example: "data spiral(n = 900, classes = 3)",
            build: |bound| {
                let classes = bound.count("classes");
                generated(bound, GeneratedKind::Spiral, classes, UNUSED_FACTOR)
            },
        },
        Row {
            name: "xor",
            parameters: &generated_parameters(0.15),
            example: "data xor(n = 400, noise = 0.15)",
            build: |bound| generated(bound, GeneratedKind::Xor, TWO_CLASSES, UNUSED_FACTOR),
        },
        Row {
            name: "blobs",
            parameters: &with_classes(1.0),
            example: "data blobs(n = 600, classes = 3)",
            build: |bound| {
                let classes = bound.count("classes");
                generated(bound, GeneratedKind::Blobs, classes, UNUSED_FACTOR)
            },
        },
    ],
};

/// The tasks a CSV file's target can be read for.
pub static TASKS: Table<CsvTask> = Table {
    noun: "task",
    rows: &[
        Row {
            name: "auto",
            parameters: &[],
            example: "task = auto",
            build: |_| CsvTask::Auto,
        },
        Row {
            name: "classification",
            parameters: &[],
            example: "task = classification",
            build: |_| CsvTask::Classification,
        },
        Row {
            name: "regression",
            parameters: &[],
            example: "task = regression",
            build: |_| CsvTask::Regression,
        },
    ],
};
