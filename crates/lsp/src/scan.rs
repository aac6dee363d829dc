//! A forgiving tokenizer of `.mlp` text, for the editor features that must work on a file
//! being typed (which seldom parses): every text gives tokens, none is refused.
//!
//! Its words are the grammar's: identifiers (`[A-Za-z_][A-Za-z0-9_]*`), numbers, strings in
//! double quotes (one that is not closed ends at its line's end), `#` comments to the end of
//! the line, line breaks, and the punctuation `( ) [ ] { } , =`; anything else is one
//! [`TokenKind::Other`] character.

use mlpc_syntax::Span;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `dense`, `batch_size`, `true`.
    Identifier,
    /// `42`, `-0.5`, `1e-3`.
    Number,
    /// `"data/mnist"`.
    String,
    /// `# ...` to the end of the line.
    Comment,
    /// `\n`, `\r\n` or `\r`.
    Newline,
    /// One of `( ) [ ] { } , =`.
    Punctuation(Mark),
    /// Any other character.
    Other,
}

/// A punctuation mark of the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `(`
    OpenParenthesis,
    /// `)`
    CloseParenthesis,
    /// `[`
    OpenBracket,
    /// `]`
    CloseBracket,
    /// `{`
    OpenBrace,
    /// `}`
    CloseBrace,
    /// `,`
    Comma,
    /// `=`
    Equals,
}

impl Mark {
    /// The mark a character is, if it is one.
    pub fn of(character: char) -> Option<Mark> {
        match character {
            '(' => Some(Mark::OpenParenthesis),
            ')' => Some(Mark::CloseParenthesis),
            '[' => Some(Mark::OpenBracket),
            ']' => Some(Mark::CloseBracket),
            '{' => Some(Mark::OpenBrace),
            '}' => Some(Mark::CloseBrace),
            ',' => Some(Mark::Comma),
            '=' => Some(Mark::Equals),
            _ => None,
        }
    }
}

/// A token and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// Where it is.
    pub span: Span,
}

impl Token {
    /// Its text in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.span.start..self.span.end).unwrap_or("")
    }
}

/// Every token of a text, in order (spaces and tabs are skipped).
pub fn tokens(source: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut characters = source.char_indices().peekable();
    while let Some((start, character)) = characters.next() {
        let mut end = start + character.len_utf8();
        let kind = match character {
            ' ' | '\t' => continue,
            '\n' => TokenKind::Newline,
            '\r' => {
                if let Some(&(index, '\n')) = characters.peek() {
                    end = index + 1;
                    characters.next();
                }
                TokenKind::Newline
            }
            '#' => {
                take_while(&mut characters, &mut end, |next| {
                    next != '\n' && next != '\r'
                });
                TokenKind::Comment
            }
            '"' => {
                let mut escaped = false;
                while let Some(&(index, next)) = characters.peek() {
                    if next == '\n' || next == '\r' {
                        break;
                    }
                    end = index + next.len_utf8();
                    characters.next();
                    if escaped {
                        escaped = false;
                    } else if next == '\\' {
                        escaped = true;
                    } else if next == '"' {
                        break;
                    }
                }
                TokenKind::String
            }
            _ if let Some(mark) = Mark::of(character) => TokenKind::Punctuation(mark),
            _ if character.is_ascii_alphabetic() || character == '_' => {
                take_while(&mut characters, &mut end, |next| {
                    next.is_ascii_alphanumeric() || next == '_'
                });
                TokenKind::Identifier
            }
            _ if character.is_ascii_digit() || matches!(character, '-' | '.') => {
                let mut previous = character;
                while let Some(&(index, next)) = characters.peek() {
                    let exponent_sign = matches!(next, '+' | '-') && matches!(previous, 'e' | 'E');
                    if !(next.is_ascii_alphanumeric() || next == '.' || exponent_sign) {
                        break;
                    }
                    end = index + next.len_utf8();
                    previous = next;
                    characters.next();
                }
                TokenKind::Number
            }
            _ => TokenKind::Other,
        };
        tokens.push(Token {
            kind,
            span: Span::new(start, end),
        });
    }
    tokens
}

/// Takes the characters that `keep` accepts, moving `end` past each.
fn take_while(
    characters: &mut std::iter::Peekable<std::str::CharIndices>,
    end: &mut usize,
    keep: impl Fn(char) -> bool,
) {
    while let Some(&(index, next)) = characters.peek() {
        if !keep(next) {
            break;
        }
        *end = index + next.len_utf8();
        characters.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(character: char) -> TokenKind {
        TokenKind::Punctuation(Mark::of(character).expect("a mark"))
    }

    fn kinds_and_texts(source: &str) -> Vec<(TokenKind, &str)> {
        tokens(source)
            .into_iter()
            .map(|token| (token.kind, token.text(source)))
            .collect()
    }

    #[test]
    fn a_line_splits_into_the_grammar_words() {
        use TokenKind::*;
        assert_eq!(
            kinds_and_texts("optimizer sgd(lr = 1e-3, nesterov = true) # fast\n"),
            vec![
                (Identifier, "optimizer"),
                (Identifier, "sgd"),
                (mark('('), "("),
                (Identifier, "lr"),
                (mark('='), "="),
                (Number, "1e-3"),
                (mark(','), ","),
                (Identifier, "nesterov"),
                (mark('='), "="),
                (Identifier, "true"),
                (mark(')'), ")"),
                (Comment, "# fast"),
                (Newline, "\n"),
            ]
        );
    }

    #[test]
    fn strings_comments_and_odd_text_never_stop_it() {
        use TokenKind::*;
        assert_eq!(
            kinds_and_texts("data csv(\"a \\\" # b\", -.5)\r\n\"open\n€ {}"),
            vec![
                (Identifier, "data"),
                (Identifier, "csv"),
                (mark('('), "("),
                (String, "\"a \\\" # b\""),
                (mark(','), ","),
                (Number, "-.5"),
                (mark(')'), ")"),
                (Newline, "\r\n"),
                (String, "\"open"),
                (Newline, "\n"),
                (Other, "€"),
                (mark('{'), "{"),
                (mark('}'), "}"),
            ]
        );
        assert!(tokens("").is_empty());
    }
}
