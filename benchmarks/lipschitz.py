"""Spectral norms of conv layers: spectrakit's FFT method against the dense SVD, and the
Gram-iteration bound against torch's power-iteration ``spectral_norm``.

Three cases, all on seeded random 3 x 3 kernels with ``C`` input and ``C`` output channels
(entries N(0, 1/(9 C))) and circular padding on an ``H x H`` grid, in float64:

dense_vs_fft  The exact norm (and every singular value) of the convolution operator:
              ``spectrakit.core.weights.conv_operator_norm`` / ``conv_singular_values``
              (one rfft2 and a batched SVD of the C x C matrices per frequency) against
              ``torch.linalg.svdvals`` of the dense ``(C H H) x (C H H)`` matrix (built
              by ``conv_matrix``, timed apart), over sizes up to where it fits.
fft_only      The FFT method alone, up to 64 x 64 inputs with 64 channels (the dense
              matrix would be 262144 x 262144, 512 GiB).
estimators    At one size: spectrakit's Gram-iteration bound (``gram_iteration_norm``,
              1..6 steps), its power iteration on the operator (``conv_power_iteration``)
              and torch's ``torch.nn.utils.parametrizations.spectral_norm`` (one power
              iteration per forward, on the reshaped kernel (C, 9 C)): time and error
              against the exact norm. torch estimates a different number, the reshaped
              kernel's norm, which lies between 1/3 and 1 times the operator norm.

Prints both times, the ratio and the agreement; writes benchmarks/results/lipschitz.json
(lipschitz_quick.json with ``--quick``). Run ``python benchmarks/lipschitz.py --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from _common import environment as base_environment
from _common import fmt_s, print_columns, say, synchronize

from spectrakit.core.weights import (
    conv_matrix,
    conv_operator_norm,
    conv_power_iteration,
    conv_singular_values,
    gram_iteration_norm,
)

SIZES = {
    # (H, C): dense matrix side C H H
    "full": {"dense": [(8, 4), (8, 8), (8, 16), (16, 8), (16, 16)],
             "fft": [(32, 32), (32, 64), (64, 64)], "estimators": (32, 64)},
    "quick": {"dense": [(8, 4), (8, 8), (8, 16)],
              "fft": [(32, 16), (32, 32)], "estimators": (16, 16)},
}
TARGETS = {"dense / fft": 100.0}
TOLERANCE = 1e-6  # relative agreement of the norms (float64)


def kernel(C, seed, device, dtype):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(C, C, 3, 3, generator=g, dtype=torch.float64) / math.sqrt(9 * C)).to(device, dtype)


def timed(fn, device, repeats):
    """(best, median, result) over ``repeats`` calls after one untimed warm-up call."""
    out = fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        out = fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), out


def dense_vs_fft(args, sizes, dtype):
    rows = []
    for H, C in sizes:
        w = kernel(C, args.seed, args.device, dtype)
        n = C * H * H
        t_norm, med_norm, norm = timed(lambda: conv_operator_norm(w, (H, H)), args.device, args.repeats)
        t_sv, _, sv = timed(lambda: conv_singular_values(w, (H, H)), args.device, args.repeats)
        # the dense matrix: built once (timed), then its SVD (one call is seconds at 4096)
        synchronize(args.device)
        t0 = time.perf_counter()
        M = conv_matrix(w, (H, H))
        synchronize(args.device)
        t_build = time.perf_counter() - t0
        if n >= 2048:  # seconds to a minute each: once
            dense_repeats = 1
            t_dense, dense = _once(lambda: torch.linalg.svdvals(M), args.device)
        else:
            dense_repeats = args.repeats
            t_dense, _, dense = timed(lambda: torch.linalg.svdvals(M), args.device, dense_repeats)
        del M
        rel_norm = float(abs(norm - dense[0]) / dense[0])
        rel_all = float((sv - dense).abs().max() / dense[0])
        row = {
            "H": H, "C": C, "dense_side": n,
            "fft_norm_s": t_norm, "fft_norm_median_s": med_norm, "fft_singular_values_s": t_sv,
            "dense_build_s": t_build, "dense_svd_s": t_dense, "dense_repeats": dense_repeats,
            "ratio_svd": t_dense / t_norm, "ratio_build_and_svd": (t_dense + t_build) / t_norm,
            "norm": float(norm), "rel_diff_norm": rel_norm, "max_diff_all_over_norm": rel_all,
            "agree": bool(rel_norm <= TOLERANCE and rel_all <= TOLERANCE),
        }
        rows.append(row)
        say(f"  {H}x{H}, C={C}: dense {n}x{n} svd {fmt_s(t_dense)} (+ build {fmt_s(t_build)}), "
            f"fft norm {fmt_s(t_norm)}, all values {fmt_s(t_sv)}: {row['ratio_svd']:.0f}x, "
            f"norm rel diff {rel_norm:.1e}, all values {rel_all:.1e}")
    return rows


def _once(fn, device):
    synchronize(device)
    t0 = time.perf_counter()
    out = fn()
    synchronize(device)
    return time.perf_counter() - t0, out


def fft_only(args, sizes, dtype):
    rows = []
    for H, C in sizes:
        w = kernel(C, args.seed, args.device, dtype)
        t_norm, med, norm = timed(lambda: conv_operator_norm(w, (H, H)), args.device, args.repeats)
        t_sv, _, sv = timed(lambda: conv_singular_values(w, (H, H)), args.device, args.repeats)
        n = C * H * H
        rows.append({"H": H, "C": C, "dense_side": n, "dense_gib_float64": n * n * 8 / 2**30,
                     "fft_norm_s": t_norm, "fft_norm_median_s": med, "fft_singular_values_s": t_sv,
                     "n_singular_values": sv.numel(), "norm": float(norm)})
        say(f"  {H}x{H}, C={C}: norm {fmt_s(t_norm)}, all {sv.numel()} values {fmt_s(t_sv)} "
            f"(dense would be {n}x{n}, {n * n * 8 / 2**30:.3g} GiB)")
    return rows


def torch_spectral_norm_layer(w):
    conv = torch.nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1, padding_mode="circular", bias=False)
    conv = conv.to(w.device, w.dtype)
    with torch.no_grad():
        conv.weight.copy_(w)
    return conv


def torch_sigma(conv, w):
    """The sigma torch divides by: ||W||_F / ||W / sigma||_F."""
    return float(torch.linalg.vector_norm(w) / torch.linalg.vector_norm(conv.weight.detach()))


def estimators(args, size, dtype):
    H, C = size
    w = kernel(C, args.seed, args.device, dtype)
    grid = (H, H)
    t_exact, _, exact = timed(lambda: conv_operator_norm(w, grid), args.device, args.repeats)
    exact = float(exact)
    reshaped = float(torch.linalg.matrix_norm(w.reshape(C, -1), ord=2))
    rows = [{"method": "spectrakit conv_operator_norm (exact, FFT)", "time_s": t_exact,
             "estimate": exact, "rel_err_operator": 0.0, "kind": "exact"}]
    for t in range(1, 7):
        tg, _, b = timed(lambda: gram_iteration_norm(w, grid, n_iter=t), args.device, args.repeats)
        rows.append({"method": f"spectrakit gram_iteration_norm n_iter={t}", "time_s": tg,
                     "estimate": float(b), "rel_err_operator": float(b) / exact - 1, "kind": "upper bound"})
    for tol in (1e-3, 1e-6):
        tp, _, res = timed(lambda: conv_power_iteration(w, grid, seed=args.seed, tol=tol, max_iter=10000),
                           args.device, args.repeats)
        rows.append({"method": f"spectrakit conv_power_iteration tol={tol:g} ({len(res.history)} it.)", "time_s": tp,
                     "estimate": float(res.sigma), "rel_err_operator": float(res.sigma) / exact - 1,
                     "iterations": len(res.history), "kind": "lower bound"})
    # torch: registering runs 15 power iterations; each forward in train mode runs
    # n_power_iterations (default 1) more and divides the weight
    torch.manual_seed(args.seed)
    synchronize(args.device)
    t0 = time.perf_counter()
    conv = torch.nn.utils.parametrizations.spectral_norm(torch_spectral_norm_layer(w))
    synchronize(args.device)
    t_register = time.perf_counter() - t0
    conv.train()
    with torch.no_grad():
        _ = conv.weight  # noqa: F841 - first forward (one more iteration)
    sigma_1 = torch_sigma(conv, w)
    t_step, _, _ = timed(lambda: conv.weight, args.device, args.repeats)
    with torch.no_grad():
        for _ in range(200):
            conv.weight  # noqa: B018 - persistent iterations, as over 200 training steps
    sigma_200 = torch_sigma(conv, w)
    for label, sig, t in (("after registration + 1 forward", sigma_1, t_register + t_step),
                          (f"after {200 + args.repeats + 2} forwards", sigma_200, t_step)):
        rows.append({"method": f"torch spectral_norm, {label}", "time_s": t, "estimate": sig,
                     "rel_err_operator": sig / exact - 1, "rel_err_reshaped": sig / reshaped - 1,
                     "kind": "estimates the reshaped kernel's norm"})
    rows[-1]["time_note"] = "per forward (one iteration and the division)"
    return {"H": H, "C": C, "exact": exact, "reshaped_kernel_norm": reshaped,
            "operator_over_reshaped": exact / reshaped, "torch_register_s": t_register,
            "torch_forward_s": t_step, "rows": rows}


def run(args) -> dict:
    size = SIZES["quick" if args.quick else "full"]
    dtype = torch.float64
    say(f"[lipschitz] circular 3x3 convolutions, C -> C channels on H x H, {args.device}/float64, "
        f"best of {args.repeats}")
    # warm-up: torch's first FFT, complex SVD and conv calls (lazy initialization)
    w0 = kernel(4, args.seed, args.device, dtype)
    for _ in range(3):
        conv_singular_values(w0, (8, 8)), conv_operator_norm(w0, (8, 8)), gram_iteration_norm(w0, (8, 8))
        torch.linalg.svdvals(conv_matrix(w0, (8, 8)))
    say("\n-- exact norm: FFT (spectrakit) against the dense matrix's SVD")
    dense = dense_vs_fft(args, size["dense"], dtype)
    say("\n-- FFT alone")
    fft = fft_only(args, size["fft"], dtype)
    say(f"\n-- estimators at {size['estimators'][0]}x{size['estimators'][0]}, C={size['estimators'][1]}")
    est = estimators(args, size["estimators"], dtype)

    lines = [("H", "C", "dense side", "dense SVD", "(+ build)", "FFT norm", "FFT all values", "ratio", "norm diff", "all values")]
    for r in dense:
        lines.append((r["H"], r["C"], r["dense_side"], fmt_s(r["dense_svd_s"]), fmt_s(r["dense_build_s"]),
                      fmt_s(r["fft_norm_s"]), fmt_s(r["fft_singular_values_s"]), f"{r['ratio_svd']:.0f}x",
                      f"{r['rel_diff_norm']:.1e}", f"{r['max_diff_all_over_norm']:.1e}"))
    for r in fft:
        lines.append((r["H"], r["C"], r["dense_side"], f"({r['dense_gib_float64']:.3g} GiB)", "",
                      fmt_s(r["fft_norm_s"]), fmt_s(r["fft_singular_values_s"]), "", "", ""))
    print_columns(lines)
    lines = [("method", "time", "estimate", "rel. error vs operator norm", "vs reshaped kernel norm", "kind")]
    for r in est["rows"]:
        own = f"{r['rel_err_reshaped']:+.2e}" if "rel_err_reshaped" in r else ""
        lines.append((r["method"], fmt_s(r["time_s"]), f"{r['estimate']:.6f}", f"{r['rel_err_operator']:+.2e}",
                      own, r["kind"]))
    print_columns(lines)
    say(f"  reshaped kernel norm {est['reshaped_kernel_norm']:.6f}; operator / reshaped = "
        f"{est['operator_over_reshaped']:.3f} (between 1 and 3 for 3x3 kernels)")

    largest = max(dense, key=lambda r: r["dense_side"])
    ratio = largest["ratio_svd"]
    agree = all(r["agree"] for r in dense)
    targets = {
        "dense / fft": {"target": ">= 100x at the largest dense size", "value": ratio,
                        "met": ratio >= TARGETS["dense / fft"]},
        "agreement": {"target": f"<= {TOLERANCE:g} relative", "value": max(r["rel_diff_norm"] for r in dense),
                      "met": agree},
        "gram 4 steps above exact": {"target": ">= exact", "value": est["rows"][4]["rel_err_operator"],
                                     "met": est["rows"][4]["rel_err_operator"] >= 0},
    }
    say()
    for key, t in targets.items():
        say(f"  target {key} {t['target']}: {t['value']:.3g} -> {'met' if t['met'] else 'NOT met'}")
    return {"case": "conv_spectral_norm", "dense_vs_fft": dense, "fft_only": fft, "estimators": est,
            "targets": targets, "settings": {"seed": args.seed, "repeats": args.repeats, "kernel": "3x3",
                                             "padding": "circular", "dtype": "float64"}}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="JSON summary path (default benchmarks/results/lipschitz[_quick].json)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    env = base_environment(args)  # before the run: the load average at its start
    t0 = time.perf_counter()
    row = run(args)
    row["total_s"] = time.perf_counter() - t0
    say(f"  total {fmt_s(row['total_s'])}")
    suffix = ("_cuda" if str(args.device).startswith("cuda") else "") + ("_quick" if args.quick else "")
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / f"lipschitz{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
    out.write_text(json.dumps({"environment": env, "rows": [row]}, indent=2))
    say(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
