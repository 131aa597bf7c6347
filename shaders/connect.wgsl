// Connection rules drawn on the device, so that synapses never pass through host memory. CPU
// twin: src/network/rules.rs (`draw_with_multapses`, `connect`): partner m of row r is word m of
// the Philox stream (Connectivity, projection, r), mapped onto the pool by multiply-shift, so the
// device draws exactly the synapses a host build draws. Rows are filled with atomics, so their
// order differs from the host's sorted rows; the sums the rows produce do not.
//
// Entries, one thread per block of four draws (or per synapse):
//   outdegree_fill   fixed_outdegree: row r holds draws 0..k of stream row r;
//   all_to_all_fill  row r holds every target (but r itself without autapses);
//   one_to_one_fill  row r holds r;
// and, for the rules whose rows' lengths are drawn, each in two passes (FILL false, then true):
//   indegree         fixed_indegree: target t draws k sources; count each source's synapses,
//                    then make the same draws again and append t to each drawn source's row;
//   total            fixed_total_number: pair i is words 2i, 2i + 1 of stream row 0xffffffff
//                    (source, then target); count, then append each target to its source's row;
//   bernoulli        pairwise_bernoulli, one thread per segment of a row (shared/bernoulli.wgsl):
//                    count the row's synapses, then walk again and append them.
// A fill dispatch writes up to 8 synapse chunks (`targets0` .. `targets7`, one binding each),
// those of rows `row_begin .. row_end`.

// Twin: ConnectParams (src/backend/gpu/layout.rs).
struct Connect {
    // Rows (sources) and partners (targets) of the rule.
    n_sources: u32,
    n_targets: u32,
    // Draws per row (fixed_outdegree) or per target (fixed_indegree); pairs (fixed_total_number).
    k: u32,
    exclude_self: u32,
    stream: u32,
    key0: u32,
    key1: u32,
    // Rows of the chunks bound to this dispatch: [row_begin, row_end).
    row_begin: u32,
    row_end: u32,
    // Number of work items (threads that do something) of this dispatch.
    items: u32,
    // Targets per segment of a pairwise_bernoulli row, and its number of thresholds.
    segment: u32,
    table_length: u32,
    // First synapse of each bound chunk, and one past the last bound chunk's end.
    chunk_starts: array<vec4<u32>, 3>,
}

@group(0) @binding(0) var<uniform> connect: Connect;

// Which pass of a two-pass rule a pipeline runs: false counts each row's synapses into
// `row_counts`, true appends them to the rows (`row_counts` then holds the fill cursors).
override FILL: bool = false;
// Synapses per source (count pass of a two-pass rule), then the fill cursor per source (fill
// pass).
@group(0) @binding(1) var<storage, read_write> row_counts: array<atomic<u32>>;
// Row offsets of the projection (fill passes): where each source's row starts.
@group(0) @binding(2) var<storage, read> row_offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> targets0: array<u32>;
@group(0) @binding(4) var<storage, read_write> targets1: array<u32>;
@group(0) @binding(5) var<storage, read_write> targets2: array<u32>;
@group(0) @binding(6) var<storage, read_write> targets3: array<u32>;
@group(0) @binding(7) var<storage, read_write> targets4: array<u32>;
@group(0) @binding(8) var<storage, read_write> targets5: array<u32>;
@group(0) @binding(9) var<storage, read_write> targets6: array<u32>;
@group(0) @binding(10) var<storage, read_write> targets7: array<u32>;
// Thresholds of a pairwise_bernoulli rule (shared/bernoulli.wgsl).
@group(0) @binding(11) var<storage, read> bernoulli_thresholds: array<u32>;

fn bernoulli_threshold(j: u32) -> u32 {
    return bernoulli_thresholds[j];
}

fn chunk_start(c: u32) -> u32 {
    return connect.chunk_starts[c / 4u][c % 4u];
}

// Store `value` as synapse `s` (projection-wide index) in whichever bound chunk holds it.
fn store(s: u32, value: u32) {
    var c = 0u;
    while (c < 7u && s >= chunk_start(c + 1u)) {
        c++;
    }
    let i = s - chunk_start(c);
    switch c {
        case 0u: { targets0[i] = value; }
        case 1u: { targets1[i] = value; }
        case 2u: { targets2[i] = value; }
        case 3u: { targets3[i] = value; }
        case 4u: { targets4[i] = value; }
        case 5u: { targets5[i] = value; }
        case 6u: { targets6[i] = value; }
        default: { targets7[i] = value; }
    }
}

fn thread_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
}

// Partner `v` of `pool` drawn for row `row`, skipping `row` itself without autapses.
fn partner(word: u32, pool: u32, row: u32) -> u32 {
    let v = mul_hi(word, pool);
    return select(v, v + 1u, connect.exclude_self != 0u && v >= row);
}

// Append `t` to row `s` (rows counted and offset beforehand; the cursors start at zero).
fn append(s: u32, t: u32) {
    store(row_offsets[s] + atomicAdd(&row_counts[s], 1u), t);
}

// Synapse (s, t) of a rule drawn per target or per pair: counted in its row, or (fill) appended
// to it where row s is among those this dispatch fills.
fn count_or_append(s: u32, t: u32, fill: bool) {
    if (!fill) {
        atomicAdd(&row_counts[s], 1u);
    } else if (s >= connect.row_begin && s < connect.row_end) {
        append(s, t);
    }
}

// The four words of block b of the draws of `row`.
fn block(row: u32, b: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(b, 0u, row, connect.stream), vec2<u32>(connect.key0, connect.key1));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn outdegree_fill(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = thread_index(wid, nwg, lid);
    if (item >= connect.items) {
        return;
    }
    let blocks = (connect.k + 3u) / 4u;
    let row = connect.row_begin + item / blocks;
    let b = item % blocks;
    let words = block(row, b);
    let pool = connect.n_targets - connect.exclude_self;
    for (var lane = 0u; lane < 4u; lane++) {
        let m = 4u * b + lane;
        if (m < connect.k) {
            store(row * connect.k + m, partner(words[lane], pool, row));
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn all_to_all_fill(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = thread_index(wid, nwg, lid);
    if (item >= connect.items) {
        return;
    }
    let per_row = connect.n_targets - connect.exclude_self;
    let row = connect.row_begin + item / per_row;
    let j = item % per_row;
    store(row * per_row + j, select(j, j + 1u, connect.exclude_self != 0u && j >= row));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn one_to_one_fill(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let item = thread_index(wid, nwg, lid);
    if (item >= connect.items) {
        return;
    }
    let row = connect.row_begin + item;
    store(row, row);
}

// fixed_indegree, work item `item` (block b of target t's draws): each drawn source, counted or
// filled (count_or_append).
fn indegree_pass(item: u32, fill: bool) {
    if (item >= connect.items) {
        return;
    }
    let blocks = (connect.k + 3u) / 4u;
    let t = item / blocks;
    let b = item % blocks;
    let words = block(t, b);
    let pool = connect.n_sources - connect.exclude_self;
    for (var lane = 0u; lane < 4u; lane++) {
        if (4u * b + lane < connect.k) {
            count_or_append(partner(words[lane], pool, t), t, fill);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn indegree(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    indegree_pass(thread_index(wid, nwg, lid), FILL);
}

// fixed_total_number: the source and target of pair `2 b + h` from block b.
fn total_pair(words: vec4<u32>, h: u32) -> vec2<u32> {
    let s = mul_hi(words[2u * h], connect.n_sources);
    let t = partner(words[2u * h + 1u], connect.n_targets - connect.exclude_self, s);
    return vec2<u32>(s, t);
}

// fixed_total_number, block `b` (pairs 2b and 2b + 1): each pair, counted or filled
// (count_or_append).
fn total_pass(b: u32, fill: bool) {
    if (b >= connect.items) {
        return;
    }
    let words = block(0xffffffffu, b);
    for (var h = 0u; h < 2u; h++) {
        if (2u * b + h < connect.k) {
            let pair = total_pair(words, h);
            count_or_append(pair.x, pair.y, fill);
        }
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn total(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    total_pass(thread_index(wid, nwg, lid), FILL);
}

// pairwise_bernoulli: the walk of work item `item`, a segment of a row in row_begin..row_end.
fn bernoulli_item(item: u32) -> BernoulliWalk {
    let segments = bernoulli_segments(connect.n_targets, connect.segment);
    return bernoulli_walk(
        connect.row_begin + item / segments,
        item % segments,
        connect.segment,
        connect.n_targets,
        connect.stream,
        vec2<u32>(connect.key0, connect.key1),
        connect.table_length,
        connect.exclude_self,
    );
}

// pairwise_bernoulli, work item `item`: count the synapses of its segment into its row's
// count, or append them to the row.
fn bernoulli_pass(item: u32, fill: bool) {
    if (item >= connect.items) {
        return;
    }
    var walk = bernoulli_item(item);
    var count = 0u;
    loop {
        let t = bernoulli_next(&walk);
        if (t == BERNOULLI_DONE) {
            break;
        }
        if (fill) {
            append(walk.row, t);
        } else {
            count++;
        }
    }
    if (count > 0u) {
        atomicAdd(&row_counts[walk.row], count);
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bernoulli(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    bernoulli_pass(thread_index(wid, nwg, lid), FILL);
}
