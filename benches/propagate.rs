//! Stage 4, spike propagation, dominating: networks where about 1 in 57 neurons fires each step,
//! scattered, each spike reaching 80 random targets (1.4 synaptic events per neuron update).
//! Throughput in synaptic events per second, on the CPU backend with 1 and 2 threads and on the
//! GPU backend where an adapter exists. The neuron update is in the time too: `neuron_update`
//! measures it alone.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim::backend::cpu::CpuBackend;
use lifsim::backend::gpu::GpuBackend;
use lifsim::backend::{Backend, Batch};
use lifsim::network::Network;

const INDEGREE: u32 = 80;

/// Synaptic events per `common::STEPS` steps, on average over one firing period.
fn events_per_iteration(network: &Network) -> u64 {
    let mut backend = CpuBackend::new(network, 2);
    let mut batch = Batch::default();
    let count = 60;
    backend.advance(count, &mut batch).expect("advance");
    let outdegrees = network.projections[0]
        .synapses
        .csr()
        .expect("built on the host")
        .outdegrees();
    let events: u64 = batch
        .spikes
        .iter()
        .map(|s| u64::from(outdegrees[s.neuron as usize]))
        .sum();
    events * common::STEPS / count
}

fn propagate(c: &mut Criterion) {
    let gpu = common::gpu();
    let mut group = c.benchmark_group("propagate");
    // The delay ring in cache, and out of it. A software GPU (lavapipe) runs the smaller only: it
    // proves the path works, and takes seconds per step at 400,000.
    for n in [40_000u32, 400_000] {
        let network = common::build(&common::firing(n, INDEGREE));
        group.throughput(Throughput::Elements(events_per_iteration(&network)));
        for threads in [1, 2] {
            let mut backend = CpuBackend::new(&network, threads);
            common::bench_steps(
                &mut group,
                BenchmarkId::new(format!("cpu/{threads}"), n),
                &mut backend,
            );
        }
        if let Some(ctx) = gpu
            .as_ref()
            .filter(|c| n <= 40_000 || !c.summary.is_software())
        {
            let mut backend = GpuBackend::new(&network, ctx.clone()).expect("GPU backend");
            common::bench_steps(&mut group, BenchmarkId::new("gpu", n), &mut backend);
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = propagate
}
criterion_main!(benches);
