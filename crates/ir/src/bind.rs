//! Binding: written arguments matched to a row's parameters, checked, and built.
//!
//! [`Binder::bind`] matches arguments (positional in parameter order, then named) against a
//! [`Signature`] and reports unknown names (with a did-you-mean), duplicates, extra
//! positionals, missing required arguments, wrong types and values out of range: all of them,
//! never stopping at the first. A nested value (an activation in `dense 64 relu`, an optimizer
//! in `optimizer sgd(lr = 0.1)`) is looked up in its table, bound and built on the spot, so a
//! [`Bound`] holds IR values. Defaults are filled in; a call whose required parameter has no
//! valid value binds to nothing, and what depends on it is left out, not guessed.

use std::path::{Component, Path, PathBuf};

use mlpc_syntax::Span;
use mlpc_syntax::ast::{Argument, Value, ValueKind};
use mlpc_syntax::format::value_text;

use crate::bound::{Bound, BoundValue};
use crate::error::CheckError;
use crate::signature::{
    DefaultValue, Kind, Limit, Parameter, Presence, Range, Row, Signature, Table,
};

/// Largest whole number written exactly: integers are read as 64-bit floats.
pub const MAX_WHOLE_NUMBER: f64 = 9_007_199_254_740_992.0; // 2^53

/// Binds arguments, collecting every error it finds.
#[derive(Debug)]
pub struct Binder<'a> {
    /// The folder that paths in the model are relative to.
    folder: &'a Path,
    /// Every error found so far.
    pub errors: Vec<CheckError>,
}

impl<'a> Binder<'a> {
    /// A binder for a model whose paths are relative to `folder`.
    pub fn new(folder: &'a Path) -> Binder<'a> {
        Binder {
            folder,
            errors: Vec::new(),
        }
    }

    /// Binds and builds one row: `None` if a required parameter has no valid value.
    pub fn build<'x, T>(
        &mut self,
        row: &Row<T>,
        arguments: impl IntoIterator<Item = &'x Argument>,
        span: Span,
    ) -> Option<T> {
        let bound = self.bind(row.signature(), arguments, span)?;
        Some((row.build)(&bound))
    }

    /// Finds `name` in a table, or reports it unknown with a suggestion.
    pub fn lookup<T>(
        &mut self,
        table: &'static Table<T>,
        name: &str,
        span: Span,
    ) -> Option<&'static Row<T>> {
        let found = table.find(name);
        if found.is_none() {
            self.errors
                .push(unknown(table.noun, name, span, table.names()));
        }
        found
    }

    /// Binds written arguments to a signature's parameters and fills in defaults. Errors are
    /// collected; `None` if a required parameter has no valid value.
    pub fn bind<'x>(
        &mut self,
        signature: Signature,
        arguments: impl IntoIterator<Item = &'x Argument>,
        span: Span,
    ) -> Option<Bound> {
        let mut bound = Bound::new(span);
        // Parameters written, valid or not (an invalid one is reported, not also missing),
        // and those an unknown name was probably meant for.
        let mut written: Vec<(&'static str, Span)> = Vec::new();
        let mut meant: Vec<&'static str> = Vec::new();
        let mut positional = 0;
        let mut seen_named = false;
        for argument in arguments {
            let parameter = match &argument.name {
                Some(name) => {
                    seen_named = true;
                    let found = signature
                        .parameters
                        .iter()
                        .find(|parameter| parameter.name == name.name);
                    let Some(parameter) = found else {
                        let suggestion = mlpc_syntax::did_you_mean(
                            &name.name,
                            signature.parameters.iter().map(|parameter| parameter.name),
                        );
                        meant.extend(suggestion);
                        self.errors.push(CheckError::UnknownArgument {
                            callee: signature.name,
                            written: signature.written,
                            name: name.name.clone(),
                            span: name.span,
                            suggestion,
                            parameters: signature.parameters,
                        });
                        continue;
                    };
                    parameter
                }
                None if seen_named => {
                    self.errors.push(CheckError::PositionalAfterNamed {
                        span: argument.span,
                    });
                    continue;
                }
                None => {
                    let Some(parameter) = signature.parameters.get(positional) else {
                        self.errors.push(if signature.parameters.is_empty() {
                            CheckError::NoArguments {
                                callee: signature.name,
                                example: signature.example,
                                span: argument.span,
                            }
                        } else {
                            CheckError::TooManyArguments {
                                callee: signature.name,
                                parameters: signature.parameters,
                                span: argument.span,
                            }
                        });
                        continue;
                    };
                    positional += 1;
                    parameter
                }
            };
            if let Some((_, first)) = written.iter().find(|(name, _)| *name == parameter.name) {
                self.errors.push(CheckError::Duplicate {
                    what: signature.written.noun(),
                    name: parameter.name,
                    span: argument.span,
                    first: *first,
                });
                continue;
            }
            written.push((parameter.name, argument.span));
            if let Some(value) = self.convert(parameter, &argument.value) {
                bound.insert(parameter.name, value, Some(argument.span));
            }
        }
        for parameter in signature.parameters {
            let Some((_, span)) = written.iter().find(|(name, _)| *name == parameter.name) else {
                continue;
            };
            for &other in parameter.excludes {
                if let Some((_, other_span)) = written.iter().find(|(name, _)| *name == other) {
                    self.errors.push(CheckError::Alternatives {
                        callee: signature.name,
                        name: parameter.name,
                        other,
                        span: *span,
                        other_span: *other_span,
                    });
                }
            }
        }
        let mut complete = true;
        for parameter in signature.parameters {
            if bound.contains(parameter.name) {
                continue;
            }
            let was_written = written.iter().any(|(name, _)| *name == parameter.name);
            match parameter.presence {
                Presence::Required => {
                    complete = false;
                    if !was_written && !meant.contains(&parameter.name) {
                        self.errors.push(CheckError::MissingArgument {
                            callee: signature.name,
                            parameter: parameter.name,
                            example: signature.example,
                            span,
                        });
                    }
                }
                Presence::Optional => {}
                Presence::Default(default) => {
                    bound.insert(parameter.name, default_value(parameter, default), None);
                }
            }
        }
        complete.then_some(bound)
    }

    /// Checks a value against a parameter's kind and range, and converts it.
    fn convert(&mut self, parameter: &Parameter, value: &Value) -> Option<BoundValue> {
        match (&parameter.kind, &value.kind) {
            (
                Kind::Integer(range),
                ValueKind::Number {
                    value: number,
                    text,
                },
            ) => {
                if number.fract() != 0.0 || !number.is_finite() {
                    return self.wrong_type(parameter, value);
                }
                // Whole numbers are read as 64-bit floats: past 2^53 they are not exact.
                let exact = Range {
                    high: Limit::Inclusive(MAX_WHOLE_NUMBER),
                    ..*range
                };
                let range = if number.abs() > MAX_WHOLE_NUMBER {
                    exact
                } else {
                    *range
                };
                self.in_range(
                    parameter,
                    Kind::Integer(range),
                    range,
                    *number,
                    text,
                    value.span,
                )?;
                Some(BoundValue::Integer(*number as i64))
            }
            (
                Kind::Real(range),
                ValueKind::Number {
                    value: number,
                    text,
                },
            ) => {
                self.in_range(parameter, parameter.kind, *range, *number, text, value.span)?;
                Some(BoundValue::Real(*number))
            }
            (Kind::Boolean, ValueKind::Boolean(flag)) => Some(BoundValue::Boolean(*flag)),
            (Kind::Text, ValueKind::String(text)) => Some(BoundValue::Text(text.clone())),
            (Kind::Path, ValueKind::String(text)) => {
                Some(BoundValue::Path(normalize(&self.folder.join(text))))
            }
            (Kind::Word, ValueKind::String(text) | ValueKind::Identifier(text)) => {
                Some(BoundValue::Text(text.clone()))
            }
            (Kind::Activation(table), _) => self
                .nested(table, parameter, value)
                .map(BoundValue::Activation),
            (Kind::Initializer(table), _) => self
                .nested(table, parameter, value)
                .map(BoundValue::Initializer),
            (Kind::Loss(table), _) => self.nested(table, parameter, value).map(BoundValue::Loss),
            (Kind::Optimizer(table), _) => self
                .nested(table, parameter, value)
                .map(BoundValue::Optimizer),
            (Kind::Schedule(table), _) => self
                .nested(table, parameter, value)
                .map(BoundValue::Schedule),
            (Kind::Source(table), _) => {
                self.nested(table, parameter, value).map(BoundValue::Source)
            }
            (Kind::Task(table), _) => self.nested(table, parameter, value).map(BoundValue::Task),
            (Kind::Metrics(table), ValueKind::List(items)) => {
                let mut metrics = Vec::new();
                let mut seen: Vec<(&str, Span)> = Vec::new();
                for item in items {
                    if let ValueKind::Identifier(name) = &item.kind {
                        // An unknown name is reported once, as unknown.
                        if let (Some(row), Some((_, first))) =
                            (table.find(name), seen.iter().find(|(seen, _)| seen == name))
                        {
                            self.errors.push(CheckError::Duplicate {
                                what: "metric",
                                name: row.name,
                                span: item.span,
                                first: *first,
                            });
                            continue;
                        }
                        seen.push((name, item.span));
                        metrics.extend(
                            self.lookup(table, name, item.span)
                                .map(|row| (row.build)(&Bound::new(item.span))),
                        );
                    } else {
                        self.wrong_type::<()>(parameter, item);
                    }
                }
                Some(BoundValue::Metrics(metrics))
            }
            (
                Kind::Integer(_)
                | Kind::Real(_)
                | Kind::Boolean
                | Kind::Text
                | Kind::Path
                | Kind::Word
                | Kind::Metrics(_),
                _,
            ) => self.wrong_type(parameter, value),
        }
    }

    /// A nested value: a name or call looked up in `table`, bound and built.
    fn nested<T>(
        &mut self,
        table: &'static Table<T>,
        parameter: &Parameter,
        value: &Value,
    ) -> Option<T> {
        match &value.kind {
            ValueKind::Identifier(name) => {
                let row = self.lookup(table, name, value.span)?;
                self.build(row, [], value.span)
            }
            ValueKind::Call { name, arguments } => {
                let row = self.lookup(table, &name.name, name.span)?;
                self.build(row, arguments, value.span)
            }
            ValueKind::Number { .. }
            | ValueKind::String(_)
            | ValueKind::Boolean(_)
            | ValueKind::List(_) => self.wrong_type(parameter, value),
        }
    }

    fn wrong_type<T>(&mut self, parameter: &Parameter, value: &Value) -> Option<T> {
        self.errors.push(CheckError::WrongType {
            parameter: parameter.name,
            expected: parameter.kind,
            found: value.kind.describe(),
            text: value_text(value),
            span: value.span,
        });
        None
    }

    /// `Some(())` if `number` is in `range`, else an error that says the range (as `kind`,
    /// the number kind it belongs to) and the nearest valid value.
    fn in_range(
        &mut self,
        parameter: &Parameter,
        kind: Kind,
        range: Range,
        number: f64,
        text: &str,
        span: Span,
    ) -> Option<()> {
        if range.contains(number) {
            return Some(());
        }
        self.errors.push(CheckError::OutOfRange {
            parameter: parameter.name,
            text: text.to_string(),
            kind,
            nearest: range.nearest(number, decimals(text)),
            span,
        });
        None
    }
}

/// A parameter's default, as a bound value.
fn default_value(parameter: &Parameter, default: DefaultValue) -> BoundValue {
    match (default, parameter.kind) {
        (DefaultValue::Integer(value), _) => BoundValue::Integer(value),
        (DefaultValue::Real(value), _) => BoundValue::Real(value),
        (DefaultValue::Boolean(value), _) => BoundValue::Boolean(value),
        (DefaultValue::Named(name), Kind::Activation(table)) => {
            BoundValue::Activation(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Initializer(table)) => {
            BoundValue::Initializer(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Loss(table)) => {
            BoundValue::Loss(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Optimizer(table)) => {
            BoundValue::Optimizer(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Schedule(table)) => {
            BoundValue::Schedule(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Source(table)) => {
            BoundValue::Source(build_default(table, name))
        }
        (DefaultValue::Named(name), Kind::Task(table)) => {
            BoundValue::Task(build_default(table, name))
        }
        (
            DefaultValue::Named(name),
            Kind::Integer(_)
            | Kind::Real(_)
            | Kind::Boolean
            | Kind::Text
            | Kind::Path
            | Kind::Word
            | Kind::Metrics(_),
        ) => BoundValue::Text(name.to_string()),
    }
}

/// The row `name` of a table, built with its own defaults: a parameter's default value.
fn build_default<T>(table: &'static Table<T>, name: &str) -> T {
    let row = table.find(name).unwrap_or_else(|| {
        panic!(
            "the default `{name}` is not a row of the {} table",
            table.noun
        )
    });
    let mut binder = Binder::new(Path::new(""));
    let bound = binder
        .bind(row.signature(), [], Span::default())
        .unwrap_or_else(|| panic!("the default `{name}` has a required parameter"));
    (row.build)(&bound)
}

/// An "unknown" error with a did-you-mean among the candidates.
pub fn unknown(
    noun: &'static str,
    name: &str,
    span: Span,
    candidates: Vec<&'static str>,
) -> CheckError {
    CheckError::UnknownName {
        noun,
        name: name.to_string(),
        span,
        suggestion: mlpc_syntax::did_you_mean(name, candidates.iter().copied()),
        candidates,
    }
}

/// Decimals of a number as written: 1 for `1.5`, 3 for `1e-3`.
fn decimals(text: &str) -> u32 {
    let digits = match text.parse::<f64>() {
        Ok(value) if text.contains(['e', 'E']) => format!("{}", value.abs()),
        _ => text.to_string(),
    };
    digits
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len() as u32)
}

/// Removes `.` and `x/..` from a path without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths_lexically() {
        assert_eq!(
            normalize(Path::new("models/../data/iris.csv")),
            Path::new("data/iris.csv")
        );
        assert_eq!(
            normalize(Path::new("../../data/x")),
            Path::new("../../data/x")
        );
        assert_eq!(normalize(Path::new("./a/./b")), Path::new("a/b"));
    }

    #[test]
    fn decimals_as_written() {
        assert_eq!(decimals("1.5"), 1);
        assert_eq!(decimals("1"), 0);
        assert_eq!(decimals("-0.001"), 3);
        assert_eq!(decimals("1e-3"), 3);
        assert_eq!(decimals("2.5E+4"), 0);
    }
}
