//! Stage 1, the neuron update, alone: networks without synapses or input, where no neuron fires.
//! Throughput in neuron updates (neurons x steps) per second, on the CPU backend with 1 and 2
//! threads and on the GPU backend where an adapter exists.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim::backend::cpu::CpuBackend;
use lifsim::backend::gpu::GpuBackend;

fn neuron_update(c: &mut Criterion) {
    let gpu = common::gpu();
    let mut group = c.benchmark_group("neuron_update");
    // In cache, and far out of it.
    for n in [4_000u32, 400_000] {
        let network = common::build(&common::quiet(n));
        group.throughput(Throughput::Elements(u64::from(n) * common::STEPS));
        for threads in [1, 2] {
            let mut backend = CpuBackend::new(&network, threads);
            common::bench_steps(
                &mut group,
                BenchmarkId::new(format!("cpu/{threads}"), n),
                &mut backend,
            );
        }
        if let Some(ctx) = &gpu {
            let mut backend = GpuBackend::new(&network, ctx.clone()).expect("GPU backend");
            common::bench_steps(&mut group, BenchmarkId::new("gpu", n), &mut backend);
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = neuron_update
}
criterion_main!(benches);
