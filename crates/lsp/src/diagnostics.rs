//! Diagnostics: the checker's, exactly as `mlpc check` finds them (syntax errors, then every
//! check error, data-dependent ones included when the model's data can be read), as LSP
//! diagnostics.
//!
//! Each becomes an error at its span's range. The message is the diagnostic's headline, then
//! its hint (`hint: did you mean `dense`?`) and notes (`note: ...`) on lines of their own, as
//! the terminal shows them under the source; every label (the primary span's text, and the
//! other places involved, such as where a duplicate was first given) is related
//! information at its own range.

use std::path::Path;

use lsp_types::{Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, Uri};

use crate::position::LineIndex;

/// The name diagnostics are sent under.
pub const SOURCE: &str = "mlpc";

/// Every diagnostic of a model's text; `path` is the model file's, against which its data
/// paths are resolved.
pub fn diagnostics(uri: &Uri, source: &str, path: &Path) -> Vec<Diagnostic> {
    let Err(found) = mlpc_ir::compile(source, path) else {
        return Vec::new();
    };
    let index = LineIndex::new(source);
    found
        .iter()
        .map(|diagnostic| convert(uri, &index, diagnostic))
        .collect()
}

/// One diagnostic in the protocol's terms.
pub fn convert(uri: &Uri, index: &LineIndex, diagnostic: &mlpc_syntax::Diagnostic) -> Diagnostic {
    let mut message = diagnostic.message.clone();
    if let Some(hint) = &diagnostic.hint {
        message.push_str(&format!("\nhint: {hint}"));
    }
    for note in &diagnostic.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    let primary = (!diagnostic.label.is_empty()).then_some((diagnostic.span, &diagnostic.label));
    let related: Vec<DiagnosticRelatedInformation> = primary
        .into_iter()
        .chain(
            diagnostic
                .secondary
                .iter()
                .map(|(span, label)| (*span, label)),
        )
        .map(|(span, label)| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), index.range(span)),
            message: label.clone(),
        })
        .collect();
    Diagnostic {
        range: index.range(diagnostic.span),
        severity: Some(DiagnosticSeverity::ERROR),
        code: None,
        code_description: None,
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    fn uri() -> Uri {
        "file:///tmp/model.mlp".parse().expect("a URI")
    }

    #[test]
    fn a_misspelt_layer_is_an_error_at_its_name_with_the_hint() {
        let source = "data xor\nnetwork {\n  dens 10\n}\nloss cross_entropy\noptimizer adam\n";
        let found = diagnostics(&uri(), source, Path::new("/tmp/model.mlp"));
        assert_eq!(found.len(), 1, "{found:?}");
        let diagnostic = &found[0];
        assert_eq!(
            diagnostic.range,
            Range::new(Position::new(2, 2), Position::new(2, 6))
        );
        assert_eq!(diagnostic.severity, Some(DiagnosticSeverity::ERROR));
        assert_eq!(
            diagnostic.message,
            "unknown layer `dens`\nhint: did you mean `dense`?"
        );
        let related = diagnostic.related_information.as_ref().expect("the label");
        assert_eq!(related[0].message, "not a known layer");
        assert_eq!(related[0].location.range, diagnostic.range);
    }

    #[test]
    fn second_places_are_related_information_and_a_valid_model_has_none() {
        let source =
            "data xor\ndata xor\nnetwork {\n  dense 2\n}\nloss cross_entropy\noptimizer adam\n";
        let found = diagnostics(&uri(), source, Path::new("/tmp/model.mlp"));
        assert_eq!(found.len(), 1, "{found:?}");
        let related = found[0].related_information.as_ref().expect("related");
        assert_eq!(related.len(), 2);
        assert_eq!(related[1].message, "first given here");
        assert_eq!(related[1].location.range.start, Position::new(0, 0));
        let valid = "data xor\nnetwork {\n  dense 2\n}\nloss cross_entropy\noptimizer adam\n";
        assert!(diagnostics(&uri(), valid, Path::new("/tmp/model.mlp")).is_empty());
    }
}
