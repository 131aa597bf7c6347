//! The device memory a network takes on the GPU backend, computed before anything is allocated,
//! so that a network too large for the device is refused with its size, the device's memory and
//! what would fit.

use crate::network::{Network, NetworkSize, Synapses};

use super::buffers::{record_capacity, submission_steps_for, MAX_SUBMISSION_STEPS};
use super::layout::STEP_PARAMS_STRIDE;

/// Device bytes by purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Neuron state (20 bytes per neuron) and the two delay rings.
    pub state: u64,
    /// Synapses: row offsets, targets, per-synapse weights and delays.
    pub synapses: u64,
    /// Per-step spike lists, the spike record and samples of a submission, and the two staging
    /// buffers they are read back through.
    pub io: u64,
}

impl Footprint {
    pub fn total(&self) -> u64 {
        self.state + self.synapses + self.io
    }
}

/// What the footprint depends on besides the synapses.
struct Shape {
    neurons: u64,
    populations: u64,
    ring_slots: u64,
    /// (probed neurons, sampling interval in steps) per probe.
    probes: Vec<(u64, u32)>,
}

fn footprint(shape: &Shape, synapses: u64, binding_limit: u64) -> Footprint {
    let n = shape.neurons;
    let steps = u64::from(submission_steps_for(shape.probes.iter().copied()));
    let record = record_capacity(n, binding_limit);
    let sample_words: u64 = shape
        .probes
        .iter()
        .map(|&(width, interval)| width * steps.div_ceil(u64::from(interval)))
        .sum();
    let staging = 32 + 4 * steps + 4 * record + 4 * sample_words + 16;
    Footprint {
        state: n * 20 + 2 * 4 * n * shape.ring_slots,
        synapses,
        io: 4 * n
            + 4 * shape.populations
            + 12 * shape.populations
            + 4 * record
            + 4 * steps
            + STEP_PARAMS_STRIDE * u64::from(MAX_SUBMISSION_STEPS).min(steps.max(1))
            + 4 * sample_words
            + 2 * staging,
    }
}

/// The footprint of a built network: exact for its synapses as the GPU backend places them (but
/// for `pairwise_bernoulli` drawn on the device, whose count is an expectation).
pub fn of_network(network: &Network, binding_limit: u64) -> Footprint {
    let shape = Shape {
        neurons: u64::from(network.n_neurons()),
        populations: network.populations.len() as u64,
        ring_slots: u64::from(network.ring_slots()),
        probes: network
            .probes
            .iter()
            .map(|p| (p.neurons.len() as u64, p.interval_steps))
            .collect(),
    };
    let synapses = network
        .projections
        .iter()
        .map(|p| {
            let n_sources = u64::from(network.populations[p.source].n);
            match &p.synapses {
                Synapses::Stored(csr) => {
                    let n = csr.n_synapses() as u64;
                    let weights = u64::from(!matches!(
                        csr.weights,
                        crate::network::PerSynapse::Constant(_)
                    ));
                    let delays = u64::from(!matches!(
                        csr.delays,
                        crate::network::PerSynapse::Constant(_)
                    ));
                    4 * (n_sources + 1) + 4 * n + 4 * n * weights + 4 * n.div_ceil(2) * delays
                }
                Synapses::Deferred(rule) => {
                    let counts = if rule.counts_rows() { 4 * n_sources } else { 0 };
                    4 * (n_sources + 1) + 4 * rule.n_synapses() + counts + rule.kind.table_bytes()
                }
                Synapses::Procedural(rule) => rule.kind.table_bytes(),
            }
        })
        .sum();
    footprint(&shape, synapses, binding_limit)
}

/// The footprint of the network a spec describes, from its size estimate (exact but for
/// `pairwise_bernoulli`, whose synapse count is an expectation).
pub fn of_size(
    size: &NetworkSize,
    spec: &crate::config::NetworkSpec,
    binding_limit: u64,
) -> Footprint {
    let shape = Shape {
        neurons: size.neurons,
        populations: spec.populations.len() as u64,
        ring_slots: size.ring_slots,
        probes: spec
            .recorders
            .iter()
            .flat_map(|r| match r {
                crate::config::RecorderSpec::State {
                    neurons,
                    variables,
                    interval_steps,
                    ..
                } => variables
                    .iter()
                    .map(|_| (neurons.len() as u64, *interval_steps))
                    .collect::<Vec<_>>(),
                crate::config::RecorderSpec::Spikes { .. } => Vec::new(),
            })
            .collect(),
    };
    footprint(&shape, size.device_synapse_bytes, binding_limit)
}
