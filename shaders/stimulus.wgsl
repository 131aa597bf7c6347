// Stage 2: input from devices due in this step, dispatched after the neuron update in stimulus
// order. CPU twin: src/backend/cpu/stimulus.rs.

// Twin: StimulusParams.
struct Stimulus {
    // Global index of the first target and number of targets.
    first: u32,
    n: u32,
    // 0: g_ex, 1: g_in.
    receptor: u32,
    // Philox stream word (poisson).
    stream: u32,
    // Where this stimulus's words start in `table`, and how many entries it has.
    table_offset: u32,
    table_len: u32,
    // Weight per spike [nS] (poisson).
    weight: f32,
    pad0: u32,
}

@group(2) @binding(0) var<uniform> stim: Stimulus;
// Per stimulus: poisson count thresholds; spike-train events (step_lo, step_hi, weight bits);
// for `current`, descriptors (first, end, changes offset, changes count) and then changes
// (step_lo, step_hi, amplitude bits).
@group(2) @binding(1) var<storage, read> table: array<u32>;

fn target_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return workgroup_index(wid, nwg) * WORKGROUP_SIZE + lid;
}

// g += count * weight, fused as on the CPU.
fn add_conductance(i: u32, count: f32, weight: f32) {
    if (stim.receptor == 0u) {
        g_ex[i] = fma(count, weight, g_ex[i]);
    } else {
        g_in[i] = fma(count, weight, g_in[i]);
    }
}

// Whether (lo, hi) <= the current step, as 64-bit numbers.
fn at_or_before_step(lo: u32, hi: u32) -> bool {
    return hi < step.step_hi || (hi == step.step_hi && lo <= step.step_lo);
}

// How many of the `n` (step lo, step hi, value) triples at `offset` in `table`, sorted by step,
// are at or before the current step (binary search).
fn triples_until_step(offset: u32, n: u32) -> u32 {
    var lo = 0u;
    var hi = n;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        let e = offset + 3u * mid;
        if (at_or_before_step(table[e], table[e + 1u])) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// poisson_generator: an independent train per target. The host dispatches it only in the
// stimulus's due window.
@compute @workgroup_size(WORKGROUP_SIZE)
fn poisson(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let t = target_index(wid, nwg, lid);
    if (t >= stim.n) {
        return;
    }
    let i = stim.first + t;
    // Word i mod 4 of the block of neurons i / 4 (the CPU draws a block for four neurons).
    let block = philox4x32_10(vec4<u32>(step.step_lo, step.step_hi, i / 4u, stim.stream), vec2<u32>(run.key0, run.key1));
    let u = block[i % 4u];
    // Spike count: the number of thresholds <= u (binary search).
    var lo = 0u;
    var hi = stim.table_len;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (table[stim.table_offset + mid] <= u) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    add_conductance(i, f32(lo), stim.weight);
}

// spike_generator: the same spikes to every target. The host dispatches it only at steps with an
// event; the event's weight is found by binary search on its step.
@compute @workgroup_size(WORKGROUP_SIZE)
fn spike_train(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let t = target_index(wid, nwg, lid);
    if (t >= stim.n) {
        return;
    }
    // Last event at or before this step.
    let lo = triples_until_step(stim.table_offset, stim.table_len);
    if (lo == 0u) {
        return;
    }
    let e = stim.table_offset + 3u * (lo - 1u);
    if (table[e] == step.step_lo && table[e + 1u] == step.step_hi) {
        add_conductance(stim.first + t, 1.0, bitcast<f32>(table[e + 2u]));
    }
}

// Amplitude [pA] of a current generator from the end of this step on.
fn amplitude_at_step(changes_offset: u32, n_changes: u32) -> f32 {
    let lo = triples_until_step(changes_offset, n_changes);
    if (lo == 0u) {
        return 0.0;
    }
    return bitcast<f32>(table[changes_offset + 3u * (lo - 1u) + 2u]);
}

// Current generators: I_stim of every targeted neuron becomes the sum, in stimulus order, of the
// amplitudes set at the end of this step. Dispatched over the union of their targets, only at
// steps where an amplitude changes. `stim.table_len` counts the current generators.
@compute @workgroup_size(WORKGROUP_SIZE)
fn current(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let t = target_index(wid, nwg, lid);
    if (t >= stim.n) {
        return;
    }
    let i = stim.first + t;
    var sum = 0.0;
    var covered = false;
    for (var c = 0u; c < stim.table_len; c++) {
        let desc = stim.table_offset + 4u * c;
        if (i >= table[desc] && i < table[desc + 1u]) {
            covered = true;
            sum = sum + amplitude_at_step(table[desc + 2u], table[desc + 3u]);
        }
    }
    if (covered) {
        i_stim[i] = sum;
    }
}
