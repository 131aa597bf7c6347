//! Rust twins of the structs in `shaders/*.wgsl`, uploaded as bytes. Field order, types and
//! padding must match the WGSL declarations; `tests/shaders.rs` checks every size with naga.

use bytemuck::{Pod, Zeroable};

use crate::model::IafCondExpDerived;

/// Uniform slots of per-step parameters are this far apart (the largest
/// `min_uniform_buffer_offset_alignment` of any adapter).
pub const STEP_PARAMS_STRIDE: u64 = 256;

/// Threads per workgroup of every kernel but `step_end` (`WORKGROUP_SIZE` in common.wgsl).
pub const WORKGROUP_SIZE: u32 = 64;

/// `StepParams` in common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct StepParams {
    pub step_lo: u32,
    pub step_hi: u32,
    pub slot: u32,
    pub batch_step: u32,
}

/// `RunParams` in common.wgsl.
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

/// `Control` in common.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Control {
    pub next_step_lo: u32,
    pub next_step_hi: u32,
    pub halted: u32,
    pub steps_done: u32,
    pub record_count: u32,
    pub fault_neuron: u32,
    pub pad0: u32,
    pub pad1: u32,
}

/// Byte range of `Control` that the host resets before each submission: halted, steps_done,
/// record_count, fault_neuron (next_step is left to the GPU).
pub const CONTROL_RESET_OFFSET: u64 = 8;

/// `NO_FAULT` in common.wgsl.
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
    pub pad0: u32,
}

/// The WGSL struct name of each twin and its size in bytes, for the shader test.
pub fn struct_sizes() -> [(&'static str, usize); 8] {
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
    ]
}
