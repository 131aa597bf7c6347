//! One suite, every backend: small wirings whose output is known exactly give the same spike
//! trains on all of them; a Poisson-driven feed-forward network gives identical spikes and state
//! within 1e-4 mV; runs repeat bit for bit; no spike is lost when every neuron fires every step;
//! synapses beyond one storage binding (128 MiB on lavapipe) are split correctly.

mod common;

use common::*;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use lifsim::network::Network;
use lifsim::sim::Recording;

/// Runs `network` on every backend and asserts that all give the first one's spikes.
fn same_spikes_everywhere(name: &str, network: &Network) -> Recording {
    let kinds = backends();
    let reference = simulate(network, kinds[0]);
    for &kind in &kinds[1..] {
        let rec = simulate(network, kind);
        assert_eq!(
            spike_pairs(&rec).len(),
            spike_pairs(&reference).len(),
            "{name}: spike count on {} differs from {}",
            kind.name(),
            kinds[0].name()
        );
        assert_eq!(
            spike_pairs(&rec),
            spike_pairs(&reference),
            "{name}: spikes on {} differ",
            kind.name()
        );
    }
    reference
}

/// `layers` populations of `width` neurons, linked one-to-one with a weight that makes every
/// input spike fire its target; the first layer is driven by a spike_generator.
fn chain(layers: usize, width: u32, input_times: Vec<f64>) -> NetworkSpec {
    let mut s = spec(0.1, 60.0);
    for l in 0..layers {
        s.populations.push(population(
            &format!("L{l}"),
            width,
            IafCondExpParams::default(),
        ));
        if l > 0 {
            s.projections.push(projection(
                l - 1,
                l,
                Receptor::Excitatory,
                1000.0,
                1.0,
                ConnectionRule::OneToOne,
            ));
        }
    }
    s.stimuli.push(stimulus(
        0,
        0..width,
        StimulusKind::SpikeTrain {
            spike_times_ms: input_times,
            weight_ns: 1000.0,
            receptor: Receptor::Excitatory,
            delay_ms: 1.0,
        },
    ));
    s
}

#[test]
fn chain_of_single_neurons_relays_every_spike_with_a_fixed_latency() {
    let network = build(&chain(6, 1, vec![5.0, 20.0, 35.0]));
    let rec = same_spikes_everywhere("chain", &network);
    let first = spike_times(&network, &rec, 0);
    assert_eq!(
        first.len(),
        3,
        "the input neuron fires once per input spike"
    );
    // Each link adds the same latency: delay plus the time to reach threshold.
    let latency = spike_times(&network, &rec, 1)[0] - first[0];
    assert!(latency > 1.0 && latency < 2.0, "latency {latency}");
    for layer in 0..6u32 {
        let times = spike_times(&network, &rec, layer);
        let expected: Vec<f64> = first
            .iter()
            .map(|t| t + f64::from(layer) * latency)
            .collect();
        assert_eq!(times.len(), 3, "layer {layer}");
        for (t, e) in times.iter().zip(&expected) {
            assert!(
                (t - e).abs() < 1e-9,
                "layer {layer}: {times:?} != {expected:?}"
            );
        }
    }
}

#[test]
fn one_to_one_layers_fire_neuron_for_neuron() {
    let network = build(&chain(4, 50, vec![10.0, 30.0]));
    let rec = same_spikes_everywhere("layers", &network);
    // Every neuron of every layer fires twice, and each layer all at once.
    assert_eq!(rec.spikes.len(), 4 * 50 * 2);
    for layer in 0..4u32 {
        let t0 = spike_times(&network, &rec, layer * 50);
        for i in 0..50 {
            assert_eq!(spike_times(&network, &rec, layer * 50 + i), t0);
        }
    }
}

#[test]
fn spike_generator_fan_out_equals_the_single_neuron_response() {
    // Isolated spikes that only raise V_m, then a burst that makes it fire.
    let times = vec![10.0, 20.0, 30.0, 31.0, 32.0, 33.0, 34.0, 45.0];
    let mut fan = spec(0.1, 60.0);
    fan.populations
        .push(population("out", 500, IafCondExpParams::default()));
    fan.stimuli.push(stimulus(
        0,
        0..500,
        StimulusKind::SpikeTrain {
            spike_times_ms: times.clone(),
            weight_ns: 120.0,
            receptor: Receptor::Excitatory,
            delay_ms: 1.0,
        },
    ));
    let mut single = fan.clone();
    single.populations[0].n = 1;
    single.stimuli[0].target.neurons = 0..1;
    let one = simulate(&build(&single), Kind::Cpu { threads: 1 });
    assert!(
        !one.spikes.is_empty(),
        "the burst must make the neuron fire"
    );
    let network = build(&fan);
    let rec = same_spikes_everywhere("fan-out", &network);
    for i in 0..500 {
        assert_eq!(
            spike_times(&network, &rec, i),
            spike_times(&network, &rec, 0)
        );
    }
    assert_eq!(
        spike_times(&network, &rec, 0),
        spike_times(&build(&single), &one, 0)
    );
}

/// 300 Poisson-driven input neurons project onto 400 outputs (fixed in-degree 30, mixed
/// receptors, heterogeneous weights and delays): deterministic, no recurrence.
fn feed_forward() -> NetworkSpec {
    let mut s = spec(0.1, 100.0);
    s.simulation.seed = 7;
    // Slow synapses (COBA's), so that Poisson input drives the neurons across threshold.
    let params = IafCondExpParams {
        tau_syn_ex: 5.0,
        tau_syn_in: 10.0,
        ..IafCondExpParams::default()
    };
    let mut input = population("input", 300, params);
    input.v_m = Distribution::Uniform {
        low: -70.0,
        high: -56.0,
    };
    s.populations.push(input);
    s.populations.push(population("output", 400, params));
    let mut ex = projection(
        0,
        1,
        Receptor::Excitatory,
        3.0,
        0.5,
        ConnectionRule::FixedIndegree(30),
    );
    ex.weight_ns = Distribution::Uniform {
        low: 1.0,
        high: 6.0,
    };
    ex.delay_ms = Distribution::Uniform {
        low: 0.1,
        high: 3.0,
    };
    s.projections.push(ex);
    s.projections.push(projection(
        0,
        1,
        Receptor::Inhibitory,
        2.0,
        0.8,
        ConnectionRule::PairwiseBernoulli(0.05),
    ));
    s.stimuli.push(stimulus(
        0,
        0..300,
        StimulusKind::Poisson {
            rate_hz: 8000.0,
            start_ms: 0.0,
            stop_ms: f64::INFINITY,
            weight_ns: 1.5,
            receptor: Receptor::Excitatory,
            delay_ms: 0.1,
        },
    ));
    s.stimuli.push(stimulus(
        1,
        100..300,
        StimulusKind::DcCurrent {
            amplitude_pa: 150.0,
            start_ms: 20.0,
            stop_ms: 70.0,
            delay_ms: 0.1,
        },
    ));
    s.recorders
        .push(multimeter(1, (0..400).step_by(7).collect()));
    s
}

#[test]
fn poisson_driven_feed_forward_network_agrees_on_every_backend() {
    let network = build(&feed_forward());
    assert_eq!(network.n_steps, 1000);
    let kinds = backends();
    let reference = simulate(&network, kinds[0]);
    assert!(
        reference.spikes.len() > 1000,
        "the network must be active: {} spikes",
        reference.spikes.len()
    );
    let mut ref_backend = make_backend(&network, kinds[0]);
    lifsim::sim::run_to_memory(&network, ref_backend.as_mut()).unwrap();
    let ref_state = ref_backend.neuron_state().unwrap();
    for &kind in &kinds[1..] {
        let mut backend = make_backend(&network, kind);
        let rec = lifsim::sim::run_to_memory(&network, backend.as_mut()).unwrap();
        assert_eq!(
            spike_pairs(&rec),
            spike_pairs(&reference),
            "spikes on {}",
            kind.name()
        );
        let state = backend.neuron_state().unwrap();
        let worst = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max)
        };
        let dv = worst(&state.v_m, &ref_state.v_m);
        eprintln!("{}: max |dV_m| {dv:e} mV", kind.name());
        assert!(dv <= 1e-4, "V_m on {} differs by {dv} mV", kind.name());
        assert!(worst(&state.g_ex, &ref_state.g_ex) <= 1e-4);
        assert!(worst(&state.g_in, &ref_state.g_in) <= 1e-4);
        assert_eq!(state.refractory, ref_state.refractory);
        for (a, b) in rec.samples.iter().zip(&reference.samples) {
            assert_eq!(a.len(), b.len());
            assert!(worst(a, b) <= 1e-4, "recorded samples on {}", kind.name());
        }
    }
}

#[test]
fn same_seed_same_backend_gives_bit_identical_runs() {
    let network = build(&coba(4000, 200.0, 3));
    for kind in backends() {
        let a = simulate(&network, kind);
        let b = simulate(&network, kind);
        assert!(a.spikes.len() > 1000);
        assert_eq!(a, b, "{}: two runs differ", kind.name());
    }
}

#[test]
fn every_neuron_spiking_every_step_loses_no_spike() {
    // t_ref = 0 and a huge drive: every neuron fires in every step, far more spikes than one
    // submission's record holds on the GPU.
    let params = IafCondExpParams {
        t_ref: 0.0,
        i_e: 1e6,
        ..IafCondExpParams::default()
    };
    let mut s = spec(0.1, 30.0);
    s.populations.push(population("busy", 70_000, params));
    s.recorders.push(RecorderSpec::Spikes {
        populations: vec![0],
    });
    let network = build(&s);
    let reference = simulate(&network, Kind::Cpu { threads: 1 });
    assert_eq!(reference.spikes.len(), 70_000 * 300);
    let threads = simulate(&network, Kind::Cpu { threads: 3 });
    assert_eq!(spike_pairs(&threads), spike_pairs(&reference), "3 threads");
    // The GPU (run once: its 21 million spikes are the slow part on lavapipe) halts once with
    // its record full, then sizes its submissions to the activity: one step each here, none
    // halting.
    if let Some(ctx) = gpu() {
        let mut gpu = lifsim::backend::gpu::GpuBackend::new(&network, ctx).unwrap();
        let rec = lifsim::sim::run_to_memory(&network, &mut gpu).unwrap();
        assert_eq!(rec.spikes.len(), 70_000 * 300);
        assert_eq!(spike_pairs(&rec), spike_pairs(&reference), "GPU");
        assert_eq!(
            gpu.host_times().record_halts,
            1,
            "halts with the record full"
        );
    }
}

#[test]
fn a_burst_after_a_quiet_start_loses_no_spike() {
    // Quiet for 250 ms, then every neuron fires in every step: the GPU, which sized its
    // submissions to the quiet steps, halts with its spike record full and carries on.
    let params = IafCondExpParams {
        t_ref: 0.0,
        ..IafCondExpParams::default()
    };
    let mut s = spec(0.1, 270.0);
    s.populations.push(population("calm", 8_000, params));
    s.stimuli.push(stimulus(
        0,
        0..8_000,
        StimulusKind::DcCurrent {
            amplitude_pa: 1e6,
            start_ms: 250.0,
            stop_ms: f64::INFINITY,
            delay_ms: 0.1,
        },
    ));
    s.recorders.push(RecorderSpec::Spikes {
        populations: vec![0],
    });
    let network = build(&s);
    let reference = simulate(&network, Kind::Cpu { threads: 1 });
    assert!(
        reference.spikes.len() > 8_000 * 150,
        "{}",
        reference.spikes.len()
    );
    if let Some(ctx) = gpu() {
        let mut gpu = lifsim::backend::gpu::GpuBackend::new(&network, ctx).unwrap();
        let rec = lifsim::sim::run_to_memory(&network, &mut gpu).unwrap();
        assert_eq!(spike_pairs(&rec), spike_pairs(&reference), "GPU");
        assert!(gpu.host_times().record_halts >= 1, "{:?}", gpu.host_times());
    }
}

#[test]
fn synapses_beyond_one_binding_are_split_and_delivered() {
    // 36,000 x 1,000 = 36 M synapses: 144 MB of targets, over lavapipe's 128 MiB per binding.
    let mut s = spec(0.1, 3.0);
    let mut src = population("src", 36_000, IafCondExpParams::default());
    src.v_m = Distribution::Uniform {
        low: -70.0,
        high: -54.0,
    };
    s.populations.push(src);
    s.populations
        .push(population("dst", 2_000, IafCondExpParams::default()));
    s.projections.push(projection(
        0,
        1,
        Receptor::Excitatory,
        0.05,
        0.1,
        ConnectionRule::FixedOutdegree(1_000),
    ));
    s.stimuli.push(stimulus(
        0,
        0..36_000,
        StimulusKind::DcCurrent {
            amplitude_pa: 2000.0,
            start_ms: 0.0,
            stop_ms: f64::INFINITY,
            delay_ms: 0.1,
        },
    ));
    let network = build(&s);
    assert_eq!(network.n_synapses(), 36_000_000);
    let kinds = backends();
    let reference = simulate(&network, kinds[0]);
    assert!(
        reference.spikes.iter().any(|sp| sp.neuron < 36_000),
        "sources must fire"
    );
    let mut cpu = make_backend(&network, kinds[0]);
    lifsim::sim::run_to_memory(&network, cpu.as_mut()).unwrap();
    let cpu_state = cpu.neuron_state().unwrap();
    for &kind in &kinds[1..] {
        let mut backend = make_backend(&network, kind);
        let rec = lifsim::sim::run_to_memory(&network, backend.as_mut()).unwrap();
        assert_eq!(
            spike_pairs(&rec),
            spike_pairs(&reference),
            "{}",
            kind.name()
        );
        // The conductances of the targets carry every delivered synapse.
        let state = backend.neuron_state().unwrap();
        let dst = 36_000..38_000;
        let worst = state.g_ex[dst.clone()]
            .iter()
            .zip(&cpu_state.g_ex[dst])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-4,
            "{}: g_ex of the targets differs by {worst}",
            kind.name()
        );
    }
}
