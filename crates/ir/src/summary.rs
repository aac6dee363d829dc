//! `mlpc summary`: a Keras-style table of layers, output shapes and parameters, with totals
//! and multiply-adds per sample; also as JSON.

use serde::Serialize;

use crate::model::{Layer, Model, Task};

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// The layer as `mlpc summary` names it (the table indents it by its depth).
    pub layer: String,
    /// `[null, width]`: the batch dimension is free.
    pub output_shape: [Option<usize>; 2],
    /// Trainable parameters.
    pub parameters: usize,
    /// Multiply-adds per example.
    pub multiply_adds: usize,
    /// 0 for the network's own layers, 1 for a residual block's layers (already counted in
    /// the block's row), and so on.
    pub depth: usize,
}

/// The whole summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The model's name.
    pub name: String,
    /// Input width.
    pub inputs: usize,
    /// One row per layer, the input first.
    pub layers: Vec<SummaryRow>,
    /// Trainable parameters in all.
    pub total_params: usize,
    /// Multiply-adds of one forward pass of one example.
    pub multiply_adds_per_sample: usize,
    /// The activation the loss applies to the last layer's output, if any.
    pub output_activation: Option<String>,
}

/// A row per layer, a residual block's layers indented under it.
fn add_rows(layers: &[Layer], depth: usize, rows: &mut Vec<SummaryRow>) {
    for layer in layers {
        rows.push(SummaryRow {
            layer: layer.kind.display_name(),
            output_shape: [None, Some(layer.outputs)],
            parameters: layer.parameters,
            multiply_adds: layer.multiply_adds,
            depth,
        });
        add_rows(layer.block(), depth + 1, rows);
    }
}

impl Summary {
    /// The summary of a model.
    pub fn of(model: &Model) -> Summary {
        let network = &model.network;
        let mut layers = vec![SummaryRow {
            layer: "input".into(),
            output_shape: [None, Some(network.inputs)],
            parameters: 0,
            multiply_adds: 0,
            depth: 0,
        }];
        add_rows(&network.layers, 0, &mut layers);
        Summary {
            name: model.name.clone(),
            inputs: network.inputs,
            layers,
            total_params: network.parameters(),
            multiply_adds_per_sample: network.multiply_adds(),
            output_activation: network
                .output_activation
                .map(|activation| activation.name()),
        }
    }

    /// The table as text.
    pub fn to_table(&self, model: &Model) -> String {
        let task = match &model.task {
            Task::Classification { classes, .. } => format!("{classes} classes"),
            Task::Regression { target: Some(name) } => format!("regression of `{name}`"),
            Task::Regression { target: None } => "regression".to_string(),
        };
        let rows: Vec<[String; 4]> = self
            .layers
            .iter()
            .map(|row| {
                let shape = format!("[batch, {}]", row.output_shape[1].unwrap_or(0));
                [
                    // A block's layers indented under it.
                    format!("{}{}", "  ".repeat(row.depth), row.layer),
                    shape,
                    group(row.parameters as u64),
                    group(row.multiply_adds as u64),
                ]
            })
            .collect();
        let headers = ["Layer", "Output shape", "Parameters", "Multiply-adds"];
        let widths: Vec<usize> = (0..4)
            .map(|column| {
                rows.iter()
                    .map(|row| row[column].chars().count())
                    .chain([headers[column].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: [&str; 4]| {
            format!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}\n",
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        };
        let rule = "-".repeat(widths.iter().sum::<usize>() + 6) + "\n";
        let mut text = format!("Model: {} ({} inputs -> {task})\n", self.name, self.inputs);
        text.push_str(&rule);
        text.push_str(&line(headers));
        text.push_str(&rule);
        for row in &rows {
            text.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
        }
        text.push_str(&rule);
        text.push_str(&format!(
            "Total parameters: {}\n",
            group(self.total_params as u64)
        ));
        text.push_str(&format!(
            "Multiply-adds per sample: {}\n",
            group(self.multiply_adds_per_sample as u64)
        ));
        if let Some(activation) = &self.output_activation {
            text.push_str(&format!(
                "Output: {activation}, applied by the loss to the last layer's logits\n"
            ));
        }
        text
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn group(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(407050), "407,050");
        assert_eq!(super::group(1234567), "1,234,567");
    }
}
