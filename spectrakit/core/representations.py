"""Representation spectra, compute layer: embedding covariance spectra, effective rank, von
Neumann entropy, VICReg / VNE / Barlow Twins losses, IterNorm whitening, and small
self-supervised training loops on synthetic two-view data.

Torch only, unlabelled tensors in and out: every result is on the input's device and in
its dtype, and no input is modified (training loops train a copy of the encoder). Random
draws come from a CPU ``torch.Generator`` seeded with ``seed`` and are then moved, so a
seeded call gives the same numbers on the CPU and on a GPU (up to rounding). Embeddings
are ``z`` of shape ``(n, d)``: ``n`` samples (the batch), ``d`` embedding dimensions.

Functions
---------
embedding_covariance    the (d, d) covariance (centred, / (n-1)) or autocorrelation (/ n)
covariance_spectrum     its eigenvalues, largest first
spectral_entropy        -sum p log p of p = s / sum(s), along the last dim
effective_rank          exp(spectral_entropy) (Roy & Vetterli 2007) of a spectrum, of the
                        covariance eigenvalues of z, or of the singular values of z (RankMe)
von_neumann_entropy     VNE (Kim et al. 2023): entropy of the eigenvalues of the
                        autocorrelation of the row-normalized embeddings
vne_loss                -von_neumann_entropy (minimize to raise the entropy)
vicreg_terms            VICReg's invariance, variance and covariance terms (Bardes et al. 2022)
vicreg_loss             their weighted sum, paper defaults 25, 25, 1
barlow_twins_loss       Zbontar et al. 2021 (normalize=True), or the unnormalized symmetrized
                        form of Simon et al. 2023 (normalize=False, lambd=1)
iternorm                whitening matrix by T Newton-Schulz steps (Huang et al. 2019)
iternorm_whiten         the embeddings whitened by it
ssl_toy_data            two augmented views of synthetic data with a known signal spectrum
linear_encoder          a seeded bias-free torch.nn.Linear
train_ssl               train a copy of an encoder on two views; covariance spectra per step
SSLTrainer              its step routine, one optimizer step at a time (exact pause and resume)
linear_barlow_twins     linear Barlow Twins from small init: eigenvalues learned one at a time
switch_on_steps         the step at which each eigenvalue first reaches a fraction of its final value
"""

from __future__ import annotations

import copy
import math
from typing import Callable, NamedTuple

import torch

from ..options import resolve_device, resolve_dtype
from .checks import check_finite, check_int, check_real, seeded_generator
from .threads import single_thread_if_small

__all__ = [
    "embedding_covariance",
    "covariance_spectrum",
    "spectral_entropy",
    "effective_rank",
    "von_neumann_entropy",
    "vne_loss",
    "VICRegTerms",
    "vicreg_terms",
    "vicreg_loss",
    "barlow_twins_loss",
    "iternorm",
    "iternorm_whiten",
    "ViewPair",
    "ssl_toy_data",
    "linear_encoder",
    "SSLTrainResult",
    "SSLTrainer",
    "train_ssl",
    "StepwiseResult",
    "linear_barlow_twins",
    "switch_on_steps",
]


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


# ------------------------------------------------------------------ spectra and rank


def embedding_covariance(z: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """The (d, d) covariance of embeddings ``z`` (n, d), or their autocorrelation.

    ``center=True``: ``C = (z - mean)^T (z - mean) / (n - 1)`` (the unbiased covariance, as
    ``numpy.cov(z, rowvar=False)`` and VICReg). ``center=False``: ``C = z^T z / n`` (the
    second-moment or autocorrelation matrix, as VNE and linear Barlow Twins use). The
    result is symmetrized exactly; it is differentiable.

    Examples
    --------
    >>> z = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
    >>> embedding_covariance(z)
    tensor([[0.6667, 0.0000],
            [0.0000, 2.6667]], dtype=torch.float64)
    >>> embedding_covariance(z, center=False)
    tensor([[0.5000, 0.0000],
            [0.0000, 2.0000]], dtype=torch.float64)
    """
    if not isinstance(center, bool):
        raise TypeError(f"center must be True (covariance) or False (autocorrelation); got {center!r}.")
    z = _check_embeddings(z, "z", min_rows=2 if center else 1)
    n = z.shape[0]
    if center:
        zc = z - z.mean(dim=0, keepdim=True)
        c = zc.T @ zc / (n - 1)
    else:
        c = z.T @ z / n
    return (c + c.T) / 2


def covariance_spectrum(z: torch.Tensor, *, center: bool = True) -> torch.Tensor:
    """Eigenvalues of :func:`embedding_covariance`, largest first, ``>= 0``.

    ``torch.linalg.eigvalsh`` of the (d, d) matrix; rounding negatives (about ``-eps *
    max``) are set to 0. Differentiable (the gradient of an eigenvalue is ``v v^T`` for
    its eigenvector ``v``). Returns a (d,) tensor; at most ``n - 1`` of the values are
    nonzero with ``center=True``.

    Examples
    --------
    >>> z = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], dtype=torch.float64)
    >>> covariance_spectrum(z)
    tensor([2.6667, 0.6667], dtype=torch.float64)
    """
    c = embedding_covariance(z, center=center)
    return torch.linalg.eigvalsh(c).flip(-1).clamp_min(0)


def spectral_entropy(spectrum: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (in nats) of a normalized spectrum, along the last dim.

    ``H = -sum_i p_i log p_i`` with ``p = s / sum(s)``, ``0 log 0 = 0``. ``H = log d`` for
    ``d`` equal values and ``0`` for a single nonzero one. For the eigenvalues of a
    covariance ``C`` this is the von Neumann entropy of the density matrix ``C / tr C``.
    Leading dims are a batch (e.g. a history of spectra, (steps, d) -> (steps,)).

    Examples
    --------
    >>> spectral_entropy(torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64))  # log 4
    tensor(1.3863, dtype=torch.float64)
    >>> spectral_entropy(torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=torch.float64))
    tensor([0.0000, 0.6931], dtype=torch.float64)
    """
    return _entropy_of(_check_spectrum(spectrum, "spectrum"))


_RANK_KINDS = ("spectrum", "covariance", "singular")


def effective_rank(x: torch.Tensor, *, kind: str = "spectrum") -> torch.Tensor:
    """Effective rank ``exp(H(p))`` (Roy & Vetterli 2007) of a spectrum or of embeddings.

    ``p = s / sum(s)`` and ``H(p) = -sum p log p`` (:func:`spectral_entropy`), so the
    effective rank lies in ``[1, d]``: ``d`` for ``d`` equal values, ``1`` for one nonzero
    value. Which values ``s`` are used matters, so it is chosen explicitly:

    - ``kind="spectrum"``: ``x`` (..., d) holds the values (non-negative) along the last
      dim; leading dims are a batch.
    - ``kind="covariance"``: ``x`` is embeddings ``z`` (n, d); ``s`` are the eigenvalues of
      the centred covariance (:func:`covariance_spectrum`), i.e. the *squared* singular
      values of the centred ``z``.
    - ``kind="singular"``: ``x`` is embeddings ``z`` (n, d); ``s`` are the singular values of
      ``z`` itself, not centred and not squared. This is Roy & Vetterli's definition on
      the matrix ``z`` and RankMe (Garrido et al. 2023), without RankMe's ``1e-7`` added
      to ``p``.

    Squaring sharpens the distribution, so ``kind="covariance"`` is never larger than the
    effective rank of the centred ``z``'s singular values: for singular values (2, 1),
    eigenvalues (4, 1) give ``1.649`` and singular values give ``1.890``. Differentiable.

    Examples
    --------
    >>> effective_rank(torch.ones(8, dtype=torch.float64))
    tensor(8.0000, dtype=torch.float64)
    >>> effective_rank(torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64))
    tensor(1., dtype=torch.float64)
    >>> z = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    >>> round(float(effective_rank(z, kind="covariance")), 3), round(float(effective_rank(z, kind="singular")), 3)
    (1.649, 1.89)
    """
    if kind not in _RANK_KINDS:
        raise ValueError(
            f"kind must be one of {_RANK_KINDS}: 'spectrum' for values along the last dim, "
            f"'covariance' or 'singular' for an embedding matrix z (n, d); got {kind!r}."
        )
    if kind == "spectrum":
        return torch.exp(spectral_entropy(x))
    z = _check_embeddings(x, "x", min_rows=2 if kind == "covariance" else 1)
    s = covariance_spectrum(z) if kind == "covariance" else torch.linalg.svdvals(z)
    return torch.exp(_entropy_of(_check_spectrum(s, f"the {kind} spectrum of x")))


def von_neumann_entropy(z: torch.Tensor, *, normalize: bool = True) -> torch.Tensor:
    """Von Neumann entropy of the representation (VNE, Kim et al. 2023), in nats.

    With ``normalize=True`` (the paper and its reference code) each row is scaled to unit
    length, ``h_i = z_i / ||z_i||``, and the autocorrelation ``rho = H^T H / n`` (not
    centred) has trace 1; with ``normalize=False``, ``rho = z^T z / tr(z^T z)``. Then

    ``S = -sum_j lambda_j log lambda_j``,  ``lambda_j`` the eigenvalues of ``rho``

    (``0 log 0 = 0``). ``S`` lies in ``[0, log d]``: ``0`` when all rows are parallel (rank
    one), ``log d`` when ``rho = I / d`` (isotropic). ``exp(S)`` is the effective rank of
    ``rho``. ``S`` is scale-free (multiplying ``z`` by a constant changes nothing) and
    differentiable (through ``torch.linalg.eigvalsh``); the VNE regularizer adds
    ``-alpha * S`` to a loss (:func:`vne_loss`): ``alpha > 0`` spreads the eigenvalues,
    ``alpha < 0`` collapses them.

    Parameters
    ----------
    z : tensor (n, d)
        Embeddings, one row per sample. Zero rows stay zero (they add nothing to ``rho``);
        all-zero ``z`` raises.
    normalize : bool
        Normalize the rows first (default, as VNE) or not.

    Returns
    -------
    tensor ()
        On ``z``'s device and dtype.

    Examples
    --------
    >>> z = torch.tensor([[3.0, 0.0], [0.0, 1.0], [-2.0, 0.0], [0.0, -5.0]], dtype=torch.float64)
    >>> von_neumann_entropy(z)  # rows normalized: rho = I / 2, S = log 2
    tensor(0.6931, dtype=torch.float64)
    >>> von_neumann_entropy(torch.tensor([[1.0, 2.0], [-2.0, -4.0]], dtype=torch.float64))
    tensor(0., dtype=torch.float64)
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True (unit rows, as VNE) or False; got {normalize!r}.")
    z = _check_embeddings(z, "z")
    if normalize:
        norms = torch.linalg.vector_norm(z, dim=1, keepdim=True)
        h = z / torch.where(norms > 0, norms, torch.ones_like(norms))
    else:
        h = z
    if not bool((h.detach() != 0).any()):
        raise ValueError("z is all zeros: the von Neumann entropy of a fully collapsed representation is undefined.")
    rho = h.T @ h / h.shape[0]
    rho = (rho + rho.T) / 2
    lam = torch.linalg.eigvalsh(rho).clamp_min(0)
    return _entropy_of(lam)


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


# --------------------------------------------------------------------------- losses


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
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(256, 4, generator=g, dtype=torch.float64) * torch.tensor([4.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    >>> torch.round(covariance_spectrum(iternorm_whiten(z, T=20)), decimals=6)
    tensor([1., 1., 1., 1.], dtype=torch.float64)
    """
    z = _check_embeddings(z, "z", min_rows=2)
    w = iternorm(embedding_covariance(z), T)
    return (z - z.mean(dim=0, keepdim=True)) @ w.T


# ---------------------------------------------------------- synthetic two-view data


class ViewPair(NamedTuple):
    """Two augmented views of the same samples, each (n, d_in)."""

    view_a: torch.Tensor
    view_b: torch.Tensor


def ssl_toy_data(
    n: int = 512,
    d_in: int = 16,
    *,
    signal_dim: int | None = None,
    decay: float = 0.9,
    noise: float = 0.3,
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> ViewPair:
    """Two augmented views of synthetic data with a known signal spectrum.

    A clean sample is ``x = Q s`` with latent ``s_k ~ N(0, decay**k)``, ``k = 0 ..
    signal_dim - 1``, and ``Q`` (d_in, signal_dim) a random orthonormal basis; each view
    adds its own augmentation noise, ``x_a = x + noise * e_a``, ``x_b = x + noise * e_b``
    (independent standard normal ``e``). So in expectation:

    - the views' cross-covariance ``E[x_a x_b^T] = Q diag(decay**k) Q^T`` (what the views
      share; the eigenvalues ``decay**k`` are the targets of :func:`linear_barlow_twins`),
    - each view's covariance is that plus ``noise**2 I`` (what an encoder must ignore to
      be invariant).

    Parameters
    ----------
    n : int
        Samples, ``>= 2``.
    d_in : int
        Input dimension, ``>= 1``.
    signal_dim : int, optional
        Dimension of the shared signal, ``1 <= signal_dim <= d_in``; default ``d_in``.
    decay : float
        Ratio of successive signal variances, ``> 0`` (1: a flat signal spectrum; 0.5: a
        geometric one with well separated eigenvalues).
    noise : float
        Standard deviation of the augmentation noise, ``>= 0``.
    seed : int or None
        Seeds the draws (on the CPU, then moved); ``None`` draws fresh randomness.
    device, dtype
        Where and in what precision (default: spectrakit's options, else float64 on the
        automatic device).

    Returns
    -------
    ViewPair
        ``(view_a, view_b)``, each (n, d_in).

    Examples
    --------
    >>> xa, xb = ssl_toy_data(4000, 3, decay=0.5, noise=0.5, seed=0, device="cpu")
    >>> xa.shape, xa.dtype
    (torch.Size([4000, 3]), torch.float64)
    >>> cross = (xa.T @ xb + xb.T @ xa) / (2 * len(xa))
    >>> [round(float(v), 2) for v in torch.linalg.eigvalsh(cross).flip(0)]  # decay ** k
    [1.0, 0.5, 0.25]
    """
    n = check_int(n, "n", 2)
    d_in = check_int(d_in, "d_in", 1)
    k = d_in if signal_dim is None else check_int(signal_dim, "signal_dim", 1)
    if k > d_in:
        raise ValueError(f"signal_dim must be <= d_in ({d_in}); got {k}.")
    decay = check_real(decay, "decay", strict=True)
    noise = check_real(noise, "noise")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    gen = seeded_generator(seed)
    q, r = torch.linalg.qr(torch.randn(d_in, k, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))  # Haar-distributed: fix QR's sign ambiguity
    std = decay ** (0.5 * torch.arange(k, dtype=torch.float64))
    x = (torch.randn(n, k, generator=gen, dtype=torch.float64) * std) @ q.T
    xa = x + noise * torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    xb = x + noise * torch.randn(n, d_in, generator=gen, dtype=torch.float64)
    return ViewPair(xa.to(device=device, dtype=dtype), xb.to(device=device, dtype=dtype))


def linear_encoder(
    d_in: int,
    d_out: int,
    *,
    init_scale: float | None = None,
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> torch.nn.Linear:
    """A bias-free ``torch.nn.Linear(d_in, d_out)`` with seeded weights ``N(0, init_scale^2)``.

    ``init_scale`` defaults to ``1 / sqrt(d_in)`` (unit-scale outputs for unit-scale
    inputs). The draw is on the CPU from ``seed``, then moved to ``device`` (default:
    spectrakit's options, else automatic) in ``dtype`` (default float64).

    Examples
    --------
    >>> enc = linear_encoder(16, 8, seed=0, device="cpu")
    >>> enc.weight.shape, enc.weight.dtype, enc.bias
    (torch.Size([8, 16]), torch.float64, None)
    """
    d_in = check_int(d_in, "d_in", 1)
    d_out = check_int(d_out, "d_out", 1)
    scale = 1.0 / math.sqrt(d_in) if init_scale is None else check_real(init_scale, "init_scale")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    w = scale * torch.randn(d_out, d_in, generator=seeded_generator(seed), dtype=torch.float64)
    enc = torch.nn.Linear(d_in, d_out, bias=False, device=device, dtype=dtype)
    with torch.no_grad():
        enc.weight.copy_(w.to(device=device, dtype=dtype))
    return enc


# ------------------------------------------------------------------- training loops


def _check_views(views, name: str = "views") -> tuple[torch.Tensor, torch.Tensor]:
    try:
        xa, xb = views
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a pair (view_a, view_b) of (n, d_in) tensors, e.g. ssl_toy_data(...); "
            f"got {type(views).__name__}."
        ) from None
    xa = _check_embeddings(xa, f"{name}[0]", min_rows=2)
    xb = _check_embeddings(xb, f"{name}[1]", min_rows=2)
    if xa.shape != xb.shape:
        raise ValueError(
            f"the two views must have the same shape (the same n samples); got {tuple(xa.shape)} "
            f"and {tuple(xb.shape)}."
        )
    if xa.device != xb.device or xa.dtype != xb.dtype:
        raise ValueError(f"the views are {xa.dtype} on {xa.device} and {xb.dtype} on {xb.device}: use one.")
    return xa, xb


class SSLTrainResult(NamedTuple):
    """What :func:`train_ssl` returns.

    encoder : the trained copy of the encoder.
    steps : (m,) int64, the optimizer steps at which the history was recorded.
    loss : (m,) the full-data loss at those steps.
    spectra : (m, d) covariance eigenvalues (:func:`covariance_spectrum`) of
        ``encoder(view_a)`` on all samples, largest first.
    """

    encoder: torch.nn.Module
    steps: torch.Tensor
    loss: torch.Tensor
    spectra: torch.Tensor


_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def _scalar(loss, where: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn(z_a, z_b) must return a scalar tensor; got {got} {where}.")
    return loss.reshape(())


class SSLTrainer:
    """One optimizer step at a time on two views: the training loop of :func:`train_ssl`.

    Holds a deep copy of ``encoder``, its optimizer and the minibatch stream (a CPU
    ``torch.Generator`` seeded with ``seed``, a fresh permutation each epoch), so a caller
    can stop after any step and go on later with exactly the numbers of an uninterrupted
    run: :func:`train_ssl` and :class:`spectrakit.tuning.RepresentationSession` both step
    with it. Each :meth:`update` draws a batch (all samples by default), embeds both views,
    ``z_a = encoder(view_a[batch])``, ``z_b = encoder(view_b[batch])``, and takes one
    optimizer step on ``loss_fn(z_a, z_b)``; :meth:`evaluate` gives the full-data
    embeddings and loss without a gradient.

    Parameters
    ----------
    encoder, views, loss_fn, lr, optimizer, batch_size, seed
        As in :func:`train_ssl` (the same checks and messages). ``loss_fn`` is called
        afresh each step, so a closure reading changing weights takes effect at once.

    Attributes
    ----------
    encoder : torch.nn.Module
        The copy being trained.
    step : int
        Optimizer steps taken.
    n : int
        Samples in each view.

    Examples
    --------
    >>> views = ssl_toy_data(128, 6, seed=0, device="cpu")
    >>> trainer = SSLTrainer(linear_encoder(6, 3, seed=1, device="cpu"), views, vicreg_loss, lr=0.02)
    >>> before = float(trainer.evaluate()[2])
    >>> for _ in range(20):
    ...     trainer.update()
    >>> trainer.step, float(trainer.evaluate()[2]) < before
    (20, True)
    """

    def __init__(
        self,
        encoder: torch.nn.Module,
        views,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        *,
        lr: float = 1e-2,
        optimizer: str = "sgd",
        batch_size: int | None = None,
        seed: int | None = 0,
    ):
        if not isinstance(encoder, torch.nn.Module):
            raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
        xa, xb = _check_views(views)
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be a callable (z_a, z_b) -> scalar loss; got {type(loss_fn).__name__}.")
        lr = check_real(lr, "lr", strict=True)
        if optimizer not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)}; got {optimizer!r}.")
        n = xa.shape[0]
        batch = n if batch_size is None else check_int(batch_size, "batch_size", 2)
        if batch > n:
            raise ValueError(f"batch_size must be <= n ({n} samples); got {batch}.")
        model = copy.deepcopy(encoder)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("encoder has no parameters that require grad: nothing to train.")
        for name, p in model.named_parameters():
            if p.device != xa.device or p.dtype != xa.dtype:
                raise ValueError(
                    f"encoder parameter {name!r} is {p.dtype} on {p.device} but the views are {xa.dtype} "
                    f"on {xa.device}: move one, e.g. encoder.to(view_a.device, view_a.dtype)."
                )
        self.encoder = model
        self.loss_fn = loss_fn
        self.view_a, self.view_b = xa, xb
        self.n, self.batch_size = n, batch
        self.step = 0
        self._lr = lr
        self._params = params
        self._opt = _OPTIMIZERS[optimizer](params, lr=lr)
        self._gen = seeded_generator(seed)
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0
        #: multiply-adds of a linear encoder's step, the scale :meth:`threads` looks at
        self.work = sum(p.numel() for p in params) * n

    @property
    def lr(self) -> float:
        """The learning rate; setting it applies from the next :meth:`update`."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_real(value, "lr", strict=True)
        for group in self._opt.param_groups:
            group["lr"] = self._lr

    def threads(self):
        """A context running small CPU work on one thread (:mod:`spectrakit.core.threads`)."""
        return single_thread_if_small(self.work, self.view_a.device)

    def evaluate(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_a, z_b, loss)`` on all samples, without a gradient.

        Raises ``FloatingPointError`` (training diverged) if the embeddings or the loss
        are not finite, and ``ValueError`` if the encoder's output is not (n, d).
        """
        with torch.no_grad():
            za, zb = self.encoder(self.view_a), self.encoder(self.view_b)
            if not isinstance(za, torch.Tensor) or za.ndim != 2 or za.shape[0] != self.n:
                got = tuple(za.shape) if isinstance(za, torch.Tensor) else type(za).__name__
                raise ValueError(f"encoder must map (n, d_in) to (n, d) embeddings; got {got}.")
            loss = _scalar(self.loss_fn(za, zb), f"at step {self.step}").detach()
            if not (bool(torch.isfinite(loss)) and bool(torch.isfinite(za.sum()))):
                raise FloatingPointError(
                    f"training diverged: the embeddings or the loss ({float(loss)}) are not finite at "
                    f"step {self.step}; lower lr (now {self._lr}) or check loss_fn."
                )
        return za, zb, loss

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_size == self.n:
            return self.view_a, self.view_b
        if self._pos + self.batch_size > len(self._order):
            self._order, self._pos = torch.randperm(self.n, generator=self._gen), 0
        idx = self._order[self._pos:self._pos + self.batch_size].to(self.view_a.device)
        self._pos += self.batch_size
        return self.view_a[idx], self.view_b[idx]

    def update(self) -> None:
        """One optimizer step on a batch; :attr:`step` counts it."""
        ba, bb = self._batch()
        self._opt.zero_grad(set_to_none=True)
        with torch.enable_grad():
            loss = _scalar(self.loss_fn(self.encoder(ba), self.encoder(bb)), f"at step {self.step}")
        if not bool(torch.isfinite(loss.detach())):
            raise FloatingPointError(
                f"the loss became {float(loss.detach())} at step {self.step}: lower lr (now {self._lr}) or check loss_fn."
            )
        loss.backward()
        self._opt.step()
        self.step += 1

    def state_dict(self) -> dict:
        """Copies of the encoder's and optimizer's state and the batch stream's position."""
        return {"encoder": copy.deepcopy(self.encoder.state_dict()),
                "optimizer": copy.deepcopy(self._opt.state_dict()),
                "step": self.step, "batch_generator": self._gen.get_state(),
                "batch_order": self._order.clone(), "batch_position": self._pos}


def train_ssl(
    encoder: torch.nn.Module,
    views,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    steps: int = 500,
    lr: float = 1e-2,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    seed: int | None = 0,
    record_every: int = 1,
) -> SSLTrainResult:
    """Train a copy of ``encoder`` on two views with ``loss_fn``; record covariance spectra.

    Each step draws a batch (all samples by default), embeds both views,
    ``z_a = encoder(view_a[batch])``, ``z_b = encoder(view_b[batch])``, and takes one
    optimizer step on ``loss_fn(z_a, z_b)``. At steps ``0, record_every, 2 record_every,
    ...`` and after the last step, the full-data loss and the eigenvalues of the
    covariance of ``encoder(view_a)`` are recorded: a collapse shows as eigenvalues
    falling to 0, a dimensional collapse as all but a few falling (see
    :func:`effective_rank`, which takes the (m, d) history directly).

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps (n, d_in) to (n, d) embeddings; its parameters must be on the views' device
        and in their dtype. Not modified: a deep copy is trained and returned.
    views : pair of tensors (n, d_in)
        ``(view_a, view_b)``, e.g. :func:`ssl_toy_data`.
    loss_fn : callable
        ``loss_fn(z_a, z_b)`` returns a scalar loss, e.g. ``vicreg_loss`` or
        ``lambda za, zb: vicreg_loss(za, zb, var=0.0)``.
    steps : int
        Optimizer steps, ``>= 0``.
    lr : float
        Learning rate, ``> 0``.
    optimizer : {"sgd", "adam"}
        Plain gradient descent (no momentum) or Adam with torch's defaults.
    batch_size : int, optional
        Samples per step (a fresh random permutation each epoch, drawn from ``seed``);
        default all ``n`` (deterministic full-batch training).
    seed : int or None
        Seeds the batch order (unused for full batches).
    record_every : int
        Record every this many steps, ``>= 1``.

    Returns
    -------
    SSLTrainResult
        ``(encoder, steps, loss, spectra)``: the trained copy; the recorded steps (m,);
        the full-data losses (m,); the covariance spectra (m, d), largest first. On the
        views' device and dtype.

    Notes
    -----
    The steps are :class:`SSLTrainer`'s (use it directly to stop and resume). Small problems (parameter count times ``n`` below 1e7) run on one CPU thread: for
    many tiny products, several threads only wait on each other (:mod:`spectrakit.core.threads`).

    Examples
    --------
    >>> views = ssl_toy_data(256, 8, seed=0, device="cpu")
    >>> enc = linear_encoder(8, 4, seed=1, device="cpu")
    >>> full = train_ssl(enc, views, vicreg_loss, steps=200, lr=0.02)
    >>> collapsed = train_ssl(enc, views, lambda a, b: vicreg_loss(a, b, var=0.0), steps=200, lr=0.02)
    >>> full.spectra.shape
    torch.Size([201, 4])
    >>> bool(full.spectra[-1, -1] > 0.3), bool(collapsed.spectra[-1, 0] < 1e-2)
    (True, True)
    """
    if not isinstance(encoder, torch.nn.Module):
        raise TypeError(f"encoder must be a torch.nn.Module; got {type(encoder).__name__}.")
    _check_views(views)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable (z_a, z_b) -> scalar loss; got {type(loss_fn).__name__}.")
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)
    trainer = SSLTrainer(encoder, views, loss_fn, lr=lr, optimizer=optimizer, batch_size=batch_size, seed=seed)

    rec_steps: list[int] = []
    rec_loss: list[torch.Tensor] = []
    rec_spectra: list[torch.Tensor] = []

    def record():
        za, _, loss = trainer.evaluate()
        rec_steps.append(trainer.step)
        rec_loss.append(loss)
        rec_spectra.append(covariance_spectrum(za))

    with trainer.threads():
        for t in range(steps):
            if t % record_every == 0:
                record()
            trainer.update()
        record()
    xa = trainer.view_a
    return SSLTrainResult(
        encoder=trainer.encoder,
        steps=torch.tensor(rec_steps, dtype=torch.long, device=xa.device),
        loss=torch.stack(rec_loss).to(xa.dtype),
        spectra=torch.stack(rec_spectra),
    )


class StepwiseResult(NamedTuple):
    """What :func:`linear_barlow_twins` returns.

    weights : (d_out, d_in) the trained ``W``.
    eigenvalues : (steps + 1, d_out) eigenvalues of the embeddings' symmetrized
        cross-correlation ``C = W Gamma W^T`` before each step and after the last, largest first.
    loss : (steps + 1,) ``||C - I||_F^2`` at the same points.
    target : (d_out,) the top eigenvalues ``gamma_j`` of the views' cross-correlation ``Gamma``.
    predicted_steps : (d_out,) the step at which eigenvalue ``j`` should reach 1/2 by the
        small-initialization theory (NaN where it does not apply: ``gamma_j <= 0``, or
        ``c_j(0) >= 1/2``, an initialization that is not small).
    """

    weights: torch.Tensor
    eigenvalues: torch.Tensor
    loss: torch.Tensor
    target: torch.Tensor
    predicted_steps: torch.Tensor


def linear_barlow_twins(
    view_a: torch.Tensor,
    view_b: torch.Tensor,
    d_out: int,
    *,
    steps: int = 1000,
    lr: float = 0.05,
    init_scale: float = 1e-3,
    seed: int | None = 0,
) -> StepwiseResult:
    """Linear Barlow Twins from a small initialization: eigenmodes learned one at a time.

    The model of Simon et al. (2023, "On the stepwise nature of self-supervised
    learning"): a linear encoder ``z = W x`` (``W`` is d_out x d_in, entries drawn
    ``N(0, init_scale^2)``) trained by full-batch gradient descent on
    :func:`barlow_twins_loss` with ``normalize=False, lambd=1``, i.e.
    ``L = ||C - I||_F^2`` with ``C = (Z_a^T Z_b + Z_b^T Z_a) / (2n) = W Gamma W^T`` and
    ``Gamma = (X_a^T X_b + X_b^T X_a) / (2n)`` the views' symmetrized cross-correlation.

    From a small start the modes decouple: along the ``j``-th eigenvector ``v_j`` of
    ``Gamma`` (eigenvalue ``gamma_j``, largest first) the embedding ``W v_j`` grows by the
    factor ``1 + 4 lr gamma_j`` per step while ``C`` is small, so the eigenvalue ``c_j`` of
    ``C`` it carries follows a logistic curve from ``c_j(0)`` to 1 (``dc_j/dt = 8 gamma_j
    c_j (1 - c_j)`` in gradient-flow time ``t = lr * step``). It crosses 1/2 at

    ``t_j = log(1 / c_j(0) - 1) / (2 log(1 + 4 lr gamma_j))`` steps (``predicted_steps``),

    with ``c_j(0) = gamma_j ||P_j W_0 v_j||^2``, ``P_j`` the projection removing the
    earlier modes' initial outputs ``W_0 v_1 .. W_0 v_{j-1}`` (on average
    ``c_j(0) ~ init_scale^2 (d_out - j + 1) gamma_j``). The modes are learned in the order
    of the ``gamma_j``, one at a time when the ``gamma_j`` are well separated (a geometric
    ``gamma``: the times grow by the ratio ``gamma_j / gamma_{j+1}``). On
    :func:`ssl_toy_data` the measured half-rise times agree with ``t_j`` to a step or two.
    Modes with ``gamma_j <= 0`` are never learned (``predicted_steps`` is NaN there).

    Parameters
    ----------
    view_a, view_b : tensor (n, d_in)
        The two views (e.g. :func:`ssl_toy_data` with ``decay=0.5``).
    d_out : int
        Embedding dimension, ``1 <= d_out <= d_in``.
    steps : int
        Gradient steps, ``>= 0``.
    lr : float
        Learning rate, ``> 0``; must satisfy ``4 lr gamma_1 < 1`` (beyond it the learned
        eigenvalues overshoot 1 and diverge).
    init_scale : float
        Standard deviation of the initial weights, ``> 0`` (small: 1e-3 and below).
    seed : int or None
        Seeds the initial weights (drawn on the CPU, then moved).

    Returns
    -------
    StepwiseResult
        ``(weights, eigenvalues, loss, target, predicted_steps)`` on the views' device and
        dtype; see :class:`StepwiseResult`. :func:`switch_on_steps` reads the measured
        times off ``eigenvalues``.

    Examples
    --------
    >>> xa, xb = ssl_toy_data(2000, 8, decay=0.5, noise=0.3, seed=0, device="cpu")
    >>> res = linear_barlow_twins(xa, xb, 3, steps=400, lr=0.05)
    >>> switch_on_steps(res.eigenvalues).tolist()  # measured half-rise steps
    [34, 76, 153]
    >>> [round(float(t)) for t in res.predicted_steps]  # theory
    [34, 76, 154]
    >>> [[round(float(v), 2) for v in res.eigenvalues[t]] for t in (50, 100, 200)]  # one at a time
    [[1.0, 0.01, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.99]]
    """
    xa, xb = _check_views((view_a, view_b), "(view_a, view_b)")
    n, d_in = xa.shape
    d_out = check_int(d_out, "d_out", 1)
    if d_out > d_in:
        raise ValueError(f"d_out must be <= d_in ({d_in}); got {d_out}.")
    steps = check_int(steps, "steps", 0)
    lr = check_real(lr, "lr", strict=True)
    init_scale = check_real(init_scale, "init_scale", strict=True)

    gamma_mat = (xa.T @ xb + xb.T @ xa) / (2 * n)
    g1 = float(torch.linalg.eigvalsh((gamma_mat + gamma_mat.T) / 2)[-1])
    if 4 * lr * g1 >= 1:
        raise ValueError(
            f"lr={lr} is too large for the top cross-correlation eigenvalue {g1:.3g}: gradient "
            f"descent needs 4 lr gamma_1 < 1, i.e. lr < {1 / (4 * g1):.3g} (take half of that)."
        )
    w0 = init_scale * torch.randn(d_out, d_in, generator=seeded_generator(seed), dtype=torch.float64)
    w = w0.to(device=xa.device, dtype=xa.dtype).requires_grad_()

    gammas, vecs = torch.linalg.eigh((gamma_mat + gamma_mat.T) / 2)
    target = gammas.flip(-1)[:d_out]
    # c_j(0): mode j's initial size once the outputs of the earlier modes are projected out
    r = torch.linalg.qr(w.detach() @ vecs.flip(-1)[:, :d_out], mode="r")[1]
    c0 = target * torch.diagonal(r) ** 2
    ok = (target > 0) & (c0 > 0) & (c0 < 0.5)
    safe_c0 = torch.where(ok, c0, torch.full_like(c0, 0.25))
    safe_t = torch.where(ok, target, torch.ones_like(target))
    predicted = torch.where(
        ok,
        torch.log(1 / safe_c0 - 1) / (2 * torch.log1p(4 * lr * safe_t)),
        torch.full_like(target, float("nan")),
    )
    eigs: list[torch.Tensor] = []
    losses: list[torch.Tensor] = []
    with single_thread_if_small(n * d_in * d_out, xa.device), torch.enable_grad():
        for t in range(steps + 1):
            za, zb = xa @ w.T, xb @ w.T
            loss = barlow_twins_loss(za, zb, lambd=1.0, normalize=False)
            with torch.no_grad():
                c = (za.T @ zb + zb.T @ za) / (2 * n)
                eigs.append(torch.linalg.eigvalsh((c + c.T) / 2).flip(-1))
                losses.append(loss.detach())
            if not bool(torch.isfinite(loss.detach())):
                raise FloatingPointError(f"the loss became {float(loss)} at step {t}: lower lr (now {lr}).")
            if t == steps:
                break
            (grad,) = torch.autograd.grad(loss, w)
            with torch.no_grad():
                w -= lr * grad
    return StepwiseResult(
        weights=w.detach(),
        eigenvalues=torch.stack(eigs),
        loss=torch.stack(losses),
        target=target,
        predicted_steps=predicted,
    )


def switch_on_steps(eigenvalues: torch.Tensor, level: float = 0.5) -> torch.Tensor:
    """The first step at which each eigenvalue reaches ``level`` times its final value.

    ``eigenvalues`` is a history (steps, d) (rows in time, e.g. from
    :func:`linear_barlow_twins` or :func:`train_ssl`); for column ``j`` the result is the
    first row index ``t`` with ``eigenvalues[t, j] >= level * eigenvalues[-1, j]``, or -1
    where the final value is not positive (never switched on). With ``level = 0.5`` and
    stepwise learning these are the half-rise times; they increase with ``j`` when the
    modes are learned in order.

    Examples
    --------
    >>> h = torch.tensor([[0.0, 0.0], [0.6, 0.0], [1.0, 0.1], [1.0, 0.9], [1.0, 1.0]])
    >>> switch_on_steps(h)
    tensor([1, 3])
    """
    h = _check_tensor(eigenvalues, "eigenvalues")
    if h.ndim != 2 or h.shape[0] < 1:
        raise ValueError(f"eigenvalues must be a (steps, d) history; got shape {tuple(h.shape)}.")
    check_finite(h.detach(), "eigenvalues")
    level = check_real(level, "level")
    final = h[-1]
    reached = h >= level * final
    first = torch.argmax(reached.to(torch.int8), dim=0)  # first True (the last row always is)
    return torch.where(final > 0, first, torch.full_like(first, -1))
