//! The vocabulary of the language: one [`Table`](crate::signature::Table) of typed rows per
//! kind of name (layers, activations, initializers, losses, optimizers, schedules, data
//! sources, metrics) and the `train { }` settings. Each row owns its parameters (types,
//! ranges, defaults) and its builder, so a name and the IR it stands for cannot be added
//! apart, and nothing downstream matches names as strings.
//!
//! The tests at the end build every row from its own example and from its defaults alone.

mod activations;
mod initializers;
mod layers;
mod losses;
mod optimizers;
mod schedules;
mod sources;
mod training;

pub use activations::ACTIVATIONS;
pub use initializers::INITIALIZERS;
pub use layers::{LAYERS, NetworkLine, holds_layers};
pub use losses::LOSSES;
pub use optimizers::OPTIMIZERS;
pub use schedules::SCHEDULES;
pub use sources::{SOURCES, TASKS};
pub use training::{METRICS, TRAIN, train_signature};

use crate::signature::{DefaultValue, Kind, Range, with_default};

/// Parameters several rows share.
mod shared {
    use super::*;

    /// A seed: any whole number ≥ 0, 0 by default.
    pub const SEED: crate::signature::Parameter = with_default(
        "seed",
        Kind::Integer(Range::at_least(0)),
        DefaultValue::Integer(0),
    );
}

#[cfg(test)]
mod tests;
