"""Shared argument checks of the representation modules (private): embeddings, pairs of
views, spectra, and the entropy of a spectrum.

Part of :mod:`spectrakit.core.representations` (read its docstring first).
"""

from __future__ import annotations

import torch

from ..checks import check_finite


# ------------------------------------------------------------------------------ checks


def _check_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor; got {type(x).__name__} (convert with torch.as_tensor)."
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor; got dtype {x.dtype}.")
    return x


def _check_embeddings(z, name: str, *, min_rows: int = 1) -> torch.Tensor:
    z = _check_tensor(z, name)
    if z.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D, (n samples, d dimensions); got shape {tuple(z.shape)}. "
            "Flatten the feature dims first, e.g. z.reshape(len(z), -1)."
        )
    n, d = z.shape
    if n < min_rows:
        raise ValueError(
            f"{name} has {n} sample(s) (rows); at least {min_rows} are needed"
            + (" (the covariance divides by n - 1)." if min_rows == 2 else ".")
        )
    if d < 1:
        raise ValueError(f"{name} has no embedding dimensions (shape {tuple(z.shape)}).")
    check_finite(z.detach(), name)
    return z


def _check_pair(z_a, z_b, *, min_rows: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    z_a = _check_embeddings(z_a, "z_a", min_rows=min_rows)
    z_b = _check_embeddings(z_b, "z_b", min_rows=min_rows)
    if z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a and z_b must have the same shape (two views of the same n samples); got "
            f"{tuple(z_a.shape)} and {tuple(z_b.shape)}."
        )
    if z_a.device != z_b.device or z_a.dtype != z_b.dtype:
        raise ValueError(
            f"z_a is {z_a.dtype} on {z_a.device} but z_b is {z_b.dtype} on {z_b.device}: "
            "compute both views with the same encoder (or move one)."
        )
    return z_a, z_b


def _check_spectrum(s, name: str) -> torch.Tensor:
    """Non-negative spectra along the last dim; tiny negatives (rounding) are clamped to 0."""
    s = _check_tensor(s, name)
    if s.ndim < 1 or s.shape[-1] < 1:
        raise ValueError(f"{name} must have at least one value along its last dim; got shape {tuple(s.shape)}.")
    check_finite(s.detach(), name)
    sd = s.detach()
    scale = sd.abs().amax(dim=-1, keepdim=True)
    # eigenvalues of a PSD matrix come out of eigvalsh as small negatives of order eps * max
    tol = max(10, s.shape[-1]) * torch.finfo(s.dtype).eps * scale
    if bool((sd < -tol).any()):
        worst = float(sd.min())
        raise ValueError(
            f"{name} has negative values (e.g. {worst:.3g}): a spectrum here is eigenvalues of a "
            "covariance or singular values, all >= 0. For an embedding matrix z (n, d) pass "
            "kind='covariance' or kind='singular'."
        )
    if bool((sd.clamp_min(0).sum(dim=-1) <= 0).any()):
        raise ValueError(
            f"{name} is all zeros (in at least one row): the normalized spectrum p = s / sum(s) "
            "is undefined. The embeddings have fully collapsed (every eigenvalue 0)."
        )
    return s.clamp_min(0)


def _entropy_of(s: torch.Tensor) -> torch.Tensor:
    """-sum p log p with p = s / sum(s) along the last dim; 0 log 0 = 0 with a zero gradient."""
    p = s / s.sum(dim=-1, keepdim=True)
    positive = p > 0
    logp = torch.log(torch.where(positive, p, torch.ones_like(p)))
    # + 0.0 turns the -0.0 of a one-hot spectrum into 0.0
    return -torch.where(positive, p * logp, torch.zeros_like(p)).sum(dim=-1) + 0.0
