//! How large a network will be, computed from the spec alone (no synapse is drawn), for
//! `lifsim validate` and for refusing networks that do not fit.

use crate::config::{ConnectionRule, NetworkSpec, ProjectionSpec, SynapseStorage};

use super::stimulus::ms_to_steps;
use super::synapses::RowRuleKind;

/// Size of one projection.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionSize {
    pub name: String,
    /// Number of synapses (the expectation for `pairwise_bernoulli`).
    pub synapses: u64,
    /// Whether `synapses` is exact (every rule but `pairwise_bernoulli`).
    pub exact: bool,
    /// Where the GPU backend keeps them: "stored", "drawn on the device" or "procedural".
    pub device_storage: &'static str,
    /// Host memory with the CPU backend: row offsets (8 bytes per source), targets (4 bytes per
    /// synapse), per-synapse weights (4) and delays (2) when they are not one value.
    pub host_bytes: u64,
    /// Device memory with the GPU backend: row offsets (4 bytes per source), targets (4 per
    /// synapse), per-synapse weights (4) and delays (2, packed in pairs) when they differ; a
    /// count per source while fixed_indegree, fixed_total_number or pairwise_bernoulli is drawn
    /// on the device; nothing when procedural but pairwise_bernoulli's table of thresholds.
    pub device_bytes: u64,
}

/// Size of a whole network.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSize {
    pub neurons: u64,
    pub synapses: u64,
    pub projections: Vec<ProjectionSize>,
    /// Slots of each delay ring: the longest delay in steps, plus one.
    pub ring_slots: u64,
    /// Neuron state and delay rings [bytes] (the same on host and device).
    pub state_bytes: u64,
    /// Everything the CPU backend holds in host memory [bytes]: state, rings and synapses.
    pub host_bytes: u64,
    /// The synapses the GPU backend holds in device memory [bytes] (see
    /// `backend::gpu::footprint` for the whole device footprint).
    pub device_synapse_bytes: u64,
}

/// Bytes of neuron state per neuron: V_m, g_ex, g_in, refractory counter, I_stim.
pub const STATE_BYTES_PER_NEURON: u64 = 20;

/// The size of the network `spec` describes, computed from the spec alone (nothing is drawn).
pub fn estimate_size(spec: &NetworkSpec) -> NetworkSize {
    let neurons: u64 = spec.populations.iter().map(|p| u64::from(p.n)).sum();
    let dt = spec.simulation.dt_ms;
    let mut max_delay = 1i64;
    let projections: Vec<ProjectionSize> = spec
        .projections
        .iter()
        .map(|p| {
            max_delay = max_delay.max(ms_to_steps(p.delay_ms.upper_bound(), dt));
            projection_size(spec, p)
        })
        .collect();
    let ring_slots = max_delay.max(1) as u64 + 1;
    let state_bytes = neurons * (STATE_BYTES_PER_NEURON + 2 * 4 * ring_slots);
    NetworkSize {
        neurons,
        synapses: projections.iter().map(|p| p.synapses).sum(),
        ring_slots,
        state_bytes,
        host_bytes: state_bytes + projections.iter().map(|p| p.host_bytes).sum::<u64>(),
        device_synapse_bytes: projections.iter().map(|p| p.device_bytes).sum(),
        projections,
    }
}

/// The size of projection `p` of `spec`.
pub(super) fn projection_size(spec: &NetworkSpec, p: &ProjectionSpec) -> ProjectionSize {
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
    let weights = !p.weight_ns.is_constant();
    let delays = !p.delay_ms.is_constant();
    let per_synapse_host = 4 + 4 * u64::from(weights) + 2 * u64::from(delays);
    let constant = !weights && !delays;
    // What the GPU draws itself: the row rules, with one weight and one delay.
    let row_kind = RowRuleKind::of(p.rule, p.allow_multapses).filter(|_| constant);
    let drawn_on_device = row_kind.is_some();
    let (device_storage, host_bytes, device_bytes) = if p.storage == SynapseStorage::Procedural {
        let table = row_kind.map_or(0, RowRuleKind::table_bytes);
        ("procedural", 0, table)
    } else {
        // Where rows are counted first: a count per source (and Bernoulli's thresholds).
        let counting = row_kind
            .filter(|k| k.counts_rows())
            .map_or(0, |k| 4 * n_s + k.table_bytes());
        let device = 4 * (n_s + 1)
            + synapses * 4
            + synapses * 4 * u64::from(weights)
            + synapses.div_ceil(2) * 4 * u64::from(delays)
            + counting;
        let storage = if drawn_on_device {
            "drawn on the device"
        } else {
            "stored"
        };
        (storage, 8 * (n_s + 1) + synapses * per_synapse_host, device)
    };
    ProjectionSize {
        name: p.name.clone(),
        synapses,
        exact,
        device_storage,
        host_bytes,
        device_bytes,
    }
}
