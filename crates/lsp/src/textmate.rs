//! The TextMate grammar of `.mlp` files (`editors/mlp.tmLanguage.json`, read by VS Code,
//! Sublime Text and GitHub-style highlighters), generated from the vocabulary's tables.
//!
//! Every name of every table gets a rule of its own scope: section keywords at the start of
//! a line, layer kinds, activations, losses, optimizers, schedules, initializers, data
//! sources, metrics and tasks as whole words, and parameter names where they are followed by
//! `=`. Comments, strings, numbers and booleans come first, so a name inside a comment or a
//! string is not highlighted as a name. Where a name is in two tables (`mae`, a loss and a
//! metric), the first rule in [`Names::ALL`]'s order colours it. Every regular expression
//! keeps to what Oniguruma (TextMate's engine) and Rust's `regex` crate both read, so tests
//! can run the committed grammar.
//!
//! The same grammar is written as JSON ([`PATHS`]: VS Code, GitHub-style highlighters) and as
//! an XML property list ([`PLIST_PATH`]: Sublime Text). `MLPC_BLESS=1 cargo test -p mlpc-lsp`
//! rewrites the committed files after the tables change.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::words::{Names, Word, train_settings};

/// The scope of the file type.
pub const SCOPE: &str = "source.mlp";

/// Where the generated grammar is committed as JSON, from the workspace root: for every
/// editor, and the VS Code extension's copy (an extension may only read files in its own
/// folder).
pub const PATHS: [&str; 2] = [
    "editors/mlp.tmLanguage.json",
    "editors/vscode/syntaxes/mlp.tmLanguage.json",
];

/// Where the same grammar is committed as an XML property list, the format Sublime Text
/// reads.
pub const PLIST_PATH: &str = "editors/mlp.tmLanguage";

/// The scope of each kind of name.
pub fn scope(names: Names) -> &'static str {
    match names {
        Names::Sections => "keyword.control.section.mlp",
        Names::Layers => "entity.name.function.layer.mlp",
        Names::Activations => "support.function.activation.mlp",
        Names::Losses => "support.function.loss.mlp",
        Names::Optimizers => "support.function.optimizer.mlp",
        Names::Schedules => "support.function.schedule.mlp",
        Names::Initializers => "support.function.initializer.mlp",
        Names::Sources => "support.function.source.mlp",
        Names::Metrics => "support.constant.metric.mlp",
        Names::Tasks => "support.constant.task.mlp",
    }
}

/// The scope of a parameter's name.
pub const PARAMETER_SCOPE: &str = "variable.parameter.mlp";

/// The key of each kind of name's rule in the grammar's repository.
fn key(names: Names) -> &'static str {
    match names {
        Names::Sections => "section",
        Names::Layers => "layer",
        Names::Activations => "activation",
        Names::Losses => "loss",
        Names::Optimizers => "optimizer",
        Names::Schedules => "schedule",
        Names::Initializers => "initializer",
        Names::Sources => "source",
        Names::Metrics => "metric",
        Names::Tasks => "task",
    }
}

/// Every parameter name that is written `name = value`: those of every row, and the settings
/// of `train { }` (a section's own parameter is its value, never named).
pub fn parameter_names() -> BTreeSet<&'static str> {
    Names::ALL
        .into_iter()
        .flat_map(Names::words)
        .chain([train_settings()])
        .filter(|word| word.named_parameters)
        .flat_map(|word: Word| word.parameters.iter().map(|parameter| parameter.name))
        .collect()
}

/// `name|other|...`, sorted and without repeats.
fn alternatives<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let unique: BTreeSet<&str> = names.into_iter().collect();
    unique.into_iter().collect::<Vec<_>>().join("|")
}

/// The grammar, as JSON.
pub fn grammar() -> Value {
    let mut repository = serde_json::Map::new();
    repository.insert(
        "comment".into(),
        json!({ "name": "comment.line.number-sign.mlp", "match": "#.*$" }),
    );
    repository.insert(
        "string".into(),
        json!({
            "name": "string.quoted.double.mlp",
            "begin": "\"",
            "end": "\"|$",
            "patterns": [
                { "name": "constant.character.escape.mlp", "match": "\\\\[\"\\\\nt]" }
            ]
        }),
    );
    repository.insert(
        "number".into(),
        json!({
            "name": "constant.numeric.mlp",
            "match": "-?(?:\\b[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?\\b"
        }),
    );
    repository.insert(
        "boolean".into(),
        json!({ "name": "constant.language.boolean.mlp", "match": "\\b(?:true|false)\\b" }),
    );
    repository.insert(
        "parameter".into(),
        json!({
            "match": format!("\\b({})\\s*(=)", alternatives(parameter_names())),
            "captures": {
                "1": { "name": PARAMETER_SCOPE },
                "2": { "name": "keyword.operator.assignment.mlp" }
            }
        }),
    );
    for names in Names::ALL {
        let words = alternatives(names.words().iter().map(|word| word.name));
        let rule = match names {
            // A section keyword starts a top-level line.
            Names::Sections => json!({
                "match": format!("^\\s*({words})\\b"),
                "captures": { "1": { "name": scope(names) } }
            }),
            Names::Layers
            | Names::Activations
            | Names::Losses
            | Names::Optimizers
            | Names::Schedules
            | Names::Initializers
            | Names::Sources
            | Names::Metrics
            | Names::Tasks => json!({
                "name": scope(names),
                "match": format!("\\b({words})\\b")
            }),
        };
        repository.insert(key(names).into(), rule);
    }
    let patterns: Vec<Value> = ["comment", "string", "number", "boolean", "parameter"]
        .into_iter()
        .chain(Names::ALL.into_iter().map(key))
        .map(|rule| json!({ "include": format!("#{rule}") }))
        .collect();
    json!({
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "mlp",
        "scopeName": SCOPE,
        "fileTypes": ["mlp"],
        "comment": "Generated from mlpc's tables by crates/lsp/src/textmate.rs: do not edit; regenerate with `MLPC_BLESS=1 cargo test -p mlpc-lsp`.",
        "patterns": patterns,
        "repository": repository,
    })
}

/// The grammar as the committed file holds it: pretty JSON, with a final newline.
pub fn grammar_text() -> String {
    // A `Value` always serialises.
    let mut text = serde_json::to_string_pretty(&grammar()).unwrap_or_default();
    text.push('\n');
    text
}

/// The grammar as an XML property list (`.tmLanguage`), with a final newline.
pub fn grammar_plist() -> String {
    let mut text = String::from(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" ",
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n",
        "<plist version=\"1.0\">\n",
    ));
    plist_value(&grammar(), 0, &mut text);
    text.push_str("</plist>\n");
    text
}

/// One JSON value as a property list element, indented by `depth` tabs.
fn plist_value(value: &Value, depth: usize, text: &mut String) {
    let indent = "\t".repeat(depth);
    match value {
        Value::Object(map) => {
            text.push_str(&format!("{indent}<dict>\n"));
            for (key, item) in map {
                text.push_str(&format!("{indent}\t<key>{}</key>\n", escape_xml(key)));
                plist_value(item, depth + 1, text);
            }
            text.push_str(&format!("{indent}</dict>\n"));
        }
        Value::Array(items) => {
            text.push_str(&format!("{indent}<array>\n"));
            for item in items {
                plist_value(item, depth + 1, text);
            }
            text.push_str(&format!("{indent}</array>\n"));
        }
        Value::String(string) => text.push_str(&format!(
            "{indent}<string>{}</string>\n",
            escape_xml(string)
        )),
        Value::Bool(flag) => text.push_str(&format!("{indent}<{flag}/>\n")),
        Value::Number(number) if number.is_f64() => {
            text.push_str(&format!("{indent}<real>{number}</real>\n"))
        }
        Value::Number(number) => text.push_str(&format!("{indent}<integer>{number}</integer>\n")),
        // A property list has no null; the grammar holds none.
        Value::Null => text.push_str(&format!("{indent}<string></string>\n")),
    }
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_include_rows_and_settings_but_not_section_values() {
        let names = parameter_names();
        for name in [
            "lr", "momentum", "units", "init", "epochs", "metrics", "target",
        ] {
            assert!(names.contains(name), "{name}");
        }
        assert!(!names.contains("optimizer") && !names.contains("source"));
    }

    #[test]
    fn every_kind_of_name_has_a_rule_included_by_the_file() {
        let grammar = grammar();
        let included: Vec<&str> = grammar["patterns"]
            .as_array()
            .expect("patterns")
            .iter()
            .filter_map(|pattern| pattern["include"].as_str())
            .collect();
        for names in Names::ALL {
            let rule = format!("#{}", key(names));
            assert!(included.contains(&rule.as_str()), "{rule}");
            assert!(grammar["repository"][key(names)].is_object());
        }
        assert_eq!(included[0], "#comment");
    }

    #[test]
    fn the_property_list_holds_the_same_grammar() {
        let plist = grammar_plist();
        assert!(plist.starts_with("<?xml"));
        assert!(plist.contains("\t<key>scopeName</key>\n\t<string>source.mlp</string>\n"));
        assert!(plist.contains("<string>#.*$</string>"));
        assert_eq!(escape_xml("a<b & c>"), "a&lt;b &amp; c&gt;");
        assert_eq!(
            plist.matches("<dict>").count(),
            plist.matches("</dict>").count()
        );
    }
}
