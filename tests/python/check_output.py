#!/usr/bin/env python3
"""Read a lifsim output file with h5py (and libsonata, if it imports) and print what they see.

Usage: check_output.py FILE

Checks the SONATA layout that docs/output.md describes (types, shapes, attributes, chunking),
exits 1 with a message on the first violation, and prints a JSON summary of the contents on
stdout for the tests to compare with what was written (NaN and infinities, which JSON lacks, as
the strings "nan", "inf" and "-inf"). Exits 2 if h5py or numpy is not installed
(`pip install h5py numpy libsonata`).
"""

import json
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"h5py/numpy not available: {e}", file=sys.stderr)
    sys.exit(2)

ROOT_TYPES = {
    "magic": "uint32",
    "version": "uint32",
    "lifsim_version": "str",
    "config": "str",
    "config_path": "str",
    "seed": "uint64",
    "dt": "float64",
    "t_stop": "float64",
    "t_reached": "float64",
    "backend": "str",
    "command_line": "str",
    "completed": "uint8",
    "status": "str",
}


class LayoutError(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise LayoutError(message)


def attr_type(obj, name):
    dtype = obj.attrs.get_id(name).dtype
    if h5py.check_string_dtype(dtype) is not None:
        return "str"
    return str(dtype)


def plain(value):
    """Attribute value as a JSON-serialisable Python value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_safe(value):
    """`value` with NaN and infinities as the strings "nan", "inf" and "-inf" (JSON has none)."""
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def check_extendable(dataset, dtype, ndim):
    name = dataset.name
    expect(str(dataset.dtype) == dtype, f"{name} is {dataset.dtype}, expected {dtype}")
    expect(dataset.ndim == ndim, f"{name} has {dataset.ndim} dimensions, expected {ndim}")
    expect(dataset.chunks is not None, f"{name} is not chunked")
    expect(dataset.maxshape[0] is None, f"{name} cannot grow along its first axis")


def check_h5py(path):
    out = {"h5py": h5py.__version__}
    with h5py.File(path, "r") as f:
        for name, expected in ROOT_TYPES.items():
            expect(name in f.attrs, f"root attribute {name} is missing")
            actual = attr_type(f, name)
            expect(actual == expected, f"root attribute {name} is {actual}, expected {expected}")
        out["root"] = {name: plain(f.attrs[name]) for name in ROOT_TYPES}
        expect(f.attrs["magic"] == 0x0A7A, "magic is not SONATA's 0x0A7A")

        spikes = {}
        for population, group in f["spikes"].items():
            sorting = h5py.check_enum_dtype(group.attrs.get_id("sorting").dtype)
            expect(sorting is not None, f"/spikes/{population} sorting is not an enum")
            by_value = {value: key for key, value in sorting.items()}
            timestamps, node_ids = group["timestamps"], group["node_ids"]
            check_extendable(timestamps, "float64", 1)
            check_extendable(node_ids, "uint64", 1)
            expect(timestamps.shape == node_ids.shape, f"/spikes/{population}: lengths differ")
            t = timestamps[()]
            expect(bool(np.all(np.diff(t) >= 0)), f"/spikes/{population} is not sorted by time")
            spikes[population] = {
                "sorting": by_value[int(group.attrs["sorting"])],
                "sorting_members": sorting,
                "units": plain(timestamps.attrs["units"]),
                "n_nodes": int(group.attrs["n_nodes"]),
                "timestamps": t.tolist(),
                "node_ids": node_ids[()].tolist(),
            }
        out["spikes"] = spikes

        reports = {}
        for population, population_group in f["report"].items():
            for variable, group in population_group.items():
                name = f"{population}/{variable}"
                data, mapping = group["data"], group["mapping"]
                check_extendable(data, "float32", 2)
                node_ids = mapping["node_ids"]
                expect(str(node_ids.dtype) == "uint64", f"{name} node_ids is {node_ids.dtype}")
                pointers = mapping["index_pointers"]
                expect(str(pointers.dtype) == "uint64", f"{name} index_pointers: {pointers.dtype}")
                elements = mapping["element_ids"]
                expect(str(elements.dtype) == "uint32", f"{name} element_ids: {elements.dtype}")
                expect(pointers.shape == (node_ids.shape[0] + 1,), f"{name}: index_pointers size")
                expect(elements.shape[0] == data.shape[1], f"{name}: element_ids size")
                time = mapping["time"]
                expect(time.shape == (3,), f"{name}: time has shape {time.shape}")
                reports[name] = {
                    "units": plain(data.attrs["units"]),
                    "shape": list(data.shape),
                    "data": data[()].tolist(),
                    "node_ids": node_ids[()].tolist(),
                    "index_pointers": pointers[()].tolist(),
                    "element_ids": elements[()].tolist(),
                    "time": time[()].tolist(),
                    "time_units": plain(time.attrs["units"]),
                }
        out["reports"] = reports
    return out


def check_libsonata(path):
    try:
        import libsonata
    except ImportError as e:
        return {"available": False, "reason": str(e)}
    out = {"available": True, "spikes": {}, "reports": {}}
    reader = libsonata.SpikeReader(path)
    for population in sorted(reader.get_population_names()):
        spikes = reader[population]
        out["spikes"][population] = {
            "sorting": spikes.sorting,
            "spikes": [[int(node), float(t)] for node, t in spikes.get()],
        }
    # Our reports sit one level deeper than SONATA's (one group per variable), so a reader opens
    # the population "<population>/<variable>".
    with h5py.File(path, "r") as f:
        names = [f"{p}/{v}" for p, group in f["report"].items() for v in group]
    reports = libsonata.ElementReportReader(path)
    for name in names:
        report = reports[name]
        frame = report.get()
        out["reports"][name] = {
            "times": list(report.times),
            "frame_times": [float(t) for t in frame.times],
            "time_units": report.time_units,
            "data_units": report.data_units,
            "ids": [list(map(int, pair)) for pair in frame.ids],
            "data": np.asarray(frame.data).tolist(),
        }
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    path = sys.argv[1]
    try:
        out = check_h5py(path)
    except LayoutError as e:
        print(f"{path}: {e}", file=sys.stderr)
        sys.exit(1)
    out["libsonata"] = check_libsonata(path)
    json.dump(json_safe(out), sys.stdout, indent=1, allow_nan=False)


if __name__ == "__main__":
    main()
