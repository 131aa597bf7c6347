//! Rust twins of the structs in `shaders/*.wgsl`, uploaded as bytes. Field order, types and
//! padding must match the WGSL declarations; `tests/shaders.rs` checks every size with naga.

use bytemuck::{Pod, Zeroable};

use crate::model::IafCondExpDerived;

/// Uniform slots of per-step parameters are this far apart (the largest
/// `min_uniform_buffer_offset_alignment` of any adapter).
pub const STEP_PARAMS_STRIDE: u64 = 256;

/// Threads per workgroup of every kernel but `step_end` (`WORKGROUP_SIZE` in shared/util.wgsl).
pub const WORKGROUP_SIZE: u32 = 64;

/// `StepParams` in shared/state.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct StepParams {
    pub step_lo: u32,
    pub step_hi: u32,
    pub slot: u32,
    pub batch_step: u32,
}

/// `RunParams` in shared/state.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct RunParams {
    pub n_neurons: u32,
    pub ring_slots: u32,
    pub n_populations: u32,
    pub record_capacity: u32,
    pub key0: u32,
    pub key1: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// `Control` in shared/state.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Control {
    pub next_step_lo: u32,
    pub next_step_hi: u32,
    pub halted: u32,
    pub steps_done: u32,
    pub record_count: u32,
    pub fault_neuron: u32,
    pub overflow_neuron: u32,
    pub pad0: u32,
}

impl Control {
    /// The control block at the start of a submission: nothing done, no fault.
    pub fn reset() -> Control {
        Control {
            fault_neuron: NO_FAULT,
            overflow_neuron: NO_FAULT,
            ..Control::default()
        }
    }
}

/// Byte range of `Control` that the host resets before each submission: halted, steps_done,
/// record_count and the faults (next_step is left to the GPU).
pub const CONTROL_RESET_OFFSET: u64 = 8;

/// `NO_FAULT` in shared/state.wgsl.
pub const NO_FAULT: u32 = u32::MAX;

/// `Population` in neuron_update.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct PopulationParams {
    pub derived: IafCondExpDerived,
    pub offset: u32,
    pub n: u32,
    pub index: u32,
    pub pad0: u32,
    pub inv_scale_ex: f32,
    pub inv_scale_in: f32,
    pub pad1: u32,
    pub pad2: u32,
}

/// `Stimulus` in stimulus.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct StimulusParams {
    pub first: u32,
    pub n: u32,
    pub receptor: u32,
    pub stream: u32,
    pub table_offset: u32,
    pub table_len: u32,
    pub weight: f32,
    pub pad0: u32,
}

/// `Probe` in record.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ProbeParams {
    pub neurons_offset: u32,
    pub width: u32,
    pub variable: u32,
    pub interval: u32,
    pub first_batch_step: u32,
    pub samples_offset: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// `Projection` in propagate.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ProjectionParams {
    pub source_offset: u32,
    pub source_population: u32,
    pub target_offset: u32,
    pub receptor: u32,
    pub weight: i32,
    pub delay: u32,
    pub per_synapse_weights: u32,
    pub per_synapse_delays: u32,
    pub row_begin: u32,
    pub row_end: u32,
    pub synapse_begin: u32,
    pub row_kind: u32,
    pub row_length: u32,
    pub n_targets: u32,
    pub exclude_self: u32,
    pub stream: u32,
    /// Thresholds of a procedural pairwise_bernoulli rule (bound as its targets).
    pub table_length: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
}

/// `ProjectionParams::row_kind` of procedural rows.
pub const ROW_OUTDEGREE: u32 = 1;
pub const ROW_ALL_TO_ALL: u32 = 2;
pub const ROW_ONE_TO_ONE: u32 = 3;
pub const ROW_BERNOULLI: u32 = 4;

/// `Connect` in connect.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct ConnectParams {
    pub n_sources: u32,
    pub n_targets: u32,
    /// Draws per row (fixed_outdegree) or per target (fixed_indegree); pairs (fixed_total_number).
    pub k: u32,
    pub exclude_self: u32,
    pub stream: u32,
    pub key0: u32,
    pub key1: u32,
    pub row_begin: u32,
    pub row_end: u32,
    pub items: u32,
    /// Targets per segment of a pairwise_bernoulli row.
    pub segment: u32,
    /// Thresholds of a pairwise_bernoulli rule.
    pub table_length: u32,
    /// First synapse of each bound chunk, then the end of the last: CONNECT_CHUNKS + 1 used.
    pub chunk_starts: [u32; 12],
}

/// Synapse chunks one connect dispatch writes (targets0..targets7 in connect.wgsl).
pub const CONNECT_CHUNKS: usize = 8;

/// The WGSL struct name of each twin and its size in bytes, for the shader test.
pub fn struct_sizes() -> [(&'static str, usize); 9] {
    use std::mem::size_of;
    [
        ("StepParams", size_of::<StepParams>()),
        ("RunParams", size_of::<RunParams>()),
        ("Control", size_of::<Control>()),
        ("Derived", size_of::<IafCondExpDerived>()),
        ("Population", size_of::<PopulationParams>()),
        ("Stimulus", size_of::<StimulusParams>()),
        ("Probe", size_of::<ProbeParams>()),
        ("Projection", size_of::<ProjectionParams>()),
        ("Connect", size_of::<ConnectParams>()),
    ]
}
