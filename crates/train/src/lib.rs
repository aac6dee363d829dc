//! # mlpc-train: burn lowering and training
//!
//! The third stage of the pipeline (syntax → IR and checks → **burn lowering and training** →
//! CLI). It reads only the IR ([`mlpc_ir::Model`]) and the host data ([`mlpc_data::Splits`]).
//!
//! - [`network`]: the compiler. Each IR layer becomes one arm of [`network::LayerModule`] (an
//!   enum module, matched exhaustively); weights are drawn on the host from the seed and
//!   uploaded, so all backends start from identical parameters.
//! - [`objective`]: for the autodiff step, IR losses and optimizers mapped onto burn's (`CrossEntropyLoss`,
//!   `BinaryCrossEntropyLoss` on logits, `MseLoss`, L1 `LpLoss`, `HuberLoss`; `Sgd` with
//!   momentum/Nesterov/weight decay, `Adam`, `AdamW`). The learning-rate schedule is the IR's
//!   own pure function of the fractional epoch, evaluated at every step.
//! - [`device_data`]: the training set lives on the device, in chunks under wgpu's buffer
//!   limit; on the CPU each batch is gathered there, on wgpu the set is permuted once per
//!   epoch and batches are slices (no per-step host traffic).
//! - [`compiled`]: the compiled training step, the default: the IR lowered a second time into
//!   forward, backward (derived from each layer's rule) and in-place update, as tensor ops on
//!   the plain device; tested against burn's autodiff to 1e-5 after 20 steps.
//! - [`compiled::replay`]: the compiled step recorded once per segment of batches and replayed
//!   (the default on wgpu: a GPU's launches resolved once); [`replayed_epoch`] runs its epochs.
//! - [`step`]: the choice of step (`compiled`, `replay` or `autodiff`, burn's, the reference)
//!   behind one interface; all share initial weights, batches and checkpoints.
//! - [`dropout_mask`]: dropout's masks, drawn quickly on the CPU from the device's seeded
//!   generator, the same for both steps.
//! - [`trainer`]: the loop; [`evaluate`]: metrics without autodiff, read back once per epoch.
//! - [`checkpoint`]: run folders; a checkpoint after every epoch, written atomically, and
//!   `--resume` from the last one (shuffles and dropout are seeded per epoch, so a resumed
//!   run repeats an uninterrupted one exactly).
//! - [`backend`]: `flex` (default), `ndarray`, `wgpu`; adapter probing so that a machine
//!   without a GPU driver gets one clear line, not a panic.
//! - [`memory_budget`]: a run that will not fit is refused before training, with the figures;
//!   [`gpu_memory`] reads a GPU's free memory from its Vulkan driver, and the largest buffer
//!   its device allocates.
//! - [`gradcheck`]: every trainable tensor's gradient, from both steps, against central finite
//!   differences on a few batches of the model's data (`mlpc gradcheck`).
//! - [`bench`](mod@bench): one model trained on several backends in one process, speeds as ratios.
//!
//! Errors are [`TrainError`], one enum for the stage.

pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod compiled;
pub mod device_data;
pub mod dropout_mask;
pub mod epoch_report;
pub mod error;
pub mod evaluate;
pub mod export;
pub mod fault;
pub mod gpu_memory;
pub mod gradcheck;
pub mod memory_budget;
pub mod names;
pub mod network;
pub mod objective;
pub mod predict;
pub mod replayed_epoch;
pub mod step;
pub mod trainer;

pub use backend::Backend;
pub use epoch_report::EpochReport;
pub use error::{Kept, TrainError};
pub use step::StepKind;
pub use trainer::{Observer, RunFolder, StepProgress, Trained, train, train_in};
