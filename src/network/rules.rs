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
    fixed_indegree_rows(
        &[IndegreePart {
            ctx: *ctx,
            k,
            offset: 0,
        }],
        rng,
        ctx.threads,
    )
}

/// One `fixed_indegree` rule in a CSR of rows by source ([`fixed_indegree_rows`]): its target
/// `t` is `offset + t` in the rows.
#[derive(Clone, Copy, Debug)]
pub struct IndegreePart {
    pub ctx: RuleContext,
    pub k: u32,
    pub offset: u32,
}

/// Rows of up to this many synapses are drawn once by [`fixed_indegree_rows`], their sources
/// kept for both passes (256 MiB of sources at most).
const WHOLE_SYNAPSES: u64 = 1 << 26;

/// Synapses drawn per block of targets in the fill pass of [`fixed_indegree_rows`] (16 MiB).
const FILL_BLOCK_SYNAPSES: u64 = 1 << 22;

/// The rows by source of `fixed_indegree` rules out of one source population (`parts`, by
/// increasing `offset`, their targets not overlapping), each row sorted by target.
///
/// Up to `WHOLE_SYNAPSES` synapses, every target's sources are drawn into one list, counted
/// (the row offsets), and each thread writes the synapses of its own range of rows. Above,
/// holding that list beside the rows would take half as much memory again (4 GB at 10^9
/// synapses): every target draws its sources twice instead, once to count, once to fill the
/// rows a block of targets at a time, so the transient memory is a block and the counts.
pub fn fixed_indegree_rows(parts: &[IndegreePart], rng: &Philox, threads: usize) -> Wiring {
    fixed_indegree_rows_in_blocks(parts, rng, threads, WHOLE_SYNAPSES, FILL_BLOCK_SYNAPSES)
}

/// [`fixed_indegree_rows`] drawing the sources once up to `whole_synapses` synapses, else twice,
/// in blocks of about `block_synapses` synapses.
fn fixed_indegree_rows_in_blocks(
    parts: &[IndegreePart],
    rng: &Philox,
    threads: usize,
    whole_synapses: u64,
    block_synapses: u64,
) -> Wiring {
    assert!(
        parts
            .windows(2)
            .all(|w| w[0].offset + w[0].ctx.n_targets <= w[1].offset
                && w[0].ctx.n_sources == w[1].ctx.n_sources),
        "parts out of one population, by increasing offset, not overlapping"
    );
    let n_sources = parts.first().map_or(0, |p| p.ctx.n_sources) as usize;
    let targets = IndegreeTargets::new(parts);
    let total = targets.synapses(0..targets.len());

    // The sources of the targets of `block`, drawn on `threads` threads, in target order.
    let draw_block = |block: Range<usize>| -> Vec<(Range<usize>, Vec<u32>)> {
        par_map_ranges(block.len(), threads, |range| {
            let here = block.start + range.start..block.start + range.end;
            let mut out = Vec::with_capacity(targets.synapses(here.clone()) as usize);
            targets.draw(rng, here.clone(), |_, sources| {
                out.extend_from_slice(sources)
            });
            vec![(here, out)]
        })
        .into_iter()
        .flatten()
        .collect()
    };
    // Up to `whole_synapses`, the sources are drawn once, for both passes, and written as they
    // come: the transient is 4 bytes per synapse.
    let mut whole = (total <= whole_synapses).then(|| draw_block(0..targets.len()));

    // Pass 1: each source's synapses.
    let row_offsets = match &whole {
        Some(all) => count_rows(n_sources, all.len(), total, threads, |pieces, counts| {
            for (_, sources) in &all[pieces] {
                for &s in sources {
                    counts[s as usize] += 1;
                }
            }
        }),
        None => count_rows(n_sources, targets.len(), total, threads, |range, counts| {
            targets.draw(rng, range, |_, sources| {
                for &s in sources {
                    counts[s as usize] += 1;
                }
            })
        }),
    };

    // Pass 2: blocks of targets (all of them when drawn whole).
    let bucketed = whole.is_none();
    let rows = fill_rows(
        &row_offsets,
        threads,
        bucketed,
        false,
        targets.len(),
        |first| match whole.take() {
            Some(all) => (targets.len(), all),
            None => {
                let end = targets.block_end(first, block_synapses);
                (end, draw_block(first..end))
            }
        },
        |drawn, owner| {
            for (range, sources) in drawn {
                let mut at = 0;
                targets.for_each(range.clone(), |target, k| {
                    for &s in &sources[at..at + k as usize] {
                        owner.take(s, target);
                    }
                    at += k as usize;
                });
            }
        },
    );
    Wiring {
        row_offsets,
        targets: rows,
    }
}

/// Row offsets of rows whose synapses' sources are counted on up to `threads` threads:
/// `count(items, counts)` adds one to `counts[s]` for each synapse of source `s` among `items`
/// (of `n_items`; `total` synapses in all). Per-thread counts take at most a quarter of the
/// rows' bytes.
fn count_rows(
    n_sources: usize,
    n_items: usize,
    total: u64,
    threads: usize,
    count: impl Fn(Range<usize>, &mut [u32]) + Sync,
) -> Vec<u64> {
    let count_threads = threads
        .min((total / (4 * n_sources.max(1) as u64)) as usize)
        .max(1);
    let counts = par_map_ranges(n_items, count_threads, |items| {
        let mut counts = vec![0u32; n_sources];
        count(items, &mut counts);
        vec![counts]
    });
    let mut row_offsets = vec![0u64; n_sources + 1];
    for c in counts.iter().flatten() {
        for (o, &k) in row_offsets[1..].iter_mut().zip(c) {
            *o += u64::from(k);
        }
    }
    for s in 0..n_sources {
        row_offsets[s + 1] += row_offsets[s];
    }
    row_offsets
}

/// The rows of `row_offsets`, filled block by block: `next_block(first)` draws the items from
/// `first` on and gives the end of the block and the block; each thread that owns a range of
/// rows (`Wiring::row_parts`) reads the whole block and `keep`s the synapses of its rows
/// (`RowOwner::take`), through buckets where `bucketed`; each row sorted at the end where
/// `sort`.
fn fill_rows<B: Sync>(
    row_offsets: &[u64],
    threads: usize,
    bucketed: bool,
    sort: bool,
    n_items: usize,
    mut next_block: impl FnMut(usize) -> (usize, B),
    keep: impl Fn(&B, &mut RowOwner) + Sync,
) -> Vec<u32> {
    let mut rows = vec![0u32; row_offsets.last().copied().unwrap_or(0) as usize];
    let mut owners: Vec<RowOwner> = Wiring::row_parts(row_offsets, &mut rows, threads)
        .into_iter()
        .map(|(range, part)| RowOwner::new(range, part, row_offsets, bucketed))
        .collect();
    let mut first = 0;
    while first < n_items {
        let (end, block) = next_block(first);
        each_owner(&mut owners, |owner| {
            keep(&block, owner);
            owner.flush();
        });
        first = end;
    }
    if sort {
        each_owner(&mut owners, |owner| owner.sort_rows(row_offsets));
    }
    drop(owners);
    rows
}

/// Synapses whose rows a bucket of [`RowOwner`] spans: 4 MiB of rows.
const BUCKET_SYNAPSES: usize = 1 << 20;

/// Up to this many synapses (8 MiB of rows), a [`RowOwner`] writes each synapse as it comes.
const DIRECT_SYNAPSES: usize = 1 << 21;

/// A thread's rows in the fill pass of [`fixed_indegree_rows`]: where each row's next synapse
/// goes. A block's synapses are first sorted into buckets of neighbouring rows, then written
/// bucket by bucket: each bucket writes within a few MiB, where writing them in target order
/// would scatter over all the rows (at 10^9 synapses on 2 threads: 6.3 s against 11.6 s).
struct RowOwner<'a> {
    rows: Range<usize>,
    part: &'a mut [u32],
    /// Next free synapse of each row, within `part`.
    cursor: Vec<u64>,
    /// Rows per bucket: `1 << shift`; none (each synapse written as it comes) where the rows
    /// are few enough to stay in the cache.
    shift: Option<u32>,
    /// (row within `rows`, target), in the order given.
    buckets: Vec<Vec<(u32, u32)>>,
}

impl<'a> RowOwner<'a> {
    /// `bucketed`: sort each block into buckets (else write each synapse as it comes).
    fn new(rows: Range<usize>, part: &'a mut [u32], row_offsets: &[u64], bucketed: bool) -> Self {
        let base = row_offsets[rows.start];
        let cursor = row_offsets[rows.clone()]
            .iter()
            .map(|&o| o - base)
            .collect();
        let per_bucket =
            (BUCKET_SYNAPSES as u64 * rows.len() as u64 / part.len().max(1) as u64).max(1);
        let shift = (bucketed && part.len() > DIRECT_SYNAPSES).then(|| per_bucket.ilog2());
        let buckets = match shift {
            Some(shift) => vec![Vec::new(); (rows.len() >> shift) + 1],
            None => Vec::new(),
        };
        RowOwner {
            rows,
            part,
            cursor,
            shift,
            buckets,
        }
    }

    /// Take synapse (source, target) if its row is this owner's (into its bucket; `flush`
    /// writes them).
    #[inline]
    fn take(&mut self, source: u32, target: u32) {
        let r = (source as usize).wrapping_sub(self.rows.start);
        if r < self.rows.len() {
            match self.shift {
                Some(shift) => self.buckets[r >> shift].push((r as u32, target)),
                None => {
                    let c = &mut self.cursor[r];
                    self.part[*c as usize] = target;
                    *c += 1;
                }
            }
        }
    }

    /// Sort each of this owner's rows (`row_offsets`: the whole CSR's).
    fn sort_rows(&mut self, row_offsets: &[u64]) {
        let base = row_offsets[self.rows.start];
        for w in row_offsets[self.rows.start..=self.rows.end].windows(2) {
            self.part[(w[0] - base) as usize..(w[1] - base) as usize].sort_unstable();
        }
    }

    /// Append the synapses taken to their rows, in the order taken; empty the buckets.
    fn flush(&mut self) {
        for bucket in &mut self.buckets {
            for &(r, target) in bucket.iter() {
                let c = &mut self.cursor[r as usize];
                self.part[*c as usize] = target;
                *c += 1;
            }
            bucket.clear();
        }
    }
}

/// The targets of [`fixed_indegree_rows`], numbered 0.. across its parts (part after part).
struct IndegreeTargets<'a> {
    parts: &'a [IndegreePart],
    /// Index of each part's first target, then the number of targets.
    starts: Vec<usize>,
}

impl<'a> IndegreeTargets<'a> {
    fn new(parts: &'a [IndegreePart]) -> Self {
        let mut starts = vec![0];
        for p in parts {
            starts.push(starts.last().copied().unwrap_or(0) + p.ctx.n_targets as usize);
        }
        IndegreeTargets { parts, starts }
    }

    fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// (part, first local target, local targets) of the parts that `range` meets.
    fn pieces(&self, range: Range<usize>) -> impl Iterator<Item = (&IndegreePart, Range<u32>)> {
        self.parts.iter().enumerate().filter_map(move |(i, p)| {
            let lo = range.start.max(self.starts[i]);
            let hi = range.end.min(self.starts[i + 1]);
            (lo < hi).then(|| {
                (
                    p,
                    (lo - self.starts[i]) as u32..(hi - self.starts[i]) as u32,
                )
            })
        })
    }

    /// Synapses of the targets in `range`.
    fn synapses(&self, range: Range<usize>) -> u64 {
        self.pieces(range)
            .map(|(p, t)| u64::from(t.end - t.start) * u64::from(p.k))
            .sum()
    }

    /// The end of a block of targets from `first` of about `synapses` synapses (one target at
    /// least).
    fn block_end(&self, first: usize, synapses: u64) -> usize {
        let mut end = first;
        let mut taken = 0u64;
        for (p, t) in self.pieces(first..self.len()) {
            let k = u64::from(p.k).max(1);
            let fit = ((synapses.saturating_sub(taken)) / k).min(u64::from(t.end - t.start));
            end += fit as usize;
            taken += fit * k;
            if fit < u64::from(t.end - t.start) {
                break;
            }
        }
        end.max(first + 1).min(self.len())
    }

    /// Each target of `range` in order: its number in the rows and its in-degree.
    fn for_each(&self, range: Range<usize>, mut f: impl FnMut(u32, u32)) {
        for (p, t) in self.pieces(range) {
            for target in t {
                f(p.offset + target, p.k);
            }
        }
    }

    /// Draw the sources of each target of `range`, in order, as `fixed_indegree` draws them
    /// (target `t` of a rule from stream `(Connectivity, projection, t)`).
    fn draw(&self, rng: &Philox, range: Range<usize>, mut f: impl FnMut(u32, &[u32])) {
        let mut set = SmallSet::default();
        let mut drawn = Vec::new();
        for (p, t) in self.pieces(range) {
            let draw = PartnerDraw {
                n: p.ctx.n_sources,
                k: p.k,
                exclude_self: p.ctx.excludes_self(),
                multapses: p.ctx.allow_multapses,
            };
            let stream = Stream::Connectivity.word(p.ctx.projection);
            for target in t {
                drawn.clear();
                draw_partners(
                    draw,
                    target,
                    &mut rng.sequence(stream, target),
                    &mut set,
                    &mut drawn,
                );
                f(p.offset + target, &drawn);
            }
        }
    }
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
    if ctx.allow_multapses && n > WHOLE_SYNAPSES {
        return total_number_rows(ctx, rng, n, FILL_BLOCK_SYNAPSES);
    }
    let mut seq = rng.sequence(Stream::Connectivity.word(ctx.projection), u32::MAX);
    let mut pairs: Vec<(u32, u32)> = (0..n).map(|_| total_number_pair(ctx, &mut seq)).collect();
    if !ctx.allow_multapses {
        let mut seen = std::collections::HashSet::with_capacity(n as usize);
        pairs.retain(|p| seen.insert(*p));
        while (pairs.len() as u64) < n {
            let p = total_number_pair(ctx, &mut seq);
            if seen.insert(p) {
                pairs.push(p);
            }
        }
    }
    Wiring::from_pairs(ctx.n_sources as usize, &pairs)
}

/// Pairs `pairs` of a `fixed_total_number` rule with multapses, in order: pair `i` from words
/// `2i` and `2i + 1` of its stream (as above, and as the GPU draws them), so any range of pairs
/// can be drawn on its own.
fn total_number_pairs(
    ctx: &RuleContext,
    rng: &Philox,
    pairs: Range<u64>,
    mut f: impl FnMut(u32, u32),
) {
    let stream = Stream::Connectivity.word(ctx.projection);
    let mut seq = rng.sequence_from(stream, u32::MAX, pairs.start / 2);
    if pairs.start % 2 == 1 {
        seq.next_u32();
        seq.next_u32();
    }
    for _ in pairs {
        let (s, t) = total_number_pair(ctx, &mut seq);
        f(s, t);
    }
}

/// The next (source, target) pair of a `fixed_total_number` rule: two words of `seq`.
fn total_number_pair(ctx: &RuleContext, seq: &mut WordSequence) -> (u32, u32) {
    let excl = ctx.excludes_self();
    let s = seq.below(ctx.n_sources);
    let t = seq.below(ctx.n_targets - u32::from(excl));
    (s, if excl && t >= s { t + 1 } else { t })
}

/// The rows of a `fixed_total_number` rule with multapses, drawn twice on `ctx.threads`
/// threads, as [`fixed_indegree_rows`] does above `WHOLE_SYNAPSES`: once to count each source's
/// synapses, once to fill the rows `block_pairs` pairs at a time; then each row is sorted. The
/// same rows as drawing every pair into one list (8 bytes per synapse beside the rows).
fn total_number_rows(ctx: &RuleContext, rng: &Philox, n: u64, block_pairs: u64) -> Wiring {
    let threads = ctx.threads.max(1);
    let n_sources = ctx.n_sources as usize;
    let pairs = |items: Range<usize>| items.start as u64..items.end as u64;
    let row_offsets = count_rows(n_sources, n as usize, n, threads, |items, counts| {
        total_number_pairs(ctx, rng, pairs(items), |s, _| counts[s as usize] += 1)
    });
    let rows = fill_rows(
        &row_offsets,
        threads,
        true,
        // Rows in target order, as `Wiring::from_pairs` leaves them.
        true,
        n as usize,
        |first| {
            let end = (first as u64 + block_pairs.max(1)).min(n) as usize;
            let block = par_map_ranges(end - first, threads, |range| {
                let mut out = Vec::with_capacity(range.len());
                let items = first + range.start..first + range.end;
                total_number_pairs(ctx, rng, pairs(items), |s, t| out.push((s, t)));
                out
            });
            (end, block)
        },
        |block, owner| {
            for &(s, t) in block.iter().flatten() {
                owner.take(s, t);
            }
        },
    );
    Wiring {
        row_offsets,
        targets: rows,
    }
}

/// Run `f` on each owner, on a thread each (on this one where there is one).
fn each_owner(owners: &mut [RowOwner], f: impl Fn(&mut RowOwner) + Sync) {
    if let [owner] = owners {
        f(owner);
        return;
    }
    std::thread::scope(|scope| {
        for owner in owners.iter_mut() {
            let f = &f;
            scope.spawn(move || f(owner));
        }
    });
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

    /// Rows by source, the plain way: every target's sources drawn into lists, then transposed.
    fn transposed(parts: &[IndegreePart], rng: &Philox) -> Wiring {
        let n_sources = parts[0].ctx.n_sources as usize;
        let targets = IndegreeTargets::new(parts);
        let mut rows = vec![Vec::new(); n_sources];
        targets.draw(rng, 0..targets.len(), |target, sources| {
            for &s in sources {
                rows[s as usize].push(target);
            }
        });
        let mut row_offsets = vec![0u64];
        for r in &rows {
            row_offsets.push(row_offsets.last().unwrap() + r.len() as u64);
        }
        Wiring {
            row_offsets,
            targets: rows.concat(),
        }
    }

    #[test]
    fn total_number_rows_drawn_twice_in_blocks_equal_the_pairs_drawn_in_order() {
        for (same_population, n_targets) in [(true, 3000), (false, 700)] {
            let ctx = RuleContext {
                n_sources: 3000,
                n_targets,
                same_population,
                allow_autapses: false,
                allow_multapses: true,
                projection: 4,
                threads: 1,
            };
            let rng = Philox::new(21);
            // Below WHOLE_SYNAPSES: every pair drawn in order into one list.
            let n = 3_000_001;
            let expected = fixed_total_number(&ctx, &rng, n);
            assert_eq!(expected.targets.len() as u64, n);
            for (threads, block) in [(1, u64::MAX), (2, 1001), (3, 77_777), (4, 1 << 20)] {
                let ctx = RuleContext { threads, ..ctx };
                assert_eq!(
                    total_number_rows(&ctx, &rng, n, block),
                    expected,
                    "{threads} threads, blocks of {block}"
                );
            }
        }
    }

    #[test]
    fn indegree_rows_drawn_twice_in_blocks_equal_a_plain_transpose() {
        let ctx = |n_targets, projection, multapses| RuleContext {
            n_sources: 3000,
            n_targets,
            same_population: projection == 0,
            allow_autapses: projection != 0,
            allow_multapses: multapses,
            projection,
            threads: 1,
        };
        // Two rules merged (targets 0..3000 and 5000..6000, different in-degrees), and one alone.
        let merged = [
            IndegreePart {
                ctx: ctx(3000, 0, true),
                k: 70,
                offset: 0,
            },
            IndegreePart {
                ctx: ctx(1000, 1, false),
                k: 30,
                offset: 5000,
            },
        ];
        let alone = [IndegreePart {
            ctx: ctx(20_000, 2, true),
            k: 80,
            offset: 0,
        }];
        // Over 2 Mi synapses per thread: rows written through buckets.
        let big = [IndegreePart {
            ctx: ctx(40_000, 3, true),
            k: 130,
            offset: 0,
        }];
        let rng = Philox::new(9);
        for parts in [&merged[..], &alone[..], &big[..]] {
            let expected = transposed(parts, &rng);
            assert!(expected.targets.len() > 200_000);
            for (threads, whole, block) in [
                (1, u64::MAX, 0),
                (3, u64::MAX, 0),
                (1, 0, 1000),
                (2, 0, 70),
                (3, 0, 12_345),
                (4, 0, 1 << 22),
            ] {
                assert_eq!(
                    fixed_indegree_rows_in_blocks(parts, &rng, threads, whole, block),
                    expected,
                    "{threads} threads, whole up to {whole}, blocks of {block}"
                );
            }
        }
        // The rule's own CSR is the same.
        assert_eq!(
            connect(&ConnectionRule::FixedIndegree(80), &alone[0].ctx, &rng),
            transposed(&alone, &rng)
        );
    }

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
