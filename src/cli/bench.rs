//! `lifsim bench`: simulate the scaled COBA network at several sizes on the CPU and GPU backends
//! and print build time, simulation time, throughput, spike statistics and memory.
//!
//! Each case runs in a child process (this binary, re-invoked with the hidden `--child CASE`),
//! so that its peak resident memory (`VmHWM`) is its own and a network too large for memory
//! fails alone. The child prints its outcome as JSON on stdout.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use lifsim::backend::gpu::device;
use lifsim::bench::{
    self, BenchBackend, BenchCase, BenchFailure, BenchReport, BenchResult, MachineInfo,
};

use lifsim::format;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Backends, comma-separated: cpu, gpu. Default: cpu, plus gpu when a hardware GPU exists
    /// (a software adapter such as lavapipe only when asked for).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "B,..")]
    backend: Vec<BackendName>,
    /// Network sizes N [neurons], comma-separated, k and M allowed (4k, 1M); `max` climbs 4k,
    /// 10k, 20k, 40k, 100k, ... to the largest network that fits in memory.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parse_size,
        default_value = "4000,40000,400000",
        value_name = "N,.."
    )]
    sizes: Vec<Size>,
    /// Synapses per neuron, 80 % from E: 80 (COBA) or 1000 (weights scaled by 80/1000, so the
    /// mean input stays COBA's).
    #[arg(long, default_value_t = 80, value_name = "K")]
    indegree: u32,
    /// Simulated time per case [ms].
    #[arg(long, default_value_t = 1000.0, value_name = "MS")]
    t_stop: f64,
    /// CPU thread counts to measure, comma-separated (default: all cores). The GPU backend runs
    /// once per size, building the network with the most threads.
    #[arg(long, value_delimiter = ',', value_name = "T,..")]
    threads: Vec<usize>,
    /// Seed of the network, initial state and kick.
    #[arg(long, default_value_t = 2, value_name = "N")]
    seed: u64,
    /// Also write the results as JSON to this file (rewritten after each case).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Stop a case that runs longer than this [s] (build, warm-up and simulation), report it as
    /// failed, and skip the larger sizes of its series.
    #[arg(long, default_value = "1800", value_name = "S", value_parser = parse_timeout)]
    case_timeout: Duration,
    /// Run one case (JSON) in this process and print its outcome as JSON.
    #[arg(long, hide = true, value_name = "CASE")]
    child: Option<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BackendName {
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    Neurons(u32),
    /// Climb the ladder until a size does not fit.
    Max,
}

fn parse_size(s: &str) -> Result<Size, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Size::Max);
    }
    let (digits, factor) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000),
        None => match s.strip_suffix('M') {
            Some(d) => (d, 1_000_000),
            None => (s, 1),
        },
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| u32::try_from(n * factor).ok())
        .map(Size::Neurons)
        .ok_or_else(|| {
            format!("`{s}` is not a network size: use a number of neurons (4000, 40k, 1M) or `max`")
        })
}

/// What a child process reports.
#[derive(Serialize, Deserialize)]
enum ChildOutcome {
    Ran(Box<BenchResult>),
    Failed { reason: String, does_not_fit: bool },
}

/// How a case's process ended, as the parent sees it.
enum CaseEnd {
    Reported(ChildOutcome),
    /// Stopped at `--case-timeout`.
    TimedOut,
}

/// A case that did not run to its end, as reported.
struct CaseFailure {
    /// What follows "N = n: " in the table.
    line: String,
    reason: String,
    does_not_fit: bool,
    /// Skip the larger sizes of the series.
    stop: bool,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|&v| v > 0.0)
        .and_then(|v| Duration::try_from_secs_f64(v).ok())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

pub fn bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(case) = &args.child {
        return run_child(case);
    }
    let backends = choose_backends(&args.backend);
    let threads = if args.threads.is_empty() {
        vec![super::run::default_threads()]
    } else {
        args.threads.clone()
    };
    let climb = args.sizes.contains(&Size::Max);
    let mut sizes: Vec<u32> = if climb {
        bench::size_ladder()
    } else {
        args.sizes
            .iter()
            .filter_map(|s| match s {
                Size::Neurons(n) => Some(*n),
                Size::Max => None,
            })
            .collect()
    };
    // Increasing, so that a series stops at the first size that does not fit.
    sizes.sort_unstable();
    sizes.dedup();

    // Series of cases: per backend (and thread count, for the CPU), sizes increasing.
    let mut series: Vec<(BenchBackend, usize)> = Vec::new();
    for b in &backends {
        match b {
            BenchBackend::Cpu => series.extend(threads.iter().map(|&t| (BenchBackend::Cpu, t))),
            BenchBackend::Gpu => series.push((
                BenchBackend::Gpu,
                threads.iter().copied().max().unwrap_or(1),
            )),
        }
    }
    for &(backend, t) in &series {
        bench::validate_case(&case(&args, backend, sizes[0], t))?;
    }

    let mut report = BenchReport {
        lifsim_version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        machine: MachineInfo::this_machine(),
        results: Vec::new(),
        failures: Vec::new(),
    };
    print_preamble(&args, &report.machine, climb);
    let mut unexpected_failures = 0;
    for (backend, t) in series {
        println!();
        println!("{}", Row::header());
        for &n in &sizes {
            let case = case(&args, backend, n, t);
            let failure = match run_in_child(&case, args.case_timeout)? {
                CaseEnd::Reported(ChildOutcome::Ran(result)) => {
                    println!("{}", Row::of(&result));
                    report.results.push(*result);
                    None
                }
                CaseEnd::TimedOut => {
                    let reason = format!(
                        "stopped at --case-timeout ({} s); larger sizes of this series skipped",
                        args.case_timeout.as_secs_f64()
                    );
                    Some(CaseFailure {
                        line: reason.clone(),
                        reason,
                        does_not_fit: false,
                        stop: true,
                    })
                }
                // A network that does not fit stops its series: larger ones would not fit either.
                CaseEnd::Reported(ChildOutcome::Failed {
                    reason,
                    does_not_fit,
                }) => Some(CaseFailure {
                    line: if climb && does_not_fit {
                        format!("does not fit ({reason}); the largest that fits is the last above")
                    } else {
                        format!("failed: {reason}")
                    },
                    reason,
                    does_not_fit,
                    stop: does_not_fit,
                }),
            };
            let stop = failure.as_ref().is_some_and(|f| f.stop);
            if let Some(f) = failure {
                println!(
                    "{} N = {}: {}",
                    series_name(backend, t),
                    format::count(u64::from(n)),
                    f.line
                );
                if !(climb && f.does_not_fit) {
                    unexpected_failures += 1;
                }
                report.failures.push(BenchFailure {
                    case,
                    reason: f.reason,
                    does_not_fit: f.does_not_fit,
                });
            }
            if let Some(path) = &args.json {
                write_json(path, &report)?;
            }
            if stop {
                break;
            }
        }
    }
    println!();
    println!("sim s: wall time of the simulation loop (GPU s: GPU time from timestamp queries); RTF: sim s per simulated second;");
    println!("syn ev/s: spikes times out-degree per sim s; host peak: VmHWM of the case's own process; ! after a rate: activity died after the kick");
    if let Some(path) = &args.json {
        println!("results written to {}", path.display());
    }
    Ok(if unexpected_failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn case(args: &BenchArgs, backend: BenchBackend, n: u32, threads: usize) -> BenchCase {
    BenchCase {
        backend,
        n,
        indegree: args.indegree,
        t_stop_ms: args.t_stop,
        threads,
        seed: args.seed,
    }
}

/// The backends asked for, or the default: the CPU, and the GPU when it is a hardware one.
fn choose_backends(asked: &[BackendName]) -> Vec<BenchBackend> {
    let mut backends: Vec<BenchBackend> = asked
        .iter()
        .map(|b| match b {
            BackendName::Cpu => BenchBackend::Cpu,
            BackendName::Gpu => BenchBackend::Gpu,
        })
        .collect();
    backends.dedup();
    if backends.is_empty() {
        backends.push(BenchBackend::Cpu);
        match device::best_adapter() {
            Some(a) if !a.is_software() => backends.push(BenchBackend::Gpu),
            Some(a) => println!(
                "gpu not measured by default: the only adapter, {}, runs shaders on the CPU (--backend cpu,gpu measures it anyway)",
                device::describe(&a)
            ),
            None => println!("gpu not measured: no GPU adapter found"),
        }
    }
    backends
}

fn print_preamble(args: &BenchArgs, machine: &MachineInfo, climb: bool) {
    println!(
        "lifsim bench: scaled COBA (Brette et al. 2007, benchmark 1), in-degree {}, {} ms of network time, dt 0.1 ms, seed {}",
        args.indegree, args.t_stop, args.seed
    );
    println!(
        "machine: {}, {} threads, {} {}",
        machine.cpu_model.as_deref().unwrap_or("unknown CPU"),
        machine.cpu_threads,
        machine.os,
        machine.arch
    );
    println!(
        "each case: build, a {}-step warm-up, then the timed run, in a process of its own{}",
        bench::WARMUP_STEPS,
        if climb {
            "; sizes climb until one does not fit"
        } else {
            ""
        }
    );
}

fn series_name(backend: BenchBackend, threads: usize) -> String {
    match backend {
        BenchBackend::Cpu => format!("cpu/{threads}"),
        BenchBackend::Gpu => "gpu".to_string(),
    }
}

/// One line of the table.
struct Row;

impl Row {
    fn header() -> String {
        format!(
            "{:<8} {:>11} {:>13} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>11} {:>12} {:>5} {:>10} {:>10}  adapter",
            "backend", "N", "synapses", "build s", "sim s", "GPU s", "RTF", "upd/s", "syn ev/s",
            "spikes", "rate E/I Hz", "CV E", "host peak", "GPU mem"
        )
    }

    fn of(r: &BenchResult) -> String {
        let d = &r.dynamics;
        let dead = if d.self_sustained == Some(false) {
            "!"
        } else {
            ""
        };
        let name = match r.threads_used {
            Some(t) => format!("cpu/{t}"),
            None => "gpu".to_string(),
        };
        format!(
            "{:<8} {:>11} {:>13} {:>8.3} {:>8.3} {:>8} {:>8.4} {:>10.3e} {:>10.3e} {:>11} {:>12} {:>5.2} {:>10} {:>10}  {}",
            name,
            format::count(u64::from(r.n_neurons)),
            format::count(r.n_synapses),
            r.build_s + r.setup_s,
            r.simulate_s,
            r.gpu_simulate_s.map_or("-".to_string(), |s| format!("{s:.3}")),
            r.real_time_factor,
            r.neuron_updates_per_s,
            r.synaptic_events_per_s,
            format::count(r.spikes),
            format!("{:.1}/{:.1}{dead}", d.rate_e_hz, d.rate_i_hz),
            d.cv_isi_e,
            r.host_peak_bytes.map_or("n/a".to_string(), format::bytes),
            r.device_bytes.map_or("-".to_string(), format::bytes),
            r.adapter,
        )
    }
}

/// Run `case` in a child process and read its outcome; kill it after `timeout`.
fn run_in_child(case: &BenchCase, timeout: Duration) -> anyhow::Result<CaseEnd> {
    let exe = std::env::current_exe().context("cannot find the lifsim executable to re-run")?;
    let started = Instant::now();
    let mut child = Command::new(&exe)
        .arg("bench")
        .arg("--child")
        .arg(serde_json::to_string(case)?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    // Read its output as it comes, so that a full pipe never holds the child up.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        stdout.read_to_end(&mut text).map(|_| text)
    });
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for a case's process")? {
            break status;
        }
        if started.elapsed() >= timeout {
            // Already ended, or killed now: either way it is reaped below.
            let _ = child.kill();
            child
                .wait()
                .context("waiting for a stopped case's process")?;
            let _ = reader.join();
            return Ok(CaseEnd::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader of a case's output panicked"))?
        .context("reading a case's output")?;
    if !status.success() {
        return Ok(CaseEnd::Reported(ChildOutcome::Failed {
            reason: format!("the case's process ended with {status}"),
            does_not_fit: false,
        }));
    }
    let outcome = serde_json::from_slice(&stdout).with_context(|| {
        format!(
            "the case's process printed no result: {}",
            String::from_utf8_lossy(&stdout)
        )
    })?;
    Ok(CaseEnd::Reported(outcome))
}

/// The child's side: run the case, print the outcome.
fn run_child(case: &str) -> anyhow::Result<ExitCode> {
    let case: BenchCase = serde_json::from_str(case).context("bad --child case")?;
    let outcome = match bench::run_case(&case, None) {
        Ok(result) => ChildOutcome::Ran(Box::new(result)),
        Err(e) => ChildOutcome::Failed {
            reason: format!("{e:#}"),
            does_not_fit: e.is_does_not_fit(),
        },
    };
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(ExitCode::SUCCESS)
}

fn write_json(path: &PathBuf, report: &BenchReport) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes() {
        assert_eq!(parse_size("4000"), Ok(Size::Neurons(4000)));
        assert_eq!(parse_size("40k"), Ok(Size::Neurons(40_000)));
        assert_eq!(parse_size("1M"), Ok(Size::Neurons(1_000_000)));
        assert_eq!(parse_size("max"), Ok(Size::Max));
        assert!(parse_size("5G").is_err());
        assert!(parse_size("10000M").is_err());
    }
}
