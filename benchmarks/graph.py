"""Spectral clustering: spectrakit against scikit-learn's SpectralClustering.

Both cluster the same points through the same graph: the connectivity k-nearest-neighbour
graph with each point its own first neighbour, symmetrized as ``(A + A^T)/2``
(scikit-learn's ``affinity="nearest_neighbors"``; spectrakit's
``knn_graph(X, k, symmetrize="mean", include_self=True, sparse=True)``), then the lowest
eigenvectors of the normalized Laplacian and k-means with 10 k-means++ starts. Timed end
to end from the points (graph, eigenvectors, k-means); each run prints both times, the
ratio, both ARIs against the true labels and the ARI between the two clusterings, and
adds a row to a JSON summary.

Cases
-----
moons   two interleaved half circles, noise 0.08 (k = 2)
blobs   five Gaussian blobs in the plane, std 1.0 (k = 5: they touch)

at n = 3000 and n = 20000 (``--quick``: 500 and 2000). At n = 20000 a dense
eigendecomposition is out of reach on a CPU (9.6 GB, minutes): spectrakit's automatic
choice is the sparse path (shift-invert ARPACK with the null space deflated), reported
in the ``solver`` column.

Run ``python benchmarks/graph.py --help``; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch

from _common import environment as base_environment
from _common import fmt_s, print_columns, say, synchronize

from spectrakit.core import graphs

DATASETS = ("moons", "blobs")
SIZES = {"full": (3000, 20000), "quick": (500, 2000)}
N_NEIGHBORS = 10
N_INIT = 10
# "no slower than scikit-learn at equal or better ARI": ratio >= 1 and the ARI at most
# this much below scikit-learn's (k-means on 20000 points may settle a handful of
# boundary points differently)
ARI_SLACK = 1e-3


def make_data(name: str, n: int, seed: int):
    from sklearn import datasets

    if name == "moons":
        return datasets.make_moons(n, noise=0.08, random_state=seed)
    if name == "blobs":
        return datasets.make_blobs(n, centers=5, cluster_std=1.0, random_state=seed)
    raise ValueError(name)


def run_case(args, name: str, n: int) -> dict:
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import adjusted_rand_score as ari

    X, y = make_data(name, n, args.seed)
    k = len(np.unique(y))
    dev = torch.device(args.device)
    say(f"[{name} n={n}] k={k}, {N_NEIGHBORS}-NN graph, {N_INIT} k-means starts; spectrakit on {dev}, "
        f"scikit-learn on the CPU")

    def ours():
        Xt = torch.as_tensor(X, dtype=torch.float64, device=dev)
        W = graphs.knn_graph(Xt, N_NEIGHBORS, symmetrize="mean", include_self=True, sparse=True)
        res = graphs.spectral_clustering(W, k, n_init=N_INIT, seed=args.seed)
        synchronize(args.device)
        return res

    def peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Graph is not fully connected"
            est = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=N_NEIGHBORS,
                                     n_init=N_INIT, random_state=args.seed)
            return est.fit(X)

    # warm-ups (torch's and scikit-learn's first calls), then interleaved repeats so that
    # load from other jobs hits both alike
    ours()
    peer()
    t_ours, t_peer = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = ours()
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        est = peer()
        t_peer.append(time.perf_counter() - t0)
    labels = res.labels.cpu().numpy()
    a_ours, a_peer, a_both = ari(y, labels), ari(y, est.labels_), ari(est.labels_, labels)

    # where spectrakit's time goes (one more run, timed by stage)
    t0 = time.perf_counter()
    Xt = torch.as_tensor(X, dtype=torch.float64, device=dev)
    W = graphs.knn_graph(Xt, N_NEIGHBORS, symmetrize="mean", include_self=True, sparse=True)
    synchronize(args.device)
    t1 = time.perf_counter()
    spec = graphs.graph_spectrum(W, k)
    synchronize(args.device)
    t2 = time.perf_counter()
    U = graphs.fix_signs(spec.vectors)
    U = U / U.norm(dim=1, keepdim=True).clamp_min(torch.finfo(U.dtype).tiny)
    graphs.kmeans(U, k, n_init=N_INIT, seed=args.seed)
    synchronize(args.device)
    t3 = time.perf_counter()
    stages = {"graph_s": t1 - t0, "eigen_s": t2 - t1, "kmeans_s": t3 - t2}

    best_ours, best_peer = min(t_ours), min(t_peer)
    ratio = best_peer / best_ours
    say(f"  spectrakit: {fmt_s(best_ours)} (best of {args.repeats}; graph {fmt_s(stages['graph_s'])}, "
        f"eigen [{res.solver}] {fmt_s(stages['eigen_s'])}, k-means {fmt_s(stages['kmeans_s'])})  ARI {a_ours:.4f}")
    say(f"  SpectralClustering: {fmt_s(best_peer)}  ARI {a_peer:.4f}   ratio {ratio:.2f}x   "
        f"ARI(ours, sklearn) {a_both:.4f}")
    met = bool(ratio >= 1.0 and a_ours >= a_peer - ARI_SLACK)
    return {
        "case": f"{name}_{n}",
        "data": name,
        "sizes": {"n": n, "k": k, "n_neighbors": N_NEIGHBORS, "n_init": N_INIT},
        "solver": res.solver,
        "times": {"spectrakit": {"best_s": best_ours, "all_s": t_ours, "stages": stages},
                  "SpectralClustering": {"best_s": best_peer, "all_s": t_peer}},
        "ratio": ratio,
        "ari": {"spectrakit": a_ours, "SpectralClustering": a_peer, "spectrakit_vs_sklearn": a_both},
        "target": {"what": f"ratio >= 1 and ARI >= sklearn's - {ARI_SLACK}", "met": met},
    }


def print_table(rows: list[dict]) -> None:
    lines = [("case", "n", "spectrakit", "solver", "SpectralClustering", "ratio", "ARI ours", "ARI sklearn",
              "ARI ours vs sklearn", "target")]
    for r in rows:
        lines.append((r["data"], r["sizes"]["n"], fmt_s(r["times"]["spectrakit"]["best_s"]), r["solver"],
                      fmt_s(r["times"]["SpectralClustering"]["best_s"]), f"{r['ratio']:.2f}x",
                      f"{r['ari']['spectrakit']:.4f}", f"{r['ari']['SpectralClustering']:.4f}",
                      f"{r['ari']['spectrakit_vs_sklearn']:.4f}", "met" if r["target"]["met"] else "MISSED"))
    print_columns(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where spectrakit computes (scikit-learn always runs on the CPU)")
    parser.add_argument("--quick", action="store_true", help="n = 500 and 2000: a smoke test in seconds")
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="override the sizes n")
    parser.add_argument("--data", nargs="+", choices=DATASETS, default=list(DATASETS), help="data sets to run")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of each after one warm-up, interleaved (best reported)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit torch, OpenMP and BLAS to N threads for both (threadpoolctl); default: as set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON path (default benchmarks/results/graph[_cuda][_quick].json)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: torch.cuda.is_available() is False on this machine.", file=sys.stderr)
        return 2
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        # kept for the whole run: scikit-learn's BLAS and OpenMP, and spectrakit's scipy BLAS
        args._limits = threadpool_limits(args.threads)
    env = base_environment(args, **{"scikit-learn": sklearn.__version__})
    env["threads_limit"] = args.threads
    try:
        import threadpoolctl

        env["blas"] = [{k: info.get(k) for k in ("user_api", "internal_api", "num_threads")}
                       for info in threadpoolctl.threadpool_info()]
    except ImportError:
        pass
    say(f"spectrakit {env['versions']['spectrakit']}, torch {torch.__version__}, scikit-learn {sklearn.__version__}; "
        f"{env['cpu_count']} CPUs, torch threads {env['torch_threads']}; device {args.device}"
        f"{' (' + env['gpu'] + ')' if 'gpu' in env else ''}{', QUICK sizes' if args.quick else ''}")
    say()
    sizes = args.sizes or SIZES["quick" if args.quick else "full"]
    rows = []
    for n in sizes:
        for name in args.data:
            rows.append(run_case(args, name, n))
            say()
    print_table(rows)
    if hasattr(os, "getloadavg"):
        env["load_average_end"] = os.getloadavg()
        say(f"load average (1, 5, 15 min) at start {tuple(round(v, 2) for v in env['load_average_start'])}, "
            f"at end {tuple(round(v, 2) for v in env['load_average_end'])} on {env['cpu_count']} CPUs")
    out = args.out or Path(__file__).resolve().parent / "results" / (
        "graph" + ("_cuda" if args.device == "cuda" else "") + (f"_{args.threads}thread" if args.threads else "")
        + ("_quick" if args.quick else "") + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"environment": env, "cases": rows}, indent=2))
    say(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
