//! Hover: what the name under the cursor is, from its table: its kind, an example, and each
//! parameter with its type, valid range and default, in Markdown.
//!
//! The name is looked up where the cursor's [`Slot`] says it belongs (a layer line, a loss, an
//! optimizer's call, an activation argument, a parameter's name...), and anywhere in the
//! language if it is not found there (so that a name in a line the reading did not
//! understand still shows what it is).

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use mlpc_ir::signature::{Kind, Parameter, Presence, Range};

use crate::context::{Context, Slot};
use crate::position::LineIndex;
use crate::words::{Names, Word, anywhere, network_line};

/// The hover of the place `offset` in `source`, if the cursor is on a name of the language.
pub fn hover(source: &str, offset: usize) -> Option<Hover> {
    let context = crate::context::context_at(source, offset);
    let (_, span) = context.word.clone()?;
    let markdown = describe(&context)?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(LineIndex::new(source).range(span)),
    })
}

/// The Markdown for the word of a context.
fn describe(context: &Context) -> Option<String> {
    let (word, _) = context.word.as_ref()?;
    let found = match context.slot {
        Slot::Section => Names::Sections.find(word),
        Slot::NetworkLine => network_line(word),
        Slot::Argument { callee, .. } if context.names_argument => {
            if let Some(parameter) = callee
                .parameters
                .iter()
                .find(|parameter| parameter.name == word)
            {
                return Some(parameter_markdown(callee, parameter));
            }
            None
        }
        Slot::Argument { next, .. } => next
            .and_then(|parameter| Names::of_kind(parameter.kind))
            .and_then(|names| names.find(word)),
        Slot::Value { parameter } => {
            Names::of_kind(parameter.kind).and_then(|names| names.find(word))
        }
        Slot::Nothing => None,
    };
    found.or_else(|| anywhere(word)).map(|word| markdown(&word))
}

/// A word's Markdown: its name and kind, an example, and its parameters.
pub fn markdown(word: &Word) -> String {
    let mut text = format!(
        "**{}** ({})\n\n```mlp\n{}\n```\n",
        word.name, word.noun, word.example
    );
    if word.parameters.is_empty() {
        text.push_str("\nNo parameters.\n");
    } else {
        text.push_str("\nParameters:\n\n");
        for parameter in word.parameters {
            text.push_str(&format!("- {}\n", parameter_line(parameter)));
        }
    }
    text
}

/// One parameter of a word, as hover shows it alone.
fn parameter_markdown(callee: Word, parameter: &Parameter) -> String {
    format!(
        "**{}**: parameter of `{}` ({})\n\n{}\n",
        parameter.name,
        callee.name,
        callee.noun,
        parameter_line(parameter)
    )
}

/// `` `lr`: a number > 0; default `0.001` ``.
pub fn parameter_line(parameter: &Parameter) -> String {
    format!(
        "`{}`: {}; {}",
        parameter.name,
        type_text(parameter.kind),
        presence_text(parameter.presence)
    )
}

/// The type and valid values of a parameter, in words.
pub fn type_text(kind: Kind) -> String {
    let number = |noun: &str, range: Range| {
        if range == Range::ANY {
            format!("any {noun}")
        } else {
            format!("a {noun} {range}")
        }
    };
    match kind {
        Kind::Integer(range) => number("whole number", range),
        Kind::Real(range) => number("number", range),
        Kind::Path => "a path in double quotes, relative to the model file".into(),
        Kind::Boolean
        | Kind::Text
        | Kind::Word
        | Kind::Activation(_)
        | Kind::Initializer(_)
        | Kind::Loss(_)
        | Kind::Optimizer(_)
        | Kind::Schedule(_)
        | Kind::Source(_)
        | Kind::Task(_)
        | Kind::Metrics(_) => kind.describe(),
    }
}

/// Whether a parameter must be written, and its default.
pub fn presence_text(presence: Presence) -> String {
    match presence {
        Presence::Required => "required".into(),
        Presence::Optional => "optional (no default)".into(),
        Presence::Default(default) => format!("default `{default}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hover_text(marked: &str) -> Option<String> {
        let offset = marked.find('|').expect("a cursor mark");
        let source = marked.replacen('|', "", 1);
        hover(&source, offset).map(|hover| match hover.contents {
            HoverContents::Markup(markup) => markup.value,
            HoverContents::Scalar(_) | HoverContents::Array(_) => String::new(),
        })
    }

    #[test]
    fn a_layer_shows_every_parameter_with_type_range_and_default() {
        let text = hover_text("network {\n  de|nse 128 relu\n}").expect("a hover");
        assert!(text.starts_with("**dense** (layer)"), "{text}");
        assert!(text.contains("dense 128 relu"), "{text}");
        assert!(
            text.contains("`units`: a whole number ≥ 1; required"),
            "{text}"
        );
        assert!(
            text.contains("`activation`: one of identity, relu"),
            "{text}"
        );
        assert!(text.contains("default `identity`"), "{text}");
        assert!(
            text.contains("`bias`: `true` or `false`; default `true`"),
            "{text}"
        );
    }

    #[test]
    fn activations_optimizers_losses_and_parameters_are_found_by_context() {
        let relu = hover_text("network {\n  dense 8 re|lu\n}").expect("relu");
        assert!(relu.starts_with("**relu** (activation)") && relu.contains("No parameters."));
        let adam = hover_text("optimizer ad|am(lr = 0.01)").expect("adam");
        assert!(adam.starts_with("**adam** (optimizer)"), "{adam}");
        assert!(
            adam.contains("`beta2`: a number in [0, 1); default `0.999`"),
            "{adam}"
        );
        assert!(
            adam.contains("`epsilon`: a number > 0; default `1e-8`"),
            "{adam}"
        );
        let lr = hover_text("optimizer adam(l|r = 0.01)").expect("lr");
        assert!(
            lr.starts_with("**lr**: parameter of `adam` (optimizer)"),
            "{lr}"
        );
        assert!(lr.contains("a number > 0; default `0.001`"), "{lr}");
        // `mae` is a loss after `loss`, a metric in `metrics = [...]`.
        let loss = hover_text("loss ma|e").expect("loss");
        assert!(loss.starts_with("**mae** (loss)"), "{loss}");
        let metric = hover_text("train { metrics = [ma|e] }").expect("metric");
        assert!(metric.starts_with("**mae** (metric)"), "{metric}");
        let section = hover_text("tr|ain { epochs = 3 }").expect("train");
        assert!(section.contains("`batch_size`: a whole number ≥ 1; default `32`"));
        let path = hover_text("data csv(pa|th = \"a.csv\")").expect("path");
        assert!(
            path.contains("relative to the model file; required"),
            "{path}"
        );
    }

    #[test]
    fn no_hover_off_names() {
        assert_eq!(hover_text("# dense| in a comment"), None);
        assert_eq!(hover_text("network { dense 1|28 }"), None);
        assert_eq!(hover_text("frobnicate| 3"), None);
        assert_eq!(hover_text("|"), None);
    }
}
