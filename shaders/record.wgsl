// Stage 3: state samples at the end of the step, for one probe. CPU twin:
// src/backend/cpu/record.rs.

// Twin: ProbeParams.
struct Probe {
    // Where the probe's neurons (global indices) start in `probe_neurons`, and how many.
    neurons_offset: u32,
    width: u32,
    // 0: V_m, 1: g_ex, 2: g_in.
    variable: u32,
    interval: u32,
    // Batch step of the first sample in this submission (written before each submission).
    first_batch_step: u32,
    // Where this probe's rows start in `samples` [words].
    samples_offset: u32,
    pad0: u32,
    pad1: u32,
}

@group(2) @binding(0) var<uniform> probe: Probe;
@group(2) @binding(1) var<storage, read> probe_neurons: array<u32>;
@group(2) @binding(2) var<storage, read_write> samples: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let j = workgroup_index(wid, nwg) * WORKGROUP_SIZE + lid;
    if (j >= probe.width) {
        return;
    }
    let i = probe_neurons[probe.neurons_offset + j];
    var value = v_m[i];
    if (probe.variable == 1u) {
        value = g_ex[i];
    } else if (probe.variable == 2u) {
        value = g_in[i];
    }
    let row = (step.batch_step - probe.first_batch_step) / probe.interval;
    samples[probe.samples_offset + row * probe.width + j] = value;
}
