//! The network built from a validated spec: populations laid out in one global index space,
//! the synapses of each projection in CSR form, stimuli resolved to steps, recording probes and
//! the initial state. Building is seeded and deterministic for any thread count. Backends take a
//! `Network` and know nothing of configs.

pub mod bernoulli;
mod build;
pub mod csr;
pub mod rules;
mod size;
pub mod stimulus;
mod synapses;

use std::ops::Range;

pub use build::{build, build_with, BuildError, BuildOptions, Placement};
pub use csr::{Csr, PerSynapse, Wiring};
pub use size::{estimate_size, NetworkSize, ProjectionSize};
pub use stimulus::{
    current_change_steps, CurrentInput, PoissonInput, SpikeInput, Stimulus, StimulusInput,
};
pub use synapses::{
    can_merge, in_weight_bound, merged_indegree_csr, RowDrawer, RowRule, RowRuleKind, Synapses,
};

use crate::config::{NetworkSpec, Receptor};
use crate::model::{IafCondExpDerived, IafCondExpParams, StateVariable};

/// A population placed in the global neuron index space.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    pub name: String,
    /// Global index of its first neuron.
    pub offset: u32,
    pub n: u32,
    pub params: IafCondExpParams,
    pub derived: IafCondExpDerived,
}

impl Population {
    /// Global indices of its neurons.
    pub fn range(&self) -> Range<u32> {
        self.offset..self.offset + self.n
    }
}

/// The state of every neuron, structure of arrays, by global index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NeuronState {
    /// Membrane potential [mV].
    pub v_m: Vec<f32>,
    /// Excitatory conductance [nS].
    pub g_ex: Vec<f32>,
    /// Inhibitory conductance [nS].
    pub g_in: Vec<f32>,
    /// Refractory steps left.
    pub refractory: Vec<i32>,
    /// Current from current generators acting in the next step [pA].
    pub i_stim: Vec<f32>,
}

impl NeuronState {
    pub fn len(&self) -> usize {
        self.v_m.len()
    }

    pub fn is_empty(&self) -> bool {
        self.v_m.is_empty()
    }

    pub fn variable(&self, variable: StateVariable) -> &[f32] {
        match variable {
            StateVariable::VM => &self.v_m,
            StateVariable::GEx => &self.g_ex,
            StateVariable::GIn => &self.g_in,
        }
    }
}

/// Synapses from one population onto another.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub name: String,
    pub source: usize,
    pub target: usize,
    pub receptor: Receptor,
    pub synapses: Synapses,
}

/// Fixed-point representation of synaptic input: a weight `w` [nS] is held as the integer
/// `round(w * scale)`, and delay rings accumulate these integers, so the sum of a step's input
/// does not depend on the order of addition (the GPU adds with integer atomics).
///
/// `scale` is a power of two per receptor, the largest for which the summed weights of all
/// synapses onto any one neuron fit in half an i32: no step's input can overflow, whatever spikes.
/// Resolution: 1 / scale nS.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedPoint {
    /// Integer units per nS, per receptor (index: `Receptor::index`).
    pub scale: [f32; 2],
}

impl FixedPoint {
    /// Largest scale used when a receptor has little or no input: resolution 2^-24 nS.
    pub const MAX_SCALE: f32 = 16_777_216.0;

    /// The scales for a spec: per receptor, from the largest summed weight any neuron can receive
    /// in one step (`in_weight_bound`, summed over the projections into its population). The
    /// scales depend on the spec alone, not on the synapses drawn, so stored, device-drawn and
    /// procedural synapses of one network give the same sums.
    pub fn for_spec(spec: &NetworkSpec) -> FixedPoint {
        let mut per_target = vec![[0f64; 2]; spec.populations.len()];
        for proj in &spec.projections {
            let bound = in_weight_bound(
                proj,
                spec.populations[proj.source].n,
                spec.populations[proj.target].n,
            );
            per_target[proj.target][proj.receptor.index()] += bound;
        }
        let max = |r: usize| per_target.iter().map(|b| b[r]).fold(0.0, f64::max);
        FixedPoint {
            scale: [Self::scale_for(max(0)), Self::scale_for(max(1))],
        }
    }

    /// The scale for a receptor whose largest summed in-weight is `max_in_weight_ns`.
    pub fn scale_for(max_in_weight_ns: f64) -> f32 {
        let limit = f64::from(i32::MAX) / 2.0;
        let mut scale = f64::from(Self::MAX_SCALE);
        while scale > 1e-30 && max_in_weight_ns * scale > limit {
            scale *= 0.5;
        }
        scale as f32
    }

    #[inline]
    pub fn to_fixed(&self, receptor: Receptor, weight_ns: f64) -> i32 {
        (weight_ns * f64::from(self.scale[receptor.index()])).round() as i32
    }

    /// nS per integer unit (exact: the scale is a power of two).
    #[inline]
    pub fn inv_scale(&self, receptor: Receptor) -> f32 {
        1.0 / self.scale[receptor.index()]
    }
}

/// Samples of one state variable of chosen neurons of one population: one SONATA report.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    pub population: usize,
    pub variable: StateVariable,
    /// Global indices, increasing.
    pub neurons: Vec<u32>,
    /// Sample at the end of every step k with (k + 1) % interval_steps == 0.
    pub interval_steps: u32,
}

impl Probe {
    #[inline]
    pub fn samples_step(&self, step: u64) -> bool {
        (step + 1).is_multiple_of(u64::from(self.interval_steps))
    }
}

/// A network ready to simulate.
#[derive(Clone, Debug)]
pub struct Network {
    pub dt_ms: f64,
    /// Steps in (0, t_stop].
    pub n_steps: u64,
    pub seed: u64,
    pub populations: Vec<Population>,
    pub projections: Vec<Projection>,
    pub stimuli: Vec<Stimulus>,
    pub probes: Vec<Probe>,
    /// Whether each population's spikes go into the output.
    pub record_spikes: Vec<bool>,
    pub initial_state: NeuronState,
    pub fixed_point: FixedPoint,
    /// The longest synaptic delay [steps]; delay rings hold `max_delay_steps + 1` slots.
    pub max_delay_steps: u32,
    /// The spec it was built from (its config text is provenance for the output).
    pub spec: NetworkSpec,
}

impl Network {
    pub fn n_neurons(&self) -> u32 {
        self.populations.iter().map(|p| p.n).sum()
    }

    /// The number of synapses (an expectation where [`Network::synapse_count_is_exact`] is
    /// false).
    pub fn n_synapses(&self) -> u64 {
        self.projections
            .iter()
            .map(|p| p.synapses.n_synapses())
            .sum()
    }

    /// Whether [`Network::n_synapses`] is exact: not while a `pairwise_bernoulli` rule is left
    /// to the backend to draw.
    pub fn synapse_count_is_exact(&self) -> bool {
        self.projections.iter().all(|p| p.synapses.count_is_exact())
    }

    /// Slots of each delay ring.
    pub fn ring_slots(&self) -> u32 {
        self.max_delay_steps + 1
    }

    /// The population holding global neuron `neuron`.
    pub fn population_of(&self, neuron: u32) -> usize {
        self.populations
            .partition_point(|p| p.offset + p.n <= neuron)
    }

    /// Add the out-degrees `degrees` of population `source`'s neurons (in order) to `out`, which
    /// holds every neuron's (the backends' `outdegrees`).
    pub fn add_outdegrees(
        &self,
        out: &mut [u32],
        source: usize,
        degrees: impl IntoIterator<Item = u32>,
    ) {
        let first = self.populations[source].offset as usize;
        for (n, d) in out[first..].iter_mut().zip(degrees) {
            *n += d;
        }
    }

    /// End time [ms] of step `step` (0-based): the stamp of a spike emitted in it.
    pub fn step_end_ms(&self, step: u64) -> f64 {
        (step + 1) as f64 * self.dt_ms
    }
}
