//! End-to-end tests of the `mlpc` binary's front-end commands: check, summary, fmt, backends,
//! exit statuses and diagnostics on bad input.

use std::process::Command;

mod common;
use common::{mlpc, wgpu_present, workspace};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn shipped_models() -> Vec<String> {
    let mut models: Vec<String> = std::fs::read_dir(workspace().join("models"))
        .expect("models/")
        .map(|entry| {
            format!(
                "models/{}",
                entry.expect("entry").file_name().to_string_lossy()
            )
        })
        .filter(|name| name.ends_with(".mlp"))
        .collect();
    models.sort();
    models
}

#[test]
fn check_passes_on_every_shipped_model_silently() {
    let models = shipped_models();
    let mut arguments = vec!["check"];
    arguments.extend(models.iter().map(String::as_str));
    let output = mlpc(&arguments);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
}

#[test]
fn check_emits_the_ir_as_json() {
    let output = mlpc(&["check", "models/mnist.mlp", "--emit", "ir"]);
    assert_eq!(output.status.code(), Some(0));
    let ir: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(ir["network"]["inputs"], 784);
    assert_eq!(ir["task"]["classes"], 10);
    assert_eq!(ir["network"]["layers"][0]["parameters"], 784 * 512 + 512);
    // Several files: one object a line.
    let output = mlpc(&["check", "models/xor.mlp", "models/iris.mlp", "--emit", "ir"]);
    assert_eq!(output.status.code(), Some(0));
    let names: Vec<String> = text(&output.stdout)
        .lines()
        .map(|line| {
            let ir: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            ir["name"].as_str().expect("name").to_string()
        })
        .collect();
    assert_eq!(names, ["xor", "iris"]);
}

#[test]
fn invalid_model_exits_2_with_every_diagnostic() {
    let output = mlpc(&[
        "check",
        "tests/invalid/syntax_several_errors.mlp",
        "models/xor.mlp",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("error:").count(), 3, "{stderr}");
    assert!(
        stderr.contains("--> tests/invalid/syntax_several_errors.mlp:1:16"),
        "{stderr}"
    );
    assert!(stderr.contains('^'));
    assert!(!stderr.contains("\x1b["), "no colour when piped");
}

#[test]
fn missing_file_exits_2_with_a_hint() {
    let output = mlpc(&["check", "models/nope.mlp"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot read `models/nope.mlp`") && stderr.contains("hint:"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(mlpc(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        mlpc(&["run", "models/xor.mlp", "--backend", "tpu"])
            .status
            .code(),
        Some(2)
    );
    let output = mlpc(&["run", "models/xor.mlp", "--epochs", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    // A run folder that is not there, or holds no run, says which.
    let output = mlpc(&["eval", "/nonexistent-mlpc-run"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("there is no run folder `/nonexistent-mlpc-run`"));
    let empty = common::fresh_folder("empty-run");
    std::fs::create_dir_all(&empty).expect("folder");
    let output = mlpc(&["predict", &empty.to_string_lossy(), "data/iris.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("holds no trained run"),
        "{}",
        text(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&empty);
    // An IDX model's --data is a folder.
    let output = mlpc(&[
        "run",
        "models/mnist.mlp",
        "--data",
        "data/iris.csv",
        "--no-save",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(
            "--data data/iris.csv: this model reads an IDX set, a folder, and this is a file"
        ),
        "{}",
        text(&output.stderr)
    );
    // A cosine schedule ending at `min_lr = 0.01`: a rate below it would rise.
    let folder = common::fresh_folder("cosine-floor");
    std::fs::create_dir_all(&folder).expect("folder");
    let model = folder.join("floor.mlp");
    std::fs::write(
        &model,
        "data xor(n = 40)\nnetwork {\n  dense 4 tanh\n  dense 2\n}\nloss cross_entropy\n\
         optimizer sgd(lr = 0.1)\nschedule cosine(min_lr = 0.01)\n",
    )
    .expect("model");
    let model = model.to_string_lossy().into_owned();
    let output = mlpc(&["run", &model, "--lr", "0.005", "--no-save"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(
            "--lr 0.005: the cosine schedule's `min_lr` (0.01) is above the learning rate (0.005)"
        ),
        "{}",
        text(&output.stderr)
    );
    let output = mlpc(&["run", &model, "--lr", "0.05", "--no-save", "--epochs", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn summary_table_and_json_agree() {
    let table = mlpc(&["summary", "models/mnist.mlp"]);
    assert_eq!(table.status.code(), Some(0));
    let table = text(&table.stdout);
    assert!(
        table.contains("dense (relu)")
            && table.contains("[batch, 512]")
            && table.contains("407,050"),
        "{table}"
    );
    assert!(
        table.contains("Multiply-adds per sample: 406,528"),
        "{table}"
    );
    let json = mlpc(&["summary", "models/mnist.mlp", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json["total_params"], 784 * 512 + 512 + 512 * 10 + 10);
    assert_eq!(json["layers"].as_array().map(Vec::len), Some(4));
}

#[test]
fn summary_shows_a_residual_blocks_layers_under_it() {
    let table = text(&mlpc(&["summary", "models/digits-residual.mlp"]).stdout);
    assert!(
        table.contains("residual (4 layers)  [batch, 64]        8,512")
            && table.contains("\n  layernorm          [batch, 64]          128"),
        "{table}"
    );
    let json = mlpc(&["summary", "models/digits-residual.mlp", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let rows = json["layers"].as_array().expect("rows");
    assert_eq!(
        rows.len(),
        1 + 5 + 8,
        "input, five layers, two blocks of four"
    );
    // Names as data: the depth says what the table's indent does.
    assert_eq!(rows[4]["layer"], "layernorm", "{}", rows[4]);
    assert_eq!(rows[4]["depth"], 1);
    assert_eq!(
        text(&mlpc(&["summary", "models/digits-residual.mlp", "--json"]).stdout)
            .lines()
            .count(),
        1
    );
    // The block's rows are counted in the block's own: the top level sums to the total.
    let top: u64 = rows
        .iter()
        .filter(|row| row["depth"] == 0)
        .map(|row| row["parameters"].as_u64().expect("parameters"))
        .sum();
    assert_eq!(json["total_params"].as_u64(), Some(top));
    assert_eq!(top, 21_898);
}

#[test]
fn fmt_rewrites_atomically_and_check_reports() {
    let folder = std::env::temp_dir().join(format!("mlpc-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("temp folder");
    let file = folder.join("messy.mlp");
    std::fs::copy(workspace().join("tests/format/messy.mlp"), &file).expect("copy");
    let file_name = file.to_string_lossy().to_string();
    assert_eq!(mlpc(&["fmt", "--check", &file_name]).status.code(), Some(1));
    assert_eq!(mlpc(&["fmt", &file_name]).status.code(), Some(0));
    let formatted = std::fs::read_to_string(&file).expect("read");
    assert_eq!(
        formatted,
        std::fs::read_to_string(workspace().join("tests/format/messy.formatted")).expect("golden")
    );
    assert_eq!(mlpc(&["fmt", "--check", &file_name]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_dir(&folder).expect("list").count(),
        1,
        "no temporary file is left behind"
    );
    // `-`: standard input to standard output, the file untouched.
    let mut child = common::mlpc_command(&["fmt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start mlpc fmt -");
    let messy = std::fs::read_to_string(workspace().join("tests/format/messy.mlp")).expect("messy");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), messy.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), formatted);
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn shipped_models_are_formatted() {
    let models = shipped_models();
    let mut arguments = vec!["fmt", "--check"];
    arguments.extend(models.iter().map(String::as_str));
    let output = mlpc(&arguments);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn backends_lists_the_cpu_backends() {
    let output = mlpc(&["backends", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        json["backends"],
        serde_json::json!(["ndarray", "flex", "wgpu"])
    );
    assert_eq!(json["default"], "flex");
}

/// Where there is a Vulkan adapter (lavapipe in CI), `mlpc backends` gives the free memory of
/// the one a wgpu run lands on: the figure a run on wgpu is checked against before it starts.
#[test]
fn backends_gives_the_free_memory_of_the_gpu_a_run_lands_on() {
    if !common::wgpu_present("backends_gives_the_free_memory_of_the_gpu_a_run_lands_on") {
        return;
    }
    let output = mlpc(&["backends", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let memory = &json["wgpu_memory"];
    let bytes = memory["bytes"].as_u64().expect("bytes");
    assert!((64 << 20..1 << 50).contains(&bytes), "{memory}");
    let adapters = json["wgpu_adapters"].as_array().expect("adapters");
    assert!(
        adapters
            .iter()
            .any(|adapter| adapter["name"] == memory["adapter"]),
        "{json}"
    );
    let human = text(&mlpc(&["backends"]).stdout);
    assert!(human.contains("a wgpu run lands on"), "{human}");
}

#[test]
fn wgpu_without_any_adapter_says_so_in_one_line() {
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args(["run", "models/xor.mlp", "--backend", "wgpu"])
        .current_dir(workspace())
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
        .env("WGPU_BACKEND", "vulkan")
        .output()
        .expect("run mlpc");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(
        errors,
        [
            "error: no wgpu adapter found: this machine has no GPU driver that wgpu can use (Vulkan, GL or Metal)"
        ],
        "{stderr}"
    );
    assert!(stderr.contains("--backend ndarray"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn flex_backend_trains_too() {
    let output = mlpc(&[
        "run",
        "models/iris.mlp",
        "--backend",
        "flex",
        "--epochs",
        "40",
        "--json",
        "--no-save",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let last: serde_json::Value =
        serde_json::from_str(text(&output.stdout).lines().last().expect("a report")).expect("JSON");
    assert!(
        last["test_accuracy"].as_f64().expect("accuracy") >= 0.9,
        "{last}"
    );
}

#[test]
fn run_prints_one_readable_line_per_epoch() {
    let output = mlpc(&["run", "models/diabetes.mlp", "--epochs", "2", "--no-save"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let epochs: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("epoch"))
        .collect();
    assert_eq!(epochs.len(), 2, "{stdout}");
    for field in [
        "train loss",
        "test loss",
        "rmse",
        "mae",
        "r2",
        "samples/s",
        " s",
    ] {
        assert!(
            epochs[1].contains(field),
            "`{field}` missing from: {}",
            epochs[1]
        );
    }
}

#[test]
fn diagnostics_as_json_lines_on_every_command() {
    let file = "tests/invalid/unknown_argument_abbreviated.mlp";
    for command in ["check", "summary", "run"] {
        let output = mlpc(&[command, file, "--message-format", "json"]);
        assert_eq!(output.status.code(), Some(2), "{command}");
        assert!(
            output.stderr.is_empty(),
            "{command}: {}",
            text(&output.stderr)
        );
        let lines: Vec<serde_json::Value> = text(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 1, "{command}: one diagnostic");
        let diagnostic = &lines[0];
        assert_eq!(diagnostic["severity"], "error");
        assert_eq!(
            diagnostic["message"],
            "unknown argument `learning_rate` for `sgd`"
        );
        assert_eq!(diagnostic["file"], file);
        assert_eq!(
            (diagnostic["line"].as_u64(), diagnostic["column"].as_u64()),
            (Some(7), Some(15))
        );
        assert_eq!(diagnostic["end_column"].as_u64(), Some(28));
        assert_eq!(diagnostic["hint"], "did you mean `lr`?");
    }
    // An error about no place in a file has the same fields, with no position.
    let output = mlpc(&["check", "no/such/file.mlp", "--message-format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    let diagnostic: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("a JSON object");
    assert!(
        diagnostic["message"]
            .as_str()
            .is_some_and(|message| message.contains("cannot read"))
    );
    assert!(diagnostic["line"].is_null());
}

#[test]
fn only_gpu_commands_get_a_private_runtime_folder_removed_at_exit() {
    let temporary = std::env::temp_dir().join(format!("mlpc-xdg-{}", std::process::id()));
    std::fs::create_dir_all(&temporary).expect("folder");
    for arguments in [&["check", "models/xor.mlp"][..], &["backends"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
            .args(arguments)
            .current_dir(workspace())
            .env("TMPDIR", &temporary)
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .expect("run mlpc");
        assert!(output.status.success(), "{}", text(&output.stderr));
        let left: Vec<_> = std::fs::read_dir(&temporary)
            .expect("folder")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert!(left.is_empty(), "{arguments:?} left {left:?}");
    }
    let _ = std::fs::remove_dir_all(&temporary);
}

/// Kernel autotuning results are kept in one per-user place whatever the working directory
/// (cubecl's default is the `target/` folder of a Cargo project above it): run from inside a
/// project, a wgpu run writes its store under `MLPC_KERNEL_CACHE` (default: the user cache).
#[test]
fn kernel_tuning_is_kept_per_user_not_per_folder() {
    if !wgpu_present("kernel_tuning_is_kept_per_user_not_per_folder") {
        return;
    }
    let base = std::env::temp_dir().join(format!("mlpc-kernels-{}", std::process::id()));
    let project = base.join("project");
    let working = project.join("models");
    std::fs::create_dir_all(&working).expect("folders");
    std::fs::write(project.join("Cargo.toml"), "[workspace]\n").expect("Cargo.toml");
    let model = std::fs::read_to_string(workspace().join("models/xor.mlp")).expect("xor");
    std::fs::write(working.join("xor.mlp"), model).expect("model");
    let cache = base.join("cache");
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args([
            "run",
            "xor.mlp",
            "--backend",
            "wgpu",
            "--epochs",
            "1",
            "--no-save",
        ])
        .current_dir(&working)
        .env("MLPC_KERNEL_CACHE", &cache)
        .output()
        .expect("run mlpc");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        cache.join("default.db").is_file(),
        "the store is in MLPC_KERNEL_CACHE"
    );
    assert!(
        !project.join("target").exists(),
        "nothing is written into the project's target/"
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// Hostile model files: each is one clear error (status 2), never a panic, a stack overflow
/// or a long wait.
#[test]
fn hostile_model_files_get_one_clear_error() {
    let folder = std::env::temp_dir().join(format!("mlpc-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let write = |name: &str, bytes: &[u8]| {
        let path = folder.join(name);
        std::fs::write(&path, bytes).expect("write");
        path.to_string_lossy().into_owned()
    };
    let binary: Vec<u8> = (0..4096u32)
        .map(|index| (index * 131 % 256) as u8)
        .collect();
    // 10 MB of well-formed lines, then a slip on the last line.
    let line = "network { dense 8 relu }  # one more line of a file far larger than any model\n";
    let lines = 10 * 1024 * 1024 / line.len();
    let mut big = line.repeat(lines);
    big.push_str("dense 8 relu )\n");
    let deep = "(".repeat(100_000);
    let cases: [(&str, Vec<u8>, &[&str]); 6] = [
        (
            "empty.mlp",
            Vec::new(),
            &["the model has no `data` section"],
        ),
        (
            "binary.mlp",
            binary,
            &["is not UTF-8 text (bad byte at offset"],
        ),
        (
            "latin1.mlp",
            b"model caf\xe9\n".to_vec(),
            &["is not UTF-8 text (bad byte at offset 9)"],
        ),
        (
            "deep.mlp",
            deep.into_bytes(),
            &[
                "brackets and braces nest deeper than 64 levels",
                "deep.mlp:1:65",
            ],
        ),
        (
            "braces.mlp",
            format!("network {{{}", "[".repeat(100_000)).into_bytes(),
            &["nest deeper than 64 levels"],
        ),
        (
            "big.mlp",
            big.into_bytes(),
            &[&format!("big.mlp:{}:14", lines + 1)],
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = write(name, &bytes);
        let output = mlpc(&["check", &path]);
        let stderr = text(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{name}: {}",
            &stderr[..stderr.len().min(400)]
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{name}"
        );
        if name != "empty.mlp" {
            // (An empty file misses every section; the others have one thing wrong.)
            assert_eq!(stderr.matches("error:").count(), 1, "{name}");
        }
        for part in expected {
            assert!(
                stderr.contains(part),
                "{name}: `{part}` not in {}",
                &stderr[..stderr.len().min(400)]
            );
        }
    }
    let _ = std::fs::remove_dir_all(&folder);
}

/// The step a run trains with: replay by default on wgpu, the compiled step on the CPU; a
/// replay asked for on the CPU trains with the compiled step and says why in one line.
#[test]
fn the_replay_step_is_the_default_on_wgpu_and_says_when_it_cannot_run() {
    let run = |arguments: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mlpc"));
        command
            .current_dir(workspace())
            .args(["run", "models/xor.mlp", "--epochs", "1", "--no-save"])
            .args(arguments);
        let output = command.output().expect("run mlpc");
        assert!(output.status.success(), "{}", text(&output.stderr));
        (text(&output.stdout), text(&output.stderr))
    };
    let (stdout, stderr) = run(&["--step", "replay"]);
    assert!(
        stdout.contains("on flex with the compiled step"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "note: replay records GPU kernel launches, and flex runs on the CPU; training with the compiled step"
        ),
        "{stderr}"
    );
    if !wgpu_present("the_replay_step_is_the_default_on_wgpu_and_says_when_it_cannot_run") {
        return;
    }
    let (stdout, stderr) = run(&["--backend", "wgpu"]);
    assert!(stdout.contains("on wgpu with the replay step"), "{stdout}");
    assert!(!stderr.contains("note:"), "{stderr}");
}

/// `mlpc bench` compares every step on each backend once: replay on the CPU is the compiled
/// step and is not run twice; on wgpu it is its own row.
#[test]
fn bench_runs_each_step_once_per_backend() {
    let wgpu = !mlpc_train::backend::wgpu_adapters().is_empty();
    let backends = if wgpu { "flex,wgpu" } else { "flex" };
    let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .current_dir(workspace())
        .args([
            "bench",
            "models/xor.mlp",
            "--backends",
            backends,
            "--epochs",
            "1",
            "--json",
        ])
        .output()
        .expect("run mlpc");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rows: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert!(
        text(&output.stderr).contains("with one epoch there is no steady epoch"),
        "{}",
        text(&output.stderr)
    );
    let runs: Vec<String> = rows
        .iter()
        .map(|row| format!("{} {}", row["backend"], row["step"]).replace('"', ""))
        .collect();
    let mut expected = vec!["flex compiled", "flex autodiff"];
    if wgpu {
        expected.extend(["wgpu compiled", "wgpu replay", "wgpu autodiff"]);
    }
    assert_eq!(runs, expected);
}

/// A wgpu run on a kernel store that holds nothing says once that its first epoch includes
/// tuning and compiling the GPU kernels, and where they are kept; the next run with the same
/// store does not.
#[test]
fn a_first_wgpu_run_says_its_first_epoch_tunes_the_kernels() {
    if !common::wgpu_present("a_first_wgpu_run_says_its_first_epoch_tunes_the_kernels") {
        return;
    }
    let store = std::env::temp_dir().join(format!("mlpc-kernel-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_mlpc"))
            .args([
                "run",
                "models/xor.mlp",
                "--backend",
                "wgpu",
                "--epochs",
                "1",
                "--no-save",
            ])
            .current_dir(workspace())
            .env("MLPC_KERNEL_CACHE", &store)
            .output()
            .expect("run mlpc");
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stderr)
    };
    let note = "note: mlpc's GPU kernels have not run for this user before: the first epoch and its evaluation include tuning and compiling them, kept in";
    let first = run();
    assert_eq!(first.matches(note).count(), 1, "{first}");
    assert!(first.contains(&store.display().to_string()), "{first}");
    let second = run();
    assert!(!second.contains(note), "{second}");
    let _ = std::fs::remove_dir_all(&store);
}

/// A run folder is not replaced without a word, a resumed run with nothing left to train says
/// so, and `--out` naming a file is refused before training.
#[test]
fn run_folders_are_replaced_with_a_note_and_files_refused() {
    let folder = common::fresh_folder("run-folders");
    std::fs::create_dir_all(&folder).expect("folder");
    let out = folder.join("xor");
    let out = out.to_string_lossy().into_owned();
    let first = mlpc(&["run", "models/xor.mlp", "--out", &out, "--epochs", "2"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(!text(&first.stderr).contains("replacing"));
    let resumed = mlpc(&[
        "run",
        "models/xor.mlp",
        "--out",
        &out,
        "--epochs",
        "2",
        "--resume",
    ]);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(resumed.stdout.is_empty(), "{}", text(&resumed.stdout));
    assert!(
        text(&resumed.stderr)
            .contains("has completed 2 epochs, and 2 are asked for: nothing to train")
            && text(&resumed.stderr).contains("`--epochs 3` (or more) trains on"),
        "{}",
        text(&resumed.stderr)
    );
    let again = mlpc(&["run", "models/xor.mlp", "--out", &out, "--epochs", "1"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("note: replacing the run of 2 epochs in"),
        "{}",
        text(&again.stderr)
    );
    // As JSON, a note is a line of severity `note` among the epochs' lines.
    let noted = mlpc(&[
        "--message-format",
        "json",
        "run",
        "models/xor.mlp",
        "--out",
        &out,
        "--epochs",
        "1",
        "--json",
    ]);
    assert_eq!(noted.status.code(), Some(0), "{}", text(&noted.stderr));
    let lines: Vec<serde_json::Value> = text(&noted.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(lines[0]["severity"], "note", "{lines:?}");
    assert!(
        lines[0]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with("replacing the run of 1 epoch in")),
        "{lines:?}"
    );
    assert_eq!(lines[1]["epoch"], 1, "{lines:?}");
    let file = folder.join("a-file");
    std::fs::write(&file, "kept").expect("file");
    let refused = mlpc(&["run", "models/xor.mlp", "--out", &file.to_string_lossy()]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("a file is there, not a folder"));
    assert!(refused.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&file).expect("file"), "kept");
    // A folder that cannot be made (none can be under /proc, even for root) fails before
    // training.
    let unwritable = mlpc(&["run", "models/xor.mlp", "--out", "/proc/mlpc-run"]);
    assert_eq!(
        unwritable.status.code(),
        Some(1),
        "{}",
        text(&unwritable.stderr)
    );
    assert!(
        text(&unwritable.stderr).contains("cannot write the run folder `/proc/mlpc-run`"),
        "{}",
        text(&unwritable.stderr)
    );
    assert!(unwritable.stdout.is_empty(), "{}", text(&unwritable.stdout));
    let _ = std::fs::remove_dir_all(&folder);
}

/// A validation fraction that would leave no example to train on (or none to validate on)
/// is refused with the bound that works; one that splits shows the split in the header.
#[test]
fn a_validation_fraction_must_leave_both_sides_an_example() {
    let folder = common::fresh_folder("validation-split");
    std::fs::create_dir_all(&folder).expect("folder");
    let write = |fraction: &str| {
        let model = folder.join(format!("v{fraction}.mlp"));
        std::fs::write(
            &model,
            format!(
                "data xor(n = 100)\nnetwork {{\n  dense 4 tanh\n  dense 2\n}}\nloss cross_entropy\n\
                 optimizer sgd(lr = 0.1)\ntrain {{ epochs = 1, validation = {fraction} }}\n"
            ),
        )
        .expect("model");
        model.to_string_lossy().into_owned()
    };
    let all = mlpc(&["run", &write("0.999"), "--no-save"]);
    assert_eq!(all.status.code(), Some(2), "{}", text(&all.stderr));
    assert!(
        text(&all.stderr).contains(
            "a validation fraction of 0.999 of the 75 training examples leaves none to train on"
        ) && text(&all.stderr).contains("a `validation` of 0.99 or less"),
        "{}",
        text(&all.stderr)
    );
    let none = mlpc(&["run", &write("0.001"), "--no-save"]);
    assert_eq!(none.status.code(), Some(2), "{}", text(&none.stderr));
    assert!(
        text(&none.stderr).contains("holds out none to validate on")
            && text(&none.stderr).contains("a `validation` of 0.0067 or more"),
        "{}",
        text(&none.stderr)
    );
    let split = mlpc(&["run", &write("0.2"), "--no-save"]);
    assert_eq!(split.status.code(), Some(0), "{}", text(&split.stderr));
    assert!(
        text(&split.stdout).contains("(60 train / 15 validation / 25 test examples"),
        "{}",
        text(&split.stdout)
    );
    assert!(
        text(&split.stdout).contains("  validation accuracy "),
        "{}",
        text(&split.stdout)
    );
    let _ = std::fs::remove_dir_all(&folder);
}

/// A file with very many errors shows the first 50 and counts the rest (as JSON, all).
#[test]
fn very_many_errors_show_the_first_fifty() {
    let folder = common::fresh_folder("many-errors");
    std::fs::create_dir_all(&folder).expect("folder");
    let model = folder.join("many.mlp");
    let lines: String = (0..80).map(|index| format!("  dens{index} 8\n")).collect();
    std::fs::write(
        &model,
        format!("data xor(n = 40)\nnetwork {{\n{lines}  dense 2\n}}\nloss cross_entropy\noptimizer sgd(lr = 0.1)\n"),
    )
    .expect("model");
    let model = model.to_string_lossy().into_owned();
    let output = mlpc(&["check", &model]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(
        stderr.matches("error: unknown layer").count(),
        50,
        "{stderr}"
    );
    assert!(stderr.contains("note: 30 more errors in"), "{stderr}");
    let output = mlpc(&["--message-format", "json", "check", &model]);
    assert_eq!(text(&output.stdout).lines().count(), 80);
    let _ = std::fs::remove_dir_all(&folder);
}

/// A byte-order mark before the first line (some Windows editors write one) is not text.
#[test]
fn a_byte_order_mark_is_skipped() {
    let folder = common::fresh_folder("byte-order-mark");
    std::fs::create_dir_all(&folder).expect("folder");
    let model = folder.join("marked.mlp");
    let xor = std::fs::read_to_string(workspace().join("models/xor.mlp")).expect("xor");
    std::fs::write(&model, format!("\u{FEFF}{xor}")).expect("model");
    let output = mlpc(&["check", &model.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let _ = std::fs::remove_dir_all(&folder);
}

/// As JSON, an error in a data file names the file and the record's line, like a model
/// file's diagnostics (found when the test file is loaded, after the check).
#[test]
fn a_data_files_error_as_json_names_the_file_and_line() {
    let folder = common::fresh_folder("json-data-error");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(folder.join("train.csv"), "a,b,y\n1,2,x\n3,4,z\n5,6,x\n").expect("train");
    std::fs::write(folder.join("test.csv"), "a,b,y\n1,2,x\n3,four,z\n").expect("test");
    let model = folder.join("model.mlp");
    std::fs::write(
        &model,
        "data csv(\"train.csv\", target = \"y\", test = \"test.csv\")\n\
         network {\n  dense 4 relu\n  dense 2\n}\nloss cross_entropy\noptimizer sgd(lr = 0.1)\n",
    )
    .expect("model");
    let output = mlpc(&[
        "--message-format",
        "json",
        "run",
        &model.to_string_lossy(),
        "--no-save",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let error: serde_json::Value =
        serde_json::from_str(text(&output.stdout).trim()).expect("one JSON line");
    assert_eq!(error["severity"], "error");
    assert!(
        error["file"]
            .as_str()
            .is_some_and(|file| file.ends_with("test.csv")),
        "{error}"
    );
    assert_eq!(error["line"], 3, "{error}");
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|hint| hint.contains("0/1 column"))
    );
    let _ = std::fs::remove_dir_all(&folder);
}
