"""Regularization paths: spectrakit against the tools users would pick instead.

Each case runs spectrakit and its peer on the same data in one process, prints both
times, the ratio and whether the results agree, and adds a row to a JSON summary.

Cases
-----
ridge_path      ``spectrakit.regularize`` (one SVD, every criterion over the grid) vs
                scikit-learn ``RidgeCV(store_cv_results=True)`` (its efficient LOO) and a
                ``Ridge(alpha)`` refit loop over the same grid.
kernel_path     ``spectrakit.regularize_kernel`` (one eigendecomposition) vs a
                ``KernelRidge(alpha, kernel="precomputed")`` refit loop.
update_latency  ``RegularizationSession.update(reg=...)`` (one slider move) vs one
                ``numpy.linalg.solve`` of the regularized normal equations.
gpu_path        (``--device cuda`` only) a large path: SVD and path timed separately,
                float64 and float32.

Run ``python benchmarks/regularization_path.py --help``; see benchmarks/README.md.
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

CASES = ("ridge_path", "kernel_path", "update_latency", "gpu_path")

# Sizes of the full benchmark and of the --quick smoke run.
SIZES = {
    "full": {
        "ridge_path": {"n": 5000, "p": 500, "n_reg": 100},
        "kernel_path": {"n": 3000, "d": 5, "n_reg": 100},
        "update_latency": {"n": 1000, "p": 1000, "n_calls": 200},
        "gpu_path": {"n": 50000, "p": 2000, "n_reg": 256, "check_n": 5000, "check_p": 500},
    },
    "quick": {
        "ridge_path": {"n": 500, "p": 50, "n_reg": 20},
        "kernel_path": {"n": 300, "d": 5, "n_reg": 20},
        "update_latency": {"n": 200, "p": 200, "n_calls": 50},
        "gpu_path": {"n": 5000, "p": 500, "n_reg": 64, "check_n": 1000, "check_p": 100},
    },
}

TARGETS = {  # speed-up (peer time / spectrakit time) or latency the case should reach
    "ridge_path": {"RidgeCV / spectrakit": 10.0, "Ridge loop / spectrakit": 30.0},
    "kernel_path": {"KernelRidge loop / spectrakit": 10.0},
    "update_latency": {"update median ms (cpu)": 5.0},
}

# Largest relative difference accepted as agreement, by the dtype spectrakit computes in
# (the peers always run in float64, the precision users trust).
TOLERANCE = {"float64": 1e-6, "float32": 1e-3}


# ------------------------------------------------------------------------------ helpers


def timed(fn, *, repeats: int, warmup: int, device: str = "cpu"):
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; (last output, stats)."""
    out = None
    for _ in range(warmup):
        out = fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return out, {"best_s": min(times), "median_s": statistics.median(times), "all_s": times}


def max_rel_diff(ours, ref, axis=-1) -> float:
    """Largest over the grid of ``max|ours - ref| / max|ref|`` along ``axis``.

    Scaling each grid point's error by that point's largest reference entry keeps
    near-zero entries from inflating the number (an entrywise relative difference would).
    """
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    num = np.abs(ours - ref).max(axis=axis)
    den = np.abs(ref).max(axis=axis)
    return float(np.max(num / np.where(den > 0, den, 1.0)))


def max_rel_diff_entrywise(ours, ref) -> float:
    """Largest ``|ours - ref| / |ref|`` over all entries (for positive scalars per reg)."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return float(np.max(np.abs(ours - ref) / np.abs(ref)))


def agreement(name: str, value: float, dtype: str) -> dict:
    tol = TOLERANCE[dtype]
    return {"what": name, "max_rel_diff": value, "tolerance": tol, "agree": bool(value <= tol)}


def ridge_data(n: int, p: int, seed: int, dtype=np.float64):
    """Gaussian features with a decaying spectrum (population eigenvalues k**-2, so the
    singular values fall by a factor ~p), a power-law target and 10 % noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(1, p + 1)
    X = rng.standard_normal((n, p)) * k**-1.0
    Q, _ = np.linalg.qr(rng.standard_normal((p, p)))  # rotate: no diagonal structure
    X = X @ Q.T
    w = Q @ (k**-1.0)
    signal = X @ w
    noise = rng.standard_normal(n)
    y = signal + 0.1 * np.linalg.norm(signal) / np.linalg.norm(noise) * noise
    return X.astype(dtype), y.astype(dtype)


def kernel_data(n: int, d: int, seed: int):
    """Points in the unit cube of R^d and a smooth target with 5 % noise; RBF kernel with
    gamma = 1 / (d * var(points)) (scikit-learn's ``gamma='scale'`` rule)."""
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(seed)
    P = rng.uniform(size=(n, d))
    gamma = 1.0 / (d * P.var())
    K = rbf_kernel(P, gamma=gamma)
    f = np.sin(2 * np.pi * P[:, 0]) + np.cos(np.pi * P[:, 1:].sum(1))
    y = f + 0.05 * np.linalg.norm(f) / np.sqrt(n) * rng.standard_normal(n)
    return K, y, gamma


# -------------------------------------------------------------------------------- cases


def case_ridge_path(args, size) -> dict:
    from sklearn.linear_model import Ridge, RidgeCV

    n, p, R = size["n"], size["p"], size["n_reg"]
    X, y = ridge_data(n, p, args.seed)
    reg = np.logspace(-4, 4, R)
    say(f"[ridge_path] n={n} samples, p={p} features, {R} reg values in [1e-4, 1e4], "
        f"spectrakit on {args.device}/{args.dtype}, peers in float64 on the CPU")

    def ours():
        return spectrakit.regularize(X, y, reg=reg, device=args.device, dtype=args.dtype)

    path, t_ours = timed(ours, repeats=args.repeats, warmup=1, device=args.device)
    loo_ours, x_ours = path["loo"].values, path["x"].transpose("reg", ...).values
    say(f"  spectrakit.regularize (SVD + x + all criteria + xarray): {fmt_s(t_ours['best_s'])} "
        f"(best of {args.repeats}, median {fmt_s(t_ours['median_s'])})")

    # peers: warm scikit-learn up on a small problem, then time the real one
    RidgeCV(alphas=reg[:3], fit_intercept=False).fit(X[:50, :10], y[:50])

    def ridgecv(mode=None):
        est = RidgeCV(alphas=reg, fit_intercept=False, store_cv_results=True, gcv_mode=mode)
        return est.fit(X, y)

    est, t_cv = timed(ridgecv, repeats=args.peer_repeats, warmup=0)
    loo_cv = est.cv_results_.mean(axis=0)  # (n_samples, n_alphas) squared LOO errors
    d_loo = max_rel_diff_entrywise(loo_ours, loo_cv)
    say(f"  RidgeCV(gcv_mode=auto -> 'cov' for n > p): {fmt_s(t_cv['best_s'])}   "
        f"ratio {t_cv['best_s'] / t_ours['best_s']:.1f}x   LOO max rel diff {d_loo:.2e}")

    est_svd, t_cv_svd = timed(lambda: ridgecv("svd"), repeats=args.peer_repeats, warmup=0)
    d_loo_svd = max_rel_diff_entrywise(loo_ours, est_svd.cv_results_.mean(axis=0))
    say(f"  RidgeCV(gcv_mode='svd') [reference, same one-SVD algorithm]: {fmt_s(t_cv_svd['best_s'])}   "
        f"ratio {t_cv_svd['best_s'] / t_ours['best_s']:.1f}x   LOO max rel diff {d_loo_svd:.2e}")

    def loop():
        return np.stack([Ridge(alpha=a, fit_intercept=False, solver="auto").fit(X, y).coef_ for a in reg])

    coef_loop, t_loop = timed(loop, repeats=args.peer_repeats, warmup=0)
    d_coef = max_rel_diff(x_ours, coef_loop)
    say(f"  Ridge(alpha) refit loop x{R}: {fmt_s(t_loop['best_s'])}   "
        f"ratio {t_loop['best_s'] / t_ours['best_s']:.1f}x   coef max rel diff {d_coef:.2e}")

    ratios = {
        "RidgeCV / spectrakit": t_cv["best_s"] / t_ours["best_s"],
        "Ridge loop / spectrakit": t_loop["best_s"] / t_ours["best_s"],
        "RidgeCV(svd) / spectrakit": t_cv_svd["best_s"] / t_ours["best_s"],
    }
    return {
        "case": "ridge_path",
        "sizes": {"n": n, "p": p, "n_reg": R},
        "times": {"spectrakit": t_ours, "RidgeCV": t_cv, "RidgeCV(svd)": t_cv_svd, "Ridge loop": t_loop},
        "ratios": ratios,
        "agreement": [
            agreement("loo vs RidgeCV cv_results_.mean(0)", d_loo, args.dtype),
            agreement("loo vs RidgeCV(svd) cv_results_.mean(0)", d_loo_svd, args.dtype),
            agreement("x vs Ridge(alpha).coef_", d_coef, args.dtype),
        ],
    }


def case_kernel_path(args, size) -> dict:
    from sklearn.kernel_ridge import KernelRidge

    n, d, R = size["n"], size["d"], size["n_reg"]
    K, y, gamma = kernel_data(n, d, args.seed)
    reg = np.logspace(-5, 2, R)
    say(f"[kernel_path] n={n} points in [0,1]^{d}, RBF gamma={gamma:.3g}, {R} reg values in [1e-5, 1e2], "
        f"spectrakit on {args.device}/{args.dtype}")

    def ours():
        return spectrakit.regularize_kernel(K, y, reg=reg, device=args.device, dtype=args.dtype)

    path, t_ours = timed(ours, repeats=args.repeats, warmup=1, device=args.device)
    dual_ours = path["x"].transpose("reg", ...).values
    say(f"  spectrakit.regularize_kernel (eigh + alpha + all criteria + xarray): {fmt_s(t_ours['best_s'])} "
        f"(best of {args.repeats}, median {fmt_s(t_ours['median_s'])})")

    KernelRidge(alpha=1.0, kernel="precomputed").fit(K[:50, :50], y[:50])  # warm-up

    def loop():
        return np.stack([KernelRidge(alpha=a, kernel="precomputed").fit(K, y).dual_coef_ for a in reg])

    dual_loop, t_loop = timed(loop, repeats=args.peer_repeats, warmup=0)
    d_dual = max_rel_diff(dual_ours, dual_loop)
    say(f"  KernelRidge(alpha) refit loop x{R}: {fmt_s(t_loop['best_s'])}   "
        f"ratio {t_loop['best_s'] / t_ours['best_s']:.1f}x   dual_coef max rel diff {d_dual:.2e}")
    return {
        "case": "kernel_path",
        "sizes": {"n": n, "d": d, "n_reg": R, "gamma": gamma},
        "times": {"spectrakit": t_ours, "KernelRidge loop": t_loop},
        "ratios": {"KernelRidge loop / spectrakit": t_loop["best_s"] / t_ours["best_s"]},
        "agreement": [agreement("x vs KernelRidge(alpha).dual_coef_", d_dual, args.dtype)],
    }


def case_update_latency(args, size) -> dict:
    from sklearn.linear_model import Ridge

    n, p, calls = size["n"], size["p"], size["n_calls"]
    X, y = ridge_data(n, p, args.seed)
    say(f"[update_latency] {n} x {p} problem, {calls} session.update(reg=...) calls, "
        f"spectrakit on {args.device}/{args.dtype}")

    t0 = time.perf_counter()
    session = spectrakit.RegularizationSession(X, y, reg=1.0, device=args.device, dtype=args.dtype)
    t_setup = time.perf_counter() - t0
    say(f"  session set-up (conversion + SVD, no path): {fmt_s(t_setup)}")

    rng = np.random.default_rng(args.seed)
    regs = 10.0 ** rng.uniform(-4, 4, calls)  # a slider dragged back and forth
    for r in regs[:5]:  # warm-up
        session.update(reg=float(r))
    times = []
    for r in regs:
        t0 = time.perf_counter()
        out = session.update(reg=float(r))
        times.append(time.perf_counter() - t0)
    times_ms = np.array(times) * 1e3
    median_ms, p95_ms = float(np.median(times_ms)), float(np.percentile(times_ms, 95))
    say(f"  session.update: median {median_ms:.2f} ms, p95 {p95_ms:.2f} ms, min {times_ms.min():.2f} ms")

    # agreement of the last update with a dense solve
    reg_last = float(regs[-1])
    G, Xty = X.T @ X, X.T @ y
    x_ref = np.linalg.solve(G + reg_last * np.eye(p), Xty)
    d_x = max_rel_diff(out["x"].values, x_ref)

    # what a non-spectral tool does per slider move: one solve of the normal equations
    def solve():
        return np.linalg.solve(G + reg_last * np.eye(p), Xty)

    _, t_solve = timed(solve, repeats=20, warmup=2)

    def ridge_fit():
        return Ridge(alpha=reg_last, fit_intercept=False).fit(X, y)

    _, t_ridge = timed(ridge_fit, repeats=5, warmup=1)
    say(f"  numpy.linalg.solve of (X^T X + reg I) x = X^T y (X^T X precomputed): "
        f"{fmt_s(t_solve['median_s'])} median of 20   Ridge(alpha).fit: {fmt_s(t_ridge['median_s'])} median of 5   "
        f"x max rel diff {d_x:.2e}")
    return {
        "case": "update_latency",
        "sizes": {"n": n, "p": p, "n_calls": calls},
        "times": {
            "session_setup_s": t_setup,
            "update_median_ms": median_ms,
            "update_p95_ms": p95_ms,
            "update_min_ms": float(times_ms.min()),
            "numpy_solve": t_solve,
            "Ridge fit": t_ridge,
        },
        "ratios": {
            "solve / update (median)": t_solve["median_s"] * 1e3 / median_ms,
            "Ridge fit / update (median)": t_ridge["median_s"] * 1e3 / median_ms,
        },
        "agreement": [agreement("x vs numpy.linalg.solve", d_x, args.dtype)],
    }


def case_gpu_path(args, size) -> dict:
    if args.device != "cuda":
        say("[gpu_path] skipped: needs --device cuda")
        return {"case": "gpu_path", "skipped": "needs --device cuda"}
    if not torch.cuda.is_available():
        say("[gpu_path] skipped: torch.cuda.is_available() is False")
        return {"case": "gpu_path", "skipped": "CUDA not available"}
    say(f"[gpu_path] on {torch.cuda.get_device_name(0)}")
    return gpu_path(args, size, torch.device("cuda"))


def gpu_path(args, size, dev: torch.device) -> dict:
    """The large path on ``dev``: SVD and path timed apart through spectrakit.core (one SVD
    per dtype keeps this to about a minute), float64 and float32; then float64 on ``dev``
    against the CPU end to end at a size the CPU does in a second."""
    from spectrakit.core import filtering as core
    from spectrakit.core import spectral

    n, p, R = size["n"], size["p"], size["n_reg"]
    say(f"  n={n}, p={p}, {R} reg values in [1e-4, 1e4], every criterion")

    # warm-up: CUDA context, cuSOLVER/cuBLAS handles and kernels, at a small size
    small = torch.randn(256, 64, dtype=torch.float64, device=dev)
    for dt in (torch.float64, torch.float32):
        spectrakit.regularize(small.to(dt), small[:, 0].to(dt), reg=np.logspace(-3, 3, 8))
    synchronize(dev.type)

    gen = torch.Generator(device=dev).manual_seed(args.seed)
    k = torch.arange(1, p + 1, dtype=torch.float64, device=dev)
    A64 = torch.randn(n, p, dtype=torch.float64, device=dev, generator=gen) * k**-1.0
    b64 = A64 @ k**-1.0 + 0.1 * torch.randn(n, dtype=torch.float64, device=dev, generator=gen)
    reg = np.logspace(-4, 4, R)
    results, out = {}, {}
    for name, dt in (("float64", torch.float64), ("float32", torch.float32)):
        A, b = A64.to(dt), b64.to(dt).reshape(1, -1)
        synchronize(dev.type)
        t0 = time.perf_counter()
        basis = core.svd_basis(A)
        synchronize(dev.type)
        t_svd = time.perf_counter() - t0

        def path_only():
            reg_t = torch.as_tensor(reg, dtype=dt, device=dev)
            f, _ = spectral.filter_factors(basis.s, reg_t, "tikhonov")
            beta = basis.coefficients(b)
            x = core.filtered_solution(basis, beta, f)
            crit = core.path_criteria(basis, b, reg_t, f, method="tikhonov", x=x)
            return x, crit

        (x, crit), t_path = timed(path_only, repeats=3, warmup=1, device=dev.type)
        out[name] = {"x": x[0].double().cpu().numpy(), "loo": crit["loo"][0].double().cpu().numpy()}
        results[name] = {"svd_s": t_svd, "path": t_path}
        say(f"  {name}: SVD {fmt_s(t_svd)}, path with every criterion {fmt_s(t_path['median_s'])} "
            f"(median of 3)")
        del basis, x, crit, A, b
        if dev.type == "cuda":
            torch.cuda.empty_cache()

    d32 = max_rel_diff(out["float32"]["x"], out["float64"]["x"])
    d32_loo = max_rel_diff_entrywise(out["float32"]["loo"], out["float64"]["loo"])
    say(f"  float32 vs float64: x max rel diff {d32:.2e}, loo max rel diff {d32_loo:.2e}")

    # float64 on the device vs the CPU, end to end through the public API
    cn, cp = size["check_n"], size["check_p"]
    Xc, yc = ridge_data(cn, cp, args.seed)
    reg_c = np.logspace(-4, 4, 100)
    spectrakit.regularize(Xc, yc, reg=reg_c, device=dev)  # warm-up at this size
    t0 = time.perf_counter()
    on_dev = spectrakit.regularize(Xc, yc, reg=reg_c, device=dev)
    t_dev = time.perf_counter() - t0
    t0 = time.perf_counter()
    cpu = spectrakit.regularize(Xc, yc, reg=reg_c, device="cpu")
    t_cpu = time.perf_counter() - t0
    d_x = max_rel_diff(on_dev["x"].values, cpu["x"].values)
    d_loo = max_rel_diff_entrywise(on_dev["loo"].values, cpu["loo"].values)
    say(f"  regularize float64 at {cn} x {cp}, 100 reg: {dev.type} {fmt_s(t_dev)}, cpu {fmt_s(t_cpu)}; "
        f"x max rel diff {d_x:.2e}, loo {d_loo:.2e}")
    results["check"] = {"regularize_device_s": t_dev, "regularize_cpu_s": t_cpu}
    return {
        "case": "gpu_path",
        "sizes": {"n": n, "p": p, "n_reg": R, "check_n": cn, "check_p": cp, "check_n_reg": 100},
        "times": results,
        "ratios": {
            "svd float64 / float32": results["float64"]["svd_s"] / results["float32"]["svd_s"],
            "check: cpu / device": t_cpu / t_dev,
        },
        "agreement": [
            agreement(f"x float64 {dev.type} vs cpu", d_x, "float64"),
            agreement(f"loo float64 {dev.type} vs cpu", d_loo, "float64"),
            {"what": "x float32 vs float64", "max_rel_diff": d32, "tolerance": None, "agree": None},
            {"what": "loo float32 vs float64", "max_rel_diff": d32_loo, "tolerance": None, "agree": None},
        ],
    }


RUNNERS = {
    "ridge_path": case_ridge_path,
    "kernel_path": case_kernel_path,
    "update_latency": case_update_latency,
    "gpu_path": case_gpu_path,
}


# ------------------------------------------------------------------------------ summary


def targets_met(row: dict, device: str) -> dict:
    out = {}
    for key, target in TARGETS.get(row["case"], {}).items():
        if key == "update median ms (cpu)":
            if device != "cpu":
                continue
            value = row["times"]["update_median_ms"]
            out[key] = {"target": f"< {target} ms", "value": value, "met": value < target}
        else:
            value = row["ratios"][key]
            out[key] = {"target": f">= {target}x", "value": value, "met": value >= target}
    return out


def print_table(rows: list[dict]) -> None:
    lines = [("case", "spectrakit", "peer", "peer time", "ratio", "target", "agree (max rel diff)")]
    for row in rows:
        case = row["case"]
        if "skipped" in row:
            lines.append((case, "skipped", row["skipped"], "", "", "", ""))
            continue
        agree = " ".join(f"{'ok' if a['agree'] else ('--' if a['agree'] is None else 'NO')}({a['max_rel_diff']:.0e})"
                         for a in row["agreement"])
        t = row["times"]
        if case == "ridge_path":
            ours = fmt_s(t["spectrakit"]["best_s"])
            lines.append((case, ours, "RidgeCV", fmt_s(t["RidgeCV"]["best_s"]),
                          f"{row['ratios']['RidgeCV / spectrakit']:.1f}x", ">= 10x", agree))
            lines.append(("", "", "RidgeCV(svd)", fmt_s(t["RidgeCV(svd)"]["best_s"]),
                          f"{row['ratios']['RidgeCV(svd) / spectrakit']:.1f}x", "(reference)", ""))
            lines.append(("", "", "Ridge loop", fmt_s(t["Ridge loop"]["best_s"]),
                          f"{row['ratios']['Ridge loop / spectrakit']:.1f}x", ">= 30x", ""))
        elif case == "kernel_path":
            lines.append((case, fmt_s(t["spectrakit"]["best_s"]), "KernelRidge loop",
                          fmt_s(t["KernelRidge loop"]["best_s"]),
                          f"{row['ratios']['KernelRidge loop / spectrakit']:.1f}x", ">= 10x", agree))
        elif case == "update_latency":
            ours = f"{t['update_median_ms']:.2f} ms (p95 {t['update_p95_ms']:.2f})"
            lines.append((case, ours, "np.linalg.solve", fmt_s(t["numpy_solve"]["median_s"]),
                          f"{row['ratios']['solve / update (median)']:.1f}x", "< 5 ms (cpu)", agree))
            lines.append(("", "", "Ridge.fit", fmt_s(t["Ridge fit"]["median_s"]),
                          f"{row['ratios']['Ridge fit / update (median)']:.1f}x", "", ""))
        elif case == "gpu_path":
            for name in ("float64", "float32"):
                r = t[name]
                lines.append((case if name == "float64" else "", f"{name}: SVD {fmt_s(r['svd_s'])}",
                              "(path)", fmt_s(r["path"]["median_s"]), "", "", agree if name == "float64" else ""))
            c = t["check"]
            lines.append(("", f"check: {fmt_s(c['regularize_device_s'])}", "spectrakit cpu",
                          fmt_s(c["regularize_cpu_s"]), f"{row['ratios']['check: cpu / device']:.1f}x", "", ""))
    print_columns(lines)


def environment(args) -> dict:
    env = base_environment(args, **{"scikit-learn": sklearn.__version__})
    try:
        import threadpoolctl

        env["blas"] = [
            {k: info.get(k) for k in ("user_api", "internal_api", "prefix", "version", "num_threads")}
            for info in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        pass
    return env


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where spectrakit computes (peers always run on the CPU)")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="spectrakit's precision (peers always run in float64)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test in seconds")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results",
                        help="folder for regularization_path.json (regularization_path_quick.json with --quick; "
                             "default benchmarks/results/)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), metavar="CASE",
                        help=f"cases to run (default all): {' '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed repeats of the spectrakit calls after one warm-up (best is reported)")
    parser.add_argument("--peer-repeats", type=int, default=1,
                        help="timed repeats of the (slow) peer runs (best is reported)")
    parser.add_argument("--gpu-size", type=int, nargs=2, metavar=("N", "P"), default=None,
                        help="override gpu_path's n x p (default 50000 x 2000; 5000 x 500 with --quick)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch.cuda.is_available() is False on this machine.", file=sys.stderr)
        return 2
    sizes = {case: dict(size) for case, size in SIZES["quick" if args.quick else "full"].items()}
    if args.gpu_size:
        sizes["gpu_path"]["n"], sizes["gpu_path"]["p"] = args.gpu_size
    env = environment(args)
    say(f"spectrakit {env['versions']['spectrakit']}, torch {torch.__version__}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}; {env['cpu_count']} CPUs, torch threads {env['torch_threads']}; "
        f"device {args.device}{' (' + env['gpu'] + ')' if 'gpu' in env else ''}, dtype {args.dtype}"
        f"{', QUICK sizes' if args.quick else ''}")
    say(f"timing: time.perf_counter; spectrakit: best of {args.repeats} after 1 warm-up; "
        f"peers: best of {args.peer_repeats} after a small warm-up fit")
    say()
    rows = []
    for case in CASES:
        if case in args.cases:
            row = RUNNERS[case](args, sizes[case])
            if "skipped" not in row:
                row["targets"] = targets_met(row, args.device)
            rows.append(row)
            say()
    print_table(rows)
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
        say(f"load average (1, 5, 15 min) at start {tuple(round(v, 2) for v in env['load_average_start'])}, "
            f"at end {tuple(round(v, 2) for v in env['load_average_end'])} on {env['cpu_count']} CPUs")
    args.out.mkdir(parents=True, exist_ok=True)
    # a smoke run never overwrites the full run's numbers
    out_file = args.out / ("regularization_path_quick.json" if args.quick else "regularization_path.json")
    out_file.write_text(json.dumps({"environment": env, "cases": rows}, indent=2))
    say(f"\nwrote {out_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
