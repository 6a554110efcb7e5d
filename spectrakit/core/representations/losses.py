"""Self-supervised losses that act on the embedding spectrum: VNE, VICReg and Barlow Twins.

Part of :mod:`spectrakit.core.representations` (read its docstring first). Read
:func:`vicreg_terms` first (the three terms, each a function of the embeddings' covariance);
:func:`vicreg_loss` weights them, :func:`barlow_twins_loss` uses the cross-correlation and
:func:`vne_loss` is minus :func:`~spectrakit.core.representations.von_neumann_entropy`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..checks import check_real
from ._common import _check_pair
from .metrics import von_neumann_entropy

__all__ = [
    "vne_loss",
    "VICRegTerms",
    "vicreg_terms",
    "vicreg_loss",
    "barlow_twins_loss",
]


# --------------------------------------------------------------------------- losses


def vne_loss(z: torch.Tensor, *, normalize: bool = True) -> torch.Tensor:
    """The VNE regularizer as a loss to minimize: ``-von_neumann_entropy(z)``.

    Add ``alpha * vne_loss(z)`` to a training loss (Kim et al. 2023: ``L - alpha S``);
    ``alpha > 0`` raises the entropy (effective rank toward ``d``), ``alpha < 0`` lowers it
    (toward rank one). See :func:`von_neumann_entropy`.

    Examples
    --------
    >>> vne_loss(torch.eye(4, dtype=torch.float64))  # -log 4: isotropic, the minimum
    tensor(-1.3863, dtype=torch.float64)
    """
    return -von_neumann_entropy(z, normalize=normalize)


class VICRegTerms(NamedTuple):
    """VICReg's three terms (0-d tensors); see :func:`vicreg_terms`."""

    invariance: torch.Tensor
    variance: torch.Tensor
    covariance: torch.Tensor


def _variance_term(z: torch.Tensor, gamma: float, eps: float) -> torch.Tensor:
    std = torch.sqrt(z.var(dim=0, correction=1) + eps)
    return torch.relu(gamma - std).mean()


def _covariance_term(z: torch.Tensor) -> torch.Tensor:
    n, d = z.shape
    zc = z - z.mean(dim=0, keepdim=True)
    c = zc.T @ zc / (n - 1)
    off = c - torch.diag_embed(torch.diagonal(c))
    return (off**2).sum() / d


def vicreg_terms(z_a: torch.Tensor, z_b: torch.Tensor, *, gamma: float = 1.0, eps: float = 1e-4) -> VICRegTerms:
    """VICReg's invariance, variance and covariance terms (Bardes et al. 2022).

    For two views' embeddings ``z_a``, ``z_b`` (n, d):

    - ``invariance = mean_{i,j} (z_a - z_b)_{ij}^2``, the mean squared error over all
      ``n d`` entries (``F.mse_loss``, as the reference code; the paper's
      ``(1/n) sum_i ||z_a,i - z_b,i||^2`` is ``d`` times this).
    - ``variance = v(z_a) + v(z_b)`` with ``v(z) = (1/d) sum_j max(0, gamma - sqrt(Var(z_j) +
      eps))``, ``Var`` the unbiased variance of column ``j``: a hinge keeping every
      dimension's standard deviation at ``gamma``. Summed over the branches as in the
      paper; the reference code averages them (its variance term is half of this, so its
      ``std_coeff=25`` equals ``var=12.5`` here).
    - ``covariance = c(z_a) + c(z_b)`` with ``c(z) = (1/d) sum_{i != j} C(z)_{ij}^2``,
      ``C`` the unbiased covariance: decorrelates the dimensions.

    All three are differentiable.

    Parameters
    ----------
    z_a, z_b : tensor (n, d)
        Embeddings of the two views, same shape, device and dtype, ``n >= 2``.
    gamma : float
        Target standard deviation, ``>= 0`` (paper: 1).
    eps : float
        Added to the variance under the square root, ``>= 0`` (paper: 1e-4); keeps the
        gradient finite for a collapsed dimension.

    Returns
    -------
    VICRegTerms
        ``(invariance, variance, covariance)``, 0-d tensors on the inputs' device and dtype.

    Examples
    --------
    >>> z_a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    >>> t = vicreg_terms(z_a, z_a.flip(0), eps=0.0)
    >>> t.invariance, t.covariance  # every entry of z_a - z_b is +-1; uncorrelated columns
    (tensor(1., dtype=torch.float64), tensor(0., dtype=torch.float64))
    >>> round(float(t.variance), 4)  # 2 * (1 - sqrt(2/3))
    0.367
    """
    z_a, z_b = _check_pair(z_a, z_b)
    gamma = check_real(gamma, "gamma")
    eps = check_real(eps, "eps")
    invariance = ((z_a - z_b) ** 2).mean()
    variance = _variance_term(z_a, gamma, eps) + _variance_term(z_b, gamma, eps)
    covariance = _covariance_term(z_a) + _covariance_term(z_b)
    return VICRegTerms(invariance, variance, covariance)


def vicreg_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    *,
    sim: float = 25.0,
    var: float = 25.0,
    cov: float = 1.0,
    gamma: float = 1.0,
    eps: float = 1e-4,
) -> torch.Tensor:
    """The VICReg loss ``sim * invariance + var * variance + cov * covariance``.

    The terms are those of :func:`vicreg_terms` (see there for the exact conventions);
    the default weights are the paper's (Bardes et al. 2022: lambda = mu = 25, nu = 1).
    ``var = 0`` removes the only term that keeps the embeddings from shrinking to a point:
    gradient descent then collapses every covariance eigenvalue toward 0.

    Parameters
    ----------
    z_a, z_b : tensor (n, d)
        Embeddings of the two views.
    sim, var, cov : float
        Weights, ``>= 0``.
    gamma, eps : float
        As in :func:`vicreg_terms`.

    Returns
    -------
    tensor ()
        Differentiable, on the inputs' device and dtype.

    Examples
    --------
    >>> z_a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    >>> round(float(vicreg_loss(z_a, z_a.flip(0), eps=0.0)), 4)  # 25 * 1 + 25 * 0.367 + 0
    34.1752
    """
    sim = check_real(sim, "sim")
    var = check_real(var, "var")
    cov = check_real(cov, "cov")
    t = vicreg_terms(z_a, z_b, gamma=gamma, eps=eps)
    return sim * t.invariance + var * t.variance + cov * t.covariance


def barlow_twins_loss(
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    *,
    lambd: float = 0.0051,
    normalize: bool = True,
    eps: float = 1e-5,
) -> torch.Tensor:
    """The Barlow Twins loss ``sum_i (1 - C_ii)^2 + lambd * sum_{i != j} C_ij^2``.

    ``normalize=True`` (Zbontar et al. 2021): each embedding dimension is standardized
    over the batch, ``(z - mean) / sqrt(var + eps)`` with the biased variance (as
    ``BatchNorm1d(affine=False)`` in training), and ``C = za_hat^T zb_hat / n`` is the
    cross-correlation; ``lambd = 0.0051`` is the reference code's default.

    ``normalize=False`` (the linearized model of Simon et al. 2023): no standardization
    and no centring; ``C = (z_a^T z_b + z_b^T z_a) / (2n)`` is the symmetrized
    cross-correlation. With ``lambd = 1`` the loss is ``||C - I||_F^2``, whose gradient
    flow from a small initialization learns the eigenmodes of the views'
    cross-correlation one at a time (:func:`linear_barlow_twins`).

    Examples
    --------
    >>> z = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    >>> barlow_twins_loss(z, z, normalize=False, lambd=1.0)  # C = I
    tensor(0., dtype=torch.float64)
    >>> round(float(barlow_twins_loss(z, 0.5 * z, normalize=False, lambd=1.0)), 4)  # C = I / 2
    0.5
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True (Zbontar et al.) or False (Simon et al.); got {normalize!r}.")
    z_a, z_b = _check_pair(z_a, z_b, min_rows=2 if normalize else 1)
    lambd = check_real(lambd, "lambd")
    eps = check_real(eps, "eps")
    n, d = z_a.shape
    if normalize:
        def standardize(z):
            zc = z - z.mean(dim=0, keepdim=True)
            return zc / torch.sqrt(zc.pow(2).mean(dim=0, keepdim=True) + eps)

        c = standardize(z_a).T @ standardize(z_b) / n
    else:
        c = (z_a.T @ z_b + z_b.T @ z_a) / (2 * n)
    diag = torch.diagonal(c)
    off = c - torch.diag_embed(diag)
    return ((1 - diag) ** 2).sum() + lambd * (off**2).sum()
