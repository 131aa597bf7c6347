// Stage 4: push the spikes of this step along their CSR rows into the delay rings, with integer
// atomics on fixed-point weights: the sums do not depend on thread order. CPU twin:
// src/backend/cpu/propagate.rs.
//
// `dispatch_args` sizes the propagation from the spike counts, on the GPU: one workgroup per
// spike, in a 2-D grid beyond 65,535 spikes. A chunk is a range of a projection's source rows
// whose synapses fit one storage binding; `propagate_pair` walks two chunks of one source
// population in one dispatch (E->E and E->I of COBA), which saves a dispatch, and its launch and
// barrier, per pair and step; `propagate` walks a chunk left alone (an odd one, or every chunk
// where the adapter has too few storage bindings for pairs).

// Twin: ProjectionParams.
struct Projection {
    source_offset: u32,
    source_population: u32,
    target_offset: u32,
    // 0: g_ex, 1: g_in.
    receptor: u32,
    // Used when the projection has one weight [fixed-point units] / one delay [steps].
    weight: i32,
    delay: u32,
    per_synapse_weights: u32,
    per_synapse_delays: u32,
    // The source rows of this chunk, and the index of its first synapse in the projection.
    row_begin: u32,
    row_end: u32,
    synapse_begin: u32,
    // Procedural rows (propagate_procedural): 1 fixed_outdegree, 2 all_to_all, 3 one_to_one,
    // 4 pairwise_bernoulli.
    row_kind: u32,
    // Draws per row (fixed_outdegree), targets per segment (pairwise_bernoulli).
    row_length: u32,
    n_targets: u32,
    exclude_self: u32,
    // Philox stream word of the rule; the key is the run's (RunParams).
    stream: u32,
    // Thresholds of pairwise_bernoulli, bound as `targets`.
    table_length: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(2) @binding(0) var<uniform> proj: Projection;
@group(2) @binding(1) var<storage, read> row_offsets: array<u32>;
@group(2) @binding(2) var<storage, read> targets: array<u32>;
@group(2) @binding(3) var<storage, read> weights: array<i32>;
// Two 16-bit delays per word.
@group(2) @binding(4) var<storage, read> delays: array<u32>;

// The second chunk of `propagate_pair`, as bindings 0-4 are the first.
@group(2) @binding(10) var<uniform> proj_b: Projection;
@group(2) @binding(11) var<storage, read> row_offsets_b: array<u32>;
@group(2) @binding(12) var<storage, read> targets_b: array<u32>;
@group(2) @binding(13) var<storage, read> weights_b: array<i32>;
@group(2) @binding(14) var<storage, read> delays_b: array<u32>;

// A procedural pairwise_bernoulli rule binds its thresholds as `targets`.
fn bernoulli_threshold(j: u32) -> u32 {
    return targets[j];
}

// Indirect dispatch arguments, three words per population (bound only to `dispatch_args`).
@group(2) @binding(5) var<storage, read_write> dispatch_args_out: array<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn dispatch_args(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.x;
    if (p >= run.n_populations) {
        return;
    }
    var count = atomicLoad(&spike_counts[p]);
    if (!step_is_live()) {
        count = 0u;
    }
    let x = min(count, 65535u);
    let y = select(1u, (count + 65534u) / 65535u, count > 65535u);
    dispatch_args_out[3u * p] = x;
    dispatch_args_out[3u * p + 1u] = y;
    dispatch_args_out[3u * p + 2u] = 1u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn propagate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let spike = workgroup_index(wid, nwg);
    if (spike >= atomicLoad(&spike_counts[proj.source_population])) {
        return;
    }
    walk_row(spikes[proj.source_offset + spike] - proj.source_offset, lid);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn propagate_pair(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    // Both chunks have the same source population (and so the same source offset).
    let spike = workgroup_index(wid, nwg);
    if (spike >= atomicLoad(&spike_counts[proj.source_population])) {
        return;
    }
    let row = spikes[proj.source_offset + spike] - proj.source_offset;
    walk_row(row, lid);
    walk_row_b(row, lid);
}

// Deliver row `row` of the chunk bound at 0-4, if the chunk holds it.
fn walk_row(row: u32, lid: u32) {
    if (row < proj.row_begin || row >= proj.row_end) {
        return;
    }
    let begin = row_offsets[row];
    let end = row_offsets[row + 1u];
    for (var j = begin + lid; j < end; j += WORKGROUP_SIZE) {
        let local = j - proj.synapse_begin;
        var w = proj.weight;
        if (proj.per_synapse_weights != 0u) {
            w = weights[local];
        }
        var d = proj.delay;
        if (proj.per_synapse_delays != 0u) {
            d = (delays[local / 2u] >> (16u * (local & 1u))) & 0xffffu;
        }
        deliver_to(proj.target_offset + targets[local], proj.receptor, w, d);
    }
}

// `walk_row` for the chunk bound at 10-14 (WGSL passes no storage buffers to functions).
fn walk_row_b(row: u32, lid: u32) {
    if (row < proj_b.row_begin || row >= proj_b.row_end) {
        return;
    }
    let begin = row_offsets_b[row];
    let end = row_offsets_b[row + 1u];
    for (var j = begin + lid; j < end; j += WORKGROUP_SIZE) {
        let local = j - proj_b.synapse_begin;
        var w = proj_b.weight;
        if (proj_b.per_synapse_weights != 0u) {
            w = weights_b[local];
        }
        var d = proj_b.delay;
        if (proj_b.per_synapse_delays != 0u) {
            d = (delays_b[local / 2u] >> (16u * (local & 1u))) & 0xffffu;
        }
        deliver_to(proj_b.target_offset + targets_b[local], proj_b.receptor, w, d);
    }
}

// Add `weight` to neuron `neuron` (global index), `delay` steps from now.
fn deliver_to(neuron: u32, receptor: u32, weight: i32, delay: u32) {
    let index = ((step.slot + delay) % run.ring_slots) * run.n_neurons + neuron;
    if (receptor == 0u) {
        atomicAdd(&ring_ex[index], weight);
    } else {
        atomicAdd(&ring_in[index], weight);
    }
}

fn deliver(target_index: u32, weight: i32, delay: u32) {
    deliver_to(proj.target_offset + target_index, proj.receptor, weight, delay);
}

// Procedural synapses: the row of each spiking source is drawn again, with the draws of
// connect.wgsl and shared/bernoulli.wgsl (twin: network::RowDrawer::row_targets), never stored.
@compute @workgroup_size(WORKGROUP_SIZE)
fn propagate_procedural(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    if (!step_is_live()) {
        return;
    }
    let spike = workgroup_index(wid, nwg);
    if (spike >= atomicLoad(&spike_counts[proj.source_population])) {
        return;
    }
    let row = spikes[proj.source_offset + spike] - proj.source_offset;
    if (proj.row_kind == 1u) {
        // fixed_outdegree: each thread draws blocks of four partners.
        let pool = proj.n_targets - proj.exclude_self;
        let key = vec2<u32>(run.key0, run.key1);
        for (var b = lid; 4u * b < proj.row_length; b += WORKGROUP_SIZE) {
            let words = philox4x32_10(vec4<u32>(b, 0u, row, proj.stream), key);
            for (var lane = 0u; lane < 4u; lane++) {
                if (4u * b + lane < proj.row_length) {
                    let v = mul_hi(words[lane], pool);
                    deliver(select(v, v + 1u, proj.exclude_self != 0u && v >= row), proj.weight, proj.delay);
                }
            }
        }
    } else if (proj.row_kind == 4u) {
        // pairwise_bernoulli: each thread walks segments of the row.
        let segments = bernoulli_segments(proj.n_targets, proj.row_length);
        for (var g = lid; g < segments; g += WORKGROUP_SIZE) {
            var walk = bernoulli_walk(
                row,
                g,
                proj.row_length,
                proj.n_targets,
                proj.stream,
                vec2<u32>(run.key0, run.key1),
                proj.table_length,
                proj.exclude_self,
            );
            loop {
                let t = bernoulli_next(&walk);
                if (t == BERNOULLI_DONE) {
                    break;
                }
                deliver(t, proj.weight, proj.delay);
            }
        }
    } else if (proj.row_kind == 2u) {
        let per_row = proj.n_targets - proj.exclude_self;
        for (var j = lid; j < per_row; j += WORKGROUP_SIZE) {
            deliver(select(j, j + 1u, proj.exclude_self != 0u && j >= row), proj.weight, proj.delay);
        }
    } else if (lid == 0u && proj.exclude_self == 0u) {
        deliver(row, proj.weight, proj.delay);
    }
}
