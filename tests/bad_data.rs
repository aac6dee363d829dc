//! Bad data through the `mlpc` binary: each case is one error that names the file and the
//! record (CSV line) or what is wrong with it (IDX), exit status 2, and no panic.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{fresh_folder, mlpc, mlpc_command, wgpu_present, workspace};

/// Asserts that `mlpc run MODEL --no-save --epochs 1` gives one error (no panic, no internal
/// error) containing each of `expected`, status 2.
fn refused(model: &Path, expected: &[&str]) {
    let output = mlpc(&[
        "run",
        &model.to_string_lossy(),
        "--no-save",
        "--epochs",
        "1",
    ]);
    let (status, stderr) = (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_eq!(status, Some(2), "{}: {stderr}", model.display());
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!stderr.contains("internal error") && !stderr.contains("panicked"));
    for text in expected {
        assert!(stderr.contains(text), "`{text}` not in:\n{stderr}");
    }
}

fn csv_model(
    folder: &Path,
    name: &str,
    contents: &str,
    target: &str,
    test: Option<&str>,
) -> PathBuf {
    std::fs::write(folder.join(format!("{name}.csv")), contents).expect("csv");
    let test = test.map_or(String::from("test_fraction = 0.5"), |file| {
        format!("test = \"{file}\"")
    });
    let model = folder.join(format!("{name}.mlp"));
    std::fs::write(
        &model,
        format!(
            "model {name}\n\
             data csv(\"{name}.csv\", target = \"{target}\", {test})\n\
             network {{\n  dense 4 relu\n  dense 2\n}}\n\
             loss cross_entropy\n\
             optimizer sgd(lr = 0.1)\n"
        ),
    )
    .expect("model");
    model
}

#[test]
fn csv_files_that_cannot_be_read_name_their_line() {
    let here = fresh_folder("bad-csv");
    std::fs::create_dir_all(&here).expect("folder");
    let good = "a,b,y\n1,2,x\n3,4,z\n5,6,x\n7,8,z\n";
    let cases: [(&str, String, &str, &[&str]); 12] = [
        (
            "ragged",
            "a,b,y\n1,2,x\n3\n5,6,z\n".into(),
            "y",
            &["ragged.csv:3", "this record has 1 fields, the header has 3"],
        ),
        (
            "word",
            "a,b,y\n1,2,x\n3,four,z\n".into(),
            "y",
            &[
                "word.csv:3",
                "column `b` holds `four`, which is not a number",
                "word.mlp:2:1",
                "one 0/1 column per category",
            ],
        ),
        (
            "hole",
            "a,b,y\n1,,x\n3,4,z\n".into(),
            "y",
            &["hole.csv:2", "column `b` is empty"],
        ),
        (
            "nan",
            "a,b,y\n1,2,x\nNaN,4,z\n".into(),
            "y",
            &[
                "nan.csv:3",
                "column `a` holds `NaN`, which is not a finite number",
            ],
        ),
        (
            "infinite",
            "a,b,y\n1,inf,x\n3,4,z\n".into(),
            "y",
            &[
                "infinite.csv:2",
                "column `b` holds `inf`, which is not a finite number",
            ],
        ),
        (
            "header",
            "a,b,y\n".into(),
            "y",
            &["header.csv:1", "the file has a header but no records"],
        ),
        (
            "target",
            good.into(),
            "label",
            &[
                "target.csv` has no column named `label`",
                "the columns are: a, b, y",
            ],
        ),
        ("missing", String::new(), "y", &["missing.csv"]),
        (
            "decimal_comma",
            "a;b;y\n1,5;2;x\n3;4;z\n".into(),
            "y",
            &[
                "decimal_comma.csv:2",
                "column `a` holds `1,5`, which is not a number",
                "write `1.5`, not `1,5`",
            ],
        ),
        (
            "trailing_comma",
            "a,b,y,\n1,2,x,\n3,4,z,\n".into(),
            "y",
            &[
                "trailing_comma.csv:1",
                "column 4 has no name in the header (a comma at the end of each line",
            ],
        ),
        (
            "twice",
            "a,a,y\n1,2,x\n3,4,z\n".into(),
            "y",
            &["twice.csv:1", "columns 1 and 2 are both named `a`"],
        ),
        (
            "target_only",
            "y\nx\nz\nx\nz\n".into(),
            "y",
            &[
                "target_only.csv` has no feature column: its only column is the target `y`",
                "target_only.mlp:2:1",
                "one column at least besides the target",
            ],
        ),
    ];
    for (name, contents, target, expected) in cases {
        let model = csv_model(&here, name, &contents, target, None);
        if name == "missing" {
            std::fs::remove_file(here.join("missing.csv")).expect("remove");
        }
        refused(&model, expected);
    }
    let _ = std::fs::remove_dir_all(&here);
}

#[test]
fn a_test_file_with_a_class_training_never_had_is_refused() {
    let here = fresh_folder("bad-labels");
    std::fs::create_dir_all(&here).expect("folder");
    std::fs::write(here.join("other.csv"), "a,b,y\n1,2,x\n3,4,w\n").expect("test file");
    let model = csv_model(
        &here,
        "train",
        "a,b,y\n1,2,x\n3,4,z\n5,6,x\n",
        "y",
        Some("other.csv"),
    );
    refused(
        &model,
        &[
            "other.csv:3",
            "label `w`",
            "not among the training file's labels",
        ],
    );
    let _ = std::fs::remove_dir_all(&here);
}

/// An IDX image file: `count` images of `side`×`side` pixels, `bytes` of them written.
fn images(count: u32, side: u32, magic: u32, bytes: Option<usize>) -> Vec<u8> {
    let mut data = Vec::new();
    for value in [magic, count, side, side] {
        data.extend(value.to_be_bytes());
    }
    let pixels = (count * side * side) as usize;
    data.extend((0..pixels).map(|index| (index % 251) as u8));
    data.truncate(bytes.unwrap_or(data.len()));
    data
}

fn labels(count: u32) -> Vec<u8> {
    let mut data = Vec::new();
    for value in [2049u32, count] {
        data.extend(value.to_be_bytes());
    }
    data.extend((0..count).map(|index| (index % 10) as u8));
    data
}

/// A folder of the four MNIST files (the training images as given) and a model reading it.
fn idx_model(here: &Path, name: &str, train_images: Vec<u8>, train_labels: Vec<u8>) -> PathBuf {
    let set = here.join(name);
    std::fs::create_dir_all(&set).expect("folder");
    std::fs::write(set.join("train-images-idx3-ubyte"), train_images).expect("images");
    std::fs::write(set.join("train-labels-idx1-ubyte"), train_labels).expect("labels");
    std::fs::write(
        set.join("t10k-images-idx3-ubyte"),
        images(20, 28, 2051, None),
    )
    .expect("images");
    std::fs::write(set.join("t10k-labels-idx1-ubyte"), labels(20)).expect("labels");
    let model = here.join(format!("{name}.mlp"));
    std::fs::write(
        &model,
        format!(
            "model {name}\n\
             data mnist(\"{name}\")\n\
             network {{\n  input 784\n  dense 16 relu\n  dense 10\n}}\n\
             loss cross_entropy\n\
             optimizer sgd(lr = 0.1)\n"
        ),
    )
    .expect("model");
    model
}

#[test]
fn idx_files_that_cannot_be_read_say_what_is_wrong() {
    let here = fresh_folder("bad-idx");
    std::fs::create_dir_all(&here).expect("folder");
    let file = "train-images-idx3-ubyte";
    let truncated = idx_model(
        &here,
        "truncated",
        images(50, 28, 2051, Some(5_000)),
        labels(50),
    );
    refused(
        &truncated,
        &[file, "4984 bytes of data, the header promises 39200"],
    );
    let magic = idx_model(&here, "magic", images(50, 28, 2052, None), labels(50));
    refused(&magic, &[file, "magic number 2052, expected 2051"]);
    let counts = idx_model(&here, "counts", images(50, 28, 2051, None), labels(40));
    refused(&counts, &[file, "50 images but 40 labels"]);
    let cut_header = idx_model(&here, "header", images(50, 28, 2051, Some(9)), labels(50));
    refused(&cut_header, &[file, "the header is cut short"]);
    let sizes = idx_model(&here, "sizes", images(50, 14, 2051, None), labels(50));
    refused(
        &sizes,
        &[
            "t10k-images-idx3-ubyte",
            "its images are 28×28 pixels, the training images 14×14",
            "sizes.mlp:2:1",
        ],
    );
    let empty = idx_model(&here, "empty", images(50, 0, 2051, None), labels(50));
    refused(&empty, &[file, "its images are 0×0 pixels"]);
    let size = idx_model(&here, "size", images(50, 14, 2051, None), labels(50));
    std::fs::write(
        here.join("size").join("t10k-images-idx3-ubyte"),
        images(20, 14, 2051, None),
    )
    .expect("images");
    refused(
        &size,
        &[
            "the network takes 784 inputs, but the data has 196 features",
            "size.mlp:4:3",
        ],
    );
    let missing = idx_model(&here, "missing", images(50, 28, 2051, None), labels(50));
    std::fs::remove_file(here.join("missing").join("train-labels-idx1-ubyte")).expect("remove");
    refused(&missing, &["train-labels-idx1-ubyte", "is there"]);
    let _ = std::fs::remove_dir_all(&here);
}

/// `mlpc run models/mnist.mlp --no-save` with `arguments` and 100 MiB of memory allowed: it
/// must be refused before training (status 1, nothing on standard output); its errors.
fn refused_in_100_mib(arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args(["run", "models/mnist.mlp", "--no-save"])
        .args(arguments)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env("MLPC_MEMORY_LIMIT", "100M")
        .output()
        .expect("run mlpc");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing trained");
    stderr
}

#[test]
fn a_run_that_will_not_fit_is_refused_before_training_with_both_figures() {
    let stderr = refused_in_100_mib(&[]);
    // 407,050 parameters three times (value, gradient, velocity), 64 examples' activations,
    // and 70,000 images of 784 pixels with their labels twice (as loaded, and flex's copy; a
    // run measured 505 MiB at its peak).
    assert!(
        stderr.contains("training this model needs about 424.8 MiB")
            && stderr.contains("but 100.0 MiB is available (MLPC_MEMORY_LIMIT)")
            && stderr.contains("hint: lower `batch_size`"),
        "{stderr}"
    );
}

#[test]
fn on_wgpu_the_estimate_counts_what_the_replayed_step_keeps() {
    if !wgpu_present("on_wgpu_the_estimate_counts_what_the_replayed_step_keeps") {
        return;
    }
    let stderr = refused_in_100_mib(&["--backend", "wgpu"]);
    // The CPU's 424.8 MiB less the loaded copy of the data set (in the host's memory, not
    // the GPU's), the epoch's permuted copy of the 60,000 training images and
    // labels (179.7 MiB), the replayed step's pool of dropout masks (60,000 x 512 values,
    // capped at one 64 MiB chunk) and a copy of the 407,050 parameters and their velocities
    // kept while recording (3.1 MiB; the step updates both in place).
    assert!(
        stderr.contains("training this model needs about 461.9 MiB"),
        "{stderr}"
    );
}

/// A model with ten million tanh units on iris (80 million parameters) in a fresh folder.
fn huge_iris_model(name: &str) -> (PathBuf, PathBuf) {
    let here = fresh_folder(name);
    std::fs::create_dir_all(&here).expect("folder");
    let iris = workspace().join("data").join("iris.csv");
    let model = here.join("huge.mlp");
    std::fs::write(
        &model,
        format!(
            "model huge\ndata csv({:?}, target = \"species\", test_fraction = 0.3)\n\
             network {{\n  dense 10000000 tanh\n  dense 3\n}}\nloss cross_entropy\n\
             optimizer adam(lr = 0.01)\ntrain {{ epochs = 1, batch_size = 16 }}\n",
            iris.to_string_lossy()
        ),
    )
    .expect("model");
    (here, model)
}

/// `mlpc run MODEL --backend wgpu --no-save` with `limit` as `MLPC_MEMORY_LIMIT` (none if
/// `None`): refused before training, one error, status 1; its standard error.
fn refused_on_wgpu(model: &Path, limit: Option<&str>) -> String {
    let model = model.to_string_lossy();
    let mut command = mlpc_command(&["run", &model, "--no-save", "--backend", "wgpu"]);
    command.env_remove("MLPC_MEMORY_LIMIT");
    if let Some(limit) = limit {
        command.env("MLPC_MEMORY_LIMIT", limit);
    }
    let output = command.output().expect("run mlpc");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("training huge"),
        "nothing trained: {stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!stderr.contains("internal error") && !stderr.contains("panicked"));
    stderr
}

/// On wgpu a run is checked against the free memory the GPU's Vulkan driver reports (the
/// figure `mlpc backends` prints; lavapipe reports a 2 GiB heap), with no `MLPC_MEMORY_LIMIT`.
#[test]
fn on_wgpu_a_run_is_checked_against_the_memory_the_gpu_reports() {
    if !wgpu_present("on_wgpu_a_run_is_checked_against_the_memory_the_gpu_reports") {
        return;
    }
    let backends = mlpc(&["backends", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&backends.stdout).expect("JSON");
    let memory = &json["wgpu_memory"];
    let bytes = memory["bytes"].as_u64().expect("a Vulkan adapter's memory");
    // Adam's four copies of 80 million parameters, and the replayed step's copy of the
    // parameters and moments kept while recording.
    let needed = "3.3 GiB";
    if bytes as f64 >= 3.2 * (1u64 << 30) as f64 {
        eprintln!("*** SKIPPED: this GPU has {bytes} bytes free, more than the model needs ***");
        return;
    }
    let (here, model) = huge_iris_model("huge-by-device");
    let stderr = refused_on_wgpu(&model, None);
    let adapter = memory["adapter"].as_str().expect("adapter");
    assert!(
        stderr.contains(&format!("training this model needs about {needed}"))
            && (stderr.contains(&format!("memory of {adapter} (Vulkan's"))
                || stderr.contains("(available memory")
                || stderr.contains("(the cgroup's")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&here);
}

/// A tensor larger than the largest buffer the GPU allocates (lavapipe: 128 MiB) is refused
/// before training, naming the tensor, even where the memory allowed is ample: before, the
/// kernels failed mid-run and three threads each reported an internal error.
#[test]
fn on_wgpu_a_tensor_over_the_largest_buffer_is_refused_by_name() {
    if !wgpu_present("on_wgpu_a_tensor_over_the_largest_buffer_is_refused_by_name") {
        return;
    }
    let (here, model) = huge_iris_model("huge-tensor");
    let stderr = refused_on_wgpu(&model, Some("1T"));
    // 45 test rows (an evaluation pass takes them all) x 10 million outputs x 4 bytes.
    assert!(
        stderr.contains(
            "error: the outputs of layer 1 (dense (tanh)) for 45 examples take 1.7 GiB, more than the "
        ) && stderr.contains("one buffer may hold on")
            && stderr.contains("hint: use fewer units in that layer"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&here);
}
