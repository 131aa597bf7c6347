//! The GPU backend: the stages of `backend` as WGSL compute kernels (`shaders/`), through wgpu.
//!
//! Many steps go into one submission, with no readback in between: the spike count of a step is
//! only known on the GPU, so the propagation is sized by `dispatch_workgroups_indirect` with
//! arguments a kernel writes. Each submission ends by copying its spikes, samples and control
//! block into one of two staging buffers; while the host reads one, the GPU fills the other.
//! When the spike record could not hold another step, the GPU halts the submission (and, through
//! `Control.next_step`, the one queued behind it); the host reads what was recorded and carries
//! on from there. No spike is dropped. The host sizes submissions from the spikes per step seen
//! so far so that halting stays rare (`buffers::planned_submission_steps`).

pub mod buffers;
pub mod device;
pub mod footprint;
pub mod layout;
pub mod pipelines;
pub mod readback;
pub mod synapses;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::network::{Network, NeuronState, Synapses};
use crate::rng::Philox;

use super::{steps_left, Backend, BackendError, Batch, Checkpoint};
use buffers::{Resources, StimulusDispatch};
pub use device::{GpuContext, REQUIRE_GPU_ENV};
use layout::*;
use pipelines::Pipelines;
use synapses::PropagateKind;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error(
        "the network does not fit this GPU: {what} needs {bytes} bytes, more than the {limit} \
         bytes one buffer binding may hold on this adapter; use --backend cpu or a smaller network"
    )]
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
    },
    #[error(
        "the network does not fit this GPU: {what}: {count}, more than the 4,294,967,295 \
         the GPU backend counts with 32 bits; split the projection into several, lower its \
         density, or use --backend cpu"
    )]
    TooMany { what: String, count: u64 },
    #[error(
        "the network does not fit this GPU: it needs {} of device memory ({} of synapses, {} of \
         neuron state, {} of spike and sample buffers), and {adapter} has {}. {advice}",
        crate::format::bytes(needed.total()),
        crate::format::bytes(needed.synapses),
        crate::format::bytes(needed.state),
        crate::format::bytes(needed.io),
        crate::format::bytes(*available)
    )]
    DoesNotFit {
        adapter: String,
        needed: footprint::Footprint,
        available: u64,
        advice: String,
    },
    #[error("the GPU reported an error while {context}: {message}")]
    Wgpu { context: String, message: String },
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    #[error(
        "the GPU device was lost ({reason}) at t = {time_ms} ms: the driver reset it or the GPU \
         went away. The output holds everything simulated until then; rerun with --backend cpu, \
         or on the GPU with `lifsim resume` if the run wrote checkpoints (--checkpoint-every)"
    )]
    DeviceLost { reason: String, time_ms: f64 },
}

/// What would fit on a device with `available` bytes, for a network that needs `needed`.
fn advice(network: &Network, needed: &footprint::Footprint, available: u64) -> String {
    let mut ways = Vec::new();
    let binding = u64::MAX;
    let procedural: Vec<&str> = network
        .projections
        .iter()
        .filter(|p| match &p.synapses {
            Synapses::Deferred(rule) => rule.draws_rows(),
            _ => false,
        })
        .map(|p| p.name.as_str())
        .collect();
    if !procedural.is_empty() {
        let mut lean = network.clone();
        for p in &mut lean.projections {
            if let Synapses::Deferred(rule) = &p.synapses {
                if rule.draws_rows() {
                    p.synapses = Synapses::Procedural(*rule);
                }
            }
        }
        let after = footprint::of_network(&lean, binding).total();
        ways.push(format!(
            "storage = \"procedural\" on {} would need {}{}",
            procedural
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            crate::format::bytes(after),
            if after <= available {
                ", which fits"
            } else {
                ""
            }
        ));
    }
    let fraction = available as f64 / needed.total() as f64;
    let neurons = (f64::from(network.n_neurons()) * fraction * 0.9) as u64;
    ways.push(format!(
        "about {} neurons with the same connectivity would fit",
        crate::format::count(neurons)
    ));
    let host = crate::network::estimate_size(&network.spec).host_bytes;
    ways.push(format!(
        "--backend cpu needs {} of host memory",
        crate::format::bytes(host)
    ));
    format!("Options: {}.", ways.join("; "))
}

impl From<GpuError> for BackendError {
    fn from(e: GpuError) -> Self {
        BackendError::Gpu(e.to_string())
    }
}

/// The compiled pipelines of a device: made on first use, then shared by every backend on it.
fn pipelines_for(ctx: &GpuContext) -> Result<Arc<Pipelines>, GpuError> {
    if let Some(p) = ctx.pipelines.get() {
        return Ok(Arc::clone(p));
    }
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let pipelines = Arc::new(Pipelines::new(&ctx.device));
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(GpuError::Wgpu {
            context: "compiling the shaders".to_string(),
            message: e.to_string(),
        });
    }
    Ok(Arc::clone(ctx.pipelines.get_or_init(|| pipelines)))
}

/// A projection's rows as read back from the device (see `GpuBackend::synapses_on_device`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowsOnDevice {
    pub row_offsets: Vec<u64>,
    /// Targets, each row sorted.
    pub targets: Vec<u32>,
}

/// A submission on its way.
struct InFlight {
    first_step: u64,
    steps: u32,
    staging: usize,
    submission: wgpu::SubmissionIndex,
}

/// GPU-side timing of submissions (`Features::TIMESTAMP_QUERY`): a begin and an end timestamp
/// per staging buffer.
struct Timestamps {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    /// Nanoseconds per tick.
    period_ns: f64,
}

/// Where the host's time went in a run of the GPU backend (`gpu_host` in `lifsim bench --json`):
/// with submissions in flight, wall time above the GPU's own time is host work the GPU waited for.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostTimes {
    /// Submissions encoded and submitted.
    pub submissions: u64,
    /// Of those, submissions that halted with their spike record full.
    pub record_halts: u64,
    /// Writing per-step parameters, encoding the steps and submitting them [s].
    pub encode_s: f64,
    /// Waiting for submissions to finish [s].
    pub wait_s: f64,
    /// Reading the results back from the staging buffer and handing them out [s].
    pub readback_s: f64,
}

/// Timestamps of staging buffer `s` resolve at this offset (QUERY_RESOLVE_BUFFER_ALIGNMENT).
const RESOLVE_STRIDE: u64 = 256;

pub struct GpuBackend<'n> {
    network: &'n Network,
    ctx: Arc<GpuContext>,
    pipelines: Arc<Pipelines>,
    res: Resources,
    staging: [wgpu::Buffer; 2],
    in_flight: VecDeque<InFlight>,
    /// Steps whose results have been handed out.
    steps_done: u64,
    /// Steps submitted (results pending for those beyond `steps_done`).
    steps_submitted: u64,
    /// Nothing is submitted past this step.
    horizon: u64,
    /// Steps per submission that the spike record holds at the activity seen so far.
    planned_steps: u32,
    /// Host-side time and counts (`host_times`).
    host: HostTimes,
    /// Most host threads for sorting the spikes read back (`with_host_threads`).
    host_threads: usize,
    timestamps: Option<Timestamps>,
    /// GPU time of the submissions collected so far [ns].
    gpu_time_ns: f64,
}

impl<'n> GpuBackend<'n> {
    /// Upload `network` to the device of `ctx`.
    pub fn new(network: &'n Network, ctx: Arc<GpuContext>) -> Result<Self, GpuError> {
        // Refuse before allocating anything.
        let limits = &ctx.summary.limits;
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let needed = footprint::of_network(network, binding_limit);
        if let Some(available) = device::usable_memory(&ctx) {
            if needed.total() > available {
                return Err(GpuError::DoesNotFit {
                    adapter: ctx.adapter_name(),
                    advice: advice(network, &needed, available),
                    needed,
                    available,
                });
            }
        }
        let pipelines = pipelines_for(&ctx)?;
        let device = &ctx.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let res = Resources::new(device, &ctx.queue, &ctx.summary.limits, &pipelines, network)?;
        let staging = [0, 1].map(|i| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(if i == 0 { "staging 0" } else { "staging 1" }),
                size: res.staging_layout.size,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        let timestamps = ctx.optional.timestamp_query.then(|| Timestamps {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("submission timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 4,
            }),
            resolved: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("resolved timestamps"),
                size: 2 * RESOLVE_STRIDE,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
        });
        let invalid = pollster::block_on(validation.pop());
        let out_of_memory = pollster::block_on(oom.pop());
        if let Some(e) = out_of_memory.or(invalid) {
            return Err(GpuError::Wgpu {
                context: format!(
                    "allocating {} bytes for the network",
                    res.device_bytes + 2 * res.staging_layout.size
                ),
                message: e.to_string(),
            });
        }
        let planned_steps = res.max_submission_steps;
        Ok(GpuBackend {
            network,
            ctx,
            pipelines,
            res,
            staging,
            in_flight: VecDeque::new(),
            steps_done: 0,
            steps_submitted: 0,
            horizon: network.n_steps,
            planned_steps,
            host: HostTimes::default(),
            host_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timestamps,
            gpu_time_ns: 0.0,
        })
    }

    /// Use at most `threads` host threads (the run's `threads`) for the host's share of the work,
    /// sorting the spikes read back; one per core by default.
    pub fn with_host_threads(mut self, threads: usize) -> Self {
        self.host_threads = threads.max(1);
        self
    }

    /// GPU-side time of the submissions whose results have been collected, where the adapter
    /// supports timestamp queries.
    pub fn gpu_time(&self) -> Option<std::time::Duration> {
        self.timestamps
            .as_ref()
            .map(|_| std::time::Duration::from_nanos(self.gpu_time_ns as u64))
    }

    /// Bytes of device memory this network holds.
    pub fn device_bytes(&self) -> u64 {
        self.res.device_bytes + 2 * self.res.staging_layout.size
    }

    /// The targets of projection `projection` as the device holds them, each row sorted (rows
    /// drawn on the device are filled in any order), with row offsets; `None` for procedural
    /// projections, which hold nothing.
    pub fn synapses_on_device(&self, projection: usize) -> Result<Option<RowsOnDevice>, GpuError> {
        let Some(csr) = self
            .res
            .device_csrs
            .iter()
            .find(|c| c.projection == projection)
        else {
            return Ok(None);
        };
        let mut targets = Vec::new();
        for (buffer, synapses) in &csr.chunks {
            let bytes = synapses::read_back(
                &self.ctx.device,
                &self.ctx.queue,
                buffer,
                0,
                4 * (synapses.end - synapses.start),
            )?;
            targets.extend_from_slice(bytemuck::cast_slice::<u8, u32>(&bytes));
        }
        for w in csr.row_offsets.windows(2) {
            targets[w[0] as usize..w[1] as usize].sort_unstable();
        }
        Ok(Some(RowsOnDevice {
            row_offsets: csr.row_offsets.clone(),
            targets,
        }))
    }

    /// Each neuron's number of outgoing synapses over all projections, from the row offsets the
    /// backend kept (procedural rows are drawn again on `threads` threads and counted).
    pub fn outdegrees(&self, threads: usize) -> Vec<u32> {
        let network = self.network;
        let mut out = vec![0u32; network.n_neurons() as usize];
        for (index, proj) in network.projections.iter().enumerate() {
            match self.res.device_csrs.iter().find(|c| c.projection == index) {
                Some(csr) => {
                    let degrees = csr.row_offsets.windows(2).map(|w| (w[1] - w[0]) as u32);
                    network.add_outdegrees(&mut out, proj.source, degrees);
                }
                None => {
                    if let Synapses::Procedural(rule) = &proj.synapses {
                        let degrees = rule.outdegrees(&Philox::new(network.seed), threads);
                        network.add_outdegrees(&mut out, proj.source, degrees);
                    }
                }
            }
        }
        out
    }

    /// Where the host's time went so far, how many submissions it made, and how many of them
    /// halted with their spike record full (each costs the submission queued behind it and a
    /// wait; see `buffers::planned_submission_steps`).
    pub fn host_times(&self) -> HostTimes {
        self.host
    }

    pub fn adapter_name(&self) -> String {
        self.ctx.adapter_name()
    }

    /// Encode and submit steps `first .. first + steps`.
    fn submit(&mut self, first: u64, steps: u32) {
        let started = std::time::Instant::now();
        let network = self.network;
        let res = &self.res;
        let p = &self.pipelines;
        let slots = u64::from(res.run.ring_slots);
        let staging = self.in_flight.back().map_or(0, |f| 1 - f.staging);

        // Per-step uniforms, and the first sample row of each probe in this submission.
        let mut step_bytes = vec![0u8; (STEP_PARAMS_STRIDE * u64::from(steps)) as usize];
        for b in 0..u64::from(steps) {
            let k = first + b;
            let params = StepParams {
                step_lo: k as u32,
                step_hi: (k >> 32) as u32,
                slot: (k % slots) as u32,
                batch_step: b as u32,
            };
            let at = (b * STEP_PARAMS_STRIDE) as usize;
            step_bytes[at..at + std::mem::size_of::<StepParams>()]
                .copy_from_slice(bytemuck::bytes_of(&params));
        }
        let queue = &self.ctx.queue;
        queue.write_buffer(&res.step_params, 0, &step_bytes);
        for probe in &res.probes {
            let interval = u64::from(probe.interval);
            let params = ProbeParams {
                neurons_offset: 0,
                width: probe.width,
                variable: 0,
                interval: probe.interval,
                first_batch_step: ((interval - (first + 1) % interval) % interval) as u32,
                samples_offset: probe.samples_offset as u32,
                pad0: 0,
                pad1: 0,
            };
            // Only first_batch_step changes: write that word alone.
            queue.write_buffer(
                &probe.params,
                16,
                bytemuck::bytes_of(&params.first_batch_step),
            );
        }
        let reset = Control::reset();
        queue.write_buffer(
            &res.control,
            CONTROL_RESET_OFFSET,
            &bytemuck::bytes_of(&reset)[CONTROL_RESET_OFFSET as usize..],
        );

        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("steps"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("steps"),
                timestamp_writes: self.timestamps.as_ref().map(|t| {
                    wgpu::ComputePassTimestampWrites {
                        query_set: &t.queries,
                        beginning_of_pass_write_index: Some(2 * staging as u32),
                        end_of_pass_write_index: Some(2 * staging as u32 + 1),
                    }
                }),
            });
            pass.set_bind_group(1, &res.state_bind_group, &[]);
            for b in 0..steps {
                let k = first + u64::from(b);
                pass.set_bind_group(0, &res.step_bind_group, &[b * STEP_PARAMS_STRIDE as u32]);
                // Stage 1.
                pass.set_pipeline(&p.neuron_update);
                for d in &res.populations {
                    pass.set_bind_group(2, &d.bind_group, &[]);
                    dispatch_threads(&mut pass, d.threads);
                }
                // Stage 2.
                for s in &res.stimuli {
                    match s {
                        StimulusDispatch::Poisson { due, dispatch } if due.contains(&k) => {
                            pass.set_pipeline(&p.poisson);
                            pass.set_bind_group(2, &dispatch.bind_group, &[]);
                            dispatch_threads(&mut pass, dispatch.threads);
                        }
                        StimulusDispatch::Spikes { steps, dispatch }
                            if steps.binary_search(&k).is_ok() =>
                        {
                            pass.set_pipeline(&p.spike_train);
                            pass.set_bind_group(2, &dispatch.bind_group, &[]);
                            dispatch_threads(&mut pass, dispatch.threads);
                        }
                        _ => {}
                    }
                }
                if let Some((change_steps, dispatch)) = &res.currents {
                    if change_steps.binary_search(&k).is_ok() {
                        pass.set_pipeline(&p.current);
                        pass.set_bind_group(2, &dispatch.bind_group, &[]);
                        dispatch_threads(&mut pass, dispatch.threads);
                    }
                }
                // Stage 3.
                for (probe, spec) in res.probes.iter().zip(&network.probes) {
                    if spec.samples_step(k) {
                        pass.set_pipeline(&p.record);
                        pass.set_bind_group(2, &probe.dispatch.bind_group, &[]);
                        dispatch_threads(&mut pass, probe.dispatch.threads);
                    }
                }
                // Stage 4.
                if !res.propagation.is_empty() {
                    pass.set_pipeline(&p.dispatch_args);
                    pass.set_bind_group(2, &res.dispatch_args_bind_group, &[]);
                    pass.dispatch_workgroups(res.run.n_populations.div_ceil(WORKGROUP_SIZE), 1, 1);
                    for d in &res.propagation {
                        pass.set_pipeline(match d.kind {
                            PropagateKind::Single => &p.propagate,
                            PropagateKind::Pair => p
                                .propagate_pair
                                .as_ref()
                                .expect("pairs only where the pipeline exists"),
                            PropagateKind::Procedural => &p.propagate_procedural,
                        });
                        pass.set_bind_group(2, &d.bind_group, &[]);
                        pass.dispatch_workgroups_indirect(
                            &res.dispatch_args,
                            12 * u64::from(d.source_population),
                        );
                    }
                }
                pass.set_pipeline(&p.step_end);
                pass.dispatch_workgroups(1, 1, 1);
            }
        }
        let l = res.staging_layout;
        let dst = &self.staging[staging];
        encoder.copy_buffer_to_buffer(
            &res.control,
            0,
            dst,
            l.control,
            std::mem::size_of::<Control>() as u64,
        );
        encoder.copy_buffer_to_buffer(
            &res.step_ends,
            0,
            dst,
            l.step_ends,
            l.recorded - l.step_ends,
        );
        encoder.copy_buffer_to_buffer(&res.recorded, 0, dst, l.recorded, l.samples - l.recorded);
        if l.timestamps > l.samples {
            encoder.copy_buffer_to_buffer(
                &res.samples,
                0,
                dst,
                l.samples,
                l.timestamps - l.samples,
            );
        }
        if let Some(t) = &self.timestamps {
            let at = RESOLVE_STRIDE * staging as u64;
            let first = 2 * staging as u32;
            encoder.resolve_query_set(&t.queries, first..first + 2, &t.resolved, at);
            encoder.copy_buffer_to_buffer(&t.resolved, at, dst, l.timestamps, 16);
        }
        let submission = queue.submit([encoder.finish()]);
        dst.map_async(wgpu::MapMode::Read, .., |_| {});
        self.in_flight.push_back(InFlight {
            first_step: first,
            steps,
            staging,
            submission,
        });
        self.steps_submitted = first + u64::from(steps);
        self.host.submissions += 1;
        self.host.encode_s += started.elapsed().as_secs_f64();
    }

    /// Keep up to two submissions in flight, of at most `max_steps` steps each.
    fn fill_pipeline(&mut self, max_steps: u64) {
        while self.in_flight.len() < 2 {
            let left = steps_left(self.network, self.steps_submitted)
                .min(self.horizon.saturating_sub(self.steps_submitted));
            let steps = max_steps.min(left).min(u64::from(self.planned_steps)) as u32;
            if steps == 0 {
                break;
            }
            self.submit(self.steps_submitted, steps);
        }
    }

    /// Wait for the oldest submission and move its results into `out`.
    fn collect(&mut self, out: &mut Batch) -> Result<u64, BackendError> {
        out.clear(self.steps_done, self.network.probes.len());
        let Some(flight) = self.in_flight.pop_front() else {
            return Ok(0);
        };
        let waiting = std::time::Instant::now();
        self.wait(&flight.submission)?;
        let reading = std::time::Instant::now();
        self.host.wait_s += (reading - waiting).as_secs_f64();
        let staging = &self.staging[flight.staging];
        let l = self.res.staging_layout;
        let (control, step_ends, mut spikes, samples) = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::Readback(e.to_string()))?;
            let control: Control =
                bytemuck::pod_read_unaligned(&view[..std::mem::size_of::<Control>()]);
            let words = |from: u64, to: u64| -> Vec<u32> {
                bytemuck::cast_slice(&view[from as usize..to as usize]).to_vec()
            };
            let done = u64::from(control.steps_done);
            let step_ends = words(l.step_ends, l.step_ends + 4 * done);
            let n_recorded = step_ends.last().copied().unwrap_or(0);
            let spikes = words(l.recorded, l.recorded + 4 * u64::from(n_recorded));
            let samples = words(l.samples, l.timestamps);
            let ticks: [u64; 2] = bytemuck::pod_read_unaligned(
                &view[l.timestamps as usize..l.timestamps as usize + 16],
            );
            if let Some(t) = &self.timestamps {
                self.gpu_time_ns += ticks[1].saturating_sub(ticks[0]) as f64 * t.period_ns;
            }
            (control, step_ends, spikes, samples)
        };
        staging.unmap();

        let done = u64::from(control.steps_done);
        debug_assert_eq!(flight.first_step, self.steps_done);
        if done > 0 {
            let run = &self.res.run;
            let room =
                buffers::record_room(u64::from(run.n_neurons), u64::from(run.record_capacity));
            let per_step = spikes.len() as f64 / done as f64;
            self.planned_steps =
                buffers::planned_submission_steps(room, per_step, self.res.max_submission_steps);
        }
        // Atomics leave a step's spikes in any order: sort them as the CPU lists them.
        readback::sorted_spikes(
            self.host_threads,
            flight.first_step,
            &step_ends,
            &mut spikes,
            &mut out.spikes,
        );
        for ((probe, spec), out_samples) in self
            .res
            .probes
            .iter()
            .zip(&self.network.probes)
            .zip(&mut out.samples)
        {
            let rows = (flight.first_step..flight.first_step + done)
                .filter(|&k| spec.samples_step(k))
                .count();
            let at = probe.samples_offset as usize;
            let words = &samples[at..at + rows * probe.width as usize];
            out_samples.extend(words.iter().map(|&w| f32::from_bits(w)));
        }
        out.first_step = flight.first_step;
        out.n_steps = done;
        self.steps_done += done;
        self.host.readback_s += reading.elapsed().as_secs_f64();

        if control.fault_neuron != NO_FAULT {
            return Err(self.fault(control.fault_neuron));
        }
        if control.overflow_neuron != NO_FAULT {
            let neuron = control.overflow_neuron;
            let population = self.network.population_of(neuron);
            let pop = &self.network.populations[population];
            return Err(BackendError::InputOverflow {
                population: pop.name.clone(),
                neuron: neuron - pop.offset,
                time_ms: self.steps_done as f64 * self.network.dt_ms,
            });
        }
        if done < u64::from(flight.steps) {
            self.host.record_halts += 1;
            // Halted with the record full: what was queued behind did nothing. Re-plan from here.
            while let Some(next) = self.in_flight.pop_front() {
                self.wait(&next.submission)?;
                self.staging[next.staging].unmap();
            }
            self.steps_submitted = self.steps_done;
        }
        Ok(done)
    }

    fn wait(&self, submission: &wgpu::SubmissionIndex) -> Result<(), GpuError> {
        let polled = self.ctx.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission.clone()),
            timeout: None,
        });
        self.check_health()?;
        polled
            .map(|_| ())
            .map_err(|e| GpuError::Readback(e.to_string()))
    }

    /// A lost device or an error outside any error scope, as an error of this run.
    fn check_health(&self) -> Result<(), GpuError> {
        if let Some(reason) = self.ctx.health.lost() {
            return Err(GpuError::DeviceLost {
                reason,
                time_ms: self.steps_done as f64 * self.network.dt_ms,
            });
        }
        if let Some(message) = self.ctx.health.first_error() {
            return Err(GpuError::Wgpu {
                context: "running the simulation".to_string(),
                message,
            });
        }
        Ok(())
    }

    /// The error for a non-finite state of global neuron `neuron`.
    fn fault(&mut self, neuron: u32) -> BackendError {
        let network = self.network;
        let population = network.population_of(neuron);
        let time_ms = self.steps_done as f64 * network.dt_ms;
        let state = match self.read_state() {
            Ok(s) => s,
            Err(e) => return e.into(),
        };
        let i = neuron as usize;
        let (variable, value) =
            super::non_finite_variable(state.v_m[i], state.g_ex[i], state.g_in[i]);
        BackendError::NonFinite {
            population: network.populations[population].name.clone(),
            neuron: neuron - network.populations[population].offset,
            variable: variable.name(),
            value,
            time_ms,
        }
    }

    /// Copy the neuron state back (after everything submitted so far).
    fn read_state(&mut self) -> Result<NeuronState, GpuError> {
        let n = u64::from(self.res.run.n_neurons);
        let bytes = 4 * n;
        let readback = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("state readback"),
            size: (5 * bytes).max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("state readback"),
            });
        let res = &self.res;
        for (i, b) in [&res.v_m, &res.g_ex, &res.g_in, &res.refractory, &res.i_stim]
            .iter()
            .enumerate()
        {
            encoder.copy_buffer_to_buffer(b, 0, &readback, i as u64 * bytes, bytes);
        }
        let submission = self.ctx.queue.submit([encoder.finish()]);
        readback.map_async(wgpu::MapMode::Read, .., |_| {});
        self.wait(&submission)?;
        let view = readback
            .slice(..)
            .get_mapped_range()
            .map_err(|e| GpuError::Readback(e.to_string()))?;
        let part = |i: usize| &view[i * bytes as usize..(i + 1) * bytes as usize];
        Ok(NeuronState {
            v_m: bytemuck::cast_slice(part(0)).to_vec(),
            g_ex: bytemuck::cast_slice(part(1)).to_vec(),
            g_in: bytemuck::cast_slice(part(2)).to_vec(),
            refractory: bytemuck::cast_slice(part(3)).to_vec(),
            i_stim: bytemuck::cast_slice(part(4)).to_vec(),
        })
    }
}

/// Dispatch one thread per item, in a 2-D grid of workgroups beyond 65,535 per dimension.
fn dispatch_threads(pass: &mut wgpu::ComputePass<'_>, threads: u32) {
    let groups = threads.div_ceil(WORKGROUP_SIZE);
    if groups == 0 {
        return;
    }
    let x = groups.min(65_535);
    pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
}

impl Backend for GpuBackend<'_> {
    fn description(&self) -> String {
        format!("gpu: {}", self.adapter_name())
    }

    fn steps_done(&self) -> u64 {
        self.steps_done
    }

    fn advance(&mut self, max_steps: u64, out: &mut Batch) -> Result<u64, BackendError> {
        self.check_health()?;
        self.fill_pipeline(max_steps.max(1));
        self.collect(out)
    }

    fn drain(&mut self, out: &mut Batch) -> Result<u64, BackendError> {
        self.collect(out)
    }

    fn neuron_state(&mut self) -> Result<NeuronState, BackendError> {
        Ok(self.read_state()?)
    }

    fn set_horizon(&mut self, step: u64) {
        self.horizon = step;
    }

    fn checkpoint(&mut self) -> Result<Checkpoint, BackendError> {
        if !self.in_flight.is_empty() {
            return Err(BackendError::Gpu(
                "a checkpoint was asked for with submissions in flight (drain first)".to_string(),
            ));
        }
        let state = self.read_state()?;
        let bytes = 4 * u64::from(self.res.run.n_neurons) * u64::from(self.res.run.ring_slots);
        let ring = |b: &wgpu::Buffer| -> Result<Vec<i32>, GpuError> {
            let raw = synapses::read_back(&self.ctx.device, &self.ctx.queue, b, 0, bytes)?;
            Ok(bytemuck::cast_slice(&raw).to_vec())
        };
        Ok(Checkpoint {
            step: self.steps_done,
            ring_ex: ring(&self.res.ring_ex)?,
            ring_in: ring(&self.res.ring_in)?,
            state,
        })
    }

    fn restore(&mut self, c: &Checkpoint) -> Result<(), BackendError> {
        // Let anything submitted finish before its buffers are overwritten.
        while let Some(f) = self.in_flight.pop_front() {
            self.wait(&f.submission)?;
            self.staging[f.staging].unmap();
        }
        let q = &self.ctx.queue;
        let res = &self.res;
        q.write_buffer(&res.v_m, 0, bytemuck::cast_slice(&c.state.v_m));
        q.write_buffer(&res.g_ex, 0, bytemuck::cast_slice(&c.state.g_ex));
        q.write_buffer(&res.g_in, 0, bytemuck::cast_slice(&c.state.g_in));
        q.write_buffer(
            &res.refractory,
            0,
            bytemuck::cast_slice(&c.state.refractory),
        );
        q.write_buffer(&res.i_stim, 0, bytemuck::cast_slice(&c.state.i_stim));
        q.write_buffer(&res.ring_ex, 0, bytemuck::cast_slice(&c.ring_ex));
        q.write_buffer(&res.ring_in, 0, bytemuck::cast_slice(&c.ring_in));
        let control = Control {
            next_step_lo: c.step as u32,
            next_step_hi: (c.step >> 32) as u32,
            ..Control::reset()
        };
        q.write_buffer(&res.control, 0, bytemuck::bytes_of(&control));
        self.steps_done = c.step;
        self.steps_submitted = c.step;
        Ok(())
    }
}
