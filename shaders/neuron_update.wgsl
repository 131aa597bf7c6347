// Stage 1: one step of every neuron of one population. CPU twin:
// src/backend/cpu/neuron_update.rs with src/model/iaf_cond_exp.rs::step, operation for operation
// (every multiply-add is an explicit fma in both).

// Twin: IafCondExpDerived (src/model/iaf_cond_exp.rs).
struct Derived {
    inv_c_m: f32,
    neg_g_l_c: f32,
    rest_drive_c: f32,
    e_ex_c: f32,
    e_in_c: f32,
    v_th: f32,
    v_reset: f32,
    neg_inv_c_m: f32,
    decay_ex: f32,
    decay_ex_half: f32,
    decay_in: f32,
    decay_in_half: f32,
    h: f32,
    h_half: f32,
    h_sixth: f32,
    refractory_steps: i32,
}

// Twin: PopulationParams.
struct Population {
    derived: Derived,
    offset: u32,
    n: u32,
    index: u32,
    pad0: u32,
    inv_scale_ex: f32,
    inv_scale_in: f32,
    pad1: u32,
    pad2: u32,
}

@group(2) @binding(0) var<uniform> pop: Population;

// dV/dt = drive + neg_leak * min(V, V_th) for fixed conductances.
struct Rhs {
    drive: f32,
    neg_leak: f32,
}

fn rhs(drive_c: f32, ge: f32, gi: f32) -> Rhs {
    let d = pop.derived;
    return Rhs(fma(ge, d.e_ex_c, fma(gi, d.e_in_c, drive_c)), fma(ge + gi, d.neg_inv_c_m, d.neg_g_l_c));
}

fn dv_dt(r: Rhs, v: f32) -> f32 {
    let clamped = select(pop.derived.v_th, v, v < pop.derived.v_th);
    return fma(r.neg_leak, clamped, r.drive);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let local = workgroup_index(wid, nwg) * WORKGROUP_SIZE + lid;
    if (local >= pop.n) {
        return;
    }
    let i = pop.offset + local;
    let d = pop.derived;

    // Input due in this step, read from the ring and cleared.
    let ring_index = step.slot * run.n_neurons + i;
    let raw_ex = atomicLoad(&ring_ex[ring_index]);
    let raw_in = atomicLoad(&ring_in[ring_index]);
    atomicStore(&ring_ex[ring_index], 0);
    atomicStore(&ring_in[ring_index], 0);
    // Weights are positive: a negative sum has wrapped around.
    if (raw_ex < 0 || raw_in < 0) {
        atomicMin(&control.overflow_neuron, i);
    }
    let input_ex = f32(raw_ex) * pop.inv_scale_ex;
    let input_in = f32(raw_in) * pop.inv_scale_in;

    let v = v_m[i];
    let ge = g_ex[i];
    let gi = g_in[i];
    let r = refractory[i];
    let drive_c = fma(i_stim[i], d.inv_c_m, d.rest_drive_c);
    let ge_end = ge * d.decay_ex;
    let gi_end = gi * d.decay_in;
    let start = rhs(drive_c, ge, gi);
    let middle = rhs(drive_c, ge * d.decay_ex_half, gi * d.decay_in_half);
    let end = rhs(drive_c, ge_end, gi_end);

    // Classic RK4 with the conductances taken exactly at t, t + h/2 and t + h.
    let k1 = dv_dt(start, v);
    let k2 = dv_dt(middle, fma(d.h_half, k1, v));
    let k3 = dv_dt(middle, fma(d.h_half, k2, v));
    let k4 = dv_dt(end, fma(d.h, k3, v));
    var sum = fma(2.0, k2, k1);
    sum = fma(2.0, k3, sum);
    sum = sum + k4;
    let v_integrated = fma(d.h_sixth, sum, v);

    let is_refractory = r > 0;
    // A V_m that left the finite numbers is no spike: it stays, for the host to report.
    let spiked = !is_refractory && v_integrated >= d.v_th && is_finite(v_integrated);
    let v_new = select(v_integrated, d.v_reset, is_refractory || spiked);
    let r_new = select(select(0, d.refractory_steps, spiked), r - 1, is_refractory);
    let ge_new = ge_end + input_ex;
    let gi_new = gi_end + input_in;
    v_m[i] = v_new;
    g_ex[i] = ge_new;
    g_in[i] = gi_new;
    refractory[i] = r_new;

    if (!(is_finite(v_new) && is_finite(ge_new) && is_finite(gi_new))) {
        atomicMin(&control.fault_neuron, i);
    }
    if (spiked) {
        spikes[pop.offset + atomicAdd(&spike_counts[pop.index], 1u)] = i;
        // step_end halts the submission before a step could overflow the record.
        recorded[atomicAdd(&control.record_count, 1u)] = i;
    }
}
