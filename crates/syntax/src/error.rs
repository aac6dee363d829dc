//! Syntax errors: the one error enum of the parsing stage, and its diagnostics.
//!
//! The errors are built in `recovery.rs`, from pest's errors and the brackets of the
//! text; this module only says what each one means and how it reads.

use thiserror::Error;

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

/// A syntax error, with the span it points at.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SyntaxError {
    /// The parser expected one of some things and found another.
    #[error("expected {expected}, found {found}")]
    Unexpected {
        /// What could have come here, in words.
        expected: String,
        /// What is here, in words.
        found: String,
        /// Where.
        span: Span,
        /// A common slip that explains the error, where one does.
        slip: Option<Slip>,
    },
    /// A bracket that is never closed.
    #[error("unclosed `{}`", bracket.open())]
    Unclosed {
        /// Which bracket.
        bracket: Bracket,
        /// The opening bracket.
        open: Span,
        /// What comes where its closing bracket should.
        closing: Closing,
        /// Where that is.
        end: Span,
    },
    /// Brackets nested deeper than any model needs.
    #[error("brackets and braces nest deeper than {limit} levels")]
    TooDeep {
        /// The bracket that passes the limit.
        span: Span,
        /// The limit.
        limit: usize,
    },
    /// Several brackets never closed: the file is not parsed further (each one doubles the
    /// ways a parser can read what follows it).
    #[error("{count} brackets and braces are never closed")]
    ManyUnclosed {
        /// The first bracket never closed.
        span: Span,
        /// How many are never closed.
        count: usize,
    },
}

/// The three kinds of bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bracket {
    /// `( )`, around call arguments.
    Parenthesis,
    /// `[ ]`, around a list.
    Square,
    /// `{ }`, around a block.
    Brace,
}

impl Bracket {
    /// The opening character.
    pub fn open(self) -> char {
        match self {
            Bracket::Parenthesis => '(',
            Bracket::Square => '[',
            Bracket::Brace => '{',
        }
    }

    /// The closing character.
    pub fn close(self) -> char {
        match self {
            Bracket::Parenthesis => ')',
            Bracket::Square => ']',
            Bracket::Brace => '}',
        }
    }

    /// The bracket a character opens, if it opens one.
    pub fn opened_by(character: char) -> Option<Bracket> {
        [Bracket::Parenthesis, Bracket::Square, Bracket::Brace]
            .into_iter()
            .find(|bracket| bracket.open() == character)
    }

    /// The bracket a character closes, if it closes one.
    pub fn closed_by(character: char) -> Option<Bracket> {
        [Bracket::Parenthesis, Bracket::Square, Bracket::Brace]
            .into_iter()
            .find(|bracket| bracket.close() == character)
    }

    /// What goes between this bracket and its closing one, for hints.
    fn holds(self) -> &'static str {
        match self {
            Bracket::Parenthesis => "its arguments",
            Bracket::Square => "the list",
            Bracket::Brace => "the block's last line",
        }
    }
}

/// What comes where an unclosed bracket's closing bracket should.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closing {
    /// The file ends first.
    EndOfFile,
    /// A closing bracket of another kind.
    Bracket(Bracket),
}

/// A common slip that explains a syntax error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slip {
    /// `epochs = 10` written outside `train { }`.
    SettingOutsideTrain,
    /// A string without its closing quote.
    UnterminatedString,
    /// `name: value` instead of `name = value`.
    ColonInsteadOfEquals,
}

impl Slip {
    /// The hint for this slip.
    pub fn hint(self) -> &'static str {
        match self {
            Slip::SettingOutsideTrain => "settings such as `epochs = 10` go inside `train { ... }`",
            Slip::UnterminatedString => "a string must end with `\"` on the line where it starts",
            Slip::ColonInsteadOfEquals => "write `name = value`, with `=`, not `:`",
        }
    }
}

impl SyntaxError {
    /// The place the error points at.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::ManyUnclosed { span, .. } => *span,
            SyntaxError::Unclosed { open, .. } => *open,
        }
    }

    /// The diagnostic to show for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let diagnostic = Diagnostic::error(self.to_string(), self.span());
        match self {
            SyntaxError::Unexpected { expected, slip, .. } => {
                let diagnostic = diagnostic.with_label(format!("expected {expected} here"));
                match slip {
                    Some(slip) => diagnostic.with_hint(slip.hint()),
                    None => diagnostic,
                }
            }
            SyntaxError::Unclosed {
                bracket,
                closing,
                end,
                ..
            } => {
                let (open, close) = (bracket.open(), bracket.close());
                let end_label = match closing {
                    Closing::EndOfFile => format!("the file ends before its `{close}`"),
                    Closing::Bracket(other) => {
                        format!("`{}` comes before its `{close}`", other.close())
                    }
                };
                diagnostic
                    .with_label(format!("this `{open}` is never closed"))
                    .with_secondary(*end, end_label)
                    .with_hint(format!("add `{close}` after {}", bracket.holds()))
            }
            SyntaxError::TooDeep { .. } => diagnostic.with_label("too deep").with_hint(
                "a model file nests a few levels at most: look for brackets that are never closed",
            ),
            SyntaxError::ManyUnclosed { .. } => diagnostic
                .with_label("the first one never closed")
                .with_hint("close each bracket and brace where its statement or block ends"),
        }
    }
}
