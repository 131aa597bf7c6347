//! How large a network will be, computed from the spec alone (no synapse is drawn), for
//! `lifsim validate` and for refusing networks that do not fit.

use crate::config::{ConnectionRule, NetworkSpec};

use super::stimulus::ms_to_steps;

/// Expected size of one projection.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionSize {
    pub name: String,
    /// Number of synapses (the expectation for `pairwise_bernoulli`).
    pub synapses: u64,
    /// Whether `synapses` is exact (every rule but `pairwise_bernoulli`).
    pub exact: bool,
    /// Bytes per synapse: 4 for the target index, plus 4 for a per-synapse weight and 2 (host)
    /// or 4 (GPU) for a per-synapse delay; constant weights and delays are stored once.
    pub host_bytes: u64,
    pub device_bytes: u64,
}

/// Expected size of a whole network.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSize {
    pub neurons: u64,
    pub synapses: u64,
    pub projections: Vec<ProjectionSize>,
    /// Neuron state and delay rings [bytes].
    pub state_bytes: u64,
    /// Everything the simulation holds in host memory with the CPU backend [bytes].
    pub host_bytes: u64,
    /// Everything the GPU backend holds in device memory [bytes].
    pub device_bytes: u64,
}

/// Bytes of neuron state per neuron: V_m, g_ex, g_in, refractory counter, I_stim.
pub const STATE_BYTES_PER_NEURON: u64 = 20;

pub fn estimate_size(spec: &NetworkSpec) -> NetworkSize {
    let neurons: u64 = spec.populations.iter().map(|p| u64::from(p.n)).sum();
    let dt = spec.simulation.dt_ms;
    let mut max_delay = 1i64;
    let projections: Vec<ProjectionSize> = spec
        .projections
        .iter()
        .map(|p| {
            let n_s = u64::from(spec.populations[p.source].n);
            let n_t = u64::from(spec.populations[p.target].n);
            let self_excluded = p.source == p.target && !p.allow_autapses;
            let (synapses, exact) = match p.rule {
                ConnectionRule::AllToAll => (n_s * (n_t - u64::from(self_excluded)), true),
                ConnectionRule::OneToOne => (if self_excluded { 0 } else { n_s }, true),
                ConnectionRule::FixedIndegree(k) => (n_t * u64::from(k), true),
                ConnectionRule::FixedOutdegree(k) => (n_s * u64::from(k), true),
                ConnectionRule::FixedTotalNumber(n) => (n, true),
                ConnectionRule::PairwiseBernoulli(prob) => {
                    let pairs = n_s * (n_t - u64::from(self_excluded));
                    (
                        (pairs as f64 * prob).round() as u64,
                        prob == 0.0 || prob == 1.0,
                    )
                }
            };
            max_delay = max_delay.max(ms_to_steps(p.delay_ms.upper_bound(), dt));
            let weight_bytes = if p.weight_ns.is_constant() { 0 } else { 4 };
            let delay_host = if p.delay_ms.is_constant() { 0 } else { 2 };
            let delay_device = if p.delay_ms.is_constant() { 0 } else { 4 };
            ProjectionSize {
                name: p.name.clone(),
                synapses,
                exact,
                host_bytes: synapses * (4 + weight_bytes + delay_host) + 8 * (n_s + 1),
                device_bytes: synapses * (4 + weight_bytes + delay_device) + 4 * (n_s + 1),
            }
        })
        .collect();
    let ring_slots = max_delay.max(1) as u64 + 1;
    let state_bytes = neurons * (STATE_BYTES_PER_NEURON + 2 * 4 * ring_slots);
    NetworkSize {
        neurons,
        synapses: projections.iter().map(|p| p.synapses).sum(),
        state_bytes,
        host_bytes: state_bytes + projections.iter().map(|p| p.host_bytes).sum::<u64>(),
        device_bytes: state_bytes + projections.iter().map(|p| p.device_bytes).sum::<u64>(),
        projections,
    }
}
