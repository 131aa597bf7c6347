//! NEST's `iaf_cond_exp`: a leaky integrate-and-fire neuron with exponentially decaying
//! excitatory and inhibitory conductances (Meffin, Burkitt & Grayden 2004).
//!
//! ```text
//! C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_stim
//! dg_ex/dt  = -g_ex / tau_syn_ex          dg_in/dt = -g_in / tau_syn_in
//! ```
//!
//! The step follows NEST 3.10 (`models/iaf_cond_exp.cpp`) to the letter; see
//! `tests/data/README.md` for the reference traces it is tested against:
//! 1. integrate (V_m, g_ex, g_in) over (t, t+h]; the right-hand side sees `V = min(V_m, V_th)`,
//!    and `dV/dt = 0` while refractory;
//! 2. add the synaptic input due this step to g_ex and g_in;
//! 3. if refractory: count down and clamp `V_m = V_reset`; else if `V_m >= V_th`: spike (stamped
//!    t + h), reset, start the refractory period of `round(t_ref / h)` steps;
//! 4. the current due this step becomes `I_stim` for the next step.
//!
//! Integration: the conductances decay exactly (`g *= exp(-h/tau)`), so RK4 takes them exactly
//! at t, t + h/2 and t + h, and V_m takes one classic RK4 step per time step in f32. On the NEST
//! protocols this gives identical spike times and |dV_m| below 3.4e-4 mV (NEST itself uses an
//! adaptive RKF45 with eps_abs 1e-3). The work per neuron is uniform, so GPU threads do not
//! diverge. Every multiply-add is an explicit fused `mul_add`, written in the same order as
//! `shaders/neuron_update.wgsl`, and all exponentials and divisions are computed once on the
//! host: the CPU and the GPU produce the same bits.

use bytemuck::{Pod, Zeroable};

/// Parameters of `iaf_cond_exp`, under NEST's names (converted to snake case). Defaults are
/// NEST 3.10's, which are those of Meffin, Burkitt & Grayden (2004).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IafCondExpParams {
    /// Membrane capacitance `C_m` [pF].
    pub c_m: f64,
    /// Leak conductance `g_L` [nS].
    pub g_l: f64,
    /// Leak reversal potential `E_L` [mV].
    pub e_l: f64,
    /// Spike threshold `V_th` [mV].
    pub v_th: f64,
    /// Reset potential `V_reset` [mV].
    pub v_reset: f64,
    /// Absolute refractory period `t_ref` [ms].
    pub t_ref: f64,
    /// Excitatory reversal potential `E_ex` [mV].
    pub e_ex: f64,
    /// Inhibitory reversal potential `E_in` [mV].
    pub e_in: f64,
    /// Excitatory synaptic time constant `tau_syn_ex` [ms].
    pub tau_syn_ex: f64,
    /// Inhibitory synaptic time constant `tau_syn_in` [ms].
    pub tau_syn_in: f64,
    /// Constant input current `I_e` [pA].
    pub i_e: f64,
}

impl Default for IafCondExpParams {
    fn default() -> Self {
        IafCondExpParams {
            c_m: 250.0,
            g_l: 16.6667,
            e_l: -70.0,
            v_th: -55.0,
            v_reset: -60.0,
            t_ref: 2.0,
            e_ex: 0.0,
            e_in: -85.0,
            tau_syn_ex: 0.2,
            tau_syn_in: 2.0,
            i_e: 0.0,
        }
    }
}

/// A parameter set that `iaf_cond_exp` cannot simulate: which parameter, and why.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// NEST name of the offending parameter, e.g. `V_reset`.
    pub param: &'static str,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl IafCondExpParams {
    /// NEST's parameter checks (`iaf_cond_exp::Parameters_::set`), plus finiteness.
    pub fn validate(&self) -> Result<(), ParamError> {
        let fields = [
            ("C_m", self.c_m),
            ("g_L", self.g_l),
            ("E_L", self.e_l),
            ("V_th", self.v_th),
            ("V_reset", self.v_reset),
            ("t_ref", self.t_ref),
            ("E_ex", self.e_ex),
            ("E_in", self.e_in),
            ("tau_syn_ex", self.tau_syn_ex),
            ("tau_syn_in", self.tau_syn_in),
            ("I_e", self.i_e),
        ];
        if let Some((param, value)) = fields.iter().find(|(_, v)| !v.is_finite()) {
            return Err(ParamError {
                param,
                message: format!("{param} must be a finite number (got {value})"),
            });
        }
        let err = |param, message: String| Err(ParamError { param, message });
        if self.v_reset >= self.v_th {
            return err(
                "V_reset",
                format!(
                    "V_reset must be below V_th (got {} >= {} mV)",
                    self.v_reset, self.v_th
                ),
            );
        }
        if self.c_m <= 0.0 {
            return err("C_m", format!("C_m must be positive (got {} pF)", self.c_m));
        }
        if self.g_l <= 0.0 {
            return err("g_L", format!("g_L must be positive (got {} nS)", self.g_l));
        }
        if self.t_ref < 0.0 {
            return err(
                "t_ref",
                format!("t_ref cannot be negative (got {} ms)", self.t_ref),
            );
        }
        for (param, tau) in [
            ("tau_syn_ex", self.tau_syn_ex),
            ("tau_syn_in", self.tau_syn_in),
        ] {
            if tau <= 0.0 {
                return err(param, format!("{param} must be positive (got {tau} ms)"));
            }
        }
        Ok(())
    }

    /// Membrane time constant C_m / g_L [ms].
    pub fn tau_m(&self) -> f64 {
        self.c_m / self.g_l
    }
}

/// The state variables a user can initialise and record, under NEST's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateVariable {
    /// Membrane potential `V_m` [mV].
    VM,
    /// Excitatory conductance `g_ex` [nS].
    GEx,
    /// Inhibitory conductance `g_in` [nS].
    GIn,
}

impl StateVariable {
    pub const ALL: [StateVariable; 3] = [StateVariable::VM, StateVariable::GEx, StateVariable::GIn];

    /// NEST's name, as used in configs and output files.
    pub fn name(self) -> &'static str {
        match self {
            StateVariable::VM => "V_m",
            StateVariable::GEx => "g_ex",
            StateVariable::GIn => "g_in",
        }
    }

    pub fn units(self) -> &'static str {
        match self {
            StateVariable::VM => "mV",
            StateVariable::GEx | StateVariable::GIn => "nS",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Position in `ALL`, used to key random streams and GPU buffers.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Constants of one population for one step size, computed once on the host in f64 (NEST's
/// `Variables_`, GeNN's derived parameters). Uploaded as is to the GPU: the WGSL struct
/// `Derived` in `shaders/neuron_update.wgsl` must stay in sync with this one.
///
/// The right-hand side is rewritten as dV/dt = A - G V with
/// `A = (g_L E_L + I_e + I_stim + g_ex E_ex + g_in E_in) / C_m` and `G = (g_L + g_ex + g_in) / C_m`,
/// so that each RK4 stage costs a `min` and one fused multiply-add.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct IafCondExpDerived {
    /// 1 / C_m [1/pF].
    pub inv_c_m: f32,
    /// -g_L / C_m [1/ms].
    pub neg_g_l_c: f32,
    /// (g_L E_L + I_e) / C_m [mV/ms].
    pub rest_drive_c: f32,
    /// E_ex / C_m [mV/pF].
    pub e_ex_c: f32,
    /// E_in / C_m [mV/pF].
    pub e_in_c: f32,
    /// V_th [mV].
    pub v_th: f32,
    /// V_reset [mV].
    pub v_reset: f32,
    /// -1 / C_m [1/pF].
    pub neg_inv_c_m: f32,
    /// exp(-h / tau_syn_ex).
    pub decay_ex: f32,
    /// exp(-h / (2 tau_syn_ex)).
    pub decay_ex_half: f32,
    /// exp(-h / tau_syn_in).
    pub decay_in: f32,
    /// exp(-h / (2 tau_syn_in)).
    pub decay_in_half: f32,
    /// h [ms].
    pub h: f32,
    /// h / 2 [ms].
    pub h_half: f32,
    /// h / 6 [ms].
    pub h_sixth: f32,
    /// round(t_ref / h): steps of the refractory clamp (NEST's `RefractoryCounts_`).
    pub refractory_steps: i32,
}

impl IafCondExpDerived {
    /// The constant part of dV/dt, (g_L E_L + I_e + I_stim) / C_m [mV/ms], for a current
    /// `i_stim` [pA] from generators.
    #[inline(always)]
    pub fn drive_c(&self, i_stim: f32) -> f32 {
        i_stim.mul_add(self.inv_c_m, self.rest_drive_c)
    }

    pub fn new(p: &IafCondExpParams, dt_ms: f64) -> Self {
        IafCondExpDerived {
            inv_c_m: (1.0 / p.c_m) as f32,
            neg_g_l_c: (-p.g_l / p.c_m) as f32,
            rest_drive_c: ((p.g_l * p.e_l + p.i_e) / p.c_m) as f32,
            e_ex_c: (p.e_ex / p.c_m) as f32,
            e_in_c: (p.e_in / p.c_m) as f32,
            v_th: p.v_th as f32,
            v_reset: p.v_reset as f32,
            neg_inv_c_m: (-1.0 / p.c_m) as f32,
            decay_ex: (-dt_ms / p.tau_syn_ex).exp() as f32,
            decay_ex_half: (-0.5 * dt_ms / p.tau_syn_ex).exp() as f32,
            decay_in: (-dt_ms / p.tau_syn_in).exp() as f32,
            decay_in_half: (-0.5 * dt_ms / p.tau_syn_in).exp() as f32,
            h: dt_ms as f32,
            h_half: (0.5 * dt_ms) as f32,
            h_sixth: (dt_ms / 6.0) as f32,
            refractory_steps: refractory_steps(p.t_ref, dt_ms),
        }
    }
}

/// NEST's `Time(Time::ms(t_ref)).get_steps()`: t_ref rounded to the nearest step.
pub fn refractory_steps(t_ref_ms: f64, dt_ms: f64) -> i32 {
    (t_ref_ms / dt_ms).round() as i32
}

/// The membrane equation for fixed conductances: dV/dt = drive + neg_leak * min(V, V_th).
#[derive(Clone, Copy)]
struct Rhs {
    /// A [mV/ms].
    drive: f32,
    /// -G [1/ms].
    neg_leak: f32,
}

impl Rhs {
    /// For conductances `g_ex`, `g_in` [nS] and `drive_c` = (g_L E_L + I_e + I_stim) / C_m.
    #[inline(always)]
    fn new(d: &IafCondExpDerived, drive_c: f32, g_ex: f32, g_in: f32) -> Rhs {
        Rhs {
            drive: g_ex.mul_add(d.e_ex_c, g_in.mul_add(d.e_in_c, drive_c)),
            neg_leak: (g_ex + g_in).mul_add(d.neg_inv_c_m, d.neg_g_l_c),
        }
    }

    /// dV/dt [mV/ms] at `v`; NEST's right-hand side never sees V above threshold.
    #[inline(always)]
    fn at(self, d: &IafCondExpDerived, v: f32) -> f32 {
        let v = if v < d.v_th { v } else { d.v_th };
        self.neg_leak.mul_add(v, self.drive)
    }
}

/// One neuron's state after one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepResult {
    pub v_m: f32,
    pub g_ex: f32,
    pub g_in: f32,
    pub refractory: i32,
    pub spiked: bool,
}

/// One step (t, t+h] of one neuron, steps 1-3 of NEST's update (see the module docs).
/// `i_stim` [pA]: current from generators; `input_ex`, `input_in` [nS]: synaptic input due this
/// step. Branch-free so that loops over neurons vectorise; `backend::cpu::neuron_update` and
/// `shaders/neuron_update.wgsl` both compute exactly this, operation for operation.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn step(
    d: &IafCondExpDerived,
    v_m: f32,
    g_ex: f32,
    g_in: f32,
    refractory: i32,
    i_stim: f32,
    input_ex: f32,
    input_in: f32,
) -> StepResult {
    step_with_drive(
        d,
        v_m,
        g_ex,
        g_in,
        refractory,
        d.drive_c(i_stim),
        input_ex,
        input_in,
    )
}

/// [`step`] with the constant drive `drive_c` = (g_L E_L + I_e + I_stim) / C_m computed.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn step_with_drive(
    d: &IafCondExpDerived,
    v_m: f32,
    g_ex: f32,
    g_in: f32,
    refractory: i32,
    drive_c: f32,
    input_ex: f32,
    input_in: f32,
) -> StepResult {
    let g_ex_end = g_ex * d.decay_ex;
    let g_in_end = g_in * d.decay_in;
    let start = Rhs::new(d, drive_c, g_ex, g_in);
    let middle = Rhs::new(d, drive_c, g_ex * d.decay_ex_half, g_in * d.decay_in_half);
    let end = Rhs::new(d, drive_c, g_ex_end, g_in_end);

    // Classic RK4 with the conductances taken exactly at t, t + h/2 and t + h.
    let k1 = start.at(d, v_m);
    let k2 = middle.at(d, d.h_half.mul_add(k1, v_m));
    let k3 = middle.at(d, d.h_half.mul_add(k2, v_m));
    let k4 = end.at(d, d.h.mul_add(k3, v_m));
    let mut sum = 2.0f32.mul_add(k2, k1);
    sum = 2.0f32.mul_add(k3, sum);
    sum += k4;
    let v_integrated = d.h_sixth.mul_add(sum, v_m);

    let is_refractory = refractory > 0;
    // A V_m that left the finite numbers is no spike: it stays, for the backend to report.
    let spiked = !is_refractory & (v_integrated >= d.v_th) & (v_integrated < f32::INFINITY);
    let v_m = if is_refractory | spiked {
        d.v_reset
    } else {
        v_integrated
    };
    let refractory = if is_refractory {
        refractory - 1
    } else if spiked {
        d.refractory_steps
    } else {
        0
    };
    StepResult {
        v_m,
        g_ex: g_ex_end + input_ex,
        g_in: g_in_end + input_in,
        refractory,
        spiked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_nest_defaults() {
        let p = IafCondExpParams::default();
        assert_eq!(
            (p.c_m, p.g_l, p.e_l, p.v_th),
            (250.0, 16.6667, -70.0, -55.0)
        );
        assert_eq!(
            (p.v_reset, p.t_ref, p.e_ex, p.e_in),
            (-60.0, 2.0, 0.0, -85.0)
        );
        assert_eq!((p.tau_syn_ex, p.tau_syn_in, p.i_e), (0.2, 2.0, 0.0));
        assert!(p.validate().is_ok());
    }

    #[test]
    fn validation_names_the_parameter() {
        let p = IafCondExpParams {
            v_reset: -50.0,
            ..Default::default()
        };
        let e = p.validate().unwrap_err();
        assert_eq!(e.param, "V_reset");
        assert!(e.message.contains("-50 >= -55"), "{}", e.message);
        let p = IafCondExpParams {
            tau_syn_in: 0.0,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().param, "tau_syn_in");
        let p = IafCondExpParams {
            c_m: f64::NAN,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().param, "C_m");
    }

    #[test]
    fn resting_neuron_stays_at_rest() {
        let d = IafCondExpDerived::new(&IafCondExpParams::default(), 0.1);
        let s = step(&d, -70.0, 0.0, 0.0, 0, 0.0, 0.0, 0.0);
        assert_eq!(s.v_m, -70.0);
        assert!(!s.spiked);
    }

    #[test]
    fn refractory_neuron_is_clamped_and_keeps_input() {
        let d = IafCondExpDerived::new(&IafCondExpParams::default(), 0.1);
        let s = step(&d, -60.0, 0.0, 0.0, 3, 0.0, 5.0, 0.0);
        assert_eq!((s.v_m, s.refractory, s.spiked), (-60.0, 2, false));
        assert_eq!(s.g_ex, 5.0);
    }

    #[test]
    fn crossing_threshold_spikes_and_resets() {
        let d = IafCondExpDerived::new(&IafCondExpParams::default(), 0.1);
        let s = step(&d, -55.001, 50.0, 0.0, 0, 0.0, 0.0, 0.0);
        assert!(s.spiked);
        assert_eq!((s.v_m, s.refractory), (-60.0, 20));
    }
}
