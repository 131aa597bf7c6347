//! Where a projection's synapses are: drawn into host memory, left for the backend to draw
//! (the GPU draws them on the device), or never stored and drawn again whenever a source spikes
//! (procedural connectivity, as in GeNN; Knight & Nowotny 2021).

use crate::config::{ConnectionRule, ProjectionSpec};
use crate::rng::{Philox, Stream, WordSequence};

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
    pub fn n_synapses(&self) -> u64 {
        match self {
            Synapses::Stored(csr) => csr.n_synapses() as u64,
            Synapses::Deferred(rule) | Synapses::Procedural(rule) => rule.n_synapses(),
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

/// The connection rules whose synapses a backend can draw itself, a row or a target at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowRuleKind {
    /// `k` sources per target, with multapses: drawn per target.
    FixedIndegree(u32),
    /// `k` targets per source, with multapses: drawn per source row.
    FixedOutdegree(u32),
    AllToAll,
    OneToOne,
}

/// A connection rule with one weight and one delay, that draws the same synapses wherever it
/// runs: partner `m` of row `r` comes from word `m` of the stream `(Connectivity, projection, r)`
/// (see `rules::draw_partners`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        let kind = match proj.rule {
            ConnectionRule::FixedIndegree(k) if proj.allow_multapses => {
                RowRuleKind::FixedIndegree(k)
            }
            ConnectionRule::FixedOutdegree(k) if proj.allow_multapses => {
                RowRuleKind::FixedOutdegree(k)
            }
            ConnectionRule::AllToAll => RowRuleKind::AllToAll,
            ConnectionRule::OneToOne => RowRuleKind::OneToOne,
            _ => return None,
        };
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

    pub fn n_synapses(&self) -> u64 {
        let (n_s, n_t) = (u64::from(self.n_sources), u64::from(self.n_targets));
        match self.kind {
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

    /// The synapses in host memory: exactly what a stored build draws.
    pub fn to_csr(&self, rng: &Philox, threads: usize) -> Csr {
        let rule = match self.kind {
            RowRuleKind::FixedIndegree(k) => ConnectionRule::FixedIndegree(k),
            RowRuleKind::FixedOutdegree(k) => ConnectionRule::FixedOutdegree(k),
            RowRuleKind::AllToAll => ConnectionRule::AllToAll,
            RowRuleKind::OneToOne => ConnectionRule::OneToOne,
        };
        let ctx = RuleContext {
            n_sources: self.n_sources,
            n_targets: self.n_targets,
            same_population: self.exclude_self,
            allow_autapses: !self.exclude_self,
            allow_multapses: true,
            projection: self.projection,
            threads,
        };
        let Wiring {
            row_offsets,
            targets,
        } = rules::connect(&rule, &ctx, rng);
        Csr {
            row_offsets,
            targets,
            weights: PerSynapse::Constant(self.weight),
            delays: PerSynapse::Constant(self.delay),
        }
    }

    /// Whether a source's row can be drawn on its own (not `FixedIndegree`, drawn per target).
    pub fn draws_rows(&self) -> bool {
        !matches!(self.kind, RowRuleKind::FixedIndegree(_))
    }

    /// Append the targets of source `row` to `out`, in draw order (a stored row holds the same
    /// targets, sorted). Not for `FixedIndegree`.
    pub fn row_targets(&self, rng: &Philox, row: u32, out: &mut Vec<u32>) {
        match self.kind {
            RowRuleKind::FixedOutdegree(k) => {
                let mut seq: WordSequence = rng.sequence(self.stream, row);
                rules::draw_with_multapses(
                    &mut seq,
                    self.n_targets,
                    k,
                    row,
                    self.exclude_self,
                    out,
                );
            }
            RowRuleKind::AllToAll => {
                out.extend((0..self.n_targets).filter(|&t| !(self.exclude_self && t == row)));
            }
            RowRuleKind::OneToOne => {
                if !self.exclude_self {
                    out.push(row);
                }
            }
            RowRuleKind::FixedIndegree(_) => {
                unreachable!("fixed_indegree rows are not drawn per source")
            }
        }
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
