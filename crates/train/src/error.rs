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
    /// The loss became NaN or infinite.
    #[error("the training loss became {value} in epoch {epoch}")]
    Diverged {
        /// The epoch.
        epoch: usize,
        /// The value.
        value: f64,
    },
}

impl TrainError {
    /// A suggestion for the user, where one fits.
    pub fn hint(&self) -> Option<String> {
        match self {
            TrainError::Data(error) => error.hint(),
            TrainError::Backend { hint, .. } => Some(hint.clone()),
            TrainError::Diverged { .. } => {
                Some("lower the learning rate (`--lr`), or use `adam`".into())
            }
            TrainError::Checkpoint { .. } => None,
        }
    }
}
