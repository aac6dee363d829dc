//! Layer kinds other than activations (which `ACTIVATIONS` lists), and `input`.

use crate::bound::Bound;
use crate::model::LayerKind;
use crate::signature::{DefaultValue, Kind, Parameter, Range, Row, Table, required, with_default};
use crate::vocabulary::{ACTIVATIONS, INITIALIZERS};

/// What one line of `network { }` says.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkLine {
    /// `input N`: the input width, stated (it comes from the data otherwise).
    Input(usize),
    /// A layer.
    Layer(LayerKind),
}

/// The parameters of `dense` and of its synonym `linear`.
static DENSE_PARAMETERS: [Parameter; 4] = [
    required("units", Kind::Integer(Range::at_least(1))),
    with_default(
        "activation",
        Kind::Activation(&ACTIVATIONS),
        DefaultValue::Named("identity"),
    ),
    with_default(
        "init",
        Kind::Initializer(&INITIALIZERS),
        DefaultValue::Named("kaiming_uniform"),
    ),
    with_default("bias", Kind::Boolean, DefaultValue::Boolean(true)),
];

fn dense(bound: &Bound) -> NetworkLine {
    NetworkLine::Layer(LayerKind::Dense {
        units: bound.count("units"),
        activation: bound.activation("activation"),
        initializer: bound.initializer("init"),
        bias: bound.boolean("bias"),
    })
}

/// Whether a layer row is written with a block of layers (`residual { ... }`): its example
/// shows the block. The checker binds such a row's block, and editors offer layers inside it;
/// the vocabulary's tests keep this in step with [`LayerKind::takes_block`].
pub fn holds_layers(row: &Row<NetworkLine>) -> bool {
    row.example.contains('{')
}

/// Every layer kind, and `input`.
pub static LAYERS: Table<NetworkLine> = Table {
    noun: "layer",
    rows: &[
        Row {
            name: "input",
            parameters: &[required("size", Kind::Integer(Range::at_least(1)))],
            example: "input 784",
            build: |bound| NetworkLine::Input(bound.count("size")),
        },
        Row {
            name: "dense",
            parameters: &DENSE_PARAMETERS,
            example: "dense 128 relu",
            build: dense,
        },
        Row {
            name: "linear",
            parameters: &DENSE_PARAMETERS,
            example: "linear 128 relu",
            build: dense,
        },
        Row {
            name: "prelu",
            parameters: &[with_default(
                "slope",
                Kind::Real(Range::ANY),
                DefaultValue::Real(0.25),
            )],
            example: "prelu",
            build: |bound| {
                NetworkLine::Layer(LayerKind::Prelu {
                    initial_slope: bound.real("slope"),
                })
            },
        },
        Row {
            name: "residual",
            parameters: &[],
            example: "residual { dense 128 relu, dense 128 }",
            // The block's layers are bound and shaped by the network's checker.
            build: |_| NetworkLine::Layer(LayerKind::Residual { layers: Vec::new() }),
        },
        Row {
            name: "dropout",
            parameters: &[required("rate", Kind::Real(Range::UNIT_FROM_ZERO))],
            example: "dropout 0.2",
            build: |bound| {
                NetworkLine::Layer(LayerKind::Dropout {
                    rate: bound.real("rate"),
                })
            },
        },
        Row {
            name: "batchnorm",
            parameters: &[
                with_default(
                    "momentum",
                    Kind::Real(Range::UNIT_TO_ONE),
                    DefaultValue::Real(0.1),
                ),
                with_default(
                    "epsilon",
                    Kind::Real(Range::POSITIVE),
                    DefaultValue::Real(1e-5),
                ),
            ],
            example: "batchnorm",
            build: |bound| {
                NetworkLine::Layer(LayerKind::BatchNorm {
                    momentum: bound.real("momentum"),
                    epsilon: bound.real("epsilon"),
                })
            },
        },
        Row {
            name: "layernorm",
            parameters: &[with_default(
                "epsilon",
                Kind::Real(Range::POSITIVE),
                DefaultValue::Real(1e-5),
            )],
            example: "layernorm",
            build: |bound| {
                NetworkLine::Layer(LayerKind::LayerNorm {
                    epsilon: bound.real("epsilon"),
                })
            },
        },
    ],
};
