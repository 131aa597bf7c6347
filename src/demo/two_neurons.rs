//! The two-neuron view: an input neuron that fires when the user asks, one excitatory synapse
//! with a delay, and an output neuron with NEST's default `iaf_cond_exp` parameters, stepped by
//! [`crate::model::iaf_cond_exp::step`], the same function the CPU backend runs.
//!
//! Timing follows the backends (see `network::stimulus`): an input spike fired while step `s`
//! is the next to run is emitted in step `s` (stamped at its end, `(s + 1) h`) and is due in step
//! `s + D`, `D = round(delay / h)` steps later; it is added to g_ex at the end of that step, at
//! `(s + D + 1) h`, the arrival time the page animates towards.
//!
//! As in the post, the delay and the refractory period are exaggerated so that a person can see
//! them: the model uses `delay * exaggeration` and `t_ref * exaggeration`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::model::iaf_cond_exp::{step, IafCondExpDerived, IafCondExpParams};

use super::{steps_to_ms, DT_MS};

/// The parameters the page has sliders for, under NEST's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Param {
    #[serde(rename = "weight")]
    Weight,
    #[serde(rename = "tau_syn_ex")]
    TauSynEx,
    #[serde(rename = "g_L")]
    GL,
    #[serde(rename = "V_th")]
    VTh,
    #[serde(rename = "t_ref")]
    TRef,
    #[serde(rename = "delay")]
    Delay,
    #[serde(rename = "exaggeration")]
    Exaggeration,
}

/// What the page needs to draw a slider, and what it tells the learner.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamInfo {
    pub name: Param,
    pub label: &'static str,
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    /// Slider resolution.
    pub step: f64,
    /// The value the demo starts with.
    pub default: f64,
    /// NEST's default, where NEST has one.
    pub nest_default: Option<f64>,
    /// The bucket-with-a-hole picture of the post: what this parameter does.
    pub help: &'static str,
}

/// Synaptic weight the demo starts with [nS]: one spike raises V_m by 6 mV from rest; three
/// spikes within 1 ms, four within 3 ms or five within 5 ms reach threshold (0.1, 0.3 and 0.5 s
/// on the page at 100x slower), one alone does not. NEST's default (1 nS) moves V_m by 0.06 mV,
/// too little to see.
pub const DEFAULT_WEIGHT_NS: f64 = 120.0;

/// Default stretch of the delay and the refractory period.
pub const DEFAULT_EXAGGERATION: f64 = 10.0;

/// Every slider, in the order the page shows them.
pub const PARAMS: [ParamInfo; 7] = [
    ParamInfo {
        name: Param::Weight,
        label: "weight",
        unit: "nS",
        min: 0.0,
        max: 300.0,
        step: 1.0,
        default: DEFAULT_WEIGHT_NS,
        nest_default: Some(1.0),
        help: "How much one spike pours in: the jump of g_ex it causes. NEST's default \
               moves V_m by 0.06 mV, too little to see.",
    },
    ParamInfo {
        name: Param::TauSynEx,
        label: "tau_syn_ex",
        unit: "ms",
        min: 0.1,
        max: 10.0,
        step: 0.1,
        default: 0.2,
        nest_default: Some(0.2),
        help: "How long the tap stays open after a spike: the decay time of g_ex. Longer \
               pours in more.",
    },
    ParamInfo {
        name: Param::GL,
        label: "g_L",
        unit: "nS",
        min: 1.0,
        max: 100.0,
        step: 0.1,
        default: 16.6667,
        nest_default: Some(16.6667),
        help: "The size of the hole: a bigger one drains V_m back to E_L faster \
               (tau_m = C_m / g_L), so spikes must come closer together.",
    },
    ParamInfo {
        name: Param::VTh,
        label: "V_th",
        unit: "mV",
        min: -59.0,
        max: -40.0,
        step: 0.5,
        default: -55.0,
        nest_default: Some(-55.0),
        help: "The rim: when V_m reaches it the neuron fires, and V_m is reset to \
               V_reset = -60 mV.",
    },
    ParamInfo {
        name: Param::TRef,
        label: "t_ref",
        unit: "ms",
        min: 0.0,
        max: 10.0,
        step: 0.1,
        default: 2.0,
        nest_default: Some(2.0),
        help: "After a spike the bucket is held at V_reset this long, whatever pours in.",
    },
    ParamInfo {
        name: Param::Delay,
        label: "delay",
        unit: "ms",
        min: 0.1,
        max: 10.0,
        step: 0.1,
        default: 1.0,
        nest_default: Some(1.0),
        help: "How long a spike takes from the input neuron to the output neuron.",
    },
    ParamInfo {
        name: Param::Exaggeration,
        label: "exaggeration",
        unit: "x",
        min: 1.0,
        max: 20.0,
        step: 1.0,
        default: DEFAULT_EXAGGERATION,
        nest_default: None,
        help: "Stretches the delay and t_ref, as in the post, so that you can see them; 1 is \
               the true timing.",
    },
];

impl Param {
    pub fn info(self) -> &'static ParamInfo {
        PARAMS
            .iter()
            .find(|p| p.name == self)
            .expect("every parameter is in PARAMS")
    }

    /// The NEST name, as on the page.
    pub fn name(self) -> &'static str {
        match self {
            Param::Weight => "weight",
            Param::TauSynEx => "tau_syn_ex",
            Param::GL => "g_L",
            Param::VTh => "V_th",
            Param::TRef => "t_ref",
            Param::Delay => "delay",
            Param::Exaggeration => "exaggeration",
        }
    }
}

/// The slider values, under NEST's names.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ParamValues {
    /// Synaptic weight [nS].
    pub weight: f64,
    /// Excitatory synaptic time constant [ms].
    pub tau_syn_ex: f64,
    /// Leak conductance [nS].
    #[serde(rename = "g_L")]
    pub g_l: f64,
    /// Spike threshold [mV].
    #[serde(rename = "V_th")]
    pub v_th: f64,
    /// Refractory period before exaggeration [ms].
    pub t_ref: f64,
    /// Synaptic delay before exaggeration [ms].
    pub delay: f64,
    /// Factor stretching delay and t_ref.
    pub exaggeration: f64,
}

impl Default for ParamValues {
    fn default() -> Self {
        let d = |p: Param| p.info().default;
        ParamValues {
            weight: d(Param::Weight),
            tau_syn_ex: d(Param::TauSynEx),
            g_l: d(Param::GL),
            v_th: d(Param::VTh),
            t_ref: d(Param::TRef),
            delay: d(Param::Delay),
            exaggeration: d(Param::Exaggeration),
        }
    }
}

impl ParamValues {
    pub fn get(&self, param: Param) -> f64 {
        match param {
            Param::Weight => self.weight,
            Param::TauSynEx => self.tau_syn_ex,
            Param::GL => self.g_l,
            Param::VTh => self.v_th,
            Param::TRef => self.t_ref,
            Param::Delay => self.delay,
            Param::Exaggeration => self.exaggeration,
        }
    }

    fn slot(&mut self, param: Param) -> &mut f64 {
        match param {
            Param::Weight => &mut self.weight,
            Param::TauSynEx => &mut self.tau_syn_ex,
            Param::GL => &mut self.g_l,
            Param::VTh => &mut self.v_th,
            Param::TRef => &mut self.t_ref,
            Param::Delay => &mut self.delay,
            Param::Exaggeration => &mut self.exaggeration,
        }
    }

    /// The output neuron's model parameters: NEST's defaults with the sliders applied.
    pub fn model(&self) -> IafCondExpParams {
        IafCondExpParams {
            tau_syn_ex: self.tau_syn_ex,
            g_l: self.g_l,
            v_th: self.v_th,
            t_ref: self.t_ref * self.exaggeration,
            ..IafCondExpParams::default()
        }
    }

    /// The delay the model uses [steps], at least one (NEST's minimum delay is one step).
    pub fn delay_steps(&self) -> u64 {
        ((self.delay * self.exaggeration / DT_MS).round() as u64).max(1)
    }
}

/// A slider value the model cannot take.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SettingError {
    #[error("{param} must be between {min} and {max} {unit} (got {value})")]
    OutOfRange {
        param: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    #[error(transparent)]
    Model(#[from] crate::model::ParamError),
    #[error(
        "{in_flight} input spikes are already on their way; wait for some to arrive \
         (at most {MAX_IN_FLIGHT} at a time)"
    )]
    TooManyInFlight { in_flight: usize },
}

/// Input spikes travelling at once, at most: bounds the memory a page can make the server use.
pub const MAX_IN_FLIGHT: usize = 10_000;

/// An input spike, as the page animates it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct InputSpike {
    /// When the input neuron fired [ms].
    pub emitted_ms: f64,
    /// When the spike reaches the output neuron and g_ex jumps [ms].
    pub arrives_ms: f64,
}

#[derive(Clone, Copy, Debug)]
struct InFlight {
    due_step: u64,
    /// The weight at the time of firing [nS]: a spike on its way keeps what it carries.
    weight_ns: f32,
}

/// What consecutive steps produced: the state at the end of each step.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trace {
    /// Time of the first sample [ms]; samples are `DT_MS` apart.
    pub first_t_ms: f64,
    /// Membrane potential [mV].
    pub v_m: Vec<f32>,
    /// Excitatory conductance [nS].
    pub g_ex: Vec<f32>,
    /// Spike times of the output neuron [ms].
    pub output_spikes_ms: Vec<f64>,
    /// Times input spikes reached the output neuron [ms].
    pub arrivals_ms: Vec<f64>,
}

/// The input neuron, its synapse and the output neuron.
#[derive(Clone, Debug)]
pub struct TwoNeurons {
    values: ParamValues,
    derived: IafCondExpDerived,
    v_m: f32,
    g_ex: f32,
    g_in: f32,
    refractory: i32,
    steps_done: u64,
    output_spikes: u64,
    /// Ordered by due step (the delay may change while spikes travel, so insert in order).
    in_flight: VecDeque<InFlight>,
}

impl Default for TwoNeurons {
    fn default() -> Self {
        Self::new()
    }
}

impl TwoNeurons {
    /// The output neuron at rest (V_m = E_L), with the default sliders.
    pub fn new() -> Self {
        let values = ParamValues::default();
        let model = values.model();
        TwoNeurons {
            values,
            derived: IafCondExpDerived::new(&model, DT_MS),
            v_m: model.e_l as f32,
            g_ex: 0.0,
            g_in: 0.0,
            refractory: 0,
            steps_done: 0,
            output_spikes: 0,
            in_flight: VecDeque::new(),
        }
    }

    pub fn values(&self) -> &ParamValues {
        &self.values
    }

    /// Sets one slider. A value out of range, or one the model rejects, changes nothing.
    pub fn set(&mut self, param: Param, value: f64) -> Result<(), SettingError> {
        let info = param.info();
        if !(value >= info.min && value <= info.max) {
            return Err(SettingError::OutOfRange {
                param: param.name(),
                value,
                min: info.min,
                max: info.max,
                unit: info.unit,
            });
        }
        let mut values = self.values;
        *values.slot(param) = value;
        self.apply(values)
    }

    /// Back to the defaults of every slider; the state is kept.
    pub fn reset_params(&mut self) -> Result<(), SettingError> {
        self.apply(ParamValues::default())
    }

    fn apply(&mut self, values: ParamValues) -> Result<(), SettingError> {
        let model = values.model();
        model.validate()?;
        self.values = values;
        self.derived = IafCondExpDerived::new(&model, DT_MS);
        Ok(())
    }

    /// Steps simulated so far.
    pub fn steps_done(&self) -> u64 {
        self.steps_done
    }

    /// Time now [ms].
    pub fn t_ms(&self) -> f64 {
        steps_to_ms(self.steps_done)
    }

    /// Membrane potential now [mV].
    pub fn v_m(&self) -> f32 {
        self.v_m
    }

    /// Excitatory conductance now [nS].
    pub fn g_ex(&self) -> f32 {
        self.g_ex
    }

    /// Refractory time left [ms].
    pub fn refractory_ms(&self) -> f64 {
        steps_to_ms(self.refractory.max(0) as u64)
    }

    /// Spikes of the output neuron so far.
    pub fn output_spikes(&self) -> u64 {
        self.output_spikes
    }

    /// The input neuron fires in the next step.
    pub fn fire_input(&mut self) -> Result<InputSpike, SettingError> {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return Err(SettingError::TooManyInFlight {
                in_flight: self.in_flight.len(),
            });
        }
        let emitted = self.steps_done;
        let due_step = emitted + self.values.delay_steps();
        let at = self.in_flight.partition_point(|s| s.due_step <= due_step);
        self.in_flight.insert(
            at,
            InFlight {
                due_step,
                weight_ns: self.values.weight as f32,
            },
        );
        Ok(InputSpike {
            emitted_ms: steps_to_ms(emitted + 1),
            arrives_ms: steps_to_ms(due_step + 1),
        })
    }

    /// Simulates `steps` steps, appending their samples and events to `trace` (which the caller
    /// clears; `first_t_ms` is set when it is empty).
    pub fn advance(&mut self, steps: u64, trace: &mut Trace) {
        if trace.v_m.is_empty() {
            trace.first_t_ms = steps_to_ms(self.steps_done + 1);
        }
        for _ in 0..steps {
            let k = self.steps_done;
            let mut input_ex = 0.0f32;
            while let Some(s) = self.in_flight.front().filter(|s| s.due_step <= k) {
                input_ex += s.weight_ns;
                self.in_flight.pop_front();
                trace.arrivals_ms.push(steps_to_ms(k + 1));
            }
            let r = step(
                &self.derived,
                self.v_m,
                self.g_ex,
                self.g_in,
                self.refractory,
                0.0,
                input_ex,
                0.0,
            );
            self.v_m = r.v_m;
            self.g_ex = r.g_ex;
            self.g_in = r.g_in;
            self.refractory = r.refractory;
            self.steps_done += 1;
            if r.spiked {
                self.output_spikes += 1;
                trace.output_spikes_ms.push(self.t_ms());
            }
            trace.v_m.push(self.v_m);
            trace.g_ex.push(self.g_ex);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: &mut TwoNeurons, duration_ms: f64) -> Trace {
        let mut trace = Trace::default();
        n.advance((duration_ms / DT_MS).round() as u64, &mut trace);
        trace
    }

    fn peak(trace: &Trace) -> f32 {
        trace.v_m.iter().copied().fold(f32::MIN, f32::max)
    }

    #[test]
    fn defaults_are_nest_defaults_except_weight_and_exaggeration() {
        let model = ParamValues {
            exaggeration: 1.0,
            ..ParamValues::default()
        }
        .model();
        assert_eq!(model, IafCondExpParams::default());
        for p in PARAMS {
            assert!(p.min <= p.default && p.default <= p.max, "{:?}", p.name);
            if let Some(nest) = p.nest_default {
                assert!(p.min <= nest && nest <= p.max, "{:?}", p.name);
            }
            assert_eq!(p.name.info().name, p.name);
        }
    }

    #[test]
    fn a_spike_arrives_after_the_exaggerated_delay() {
        let mut n = TwoNeurons::new();
        run(&mut n, 5.0);
        let spike = n.fire_input().unwrap();
        // delay 1 ms x 10 = 100 steps after the step it is emitted in.
        assert!((spike.emitted_ms - 5.1).abs() < 1e-9, "{spike:?}");
        assert!((spike.arrives_ms - 15.1).abs() < 1e-9, "{spike:?}");
        let before = run(&mut n, 10.0);
        assert!(before.arrivals_ms.is_empty());
        assert_eq!(before.v_m.last(), Some(&-70.0));
        let after = run(&mut n, 0.1);
        assert_eq!(after.arrivals_ms.len(), 1);
        assert!((after.arrivals_ms[0] - spike.arrives_ms).abs() < 1e-9);
        assert_eq!(after.g_ex[0], DEFAULT_WEIGHT_NS as f32);
    }

    #[test]
    fn one_spike_raises_v_m_which_leaks_back() {
        let mut n = TwoNeurons::new();
        n.fire_input().unwrap();
        let trace = run(&mut n, 100.0);
        let rise = peak(&trace) + 70.0;
        assert!(
            (5.0..7.0).contains(&rise),
            "one spike should raise V_m by ~6 mV, got {rise}"
        );
        assert!(trace.output_spikes_ms.is_empty());
        // 90 ms after the arrival, six tau_m: back within 0.05 mV of rest.
        assert!((n.v_m() + 70.0).abs() < 0.05, "V_m = {}", n.v_m());
    }

    #[test]
    fn four_spikes_close_together_fire_and_reset_and_spread_out_do_not() {
        // Spikes 2 ms apart (200 ms apart on the page at 100x slower): fires.
        let mut n = TwoNeurons::new();
        let mut trace = Trace::default();
        for _ in 0..4 {
            n.fire_input().unwrap();
            n.advance(20, &mut trace);
        }
        n.advance(500, &mut trace);
        assert_eq!(trace.output_spikes_ms.len(), 1, "{trace:?}");
        let spike_step = ((trace.output_spikes_ms[0] - trace.first_t_ms) / DT_MS).round() as usize;
        // Reset, then clamped for t_ref x 10 = 20 ms.
        assert!(trace.v_m[spike_step..spike_step + 200]
            .iter()
            .all(|&v| v == -60.0));
        assert!(trace.v_m[spike_step + 201] < -60.0);

        // The same spikes 30 ms apart (two tau_m): never reaches threshold.
        let mut n = TwoNeurons::new();
        let mut trace = Trace::default();
        for _ in 0..4 {
            n.fire_input().unwrap();
            n.advance(300, &mut trace);
        }
        assert!(trace.output_spikes_ms.is_empty());
    }

    #[test]
    fn three_quick_spikes_fire() {
        let mut n = TwoNeurons::new();
        let mut trace = Trace::default();
        for _ in 0..3 {
            n.fire_input().unwrap();
            n.advance(5, &mut trace);
        }
        n.advance(300, &mut trace);
        assert_eq!(trace.output_spikes_ms.len(), 1);
    }

    #[test]
    fn settings_out_of_range_change_nothing() {
        let mut n = TwoNeurons::new();
        let e = n.set(Param::GL, 500.0).unwrap_err();
        assert_eq!(e.to_string(), "g_L must be between 1 and 100 nS (got 500)");
        assert!(n.set(Param::VTh, f64::NAN).is_err());
        assert_eq!(n.values(), &ParamValues::default());
        n.set(Param::Delay, 2.0).unwrap();
        assert_eq!(n.values().delay_steps(), 200);
        n.set(Param::Exaggeration, 1.0).unwrap();
        n.set(Param::Delay, 0.1).unwrap();
        assert_eq!(n.values().delay_steps(), 1);
        n.reset_params().unwrap();
        assert_eq!(n.values(), &ParamValues::default());
    }

    #[test]
    fn a_longer_delay_does_not_overtake_spikes_already_travelling() {
        let mut n = TwoNeurons::new();
        n.set(Param::Delay, 5.0).unwrap();
        let slow = n.fire_input().unwrap();
        n.set(Param::Delay, 1.0).unwrap();
        let fast = n.fire_input().unwrap();
        assert!(fast.arrives_ms < slow.arrives_ms);
        let trace = run(&mut n, 60.0);
        assert_eq!(trace.arrivals_ms.len(), 2);
        assert!((trace.arrivals_ms[0] - fast.arrives_ms).abs() < 1e-9);
        assert!((trace.arrivals_ms[1] - slow.arrives_ms).abs() < 1e-9);
    }
}
