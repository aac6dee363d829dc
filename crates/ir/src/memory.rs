//! How much memory training a network takes, estimated in the check: a network over
//! [`MAX_TRAINING_BYTES`] is refused with the figure, instead of aborting on allocation.
//!
//! The estimate counts 32-bit floats: every parameter kept once for its value, once for its
//! gradient and once for each moment the optimizer keeps (none for plain SGD, one for
//! momentum, two for Adam), and, for each example of a batch, the network's input and every
//! layer's output, kept for the backward pass with a gradient of each. It leaves out the data
//! set and the backend's own overhead, so it is a floor.

use crate::model::{Network, Optimizer};

/// The most memory a network may take to train: 8 GiB.
pub const MAX_TRAINING_BYTES: u64 = 1 << 33;

/// Bytes of one value (a 32-bit float).
const BYTES_PER_VALUE: u64 = 4;

/// What training a network keeps in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Trainable parameters.
    pub parameters: u64,
    /// Moments the optimizer keeps of each (0 for plain SGD, 1 for momentum, 2 for Adam).
    pub optimizer_moments: u64,
    /// Values one example makes in a forward pass: the input and every layer's output.
    pub activations_per_example: u64,
    /// Examples per step.
    pub batch_size: u64,
}

impl MemoryEstimate {
    /// The estimate for a network trained with an optimizer in batches of `batch_size`.
    pub fn of(network: &Network, optimizer: &Optimizer, batch_size: usize) -> MemoryEstimate {
        let activations = network
            .layers
            .iter()
            .fold(network.inputs as u64, |total, layer| {
                total.saturating_add(layer.values_per_example() as u64)
            });
        MemoryEstimate {
            parameters: network.parameters() as u64,
            optimizer_moments: optimizer_moments(optimizer),
            activations_per_example: activations,
            batch_size: batch_size as u64,
        }
    }

    /// Copies kept of each parameter: its value, its gradient and the optimizer's moments.
    pub fn copies_per_parameter(&self) -> u64 {
        2 + self.optimizer_moments
    }

    /// The bytes it takes.
    pub fn bytes(&self) -> u64 {
        let parameters = self.parameters.saturating_mul(self.copies_per_parameter());
        let activations = self
            .activations_per_example
            .saturating_mul(self.batch_size)
            .saturating_mul(2);
        parameters
            .saturating_add(activations)
            .saturating_mul(BYTES_PER_VALUE)
    }
}

/// Moments the optimizer keeps per parameter.
fn optimizer_moments(optimizer: &Optimizer) -> u64 {
    match optimizer {
        Optimizer::Sgd { momentum, .. } => u64::from(*momentum > 0.0),
        Optimizer::Adam { .. } | Optimizer::AdamW { .. } => 2,
    }
}

/// Bytes as people read them: `8 GiB`, `30.1 GiB`, `12.5 MiB`, `1.0 KiB`.
pub fn gibibytes(bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        if gib.fract() == 0.0 {
            format!("{gib} GiB")
        } else {
            format!("{gib:.1} GiB")
        }
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// The index of the layer that takes the most memory in training, if there are layers.
pub fn heaviest_layer(network: &Network, estimate: &MemoryEstimate) -> Option<usize> {
    let cost = |parameters: usize, outputs: usize| {
        (parameters as u64)
            .saturating_mul(estimate.copies_per_parameter())
            .saturating_add(
                (outputs as u64)
                    .saturating_mul(estimate.batch_size)
                    .saturating_mul(2),
            )
    };
    (0..network.layers.len()).max_by_key(|&index| {
        let layer = &network.layers[index];
        cost(layer.parameters, layer.values_per_example())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Initializer, LayerKind};
    use crate::shape::layer_shape;

    fn dense(units: usize, inputs: usize) -> crate::model::Layer {
        layer_shape(
            &LayerKind::Dense {
                units,
                activation: Activation::Relu,
                initializer: Initializer::KaimingUniform,
                bias: true,
            },
            inputs,
        )
    }

    #[test]
    fn counts_parameters_optimizer_state_and_a_batch_of_activations() {
        let network = Network {
            inputs: 784,
            outputs: 10,
            layers: vec![dense(512, 784), dense(10, 512)],
            output_activation: None,
        };
        let adam = Optimizer::Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        };
        let estimate = MemoryEstimate::of(&network, &adam, 64);
        assert_eq!(estimate.parameters, 407_050);
        assert_eq!(estimate.copies_per_parameter(), 4);
        assert_eq!(estimate.activations_per_example, 784 + 512 + 10);
        // (407,050 × 4 + 1,306 × 64 × 2) × 4 bytes
        assert_eq!(estimate.bytes(), (407_050 * 4 + 1_306 * 64 * 2) * 4);
        assert_eq!(gibibytes(estimate.bytes()), "6.8 MiB");
        assert_eq!(gibibytes(1024), "1.0 KiB");
        assert!(estimate.bytes() <= MAX_TRAINING_BYTES);
    }

    #[test]
    fn a_huge_layer_is_over_the_cap_and_the_heaviest() {
        let network = Network {
            inputs: 2,
            outputs: 2,
            layers: vec![dense(100_000_000, 2), dense(2, 100_000_000)],
            output_activation: None,
        };
        let sgd = Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let estimate = MemoryEstimate::of(&network, &sgd, 32);
        // 500,000,002 parameters × 2 and (2 + 100,000,002) × 32 × 2 activations, 4 bytes each.
        assert_eq!(estimate.bytes(), (500_000_002 * 2 + 100_000_004 * 64) * 4);
        assert_eq!(gibibytes(estimate.bytes()), "27.6 GiB");
        assert!(estimate.bytes() > MAX_TRAINING_BYTES);
        assert_eq!(heaviest_layer(&network, &estimate), Some(0));
    }
}
