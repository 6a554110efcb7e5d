"""Learning curves measured on synthetic Gaussian data: the Monte-Carlo counterparts of the theory.

Part of :mod:`spectrakit.core.curves` (read its docstring first for the conventions). Read
:func:`monte_carlo_curve` first; :func:`gaussian_design` draws the designs and
:func:`design_risk` is its exact per-mode risk of a filtered fit on given designs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..checks import check_real, seeded_generator
from ..threads import single_thread_if_small
from ._common import (
    _METHODS,
    _check_batch_memory,
    _check_int,
    _coefs,
    _flow_filter,
    _gd_filter,
    _grid,
    _noise,
    _spectrum,
)

__all__ = [
    "gaussian_design",
    "MonteCarloCurve",
    "design_risk",
    "monte_carlo_curve",
]


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
    >>> from spectrakit.core.curves import power_law_spectrum, power_law_target, ridge_learning_curve
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
