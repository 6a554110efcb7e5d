"""Hyperspectral unmixing by nonnegative matrix factorization with a graph-Laplacian spatial
penalty and an l1 sparsity penalty (multiplicative updates, in torch on the data's device).

The linear mixing model: each pixel's spectrum is a nonnegative combination of a few
endmember spectra, ``Y ~ A E`` with ``Y`` (n_pixels, n_bands), abundances ``A``
(n_pixels, k) and endmembers ``E`` (k, n_bands). Neighbouring pixels have similar
abundances, which the penalty ``reg tr(A^T L A) = reg/2 sum_ij W_ij ||a_i - a_j||^2``
with the Laplacian ``L`` of a pixel graph (:func:`grid_graph`) encodes.

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
from ._common import _check_int
from .construction import _coalesced, _entries, _is_symmetric, adjacency, grid_graph  # noqa: F401  (the examples use it)
from .filters import _operator, _reg_grid
from .spectrum import SPARSE_DENSITY, _torch_from_scipy

INITS = ("random", "spa")
_FLOOR = 1e-3  # the smallest abundance of the "spa" start
# the residual norm is computed directly (no cancellation) while the batch of residuals
# fits in this many bytes, else one regularization value at a time
_RESIDUAL_BYTES = 2**27


class UnmixingResult(NamedTuple):
    """The factors of :func:`nmf_unmix`.

    ``abundances`` (n_pixels, k) and ``endmembers`` (k, n_bands), with a leading ``reg``
    dim (R, ...) when ``reg`` was a grid; ``objective`` (n_iter + 1,) or (R, n_iter + 1):
    the objective at the start and after every iteration (constant once a ``reg`` value
    has converged); ``n_iter`` the iterations done (an int, or an (R,) tensor);
    ``converged`` whether the relative decrease fell to ``tol`` (a bool, or an (R,) tensor).
    """

    abundances: torch.Tensor
    endmembers: torch.Tensor
    objective: torch.Tensor
    n_iter: int | torch.Tensor
    converged: bool | torch.Tensor


class AbundanceError(NamedTuple):
    """The result of :func:`abundance_error`.

    ``rmse`` the root-mean-square abundance error over all pixels and endmembers;
    ``per_endmember`` (k,) the RMSE of each true endmember's map; ``permutation`` (k,) the
    estimated column matched to each true one; ``scale`` (k,) the factor applied to each
    matched estimated column (ones unless ``scale="lstsq"``). With a batch of estimates
    (B, n_pixels, k) every field gets the leading B dim.
    """

    rmse: torch.Tensor
    per_endmember: torch.Tensor
    permutation: torch.Tensor
    scale: torch.Tensor


def _matrix(Y, name: str, device, dtype) -> torch.Tensor:
    if isinstance(Y, torch.Tensor):
        if Y.is_complex():
            raise TypeError(f"{name} must be real; got dtype {Y.dtype}.")
        dev = resolve_device(device, Y)
        dt = resolve_dtype(dtype, Y) if (Y.is_floating_point() or dtype is not None) else torch.float64
        return Y.to(device=dev, dtype=dt)
    arr = np.asarray(Y)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}.")
    return torch.as_tensor(arr, dtype=resolve_dtype(dtype), device=resolve_device(device))


def _graph_split(graph, n: int, like: torch.Tensor):
    """``(W_off, d)`` with ``L = diag(d) - W_off``, ``W_off >= 0`` (zero diagonal), ``d >= 0``.

    An adjacency (all entries >= 0) gives its combinatorial Laplacian ``D - W`` (self-loops
    ignored); a matrix with negative entries is read as a Laplacian-like ``L`` (symmetric,
    off-diagonal <= 0, diagonal >= 0: the combinatorial or the symmetric normalized
    Laplacian) and split as it is.
    """
    if sp.issparse(graph):
        M = _torch_from_scipy(graph).to(device=like.device)
    elif isinstance(graph, torch.Tensor):
        M = graph.to(device=like.device)
        if M.layout not in (torch.strided, torch.sparse_coo):
            M = M.to_sparse_coo()
        M = M.coalesce() if M.is_sparse else M
    else:
        M = torch.as_tensor(np.asarray(graph), device=like.device)
    if M.is_complex():
        raise TypeError(f"graph must be real; got dtype {M.dtype}.")
    M = M.to(like.dtype)
    if M.ndim != 2 or M.shape != (n, n):
        raise ValueError(
            f"graph must be (n_pixels, n_pixels) = ({n}, {n}), one node per row of Y; got shape {tuple(M.shape)}. "
            "For an image of ny x nx pixels use grid_graph(ny, nx) with Y = cube.reshape(ny * nx, n_bands)."
        )
    vals = M.values() if M.is_sparse else M
    check_finite(vals, "graph")
    if not bool((vals < 0).any()):  # an adjacency: L = D - W, self-loops ignored
        A = adjacency(M)
        rows, cols, v = _entries(A)
        off = rows != cols
        rows, cols, v = rows[off], cols[off], v[off]
        d = torch.zeros(n, dtype=v.dtype, device=v.device).index_add_(0, rows, v)
    else:  # a Laplacian: W_off = -L off the diagonal, d = diag(L)
        ok, worst = _is_symmetric(M)
        if not ok:
            raise ValueError(f"graph must be symmetric (largest |L - L^T| = {worst:.3g}).")
        rows, cols, v = _entries(M)
        on = rows == cols
        d = torch.zeros(n, dtype=v.dtype, device=v.device).index_add_(0, rows[on], v[on])
        rows, cols, v = rows[~on], cols[~on], -v[~on]
        # a Laplacian: off-diagonal <= 0, diagonal >= 0, and (positive semi-definite, so)
        # |L_ij|^2 <= L_ii L_jj; the last rules out e.g. -W, for which the penalty is unbounded below
        if (bool((v < 0).any()) or bool((d < 0).any())
                or bool((v * v > d[rows] * d[cols] * (1 + 1e-12)).any())):
            raise ValueError(
                "graph has negative entries, so it is read as a Laplacian, but it is not one: a Laplacian has "
                "off-diagonal entries <= 0, a diagonal >= 0 and L_ij^2 <= L_ii L_jj (it is positive "
                "semi-definite). Pass an adjacency (weights >= 0) or laplacian(W)."
            )
    if M.is_sparse or rows.shape[0] <= SPARSE_DENSITY * n * n:  # a pixel graph: sparse products
        W = _coalesced(rows, cols, v, n)
    else:
        W = torch.zeros(n, n, dtype=v.dtype, device=v.device)
        W[rows, cols] = v
    return _operator(W), d


def _spa(Y: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of k pixels chosen by the successive projection algorithm (Araujo et al. 2001;
    Gillis and Vavasis 2014): rows scaled to unit sum, then k times the row of largest
    norm is taken and every row projected onto the orthogonal complement of it. For
    separable data (each endmember has a pure pixel) these are the pure pixels, robustly to
    small noise."""
    total = Y.sum(1, keepdim=True).abs()
    Rm = Y / torch.where(total > 0, total, torch.ones_like(total))
    picked = []
    for _ in range(k):
        norms = (Rm * Rm).sum(1)
        i = int(torch.argmax(norms))
        picked.append(i)
        u = Rm[i] / norms[i].sqrt().clamp_min(torch.finfo(Y.dtype).tiny)
        Rm = Rm - (Rm @ u)[:, None] * u[None, :]
    return torch.tensor(picked, device=Y.device)


def _init(init, Y: torch.Tensor, k: int, gen: torch.Generator):
    n, b = Y.shape
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init={init!r} is unknown; choose one of {list(INITS)} or pass (abundances, endmembers).")
        if init == "random":
            # scikit-learn's NMF(init="random"): |N(0, 1)| * sqrt(mean(Y) / k)
            avg = float(Y.mean().clamp_min(0)) ** 0.5 / k**0.5
            A = torch.randn(n, k, generator=gen, dtype=torch.float64).abs_() * avg
            E = torch.randn(k, b, generator=gen, dtype=torch.float64).abs_() * avg
            return A.to(Y), E.to(Y)
        # "spa": the successive projection algorithm picks k nearly pure pixels
        # on the rank-k approximation of Y (as VCA works in the signal subspace): the noise
        # outside it does not decide which pixel looks purest, nor enter the start
        U, S, Vh = torch.linalg.svd(Y, full_matrices=False)
        Yk = (U[:, :k] * S[:k]) @ Vh[:k]
        E = Yk[_spa(Yk, k)].clamp_min(_FLOOR * float(Yk.abs().max()))
        # abundances: least squares on those endmembers, clipped to a small positive floor
        # (zeros would stay zero), so the first updates do not pull E towards the mean
        G = E @ E.mT
        G = G + torch.finfo(Y.dtype).eps * G.diagonal().sum() * torch.eye(k, dtype=Y.dtype, device=Y.device)
        A = torch.linalg.solve(G, E @ Y.mT).mT.clamp_min(_FLOOR)
        return A, E
    try:
        A0, E0 = init
    except (TypeError, ValueError):
        raise TypeError(
            "init must be 'random', 'spa' or a pair (abundances (n_pixels, k), endmembers (k, n_bands))."
        ) from None
    A = _matrix(A0, "init[0] (abundances)", Y.device, Y.dtype).to(Y).clone()
    E = _matrix(E0, "init[1] (endmembers)", Y.device, Y.dtype).to(Y).clone()
    if A.shape != (n, k):
        raise ValueError(f"init[0] (abundances) must be (n_pixels, k) = ({n}, {k}); got shape {tuple(A.shape)}.")
    if E.shape != (k, b):
        raise ValueError(f"init[1] (endmembers) must be (k, n_bands) = ({k}, {b}); got shape {tuple(E.shape)}.")
    for M, name in ((A, "init[0] (abundances)"), (E, "init[1] (endmembers)")):
        check_finite(M, name)
        if bool((M < 0).any()):
            raise ValueError(f"{name} must be >= 0 (multiplicative updates keep the sign); got a negative entry.")
    return A, E


def nmf_unmix(
    Y,
    n_endmembers: int,
    *,
    graph=None,
    reg=0.0,
    sparsity: float = 0.0,
    sum_to_one: float | None = None,
    update_endmembers: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-6,
    init="random",
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> UnmixingResult:
    """Unmix ``Y`` (n_pixels, n_bands) into abundances and endmembers by graph-regularized,
    sparse NMF (multiplicative updates, in torch on Y's device).

    Minimizes, over ``A >= 0`` (n_pixels, k) and ``E >= 0`` (k, n_bands),

    ``F(A, E) = ||Y - A E||_F^2 + reg tr(A^T L A) + sparsity ||A||_1 + s^2 ||A 1_k - 1_n||^2``

    where ``L = D - W`` is the Laplacian of the pixel graph ``graph``, so
    ``tr(A^T L A) = 1/2 sum_ij W_ij ||a_i - a_j||^2`` over the pixels' abundance rows
    ``a_i``; ``||A||_1 = sum_ij A_ij`` (A >= 0); and the last term, present only when
    ``s = sum_to_one`` is given, softly asks every pixel's abundances to sum to one (the
    augmented-row trick of Heinz and Chang 2001: a column ``s 1`` appended to Y and to E).
    Graph-regularized NMF is Cai et al. (2011); with a sparsity term it is the
    manifold-regularized sparse NMF of Lu et al. (2013) for hyperspectral unmixing (they
    use l1/2; l1 here).

    Each iteration updates A, then E (the order of scikit-learn's ``NMF(solver="mu")``),
    each multiplied by the negative over the positive part of its gradient:

    ``A <- A * (Y E^T + reg W A + s^2) / (A E E^T + reg D A + sparsity/2 + s^2 A 1 1^T)``

    ``E <- E * (A^T Y) / (A^T A E)``

    With ``reg = sparsity = 0`` and no sum-to-one this is Lee and Seung's (2001) algorithm
    (scikit-learn's, to round-off) and ``F`` never increases; the other terms keep the
    descent in practice (the ``objective`` history shows it).

    Two cautions. ``reg`` and ``sparsity`` act on A's scale, which the data term leaves
    free (``A E = (A c)(E / c)``): without ``sum_to_one`` a penalty shrinks A and grows E
    instead; ``sum_to_one`` (1 to 10 for reflectance-like data) pins the scale. And the
    factors are only determined up to ``(A M, M^{-1} E)``: with the endmembers free, the
    spatial penalty is also lowered by flattening the abundance maps' contrast and spreading
    the endmembers apart, which the data term barely resists under noise. On
    ``hyperspectral_cube`` (32 x 32, 64 bands, noise 0.2) blind graph-regularized NMF
    raises the abundance error for every ``reg`` tried; with the endmembers held
    (``update_endmembers=False``, e.g. at a plain NMF's or a spectral library's) the
    penalty denoises the abundances and the error has a minimum at a moderate ``reg``
    (tests/test_graphs_core_unmixing.py has the numbers).

    Parameters
    ----------
    Y : (n_pixels, n_bands) tensor or array, >= 0
        One spectrum per row, e.g. ``cube.reshape(ny * nx, n_bands)`` of a (y, x, band)
        cube (row-major pixel order, as :func:`grid_graph` numbers its nodes). Clip noisy
        negative values first (``Y.clip(0)``).
    n_endmembers : int
        k, the number of endmembers.
    graph : adjacency or Laplacian (n_pixels, n_pixels), optional
        The pixel graph: an adjacency ``W`` (entries >= 0; dense, torch sparse or scipy
        sparse), whose combinatorial Laplacian ``D - W`` is used, or, when it has negative
        entries, a Laplacian ``L`` (symmetric, off-diagonal <= 0, diagonal >= 0, e.g.
        ``laplacian(W)`` or ``laplacian(W, "symmetric")``), split as
        ``D = diag(L)``, ``W = D - L``. Sparse graphs (<= 5 % nonzeros) are multiplied sparse.
    reg : float or 1-D grid, >= 0
        The Laplacian weight (needs ``graph`` when > 0). A grid (R,) runs all values
        together from the same start, batched (results get a leading R dim).
    sparsity : float >= 0
        The l1 weight.
    sum_to_one : float > 0, optional
        The weight ``s`` of the soft sum-to-one constraint (None: no constraint).
    update_endmembers : bool
        False holds E at its start (``init``'s): the convex problem of estimating the
        abundances for known endmembers, with the same penalties.
    max_iter, tol
        At most ``max_iter`` iterations; a ``reg`` value stops (and is frozen) once the
        objective's relative decrease ``(F_prev - F) / F_prev`` is <= ``tol``; ``tol=0``
        runs all ``max_iter`` iterations (as scikit-learn's ``tol=0``).
    init : {"random", "spa"} or (A0, E0)
        ``"random"``: scikit-learn's random start ``|N(0, 1)| sqrt(mean(Y) / k)`` for both
        factors (drawn from a CPU generator seeded with ``seed``, so not scikit-learn's
        numbers); ``"spa"``: the successive projection algorithm on the rank-k
        approximation of Y picks k nearly pure pixels, whose (projected) spectra start E,
        and A starts at the least-squares abundances on them, clipped to ``>= 1e-3``
        (deterministic); or given factors (copied). Zero entries stay zero under
        multiplicative updates. NMF's factors are not unique and the start decides which
        the updates reach: for unmixing ``"spa"`` starts near the endmembers when some
        pixels are (nearly) pure.
    seed : int or None
        Seed of the random start.
    device, dtype
        For numpy inputs (default: the options' device, float64); a tensor Y keeps its own.

    Returns
    -------
    UnmixingResult
        ``abundances`` (n_pixels, k), ``endmembers`` (k, n_bands), ``objective``
        (n_iter + 1,), ``n_iter``, ``converged``; with a ``reg`` grid each gets a leading
        (R,) dim (``n_iter`` and ``converged`` become (R,) tensors).

    References
    ----------
    D. Cai, X. He, J. Han and T. S. Huang, "Graph regularized nonnegative matrix
    factorization for data representation", IEEE TPAMI 33 (2011), 1548-1560.
    X. Lu, H. Wu, Y. Yuan, P. Yan and X. Li, "Manifold regularized sparse NMF for
    hyperspectral unmixing", IEEE TGRS 51 (2013), 2815-2826.
    D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization",
    NIPS 13 (2001). D. C. Heinz and C.-I Chang, "Fully constrained least squares linear
    spectral mixture analysis", IEEE TGRS 39 (2001), 529-545.

    Examples
    --------
    >>> E = torch.tensor([[1.0, 0.2, 0.1], [0.1, 0.3, 1.0]], dtype=torch.float64)
    >>> A = torch.tensor([[1.0, 0.0], [0.7, 0.3], [0.2, 0.8], [0.0, 1.0]], dtype=torch.float64)
    >>> res = nmf_unmix(A @ E, 2, max_iter=2000, tol=1e-12, init="spa")
    >>> bool(torch.allclose(res.abundances @ res.endmembers, A @ E, atol=1e-4))
    True
    >>> float(res.objective[0]) > 1e-7, float(res.objective[-1]) < 1e-25  # F = ||Y - A E||^2 here
    (True, True)

    A grid of ``reg`` on a pixel grid, endmembers held at the truth:

    >>> W = grid_graph(2, 2)  # pixels 0 1 / 2 3
    >>> res = nmf_unmix(A @ E, 2, graph=W, reg=[0.0, 1.0], init=(torch.full((4, 2), 0.5), E),
    ...                 update_endmembers=False, max_iter=3000, tol=1e-12)
    >>> res.abundances.shape, [round(float(v), 3) for v in res.abundances[:, 0, 0]]
    (torch.Size([2, 4, 2]), [1.0, 0.621])
    """
    Y = _matrix(Y, "Y", device, dtype)
    if Y.ndim != 2:
        raise ValueError(f"Y must be (n_pixels, n_bands), one spectrum per row; got shape {tuple(Y.shape)}.")
    n, b = Y.shape
    check_finite(Y, "Y")
    if n < 1 or b < 1:
        raise ValueError(f"Y is empty (shape {tuple(Y.shape)}): it needs at least one pixel and one band.")
    if bool((Y < 0).any()):
        raise ValueError(
            f"Y has negative entries (smallest {float(Y.min()):.3g}): NMF needs Y >= 0. Noise can make "
            "small values negative: clip them first, e.g. Y.clip(0) (numpy) or Y.clamp_min(0) (torch)."
        )
    k = _check_int(n_endmembers, "n_endmembers", 1)
    if not isinstance(update_endmembers, bool):
        raise TypeError(f"update_endmembers must be True or False; got {update_endmembers!r}.")
    if k > min(n, b):
        raise ValueError(f"n_endmembers must be <= min(n_pixels, n_bands) = {min(n, b)}; got {k}.")
    regs, scalar = _reg_grid(reg, Y.dtype, Y.device)
    sparsity = check_real(sparsity, "sparsity")
    delta = check_real(sum_to_one, "sum_to_one", strict=True, allow_none=True)
    max_iter = _check_int(max_iter, "max_iter", 0)
    tol = check_real(tol, "tol")
    if graph is None:
        if bool((regs > 0).any()):
            raise ValueError("reg > 0 needs graph: pass the pixel graph, e.g. graph=grid_graph(ny, nx).")
        Wop, d = None, None
    else:
        Wop, d = _graph_split(graph, n, Y)
    A0, E0 = _init(init, Y, k, seeded_generator(seed))
    R = regs.shape[0]
    A = A0.expand(R, n, k).clone()
    E = E0.expand(R, k, b).clone()
    eps = torch.finfo(Y.dtype).eps
    rr = regs[:, None, None]
    s2 = delta * delta if delta is not None else 0.0

    def graph_product(A):  # W @ A for every reg: (R, n, k)
        WA = Wop @ A.permute(1, 0, 2).reshape(n, R * k)
        return WA.reshape(n, R, k).permute(1, 0, 2)

    def objective(A, E, WA):
        if R * n * b * Y.element_size() <= _RESIDUAL_BYTES:
            F = torch.linalg.vector_norm(Y - A @ E, dim=(-2, -1)) ** 2
        else:
            F = torch.stack([torch.linalg.vector_norm(Y - A[i] @ E[i]) ** 2 for i in range(R)])
        if WA is not None:
            F = F + regs * ((d[None, :, None] * A - WA) * A).sum((-2, -1))
        if sparsity:
            F = F + sparsity * A.sum((-2, -1))
        if delta is not None:
            F = F + s2 * ((A.sum(-1) - 1) ** 2).sum(-1)
        return F

    # per iteration about 4 n b k + 4 n k^2 (+ the graph's nonzeros times k) multiply-adds per
    # reg value: small problems run on one thread, which does not wait on busy cores
    nnz = 0 if Wop is None else (Wop._nnz() if Wop.layout != torch.strided else n * n)
    work = R * (4 * n * b * k + 4 * n * k * k + 2 * nnz * k)
    with single_thread_if_small(work, Y.device):
        WA = graph_product(A) if Wop is not None else None
        F = objective(A, E, WA)
        history = [F]
        active = torch.ones(R, dtype=torch.bool, device=Y.device)
        n_iters = torch.zeros(R, dtype=torch.int64, device=Y.device)
        for _ in range(max_iter):
            # A: (Y E^T + reg W A [+ s^2]) / (A E E^T + reg D A + sparsity/2 [+ s^2 A 1 1^T])
            num = Y @ E.mT
            den = A @ (E @ E.mT)
            if WA is not None:
                num = num + rr * WA
                den = den + rr * (d[None, :, None] * A)
            if sparsity:
                den = den + sparsity / 2
            if delta is not None:
                num = num + s2
                den = den + s2 * A.sum(-1, keepdim=True)
            A_new = A * num / torch.where(den > 0, den, eps)
            # E: (A^T Y) / (A^T A E)
            E_new = E
            if update_endmembers:
                den = (A_new.mT @ A_new) @ E
                E_new = E * (A_new.mT @ Y) / torch.where(den > 0, den, eps)
            keep = active[:, None, None]
            A, E = torch.where(keep, A_new, A), torch.where(keep, E_new, E)
            WA = graph_product(A) if Wop is not None else None
            F_new = torch.where(active, objective(A, E, WA), F)
            n_iters += active.to(torch.int64)
            if tol > 0:
                active = active & ((F - F_new) > tol * F.abs())
            history.append(F_new)
            F = F_new
            if not bool(active.any()):
                break
    hist = torch.stack(history, -1)  # (R, T + 1)
    converged = ~active
    if scalar:
        return UnmixingResult(A[0], E[0], hist[0], int(n_iters[0]), bool(converged[0]))
    return UnmixingResult(A, E, hist, n_iters, converged)


def abundance_error(estimated, true, *, scale: str | None = "lstsq") -> AbundanceError:
    """The abundance RMSE of an unmixing, with the endmembers matched and the scale fixed.

    NMF finds the endmembers in no particular order and each up to a factor
    (``A E = (A P C)(C^{-1} P^T E)`` for a permutation P and a positive diagonal C), so the
    estimate is first brought to the truth's order and scale:

    * ``scale="lstsq"`` (default): each estimated column ``a`` is compared with each true
      column ``t`` after its best factor ``c = <a, t> / ||a||^2`` (least squares);
    * ``scale="sum_to_one"``: the estimated rows are renormalized to sum to one (the
      abundance convention) before matching;
    * ``scale=None``: compared as they are.

    The matching minimizes the total squared error over permutations (the Hungarian
    algorithm, :func:`scipy.optimize.linear_sum_assignment`), and

    ``rmse = sqrt( sum_{pixels i, endmembers j} (c_j a_i,perm(j) - t_ij)^2 / (n_pixels k) )``.

    Parameters
    ----------
    estimated : (n_pixels, k) or (B, n_pixels, k) tensor or array
        Estimated abundances (e.g. :func:`nmf_unmix`'s; a batch from a ``reg`` grid).
    true : (n_pixels, k) tensor or array
        True abundances, e.g. ``ds.abundances.values.reshape(k, -1).T`` of
        :func:`spectrakit.datasets.hyperspectral_cube`.
    scale : {"lstsq", "sum_to_one", None}

    Returns
    -------
    AbundanceError
        ``rmse``, ``per_endmember`` (k,), ``permutation`` (k,), ``scale`` (k,) as tensors on
        the estimate's device (leading B dim for a batch).

    Examples
    --------
    >>> t = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], dtype=torch.float64)
    >>> err = abundance_error(3 * t[:, [1, 0]], t)  # swapped and scaled: still exact
    >>> float(err.rmse), err.permutation.tolist(), err.scale.tolist()
    (0.0, [1, 0], [0.3333333333333333, 0.3333333333333333])
    """
    from scipy.optimize import linear_sum_assignment

    if scale not in ("lstsq", "sum_to_one", None):
        raise ValueError(f"scale={scale!r} is unknown; choose 'lstsq', 'sum_to_one' or None.")
    est = _matrix(estimated, "estimated", None, None)
    est = est.to(torch.float64) if not est.is_floating_point() else est
    T = _matrix(true, "true", est.device, est.dtype).to(est)
    if T.ndim != 2:
        raise ValueError(f"true must be (n_pixels, k); got shape {tuple(T.shape)}.")
    if est.ndim not in (2, 3) or est.shape[-2:] != T.shape:
        raise ValueError(
            f"estimated must be (n_pixels, k) = {tuple(T.shape)} like true (or (B, n_pixels, k)); "
            f"got shape {tuple(est.shape)}."
        )
    check_finite(est, "estimated")
    check_finite(T, "true")
    batch = est.ndim == 3
    Eb = est if batch else est[None]
    n, k = T.shape
    if scale == "sum_to_one":
        total = Eb.sum(-1, keepdim=True)
        Eb = Eb / torch.where(total > 0, total, torch.ones_like(total))
    # cost[b, j, m] = squared error of true column j against estimated column m (scaled)
    # <a, a> and <a, t> by the same product, so that an exact estimate gets c = 1 exactly
    tt = (T * T).sum(0)  # (k,)
    ee = torch.diagonal(Eb.mT @ Eb, dim1=-2, dim2=-1)  # (B, k)
    et = Eb.mT @ T  # (B, k_est, k_true)
    if scale == "lstsq":
        c = torch.where(ee[..., None] > 0, et / torch.where(ee[..., None] > 0, ee[..., None], 1.0), 0.0)
    else:
        c = torch.ones_like(et)
    cost = (tt[None, None, :] - 2 * c * et + c * c * ee[..., None]).clamp_min(0).mT  # (B, k_true, k_est)
    perms, scales, per = [], [], []
    for bi in range(Eb.shape[0]):
        C = cost[bi].detach().cpu().double().numpy()
        rows, cols = linear_sum_assignment(C)
        perm = torch.as_tensor(cols[np.argsort(rows)], device=est.device)
        j = torch.arange(k, device=est.device)
        cj = c[bi].mT[j, perm]  # the factor of estimated column perm[j] against true j
        d = Eb[bi][:, perm] * cj - T
        per.append(torch.sqrt((d * d).mean(0)))
        perms.append(perm)
        scales.append(cj)
    per = torch.stack(per)
    rmse = torch.sqrt((per * per).mean(-1))
    out = AbundanceError(rmse, per, torch.stack(perms), torch.stack(scales))
    return out if batch else AbundanceError(*(f[0] for f in out))

