//! `[[projection]]`: partners, receptor, weight and delay distributions, and the connection rule
//! with its one parameter, checked against the sizes of the populations it connects.

use std::ops::Range;

use toml::Spanned;

use crate::config::error::table_label;
use crate::config::raw::RawProjection;
use crate::config::spec::{ConnectionRule, Distribution, ProjectionSpec, SynapseStorage};
use crate::config::units::Dimension;
use crate::network::RowRuleKind;

use super::{
    quoted, DistributionRules, PopulationEntry, Problem, Table, Validator, MAX_DELAY_STEPS,
};

const RULES: [&str; 6] = [
    "all_to_all",
    "one_to_one",
    "fixed_indegree",
    "fixed_outdegree",
    "fixed_total_number",
    "pairwise_bernoulli",
];

const STORAGE: [&str; 2] = ["stored", "procedural"];

/// The key each rule takes, with its meaning.
const RULE_KEYS: [(&str, &str, &str); 4] = [
    ("fixed_indegree", "indegree", "sources per target neuron"),
    ("fixed_outdegree", "outdegree", "targets per source neuron"),
    ("fixed_total_number", "N", "the total number of synapses"),
    ("pairwise_bernoulli", "p", "the probability of each pair"),
];

/// What a rule connects: the two populations, and whether it may repeat a neuron or a pair.
struct Partners<'p> {
    source: &'p PopulationEntry,
    target: &'p PopulationEntry,
    same_population: bool,
    autapses: bool,
    multapses: bool,
}

impl Validator {
    pub(super) fn projections(
        &mut self,
        raws: &[Spanned<RawProjection>],
        pops: &[PopulationEntry],
        dt: Option<f64>,
    ) -> Option<Vec<ProjectionSpec>> {
        let mut specs = Vec::with_capacity(raws.len());
        let mut names = Vec::with_capacity(raws.len());
        for (index, raw) in raws.iter().enumerate() {
            let r = raw.get_ref();
            let field = |k: &str| {
                let v = match k {
                    "name" => &r.name,
                    "source" => &r.source,
                    "target" => &r.target,
                    _ => &None,
                };
                v.as_ref().map(|s| s.get_ref().clone())
            };
            let source = field("source").unwrap_or_default();
            let target = field("target").unwrap_or_default();
            names.push((r.name.as_ref(), format!("{source}->{target}")));
            let t = Table {
                label: table_label("projection", index, field),
                span: raw.span(),
            };
            specs.push(self.projection(&t, r, pops, dt));
        }
        let names = self.unique_names("projection", &names);
        specs
            .into_iter()
            .zip(names)
            .map(|(spec, name)| spec.map(|spec| ProjectionSpec { name, ..spec }))
            .collect()
    }

    fn projection(
        &mut self,
        t: &Table,
        r: &RawProjection,
        pops: &[PopulationEntry],
        dt: Option<f64>,
    ) -> Option<ProjectionSpec> {
        let source = self
            .required(t, "source", &r.source, "the name of the source population")
            .and_then(|s| self.population_ref(t, "source", s, pops));
        let target = self
            .required(t, "target", &r.target, "the name of the target population")
            .and_then(|s| self.population_ref(t, "target", s, pops));
        let receptor_meaning = "\"ex\" (adds to g_ex) or \"in\" (adds to g_in)";
        let receptor = self
            .required(t, "receptor", &r.receptor, receptor_meaning)
            .and_then(|s| self.receptor(t, "receptor", s));
        let weight_rules = DistributionRules {
            no_normal: None,
            non_negative: true,
        };
        let weight = self
            .required(t, "weight", &r.weight, "the synaptic weight [nS], >= 0")
            .and_then(|w| self.distribution(t, "weight", w, Dimension::Conductance, weight_rules));
        let delay_rules = DistributionRules {
            no_normal: Some("a normal delay could fall below one step"),
            non_negative: false,
        };
        let delay = match &r.delay {
            None => dt.map(Distribution::Constant),
            Some(d) => self
                .distribution(t, "delay", d, Dimension::Time, delay_rules)
                .and_then(|delay| {
                    self.check_delay(t, "delay", d.span(), &delay, dt?, Some(MAX_DELAY_STEPS))?;
                    Some(delay)
                }),
        };
        let allow_autapses = r.allow_autapses.as_ref().is_none_or(|b| *b.get_ref());
        let allow_multapses = r.allow_multapses.as_ref().is_none_or(|b| *b.get_ref());
        let rule = self.rule(t, r);
        let storage = self.storage(t, r);
        let (source, target, rule, storage) = (source?, target?, rule?, storage?);
        // Size errors point at the rule's key (indegree, ...) or, for one_to_one, at the rule.
        let rule_key = match rule {
            ConnectionRule::FixedIndegree(_) => r.indegree.as_ref().map(Spanned::span),
            ConnectionRule::FixedOutdegree(_) => r.outdegree.as_ref().map(Spanned::span),
            ConnectionRule::FixedTotalNumber(_) => r.n.as_ref().map(Spanned::span),
            _ => None,
        };
        let rule_span = rule_key
            .or_else(|| r.rule.as_ref().map(Spanned::span))
            .unwrap_or(t.span.clone());
        let partners = Partners {
            source: &pops[source],
            target: &pops[target],
            same_population: source == target,
            autapses: allow_autapses,
            multapses: allow_multapses,
        };
        self.check_rule_fits(t, rule, rule_span, &partners)?;
        let (weight, delay) = (weight?, delay?);
        if storage == SynapseStorage::Procedural {
            self.check_procedural(t, r, rule, allow_multapses, &weight, &delay)?;
        }
        Some(ProjectionSpec {
            name: String::new(),
            source,
            target,
            receptor: receptor?,
            weight_ns: weight,
            delay_ms: delay,
            rule,
            allow_autapses,
            allow_multapses,
            storage,
        })
    }

    /// `storage = "stored" | "procedural"` (default stored).
    fn storage(&mut self, t: &Table, r: &RawProjection) -> Option<SynapseStorage> {
        let Some(s) = &r.storage else {
            return Some(SynapseStorage::Stored);
        };
        match self.choice(t, "storage", s, &STORAGE)? {
            "procedural" => Some(SynapseStorage::Procedural),
            _ => Some(SynapseStorage::Stored),
        }
    }

    /// Procedural synapses are drawn again row by row, from the source: the rule must draw a
    /// source's row on its own, and weight and delay must be one value each.
    fn check_procedural(
        &mut self,
        t: &Table,
        r: &RawProjection,
        rule: ConnectionRule,
        multapses: bool,
        weight: &Distribution,
        delay: &Distribution,
    ) -> Option<()> {
        let span = r.storage.as_ref().map_or(t.span.clone(), Spanned::span);
        let row_rule = RowRuleKind::of(rule, multapses).is_some_and(RowRuleKind::draws_rows);
        if !row_rule {
            let why = if matches!(rule, ConnectionRule::FixedOutdegree(_)) {
                "fixed_outdegree without multapses draws a row's targets one after another, each \
                 depending on the last"
                    .to_string()
            } else {
                format!(
                    "rule {} does not draw a source's row on its own",
                    rule.name()
                )
            };
            return self.fail(
                t,
                "storage",
                span,
                format!("procedural storage draws a spiking source's row again, but {why}"),
                "use rule = \"fixed_outdegree\" (with allow_multapses = true), \
                 \"pairwise_bernoulli\", \"all_to_all\" or \"one_to_one\", or storage = \"stored\"",
            );
        }
        for (key, value) in [("weight", weight), ("delay", delay)] {
            if !value.is_constant() {
                return self.fail(
                    t,
                    key,
                    span.clone(),
                    format!(
                        "procedural storage keeps one {key} per projection, not a distribution"
                    ),
                    format!("give a single {key}, or use storage = \"stored\""),
                );
            }
        }
        Some(())
    }

    /// The rule and its one parameter: required for its rule, rejected for the others.
    fn rule(&mut self, t: &Table, r: &RawProjection) -> Option<ConnectionRule> {
        let meaning = format!("the connection rule, one of {}", quoted(&RULES));
        let rule = self
            .required(t, "rule", &r.rule, &meaning)
            .and_then(|s| self.choice(t, "rule", s, &RULES))?;
        let given = [
            ("indegree", r.indegree.as_ref().map(Spanned::span)),
            ("outdegree", r.outdegree.as_ref().map(Spanned::span)),
            ("N", r.n.as_ref().map(Spanned::span)),
            ("p", r.p.as_ref().map(Spanned::span)),
        ];
        let mut keys_ok = true;
        for (key, span) in &given {
            let Some(span) = span else { continue };
            let owner = RULE_KEYS
                .iter()
                .find(|(_, k, _)| k == key)
                .map_or("", |(rule, _, _)| *rule);
            if owner != rule {
                keys_ok = false;
                self.report(
                    span.clone(),
                    t.key(key),
                    Problem::new(
                        format!("`{key}` belongs to rule {owner}, not to {rule}"),
                        format!("remove it, or set rule = \"{owner}\""),
                    ),
                );
            }
        }
        if let Some((_, key, meaning)) = RULE_KEYS.iter().find(|(owner, _, _)| *owner == rule) {
            if given.iter().all(|(k, span)| k != key || span.is_none()) {
                keys_ok = false;
                self.report(
                    t.span.clone(),
                    t.label.clone(),
                    Problem::new(
                        format!("rule {rule} needs `{key}`"),
                        format!("add `{key} = ...`: {meaning}"),
                    ),
                );
            }
        }
        if !keys_ok {
            return None;
        }
        let max_degree = i64::from(u32::MAX);
        match rule {
            "all_to_all" => Some(ConnectionRule::AllToAll),
            "one_to_one" => Some(ConnectionRule::OneToOne),
            "fixed_indegree" => r
                .indegree
                .as_ref()
                .and_then(|k| {
                    let help = "the number of sources per target, from 0 to 4294967295";
                    self.integer(t, "indegree", k, 0, max_degree, help)
                })
                .map(|k| ConnectionRule::FixedIndegree(k as u32)),
            "fixed_outdegree" => r
                .outdegree
                .as_ref()
                .and_then(|k| {
                    let help = "the number of targets per source, from 0 to 4294967295";
                    self.integer(t, "outdegree", k, 0, max_degree, help)
                })
                .map(|k| ConnectionRule::FixedOutdegree(k as u32)),
            "fixed_total_number" => {
                r.n.as_ref()
                    .and_then(|k| {
                        let help = "the total number of synapses, from 0 up";
                        self.integer(t, "N", k, 0, i64::MAX, help)
                    })
                    .map(|k| ConnectionRule::FixedTotalNumber(k as u64))
            }
            _ => r.p.as_ref().and_then(|p| {
                let value = *p.get_ref();
                if (0.0..=1.0).contains(&value) {
                    Some(ConnectionRule::PairwiseBernoulli(value))
                } else {
                    self.fail(
                        t,
                        "p",
                        p.span(),
                        format!("p must be a probability in [0, 1] (got {value})"),
                        "p is the probability that a (source, target) pair is connected",
                    )
                }
            }),
        }
    }

    /// The rule can draw its synapses between populations of these sizes (else
    /// `network::rules` would have no partner to draw, or could not find enough distinct ones).
    fn check_rule_fits(
        &mut self,
        t: &Table,
        rule: ConnectionRule,
        span: Range<usize>,
        partners: &Partners<'_>,
    ) -> Option<()> {
        // A size that is invalid has been reported already.
        let (n_s, n_t) = (partners.source.n?, partners.target.n?);
        let name_s = partners.source.name.as_deref().unwrap_or("");
        let name_t = partners.target.name.as_deref().unwrap_or("");
        let excluded = u32::from(partners.same_population && !partners.autapses);
        let no_autapses = if excluded == 1 {
            " other than the neuron itself (allow_autapses = false)"
        } else {
            ""
        };
        // Partners available to one row: (count, pool, population, key, row, partners).
        let row = match rule {
            ConnectionRule::FixedIndegree(k) => {
                Some((k, n_s - excluded, name_s, "indegree", "target", "sources"))
            }
            ConnectionRule::FixedOutdegree(k) => {
                Some((k, n_t - excluded, name_t, "outdegree", "source", "targets"))
            }
            _ => None,
        };
        if let Some((k, pool, pop, key, row, partner)) = row {
            if k > 0 && pool == 0 {
                return self.fail(
                    t,
                    key,
                    span,
                    format!(
                        "a {row} has no possible {partner}: \"{pop}\" has a single neuron and \
                         allow_autapses = false"
                    ),
                    "set allow_autapses = true or use a larger population",
                );
            }
            if !partners.multapses && k > pool {
                return self.fail(
                    t,
                    key,
                    span,
                    format!(
                        "{key} = {k} needs {k} distinct {partner} per {row}, but \"{pop}\" has \
                         only {pool}{no_autapses}, and allow_multapses = false"
                    ),
                    format!("lower {key} to at most {pool}, or set allow_multapses = true"),
                );
            }
        }
        match rule {
            ConnectionRule::FixedTotalNumber(n) => {
                let pairs = u64::from(n_s) * u64::from(n_t - excluded);
                if n > 0 && pairs == 0 {
                    return self.fail(
                        t,
                        "N",
                        span,
                        format!(
                            "\"{name_s}\" has a single neuron and allow_autapses = false: there \
                             is no pair to connect"
                        ),
                        "set allow_autapses = true or use a larger population",
                    );
                }
                if !partners.multapses && n > pairs {
                    return self.fail(
                        t,
                        "N",
                        span,
                        format!(
                            "N = {n} distinct synapses do not fit in the {pairs} (source, target) \
                             pairs{no_autapses}, and allow_multapses = false"
                        ),
                        format!("lower N to at most {pairs}, or set allow_multapses = true"),
                    );
                }
            }
            ConnectionRule::OneToOne if n_s != n_t => {
                return self.fail(
                    t,
                    "rule",
                    span,
                    format!(
                        "one_to_one connects source i to target i, but \"{name_s}\" has {n_s} \
                         neurons and \"{name_t}\" has {n_t}"
                    ),
                    "use populations of the same size, or another rule",
                );
            }
            _ => {}
        }
        Some(())
    }
}
