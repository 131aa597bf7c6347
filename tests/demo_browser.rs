//! `lifsim demo` end to end: the built binary serves the page on a free port, and headless
//! Chromium, driven by `tests/browser/demo.mjs` (playwright-core), clicks the input neuron, reads
//! V_m from the page and checks rise, decay, firing and reset, then runs the network view and
//! saves a screenshot (into the target's tmp dir, or to `LIFSIM_DEMO_SCREENSHOT`).
//!
//! Needs Node.js, Chromium (`chromium` on the PATH, or `LIFSIM_CHROMIUM`) and playwright-core
//! (`npm ci` in `tests/browser`). Without them the test says why and passes, unless `CI` is set:
//! then a missing tool is a failure.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn node_works() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the test needs and does not find, each with how to get it.
fn missing_tools(browser_dir: &Path, chromium: &Option<PathBuf>) -> Vec<String> {
    let mut missing = Vec::new();
    if !node_works() {
        missing.push("node (Node.js 20 or later: apt-get install -y nodejs)".to_string());
    }
    if chromium.is_none() {
        missing.push(
            "chromium (apt-get install -y chromium, or set LIFSIM_CHROMIUM to a Chromium binary)"
                .to_string(),
        );
    }
    if !browser_dir
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("playwright-core (run `npm ci` in tests/browser)".to_string());
    }
    missing
}

/// Starts `lifsim demo --port 0` and returns it with the address it printed.
fn start_server() -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifsim"))
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start lifsim demo");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("lifsim demo: {line}");
            if let Some(at) = line.find("http://") {
                let url: String = line[at..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("lifsim demo printed no address within 30 s");
    (server, url)
}

#[test]
fn the_demo_works_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser_dir = root.join("tests/browser");
    let chromium = std::env::var_os("LIFSIM_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| find_on_path(&["chromium", "chromium-browser", "google-chrome"]));
    let missing = missing_tools(&browser_dir, &chromium);
    if !missing.is_empty() {
        let list = missing.join("; ");
        if std::env::var_os("CI").is_some() {
            panic!("CI is set, and the browser test needs: {list}");
        }
        // Straight to stderr, past the test harness's capture: a skip should be seen.
        let _ = writeln!(
            std::io::stderr(),
            "demo browser test skipped: missing {list} (with CI set this is a failure)"
        );
        return;
    }
    let chromium = chromium.expect("checked above");

    let screenshot = std::env::var_os("LIFSIM_DEMO_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo.png"));
    let _ = std::fs::remove_file(&screenshot);
    let (_server, url) = start_server();

    // The script's output goes to a file: shown with the test's output, and in the failure.
    let log_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo_browser.log");
    let log = std::fs::File::create(&log_path).expect("create the browser test's log");
    let mut node = Command::new("node")
        .arg(browser_dir.join("demo.mjs"))
        .current_dir(&browser_dir)
        .env("DEMO_URL", &url)
        .env("CHROMIUM", &chromium)
        .env("SCREENSHOT", &screenshot)
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start node");
    // The script takes about 20 s; a hung browser must not hang the test suite.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(180) {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    println!("{output}");
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("tests/browser/demo.mjs failed ({s}):\n{output}"),
        None => panic!("tests/browser/demo.mjs ran for 3 minutes; killed it:\n{output}"),
    }
    let size = std::fs::metadata(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()))
        .len();
    assert!(size > 10_000, "the screenshot is only {size} bytes");
    println!("screenshot: {} ({size} bytes)", screenshot.display());
}
