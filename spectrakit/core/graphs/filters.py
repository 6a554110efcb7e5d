"""Graph spectral filters: frequency responses, exact filtering through an eigenbasis,
Chebyshev polynomial filters, and label propagation (graph Tikhonov on one-hot labels).

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch

from ..checks import check_finite, check_real
from ..spectral import filter_factors
from ..threads import single_thread_if_small
from ._common import _check_choice, _check_dense_memory, _check_int, _size
from .construction import adjacency
from .laplacians import _complex_dtype, _lambda_max_bound, _laplacian_from, _magnetic_from, _resolve_kind
from .spectrum import DENSE_MAX_CPU, GraphSpectrum

# the graph filters: names of core.filtering's filters (``lowpass`` is its ``tsvd``)
GRAPH_FILTERS = ("tikhonov", "heat", "butterworth", "lowpass", "iterated_tikhonov", "showalter")


# ------------------------------------------------------------------------------ filters


def _graph_filter_method(method):
    if callable(method):
        return method, {}
    _check_choice(method, "method", GRAPH_FILTERS)
    return ("tsvd" if method == "lowpass" else method), {}


def graph_frequency_response(values, reg, method="tikhonov", **options) -> torch.Tensor:
    """Filter factors ``h(s, reg)`` at ``s = 1/lam`` for eigenvalues ``lam`` (k,) and every
    ``reg`` (R,): an (R, k) tensor (``reg`` scalar: still (1, k)).

    Through :func:`spectrakit.core.spectral.filter_factors` with ``s = 1/lam``:

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


class GraphBasis:
    """A complete graph spectrum as the spine's :class:`~spectrakit.core.spectral.Basis`.

    The penalty ``x^T L x`` makes denoising ``min ||x - y||^2 + reg x^T L x`` Tikhonov with
    ``mu_i^2 = lam_i``: the filter's argument is ``s = 1/lam`` (``1/tiny`` for the constant
    components, which always pass), so ``s/(s + reg) = 1/(1 + reg lam)`` and every filter of
    :data:`~spectrakit.core.spectral.FILTERS` applies unchanged. The data's coefficients
    are ``V^T y``, a solution ``V (f beta)``; no residual lies outside the basis.

    Examples
    --------
    >>> from spectrakit.core.graphs import graph_spectrum, stochastic_block_model
    >>> from spectrakit.core.spectral import filter_factors
    >>> W, _ = stochastic_block_model([3], 1.0)  # the triangle: eigenvalues 0, 3, 3
    >>> basis = GraphBasis(graph_spectrum(W, kind="combinatorial"))
    >>> y = torch.tensor([[3.0, 0.0, 0.0]], dtype=torch.float64)
    >>> f, _ = filter_factors(basis.s, torch.tensor([1.0], dtype=torch.float64))
    >>> [round(v, 6) for v in basis.reassemble(f, basis.coefficients(y))[0, 0].tolist()]  # (I + L)^-1 y
    [1.5, 0.75, 0.75]
    """

    counts = None  # one mode per eigenvalue

    def __init__(self, spectrum: GraphSpectrum):
        if not isinstance(spectrum, GraphSpectrum) or not spectrum.complete or spectrum.vectors.is_complex():
            raise ValueError("spectrum must be a complete, real GraphSpectrum (graph_spectrum(W) with k=None).")
        self.spectrum = spectrum
        self.vectors = spectrum.vectors
        lam = spectrum.values
        self.s = 1.0 / lam.clamp_min(torch.finfo(lam.dtype).tiny)

    def coefficients(self, b: torch.Tensor) -> torch.Tensor:
        """``beta = V^T y`` for signals ``b`` (..., n): (..., n)."""
        return b @ self.vectors

    def reassemble(self, f: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """``V (f beta)`` for factors ``f`` (R, n) and coefficients ``beta`` (B, n): (B, R, n)."""
        return (f.unsqueeze(0) * beta.unsqueeze(1)) @ self.vectors.T

    def outside_norm_sq(self, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """0: a complete eigenbasis leaves nothing outside."""
        return b.new_zeros(b.shape[:-1])


def graph_filter(spectrum: GraphSpectrum, x, reg, method="tikhonov", **options) -> torch.Tensor:
    """Filter graph signals exactly through a complete eigenbasis: ``y = V h(Lambda) V^H x``.

    ``x`` is (n,) or (n, c); ``reg`` a scalar (result shaped like x) or a 1-D grid
    (result (R, n) or (R, n, c)): the decomposition is reused for every ``reg``.
    Filters and their conventions: :func:`graph_frequency_response` (Tikhonov
    ``(I + reg L)^{-1} x``, heat ``exp(-reg L) x``, low-pass...). The spectrum must hold all
    n eigenpairs (``graph_spectrum(W)``); for large graphs use :func:`chebyshev_filter`.

    Examples
    --------
    >>> from spectrakit.core.graphs import graph_spectrum, stochastic_block_model
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
    lmax = check_real(lmax, "lmax", strict=True)
    N = 2 * (order + 1)
    theta = math.pi * (torch.arange(N, dtype=torch.float64) + 0.5) / N
    lam = (lmax / 2) * (torch.cos(theta) + 1)
    vals = torch.as_tensor(h(lam.to(dtype=dtype, device=device))).to(torch.float64).cpu()  # (..., N)
    k = torch.arange(order + 1, dtype=torch.float64)
    cos = torch.cos(k[:, None] * theta[None, :])  # (K+1, N)
    c = (2.0 / N) * vals @ cos.T
    return c.to(dtype=dtype, device=device)


def chebyshev_eval(c: torch.Tensor, lam: torch.Tensor, lmax: float) -> torch.Tensor:
    """The Chebyshev series ``c_0/2 + sum_k c_k T_k(2 lam/lmax - 1)`` (R, K+1) at points
    ``lam`` (N,): (R, N), by Clenshaw's recurrence (the convention of
    :func:`chebyshev_coefficients`; the one recurrence in spectrakit).

    Examples
    --------
    >>> import torch
    >>> c = torch.tensor([[2.0, 1.0]], dtype=torch.float64)  # 1 + T_1(t), t = lam - 1 on [0, 2]
    >>> chebyshev_eval(c, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64), 2.0).tolist()
    [[0.0, 1.0, 2.0]]
    """
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
    >>> from spectrakit.core.graphs import graph_spectrum, stochastic_block_model
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
    lmax = _lambda_max_bound(A, kind) if lmax is None else check_real(lmax, "lmax", strict=True)
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
    err = (chebyshev_eval(c, grid, lmax) - graph_frequency_response(grid, regs, method, **options)).abs().amax(1)

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
    """``labels`` (n,) or (R, n) predicted classes, -1 where the labels have not reached
    the node; ``scores`` (n, C) or (R, n, C), the filtered one-hot labels ``F``; ``method``
    how the system was solved; ``reached`` (bool, shaped like ``labels``) whether a node's
    best score is above the resolution ``floor`` (() or (R,); labelled nodes always count
    as reached). With label sets (n, S): labels and reached (..., n, S), scores
    (..., n, S, C), floor (..., S)."""

    labels: torch.Tensor
    scores: torch.Tensor
    method: str
    reached: torch.Tensor
    floor: torch.Tensor


def reg_from_zhou_alpha(alpha: float) -> float:
    """Zhou et al.'s (and scikit-learn ``LabelSpreading``'s) ``alpha`` in (0, 1) as ``reg``:
    ``(I - alpha S)^{-1} = (I + reg L_sym)^{-1} / (1 - alpha)`` with ``reg = alpha/(1-alpha)``.

    Examples
    --------
    >>> reg_from_zhou_alpha(0.5), reg_from_zhou_alpha(0.75)
    (1.0, 3.0)
    """
    alpha = check_real(alpha, "alpha")
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


def _cg(matvec, B: torch.Tensor, tol: float, max_iter: int, decided=None):
    """Conjugate gradients on the columns of B (n, C) for an SPD operator. ``decided(X,
    rs)``, if given, must also hold before stopping (rs: the squared residual norms)."""
    X = torch.zeros_like(B)
    R = B.clone()
    P = R.clone()
    rs = (R * R).sum(0)
    target = (tol * torch.linalg.vector_norm(B, dim=0)) ** 2
    for it in range(max_iter):
        if bool((rs <= target).all()) and (decided is None or decided(X, rs)):
            return X, it, True
        AP = matvec(P)
        alpha = rs / (P * AP).sum(0).clamp_min(torch.finfo(B.dtype).tiny)
        X = X + alpha * P
        R = R - alpha * AP
        rs_new = (R * R).sum(0)
        P = R + (rs_new / rs.clamp_min(torch.finfo(B.dtype).tiny)) * P
        rs = rs_new
    return X, max_iter, bool((rs <= target).all()) and (decided is None or decided(X, rs))


def _label_matrix(labels, n: int) -> tuple[torch.Tensor, int]:
    """Labels as an (n, S) int64 tensor of class indices (-1 unlabelled), checked; and C."""
    y = torch.as_tensor(labels.detach().cpu() if isinstance(labels, torch.Tensor) else np.asarray(labels))
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise ValueError(f"labels must be (n,) = ({n},) class indices with -1 for unlabelled, or (n, S) for S label "
                         f"sets; got shape {tuple(y.shape)}.")
    if y.is_floating_point():
        if not bool((y == torch.round(y)).all()):
            raise ValueError("labels must be integers (class indices, -1 for unlabelled).")
    y = y.to(torch.int64)
    y = y[:, None] if y.ndim == 1 else y
    if bool((y < -1).any()):
        raise ValueError("labels must be >= -1 (-1 marks an unlabelled node).")
    if y.shape[1] == 0:
        raise ValueError("labels has no label set: its shape is (n, 0).")
    empty = (~(y >= 0).any(0)).nonzero()[:, 0].tolist()
    if empty:
        where = "" if y.shape[1] == 1 else f" in label set(s) {empty}"
        raise ValueError(f"labels has no labelled node{where}: give at least one class index >= 0.")
    C = int(y.max()) + 1
    missing = sorted(set(range(C)) - set(y[y >= 0].tolist()))
    if missing:
        raise ValueError(f"labels: classes {missing} have no labelled node; relabel the classes as 0..C-1.")
    return y, C


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

    **Reached nodes.** ``I + reg L`` is an M-matrix, so ``F >= 0``, and a node's scores
    decay roughly like ``reg**hops`` with its distance from the labelled nodes: at small
    ``reg`` most far nodes get scores like 1e-50, which no floating-point method
    resolves (their argmax would be round-off). A node is *reached* when its best score
    exceeds the resolution floor

    ``floor = n * eps * (1 + reg * lmax) * max|F|``

    (eps of the dtype; ``lmax`` a bound on the Laplacian's largest eigenvalue, 2 for
    ``L_sym``; ``max|F|`` over all nodes and classes at that reg). Why this floor: the
    eigenbasis products and the Cholesky solve form sums of n terms (rounding error up
    to ``n * eps`` of their size, Higham's ``gamma_n``) and ``1 + reg * lmax`` bounds the
    condition number of ``I + reg L``, which amplifies it; measured errors are a few
    ``eps * (1 + reg * lmax) * max|F|``, well under the floor. Conjugate gradients'
    error is at most its residual (``||(I + reg L)^{-1}|| <= 1``): ``"cg"`` iterates
    past ``tol`` until its residual decides every node's reached status and label
    against the floor (or is a hundredth of it). So all methods report the same
    reached nodes and labels, except nodes within round-off of the floor, or whose top
    two scores tie to within the floor (then the winner is round-off in every method).
    An unreached node gets the label -1 (the "unlabelled" marker): the labels have not
    reached it at this ``reg``; a larger ``reg`` spreads them further. Labelled nodes
    are always reached.

    ``method``: ``"spectrum"`` (through ``spectrum``, a complete :class:`GraphSpectrum` of
    this kind: every ``reg`` of a grid costs two products), ``"solve"`` (dense Cholesky on
    W's device), ``"cg"`` (conjugate gradients with sparse products, to ``tol``), or
    ``"auto"``: spectrum when given, else solve for dense W up to n = 10,000, else cg.
    ``reg`` scalar or 1-D grid (leading R dim in the results). ``labels`` (n,) or (n, S):
    S label sets on the one graph, solved together (one factorization per reg; classes
    are shared, a class may be absent from some sets).

    Returns a :class:`LabelPropagationResult` (``labels``, ``scores``, ``method``,
    ``reached``, ``floor``).

    Examples
    --------
    >>> from spectrakit.core.graphs import stochastic_block_model
    >>> W, truth = stochastic_block_model([20, 20], 0.5, 0.02, seed=0)
    >>> given = torch.full((40,), -1)
    >>> given[0], given[20] = 0, 1  # one label per block
    >>> res = label_propagation(W, given, 10.0)
    >>> bool((res.labels == truth).float().mean() > 0.9), res.method, bool(res.reached.all())
    (True, 'solve', True)
    >>> path = torch.diag(torch.ones(29, dtype=torch.float64), 1)
    >>> path = path + path.T  # a path of 30 nodes, labelled at one end
    >>> far = label_propagation(path, torch.tensor([0] + [-1] * 29), [0.01, 100.0])
    >>> far.reached.sum(-1).tolist()  # reg = 0.01 reaches 7 nodes, reg = 100 all 30
    [7, 30]
    >>> far.labels[0, 5:9].tolist()
    [0, 0, -1, -1]
    """
    A = adjacency(W)
    n = A.shape[0]
    _check_choice(kind, "kind", ("combinatorial", "symmetric"))
    _check_choice(method, "method", ("auto", "spectrum", "solve", "cg"))
    y, C = _label_matrix(labels, n)
    single = np.ndim(labels) == 1 if not isinstance(labels, torch.Tensor) else labels.ndim == 1
    S = y.shape[1]
    known = (y >= 0).to(A.device)  # (n, S)
    # one-hot columns, set-major: column s * C + c
    Y = torch.zeros(n, S, C, dtype=A.dtype)
    rows, sets = known.cpu().nonzero(as_tuple=True)
    Y[rows, sets, y[rows, sets]] = 1.0
    Y = Y.reshape(n, S * C).to(A.device)
    regs, scalar = _reg_grid(reg, A.dtype, A.device)
    eps = torch.finfo(A.dtype).eps
    lmax = _lambda_max_bound(A, kind)
    factors = n * eps * (1 + regs * lmax)  # (R,) floor / max|F|
    if method == "auto":
        method = "spectrum" if spectrum is not None else ("solve" if not A.is_sparse and n <= DENSE_MAX_CPU else "cg")
    if method == "spectrum":
        if spectrum is None:
            raise ValueError("method='spectrum' needs spectrum=graph_spectrum(W, kind=...).")
        if spectrum.kind != kind:
            raise ValueError(f"spectrum is of kind {spectrum.kind!r} but kind={kind!r}; they must match.")
        if spectrum.n != n:
            raise ValueError(f"spectrum has {spectrum.n} nodes but W has {n}; pass the spectrum of this graph.")
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
            tol = check_real(tol, "tol", strict=True)
            Lop = _operator(L)
            iters = max_iter or max(100, 10 * n)
            for r, factor in zip(regs, factors):
                rr = float(r)
                decided = _cg_decided(known, S, C, float(factor))
                with single_thread_if_small(_size(L) * C * S * 50, L.device):
                    F_r, _it, ok = _cg(lambda v: v + rr * (Lop @ v), Y, tol, iters, decided)
                if not ok:
                    warnings.warn(f"label_propagation: conjugate gradients did not reach tol={tol} (and the "
                                  f"resolution floor) in {iters} iterations at reg={rr}; raise max_iter.",
                                  RuntimeWarning, stacklevel=2)
                Fs.append(F_r)
        F = torch.stack(Fs)
    F = F.reshape(F.shape[0], n, S, C)
    floor = F.abs().amax(dim=(1, 3)) * factors[:, None]  # (R, S): max|F| per reg and label set
    reached = (F.amax(-1) > floor[:, None, :]) | known  # (R, n, S)
    out = torch.where(reached, torch.argmax(F, -1), torch.full_like(y, -1).to(F.device))
    if single:
        F, out, reached, floor = F[:, :, 0], out[..., 0], reached[..., 0], floor[:, 0]
    if scalar:
        F, out, reached, floor = F[0], out[0], reached[0], floor[0]
    return LabelPropagationResult(out, F, method, reached, floor)


def _cg_decided(known: torch.Tensor, S: int, C: int, factor: float):
    """CG's extra stopping rule: its error bound (the residual norm bounds every entry's
    error; per label set the largest over the classes) decides every node's reached
    status (best score clearly above or below the floor ``factor * max|X|``) and its
    label (the top two scores further apart than twice the bound), or is under a
    hundredth of the floor, as fine as the dense methods resolve."""

    def decided(X: torch.Tensor, rs: torch.Tensor) -> bool:
        Xs = X.reshape(X.shape[0], S, C)
        err = rs.clamp_min(0).sqrt().reshape(S, C).amax(-1)  # (S,)
        floor = factor * Xs.abs().amax(dim=(0, 2))  # (S,)
        top = Xs.topk(min(C, 2), dim=-1).values  # (n, S, 2)
        best = top[..., 0]
        unsure = ((best - floor).abs() <= err) & ~known
        if C > 1:
            unsure |= (top[..., 0] - top[..., 1] <= 2 * err) & ((best > floor - err) | known)
        return bool((~unsure.any(0) | (err <= floor / 100)).all())

    return decided
