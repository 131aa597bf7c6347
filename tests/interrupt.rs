//! Interrupting `lifsim run` with SIGINT (Ctrl-C) or SIGTERM: it stops within a second or two,
//! writes everything simulated so far, marks the file `interrupted` with the time reached, and
//! exits with code 130. The file reads back with lifsim's reader and with h5py, and holds exactly
//! the spikes and samples of a complete run up to the time reached.
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::cli::*;
use lifsim::record;

/// How long `lifsim` may take from the signal to its exit. The run loop looks for a stop between
/// batches of about 100 ms wall time, then writes what is in flight and closes the file; the
/// margin is for a loaded 2-core machine.
const STOP_WITHIN: Duration = Duration::from_secs(2);

/// How long the network build and the first batches may take (lavapipe compiles shaders first).
const START_WITHIN: Duration = Duration::from_secs(120);

/// Long enough that no run here gets to its end.
const T_STOP_MS: &str = "100000";

/// The signal is sent once the file holds this much: after the kick that ignites COBA, so that
/// the file holds spikes of every population.
const SIGNAL_AFTER_MS: f64 = 150.0;

fn coba() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/coba.toml")
}

/// COBA with 400 neurons (same in-degrees, same kick per neuron): the GPU case, on lavapipe.
fn small_coba(dir: &TestDir) -> PathBuf {
    let mut text = std::fs::read_to_string(coba()).unwrap();
    for (from, to) in [
        ("n = 3200 ", "n = 320  "),
        ("n = 800 ", "n = 80  "),
        ("neurons = \"0:400\"", "neurons = \"0:40\""),
    ] {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} in configs/coba.toml"
        );
        text = text.replace(from, to);
    }
    let path = dir.join("coba_400.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// How a signalled run ended.
struct Stopped {
    status: ExitStatus,
    /// From the signal to the exit.
    latency: Duration,
    /// `t_reached` in the file when the signal was sent [ms].
    t_signalled_ms: f64,
    stdout: String,
    stderr: String,
}

/// Starts `lifsim run config` into `out`, waits until the file holds `SIGNAL_AFTER_MS`, sends
/// `signal` and waits for the exit.
fn run_and_signal(config: &Path, backend: &str, signal: &str, out: &Path) -> Stopped {
    run_and_signal_after(config, backend, &[(Duration::ZERO, signal)], out)
}

/// Like `run_and_signal`, with signals each sent after a delay; the latency counts from the
/// first.
fn run_and_signal_after(
    config: &Path,
    backend: &str,
    signals: &[(Duration, &str)],
    out: &Path,
) -> Stopped {
    let log = |name: &str| out.with_extension(name);
    let mut child = lifsim()
        .args([
            "run",
            arg(config),
            "-o",
            arg(out),
            "-q",
            "--backend",
            backend,
        ])
        .args(["--t-stop", T_STOP_MS])
        // One thread: on a machine whose cores are busy with other work, the CPU backend's
        // threads wait for each other at a spin barrier every step and a batch can take 30 times
        // its planned 100 ms, so the stop waits that long (docs/reliability.md).
        .args(["--threads", "1"])
        .stdout(std::fs::File::create(log("stdout")).unwrap())
        .stderr(std::fs::File::create(log("stderr")).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("cannot start lifsim");
    let read_log = |name: &str| std::fs::read_to_string(log(name)).unwrap();

    let t_signalled_ms = poll(START_WITHIN, || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "lifsim exited ({status}) before the signal:\n{}{}",
                read_log("stdout"),
                read_log("stderr")
            );
        }
        t_reached_while_running(out).filter(|&t| t >= SIGNAL_AFTER_MS)
    })
    .unwrap_or_else(|| {
        child.kill().ok();
        panic!(
            "{} did not reach {SIGNAL_AFTER_MS} ms in {START_WITHIN:?}",
            out.display()
        )
    });

    let mut sent = None;
    for &(delay, signal) in signals {
        // The moment of a signal is what these tests vary: a plain sleep.
        std::thread::sleep(delay);
        send_signal(child.id(), signal);
        sent.get_or_insert_with(Instant::now);
    }
    let sent = sent.expect("a signal");
    let status = wait_or_kill(&mut child, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("lifsim did not exit within 30 s of {signals:?}"));
    Stopped {
        status,
        latency: sent.elapsed(),
        t_signalled_ms,
        stdout: read_log("stdout"),
        stderr: read_log("stderr"),
    }
}

/// Interrupts a run of `config` on `backend` with `signal` and checks everything the file and the
/// process say.
fn check_interruption(config: &Path, backend: &str, signal: &str, dir: &TestDir) {
    let out = dir.join(&format!("{backend}-{signal}.h5"));
    let stopped = run_and_signal(config, backend, signal, &out);
    let logs = format!("stdout:\n{}\nstderr:\n{}", stopped.stdout, stopped.stderr);
    eprintln!(
        "{backend}, SIG{signal} at t = {} ms: exited {:?} after {:?}",
        stopped.t_signalled_ms, stopped.status, stopped.latency
    );
    assert_eq!(stopped.status.code(), Some(130), "{logs}");
    assert!(
        stopped.latency <= STOP_WITHIN,
        "lifsim took {:?} to stop after SIG{signal}; {logs}",
        stopped.latency
    );
    assert!(
        stopped.stdout.contains("interrupted at t = ")
            && stopped.stdout.contains(&format!(
                "{} holds everything simulated so far and is marked incomplete",
                out.display()
            )),
        "{logs}"
    );

    let file = record::read(&out).unwrap();
    assert!(!file.completed);
    assert_eq!(file.status, "interrupted");
    assert!(
        file.t_reached_ms >= stopped.t_signalled_ms && file.t_reached_ms < file.t_stop_ms,
        "t_reached = {} ms, signalled at {} ms",
        file.t_reached_ms,
        stopped.t_signalled_ms
    );
    assert!(
        stopped
            .stdout
            .contains(&format!("interrupted at t = {:.1} ms", file.t_reached_ms)),
        "{logs}"
    );
    for table in &file.spikes {
        assert!(
            !table.timestamps_ms.is_empty(),
            "{} never spiked",
            table.population
        );
        let last = table.timestamps_ms.last().unwrap();
        assert!(
            *last <= file.t_reached_ms,
            "a spike of {} at {last} ms, after t_reached = {} ms",
            table.population,
            file.t_reached_ms
        );
    }

    // A complete run to t_reached (same seed, same backend: the same spikes, bit for bit).
    let complete = complete_run(config, backend, file.t_reached_ms, dir);
    assert_same_output(&file, &complete);

    if let Some(seen) = python_check(&out) {
        let root = &seen["root"];
        assert_eq!(root["status"], "interrupted");
        assert_eq!(root["completed"], 0);
        let t_reached = root["t_reached"].as_f64().unwrap();
        assert!(
            (t_reached - file.t_reached_ms).abs() < 1e-9,
            "h5py: {t_reached}"
        );
        for table in &file.spikes {
            let timestamps = &seen["spikes"][&table.population]["timestamps"];
            assert_eq!(
                timestamps.as_array().map(Vec::len),
                Some(table.timestamps_ms.len()),
                "h5py, spikes of {}",
                table.population
            );
        }
    }
}

#[test]
fn ctrl_c_stops_a_cpu_run_and_keeps_everything() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    check_interruption(&coba(), "cpu", "INT", &dir);
}

#[test]
fn sigterm_stops_a_cpu_run_and_keeps_everything() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    check_interruption(&coba(), "cpu", "TERM", &dir);
}

#[test]
fn ctrl_c_stops_a_gpu_run_and_keeps_everything() {
    let _one = one_at_a_time();
    if common::gpu().is_none() {
        return;
    }
    let dir = TestDir::new();
    check_interruption(&small_coba(&dir), "gpu", "INT", &dir);
}

/// The file a run leaves when it is gone at once: readable, `running`, and holding exactly a
/// complete run up to its `t_reached`.
fn check_abrupt_end(config: &Path, file: &Path, dir: &TestDir) -> f64 {
    let file = record::read(file).unwrap();
    assert!(!file.completed);
    for table in &file.spikes {
        assert!(table.timestamps_ms.iter().all(|&t| t <= file.t_reached_ms));
    }
    assert_same_output(&file, &complete_run(config, "cpu", file.t_reached_ms, dir));
    file.t_reached_ms
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_the_file_stays_readable() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let out = dir.join("twice.h5");
    let twice = [(Duration::ZERO, "INT"), (Duration::ZERO, "INT")];
    let stopped = run_and_signal_after(&coba(), "cpu", &twice, &out);
    assert_eq!(stopped.status.code(), Some(130));
    assert!(stopped.latency <= STOP_WITHIN, "{:?}", stopped.latency);
    // Either the first signal was handled to its end (`interrupted`), or the second cut it short
    // (`running`): the file is sound both ways.
    let status = record::read(&out).unwrap().status;
    assert!(status == "interrupted" || status == "running", "{status}");
    check_abrupt_end(&coba(), &out, &dir);
}

#[test]
fn sigkill_at_any_moment_leaves_a_readable_file() {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    // Kills spread over several batches and their flushes.
    let delays_ms = [0, 13, 41, 89];
    for delay_ms in delays_ms {
        let out = dir.join(&format!("killed-{delay_ms}.h5"));
        let kill = [(Duration::from_millis(delay_ms), "KILL")];
        let stopped = run_and_signal_after(&coba(), "cpu", &kill, &out);
        assert_eq!(stopped.status.code(), None, "killed by the signal");
        assert_eq!(record::read(&out).unwrap().status, "running");
        let t_reached = check_abrupt_end(&coba(), &out, &dir);
        eprintln!(
            "SIGKILL {delay_ms} ms after t = {} ms: t_reached = {t_reached} ms",
            stopped.t_signalled_ms
        );
        // h5py too, once (it takes a second to start).
        if delay_ms == delays_ms[delays_ms.len() - 1] {
            if let Some(seen) = python_check(&out) {
                assert_eq!(seen["root"]["status"], "running");
            }
        }
    }
}
