//! What `mlpc run` shows while it trains: on a terminal, a live bar per epoch (batches done,
//! running loss, samples/s, time left) that gives way to the epoch's summary line; on a pipe,
//! a file or with `--json`, only the summary lines, with no control characters.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mlpc_train::{EpochReport, Observer, StepProgress};

/// Steps between two readings of the running loss (each reading waits for the device).
const LOSS_EVERY: usize = 25;

/// Prints each epoch's line (or JSON object) and, on a terminal, a bar during the epoch.
pub struct EpochPrinter {
    json: bool,
    live: bool,
    bar: Option<ProgressBar>,
    running_loss: Option<f64>,
    print_line: fn(&EpochReport, bool),
}

impl EpochPrinter {
    /// A printer: a live bar only when standard error is a terminal and output is not JSON.
    pub fn new(json: bool, print_line: fn(&EpochReport, bool)) -> Self {
        EpochPrinter {
            json,
            live: !json && std::io::stderr().is_terminal(),
            bar: None,
            running_loss: None,
            print_line,
        }
    }
}

impl EpochPrinter {
    /// Takes an unfinished bar off the terminal (training stopped within an epoch).
    pub fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for EpochPrinter {
    fn epoch(&mut self, report: &EpochReport) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.running_loss = None;
        (self.print_line)(report, self.json);
    }

    fn step_interval(&self) -> Option<usize> {
        self.live.then_some(LOSS_EVERY)
    }

    fn note(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| crate::report::note(text, None)),
            None => crate::report::note(text, None),
        }
    }

    fn step(&mut self, progress: &StepProgress) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(progress.steps as u64),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "epoch {prefix} [{bar:16}] {pos}/{len} batches  {msg}  {eta} left",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", progress.epoch, progress.epochs));
            bar
        });
        if progress.running_loss.is_some() {
            self.running_loss = progress.running_loss;
        }
        let loss = self
            .running_loss
            .map_or(String::from("loss …"), |loss| format!("loss {loss:.4}"));
        let speed = progress.examples as f64 / progress.seconds.max(1e-9);
        bar.set_message(format!("{loss}  {speed:.0}/s"));
        bar.set_position(progress.step as u64);
    }
}
