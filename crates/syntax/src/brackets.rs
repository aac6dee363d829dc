//! Brackets outside strings and comments: how deep they nest, and which one is never closed.
//!
//! A string ends at the end of its line (the grammar has no multi-line strings), and so does a
//! `#` comment, so a stray `"` or `#` never hides the brackets of the lines after it.

use crate::ast::Span;
use crate::error::{Bracket, Closing};

/// What the scanner meets outside strings and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// An opening or closing bracket.
    Bracket(char),
    /// A line that ends inside a string: the string is never closed.
    UnterminatedString,
}

/// The brackets of `text` outside strings and comments, and the strings never closed, with
/// their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, Token)> + '_ {
    let (mut in_string, mut in_comment, mut escaped) = (false, false, false);
    text.char_indices().filter_map(move |(index, character)| {
        match character {
            '\n' | '\r' => {
                let unterminated = in_string;
                (in_string, in_comment, escaped) = (false, false, false);
                return unterminated.then_some((index, Token::UnterminatedString));
            }
            _ if in_comment => {}
            _ if in_string => match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            },
            '"' => in_string = true,
            '#' => in_comment = true,
            '(' | '[' | '{' | ')' | ']' | '}' => return Some((index, Token::Bracket(character))),
            _ => {}
        }
        None
    })
}

/// Where nesting first passes `limit`, ignoring strings and comments.
pub(crate) fn too_deep(source: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (index, token) in tokens(source) {
        let Token::Bracket(character) = token else {
            continue;
        };
        if Bracket::opened_by(character).is_some() {
            depth += 1;
            if depth > limit {
                return Some(index);
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// The opening brackets still open at the end of `source`, in order, ignoring strings and
/// comments. Each kind is matched on its own: a `)` closes the last `(`, whatever lies between
/// (a `{` is closed only by a `}`, as a block is for the grammar).
pub(crate) fn never_closed(source: &str) -> Vec<usize> {
    let mut open: [Vec<usize>; 3] = Default::default();
    let slot = |bracket: Bracket| match bracket {
        Bracket::Parenthesis => 0,
        Bracket::Square => 1,
        Bracket::Brace => 2,
    };
    for (index, token) in tokens(source) {
        let Token::Bracket(character) = token else {
            continue;
        };
        if let Some(bracket) = Bracket::opened_by(character) {
            open[slot(bracket)].push(index);
        } else if let Some(bracket) = Bracket::closed_by(character) {
            open[slot(bracket)].pop();
        }
    }
    let mut all: Vec<usize> = open.into_iter().flatten().collect();
    all.sort_unstable();
    all
}

/// A bracket that is never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unclosed {
    /// Which bracket.
    pub bracket: Bracket,
    /// The opening bracket.
    pub open: Span,
    /// What comes instead of its closing bracket.
    pub closing: Closing,
    /// Where that is.
    pub end: Span,
}

/// The bracket opened in `source[start..node_end]` that is never closed, matching brackets
/// from `start` to the end of the file (newlines are free inside brackets, so a call may go on
/// over several lines). The bracket on top of the stack at the first closing bracket of the
/// wrong kind, or at the end of the file, is the unclosed one, if it lies in the node. A
/// closing bracket with nothing open ends the search: it belongs to an enclosing block. So
/// does a string that is never closed: its line is a slip of another kind.
pub(crate) fn unclosed(source: &str, start: usize, node_end: usize) -> Option<Unclosed> {
    let mut open: Vec<(Bracket, usize)> = Vec::new();
    let mut found = None;
    for (offset, token) in tokens(&source[start..]) {
        let index = start + offset;
        let Token::Bracket(character) = token else {
            return None;
        };
        if let Some(bracket) = Bracket::opened_by(character) {
            open.push((bracket, index));
            continue;
        }
        let &(top, top_index) = open.last()?;
        if top.close() == character {
            open.pop();
            continue;
        }
        let closer = Bracket::closed_by(character)?;
        found = Some((
            top,
            top_index,
            Closing::Bracket(closer),
            Span::new(index, index + 1),
        ));
        break;
    }
    let (bracket, open_index, closing, end) = match found {
        Some(found) => found,
        None => {
            let &(top, top_index) = open.last()?;
            let end = Span::new(source.len(), source.len());
            (top, top_index, Closing::EndOfFile, end)
        }
    };
    (open_index < node_end).then_some(Unclosed {
        bracket,
        open: Span::new(open_index, open_index + 1),
        closing,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bracket_that_is_never_closed() {
        let source = "optimizer sgd(lr = 0.1\n";
        let found = unclosed(source, 0, 22).expect("unclosed");
        assert_eq!(found.bracket, Bracket::Parenthesis);
        assert_eq!(found.open, Span::new(13, 14));
        assert_eq!(found.closing, Closing::EndOfFile);
        assert_eq!(found.end, Span::new(23, 23));

        let source = "metrics = [accuracy }";
        let found = unclosed(source, 0, 20).expect("unclosed");
        assert_eq!(found.bracket, Bracket::Square);
        assert_eq!(found.closing, Closing::Bracket(Bracket::Brace));
        assert_eq!(found.end, Span::new(20, 21));
    }

    #[test]
    fn lists_the_brackets_still_open_at_the_end() {
        assert_eq!(never_closed("a(b[c]\nd{ # {\n\"(\" e(\n"), vec![1, 8, 19]);
        assert_eq!(never_closed("f(x) { g[1] }\n"), Vec::<usize>::new());
        assert_eq!(never_closed(")) (\n"), vec![3]);
        // A `)` does not close a `{`.
        assert_eq!(never_closed("a {\n f(x))\n b {\n"), vec![2, 14]);
    }

    #[test]
    fn closed_brackets_strings_and_comments_are_not_unclosed() {
        // Closed on the next line: a call may span lines.
        assert_eq!(
            unclosed("data csv(\"x\",\n  target = \"y\")\n", 0, 13),
            None
        );
        // Brackets inside strings and comments do not count.
        assert_eq!(unclosed("data f(\"(\") # (\n", 0, 15), None);
        // A string never closed is the slip, not the bracket before it.
        assert_eq!(unclosed("data f(\"x, y = \"z\")\n", 0, 19), None);
        // A stray closing bracket ends the search.
        assert_eq!(unclosed("dense 16 relu )\n}\n", 0, 15), None);
        // An unclosed bracket after the node is another node's.
        assert_eq!(unclosed("model m\nloss f(\n", 0, 7), None);
    }

    #[test]
    fn nesting_depth_ignores_strings_and_comments() {
        assert_eq!(too_deep("((()))", 3), None);
        assert_eq!(too_deep("(((())))", 3), Some(3));
        assert_eq!(too_deep("\"((((\" # ((((\n()", 1), None);
    }
}
