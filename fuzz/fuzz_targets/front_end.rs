//! Any bytes through the whole front end: parse, render every syntax error, format (the
//! result must parse again and format to itself), check, render every diagnostic as text and
//! as JSON, and summarise a valid model. A panic, a stack overflow or a slow input is a bug.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Model files are read as UTF-8; other bytes are refused before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = mlpc_syntax::parse(text);
    let syntax: Vec<_> = parsed.errors.iter().map(|error| error.to_diagnostic()).collect();
    let _ = mlpc_syntax::render("fuzz.mlp", text, &syntax, mlpc_syntax::Colour::Plain);
    if syntax.is_empty() {
        let formatted = mlpc_syntax::format(text, &parsed.file);
        let again = mlpc_syntax::parse(&formatted);
        assert!(again.errors.is_empty(), "formatted text parses:\n{formatted}");
        assert_eq!(
            mlpc_syntax::format(&formatted, &again.file),
            formatted,
            "formatting is idempotent"
        );
    }
    // Relative data paths resolve under a folder that does not exist.
    match mlpc_ir::compile(text, Path::new("/nonexistent/mlpc-fuzz/model.mlp")) {
        Ok(model) => {
            let summary = mlpc_ir::summary::Summary::of(&model);
            let _ = summary.to_table(&model);
            let _ = serde_json::to_string(&model).expect("the IR serialises");
        }
        Err(diagnostics) => {
            let _ = mlpc_syntax::render("fuzz.mlp", text, &diagnostics, mlpc_syntax::Colour::Terminal);
            let _ = mlpc_syntax::render_json("fuzz.mlp", text, &diagnostics);
        }
    }
});
