"""The kernel-ridge path: one eigendecomposition, every ``reg``, predictions at new points.

Part of :mod:`spectrakit.core.curves` (read its docstring first for the ``reg`` convention).
Read :func:`kernel_path` first; :func:`rbf_kernel` builds the kernels it takes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..checks import check_finite, check_real
from ..filtering import (
    SpectralBasis,
    filter_path,
    kernel_basis,
)
from ._common import _grid

__all__ = [
    "rbf_kernel",
    "KernelPath",
    "kernel_path",
]


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
    method, **method_options : a filter of :func:`spectrakit.core.spectral.filter_factors`.
    basis : a :class:`SpectralBasis` of kind "kernel" from an earlier call or
        :func:`spectrakit.core.filtering.kernel_basis`.
    criteria : compute every criterion (False: only ``residual_norm`` and ``solution_norm``).
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
    if noise_norm is not None:
        noise_norm = torch.as_tensor(noise_norm, dtype=Q.dtype, device=Q.device).reshape(-1)
        if noise_norm.shape[0] not in (1, y2.shape[0]) or bool((noise_norm <= 0).any()):
            raise ValueError(f"noise_norm must be > 0, one value or one per right-hand side ({y2.shape[0]}).")
        noise_norm = noise_norm.expand(y2.shape[0])
    beta = basis.coefficients(y2)  # (B, k)
    # the filtering capability's path (the same as spectrakit.regularize_kernel's): dual
    # coefficients (B, R, n) and the criteria
    f, native, dual, crit = filter_path(basis, y2, reg_t, method, beta=beta, noise_norm=noise_norm,
                                        criteria=criteria, **method_options)
    fitted = (f.unsqueeze(0) * beta.unsqueeze(1)) @ Q.mT
    preds = None
    if K_test is not None:
        # K_test alpha for every reg: (B, R, n) @ (n, m), n m per reg (forming K_test Q
        # once would cost m n**2 more and save nothing per reg)
        preds = dual @ K_test.to(device=Q.device, dtype=Q.dtype).mT
    if y.ndim == 1:
        dual, fitted = dual[0], fitted[0]
        preds = None if preds is None else preds[0]
        crit = {k: v[0] for k, v in crit.items()}
    return KernelPath(dual_coef=dual, fitted=fitted, predictions=preds, criteria=crit, native=native, basis=basis)
