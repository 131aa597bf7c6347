#!/usr/bin/env python3
"""lifsim against NEST 3.10 and Brian2 2.9 (cpp_standalone) on the scaled COBA network: same
network, same kick, same in-degree, dt 0.1 ms; one table of simulation times, their ratios to
lifsim's, and the spike statistics that show the dynamics match.

    python3 benches/compare/compare.py --sizes 4000,40000 --threads 1,2
    python3 benches/compare/compare.py --sizes 4k,40k,400k --threads 1,2 --skip nest:400000:1

Everything runs back to back, in one command: the first run creates the virtual environment
(setup.sh: NEST and Brian2 from PyPI) and builds lifsim in release mode. Cases run side by side,
size by size and thread count by thread count (lifsim, then Brian2, then NEST), each in a process
of its own, so that a change in the machine's load hits all three alike. How busy other processes
kept the CPUs just before each run is recorded (--quiet waits for a quiet machine): timings taken
on a busy machine are not worth much, and multi-threaded ones break down (every simulator's
threads wait for each other once per step).

--repeat K runs every case K times, with seeds SEED .. SEED + K - 1 (the same seeds for every
simulator), and keeps the fastest run whose activity outlived the kick: the minimum is the
estimate least disturbed by other processes (as Python's timeit advises), and a run that fell
silent did less work and is no measure. Every run is in --out.

Results: the table on stdout (Markdown), and every number, with what was skipped and why, in
--out (JSON).
"""

import argparse
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
PEERS = ("brian2", "nest")
PEER_NAMES = {"lifsim": "lifsim cpu", "brian2": "Brian2 cpp_standalone", "nest": "NEST"}


def parse_size(text):
    """4000, 40k, 1M -> neurons."""
    factor = {"k": 1_000, "K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    digits = text[:-1] if factor > 1 else text
    return int(digits) * factor


def parse_skip(text):
    """`peer`, `peer:size` or `peer:size:threads` -> (peer, size or None, threads or None)."""
    parts = text.split(":")
    if parts[0] not in PEERS + ("lifsim",) or len(parts) > 3:
        raise argparse.ArgumentTypeError(
            f"--skip {text}: expected PEER[:SIZE[:THREADS]] with PEER one of nest, brian2, lifsim")
    size = parse_size(parts[1]) if len(parts) > 1 else None
    threads = int(parts[2]) if len(parts) > 2 else None
    return parts[0], size, threads


def skipped(skips, peer, n, threads):
    return any(p == peer and s in (None, n) and t in (None, threads) for p, s, t in skips)


def ensure_venv(venv):
    """Create the virtual environment with the pinned peers if it is not there yet."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import nest, brian2"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing NEST and Brian2 into {venv} (once; a few minutes)", flush=True)
    subprocess.run(["bash", str(HERE / "setup.sh"), str(venv)], check=True)
    return python


def build_lifsim():
    """Build lifsim in release mode; return the binary's path."""
    print("building lifsim (cargo build --release)", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                          cwd=REPO, check=True, capture_output=True, text=True)
    target = pathlib.Path(json.loads(meta.stdout)["target_directory"])
    return target / "release" / "lifsim"


def load_average():
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def busy_cpus(seconds=2.0):
    """CPUs kept busy by other processes: runnable tasks in /proc/loadavg (this one excluded),
    averaged over a few samples. None where /proc/loadavg does not exist (not Linux)."""
    samples = []
    for _ in range(10):
        try:
            running = int(pathlib.Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        samples.append(running - 1)
        time.sleep(seconds / 10)
    return sum(samples) / len(samples)


def wait_until_quiet(max_busy, max_wait_s):
    """Wait, at most max_wait_s, until other processes keep fewer than max_busy CPUs busy.
    Returns the last measurement."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy = busy_cpus()
        if busy is None or busy < max_busy or time.monotonic() >= deadline:
            return busy
        time.sleep(5)


def run_json(command, timeout, cwd=None):
    """Run `command`; return the JSON of its last stdout line, or raise RuntimeError."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"exit {done.returncode}: " + " | ".join(tail))
    return json.loads(lines[-1])


def run_lifsim(binary, n, threads, seed, args):
    """One case of `lifsim bench`, in the form of the peers' results."""
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "bench.json"
        command = [str(binary), "bench", "--backend", "cpu", "--sizes", str(n),
                   "--threads", str(threads), "--indegree", str(args.indegree),
                   "--t-stop", str(args.t_stop), "--seed", str(seed), "--json", str(out),
                   "--case-timeout", str(args.timeout)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"lifsim bench failed: {done.stdout[-500:]} {done.stderr[-500:]}")
        report = json.loads(out.read_text())
    r = report["results"][0]
    return {
        "simulator": "lifsim",
        "version": report["lifsim_version"],
        "integrator": "RK4, exact conductances",
        "n": n,
        "indegree": args.indegree,
        "threads": threads,
        "threads_used": r["threads_used"],
        "t_stop_ms": args.t_stop,
        "seed": seed,
        "n_synapses": r["n_synapses"],
        "build_s": r["build_s"] + r["setup_s"],
        "simulate_s": r["simulate_s"],
        "spikes": r["spikes"],
        "dynamics": r["dynamics"],
        "host_peak_bytes": r["host_peak_bytes"],
        "bench": r,
    }


def run_peer(python, peer, n, threads, seed, args):
    command = [str(python), str(HERE / f"{peer}_coba.py"), "--n", str(n),
               "--threads", str(threads), "--indegree", str(args.indegree),
               "--t-stop", str(args.t_stop), "--seed", str(seed)]
    if peer == "brian2":
        # The generated C++ project (tens of MB at 400k neurons) goes away after the run.
        build_dir = tempfile.mkdtemp(prefix="brian2_coba_")
        try:
            return run_json(command + ["--build-dir", build_dir], args.timeout, cwd=HERE)
        finally:
            shutil.rmtree(build_dir, ignore_errors=True)
    return run_json(command, args.timeout, cwd=HERE)


def fastest_sustained(runs):
    """The fastest run that did not fall silent after the kick (runs too short to tell count as
    active), or the fastest of all if every one did."""
    sustained = [r for r in runs if r["dynamics"]["self_sustained"] is not False]
    return min(sustained or runs, key=lambda r: r["simulate_s"])


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def table(rows):
    """The Markdown table: one line per run, ratios to lifsim of the same size and threads."""
    lines = [
        "| N | threads | simulator | build s | simulate s | vs lifsim | rate E / I Hz | CV(ISI) E | sustained | seed (runs) | busy |",
        "|---:|---:|---|---:|---:|---:|---|---:|---|---|---:|",
    ]
    base = {(r["n"], r["threads"]): r["simulate_s"] for r in rows if r["simulator"] == "lifsim"}
    for r in rows:
        d = r["dynamics"]
        lifsim_s = base.get((r["n"], r["threads"]))
        if r["simulator"] == "lifsim":
            ratio = "1"
        elif lifsim_s:
            ratio = f"{r['simulate_s'] / lifsim_s:.1f}x"
        else:
            ratio = "-"
        build = fmt_s(r["build_s"])
        if "compile_s" in r:
            build += f" (+{r['compile_s']:.1f} compile)"
        sustained = {True: "yes", False: "NO", None: "-"}[d["self_sustained"]]
        busy = "-" if r.get("busy_cpus") is None else f"{r['busy_cpus']:.1f}"
        threads = str(r["threads"])
        if r.get("threads_used") not in (None, r["threads"]):
            # lifsim gives small networks fewer threads (at least 2,048 neurons each).
            threads += f" ({r['threads_used']} used)"
        lines.append(
            f"| {r['n']:,} | {threads} | {PEER_NAMES[r['simulator']]} | {build} | "
            f"{fmt_s(r['simulate_s'])} | {ratio} | {d['rate_e_hz']:.2f} / {d['rate_i_hz']:.2f} | "
            f"{d['cv_isi_e']:.2f} | {sustained} | {r['seed']} ({len(r.get('runs', [r]))}) | "
            f"{busy} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--sizes", default="4000,40000",
                        help="network sizes, comma-separated, k and M allowed (default 4000,40000)")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--indegree", type=int, default=80,
                        help="synapses per neuron: 80 (COBA) or 1000 (weights scaled by 80/1000)")
    parser.add_argument("--t-stop", type=float, default=1000.0, help="simulated time [ms]")
    parser.add_argument("--seed", type=int, default=2, help="seed of every simulator")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="run each case K times (seeds SEED .. SEED + K - 1) and keep the "
                             "fastest run that stayed active (default 1)")
    parser.add_argument("--peers", default="brian2,nest", help="peers to run, comma-separated")
    parser.add_argument("--skip", type=parse_skip, action="append", default=[],
                        metavar="PEER[:SIZE[:THREADS]]",
                        help="skip runs, e.g. nest:400000 (repeatable); recorded in --out")
    parser.add_argument("--quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each run, wait up to SECONDS until other processes keep "
                             "less than half a CPU busy (shared machines; default: do not wait)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds before one run is given up (default 3600)")
    parser.add_argument("--venv", type=pathlib.Path, default=REPO / "target" / "compare-venv",
                        help="virtual environment of the peers (created if missing)")
    parser.add_argument("--lifsim", type=pathlib.Path, default=None,
                        help="lifsim binary (default: build it with cargo build --release)")
    parser.add_argument("--out", type=pathlib.Path, default=REPO / "target" / "compare.json",
                        help="where every result goes (JSON)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: runs per case must be 1 or more")
    sizes = sorted({parse_size(s) for s in args.sizes.split(",")})
    thread_counts = sorted({int(t) for t in args.threads.split(",")})
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p}: use {', '.join(PEERS)}")

    python = ensure_venv(args.venv) if peers else None
    binary = args.lifsim or build_lifsim()
    record = {
        "command": " ".join([sys.executable] + sys.argv),
        "machine": {"cpu": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "runs": [], "skipped": [], "failed": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        for threads in thread_counts:
            for sim in ["lifsim"] + peers:
                what = f"{sim} N={n:,} threads={threads}"
                if skipped(args.skip, sim, n, threads):
                    print(f"{what}: skipped (--skip)", flush=True)
                    record["skipped"].append({"simulator": sim, "n": n, "threads": threads})
                    continue
                runs = []
                for seed in range(args.seed, args.seed + args.repeat):
                    busy = wait_until_quiet(0.5, args.quiet) if args.quiet > 0 else busy_cpus()
                    load = load_average()
                    busy_text = "" if busy is None else f", other processes busy on {busy:.1f} CPUs"
                    print(f"{what} seed {seed} (load {load:.1f}{busy_text}) ...", end=" ",
                          flush=True)
                    try:
                        if sim == "lifsim":
                            r = run_lifsim(binary, n, threads, seed, args)
                        else:
                            r = run_peer(python, sim, n, threads, seed, args)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        print(f"failed: {e}", flush=True)
                        record["failed"].append({"simulator": sim, "n": n, "threads": threads,
                                                 "seed": seed, "reason": str(e)})
                        continue
                    r["load"] = load
                    r["busy_cpus"] = busy
                    # None: a run too short to tell (under 200 ms).
                    silent = " (fell silent)" if r["dynamics"]["self_sustained"] is False else ""
                    print(f"simulate {r['simulate_s']:.3f} s{silent}", flush=True)
                    runs.append(r)
                if not runs:
                    continue
                best = dict(fastest_sustained(runs))
                best["runs"] = [{"seed": r["seed"], "simulate_s": r["simulate_s"],
                                 "self_sustained": r["dynamics"]["self_sustained"],
                                 "busy_cpus": r["busy_cpus"]} for r in runs]
                record["runs"].append(best)
                args.out.write_text(json.dumps(record, indent=1) + "\n")
    args.out.write_text(json.dumps(record, indent=1) + "\n")

    print()
    seeds = (f"seed {args.seed}" if args.repeat <= 1 else
             f"seeds {args.seed}-{args.seed + args.repeat - 1}, the fastest run that stayed active "
             f"of each case")
    print(f"Scaled COBA, in-degree {args.indegree}, {args.t_stop:g} ms, dt 0.1 ms, {seeds}; "
          f"simulate s: the simulation loop only (NEST: nest.Simulate; Brian2: the compiled "
          f"program's run loop; lifsim: the run loop after a warm-up). vs lifsim: simulate s "
          f"divided by lifsim's at the same size and threads. busy: CPUs other processes kept "
          f"busy just before the run (timings with busy > 0.5 on a 2-core machine are suspect; "
          f"multi-threaded ones break down).")
    print()
    print(table(record["runs"]))
    for s in record["skipped"]:
        print(f"skipped: {s['simulator']} N={s['n']:,} threads={s['threads']}")
    for f in record["failed"]:
        print(f"failed: {f['simulator']} N={f['n']:,} threads={f['threads']} seed {f['seed']}: "
              f"{f['reason']}")
    print(f"\nall results: {args.out}")
    return 1 if record["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
