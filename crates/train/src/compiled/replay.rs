//! The compiled step recorded once and replayed: on a GPU a small network's step is a few
//! dozen tiny kernels whose launches, not their arithmetic, set the speed; a recording
//! (`burn::tensor::capture`) resolves every launch once and replays them together.
//!
//! # Design
//! A replay dispatches exactly the kernels recorded, against exactly the buffers they touched,
//! so everything a step reads or writes must live in a buffer that stays put, and nothing that
//! changes from step to step may be baked into the recording:
//! - The batch is read on the device from the epoch's permuted training rows (one chunk of
//!   whole batches, [`crate::device_data::DeviceSet::permuted`]), laid out one step per line
//!   (`[steps, batch · features]`, a reshape), at the line `counter` selects: a one-element
//!   integer buffer the step itself advances. Targets and dropout pools are laid out the same
//!   way, and every table's line is fetched by one kernel of ours
//!   ([`super::kernels::fetch`]).
//! - The learning rate (negated) and Adam's bias corrections are read from a device table of
//!   one row per step ([`super::scalar`]), fetched at the same counter.
//! - Dropout masks come from a pool drawn ahead for the whole segment (a recorded random
//!   kernel would repeat its seed on every replay), one fresh mask per step.
//! - Parameter values and optimizer state are updated in their own buffers, all of them by one
//!   kernel of ours ([`Updates::InPlace`], [`super::kernels::update`]); batch norm's running
//!   statistics are moved in theirs by its forward kernel
//!   ([`super::kernels::batch_norm_forward`]), and the loss vector and the counter are added
//!   into in place by the loss kernel, so everything a step writes for the next one is written
//!   where the next one reads it. burn-fusion's fused kernels write their results where they
//!   choose, in place or in a new buffer; a replay dispatches them against the buffers of the
//!   recording, so a result carried to the next step that landed in a new buffer would be lost
//!   to the next replay (before the batch norm kernel, the running statistics were copied back
//!   into the segment's buffers at every step's end for that reason).
//! - Each step adds its loss into its own slot of a per-segment loss vector, read once at the
//!   segment's end (the epoch's loss, and the exact step of a divergence), and advances the
//!   counter ([`Tally`]): the loss kernel does both as it sums the loss
//!   ([`super::kernels::tallied_loss`]). Nothing after the loss reads the counter: the step's
//!   lines were fetched first.
//!
//! A segment is the run of full batches in one chunk of the permuted set. `capture` runs the
//! step three times (warm-ups, real steps that advance the counter) and records a fourth
//! without running it on a recording backend; every replay then runs one step. The counter is
//! read back at the segment's end: a replay whose counter did not advance (lost steps) stops
//! the run with an error. That check sees the counter only; that the other written tensors
//! land is what the parity tests (`tests/replay.rs`) prove.
//! Where nothing was recorded ([`Graph::is_hardware`] is false: the backend cannot record,
//! or the recording failed, after which the buffers its kernels would have written cannot be
//! read), the step goes back to a copy of its state taken before the warm-ups and the segment
//! is recorded once more (a recording can fail now and then, when its run allocates a buffer
//! the warm-ups did not), then runs step by step.
//!
//! [`Graph::is_hardware`]: burn::tensor::Graph::is_hardware

use burn::tensor::{Distribution, Int, Tensor};

use super::CompiledStep;
use super::layer::Masks;
use super::loss::Tally;
use super::scalar::{StepRow, Table};
use super::update::Updates;
use crate::objective::BatchTargets;

/// Runs of the step `burn::tensor::capture` makes before it records one.
const WARM_UPS: usize = 3;

/// Recordings tried for a segment before its steps run unrecorded. A recording fails when the
/// recorded run allocates a buffer the warm-ups did not (a kernel tuned or a fused plan
/// chosen differently between runs): measured on lavapipe, now and then for a momentum step;
/// a second recording, after as many warm-ups again, then succeeds.
const RECORDING_ATTEMPTS: usize = 2;

/// Segments shorter than this are not recorded: their steps run as they are.
pub const SHORTEST_RECORDED: usize = WARM_UPS + 2;

/// What the recorded step reads: one chunk of batches and the per-step numbers. Segments
/// run on devices that record and run the step's own kernels (wgpu, [`super::kernels`]).
pub struct Segment {
    /// Permuted training rows, one step's batch per line: `[steps, batch · features]`.
    features: Tensor<2>,
    /// Features per example.
    width: usize,
    /// Their targets, one step's per line.
    targets: StepTargets,
    /// Examples per step.
    batch: usize,
    /// Steps in the segment.
    steps: usize,
    /// The step counter `[1]`, advanced by every step.
    counter: Tensor<1, Int>,
    /// One row of factors per step.
    table: Table,
    /// Each step's summed loss `[steps]`.
    losses: Tensor<1>,
    /// Dropout masks drawn ahead, one step's per line `[steps, batch · width]`, one pool per
    /// dropout layer, with the layer's width (but the network's first layer's, applied to
    /// `features`).
    pools: Vec<(Tensor<2>, usize)>,
    /// Whether `features` are multiplied by the masks of a dropout that is the network's
    /// first layer.
    input_applied: bool,
}

/// The dropout layers a segment draws masks for.
pub struct Dropouts {
    /// The rate and input width of each dropout layer with a non-zero rate, in the order the
    /// forward pass meets them.
    pub layers: Vec<(f64, usize)>,
    /// Whether the first of them is the network's first layer. Its masks then multiply the
    /// segment's features once, in one kernel for all its steps, rather than each step
    /// multiplying its batch (on a GPU that product stood apart from the product after it: two
    /// launches a step, measured).
    pub on_input: bool,
}

/// A segment's targets, one step's per line.
enum StepTargets {
    /// Class indices `[steps, batch]`.
    Classes(Tensor<2, Int>),
    /// Values `[steps, batch · outputs]`, with the outputs per example.
    Values(Tensor<2>, usize),
}

impl StepTargets {
    /// `targets` (of `steps · batch` examples) laid out one step per line.
    fn new(targets: BatchTargets, steps: usize, batch: usize) -> StepTargets {
        match targets {
            BatchTargets::Classes(classes) => StepTargets::Classes(classes.reshape([steps, batch])),
            BatchTargets::Values(values) => {
                let [_, outputs] = values.dims();
                StepTargets::Values(values.reshape([steps, batch * outputs]), outputs)
            }
        }
    }
}

impl Segment {
    /// A segment of `rows.len()` steps of `batch` examples over `features` and `targets`
    /// (`rows.len() · batch` examples, step `s`'s batch at `s·batch..(s+1)·batch`), whose
    /// step `s` has the factors `rows[s]` of `optimizer`; dropout pools are drawn for
    /// `dropouts` (each layer's rate and width, in forward order) from the device's generator;
    /// the first layer's masks, where it is a dropout, multiply the features here.
    pub fn new(
        features: Tensor<2>,
        targets: BatchTargets,
        batch: usize,
        optimizer: &mlpc_ir::Optimizer,
        rows: &[StepRow],
        dropouts: &Dropouts,
    ) -> Segment {
        let device = features.device();
        let steps = rows.len();
        let [_, width] = features.dims();
        let mut pools: Vec<(Tensor<2>, usize)> = dropouts
            .layers
            .iter()
            .map(|&(rate, width)| {
                let keep = 1.0 - rate;
                let pool = Tensor::<2>::random(
                    [steps, batch * width],
                    Distribution::Bernoulli(keep),
                    &device,
                )
                .mul_scalar(1.0 / keep);
                (pool, width)
            })
            .collect();
        let mut features = features.reshape([steps, batch * width]);
        let input_applied = dropouts.on_input && !pools.is_empty();
        if input_applied {
            let (masks, _) = pools.remove(0);
            features = features * masks;
        }
        Segment {
            features,
            input_applied,
            width,
            targets: StepTargets::new(targets, steps, batch),
            batch,
            steps,
            counter: Tensor::<1, Int>::zeros([1], &device),
            table: Table::new(optimizer, rows, &device),
            losses: Tensor::<1>::zeros([steps], &device),
            pools,
        }
    }
}

/// How a segment ended.
pub struct SegmentOutcome {
    /// Each step's summed loss `[steps]` (zero for steps not run).
    pub losses: Tensor<1>,
    /// Steps run.
    pub steps: usize,
    /// Whether the steps after the warm-ups were replayed from a recording.
    pub recorded: bool,
}

/// Replayed steps that did not all land: the counter the steps advance on the device says
/// fewer ran than were dispatched.
#[derive(Debug, Clone, PartialEq)]
pub struct LostSteps {
    /// Steps dispatched.
    pub dispatched: usize,
    /// Steps the device counted.
    pub counted: i64,
}

/// One step of a segment, as it is recorded: everything it reads comes from the segment's
/// buffers and the step's own parameters. The step's lines of the segment's tables (its batch,
/// targets, factors and dropout masks) are fetched by one kernel of ours.
fn segment_step(step: &mut CompiledStep, segment: &mut Segment) {
    let counter = segment.counter.extract();
    let batch = segment.batch;
    let mut float_tables = vec![segment.features.clone()];
    let mut int_tables = Vec::new();
    match &segment.targets {
        StepTargets::Classes(classes) => int_tables.push(classes.clone()),
        StepTargets::Values(values, _) => float_tables.push(values.clone()),
    }
    float_tables.extend(segment.table.columns().iter().cloned());
    float_tables.extend(segment.pools.iter().map(|(pool, _)| pool.clone()));
    let (float_lines, int_lines) = super::kernels::fetch(counter.clone(), float_tables, int_tables);
    let mut float_lines = float_lines.into_iter();
    let mut next = || float_lines.next().expect("a line per table");
    let features = next().reshape([batch, segment.width]);
    let targets = match &segment.targets {
        StepTargets::Classes(_) => {
            let classes = int_lines.into_iter().next().expect("the classes' line");
            BatchTargets::Classes(classes.reshape([batch]))
        }
        StepTargets::Values(_, outputs) => BatchTargets::Values(next().reshape([batch, *outputs])),
    };
    let columns = segment.table.columns().len();
    let scalars = segment.table.scalars((0..columns).map(|_| next()));
    let masks: Vec<Tensor<2>> = segment
        .pools
        .iter()
        .map(|(_, width)| next().reshape([batch, *width]))
        .collect();
    // The loss added into its slot and the counter advanced, in their own buffers (in place),
    // by the loss kernel as it sums the loss.
    let mut tally = Tally {
        losses: segment.losses.extract(),
        counter,
    };
    step.step_with(
        features,
        &targets,
        &scalars,
        Masks::Given {
            masks: masks.into_iter(),
            input_applied: segment.input_applied,
        },
        Updates::InPlace,
        Some(&mut tally),
    );
    (segment.losses, segment.counter) = (tally.losses, tally.counter);
}

/// Runs every step of a segment as it is (no recording), asking `carry_on` after each.
fn run_unrecorded(
    step: &mut CompiledStep,
    segment: &mut Segment,
    carry_on: &mut dyn FnMut(usize) -> bool,
) -> usize {
    let mut ran = 0;
    while ran < segment.steps {
        segment_step(step, segment);
        ran += 1;
        if !carry_on(ran) {
            break;
        }
    }
    ran
}

/// Runs a segment's steps: the first `WARM_UPS` as they are, the rest replayed from one
/// recording (with `record` false, or for a segment shorter than [`SHORTEST_RECORDED`],
/// every step runs as it is: the same step without the recording, for comparison).
/// `carry_on` is asked after each step after the warm-ups with the steps run so far; when it
/// answers `false` the segment stops there.
///
/// Where the device records nothing (it cannot, or the recording failed: then the buffers
/// the recorded kernels would have written cannot be read), the step is set back to a copy
/// taken before the warm-ups and the segment is recorded again, up to
/// `RECORDING_ATTEMPTS` times, then runs unrecorded.
pub fn run(
    step: &mut CompiledStep,
    mut segment: Segment,
    record: bool,
    carry_on: &mut dyn FnMut(usize) -> bool,
) -> Result<SegmentOutcome, LostSteps> {
    let steps = segment.steps;
    let first_time = super::update::UpdateRule::next_time(&step.parameters);
    let device = step.device().clone();
    let (ran, recorded) = if !record || steps < SHORTEST_RECORDED {
        (run_unrecorded(step, &mut segment, carry_on), false)
    } else {
        let mut attempt = 1;
        loop {
            let before = step.snapshot();
            let mut graph = burn::tensor::capture(&device, || segment_step(step, &mut segment));
            if graph.is_hardware() {
                drop(before);
                // The recording backend recorded the fourth run without running it.
                let mut ran = WARM_UPS;
                while ran < steps && carry_on(ran) {
                    // SAFETY: the buffers the recording reads and writes across steps are held
                    // by `segment` (features, targets, tables, pools, counter, losses) or by
                    // `step` (parameters and running statistics, updated in place) and
                    // outlive the graph, dropped below before any of them changes hands. The
                    // step's temporaries (activations, gradients, factors, fusion's scratch)
                    // were dropped after the capture; their memory stays reserved for the
                    // graph, as cubecl-wgpu guards every page a recording touched until the
                    // graph is dropped, and nothing between replays (`carry_on`: progress and
                    // interrupts, host work only) allocates on the device. Every input is
                    // written by the recorded kernels themselves (the counter) or not at all;
                    // replays and the reads below are on this thread's stream.
                    unsafe {
                        graph.replay();
                    }
                    ran += 1;
                }
                drop(graph);
                break (ran, true);
            }
            drop(graph);
            // A failed recording leaves the buffers its kernels would have written unreadable:
            // every written tensor comes back from the copy, in buffers of its own.
            step.restore(before);
            segment.counter = Tensor::<1, Int>::zeros([1], &device);
            segment.losses = Tensor::<1>::zeros([steps], &device);
            if step.mutation == Some(super::Mutation::HostWriteInFirstRecording) {
                step.mutation = None;
            }
            if attempt == RECORDING_ATTEMPTS {
                break (run_unrecorded(step, &mut segment, carry_on), false);
            }
            attempt += 1;
        }
    };
    step.set_time(first_time - 1 + ran);
    let counted = segment
        .counter
        .try_into_data()
        .ok()
        .and_then(|data| data.convert::<i64>().try_to_vec::<i64>().ok())
        .and_then(|values| values.first().copied())
        .unwrap_or(-1);
    if counted != ran as i64 {
        return Err(LostSteps {
            dispatched: ran,
            counted,
        });
    }
    Ok(SegmentOutcome {
        losses: segment.losses,
        steps: ran,
        recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    /// A segment whose network starts with a dropout carries its features already multiplied
    /// by that layer's masks (each value kept and scaled by `1 / (1 - rate)`, or zero, at
    /// about the rate), and draws pools for the other dropout layers only.
    #[test]
    fn a_first_dropout_layer_masks_the_segments_features() {
        let device = Device::flex();
        device.seed(3);
        let (steps, batch, width, rate) = (40, 8, 25, 0.25);
        let features = Tensor::<2>::random(
            [steps * batch, width],
            Distribution::Uniform(1.0, 2.0),
            &device,
        );
        let targets = BatchTargets::Values(Tensor::<2>::zeros([steps * batch, 1], &device));
        let optimizer = mlpc_ir::Optimizer::Sgd {
            lr: 0.1,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let rows: Vec<StepRow> = (0..steps)
            .map(|index| StepRow::new(&optimizer, 0.1, index + 1))
            .collect();
        let dropouts = Dropouts {
            layers: vec![(rate, width), (0.5, 16)],
            on_input: true,
        };
        let segment = Segment::new(
            features.clone(),
            targets,
            batch,
            &optimizer,
            &rows,
            &dropouts,
        );
        assert!(segment.input_applied);
        assert_eq!(segment.pools.len(), 1);
        assert_eq!(segment.pools[0].1, 16);
        let original = features.into_data().try_to_vec::<f32>().expect("f32");
        let masked = segment
            .features
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        assert_eq!(masked.len(), original.len());
        let scale = 1.0 / (1.0 - rate as f32);
        let mut dropped = 0;
        for (value, before) in masked.iter().zip(&original) {
            if *value == 0.0 {
                dropped += 1;
            } else {
                assert!(
                    (value - before * scale).abs() < 1e-6,
                    "{value} from {before}"
                );
            }
        }
        let share = dropped as f64 / masked.len() as f64;
        assert!((share - rate).abs() < 0.03, "{share} of the values dropped");
    }
}
