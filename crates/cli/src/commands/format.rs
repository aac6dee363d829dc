//! `mlpc fmt FILE... [--check]`: rewrites files in canonical form, atomically (`-`: standard
//! input, formatted to standard output).

use std::path::{Path, PathBuf};

use crate::report::{self, Outcome};

/// Formats every file; with `check`, only reports those that are not formatted.
pub fn run(files: &[PathBuf], check: bool) -> Outcome {
    let mut outcome = Outcome::Success;
    for path in files {
        let source = match path.to_str() {
            // `-`: standard input, written formatted to standard output (as rustfmt and
            // gofmt do, for editors that pipe a buffer through a formatter).
            Some("-") => {
                let mut text = String::new();
                if let Err(io) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
                    report::error(&format!("cannot read standard input: {io}"), None);
                    outcome = outcome.max_by(Outcome::Invalid);
                    continue;
                }
                Ok(mlpc_syntax::model_text(&text))
            }
            Some(_) | None => report::read_model(path),
        };
        let source = match source {
            Ok(source) => source,
            Err(failure) => {
                outcome = outcome.max_by(failure);
                continue;
            }
        };
        let parsed = mlpc_syntax::parse(&source);
        if !parsed.errors.is_empty() {
            let diagnostics: Vec<_> = parsed
                .errors
                .iter()
                .map(|error| error.to_diagnostic())
                .collect();
            report::diagnostics(path, &source, &diagnostics);
            outcome = outcome.max_by(Outcome::Invalid);
            continue;
        }
        let formatted = mlpc_syntax::format(&source, &parsed.file);
        if path.to_str() == Some("-") && !check {
            print!("{formatted}");
            continue;
        }
        if formatted == source {
            continue;
        }
        if check {
            match path.to_str() {
                Some("-") => eprintln!("standard input is not formatted"),
                Some(_) | None => eprintln!("{} is not formatted", path.display()),
            }
            outcome = outcome.max_by(Outcome::Failure);
        } else if let Err(io) = write_atomically(path, &formatted) {
            report::error(&format!("cannot write `{}`: {io}", path.display()), None);
            outcome = outcome.max_by(Outcome::Failure);
        }
    }
    outcome
}

/// Writes to a temporary file beside `path`, then renames it over `path`: a crash leaves
/// either the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, contents)?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
