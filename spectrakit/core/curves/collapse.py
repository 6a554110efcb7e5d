"""Model collapse: the excess risk after generations of training on generated labels.

Part of :mod:`spectrakit.core.curves` (read its docstring first for the conventions). Read
:func:`model_collapse_error` first (exact for least squares on Gaussian data);
:func:`model_collapse_monte_carlo` simulates it (least squares or ridge).
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_memory, seeded_generator
from ._common import _check_int, _noise, _spectrum

__all__ = [
    "model_collapse_error",
    "CollapseMonteCarlo",
    "model_collapse_monte_carlo",
]


# ---------------------------------------------------------------------- model collapse


def _generations(generations) -> torch.Tensor:
    if isinstance(generations, numbers.Integral) and not isinstance(generations, bool):
        g = _check_int(generations, "generations", 0)
        # the generations' grid and the error over it, float64
        check_memory(16.0 * (g + 1), "cpu", name="generations", what=f"{g + 1} generations",
                     alternative="Pass the generations to evaluate as a list (e.g. [0, 10, 100, 1000]).")
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
