#!/usr/bin/env python3
"""The scaling figure of docs/benchmarks.md, from the JSON of `lifsim bench --json`: simulation
time against network size, and the same time per neuron-step and per synaptic event (flat lines
mean time grows linearly with size and with synaptic events).

    target/compare-venv/bin/python benches/compare/plot.py BENCH.json docs/img/scaling.png
"""

import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    report = json.load(open(sys.argv[1]))
    series = defaultdict(list)
    for r in report["results"]:
        if r["case"]["backend"] == "cpu":
            name = f"cpu, {r['threads_used']} thread{'s' if r['threads_used'] > 1 else ''}"
        else:
            name = f"gpu: {r['adapter'].split(' (')[0]}"
        series[name].append(r)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for name, rs in sorted(series.items()):
        rs.sort(key=lambda r: r["n_neurons"])
        n = [r["n_neurons"] for r in rs]
        sim = [r["simulate_s"] for r in rs]
        per_update = [r["simulate_s"] / (r["n_neurons"] * r["steps"]) * 1e9 for r in rs]
        per_event = [r["simulate_s"] / r["synaptic_events"] * 1e9 for r in rs]
        axes[0].loglog(n, sim, "o-", label=name)
        axes[1].semilogx(n, per_update, "o-", label=name)
        axes[2].semilogx(n, per_event, "o-", label=name)
    axes[0].set_ylabel("simulate [s] for 1 s of network time")
    axes[1].set_ylabel("simulate time per neuron-step [ns]")
    axes[2].set_ylabel("simulate time per synaptic event [ns]")
    for ax in axes:
        ax.set_xlabel("neurons N (in-degree 80)")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    axes[0].legend()
    cpu = report["machine"].get("cpu_model") or "unknown CPU"
    fig.suptitle(f"lifsim {report['lifsim_version']}, scaled COBA, 1 s of network time; "
                 f"machine: {cpu}, {report['machine']['cpu_threads']} hardware threads")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
