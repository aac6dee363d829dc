//! The compiled step against burn's autodiff: from the same weights, batches and dropout
//! masks, the parameters (and batch norm's running statistics) after 20 steps agree within
//! 1e-5 relative, for every layer kind, every loss, every optimizer and a schedule, on ndarray
//! and flex (and on wgpu for the derivatives it computes in another form). A deliberately
//! wrong backward rule fails the same comparison.
//!
//! One exception, measured and documented: burn-ndarray's autodiff differentiates `gelu` with
//! the tanh approximation's derivative, while the compiled step (and burn-flex) use the exact
//! one; the gelu case runs on flex.

mod common;

use common::{diabetes, largest_gap, model, wgpu_available};

use mlpc_data::Splits;
use mlpc_ir::Model;
use mlpc_train::Backend;
use mlpc_train::compiled::Mutation;
use mlpc_train::device_data::DeviceSet;
use mlpc_train::network::named_values;
use mlpc_train::step::{StepKind, Stepper};

/// Largest relative difference allowed between the two steps' parameters after [`STEPS`].
const TOLERANCE: f64 = 1e-5;
const STEPS: usize = 20;

/// A classification model on four blobs, with `network`, `loss` and `optimizer` lines.
fn blobs(network: &str, optimizer: &str) -> Model {
    model(&format!(
        "data blobs(n = 240, classes = 4, noise = 1.0, seed = 3)\n\
         network {{\n{network}\n}}\n\
         loss cross_entropy\n\
         optimizer {optimizer}\n\
         train {{ epochs = 1, batch_size = 16, seed = 5 }}\n"
    ))
}

/// The learning rate of each step: a cosine over the 20 steps, so schedules are exercised.
fn rate(model: &Model, step: usize) -> f64 {
    let initial = model.optimizer.learning_rate();
    initial * (0.55 + 0.45 * (std::f64::consts::PI * step as f64 / STEPS as f64).cos())
}

/// The CPU backends' random generators are global: tests that seed them and draw dropout
/// masks take turns, or their draws interleave.
static RANDOM_GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Parameters after [`STEPS`] steps of `kind` on `backend`, from the seed's initial weights.
fn train(
    kind: StepKind,
    model: &Model,
    splits: &Splits,
    backend: Backend,
    mutation: Option<Mutation>,
) -> Vec<(String, Vec<f32>)> {
    let _turn = RANDOM_GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut stepper = Stepper::new(kind, model, backend, None).expect("a stepper");
    if let (Some(mutation), Stepper::Compiled(step)) = (mutation, &mut stepper) {
        step.mutate(mutation);
    }
    let step_device = stepper.device();
    step_device.seed(17);
    let set = DeviceSet::upload(&splits.train, &step_device, usize::MAX / 2);
    let batch = model.training.batch_size;
    let rows = set.len();
    for step in 0..STEPS {
        // A fixed, overlapping walk through the rows: the same batches for both steps.
        let indices: Vec<usize> = (0..batch).map(|row| (step * 7 + row * 3) % rows).collect();
        let (features, targets) = set.gather(&indices);
        stepper.step(features, &targets, rate(model, step), batch);
    }
    named_values(&stepper.network())
}

/// Trains `model` with both steps on `device` and asserts they agree; also that training
/// moved the parameters well beyond the tolerance (so agreement means something).
fn assert_parity(label: &str, model: &Model, backend: Backend, tolerance: f64) {
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let compiled = train(StepKind::Compiled, model, &splits, backend, None);
    let reference = train(StepKind::Autodiff, model, &splits, backend, None);
    let (gap, name) = largest_gap(&compiled, &reference);
    eprintln!("{label}: largest relative gap {gap:.2e} ({name})");
    assert!(
        gap <= tolerance,
        "{label}: the compiled step's `{name}` differs from autodiff's by {gap:.3e} relative (allowed {tolerance:e})"
    );
    let initial = {
        let stepper = Stepper::new(StepKind::Compiled, model, backend, None).expect("a stepper");
        named_values(&stepper.network())
    };
    let (moved, _) = largest_gap(&initial, &reference);
    assert!(
        moved > 100.0 * tolerance,
        "{label}: training barely moved the parameters ({moved:.2e}): the comparison proves nothing"
    );
}

fn both_cpu_backends(label: &str, model: &Model) {
    assert_parity(
        &format!("{label} / ndarray"),
        model,
        Backend::Ndarray,
        TOLERANCE,
    );
    assert_parity(&format!("{label} / flex"), model, Backend::Flex, TOLERANCE);
}

#[test]
fn relu_network_with_plain_sgd() {
    both_cpu_backends(
        "relu, sgd",
        &blobs("dense 16 relu\ndense 4", "sgd(lr = 0.1)"),
    );
    both_cpu_backends(
        "a wide layer",
        &blobs("dense 600 relu\ndense 4", "sgd(lr = 0.05, momentum = 0.9)"),
    );
}

#[test]
fn every_activation_in_a_dense_layer() {
    for activation in [
        "tanh",
        "sigmoid",
        "leaky_relu(0.1)",
        "leaky_relu(1.5)",
        "silu",
        "elu(0.5)",
        "identity",
    ] {
        both_cpu_backends(
            activation,
            &blobs(&format!("dense 12 {activation}\ndense 4"), "sgd(lr = 0.1)"),
        );
    }
    // burn-ndarray's autodiff uses gelu's approximate derivative; flex's is exact, as ours.
    assert_parity(
        "gelu / flex",
        &blobs("dense 12 gelu\ndense 4", "sgd(lr = 0.1)"),
        Backend::Flex,
        TOLERANCE,
    );
}

#[test]
fn activation_layers_softmax_and_a_dense_layer_without_bias() {
    both_cpu_backends(
        "standalone activations, softmax, bias = false",
        &blobs(
            "dense 12 bias = false\ntanh\ndense 12\nsoftmax\ndense 8\nrelu\ndense 4",
            "sgd(lr = 0.5)",
        ),
    );
}

#[test]
fn dropout_batchnorm_and_layernorm() {
    both_cpu_backends(
        "dropout, batchnorm",
        &blobs(
            "dense 16 relu\nbatchnorm(momentum = 0.2)\ndropout 0.3\ndense 4",
            "sgd(lr = 0.1, momentum = 0.9)",
        ),
    );
    both_cpu_backends(
        "layernorm",
        &blobs("dense 16 tanh\nlayernorm\ndense 4", "sgd(lr = 0.1)"),
    );
    both_cpu_backends(
        "dropout and batchnorm before the first dense layer",
        &blobs(
            "dropout 0.2\nbatchnorm\ndense 8 relu\ndense 4",
            "sgd(lr = 0.1)",
        ),
    );
}

/// MNIST's pixels are 81% zeros: on flex the first layer's products (`x W`, and `xᵀ g` for its
/// weight's gradient) add up the nonzero pixels' terms only (`compiled::sparse`), and the
/// step still agrees with autodiff, dropout and Nesterov momentum included.
#[test]
fn mostly_zero_inputs() {
    let model = model(
        "data mnist(\"../data/mnist\", train_limit = 640, test_limit = 64)\n\
         network {\n  dense 128 relu\n  dropout 0.2\n  dense 10\n}\n\
         loss cross_entropy\n\
         optimizer sgd(lr = 0.05, momentum = 0.9, nesterov = true)\n\
         train { epochs = 1, batch_size = 64, seed = 5 }\n",
    );
    assert_parity("mnist / flex", &model, Backend::Flex, TOLERANCE);
}

#[test]
fn prelu() {
    both_cpu_backends(
        "prelu, sgd",
        &blobs("dense 16\nprelu\ndense 4", "sgd(lr = 0.1, momentum = 0.9)"),
    );
    both_cpu_backends(
        "prelu with a negative slope, adam, first layer",
        &blobs(
            "prelu(slope = -0.3)\ndense 12\nprelu(slope = 0.5)\ndense 4",
            "adam(lr = 0.01)",
        ),
    );
}

/// On wgpu the piecewise-constant derivatives (relu, leaky relu, prelu) gate the gradient with
/// masked fills rather than products (`Gating::Masked`): the same comparison, there.
#[test]
fn masked_derivatives_on_wgpu() {
    if !wgpu_available("masked_derivatives_on_wgpu") {
        return;
    }
    for network in [
        "dense 16 relu\ndense 4",
        "dense 12 leaky_relu(0.1)\ndense 4",
        "dense 12 leaky_relu(1.5)\ndense 4",
        "prelu(slope = -0.3)\ndense 12\nprelu(slope = 0.5)\ndense 4",
    ] {
        assert_parity(
            &format!("{network:?} / wgpu"),
            &blobs(network, "sgd(lr = 0.1, momentum = 0.9)"),
            Backend::Wgpu,
            TOLERANCE,
        );
    }
}

/// On wgpu a norm's forward kernel applies the activation and the dropout after it (its
/// tail): the same comparison, there, for each form of tail (an activation that keeps its
/// output, with and without a mask; one that keeps its input; a mask alone; inside a residual
/// block).
#[test]
fn norm_tails_on_wgpu() {
    if !wgpu_available("norm_tails_on_wgpu") {
        return;
    }
    for network in [
        "dense 16\nbatchnorm\nrelu\ndropout 0.3\ndense 4",
        "dense 16\nbatchnorm\ntanh\ndense 4",
        // (Not gelu: on wgpu autodiff's gelu derivative is burn's tanh approximation.)
        "dense 16\nlayernorm\nsilu\ndense 4",
        "dense 16\nlayernorm\nleaky_relu(0.1)\ndropout 0.2\ndense 4",
        "dense 16 relu\nbatchnorm\ndropout 0.3\ndense 4",
        "dense 12 tanh\nresidual {\n  layernorm\n  sigmoid\n  dropout 0.2\n  dense 12\n}\ndense 4",
    ] {
        assert_parity(
            &format!("{network:?} / wgpu"),
            // Not Adam: a dense bias before batch norm has a gradient of rounding noise,
            // which Adam's normalisation would blow up to full steps of either sign.
            &blobs(network, "sgd(lr = 0.1, momentum = 0.9)"),
            Backend::Wgpu,
            TOLERANCE,
        );
    }
}

/// On wgpu a norm's backward kernel applies the derivative of the activation before it (its
/// lead; the layer below then passes its gradient on): the same comparison, there, for a
/// derivative read from the activation's output and from its input, after a dense layer and
/// after an activation layer, with a tail after the norm, and inside a residual block.
#[test]
fn norm_leads_on_wgpu() {
    if !wgpu_available("norm_leads_on_wgpu") {
        return;
    }
    for network in [
        "dense 16 relu\nlayernorm\ndense 4",
        "dense 16 leaky_relu(0.1)\nbatchnorm\ndense 4",
        "dense 16\nsilu\nbatchnorm\nrelu\ndense 4",
        "dense 16 sigmoid\nlayernorm\ntanh\ndropout 0.2\ndense 4",
        "dense 12\nresidual {\n  dense 12 tanh\n  layernorm\n}\ndense 4",
    ] {
        assert_parity(
            &format!("{network:?} / wgpu"),
            &blobs(network, "sgd(lr = 0.1, momentum = 0.9)"),
            Backend::Wgpu,
            TOLERANCE,
        );
    }
}

/// On wgpu, with one output, the loss kernel adds the output layer's bias as it reads the
/// product (the layer's forward pass leaves it out) and applies a regression's output
/// activation and its derivative: the same comparison, there, for a regression and a binary
/// classification, and for regressions through tanh, sigmoid and (after batch norm) relu.
#[test]
fn the_output_bias_in_the_loss_on_wgpu() {
    if !wgpu_available("the_output_bias_in_the_loss_on_wgpu") {
        return;
    }
    let circles = model(
        "data circles(n = 200, noise = 0.05, factor = 0.5, seed = 2)\n\
         network {\ndense 8 tanh\ndense 1\nsigmoid\n}\n\
         loss binary_cross_entropy\n\
         optimizer adam(lr = 0.02)\n\
         train { epochs = 1, batch_size = 16, seed = 2 }\n",
    );
    let momentum = "sgd(lr = 0.05, momentum = 0.9)";
    let regression = diabetes("dense 8 relu\ndense 1", "huber(delta = 0.5)", momentum);
    // An output activation: applied by the loss kernel with the bias, and applied before it
    // (the layer before not a dense one), its derivative taken by the kernel either way.
    let squashed = diabetes("dense 8 relu\ndense 1\ntanh", "mse", momentum);
    let bounded = diabetes(
        "dense 8 relu\ndense 1\nsigmoid",
        "huber(delta = 0.5)",
        momentum,
    );
    let normed = diabetes("dense 8 relu\ndense 1\nbatchnorm\nrelu", "mae", momentum);
    for (name, model) in [
        ("binary cross-entropy", circles),
        ("huber", regression),
        ("tanh, mse", squashed),
        ("sigmoid, huber", bounded),
        ("batch norm and relu, mae", normed),
    ] {
        assert_parity(&format!("{name} / wgpu"), &model, Backend::Wgpu, TOLERANCE);
    }
}

#[test]
fn residual_blocks() {
    both_cpu_backends(
        "residual blocks with layer norm, prelu and dropout, adam",
        &blobs(
            "dense 12 tanh\nresidual {\n  layernorm\n  dense 8 relu\n  dropout 0.2\n  prelu\n  dense 12\n}\nresidual { dense 12 tanh }\ndense 4",
            "adam(lr = 0.01)",
        ),
    );
    both_cpu_backends(
        "a residual block first, and one inside another",
        &blobs(
            "residual { dense 2 tanh }\ndense 10\nresidual {\n  residual { dense 10 relu }\n  batchnorm\n  dense 10\n}\ndense 4",
            "sgd(lr = 0.1, momentum = 0.9)",
        ),
    );
}

#[test]
fn every_optimizer() {
    for optimizer in [
        "sgd(lr = 0.05, momentum = 0.9)",
        "sgd(lr = 0.05, momentum = 0.9, nesterov = true)",
        "sgd(lr = 0.05, momentum = 0.5, weight_decay = 0.01)",
        "sgd(lr = 0.05, weight_decay = 0.01)",
        "adam(lr = 0.01)",
        "adam(lr = 0.01, weight_decay = 0.01)",
        "adamw(lr = 0.01, weight_decay = 0.05)",
    ] {
        both_cpu_backends(
            optimizer,
            &blobs("dense 12 tanh\nbatchnorm\ndense 4", optimizer),
        );
    }
}

#[test]
fn every_loss() {
    let circles = model(
        "data circles(n = 200, noise = 0.05, factor = 0.5, seed = 2)\n\
         network {\ndense 8 tanh\ndense 1\nsigmoid\n}\n\
         loss binary_cross_entropy\n\
         optimizer adam(lr = 0.02)\n\
         train { epochs = 1, batch_size = 16, seed = 2 }\n",
    );
    both_cpu_backends("binary cross-entropy", &circles);
    for loss in ["mse", "mae", "huber(delta = 0.5)"] {
        both_cpu_backends(
            loss,
            &diabetes("dense 8 relu\ndense 1", loss, "sgd(lr = 0.05)"),
        );
    }
}

#[test]
fn a_wrong_backward_rule_fails_the_comparison() {
    let cases = [
        (
            "relu derivative dropped",
            blobs("dense 16 relu\ndense 4", "sgd(lr = 0.1)"),
            Mutation::ActivationDerivativeDropped,
        ),
        (
            "a bias gradient 1% too large",
            blobs("dense 16 tanh\ndense 4", "sgd(lr = 0.1, momentum = 0.9)"),
            Mutation::ParameterGradientScaled {
                parameter: 1,
                factor: 1.01,
            },
        ),
    ];
    for (label, model, mutation) in cases {
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let wrong = train(
            StepKind::Compiled,
            &model,
            &splits,
            Backend::Flex,
            Some(mutation),
        );
        let reference = train(StepKind::Autodiff, &model, &splits, Backend::Flex, None);
        let (gap, name) = largest_gap(&wrong, &reference);
        eprintln!("{label}: largest relative gap {gap:.2e} ({name})");
        assert!(
            gap > 100.0 * TOLERANCE,
            "{label}: a wrong rule went unnoticed (gap {gap:.2e})"
        );
    }
}

/// Parameters and optimizer state are updated in place: after each step every parameter and
/// state tensor has a single owner (`can_mut`), so the next step's update writes its buffer
/// instead of allocating a new one (flex reuses a sole owner's buffer for every elementwise op
/// of an update).
#[test]
fn parameters_and_optimizer_state_stay_in_place() {
    use mlpc_train::compiled::update::State;
    for optimizer in [
        "sgd(lr = 0.1)",
        "sgd(lr = 0.05, momentum = 0.9, nesterov = true, weight_decay = 0.01)",
        "adamw(lr = 0.01, weight_decay = 0.05)",
    ] {
        let model = blobs("dense 16 relu\nbatchnorm\ndropout 0.2\ndense 4", optimizer);
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let _turn = RANDOM_GENERATOR
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut stepper =
            Stepper::new(StepKind::Compiled, &model, Backend::Flex, None).expect("a stepper");
        let step_device = stepper.device();
        let set = DeviceSet::upload(&splits.train, &step_device, usize::MAX / 2);
        for step in 0..3 {
            let indices: Vec<usize> = (0..16).map(|row| (step * 16 + row) % set.len()).collect();
            let (features, targets) = set.gather(&indices);
            let _ = stepper.step(features, &targets, 0.1, 16);
            let Stepper::Compiled(compiled) = &stepper else {
                panic!("the compiled step")
            };
            for parameter in compiled.parameters() {
                assert!(
                    parameter.value.can_mut(),
                    "{optimizer}: `{}` is shared after step {step}",
                    parameter.path
                );
                let state: Vec<&burn::tensor::Tensor<2>> = match &parameter.state {
                    State::None => vec![],
                    State::Velocity(velocity) => vec![velocity],
                    State::Moments(moments) => vec![&moments.first, &moments.second],
                };
                for tensor in state {
                    assert!(
                        tensor.can_mut(),
                        "{optimizer}: the state of `{}` is shared after step {step}",
                        parameter.path
                    );
                }
            }
            // The check can fail: a network taken for evaluation shares the buffers while held.
            let frozen = compiled.network();
            assert!(!compiled.parameters()[0].value.can_mut());
            drop(frozen);
            assert!(compiled.parameters()[0].value.can_mut());
        }
    }
}
