"""Graph spectra, compute layer: graphs, Laplacians, their eigenpairs, spectral clustering,
positional encodings, graph filters and label propagation.

Torch (+ numpy/scipy) only, unlabelled tensors in and out: every result is on the input's
device and in its dtype (numpy and scipy inputs go where ``device=``/the options say, in
float64 by default), and no input is modified. Random draws come from a CPU
``torch.Generator`` (or a numpy ``Generator`` for scipy's solvers) seeded with ``seed``,
so a seeded call gives the same numbers on the CPU and on a GPU (up to rounding).

The filter convention (DESIGN.md). Graph smoothing is general-form Tikhonov with A = I
and the penalty ``x^T L x``: the squared generalized singular value of a Laplacian mode
with eigenvalue ``lam`` is ``s = 1/lam``, so every filter ``h(s, reg)`` of
:mod:`spectrakit.core.filtering` applies unchanged: Tikhonov ``s/(s+reg) = 1/(1 + reg lam)``
(the solution of ``min ||x - y||^2 + reg x^T L x``, i.e. ``(I + reg L)^{-1} y``), heat
``exp(-reg/s) = exp(-reg lam)`` (the heat kernel at time ``reg``), Butterworth
``1/(1 + (reg lam)^order)`` and the ideal low-pass (``tsvd``) that keeps ``lam <= 1/reg``.
``lam = 0`` (the smooth, constant-like modes) has ``s = inf`` and factor 1.

Adjacency matrices ``W`` may be dense tensors or arrays, torch sparse tensors or scipy
sparse matrices/arrays. Weights must be finite and >= 0; undirected graphs must be
symmetric. Self-loops (diagonal entries) are ignored by every Laplacian, as
``scipy.sparse.csgraph.laplacian`` ignores them: ``L = D - W`` with ``D`` the degrees
of the off-diagonal part.

Functions
---------
adjacency               check and convert a given adjacency (dense, torch sparse, scipy sparse)
knn_graph               k-nearest-neighbour graph of points, symmetrized (max, mean or mutual)
epsilon_graph           all pairs closer than ``eps``
gaussian_affinity       the dense Gaussian (RBF) affinity ``exp(-d^2 / (2 bandwidth^2))``
stochastic_block_model  seeded SBM adjacency and its block labels
laplacian               combinatorial ``D - W``, symmetric ``I - D^-1/2 W D^-1/2``, random
                        walk ``I - D^-1 W``, and the magnetic kinds
magnetic_laplacian      Hermitian Laplacian of a directed graph with charge ``q``
lambda_max_bound        a guaranteed upper bound on the largest Laplacian eigenvalue
laplacian_eigh          lowest eigenpairs of a given symmetric/Hermitian matrix
graph_spectrum          lowest eigenpairs of a graph's Laplacian (dense, shift-invert
                        ARPACK, Lanczos or LOBPCG, chosen by size and device; reported)
fix_signs               the deterministic sign (phase) convention for eigenvectors
spectral_embedding      rows of the lowest Laplacian eigenvectors
eigengap                the eigengap heuristic for the number of clusters
kmeans                  k-means in torch: k-means++ starts, several seeded initializations
spectral_clustering     Ng-Jordan-Weiss: normalized embedding, rows normalized, k-means
laplacian_positional_encoding  eigenvector encodings with signs fixed and ambiguity flagged
graph_frequency_response  the filter factors ``h(1/lam, reg)`` over eigenvalues
graph_filter            exact filtering through a complete eigenbasis
chebyshev_coefficients  Chebyshev coefficients of ``h`` on ``[0, lmax]``
chebyshev_filter        filtering by a Chebyshev polynomial of order K, no eigenvectors,
                        with the approximation error
label_propagation       Zhou et al. (2004): ``F = (I + reg L_sym)^-1 Y``
reg_from_zhou_alpha     Zhou's ``alpha`` (scikit-learn's LabelSpreading) as ``reg``
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch

from ..options import resolve_device, resolve_dtype
from .checks import available_bytes, check_finite, check_memory, itemsize
from .filtering import filter_factors
from .threads import single_thread_if_small

__all__ = [
    "LAPLACIANS",
    "GRAPH_FILTERS",
    "adjacency",
    "knn_graph",
    "epsilon_graph",
    "gaussian_affinity",
    "BlockModel",
    "stochastic_block_model",
    "laplacian",
    "magnetic_laplacian",
    "lambda_max_bound",
    "GraphSpectrum",
    "laplacian_eigh",
    "graph_spectrum",
    "fix_signs",
    "SpectralEmbedding",
    "spectral_embedding",
    "Eigengap",
    "eigengap",
    "KMeansResult",
    "kmeans",
    "SpectralClusteringResult",
    "spectral_clustering",
    "PositionalEncoding",
    "laplacian_positional_encoding",
    "graph_frequency_response",
    "graph_filter",
    "chebyshev_coefficients",
    "ChebyshevFilterResult",
    "chebyshev_filter",
    "LabelPropagationResult",
    "label_propagation",
    "reg_from_zhou_alpha",
]

LAPLACIANS = ("combinatorial", "symmetric", "random_walk", "magnetic", "magnetic_normalized")
EIGEN_METHODS = ("auto", "dense", "shift_invert", "lanczos", "lobpcg")
# the graph filters: names of core.filtering's filters (``lowpass`` is its ``tsvd``)
GRAPH_FILTERS = ("tikhonov", "heat", "butterworth", "lowpass", "iterated_tikhonov", "showalter")

# Sizes behind the automatic choice of eigensolver (measured on a 2-core CPU, float64):
# a dense eigh of n = 3000 takes 2.6 s, the 2 lowest pairs of a 10-NN graph by
# shift-invert ARPACK 50 ms; at n = 20000 the dense eigh would need 9.6 GB and minutes.
DENSE_MAX_CPU = 10_000  # dense eigh on the CPU for (nearly) dense matrices up to this n
DENSE_MAX_GPU = 10_000  # dense eigh on a GPU up to this n (and where it fits in memory)
SMALL = 256  # below this a dense eigh is as fast as anything
SPARSE_DENSITY = 0.05  # a matrix with at most this share of nonzeros counts as sparse
KNN_TREE_MAX_DIM = 16  # scipy's cKDTree on the CPU up to this dimension, else brute force


# ------------------------------------------------------------------------------ checks


def _check_real(value, name: str, *, positive: bool = False, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}.")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}.")
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}.")
    return value


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return value


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is unknown; choose one of {list(choices)}.")
    return value


def _generator(seed) -> torch.Generator:
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(_check_int(seed, "seed", 0))
    return gen


def _check_dense_memory(n: int, copies: float, dtype, device, name: str, what: str, alternative: str) -> None:
    check_memory(copies * n * n * itemsize(dtype), device, name=name, what=what, alternative=alternative)


def _points(X, name: str, device, dtype) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        if X.is_complex():
            raise TypeError(f"{name} must be real; got dtype {X.dtype}.")
        dev = resolve_device(device, X)
        dt = resolve_dtype(dtype, X)
        X = X.to(device=dev, dtype=dt)
    else:
        arr = np.asarray(X)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}.")
        X = torch.as_tensor(arr, dtype=resolve_dtype(dtype), device=resolve_device(device))
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} must be (n points, d features); got shape {tuple(X.shape)}.")
    if X.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 points; got {X.shape[0]}.")
    check_finite(X, name)
    return X


# ------------------------------------------------------------------------------ adjacency


def _coalesced(rows, cols, vals, n: int, *, is_sorted: bool = False) -> torch.Tensor:
    """A coalesced COO tensor from entries with distinct (row, col), explicit zeros dropped;
    ``is_sorted``: the entries are in row-major order already (no sort)."""
    keep = vals != 0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    if not is_sorted:
        order = torch.argsort(rows * n + cols)
        rows, cols, vals = rows[order], cols[order], vals[order]
    idx = torch.stack([rows, cols])
    return torch.sparse_coo_tensor(idx, vals, (n, n), is_coalesced=True, check_invariants=False)


def _with_diagonal(rows, cols, off, diag, n: int) -> torch.Tensor:
    """Off-diagonal entries in row-major order plus a full diagonal, merged without a sort."""
    dev = rows.device
    key = rows * n + cols
    ar = torch.arange(n, device=dev)
    # each entry's place in the merged order: its rank among its own kind plus the number
    # of entries of the other kind before it
    pos_off = torch.arange(key.shape[0], device=dev) + torch.searchsorted(ar * (n + 1), key)
    pos_diag = ar + torch.searchsorted(key, ar * (n + 1))
    m = key.shape[0] + n
    R = torch.empty(m, dtype=rows.dtype, device=dev)
    C = torch.empty_like(R)
    V = torch.empty(m, dtype=off.dtype, device=dev)
    R[pos_off], C[pos_off], V[pos_off] = rows, cols, off
    R[pos_diag], C[pos_diag], V[pos_diag] = ar, ar, diag.to(off.dtype)
    return _coalesced(R, C, V, n, is_sorted=True)


def _entries(W: torch.Tensor):
    """(rows, cols, values) of the nonzero entries of a canonical adjacency."""
    if W.is_sparse:
        idx = W.indices()
        return idx[0], idx[1], W.values()
    rows, cols = torch.nonzero(W, as_tuple=True)
    return rows, cols, W[rows, cols]


def _adjoint(W: torch.Tensor) -> torch.Tensor:
    """The conjugate transpose of a dense or coalesced sparse COO tensor."""
    if not W.is_sparse:
        return W.mH
    idx, v = W.indices(), W.values()
    v = v.conj().resolve_conj() if v.is_complex() else v
    return torch.sparse_coo_tensor(idx.flip(0), v, W.shape, check_invariants=False).coalesce()


def _is_symmetric(W: torch.Tensor) -> tuple[bool, float]:
    """Whether W equals its (conjugate) transpose to round-off, and the largest difference."""
    vals = W.values() if W.is_sparse else W
    if vals.numel() == 0:
        return True, 0.0
    real = W.real.dtype if W.is_complex() else W.dtype
    scale = float(vals.abs().max())
    tol = 100 * torch.finfo(real).eps * max(scale, torch.finfo(real).tiny)
    if W.is_sparse:
        # coalesced: the keys i*n + j are sorted; W is symmetric when the transposed keys,
        # sorted, are the same and the values match under that permutation
        n = W.shape[0]
        idx, v = W.indices(), W.values()
        perm = torch.argsort(idx[1] * n + idx[0])
        if torch.equal(idx[1, perm], idx[0]) and torch.equal(idx[0, perm], idx[1]):
            diff = v - (v[perm].conj() if v.is_complex() else v[perm])
        else:
            diff = (W - _adjoint(W)).coalesce().values()
    else:
        diff = W - W.mH
    worst = float(diff.abs().max()) if diff.numel() else 0.0
    return worst <= tol, worst


def adjacency(W, *, directed: bool = False, device=None, dtype=None) -> torch.Tensor:
    """Check a given adjacency matrix and return it as spectrakit's graphs use it.

    Parameters
    ----------
    W : (n, n) tensor, array, torch sparse tensor or scipy sparse matrix/array
        Edge weights ``W[i, j] >= 0``, finite. Self-loops (the diagonal) are kept here and
        ignored by every Laplacian.
    directed : bool
        False (default): W must be symmetric (to round-off). True: any non-negative W
        (for :func:`magnetic_laplacian`).
    device, dtype
        For numpy and scipy inputs (default: the options' device, float64); a torch input
        keeps its own unless these are given. Integer and boolean tensors become float64.

    Returns
    -------
    tensor (n, n)
        Dense for dense inputs; a coalesced torch sparse COO tensor (no stored zeros) for
        torch sparse and scipy sparse inputs. Always a new tensor or an unchanged input.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> W = adjacency(sp.csr_array(np.array([[0, 1.0], [1.0, 0]])), device="cpu")
    >>> W.is_sparse, W.dtype, W.to_dense().tolist()
    (True, torch.float64, [[0.0, 1.0], [1.0, 0.0]])
    """
    if sp.issparse(W):
        coo = sp.coo_array(W)
        if coo.ndim != 2:
            raise ValueError(f"W must be a 2-D matrix; got {coo.ndim} dims.")
        if np.iscomplexobj(coo.data) or not np.issubdtype(coo.data.dtype, np.number):
            raise TypeError(f"W must hold real weights; got dtype {coo.data.dtype}.")
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        n0, n1 = coo.shape
        rows = torch.as_tensor(coo.row.astype(np.int64), device=dev)
        cols = torch.as_tensor(coo.col.astype(np.int64), device=dev)
        vals = torch.as_tensor(coo.data, dtype=dt, device=dev)
        A = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n0, n1), check_invariants=False).coalesce()
    elif isinstance(W, torch.Tensor):
        if W.is_complex():
            raise TypeError(f"W must hold real weights; got dtype {W.dtype}.")
        dev = resolve_device(device, W)
        dt = resolve_dtype(dtype, W) if (W.is_floating_point() or dtype is not None) else torch.float64
        if W.layout != torch.strided:
            A = W.to_sparse_coo() if W.layout != torch.sparse_coo else W
            A = A.to(device=dev, dtype=dt).coalesce()
        else:
            A = W.to(device=dev, dtype=dt)
    else:
        arr = np.asarray(W)
        if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"W must hold real weights; got dtype {arr.dtype}.")
        A = torch.as_tensor(arr, dtype=resolve_dtype(dtype), device=resolve_device(device))
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"W must be a square (n, n) adjacency matrix; got shape {tuple(A.shape)}.")
    if A.shape[0] < 1:
        raise ValueError("W is empty: a graph needs at least one node.")
    with single_thread_if_small(_sort_work(_size(A)), A.device):
        return _checked(A, directed)


def _checked(A: torch.Tensor, directed: bool) -> torch.Tensor:
    vals = A.values() if A.is_sparse else A
    check_finite(vals, "W")
    if vals.numel() and bool((vals < 0).any()):
        raise ValueError(
            f"W has negative weights (smallest {float(vals.min()):.3g}): a graph Laplacian needs "
            "weights >= 0. Use absolute values or an affinity such as exp(-d^2 / (2 bandwidth^2))."
        )
    if A.is_sparse and bool((A.values() == 0).any()):
        idx, v = A.indices(), A.values()
        A = _coalesced(idx[0], idx[1], v, A.shape[0])
    if not directed:
        ok, worst = _is_symmetric(A)
        if not ok:
            raise ValueError(
                f"W is not symmetric (largest |W - W.T| = {worst:.3g}): an undirected graph needs "
                "W[i, j] == W[j, i]. Symmetrize it, e.g. (W + W.T) / 2 or torch.maximum(W, W.T), "
                "or use the magnetic Laplacian for a directed graph."
            )
    return A


def _symmetrized(rows, cols, vals, n: int, how: str):
    """Entries of max(A, A^T), (A + A^T)/2 or the mutual min(A, A^T) (only where both exist)."""
    key = torch.cat([rows * n + cols, cols * n + rows])
    v = torch.cat([vals, vals])
    uniq, inv = torch.unique(key, sorted=True, return_inverse=True)
    if how == "mean":
        out = torch.zeros(uniq.shape[0], dtype=vals.dtype, device=vals.device).index_add_(0, inv, v) / 2
    elif how == "max":
        out = torch.zeros(uniq.shape[0], dtype=vals.dtype, device=vals.device)
        out = out.scatter_reduce(0, inv, v, reduce="amax", include_self=False)
    else:  # mutual: keep pairs present in both directions
        count = torch.bincount(inv, minlength=uniq.shape[0])
        out = torch.zeros(uniq.shape[0], dtype=vals.dtype, device=vals.device)
        out = out.scatter_reduce(0, inv, v, reduce="amin", include_self=False)
        out = torch.where(count >= 2, out, torch.zeros_like(out))
    return uniq // n, uniq % n, out


def _assemble(rows, cols, vals, n: int, sparse: bool, dtype, device, *, is_sorted: bool = False) -> torch.Tensor:
    if sparse:
        return _coalesced(rows, cols, vals, n, is_sorted=is_sorted)
    _check_dense_memory(
        n, 1, dtype, device, "X", f"a dense {n} x {n} adjacency in {dtype}",
        "Pass sparse=True (a torch sparse COO tensor: every spectrakit graph function takes it).",
    )
    W = torch.zeros(n, n, dtype=dtype, device=device)
    W[rows, cols] = vals
    return W


def _weights(dist: torch.Tensor, weights: str, bandwidth, name="bandwidth") -> torch.Tensor:
    if weights == "connectivity":
        return torch.ones_like(dist)
    if weights == "distance":
        return dist
    sigma = bandwidth
    if sigma is None:
        positive = dist[dist > 0]
        sigma = float(positive.median()) if positive.numel() else 1.0
    sigma = _check_real(sigma, name, positive=True)
    return torch.exp(-(dist * dist) / (2 * sigma * sigma))


def _knn_search(X: torch.Tensor, k: int, include_self: bool):
    """Indices (n, k) and distances (n, k) of each point's k nearest neighbours."""
    n, d = X.shape
    kq = k if include_self else k + 1
    if X.device.type == "cpu" and d <= KNN_TREE_MAX_DIM:
        from scipy.spatial import cKDTree

        pts = X.detach().double().numpy()
        dist, idx = cKDTree(pts).query(pts, k=kq)
        dist = torch.as_tensor(dist.reshape(n, kq), dtype=X.dtype)
        idx = torch.as_tensor(idx.reshape(n, kq).astype(np.int64))
    else:
        sq = (X * X).sum(1)
        block = max(1, min(n, 2**23 // n))
        dists, idxs = [], []
        for start in range(0, n, block):
            xb = X[start : start + block]
            d2 = (sq[start : start + block, None] + sq[None, :] - 2 * (xb @ X.T)).clamp_min(0)
            rows = torch.arange(xb.shape[0], device=X.device)
            d2[rows, rows + start] = 0.0  # the point itself, exactly
            val, ind = torch.topk(d2, kq, dim=1, largest=False, sorted=True)
            dists.append(val.sqrt())
            idxs.append(ind)
        dist, idx = torch.cat(dists), torch.cat(idxs)
    if not include_self:
        me = torch.arange(n, device=idx.device)[:, None]
        is_me = idx == me
        # a duplicate point may come before the point itself: then drop the last neighbour
        none = ~is_me.any(1)
        is_me[none, -1] = True
        keep = ~is_me
        idx, dist = idx[keep].reshape(n, k), dist[keep].reshape(n, k)
    return idx.to(X.device), dist.to(X.device)


def knn_graph(
    X,
    k: int = 10,
    *,
    weights: str = "connectivity",
    bandwidth: float | None = None,
    symmetrize: str = "max",
    include_self: bool = False,
    sparse: bool = False,
    device=None,
    dtype=None,
) -> torch.Tensor:
    """The symmetrized k-nearest-neighbour graph of points ``X`` (n, d).

    Each point links to its ``k`` nearest neighbours (Euclidean) with weight ``1``
    (``weights="connectivity"``), the distance (``"distance"``) or the Gaussian affinity
    ``exp(-d^2 / (2 bandwidth^2))`` (``"gaussian"``; default bandwidth: the median
    neighbour distance). The directed kNN relation ``A`` becomes undirected by
    ``symmetrize``: ``"max"`` (an edge when either point is among the other's neighbours:
    the usual kNN graph), ``"mean"`` (``(A + A^T)/2``: weight 1 for mutual, 1/2 for one-way
    neighbours, scikit-learn's ``SpectralClustering(affinity="nearest_neighbors")``) or
    ``"mutual"`` (only mutual neighbours, ``min(A, A^T)``).

    ``include_self=True`` counts each point as its own first neighbour, like scikit-learn's
    ``kneighbors_graph(include_self=True)``: ``k - 1`` others plus a diagonal entry, which
    the Laplacians ignore. Search: scipy's cKDTree for CPU points of dimension <= 16,
    otherwise brute force in torch on the points' device (blocks of 2**23 distances).

    Returns a dense (n, n) tensor, or a torch sparse COO tensor with ``sparse=True`` (for
    large n: a dense graph of n = 20000 needs 3.2 GB in float64).

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    >>> knn_graph(X, 1).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    >>> knn_graph(X, 1, symmetrize="mean").tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.5, 0.0]]
    """
    X = _points(X, "X", device, dtype)
    n = X.shape[0]
    k = _check_int(k, "k", 1)
    limit = n if include_self else n - 1
    if k > limit:
        raise ValueError(f"k must be <= {limit} (the number of {'points' if include_self else 'other points'}); got k={k}.")
    _check_choice(weights, "weights", ("connectivity", "distance", "gaussian"))
    _check_choice(symmetrize, "symmetrize", ("max", "mean", "mutual"))
    tree = X.device.type == "cpu" and X.shape[1] <= KNN_TREE_MAX_DIM
    with single_thread_if_small(_sort_work(n * k) if tree else n * n * X.shape[1], X.device):
        idx, dist = _knn_search(X, k, bool(include_self))
    with single_thread_if_small(_sort_work(2 * n * k), X.device):
        rows = torch.arange(n, device=X.device).repeat_interleave(k)
        vals = _weights(dist.reshape(-1), weights, bandwidth)
        rows, cols, vals = _symmetrized(rows, idx.reshape(-1), vals, n, symmetrize)
        return _assemble(rows, cols, vals, n, sparse, X.dtype, X.device, is_sorted=True)


def epsilon_graph(
    X,
    eps: float,
    *,
    weights: str = "connectivity",
    bandwidth: float | None = None,
    sparse: bool = False,
    device=None,
    dtype=None,
) -> torch.Tensor:
    """The epsilon-ball graph: an edge between distinct points at distance ``<= eps``.

    Weights as in :func:`knn_graph` (``"connectivity"``, ``"distance"`` or ``"gaussian"``
    with default bandwidth ``eps / 2``); the graph is symmetric by construction and has no
    self-loops. Found by blocks of torch distances on the points' device (memory O(2**23)
    per block, time O(n^2 d)).

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    >>> epsilon_graph(X, 1.5).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    X = _points(X, "X", device, dtype)
    n = X.shape[0]
    eps = _check_real(eps, "eps", positive=True)
    _check_choice(weights, "weights", ("connectivity", "distance", "gaussian"))
    sq = (X * X).sum(1)
    block = max(1, min(n, 2**23 // n))
    R, C, D = [], [], []
    for start in range(0, n, block):
        xb = X[start : start + block]
        d2 = (sq[start : start + block, None] + sq[None, :] - 2 * (xb @ X.T)).clamp_min(0)
        hit = d2 <= eps * eps
        rows = torch.arange(xb.shape[0], device=X.device)
        hit[rows, rows + start] = False
        r, c = torch.nonzero(hit, as_tuple=True)
        R.append(r + start)
        C.append(c)
        D.append(d2[r, c].sqrt())
    rows, cols, dist = torch.cat(R), torch.cat(C), torch.cat(D)
    vals = _weights(dist, weights, eps / 2 if bandwidth is None else bandwidth)
    if weights == "distance":
        # a duplicate point is at distance 0: keep the edge with a tiny positive weight
        vals = vals.clamp_min(torch.finfo(X.dtype).tiny)
    return _assemble(rows, cols, vals, n, sparse, X.dtype, X.device)


def gaussian_affinity(X, bandwidth: float, *, device=None, dtype=None) -> torch.Tensor:
    """The dense Gaussian affinity ``W[i, j] = exp(-||x_i - x_j||^2 / (2 bandwidth^2))``,
    zero diagonal.

    scikit-learn's ``rbf_kernel(gamma)`` and ``SpectralClustering(affinity="rbf", gamma)``
    use ``gamma = 1 / (2 bandwidth^2)`` (their diagonal of ones is ignored by the
    Laplacian, so the graphs agree).

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    >>> W = gaussian_affinity(X, 1.0)
    >>> round(float(W[0, 1]), 6), float(W[0, 0])
    (0.606531, 0.0)
    """
    X = _points(X, "X", device, dtype)
    bandwidth = _check_real(bandwidth, "bandwidth", positive=True)
    n = X.shape[0]
    _check_dense_memory(
        n, 2, X.dtype, X.device, "X", f"a dense {n} x {n} Gaussian affinity in {X.dtype}",
        "Use knn_graph(X, k, weights='gaussian', sparse=True) for a sparse graph.",
    )
    sq = (X * X).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2 * (X @ X.T)).clamp_min(0)
    W = torch.exp(-d2 / (2 * bandwidth * bandwidth))
    W.fill_diagonal_(0.0)
    return 0.5 * (W + W.T)  # exactly symmetric despite the rounding of X @ X.T


class BlockModel(NamedTuple):
    """A stochastic block model draw: ``adjacency`` (n, n) and ``labels`` (n,) int64."""

    adjacency: torch.Tensor
    labels: torch.Tensor


def stochastic_block_model(
    sizes,
    p_in: float = 0.5,
    p_out: float = 0.05,
    *,
    probabilities=None,
    directed: bool = False,
    seed: int | None = 0,
    sparse: bool = False,
    device=None,
    dtype=None,
) -> BlockModel:
    """A seeded stochastic block model: blocks of the given ``sizes``; nodes ``i`` in block
    ``a`` and ``j`` in block ``b`` are linked with probability ``P[a, b]``.

    ``P`` is ``probabilities`` (a (k, k) matrix, symmetric unless ``directed``) or, when that
    is None, ``p_in`` on the diagonal and ``p_out`` elsewhere. Undirected graphs draw each
    pair once (upper triangle) and mirror it; directed graphs draw every ordered pair.
    No self-loops; weights are 0/1. The uniform draws come in row blocks from one CPU
    generator seeded with ``seed``, so ``sparse=True`` (a torch sparse COO tensor, memory
    O(edges)) gives the same graph as the dense tensor, on any device.

    Examples
    --------
    >>> W, labels = stochastic_block_model([3, 2], 1.0, 0.0)
    >>> labels.tolist()
    [0, 0, 0, 1, 1]
    >>> W.sum(1).tolist()
    [2.0, 2.0, 2.0, 1.0, 1.0]
    """
    try:
        sizes = [int(s) for s in sizes]
    except TypeError:
        raise TypeError(f"sizes must be a list of block sizes; got {sizes!r}.") from None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be a non-empty list of positive block sizes; got {sizes}.")
    k = len(sizes)
    if probabilities is None:
        p_in, p_out = _check_real(p_in, "p_in"), _check_real(p_out, "p_out")
        P = torch.full((k, k), p_out, dtype=torch.float64)
        P.fill_diagonal_(p_in)
    else:
        P = torch.as_tensor(np.asarray(probabilities, dtype=float), dtype=torch.float64)
        if P.shape != (k, k):
            raise ValueError(f"probabilities must be a ({k}, {k}) matrix (one row per block); got shape {tuple(P.shape)}.")
        check_finite(P, "probabilities")
        if not directed and not torch.equal(P, P.T):
            raise ValueError("probabilities must be symmetric for an undirected graph; pass directed=True otherwise.")
    if bool((P < 0).any() | (P > 1).any()):
        raise ValueError("p_in, p_out and probabilities must lie in [0, 1].")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    n = sum(sizes)
    labels = torch.repeat_interleave(torch.arange(k), torch.tensor(sizes))
    if not sparse:
        _check_dense_memory(n, 1, dt, dev, "sizes", f"a dense {n} x {n} adjacency in {dt}",
                            "Pass sparse=True for a torch sparse COO adjacency.")
    gen = _generator(seed)
    block = max(1, min(n, 2**22 // n))
    R, C = [], []
    for start in range(0, n, block):
        stop = min(n, start + block)
        u = torch.rand(stop - start, n, generator=gen, dtype=torch.float64)
        hit = u < P[labels[start:stop]][:, labels]
        rows = torch.arange(stop - start)
        hit[rows, rows + start] = False
        if not directed:
            hit &= torch.arange(n)[None, :] > (rows + start)[:, None]
        r, c = torch.nonzero(hit, as_tuple=True)
        R.append(r + start)
        C.append(c)
    rows, cols = torch.cat(R), torch.cat(C)
    if not directed:
        rows, cols = torch.cat([rows, cols]), torch.cat([cols, rows])
    rows, cols = rows.to(dev), cols.to(dev)
    vals = torch.ones(rows.shape[0], dtype=dt, device=dev)
    return BlockModel(_assemble(rows, cols, vals, n, sparse, dt, dev), labels.to(dev))


# ------------------------------------------------------------------------------ Laplacians


def _offdiag(A: torch.Tensor):
    """(rows, cols, vals) of the off-diagonal nonzeros and the degrees (n,), self-loops out."""
    rows, cols, vals = _entries(A)
    off = rows != cols
    rows, cols, vals = rows[off], cols[off], vals[off]
    deg = torch.zeros(A.shape[0], dtype=vals.dtype, device=vals.device).index_add_(0, rows, vals)
    return rows, cols, vals, deg


def _inv_sqrt(deg: torch.Tensor) -> torch.Tensor:
    return torch.where(deg > 0, deg.clamp_min(torch.finfo(deg.dtype).tiny).rsqrt(), torch.zeros_like(deg))


def _laplacian_from(A: torch.Tensor, kind: str) -> torch.Tensor:
    """The Laplacian of a canonical symmetric adjacency (dense or sparse, same layout)."""
    n = A.shape[0]
    if A.is_sparse:
        rows, cols, vals, deg = _offdiag(A)
        if kind == "combinatorial":
            off, diag = -vals, deg
        elif kind == "symmetric":
            s = _inv_sqrt(deg)
            off, diag = -vals * s[rows] * s[cols], (deg > 0).to(vals.dtype)
        else:  # random walk
            inv = torch.where(deg > 0, 1.0 / torch.where(deg > 0, deg, 1.0), 0.0)
            off, diag = -vals * inv[rows], (deg > 0).to(vals.dtype)
        return _with_diagonal(rows, cols, off, diag, n)
    A0 = A.clone()
    A0.fill_diagonal_(0)
    deg = A0.sum(1)
    if kind == "combinatorial":
        L = -A0
        L.diagonal().copy_(deg)
    elif kind == "symmetric":
        s = _inv_sqrt(deg)
        L = -(s[:, None] * A0 * s[None, :])
        L.diagonal().copy_((deg > 0).to(A.dtype))
    else:
        inv = torch.where(deg > 0, 1.0 / torch.where(deg > 0, deg, 1.0), 0.0)
        L = -(inv[:, None] * A0)
        L.diagonal().copy_((deg > 0).to(A.dtype))
    return L


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _magnetic_from(A: torch.Tensor, q: float, normalized: bool) -> torch.Tensor:
    n = A.shape[0]
    cdt = _complex_dtype(A.dtype)
    if A.is_sparse:
        rows, cols, vals = _entries(A)
        off = rows != cols
        rows, cols, vals = rows[off], cols[off], vals[off]
        # forward and backward weight of every pair in the union of both patterns
        key = torch.cat([rows * n + cols, cols * n + rows])
        uniq, inv = torch.unique(key, sorted=True, return_inverse=True)
        m = rows.shape[0]
        fwd = torch.zeros(uniq.shape[0], dtype=vals.dtype, device=vals.device).index_add_(0, inv[:m], vals)
        bwd = torch.zeros(uniq.shape[0], dtype=vals.dtype, device=vals.device).index_add_(0, inv[m:], vals)
        r, c = uniq // n, uniq % n
        ws = 0.5 * (fwd + bwd)
        theta = 2 * math.pi * q * (fwd - bwd)
        deg = torch.zeros(n, dtype=vals.dtype, device=vals.device).index_add_(0, r, ws)
        h = ws * torch.exp(1j * theta.to(cdt))
        if normalized:
            s = _inv_sqrt(deg)
            off = -h * (s[r] * s[c])
            diag = (deg > 0).to(cdt)
        else:
            off, diag = -h, deg.to(cdt)
        return _with_diagonal(r, c, off, diag, n)
    A0 = A.clone()
    A0.fill_diagonal_(0)
    ws = 0.5 * (A0 + A0.T)
    theta = 2 * math.pi * q * (A0 - A0.T)
    H = ws * torch.exp(1j * theta.to(cdt))
    deg = ws.sum(1)
    if normalized:
        s = _inv_sqrt(deg)
        L = -(s[:, None] * H * s[None, :])
        L.diagonal().copy_((deg > 0).to(cdt))
    else:
        L = -H
        L.diagonal().copy_(deg.to(cdt))
    return L


def _resolve_kind(kind: str, q):
    _check_choice(kind, "kind", LAPLACIANS)
    if kind.startswith("magnetic"):
        return 0.25 if q is None else _check_q(q)
    if q is not None:
        raise ValueError(f"q (the magnetic charge) only applies to the magnetic kinds; got q={q!r} with kind={kind!r}.")
    return None


def _check_q(q) -> float:
    if isinstance(q, torch.Tensor) and q.numel() == 1:
        q = q.item()
    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not math.isfinite(float(q)):
        raise TypeError(f"q must be a finite real number (the magnetic charge, usually in [0, 0.25]); got {q!r}.")
    return float(q)


def laplacian(W, kind: str = "combinatorial", *, q: float | None = None, device=None, dtype=None) -> torch.Tensor:
    """A graph Laplacian of the adjacency ``W`` (self-loops ignored).

    ======================== ====================================================
    ``combinatorial``        ``L = D - W``
    ``symmetric``            ``L = I - D^{-1/2} W D^{-1/2}`` (``scipy``'s ``normed=True``;
                             rows of isolated nodes are 0, as scipy's)
    ``random_walk``          ``L = I - D^{-1} W`` (not symmetric; similar to ``symmetric``)
    ``magnetic``             ``D_s - W_s * exp(i Theta)``, see :func:`magnetic_laplacian`
    ``magnetic_normalized``  ``I - D_s^{-1/2} (W_s * exp(i Theta)) D_s^{-1/2}``
    ======================== ====================================================

    ``D`` is the diagonal of degrees ``d_i = sum_{j != i} W[i, j]``. The result has W's
    layout (dense, or torch sparse COO for sparse/scipy inputs), device and dtype (complex
    for the magnetic kinds). ``q`` is the magnetic charge (default 0.25).

    Examples
    --------
    >>> W = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    >>> laplacian(W).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    >>> laplacian(W, "symmetric").tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    q = _resolve_kind(kind, q)
    if kind.startswith("magnetic"):
        return magnetic_laplacian(W, q, normalized=kind == "magnetic_normalized", device=device, dtype=dtype)
    A = adjacency(W, device=device, dtype=dtype)
    with single_thread_if_small(_sort_work(_size(A)), A.device):
        return _laplacian_from(A, kind)


def magnetic_laplacian(W, q: float = 0.25, *, normalized: bool = False, device=None, dtype=None) -> torch.Tensor:
    """The magnetic Laplacian of a directed graph (Zhang et al. 2021, MagNet).

    With ``W_s = (W + W^T)/2``, ``D_s`` its degrees and the phases
    ``Theta = 2 pi q (W - W^T)``, the Hermitian "magnetic adjacency" is
    ``H = W_s * exp(i Theta)`` (entrywise) and

    ``L = D_s - H``, or ``I - D_s^{-1/2} H D_s^{-1/2}`` with ``normalized=True``.

    L is Hermitian and positive semi-definite,
    ``x^H L x = 1/2 sum_ij W_s[i, j] |x_i - exp(i Theta_ij) x_j|^2 >= 0``, its eigenvalues
    lie in ``[0, 2]`` when normalized, and at ``q = 0`` it is the ordinary (combinatorial
    or symmetric) Laplacian of ``W_s``. An edge one way only gets the phase
    ``+-2 pi q w``: ``q = 0.25`` makes an unweighted one-way edge purely imaginary,
    the most direction-sensitive choice; q is periodic with period ``1/w``. ``W`` may be
    any non-negative matrix (dense, torch sparse or scipy sparse); the result is complex
    (complex128 for float64) with W's layout and device.

    Examples
    --------
    >>> W = torch.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)  # 0 -> 1
    >>> L = magnetic_laplacian(W, 0.25)
    >>> torch.allclose(L, torch.tensor([[0.5, -0.5j], [0.5j, 0.5]], dtype=torch.complex128))
    True
    >>> torch.equal(L, L.mH), torch.allclose(magnetic_laplacian(W, 0.0).real, laplacian((W + W.T) / 2))
    (True, True)
    """
    q = _check_q(q)
    A = adjacency(W, directed=True, device=device, dtype=dtype)
    with single_thread_if_small(_sort_work(_size(A)), A.device):
        return _magnetic_from(A, q, bool(normalized))


def _edge_degree_bound(rows, cols, deg) -> float:
    if rows.numel() == 0:
        return 0.0
    return float((deg[rows] + deg[cols]).max())


def lambda_max_bound(W, kind: str = "combinatorial", *, q: float | None = None, device=None, dtype=None) -> float:
    """A guaranteed upper bound on the largest eigenvalue of the Laplacian of ``W``.

    Combinatorial and magnetic: ``max over edges (i, j) of d_i + d_j`` (Anderson and
    Morley 1985; it holds for weighted graphs: ``lam_max(L) <= lam_max(|B| W_e |B|^T)``
    and the Collatz-Wielandt bound with the vector ``sqrt(w_e)`` gives ``d_i + d_j``,
    and for the magnetic Laplacian ``|x^H L x| <= |x|^T (D + W_s) |x|``). Normalized kinds
    (symmetric, random walk, magnetic normalized): 2. A graph without edges gives 0.

    Examples
    --------
    >>> W, _ = stochastic_block_model([4], 1.0)  # the complete graph K4: eigenvalues 0, 4, 4, 4
    >>> lambda_max_bound(W)
    6.0
    """
    _resolve_kind(kind, q)
    if kind in ("symmetric", "random_walk", "magnetic_normalized"):
        return 2.0
    return _lambda_max_bound(adjacency(W, directed=kind == "magnetic", device=device, dtype=dtype), kind)


def _lambda_max_bound(A: torch.Tensor, kind: str) -> float:
    if kind in ("symmetric", "random_walk", "magnetic_normalized"):
        return 2.0
    if kind == "magnetic":
        rows, cols, vals = _entries(A)
        keep = rows != cols
        rows, cols, vals = _symmetrized(rows[keep], cols[keep], vals[keep], A.shape[0], "mean")
        deg = torch.zeros(A.shape[0], dtype=vals.dtype, device=vals.device).index_add_(0, rows, vals)
        return _edge_degree_bound(rows, cols, deg)
    rows, cols, _vals, deg = _offdiag(A)
    return _edge_degree_bound(rows, cols, deg)


# ------------------------------------------------------------------------------ eigenpairs


@dataclass(frozen=True)
class GraphSpectrum:
    """The lowest eigenpairs of a graph Laplacian, computed once and reused.

    Attributes
    ----------
    values : (k,) real tensor, ascending (the graph frequencies ``lam``).
    vectors : (n, k) tensor, orthonormal columns (complex for the magnetic kinds). For
        ``kind="random_walk"`` the right eigenvectors ``D^{-1/2} u`` of ``I - D^{-1} W``,
        orthonormal in the degree inner product ``V^T D V = I``.
    kind : the Laplacian (see :data:`LAPLACIANS`).
    method : the eigensolver that ran: ``"dense"`` (``torch.linalg.eigh`` on ``device``),
        ``"shift_invert"`` (ARPACK on the CPU), ``"lanczos"`` (ARPACK, no factorization),
        ``"lobpcg"``.
    n_components : connected components found (they give the exact null space, deflated
        by the sparse solvers); ``None`` where not computed (dense solver, magnetic kinds).
    degrees : (n,) the degrees for ``random_walk`` (the Fourier transform is
        ``V^T D x``), else None.
    """

    values: torch.Tensor
    vectors: torch.Tensor
    kind: str
    method: str
    n_components: int | None = None
    degrees: torch.Tensor | None = None

    @property
    def n(self) -> int:
        """The number of nodes."""
        return self.vectors.shape[0]

    @property
    def k(self) -> int:
        """The number of eigenpairs."""
        return self.values.shape[0]

    @property
    def complete(self) -> bool:
        """Whether all n eigenpairs are present (needed by exact filtering)."""
        return self.k == self.n

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Graph Fourier coefficients of signals ``x`` (n,) or (n, c): ``V^H x`` (``V^T D x``
        for the random walk)."""
        if self.degrees is not None:
            x = self.degrees.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype) * x
        return self.vectors.mH @ x.to(self.vectors.dtype)

    def inverse(self, coef: torch.Tensor) -> torch.Tensor:
        """Signals from coefficients (k,) or (k, c): ``V coef``."""
        return self.vectors @ coef.to(self.vectors.dtype)


def _to_scipy(L: torch.Tensor):
    """A CPU scipy CSC matrix (float64 or complex128) of a dense or sparse torch matrix."""
    n = L.shape[0]
    if L.is_sparse:
        idx = L.indices().cpu().numpy()
        v = L.values().detach().cpu()
        v = v.to(torch.complex128 if v.is_complex() else torch.float64).numpy()
        return sp.csc_array((v, (idx[0], idx[1])), shape=(n, n))
    Ld = L.detach().cpu()
    Ld = Ld.to(torch.complex128 if Ld.is_complex() else torch.float64).numpy()
    return sp.csc_array(Ld)


def _density(L: torch.Tensor) -> float:
    n = L.shape[0]
    nnz = L._nnz() if L.is_sparse else int(torch.count_nonzero(L))
    return nnz / max(n * n, 1)


def _choose_method(L: torch.Tensor, k: int | None, method: str) -> str:
    n = L.shape[0]
    if method != "auto":
        return method
    if k is None or n <= SMALL or 2 * k >= n:
        return "dense"
    if L.device.type == "cuda" and n <= DENSE_MAX_GPU:
        copies = 4 if L.is_complex() else 3
        nbytes = copies * n * n * itemsize(L.dtype)
        if nbytes <= available_bytes(L.device):
            return "dense"
    if _density(L) <= SPARSE_DENSITY:
        return "shift_invert"
    return "dense" if n <= DENSE_MAX_CPU else "lanczos"


def _dense_eigh(L: torch.Tensor, k: int | None):
    n = L.shape[0]
    Ld = L.to_dense() if L.is_sparse else L
    copies = 4 if L.is_complex() else 3
    _check_dense_memory(
        n, copies, L.dtype, L.device, "W", f"a dense eigendecomposition of a {n} x {n} Laplacian in {L.dtype}",
        "Ask for the lowest k eigenpairs (k=...) of a sparse graph (method='shift_invert' on the CPU), "
        "use a sparse graph (knn_graph(..., sparse=True)), or dtype=torch.float32.",
    )
    vals, vecs = torch.linalg.eigh(0.5 * (Ld + Ld.mH))
    if k is not None:
        vals, vecs = vals[:k], vecs[:, :k]
    return vals, vecs


def _null_space(A: torch.Tensor, kind: str):
    """Exact null vectors (n, c) of the combinatorial/symmetric Laplacian: one per connected
    component (largest first), ``1_C`` or ``D^{1/2} 1_C`` normalized; isolated nodes ``e_i``."""
    from scipy.sparse.csgraph import connected_components

    n = A.shape[0]
    rows, cols, vals, deg = _offdiag(A)
    pattern = sp.csr_array(
        (np.ones(rows.shape[0]), (rows.cpu().numpy(), cols.cpu().numpy())), shape=(n, n)
    )
    c, comp = connected_components(pattern, directed=False)
    sizes = np.bincount(comp, minlength=c)
    order = np.argsort(-sizes, kind="stable")  # largest component first
    rank = np.empty(c, dtype=np.int64)
    rank[order] = np.arange(c)
    comp = rank[comp]
    d = deg.detach().cpu().double().numpy()
    base = np.ones(n) if kind == "combinatorial" else np.sqrt(d)
    base = np.where(d > 0, base, 1.0)  # isolated nodes: e_i
    Z = np.zeros((n, c))
    Z[np.arange(n), comp] = base
    Z /= np.linalg.norm(Z, axis=0)
    return Z, c


_BLAS = []  # a threadpoolctl controller, made at first use (after scipy loaded its BLAS)


def _one_blas_thread():
    """Limit BLAS to one thread where threadpoolctl is installed (scikit-learn brings it).

    ARPACK and LOBPCG call BLAS on vectors of length n with a few dozen columns: too
    little work for threads, and on a busy machine idle BLAS threads spinning against
    torch's cost more than the solve (0.9 s instead of 0.3 s for a 20000-node graph).
    """
    import scipy.sparse.linalg  # noqa: F401  (loads scipy's BLAS before the controller looks)

    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _sparse_eigh(Ls, k: int, method: str, Z, *, tol, seed, max_iter, shift_scale: float):
    """Lowest k eigenpairs of a scipy Hermitian PSD matrix, with the known null vectors
    ``Z`` (n, c) deflated (returned first, eigenvalue 0)."""
    with _one_blas_thread():
        return _sparse_eigh_work(Ls, k, method, Z, tol=tol, seed=seed, max_iter=max_iter, shift_scale=shift_scale)


def _sparse_eigh_work(Ls, k: int, method: str, Z, *, tol, seed, max_iter, shift_scale: float):
    import scipy.sparse.linalg as sla

    n = Ls.shape[0]
    c = 0 if Z is None else Z.shape[1]
    dtype = Ls.dtype
    if c >= k:
        return np.zeros(k), Z[:, :k].astype(dtype)
    m = k - c
    if m >= n - c - 1:
        vals, vecs = np.linalg.eigh(Ls.toarray())
        return vals[:k], vecs[:, :k]
    rng = np.random.default_rng(seed)
    v0 = rng.uniform(-1, 1, n).astype(dtype)

    def project(x):
        if c:
            x = x - Z @ (Z.T @ x)
        return x

    if c:
        v0 = project(v0)
    tol = 0.0 if tol is None else float(tol)
    if method == "shift_invert":
        # (L - sigma I)^{-1} with a small negative shift: Hermitian positive definite, so
        # no pivoting; a minimum-degree ordering of A + A^T keeps the fill-in low
        sigma = -1e-5 * max(shift_scale, 1e-300)
        M = (Ls - sigma * sp.eye_array(n, dtype=dtype, format="csc")).tocsc()
        lu = sla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})

        def solve(x):
            x = np.asarray(x).reshape(n, -1)
            return project(lu.solve(project(x).astype(dtype, copy=False)))

        op = sla.LinearOperator((n, n), matvec=solve, matmat=solve, dtype=dtype)
        vals, vecs = sla.eigsh(Ls, m, sigma=sigma, which="LM", OPinv=op, v0=v0, tol=tol, maxiter=max_iter)
    elif method == "lanczos":
        # the null space moved to the top of the spectrum, the rest found by plain Lanczos
        top = 2.0 * max(shift_scale, 1.0)

        def mv(x):
            x = np.asarray(x).reshape(n, -1)
            y = Ls @ x
            return y + top * (Z @ (Z.conj().T @ x)) if c else y

        op = sla.LinearOperator((n, n), matvec=mv, matmat=mv, dtype=dtype)
        vals, vecs = sla.eigsh(op, m, which="SA", v0=v0, tol=tol, maxiter=max_iter)
    else:  # lobpcg, Jacobi-preconditioned, in the complement of the null space
        diag = Ls.diagonal().real
        inv = np.where(diag > 0, 1.0 / np.where(diag > 0, diag, 1.0), 1.0)

        def jacobi(x):
            x = np.asarray(x)
            return inv.reshape(n, *([1] * (x.ndim - 1))) * x

        prec = sla.LinearOperator((n, n), matvec=jacobi, matmat=jacobi, dtype=dtype)
        X0 = rng.standard_normal((n, m)).astype(dtype)
        with warnings.catch_warnings():
            # scipy only warns when it stops unconverged: make that an error
            warnings.filterwarnings("error", message="(?s).*not reaching the requested tolerance", category=UserWarning)
            try:
                vals, vecs = sla.lobpcg(Ls, X0, M=prec, Y=Z.astype(dtype) if c else None, largest=False,
                                        tol=None if tol == 0.0 else tol, maxiter=max_iter or 500)
            except UserWarning as w:
                raise RuntimeError(
                    f"method='lobpcg' did not converge ({w}); raise max_iter or use method='shift_invert'."
                ) from None
    order = np.argsort(vals)
    vals, vecs = vals[order], vecs[:, order]
    if c:
        vals = np.concatenate([np.zeros(c), vals])
        vecs = np.concatenate([Z.astype(dtype), vecs], axis=1)
    return vals, vecs


def _eigh_any(L: torch.Tensor, k, method: str, *, Z=None, tol=None, seed=0, max_iter=None, shift_scale=2.0):
    """Dispatch to the dense or a sparse solver; results on L's device, L's real dtype."""
    chosen = _choose_method(L, k, method)
    if chosen == "dense":
        vals, vecs = _dense_eigh(L, k)
        return vals, vecs, chosen
    if k is None:
        raise ValueError(f"method={chosen!r} computes the lowest k eigenpairs: pass k (or method='dense' for all).")
    n = L.shape[0]
    if k >= n:
        raise ValueError(f"k must be < n ({n}) for method={chosen!r}; use method='dense' for all eigenpairs.")
    vals, vecs = _sparse_eigh(_to_scipy(L), k, chosen, Z, tol=tol, seed=seed, max_iter=max_iter,
                              shift_scale=shift_scale)
    real = L.real.dtype if L.is_complex() else L.dtype
    vals = torch.as_tensor(vals.real, dtype=real, device=L.device)
    vecs = torch.as_tensor(vecs, device=L.device).to(L.dtype)
    return vals, vecs, chosen


def _check_k(k, n: int, name: str = "k"):
    if k is None:
        return None
    k = _check_int(k, name, 1)
    if k > n:
        raise ValueError(f"{name} must be <= n (the number of nodes, {n}); got {k}.")
    return k


def laplacian_eigh(
    L,
    k: int | None = None,
    *,
    method: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    max_iter: int | None = None,
) -> GraphSpectrum:
    """The lowest ``k`` (default all) eigenpairs of a symmetric (or Hermitian) positive
    semi-definite matrix ``L`` (a Laplacian made elsewhere: dense, torch sparse, scipy sparse).

    ``method``: ``"dense"`` (``torch.linalg.eigh`` on L's device, memory-checked),
    ``"shift_invert"`` (ARPACK on the CPU around a small negative shift, a sparse LU),
    ``"lanczos"`` (ARPACK, smallest algebraic, no factorization), ``"lobpcg"`` (scipy,
    Jacobi preconditioner), or ``"auto"``: dense for all eigenpairs, n <= 256 or k >= n/2;
    on a GPU dense up to n = 10,000 where it fits; on the CPU shift-invert for sparse
    matrices (at most 5 % nonzeros), dense up to n = 10,000, Lanczos beyond. The sparse
    solvers run in float64 (complex128) on the CPU and return on L's device and dtype.
    ``tol``: ARPACK's relative accuracy (default 0, machine precision). Unlike
    :func:`graph_spectrum` this does not deflate the null space, so an exactly repeated
    zero eigenvalue (a disconnected graph) is best left to :func:`graph_spectrum`.

    Examples
    --------
    >>> W, _ = stochastic_block_model([4], 1.0)
    >>> spec = laplacian_eigh(laplacian(W))
    >>> [round(float(v), 10) + 0.0 for v in spec.values], spec.method
    ([0.0, 4.0, 4.0, 4.0], 'dense')
    """
    if sp.issparse(L):
        L = _torch_from_scipy(L)
    elif not isinstance(L, torch.Tensor):
        L = torch.as_tensor(np.asarray(L), dtype=resolve_dtype(None), device=resolve_device(None))
    if L.layout not in (torch.strided, torch.sparse_coo):
        L = L.to_sparse_coo()
    if L.is_sparse:
        L = L.coalesce()
    if L.ndim != 2 or L.shape[0] != L.shape[1]:
        raise ValueError(f"L must be a square matrix; got shape {tuple(L.shape)}.")
    if not (L.is_floating_point() or L.is_complex()):
        L = L.to(torch.float64)
    check_finite(L.values() if L.is_sparse else L, "L")
    ok, worst = _is_symmetric(L)
    if not ok:
        raise ValueError(
            f"L is not symmetric/Hermitian (largest |L - L^H| = {worst:.3g}). The random-walk "
            "Laplacian is not symmetric: use graph_spectrum(W, kind='random_walk'), which works "
            "through the symmetric one."
        )
    _check_choice(method, "method", EIGEN_METHODS)
    k = _check_k(k, L.shape[0])
    vals, vecs, chosen = _eigh_any(L, k, method, tol=tol, seed=seed, max_iter=max_iter,
                                   shift_scale=_gershgorin(L))
    return GraphSpectrum(vals, vecs, "custom", chosen)


def _torch_from_scipy(M) -> torch.Tensor:
    """A scipy sparse matrix (any real or complex values) as a coalesced torch COO tensor."""
    coo = sp.coo_array(M)
    dev = resolve_device(None)
    vals = torch.as_tensor(coo.data)
    if not (vals.is_complex() or vals.is_floating_point()):
        vals = vals.to(torch.float64)
    idx = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64))
    return torch.sparse_coo_tensor(idx, vals, coo.shape, check_invariants=False).coalesce().to(dev)


def _gershgorin(L: torch.Tensor) -> float:
    if L.is_sparse:
        idx, v = L.indices(), L.values().abs()
        rs = torch.zeros(L.shape[0], dtype=v.dtype, device=v.device).index_add_(0, idx[0], v)
    else:
        rs = L.abs().sum(1)
    return float(rs.max()) if rs.numel() else 1.0


def graph_spectrum(
    W,
    k: int | None = None,
    *,
    kind: str = "symmetric",
    q: float | None = None,
    method: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    max_iter: int | None = None,
    device=None,
    dtype=None,
) -> GraphSpectrum:
    """The lowest ``k`` eigenpairs (default all) of the Laplacian of ``W``.

    Parameters
    ----------
    W : adjacency (dense, torch sparse or scipy sparse; see :func:`adjacency`)
    k : int, optional
        How many of the lowest eigenpairs; None: all (dense solver).
    kind : str
        One of :data:`LAPLACIANS` (default ``"symmetric"``); ``q`` for the magnetic kinds.
        ``random_walk`` is solved through the symmetric Laplacian (same eigenvalues,
        eigenvectors ``D^{-1/2} u``).
    method : str
        ``"auto"`` (default) picks from size, sparsity and device and the result records
        it: see :func:`laplacian_eigh`. The sparse solvers deflate the exact null space
        (one vector per connected component, ``1_C`` or ``D^{1/2} 1_C``, largest component
        first), so a disconnected graph's repeated zero eigenvalue is found exactly.
    tol, seed, max_iter
        ARPACK's / LOBPCG's tolerance (default machine precision), the seed of the start
        vector, and the most iterations.

    Returns
    -------
    GraphSpectrum
        Eigenvalues ascending, eigenvectors on W's device and dtype, ``method`` and
        ``n_components``.

    Examples
    --------
    >>> W, _ = stochastic_block_model([5, 5], 1.0, 0.0)  # two disjoint cliques
    >>> spec = graph_spectrum(W, 3, method="shift_invert")
    >>> [round(float(v), 8) + 0.0 for v in spec.values], spec.method, spec.n_components
    ([0.0, 0.0, 1.25], 'shift_invert', 2)
    """
    q = _resolve_kind(kind, q)
    _check_choice(method, "method", EIGEN_METHODS)
    A = adjacency(W, directed=kind.startswith("magnetic"), device=device, dtype=dtype)
    return _graph_spectrum(A, _check_k(k, A.shape[0]), kind, q, method, tol, seed, max_iter)


def _graph_spectrum(A, k, kind, q, method, tol=None, seed=0, max_iter=None) -> GraphSpectrum:
    """graph_spectrum on a checked adjacency."""
    # the sparse path does O(nnz) torch work around scipy's solvers: one thread is as fast
    # and does not wait on busy cores; a dense eigh keeps every thread
    work = _sort_work(_size(A)) if A.is_sparse and k is not None else A.shape[0] ** 3
    with single_thread_if_small(work, A.device):
        return _graph_spectrum_work(A, k, kind, q, method, tol, seed, max_iter)


def _size(A: torch.Tensor) -> int:
    return A._nnz() if A.is_sparse else A.numel()


def _sort_work(m: int) -> float:
    """The work of sorting-based sparse assembly of m entries, for single_thread_if_small."""
    return m * max(1.0, math.log2(max(m, 2)))


def _graph_spectrum_work(A, k, kind, q, method, tol, seed, max_iter) -> GraphSpectrum:
    if kind.startswith("magnetic"):
        L = _magnetic_from(A, q, kind == "magnetic_normalized")
        Z, c = None, None
    else:
        base = "combinatorial" if kind == "combinatorial" else "symmetric"
        L = _laplacian_from(A, base)
        Z, c = None, None
        if _choose_method(L, k, method) != "dense":
            Z, c = _null_space(A, base)
    scale = _lambda_max_bound(A, kind) if kind in ("combinatorial", "magnetic") else 2.0
    vals, vecs, chosen = _eigh_any(L, k, method, Z=Z, tol=tol, seed=seed, max_iter=max_iter, shift_scale=scale)
    degrees = None
    if kind == "random_walk":
        _r, _c, _v, deg = _offdiag(A)
        vecs = vecs * _inv_sqrt(deg).where(deg > 0, torch.ones_like(deg))[:, None]
        degrees = torch.where(deg > 0, deg, torch.ones_like(deg))
    return GraphSpectrum(vals, vecs, kind, chosen, c, degrees)


def fix_signs(vectors: torch.Tensor, *, rtol: float | None = None) -> torch.Tensor:
    """Eigenvectors with a deterministic sign (or, for complex vectors, phase).

    An eigenvector is defined up to its sign (a unit phase when complex). Convention: the
    entry of largest magnitude is made real and positive; entries within a relative
    ``rtol`` of that magnitude (default ``sqrt(eps)`` of the dtype) count as tied and the
    lowest node index among them wins, so round-off cannot flip the choice. The same as
    scikit-learn's ``_deterministic_vector_sign_flip`` except for that tie rule. Returns a
    new tensor; columns that are all zero are left as they are.

    The convention cannot resolve the *basis* ambiguity of a repeated eigenvalue (any
    orthonormal basis of its eigenspace is as valid): see
    :func:`laplacian_positional_encoding`, which flags such modes.

    Examples
    --------
    >>> fix_signs(torch.tensor([[0.6, 0.5], [-0.8, -1.0]], dtype=torch.float64)).tolist()
    [[-0.6, -0.5], [0.8, 1.0]]
    """
    if not isinstance(vectors, torch.Tensor) or vectors.ndim not in (1, 2):
        raise ValueError("vectors must be a tensor of shape (n,) or (n, k) (eigenvectors in columns).")
    V = vectors[:, None] if vectors.ndim == 1 else vectors
    real = V.real.dtype if V.is_complex() else V.dtype
    rtol = math.sqrt(torch.finfo(real).eps) if rtol is None else _check_real(rtol, "rtol")
    mag = V.abs()
    top = mag.amax(0, keepdim=True)
    tied = mag >= top * (1 - rtol)
    first = torch.argmax(tied.to(torch.int8), dim=0)  # lowest index among the tied
    pivot = V[first, torch.arange(V.shape[1], device=V.device)]
    if V.is_complex():
        phase = torch.where(pivot.abs() > 0, pivot.abs() / torch.where(pivot.abs() > 0, pivot, 1), 1)
    else:
        phase = torch.where(pivot < 0, -1.0, 1.0).to(V.dtype)
    out = V * phase[None, :]
    return out[:, 0] if vectors.ndim == 1 else out


class SpectralEmbedding(NamedTuple):
    """``embedding`` (n, k): rows are the nodes' coordinates; ``spectrum`` behind it."""

    embedding: torch.Tensor
    spectrum: GraphSpectrum


def spectral_embedding(
    W,
    k: int,
    *,
    kind: str = "symmetric",
    normalize_rows: bool = False,
    drop_first: bool = False,
    method: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
) -> SpectralEmbedding:
    """Node coordinates from the ``k`` lowest Laplacian eigenvectors.

    ``kind="symmetric"`` gives the Ng-Jordan-Weiss embedding (with ``normalize_rows=True``
    each row scaled to unit length), ``"random_walk"`` the Shi-Malik one (``D^{-1/2} u``,
    scikit-learn's ``spectral_embedding`` up to the scaling of the columns),
    ``"combinatorial"`` the unnormalized one. ``drop_first`` drops the first (trivial)
    eigenvector. Signs follow :func:`fix_signs`.

    Examples
    --------
    >>> W, _ = stochastic_block_model([3, 3], 1.0, 0.0)
    >>> emb = spectral_embedding(W, 2, normalize_rows=True).embedding
    >>> emb.shape, bool(torch.allclose(emb.norm(dim=1), torch.ones(6, dtype=emb.dtype)))
    (torch.Size([6, 2]), True)
    """
    A = adjacency(W)
    k = _check_k(k, A.shape[0])
    kk = k + 1 if drop_first else k
    if kk > A.shape[0]:
        raise ValueError(f"k + 1 must be <= n with drop_first=True; got k={k}, n={A.shape[0]}.")
    _check_choice(kind, "kind", ("combinatorial", "symmetric", "random_walk"))
    _check_choice(method, "method", EIGEN_METHODS)
    spec = _graph_spectrum(A, kk, kind, None, method, tol, seed)
    U = spec.vectors[:, 1:] if drop_first else spec.vectors
    U = fix_signs(U)
    if normalize_rows:
        norm = torch.linalg.vector_norm(U, dim=1, keepdim=True)
        U = U / torch.where(norm > 0, norm, torch.ones_like(norm))
    return SpectralEmbedding(U, spec)


class Eigengap(NamedTuple):
    """``n_clusters`` chosen by the largest gap; ``gaps`` (m-1,) ``lam[i+1] - lam[i]``."""

    n_clusters: int
    gaps: torch.Tensor


def eigengap(values, max_clusters: int | None = None) -> Eigengap:
    """The eigengap heuristic (von Luxburg 2007): the number of clusters ``k`` that
    maximizes ``lam_{k+1} - lam_k`` (1-based, eigenvalues ascending), ``k <= max_clusters``.

    A graph of k well-separated clusters has k eigenvalues near 0 and a gap after them.
    Needs ``max_clusters + 1`` eigenvalues (default: all given, minus one).

    Examples
    --------
    >>> eigengap(torch.tensor([0.0, 0.01, 0.02, 0.9, 1.0])).n_clusters
    3
    """
    lam = torch.as_tensor(values)
    if lam.ndim != 1 or lam.shape[0] < 2:
        raise ValueError(f"values must be a 1-D tensor of at least 2 eigenvalues; got shape {tuple(lam.shape)}.")
    lam = lam.real if lam.is_complex() else lam
    if bool((torch.diff(lam) < -1e-8 * lam.abs().max().clamp_min(1)).any()):
        raise ValueError("values must be sorted ascending (as GraphSpectrum.values are).")
    m = lam.shape[0] - 1 if max_clusters is None else _check_int(max_clusters, "max_clusters", 1)
    if m > lam.shape[0] - 1:
        raise ValueError(f"max_clusters={m} needs {m + 1} eigenvalues; got {lam.shape[0]}.")
    gaps = torch.diff(lam)
    return Eigengap(int(torch.argmax(gaps[:m])) + 1, gaps)


# ------------------------------------------------------------------------------ k-means


class KMeansResult(NamedTuple):
    """``labels`` (n,), ``centers`` (k, d), ``inertia`` (sum of squared distances),
    ``n_iter`` of the best initialization, ``inertias`` (n_init,) of all of them."""

    labels: torch.Tensor
    centers: torch.Tensor
    inertia: float
    n_iter: int
    inertias: torch.Tensor


def _sq_dist(X: torch.Tensor, sqX: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Squared distances (n, B, m) between points X (n, d) and centers C (B, m, d): one GEMM."""
    B, m, d = C.shape
    Cf = C.reshape(B * m, d)
    d2 = sqX[:, None] + (Cf * Cf).sum(1)[None, :] - 2 * (X @ Cf.T)
    return d2.clamp_min(0).reshape(-1, B, m)


def _kmeanspp(X, sqX, k: int, n_init: int, gen: torch.Generator) -> torch.Tensor:
    """Greedy k-means++ (Arthur and Vassilvitskii 2007; scikit-learn's 2 + log k trials),
    all initializations at once. Draws are uniform numbers from the CPU generator."""
    n, d = X.shape
    dev = X.device
    trials = 2 + int(math.log(k))
    first = torch.randint(n, (n_init,), generator=gen).to(dev)
    C = torch.empty(n_init, k, d, dtype=X.dtype, device=dev)
    C[:, 0] = X[first]
    closest = _sq_dist(X, sqX, C[:, :1])[..., 0].T.contiguous()  # (B, n)
    ar = torch.arange(n_init, device=dev)
    for j in range(1, k):
        total = closest.sum(1, keepdim=True)
        u = torch.rand(n_init, trials, generator=gen, dtype=torch.float64).to(dev, X.dtype)
        cum = torch.cumsum(closest, 1)
        cand = torch.searchsorted(cum, (u * total).contiguous()).clamp_max(n - 1)  # (B, trials)
        d_cand = _sq_dist(X, sqX, X[cand]).permute(1, 2, 0)  # (B, trials, n)
        pot = torch.minimum(closest[:, None, :], d_cand).sum(2)  # (B, trials)
        best = torch.argmin(pot, 1)
        C[:, j] = X[cand[ar, best]]
        closest = torch.minimum(closest, d_cand[ar, best])
    return C


def kmeans(
    X: torch.Tensor,
    k: int,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int | None = 0,
) -> KMeansResult:
    """k-means (Lloyd) in torch on X's device, ``n_init`` k-means++ starts run together.

    Minimizes ``sum_i ||x_i - c_{label_i}||^2``; each initialization stops when its centers
    move less than ``tol`` times the mean feature variance (scikit-learn's rule, squared
    Frobenius shift) or after ``max_iter`` steps, and the lowest inertia wins. An empty
    cluster gets the point farthest from its center. Seeded: the same ``seed`` gives the
    same clustering on any device (up to rounding).

    Examples
    --------
    >>> X = torch.tensor([[0.0], [0.1], [5.0], [5.2]], dtype=torch.float64)
    >>> res = kmeans(X, 2, seed=0)
    >>> sorted(res.centers[:, 0].tolist()), round(res.inertia, 4)
    ([0.05, 5.1], 0.025)
    """
    if not isinstance(X, torch.Tensor):
        X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    if X.ndim != 2 or not X.is_floating_point():
        raise ValueError(f"X must be a real floating (n, d) tensor; got shape {tuple(X.shape)}, dtype {X.dtype}.")
    check_finite(X, "X")
    n, d = X.shape
    k = _check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= n (the number of points, {n}); got k={k}.")
    n_init = _check_int(n_init, "n_init", 1)
    max_iter = _check_int(max_iter, "max_iter", 1)
    tol = _check_real(tol, "tol")
    gen = _generator(seed)
    # small products: one thread does not wait on the others (core.threads)
    with single_thread_if_small(n * n_init * k * d, X.device):
        return _lloyd(X, k, n_init, max_iter, tol, gen)


def _lloyd(X, k, n_init, max_iter, tol, gen) -> KMeansResult:
    n, d = X.shape
    dev = X.device
    sqX = (X * X).sum(1)
    C = _kmeanspp(X, sqX, k, n_init, gen)
    tol_abs = tol * float(X.var(0, unbiased=False).mean())
    active = torch.ones(n_init, dtype=torch.bool, device=dev)
    n_iters = torch.zeros(n_init, dtype=torch.int64)
    offset = (torch.arange(n_init, device=dev) * k)[None, :]  # (1, B)
    Xrep = X.repeat(n_init, 1)  # (B n, d), rows of init b at b n .. (b+1) n
    for _ in range(max_iter):
        Cf = C.reshape(n_init * k, d)
        # argmin_j ||x - c_j||^2 = argmin_j ||c_j||^2 - 2 x.c_j
        score = ((Cf * Cf).sum(1)[None, :] - 2 * (X @ Cf.T)).reshape(n, n_init, k)
        labels = torch.argmin(score, -1)  # (n, B)
        flat = (labels + offset).T.reshape(-1)  # (B n,) in [0, B k)
        sums = torch.zeros(n_init * k, d, dtype=X.dtype, device=dev).index_add_(0, flat, Xrep)
        counts = torch.bincount(flat, minlength=n_init * k).to(X.dtype)
        newC = (sums / counts.clamp_min(1)[:, None]).reshape(n_init, k, d)
        empty = (counts == 0).reshape(n_init, k)
        if bool(empty.any()):
            own = _sq_dist(X, sqX, C).gather(-1, labels[..., None])[..., 0]  # (n, B)
            for b, j in torch.nonzero(empty).tolist():
                far = int(torch.argmax(own[:, b]))
                newC[b, j] = X[far]
                own[far, b] = -1.0
        newC = torch.where(active[:, None, None], newC, C)
        shift = ((newC - C) ** 2).sum((1, 2))
        C = newC
        n_iters += active.cpu().to(torch.int64)
        active = active & (shift > tol_abs)
        if not bool(active.any()):
            break
    dmin, labels = _sq_dist(X, sqX, C).min(-1)  # (n, B)
    inertias = dmin.sum(0)
    best = int(torch.argmin(inertias))
    return KMeansResult(labels[:, best], C[best], float(inertias[best]), int(n_iters[best]), inertias)


class SpectralClusteringResult(NamedTuple):
    """``labels`` (n,) int64; ``embedding`` (n, k) clustered; ``eigenvalues`` (m,) ascending
    (k of them, or ``max_clusters + 1`` when k came from the eigengap); ``n_clusters``;
    ``inertia`` of the k-means; ``method`` the eigensolver that ran."""

    labels: torch.Tensor
    embedding: torch.Tensor
    eigenvalues: torch.Tensor
    n_clusters: int
    inertia: float
    method: str


def spectral_clustering(
    W,
    n_clusters: int | None = None,
    *,
    kind: str = "symmetric",
    normalize_rows: bool = True,
    max_clusters: int = 10,
    n_init: int = 10,
    max_iter: int = 300,
    method: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
) -> SpectralClusteringResult:
    """Spectral clustering of the graph ``W``: Ng, Jordan and Weiss (2002) by default.

    1. the ``k`` lowest eigenvectors ``U`` (n, k) of ``L_sym = I - D^{-1/2} W D^{-1/2}``
       (:func:`graph_spectrum`, solver chosen by size and device and reported);
    2. each row of ``U`` scaled to unit length (``normalize_rows``);
    3. :func:`kmeans` with ``n_init`` seeded k-means++ starts on the rows.

    ``n_clusters=None`` picks k by the :func:`eigengap` heuristic among
    ``1..max_clusters``. ``kind="random_walk"`` with ``normalize_rows=False`` is Shi-Malik
    (scikit-learn's ``SpectralClustering`` embeds with it). For points, build ``W`` with
    :func:`knn_graph` (scikit-learn's ``affinity="nearest_neighbors"`` is
    ``knn_graph(X, n_neighbors, symmetrize="mean", include_self=True)``) or
    :func:`gaussian_affinity` (``affinity="rbf"``, ``gamma = 1/(2 bandwidth^2)``).

    Examples
    --------
    >>> W, truth = stochastic_block_model([20, 20, 20], 0.6, 0.02, seed=1)
    >>> res = spectral_clustering(W)  # k from the eigengap
    >>> res.n_clusters, res.method
    (3, 'dense')
    >>> len(set(zip(res.labels.tolist(), truth.tolist())))  # each cluster is one block
    3
    """
    A = adjacency(W)
    n = A.shape[0]
    _check_choice(kind, "kind", ("combinatorial", "symmetric", "random_walk"))
    _check_choice(method, "method", EIGEN_METHODS)
    if n_clusters is None:
        max_clusters = _check_int(max_clusters, "max_clusters", 1)
        m = min(max_clusters + 1, n)
        spec = _graph_spectrum(A, m, kind, None, method, tol, seed)
        k = eigengap(spec.values, min(max_clusters, m - 1)).n_clusters if m > 1 else 1
    else:
        k = _check_k(n_clusters, n, "n_clusters")
        spec = _graph_spectrum(A, k, kind, None, method, tol, seed)
    U = fix_signs(spec.vectors[:, :k])
    if normalize_rows:
        norm = torch.linalg.vector_norm(U, dim=1, keepdim=True)
        U = U / torch.where(norm > 0, norm, torch.ones_like(norm))
    km = kmeans(U, k, n_init=n_init, max_iter=max_iter, seed=seed)
    return SpectralClusteringResult(km.labels, U, spec.values, k, km.inertia, spec.method)


class PositionalEncoding(NamedTuple):
    """``encoding`` (n, k) sign-fixed eigenvectors; ``eigenvalues`` (k,); ``ambiguous`` (k,)
    True where the eigenvalue is repeated (to ``rtol``) so the basis is not unique;
    ``method`` the eigensolver."""

    encoding: torch.Tensor
    eigenvalues: torch.Tensor
    ambiguous: torch.Tensor
    method: str


def laplacian_positional_encoding(
    W,
    k: int,
    *,
    kind: str = "symmetric",
    drop_first: bool = True,
    rtol: float = 1e-6,
    method: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
) -> PositionalEncoding:
    """Laplacian-eigenvector positional encodings (Dwivedi et al. 2020; Belkin and Niyogi
    2003): node ``i`` gets ``(u_2(i), ..., u_{k+1}(i))``, the lowest non-trivial eigenvectors.

    Two ambiguities make these vectors not functions of the graph alone:

    * **sign**: ``u`` and ``-u`` are both eigenvectors. Fixed here deterministically by
      :func:`fix_signs` (largest-magnitude entry positive, ties to the lowest index). The
      convention depends on node order, so a relabelled graph may get other signs; models
      meant to be invariant still need sign-invariant architectures or random sign flips
      in training.
    * **basis**: for a repeated eigenvalue (a cycle, a grid, symmetric graphs) any
      rotation of the eigenspace is as valid, and no sign rule fixes it. Such modes are
      flagged in ``ambiguous`` (eigenvalue within ``rtol * max(1, lam_max)`` of a
      neighbour, the next one beyond ``k`` included); basis-invariant alternatives are the
      projector ``U U^T`` onto the eigenspace or random-feature propagation.

    ``drop_first`` drops the first eigenvector (constant, or ``D^{1/2} 1`` for the
    symmetric kind; on a disconnected graph the other zero modes are kept and flagged).

    Examples
    --------
    >>> W = torch.zeros(6, 6, dtype=torch.float64)
    >>> for i in range(6):  # the 6-cycle: eigenvalues 0, 1, 1, 3, 3, 4 (combinatorial)
    ...     W[i, (i + 1) % 6] = W[(i + 1) % 6, i] = 1.0
    >>> pe = laplacian_positional_encoding(W, 3, kind="combinatorial")
    >>> [round(float(v), 6) + 0.0 for v in pe.eigenvalues], pe.ambiguous.tolist()
    ([1.0, 1.0, 3.0], [True, True, True])
    """
    A = adjacency(W)
    n = A.shape[0]
    k = _check_int(k, "k", 1)
    first = 1 if drop_first else 0
    if k + first > n:
        raise ValueError(f"k must be <= {n - first} for a graph of {n} nodes (drop_first={drop_first}); got {k}.")
    rtol = _check_real(rtol, "rtol")
    m = min(n, k + first + 1)  # one more, to see whether the last one is repeated
    _check_choice(kind, "kind", ("combinatorial", "symmetric", "random_walk"))
    _check_choice(method, "method", EIGEN_METHODS)
    spec = _graph_spectrum(A, m, kind, None, method, tol, seed)
    lam = spec.values
    scale = max(1.0, float(lam.abs().max()))
    close = (torch.diff(lam).abs() <= rtol * scale)
    rep = torch.zeros(m, dtype=torch.bool, device=lam.device)
    rep[1:] |= close
    rep[:-1] |= close
    sl = slice(first, first + k)
    return PositionalEncoding(fix_signs(spec.vectors[:, sl]), lam[sl], rep[sl], spec.method)


# ------------------------------------------------------------------------------ filters


def _graph_filter_method(method):
    if callable(method):
        return method, {}
    _check_choice(method, "method", GRAPH_FILTERS)
    return ("tsvd" if method == "lowpass" else method), {}


def graph_frequency_response(values, reg, method="tikhonov", **options) -> torch.Tensor:
    """Filter factors ``h(s, reg)`` at ``s = 1/lam`` for eigenvalues ``lam`` (k,) and every
    ``reg`` (R,): an (R, k) tensor (``reg`` scalar: still (1, k)).

    Through :func:`spectrakit.core.filtering.filter_factors` with ``s = 1/lam``:

    ====================== =========================================================
    ``tikhonov``           ``1 / (1 + reg lam)``: ``(I + reg L)^{-1}``
    ``heat``               ``exp(-reg lam)``: the heat kernel ``exp(-t L)`` at ``t = reg``
    ``butterworth``        ``1 / (1 + (reg lam)^order)`` (default order 2): smooth low-pass,
                           cut-off ``lam = 1/reg``
    ``lowpass``            ``1 if lam <= 1/reg else 0``: the ideal low-pass (``tsvd``)
    ``iterated_tikhonov``  ``1 - (reg lam / (1 + reg lam))^order``
    ``showalter``          ``1 - exp(-1 / (reg lam))``
    callable ``h(s, reg)`` with ``s = 1/lam`` (1, k) and ``reg`` (R, 1)
    ====================== =========================================================

    ``lam = 0`` (and round-off below it) gets ``s = 1/tiny``, i.e. factor 1.

    Examples
    --------
    >>> lam = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    >>> graph_frequency_response(lam, 1.0).tolist()
    [[1.0, 0.5, 0.25]]
    """
    lam = torch.as_tensor(values)
    if not lam.is_floating_point():
        lam = lam.to(torch.float64)
    if lam.ndim != 1:
        raise ValueError(f"values must be 1-D eigenvalues; got shape {tuple(lam.shape)}.")
    name, _ = _graph_filter_method(method)
    s = 1.0 / lam.clamp_min(torch.finfo(lam.dtype).tiny)
    f, _native = filter_factors(s, reg, name, **options)
    return f


def _reg_grid(reg, dtype, device) -> tuple[torch.Tensor, bool]:
    r = torch.as_tensor(reg.detach().cpu() if isinstance(reg, torch.Tensor) else np.asarray(reg, dtype=float),
                        dtype=torch.float64)
    if r.ndim > 1:
        raise ValueError(f"reg must be a scalar or a 1-D grid; got shape {tuple(r.shape)}.")
    if r.numel() == 0:
        raise ValueError("reg is empty: pass a scalar or at least one value.")
    check_finite(r, "reg")
    if bool((r < 0).any()):
        raise ValueError(f"reg must be >= 0 (a regularization strength); got {float(r.min())!r}.")
    return r.reshape(-1).to(device=device, dtype=dtype), r.ndim == 0


def _signal(x, n: int, like: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x), device=like.device)
    if x.ndim not in (1, 2) or x.shape[0] != n:
        raise ValueError(f"{name} must be a graph signal of shape (n,) or (n, c) with n = {n}; got shape {tuple(x.shape)}.")
    if not (x.is_floating_point() or x.is_complex()):
        x = x.to(like.real.dtype if like.is_complex() else like.dtype)
    check_finite(x, name)
    return x


def graph_filter(spectrum: GraphSpectrum, x, reg, method="tikhonov", **options) -> torch.Tensor:
    """Filter graph signals exactly through a complete eigenbasis: ``y = V h(Lambda) V^H x``.

    ``x`` is (n,) or (n, c); ``reg`` a scalar (result shaped like x) or a 1-D grid
    (result (R, n) or (R, n, c)): the decomposition is reused for every ``reg``.
    Filters and their conventions: :func:`graph_frequency_response` (Tikhonov
    ``(I + reg L)^{-1} x``, heat ``exp(-reg L) x``, low-pass...). The spectrum must hold all
    n eigenpairs (``graph_spectrum(W)``); for large graphs use :func:`chebyshev_filter`.

    Examples
    --------
    >>> W, _ = stochastic_block_model([3], 1.0)  # the triangle: eigenvalues 0, 3, 3
    >>> spec = graph_spectrum(W, kind="combinatorial")
    >>> y = graph_filter(spec, torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64), 1.0)
    >>> [round(v, 6) for v in y.tolist()]  # (I + L)^-1 x
    [1.5, 0.75, 0.75]
    """
    if not isinstance(spectrum, GraphSpectrum):
        raise TypeError(f"spectrum must be a GraphSpectrum (from graph_spectrum); got {type(spectrum).__name__}.")
    if not spectrum.complete:
        raise ValueError(
            f"spectrum holds {spectrum.k} of {spectrum.n} eigenpairs: exact filtering needs all of them "
            "(graph_spectrum(W) with k=None). For a large graph use chebyshev_filter (no eigenvectors)."
        )
    x = _signal(x, spectrum.n, spectrum.vectors)
    real = spectrum.values.dtype
    regs, scalar = _reg_grid(reg, real, spectrum.values.device)
    f = graph_frequency_response(spectrum.values, regs, method, **options)  # (R, k)
    xx = x[:, None] if x.ndim == 1 else x
    coef = spectrum.transform(xx)  # (k, c)
    y = spectrum.vectors @ (f[:, :, None].to(coef.dtype) * coef[None])  # (R, n, c)
    if not (x.is_complex() or spectrum.vectors.is_complex()):
        y = y.real if y.is_complex() else y
    if x.ndim == 1:
        y = y[..., 0]
    return y[0] if scalar else y


def _h_of_lam(method, reg: torch.Tensor, options) -> Callable[[torch.Tensor], torch.Tensor]:
    def h(lam):
        return graph_frequency_response(lam, reg, method, **options)

    return h


def chebyshev_coefficients(h: Callable[[torch.Tensor], torch.Tensor], order: int, lmax: float,
                           *, dtype=torch.float64, device=None) -> torch.Tensor:
    """Chebyshev coefficients ``c`` (..., order + 1) of ``h`` on ``[0, lmax]``, so that
    ``h(lam) ~ c_0/2 + sum_{k>=1} c_k T_k(2 lam / lmax - 1)``.

    ``h`` maps eigenvalues (N,) to (..., N). Computed by Chebyshev-Gauss quadrature at
    ``N = 2 (order + 1)`` nodes, i.e. the truncated Chebyshev series up to aliasing of
    degrees above ``2 order + 1`` (Hammond, Vandergheynst and Gribonval 2011).

    Examples
    --------
    >>> c = chebyshev_coefficients(lambda lam: lam[None], 2, 2.0)  # h(lam) = lam = 1 + T_1
    >>> [round(v, 12) + 0.0 for v in c[0].tolist()]
    [2.0, 1.0, 0.0]
    """
    order = _check_int(order, "order", 0)
    lmax = _check_real(lmax, "lmax", positive=True)
    N = 2 * (order + 1)
    theta = math.pi * (torch.arange(N, dtype=torch.float64) + 0.5) / N
    lam = (lmax / 2) * (torch.cos(theta) + 1)
    vals = torch.as_tensor(h(lam.to(dtype=dtype, device=device))).to(torch.float64).cpu()  # (..., N)
    k = torch.arange(order + 1, dtype=torch.float64)
    cos = torch.cos(k[:, None] * theta[None, :])  # (K+1, N)
    c = (2.0 / N) * vals @ cos.T
    return c.to(dtype=dtype, device=device)


def _chebyshev_eval(c: torch.Tensor, lam: torch.Tensor, lmax: float) -> torch.Tensor:
    """Evaluate the series (R, K+1) at points lam (N,) by Clenshaw: (R, N)."""
    t = (2.0 * lam / lmax - 1.0)[None, :]
    b1 = torch.zeros(c.shape[0], lam.shape[0], dtype=c.dtype, device=c.device)
    b2 = torch.zeros_like(b1)
    for j in range(c.shape[1] - 1, 0, -1):
        b1, b2 = 2 * t * b1 - b2 + c[:, j : j + 1], b1
    return t * b1 - b2 + c[:, :1] / 2


class ChebyshevFilterResult(NamedTuple):
    """``y`` the filtered signal (like :func:`graph_filter`'s), ``coefficients`` (R, K+1),
    ``lmax`` the interval's end, ``max_error`` (R,) ``max over [0, lmax] of |p - h|``
    (on 4001 points), so ``||y - h(L) x|| <= max_error ||x||`` for a symmetric L (per column,
    and in the degree norm for the random walk), and ``order``."""

    y: torch.Tensor
    coefficients: torch.Tensor
    lmax: float
    max_error: torch.Tensor
    order: int


def chebyshev_filter(
    W,
    x,
    reg,
    method="tikhonov",
    *,
    kind: str = "combinatorial",
    q: float | None = None,
    order: int = 30,
    lmax: float | None = None,
    **options,
) -> ChebyshevFilterResult:
    """Filter graph signals by a Chebyshev polynomial of the Laplacian, no eigenvectors.

    ``h(L) x ~ p(L) x`` with ``p = c_0/2 + sum_k c_k T_k(L~)``, ``L~ = 2 L / lmax - I``,
    by the recurrence ``T_{k+1} = 2 L~ T_k - T_{k-1}``: ``order`` sparse (or dense)
    products with L, on W's device (Hammond et al. 2011; Defferrard et al. 2016).
    ``lmax`` must bound the spectrum: default :func:`lambda_max_bound` (guaranteed;
    2 for the normalized kinds). The reported ``max_error`` is the polynomial's largest
    deviation from ``h`` on ``[0, lmax]``, a bound on the spectral-norm error of the
    filter: it falls geometrically with ``order`` for smooth filters (heat, Tikhonov with
    moderate ``reg * lmax``) and stalls near 1/2 at the jump of the ideal low-pass.
    ``reg``, ``x``, ``method`` as in :func:`graph_filter`.

    Examples
    --------
    >>> W, _ = stochastic_block_model([30], 0.3, seed=0)
    >>> x = torch.linspace(-1, 1, 30, dtype=torch.float64)
    >>> cheb = chebyshev_filter(W, x, 0.1, "heat", order=20)
    >>> exact = graph_filter(graph_spectrum(W, kind="combinatorial"), x, 0.1, "heat")
    >>> float((cheb.y - exact).norm() / x.norm()) <= float(cheb.max_error), float(cheb.max_error) < 1e-9
    (True, True)
    """
    q = _resolve_kind(kind, q)
    magnetic = kind.startswith("magnetic")
    A = adjacency(W, directed=magnetic)
    n = A.shape[0]
    L = _magnetic_from(A, q, kind == "magnetic_normalized") if magnetic else _laplacian_from(A, kind)
    order = _check_int(order, "order", 0)
    lmax = _lambda_max_bound(A, kind) if lmax is None else _check_real(lmax, "lmax", positive=True)
    lmax = max(lmax, torch.finfo(A.dtype).eps)  # a graph without edges: L = 0
    x = _signal(x, n, L)
    real = A.dtype
    regs, scalar = _reg_grid(reg, real, A.device)
    _graph_filter_method(method)
    c = chebyshev_coefficients(_h_of_lam(method, regs, options), order, lmax, dtype=real, device=A.device)
    # the approximation error on a fine grid of [0, lmax] (Chebyshev-spaced plus uniform)
    grid = torch.cat([
        torch.linspace(0, lmax, 2001, dtype=torch.float64),
        (lmax / 2) * (torch.cos(torch.linspace(0, math.pi, 2000, dtype=torch.float64)) + 1),
    ]).to(dtype=real, device=A.device)
    err = (_chebyshev_eval(c, grid, lmax) - graph_frequency_response(grid, regs, method, **options)).abs().amax(1)

    xx = x[:, None] if x.ndim == 1 else x
    work = xx.to(_complex_dtype(real) if (L.is_complex() or xx.is_complex()) else real)
    Lop = _operator(L.to(work.dtype) if work.is_complex() and not L.is_complex() else L)

    def Lt(v):  # L~ v = (2/lmax) L v - v
        return (2.0 / lmax) * (Lop @ v) - v

    cc = c.to(work.dtype)
    with single_thread_if_small(order * _size(L) * work.shape[1] * regs.shape[0], L.device):
        t_prev = work
        y = 0.5 * cc[:, 0, None, None] * t_prev[None]
        if order >= 1:
            t_cur = Lt(work)
            y = y + cc[:, 1, None, None] * t_cur[None]
            for j in range(2, order + 1):
                t_prev, t_cur = t_cur, 2 * Lt(t_cur) - t_prev
                y = y + cc[:, j, None, None] * t_cur[None]
    if x.ndim == 1:
        y = y[..., 0]
    return ChebyshevFilterResult(y[0] if scalar else y, c, float(lmax), err, order)


# ------------------------------------------------------------------------------ label propagation


class LabelPropagationResult(NamedTuple):
    """``labels`` (n,) or (R, n) predicted classes; ``scores`` (n, C) or (R, n, C), the
    filtered one-hot labels ``F``; ``method`` how the system was solved."""

    labels: torch.Tensor
    scores: torch.Tensor
    method: str


def reg_from_zhou_alpha(alpha: float) -> float:
    """Zhou et al.'s (and scikit-learn ``LabelSpreading``'s) ``alpha`` in (0, 1) as ``reg``:
    ``(I - alpha S)^{-1} = (I + reg L_sym)^{-1} / (1 - alpha)`` with ``reg = alpha/(1-alpha)``.

    Examples
    --------
    >>> reg_from_zhou_alpha(0.5), reg_from_zhou_alpha(0.75)
    (1.0, 3.0)
    """
    alpha = _check_real(alpha, "alpha")
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha must lie in [0, 1) (Zhou et al.'s propagation weight); got {alpha}.")
    return alpha / (1 - alpha)


def _operator(L: torch.Tensor) -> torch.Tensor:
    """L for repeated products: sparse COO becomes CSR (25x faster products on the CPU)."""
    if not L.is_sparse:
        return L
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Sparse CSR tensor support is in beta"
        try:
            csr = L.to_sparse_csr()
            csr @ torch.zeros(L.shape[1], 1, dtype=L.dtype, device=L.device)
            return csr
        except (RuntimeError, NotImplementedError):  # a dtype/device without CSR products
            return L


def _cg(matvec, B: torch.Tensor, tol: float, max_iter: int):
    """Conjugate gradients on the columns of B (n, C) for an SPD operator."""
    X = torch.zeros_like(B)
    R = B.clone()
    P = R.clone()
    rs = (R * R).sum(0)
    target = (tol * torch.linalg.vector_norm(B, dim=0)) ** 2
    for it in range(max_iter):
        if bool((rs <= target).all()):
            return X, it, True
        AP = matvec(P)
        alpha = rs / (P * AP).sum(0).clamp_min(torch.finfo(B.dtype).tiny)
        X = X + alpha * P
        R = R - alpha * AP
        rs_new = (R * R).sum(0)
        P = R + (rs_new / rs.clamp_min(torch.finfo(B.dtype).tiny)) * P
        rs = rs_new
    return X, max_iter, bool((rs <= target).all())


def label_propagation(
    W,
    labels,
    reg,
    *,
    kind: str = "symmetric",
    spectrum: GraphSpectrum | None = None,
    method: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
) -> LabelPropagationResult:
    """Semi-supervised labels by graph Tikhonov smoothing (Zhou et al. 2004).

    With ``Y`` (n, C) the one-hot given labels (rows of unlabelled nodes zero; label -1
    marks them), the class scores are

    ``F = (I + reg L_sym)^{-1} Y = argmin_F ||F - Y||^2 + reg tr(F^T L_sym F)``,

    the graph Tikhonov filter :func:`graph_filter` applied to Y, and each node gets
    ``argmax_c F[i, c]``. Zhou et al.'s ``F* = (I - alpha S)^{-1} Y`` with
    ``S = D^{-1/2} W D^{-1/2}`` is ``(I + reg L_sym)^{-1} Y / (1 - alpha)`` for
    ``reg = alpha / (1 - alpha)`` (:func:`reg_from_zhou_alpha`): the same labels;
    scikit-learn's ``LabelSpreading(alpha)`` returns ``F*`` with rows normalized.
    ``kind="combinatorial"`` smooths with ``D - W`` instead.

    ``method``: ``"spectrum"`` (through ``spectrum``, a complete :class:`GraphSpectrum` of
    this kind: every ``reg`` of a grid costs two products), ``"solve"`` (dense Cholesky on
    W's device), ``"cg"`` (conjugate gradients with sparse products, to ``tol``), or
    ``"auto"``: spectrum when given, else solve for dense W up to n = 10,000, else cg.
    ``reg`` scalar or 1-D grid (leading R dim in the results).

    Examples
    --------
    >>> W, truth = stochastic_block_model([20, 20], 0.5, 0.02, seed=0)
    >>> given = torch.full((40,), -1)
    >>> given[0], given[20] = 0, 1  # one label per block
    >>> res = label_propagation(W, given, 10.0)
    >>> bool((res.labels == truth).float().mean() > 0.9), res.method
    (True, 'solve')
    """
    A = adjacency(W)
    n = A.shape[0]
    _check_choice(kind, "kind", ("combinatorial", "symmetric"))
    _check_choice(method, "method", ("auto", "spectrum", "solve", "cg"))
    y = torch.as_tensor(labels.detach().cpu() if isinstance(labels, torch.Tensor) else np.asarray(labels))
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must be (n,) = ({n},) class indices with -1 for unlabelled; got shape {tuple(y.shape)}.")
    if y.is_floating_point():
        if not bool((y == torch.round(y)).all()):
            raise ValueError("labels must be integers (class indices, -1 for unlabelled).")
    y = y.to(torch.int64)
    if bool((y < -1).any()):
        raise ValueError("labels must be >= -1 (-1 marks an unlabelled node).")
    if not bool((y >= 0).any()):
        raise ValueError("labels has no labelled node: give at least one class index >= 0.")
    C = int(y.max()) + 1
    missing = sorted(set(range(C)) - set(y[y >= 0].tolist()))
    if missing:
        raise ValueError(f"labels: classes {missing} have no labelled node; relabel the classes as 0..C-1.")
    Y = torch.zeros(n, C, dtype=A.dtype)
    known = y >= 0
    Y[known.nonzero()[:, 0], y[known]] = 1.0
    Y = Y.to(A.device)
    regs, scalar = _reg_grid(reg, A.dtype, A.device)
    if method == "auto":
        method = "spectrum" if spectrum is not None else ("solve" if not A.is_sparse and n <= DENSE_MAX_CPU else "cg")
    if method == "spectrum":
        if spectrum is None:
            raise ValueError("method='spectrum' needs spectrum=graph_spectrum(W, kind=...).")
        if spectrum.kind != kind:
            raise ValueError(f"spectrum is of kind {spectrum.kind!r} but kind={kind!r}; they must match.")
        F = graph_filter(spectrum, Y, regs, "tikhonov")
    else:
        L = _laplacian_from(A, kind)
        Fs = []
        if method == "solve":
            Ld = L.to_dense() if L.is_sparse else L
            _check_dense_memory(n, 2, A.dtype, A.device, "W", f"a dense solve with a {n} x {n} Laplacian",
                                "Use method='cg' (sparse products).")
            eye = torch.eye(n, dtype=A.dtype, device=A.device)
            for r in regs:
                chol = torch.linalg.cholesky(eye + r * Ld)
                Fs.append(torch.cholesky_solve(Y, chol))
        else:
            Lop = _operator(L)
            iters = max_iter or max(100, 10 * n)
            for r in regs:
                rr = float(r)
                with single_thread_if_small(_size(L) * C * 50, L.device):
                    F_r, _it, ok = _cg(lambda v: v + rr * (Lop @ v), Y, _check_real(tol, "tol", positive=True), iters)
                if not ok:
                    warnings.warn(f"label_propagation: conjugate gradients did not reach tol={tol} in {iters} "
                                  "iterations at reg={rr}; raise max_iter.", RuntimeWarning, stacklevel=2)
                Fs.append(F_r)
        F = torch.stack(Fs)
    if scalar:
        F = F[0]
    return LabelPropagationResult(torch.argmax(F, -1), F, method)
