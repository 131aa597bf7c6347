//! The CPU backend: the reference implementation, multi-threaded, with results identical for any
//! thread count.
//!
//! Neurons are split into contiguous partitions, one per thread, each owning its neurons' state
//! and delay rings. Per step a thread updates its neurons (stages 1-3), waits at one barrier, then
//! delivers every thread's spikes of the step to its own targets (stage 4). Spike lists are double
//! buffered by step parity, so a thread may start the next step while others still read the
//! previous step's spikes: one synchronisation per step.

mod neuron_update;
mod propagate;
mod record;
mod stimulus;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::config::Receptor;
use crate::model::StateVariable;
use crate::network::{
    can_merge, merged_indegree_csr, Csr, Network, NeuronState, Probe, RowDrawer, StimulusInput,
    Synapses,
};
use crate::rng::Philox;

use super::{steps_left, Backend, BackendError, Batch, Checkpoint, Spike};
use neuron_update::{Fault, NeuronSlice};
use propagate::{Outgoing, RingView};

/// A batch ends early once it holds this many spikes, to bound memory.
const SPIKES_PER_BATCH: usize = 1 << 22;

/// Partitions start on multiples of this many neurons (64-byte cache lines of f32).
const PARTITION_ALIGN: u32 = 16;

/// Fewer neurons than this per thread is not worth a thread: at COBA's activity a step of this
/// many neurons takes about 10 us, against about 1 us to synchronise two threads.
const MIN_NEURONS_PER_THREAD: u32 = 16_384;

/// Synapses that stage 4 walks for the spikes of one source population: a projection's CSR, or
/// the rows of several merged into one.
struct Rows<'n> {
    /// The projections whose synapses these are.
    members: Vec<usize>,
    source: usize,
    receptor: Receptor,
    csr: Cow<'n, Csr>,
    targets: RowTargets,
}

enum RowTargets {
    /// Indices within this target population.
    Population(usize),
    /// Global neuron indices, in these target populations (`network::merged_indegree_csr`).
    Global(Vec<usize>),
}

/// A procedural projection: rows drawn again whenever a source spikes.
struct ProceduralRows {
    source: usize,
    target: usize,
    receptor: Receptor,
    rule: RowDrawer,
}

/// The synapses the CPU walks, from the network's projections: stored CSRs as they are; the
/// deferred ones drawn here, where `fixed_indegree` projections out of one population with one
/// receptor, weight and delay are drawn into one CSR of merged rows (COBA's E->E and E->I: a
/// spike of E reads one row, not two); procedural ones kept as rules.
fn cpu_synapses<'n>(
    network: &'n Network,
    rng: &Philox,
    threads: usize,
) -> (Vec<Rows<'n>>, Vec<ProceduralRows>) {
    let projections = &network.projections;
    let offset = |p: &crate::network::Projection| network.populations[p.target].offset;
    let mut rows = Vec::new();
    let mut procedural = Vec::new();
    let mut taken = vec![false; projections.len()];
    for (i, p) in projections.iter().enumerate() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let csr = match &p.synapses {
            Synapses::Stored(csr) => Cow::Borrowed(csr),
            Synapses::Procedural(rule) => {
                procedural.push(ProceduralRows {
                    source: p.source,
                    target: p.target,
                    receptor: p.receptor,
                    rule: rule.drawer(),
                });
                continue;
            }
            Synapses::Deferred(rule) => {
                let mut group = vec![(*rule, offset(p))];
                let mut members = vec![i];
                let mut targets = vec![p.target];
                for (j, q) in projections.iter().enumerate().skip(i + 1) {
                    if let (false, Synapses::Deferred(other)) = (taken[j], &q.synapses) {
                        group.push((*other, offset(q)));
                        if q.source == p.source && q.receptor == p.receptor && can_merge(&group) {
                            taken[j] = true;
                            members.push(j);
                            targets.push(q.target);
                        } else {
                            group.pop();
                        }
                    }
                }
                if group.len() > 1 {
                    rows.push(Rows {
                        members,
                        source: p.source,
                        receptor: p.receptor,
                        csr: Cow::Owned(merged_indegree_csr(&group, rng, threads)),
                        targets: RowTargets::Global(targets),
                    });
                    continue;
                }
                Cow::Owned(rule.to_csr(rng, threads))
            }
        };
        rows.push(Rows {
            members: vec![i],
            source: p.source,
            receptor: p.receptor,
            csr,
            targets: RowTargets::Population(p.target),
        });
    }
    (rows, procedural)
}

pub struct CpuBackend<'n> {
    network: &'n Network,
    rng: Philox,
    rows: Vec<Rows<'n>>,
    procedural: Vec<ProceduralRows>,
    partitions: Vec<Partition>,
    /// Spike lists of the last two steps per partition, by step parity.
    spike_lists: Vec<[RwLock<Vec<u32>>; 2]>,
    current_change_steps: Vec<u64>,
    steps_done: u64,
    horizon: u64,
}

/// The neurons one thread owns, and what it produced in the current batch.
struct Partition {
    neurons: Range<u32>,
    v_m: Vec<f32>,
    g_ex: Vec<f32>,
    g_in: Vec<f32>,
    refractory: Vec<i32>,
    i_stim: Vec<f32>,
    /// Delay rings per receptor: `slots` slots of `neurons.len()` entries.
    ring_ex: Vec<i32>,
    ring_in: Vec<i32>,
    /// Scratch of the neuron update.
    update_scratch: neuron_update::Scratch,
    /// Scratch: a procedural row.
    row: Vec<u32>,
    batch_spikes: Vec<Spike>,
    /// Per probe, the samples of this partition's probed neurons.
    batch_samples: Vec<Vec<f32>>,
    steps_run: u64,
}

impl<'n> CpuBackend<'n> {
    /// A backend for `network` on `threads` threads (fewer for small networks).
    pub fn new(network: &'n Network, threads: usize) -> Self {
        Self::with_min_neurons_per_thread(network, threads, MIN_NEURONS_PER_THREAD)
    }

    /// Like `new`, giving each thread at least `min_neurons` neurons (tests use small values
    /// to run small networks on several threads).
    pub fn with_min_neurons_per_thread(
        network: &'n Network,
        threads: usize,
        min_neurons: u32,
    ) -> Self {
        let n = network.n_neurons();
        let requested_threads = threads;
        let threads = (threads.max(1) as u32)
            .min(n.div_ceil(min_neurons.max(PARTITION_ALIGN)))
            .max(1);
        let slots = network.ring_slots() as usize;
        let init = &network.initial_state;
        let partitions: Vec<Partition> = partition_bounds(n, threads)
            .into_iter()
            .map(|neurons| {
                let r = neurons.start as usize..neurons.end as usize;
                let len = r.len();
                Partition {
                    v_m: init.v_m[r.clone()].to_vec(),
                    g_ex: init.g_ex[r.clone()].to_vec(),
                    g_in: init.g_in[r.clone()].to_vec(),
                    refractory: init.refractory[r.clone()].to_vec(),
                    i_stim: init.i_stim[r].to_vec(),
                    ring_ex: vec![0; slots * len],
                    ring_in: vec![0; slots * len],
                    update_scratch: Default::default(),
                    row: Vec::new(),
                    batch_spikes: Vec::new(),
                    batch_samples: vec![Vec::new(); network.probes.len()],
                    steps_run: 0,
                    neurons,
                }
            })
            .collect();
        let spike_lists = partitions
            .iter()
            .map(|_| [RwLock::new(Vec::new()), RwLock::new(Vec::new())])
            .collect();
        let rng = Philox::new(network.seed);
        let (rows, procedural) = cpu_synapses(network, &rng, requested_threads.max(1));
        CpuBackend {
            network,
            rng,
            rows,
            procedural,
            partitions,
            spike_lists,
            current_change_steps: crate::network::current_change_steps(&network.stimuli),
            steps_done: 0,
            horizon: network.n_steps,
        }
    }

    pub fn threads(&self) -> usize {
        self.partitions.len()
    }

    /// The groups of projections whose rows were merged into one CSR, by projection name.
    pub fn merged_projections(&self) -> Vec<Vec<&str>> {
        self.rows
            .iter()
            .filter(|r| r.members.len() > 1)
            .map(|r| {
                r.members
                    .iter()
                    .map(|&p| self.network.projections[p].name.as_str())
                    .collect()
            })
            .collect()
    }

    /// Each neuron's number of outgoing synapses over all projections, from the rows this
    /// backend holds (procedural rows are drawn again and counted).
    pub fn outdegrees(&self) -> Vec<u32> {
        let network = self.network;
        let threads = self.threads();
        let mut out = vec![0u32; network.n_neurons() as usize];
        for rows in &self.rows {
            network.add_outdegrees(&mut out, rows.source, rows.csr.outdegrees());
        }
        for rows in &self.procedural {
            let degrees = rows.rule.rule.outdegrees(&self.rng, threads);
            network.add_outdegrees(&mut out, rows.source, degrees);
        }
        out
    }

    /// The error for a fault in the last step simulated.
    fn fault_error(&self, fault: Fault) -> BackendError {
        let network = self.network;
        let neuron = fault.neuron();
        let population = network.population_of(neuron);
        let pop = &network.populations[population];
        let time_ms = self.steps_done as f64 * network.dt_ms;
        let part = self
            .partitions
            .iter()
            .find(|p| p.neurons.contains(&neuron))
            .expect("a partition holds every neuron");
        let i = (neuron - part.neurons.start) as usize;
        match fault {
            Fault::NonFinite(_) => {
                let (variable, value) =
                    super::non_finite_variable(part.v_m[i], part.g_ex[i], part.g_in[i]);
                BackendError::NonFinite {
                    population: pop.name.clone(),
                    neuron: neuron - pop.offset,
                    variable: variable.name(),
                    value,
                    time_ms,
                }
            }
            Fault::InputOverflow(_) => BackendError::InputOverflow {
                population: pop.name.clone(),
                neuron: neuron - pop.offset,
                time_ms,
            },
        }
    }
}

/// `Shared::fault` when nothing went wrong.
const NO_FAULT: u64 = u64::MAX;
const OVERFLOW_BIT: u64 = 1 << 32;

fn encode_fault(f: Fault) -> u64 {
    match f {
        Fault::NonFinite(n) => u64::from(n),
        Fault::InputOverflow(n) => OVERFLOW_BIT | u64::from(n),
    }
}

fn shared_fault(word: u64) -> Option<Fault> {
    if word == NO_FAULT {
        None
    } else if word & OVERFLOW_BIT != 0 {
        Some(Fault::InputOverflow(word as u32))
    } else {
        Some(Fault::NonFinite(word as u32))
    }
}

/// Split `0..n` into `parts` contiguous ranges starting on aligned indices.
fn partition_bounds(n: u32, parts: u32) -> Vec<Range<u32>> {
    let mut bounds: Vec<u32> = (0..parts)
        .map(|p| {
            let b = (u64::from(n) * u64::from(p) / u64::from(parts)) as u32;
            b / PARTITION_ALIGN * PARTITION_ALIGN
        })
        .collect();
    bounds.push(n);
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Everything the threads share read-only during a batch.
struct Shared<'a> {
    network: &'a Network,
    rows: &'a [Rows<'a>],
    procedural: &'a [ProceduralRows],
    rng: Philox,
    /// The first fault of the batch: kind in the high bit, neuron below (u64::MAX: none).
    fault: AtomicU64,
    spike_lists: &'a [[RwLock<Vec<u32>>; 2]],
    current_change_steps: &'a [u64],
    /// Neurons that current generators target.
    current_targets: Vec<Range<u32>>,
    barrier: SpinBarrier,
    first_step: u64,
    max_steps: u64,
}

impl Backend for CpuBackend<'_> {
    fn description(&self) -> String {
        match self.threads() {
            1 => "cpu, 1 thread".to_string(),
            t => format!("cpu, {t} threads"),
        }
    }

    fn steps_done(&self) -> u64 {
        self.steps_done
    }

    fn advance(&mut self, max_steps: u64, out: &mut Batch) -> Result<u64, BackendError> {
        let network = self.network;
        out.clear(self.steps_done, network.probes.len());
        let max_steps = max_steps
            .min(steps_left(network, self.steps_done))
            .min(self.horizon.saturating_sub(self.steps_done));
        if max_steps == 0 {
            return Ok(0);
        }
        let shared = Shared {
            network,
            rows: &self.rows,
            procedural: &self.procedural,
            rng: self.rng,
            fault: AtomicU64::new(NO_FAULT),
            spike_lists: &self.spike_lists,
            current_change_steps: &self.current_change_steps,
            current_targets: network
                .stimuli
                .iter()
                .filter(|s| matches!(s.input, StimulusInput::Current(_)))
                .map(|s| s.targets.clone())
                .collect(),
            barrier: SpinBarrier::new(self.partitions.len()),
            first_step: self.steps_done,
            max_steps,
        };
        let (first, rest) = self
            .partitions
            .split_first_mut()
            .expect("at least one partition");
        std::thread::scope(|scope| {
            let shared = &shared;
            for (index, part) in rest.iter_mut().enumerate() {
                scope.spawn(move || run_partition(shared, index + 1, part));
            }
            run_partition(shared, 0, first);
        });
        let steps = self.partitions[0].steps_run;
        debug_assert!(self.partitions.iter().all(|p| p.steps_run == steps));
        merge_outputs(
            &mut self.partitions,
            &network.probes,
            out,
            self.steps_done,
            steps,
        );
        self.steps_done += steps;
        out.n_steps = steps;
        match shared_fault(shared.fault.load(Ordering::Relaxed)) {
            None => Ok(steps),
            Some(fault) => Err(self.fault_error(fault)),
        }
    }

    fn set_horizon(&mut self, step: u64) {
        self.horizon = step;
    }

    fn checkpoint(&mut self) -> Result<Checkpoint, BackendError> {
        let n = self.network.n_neurons() as usize;
        let slots = self.network.ring_slots() as usize;
        let mut ring_ex = vec![0; slots * n];
        let mut ring_in = vec![0; slots * n];
        for p in &self.partitions {
            let len = p.neurons.len();
            let first = p.neurons.start as usize;
            for slot in 0..slots {
                let global = slot * n + first..slot * n + first + len;
                ring_ex[global.clone()].copy_from_slice(&p.ring_ex[slot * len..(slot + 1) * len]);
                ring_in[global].copy_from_slice(&p.ring_in[slot * len..(slot + 1) * len]);
            }
        }
        Ok(Checkpoint {
            step: self.steps_done,
            state: self.neuron_state()?,
            ring_ex,
            ring_in,
        })
    }

    fn restore(&mut self, c: &Checkpoint) -> Result<(), BackendError> {
        let n = self.network.n_neurons() as usize;
        let slots = self.network.ring_slots() as usize;
        for p in &mut self.partitions {
            let len = p.neurons.len();
            let r = p.neurons.start as usize..p.neurons.end as usize;
            p.v_m.copy_from_slice(&c.state.v_m[r.clone()]);
            p.g_ex.copy_from_slice(&c.state.g_ex[r.clone()]);
            p.g_in.copy_from_slice(&c.state.g_in[r.clone()]);
            p.refractory.copy_from_slice(&c.state.refractory[r.clone()]);
            p.i_stim.copy_from_slice(&c.state.i_stim[r.clone()]);
            for slot in 0..slots {
                let global = slot * n + r.start..slot * n + r.end;
                p.ring_ex[slot * len..(slot + 1) * len].copy_from_slice(&c.ring_ex[global.clone()]);
                p.ring_in[slot * len..(slot + 1) * len].copy_from_slice(&c.ring_in[global]);
            }
        }
        self.steps_done = c.step;
        Ok(())
    }

    fn neuron_state(&mut self) -> Result<NeuronState, BackendError> {
        let mut s = NeuronState::default();
        for p in &self.partitions {
            s.v_m.extend_from_slice(&p.v_m);
            s.g_ex.extend_from_slice(&p.g_ex);
            s.g_in.extend_from_slice(&p.g_in);
            s.refractory.extend_from_slice(&p.refractory);
            s.i_stim.extend_from_slice(&p.i_stim);
        }
        Ok(s)
    }
}

/// The step loop of one thread over one batch.
fn run_partition(shared: &Shared<'_>, index: usize, part: &mut Partition) {
    let network = shared.network;
    let owned = part.neurons.clone();
    let len = owned.len();
    let slots = network.ring_slots();
    let inv_scale = [
        network.fixed_point.inv_scale(Receptor::Excitatory),
        network.fixed_point.inv_scale(Receptor::Inhibitory),
    ];
    part.batch_spikes.clear();
    for s in &mut part.batch_samples {
        s.clear();
    }
    let outgoing = outgoing(shared, &owned);
    let mut spikes_in_batch = 0usize;
    let mut steps_run = 0;
    for step in shared.first_step..shared.first_step + shared.max_steps {
        let parity = (step % 2) as usize;
        {
            let mut my_spikes = shared.spike_lists[index][parity]
                .write()
                .expect("spike list lock poisoned");
            my_spikes.clear();

            // Stage 1: neuron update, population by population.
            let slot = (step % u64::from(slots)) as usize * len;
            for pop in &network.populations {
                let seg = stimulus::intersect(&pop.range(), &owned);
                if seg.is_empty() {
                    continue;
                }
                let r = (seg.start - owned.start) as usize..(seg.end - owned.start) as usize;
                let ring = slot + r.start..slot + r.end;
                let fault = neuron_update::update(
                    &pop.derived,
                    inv_scale,
                    NeuronSlice {
                        v_m: &mut part.v_m[r.clone()],
                        g_ex: &mut part.g_ex[r.clone()],
                        g_in: &mut part.g_in[r.clone()],
                        refractory: &mut part.refractory[r.clone()],
                        i_stim: &part.i_stim[r.clone()],
                        has_current: shared
                            .current_targets
                            .iter()
                            .any(|t| !stimulus::intersect(t, &seg).is_empty()),
                        ring_ex: &mut part.ring_ex[ring.clone()],
                        ring_in: &mut part.ring_in[ring],
                    },
                    seg.start,
                    &mut part.update_scratch,
                    &mut my_spikes,
                );
                if let Some(f) = fault {
                    shared.fault.fetch_min(encode_fault(f), Ordering::Relaxed);
                }
            }

            // Stage 2: device input due this step.
            for stim in &network.stimuli {
                match &stim.input {
                    StimulusInput::Poisson(p) => {
                        let g = receptor_g(part, p.receptor);
                        stimulus::poisson(p, &stim.targets, &shared.rng, step, &owned, g);
                    }
                    StimulusInput::Spikes(s) => {
                        let g = receptor_g(part, s.receptor);
                        stimulus::spikes(s, &stim.targets, step, &owned, g);
                    }
                    StimulusInput::Current(_) => {}
                }
            }
            if shared.current_change_steps.binary_search(&step).is_ok() {
                stimulus::currents(&network.stimuli, step, &owned, &mut part.i_stim);
            }

            // Stage 3: recording.
            for (probe, out) in network.probes.iter().zip(&mut part.batch_samples) {
                if probe.samples_step(step) {
                    let values = match probe.variable {
                        StateVariable::VM => &part.v_m,
                        StateVariable::GEx => &part.g_ex,
                        StateVariable::GIn => &part.g_in,
                    };
                    record::sample(probe, &owned, values, out);
                }
            }
            part.batch_spikes
                .extend(my_spikes.iter().map(|&neuron| Spike { step, neuron }));
        }

        shared.barrier.wait();

        // Stage 4: deliver every partition's spikes of this step to the targets owned here.
        let mut spikes_this_step = 0;
        for lists in shared.spike_lists {
            let spikes = lists[parity].read().expect("spike list lock poisoned");
            spikes_this_step += spikes.len();
            if spikes.is_empty() {
                continue;
            }
            for (out, receptor, source) in &outgoing {
                let src = &network.populations[*source];
                let lo = spikes.partition_point(|&n| n < src.offset);
                let hi = spikes.partition_point(|&n| n < src.offset + src.n);
                if lo == hi {
                    continue;
                }
                let mut ring = ring_view(
                    [&mut part.ring_ex, &mut part.ring_in],
                    *receptor,
                    &owned,
                    slots,
                );
                propagate::propagate(out, src.offset, &spikes[lo..hi], step, &mut ring);
            }
            for p in shared.procedural {
                let src = &network.populations[p.source];
                let tgt = &network.populations[p.target];
                let lo = spikes.partition_point(|&n| n < src.offset);
                let hi = spikes.partition_point(|&n| n < src.offset + src.n);
                let owned_targets = stimulus::intersect(&tgt.range(), &owned);
                if lo == hi || owned_targets.is_empty() {
                    continue;
                }
                let mut ring = ring_view(
                    [&mut part.ring_ex, &mut part.ring_in],
                    p.receptor,
                    &owned,
                    slots,
                );
                propagate::propagate_procedural(
                    &p.rule,
                    &shared.rng,
                    src.offset,
                    tgt.offset,
                    &spikes[lo..hi],
                    step,
                    owned_targets.start - tgt.offset..owned_targets.end - tgt.offset,
                    &mut ring,
                    &mut part.row,
                );
            }
        }
        steps_run += 1;
        spikes_in_batch += spikes_this_step;
        // Every thread computes the same total and sees the same faults (set before the
        // barrier), so all stop after the same step.
        if spikes_in_batch >= SPIKES_PER_BATCH || shared.fault.load(Ordering::Relaxed) != NO_FAULT {
            break;
        }
    }
    part.steps_run = steps_run;
}

/// The stored rows that reach neurons in `owned`, as this thread delivers them, with their
/// receptor and source population.
fn outgoing<'a>(shared: &Shared<'a>, owned: &Range<u32>) -> Vec<(Outgoing<'a>, Receptor, usize)> {
    let populations = &shared.network.populations;
    let owns_all =
        |p: usize| stimulus::intersect(&populations[p].range(), owned) == populations[p].range();
    let owns_any = |p: usize| !stimulus::intersect(&populations[p].range(), owned).is_empty();
    shared
        .rows
        .iter()
        .filter_map(|rows| {
            let out = match &rows.targets {
                RowTargets::Population(t) => {
                    let tgt = &populations[*t];
                    let mine = stimulus::intersect(&tgt.range(), owned);
                    if mine.is_empty() {
                        return None;
                    }
                    Outgoing {
                        csr: &rows.csr,
                        target_offset: tgt.offset,
                        targets_owned: mine.start - tgt.offset..mine.end - tgt.offset,
                        whole_rows: mine == tgt.range(),
                    }
                }
                RowTargets::Global(targets) => {
                    if !targets.iter().any(|&t| owns_any(t)) {
                        return None;
                    }
                    Outgoing {
                        csr: &rows.csr,
                        target_offset: 0,
                        targets_owned: owned.clone(),
                        whole_rows: targets.iter().all(|&t| owns_all(t)),
                    }
                }
            };
            Some((out, rows.receptor, rows.source))
        })
        .collect()
}

/// The delay ring of `receptor`, out of the rings `[ex, in]` of the partition owning `owned`.
fn ring_view<'a>(
    rings: [&'a mut Vec<i32>; 2],
    receptor: Receptor,
    owned: &Range<u32>,
    slots: u32,
) -> RingView<'a> {
    let [ex, inh] = rings;
    let ring = match receptor {
        Receptor::Excitatory => ex,
        Receptor::Inhibitory => inh,
    };
    RingView {
        len: owned.len(),
        ring,
        first_neuron: owned.start,
        slots,
    }
}

fn receptor_g(part: &mut Partition, receptor: Receptor) -> &mut [f32] {
    match receptor {
        Receptor::Excitatory => &mut part.g_ex,
        Receptor::Inhibitory => &mut part.g_in,
    }
}

/// Combine the partitions' outputs into `out`: spikes by step then neuron, sample rows in neuron
/// order.
fn merge_outputs(
    parts: &mut [Partition],
    probes: &[Probe],
    out: &mut Batch,
    first_step: u64,
    steps: u64,
) {
    if parts.len() == 1 {
        std::mem::swap(&mut out.spikes, &mut parts[0].batch_spikes);
        for (o, s) in out.samples.iter_mut().zip(&mut parts[0].batch_samples) {
            std::mem::swap(o, s);
        }
        return;
    }
    let mut cursors = vec![0usize; parts.len()];
    for step in first_step..first_step + steps {
        for (part, c) in parts.iter().zip(&mut cursors) {
            let start = *c;
            while *c < part.batch_spikes.len() && part.batch_spikes[*c].step == step {
                *c += 1;
            }
            out.spikes.extend_from_slice(&part.batch_spikes[start..*c]);
        }
    }
    for (probe, (out_samples, p)) in out.samples.iter_mut().zip(probes).enumerate() {
        // Each partition holds the same sample rows, each as wide as its share of the probe.
        let widths: Vec<usize> = parts
            .iter()
            .map(|part| {
                let lo = p.neurons.partition_point(|&n| n < part.neurons.start);
                let hi = p.neurons.partition_point(|&n| n < part.neurons.end);
                hi - lo
            })
            .collect();
        let width: usize = widths.iter().sum();
        if width == 0 {
            continue;
        }
        let total: usize = parts
            .iter()
            .map(|part| part.batch_samples[probe].len())
            .sum();
        out_samples.reserve(total);
        for row in 0..total / width {
            for (part, &w) in parts.iter().zip(&widths) {
                out_samples.extend_from_slice(&part.batch_samples[probe][row * w..(row + 1) * w]);
            }
        }
    }
}

/// A barrier for a few threads that spins briefly, then sleeps: a step of a small network takes
/// microseconds, far less than waking a sleeping thread, but on a machine whose cores are busy
/// with other work a spinning thread would steal the time of the one it waits for.
struct SpinBarrier {
    n: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    sleepers: AtomicUsize,
    lock: std::sync::Mutex<()>,
    wake: std::sync::Condvar,
}

impl SpinBarrier {
    /// Spins before sleeping: about 10-50 us.
    const SPINS: u32 = 2_000;

    fn new(n: usize) -> Self {
        SpinBarrier {
            n,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            lock: std::sync::Mutex::new(()),
            wake: std::sync::Condvar::new(),
        }
    }

    fn wait(&self) {
        if self.n == 1 {
            return;
        }
        let generation = self.generation.load(Ordering::SeqCst);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::SeqCst);
            // A sleeper counts itself before it checks the generation (both SeqCst), so either
            // it sees the new generation or this sees it.
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
                self.wake.notify_all();
            }
            return;
        }
        for _ in 0..Self::SPINS {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            std::hint::spin_loop();
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.generation.load(Ordering::SeqCst) == generation {
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        drop(guard);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}
