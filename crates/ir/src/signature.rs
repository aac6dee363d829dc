//! The building blocks of the vocabulary: a [`Row`] is one name of the language (a layer kind,
//! an activation, a loss...) with its [`Parameter`]s and the builder that turns its bound
//! arguments into an IR value; a [`Table`] holds the rows of one kind of name.
//!
//! A parameter's [`Kind`] is its type and valid [`Range`] (`range.rs`); its [`Presence`] says whether it
//! must be written, may be left out, or has a default (which hints show: `momentum = 0`). A
//! row is one value: its name, its parameters and its builder cannot be added apart.

use std::fmt;

use mlpc_data::{CsvTask, Source};

pub use crate::range::{Limit, Nearest, Range, number};

use crate::bound::Bound;
use crate::model::{Activation, Initializer, Loss, Metric, Optimizer, Schedule};

/// The type and valid range of a parameter.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A whole number in a range.
    Integer(Range),
    /// A real number in a range.
    Real(Range),
    /// `true` or `false`.
    Boolean,
    /// A string.
    Text,
    /// A string naming a file or folder, relative to the model file's folder.
    Path,
    /// A name or a string (a model's name).
    Word,
    /// An activation, by name or call.
    Activation(&'static Table<Activation>),
    /// A weight initializer, by name or call.
    Initializer(&'static Table<Initializer>),
    /// A loss, by name or call.
    Loss(&'static Table<Loss>),
    /// An optimizer, by name or call.
    Optimizer(&'static Table<Optimizer>),
    /// A learning-rate schedule, by name or call.
    Schedule(&'static Table<Schedule>),
    /// A data source, by call.
    Source(&'static Table<Source>),
    /// The task of a CSV file's target, by name.
    Task(&'static Table<CsvTask>),
    /// A list of metrics, by name.
    Metrics(&'static Table<Metric>),
}

impl Kind {
    /// What a value of this kind is, for messages: `a whole number`, `one of relu, tanh`.
    pub fn describe(&self) -> String {
        let one_of = |names: Vec<&str>| format!("one of {}", names.join(", "));
        match self {
            Kind::Integer(_) => "a whole number".into(),
            Kind::Real(_) => "a number".into(),
            Kind::Boolean => "`true` or `false`".into(),
            Kind::Text | Kind::Path => "a string in double quotes".into(),
            Kind::Word => "a name".into(),
            Kind::Activation(table) => one_of(table.names()),
            Kind::Initializer(table) => one_of(table.names()),
            Kind::Loss(table) => one_of(table.names()),
            Kind::Optimizer(table) => one_of(table.names()),
            Kind::Schedule(table) => one_of(table.names()),
            Kind::Source(table) => one_of(table.names()),
            Kind::Task(table) => one_of(table.names()),
            Kind::Metrics(table) => format!(
                "a list of {} names: [{}]",
                table.noun,
                table.names().join(", ")
            ),
        }
    }

    /// The valid values of a number, for messages: `a whole number ≥ 1`, `in [0, 1)`.
    pub fn range_text(&self) -> Option<String> {
        match self {
            Kind::Integer(range) => Some(format!("a whole number {range}")),
            Kind::Real(range) => Some(range.to_string()),
            Kind::Boolean
            | Kind::Text
            | Kind::Path
            | Kind::Word
            | Kind::Activation(_)
            | Kind::Initializer(_)
            | Kind::Loss(_)
            | Kind::Optimizer(_)
            | Kind::Schedule(_)
            | Kind::Source(_)
            | Kind::Task(_)
            | Kind::Metrics(_) => None,
        }
    }
}

/// A parameter's default value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    /// A whole number.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// `true` or `false`.
    Boolean(bool),
    /// The row of this name in the parameter's table, with its own defaults.
    Named(&'static str),
}

impl fmt::Display for DefaultValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultValue::Integer(value) => write!(formatter, "{value}"),
            DefaultValue::Real(value) => write!(formatter, "{}", number(*value)),
            DefaultValue::Boolean(value) => write!(formatter, "{value}"),
            DefaultValue::Named(name) => write!(formatter, "{name}"),
        }
    }
}

/// Whether a parameter must be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Presence {
    /// It must be written.
    Required,
    /// It may be left out, and then has no value (`test = "file.csv"`).
    Optional,
    /// It may be left out, and then has this value.
    Default(DefaultValue),
}

/// One parameter of a row.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    /// Its name, as written in `name = value`.
    pub name: &'static str,
    /// Its type and range.
    pub kind: Kind,
    /// Whether it must be written, and its default.
    pub presence: Presence,
    /// Parameters that are alternatives to it: written together with it, one is an error.
    pub excludes: &'static [&'static str],
}

impl Parameter {
    /// The parameter, with `others` as its alternatives (none may be written with it).
    pub const fn excluding(self, others: &'static [&'static str]) -> Parameter {
        Parameter {
            excludes: others,
            ..self
        }
    }
}

/// A parameter that must be written.
pub const fn required(name: &'static str, kind: Kind) -> Parameter {
    Parameter {
        name,
        kind,
        presence: Presence::Required,
        excludes: &[],
    }
}

/// A parameter that may be left out, and then has no value.
pub const fn optional(name: &'static str, kind: Kind) -> Parameter {
    Parameter {
        name,
        kind,
        presence: Presence::Optional,
        excludes: &[],
    }
}

/// A parameter with a default.
pub const fn with_default(name: &'static str, kind: Kind, default: DefaultValue) -> Parameter {
    Parameter {
        name,
        kind,
        presence: Presence::Default(default),
        excludes: &[],
    }
}

impl fmt::Display for Parameter {
    /// `` `lr` ``, `` `momentum = 0` `` or `` `test` (optional) ``.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.presence {
            Presence::Required => write!(formatter, "`{}`", self.name),
            Presence::Optional => write!(formatter, "`{}` (optional)", self.name),
            Presence::Default(default) => write!(formatter, "`{} = {default}`", self.name),
        }
    }
}

/// The parameters of a row, as hints list them: `` `lr`, `momentum = 0` ``.
pub fn parameter_list(parameters: &[Parameter]) -> String {
    let words: Vec<String> = parameters.iter().map(Parameter::to_string).collect();
    words.join(", ")
}

/// How the arguments of something are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// As arguments: `sgd(lr = 0.1)`, `dense 128 relu`.
    Arguments,
    /// As settings of a block: `train { epochs = 10 }`.
    Settings,
}

impl Written {
    /// The noun for one of them: `argument` or `setting`.
    pub fn noun(self) -> &'static str {
        match self {
            Written::Arguments => "argument",
            Written::Settings => "setting",
        }
    }
}

/// What binding needs to know of something that takes arguments.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// Its name in the language.
    pub name: &'static str,
    /// Its parameters; positional arguments bind in this order.
    pub parameters: &'static [Parameter],
    /// An example of its use, for hints.
    pub example: &'static str,
    /// Arguments or settings.
    pub written: Written,
}

/// One name of the language: its parameters, an example, and how it becomes IR.
pub struct Row<T: 'static> {
    /// Its name in the language.
    pub name: &'static str,
    /// Its parameters; positional arguments bind in this order.
    pub parameters: &'static [Parameter],
    /// An example of its use, for hints.
    pub example: &'static str,
    /// The IR value, from arguments bound to every parameter that is required or has a
    /// default.
    pub build: fn(&Bound) -> T,
}

impl<T> Row<T> {
    /// What binding needs to know of it.
    pub fn signature(&self) -> Signature {
        Signature {
            name: self.name,
            parameters: self.parameters,
            example: self.example,
            written: Written::Arguments,
        }
    }
}

impl<T> fmt::Debug for Row<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Row")
            .field("name", &self.name)
            .field("parameters", &self.parameters)
            .finish_non_exhaustive()
    }
}

/// The rows of one kind of name: every activation, every loss...
pub struct Table<T: 'static> {
    /// What one of them is called in messages: `activation`, `data source`.
    pub noun: &'static str,
    /// The rows.
    pub rows: &'static [Row<T>],
}

impl<T> Table<T> {
    /// The row of this name.
    pub fn find(&self, name: &str) -> Option<&Row<T>> {
        self.rows.iter().find(|row| row.name == name)
    }

    /// Every row's name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.rows.iter().map(|row| row.name).collect()
    }
}

impl<T> fmt::Debug for Table<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Table")
            .field("noun", &self.noun)
            .field("rows", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_defaults_read_as_they_would_be_written() {
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(1e-8), "1e-8");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(0.0), "0");
        let parameters = [
            required("lr", Kind::Real(Range::POSITIVE)),
            with_default(
                "momentum",
                Kind::Real(Range::UNIT_FROM_ZERO),
                DefaultValue::Real(0.0),
            ),
            optional("test", Kind::Path),
        ];
        assert_eq!(
            parameter_list(&parameters),
            "`lr`, `momentum = 0`, `test` (optional)"
        );
    }
}
