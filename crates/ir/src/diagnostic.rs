//! Check errors as diagnostics: the label under each span, the other places involved, and
//! the hint, all built from the error's data.

use mlpc_syntax::{Diagnostic, Span};

use crate::error::CheckError;
use crate::memory::gibibytes;
use crate::signature::parameter_list;
use crate::summary::group as grouped;

impl CheckError {
    /// The diagnostic to show for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let error = |span: Span| Diagnostic::error(self.to_string(), span);
        match self {
            CheckError::UnknownName {
                noun,
                span,
                suggestion,
                candidates,
                ..
            } => {
                let diagnostic = error(*span).with_label(format!("not a known {noun}"));
                match suggestion {
                    Some(word) => diagnostic.with_hint(format!("did you mean `{word}`?")),
                    None => {
                        diagnostic.with_hint(format!("expected one of: {}", candidates.join(", ")))
                    }
                }
            }
            CheckError::UnknownArgument {
                callee,
                written,
                span,
                suggestion,
                parameters,
                ..
            } => {
                let takes = format!("`{callee}` takes {}", parameter_list(parameters));
                let diagnostic = error(*span).with_label(format!("not a known {}", written.noun()));
                match suggestion {
                    Some(word) => diagnostic
                        .with_hint(format!("did you mean `{word}`?"))
                        .with_note(takes),
                    None => diagnostic.with_hint(takes),
                }
            }
            CheckError::Duplicate { span, first, .. } => error(*span)
                .with_label("given again here")
                .with_secondary(*first, "first given here")
                .with_hint("remove one of them"),
            CheckError::OneClass { span, .. } => error(*span)
                .with_label("every example has the same label")
                .with_hint(
                    "check the target column (and `target = ...`); to predict a number instead, write `task = regression` and a regression loss",
                ),
            CheckError::FloorAboveRate { rate, span, .. } => error(*span)
                .with_label("would raise the rate")
                .with_hint(format!(
                    "a cosine schedule lowers the rate from the optimizer's `lr` to `min_lr`: make `min_lr` at most {rate}"
                )),
            CheckError::Alternatives {
                name,
                other,
                span,
                other_span,
                ..
            } => error(*span)
                .with_label(format!("`{name}` here"))
                .with_secondary(*other_span, format!("and `{other}` here"))
                .with_hint(format!(
                    "remove one: `{other}` has no effect where `{name}` is given"
                )),
            CheckError::PositionalAfterNamed { span } => error(*span)
                .with_label("not allowed here")
                .with_hint("write positional arguments first, or name this one too"),
            CheckError::NoArguments { example, span, .. } => error(*span)
                .with_label("not allowed here")
                .with_hint(format!("write it as `{example}`")),
            CheckError::TooManyArguments {
                parameters, span, ..
            } => error(*span).with_label("extra argument").with_hint(format!(
                "its parameters, in order: {}",
                parameter_list(parameters)
            )),
            CheckError::MissingArgument { example, span, .. } => error(*span)
                .with_label("argument missing")
                .with_hint(format!("for example: `{example}`")),
            CheckError::WrongType { expected, span, .. } => {
                error(*span).with_label(format!("expected {}", expected.describe()))
            }
            CheckError::OutOfRange {
                nearest,
                text,
                span,
                ..
            } => {
                let diagnostic = error(*span).with_label("out of range");
                match nearest {
                    Some(nearest) => diagnostic.with_hint(nearest.to_string()),
                    None => diagnostic.with_hint(format!(
                        "`{text}` is too large to be held as a number: it reads as infinity"
                    )),
                }
            }
            CheckError::MissingSection { section } => error(Span::new(0, 0))
                .with_label("in this file")
                .with_hint(format!("add a line such as `{}`", section.example())),
            CheckError::SettingOutsideTrain { key, span } => error(*span)
                .with_label("not allowed here")
                .with_hint(format!("move it into the block: `train {{ {key} = ... }}`")),
            CheckError::BlockNotTaken { section, span } | CheckError::BlockMissing { section, span } => {
                error(*span)
                    .with_label("not allowed here")
                    .with_hint(format!("write it as `{}`", section.example()))
            }
            CheckError::StatementInTrain { span, .. } => error(*span)
                .with_label("not allowed here")
                .with_hint("write settings as `name = value`, such as `epochs = 10`"),
            CheckError::SettingInNetwork { span } => error(*span)
                .with_label("not allowed here")
                .with_hint("write a layer as `dense 128 relu`; settings go in `train { }`"),
            CheckError::LayerBlock { example, span } => error(*span)
                .with_label("not allowed here")
                .with_hint(format!("write it as `{example}`")),
            CheckError::BlockOfLayersMissing { example, span, .. } => error(*span)
                .with_label("no layers")
                .with_hint(format!("write it as `{example}`")),
            CheckError::ResidualWidth {
                inputs,
                outputs,
                span,
            } => error(*span)
                .with_label(format!("{outputs} wide"))
                .with_hint(format!(
                    "the block's output is added to its input: make its last layer `dense {inputs}`"
                )),
            CheckError::SoftmaxOfOne { span } => error(*span)
                .with_label("one value in, so 1 out for every example")
                .with_hint(
                    "a softmax shares 1 among a layer's values: with one output leave it out (`binary_cross_entropy` applies a sigmoid itself) or use `sigmoid`; for classes, give the layer one unit per class",
                ),
            CheckError::InputNotFirst { span } => error(*span)
                .with_label("not allowed here")
                .with_hint("move it to the top of `network { }`"),
            CheckError::InputWidth {
                written,
                features,
                span,
            } => error(*span)
                .with_label(format!("{written} inputs"))
                .with_hint(format!(
                    "write `input {features}`, or leave the line out: the width comes from the data"
                )),
            CheckError::EmptyNetwork { span } => error(*span).with_label("empty").with_hint(
                "a single-layer perceptron is `network { dense N }`, N the number of outputs",
            ),
            CheckError::OutputWidth {
                outputs,
                expected,
                span,
                loss,
                loss_span,
                ..
            } => error(*span)
                .with_label(format!(
                    "{outputs} output{}",
                    if *outputs == 1 { "" } else { "s" }
                ))
                .with_secondary(*loss_span, format!("`{loss}` is chosen here"))
                .with_hint(format!("make the last layer `dense {expected}`")),
            CheckError::RegressionLoss { span, .. } => error(*span)
                .with_label("regression loss")
                .with_hint(
                    "use `cross_entropy` (or `binary_cross_entropy` with two classes and one output)",
                ),
            CheckError::ClassificationLoss { target, span, .. } => error(*span)
                .with_label("classification loss")
                .with_hint(match target {
                    Some(name) => format!(
                        "the target `{name}` holds numbers, so it is read as regression: use `mse`, `mae` or `huber`, or write `task = classification` in `csv(...)`"
                    ),
                    None => "use `mse`, `mae` or `huber`".to_string(),
                }),
            CheckError::BinaryClasses { classes, span } => error(*span)
                .with_label("two-class loss")
                .with_hint(format!(
                    "use `cross_entropy` with a last layer `dense {classes}`"
                )),
            CheckError::MetricTask {
                classification,
                span,
                ..
            } => error(*span).with_label("in this list").with_hint(if *classification {
                "classification reports `accuracy`"
            } else {
                "regression reports `rmse`, `mae` and `r2`"
            }),
            CheckError::TooLarge {
                estimate,
                span,
                layer_parameters,
                layer_outputs,
            } => error(*span)
                .with_label(format!(
                    "{} parameters, {} outputs per example",
                    grouped(*layer_parameters),
                    grouped(*layer_outputs)
                ))
                .with_note(format!(
                    "the estimate: {} parameters, each kept {} times ({}), and {} activations per example, each kept 2 times (value and gradient), for a batch of {}; 4 bytes a value",
                    grouped(estimate.parameters),
                    estimate.copies_per_parameter(),
                    match estimate.optimizer_moments {
                        0 => "value and gradient",
                        1 => "value, gradient and the optimizer's momentum",
                        2.. => "value, gradient and the optimizer's two moments",
                    },
                    grouped(estimate.activations_per_example),
                    estimate.batch_size
                ))
                .with_hint(format!(
                    "narrow the widest layers, or lower `batch_size`, to stay under {}",
                    gibibytes(crate::memory::MAX_TRAINING_BYTES)
                )),
            CheckError::Data { error: source, span } => {
                let diagnostic = Diagnostic::error(source.to_string(), *span).with_label("this data source");
                match source.hint() {
                    Some(hint) => diagnostic.with_hint(hint),
                    None => diagnostic,
                }
            }
        }
    }
}
