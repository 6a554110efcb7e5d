"""Spectral embeddings and clustering: the eigenvector sign convention, the eigengap heuristic,
k-means in torch, Ng-Jordan-Weiss spectral clustering and Laplacian positional encodings.

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from ..checks import check_finite, check_real, seeded_generator
from ..threads import single_thread_if_small
from ._common import _check_choice, _check_int
from .construction import adjacency
from .spectrum import SOLVERS, GraphSpectrum, _check_k, _graph_spectrum

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
    rtol = math.sqrt(torch.finfo(real).eps) if rtol is None else check_real(rtol, "rtol")
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
    solver: str = "auto",
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
    >>> from spectrakit.core.graphs import stochastic_block_model
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
    _check_choice(solver, "solver", SOLVERS)
    spec = _graph_spectrum(A, kk, kind, None, solver, tol, seed)
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
    tol = check_real(tol, "tol")
    gen = seeded_generator(seed)
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
    ``inertia`` of the k-means; ``solver`` the eigensolver that ran."""

    labels: torch.Tensor
    embedding: torch.Tensor
    eigenvalues: torch.Tensor
    n_clusters: int
    inertia: float
    solver: str


def spectral_clustering(
    W,
    n_clusters: int | None = None,
    *,
    kind: str = "symmetric",
    normalize_rows: bool = True,
    max_clusters: int = 10,
    n_init: int = 10,
    max_iter: int = 300,
    solver: str = "auto",
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
    >>> from spectrakit.core.graphs import stochastic_block_model
    >>> W, truth = stochastic_block_model([20, 20, 20], 0.6, 0.02, seed=1)
    >>> res = spectral_clustering(W)  # k from the eigengap
    >>> res.n_clusters, res.solver
    (3, 'dense')
    >>> len(set(zip(res.labels.tolist(), truth.tolist())))  # each cluster is one block
    3
    """
    A = adjacency(W)
    n = A.shape[0]
    _check_choice(kind, "kind", ("combinatorial", "symmetric", "random_walk"))
    _check_choice(solver, "solver", SOLVERS)
    if n_clusters is None:
        max_clusters = _check_int(max_clusters, "max_clusters", 1)
        m = min(max_clusters + 1, n)
        spec = _graph_spectrum(A, m, kind, None, solver, tol, seed)
        k = eigengap(spec.values, min(max_clusters, m - 1)).n_clusters if m > 1 else 1
    else:
        k = _check_k(n_clusters, n, "n_clusters")
        spec = _graph_spectrum(A, k, kind, None, solver, tol, seed)
    U = fix_signs(spec.vectors[:, :k])
    if normalize_rows:
        norm = torch.linalg.vector_norm(U, dim=1, keepdim=True)
        U = U / torch.where(norm > 0, norm, torch.ones_like(norm))
    km = kmeans(U, k, n_init=n_init, max_iter=max_iter, seed=seed)
    return SpectralClusteringResult(km.labels, U, spec.values, k, km.inertia, spec.solver)


class PositionalEncoding(NamedTuple):
    """``encoding`` (n, k) sign-fixed eigenvectors; ``eigenvalues`` (k,); ``ambiguous`` (k,)
    True where the eigenvalue is repeated (to ``rtol``) so the basis is not unique;
    ``solver`` the eigensolver."""

    encoding: torch.Tensor
    eigenvalues: torch.Tensor
    ambiguous: torch.Tensor
    solver: str


def laplacian_positional_encoding(
    W,
    k: int,
    *,
    kind: str = "symmetric",
    drop_first: bool = True,
    rtol: float = 1e-6,
    solver: str = "auto",
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
    rtol = check_real(rtol, "rtol")
    m = min(n, k + first + 1)  # one more, to see whether the last one is repeated
    _check_choice(kind, "kind", ("combinatorial", "symmetric", "random_walk"))
    _check_choice(solver, "solver", SOLVERS)
    spec = _graph_spectrum(A, m, kind, None, solver, tol, seed)
    lam = spec.values
    scale = max(1.0, float(lam.abs().max()))
    close = (torch.diff(lam).abs() <= rtol * scale)
    rep = torch.zeros(m, dtype=torch.bool, device=lam.device)
    rep[1:] |= close
    rep[:-1] |= close
    sl = slice(first, first + k)
    return PositionalEncoding(fix_signs(spec.vectors[:, sl]), lam[sl], rep[sl], spec.solver)
