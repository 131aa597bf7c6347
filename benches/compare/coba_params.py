"""The scaled COBA network shared by the NEST and Brian2 scripts, and the spike statistics every
simulator is judged by. Mirrors lifsim's `src/bench/spec.rs` and `src/bench/runner.rs`
(`dynamics`): change one, change the other.

Brette et al. (2007), benchmark 1, after Vogels & Abbott (2005); shared/reference/coba.md.
"""

import numpy as np

# --- Neuron: iaf_cond_exp, identical in E and I (NEST names and units) --------------------------
NEURON = {
    "C_m": 200.0,        # membrane capacitance [pF]
    "g_L": 10.0,         # leak conductance [nS] (tau_m = 20 ms)
    "E_L": -60.0,        # leak reversal potential [mV]
    "V_th": -50.0,       # spike threshold [mV]
    "V_reset": -60.0,    # reset potential [mV]
    "t_ref": 5.0,        # refractory period [ms]
    "E_ex": 0.0,         # excitatory reversal potential [mV]
    "E_in": -80.0,       # inhibitory reversal potential [mV]
    "tau_syn_ex": 5.0,   # excitatory synaptic time constant [ms]
    "tau_syn_in": 10.0,  # inhibitory synaptic time constant [ms]
    "I_e": 0.0,          # constant input current [pA]
}
V_INIT = (-60.0, -50.0)  # initial V_m, uniform between reset and threshold [mV]

DT_MS = 0.1              # integration step [ms]
DELAY_MS = 0.1           # every synaptic delay [ms]: one step

# --- Kick: an independent Poisson train per target onto the first NE / 8 E neurons -------------
KICK_RATE_HZ = 300.0
KICK_START_MS = 1.0      # active for start < t <= stop
KICK_STOP_MS = 101.0
KICK_WEIGHT_NS = 6.0     # on g_ex; not scaled with the in-degree (input from outside)

COBA_INDEGREE = 80       # 64 from E + 16 from I
WEIGHT_E_NS = 6.0        # at in-degree 80, on g_ex
WEIGHT_I_NS = 67.0       # at in-degree 80, on g_in


def sizes(n):
    """(NE, NI): NE = floor(0.8 n)."""
    ne = n * 4 // 5
    return ne, n - ne


def indegrees(k):
    """(K_E, K_I): 0.8 k from E, the rest from I."""
    ke = k * 4 // 5
    return ke, k - ke


def weights_ns(k):
    """Recurrent weights from E and from I [nS]: COBA's scaled by 80 / k, so that the mean input
    per neuron (k times the weight) is the same for every in-degree."""
    scale = COBA_INDEGREE / k
    return WEIGHT_E_NS * scale, WEIGHT_I_NS * scale


def dynamics(senders, times_ms, n, t_stop_ms):
    """Rates, CV(ISI) and late activity from spikes (0-based neuron ids, times in ms).

    rate_e_hz, rate_i_hz: spikes per neuron per second over the whole run;
    cv_isi_e: mean over E neurons with at least 3 spikes of std(ISI) / mean(ISI) (population std);
    rate_last_100ms_hz: all neurons, spikes stamped in the last 100 ms;
    self_sustained: that rate above 5 Hz (None for runs shorter than 200 ms).
    """
    senders = np.asarray(senders, dtype=np.int64)
    times_ms = np.asarray(times_ms, dtype=np.float64)
    ne, ni = sizes(n)
    t_s = t_stop_ms * 1e-3
    counts = np.bincount(senders, minlength=n)
    order = np.lexsort((times_ms, senders))
    s, t = senders[order], times_ms[order]
    same = s[1:] == s[:-1]
    isi = (t[1:] - t[:-1])[same]
    owner = s[1:][same]
    n_isi = np.bincount(owner, minlength=n).astype(np.float64)
    isi_sum = np.bincount(owner, weights=isi, minlength=n)
    isi_sq = np.bincount(owner, weights=isi * isi, minlength=n)
    e_ok = np.zeros(n, dtype=bool)
    e_ok[:ne] = counts[:ne] >= 3
    mean = isi_sum[e_ok] / n_isi[e_ok]
    var = np.maximum(isi_sq[e_ok] / n_isi[e_ok] - mean * mean, 0.0)
    cv = float(np.mean(np.sqrt(var) / mean)) if e_ok.any() else 0.0
    late_ms = min(100.0, t_stop_ms)
    # Spikes are stamped at the end of their step, in (0, t_stop]; the last 100 ms are the last
    # 1,000 steps. Half a step of slack keeps rounding from moving a boundary spike.
    late = int(np.count_nonzero(times_ms > t_stop_ms - late_ms + DT_MS / 2))
    rate_late = late / n / (late_ms * 1e-3)
    return {
        "rate_e_hz": float(counts[:ne].sum() / ne / t_s),
        "rate_i_hz": float(counts[ne:].sum() / ni / t_s) if ni else 0.0,
        "cv_isi_e": cv,
        "rate_last_100ms_hz": rate_late,
        "self_sustained": (rate_late > 5.0) if t_stop_ms >= 200.0 else None,
    }
