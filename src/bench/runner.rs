//! Running one benchmark case: build the scaled COBA network, warm up, simulate, measure.
//!
//! Build, backend setup, warm-up and simulation are timed apart. The warm-up runs a throw-away
//! backend of the same network for [`WARMUP_STEPS`] steps: it compiles the GPU pipelines, faults
//! in the synapse arrays and brings the CPU to its clock, so that the timed run measures the
//! steady state. The timed run is `sim::run`, the loop of `lifsim run`, with spikes collected in
//! memory (as NEST's spike recorder and Brian2's SpikeMonitor do in the runs compared with);
//! statistics are computed after the clock stops.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{device, GpuBackend, GpuContext, GpuError};
use crate::backend::{Backend, BackendError, Batch, Checkpoint};
use crate::network::{self, BuildError, Network};
use crate::sim::{self, RunError, Sink};

use super::memory;
use super::result::{BenchBackend, BenchCase, BenchResult, Dynamics};
use super::spec::{scaled_coba, DT_MS};

/// Steps of the warm-up run (10 ms of network time).
pub const WARMUP_STEPS: u64 = 100;

/// Share of the available memory a case may plan to use: the estimate is not exact, and the
/// system needs some too.
const MEMORY_HEADROOM: f64 = 0.85;

/// Spike rate assumed when sizing the spike log [Hz]: three times COBA's.
const PLANNED_RATE_HZ: f64 = 50.0;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("invalid benchmark case: {0}")]
    InvalidCase(String),
    #[error(
        "{n} neurons with in-degree {indegree} need about {need_mib} MiB of {memory}, more than \
         the {have_mib} MiB available; choose smaller --sizes"
    )]
    DoesNotFit {
        n: u32,
        indegree: u32,
        memory: &'static str,
        need_mib: u64,
        have_mib: u64,
    },
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Run(#[from] RunError),
}

impl BenchError {
    /// Whether the case failed for lack of memory (where `--sizes max` stops climbing).
    pub fn is_does_not_fit(&self) -> bool {
        matches!(
            self,
            BenchError::DoesNotFit { .. }
                | BenchError::Gpu(GpuError::TooLarge { .. } | GpuError::TooMany { .. })
        )
    }
}

/// Check that `case` is well-formed: sizes, in-degree, a t_stop on the step grid.
pub fn validate_case(case: &BenchCase) -> Result<(), BenchError> {
    let invalid = |m: String| Err(BenchError::InvalidCase(m));
    if case.n < 10 {
        return invalid(format!(
            "the network needs at least 10 neurons (got {})",
            case.n
        ));
    }
    if case.indegree < 5 {
        return invalid(format!(
            "the in-degree must be at least 5, 4 from E and 1 from I (got {})",
            case.indegree
        ));
    }
    let steps = case.t_stop_ms / DT_MS;
    if !(case.t_stop_ms.is_finite() && case.t_stop_ms > 0.0) || (steps - steps.round()).abs() > 1e-6
    {
        return invalid(format!(
            "t_stop must be a positive multiple of dt = {DT_MS} ms (got {} ms)",
            case.t_stop_ms
        ));
    }
    // Spike steps are logged in 32 bits.
    if steps > f64::from(u32::MAX) {
        return invalid(format!(
            "t_stop must be below {} ms (got {} ms)",
            f64::from(u32::MAX) * DT_MS,
            case.t_stop_ms
        ));
    }
    if case.threads == 0 {
        return invalid("threads must be at least 1".to_string());
    }
    Ok(())
}

/// Refuse a case that would not fit the host's memory (and the device's, `device_memory` bytes,
/// for the GPU), judged from the network's size estimate before anything is allocated.
/// `software_gpu`: the GPU's buffers live in host memory (lavapipe).
pub fn check_fits(
    case: &BenchCase,
    device_memory: Option<u64>,
    software_gpu: bool,
) -> Result<(), BenchError> {
    let spec = scaled_coba(case.n, case.indegree, case.t_stop_ms, case.seed);
    let size = network::estimate_size(&spec);
    let device_bytes = crate::backend::gpu::footprint::of_size(&size, &spec, u64::MAX).total();
    // The run logs spikes (8 bytes each). (The build's transient source lists take at most
    // 256 MiB: larger fixed_indegree rows are drawn in blocks, see `rules::fixed_indegree_rows`.)
    let spike_log = (size.neurons as f64 * PLANNED_RATE_HZ * case.t_stop_ms * 1e-3 * 8.0) as u64;
    let mut host_need = size.host_bytes + spike_log;
    if case.backend == BenchBackend::Gpu {
        if let Some(have) = device_memory {
            check(case, "device memory", device_bytes, have)?;
        }
        if software_gpu {
            host_need += device_bytes;
        }
    }
    if let Some(have) = memory::available_host_bytes() {
        check(case, "host memory", host_need, have)?;
    }
    Ok(())
}

fn check(case: &BenchCase, memory: &'static str, need: u64, have: u64) -> Result<(), BenchError> {
    if need as f64 > have as f64 * MEMORY_HEADROOM {
        return Err(BenchError::DoesNotFit {
            n: case.n,
            indegree: case.indegree,
            memory,
            need_mib: need >> 20,
            have_mib: have >> 20,
        });
    }
    Ok(())
}

/// Run `case` in this process. A GPU case runs on `gpu`, or on the device of
/// `device::request_context` when `None`.
pub fn run_case(case: &BenchCase, gpu: Option<Arc<GpuContext>>) -> Result<BenchResult, BenchError> {
    validate_case(case)?;
    let gpu = match case.backend {
        BenchBackend::Cpu => None,
        BenchBackend::Gpu => Some(match gpu {
            Some(ctx) => ctx,
            None => device::request_context().map_err(GpuError::from)?,
        }),
    };
    match &gpu {
        Some(ctx) => check_fits(
            case,
            device::device_memory_bytes(&ctx.adapter),
            ctx.summary.is_software(),
        )?,
        None => check_fits(case, None, false)?,
    }

    let spec = scaled_coba(case.n, case.indegree, case.t_stop_ms, case.seed);
    let t0 = Instant::now();
    // As `lifsim run`: synapses that the backend can draw itself are drawn when it is created.
    let network = network::build_with(
        &spec,
        &network::BuildOptions {
            threads: case.threads,
            placement: network::Placement::Backend,
        },
    )?;
    let build_s = t0.elapsed().as_secs_f64();

    let make = |network| -> Result<Box<dyn Backend + '_>, BenchError> {
        Ok(match &gpu {
            Some(ctx) => Box::new(GpuBackend::new(network, Arc::clone(ctx))?),
            None => Box::new(CpuBackend::new(network, case.threads)),
        })
    };

    let t0 = Instant::now();
    let warmup_steps = {
        let mut backend = make(&network)?;
        warm_up(backend.as_mut(), WARMUP_STEPS)?
    };
    let warmup_s = t0.elapsed().as_secs_f64();

    // The timed run: a fresh backend, so that it starts from the network's initial state.
    let t0 = Instant::now();
    let (mut backend, threads_used, device_bytes) = match &gpu {
        Some(ctx) => {
            let b = GpuBackend::new(&network, Arc::clone(ctx))?;
            let bytes = b.device_bytes();
            (Timed::Gpu(Box::new(b)), None, Some(bytes))
        }
        None => {
            let b = CpuBackend::new(&network, case.threads);
            let threads = b.threads();
            (Timed::Cpu(b), Some(threads), None)
        }
    };
    let setup_s = t0.elapsed().as_secs_f64();
    let mut log = SpikeLog::default();
    let summary = sim::run(
        &network,
        backend.as_backend(),
        &mut log,
        &AtomicBool::new(false),
        |_| {},
    )?;
    let simulate_s = summary.wall.as_secs_f64();
    let (gpu_simulate_s, gpu_host, outdegrees) = match &backend {
        Timed::Gpu(b) => (
            b.gpu_time().map(|d| d.as_secs_f64()),
            Some(b.host_times()),
            b.outdegrees(case.threads),
        ),
        Timed::Cpu(b) => (None, None, b.outdegrees()),
    };
    let backend_description = backend.as_backend().description();
    drop(backend);

    let steps = summary.steps_done;
    let simulated_s = steps as f64 * network.dt_ms * 1e-3;
    let n_neurons = network.n_neurons();
    // Spikes times the out-degree of their source: the synaptic events the run delivered.
    let synaptic_events = log
        .neurons
        .iter()
        .map(|&n| u64::from(outdegrees[n as usize]))
        .sum();
    let per_s = |x: f64| {
        if simulate_s > 0.0 {
            x / simulate_s
        } else {
            0.0
        }
    };
    Ok(BenchResult {
        case: case.clone(),
        backend_description,
        adapter: match &gpu {
            Some(ctx) => ctx.adapter_name(),
            None => memory::cpu_model().unwrap_or_else(|| "unknown CPU".to_string()),
        },
        threads_used,
        n_neurons,
        n_synapses: network.n_synapses(),
        dt_ms: network.dt_ms,
        steps,
        build_s,
        setup_s,
        warmup_s,
        warmup_steps,
        simulate_s,
        gpu_simulate_s,
        gpu_host,
        real_time_factor: if simulated_s > 0.0 {
            simulate_s / simulated_s
        } else {
            0.0
        },
        neuron_updates_per_s: per_s(f64::from(n_neurons) * steps as f64),
        synaptic_events,
        synaptic_events_per_s: per_s(synaptic_events as f64),
        spikes: log.neurons.len() as u64,
        dynamics: dynamics(&network, &log, steps),
        host_peak_bytes: memory::peak_host_bytes(),
        device_bytes,
    })
}

/// The backend of the timed run, kept concrete for what only the GPU backend reports.
enum Timed<'n> {
    Cpu(CpuBackend<'n>),
    Gpu(Box<GpuBackend<'n>>),
}

impl<'n> Timed<'n> {
    fn as_backend(&mut self) -> &mut (dyn Backend + 'n) {
        match self {
            Timed::Cpu(b) => b,
            Timed::Gpu(b) => b.as_mut(),
        }
    }
}

/// Run `steps` steps (or to the network's end) and discard the output. Returns the steps run.
fn warm_up(backend: &mut dyn Backend, steps: u64) -> Result<u64, BackendError> {
    let mut batch = Batch::default();
    while backend.steps_done() < steps {
        if backend.advance(steps - backend.steps_done(), &mut batch)? == 0 {
            break;
        }
    }
    while backend.drain(&mut batch)? > 0 {}
    Ok(backend.steps_done())
}

/// Every spike of a run, in order: two sequential appends per spike, so that collecting them
/// costs the run little.
#[derive(Default)]
struct SpikeLog {
    steps: Vec<u32>,
    neurons: Vec<u32>,
}

impl Sink for SpikeLog {
    type Error = std::convert::Infallible;
    fn write(&mut self, _network: &Network, batch: &Batch) -> Result<(), Self::Error> {
        // validate_case keeps steps below 2^32.
        self.steps
            .extend(batch.spikes.iter().map(|s| s.step as u32));
        self.neurons.extend(batch.spikes.iter().map(|s| s.neuron));
        Ok(())
    }

    fn checkpoint(&mut self, _: &Network, _: &Checkpoint) -> Result<(), Self::Error> {
        // A benchmark run asks for no checkpoints (RunOptions::default()).
        Ok(())
    }
}

/// Rates, CV(ISI) and late activity of a run of `steps` steps (E is population 0, I is 1).
fn dynamics(network: &Network, log: &SpikeLog, steps: u64) -> Dynamics {
    let n = network.n_neurons() as usize;
    let t_ms = steps as f64 * network.dt_ms;
    let late_from = steps.saturating_sub((100.0 / network.dt_ms).round() as u64);
    let late_ms = (steps - late_from) as f64 * network.dt_ms;
    // Per neuron: spike count, last spike time, sum and sum of squares of the ISIs [ms].
    let mut count = vec![0u32; n];
    let mut last = vec![0f64; n];
    let mut sum = vec![0f64; n];
    let mut sum_sq = vec![0f64; n];
    let mut late = 0u64;
    for (&step, &neuron) in log.steps.iter().zip(&log.neurons) {
        let i = neuron as usize;
        let t = network.step_end_ms(u64::from(step));
        if count[i] > 0 {
            let isi = t - last[i];
            sum[i] += isi;
            sum_sq[i] += isi * isi;
        }
        count[i] += 1;
        last[i] = t;
        if u64::from(step) >= late_from {
            late += 1;
        }
    }
    let rate = |p: usize| {
        let pop = &network.populations[p];
        let spikes: u64 = count[pop.range().start as usize..pop.range().end as usize]
            .iter()
            .map(|&c| u64::from(c))
            .sum();
        spikes as f64 / f64::from(pop.n) / (t_ms * 1e-3)
    };
    let e = network.populations[0].range();
    let cvs: Vec<f64> = (e.start as usize..e.end as usize)
        .filter(|&i| count[i] >= 3)
        .map(|i| {
            let k = f64::from(count[i] - 1);
            let mean = sum[i] / k;
            let var = (sum_sq[i] / k - mean * mean).max(0.0);
            var.sqrt() / mean
        })
        .collect();
    let rate_last_100ms_hz = late as f64 / n as f64 / (late_ms * 1e-3);
    Dynamics {
        rate_e_hz: rate(0),
        rate_i_hz: if network.populations.len() > 1 {
            rate(1)
        } else {
            0.0
        },
        cv_isi_e: cvs.iter().sum::<f64>() / cvs.len().max(1) as f64,
        rate_last_100ms_hz,
        self_sustained: (t_ms >= 200.0).then_some(rate_last_100ms_hz > 5.0),
    }
}
