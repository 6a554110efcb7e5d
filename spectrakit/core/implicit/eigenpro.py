"""EigenPro: kernel / least-squares gradient descent with the top eigenvalues flattened.

Part of :mod:`spectrakit.core.implicit` (read its docstring first). Read :func:`eigenpro_gd`
first; :func:`eigenpro_preconditioner` builds its preconditioner ``P``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..checks import check_int, check_memory, check_real, itemsize
from ..threads import single_thread_if_small
from ._common import _BLOCK, _check_tensor, _recorded_steps

__all__ = [
    "eigenpro_preconditioner",
    "EigenProResult",
    "eigenpro_gd",
]


# ------------------------------------------------------------------------------ EigenPro


def _check_eigen(eigenvalues, eigenvectors, k: int, size: int | None = None):
    lam = _check_tensor(eigenvalues, "eigenvalues", 1, " (modes,)")
    vec = _check_tensor(eigenvectors, "eigenvectors", 2, " (dim, modes)")
    if vec.shape[1] != lam.shape[0]:
        raise ValueError(
            f"eigenvectors has {vec.shape[1]} columns but eigenvalues has {lam.shape[0]} values: "
            "one eigenvector (column) per eigenvalue."
        )
    if size is not None and vec.shape[0] != size:
        raise ValueError(f"eigenvectors must have {size} rows (the parameter dimension); got {vec.shape[0]}.")
    if vec.device != lam.device:
        raise ValueError(f"eigenvectors is on {vec.device} but eigenvalues on {lam.device}: move one.")
    if lam.shape[0] < k + 1:
        raise ValueError(
            f"k={k} needs the top k + 1 = {k + 1} eigenvalues (lambda_(k+1) sets the flattened level); "
            f"got {lam.shape[0]}."
        )
    if lam.shape[0] > 1 and bool((lam[1:] > lam[:-1] + 1e-12 * lam.abs().max()).any()):
        raise ValueError("eigenvalues must be sorted largest first (as numpy/torch eigh's output flipped).")
    if float(lam[k]) <= 0:
        raise ValueError(
            f"lambda_(k+1) = {float(lam[k]):.3g} is not positive: k={k} reaches the null space. "
            "Use a smaller k (below the rank)."
        )
    return lam, vec.to(lam.dtype)


def eigenpro_preconditioner(eigenvalues: torch.Tensor, eigenvectors: torch.Tensor, k: int) -> torch.Tensor:
    """The EigenPro preconditioner that flattens the top-k eigenvalues to ``lambda_{k+1}``.

    ``P = I - sum_{i <= k} (1 - lambda_{k+1} / lambda_i) q_i q_i^T``

    for eigenpairs ``(lambda_i, q_i)`` of a symmetric PSD operator ``H`` (a kernel matrix
    ``K / n``, or a covariance ``X^T X / n``), largest first. ``P`` commutes with ``H`` and
    ``P H`` has eigenvalues ``lambda_{k+1}`` for ``i <= k`` and ``lambda_i`` after, so
    gradient descent preconditioned by ``P`` may take a step ``~ 1 / lambda_{k+1}``
    instead of ``1 / lambda_1`` (Ma & Belkin 2017). ``k = 0`` gives the identity.

    Parameters
    ----------
    eigenvalues : tensor (modes,)
        Largest first, at least ``k + 1`` of them, ``lambda_{k+1} > 0``.
    eigenvectors : tensor (dim, modes)
        Orthonormal columns, one per eigenvalue.
    k : int
        How many eigenvalues to flatten, ``0 <= k < modes``.

    Returns
    -------
    tensor (dim, dim)
        Dense ``P`` (:func:`eigenpro_gd` applies it as the low-rank update instead).

    Examples
    --------
    >>> lam = torch.tensor([8.0, 4.0, 1.0, 0.5], dtype=torch.float64)
    >>> P = eigenpro_preconditioner(lam, torch.eye(4, dtype=torch.float64), 2)
    >>> torch.diagonal(P * lam)  # P H: top two flattened to lambda_3 = 1
    tensor([1.0000, 1.0000, 1.0000, 0.5000], dtype=torch.float64)
    """
    k = check_int(k, "k", 0)
    lam, vec = _check_eigen(eigenvalues, eigenvectors, k)
    p = torch.eye(vec.shape[0], device=vec.device, dtype=vec.dtype)
    if k:
        c = 1 - lam[k] / lam[:k]
        p = p - (vec[:, :k] * c) @ vec[:, :k].T
    return p


class EigenProResult(NamedTuple):
    """What :func:`eigenpro_gd` returns.

    coef : the final parameters: kernel coefficients ``a`` (n,) with predictions ``K a``,
        or weights ``w`` (d,) with predictions ``X w``.
    mse : (n_records,) the training mean squared error ``||pred - y||^2 / n``.
    predicted_mse : (n_records,) the same by the closed form (per-mode decay
        ``(1 - lr lambda~_i)^t``); NaN when only part of the spectrum was given.
    steps : (n_records,) int64, the step of each record.
    lr : the step size used.
    eigenvalues : (modes,) the operator's eigenvalues, largest first.
    preconditioned_eigenvalues : (modes,) those of ``P H``: ``lambda_{k+1}`` for the top k.
    speedup : ``lambda_1 / lambda_{k+1}``, the predicted ratio of iterations (plain / EigenPro)
        to reach a small training error.
    """

    coef: torch.Tensor
    mse: torch.Tensor
    predicted_mse: torch.Tensor
    steps: torch.Tensor
    lr: float
    eigenvalues: torch.Tensor
    preconditioned_eigenvalues: torch.Tensor
    speedup: float


def eigenpro_gd(
    data: torch.Tensor,
    y: torch.Tensor,
    *,
    k: int,
    steps: int,
    lr: float | None = None,
    kind: str = "kernel",
    eigen: tuple[torch.Tensor, torch.Tensor] | None = None,
    record_every: int = 1,
) -> EigenProResult:
    """Kernel (or least-squares) gradient descent preconditioned by EigenPro; ``k = 0``: plain GD.

    ``kind="kernel"``: ``data`` is a PSD kernel matrix ``K`` (n, n); the iteration is the
    functional gradient step of kernel least squares on coefficients ``a`` (from 0),

    ``a <- a - lr P (K a - y) / n``,  ``H = K / n``.

    ``kind="features"``: ``data`` is a design ``X`` (n, d); gradient descent on
    ``||X w - y||^2 / (2n)`` from ``w = 0``,

    ``w <- w - lr P X^T (X w - y) / n``,  ``H = X^T X / n``.

    ``P`` is :func:`eigenpro_preconditioner` built from the top ``k + 1`` eigenpairs of
    ``H`` (applied as a rank-k update, ``O(k dim)`` per step). ``P H`` has eigenvalues
    ``lambda~_i = lambda_{k+1}`` (``i <= k``), ``lambda_i`` (``i > k``), and the residual's
    component on mode ``i`` is multiplied by ``1 - lr lambda~_i`` per step, so

    ``mse_t = (1/n) [ sum_i (1 - lr lambda~_i)^(2t) c_i^2 + ||y||^2 - sum_i c_i^2 ]``,

    ``c_i`` = ``y``'s coefficient on the i-th eigenvector in prediction space
    (``predicted_mse``). Stability needs ``lr lambda~_1 < 2``; the default step is
    ``1 / lambda~_1 = 1 / lambda_{k+1}`` (``1 / lambda_1`` for plain GD), so a slow mode
    ``lambda_i`` decays ``lambda_1 / lambda_{k+1}`` times faster than under plain GD with its
    default step: the iterations to a small error shrink by about ``speedup``. ``P`` keeps
    the iterates in the row space of ``X`` (its top eigenvectors lie there), so from zero
    both converge to the same minimum-norm solution ``pinv(X) y`` (``kind="features"``;
    for a positive-definite kernel, to ``K^{-1} y``).

    Parameters
    ----------
    data : tensor
        ``K`` (n, n) symmetric PSD, or ``X`` (n, d).
    y : tensor (n,)
        Targets.
    k : int
        Eigenvalues to flatten, ``0 <= k`` and ``lambda_{k+1} > 0``.
    steps : int
        Iterations, ``>= 0``.
    lr : float, optional
        Step size; default ``1 / lambda_{k+1}``. Must satisfy ``lr lambda_{k+1} < 2``.
    kind : {"kernel", "features"}
        What ``data`` is.
    eigen : (eigenvalues, eigenvectors), optional
        Eigenpairs of ``H`` (``K / n`` or ``X^T X / n``), largest first, at least ``k + 1``;
        pass them to sweep ``k`` or ``lr`` without a new decomposition. Default: a full
        ``eigh`` of ``K / n``, or an SVD of ``X``. With fewer pairs than the rank,
        ``predicted_mse`` is NaN.
    record_every : int
        Record every this many steps (the last step is always recorded).

    Returns
    -------
    EigenProResult
        On ``data``'s device and dtype; see :class:`EigenProResult`.

    Examples
    --------
    >>> from spectrakit.core.implicit import first_step_below
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = torch.rand(300, 2, generator=gen, dtype=torch.float64)
    >>> K = torch.exp(-torch.cdist(x, x) / 0.5)  # Laplace kernel
    >>> y = torch.sin(6 * x[:, 0]) + 0.1 * torch.randn(300, generator=gen, dtype=torch.float64)
    >>> plain = eigenpro_gd(K, y, k=0, steps=2000)
    >>> fast = eigenpro_gd(K, y, k=10, steps=100)
    >>> round(fast.speedup, 1)  # lambda_1 / lambda_11
    38.9
    >>> int(first_step_below(plain.mse, 3e-3)), int(first_step_below(fast.mse, 3e-3))
    (1015, 26)
    >>> float((fast.mse - fast.predicted_mse).abs().max()) < 1e-12  # the closed form
    True
    """
    if kind not in ("kernel", "features"):
        raise ValueError(f"kind must be 'kernel' (data is K) or 'features' (data is X); got {kind!r}.")
    A = _check_tensor(data, "data", 2, " (K (n, n) or X (n, d))")
    y = _check_tensor(y, "y", 1, " (n,)")
    n = A.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} values but data has {n} rows: one target per row.")
    if y.device != A.device:
        raise ValueError(f"y is on {y.device} but data is on {A.device}: move one of them.")
    y = y.to(A.dtype)
    device, dtype = A.device, A.dtype
    if kind == "kernel":
        if A.shape != (n, n):
            raise ValueError(
                f"a kernel matrix must be square; got shape {tuple(A.shape)}. For a design matrix "
                "X (n, d) pass kind='features'."
            )
        asym = float((A - A.T).abs().max())
        if asym > 1e-8 * max(float(A.abs().max()), 1e-300):
            raise ValueError(
                f"the kernel matrix is not symmetric (max |K - K^T| = {asym:.3g}); symmetrize it "
                "((K + K.T) / 2) or pass kind='features' for a design matrix."
            )
    dim = n if kind == "kernel" else A.shape[1]
    k = check_int(k, "k", 0)
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)

    full_rank = None
    if eigen is None:
        check_memory(
            4.0 * min(n, dim) ** 2 * itemsize(dtype) + 2.0 * n * dim * itemsize(dtype), device,
            name="eigenpro_gd", what=f"a dense eigendecomposition of size {min(n, dim)}",
            alternative="Pass eigen= with the top k + 1 eigenpairs (e.g. from a subsample or Lanczos).",
        )
        size = min(n, dim)
        # LAPACK's eigh/SVD below a few hundred is memory-bound reduction work that several
        # threads do no faster (and much slower on a busy machine): one thread up to 512
        with single_thread_if_small(0.0 if size <= 512 else float(size) ** 3, device):
            if kind == "kernel":
                lam, vec = torch.linalg.eigh((A + A.T) / (2 * n))
                lam, vec = lam.flip(0), vec.flip(1)
                left = vec
            else:
                left, s, vh = torch.linalg.svd(A, full_matrices=False)
                lam, vec = s * s / n, vh.mT
        full_rank = True
    else:
        if not isinstance(eigen, (tuple, list)) or len(eigen) != 2:
            raise TypeError("eigen must be a pair (eigenvalues, eigenvectors) of H, largest first.")
        lam, vec = eigen
        full_rank = lam.numel() >= min(n, dim)
        left = None
    lam, vec = _check_eigen(lam, vec, k, dim)
    lam, vec = lam.to(device=device, dtype=dtype), vec.to(device=device, dtype=dtype)
    if k >= lam.numel():
        raise ValueError(f"k={k} must be below the number of eigenpairs ({lam.numel()}).")
    top = float(lam[k])
    lam_p = lam.clone()
    lam_p[:k] = lam[k]
    lr = 1.0 / top if lr is None else check_real(lr, "lr", strict=True)
    if lr * top >= 2:
        raise ValueError(
            f"lr={lr:.4g} diverges: the largest preconditioned eigenvalue is lambda_(k+1) = {top:.4g} "
            f"and gradient descent needs lr * lambda < 2, i.e. lr < {2 / top:.4g} (default 1 / lambda)."
        )
    qk = vec[:, :k]
    ck = (1 - lam[k] / lam[:k]).reshape(1, -1) if k else None

    rec = _recorded_steps(steps, record_every)
    n_rec = len(rec)
    mse = torch.empty(n_rec, device=device, dtype=dtype)
    coef = torch.zeros(dim, device=device, dtype=dtype)
    j = 0
    with single_thread_if_small(2.0 * n * dim, device), torch.no_grad():
        for t in range(steps + 1):
            res = A @ coef - y
            if t == rec[j]:
                mse[j] = res @ res / n
                j += 1
            if t == steps:
                break
            g = res / n if kind == "kernel" else (res @ A) / n
            if k:
                g = g - qk @ (ck.reshape(-1) * (qk.T @ g))
            coef = coef - lr * g
    if not bool(torch.isfinite(mse).all()):
        raise FloatingPointError(f"eigenpro_gd diverged (lr={lr:.4g}); lower lr.")

    # closed form: the residual's coefficients on the eigenvectors in prediction space
    if full_rank:
        if left is not None:
            c = left.mT @ y
        elif kind == "kernel":
            c = vec.mT @ y
        else:
            pos = lam > 0
            c = torch.where(pos, (vec.mT @ (y @ A)) / torch.sqrt(n * lam.clamp_min(1e-300)), torch.zeros_like(lam))
        c2 = c * c
        rest = float(y @ y) - float(c2.sum())
        factor = (1 - lr * lam_p) ** 2
        t_rec = torch.tensor(rec, device=device, dtype=dtype)
        predicted = torch.empty(n_rec, device=device, dtype=dtype)
        block = max(1, _BLOCK // max(1, lam.numel()))
        for b in range(0, n_rec, block):
            tb = t_rec[b:b + block].reshape(-1, 1)
            predicted[b:b + block] = ((factor ** tb) @ c2 + max(rest, 0.0)) / n
    else:
        predicted = torch.full((n_rec,), float("nan"), device=device, dtype=dtype)
    return EigenProResult(
        coef=coef,
        mse=mse,
        predicted_mse=predicted,
        steps=torch.tensor(rec, dtype=torch.int64, device=device),
        lr=float(lr),
        eigenvalues=lam,
        preconditioned_eigenvalues=lam_p,
        speedup=float(lam[0] / lam[k]),
    )
