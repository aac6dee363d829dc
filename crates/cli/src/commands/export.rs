//! `mlpc export RUN_FOLDER --format safetensors [--out FILE]`: a run's trained weights as a
//! safetensors file, named and laid out as PyTorch's `nn.Sequential` of the same network
//! (see `mlpc_train::export`), written atomically (default: `RUN_FOLDER/model.safetensors`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mlpc_train::Backend;
use mlpc_train::checkpoint::{files, load_network, write_atomically};

use crate::report::{self, Outcome};

/// The formats `mlpc export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// safetensors, with PyTorch's `nn.Sequential` names and layouts.
    Safetensors,
}

/// Arguments of `mlpc export`.
#[derive(Args, Debug)]
pub struct ExportArguments {
    /// A run folder written by `mlpc run` (`runs/NAME` by default).
    pub folder: PathBuf,
    /// The file format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: Format,
    /// The file to write [default: RUN_FOLDER/model.safetensors].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Writes the export and says where.
pub fn run(arguments: &ExportArguments) -> Outcome {
    let state = match report::read_run(&arguments.folder, "export") {
        Ok(state) => state,
        Err(outcome) => return outcome,
    };
    let device = match Backend::Flex.plain_device() {
        Ok(device) => device,
        Err(error) => return report::failure(&error, error.hint()),
    };
    let network = match load_network(&state.model, &device, &files(&arguments.folder, &state).0) {
        Ok(network) => network,
        Err(error) => return report::failure(&error, error.hint()),
    };
    let bytes = match arguments.format {
        Format::Safetensors => match mlpc_train::export::safetensors(&network, &state) {
            Ok(bytes) => bytes,
            Err(message) => return report::failure(&message, None),
        },
    };
    let path = arguments
        .out
        .clone()
        .unwrap_or_else(|| arguments.folder.join("model.safetensors"));
    if let Err(error) = write_atomically(&path, &bytes) {
        return report::failure(&error, error.hint());
    }
    println!(
        "wrote {} ({} bytes: {} after {} epochs)",
        path.display(),
        bytes.len(),
        state.model.name,
        state.completed_epochs
    );
    Outcome::Success
}
