//! Large-network machinery on small networks: synapses drawn on the device equal those drawn on
//! the host; procedural synapses give the same spikes as stored ones.

mod common;

use common::*;
use lifsim::backend::cpu::CpuBackend;
use lifsim::backend::gpu::GpuBackend;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use lifsim::network::{build_with, BuildOptions, Network, Placement, RowRuleKind, Synapses};

/// A recurrent network with every rule a backend can draw itself.
fn rules_network(seed: u64) -> NetworkSpec {
    let params = IafCondExpParams {
        tau_syn_ex: 5.0,
        tau_syn_in: 10.0,
        ..IafCondExpParams::default()
    };
    let mut s = spec(0.1, 60.0);
    s.simulation.seed = seed;
    for (name, n) in [("A", 3000), ("B", 1000), ("C", 1000)] {
        let mut p = population(name, n, params);
        p.v_m = Distribution::Uniform {
            low: -70.0,
            high: -54.0,
        };
        s.populations.push(p);
    }
    // (source, target, receptor, weight nS, delay ms, rule, autapses). The last four have rows
    // of random length: pairwise_bernoulli over several segments per row (with and without
    // autapses) and fixed_total_number (within one population without autapses, and across).
    let (ex, inh) = (Receptor::Excitatory, Receptor::Inhibitory);
    use ConnectionRule::*;
    #[rustfmt::skip]
    let wiring = [
        (0, 0, ex, 0.5, 0.1, FixedIndegree(120), false),
        (0, 1, ex, 0.8, 0.5, FixedOutdegree(40), true),
        (1, 1, inh, 2.0, 0.2, FixedOutdegree(30), false),
        (1, 2, ex, 3.0, 0.3, OneToOne, true),
        (2, 0, inh, 0.01, 1.0, AllToAll, true),
        (2, 1, ex, 0.5, 0.4, PairwiseBernoulli(0.05), true),
        (1, 1, inh, 0.5, 0.1, PairwiseBernoulli(0.02), false),
        (0, 2, ex, 0.3, 0.2, FixedTotalNumber(30_000), true),
        (2, 2, inh, 0.5, 0.1, FixedTotalNumber(4_000), false),
    ];
    for (source, target, receptor, weight, delay, rule, autapses) in wiring {
        let mut p = projection(source, target, receptor, weight, delay, rule);
        p.allow_autapses = autapses;
        s.projections.push(p);
    }
    s.stimuli.push(stimulus(
        0,
        0..3000,
        StimulusKind::Poisson {
            rate_hz: 2000.0,
            start_ms: 0.0,
            stop_ms: f64::INFINITY,
            weight_ns: 1.0,
            receptor: Receptor::Excitatory,
            delay_ms: 0.1,
        },
    ));
    s
}

fn build_placed(s: &NetworkSpec, placement: Placement) -> Network {
    build_with(
        s,
        &BuildOptions {
            threads: 2,
            placement,
        },
    )
    .expect("build")
}

/// Each projection's synapses as the device drew them equal the host's, row for row.
fn assert_device_rows_equal_host_rows(s: &NetworkSpec) {
    let Some(ctx) = gpu() else { return };
    let host = build_placed(s, Placement::Host);
    let device = build_placed(s, Placement::Backend);
    assert!(device
        .projections
        .iter()
        .all(|p| matches!(p.synapses, Synapses::Deferred(_))));
    let backend = GpuBackend::new(&device, ctx).expect("GPU backend");
    for (i, proj) in host.projections.iter().enumerate() {
        let csr = proj.synapses.csr().expect("host build stores");
        let rows = backend
            .synapses_on_device(i)
            .expect("read back")
            .expect("stored on the device");
        assert_eq!(
            rows.row_offsets, csr.row_offsets,
            "{}: row offsets",
            proj.name
        );
        assert_eq!(rows.targets, csr.targets, "{}: targets", proj.name);
    }
}

#[test]
fn synapses_drawn_on_the_device_equal_those_drawn_on_the_host() {
    assert_device_rows_equal_host_rows(&rules_network(5));
}

/// A pairwise_bernoulli whose expected count rounds to zero still draws its synapses on the
/// device.
#[test]
fn bernoulli_rows_expecting_less_than_one_synapse_are_drawn_too() {
    let mut s = spec(0.1, 1.0);
    s.simulation.seed = SEED_WITH_A_SYNAPSE;
    for name in ["A", "B"] {
        s.populations
            .push(population(name, 1000, IafCondExpParams::default()));
    }
    s.projections.push(projection(
        0,
        1,
        Receptor::Excitatory,
        1.0,
        0.1,
        ConnectionRule::PairwiseBernoulli(4e-7),
    ));
    let host = build_placed(&s, Placement::Host);
    assert_eq!(host.projections[0].synapses.n_synapses(), 1);
    let device = build_placed(&s, Placement::Backend);
    assert_eq!(
        device.projections[0].synapses.n_synapses(),
        0,
        "expected 0.4"
    );
    assert_device_rows_equal_host_rows(&s);
}

/// A seed whose draw of the test above makes one synapse (expected: 0.4).
const SEED_WITH_A_SYNAPSE: u64 = 3;

/// pairwise_bernoulli drawn on the device in several dispatches (row batches) into two synapse
/// chunks: 20,000 x 19,999 pairs at p = 0.1 make 40 million synapses, 160 MB of targets, over
/// lavapipe's 128 MiB per binding.
#[test]
fn bernoulli_rows_drawn_in_batches_across_bindings_equal_the_hosts() {
    let mut s = spec(0.1, 1.0);
    s.populations
        .push(population("P", 20_000, IafCondExpParams::default()));
    let mut p = projection(
        0,
        0,
        Receptor::Excitatory,
        0.01,
        0.1,
        ConnectionRule::PairwiseBernoulli(0.1),
    );
    p.allow_autapses = false;
    s.projections.push(p);
    assert_device_rows_equal_host_rows(&s);
}

#[test]
fn deferred_and_stored_give_the_same_spikes() {
    let s = rules_network(6);
    let host = build_placed(&s, Placement::Host);
    let device = build_placed(&s, Placement::Backend);
    for kind in backends() {
        let a = simulate(&host, kind);
        let b = simulate(&device, kind);
        assert!(a.spikes.len() > 500, "{} spikes", a.spikes.len());
        assert_eq!(a.spikes, b.spikes, "{}", kind.name());
    }
}

/// `spec` with every projection that can be procedural (its rule draws rows on their own) made
/// so.
fn procedural_where_possible(spec: &NetworkSpec) -> NetworkSpec {
    let mut s = spec.clone();
    for p in &mut s.projections {
        if RowRuleKind::of(p.rule, p.allow_multapses).is_some_and(RowRuleKind::draws_rows) {
            p.storage = SynapseStorage::Procedural;
        }
    }
    s
}

/// Each neuron's outgoing synapses as a backend counts them (`lifsim bench` counts synaptic
/// events with them) are the row lengths of the host's CSRs, whether the synapses were stored,
/// drawn by the backend (merged rows on the CPU) or procedural.
#[test]
fn backends_count_the_synapses_each_neuron_sends() {
    let mut stored = rules_network(9);
    // Merged with A->A on the CPU: fixed_indegree out of A with A->A's receptor, weight, delay.
    let merged = projection(
        0,
        1,
        Receptor::Excitatory,
        0.5,
        0.1,
        ConnectionRule::FixedIndegree(50),
    );
    stored.projections.push(merged);
    let host = build_placed(&stored, Placement::Host);
    let mut expected = vec![0u32; host.n_neurons() as usize];
    for proj in &host.projections {
        let first = host.populations[proj.source].offset as usize;
        let csr = proj.synapses.csr().expect("host build stores");
        for (n, d) in expected[first..].iter_mut().zip(csr.outdegrees()) {
            *n += d;
        }
    }
    assert!(expected.iter().any(|&d| d != expected[0]));
    let deferred = build_placed(&stored, Placement::Backend);
    let procedural = build_placed(&procedural_where_possible(&stored), Placement::Backend);
    let cpu = CpuBackend::with_min_neurons_per_thread(&deferred, 3, 256);
    assert_eq!(cpu.merged_projections().len(), 1);
    for (name, network) in [
        ("stored", &host),
        ("deferred", &deferred),
        ("procedural", &procedural),
    ] {
        let cpu = CpuBackend::with_min_neurons_per_thread(network, 3, 256);
        assert_eq!(cpu.outdegrees(), expected, "cpu, {name}");
        if let Some(ctx) = gpu() {
            let gpu = GpuBackend::new(network, ctx).expect("GPU backend");
            assert_eq!(gpu.outdegrees(2), expected, "gpu, {name}");
        }
    }
}

#[test]
fn procedural_and_stored_give_the_same_spikes() {
    let stored = rules_network(7);
    let procedural = procedural_where_possible(&stored);
    let a_net = build(&stored);
    let b_net = build(&procedural);
    assert!(
        b_net
            .projections
            .iter()
            .filter(|p| matches!(p.synapses, Synapses::Procedural(_)))
            .count()
            == 6
    );
    for kind in backends() {
        let a = simulate(&a_net, kind);
        let b = simulate(&b_net, kind);
        assert!(a.spikes.len() > 500, "{} spikes", a.spikes.len());
        assert_eq!(a.spikes, b.spikes, "{}", kind.name());
    }
}

#[test]
fn a_network_too_large_for_the_device_is_refused_before_allocation() {
    let Some(ctx) = gpu() else { return };
    // 2 million neurons x 2,100 synapses per projection: 16.8 GB of targets each, and enough
    // projections for twice the device's memory (at least 8: 134 GB).
    let memory = lifsim::backend::gpu::device::device_memory_bytes(&ctx.adapter).unwrap_or(0);
    let per_projection = 2_000_000u64 * 2_100 * 4;
    let n_projections = (2 * memory).div_ceil(per_projection).max(8);
    let mut s = spec(0.1, 1.0);
    s.populations
        .push(population("E", 2_000_000, IafCondExpParams::default()));
    for _ in 0..n_projections {
        s.projections.push(projection(
            0,
            0,
            Receptor::Excitatory,
            0.01,
            0.1,
            ConnectionRule::FixedOutdegree(2_100),
        ));
    }
    let synapse_bytes = n_projections * (per_projection + 4 * 2_000_001);
    let network = build_placed(&s, Placement::Backend);
    let started = std::time::Instant::now();
    let error = match GpuBackend::new(&network, ctx) {
        Ok(_) => panic!("{synapse_bytes} bytes of synapses must not fit"),
        Err(e) => e.to_string(),
    };
    for part in [
        "does not fit this GPU",
        &format!("{} of synapses", lifsim::format::bytes(synapse_bytes)),
        "of device memory",
        "storage = \"procedural\" on `0->0`",
        "which fits",
        "neurons with the same connectivity would fit",
        "--backend cpu",
    ] {
        assert!(error.contains(part), "expected {part:?} in: {error}");
    }
    // Refused from sizes alone: nothing was allocated or drawn.
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn merged_rows_give_the_same_spikes_as_stored_rows() {
    // COBA: E->E and E->I (and I->E and I->I) are fixed_indegree with one weight and delay each,
    // so the CPU backend draws each pair as one CSR of merged rows when left to draw them.
    let s = coba(4000, 200.0, 4);
    let host = build_placed(&s, Placement::Host);
    let backend = build_placed(&s, Placement::Backend);
    let cpu = lifsim::backend::cpu::CpuBackend::new(&backend, 1);
    assert_eq!(
        cpu.merged_projections(),
        vec![vec!["E->E", "E->I"], vec!["I->E", "I->I"]]
    );
    // Three threads split the neurons at 1,328 and 2,656: one partition holds both E and I
    // neurons, and delivers only part of each merged row.
    for kind in [Kind::Cpu { threads: 1 }, Kind::Cpu { threads: 3 }] {
        let a = simulate(&host, kind);
        let b = simulate(&backend, kind);
        assert!(a.spikes.len() > 1000, "{} spikes", a.spikes.len());
        assert_eq!(a.spikes, b.spikes, "{}", kind.name());
    }
}
