//! Shape inference: the width of every layer, its parameters and its multiply-adds, and the
//! checks that the network's ends fit the data and the loss.

use mlpc_syntax::Span;
use mlpc_syntax::ast::Statement;

use crate::error::CheckError;
use crate::model::*;

/// A layer as bound from the text, before shapes are known.
#[derive(Debug, Clone)]
pub struct WrittenLayer {
    /// The layer (`None` for `input N`, which only states the input width).
    pub kind: Option<LayerKind>,
    /// For `input N`: N.
    pub input_size: Option<usize>,
    /// The layer's line.
    pub span: Span,
    /// Where a dense layer's width is written.
    pub units_span: Option<Span>,
}

/// A network with the place in the text that sets its output width.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The network.
    pub network: Network,
    /// The last line that changes the width (the last dense layer).
    pub output_span: Option<Span>,
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

/// Infers every width from the data's input width (when it is known).
pub fn infer(
    written: Vec<WrittenLayer>,
    data_features: Option<usize>,
    errors: &mut Vec<CheckError>,
) -> Inferred {
    let mut inputs = data_features;
    for (index, layer) in written.iter().enumerate() {
        let Some(size) = layer.input_size else {
            continue;
        };
        if index != 0 {
            errors.push(CheckError::Misplaced {
                message: "`input` must be the first line of the network".into(),
                span: layer.span,
                hint: "move it to the top of `network { }`".into(),
            });
        }
        match data_features {
            Some(features) if features != size => errors.push(CheckError::ShapeMismatch {
                message: format!(
                    "the network takes {size} inputs, but the data has {features} features"
                ),
                span: layer.span,
                label: format!("{size} inputs"),
                other: None,
                hint: format!(
                    "write `input {features}`, or leave the line out: the width comes from the data"
                ),
            }),
            _ => inputs = Some(size),
        }
    }
    let inputs = inputs.unwrap_or(0);
    let mut width = inputs;
    let mut layers = Vec::new();
    let mut output_span = None;
    for layer in written {
        let Some(kind) = layer.kind else { continue };
        if let LayerKind::Dense { .. } = kind {
            output_span = Some(layer.units_span.unwrap_or(layer.span));
        }
        let shaped = layer_shape(&kind, width);
        width = shaped.outputs;
        layers.push(shaped);
    }
    Inferred {
        network: Network {
            inputs,
            outputs: width,
            layers,
            output_activation: None,
        },
        output_span,
    }
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
    } = inferred;
    let output_span = output_span.unwrap_or(network_statement.keyword.span);
    if network.layers.is_empty() {
        if network_statement.block.is_none() {
            return network; // reported already: the block is missing
        }
        errors.push(CheckError::ShapeMismatch {
            message: "the network has no layers".into(),
            span: network_statement.span,
            label: "empty".into(),
            other: None,
            hint: "a single-layer perceptron is `network { dense N }`, N the number of outputs"
                .into(),
        });
        return network;
    }
    fold_output_activation(&mut network, loss);
    let outputs = network.outputs;
    let loss_name = match loss {
        Loss::CrossEntropy => "cross_entropy",
        Loss::BinaryCrossEntropy => "binary_cross_entropy",
        Loss::Mse => "mse",
        Loss::Mae => "mae",
        Loss::Huber { .. } => "huber",
    };
    let mut width_error = |expected: usize, why: String| {
        errors.push(CheckError::ShapeMismatch {
            message: format!(
                "the network gives {outputs} output{}, but {why}",
                if outputs == 1 { "" } else { "s" }
            ),
            span: output_span,
            label: format!("{outputs} output{}", if outputs == 1 { "" } else { "s" }),
            other: Some((loss_span, format!("`{loss_name}` is chosen here"))),
            hint: format!("make the last layer `dense {expected}`"),
        });
    };
    match (task, loss.is_classification()) {
        (Task::Classification { .. }, false) => errors.push(CheckError::TaskMismatch {
            message: format!("`{loss_name}` is a regression loss, but the data is for classification"),
            span: loss_span,
            label: "regression loss".into(),
            hint: "use `cross_entropy` (or `binary_cross_entropy` with two classes and one output)".into(),
        }),
        (Task::Regression { target }, true) => errors.push(CheckError::TaskMismatch {
            message: format!("`{loss_name}` is a classification loss, but the data is for regression"),
            span: loss_span,
            label: "classification loss".into(),
            hint: match target {
                Some(name) => format!("the target `{name}` holds numbers, so it is read as regression: use `mse`, `mae` or `huber`, or write `task = classification` in `csv(...)`"),
                None => "use `mse`, `mae` or `huber`".into(),
            },
        }),
        (Task::Classification { classes, .. }, true) => match loss {
            Loss::BinaryCrossEntropy if *classes != 2 => errors.push(CheckError::TaskMismatch {
                message: format!("`binary_cross_entropy` needs two classes, but the data has {classes}"),
                span: loss_span,
                label: "two-class loss".into(),
                hint: format!("use `cross_entropy` with a last layer `dense {classes}`"),
            }),
            Loss::BinaryCrossEntropy if outputs != 1 => width_error(1, "`binary_cross_entropy` takes one output (the logit of class 1)".into()),
            Loss::CrossEntropy if outputs != *classes => width_error(*classes, format!("the data has {classes} classes")),
            _ => {}
        },
        (Task::Regression { .. }, false) => {
            if outputs != 1 {
                width_error(1, "the data has one regression target".into());
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
