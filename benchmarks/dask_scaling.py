"""Dask scaling: one per-pixel spectrakit operation on a cube, eager against dask.

The data: a (y, x, time) DataArray, float64, seeded Gaussian noise plus a sine, evenly
spaced time. The operation maps over the pixels (the core dim ``time`` stays whole):
``spectrakit.smooth(da, "time", reg=...)`` (Sobolev H^1 smoothing with every criterion;
default) or ``da.spectral.power("time", method="welch")``. Each configuration computes
the same result; each round calls every configuration once (interleaved, so that other
work on the machine hits them alike), after one untimed warm-up round; the table shows
the median and best of the rounds, the speed-up over eager with one thread and whether
the answer agrees with the eager one (max |a - b| / max |b| <= 1e-10).

Configurations
--------------
eager, torch N threads    numpy in, numpy-backed result; torch.set_num_threads(N).
dask threads (2)          the cube chunked along y, dask's threaded scheduler with 2
                          threads, torch 1 thread each (torch releases the GIL).
distributed K x 1         a dask.distributed LocalCluster of K worker processes with one
                          thread each (torch 1 thread: the nanny sets OMP_NUM_THREADS=1
                          and each worker calls torch.set_num_threads(1)) on loopback.
                          The chunked cube is persisted on the workers before timing, as
                          data read from storage would be; the time covers building the
                          graph, the computation and gathering the result back.

The machine's core count bounds the scaling: on 2 cores, 2 workers can at most halve the
time of 1, and eager with 2 torch threads is already parallel (FFTs and element-wise
work), so dask's gain over eager is the per-block overhead's price, not a speed-up.

Run ``python benchmarks/dask_scaling.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from _common import environment, fmt_s, print_columns, say, spectrakit

TOLERANCE = 1e-10


def make_cube(ny: int, nx: int, nt: int, seed: int = 0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    t = 0.01 * np.arange(nt)
    data = rng.standard_normal((ny, nx, nt)) + np.sin(2 * np.pi * 3.0 * t)
    return xr.DataArray(data, dims=("y", "x", "time"), coords={"time": t}, name="field")


def operation(name: str, nperseg: int):
    """``f(da) -> DataArray`` computing ``name`` per pixel along ``time`` on the CPU."""
    if name == "smooth":
        return lambda da: spectrakit.smooth(da, "time", reg=1e-3, sobolev=1.0, device="cpu")["estimate"]
    return lambda da: da.spectral.power("time", method="welch", nperseg=nperseg, device="cpu")


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def set_torch_threads(n: int) -> None:
    torch.set_num_threads(n)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=("smooth", "power"), default="smooth", help="the per-pixel operation")
    parser.add_argument("--size", type=int, nargs=3, metavar=("NY", "NX", "NT"), default=None,
                        help="cube size (default 128 128 2048: 16384 series; 32 32 512 with --quick)")
    parser.add_argument("--chunk", type=int, default=None, help="rows of y per dask chunk (default NY/8)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="cluster sizes (1 thread each)")
    parser.add_argument("--repeats", type=int, default=3, help="timed interleaved rounds after one warm-up")
    parser.add_argument("--nperseg", type=int, default=256, help="Welch segment length (--op power)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test in seconds")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder for dask_scaling[_quick].json (default benchmarks/results/)")
    args = parser.parse_args(argv)
    args.device = "cpu"
    import dask
    import distributed

    ny, nx, nt = args.size or ((32, 32, 512) if args.quick else (128, 128, 2048))
    chunk = args.chunk or max(ny // 8, 1)
    cores = os.cpu_count() or 1
    fn = operation(args.op, args.nperseg)
    cube = make_cube(ny, nx, nt)
    n_pixels = ny * nx
    say(f"dask scaling: {args.op} per pixel of a ({ny}, {nx}, {nt}) float64 cube ({cube.nbytes / 1e6:.0f} MB), "
        f"chunks of {chunk} rows of y ({-(-ny // chunk)} blocks), {cores} CPU core(s); "
        f"{args.repeats} interleaved rounds after a warm-up")
    if hasattr(os, "getloadavg"):
        say(f"load average at start: {os.getloadavg()}")

    clusters = {}
    try:
        for k in args.workers:
            cluster = distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True, host="127.0.0.1",
                                               dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster, set_as_default=False)
            client.run(set_torch_threads, 1)
            lazy = client.persist(cube.chunk({"y": chunk}))  # the data on the workers, as read from storage
            with client.as_current():
                distributed.wait(lazy)
            clusters[k] = (cluster, client, lazy)

        def eager(threads):
            def run():
                set_torch_threads(threads)
                return fn(cube).values
            return run

        def dask_threads():
            set_torch_threads(1)
            return fn(cube.chunk({"y": chunk})).compute(scheduler="threads", num_workers=2).values

        def on_cluster(k):
            _, client, lazy = clusters[k]
            return lambda: client.compute(fn(lazy), sync=True).values

        configs = {f"eager, torch {n} thread{'s' if n > 1 else ''}": eager(n) for n in sorted({1, min(2, cores)})}
        configs["dask threads (2), torch 1 thread"] = dask_threads
        for k in args.workers:
            configs[f"distributed {k} worker{'s' if k > 1 else ''} x 1 thread"] = on_cluster(k)

        old_threads = torch.get_num_threads()
        times = {name: [] for name in configs}
        outputs = {}
        try:
            for round_ in range(args.repeats + 1):  # round 0: the warm-up, untimed
                for name, run in configs.items():
                    t0 = time.perf_counter()
                    out = run()
                    dt = time.perf_counter() - t0
                    if round_ == 0:
                        outputs[name] = out
                    else:
                        times[name].append(dt)
        finally:
            torch.set_num_threads(old_threads)
    finally:
        for cluster, client, _ in clusters.values():
            client.close()
            cluster.close()

    ref_name = next(iter(configs))
    ref = outputs[ref_name]
    base = statistics.median(times[ref_name])
    one_worker = next((n for n in configs if n.startswith("distributed 1 ")), None)
    lines = [("configuration", "median", "best", "per pixel", f"vs {ref_name}", "vs 1 worker", "agree (max rel diff)")]
    rows = {}
    for name in configs:
        med, best = statistics.median(times[name]), min(times[name])
        diff = rel_diff(outputs[name], ref)
        vs_one = f"x{statistics.median(times[one_worker]) / med:.2f}" if one_worker and name.startswith("distributed") else ""
        lines.append((name, fmt_s(med), fmt_s(best), fmt_s(med / n_pixels), f"x{base / med:.2f}", vs_one,
                      f"{'ok' if diff <= TOLERANCE else 'NO'} ({diff:.0e})"))
        rows[name] = {"median_s": med, "best_s": best, "all_s": times[name], "speedup_vs_eager_1": base / med,
                      "max_rel_diff": diff, "agree": diff <= TOLERANCE}
    print_columns(lines)
    two, one = (f"distributed {k} worker{'s' if k > 1 else ''} x 1 thread" for k in (2, 1))
    if two in rows and one in rows:
        gain = rows[one]["median_s"] / rows[two]["median_s"]
        say(f"\n2 workers vs 1: x{gain:.2f} (at most x{min(2, cores)} on {cores} core(s); more workers than cores "
            "cannot help: the scaling stops at the core count)")

    env = environment(args, dask=dask.__version__, distributed=distributed.__version__, xarray=xr.__version__)
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
        say(f"load average at end: {os.getloadavg()}")
    summary = {"op": args.op, "size": [ny, nx, nt], "chunk_rows": chunk, "repeats": args.repeats,
               "results": rows, "environment": env}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"dask_scaling{'_quick' if args.quick else ''}.json"
    path.write_text(json.dumps(summary, indent=2))
    say(f"summary: {path}")


if __name__ == "__main__":
    main()
