"""Graphs: checked adjacency matrices, graphs of points (kNN, epsilon-ball, Gaussian), pixel
grids and stochastic block models.

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_real, seeded_generator
from ..threads import single_thread_if_small
from ._common import _check_choice, _check_dense_memory, _check_int, _points, _size, _sort_work

KNN_TREE_MAX_DIM = 16  # scipy's cKDTree on the CPU up to this dimension, else brute force


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
    sigma = check_real(sigma, name, strict=True)
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
    eps = check_real(eps, "eps", strict=True)
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
    bandwidth = check_real(bandwidth, "bandwidth", strict=True)
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


def grid_graph(
    ny: int,
    nx: int,
    *,
    neighbours: int = 4,
    sparse: bool = False,
    device=None,
    dtype=None,
) -> torch.Tensor:
    """The adjacency of an ``ny`` x ``nx`` pixel grid: each pixel linked to its 4 (or 8) neighbours.

    Node ``i = y * nx + x`` is pixel ``(y, x)``: the row-major (C) order in which
    ``cube.reshape(ny * nx, n_bands)`` lists the pixels of a ``(y, x, band)`` image, so a
    per-pixel matrix and this graph line up. Weights are 1; ``neighbours=4`` links
    ``(y, x)`` to ``(y +- 1, x)`` and ``(y, x +- 1)`` (PyGSP's ``Grid2d(ny, nx)``),
    ``neighbours=8`` adds the diagonals, also with weight 1. No wrap-around: border pixels
    have fewer neighbours. The combinatorial Laplacian of the 4-neighbour grid is the
    5-point finite-difference Laplacian with Neumann boundaries, so ``reg tr(A^T L A)``
    penalizes the squared differences of neighbouring pixels.

    Returns a dense (n, n) tensor, or a torch sparse COO tensor with ``sparse=True``
    (memory O(n); a dense 256 x 256 image graph would need 34 GB in float64).

    Examples
    --------
    >>> W = grid_graph(2, 3)  # pixels 0 1 2 / 3 4 5
    >>> W.sum(1).tolist()
    [2.0, 3.0, 2.0, 2.0, 3.0, 2.0]
    >>> W[0].tolist(), grid_graph(2, 3, neighbours=8)[0].tolist()
    ([0.0, 1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    """
    ny, nx = _check_int(ny, "ny", 1), _check_int(nx, "nx", 1)
    if neighbours not in (4, 8):
        raise ValueError(f"neighbours must be 4 or 8 (the pixel neighbourhood); got {neighbours!r}.")
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    n = ny * nx
    y, x = torch.meshgrid(torch.arange(ny, device=dev), torch.arange(nx, device=dev), indexing="ij")
    y, x = y.reshape(-1), x.reshape(-1)
    steps = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if neighbours == 8 else [])
    R, C = [], []
    for dy, dx in steps:  # each undirected edge once, then mirrored
        ok = (y + dy < ny) & (x + dx >= 0) & (x + dx < nx)
        R.append((y * nx + x)[ok])
        C.append(((y + dy) * nx + x + dx)[ok])
    rows, cols = torch.cat(R + C), torch.cat(C + R)
    vals = torch.ones(rows.shape[0], dtype=dt, device=dev)
    return _assemble(rows, cols, vals, n, sparse, dt, dev)


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
        p_in, p_out = check_real(p_in, "p_in"), check_real(p_out, "p_out")
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
    gen = seeded_generator(seed)
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
