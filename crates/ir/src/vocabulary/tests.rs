//! Every row of every table: unique names, a builder that reads only what its parameters
//! guarantee (built from its required arguments alone, and from every argument given), and
//! defaults that name real rows.

use std::path::Path;

use mlpc_syntax::Span;
use mlpc_syntax::ast::{Argument, Identifier, Value, ValueKind};

use super::*;
use crate::bind::Binder;
use crate::model::{Activation, LayerKind, Metric};
use crate::signature::{Limit, Parameter, Presence, Row, Table};

/// A valid value of a parameter's kind.
fn sample(parameter: &Parameter) -> Value {
    let number = |value: f64| ValueKind::Number {
        value,
        text: value.to_string(),
    };
    let identifier = |name: &str| ValueKind::Identifier(name.to_string());
    let kind = match parameter.kind {
        Kind::Integer(range) | Kind::Real(range) => number(match (range.low, range.high) {
            (Limit::Inclusive(low), _) => low,
            (Limit::Exclusive(low), Limit::Inclusive(high) | Limit::Exclusive(high)) => {
                (low + high) / 2.0
            }
            (Limit::Exclusive(low), Limit::Unbounded) => low + 1.0,
            (Limit::Unbounded, _) => 0.0,
        }),
        Kind::Boolean => ValueKind::Boolean(false),
        Kind::Text | Kind::Path => ValueKind::String("file.csv".into()),
        Kind::Word => identifier("name"),
        Kind::Activation(table) => identifier(table.rows[1].name),
        Kind::Initializer(table) => identifier(table.rows[1].name),
        Kind::Loss(table) => identifier(table.rows[1].name),
        Kind::Optimizer(table) => ValueKind::Call {
            name: Identifier {
                name: table.rows[0].name.into(),
                span: Span::default(),
            },
            arguments: vec![named(&table.rows[0].parameters[0])],
        },
        Kind::Schedule(table) => identifier(table.rows[1].name),
        Kind::Source(table) => identifier(table.rows[2].name),
        Kind::Task(table) => identifier(table.rows[1].name),
        Kind::Metrics(table) => ValueKind::List(vec![Value {
            kind: identifier(table.rows[0].name),
            span: Span::default(),
        }]),
    };
    Value {
        kind,
        span: Span::default(),
    }
}

fn named(parameter: &Parameter) -> Argument {
    Argument {
        name: Some(Identifier {
            name: parameter.name.into(),
            span: Span::default(),
        }),
        value: sample(parameter),
        span: Span::default(),
    }
}

/// Each row built from its required arguments alone, then from every argument.
fn build_every_row<T>(table: &'static Table<T>) -> Vec<(&'static Row<T>, T)> {
    let mut names: Vec<&str> = table.names();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        table.rows.len(),
        "{} names are unique",
        table.noun
    );
    let mut built = Vec::new();
    for row in table.rows {
        for every in [false, true] {
            let arguments: Vec<Argument> = row
                .parameters
                .iter()
                .filter(|parameter| every || parameter.presence == Presence::Required)
                // Every argument but the alternatives of another.
                .filter(|parameter| {
                    !row.parameters
                        .iter()
                        .any(|other| other.excludes.contains(&parameter.name))
                })
                .map(named)
                .collect();
            let mut binder = Binder::new(Path::new("models"));
            let value = binder.build(row, &arguments, Span::default());
            assert!(
                binder.errors.is_empty(),
                "{} `{}`: {:?}",
                table.noun,
                row.name,
                binder.errors
            );
            built.push((row, value.expect("binds")));
        }
    }
    built
}

#[test]
fn every_row_of_every_table_builds() {
    for (row, activation) in build_every_row(&ACTIVATIONS) {
        assert!(activation.name().starts_with(row.name), "{}", row.name);
    }
    build_every_row(&INITIALIZERS);
    for (row, line) in build_every_row(&LAYERS) {
        let takes_block = match line {
            NetworkLine::Layer(kind) => kind.takes_block(),
            NetworkLine::Input(_) => false,
        };
        assert_eq!(holds_layers(row), takes_block, "{}", row.name);
    }
    for (row, loss) in build_every_row(&LOSSES) {
        assert_eq!(loss.name(), row.name);
    }
    build_every_row(&OPTIMIZERS);
    build_every_row(&SCHEDULES);
    build_every_row(&SOURCES);
    build_every_row(&TASKS);
    for (row, metric) in build_every_row(&METRICS) {
        assert_eq!(metric.name(), row.name);
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let mut binder = Binder::new(Path::new(""));
    let dense = LAYERS.find("dense").expect("dense");
    let units = Argument {
        name: None,
        value: Value {
            kind: ValueKind::Number {
                value: 8.0,
                text: "8".into(),
            },
            span: Span::default(),
        },
        span: Span::default(),
    };
    assert_eq!(
        binder.build(dense, [&units], Span::default()),
        Some(NetworkLine::Layer(LayerKind::Dense {
            units: 8,
            activation: Activation::Identity,
            initializer: crate::model::Initializer::KaimingUniform,
            bias: true,
        }))
    );
    let training = crate::sections::default_training(&mut binder);
    assert_eq!(
        (
            training.epochs,
            training.batch_size,
            training.seed,
            training.metrics
        ),
        (10, 32, 0, Vec::<Metric>::new())
    );
    assert!(binder.errors.is_empty());
}
