//! The one place where errors become text for people: diagnostics about a model file
//! (rendered by `mlpc_syntax::render` with file:line:column and carets) and plain errors
//! (a file that cannot be read, a backend that is missing) with a hint.

use std::io::IsTerminal;
use std::path::Path;

use mlpc_syntax::{Colour, Diagnostic};

/// How diagnostics and errors are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum MessageFormat {
    /// Rendered for people on standard error: file:line:column, the source line, carets, hint.
    #[default]
    Human,
    /// One JSON object per diagnostic on standard output (severity, message, file, line,
    /// column, end line and column, labels, hint), for editors and scripts, as cargo's.
    Json,
}

static MESSAGE_FORMAT: std::sync::OnceLock<MessageFormat> = std::sync::OnceLock::new();

/// Chooses the message format for the whole run (once, before any message).
pub fn set_message_format(format: MessageFormat) {
    let _ = MESSAGE_FORMAT.set(format);
}

fn message_format() -> MessageFormat {
    MESSAGE_FORMAT.get().copied().unwrap_or_default()
}

/// How a command ended; its value is the process's exit status (README, "Exit statuses").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success.
    Success = 0,
    /// A failure at run time: training diverged, a checkpoint could not be written, the
    /// device failed.
    Failure = 1,
    /// Invalid input or usage: a model with errors, data that cannot be read, a bad flag.
    Invalid = 2,
    /// Stopped by Ctrl-C (SIGINT), the last whole epoch's checkpoint kept.
    Interrupted = 130,
    /// Stopped by SIGTERM, the last whole epoch's checkpoint kept.
    Terminated = 143,
}

impl Outcome {
    /// The more severe of two outcomes (invalid over failure over success).
    pub fn max_by(self, other: Outcome) -> Outcome {
        let rank = |outcome: Outcome| match outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Invalid => 2,
            Outcome::Interrupted | Outcome::Terminated => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// Colours when standard error is a terminal and `NO_COLOR` is unset.
fn colour() -> Colour {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Colour::Terminal
    } else {
        Colour::Plain
    }
}

/// The most diagnostics about one file shown to people at once.
const MOST_DIAGNOSTICS_SHOWN: usize = 50;

/// Prints diagnostics about a source file: to standard error for people (the first
/// [`MOST_DIAGNOSTICS_SHOWN`]), or as JSON lines on standard output (every one).
pub fn diagnostics(path: &Path, source: &str, diagnostics: &[Diagnostic]) {
    let file = path.display().to_string();
    match message_format() {
        MessageFormat::Human => {
            // The first ones, where a file has very many (as JSON, every one).
            let shown = &diagnostics[..diagnostics.len().min(MOST_DIAGNOSTICS_SHOWN)];
            eprint!("{}", mlpc_syntax::render(&file, source, shown, colour()));
            if diagnostics.len() > shown.len() {
                eprintln!(
                    "note: {} more errors in {file} not shown (the first {} are above)\n",
                    diagnostics.len() - shown.len(),
                    shown.len()
                );
            }
        }
        MessageFormat::Json => print!("{}", mlpc_syntax::render_json(&file, source, diagnostics)),
    }
}

/// Prints a note (something a user should know that stops nothing), with an optional hint:
/// `note: ...` on standard error, or a JSON line of severity `note` on standard output.
pub fn note(message: &str, hint: Option<&str>) {
    match message_format() {
        MessageFormat::Human => {
            eprintln!("note: {message}");
            if let Some(hint) = hint {
                eprintln!("  = hint: {hint}");
            }
        }
        MessageFormat::Json => print!(
            "{}",
            mlpc_syntax::json::render_json_plain("note", message, hint)
        ),
    }
}

/// Prints an error that concerns no place in a file, with an optional hint.
pub fn error(message: &str, hint: Option<&str>) {
    match message_format() {
        MessageFormat::Human => eprint!(
            "{}",
            mlpc_syntax::diagnostic::render_plain_error(message, hint)
        ),
        MessageFormat::Json => print!(
            "{}",
            mlpc_syntax::json::render_json_plain_error(message, hint)
        ),
    }
}

/// Reads a model file, or reports why it cannot be read.
pub fn read_model(path: &Path) -> Result<String, Outcome> {
    match std::fs::read(path) {
        // A byte-order mark (which some editors write first) is not part of the text.
        Ok(bytes) => String::from_utf8(bytes)
            .map(|text| mlpc_syntax::model_text(&text))
            .map_err(|bad| {
                let at = bad.utf8_error().valid_up_to();
                error(
                    &format!(
                        "`{}` is not UTF-8 text (bad byte at offset {at})",
                        path.display()
                    ),
                    Some("save the file as UTF-8"),
                );
                Outcome::Invalid
            }),
        Err(io) => {
            error(
                &format!("cannot read `{}`: {io}", path.display()),
                Some("check the path; model files end in .mlp"),
            );
            Err(Outcome::Invalid)
        }
    }
}

/// Reads and checks a model file, reporting every diagnostic on failure.
pub fn compile(path: &Path) -> Result<(String, mlpc_ir::Model), Outcome> {
    let source = read_model(path)?;
    match mlpc_ir::compile(&source, path) {
        Ok(model) => Ok((source, model)),
        Err(found) => {
            diagnostics(path, &source, &found);
            Err(Outcome::Invalid)
        }
    }
}

/// A panic the hook saw: its message, where it was raised, and whether on the main thread.
#[derive(Clone)]
struct Panic {
    message: String,
    place: String,
    on_main_thread: bool,
}

/// Every panic of the process, in order (when they are reported at the end).
static PANICS: std::sync::Mutex<Vec<Panic>> = std::sync::Mutex::new(Vec::new());

/// Turns panics (a backend failing on the device, say) into one clear error line instead of
/// a backtrace. With `each` (the language server, which catches a panic per request and goes
/// on) every panic is reported as it happens; otherwise they are kept, and `main`, when a
/// panic ends its command, reports one with [`report_panic`] and exits with status 1: one
/// failure on a device often panics several threads (kernel tuning, the training loop) in
/// turn, and a panic a backend caught and recovered from ends nothing.
pub fn install_panic_hook(each: bool) {
    std::panic::set_hook(Box::new(move |information| {
        let message = information
            .payload()
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| information.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".to_string());
        let place = information
            .location()
            .map(|location| format!(" (at {}:{})", location.file(), location.line()))
            .unwrap_or_default();
        let panic = Panic {
            message,
            place,
            on_main_thread: std::thread::current().name() == Some("main"),
        };
        match each {
            true => print_panic(&panic),
            false => {
                if let Ok(mut panics) = PANICS.lock() {
                    panics.push(panic);
                }
            }
        }
    }));
}

/// Reports the panic that ended a command, as one error: a device's failure if any panic was
/// one (the others follow from it), else the main thread's last panic, else the first.
pub fn report_panic() {
    let panics = PANICS
        .lock()
        .map(|panics| panics.clone())
        .unwrap_or_default();
    let chosen = panics
        .iter()
        .find(|panic| device_failure(&panic.message).is_some())
        .or_else(|| panics.iter().rev().find(|panic| panic.on_main_thread))
        .or_else(|| panics.first());
    match chosen {
        Some(panic) => print_panic(panic),
        None => print_panic(&Panic {
            message: "unknown failure".into(),
            place: String::new(),
            on_main_thread: true,
        }),
    }
}

/// One panic as an error line with its hint.
fn print_panic(panic: &Panic) {
    let first_line = panic.message.lines().next().unwrap_or("");
    match device_failure(&panic.message) {
        Some((problem, hint)) => error(&format!("{problem}: {first_line}"), Some(hint)),
        None => error(
            &format!("internal error: {first_line}{}", panic.place),
            Some(
                "this is a bug in mlpc or its backend: please report it with the model file and the command; another backend (`--backend flex`, `ndarray` or `wgpu`) may still work",
            ),
        ),
    }
}

/// A backend's failure that is the device's, not a bug: running out of memory, or losing the
/// device (a driver reset, a GPU taken away). Training stops with a clear error; the run
/// folder keeps its last whole epoch's checkpoint.
fn device_failure(message: &str) -> Option<(&'static str, &'static str)> {
    let lower = message.to_lowercase();
    if [
        "out of memory",
        "out-of-memory",
        "out of device memory",
        "outofmemory",
        "out_of_memory",
        "allocation failed",
    ]
    .iter()
    .any(|sign| lower.contains(sign))
    {
        return Some((
            "the device ran out of memory",
            "lower `batch_size` or the network's width, or use another device; the run folder keeps its last whole epoch's checkpoint (`--resume`)",
        ));
    }
    // cubecl marks a lost device (wgpu's device-lost callback) as poisoned, and every later
    // call on it fails with "The device is poisoned".
    if [
        "device lost",
        "devicelost",
        "device_lost",
        "device is poisoned",
        "was poisoned",
    ]
    .iter()
    .any(|sign| lower.contains(sign))
    {
        return Some((
            "the GPU was lost (a driver reset or a device removed)",
            "run again with `--resume` to go on from the last whole epoch's checkpoint",
        ));
    }
    None
}

/// Reports a failure (of data, training or a backend) with its hint: exit status 1.
pub fn failure(problem: &dyn std::fmt::Display, hint: Option<String>) -> Outcome {
    error(&problem.to_string(), hint.as_deref());
    Outcome::Failure
}

/// Reports invalid input (data that cannot be read, a folder that holds no run) with its
/// hint: exit status 2.
pub fn invalid(problem: &dyn std::fmt::Display, hint: Option<String>) -> Outcome {
    error(&problem.to_string(), hint.as_deref());
    Outcome::Invalid
}

/// Reports a data error (invalid input: status 2); as JSON, with its file and record's line.
pub fn invalid_data(problem: &mlpc_data::DataError, hint: Option<String>) -> Outcome {
    match (message_format(), problem.location()) {
        (MessageFormat::Json, Some((path, line))) => print!(
            "{}",
            mlpc_syntax::json::render_json_in_file(
                "error",
                &problem.to_string(),
                Some(&path.display().to_string()),
                line.map(|line| line as usize),
                hint.as_deref(),
            )
        ),
        (MessageFormat::Json, None) | (MessageFormat::Human, _) => {
            error(&problem.to_string(), hint.as_deref())
        }
    }
    Outcome::Invalid
}

/// Reads the run folder a command (`eval`, `predict`, `export`, `plot`) works on, or reports
/// that it holds no run, with where runs are written (invalid usage: status 2).
pub fn read_run(
    folder: &std::path::Path,
    command: &str,
) -> Result<mlpc_train::checkpoint::RunState, Outcome> {
    let hint = format!(
        "`mlpc {command}` reads the folder that `mlpc run` wrote (`--out DIR`, default runs/NAME)"
    );
    if !folder.is_dir() {
        error(
            &format!("there is no run folder `{}`", folder.display()),
            Some(&hint),
        );
        return Err(Outcome::Invalid);
    }
    if !folder.join("run.json").is_file() {
        error(
            &format!(
                "`{}` holds no trained run: a run writes its run.json when its first epoch ends",
                folder.display()
            ),
            Some(&hint),
        );
        return Err(Outcome::Invalid);
    }
    mlpc_train::checkpoint::read_state(folder).map_err(|error| invalid(&error, Some(hint)))
}

/// Loads a checked model's data (its validation rows, if any, left out of the
/// standardisation's statistics), or reports why it cannot be loaded (invalid input: status 2).
pub fn load_data(model: &mlpc_ir::Model) -> Result<mlpc_data::Splits, Outcome> {
    mlpc_data::load_holding_out(&model.data, model.training.hold_out())
        .map_err(|problem| invalid_data(&problem, problem.hint()))
}

/// A split's metrics as `mlpc run` and `mlpc eval` print them (accuracy, or each of RMSE,
/// MAE and R² asked for), each name after `split` (`""` for the test split's,
/// `"validation "`).
pub fn metrics_text(
    split: &str,
    accuracy: Option<f64>,
    rmse: Option<f64>,
    mae: Option<f64>,
    r2: Option<f64>,
) -> String {
    let mut text = String::new();
    if let Some(accuracy) = accuracy {
        text.push_str(&format!("  {split}accuracy {:.2}%", accuracy * 100.0));
    }
    // Each regression metric the model asks for, whichever they are.
    for (name, value) in [("rmse", rmse), ("mae", mae), ("r2", r2)] {
        if let Some(value) = value {
            text.push_str(&format!("  {split}{name} {value:.3}"));
        }
    }
    text
}

/// A learning rate on an epoch's line: five decimals, or three significant digits with an
/// exponent below 0.001 (where five decimals would print a rate in use as 0).
pub fn learning_rate_text(rate: f64) -> String {
    if rate == 0.0 || rate.abs() >= 1e-3 {
        format!("{rate:.5}")
    } else {
        format!("{rate:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each metric asked for is on the line, alone or with others; a tiny rate is not 0.
    #[test]
    fn an_epoch_line_shows_each_metric_asked_for() {
        assert_eq!(
            metrics_text("", None, None, None, Some(0.4321)),
            "  r2 0.432"
        );
        assert_eq!(
            metrics_text("", None, Some(1.0), Some(0.5), None),
            "  rmse 1.000  mae 0.500"
        );
        assert_eq!(
            metrics_text("", None, Some(1.0), Some(0.5), Some(0.25)),
            "  rmse 1.000  mae 0.500  r2 0.250"
        );
        assert_eq!(
            metrics_text("", Some(0.9), None, None, None),
            "  accuracy 90.00%"
        );
        assert_eq!(
            metrics_text("validation ", None, Some(1.0), None, None),
            "  validation rmse 1.000"
        );
        assert_eq!(learning_rate_text(0.02504), "0.02504");
        assert_eq!(learning_rate_text(0.0), "0.00000");
        assert_eq!(learning_rate_text(0.000001), "1.00e-6");
    }

    #[test]
    fn device_failures_are_told_apart_from_bugs() {
        let (problem, hint) =
            device_failure("Unable to allocate: OutOfMemory { requested: 1 }").expect("memory");
        assert_eq!(problem, "the device ran out of memory");
        assert!(hint.contains("--resume"));
        let (problem, _) = device_failure("wgpu error: Device lost").expect("lost");
        assert!(problem.starts_with("the GPU was lost"));
        // cubecl's own words for it.
        for message in [
            "An out-of-memory error happened during launch\nCaused by:\n  no page",
            "out of device memory allocating 1073741824 bytes",
        ] {
            assert!(device_failure(message).is_some(), "{message}");
        }
        for message in [
            "Error while reading data: The device is poisoned\nCaused by:\n  Unknown: VK_ERROR_DEVICE_LOST",
            "The device was poisoned during launch\nCaused by:\n  Destroyed: gone",
        ] {
            let (problem, _) = device_failure(message).expect("poisoned");
            assert!(problem.starts_with("the GPU was lost"), "{message}");
        }
        assert_eq!(device_failure("index out of bounds: the len is 3"), None);
    }
}
