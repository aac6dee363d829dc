//! From text to [`File`]: AST building and syntax-error recovery.
//!
//! The grammar turns a line (or block entry) that does not parse into a `bad_line` /
//! `bad_entry` node and goes on. Each such node is then parsed again on its own, from its
//! first byte, with the rule it should have matched (`recovery.rs`): pest's error there
//! is exact (position and what was expected), and it becomes a [`SyntaxError`]. So every
//! syntax error of a file is reported, each at the right place. Lines right after a bracket
//! that is never closed are part of its statement, so their own errors are not reported.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::ast::*;
use crate::error::SyntaxError;
pub use crate::grammar::{MlpParser, Rule};
use crate::recovery;

/// What parsing a file gives: the tree of everything that parsed, and every syntax error.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The entries that parsed (bad lines are left out).
    pub file: File,
    /// Every syntax error, in source order.
    pub errors: Vec<SyntaxError>,
}

/// Deepest nesting of brackets and braces accepted. Real models nest two or three levels;
/// the limit keeps the recursive-descent parser's stack small on hostile input.
pub const MAX_NESTING: usize = 64;

/// Most brackets left open that a file is parsed with. Each one never closed makes the parser
/// try two readings of the text after it (as its continuation, and without it), so the work
/// doubles with each: past this many, the file gets one error at the first, unparsed.
pub const MAX_UNCLOSED: usize = 3;

/// Most syntax errors reported for one file: past that, the rest is noise.
pub const MAX_ERRORS: usize = 50;

/// Bound on the parser's rule calls for one parse, so that no input can make it crawl: a
/// base, and a number per byte of text. Well-formed text takes about 5 calls a byte
/// (measured on a 10 MB file of model lines) and text with an error on every line a few
/// dozen, so the bound cuts no file short, however long; the parser makes about 10^8 calls
/// a second.
fn call_limit(length: usize) -> usize {
    20_000_000 + 100 * length
}

/// The text of a model file as the tools read it: a leading byte-order mark (which some
/// editors write) dropped, and each lone `\r` a `\n` (so that lines show as they are read).
pub fn model_text(text: &str) -> String {
    lone_returns_as_newlines(text.strip_prefix('\u{FEFF}').unwrap_or(text))
}

/// `text` with each `\r` that no `\n` follows replaced by `\n` (the same length).
pub fn lone_returns_as_newlines(text: &str) -> String {
    let mut unified = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\r' if characters.peek() != Some(&'\n') => unified.push('\n'),
            other => unified.push(other),
        }
    }
    unified
}

/// Parses a whole `.mlp` source text. Never panics.
pub fn parse(source: &str) -> Parsed {
    // A lone `\r` ends a line, as in editors and the language server; read as `\n` (one byte
    // for one, so every span holds) it ends one for every rule and count below too.
    let unified;
    let source = if source.contains('\r') {
        unified = lone_returns_as_newlines(source);
        unified.as_str()
    } else {
        source
    };
    pest::set_call_limit(std::num::NonZeroUsize::new(call_limit(source.len())));
    if let Some(position) = crate::brackets::too_deep(source, MAX_NESTING) {
        return Parsed {
            file: File {
                entries: Vec::new(),
            },
            errors: vec![SyntaxError::TooDeep {
                span: Span::new(position, position + 1),
                limit: MAX_NESTING,
            }],
        };
    }
    let open = crate::brackets::never_closed(source);
    if open.len() > MAX_UNCLOSED {
        return Parsed {
            file: File {
                entries: Vec::new(),
            },
            errors: vec![SyntaxError::ManyUnclosed {
                span: Span::new(open[0], open[0] + 1),
                count: open.len(),
            }],
        };
    }
    let mut errors = Vec::new();
    let file = match MlpParser::parse(Rule::file, source) {
        Ok(mut pairs) => {
            let file_pair = pairs.next().expect("the file rule always yields one pair");
            let mut builder = Builder {
                source,
                errors: &mut errors,
                continued_until: None,
            };
            let entries = builder.entries(file_pair);
            File { entries }
        }
        // The file rule accepts any text through bad_line, so this is only reachable on
        // pathological input (such as pest's recursion limit); report it, do not panic.
        Err(error) => {
            errors.push(recovery::from_pest(&error, 0, source));
            File {
                entries: Vec::new(),
            }
        }
    };
    errors.sort_by_key(|error| error.span().start);
    Parsed { file, errors }
}

struct Builder<'a> {
    source: &'a str,
    errors: &'a mut Vec<SyntaxError>,
    /// After an unclosed bracket: the end of the last bad line taken as its continuation.
    continued_until: Option<usize>,
}

impl Builder<'_> {
    fn entries(&mut self, parent: Pair<'_, Rule>) -> Vec<Entry> {
        let mut entries = Vec::new();
        for pair in parent.into_inner() {
            match pair.as_rule() {
                Rule::statement => entries.push(Entry::Statement(self.statement(pair))),
                Rule::setting => entries.push(Entry::Setting(self.setting(pair))),
                Rule::bad_line => self.recover(pair, Rule::line_start),
                Rule::bad_entry => self.recover(pair, Rule::entry_start),
                _ => {}
            }
        }
        entries
    }

    /// Parses the text from a bad node's start again, with the rule it should have matched,
    /// to find the exact error.
    fn recover(&mut self, pair: Pair<'_, Rule>, rule: Rule) {
        let span = pair.as_span();
        // A bad line right after an unclosed bracket's line (or its continuation) continues
        // that bracket's statement: its error is a consequence, not a slip of its own.
        if let Some(until) = self.continued_until {
            let between = &self.source[until.min(span.start())..span.start()];
            if between.chars().filter(|&c| c == '\n').count() <= 1 {
                self.continued_until = Some(span.end());
                return;
            }
            self.continued_until = None;
        }
        if self.errors.len() >= MAX_ERRORS {
            return;
        }
        let error = recovery::diagnose(rule, self.source, span.start(), span.end());
        // Only a bracket still open past its own line's end takes the next lines with it.
        if let SyntaxError::Unclosed { end, .. } = &error
            && end.start >= span.end()
        {
            self.continued_until = Some(span.end());
        }
        self.errors.push(error);
    }

    fn statement(&mut self, pair: Pair<'_, Rule>) -> Statement {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let keyword = identifier(inner.next().expect("statement starts with an identifier"));
        let mut statement = Statement {
            keyword,
            call_arguments: None,
            arguments: Vec::new(),
            block: None,
            span,
        };
        for part in inner {
            match part.as_rule() {
                Rule::call_arguments => statement.call_arguments = Some(self.arguments(part)),
                Rule::argument => statement.arguments.push(self.argument(part)),
                Rule::block => {
                    let block_span = span_of(&part);
                    let entries = self.entries(part);
                    statement.block = Some(Block {
                        entries,
                        span: block_span,
                    });
                }
                _ => {}
            }
        }
        statement
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let key = identifier(inner.next().expect("setting has a key"));
        let value = self.value(inner.next().expect("setting has a value"));
        Setting { key, value, span }
    }

    fn arguments(&mut self, pair: Pair<'_, Rule>) -> Vec<Argument> {
        pair.into_inner()
            .map(|argument| self.argument(argument))
            .collect()
    }

    fn argument(&mut self, pair: Pair<'_, Rule>) -> Argument {
        let span = span_of(&pair);
        let inner = pair.into_inner().next().expect("argument has one child");
        if inner.as_rule() == Rule::named_argument {
            let mut parts = inner.into_inner();
            let name = identifier(parts.next().expect("named argument has a name"));
            let value = self.value(parts.next().expect("named argument has a value"));
            Argument {
                name: Some(name),
                value,
                span,
            }
        } else {
            Argument {
                name: None,
                value: self.value(inner),
                span,
            }
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::number => {
                let text = pair.as_str().to_string();
                // The grammar only admits valid float syntax, which f64 parsing accepts.
                let value = text.parse::<f64>().unwrap_or(f64::NAN);
                ValueKind::Number { value, text }
            }
            Rule::string => {
                let raw = pair
                    .into_inner()
                    .next()
                    .map(|text| text.as_str())
                    .unwrap_or("");
                ValueKind::String(unescape(raw))
            }
            Rule::boolean => ValueKind::Boolean(pair.as_str() == "true"),
            Rule::identifier => ValueKind::Identifier(pair.as_str().to_string()),
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = identifier(inner.next().expect("call has a name"));
                let arguments = self.arguments(inner.next().expect("call has arguments"));
                ValueKind::Call { name, arguments }
            }
            Rule::list => ValueKind::List(pair.into_inner().map(|item| self.value(item)).collect()),
            other => unreachable!("value rule {other:?} is not a value"),
        };
        Value { kind, span }
    }
}

fn identifier(pair: Pair<'_, Rule>) -> Identifier {
    Identifier {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let span = pair.as_span();
    Span::new(span.start(), span.end())
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut characters = raw.chars();
    while let Some(character) = characters.next() {
        if character == '\\' {
            match characters.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(character);
        }
    }
    out
}
