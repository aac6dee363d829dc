//! # mlpc-syntax: the `.mlp` language front end
//!
//! The first stage of the mlpc pipeline (syntax → IR and checks → burn lowering and training →
//! CLI). It turns text into a tree and never decides what the words mean.
//!
//! - [`parser`]: the pest grammar in `grammar/mlp.pest` (a generic statement / setting / value
//!   language, in the style of tract's NNEF front end) and the building of the [`ast`], with
//!   error recovery so that every syntax error of a file is found in one pass.
//! - [`ast`]: the tree, with a byte [`Span`](ast::Span) on every node.
//! - [`error`]: [`SyntaxError`], this stage's error enum.
//! - [`diagnostic`]: the one place where errors of *every* stage become text: a
//!   [`Diagnostic`] is a message, a span, labels and a hint, rendered by codespan-reporting
//!   with `file:line:col` and carets. Later stages convert their own error enums into it.
//! - [`format`]: the canonical printer behind `mlpc fmt` (idempotent, keeps comments).
//!
//! Nothing here may panic on any input: a property test feeds random and mutated text.

pub mod ast;
pub mod diagnostic;
pub mod error;
pub mod format;
pub mod parser;

pub use ast::Span;
pub use diagnostic::{Colour, Diagnostic, Severity, render};
pub use error::SyntaxError;
pub use format::format;
pub use parser::{Parsed, parse};

/// Edit distance between two words, for did-you-mean suggestions.
pub fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_character) in left.chars().enumerate() {
        let mut current = vec![i + 1; right.len() + 1];
        for (j, right_character) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_character != *right_character);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[right.len()]
}

/// The closest candidate to `word`, if close enough to be a likely slip.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1) + usize::from(word.len() > 6);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}
