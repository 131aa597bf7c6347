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
/// ids; `g[0]` is neuron `owned.start`). Neuron i draws word i mod 4 of the Philox block of
/// (stream, i / 4, step): one block for four neurons, computed for sixteen blocks at a time so
/// that the generator vectorises across them.
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

/// Philox blocks per call of `blocks`.
const LANES: usize = 16;

#[multiversion(targets = "simd")]
fn poisson_block(input: &PoissonInput, key: [u32; 2], step: u64, first_neuron: u32, g: &mut [f32]) {
    if g.is_empty() {
        return;
    }
    let first = first_neuron as usize;
    let end = first + g.len();
    let mut words = [0u32; 4 * LANES];
    let mut counts = [0.0f32; 4 * LANES];
    let mut block = first_neuron / 4;
    while (block as usize) * 4 < end {
        blocks(key, input.stream, step, block, &mut words);
        spike_counts(input, &words, &mut counts);
        // The targets among these blocks' neurons: a contiguous range.
        let base = block as usize * 4;
        let (lo, hi) = (base.max(first), (base + 4 * LANES).min(end));
        let counts = &counts[lo - base..hi - base];
        for (g, &count) in g[lo - first..hi - first].iter_mut().zip(counts) {
            *g = count.mul_add(input.weight_ns, *g);
        }
        block = block.wrapping_add(LANES as u32);
        if block == 0 {
            break;
        }
    }
}

/// Up to this many thresholds (Poisson means up to about 8 spikes per step) a count is the
/// number of thresholds at most its word, summed for all words at once (vectorised); beyond, a
/// binary search per word.
const SUMMED_THRESHOLDS: usize = 32;

/// `counts[j] = input.count(words[j])`, as floats.
#[inline(always)]
fn spike_counts(input: &PoissonInput, words: &[u32; 4 * LANES], counts: &mut [f32; 4 * LANES]) {
    let thresholds = &input.count_thresholds;
    if thresholds.len() <= SUMMED_THRESHOLDS {
        let mut n = [0u32; 4 * LANES];
        for &t in thresholds {
            for (n, &u) in n.iter_mut().zip(words) {
                *n += u32::from(t <= u);
            }
        }
        for (c, n) in counts.iter_mut().zip(n) {
            *c = n as f32;
        }
    } else {
        for (c, &u) in counts.iter_mut().zip(words) {
            *c = input.count(u) as f32;
        }
    }
}

/// The four words of Philox(counter = [step lo, step hi, first + l, stream], key) for the blocks
/// l in 0..LANES, word w of block l at `out[4 l + w]`: the same numbers as `Philox::words`, the
/// rounds of all blocks interleaved so that they vectorise.
#[inline(always)]
fn blocks(key: [u32; 2], stream: u32, step: u64, first: u32, out: &mut [u32; 4 * LANES]) {
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
    for l in 0..LANES {
        out[4 * l..4 * l + 4].copy_from_slice(&[c0[l], c1[l], c2[l], c3[l]]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectorised_blocks_equal_philox() {
        let rng = Philox::new(0x1234_5678_9abc_def0);
        let mut words = [0u32; 4 * LANES];
        for step in [0u64, 7, 1 << 33] {
            blocks(rng.key(), 0x0500_0003, step, 1_000_000_000, &mut words);
            for (j, &w) in words.iter().enumerate() {
                let block = 1_000_000_000u32 + (j / 4) as u32;
                assert_eq!(w, rng.words(0x0500_0003, block, step)[j % 4]);
            }
        }
    }

    #[test]
    fn poisson_input_uses_word_i_mod_4_of_block_i_div_4() {
        // The added conductance counts each draw's spikes. Means of 0.03 and 3 spikes per step
        // sum their thresholds, 20 searches its many.
        for (mean, summed) in [(0.03, true), (3.0, true), (20.0, false)] {
            let input = PoissonInput {
                stream: 0x0500_0001,
                receptor: crate::config::Receptor::Excitatory,
                weight_ns: 1.0,
                first_due_step: 0,
                end_due_step: 10,
                count_thresholds: crate::network::stimulus::poisson_thresholds(mean),
            };
            assert_eq!(input.count_thresholds.len() <= SUMMED_THRESHOLDS, summed);
            let rng = Philox::new(99);
            let mut spikes = 0.0;
            for step in 0..10 {
                // Neurons 5..75, owned 3..80: blocks that straddle both ends.
                let mut g = vec![0.0f32; 77];
                poisson(&input, &(5..75), &rng, step, &(3..80), &mut g);
                for (i, &value) in g.iter().enumerate() {
                    let neuron = 3 + i as u32;
                    let expected = if (5..75).contains(&neuron) {
                        let u = rng.words(input.stream, neuron / 4, step)[(neuron % 4) as usize];
                        input.count(u) as f32
                    } else {
                        0.0
                    };
                    assert_eq!(value, expected, "mean {mean}, step {step}, neuron {neuron}");
                    spikes += value;
                }
            }
            assert!(spikes > 0.0, "mean {mean}: no spike drawn");
        }
    }

    #[test]
    fn spike_counts_equal_the_binary_search_at_every_threshold() {
        for mean in [0.03, 3.0, 20.0] {
            let input = PoissonInput {
                stream: 0,
                receptor: crate::config::Receptor::Excitatory,
                weight_ns: 1.0,
                first_due_step: 0,
                end_due_step: 1,
                count_thresholds: crate::network::stimulus::poisson_thresholds(mean),
            };
            // Each threshold, and the words on either side of it.
            let words: Vec<u32> = input
                .count_thresholds
                .iter()
                .flat_map(|&t| [t.saturating_sub(1), t, t.saturating_add(1)])
                .chain([0, u32::MAX])
                .collect();
            for chunk in words.chunks(4 * LANES) {
                let mut w = [0u32; 4 * LANES];
                w[..chunk.len()].copy_from_slice(chunk);
                let mut counts = [0.0f32; 4 * LANES];
                spike_counts(&input, &w, &mut counts);
                for (&u, &c) in w.iter().zip(&counts) {
                    assert_eq!(c, input.count(u) as f32, "mean {mean}, word {u}");
                }
            }
        }
    }
}
