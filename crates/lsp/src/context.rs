//! What goes at a place in a file: the [`Slot`] of the cursor, found by reading the tokens
//! before it, so that hover and completion work on a file that does not parse (the one being
//! typed).
//!
//! The reading follows the checker's binding. At the start of a top-level line goes a section
//! keyword; at the start of a line in `network { }` a layer kind or an activation; at the
//! start of one in `train { }` a setting's name. After a keyword, or inside a call's
//! parentheses, go the arguments of what the keyword or call names (its row in a table): a
//! parameter's name (`lr = `) or, positionally, a value of the next parameter, as
//! `dense 64 relu` binds `relu` to `dense`'s second parameter, an activation. After
//! `name =`, and inside a list, goes a value of that parameter. A call in value position
//! (`optimizer sgd(`) is looked up in the table of its parameter's kind, and its own
//! arguments are then those of that row.

use mlpc_ir::section::Section;
use mlpc_ir::signature::Parameter;
use mlpc_syntax::Span;

use crate::scan::{Mark, Token, TokenKind, tokens};
use crate::words::{Names, Word, network_line, train_settings};

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
    let mut walker = Walker::new();
    let mut index = 0;
    while let Some(token) = tokens.get(index) {
        if token.span.start >= until || token.span.end > until {
            break;
        }
        let next = tokens.get(index + 1).filter(|next| next.span.end <= until);
        index += walker.feed(source, token, next);
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
            walker.slot()
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

/// Where lines are: the file, or a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The file's top level: sections.
    File,
    /// `network { }`: layers.
    Network,
    /// `train { }`: settings.
    Train,
    /// Any other block: nothing known goes there.
    Other,
}

/// What a positional or named argument binds to next.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// The next positional parameter.
    Positional,
    /// The parameter just named (`None`: not one of the callee's).
    Named(Option<Parameter>),
}

/// The arguments of a statement or call, as far as they are read.
#[derive(Debug, Clone, Copy)]
struct Arguments {
    callee: Option<Word>,
    positional: usize,
    next: Next,
    /// Whether an argument was named: positional ones may no longer follow.
    named_seen: bool,
}

impl Arguments {
    fn of(callee: Option<Word>) -> Arguments {
        Arguments {
            callee,
            positional: 0,
            next: Next::Positional,
            named_seen: false,
        }
    }

    /// The parameter a value here binds to.
    fn parameter(&self) -> Option<Parameter> {
        match self.next {
            Next::Positional if self.named_seen => None,
            Next::Positional => self
                .callee
                .and_then(|callee| callee.parameters.get(self.positional).copied()),
            Next::Named(parameter) => parameter,
        }
    }

    /// `name =` was read.
    fn name(&mut self, name: &str) {
        let parameter = self.callee.and_then(|callee| {
            callee
                .parameters
                .iter()
                .find(|parameter| parameter.name == name)
                .copied()
        });
        self.next = Next::Named(parameter);
        self.named_seen = true;
    }

    /// A whole value was read.
    fn value_done(&mut self) {
        match self.next {
            Next::Positional => self.positional += 1,
            Next::Named(_) => self.next = Next::Positional,
        }
    }

    fn slot(&self) -> Slot {
        match self.next {
            Next::Named(Some(parameter)) => Slot::Value { parameter },
            Next::Named(None) => Slot::Nothing,
            Next::Positional => match self.callee {
                Some(callee) => Slot::Argument {
                    callee,
                    next: self.parameter(),
                },
                None => Slot::Nothing,
            },
        }
    }
}

/// How far the current line of a [`Level`] is read.
#[derive(Debug, Clone, Copy)]
enum Line {
    /// Nothing yet.
    Start,
    /// A statement (or setting): what its block would be, where its keyword ends, and its
    /// arguments.
    Statement {
        opens: Level,
        keyword_end: usize,
        arguments: Arguments,
    },
    /// Its block was closed: nothing more belongs on the line.
    Finished,
}

#[derive(Debug, Clone, Copy)]
enum Frame {
    /// The lines of the file or of a block.
    Lines { level: Level, line: Line },
    /// A call's parentheses; `of_statement` for `keyword(...)`, whose arguments continue
    /// after it.
    Call {
        arguments: Arguments,
        of_statement: bool,
    },
    /// A list's brackets, holding values of a parameter.
    List { element: Option<Parameter> },
}

/// Reads tokens, keeping the nesting of blocks, calls and lists.
struct Walker {
    frames: Vec<Frame>,
    /// The end of the last token read that is not a comment.
    previous_end: Option<usize>,
}

impl Walker {
    fn new() -> Walker {
        Walker {
            frames: vec![Frame::Lines {
                level: Level::File,
                line: Line::Start,
            }],
            previous_end: None,
        }
    }

    fn top(&mut self) -> &mut Frame {
        if self.frames.is_empty() {
            self.frames.push(Frame::Lines {
                level: Level::File,
                line: Line::Start,
            });
        }
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    /// The arguments being read at the top, if a statement's or a call's.
    fn arguments(&mut self) -> Option<&mut Arguments> {
        match self.top() {
            Frame::Lines {
                line: Line::Statement { arguments, .. },
                ..
            }
            | Frame::Call { arguments, .. } => Some(arguments),
            Frame::Lines { .. } | Frame::List { .. } => None,
        }
    }

    fn value_done(&mut self) {
        if let Some(arguments) = self.arguments() {
            arguments.value_done();
        }
    }

    /// Reads a token (`next` is the one after it); returns how many tokens were used.
    fn feed(&mut self, source: &str, token: &Token, next: Option<&Token>) -> usize {
        let previous_end = self.previous_end;
        if token.kind != TokenKind::Comment {
            self.previous_end = Some(token.span.end);
        }
        let next_is =
            |mark: Mark| next.is_some_and(|next| next.kind == TokenKind::Punctuation(mark));
        match token.kind {
            TokenKind::Comment | TokenKind::Other => 1,
            TokenKind::Number | TokenKind::String => {
                self.value_done();
                1
            }
            TokenKind::Newline => {
                if let Frame::Lines { line, .. } = self.top() {
                    *line = Line::Start;
                }
                1
            }
            TokenKind::Punctuation(mark) => {
                self.punctuation(mark, previous_end);
                1
            }
            TokenKind::Identifier => {
                let text = token.text(source);
                if next_is(Mark::Equals) {
                    self.previous_end = next.map(|next| next.span.end);
                    self.name(text, token.span.end);
                    2
                } else if next_is(Mark::OpenParenthesis) {
                    self.previous_end = next.map(|next| next.span.end);
                    self.call(text, token.span.end);
                    2
                } else {
                    self.word(text, token.span.end);
                    1
                }
            }
        }
    }

    /// `name =`: a setting at the start of a line, or a named argument.
    fn name(&mut self, name: &str, end: usize) {
        match self.top() {
            Frame::Lines {
                level,
                line: line @ Line::Start,
            } => {
                let callee = match level {
                    Level::Train => Some(train_settings()),
                    Level::File | Level::Network | Level::Other => None,
                };
                let mut arguments = Arguments::of(callee);
                arguments.name(name);
                *line = Line::Statement {
                    opens: Level::Other,
                    keyword_end: end,
                    arguments,
                };
            }
            Frame::Lines {
                line: Line::Statement { arguments, .. },
                ..
            }
            | Frame::Call { arguments, .. } => arguments.name(name),
            Frame::Lines {
                line: Line::Finished,
                ..
            }
            | Frame::List { .. } => {}
        }
    }

    /// `name(`: a statement's keyword with its arguments in parentheses, or a call.
    fn call(&mut self, name: &str, end: usize) {
        let (arguments, of_statement) = match self.top() {
            Frame::Lines {
                line: Line::Start, ..
            } => {
                self.word(name, end);
                let arguments = self.arguments().copied().unwrap_or(Arguments::of(None));
                (arguments, true)
            }
            Frame::Lines {
                line: Line::Statement { arguments, .. },
                ..
            }
            | Frame::Call { arguments, .. } => {
                (Arguments::of(resolve(arguments.parameter(), name)), false)
            }
            Frame::List { element } => (Arguments::of(resolve(*element, name)), false),
            Frame::Lines {
                line: Line::Finished,
                ..
            } => (Arguments::of(None), false),
        };
        self.frames.push(Frame::Call {
            arguments,
            of_statement,
        });
    }

    /// A bare word: a keyword at the start of a line, or a value.
    fn word(&mut self, word: &str, end: usize) {
        match self.top() {
            Frame::Lines {
                level,
                line: line @ Line::Start,
            } => {
                let (callee, opens) = match level {
                    Level::File => (Names::Sections.find(word), block_of(word)),
                    Level::Network => (network_line(word), Level::Other),
                    Level::Train | Level::Other => (None, Level::Other),
                };
                *line = Line::Statement {
                    opens,
                    keyword_end: end,
                    arguments: Arguments::of(callee),
                };
            }
            Frame::Lines { .. } | Frame::Call { .. } | Frame::List { .. } => self.value_done(),
        }
    }

    fn punctuation(&mut self, mark: Mark, previous_end: Option<usize>) {
        match mark {
            Mark::OpenBrace => {
                let level = match self.top() {
                    Frame::Lines {
                        line: Line::Statement { opens, .. },
                        ..
                    } => *opens,
                    Frame::Lines { .. } | Frame::Call { .. } | Frame::List { .. } => Level::Other,
                };
                self.frames.push(Frame::Lines {
                    level,
                    line: Line::Start,
                });
            }
            Mark::CloseBrace => {
                // Close the innermost block, with any call or list left open in it.
                if let Some(block) = self.frames.iter().rposition(
                    |frame| matches!(frame, Frame::Lines { level, .. } if *level != Level::File),
                ) {
                    self.frames.truncate(block);
                    if let Frame::Lines { line, .. } = self.top() {
                        *line = Line::Finished;
                    }
                }
            }
            Mark::OpenParenthesis => {
                // Parentheses right after a statement's keyword hold its own arguments.
                let statement = match self.top() {
                    Frame::Lines {
                        line:
                            Line::Statement {
                                keyword_end,
                                arguments,
                                ..
                            },
                        ..
                    } if Some(*keyword_end) == previous_end => Some(*arguments),
                    Frame::Lines { .. } | Frame::Call { .. } | Frame::List { .. } => None,
                };
                self.frames.push(Frame::Call {
                    arguments: statement.unwrap_or(Arguments::of(None)),
                    of_statement: statement.is_some(),
                });
            }
            Mark::CloseParenthesis => {
                let Some(call) = self
                    .frames
                    .iter()
                    .rposition(|frame| matches!(frame, Frame::Call { .. }))
                else {
                    return;
                };
                let closed = self.frames[call];
                self.frames.truncate(call);
                match closed {
                    Frame::Call {
                        arguments,
                        of_statement: true,
                    } => {
                        if let Some(statement) = self.arguments() {
                            statement.positional = arguments.positional;
                        }
                    }
                    Frame::Call { .. } | Frame::Lines { .. } | Frame::List { .. } => {
                        self.value_done()
                    }
                }
            }
            Mark::OpenBracket => {
                let element = self.arguments().and_then(|arguments| arguments.parameter());
                self.frames.push(Frame::List { element });
            }
            Mark::CloseBracket => {
                if let Some(list) = self
                    .frames
                    .iter()
                    .rposition(|frame| matches!(frame, Frame::List { .. }))
                {
                    self.frames.truncate(list);
                    self.value_done();
                }
            }
            Mark::Comma => match self.top() {
                Frame::Lines {
                    level: Level::Network | Level::Train | Level::Other,
                    line,
                } => *line = Line::Start,
                Frame::Call { arguments, .. } => arguments.next = Next::Positional,
                Frame::Lines { .. } | Frame::List { .. } => {}
            },
            // A stray `=` (a name's own is read with the name).
            Mark::Equals => {}
        }
    }

    /// What goes at the place after the tokens read.
    fn slot(&mut self) -> Slot {
        match *self.top() {
            Frame::Lines {
                level,
                line: Line::Start,
            } => match level {
                Level::File => Slot::Section,
                Level::Network => Slot::NetworkLine,
                Level::Train => Slot::Argument {
                    callee: train_settings(),
                    next: None,
                },
                Level::Other => Slot::Nothing,
            },
            Frame::Lines {
                line: Line::Statement { arguments, .. },
                ..
            }
            | Frame::Call { arguments, .. } => arguments.slot(),
            Frame::Lines {
                line: Line::Finished,
                ..
            } => Slot::Nothing,
            Frame::List { element } => match element {
                Some(parameter) => Slot::Value { parameter },
                None => Slot::Nothing,
            },
        }
    }
}

/// The block a top-level keyword opens.
fn block_of(keyword: &str) -> Level {
    match Section::find(keyword) {
        Some(Section::Network) => Level::Network,
        Some(Section::Train) => Level::Train,
        Some(
            Section::Model | Section::Data | Section::Loss | Section::Optimizer | Section::Schedule,
        )
        | None => Level::Other,
    }
}

/// The row a call names, in the table of the parameter it is a value of.
fn resolve(parameter: Option<Parameter>, name: &str) -> Option<Word> {
    parameter
        .and_then(|parameter| Names::of_kind(parameter.kind))
        .and_then(|names| names.find(name))
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
            Slot::Argument { callee, next } => format!(
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
        // Stray closing brackets are read past.
        assert_eq!(describe(&at(") ] }\n|")), "section");
    }
}
