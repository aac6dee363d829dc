//! Examples on the device: the whole training set is uploaded once and batches are gathered
//! there, so a step never copies examples from the host.
//!
//! One wgpu storage buffer may not exceed 128 MiB (lavapipe and wgpu's default limits), and
//! MNIST's training images as f32 are 188 MB: features are stored in chunks of at most
//! [`CHUNK_BYTES`], and a batch gathers its rows from each chunk with `select`.

use burn::tensor::{Device, Int, Tensor, TensorData};
use mlpc_data::{Dataset, Targets};

use crate::objective::BatchTargets;

/// Largest feature chunk, in bytes: half of the 128 MiB buffer limit.
pub const CHUNK_BYTES: usize = 64 * 1024 * 1024;

/// A dataset uploaded to a device.
pub struct DeviceSet {
    /// Feature chunks `[rows_in_chunk, features]`.
    chunks: Vec<Tensor<2>>,
    /// Rows per chunk (the last may have fewer).
    chunk_rows: usize,
    /// All targets.
    targets: BatchTargets,
    /// Number of examples.
    rows: usize,
    device: Device,
}

impl DeviceSet {
    /// Uploads a dataset.
    pub fn upload(dataset: &Dataset, device: &Device) -> DeviceSet {
        let width = dataset.feature_count.max(1);
        let rows = dataset.len();
        let chunk_rows = (CHUNK_BYTES / (width * 4)).max(1);
        let chunks = dataset
            .features
            .chunks(chunk_rows * width)
            .map(|chunk| {
                Tensor::<2>::from_data(
                    TensorData::new(chunk.to_vec(), [chunk.len() / width, width]),
                    device,
                )
            })
            .collect();
        let targets = match &dataset.targets {
            Targets::Classes(classes) => {
                let classes: Vec<i64> = classes.iter().map(|&class| class as i64).collect();
                BatchTargets::Classes(Tensor::<1, Int>::from_data(
                    TensorData::new(classes, [rows]),
                    device,
                ))
            }
            Targets::Values(values) => BatchTargets::Values(Tensor::<2>::from_data(
                TensorData::new(values.clone(), [rows, 1]),
                device,
            )),
        };
        DeviceSet {
            chunks,
            chunk_rows,
            targets,
            rows,
            device: device.clone(),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The examples at `indices` (in an order grouped by chunk; targets follow the same order).
    pub fn gather(&self, indices: &[usize]) -> (Tensor<2>, BatchTargets) {
        let mut ordered: Vec<usize> = Vec::with_capacity(indices.len());
        let mut parts = Vec::new();
        for (chunk_index, chunk) in self.chunks.iter().enumerate() {
            let start = chunk_index * self.chunk_rows;
            let local: Vec<i64> = indices
                .iter()
                .filter(|&&index| index / self.chunk_rows == chunk_index)
                .map(|&index| (index - start) as i64)
                .collect();
            if local.is_empty() {
                continue;
            }
            ordered.extend(local.iter().map(|&index| index as usize + start));
            let selection = Tensor::<1, Int>::from_data(
                TensorData::new(local.clone(), [local.len()]),
                &self.device,
            );
            parts.push(chunk.clone().select(0, selection));
        }
        let features = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        };
        let order: Vec<i64> = ordered.iter().map(|&index| index as i64).collect();
        let order =
            Tensor::<1, Int>::from_data(TensorData::new(order, [ordered.len()]), &self.device);
        let targets = match &self.targets {
            BatchTargets::Classes(classes) => {
                BatchTargets::Classes(classes.clone().select(0, order))
            }
            BatchTargets::Values(values) => BatchTargets::Values(values.clone().select(0, order)),
        };
        (features, targets)
    }

    /// Consecutive rows `start..start+length` (within one chunk or across two), in order.
    pub fn range(&self, start: usize, length: usize) -> (Tensor<2>, BatchTargets) {
        let mut parts = Vec::new();
        let mut position = start;
        while position < start + length {
            let chunk_index = position / self.chunk_rows;
            let local = position - chunk_index * self.chunk_rows;
            let take = (self.chunk_rows - local).min(start + length - position);
            parts.push(self.chunks[chunk_index].clone().narrow(0, local, take));
            position += take;
        }
        let features = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        };
        let targets = match &self.targets {
            BatchTargets::Classes(classes) => {
                BatchTargets::Classes(classes.clone().narrow(0, start, length))
            }
            BatchTargets::Values(values) => {
                BatchTargets::Values(values.clone().narrow(0, start, length))
            }
        };
        (features, targets)
    }
}
