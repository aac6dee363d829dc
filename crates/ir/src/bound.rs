//! [`Bound`]: the arguments of one call, bound to its row's parameters, defaults filled in.
//!
//! A row's builder reads its parameters through the typed accessors. Binding guarantees that
//! every parameter that is required or has a default holds a value of its kind, so an
//! accessor can only fail on a row whose builder reads what its parameters do not declare: a
//! bug that the tests of every row (`vocabulary`) catch, never a user's input.

use std::path::PathBuf;

use mlpc_data::{CsvTask, Source};
use mlpc_syntax::Span;

use crate::model::{Activation, Initializer, Loss, Metric, Optimizer, Schedule};

/// A value bound to a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundValue {
    /// A whole number.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string or a name.
    Text(String),
    /// A path, relative to the working folder.
    Path(PathBuf),
    /// An activation.
    Activation(Activation),
    /// An initializer.
    Initializer(Initializer),
    /// A loss.
    Loss(Loss),
    /// An optimizer.
    Optimizer(Optimizer),
    /// A schedule.
    Schedule(Schedule),
    /// A data source.
    Source(Source),
    /// A CSV target's task.
    Task(CsvTask),
    /// A list of metrics.
    Metrics(Vec<Metric>),
}

/// Arguments bound to a row's parameters: each value, and where it was written (defaults were
/// not written anywhere).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bound {
    values: Vec<(&'static str, BoundValue, Option<Span>)>,
    /// The whole call, for errors about it.
    pub span: Span,
}

/// Reports a builder that reads a parameter its row does not give a value of this kind.
fn unbound(name: &str, kind: &str) -> ! {
    panic!("a row's builder reads `{name}` as {kind}, which its parameters do not guarantee")
}

macro_rules! accessors {
    ($($(#[$doc:meta])* $method:ident -> $type:ty, $variant:ident, $kind:literal;)*) => {
        $(
            $(#[$doc])*
            pub fn $method(&self, name: &str) -> $type {
                match self.value(name) {
                    Some(BoundValue::$variant(value)) => value.clone(),
                    _ => unbound(name, $kind),
                }
            }
        )*
    };
}

impl Bound {
    /// An empty binding of a call at `span`.
    pub fn new(span: Span) -> Bound {
        Bound {
            values: Vec::new(),
            span,
        }
    }

    /// Binds `value` to the parameter `name`, written at `written` (or a default).
    pub fn insert(&mut self, name: &'static str, value: BoundValue, written: Option<Span>) {
        self.values.push((name, value, written));
    }

    /// Whether the parameter `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    fn value(&self, name: &str) -> Option<&BoundValue> {
        self.values
            .iter()
            .find(|(parameter, _, _)| *parameter == name)
            .map(|(_, value, _)| value)
    }

    /// Where the argument `name` was written, if it was.
    pub fn span_of(&self, name: &str) -> Option<Span> {
        self.values
            .iter()
            .find(|(parameter, _, _)| *parameter == name)
            .and_then(|(_, _, span)| *span)
    }

    /// A whole number, if the parameter has one (for a parameter that may be left out).
    pub fn optional_integer(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            Some(BoundValue::Integer(value)) => Some(*value),
            None => None,
            Some(_) => unbound(name, "a whole number"),
        }
    }

    /// A path, if the parameter has one (for a parameter that may be left out).
    pub fn optional_path(&self, name: &str) -> Option<PathBuf> {
        match self.value(name) {
            Some(BoundValue::Path(value)) => Some(value.clone()),
            None => None,
            Some(_) => unbound(name, "a path"),
        }
    }

    /// A list of metrics, if the parameter has one (for a parameter that may be left out).
    pub fn optional_metrics(&self, name: &str) -> Option<Vec<Metric>> {
        match self.value(name) {
            Some(BoundValue::Metrics(value)) => Some(value.clone()),
            None => None,
            Some(_) => unbound(name, "a list of metrics"),
        }
    }

    accessors! {
        /// A whole number.
        integer -> i64, Integer, "a whole number";
        /// A real number.
        real -> f64, Real, "a real number";
        /// A boolean.
        boolean -> bool, Boolean, "a boolean";
        /// A string or a name.
        text -> String, Text, "a string";
        /// A path, relative to the working folder.
        path -> PathBuf, Path, "a path";
        /// An activation.
        activation -> Activation, Activation, "an activation";
        /// An initializer.
        initializer -> Initializer, Initializer, "an initializer";
        /// A loss.
        loss -> Loss, Loss, "a loss";
        /// An optimizer.
        optimizer -> Optimizer, Optimizer, "an optimizer";
        /// A schedule.
        schedule -> Schedule, Schedule, "a schedule";
        /// A data source.
        source -> Source, Source, "a data source";
        /// A CSV target's task.
        task -> CsvTask, Task, "a task";
    }

    /// A whole number that counts something (a width, a number of examples).
    pub fn count(&self, name: &str) -> usize {
        usize::try_from(self.integer(name)).unwrap_or_else(|_| unbound(name, "a count"))
    }
}
