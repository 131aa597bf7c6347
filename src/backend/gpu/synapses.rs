//! A network's synapses on the device: stored CSR rows uploaded from the host, rules drawn on the
//! device (`shaders/connect.wgsl`: the synapses never pass through host memory), and procedural
//! rules that store nothing. Rows are cut into chunks so that no binding exceeds the adapter's
//! `max_storage_buffer_binding_size`.

use std::ops::Range;

use wgpu::util::DeviceExt;

use crate::network::bernoulli::BernoulliDraw;
use crate::network::{Csr, Network, PerSynapse, Projection, RowRule, RowRuleKind, Synapses};

use super::layout::*;
use super::pipelines::Pipelines;
use super::GpuError;

/// A chunk of one projection's stored rows, or a procedural rule, as propagation binds it (alone,
/// or with another chunk of its source population in one `propagate_pair` dispatch).
pub struct ProjectionChunk {
    pub source_population: u32,
    pub bind_group: wgpu::BindGroup,
    pub procedural: bool,
    /// What `bind_group` binds: the chunk's `ProjectionParams` and its row offsets, targets,
    /// weights and delays (kept to bind two chunks in one `propagate_pair` dispatch).
    pub params: wgpu::Buffer,
    pub buffers: [wgpu::Buffer; 4],
}

/// How one propagation dispatch of a step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropagateKind {
    /// `propagate`: one stored chunk.
    Single,
    /// `propagate_pair`: two stored chunks of one source population.
    Pair,
    /// `propagate_procedural`: a procedural projection's rows, drawn again.
    Procedural,
}

/// One propagation dispatch of a step, sized by its source population's spike count.
pub struct PropagateDispatch {
    pub source_population: u32,
    pub kind: PropagateKind,
    pub bind_group: wgpu::BindGroup,
}

/// The propagation dispatches of a step: the stored chunks of each source population two by two
/// (`propagate_pair`, where `pairs`; an odd one alone, last), procedural ones alone. Their order
/// does not matter: integer atomics give the same sums in any order.
pub fn propagate_dispatches(
    device: &wgpu::Device,
    layouts: &super::pipelines::Layouts,
    chunks: &[ProjectionChunk],
    pairs: bool,
) -> Vec<PropagateDispatch> {
    let mut dispatches = Vec::new();
    let mut pending: Vec<Option<&ProjectionChunk>> = Vec::new();
    for chunk in chunks {
        let p = chunk.source_population as usize;
        if chunk.procedural || !pairs {
            dispatches.push(PropagateDispatch {
                source_population: chunk.source_population,
                kind: if chunk.procedural {
                    PropagateKind::Procedural
                } else {
                    PropagateKind::Single
                },
                bind_group: chunk.bind_group.clone(),
            });
            continue;
        }
        if pending.len() <= p {
            pending.resize(p + 1, None);
        }
        match pending[p].take() {
            None => pending[p] = Some(chunk),
            Some(first) => {
                let [a, b] = [first, chunk];
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("projection pair"),
                    layout: &layouts.projection_pair,
                    entries: &[
                        entry(0, &a.params),
                        entry(1, &a.buffers[0]),
                        entry(2, &a.buffers[1]),
                        entry(3, &a.buffers[2]),
                        entry(4, &a.buffers[3]),
                        entry(10, &b.params),
                        entry(11, &b.buffers[0]),
                        entry(12, &b.buffers[1]),
                        entry(13, &b.buffers[2]),
                        entry(14, &b.buffers[3]),
                    ],
                });
                dispatches.push(PropagateDispatch {
                    source_population: chunk.source_population,
                    kind: PropagateKind::Pair,
                    bind_group,
                });
            }
        }
    }
    for chunk in pending.into_iter().flatten() {
        dispatches.push(PropagateDispatch {
            source_population: chunk.source_population,
            kind: PropagateKind::Single,
            bind_group: chunk.bind_group.clone(),
        });
    }
    dispatches
}

/// A projection's CSR on the device, for reading back (tests compare it with the host's).
pub struct DeviceCsr {
    pub projection: usize,
    /// Row offsets (as on the host: `n_sources + 1` synapse indices).
    pub row_offsets: Vec<u64>,
    /// Target buffers and the synapse range each holds.
    pub chunks: Vec<(wgpu::Buffer, Range<u64>)>,
}

/// Creates the buffers; counts the bytes.
pub struct Allocator<'a> {
    pub device: &'a wgpu::Device,
    pub bytes: u64,
}

impl Allocator<'_> {
    pub fn init(
        &mut self,
        label: &str,
        contents: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        // Bindings need at least 4 bytes.
        let padded;
        let contents = if contents.len() < 4 {
            padded = [contents, &[0u8; 4][..4 - contents.len()]].concat();
            &padded[..]
        } else {
            contents
        };
        self.bytes += contents.len() as u64;
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
    }

    pub fn zeroed(&mut self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let size = size.max(4).next_multiple_of(4);
        self.bytes += size;
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    }
}

const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE;
const UNIFORM: wgpu::BufferUsages = wgpu::BufferUsages::UNIFORM;
const COPY_SRC: wgpu::BufferUsages = wgpu::BufferUsages::COPY_SRC;

pub fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

/// Buffers bound where a dispatch uses nothing.
struct Placeholders {
    read: wgpu::Buffer,
    write: wgpu::Buffer,
}

/// Everything the synapse setup needs of the device.
pub struct SynapseContext<'a> {
    pub device: &'a wgpu::Device,
    pub queue: &'a wgpu::Queue,
    pub pipelines: &'a Pipelines,
    /// Most bytes one storage binding may hold.
    pub binding_limit: u64,
    /// The run's Philox key.
    pub key: [u32; 2],
}

/// Put every projection of `network` on the device.
pub fn upload(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    network: &Network,
) -> Result<(Vec<ProjectionChunk>, Vec<DeviceCsr>), GpuError> {
    // Unused bindings get a 4-byte buffer: one for read-only bindings, another for writable ones
    // (one buffer may not be both in one dispatch).
    let placeholders = Placeholders {
        read: alloc.zeroed("placeholder (read)", 4, STORAGE),
        write: alloc.zeroed("placeholder (write)", 4, STORAGE),
    };
    let placeholder = &placeholders.read;
    let mut chunks = Vec::new();
    let mut csrs = Vec::new();
    for (index, proj) in network.projections.iter().enumerate() {
        match &proj.synapses {
            Synapses::Stored(csr) => {
                if csr.n_synapses() == 0 {
                    continue;
                }
                let offsets = upload_offsets(ctx, alloc, proj, &csr.row_offsets)?;
                let mut device_chunks = Vec::new();
                for rows in chunk_rows(proj, &csr.row_offsets, ctx.binding_limit / 4)? {
                    let (chunk, targets) =
                        stored_chunk(ctx, alloc, network, proj, csr, rows, &offsets, placeholder);
                    chunks.push(chunk);
                    device_chunks.push(targets);
                }
                csrs.push(DeviceCsr {
                    projection: index,
                    row_offsets: csr.row_offsets.clone(),
                    chunks: device_chunks,
                });
            }
            Synapses::Deferred(rule) => {
                if rule.has_no_synapses() {
                    continue;
                }
                let (mut new_chunks, csr) =
                    drawn_on_device(ctx, alloc, network, index, rule, &placeholders)?;
                chunks.append(&mut new_chunks);
                csrs.push(csr);
            }
            Synapses::Procedural(rule) => {
                chunks.push(procedural(ctx, alloc, network, proj, rule, placeholder));
            }
        }
    }
    Ok((chunks, csrs))
}

fn check_binding(what: String, bytes: u64, limit: u64) -> Result<(), GpuError> {
    if bytes > limit {
        return Err(GpuError::TooLarge { what, bytes, limit });
    }
    Ok(())
}

fn upload_offsets(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    proj: &Projection,
    row_offsets: &[u64],
) -> Result<wgpu::Buffer, GpuError> {
    // Synapse indices are u32 on the device (the build refuses larger projections; a drawn
    // pairwise_bernoulli count can still exceed its expectation).
    let total = row_offsets.last().copied().unwrap_or(0);
    if total > u64::from(u32::MAX) {
        return Err(GpuError::TooMany {
            what: format!("the synapses drawn for projection `{}`", proj.name),
            count: total,
        });
    }
    let offsets: Vec<u32> = row_offsets.iter().map(|&o| o as u32).collect();
    check_binding(
        format!("row offsets of projection `{}`", proj.name),
        4 * offsets.len() as u64,
        ctx.binding_limit,
    )?;
    Ok(alloc.init(
        &format!("{} row offsets", proj.name),
        bytemuck::cast_slice(&offsets),
        STORAGE,
    ))
}

/// Split rows into ranges whose synapses number at most `max_synapses`.
fn chunk_rows(
    proj: &Projection,
    row_offsets: &[u64],
    max_synapses: u64,
) -> Result<Vec<Range<usize>>, GpuError> {
    let n_rows = row_offsets.len() - 1;
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < n_rows {
        let base = row_offsets[start];
        // The last row whose end stays within the budget.
        let end = row_offsets[start + 1..].partition_point(|&o| o - base <= max_synapses) + start;
        if end == start {
            return Err(GpuError::TooLarge {
                what: format!("row {start} of projection `{}`", proj.name),
                bytes: 4 * (row_offsets[start + 1] - base),
                limit: 4 * max_synapses,
            });
        }
        ranges.push(start..end);
        start = end;
    }
    Ok(ranges)
}

fn params(network: &Network, proj: &Projection) -> ProjectionParams {
    ProjectionParams {
        source_offset: network.populations[proj.source].offset,
        source_population: proj.source as u32,
        target_offset: network.populations[proj.target].offset,
        receptor: proj.receptor.index() as u32,
        ..ProjectionParams::default()
    }
}

/// A chunk of `proj`'s rows with its parameters and buffers (row offsets, targets, weights,
/// delays), bound for `propagate` or `propagate_procedural`.
fn projection_chunk(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    label: &str,
    params: &ProjectionParams,
    buffers: [&wgpu::Buffer; 4],
    procedural: bool,
) -> ProjectionChunk {
    let params_buffer = alloc.init(label, bytemuck::bytes_of(params), UNIFORM);
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &ctx.pipelines.layouts.projection,
        entries: &[
            entry(0, &params_buffer),
            entry(1, buffers[0]),
            entry(2, buffers[1]),
            entry(3, buffers[2]),
            entry(4, buffers[3]),
        ],
    });
    ProjectionChunk {
        source_population: params.source_population,
        bind_group,
        procedural,
        params: params_buffer,
        buffers: buffers.map(|b| b.clone()),
    }
}

#[allow(clippy::too_many_arguments)]
fn stored_chunk(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    network: &Network,
    proj: &Projection,
    csr: &Csr,
    rows: Range<usize>,
    offsets: &wgpu::Buffer,
    placeholder: &wgpu::Buffer,
) -> (ProjectionChunk, (wgpu::Buffer, Range<u64>)) {
    let synapses = csr.row_offsets[rows.start] as usize..csr.row_offsets[rows.end] as usize;
    let label = format!("{} rows {}..{}", proj.name, rows.start, rows.end);
    let targets = alloc.init(
        &label,
        bytemuck::cast_slice(&csr.targets[synapses.clone()]),
        STORAGE | COPY_SRC,
    );
    let (weight, weights) = match &csr.weights {
        PerSynapse::Constant(w) => (*w, None),
        PerSynapse::Each(ws) => (
            0,
            Some(alloc.init(&label, bytemuck::cast_slice(&ws[synapses.clone()]), STORAGE)),
        ),
    };
    let (delay, delays) = match &csr.delays {
        PerSynapse::Constant(d) => (u32::from(*d), None),
        PerSynapse::Each(ds) => {
            let packed: Vec<u32> = ds[synapses.clone()]
                .chunks(2)
                .map(|pair| u32::from(pair[0]) | pair.get(1).map_or(0, |&d| u32::from(d) << 16))
                .collect();
            (
                0,
                Some(alloc.init(&label, bytemuck::cast_slice(&packed), STORAGE)),
            )
        }
    };
    let p = ProjectionParams {
        weight,
        delay,
        per_synapse_weights: u32::from(weights.is_some()),
        per_synapse_delays: u32::from(delays.is_some()),
        row_begin: rows.start as u32,
        row_end: rows.end as u32,
        synapse_begin: synapses.start as u32,
        ..params(network, proj)
    };
    let chunk = projection_chunk(
        ctx,
        alloc,
        &label,
        &p,
        [
            offsets,
            &targets,
            weights.as_ref().unwrap_or(placeholder),
            delays.as_ref().unwrap_or(placeholder),
        ],
        false,
    );
    (chunk, (targets, synapses.start as u64..synapses.end as u64))
}

fn procedural(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    network: &Network,
    proj: &Projection,
    rule: &RowRule,
    placeholder: &wgpu::Buffer,
) -> ProjectionChunk {
    let bernoulli = rule.bernoulli();
    let (row_kind, row_length) = match rule.kind {
        RowRuleKind::FixedOutdegree(k) => (ROW_OUTDEGREE, k),
        RowRuleKind::AllToAll => (ROW_ALL_TO_ALL, rule.n_targets),
        RowRuleKind::OneToOne => (ROW_ONE_TO_ONE, 1),
        RowRuleKind::PairwiseBernoulli(_) => (
            ROW_BERNOULLI,
            bernoulli
                .as_ref()
                .expect("a pairwise_bernoulli draw")
                .segment,
        ),
        RowRuleKind::FixedIndegree(_) | RowRuleKind::FixedTotalNumber(_) => {
            unreachable!("{:?} is never procedural", rule.kind)
        }
    };
    let label = format!("{} (procedural)", proj.name);
    // pairwise_bernoulli's thresholds take the place of the targets.
    let thresholds = thresholds_buffer(alloc, &label, &bernoulli);
    let p = ProjectionParams {
        weight: rule.weight,
        delay: u32::from(rule.delay),
        row_begin: 0,
        row_end: rule.n_sources,
        row_kind,
        row_length,
        n_targets: rule.n_targets,
        exclude_self: u32::from(rule.exclude_self),
        stream: rule.stream,
        table_length: table_length(&bernoulli),
        ..params(network, proj)
    };
    projection_chunk(
        ctx,
        alloc,
        &label,
        &p,
        [
            placeholder,
            thresholds.as_ref().unwrap_or(placeholder),
            placeholder,
            placeholder,
        ],
        true,
    )
}

/// The thresholds of a `pairwise_bernoulli` draw on the device (None for the other rules).
fn thresholds_buffer(
    alloc: &mut Allocator<'_>,
    label: &str,
    bernoulli: &Option<BernoulliDraw>,
) -> Option<wgpu::Buffer> {
    bernoulli
        .as_ref()
        .map(|b| alloc.init(label, bytemuck::cast_slice(&b.thresholds), STORAGE))
}

fn table_length(bernoulli: &Option<BernoulliDraw>) -> u32 {
    bernoulli.as_ref().map_or(0, |b| b.thresholds.len() as u32)
}

/// Work items of one connect dispatch of `pairwise_bernoulli` (segments of rows, about 16 synapses
/// each): dispatches stay short, as some drivers stop a dispatch that runs for seconds.
const BERNOULLI_ITEMS_PER_DISPATCH: u64 = 1 << 20;

/// Consecutive ranges of `rows` with at most `BERNOULLI_ITEMS_PER_DISPATCH` items (at least one
/// row each) at `per_row` items per row.
fn row_batches(rows: Range<u32>, per_row: u64) -> Vec<Range<u32>> {
    let step = (BERNOULLI_ITEMS_PER_DISPATCH / per_row.max(1)).clamp(1, u64::from(u32::MAX)) as u32;
    (rows.start..rows.end)
        .step_by(step as usize)
        .map(|r| r..r.saturating_add(step).min(rows.end))
        .collect()
}

/// Draw a rule's synapses on the device into chunked target buffers: rules whose rows' lengths
/// are drawn (`RowRule::counts_rows`) count each row's synapses first; the host turns the counts
/// into row offsets (4 bytes per source cross the bus, nothing per synapse); a second pass makes
/// the same draws again and writes each synapse into its row.
fn drawn_on_device(
    ctx: &SynapseContext<'_>,
    alloc: &mut Allocator<'_>,
    network: &Network,
    index: usize,
    rule: &RowRule,
    placeholders: &Placeholders,
) -> Result<(Vec<ProjectionChunk>, DeviceCsr), GpuError> {
    let placeholder = &placeholders.read;
    let proj = &network.projections[index];
    let n_s = u64::from(rule.n_sources);
    let bernoulli = rule.bernoulli();
    let thresholds = thresholds_buffer(alloc, &format!("{} thresholds", proj.name), &bernoulli);
    let segments = bernoulli.as_ref().map_or(0, |b| u64::from(b.segments()));
    let base = ConnectParams {
        n_sources: rule.n_sources,
        n_targets: rule.n_targets,
        k: match rule.kind {
            RowRuleKind::FixedIndegree(k)
            | RowRuleKind::FixedOutdegree(k)
            | RowRuleKind::FixedTotalNumber(k) => k,
            _ => 0,
        },
        exclude_self: u32::from(rule.exclude_self),
        stream: rule.stream,
        key0: ctx.key[0],
        key1: ctx.key[1],
        segment: bernoulli.as_ref().map_or(0, |b| b.segment),
        table_length: table_length(&bernoulli),
        ..ConnectParams::default()
    };
    let bindings = ConnectBindings {
        thresholds: thresholds.as_ref().unwrap_or(placeholder),
        placeholder: &placeholders.write,
    };
    // Rules whose rows' lengths are drawn run in two passes, count and fill, of the same
    // dispatches: `passes(rows)` lists them (rows, work items) for the rows a pass covers.
    let two_passes = match rule.kind {
        RowRuleKind::FixedIndegree(_) => Some(&ctx.pipelines.indegree),
        RowRuleKind::FixedTotalNumber(_) => Some(&ctx.pipelines.total),
        RowRuleKind::PairwiseBernoulli(_) => Some(&ctx.pipelines.bernoulli),
        _ => None,
    };
    let passes = |rows: Range<u32>| -> Vec<(Range<u32>, u64)> {
        match rule.kind {
            // Drawn per target or per pair: every dispatch draws everything, and keeps the rows
            // of `rows`.
            RowRuleKind::FixedIndegree(k) => {
                vec![(rows, u64::from(rule.n_targets) * u64::from(k.div_ceil(4)))]
            }
            RowRuleKind::FixedTotalNumber(n) => vec![(rows, u64::from(n.div_ceil(2)))],
            // Drawn per segment of the rows.
            _ => row_batches(rows, segments)
                .into_iter()
                .map(|batch| {
                    let items = u64::from(batch.end - batch.start) * segments;
                    (batch, items)
                })
                .collect(),
        }
    };
    let per_row = |k: u64| -> Vec<u64> { (0..=n_s).map(|i| i * k).collect() };
    let mut row_counts = None;
    let row_offsets: Vec<u64> = match (rule.kind, two_passes) {
        (RowRuleKind::FixedOutdegree(k), _) => per_row(u64::from(k)),
        (RowRuleKind::AllToAll, _) => {
            per_row(u64::from(rule.n_targets - u32::from(rule.exclude_self)))
        }
        (RowRuleKind::OneToOne, _) => per_row(1),
        (_, Some(pipelines)) => {
            let counts = alloc.zeroed(
                "row counts",
                4 * n_s,
                STORAGE | COPY_SRC | wgpu::BufferUsages::COPY_DST,
            );
            for (rows, items) in passes(0..rule.n_sources) {
                let p = ConnectParams {
                    row_begin: rows.start,
                    row_end: rows.end,
                    items: items_u32(items, proj)?,
                    ..base
                };
                connect_dispatch(
                    ctx,
                    &pipelines.count,
                    &p,
                    &counts,
                    placeholder,
                    &[],
                    &bindings,
                );
            }
            let counts_host = read_u32(ctx, &counts, n_s)?;
            let mut offsets = Vec::with_capacity(n_s as usize + 1);
            offsets.push(0u64);
            for c in counts_host {
                offsets.push(offsets.last().copied().unwrap_or(0) + u64::from(c));
            }
            row_counts = Some(counts);
            offsets
        }
        (kind, None) => unreachable!("{kind:?} has no count pass"),
    };
    let offsets_buffer = upload_offsets(ctx, alloc, proj, &row_offsets)?;
    let ranges = chunk_rows(proj, &row_offsets, ctx.binding_limit / 4)?;
    let mut targets = Vec::new();
    for rows in &ranges {
        let synapses = row_offsets[rows.start]..row_offsets[rows.end];
        let label = format!(
            "{} rows {}..{} (drawn on the device)",
            proj.name, rows.start, rows.end
        );
        targets.push((
            alloc.zeroed(
                &label,
                4 * (synapses.end - synapses.start),
                STORAGE | COPY_SRC,
            ),
            synapses,
        ));
    }
    // Fill, up to CONNECT_CHUNKS chunks per dispatch; rules not drawn per row (per target or per
    // pair) one chunk per dispatch. Those draw everything in each dispatch and scatter what they
    // keep at random, and a scatter over one 2 GiB chunk is far cheaper than one over all of them: on an
    // H200, 4,000,000 neurons at in-degree 1,000 (E->E in five chunks, 9.6 GiB) were drawn in
    // 0.69 s this way against 11.0 s in one dispatch (likely the GPU's address translation
    // missing on every store), while 1,000,000 (two chunks) took the same 0.17 s either way.
    if let Some(counts) = &row_counts {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("clear row cursors"),
            });
        encoder.clear_buffer(counts, 0, None);
        ctx.queue.submit([encoder.finish()]);
    }
    let per_dispatch = if rule.draws_rows() { CONNECT_CHUNKS } else { 1 };
    for (group, rows) in ranges
        .chunks(per_dispatch)
        .zip(targets.chunks(per_dispatch))
    {
        let row_begin = group[0].start as u32;
        let row_end = group[group.len() - 1].end as u32;
        let rows_in = u64::from(row_end - row_begin);
        let mut chunk_starts = [u32::MAX; 12];
        for (i, (_, synapses)) in rows.iter().enumerate() {
            chunk_starts[i] = synapses.start as u32;
            chunk_starts[i + 1] = synapses.end as u32;
        }
        let buffers: Vec<&wgpu::Buffer> = rows.iter().map(|(b, _)| b).collect();
        let counts = row_counts.as_ref().unwrap_or(&placeholders.write);
        let fill = |pipeline, rows: Range<u32>, items: u64| -> Result<(), GpuError> {
            let p = ConnectParams {
                row_begin: rows.start,
                row_end: rows.end,
                items: items_u32(items, proj)?,
                chunk_starts,
                ..base
            };
            connect_dispatch(
                ctx,
                pipeline,
                &p,
                counts,
                &offsets_buffer,
                &buffers,
                &bindings,
            );
            Ok(())
        };
        let pipelines = ctx.pipelines;
        match (rule.kind, two_passes) {
            (_, Some(two)) => {
                for (rows, items) in passes(row_begin..row_end) {
                    fill(&two.fill, rows, items)?;
                }
            }
            (RowRuleKind::FixedOutdegree(k), None) => fill(
                &pipelines.outdegree_fill,
                row_begin..row_end,
                rows_in * u64::from(k.div_ceil(4)),
            )?,
            (RowRuleKind::AllToAll, None) => fill(
                &pipelines.all_to_all_fill,
                row_begin..row_end,
                rows_in * u64::from(rule.n_targets - u32::from(rule.exclude_self)),
            )?,
            (RowRuleKind::OneToOne, None) => {
                fill(&pipelines.one_to_one_fill, row_begin..row_end, rows_in)?
            }
            (kind, None) => unreachable!("{kind:?} is drawn in two passes"),
        }
    }
    let chunks = ranges
        .iter()
        .zip(&targets)
        .map(|(rows, (buffer, synapses))| {
            let p = ProjectionParams {
                weight: rule.weight,
                delay: u32::from(rule.delay),
                row_begin: rows.start as u32,
                row_end: rows.end as u32,
                synapse_begin: synapses.start as u32,
                ..params(network, proj)
            };
            let label = format!("{} rows {}..{}", proj.name, rows.start, rows.end);
            projection_chunk(
                ctx,
                alloc,
                &label,
                &p,
                [&offsets_buffer, buffer, placeholder, placeholder],
                false,
            )
        })
        .collect();
    Ok((
        chunks,
        DeviceCsr {
            projection: index,
            row_offsets,
            chunks: targets,
        },
    ))
}

fn items_u32(items: u64, proj: &Projection) -> Result<u32, GpuError> {
    u32::try_from(items).map_err(|_| GpuError::TooMany {
        what: format!("the draws of projection `{}` in one dispatch", proj.name),
        count: items,
    })
}

/// What every connect dispatch of one rule binds besides its counts, offsets and targets.
struct ConnectBindings<'a> {
    /// `bernoulli_thresholds` (a placeholder but for pairwise_bernoulli).
    thresholds: &'a wgpu::Buffer,
    /// Bound to the target slots a dispatch does not use.
    placeholder: &'a wgpu::Buffer,
}

/// Encode and submit one connect dispatch of `p.items` threads.
fn connect_dispatch(
    ctx: &SynapseContext<'_>,
    pipeline: &wgpu::ComputePipeline,
    p: &ConnectParams,
    row_counts: &wgpu::Buffer,
    row_offsets: &wgpu::Buffer,
    targets: &[&wgpu::Buffer],
    bindings: &ConnectBindings<'_>,
) {
    let params = ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("connect params"),
            contents: bytemuck::bytes_of(p),
            usage: UNIFORM,
        });
    let mut entries = vec![
        entry(0, &params),
        entry(1, row_counts),
        entry(2, row_offsets),
    ];
    for slot in 0..CONNECT_CHUNKS {
        entries.push(entry(
            3 + slot as u32,
            targets.get(slot).copied().unwrap_or(bindings.placeholder),
        ));
    }
    entries.push(entry(11, bindings.thresholds));
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("connect"),
        layout: &ctx.pipelines.layouts.connect,
        entries: &entries,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("connect"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let groups = p.items.div_ceil(WORKGROUP_SIZE);
        if groups > 0 {
            let x = groups.min(65_535);
            pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
        }
    }
    ctx.queue.submit([encoder.finish()]);
}

/// Read `n` u32 of `buffer` back.
pub fn read_u32(
    ctx: &SynapseContext<'_>,
    buffer: &wgpu::Buffer,
    n: u64,
) -> Result<Vec<u32>, GpuError> {
    read_back(ctx.device, ctx.queue, buffer, 0, 4 * n)
        .map(|bytes| bytemuck::cast_slice(&bytes).to_vec())
}

/// Copy `size` bytes of `buffer` from `offset` to the host.
pub fn read_back(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    buffer: &wgpu::Buffer,
    offset: u64,
    size: u64,
) -> Result<Vec<u8>, GpuError> {
    if size == 0 {
        return Ok(Vec::new());
    }
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
        label: Some("readback"),
    });
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, size);
    let submission = queue.submit([encoder.finish()]);
    staging.map_async(wgpu::MapMode::Read, .., |_| {});
    device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: None,
        })
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let bytes = staging
        .slice(..)
        .get_mapped_range()
        .map_err(|e| GpuError::Readback(e.to_string()))?
        .to_vec();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_batches_cover_the_rows_within_the_item_budget() {
        let per_row = 1000;
        let batches = row_batches(10..20_000, per_row);
        assert_eq!(batches.first().map(|b| b.start), Some(10));
        assert_eq!(batches.last().map(|b| b.end), Some(20_000));
        assert!(batches.windows(2).all(|w| w[0].end == w[1].start));
        assert!(batches.iter().all(|b| !b.is_empty()
            && u64::from(b.end - b.start) * per_row <= BERNOULLI_ITEMS_PER_DISPATCH));
        assert!(batches.len() > 1);
        // A row with more items than the budget still gets a batch of its own.
        assert_eq!(
            row_batches(0..3, BERNOULLI_ITEMS_PER_DISPATCH * 2),
            vec![0..1, 1..2, 2..3]
        );
        assert_eq!(row_batches(5..5, 7), Vec::<Range<u32>>::new());
    }
}
