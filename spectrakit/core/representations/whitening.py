"""IterNorm whitening: the whitening matrix by Newton-Schulz steps, and the whitened embeddings.

Part of :mod:`spectrakit.core.representations` (read its docstring first). Read
:func:`iternorm` first; :func:`iternorm_whiten` applies it to embeddings.
"""

from __future__ import annotations

import torch

from ..checks import check_finite, check_int
from ._common import _check_embeddings, _check_tensor
from .metrics import embedding_covariance

__all__ = [
    "iternorm",
    "iternorm_whiten",
]


# ------------------------------------------------------------------------- whitening


def iternorm(covariance: torch.Tensor, T: int = 5) -> torch.Tensor:
    """IterNorm whitening matrix: ``T`` Newton-Schulz steps toward ``Sigma^(-1/2)``.

    Huang et al. (2019), as used by INTL (Weng et al. 2023):

    ``Sigma_N = Sigma / tr(Sigma)``, ``P_0 = I``, ``P_k = (3 P_{k-1} - P_{k-1}^3 Sigma_N) / 2``,
    ``W = P_T / sqrt(tr(Sigma))``.

    Every ``P_k`` is a polynomial in ``Sigma``, so ``W`` shares its eigenvectors and maps
    an eigenvalue ``lambda`` of ``Sigma`` to ``p_T(lambda / tr)^2 lambda / tr`` in the
    whitened covariance ``W Sigma W^T``. The trace normalization puts every eigenvalue of
    ``Sigma_N`` in [0, 1], where the iteration converges, and fastest for large
    eigenvalues: small ones are whitened last, so a few steps leave the covariance
    *partly* whitened (the spectral modulation INTL uses). For a 32 x 32 covariance with
    log-spaced eigenvalues from 1 to 1e-3 (condition number 1e3) the whitened condition
    number is 87.3 after T = 5 steps, 8.16 after 8 and 1.049 after 12. Matrix products
    only (no eigendecomposition), differentiable. The steps are computed in the coupled
    form ``M = (3I - P_{k-1} Y_{k-1}) / 2``, ``Y_k = Y_{k-1} M``, ``P_k = M P_{k-1}``
    (``Y_0 = Sigma_N``), equal to the recursion above in exact arithmetic and stable in
    floating point for any ``T`` (the recursion as written amplifies rounding errors once
    converged on an ill-conditioned covariance: for the example above, rotated, by T = 15).

    Parameters
    ----------
    covariance : tensor (d, d)
        Symmetric positive semi-definite, with a positive trace.
    T : int
        Newton steps, ``>= 0`` (``0`` gives ``I / sqrt(tr Sigma)``).

    Returns
    -------
    tensor (d, d)
        ``W``, on the input's device and dtype.

    Examples
    --------
    >>> sigma = torch.diag(torch.logspace(0, -3, 32, dtype=torch.float64))
    >>> for T in (0, 5, 12):
    ...     W = iternorm(sigma, T)
    ...     print(T, round(float(torch.linalg.cond(W @ sigma @ W.T)), 3))
    0 1000.0
    5 87.269
    12 1.049
    """
    c = _check_tensor(covariance, "covariance")
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ValueError(
            f"covariance must be a square (d, d) matrix; got shape {tuple(c.shape)}. For "
            "embeddings z (n, d) use iternorm_whiten(z) or iternorm(embedding_covariance(z))."
        )
    check_finite(c.detach(), "covariance")
    T = check_int(T, "T", 0)
    cd = c.detach()
    scale = float(cd.abs().max())
    if float((cd - cd.T).abs().max()) > 1e3 * torch.finfo(c.dtype).eps * max(scale, 1e-300):
        raise ValueError(
            "covariance is not symmetric: pass a covariance matrix (e.g. embedding_covariance(z)), "
            "or symmetrize it with (C + C.T) / 2."
        )
    trace = torch.diagonal(c).sum()
    if not bool(trace.detach() > 0):
        raise ValueError(
            f"covariance has trace {float(trace):.3g} <= 0: a covariance with any spread has a "
            "positive trace (the embeddings may have collapsed to a point)."
        )
    # The coupled form (Higham 2008, eq. 6.35): Y_0 = Sigma_N, Z_0 = I, M = (3 I - Z Y) / 2,
    # Y <- Y M, Z <- M Z. In exact arithmetic Y_k = Sigma_N Z_k and Z_k = P_k, the same
    # matrices as the recursion above at the same cost (three products a step); but the
    # uncoupled recursion amplifies rounding once converged on an ill-conditioned matrix
    # (a rotated 1e3-conditioned covariance is garbage by T = 15), this one does not.
    eye = torch.eye(c.shape[0], device=c.device, dtype=c.dtype)
    y, p = c / trace, eye
    for _ in range(T):
        m = 1.5 * eye - 0.5 * (p @ y)
        y, p = y @ m, m @ p
    return p / torch.sqrt(trace)


def iternorm_whiten(z: torch.Tensor, T: int = 5) -> torch.Tensor:
    """Embeddings whitened by :func:`iternorm`: ``(z - mean) W^T`` with ``W`` from the
    unbiased covariance of ``z`` (:func:`embedding_covariance`).

    With enough steps the result has covariance ``I``; with few, its covariance has the
    partly equalized spectrum described in :func:`iternorm`. Differentiable.

    Examples
    --------
    >>> from spectrakit.core.representations import covariance_spectrum
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(256, 4, generator=g, dtype=torch.float64) * torch.tensor([4.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    >>> torch.round(covariance_spectrum(iternorm_whiten(z, T=20)), decimals=6)
    tensor([1., 1., 1., 1.], dtype=torch.float64)
    """
    z = _check_embeddings(z, "z", min_rows=2)
    w = iternorm(embedding_covariance(z), T)
    return (z - z.mean(dim=0, keepdim=True)) @ w.T
