//! Where a projection's synapses are: drawn into host memory, left for the backend to draw
//! (the GPU draws them on the device), or never stored and drawn again whenever a source spikes
//! (procedural connectivity, as in GeNN; Knight & Nowotny 2021).

use std::ops::Range;

use crate::config::{ConnectionRule, ProjectionSpec};
use crate::rng::{Philox, Stream, WordSequence};

use super::bernoulli::BernoulliDraw;
use super::build::delay_steps;
use super::csr::{Csr, PerSynapse, Wiring};
use super::rules::{self, RuleContext};
use super::FixedPoint;

#[derive(Clone, Debug, PartialEq)]
pub enum Synapses {
    /// Drawn at build time into host memory.
    Stored(Csr),
    /// Drawn by the backend where it keeps them. `RowRule::to_csr` gives exactly the CSR of a
    /// stored build; the GPU draws the same synapses on the device (its rows unsorted).
    Deferred(RowRule),
    /// Never stored: a spiking source's row is drawn again every time it spikes.
    Procedural(RowRule),
}

impl Synapses {
    /// The number of synapses (the expectation where [`Synapses::count_is_exact`] is false).
    pub fn n_synapses(&self) -> u64 {
        match self {
            Synapses::Stored(csr) => csr.n_synapses() as u64,
            Synapses::Deferred(rule) | Synapses::Procedural(rule) => rule.n_synapses(),
        }
    }

    /// Whether [`Synapses::n_synapses`] is the count itself: not for a `pairwise_bernoulli` rule
    /// left to the backend, whose count is known once drawn.
    pub fn count_is_exact(&self) -> bool {
        match self {
            Synapses::Stored(_) => true,
            Synapses::Deferred(rule) | Synapses::Procedural(rule) => rule.count_is_exact(),
        }
    }

    pub fn max_delay(&self) -> u16 {
        match self {
            Synapses::Stored(csr) => csr.max_delay(),
            Synapses::Deferred(rule) | Synapses::Procedural(rule) => rule.delay,
        }
    }

    /// The stored CSR, if the synapses are in host memory.
    pub fn csr(&self) -> Option<&Csr> {
        match self {
            Synapses::Stored(csr) => Some(csr),
            _ => None,
        }
    }
}

/// The connection rules whose synapses a backend can draw itself, a row, a target or a synapse
/// at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RowRuleKind {
    /// `k` sources per target, with multapses: drawn per target.
    FixedIndegree(u32),
    /// `k` targets per source, with multapses: drawn per source row.
    FixedOutdegree(u32),
    AllToAll,
    OneToOne,
    /// `n` synapses between uniformly drawn pairs, with multapses: pair `i` is words `2i` and
    /// `2i + 1` of one stream (see `rules::fixed_total_number`).
    FixedTotalNumber(u32),
    /// Each pair with probability `p` (0 <= p < 1; p = 1 is `AllToAll`): drawn per source row,
    /// segment by segment (see [`BernoulliDraw`]).
    PairwiseBernoulli(f64),
}

impl RowRuleKind {
    /// The row rule that draws `rule`, if one does: not when partners must be distinct (Floyd's
    /// draws depend on each other), nor for more `fixed_total_number` pairs than u32 counts.
    /// `pairwise_bernoulli` of p >= 1 is `all_to_all`. The one place that decides what a backend
    /// draws itself and what may be procedural (`network::size`, the config's validation).
    pub fn of(rule: ConnectionRule, allow_multapses: bool) -> Option<RowRuleKind> {
        Some(match rule {
            ConnectionRule::FixedIndegree(k) if allow_multapses => RowRuleKind::FixedIndegree(k),
            ConnectionRule::FixedOutdegree(k) if allow_multapses => RowRuleKind::FixedOutdegree(k),
            ConnectionRule::AllToAll => RowRuleKind::AllToAll,
            ConnectionRule::OneToOne => RowRuleKind::OneToOne,
            ConnectionRule::FixedTotalNumber(n) if allow_multapses => {
                RowRuleKind::FixedTotalNumber(u32::try_from(n).ok()?)
            }
            ConnectionRule::PairwiseBernoulli(p) if p >= 1.0 => RowRuleKind::AllToAll,
            ConnectionRule::PairwiseBernoulli(p) => RowRuleKind::PairwiseBernoulli(p),
            _ => return None,
        })
    }

    /// Whether a source's row can be drawn on its own (so procedurally): not `FixedIndegree`
    /// (drawn per target) nor `FixedTotalNumber` (drawn per synapse).
    pub fn draws_rows(self) -> bool {
        !matches!(
            self,
            RowRuleKind::FixedIndegree(_) | RowRuleKind::FixedTotalNumber(_)
        )
    }

    /// Whether a device draw counts each row's synapses first (the rows' lengths are not known
    /// beforehand).
    pub fn counts_rows(self) -> bool {
        matches!(
            self,
            RowRuleKind::FixedIndegree(_)
                | RowRuleKind::FixedTotalNumber(_)
                | RowRuleKind::PairwiseBernoulli(_)
        )
    }

    /// Device bytes of the thresholds a `pairwise_bernoulli` draw keeps.
    pub fn table_bytes(self) -> u64 {
        match self {
            RowRuleKind::PairwiseBernoulli(p) => super::bernoulli::table_bytes(p),
            _ => 0,
        }
    }
}

/// A connection rule with one weight and one delay, that draws the same synapses wherever it
/// runs: partner `m` of row `r` comes from word `m` of the stream `(Connectivity, projection, r)`
/// (see `rules::draw_partners`; `fixed_total_number`: pair `i` from words `2i`, `2i + 1` of one
/// stream; `pairwise_bernoulli`: [`BernoulliDraw`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RowRule {
    pub kind: RowRuleKind,
    pub n_sources: u32,
    pub n_targets: u32,
    /// No autapses within one population.
    pub exclude_self: bool,
    /// Random stream word (`Stream::Connectivity`, projection index).
    pub stream: u32,
    /// Weight [fixed-point units].
    pub weight: i32,
    /// Delay [steps].
    pub delay: u16,
    /// Index of the projection (keys the stream; used to draw the CSR on the host).
    pub projection: usize,
}

impl RowRule {
    /// The row rule of a projection, if its rule and values allow one.
    pub fn for_projection(
        proj: &ProjectionSpec,
        ctx: &RuleContext,
        fixed_point: &FixedPoint,
        dt_ms: f64,
    ) -> Option<RowRule> {
        let (crate::config::Distribution::Constant(w), crate::config::Distribution::Constant(d)) =
            (proj.weight_ns, proj.delay_ms)
        else {
            return None;
        };
        let kind = RowRuleKind::of(proj.rule, proj.allow_multapses)?;
        Some(RowRule {
            kind,
            n_sources: ctx.n_sources,
            n_targets: ctx.n_targets,
            exclude_self: ctx.same_population && !ctx.allow_autapses,
            stream: Stream::Connectivity.word(ctx.projection),
            weight: fixed_point.to_fixed(proj.receptor, w),
            delay: delay_steps(d, dt_ms),
            projection: ctx.projection,
        })
    }

    /// The number of synapses; for `pairwise_bernoulli` its expectation (see
    /// [`RowRule::count_is_exact`]).
    pub fn n_synapses(&self) -> u64 {
        let (n_s, n_t) = (u64::from(self.n_sources), u64::from(self.n_targets));
        match self.kind {
            RowRuleKind::FixedTotalNumber(n) => u64::from(n),
            RowRuleKind::PairwiseBernoulli(p) => {
                ((n_s * (n_t - u64::from(self.exclude_self))) as f64 * p).round() as u64
            }
            RowRuleKind::FixedIndegree(k) => n_t * u64::from(k),
            RowRuleKind::FixedOutdegree(k) => n_s * u64::from(k),
            RowRuleKind::AllToAll => n_s * (n_t - u64::from(self.exclude_self)),
            RowRuleKind::OneToOne => {
                if self.exclude_self {
                    0
                } else {
                    n_s
                }
            }
        }
    }

    /// Whether the rule makes no synapse at all (not only none expected: a `pairwise_bernoulli`
    /// of tiny p expects less than one synapse and may still draw some).
    pub fn has_no_synapses(&self) -> bool {
        match self.kind {
            RowRuleKind::PairwiseBernoulli(p) => p <= 0.0 || self.n_targets == 0,
            _ => self.n_synapses() == 0,
        }
    }

    /// Whether [`RowRule::n_synapses`] is the count itself (not an expectation).
    pub fn count_is_exact(&self) -> bool {
        !matches!(self.kind, RowRuleKind::PairwiseBernoulli(p) if p > 0.0)
    }

    /// The rule's context for the host's connection rules.
    fn context(&self, threads: usize) -> RuleContext {
        RuleContext {
            n_sources: self.n_sources,
            n_targets: self.n_targets,
            same_population: self.exclude_self,
            allow_autapses: !self.exclude_self,
            allow_multapses: true,
            projection: self.projection,
            threads,
        }
    }

    /// The synapses in host memory: exactly what a stored build draws.
    pub fn to_csr(&self, rng: &Philox, threads: usize) -> Csr {
        let rule = match self.kind {
            RowRuleKind::FixedIndegree(k) => ConnectionRule::FixedIndegree(k),
            RowRuleKind::FixedOutdegree(k) => ConnectionRule::FixedOutdegree(k),
            RowRuleKind::AllToAll => ConnectionRule::AllToAll,
            RowRuleKind::OneToOne => ConnectionRule::OneToOne,
            RowRuleKind::FixedTotalNumber(n) => ConnectionRule::FixedTotalNumber(u64::from(n)),
            RowRuleKind::PairwiseBernoulli(p) => ConnectionRule::PairwiseBernoulli(p),
        };
        let Wiring {
            row_offsets,
            targets,
        } = rules::connect(&rule, &self.context(threads), rng);
        Csr {
            row_offsets,
            targets,
            weights: PerSynapse::Constant(self.weight),
            delays: PerSynapse::Constant(self.delay),
        }
    }

    /// Each source's number of synapses, without keeping the synapses where the rule draws
    /// rows (each row drawn and counted on its own); the other rules draw the CSR.
    pub fn outdegrees(&self, rng: &Philox, threads: usize) -> Vec<u32> {
        if !self.draws_rows() {
            return self.to_csr(rng, threads).outdegrees();
        }
        let drawer = self.drawer();
        let targets = 0..self.n_targets;
        rules::par_map_ranges(self.n_sources as usize, threads, |rows| {
            let mut row = Vec::new();
            rows.map(|source| {
                row.clear();
                drawer.row_targets(rng, source as u32, targets.clone(), &mut row);
                row.len() as u32
            })
            .collect()
        })
        .concat()
    }

    /// Whether a source's row can be drawn on its own (so procedurally): not `FixedIndegree`
    /// (drawn per target) nor `FixedTotalNumber` (drawn per synapse).
    pub fn draws_rows(&self) -> bool {
        self.kind.draws_rows()
    }

    /// Whether a device draw counts each row's synapses first (see [`RowRuleKind::counts_rows`]).
    pub fn counts_rows(&self) -> bool {
        self.kind.counts_rows()
    }

    /// How `pairwise_bernoulli` draws its rows (None for the other rules).
    pub fn bernoulli(&self) -> Option<BernoulliDraw> {
        match self.kind {
            RowRuleKind::PairwiseBernoulli(p) => {
                Some(BernoulliDraw::new(p, self.n_targets, self.exclude_self))
            }
            _ => None,
        }
    }

    /// The rule, ready to draw rows again and again (procedural synapses).
    pub fn drawer(&self) -> RowDrawer {
        assert!(
            self.draws_rows(),
            "{:?} is not drawn per source row",
            self.kind
        );
        RowDrawer {
            rule: *self,
            bernoulli: self.bernoulli(),
        }
    }
}

/// A rule that draws source rows (see [`RowRule::draws_rows`]), with what it needs to draw them
/// again and again (the thresholds of `pairwise_bernoulli`).
#[derive(Clone, Debug)]
pub struct RowDrawer {
    pub rule: RowRule,
    bernoulli: Option<BernoulliDraw>,
}

impl RowDrawer {
    /// Append the targets of source `row` to `out`, in draw order (a stored row holds the same
    /// targets, sorted): those in `within` at least, and others where leaving them out would
    /// cost draws (a thread that owns `within` skips the rest: all_to_all lists only `within`,
    /// pairwise_bernoulli walks only the segments that meet it).
    pub fn row_targets(&self, rng: &Philox, row: u32, within: Range<u32>, out: &mut Vec<u32>) {
        let rule = &self.rule;
        match rule.kind {
            RowRuleKind::FixedOutdegree(k) => {
                let mut seq: WordSequence = rng.sequence(rule.stream, row);
                rules::draw_with_multapses(
                    &mut seq,
                    rule.n_targets,
                    k,
                    row,
                    rule.exclude_self,
                    out,
                );
            }
            RowRuleKind::AllToAll => {
                let within = within.start..within.end.min(rule.n_targets);
                out.extend(within.filter(|&t| !(rule.exclude_self && t == row)));
            }
            RowRuleKind::OneToOne => {
                if !rule.exclude_self {
                    out.push(row);
                }
            }
            RowRuleKind::PairwiseBernoulli(_) => {
                let draw = self.bernoulli.as_ref().expect("made by RowRule::drawer");
                if !within.is_empty() {
                    let segments = within.start / draw.segment..=(within.end - 1) / draw.segment;
                    for g in segments.take_while(|&g| g < draw.segments()) {
                        draw.segment_targets(rng, rule.stream, row, g, |t| out.push(t));
                    }
                }
            }
            RowRuleKind::FixedIndegree(_) | RowRuleKind::FixedTotalNumber(_) => {
                unreachable!("checked by RowRule::drawer")
            }
        }
    }
}

/// Whether `rules` (each with the global index of its target population's first neuron) can be
/// merged by [`merged_indegree_csr`]: `fixed_indegree` rules out of one source population
/// (same size), with one weight and one delay, onto populations that do not overlap.
pub fn can_merge(rules: &[(RowRule, u32)]) -> bool {
    let Some((first, _)) = rules.first() else {
        return false;
    };
    let mut ranges: Vec<(u32, u32)> = rules.iter().map(|(r, o)| (*o, o + r.n_targets)).collect();
    ranges.sort_unstable();
    rules.iter().all(|(r, _)| {
        matches!(r.kind, RowRuleKind::FixedIndegree(_))
            && (r.n_sources, r.weight, r.delay) == (first.n_sources, first.weight, first.delay)
    }) && ranges.windows(2).all(|w| w[0].1 <= w[1].0)
}

/// The synapses of several `fixed_indegree` rules out of one source population (see
/// [`can_merge`]) in one CSR whose targets are global neuron indices: row `s` holds the synapses
/// of source `s` in every rule, sorted by target, so that a spike is delivered from one
/// contiguous row. Exactly the synapses of the rules' own CSRs (`to_csr`), drawn together
/// (`rules::fixed_indegree_rows`).
pub fn merged_indegree_csr(rules: &[(RowRule, u32)], rng: &Philox, threads: usize) -> Csr {
    assert!(can_merge(rules), "rules that cannot be merged");
    let mut rules = rules.to_vec();
    rules.sort_unstable_by_key(|&(_, offset)| offset);
    let indegree = |r: &RowRule| match r.kind {
        RowRuleKind::FixedIndegree(k) => k,
        _ => unreachable!("checked by can_merge"),
    };
    // Targets numbered by global neuron index, so that the rows hold global targets.
    let parts: Vec<rules::IndegreePart> = rules
        .iter()
        .map(|(rule, offset)| rules::IndegreePart {
            ctx: rule.context(threads),
            k: indegree(rule),
            offset: *offset,
        })
        .collect();
    let Wiring {
        row_offsets,
        targets,
    } = rules::fixed_indegree_rows(&parts, rng, threads);
    Csr {
        row_offsets,
        targets,
        weights: PerSynapse::Constant(rules[0].0.weight),
        delays: PerSynapse::Constant(rules[0].0.delay),
    }
}

/// Upper bound of a Binomial(n, q) draw that no draw exceeds in practice (mean + 10 standard
/// deviations + 10: by Chernoff's bound, probability below 1e-20), and never more than n.
fn binomial_bound(n: f64, q: f64) -> f64 {
    let mean = n * q;
    (mean + 10.0 * (mean * (1.0 - q)).sqrt() + 10.0).min(n)
}

/// The largest summed weight [nS] that this projection can put onto one target neuron in one
/// step. Exact for rules with a fixed in-degree; for rules with a random in-degree, a bound that
/// no draw exceeds in practice (and a backend that meets more input than the fixed point holds
/// stops with an error rather than wrapping around).
pub fn in_weight_bound(proj: &ProjectionSpec, n_sources: u32, n_targets: u32) -> f64 {
    let w = proj.weight_ns.upper_bound().max(0.0);
    let excluded = u32::from(proj.source == proj.target && !proj.allow_autapses);
    let (n_s, n_t) = (f64::from(n_sources), f64::from(n_targets));
    let pool_t = f64::from(n_targets.saturating_sub(excluded)).max(1.0);
    let indegree = match proj.rule {
        ConnectionRule::AllToAll => f64::from(n_sources.saturating_sub(excluded)),
        ConnectionRule::OneToOne => 1.0,
        ConnectionRule::FixedIndegree(k) => f64::from(k),
        ConnectionRule::FixedOutdegree(k) => {
            if proj.allow_multapses {
                binomial_bound(n_s * f64::from(k), 1.0 / pool_t)
            } else {
                binomial_bound(n_s, f64::from(k) / pool_t)
            }
        }
        ConnectionRule::FixedTotalNumber(n) => {
            let bound = binomial_bound(n as f64, 1.0 / n_t.max(1.0));
            if proj.allow_multapses {
                bound
            } else {
                bound.min(n_s)
            }
        }
        ConnectionRule::PairwiseBernoulli(p) => binomial_bound(n_s, p),
    };
    indegree * w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indegree(k: u32, n_sources: u32, n_targets: u32, projection: usize) -> RowRule {
        RowRule {
            kind: RowRuleKind::FixedIndegree(k),
            n_sources,
            n_targets,
            exclude_self: false,
            stream: Stream::Connectivity.word(projection),
            weight: 7,
            delay: 1,
            projection,
        }
    }

    #[test]
    fn merged_rows_hold_exactly_each_rules_rows() {
        let rng = Philox::new(11);
        // Sources: 300 neurons; targets: 0..300 (with autapses excluded) and 500..620, given
        // out of order; neurons 300..500 are no target.
        let mut own = indegree(9, 300, 300, 0);
        own.exclude_self = true;
        let other = indegree(4, 300, 120, 3);
        let rules = [(other, 500), (own, 0)];
        assert!(can_merge(&rules));
        let merged = merged_indegree_csr(&rules, &rng, 2);
        let a = own.to_csr(&rng, 1);
        let b = other.to_csr(&rng, 1);
        assert_eq!(merged.n_rows(), 300);
        assert_eq!(merged.n_synapses(), a.n_synapses() + b.n_synapses());
        for s in 0..300 {
            let expected: Vec<u32> = a.targets[a.row(s)]
                .iter()
                .copied()
                .chain(b.targets[b.row(s)].iter().map(|&t| t + 500))
                .collect();
            assert_eq!(merged.targets[merged.row(s)], expected[..], "row {s}");
        }
        assert_eq!(merged.weights, PerSynapse::Constant(7));
        // The same on any thread count.
        assert_eq!(merged_indegree_csr(&rules, &rng, 1), merged);
    }

    #[test]
    fn rows_drawn_within_a_range_hold_every_target_of_the_range() {
        let rng = Philox::new(4);
        for kind in [
            RowRuleKind::PairwiseBernoulli(0.05),
            RowRuleKind::AllToAll,
            RowRuleKind::FixedOutdegree(30),
        ] {
            let rule = RowRule {
                kind,
                exclude_self: true,
                ..indegree(0, 50, 1000, 2)
            };
            let drawer = rule.drawer();
            for row in 0..50 {
                let mut whole = Vec::new();
                drawer.row_targets(&rng, row, 0..1000, &mut whole);
                assert!(!whole.is_empty() && !whole.contains(&row), "{kind:?}");
                // Ranges that cut through Bernoulli's segments (320 targets each here).
                for within in [0..1, 0..333, 333..640, 640..999, 999..1000, 500..500] {
                    let mut part = Vec::new();
                    drawer.row_targets(&rng, row, within.clone(), &mut part);
                    part.retain(|t| within.contains(t));
                    let mut expected = whole.clone();
                    expected.retain(|t| within.contains(t));
                    assert_eq!(part, expected, "{kind:?}, row {row}, {within:?}");
                }
            }
        }
    }

    #[test]
    fn only_compatible_rules_merge() {
        let a = indegree(5, 100, 50, 0);
        assert!(!can_merge(&[]));
        assert!(can_merge(&[(a, 0)]));
        // Overlapping targets.
        assert!(!can_merge(&[(a, 0), (indegree(5, 100, 50, 1), 40)]));
        // Another weight, delay or source size.
        let w = RowRule { weight: 8, ..a };
        let d = RowRule { delay: 2, ..a };
        let n = indegree(5, 99, 50, 1);
        for other in [w, d, n] {
            assert!(!can_merge(&[(a, 0), (other, 50)]));
        }
        // Not fixed_indegree.
        let out = RowRule {
            kind: RowRuleKind::FixedOutdegree(5),
            ..a
        };
        assert!(!can_merge(&[(a, 0), (out, 50)]));
    }
}
