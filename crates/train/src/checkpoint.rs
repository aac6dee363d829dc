//! Run folders: the trained model and its checkpoints, written atomically after every epoch,
//! so an interrupted run loses at most the epoch in progress and `--resume` goes on from there.
//!
//! A run folder holds, for the last completed epoch N:
//! - `epoch-N.network.bpk` and `epoch-N.optimizer.bpk`: burn's burnpack records of the
//!   network's parameters and the optimizer's state (momentum, Adam moments);
//! - `run.json`: the model's IR (with class names), the data's standardisation, the epoch
//!   reports so far and the name N of the files above. It is written last, by renaming a
//!   temporary file over it, so it always names a complete pair of files; older pairs are
//!   deleted only after it is in place;
//! - `metrics.csv`: one row per epoch, the fields of `mlpc run --json`.

use std::path::{Path, PathBuf};

use burn::module::Module;
use mlpc_data::Standardization;
use mlpc_ir::Model;
use serde::{Deserialize, Serialize};

use crate::epoch_report::EpochReport;
use crate::error::TrainError;
use crate::network::Network;

/// What `run.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunState {
    /// The model as checked (with overrides applied).
    pub model: Model,
    /// Epochs completed.
    pub completed_epochs: usize,
    /// The epochs the learning-rate schedule spans: those the run was started with. A run
    /// resumed with more epochs keeps this horizon (a cosine schedule ends at its floor and
    /// stays there), so the epochs already run are not re-scheduled.
    #[serde(default)]
    pub schedule_epochs: Option<usize>,
    /// Stem of the files of the last checkpoint (`epoch-3`).
    pub checkpoint: String,
    /// How each input feature was standardised (to apply to new inputs).
    pub feature_standardization: Option<Vec<Standardization>>,
    /// How a regression target was standardised (to read predictions in its units).
    pub target_standardization: Option<Standardization>,
    /// The label of each class index.
    pub class_names: Option<Vec<String>>,
    /// The name of each feature, where the data named them (a CSV file's header): how
    /// `mlpc predict` finds a new file's columns.
    #[serde(default)]
    pub feature_names: Option<Vec<String>>,
    /// One report per completed epoch.
    pub history: Vec<EpochReport>,
}

pub(crate) fn checkpoint_error(path: &Path, message: impl ToString) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes bytes by way of a temporary file renamed into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).map_err(|error| checkpoint_error(&temporary, error))?;
    std::fs::rename(&temporary, path).map_err(|error| checkpoint_error(path, error))
}

/// Saves a checkpoint after `state.completed_epochs` epochs: the network (without autodiff)
/// and the optimizer state, written by `write_optimizer` to the path it is given.
pub fn save(
    folder: &Path,
    network: &Network,
    write_optimizer: impl FnOnce(&Path) -> Result<(), String>,
    state: &mut RunState,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(folder).map_err(|error| checkpoint_error(folder, error))?;
    let stem = format!("epoch-{}", state.completed_epochs);
    let network_path = folder.join(format!("{stem}.network.bpk"));
    let optimizer_path = folder.join(format!("{stem}.optimizer.bpk"));
    // burn writes the records itself: write them under temporary names, then rename.
    let network_temporary = folder.join(format!("{stem}.network.partial.bpk"));
    let optimizer_temporary = folder.join(format!("{stem}.optimizer.partial.bpk"));
    network
        .clone()
        .save_file(&network_temporary)
        .map_err(|error| checkpoint_error(&network_temporary, error))?;
    write_optimizer(&optimizer_temporary)
        .map_err(|error| checkpoint_error(&optimizer_temporary, error))?;
    std::fs::rename(&network_temporary, &network_path)
        .map_err(|error| checkpoint_error(&network_path, error))?;
    std::fs::rename(&optimizer_temporary, &optimizer_path)
        .map_err(|error| checkpoint_error(&optimizer_path, error))?;
    state.checkpoint = stem.clone();
    let json = serde_json::to_vec_pretty(&*state).expect("the run state serialises");
    write_atomically(&folder.join("run.json"), &json)?;
    let csv = crate::epoch_report::metrics_csv(&state.history);
    write_atomically(&folder.join("metrics.csv"), csv.as_bytes())?;
    // Only now are older checkpoints unneeded.
    for entry in std::fs::read_dir(folder)
        .map_err(|error| checkpoint_error(folder, error))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("epoch-") && !name.starts_with(&format!("{stem}.")) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Reads `run.json` of a run folder.
pub fn read_state(folder: &Path) -> Result<RunState, TrainError> {
    let path = folder.join("run.json");
    let bytes = std::fs::read(&path).map_err(|error| checkpoint_error(&path, error))?;
    serde_json::from_slice(&bytes).map_err(|error| checkpoint_error(&path, error))
}

/// A model's network on `device` with the parameters (and parameter ids) saved in `file`.
pub fn load_network(
    model: &Model,
    device: &burn::tensor::Device,
    file: &Path,
) -> Result<Network, TrainError> {
    // The structure comes from the IR; every value is then read from the file.
    let weights = crate::network::initial_weights(&model.network, model.training.seed);
    crate::network::build(&model.network, &weights, device)
        .try_load_file(file)
        .map_err(|error| checkpoint_error(file, error))
}

/// The network and optimizer files of a run folder's last checkpoint.
pub fn files(folder: &Path, state: &RunState) -> (PathBuf, PathBuf) {
    (
        folder.join(format!("{}.network.bpk", state.checkpoint)),
        folder.join(format!("{}.optimizer.bpk", state.checkpoint)),
    )
}

/// Evaluates a run folder's saved network on `dataset` (prepared with the run's label mapping
/// and standardisation), on a backend, without autodiff.
pub fn evaluate_saved(
    folder: &Path,
    state: &RunState,
    dataset: &mlpc_data::Dataset,
    backend: crate::Backend,
) -> Result<crate::evaluate::Evaluation, TrainError> {
    let device = backend.plain_device()?;
    let (network_file, _) = files(folder, state);
    let network = load_network(&state.model, &device, &network_file)?;
    let set = crate::device_data::DeviceSet::upload(dataset, &device, backend.chunk_bytes());
    let objective = crate::objective::Objective::new(state.model.loss, &device);
    Ok(crate::evaluate::evaluate(
        &network,
        &set,
        &objective,
        state.target_standardization,
    ))
}
