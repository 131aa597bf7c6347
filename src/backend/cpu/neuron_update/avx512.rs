//! The neuron update of `super::update_all` written out in AVX-512, for the x86-64 CPUs that have
//! it: 16 neurons per vector, one bit per neuron for spikes and input overflows.
//!
//! Why a second version of the loop: compiled from the portable code, the loop spends about a
//! fifth of its time turning comparison masks into a byte of flags per neuron, and the scan
//! that follows reads those bytes back. Here a spike is a bit of a mask stored as it is, a
//! non-finite state is summed into one accumulator per call, and a step of 16 neurons takes
//! about 22 cycles where the portable loop takes about 28 (measured on an AVX-512 AMD EPYC;
//! docs/benchmarks.md).
//!
//! It computes operation for operation what `model::iaf_cond_exp::step_with_drive` computes: the
//! same fused multiply-adds, products and sums, in the same order, so the bits are the same;
//! the tests of `super` compare the two on states that spike, sit in refractoriness, overflow
//! and go non-finite.

use std::arch::x86_64::*;

use crate::model::iaf_cond_exp::IafCondExpDerived;

use super::NeuronSlice;

/// Neurons per vector.
pub const LANES: usize = 16;

/// Whether this CPU can run [`update`].
pub fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma")
}

/// Update the neurons of `s`, a multiple of [`LANES`] of them. Bit j of `spiked[k]` is set if
/// neuron 16 k + j spiked, and of `overflow[k]` if its input overflowed. Returns whether any
/// neuron faulted: an overflow, or a state that is no longer finite (which neuron, the caller
/// finds from the state: faults are rare, and end the run).
///
/// # Safety
/// The CPU must have AVX-512F and FMA ([`available`]).
#[target_feature(enable = "avx512f,fma")]
pub unsafe fn update(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: &mut NeuronSlice<'_>,
    spiked: &mut [u16],
    overflow: &mut [u16],
) -> bool {
    let n = s.v_m.len();
    assert!(
        n.is_multiple_of(LANES),
        "a multiple of {LANES} neurons, not {n}"
    );
    assert!(
        s.g_ex.len() == n
            && s.g_in.len() == n
            && s.refractory.len() == n
            && s.ring_ex.len() == n
            && s.ring_in.len() == n
            && (!s.has_current || s.i_stim.len() == n),
        "state arrays of {n} neurons"
    );
    assert!(spiked.len() >= n / LANES && overflow.len() >= n / LANES);
    // SAFETY: the caller guarantees the features; every array holds n elements (above).
    unsafe {
        if s.has_current {
            vectors::<true>(d, inv_scale, s, spiked, overflow)
        } else {
            vectors::<false>(d, inv_scale, s, spiked, overflow)
        }
    }
}

/// The loop of [`update`]; `CURRENT`: whether to read I_stim (else it is zero).
///
/// # Safety
/// As [`update`], and every array of `s` holds `s.v_m.len()` elements, a multiple of LANES.
#[target_feature(enable = "avx512f,fma")]
unsafe fn vectors<const CURRENT: bool>(
    d: &IafCondExpDerived,
    inv_scale: [f32; 2],
    s: &mut NeuronSlice<'_>,
    spiked: &mut [u16],
    overflow: &mut [u16],
) -> bool {
    let all = _mm512_set1_ps;
    let (scale_ex, scale_in) = (all(inv_scale[0]), all(inv_scale[1]));
    let (decay_ex, decay_in) = (all(d.decay_ex), all(d.decay_in));
    let (decay_ex_half, decay_in_half) = (all(d.decay_ex_half), all(d.decay_in_half));
    let (e_ex_c, e_in_c) = (all(d.e_ex_c), all(d.e_in_c));
    let (neg_inv_c_m, neg_g_l_c) = (all(d.neg_inv_c_m), all(d.neg_g_l_c));
    let (inv_c_m, rest_drive_c) = (all(d.inv_c_m), all(d.rest_drive_c));
    let rest_drive = all(d.drive_c(0.0));
    let (v_th, v_reset, infinity) = (all(d.v_th), all(d.v_reset), all(f32::INFINITY));
    let (h, h_half, h_sixth, two) = (all(d.h), all(d.h_half), all(d.h_sixth), all(2.0));
    let refractory_steps = _mm512_set1_epi32(d.refractory_steps);
    let (zero, one) = (_mm512_setzero_si512(), _mm512_set1_epi32(1));
    // The sum of every neuron's `total` below: not finite if one of them is not (it may also
    // overflow without one being so; the caller then finds no fault).
    let mut finite_check = _mm512_setzero_ps();
    let mut any_overflow = 0u16;

    let v_m = s.v_m.as_mut_ptr();
    let g_ex = s.g_ex.as_mut_ptr();
    let g_in = s.g_in.as_mut_ptr();
    let refractory = s.refractory.as_mut_ptr().cast::<__m512i>();
    let ring_ex = s.ring_ex.as_mut_ptr().cast::<__m512i>();
    let ring_in = s.ring_in.as_mut_ptr().cast::<__m512i>();
    let i_stim = s.i_stim.as_ptr();
    for k in 0..s.v_m.len() / LANES {
        let at = k * LANES;
        // SAFETY: at + LANES <= n for every array (the caller's guarantee); unaligned loads and
        // stores.
        let (v, gex, gin, refr, rex, rin, drive) = unsafe {
            (
                _mm512_loadu_ps(v_m.add(at)),
                _mm512_loadu_ps(g_ex.add(at)),
                _mm512_loadu_ps(g_in.add(at)),
                _mm512_loadu_si512(refractory.add(k)),
                _mm512_loadu_si512(ring_ex.add(k)),
                _mm512_loadu_si512(ring_in.add(k)),
                if CURRENT {
                    _mm512_fmadd_ps(_mm512_loadu_ps(i_stim.add(at)), inv_c_m, rest_drive_c)
                } else {
                    rest_drive
                },
            )
        };
        let overflowed = _mm512_cmplt_epi32_mask(_mm512_or_si512(rex, rin), zero);
        let input_ex = _mm512_mul_ps(_mm512_cvtepi32_ps(rex), scale_ex);
        let input_in = _mm512_mul_ps(_mm512_cvtepi32_ps(rin), scale_in);

        // Rhs::new at t, t + h/2 and t + h.
        let gex_end = _mm512_mul_ps(gex, decay_ex);
        let gin_end = _mm512_mul_ps(gin, decay_in);
        let gex_mid = _mm512_mul_ps(gex, decay_ex_half);
        let gin_mid = _mm512_mul_ps(gin, decay_in_half);
        let rhs = |ge: __m512, gi: __m512| {
            (
                _mm512_fmadd_ps(ge, e_ex_c, _mm512_fmadd_ps(gi, e_in_c, drive)),
                _mm512_fmadd_ps(_mm512_add_ps(ge, gi), neg_inv_c_m, neg_g_l_c),
            )
        };
        let (start_drive, start_leak) = rhs(gex, gin);
        let (mid_drive, mid_leak) = rhs(gex_mid, gin_mid);
        let (end_drive, end_leak) = rhs(gex_end, gin_end);
        // Rhs::at: `if v < V_th { v } else { V_th }` is vminps(v, V_th), NaN included.
        let at_v = |drive, leak, v| _mm512_fmadd_ps(leak, _mm512_min_ps(v, v_th), drive);

        // RK4, as step_with_drive.
        let k1 = at_v(start_drive, start_leak, v);
        let k2 = at_v(mid_drive, mid_leak, _mm512_fmadd_ps(h_half, k1, v));
        let k3 = at_v(mid_drive, mid_leak, _mm512_fmadd_ps(h_half, k2, v));
        let k4 = at_v(end_drive, end_leak, _mm512_fmadd_ps(h, k3, v));
        let mut sum = _mm512_fmadd_ps(two, k2, k1);
        sum = _mm512_fmadd_ps(two, k3, sum);
        sum = _mm512_add_ps(sum, k4);
        let v_integrated = _mm512_fmadd_ps(h_sixth, sum, v);

        let is_refractory = _mm512_cmpgt_epi32_mask(refr, zero);
        let reached = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(!is_refractory, v_integrated, v_th);
        let spikes = _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(reached, v_integrated, infinity);
        let v_out = _mm512_mask_mov_ps(v_integrated, is_refractory | spikes, v_reset);
        let refr_out = _mm512_mask_mov_epi32(
            _mm512_maskz_sub_epi32(is_refractory, refr, one),
            spikes,
            refractory_steps,
        );
        let gex_out = _mm512_add_ps(gex_end, input_ex);
        let gin_out = _mm512_add_ps(gin_end, input_in);
        let total = _mm512_add_ps(_mm512_add_ps(v_out, gex_out), gin_out);
        finite_check = _mm512_add_ps(finite_check, total);
        any_overflow |= overflowed;

        // SAFETY: as the loads; k < n / LANES <= spiked.len(), overflow.len().
        unsafe {
            _mm512_storeu_ps(v_m.add(at), v_out);
            _mm512_storeu_ps(g_ex.add(at), gex_out);
            _mm512_storeu_ps(g_in.add(at), gin_out);
            _mm512_storeu_si512(refractory.add(k), refr_out);
            _mm512_storeu_si512(ring_ex.add(k), zero);
            _mm512_storeu_si512(ring_in.add(k), zero);
            *spiked.get_unchecked_mut(k) = spikes;
            *overflow.get_unchecked_mut(k) = overflowed;
        }
    }
    // x - x is 0 for a finite x and NaN otherwise.
    let nan_unless_finite = _mm512_sub_ps(finite_check, finite_check);
    any_overflow != 0
        || _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(nan_unless_finite, nan_unless_finite) != 0
}
