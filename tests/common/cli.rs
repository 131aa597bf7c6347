//! Helpers of the tests that run the `lifsim` binary and inspect the files it leaves: starting
//! it, waiting for it with a deadline, peeking at a file it is writing, and reading a file back
//! with h5py.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use lifsim::record::{self, OutputFile};
use serde_json::Value;

/// The `lifsim` binary of this build (Cargo names it to integration tests; examples/ include
/// this file too, without it).
pub fn lifsim_path() -> &'static str {
    match option_env!("CARGO_BIN_EXE_lifsim") {
        Some(path) => path,
        None => panic!("the lifsim binary is built for integration tests only"),
    }
}

/// The `lifsim` binary of this build, with Mesa's device-selection layer quiet.
pub fn lifsim() -> Command {
    let mut command = Command::new(lifsim_path());
    command.env("NODEVICE_SELECT", "1");
    command
}

/// Runs `lifsim args...` to its end.
pub fn run_lifsim(args: &[&str]) -> Output {
    lifsim().args(args).output().expect("cannot start lifsim")
}

/// `path` as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// HDF5 opens files without close-on-exec and locks each file it opens, so a child process
/// started while another test has a file open inherits the lock and holds it until it exits.
/// The tests of a binary that starts processes take this lock, one at a time (which also keeps
/// their timings apart).
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Polls `probe` every few milliseconds until it gives a value, for at most `timeout`.
pub fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` to exit, for at most `timeout`; kills it if it does not.
pub fn wait_or_kill(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let status = poll(timeout, || child.try_wait().expect("waiting for lifsim"));
    if status.is_none() {
        child.kill().ok();
        child.wait().ok();
    }
    status
}

/// Sends `signal` ("INT", "TERM", ...) to process `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("cannot run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// `t_reached` of a file that a running `lifsim` is writing, read without HDF5's file lock (which
/// the writer holds); `None` while the file is missing or a read overlaps a flush.
pub fn t_reached_while_running(path: &Path) -> Option<f64> {
    if !path.exists() {
        return None;
    }
    let file = hdf5_metno::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .open(path)
        .ok()?;
    file.attr("t_reached").ok()?.read_scalar::<f64>().ok()
}

/// Output files of tests: kept in a temporary directory that is removed afterwards unless
/// `LIFSIM_KEEP_TEST_FILES` is set (then its path is printed, to open the files by hand).
pub struct TestDir(Option<tempfile::TempDir>, PathBuf);

impl TestDir {
    pub fn new() -> TestDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        if std::env::var_os("LIFSIM_KEEP_TEST_FILES").is_some() {
            eprintln!("test files kept in {}", path.display());
            TestDir(None, dir.keep())
        } else {
            TestDir(Some(dir), path)
        }
    }

    pub fn path(&self) -> &Path {
        &self.1
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.1.join(name)
    }
}

/// Runs `tests/python/check_output.py` on `path`: h5py opens the file and checks its layout;
/// returns what h5py (and libsonata, if installed) read, or `None` where Python or h5py is
/// missing. Under CI (env `CI` set) a missing h5py fails the test instead.
pub fn python_check(path: &Path) -> Option<Value> {
    let unavailable = |reason: String| {
        assert!(
            std::env::var_os("CI").is_none(),
            "{reason}; CI must run the h5py check (pip install h5py numpy libsonata)"
        );
        eprintln!("skipping the h5py check of {}: {reason}", path.display());
        None
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_output.py");
    let output = match Command::new("python3").arg(&script).arg(path).output() {
        Ok(output) => output,
        Err(e) => return unavailable(format!("cannot run python3 ({e})")),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(2) => return unavailable(stderr.trim().to_owned()),
        _ => panic!("h5py cannot read {}:\n{stderr}", path.display()),
    }
    Some(serde_json::from_slice(&output.stdout).expect("check_output.py prints JSON"))
}

/// Runs `config` on `backend` to `t_stop_ms` into a file in `dir` and reads it back: what an
/// interrupted or failed run should hold up to its `t_reached`.
pub fn complete_run(config: &Path, backend: &str, t_stop_ms: f64, dir: &TestDir) -> OutputFile {
    let path = dir.join(&format!("complete-{backend}-{t_stop_ms}.h5"));
    let t_stop = t_stop_ms.to_string();
    let output = run_lifsim(&[
        "run",
        arg(config),
        "-o",
        arg(&path),
        "-q",
        "--force",
        "--threads",
        "1",
        "--backend",
        backend,
        "--t-stop",
        &t_stop,
    ]);
    assert!(output.status.success(), "{output:?}");
    let file = record::read(&path).unwrap();
    assert_eq!(file.status, "complete");
    file
}

/// `partial` holds exactly what `complete` holds: spikes and samples.
pub fn assert_same_output(partial: &OutputFile, complete: &OutputFile) {
    assert_eq!(partial.spikes.len(), complete.spikes.len());
    for (a, b) in partial.spikes.iter().zip(&complete.spikes) {
        assert_eq!(a.population, b.population);
        assert_eq!(
            a.timestamps_ms.len(),
            b.timestamps_ms.len(),
            "spikes of {}",
            a.population
        );
        assert!(a == b, "the spikes of {} differ", a.population);
    }
    assert_eq!(partial.reports.len(), complete.reports.len());
    for (a, b) in partial.reports.iter().zip(&complete.reports) {
        assert_eq!(a.n_samples, b.n_samples, "{}/{}", a.population, a.variable);
        assert!(
            a == b,
            "the samples of {}/{} differ",
            a.population,
            a.variable
        );
    }
}
