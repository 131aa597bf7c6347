//! Every buffer and bind group of a network on the GPU. Neuron state is a structure of arrays;
//! synapses are CSR rows per projection, split into chunks of source rows so that no binding
//! exceeds the adapter's `max_storage_buffer_binding_size` (128 MiB on lavapipe).

use std::num::NonZeroU64;
use std::ops::Range;

use crate::config::Receptor;
use crate::network::{Network, StimulusInput};

use super::layout::*;
use super::pipelines::Pipelines;
use super::synapses::{entry, Allocator, DeviceCsr, PropagateDispatch, SynapseContext};
use super::GpuError;

/// Most steps in one submission: bounds the per-step uniform buffer (256 bytes per step).
pub const MAX_SUBMISSION_STEPS: u32 = 1000;

/// Budget for the samples of one submission [bytes].
const SAMPLE_BUDGET_BYTES: u64 = 64 << 20;

/// A bind group for one dispatch, with the number of threads it needs.
pub struct Dispatch {
    pub bind_group: wgpu::BindGroup,
    pub threads: u32,
}

/// Where a stimulus acts, for the host that decides which steps dispatch it.
pub enum StimulusDispatch {
    /// Dispatched in due steps `first..end`.
    Poisson { due: Range<u64>, dispatch: Dispatch },
    /// Dispatched at these due steps (increasing).
    Spikes { steps: Vec<u64>, dispatch: Dispatch },
}

pub struct ProbeBuffers {
    pub params: wgpu::Buffer,
    pub dispatch: Dispatch,
    pub interval: u32,
    pub width: u32,
    /// Where the probe's rows start in `samples` [words].
    pub samples_offset: u64,
}

/// Layout of the staging buffer that a submission's results are copied into [bytes].
#[derive(Clone, Copy, Debug)]
pub struct StagingLayout {
    pub control: u64,
    pub step_ends: u64,
    pub recorded: u64,
    pub samples: u64,
    /// Two u64 GPU timestamps (begin and end of the submission's pass), when supported.
    pub timestamps: u64,
    pub size: u64,
}

pub struct Resources {
    pub run: RunParams,
    pub step_params: wgpu::Buffer,
    pub step_bind_group: wgpu::BindGroup,
    pub state_bind_group: wgpu::BindGroup,
    pub control: wgpu::Buffer,
    pub v_m: wgpu::Buffer,
    pub g_ex: wgpu::Buffer,
    pub g_in: wgpu::Buffer,
    pub refractory: wgpu::Buffer,
    pub i_stim: wgpu::Buffer,
    pub ring_ex: wgpu::Buffer,
    pub ring_in: wgpu::Buffer,
    pub recorded: wgpu::Buffer,
    pub step_ends: wgpu::Buffer,
    pub samples: wgpu::Buffer,
    pub dispatch_args: wgpu::Buffer,
    pub dispatch_args_bind_group: wgpu::BindGroup,
    pub populations: Vec<Dispatch>,
    pub stimuli: Vec<StimulusDispatch>,
    /// The combined current-generator dispatch, with the steps where an amplitude changes.
    pub currents: Option<(Vec<u64>, Dispatch)>,
    pub probes: Vec<ProbeBuffers>,
    /// The propagation dispatches of a step (projection chunks, two by two where they can).
    pub propagation: Vec<PropagateDispatch>,
    /// Where each projection's synapses are on the device (not procedural ones).
    pub device_csrs: Vec<DeviceCsr>,
    /// Steps one submission may hold (samples and uniforms bound it).
    pub max_submission_steps: u32,
    pub staging_layout: StagingLayout,
    /// Device bytes allocated.
    pub device_bytes: u64,
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE;
const UNIFORM: wgpu::BufferUsages = wgpu::BufferUsages::UNIFORM;
const COPY_SRC: wgpu::BufferUsages = wgpu::BufferUsages::COPY_SRC;
const COPY_DST: wgpu::BufferUsages = wgpu::BufferUsages::COPY_DST;

fn bind_group(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    entries: &[wgpu::BindGroupEntry<'_>],
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries,
    })
}

/// Check that a buffer of `bytes` fits one binding.
fn check_binding(what: &str, bytes: u64, limits: &wgpu::Limits) -> Result<(), GpuError> {
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > limit {
        return Err(GpuError::TooLarge {
            what: what.to_string(),
            bytes,
            limit,
        });
    }
    Ok(())
}

impl Resources {
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        limits: &wgpu::Limits,
        pipelines: &Pipelines,
        network: &Network,
    ) -> Result<Resources, GpuError> {
        let layouts = &pipelines.layouts;
        let mut alloc = Allocator { device, bytes: 0 };
        let n = u64::from(network.n_neurons());
        let slots = u64::from(network.ring_slots());
        check_binding("neuron state (one variable)", 4 * n, limits)?;
        check_binding("delay ring (one receptor)", 4 * n * slots, limits)?;

        let max_submission_steps = submission_steps_for(
            network
                .probes
                .iter()
                .map(|p| (p.neurons.len() as u64, p.interval_steps)),
        );
        let record_capacity = record_capacity(n, limits.max_storage_buffer_binding_size);
        if record_capacity <= n {
            return Err(GpuError::TooLarge {
                what: "spike record (one step of every neuron)".to_string(),
                bytes: 4 * (n + 1),
                limit: limits.max_storage_buffer_binding_size,
            });
        }
        let key = crate::rng::Philox::new(network.seed).key();
        let run = RunParams {
            n_neurons: n as u32,
            ring_slots: slots as u32,
            n_populations: network.populations.len() as u32,
            record_capacity: record_capacity as u32,
            key0: key[0],
            key1: key[1],
            pad0: 0,
            pad1: 0,
        };

        // Group 0: per-step parameters, one 256-byte slot per step.
        let step_params = alloc.zeroed(
            "step params",
            STEP_PARAMS_STRIDE * u64::from(max_submission_steps),
            UNIFORM | COPY_DST,
        );
        let step_bind_group = bind_group(
            device,
            "step",
            &layouts.step,
            &[wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &step_params,
                    offset: 0,
                    size: NonZeroU64::new(std::mem::size_of::<StepParams>() as u64),
                }),
            }],
        );

        // Group 1: state.
        let init = &network.initial_state;
        let state_usage = STORAGE | COPY_SRC | COPY_DST;
        let run_buffer = alloc.init("run params", bytemuck::bytes_of(&run), UNIFORM);
        let control = alloc.init(
            "control",
            bytemuck::bytes_of(&Control::reset()),
            state_usage,
        );
        let v_m = alloc.init("v_m", bytemuck::cast_slice(&init.v_m), state_usage);
        let g_ex = alloc.init("g_ex", bytemuck::cast_slice(&init.g_ex), state_usage);
        let g_in = alloc.init("g_in", bytemuck::cast_slice(&init.g_in), state_usage);
        let refractory = alloc.init(
            "refractory",
            bytemuck::cast_slice(&init.refractory),
            state_usage,
        );
        let i_stim = alloc.init("i_stim", bytemuck::cast_slice(&init.i_stim), state_usage);
        let ring_ex = alloc.zeroed("ring_ex", 4 * n * slots, state_usage);
        let ring_in = alloc.zeroed("ring_in", 4 * n * slots, state_usage);
        let spikes = alloc.zeroed("spikes", 4 * n, STORAGE);
        let spike_counts = alloc.zeroed(
            "spike counts",
            4 * network.populations.len() as u64,
            STORAGE,
        );
        let recorded = alloc.zeroed("recorded", 4 * record_capacity, STORAGE | COPY_SRC);
        let step_ends = alloc.zeroed(
            "step ends",
            4 * u64::from(max_submission_steps),
            STORAGE | COPY_SRC,
        );
        let state_bind_group = bind_group(
            device,
            "state",
            &layouts.state,
            &[
                entry(0, &run_buffer),
                entry(1, &control),
                entry(2, &v_m),
                entry(3, &g_ex),
                entry(4, &g_in),
                entry(5, &refractory),
                entry(6, &i_stim),
                entry(7, &ring_ex),
                entry(8, &ring_in),
                entry(9, &spikes),
                entry(10, &spike_counts),
                entry(11, &recorded),
                entry(12, &step_ends),
            ],
        );

        let dispatch_args = alloc.zeroed(
            "dispatch args",
            12 * network.populations.len() as u64,
            STORAGE | wgpu::BufferUsages::INDIRECT,
        );
        let dispatch_args_bind_group = bind_group(
            device,
            "dispatch args",
            &layouts.dispatch_args,
            &[entry(5, &dispatch_args)],
        );

        let inv_scale = [
            network.fixed_point.inv_scale(Receptor::Excitatory),
            network.fixed_point.inv_scale(Receptor::Inhibitory),
        ];
        let populations = network
            .populations
            .iter()
            .enumerate()
            .map(|(index, p)| {
                let params = PopulationParams {
                    derived: p.derived,
                    offset: p.offset,
                    n: p.n,
                    index: index as u32,
                    pad0: 0,
                    inv_scale_ex: inv_scale[0],
                    inv_scale_in: inv_scale[1],
                    pad1: 0,
                    pad2: 0,
                };
                let buffer = alloc.init(&p.name, bytemuck::bytes_of(&params), UNIFORM);
                Dispatch {
                    bind_group: bind_group(
                        device,
                        &p.name,
                        &layouts.population,
                        &[entry(0, &buffer)],
                    ),
                    threads: p.n,
                }
            })
            .collect();

        let (stimuli, currents) = stimulus_resources(device, &mut alloc, layouts, network);
        let (probes, samples, samples_words) =
            probe_resources(device, &mut alloc, layouts, network, max_submission_steps);
        let synapse_context = SynapseContext {
            device,
            queue,
            pipelines,
            binding_limit: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
            key,
        };
        let (chunks, device_csrs) = super::synapses::upload(&synapse_context, &mut alloc, network)?;
        let propagation = super::synapses::propagate_dispatches(
            device,
            layouts,
            &chunks,
            pipelines.propagate_pair.is_some(),
        );

        let control_size = std::mem::size_of::<Control>() as u64;
        let staging_layout = {
            let step_ends_at = control_size;
            let recorded_at = step_ends_at + 4 * u64::from(max_submission_steps);
            let samples_at = recorded_at + 4 * record_capacity;
            let timestamps_at = (samples_at + 4 * samples_words).next_multiple_of(8);
            StagingLayout {
                control: 0,
                step_ends: step_ends_at,
                recorded: recorded_at,
                samples: samples_at,
                timestamps: timestamps_at,
                size: timestamps_at + 16,
            }
        };

        Ok(Resources {
            run,
            step_params,
            step_bind_group,
            state_bind_group,
            control,
            v_m,
            g_ex,
            g_in,
            refractory,
            i_stim,
            ring_ex,
            ring_in,
            recorded,
            step_ends,
            samples,
            dispatch_args,
            dispatch_args_bind_group,
            populations,
            stimuli,
            currents,
            probes,
            propagation,
            device_csrs,
            max_submission_steps,
            staging_layout,
            device_bytes: alloc.bytes,
        })
    }
}

/// Spikes one submission's record holds: twice the neurons (at least 65,536), never more than
/// one binding. A submission halts when the record could not hold another step of every neuron,
/// so what one submission may record is the capacity less the neurons (see `record_room`).
pub fn record_capacity(neurons: u64, binding_limit: u64) -> u64 {
    (2 * neurons).max(1 << 16).min(binding_limit / 4)
}

/// Spikes a submission can record before it halts: the record less one step of every neuron.
pub fn record_room(neurons: u64, capacity: u64) -> u64 {
    capacity.saturating_sub(neurons)
}

/// Steps for the next submission, from the spikes per step seen so far: as many as fit the
/// record's room twice over (activity fluctuates), at least one and at most `max_steps`. A
/// submission that halts with its record full costs the one queued behind it and a wait for
/// the host, so the plan keeps them rare; halting stays the safety net that drops no spike.
pub fn planned_submission_steps(room: u64, spikes_per_step: f64, max_steps: u32) -> u32 {
    let fit = room as f64 / (2.0 * spikes_per_step).max(1e-9);
    fit.floor().clamp(1.0, f64::from(max_steps)) as u32
}

/// Steps per submission: at most MAX_SUBMISSION_STEPS, fewer when the samples of that many
/// steps of the probes (probed neurons, interval in steps) would exceed the sample budget.
pub fn submission_steps_for(probes: impl Iterator<Item = (u64, u32)>) -> u32 {
    let bytes_per_step: f64 = probes
        .map(|(width, interval)| 4.0 * width as f64 / f64::from(interval))
        .sum();
    if bytes_per_step == 0.0 {
        return MAX_SUBMISSION_STEPS;
    }
    ((SAMPLE_BUDGET_BYTES as f64 / bytes_per_step) as u32).clamp(1, MAX_SUBMISSION_STEPS)
}

fn stimulus_resources(
    device: &wgpu::Device,
    alloc: &mut Allocator<'_>,
    layouts: &super::pipelines::Layouts,
    network: &Network,
) -> (Vec<StimulusDispatch>, Option<(Vec<u64>, Dispatch)>) {
    // One table of u32 words for every stimulus.
    let mut table: Vec<u32> = Vec::new();
    let mut params: Vec<StimulusParams> = Vec::new();
    let mut current_descriptors: Vec<[u32; 4]> = Vec::new();
    let mut current_changes: Vec<u32> = Vec::new();
    for stim in &network.stimuli {
        let first = stim.targets.start;
        let n = stim.targets.end - stim.targets.start;
        match &stim.input {
            StimulusInput::Poisson(p) => {
                params.push(StimulusParams {
                    first,
                    n,
                    receptor: p.receptor.index() as u32,
                    stream: p.stream,
                    table_offset: table.len() as u32,
                    table_len: p.count_thresholds.len() as u32,
                    weight: p.weight_ns,
                    pad0: 0,
                });
                table.extend_from_slice(&p.count_thresholds);
            }
            StimulusInput::Spikes(s) => {
                params.push(StimulusParams {
                    first,
                    n,
                    receptor: s.receptor.index() as u32,
                    stream: 0,
                    table_offset: table.len() as u32,
                    table_len: s.events.len() as u32,
                    weight: 0.0,
                    pad0: 0,
                });
                for &(step, weight) in &s.events {
                    table.extend_from_slice(&[step as u32, (step >> 32) as u32, weight.to_bits()]);
                }
            }
            StimulusInput::Current(c) => {
                current_descriptors.push([
                    stim.targets.start,
                    stim.targets.end,
                    current_changes.len() as u32,
                    c.changes.len() as u32,
                ]);
                for &(step, amplitude) in &c.changes {
                    current_changes.extend_from_slice(&[
                        step as u32,
                        (step >> 32) as u32,
                        amplitude.to_bits(),
                    ]);
                }
            }
        }
    }
    // Current descriptors point into the changes, placed after them in the table.
    let currents_at = table.len() as u32;
    let descriptors_at = currents_at + current_changes.len() as u32;
    table.extend_from_slice(&current_changes);
    for d in &current_descriptors {
        table.extend_from_slice(&[d[0], d[1], d[2] + currents_at, d[3]]);
    }
    let table_buffer = alloc.init("stimulus table", bytemuck::cast_slice(&table), STORAGE);
    let make = |alloc: &mut Allocator<'_>, label: &str, p: &StimulusParams| {
        let buffer = alloc.init(label, bytemuck::bytes_of(p), UNIFORM);
        Dispatch {
            bind_group: bind_group(
                device,
                label,
                &layouts.stimulus,
                &[entry(0, &buffer), entry(1, &table_buffer)],
            ),
            threads: p.n,
        }
    };
    let mut stimuli = Vec::new();
    let mut params_iter = params.iter();
    for stim in &network.stimuli {
        match &stim.input {
            StimulusInput::Poisson(p) => stimuli.push(StimulusDispatch::Poisson {
                due: p.first_due_step..p.end_due_step,
                dispatch: make(
                    alloc,
                    &stim.name,
                    params_iter.next().expect("params per stimulus"),
                ),
            }),
            StimulusInput::Spikes(s) => stimuli.push(StimulusDispatch::Spikes {
                steps: s.events.iter().map(|e| e.0).collect(),
                dispatch: make(
                    alloc,
                    &stim.name,
                    params_iter.next().expect("params per stimulus"),
                ),
            }),
            StimulusInput::Current(_) => {}
        }
    }
    let currents = if current_descriptors.is_empty() {
        None
    } else {
        let lo = current_descriptors.iter().map(|d| d[0]).min().unwrap_or(0);
        let hi = current_descriptors.iter().map(|d| d[1]).max().unwrap_or(0);
        let p = StimulusParams {
            first: lo,
            n: hi - lo,
            receptor: 0,
            stream: 0,
            table_offset: descriptors_at,
            table_len: current_descriptors.len() as u32,
            weight: 0.0,
            pad0: 0,
        };
        let steps = crate::network::current_change_steps(&network.stimuli);
        Some((steps, make(alloc, "current generators", &p)))
    };
    (stimuli, currents)
}

fn probe_resources(
    device: &wgpu::Device,
    alloc: &mut Allocator<'_>,
    layouts: &super::pipelines::Layouts,
    network: &Network,
    max_submission_steps: u32,
) -> (Vec<ProbeBuffers>, wgpu::Buffer, u64) {
    let mut neurons: Vec<u32> = Vec::new();
    let mut words = 0u64;
    let mut regions = Vec::new();
    for p in &network.probes {
        let rows = u64::from(max_submission_steps.div_ceil(p.interval_steps));
        regions.push((neurons.len() as u32, words));
        neurons.extend_from_slice(&p.neurons);
        words += rows * p.neurons.len() as u64;
    }
    let neurons_buffer = alloc.init("probe neurons", bytemuck::cast_slice(&neurons), STORAGE);
    let samples = alloc.zeroed("samples", 4 * words, STORAGE | COPY_SRC);
    let probes = network
        .probes
        .iter()
        .zip(regions)
        .map(|(p, (neurons_offset, samples_offset))| {
            let params = ProbeParams {
                neurons_offset,
                width: p.neurons.len() as u32,
                variable: p.variable.index() as u32,
                interval: p.interval_steps,
                first_batch_step: 0,
                samples_offset: samples_offset as u32,
                pad0: 0,
                pad1: 0,
            };
            let buffer = alloc.init("probe", bytemuck::bytes_of(&params), UNIFORM | COPY_DST);
            let bind_group = bind_group(
                device,
                "probe",
                &layouts.probe,
                &[
                    entry(0, &buffer),
                    entry(1, &neurons_buffer),
                    entry(2, &samples),
                ],
            );
            ProbeBuffers {
                params: buffer,
                dispatch: Dispatch {
                    bind_group,
                    threads: p.neurons.len() as u32,
                },
                interval: p.interval_steps,
                width: p.neurons.len() as u32,
                samples_offset,
            }
        })
        .collect();
    (probes, samples, words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_holds_a_step_of_every_neuron_beyond_what_a_submission_records() {
        // Small networks get 65,536; large ones twice their neurons, not capped below that.
        assert_eq!(record_capacity(4_000, 1 << 31), 1 << 16);
        assert_eq!(record_capacity(40_000, 1 << 31), 80_000);
        assert_eq!(record_capacity(20_000_000, 1 << 31), 40_000_000);
        // One binding is the limit.
        assert_eq!(record_capacity(20_000_000, 128 << 20), 32 << 20);
        assert_eq!(record_room(40_000, 80_000), 40_000);
        assert_eq!(record_room(40_000, 30_000), 0);
    }

    #[test]
    fn submissions_are_planned_to_fill_half_the_room() {
        // COBA at 40,000 neurons: about 59 spikes per step, room for 40,000.
        assert_eq!(planned_submission_steps(40_000, 58.6, 1000), 341);
        // Quiet networks get the longest submissions; any activity at least one step.
        assert_eq!(planned_submission_steps(40_000, 0.0, 1000), 1000);
        assert_eq!(planned_submission_steps(70_000, 70_000.0, 1000), 1);
        assert_eq!(planned_submission_steps(0, 10.0, 1000), 1);
    }
}
