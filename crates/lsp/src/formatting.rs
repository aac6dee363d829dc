//! Formatting: the whole document in the canonical form of `mlpc fmt`, as one edit.
//!
//! A file with a syntax error is not formatted (the formatter prints the tree it parsed, and
//! would drop the lines that did not parse): the answer is then [`Unformattable`], which the
//! server sends as an error response, as `mlpc fmt` exits with an error.

use lsp_types::TextEdit;
use thiserror::Error;

use crate::position::LineIndex;

/// Why a document cannot be formatted: it does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("cannot format a file with syntax errors ({errors} found): fix them first")]
pub struct Unformattable {
    /// How many syntax errors it has.
    pub errors: usize,
}

/// The edits that format `source`: none if it is formatted already, else one replacing the
/// whole text.
pub fn formatting(source: &str) -> Result<Vec<TextEdit>, Unformattable> {
    let parsed = mlpc_syntax::parse(source);
    if !parsed.errors.is_empty() {
        return Err(Unformattable {
            errors: parsed.errors.len(),
        });
    }
    let formatted = mlpc_syntax::format(source, &parsed.file);
    if formatted == source {
        return Ok(Vec::new());
    }
    Ok(vec![TextEdit::new(
        LineIndex::new(source).whole(),
        formatted,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn a_file_is_replaced_by_its_canonical_form() {
        let source = "model a\nnetwork{\ndense   8 relu # wide\n}";
        let edits = formatting(source).expect("parses");
        assert_eq!(edits.len(), 1);
        assert_eq!(
            edits[0].range,
            Range::new(Position::new(0, 0), Position::new(3, 1))
        );
        assert_eq!(
            edits[0].new_text,
            "model a\nnetwork {\n  dense 8 relu  # wide\n}\n"
        );
        assert_eq!(formatting(&edits[0].new_text), Ok(Vec::new()));
    }

    #[test]
    fn a_file_that_does_not_parse_is_not_formatted() {
        let refused = formatting("network {\n  dense 8 (\n").expect_err("does not parse");
        assert!(refused.errors >= 1);
        assert!(
            refused
                .to_string()
                .starts_with("cannot format a file with syntax errors")
        );
    }
}
