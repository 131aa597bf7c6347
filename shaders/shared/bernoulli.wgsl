// pairwise_bernoulli in integer arithmetic: the walk over one segment of a source's row by
// geometric skips. Twin: src/network/bernoulli.rs (`BernoulliDraw::segment_targets`), the same
// targets bit for bit. Prepended to connect.wgsl and propagate.wgsl, each of which defines
// `fn bernoulli_threshold(j: u32) -> u32`: threshold T_(j+1) = floor(q^(j+1) 2^32) of the rule,
// from the buffer it binds.

const BERNOULLI_DONE: u32 = 0xffffffffu;

struct BernoulliWalk {
    // The next candidate target, and one past the segment's last.
    next: u32,
    end: u32,
    // The Philox counter of the next block: (block, segment, row, stream).
    block: u32,
    segment: u32,
    row: u32,
    stream: u32,
    key: vec2<u32>,
    // The current block's words and how many are used.
    words: vec4<u32>,
    used: u32,
    table_length: u32,
    exclude_self: u32,
}

// The walk of segment `g` (of `segment_length` targets) of row `row` over `n_targets` targets.
fn bernoulli_walk(
    row: u32,
    g: u32,
    segment_length: u32,
    n_targets: u32,
    stream: u32,
    key: vec2<u32>,
    table_length: u32,
    exclude_self: u32,
) -> BernoulliWalk {
    let begin = g * segment_length;
    let end = begin + min(segment_length, n_targets - begin);
    return BernoulliWalk(begin, end, 0u, g, row, stream, key, vec4<u32>(0u), 4u, table_length, exclude_self);
}

// Segments of a row of `n_targets` targets.
fn bernoulli_segments(n_targets: u32, segment_length: u32) -> u32 {
    return n_targets / segment_length + select(0u, 1u, n_targets % segment_length != 0u);
}

fn bernoulli_word(w: ptr<function, BernoulliWalk>) -> u32 {
    if ((*w).used == 4u) {
        (*w).words = philox4x32_10(vec4<u32>((*w).block, (*w).segment, (*w).row, (*w).stream), (*w).key);
        (*w).block += 1u;
        (*w).used = 0u;
    }
    let u = (*w).words[(*w).used];
    (*w).used += 1u;
    return u;
}

// The skip word `u` gives: the number of thresholds above it (they decrease).
fn bernoulli_skip(u: u32, table_length: u32) -> u32 {
    var lo = 0u;
    var hi = table_length;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        if (u < bernoulli_threshold(mid)) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

// The next target of the walk, or BERNOULLI_DONE when the segment has no more.
fn bernoulli_next(w: ptr<function, BernoulliWalk>) -> u32 {
    if ((*w).table_length == 0u) {
        return BERNOULLI_DONE;
    }
    loop {
        if ((*w).next >= (*w).end) {
            return BERNOULLI_DONE;
        }
        let room = (*w).end - (*w).next;
        var total = 0u;
        loop {
            let j = bernoulli_skip(bernoulli_word(w), (*w).table_length);
            total += j;
            if (total >= room) {
                (*w).next = (*w).end;
                return BERNOULLI_DONE;
            }
            // A word below the last threshold: at least `table_length` skipped, draw again.
            if (j < (*w).table_length) {
                break;
            }
        }
        let t = (*w).next + total;
        (*w).next = t + 1u;
        if ((*w).exclude_self == 0u || t != (*w).row) {
            return t;
        }
    }
    // Not reached (the loop returns); naga wants a return at the end.
    return BERNOULLI_DONE;
}
