//! Building connectivity: the fixed in-degree rule (draw sources, then copy them into CSR rows by
//! source), pairwise_bernoulli and fixed_total_number with as many synapses, and the whole
//! network build of COBA, with 1 and 2 threads (fixed_total_number draws on one). Throughput
//! in synapses per second.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim::config::ConnectionRule;
use lifsim::network::rules::{connect, RuleContext};
use lifsim::rng::Philox;

const N: u32 = 40_000;
const INDEGREE: u32 = 80;

fn csr_build(c: &mut Criterion) {
    let synapses = u64::from(N) * u64::from(INDEGREE);
    let mut group = c.benchmark_group("csr_build");
    group.throughput(Throughput::Elements(synapses));
    let rng = Philox::new(1);
    // One population onto itself, NEST's defaults (autapses and multapses allowed).
    let context = |threads| RuleContext {
        n_sources: N,
        n_targets: N,
        same_population: true,
        allow_autapses: true,
        allow_multapses: true,
        projection: 0,
        threads,
    };
    // The same expected number of synapses drawn by the rules whose row lengths are random.
    let p = f64::from(INDEGREE) / f64::from(N);
    for threads in [1, 2] {
        let ctx = context(threads);
        group.bench_function(BenchmarkId::new("fixed_indegree", threads), |b| {
            b.iter(|| connect(&ConnectionRule::FixedIndegree(INDEGREE), &ctx, &rng))
        });
        group.bench_function(BenchmarkId::new("pairwise_bernoulli", threads), |b| {
            b.iter(|| connect(&ConnectionRule::PairwiseBernoulli(p), &ctx, &rng))
        });
    }
    group.bench_function(BenchmarkId::new("fixed_total_number", 1), |b| {
        b.iter(|| {
            connect(
                &ConnectionRule::FixedTotalNumber(synapses),
                &context(1),
                &rng,
            )
        })
    });

    // The whole COBA network: 4 projections, initial state, fixed-point scales.
    let spec = lifsim::bench::scaled_coba(N, INDEGREE, 1000.0, 1);
    for threads in [1, 2] {
        group.bench_function(BenchmarkId::new("coba_network", threads), |b| {
            b.iter(|| lifsim::network::build(&spec, threads).expect("build"))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = csr_build
}
criterion_main!(benches);
