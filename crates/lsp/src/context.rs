//! What goes at a place in a file: the [`Slot`] of the cursor, found by reading the tokens
//! before it, so that hover and completion work on a file that does not parse (the one being
//! typed).
//!
//! The reading (`reader.rs`) follows the checker's binding. At the start of a top-level line
//! goes a section keyword; at the start of a line in `network { }` a layer kind or an
//! activation; at the start of one in `train { }` a setting's name. After a keyword, or inside
//! a call's parentheses, go the arguments of what the keyword or call names (its row in a
//! table): a parameter's name (`lr = `) or, positionally, a value of the next parameter, as
//! `dense 64 relu` binds `relu` to `dense`'s second parameter, an activation. After
//! `name =`, and inside a list, goes a value of that parameter. A call in value position
//! (`optimizer sgd(`) is looked up in the table of its parameter's kind, and its own
//! arguments are then those of that row.

use mlpc_ir::signature::Parameter;
use mlpc_syntax::Span;

use crate::reader::Reader;
use crate::scan::{Mark, Token, TokenKind, tokens};
use crate::words::Word;

/// What may be written at a place.
#[derive(Debug, Clone, Copy)]
pub enum Slot {
    /// The first word of a top-level line: a section keyword.
    Section,
    /// The first word of a line in `network { }`: a layer kind or an activation.
    NetworkLine,
    /// An argument of `callee`: a parameter's name, or positionally a value of `next`.
    Argument {
        /// What takes the argument.
        callee: Word,
        /// The parameter a positional value here binds to, if any is left.
        next: Option<Parameter>,
        /// The callee's parameters given a value already (bits by their index), which are
        /// not offered again.
        bound: u64,
    },
    /// A value of `parameter`: after `name =`, or inside its list.
    Value {
        /// The parameter.
        parameter: Parameter,
    },
    /// No name of the language goes here (a comment, a string, a number, a line not
    /// understood).
    Nothing,
}

/// The place of a cursor: what goes there, and the word it is on.
#[derive(Debug, Clone)]
pub struct Context {
    /// What goes at the word (or, with no word, at the cursor).
    pub slot: Slot,
    /// The identifier the cursor is on or right after: its text and span.
    pub word: Option<(String, Span)>,
    /// Whether that word is followed by `=`: the name of an argument or setting.
    pub names_argument: bool,
}

/// What goes at byte `offset` of `source`.
pub fn context_at(source: &str, offset: usize) -> Context {
    let tokens = tokens(source);
    let word = word_at(&tokens, offset);
    let until = word.map_or(offset, |token| token.span.start);
    let inside_text = tokens.iter().any(|token| hides(token, source, offset));
    let mut reader = Reader::new();
    let mut index = 0;
    while let Some(token) = tokens.get(index) {
        if token.span.start >= until || token.span.end > until {
            break;
        }
        let next = tokens.get(index + 1).filter(|next| next.span.end <= until);
        index += reader.feed(source, token, next);
    }
    let following = word.and_then(|word| {
        tokens
            .iter()
            .find(|token| token.span.start >= word.span.end)
    });
    Context {
        slot: if inside_text {
            Slot::Nothing
        } else {
            reader.slot()
        },
        word: word.map(|token| (token.text(source).to_string(), token.span)),
        names_argument: following
            .is_some_and(|token| token.kind == TokenKind::Punctuation(Mark::Equals)),
    }
}

/// The identifier that holds the offset, or that ends at it.
fn word_at(tokens: &[Token], offset: usize) -> Option<&Token> {
    let identifiers = tokens
        .iter()
        .filter(|token| token.kind == TokenKind::Identifier);
    let mut ending_here = None;
    for token in identifiers {
        if token.span.start <= offset && offset < token.span.end {
            return Some(token);
        }
        if token.span.end == offset {
            ending_here = Some(token);
        }
    }
    ending_here
}

/// Whether the offset is inside a comment, a string or a number, where no name goes.
fn hides(token: &Token, source: &str, offset: usize) -> bool {
    let Span { start, end } = token.span;
    match token.kind {
        TokenKind::Comment => start < offset && offset <= end,
        TokenKind::String => {
            let text = token.text(source);
            let closed = text.len() >= 2 && text.ends_with('"');
            start < offset && (offset < end || (offset == end && !closed))
        }
        TokenKind::Number => start < offset && offset < end,
        TokenKind::Identifier
        | TokenKind::Newline
        | TokenKind::Punctuation(_)
        | TokenKind::Other => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context at the `|` of a text (the `|` taken out).
    fn at(marked: &str) -> Context {
        let offset = marked.find('|').expect("a cursor mark");
        let source = marked.replacen('|', "", 1);
        context_at(&source, offset)
    }

    /// A short name for a slot, to compare.
    fn describe(context: &Context) -> String {
        match context.slot {
            Slot::Section => "section".into(),
            Slot::NetworkLine => "network line".into(),
            Slot::Argument { callee, next, .. } => format!(
                "argument of {} ({})",
                callee.name,
                next.map_or("none", |parameter| parameter.name)
            ),
            Slot::Value { parameter } => format!("value of {}", parameter.name),
            Slot::Nothing => "nothing".into(),
        }
    }

    const MODEL: &str = "model xor\n\
        data xor(n = 400, noise = 0.15)\n\
        network {\n  dense 8 tanh init = normal(std = 0.1)\n  leaky_relu(0.1)\n  dense 2\n}\n\
        loss cross_entropy\n\
        optimizer sgd(lr = 0.1, momentum = 0.9)\n\
        train { epochs = 50, metrics = [accuracy] }\n";

    fn at_word(word: &str, nth: usize) -> Context {
        let offset = MODEL
            .match_indices(word)
            .nth(nth)
            .map(|(offset, _)| offset)
            .expect("the word is in the model");
        context_at(MODEL, offset + 1)
    }

    #[test]
    fn words_of_a_whole_model_are_placed() {
        assert_eq!(describe(&at_word("model", 0)), "section");
        assert_eq!(describe(&at_word("network", 0)), "section");
        assert_eq!(describe(&at_word("dense", 0)), "network line");
        assert_eq!(
            describe(&at_word("tanh", 0)),
            "argument of dense (activation)"
        );
        let init = at_word("init", 0);
        assert_eq!(describe(&init), "argument of dense (init)");
        assert!(init.names_argument);
        assert_eq!(describe(&at_word("normal", 0)), "value of init");
        assert_eq!(describe(&at_word("std", 0)), "argument of normal (mean)");
        assert_eq!(describe(&at_word("leaky_relu", 0)), "network line");
        assert_eq!(
            describe(&at_word("cross_entropy", 0)),
            "argument of loss (loss)"
        );
        assert_eq!(
            describe(&at_word("sgd", 0)),
            "argument of optimizer (optimizer)"
        );
        assert_eq!(describe(&at_word("momentum", 0)), "argument of sgd (none)");
        assert_eq!(describe(&at_word("epochs", 0)), "argument of train (none)");
        assert_eq!(describe(&at_word("metrics", 0)), "argument of train (none)");
        assert_eq!(describe(&at_word("accuracy", 0)), "value of metrics");
        assert_eq!(describe(&at_word("noise", 0)), "argument of xor (none)");
        let word = at_word("momentum", 0).word.expect("a word").0;
        assert_eq!(word, "momentum");
    }

    #[test]
    fn places_being_typed_are_placed() {
        assert_eq!(describe(&at("|")), "section");
        assert_eq!(describe(&at("model a\nopt|")), "section");
        assert_eq!(describe(&at("network {\n  |\n}")), "network line");
        assert_eq!(
            describe(&at("network {\n  dense 10 |\n}")),
            "argument of dense (activation)"
        );
        assert_eq!(
            describe(&at("network {\n  dense 10 relu |")),
            "argument of dense (init)"
        );
        assert_eq!(
            describe(&at("network {\n  dense 10 init = |")),
            "value of init"
        );
        assert_eq!(describe(&at("network { dense 10, |")), "network line");
        assert_eq!(
            describe(&at("network {\n  batchnorm(|")),
            "argument of batchnorm (momentum)"
        );
        assert_eq!(
            describe(&at("network {\n  batchnorm(0.1, |")),
            "argument of batchnorm (epsilon)"
        );
        assert_eq!(
            describe(&at("network {\n  leaky_relu(0.1) |")),
            "argument of leaky_relu (none)"
        );
        assert_eq!(
            describe(&at("optimizer |")),
            "argument of optimizer (optimizer)"
        );
        assert_eq!(describe(&at("optimizer adam(|")), "argument of adam (lr)");
        assert_eq!(
            describe(&at("optimizer adam(0.1, b|")),
            "argument of adam (beta1)"
        );
        assert_eq!(
            describe(&at("optimizer adam(lr = 0.1, b|")),
            "argument of adam (none)"
        );
        assert_eq!(describe(&at("loss hu|")), "argument of loss (loss)");
        assert_eq!(describe(&at("train {\n  ep|")), "argument of train (none)");
        assert_eq!(
            describe(&at("train { epochs = 3, metrics = [|")),
            "value of metrics"
        );
        assert_eq!(
            describe(&at("data csv(\"a.csv\", task = |")),
            "value of task"
        );
        assert_eq!(describe(&at("network {\n  dense 1\n}\n|")), "section");
    }

    #[test]
    fn comments_strings_numbers_and_unknown_places_take_nothing() {
        assert_eq!(describe(&at("# a comm|ent")), "nothing");
        assert_eq!(describe(&at("network { # dense|")), "nothing");
        assert_eq!(describe(&at("data mnist(\"da|ta\")")), "nothing");
        assert_eq!(describe(&at("data mnist(\"data|")), "nothing");
        assert_eq!(describe(&at("network {\n  dense 1|0")), "nothing");
        assert_eq!(describe(&at("frobnicate |")), "nothing");
        assert_eq!(describe(&at("network { dense 1 } |")), "nothing");
        assert_eq!(describe(&at("network {\n  dense 8 { |")), "nothing");
        // A residual block holds layers, as the network does.
        assert_eq!(
            describe(&at("network {\n  residual {\n    |\n  }\n}")),
            "network line"
        );
        assert_eq!(
            describe(&at("network {\n  residual { dense 8, |")),
            "network line"
        );
        // Stray closing brackets are read past.
        assert_eq!(describe(&at(") ] }\n|")), "section");
    }
}
