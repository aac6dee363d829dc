//! Completion: the names that may go at the cursor, from the tables, by its [`Slot`]: section
//! keywords at the start of a top-level line; layer kinds and activations at the start of a
//! line in `network { }`; where an argument goes, the values of the next positional
//! parameter (`relu` after `dense 64`) and every parameter's name as `name = `; after
//! `name =`, that parameter's values (a table's names, or `true` and `false`).
//!
//! Each item carries its kind of name and an example as detail, and the hover's Markdown as
//! documentation. Items keep their table's order; values come before argument names.

use lsp_types::{CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind};

use mlpc_ir::signature::{Kind, Parameter};

use crate::context::{Slot, context_at};
use crate::hover::{markdown, parameter_line};
use crate::words::{Names, Word};

/// The completions at byte `offset` of `source`.
pub fn completion(source: &str, offset: usize) -> Vec<CompletionItem> {
    let mut items = Vec::new();
    match context_at(source, offset).slot {
        Slot::Section => add_words(&mut items, Names::Sections),
        Slot::NetworkLine => {
            add_words(&mut items, Names::Layers);
            add_words(&mut items, Names::Activations);
        }
        Slot::Argument {
            callee,
            next,
            bound,
        } => {
            add_values(&mut items, next);
            if callee.named_parameters {
                add_parameter_names(&mut items, &callee, bound);
            }
        }
        Slot::Value { parameter } => add_values(&mut items, Some(parameter)),
        Slot::Nothing => {}
    }
    items
}

/// The words of one table.
fn add_words(items: &mut Vec<CompletionItem>, names: Names) {
    for word in names.words() {
        let item = CompletionItem {
            label: word.name.to_string(),
            kind: Some(item_kind(names)),
            detail: Some(format!("{}: {}", word.noun, word.example)),
            documentation: Some(documentation(markdown(&word))),
            sort_text: Some(format!("0-{:04}", items.len())),
            ..CompletionItem::default()
        };
        items.push(item);
    }
}

/// The values a parameter takes, where they are names.
fn add_values(items: &mut Vec<CompletionItem>, parameter: Option<Parameter>) {
    let Some(parameter) = parameter else {
        return;
    };
    if let Some(names) = Names::of_kind(parameter.kind) {
        add_words(items, names);
        return;
    }
    match parameter.kind {
        Kind::Boolean => {
            for value in ["true", "false"] {
                let item = CompletionItem {
                    label: value.to_string(),
                    kind: Some(CompletionItemKind::VALUE),
                    detail: Some(parameter_line(&parameter)),
                    sort_text: Some(format!("0-{:04}", items.len())),
                    ..CompletionItem::default()
                };
                items.push(item);
            }
        }
        Kind::Integer(_)
        | Kind::Real(_)
        | Kind::Text
        | Kind::Path
        | Kind::Word
        | Kind::Activation(_)
        | Kind::Initializer(_)
        | Kind::Loss(_)
        | Kind::Optimizer(_)
        | Kind::Schedule(_)
        | Kind::Source(_)
        | Kind::Task(_)
        | Kind::Metrics(_) => {}
    }
}

/// Every parameter of a callee that has no value yet (`bound`: bits by index) and is no
/// alternative of one that has, as `name = `.
fn add_parameter_names(items: &mut Vec<CompletionItem>, callee: &Word, bound: u64) {
    let given = |index: usize| index < 64 && bound & (1 << index) != 0;
    let excluded = |name: &str| {
        callee
            .parameters
            .iter()
            .enumerate()
            .any(|(index, other)| given(index) && other.excludes.contains(&name))
    };
    for (index, parameter) in callee.parameters.iter().enumerate() {
        if given(index) || excluded(parameter.name) {
            continue;
        }
        let item = CompletionItem {
            label: parameter.name.to_string(),
            kind: Some(CompletionItemKind::PROPERTY),
            detail: Some(format!("parameter of {}", callee.name)),
            documentation: Some(documentation(parameter_line(parameter))),
            insert_text: Some(format!("{} = ", parameter.name)),
            filter_text: Some(parameter.name.to_string()),
            sort_text: Some(format!("1-{:04}", items.len())),
            ..CompletionItem::default()
        };
        items.push(item);
    }
}

fn item_kind(names: Names) -> CompletionItemKind {
    match names {
        Names::Sections => CompletionItemKind::KEYWORD,
        Names::Layers => CompletionItemKind::CLASS,
        Names::Activations
        | Names::Initializers
        | Names::Losses
        | Names::Optimizers
        | Names::Schedules
        | Names::Sources => CompletionItemKind::FUNCTION,
        Names::Tasks | Names::Metrics => CompletionItemKind::ENUM_MEMBER,
    }
}

fn documentation(value: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(marked: &str) -> Vec<String> {
        let offset = marked.find('|').expect("a cursor mark");
        let source = marked.replacen('|', "", 1);
        completion(&source, offset)
            .into_iter()
            .map(|item| item.insert_text.unwrap_or(item.label))
            .collect()
    }

    #[test]
    fn each_place_offers_its_table() {
        let top = labels("model a\n|");
        assert_eq!(
            top,
            [
                "model",
                "data",
                "network",
                "loss",
                "optimizer",
                "schedule",
                "train"
            ]
        );
        let network = labels("network {\n  |\n}");
        for name in [
            "input",
            "dense",
            "dropout",
            "batchnorm",
            "relu",
            "leaky_relu",
        ] {
            assert!(network.contains(&name.to_string()), "{name}: {network:?}");
        }
        assert!(!network.contains(&"adam".to_string()));
        let after_units = labels("network {\n  dense 64 |");
        assert_eq!(after_units[0], "identity");
        assert!(
            after_units.contains(&"init = ".to_string()),
            "{after_units:?}"
        );
        assert_eq!(labels("optimizer |"), ["sgd", "adam", "adamw"]);
        let sgd = labels("optimizer sgd(|)");
        assert_eq!(
            sgd,
            ["lr = ", "momentum = ", "nesterov = ", "weight_decay = "]
        );
        assert_eq!(labels("optimizer sgd(nesterov = |)"), ["true", "false"]);
        assert!(labels("loss |").contains(&"huber".to_string()));
        assert!(labels("network { dense 8 init = |").contains(&"xavier_normal".to_string()));
        assert!(labels("train {\n  |").contains(&"batch_size = ".to_string()));
        assert_eq!(
            labels("train { metrics = [|"),
            ["accuracy", "rmse", "mae", "r2"]
        );
        assert!(labels("# |").is_empty());
    }

    /// What has a value is not offered again: a parameter bound by position or by name, a
    /// setting given on an earlier line; after a setting's value, only a separator goes.
    #[test]
    fn what_is_given_is_not_offered_again() {
        let after_units = labels("network {\n  dense 8 |");
        assert!(
            !after_units.contains(&"units = ".to_string()),
            "{after_units:?}"
        );
        assert!(after_units.contains(&"activation = ".to_string()));
        let after_relu = labels("network {\n  dense 8 relu |");
        assert!(
            !after_relu.contains(&"activation = ".to_string()),
            "{after_relu:?}"
        );
        assert_eq!(
            labels("optimizer sgd(lr = 0.1, |)"),
            ["momentum = ", "nesterov = ", "weight_decay = "]
        );
        let after_call = labels("network {\n  dense(8, activation = relu) |");
        assert!(
            !after_call.contains(&"activation = ".to_string()),
            "{after_call:?}"
        );
        assert!(!after_call.contains(&"relu".to_string()), "{after_call:?}");
        assert!(
            after_call.contains(&"init = ".to_string()),
            "{after_call:?}"
        );
        // An argument's alternatives are not offered once it is given.
        let csv = labels("data csv(\"a.csv\", target = \"y\", test = \"b.csv\", |)");
        assert!(!csv.contains(&"test_fraction = ".to_string()), "{csv:?}");
        assert!(!csv.contains(&"split_seed = ".to_string()), "{csv:?}");
        assert!(csv.contains(&"task = ".to_string()), "{csv:?}");
        assert!(labels("train { epochs = 3 |").is_empty());
        for next in ["train { epochs = 3, |", "train {\n  epochs = 3\n  |"] {
            let settings = labels(next);
            assert!(!settings.contains(&"epochs = ".to_string()), "{settings:?}");
            assert!(
                settings.contains(&"batch_size = ".to_string()),
                "{settings:?}"
            );
        }
    }

    /// A call left open (an error the checker reports) does not stop completion on the lines
    /// after it, where a section or a layer begins; an activation at a line's start inside a
    /// call is still that call's value.
    #[test]
    fn an_unclosed_call_does_not_end_completion() {
        let network = labels("data csv(\"x.csv\", \nnetwork {\n  |");
        assert!(network.contains(&"dense".to_string()), "{network:?}");
        let layer = labels("network {\n  dense 8 init = normal(\n  dense 4 |");
        assert!(layer.contains(&"relu".to_string()), "{layer:?}");
        let value = labels("network {\n  dense(8,\n    relu, |");
        assert!(value.contains(&"init = ".to_string()), "{value:?}");
    }
}
