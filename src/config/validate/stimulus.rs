//! `[[stimulus]]`: NEST's generators, each with its own keys; times on the dt grid.

use toml::Spanned;

use crate::config::error::table_label;
use crate::config::raw::{Quantity, RawStimulus};
use crate::config::slice::Slice;
use crate::config::spec::{Distribution, NeuronRange, Receptor, StimulusKind, StimulusSpec};
use crate::config::units::{format_number, Dimension};

use super::{quoted, PopulationEntry, Problem, Table, Validator, MAX_POISSON_SPIKES_PER_STEP};

const POISSON: &str = "poisson_generator";
const SPIKE_GENERATOR: &str = "spike_generator";
const DC: &str = "dc_generator";
const STEP_CURRENT: &str = "step_current_generator";
const STIMULUS_MODELS: [&str; 4] = [POISSON, SPIKE_GENERATOR, DC, STEP_CURRENT];

/// Keys every generator takes.
const COMMON_KEYS: [&str; 7] = [
    "name", "model", "target", "neurons", "start", "stop", "delay",
];

/// The keys of each generator beyond the common ones.
fn model_keys(model: &str) -> &'static [&'static str] {
    match model {
        POISSON => &["rate", "weight", "receptor"],
        SPIKE_GENERATOR => &["spike_times", "weight", "receptor"],
        DC => &["amplitude"],
        STEP_CURRENT => &["amplitude_times", "amplitude_values"],
        _ => &[],
    }
}

const RECEPTOR_MEANING: &str = "\"ex\" (adds to g_ex) or \"in\" (adds to g_in)";

/// The keys every generator has [ms]; `None` where invalid (and reported).
struct Activity {
    start: Option<f64>,
    stop: Option<f64>,
    delay: Option<f64>,
    dt: Option<f64>,
}

impl Validator {
    pub(super) fn stimuli(
        &mut self,
        raws: &[Spanned<RawStimulus>],
        pops: &[PopulationEntry],
        dt: Option<f64>,
    ) -> Option<Vec<StimulusSpec>> {
        let mut specs = Vec::with_capacity(raws.len());
        let mut names = Vec::with_capacity(raws.len());
        for (index, raw) in raws.iter().enumerate() {
            let r = raw.get_ref();
            let field = |k: &str| {
                let v = match k {
                    "name" => &r.name,
                    "model" => &r.model,
                    "target" => &r.target,
                    _ => &None,
                };
                v.as_ref().map(|s| s.get_ref().clone())
            };
            let t = Table {
                label: table_label("stimulus", index, field),
                span: raw.span(),
            };
            let spec = self.stimulus(&t, r, pops, dt);
            // "poisson_generator->E[0:400]", the slice only when the config gives one.
            let default_name = spec.as_ref().map_or(String::new(), |s| {
                let pop = pops[s.target.population].name.as_deref().unwrap_or("");
                let slice = match r.neurons {
                    Some(_) => format!("[{}:{}]", s.target.neurons.start, s.target.neurons.end),
                    None => String::new(),
                };
                format!("{}->{pop}{slice}", s.kind.model_name())
            });
            names.push((r.name.as_ref(), default_name));
            specs.push(spec);
        }
        let names = self.unique_names("stimulus", &names);
        specs
            .into_iter()
            .zip(names)
            .map(|(spec, name)| spec.map(|spec| StimulusSpec { name, ..spec }))
            .collect()
    }

    fn stimulus(
        &mut self,
        t: &Table,
        r: &RawStimulus,
        pops: &[PopulationEntry],
        dt: Option<f64>,
    ) -> Option<StimulusSpec> {
        let meaning = format!("the generator, one of {}", quoted(&STIMULUS_MODELS));
        let model = self
            .required(t, "model", &r.model, &meaning)
            .and_then(|m| self.choice(t, "model", m, &STIMULUS_MODELS));
        if let Some(model) = model {
            let valid: Vec<&str> = COMMON_KEYS
                .iter()
                .chain(model_keys(model))
                .copied()
                .collect();
            let given = [
                ("rate", r.rate.as_ref().map(Spanned::span)),
                ("weight", r.weight.as_ref().map(Spanned::span)),
                ("receptor", r.receptor.as_ref().map(Spanned::span)),
                ("spike_times", r.spike_times.as_ref().map(Spanned::span)),
                ("amplitude", r.amplitude.as_ref().map(Spanned::span)),
                (
                    "amplitude_times",
                    r.amplitude_times.as_ref().map(Spanned::span),
                ),
                (
                    "amplitude_values",
                    r.amplitude_values.as_ref().map(Spanned::span),
                ),
            ];
            self.reject_foreign_keys(t, model, &valid, &given);
        }
        let population = self
            .required(
                t,
                "target",
                &r.target,
                "the name of the population it drives",
            )
            .and_then(|s| self.population_ref(t, "target", s, pops));
        let neurons = population.and_then(|p| {
            let n = pops[p].n?;
            let Some(s) = &r.neurons else {
                return Some(0..n);
            };
            match Slice::parse(s.get_ref()).and_then(|slice| slice.resolve(n)) {
                Ok(range) => Some(range),
                Err(e) => self.fail(t, "neurons", s.span(), e.message, e.help),
            }
        });
        let activity = self.activity(t, r, dt);
        let kind = match model? {
            POISSON => self.poisson(t, r, &activity),
            SPIKE_GENERATOR => self.spike_generator(t, r, &activity),
            DC => {
                let amplitude = self
                    .required(t, "amplitude", &r.amplitude, "the current [pA]")
                    .and_then(|q| self.quantity(t, "amplitude", q, Dimension::Current));
                Some(StimulusKind::DcCurrent {
                    amplitude_pa: amplitude?,
                    start_ms: activity.start?,
                    stop_ms: activity.stop?,
                    delay_ms: activity.delay?,
                })
            }
            _ => self.step_current(t, r, &activity),
        };
        Some(StimulusSpec {
            name: String::new(),
            target: NeuronRange {
                population: population?,
                neurons: neurons?,
            },
            kind: kind?,
        })
    }

    /// `start`, `stop` and `delay`.
    fn activity(&mut self, t: &Table, r: &RawStimulus, dt: Option<f64>) -> Activity {
        let start = self
            .quantity_or(t, "start", &r.start, Dimension::Time, 0.0)
            .and_then(|start| {
                let span = r.start.as_ref().map_or(t.span.clone(), Spanned::span);
                if start < 0.0 {
                    return self.fail(
                        t,
                        "start",
                        span,
                        format!("start must be >= 0 (got {} ms)", format_number(start)),
                        "the device is active after start; 0 is the beginning of the run",
                    );
                }
                self.on_grid(t, "start", span, start, dt?)?;
                Some(start)
            });
        let stop = match &r.stop {
            None => Some(f64::INFINITY),
            Some(q) => self
                .quantity(t, "stop", q, Dimension::Time)
                .and_then(|stop| {
                    if stop <= start? {
                        return self.fail(
                        t,
                        "stop",
                        q.span(),
                        format!(
                            "stop must be after start (got stop = {} <= start = {} ms)",
                            format_number(stop),
                            format_number(start?)
                        ),
                        "the device is active for start < t <= stop; leave stop out to never stop",
                    );
                    }
                    self.on_grid(t, "stop", q.span(), stop, dt?)?;
                    Some(stop)
                }),
        };
        let delay = match &r.delay {
            None => dt,
            Some(q) => self.quantity(t, "delay", q, Dimension::Time).and_then(|d| {
                self.check_delay(t, "delay", q.span(), &Distribution::Constant(d), dt?, None)?;
                Some(d)
            }),
        };
        Activity {
            start,
            stop,
            delay,
            dt,
        }
    }

    /// `weight` [nS] and `receptor` of a spike-emitting generator.
    fn spike_input(&mut self, t: &Table, r: &RawStimulus) -> Option<(f64, Receptor)> {
        let weight = self
            .required(
                t,
                "weight",
                &r.weight,
                "the weight of each spike [nS], >= 0",
            )
            .and_then(|q| {
                let w = self.quantity(t, "weight", q, Dimension::Conductance)?;
                if w < 0.0 {
                    return self.fail(
                        t,
                        "weight",
                        q.span(),
                        format!("weight must be >= 0 (got {} nS)", format_number(w)),
                        "the receptor, not the sign, selects the conductance: use \
                         receptor = \"in\" for inhibition",
                    );
                }
                Some(w)
            });
        let receptor = self
            .required(t, "receptor", &r.receptor, RECEPTOR_MEANING)
            .and_then(|s| self.receptor(t, "receptor", s));
        Some((weight?, receptor?))
    }

    fn poisson(&mut self, t: &Table, r: &RawStimulus, a: &Activity) -> Option<StimulusKind> {
        let meaning = "the rate of each target's spike train [Hz], >= 0";
        let rate = self.required(t, "rate", &r.rate, meaning).and_then(|q| {
            let rate = self.quantity(t, "rate", q, Dimension::Rate)?;
            if rate < 0.0 {
                return self.fail(
                    t,
                    "rate",
                    q.span(),
                    format!("rate must be >= 0 (got {} Hz)", format_number(rate)),
                    "a rate in Hz, e.g. rate = 300.0",
                );
            }
            let dt = a.dt?;
            let per_step = rate * dt * 1e-3;
            if per_step >= MAX_POISSON_SPIKES_PER_STEP {
                let max_rate = MAX_POISSON_SPIKES_PER_STEP / (dt * 1e-3);
                return self.fail(
                    t,
                    "rate",
                    q.span(),
                    format!(
                        "rate * dt = {} spikes per step; it must be below \
                         {MAX_POISSON_SPIKES_PER_STEP}",
                        format_number(per_step)
                    ),
                    format!(
                        "use a rate below {} Hz, or several generators with a larger weight",
                        format_number(max_rate)
                    ),
                );
            }
            Some(rate)
        });
        let input = self.spike_input(t, r);
        let (weight_ns, receptor) = input?;
        Some(StimulusKind::Poisson {
            rate_hz: rate?,
            start_ms: a.start?,
            stop_ms: a.stop?,
            weight_ns,
            receptor,
            delay_ms: a.delay?,
        })
    }

    /// The times of an array [ms], each on the dt grid and at least dt, in order (`strictly`
    /// increasing, or else non-decreasing).
    fn grid_times(
        &mut self,
        t: &Table,
        key: &str,
        times: &Spanned<Vec<Spanned<Quantity>>>,
        dt: Option<f64>,
        strictly: bool,
    ) -> Option<Vec<f64>> {
        let mut out: Vec<f64> = Vec::with_capacity(times.get_ref().len());
        let mut ok = true;
        for (i, q) in times.get_ref().iter().enumerate() {
            let key = format!("{key}[{i}]");
            let Some(value) = self.quantity(t, &key, q, Dimension::Time) else {
                ok = false;
                continue;
            };
            let Some(dt) = dt else { continue };
            if value < dt {
                ok = false;
                self.report(
                    q.span(),
                    t.key(&key),
                    Problem::new(
                        format!(
                            "{} ms is before the end of the first step (dt = {} ms)",
                            format_number(value),
                            format_number(dt)
                        ),
                        format!(
                            "times are the ends of steps: the earliest is dt = {} ms",
                            format_number(dt)
                        ),
                    ),
                );
            } else if self.on_grid(t, &key, q.span(), value, dt).is_none() {
                ok = false;
            } else if let Some(&previous) = out.last() {
                if value < previous || (strictly && value == previous) {
                    ok = false;
                    let (order, fix) = if strictly {
                        (
                            "increase strictly",
                            "sort the times and give each time once",
                        )
                    } else {
                        (
                            "not decrease",
                            "sort the times (a time may repeat: its weights add up)",
                        )
                    };
                    self.report(
                        q.span(),
                        t.key(&key),
                        Problem::new(
                            format!(
                                "times must {order}: {} ms comes after {} ms",
                                format_number(value),
                                format_number(previous)
                            ),
                            fix,
                        ),
                    );
                }
            }
            out.push(value);
        }
        ok.then_some(out)
    }

    fn spike_generator(
        &mut self,
        t: &Table,
        r: &RawStimulus,
        a: &Activity,
    ) -> Option<StimulusKind> {
        let meaning = "the spike times [ms], on the dt grid, in order";
        let times = self
            .required(t, "spike_times", &r.spike_times, meaning)
            .and_then(|times| self.grid_times(t, "spike_times", times, a.dt, false));
        let input = self.spike_input(t, r);
        let (start, stop) = (a.start?, a.stop?);
        let (weight_ns, receptor) = input?;
        // As NEST's spike_generator, only spikes in the activity window (start, stop] are sent.
        let spike_times_ms = times?
            .into_iter()
            .filter(|&time| time > start && time <= stop)
            .collect();
        Some(StimulusKind::SpikeTrain {
            spike_times_ms,
            weight_ns,
            receptor,
            delay_ms: a.delay?,
        })
    }

    fn step_current(&mut self, t: &Table, r: &RawStimulus, a: &Activity) -> Option<StimulusKind> {
        let meaning = "the times [ms] at which the current changes, on the dt grid, increasing";
        let times = self
            .required(t, "amplitude_times", &r.amplitude_times, meaning)
            .and_then(|times| self.grid_times(t, "amplitude_times", times, a.dt, true));
        let meaning = "the current [pA] from each of amplitude_times on";
        let values = self
            .required(t, "amplitude_values", &r.amplitude_values, meaning)
            .and_then(|values| {
                let read: Vec<Option<f64>> = values
                    .get_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, q)| {
                        let key = format!("amplitude_values[{i}]");
                        self.quantity(t, &key, q, Dimension::Current)
                    })
                    .collect();
                let read: Vec<f64> = read.into_iter().collect::<Option<_>>()?;
                Some((read, values.span()))
            });
        let (times, (values, values_span)) = (times?, values?);
        if times.len() != values.len() {
            return self.fail(
                t,
                "amplitude_values",
                values_span,
                format!(
                    "{} amplitude_values for {} amplitude_times",
                    values.len(),
                    times.len()
                ),
                "give one value [pA] per time: the current changes to amplitude_values[i] at \
                 amplitude_times[i]",
            );
        }
        Some(StimulusKind::StepCurrent {
            amplitude_times_ms: times,
            amplitude_values_pa: values,
            start_ms: a.start?,
            stop_ms: a.stop?,
            delay_ms: a.delay?,
        })
    }
}
