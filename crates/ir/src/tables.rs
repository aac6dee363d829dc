//! The vocabulary of the language: every section, layer kind, activation, initializer, loss,
//! optimizer, schedule and data source, each with its parameter table, and the functions that
//! turn bound arguments into IR values (where the defaults live).
//!
//! Adding a layer kind: add its row to [`LAYERS`], its arm to [`layer_kind`] and its variant to
//! [`LayerKind`]; the compiler then points at every other match that needs it.

use mlpc_data::{CsvTask, GeneratedKind, Source, TestSplit};

use crate::model::*;
use crate::signature::{Bound, Callable, Kind, optional, required};

const SEED: Kind = Kind::Integer { min: 0 };
const FRACTION: Kind = Kind::Real {
    min: 0.0,
    min_inclusive: false,
    max: Some(1.0),
    max_inclusive: false,
};
const DECAY: Kind = Kind::unit_interval_open();
const GAMMA: Kind = Kind::Real {
    min: 0.0,
    min_inclusive: false,
    max: Some(1.0),
    max_inclusive: true,
};

/// Top-level sections, in canonical order.
pub const SECTIONS: &[Callable] = &[
    Callable {
        name: "model",
        parameters: &[required("name", Kind::Word)],
        example: "model digits",
    },
    Callable {
        name: "data",
        parameters: &[required("source", Kind::Nested(SOURCES))],
        example: "data mnist(\"../data/mnist\")",
    },
    Callable {
        name: "network",
        parameters: &[],
        example: "network { dense 10 }",
    },
    Callable {
        name: "loss",
        parameters: &[required("loss", Kind::Nested(LOSSES))],
        example: "loss cross_entropy",
    },
    Callable {
        name: "optimizer",
        parameters: &[required("optimizer", Kind::Nested(OPTIMIZERS))],
        example: "optimizer sgd(lr = 0.1)",
    },
    Callable {
        name: "schedule",
        parameters: &[required("schedule", Kind::Nested(SCHEDULES))],
        example: "schedule cosine",
    },
    Callable {
        name: "train",
        parameters: &[],
        example: "train { epochs = 10, batch_size = 64 }",
    },
];

/// Settings of the `train { ... }` block.
pub const TRAIN: Callable = Callable {
    name: "train",
    parameters: &[
        optional("epochs", Kind::Integer { min: 1 }),
        optional("batch_size", Kind::Integer { min: 1 }),
        optional("shuffle", Kind::Boolean),
        optional("seed", SEED),
        optional("metrics", Kind::Names(&["accuracy", "rmse", "mae", "r2"])),
        optional("validation", Kind::unit_interval_open()),
    ],
    example: "train { epochs = 10, batch_size = 64, seed = 42 }",
};

/// Activations, usable as a layer (`relu`) or a dense argument (`dense 64 relu`).
pub const ACTIVATIONS: &[Callable] = &[
    Callable {
        name: "identity",
        parameters: &[],
        example: "identity",
    },
    Callable {
        name: "relu",
        parameters: &[],
        example: "relu",
    },
    Callable {
        name: "tanh",
        parameters: &[],
        example: "tanh",
    },
    Callable {
        name: "sigmoid",
        parameters: &[],
        example: "sigmoid",
    },
    Callable {
        name: "gelu",
        parameters: &[],
        example: "gelu",
    },
    Callable {
        name: "leaky_relu",
        parameters: &[optional("slope", Kind::non_negative())],
        example: "leaky_relu(0.01)",
    },
    Callable {
        name: "softmax",
        parameters: &[],
        example: "softmax",
    },
    Callable {
        name: "silu",
        parameters: &[],
        example: "silu",
    },
    Callable {
        name: "elu",
        parameters: &[optional("alpha", Kind::positive())],
        example: "elu(1.0)",
    },
];

/// Weight initializers of dense layers.
pub const INITIALIZERS: &[Callable] = &[
    Callable {
        name: "kaiming_uniform",
        parameters: &[],
        example: "init = kaiming_uniform",
    },
    Callable {
        name: "kaiming_normal",
        parameters: &[],
        example: "init = kaiming_normal",
    },
    Callable {
        name: "xavier_uniform",
        parameters: &[],
        example: "init = xavier_uniform",
    },
    Callable {
        name: "xavier_normal",
        parameters: &[],
        example: "init = xavier_normal",
    },
    Callable {
        name: "normal",
        parameters: &[
            optional("mean", Kind::any_real()),
            optional("std", Kind::positive()),
        ],
        example: "init = normal(std = 0.01)",
    },
    Callable {
        name: "uniform",
        parameters: &[
            optional("low", Kind::any_real()),
            optional("high", Kind::any_real()),
        ],
        example: "init = uniform(-0.1, 0.1)",
    },
    Callable {
        name: "zeros",
        parameters: &[],
        example: "init = zeros",
    },
];

const DENSE_PARAMETERS: &[crate::signature::Parameter] = &[
    required("units", Kind::Integer { min: 1 }),
    optional("activation", Kind::Nested(ACTIVATIONS)),
    optional("init", Kind::Nested(INITIALIZERS)),
    optional("bias", Kind::Boolean),
];

/// Layer kinds other than activations (which [`ACTIVATIONS`] lists).
pub const LAYERS: &[Callable] = &[
    Callable {
        name: "input",
        parameters: &[required("size", Kind::Integer { min: 1 })],
        example: "input 784",
    },
    Callable {
        name: "dense",
        parameters: DENSE_PARAMETERS,
        example: "dense 128 relu",
    },
    Callable {
        name: "linear",
        parameters: DENSE_PARAMETERS,
        example: "linear 128 relu",
    },
    Callable {
        name: "dropout",
        parameters: &[required("rate", Kind::unit_interval_open())],
        example: "dropout 0.2",
    },
    Callable {
        name: "batchnorm",
        parameters: &[
            optional("momentum", GAMMA),
            optional("epsilon", Kind::positive()),
        ],
        example: "batchnorm",
    },
    Callable {
        name: "layernorm",
        parameters: &[optional("epsilon", Kind::positive())],
        example: "layernorm",
    },
];

/// Losses.
pub const LOSSES: &[Callable] = &[
    Callable {
        name: "cross_entropy",
        parameters: &[],
        example: "loss cross_entropy",
    },
    Callable {
        name: "binary_cross_entropy",
        parameters: &[],
        example: "loss binary_cross_entropy",
    },
    Callable {
        name: "mse",
        parameters: &[],
        example: "loss mse",
    },
    Callable {
        name: "mae",
        parameters: &[],
        example: "loss mae",
    },
    Callable {
        name: "huber",
        parameters: &[optional("delta", Kind::positive())],
        example: "loss huber(delta = 1.0)",
    },
];

const ADAM_PARAMETERS: &[crate::signature::Parameter] = &[
    optional("lr", Kind::positive()),
    optional("beta1", DECAY),
    optional("beta2", DECAY),
    optional("epsilon", Kind::positive()),
    optional("weight_decay", Kind::non_negative()),
];

/// Optimizers.
pub const OPTIMIZERS: &[Callable] = &[
    Callable {
        name: "sgd",
        parameters: &[
            required("lr", Kind::positive()),
            optional("momentum", DECAY),
            optional("nesterov", Kind::Boolean),
            optional("weight_decay", Kind::non_negative()),
        ],
        example: "optimizer sgd(lr = 0.1, momentum = 0.9)",
    },
    Callable {
        name: "adam",
        parameters: ADAM_PARAMETERS,
        example: "optimizer adam(lr = 0.001)",
    },
    Callable {
        name: "adamw",
        parameters: ADAM_PARAMETERS,
        example: "optimizer adamw(lr = 0.001, weight_decay = 0.01)",
    },
];

/// Learning-rate schedules.
pub const SCHEDULES: &[Callable] = &[
    Callable {
        name: "constant",
        parameters: &[],
        example: "schedule constant",
    },
    Callable {
        name: "step",
        parameters: &[
            optional("every", Kind::Integer { min: 1 }),
            optional("gamma", GAMMA),
        ],
        example: "schedule step(every = 5, gamma = 0.5)",
    },
    Callable {
        name: "exponential",
        parameters: &[optional("gamma", GAMMA)],
        example: "schedule exponential(gamma = 0.9)",
    },
    Callable {
        name: "cosine",
        parameters: &[optional("min_lr", Kind::non_negative())],
        example: "schedule cosine",
    },
];

const GENERATED_COMMON: [crate::signature::Parameter; 4] = [
    optional("n", Kind::Integer { min: 4 }),
    optional("noise", Kind::non_negative()),
    optional("seed", SEED),
    optional("test_fraction", FRACTION),
];

/// Data sources.
pub const SOURCES: &[Callable] = &[
    Callable {
        name: "mnist",
        parameters: &[
            required("path", Kind::Text),
            optional("train_limit", Kind::Integer { min: 1 }),
            optional("test_limit", Kind::Integer { min: 1 }),
        ],
        example: "data mnist(\"../data/mnist\")",
    },
    Callable {
        name: "csv",
        parameters: &[
            required("path", Kind::Text),
            required("target", Kind::Text),
            optional(
                "task",
                Kind::Choice(&["auto", "classification", "regression"]),
            ),
            optional("standardize", Kind::Boolean),
            optional("standardize_target", Kind::Boolean),
            optional("test", Kind::Text),
            optional("test_fraction", FRACTION),
            optional("split_seed", SEED),
        ],
        example: "data csv(\"../data/iris.csv\", target = \"species\")",
    },
    Callable {
        name: "moons",
        parameters: &GENERATED_COMMON,
        example: "data moons(n = 1000, noise = 0.1)",
    },
    Callable {
        name: "circles",
        parameters: &[
            GENERATED_COMMON[0],
            GENERATED_COMMON[1],
            GENERATED_COMMON[2],
            GENERATED_COMMON[3],
            optional("factor", FRACTION),
        ],
        example: "data circles(n = 1000, noise = 0.05, factor = 0.5)",
    },
    Callable {
        name: "spiral",
        parameters: &[
            GENERATED_COMMON[0],
            GENERATED_COMMON[1],
            GENERATED_COMMON[2],
            GENERATED_COMMON[3],
            optional("classes", Kind::Integer { min: 2 }),
        ],
        example: "data spiral(n = 900, classes = 3)",
    },
    Callable {
        name: "xor",
        parameters: &GENERATED_COMMON,
        example: "data xor(n = 400, noise = 0.15)",
    },
    Callable {
        name: "blobs",
        parameters: &[
            GENERATED_COMMON[0],
            GENERATED_COMMON[1],
            GENERATED_COMMON[2],
            GENERATED_COMMON[3],
            optional("classes", Kind::Integer { min: 2 }),
        ],
        example: "data blobs(n = 600, classes = 3)",
    },
];

/// The activation a bound activation callable names.
pub fn activation(name: &str, bound: &Bound) -> Activation {
    match name {
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "sigmoid" => Activation::Sigmoid,
        "gelu" => Activation::Gelu,
        "leaky_relu" => Activation::LeakyRelu {
            slope: bound.real("slope", 0.01),
        },
        "softmax" => Activation::Softmax,
        "silu" => Activation::Silu,
        "elu" => Activation::Elu {
            alpha: bound.real("alpha", 1.0),
        },
        _ => Activation::Identity,
    }
}

/// The initializer a bound initializer callable names.
pub fn initializer(name: &str, bound: &Bound) -> Initializer {
    match name {
        "kaiming_normal" => Initializer::KaimingNormal,
        "xavier_uniform" => Initializer::XavierUniform,
        "xavier_normal" => Initializer::XavierNormal,
        "normal" => Initializer::Normal {
            mean: bound.real("mean", 0.0),
            std: bound.real("std", 0.01),
        },
        "uniform" => Initializer::Uniform {
            low: bound.real("low", -0.05),
            high: bound.real("high", 0.05),
        },
        "zeros" => Initializer::Zeros,
        _ => Initializer::KaimingUniform,
    }
}

/// The layer kind a bound layer names (`None` for `input`, which is not a layer).
pub fn layer_kind(name: &str, bound: &Bound) -> Option<LayerKind> {
    Some(match name {
        "dense" | "linear" => LayerKind::Dense {
            units: bound.integer("units", 1) as usize,
            activation: bound
                .nested("activation")
                .map_or(Activation::Identity, |(name, args)| activation(name, args)),
            initializer: bound
                .nested("init")
                .map_or(Initializer::KaimingUniform, |(name, args)| {
                    initializer(name, args)
                }),
            bias: bound.boolean("bias", true),
        },
        "dropout" => LayerKind::Dropout {
            rate: bound.real("rate", 0.0),
        },
        "batchnorm" => LayerKind::BatchNorm {
            momentum: bound.real("momentum", 0.1),
            epsilon: bound.real("epsilon", 1e-5),
        },
        "layernorm" => LayerKind::LayerNorm {
            epsilon: bound.real("epsilon", 1e-5),
        },
        "input" => return None,
        activation_name => LayerKind::Activation {
            activation: activation(activation_name, bound),
        },
    })
}

/// The loss a bound loss callable names.
pub fn loss(name: &str, bound: &Bound) -> Loss {
    match name {
        "binary_cross_entropy" => Loss::BinaryCrossEntropy,
        "mse" => Loss::Mse,
        "mae" => Loss::Mae,
        "huber" => Loss::Huber {
            delta: bound.real("delta", 1.0),
        },
        _ => Loss::CrossEntropy,
    }
}

/// The optimizer a bound optimizer callable names.
pub fn optimizer(name: &str, bound: &Bound) -> Optimizer {
    let (beta1, beta2, epsilon) = (
        bound.real("beta1", 0.9),
        bound.real("beta2", 0.999),
        bound.real("epsilon", 1e-8),
    );
    match name {
        "adam" => Optimizer::Adam {
            lr: bound.real("lr", 1e-3),
            beta1,
            beta2,
            epsilon,
            weight_decay: bound.real("weight_decay", 0.0),
        },
        "adamw" => Optimizer::AdamW {
            lr: bound.real("lr", 1e-3),
            beta1,
            beta2,
            epsilon,
            weight_decay: bound.real("weight_decay", 0.01),
        },
        _ => Optimizer::Sgd {
            lr: bound.real("lr", 0.01),
            momentum: bound.real("momentum", 0.0),
            nesterov: bound.boolean("nesterov", false),
            weight_decay: bound.real("weight_decay", 0.0),
        },
    }
}

/// The schedule a bound schedule callable names.
pub fn schedule(name: &str, bound: &Bound) -> Schedule {
    match name {
        "step" => Schedule::Step {
            every: bound.integer("every", 10) as usize,
            gamma: bound.real("gamma", 0.1),
        },
        "exponential" => Schedule::Exponential {
            gamma: bound.real("gamma", 0.95),
        },
        "cosine" => Schedule::Cosine {
            min_lr: bound.real("min_lr", 0.0),
        },
        _ => Schedule::Constant,
    }
}

/// The data source a bound source callable names; `resolve` turns a written path into one
/// relative to the working folder.
pub fn source(name: &str, bound: &Bound, resolve: impl Fn(&str) -> std::path::PathBuf) -> Source {
    let limit = |key: &str| bound.integer_given(key).map(|value| value as usize);
    match name {
        "mnist" => Source::Idx {
            directory: resolve(bound.text("path").unwrap_or(".")),
            train_limit: limit("train_limit"),
            test_limit: limit("test_limit"),
        },
        "csv" => Source::Csv {
            path: resolve(bound.text("path").unwrap_or("")),
            target: bound.text("target").unwrap_or("").to_string(),
            task: match bound.text("task") {
                Some("classification") => CsvTask::Classification,
                Some("regression") => CsvTask::Regression,
                _ => CsvTask::Auto,
            },
            standardize: bound.boolean("standardize", true),
            standardize_target: bound.boolean("standardize_target", true),
            test: match bound.text("test") {
                Some(path) => TestSplit::File {
                    path: resolve(path),
                },
                None => TestSplit::Fraction {
                    fraction: bound.real("test_fraction", 0.2),
                    seed: bound.integer("split_seed", 0) as u64,
                },
            },
        },
        generated => {
            let kind = GeneratedKind::ALL
                .into_iter()
                .find(|kind| kind.name() == generated)
                .unwrap_or(GeneratedKind::Moons);
            let default_noise = match kind {
                GeneratedKind::Moons => 0.1,
                GeneratedKind::Circles => 0.05,
                GeneratedKind::Spiral => 0.1,
                GeneratedKind::Xor => 0.15,
                GeneratedKind::Blobs => 1.0,
            };
            Source::Generated {
                kind,
                samples: limit("n").unwrap_or(1000),
                noise: bound.real("noise", default_noise),
                classes: limit("classes").unwrap_or(3),
                factor: bound.real("factor", 0.5),
                seed: bound.integer("seed", 0) as u64,
                test_fraction: bound.real("test_fraction", 0.25),
            }
        }
    }
}
