//! `[[record]]`: spike recorders (merged into one) and multimeters (one per variable and
//! population).

use std::collections::HashMap;

use toml::Spanned;

use crate::config::error::table_label;
use crate::config::raw::{RawNeurons, RawRecord};
use crate::config::slice::Slice;
use crate::config::spec::RecorderSpec;
use crate::config::suggest::did_you_mean;
use crate::config::units::{format_number, Dimension};
use crate::model::StateVariable;

use super::{grid_steps, nearest_grid_times, quoted, PopulationEntry, Problem, Table, Validator};

const SPIKE_RECORDER: &str = "spike_recorder";
const MULTIMETER: &str = "multimeter";
const RECORD_MODELS: [&str; 2] = [SPIKE_RECORDER, MULTIMETER];

/// The keys of each recorder.
fn record_model_keys(model: &str) -> &'static [&'static str] {
    match model {
        SPIKE_RECORDER => &["model", "populations"],
        MULTIMETER => &["model", "population", "neurons", "record_from", "interval"],
        _ => &[],
    }
}

impl Validator {
    pub(super) fn recorders(
        &mut self,
        raws: Option<&[Spanned<RawRecord>]>,
        pops: &[PopulationEntry],
        dt: Option<f64>,
    ) -> Option<Vec<RecorderSpec>> {
        let Some(raws) = raws else {
            // No [[record]] at all: keep the spikes of every population.
            return Some(vec![RecorderSpec::Spikes {
                populations: (0..pops.len()).collect(),
            }]);
        };
        let mut recorders: Vec<Option<RecorderSpec>> = Vec::new();
        // Every spike recorder merges into the first one.
        let mut spike_slot: Option<usize> = None;
        let mut spiking: Vec<usize> = Vec::new();
        let mut spikes_ok = true;
        // (population, variable) -> the line of the multimeter that records it.
        let mut recorded: HashMap<(usize, StateVariable), usize> = HashMap::new();
        for (index, raw) in raws.iter().enumerate() {
            let r = raw.get_ref();
            let t = Table {
                label: table_label("record", index, |k| match k {
                    "model" => r.model.as_ref().map(|m| m.get_ref().clone()),
                    _ => None,
                }),
                span: raw.span(),
            };
            let meaning = format!("the recorder, one of {}", quoted(&RECORD_MODELS));
            let model = self
                .required(&t, "model", &r.model, &meaning)
                .and_then(|m| self.choice(&t, "model", m, &RECORD_MODELS));
            let Some(model) = model else {
                recorders.push(None);
                continue;
            };
            self.reject_foreign_keys(
                &t,
                model,
                record_model_keys(model),
                &[
                    ("populations", r.populations.as_ref().map(Spanned::span)),
                    ("population", r.population.as_ref().map(Spanned::span)),
                    ("neurons", r.neurons.as_ref().map(Spanned::span)),
                    ("record_from", r.record_from.as_ref().map(Spanned::span)),
                    ("interval", r.interval.as_ref().map(Spanned::span)),
                ],
            );
            if model == SPIKE_RECORDER {
                match self.spike_recorder(&t, r, pops) {
                    Some(populations) => spiking.extend(populations),
                    None => spikes_ok = false,
                }
                if spike_slot.is_none() {
                    spike_slot = Some(recorders.len());
                    recorders.push(None);
                }
            } else {
                recorders.push(self.multimeter(&t, r, pops, dt, &mut recorded));
            }
        }
        if let Some(slot) = spike_slot.filter(|_| spikes_ok) {
            spiking.sort_unstable();
            spiking.dedup();
            recorders[slot] = Some(RecorderSpec::Spikes {
                populations: spiking,
            });
        }
        recorders.into_iter().collect()
    }

    /// The populations of a spike recorder (all by default).
    fn spike_recorder(
        &mut self,
        t: &Table,
        r: &RawRecord,
        pops: &[PopulationEntry],
    ) -> Option<Vec<usize>> {
        let Some(list) = &r.populations else {
            return Some((0..pops.len()).collect());
        };
        if list.get_ref().is_empty() {
            return self.fail(
                t,
                "populations",
                list.span(),
                "the list is empty",
                "leave `populations` out to record every population",
            );
        }
        let found: Vec<Option<usize>> = list
            .get_ref()
            .iter()
            .map(|name| self.population_ref(t, "populations", name, pops))
            .collect();
        found.into_iter().collect()
    }

    fn multimeter(
        &mut self,
        t: &Table,
        r: &RawRecord,
        pops: &[PopulationEntry],
        dt: Option<f64>,
        recorded: &mut HashMap<(usize, StateVariable), usize>,
    ) -> Option<RecorderSpec> {
        let meaning = "the name of the population to record";
        let population = self
            .required(t, "population", &r.population, meaning)
            .and_then(|s| self.population_ref(t, "population", s, pops));
        let neurons = population.and_then(|p| self.multimeter_neurons(t, r, pops[p].n?));
        let variables = self.record_from(t, r, population.map(|p| (p, &pops[p])), recorded);
        let interval_steps = self.interval_steps(t, r, dt);
        Some(RecorderSpec::State {
            population: population?,
            neurons: neurons?,
            variables: variables?,
            interval_steps: interval_steps?,
        })
    }

    /// The variables of a multimeter, none of them recorded by another multimeter of the same
    /// `population` (index and entry); `recorded` maps (population, variable) to a line.
    fn record_from(
        &mut self,
        t: &Table,
        r: &RawRecord,
        population: Option<(usize, &PopulationEntry)>,
        recorded: &mut HashMap<(usize, StateVariable), usize>,
    ) -> Option<Vec<StateVariable>> {
        let names = StateVariable::ALL.map(StateVariable::name);
        let meaning = format!("the variables to record, some of {}", quoted(&names));
        let list = self.required(t, "record_from", &r.record_from, &meaning)?;
        if list.get_ref().is_empty() {
            let help = format!("name at least one of {}", quoted(&names));
            return self.fail(t, "record_from", list.span(), "the list is empty", help);
        }
        let mut variables = Vec::new();
        let mut ok = true;
        for name in list.get_ref() {
            let given = name.get_ref().as_str();
            let problem = match StateVariable::from_name(given) {
                None => Some(Problem::new(
                    format!("iaf_cond_exp has no state variable \"{given}\""),
                    format!(
                        "{}recordable variables: {}",
                        did_you_mean(given, names),
                        quoted(&names)
                    ),
                )),
                Some(variable) if variables.contains(&variable) => Some(Problem::new(
                    format!("\"{given}\" is listed twice"),
                    "name each variable once",
                )),
                Some(variable) => {
                    let line = self.line_of(name.span().start);
                    let earlier =
                        population.and_then(|(p, _)| recorded.insert((p, variable), line));
                    variables.push(variable);
                    earlier.map(|first| {
                        let pop = population
                            .and_then(|(_, e)| e.name.as_deref())
                            .unwrap_or("");
                        Problem::new(
                            format!(
                                "\"{given}\" of \"{pop}\" is already recorded by the multimeter \
                                 on line {first}"
                            ),
                            "record each variable of a population with one multimeter: merge \
                             the two",
                        )
                    })
                }
            };
            if let Some(problem) = problem {
                ok = false;
                self.report(name.span(), t.key("record_from"), problem);
            }
        }
        ok.then_some(variables)
    }

    /// `interval` [ms] in steps: a positive multiple of dt (default: every step).
    fn interval_steps(&mut self, t: &Table, r: &RawRecord, dt: Option<f64>) -> Option<u32> {
        let interval = match &r.interval {
            Some(q) => self.quantity(t, "interval", q, Dimension::Time)?,
            None => dt?,
        };
        let dt = dt?;
        let span = r.interval.as_ref().map_or(t.span.clone(), Spanned::span);
        match grid_steps(interval, dt) {
            Some(k) if k >= 1.0 && k <= f64::from(u32::MAX) => Some(k as u32),
            Some(k) if k >= 1.0 => self.fail(
                t,
                "interval",
                span,
                format!("{k:e} steps is too long an interval"),
                "use at most 4294967295 steps",
            ),
            _ => self.fail(
                t,
                "interval",
                span,
                format!(
                    "interval = {} ms is not a positive multiple of dt = {} ms",
                    format_number(interval),
                    format_number(dt)
                ),
                if interval > 0.0 {
                    format!("use {}", nearest_grid_times(interval, dt))
                } else {
                    format!("use dt = {} ms to sample every step", format_number(dt))
                },
            ),
        }
    }

    /// A multimeter's neurons: a slice, or a list of distinct indices (sorted); all by default.
    fn multimeter_neurons(&mut self, t: &Table, r: &RawRecord, n: u32) -> Option<Vec<u32>> {
        let Some(neurons) = &r.neurons else {
            return Some((0..n).collect());
        };
        match neurons.get_ref() {
            RawNeurons::Slice(text) => match Slice::parse(text).and_then(|s| s.resolve(n)) {
                Ok(range) => Some(range.collect()),
                Err(e) => self.fail(t, "neurons", neurons.span(), e.message, e.help),
            },
            RawNeurons::List(list) => {
                if list.is_empty() {
                    return self.fail(
                        t,
                        "neurons",
                        neurons.span(),
                        "the list selects no neuron",
                        "leave `neurons` out to record every neuron",
                    );
                }
                let mut indices = Vec::with_capacity(list.len());
                let mut ok = true;
                for (i, index) in list.iter().enumerate() {
                    match u32::try_from(*index.get_ref()).ok().filter(|&v| v < n) {
                        Some(v) => indices.push((v, index.span())),
                        None => {
                            ok = false;
                            self.report(
                                index.span(),
                                t.key(&format!("neurons[{i}]")),
                                Problem::new(
                                    format!(
                                        "neuron {} is not in the population, which has {n} neurons",
                                        index.get_ref()
                                    ),
                                    format!("indices run from 0 to {}", n - 1),
                                ),
                            );
                        }
                    }
                }
                indices.sort_by_key(|(v, _)| *v);
                for pair in indices.windows(2) {
                    if pair[0].0 == pair[1].0 {
                        ok = false;
                        let later = if pair[0].1.start < pair[1].1.start {
                            &pair[1]
                        } else {
                            &pair[0]
                        };
                        self.report(
                            later.1.clone(),
                            t.key("neurons"),
                            Problem::new(
                                format!("neuron {} is listed twice", later.0),
                                "list each neuron once",
                            ),
                        );
                    }
                }
                ok.then(|| indices.into_iter().map(|(v, _)| v).collect())
            }
        }
    }
}
