//! Stopping a training run early, through the `mlpc` binary: Ctrl-C and SIGTERM keep the last
//! whole epoch's checkpoint and exit 130 / 143 with a line telling how to go on; `kill -9` at
//! any moment leaves a folder that `--resume` goes on from, to the very metrics of a run never
//! stopped; a loss that becomes infinite stops the run at that step, naming it, and keeps the
//! last good checkpoint.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{fresh_folder, mlpc, mlpc_command, workspace};

fn completed_epochs(folder: &Path) -> Option<u64> {
    let bytes = std::fs::read(folder.join("run.json")).ok()?;
    let state: Value = serde_json::from_slice(&bytes).expect("run.json is whole JSON");
    state["completed_epochs"].as_u64()
}

/// Starts a long run, sends `signal` once its second epoch is reported, and returns the exit
/// status, standard error and the epochs reported.
fn signal_after_two_epochs(signal: libc::c_int, out: &Path) -> (Option<i32>, String, usize) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlpc"))
        .args([
            "run",
            "models/spiral.mlp",
            "--epochs",
            "100000",
            "--json",
            "--out",
        ])
        .arg(out)
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mlpc");
    let stdout = child.stdout.take().expect("stdout");
    let mut epochs = 0;
    for line in BufReader::new(stdout).lines() {
        let report: Value = serde_json::from_str(&line.expect("a line")).expect("JSON");
        epochs += 1;
        if report["epoch"] == 2 {
            // SAFETY: sends a signal to the child this test started, which is still running.
            let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
            assert_eq!(sent, 0, "kill");
        }
    }
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        epochs,
    )
}

#[test]
fn ctrl_c_keeps_the_last_whole_epoch_and_exits_130() {
    let out = fresh_folder("sigint");
    let (status, stderr, epochs) = signal_after_two_epochs(libc::SIGINT, &out);
    assert_eq!(status, Some(130), "{stderr}");
    let kept = completed_epochs(&out).expect("a checkpoint");
    assert!(kept >= 2 && kept as usize == epochs, "{kept} {epochs}");
    assert!(
        stderr.contains("interrupted by Ctrl-C (SIGINT): stopped after a whole step")
            && stderr.contains(&format!("the checkpoint of epoch {kept} in"))
            && stderr.contains("go on with `mlpc run models/spiral.mlp --resume --out"),
        "{stderr}"
    );
    // The kept checkpoint goes on: one more epoch, then done.
    let next = (kept + 1).to_string();
    let output = mlpc(&[
        "run",
        "models/spiral.mlp",
        "--epochs",
        &next,
        "--resume",
        "--json",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
    assert_eq!(completed_epochs(&out), Some(kept + 1));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn sigterm_keeps_the_last_whole_epoch_and_exits_143() {
    let out = fresh_folder("sigterm");
    let (status, stderr, epochs) = signal_after_two_epochs(libc::SIGTERM, &out);
    assert_eq!(status, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert_eq!(completed_epochs(&out), Some(epochs as u64));
    let _ = std::fs::remove_dir_all(&out);
}

/// The last epoch's figures, as `run.json` keeps them.
fn last_epoch(folder: &Path) -> (Value, Value, Value) {
    let bytes = std::fs::read(folder.join("run.json")).expect("run.json");
    let state: Value = serde_json::from_slice(&bytes).expect("JSON");
    let last = state["history"]
        .as_array()
        .and_then(|history| history.last())
        .expect("a history")
        .clone();
    (
        last["epoch"].clone(),
        last["train_loss"].clone(),
        last["test_loss"].clone(),
    )
}

#[test]
fn kill_9_at_any_moment_then_resume_reaches_the_same_metrics() {
    let epochs = "300";
    let whole = fresh_folder("kill-whole");
    let output = mlpc(&[
        "run",
        "models/spiral.mlp",
        "--epochs",
        epochs,
        "--json",
        "--out",
        &whole.to_string_lossy(),
    ]);
    assert!(output.status.success());
    let killed = fresh_folder("kill-9");
    // Kill after pseudo-random delays (a fixed sequence: the test repeats), resuming each time.
    let mut delay: u64 = 97;
    let mut kills_mid_run = 0;
    for _ in 0..8 {
        delay = (delay * 7_919 + 113) % 700 + 40;
        let mut child = Command::new(env!("CARGO_BIN_EXE_mlpc"))
            .args(["run", "models/spiral.mlp", "--epochs", epochs, "--resume"])
            .args(["--json", "--out"])
            .arg(&killed)
            .current_dir(workspace())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mlpc");
        std::thread::sleep(Duration::from_millis(delay));
        let finished = child.try_wait().expect("status").is_some();
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        if finished {
            break;
        }
        if let Some(done) = completed_epochs(&killed) {
            kills_mid_run += usize::from(done > 0 && done < 300);
        }
    }
    assert!(
        kills_mid_run >= 2,
        "only {kills_mid_run} kills fell mid-run"
    );
    let output = mlpc(&[
        "run",
        "models/spiral.mlp",
        "--epochs",
        epochs,
        "--resume",
        "--json",
        "--out",
        &killed.to_string_lossy(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(completed_epochs(&killed), Some(300));
    assert_eq!(last_epoch(&killed), last_epoch(&whole));
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&killed);
}

#[test]
fn an_infinite_loss_stops_at_its_step_and_keeps_the_last_checkpoint() {
    let out = fresh_folder("diverge");
    std::fs::create_dir_all(&out).expect("folder");
    let model = out.join("diverging.mlp");
    let data = workspace().join("data/diabetes.csv");
    // Plain SGD on a linear regression with a rate past the stable one: the loss grows by a
    // constant factor per step and overflows in epoch 4.
    std::fs::write(
        &model,
        format!(
            "model diverging\n\
             data csv(\"{}\", target = \"progression\", test_fraction = 0.2, split_seed = 1)\n\
             network {{\n  dense 1\n}}\n\
             loss mse\n\
             optimizer sgd(lr = 0.5)\n\
             train {{ epochs = 200, batch_size = 32, seed = 1, shuffle = false }}\n",
            data.display()
        ),
    )
    .expect("model");
    let run_folder = out.join("run");
    let arguments = [
        "run",
        &model.to_string_lossy(),
        "--out",
        &run_folder.to_string_lossy(),
    ]
    .map(str::to_owned);
    let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
    let output = mlpc(&arguments);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: the training loss became inf at epoch 4, step 7 of 12 (learning rate 0.5)"
        ) && stderr.contains("lower the learning rate (for example `--lr 0.05`)")
            && stderr.contains("the checkpoint of epoch 3 in"),
        "{stderr}"
    );
    assert_eq!(completed_epochs(&run_folder), Some(3));
    // It resumes from that checkpoint, exactly: the same step overflows again.
    let mut resumed = arguments.clone();
    resumed.push("--resume");
    let output = mlpc(&resumed);
    let again = String::from_utf8_lossy(&output.stderr);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("resuming after epoch 3")
            && again.contains("at epoch 4, step 7 of 12"),
        "{again}"
    );
    // And the saved model of epoch 3 is scored as any other.
    let output = mlpc(&["eval", &run_folder.to_string_lossy()]);
    assert!(output.status.success());
    let _ = std::fs::remove_dir_all(&out);
}

/// A device that fails mid-run (planted: `MLPC_DEVICE_FAULT`, a panic carrying the words
/// cubecl and wgpu use for an out-of-memory and a lost device) ends the run with one error and
/// a hint, status 1, the last whole epoch's checkpoint kept; `--resume` then reaches the very
/// metrics of a run that never failed.
#[test]
fn a_device_failing_mid_run_keeps_the_last_checkpoint_and_resumes_to_the_same_metrics() {
    let epochs = "6";
    let whole = fresh_folder("fault-whole");
    let run = |folder: &Path, fault: Option<&str>, resume: bool| {
        let mut command = mlpc_command(&["run", "models/spiral.mlp", "--epochs", epochs, "--json"]);
        command
            .arg("--out")
            .arg(folder)
            .env_remove("MLPC_DEVICE_FAULT");
        if resume {
            command.arg("--resume");
        }
        if let Some(fault) = fault {
            command.env("MLPC_DEVICE_FAULT", fault);
        }
        let output = command.output().expect("run mlpc");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    assert_eq!(run(&whole, None, false).0, Some(0));
    for (fault, problem, kept) in [
        ("out-of-memory@4", "the device ran out of memory", 3),
        (
            "device-lost@2",
            "the GPU was lost (a driver reset or a device removed)",
            1,
        ),
    ] {
        let failed = fresh_folder("fault");
        let (status, stderr) = run(&failed, Some(fault), false);
        assert_eq!(status, Some(1), "{fault}: {stderr}");
        let errors = stderr.lines().filter(|line| line.starts_with("error:"));
        assert_eq!(errors.count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("error: {problem}: "))
                && stderr.contains("(planted by MLPC_DEVICE_FAULT)")
                && stderr.contains("--resume")
                && !stderr.contains("internal error")
                && !stderr.contains("panicked"),
            "{fault}: {stderr}"
        );
        assert_eq!(completed_epochs(&failed), Some(kept), "{fault}");
        let (status, stderr) = run(&failed, None, true);
        assert_eq!(status, Some(0), "{fault}, resumed: {stderr}");
        assert_eq!(completed_epochs(&failed), Some(6));
        assert_eq!(last_epoch(&failed), last_epoch(&whole), "{fault}");
        let _ = std::fs::remove_dir_all(&failed);
    }
    let _ = std::fs::remove_dir_all(&whole);
}
