// Shared by every kernel: prepended to each shader file by src/backend/gpu/pipelines.rs.
//
// Structs here have Rust twins in src/backend/gpu/layout.rs (and `Derived` in
// src/model/iaf_cond_exp.rs): keep them in sync. tests/shaders.rs checks every size with naga.
//
// Bind groups of every kernel:
//   group 0: the step being computed (uniform, one 256-byte slot per step, dynamic offset);
//   group 1: the network state shared by all kernels (below);
//   group 2: what one dispatch works on (a population, a stimulus, a projection chunk, a probe).

const WORKGROUP_SIZE: u32 = 64u;
// `Control.fault_neuron` when every state is finite.
const NO_FAULT: u32 = 0xffffffffu;

// The step k, covering (k h, (k+1) h]. Twin: StepParams.
struct StepParams {
    step_lo: u32,
    step_hi: u32,
    // k mod ring_slots: the delay-ring slot due in this step.
    slot: u32,
    // k minus the first step of this submission.
    batch_step: u32,
}

// Constants of the run. Twin: RunParams.
struct RunParams {
    n_neurons: u32,
    ring_slots: u32,
    n_populations: u32,
    // Capacity of `recorded` [spikes].
    record_capacity: u32,
    // Philox key: the run's seed.
    key0: u32,
    key1: u32,
    pad0: u32,
    pad1: u32,
}

// Progress and faults, read back after every submission. Twin: Control.
struct Control {
    // The next step to compute; a kernel of another step does nothing. A submission that halts
    // early thereby turns the already queued next submission into a no-op.
    next_step_lo: u32,
    next_step_hi: u32,
    // Set when the spike record cannot hold another step, or a state became non-finite.
    halted: u32,
    // Steps completed in this submission.
    steps_done: u32,
    // Spikes recorded in this submission.
    record_count: atomic<u32>,
    // Smallest neuron whose state became non-finite, or NO_FAULT.
    fault_neuron: atomic<u32>,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> step: StepParams;

@group(1) @binding(0) var<uniform> run: RunParams;
@group(1) @binding(1) var<storage, read_write> control: Control;
// Neuron state, structure of arrays, by global neuron index.
@group(1) @binding(2) var<storage, read_write> v_m: array<f32>;
@group(1) @binding(3) var<storage, read_write> g_ex: array<f32>;
@group(1) @binding(4) var<storage, read_write> g_in: array<f32>;
@group(1) @binding(5) var<storage, read_write> refractory: array<i32>;
@group(1) @binding(6) var<storage, read_write> i_stim: array<f32>;
// Delay rings per receptor, fixed point: slot s of neuron i at s * n_neurons + i.
@group(1) @binding(7) var<storage, read_write> ring_ex: array<atomic<i32>>;
@group(1) @binding(8) var<storage, read_write> ring_in: array<atomic<i32>>;
// Spikes of this step: population p's at [offset_p, offset_p + spike_counts[p]).
@group(1) @binding(9) var<storage, read_write> spikes: array<u32>;
@group(1) @binding(10) var<storage, read_write> spike_counts: array<atomic<u32>>;
// Every spike of the submission, step after step; step_ends[b] = record_count after batch step b.
@group(1) @binding(11) var<storage, read_write> recorded: array<u32>;
@group(1) @binding(12) var<storage, read_write> step_ends: array<u32>;

// Whether this step is the one to compute (see Control.next_step).
fn step_is_live() -> bool {
    return control.halted == 0u && control.next_step_lo == step.step_lo
        && control.next_step_hi == step.step_hi;
}

// Index of this workgroup in a 2-D grid (beyond 65,535 workgroups per dimension).
fn workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// High 32 bits of the 64-bit product a * b, from 16-bit halves (WGSL has no 64-bit integers).
fn mul_hi(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + lo_hi;
    return a_hi * b_hi + (hi_lo >> 16u) + (cross >> 16u);
}

// Philox4x32-10 (Salmon et al. 2011); twin: src/rng.rs, same words bit for bit.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let hi0 = mul_hi(0xD2511F53u, c.x);
        let lo0 = 0xD2511F53u * c.x;
        let hi1 = mul_hi(0xCD9E8D57u, c.z);
        let lo1 = 0xCD9E8D57u * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}
