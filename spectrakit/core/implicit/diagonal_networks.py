"""Diagonal linear networks ``w = u*u - v*v``: the initialization scale chooses the interpolator.

Part of :mod:`spectrakit.core.implicit` (read its docstring first). Read
:func:`diagonal_network_gd` first; :func:`diagonal_network_limit` is its exact gradient-flow
limit, the minimizer of :func:`diagonal_network_potential` among interpolators, between
:func:`min_l1_interpolator` (``alpha -> 0``) and the minimum-l2 one (``alpha -> inf``).
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import torch

from ..checks import check_finite, check_int, check_memory, check_real, itemsize
from ..threads import single_thread_if_small
from ._common import _check_tensor, _recorded_steps

__all__ = [
    "DiagonalNetworkResult",
    "diagonal_network_gd",
    "diagonal_network_limit",
    "diagonal_network_potential",
    "min_l1_interpolator",
]


# --------------------------------------------------------------- diagonal linear networks


class DiagonalNetworkResult(NamedTuple):
    """What :func:`diagonal_network_gd` returns (``B`` init scales; no ``B`` dim for a scalar).

    weights : ([B,] d) the final ``w = u*u - v*v``.
    history : (n_records, [B,] d) ``w`` at each recorded step.
    loss : (n_records, [B]) ``||X w - y||^2 / (2n)``.
    l1_norm : (n_records, [B]) ``||w||_1``.
    steps : (n_records,) int64, the step of each record.
    init_scale : ([B]) the ``alpha`` of each run.
    """

    weights: torch.Tensor
    history: torch.Tensor
    loss: torch.Tensor
    l1_norm: torch.Tensor
    steps: torch.Tensor
    init_scale: torch.Tensor


def _check_xy(X, y) -> tuple[torch.Tensor, torch.Tensor]:
    X = _check_tensor(X, "X", 2, " (n samples, d features)")
    y = _check_tensor(y, "y", 1, " (n,)")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} values but X has {X.shape[0]} rows: one target per row.")
    if y.device != X.device:
        raise ValueError(f"y is on {y.device} but X is on {X.device}: move one of them.")
    return X, y.to(X.dtype)


def _scale_grid(value, name: str, like: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """A positive scalar or 1-D grid as a tensor on ``like``'s device/dtype; and whether scalar."""
    if isinstance(value, torch.Tensor):
        arr = value.detach().to(device="cpu", dtype=torch.float64)
    else:
        try:
            arr = torch.as_tensor(np.asarray(value, dtype=float), dtype=torch.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a positive number or a 1-D grid of them; got {value!r}.") from None
    if arr.ndim > 1 or arr.numel() == 0:
        raise ValueError(f"{name} must be a positive number or a non-empty 1-D grid; got shape {tuple(arr.shape)}.")
    check_finite(arr, name)
    if bool((arr <= 0).any()):
        raise ValueError(f"{name} must be > 0; got {float(arr[arr <= 0][0])}.")
    return arr.reshape(-1).to(device=like.device, dtype=like.dtype), arr.ndim == 0


def diagonal_network_gd(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    init_scale,
    lr,
    steps: int,
    record_every: int = 1,
) -> DiagonalNetworkResult:
    """Gradient descent on a diagonal linear network ``w = u*u - v*v`` from ``u = v = alpha``.

    Minimizes ``L(u, v) = ||X w - y||^2 / (2n)`` by ``u <- u - lr 2 u*g``,
    ``v <- v + lr 2 v*g`` with ``g = X^T (X w - y) / n``, from ``u_0 = v_0 = alpha 1``
    (so ``w_0 = 0``). This is also ``w = a*b`` from ``a_0 = 2 alpha 1, b_0 = 0``
    (``a = u + v``, ``b = u - v``; gradient descent on ``(a, b)`` with step ``2 lr`` follows
    the same trajectory). Several ``alpha`` train together (a batch): pass a 1-D
    grid as ``init_scale`` (and ``lr`` as a number or a matching grid).

    Under gradient flow ``u*v = alpha^2`` is conserved and ``w`` follows a mirror flow, so
    ``arcsinh(w / (2 alpha^2))`` stays in the row space of ``X``: in an underdetermined
    problem the interpolator reached is the one minimizing the potential
    :func:`diagonal_network_potential` ``Q_alpha`` (Woodworth et al. 2020), computed
    exactly by :func:`diagonal_network_limit`. ``Q_alpha`` is ``~ log(1/alpha^2) ||w||_1``
    for small ``alpha`` (the sparse, minimum-l1 interpolator: the "rich" regime) and
    ``~ ||w||_2^2 / (4 alpha^2)`` for large ``alpha`` (the minimum-l2 interpolator,
    ``pinv(X) y``: the "kernel" regime). Small steps track the flow; the discrete iterates
    end within ``O(lr)`` of the flow's limit.

    Parameters
    ----------
    X : tensor (n, d)
        Design matrix.
    y : tensor (n,)
        Targets.
    init_scale : float or 1-D grid
        ``alpha > 0``.
    lr : float or 1-D grid matching ``init_scale``
        Step size ``> 0``. The curvature in ``w`` is about ``4 (|w| + 2 alpha^2)`` times that
        of the least-squares loss, so take ``lr ~ 1 / (4 lambda_max(X^T X / n) (max|w| + 2 alpha^2))``
        (large ``alpha`` needs a step ``~ 1/alpha^2``).
    steps : int
        Gradient steps, ``>= 0``. Small ``alpha`` learns coordinates one at a time (after
        ``~ log(1/alpha) / (lr |g_i|)`` steps each) and needs more steps.
    record_every : int
        Record every this many steps (the last step is always recorded).

    Returns
    -------
    DiagonalNetworkResult
        On ``X``'s device and dtype; see :class:`DiagonalNetworkResult`.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> X = torch.randn(20, 40, generator=gen, dtype=torch.float64)
    >>> w_true = torch.zeros(40, dtype=torch.float64); w_true[:2] = torch.tensor([1.0, -0.5])
    >>> res = diagonal_network_gd(X, X @ w_true, init_scale=[1e-3, 10.0], lr=[0.05, 2e-4], steps=3000)
    >>> [round(float(v), 2) for v in res.l1_norm[-1]]  # small alpha: sparse; large: dense
    [1.5, 3.52]
    >>> [round(float(v), 2) for v in res.weights[0, :3]]
    [1.0, -0.5, 0.0]
    >>> float((res.weights[1] - torch.linalg.pinv(X) @ X @ w_true).abs().max()) < 1e-6
    True
    """
    X, y = _check_xy(X, y)
    n, d = X.shape
    alpha, scalar = _scale_grid(init_scale, "init_scale", X)
    steps_lr, lr_scalar = _scale_grid(lr, "lr", X)
    if not lr_scalar and steps_lr.numel() != alpha.numel():
        raise ValueError(
            f"lr has {steps_lr.numel()} values but init_scale has {alpha.numel()}: pass one lr, "
            "or one per init scale."
        )
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)
    B = alpha.numel()
    eta = steps_lr.expand(B).reshape(B, 1)
    rec = _recorded_steps(steps, record_every)
    n_rec = len(rec)
    check_memory(
        n_rec * B * d * itemsize(X.dtype), X.device, name="diagonal_network_gd",
        what=f"the history of w ({n_rec} records of {B} x {d})",
        alternative="Record less often (a larger record_every).",
    )
    hist = torch.empty(n_rec, B, d, device=X.device, dtype=X.dtype)
    losses = torch.empty(n_rec, B, device=X.device, dtype=X.dtype)
    u = alpha.reshape(B, 1).expand(B, d).clone()
    v = u.clone()
    j = 0
    with single_thread_if_small(4.0 * B * n * d, X.device), torch.no_grad():
        for t in range(steps + 1):
            w = u * u - v * v
            res = w @ X.T - y  # (B, n)
            if t == rec[j]:
                hist[j] = w
                losses[j] = (res * res).sum(-1) / (2 * n)
                j += 1
            if t == steps:
                break
            g = (res @ X) / n
            u = u - (2 * eta) * u * g
            v = v + (2 * eta) * v * g
    bad = ~torch.isfinite(losses)
    if bool(bad.any()):
        i_rec, i_b = (int(i) for i in torch.nonzero(bad)[0])
        raise FloatingPointError(
            f"diagonal_network_gd diverged for init_scale={float(alpha[i_b]):.3g} (lr="
            f"{float(eta[i_b]):.3g}) by step {rec[i_rec]}: lower lr, about "
            "1 / (4 lambda_max(X^T X / n) (max|w| + 2 init_scale^2))."
        )
    if scalar:
        hist, losses, alpha_out = hist[:, 0], losses[:, 0], alpha[0]
    else:
        alpha_out = alpha
    return DiagonalNetworkResult(
        weights=hist[-1].clone(),
        history=hist,
        loss=losses,
        l1_norm=hist.abs().sum(-1),
        steps=torch.tensor(rec, dtype=torch.int64, device=X.device),
        init_scale=alpha_out,
    )


def diagonal_network_potential(w: torch.Tensor, init_scale: float) -> torch.Tensor:
    """The implicit regularizer of :func:`diagonal_network_gd`, ``Q_alpha(w)`` (Woodworth et al. 2020).

    ``Q_alpha(w) = sum_i [ w_i arcsinh(w_i / (2 alpha^2)) - sqrt(w_i^2 + 4 alpha^4) + 2 alpha^2 ]``
    ``= alpha^2 sum_i q(w_i / alpha^2)`` with ``q(z) = 2 - sqrt(4 + z^2) + z arcsinh(z / 2)``,

    summed over the last dim. Its gradient is ``arcsinh(w / (2 alpha^2))``; gradient flow
    from ``u = v = alpha`` converges to ``argmin Q_alpha(w)`` subject to ``X w = y``.
    Limits: ``Q_alpha(w) / log(1/alpha^2) -> ||w||_1`` as ``alpha -> 0`` and
    ``4 alpha^2 Q_alpha(w) -> ||w||_2^2`` as ``alpha -> inf``.

    Examples
    --------
    >>> w = torch.tensor([1.0, -0.5, 0.0], dtype=torch.float64)
    >>> round(float(diagonal_network_potential(w, 1e-8) / math.log(1e16)), 2)  # ~ ||w||_1 = 1.5
    1.45
    >>> round(float(4 * 100.0**2 * diagonal_network_potential(w, 100.0)), 6)  # ~ ||w||_2^2
    1.25
    """
    w = _check_tensor(w, "w")
    a = check_real(init_scale, "init_scale", strict=True)
    a2 = a * a
    if a2 == 0.0:
        raise ValueError(f"init_scale={a} underflows when squared: use init_scale >= 1e-150.")
    # with z = w / (2 alpha^2): Q = 2 alpha^2 (z asinh z - (sqrt(1 + z^2) - 1))
    #                              = w asinh z - |w| |z| / (1 + sqrt(1 + z^2)),
    # free of the cancellation of +-2 alpha^2 (large alpha) and of overflow in z^2 (small alpha)
    z = w / (2 * a2)
    r = z.abs() / (1 + torch.hypot(torch.ones_like(z), z))
    return (w * torch.asinh(z) - w.abs() * r).sum(-1)


def diagonal_network_limit(
    X: torch.Tensor,
    y: torch.Tensor,
    init_scale,
    *,
    tol: float = 1e-12,
    max_iter: int = 200,
) -> torch.Tensor:
    """Where gradient flow on ``w = u*u - v*v`` from ``u = v = alpha`` ends: ``argmin Q_alpha``.

    Solves ``min Q_alpha(w)`` subject to ``X w = y`` (:func:`diagonal_network_potential`)
    through its dual: ``w(nu) = 2 alpha^2 sinh(X^T nu)`` with ``nu`` (n,) the minimizer of
    the smooth convex ``D(nu) = 2 alpha^2 sum_i cosh((X^T nu)_i) - y^T nu`` (its gradient
    is ``X w(nu) - y``), by Newton's method with backtracking; ``cosh`` and ``sinh`` are
    evaluated in the log domain so tiny ``alpha`` does not overflow. Between the two
    limits (l1 for small ``alpha``, l2 for large) this is the exact interpolator, the
    reference :func:`diagonal_network_gd` converges to as ``lr -> 0``.

    Parameters
    ----------
    X : tensor (n, d)
        With linearly independent rows (``n <= d``): an underdetermined problem.
    y : tensor (n,)
    init_scale : float or 1-D grid
        ``alpha > 0``.
    tol : float
        Stop when ``||X w - y|| <= tol ||y||``.
    max_iter : int
        Newton iterations per ``alpha`` (a ``RuntimeWarning`` if reached).

    Returns
    -------
    tensor ([B,] d)
        On ``X``'s device and dtype.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> X = torch.randn(20, 40, generator=gen, dtype=torch.float64)
    >>> w_true = torch.zeros(40, dtype=torch.float64); w_true[:2] = torch.tensor([1.0, -0.5])
    >>> w = diagonal_network_limit(X, X @ w_true, [1e-4, 0.3, 100.0])
    >>> [round(float(v), 3) for v in w.abs().sum(-1)]  # l1 norm grows with alpha
    [1.5, 2.985, 3.516]
    """
    X, y = _check_xy(X, y)
    n, d = X.shape
    alpha, scalar = _scale_grid(init_scale, "init_scale", X)
    tol = check_real(tol, "tol", strict=True)
    max_iter = check_int(max_iter, "max_iter", 1)
    if n > d:
        raise ValueError(
            f"X has n={n} rows and d={d} columns: the implicit-bias limit is for underdetermined "
            "problems (n <= d, X w = y has many solutions). With n > d gradient descent converges to "
            "the least-squares solution whatever init_scale."
        )
    rank = int(torch.linalg.matrix_rank(X))
    if rank < n:
        raise ValueError(
            f"X has rank {rank} < n={n}: its rows are linearly dependent, so X w = y is redundant or "
            "infeasible. Drop the dependent rows."
        )
    ynorm = float(torch.linalg.vector_norm(y))
    out = torch.empty(alpha.numel(), d, device=X.device, dtype=X.dtype)
    with single_thread_if_small(4.0 * n * n * d, X.device), torch.no_grad():
        for b, a in enumerate(alpha.tolist()):
            la = math.log(2.0 * a * a)  # log(2 alpha^2)

            def weights(z):  # 2 alpha^2 sinh(z), stable for tiny |z| and for huge alpha
                za = z.abs()
                return torch.sign(z) * 0.5 * torch.exp(za + la) * -torch.expm1(-2 * za)

            def curvature(z):  # 2 alpha^2 cosh(z)
                za = z.abs()
                return 0.5 * torch.exp(za + la) * (1 + torch.exp(-2 * za))

            def dual(nu):
                # 2 alpha^2 (cosh z - 1) = alpha^2 e^|z| (1 - e^-|z|)^2: no constant 2 alpha^2 d
                # term to swamp the differences the line search compares when alpha is large
                za = (X.T @ nu).abs()
                return float((0.5 * torch.exp(za + la) * torch.expm1(-za) ** 2).sum() - y @ nu)

            nu = torch.zeros(n, device=X.device, dtype=X.dtype)
            f = dual(nu)
            cap = 2.0 + max(0.0, -la) / 2
            rel = math.inf
            for _ in range(max_iter):
                z = X.T @ nu
                grad = X @ weights(z) - y
                rel = float(torch.linalg.vector_norm(grad)) / max(ynorm, 1e-300)
                if rel <= tol:
                    break
                step = torch.linalg.solve((X * curvature(z)) @ X.T, grad)
                dec = float(grad @ step)  # Newton decrement squared
                # |X^T nu| moves by at most `cap` per iteration (from nu = 0 a tiny alpha asks for
                # a step ~1/alpha^2, far past the optimum at |z| ~ log(1/alpha^2)), then Armijo
                t = min(1.0, cap / max(float((X.T @ step).abs().max()), 1e-300))
                for _halvings in range(60):
                    f_new = dual(nu - t * step)
                    if math.isfinite(f_new) and (
                        f_new <= f - 0.25 * t * dec
                        # near the optimum D changes by less than its rounding: take the step
                        or dec <= 1e-14 * max(abs(f), 1.0)
                    ):
                        break
                    t *= 0.5
                else:
                    break  # no decrease possible in this precision; reported below
                nu, f = nu - t * step, f_new
            z = X.T @ nu
            rel = float(torch.linalg.vector_norm(X @ weights(z) - y)) / max(ynorm, 1e-300)
            if rel > tol:
                warnings.warn(
                    f"diagonal_network_limit: Newton's method stopped for init_scale={a:.3g} with "
                    f"||X w - y|| / ||y|| = {rel:.2e} > tol={tol} (raise max_iter, now {max_iter}, "
                    "or loosen tol).",
                    RuntimeWarning,
                    stacklevel=2,
                )
            w = weights(X.T @ nu)
            out[b] = w
    return out[0] if scalar else out


def min_l1_interpolator(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``argmin ||w||_1`` subject to ``X w = y`` (basis pursuit), by linear programming.

    Writes ``w = p - q`` with ``p, q >= 0`` and solves ``min 1^T (p + q)`` s.t.
    ``X (p - q) = y`` with scipy's HiGHS (on the CPU in float64); the result is moved back
    to ``X``'s device and dtype. The ``alpha -> 0`` limit of :func:`diagonal_network_gd`.

    Examples
    --------
    >>> gen = torch.Generator().manual_seed(0)
    >>> X = torch.randn(20, 40, generator=gen, dtype=torch.float64)
    >>> w_true = torch.zeros(40, dtype=torch.float64); w_true[:2] = torch.tensor([1.0, -0.5])
    >>> w = min_l1_interpolator(X, X @ w_true)
    >>> bool(torch.allclose(w, w_true, atol=1e-8))  # sparse recovery
    True
    """
    from scipy.optimize import linprog

    X, y = _check_xy(X, y)
    n, d = X.shape
    a = X.detach().cpu().double().numpy()
    b = y.detach().cpu().double().numpy()
    res = linprog(
        np.ones(2 * d), A_eq=np.hstack([a, -a]), b_eq=b, bounds=(0, None), method="highs",
    )
    if res.status != 0:
        raise ValueError(
            f"min_l1_interpolator: the linear program failed ({res.message}); X w = y may have no "
            "solution (n > d, or y outside the range of X): check the problem is underdetermined."
        )
    w = res.x[:d] - res.x[d:]
    return torch.as_tensor(w, dtype=torch.float64).to(device=X.device, dtype=X.dtype)
