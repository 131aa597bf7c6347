//! Building connectivity: the fixed in-degree rule (draw sources, then transpose into CSR rows),
//! pairwise_bernoulli and fixed_total_number with as many synapses, the transpose alone, and the
//! whole network build of COBA, with 1 and 2 threads (fixed_total_number draws on one). Throughput
//! in synapses per second.

mod common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim::config::ConnectionRule;
use lifsim::network::rules::{connect, RuleContext};
use lifsim::network::Wiring;
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

    // The transpose alone, from per-target source lists.
    let drawn = connect(&ConnectionRule::FixedIndegree(INDEGREE), &context(2), &rng);
    let mut sources = vec![0u32; drawn.targets.len()];
    let mut filled = vec![0u64; N as usize];
    for (s, w) in drawn.row_offsets.windows(2).enumerate() {
        for &t in &drawn.targets[w[0] as usize..w[1] as usize] {
            sources[(u64::from(t) * u64::from(INDEGREE) + filled[t as usize]) as usize] = s as u32;
            filled[t as usize] += 1;
        }
    }
    let target_offsets: Vec<u64> = (0..=u64::from(N))
        .map(|t| t * u64::from(INDEGREE))
        .collect();
    for threads in [1, 2] {
        group.bench_function(BenchmarkId::new("transpose", threads), |b| {
            b.iter(|| Wiring::from_target_lists(N as usize, &target_offsets, &sources, threads))
        });
    }

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
