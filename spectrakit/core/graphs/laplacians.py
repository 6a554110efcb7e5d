"""Graph Laplacians (combinatorial, normalized, random walk, magnetic) and a guaranteed bound
on their largest eigenvalue.

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

import math
import numbers

import torch

from ..threads import single_thread_if_small
from ._common import _check_choice, _size, _sort_work
from .construction import _entries, _symmetrized, _with_diagonal, adjacency

LAPLACIANS = ("combinatorial", "symmetric", "random_walk", "magnetic", "magnetic_normalized")


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
    >>> from spectrakit.core.graphs import stochastic_block_model
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
