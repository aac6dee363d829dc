//! `mlpc gradcheck` end to end: every shipped model, and a model generated from the vocabulary
//! tables holding every layer kind and every activation (once per loss), passes with both
//! training steps; a planted mistake in the compiled step fails it, on the tensor it touches.
//! A new layer kind, activation or loss is in the generated models the day its table row
//! exists, so one without a correct backward rule fails here by itself.

mod common;

use common::{mlpc, mlpc_command, workspace};
use mlpc_ir::vocabulary::{ACTIVATIONS, LAYERS, LOSSES};

/// The one JSON object `mlpc gradcheck --json FILE` prints, and whether it exited 0.
fn gradcheck(file: &str, mistake: Option<&str>) -> (serde_json::Value, bool) {
    let mut command = mlpc_command(&["gradcheck", "--json", file]);
    if let Some(mistake) = mistake {
        command.env("MLPC_GRADCHECK_MISTAKE", mistake);
    }
    let output = command.output().expect("run mlpc");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "{file}: no JSON report: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.success())
}

/// Asserts that every tensor was checked by both steps and passed.
fn assert_passes(label: &str, report: &serde_json::Value, passed: bool) {
    let tensors = report["tensors"].as_array().expect("tensors");
    assert!(!tensors.is_empty(), "{label}: no trainable tensor checked");
    for tensor in tensors {
        assert!(
            tensor["compiled"].is_number(),
            "{label}: {} not checked on the compiled step",
            tensor["path"]
        );
    }
    assert!(
        passed && report["passed"] == true,
        "{label}: gradients beyond tolerance: {report:#}"
    );
    let worst = report["worst"].as_f64().expect("worst");
    assert!(worst <= 1e-4, "{label}: worst relative error {worst}");
}

#[test]
fn every_shipped_model_passes() {
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace().join("models")).expect("models/") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|extension| extension.to_str()) != Some("mlp") {
            continue;
        }
        let file = format!(
            "models/{}",
            path.file_name().expect("name").to_string_lossy()
        );
        let (report, passed) = gradcheck(&file, None);
        assert_passes(&file, &report, passed);
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} shipped models found");
}

/// Data that fits a loss: three classes, two classes with one logit, or a regression target.
const DATA: [(&str, usize); 3] = [
    ("spiral(n = 300, classes = 3, noise = 0.05, seed = 5)", 3),
    ("moons(n = 300, noise = 0.1, seed = 3)", 1),
    ("csv(\"DIABETES\", target = \"progression\")", 1),
];

/// A model holding every layer kind (each as its table's example writes it) and every
/// activation, with `loss` and the first data set its checker accepts.
fn every_kind_model(loss_line: &str, folder: &std::path::Path) -> std::path::PathBuf {
    let mut lines = vec!["dense 128 tanh".to_string()];
    lines.extend(
        LAYERS
            .rows
            .iter()
            .filter(|row| row.name != "input")
            .map(|row| row.example.to_string()),
    );
    lines.extend(ACTIVATIONS.rows.iter().map(|row| row.example.to_string()));
    let diabetes = workspace().join("data/diabetes.csv");
    for (data, outputs) in DATA {
        let data = data.replace("DIABETES", &diabetes.to_string_lossy());
        let text = format!(
            "data {data}\nnetwork {{\n  {}\n  dense {outputs}\n}}\n{loss_line}\n\
             optimizer sgd(lr = 0.1)\ntrain {{ epochs = 1, batch_size = 32, seed = 9 }}\n",
            lines.join("\n  ")
        );
        let path = folder.join(format!(
            "{}.mlp",
            loss_line.replace([' ', '(', ')', '='], "_")
        ));
        if mlpc_ir::compile(&text, &path).is_ok() {
            std::fs::write(&path, text).expect("write the model");
            return path;
        }
    }
    panic!("no data set fits `{loss_line}`: add one to DATA");
}

#[test]
fn every_layer_kind_activation_and_loss_passes() {
    let folder = common::fresh_folder("gradcheck-kinds");
    std::fs::create_dir_all(&folder).expect("folder");
    for row in LOSSES.rows {
        let path = every_kind_model(row.example, &folder);
        let file = path.to_string_lossy().to_string();
        let (report, passed) = gradcheck(&file, None);
        assert_passes(row.example, &report, passed);
        // Every trainable layer kind shows up among the checked tensors.
        let paths: Vec<String> = report["tensors"]
            .as_array()
            .expect("tensors")
            .iter()
            .map(|tensor| tensor["path"].as_str().expect("path").to_string())
            .collect();
        for kind in ["Dense", "BatchNorm", "LayerNorm", "Prelu", "Residual"] {
            assert!(
                paths.iter().any(|path| path.contains(kind)),
                "{}: no {kind} tensor in {paths:?}",
                row.example
            );
        }
    }
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn a_wrong_backward_rule_fails() {
    // The first parameter's gradient scaled by 1.5: that tensor, and only it, fails.
    let (report, passed) = gradcheck("models/digits.mlp", Some("scale"));
    assert!(!passed && report["passed"] == false, "{report:#}");
    let tensors = report["tensors"].as_array().expect("tensors");
    let first = &tensors[0];
    let compiled = first["compiled"].as_f64().expect("compiled");
    assert!(compiled > 0.2, "{first}");
    assert!(first["autodiff"].as_f64().expect("autodiff") < 1e-4);
    assert!(
        tensors[1..]
            .iter()
            .all(|tensor| tensor["compiled"].as_f64().expect("compiled") < 1e-4),
        "{report:#}"
    );
    // Activation derivatives dropped: caught too.
    let (report, passed) = gradcheck("models/moons.mlp", Some("activation"));
    assert!(!passed, "{report:#}");
    assert!(report["worst"].as_f64().expect("worst") > 0.01);
}

#[test]
fn the_table_names_each_tensor_and_the_verdict() {
    let output = mlpc(&["gradcheck", "models/iris.mlp"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("layers.0.Dense.linear.weight"), "{text}");
    assert!(text.contains("4x16"), "{text}");
    assert!(
        text.lines().last().expect("a line").ends_with(": ok"),
        "{text}"
    );
    assert!(!text.contains("(asked:"), "{text}");
    // 750 training rows give 23 batches of 32 distinct rows, not the 100 asked for: said.
    let output = mlpc(&["gradcheck", "models/moons.mlp", "--batches", "100"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("(asked: 100 of "), "{text}");

    let output = mlpc(&["gradcheck", "models/iris.mlp", "--backend", "wgpu"]);
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("f64"), "{error}");
    assert!(error.contains("--backend flex"), "{error}");
}
