//! Shader modules, bind group layouts (written out, one comment per binding) and compute
//! pipelines. Each kernel file is compiled with `shaders/shared/util.wgsl` and the other shared
//! parts it uses (`KERNELS`) in front of it.

use std::num::NonZeroU64;

use super::layout::{
    ConnectParams, Control, PopulationParams, ProbeParams, ProjectionParams, RunParams, StepParams,
    StimulusParams,
};

/// Helpers of every kernel (Philox, grid indexing).
pub const SHARED_UTIL: &str = include_str!("../../../shaders/shared/util.wgsl");
/// Structs and bind groups 0 and 1 of the simulation kernels.
pub const SHARED_STATE: &str = include_str!("../../../shaders/shared/state.wgsl");
/// The walk of `pairwise_bernoulli` rows (drawn on the device, and procedural).
pub const SHARED_BERNOULLI: &str = include_str!("../../../shaders/shared/bernoulli.wgsl");

/// Every kernel file, by name: its source, and the shared parts it uses besides
/// `SHARED_UTIL`.
pub const KERNELS: [(&str, &str, &[&str]); 6] = [
    (
        "neuron_update",
        include_str!("../../../shaders/neuron_update.wgsl"),
        &[SHARED_STATE],
    ),
    (
        "stimulus",
        include_str!("../../../shaders/stimulus.wgsl"),
        &[SHARED_STATE],
    ),
    (
        "record",
        include_str!("../../../shaders/record.wgsl"),
        &[SHARED_STATE],
    ),
    (
        "propagate",
        include_str!("../../../shaders/propagate.wgsl"),
        &[SHARED_STATE, SHARED_BERNOULLI],
    ),
    (
        "step_end",
        include_str!("../../../shaders/step_end.wgsl"),
        &[SHARED_STATE],
    ),
    (
        "connect",
        include_str!("../../../shaders/connect.wgsl"),
        &[SHARED_BERNOULLI],
    ),
];

/// The full source of a kernel file: the shared parts it uses, then the kernel.
pub fn kernel_source(name: &str) -> String {
    let (_, kernel, shared) = KERNELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .unwrap_or_else(|| panic!("no shader named {name}"));
    let mut source = String::from(SHARED_UTIL);
    for part in *shared {
        source.push('\n');
        source.push_str(part);
    }
    source.push('\n');
    source.push_str(kernel);
    source
}

/// Layouts of the bind groups (see shared/state.wgsl for what each group holds).
pub struct Layouts {
    /// Group 0: `StepParams`, dynamic offset.
    pub step: wgpu::BindGroupLayout,
    /// Group 1: run constants, control, neuron state, rings, spikes, record.
    pub state: wgpu::BindGroupLayout,
    pub population: wgpu::BindGroupLayout,
    pub stimulus: wgpu::BindGroupLayout,
    pub probe: wgpu::BindGroupLayout,
    pub projection: wgpu::BindGroupLayout,
    /// Two projection chunks of one source population (`propagate_pair`).
    pub projection_pair: wgpu::BindGroupLayout,
    pub dispatch_args: wgpu::BindGroupLayout,
    /// Group 0 of connect.wgsl.
    pub connect: wgpu::BindGroupLayout,
}

/// Storage buffers `propagate_pair` binds: 12 of the state (group 1) and 4 per chunk (group 2).
/// `propagate` binds 16, which every adapter lifsim runs on offers.
pub const PAIR_STORAGE_BUFFERS: u32 = 20;

pub struct Pipelines {
    pub layouts: Layouts,
    pub neuron_update: wgpu::ComputePipeline,
    pub poisson: wgpu::ComputePipeline,
    pub spike_train: wgpu::ComputePipeline,
    pub current: wgpu::ComputePipeline,
    pub record: wgpu::ComputePipeline,
    pub dispatch_args: wgpu::ComputePipeline,
    pub propagate: wgpu::ComputePipeline,
    /// Only on adapters with [`PAIR_STORAGE_BUFFERS`] storage buffers per shader stage (the
    /// others propagate every chunk alone).
    pub propagate_pair: Option<wgpu::ComputePipeline>,
    pub propagate_procedural: wgpu::ComputePipeline,
    pub step_end: wgpu::ComputePipeline,
    pub outdegree_fill: wgpu::ComputePipeline,
    pub all_to_all_fill: wgpu::ComputePipeline,
    pub one_to_one_fill: wgpu::ComputePipeline,
    pub indegree: TwoPasses,
    pub total: TwoPasses,
    pub bernoulli: TwoPasses,
}

/// A connect kernel of a rule whose rows' lengths are drawn: it counts each row's synapses, then
/// draws them again into the rows.
pub struct TwoPasses {
    pub count: wgpu::ComputePipeline,
    pub fill: wgpu::ComputePipeline,
}

fn size_of<T>() -> Option<NonZeroU64> {
    NonZeroU64::new(std::mem::size_of::<T>() as u64)
}

fn uniform(
    binding: u32,
    min_size: Option<NonZeroU64>,
    dynamic: bool,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: min_size,
        },
        count: None,
    }
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    storage_sized(binding, read_only, NonZeroU64::new(4))
}

fn storage_sized(
    binding: u32,
    read_only: bool,
    min_size: Option<NonZeroU64>,
) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: min_size,
        },
        count: None,
    }
}

fn layout(
    device: &wgpu::Device,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries,
    })
}

impl Layouts {
    fn new(device: &wgpu::Device) -> Layouts {
        Layouts {
            step: layout(
                device,
                "step",
                &[
                    // StepParams of the step being computed; one 256-byte slot per step.
                    uniform(0, size_of::<StepParams>(), true),
                ],
            ),
            state: layout(
                device,
                "state",
                &[
                    // RunParams.
                    uniform(0, size_of::<RunParams>(), false),
                    // Control: next step, halt flag, record count, faults.
                    storage_sized(1, false, size_of::<Control>()),
                    // v_m, g_ex, g_in, refractory, i_stim: neuron state by global index.
                    storage(2, false),
                    storage(3, false),
                    storage(4, false),
                    storage(5, false),
                    storage(6, false),
                    // ring_ex, ring_in: fixed-point delay rings.
                    storage(7, false),
                    storage(8, false),
                    // spikes: this step's spikes, per population region.
                    storage(9, false),
                    // spike_counts: this step's spike count per population.
                    storage(10, false),
                    // recorded: the submission's spikes.
                    storage(11, false),
                    // step_ends: record count after each step of the submission.
                    storage(12, false),
                ],
            ),
            population: layout(
                device,
                "population",
                &[
                    // PopulationParams.
                    uniform(0, size_of::<PopulationParams>(), false),
                ],
            ),
            stimulus: layout(
                device,
                "stimulus",
                &[
                    // StimulusParams.
                    uniform(0, size_of::<StimulusParams>(), false),
                    // table: thresholds, events, current schedules.
                    storage(1, true),
                ],
            ),
            probe: layout(
                device,
                "probe",
                &[
                    // ProbeParams.
                    uniform(0, size_of::<ProbeParams>(), false),
                    // probe_neurons: global indices of every probe's neurons.
                    storage(1, true),
                    // samples: the submission's samples.
                    storage(2, false),
                ],
            ),
            projection: layout(
                device,
                "projection",
                &[
                    // ProjectionParams of one chunk.
                    uniform(0, size_of::<ProjectionParams>(), false),
                    // row_offsets: n_sources + 1 synapse indices.
                    storage(1, true),
                    // targets of the chunk's synapses, within the target population.
                    storage(2, true),
                    // weights of the chunk's synapses (a 4-byte placeholder when constant).
                    storage(3, true),
                    // delays of the chunk's synapses, two u16 per word (placeholder when constant).
                    storage(4, true),
                ],
            ),
            projection_pair: layout(
                device,
                "projection pair",
                &[
                    // The first chunk, as in `projection`.
                    uniform(0, size_of::<ProjectionParams>(), false),
                    storage(1, true),
                    storage(2, true),
                    storage(3, true),
                    storage(4, true),
                    // The second chunk: its ProjectionParams, row offsets, targets, weights,
                    // delays.
                    uniform(10, size_of::<ProjectionParams>(), false),
                    storage(11, true),
                    storage(12, true),
                    storage(13, true),
                    storage(14, true),
                ],
            ),
            dispatch_args: layout(
                device,
                "dispatch args",
                &[
                    // dispatch_args_out: indirect arguments per population.
                    storage(5, false),
                ],
            ),
            connect: layout(
                device,
                "connect",
                &[
                    // ConnectParams.
                    uniform(0, size_of::<ConnectParams>(), false),
                    // row_counts: synapses per source, then fill cursors.
                    storage(1, false),
                    // row_offsets of the projection.
                    storage(2, true),
                    // targets0..targets7: the synapse chunks one dispatch writes.
                    storage(3, false),
                    storage(4, false),
                    storage(5, false),
                    storage(6, false),
                    storage(7, false),
                    storage(8, false),
                    storage(9, false),
                    storage(10, false),
                    // bernoulli_thresholds of a pairwise_bernoulli rule (a placeholder for the
                    // others).
                    storage(11, true),
                ],
            ),
        }
    }
}

fn pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry_point: &str,
    groups: &[&wgpu::BindGroupLayout],
) -> wgpu::ComputePipeline {
    pipeline_with(device, module, entry_point, groups, &[])
}

/// A pipeline of `entry_point` with pipeline-overridable constants set.
fn pipeline_with(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry_point: &str,
    groups: &[&wgpu::BindGroupLayout],
    constants: &[(&str, f64)],
) -> wgpu::ComputePipeline {
    let groups: Vec<Option<&wgpu::BindGroupLayout>> = groups.iter().map(|g| Some(*g)).collect();
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry_point),
        bind_group_layouts: &groups,
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry_point),
        layout: Some(&layout),
        module,
        entry_point: Some(entry_point),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            ..Default::default()
        },
        cache: None,
    })
}

/// The count and fill pipelines of a two-pass connect kernel (`FILL` false, then true).
fn two_passes(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry_point: &str,
    layout: &wgpu::BindGroupLayout,
) -> TwoPasses {
    let pass = |fill: bool| {
        pipeline_with(
            device,
            module,
            entry_point,
            &[layout],
            &[("FILL", f64::from(u8::from(fill)))],
        )
    };
    TwoPasses {
        count: pass(false),
        fill: pass(true),
    }
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Pipelines {
        let layouts = Layouts::new(device);
        let module = |name: &str| {
            device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(kernel_source(name).into()),
            })
        };
        let neuron_update = module("neuron_update");
        let stimulus = module("stimulus");
        let record = module("record");
        let propagate = module("propagate");
        let step_end = module("step_end");
        let connect = module("connect");
        let base = [&layouts.step, &layouts.state];
        let l = &layouts;
        Pipelines {
            neuron_update: pipeline(
                device,
                &neuron_update,
                "main",
                &[&l.step, &l.state, &l.population],
            ),
            poisson: pipeline(
                device,
                &stimulus,
                "poisson",
                &[&l.step, &l.state, &l.stimulus],
            ),
            spike_train: pipeline(
                device,
                &stimulus,
                "spike_train",
                &[&l.step, &l.state, &l.stimulus],
            ),
            current: pipeline(
                device,
                &stimulus,
                "current",
                &[&l.step, &l.state, &l.stimulus],
            ),
            record: pipeline(device, &record, "main", &[&l.step, &l.state, &l.probe]),
            dispatch_args: pipeline(
                device,
                &propagate,
                "dispatch_args",
                &[&l.step, &l.state, &l.dispatch_args],
            ),
            propagate: pipeline(
                device,
                &propagate,
                "propagate",
                &[&l.step, &l.state, &l.projection],
            ),
            propagate_pair: (device.limits().max_storage_buffers_per_shader_stage
                >= PAIR_STORAGE_BUFFERS)
                .then(|| {
                    pipeline(
                        device,
                        &propagate,
                        "propagate_pair",
                        &[&l.step, &l.state, &l.projection_pair],
                    )
                }),
            propagate_procedural: pipeline(
                device,
                &propagate,
                "propagate_procedural",
                &[&l.step, &l.state, &l.projection],
            ),
            step_end: pipeline(device, &step_end, "main", &base),
            outdegree_fill: pipeline(device, &connect, "outdegree_fill", &[&l.connect]),
            all_to_all_fill: pipeline(device, &connect, "all_to_all_fill", &[&l.connect]),
            one_to_one_fill: pipeline(device, &connect, "one_to_one_fill", &[&l.connect]),
            indegree: two_passes(device, &connect, "indegree", &l.connect),
            total: two_passes(device, &connect, "total", &l.connect),
            bernoulli: two_passes(device, &connect, "bernoulli", &l.connect),
            layouts,
        }
    }
}
