//! Training errors: the one error enum of the training stage.

use thiserror::Error;

/// Why a model could not be trained.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The data could not be loaded.
    #[error(transparent)]
    Data(#[from] mlpc_data::DataError),
    /// The backend asked for is not in this build, or has no device here.
    #[error("{message}")]
    Backend {
        /// What is missing.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint `{path}`: {message}")]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The loss became NaN or infinite: training stopped at that step.
    #[error(
        "the training loss became {value} at epoch {epoch}, step {step} of {steps} (learning rate {})", rate_text(*rate)
    )]
    Diverged {
        /// The 1-based epoch.
        epoch: usize,
        /// The 1-based step within the epoch.
        step: usize,
        /// Steps in the epoch.
        steps: usize,
        /// The batch's loss.
        value: f64,
        /// The learning rate of that step.
        rate: f64,
        /// The checkpoint left on disk.
        kept: Kept,
    },
    /// The run would not fit in the memory it may use.
    #[error(
        "training this model needs about {} (parameters, gradients, optimizer state, one batch's activations and the data set), but {} is available ({origin})",
        mlpc_ir::memory::gibibytes(*needed),
        mlpc_ir::memory::gibibytes(*available)
    )]
    TooLarge {
        /// Bytes needed, about.
        needed: u64,
        /// Bytes available.
        available: u64,
        /// Where the available figure comes from.
        origin: String,
    },
    /// One tensor of the run is larger than the device's largest buffer.
    #[error(
        "{what} take {}, more than the {} one buffer may hold on {device}",
        mlpc_ir::memory::gibibytes(*bytes),
        mlpc_ir::memory::gibibytes(*limit)
    )]
    TensorTooLarge {
        /// The tensor, in words.
        what: String,
        /// Its bytes.
        bytes: u64,
        /// The device's largest buffer, in bytes.
        limit: u64,
        /// The device's name.
        device: String,
    },
    /// The caller asked training to stop (an interrupt): it stopped after a whole step.
    #[error("training stopped at epoch {epoch}, step {step} of {steps}")]
    Interrupted {
        /// The 1-based epoch.
        epoch: usize,
        /// Steps done in the epoch.
        step: usize,
        /// Steps in the epoch.
        steps: usize,
        /// The checkpoint left on disk.
        kept: Kept,
    },
}

/// The checkpoint a run that stopped early leaves on disk: its last whole epoch's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Kept {
    /// The run folder; `None` when the run keeps nothing on disk.
    pub folder: Option<std::path::PathBuf>,
    /// Whole epochs the checkpoint holds (0: none written yet).
    pub epochs: usize,
}

impl Kept {
    /// What stays on disk, in words: `the checkpoint of epoch 3 in runs/mnist`.
    pub fn describe(&self) -> String {
        match &self.folder {
            None => "nothing was saved (the run keeps nothing on disk)".into(),
            Some(folder) if self.epochs == 0 && folder.join("run.json").exists() => format!(
                "no epoch of this run was completed; {} still holds an earlier run's checkpoint",
                folder.display()
            ),
            Some(folder) if self.epochs == 0 => format!(
                "no epoch was completed, so {} holds no checkpoint yet",
                folder.display()
            ),
            Some(folder) => format!(
                "the checkpoint of epoch {} in {} is kept",
                self.epochs,
                folder.display()
            ),
        }
    }

    /// Whether `--resume` can go on from it.
    pub fn resumable(&self) -> bool {
        self.folder.is_some() && self.epochs > 0
    }
}

impl TrainError {
    /// A suggestion for the user, where one fits.
    pub fn hint(&self) -> Option<String> {
        match self {
            TrainError::Data(error) => error.hint(),
            TrainError::Backend { hint, .. } => Some(hint.clone()),
            TrainError::Diverged { rate, kept, .. } => Some(format!(
                "lower the learning rate (for example `--lr {}`), or use `adam`, and train afresh (a run resumed as it was would diverge again at the same step); {}",
                smaller_rate(*rate),
                kept.describe()
            )),
            TrainError::Interrupted { kept, .. } => Some(kept.describe()),
            TrainError::TooLarge { .. } => Some(format!(
                "lower `batch_size`, use fewer units or a smaller data set, or free memory; `{}` sets what a run may use",
                crate::memory_budget::LIMIT_VARIABLE
            )),
            TrainError::TensorTooLarge { .. } => Some(
                "use fewer units in that layer or a smaller `batch_size`, or train on the CPU (`--backend flex`), where no such limit holds".into(),
            ),
            TrainError::Checkpoint { .. } => None,
        }
    }
}

/// A rate ten times smaller than `rate`, written briefly (`0.05` for `0.5`).
fn smaller_rate(rate: f64) -> String {
    let smaller = rate / 10.0;
    let text = format!("{smaller:.6}");
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "0" || smaller >= 1e6 {
        format!("{smaller:e}")
    } else {
        trimmed.to_string()
    }
}

/// A rate as a person reads it: plainly (`0.05`), or with an exponent where plain digits
/// would run long (`1e-9`, `1e308`; Rust writes every digit of a large `f64`).
pub fn rate_text(rate: f64) -> String {
    if rate == 0.0 || (1e-4..1e6).contains(&rate.abs()) || !rate.is_finite() {
        format!("{rate}")
    } else {
        format!("{rate:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smaller_rate_is_written_briefly() {
        assert_eq!(smaller_rate(0.5), "0.05");
        assert_eq!(smaller_rate(3.0), "0.3");
        assert_eq!(smaller_rate(1e-8), "1e-9");
        assert_eq!(smaller_rate(1e308), "1e307");
        assert_eq!(rate_text(0.02), "0.02");
        assert_eq!(rate_text(1e308), "1e308");
        assert_eq!(rate_text(1e-6), "1e-6");
    }

    #[test]
    fn what_a_stopped_run_keeps_is_said_in_words() {
        let kept = Kept {
            folder: Some("runs/xor".into()),
            epochs: 3,
        };
        assert_eq!(
            kept.describe(),
            "the checkpoint of epoch 3 in runs/xor is kept"
        );
        assert!(kept.resumable());
        let none = Kept {
            folder: Some("runs/xor".into()),
            epochs: 0,
        };
        assert!(!none.resumable());
        assert!(none.describe().contains("no epoch was completed"));
        assert!(!Kept::default().resumable());
    }
}
