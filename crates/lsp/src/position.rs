//! Byte offsets (what spans hold) to LSP positions and back.
//!
//! An LSP position is a line and a character, both from 0, the character counted in UTF-16
//! code units (the protocol's default encoding, and the one every client supports). A line
//! ends at `\n`, `\r\n` or a lone `\r`, as the protocol and the grammar both say. Positions
//! past the end of a line or of the text are clamped, never refused: a client may be one edit
//! ahead of the server.

use lsp_types::{Position, Range};

use mlpc_syntax::Span;

/// Where each line of a text starts, to convert offsets and positions quickly.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// The byte offset of the first character of each line; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the lines of `text`.
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        for (index, byte) in bytes.iter().enumerate() {
            let ends_line = match byte {
                b'\n' => true,
                b'\r' => bytes.get(index + 1) != Some(&b'\n'),
                _ => false,
            };
            if ends_line {
                starts.push(index + 1);
            }
        }
        LineIndex { text, starts }
    }

    /// The position of a byte offset (clamped to the text, and back to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // The last line that starts at or before the offset.
        let line = self.starts.partition_point(|start| *start <= offset) - 1;
        let start = self.starts[line];
        // An offset inside a line break (between `\r` and `\n`) is the end of the line.
        let end = offset.min(start + self.line_content(line).len());
        let character: usize = self.text[start..end].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(character))
    }

    /// The byte offset of a position: a character past the end of its line is the line's end
    /// (before its line break), a line past the last is the end of the text, and a position
    /// inside a character written with two UTF-16 units is that character's start.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line = self.line_content(position.line as usize);
        let mut units = 0usize;
        for (index, character) in line.char_indices() {
            units += character.len_utf16();
            if units > position.character as usize {
                return start + index;
            }
        }
        start + line.len()
    }

    /// The text of a line, without its line break.
    fn line_content(&self, line: usize) -> &'a str {
        let start = self.starts.get(line).copied().unwrap_or(self.text.len());
        let end = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// The range of a span.
    pub fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.start),
            self.position(span.end.max(span.start)),
        )
    }

    /// The range of the whole text.
    pub fn whole(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

/// A count as the protocol's `u32`, saturating (no text is that long).
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_offsets_and_positions_agree() {
        let text = "model xor\n\nnetwork {\n  dense 8\n}\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(0), Position::new(0, 0));
        assert_eq!(index.position(6), Position::new(0, 6));
        assert_eq!(index.position(10), Position::new(1, 0));
        let dense = text.find("dense").expect("dense");
        assert_eq!(index.position(dense), Position::new(3, 2));
        assert_eq!(index.offset(Position::new(3, 2)), dense);
        assert_eq!(index.position(text.len()), Position::new(5, 0));
        for offset in 0..=text.len() {
            assert_eq!(index.offset(index.position(offset)), offset, "{offset}");
        }
    }

    #[test]
    fn characters_count_in_utf16_units() {
        // `é` is 2 bytes and 1 unit; `😀` is 4 bytes and 2 units; `中` is 3 bytes and 1 unit.
        let text = "# é😀中\ndense 8 # ünits\n";
        let index = LineIndex::new(text);
        let emoji = text.find('😀').expect("emoji");
        assert_eq!(index.position(emoji), Position::new(0, 3));
        let chinese = text.find('中').expect("chinese");
        assert_eq!(index.position(chinese), Position::new(0, 5));
        assert_eq!(index.offset(Position::new(0, 5)), chinese);
        assert_eq!(index.offset(Position::new(0, 3)), emoji);
        // Inside the emoji's surrogate pair: its start.
        assert_eq!(index.offset(Position::new(0, 4)), emoji);
        // An offset inside a character goes back to its start.
        assert_eq!(index.position(emoji + 1), Position::new(0, 3));
        let units = text.find("ünits").expect("units");
        assert_eq!(index.position(units), Position::new(1, 10));
        assert_eq!(index.offset(Position::new(1, 10)), units);
    }

    #[test]
    fn every_line_break_ends_a_line_and_positions_are_clamped() {
        let text = "a\r\nb\rc\nd";
        let index = LineIndex::new(text);
        assert_eq!(
            index.position(text.find('b').expect("b")),
            Position::new(1, 0)
        );
        assert_eq!(
            index.position(text.find('c').expect("c")),
            Position::new(2, 0)
        );
        assert_eq!(
            index.position(text.find('d').expect("d")),
            Position::new(3, 0)
        );
        // Between `\r` and `\n`: the end of the first line.
        assert_eq!(index.position(2), Position::new(0, 1));
        // Past the end of a line: its end, before the break.
        assert_eq!(index.offset(Position::new(0, 40)), 1);
        // Past the last line: the end of the text.
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.position(1000), Position::new(3, 1));
        assert_eq!(
            index.whole(),
            Range::new(Position::new(0, 0), Position::new(3, 1))
        );
        let empty = LineIndex::new("");
        assert_eq!(empty.position(0), Position::new(0, 0));
        assert_eq!(empty.offset(Position::new(2, 2)), 0);
    }
}
