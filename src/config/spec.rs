//! The validated description of a simulation: what `config::load` returns once every key has been
//! checked. All quantities are in lifsim's units (ms, mV, nS, pA, pF, Hz); populations are referred
//! to by index. Nothing downstream of this module reads TOML.

use std::ops::Range;
use std::path::PathBuf;

use crate::model::{IafCondExpParams, StateVariable};

/// A whole simulation: the network, its inputs, what to record and how long to run.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkSpec {
    pub simulation: SimulationSpec,
    pub populations: Vec<PopulationSpec>,
    pub projections: Vec<ProjectionSpec>,
    pub stimuli: Vec<StimulusSpec>,
    pub recorders: Vec<RecorderSpec>,
    /// The file this came from and its text, kept as provenance in the output.
    pub source: ConfigSource,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigSource {
    /// Path of the config file (empty for configs built in code).
    pub path: PathBuf,
    /// The full TOML text.
    pub text: String,
}

/// `[simulation]`
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationSpec {
    /// Integration step `dt` [ms].
    pub dt_ms: f64,
    /// Simulated time `t_stop` [ms]; the run covers the steps (0, t_stop].
    pub t_stop_ms: f64,
    /// Seed of every random number in the run (network, initial state, Poisson input).
    pub seed: u64,
    pub backend: BackendChoice,
    /// CPU threads; `None` means one per available core.
    pub threads: Option<usize>,
}

impl SimulationSpec {
    /// Number of steps in (0, t_stop].
    pub fn n_steps(&self) -> u64 {
        (self.t_stop_ms / self.dt_ms).round() as u64
    }
}

/// Which backend runs the simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU.
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl BackendChoice {
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        }
    }
}

/// A distribution of values, drawn once per neuron or synapse from the run's seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Distribution {
    Constant(f64),
    /// Uniform on [low, high).
    Uniform {
        low: f64,
        high: f64,
    },
    /// Normal with the given mean and standard deviation. For weights, negative draws are drawn
    /// again (a normal truncated at 0), since the receptor, not the sign, selects the conductance.
    Normal {
        mean: f64,
        std: f64,
    },
}

impl Distribution {
    /// The largest value a draw can take (mean + 8 std for a normal, which no draw exceeds in
    /// practice with 53-bit uniforms: Box-Muller's tail ends below 8.6 std).
    pub fn upper_bound(&self) -> f64 {
        match *self {
            Distribution::Constant(v) => v,
            Distribution::Uniform { high, .. } => high,
            Distribution::Normal { mean, std } => mean + 8.6 * std,
        }
    }

    pub fn lower_bound(&self) -> f64 {
        match *self {
            Distribution::Constant(v) => v,
            Distribution::Uniform { low, .. } => low,
            Distribution::Normal { mean, std } => mean - 8.6 * std,
        }
    }

    pub fn is_constant(&self) -> bool {
        matches!(self, Distribution::Constant(_))
    }
}

/// `[[population]]`: a group of identical `iaf_cond_exp` neurons.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationSpec {
    pub name: String,
    pub n: u32,
    pub params: IafCondExpParams,
    /// Initial `V_m` [mV] (NEST's default: E_L).
    pub v_m: Distribution,
    /// Initial `g_ex` [nS] (default 0).
    pub g_ex: Distribution,
    /// Initial `g_in` [nS] (default 0).
    pub g_in: Distribution,
}

impl PopulationSpec {
    pub fn initial(&self, variable: StateVariable) -> &Distribution {
        match variable {
            StateVariable::VM => &self.v_m,
            StateVariable::GEx => &self.g_ex,
            StateVariable::GIn => &self.g_in,
        }
    }
}

/// Which conductance a synapse or input drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Receptor {
    /// `"ex"`: adds to g_ex.
    Excitatory,
    /// `"in"`: adds to g_in.
    Inhibitory,
}

impl Receptor {
    pub fn name(self) -> &'static str {
        match self {
            Receptor::Excitatory => "ex",
            Receptor::Inhibitory => "in",
        }
    }

    pub fn index(self) -> usize {
        match self {
            Receptor::Excitatory => 0,
            Receptor::Inhibitory => 1,
        }
    }
}

/// How the partners of a projection are chosen (NEST's connection rules).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConnectionRule {
    AllToAll,
    /// Source i to target i; both populations have the same size.
    OneToOne,
    /// Every target gets exactly `indegree` sources, drawn uniformly.
    FixedIndegree(u32),
    /// Every source gets exactly `outdegree` targets, drawn uniformly.
    FixedOutdegree(u32),
    /// Exactly `N` connections between uniformly drawn pairs.
    FixedTotalNumber(u64),
    /// Each pair is connected with probability `p`.
    PairwiseBernoulli(f64),
}

impl ConnectionRule {
    /// NEST's name of the rule.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectionRule::AllToAll => "all_to_all",
            ConnectionRule::OneToOne => "one_to_one",
            ConnectionRule::FixedIndegree(_) => "fixed_indegree",
            ConnectionRule::FixedOutdegree(_) => "fixed_outdegree",
            ConnectionRule::FixedTotalNumber(_) => "fixed_total_number",
            ConnectionRule::PairwiseBernoulli(_) => "pairwise_bernoulli",
        }
    }
}

/// `[[projection]]`: synapses from one population onto another.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionSpec {
    /// `"E->I"` unless the config names it.
    pub name: String,
    /// Index into `NetworkSpec::populations`.
    pub source: usize,
    /// Index into `NetworkSpec::populations`.
    pub target: usize,
    pub receptor: Receptor,
    /// Weight [nS], non-negative.
    pub weight_ns: Distribution,
    /// Delay [ms], at least one step; rounded to whole steps as NEST does.
    pub delay_ms: Distribution,
    pub rule: ConnectionRule,
    /// NEST's default: true.
    pub allow_autapses: bool,
    /// NEST's default: true.
    pub allow_multapses: bool,
    /// Whether synapses are held in memory or drawn again when their source spikes.
    pub storage: SynapseStorage,
}

/// How a projection's synapses are kept (`storage` in a config).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SynapseStorage {
    /// `"stored"`: drawn once and held in memory (on the GPU, drawn on the device where the rule
    /// allows).
    #[default]
    Stored,
    /// `"procedural"`: nothing is stored; the row of a spiking source is drawn again from the
    /// generator every time (GeNN's procedural connectivity). Same network, same spikes as
    /// stored, no synapse memory (but `pairwise_bernoulli`'s table of thresholds); needs a rule
    /// whose rows can be drawn on their own (`fixed_outdegree` with multapses,
    /// `pairwise_bernoulli`, `all_to_all`, `one_to_one`) and one weight and delay.
    Procedural,
}

impl SynapseStorage {
    pub fn name(self) -> &'static str {
        match self {
            SynapseStorage::Stored => "stored",
            SynapseStorage::Procedural => "procedural",
        }
    }
}

/// A contiguous range of neurons of one population, by 0-based index within it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeuronRange {
    pub population: usize,
    pub neurons: Range<u32>,
}

/// `[[stimulus]]`: an input device connected to every neuron of a range.
#[derive(Clone, Debug, PartialEq)]
pub struct StimulusSpec {
    /// `"poisson_generator->E[0:400]"` unless the config names it.
    pub name: String,
    pub target: NeuronRange,
    pub kind: StimulusKind,
}

/// The input devices, with NEST's names and semantics.
#[derive(Clone, Debug, PartialEq)]
pub enum StimulusKind {
    /// `poisson_generator`: an independent Poisson spike train per target neuron (NEST's
    /// semantics), active in the steps starting in (start, stop].
    Poisson {
        rate_hz: f64,
        start_ms: f64,
        /// `f64::INFINITY` when unset.
        stop_ms: f64,
        weight_ns: f64,
        receptor: Receptor,
        delay_ms: f64,
    },
    /// `spike_generator`: the same spikes to every target; a spike at t arrives at t + delay.
    SpikeTrain {
        /// On the dt grid, non-decreasing; a time may repeat (the weights add up).
        spike_times_ms: Vec<f64>,
        weight_ns: f64,
        receptor: Receptor,
        delay_ms: f64,
    },
    /// `dc_generator`: a constant current while active (start < t <= stop).
    DcCurrent {
        amplitude_pa: f64,
        start_ms: f64,
        stop_ms: f64,
        delay_ms: f64,
    },
    /// `step_current_generator`: a current that changes to `amplitude_values[i]` at
    /// `amplitude_times[i]`, while active (start < t <= stop).
    StepCurrent {
        /// Strictly increasing, on the dt grid.
        amplitude_times_ms: Vec<f64>,
        amplitude_values_pa: Vec<f64>,
        start_ms: f64,
        stop_ms: f64,
        delay_ms: f64,
    },
}

impl StimulusKind {
    /// NEST's model name.
    pub fn model_name(&self) -> &'static str {
        match self {
            StimulusKind::Poisson { .. } => "poisson_generator",
            StimulusKind::SpikeTrain { .. } => "spike_generator",
            StimulusKind::DcCurrent { .. } => "dc_generator",
            StimulusKind::StepCurrent { .. } => "step_current_generator",
        }
    }
}

/// `[[record]]`: what goes into the output file.
#[derive(Clone, Debug, PartialEq)]
pub enum RecorderSpec {
    /// `spike_recorder`: all spikes of these populations.
    Spikes { populations: Vec<usize> },
    /// `multimeter`: state variables of chosen neurons, sampled every `interval_steps` steps at
    /// the end of the step (NEST's multimeter: first sample at t = interval).
    State {
        population: usize,
        /// 0-based indices within the population, strictly increasing.
        neurons: Vec<u32>,
        variables: Vec<StateVariable>,
        interval_steps: u32,
    },
}
