"""The scaled COBA network in NEST 3.10: one run, its timings and spike statistics printed as one
line of JSON. Run by compare.py, in a process of its own per case.

    python nest_coba.py --n 4000 --threads 1 [--indegree 80] [--t-stop 1000] [--seed 2]

Model: iaf_cond_exp (NEST's own, integrated with GSL's adaptive RKF45), parameters of
coba_params.NEURON; fixed_indegree connections (autapses and multapses allowed, NEST's defaults);
the receptor is chosen by the sign of the weight (NEST's convention: positive on g_ex, negative
on g_in); one poisson_generator connected to the kicked neurons (it sends an independent train to
each target).

Timed: build (creation and connection) and nest.Simulate, separately. Simulate is
Prepare + Run + Cleanup (NEST's documentation); the three are timed apart so that the time
Prepare spends on connection infrastructure shows (prepare_s); simulate_s is their sum, the
time of nest.Simulate.
"""

import argparse
import json
import resource
import time

import nest

import coba_params as cp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True, help="neurons")
    parser.add_argument("--threads", type=int, default=1, help="NEST threads (local_num_threads)")
    parser.add_argument("--indegree", type=int, default=80, help="synapses per neuron")
    parser.add_argument("--t-stop", type=float, default=1000.0, help="simulated time [ms]")
    parser.add_argument("--seed", type=int, default=2, help="NEST's rng_seed")
    args = parser.parse_args()

    ne, ni = cp.sizes(args.n)
    ke, ki = cp.indegrees(args.indegree)
    we, wi = cp.weights_ns(args.indegree)

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({
        "resolution": cp.DT_MS,
        "local_num_threads": args.threads,
        "rng_seed": args.seed,
        "print_time": False,
    })

    t0 = time.perf_counter()
    neurons = nest.Create("iaf_cond_exp", args.n, params=cp.NEURON)
    exc, inh = neurons[:ne], neurons[ne:]
    neurons.V_m = nest.random.uniform(*cp.V_INIT)
    conn = lambda k: {"rule": "fixed_indegree", "indegree": k,
                      "allow_autapses": True, "allow_multapses": True}
    nest.Connect(exc, neurons, conn(ke),
                 {"synapse_model": "static_synapse", "weight": we, "delay": cp.DELAY_MS})
    nest.Connect(inh, neurons, conn(ki),
                 {"synapse_model": "static_synapse", "weight": -wi, "delay": cp.DELAY_MS})
    kick = nest.Create("poisson_generator", params={
        "rate": cp.KICK_RATE_HZ, "start": cp.KICK_START_MS, "stop": cp.KICK_STOP_MS})
    nest.Connect(kick, exc[:ne // 8],
                 syn_spec={"weight": cp.KICK_WEIGHT_NS, "delay": cp.DELAY_MS})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    build_s = time.perf_counter() - t0

    # nest.Simulate(t) is exactly these three calls.
    t0 = time.perf_counter()
    nest.Prepare()
    prepare_s = time.perf_counter() - t0
    nest.Run(args.t_stop)
    nest.Cleanup()
    simulate_s = time.perf_counter() - t0

    events = recorder.get("events")
    first_id = neurons[0].global_id
    senders = events["senders"] - first_id
    stats = cp.dynamics(senders, events["times"], args.n, args.t_stop)
    print(json.dumps({
        "simulator": "nest",
        "version": nest.__version__,
        "integrator": "GSL RKF45 (adaptive)",
        "n": args.n,
        "indegree": args.indegree,
        "threads": args.threads,
        "t_stop_ms": args.t_stop,
        "seed": args.seed,
        "n_synapses": args.n * args.indegree,
        "build_s": build_s,
        "prepare_s": prepare_s,
        "simulate_s": simulate_s,
        "spikes": int(len(senders)),
        "dynamics": stats,
        # ru_maxrss is in KiB on Linux.
        "host_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
