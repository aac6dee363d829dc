//! End-to-end training tests: the `mlpc` binary trains each shipped model on the CPU and the
//! accuracies the project promises are asserted on the test split.
//!
//! Both full-MNIST bars run with the suite: the flagship (models/mnist.mlp ≥ 98.0%, about 6 s
//! here) and the 784-800-10 net (models/mnist-800.mlp ≥ 98.3%, 15-30 s).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;
use common::{json_lines, mlpc, workspace};

/// Runs `mlpc run --json` and returns the per-epoch reports.
fn run(arguments: &[&str]) -> Vec<Value> {
    let mut all = vec!["run"];
    all.extend(arguments);
    all.extend(["--json", "--no-save"]);
    json_lines(&mlpc(&all))
}

fn last(reports: &[Value], key: &str) -> f64 {
    reports
        .last()
        .and_then(|report| report[key].as_f64())
        .unwrap_or_else(|| panic!("no {key} in {reports:?}"))
}

#[test]
fn xor_needs_a_hidden_layer() {
    let perceptron = run(&["models/perceptron.mlp"]);
    let hidden = run(&["models/xor.mlp"]);
    let linear_accuracy = last(&perceptron, "test_accuracy");
    assert!(
        linear_accuracy <= 0.75,
        "a linear model cannot separate xor, yet reached {linear_accuracy}"
    );
    assert_eq!(
        last(&hidden, "test_accuracy"),
        1.0,
        "one hidden layer separates xor"
    );
}

#[test]
fn reports_have_the_promised_fields_and_the_loss_falls() {
    let reports = run(&["models/moons.mlp", "--epochs", "5"]);
    assert_eq!(reports.len(), 5);
    for key in [
        "epoch",
        "train_loss",
        "test_loss",
        "seconds",
        "samples_per_sec",
        "test_accuracy",
    ] {
        assert!(
            reports[0].get(key).is_some(),
            "{key} missing from {}",
            reports[0]
        );
    }
    assert!(last(&reports, "train_loss") < reports[0]["train_loss"].as_f64().expect("loss") * 0.8);
}

#[test]
fn same_seed_same_metrics() {
    let strip = |reports: Vec<Value>| -> Vec<Value> {
        reports
            .into_iter()
            .map(|mut report| {
                let object = report.as_object_mut().expect("object");
                object.remove("seconds");
                object.remove("samples_per_sec");
                report
            })
            .collect()
    };
    let first = strip(run(&["models/digits.mlp", "--epochs", "3"]));
    let second = strip(run(&["models/digits.mlp", "--epochs", "3"]));
    assert_eq!(first, second);
    let other_seed = strip(run(&["models/digits.mlp", "--epochs", "3", "--seed", "99"]));
    assert_ne!(first, other_seed);
}

#[test]
fn moons_reaches_97_percent() {
    let accuracy = last(&run(&["models/moons.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.97, "moons: {accuracy}");
}

#[test]
fn spiral_reaches_95_percent() {
    let accuracy = last(&run(&["models/spiral.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.95, "spiral: {accuracy}");
}

#[test]
fn iris_reaches_93_percent() {
    let accuracy = last(&run(&["models/iris.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.93, "iris: {accuracy}");
}

#[test]
fn digits_reaches_96_percent() {
    let accuracy = last(&run(&["models/digits.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.96, "digits: {accuracy}");
}

#[test]
fn digits_with_residual_blocks_and_prelu_reaches_97_percent() {
    let compiled = run(&["models/digits-residual.mlp"]);
    let accuracy = last(&compiled, "test_accuracy");
    assert!(accuracy >= 0.97, "digits-residual: {accuracy}");
    // burn's autodiff trains the same network to the same figures (the compiled rules of
    // prelu and residual blocks against burn's own derivatives): f32 rounding, amplified by
    // Adam over 280 steps, separates the epochs' losses by 1.5e-4 at most (measured).
    let autodiff = run(&[
        "models/digits-residual.mlp",
        "--step",
        "autodiff",
        "--epochs",
        "5",
    ]);
    let compiled = &compiled[..5];
    for (ours, reference) in compiled.iter().zip(&autodiff) {
        let (a, b) = (
            ours["train_loss"].as_f64(),
            reference["train_loss"].as_f64(),
        );
        let (a, b) = (a.expect("loss"), b.expect("loss"));
        assert!((a - b).abs() <= 2e-3 * b.abs().max(1e-3), "{a} against {b}");
    }
}

#[test]
fn a_run_with_learned_slopes_and_residual_blocks_resumes_exactly() {
    let base = std::env::temp_dir().join(format!("mlpc-resume-residual-{}", std::process::id()));
    let losses = |reports: Vec<Value>| -> Vec<Value> {
        reports
            .into_iter()
            .map(|report| report["train_loss"].clone())
            .collect()
    };
    let model = "models/digits-residual.mlp";
    let whole = losses(run_in(&base.join("whole"), &[model, "--epochs", "4"]));
    let mut split = losses(run_in(&base.join("split"), &[model, "--epochs", "2"]));
    split.extend(losses(run_in(
        &base.join("split"),
        &[model, "--epochs", "4", "--resume"],
    )));
    assert_eq!(split, whole);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn diabetes_explains_40_percent_of_the_variance() {
    let reports = run(&["models/diabetes.mlp"]);
    let r2 = last(&reports, "test_r2");
    assert!(r2 >= 0.40, "diabetes R²: {r2}");
    // RMSE is in the target's units (disease progression, roughly 25 to 346), not standardised.
    let rmse = last(&reports, "test_rmse");
    assert!(
        rmse > 20.0 && rmse < 80.0,
        "RMSE {rmse} is in the target's units"
    );
}

#[test]
fn binary_cross_entropy_with_one_output_separates_circles() {
    let reports = run(&["examples/circles-binary.mlp"]);
    let accuracy = last(&reports, "test_accuracy");
    assert!(accuracy >= 0.95, "circles: {accuracy}");
    assert!(
        reports.last().expect("reports")["validation"]["accuracy"]
            .as_f64()
            .expect("validation accuracy")
            >= 0.9
    );
}

#[test]
fn regularised_blobs_example_trains() {
    let accuracy = last(&run(&["examples/blobs-regularised.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.9, "blobs: {accuracy}");
}

#[test]
fn mnist_subset_learns_quickly() {
    let reports = run(&["tests/models/mnist-small.mlp"]);
    let accuracy = last(&reports, "test_accuracy");
    assert!(accuracy >= 0.90, "6,000 MNIST digits, 3 epochs: {accuracy}");
}

#[test]
fn data_flag_points_a_model_at_another_file() {
    let folder = std::env::temp_dir().join(format!("mlpc-data-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let source = std::fs::read_to_string(workspace().join("data/iris.csv")).expect("iris");
    // The same layout with the rows reversed: a different file, the same model.
    let mut lines: Vec<&str> = source.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let copy = folder.join("iris-reversed.csv");
    std::fs::write(&copy, format!("{header}\n{}\n", lines.join("\n"))).expect("write");
    let reports = run(&[
        "models/iris.mlp",
        "--data",
        &copy.to_string_lossy(),
        "--epochs",
        "30",
    ]);
    assert!(last(&reports, "test_accuracy") >= 0.85);
    // A file of another layout (one more feature column) is refused with what it has and what
    // the model needs.
    let wider: String = source
        .lines()
        .map(|line| {
            format!(
                "{line},{}\n",
                if line.starts_with("sepal") {
                    "extra"
                } else {
                    "1.0"
                }
            )
        })
        .collect();
    let wider_file = folder.join("iris-wider.csv");
    std::fs::write(&wider_file, wider).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args(["run", "models/iris.mlp", "--no-save", "--data"])
        .arg(&wider_file)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .expect("run mlpc");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("it has 5 features and 3 classes")
            && stderr.contains("the network takes 4 inputs and predicts 3 classes"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn mnist_reaches_98_percent() {
    let accuracy = last(&run(&["models/mnist.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.980, "mnist: {accuracy}");
}

#[test]
fn mnist_800_reaches_98_3_percent() {
    let accuracy = last(&run(&["models/mnist-800.mlp"]), "test_accuracy");
    assert!(accuracy >= 0.983, "mnist-800: {accuracy}");
}

/// Runs `mlpc run --json` with a run folder.
fn run_in(folder: &Path, arguments: &[&str]) -> Vec<Value> {
    let folder = folder.to_string_lossy().to_string();
    let mut all = vec!["run"];
    all.extend(arguments);
    all.extend(["--out", &folder, "--json"]);
    json_lines(&mlpc(&all))
}

#[test]
fn an_interrupted_run_resumes_exactly() {
    let strip = |reports: Vec<Value>| -> Vec<(Value, Value, Value)> {
        reports
            .into_iter()
            .map(|report| {
                (
                    report["epoch"].clone(),
                    report["train_loss"].clone(),
                    report["test_accuracy"].clone(),
                )
            })
            .collect()
    };
    let base = std::env::temp_dir().join(format!("mlpc-resume-{}", std::process::id()));
    // Digits has dropout, batch norm and Adam state: all must survive the interruption.
    let whole = strip(run_in(
        &base.join("whole"),
        &["models/digits.mlp", "--epochs", "6"],
    ));
    let first = strip(run_in(
        &base.join("split"),
        &["models/digits.mlp", "--epochs", "3"],
    ));
    let rest = strip(run_in(
        &base.join("split"),
        &["models/digits.mlp", "--epochs", "6", "--resume"],
    ));
    assert_eq!(first.len(), 3);
    assert_eq!(rest.len(), 3, "the resumed run trains epochs 4 to 6 only");
    let joined: Vec<_> = first.into_iter().chain(rest).collect();
    assert_eq!(joined, whole);
    let state: Value =
        serde_json::from_slice(&std::fs::read(base.join("split/run.json")).expect("run.json"))
            .expect("JSON");
    assert_eq!(state["completed_epochs"], 6);
    assert_eq!(
        state["class_names"].as_array().map(Vec::len),
        Some(10),
        "the label mapping is kept with the model"
    );
    // metrics.csv, rewritten from the history the resumed run read back, holds every figure
    // to the last digit (times, and the epochs each row was run for, aside): reading a
    // number back gives the number written.
    let figures = |folder: &str| -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(base.join(folder).join("metrics.csv")).expect("csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
        lines
            .map(|line| {
                line.split(',')
                    .zip(&header)
                    .filter(|(_, name)| !["epochs", "seconds", "samples_per_sec"].contains(name))
                    .map(|(value, _)| value.to_string())
                    .collect()
            })
            .collect()
    };
    assert_eq!(figures("split"), figures("whole"));
    let files: Vec<String> = std::fs::read_dir(base.join("split"))
        .expect("folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        files.contains(&"epoch-6.network.bpk".to_string())
            && !files.iter().any(|name| name.starts_with("epoch-3")),
        "{files:?}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// A run of a two-class generated set saved when its data recorded 3 classes (a value its
/// loader ignores) resumes: the same model.
#[test]
fn a_run_that_recorded_an_ignored_class_count_resumes() {
    let base = std::env::temp_dir().join(format!("mlpc-resume-classes-{}", std::process::id()));
    run_in(&base, &["models/xor.mlp", "--epochs", "1"]);
    let state = base.join("run.json");
    let text = std::fs::read_to_string(&state).expect("run.json");
    let mut saved: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(saved["model"]["data"]["classes"], 2);
    saved["model"]["data"]["classes"] = 3.into();
    std::fs::write(&state, saved.to_string()).expect("rewrite");
    let resumed = run_in(&base, &["models/xor.mlp", "--epochs", "2", "--resume"]);
    assert_eq!(resumed.len(), 1, "{resumed:?}");
    assert_eq!(resumed[0]["epoch"], 2);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn resume_refuses_another_model() {
    let base = std::env::temp_dir().join(format!("mlpc-resume-other-{}", std::process::id()));
    run_in(&base, &["models/iris.mlp", "--epochs", "2"]);
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args([
            "run",
            "models/moons.mlp",
            "--resume",
            "--out",
            &base.to_string_lossy(),
        ])
        .current_dir(workspace())
        .output()
        .expect("run mlpc");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("different model"));
    // The same file with another rate: the difference is named, before any line of training.
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args([
            "run",
            "models/iris.mlp",
            "--epochs",
            "3",
            "--resume",
            "--lr",
            "0.5",
        ])
        .args(["--out", &base.to_string_lossy()])
        .current_dir(workspace())
        .output()
        .expect("run mlpc");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`optimizer.lr` is 0.01 in the run and 0.5 now"),
        "{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn eval_scores_the_saved_model_as_training_did() {
    let folder = std::env::temp_dir().join(format!("mlpc-eval-{}", std::process::id()));
    let reports = run_in(&folder, &["models/diabetes.mlp", "--epochs", "20"]);
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args(["eval", &folder.to_string_lossy(), "--json"])
        .current_dir(workspace())
        .output()
        .expect("run mlpc");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let evaluation: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(evaluation["scored"], "the test split");
    assert_eq!(evaluation["epochs"], 20);
    for (saved, trained) in [
        ("test_loss", "test_loss"),
        ("test_r2", "test_r2"),
        ("test_rmse", "test_rmse"),
    ] {
        let (saved, trained) = (
            evaluation[saved].as_f64().expect("metric"),
            last(&reports, trained),
        );
        assert!(
            (saved - trained).abs() <= 1e-6 * trained.abs().max(1.0),
            "{saved} after loading, {trained} after training"
        );
    }
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn a_checkpoint_resumes_on_the_other_step() {
    let base = std::env::temp_dir().join(format!("mlpc-cross-resume-{}", std::process::id()));
    let strip = |reports: &[Value]| -> Vec<(u64, f64, f64)> {
        reports
            .iter()
            .map(|report| {
                (
                    report["epoch"].as_u64().expect("epoch"),
                    report["train_loss"].as_f64().expect("loss"),
                    report["test_accuracy"].as_f64().expect("accuracy"),
                )
            })
            .collect()
    };
    // Adam's moments, batch norm's statistics and dropout all cross over.
    for (first, second) in [("autodiff", "compiled"), ("compiled", "autodiff")] {
        let whole = strip(&run_in(
            &base.join(format!("{first}-whole")),
            &["models/digits.mlp", "--epochs", "4", "--step", first],
        ));
        let folder = base.join(format!("{first}-then-{second}"));
        let head = strip(&run_in(
            &folder,
            &["models/digits.mlp", "--epochs", "2", "--step", first],
        ));
        let tail = strip(&run_in(
            &folder,
            &[
                "models/digits.mlp",
                "--epochs",
                "4",
                "--resume",
                "--step",
                second,
            ],
        ));
        assert_eq!(
            head[..],
            whole[..2],
            "{first}: the same run up to the interruption"
        );
        assert_eq!(
            tail.iter().map(|row| row.0).collect::<Vec<_>>(),
            vec![3, 4],
            "{second} trains epochs 3 and 4 only"
        );
        // Resumed on the other step, the run goes on as the uninterrupted one did: the two
        // steps differ only by rounding.
        for (resumed, uninterrupted) in tail.iter().zip(&whole[2..]) {
            let gap = (resumed.1 - uninterrupted.1).abs() / uninterrupted.1;
            assert!(
                gap < 1e-3,
                "{first} then {second}: epoch {} loss {} against {} uninterrupted",
                resumed.0,
                resumed.1,
                uninterrupted.1
            );
            assert!((resumed.2 - uninterrupted.2).abs() <= 0.01);
        }
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// `mlpc eval --data FILE` scores every row of the file given, with the labels numbered and the
/// features standardised as in training; a label the model never saw is an error.
#[test]
fn eval_scores_another_file_with_the_training_label_mapping() {
    let base = std::env::temp_dir().join(format!("mlpc-eval-data-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("folder");
    let reports = run_in(&base.join("run"), &["models/iris.mlp", "--epochs", "30"]);
    assert!(last(&reports, "test_accuracy") >= 0.93);
    let iris = std::fs::read_to_string(workspace().join("data/iris.csv")).expect("iris");
    let without_setosa: String = iris
        .lines()
        .filter(|line| !line.contains("setosa"))
        .map(|line| format!("{line}\n"))
        .collect();
    let only_setosa: String = iris
        .lines()
        .enumerate()
        .filter(|(number, line)| *number == 0 || line.contains("setosa"))
        .map(|(_, line)| format!("{line}\n"))
        .collect();
    std::fs::write(base.join("without-setosa.csv"), &without_setosa).expect("write");
    std::fs::write(base.join("only-setosa.csv"), &only_setosa).expect("write");
    let unknown = iris.replacen("setosa", "rosa", 1);
    std::fs::write(base.join("unknown.csv"), &unknown).expect("write");
    let eval = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_mlpc"))
            .args([
                "eval",
                &base.join("run").to_string_lossy(),
                "--json",
                "--data",
            ])
            .arg(base.join(file))
            .current_dir(workspace())
            .output()
            .expect("run mlpc")
    };
    let mut accuracies = Vec::new();
    for (file, rows) in [("without-setosa.csv", 100), ("only-setosa.csv", 50)] {
        let output = eval(file);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let evaluation: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(evaluation["examples"], rows, "{file}: every row is scored");
        assert!(
            evaluation["scored"]
                .as_str()
                .is_some_and(|text| text.contains(file)),
            "{evaluation}"
        );
        // A model at 100% on iris's test split scores a subset of the same flowers as well:
        // with labels renumbered or features restandardised from the file, it would not.
        let accuracy = evaluation["test_accuracy"].as_f64().expect("accuracy");
        assert!(accuracy >= 0.9, "{file}: accuracy {accuracy}");
        accuracies.push(evaluation["test_loss"].as_f64().expect("loss"));
    }
    assert_ne!(
        accuracies[0], accuracies[1],
        "different files, different losses"
    );
    let output = eval("unknown.csv");
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unseen label is invalid input"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`rosa`") && stderr.contains("unknown.csv"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// Raising `--epochs` on `--resume` keeps the schedule of the run as it was started: the
/// epochs already run keep their rates, and a cosine schedule stays at its floor afterwards.
#[test]
fn resuming_with_more_epochs_keeps_the_schedule_horizon() {
    let base = std::env::temp_dir().join(format!("mlpc-horizon-{}", std::process::id()));
    let rates = |reports: &[Value]| -> Vec<f64> {
        reports
            .iter()
            .map(|report| report["learning_rate"].as_f64().expect("rate"))
            .collect()
    };
    let model = "examples/blobs-regularised.mlp";
    let whole = rates(&run_in(&base.join("whole"), &[model, "--epochs", "3"]));
    let head = rates(&run_in(&base.join("split"), &[model, "--epochs", "3"]));
    let tail = rates(&run_in(
        &base.join("split"),
        &[model, "--epochs", "5", "--resume"],
    ));
    assert_eq!(head, whole);
    assert_eq!(tail.len(), 2);
    for rate in tail {
        assert!(
            (rate - 0.0005).abs() < 1e-12,
            "past its horizon, cosine stays at min_lr: {rate}"
        );
    }
    let state: Value =
        serde_json::from_slice(&std::fs::read(base.join("split/run.json")).expect("run.json"))
            .expect("JSON");
    assert_eq!(state["schedule_epochs"], 3);
    let _ = std::fs::remove_dir_all(&base);
}

/// `train { metrics = [...] }` chooses what is reported, and the run folder's `metrics.csv` has
/// one row per epoch with the same figures as `--json`.
#[test]
fn chosen_metrics_are_reported_and_kept_in_metrics_csv() {
    let base = std::env::temp_dir().join(format!("mlpc-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("folder");
    let data = workspace().join("data/diabetes.csv");
    let model = base.join("rmse-only.mlp");
    std::fs::write(
        &model,
        format!(
            "data csv(\"{}\", target = \"progression\", test_fraction = 0.2, split_seed = 1)\n\
             network {{\n  dense 16 relu\n  dense 1\n}}\n\
             loss mse\noptimizer adam(lr = 0.01)\n\
             train {{ epochs = 3, batch_size = 32, seed = 1, metrics = [rmse], validation = 0.1 }}\n",
            data.display()
        ),
    )
    .expect("model");
    let reports = run_in(&base.join("run"), &[&model.to_string_lossy()]);
    for report in &reports {
        assert!(report["test_rmse"].as_f64().is_some(), "{report}");
        assert!(
            report.get("test_mae").is_none() && report.get("test_r2").is_none(),
            "{report}"
        );
        assert!(report["validation"]["rmse"].as_f64().is_some(), "{report}");
        assert!(report["validation"]["mae"].is_null(), "{report}");
    }
    let csv = std::fs::read_to_string(base.join("run/metrics.csv")).expect("metrics.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,epochs,train_loss,test_loss,test_rmse,validation_loss,validation_rmse,learning_rate,seconds,samples_per_sec"
    );
    assert_eq!(lines.len(), 1 + reports.len());
    for (line, report) in lines[1..].iter().zip(&reports) {
        let fields: Vec<f64> = line
            .split(',')
            .map(|field| field.parse().expect("a number"))
            .collect();
        assert_eq!(fields[0], report["epoch"].as_f64().expect("epoch"));
        assert_eq!(fields[2], report["train_loss"].as_f64().expect("loss"));
        assert_eq!(fields[4], report["test_rmse"].as_f64().expect("rmse"));
    }
    let _ = std::fs::remove_dir_all(&base);
}

/// On a terminal (a pseudo-terminal from `script`), each epoch shows a live bar that gives way
/// to the epoch's line; on a pipe the output is the plain lines, with no control characters.
#[test]
fn a_terminal_gets_a_live_bar_and_a_pipe_plain_lines() {
    let mlpc = env!("CARGO_BIN_EXE_mlpc");
    let command = format!("{mlpc} run models/digits.mlp --epochs 2 --no-save");
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(workspace())
        .env("TERM", "xterm")
        .output()
        .expect("script(1) runs mlpc on a pseudo-terminal");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("batches") && shown.contains("samples/s"),
        "{shown}"
    );
    assert!(shown.contains('\r') || shown.contains('\u{1b}'), "{shown}");
    for epoch in ["epoch 1/2", "epoch 2/2"] {
        assert!(
            shown.lines().any(|line| line
                .trim_start_matches(|c: char| c.is_control()
                    || c == '['
                    || c.is_ascii_digit()
                    || c == 'K')
                .starts_with(epoch)
                || line.contains(&format!("{epoch}  train loss"))),
            "{epoch}'s summary line stays: {shown}"
        );
    }
    let piped = Command::new(mlpc)
        .args(["run", "models/digits.mlp", "--epochs", "2", "--no-save"])
        .current_dir(workspace())
        .output()
        .expect("run mlpc");
    let plain = String::from_utf8_lossy(&piped.stdout) + String::from_utf8_lossy(&piped.stderr);
    assert!(!plain.contains('\r') && !plain.contains('\u{1b}') && !plain.contains("batches"));
    assert_eq!(
        plain
            .lines()
            .filter(|line| line.starts_with("epoch "))
            .count(),
        2,
        "{plain}"
    );
}
