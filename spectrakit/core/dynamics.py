"""Training dynamics, compute layer: Hessian-vector products and the Hessian spectrum.

Torch only, unlabelled tensors in and out; the device and dtype of every result follow the
parameters (or the ``device``/``dtype`` passed for a bare operator). Random vectors are
drawn from a CPU ``torch.Generator`` seeded with ``seed`` and then moved to the device, so
a seeded call gives the same numbers on the CPU and on a GPU (up to rounding).

Functions
---------
flatten, unflatten      a list of parameter-shaped tensors <-> one flat vector
hvp                     one Hessian-vector product by double backprop
hvp_operator            a reusable matvec ``v -> H v`` (first backward done once)
lanczos                 top-k eigenpairs of a symmetric operator (full reorthogonalization)
hessian_top_eigenvalues lanczos on hvp_operator
hutchinson_trace        Rademacher estimate of tr(A) with its standard error
top_space_gradient_share  ||P_k g||^2 / ||g||^2 for an orthonormal basis of the top space
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import torch

__all__ = [
    "flatten",
    "unflatten",
    "hvp",
    "hvp_operator",
    "lanczos",
    "hessian_top_eigenvalues",
    "hutchinson_trace",
    "top_space_gradient_share",
]


# ------------------------------------------------------------------------------ helpers


def _check_params(params) -> list[torch.Tensor]:
    if isinstance(params, torch.Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params must be a list of tensors; got {type(params).__name__}.") from None
    if not params:
        raise ValueError("params is empty: pass the model's parameters, e.g. list(model.parameters()).")
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params[{i}] must be a torch.Tensor; got {type(p).__name__}.")
        if not p.is_floating_point():
            raise TypeError(f"params[{i}] must be floating point; got dtype {p.dtype}.")
        if not p.requires_grad:
            raise ValueError(
                f"params[{i}] does not require grad: Hessians are taken with respect to tensors "
                "with requires_grad=True (call p.requires_grad_() or pass model.parameters())."
            )
        if p.device != params[0].device or p.dtype != params[0].dtype:
            raise ValueError(
                f"params[{i}] is {p.dtype} on {p.device} but params[0] is {params[0].dtype} on "
                f"{params[0].device}: put every parameter on one device and dtype (model.to(...))."
            )
    return params


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            import numbers

            if not isinstance(value, numbers.Integral):
                raise TypeError
            value = int(value)
        except TypeError:
            raise TypeError(f"{name} must be an integer; got {value!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return value


def flatten(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate tensors into one flat vector (in order, each flattened row-major).

    Examples
    --------
    >>> flatten([torch.ones(2, 2), torch.zeros(3)])
    tensor([1., 1., 1., 1., 0., 0., 0.])
    """
    return torch.cat([t.reshape(-1) for t in tensors])


def unflatten(vector: torch.Tensor, like: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Split a flat vector into views shaped like ``like`` (the inverse of :func:`flatten`).

    Examples
    --------
    >>> [t.shape for t in unflatten(torch.arange(7.0), [torch.ones(2, 2), torch.zeros(3)])]
    [torch.Size([2, 2]), torch.Size([3])]
    """
    n = sum(t.numel() for t in like)
    if not isinstance(vector, torch.Tensor) or vector.ndim != 1 or vector.numel() != n:
        shape = tuple(vector.shape) if isinstance(vector, torch.Tensor) else type(vector).__name__
        raise ValueError(f"vector must be a 1-D tensor of length {n} (the parameter count); got {shape}.")
    out, start = [], 0
    for t in like:
        out.append(vector[start:start + t.numel()].view_as(t))
        start += t.numel()
    return out


def _scalar_loss(loss_fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable taking no arguments; got {type(loss_fn).__name__}.")
    loss = loss_fn()
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn() must return a scalar torch.Tensor; got {type(loss).__name__}.")
    if loss.numel() != 1:
        raise ValueError(
            f"loss_fn() must return a scalar loss; got shape {tuple(loss.shape)} "
            "(reduce it, e.g. with .mean() or .sum())."
        )
    if not loss.requires_grad:
        raise ValueError(
            "loss_fn() returned a loss that does not depend on params (it has no grad_fn): "
            "compute it from the parameters inside the closure, outside torch.no_grad()."
        )
    return loss.reshape(())


def _gradient_graph(loss_fn, params):
    """The gradient as a differentiable graph (first backward, create_graph=True)."""
    loss = _scalar_loss(loss_fn)
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for g in grads]


def _check_vector(v, n: int, like: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(v).__name__}.")
    if v.ndim != 1 or v.numel() != n:
        raise ValueError(f"{name} must be a flat vector of length {n} (the parameter count); got shape {tuple(v.shape)}.")
    if v.device != like.device:
        raise ValueError(f"{name} is on {v.device} but the parameters are on {like.device}: move it first.")
    return v.to(like.dtype)


def _make_matvec(grads, params, n):
    # second backward through the stored gradient graph; parameters the gradient does not
    # depend on (e.g. the last bias of a linear output under MSE) contribute zeros
    live = [i for i, g in enumerate(grads) if g.requires_grad]

    def matvec(v: torch.Tensor) -> torch.Tensor:
        v = _check_vector(v, n, params[0], "v")
        if not live:
            return torch.zeros_like(v)
        vs = unflatten(v.detach(), params)
        hv = torch.autograd.grad(
            [grads[i] for i in live], [params[i] for i in range(len(params))],
            grad_outputs=[vs[i] for i in live], retain_graph=True, allow_unused=True,
        )
        return flatten([torch.zeros_like(p) if h is None else h for h, p in zip(hv, params)]).detach()

    return matvec


# ------------------------------------------------------------------------------- public


def hvp(loss_fn: Callable[[], torch.Tensor], params, v: torch.Tensor) -> torch.Tensor:
    """Hessian-vector product ``H v`` of a scalar loss by double backprop.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the scalar loss, computed from ``params``.
    params : list of tensors
        The parameters (``requires_grad=True``, one device and dtype).
    v : tensor (n,)
        A flat vector, ``n`` the total parameter count (see :func:`flatten`).

    Returns
    -------
    tensor (n,)
        ``H v`` on the parameters' device and dtype, detached. Exact up to rounding (no
        finite differences). For many products with one loss use :func:`hvp_operator`,
        which does the forward pass and first backward once.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> hvp(lambda: (w**3).sum(), [w], torch.tensor([1.0, 1.0], dtype=torch.float64))
    tensor([ 6., 12.], dtype=torch.float64)
    """
    params = _check_params(params)
    n = sum(p.numel() for p in params)
    v = _check_vector(v, n, params[0], "v")
    return _make_matvec(_gradient_graph(loss_fn, params), params, n)(v)


def hvp_operator(loss_fn: Callable[[], torch.Tensor], params) -> tuple[Callable[[torch.Tensor], torch.Tensor], int]:
    """A reusable Hessian matvec: ``(matvec, n)`` with ``matvec(v) = H v``.

    The loss and its gradient graph are computed once, here; each ``matvec`` call is one
    backward pass through that graph (about the cost of one gradient). The graph holds
    the activations: drop the operator to free them. Parameters changed in place after
    this call are not seen: build a new operator after each optimizer step.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> matvec, n = hvp_operator(lambda: (w**3).sum(), [w])
    >>> n, matvec(torch.tensor([0.0, 1.0], dtype=torch.float64))
    (2, tensor([ 0., 12.], dtype=torch.float64))
    """
    params = _check_params(params)
    n = sum(p.numel() for p in params)
    return _make_matvec(_gradient_graph(loss_fn, params), params, n), n


def _default_tol(dtype: torch.dtype) -> float:
    return 1e-6 if dtype == torch.float64 else 1e-3


def _random_start(n, seed, device, dtype, gen=None):
    if gen is None:
        gen = torch.Generator()
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(int(seed))
    return torch.randn(n, generator=gen, dtype=torch.float64).to(device=device, dtype=dtype), gen


def lanczos(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    k: int,
    *,
    max_iter: int | None = None,
    tol: float | None = None,
    seed: int | None = None,
    device=None,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k (largest algebraic) eigenpairs of a symmetric operator by Lanczos.

    Parameters
    ----------
    matvec : callable
        ``matvec(v)`` returns ``A v`` for a flat vector ``v`` of length ``n``; ``A`` must be
        symmetric (a Hessian, a Gram matrix...). Called once per iteration.
    n : int
        The operator's size.
    k : int
        How many eigenpairs, ``1 <= k <= n``.
    max_iter : int, optional
        Most Krylov vectors kept (and matvecs); default ``min(n, max(20 k, 100))``. Memory
        is ``max_iter * n`` numbers.
    tol : float, optional
        Stop when every one of the k Ritz pairs has residual
        ``||A y - theta y|| <= tol * max|theta|``. Default 1e-6 in float64, 1e-3 otherwise.
    seed : int, optional
        Seeds the starting vector (drawn on the CPU, then moved): same seed, same result.
    device, dtype
        Where and in what the Krylov basis lives (default CPU, float64); ``matvec`` is
        called with vectors of this device and dtype.

    Returns
    -------
    eigenvalues : tensor (k,)
        Largest first.
    eigenvectors : tensor (n, k)
        Orthonormal columns, matching ``eigenvalues``.

    Notes
    -----
    Every new Lanczos vector is orthogonalized against all earlier ones (classical
    Gram-Schmidt, twice), so no spurious copies appear; the cost per iteration beyond the
    matvec is ``O(j n)``, negligible for the small k this is meant for. The residual of
    each Ritz pair is read off the tridiagonal matrix (``|beta_j s_{j,i}|``) at no matvec.

    Accuracy: a Ritz value with residual ``r`` lies within ``r`` of a true eigenvalue, and
    within ``r**2 / gap`` when it is separated from the rest of the spectrum by ``gap``,
    so the eigenvalues are typically far more accurate than ``tol`` (about 1e-12 relative
    in float64 at the default ``tol``) and the eigenvectors within about ``r / gap`` in
    angle. A single-vector Krylov method sees an exactly repeated eigenvalue once until
    the Krylov space is exhausted, so an exactly repeated top eigenvalue may be returned
    once followed by the next one (rounding usually brings the copy in later); random
    Hessians practically never have exact repeats. If ``max_iter`` is reached first a
    ``RuntimeWarning`` gives the residuals and the best estimates are returned.

    Examples
    --------
    >>> A = torch.diag(torch.arange(1.0, 11.0, dtype=torch.float64))
    >>> vals, vecs = lanczos(lambda v: A @ v, 10, 3, seed=0)
    >>> [round(float(x), 8) for x in vals]
    [10.0, 9.0, 8.0]
    >>> vecs.shape
    torch.Size([10, 3])
    """
    if not callable(matvec):
        raise TypeError(f"matvec must be a callable v -> A v; got {type(matvec).__name__}.")
    n = _check_int(n, "n", 1)
    k = _check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= n (the operator size {n}); got k={k}.")
    device = torch.device("cpu" if device is None else device)
    dtype = torch.float64 if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype; got {dtype}.")
    m_max = min(n, max(20 * k, 100)) if max_iter is None else _check_int(max_iter, "max_iter", 1)
    m_max = min(m_max, n)
    if m_max < k:
        raise ValueError(f"max_iter must be >= k ({k}) to find k eigenpairs; got {max_iter}.")
    tol = _default_tol(dtype) if tol is None else float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive finite number; got {tol}.")
    eps = torch.finfo(dtype).eps

    Q = torch.empty(m_max, n, device=device, dtype=dtype)
    q, gen = _random_start(n, seed, device, dtype)
    q = q / torch.linalg.vector_norm(q)
    alphas: list[float] = []
    betas: list[float] = []  # betas[j] couples vector j and j+1
    anorm = 0.0
    theta = S = None
    res = None
    m = 0
    for j in range(m_max):
        Q[j] = q
        w = matvec(q)
        if not isinstance(w, torch.Tensor) or w.shape != (n,):
            got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
            raise ValueError(f"matvec must return a flat tensor of length {n}; got {got}.")
        w = w.to(device=device, dtype=dtype)
        Qj = Q[: j + 1]
        alpha = float(torch.dot(q, w))
        for _ in range(2):  # full reorthogonalization, twice is enough
            w = w - Qj.T @ (Qj @ w)
        beta = float(torch.linalg.vector_norm(w))
        if not (math.isfinite(alpha) and math.isfinite(beta)):
            raise ValueError(f"matvec returned non-finite values at iteration {j}: check the operator (loss).")
        alphas.append(alpha)
        anorm = max(anorm, abs(alpha) + beta + (betas[-1] if betas else 0.0))
        m = j + 1
        if m >= k:
            T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
            if m > 1:
                off = torch.tensor(betas, dtype=torch.float64)
                T += torch.diag(off, 1) + torch.diag(off, -1)
            theta, S = torch.linalg.eigh(T)  # ascending
            theta, S = theta.flip(0)[:k], S.flip(1)[:, :k]
            res = (beta * S[-1]).abs()
            scale = float(theta.abs().max())
            if bool((res <= tol * scale).all()) or m == m_max:
                break
        if beta <= 10 * eps * max(anorm, 1.0) * math.sqrt(n):
            # invariant subspace found: continue with a fresh random direction orthogonal
            # to it (T becomes block diagonal; the coupling beta is exactly 0)
            w, _ = _random_start(n, None, device, dtype, gen)
            for _ in range(2):
                w = w - Qj.T @ (Qj @ w)
            beta = 0.0
            norm = float(torch.linalg.vector_norm(w))
            q = w / norm
        else:
            q = w / beta
        betas.append(beta)
    else:  # pragma: no cover - the loop always breaks at m == m_max
        pass

    if res is not None and not bool((res <= tol * max(float(theta.abs().max()), 0.0)).all()) and m < n:
        warnings.warn(
            f"lanczos stopped at max_iter={m_max} before converging: largest relative Ritz residual "
            f"{float(res.max()) / max(float(theta.abs().max()), 1e-300):.2e} > tol={tol:.1e}. "
            "Raise max_iter (or tol); the estimates returned are the best so far.",
            RuntimeWarning,
            stacklevel=2,
        )
    vectors = Q[:m].T @ S.to(device=device, dtype=dtype)
    return theta.to(device=device, dtype=dtype), vectors


def hessian_top_eigenvalues(
    loss_fn: Callable[[], torch.Tensor],
    params,
    k: int = 5,
    *,
    max_iter: int | None = None,
    tol: float | None = None,
    seed: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k Hessian eigenvalues and eigenvectors of a scalar loss, by :func:`lanczos` on
    Hessian-vector products (the gradient graph is built once).

    Returns ``(eigenvalues (k,), eigenvectors (n, k))``, largest first, on the parameters'
    device and dtype; eigenvectors are flat (:func:`unflatten` gives parameter shapes).
    See :func:`lanczos` for ``max_iter``, ``tol``, ``seed`` and the accuracy.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    >>> vals, vecs = hessian_top_eigenvalues(lambda: (w**4).sum() / 12, [w], k=2, seed=0)
    >>> [round(float(x), 8) for x in vals]
    [9.0, 4.0]
    """
    params = _check_params(params)
    n = sum(p.numel() for p in params)
    k = _check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= the parameter count ({n}); got k={k}.")
    matvec, n = hvp_operator(loss_fn, params)
    return lanczos(matvec, n, k, max_iter=max_iter, tol=tol, seed=seed,
                   device=params[0].device, dtype=params[0].dtype)


def hutchinson_trace(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    n: int,
    *,
    n_samples: int = 100,
    seed: int | None = None,
    device=None,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hutchinson's estimate of ``tr(A)`` from Rademacher probes: ``mean(z^T A z)``.

    Returns ``(estimate, standard_error)`` as 0-d tensors on ``device`` (default CPU,
    float64). The standard error is the sample standard deviation over ``sqrt(n_samples)``
    (0 for ``n_samples = 1``: no spread can be measured). Each probe's variance is
    ``2 * sum_{i != j} A_ij**2``, so the estimate is exact for a diagonal ``A``. Probes are
    drawn on the CPU from ``seed`` then moved, so a seeded call repeats exactly.

    Examples
    --------
    >>> d = torch.arange(1.0, 6.0, dtype=torch.float64)
    >>> est, se = hutchinson_trace(lambda v: d * v, 5, n_samples=10, seed=0)
    >>> float(est), float(se)
    (15.0, 0.0)
    """
    if not callable(matvec):
        raise TypeError(f"matvec must be a callable v -> A v; got {type(matvec).__name__}.")
    n = _check_int(n, "n", 1)
    n_samples = _check_int(n_samples, "n_samples", 1)
    device = torch.device("cpu" if device is None else device)
    dtype = torch.float64 if dtype is None else dtype
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    values = []
    for _ in range(n_samples):
        z = (torch.randint(0, 2, (n,), generator=gen) * 2 - 1).to(device=device, dtype=dtype)
        az = matvec(z)
        if not isinstance(az, torch.Tensor) or az.shape != (n,):
            got = tuple(az.shape) if isinstance(az, torch.Tensor) else type(az).__name__
            raise ValueError(f"matvec must return a flat tensor of length {n}; got {got}.")
        values.append(torch.dot(z, az.to(device=device, dtype=dtype)))
    values = torch.stack(values)
    est = values.mean()
    if n_samples > 1:
        se = values.std(correction=1) / math.sqrt(n_samples)
    else:
        se = torch.zeros((), device=device, dtype=dtype)
    return est, se


def top_space_gradient_share(grad: torch.Tensor, eigenvectors: torch.Tensor) -> torch.Tensor:
    """Share of the gradient in the span of ``eigenvectors``: ``||V^T g||^2 / ||g||^2``.

    ``eigenvectors`` (n, k) must have orthonormal columns (as :func:`lanczos` returns).
    The result, a 0-d tensor, lies in [0, 1] (clamped against rounding); it is NaN when
    the gradient is exactly zero (no direction to share).

    Examples
    --------
    >>> V = torch.eye(3, dtype=torch.float64)[:, :1]
    >>> top_space_gradient_share(torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64), V)
    tensor(0.5000, dtype=torch.float64)
    """
    if not isinstance(grad, torch.Tensor):
        raise TypeError(f"grad must be a torch.Tensor; got {type(grad).__name__}.")
    if not isinstance(eigenvectors, torch.Tensor):
        raise TypeError(f"eigenvectors must be a torch.Tensor; got {type(eigenvectors).__name__}.")
    grad = grad.reshape(-1) if grad.ndim != 1 else grad
    if eigenvectors.ndim == 1:
        eigenvectors = eigenvectors[:, None]
    if eigenvectors.ndim != 2 or eigenvectors.shape[0] != grad.numel():
        raise ValueError(
            f"eigenvectors must have shape (n, k) with n = {grad.numel()} (the length of grad); "
            f"got {tuple(eigenvectors.shape)}."
        )
    if eigenvectors.device != grad.device:
        raise ValueError(f"eigenvectors is on {eigenvectors.device} but grad is on {grad.device}: move one.")
    eigenvectors = eigenvectors.to(grad.dtype)
    gg = torch.dot(grad, grad)
    proj = eigenvectors.T @ grad
    share = torch.dot(proj, proj) / gg
    return share.clamp(0.0, 1.0) if bool(gg > 0) else share
