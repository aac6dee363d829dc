//! Data errors: the one error enum of the data stage.

use std::path::PathBuf;

use thiserror::Error;

/// Why a source could not be inspected or loaded.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An IDX file whose header or length is wrong.
    #[error("`{path}` is not a valid IDX file: {message}")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A CSV record that cannot be used.
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        line: u64,
        /// What is wrong, naming the column.
        message: String,
    },
    /// The target column named in the model is not in the header.
    #[error("`{path}` has no column named `{name}`")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The columns the header has.
        available: Vec<String>,
    },
    /// A source with too few examples to split or train on.
    #[error("`{path}`: {message}")]
    TooSmall {
        /// The file.
        path: PathBuf,
        /// What is missing.
        message: String,
    },
}

impl DataError {
    /// A suggestion for the user, where one fits.
    pub fn hint(&self) -> Option<String> {
        match self {
            DataError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => Some(
                "check the path; paths written in a .mlp file are relative to that file's folder"
                    .to_string(),
            ),
            DataError::MissingColumn { available, .. } => {
                Some(format!("the columns are: {}", available.join(", ")))
            }
            _ => None,
        }
    }
}
