//! Shared helpers of the integration tests: build specs in code and run them on every backend.
#![allow(dead_code)]

pub mod cli;

use std::sync::{Arc, OnceLock};

use lifsim::backend::cpu::CpuBackend;
use lifsim::backend::gpu::device::{gpu_required, request_context};
use lifsim::backend::gpu::{GpuBackend, GpuContext, REQUIRE_GPU_ENV};
use lifsim::backend::Backend;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use lifsim::network::Network;
use lifsim::sim::{run_to_memory, Recording};

/// The backends every shared test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cpu { threads: usize },
    Gpu,
}

impl Kind {
    pub fn name(&self) -> String {
        match self {
            Kind::Cpu { threads } => format!("cpu/{threads}"),
            Kind::Gpu => "gpu".to_string(),
        }
    }
}

/// One GPU device for all the tests of a test binary (pipelines compile once), or `None` when
/// there is no adapter. With `LIFSIM_REQUIRE_GPU=1` (set in CI) a missing adapter is an error.
pub fn gpu() -> Option<Arc<GpuContext>> {
    static CONTEXT: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    CONTEXT
        .get_or_init(|| match request_context() {
            Ok(ctx) => Some(ctx),
            Err(e) if gpu_required() => panic!("{REQUIRE_GPU_ENV} is set but: {e}"),
            Err(e) => {
                eprintln!("GPU tests skipped: {e} (set {REQUIRE_GPU_ENV}=1 to make this an error)");
                None
            }
        })
        .clone()
}

/// CPU with one and with several threads, and the GPU when there is one.
pub fn backends() -> Vec<Kind> {
    let mut kinds = vec![Kind::Cpu { threads: 1 }, Kind::Cpu { threads: 3 }];
    if gpu().is_some() {
        kinds.push(Kind::Gpu);
    }
    kinds
}

pub fn make_backend(network: &Network, kind: Kind) -> Box<dyn Backend + '_> {
    match kind {
        // Partitions of 256 neurons: small test networks run on every thread asked for.
        Kind::Cpu { threads } => Box::new(CpuBackend::with_min_neurons_per_thread(
            network, threads, 256,
        )),
        Kind::Gpu => Box::new(
            GpuBackend::new(network, gpu().expect("GPU backend asked for without a GPU"))
                .expect("GPU backend creation failed"),
        ),
    }
}

pub fn simulate(network: &Network, kind: Kind) -> Recording {
    let mut backend = make_backend(network, kind);
    run_to_memory(network, backend.as_mut()).expect("simulation failed")
}

pub fn build(spec: &NetworkSpec) -> Network {
    lifsim::network::build(spec, 2).expect("network build failed")
}

pub fn spec(dt_ms: f64, t_stop_ms: f64) -> NetworkSpec {
    NetworkSpec {
        simulation: SimulationSpec {
            dt_ms,
            t_stop_ms,
            seed: 1,
            backend: BackendChoice::Cpu,
            threads: Some(1),
        },
        populations: Vec::new(),
        projections: Vec::new(),
        stimuli: Vec::new(),
        recorders: Vec::new(),
        source: ConfigSource::default(),
    }
}

pub fn population(name: &str, n: u32, params: IafCondExpParams) -> PopulationSpec {
    PopulationSpec {
        name: name.to_string(),
        n,
        params,
        v_m: Distribution::Constant(params.e_l),
        g_ex: Distribution::Constant(0.0),
        g_in: Distribution::Constant(0.0),
    }
}

pub fn projection(
    source: usize,
    target: usize,
    receptor: Receptor,
    weight_ns: f64,
    delay_ms: f64,
    rule: ConnectionRule,
) -> ProjectionSpec {
    ProjectionSpec {
        name: format!("{source}->{target}"),
        source,
        target,
        receptor,
        weight_ns: Distribution::Constant(weight_ns),
        delay_ms: Distribution::Constant(delay_ms),
        rule,
        allow_autapses: true,
        allow_multapses: true,
        storage: SynapseStorage::Stored,
    }
}

pub fn stimulus(
    population: usize,
    neurons: std::ops::Range<u32>,
    kind: StimulusKind,
) -> StimulusSpec {
    StimulusSpec {
        name: kind.model_name().to_string(),
        target: NeuronRange {
            population,
            neurons,
        },
        kind,
    }
}

pub fn multimeter(population: usize, neurons: Vec<u32>) -> RecorderSpec {
    RecorderSpec::State {
        population,
        neurons,
        variables: vec![
            lifsim::model::StateVariable::VM,
            lifsim::model::StateVariable::GEx,
            lifsim::model::StateVariable::GIn,
        ],
        interval_steps: 1,
    }
}

/// Spike times [ms] of global neuron `neuron`.
pub fn spike_times(network: &Network, rec: &Recording, neuron: u32) -> Vec<f64> {
    rec.spikes
        .iter()
        .filter(|s| s.neuron == neuron)
        .map(|s| network.step_end_ms(s.step))
        .collect()
}

/// Spike steps per neuron, as sorted (step, neuron) pairs.
pub fn spike_pairs(rec: &Recording) -> Vec<(u64, u32)> {
    rec.spikes.iter().map(|s| (s.step, s.neuron)).collect()
}

/// The COBA benchmark of `../shared/reference/coba.md` (Brette et al. 2007, benchmark 1) with
/// `n` neurons (NE = 0.8 n, NI = 0.2 n), in-degree fixed at 64 + 16: `lifsim bench`'s network.
pub fn coba(n: u32, t_stop_ms: f64, seed: u64) -> NetworkSpec {
    lifsim::bench::spec::scaled_coba(n, 80, t_stop_ms, seed)
}

/// Mean rate [Hz], mean CV of ISI (neurons with at least 3 spikes) and the rate over the last
/// 100 ms, of the global neurons `range`.
pub fn rate_cv(network: &Network, rec: &Recording, range: std::ops::Range<u32>) -> (f64, f64, f64) {
    let t_s = network.n_steps as f64 * network.dt_ms * 1e-3;
    let n = (range.end - range.start) as usize;
    let mut trains: Vec<Vec<f64>> = vec![Vec::new(); n];
    let mut late = 0usize;
    let late_from = network
        .n_steps
        .saturating_sub((100.0 / network.dt_ms) as u64);
    for s in &rec.spikes {
        if range.contains(&s.neuron) {
            trains[(s.neuron - range.start) as usize].push(network.step_end_ms(s.step));
            if s.step >= late_from {
                late += 1;
            }
        }
    }
    let total: usize = trains.iter().map(Vec::len).sum();
    let cvs: Vec<f64> = trains
        .iter()
        .filter(|t| t.len() >= 3)
        .map(|t| {
            let isi: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
            let m = isi.iter().sum::<f64>() / isi.len() as f64;
            let v = isi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isi.len() as f64;
            v.sqrt() / m
        })
        .collect();
    let cv = cvs.iter().sum::<f64>() / cvs.len().max(1) as f64;
    (
        total as f64 / n as f64 / t_s,
        cv,
        late as f64 / n as f64 / 0.1,
    )
}
