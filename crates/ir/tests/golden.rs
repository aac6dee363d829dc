//! Golden tests: the IR of every shipped model, the rendered diagnostics of every invalid
//! file in `tests/invalid/` (and the same diagnostics as JSON lines, whose positions must be
//! the rendered ones), and the formatter's round trip on every model.
//!
//! Expected outputs live next to their inputs (`tests/ir/*.json`, `tests/invalid/*.stderr`,
//! `tests/format/*.formatted`). After a deliberate change,
//! `MLPC_BLESS=1 cargo test -p mlpc-ir --test golden` rewrites them; review with `git diff`.

use std::fs;
use std::path::{Path, PathBuf};

use mlpc_syntax::{Colour, render, render_json};

/// Tests run from the workspace root, so paths in outputs read as a user would type them.
fn workspace() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    std::env::set_current_dir(&root).expect("cd to the workspace root");
    root
}

fn files(folder: &str, extension: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(workspace().join(folder))
        .expect("folder exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .map(|path| Path::new(folder).join(path.file_name().expect("name")))
        .collect();
    paths.sort();
    paths
}

/// Compares with the golden file, or rewrites it under `MLPC_BLESS=1`. Returns a mismatch.
fn golden(path: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("MLPC_BLESS").is_some() {
        fs::write(path, actual).expect("write golden file");
        return None;
    }
    let expected = fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )
    })
}

#[test]
fn ir_of_every_shipped_model() {
    let models = files("models", "mlp");
    assert!(models.len() >= 8, "the shipped models are there");
    let mut failures = Vec::new();
    for model in &models {
        let source = fs::read_to_string(model).expect("read model");
        match mlpc_ir::compile(&source, model) {
            Ok(ir) => {
                let json = serde_json::to_string_pretty(&ir).expect("IR serialises") + "\n";
                let back: mlpc_ir::Model = serde_json::from_str(&json).expect("IR deserialises");
                assert_eq!(back, ir, "JSON round trip of {}", model.display());
                let stem = model.file_stem().expect("stem").to_string_lossy();
                failures.extend(golden(
                    &Path::new("tests/ir").join(format!("{stem}.json")),
                    &json,
                ));
            }
            Err(diagnostics) => failures.push(render(
                &model.to_string_lossy(),
                &source,
                &diagnostics,
                Colour::Plain,
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diagnostics_of_every_invalid_file() {
    let invalid = files("tests/invalid", "mlp");
    assert!(
        invalid.len() >= 30,
        "at least 30 invalid files, found {}",
        invalid.len()
    );
    let mut failures = Vec::new();
    for path in &invalid {
        let source = fs::read_to_string(path).expect("read invalid file");
        let name = path.to_string_lossy().to_string();
        let Err(diagnostics) = mlpc_ir::compile(&source, path) else {
            failures.push(format!("{name} was accepted"));
            continue;
        };
        let text = render(&name, &source, &diagnostics, Colour::Plain);
        // Every diagnostic names file:line:column and underlines its span.
        let located = text.matches(&format!("--> {name}:")).count();
        if located != diagnostics.len() || !text.contains('^') {
            failures.push(format!(
                "{name}: a diagnostic lacks its position or caret:\n{text}"
            ));
        }
        failures.extend(golden(&path.with_extension("stderr"), &text));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_diagnostics_of_every_invalid_file_match_the_rendered_text() {
    let mut checked = 0;
    for path in files("tests/invalid", "mlp") {
        let source = fs::read_to_string(&path).expect("read invalid file");
        let name = path.to_string_lossy().to_string();
        let Err(diagnostics) = mlpc_ir::compile(&source, &path) else {
            panic!("{name} was accepted");
        };
        // While goldens are being rewritten, the text they get (another test compares them).
        let golden = if std::env::var_os("MLPC_BLESS").is_some() {
            render(&name, &source, &diagnostics, Colour::Plain)
        } else {
            fs::read_to_string(path.with_extension("stderr")).expect("golden file")
        };
        // The golden text's headlines and `--> file:line:column` positions, in order.
        let headlines: Vec<&str> = golden
            .lines()
            .filter_map(|line| line.strip_prefix("error: "))
            .collect();
        let positions: Vec<(usize, usize)> = golden
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix(&format!("--> {name}:")))
            .map(|position| {
                let (line, column) = position.split_once(':').expect("line:column");
                (line.parse().expect("line"), column.parse().expect("column"))
            })
            .collect();
        let json = render_json(&name, &source, &diagnostics);
        let objects: Vec<serde_json::Value> = json
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect();
        assert_eq!(objects.len(), positions.len(), "{name}:\n{json}");
        assert_eq!(objects.len(), headlines.len(), "{name}:\n{json}");
        for ((object, (line, column)), headline) in objects.iter().zip(&positions).zip(&headlines) {
            assert_eq!(object["severity"], "error", "{name}");
            assert_eq!(object["file"], name.as_str());
            assert_eq!(object["message"], *headline, "{name}");
            assert_eq!(object["line"], *line, "{name}: {object}");
            assert_eq!(object["column"], *column, "{name}: {object}");
            let labels = object["labels"].as_array().expect("labels");
            assert_eq!(labels[0]["primary"], true);
            assert_eq!(
                (&labels[0]["line"], &labels[0]["column"]),
                (&object["line"], &object["column"])
            );
            assert!(
                labels
                    .iter()
                    .all(|label| label["line"].as_u64() <= label["end_line"].as_u64()),
                "{name}: {object}"
            );
            // The rendered text shows each label's message and the hint.
            for label in labels {
                let message = label["message"].as_str().expect("label text");
                assert!(golden.contains(message), "{name}: label `{message}`");
            }
            if let Some(hint) = object["hint"].as_str() {
                assert!(golden.contains(&format!("= hint: {hint}")), "{name}: hint");
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} diagnostics checked");
}

#[test]
fn formatting_is_idempotent_and_keeps_meaning_and_comments() {
    let mut inputs = files("models", "mlp");
    inputs.extend(files("examples", "mlp"));
    inputs.extend(files("tests/format", "mlp"));
    for path in inputs {
        let source = fs::read_to_string(&path).expect("read");
        let parsed = mlpc_syntax::parse(&source);
        assert!(parsed.errors.is_empty(), "{}", path.display());
        let once = mlpc_syntax::format(&source, &parsed.file);
        let reparsed = mlpc_syntax::parse(&once);
        assert!(
            reparsed.errors.is_empty(),
            "formatted {} parses:\n{once}",
            path.display()
        );
        let twice = mlpc_syntax::format(&once, &reparsed.file);
        assert_eq!(
            once,
            twice,
            "formatting {} twice changes it",
            path.display()
        );
        let comments = |text: &str| {
            text.lines()
                .filter_map(|line| line.find('#').map(|i| line[i..].trim_end().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            comments(&source),
            comments(&once),
            "comments of {} are kept, in order",
            path.display()
        );
        let before = mlpc_ir::compile(&source, &path).expect("input compiles");
        let after = mlpc_ir::compile(&once, &path).expect("formatted input compiles");
        assert_eq!(
            before,
            after,
            "formatting {} changes its IR",
            path.display()
        );
        if path.starts_with("tests/format")
            && let Some(failure) = golden(&path.with_extension("formatted"), &once)
        {
            panic!("{failure}");
        }
    }
}
