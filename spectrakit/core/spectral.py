"""The spine of spectrakit: filters of a spectrum and the criteria that choose ``reg``.

Almost every method here is: *decompose* an operator into spectral components, *filter*
the components with a function ``h(s, reg)`` of a spectral value ``s`` and one strength
``reg``, *reassemble*, and *score*. This module holds the filter and score parts, written
once for every capability; each capability's core module supplies the decomposition as a
:class:`Basis` (``s``, the data's coefficients, ``reassemble(f)``):

* :data:`FILTERS` and :func:`filter_factors`: ``h(s, reg)`` for a whole grid of ``reg``;
  ``s`` is a squared (generalized) singular value, so every filter is ~1 where
  ``s >> reg`` and ~0 where ``s << reg`` (Tikhonov ``s/(s+reg)``: ``reg`` = scikit-learn's
  ``alpha`` = regtools' ``lambda**2``);
* :func:`spectral_criteria`: residual and solution norms, :func:`gcv` (with its guard
  where the fit interpolates), the L-curve's curvature (:func:`tikhonov_curvature`,
  :func:`grid_curvature`) and the discrepancy, from the coefficients alone;
* :func:`leave_one_out`: the linear smoother's leave-one-out from its leverages.

Read next: :mod:`spectrakit.core.filtering` (SVD / GSVD / kernel bases), then any other
capability. Everything stays on the device and in the dtype of the tensors passed in.
"""

from __future__ import annotations

import math
from typing import Callable, Protocol, runtime_checkable

import torch

__all__ = [
    "CONVENTIONS", "Basis", "FILTERS", "filter_factors", "method_name", "landweber_iterations", "safe_inverse",
    "spectral_criteria", "residual_and_solution_norms", "tikhonov_curvature", "grid_curvature", "gcv",
    "leave_one_out",
]



#: the conventions every result records (attrs["conventions"])
CONVENTIONS = (
    "filters h(s, reg) act on s = sigma**2 (squared singular value; squared generalized "
    "singular value with a penalty L; kernel eigenvalue); tikhonov h = s/(s+reg), so reg = "
    "scikit-learn's alpha = regtools' lambda**2; coordinate 's' on 'mode' holds s, 'sigma' its square root"
)


@runtime_checkable
class Basis(Protocol):
    """What a capability's decomposition gives the spine (the SVD, GSVD and kernel
    :class:`~spectrakit.core.filtering.SpectralBasis` of :mod:`spectrakit.core.filtering`, the DFT of :mod:`spectrakit.core.fourier`, a
    graph Laplacian's eigenvectors of :mod:`spectrakit.core.graphs`).

    ``s`` (k,) the filter's argument per mode (a squared generalized singular value: large
    ``s`` is a component the data determine well); ``counts`` (k,) how many modes each
    entry stands for (None: one each; a DFT groups equal frequencies); and, for data ``b``
    (..., m), ``coefficients(b)`` the data's coefficients ``beta`` (..., k),
    ``reassemble(f, beta)`` the solution for filter factors ``f`` (R, k), and
    ``outside_norm_sq(b, beta)`` the squared residual no filter removes. With these,
    :func:`filter_factors` and :func:`spectral_criteria` do the rest.
    """

    s: torch.Tensor
    counts: torch.Tensor | None

    def coefficients(self, b: torch.Tensor) -> torch.Tensor: ...

    def reassemble(self, f: torch.Tensor, beta: torch.Tensor) -> torch.Tensor: ...

    def outside_norm_sq(self, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor: ...


def safe_inverse(values: torch.Tensor) -> torch.Tensor:
    """``1/values`` where ``values > 0``, else 0 (the pseudo-inverse of a diagonal)."""
    safe = torch.where(values > 0, values, torch.ones_like(values))
    return torch.where(values > 0, 1.0 / safe, torch.zeros_like(values))



# ----------------------------------------------------------------------------- filters


def _tikhonov(s, reg):
    return torch.where(s > 0, s / (s + reg).clamp_min(torch.finfo(s.dtype).tiny), 0.0)


def _tsvd(s, reg):
    return ((s >= reg) & (s > 0)).to(s.dtype)


def _showalter(s, reg):
    ratio = torch.where(reg > 0, s / reg.clamp_min(torch.finfo(s.dtype).tiny), math.inf)
    return torch.where(s > 0, -torch.expm1(-ratio), 0.0)


def _iterated_tikhonov(s, reg, order=2):
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer (the number of Tikhonov steps); got {order!r}.")
    # 1 - (reg/(s+reg))**m written so that small s keeps full relative precision
    base = torch.log1p(-_tikhonov(s, reg).clamp_max(1.0))
    return torch.where(s > 0, -torch.expm1(order * base), 0.0)


def _heat(s, reg):
    # exp(-reg/s): with s = 1/|k|^2 (a Fourier or graph frequency) the Gaussian low-pass
    # exp(-reg |k|^2), i.e. the heat kernel at time reg
    ratio = torch.where(s > 0, reg / torch.where(s > 0, s, 1.0), math.inf)
    return torch.where(s > 0, torch.exp(-ratio), 0.0)


def _butterworth(s, reg, order=2):
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer (the Butterworth order); got {order!r}.")
    # 1 / (1 + (reg/s)**order) = sigmoid(order log(s/reg)), finite for any s and reg
    tiny = torch.finfo(s.dtype).tiny
    f = torch.sigmoid(order * (s.clamp_min(tiny).log() - reg.clamp_min(tiny).log()))
    return torch.where(s > 0, torch.where(reg > 0, f, 1.0), 0.0)


def landweber_iterations(reg, omega: float) -> torch.Tensor:
    """Landweber's iteration count for a strength: ``k = max(1, round(1/(omega*reg)))``."""
    k = torch.round(1.0 / (omega * reg))
    return torch.where(reg > 0, k.clamp_min(1.0), math.inf)


def _landweber(s, reg, omega=None, n_iter=None):
    s_max = float(s.max()) if s.numel() else 0.0
    if omega is None:
        omega = 1.0 / s_max if s_max > 0 else 1.0
    if not (0 < omega <= (1.0 / s_max) * (1 + 1e-12) if s_max > 0 else omega > 0):
        raise ValueError(
            f"omega={omega!r} is outside Landweber's range 0 < omega <= 1/sigma_1**2 = {1 / s_max:.6g}; "
            "leave omega=None for the default 1/sigma_1**2."
        )
    if n_iter is not None:
        k = torch.as_tensor(n_iter, dtype=s.dtype, device=s.device).reshape(-1, 1)
        if (k < 0).any() or (k != torch.round(k)).any():
            raise ValueError(f"n_iter must be a non-negative integer count of iterations; got {n_iter!r}.")
        k = k.expand(reg.shape[0], 1)
    else:
        k = landweber_iterations(reg, omega)
    # 1 - (1 - omega s)**k, stable for small omega*s and huge k
    safe_k = torch.where(k > 0, k, 1.0)
    f = -torch.expm1(safe_k * torch.log1p(-(omega * s).clamp_max(1.0)))
    return torch.where((s > 0) & (k > 0), f, 0.0), k[:, 0]


FILTERS: dict[str, Callable] = {
    "tikhonov": _tikhonov,
    "tsvd": _tsvd,
    "landweber": _landweber,
    "showalter": _showalter,
    "iterated_tikhonov": _iterated_tikhonov,
    "heat": _heat,
    "butterworth": _butterworth,
}

_OPTIONS = {"landweber": {"omega", "n_iter"}, "iterated_tikhonov": {"order"}, "butterworth": {"order"}}


def method_name(method) -> str:
    """The name recorded in results for a method string or a user callable."""
    return method if isinstance(method, str) else getattr(method, "__name__", "custom")


def filter_factors(s: torch.Tensor, reg: torch.Tensor, method="tikhonov", **options):
    """Filter factors ``h(s, reg)`` for every ``reg`` (R,) and mode ``s`` (k,).

    Filters of ``s = sigma**2``:

    ========================= ==============================================
    ``tikhonov``              ``s / (s + reg)``
    ``tsvd``                  ``1 if s >= reg else 0`` (native: ``rank``)
    ``landweber``             ``1 - (1 - omega s)**k``, ``k = max(1, round(1/(omega reg)))``,
                              ``0 < omega <= 1/sigma_1**2`` (default ``1/sigma_1**2``),
                              or ``n_iter=k`` directly (wins over reg; native: ``n_iter``)
    ``showalter``             ``1 - exp(-s / reg)`` (gradient flow for time 1/reg)
    ``iterated_tikhonov``     ``1 - (reg / (s + reg))**order`` (default order 2)
    ``heat``                  ``exp(-reg / s)``: with ``s = 1/|k|^2`` the Gaussian low-pass
                              ``exp(-reg |k|^2)`` (heat kernel at time reg)
    ``butterworth``           ``1 / (1 + (reg / s)**order)`` (default order 2; order 1 is
                              tikhonov): with ``s = 1/|k|^2`` the Butterworth low-pass with
                              cut-off ``|k| = 1/sqrt(reg)``
    callable ``h(s, reg)``    ``s`` of shape (1, k), ``reg`` of shape (R, 1)
    ========================= ==============================================

    Returns
    -------
    factors : (R, k) tensor
    native : dict with the method's own parameter per reg, e.g. ``{"rank": (R,)}``

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    >>> f, _ = filter_factors(s, torch.tensor([1.0], dtype=torch.float64))
    >>> f.tolist()
    [[0.8, 0.5, 0.2]]
    """
    reg = torch.as_tensor(reg, dtype=s.dtype, device=s.device).reshape(-1, 1)
    if (reg < 0).any() or not torch.isfinite(reg).all():
        raise ValueError("reg must be finite and >= 0 (a regularization strength).")
    sk = s.reshape(1, -1)
    native = {}
    if callable(method):
        if options:
            raise TypeError(f"a callable method takes no options; got {sorted(options)}.")
        name = getattr(method, "__name__", "the callable")
        try:
            f = torch.as_tensor(method(sk, reg), dtype=s.dtype, device=s.device)
            f = torch.broadcast_to(f, (reg.shape[0], s.shape[0]))
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"method: the callable filter {name} must return factors broadcastable to (len(reg), len(s)) = "
                f"({reg.shape[0]}, {s.shape[0]}) from s of shape (1, k) and reg of shape (R, 1) ({exc})."
            ) from None
        if not torch.isfinite(f).all():
            raise ValueError(f"method: the callable filter {name} returned non-finite factors.")
        return f, native
    if method not in FILTERS:
        raise ValueError(f"method={method!r} is unknown; choose one of {sorted(FILTERS)} or pass a callable h(s, reg).")
    unknown = set(options) - _OPTIONS.get(method, set())
    if unknown:
        raise TypeError(
            f"method={method!r} takes no option(s) {sorted(unknown)}; it takes {sorted(_OPTIONS.get(method, ())) or 'none'}."
        )
    if method == "landweber":
        f, k = _landweber(sk, reg, **options)
        native["n_iter"] = k
    else:
        f = FILTERS[method](sk, reg, **options)
        if method == "tsvd":
            native["rank"] = f.sum(-1)
    return f, native



# --------------------------------------------------------------------- criteria


def _round_off(dtype) -> float:
    """How close to 0 a ``1 - leverage`` or ``m - trace`` (relative) counts as 0."""
    return 16 * torch.finfo(dtype).eps


def gcv(res_sq: torch.Tensor, dof: torch.Tensor, m: int) -> torch.Tensor:
    """Generalized cross-validation ``m ||r||^2 / (m - trace H)^2`` (Golub, Heath and Wahba
    1979) for squared residual norms ``res_sq`` (..., R) and traces ``dof`` (R,).

    Where the fit interpolates (``trace H = m`` to round-off) GCV is 0/0: it is ``inf``
    there, as :func:`leave_one_out` is, not a spurious minimum made of rounding errors.
    Every capability's GCV is this one function.

    Examples
    --------
    >>> import torch
    >>> gcv(torch.tensor([[2.0, 0.0]]), torch.tensor([2.0, 4.0]), 4).tolist()
    [[2.0, inf]]
    """
    interpolates = (m - dof) <= _round_off(res_sq.dtype) * m
    value = m * res_sq / (m - dof) ** 2
    return torch.where(interpolates, math.inf, value)


def leave_one_out(e: torch.Tensor, leverage: torch.Tensor) -> torch.Tensor:
    """The linear smoother's leave-one-out score ``mean_i (e_i / (1 - H_ii))^2`` from its
    residuals ``e`` (..., R, m) and its influence matrix's diagonal ``leverage`` (R, m):
    (..., R). Exact leave-one-out for Tikhonov; ``inf`` where some ``H_ii = 1`` to
    round-off (the fit interpolates that point and its leave-one-out error is 0/0).

    Examples
    --------
    >>> import torch
    >>> leave_one_out(torch.tensor([[1.0, 1.0], [1.0, 1.0]]), torch.tensor([[0.5, 0.5], [1.0, 0.0]])).tolist()
    [4.0, inf]
    """
    one_minus = 1 - leverage
    interpolates = (one_minus <= _round_off(e.dtype)).any(-1)
    loo = ((e / torch.where(one_minus > 0, one_minus, torch.ones_like(one_minus))) ** 2).mean(-1)
    return torch.where(interpolates, math.inf, loo)


def _abs_sq(t: torch.Tensor) -> torch.Tensor:
    return t.real**2 + t.imag**2 if t.is_complex() else t * t


def residual_and_solution_norms(s, beta, f, outside_sq):
    """Squared residual and solution norms for factors f (R, k), coefficients beta (B, k)
    (real, or complex for a Fourier basis) and spectral values ``s`` (k,): (B, R) each."""
    beta_sq = _abs_sq(beta)
    res_sq = ((1 - f) ** 2).unsqueeze(0).mul(beta_sq.unsqueeze(1)).sum(-1) + outside_sq.unsqueeze(1)
    sol_sq = (f**2).unsqueeze(0).mul((beta_sq * safe_inverse(s)).unsqueeze(1)).sum(-1)
    return res_sq, sol_sq


def tikhonov_curvature(s, beta, reg, res_sq, sol_sq):
    """Hansen's closed-form curvature of the Tikhonov L-curve (log||r||, log||x||).

    In regtools' variable ``lam = sqrt(reg)`` with ``eta = ||x||^2`` and ``rho = ||r||^2``:
    ``kappa = -2 (eta rho / eta') (lam^2 eta' rho + 2 lam eta rho + lam^4 eta eta')
    / (lam^4 eta^2 + rho^2)^(3/2)`` where ``eta' = -(4/lam) sum (1-f) f^2 beta^2 / s``.
    The sign makes the corner a maximum (positive), as when the curve is traversed in
    the direction of increasing reg (see :func:`grid_curvature`).
    """
    lam = reg.sqrt().unsqueeze(0)
    f, _ = filter_factors(s, reg, "tikhonov")
    deta = -(4 / lam) * (((1 - f) * f * f).unsqueeze(0) * (_abs_sq(beta) * safe_inverse(s)).unsqueeze(1)).sum(-1)
    eta, rho = sol_sq, res_sq
    num = lam**2 * deta * rho + 2 * lam * eta * rho + lam**4 * eta * deta
    kappa = -2 * (eta * rho / deta) * num / (lam**4 * eta**2 + rho**2) ** 1.5
    return torch.where(lam > 0, kappa, torch.nan)


def grid_curvature(reg, res_sq, sol_sq, f=None):
    """Curvature of (log||r||, log||x||) by finite differences in log(reg) on the grid.

    Methods with a discrete native parameter (TSVD's rank, Landweber's count) give the
    same solution on whole stretches of the grid: with the factors ``f`` (R, k) given,
    each stretch counts once (at its first reg) and gets that point's curvature, and the
    zero solution (x = 0, no point on a log-log curve) is left out.
    """
    out = torch.full_like(res_sq, torch.nan)
    if reg.shape[0] < 3 or (reg <= 0).any() or (torch.diff(reg) <= 0).any():
        return out
    if f is None:
        first = torch.arange(reg.shape[0], device=reg.device)
    else:
        new_stretch = torch.ones(reg.shape[0], dtype=torch.bool, device=reg.device)
        new_stretch[1:] = (f[1:] != f[:-1]).any(-1)
        first = torch.nonzero(new_stretch & (f != 0).any(-1)).flatten()
    if first.numel() < 3:
        return out
    t = reg[first].log()
    a = 0.5 * res_sq[:, first].clamp_min(torch.finfo(res_sq.dtype).tiny).log()
    c = 0.5 * sol_sq[:, first].clamp_min(torch.finfo(sol_sq.dtype).tiny).log()
    (da,) = torch.gradient(a, spacing=(t,), dim=-1)
    (dc,) = torch.gradient(c, spacing=(t,), dim=-1)
    (dda,) = torch.gradient(da, spacing=(t,), dim=-1)
    (ddc,) = torch.gradient(dc, spacing=(t,), dim=-1)
    speed = (da**2 + dc**2).sqrt()
    kappa = (da * ddc - dda * dc) / speed**3
    # where the curve has stalled (every factor ~0 or ~1: rounding moves the point, not
    # the filter) a curvature is noise over a vanishing speed: leave it undefined
    stalled = speed <= 1e-6 * speed.amax(-1, keepdim=True)
    kappa = torch.where(stalled, torch.nan, kappa)
    # every grid point takes the curvature of the stretch it belongs to
    stretch = torch.searchsorted(first, torch.arange(reg.shape[0], device=reg.device), right=True) - 1
    valid = stretch >= 0
    out[:, valid] = kappa[:, stretch[valid]]
    if f is not None:
        out[:, ~(f != 0).any(-1)] = torch.nan
    return out


def spectral_criteria(
    s: torch.Tensor,
    beta: torch.Tensor,
    reg: torch.Tensor,
    f: torch.Tensor,
    *,
    m: int,
    outside_sq: torch.Tensor,
    method="tikhonov",
    n_unpenalized: int = 0,
    noise_norm: torch.Tensor | None = None,
    counts: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The criteria that need only the spectral coefficients, for any orthonormal basis
    (SVD, GSVD, kernel eigenvectors, the unitary DFT): (B, R) tensors.

    ``beta`` (B, k) are the data's coefficients (complex for a Fourier basis), ``s`` the
    filter's argument per mode, ``outside_sq`` (B,) the squared residual no filter
    removes, ``m`` the number of data points and ``n_unpenalized`` the dimension fitted
    without penalty. Modes sharing one ``s`` (equal frequencies of a Fourier basis) may
    be given once: ``counts`` (k,) says how many each stands for and ``beta`` holds the
    root of their summed ``|beta|^2``. See :func:`path_criteria` for the definitions;
    ``trace`` (R,) is the influence matrix's trace (the degrees of freedom).
    """
    res_sq, sol_sq = residual_and_solution_norms(s, beta, f, outside_sq)
    out = {"residual_norm": res_sq.sqrt(), "solution_norm": sol_sq.sqrt()}
    # trace of the influence matrix, (R,)
    dof = n_unpenalized + (f.sum(-1) if counts is None else f @ counts.to(f.dtype))
    out["gcv"] = gcv(res_sq, dof, m)
    out["trace"] = dof
    if method == "tikhonov":
        out["curvature"] = tikhonov_curvature(s, beta, reg, res_sq, sol_sq)
    else:
        out["curvature"] = grid_curvature(reg, res_sq, sol_sq, f)
    if noise_norm is not None:
        out["discrepancy"] = out["residual_norm"] / noise_norm.reshape(-1, 1)
    return out


