//! Stage 1, CPU twin of `shaders/neuron_update.wgsl`: one step of every neuron of a contiguous
//! range of one population.
//!
//! The loop is branch-free (the model's `step` uses selects), writes only the state arrays, and
//! leaves spikes as flags that a second, cheap pass turns into a list: LLVM vectorises it. It is
//! compiled for several instruction sets and the best one is picked at run time, so one binary is
//! fast on any x86-64 and correct everywhere (every version computes the same bits: `mul_add` is
//! always fused).

use multiversion::multiversion;

use crate::model::iaf_cond_exp::{step_with_drive, IafCondExpDerived};

/// State of the neurons being updated, and the delay-ring slot due this step.
pub struct NeuronSlice<'a> {
    pub v_m: &'a mut [f32],
    pub g_ex: &'a mut [f32],
    pub g_in: &'a mut [f32],
    pub refractory: &'a mut [i32],
    pub i_stim: &'a [f32],
    /// Whether any current generator targets these neurons (else `i_stim` is all zero).
    pub has_current: bool,
    /// Fixed-point input due this step; read and cleared.
    pub ring_ex: &'a mut [i32],
    pub ring_in: &'a mut [i32],
}

/// Flag bits of one neuron after its update.
/// (u8: a byte per neuron to write and to scan.)
const SPIKED: u8 = 1;
/// A state variable became non-finite, or the input overflowed; which of the two, the state
/// after the step tells (a non-finite state is never cleared).
const FAULT: u8 = 2;

/// A neuron whose update went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// V_m, g_ex or g_in became NaN or infinite.
    NonFinite(u32),
    /// The fixed-point input due this step was negative: its sum overflowed.
    InputOverflow(u32),
}

impl Fault {
    pub fn neuron(self) -> u32 {
        match self {
            Fault::NonFinite(n) | Fault::InputOverflow(n) => n,
        }
    }
}

/// Update every neuron of `s`; appends the indices (plus `index_offset`) of those that spiked to
/// `spikes`, in increasing order, and returns the first neuron that faulted, if any. `flags` is
/// scratch space.
pub fn update(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: NeuronSlice<'_>,
    index_offset: u32,
    flags: &mut Vec<u8>,
    spikes: &mut Vec<u32>,
) -> Option<Fault> {
    let n = s.v_m.len();
    // Every flag is overwritten: grow only, never clear.
    if flags.len() < n {
        flags.resize(n, 0);
    }
    let flags = &mut flags[..n];
    update_all(
        d,
        inv_scale,
        s.v_m,
        s.g_ex,
        s.g_in,
        s.refractory,
        s.i_stim,
        s.has_current,
        s.ring_ex,
        s.ring_in,
        flags,
    );
    let fault_at = scan(flags, index_offset, spikes)?;
    let i = (fault_at - index_offset) as usize;
    Some(if (s.v_m[i] + s.g_ex[i] + s.g_in[i]).is_finite() {
        Fault::InputOverflow(fault_at)
    } else {
        Fault::NonFinite(fault_at)
    })
}

/// Spikes are rare (about 1 in 700 neuron-steps in COBA): OR 64 flags at a time (one or two
/// vectors) and look closer only where one is set. Returns the first neuron with a fault.
#[multiversion(targets = "simd")]
fn scan(flags: &[u8], index_offset: u32, spikes: &mut Vec<u32>) -> Option<u32> {
    let mut fault = None;
    let mut chunks = flags.chunks_exact(64);
    let mut base = index_offset;
    for chunk in &mut chunks {
        if chunk.iter().fold(0, |any, &f| any | f) != 0 {
            note_all(chunk, base, spikes, &mut fault);
        }
        base += 64;
    }
    note_all(chunks.remainder(), base, spikes, &mut fault);
    fault
}

/// The flags of a chunk, 8 at a time: skip zero words, and within a word go from one set byte
/// to the next (a branch per spike, not per neuron).
fn note_all(flags: &[u8], base: u32, spikes: &mut Vec<u32>, fault: &mut Option<u32>) {
    let mut words = flags.chunks_exact(8);
    let mut at = base;
    for word in &mut words {
        let mut w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        while w != 0 {
            let byte = w.trailing_zeros() / 8;
            note((w >> (8 * byte)) as u8, at + byte, spikes, fault);
            w &= !(0xff << (8 * byte));
        }
        at += 8;
    }
    for (i, &f) in words.remainder().iter().enumerate() {
        if f != 0 {
            note(f, at + i as u32, spikes, fault);
        }
    }
}

/// Record what the flags `f` of `neuron` say.
#[inline]
fn note(f: u8, neuron: u32, spikes: &mut Vec<u32>, fault: &mut Option<u32>) {
    if f & SPIKED != 0 {
        spikes.push(neuron);
    }
    if fault.is_none() && f & FAULT != 0 {
        *fault = Some(neuron);
    }
}

#[multiversion(targets = "simd")]
#[allow(clippy::too_many_arguments)]
fn update_all(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    v_m: &mut [f32],
    g_ex: &mut [f32],
    g_in: &mut [f32],
    refractory: &mut [i32],
    i_stim: &[f32],
    has_current: bool,
    ring_ex: &mut [i32],
    ring_in: &mut [i32],
    flags: &mut [u8],
) {
    let n = v_m.len();
    let (g_ex, g_in, refractory, i_stim) = (
        &mut g_ex[..n],
        &mut g_in[..n],
        &mut refractory[..n],
        &i_stim[..n],
    );
    let (ring_ex, ring_in, flags) = (&mut ring_ex[..n], &mut ring_in[..n], &mut flags[..n]);
    // Two loops, so that without current generators the loop reads no I_stim and computes the
    // drive once, not per neuron (4-5 % of a COBA step).
    macro_rules! update_loop {
        ($drive_c:expr) => {
            for i in 0..n {
                let overflow = (ring_ex[i] | ring_in[i]) < 0;
                let input_ex = ring_ex[i] as f32 * inv_scale[0];
                let input_in = ring_in[i] as f32 * inv_scale[1];
                let r = step_with_drive(
                    d,
                    v_m[i],
                    g_ex[i],
                    g_in[i],
                    refractory[i],
                    $drive_c(i),
                    input_ex,
                    input_in,
                );
                v_m[i] = r.v_m;
                g_ex[i] = r.g_ex;
                g_in[i] = r.g_in;
                refractory[i] = r.refractory;
                ring_ex[i] = 0;
                ring_in[i] = 0;
                // One test for the three: a sum of finite state variables is finite (short of
                // values near f32::MAX, which are broken anyway), a NaN or an infinity makes it
                // not.
                let fault = !(r.v_m + r.g_ex + r.g_in).is_finite() | overflow;
                flags[i] = u8::from(r.spiked) | (u8::from(fault) * FAULT);
            }
        };
    }
    if has_current {
        update_loop!(|i: usize| d.drive_c(i_stim[i]));
    } else {
        let drive_c = d.drive_c(0.0);
        update_loop!(|_| drive_c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_every_spike_and_the_first_fault() {
        // Spikes in full chunks, across word and chunk edges, and in the remainder.
        let spiked = [0usize, 7, 8, 63, 64, 65, 127, 130, 149];
        let mut flags = vec![0u8; 150];
        for &i in &spiked {
            flags[i] |= SPIKED;
        }
        flags[100] |= FAULT;
        flags[65] |= FAULT;
        flags[140] |= FAULT;
        let mut spikes = Vec::new();
        let fault = scan(&flags, 1000, &mut spikes);
        let expected: Vec<u32> = spiked.iter().map(|&i| 1000 + i as u32).collect();
        assert_eq!(spikes, expected);
        assert_eq!(fault, Some(1065));

        let mut spikes = Vec::new();
        assert_eq!(scan(&[0; 70], 0, &mut spikes), None);
        assert!(spikes.is_empty());
    }
}
