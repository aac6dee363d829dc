//! `mlpc export`: the safetensors file read back with the `safetensors` crate has PyTorch's
//! `nn.Sequential` names and layouts, and a forward pass written here from its tensors and
//! metadata alone predicts exactly what `mlpc predict` does.

use safetensors::SafeTensors;
use serde_json::Value;

mod common;
use common::{fresh_folder, mlpc_ok, workspace};

fn floats(tensors: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = tensors
        .tensor(name)
        .unwrap_or_else(|_| panic!("no tensor {name}"));
    assert_eq!(view.dtype(), safetensors::Dtype::F32);
    let values = view
        .data()
        .chunks(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().expect("4 bytes")))
        .collect();
    (view.shape().to_vec(), values)
}

/// `x Wᵀ + b` with PyTorch's `[out, in]` weight.
fn linear(input: &[f32], (shape, weight): &(Vec<usize>, Vec<f32>), bias: &[f32]) -> Vec<f32> {
    let (outputs, inputs) = (shape[0], shape[1]);
    (0..outputs)
        .map(|unit| {
            bias[unit]
                + (0..inputs)
                    .map(|index| weight[unit * inputs + index] * input[index])
                    .sum::<f32>()
        })
        .collect()
}

/// The names of a file's tensors, sorted.
fn sorted_names(tensors: &SafeTensors) -> Vec<String> {
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    names
}

/// Trains the model `text` (its folder named from `name`) and exports it: the file's bytes.
fn trained_and_exported(name: &str, text: &str) -> Vec<u8> {
    let out = fresh_folder(name);
    std::fs::create_dir_all(&out).expect("folder");
    let model = out.join("model.mlp");
    std::fs::write(&model, text).expect("model");
    let run = out.join("run").to_string_lossy().into_owned();
    mlpc_ok(&["run", &model.to_string_lossy(), "--json", "--out", &run]);
    let file = out.join("model.safetensors");
    mlpc_ok(&["export", &run, "--out", &file.to_string_lossy()]);
    let bytes = std::fs::read(&file).expect("the file");
    let _ = std::fs::remove_dir_all(&out);
    bytes
}

#[test]
fn iris_exported_weights_predict_as_mlpc_does() {
    let out = fresh_folder("export-iris");
    let run = out.to_string_lossy().into_owned();
    mlpc_ok(&[
        "run",
        "models/iris.mlp",
        "--epochs",
        "40",
        "--json",
        "--out",
        &run,
    ]);
    mlpc_ok(&["export", &run, "--format", "safetensors"]);
    let bytes = std::fs::read(out.join("model.safetensors")).expect("the file");
    let tensors = SafeTensors::deserialize(&bytes).expect("safetensors");
    let mut names: Vec<String> = tensors.names().into_iter().map(str::to_string).collect();
    names.sort();
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("header");
    let metadata = metadata.metadata().clone().expect("metadata");
    assert_eq!(
        metadata["mlpc_sequential"],
        "Sequential(Linear(4, 16, bias=True), Tanh(), Linear(16, 3, bias=True))"
    );
    let ir: Value = serde_json::from_str(&metadata["mlpc_ir"]).expect("the IR");
    assert_eq!(ir["name"], "iris");
    let classes: Vec<String> = serde_json::from_str(&metadata["mlpc_class_names"]).expect("names");
    assert_eq!(metadata["mlpc_target_standardization"], "null", "classes");
    let scales: Vec<Value> =
        serde_json::from_str(&metadata["mlpc_feature_standardization"]).expect("statistics");
    let first = floats(&tensors, "0.weight");
    assert_eq!(first.0, [16, 4], "PyTorch's [out, in]");
    let (_, first_bias) = floats(&tensors, "0.bias");
    let second = floats(&tensors, "2.weight");
    let (_, second_bias) = floats(&tensors, "2.bias");
    // Every iris row through the exported network, against `mlpc predict`.
    let csv = std::fs::read_to_string(workspace().join("data/iris.csv")).expect("iris");
    let predicted = mlpc_ok(&["predict", &run, "data/iris.csv", "--json"]);
    let predicted: Vec<Value> = String::from_utf8_lossy(&predicted.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    let mut right = 0;
    for (line, expected) in csv.lines().skip(1).zip(&predicted) {
        let fields: Vec<&str> = line.split(',').collect();
        let input: Vec<f32> = fields[..4]
            .iter()
            .zip(&scales)
            .map(|(field, scale)| {
                let value: f64 = field.parse().expect("number");
                ((value - scale["mean"].as_f64().unwrap()) / scale["deviation"].as_f64().unwrap())
                    as f32
            })
            .collect();
        let hidden: Vec<f32> = linear(&input, &first, &first_bias)
            .into_iter()
            .map(f32::tanh)
            .collect();
        let logits = linear(&hidden, &second, &second_bias);
        let best = (0..logits.len())
            .max_by(|&left, &right| logits[left].total_cmp(&logits[right]))
            .expect("classes");
        assert_eq!(expected["label"], classes[best], "{line}");
        right += usize::from(classes[best] == fields[4]);
    }
    assert!(right >= 140, "{right} of 150");
    // The exported weights reproduce the run's own metric on the same rows.
    let scored = mlpc_ok(&["eval", &run, "--data", "data/iris.csv", "--json"]);
    let scored: Value = serde_json::from_slice(&scored.stdout).expect("JSON");
    assert_eq!(scored["examples"], 150);
    let accuracy = scored["test_accuracy"].as_f64().expect("accuracy");
    assert!(
        (accuracy - right as f64 / 150.0).abs() < 1e-9,
        "{accuracy} against {right}/150"
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// A regression's export carries the target's standardisation: the exported network's
/// outputs, turned back into the target's units with it, are `mlpc predict`'s values.
#[test]
fn a_regression_exports_its_target_standardization() {
    let out = fresh_folder("export-diabetes");
    let run = out.to_string_lossy().into_owned();
    mlpc_ok(&[
        "run",
        "models/diabetes.mlp",
        "--epochs",
        "3",
        "--json",
        "--out",
        &run,
    ]);
    mlpc_ok(&["export", &run]);
    let bytes = std::fs::read(out.join("model.safetensors")).expect("the file");
    let tensors = SafeTensors::deserialize(&bytes).expect("safetensors");
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("header");
    let metadata = metadata.metadata().clone().expect("metadata");
    let target: Value =
        serde_json::from_str(&metadata["mlpc_target_standardization"]).expect("statistics");
    let (mean, deviation) = (
        target["mean"].as_f64().expect("mean"),
        target["deviation"].as_f64().expect("deviation"),
    );
    assert!(mean > 100.0 && deviation > 50.0, "{target}");
    let scales: Vec<Value> =
        serde_json::from_str(&metadata["mlpc_feature_standardization"]).expect("statistics");
    // dense 8 relu (0, 1), dropout (2), dense 1 (3).
    let first = floats(&tensors, "0.weight");
    let (_, first_bias) = floats(&tensors, "0.bias");
    let second = floats(&tensors, "3.weight");
    let (_, second_bias) = floats(&tensors, "3.bias");
    let csv = std::fs::read_to_string(workspace().join("data/diabetes.csv")).expect("diabetes");
    let predicted = mlpc_ok(&["predict", &run, "data/diabetes.csv", "--json"]);
    let predicted: Vec<Value> = String::from_utf8_lossy(&predicted.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    assert_eq!(predicted.len(), 442);
    for (line, expected) in csv.lines().skip(1).zip(&predicted) {
        let fields: Vec<f64> = line
            .split(',')
            .map(|field| field.parse().expect("number"))
            .collect();
        let input: Vec<f32> = fields[..10]
            .iter()
            .zip(&scales)
            .map(|(value, scale)| {
                ((value - scale["mean"].as_f64().unwrap()) / scale["deviation"].as_f64().unwrap())
                    as f32
            })
            .collect();
        let hidden: Vec<f32> = linear(&input, &first, &first_bias)
            .into_iter()
            .map(|value| value.max(0.0))
            .collect();
        let output = linear(&hidden, &second, &second_bias)[0] as f64;
        let value = output * deviation + mean;
        let expected = expected["value"].as_f64().expect("value");
        assert!(
            (value - expected).abs() < 1e-3 * expected.abs().max(1.0),
            "{line}: {value} against {expected}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn batch_norm_and_dropout_take_their_places_in_the_sequence() {
    let bytes = trained_and_exported(
        "export-norm",
        "model normed\ndata moons(n = 200, noise = 0.1, seed = 1)\n\
         network {\n  dense 8 relu\n  batchnorm\n  dropout 0.1\n  dense 2\n}\n\
         loss cross_entropy\noptimizer adam(lr = 0.01)\ntrain { epochs = 2 }\n",
    );
    let tensors = SafeTensors::deserialize(&bytes).expect("safetensors");
    assert_eq!(
        sorted_names(&tensors),
        [
            "0.bias",
            "0.weight",
            "2.bias",
            "2.num_batches_tracked",
            "2.running_mean",
            "2.running_var",
            "2.weight",
            "4.bias",
            "4.weight"
        ]
    );
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("header");
    assert_eq!(
        metadata.metadata().clone().expect("metadata")["mlpc_sequential"],
        "Sequential(Linear(2, 8, bias=True), ReLU(), BatchNorm1d(8, eps=0.00001, momentum=0.1), Dropout(p=0.1), Linear(8, 2, bias=True))"
    );
    let (_, variance) = floats(&tensors, "2.running_var");
    assert!(
        variance.iter().any(|value| (value - 1.0).abs() > 1e-3),
        "trained statistics"
    );
}

#[test]
fn prelu_slopes_are_exported_as_pytorch_prelu_weights() {
    let bytes = trained_and_exported(
        "export-prelu",
        "model slopes\ndata moons(n = 200, noise = 0.1, seed = 1)\n\
         network {\n  dense 8\n  prelu(slope = 0.1)\n  dense 2\n}\n\
         loss cross_entropy\noptimizer adam(lr = 0.05)\ntrain { epochs = 3 }\n",
    );
    let tensors = SafeTensors::deserialize(&bytes).expect("safetensors");
    let (shape, slopes) = floats(&tensors, "1.weight");
    assert_eq!(shape, [8]);
    // Learned: the slopes left their starting value, each its own way.
    assert!(
        slopes.iter().any(|slope| (slope - 0.1).abs() > 1e-3),
        "{slopes:?}"
    );
    assert!(
        slopes.iter().any(|slope| (slope - slopes[0]).abs() > 1e-4),
        "{slopes:?}"
    );
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("header");
    assert_eq!(
        metadata.metadata().clone().expect("metadata")["mlpc_sequential"],
        "Sequential(Linear(2, 8, bias=True), PReLU(num_parameters=8, init=0.1), Linear(8, 2, bias=True))"
    );
}

#[test]
fn a_residual_block_is_one_module_with_its_own_sequence() {
    let bytes = trained_and_exported(
        "export-residual",
        "model blocks\ndata moons(n = 200, noise = 0.1, seed = 1)\n\
         network {\n  dense 8\n  residual {\n    dense 8 relu\n    dense 8\n  }\n  dense 2\n}\n\
         loss cross_entropy\noptimizer adam(lr = 0.05)\ntrain { epochs = 2 }\n",
    );
    let tensors = SafeTensors::deserialize(&bytes).expect("safetensors");
    assert_eq!(
        sorted_names(&tensors),
        [
            "0.bias",
            "0.weight",
            "1.block.0.bias",
            "1.block.0.weight",
            "1.block.2.bias",
            "1.block.2.weight",
            "2.bias",
            "2.weight"
        ]
    );
    let (_, metadata) = SafeTensors::read_metadata(&bytes).expect("header");
    assert_eq!(
        metadata.metadata().clone().expect("metadata")["mlpc_sequential"],
        "Sequential(Linear(2, 8, bias=True), Residual(Sequential(Linear(8, 8, bias=True), ReLU(), Linear(8, 8, bias=True))), Linear(8, 2, bias=True))"
    );
}
