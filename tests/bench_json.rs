//! `lifsim bench --json`: the fields of its report, from the built binary, on a tiny network
//! (each case runs in a child process, as in real use). The GPU case runs where an adapter
//! exists (lavapipe without a GPU) and is required with LIFSIM_REQUIRE_GPU=1.

use serde_json::Value;

mod common;

/// Run `lifsim bench` with `args` plus `--json`, and return the report.
fn bench(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("bench.json");
    let output = common::cli::lifsim()
        .arg("bench")
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("lifsim runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "lifsim bench failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("syn ev/s"), "no table header in:\n{stdout}");
    let text = std::fs::read_to_string(&json).expect("the JSON file was written");
    serde_json::from_str(&text).expect("valid JSON")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

/// The fields every result has, with values that hold for any run of `n` neurons for `t_ms`.
fn check_result(r: &Value, backend: &str, n: u64, t_ms: f64) {
    assert_eq!(r["case"]["backend"], backend);
    assert_eq!(r["case"]["n"], n);
    assert_eq!(r["case"]["indegree"], 80);
    assert_eq!(r["n_neurons"], n);
    assert_eq!(r["n_synapses"], n * 80);
    assert_eq!(number(r, "dt_ms"), 0.1);
    assert_eq!(r["steps"], (t_ms / 0.1).round() as u64);
    assert!(r["adapter"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(r["backend_description"]
        .as_str()
        .is_some_and(|s| s.starts_with(backend)));
    for key in ["build_s", "setup_s", "warmup_s", "simulate_s"] {
        let x = number(r, key);
        assert!((0.0..60.0).contains(&x), "{key} = {x}");
    }
    assert!(r["warmup_steps"].as_u64().is_some_and(|s| s > 0));
    let sim = number(r, "simulate_s");
    let rtf = number(r, "real_time_factor");
    assert!((rtf - sim / (t_ms * 1e-3)).abs() <= 1e-9 * rtf.max(1.0));
    let updates = number(r, "neuron_updates_per_s");
    assert!((updates * sim - n as f64 * t_ms / 0.1).abs() <= 1e-6 * updates * sim);
    let spikes = r["spikes"].as_u64().expect("spikes");
    let events = r["synaptic_events"].as_u64().expect("synaptic_events");
    assert!(spikes > 0, "the kick makes neurons fire");
    // Each spike reaches its source's out-degree: 80 on average.
    assert!(
        events > spikes * 40 && events < spikes * 160,
        "{events} events for {spikes} spikes"
    );
    assert!(number(r, "synaptic_events_per_s") > 0.0);
    let d = &r["dynamics"];
    for key in ["rate_e_hz", "rate_i_hz", "cv_isi_e", "rate_last_100ms_hz"] {
        assert!(number(d, key) >= 0.0, "{key}");
    }
    // Too short a run to judge whether activity outlives the kick.
    assert!(d["self_sustained"].is_null());
    if cfg!(target_os = "linux") {
        assert!(r["host_peak_bytes"].as_u64().is_some_and(|b| b > 1 << 20));
    }
    match backend {
        "cpu" => {
            assert_eq!(r["threads_used"], 1);
            assert!(r["device_bytes"].is_null() && r["gpu_simulate_s"].is_null());
            assert!(r["gpu_host"].is_null());
        }
        _ => {
            assert!(r["threads_used"].is_null());
            assert!(r["device_bytes"].as_u64().is_some_and(|b| b > 0));
            // Null where the adapter has no timestamp queries; lavapipe has them.
            assert!(r["gpu_simulate_s"].is_null() || number(r, "gpu_simulate_s") > 0.0);
            // 300 steps: at least one submission, each timed on the host.
            let host = &r["gpu_host"];
            assert!(host["submissions"].as_u64().is_some_and(|n| n >= 1));
            assert!(host["record_halts"].as_u64().is_some());
            for key in ["encode_s", "wait_s", "readback_s"] {
                assert!(number(host, key) > 0.0, "gpu_host.{key}");
            }
            assert!(number(host, "encode_s") + number(host, "wait_s") <= number(r, "simulate_s"));
        }
    }
}

#[test]
fn cpu_report_has_every_field() {
    let report = bench(&[
        "--backend",
        "cpu",
        "--sizes",
        "500,1k",
        "--t-stop",
        "30",
        "--threads",
        "1",
    ]);
    assert_eq!(report["lifsim_version"], env!("CARGO_PKG_VERSION"));
    assert!(report["command_line"].as_str().unwrap().contains("bench"));
    assert!(report["machine"]["cpu_threads"].as_u64().unwrap() >= 1);
    assert_eq!(report["failures"].as_array().unwrap().len(), 0);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    check_result(&results[0], "cpu", 500, 30.0);
    check_result(&results[1], "cpu", 1000, 30.0);
}

#[test]
fn gpu_report_has_every_field() {
    if common::gpu().is_none() {
        return;
    }
    let report = bench(&["--backend", "gpu", "--sizes", "500", "--t-stop", "30"]);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{report}");
    check_result(&results[0], "gpu", 500, 30.0);
}

// The memory check reads /proc/meminfo.
#[cfg(target_os = "linux")]
#[test]
fn a_network_too_large_for_memory_fails_cleanly() {
    // 4 billion neurons with 1,000 synapses each need petabytes: refused before any allocation.
    let output = common::cli::lifsim()
        .args([
            "bench",
            "--backend",
            "cpu",
            "--sizes",
            "4000M",
            "--indegree",
            "1000",
        ])
        .output()
        .expect("lifsim runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("choose smaller --sizes"), "{stdout}");
}

#[test]
fn a_case_past_its_timeout_is_stopped_and_reported() {
    // 1,000,000 neurons for 10 s take far longer than 1 s: stopped, reported, the next size
    // of the series skipped.
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("bench.json");
    let started = std::time::Instant::now();
    let output = common::cli::lifsim()
        .args(["bench", "--backend", "cpu", "--threads", "1"])
        .args([
            "--sizes",
            "1M,2M",
            "--t-stop",
            "10000",
            "--case-timeout",
            "1",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("lifsim runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("N = 1,000,000: stopped at --case-timeout (1 s)"),
        "{stdout}"
    );
    assert!(!stdout.contains("2,000,000"), "{stdout}");
    assert!(started.elapsed().as_secs() < 30);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["case"]["n"], 1_000_000);
    assert_eq!(failures[0]["does_not_fit"], false);
    assert!(report["results"].as_array().unwrap().is_empty());
}

#[test]
fn a_case_timeout_that_is_not_a_positive_number_is_refused() {
    for bad in ["0", "-5", "soon", "1e20"] {
        let output = common::cli::run_lifsim(&["bench", &format!("--case-timeout={bad}")]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("{bad:?} is not a positive number of seconds")),
            "{stderr}"
        );
    }
}
