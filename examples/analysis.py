#!/usr/bin/env python3
"""Analyse a lifsim output file in Python: per-population rates, CV(ISI) and a raster plot.

Usage: python3 examples/analysis.py OUT.h5 RASTER.png [--json]

Reads the spikes with h5py into a pandas DataFrame, computes each population's mean rate and
mean CV(ISI) over the whole run the file holds, as `lifsim stats` defines them
(docs/analysis.md), and draws a raster with matplotlib into RASTER.png. When libsonata imports,
it reads the spikes a second time through libsonata's SpikeReader and checks that both readers
see the same spikes. Prints a table, or JSON with --json.

Needs: pip install h5py numpy pandas matplotlib   (and libsonata for the cross-check)
Exits 2 when one of the needed packages is missing, 1 when the two readers disagree.
"""

import json
from importlib import metadata
import sys

try:
    import h5py
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
except ImportError as e:
    print(
        f"a package this example needs is missing ({e}); "
        "pip install h5py numpy pandas matplotlib",
        file=sys.stderr,
    )
    sys.exit(2)

# Fewest spikes for a neuron's CV(ISI) to count (two intervals), as in `lifsim stats`.
CV_MIN_SPIKES = 3
# Most neurons per population in the raster, as `lifsim plot` shows by default.
MAX_NEURONS = 200
# Population colours in file order, as `lifsim plot` draws them.
COLOURS = ["#c82828", "#1e5ac8", "#289628", "#e68214", "#823caa", "#785032"]


def population_sizes(f, spikes, populations):
    """Neurons per population, silent neurons included: each population's `n_nodes` attribute,
    else (files written before lifsim stored it) the config stored in the file.

    Falls back to the highest node id that spiked + 1 where neither says.
    """
    sizes = {
        population: int(f["spikes"][population].attrs["n_nodes"])
        for population in populations
        if "n_nodes" in f["spikes"][population].attrs
    }
    if len(sizes) == len(populations):
        return sizes
    try:
        import tomllib  # Python 3.11+

        config = tomllib.loads(f.attrs["config"])
        for p in config.get("population", []):
            sizes.setdefault(p["name"], int(p["n"]))
    except (ImportError, ValueError, KeyError, TypeError) as e:
        print(f"note: population sizes from node ids ({e})", file=sys.stderr)
    for population in populations:
        ids = spikes.loc[spikes["population"] == population, "node_id"]
        sizes.setdefault(population, int(ids.max()) + 1 if len(ids) else 0)
    return sizes


def read_spikes(f):
    """All spikes of a file as a DataFrame (population, node_id, time_ms)."""
    frames = [
        pd.DataFrame(
            {
                "population": population,
                "node_id": group["node_ids"][()].astype(np.int64),
                "time_ms": group["timestamps"][()],
            }
        )
        for population, group in f["spikes"].items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"population": [], "node_id": [], "time_ms": []}
    )


def cv_isi(times_ms):
    """CV of a neuron's inter-spike intervals: std / mean, std with divisor n (numpy's default)."""
    isi = np.diff(np.sort(times_ms.to_numpy()))
    return isi.std() / isi.mean()


def statistics(spikes, sizes, populations, duration_ms):
    """Mean rate [Hz] over all neurons and mean CV(ISI) over neurons with >= 3 spikes."""
    out = {}
    for population in populations:
        times = spikes.loc[spikes["population"] == population]
        counts = times.groupby("node_id").size()
        enough = counts.index[counts >= CV_MIN_SPIKES]
        cvs = times.loc[times["node_id"].isin(enough)].groupby("node_id")["time_ms"].apply(cv_isi)
        n = sizes[population]
        out[population] = {
            "n_neurons": n,
            "n_spikes": int(len(times)),
            "rate_hz": len(times) / (n * duration_ms * 1e-3) if n else 0.0,
            "cv_isi": float(cvs.mean()) if len(cvs) else None,
            "cv_neurons": int(len(cvs)),
        }
    return out


def draw_raster(spikes, sizes, populations, t_reached_ms, path):
    """A raster, MAX_NEURONS evenly spread neurons per population at most, first one on top."""
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    top = 0
    titles = []
    for index, population in enumerate(populations):
        n = sizes[population]
        shown = n if n <= MAX_NEURONS else MAX_NEURONS
        # Node floor(i n / shown) on row i, as lifsim plot picks them.
        nodes = (np.arange(shown) * n) // shown
        row_of = pd.Series(np.arange(shown), index=nodes)
        times = spikes.loc[
            (spikes["population"] == population) & spikes["node_id"].isin(nodes)
        ]
        rows = top + row_of[times["node_id"]].to_numpy()
        ax.scatter(times["time_ms"], -rows, s=2, color=COLOURS[index % len(COLOURS)],
                   label=population, linewidths=0)
        titles.append(
            f"{population}: {shown:,} of {n:,} neurons shown" if shown < n
            else f"{population}: all {n:,} neurons"
        )
        top += shown
    ax.set_xlim(0, t_reached_ms)
    ax.set_ylim(-top, 1)
    ax.set_yticks([])
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("neurons")
    ax.set_title("Spikes (" + "; ".join(titles) + ")")
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def libsonata_check(path, spikes, populations):
    """Reads the spikes with libsonata's SpikeReader and compares them with h5py's."""
    try:
        import libsonata
    except ImportError as e:
        return {"available": False, "reason": f"libsonata not installed ({e})"}
    reader = libsonata.SpikeReader(path)
    names = list(reader.get_population_names())
    if sorted(names) != sorted(populations):
        return {"available": True, "agrees": False,
                "reason": f"populations {names} != {populations}"}
    for population in populations:
        pairs = reader[population].get()  # [(node_id, time_ms), ...]
        theirs = np.array(sorted((t, int(node)) for node, t in pairs), dtype=float).reshape(-1, 2)
        mine = spikes.loc[spikes["population"] == population]
        ours = np.array(
            sorted(zip(mine["time_ms"], mine["node_id"].astype(int))), dtype=float
        ).reshape(-1, 2)
        if not np.array_equal(theirs, ours):
            return {"available": True, "agrees": False,
                    "reason": f"spikes of {population} differ ({len(theirs)} vs {len(ours)})"}
    return {"available": True, "agrees": True, "version": metadata.version("libsonata")}


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    path, raster_path = args
    with h5py.File(path, "r") as f:
        t_reached_ms = float(f.attrs["t_reached"])
        status = f.attrs["status"]
        populations = list(f["spikes"].keys())  # in the order of the config
        spikes = read_spikes(f)
        sizes = population_sizes(f, spikes, populations)
    stats = statistics(spikes, sizes, populations, t_reached_ms)
    draw_raster(spikes, sizes, populations, t_reached_ms, raster_path)
    sonata = libsonata_check(path, spikes, populations)

    if "--json" in sys.argv[1:]:
        json.dump({"t_reached_ms": t_reached_ms, "populations": stats, "libsonata": sonata,
                   "raster": raster_path}, sys.stdout, indent=1)
        print()
    else:
        print(f"{path}: {status}, 0 < t <= {t_reached_ms} ms")
        print(f"{'population':<12} {'neurons':>10} {'spikes':>10} {'rate [Hz]':>10} {'CV(ISI)':>8}")
        for population, s in stats.items():
            cv = "-" if s["cv_isi"] is None else f"{s['cv_isi']:.2f}"
            print(f"{population:<12} {s['n_neurons']:>10,} {s['n_spikes']:>10,} "
                  f"{s['rate_hz']:>10.2f} {cv:>8}")
        print(f"raster: {raster_path}")
        if not sonata["available"]:
            print(f"libsonata cross-check skipped: {sonata['reason']} (pip install libsonata)")
        elif sonata["agrees"]:
            print(f"libsonata {sonata['version']} reads the same spikes")
    if sonata["available"] and not sonata["agrees"]:
        print(f"libsonata and h5py disagree: {sonata['reason']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
