"""Random-features ridge: the learning curve against the number of features N.

Part of :mod:`spectrakit.core.curves` (read its docstring first for the conventions). Read
:func:`random_features_curve` first (the deterministic equivalent, conditional on seeded
projections); :func:`random_features_monte_carlo` measures it with the same projections.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..checks import seeded_generator
from ._common import _check_int, _coefs, _grid, _noise, _spectrum
from .theory import ridge_learning_curve
from .monte_carlo import MonteCarloCurve, gaussian_design

__all__ = [
    "RandomFeaturesCurve",
    "random_features_curve",
    "random_features_monte_carlo",
]


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
    >>> from spectrakit.core.curves import power_law_spectrum, power_law_target
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
    >>> from spectrakit.core.curves import power_law_spectrum, power_law_target
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
