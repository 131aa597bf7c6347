//! Backends advance a [`Network`] in time. The CPU backend is the reference; the GPU backend runs
//! the same stages as WGSL kernels (`shaders/`), each with its CPU twin in `cpu/` under the same
//! name, and both produce the same spikes.
//!
//! Per step k, covering (k h, (k+1) h], both run these stages in this order:
//! 1. `neuron_update`: integrate, add the delay-ring input due in step k, refractoriness,
//!    threshold, reset; spiking neurons are appended to the step's spike list;
//! 2. `stimulus`: Poisson and spike-generator input due in step k is added to g, in stimulus
//!    order; at steps where a current generator changes, `I_stim` is recomputed;
//! 3. `record`: state samples of the step (the state at t = (k+1) h);
//! 4. `propagate`: the spikes of step k are pushed along their CSR rows into the delay rings,
//!    slot (k + delay) mod slots, as fixed-point integers.

pub mod cpu;
pub mod gpu;

use std::sync::Arc;

use crate::config::{BackendChoice, NetworkSpec};
use crate::model::StateVariable;
use crate::network::{Network, NeuronState};

/// A spike: the step it was emitted in (stamped at the step's end) and the global neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Spike {
    pub step: u64,
    pub neuron: u32,
}

/// What a backend produced over consecutive steps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// First step covered.
    pub first_step: u64,
    /// Number of steps covered.
    pub n_steps: u64,
    /// Every spike of every population, ordered by step, then neuron.
    pub spikes: Vec<Spike>,
    /// One entry per probe of the network: its samples, row-major [sample][neuron].
    pub samples: Vec<Vec<f32>>,
}

impl Batch {
    pub fn clear(&mut self, first_step: u64, n_probes: usize) {
        self.first_step = first_step;
        self.n_steps = 0;
        self.spikes.clear();
        self.samples.resize_with(n_probes, Vec::new);
        for s in &mut self.samples {
            s.clear();
        }
    }
}

/// The full dynamic state of a simulation after `step` steps. Random numbers are counter-based
/// (keyed by seed, neuron and step) and devices are functions of the step, so this is all a run
/// needs to continue exactly as if it had never stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps simulated.
    pub step: u64,
    pub state: NeuronState,
    /// Delay rings, fixed point, `[slot][neuron]`: slot s holds the input due in the steps k with
    /// k mod slots == s.
    pub ring_ex: Vec<i32>,
    pub ring_in: Vec<i32>,
}

/// Why a backend could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "{variable} of neuron {neuron} of population `{population}` became {value} at t = {} ms; \
         check the parameters of `{population}` (a time constant or capacitance far from the \
         others, or a huge weight or current) or reduce dt",
        round_ms(*time_ms)
    )]
    NonFinite {
        population: String,
        neuron: u32,
        variable: &'static str,
        value: f32,
        time_ms: f64,
    },
    #[error(
        "the synaptic input of neuron {neuron} of population `{population}` at t = {} ms \
         exceeded the fixed-point range chosen for this network (see docs/model.md); this should \
         not happen: please report it with the config",
        round_ms(*time_ms)
    )]
    InputOverflow {
        population: String,
        neuron: u32,
        time_ms: f64,
    },
    #[error("GPU: {0}")]
    Gpu(String),
}

/// A time [ms] for messages: a multiple of dt, without the binary floating-point tail
/// (6.1, not 6.1000000000000005).
pub fn round_ms(t_ms: f64) -> f64 {
    (t_ms * 1e9).round() / 1e9
}

/// The variable to blame for a non-finite state: a conductance first (an infinite g makes V_m
/// NaN in the same step), then V_m.
pub fn non_finite_variable(v_m: f32, g_ex: f32, g_in: f32) -> (StateVariable, f32) {
    [
        (StateVariable::GEx, g_ex),
        (StateVariable::GIn, g_in),
        (StateVariable::VM, v_m),
    ]
    .into_iter()
    .find(|(_, x)| !x.is_finite())
    .unwrap_or((StateVariable::VM, v_m))
}

/// A simulation engine holding a network's state.
pub trait Backend {
    /// What runs the simulation, for the user: "cpu, 2 threads", "gpu: NVIDIA H100 (Vulkan)".
    fn description(&self) -> String;

    /// Steps simulated so far.
    fn steps_done(&self) -> u64;

    /// Simulate at most `max_steps` more steps (never past the network's end) and put what they
    /// produced into `out` (cleared first). A backend may stop earlier when its output buffers
    /// fill, but never drops output. Returns the number of steps simulated.
    fn advance(&mut self, max_steps: u64, out: &mut Batch) -> Result<u64, BackendError>;

    /// Hand out the results of work already submitted, without starting more (a backend that
    /// runs ahead of the caller, like the GPU's, has some). Returns 0 when nothing is pending.
    fn drain(&mut self, out: &mut Batch) -> Result<u64, BackendError> {
        out.clear(self.steps_done(), 0);
        Ok(0)
    }

    /// The full neuron state now.
    fn neuron_state(&mut self) -> Result<NeuronState, BackendError>;

    /// Never simulate past step `step` (a backend that runs ahead stops there), until a later
    /// horizon is set. The default horizon is the network's end.
    fn set_horizon(&mut self, step: u64);

    /// The state after `steps_done()` steps. Only valid when no work is in flight (after
    /// `drain` returned 0).
    fn checkpoint(&mut self) -> Result<Checkpoint, BackendError>;

    /// Continue from a checkpoint of the same network.
    fn restore(&mut self, checkpoint: &Checkpoint) -> Result<(), BackendError>;
}

/// Steps left before the network's end.
pub fn steps_left(network: &Network, steps_done: u64) -> u64 {
    network.n_steps.saturating_sub(steps_done)
}

/// The backend a run uses, and why it was chosen (shown to the user).
pub struct Selected<'n> {
    pub backend: Box<dyn Backend + 'n>,
    pub reason: String,
}

/// The backend a run will use, decided from the spec before the network is built (so that a
/// network the chosen device cannot hold is refused before anything is drawn).
pub enum Plan {
    Cpu {
        reason: String,
    },
    Gpu {
        ctx: Arc<gpu::GpuContext>,
        reason: String,
    },
}

/// Below this many neurons `auto` runs on the CPU: a GPU step costs a few microseconds per
/// dispatch whatever the network's size (0.43 s of GPU time per simulated second for COBA on an
/// NVIDIA H200 up to 40,000 neurons, docs/benchmarks.md), which one CPU thread beats up to about
/// 65,000 neurons and a few threads up to a few hundred thousand.
pub const AUTO_GPU_MIN_NEURONS: u64 = 200_000;

/// Why `auto` keeps a network of `neurons` on the CPU although a hardware GPU exists, if it does.
fn too_small_for_a_gpu(neurons: u64, adapter: &str) -> Option<String> {
    (neurons < AUTO_GPU_MIN_NEURONS).then(|| {
        format!(
            "auto: {} neurons, fewer than {}, run faster on the CPU than on {adapter}; \
             --backend gpu uses it anyway",
            crate::format::count(neurons),
            crate::format::count(AUTO_GPU_MIN_NEURONS)
        )
    })
}

/// Decide the backend `choice` asks for. `auto` takes a hardware GPU when there is one, the
/// network has at least `AUTO_GPU_MIN_NEURONS` neurons and fits it; a software adapter
/// (lavapipe, WARP) is slower than the CPU backend, so `auto` leaves it alone (`gpu` uses it).
pub fn plan(spec: &NetworkSpec, choice: BackendChoice) -> Result<Plan, BackendError> {
    let cpu = |reason: String| Ok(Plan::Cpu { reason });
    match choice {
        BackendChoice::Cpu => cpu("asked for".to_string()),
        BackendChoice::Gpu => {
            let ctx = gpu::device::request_context().map_err(gpu::GpuError::from)?;
            Ok(Plan::Gpu {
                ctx,
                reason: "asked for".to_string(),
            })
        }
        BackendChoice::Auto => {
            let Some(best) = gpu::device::best_adapter() else {
                return cpu("auto: no GPU adapter found".to_string());
            };
            let name = gpu::device::describe(&best);
            if best.is_software() {
                return cpu(format!(
                    "auto: the only GPU adapter, {name}, runs shaders on the CPU and is slower \
                     than the CPU backend; --backend gpu uses it anyway"
                ));
            }
            let size = crate::network::estimate_size(spec);
            if let Some(reason) = too_small_for_a_gpu(size.neurons, &name) {
                return cpu(reason);
            }
            let ctx = match gpu::device::request_context() {
                Ok(ctx) => ctx,
                Err(e) => return cpu(format!("auto: {e}; using the CPU")),
            };
            let limits = &ctx.summary.limits;
            let binding = limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size);
            let needed = gpu::footprint::of_size(&size, spec, binding);
            match gpu::device::usable_memory(&ctx) {
                Some(available) if needed.total() > available => cpu(format!(
                    "auto: the network needs {} of device memory and {name} has {}",
                    crate::format::bytes(needed.total()),
                    crate::format::bytes(available)
                )),
                _ => Ok(Plan::Gpu {
                    ctx,
                    reason: format!("auto: GPU adapter {name}"),
                }),
            }
        }
    }
}

impl Plan {
    /// Create the planned backend for `network`.
    pub fn start(self, network: &Network, threads: usize) -> Result<Selected<'_>, BackendError> {
        match self {
            Plan::Cpu { reason } => Ok(Selected {
                backend: Box::new(cpu::CpuBackend::new(network, threads)),
                reason,
            }),
            Plan::Gpu { ctx, reason } => Ok(Selected {
                backend: Box::new(gpu::GpuBackend::new(network, ctx)?.with_host_threads(threads)),
                reason,
            }),
        }
    }
}

/// Plan and create the backend `choice` asks for, for an already built network.
pub fn create(
    network: &Network,
    choice: BackendChoice,
    threads: usize,
) -> Result<Selected<'_>, BackendError> {
    plan(&network.spec, choice)?.start(network, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_keeps_small_networks_on_the_cpu() {
        let reason = too_small_for_a_gpu(4_000, "NVIDIA H200 (Vulkan)").unwrap();
        assert_eq!(
            reason,
            "auto: 4,000 neurons, fewer than 200,000, run faster on the CPU than on NVIDIA H200 \
             (Vulkan); --backend gpu uses it anyway"
        );
        assert!(too_small_for_a_gpu(199_999, "x").is_some());
        assert!(too_small_for_a_gpu(200_000, "x").is_none());
        assert!(too_small_for_a_gpu(1_000_000, "x").is_none());
    }
}
