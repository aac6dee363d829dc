//! `mlpc run FILE [--backend B] [--step S] [--epochs N] [--batch-size N] [--lr X] [--seed N]
//! [--data PATH] [--json] [--out DIR] [--resume] [--no-save]`

use std::path::{Path, PathBuf};

use clap::Args;
use mlpc_data::{Schema, Source, TargetKind};
use mlpc_ir::{Model, Task};
use mlpc_train::{Backend, EpochReport, Kept, RunFolder, StepKind, TrainError};

use crate::interrupt::{Interrupts, Signal};
use crate::report::{self, Outcome};

/// Arguments of `mlpc run`. Values given here override the file's.
#[derive(Args, Debug)]
pub struct RunArguments {
    /// The `.mlp` file.
    pub file: PathBuf,
    /// Where to train: flex (CPU, default), ndarray (CPU) or wgpu (GPU).
    #[arg(long, default_value = "flex")]
    pub backend: Backend,
    /// The training step: compiled (backward pass derived by mlpc; the default on the CPU),
    /// replay (the compiled step recorded once and replayed; the default on wgpu) or autodiff
    /// (burn's, the reference).
    #[arg(long)]
    pub step: Option<StepKind>,
    /// Number of epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Examples per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Initial learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of initial weights, shuffling and dropout.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Another data set with the same layout: a folder for an IDX set, a file for a CSV.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// One JSON object per epoch on standard output.
    #[arg(long)]
    pub json: bool,
    /// The run folder: the trained model and a checkpoint after each epoch [default: runs/NAME].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Go on from the run folder's last checkpoint (the file may raise the number of epochs).
    #[arg(long, conflicts_with = "no_save")]
    pub resume: bool,
    /// Keep nothing on disk.
    #[arg(long)]
    pub no_save: bool,
}

/// Trains the model and reports each epoch.
pub fn run(arguments: &RunArguments) -> Outcome {
    let (_, mut model) = match report::compile(&arguments.file) {
        Ok(compiled) => compiled,
        Err(outcome) => return outcome,
    };
    if let Err(outcome) = apply_overrides(&mut model, arguments) {
        return outcome;
    }
    let splits = match report::load_data(&model) {
        Ok(splits) => splits,
        Err(outcome) => return outcome,
    };
    // Devices are created lazily: this only checks that the backend has one.
    if let Err(error) = arguments.backend.device() {
        return report::failure(&error, error.hint());
    }
    let requested = arguments
        .step
        .unwrap_or(StepKind::default_for(arguments.backend));
    let (step, note) = mlpc_train::step::resolve(requested, &model, arguments.backend);
    // Refused before the first line about training, with both figures.
    if let Err(error) = mlpc_train::memory_budget::check(&model, &splits, arguments.backend, step) {
        return report::failure(&error, error.hint());
    }
    if let Some(hold_out) = model.training.hold_out()
        && let Err(error) = hold_out.check(splits.train.len())
    {
        return report::invalid_data(&error, error.hint());
    }
    if let Some(note) = note {
        report::note(&note, None);
    }
    let json = arguments.json;
    let path = (!arguments.no_save).then(|| {
        arguments
            .out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(&model.name))
    });
    let mut folder = RunFolder {
        path,
        resume: arguments.resume,
    };
    if let Some(path) = &folder.path
        && path.exists()
        && !path.is_dir()
    {
        report::error(
            &format!("--out {}: a file is there, not a folder", path.display()),
            Some(
                "a run writes a folder (the model, its checkpoints and its pictures): name a folder, new or of an earlier run",
            ),
        );
        return Outcome::Invalid;
    }
    // A folder that cannot be written fails now, not after the first epoch's training.
    if let Some(path) = &folder.path
        && let Err(io) = writable_folder(path)
    {
        report::error(
            &format!("cannot write the run folder `{}`: {io}", path.display()),
            Some("name a folder you may write with --out DIR, or train without saving: --no-save"),
        );
        return Outcome::Failure;
    }
    if let (Some(path), false) = (&folder.path, folder.resume)
        && let Ok(state) = mlpc_train::checkpoint::read_state(path)
    {
        report::note(
            &format!(
                "replacing the run of {} in {} (`--resume` goes on from it instead)",
                epochs_text(state.completed_epochs),
                path.display()
            ),
            None,
        );
    }
    if let (Some(path), true) = (&folder.path, folder.resume) {
        if !path.join("run.json").exists() {
            // Stopped before its first epoch ended (or never started): nothing to go on from.
            report::note(
                &format!(
                    "{} holds no checkpoint yet; training from the start",
                    path.display()
                ),
                None,
            );
            folder.resume = false;
        } else {
            let read = mlpc_train::checkpoint::read_state(path).map_err(|error| {
                let hint = "`--resume` goes on from the folder a previous run wrote (`--out DIR`, default runs/NAME)";
                (error, hint)
            });
            let read = read.and_then(|state| {
                mlpc_train::trainer::check_resumable(&model, path, &state)
                    .map(|()| state)
                    .map_err(|error| {
                        let hint = "resume with the file and options the run started with (only --epochs may change), or train afresh without --resume, which replaces the run";
                        (error, hint)
                    })
            });
            match read {
                Ok(state) if state.completed_epochs >= model.training.epochs => {
                    report::note(
                        &format!(
                            "the run in {} has completed {}, and {} asked for: nothing to train",
                            path.display(),
                            epochs_text(state.completed_epochs),
                            match model.training.epochs {
                                1 => "1 is".to_string(),
                                epochs => format!("{epochs} are"),
                            }
                        ),
                        Some(&format!(
                            "`--epochs {}` (or more) trains on; `mlpc eval {}` scores the model as it is",
                            state.completed_epochs + 1,
                            path.display()
                        )),
                    );
                    return Outcome::Success;
                }
                Ok(state) if !json => println!(
                    "resuming after epoch {} from {}",
                    state.completed_epochs,
                    path.display()
                ),
                Ok(_) => {}
                Err((error, hint)) => return report::invalid(&error, Some(hint.into())),
            }
        }
    }
    if !arguments.json {
        let held_out = mlpc_data::HoldOut::count_in(model.training.hold_out(), splits.train.len());
        let validation = match held_out {
            0 => String::new(),
            rows => format!(" / {rows} validation"),
        };
        println!(
            "training {} on {} with the {} step ({} train{validation} / {} test examples, {} parameters)",
            model.name,
            arguments.backend,
            step,
            splits.train.len() - held_out,
            splits.test.len(),
            model.network.parameters()
        );
    }
    let interrupts = Interrupts::listen();
    let mut printer = crate::progress::EpochPrinter::new(json, print_epoch);
    let trained = mlpc_train::train_in(
        &model,
        &splits,
        arguments.backend,
        step,
        &folder,
        &mut interrupts.watching(&mut printer),
    );
    printer.clear();
    match trained {
        Ok(_) => {
            if let Some(path) = &folder.path {
                draw(path, &splits, json);
            }
            if let (Some(path), false) = (&folder.path, json) {
                println!(
                    "saved the model, its last checkpoint and its pictures in {}",
                    path.display()
                );
            }
            Outcome::Success
        }
        Err(TrainError::Interrupted { kept, .. }) => {
            let signal = interrupts.received().unwrap_or(Signal::Interrupt);
            stopped(signal, &kept, arguments);
            match signal {
                Signal::Interrupt => Outcome::Interrupted,
                Signal::Terminate => Outcome::Terminated,
            }
        }
        Err(TrainError::Data(error)) => report::invalid_data(&error, error.hint()),
        Err(error) => report::failure(&error, error.hint()),
    }
}

/// Draws the run's pictures into its folder; a failure there is a warning, not the run's.
fn draw(folder: &Path, splits: &mlpc_data::Splits, json: bool) {
    let drawn = mlpc_train::checkpoint::read_state(folder)
        .map_err(|error| error.to_string())
        .and_then(|state| crate::plots::write_all(folder, &state, splits));
    if let (Err(message), false) = (drawn, json) {
        eprintln!("warning: the pictures could not be drawn: {message}");
    }
}

/// Says why a run stopped, what it keeps and how to go on.
fn stopped(signal: Signal, kept: &Kept, arguments: &RunArguments) {
    // The same command, with every option it was given: any other value is another model.
    let mut resume = format!("mlpc run {} --resume", arguments.file.display());
    let mut option = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            resume.push_str(&format!(" --{name} {value}"));
        }
    };
    option(
        "out",
        arguments.out.as_ref().map(|out| out.display().to_string()),
    );
    option(
        "backend",
        (arguments.backend != Backend::Flex).then(|| arguments.backend.to_string()),
    );
    option("step", arguments.step.map(|step| step.to_string()));
    option("epochs", arguments.epochs.map(|epochs| epochs.to_string()));
    option(
        "batch-size",
        arguments.batch_size.map(|size| size.to_string()),
    );
    option("lr", arguments.lr.map(|rate| rate.to_string()));
    option("seed", arguments.seed.map(|seed| seed.to_string()));
    option(
        "data",
        arguments
            .data
            .as_ref()
            .map(|data| data.display().to_string()),
    );
    let next = if kept.resumable() {
        format!("go on with `{resume}`")
    } else {
        "run it again to train from the start".to_string()
    };
    eprintln!(
        "interrupted by {}: stopped after a whole step; {}; {next}",
        signal.describe(),
        kept.describe()
    );
}

/// Applies command-line values over the file's, checking each as the checker would.
fn apply_overrides(model: &mut Model, arguments: &RunArguments) -> Result<(), Outcome> {
    let invalid = |message: String, hint: &str| {
        report::error(&message, Some(hint));
        Err(Outcome::Invalid)
    };
    if let Some(epochs) = arguments.epochs {
        if epochs == 0 {
            return invalid(
                "--epochs must be at least 1".into(),
                "for example `--epochs 5`",
            );
        }
        model.training.epochs = epochs;
    }
    if let Some(batch_size) = arguments.batch_size {
        if batch_size == 0 {
            return invalid(
                "--batch-size must be at least 1".into(),
                "for example `--batch-size 64`",
            );
        }
        model.training.batch_size = batch_size;
    }
    if let Some(lr) = arguments.lr {
        if !(lr > 0.0 && lr.is_finite()) {
            return invalid(
                format!("--lr must be a positive number, not {lr}"),
                "for example `--lr 0.01`",
            );
        }
        model.optimizer = model.optimizer.with_learning_rate(lr);
        if let Some(error) =
            mlpc_ir::check::check_schedule(model.schedule, lr, mlpc_syntax::Span::default())
        {
            return invalid(
                format!("--lr {lr}: {error}"),
                "a cosine schedule lowers the rate from `--lr` to `min_lr`: give a larger --lr, or lower `min_lr` in the file",
            );
        }
    }
    if let Some(seed) = arguments.seed {
        model.training.seed = seed;
    }
    if let Some(path) = &arguments.data {
        redirect_data(model, path, false)?;
    }
    Ok(())
}

/// Points the model's data source at another path and checks that it still fits the network.
/// With `labels_checked_later` (scoring a saved model, whose label mapping then names any
/// label it never saw), the number of classes is not compared here.
pub fn redirect_data(
    model: &mut Model,
    path: &Path,
    labels_checked_later: bool,
) -> Result<(), Outcome> {
    match &mut model.data {
        Source::Idx { directory, .. } => *directory = path.to_path_buf(),
        Source::Csv { path: file, .. } => *file = path.to_path_buf(),
        Source::Generated { .. } => {
            report::error(
                "--data takes a path, but this model's data is generated",
                Some("remove --data, or change the generator's arguments in the file"),
            );
            return Err(Outcome::Invalid);
        }
    }
    if let Source::Idx { .. } = &model.data
        && path.is_file()
    {
        report::error(
            &format!(
                "--data {}: this model reads an IDX set, a folder, and this is a file",
                path.display()
            ),
            Some(
                "give the folder that holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may be gzipped)",
            ),
        );
        return Err(Outcome::Invalid);
    }
    let schema: Schema = match mlpc_data::inspect(&model.data) {
        Ok(schema) => schema,
        Err(error) => return Err(report::invalid_data(&error, error.hint_on_command_line())),
    };
    let fits = schema.features == model.network.inputs
        && match (&schema.target, &model.task) {
            (TargetKind::Classes { count, .. }, Task::Classification { classes, .. }) => {
                labels_checked_later || count <= classes
            }
            (TargetKind::Regression { .. }, Task::Regression { .. }) => true,
            _ => false,
        };
    if !fits {
        report::error(
            &format!(
                "the data at `{}` does not fit the model: it has {} features and {}",
                path.display(),
                schema.features,
                match &schema.target {
                    TargetKind::Classes { count, .. } => format!("{count} classes"),
                    TargetKind::Regression { .. } => "a real-valued target".to_string(),
                }
            ),
            Some(&format!(
                "the network takes {} inputs and predicts {}; point --data at a data set with the same layout",
                model.network.inputs,
                match &model.task {
                    Task::Classification { classes, .. } => format!("{classes} classes"),
                    Task::Regression { .. } => "a real value".to_string(),
                }
            )),
        );
        return Err(Outcome::Invalid);
    }
    if let (TargetKind::Classes { names, .. }, Task::Classification { class_names, .. }) =
        (&schema.target, &mut model.task)
    {
        *class_names = names.clone();
    }
    Ok(())
}

/// One line (or one JSON object) per epoch.
fn print_epoch(report: &EpochReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("a report serialises")
        );
        return;
    }
    let width = report.epochs.to_string().len();
    let mut line = format!(
        "epoch {:>width$}/{}  train loss {:.4}  test loss {:.4}",
        report.epoch, report.epochs, report.train_loss, report.test_loss
    );
    line.push_str(&report::metrics_text(
        "",
        report.test_accuracy,
        report.test_rmse,
        report.test_mae,
        report.test_r2,
    ));
    if let Some(validation) = &report.validation {
        line.push_str(&format!("  validation loss {:.4}", validation.loss));
        // Its metrics, each named as validation's (the ones before it are the test split's).
        line.push_str(&report::metrics_text(
            "validation ",
            validation.accuracy,
            validation.rmse,
            validation.mae,
            validation.r2,
        ));
    }
    line.push_str(&format!(
        "  lr {}  {:.0} samples/s  {:.2} s",
        report::learning_rate_text(report.learning_rate),
        report.samples_per_sec,
        report.seconds
    ));
    println!("{line}");
}

/// `1 epoch`, `2 epochs`.
fn epochs_text(epochs: usize) -> String {
    match epochs {
        1 => "1 epoch".to_string(),
        epochs => format!("{epochs} epochs"),
    }
}

/// Makes `folder` (and its parents) if it is not there, and checks that a file can be
/// written in it (one is written and removed).
fn writable_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let probe = folder.join(format!(".mlpc-write-check.{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
