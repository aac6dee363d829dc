//! What the end-to-end tests share: where the workspace is, a fresh temporary folder, and
//! running the `mlpc` binary from the workspace root.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (shipped models and data are found from there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// `$TMPDIR/mlpc-NAME-PID`, emptied (not created): each test process its own.
pub fn fresh_folder(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mlpc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

/// The `mlpc` command with `arguments`, to run in the workspace root, without colours.
pub fn mlpc_command(arguments: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlpc"));
    command
        .args(arguments)
        .current_dir(workspace())
        .env("NO_COLOR", "1");
    command
}

/// Runs `mlpc` with `arguments` in the workspace root, without colours.
pub fn mlpc(arguments: &[&str]) -> Output {
    mlpc_command(arguments).output().expect("run mlpc")
}

/// [`mlpc`], asserting that it succeeds.
pub fn mlpc_ok(arguments: &[&str]) -> Output {
    let output = mlpc(arguments);
    assert!(
        output.status.success(),
        "{arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The JSON object of each line of a command's standard output, asserting that it succeeded.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

/// Whether a wgpu adapter exists. Without one the test says it skips its wgpu part, or, with
/// `MLPC_REQUIRE_WGPU=1` (set by `.ci/run`, which installs Mesa's lavapipe), fails.
pub fn wgpu_present(test: &str) -> bool {
    if !mlpc_train::backend::wgpu_adapters().is_empty() {
        return true;
    }
    assert!(
        std::env::var("MLPC_REQUIRE_WGPU").is_err(),
        "{test}: MLPC_REQUIRE_WGPU=1 but no wgpu adapter"
    );
    eprintln!("*** SKIPPED {test} (its wgpu part): no wgpu adapter ***");
    false
}
