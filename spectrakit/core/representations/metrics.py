"""Spectral metrics of embeddings: covariance spectra, spectral entropy, effective rank and
von Neumann entropy.

Part of :mod:`spectrakit.core.representations` (read its docstring first for the shapes and
conventions). Read :func:`covariance_spectrum` first; :func:`effective_rank` and
:func:`von_neumann_entropy` summarize a spectrum in one number.
"""

from __future__ import annotations

import torch

from ._common import _check_embeddings, _check_spectrum, _entropy_of

__all__ = [
    "embedding_covariance",
    "covariance_spectrum",
    "spectral_entropy",
    "effective_rank",
    "von_neumann_entropy",
]


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
