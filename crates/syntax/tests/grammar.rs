//! Grammar tests: every rule of `grammar/mlp.pest`, accepting and rejecting.

use mlpc_syntax::ast::{Entry, ValueKind};
use mlpc_syntax::parser::{MlpParser, Rule};
use mlpc_syntax::{Colour, parse, render};
use pest::Parser;

/// The rule matches the whole text.
fn accepts(rule: Rule, text: &str) -> bool {
    MlpParser::parse(rule, text)
        .is_ok_and(|mut pairs| pairs.next().is_some_and(|pair| pair.as_str() == text))
}

#[test]
fn identifier_rule() {
    for text in ["dense", "cross_entropy", "_private", "x2", "batch_size"] {
        assert!(accepts(Rule::identifier, text), "{text}");
    }
    for text in ["2x", "-a", "", "a-b"] {
        assert!(!accepts(Rule::identifier, text), "{text}");
    }
}

#[test]
fn number_rule() {
    for text in [
        "0", "128", "-1", "0.5", ".25", "1.", "1e-3", "2.5E+4", "-0.0",
    ] {
        assert!(accepts(Rule::number, text), "{text}");
    }
    for text in ["1e", "--1", "128relu", "1.2.3", "e5", "."] {
        assert!(!accepts(Rule::number, text), "{text}");
    }
}

#[test]
fn string_and_string_text_rules() {
    assert!(accepts(Rule::string, r#""data/mnist""#));
    assert!(accepts(Rule::string, r#""a \"quoted\" \\ word\n""#));
    assert!(accepts(Rule::string, r#""""#));
    assert!(!accepts(Rule::string, "\"unterminated"));
    assert!(!accepts(Rule::string, "\"line\nbreak\""));
    assert!(!accepts(Rule::string, r#""bad \q escape""#));
    assert!(accepts(Rule::string_text, "plain text"));
}

#[test]
fn boolean_rule() {
    assert!(accepts(Rule::boolean, "true"));
    assert!(accepts(Rule::boolean, "false"));
    assert!(!accepts(Rule::boolean, "truely"));
    assert!(!accepts(Rule::boolean, "True"));
}

#[test]
fn list_rule() {
    for text in [
        "[]",
        "[accuracy]",
        "[accuracy, loss]",
        "[1, 2,]",
        "[\n  a,\n  b\n]",
        "[[1], [2]]",
    ] {
        assert!(accepts(Rule::list, text), "{text}");
    }
    for text in ["[a b]", "[,]", "[a,,b]", "[a"] {
        assert!(!accepts(Rule::list, text), "{text}");
    }
}

#[test]
fn call_and_call_arguments_rules() {
    for text in [
        "sgd()",
        "sgd(lr = 0.1)",
        "sgd(lr = 0.1, momentum = 0.9)",
        "mnist(\"data\")",
        "f(a, b = [1, 2], c = g(1))",
        "f(\n  a = 1,\n  b = 2,\n)",
    ] {
        assert!(accepts(Rule::call, text), "{text}");
    }
    for text in ["sgd(", "sgd(lr =)", "sgd(lr 0.1)", "sgd (,)"] {
        assert!(!accepts(Rule::call, text), "{text}");
    }
    assert!(accepts(Rule::call_arguments, "(0.1)"));
}

#[test]
fn argument_and_named_argument_rules() {
    assert!(accepts(Rule::argument, "128"));
    assert!(accepts(Rule::argument, "relu"));
    assert!(accepts(Rule::argument, "init = xavier_uniform"));
    assert!(accepts(Rule::named_argument, "lr = 1e-3"));
    assert!(!accepts(Rule::named_argument, "lr ="));
    assert!(!accepts(Rule::named_argument, "= 3"));
}

#[test]
fn setting_rule() {
    assert!(accepts(Rule::setting, "epochs = 10"));
    assert!(accepts(Rule::setting, "metrics = [accuracy]"));
    assert!(!accepts(Rule::setting, "epochs 10"));
    assert!(!accepts(Rule::setting, "epochs: 10"));
}

#[test]
fn statement_rule() {
    for text in [
        "model mnist",
        "dense 128 relu",
        "dense 128 leaky_relu(0.1) init = xavier_uniform",
        "leaky_relu(0.01)",
        "optimizer sgd(lr = 0.1, momentum = 0.9)",
        "network { dense 10 }",
        "network {\n  input 784\n  dense 10\n}",
    ] {
        assert!(accepts(Rule::statement, text), "{text}");
    }
    assert!(!accepts(Rule::statement, "128 dense"));
}

#[test]
fn block_rule() {
    for text in [
        "{}",
        "{ epochs = 10 }",
        "{ epochs = 10, batch_size = 64 }",
        "{\n  dense 10\n\n  relu\n}",
        "{ a = 1, }",
        "{ # comment\n dense 3 }",
    ] {
        assert!(accepts(Rule::block, text), "{text}");
    }
    assert!(!accepts(Rule::block, "{ epochs = 10"));
}

#[test]
fn bad_line_and_bad_entry_rules() {
    assert!(accepts(Rule::bad_line, "anything at all )("));
    assert!(!accepts(Rule::bad_line, ""));
    assert!(accepts(Rule::bad_entry, "epochs = = 3"));
    assert!(!accepts(Rule::bad_entry, "a }"));
}

#[test]
fn line_start_and_entry_start_rules() {
    assert!(MlpParser::parse(Rule::line_start, "dense 10\nmore lines").is_ok());
    assert!(MlpParser::parse(Rule::line_start, "dense 10 )").is_err());
    assert!(MlpParser::parse(Rule::entry_start, "epochs = 3, x").is_ok());
    assert!(MlpParser::parse(Rule::entry_start, "epochs = = 3").is_err());
}

#[test]
fn file_rule_with_comments_and_blank_lines() {
    let source = "# header\n\nmodel m   # trailing\n\n\nloss mse\n# end";
    assert!(accepts(Rule::file, source));
    let parsed = parse(source);
    assert!(parsed.errors.is_empty());
    assert_eq!(parsed.file.entries.len(), 2);
}

#[test]
fn ast_of_a_layer_line() {
    let parsed = parse("network {\n  dense 128 leaky_relu(0.1) init = zeros\n}\n");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let Entry::Statement(network) = &parsed.file.entries[0] else {
        panic!("statement expected")
    };
    let block = network.block.as_ref().expect("block");
    let Entry::Statement(dense) = &block.entries[0] else {
        panic!("statement expected")
    };
    assert_eq!(dense.keyword.name, "dense");
    assert_eq!(dense.arguments.len(), 3);
    assert!(
        matches!(dense.arguments[0].value.kind, ValueKind::Number { value, .. } if value == 128.0)
    );
    let ValueKind::Call { name, arguments } = &dense.arguments[1].value.kind else {
        panic!("call expected")
    };
    assert_eq!(name.name, "leaky_relu");
    assert_eq!(arguments.len(), 1);
    assert_eq!(
        dense.arguments[2].name.as_ref().map(|n| n.name.as_str()),
        Some("init")
    );
    // Spans point at the source text.
    assert_eq!(
        &"network {\n  dense 128 leaky_relu(0.1) init = zeros\n}\n"
            [dense.keyword.span.start..dense.keyword.span.end],
        "dense"
    );
}

#[test]
fn every_syntax_error_is_reported_with_its_position() {
    let source =
        "model m\nloss = mse\nnetwork {\n  dense 128 )\n  dense 10\n}\noptimizer sgd(lr 0.1)\n";
    let parsed = parse(source);
    let text = render(
        "bad.mlp",
        source,
        &parsed
            .errors
            .iter()
            .map(|e| e.to_diagnostic())
            .collect::<Vec<_>>(),
        Colour::Plain,
    );
    assert_eq!(parsed.errors.len(), 3, "{text}");
    assert!(text.contains("bad.mlp:2:6"), "{text}");
    assert!(text.contains("bad.mlp:4:13"), "{text}");
    assert!(text.contains("bad.mlp:7:18"), "{text}");
    assert!(text.contains("inside `train { ... }`"), "{text}");
    // The good entries around the bad ones are kept.
    assert_eq!(parsed.file.entries.len(), 2);
}

/// A lone `\r` ends a line, as it does in editors (and for the language server's
/// positions): two layers, not one with extra arguments; spans are the text's own bytes.
#[test]
fn a_lone_carriage_return_ends_a_line() {
    for source in [
        "network {\n  dense 8 tanh\r  dense 2\n}\n",
        "network {\r  dense 8 tanh\r  dense 2\r}\r",
        "network {\r\n  dense 8 tanh\r\n  dense 2\r\n}\r\n",
    ] {
        let parsed = parse(source);
        assert!(parsed.errors.is_empty(), "{source:?}: {:?}", parsed.errors);
        let mlpc_syntax::ast::Entry::Statement(network) = &parsed.file.entries[0] else {
            panic!("a statement")
        };
        let block = network.block.as_ref().expect("a block");
        assert_eq!(block.entries.len(), 2, "{source:?}");
        let mlpc_syntax::ast::Entry::Statement(second) = &block.entries[1] else {
            panic!("a statement")
        };
        let span = second.keyword.span;
        assert_eq!(&source[span.start..span.end], "dense", "{source:?}");
    }
}

/// A character no statement starts with, at the start of an entry, is named with what was
/// expected there.
#[test]
fn a_stray_symbol_where_a_statement_begins_says_a_statement_was_expected() {
    let source = "network {\n  \u{1F600} dense 8\n}\n";
    let parsed = parse(source);
    assert_eq!(parsed.errors.len(), 1);
    let message = parsed.errors[0].to_diagnostic().message;
    assert_eq!(message, "expected a statement, found `\u{1F600}`");
}

#[test]
fn terminal_rendering_is_coloured_and_plain_rendering_is_not() {
    let source = "loss = mse\n";
    let diagnostics: Vec<_> = parse(source)
        .errors
        .iter()
        .map(|e| e.to_diagnostic())
        .collect();
    let coloured = render("c.mlp", source, &diagnostics, Colour::Terminal);
    let plain = render("c.mlp", source, &diagnostics, Colour::Plain);
    assert!(coloured.contains("\x1b["), "{coloured}");
    assert!(!plain.contains("\x1b["));
    assert!(plain.contains("c.mlp:1:6"));
}

/// `fmt` keeps a file's `\r\n` line ends (and is idempotent on them); `\n` stays `\n`.
#[test]
fn formatting_keeps_the_files_line_ends() {
    let source = "network {\r\n  dense 8   relu # hidden\r\n  dense 2\r\n}\r\n";
    let formatted = mlpc_syntax::format(source, &parse(source).file);
    assert_eq!(
        formatted,
        "network {\r\n  dense 8 relu  # hidden\r\n  dense 2\r\n}\r\n"
    );
    assert_eq!(
        mlpc_syntax::format(&formatted, &parse(&formatted).file),
        formatted
    );
    // Lone `\r` line ends (the language server formats the editor's text as it is): each
    // comment stays on its own line, the blank line is kept.
    let old_mac = "model a\rnetwork {\r  dense 2\r  # own line\r\r  dense 3\r}\r";
    assert_eq!(
        mlpc_syntax::format(old_mac, &parse(old_mac).file),
        "model a\nnetwork {\n  dense 2\n  # own line\n\n  dense 3\n}\n"
    );
    let unix = source.replace("\r\n", "\n");
    assert_eq!(
        mlpc_syntax::format(&unix, &parse(&unix).file),
        formatted.replace("\r\n", "\n")
    );
}

/// A diagnostic on a line too long to show gives its place, hint and notes without the line
/// (a generated file could print megabytes); short lines are shown as always.
#[test]
fn a_line_too_long_to_show_is_left_out() {
    let source = format!("network {{ dense 8 {} }}\n", "relu ".repeat(200));
    let at = source.find("relu").expect("relu");
    let diagnostic = mlpc_syntax::Diagnostic::error("too much", mlpc_syntax::Span::new(at, at + 4))
        .with_label("here")
        .with_hint("less");
    let text = render(
        "long.mlp",
        &source,
        std::slice::from_ref(&diagnostic),
        Colour::Plain,
    );
    assert!(text.contains("--> long.mlp:1:19"), "{text}");
    assert!(
        text.contains("the line is too long to show (1020 characters)"),
        "{text}"
    );
    assert!(text.contains("= hint: less"), "{text}");
    assert!(text.len() < 300, "{text}");
    let short = "network { dense 8 relu }\n";
    let diagnostic = mlpc_syntax::Diagnostic::error("too much", mlpc_syntax::Span::new(18, 22));
    let text = render("short.mlp", short, &[diagnostic], Colour::Plain);
    assert!(text.contains("network { dense 8 relu }"), "{text}");
}
