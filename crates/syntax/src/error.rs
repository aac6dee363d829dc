//! Syntax errors: the one error enum of the parsing stage.

use pest::error::{ErrorVariant, InputLocation};
use thiserror::Error;

use crate::ast::Span;
use crate::diagnostic::Diagnostic;
use crate::parser::Rule;

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
        /// A suggestion, where one fits.
        hint: Option<String>,
    },
    /// Brackets nested deeper than any model needs.
    #[error("brackets and braces nest deeper than {limit} levels")]
    TooDeep {
        /// The bracket that passes the limit.
        span: Span,
        /// The limit.
        limit: usize,
    },
    /// A file that is not UTF-8 text.
    #[error("the file is not UTF-8 text")]
    NotUtf8 {
        /// Where the first bad byte is.
        span: Span,
    },
}

impl SyntaxError {
    /// The place the error points at.
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::NotUtf8 { span }
            | SyntaxError::TooDeep { span, .. } => *span,
        }
    }

    /// Converts a pest error found while parsing `source[offset..]`.
    pub(crate) fn from_pest(error: &pest::error::Error<Rule>, offset: usize, source: &str) -> Self {
        let position = offset
            + match error.location {
                InputLocation::Pos(position) => position,
                InputLocation::Span((start, _)) => start,
            };
        let mut expected: Vec<&'static str> = match &error.variant {
            ErrorVariant::ParsingError { positives, .. } => positives
                .iter()
                .filter_map(|rule| describe_rule(*rule))
                .collect(),
            ErrorVariant::CustomError { .. } => Vec::new(),
        };
        // Punctuation the parser would have taken here (literals are not rules, so pest lists
        // them only among its detailed parse attempts).
        if let Some(attempts) = error.parse_attempts() {
            for token in attempts.expected_tokens() {
                if let Some(word) = describe_token(&token.to_string()) {
                    expected.push(word);
                }
            }
        }
        // Fold what a broader word already says: a list is a value, a separator ends a line.
        if expected.contains(&"a value") || expected.contains(&"an argument") {
            expected.retain(|word| *word != "a name" && *word != "`[`");
        }
        if expected.contains(&"end of line") {
            expected.retain(|word| *word != "`,`" && *word != "`}`");
        }
        expected.sort_unstable();
        expected.dedup();
        // Order: the most specific words first, "end of line" last.
        expected.sort_by_key(|word| (word.starts_with("end"), *word));
        let expected = match expected.len() {
            0 => "something else".to_string(),
            1 => expected[0].to_string(),
            _ => {
                let (last, rest) = expected.split_last().expect("two or more");
                format!("{} or {}", rest.join(", "), last)
            }
        };
        Self::unexpected_at(position, expected, source)
    }

    /// Something trails a statement that is complete on its own.
    pub(crate) fn from_pest_trailing(position: usize, source: &str) -> Self {
        Self::unexpected_at(position, "end of line".to_string(), source)
    }

    fn unexpected_at(position: usize, expected: String, source: &str) -> Self {
        let rest = &source[position.min(source.len())..];
        let (found, length) = describe_found(rest);
        let hint = hint_for(&expected, rest, source, position);
        SyntaxError::Unexpected {
            expected,
            found,
            span: Span::new(position, position + length),
            hint,
        }
    }

    /// The diagnostic to show for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let diagnostic = Diagnostic::error(self.to_string(), self.span());
        match self {
            SyntaxError::Unexpected { expected, hint, .. } => {
                let diagnostic = diagnostic.with_label(format!("expected {expected} here"));
                match hint {
                    Some(hint) => diagnostic.with_hint(hint.clone()),
                    None => diagnostic,
                }
            }
            SyntaxError::TooDeep { .. } => diagnostic.with_label("too deep").with_hint(
                "a model file nests a few levels at most: look for brackets that are never closed",
            ),
            SyntaxError::NotUtf8 { .. } => {
                diagnostic.with_hint("save the file as UTF-8 text".to_string())
            }
        }
    }
}

/// The words for what a grammar rule stands for; `None` for rules never worth naming.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::identifier => "a name",
        Rule::number
        | Rule::string
        | Rule::list
        | Rule::boolean
        | Rule::call
        | Rule::string_text => "a value",
        Rule::argument | Rule::named_argument => "an argument",
        Rule::call_arguments => "`(`",
        Rule::block => "`{`",
        Rule::statement | Rule::setting => "a statement",
        Rule::EOI => "end of line",
        // Structure and silent rules are never worth naming.
        _ => return None,
    })
}

/// The words for a literal token worth naming.
fn describe_token(token: &str) -> Option<&'static str> {
    Some(match token {
        "=" => "`=`",
        "," => "`,`",
        "(" => "`(`",
        ")" => "`)`",
        "[" => "`[`",
        "]" => "`]`",
        "{" => "`{`",
        "}" => "`}`",
        _ => return None,
    })
}

/// Describes the text at an error position, and how many bytes of it to underline.
fn describe_found(rest: &str) -> (String, usize) {
    let Some(first) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if first == '\n' || rest.starts_with("\r\n") {
        return ("end of line".to_string(), 0);
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    if !word.is_empty() && first.is_ascii_alphanumeric() {
        return (format!("`{word}`"), word.len());
    }
    if first == '"' {
        return ("a string".to_string(), 1);
    }
    (format!("`{first}`"), first.len_utf8())
}

/// A suggestion for common slips.
fn hint_for(expected: &str, rest: &str, source: &str, position: usize) -> Option<String> {
    let line_start = source[..position.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let at_top_level = !source[..line_start].contains('{')
        || source[..line_start].matches('{').count() == source[..line_start].matches('}').count();
    if rest.starts_with('=') && at_top_level {
        return Some("settings such as `epochs = 10` go inside `train { ... }`".to_string());
    }
    if rest.starts_with('"') {
        return Some("a string must end with `\"` on the line where it starts".to_string());
    }
    if rest.starts_with(':') {
        return Some("write `name = value`, with `=`, not `:`".to_string());
    }
    if rest.is_empty() && expected.contains("`}`") {
        return Some("a `{` opened earlier is never closed".to_string());
    }
    None
}
