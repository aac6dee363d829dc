//! Check errors: the one error enum of the checking stage, and its diagnostics.

use mlpc_syntax::{Diagnostic, Span};
use thiserror::Error;

/// A reason a parsed file is not a valid model.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CheckError {
    /// A word that names nothing of its kind.
    #[error("unknown {what} `{name}`{context}")]
    Unknown {
        /// "section", "layer", "activation", "argument"...
        what: String,
        /// Empty, or where the word was looked up: " for `sgd`".
        context: String,
        /// The word written.
        name: String,
        /// Where.
        span: Span,
        /// The closest valid word.
        suggestion: Option<String>,
        /// Every valid word.
        valid: Vec<String>,
    },
    /// Something given twice.
    #[error("{what} `{name}` is given twice")]
    Duplicate {
        /// "section", "argument".
        what: String,
        /// Its name.
        name: String,
        /// The second one.
        span: Span,
        /// The first one.
        first: Span,
    },
    /// More positional arguments than parameters.
    #[error("`{callee}` takes at most {most} positional argument{}", if *most == 1 { "" } else { "s" })]
    TooManyArguments {
        /// What was called.
        callee: String,
        /// How many it takes.
        most: usize,
        /// The first extra argument.
        span: Span,
        /// Its parameters, in order.
        parameters: Vec<String>,
    },
    /// A required argument is missing.
    #[error("`{callee}` needs its `{parameter}` argument")]
    MissingArgument {
        /// What was called.
        callee: String,
        /// The missing parameter.
        parameter: String,
        /// The call.
        span: Span,
        /// An example of the full call.
        example: String,
    },
    /// A section with no default is missing.
    #[error("the model has no `{section}` section")]
    MissingSection {
        /// The section's keyword.
        section: String,
        /// An example of it.
        example: String,
    },
    /// A value of the wrong type.
    #[error("`{parameter}` must be {expected}, found {found}")]
    WrongType {
        /// The parameter.
        parameter: String,
        /// What it takes.
        expected: String,
        /// What was written.
        found: String,
        /// Where.
        span: Span,
    },
    /// A value outside its valid range.
    #[error("`{parameter}` is {value}, out of its valid range")]
    OutOfRange {
        /// The parameter.
        parameter: String,
        /// The value written.
        value: String,
        /// The valid range, as `in [0, 1)` or `> 0`.
        range: String,
        /// Where.
        span: Span,
    },
    /// Widths that do not fit together.
    #[error("{message}")]
    ShapeMismatch {
        /// The headline.
        message: String,
        /// Where.
        span: Span,
        /// Under the caret.
        label: String,
        /// Another place involved.
        other: Option<(Span, String)>,
        /// How to fix it.
        hint: String,
    },
    /// A loss or metric that does not fit the task.
    #[error("{message}")]
    TaskMismatch {
        /// The headline.
        message: String,
        /// Where.
        span: Span,
        /// Under the caret.
        label: String,
        /// How to fix it.
        hint: String,
    },
    /// Something written where it does not belong.
    #[error("{message}")]
    Misplaced {
        /// The headline.
        message: String,
        /// Where.
        span: Span,
        /// How to fix it.
        hint: String,
    },
    /// The data source cannot be inspected.
    #[error("{message}")]
    Data {
        /// What went wrong, naming the file.
        message: String,
        /// The data statement.
        span: Span,
        /// How to fix it.
        hint: Option<String>,
    },
}

impl CheckError {
    /// The diagnostic to show for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let message = self.to_string();
        match self {
            CheckError::Unknown {
                what,
                span,
                suggestion,
                valid,
                ..
            } => {
                let diagnostic =
                    Diagnostic::error(message, *span).with_label(format!("not a known {what}"));
                match suggestion {
                    Some(word) => diagnostic.with_hint(format!("did you mean `{word}`?")),
                    None => diagnostic.with_hint(format!("expected one of: {}", valid.join(", "))),
                }
            }
            CheckError::Duplicate { span, first, .. } => Diagnostic::error(message, *span)
                .with_label("given again here")
                .with_secondary(*first, "first given here")
                .with_hint("remove one of them"),
            CheckError::TooManyArguments {
                span, parameters, ..
            } => Diagnostic::error(message, *span)
                .with_label("extra argument")
                .with_hint(format!(
                    "its parameters, in order: {}",
                    parameters.join(", ")
                )),
            CheckError::MissingArgument { span, example, .. } => Diagnostic::error(message, *span)
                .with_label("argument missing")
                .with_hint(format!("for example: `{example}`")),
            CheckError::MissingSection { example, .. } => {
                Diagnostic::error(message, Span::new(0, 0))
                    .with_label("in this file")
                    .with_hint(format!("add a line such as `{example}`"))
            }
            CheckError::WrongType { span, expected, .. } => {
                Diagnostic::error(message, *span).with_label(format!("expected {expected}"))
            }
            CheckError::OutOfRange {
                span,
                range,
                parameter,
                ..
            } => Diagnostic::error(message, *span)
                .with_label("out of range")
                .with_hint(format!("`{parameter}` must be {range}")),
            CheckError::ShapeMismatch {
                span,
                label,
                other,
                hint,
                ..
            } => {
                let diagnostic = Diagnostic::error(message, *span)
                    .with_label(label.clone())
                    .with_hint(hint.clone());
                match other {
                    Some((other_span, text)) => {
                        diagnostic.with_secondary(*other_span, text.clone())
                    }
                    None => diagnostic,
                }
            }
            CheckError::TaskMismatch {
                span, label, hint, ..
            } => Diagnostic::error(message, *span)
                .with_label(label.clone())
                .with_hint(hint.clone()),
            CheckError::Misplaced { span, hint, .. } => Diagnostic::error(message, *span)
                .with_label("not allowed here")
                .with_hint(hint.clone()),
            CheckError::Data { span, hint, .. } => {
                let diagnostic = Diagnostic::error(message, *span).with_label("this data source");
                match hint {
                    Some(hint) => diagnostic.with_hint(hint.clone()),
                    None => diagnostic,
                }
            }
        }
    }
}
