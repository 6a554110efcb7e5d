"""Top Hessian eigenvalues: spectrakit's Lanczos against power iteration with deflation.

One case: the top-k Hessian eigenvalues of a tanh MLP (20-300-300-1, about 1e5 parameters
in the full run) with MSE loss on synthetic regression data. Both methods use the same
model, data and Hessian-vector product (the gradient graph is built once, as PyHessian
does), so the comparison is the eigensolver alone:

spectrakit   ``spectrakit.core.dynamics.lanczos`` (full reorthogonalization, stops on the
             Ritz residuals, default tol 1e-6 in float64).
power        PyHessian's method, written here: power iteration on the top eigenvector
             until the Rayleigh quotient changes by less than ``--power-tol`` (relative),
             deflate (orthogonalize against the found vectors), repeat k times.

Agreement: the two sets of eigenvalues against each other, and (``--quick``, where the
Hessian fits in memory) both against ``torch.linalg.eigvalsh`` of the dense Hessian.
Prints both times, the ratio and the agreement; writes benchmarks/results/hessian.json
(hessian_quick.json with ``--quick``). Run ``python benchmarks/hessian.py --help``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from _common import environment as base_environment
from _common import fmt_s, say, synchronize

from spectrakit.core.dynamics import flatten, hvp_operator, lanczos, unflatten

SIZES = {
    "full": {"layers": [20, 300, 300, 1], "n_data": 1000, "k": 5, "dense": False},
    "quick": {"layers": [5, 30, 30, 1], "n_data": 200, "k": 5, "dense": True},
}
TARGETS = {"spectrakit s (cpu)": 2.0, "power / spectrakit": 3.0}
TOLERANCE = 1e-6  # relative eigenvalue agreement (float64)


def make_problem(layers, n_data, seed, device, dtype):
    """Tanh MLP with 1/sqrt(fan-in) weights; targets from a random teacher plus noise."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for a, b in zip(layers[:-1], layers[1:]):
        params.append((torch.randn(b, a, generator=g, dtype=torch.float64) / a**0.5).to(device, dtype).requires_grad_())
        params.append(torch.zeros(b, dtype=dtype, device=device).requires_grad_())
    X = torch.randn(n_data, layers[0], generator=g, dtype=torch.float64)
    teacher = torch.randn(layers[0], 1, generator=g, dtype=torch.float64) / layers[0] ** 0.5
    y = torch.sin(2 * X @ teacher) + 0.1 * torch.randn(n_data, 1, generator=g, dtype=torch.float64)
    X, y = X.to(device, dtype), y.to(device, dtype)

    def forward(ps):
        h = X
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i < len(ps) - 2:
                h = torch.tanh(h)
        return ((h - y) ** 2).mean()

    return params, (lambda: forward(params)), forward


def power_iteration_deflation(matvec, n, k, *, tol, max_iter, seed, device, dtype):
    """PyHessian's ``eigenvalues``: power iteration with deflation; (values, vectors, matvecs)."""
    gen = torch.Generator().manual_seed(seed)
    vals, vecs, count = [], [], 0
    for _ in range(k):
        v = torch.randn(n, generator=gen, dtype=torch.float64).to(device, dtype)
        v = v / torch.linalg.vector_norm(v)
        prev = None
        for _ in range(max_iter):
            for u in vecs:  # deflate
                v = v - torch.dot(u, v) * u
            v = v / torch.linalg.vector_norm(v)
            hv = matvec(v)
            count += 1
            lam = float(torch.dot(v, hv))
            v = hv / torch.linalg.vector_norm(hv)
            if prev is not None and abs(lam - prev) / (abs(prev) + 1e-6) < tol:
                break
            prev = lam
        for u in vecs:
            v = v - torch.dot(u, v) * u
        vals.append(lam)
        vecs.append(v / torch.linalg.vector_norm(v))
    return torch.tensor(vals, dtype=torch.float64), torch.stack(vecs, 1), count


def rel(a, b) -> float:
    a, b = torch.as_tensor(a, dtype=torch.float64).cpu(), torch.as_tensor(b, dtype=torch.float64).cpu()
    return float(((a - b).abs() / b.abs()).max())


def run(args) -> dict:
    size = SIZES["quick" if args.quick else "full"]
    dtype = torch.float64
    params, loss_fn, forward = make_problem(size["layers"], size["n_data"], args.seed, args.device, dtype)
    k = size["k"]
    n = sum(p.numel() for p in params)
    say(f"[hessian] MLP {'-'.join(map(str, size['layers']))} tanh, n={n} parameters, "
        f"{size['n_data']} samples, top-{k}, {args.device}/float64")

    counting = {"n": 0}

    def build():
        matvec, _ = hvp_operator(loss_fn, params)

        def counted(v):
            counting["n"] += 1
            return matvec(v)
        return counted

    # warm-up (autograd, BLAS threads)
    m = build()
    for _ in range(3):
        m(torch.ones(n, dtype=dtype, device=args.device))

    t_ours, t_power = [], []
    for _ in range(args.repeats):
        synchronize(args.device)
        counting["n"] = 0
        t0 = time.perf_counter()
        matvec = build()  # the gradient graph is part of the timed work for both
        vals, vecs = lanczos(matvec, n, k, seed=args.seed, device=args.device, dtype=dtype)
        synchronize(args.device)
        t_ours.append(time.perf_counter() - t0)
        n_ours = counting["n"]

        synchronize(args.device)
        t0 = time.perf_counter()
        matvec = build()
        pvals, pvecs, n_power = power_iteration_deflation(
            matvec, n, k, tol=args.power_tol, max_iter=args.power_max_iter, seed=args.seed,
            device=args.device, dtype=dtype)
        synchronize(args.device)
        t_power.append(time.perf_counter() - t0)

    # time of one HVP, for scale
    m = build()
    v = torch.randn(n, dtype=dtype, generator=torch.Generator().manual_seed(0)).to(args.device)
    synchronize(args.device)
    t0 = time.perf_counter()
    for _ in range(10):
        m(v)
    synchronize(args.device)
    t_hvp = (time.perf_counter() - t0) / 10

    best_ours, best_power = min(t_ours), min(t_power)
    agreement = [{"what": "lanczos vs power iteration", "max_rel_diff": rel(vals, pvals),
                  "tolerance": TOLERANCE}]
    if size["dense"]:
        flat0 = flatten([p.detach() for p in params])
        H = torch.autograd.functional.hessian(lambda f: forward(unflatten(f, params)), flat0)
        dense = torch.linalg.eigvalsh((H + H.T) / 2).flip(0)[:k]
        agreement += [
            {"what": "lanczos vs dense eigvalsh", "max_rel_diff": rel(vals, dense), "tolerance": TOLERANCE},
            {"what": "power vs dense eigvalsh", "max_rel_diff": rel(pvals, dense), "tolerance": TOLERANCE},
        ]
    for a in agreement:
        a["agree"] = bool(a["max_rel_diff"] <= a["tolerance"])

    say(f"  eigenvalues (lanczos): {[f'{x:.6g}' for x in vals.tolist()]}")
    say(f"  eigenvalues (power):   {[f'{x:.6g}' for x in pvals.tolist()]}")
    say(f"  one HVP: {fmt_s(t_hvp)}")
    ratio = best_power / best_ours
    lines = [
        ("method", "time (best)", "median", "HVPs", "ratio"),
        ("spectrakit lanczos", fmt_s(best_ours), fmt_s(statistics.median(t_ours)), str(n_ours), "1.0x"),
        ("power + deflation", fmt_s(best_power), fmt_s(statistics.median(t_power)), str(n_power), f"{ratio:.1f}x"),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    say()
    for j, line in enumerate(lines):
        say("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if j == 0:
            say("  ".join("-" * w for w in widths))
    say()
    for a in agreement:
        say(f"  {a['what']}: max rel diff {a['max_rel_diff']:.1e} ({'ok' if a['agree'] else 'NO'}, tol {a['tolerance']:.0e})")
    targets = {
        "power / spectrakit": {"target": ">= 3x", "value": ratio, "met": ratio >= TARGETS["power / spectrakit"]},
    }
    if args.device == "cpu":
        targets["spectrakit s (cpu)"] = {"target": "<= 2 s", "value": best_ours,
                                         "met": best_ours <= TARGETS["spectrakit s (cpu)"]}
    for key, t in targets.items():
        say(f"  target {key} {t['target']}: {t['value']:.3g} -> {'met' if t['met'] else 'NOT met'}")
    return {
        "case": "hessian_top_k",
        "sizes": {"layers": size["layers"], "n_params": n, "n_data": size["n_data"], "k": k},
        "times": {"spectrakit": {"best_s": best_ours, "all_s": t_ours},
                  "power_deflation": {"best_s": best_power, "all_s": t_power}, "one_hvp_s": t_hvp},
        "hvps": {"spectrakit": n_ours, "power_deflation": n_power},
        "eigenvalues": {"spectrakit": vals.tolist(), "power_deflation": pvals.tolist()},
        "ratios": {"power / spectrakit": ratio},
        "agreement": agreement,
        "targets": targets,
        "settings": {"power_tol": args.power_tol, "power_max_iter": args.power_max_iter, "seed": args.seed},
    }


def environment(args) -> dict:
    return base_environment(args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument("--quick", action="store_true", help="small model, with a dense check")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--power-tol", type=float, default=1e-9,
                        help="relative change of the Rayleigh quotient that stops power iteration "
                             "(PyHessian's default 1e-3 is far less accurate than Lanczos)")
    parser.add_argument("--power-max-iter", type=int, default=2000)
    parser.add_argument("--out", default=None, help="JSON summary path (default benchmarks/results/hessian[_quick].json)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    row = run(args)
    out = Path(args.out) if args.out else (
        Path(__file__).resolve().parent / "results" / f"hessian{'_quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"environment": environment(args), "rows": [row]}, indent=2))
    say(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
