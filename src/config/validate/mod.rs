//! Raw config -> [`NetworkSpec`]: defaults, units, ranges and cross-references, with every problem
//! reported (not only the first), each at the position of the offending key or value.
//!
//! Every check that fails records a [`Diagnostic`] and yields `None`; the spec is assembled only
//! when no check failed.

mod population;
mod projection;
mod record;
mod stimulus;

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use crate::network::stimulus::ms_to_steps;

use super::error::{join_key, ConfigError, Diagnostic, Location};
use super::raw::{Quantity, RawConfig, RawDistribution, RawSimulation};
use super::spec::{
    BackendChoice, ConfigSource, Distribution, NetworkSpec, Receptor, SimulationSpec,
};
use super::suggest::{backticked, did_you_mean};
use super::units::{format_number, Dimension};

use population::PopulationEntry;

/// Default integration step `dt` [ms].
pub const DEFAULT_DT_MS: f64 = 0.1;
/// Default seed.
pub const DEFAULT_SEED: u64 = 1;
/// Longest synaptic delay [steps]: delays are stored in 16 bits.
pub const MAX_DELAY_STEPS: i64 = u16::MAX as i64;
/// A Poisson generator may expect fewer spikes than this per step and target (rate * dt).
pub const MAX_POISSON_SPIKES_PER_STEP: f64 = 100.0;
/// Relative tolerance of "a multiple of dt": `|t/dt - round(t/dt)| <= 1e-9 * round(t/dt)`.
const GRID_TOLERANCE: f64 = 1e-9;
/// Most steps in a run: step counts stay exact in f64 below 2^53.
const MAX_STEPS: f64 = 9_007_199_254_740_992.0;

/// A failed check, before it is placed in the file (or on the command line).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Problem {
    pub message: String,
    pub help: String,
}

impl Problem {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            help: help.into(),
        }
    }
}

/// `t` in whole steps of `dt`, if it is a multiple of dt within [`GRID_TOLERANCE`].
fn grid_steps(t: f64, dt: f64) -> Option<f64> {
    let x = t / dt;
    let k = x.round();
    ((x - k).abs() <= GRID_TOLERANCE * k.abs().max(1.0)).then_some(k)
}

/// "10 or 10.1 ms": the grid times on either side of `t`.
fn nearest_grid_times(t: f64, dt: f64) -> String {
    let below = (t / dt).floor() * dt;
    let above = (t / dt).ceil() * dt;
    format!("{} or {} ms", format_number(below), format_number(above))
}

/// `t_stop` [ms] must be a positive multiple of `dt` [ms].
pub(crate) fn check_t_stop(t_stop: f64, dt: f64) -> Result<(), Problem> {
    if !t_stop.is_finite() || t_stop <= 0.0 {
        return Err(Problem::new(
            format!(
                "t_stop must be a positive time (got {} ms)",
                format_number(t_stop)
            ),
            "the run covers (0, t_stop]: e.g. t_stop = 1000.0 simulates 1 s",
        ));
    }
    match grid_steps(t_stop, dt) {
        Some(k) if k > MAX_STEPS => Err(Problem::new(
            format!(
                "t_stop = {} ms is {k:e} steps of dt = {} ms, too many",
                format_number(t_stop),
                format_number(dt)
            ),
            "a run has at most 2^53 steps",
        )),
        Some(_) => Ok(()),
        None => Err(Problem::new(
            format!(
                "t_stop = {} ms is not a multiple of dt = {} ms",
                format_number(t_stop),
                format_number(dt)
            ),
            format!("use {}", nearest_grid_times(t_stop, dt)),
        )),
    }
}

/// At least one thread.
pub(crate) fn check_threads(threads: i64) -> Result<usize, Problem> {
    match usize::try_from(threads) {
        Ok(t) if t >= 1 => Ok(t),
        _ => Err(Problem::new(
            format!("threads must be at least 1 (got {threads})"),
            "leave it out to use one thread per core",
        )),
    }
}

/// A table being validated: how messages name it and where its header is.
struct Table {
    label: String,
    span: Range<usize>,
}

impl Table {
    fn key(&self, key: &str) -> String {
        join_key(&self.label, key)
    }
}

const BACKENDS: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Cpu, BackendChoice::Gpu];

/// Receptors, by their config names.
const RECEPTORS: [(&str, Receptor); 2] =
    [("ex", Receptor::Excitatory), ("in", Receptor::Inhibitory)];

/// How a distribution-valued key may be drawn.
#[derive(Clone, Copy)]
struct DistributionRules {
    /// Why a normal distribution is not allowed for this key, if it is not.
    no_normal: Option<&'static str>,
    /// Values must be >= 0 (a normal's mean, since negative draws are redrawn).
    non_negative: bool,
}

/// At most this many problems are listed; the count of the others is given.
const MAX_LISTED: usize = 50;

/// Collects problems while validating a whole file.
struct Validator {
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    /// Each problem with the byte offset it is at; located once sorted and truncated.
    problems: Vec<(usize, Diagnostic)>,
}

/// Validates a whole parsed file.
pub(crate) fn validate(
    raw: RawConfig,
    text: &str,
    path: &Path,
) -> Result<NetworkSpec, ConfigError> {
    let line_starts = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut v = Validator {
        line_starts,
        problems: Vec::new(),
    };
    let (simulation, dt) = v.simulation(raw.simulation.as_ref());
    let populations = v.populations(&raw.population);
    let projections = v.projections(&raw.projection, &populations, dt);
    let stimuli = v.stimuli(&raw.stimulus, &populations, dt);
    let recorders = v.recorders(raw.record.as_deref(), &populations, dt);

    let spec = (|| {
        Some(NetworkSpec {
            simulation: simulation?,
            populations: populations
                .into_iter()
                .map(|p| p.spec)
                .collect::<Option<_>>()?,
            projections: projections?,
            stimuli: stimuli?,
            recorders: recorders?,
            source: ConfigSource {
                path: path.to_path_buf(),
                text: text.to_string(),
            },
        })
    })();
    match spec {
        Some(spec) if v.problems.is_empty() => Ok(spec),
        _ => {
            v.problems.sort_by_key(|(offset, _)| *offset);
            let omitted = v.problems.len().saturating_sub(MAX_LISTED);
            v.problems.truncate(MAX_LISTED);
            let diagnostics = v
                .problems
                .into_iter()
                .map(|(offset, d)| Diagnostic {
                    location: Some(Location::of_offset(text, offset)),
                    ..d
                })
                .collect();
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics,
                omitted,
            })
        }
    }
}

impl Validator {
    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn report(&mut self, span: Range<usize>, key: String, problem: Problem) {
        self.problems.push((
            span.start,
            Diagnostic {
                location: None,
                key,
                message: problem.message,
                help: Some(problem.help),
            },
        ));
    }

    /// Reports a problem with `key` of `table` at `span`; always `None`, to return from checks.
    fn fail<T>(
        &mut self,
        table: &Table,
        key: &str,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Option<T> {
        self.report(span, table.key(key), Problem::new(message, help));
        None
    }

    /// The value of a required key, or a report that it is missing.
    fn required<'r, T>(
        &mut self,
        table: &Table,
        key: &str,
        value: &'r Option<Spanned<T>>,
        meaning: &str,
    ) -> Option<&'r Spanned<T>> {
        if value.is_none() {
            self.report(
                table.span.clone(),
                table.label.clone(),
                Problem::new(
                    format!("missing required key `{key}`"),
                    format!("add `{key} = ...`: {meaning}"),
                ),
            );
        }
        value.as_ref()
    }

    fn quantity(
        &mut self,
        table: &Table,
        key: &str,
        q: &Spanned<Quantity>,
        dimension: Dimension,
    ) -> Option<f64> {
        self.quantity_at(table, key, q.get_ref(), q.span(), dimension)
    }

    fn quantity_at(
        &mut self,
        table: &Table,
        key: &str,
        q: &Quantity,
        span: Range<usize>,
        dimension: Dimension,
    ) -> Option<f64> {
        match q.value(dimension) {
            Ok(v) => Some(v),
            Err(e) => self.fail(
                table,
                key,
                span,
                e.describe(&q.as_written(), dimension),
                e.help(dimension),
            ),
        }
    }

    /// An optional quantity with its default.
    fn quantity_or(
        &mut self,
        table: &Table,
        key: &str,
        q: &Option<Spanned<Quantity>>,
        dimension: Dimension,
        default: f64,
    ) -> Option<f64> {
        match q {
            Some(q) => self.quantity(table, key, q, dimension),
            None => Some(default),
        }
    }

    /// An integer in `min..=max`.
    fn integer(
        &mut self,
        table: &Table,
        key: &str,
        v: &Spanned<i64>,
        min: i64,
        max: i64,
        help: &str,
    ) -> Option<i64> {
        let value = *v.get_ref();
        if value < min {
            return self.fail(
                table,
                key,
                v.span(),
                format!("must be at least {min} (got {value})"),
                help,
            );
        }
        if value > max {
            return self.fail(
                table,
                key,
                v.span(),
                format!("must be at most {max} (got {value})"),
                help,
            );
        }
        Some(value)
    }

    /// One of `choices`, or a report listing them.
    fn choice<'c>(
        &mut self,
        table: &Table,
        key: &str,
        v: &Spanned<String>,
        choices: &[&'c str],
    ) -> Option<&'c str> {
        let given = v.get_ref().as_str();
        if let Some(c) = choices.iter().find(|c| **c == given) {
            return Some(c);
        }
        self.fail(
            table,
            key,
            v.span(),
            format!("unknown {key} \"{given}\""),
            format!(
                "{}valid values: {}",
                did_you_mean(given, choices.iter().copied()),
                quoted(choices)
            ),
        )
    }

    fn receptor(&mut self, table: &Table, key: &str, v: &Spanned<String>) -> Option<Receptor> {
        let name = self.choice(table, key, v, &RECEPTORS.map(|(name, _)| name))?;
        RECEPTORS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    /// The index of the population `v` names.
    fn population_ref(
        &mut self,
        table: &Table,
        key: &str,
        v: &Spanned<String>,
        pops: &[PopulationEntry],
    ) -> Option<usize> {
        let given = v.get_ref().as_str();
        if let Some(i) = pops.iter().position(|p| p.name.as_deref() == Some(given)) {
            return Some(i);
        }
        let names: Vec<&str> = pops.iter().filter_map(|p| p.name.as_deref()).collect();
        let help = if names.is_empty() {
            "define it with [[population]], name = \"...\"".to_string()
        } else {
            format!(
                "{}defined populations: {}",
                did_you_mean(given, names.iter().copied()),
                quoted(&names)
            )
        };
        self.fail(
            table,
            key,
            v.span(),
            format!("no population is named \"{given}\""),
            help,
        )
    }

    /// `t` [ms] as a whole number of steps, or a report with the nearest grid times.
    fn on_grid(
        &mut self,
        table: &Table,
        key: &str,
        span: Range<usize>,
        t: f64,
        dt: f64,
    ) -> Option<f64> {
        match grid_steps(t, dt) {
            Some(k) => Some(k),
            None => self.fail(
                table,
                key,
                span,
                format!(
                    "{} ms is not on the dt grid (a multiple of dt = {} ms)",
                    format_number(t),
                    format_number(dt)
                ),
                format!("the nearest grid times are {}", nearest_grid_times(t, dt)),
            ),
        }
    }

    fn distribution(
        &mut self,
        table: &Table,
        key: &str,
        d: &Spanned<RawDistribution>,
        dimension: Dimension,
        rules: DistributionRules,
    ) -> Option<Distribution> {
        let unit = dimension.unit();
        let negative = |v: f64| rules.non_negative && v < 0.0;
        match d.get_ref() {
            RawDistribution::Constant(q) => {
                let value = self.quantity_at(table, key, q, d.span(), dimension)?;
                if negative(value) {
                    return self.fail(
                        table,
                        key,
                        d.span(),
                        format!("must be >= 0 (got {} {unit})", format_number(value)),
                        "the receptor, not the sign, selects the conductance",
                    );
                }
                Some(Distribution::Constant(value))
            }
            RawDistribution::Uniform(bounds) => {
                let [low, high] = bounds.as_slice() else {
                    return self.fail(
                        table,
                        key,
                        d.span(),
                        format!("uniform takes two bounds [low, high], got {}", bounds.len()),
                        format!("write {key} = {{ uniform = [low, high] }} in {unit}"),
                    );
                };
                let low_value = self.quantity(table, &format!("{key}.uniform[0]"), low, dimension);
                let high_value =
                    self.quantity(table, &format!("{key}.uniform[1]"), high, dimension);
                let (low_value, high_value) = (low_value?, high_value?);
                if low_value >= high_value {
                    return self.fail(
                        table,
                        key,
                        d.span(),
                        format!(
                            "uniform needs low < high (got [{}, {}] {unit})",
                            format_number(low_value),
                            format_number(high_value)
                        ),
                        "swap the bounds, or write a constant for a single value",
                    );
                }
                if negative(low_value) {
                    return self.fail(
                        table,
                        key,
                        low.span(),
                        format!(
                            "the lower bound must be >= 0 (got {} {unit})",
                            format_number(low_value)
                        ),
                        "the receptor, not the sign, selects the conductance",
                    );
                }
                Some(Distribution::Uniform {
                    low: low_value,
                    high: high_value,
                })
            }
            RawDistribution::Normal { mean, std } => {
                if let Some(reason) = rules.no_normal {
                    return self.fail(
                        table,
                        key,
                        d.span(),
                        format!("a normal distribution is not allowed here: {reason}"),
                        format!("use a constant or {{ uniform = [low, high] }} in {unit}"),
                    );
                }
                let mean_value =
                    self.quantity(table, &format!("{key}.normal.mean"), mean, dimension);
                let std_value = self.quantity(table, &format!("{key}.normal.std"), std, dimension);
                let (mean_value, std_value) = (mean_value?, std_value?);
                if std_value <= 0.0 {
                    return self.fail(
                        table,
                        &format!("{key}.normal.std"),
                        std.span(),
                        format!("must be positive (got {} {unit})", format_number(std_value)),
                        "write a constant for a value without spread",
                    );
                }
                if negative(mean_value) {
                    return self.fail(
                        table,
                        &format!("{key}.normal.mean"),
                        mean.span(),
                        format!("must be >= 0 (got {} {unit})", format_number(mean_value)),
                        "negative draws are drawn again (a normal truncated at 0), so the mean \
                         must not be negative",
                    );
                }
                Some(Distribution::Normal {
                    mean: mean_value,
                    std: std_value,
                })
            }
        }
    }

    /// A delay distribution [ms] must round (NEST: to the nearest step, half up) to at least
    /// one step, and to at most `max_steps` when given.
    fn check_delay(
        &mut self,
        table: &Table,
        key: &str,
        span: Range<usize>,
        delay: &Distribution,
        dt: f64,
        max_steps: Option<i64>,
    ) -> Option<()> {
        let shortest = delay.lower_bound();
        if ms_to_steps(shortest, dt) < 1 {
            return self.fail(
                table,
                key,
                span,
                format!(
                    "a delay of {} ms rounds to {} steps of dt = {} ms; the shortest delay is \
                     one step",
                    format_number(shortest),
                    ms_to_steps(shortest, dt),
                    format_number(dt)
                ),
                format!("use a delay of at least dt = {} ms", format_number(dt)),
            );
        }
        let longest = delay.upper_bound();
        if let Some(max) = max_steps.filter(|&max| ms_to_steps(longest, dt) > max) {
            return self.fail(
                table,
                key,
                span,
                format!(
                    "a delay of {} ms is {} steps of dt = {} ms; at most {max} steps fit",
                    format_number(longest),
                    ms_to_steps(longest, dt),
                    format_number(dt)
                ),
                format!(
                    "use a delay of at most {} ms",
                    format_number(max as f64 * dt)
                ),
            );
        }
        Some(())
    }

    /// Reports keys given to a model that does not take them.
    fn reject_foreign_keys(
        &mut self,
        table: &Table,
        model: &str,
        valid: &[&str],
        given: &[(&str, Option<Range<usize>>)],
    ) {
        for (key, span) in given {
            if let Some(span) = span.clone().filter(|_| !valid.contains(key)) {
                self.report(
                    span,
                    table.key(key),
                    Problem::new(
                        format!("{model} has no key `{key}`"),
                        format!(
                            "remove it; the keys of {model} are {}",
                            backticked(valid.iter().copied())
                        ),
                    ),
                );
            }
        }
    }

    /// Explicit names must be unique; the others get `base`, `base #2`, `base #3`, ...
    fn unique_names(
        &mut self,
        section: &str,
        tables: &[(Option<&Spanned<String>>, String)],
    ) -> Vec<String> {
        let mut taken: HashMap<String, usize> = HashMap::new();
        for (explicit, _) in tables {
            if let Some(name) = explicit {
                let line = self.line_of(name.span().start);
                if let Some(first) = taken.insert(name.get_ref().clone(), line) {
                    self.report(
                        name.span(),
                        format!("{section} \"{}\": name", name.get_ref()),
                        Problem::new(
                            format!(
                                "the name \"{}\" is already used by the {section} on line {first}",
                                name.get_ref()
                            ),
                            format!("give each {section} its own name"),
                        ),
                    );
                }
            }
        }
        tables
            .iter()
            .map(|(explicit, base)| match explicit {
                Some(name) => name.get_ref().clone(),
                None => {
                    let mut name = base.clone();
                    let mut copy = 2;
                    while taken.contains_key(&name) {
                        name = format!("{base} #{copy}");
                        copy += 1;
                    }
                    taken.insert(name.clone(), 0);
                    name
                }
            })
            .collect()
    }

    /// `[simulation]`, and dt [ms] for the checks of other tables: `None` when it is invalid
    /// (those checks are skipped), the default when `[simulation]` is missing.
    fn simulation(
        &mut self,
        raw: Option<&Spanned<RawSimulation>>,
    ) -> (Option<SimulationSpec>, Option<f64>) {
        let Some(raw) = raw else {
            self.report(
                0..0,
                "simulation".into(),
                Problem::new(
                    "missing table [simulation]",
                    "add [simulation] with t_stop = <simulated time in ms> (dt defaults to 0.1 ms)",
                ),
            );
            return (None, Some(DEFAULT_DT_MS));
        };
        let t = Table {
            label: "simulation".into(),
            span: raw.span(),
        };
        let raw: &RawSimulation = raw.get_ref();
        let dt = self
            .quantity_or(&t, "dt", &raw.dt, Dimension::Time, DEFAULT_DT_MS)
            .and_then(|dt| {
                if dt > 0.0 {
                    Some(dt)
                } else {
                    let span = raw.dt.as_ref().map_or(t.span.clone(), Spanned::span);
                    self.fail(
                        &t,
                        "dt",
                        span,
                        format!("dt must be positive (got {} ms)", format_number(dt)),
                        "the usual step is 0.1 ms",
                    )
                }
            });
        let t_stop = self
            .required(
                &t,
                "t_stop",
                &raw.t_stop,
                "the simulated time [ms], a multiple of dt",
            )
            .and_then(|q| {
                let value = self.quantity(&t, "t_stop", q, Dimension::Time)?;
                match check_t_stop(value, dt?) {
                    Ok(_) => Some(value),
                    Err(p) => {
                        self.report(q.span(), t.key("t_stop"), p);
                        None
                    }
                }
            });
        let seed = match &raw.seed {
            None => Some(DEFAULT_SEED),
            Some(s) => self
                .integer(&t, "seed", s, 0, i64::MAX, "any whole number from 0 up")
                .map(|s| s as u64),
        };
        let backend = match &raw.backend {
            None => Some(BackendChoice::Auto),
            Some(b) => {
                let names = BACKENDS.map(BackendChoice::name);
                let name = self.choice(&t, "backend", b, &names);
                BACKENDS.into_iter().find(|c| Some(c.name()) == name)
            }
        };
        let threads = match &raw.threads {
            None => Some(None),
            Some(th) => match check_threads(*th.get_ref()) {
                Ok(n) => Some(Some(n)),
                Err(p) => {
                    self.report(th.span(), t.key("threads"), p);
                    None
                }
            },
        };
        let spec = (|| {
            Some(SimulationSpec {
                dt_ms: dt?,
                t_stop_ms: t_stop?,
                seed: seed?,
                backend: backend?,
                threads: threads?,
            })
        })();
        (spec, dt)
    }
}

/// `"a", "b"`: choices as they are written in a config.
fn quoted(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_tolerance_is_relative() {
        assert_eq!(grid_steps(1000.0, 0.1), Some(10000.0));
        assert_eq!(grid_steps(0.3, 0.1), Some(3.0));
        assert_eq!(grid_steps(1000.05, 0.1), None);
        assert_eq!(grid_steps(1000.0 + 1e-8, 0.1), Some(10000.0));
        assert_eq!(grid_steps(1000.0 + 1e-5, 0.1), None);
        assert_eq!(nearest_grid_times(10.05, 0.1), "10 or 10.1 ms");
    }

    #[test]
    fn t_stop_checks() {
        assert_eq!(check_t_stop(1000.0, 0.1), Ok(()));
        assert!(check_t_stop(0.0, 0.1)
            .unwrap_err()
            .message
            .contains("positive"));
        assert!(check_t_stop(f64::NAN, 0.1)
            .unwrap_err()
            .message
            .contains("positive"));
        let e = check_t_stop(1000.05, 0.1).unwrap_err();
        assert!(
            e.message.contains("not a multiple of dt = 0.1 ms"),
            "{}",
            e.message
        );
        assert_eq!(e.help, "use 1000 or 1000.1 ms");
        assert!(check_t_stop(1e300, 0.1)
            .unwrap_err()
            .message
            .contains("too many"));
    }
}
