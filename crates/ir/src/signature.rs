//! Parameter tables and argument binding.
//!
//! Every callable thing of the language (a layer kind, a loss, an optimizer, a data source,
//! the `train` settings...) is a [`Callable`]: a name and a table of [`Parameter`]s, each with
//! a [`Kind`] that carries its valid range. [`bind`] matches written arguments (positional in
//! table order, then named) against a table and reports unknown names with a did-you-mean,
//! duplicates, extra positionals, missing required arguments, wrong types and out-of-range
//! values, all of them, never stopping at the first. Defaults live next to the code that reads
//! a [`Bound`] value, in `tables.rs`.

use std::collections::HashMap;

use mlpc_syntax::Span;
use mlpc_syntax::ast::{Argument, Value, ValueKind};
use mlpc_syntax::format::value_text;

use crate::error::CheckError;

/// The type and valid range of a parameter.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A whole number of at least `min`.
    Integer {
        /// Smallest valid value.
        min: i64,
    },
    /// A real number in a range.
    Real {
        /// Lower bound.
        min: f64,
        /// Whether `min` itself is valid.
        min_inclusive: bool,
        /// Upper bound, if any.
        max: Option<f64>,
        /// Whether `max` itself is valid.
        max_inclusive: bool,
    },
    /// `true` or `false`.
    Boolean,
    /// A string.
    Text,
    /// A name or a string (a model name).
    Word,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A list of these names.
    Names(&'static [&'static str]),
    /// A name or call resolved against another table: an activation, an initializer...
    Nested(&'static [Callable]),
}

impl Kind {
    /// A real number in `[min, max)`.
    pub const fn unit_interval_open() -> Kind {
        Kind::Real {
            min: 0.0,
            min_inclusive: true,
            max: Some(1.0),
            max_inclusive: false,
        }
    }

    /// A real number `> 0`.
    pub const fn positive() -> Kind {
        Kind::Real {
            min: 0.0,
            min_inclusive: false,
            max: None,
            max_inclusive: false,
        }
    }

    /// A real number `≥ 0`.
    pub const fn non_negative() -> Kind {
        Kind::Real {
            min: 0.0,
            min_inclusive: true,
            max: None,
            max_inclusive: false,
        }
    }

    /// Any real number.
    pub const fn any_real() -> Kind {
        Kind::Real {
            min: f64::NEG_INFINITY,
            min_inclusive: true,
            max: None,
            max_inclusive: false,
        }
    }

    fn expected(&self) -> String {
        match self {
            Kind::Integer { .. } => "a whole number".into(),
            Kind::Real { .. } => "a number".into(),
            Kind::Boolean => "`true` or `false`".into(),
            Kind::Text => "a string in double quotes".into(),
            Kind::Word => "a name".into(),
            Kind::Choice(names) => format!("one of {}", names.join(", ")),
            Kind::Names(names) => format!("a list of names from {}", names.join(", ")),
            Kind::Nested(table) => format!("one of {}", names_of(table).join(", ")),
        }
    }

    fn range(&self) -> String {
        match self {
            Kind::Integer { min } => format!("a whole number ≥ {min}"),
            Kind::Real {
                min,
                min_inclusive,
                max,
                max_inclusive,
            } => match max {
                Some(max) => format!(
                    "in {}{min}, {max}{}",
                    if *min_inclusive { "[" } else { "(" },
                    if *max_inclusive { "]" } else { ")" }
                ),
                None => format!("{} {min}", if *min_inclusive { "≥" } else { ">" }),
            },
            _ => String::new(),
        }
    }
}

/// One parameter of a callable.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    /// Its name, as written in `name = value`.
    pub name: &'static str,
    /// Its type and range.
    pub kind: Kind,
    /// Whether it must be given.
    pub required: bool,
}

/// Shorthand for an optional parameter.
pub const fn optional(name: &'static str, kind: Kind) -> Parameter {
    Parameter {
        name,
        kind,
        required: false,
    }
}

/// Shorthand for a required parameter.
pub const fn required(name: &'static str, kind: Kind) -> Parameter {
    Parameter {
        name,
        kind,
        required: true,
    }
}

/// Something that takes arguments: a name and its parameter table.
#[derive(Debug, Clone, Copy)]
pub struct Callable {
    /// Its name in the language.
    pub name: &'static str,
    /// Its parameters; positional arguments bind in this order.
    pub parameters: &'static [Parameter],
    /// An example of its use, for hints.
    pub example: &'static str,
}

/// The names of a table's callables.
pub fn names_of(table: &[Callable]) -> Vec<String> {
    table
        .iter()
        .map(|callable| callable.name.to_string())
        .collect()
}

/// A value bound to a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundValue {
    /// A whole number.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string or word.
    Text(String),
    /// A list of names.
    Names(Vec<String>),
    /// A nested callable with its own bound arguments.
    Nested(&'static str, Bound),
}

/// Arguments bound to a callable's parameters, with where each was written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bound {
    values: HashMap<&'static str, (BoundValue, Span)>,
    /// The whole call, for errors about it.
    pub span: Span,
}

impl Bound {
    /// A whole number, or the default.
    pub fn integer(&self, name: &str, default: i64) -> i64 {
        match self.values.get(name) {
            Some((BoundValue::Integer(value), _)) => *value,
            _ => default,
        }
    }

    /// A whole number, if given.
    pub fn integer_given(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some((BoundValue::Integer(value), _)) => Some(*value),
            _ => None,
        }
    }

    /// A real number, or the default.
    pub fn real(&self, name: &str, default: f64) -> f64 {
        match self.values.get(name) {
            Some((BoundValue::Real(value), _)) => *value,
            _ => default,
        }
    }

    /// A real number, if given.
    pub fn real_given(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some((BoundValue::Real(value), _)) => Some(*value),
            _ => None,
        }
    }

    /// A boolean, or the default.
    pub fn boolean(&self, name: &str, default: bool) -> bool {
        match self.values.get(name) {
            Some((BoundValue::Boolean(value), _)) => *value,
            _ => default,
        }
    }

    /// A string, word or choice, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some((BoundValue::Text(value), _)) => Some(value),
            _ => None,
        }
    }

    /// A list of names, if given.
    pub fn names(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some((BoundValue::Names(value), _)) => Some(value),
            _ => None,
        }
    }

    /// A nested callable's name and arguments, if given.
    pub fn nested(&self, name: &str) -> Option<(&'static str, &Bound)> {
        match self.values.get(name) {
            Some((BoundValue::Nested(callee, bound), _)) => Some((callee, bound)),
            _ => None,
        }
    }

    /// Where an argument was written, if it was.
    pub fn span_of(&self, name: &str) -> Option<Span> {
        self.values.get(name).map(|(_, span)| *span)
    }
}

/// Finds `name` in a table, or reports it unknown with a suggestion.
pub fn lookup(
    table: &'static [Callable],
    what: &str,
    name: &str,
    span: Span,
    errors: &mut Vec<CheckError>,
) -> Option<&'static Callable> {
    let found = table.iter().find(|callable| callable.name == name);
    if found.is_none() {
        errors.push(unknown(
            what,
            name,
            span,
            table.iter().map(|callable| callable.name),
        ));
    }
    found
}

/// An "unknown" error with a did-you-mean from candidates.
pub fn unknown<'a>(
    what: &str,
    name: &str,
    span: Span,
    candidates: impl Iterator<Item = &'a str> + Clone,
) -> CheckError {
    let (what, context) = match what.split_once(" of ") {
        Some((what, owner)) => (what.to_string(), format!(" for {owner}")),
        None => (what.to_string(), String::new()),
    };
    CheckError::Unknown {
        what,
        context,
        name: name.to_string(),
        span,
        suggestion: mlpc_syntax::did_you_mean(name, candidates.clone()).map(str::to_string),
        valid: candidates.map(str::to_string).collect(),
    }
}

/// Binds written arguments to a callable's parameters. Errors are pushed; what could be
/// bound is returned either way, so checking goes on.
pub fn bind<'a>(
    callable: &Callable,
    arguments: impl IntoIterator<Item = &'a Argument>,
    span: Span,
    errors: &mut Vec<CheckError>,
) -> Bound {
    let mut bound = Bound {
        values: HashMap::new(),
        span,
    };
    // Parameters written, whether or not their value was valid: not "missing".
    let mut written: Vec<&str> = Vec::new();
    let mut positional = 0;
    let mut seen_named = false;
    for argument in arguments {
        let parameter = match &argument.name {
            Some(name) => {
                seen_named = true;
                match callable
                    .parameters
                    .iter()
                    .find(|parameter| parameter.name == name.name)
                {
                    Some(parameter) => parameter,
                    None => {
                        let what = format!("argument of `{}`", callable.name);
                        errors.push(unknown(
                            &what,
                            &name.name,
                            name.span,
                            callable.parameters.iter().map(|p| p.name),
                        ));
                        continue;
                    }
                }
            }
            None => {
                if seen_named {
                    errors.push(CheckError::Misplaced {
                        message: "a positional argument follows a named one".into(),
                        span: argument.span,
                        hint: "write positional arguments first, or name this one too".into(),
                    });
                    continue;
                }
                let Some(parameter) = callable.parameters.get(positional) else {
                    if callable.parameters.is_empty() {
                        errors.push(CheckError::Misplaced {
                            message: format!("`{}` takes no arguments", callable.name),
                            span: argument.span,
                            hint: format!("write it as `{}`", callable.example),
                        });
                        continue;
                    }
                    errors.push(CheckError::TooManyArguments {
                        callee: callable.name.into(),
                        most: callable.parameters.len(),
                        span: argument.span,
                        parameters: callable
                            .parameters
                            .iter()
                            .map(|p| p.name.to_string())
                            .collect(),
                    });
                    continue;
                };
                positional += 1;
                parameter
            }
        };
        if let Some((_, first)) = bound.values.get(parameter.name) {
            errors.push(CheckError::Duplicate {
                what: "argument".into(),
                name: parameter.name.into(),
                span: argument.span,
                first: *first,
            });
            continue;
        }
        written.push(parameter.name);
        if let Some(value) = convert(parameter, &argument.value, errors) {
            bound.values.insert(parameter.name, (value, argument.span));
        }
    }
    for parameter in callable
        .parameters
        .iter()
        .filter(|parameter| parameter.required)
    {
        if !written.contains(&parameter.name) {
            errors.push(CheckError::MissingArgument {
                callee: callable.name.into(),
                parameter: parameter.name.into(),
                span,
                example: callable.example.into(),
            });
        }
    }
    bound
}

/// Checks a value against a parameter's kind and range.
fn convert(
    parameter: &Parameter,
    value: &Value,
    errors: &mut Vec<CheckError>,
) -> Option<BoundValue> {
    let wrong_type = |errors: &mut Vec<CheckError>| {
        errors.push(CheckError::WrongType {
            parameter: parameter.name.into(),
            expected: parameter.kind.expected(),
            found: format!("{} `{}`", value.kind.describe(), value_text(value)),
            span: value.span,
        });
        None
    };
    let out_of_range = |errors: &mut Vec<CheckError>| {
        errors.push(CheckError::OutOfRange {
            parameter: parameter.name.into(),
            value: value_text(value),
            range: parameter.kind.range(),
            span: value.span,
        });
        None
    };
    match (&parameter.kind, &value.kind) {
        (Kind::Integer { min }, ValueKind::Number { value: number, .. }) => {
            if number.fract() != 0.0 || !number.is_finite() {
                return wrong_type(errors);
            }
            if *number < *min as f64 || *number > 1e15 {
                return out_of_range(errors);
            }
            Some(BoundValue::Integer(*number as i64))
        }
        (
            Kind::Real {
                min,
                min_inclusive,
                max,
                max_inclusive,
            },
            ValueKind::Number { value: number, .. },
        ) => {
            let above = if *min_inclusive {
                *number >= *min
            } else {
                *number > *min
            };
            let below = match max {
                Some(max) if *max_inclusive => *number <= *max,
                Some(max) => *number < *max,
                None => true,
            };
            if !(above && below && number.is_finite()) {
                return out_of_range(errors);
            }
            Some(BoundValue::Real(*number))
        }
        (Kind::Boolean, ValueKind::Boolean(flag)) => Some(BoundValue::Boolean(*flag)),
        (Kind::Text, ValueKind::String(text)) => Some(BoundValue::Text(text.clone())),
        (Kind::Word, ValueKind::String(text) | ValueKind::Identifier(text)) => {
            Some(BoundValue::Text(text.clone()))
        }
        (Kind::Choice(names), ValueKind::Identifier(name)) => {
            if names.contains(&name.as_str()) {
                Some(BoundValue::Text(name.clone()))
            } else {
                errors.push(unknown(
                    &format!("value of `{}`", parameter.name),
                    name,
                    value.span,
                    names.iter().copied(),
                ));
                None
            }
        }
        (Kind::Names(names), ValueKind::List(items)) => {
            let mut chosen = Vec::new();
            for item in items {
                match &item.kind {
                    ValueKind::Identifier(name) if names.contains(&name.as_str()) => {
                        chosen.push(name.clone())
                    }
                    ValueKind::Identifier(name) => errors.push(unknown(
                        &format!("value of `{}`", parameter.name),
                        name,
                        item.span,
                        names.iter().copied(),
                    )),
                    _ => {
                        errors.push(CheckError::WrongType {
                            parameter: parameter.name.into(),
                            expected: "a name".into(),
                            found: format!("{} `{}`", item.kind.describe(), value_text(item)),
                            span: item.span,
                        });
                    }
                }
            }
            Some(BoundValue::Names(chosen))
        }
        (Kind::Nested(table), ValueKind::Identifier(name)) => {
            let callable = lookup(table, parameter.name, name, value.span, errors)?;
            let bound = bind(callable, [], value.span, errors);
            Some(BoundValue::Nested(callable.name, bound))
        }
        (Kind::Nested(table), ValueKind::Call { name, arguments }) => {
            let callable = lookup(table, parameter.name, &name.name, name.span, errors)?;
            let bound = bind(callable, arguments, value.span, errors);
            Some(BoundValue::Nested(callable.name, bound))
        }
        _ => wrong_type(errors),
    }
}
