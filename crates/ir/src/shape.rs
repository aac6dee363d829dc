//! Shape inference: the width of every layer, its parameters and its multiply-adds, and the
//! checks that the network's ends fit the data and the loss.

use mlpc_syntax::Span;
use mlpc_syntax::ast::Statement;

use crate::error::{CheckError, OutputRule};
use crate::model::*;
use crate::network::{WrittenLayer, WrittenNetwork};
use crate::vocabulary::NetworkLine;

/// A network with the places in the text that its layers come from.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The network.
    pub network: Network,
    /// The last line that changes the width (the last dense layer).
    pub output_span: Option<Span>,
    /// The line of each layer.
    pub layer_spans: Vec<Span>,
    /// Whether every line of the network was bound: if not, widths are not checked.
    pub complete: bool,
}

/// Parameters and multiply-adds of a layer kind at an input width, and its output width.
pub fn layer_shape(kind: &LayerKind, inputs: usize) -> Layer {
    let (outputs, parameters, multiply_adds) = match kind {
        LayerKind::Dense { units, bias, .. } => (
            *units,
            inputs
                .saturating_mul(*units)
                .saturating_add(if *bias { *units } else { 0 }),
            inputs.saturating_mul(*units),
        ),
        LayerKind::Activation { .. } | LayerKind::Dropout { .. } => (inputs, 0, 0),
        LayerKind::Prelu { .. } => (inputs, inputs, inputs),
        // The block's own layers carry their shapes; the sum adds one value per output.
        LayerKind::Residual { layers } => layers.iter().fold(
            (inputs, 0usize, inputs),
            |(outputs, parameters, multiply_adds), layer| {
                (
                    outputs,
                    parameters.saturating_add(layer.parameters),
                    multiply_adds.saturating_add(layer.multiply_adds),
                )
            },
        ),
        LayerKind::BatchNorm { .. } | LayerKind::LayerNorm { .. } => {
            (inputs, inputs.saturating_mul(2), inputs.saturating_mul(2))
        }
    };
    Layer {
        kind: kind.clone(),
        inputs,
        outputs,
        parameters,
        multiply_adds,
    }
}

/// Whether a layer's output is a softmax of its values.
fn applies_softmax(kind: &LayerKind) -> bool {
    match kind {
        LayerKind::Dense { activation, .. } | LayerKind::Activation { activation } => {
            *activation == Activation::Softmax
        }
        LayerKind::Prelu { .. }
        | LayerKind::Residual { .. }
        | LayerKind::Dropout { .. }
        | LayerKind::BatchNorm { .. }
        | LayerKind::LayerNorm { .. } => false,
    }
}

/// Infers every width from the data's input width (when it is known).
pub fn infer(
    written: WrittenNetwork,
    data_features: Option<usize>,
    errors: &mut Vec<CheckError>,
) -> Inferred {
    let mut inputs = data_features;
    for (index, layer) in written.layers.iter().enumerate() {
        let NetworkLine::Input(size) = layer.line else {
            continue;
        };
        if index != 0 {
            errors.push(CheckError::InputNotFirst { span: layer.span });
        }
        match data_features {
            Some(features) if features != size => errors.push(CheckError::InputWidth {
                written: size,
                features,
                span: layer.span,
            }),
            Some(_) | None => inputs = Some(size),
        }
    }
    // Widths are checked only from a known input width, and while every line before bound.
    let checked = inputs.is_some() && written.complete;
    let inputs = inputs.unwrap_or(0);
    let mut output_span = None;
    let (layers, layer_spans, width) = shape_lines(
        written.layers,
        inputs,
        checked,
        true,
        &mut output_span,
        errors,
    );
    Inferred {
        network: Network {
            inputs,
            outputs: width,
            layers,
            output_activation: None,
        },
        output_span,
        layer_spans,
        complete: written.complete,
    }
}

/// Shapes lines from the width `inputs`: the layers, the line of each, and the output width.
/// `input` lines were checked at the top level; inside a block they are out of place. A
/// residual block's width is `checked` only from a known width with every line before bound.
fn shape_lines(
    written: Vec<WrittenLayer>,
    inputs: usize,
    checked: bool,
    top_level: bool,
    output_span: &mut Option<Span>,
    errors: &mut Vec<CheckError>,
) -> (Vec<Layer>, Vec<Span>, usize) {
    let mut width = inputs;
    let mut layers = Vec::new();
    let mut layer_spans = Vec::new();
    for layer in written {
        let mut kind = match layer.line {
            NetworkLine::Input(_) => {
                if !top_level {
                    errors.push(CheckError::InputNotFirst { span: layer.span });
                }
                continue;
            }
            NetworkLine::Layer(kind) => kind,
        };
        if let LayerKind::Dense { .. } = kind {
            *output_span = Some(layer.units_span.unwrap_or(layer.span));
        }
        if let (LayerKind::Residual { layers: inner }, Some(block)) = (&mut kind, layer.block) {
            let mut block_output_span = None;
            let checked = checked && block.complete;
            let (shaped, _, outputs) = shape_lines(
                block.layers,
                width,
                checked,
                false,
                &mut block_output_span,
                errors,
            );
            if checked && outputs != width {
                errors.push(CheckError::ResidualWidth {
                    inputs: width,
                    outputs,
                    span: block_output_span.unwrap_or(layer.span),
                });
            }
            *inner = shaped;
        }
        let shaped = layer_shape(&kind, width);
        if checked && shaped.outputs == 1 && applies_softmax(&kind) {
            errors.push(CheckError::SoftmaxOfOne { span: layer.span });
        }
        width = shaped.outputs;
        layers.push(shaped);
        layer_spans.push(layer.span);
    }
    (layers, layer_spans, width)
}

/// Checks the loss against the task and the output width, and moves a final softmax (or
/// sigmoid) that the loss applies itself out of the layer list.
pub fn fit_output(
    inferred: Inferred,
    task: &Task,
    loss: Loss,
    loss_span: Span,
    network_statement: &Statement,
    errors: &mut Vec<CheckError>,
) -> Network {
    let Inferred {
        mut network,
        output_span,
        complete,
        ..
    } = inferred;
    let output_span = output_span.unwrap_or(network_statement.keyword.span);
    if network.layers.is_empty() {
        if network_statement.block.is_none() {
            return network; // reported already: the block is missing
        }
        if complete {
            errors.push(CheckError::EmptyNetwork {
                span: network_statement.span,
            });
        }
        return network;
    }
    fold_output_activation(&mut network, loss);
    let outputs = network.outputs;
    let loss_name = loss.name();
    let mut width_error = |expected: usize, rule: OutputRule| {
        // Past a line that did not bind, widths would only repeat its error.
        if complete {
            errors.push(CheckError::OutputWidth {
                outputs,
                expected,
                rule,
                span: output_span,
                loss: loss_name,
                loss_span,
            });
        }
    };
    match (task, loss.is_classification()) {
        (Task::Classification { .. }, false) => errors.push(CheckError::RegressionLoss {
            loss: loss_name,
            span: loss_span,
        }),
        (Task::Regression { target }, true) => errors.push(CheckError::ClassificationLoss {
            loss: loss_name,
            target: target.clone(),
            span: loss_span,
        }),
        // One class: reported with the data source, where the fix lies.
        (Task::Classification { classes: 0 | 1, .. }, true) => {}
        (Task::Classification { classes, .. }, true) => match loss {
            Loss::BinaryCrossEntropy if *classes != 2 => errors.push(CheckError::BinaryClasses {
                classes: *classes,
                span: loss_span,
            }),
            Loss::BinaryCrossEntropy if outputs != 1 => width_error(1, OutputRule::BinaryLogit),
            Loss::CrossEntropy if outputs != *classes => {
                width_error(*classes, OutputRule::Classes(*classes))
            }
            Loss::BinaryCrossEntropy
            | Loss::CrossEntropy
            | Loss::Mse
            | Loss::Mae
            | Loss::Huber { .. } => {}
        },
        (Task::Regression { .. }, false) => {
            if outputs != 1 {
                width_error(1, OutputRule::RegressionTarget);
            }
        }
    }
    network
}

/// Softmax before cross-entropy and sigmoid before binary cross-entropy are applied by the
/// loss itself (on logits, for numerical stability): move them out of the layer list.
fn fold_output_activation(network: &mut Network, loss: Loss) {
    let folded = match loss {
        Loss::CrossEntropy => Activation::Softmax,
        Loss::BinaryCrossEntropy => Activation::Sigmoid,
        Loss::Mse | Loss::Mae | Loss::Huber { .. } => return,
    };
    match network.layers.last_mut().map(|layer| &mut layer.kind) {
        Some(LayerKind::Activation { activation }) if *activation == folded => {
            network.layers.pop();
        }
        Some(LayerKind::Dense { activation, .. }) if *activation == folded => {
            *activation = Activation::Identity
        }
        _ => return,
    }
    network.output_activation = Some(folded);
}
