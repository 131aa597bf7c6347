//! Stage 4, CPU twin of `shaders/propagate.wgsl`: push the spikes of one step along their CSR rows
//! into the delay rings, as fixed-point integers. Integer addition is associative, so the result
//! does not depend on the order of the spikes or the threads. Additions wrap: the scale is chosen
//! so that they cannot overflow, and `neuron_update` reports a negative sum should one ever do.
//!
//! With several threads each one owns a contiguous range of target neurons and walks every spike,
//! delivering only to its own targets (rows are sorted by target, so that is one sub-range per
//! row): no atomics and no shared cache lines.

use std::ops::Range;

use crate::network::{Csr, PerSynapse, RowDrawer};
use crate::rng::Philox;

/// The delay ring of one receptor for the neurons a thread owns.
pub struct RingView<'a> {
    /// `slots` slots of `len` neurons each.
    pub ring: &'a mut [i32],
    /// Global index of the ring's first neuron.
    pub first_neuron: u32,
    pub len: usize,
    pub slots: u32,
}

/// Synapses out of the source population being propagated, as a thread sees them.
pub struct Outgoing<'a> {
    pub csr: &'a Csr,
    /// Added to a row's targets to give the global neuron index: the target population's first
    /// neuron, or 0 where the targets are global indices already (merged rows).
    pub target_offset: u32,
    /// The targets this thread owns, as the rows number them.
    pub targets_owned: Range<u32>,
    /// Whether every target of every row is owned (no row needs trimming).
    pub whole_rows: bool,
}

/// Deliver the spikes `sources` (global neuron ids of the projection's source population,
/// starting at global index `source_offset`; increasing) emitted in step `step`, along `o`.
pub fn propagate(
    o: &Outgoing<'_>,
    source_offset: u32,
    sources: &[u32],
    step: u64,
    ring: &mut RingView<'_>,
) {
    let csr = o.csr;
    // Ring index of target t: t + shift, computed modulo 2^32 (the true value lies in 0..len
    // because t is one of the owned targets).
    let shift = o.target_offset.wrapping_sub(ring.first_neuron);
    let len = ring.len;
    let slot_start = slot_starts(step, ring.slots, len);
    for (i, &s) in sources.iter().enumerate() {
        // Rows of later spikes are far apart in memory: fetch them while this one is delivered
        // (offsets 2 x PREFETCH_AHEAD ahead, the whole row PREFETCH_AHEAD ahead).
        if let Some(&ahead) = sources.get(i + 2 * PREFETCH_AHEAD) {
            prefetch(&csr.row_offsets[(ahead - source_offset) as usize]);
        }
        if let Some(&ahead) = sources.get(i + PREFETCH_AHEAD) {
            let row = csr.row((ahead - source_offset) as usize);
            // One prefetch per 64-byte line of targets, at most 16 lines (1,024 bytes).
            for at in row.step_by(16).take(16) {
                prefetch(&csr.targets[at]);
            }
        }
        let row = csr.row((s - source_offset) as usize);
        let row = if o.whole_rows {
            row
        } else {
            let targets = &csr.targets[row.clone()];
            let lo = targets.partition_point(|&t| t < o.targets_owned.start);
            let hi = targets.partition_point(|&t| t < o.targets_owned.end);
            row.start + lo..row.start + hi
        };
        match (&csr.weights, &csr.delays) {
            (&PerSynapse::Constant(w), &PerSynapse::Constant(d)) => {
                let start = slot_start(d);
                let slot = &mut ring.ring[start..start + len];
                for &t in &csr.targets[row] {
                    let entry = &mut slot[t.wrapping_add(shift) as usize];
                    *entry = entry.wrapping_add(w);
                }
            }
            (weights, delays) => {
                for j in row {
                    let at =
                        slot_start(delays.get(j)) + csr.targets[j].wrapping_add(shift) as usize;
                    ring.ring[at] = ring.ring[at].wrapping_add(weights.get(j));
                }
            }
        }
    }
}

/// The start in a ring of `slots` slots of `len` entries of the slot a spike of step `step`
/// reaches after `delay` steps (below `slots`): a division per step, none per spike.
fn slot_starts(step: u64, slots: u32, len: usize) -> impl Fn(u16) -> usize {
    let now = (step % u64::from(slots)) as u32;
    move |delay: u16| {
        let slot = now + u32::from(delay);
        let slot = if slot >= slots { slot - slots } else { slot };
        slot as usize * len
    }
}

/// Like [`propagate`] for procedural synapses: the row of each spiking source is drawn again
/// (`RowDrawer::row_targets`, the same targets a stored row holds) into `scratch`.
#[allow(clippy::too_many_arguments)]
pub fn propagate_procedural(
    drawer: &RowDrawer,
    rng: &Philox,
    source_offset: u32,
    target_offset: u32,
    sources: &[u32],
    step: u64,
    targets_owned: Range<u32>,
    ring: &mut RingView<'_>,
    scratch: &mut Vec<u32>,
) {
    let rule = &drawer.rule;
    let shift = target_offset.wrapping_sub(ring.first_neuron);
    let start = slot_starts(step, ring.slots, ring.len)(rule.delay);
    let slot = &mut ring.ring[start..start + ring.len];
    for &s in sources {
        scratch.clear();
        drawer.row_targets(rng, s - source_offset, targets_owned.clone(), scratch);
        for &t in scratch.iter() {
            if targets_owned.contains(&t) {
                let entry = &mut slot[t.wrapping_add(shift) as usize];
                *entry = entry.wrapping_add(rule.weight);
            }
        }
    }
}

/// How many spikes ahead rows are prefetched.
const PREFETCH_AHEAD: usize = 4;

/// A hint to bring the cache line holding `value` closer; no effect on the result.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
