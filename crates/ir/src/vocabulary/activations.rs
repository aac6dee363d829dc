//! Activations, usable as a layer (`relu`) or as a dense layer's argument (`dense 64 relu`).

use crate::model::Activation;
use crate::signature::{DefaultValue, Kind, Range, Row, Table, with_default};

/// Every activation.
pub static ACTIVATIONS: Table<Activation> = Table {
    noun: "activation",
    rows: &[
        Row {
            name: "identity",
            parameters: &[],
            example: "identity",
            build: |_| Activation::Identity,
        },
        Row {
            name: "relu",
            parameters: &[],
            example: "relu",
            build: |_| Activation::Relu,
        },
        Row {
            name: "tanh",
            parameters: &[],
            example: "tanh",
            build: |_| Activation::Tanh,
        },
        Row {
            name: "sigmoid",
            parameters: &[],
            example: "sigmoid",
            build: |_| Activation::Sigmoid,
        },
        Row {
            name: "gelu",
            parameters: &[],
            example: "gelu",
            build: |_| Activation::Gelu,
        },
        Row {
            name: "leaky_relu",
            parameters: &[with_default(
                "slope",
                Kind::Real(Range::NON_NEGATIVE),
                DefaultValue::Real(0.01),
            )],
            example: "leaky_relu(0.01)",
            build: |bound| Activation::LeakyRelu {
                slope: bound.real("slope"),
            },
        },
        Row {
            name: "softmax",
            parameters: &[],
            example: "softmax",
            build: |_| Activation::Softmax,
        },
        Row {
            name: "silu",
            parameters: &[],
            example: "silu",
            build: |_| Activation::Silu,
        },
        Row {
            name: "elu",
            parameters: &[with_default(
                "alpha",
                Kind::Real(Range::POSITIVE),
                DefaultValue::Real(1.0),
            )],
            example: "elu(1.0)",
            build: |bound| Activation::Elu {
                alpha: bound.real("alpha"),
            },
        },
    ],
};
