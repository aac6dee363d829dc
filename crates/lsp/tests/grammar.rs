//! The TextMate grammar committed in `editors/` (as JSON, its copy in the VS Code extension,
//! and as a property list for Sublime Text): it is the grammar the tables generate, and it
//! highlights every name of every table, every parameter name, comments, strings, numbers
//! and booleans. Its regular expressions are run with the `regex` crate (the grammar keeps to
//! what both it and TextMate's Oniguruma read).
//!
//! After a table changes, `MLPC_BLESS=1 cargo test -p mlpc-lsp` rewrites the files; review
//! them with `git diff`.

use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use mlpc_lsp::textmate::{PARAMETER_SCOPE, PATHS, PLIST_PATH, grammar_plist, grammar_text, scope};
use mlpc_lsp::words::{Names, train_settings};

fn workspace_path(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// The committed grammar (while blessing, the one being written, so that one run passes).
fn committed() -> Value {
    let text = if std::env::var_os("MLPC_BLESS").is_some() {
        grammar_text()
    } else {
        std::fs::read_to_string(workspace_path(PATHS[0])).unwrap_or_default()
    };
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[test]
fn the_committed_grammars_are_the_generated_one() {
    let json = grammar_text();
    let plist = grammar_plist();
    let files = PATHS
        .into_iter()
        .map(|path| (path, &json))
        .chain([(PLIST_PATH, &plist)]);
    for (path, generated) in files {
        if std::env::var_os("MLPC_BLESS").is_some() {
            let file = workspace_path(path);
            if let Some(folder) = file.parent() {
                std::fs::create_dir_all(folder).expect("the grammar's folder");
            }
            std::fs::write(file, generated).expect("write the grammar");
            continue;
        }
        let committed = std::fs::read_to_string(workspace_path(path)).unwrap_or_default();
        assert!(
            &committed == generated,
            "{path} is not the grammar the tables give (a name was added, renamed or removed): \
             regenerate it with `MLPC_BLESS=1 cargo test -p mlpc-lsp`, review it with `git diff` \
             and commit it"
        );
    }
}

/// Every rule of the grammar's repository that matches with a regular expression: its scope
/// (or the scopes of its numbered captures) and the expression.
struct Rules {
    rules: Vec<(Regex, Vec<(usize, String)>)>,
}

impl Rules {
    fn of(grammar: &Value) -> Rules {
        let repository = grammar["repository"]
            .as_object()
            .expect("the grammar has a repository");
        let mut rules = Vec::new();
        for (key, rule) in repository {
            if let Some(begin) = rule["begin"].as_str() {
                Regex::new(begin).unwrap_or_else(|error| panic!("{key}: {error}"));
                Regex::new(rule["end"].as_str().expect("an end"))
                    .unwrap_or_else(|error| panic!("{key}: {error}"));
                continue;
            }
            let pattern = rule["match"].as_str().expect("a rule matches");
            let regex = Regex::new(pattern).unwrap_or_else(|error| panic!("{key}: {error}"));
            let mut scopes = Vec::new();
            if let Some(name) = rule["name"].as_str() {
                scopes.push((0, name.to_string()));
            }
            for (group, capture) in rule["captures"].as_object().into_iter().flatten() {
                let group: usize = group.parse().expect("a numbered capture");
                let name = capture["name"].as_str().expect("a named capture");
                scopes.push((group, name.to_string()));
            }
            rules.push((regex, scopes));
        }
        Rules { rules }
    }

    /// Whether some rule gives exactly `text[start..end]` the scope.
    fn scopes(&self, text: &str, start: usize, end: usize, scope: &str) -> bool {
        self.rules.iter().any(|(regex, scopes)| {
            regex.captures_iter(text).any(|captures| {
                scopes.iter().any(|(group, name)| {
                    name == scope
                        && captures
                            .get(*group)
                            .is_some_and(|found| found.start() == start && found.end() == end)
                })
            })
        })
    }

    /// Whether some rule gives the first `word` of `text` the scope.
    fn scopes_word(&self, text: &str, word: &str, scope: &str) -> bool {
        let start = text.find(word).expect("the word is in the text");
        self.scopes(text, start, start + word.len(), scope)
    }
}

#[test]
fn every_name_of_every_table_is_highlighted() {
    let rules = Rules::of(&committed());
    let mut missing = Vec::new();
    for names in Names::ALL {
        for word in names.words() {
            let sample = format!("{} 1", word.name);
            if !rules.scopes_word(&sample, word.name, scope(names)) {
                missing.push(format!("{} ({})", word.name, scope(names)));
            }
        }
    }
    let named = Names::ALL
        .into_iter()
        .flat_map(Names::words)
        .chain([train_settings()])
        .filter(|word| word.named_parameters);
    for word in named {
        for parameter in word.parameters {
            let sample = format!("{}(x, {} = 1)", word.name, parameter.name);
            let start = sample.find(", ").expect("a comma") + 2;
            if !rules.scopes(
                &sample,
                start,
                start + parameter.name.len(),
                PARAMETER_SCOPE,
            ) {
                missing.push(format!(
                    "{} of {} ({PARAMETER_SCOPE})",
                    parameter.name, word.name
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} does not highlight {}: regenerate it with `MLPC_BLESS=1 cargo test -p mlpc-lsp`",
        PATHS[0],
        missing.join(", ")
    );
}

#[test]
fn comments_strings_numbers_and_booleans_are_highlighted_and_words_are_whole() {
    let rules = Rules::of(&committed());
    let line = "  dense 8 relu init = normal(std = 1e-3) # -0.5 wide";
    let comment = line.find('#').expect("a comment");
    assert!(rules.scopes(line, comment, line.len(), "comment.line.number-sign.mlp"));
    assert!(rules.scopes_word(line, "1e-3", "constant.numeric.mlp"));
    assert!(rules.scopes_word(".25 -3", ".25", "constant.numeric.mlp"));
    assert!(rules.scopes_word(".25 -3", "-3", "constant.numeric.mlp"));
    assert!(rules.scopes_word("bias = false", "false", "constant.language.boolean.mlp"));
    // A string is a region from one quote to the next, or to the end of its line.
    let string = Regex::new(
        committed()["repository"]["string"]["begin"]
            .as_str()
            .expect("a string rule"),
    )
    .expect("a regular expression");
    assert!(string.is_match("\"../data\""));
    // Names inside longer words are not highlighted: `relu` in `leaky_relu`, `2` in `r2`.
    let leaky = "leaky_relu(0.1)";
    assert!(!rules.scopes(leaky, 6, 10, scope(Names::Activations)));
    assert!(rules.scopes_word(leaky, "leaky_relu", scope(Names::Activations)));
    assert!(!rules.scopes("[r2]", 2, 3, "constant.numeric.mlp"));
    // A section keyword only starts a line.
    assert!(rules.scopes_word("optimizer adam", "optimizer", scope(Names::Sections)));
    assert!(!rules.scopes("x = model", 4, 9, scope(Names::Sections)));
}
