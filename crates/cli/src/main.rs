//! # mlpc: the command-line interface
//!
//! The last stage of the pipeline (syntax → IR and checks → burn lowering and training →
//! **CLI**). Each subcommand lives in its own module under `commands/`; every error of every
//! stage reaches the user through [`report`], the one place that renders diagnostics.
//!
//! Exit status: 0 success, 2 an invalid model or invalid usage, 1 any other failure.

mod commands;
mod interrupt;
mod plots;
mod progress;
mod report;

/// mimalloc keeps freed memory for reuse. With the system allocator every tensor of a few
/// hundred kilobytes (a 784x128 weight gradient) is a fresh `mmap` whose pages fault in on
/// first touch: measured on flex, `xᵀ g` for MNIST's first layer took 382-443 µs a step with
/// glibc's allocator and 137 µs with mimalloc, the same product.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mlpc: compile and train multi-layer perceptrons described in `.mlp` files.
#[derive(Parser)]
#[command(name = "mlpc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How diagnostics are written: human (standard error) or json (one object per line on
    /// standard output).
    #[arg(long, global = true, value_enum, default_value_t = report::MessageFormat::Human)]
    message_format: report::MessageFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check model files; print nothing but diagnostics on failure.
    Check {
        /// The `.mlp` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the checked model's IR as JSON.
        #[arg(long, value_parser = ["ir"])]
        emit: Option<String>,
    },
    /// Print a table of layers, output shapes and parameters.
    Summary {
        /// The `.mlp` file.
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite model files in canonical form.
    Fmt {
        /// The `.mlp` files (`-`: standard input, formatted to standard output).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only check that the files are formatted; exit 1 if one is not.
        #[arg(long)]
        check: bool,
    },
    /// Train a model and report test metrics after each epoch.
    Run(commands::run::RunArguments),
    /// Evaluate the saved model of a run folder on its test split (or another data set).
    Eval(commands::eval::EvalArguments),
    /// Predict with the saved model of a run folder: labels and class probabilities, or values.
    Predict(commands::predict::PredictArguments),
    /// Draw a run's pictures again: loss curves, decision boundary, confusion matrix, or a
    /// regression's predictions against the truth.
    Plot {
        /// A run folder written by `mlpc run`.
        folder: std::path::PathBuf,
    },
    /// Export the trained weights of a run folder (safetensors, PyTorch's names and layouts).
    Export(commands::export::ExportArguments),
    /// Check every gradient of a model against finite differences, for both training steps.
    Gradcheck(commands::gradcheck::GradcheckArguments),
    /// Train a model on several backends and compare their speeds.
    Bench(commands::bench::BenchArguments),
    /// List the backends of this build and the GPU adapters this machine offers.
    Backends {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve editors: the language server of .mlp files, on standard input and output.
    Lsp,
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    cpu_default_device();
    let cli = Cli::parse();
    let runtime_folder = opens_graphics_drivers(&cli.command)
        .then(quiet_graphics_drivers)
        .flatten();
    if opens_graphics_drivers(&cli.command) {
        // Before any burn device: burn and cubecl read their settings once per process (a
        // CPU run first in `mlpc bench` would otherwise fix them for the wgpu runs).
        mlpc_train::backend::configure_wgpu_runtime();
    }
    report::set_message_format(cli.message_format);
    report::install_panic_hook(matches!(cli.command, Command::Lsp));
    let outcome = std::panic::catch_unwind(|| match cli.command {
        Command::Check { files, emit } => commands::check::run(&files, emit.is_some()),
        Command::Summary { file, json } => commands::summary::run(&file, json),
        Command::Fmt { files, check } => commands::format::run(&files, check),
        Command::Run(arguments) => commands::run::run(&arguments),
        Command::Eval(arguments) => commands::eval::run(&arguments),
        Command::Predict(arguments) => commands::predict::run(&arguments),
        Command::Export(arguments) => commands::export::run(&arguments),
        Command::Plot { folder } => commands::plot::run(&folder),
        Command::Bench(arguments) => commands::bench::run(&arguments),
        Command::Gradcheck(arguments) => commands::gradcheck::run(&arguments),
        Command::Backends { json } => commands::backends::run(json),
        Command::Lsp => commands::lsp::run(),
    })
    .unwrap_or_else(|_| {
        report::report_panic();
        report::Outcome::Failure
    });
    if let Some(folder) = runtime_folder {
        let _ = std::fs::remove_dir_all(folder);
    }
    ExitCode::from(outcome as u8)
}

/// `mlpc run ... | head` ends quietly, as Unix tools do, when the reader goes away: Rust
/// ignores SIGPIPE, so a write to a closed pipe would fail, and printing would panic.
fn quiet_broken_pipe() {
    // SAFETY: called first thing in main, before any thread exists; restores the default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// burn puts tensors it cannot place (such as a loaded optimizer state, before its first
/// step) on a default device, which is a GPU first: keep that on the CPU unless told otherwise.
fn cpu_default_device() {
    if std::env::var_os("BURN_DEVICE").is_none() {
        // SAFETY: called first thing in main, before any thread exists.
        unsafe { std::env::set_var("BURN_DEVICE", "ndarray") };
    }
}

/// Whether a command may open a GPU driver: wgpu runs, and the adapter listing.
fn opens_graphics_drivers(command: &Command) -> bool {
    match command {
        Command::Run(arguments) => arguments.backend == mlpc_train::Backend::Wgpu,
        Command::Eval(arguments) => arguments.backend == mlpc_train::Backend::Wgpu,
        Command::Predict(arguments) => arguments.backend == mlpc_train::Backend::Wgpu,
        Command::Bench(arguments) => arguments.backends.contains(&mlpc_train::Backend::Wgpu),
        Command::Gradcheck(arguments) => arguments.backend == mlpc_train::Backend::Wgpu,
        Command::Backends { .. } => true,
        Command::Check { .. }
        | Command::Summary { .. }
        | Command::Fmt { .. }
        | Command::Export(_)
        | Command::Plot { .. }
        | Command::Lsp => false,
    }
}

/// Mesa's drivers complain on standard error when `XDG_RUNTIME_DIR` is unset (as in containers
/// and CI). Where a command opens a driver, give it a folder of this process's own, readable
/// by this user only, removed at exit: a wgpu run then prints only mlpc's own output.
fn quiet_graphics_drivers() -> Option<PathBuf> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let folder = std::env::temp_dir().join(format!("mlpc-runtime-{}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&folder).ok()?;
    // SAFETY: called in main before any thread exists.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", &folder) };
    Some(folder)
}
