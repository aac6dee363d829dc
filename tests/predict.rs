//! `mlpc predict` through the binary: the saved model of a run on new CSV rows (a file or
//! standard input, columns found by name, the target ignored), IDX images and PGM images, with
//! the training run's label names and standardisation.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::Value;

mod common;
use common::{fresh_folder, json_lines, mlpc_command, workspace};

fn mlpc(arguments: &[&str], input: Option<&str>) -> Output {
    let mut child = mlpc_command(arguments)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mlpc");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(input.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

fn train(model: &str, out: &Path, epochs: &str) {
    let output = mlpc(
        &[
            "run",
            model,
            "--epochs",
            epochs,
            "--json",
            "--out",
            &out.to_string_lossy(),
        ],
        None,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn iris_rows_get_their_species_and_probabilities() {
    let out = fresh_folder("predict-iris");
    train("models/iris.mlp", &out, "40");
    let run = out.to_string_lossy().into_owned();
    let csv = std::fs::read_to_string(workspace().join("data/iris.csv")).expect("iris");
    let truth: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap())
        .collect();
    let predictions = json_lines(&mlpc(&["predict", &run, "-", "--json"], Some(&csv)));
    assert_eq!(predictions.len(), truth.len());
    let mut right = 0;
    for (row, (prediction, label)) in predictions.iter().zip(&truth).enumerate() {
        assert_eq!(prediction["row"], row);
        let probabilities = prediction["probabilities"]
            .as_object()
            .expect("probabilities");
        let names: Vec<&String> = probabilities.keys().collect();
        assert_eq!(names, ["setosa", "versicolor", "virginica"]);
        let total: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        right += usize::from(prediction["label"] == *label);
    }
    assert!(
        right * 100 >= truth.len() * 93,
        "{right} of {}",
        truth.len()
    );
    // One row alone is standardised with the training statistics, not its own: the same
    // probabilities as within the whole file. Columns are found by name; no target needed.
    let mut lines = csv.lines();
    let _header = lines.next();
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    let shuffled = format!(
        "petal_width,sepal_length,petal_length,sepal_width\n{},{},{},{}\n",
        first[3], first[0], first[2], first[1]
    );
    let alone = json_lines(&mlpc(&["predict", &run, "-", "--json"], Some(&shuffled)));
    assert_eq!(alone[0]["probabilities"], predictions[0]["probabilities"]);
    // --top 1: the best class only.
    let top = json_lines(&mlpc(
        &["predict", &run, "-", "--json", "--top", "1"],
        Some(&shuffled),
    ));
    let only = top[0]["probabilities"].as_object().expect("probabilities");
    assert_eq!(only.len(), 1);
    assert!(only.contains_key(top[0]["label"].as_str().unwrap()));
    // Text output: a line per row with the label and the percentages.
    let text = mlpc(&["predict", &run, "-"], Some(&shuffled));
    let line = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(line.starts_with("0: setosa  (setosa "), "{line}");
    // An unknown column is an error naming the input, exit 2.
    let output = mlpc(&["predict", &run, "-"], Some("sepal_length,colour\n1,2\n"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("<standard input>:1: column 2 `colour` is not one the model was trained on"),
        "{stderr}"
    );
    // Inputs that would be misread are refused, each with exit 2 and one error: a file
    // without a header (its first row taken for names), an image for a model of columns,
    // --top 0, and a missing file (relative to the working folder, not to a model file).
    let refusals: [(&[&str], Option<&str>, &str); 4] = [
        (
            &["-"],
            Some("5.1,3.5,1.4,0.2\n6.2,3.4,5.4,2.3\n"),
            "the first line holds numbers (`5.1,3.5,1.4,0.2`), not column names",
        ),
        (
            &["docs/pictures/iris-confusion.png"],
            None,
            "is an image, and this model takes 4 numbers from a CSV file",
        ),
        (
            &["-", "--top", "0"],
            Some(&shuffled),
            "--top takes 1 class at least",
        ),
        (
            &["no-such-file.csv"],
            None,
            "a path on the command line is relative to the folder mlpc runs in",
        ),
    ];
    for (arguments, input, expected) in refusals {
        let mut all = vec!["predict", run.as_str()];
        all.extend(arguments);
        let output = mlpc(&all, input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {stderr}");
        assert!(stderr.contains(expected), "{arguments:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{arguments:?}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn regression_values_come_in_the_targets_units() {
    let out = fresh_folder("predict-diabetes");
    train("models/diabetes.mlp", &out, "60");
    let csv = workspace().join("data/diabetes.csv");
    let predictions = json_lines(&mlpc(
        &[
            "predict",
            &out.to_string_lossy(),
            &csv.to_string_lossy(),
            "--json",
        ],
        None,
    ));
    let text = std::fs::read_to_string(&csv).expect("diabetes");
    let truth: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(predictions.len(), truth.len());
    let error: f64 = predictions
        .iter()
        .zip(&truth)
        .map(|(prediction, truth)| (prediction["value"].as_f64().unwrap() - truth).abs())
        .sum::<f64>()
        / truth.len() as f64;
    // The target's deviation is about 77: standardised outputs would be off by ~150.
    assert!(error < 60.0, "mean absolute error {error}");
    // A value has no classes to pick from.
    let output = mlpc(
        &[
            "predict",
            &out.to_string_lossy(),
            &csv.to_string_lossy(),
            "--top",
            "2",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--top picks the most probable classes, and this model predicts a value")
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// The first `count` bytes of the images (after the 16-byte header) and labels of MNIST's
/// test set.
fn mnist_test(count: usize) -> (Vec<u8>, Vec<u8>) {
    let read = |name: &str| {
        let file = std::fs::File::open(workspace().join("data/mnist").join(name)).expect("file");
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut bytes)
            .expect("gzip");
        bytes
    };
    let images = read("t10k-images-idx3-ubyte.gz");
    let labels = read("t10k-labels-idx1-ubyte.gz");
    (
        images[16..16 + count * 784].to_vec(),
        labels[8..8 + count].to_vec(),
    )
}

/// The probabilities `mlpc predict` gives the PGM image at `pgm`.
fn predictions_of_first(run: &str, pgm: &Path) -> Value {
    json_lines(&mlpc(
        &["predict", run, &pgm.to_string_lossy(), "--json"],
        None,
    ))[0]["probabilities"]
        .clone()
}

#[test]
fn mnist_images_from_idx_png_and_pgm_files() {
    let out = fresh_folder("predict-mnist");
    train("models/mnist.mlp", &out, "1");
    let run = out.to_string_lossy().into_owned();
    let images = workspace().join("data/mnist/t10k-images-idx3-ubyte.gz");
    let predictions = json_lines(&mlpc(
        &[
            "predict",
            &run,
            &images.to_string_lossy(),
            "--json",
            "--top",
            "1",
        ],
        None,
    ));
    assert_eq!(predictions.len(), 10_000);
    let (pixels, labels) = mnist_test(10_000);
    let right = predictions
        .iter()
        .zip(&labels)
        .filter(|(prediction, label)| prediction["label"] == label.to_string())
        .count();
    assert!(right >= 9_400, "{right} of 10000 after one epoch");
    // The first test image as a PGM file: the same prediction.
    let pgm = out.join("seven.pgm");
    let mut bytes = b"P5\n28 28\n255\n".to_vec();
    bytes.extend(&pixels[..784]);
    std::fs::write(&pgm, bytes).expect("pgm");
    let one = json_lines(&mlpc(
        &["predict", &run, &pgm.to_string_lossy(), "--json"],
        None,
    ));
    assert_eq!(one[0]["label"], predictions[0]["label"]);
    assert_eq!(one[0]["label"], "7");
    // The same image as a PNG, and at twice the size (resized back to 28x28): the same label.
    let write_png = |name: &str, side: u32, pixels: &[u8]| {
        let path = out.join(name);
        let file = std::fs::File::create(&path).expect("png");
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(pixels).expect("pixels");
        path
    };
    let seven = write_png("seven.png", 28, &pixels[..784]);
    let doubled: Vec<u8> = (0..56 * 56)
        .map(|index| pixels[(index / 56 / 2) * 28 + (index % 56) / 2])
        .collect();
    let large = write_png("seven-56.png", 56, &doubled);
    let reference = predictions_of_first(&run, &pgm);
    for image in [seven, large] {
        let one = json_lines(&mlpc(
            &["predict", &run, &image.to_string_lossy(), "--json"],
            None,
        ));
        assert_eq!(one[0]["label"], "7");
        for (class, probability) in reference.as_object().expect("classes") {
            let gap = (one[0]["probabilities"][class].as_f64().unwrap()
                - probability.as_f64().unwrap())
            .abs();
            assert!(
                gap < 1e-5,
                "{}: class {class} off by {gap}",
                image.display()
            );
        }
    }
    // An image that is not square: an error naming the file and both shapes, exit 2.
    let wide = out.join("wide.pgm");
    std::fs::write(&wide, format!("P2 20 10 255\n{}", "0 ".repeat(200))).expect("pgm");
    let output = mlpc(&["predict", &run, &wide.to_string_lossy()], None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("wide.pgm")
            && stderr.contains("an image of 20x10 = 200 pixels, but the model takes 28x28 = 784"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
