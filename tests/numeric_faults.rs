//! Numeric faults: a state that becomes NaN or infinite, or synaptic input beyond the fixed-point
//! range, stops the run with an error that names the population, the neuron, the variable and
//! the time, on every backend (library level), and `lifsim run` exits non-zero with that message
//! and leaves a file marked failed that holds everything up to the fault (command line).

mod common;

use common::cli::*;
use common::*;
use lifsim::backend::BackendError;
use lifsim::config::*;
use lifsim::model::IafCondExpParams;
use lifsim::network::{Network, PerSynapse, Synapses};
use lifsim::record;
use lifsim::sim::{run_to_memory, RunError};

/// The error a run of `network` on `kind` stops with.
fn fault_of(network: &Network, kind: Kind) -> BackendError {
    let mut backend = make_backend(network, kind);
    match run_to_memory(network, backend.as_mut()) {
        Ok(_) => panic!("the run on {} should have failed", kind.name()),
        Err(RunError::Backend(e)) => e,
        Err(e) => panic!("{}: {e}", kind.name()),
    }
}

/// What a `NonFinite` error says: (population, neuron, variable, time [ms]).
fn non_finite(error: &BackendError) -> (&str, u32, &str, f64) {
    match error {
        BackendError::NonFinite {
            population,
            neuron,
            variable,
            time_ms,
            ..
        } => (population.as_str(), *neuron, *variable, *time_ms),
        other => panic!("expected a non-finite state, got: {other}"),
    }
}

/// Runs `network` on every backend: each must stop with the same non-finite state, the one
/// expected, and say so in words.
fn assert_non_finite_everywhere(network: &Network, expected: (&str, u32, &str, f64)) {
    for kind in backends() {
        let error = fault_of(network, kind);
        let (population, neuron, variable, time_ms) = non_finite(&error);
        assert_eq!(
            (population, neuron, variable),
            (expected.0, expected.1, expected.2),
            "{}: {error}",
            kind.name()
        );
        assert!(
            (time_ms - expected.3).abs() < 1e-9,
            "{}: at {time_ms} ms, expected {} ms",
            kind.name(),
            expected.3
        );
        let message = error.to_string();
        for part in [
            format!("{variable} of neuron {neuron} of population `{population}` became"),
            format!("at t = {} ms", lifsim::backend::round_ms(time_ms)),
            format!("check the parameters of `{population}`"),
        ] {
            assert!(message.contains(&part), "{}: {message}", kind.name());
        }
    }
}

/// A healthy population "ok" (2 neurons, NEST's defaults) and the population under test, "P".
fn two_populations(p: IafCondExpParams, n: u32) -> NetworkSpec {
    let mut s = spec(0.1, 20.0);
    s.populations
        .push(population("ok", 2, IafCondExpParams::default()));
    s.populations.push(population("P", n, p));
    s
}

#[test]
fn a_capacitance_beyond_f32_stops_the_run_at_the_first_step() {
    // 1e-50 pF is a finite f64, but 1 / C_m is infinite in f32.
    let params = IafCondExpParams {
        c_m: 1e-50,
        ..IafCondExpParams::default()
    };
    assert_non_finite_everywhere(&build(&two_populations(params, 3)), ("P", 0, "V_m", 0.1));
}

#[test]
fn an_infinite_input_weight_names_the_neuron_it_hit() {
    let mut s = two_populations(IafCondExpParams::default(), 4);
    // 1e39 nS is finite in the config but not in f32: one spike at 5 ms into neuron P[2], which
    // arrives at 6 ms; V_m is NaN at the end of the next step.
    s.stimuli.push(stimulus(
        1,
        2..3,
        StimulusKind::SpikeTrain {
            spike_times_ms: vec![5.0],
            weight_ns: 1e39,
            receptor: Receptor::Excitatory,
            delay_ms: 1.0,
        },
    ));
    // The infinite weight arrives at 6.0 ms; the neuron update of the next step finds g_ex
    // infinite (and V_m NaN because of it) and blames g_ex.
    assert_non_finite_everywhere(&build(&s), ("P", 2, "g_ex", 6.1));
}

/// Parameters whose integration overflows to +inf in the first step, without a NaN: C_m = 1e-30
/// pF (tau_m = 6e-32 ms, far below what RK4 with dt = 0.1 ms holds) and E_L = 1e39 mV (infinite
/// in f32, as the initial V_m). (I_e = 1e39 pA is no such case: the derived drive, I_e / C_m,
/// fits in f32, and V_m stays finite, if absurd.)
fn overflowing_parameters() -> [(&'static str, IafCondExpParams); 2] {
    let d = IafCondExpParams::default();
    [
        ("C_m = 1e-30", IafCondExpParams { c_m: 1e-30, ..d }),
        ("E_L = 1e39", IafCondExpParams { e_l: 1e39, ..d }),
    ]
}

/// V_m becomes +inf: no spike, no reset; the run stops at the first step.
#[test]
fn an_integration_that_overflows_stops_the_run() {
    for (what, params) in overflowing_parameters() {
        let mut s = two_populations(params, 3);
        s.populations[1].v_m = Distribution::Constant(-65.0);
        let network = build(&s);
        for kind in backends() {
            let mut backend = make_backend(&network, kind);
            match run_to_memory(&network, backend.as_mut()) {
                Err(RunError::Backend(e)) => {
                    assert_eq!(
                        non_finite(&e),
                        ("P", 0, "V_m", 0.1),
                        "{what}, {}",
                        kind.name()
                    )
                }
                Err(e) => panic!("{what}, {}: {e}", kind.name()),
                Ok(recording) => panic!(
                    "{what}, {}: the run went to its end, with {} spikes of P",
                    kind.name(),
                    recording.spikes.iter().filter(|s| s.neuron >= 2).count()
                ),
            }
        }
    }
}

/// Two neurons that fire together onto one target, with fixed-point weights (set after the
/// build, past what `FixedPoint` would choose) whose sum wraps around an i32.
fn overflowing_network() -> Network {
    let driven = IafCondExpParams {
        i_e: 1000.0,
        ..IafCondExpParams::default()
    };
    let mut s = spec(0.1, 20.0);
    s.populations.push(population("src", 2, driven));
    s.populations
        .push(population("dst", 3, IafCondExpParams::default()));
    s.projections.push(projection(
        0,
        1,
        Receptor::Excitatory,
        1.0,
        0.1,
        ConnectionRule::AllToAll,
    ));
    let mut network = build(&s);
    let Synapses::Stored(csr) = &mut network.projections[0].synapses else {
        panic!("a host build stores its synapses");
    };
    csr.weights = PerSynapse::Constant(1 << 30);
    network
}

#[test]
fn input_overflow_stops_the_cpu_run() {
    let network = overflowing_network();
    for kind in backends() {
        if kind == Kind::Gpu {
            continue;
        }
        match fault_of(&network, kind) {
            BackendError::InputOverflow {
                population, neuron, ..
            } => assert_eq!((population.as_str(), neuron), ("dst", 0)),
            other => panic!("{}: expected an input overflow, got: {other}", kind.name()),
        }
    }
}

/// The GPU halts the submission on an overflow and the host reports it.
#[test]
fn input_overflow_stops_the_gpu_run() {
    if gpu().is_none() {
        return;
    }
    match fault_of(&overflowing_network(), Kind::Gpu) {
        BackendError::InputOverflow {
            population, neuron, ..
        } => assert_eq!((population.as_str(), neuron), ("dst", 0)),
        other => panic!("expected an input overflow, got: {other}"),
    }
}

// --- The command line ---------------------------------------------------------------------------

/// A config whose population "tiny" has C_m = 1e-50 pF (1 / C_m is infinite in f32).
const TINY_CAPACITANCE: &str = r#"
[simulation]
dt = 0.1
t_stop = 50.0
seed = 1

[[population]]
name = "ok"
n = 2

[[population]]
name = "tiny"
n = 3
C_m = 1e-50            # [pF]
V_m = -65.0            # [mV]: off rest

[[record]]
model = "spike_recorder"
populations = ["ok", "tiny"]

[[record]]
model = "multimeter"
population = "tiny"
record_from = ["V_m"]
interval = 0.1
"#;

fn command_line_fault(backend: &str) {
    let _one = one_at_a_time();
    let dir = TestDir::new();
    let config = dir.join("tiny.toml");
    std::fs::write(&config, TINY_CAPACITANCE).unwrap();
    let out = dir.join("tiny.h5");
    let output = run_lifsim(&[
        "run",
        arg(&config),
        "-o",
        arg(&out),
        "-q",
        "--backend",
        backend,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let fault = "V_m of neuron 0 of population `tiny` became NaN at t = 0.1 ms";
    for part in [
        fault,
        "check the parameters of `tiny`",
        &format!(
            "the run failed; {} holds everything simulated up to t = 0.1 ms and is marked failed",
            out.display()
        ),
    ] {
        assert!(stderr.contains(part), "{part:?} not in:\n{stderr}");
    }

    let file = record::read(&out).unwrap();
    assert!(!file.completed);
    assert!(
        file.status.starts_with("failed: ") && file.status.contains(fault),
        "{}",
        file.status
    );
    // The file holds the step that went wrong, NaN included, for the post-mortem.
    assert_eq!(file.t_reached_ms, 0.1);
    let v_m = &file.reports[0];
    assert_eq!(v_m.n_samples, 1);
    assert!(v_m.data.iter().all(|v| v.is_nan()), "{:?}", v_m.data);

    if let Some(seen) = python_check(&out) {
        assert_eq!(seen["root"]["completed"], 0);
        assert_eq!(seen["root"]["status"], file.status.as_str());
    }
}

#[test]
fn command_line_reports_a_fault_on_the_cpu() {
    command_line_fault("cpu");
}

#[test]
fn command_line_reports_a_fault_on_the_gpu() {
    if gpu().is_none() {
        return;
    }
    command_line_fault("gpu");
}
