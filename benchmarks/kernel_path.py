"""Kernel ridge path: spectrakit against a scikit-learn KernelRidge refit loop.

spectrakit decomposes the kernel once (``eigh``) and then computes, for every ``reg`` of
the grid in one batched step, the dual coefficients, the fitted values, the predictions
at the test points and every criterion (GCV, leave-one-out, L-curve curvature, norms):
``spectrakit.core.curves.kernel_path``. The peer is what a user writes without it: one
``KernelRidge(alpha=reg, kernel="rbf", gamma=...)`` fit and ``predict`` per ``reg``.

Sizes: n = 3000 (the whole refit loop is timed) and n = 10000 (the loop is timed on a few
``reg`` values, the smallest, a middle and the largest of the grid, and extrapolated to
the whole grid: labelled "extrapolated" everywhere). ``--quick``: n = 300 and 1000.

Run ``python benchmarks/kernel_path.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch

from _common import environment as base_environment
from _common import fmt_s, print_columns, say, spectrakit, synchronize

from spectrakit.core import curves as core_curves  # noqa: E402  (after _common's path set-up)
from spectrakit.core import filtering as core_filtering  # noqa: E402

SIZES = {"full": [3000, 10000], "quick": [300, 1000]}
N_REG = {"full": 100, "quick": 20}
N_TEST = {"full": 1000, "quick": 200}
FULL_LOOP_UP_TO = 5000  # above this n the refit loop is timed on LOOP_SAMPLE reg values
LOOP_SAMPLE = 3
TARGET_RATIO = 10.0  # KernelRidge loop / spectrakit at n = 3000
TOLERANCE = {"float64": 1e-8, "float32": 1e-3}  # predictions, max rel diff


def timed(fn, *, repeats: int, warmup: int, device: str = "cpu"):
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; (last output, stats)."""
    out = None
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return out, {"best_s": min(times), "median_s": statistics.median(times), "all_s": times}


def max_rel_diff(ours, ref) -> float:
    """Largest over the grid of ``max|ours - ref| / max|ref|`` along the last axis."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    num = np.abs(ours - ref).max(axis=-1)
    den = np.abs(ref).max(axis=-1)
    return float(np.max(num / np.where(den > 0, den, 1.0)))


def kernel_data(n: int, n_test: int, d: int, seed: int):
    """Points uniform in [0,1]^d, a smooth target with 5 % noise; gamma = 1/(d var)
    (scikit-learn's ``gamma="scale"`` rule)."""
    rng = np.random.default_rng(seed)
    X, X_test = rng.uniform(size=(n, d)), rng.uniform(size=(n_test, d))
    gamma = 1.0 / (d * X.var())

    def f(P):
        return np.sin(2 * np.pi * P[:, 0]) + np.cos(np.pi * P[:, 1:].sum(1))

    y = f(X) + 0.05 * np.linalg.norm(f(X)) / np.sqrt(n) * rng.standard_normal(n)
    return X, X_test, y, gamma


def spectrakit_path(X, X_test, y, gamma, reg, device, dtype):
    """Everything the user waits for: tensors on the device, both kernels, one eigh, the
    whole path with predictions and every criterion, results back as numpy. The stages
    are timed inside the same run (a synchronize between them, which costs nothing on
    the CPU): (predictions, dual coefficients, criteria, split times)."""
    t0 = time.perf_counter()
    Xt = torch.as_tensor(X, device=device, dtype=dtype)
    Xs = torch.as_tensor(X_test, device=device, dtype=dtype)
    K = core_curves.rbf_kernel(Xt, gamma=gamma)
    K_test = core_curves.rbf_kernel(Xs, Xt, gamma=gamma)
    synchronize(device)
    t1 = time.perf_counter()
    basis = core_filtering.kernel_basis(K)  # what kernel_path(K, ...) does
    synchronize(device)
    t2 = time.perf_counter()
    yt = torch.as_tensor(y, device=device, dtype=dtype)
    path = core_curves.kernel_path(None, yt, reg, K_test=K_test, basis=basis)
    out = (path.predictions.cpu().numpy(), path.dual_coef.cpu().numpy(),
           {k: v.cpu().numpy() for k, v in path.criteria.items()})
    t3 = time.perf_counter()
    return (*out, {"kernels_s": t1 - t0, "eigh_s": t2 - t1, "path_s": t3 - t2})


def sklearn_loop(X, X_test, y, gamma, regs):
    from sklearn.kernel_ridge import KernelRidge

    preds, duals, times = [], [], []
    for a in regs:
        t0 = time.perf_counter()
        est = KernelRidge(alpha=a, kernel="rbf", gamma=gamma).fit(X, y)
        preds.append(est.predict(X_test))
        times.append(time.perf_counter() - t0)
        duals.append(est.dual_coef_)
    return np.stack(preds), np.stack(duals), times


def sklearn_precomputed_loop(X, X_test, y, gamma, regs):
    """Reference: the kernels computed once, one Cholesky solve per reg."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.metrics.pairwise import rbf_kernel

    t0 = time.perf_counter()
    K, K_test = rbf_kernel(X, gamma=gamma), rbf_kernel(X_test, X, gamma=gamma)
    t_kernels = time.perf_counter() - t0
    preds, times = [], []
    for a in regs:
        t0 = time.perf_counter()
        preds.append(KernelRidge(alpha=a, kernel="precomputed").fit(K, y).predict(K_test))
        times.append(time.perf_counter() - t0)
    return np.stack(preds), t_kernels, times


def run_size(args, n: int, n_reg: int, n_test: int) -> dict:
    X, X_test, y, gamma = kernel_data(n, n_test, args.d, args.seed)
    reg = np.logspace(-5, 2, n_reg)
    dtype = getattr(torch, args.dtype)
    full_loop = n <= FULL_LOOP_UP_TO or args.full_loop
    repeats = args.repeats if n <= FULL_LOOP_UP_TO else 1
    say(f"[n={n}] {n} points in [0,1]^{args.d}, {n_test} test points, RBF gamma={gamma:.3g}, "
        f"{n_reg} reg in [1e-5, 1e2]; spectrakit on {args.device}/{args.dtype}")

    # warm-up at a small size (torch's and LAPACK's first calls), then the timed runs
    small = kernel_data(200, 20, args.d, args.seed)
    spectrakit_path(*small, reg[:3], args.device, dtype)
    runs = []

    def ours():
        out = spectrakit_path(X, X_test, y, gamma, reg, args.device, dtype)
        runs.append(out[3])
        return out

    (preds, dual, crit, _), t_ours = timed(ours, repeats=repeats, warmup=0, device=args.device)
    split = runs[int(np.argmin(t_ours["all_s"]))]  # the stages of the best run
    say(f"  spectrakit kernel_path (kernels + eigh + predictions + all criteria): {fmt_s(t_ours['best_s'])} "
        f"(best of {repeats}, median {fmt_s(t_ours['median_s'])})")
    say(f"    best run: kernels {fmt_s(split['kernels_s'])}, eigh {fmt_s(split['eigh_s'])}, "
        f"path of {n_reg} reg with predictions and criteria {fmt_s(split['path_s'])}")

    sklearn_loop(*small[:3], small[3], reg[:2])  # warm-up
    if full_loop:
        idx = np.arange(n_reg)
    else:
        idx = np.unique(np.array([0, n_reg // 2, n_reg - 1])[:LOOP_SAMPLE])
    ref_preds, ref_dual, fit_times = sklearn_loop(X, X_test, y, gamma, reg[idx])
    loop_measured = float(sum(fit_times))
    loop_total = loop_measured if full_loop else float(np.median(fit_times)) * n_reg
    # the conservative ratio: the fastest single fit times the grid size (what the loop
    # would cost on a machine with no other work) against spectrakit's best run
    loop_floor = float(min(fit_times)) * n_reg
    label = "measured" if full_loop else f"extrapolated from {len(idx)} fits (median {fmt_s(np.median(fit_times))} each)"
    d_pred = max_rel_diff(preds[idx], ref_preds)
    d_dual = max_rel_diff(dual[idx], ref_dual)
    ratio = loop_total / t_ours["best_s"]
    ratio_floor = loop_floor / t_ours["best_s"]
    say(f"  KernelRidge(alpha, kernel='rbf') fit + predict x{n_reg}: {fmt_s(loop_total)} ({label})   "
        f"ratio {ratio:.1f}x   predictions max rel diff {d_pred:.2e}, dual_coef {d_dual:.2e}")
    say(f"    fastest fit {fmt_s(min(fit_times))}, median {fmt_s(float(np.median(fit_times)))}; "
        f"conservative ratio (fastest fit x {n_reg} / spectrakit best) {ratio_floor:.1f}x")
    row = {
        "n": n, "n_test": n_test, "d": args.d, "n_reg": n_reg, "gamma": gamma,
        "times": {"spectrakit": t_ours, "split": split, "KernelRidge loop": loop_total,
                  "KernelRidge fits measured": fit_times},
        "loop": "measured" if full_loop else "extrapolated",
        "loop_fits_measured": int(len(idx)),
        "ratio": ratio,
        "ratio_conservative": ratio_floor,
        "agreement": {"predictions_max_rel_diff": d_pred, "dual_coef_max_rel_diff": d_dual,
                      "tolerance": TOLERANCE[args.dtype], "agree": bool(d_pred <= TOLERANCE[args.dtype]),
                      "reg_compared": reg[idx].tolist()},
        "criteria_finite": {k: bool(np.isfinite(v).any()) for k, v in crit.items()},
    }
    if args.precomputed and full_loop:
        pre_preds, t_kern, pre_times = sklearn_precomputed_loop(X, X_test, y, gamma, reg)
        t_pre = t_kern + float(sum(pre_times))
        d_pre = max_rel_diff(preds, pre_preds)
        say(f"  reference: KernelRidge(kernel='precomputed') loop (kernels once, {fmt_s(t_kern)}): {fmt_s(t_pre)}   "
            f"ratio {t_pre / t_ours['best_s']:.1f}x (conservative "
            f"{(t_kern + min(pre_times) * n_reg) / t_ours['best_s']:.1f}x)   predictions max rel diff {d_pre:.2e}")
        row["times"]["KernelRidge precomputed loop"] = t_pre
        row["times"]["KernelRidge precomputed fits"] = pre_times
        row["ratio_precomputed"] = t_pre / t_ours["best_s"]
        row["ratio_precomputed_conservative"] = (t_kern + min(pre_times) * n_reg) / t_ours["best_s"]
        row["agreement"]["precomputed_predictions_max_rel_diff"] = d_pre
    if n == 3000 and args.dtype == "float64":
        row["target"] = {"ratio": f">= {TARGET_RATIO}x", "met": bool(ratio >= TARGET_RATIO),
                         "met_conservative": bool(ratio_floor >= TARGET_RATIO),
                         "agreement": "<= 1e-8", "agree": row["agreement"]["agree"]}
    return row


def print_table(rows: list[dict]) -> None:
    lines = [("n", "spectrakit (eigh share)", "KernelRidge loop", "ratio (conservative)", "precomputed loop",
              "target", "predictions max rel diff")]
    for r in rows:
        t = r["times"]
        ours = f"{fmt_s(t['spectrakit']['best_s'])} ({t['split']['eigh_s'] / t['spectrakit']['best_s']:.0%})"
        loop = fmt_s(t["KernelRidge loop"]) + ("" if r["loop"] == "measured" else " (extrapolated)")
        pre = (f"{fmt_s(t['KernelRidge precomputed loop'])} ({r['ratio_precomputed']:.1f}x)"
               if "KernelRidge precomputed loop" in t else "")
        target = ""
        if "target" in r:
            target = f">= 10x: {'met' if r['target']['met_conservative'] else 'MISSED'}"
        agree = f"{'ok' if r['agreement']['agree'] else 'NO'} ({r['agreement']['predictions_max_rel_diff']:.0e})"
        lines.append((r["n"], ours, loop, f"{r['ratio']:.1f}x ({r['ratio_conservative']:.1f}x)", pre, target, agree))
    print_columns(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where spectrakit computes (scikit-learn always runs on the CPU)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="spectrakit's precision (scikit-learn always float64)")
    parser.add_argument("--quick", action="store_true", help="n = 300 and 1000, 20 reg values: seconds")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                        help="training sizes (default 3000 10000; 300 1000 with --quick)")
    parser.add_argument("--n-reg", type=int, default=None, help="reg values (default 100; 20 with --quick)")
    parser.add_argument("--n-test", type=int, default=None, help="test points (default 1000; 200 with --quick)")
    parser.add_argument("-d", type=int, default=5, help="input dimension (default 5)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed spectrakit runs (best reported) for n <= 5000; 1 above")
    parser.add_argument("--full-loop", action="store_true",
                        help="time the whole refit loop at every size (n = 10000: ~15 min on 2 cores)")
    parser.add_argument("--no-precomputed", dest="precomputed", action="store_false",
                        help="skip the reference loop with kernel='precomputed'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder for kernel_path.json (kernel_path_quick.json with --quick)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch.cuda.is_available() is False on this machine.", file=sys.stderr)
        return 2
    mode = "quick" if args.quick else "full"
    sizes = args.sizes or SIZES[mode]
    n_reg = args.n_reg or N_REG[mode]
    n_test = args.n_test or N_TEST[mode]
    env = base_environment(args, **{"scikit-learn": sklearn.__version__})
    say(f"spectrakit {env['versions']['spectrakit']}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; {env['cpu_count']} CPUs, torch threads {env['torch_threads']}; "
        f"device {args.device}{' (' + env['gpu'] + ')' if 'gpu' in env else ''}, dtype {args.dtype}"
        f"{', QUICK sizes' if args.quick else ''}")
    say("timing: time.perf_counter; spectrakit best of --repeats after a warm-up at a small size; "
        "the refit loop summed over its fits, once")
    say()
    t_start = time.perf_counter()
    rows = []
    for n in sizes:
        rows.append(run_size(args, n, n_reg, n_test))
        say()
    print_table(rows)
    env["wall_s"] = time.perf_counter() - t_start
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
        say(f"load average (1, 5, 15 min) at start {tuple(round(v, 2) for v in env['load_average_start'])}, "
            f"at end {tuple(round(v, 2) for v in env['load_average_end'])} on {env['cpu_count']} CPUs; "
            f"wall time {fmt_s(env['wall_s'])}")
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / ("kernel_path_quick.json" if args.quick else "kernel_path.json")
    out_file.write_text(json.dumps({"environment": env, "sizes": rows}, indent=2))
    say(f"\nwrote {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
