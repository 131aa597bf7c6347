// Shared by every kernel: what the simulation kernels share (structs, bind groups 0 and 1).
// Prepended, after shared/util.wgsl, to each simulation kernel by src/backend/gpu/pipelines.rs.
//
// Structs here have Rust twins in src/backend/gpu/layout.rs (and `Derived` in
// src/model/iaf_cond_exp.rs): keep them in sync. tests/shaders.rs checks every size with naga.
//
// Bind groups of every simulation kernel:
//   group 0: the step being computed (uniform, one 256-byte slot per step, dynamic offset);
//   group 1: the network state shared by all kernels (below);
//   group 2: what one dispatch works on (a population, a stimulus, a projection chunk, a probe).

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
    // Smallest neuron whose fixed-point input overflowed (came out negative), or NO_FAULT.
    overflow_neuron: atomic<u32>,
    pad0: u32,
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

