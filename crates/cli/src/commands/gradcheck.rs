//! `mlpc gradcheck FILE [--json] [--batches N] [--backend B]`: every trainable tensor's
//! gradient, from burn's autodiff and from the compiled step, against central finite
//! differences on a few batches of the model's data (see `mlpc_train::gradcheck`). Exit 0
//! when every tensor is within tolerance, 1 when one is not, 2 for an invalid model or data.

use std::path::PathBuf;

use clap::Args;
use mlpc_ir::{Activation, LayerKind};
use mlpc_train::Backend;
use mlpc_train::compiled::Mutation;
use mlpc_train::gradcheck::{self, AGREEMENT_TOLERANCE, CheckOptions, GradientCheck, TOLERANCE};

use crate::report::{self, Outcome};

/// Arguments of `mlpc gradcheck`.
#[derive(Args, Debug)]
pub struct GradcheckArguments {
    /// The `.mlp` file.
    pub file: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many batches of the training data to check on.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub batches: u64,
    /// Where the tensors live: flex or ndarray (the check computes in f64, which wgpu does
    /// not offer).
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
}

/// Runs the check and prints it.
pub fn run(arguments: &GradcheckArguments) -> Outcome {
    let (_, model) = match report::compile(&arguments.file) {
        Ok(compiled) => compiled,
        Err(outcome) => return outcome,
    };
    if arguments.backend == Backend::Wgpu {
        report::error(
            "gradcheck computes in f64, which `wgpu` does not offer here",
            Some("check on the CPU: --backend flex (the default) or ndarray"),
        );
        return Outcome::Invalid;
    }
    let splits = match report::load_data(&model) {
        Ok(splits) => splits,
        Err(outcome) => return outcome,
    };
    let mut options = CheckOptions::for_model(&model, arguments.backend);
    options.batches = arguments.batches as usize;
    options.mutation = planted_mistake();
    let check = match gradcheck::check(&model, &splits, &options) {
        Ok(check) => check,
        Err(error) => return report::failure(&error, error.hint()),
    };
    if arguments.json {
        let mut value = serde_json::to_value(&check).expect("the check serialises");
        value["file"] = arguments.file.display().to_string().into();
        value["backend"] = arguments.backend.name().into();
        value["tolerance"] = TOLERANCE.into();
        value["agreement_tolerance"] = AGREEMENT_TOLERANCE.into();
        value["worst"] = check.worst().into();
        value["passed"] = check.passed().into();
        println!("{value}");
    } else {
        let asked = (arguments.batches as usize, model.training.batch_size);
        print_table(
            &arguments.file,
            arguments.backend,
            &check,
            asked,
            &model.network.layers,
        );
    }
    if check.passed() {
        Outcome::Success
    } else {
        Outcome::Failure
    }
}

/// A deliberate mistake in the compiled step, for testing that the check catches one:
/// `MLPC_GRADCHECK_MISTAKE=activation` drops dense layers' activation derivatives,
/// `scale` scales the first parameter's gradient by 1.5.
fn planted_mistake() -> Option<Mutation> {
    match std::env::var("MLPC_GRADCHECK_MISTAKE").ok()?.as_str() {
        "activation" => Some(Mutation::ActivationDerivativeDropped),
        "scale" => Some(Mutation::ParameterGradientScaled {
            parameter: 0,
            factor: 1.5,
        }),
        _ => None,
    }
}

fn print_table(
    file: &std::path::Path,
    backend: Backend,
    check: &GradientCheck,
    asked: (usize, usize),
    layers: &[mlpc_ir::Layer],
) {
    println!(
        "gradcheck {}: {} batch{} of {} on {}; central differences along each tensor's gradient signs and random signs",
        file.display(),
        check.batches,
        if check.batches == 1 { "" } else { "es" },
        check.batch_size,
        backend.name(),
    );
    let (batches, batch_size) = asked;
    if check.batches < batches || check.batch_size < batch_size {
        println!(
            "(asked: {batches} of {batch_size}; a check takes at most 64 examples a batch, and no more batches of distinct rows than the training data holds)"
        );
    }
    if let Some(reason) = &check.uncovered {
        println!("the compiled step does not cover this model ({reason}): autodiff only");
    }
    let width = check
        .tensors
        .iter()
        .map(|tensor| tensor.path.len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:<width$}  {:>10}  {:>9}  {:>9}  {:>9}",
        "tensor", "shape", "autodiff", "compiled", "agreement"
    );
    let figure = |value: Option<f64>| value.map_or("-".to_string(), |value| format!("{value:.1e}"));
    for tensor in &check.tensors {
        let shape = tensor
            .shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x");
        println!(
            "{:<width$}  {:>10}  {:>9}  {:>9}  {:>9}{}",
            tensor.path,
            shape,
            figure(Some(tensor.autodiff)),
            figure(tensor.compiled),
            figure(tensor.agreement),
            if tensor.passed() { "" } else { "  FAILED" },
        );
    }
    let verdict = if check.passed() { "ok" } else { "FAILED" };
    println!(
        "worst relative error {:.1e} (tolerance {TOLERANCE:.0e}; steps agree within {AGREEMENT_TOLERANCE:.0e}): {verdict}",
        check.worst()
    );
    if !check.passed() && backend == Backend::Ndarray && uses_gelu(layers) {
        println!(
            "(burn-ndarray's autodiff differentiates gelu with its tanh approximation's derivative, not gelu's: see the autodiff column against the compiled one, or check on flex)"
        );
    }
}

/// Whether any layer (a residual block's included) applies gelu.
fn uses_gelu(layers: &[mlpc_ir::Layer]) -> bool {
    layers.iter().any(|layer| match &layer.kind {
        LayerKind::Dense { activation, .. } | LayerKind::Activation { activation } => {
            *activation == Activation::Gelu
        }
        LayerKind::Residual { layers } => uses_gelu(layers),
        LayerKind::Prelu { .. }
        | LayerKind::Dropout { .. }
        | LayerKind::BatchNorm { .. }
        | LayerKind::LayerNorm { .. } => false,
    })
}
