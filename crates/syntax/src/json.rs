//! Diagnostics as data: one JSON object per diagnostic, one per line, for editors and scripts
//! (as cargo's `--message-format json` does).
//!
//! Each object holds `severity` (`"error"`, or `"note"` for what stops nothing: mlpc has
//! no warnings), `message`, `file`, the primary span's `line`, `column`, `end_line` and
//! `end_column`, every `label` with its own span and text (the primary one first), the
//! `hint` (or `null`) and the `notes`. Lines
//! and columns count from 1, columns in characters, exactly as the rendered text's
//! `file:line:column`; each label also gives its byte range. A diagnostic that concerns no
//! place in a file ([`render_json_plain_error`]) has `null` for the file and every position;
//! one about a data file ([`render_json_in_file`]) names the file, and the line of a record.

use codespan_reporting::files::{Files, SimpleFile};
use serde::Serialize;

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

/// One diagnostic, as data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonDiagnostic {
    /// `"error"`, or `"note"`.
    pub severity: &'static str,
    /// The headline.
    pub message: String,
    /// The file, as the caller names it.
    pub file: Option<String>,
    /// First line of the primary span, from 1.
    pub line: Option<usize>,
    /// First column of the primary span, from 1, in characters.
    pub column: Option<usize>,
    /// Line where the primary span ends.
    pub end_line: Option<usize>,
    /// Column just past the primary span's end.
    pub end_column: Option<usize>,
    /// The labelled spans, the primary one first.
    pub labels: Vec<JsonLabel>,
    /// A suggestion, if any.
    pub hint: Option<String>,
    /// Further explanation.
    pub notes: Vec<String>,
}

/// A labelled span of a diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonLabel {
    /// Whether this is the span the diagnostic is about (the others give context).
    pub primary: bool,
    /// The text shown under the span.
    pub message: String,
    /// First line, from 1.
    pub line: usize,
    /// First column, from 1, in characters.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just past the end.
    pub end_column: usize,
    /// First byte.
    pub byte_start: usize,
    /// One past the last byte.
    pub byte_end: usize,
}

impl JsonDiagnostic {
    /// A diagnostic about `source`, the text of the file named `file_name`.
    pub fn new(file_name: &str, source: &str, diagnostic: &Diagnostic) -> JsonDiagnostic {
        let file = SimpleFile::new(file_name, source);
        let mut labels = vec![label(
            &file,
            source,
            diagnostic.span,
            &diagnostic.label,
            true,
        )];
        labels.extend(
            diagnostic
                .secondary
                .iter()
                .map(|(span, text)| label(&file, source, *span, text, false)),
        );
        let primary = &labels[0];
        JsonDiagnostic {
            severity: "error",
            message: diagnostic.message.clone(),
            file: Some(file_name.to_string()),
            line: Some(primary.line),
            column: Some(primary.column),
            end_line: Some(primary.end_line),
            end_column: Some(primary.end_column),
            hint: diagnostic.hint.clone(),
            notes: diagnostic.notes.clone(),
            labels,
        }
    }

    /// One line of JSON, without its newline.
    pub fn to_line(&self) -> String {
        // A struct of strings and numbers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn label(
    file: &SimpleFile<&str, &str>,
    source: &str,
    span: Span,
    text: &str,
    primary: bool,
) -> JsonLabel {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
    // Inside the file, on character boundaries: the lookups cannot fail.
    let location = |byte: usize| {
        file.location((), byte).map_or((1, 1), |location| {
            (location.line_number, location.column_number)
        })
    };
    let (line, column) = location(start);
    let (end_line, end_column) = location(end);
    JsonLabel {
        primary,
        message: text.to_string(),
        line,
        column,
        end_line,
        end_column,
        byte_start: start,
        byte_end: end,
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Diagnostics about one source file as JSON lines: one object per diagnostic, each line
/// ending in a newline.
pub fn render_json(file_name: &str, source: &str, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| JsonDiagnostic::new(file_name, source, diagnostic).to_line() + "\n")
        .collect()
}

/// A diagnostic that concerns no place in a file (such as a file that cannot be read), as one
/// JSON line ending in a newline: the counterpart of
/// [`render_plain_error`](crate::diagnostic::render_plain_error).
pub fn render_json_plain_error(message: &str, hint: Option<&str>) -> String {
    render_json_plain("error", message, hint)
}

/// A message of `severity` (`error`, `note`) that concerns no place in a file, as one JSON
/// line.
pub fn render_json_plain(severity: &'static str, message: &str, hint: Option<&str>) -> String {
    render_json_in_file(severity, message, None, None, hint)
}

/// An error about a file that is not a model (a data file), at a whole line where one is
/// known (a CSV record), as one JSON line: `file` and `line` set, no column.
pub fn render_json_in_file(
    severity: &'static str,
    message: &str,
    file: Option<&str>,
    line: Option<usize>,
    hint: Option<&str>,
) -> String {
    let diagnostic = JsonDiagnostic {
        severity,
        message: message.to_string(),
        file: file.map(str::to_string),
        line,
        column: None,
        end_line: None,
        end_column: None,
        labels: Vec::new(),
        hint: hint.map(str::to_string),
        notes: Vec::new(),
    };
    diagnostic.to_line() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_object_per_line_with_positions_in_characters() {
        // `é` (bytes 6..8) is two bytes but one column.
        let source = "model é\nloss = mse\n";
        let diagnostics = [
            Diagnostic::error("first", Span::new(17, 18))
                .with_label("here")
                .with_secondary(Span::new(6, 8), "and there")
                .with_hint("fix it"),
            Diagnostic::error("second", Span::new(0, 5)),
        ];
        let text = render_json("m.mlp", source, &diagnostics);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"severity":"error","message":"first","file":"m.mlp","line":2,"column":9,"end_line":2,"end_column":10,"labels":[{"primary":true,"message":"here","line":2,"column":9,"end_line":2,"end_column":10,"byte_start":17,"byte_end":18},{"primary":false,"message":"and there","line":1,"column":7,"end_line":1,"end_column":8,"byte_start":6,"byte_end":8}],"hint":"fix it","notes":[]}"#
        );
        assert!(lines[1].contains(r#""line":1,"column":1,"end_line":1,"end_column":6"#));
        assert!(lines[1].contains(r#""hint":null"#));
    }

    #[test]
    fn spans_past_the_end_or_inside_a_character_are_clamped() {
        let source = "é";
        let line = JsonDiagnostic::new("m.mlp", source, &Diagnostic::error("x", Span::new(1, 9)));
        assert_eq!(
            (line.line, line.column, line.end_column),
            (Some(1), Some(1), Some(2))
        );
        assert_eq!((line.labels[0].byte_start, line.labels[0].byte_end), (0, 2));
    }

    #[test]
    fn an_error_about_no_place_has_null_positions() {
        assert_eq!(
            render_json_plain_error("cannot read `m.mlp`", Some("check the path")),
            "{\"severity\":\"error\",\"message\":\"cannot read `m.mlp`\",\"file\":null,\"line\":null,\"column\":null,\"end_line\":null,\"end_column\":null,\"labels\":[],\"hint\":\"check the path\",\"notes\":[]}\n"
        );
    }
}
