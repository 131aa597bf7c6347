//! What one benchmark case asks for and what it measured, as written to `lifsim bench --json`.
//! Every quantity carries its unit in its name.

use serde::{Deserialize, Serialize};

/// Which backend a case runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchBackend {
    Cpu,
    Gpu,
}

impl BenchBackend {
    pub fn name(self) -> &'static str {
        match self {
            BenchBackend::Cpu => "cpu",
            BenchBackend::Gpu => "gpu",
        }
    }
}

/// One benchmark run: the scaled COBA network of `n` neurons on one backend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchCase {
    pub backend: BenchBackend,
    /// Neurons (NE = 0.8 n, NI = 0.2 n).
    pub n: u32,
    /// Synapses onto each neuron (80: COBA; 1,000: the dense variant, weights scaled by 80/1000).
    pub indegree: u32,
    /// Simulated time [ms].
    pub t_stop_ms: f64,
    /// CPU threads: of the CPU backend, and of the network build for both backends.
    pub threads: usize,
    pub seed: u64,
}

/// Spike statistics of a run, to check that speed was measured at matching dynamics. The
/// definitions are those of `benches/compare/stats.py`, which computes the same for NEST and
/// Brian2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dynamics {
    /// Mean firing rate of E and of I over the whole run [Hz].
    pub rate_e_hz: f64,
    pub rate_i_hz: f64,
    /// Mean over E neurons with at least 3 spikes of std(ISI) / mean(ISI).
    pub cv_isi_e: f64,
    /// Mean rate of all neurons over the last 100 ms [Hz].
    pub rate_last_100ms_hz: f64,
    /// Whether activity outlived the kick (rate over the last 100 ms above 5 Hz); `None` when
    /// the run ends before 200 ms. A network that fell silent simulates faster than one that
    /// did not: its timings are not comparable.
    pub self_sustained: Option<bool>,
}

/// What one case measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    pub case: BenchCase,
    /// `Backend::description`: "cpu, 2 threads", "gpu: NVIDIA H100 (Vulkan)".
    pub backend_description: String,
    /// The CPU's model name (CPU backend) or the GPU adapter's name and API.
    pub adapter: String,
    /// Threads the CPU backend used (fewer than asked for in small networks); `None` for the GPU.
    pub threads_used: Option<usize>,
    pub n_neurons: u32,
    pub n_synapses: u64,
    pub dt_ms: f64,
    pub steps: u64,
    /// Wall time of `network::build`: initial state, and the connectivity that the backend does
    /// not draw itself [s].
    pub build_s: f64,
    /// Wall time of creating the backend: allocation, the connectivity it draws itself (the CPU
    /// into host memory, the GPU on the device) and, for the GPU, the upload [s].
    pub setup_s: f64,
    /// Wall time of the warm-up run (a throw-away backend; first GPU dispatches compile shaders) [s].
    pub warmup_s: f64,
    /// Steps of the warm-up run.
    pub warmup_steps: u64,
    /// Wall time of the simulation loop, spikes collected in memory [s].
    pub simulate_s: f64,
    /// GPU time of the same simulation from timestamp queries [s], where the adapter has them.
    pub gpu_simulate_s: Option<f64>,
    /// The GPU backend's host side during the simulation: submissions, record halts, and the
    /// time spent encoding, waiting and reading back (GPU backend only).
    #[serde(default)]
    pub gpu_host: Option<crate::backend::gpu::HostTimes>,
    /// `simulate_s` per simulated second (below 1: faster than real time).
    pub real_time_factor: f64,
    /// Neurons times steps, per `simulate_s`.
    pub neuron_updates_per_s: f64,
    /// Spikes delivered to a synapse (each spike times its source's out-degree).
    pub synaptic_events: u64,
    pub synaptic_events_per_s: f64,
    pub spikes: u64,
    pub dynamics: Dynamics,
    /// Peak resident memory of the process that ran the case (`VmHWM`) [bytes]; `None` where the
    /// system does not tell (not Linux).
    pub host_peak_bytes: Option<u64>,
    /// Device memory of the network on the GPU [bytes] (GPU backend only).
    pub device_bytes: Option<u64>,
}

/// The machine a report was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model name, where the system tells (Linux).
    pub cpu_model: Option<String>,
    /// Threads the system offers (`available_parallelism`).
    pub cpu_threads: usize,
    pub os: String,
    pub arch: String,
}

impl MachineInfo {
    pub fn this_machine() -> MachineInfo {
        MachineInfo {
            cpu_model: super::memory::cpu_model(),
            cpu_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
        }
    }
}

/// A case that did not run, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchFailure {
    pub case: BenchCase,
    pub reason: String,
    /// The network was too large for the memory of the host or the device.
    pub does_not_fit: bool,
}

/// Everything `lifsim bench --json` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub lifsim_version: String,
    pub command_line: String,
    pub machine: MachineInfo,
    /// In the order they ran.
    pub results: Vec<BenchResult>,
    pub failures: Vec<BenchFailure>,
}
