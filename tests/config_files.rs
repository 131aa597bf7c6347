//! The shipped configs parse and mean what they say, and the defaults of the format are those
//! documented in docs/config.md.

use std::path::Path;

use lifsim::config::{
    load, parse, BackendChoice, ConnectionRule, Distribution, NetworkSpec, NeuronRange, Receptor,
    RecorderSpec, StimulusKind,
};
use lifsim::model::{IafCondExpParams, StateVariable};

fn parse_ok(text: &str) -> NetworkSpec {
    parse(text, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_shipped_config_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir("configs").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let spec = load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(spec.source.path, path);
            assert_eq!(spec.source.text, std::fs::read_to_string(&path).unwrap());
            seen += 1;
        }
    }
    assert!(
        seen >= 2,
        "configs/ should hold single_neuron.toml and coba.toml"
    );
}

/// `reference/coba.md`, number by number.
#[test]
fn coba_is_the_benchmark_of_brette_2007() {
    let spec = load(Path::new("configs/coba.toml")).unwrap();
    let sim = &spec.simulation;
    assert_eq!((sim.dt_ms, sim.t_stop_ms, sim.seed), (0.1, 1000.0, 2));
    assert_eq!(sim.n_steps(), 10_000);

    let coba = IafCondExpParams {
        c_m: 200.0,
        g_l: 10.0,
        e_l: -60.0,
        v_th: -50.0,
        v_reset: -60.0,
        t_ref: 5.0,
        e_ex: 0.0,
        e_in: -80.0,
        tau_syn_ex: 5.0,
        tau_syn_in: 10.0,
        i_e: 0.0,
    };
    let names: Vec<(&str, u32)> = spec
        .populations
        .iter()
        .map(|p| (p.name.as_str(), p.n))
        .collect();
    assert_eq!(names, [("E", 3200), ("I", 800)]);
    for p in &spec.populations {
        assert_eq!(p.params, coba);
        assert_eq!(p.params.tau_m(), 20.0);
        assert_eq!(
            p.v_m,
            Distribution::Uniform {
                low: -60.0,
                high: -50.0
            }
        );
        assert_eq!(
            (p.g_ex, p.g_in),
            (Distribution::Constant(0.0), Distribution::Constant(0.0))
        );
    }

    // Every neuron gets 64 inputs from E (+6 nS on g_ex) and 16 from I (+67 nS on g_in).
    assert_eq!(spec.projections.len(), 4);
    for target in [0, 1] {
        for (source, receptor, weight, indegree) in [
            (0, Receptor::Excitatory, 6.0, 64),
            (1, Receptor::Inhibitory, 67.0, 16),
        ] {
            let matching: Vec<_> = spec
                .projections
                .iter()
                .filter(|p| p.source == source && p.target == target)
                .collect();
            assert_eq!(matching.len(), 1, "one projection {source} -> {target}");
            let p = matching[0];
            assert_eq!(p.receptor, receptor);
            assert_eq!(p.weight_ns, Distribution::Constant(weight));
            assert_eq!(p.delay_ms, Distribution::Constant(0.1));
            assert_eq!(p.rule, ConnectionRule::FixedIndegree(indegree));
            assert!(p.allow_autapses && p.allow_multapses);
        }
    }
    let names: Vec<&str> = spec.projections.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["E->E", "E->I", "I->E", "I->I"]);

    // The kick: 300 Hz onto E[0:400] for 1 < t <= 101 ms, +6 nS on g_ex after 0.1 ms.
    assert_eq!(spec.stimuli.len(), 1);
    let kick = &spec.stimuli[0];
    assert_eq!(kick.name, "kick");
    assert_eq!(
        kick.target,
        NeuronRange {
            population: 0,
            neurons: 0..400
        }
    );
    assert_eq!(
        kick.kind,
        StimulusKind::Poisson {
            rate_hz: 300.0,
            start_ms: 1.0,
            stop_ms: 101.0,
            weight_ns: 6.0,
            receptor: Receptor::Excitatory,
            delay_ms: 0.1,
        }
    );

    assert_eq!(
        spec.recorders,
        [
            RecorderSpec::Spikes {
                populations: vec![0, 1]
            },
            RecorderSpec::State {
                population: 0,
                neurons: vec![0, 1, 2, 3],
                variables: vec![StateVariable::VM],
                interval_steps: 1,
            },
        ]
    );
}

#[test]
fn single_neuron_is_one_default_neuron_driven_by_a_spike_train() {
    let spec = load(Path::new("configs/single_neuron.toml")).unwrap();
    assert_eq!(spec.simulation.backend, BackendChoice::Cpu);
    assert_eq!(spec.populations.len(), 1);
    let output = &spec.populations[0];
    assert_eq!((output.name.as_str(), output.n), ("output", 1));
    assert_eq!(output.params, IafCondExpParams::default());
    assert_eq!(output.v_m, Distribution::Constant(-70.0));
    assert!(spec.projections.is_empty());

    assert_eq!(spec.stimuli.len(), 1);
    let input = &spec.stimuli[0];
    assert_eq!(
        input.target,
        NeuronRange {
            population: 0,
            neurons: 0..1
        }
    );
    let StimulusKind::SpikeTrain {
        spike_times_ms,
        weight_ns,
        receptor,
        delay_ms,
    } = &input.kind
    else {
        panic!("the input is a spike_generator: {:?}", input.kind);
    };
    assert_eq!(
        (*weight_ns, *receptor, *delay_ms),
        (20.0, Receptor::Excitatory, 1.0)
    );
    // Three isolated spikes, a volley of five, a burst of forty every 0.2 ms.
    assert_eq!(&spike_times_ms[..3], [20.0, 50.0, 80.0]);
    assert_eq!(spike_times_ms.len(), 3 + 5 + 40);
    let burst = &spike_times_ms[8..];
    assert_eq!((burst[0], burst[39]), (150.0, 157.8));
    assert!(burst.windows(2).all(|w| (w[1] - w[0] - 0.2).abs() < 1e-9));
    assert!(spike_times_ms
        .iter()
        .all(|&t| t < spec.simulation.t_stop_ms));

    assert!(spec.recorders.contains(&RecorderSpec::State {
        population: 0,
        neurons: vec![0],
        variables: vec![StateVariable::VM, StateVariable::GEx],
        interval_steps: 1,
    }));
    assert!(spec.recorders.contains(&RecorderSpec::Spikes {
        populations: vec![0]
    }));
}

#[test]
fn defaults_are_the_documented_ones() {
    let spec = parse_ok(
        "[simulation]\nt_stop = 10\n\
         [[population]]\nname = \"A\"\nn = 2\n\
         [[projection]]\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"in\"\nweight = 1\nrule = \"all_to_all\"\n\
         [[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"A\"\namplitude = \"1 nA\"\n\
         [[record]]\nmodel = \"multimeter\"\npopulation = \"A\"\nrecord_from = [\"g_in\"]\n",
    );
    let sim = &spec.simulation;
    assert_eq!((sim.dt_ms, sim.t_stop_ms, sim.seed), (0.1, 10.0, 1));
    assert_eq!((sim.backend, sim.threads), (BackendChoice::Auto, None));
    let a = &spec.populations[0];
    assert_eq!(a.params, IafCondExpParams::default());
    assert_eq!(a.v_m, Distribution::Constant(a.params.e_l));
    let p = &spec.projections[0];
    assert_eq!(p.delay_ms, Distribution::Constant(0.1));
    assert!(p.allow_autapses && p.allow_multapses);
    assert_eq!(
        spec.stimuli[0].kind,
        StimulusKind::DcCurrent {
            amplitude_pa: 1000.0,
            start_ms: 0.0,
            stop_ms: f64::INFINITY,
            delay_ms: 0.1,
        }
    );
    assert_eq!(spec.stimuli[0].target.neurons, 0..2);
    assert_eq!(
        spec.recorders,
        [RecorderSpec::State {
            population: 0,
            neurons: vec![0, 1],
            variables: vec![StateVariable::GIn],
            interval_steps: 1,
        }]
    );
}

#[test]
fn without_record_tables_every_population_spikes_are_kept() {
    let spec = parse_ok("[simulation]\nt_stop = 1\n[[population]]\nname = \"A\"\nn = 1\n[[population]]\nname = \"B\"\nn = 1\n");
    assert_eq!(
        spec.recorders,
        [RecorderSpec::Spikes {
            populations: vec![0, 1]
        }]
    );
}

#[test]
fn an_empty_record_array_records_nothing() {
    let spec =
        parse_ok("record = []\n[simulation]\nt_stop = 1\n[[population]]\nname = \"A\"\nn = 1\n");
    assert!(spec.recorders.is_empty());
}

#[test]
fn spike_recorders_merge() {
    let spec = parse_ok(
        "[simulation]\nt_stop = 1\n[[population]]\nname = \"A\"\nn = 1\n[[population]]\nname = \"B\"\nn = 1\n\
         [[record]]\nmodel = \"spike_recorder\"\npopulations = [\"B\", \"B\"]\n\
         [[record]]\nmodel = \"multimeter\"\npopulation = \"A\"\nneurons = [0]\nrecord_from = [\"V_m\"]\ninterval = \"1 ms\"\n\
         [[record]]\nmodel = \"spike_recorder\"\npopulations = [\"A\", \"B\"]\n",
    );
    assert_eq!(
        spec.recorders,
        [
            RecorderSpec::Spikes {
                populations: vec![0, 1]
            },
            RecorderSpec::State {
                population: 0,
                neurons: vec![0],
                variables: vec![StateVariable::VM],
                interval_steps: 10,
            },
        ]
    );
}

#[test]
fn unnamed_tables_get_unique_names() {
    let projection = "[[projection]]\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"ex\"\nweight = 1\nrule = \"one_to_one\"\n";
    let stimulus = "[[stimulus]]\nmodel = \"poisson_generator\"\ntarget = \"A\"\nneurons = \":2\"\nrate = 10\nweight = 1\nreceptor = \"ex\"\n";
    let spec = parse_ok(&format!(
        "[simulation]\nt_stop = 1\n[[population]]\nname = \"A\"\nn = 4\n\
         {projection}{projection}[[projection]]\nname = \"A->A #2\"\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"in\"\nweight = 1\nrule = \"one_to_one\"\n\
         {stimulus}{stimulus}[[stimulus]]\nmodel = \"dc_generator\"\ntarget = \"A\"\namplitude = 1\n"
    ));
    let names: Vec<&str> = spec.projections.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["A->A", "A->A #3", "A->A #2"]);
    let names: Vec<&str> = spec.stimuli.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "poisson_generator->A[0:2]",
            "poisson_generator->A[0:2] #2",
            "dc_generator->A"
        ]
    );
}

#[test]
fn spike_generator_sends_only_spikes_in_its_window() {
    let spec = parse_ok(
        "[simulation]\nt_stop = 100\n[[population]]\nname = \"A\"\nn = 1\n\
         [[stimulus]]\nmodel = \"spike_generator\"\ntarget = \"A\"\nspike_times = [\"1 ms\", 2.0, 2.0, 3.0, 4.0]\n\
         start = 1.0\nstop = 3.0\nweight = \"0.01 uS\"\nreceptor = \"in\"\ndelay = \"0.5 ms\"\n",
    );
    assert_eq!(
        spec.stimuli[0].kind,
        StimulusKind::SpikeTrain {
            spike_times_ms: vec![2.0, 2.0, 3.0],
            weight_ns: 10.0,
            receptor: Receptor::Inhibitory,
            delay_ms: 0.5,
        }
    );
}

#[test]
fn every_rule_and_distribution_reaches_the_spec() {
    let spec = parse_ok(
        "[simulation]\ndt = 0.05\nt_stop = \"0.1 s\"\nseed = 42\nbackend = \"gpu\"\nthreads = 2\n\
         [[population]]\nname = \"A\"\nn = 10\nV_m = { normal = { mean = \"-65 mV\", std = 2 } }\ng_ex = { uniform = [0, \"1 nS\"] }\n\
         [[projection]]\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"ex\"\nweight = { normal = { mean = 1, std = 0.5 } }\n\
         delay = { uniform = [0.05, \"1 ms\"] }\nrule = \"fixed_outdegree\"\noutdegree = 9\nallow_autapses = false\nallow_multapses = false\n\
         [[projection]]\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"in\"\nweight = 1\nrule = \"fixed_total_number\"\nN = 1000\n\
         [[projection]]\nsource = \"A\"\ntarget = \"A\"\nreceptor = \"in\"\nweight = 1\nrule = \"pairwise_bernoulli\"\np = 1\nallow_multapses = false\n",
    );
    let sim = &spec.simulation;
    assert_eq!((sim.dt_ms, sim.t_stop_ms, sim.seed), (0.05, 100.0, 42));
    assert_eq!((sim.backend, sim.threads), (BackendChoice::Gpu, Some(2)));
    let a = &spec.populations[0];
    assert_eq!(
        a.v_m,
        Distribution::Normal {
            mean: -65.0,
            std: 2.0
        }
    );
    assert_eq!(
        a.g_ex,
        Distribution::Uniform {
            low: 0.0,
            high: 1.0
        }
    );
    let p = &spec.projections;
    assert_eq!(
        p[0].weight_ns,
        Distribution::Normal {
            mean: 1.0,
            std: 0.5
        }
    );
    assert_eq!(
        p[0].delay_ms,
        Distribution::Uniform {
            low: 0.05,
            high: 1.0
        }
    );
    assert_eq!(p[0].rule, ConnectionRule::FixedOutdegree(9));
    assert!(!p[0].allow_autapses && !p[0].allow_multapses);
    assert_eq!(p[1].rule, ConnectionRule::FixedTotalNumber(1000));
    assert_eq!(p[2].rule, ConnectionRule::PairwiseBernoulli(1.0));
}

/// Every complete config in docs/config.md (a toml block with a `[simulation]` table) is valid,
/// so the reference cannot drift from the parser.
#[test]
fn configs_in_the_docs_are_valid() {
    let docs = std::fs::read_to_string("docs/config.md").unwrap();
    let blocks: Vec<&str> = docs
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .filter(|block| block.contains("[simulation]"))
        .collect();
    assert!(
        blocks.len() >= 2,
        "the docs hold a short and a worked example"
    );
    for block in blocks {
        parse(block, Path::new("docs/config.md")).unwrap_or_else(|e| panic!("{e}\n{block}"));
    }
}
