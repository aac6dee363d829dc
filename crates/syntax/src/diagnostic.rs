//! Diagnostics: the one place where errors of every stage become text for people.
//!
//! Each stage's error enum converts itself into a [`Diagnostic`] (a message, a primary span
//! with a label, more labelled spans, notes and a hint); [`render`] turns diagnostics into
//! text with codespan-reporting, in colour for a terminal or plain (ASCII art) for pipes and
//! golden tests. Every rendered diagnostic names `file:line:column` and underlines the span.

use codespan_reporting::diagnostic::{Diagnostic as CodespanDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, Chars, Config, Styles, StylesWriter, termcolor};

use crate::ast::Span;

/// One error about a place in a source file. (mlpc has no warnings: a model is valid or not.)
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The headline.
    pub message: String,
    /// The place the message is about.
    pub span: Span,
    /// Text under the primary caret.
    pub label: String,
    /// Other places worth showing, with their text.
    pub secondary: Vec<(Span, String)>,
    /// A suggestion: "did you mean", the valid range...
    pub hint: Option<String>,
    /// Further explanation.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            hint: None,
            notes: Vec::new(),
        }
    }

    /// Sets the text under the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds another labelled place.
    pub fn with_secondary(mut self, span: Span, label: impl Into<String>) -> Self {
        self.secondary.push((span, label.into()));
        self
    }

    /// Sets the hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    fn to_codespan(&self, source_length: usize) -> CodespanDiagnostic<()> {
        let clamp = |span: Span| {
            let start = span.start.min(source_length);
            start..span.end.clamp(start, source_length)
        };
        let mut labels =
            vec![Label::primary((), clamp(self.span)).with_message(self.label.clone())];
        labels.extend(
            self.secondary
                .iter()
                .map(|(span, text)| Label::secondary((), clamp(*span)).with_message(text.clone())),
        );
        // The hint first: it is what to do; notes explain.
        let notes: Vec<String> = self
            .hint
            .iter()
            .map(|hint| format!("hint: {hint}"))
            .chain(self.notes.iter().map(|note| format!("note: {note}")))
            .collect();
        CodespanDiagnostic::error()
            .with_message(self.message.clone())
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Whether rendered text carries terminal colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// ANSI colours, box-drawing characters: for a terminal.
    Terminal,
    /// Plain ASCII: for pipes, files and golden tests.
    Plain,
}

/// Renders diagnostics about one source file, each followed by a blank line.
pub fn render(file_name: &str, source: &str, diagnostics: &[Diagnostic], colour: Colour) -> String {
    let file = SimpleFile::new(file_name, source);
    let mut config = Config::default();
    if colour == Colour::Plain {
        config.chars = Chars::ascii();
    }
    let mut out = String::new();
    for diagnostic in diagnostics {
        if let Some(compact) = compact(file_name, source, diagnostic) {
            out.push_str(&compact);
            continue;
        }
        let codespan = diagnostic.to_codespan(source.len());
        match colour {
            Colour::Plain => {
                // Rendering into memory cannot fail for a span inside the file.
                let _ = term::emit_to_string(&mut out, &config, &file, &codespan);
            }
            Colour::Terminal => {
                let styles = Styles::default();
                let mut buffer = termcolor::Buffer::ansi();
                let mut writer = StylesWriter::new(&mut buffer, &styles);
                let _ = term::emit_to_write_style(&mut writer, &config, &file, &codespan);
                out.push_str(&String::from_utf8_lossy(buffer.as_slice()));
            }
        }
    }
    out
}

/// Lines longer than this are not shown under a diagnostic (a generated or minified file
/// could print megabytes): its place, hint and notes are, without the line.
const LONGEST_LINE_SHOWN: usize = 500;

/// A diagnostic whose spans lie on a line too long to show, as its place, hint and notes;
/// `None` where every line can be shown.
fn compact(file_name: &str, source: &str, diagnostic: &Diagnostic) -> Option<String> {
    let line_of = |byte: usize| {
        let byte = byte.min(source.len());
        let start = source[..byte].rfind('\n').map_or(0, |newline| newline + 1);
        let end = source[byte..]
            .find('\n')
            .map_or(source.len(), |newline| byte + newline);
        (start, end)
    };
    let too_long = std::iter::once(diagnostic.span)
        .chain(diagnostic.secondary.iter().map(|(span, _)| *span))
        .any(|span| {
            let (start, end) = line_of(span.start);
            source
                .get(start..end)
                .map_or(0, |line| line.chars().count())
                > LONGEST_LINE_SHOWN
        });
    if !too_long {
        return None;
    }
    let byte = diagnostic.span.start.min(source.len());
    let (start, _) = line_of(byte);
    let line = source[..start].matches('\n').count() + 1;
    let column = source
        .get(start..byte)
        .map_or(1, |before| before.chars().count() + 1);
    let mut text = format!(
        "error: {}\n  --> {file_name}:{line}:{column}\n  = note: the line is too long to show ({} characters)\n",
        diagnostic.message,
        source[start..line_of(byte).1].chars().count()
    );
    if let Some(hint) = &diagnostic.hint {
        text.push_str(&format!("  = hint: {hint}\n"));
    }
    for note in &diagnostic.notes {
        text.push_str(&format!("  = note: {note}\n"));
    }
    text.push('\n');
    Some(text)
}

/// A diagnostic that concerns no place in a file (such as a file that cannot be read).
pub fn render_plain_error(message: &str, hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("error: {message}\n  = hint: {hint}\n"),
        None => format!("error: {message}\n"),
    }
}
