//! The three NEST 3.10 reference protocols of `tests/data/` (see its README), on every backend:
//! identical spike times, |dV_m| <= 1e-3 mV, |dg| <= 1e-2 nS at every 0.1 ms sample.

mod common;

use common::*;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use serde_json::Value;

struct Reference {
    params: IafCondExpParams,
    t_ms: f64,
    v_m: Vec<f64>,
    g_ex: Vec<f64>,
    g_in: Vec<f64>,
    spike_times: Vec<f64>,
    json: Value,
}

fn load(name: &str) -> Reference {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).unwrap();
    let p = &json["params"];
    let f = |k: &str| p[k].as_f64().unwrap();
    let params = IafCondExpParams {
        c_m: f("C_m"),
        g_l: f("g_L"),
        e_l: f("E_L"),
        v_th: f("V_th"),
        v_reset: f("V_reset"),
        t_ref: f("t_ref"),
        e_ex: f("E_ex"),
        e_in: f("E_in"),
        tau_syn_ex: f("tau_syn_ex"),
        tau_syn_in: f("tau_syn_in"),
        i_e: f("I_e"),
    };
    let floats = |k: &str| -> Vec<f64> {
        json[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    Reference {
        params,
        t_ms: json["protocol"]["T_ms"].as_f64().unwrap(),
        v_m: floats("V_m"),
        g_ex: floats("g_ex"),
        g_in: floats("g_in"),
        spike_times: floats("spike_times"),
        json,
    }
}

/// One neuron (population 0) with a multimeter on every variable, every step.
fn single_neuron(r: &Reference) -> NetworkSpec {
    let mut s = spec(0.1, r.t_ms);
    s.populations.push(population("neuron", 1, r.params));
    s.recorders.push(multimeter(0, vec![0]));
    s.recorders.push(RecorderSpec::Spikes {
        populations: vec![0],
    });
    s
}

fn compare(name: &str, r: &Reference, spec: &NetworkSpec) {
    let network = build(spec);
    for kind in backends() {
        let rec = simulate(&network, kind);
        let steps =
            |ts: &[f64]| -> Vec<i64> { ts.iter().map(|t| (t / 0.1).round() as i64).collect() };
        let got = spike_times(&network, &rec, 0);
        assert_eq!(
            steps(&got),
            steps(&r.spike_times),
            "{name} on {}: spike times differ from NEST",
            kind.name()
        );
        let n = r.v_m.len();
        // Probes: V_m, g_ex, g_in of neuron 0, one sample per step.
        for (probe, (reference, tolerance)) in
            rec.samples
                .iter()
                .zip([(&r.v_m, 1e-3), (&r.g_ex, 1e-2), (&r.g_in, 1e-2)])
        {
            assert_eq!(probe.len(), n, "{name}: sample count");
            let (worst, at) = probe
                .iter()
                .zip(reference.iter())
                .enumerate()
                .map(|(i, (&a, &b))| ((f64::from(a) - b).abs(), i))
                .fold((0.0, 0), |m, x| if x.0 > m.0 { x } else { m });
            eprintln!("{name} on {}: max deviation {worst:.2e}", kind.name());
            assert!(
                worst <= tolerance,
                "{name} on {}: max deviation {worst} at t = {:.1} ms exceeds {tolerance}",
                kind.name(),
                (at + 1) as f64 * 0.1
            );
        }
    }
}

#[test]
fn a_constant_current_300_pa() {
    let r = load("a_const_Ie300.json");
    assert_eq!(r.params.i_e, 300.0);
    assert_eq!(r.spike_times.len(), 29);
    compare("a_const_Ie300", &r, &single_neuron(&r));
}

#[test]
fn b_spike_generator_input() {
    let r = load("b_spike_generator.json");
    let times = |k: &str| -> Vec<f64> {
        r.json[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let mut s = single_neuron(&r);
    let delay_ms = r.json["protocol"]["delay_ms"].as_f64().unwrap();
    s.stimuli.push(stimulus(
        0,
        0..1,
        StimulusKind::SpikeTrain {
            spike_times_ms: times("exc_input_times"),
            weight_ns: r.json["protocol"]["w_ex_nS"].as_f64().unwrap(),
            receptor: Receptor::Excitatory,
            delay_ms,
        },
    ));
    s.stimuli.push(stimulus(
        0,
        0..1,
        StimulusKind::SpikeTrain {
            spike_times_ms: times("inh_input_times"),
            // NEST's signed weight: negative selects g_in.
            weight_ns: r.json["protocol"]["w_in_nS"].as_f64().unwrap().abs(),
            receptor: Receptor::Inhibitory,
            delay_ms,
        },
    ));
    compare("b_spike_generator", &r, &s);
}

#[test]
fn e_step_current_generator() {
    let r = load("e_step_current_generator.json");
    let p = &r.json["protocol"];
    let floats = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let mut s = single_neuron(&r);
    s.stimuli.push(stimulus(
        0,
        0..1,
        StimulusKind::StepCurrent {
            amplitude_times_ms: floats(&p["amplitude_times"]),
            amplitude_values_pa: floats(&p["amplitude_values_pA"]),
            start_ms: 0.0,
            stop_ms: f64::INFINITY,
            delay_ms: p["conn_delay_ms"].as_f64().unwrap(),
        },
    ));
    compare("e_step_current_generator", &r, &s);
}
