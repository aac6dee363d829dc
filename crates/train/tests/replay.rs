//! The replayed step against the eager compiled step on wgpu: from the same weights, batches
//! and learning rates, the parameters (and batch norm's running statistics) after 200 steps,
//! all but the three warm-ups replayed from one recording, agree within 1e-5 relative: plain
//! SGD; SGD with Nesterov momentum and a schedule; dropout, batch norm and Adam (against the
//! same step with the same dropout pool, not recorded); AdamW with layer norm on a regression.
//! A step whose updates are written out of place (what a lost update looks like to a replay)
//! fails the same comparison by far; a step that cannot be recorded goes back to its state
//! before the warm-ups and runs unrecorded, ending exactly where the eager step does; and
//! training through the trainer gives the same epochs as the compiled step, short last batch
//! included; a short batch padded to the full batch's rows updates as the short batch alone; a resumed replayed run ends as an uninterrupted one; interrupts and divergences
//! are named at the same step as with the eager step.
//!
//! The tests take turns on the device: recordings isolate a device stream that threads may
//! share, and the dropout pools are drawn from the device's one generator.
//!
//! These run on Mesa's lavapipe in CI (`MLPC_REQUIRE_WGPU=1`); without any wgpu adapter they
//! say loudly that they were skipped.

mod common;

use common::{diabetes, largest_gap, model, wgpu_available};

use mlpc_data::Splits;
use mlpc_ir::Model;
use mlpc_train::compiled::replay::{self, Segment};
use mlpc_train::compiled::scalar::StepRow;
use mlpc_train::compiled::update::{UpdateRule, Updates};
use mlpc_train::compiled::{CompiledStep, Mutation};
use mlpc_train::device_data::DeviceSet;
use mlpc_train::network::{self, named_values};
use mlpc_train::{Backend, RunFolder, StepKind, train_in};

/// Largest relative difference allowed between replayed and eager parameters.
const TOLERANCE: f64 = 1e-5;
/// Steps compared: one segment, three warm-ups and 197 replays.
const STEPS: usize = 200;

static DEVICE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This test's turn on the device.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    DEVICE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The digits set (1,437 training rows): 200 batches of 7.
fn digits(network: &str, optimizer: &str, schedule: &str) -> Model {
    model(&format!(
        "data csv(\"../data/digits.csv\", target = \"digit\", task = classification, split_seed = 4)\n\
         network {{\n{network}\n}}\n\
         loss cross_entropy\n\
         optimizer {optimizer}\n\
         {schedule}\n\
         train {{ epochs = 1, batch_size = 7, seed = 5 }}\n"
    ))
}

/// Trains `model` on wgpu with `kind`, keeping nothing on disk.
fn train_on_wgpu(
    model: &Model,
    splits: &Splits,
    kind: StepKind,
) -> Result<mlpc_train::Trained, mlpc_train::TrainError> {
    train_in(
        model,
        splits,
        Backend::Wgpu,
        kind,
        &RunFolder::default(),
        &mut |_: &mlpc_train::EpochReport| {},
    )
}

/// A fresh compiled step on wgpu from the seed's initial weights, and the training rows on the
/// device in one piece.
fn fresh(model: &Model, splits: &Splits, mutation: Option<Mutation>) -> (CompiledStep, DeviceSet) {
    let device = Backend::Wgpu.plain_device().expect("a wgpu device");
    let weights = network::initial_weights(&model.network, model.training.seed);
    let network = network::build(&model.network, &weights, &device);
    let mut step = CompiledStep::from_network(model, network, &device);
    if let Some(mutation) = mutation {
        step.mutate(mutation);
    }
    let set = DeviceSet::upload(&splits.train, &device, usize::MAX / 2);
    assert!(set.len() >= STEPS * model.training.batch_size);
    (step, set)
}

/// The learning rate of each step: a cosine schedule over the steps (also for plain SGD, so
/// the rate is read from the device table at every replay).
fn rate(model: &Model, step: usize) -> f64 {
    let initial = model.optimizer.learning_rate();
    initial * (0.55 + 0.45 * (std::f64::consts::PI * step as f64 / STEPS as f64).cos())
}

/// Parameters after [`STEPS`] eager compiled steps over consecutive batches.
fn eager(model: &Model, splits: &Splits, mutation: Option<Mutation>) -> Vec<(String, Vec<f32>)> {
    let (mut step, set) = fresh(model, splits, mutation);
    let batch = model.training.batch_size;
    for index in 0..STEPS {
        let (features, targets) = set.range(index * batch, batch);
        step.step(features, &targets, rate(model, index));
    }
    named_values(&step.network())
}

/// Parameters after the same steps as one segment, `record`ed and replayed or not, and
/// whether they were replayed from a recording.
fn segment(
    model: &Model,
    splits: &Splits,
    record: bool,
    mutation: Option<Mutation>,
) -> (Vec<(String, Vec<f32>)>, bool) {
    let (mut step, set) = fresh(model, splits, mutation);
    let batch = model.training.batch_size;
    let (features, targets) = set.chunk_rows_at(0, 0, STEPS * batch);
    let first_time = UpdateRule::next_time(step.parameters());
    let rows: Vec<StepRow> = (0..STEPS)
        .map(|index| StepRow::new(step.optimizer(), rate(model, index), first_time + index))
        .collect();
    // The dropout pool is drawn from the device's generator: the same for both runs.
    step.device().seed(23);
    let segment = Segment::new(
        features,
        targets,
        batch,
        step.optimizer(),
        &rows,
        &step.dropouts(),
    );
    let outcome = replay::run(&mut step, segment, record, &mut |_| true).expect("every step lands");
    assert_eq!(outcome.steps, STEPS);
    let losses: Vec<f32> = outcome
        .losses
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32 losses");
    assert!(
        losses.iter().all(|loss| loss.is_finite() && *loss > 0.0),
        "every step's loss is in its slot: {losses:?}"
    );
    (named_values(&step.network()), outcome.recorded)
}

/// [`segment`] with a recording, which lavapipe and GPU drivers make.
fn replayed(model: &Model, splits: &Splits, mutation: Option<Mutation>) -> Vec<(String, Vec<f32>)> {
    let (values, recorded) = segment(model, splits, true, mutation);
    assert!(recorded, "lavapipe and GPU drivers record kernel launches");
    values
}

/// Asserts replayed parameters match the reference, and that training moved them far beyond
/// the tolerance (so agreement means something).
fn assert_parity(
    label: &str,
    model: &Model,
    replayed: &[(String, Vec<f32>)],
    reference: &[(String, Vec<f32>)],
) {
    let (gap, name) = largest_gap(replayed, reference);
    eprintln!("{label}: largest relative gap {gap:.2e} ({name})");
    assert!(
        gap <= TOLERANCE,
        "{label}: the replayed step's `{name}` differs from the eager step's by {gap:.3e} relative (allowed {TOLERANCE:e})"
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let (initial, _) = fresh(model, &splits, None);
    let (moved, _) = largest_gap(&named_values(&initial.network()), reference);
    assert!(
        moved > 1000.0 * TOLERANCE,
        "{label}: training barely moved the parameters ({moved:.2e}): the comparison proves nothing"
    );
}

#[test]
fn plain_sgd_replays_like_the_eager_step() {
    if !wgpu_available("plain_sgd_replays_like_the_eager_step") {
        return;
    }
    let _turn = turn();
    let model = digits("  dense 32 relu\n  dense 10", "sgd(lr = 0.05)", "");
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let replayed = replayed(&model, &splits, None);
    assert_parity(
        "plain sgd",
        &model,
        &replayed,
        &eager(&model, &splits, None),
    );
}

#[test]
fn momentum_with_a_schedule_replays_like_the_eager_step() {
    if !wgpu_available("momentum_with_a_schedule_replays_like_the_eager_step") {
        return;
    }
    let _turn = turn();
    let model = digits(
        "  dense 32 tanh\n  dense 16 relu\n  dense 10",
        "sgd(lr = 0.03, momentum = 0.9, nesterov = true, weight_decay = 0.0001)",
        "schedule cosine",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let replayed = replayed(&model, &splits, None);
    assert_parity("momentum", &model, &replayed, &eager(&model, &splits, None));
}

#[test]
fn a_dropout_on_the_input_replays_like_the_same_step_unrecorded() {
    if !wgpu_available("a_dropout_on_the_input_replays_like_the_same_step_unrecorded") {
        return;
    }
    let _turn = turn();
    let model = digits(
        "  dropout 0.2\n  dense 32 relu\n  dropout 0.1\n  dense 10",
        "sgd(lr = 0.05, momentum = 0.9)",
        "",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let replayed = replayed(&model, &splits, None);
    let (unrecorded, _) = segment(&model, &splits, false, None);
    assert_parity("input dropout", &model, &replayed, &unrecorded);
}

#[test]
fn dropout_batchnorm_and_adam_replay_like_the_same_step_unrecorded() {
    if !wgpu_available("dropout_batchnorm_and_adam_replay_like_the_same_step_unrecorded") {
        return;
    }
    let _turn = turn();
    let model = digits(
        "  dense 32 gelu\n  batchnorm\n  dropout 0.2\n  dense 10",
        "adam(lr = 0.003)",
        "",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let replayed = replayed(&model, &splits, None);
    let (unrecorded, _) = segment(&model, &splits, false, None);
    assert_parity("dropout, batchnorm, adam", &model, &replayed, &unrecorded);
}

#[test]
fn adamw_and_layernorm_on_a_regression_replay_like_the_eager_step() {
    if !wgpu_available("adamw_and_layernorm_on_a_regression_replay_like_the_eager_step") {
        return;
    }
    let _turn = turn();
    // 353 training rows: batches of 1, so 200 steps fit.
    let model = model(
        "data csv(\"../data/diabetes.csv\", target = \"progression\")\n\
         network {\n  dense 16 relu\n  layernorm\n  residual {\n    dense 16\n    prelu\n  }\n  dense 1\n}\n\
         loss huber(delta = 1.0)\n\
         optimizer adamw(lr = 0.003, weight_decay = 0.01)\n\
         train { epochs = 1, batch_size = 1, seed = 6 }\n",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let replayed = replayed(&model, &splits, None);
    assert_parity(
        "adamw, layernorm",
        &model,
        &replayed,
        &eager(&model, &splits, None),
    );
}

#[test]
fn a_lost_update_fails_the_comparison() {
    if !wgpu_available("a_lost_update_fails_the_comparison") {
        return;
    }
    let _turn = turn();
    let model = digits("  dense 32 relu\n  dense 10", "sgd(lr = 0.05)", "");
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let mutation = Some(Mutation::UpdatesOutOfPlace);
    // Eagerly, updates out of place compute the same numbers...
    let (same, _) = largest_gap(
        &eager(&model, &splits, mutation),
        &eager(&model, &splits, None),
    );
    assert!(
        same <= TOLERANCE,
        "out-of-place updates change nothing eagerly: {same:.2e}"
    );
    // ...but a replay reads the buffers it recorded, so its updates are lost.
    let replayed = replayed(&model, &splits, mutation);
    let (gap, name) = largest_gap(&replayed, &eager(&model, &splits, None));
    eprintln!("lost updates: largest relative gap {gap:.2e} ({name})");
    assert!(
        gap > 1000.0 * TOLERANCE,
        "a replay whose updates are lost must fail the comparison (gap {gap:.2e})"
    );
}

/// The digits with a small relu network and SGD with momentum (the recording tests' model).
fn momentum_digits() -> (Model, Splits) {
    let model = digits(
        "  dense 32 relu\n  dense 10",
        "sgd(lr = 0.03, momentum = 0.9)",
        "",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    (model, splits)
}

#[test]
fn a_step_that_cannot_be_recorded_runs_unrecorded_from_its_state_before() {
    if !wgpu_available("a_step_that_cannot_be_recorded_runs_unrecorded_from_its_state_before") {
        return;
    }
    let _turn = turn();
    let (model, splits) = momentum_digits();
    // A host write inside the step dooms its recording; the three warm-ups had already run.
    let (values, recorded) = segment(&model, &splits, true, Some(Mutation::HostWriteInStep));
    assert!(!recorded, "a recording holding a host write cannot seal");
    assert_parity(
        "failed recording",
        &model,
        &values,
        &eager(&model, &splits, None),
    );
}

#[test]
fn a_recording_that_fails_once_is_recorded_again() {
    if !wgpu_available("a_recording_that_fails_once_is_recorded_again") {
        return;
    }
    let _turn = turn();
    let (model, splits) = momentum_digits();
    // The first recording holds a host write and fails; the second, from the state before
    // the first one's warm-ups, succeeds.
    let (values, recorded) = segment(
        &model,
        &splits,
        true,
        Some(Mutation::HostWriteInFirstRecording),
    );
    assert!(recorded, "the second recording succeeds");
    assert_parity(
        "recorded again",
        &model,
        &values,
        &eager(&model, &splits, None),
    );
}

/// Parameters after six steps of batches of 16 over the rows from `start`, the fourth a short
/// batch of 5 (as an epoch's last; the steps after it read the optimizer state it left), run
/// as it is or `padded` to 16 rows; and the short batch's summed loss.
fn with_a_short_batch(
    model: &Model,
    splits: &Splits,
    start: usize,
    padded: bool,
) -> (Vec<(String, Vec<f32>)>, f64) {
    let device = Backend::Wgpu.plain_device().expect("a wgpu device");
    let weights = network::initial_weights(&model.network, model.training.seed);
    let network = network::build(&model.network, &weights, &device);
    let mut step = CompiledStep::from_network(model, network, &device);
    assert!(step.pads_short_batches());
    let set = DeviceSet::upload(&splits.train, &device, usize::MAX / 2);
    let (batch, short) = (16, 5);
    let mut at = start;
    let mut short_loss = f64::NAN;
    for index in 0..6 {
        let rows = if index == 3 { short } else { batch };
        let (features, targets) = set.range(at, rows);
        at += rows;
        // Updated in place, as in a replayed epoch; unpadded, the batch is its own size.
        let size = if padded { batch } else { rows };
        let loss = step.short_step(
            features,
            &targets,
            rate(model, index),
            size,
            Updates::InPlace,
        );
        if rows < batch {
            short_loss = loss.into_scalar::<f64>();
        }
    }
    (named_values(&step.network()), short_loss)
}

#[test]
fn a_short_batch_padded_to_the_full_batch_updates_as_the_short_batch_itself() {
    if !wgpu_available("a_short_batch_padded_to_the_full_batch_updates_as_the_short_batch_itself") {
        return;
    }
    let _turn = turn();
    let cases = [
        (
            "cross-entropy, momentum",
            digits(
                "  dense 32 relu\n  dense 10",
                "sgd(lr = 0.05, momentum = 0.9, nesterov = true)",
                "",
            ),
        ),
        (
            "cross-entropy, adam, layernorm, residual",
            digits(
                "  dense 24\n  layernorm\n  gelu\n  residual {\n    dense 24 tanh\n  }\n  dense 10",
                "adam(lr = 0.01)",
                "",
            ),
        ),
        (
            "huber, adamw, prelu, one output",
            diabetes(
                "  dense 16\n  prelu\n  dense 1",
                "huber(delta = 1.0)",
                "adamw(lr = 0.01, weight_decay = 0.01)",
            ),
        ),
        (
            "squared error through sigmoid",
            diabetes("  dense 16 relu\n  dense 1 sigmoid", "mse", "sgd(lr = 0.1)"),
        ),
        (
            "absolute error, leaky relu",
            diabetes("  dense 8 leaky_relu\n  dense 1", "mae", "sgd(lr = 0.05)"),
        ),
        (
            "batch norms, one first, one in a residual block, momentum",
            digits(
                // No dense layer right before a batch norm: its bias's gradient would be
                // zero but for rounding, and rounding alone would be compared.
                "  batchnorm\n  dense 16 relu\n  batchnorm\n  residual {\n    dense 16 tanh\n    batchnorm\n  }\n  dense 10",
                "sgd(lr = 0.1, momentum = 0.9)",
                "",
            ),
        ),
    ];
    for (label, model) in cases {
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let (padded, padded_loss) = with_a_short_batch(&model, &splits, 11, true);
        let (short, short_loss) = with_a_short_batch(&model, &splits, 11, false);
        let (gap, name) = largest_gap(&padded, &short);
        let loss_gap = (padded_loss - short_loss).abs() / short_loss.abs();
        eprintln!("{label}: largest relative gap {gap:.2e} ({name}), loss {loss_gap:.1e}");
        assert!(
            gap <= TOLERANCE && loss_gap <= TOLERANCE,
            "{label}: padding the short batch changed `{name}` by {gap:.3e} relative and its loss by {loss_gap:.3e} (allowed {TOLERANCE:e})"
        );
    }
}

#[test]
fn training_with_replay_gives_the_compiled_steps_epochs() {
    if !wgpu_available("training_with_replay_gives_the_compiled_steps_epochs") {
        return;
    }
    let _turn = turn();
    // 1,437 rows in batches of 50: 28 full batches and a short one of 37 every epoch; a step
    // schedule; no dropout, so both steps see exactly the same numbers.
    let model = digits(
        "  dense 32 relu\n  dense 10",
        "sgd(lr = 0.05, momentum = 0.9)",
        "schedule step(every = 1, gamma = 0.5)",
    );
    let mut model = model;
    model.training.batch_size = 50;
    model.training.epochs = 3;
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let run = |kind: StepKind| train_on_wgpu(&model, &splits, kind).expect("training");
    let replayed = run(StepKind::Replay);
    let compiled = run(StepKind::Compiled);
    assert_eq!(replayed.step, StepKind::Replay);
    for (ours, theirs) in replayed.history.iter().zip(&compiled.history) {
        for (what, a, b) in [
            ("train loss", ours.train_loss, theirs.train_loss),
            ("test loss", ours.test_loss, theirs.test_loss),
        ] {
            let gap = (a - b).abs() / a.abs().max(b.abs());
            assert!(
                gap < 1e-4,
                "epoch {}: {what} {a} replayed, {b} compiled",
                ours.epoch
            );
        }
    }
    let last = replayed.history.last().expect("epochs");
    assert!(last.train_loss < replayed.history[0].train_loss);
    assert!(last.test_accuracy.expect("accuracy") > 0.9);
}

#[test]
fn a_diverging_replay_names_the_same_step_as_the_compiled_step() {
    if !wgpu_available("a_diverging_replay_names_the_same_step_as_the_compiled_step") {
        return;
    }
    let _turn = turn();
    // Plain SGD on a linear regression past the stable rate: the loss overflows in epoch 4
    // (353 rows in batches of 32: a segment of 11 replayed steps and a short batch).
    let model = model(
        "data csv(\"../data/diabetes.csv\", target = \"progression\", test_fraction = 0.2, split_seed = 1)\n\
         network {\n  dense 1\n}\n\
         loss mse\n\
         optimizer sgd(lr = 0.5)\n\
         train { epochs = 200, batch_size = 32, seed = 1, shuffle = false }\n",
    );
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let diverged = |kind: StepKind| {
        let error = train_on_wgpu(&model, &splits, kind)
            .err()
            .expect("the run diverges");
        match error {
            mlpc_train::TrainError::Diverged {
                epoch, step, steps, ..
            } => (epoch, step, steps),
            other => panic!("{kind}: {other}"),
        }
    };
    let replayed = diverged(StepKind::Replay);
    assert_eq!(replayed, diverged(StepKind::Compiled));
    assert_eq!(replayed.2, 12);
    assert!(
        replayed.0 >= 3,
        "it trains a few epochs first: {replayed:?}"
    );
}

/// Counts kernel launches by name.
#[derive(Default)]
struct Launches(std::sync::Mutex<std::collections::BTreeMap<&'static str, usize>>);

impl cubecl_runtime::logging::LaunchObserver for Launches {
    fn launched(&self, kernel: &'static str) {
        *self.0.lock().expect("a count").entry(kernel).or_default() += 1;
    }
}

/// Kernel launches per step of a segment's unrecorded steps (each launch a replay re-encodes),
/// counted over ten steps after eleven that compile and tune every kernel.
fn launches_per_step(model: &Model, splits: &Splits) -> (usize, Vec<(&'static str, f64)>) {
    let (mut step, set) = fresh(model, splits, None);
    let batch = model.training.batch_size;
    let (warm, steps) = (11, 10);
    let (features, targets) = set.chunk_rows_at(0, 0, (warm + steps) * batch);
    let rows: Vec<StepRow> = (0..warm + steps)
        .map(|index| StepRow::new(step.optimizer(), rate(model, index), index + 1))
        .collect();
    let segment = Segment::new(
        features,
        targets,
        batch,
        step.optimizer(),
        &rows,
        &step.dropouts(),
    );
    let counts = std::sync::Arc::new(Launches::default());
    let mut observation = None;
    let device = step.device().clone();
    replay::run(&mut step, segment, false, &mut |ran| {
        if ran == warm {
            // burn-fusion launches what the warm steps queued when it flushes: flushed here,
            // so that only the observed steps' launches are counted (the run ends with a read).
            device.sync().expect("the device syncs");
            observation = Some(cubecl_runtime::logging::LaunchObservation::new(
                counts.clone(),
            ));
        }
        true
    })
    .expect("every step lands");
    drop(observation);
    let counts = counts.0.lock().expect("a count");
    let total: usize = counts.values().sum();
    let by_name = counts
        .iter()
        .map(|(name, count)| (*name, *count as f64 / steps as f64))
        .collect();
    (total / steps, by_name)
}

/// Kernels a replay of the benchmark's step may dispatch with burn-fusion's defaults, for each
/// optimizer family: measured on lavapipe, every run, 8 with plain SGD, with SGD and Nesterov
/// momentum and with Adam: the fetch of the step's lines of its segment's tables (batch,
/// targets, factors; one kernel of ours), 5 matrix products (relu's gradient fused into the
/// one that gives the hidden layer's gradient), the cross-entropy kernel (which also adds the
/// loss into its slot and advances the counter) and the update of every parameter (one kernel
/// of ours); one more is allowed for burn-fusion's plans. Plain SGD's history: 9 while the
/// tally (loss slot and counter) was a kernel of its own after the update, 10 while relu's
/// gradient was a fused element-wise kernel of its own (the weight's gradient was taken
/// between the product and it), 12 before the fetch (the gathers took three fused kernels),
/// 13 before every update went into one kernel, when updates went two to a kernel; before
/// that counted without flushing burn-fusion's queue first, which added about a fifth: 16-17
/// before the tally, 17-18 before the bias kernel, 19 before batches were gathered as one
/// line per step, 20 before the cross-entropy kernel, 30 before parameters were updated in
/// place and relu's gradient became a masked fill, 33, and 35 at first. Momentum was 21
/// before the update kernel wrote optimizer state in place (each velocity had been copied
/// back to its buffer after every step, and each bias gradient summed apart). A change that
/// adds launches to the step must say so here.
const KERNELS_PER_STEP: [(&str, usize); 3] = [
    ("sgd(lr = 0.1)", 9),
    ("sgd(lr = 0.05, momentum = 0.9, nesterov = true)", 9),
    ("adam(lr = 0.001)", 9),
];

#[test]
fn the_replayed_step_launches_few_kernels() {
    if !wgpu_available("the_replayed_step_launches_few_kernels") {
        return;
    }
    let _turn = turn();
    for (optimizer, limit) in KERNELS_PER_STEP {
        // The MNIST benchmark's network (784-128-10 there, 64-128-10 here).
        let model = digits("  dense 128 relu\n  dense 10", optimizer, "");
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let (total, by_name) = launches_per_step(&model, &splits);
        for (name, count) in &by_name {
            eprintln!("{count:>5.1} × {}", name.split('<').next().unwrap_or(name));
        }
        eprintln!("{total} kernels per step with {optimizer}");
        assert!(
            (7..=limit).contains(&total),
            "with {optimizer} the step launches {total} kernels, more than the {limit} it measured (or launches went unobserved)"
        );
    }
}

/// Kernels a replay of a step with each of the other losses may dispatch (plain SGD, a hidden
/// layer of 128 relu units, one output): measured on lavapipe, 8 for each, as with
/// cross-entropy: the loss kernel takes every loss and adds the output layer's bias as it reads
/// the product; with an output activation (sigmoid, tanh) too, the kernel applying it and its
/// derivative (10 while they were two fused kernels of their own). 9 while the bias was added apart (burn-fusion runs a product with one column
/// as a plain matrix-vector product and leaves the addition a fused element-wise kernel of its
/// own, where it fuses it into a product with ten). Before the loss kernel took them: 12 with
/// squared error, 13 with absolute error and with Huber's loss (their sums and gradients
/// composed of burn's operations, and the tally a kernel of its own), 36 with binary
/// cross-entropy (burn-fusion left its operations unfused). One more is allowed for
/// burn-fusion's plans.
const KERNELS_PER_STEP_BY_LOSS: [(&str, &str, &str, usize); 6] = [
    ("mse", REGRESSION_DATA, "", 9),
    ("mae", REGRESSION_DATA, "", 9),
    ("huber(delta = 1.0)", REGRESSION_DATA, "", 9),
    (
        "binary_cross_entropy",
        "data moons(n = 2000, noise = 0.1, seed = 3)",
        "",
        9,
    ),
    ("mse", REGRESSION_DATA, "\n  sigmoid", 9),
    ("huber(delta = 1.0)", REGRESSION_DATA, "\n  tanh", 9),
];

/// The digits as a regression on the digit's value (enough rows for the counts' steps).
const REGRESSION_DATA: &str =
    "data csv(\"../data/digits.csv\", target = \"digit\", task = regression, split_seed = 4)";

#[test]
fn the_replayed_step_launches_few_kernels_with_every_loss() {
    if !wgpu_available("the_replayed_step_launches_few_kernels_with_every_loss") {
        return;
    }
    let _turn = turn();
    for (loss, data, output, limit) in KERNELS_PER_STEP_BY_LOSS {
        let model = model(&format!(
            "{data}\nnetwork {{\n  dense 128 relu\n  dense 1{output}\n}}\nloss {loss}\n\
             optimizer sgd(lr = 0.01)\ntrain {{ epochs = 1, batch_size = 7, seed = 5 }}\n"
        ));
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let (total, by_name) = launches_per_step(&model, &splits);
        for (name, count) in &by_name {
            eprintln!("{count:>5.1} × {}", name.split('<').next().unwrap_or(name));
        }
        eprintln!("{total} kernels per step with {loss}{output:?}");
        assert!(
            (7..=limit).contains(&total),
            "with {loss} the step launches {total} kernels, more than the {limit} it measured (or launches went unobserved)"
        );
    }
}

/// Kernels a replay of a step with a normalisation layer or a PReLU may dispatch (784-128-10 there,
/// 64-128-10 here, the norm before relu, Adam), measured on lavapipe: 10 with batch norm, the 8
/// of the step without it and batch norm's forward and backward kernels (the running
/// statistics moved in place by the forward one, relu applied by it as it writes its output).
/// 11 while relu's forward was a fused element-wise kernel of its own (burn-fusion fuses
/// nothing into a kernel of ours); 19 before batch norm's kernels (burn's reductions and fused
/// element-wise kernels each way, and two copies of the running statistics back to their
/// buffers). With layer norm, 10: its forward kernel (relu applied) and its backward kernel,
/// which writes the rows `g x̂` whose column sums (and `g`'s) the update kernel takes for `γ`
/// and `β`; 11 while batch norm's backward kernel took those sums, 12 with relu apart, 16
/// before its kernels. With an activation before the norm (GELU before batch norm, relu before
/// layer norm), 10: the norm's backward kernel applies the activation's derivative as it
/// writes the input's gradient; 11 while that was a fused element-wise kernel after ours.
/// With PReLU (784-128-10, the PReLU in place of relu), 8: its
/// slopes' gradient is rows the update kernel sums, the product with `min(0, x)` fused into the
/// product before; 9 while the sum was a reduction of its own. With a dropout on the input
/// features, 8: the segment multiplies its features by that layer's masks once; 10 while each
/// step multiplied its batch (a product of its own, which also left the first layer's bias and
/// relu a fused kernel apart from its product). One more is allowed for burn-fusion's plans.
const KERNELS_PER_STEP_WITH_LAYERS: [(&str, &str, usize); 6] = [
    (
        "batchnorm",
        "  dense 128\n  batchnorm\n  relu\n  dense 10",
        11,
    ),
    (
        "layernorm",
        "  dense 128\n  layernorm\n  relu\n  dense 10",
        11,
    ),
    (
        "gelu before batch norm",
        "  dense 128 gelu\n  batchnorm\n  dense 10",
        11,
    ),
    (
        "relu before layer norm",
        "  dense 128 relu\n  layernorm\n  dense 10",
        11,
    ),
    ("prelu", "  dense 128\n  prelu\n  dense 10", 9),
    (
        "input dropout",
        "  dropout 0.2\n  dense 128 relu\n  dense 10",
        9,
    ),
];

#[test]
fn the_replayed_step_with_norms_or_prelu_launches_few_kernels() {
    if !wgpu_available("the_replayed_step_with_norms_or_prelu_launches_few_kernels") {
        return;
    }
    let _turn = turn();
    for (norm, network, limit) in KERNELS_PER_STEP_WITH_LAYERS {
        let model = digits(network, "adam(lr = 0.001)", "");
        let splits = mlpc_data::load(&model.data).expect("data loads");
        let (total, by_name) = launches_per_step(&model, &splits);
        for (name, count) in &by_name {
            eprintln!("{count:>5.1} × {}", name.split('<').next().unwrap_or(name));
        }
        eprintln!("{total} kernels per step with {norm}");
        assert!(
            (7..=limit).contains(&total),
            "with {norm} the step launches {total} kernels, more than the {limit} it measured (or launches went unobserved)"
        );
    }
}

#[test]
fn wide_dropout_pools_split_a_chunk_into_segments_under_the_buffer_limit() {
    if !wgpu_available("wide_dropout_pools_split_a_chunk_into_segments_under_the_buffer_limit") {
        return;
    }
    let _turn = turn();
    // One chunk of 1,437 rows, but a pool of masks for all 44 full batches of 32 at width
    // 16,384 would be 92 MB, past a wgpu buffer's 64 MiB share: segments of 32 and 12 steps.
    let mut model = digits(
        "  dense 16384 relu\n  dropout 0.5\n  dense 10",
        "sgd(lr = 0.01, momentum = 0.9)",
        "",
    );
    model.training.batch_size = 32;
    model.training.epochs = 2;
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let trained = train_on_wgpu(&model, &splits, StepKind::Replay).expect("training");
    let history = &trained.history;
    assert!(history.iter().all(|report| report.train_loss.is_finite()));
    assert!(history[1].train_loss < history[0].train_loss, "{history:?}");
    assert!(
        history[1].test_accuracy.expect("accuracy") > 0.8,
        "{history:?}"
    );
}

/// Asks training to stop once it has seen `after` steps of the first epoch.
struct StopAfter {
    after: usize,
    seen: std::cell::Cell<usize>,
}

impl mlpc_train::Observer for StopAfter {
    fn epoch(&mut self, _: &mlpc_train::EpochReport) {}

    fn step_interval(&self) -> Option<usize> {
        Some(1)
    }

    fn step(&mut self, progress: &mlpc_train::StepProgress) {
        self.seen.set(progress.step);
    }

    fn interrupted(&self) -> bool {
        self.seen.get() >= self.after
    }
}

#[test]
fn an_interrupt_stops_a_replayed_segment_after_a_whole_step() {
    if !wgpu_available("an_interrupt_stops_a_replayed_segment_after_a_whole_step") {
        return;
    }
    let _turn = turn();
    // 1,437 rows in batches of 7: one segment of 205 steps; stop asked after step 50, which
    // is a replay (the warm-ups are steps 1-3).
    let model = digits("  dense 32 relu\n  dense 10", "sgd(lr = 0.05)", "");
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let mut observer = StopAfter {
        after: 50,
        seen: std::cell::Cell::new(0),
    };
    let error = train_in(
        &model,
        &splits,
        Backend::Wgpu,
        StepKind::Replay,
        &RunFolder::default(),
        &mut observer,
    )
    .err()
    .expect("the run stops");
    match error {
        mlpc_train::TrainError::Interrupted {
            epoch, step, steps, ..
        } => assert_eq!((epoch, step, steps), (1, 50, 206)),
        other => panic!("{other}"),
    }
}

#[test]
fn a_replayed_run_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one() {
    if !wgpu_available("a_replayed_run_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one") {
        return;
    }
    let _turn = turn();
    // Dropout (pools drawn from each epoch's seed), batch norm and Adam (its step count goes
    // through the checkpoint), a short last batch every epoch.
    let mut model = digits(
        "  dense 32 relu\n  batchnorm\n  dropout 0.2\n  dense 10",
        "adam(lr = 0.003)",
        "",
    );
    model.training.batch_size = 50;
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let base = std::env::temp_dir().join(format!("mlpc-replay-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let run = |epochs: usize, folder: &str, resume: bool| {
        let mut model = model.clone();
        model.training.epochs = epochs;
        train_in(
            &model,
            &splits,
            Backend::Wgpu,
            StepKind::Replay,
            &RunFolder {
                path: Some(base.join(folder)),
                resume,
            },
            &mut |_: &mlpc_train::EpochReport| {},
        )
        .expect("training")
        .history
        .iter()
        .map(|report| (report.train_loss, report.test_loss))
        .collect::<Vec<_>>()
    };
    let whole = run(3, "whole", false);
    let _ = run(2, "split", false);
    let split = run(3, "split", true);
    assert_eq!(split, whole);
    let _ = std::fs::remove_dir_all(&base);
}

/// Kernels one evaluation pass over 512 rows of the MNIST benchmark's network launches on
/// wgpu (both products, the loss and the count of hits), counted after a pass that compiles
/// and tunes them: measured on lavapipe, 12, each dense layer's product taking its bias and
/// activation in as in the compiled step; 14 while burn's `Linear` made its bias a row after
/// the product (plain products, each followed by an addition or a fused kernel for the bias
/// and activation, and tuned as plain products on a machine's first run, apart from the
/// step's fused ones).
const KERNELS_PER_EVALUATION: usize = 12;

#[test]
fn the_evaluation_fuses_each_dense_layer_into_its_product() {
    if !wgpu_available("the_evaluation_fuses_each_dense_layer_into_its_product") {
        return;
    }
    let _turn = turn();
    let model = digits("  dense 128 relu\n  dense 10", "sgd(lr = 0.1)", "");
    let splits = mlpc_data::load(&model.data).expect("data loads");
    let (step, _) = fresh(&model, &splits, None);
    let network = step.network();
    let objective = mlpc_train::objective::Objective::new(model.loss, step.device());
    let device = step.device().clone();
    let rows = DeviceSet::upload(
        &splits.train.select(&(0..512).collect::<Vec<_>>()),
        &device,
        usize::MAX / 2,
    );
    let evaluate = || {
        let evaluation = mlpc_train::evaluate::evaluate(&network, &rows, &objective, None);
        assert!(evaluation.loss.is_finite());
    };
    // The first pass compiles and tunes; the second is counted.
    evaluate();
    device.sync().expect("the device syncs");
    let counts = std::sync::Arc::new(Launches::default());
    let observation = cubecl_runtime::logging::LaunchObservation::new(counts.clone());
    evaluate();
    device.sync().expect("the device syncs");
    drop(observation);
    let counts = counts.0.lock().expect("a count");
    let total: usize = counts.values().sum();
    let fused: usize = counts
        .iter()
        .filter(|(name, _)| name.contains("FusedMatmul"))
        .map(|(_, count)| count)
        .sum();
    let names: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{count} × {}", name.split('<').next().unwrap_or(name)))
        .collect();
    let names = names.join("\n");
    eprintln!("{names}\n{total} kernels an evaluation, {fused} of them fused products");
    assert_eq!(fused, 2, "each dense layer's product is fused:\n{names}");
    assert!(
        total <= KERNELS_PER_EVALUATION,
        "an evaluation launches {total} kernels, more than the {KERNELS_PER_EVALUATION} it measured:\n{names}"
    );
}
