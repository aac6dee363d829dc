//! Examples on the device: the whole training set is uploaded once and batches are gathered
//! there, so a step never copies examples from the host.
//!
//! One wgpu storage buffer may not exceed 128 MiB (lavapipe and wgpu's default limits), and
//! MNIST's training images as f32 are 188 MB: features are stored in chunks of at most
//! [`Backend::chunk_bytes`](crate::Backend::chunk_bytes) (half the limit on wgpu, no limit on
//! the CPU). Batches come one of two ways, as [`Backend::gathers_per_step`](crate::Backend::gathers_per_step)
//! says: on a GPU the training set is permuted on the device once per epoch
//! ([`DeviceSet::permuted`], a few gathers per chunk) into chunks of whole batches, so that
//! every step's batch is a slice and nothing is sent from the host per step; on the CPU each
//! batch is gathered ([`DeviceSet::gather`]), which is cheaper there.

use burn::tensor::{Device, Int, Tensor, TensorData};
use mlpc_data::{Dataset, Targets};

use crate::objective::BatchTargets;

/// Rows per chunk: as many as fit in `chunk_bytes`, rounded down to whole batches.
fn aligned_chunk_rows(chunk_bytes: usize, width: usize, batch_size: usize) -> usize {
    let fitting = chunk_bytes / (width.max(1) * 4);
    let batch_size = batch_size.max(1);
    (fitting / batch_size).max(1) * batch_size
}

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
    /// Largest chunk, in bytes.
    chunk_bytes: usize,
}

impl DeviceSet {
    /// Uploads a dataset in chunks of at most `chunk_bytes`.
    pub fn upload(dataset: &Dataset, device: &Device, chunk_bytes: usize) -> DeviceSet {
        let every: Vec<usize> = (0..dataset.len()).collect();
        DeviceSet::upload_rows(dataset, &every, device, chunk_bytes)
    }

    /// Uploads the examples of `dataset` at `rows`, in that order, in chunks of at most
    /// `chunk_bytes`: each chunk is gathered straight from the dataset, so no copy of the
    /// whole selection is made on the host first (on the CPU, host and device memory are one).
    pub fn upload_rows(
        dataset: &Dataset,
        rows: &[usize],
        device: &Device,
        chunk_bytes: usize,
    ) -> DeviceSet {
        let width = dataset.feature_count;
        let chunk_rows = aligned_chunk_rows(chunk_bytes, width, 1);
        let chunks = match width {
            // No features: nothing to hold (as no chunk of an empty slice).
            0 => Vec::new(),
            _ => rows
                .chunks(chunk_rows)
                .map(|chunk| {
                    let mut values = Vec::with_capacity(chunk.len() * width);
                    for &row in chunk {
                        values.extend_from_slice(&dataset.features[row * width..(row + 1) * width]);
                    }
                    Tensor::<2>::from_data(TensorData::new(values, [chunk.len(), width]), device)
                })
                .collect(),
        };
        let count = rows.len();
        let targets = match &dataset.targets {
            Targets::Classes(classes) => {
                let classes: Vec<i64> = rows.iter().map(|&row| classes[row] as i64).collect();
                BatchTargets::Classes(Tensor::<1, Int>::from_data(
                    TensorData::new(classes, [count]),
                    device,
                ))
            }
            Targets::Values(values) => {
                let values: Vec<f32> = rows.iter().map(|&row| values[row]).collect();
                BatchTargets::Values(Tensor::<2>::from_data(
                    TensorData::new(values, [count, 1]),
                    device,
                ))
            }
        };
        DeviceSet {
            chunks,
            chunk_rows,
            targets,
            rows: count,
            device: device.clone(),
            chunk_bytes,
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

    /// Row numbers as an index tensor on the device.
    fn index_tensor(&self, rows: &[usize]) -> Tensor<1, Int> {
        let values: Vec<i64> = rows.iter().map(|&row| row as i64).collect();
        Tensor::<1, Int>::from_data(TensorData::new(values, [rows.len()]), &self.device)
    }

    /// Features of the rows at `indices`, in exactly that order; `uploaded` is `indices`
    /// already on the device (all a single-chunk set needs).
    fn features_of(&self, indices: &[usize], uploaded: Tensor<1, Int>) -> Tensor<2> {
        if let [chunk] = self.chunks.as_slice() {
            // On flex, copied by the cores together.
            return crate::compiled::rows::gather(chunk, indices)
                .unwrap_or_else(|| chunk.clone().select(0, uploaded));
        }
        // Gather from each chunk the rows it holds: the result is grouped by chunk...
        let mut grouped: Vec<usize> = Vec::with_capacity(indices.len());
        let mut parts = Vec::new();
        for (chunk_index, chunk) in self.chunks.iter().enumerate() {
            let start = chunk_index * self.chunk_rows;
            let local: Vec<usize> = indices
                .iter()
                .filter(|&&index| index / self.chunk_rows == chunk_index)
                .map(|&index| index - start)
                .collect();
            if local.is_empty() {
                continue;
            }
            grouped.extend(local.iter().map(|&index| index + start));
            parts.push(chunk.clone().select(0, self.index_tensor(&local)));
        }
        // ...so put it back in the order asked for.
        let mut position_of = std::collections::HashMap::with_capacity(grouped.len());
        for (position, row) in grouped.iter().enumerate() {
            position_of.insert(*row, position);
        }
        let back: Vec<usize> = indices.iter().map(|row| position_of[row]).collect();
        Tensor::cat(parts, 0).select(0, self.index_tensor(&back))
    }

    /// The examples at `indices`, in that order (one batch gathered from the whole set).
    pub fn gather(&self, indices: &[usize]) -> (Tensor<2>, BatchTargets) {
        let uploaded = self.index_tensor(indices);
        let targets = self.targets.select(uploaded.clone());
        (self.features_of(indices, uploaded), targets)
    }

    /// A copy of the set with its rows in `order`, chunked so that batches of `batch_size`
    /// taken in order never straddle two chunks: an epoch's batches are then plain slices,
    /// with nothing sent from the host per step.
    pub fn permuted(&self, order: &[usize], batch_size: usize) -> DeviceSet {
        let width = self.chunks.first().map_or(1, |chunk| chunk.dims()[1]);
        let chunk_rows = aligned_chunk_rows(self.chunk_bytes, width, batch_size);
        // One upload of the whole order serves the targets and, sliced, each chunk.
        let uploaded = self.index_tensor(order);
        let chunks = order
            .chunks(chunk_rows)
            .enumerate()
            .map(|(index, rows)| {
                self.features_of(
                    rows,
                    uploaded.clone().narrow(0, index * chunk_rows, rows.len()),
                )
            })
            .collect();
        let targets = self.targets.select(uploaded);
        DeviceSet {
            chunks,
            chunk_rows,
            targets,
            rows: order.len(),
            device: self.device.clone(),
            chunk_bytes: self.chunk_bytes,
        }
    }

    /// Rows per chunk (every chunk but the last holds exactly this many).
    pub fn chunk_rows(&self) -> usize {
        self.chunk_rows
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Rows `start..start + length` of chunk `index`, as a view that stays put (a replayed
    /// step gathers its batches from it).
    pub fn chunk_rows_at(
        &self,
        index: usize,
        start: usize,
        length: usize,
    ) -> (Tensor<2>, BatchTargets) {
        let features = self.chunks[index].clone().narrow(0, start, length);
        let targets = self.targets.narrow(index * self.chunk_rows + start, length);
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
        let targets = self.targets.narrow(start, length);
        (features, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uploading rows straight from a dataset holds what uploading their copy holds, across
    /// chunks, for class and value targets.
    #[test]
    fn rows_uploaded_straight_equal_their_copy_uploaded() {
        let device = Device::flex();
        let features: Vec<f32> = (0..7 * 3).map(|value| value as f32).collect();
        let rows = [6, 0, 3, 3, 5];
        let datasets = [
            Targets::Classes(vec![0, 1, 2, 0, 1, 2, 0]),
            Targets::Values((0..7).map(|value| value as f32 / 2.0).collect()),
        ]
        .map(|targets| Dataset {
            features: features.clone(),
            feature_count: 3,
            targets,
        });
        for dataset in &datasets {
            // Two rows of three f32 values a chunk: the five rows span three chunks.
            let chunk_bytes = 2 * 3 * 4;
            let straight = DeviceSet::upload_rows(dataset, &rows, &device, chunk_bytes);
            let copied = DeviceSet::upload(&dataset.select(&rows), &device, chunk_bytes);
            assert_eq!(straight.chunks.len(), 3);
            assert_eq!(straight.len(), rows.len());
            let (straight_features, straight_targets) = straight.range(0, rows.len());
            let (copied_features, copied_targets) = copied.range(0, rows.len());
            assert_eq!(straight_features.to_data(), copied_features.to_data());
            let values = |targets: BatchTargets| match targets {
                BatchTargets::Classes(classes) => classes.float().to_data(),
                BatchTargets::Values(values) => values.to_data(),
            };
            assert_eq!(values(straight_targets), values(copied_targets));
        }
        // Row 6 first: the dataset's last row, values 18 to 20.
        let set = DeviceSet::upload_rows(&datasets[0], &[6, 1], &device, usize::MAX / 2);
        let first = set.range(0, 1).0.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(first, vec![18.0, 19.0, 20.0]);
    }
}
