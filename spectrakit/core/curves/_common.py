"""Shared argument checks, chunking and step filters of the learning-curve modules (private).

Part of :mod:`spectrakit.core.curves` (read its docstring first: the conventions for modes,
``reg``, gradient descent and errors are stated there once).
"""

from __future__ import annotations

import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_int, check_memory, check_real, itemsize


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


# ------------------------------------------------------------ chunks and memory

# Elements of a (batch x modes) temporary above which the work is done in chunks.
_CHUNK = 2**22


def _chunks(batch: int, modes: int):
    step = max(1, _CHUNK // max(modes, 1))
    for start in range(0, batch, step):
        yield slice(start, min(batch, start + step))


def _check_batch_memory(batch: int, modes: int, like: torch.Tensor, name: str) -> None:
    # the per-mode results (three) and about as many temporaries
    nbytes = 6.0 * batch * modes * itemsize(like.dtype)
    check_memory(
        nbytes, like.device, name=name,
        what=f"per-mode results for {batch} grid points x {modes} modes",
        alternative="Use fewer grid points or modes, or loop over n.",
    )


# ------------------------------------------------ gradient-descent and flow filters


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


# the methods of optimal_learning_curve and monte_carlo_curve
_METHODS = ("ridge", "gd", "flow", "cutoff")
