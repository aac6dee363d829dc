//! Property test: no input whatsoever panics the parser, the checker or the formatter.

use std::path::Path;

use proptest::prelude::*;

/// Runs the whole front end on a text; only a panic fails.
fn front_end(text: &str) {
    let path = Path::new("fuzz/model.mlp");
    let parsed = mlpc_syntax::parse(text);
    for error in &parsed.errors {
        let _ = mlpc_syntax::render(
            "fuzz.mlp",
            text,
            &[error.to_diagnostic()],
            mlpc_syntax::Colour::Plain,
        );
    }
    if parsed.errors.is_empty() {
        let formatted = mlpc_syntax::format(text, &parsed.file);
        let again = mlpc_syntax::parse(&formatted);
        assert!(
            again.errors.is_empty(),
            "formatted text parses:\n{formatted}"
        );
        assert_eq!(
            mlpc_syntax::format(&formatted, &again.file),
            formatted,
            "formatting is idempotent"
        );
    }
    if let Err(diagnostics) = mlpc_ir::compile(text, path) {
        let _ = mlpc_syntax::render(
            "fuzz.mlp",
            text,
            &diagnostics,
            mlpc_syntax::Colour::Terminal,
        );
    }
}

/// Inputs the fuzzer (`fuzz/run.sh`) found to fail, kept in `tests/fuzz_findings/` so that
/// they stay fixed: a lone carriage return ending a comment (the formatter printed the rest of
/// the line twice), and many brackets never closed (the parser's work doubled with each one).
#[test]
fn fuzzer_findings_stay_fixed() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_findings");
    let mut found = 0;
    for entry in std::fs::read_dir(folder).expect("tests/fuzz_findings") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("a finding");
        front_end(&String::from_utf8(bytes).expect("UTF-8"));
        found += 1;
    }
    assert!(found >= 2);
    for text in ["# comment\rdense 8\n", "data \"a\rb\"\n"] {
        front_end(text);
    }
    let unclosed = "network {\n  dense 8 relu(\n  dense 4 [\n}\nloss f(\ntrain {\n";
    assert_eq!(
        mlpc_syntax::parse(unclosed)
            .errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["4 brackets and braces are never closed"]
    );
}

const SEED_MODEL: &str = "model m\ndata xor(n = 40, noise = 0.1)\nnetwork {\n  dense 8 leaky_relu(0.1) init = normal(std = 0.1)\n  dropout 0.2\n  batchnorm\n  dense 2\n}\nloss cross_entropy\noptimizer sgd(lr = 0.1, momentum = 0.9)\nschedule step(every = 2)\ntrain { epochs = 1, metrics = [accuracy] }\n";

/// Pieces the mutator splices in: tokens of the language and some hostile bytes.
const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "\"",
    "#",
    "\n",
    " ",
    "-",
    ".",
    "1e",
    "0",
    "-1",
    "1e999",
    "dense",
    "network",
    "train",
    "relu",
    "softmax",
    "input",
    "x",
    "é",
    "\u{0}",
    "\r\n",
    "\r",
    "\t",
    "99999999999999999999",
    "true",
    "{{{{",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        front_end(&text);
    }

    #[test]
    fn mutated_models_never_panic(edits in proptest::collection::vec((0usize..400, 0usize..8, 0usize..PIECES.len()), 1..6)) {
        let mut text = SEED_MODEL.to_string();
        for (position, delete, piece) in edits {
            let mut start = position.min(text.len());
            while !text.is_char_boundary(start) { start -= 1; }
            let mut end = (start + delete).min(text.len());
            while !text.is_char_boundary(end) { end += 1; }
            text.replace_range(start..end, PIECES[piece]);
        }
        front_end(&text);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("data {}{}\n", "f(".repeat(5000), ")".repeat(5000));
    front_end(&text);
    let text = "network {\n".repeat(3000);
    front_end(&text);
    let text = "network {\n".repeat(60);
    front_end(&text);
    let text = "dense 1 )\n".repeat(5000);
    assert_eq!(
        mlpc_syntax::parse(&text).errors.len(),
        mlpc_syntax::parser::MAX_ERRORS
    );
}
