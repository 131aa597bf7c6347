//! NEST's connection rules, driven by the counter-based generator.
//!
//! Each row (a target for `fixed_indegree`, a source for the others) draws from its own stream
//! `(Connectivity, projection, row)`, so rows can be built on any number of threads, in any order,
//! and give the same network. `fixed_total_number` draws its pairs from one stream, in order.

use std::ops::Range;

use crate::config::ConnectionRule;
use crate::rng::{Philox, Stream, WordSequence};

use super::bernoulli::BernoulliDraw;
use super::csr::Wiring;

/// What a connection rule needs to know about the two populations.
#[derive(Clone, Copy, Debug)]
pub struct RuleContext {
    pub n_sources: u32,
    pub n_targets: u32,
    /// Source and target are the same population (autapses are possible).
    pub same_population: bool,
    pub allow_autapses: bool,
    pub allow_multapses: bool,
    /// Index of the projection: keys its random stream.
    pub projection: usize,
    pub threads: usize,
}

impl RuleContext {
    fn excludes_self(&self) -> bool {
        self.same_population && !self.allow_autapses
    }
}

/// Run `f` on contiguous chunks of `0..n` on up to `threads` threads and concatenate the results
/// in chunk order: the output does not depend on the thread count.
pub fn par_map_ranges<T: Send>(
    n: usize,
    threads: usize,
    f: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<Vec<T>> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return vec![f(0..n)];
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                let f = &f;
                scope.spawn(move || f(range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("connection builder thread panicked"))
            .collect()
    })
}

/// Draw the synapses of one projection.
pub fn connect(rule: &ConnectionRule, ctx: &RuleContext, rng: &Philox) -> Wiring {
    match *rule {
        ConnectionRule::AllToAll => all_to_all(ctx),
        ConnectionRule::OneToOne => one_to_one(ctx),
        ConnectionRule::FixedIndegree(k) => fixed_indegree(ctx, rng, k),
        ConnectionRule::FixedOutdegree(k) => fixed_outdegree(ctx, rng, k),
        ConnectionRule::FixedTotalNumber(n) => fixed_total_number(ctx, rng, n),
        ConnectionRule::PairwiseBernoulli(p) => pairwise_bernoulli(ctx, rng, p),
    }
}

fn all_to_all(ctx: &RuleContext) -> Wiring {
    let excl = ctx.excludes_self();
    let per_row = u64::from(ctx.n_targets) - u64::from(excl);
    let n_rows = ctx.n_sources as usize;
    let row_offsets: Vec<u64> = (0..=n_rows as u64).map(|i| i * per_row).collect();
    let chunks = par_map_ranges(n_rows, ctx.threads, |rows| {
        let mut out = Vec::with_capacity(rows.len() * per_row as usize);
        for s in rows {
            out.extend((0..ctx.n_targets).filter(|&t| !(excl && t as usize == s)));
        }
        out
    });
    Wiring {
        row_offsets,
        targets: chunks.concat(),
    }
}

fn one_to_one(ctx: &RuleContext) -> Wiring {
    // As NEST: with autapses forbidden inside one population, one_to_one connects nothing.
    let n = ctx.n_sources as u64;
    if ctx.excludes_self() {
        return Wiring {
            row_offsets: vec![0; n as usize + 1],
            targets: Vec::new(),
        };
    }
    Wiring {
        row_offsets: (0..=n).collect(),
        targets: (0..ctx.n_sources).collect(),
    }
}

/// How one row draws its partners.
#[derive(Clone, Copy)]
struct PartnerDraw {
    /// Partners are drawn from `0..n`.
    n: u32,
    /// Number of partners.
    k: u32,
    /// Exclude partner `row` itself (no autapses within one population).
    exclude_self: bool,
    multapses: bool,
}

/// Draws the partners of row `row`. With multapses each partner is an independent uniform draw;
/// without, Floyd's algorithm gives `k` distinct partners with exactly `k` draws. The result is
/// appended to `out`, in draw order.
fn draw_partners(
    draw: PartnerDraw,
    row: u32,
    seq: &mut WordSequence,
    set: &mut SmallSet,
    out: &mut Vec<u32>,
) {
    let PartnerDraw {
        n,
        k,
        exclude_self,
        multapses,
    } = draw;
    let start = out.len();
    if multapses {
        draw_with_multapses(seq, n, k, row, exclude_self, out);
    } else {
        let pool = n - u32::from(exclude_self);
        let skip_self = |v: u32| if exclude_self && v >= row { v + 1 } else { v };
        set.clear(k as usize);
        for j in pool - k..pool {
            let t = seq.below(j + 1);
            let pick = if set.insert(t) { t } else { j };
            if pick == j {
                set.insert(j);
            }
            out.push(skip_self(pick));
        }
    }
    debug_assert_eq!(out.len() - start, k as usize);
}

/// `k` independent uniform partners of row `row` out of `0..n` (skipping `row` itself when
/// `exclude_self`), in draw order: partner `m` is word `m` of `seq`. The GPU draws the same.
pub fn draw_with_multapses(
    seq: &mut WordSequence,
    n: u32,
    k: u32,
    row: u32,
    exclude_self: bool,
    out: &mut Vec<u32>,
) {
    let pool = n - u32::from(exclude_self);
    out.extend((0..k).map(|_| {
        let v = seq.below(pool);
        if exclude_self && v >= row {
            v + 1
        } else {
            v
        }
    }));
}

/// Fill `out`, `k` values per row, on up to `threads` threads: `fill(first_row, chunk)` writes
/// the consecutive rows of one chunk. The rows do not depend on the thread count.
fn par_fill_rows(
    out: &mut [u32],
    k: usize,
    threads: usize,
    fill: impl Fn(usize, &mut [u32]) + Sync,
) {
    let rows = out.len().checked_div(k).unwrap_or(0);
    let threads = threads.clamp(1, rows.max(1));
    let rows_per_thread = rows.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (chunk_index, chunk) in out.chunks_mut((rows_per_thread * k).max(1)).enumerate() {
            let fill = &fill;
            scope.spawn(move || fill(chunk_index * rows_per_thread, chunk));
        }
    });
}

/// Draws `k` partners per row into `out` (rows of `k`), each row from its own stream; sorts
/// each row when `sort`.
fn draw_rows(ctx: &RuleContext, rng: &Philox, draw: PartnerDraw, out: &mut [u32], sort: bool) {
    let stream = Stream::Connectivity.word(ctx.projection);
    let k = draw.k as usize;
    par_fill_rows(out, k, ctx.threads, |first_row, chunk| {
        let mut set = SmallSet::default();
        let mut drawn = Vec::with_capacity(k);
        for (i, values) in chunk.chunks_mut(k).enumerate() {
            let row = (first_row + i) as u32;
            drawn.clear();
            draw_partners(
                draw,
                row,
                &mut rng.sequence(stream, row),
                &mut set,
                &mut drawn,
            );
            if sort {
                drawn.sort_unstable();
            }
            values.copy_from_slice(&drawn);
        }
    });
}

fn fixed_indegree(ctx: &RuleContext, rng: &Philox, k: u32) -> Wiring {
    // Sources per target, then transposed into rows per source (sorted by target).
    let mut sources = vec![0u32; ctx.n_targets as usize * k as usize];
    fixed_indegree_sources(ctx, rng, k, &mut sources);
    let target_offsets: Vec<u64> = (0..=u64::from(ctx.n_targets))
        .map(|t| t * u64::from(k))
        .collect();
    Wiring::from_target_lists(
        ctx.n_sources as usize,
        &target_offsets,
        &sources,
        ctx.threads,
    )
}

/// The `k` sources of each target of a `fixed_indegree` rule, target after target, into `out`
/// (`n_targets * k` values), in draw order.
pub fn fixed_indegree_sources(ctx: &RuleContext, rng: &Philox, k: u32, out: &mut [u32]) {
    let draw = PartnerDraw {
        n: ctx.n_sources,
        k,
        exclude_self: ctx.excludes_self(),
        multapses: ctx.allow_multapses,
    };
    draw_rows(ctx, rng, draw, out, false);
}

fn fixed_outdegree(ctx: &RuleContext, rng: &Philox, k: u32) -> Wiring {
    let draw = PartnerDraw {
        n: ctx.n_targets,
        k,
        exclude_self: ctx.excludes_self(),
        multapses: ctx.allow_multapses,
    };
    let mut targets = vec![0u32; ctx.n_sources as usize * k as usize];
    draw_rows(ctx, rng, draw, &mut targets, true);
    Wiring {
        row_offsets: (0..=u64::from(ctx.n_sources))
            .map(|s| s * u64::from(k))
            .collect(),
        targets,
    }
}

/// `n` connections between uniformly drawn (source, target) pairs. Without multapses, a pair
/// drawn twice is drawn again (from later words of the same stream) until `n` distinct pairs exist.
fn fixed_total_number(ctx: &RuleContext, rng: &Philox, n: u64) -> Wiring {
    let mut seq = rng.sequence(Stream::Connectivity.word(ctx.projection), u32::MAX);
    let excl = ctx.excludes_self();
    let draw_pair = |seq: &mut WordSequence| {
        let s = seq.below(ctx.n_sources);
        let t = seq.below(ctx.n_targets - u32::from(excl));
        (s, if excl && t >= s { t + 1 } else { t })
    };
    let mut pairs: Vec<(u32, u32)> = (0..n).map(|_| draw_pair(&mut seq)).collect();
    if !ctx.allow_multapses {
        let mut seen = std::collections::HashSet::with_capacity(n as usize);
        pairs.retain(|p| seen.insert(*p));
        while (pairs.len() as u64) < n {
            let p = draw_pair(&mut seq);
            if seen.insert(p) {
                pairs.push(p);
            }
        }
    }
    Wiring::from_pairs(ctx.n_sources as usize, &pairs)
}

/// Each (source, target) pair independently with probability `p`, by geometric skips over each
/// source's candidate targets, in integer arithmetic (see [`BernoulliDraw`]): O(synapses), not
/// O(pairs), and the same synapses a GPU draws.
fn pairwise_bernoulli(ctx: &RuleContext, rng: &Philox, p: f64) -> Wiring {
    let excl = ctx.excludes_self();
    if p >= 1.0 {
        return all_to_all(ctx);
    }
    let stream = Stream::Connectivity.word(ctx.projection);
    let draw = BernoulliDraw::new(p, ctx.n_targets, excl);
    let chunks = par_map_ranges(ctx.n_sources as usize, ctx.threads, |sources| {
        let mut counts = Vec::with_capacity(sources.len());
        let mut targets = Vec::new();
        for s in sources {
            let before = targets.len();
            draw.row_targets(rng, stream, s as u32, &mut targets);
            counts.push((targets.len() - before) as u64);
        }
        vec![(counts, targets)]
    });
    let mut row_offsets = Vec::with_capacity(ctx.n_sources as usize + 1);
    row_offsets.push(0u64);
    let mut targets = Vec::new();
    for (counts, chunk_targets) in chunks.into_iter().flatten() {
        for c in counts {
            row_offsets.push(row_offsets.last().unwrap() + c);
        }
        targets.extend(chunk_targets);
    }
    Wiring {
        row_offsets,
        targets,
    }
}

/// A small open-addressing set of u32, reused across rows (Floyd's algorithm needs membership
/// tests among at most `k` values).
#[derive(Default)]
struct SmallSet {
    slots: Vec<u32>,
    mask: usize,
}

impl SmallSet {
    const EMPTY: u32 = u32::MAX;

    fn clear(&mut self, capacity: usize) {
        let size = (capacity * 2).next_power_of_two().max(16);
        if self.slots.len() != size {
            self.slots = vec![Self::EMPTY; size];
        } else {
            self.slots.fill(Self::EMPTY);
        }
        self.mask = size - 1;
    }

    /// Inserts `v`; false if it was already present.
    fn insert(&mut self, v: u32) -> bool {
        let mut i = (v.wrapping_mul(0x9E37_79B9) as usize) & self.mask;
        loop {
            match self.slots[i] {
                x if x == v => return false,
                Self::EMPTY => {
                    self.slots[i] = v;
                    return true;
                }
                _ => i = (i + 1) & self.mask,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(
        n_sources: u32,
        n_targets: u32,
        same: bool,
        autapses: bool,
        multapses: bool,
    ) -> RuleContext {
        RuleContext {
            n_sources,
            n_targets,
            same_population: same,
            allow_autapses: autapses,
            allow_multapses: multapses,
            projection: 0,
            threads: 3,
        }
    }

    #[test]
    fn floyd_draws_distinct_partners() {
        let rng = Philox::new(3);
        let mut set = SmallSet::default();
        for row in 0..50u32 {
            let mut out = Vec::new();
            let mut seq = rng.sequence(1, row);
            let draw = PartnerDraw {
                n: 20,
                k: 19,
                exclude_self: true,
                multapses: false,
            };
            draw_partners(draw, row % 20, &mut seq, &mut set, &mut out);
            let mut dedup = out.clone();
            dedup.sort_unstable();
            dedup.dedup();
            assert_eq!(dedup.len(), 19);
            assert!(!out.contains(&(row % 20)));
            assert!(out.iter().all(|&v| v < 20));
        }
    }

    #[test]
    fn thread_count_does_not_change_the_network() {
        let rng = Philox::new(11);
        for rule in [
            ConnectionRule::FixedIndegree(7),
            ConnectionRule::FixedOutdegree(7),
            ConnectionRule::PairwiseBernoulli(0.1),
            ConnectionRule::AllToAll,
        ] {
            let mut c = ctx(100, 120, false, true, false);
            c.threads = 1;
            let one = connect(&rule, &c, &rng);
            c.threads = 4;
            assert_eq!(one, connect(&rule, &c, &rng), "{rule:?}");
        }
    }
}
