//! The reading behind [`crate::context`]: tokens read in order with the checker's binding
//! rules, keeping the nesting of blocks, calls and lists, to say what goes after them.
//!
//! A [`Reader`] holds a stack of frames: the lines of the file or of a block (and how far the
//! current line is read: its keyword, the row that keyword names, the arguments read so far),
//! a call's parentheses (the row the call names, and its arguments), or a list's brackets
//! (the parameter whose values it holds). A closing mark closes the innermost frame of its
//! kind and whatever was left open inside it, so stray or missing marks never stop it.

use mlpc_ir::section::Section;
use mlpc_ir::signature::Parameter;

use crate::context::Slot;
use crate::scan::{Mark, Token, TokenKind};
use crate::words::{Names, Word, network_line, train_settings};

/// Where lines are: the file, or a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The file's top level: sections.
    File,
    /// `network { }`: layers.
    Network,
    /// `train { }`: settings, and those its lines have given so far.
    Train { given: Bound },
    /// Any other block: nothing known goes there.
    Other,
}

/// Bits of parameters (by their index in the callee's list) that have values.
type Bound = u64;

/// The bit of `callee`'s parameter `name`, if it has one.
fn bit_of(callee: Option<Word>, name: &str) -> Bound {
    callee
        .and_then(|callee| {
            callee
                .parameters
                .iter()
                .position(|parameter| parameter.name == name)
        })
        .filter(|&index| index < 64)
        .map_or(0, |index| 1 << index)
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
    /// The parameters named so far.
    named: Bound,
    /// A setting's line (`name = value`): one value, and nothing after it.
    setting: bool,
    /// Whether a setting's value was read.
    done: bool,
}

impl Arguments {
    fn of(callee: Option<Word>) -> Arguments {
        Arguments {
            callee,
            positional: 0,
            next: Next::Positional,
            named_seen: false,
            named: 0,
            setting: false,
            done: false,
        }
    }

    /// The parameters with a value: the first ones by position, and those named.
    fn bound(&self) -> Bound {
        let positional = match self.positional {
            0 => 0,
            count if count >= 64 => Bound::MAX,
            count => (1 << count) - 1,
        };
        positional | self.named
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
        self.named |= bit_of(self.callee, name);
    }

    /// A whole value was read.
    fn value_done(&mut self) {
        match self.next {
            Next::Positional => self.positional += 1,
            Next::Named(_) => self.next = Next::Positional,
        }
        self.done = self.setting;
    }

    fn slot(&self) -> Slot {
        if self.done {
            // `name = value` and nothing more: the next setting goes after a separator.
            return Slot::Nothing;
        }
        match self.next {
            Next::Named(Some(parameter)) => Slot::Value { parameter },
            Next::Named(None) => Slot::Nothing,
            Next::Positional => match self.callee {
                Some(callee) => Slot::Argument {
                    callee,
                    next: self.parameter(),
                    bound: self.bound(),
                },
                None => Slot::Nothing,
            },
        }
    }
}

/// How far the current line of a [`Level`] is read.
// A reader holds a few frames for the nesting of one file: their being `Copy` matters more
// than their size.
#[allow(clippy::large_enum_variant)]
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
pub struct Reader {
    frames: Vec<Frame>,
    /// The end of the last token read that is not a comment.
    previous_end: Option<usize>,
    /// Whether no token but comments came since the last line break.
    line_began: bool,
}

impl Reader {
    /// A reader at the start of a file.
    pub fn new() -> Reader {
        Reader {
            frames: vec![Frame::Lines {
                level: Level::File,
                line: Line::Start,
            }],
            previous_end: None,
            line_began: true,
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
    pub fn feed(&mut self, source: &str, token: &Token, next: Option<&Token>) -> usize {
        let previous_end = self.previous_end;
        let line_began = self.line_began;
        if token.kind != TokenKind::Comment {
            self.previous_end = Some(token.span.end);
            self.line_began = token.kind == TokenKind::Newline;
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
                if line_began && !next_is(Mark::Equals) {
                    self.close_left_open(text);
                }
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

    /// A word at the start of a line inside a call or list that a line of the enclosing
    /// lines begins with (a section keyword at the top level, a layer kind in a network): the
    /// call or list was left open (the checker says so), and the word is read as the line's
    /// start, so that what follows an unclosed bracket still completes and hovers.
    fn close_left_open(&mut self, word: &str) {
        let Some(lines) = self
            .frames
            .iter()
            .rposition(|frame| matches!(frame, Frame::Lines { .. }))
        else {
            return;
        };
        if lines + 1 == self.frames.len() {
            return;
        }
        let starts_a_line = match self.frames[lines] {
            Frame::Lines {
                level: Level::File, ..
            } => Section::find(word).is_some(),
            // A layer kind, not an activation: an activation may be a call's value.
            Frame::Lines {
                level: Level::Network,
                ..
            } => mlpc_ir::vocabulary::LAYERS.find(word).is_some(),
            Frame::Lines { .. } | Frame::Call { .. } | Frame::List { .. } => false,
        };
        if starts_a_line {
            self.frames.truncate(lines + 1);
            if let Frame::Lines { line, .. } = self.top() {
                *line = Line::Start;
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
                    Level::Train { given } => {
                        *given |= bit_of(Some(train_settings()), name);
                        Some(train_settings())
                    }
                    Level::File | Level::Network | Level::Other => None,
                };
                let mut arguments = Arguments::of(callee);
                arguments.setting = true;
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
                    // A layer written with a block (`residual { ... }`) holds layers.
                    Level::Network => {
                        let holds_layers = mlpc_ir::vocabulary::LAYERS
                            .find(word)
                            .is_some_and(mlpc_ir::vocabulary::holds_layers);
                        let opens = if holds_layers {
                            Level::Network
                        } else {
                            Level::Other
                        };
                        (network_line(word), opens)
                    }
                    Level::Train { .. } | Level::Other => (None, Level::Other),
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
                        // The statement's arguments go on after its parentheses: what they
                        // bound stays bound.
                        if let Some(statement) = self.arguments() {
                            statement.positional = arguments.positional;
                            statement.named = arguments.named;
                            statement.named_seen = arguments.named_seen;
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
                    level: Level::Network | Level::Train { .. } | Level::Other,
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
    pub fn slot(&mut self) -> Slot {
        match *self.top() {
            Frame::Lines {
                level,
                line: Line::Start,
            } => match level {
                Level::File => Slot::Section,
                Level::Network => Slot::NetworkLine,
                Level::Train { given } => Slot::Argument {
                    callee: train_settings(),
                    next: None,
                    bound: given,
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
        Some(Section::Train) => Level::Train { given: 0 },
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
