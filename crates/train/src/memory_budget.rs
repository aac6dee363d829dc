//! Before training: will the run fit in the memory it may use? The need is the checker's
//! estimate for the network ([`MemoryEstimate`]: parameters, gradients, optimizer moments, one
//! batch's activations) plus the data set kept resident on the device (every split's features
//! and targets, as 32-bit values; on the CPU, where the device is the host, also the loaded
//! copy the run keeps beside it). What may be used is, in order: `MLPC_MEMORY_LIMIT` (bytes,
//! or with a `K`, `M` or `G` suffix, powers of 1024), else on the CPU what the system says is
//! available (`MemAvailable` in `/proc/meminfo`, lowered to what a cgroup limit leaves), and on
//! wgpu what the GPU's Vulkan driver says its largest device-local heap can still give
//! ([`crate::gpu_memory`]; on a software driver, also bounded by the host's figure). Where no
//! figure is known (no Vulkan) the run is not checked; running out mid-run is reported as an
//! error with a hint (the CLI's panic hook).

use mlpc_data::Splits;
use mlpc_ir::Model;
use mlpc_ir::memory::MemoryEstimate;

use crate::backend::Backend;
use crate::error::TrainError;
use crate::step::StepKind;

/// The variable that sets the memory a run may use.
pub const LIMIT_VARIABLE: &str = "MLPC_MEMORY_LIMIT";

/// What a run may use, and where that figure comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// Where the figure comes from, in words.
    pub source: String,
}

/// The bytes a run of `model` on `splits` on `backend` with `step` needs, about: on the CPU
/// the data set twice (as loaded, and the backend's copy), on a GPU once. On a backend
/// that permutes the training set once per epoch (wgpu) that copy counts too; the replayed
/// step adds its dropout pools (a mask per step of a segment, each pool at most one chunk),
/// and a copy of what a step writes (parameters and optimizer state, kept while a segment is
/// recorded); the step itself writes them in place.
pub fn needed(model: &Model, splits: &Splits, backend: Backend, step: StepKind) -> u64 {
    let network = MemoryEstimate::of(&model.network, &model.optimizer, model.training.batch_size);
    let values = |dataset: &mlpc_data::Dataset| (dataset.features.len() + dataset.len()) as u64 * 4;
    let permuted = if backend.gathers_per_step() {
        0
    } else {
        values(&splits.train)
    };
    let replayed = match step {
        StepKind::Compiled | StepKind::Autodiff => 0,
        StepKind::Replay => {
            let pools: u64 = model
                .network
                .dropouts()
                .into_iter()
                .map(|(_, width)| {
                    let pool = splits.train.len() as u64 * width as u64 * 4;
                    pool.min(backend.chunk_bytes() as u64)
                })
                .sum();
            let state_per_parameter: u64 = match model.optimizer {
                mlpc_ir::Optimizer::Sgd { momentum, .. } if momentum > 0.0 => 1,
                mlpc_ir::Optimizer::Sgd { .. } => 0,
                mlpc_ir::Optimizer::Adam { .. } | mlpc_ir::Optimizer::AdamW { .. } => 2,
            };
            let parameters = model.network.parameters() as u64 * 4;
            let copied = parameters * (1 + state_per_parameter);
            pools.saturating_add(copied)
        }
    };
    // On the CPU the device's copy of the data set is a second one in the same memory: the
    // loaded splits stay (for the pictures drawn after training).
    let loaded = match backend {
        Backend::Ndarray | Backend::Flex => {
            values(&splits.train).saturating_add(values(&splits.test))
        }
        Backend::Wgpu => 0,
    };
    network
        .bytes()
        .saturating_add(values(&splits.train))
        .saturating_add(values(&splits.test))
        .saturating_add(loaded)
        .saturating_add(permuted)
        .saturating_add(replayed)
}

/// Refuses a run that will not fit, before it starts, with both figures: all of it against
/// the memory it may use, and on a GPU its largest tensor against the largest buffer the device
/// allocates (a limit of the graphics API's, 128 MiB to a few GiB).
pub fn check(
    model: &Model,
    splits: &Splits,
    backend: Backend,
    step: StepKind,
) -> Result<(), TrainError> {
    if let Some(available) = available(backend)? {
        let needed = needed(model, splits, backend, step);
        if needed > available.bytes {
            return Err(TrainError::TooLarge {
                needed,
                available: available.bytes,
                origin: available.source,
            });
        }
    }
    match backend {
        Backend::Ndarray | Backend::Flex => Ok(()),
        Backend::Wgpu => {
            // The device must exist before its limits are asked for (else a clear error).
            backend.plain_device()?;
            let (limit, device) = crate::gpu_memory::default_device_largest_buffer();
            let largest = largest_tensor(model, splits);
            match largest.bytes > limit {
                true => Err(TrainError::TensorTooLarge {
                    what: largest.what,
                    bytes: largest.bytes,
                    limit,
                    device,
                }),
                false => Ok(()),
            }
        }
    }
}

/// One tensor a run keeps on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    /// Bytes.
    pub bytes: u64,
    /// What it is, in words ("the weights of layer 1 (dense (tanh), 4 x 10000000)").
    pub what: String,
}

/// The largest single tensor a run of `model` on `splits` keeps: a layer's largest parameter
/// (a dense layer's weights), or a layer's outputs (or the inputs) for the most rows one pass
/// takes (a training batch, or an evaluation batch of up to 2,048 rows of the test or
/// validation set). The data set itself is kept in chunks under any device's limit, and so
/// are the replayed step's dropout pools.
pub fn largest_tensor(model: &Model, splits: &Splits) -> Tensor {
    let validation = mlpc_data::HoldOut::count_in(model.training.hold_out(), splits.train.len());
    let longest = splits.test.len().max(validation);
    let rows = model
        .training
        .batch_size
        .max(crate::evaluate::EVALUATION_BATCH.min(longest)) as u64;
    let values = |count: u64| count.saturating_mul(4);
    let mut largest = Tensor {
        bytes: values(rows.saturating_mul(model.network.inputs as u64)),
        what: format!("the inputs for {rows} examples"),
    };
    for (index, layer) in model.network.every_layer().into_iter().enumerate() {
        let name = layer.kind.display_name();
        let parameter = match &layer.kind {
            mlpc_ir::LayerKind::Dense { .. } => Some((
                layer.inputs as u64 * layer.outputs as u64,
                format!(
                    "the weights of layer {} ({name}, {} x {})",
                    index + 1,
                    layer.inputs,
                    layer.outputs
                ),
            )),
            mlpc_ir::LayerKind::Prelu { .. }
            | mlpc_ir::LayerKind::BatchNorm { .. }
            | mlpc_ir::LayerKind::LayerNorm { .. } => Some((
                layer.outputs as u64,
                format!("the parameters of layer {} ({name})", index + 1),
            )),
            mlpc_ir::LayerKind::Activation { .. }
            | mlpc_ir::LayerKind::Dropout { .. }
            | mlpc_ir::LayerKind::Residual { .. } => None,
        };
        let outputs = (
            rows.saturating_mul(layer.outputs as u64),
            format!(
                "the outputs of layer {} ({name}) for {rows} examples",
                index + 1
            ),
        );
        for (count, what) in parameter.into_iter().chain([outputs]) {
            if values(count) > largest.bytes {
                largest = Tensor {
                    bytes: values(count),
                    what,
                };
            }
        }
    }
    largest
}

/// The memory a run on `backend` may use, where it is known.
pub fn available(backend: Backend) -> Result<Option<Available>, TrainError> {
    // Set but empty is unset, as for most variables of the kind.
    if let Ok(text) = std::env::var(LIMIT_VARIABLE)
        && !text.trim().is_empty()
    {
        let bytes = parse_bytes(&text)
            .filter(|&bytes| bytes > 0)
            .ok_or_else(|| TrainError::Backend {
                message: match parse_bytes(&text) {
                    Some(_) => format!("{LIMIT_VARIABLE}=`{text}` allows no memory at all"),
                    None => format!("{LIMIT_VARIABLE}=`{text}` is not an amount of memory"),
                },
                hint: format!("write bytes, or a number with K, M or G: `{LIMIT_VARIABLE}=8G`"),
            })?;
        return Ok(Some(Available {
            bytes,
            source: LIMIT_VARIABLE.into(),
        }));
    }
    Ok(match backend {
        Backend::Ndarray | Backend::Flex => system_available(),
        Backend::Wgpu => gpu_available(),
    })
}

/// What the GPU a wgpu run lands on can still give, as Vulkan reports it; a software driver's
/// device memory is the host's, so the smaller of the two figures counts there.
fn gpu_available() -> Option<Available> {
    let memory = crate::gpu_memory::default_adapter_memory()?;
    let device = Available {
        bytes: memory.bytes,
        source: memory.source(),
    };
    match (memory.software, system_available()) {
        (true, Some(host)) if host.bytes < device.bytes => Some(host),
        _ => Some(device),
    }
}

/// `1048576`, `512K`, `64M`, `8G` (powers of 1024; a trailing `B` or `iB` is allowed).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let text = text.trim();
    let text = text
        .strip_suffix("iB")
        .or_else(|| text.strip_suffix('B'))
        .unwrap_or(text);
    let (number, shift) = match text.chars().last()? {
        'K' | 'k' => (&text[..text.len() - 1], 10),
        'M' | 'm' => (&text[..text.len() - 1], 20),
        'G' | 'g' => (&text[..text.len() - 1], 30),
        'T' | 't' => (&text[..text.len() - 1], 40),
        _ => (text, 0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * (1u64 << shift) as f64) as u64)
}

/// What the system says this process may still take: `MemAvailable`, lowered to a cgroup
/// (v2) limit's headroom where one is set.
fn system_available() -> Option<Available> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let mut available = Available {
        bytes: kib * 1024,
        source: "available memory (MemAvailable)".into(),
    };
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    if let (Some(limit), Some(used)) = (read("memory.max"), read("memory.current")) {
        let headroom = limit.saturating_sub(used);
        if headroom < available.bytes {
            available = Available {
                bytes: headroom,
                source: "the cgroup's memory limit".into(),
            };
        }
    }
    Some(available)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_of_memory_read_as_people_write_them() {
        assert_eq!(parse_bytes("1048576"), Some(1 << 20));
        assert_eq!(parse_bytes("512K"), Some(512 << 10));
        assert_eq!(parse_bytes("64M"), Some(64 << 20));
        assert_eq!(parse_bytes("8G"), Some(8 << 30));
        assert_eq!(parse_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_bytes("2 GB"), Some(2 << 30));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("-1G"), None);
        assert_eq!(parse_bytes(""), None);
    }

    #[test]
    fn this_system_reports_some_available_memory() {
        if std::path::Path::new("/proc/meminfo").exists() {
            let available = system_available().expect("MemAvailable");
            assert!(available.bytes > 1 << 20, "{available:?}");
        }
    }
}
