//! Output faults: an output path that cannot be written, an existing file without `--force`, a
//! disk that fills up during the run, and a stdout whose reader is gone. The first three give an
//! error that names the path and says what to do; a run whose stdout is gone completes quietly.
//! None leaves a file that readers refuse: either no file, the untouched old one, or a file
//! marked failed that holds exactly what a complete run holds up to its `t_reached`.
//!
//! A full disk is a file size limit here (`ulimit -f`), which makes writes fail with EFBIG just
//! as a full disk makes them fail with ENOSPC.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::cli::*;
use lifsim::record;

fn coba() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/coba.toml")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "expected {part:?} in:\n{text}");
    }
}

#[test]
fn a_missing_output_directory_is_refused() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let out = dir.join("no/such/dir/out.h5");
    let output = run_lifsim(&["run", arg(&coba()), "-o", arg(&out), "-q"]);
    assert_eq!(output.status.code(), Some(1));
    assert_mentions(
        &stderr(&output),
        &[
            &format!("cannot create output file {}", out.display()),
            "check that its directory exists and is writable",
        ],
    );
    assert!(!out.exists());
    assert!(!String::from_utf8_lossy(&output.stdout).contains("simulated"));
}

#[test]
fn a_directory_is_not_an_output_file() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let output = run_lifsim(&["run", arg(&coba()), "-o", arg(dir.path()), "-q", "--force"]);
    assert_eq!(output.status.code(), Some(1));
    assert_mentions(
        &stderr(&output),
        &[&format!(
            "cannot create output file {}",
            dir.path().display()
        )],
    );
    assert!(dir.path().is_dir());
}

#[test]
fn an_existing_file_is_kept_without_force() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let out = dir.join("precious.h5");
    std::fs::write(&out, "a result of last month").unwrap();
    let output = run_lifsim(&["run", arg(&coba()), "-o", arg(&out), "-q"]);
    assert_eq!(output.status.code(), Some(1));
    assert_mentions(
        &stderr(&output),
        &[
            &format!("{} already exists", out.display()),
            "pass --force to overwrite it, or choose another path with -o",
        ],
    );
    // Refused before the network is built, and the file is untouched.
    assert!(output.stdout.is_empty(), "{output:?}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "a result of last month"
    );
}

/// Runs `lifsim run args...` under a file size limit of `limit_kib` KiB; with `ignore_xfsz`, the
/// shell ignores SIGXFSZ first, as the brief of this test asks (lifsim handles it itself too).
fn run_limited(limit_kib: u64, ignore_xfsz: bool, args: &[&str]) -> Output {
    let trap = if ignore_xfsz { "trap '' XFSZ; " } else { "" };
    let script = format!("ulimit -f {limit_kib}; {trap}exec \"$0\" \"$@\"");
    std::process::Command::new("bash")
        .args(["-c", &script, lifsim_path()])
        .args(args)
        .env("NODEVICE_SELECT", "1")
        .output()
        .expect("cannot run bash")
}

/// The file of a run stopped by a full disk: readable, marked failed, and holding exactly what a
/// complete run to its `t_reached` holds.
fn check_full_disk(limit_kib: u64, ignore_xfsz: bool) {
    let dir = TestDir::new();
    let out = dir.join("full.h5");
    let output = run_limited(
        limit_kib,
        ignore_xfsz,
        &[
            "run",
            arg(&coba()),
            "-o",
            arg(&out),
            "-q",
            "--threads",
            "1",
            "--backend",
            "cpu",
            "--t-stop",
            "100000",
        ],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let file = record::read(&out).unwrap();
    assert!(!file.completed);
    assert!(file.t_reached_ms > 0.0, "{message}");
    assert_mentions(
        &message,
        &[
            &format!(
                "the run failed; {} holds everything simulated up to t = {} ms and is marked \
                 failed",
                out.display(),
                (file.t_reached_ms * 1e3).round() / 1e3
            ),
            &format!("no room on disk for {}", out.display()),
            "more are needed for the next batch",
            "free some space, raise the quota or file size limit, or write elsewhere with -o",
            "File too large",
        ],
    );
    assert!(
        file.status
            .starts_with("failed: writing the output failed at t = ")
            && file.status.contains("no room on disk"),
        "{}",
        file.status
    );
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size <= limit_kib * 1024, "{size} bytes");
    for table in &file.spikes {
        assert!(table.timestamps_ms.iter().all(|&t| t <= file.t_reached_ms));
    }
    assert_same_output(
        &file,
        &complete_run(&coba(), "cpu", file.t_reached_ms, &dir),
    );

    if let Some(seen) = python_check(&out) {
        assert_eq!(seen["root"]["completed"], 0);
        assert_eq!(seen["root"]["status"], file.status.as_str());
    }
}

#[test]
fn a_full_disk_stops_the_run_and_leaves_a_readable_file() {
    let _one = one_at_a_time();
    // 2 MiB: about 1.5 s of COBA.
    check_full_disk(2048, true);
}

#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    let _one = one_at_a_time();
    // Without the shell's trap, SIGXFSZ would kill a process that does not handle it.
    check_full_disk(1024, false);
}

#[test]
fn a_disk_too_full_for_the_new_file_leaves_no_file() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let out = dir.join("full.h5");
    let output = run_limited(
        16,
        true,
        &[
            "run",
            arg(&coba()),
            "-o",
            arg(&out),
            "-q",
            "--backend",
            "cpu",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_mentions(
        &stderr(&output),
        &[
            &format!("no room on disk for {}", out.display()),
            "more are needed to create it",
            "write elsewhere with -o",
        ],
    );
    assert!(!out.exists(), "a file that could not be created is removed");
}

/// Stdout as a pipe whose reader is already gone: every write to it fails (EPIPE).
fn closed_stdout() -> std::process::Stdio {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe() fills `fds` with two new descriptors, each owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    writer.into()
}

#[test]
fn a_run_whose_stdout_is_gone_completes_its_file() {
    // `lifsim run ... | head -1`: the messages go nowhere, the simulation and its file complete.
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let out = dir.join("piped.h5");
    let figure = dir.join("piped.svg");
    let output = lifsim()
        .args(["run", arg(&coba()), "-o", arg(&out), "--t-stop", "100"])
        .args(["--backend", "cpu", "--threads", "1", "--plot", arg(&figure)])
        .stdout(closed_stdout())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    let file = record::read(&out).unwrap();
    assert_eq!(file.status, "complete");
    assert!(!file.spikes.is_empty());
    assert!(figure.exists(), "run --plot drew its figure");
}

#[test]
fn a_printing_command_whose_stdout_is_gone_ends_quietly() {
    // `lifsim validate ... | head -1`: ended by SIGPIPE, as other tools are, without a panic.
    use std::os::unix::process::ExitStatusExt;
    let output = lifsim()
        .args(["validate", arg(&coba())])
        .stdout(closed_stdout())
        .output()
        .unwrap();
    assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{output:?}");
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
