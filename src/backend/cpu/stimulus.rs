//! Stage 2, CPU twin of `shaders/stimulus.wgsl`: input from devices due this step, applied after
//! the neuron update in stimulus order.

use std::ops::Range;

use crate::network::{PoissonInput, SpikeInput, Stimulus, StimulusInput};
use multiversion::multiversion;

use crate::rng::Philox;

/// Intersection of two ranges (empty when disjoint).
pub fn intersect(a: &Range<u32>, b: &Range<u32>) -> Range<u32> {
    a.start.max(b.start)..a.end.min(b.end).max(a.start.max(b.start))
}

/// Add the Poisson spikes due in `step` to the conductance `g` of the neurons `owned` (global
/// ids; `g[0]` is neuron `owned.start`). One Philox word per neuron and step, computed for a
/// block of neurons at a time so that the generator vectorises across them.
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
    let neurons = intersect(targets, owned);
    let g = &mut g[(neurons.start - owned.start) as usize..(neurons.end - owned.start) as usize];
    poisson_block(input, rng.key(), step, neurons.start, g);
}

/// Words per Philox block.
const LANES: usize = 16;

#[multiversion(targets = "simd")]
fn poisson_block(input: &PoissonInput, key: [u32; 2], step: u64, first_neuron: u32, g: &mut [f32]) {
    let mut words = [0u32; LANES];
    let no_spike = input.count_thresholds.first().copied().unwrap_or(u32::MAX);
    for (block, g) in g.chunks_mut(LANES).enumerate() {
        let first = first_neuron + (block * LANES) as u32;
        first_words(key, input.stream, step, first, &mut words);
        for (g, &u) in g.iter_mut().zip(&words) {
            // Most draws are below the first threshold: no spike.
            let count = if u < no_spike {
                0.0
            } else {
                input.count(u) as f32
            };
            *g = count.mul_add(input.weight_ns, *g);
        }
    }
}

/// Word 0 of Philox(counter = [step lo, step hi, first + i, stream], key) for i in 0..LANES, the
/// rounds of all lanes interleaved (the same numbers as `Philox::words`, vectorised).
#[inline(always)]
fn first_words(key: [u32; 2], stream: u32, step: u64, first: u32, out: &mut [u32; LANES]) {
    let mut c0 = [step as u32; LANES];
    let mut c1 = [(step >> 32) as u32; LANES];
    let mut c2: [u32; LANES] = std::array::from_fn(|i| first.wrapping_add(i as u32));
    let mut c3 = [stream; LANES];
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k = [
                k[0].wrapping_add(0x9E37_79B9),
                k[1].wrapping_add(0xBB67_AE85),
            ];
        }
        for l in 0..LANES {
            let p0 = u64::from(0xD251_1F53u32) * u64::from(c0[l]);
            let p1 = u64::from(0xCD9E_8D57u32) * u64::from(c2[l]);
            let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
            let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
            c0[l] = hi1 ^ c1[l] ^ k[0];
            c1[l] = lo1;
            c2[l] = hi0 ^ c3[l] ^ k[1];
            c3[l] = lo0;
        }
    }
    *out = c0;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_words_equal_philox() {
        let rng = Philox::new(0x1234_5678_9abc_def0);
        let mut words = [0u32; LANES];
        for step in [0u64, 7, 1 << 33] {
            first_words(rng.key(), 0x0500_0003, step, 4_000_000_000, &mut words);
            for (i, &w) in words.iter().enumerate() {
                let neuron = 4_000_000_000u32.wrapping_add(i as u32);
                assert_eq!(w, rng.words(0x0500_0003, neuron, step)[0]);
            }
        }
    }
}
