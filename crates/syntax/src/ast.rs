//! The abstract syntax tree: what a `.mlp` file says, with a byte span on every node.
//!
//! The tree mirrors the generic grammar: statements, settings, arguments and values. It knows
//! nothing of what keywords mean; the checker in `mlpc-ir` gives them meaning.

use serde::Serialize;

/// A byte range `start..end` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
}

/// A whole file: its top-level entries in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    /// Top-level entries (statements, and settings the checker will reject).
    pub entries: Vec<Entry>,
}

/// One item of a file or block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Entry {
    /// `dense 128 relu`, `network { ... }`
    Statement(Statement),
    /// `epochs = 10`
    Setting(Setting),
}

impl Entry {
    /// The span of the whole entry.
    pub fn span(&self) -> Span {
        match self {
            Entry::Statement(statement) => statement.span,
            Entry::Setting(setting) => setting.span,
        }
    }
}

/// `keyword (call arguments)? argument* block?`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// The first word: `dense`, `optimizer`, `network`.
    pub keyword: Identifier,
    /// Arguments in parentheses right after the keyword, as in `leaky_relu(0.1)`.
    pub call_arguments: Option<Vec<Argument>>,
    /// Arguments written after the keyword, separated by spaces.
    pub arguments: Vec<Argument>,
    /// A `{ ... }` block, as in `network { ... }`.
    pub block: Option<Block>,
    /// The whole statement.
    pub span: Span,
}

impl Statement {
    /// Every argument, parenthesised ones first.
    pub fn all_arguments(&self) -> impl Iterator<Item = &Argument> {
        self.call_arguments
            .iter()
            .flatten()
            .chain(self.arguments.iter())
    }
}

/// `key = value` inside a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// The key.
    pub key: Identifier,
    /// The value.
    pub value: Value,
    /// The whole setting.
    pub span: Span,
}

/// `{ entry, entry ... }`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    /// The entries, in order.
    pub entries: Vec<Entry>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A positional (`128`) or named (`lr = 0.1`) argument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Argument {
    /// The name, for a named argument.
    pub name: Option<Identifier>,
    /// The value.
    pub value: Value,
    /// The whole argument.
    pub span: Span,
}

/// A name with its place in the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identifier {
    /// The text.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A value with its place in the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    /// What kind of value.
    pub kind: ValueKind,
    /// Where it is.
    pub span: Span,
}

/// The kinds of value the language has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ValueKind {
    /// A number, with its source text kept for the formatter.
    Number {
        /// The number.
        value: f64,
        /// As written: `1e-3`, `0.10`.
        text: String,
    },
    /// A string, escapes resolved.
    String(String),
    /// `true` or `false`.
    Boolean(bool),
    /// A bare name: `relu`, `accuracy`.
    Identifier(String),
    /// `name(arguments)`.
    Call {
        /// The name called.
        name: Identifier,
        /// Its arguments.
        arguments: Vec<Argument>,
    },
    /// `[value, ...]`.
    List(Vec<Value>),
}

impl ValueKind {
    /// A short noun for messages: "a number", "a string", ...
    pub fn describe(&self) -> &'static str {
        match self {
            ValueKind::Number { .. } => "a number",
            ValueKind::String(_) => "a string",
            ValueKind::Boolean(_) => "a boolean",
            ValueKind::Identifier(_) => "a name",
            ValueKind::Call { .. } => "a call",
            ValueKind::List(_) => "a list",
        }
    }
}
