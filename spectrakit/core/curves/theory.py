"""Learning-curve theory: the deterministic equivalents.

Part of :mod:`spectrakit.core.curves` (read its docstring first for the conventions and what
is exact). This module holds the power-law spectra and targets, the effective
regularization ``kappa``, the test error of ridge (:func:`ridge_learning_curve`, read first),
of gradient flow and gradient descent (:func:`gd_learning_curve`, Talbot's contour), of any
population filter and spectral cut-off, and the best error over each method's parameter
(:func:`optimal_learning_curve`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_real
from ..threads import single_thread_if_small
from ._common import (
    _METHODS,
    _check_batch_memory,
    _check_int,
    _chunks,
    _coefs,
    _flow_filter,
    _gd_filter,
    _grid,
    _noise,
    _spectrum,
)

__all__ = [
    "power_law_spectrum",
    "power_law_target",
    "effective_regularization",
    "LearningCurve",
    "ridge_learning_curve",
    "gd_learning_curve",
    "cutoff_learning_curve",
    "spectral_learning_curve",
    "OptimalCurve",
    "optimal_learning_curve",
]


# ------------------------------------------------------------------- spectra and targets


def power_law_spectrum(n_modes: int, alpha: float, *, scale: float = 1.0, device=None, dtype=None) -> torch.Tensor:
    """Population eigenvalues ``lambda_k = scale * k**-alpha``, ``k = 1 .. n_modes``.

    ``alpha`` is the capacity (decay) exponent, ``> 0``; ``alpha > 1`` keeps the trace finite
    as ``n_modes`` grows.

    Examples
    --------
    >>> power_law_spectrum(4, 2.0, device="cpu")
    tensor([1.0000, 0.2500, 0.1111, 0.0625], dtype=torch.float64)
    """
    n_modes = _check_int(n_modes, "n_modes", 1)
    alpha = check_real(alpha, "alpha", strict=True)
    scale = check_real(scale, "scale", strict=True)
    k = torch.arange(1, n_modes + 1, dtype=torch.float64)
    return (scale * k**-alpha).to(device=resolve_device(device), dtype=resolve_dtype(dtype))


def power_law_target(n_modes: int, beta: float, *, scale: float = 1.0, device=None, dtype=None) -> torch.Tensor:
    """Target coefficients ``c_k = sqrt(scale) * k**(-beta/2)``, so ``c_k**2 = scale * k**-beta``.

    ``beta`` is the source (smoothness) exponent, ``> 0``; ``beta > 1`` keeps ``||f*||**2 =
    sum c_k**2`` finite. Relative to a spectrum ``k**-alpha`` the target lies in the RKHS
    when ``beta > alpha + 1``.

    Examples
    --------
    >>> power_law_target(3, 2.0, device="cpu") ** 2
    tensor([1.0000, 0.2500, 0.1111], dtype=torch.float64)
    """
    n_modes = _check_int(n_modes, "n_modes", 1)
    beta = check_real(beta, "beta", strict=True)
    scale = check_real(scale, "scale", strict=True)
    k = torch.arange(1, n_modes + 1, dtype=torch.float64)
    return (math.sqrt(scale) * k ** (-0.5 * beta)).to(device=resolve_device(device), dtype=resolve_dtype(dtype))


# ------------------------------------------------------------- effective regularization


def _kappa(lam: torch.Tensor, n: torch.Tensor, reg: torch.Tensor, tol: float, max_iter: int) -> torch.Tensor:
    """Solve ``F(k) = n k - reg - k sum lam/(lam + k) = 0`` for flat (B,) ``n`` and ``reg``.

    F is increasing at its largest root and convex, so Newton from the upper bound
    ``(sum lam + reg)/n`` decreases monotonically to that root (the one wanted: for
    ``reg = 0`` with more modes than samples, not the spurious root at 0).
    """
    with single_thread_if_small(30.0 * n.shape[0] * lam.shape[0], lam.device):
        return _kappa_loop(lam, n, reg, tol, max_iter)


def _kappa_loop(lam, n, reg, tol, max_iter):
    total = lam.sum()
    P = lam.shape[0]
    rank = int((lam > 0).sum())
    out = torch.empty_like(n)
    for sl in _chunks(n.shape[0], P):
        nb, rb = n[sl, None], reg[sl, None]
        k = (total + rb) / nb
        lower = rb / nb
        # reg = 0 and no more (nonzero) modes than samples: least squares, kappa = 0
        zero = (rb == 0) & (nb >= rank)
        active = ~zero
        for _ in range(max_iter):
            L = lam / (lam + k)
            # n - sum L without cancellation: near n ~ P, as (n - P) + sum k/(lam + k)
            gap = torch.where(nb > 0.5 * P, (nb - P) + (k / (lam + k)).sum(-1, keepdim=True), nb - L.sum(-1, keepdim=True))
            F = k * gap - rb
            dF = nb - (L * L).sum(-1, keepdim=True)
            step = torch.where(active, F / dF.clamp_min(torch.finfo(k.dtype).tiny), 0.0)
            # in exact arithmetic every step is >= 0 (monotone from the right): a step
            # below tol, or one backwards, means rounding has the last word
            done = (step <= tol * k) | ~active
            k = torch.where(active & (step > 0), torch.maximum(k - step, lower), k)
            active = active & ~done
            if not bool(active.any()):
                break
        out[sl] = torch.where(zero, 0.0, k)[:, 0]
    return out


def effective_regularization(eigenvalues, n, reg, *, tol: float | None = None, max_iter: int = 200) -> torch.Tensor:
    """The deterministic-equivalent regularization ``kappa`` of ridge with ``n`` samples.

    ``kappa`` is the root of

        ``n = sum_k lambda_k / (lambda_k + kappa) + reg / kappa``,

    i.e. ``kappa = reg/n + (kappa/n) sum_k lambda_k/(lambda_k + kappa)`` (Bordelon et al.
    2020, Simon et al. 2021, Hastie et al. 2019). ``reg`` is spectrakit's (scikit-learn's
    ``alpha``, on the sum of squares); ``kappa`` is on the scale of the population
    eigenvalues, where the plain ridge filter would put ``reg / n``: ``kappa >= reg/n``,
    and ``kappa -> reg/n`` as ``n -> inf`` at fixed ``reg/n``. Ridge learns mode ``k`` to
    the fraction ``lambda_k / (lambda_k + kappa)``. With ``reg = 0`` and more modes than
    samples, ``kappa > 0`` is the ridgeless interpolator's implicit regularization; with
    at most ``n`` (nonzero) modes it is 0 (least squares).

    Solved by Newton's method from the upper bound ``(sum lambda + reg)/n``, which
    decreases monotonically to the root; vectorized over ``n`` and ``reg``.

    Parameters
    ----------
    eigenvalues : (P,) tensor or array
        Population spectrum, ``>= 0``.
    n : scalar or 1-D grid
        Number of samples, ``> 0`` (need not be an integer).
    reg : scalar or 1-D grid
        Ridge strength (scikit-learn's ``alpha``), ``>= 0``.
    tol : float, optional
        Relative tolerance on ``kappa`` (default ``64 eps`` of the dtype).
    max_iter : int
        Newton steps at most (the default is never reached in practice).

    Returns
    -------
    kappa : tensor of shape ``(*n.shape, *reg.shape)``

    Examples
    --------
    >>> lam = torch.ones(100, dtype=torch.float64)  # isotropic, 100 modes
    >>> # ridgeless with 50 samples: 100/(1 + kappa) = 50, so kappa = 1
    >>> round(float(effective_regularization(lam, 50, 0.0)), 12)
    1.0
    >>> effective_regularization(lam, [50, 200], [0.0, 10.0]).shape
    torch.Size([2, 2])
    """
    lam = _spectrum(eigenvalues)
    n_t, n_shape = _grid(n, "n", lam, positive=True)
    reg_t, reg_shape = _grid(reg, "reg", lam)
    max_iter = _check_int(max_iter, "max_iter", 1)
    tol = 64 * torch.finfo(lam.dtype).eps if tol is None else check_real(tol, "tol", strict=True)
    nn = n_t[:, None].expand(-1, reg_t.shape[0]).reshape(-1)
    rr = reg_t[None, :].expand(n_t.shape[0], -1).reshape(-1)
    return _kappa(lam, nn, rr, tol, max_iter).reshape(n_shape + reg_shape)


# ------------------------------------------------------------------------ ridge curve


class LearningCurve(NamedTuple):
    """Deterministic-equivalent test error and its parts.

    Leading dims are ``(*n.shape, *param.shape)`` (``param``: reg, steps or rank; scalars
    add no dim); ``*_mode`` and ``factors`` add a last dim of length P (the modes).

    Attributes
    ----------
    error : excess risk ``E ||f_hat - f*||**2`` (= ``bias2 + variance``; add ``noise**2``
        for the test MSE on noisy labels).
    bias2 : the error with noiseless labels.
    variance : what the label noise adds.
    bias2_mode, variance_mode : their split over the modes of the learned function
        (``E (f_hat_k - c_k)**2 = bias2_mode[k] + variance_mode[k]``).
    factors : the filter on the population modes, ``E f_hat_k / c_k`` (for ridge the
        learnability ``lambda_k/(lambda_k + kappa)``).
    kappa : the effective regularization (ridge only; None otherwise).
    """

    error: torch.Tensor
    bias2: torch.Tensor
    variance: torch.Tensor
    bias2_mode: torch.Tensor
    variance_mode: torch.Tensor
    factors: torch.Tensor
    kappa: torch.Tensor | None


def _ridge_parts(lam, c2, noise2, n, kappa):
    """(B,) n and kappa -> the LearningCurve fields (without kappa), flat."""
    k = kappa[:, None]
    denom = lam + k
    safe = torch.where(denom > 0, denom, 1.0)
    L = torch.where(denom > 0, lam / safe, 0.0)
    one_minus = torch.where(denom > 0, k / safe, 1.0)
    gamma = (L * L).sum(-1) / n
    inflate = torch.where(gamma < 1, 1.0 / (1.0 - gamma).clamp_min(torch.finfo(lam.dtype).tiny), math.inf)
    B = (one_minus**2 * c2).sum(-1)
    bias2 = torch.where(B > 0, inflate * B, 0.0)
    share = (L * L) / n[:, None]
    # share = 0 (a mode not learned at all) takes none of the scattered error, even at inflate = inf
    bias2_mode = one_minus**2 * c2 + torch.where(share > 0, share * bias2[:, None], 0.0)
    if noise2 > 0:
        variance = noise2 * (inflate - 1.0)
        variance_mode = torch.where(share > 0, share * (noise2 * inflate)[:, None], 0.0)
    else:
        variance, variance_mode = torch.zeros_like(gamma), torch.zeros_like(L)
    return bias2 + variance, bias2, variance, bias2_mode, variance_mode, L


def ridge_learning_curve(eigenvalues, coefs, noise, n, reg) -> LearningCurve:
    """Test error of ridge / kernel ridge regression: the deterministic equivalent.

    With ``kappa`` from :func:`effective_regularization`, the learnabilities
    ``L_k = lambda_k/(lambda_k + kappa)``, ``gamma = sum_k L_k**2 / n`` and
    ``E0 = 1/(1 - gamma)``:

    * ``bias2 = E0 * sum_k (1 - L_k)**2 c_k**2``,
    * ``variance = noise**2 * (E0 - 1)``,
    * ``error = bias2 + variance``, so the test MSE ``error + noise**2`` is the
      omniscient-risk formula ``(sum_k (1 - L_k)**2 c_k**2 + noise**2) / (1 - gamma)``
      (Bordelon, Canatar & Pehlevan 2020; Simon et al. 2021; Hastie et al. 2019).

    Per mode of the learned function, ``bias2_mode[k] = (1 - L_k)**2 c_k**2 + L_k**2 bias2/n``
    (the shrinkage, plus the unfit signal that random design scatters into mode k) and
    ``variance_mode[k] = L_k**2 E0 noise**2 / n``. ``reg = 0`` gives the ridgeless
    (minimum-norm) interpolator; where ``gamma = 1`` (``reg = 0`` with exactly ``n``
    modes) the error is infinite, the interpolation peak.

    Parameters
    ----------
    eigenvalues : (P,) population spectrum, ``>= 0``.
    coefs : (P,) target coefficients ``c_k`` (only ``c_k**2`` matters here).
    noise : float, label-noise standard deviation, ``>= 0``.
    n : scalar or 1-D grid of sample sizes, ``> 0``.
    reg : scalar or 1-D grid, ``>= 0`` (scikit-learn's ``alpha``; see the module's
        conventions).

    Returns
    -------
    LearningCurve with leading dims ``(*n.shape, *reg.shape)``.

    Examples
    --------
    Isotropic features, ridgeless, twice as many modes as samples: Hastie et al.'s
    ``bias2 = r**2 (1 - n/P)`` and ``variance = noise**2 n/(P - n)``:

    >>> lam = torch.ones(200, dtype=torch.float64)
    >>> c = torch.full((200,), 0.1, dtype=torch.float64)  # r**2 = sum c**2 = 2
    >>> curve = ridge_learning_curve(lam, c, 0.5, 100, 0.0)
    >>> round(float(curve.bias2), 6), round(float(curve.variance), 6)
    (1.0, 0.25)
    """
    lam = _spectrum(eigenvalues)
    c = _coefs(coefs, lam)
    noise2 = _noise(noise) ** 2
    n_t, n_shape = _grid(n, "n", lam, positive=True)
    reg_t, reg_shape = _grid(reg, "reg", lam)
    nn = n_t[:, None].expand(-1, reg_t.shape[0]).reshape(-1)
    rr = reg_t[None, :].expand(n_t.shape[0], -1).reshape(-1)
    kappa = _kappa(lam, nn, rr, 64 * torch.finfo(lam.dtype).eps, 200)
    _check_batch_memory(nn.shape[0], lam.shape[0], lam, "ridge_learning_curve")
    with single_thread_if_small(10.0 * nn.shape[0] * lam.shape[0], lam.device):
        parts = _ridge_parts(lam, c * c, noise2, nn, kappa)
    shape = n_shape + reg_shape
    return _curve(parts, shape, kappa.reshape(shape))


def _curve(parts, shape, kappa) -> LearningCurve:
    error, bias2, variance, bias2_mode, variance_mode, factors = parts
    P = bias2_mode.shape[-1]
    return LearningCurve(
        error=error.reshape(shape), bias2=bias2.reshape(shape), variance=variance.reshape(shape),
        bias2_mode=bias2_mode.reshape(shape + (P,)), variance_mode=variance_mode.reshape(shape + (P,)),
        factors=factors.reshape(shape + (P,)), kappa=kappa,
    )


# ------------------------------------------------------- population-filter functional


def _population_parts(c2, noise2, n, h):
    """(B,) n, (B, P) filter -> LearningCurve fields (population approximation)."""
    bias2_mode = (1 - h) ** 2 * c2
    variance_mode = noise2 * h * h / n[:, None]
    bias2, variance = bias2_mode.sum(-1), variance_mode.sum(-1)
    return bias2 + variance, bias2, variance, bias2_mode, variance_mode, h


def spectral_learning_curve(eigenvalues, coefs, noise, n, factors) -> LearningCurve:
    """Test error of any spectral filter in the population approximation.

    For filter values ``h_k`` on the population modes (shape ``(..., P)``), the empirical
    spectrum is replaced by the population one:

        ``bias2_mode[k] = (1 - h_k)**2 c_k**2``, ``variance_mode[k] = noise**2 h_k**2 / n``.

    Exact as ``n -> inf`` at a fixed filter; accurate while the filter keeps far fewer
    than ``n`` modes (``sum_k h_k**2 << n``). It misses the finite-``n`` renormalization
    (for ridge, ``reg/n -> kappa`` and the factor ``1/(1 - gamma)``): prefer
    :func:`ridge_learning_curve` and :func:`gd_learning_curve`, which include it.

    Parameters
    ----------
    eigenvalues, coefs, noise : as in :func:`ridge_learning_curve`.
    n : scalar or 1-D grid of sample sizes.
    factors : (..., P) filter values ``h_k`` in [0, 1] on the population modes.

    Returns
    -------
    LearningCurve with leading dims ``(*n.shape, *factors.shape[:-1])``, ``kappa=None``.

    Examples
    --------
    Keep the first two of four modes: the bias is the power left out, the variance
    ``noise**2 * 2 / n``:

    >>> lam = torch.tensor([1.0, 0.5, 0.25, 0.125], dtype=torch.float64)
    >>> c = torch.ones(4, dtype=torch.float64)
    >>> h = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=torch.float64)
    >>> curve = spectral_learning_curve(lam, c, 1.0, 10, h)
    >>> float(curve.bias2), float(curve.variance)
    (2.0, 0.2)
    """
    lam = _spectrum(eigenvalues)
    c = _coefs(coefs, lam)
    noise2 = _noise(noise) ** 2
    n_t, n_shape = _grid(n, "n", lam, positive=True)
    h = torch.as_tensor(factors, dtype=lam.dtype, device=lam.device)
    if h.ndim < 1 or h.shape[-1] != lam.shape[0]:
        raise ValueError(
            f"factors must end in a modes dim of length {lam.shape[0]} (like eigenvalues); got shape {tuple(h.shape)}."
        )
    check_finite(h, "factors")
    lead = tuple(h.shape[:-1])
    _check_batch_memory(n_t.shape[0] * max(1, math.prod(lead)), lam.shape[0], lam, "spectral_learning_curve")
    hh = h.reshape(1, -1, lam.shape[0]).expand(n_t.shape[0], -1, -1).reshape(-1, lam.shape[0])
    nn = n_t[:, None].expand(-1, hh.shape[0] // n_t.shape[0]).reshape(-1)
    parts = _population_parts(c * c, noise2, nn, hh)
    return _curve(parts, n_shape + lead, None)


def cutoff_learning_curve(eigenvalues, coefs, noise, n, rank) -> LearningCurve:
    """Spectral cut-off (principal-components regression) keeping the top ``rank`` modes.

    Population approximation (:func:`spectral_learning_curve`) with ``h_k = 1`` for the
    ``rank`` largest eigenvalues: ``bias2 = sum of c_k**2 over the modes left out``,
    ``variance = noise**2 rank / n``. Accurate while ``rank`` is a small fraction of ``n``;
    as ``rank`` nears ``n`` the empirical top eigenvectors mix in the tail and the measured
    error grows faster (see :func:`monte_carlo_curve` with ``method="cutoff"``).

    Examples
    --------
    >>> lam = torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64)
    >>> c = torch.ones(3, dtype=torch.float64)
    >>> cutoff_learning_curve(lam, c, 1.0, 10, [0, 1, 3]).error
    tensor([3.0000, 2.1000, 0.3000], dtype=torch.float64)
    """
    lam = _spectrum(eigenvalues)
    ranks, r_shape = _grid(rank, "rank", lam, integer=True)
    order = torch.argsort(lam, descending=True, stable=True)
    position = torch.empty_like(order)
    position[order] = torch.arange(lam.shape[0], device=lam.device)
    h = (position[None, :].to(lam.dtype) < ranks[:, None]).to(lam.dtype)
    return spectral_learning_curve(lam, coefs, noise, n, h.reshape(r_shape + (lam.shape[0],)))


# --------------------------------------------------------------- gradient flow (exact)


def _kappa_complex(lam: torch.Tensor, n: float, p: torch.Tensor, tol: float, max_iter: int = 100) -> torch.Tensor:
    """kappa(p) for complex population-scale ridge strengths p (any shape), by Newton on
    ``kappa - p - (kappa/n) sum lam/(lam + kappa) = 0`` from ``p + sum(lam)/n`` (its value
    for large |p|; the branch continuous with the real solution for p > 0)."""
    lam_c = lam.to(p.dtype)
    k = p + lam.sum() / n
    previous = math.inf
    for _ in range(max_iter):
        L = lam_c / (lam_c + k[..., None])
        F = k - p - k * L.sum(-1) / n
        dF = 1.0 - (L * L).sum(-1) / n
        step = F / dF
        k = k - step
        worst = float((step.abs() / k.abs()).max())
        # converged, or Newton has stopped gaining (rounding has the last word)
        if worst <= tol or (worst < 1e-8 and worst > 0.5 * previous):
            break
        previous = worst
    return k


def _talbot(tau: torch.Tensor, nodes: int):
    """Nodes p (T, N) and weights w (T, N) of the fixed-Talbot rule (midpoints on
    (-pi, pi), ``r = 2M/(5 tau)`` with ``M = N/2``; Abate & Valko 2004):
    ``f(tau) ~ sum_j w_j F(p_j)`` inverts the Laplace transform ``F``."""
    real = tau.dtype
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    th = -math.pi + (torch.arange(nodes, dtype=real, device=tau.device) + 0.5) * (2 * math.pi / nodes)
    cot = torch.cos(th) / torch.sin(th)
    r = (nodes / (5.0 * tau))[:, None]
    p = torch.complex(r * th * cot, r * th.expand_as(r * th))
    dp = torch.complex(r * (cot - th / torch.sin(th) ** 2), r.expand_as(r * th))
    w = torch.exp(p * tau[:, None].to(cplx)) * dp / (nodes * 1j)
    return p.to(cplx), w.to(cplx)


def _flow_parts(lam, c2, noise2, n: float, tau: torch.Tensor, nodes: int):
    """Gradient flow for times tau (T,) at one n: LearningCurve fields (T, ...).

    ``exp(-tau s) = (1/2 pi i) int e^{p tau}/p * p/(s + p) dp`` and
    ``(1 - exp(-tau s))/s = (1/2 pi i) int e^{p tau}/p * 1/(s + p) dp``: the flow's error
    is a double inverse Laplace transform of the two-point ridge equivalent
    ``p1 p2 (S + p1)^-1 Sigma (S + p2)^-1 ~ k1 k2 (Sigma + k1)^-1 Sigma (Sigma + k2)^-1 /
    (1 - gamma12)``, ``gamma12 = sum_k L1_k L2_k / n``.

    Computed in float64 whatever the input (Talbot's rule cancels terms up to
    ``e^{nodes/5}``, too much for float32) and returned in the input's dtype.
    """
    T, P = tau.shape[0], lam.shape[0]
    dtype = lam.dtype
    with single_thread_if_small(float(T) * nodes * P * (2 * nodes + 40), lam.device):
        parts = _flow_parts_loop(lam.double(), c2.double(), noise2, n, tau.double(), nodes)
    return tuple(x.to(dtype) for x in parts)


def _flow_parts_loop(lam, c2, noise2, n, tau, nodes):
    T, P = tau.shape[0], lam.shape[0]
    out_rows = []
    positive = tau > 0
    tau_safe = torch.where(positive, tau, 1.0)
    lam_c = lam.to(torch.complex128)
    c2c = c2.to(torch.complex128)
    for sl in _chunks(T, 4 * nodes * P):  # complex temporaries: a smaller chunk
        p, w = _talbot(tau_safe[sl], nodes)
        W = w / p  # (t, N)
        k = _kappa_complex(lam, n, p, 64 * torch.finfo(lam.dtype).eps)[..., None]  # (t, N, 1)
        L = lam_c / (lam_c + k)  # (t, N, P)
        A = k / (lam_c + k)
        gamma12 = (L @ L.mT) / n  # (t, N, N)
        B12 = (A * c2c) @ A.mT
        WW = W[:, :, None] * W[:, None, :]
        inv = WW / (1.0 - gamma12)
        bias2 = (inv * B12).sum((-1, -2)).real
        variance = noise2 * (inv * gamma12).sum((-1, -2)).real
        g_mean = (W[:, :, None] * A).sum(-2).real  # (t, P): E exp(-tau S) on the diagonal
        # per mode: sum_jk L_jm L_km M_jk  for M = inv * B12 and M = inv
        mix_b = ((inv * B12) @ L * L).sum(-2).real / n
        mix_v = ((inv @ L) * L).sum(-2).real / n
        bias2_mode = g_mean * g_mean * c2 + mix_b
        variance_mode = noise2 * mix_v
        out_rows.append((bias2, variance, bias2_mode, variance_mode, 1.0 - g_mean))
    bias2, variance, bias2_mode, variance_mode, factors = (torch.cat(x) for x in zip(*out_rows))
    # tau = 0: nothing learned yet
    zero = ~positive
    bias2 = torch.where(zero, c2.sum(), bias2)
    variance = torch.where(zero, 0.0, variance)
    bias2_mode = torch.where(zero[:, None], c2, bias2_mode)
    variance_mode = torch.where(zero[:, None], 0.0, variance_mode)
    factors = torch.where(zero[:, None], 0.0, factors)
    return bias2 + variance, bias2, variance, bias2_mode, variance_mode, factors


def gd_learning_curve(
    eigenvalues, coefs, noise, n, steps, *, lr: float | None = None, flow: bool = False, nodes: int = 32
) -> LearningCurve:
    """Test error of gradient descent after ``steps`` steps (or of gradient flow).

    Gradient descent on ``(1/2n) ||y - X w||**2`` from 0 with step ``lr`` applies the
    filter ``1 - (1 - lr s)**steps`` to the eigenvalues ``s`` of ``X^T X / n``; gradient
    flow (``flow=True``) for the time ``tau = lr * steps`` applies ``1 - exp(-tau s)``.

    * **Gradient flow** is computed exactly at the level of the ridge deterministic
      equivalent: its filter is a superposition of ridge resolvents over complex
      strengths, ``exp(-tau s) = (1/2 pi i) int e^{p tau} / (s + p) dp``, so its error is
      a double inverse Laplace transform of the two-point equivalent
      ``k1 k2 (Sigma + k1)^-1 Sigma (Sigma + k2)^-1 / (1 - gamma12)`` with
      ``k_i = kappa(p_i)`` (:func:`effective_regularization` at complex strength) and
      ``gamma12 = sum_k L1_k L2_k / n``. The transforms are inverted with the fixed
      Talbot rule on ``nodes`` points, in float64 whatever the input: the absolute error
      is about ``10**(-0.35 nodes)`` of ``sum c_k**2``, about 1e-11 at the default 32
      (more than about 40 nodes lose accuracy to rounding); ``tau -> inf`` gives the
      ridgeless interpolator of :func:`ridge_learning_curve`.
    * **Gradient descent** is gradient flow at ``tau = lr * steps`` plus the population-
      level difference between the two filters, ``sum_k [(1 - h_gd)**2 - (1 - h_flow)**2]
      c_k**2 + noise**2 sum_k (h_gd**2 - h_flow**2)/n``. The difference of the filters is
      at most about ``0.3/steps`` (it matters for the first steps only, where the
      population approximation is accurate), so the correction is exact in both limits;
      tested against Monte-Carlo to a few percent.

    Parameters
    ----------
    eigenvalues, coefs, noise : as in :func:`ridge_learning_curve`.
    n : scalar or 1-D grid of sample sizes, ``> 0``.
    steps : scalar or 1-D grid, ``>= 0``: whole steps for gradient descent, any time
        (in steps of ``lr``) for the flow.
    lr : float, optional
        Step size, ``0 < lr < 2/lambda_max`` (default ``1/lambda_max``). The empirical
        eigenvalues exceed the population ones, so real gradient descent needs ``lr`` below
        ``2/s_max`` of ``X^T X/n`` (``monte_carlo_curve`` checks this).
    flow : bool
        Gradient flow for the time ``lr * steps`` instead of discrete steps.
    nodes : int
        Talbot points per transform (even, >= 8; default 32). Each (n, steps) point costs
        about ``nodes**2 * P`` complex multiply-adds.

    Returns
    -------
    LearningCurve with leading dims ``(*n.shape, *steps.shape)``, ``kappa=None``;
    ``factors`` is the mean filter ``E f_hat_k / c_k``.

    Examples
    --------
    Long training reaches the ridgeless interpolator:

    >>> lam, c = power_law_spectrum(200, 1.5, device="cpu"), power_law_target(200, 2.0, device="cpu")
    >>> gd = gd_learning_curve(lam, c, 0.3, 50, 1e7, lr=1.0, flow=True)
    >>> ridgeless = ridge_learning_curve(lam, c, 0.3, 50, 0.0)
    >>> abs(float(gd.error / ridgeless.error) - 1) < 1e-6
    True
    """
    lam = _spectrum(eigenvalues)
    c = _coefs(coefs, lam)
    noise2 = _noise(noise) ** 2
    n_t, n_shape = _grid(n, "n", lam, positive=True)
    steps_t, s_shape = _grid(steps, "steps", lam, integer=not flow)
    if not isinstance(flow, bool):
        raise TypeError(f"flow must be True (gradient flow) or False (discrete steps); got {flow!r}.")
    nodes = _check_int(nodes, "nodes", 8)
    if nodes % 2:
        raise ValueError(f"nodes must be even (Talbot's contour is symmetric); got {nodes}.")
    lam_max = float(lam.max())
    lr = 1.0 / lam_max if lr is None else check_real(lr, "lr", strict=True)
    if not flow and lr * lam_max >= 2:
        raise ValueError(
            f"lr={lr!r} makes gradient descent diverge: lr * lambda_max = {lr * lam_max:.3g} >= 2. "
            f"Use lr < {2 / lam_max:.4g} (the default is 1/lambda_max), or flow=True."
        )
    _check_batch_memory(n_t.shape[0] * steps_t.shape[0], lam.shape[0], lam, "gd_learning_curve")
    c2 = c * c
    tau = lr * steps_t
    rows = []
    for i in range(n_t.shape[0]):
        n_i = float(n_t[i])
        parts = list(_flow_parts(lam, c2, noise2, n_i, tau, nodes))
        if not flow:
            h_gd, h_fl = _gd_filter(lam, steps_t, lr), _flow_filter(lam, tau)
            nn = torch.full_like(steps_t, n_i)
            pop_gd = _population_parts(c2, noise2, nn, h_gd)
            pop_fl = _population_parts(c2, noise2, nn, h_fl)
            parts = [a + g - f for a, g, f in zip(parts, pop_gd, pop_fl)]
        rows.append(parts)
    parts = [torch.stack(x) for x in zip(*rows)]
    return _curve(parts, n_shape + s_shape, None)


# ------------------------------------------------------------------- optimal curves


class OptimalCurve(NamedTuple):
    """The best error over a method's parameter, for each sample size.

    Attributes
    ----------
    error : (*n.shape,) the smallest excess risk on the grid.
    best : (*n.shape,) the parameter (reg, steps or rank) where it is reached.
    grid : (G,) the grid searched.
    errors : (*n.shape, G) the whole error curve.
    """

    error: torch.Tensor
    best: torch.Tensor
    grid: torch.Tensor
    errors: torch.Tensor


def optimal_learning_curve(
    eigenvalues, coefs, noise, n, *, method: str = "ridge", grid=None, lr: float | None = None
) -> OptimalCurve:
    """The error at the best ``reg`` (or number of steps, or rank) for each ``n``.

    What a learning-curve plot of a *tuned* method shows, and where ridge's saturation is
    seen: for a power-law spectrum ``lambda_k ~ k**-alpha`` and target ``c_k**2 ~ k**-beta``
    the tuned error decays like ``n**-((beta - 1)/beta)`` for gradient descent and
    cut-off, and for ridge only while ``beta - 1 <= 2 alpha``: smoother targets saturate
    ridge at ``n**-(2 alpha/(2 alpha + 1))`` (its filter cannot fit the top modes faster
    than ``kappa**2``), while gradient descent keeps improving.

    Parameters
    ----------
    eigenvalues, coefs, noise, n : as in :func:`ridge_learning_curve`.
    method : ``"ridge"`` (:func:`ridge_learning_curve`), ``"gd"``, ``"flow"``
        (:func:`gd_learning_curve`) or ``"cutoff"`` (:func:`cutoff_learning_curve`).
    grid : 1-D grid of the method's parameter, optional. Defaults: ridge ``reg`` 8 per
        decade from ``1e-3 * min(n) * lambda_min`` to ``10 * max(n) * lambda_max``; gd and
        flow 8 per decade of ``steps`` from 1 to ``100/(lr * lambda_min)``; cut-off every
        rank from 0 to P.
    lr : step size for gd and flow (default ``1/lambda_max``).

    Returns
    -------
    OptimalCurve

    Examples
    --------
    >>> lam, c = power_law_spectrum(500, 1.5, device="cpu"), power_law_target(500, 2.5, device="cpu")
    >>> best = optimal_learning_curve(lam, c, 0.5, [100, 1000])
    >>> bool(best.error[1] < best.error[0])
    True
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r} is unknown; choose one of {_METHODS}.")
    lam = _spectrum(eigenvalues)
    n_t, n_shape = _grid(n, "n", lam, positive=True)
    pos = lam[lam > 0]
    lam_max, lam_min = float(pos.max()), float(pos.min())
    lr_v = 1.0 / lam_max if lr is None else check_real(lr, "lr", strict=True)
    if grid is None:
        if method == "ridge":
            lo = math.log10(1e-3 * float(n_t.min()) * lam_min)
            hi = math.log10(10 * float(n_t.max()) * lam_max)
            g = torch.logspace(lo, hi, max(2, int(8 * (hi - lo)) + 1), dtype=torch.float64)
        elif method == "cutoff":
            g = torch.arange(0, lam.shape[0] + 1, dtype=torch.float64)
        else:
            hi = math.log10(max(10.0, 100.0 / (lr_v * lam_min)))
            g = torch.logspace(0, hi, max(2, int(8 * hi) + 1), dtype=torch.float64)
            if method == "gd":
                g = torch.unique(torch.round(g))
        g = g.to(device=lam.device, dtype=lam.dtype)
    else:
        g, g_shape = _grid(grid, "grid", lam, integer=method in ("gd", "cutoff"))
        if not g_shape:
            raise ValueError("grid must be a 1-D grid of at least one value (the parameter to search).")
    rows = []
    for i in range(n_t.shape[0]):
        n_i = n_t[i]
        if method == "ridge":
            e = ridge_learning_curve(lam, coefs, noise, n_i, g).error
        elif method == "cutoff":
            e = cutoff_learning_curve(lam, coefs, noise, n_i, g).error
        else:
            e = gd_learning_curve(lam, coefs, noise, n_i, g, lr=lr_v, flow=method == "flow").error
        rows.append(e)
    errors = torch.stack(rows)
    best_err, idx = errors.min(-1)
    return OptimalCurve(
        error=best_err.reshape(n_shape), best=g[idx].reshape(n_shape), grid=g,
        errors=errors.reshape(n_shape + (g.shape[0],)),
    )
