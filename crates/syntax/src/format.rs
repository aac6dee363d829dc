//! The formatter behind `mlpc fmt`: prints a parsed file in canonical form.
//!
//! Canonical form: one statement per line, two-space indentation inside blocks, single
//! spaces between arguments, `name = value` with spaces, `, ` between parenthesised
//! arguments; a block of settings that fits on one line and holds no comment is written
//! `{ a = 1, b = 2 }`, every other block one entry per line. Numbers keep the text they were
//! written with. Comments are kept: each one stays before the entry it preceded or at the end
//! of the line it ended; one inside an entry written over several lines (a call's arguments
//! a line each) goes on a line of its own just before the entry, which is printed on one.
//! Runs of blank lines shrink to one. Formatting is idempotent and changes no meaning: it
//! prints the same tree it parsed. Lines end as the file's first line does (`\r\n` or
//! `\n`); a lone `\r` ends a line, as for the parser.

use crate::ast::*;

/// Widest a one-line settings block may get before it is split.
const ONE_LINE_BLOCK_LIMIT: usize = 80;

/// A `#` comment: where it starts and its text from `#` to the end of the line.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    end: usize,
    text: String,
}

/// Formats a file that parsed without errors. `source` must be the text it was parsed from.
pub fn format(source: &str, file: &File) -> String {
    // Lines end as the file's first line does: `\r\n` stays `\r\n` (Windows editors).
    let newline = match source.find('\n') {
        Some(index) if source[..index].ends_with('\r') => "\r\n",
        Some(_) | None => "\n",
    };
    // A lone `\r` ends a line, as for the parser (one byte for one: every span holds).
    let unified;
    let source = if source.contains('\r') {
        unified = crate::parser::lone_returns_as_newlines(source);
        unified.as_str()
    } else {
        source
    };
    let mut printer = Printer {
        source,
        comments: find_comments(source),
        next: 0,
        lines: Vec::new(),
        last_end: 0,
    };
    for entry in &file.entries {
        printer.entry(entry, 0);
    }
    printer.comments_before(source.len(), 0);
    let mut text = printer.lines.join(newline);
    text.push_str(newline);
    text
}

/// Finds every comment: a `#` outside a string, to the end of its line. A line ends at `\n`
/// or at a lone `\r`, as the grammar's `NEWLINE` does.
fn find_comments(source: &str) -> Vec<Comment> {
    let mut comments = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut characters = source.char_indices();
    while let Some((index, character)) = characters.next() {
        if in_string {
            match character {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' | '\r' => in_string = false,
                _ => {}
            }
        } else if character == '"' {
            in_string = true;
        } else if character == '#' {
            let end = source[index..]
                .find(['\n', '\r'])
                .map_or(source.len(), |offset| index + offset);
            comments.push(Comment {
                start: index,
                end,
                text: source[index..end].trim_end().to_string(),
            });
            // Skip to the end of the line.
            for (position, _) in characters.by_ref() {
                if position + 1 >= end {
                    break;
                }
            }
        }
    }
    comments
}

struct Printer<'a> {
    source: &'a str,
    comments: Vec<Comment>,
    next: usize,
    lines: Vec<String>,
    /// Source offset of the end of what was printed last.
    last_end: usize,
}

impl Printer<'_> {
    fn newlines_between(&self, start: usize, end: usize) -> usize {
        self.source
            .get(start..end)
            .map_or(0, |gap| gap.matches('\n').count())
    }

    /// A blank line before something that starts at `start`, where the source had one.
    fn blank_line_before(&mut self, start: usize) {
        let after_opening = self.lines.last().is_none_or(|line| line.ends_with('{'));
        if !after_opening && self.newlines_between(self.last_end, start) >= 2 {
            self.lines.push(String::new());
        }
    }

    /// Prints every comment that starts before `position`.
    fn comments_before(&mut self, position: usize, depth: usize) {
        while let Some(comment) = self.comments.get(self.next).cloned() {
            if comment.start >= position {
                break;
            }
            self.next += 1;
            let same_line =
                !self.lines.is_empty() && self.newlines_between(self.last_end, comment.start) == 0;
            if same_line {
                let line = self.lines.last_mut().expect("not empty");
                line.push_str("  ");
                line.push_str(&comment.text);
            } else {
                self.blank_line_before(comment.start);
                self.lines
                    .push(format!("{}{}", indent(depth), comment.text));
            }
            self.last_end = comment.end;
        }
    }

    fn entry(&mut self, entry: &Entry, depth: usize) {
        let span = entry.span();
        self.comments_before(span.start, depth);
        self.blank_line_before(span.start);
        // Comments inside the entry's one printed line (a call or list written over several
        // lines) go on lines of their own just before it, in order.
        let line_end = self.end_before_comments(
            span.start,
            match entry {
                Entry::Statement(Statement {
                    block: Some(block), ..
                }) => block.span.start,
                Entry::Statement(_) | Entry::Setting(_) => span.end,
            },
        );
        while let Some(comment) = self.comments.get(self.next)
            && comment.start < line_end
        {
            self.lines
                .push(format!("{}{}", indent(depth), comment.text));
            self.next += 1;
        }
        match entry {
            Entry::Setting(setting) => {
                self.lines
                    .push(format!("{}{}", indent(depth), setting_text(setting)));
                self.last_end = span.end;
            }
            Entry::Statement(statement) => {
                let head = format!("{}{}", indent(depth), statement_head(statement));
                match &statement.block {
                    None => {
                        self.lines.push(head);
                        self.last_end = span.end;
                    }
                    Some(block) => self.block(head, block, depth),
                }
            }
        }
        // A comment at the end of the entry's last line stays there.
        self.trailing_comment();
    }

    /// Where the text of `start..end` ends once the comments and blanks that close it are
    /// left out (an entry's span may take in the comment after it).
    fn end_before_comments(&self, start: usize, end: usize) -> usize {
        let mut end = end;
        loop {
            let trimmed = start + self.source[start..end].trim_end().len();
            let closing = self.comments[self.next..].iter().find(|comment| {
                comment.start >= start && comment.start + comment.text.len() == trimmed
            });
            match closing {
                Some(comment) if comment.start < end => end = comment.start,
                Some(_) | None => return trimmed,
            }
        }
    }

    fn trailing_comment(&mut self) {
        if let Some(comment) = self.comments.get(self.next)
            && self.newlines_between(self.last_end, comment.start) == 0
        {
            let end = comment.start + 1;
            self.comments_before(end, 0);
        }
    }

    fn block(&mut self, head: String, block: &Block, depth: usize) {
        let has_comment = self
            .comments
            .get(self.next)
            .is_some_and(|comment| comment.start < block.span.end);
        let all_settings = block
            .entries
            .iter()
            .all(|entry| matches!(entry, Entry::Setting(_)));
        if block.entries.is_empty() && !has_comment {
            self.lines.push(format!("{head} {{}}"));
            self.last_end = block.span.end;
            return;
        }
        if all_settings && !has_comment {
            let settings: Vec<String> = block
                .entries
                .iter()
                .filter_map(|entry| match entry {
                    Entry::Setting(setting) => Some(setting_text(setting)),
                    Entry::Statement(_) => None,
                })
                .collect();
            let line = format!("{head} {{ {} }}", settings.join(", "));
            if line.len() <= ONE_LINE_BLOCK_LIMIT {
                self.lines.push(line);
                self.last_end = block.span.end;
                return;
            }
        }
        self.lines.push(format!("{head} {{"));
        self.last_end = block.span.start + 1;
        self.trailing_comment();
        for entry in &block.entries {
            self.entry(entry, depth + 1);
        }
        self.comments_before(block.span.end.saturating_sub(1), depth + 1);
        self.lines.push(format!("{}}}", indent(depth)));
        self.last_end = block.span.end;
    }
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn statement_head(statement: &Statement) -> String {
    let mut text = statement.keyword.name.clone();
    if let Some(arguments) = &statement.call_arguments {
        text.push_str(&format!("({})", arguments_text(arguments)));
    }
    for argument in &statement.arguments {
        text.push(' ');
        text.push_str(&argument_text(argument));
    }
    text
}

fn setting_text(setting: &Setting) -> String {
    format!("{} = {}", setting.key.name, value_text(&setting.value))
}

fn arguments_text(arguments: &[Argument]) -> String {
    arguments
        .iter()
        .map(argument_text)
        .collect::<Vec<_>>()
        .join(", ")
}

fn argument_text(argument: &Argument) -> String {
    match &argument.name {
        Some(name) => format!("{} = {}", name.name, value_text(&argument.value)),
        None => value_text(&argument.value),
    }
}

/// Prints a value in canonical form.
pub fn value_text(value: &Value) -> String {
    match &value.kind {
        ValueKind::Number { text, .. } => text.clone(),
        ValueKind::String(text) => {
            let escaped = text
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
                .replace('\t', "\\t");
            format!("\"{escaped}\"")
        }
        ValueKind::Boolean(flag) => flag.to_string(),
        ValueKind::Identifier(name) => name.clone(),
        ValueKind::Call { name, arguments } => {
            format!("{}({})", name.name, arguments_text(arguments))
        }
        ValueKind::List(items) => {
            format!(
                "[{}]",
                items.iter().map(value_text).collect::<Vec<_>>().join(", ")
            )
        }
    }
}
