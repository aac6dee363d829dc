//! No text and no position makes the editor features panic: hover and completion at every
//! position of every shipped model, invalid file and fuzz finding, and of texts made from them
//! by random edits (brackets, quotes, comments, line breaks, non-ASCII characters), with
//! diagnostics and formatting of each.

use std::path::{Path, PathBuf};

use lsp_types::Position;

use mlpc_lsp::completion::completion;
use mlpc_lsp::formatting::formatting;
use mlpc_lsp::hover::hover;
use mlpc_lsp::position::LineIndex;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.mlp` file of the folders the other tests use.
fn sample_texts() -> Vec<String> {
    let folders = ["models", "tests/invalid", "crates/ir/tests/fuzz_findings"];
    let mut texts = Vec::new();
    for folder in folders {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join(folder))
            .expect("the folder exists")
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "mlp"))
            .collect();
        paths.sort();
        texts.extend(
            paths.iter().map(|path| {
                String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned()
            }),
        );
    }
    assert!(texts.len() > 20, "the sample files are there");
    texts
}

/// Every feature, at every character of the text and past its end.
fn exercise(text: &str) {
    let uri = "file:///tmp/no-panic/model.mlp".parse().expect("a URI");
    mlpc_lsp::diagnostics::diagnostics(&uri, text, Path::new("/tmp/no-panic/model.mlp"));
    let _ = formatting(text);
    let index = LineIndex::new(text);
    let offsets = text
        .char_indices()
        .map(|(offset, _)| offset)
        .chain([text.len()]);
    for offset in offsets {
        let _ = hover(text, offset);
        let _ = completion(text, offset);
        // Between `\r` and `\n` is no position of its own: it is the end of the line.
        let inside_line_break = text[..offset].ends_with('\r') && text[offset..].starts_with('\n');
        if !inside_line_break {
            assert_eq!(index.offset(index.position(offset)), offset);
        }
    }
    let far = index.offset(Position::new(u32::MAX, u32::MAX));
    let _ = hover(text, far);
}

#[test]
fn every_position_of_every_sample_file() {
    for text in sample_texts() {
        exercise(&text);
    }
}

#[test]
fn every_position_of_randomly_edited_files() {
    const PIECES: [&str; 14] = [
        "(", ")", "{", "}", "[", "]", ",", "=", "\"", "#", "\n", "\r", "é😀", "dense(",
    ];
    // A fixed linear congruential sequence: the same edits every run.
    let mut state: u64 = 0x5eed;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % bound.max(1)
    };
    for text in sample_texts().iter().take(12) {
        for _ in 0..8 {
            let mut edited = text.clone();
            for _ in 0..6 {
                let boundaries: Vec<usize> = edited
                    .char_indices()
                    .map(|(offset, _)| offset)
                    .chain([edited.len()])
                    .collect();
                let at = boundaries[next(boundaries.len())];
                if next(2) == 0 {
                    edited.insert_str(at, PIECES[next(PIECES.len())]);
                } else if let Some(character) = edited[at..].chars().next() {
                    edited.replace_range(at..at + character.len_utf8(), "");
                }
            }
            exercise(&edited);
        }
    }
}
