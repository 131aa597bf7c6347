//! Networks and devices shared by the micro-benchmarks.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use criterion::Criterion;
use lifsim::backend::gpu::device::request_context;
use lifsim::backend::gpu::GpuContext;
use lifsim::config::{
    ConnectionRule, Distribution, NetworkSpec, ProjectionSpec, Receptor, RecorderSpec,
};
use lifsim::network::Network;

/// Short runs: these benchmarks compare versions of a hot path, they do not publish numbers
/// (`lifsim bench` does). `cargo test --all-targets` runs each benchmark once, in test mode.
/// No plots: criterion draws them with system fonts, which a bare machine lacks (the run would
/// fail after its first benchmark); the numbers are in the terminal and `target/criterion`.
pub fn config() -> Criterion {
    Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

/// The GPU device, or `None` (with a note) where no adapter exists.
pub fn gpu() -> Option<Arc<GpuContext>> {
    match request_context() {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            eprintln!("GPU benchmarks skipped: {e}");
            None
        }
    }
}

/// Long enough never to end during a benchmark: 10^8 steps.
const T_STOP_MS: f64 = 1e7;

/// One population of `n` COBA neurons, at rest between reset and threshold, without synapses or
/// input: none spikes, so a step is the neuron update alone.
pub fn quiet(n: u32) -> NetworkSpec {
    let mut spec = lifsim::bench::scaled_coba(n, 80, T_STOP_MS, 1);
    spec.populations.truncate(1);
    spec.populations[0].n = n;
    spec.projections.clear();
    spec.stimuli.clear();
    spec.recorders = vec![RecorderSpec::Spikes {
        populations: vec![0],
    }];
    spec
}

/// `quiet(n)` made to fire: I_e = 400 pA and no refractory period make each neuron fire every
/// 5.7 ms or so, with phases spread evenly by the random initial V_m, so about n / 57 neurons
/// spike per step, scattered over the population. Each spike reaches `indegree` random targets
/// (at 80, 1.4 synaptic events per neuron update, 12 times COBA's): a step costs mostly
/// propagation. Weights are tiny so that synaptic input does not change the firing.
pub fn firing(n: u32, indegree: u32) -> NetworkSpec {
    let mut spec = quiet(n);
    let p = &mut spec.populations[0];
    p.params.i_e = 400.0;
    p.params.t_ref = 0.0;
    spec.projections.push(ProjectionSpec {
        name: "recurrent".to_string(),
        source: 0,
        target: 0,
        receptor: Receptor::Excitatory,
        weight_ns: Distribution::Constant(1e-3),
        delay_ms: Distribution::Constant(0.1),
        rule: ConnectionRule::FixedIndegree(indegree),
        allow_autapses: true,
        allow_multapses: true,
        storage: lifsim::config::SynapseStorage::Stored,
    });
    spec
}

pub fn build(spec: &NetworkSpec) -> Network {
    lifsim::network::build(spec, 2).expect("network build")
}

/// Steps per benchmark iteration: enough to hide the per-call overhead of `advance`.
pub const STEPS: u64 = 10;

/// Benchmark `STEPS` steps of `backend` per iteration. A GPU backend keeps submissions in
/// flight, so an iteration in the steady state is one submission's worth of work.
pub fn bench_steps(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: criterion::BenchmarkId,
    backend: &mut dyn lifsim::backend::Backend,
) {
    let mut batch = lifsim::backend::Batch::default();
    group.bench_function(id, |b| {
        b.iter(|| backend.advance(STEPS, &mut batch).expect("advance"))
    });
}
