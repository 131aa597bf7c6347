//! The scaled COBA network of `lifsim bench` (Brette et al. 2007, benchmark 1; Vogels & Abbott
//! 2005), the same network that `configs/coba.toml` describes at N = 4,000, built in code for any
//! N and in-degree.
//!
//! Scaling keeps what sets the dynamics per neuron and grows everything else with N:
//! - NE = 0.8 N excitatory and NI = N - NE inhibitory neurons, identical parameters;
//! - a fixed in-degree K per neuron, K_E = 0.8 K from E and K_I = 0.2 K from I (COBA: K = 80,
//!   64 + 16), sources drawn with replacement (NEST's defaults: autapses and multapses allowed);
//! - recurrent weights scaled by 80 / K (6 nS from E, 67 nS from I at K = 80), so that the mean
//!   synaptic input per neuron, K times the weight, is the same for every K and the activity
//!   stays comparable (with K = 1,000 the input fluctuates less; see docs/benchmarks.md for the
//!   rates it reaches);
//! - the kick: an independent 300 Hz Poisson train onto each of the first NE / 8 E neurons, for
//!   1 < t <= 101 ms, +6 nS on g_ex (not scaled: it is input from outside).

use crate::config::{
    BackendChoice, ConfigSource, ConnectionRule, Distribution, NetworkSpec, NeuronRange,
    PopulationSpec, ProjectionSpec, Receptor, RecorderSpec, SimulationSpec, StimulusKind,
    StimulusSpec, SynapseStorage,
};
use crate::model::IafCondExpParams;

/// Integration step [ms] of the benchmark (NEST's and Brian2's runs use the same).
pub const DT_MS: f64 = 0.1;

/// The in-degree of the original COBA network.
pub const COBA_INDEGREE: u32 = 80;

/// Weight of a synapse from E [nS] at in-degree 80.
const WEIGHT_E_NS: f64 = 6.0;
/// Weight of a synapse from I [nS] at in-degree 80.
const WEIGHT_I_NS: f64 = 67.0;
/// Synaptic delay [ms]: one step.
const DELAY_MS: f64 = 0.1;

/// The COBA neuron: tau_m = C_m / g_L = 20 ms, threshold 10 mV above rest.
pub fn coba_params() -> IafCondExpParams {
    IafCondExpParams {
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
    }
}

/// Excitatory and inhibitory population sizes for `n` neurons: NE = floor(0.8 n).
pub fn population_sizes(n: u32) -> (u32, u32) {
    let n_e = (u64::from(n) * 4 / 5) as u32;
    (n_e, n - n_e)
}

/// In-degrees from E and from I for a total in-degree `k`: 0.8 k and 0.2 k.
pub fn indegrees(k: u32) -> (u32, u32) {
    let k_e = (u64::from(k) * 4 / 5) as u32;
    (k_e, k - k_e)
}

/// Recurrent weights [nS] from E and from I at in-degree `k`: COBA's, scaled by 80 / k.
pub fn weights_ns(k: u32) -> (f64, f64) {
    let scale = f64::from(COBA_INDEGREE) / f64::from(k);
    (WEIGHT_E_NS * scale, WEIGHT_I_NS * scale)
}

/// The scaled COBA network: `n` neurons, in-degree `indegree`, `t_stop_ms` of simulated time,
/// every random number drawn from `seed`. Spikes of both populations are recorded.
pub fn scaled_coba(n: u32, indegree: u32, t_stop_ms: f64, seed: u64) -> NetworkSpec {
    let params = coba_params();
    let (n_e, n_i) = population_sizes(n);
    let (k_e, k_i) = indegrees(indegree);
    let (w_e, w_i) = weights_ns(indegree);
    let population = |name: &str, n: u32| PopulationSpec {
        name: name.to_string(),
        n,
        params,
        // Uniform between reset and threshold.
        v_m: Distribution::Uniform {
            low: -60.0,
            high: -50.0,
        },
        g_ex: Distribution::Constant(0.0),
        g_in: Distribution::Constant(0.0),
    };
    let projection = |source: usize, target: usize, receptor, weight_ns, k| ProjectionSpec {
        storage: SynapseStorage::Stored,
        name: format!("{}->{}", ["E", "I"][source], ["E", "I"][target]),
        source,
        target,
        receptor,
        weight_ns: Distribution::Constant(weight_ns),
        delay_ms: Distribution::Constant(DELAY_MS),
        rule: ConnectionRule::FixedIndegree(k),
        allow_autapses: true,
        allow_multapses: true,
    };
    let mut projections = Vec::new();
    for target in 0..2 {
        projections.push(projection(0, target, Receptor::Excitatory, w_e, k_e));
        projections.push(projection(1, target, Receptor::Inhibitory, w_i, k_i));
    }
    projections.retain(|p| p.rule != ConnectionRule::FixedIndegree(0));
    NetworkSpec {
        simulation: SimulationSpec {
            dt_ms: DT_MS,
            t_stop_ms,
            seed,
            backend: BackendChoice::Cpu,
            threads: None,
        },
        populations: vec![population("E", n_e), population("I", n_i)],
        projections,
        stimuli: vec![StimulusSpec {
            name: "kick".to_string(),
            target: NeuronRange {
                population: 0,
                neurons: 0..n_e / 8,
            },
            kind: StimulusKind::Poisson {
                rate_hz: 300.0,
                start_ms: 1.0,
                stop_ms: 101.0,
                weight_ns: WEIGHT_E_NS,
                receptor: Receptor::Excitatory,
                delay_ms: DELAY_MS,
            },
        }],
        recorders: vec![RecorderSpec::Spikes {
            populations: vec![0, 1],
        }],
        source: ConfigSource::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coba_at_4000_is_the_reference_network() {
        let s = scaled_coba(4000, 80, 1000.0, 2);
        assert_eq!(s.populations[0].n, 3200);
        assert_eq!(s.populations[1].n, 800);
        let size = crate::network::estimate_size(&s);
        // 320,000 recurrent synapses; NEST's count in DESIGN.md, 324,400, adds the kick's 400
        // connections and the spike recorder's 4,000.
        assert_eq!(size.synapses, 320_000);
        assert_eq!(s.stimuli[0].target.neurons, 0..400);
    }

    #[test]
    fn dense_variant_keeps_the_mean_input() {
        let (k_e, k_i) = indegrees(1000);
        assert_eq!((k_e, k_i), (800, 200));
        let (w_e, w_i) = weights_ns(1000);
        assert!((f64::from(k_e) * w_e - 64.0 * 6.0).abs() < 1e-9);
        assert!((f64::from(k_i) * w_i - 16.0 * 67.0).abs() < 1e-9);
    }
}
