//! # mlpc-syntax: the `.mlp` language front end
//!
//! The first stage of the mlpc pipeline (syntax → IR and checks → burn lowering and training →
//! CLI). It turns text into a tree and never decides what the words mean.
//!
//! - [`grammar`]: the pest parser of `grammar/mlp.pest` (a generic statement / setting / value
//!   language, in the style of tract's NNEF front end).
//! - [`parser`]: the building of the [`ast`], with error recovery so that every syntax error
//!   of a file is found in one pass; `recovery` puts each pest error into words, and
//!   `brackets` finds the bracket that is never closed.
//! - [`ast`]: the tree, with a byte [`Span`] on every node.
//! - [`error`]: [`SyntaxError`], this stage's error enum.
//! - [`diagnostic`]: the one place where errors of *every* stage become text: a
//!   [`Diagnostic`] is a message, a span, labels and a hint, rendered by codespan-reporting
//!   with `file:line:col` and carets. Later stages convert their own error enums into it.
//! - [`json`]: the same diagnostics as data, one JSON object per line, for editors and
//!   scripts (as cargo's `--message-format json`).
//! - [`format`](mod@format): the canonical printer behind `mlpc fmt` (idempotent, keeps comments).
//!
//! Nothing here may panic on any input: a property test feeds random and mutated text.

pub mod ast;
mod brackets;
pub mod diagnostic;
pub mod error;
pub mod format;
pub mod grammar;
pub mod json;
pub mod parser;
mod recovery;

pub use ast::Span;
pub use diagnostic::{Colour, Diagnostic, render};
pub use error::SyntaxError;
pub use format::format;
pub use json::render_json;
pub use parser::{Parsed, lone_returns_as_newlines, model_text, parse};

/// Edit distance between two words (insertions, deletions, substitutions and swaps of two
/// neighbours each cost 1), for did-you-mean suggestions.
pub fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

/// The closest candidate to `word`, if close enough to be a likely slip: a candidate the
/// word starts (`xavier` for `xavier_uniform`), a candidate made of the word's initials or
/// the other way round (`learning_rate` for `lr`, `bs` for `batch_size`), or one a few edits
/// away (`dens` for `dense`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    if word.len() >= 3
        && let Some(prefixed) = candidates
            .iter()
            .find(|candidate| candidate.starts_with(word))
    {
        return Some(prefixed);
    }
    if let Some(abbreviated) = candidates.iter().find(|candidate| {
        initials(word).is_some_and(|letters| letters == **candidate)
            || initials(candidate).is_some_and(|letters| letters == word)
    }) {
        return Some(abbreviated);
    }
    let limit = (word.chars().count() / 3).max(1) + usize::from(word.len() > 6);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The first letters of the parts of a word made of two parts or more: `lr` for
/// `learning_rate`.
fn initials(word: &str) -> Option<String> {
    let parts: Vec<&str> = word.split('_').filter(|part| !part.is_empty()).collect();
    (parts.len() >= 2).then(|| {
        parts
            .iter()
            .filter_map(|part| part.chars().next())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("trian", "train"), 1);
        assert_eq!(edit_distance("dens", "dense"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn did_you_mean_finds_close_words_only() {
        let words = ["dense", "dropout", "relu", "xavier_uniform", "train"];
        assert_eq!(did_you_mean("dens", words), Some("dense"));
        assert_eq!(did_you_mean("trian", words), Some("train"));
        assert_eq!(did_you_mean("xavier", words), Some("xavier_uniform"));
        assert_eq!(did_you_mean("convolution", words), None);
    }

    #[test]
    fn did_you_mean_knows_initials() {
        let parameters = ["lr", "momentum", "nesterov", "weight_decay"];
        assert_eq!(did_you_mean("learning_rate", parameters), Some("lr"));
        assert_eq!(did_you_mean("wd", parameters), Some("weight_decay"));
        assert_eq!(
            did_you_mean("bs", ["epochs", "batch_size"]),
            Some("batch_size")
        );
        assert_eq!(did_you_mean("rate_of_learning", parameters), None);
    }
}
