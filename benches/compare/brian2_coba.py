"""The scaled COBA network in Brian2 2.9 (cpp_standalone): one run, its timings and spike
statistics printed as one line of JSON. Run by compare.py, in a process of its own per case.

    python brian2_coba.py --n 4000 --threads 1 [--indegree 80] [--t-stop 1000] [--seed 2]
                          [--build-dir DIR]

Model: NEST's iaf_cond_exp written as equations, integrated with method='exponential_euler'
(the method Brian2 picks for these equations, as in shared/reference/coba.md; lifsim and NEST
integrate more accurately: DESIGN.md). To match NEST's timing conventions:
- Brian2 stamps a spike at the start of the step in which V_m crosses threshold, NEST at its end:
  spike times are shifted by +dt;
- Brian2's refractory period clamps one step less than NEST's: refractory = t_ref + dt;
- a delay of one step (0.1 ms) in both delivers a spike at the same step.
Connectivity: fixed in-degree with replacement (as NEST's fixed_indegree with multapses), drawn
with numpy; the kick: a PoissonGroup, one independent 300 Hz train per kicked neuron, active in
the steps that start in (1, 101] ms (NEST's poisson_generator window).

Timed: the simulation loop as the compiled program measures it (`device._last_run_time`: neither
compilation nor synapse creation); compilation and the whole program run are reported apart.
"""

import argparse
import json
import os
import resource
import tempfile
import time

import numpy as np
from brian2 import (
    Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses, defaultclock, device,
    ms, mV, nS, pA, pF, prefs, set_device, Hz,
)
import brian2

import coba_params as cp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True, help="neurons")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads")
    parser.add_argument("--indegree", type=int, default=80, help="synapses per neuron")
    parser.add_argument("--t-stop", type=float, default=1000.0, help="simulated time [ms]")
    parser.add_argument("--seed", type=int, default=2, help="seed of numpy and Brian2")
    parser.add_argument("--build-dir", default=None,
                        help="where the C++ project is generated (default: a temporary dir)")
    args = parser.parse_args()

    build_dir = args.build_dir or tempfile.mkdtemp(prefix="brian2_coba_")
    set_device("cpp_standalone", directory=build_dir, build_on_run=False)
    # One thread: the plain serial program (no OpenMP); more: OpenMP with that many threads.
    prefs.devices.cpp_standalone.openmp_threads = args.threads if args.threads > 1 else 0
    defaultclock.dt = cp.DT_MS * ms
    brian2.seed(args.seed)
    rng = np.random.default_rng(args.seed)

    p = cp.NEURON
    ne, ni = cp.sizes(args.n)
    ke, ki = cp.indegrees(args.indegree)
    we, wi = cp.weights_ns(args.indegree)
    dt = cp.DT_MS * ms

    # --- Neurons: iaf_cond_exp ------------------------------------------------------------------
    namespace = {
        "C_m": p["C_m"] * pF,
        "g_L": p["g_L"] * nS,
        "E_L": p["E_L"] * mV,
        "V_th": p["V_th"] * mV,
        "V_reset": p["V_reset"] * mV,
        "E_ex": p["E_ex"] * mV,
        "E_in": p["E_in"] * mV,
        "tau_ex": p["tau_syn_ex"] * ms,
        "tau_in": p["tau_syn_in"] * ms,
        "I_e": p["I_e"] * pA,
    }
    equations = """
    dv/dt = (g_L*(E_L - v) + ge*(E_ex - v) + gi*(E_in - v) + I_e) / C_m : volt (unless refractory)
    dge/dt = -ge / tau_ex : siemens
    dgi/dt = -gi / tau_in : siemens
    """
    neurons = NeuronGroup(
        args.n, equations, threshold="v >= V_th", reset="v = V_reset",
        refractory=p["t_ref"] * ms + dt, method="exponential_euler",
        namespace=namespace, name="neurons")
    low, high = cp.V_INIT
    neurons.v = f"({low} + rand() * {high - low}) * mV"

    # --- Synapses: fixed in-degree, sources drawn with replacement --------------------------------
    targets_e = np.repeat(np.arange(args.n), ke)
    sources_e = rng.integers(0, ne, size=args.n * ke)
    targets_i = np.repeat(np.arange(args.n), ki)
    sources_i = ne + rng.integers(0, ni, size=args.n * ki)
    from_e = Synapses(neurons, neurons, on_pre=f"ge += {we} * nS", delay=cp.DELAY_MS * ms,
                      name="from_e")
    from_e.connect(i=sources_e, j=targets_e)
    from_i = Synapses(neurons, neurons, on_pre=f"gi += {wi} * nS", delay=cp.DELAY_MS * ms,
                      name="from_i")
    from_i.connect(i=sources_i, j=targets_i)

    # --- Kick: Poisson input onto the first NE / 8 E neurons, in (1, 101] ms --------------------
    # Steps start at k dt: the window holds k = 11 .. 1010; half-step margins avoid rounding.
    start, stop = cp.KICK_START_MS + cp.DT_MS / 2, cp.KICK_STOP_MS + cp.DT_MS / 2
    kick = PoissonGroup(
        ne // 8, rates=f"{cp.KICK_RATE_HZ} * Hz * int(t > {start} * ms and t < {stop} * ms)",
        name="kick")
    kick_syn = Synapses(kick, neurons, on_pre=f"ge += {cp.KICK_WEIGHT_NS} * nS",
                        delay=cp.DELAY_MS * ms, name="kick_syn")
    kick_syn.connect(j="i")

    monitor = SpikeMonitor(neurons, name="spikes")
    net = Network(neurons, from_e, from_i, kick, kick_syn, monitor)
    net.run(args.t_stop * ms, namespace={"Hz": Hz})

    t0 = time.perf_counter()
    device.build(directory=build_dir, compile=True, run=True, debug=False)
    program_s = time.perf_counter() - t0
    simulate_s = float(device._last_run_time)
    compile_s = sum(t for t in device.timers["compile"].values() if t is not None)

    # Shift by +dt to NEST's convention (spike stamped at the end of its step).
    times_ms = np.asarray(monitor.t / ms) + cp.DT_MS
    senders = np.asarray(monitor.i)
    stats = cp.dynamics(senders, times_ms, args.n, args.t_stop)
    print(json.dumps({
        "simulator": "brian2",
        "version": brian2.__version__,
        "integrator": "exponential_euler",
        "n": args.n,
        "indegree": args.indegree,
        "threads": args.threads,
        "t_stop_ms": args.t_stop,
        "seed": args.seed,
        "n_synapses": int(len(sources_e) + len(sources_i)),
        "compile_s": compile_s,
        # The program run minus the simulation loop: loading arrays, creating synapses, writing
        # results.
        "build_s": max(float(device.timers["run_binary"]) - simulate_s, 0.0),
        "simulate_s": simulate_s,
        "total_s": program_s,
        "spikes": int(len(senders)),
        "dynamics": stats,
        # The compiled program runs in a child process: its peak memory is the children's.
        "host_peak_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "build_dir": os.path.abspath(build_dir),
    }))


if __name__ == "__main__":
    main()
