//! Input devices resolved to steps: what arrives at which neurons in which step.
//!
//! Timing follows NEST (see `tests/data/README.md`). Step `k` covers (k h, (k+1) h]. A device
//! "emits" in step `s`; with a connection delay of `D` steps its input is "due" in step `s + D`:
//! - spikes due in step k are added to g at the end of step k (after integration), so they move
//!   V_m from step k + 1 on;
//! - a current due in step k becomes `I_stim` at the end of step k and acts in step k + 1.
//!
//! Emission: a `spike_generator` spike at time t is emitted in the step that ends at t; a
//! `poisson_generator` emits in the steps s with start < s h <= stop; current generators emit, in
//! step s, their amplitude at the end of the step, (s + 1) h, while start < (s + 1) h <= stop.

use std::ops::Range;

use crate::config::{Receptor, StimulusKind, StimulusSpec};
use crate::rng::Stream;

/// NEST's conversion of a time to steps (`Time::ms`): round to the nearest step.
pub fn ms_to_steps(t_ms: f64, dt_ms: f64) -> i64 {
    (t_ms / dt_ms).round() as i64
}

/// A stimulus resolved for one step size.
#[derive(Clone, Debug, PartialEq)]
pub struct Stimulus {
    pub name: String,
    /// Global indices of the target neurons.
    pub targets: Range<u32>,
    pub input: StimulusInput,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StimulusInput {
    Poisson(PoissonInput),
    Spikes(SpikeInput),
    Current(CurrentInput),
}

/// An independent Poisson train per target. The spike count of target `i` due in step `k` is
/// `count_thresholds.partition_point(|&t| t <= u)` where `u` is word `i mod 4` of
/// Philox(stream, i / 4, k) (one block of four words serves four neurons): inversion of the
/// Poisson CDF with integer thresholds, exact and identical on CPU and GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonInput {
    /// Random stream word ([`Stream::Poisson`], stimulus index).
    pub stream: u32,
    pub receptor: Receptor,
    /// Weight per spike [nS].
    pub weight_ns: f32,
    /// Due steps `first_due_step .. end_due_step` receive input.
    pub first_due_step: u64,
    pub end_due_step: u64,
    /// `count_thresholds[j] = round(2^32 P(count <= j))`: a count of more than `j` needs `u >=`
    /// this. Ends where the threshold reaches 2^32.
    pub count_thresholds: Vec<u32>,
}

impl PoissonInput {
    /// Spikes due for a neuron whose random word is `u`.
    #[inline]
    pub fn count(&self, u: u32) -> u32 {
        self.count_thresholds.partition_point(|&t| t <= u) as u32
    }
}

/// The same spikes to every target.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeInput {
    pub receptor: Receptor,
    /// (due step, summed weight [nS]), strictly increasing in step.
    pub events: Vec<(u64, f32)>,
}

/// A piecewise-constant current [pA] to every target.
#[derive(Clone, Debug, PartialEq)]
pub struct CurrentInput {
    /// (due step, amplitude [pA]): from the end of that step on, the amplitude is the new value.
    /// Strictly increasing in step; before the first change the amplitude is 0.
    pub changes: Vec<(u64, f32)>,
}

impl CurrentInput {
    /// Amplitude [pA] set at the end of due step `k`.
    pub fn amplitude_at(&self, k: u64) -> f32 {
        match self.changes.partition_point(|&(s, _)| s <= k) {
            0 => 0.0,
            i => self.changes[i - 1].1,
        }
    }
}

/// Due steps at which any current generator's amplitude changes, increasing: the steps where
/// backends recompute `I_stim`.
pub fn current_change_steps(stimuli: &[Stimulus]) -> Vec<u64> {
    let mut steps: Vec<u64> = stimuli
        .iter()
        .filter_map(|s| match &s.input {
            StimulusInput::Current(c) => Some(c.changes.iter().map(|c| c.0)),
            _ => None,
        })
        .flatten()
        .collect();
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// Integer thresholds of the Poisson CDF for mean `lambda` (see [`PoissonInput`]).
pub fn poisson_thresholds(lambda: f64) -> Vec<u32> {
    const TWO32: f64 = 4_294_967_296.0;
    let mut thresholds = Vec::new();
    if lambda <= 0.0 {
        return thresholds;
    }
    let mut log_pmf = -lambda; // ln P(X = 0)
    let mut cdf = 0.0f64;
    for j in 0u32.. {
        cdf += log_pmf.exp();
        let t = (cdf * TWO32).round();
        if t >= TWO32 || (j as f64 > lambda && log_pmf < -40.0) {
            break;
        }
        thresholds.push(t as u32);
        log_pmf += lambda.ln() - f64::from(j + 1).ln();
    }
    thresholds
}

/// Resolve a stimulus for step `dt_ms` and the global offset of its target population.
pub fn resolve(spec: &StimulusSpec, index: usize, population_offset: u32, dt_ms: f64) -> Stimulus {
    let targets =
        population_offset + spec.target.neurons.start..population_offset + spec.target.neurons.end;
    let steps = |t: f64| ms_to_steps(t, dt_ms);
    let due = |emit: i64, delay: i64| (emit + delay).max(0) as u64;
    let input = match &spec.kind {
        &StimulusKind::Poisson {
            rate_hz,
            start_ms,
            stop_ms,
            weight_ns,
            receptor,
            delay_ms,
        } => {
            let delay = steps(delay_ms);
            // Emission steps s with start < s h <= stop, i.e. s in (start_step, stop_step].
            let first_emit = steps(start_ms) + 1;
            let end_emit = if stop_ms.is_finite() {
                steps(stop_ms) + 1
            } else {
                i64::MAX / 4
            };
            StimulusInput::Poisson(PoissonInput {
                stream: Stream::Poisson.word(index),
                receptor,
                weight_ns: weight_ns as f32,
                first_due_step: due(first_emit.max(0), delay),
                end_due_step: due(end_emit.max(first_emit.max(0)), delay),
                count_thresholds: poisson_thresholds(rate_hz * dt_ms * 1e-3),
            })
        }
        StimulusKind::SpikeTrain {
            spike_times_ms,
            weight_ns,
            receptor,
            delay_ms,
        } => {
            let delay = steps(*delay_ms);
            let mut events: Vec<(u64, f32)> = Vec::new();
            let mut counts: Vec<(u64, u32)> = Vec::new();
            for &t in spike_times_ms {
                // Emitted in the step that ends at t.
                let step = due(steps(t) - 1, delay);
                match counts.last_mut() {
                    Some((s, c)) if *s == step => *c += 1,
                    _ => counts.push((step, 1)),
                }
            }
            for (step, count) in counts {
                events.push((step, (f64::from(count) * weight_ns) as f32));
            }
            StimulusInput::Spikes(SpikeInput {
                receptor: *receptor,
                events,
            })
        }
        &StimulusKind::DcCurrent {
            amplitude_pa,
            start_ms,
            stop_ms,
            delay_ms,
        } => StimulusInput::Current(current_changes(
            &[(f64::NEG_INFINITY, amplitude_pa)],
            start_ms,
            stop_ms,
            delay_ms,
            dt_ms,
        )),
        StimulusKind::StepCurrent {
            amplitude_times_ms,
            amplitude_values_pa,
            start_ms,
            stop_ms,
            delay_ms,
        } => {
            let schedule: Vec<(f64, f64)> = amplitude_times_ms
                .iter()
                .copied()
                .zip(amplitude_values_pa.iter().copied())
                .collect();
            StimulusInput::Current(current_changes(
                &schedule, *start_ms, *stop_ms, *delay_ms, dt_ms,
            ))
        }
    };
    Stimulus {
        name: spec.name.clone(),
        targets,
        input,
    }
}

/// Changes of the amplitude emitted by a current generator with amplitude `schedule`
/// (time [ms], value [pA]) and activity window (start, stop], shifted by the delay.
fn current_changes(
    schedule: &[(f64, f64)],
    start_ms: f64,
    stop_ms: f64,
    delay_ms: f64,
    dt_ms: f64,
) -> CurrentInput {
    let steps = |t: f64| ms_to_steps(t, dt_ms);
    let delay = steps(delay_ms);
    let start = steps(start_ms);
    let stop = if stop_ms.is_finite() {
        steps(stop_ms)
    } else {
        i64::MAX / 4
    };
    // Amplitude emitted in step s: the value whose time is <= (s+1) h, if start < s+1 <= stop.
    let emitted = |s: i64| -> f64 {
        let end = s + 1;
        if end <= start || end > stop {
            return 0.0;
        }
        schedule
            .iter()
            .rev()
            .find(|&&(t, _)| t == f64::NEG_INFINITY || steps(t) <= end)
            .map_or(0.0, |&(_, v)| v)
    };
    // Candidate emission steps where the amplitude can change.
    let mut candidates: Vec<i64> = vec![start, stop];
    candidates.extend(
        schedule
            .iter()
            .filter(|(t, _)| t.is_finite())
            .map(|&(t, _)| steps(t) - 1),
    );
    candidates.retain(|s| (0..i64::MAX / 8).contains(s));
    candidates.sort_unstable();
    candidates.dedup();
    let mut changes: Vec<(u64, f32)> = Vec::new();
    let mut current = 0.0f64;
    for s in candidates {
        let v = emitted(s);
        if v != current {
            changes.push(((s + delay) as u64, v as f32));
            current = v;
        }
    }
    CurrentInput { changes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NeuronRange;

    #[test]
    fn poisson_thresholds_invert_the_cdf() {
        let t = poisson_thresholds(0.03);
        // P(0) = e^-0.03 = 0.970446
        assert_eq!(
            t[0],
            (0.970_445_533_548_508 * 4_294_967_296.0f64).round() as u32
        );
        let input = PoissonInput {
            stream: 0,
            receptor: Receptor::Excitatory,
            weight_ns: 1.0,
            first_due_step: 0,
            end_due_step: 1,
            count_thresholds: t.clone(),
        };
        assert_eq!(input.count(0), 0);
        assert_eq!(input.count(t[0] - 1), 0);
        assert_eq!(input.count(t[0]), 1);
        assert_eq!(input.count(u32::MAX), t.len() as u32);
        // The mean of the inverted distribution is lambda.
        let big = poisson_thresholds(4.0);
        // E[X] = sum over j of P(X > j) = sum of (1 - threshold_j / 2^32).
        let mean: f64 = big
            .iter()
            .map(|&t| 1.0 - f64::from(t) / 4_294_967_296.0)
            .sum();
        assert!((mean - 4.0).abs() < 1e-6, "{mean}");
    }

    fn spec(kind: StimulusKind) -> StimulusSpec {
        StimulusSpec {
            name: "s".into(),
            target: NeuronRange {
                population: 0,
                neurons: 0..1,
            },
            kind,
        }
    }

    #[test]
    fn step_current_acts_from_change_plus_delay() {
        // NEST file e: 400 pA at 20.0 ms, 0 at 60.0 ms, delay 0.1 ms: V_m first moves in the
        // step (20.1, 20.2], step 201, so I_stim is set at the end of step 200.
        let s = resolve(
            &spec(StimulusKind::StepCurrent {
                amplitude_times_ms: vec![20.0, 60.0],
                amplitude_values_pa: vec![400.0, 0.0],
                start_ms: 0.0,
                stop_ms: f64::INFINITY,
                delay_ms: 0.1,
            }),
            0,
            0,
            0.1,
        );
        let StimulusInput::Current(c) = s.input else {
            panic!()
        };
        assert_eq!(c.changes, vec![(200, 400.0), (600, 0.0)]);
    }

    #[test]
    fn spikes_in_one_step_add_up() {
        let s = resolve(
            &spec(StimulusKind::SpikeTrain {
                spike_times_ms: vec![10.0, 120.0, 120.0],
                weight_ns: 10.0,
                receptor: Receptor::Excitatory,
                delay_ms: 1.0,
            }),
            0,
            0,
            0.1,
        );
        let StimulusInput::Spikes(sp) = s.input else {
            panic!()
        };
        // A spike at 10.0 over 1.0 ms lands at 11.0: the end of step 109.
        assert_eq!(sp.events, vec![(109, 10.0), (1209, 20.0)]);
    }

    #[test]
    fn poisson_window_follows_nest() {
        let s = resolve(
            &spec(StimulusKind::Poisson {
                rate_hz: 300.0,
                start_ms: 1.0,
                stop_ms: 101.0,
                weight_ns: 6.0,
                receptor: Receptor::Excitatory,
                delay_ms: 0.1,
            }),
            0,
            0,
            0.1,
        );
        let StimulusInput::Poisson(p) = s.input else {
            panic!()
        };
        // Emission steps 11..=1010, due one step later.
        assert_eq!((p.first_due_step, p.end_due_step), (12, 1012));
    }
}
