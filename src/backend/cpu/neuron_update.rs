//! Stage 1, CPU twin of `shaders/neuron_update.wgsl`: one step of every neuron of a contiguous
//! range of one population.
//!
//! The loop is branch-free (the model's `step` uses selects), writes only the state arrays, and
//! leaves spikes as flags that a second, cheap pass turns into a list: LLVM vectorises it. It is
//! compiled for several instruction sets and the best one is picked at run time, so one binary is
//! fast on any x86-64 and correct everywhere (every version computes the same bits: `mul_add` is
//! always fused). On CPUs with AVX-512 the same arithmetic runs as a hand-written loop
//! ([`avx512`]) that leaves one bit per neuron instead of a byte of flags.

#[cfg(target_arch = "x86_64")]
mod avx512;

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

impl<'a> NeuronSlice<'a> {
    /// The first `at` neurons, and the rest.
    #[cfg(target_arch = "x86_64")]
    fn split_at(self, at: usize) -> (NeuronSlice<'a>, NeuronSlice<'a>) {
        let (v_m, v_m_rest) = self.v_m.split_at_mut(at);
        let (g_ex, g_ex_rest) = self.g_ex.split_at_mut(at);
        let (g_in, g_in_rest) = self.g_in.split_at_mut(at);
        let (refractory, refractory_rest) = self.refractory.split_at_mut(at);
        let (i_stim, i_stim_rest) = self.i_stim.split_at(at.min(self.i_stim.len()));
        let (ring_ex, ring_ex_rest) = self.ring_ex.split_at_mut(at);
        let (ring_in, ring_in_rest) = self.ring_in.split_at_mut(at);
        let has_current = self.has_current;
        (
            NeuronSlice {
                v_m,
                g_ex,
                g_in,
                refractory,
                i_stim,
                has_current,
                ring_ex,
                ring_in,
            },
            NeuronSlice {
                v_m: v_m_rest,
                g_ex: g_ex_rest,
                g_in: g_in_rest,
                refractory: refractory_rest,
                i_stim: i_stim_rest,
                has_current,
                ring_ex: ring_ex_rest,
                ring_in: ring_in_rest,
            },
        )
    }

    /// Whether neuron `i`'s state is finite; the one test of the three (a sum of finite state
    /// variables is finite, short of values near f32::MAX, which are broken anyway; a NaN or an
    /// infinity makes it not).
    #[inline(always)]
    fn finite(v_m: f32, g_ex: f32, g_in: f32) -> bool {
        (v_m + g_ex + g_in).is_finite()
    }
}

/// Scratch space of [`update`], kept between steps.
#[derive(Default)]
pub struct Scratch {
    /// A byte of flags per neuron (the portable loop).
    flags: Vec<u8>,
    /// A bit per neuron: spiked, and input overflowed (the AVX-512 loop).
    #[cfg(target_arch = "x86_64")]
    spiked: Vec<u64>,
    #[cfg(target_arch = "x86_64")]
    overflow: Vec<u64>,
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
/// `spikes`, in increasing order, and returns the first neuron that faulted, if any.
pub fn update(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: NeuronSlice<'_>,
    index_offset: u32,
    scratch: &mut Scratch,
    spikes: &mut Vec<u32>,
) -> Option<Fault> {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        let whole = s.v_m.len() / avx512::LANES * avx512::LANES;
        let (mut head, tail) = s.split_at(whole);
        // SAFETY: the CPU has the features (`available`).
        let fault =
            unsafe { update_avx512(d, inv_scale, &mut head, index_offset, scratch, spikes) };
        if tail.v_m.is_empty() {
            return fault;
        }
        let tail_offset = index_offset + whole as u32;
        let tail_fault = update_portable(d, inv_scale, tail, tail_offset, scratch, spikes);
        return fault.or(tail_fault);
    }
    update_portable(d, inv_scale, s, index_offset, scratch, spikes)
}

/// [`update`] by the AVX-512 loop, for a multiple of 16 neurons.
///
/// # Safety
/// The CPU must have AVX-512F and FMA (`avx512::available`).
#[cfg(target_arch = "x86_64")]
unsafe fn update_avx512(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: &mut NeuronSlice<'_>,
    index_offset: u32,
    scratch: &mut Scratch,
    spikes: &mut Vec<u32>,
) -> Option<Fault> {
    let n = s.v_m.len();
    if n == 0 {
        return None;
    }
    let words = n.div_ceil(64);
    for bits in [&mut scratch.spiked, &mut scratch.overflow] {
        // Every word is overwritten: grow only, never clear (populations of different sizes
        // share the scratch).
        if bits.len() < words {
            bits.resize(words, 0);
        }
        // The vectors write 16 bits each: clear the last word's bits past n.
        bits[words - 1] = 0;
    }
    let spiked: &mut [u16] = bytemuck::cast_slice_mut(&mut scratch.spiked[..words]);
    let overflow: &mut [u16] = bytemuck::cast_slice_mut(&mut scratch.overflow[..words]);
    // SAFETY: the caller's guarantee; n is a multiple of 16.
    let faulted = unsafe { avx512::update(d, inv_scale, s, spiked, overflow) };
    // Bit j of word w is neuron 64 w + j (16-bit pieces, little-endian, in order).
    for (w, &word) in scratch.spiked[..words].iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            spikes.push(index_offset + (64 * w) as u32 + bits.trailing_zeros());
            bits &= bits - 1;
        }
    }
    if !faulted {
        return None;
    }
    // Rare, and the end of the run: the first neuron whose input overflowed or whose state is
    // not finite, as the portable loop's flags would say.
    let overflowed = |i: usize| scratch.overflow[i / 64] >> (i % 64) & 1 != 0;
    let i =
        (0..n).find(|&i| overflowed(i) || !NeuronSlice::finite(s.v_m[i], s.g_ex[i], s.g_in[i]))?;
    Some(classify(s, i, index_offset))
}

/// [`update`] by the portable loop.
fn update_portable(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: NeuronSlice<'_>,
    index_offset: u32,
    scratch: &mut Scratch,
    spikes: &mut Vec<u32>,
) -> Option<Fault> {
    let n = s.v_m.len();
    let flags = &mut scratch.flags;
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
    Some(classify(
        &s,
        (fault_at - index_offset) as usize,
        index_offset,
    ))
}

/// The fault of neuron `i` of `s`, flagged after its update: a state that is not finite says
/// which of the two.
fn classify(s: &NeuronSlice<'_>, i: usize, index_offset: u32) -> Fault {
    let neuron = index_offset + i as u32;
    if NeuronSlice::finite(s.v_m[i], s.g_ex[i], s.g_in[i]) {
        Fault::InputOverflow(neuron)
    } else {
        Fault::NonFinite(neuron)
    }
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
                let fault = !NeuronSlice::finite(r.v_m, r.g_ex, r.g_in) | overflow;
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

    /// The state of `n` neurons and their input, owned (a `NeuronSlice` borrows it).
    #[derive(Clone, Debug, PartialEq)]
    struct State {
        v_m: Vec<f32>,
        g_ex: Vec<f32>,
        g_in: Vec<f32>,
        refractory: Vec<i32>,
        i_stim: Vec<f32>,
        ring_ex: Vec<i32>,
        ring_in: Vec<i32>,
    }

    impl State {
        /// Neurons below, at and above threshold, refractory or not, with and without input,
        /// drawn from `rng`'s stream `stream`.
        fn random(n: usize, rng: &crate::rng::Philox, stream: u32) -> State {
            let mut words = (0..).flat_map(|i| rng.words(stream, 0, i));
            let mut uniform = move |lo: f32, hi: f32| {
                lo + (hi - lo) * (words.next().expect("endless") >> 8) as f32 / (1 << 24) as f32
            };
            let mut s = State {
                v_m: (0..n).map(|_| uniform(-70.0, -45.0)).collect(),
                g_ex: (0..n).map(|_| uniform(0.0, 60.0)).collect(),
                g_in: (0..n).map(|_| uniform(0.0, 200.0)).collect(),
                refractory: (0..n).map(|_| uniform(0.0, 3.0) as i32).collect(),
                i_stim: (0..n).map(|_| uniform(-300.0, 900.0)).collect(),
                ring_ex: (0..n).map(|_| uniform(0.0, 2e6) as i32).collect(),
                ring_in: (0..n).map(|_| uniform(0.0, 2e6) as i32).collect(),
            };
            // Neuron 1 lands exactly on the threshold in its first step (`coba_neuron`).
            if n > 3 {
                s.v_m[1] = THRESHOLD_CASE.0;
                s.g_ex[1] = THRESHOLD_CASE.1;
                s.g_in[1] = 0.0;
                s.refractory[1] = 0;
                s.ring_ex[1] = 0;
                s.ring_in[1] = 0;
            }
            s
        }

        fn slice(&mut self, has_current: bool) -> NeuronSlice<'_> {
            NeuronSlice {
                v_m: &mut self.v_m,
                g_ex: &mut self.g_ex,
                g_in: &mut self.g_in,
                refractory: &mut self.refractory,
                i_stim: &self.i_stim,
                has_current,
                ring_ex: &mut self.ring_ex,
                ring_in: &mut self.ring_in,
            }
        }

        /// Bit patterns, so that NaNs compare equal to themselves.
        fn bits(&self) -> Vec<Vec<u32>> {
            let f = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect();
            let i = |v: &[i32]| v.iter().map(|&x| x as u32).collect();
            vec![
                f(&self.v_m),
                f(&self.g_ex),
                f(&self.g_in),
                i(&self.refractory),
                i(&self.ring_ex),
                i(&self.ring_in),
            ]
        }
    }

    /// V_m and g_ex of a neuron that rises towards the threshold without reaching it in a step
    /// (no stage of RK4 is clamped), without current or input.
    const THRESHOLD_CASE: (f32, f32) = (-51.0, 20.0);

    /// COBA's neuron, refractory for 3 steps (so that counts run out within a test's steps),
    /// with V_th moved to exactly where `THRESHOLD_CASE` ends its first step.
    fn coba_neuron() -> IafCondExpDerived {
        let p = crate::model::IafCondExpParams {
            t_ref: 0.3,
            ..crate::bench::spec::coba_params()
        };
        let mut d = IafCondExpDerived::new(&p, 0.1);
        let (v_m, g_ex) = THRESHOLD_CASE;
        let r = step_with_drive(&d, v_m, g_ex, 0.0, 0, d.drive_c(0.0), 0.0, 0.0);
        assert!(!r.spiked && r.v_m > v_m && r.v_m < d.v_th);
        d.v_th = r.v_m;
        d
    }

    /// Steps `state` `steps` times with [`update`] (the AVX-512 loop where the CPU has it) and
    /// with the portable loop, refilling the input each step; both must give the same bits, the
    /// same spikes and the same fault. Returns the fault of the first step.
    fn assert_same_as_portable(
        mut state: State,
        has_current: bool,
        steps: usize,
        offset: u32,
    ) -> Option<Fault> {
        let d = coba_neuron();
        let inv_scale = [1.0 / 65536.0, 1.0 / 16384.0];
        let mut portable = state.clone();
        let (mut scratch, mut scratch_portable) = (Scratch::default(), Scratch::default());
        let input = (state.ring_ex.clone(), state.ring_in.clone());
        let mut first_fault = None;
        for step in 0..steps {
            let (mut spikes, mut spikes_portable) = (Vec::new(), Vec::new());
            let fault = update(
                &d,
                inv_scale,
                state.slice(has_current),
                offset,
                &mut scratch,
                &mut spikes,
            );
            let fault_portable = update_portable(
                &d,
                inv_scale,
                portable.slice(has_current),
                offset,
                &mut scratch_portable,
                &mut spikes_portable,
            );
            let n = state.v_m.len();
            assert_eq!(state.bits(), portable.bits(), "n {n}, step {step}");
            assert_eq!(spikes, spikes_portable, "n {n}, step {step}");
            assert_eq!(fault, fault_portable, "n {n}, step {step}");
            if step == 0 {
                first_fault = fault_portable;
            }
            for s in [&mut state, &mut portable] {
                s.ring_ex.clone_from(&input.0);
                s.ring_in.clone_from(&input.1);
            }
        }
        first_fault
    }

    #[test]
    fn both_loops_compute_the_same_bits() {
        #[cfg(target_arch = "x86_64")]
        if !avx512::available() {
            eprintln!("this CPU has no AVX-512: only the portable loop ran");
        }
        let rng = crate::rng::Philox::new(7);
        // Whole vectors, a tail, a tail alone, none.
        for (stream, n) in [0, 5, 16, 37, 100, 4000].into_iter().enumerate() {
            for has_current in [false, true] {
                let state = State::random(n, &rng, stream as u32);
                assert_same_as_portable(state, has_current, 12, 1000);
            }
        }
    }

    #[test]
    fn both_loops_report_the_same_first_fault() {
        let rng = crate::rng::Philox::new(8);
        let quiet = |s: &mut State| {
            s.ring_ex.fill(0);
            s.ring_in.fill(0);
        };
        // A NaN, an infinity, an overflowed input, and finite values whose sum is not finite
        // (V_m held at V_reset by refractoriness, the conductances near f32::MAX); each alone,
        // then the overflow before the NaN, in a vector and in the tail.
        type Spoil = dyn Fn(&mut State, usize);
        type Expected = fn(u32) -> Fault;
        let non_finite = Fault::NonFinite;
        let faults: [(&Spoil, Expected); 4] = [
            (
                &|s, i| {
                    s.v_m[i] = f32::NAN;
                    s.refractory[i] = 0;
                },
                non_finite,
            ),
            (&|s, i| s.g_in[i] = f32::INFINITY, non_finite),
            (&|s, i| s.ring_ex[i] = i32::MIN + 5, Fault::InputOverflow),
            (
                &|s, i| {
                    s.g_ex[i] = 3e38;
                    s.g_in[i] = 3e38;
                    s.refractory[i] = 1;
                },
                non_finite,
            ),
        ];
        for at in [0, 21, 63, 64, 100, 131] {
            for (spoil, expected) in &faults {
                let mut state = State::random(133, &rng, at as u32);
                quiet(&mut state);
                spoil(&mut state, at);
                let fault = assert_same_as_portable(state, false, 2, 0);
                assert_eq!(fault, Some(expected(at as u32)));
            }
            let mut state = State::random(133, &rng, at as u32);
            quiet(&mut state);
            (faults[0].0)(&mut state, at + 1);
            (faults[2].0)(&mut state, at);
            let fault = assert_same_as_portable(state, false, 1, 0);
            assert_eq!(fault, Some(Fault::InputOverflow(at as u32)));
        }
    }
}
