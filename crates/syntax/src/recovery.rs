//! From a line that does not parse to the exact [`SyntaxError`]: the line is parsed again
//! alone with the rule it should have matched, and pest's error there is put into words; a
//! bracket that is never closed is reported as such, at the bracket.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};

use crate::ast::Span;
use crate::brackets::unclosed;
use crate::error::{Slip, SyntaxError};
use crate::grammar::{MlpParser, Rule};

/// The error of a bad node (`bad_line` or `bad_entry`) that spans `start..end` of `source`,
/// which should have matched `rule` (parsed from `start`, to the end of the file).
pub(crate) fn diagnose(rule: Rule, source: &str, start: usize, end: usize) -> SyntaxError {
    let rest = &source[start..];
    // Detailed attempts let the error name the punctuation that was expected.
    pest::set_error_detail(true);
    let error = match MlpParser::parse(rule, rest) {
        Err(error) => from_pest(&error, start, source),
        // The entry parsed alone but not in place: something trails it on the line.
        Ok(pairs) => {
            let trailing = start + pairs.last().map(|pair| pair.as_span().end()).unwrap_or(0);
            unexpected_at(trailing, "end of line".to_string(), source)
        }
    };
    // Where a bracket is never closed, pest's error is wherever its attempts gave up, often
    // far from the slip: the bracket is the error to report.
    match unclosed(source, start, end) {
        Some(found) => SyntaxError::Unclosed {
            bracket: found.bracket,
            open: found.open,
            closing: found.closing,
            end: found.end,
        },
        None => error,
    }
}

/// Converts a pest error found while parsing `source[offset..]`.
pub(crate) fn from_pest(
    error: &pest::error::Error<Rule>,
    offset: usize,
    source: &str,
) -> SyntaxError {
    let position = offset
        + match error.location {
            InputLocation::Pos(position) => position,
            InputLocation::Span((start, _)) => start,
        };
    let mut expected: Vec<&'static str> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .filter_map(|rule| describe_rule(*rule))
            .collect(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    // Punctuation the parser would have taken here (literals are not rules, so pest lists
    // them only among its detailed parse attempts).
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            if let Some(word) = describe_token(&token.to_string()) {
                expected.push(word);
            }
        }
    }
    // Fold what a broader word already says: a list is a value, a separator ends a line.
    if expected.contains(&"a value") || expected.contains(&"an argument") {
        expected.retain(|word| *word != "a name" && *word != "`[`");
    }
    if expected.contains(&"end of line") {
        expected.retain(|word| *word != "`,`" && *word != "`}`");
    }
    expected.sort_unstable();
    expected.dedup();
    // Order: the most specific words first, "end of line" last.
    expected.sort_by_key(|word| (word.starts_with("end"), *word));
    let expected = match expected.split_last() {
        // Nothing pest could name, where a line or entry begins: a character no statement
        // starts with (a symbol, a letter outside ASCII).
        None if position == offset => "a statement".to_string(),
        None => "something else".to_string(),
        Some((only, [])) => only.to_string(),
        Some((last, rest)) => format!("{} or {}", rest.join(", "), last),
    };
    unexpected_at(position, expected, source)
}

fn unexpected_at(position: usize, expected: String, source: &str) -> SyntaxError {
    let rest = &source[position.min(source.len())..];
    let (found, length) = describe_found(rest);
    SyntaxError::Unexpected {
        expected,
        found,
        span: Span::new(position, position + length),
        slip: slip(rest, source, position),
    }
}

/// The words for what a grammar rule stands for; `None` for rules never worth naming.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::identifier => "a name",
        Rule::number
        | Rule::string
        | Rule::list
        | Rule::boolean
        | Rule::call
        | Rule::string_text => "a value",
        Rule::argument | Rule::named_argument => "an argument",
        Rule::call_arguments => "`(`",
        Rule::block => "`{`",
        Rule::statement | Rule::setting => "a statement",
        Rule::EOI => "end of line",
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::file
        | Rule::item
        | Rule::block_item
        | Rule::separator
        | Rule::entry
        | Rule::value
        | Rule::identifier_character
        | Rule::bad_line
        | Rule::bad_entry
        | Rule::line_start
        | Rule::entry_start => return None,
    })
}

/// The words for a literal token worth naming.
fn describe_token(token: &str) -> Option<&'static str> {
    ["=", ",", "(", ")", "[", "]", "{", "}"]
        .into_iter()
        .zip(["`=`", "`,`", "`(`", "`)`", "`[`", "`]`", "`{`", "`}`"])
        .find(|(literal, _)| *literal == token)
        .map(|(_, word)| word)
}

/// Describes the text at an error position, and how many bytes of it to underline.
fn describe_found(rest: &str) -> (String, usize) {
    let Some(first) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if first == '\n' || rest.starts_with("\r\n") {
        return ("end of line".to_string(), 0);
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    if !word.is_empty() && first.is_ascii_alphanumeric() {
        return (format!("`{word}`"), word.len());
    }
    if first == '"' {
        return ("a string".to_string(), 1);
    }
    (format!("`{first}`"), first.len_utf8())
}

/// The common slip that explains an error at `position`, if one does.
fn slip(rest: &str, source: &str, position: usize) -> Option<Slip> {
    let line_start = source[..position.min(source.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let before = &source[..line_start];
    let at_top_level =
        !before.contains('{') || before.matches('{').count() == before.matches('}').count();
    if rest.starts_with('=') && at_top_level {
        return Some(Slip::SettingOutsideTrain);
    }
    if rest.starts_with('"') {
        return Some(Slip::UnterminatedString);
    }
    if rest.starts_with(':') {
        return Some(Slip::ColonInsteadOfEquals);
    }
    None
}
