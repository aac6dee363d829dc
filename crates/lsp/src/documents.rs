//! The open documents: their text as the editor has it (which may differ from the file on
//! disk), kept up to date from `didOpen`, `didChange` (whole or incremental) and `didClose`.

use std::collections::HashMap;

use lsp_types::{TextDocumentContentChangeEvent, Uri};

use crate::position::LineIndex;

/// One open document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its text.
    pub text: String,
    /// The editor's version of it.
    pub version: i32,
}

/// Every open document, by URI.
#[derive(Debug, Default)]
pub struct Documents {
    open: HashMap<Uri, Document>,
}

impl Documents {
    /// A document was opened with this text.
    pub fn open(&mut self, uri: Uri, text: String, version: i32) {
        self.open.insert(uri, Document { text, version });
    }

    /// A document changed: each change replaces a range of its text, or all of it. A change
    /// to a document that is not open opens it, if the change gives its whole text.
    pub fn change(
        &mut self,
        uri: &Uri,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
    ) -> Option<&Document> {
        if !self.open.contains_key(uri) {
            let whole = changes.iter().rev().find(|change| change.range.is_none())?;
            self.open(uri.clone(), whole.text.clone(), version);
        }
        let document = self.open.get_mut(uri)?;
        for change in changes {
            apply(&mut document.text, change);
        }
        document.version = version;
        Some(document)
    }

    /// A document was closed.
    pub fn close(&mut self, uri: &Uri) {
        self.open.remove(uri);
    }

    /// An open document.
    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.open.get(uri)
    }
}

/// Applies one change to a text; positions out of the text are clamped.
fn apply(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let index = LineIndex::new(text);
            let start = index.offset(range.start);
            let end = index.offset(range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    fn uri() -> Uri {
        "file:///tmp/a.mlp".parse().expect("a URI")
    }

    fn edit(range: Option<Range>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range,
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn incremental_and_whole_changes_apply_in_order() {
        let mut documents = Documents::default();
        documents.open(uri(), "network {\n  dens 8 # é😀\n}\n".into(), 1);
        let fix = edit(
            Some(Range::new(Position::new(1, 6), Position::new(1, 6))),
            "e",
        );
        // After the emoji (two UTF-16 units): the end of the line.
        let comment = edit(
            Some(Range::new(Position::new(1, 15), Position::new(1, 15))),
            "!",
        );
        let document = documents
            .change(&uri(), 2, vec![fix, comment])
            .expect("open");
        assert_eq!(document.text, "network {\n  dense 8 # é😀!\n}\n");
        assert_eq!(document.version, 2);
        let document = documents
            .change(&uri(), 3, vec![edit(None, "model b\n")])
            .expect("open");
        assert_eq!(document.text, "model b\n");
        documents.close(&uri());
        assert!(documents.get(&uri()).is_none());
    }

    #[test]
    fn a_change_to_an_unopened_document_needs_its_whole_text() {
        let mut documents = Documents::default();
        let partial = edit(
            Some(Range::new(Position::new(0, 0), Position::new(0, 0))),
            "x",
        );
        assert!(documents.change(&uri(), 1, vec![partial]).is_none());
        let whole = edit(None, "model c\n");
        assert_eq!(
            documents
                .change(&uri(), 1, vec![whole])
                .map(|document| document.text.clone()),
            Some("model c\n".to_string())
        );
    }
}
