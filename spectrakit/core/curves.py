"""Learning-curve theory, compute layer: deterministic equivalents of the test error of
ridge / kernel ridge, gradient flow and gradient descent, spectral cut-off and
random-features ridge; model collapse; Monte-Carlo counterparts on synthetic Gaussian data;
and the kernel-ridge path (one eigendecomposition, every ``reg``, predictions at new points).

Torch only, unlabelled tensors in and out: every result is on the device and in the dtype
of ``eigenvalues`` (a numpy or list input goes where :func:`spectrakit.set_options` or the
automatic choice says, in float64), and no input is modified. Random draws come from a CPU
``torch.Generator`` seeded with ``seed`` and are then moved, so a seeded Monte-Carlo run
gives the same numbers on the CPU and on a GPU (up to rounding).

Conventions (stated once, tested in tests/test_curves_core.py)
---------------------------------------------------------------
* **Modes.** ``eigenvalues`` ``lambda_k`` are the population spectrum: the eigenvalues of
  the feature covariance ``E[x x^T]`` (linear regression) or of the kernel's integral
  operator under the data distribution (kernel regression; the eigenvalues of ``K/n``
  for a Gram matrix K of n points estimate the top ones). ``coefs`` ``c_k`` are the
  target's coordinates in the orthonormal eigenfunctions, ``f*(x) = sum_k c_k phi_k(x)``
  with ``E[phi_j phi_k] = delta_jk``, so ``c_k**2`` is the target's power in mode ``k``
  (for linear regression ``c_k = sqrt(lambda_k) w*_k``). Labels are
  ``y = f*(x) + noise * eps`` with unit-variance ``eps``.
* **reg** is spectrakit's ``reg`` everywhere: the ridge estimator minimizes
  ``sum_i (y_i - f(x_i))**2 + reg ||f||**2``, i.e. scikit-learn's ``Ridge(alpha=reg)`` /
  ``KernelRidge(alpha=reg)`` and the Tikhonov filter ``s/(s + reg)`` on the squared
  singular values of X (the eigenvalues of the Gram matrix). On the population scale of
  ``lambda`` that is ``reg / n``; the deterministic equivalent replaces it by the
  *effective regularization* ``kappa >= reg / n`` (:func:`effective_regularization`).
* **Gradient descent** runs on ``(1/2n) ||y - X w||**2`` from ``w = 0`` with step ``lr``:
  the filter on an eigenvalue ``s_hat`` of ``X^T X / n`` is ``1 - (1 - lr s_hat)**steps``
  (spectrakit's ``landweber`` with ``omega = lr / n``, ``n_iter = steps``); gradient flow
  for a time ``tau`` is ``1 - exp(-tau s_hat)`` (``showalter`` with ``reg = n / tau``).
* **Errors** are excess risks ``E ||f_hat - f*||**2`` (the population L2 norm, averaged
  over training sets); the test MSE on fresh noisy labels is ``error + noise**2``. The
  split is conditional on the design (Hastie et al. 2019): ``bias2`` is the error with
  noiseless labels, ``variance`` what the label noise adds. Per mode, ``bias2_mode[k]`` and
  ``variance_mode[k]`` split the error of the learned function's component in mode ``k``,
  ``E (f_hat_k - c_k)**2``; they sum over modes to ``bias2`` and ``variance``.

What is exact and what is approximate
-------------------------------------
* :func:`ridge_learning_curve`: the deterministic equivalent (Bordelon, Canatar & Pehlevan
  2020; Simon et al. 2021 "eigenlearning"; Hastie et al. 2019): exact as ``n`` and the
  number of modes grow, accurate to a few percent at ``n`` of a few dozen (Gaussian
  features).
* :func:`gd_learning_curve` with ``flow=True`` (gradient flow): derived from the same
  deterministic equivalent with no further approximation: the flow's filter is a
  superposition of ridge resolvents at complex ``reg`` (an inverse Laplace transform), so
  its error is a double inverse Laplace transform of the two-point ridge equivalent,
  computed on Talbot's contour; within 2.5 % of Monte-Carlo at n = 50 and 100.
* :func:`gd_learning_curve` (discrete steps): gradient flow at ``tau = lr * steps`` plus the
  population-level difference between the step filter and the flow filter. The
  correction matters only for the first steps (where the population approximation is
  accurate) and vanishes like ``1/steps``; tested against Monte-Carlo.
* :func:`spectral_learning_curve`, :func:`cutoff_learning_curve`: the population
  approximation (the empirical spectrum replaced by the population one): exact as
  ``n -> inf`` at a fixed filter, accurate while the filter keeps far fewer than ``n``
  modes (``sum h**2 << n``); it misses the finite-``n`` renormalization that the ridge and
  flow equivalents include.
* :func:`random_features_curve`: exact deterministic equivalent over the training data,
  conditional on the random projections (which are drawn, seeded, and averaged).
* :func:`model_collapse_error`: exact for least squares on Gaussian data (any covariance).

Functions
---------
power_law_spectrum, power_law_target   ``lambda_k = scale k**-alpha``, ``c_k**2 = scale k**-beta``
effective_regularization      kappa from ``n = sum_k lambda_k/(lambda_k + kappa) + reg/kappa``
ridge_learning_curve          ridge / kernel ridge test error, bias, variance, per mode
gd_learning_curve             gradient descent after ``steps`` steps, or gradient flow
cutoff_learning_curve         spectral cut-off (keep the top ``rank`` modes)
spectral_learning_curve       any population filter (population approximation)
optimal_learning_curve        the best error over the method's parameter, for each n
gaussian_design               synthetic features with a given covariance spectrum
monte_carlo_curve             the same curves measured on synthetic data
design_risk                   its step: the exact per-mode risk of a filtered fit on given designs
random_features_curve         random-features ridge vs the number of features N
random_features_monte_carlo   its Monte-Carlo counterpart (same projections)
model_collapse_error          excess risk after g generations of training on generated labels
model_collapse_monte_carlo    its Monte-Carlo counterpart (least squares or ridge)
rbf_kernel                    ``exp(-gamma ||x - z||**2)``
kernel_path                   kernel ridge (or any filter) over a reg grid: dual
                              coefficients, fitted values, predictions at new points and
                              every criterion of :func:`spectrakit.core.filtering.path_criteria`
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

from ..options import resolve_device, resolve_dtype
from .checks import check_finite, check_int, check_memory, check_real, itemsize, seeded_generator
from .filtering import (
    SpectralBasis,
    filter_factors,
    filtered_solution,
    kernel_basis,
    path_criteria,
)
from .threads import single_thread_if_small

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
    "gaussian_design",
    "MonteCarloCurve",
    "design_risk",
    "monte_carlo_curve",
    "RandomFeaturesCurve",
    "random_features_curve",
    "random_features_monte_carlo",
    "model_collapse_error",
    "CollapseMonteCarlo",
    "model_collapse_monte_carlo",
    "rbf_kernel",
    "KernelPath",
    "kernel_path",
]

# Elements of a (batch x modes) temporary above which the work is done in chunks.
_CHUNK = 2**22


# ------------------------------------------------------------------------------ checks


def _check_int(value, name: str, minimum: int) -> int:
    """:func:`check_int` that also takes a one-element integer tensor."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    return check_int(value, name, minimum)


def _spectrum(eigenvalues, name: str = "eigenvalues", *, positive: bool = False) -> torch.Tensor:
    """The population spectrum as a 1-D floating tensor on its device (numpy: options)."""
    if isinstance(eigenvalues, torch.Tensor):
        lam = eigenvalues
        if not lam.is_floating_point():
            lam = lam.to(resolve_dtype(None))
    else:
        try:
            lam = torch.as_tensor(eigenvalues, dtype=resolve_dtype(None), device=resolve_device(None))
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a 1-D array of numbers; got {type(eigenvalues).__name__}.") from None
    if lam.ndim != 1 or lam.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array (one value per mode); got shape {tuple(lam.shape)}."
        )
    check_finite(lam, name)
    if bool((lam < 0).any()):
        raise ValueError(
            f"{name} has negative values (e.g. {float(lam.min()):.3g}): a population spectrum is the "
            "eigenvalues of a covariance or of a kernel operator, all >= 0."
        )
    if positive and bool((lam <= 0).any()):
        raise ValueError(
            f"{name} must be > 0 here (a mode with eigenvalue 0 cannot be drawn or learned); drop those modes."
        )
    if bool((lam <= 0).all()):
        raise ValueError(f"{name} is all zeros: there is nothing to learn.")
    return lam


def _coefs(coefs, lam: torch.Tensor, name: str = "coefs") -> torch.Tensor:
    c = torch.as_tensor(coefs, dtype=lam.dtype, device=lam.device)
    if c.shape != lam.shape:
        raise ValueError(
            f"{name} must have one value per mode, shape {tuple(lam.shape)} like eigenvalues; got "
            f"shape {tuple(c.shape)}."
        )
    check_finite(c, name)
    return c


def _grid(value, name: str, like: torch.Tensor, *, positive: bool = False, integer: bool = False):
    """A scalar or 1-D grid as (flat 1-D tensor, shape () or (k,)) after checks."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        try:  # python floats in float64 (torch's default float32 would round 1e-3)
            t = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a number or a 1-D grid of numbers; got {value!r}.") from None
    if t.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D grid; got shape {tuple(t.shape)}.")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: pass a scalar or at least one value.")
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must be real numbers; got dtype {t.dtype}.")
    shape = tuple(t.shape)
    t = t.to(dtype=like.dtype, device=like.device).reshape(-1)
    check_finite(t, name)
    if positive and bool((t <= 0).any()):
        raise ValueError(f"{name} must be > 0; got {float(t.min())!r}.")
    if bool((t < 0).any()):
        hint = " A geometric grid such as numpy.logspace(-8, 2, 50) is the usual choice." if name == "reg" else ""
        raise ValueError(f"{name} must be >= 0; got {float(t.min())!r}.{hint}")
    if integer and bool((t != torch.round(t)).any()):
        raise ValueError(f"{name} must hold whole numbers (counts); got {t.tolist()[:5]}.")
    return t, shape


def _noise(noise) -> float:
    return check_real(noise, "noise")


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


def _chunks(batch: int, modes: int):
    step = max(1, _CHUNK // max(modes, 1))
    for start in range(0, batch, step):
        yield slice(start, min(batch, start + step))


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


def _check_batch_memory(batch: int, modes: int, like: torch.Tensor, name: str) -> None:
    # the per-mode results (three) and about as many temporaries
    nbytes = 6.0 * batch * modes * itemsize(like.dtype)
    check_memory(
        nbytes, like.device, name=name,
        what=f"per-mode results for {batch} grid points x {modes} modes",
        alternative="Use fewer grid points or modes, or loop over n.",
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


def _gd_filter(lam: torch.Tensor, steps: torch.Tensor, lr: float) -> torch.Tensor:
    """``1 - (1 - lr lam)**steps`` (T, P), accurate for small ``lr lam`` and huge ``steps``."""
    x = lr * lam[None, :]
    t = steps[:, None]
    base = 1.0 - x
    decay = torch.where(
        base >= 0,
        torch.exp(t * torch.log1p(-x.clamp_max(1.0))),
        torch.pow(base, t),  # 1 < lr lam < 2: the sign alternates with whole steps
    )
    decay = torch.where(t == 0, 1.0, decay)
    return 1.0 - decay


def _flow_filter(lam: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    return -torch.expm1(-tau[:, None] * lam[None, :])


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


_METHODS = ("ridge", "gd", "flow", "cutoff")


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


# ------------------------------------------------------------------------ Monte-Carlo


def gaussian_design(n: int, eigenvalues, *, seed: int | None = 0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Synthetic features ``X`` (n, P) with independent ``N(0, lambda_k)`` columns.

    The population covariance is ``diag(eigenvalues)``, so the modes are the coordinates
    (a rotation changes nothing for Gaussian data). Drawn on the CPU in float64 from
    ``seed`` (or from ``generator``, which then advances), then moved to the device and
    dtype of ``eigenvalues``.

    Examples
    --------
    >>> X = gaussian_design(100000, torch.tensor([4.0, 1.0], dtype=torch.float64), seed=0)
    >>> [round(float(v), 1) for v in X.var(0)]
    [4.0, 1.0]
    """
    n = _check_int(n, "n", 1)
    lam = _spectrum(eigenvalues)
    gen = generator if generator is not None else seeded_generator(seed)
    z = torch.randn(n, lam.shape[0], generator=gen, dtype=torch.float64)
    return (z * lam.detach().double().cpu().sqrt()).to(device=lam.device, dtype=lam.dtype)


class MonteCarloCurve(NamedTuple):
    """Measured test error on synthetic Gaussian data (means over ``trials`` draws of X).

    Same fields and dims as :class:`LearningCurve` (without ``factors`` and ``kappa``),
    plus ``error_se``, the standard error of ``error`` over the trials. ``bias2`` is
    measured with noiseless labels and ``variance`` exactly averaged over the label noise
    (given each X), so only the design is sampled.
    """

    error: torch.Tensor
    bias2: torch.Tensor
    variance: torch.Tensor
    bias2_mode: torch.Tensor
    variance_mode: torch.Tensor
    error_se: torch.Tensor


def _empirical_filter(method, s_hat, grid, lr):
    """Filter (G, r) on the eigenvalues s_hat (r,) of X^T X / n, in descending order."""
    if method == "gd":
        return _gd_filter(s_hat, grid, lr)
    if method == "flow":
        return _flow_filter(s_hat, lr * grid)
    # cut-off: the top `rank` empirical modes
    idx = torch.arange(s_hat.shape[0], device=s_hat.device, dtype=s_hat.dtype)
    return ((idx[None, :] < grid[:, None]) & (s_hat[None, :] > 0)).to(s_hat.dtype)


def design_risk(eigenvalues, w_star, noise2: float, V, sigma2, factors):
    """Per-mode excess risk of a spectrally filtered least-squares fit on given designs,
    exact over the label noise: the step :func:`monte_carlo_curve` takes for each draw.

    For a design ``X = U diag(sigma) V^T`` and labels ``y = X w* + noise eps``, the filtered
    estimate ``w_hat = V diag(h/sigma) U^T y`` has mean ``w_fit = V diag(h) V^T w*`` and
    covariance ``noise**2 V diag(h**2/sigma**2) V^T``, so its excess risk in mode ``k`` is
    ``bias2_mode = lambda_k (w_fit_k - w*_k)**2`` plus ``variance_mode = noise**2 lambda_k
    [V diag(h**2/sigma**2) V^T]_kk`` (a zero singular value contributes nothing).

    Parameters
    ----------
    eigenvalues : (P,) population spectrum (the covariance of the rows of X).
    w_star : (P,) true weights (``c_k / sqrt(lambda_k)`` in the module's conventions).
    noise2 : label-noise variance.
    V : (..., P, r) right singular vectors of each design.
    sigma2 : (..., r) squared singular values.
    factors : (..., G, r) filter factors on them (G filters per design).

    Returns
    -------
    (bias2_mode, variance_mode), each (..., G, P).

    Examples
    --------
    Ridge on one design against the estimate computed directly:

    >>> X = gaussian_design(30, torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64), seed=0)
    >>> _, sigma, Vh = torch.linalg.svd(X, full_matrices=False)
    >>> w = torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64)
    >>> h = (sigma**2 / (sigma**2 + 3.0))[None, :]
    >>> b, v = design_risk(torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64), w, 0.0, Vh.mT, sigma**2, h)
    >>> w_fit = torch.linalg.solve(X.T @ X + 3.0 * torch.eye(3, dtype=X.dtype), X.T @ (X @ w))
    >>> bool(torch.allclose(b[0], torch.tensor([2.0, 1.0, 0.5], dtype=X.dtype) * (w_fit - w) ** 2))
    True
    """
    lam = eigenvalues
    a = (V.mT @ w_star[:, None])[..., 0]  # (..., r)
    w_fit = (factors * a[..., None, :]) @ V.mT  # (..., G, P): the estimate from noiseless labels
    bias2_mode = lam * (w_fit - w_star) ** 2
    s2 = sigma2[..., None, :]
    ratio = torch.where(s2 > 0, factors * factors / torch.where(s2 > 0, s2, 1.0), 0.0)  # (..., G, r)
    variance_mode = noise2 * lam * (ratio @ (V * V).mT)
    return bias2_mode, variance_mode


def monte_carlo_curve(
    eigenvalues,
    coefs,
    noise,
    n,
    grid,
    *,
    method: str = "ridge",
    lr: float | None = None,
    trials: int = 20,
    seed: int | None = 0,
) -> MonteCarloCurve:
    """Measure the learning curve on synthetic data: the Monte-Carlo dots for a theory curve.

    For each ``n`` and trial: draw ``X`` (:func:`gaussian_design`), take one SVD, and apply
    the method's filter to every grid value at once. With ``w* = c / sqrt(lambda)`` the
    excess risk is computed exactly from the estimate, ``sum_k lambda_k (w_hat_k -
    w*_k)**2`` (no test set needed); ``bias2`` comes from the noiseless labels ``X w*`` and
    ``variance = noise**2 sum_k lambda_k [V diag(h**2/sigma**2) V^T]_kk`` is the exact
    average over the label noise.

    Methods (``grid`` holds the method's parameter), on the eigenvalues ``s_hat =
    sigma**2/n`` of ``X^T X/n``:

    ============ ====================================================================
    ``ridge``    ``grid`` = reg (scikit-learn's alpha): ``s_hat/(s_hat + reg/n)``,
                 i.e. ``sigma**2/(sigma**2 + reg)``
    ``gd``       ``grid`` = steps: ``1 - (1 - lr s_hat)**steps``
    ``flow``     ``grid`` = steps (time ``lr * steps``): ``1 - exp(-lr steps s_hat)``
    ``cutoff``   ``grid`` = rank: keep the ``rank`` largest empirical modes
    ============ ====================================================================

    Parameters
    ----------
    eigenvalues, coefs, noise : as in :func:`ridge_learning_curve`; eigenvalues ``> 0``.
    n : int or 1-D grid of whole sample sizes.
    grid : scalar or 1-D grid of the method's parameter.
    method : ``"ridge"``, ``"gd"``, ``"flow"`` or ``"cutoff"``.
    lr : step size for gd and flow (default ``1/lambda_max``); gd raises if
        ``lr * s_hat_max >= 2`` for a draw (it would diverge).
    trials : int, draws of X per ``n``.
    seed : int or None; the draws for each ``n`` follow one generator.

    Returns
    -------
    MonteCarloCurve with leading dims ``(*n.shape, *grid.shape)``.

    Examples
    --------
    >>> lam, c = power_law_spectrum(100, 1.5, device="cpu"), power_law_target(100, 2.0, device="cpu")
    >>> mc = monte_carlo_curve(lam, c, 0.3, 50, [0.1, 1.0], trials=10, seed=0)
    >>> theory = ridge_learning_curve(lam, c, 0.3, 50, [0.1, 1.0])
    >>> bool(((mc.error / theory.error - 1).abs() < 0.1).all())
    True
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r} is unknown; choose one of {_METHODS}.")
    lam = _spectrum(eigenvalues, positive=True)
    c = _coefs(coefs, lam)
    noise2 = _noise(noise) ** 2
    n_t, n_shape = _grid(n, "n", lam, positive=True, integer=True)
    g, g_shape = _grid(grid, {"ridge": "reg", "cutoff": "rank"}.get(method, "steps"), lam,
                       integer=method in ("gd", "cutoff"))
    trials = _check_int(trials, "trials", 1)
    lr = 1.0 / float(lam.max()) if lr is None else check_real(lr, "lr", strict=True)
    gen = seeded_generator(seed)
    w_star = c / lam.sqrt()
    P, G = lam.shape[0], g.shape[0]
    _check_batch_memory(G, P, lam, "monte_carlo_curve")
    out = {k: [] for k in ("error", "bias2", "variance", "bias2_mode", "variance_mode", "error_se")}
    for i in range(n_t.shape[0]):
        n_i = int(n_t[i])
        acc_b = torch.zeros(G, P, dtype=lam.dtype, device=lam.device)
        acc_v = torch.zeros_like(acc_b)
        errs = []
        for _ in range(trials):
            X = gaussian_design(n_i, lam, generator=gen)
            with single_thread_if_small(4.0 * n_i * P * min(n_i, P), lam.device):
                _, sigma, Vh = torch.linalg.svd(X, full_matrices=False)
            V = Vh.mT
            s2 = sigma * sigma
            s_hat = s2 / n_i
            if method == "gd" and lr * float(s_hat.max()) >= 2:
                raise ValueError(
                    f"lr={lr!r}: gradient descent diverges on a draw with n={n_i}: lr * s_max = "
                    f"{lr * float(s_hat.max()):.3g} >= 2 (s_max, the largest eigenvalue of X^T X/n, exceeds "
                    f"lambda_max). Use a smaller lr, e.g. {1.0 / float(s_hat.max()):.3g}."
                )
            if method == "ridge":
                h = s2[None, :] / (s2[None, :] + g[:, None]).clamp_min(torch.finfo(s2.dtype).tiny)
                h = torch.where(s2[None, :] > 0, h, 0.0)
            else:
                h = _empirical_filter(method, s_hat, g, lr)
            b_mode, v_mode = design_risk(lam, w_star, noise2, V, s2, h)
            acc_b += b_mode
            acc_v += v_mode
            errs.append(b_mode.sum(-1) + v_mode.sum(-1))
        errs = torch.stack(errs)
        out["bias2_mode"].append(acc_b / trials)
        out["variance_mode"].append(acc_v / trials)
        out["error"].append(errs.mean(0))
        out["error_se"].append(errs.std(0) / math.sqrt(trials) if trials > 1 else torch.full_like(errs[0], math.nan))
    shape = n_shape + g_shape
    bm, vm = torch.stack(out["bias2_mode"]), torch.stack(out["variance_mode"])
    return MonteCarloCurve(
        error=torch.stack(out["error"]).reshape(shape),
        bias2=bm.sum(-1).reshape(shape),
        variance=vm.sum(-1).reshape(shape),
        bias2_mode=bm.reshape(shape + (P,)),
        variance_mode=vm.reshape(shape + (P,)),
        error_se=torch.stack(out["error_se"]).reshape(shape),
    )


# --------------------------------------------------------------------- random features


class RandomFeaturesCurve(NamedTuple):
    """Random-features ridge error; leading dims ``(*n_features.shape, *reg.shape)``.

    Attributes
    ----------
    error : excess risk ``E ||f_hat - f*||**2`` (= ``bias2 + variance + approximation``).
    bias2, variance : the ridge parts in feature space, the variance counting the
        approximation error as noise (it is: Gaussian and independent of the features).
    approximation : the best the N features can do, ``min_v E (f* - z^T v)**2``.
    """

    error: torch.Tensor
    bias2: torch.Tensor
    variance: torch.Tensor
    approximation: torch.Tensor


def _projections(P: int, N: int, draws: int, seed) -> list[torch.Tensor]:
    gen = seeded_generator(seed)
    return [torch.randn(P, N, generator=gen, dtype=torch.float64) for _ in range(draws)]


def _feature_problem(lam, c, F):
    """Spectrum, target coefs and approximation error of the features z = F^T x / sqrt(N)."""
    N = F.shape[1]
    S_F = F.mT @ (lam[:, None] * F) / N
    mu, Q = torch.linalg.eigh(0.5 * (S_F + S_F.mT))
    tol = float(mu.max().clamp_min(0)) * max(N, lam.shape[0]) * torch.finfo(lam.dtype).eps
    keep = mu > tol
    b = F.mT @ (lam.sqrt() * c) / math.sqrt(N)  # E[z f*]
    qb = Q.mT @ b
    c_F = torch.where(keep, qb / torch.where(keep, mu, 1.0).sqrt(), 0.0)
    approx = ((c * c).sum() - (c_F * c_F).sum()).clamp_min(0)
    return torch.where(keep, mu, 0.0), c_F, approx


def random_features_curve(
    eigenvalues, coefs, noise, n: int, n_features, reg, *, draws: int = 4, seed: int | None = 0
) -> RandomFeaturesCurve:
    """Test error of ridge on ``N`` linear random features, against ``N`` at fixed ``n``.

    The features are ``z = F^T x / sqrt(N)`` with ``F`` (P, N) standard Gaussian (so
    ``z . z' -> x . x'`` as N grows), and ridge fits ``min_v ||y - Z v||**2 + reg ||v||**2``
    (``reg`` = scikit-learn's alpha). Given F, z is Gaussian with covariance
    ``F^T diag(lambda) F / N``, and the part of the target no linear function of z can
    reach is Gaussian noise independent of z; so the ridge deterministic equivalent
    (:func:`ridge_learning_curve`) applies exactly in feature space, with that
    approximation error added to the noise and to the error. This is the deterministic
    equivalent over the training data conditional on F, averaged over ``draws`` seeded
    draws of F (the columns are nested: the first N of one draw for every N, so a curve
    is smooth in N). Compare :func:`random_features_monte_carlo` with the same ``seed``.

    For ``reg -> 0`` the error is infinite at ``N = n`` (the interpolation peak of double
    descent: ``gamma = 1`` when exactly n features must fit n points; Mei & Montanari
    2019); a moderate ``reg`` removes the peak.

    Parameters
    ----------
    eigenvalues, coefs, noise : as in :func:`ridge_learning_curve`.
    n : int, sample size.
    n_features : int or 1-D grid of feature counts N.
    reg : scalar or 1-D grid, ``>= 0``.
    draws : int, draws of F averaged.
    seed : int or None, seeds F.

    Returns
    -------
    RandomFeaturesCurve

    Examples
    --------
    >>> lam, c = power_law_spectrum(200, 1.0, device="cpu"), power_law_target(200, 2.0, device="cpu")
    >>> curve = random_features_curve(lam, c, 0.2, 50, [25, 50, 100], 1e-8, draws=1)
    >>> int(curve.error.argmax())  # the peak sits at N = n
    1
    """
    lam = _spectrum(eigenvalues)
    c = _coefs(coefs, lam)
    noise_v = _noise(noise)
    n = _check_int(n, "n", 1)
    N_t, N_shape = _grid(n_features, "n_features", lam, positive=True, integer=True)
    reg_t, reg_shape = _grid(reg, "reg", lam)
    draws = _check_int(draws, "draws", 1)
    Ns = [int(v) for v in N_t.tolist()]
    Fs = _projections(lam.shape[0], max(Ns), draws, seed)
    acc = torch.zeros(4, len(Ns), reg_t.shape[0], dtype=lam.dtype, device=lam.device)
    for F64 in Fs:
        F = F64.to(device=lam.device, dtype=lam.dtype)
        for i, N in enumerate(Ns):
            mu, c_F, approx = _feature_problem(lam, c, F[:, :N])
            eff_noise = math.sqrt(noise_v**2 + float(approx))
            curve = ridge_learning_curve(mu, c_F, eff_noise, n, reg_t)
            acc[0, i] += curve.error + approx
            acc[1, i] += curve.bias2
            acc[2, i] += curve.variance
            acc[3, i] += approx
    acc = acc / draws
    shape = N_shape + reg_shape
    return RandomFeaturesCurve(*(acc[j].reshape(shape) for j in range(4)))


def random_features_monte_carlo(
    eigenvalues, coefs, noise, n: int, n_features, reg, *, draws: int = 4, trials: int = 10, seed: int | None = 0
) -> MonteCarloCurve:
    """Random-features ridge measured on synthetic data, with the projections of
    :func:`random_features_curve` (same ``seed`` and ``draws``): ``trials`` draws of the
    data for each draw of F.

    Each fit is exact: ``v_hat = (Z^T Z + reg I)^-1 Z^T y`` for every ``reg`` from one SVD
    of ``Z``, mapped back to ``w_hat = F v_hat / sqrt(N)``, with the excess risk
    ``sum_k lambda_k (w_hat_k - w*_k)**2``. Returns a :class:`MonteCarloCurve` whose
    per-mode fields are over the P input modes; ``bias2``/``variance`` are split as in
    :func:`monte_carlo_curve`.

    Examples
    --------
    >>> lam, c = power_law_spectrum(100, 1.0, device="cpu"), power_law_target(100, 2.0, device="cpu")
    >>> mc = random_features_monte_carlo(lam, c, 0.2, 40, [20, 80], 1.0, draws=1, trials=5)
    >>> mc.error.shape
    torch.Size([2])
    """
    lam = _spectrum(eigenvalues, positive=True)
    c = _coefs(coefs, lam)
    noise2 = _noise(noise) ** 2
    n = _check_int(n, "n", 1)
    N_t, N_shape = _grid(n_features, "n_features", lam, positive=True, integer=True)
    reg_t, reg_shape = _grid(reg, "reg", lam)
    draws = _check_int(draws, "draws", 1)
    trials = _check_int(trials, "trials", 1)
    Ns = [int(v) for v in N_t.tolist()]
    Fs = _projections(lam.shape[0], max(Ns), draws, seed)
    gen = seeded_generator(None if seed is None else _check_int(seed, "seed", 0) + 1)
    w_star = c / lam.sqrt()
    P, R = lam.shape[0], reg_t.shape[0]
    acc_b = torch.zeros(len(Ns), R, P, dtype=lam.dtype, device=lam.device)
    acc_v = torch.zeros_like(acc_b)
    errs = []
    for F64 in Fs:
        F = F64.to(device=lam.device, dtype=lam.dtype)
        for _ in range(trials):
            X = gaussian_design(n, lam, generator=gen)
            row = []
            for i, N in enumerate(Ns):
                FN = F[:, :N] / math.sqrt(N)
                U, sigma, Vh = torch.linalg.svd(X @ FN, full_matrices=False)
                s2 = sigma * sigma
                pos = s2 > 0
                h = torch.where(pos, s2[None, :] / (s2[None, :] + reg_t[:, None]).clamp_min(torch.finfo(s2.dtype).tiny), 0.0)
                G = FN @ Vh.mT  # (P, r): input-space weights of Z's right singular vectors
                # v_hat = V diag(h/sigma) U^T y and w_hat = F v_hat / sqrt(N) = G diag(h/sigma) U^T y
                inv_sigma = torch.where(pos, 1.0 / torch.where(pos, sigma, 1.0), 0.0)
                coef = h * inv_sigma * (U.mT @ (X @ w_star))  # (R, r), noiseless labels
                w_fit = coef @ G.mT
                b_mode = lam * (w_fit - w_star) ** 2
                ratio = (h * inv_sigma) ** 2
                v_mode = noise2 * lam * (ratio @ (G * G).mT)
                acc_b[i] += b_mode
                acc_v[i] += v_mode
                row.append(b_mode.sum(-1) + v_mode.sum(-1))
            errs.append(torch.stack(row))
    total = draws * trials
    errs = torch.stack(errs)
    shape = N_shape + reg_shape
    bm, vm = acc_b / total, acc_v / total
    se = errs.std(0) / math.sqrt(total) if total > 1 else torch.full_like(errs[0], math.nan)
    return MonteCarloCurve(
        error=errs.mean(0).reshape(shape), bias2=bm.sum(-1).reshape(shape), variance=vm.sum(-1).reshape(shape),
        bias2_mode=bm.reshape(shape + (P,)), variance_mode=vm.reshape(shape + (P,)), error_se=se.reshape(shape),
    )


# ---------------------------------------------------------------------- model collapse


def _generations(generations) -> torch.Tensor:
    if isinstance(generations, numbers.Integral) and not isinstance(generations, bool):
        g = _check_int(generations, "generations", 0)
        return torch.arange(g + 1, dtype=torch.float64)
    t = torch.as_tensor(generations, dtype=torch.float64)
    if t.ndim != 1 or t.numel() == 0 or bool((t < 0).any()) or bool((t != torch.round(t)).any()):
        raise ValueError(
            "generations must be a whole number G (for generations 0..G) or a 1-D list of whole "
            f"generation indices >= 0; got {generations!r}."
        )
    return t


def model_collapse_error(
    noise, d: int, T: int, generations, *, T0: int | None = None, device=None, dtype=None
) -> torch.Tensor:
    """Excess risk of least squares retrained, generation after generation, on its own labels.

    Generation 0 fits ordinary least squares to ``T0`` real samples ``y = x^T w* + noise
    eps``; generation ``g`` fits to ``T`` fresh inputs labelled by generation ``g - 1``'s
    model plus fresh noise (Dohmatob, Feng & Kempe 2024, "Model collapse demystified").
    Least squares is unbiased and every generation adds independent noise, so for Gaussian
    inputs (any covariance, ``d`` features)

        ``E ||w_g - w*||_Sigma**2 = noise**2 d/(T0 - d - 1) + g noise**2 d/(T - d - 1)``,

    exactly: the error grows by ``noise**2 d/(T - d - 1)`` per generation (the first term
    is the model trained on real data).

    Parameters
    ----------
    noise : float, label-noise standard deviation.
    d : int, number of features.
    T : int, samples per synthetic generation, ``> d + 1``.
    generations : int G (generations 0..G) or a 1-D list of generation indices.
    T0 : int, real samples for generation 0 (default ``T``), ``> d + 1``.

    Returns
    -------
    (G+1,) or (len(generations),) tensor.

    Examples
    --------
    >>> model_collapse_error(1.0, 20, 100, 3, device="cpu")  # 20/79 per generation
    tensor([0.2532, 0.5063, 0.7595, 1.0127], dtype=torch.float64)
    """
    noise2 = _noise(noise) ** 2
    d = _check_int(d, "d", 1)
    T = _check_int(T, "T", 1)
    T0 = T if T0 is None else _check_int(T0, "T0", 1)
    for name, value in (("T", T), ("T0", T0)):
        if value <= d + 1:
            raise ValueError(
                f"{name}={value} must exceed d + 1 = {d + 1}: least squares with no more samples than "
                "features has an infinite expected error (use model_collapse_monte_carlo with reg > 0)."
            )
    g = _generations(generations)
    err = noise2 * d / (T0 - d - 1) + g * noise2 * d / (T - d - 1)
    return err.to(device=resolve_device(device), dtype=resolve_dtype(dtype))


class CollapseMonteCarlo(NamedTuple):
    """Measured excess risk per generation: ``error`` (mean) and ``error_se`` (its
    standard error over the trials), each (G+1,) or (len(generations),)."""

    error: torch.Tensor
    error_se: torch.Tensor


def model_collapse_monte_carlo(
    eigenvalues,
    noise,
    T: int,
    generations,
    *,
    reg=0.0,
    T0: int | None = None,
    w_star=None,
    trials: int = 200,
    seed: int | None = 0,
) -> CollapseMonteCarlo:
    """Simulate training on generated data: each generation refits (ridge or least squares)
    to fresh Gaussian inputs labelled by the previous model plus fresh noise.

    ``reg`` (scikit-learn's alpha; 0 for least squares) may be a scalar or one value per
    generation (an adaptive schedule). The excess risk ``(w_g - w*)^T diag(lambda) (w_g -
    w*)`` is exact for each draw; all trials run as one batch.

    Parameters
    ----------
    eigenvalues : (d,) feature covariance spectrum, ``> 0`` (``torch.ones(d)``: isotropic).
    noise : float, label-noise standard deviation.
    T : int, samples per synthetic generation.
    generations : int G (generations 0..G) or a 1-D list of generation indices.
    reg : float or (G+1,) per generation, ``>= 0``.
    T0 : int, real samples for generation 0 (default T).
    w_star : (d,) true weights (default ``1/sqrt(d)`` each).
    trials : int.
    seed : int or None.

    Returns
    -------
    CollapseMonteCarlo

    Examples
    --------
    >>> lam = torch.ones(20, dtype=torch.float64)
    >>> mc = model_collapse_monte_carlo(lam, 1.0, 100, 2, trials=400, seed=0)
    >>> theory = model_collapse_error(1.0, 20, 100, 2, device="cpu")
    >>> bool(((mc.error / theory - 1).abs() < 0.05).all())
    True
    """
    lam = _spectrum(eigenvalues, positive=True)
    noise_v = _noise(noise)
    d = lam.shape[0]
    T = _check_int(T, "T", 1)
    T0 = T if T0 is None else _check_int(T0, "T0", 1)
    g_idx = _generations(generations)
    G = int(g_idx.max())
    reg_t = torch.as_tensor(reg, dtype=torch.float64)
    if reg_t.ndim == 0:
        reg_t = reg_t.expand(G + 1)
    if reg_t.ndim != 1 or reg_t.shape[0] != G + 1:
        raise ValueError(
            f"reg must be a scalar or one value per generation 0..{G} (length {G + 1}); got shape {tuple(reg_t.shape)}."
        )
    check_finite(reg_t, "reg")
    if bool((reg_t < 0).any()):
        raise ValueError(f"reg must be >= 0 (0: least squares); got {float(reg_t.min())!r}.")
    for name, value, r in (("T", T, reg_t[1:]), ("T0", T0, reg_t[:1])):
        if value < d and bool((r == 0).any()):
            raise ValueError(f"{name}={value} < d={d} with reg=0: least squares is not unique; pass reg > 0.")
    trials = _check_int(trials, "trials", 2)
    w = (torch.full((d,), 1.0 / math.sqrt(d), dtype=torch.float64) if w_star is None
         else torch.as_tensor(w_star, dtype=torch.float64).clone())
    if w.shape != (d,):
        raise ValueError(f"w_star must have shape ({d},) like eigenvalues; got {tuple(w.shape)}.")
    check_finite(w, "w_star")
    gen = seeded_generator(seed)
    dev, dt = lam.device, lam.dtype
    w_d = w.to(dev)
    sqrt_lam = lam.detach().double().cpu().sqrt()
    current = w_d.to(dt).expand(trials, d)
    eye = torch.eye(d, dtype=dt, device=dev)
    errors = []
    for gen_i in range(G + 1):
        m = T0 if gen_i == 0 else T
        X = (torch.randn(trials, m, d, generator=gen, dtype=torch.float64) * sqrt_lam).to(device=dev, dtype=dt)
        eps = torch.randn(trials, m, generator=gen, dtype=torch.float64).to(device=dev, dtype=dt)
        y = (X @ current.unsqueeze(-1)).squeeze(-1) + noise_v * eps
        A = X.mT @ X + float(reg_t[gen_i]) * eye
        current = torch.linalg.solve(A, (X.mT @ y.unsqueeze(-1))).squeeze(-1)
        diff = current - w_d.to(dt)
        errors.append((lam.to(dt) * diff * diff).sum(-1))
    errors = torch.stack(errors)[g_idx.long()]  # (len, trials)
    return CollapseMonteCarlo(error=errors.mean(-1), error_se=errors.std(-1) / math.sqrt(trials))


# ------------------------------------------------------------------------ kernel path


def rbf_kernel(X: torch.Tensor, Z: torch.Tensor | None = None, *, gamma: float) -> torch.Tensor:
    """The Gaussian (RBF) kernel ``K_ij = exp(-gamma ||x_i - z_j||**2)``, as
    ``sklearn.metrics.pairwise.rbf_kernel``; on the device and dtype of ``X``.

    Squared distances are ``||x||**2 + ||z||**2 - 2 x.z`` clipped at 0 (as scikit-learn), and
    exactly 0 on the diagonal when ``Z`` is omitted.

    Examples
    --------
    >>> X = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    >>> rbf_kernel(X, gamma=1.0)
    tensor([[1.0000, 0.3679],
            [0.3679, 1.0000]], dtype=torch.float64)
    """
    if not isinstance(X, torch.Tensor) or not X.is_floating_point() or X.ndim != 2:
        raise TypeError("X must be a 2-D floating torch.Tensor (n points, d dimensions).")
    same = Z is None
    Z = X if same else Z
    if not isinstance(Z, torch.Tensor) or Z.ndim != 2 or Z.shape[1] != X.shape[1]:
        raise ValueError(f"Z must be a 2-D tensor with {X.shape[1]} columns like X.")
    gamma = check_real(gamma, "gamma", strict=True)
    xx = (X * X).sum(-1)
    zz = xx if same else (Z * Z).sum(-1)
    d2 = (xx[:, None] + zz[None, :] - 2.0 * (X @ Z.mT)).clamp_min(0)
    if same:
        d2.fill_diagonal_(0.0)
    return torch.exp(-gamma * d2)


class KernelPath(NamedTuple):
    """Kernel regression along a ``reg`` grid from one eigendecomposition.

    Shapes: ``B`` right-hand sides (absent for a 1-D ``y``), ``R`` reg values, ``n``
    training points, ``m`` test points.

    Attributes
    ----------
    dual_coef : (B, R, n) ``alpha``; for Tikhonov ``(K + reg I)^-1 y`` (scikit-learn's
        ``KernelRidge(alpha=reg).dual_coef_``).
    fitted : (B, R, n) ``K alpha``.
    predictions : (B, R, m) ``K_test alpha``, or None without ``K_test``.
    criteria : dict of (B, R) tensors from :func:`spectrakit.core.filtering.path_criteria`
        (``residual_norm``, ``solution_norm`` (RKHS norm), ``gcv``, ``loo``, ``curvature``,
        and ``discrepancy`` with ``noise_norm``).
    native : the method's own parameter per reg (e.g. ``rank``, ``n_iter``).
    basis : the :class:`~spectrakit.core.filtering.SpectralBasis` (pass it back as
        ``basis=`` to skip the eigendecomposition next time).
    """

    dual_coef: torch.Tensor
    fitted: torch.Tensor
    predictions: torch.Tensor | None
    criteria: dict
    native: dict
    basis: SpectralBasis


def kernel_path(
    K: torch.Tensor | None,
    y: torch.Tensor,
    reg,
    *,
    K_test: torch.Tensor | None = None,
    method="tikhonov",
    basis: SpectralBasis | None = None,
    criteria: bool = True,
    noise_norm=None,
    **method_options,
) -> KernelPath:
    """Kernel ridge regression (or any spectral filter) for every ``reg`` at once.

    One ``eigh`` of ``K = Q diag(s) Q^T`` (:func:`spectrakit.core.filtering.kernel_basis`) or
    a cached ``basis``, then for all ``reg`` in
    one batched step: ``alpha = Q diag(h(s, reg)/s) Q^T y``, fitted values
    ``Q diag(h) Q^T y``, predictions ``K_test alpha`` and the criteria; so the path costs
    one decomposition plus a few products, not a solve per ``reg``. For Tikhonov
    ``h = s/(s + reg)``: ``alpha = (K + reg I)^-1 y``, scikit-learn's
    ``KernelRidge(alpha=reg)``.

    Parameters
    ----------
    K : (n, n) symmetric positive semi-definite kernel matrix (None when ``basis`` is given).
    y : (n,) or (B, n) targets.
    reg : scalar or 1-D grid, ``>= 0``.
    K_test : (m, n) kernel between test and training points, optional.
    method, **method_options : a filter of :func:`spectrakit.core.filtering.filter_factors`.
    basis : a :class:`SpectralBasis` of kind "kernel" from an earlier call or
        :func:`spectrakit.core.filtering.kernel_basis`.
    criteria : compute the criteria (False skips them).
    noise_norm : float or (B,), optional
        ``||noise||`` of ``y``; adds the ``discrepancy`` criterion ``||y - K alpha|| / noise_norm``.

    Returns
    -------
    KernelPath (for a 1-D ``y`` the leading B dim is dropped).

    Examples
    --------
    >>> X = torch.linspace(0, 1, 30, dtype=torch.float64)[:, None]
    >>> K = rbf_kernel(X, gamma=10.0)
    >>> path = kernel_path(K, torch.sin(6 * X[:, 0]), [1e-3, 1e-1], K_test=rbf_kernel(X[:5], X, gamma=10.0))
    >>> path.dual_coef.shape, path.predictions.shape
    (torch.Size([2, 30]), torch.Size([2, 5]))
    >>> alpha = torch.linalg.solve(K + 1e-3 * torch.eye(30, dtype=K.dtype), torch.sin(6 * X[:, 0]))
    >>> bool(torch.allclose(path.dual_coef[0], alpha))
    True
    """
    if basis is None:
        if not isinstance(K, torch.Tensor) or not K.is_floating_point():
            raise TypeError("K must be a floating torch.Tensor (the n x n kernel matrix), or pass basis=.")
        check_finite(K, "K")
        basis = kernel_basis(K)
    elif not isinstance(basis, SpectralBasis) or basis.kind != "kernel":
        raise TypeError("basis must be a SpectralBasis of kind 'kernel' (from kernel_path(...).basis or kernel_basis).")
    Q = basis.U
    n = Q.shape[0]
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y, dtype=Q.dtype, device=Q.device)
    if y.shape[-1:] != (n,) or y.ndim > 2:
        raise ValueError(f"y must have shape ({n},) or (B, {n}) to match K; got {tuple(y.shape)}.")
    check_finite(y, "y")
    y2 = y.to(device=Q.device, dtype=Q.dtype).reshape(-1, n)
    reg_t, _ = _grid(reg, "reg", Q)
    if K_test is not None:
        if not isinstance(K_test, torch.Tensor) or K_test.ndim != 2 or K_test.shape[1] != n:
            raise ValueError(f"K_test must be a 2-D tensor (m test points, {n} training points).")
        check_finite(K_test, "K_test")
    f, native = filter_factors(basis.s, reg_t, method, **method_options)
    beta = basis.coefficients(y2)  # (B, k)
    dual = filtered_solution(basis, beta, f)  # (B, R, n)
    fitted = (f.unsqueeze(0) * beta.unsqueeze(1)) @ Q.mT
    preds = None
    if K_test is not None:
        # K_test alpha for every reg: (B, R, n) @ (n, m), n m per reg (forming K_test Q
        # once would cost m n**2 more and save nothing per reg)
        preds = dual @ K_test.to(device=Q.device, dtype=Q.dtype).mT
    if noise_norm is not None:
        noise_norm = torch.as_tensor(noise_norm, dtype=Q.dtype, device=Q.device).reshape(-1)
        if noise_norm.shape[0] not in (1, y2.shape[0]) or bool((noise_norm <= 0).any()):
            raise ValueError(f"noise_norm must be > 0, one value or one per right-hand side ({y2.shape[0]}).")
        noise_norm = noise_norm.expand(y2.shape[0])
    crit = path_criteria(basis, y2, reg_t, f, method=method, beta=beta, noise_norm=noise_norm) if criteria else {}
    if y.ndim == 1:
        dual, fitted = dual[0], fitted[0]
        preds = None if preds is None else preds[0]
        crit = {k: v[0] for k, v in crit.items()}
    return KernelPath(dual_coef=dual, fitted=fitted, predictions=preds, criteria=crit, native=native, basis=basis)
