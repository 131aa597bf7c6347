//! Stage 2, CPU twin of `shaders/stimulus.wgsl`: input from devices due this step, applied after
//! the neuron update in stimulus order.

use std::ops::Range;

use crate::network::{PoissonInput, SpikeInput, Stimulus, StimulusInput};
use crate::rng::Philox;

/// Intersection of two ranges (empty when disjoint).
pub fn intersect(a: &Range<u32>, b: &Range<u32>) -> Range<u32> {
    a.start.max(b.start)..a.end.min(b.end).max(a.start.max(b.start))
}

/// Add the Poisson spikes due in `step` to the conductance `g` of the neurons `owned` (global
/// ids; `g[0]` is neuron `owned.start`). One Philox word per neuron and step.
pub fn poisson(
    input: &PoissonInput,
    targets: &Range<u32>,
    rng: &Philox,
    step: u64,
    owned: &Range<u32>,
    g: &mut [f32],
) {
    if step < input.first_due_step || step >= input.end_due_step {
        return;
    }
    for neuron in intersect(targets, owned) {
        let u = rng.words(input.stream, neuron, step)[0];
        let count = input.count(u) as f32;
        let g = &mut g[(neuron - owned.start) as usize];
        *g = count.mul_add(input.weight_ns, *g);
    }
}

/// Add the spike-generator input due in `step`.
pub fn spikes(
    input: &SpikeInput,
    targets: &Range<u32>,
    step: u64,
    owned: &Range<u32>,
    g: &mut [f32],
) {
    if let Ok(i) = input.events.binary_search_by_key(&step, |e| e.0) {
        let weight = input.events[i].1;
        for neuron in intersect(targets, owned) {
            g[(neuron - owned.start) as usize] += weight;
        }
    }
}

/// Recompute `I_stim` of every neuron that a current generator targets: the sum, in stimulus
/// order, of the amplitudes set at the end of `step`. Called only at steps where some amplitude
/// changes.
pub fn currents(stimuli: &[Stimulus], step: u64, owned: &Range<u32>, i_stim: &mut [f32]) {
    let current_inputs = || {
        stimuli.iter().filter_map(|s| match &s.input {
            StimulusInput::Current(c) => Some((s, c)),
            _ => None,
        })
    };
    for (s, _) in current_inputs() {
        for neuron in intersect(&s.targets, owned) {
            i_stim[(neuron - owned.start) as usize] = 0.0;
        }
    }
    for (s, c) in current_inputs() {
        let amplitude = c.amplitude_at(step);
        for neuron in intersect(&s.targets, owned) {
            i_stim[(neuron - owned.start) as usize] += amplitude;
        }
    }
}
