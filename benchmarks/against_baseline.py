"""spectrakit against an earlier checkout of itself: did a refactor slow a slider move or a path?

Times, in child processes that alternate between this checkout and ``--baseline`` (another
checkout, e.g. ``git worktree add /tmp/before <commit>``), what a user waits for on the
three live capabilities, each the median of ``--runs`` runs after a warm-up (a slider-move
run averages 50 moves, 10 for the image; a path run is one call):

* filtering: ``RegularizationSession.update(reg=...)`` (a slider move) and
  ``spectrakit.regularize`` over 201 reg values (the path), shaw(n=400);
* fourier: ``SpectrumSession.update(reg=...)`` on a 512 x 512 image and
  ``spectrakit.smooth`` over 41 reg values on 64 signals of 4096 samples;
* graphs: ``GraphFilterSession.update(reg=...)`` and its path over 201 reg values
  (a fresh session each time: the path is cached), kNN graph of 600 points.

The rounds interleave (baseline, this, baseline, this, ...) so that a change in the
machine's load falls on both; threads are fixed with ``--threads``. Prints the medians,
the ratio this / baseline and whether the answers agree (max relative difference).

    python benchmarks/against_baseline.py --baseline /tmp/before --rounds 3 --runs 20
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# Runs in a child with PYTHONPATH set to one checkout; prints one JSON line.
CHILD = r"""
import json, statistics, sys, time
import numpy as np, torch, xarray as xr
torch.set_num_threads(int(sys.argv[1]))
runs = int(sys.argv[2])
import spectrakit
from spectrakit import tuning

def median_s(fn, calls=1):
    # a run is `calls` calls (a slider move is sub-millisecond: one call is mostly timer and
    # scheduler noise); the time per call, median over the runs
    for _ in range(calls):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return statistics.median(times)

out, answers = {}, {}
# filtering
ds = spectrakit.datasets.shaw(400, noise=1e-3, seed=0)
sess = tuning.RegularizationSession.from_problem(ds, device="cpu")
regs = iter(np.geomspace(1e-8, 1e-1, 10_000))
out["filtering update"] = median_s(lambda: sess.update(reg=float(next(regs))), calls=50)
grid = np.logspace(-12, 1, 201)
out["filtering path"] = median_s(lambda: spectrakit.regularize(ds["A"], ds["b"], reg=grid, device="cpu"))
answers["filtering"] = sess.update(reg=1e-4)["x"].values
# fourier
rng = np.random.default_rng(0)
img = xr.DataArray(rng.standard_normal((512, 512)), dims=("y", "x"),
                   coords={"y": np.arange(512.0), "x": np.arange(512.0)})
fs = tuning.SpectrumSession(img, ("y", "x"), sobolev=1.0, device="cpu")
regs = iter(np.geomspace(1e-3, 1e1, 10_000))
out["fourier update"] = median_s(lambda: fs.update(reg=float(next(regs))), calls=10)
sig = xr.DataArray(rng.standard_normal((64, 4096)), dims=("ch", "time"), coords={"time": np.arange(4096) * 0.01})
fgrid = np.logspace(-6, 2, 41)
out["fourier path"] = median_s(lambda: spectrakit.smooth(sig, "time", reg=fgrid, device="cpu"))
answers["fourier"] = fs.update(reg=0.1)["estimate"].values
# graphs
X = rng.uniform(size=(600, 2))
clean = np.sin(3 * X[:, 0]) + X[:, 1]
y = clean + 0.3 * rng.standard_normal(600)
gs = tuning.GraphFilterSession(X, y, clean=clean, k=10, device="cpu")
regs = iter(np.geomspace(1e-2, 1e1, 10_000))
out["graphs update"] = median_s(lambda: gs.update(reg=float(next(regs))), calls=50)
def graph_path():
    s = tuning.GraphFilterSession(X, y, clean=clean, k=10, reg=1.0, device="cpu")
    return s.path
out["graphs session + path"] = median_s(graph_path)
answers["graphs"] = gs.update(reg=0.5)["estimate"].values
np.savez(sys.argv[3], **answers)
print(json.dumps(out))
"""


def run_child(checkout: Path, threads: int, runs: int, answers: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(runs), str(answers)],
                          env=env, capture_output=True, text=True, cwd="/", check=False)
    if proc.returncode:
        raise SystemExit(f"the child for {checkout} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout of spectrakit")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (the median over rounds is kept)")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=HERE / "benchmarks" / "results")
    args = parser.parse_args()
    import numpy as np

    args.out.mkdir(parents=True, exist_ok=True)
    times: dict[str, dict[str, list]] = {"baseline": {}, "this": {}}
    for r in range(args.rounds):
        for label, checkout in (("baseline", args.baseline), ("this", HERE)):
            got = run_child(checkout, args.threads, args.runs, args.out / f"against_{label}.npz")
            for name, t in got.items():
                times[label].setdefault(name, []).append(t)
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    base = np.load(args.out / "against_baseline.npz")
    this = np.load(args.out / "against_this.npz")
    print(f"\nmedian of {args.runs} runs, median over {args.rounds} interleaved rounds, {args.threads} thread(s)")
    print(f"{'case':<24}{'baseline ms':>13}{'this ms':>10}{'this/baseline':>15}")
    summary = {}
    for name in times["this"]:
        b, t = float(np.median(times["baseline"][name])), float(np.median(times["this"][name]))
        summary[name] = {"baseline_s": b, "this_s": t, "ratio": t / b}
        print(f"{name:<24}{1e3 * b:>13.3f}{1e3 * t:>10.3f}{t / b:>15.3f}")
    for key in this.files:
        diff = float(np.max(np.abs(this[key] - base[key])) / max(float(np.max(np.abs(base[key]))), 1e-300))
        summary[f"{key} answers max rel diff"] = diff
        print(f"{key}: answers agree to max rel diff {diff:.2e}")
    (args.out / "against_baseline.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
