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
perturbed_gradient      the gradient at w + rho g/||g|| (SAM) or w + rho g (USAM)
gradient_penalty_gradient  g + rho H g, the gradient of L + rho/2 ||grad L||^2 (finite difference)
GradientEMAFilter       Grokfast-EMA: g -> g + lamb * EMA(g)
ema_filter_response     its transfer function H(f) (cycles per step)
jacobian                the (N, P) Jacobian of a flat output vector w.r.t. the parameters
empirical_ntk           J J^T, the empirical neural tangent kernel (N, N)
ntk_eigen               its eigenvalues (descending) and sign-fixed eigenvectors
training_jacobian       d w_T / d w_0 through an unrolled training map
stability_threshold     the largest stable curvature for GD (2/lr), USAM and gradient penalty

Functions that perturb the parameters (``perturbed_gradient``,
``gradient_penalty_gradient``) change them in place while they evaluate the loss and copy
the saved values back afterwards, bit for bit, even when ``loss_fn`` raises.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from typing import Callable, Sequence

import torch

from .checks import check_int, check_memory, check_real, itemsize

__all__ = [
    "flatten",
    "unflatten",
    "hvp",
    "hvp_operator",
    "lanczos",
    "hessian_top_eigenvalues",
    "hutchinson_trace",
    "top_space_gradient_share",
    "perturbed_gradient",
    "gradient_penalty_gradient",
    "GradientEMAFilter",
    "ema_filter_response",
    "jacobian",
    "empirical_ntk",
    "ntk_eigen",
    "training_jacobian",
    "stability_threshold",
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
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


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
    n = check_int(n, "n", 1)
    k = check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= n (the operator size {n}); got k={k}.")
    device = torch.device("cpu" if device is None else device)
    dtype = torch.float64 if dtype is None else dtype
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype; got {dtype}.")
    m_max = min(n, max(20 * k, 100)) if max_iter is None else check_int(max_iter, "max_iter", 1)
    m_max = min(m_max, n)
    if m_max < k:
        raise ValueError(f"max_iter must be >= k ({k}) to find k eigenpairs; got {max_iter}.")
    tol = _default_tol(dtype) if tol is None else check_real(tol, "tol", strict=True)
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
    k = check_int(k, "k", 1)
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
    n = check_int(n, "n", 1)
    n_samples = check_int(n_samples, "n_samples", 1)
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


# ---------------------------------------------------------- sharpness-aware gradients


def _loss_and_grad(loss_fn, params) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, flat gradient) at the current parameters, both detached."""
    loss = _scalar_loss(loss_fn)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return loss.detach(), flatten([torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)])


@contextlib.contextmanager
def _perturbed(params, delta: torch.Tensor):
    """Add the flat ``delta`` to ``params`` in place; restore the saved values on exit."""
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for p, d in zip(params, unflatten(delta, params)):
                p.add_(d)
        yield
    finally:
        # copy back, never subtract: (w + d) - d is not w in floating point
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)


def perturbed_gradient(
    loss_fn: Callable[[], torch.Tensor], params, rho: float, *, normalize: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient at an ascent-perturbed point: SAM (Foret et al. 2021) and USAM.

    With ``g = grad L(w)`` this returns ``grad L(w + rho g / ||g||)`` (``normalize=True``,
    sharpness-aware minimization) or ``grad L(w + rho g)`` (``normalize=False``,
    unnormalized SAM). To first order in ``rho`` the USAM gradient is ``g + rho H g``, the
    gradient of ``L + (rho/2) ||grad L||^2`` (see :func:`gradient_penalty_gradient`); on a
    quadratic the two are equal.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the scalar loss, computed from ``params``. Called twice.
    params : list of tensors
        The parameters (``requires_grad=True``, one device and dtype). They are moved to
        the perturbed point in place for the second call and restored exactly afterwards
        (the saved values are copied back), also when ``loss_fn`` raises.
    rho : float
        The perturbation radius, ``>= 0``; ``rho = 0`` gives the plain gradient.
    normalize : bool
        Scale the ascent step to length ``rho`` (SAM) or not (USAM).

    Returns
    -------
    loss : tensor ()
        ``L(w)``, detached.
    grad : tensor (n,)
        The flat gradient at the perturbed point, on the parameters' device and dtype
        (:func:`unflatten` gives parameter shapes). If ``g = 0`` there is no ascent
        direction and the plain gradient (zero) is returned.

    Examples
    --------
    >>> w = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    >>> loss, g = perturbed_gradient(lambda: (w**2).sum() / 2, [w], 5.0)  # w + 5 g/||g||
    >>> loss, g
    (tensor(12.5000, dtype=torch.float64), tensor([6., 8.], dtype=torch.float64))
    >>> perturbed_gradient(lambda: (w**2).sum() / 2, [w], 0.5, normalize=False)[1]  # w + 0.5 g
    tensor([4.5000, 6.0000], dtype=torch.float64)
    >>> w  # restored
    tensor([3., 4.], dtype=torch.float64, requires_grad=True)
    """
    params = _check_params(params)
    rho = check_real(rho, "rho")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True (SAM) or False (USAM); got {normalize!r}.")
    loss, g = _loss_and_grad(loss_fn, params)
    norm = torch.linalg.vector_norm(g)
    if rho == 0 or not bool(norm > 0):
        return loss, g
    with _perturbed(params, rho * g / norm if normalize else rho * g):
        return loss, _loss_and_grad(loss_fn, params)[1]


def gradient_penalty_gradient(
    loss_fn: Callable[[], torch.Tensor], params, rho: float, *, eps: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient of ``L + (rho/2) ||grad L||^2``, i.e. ``g + rho H g``, by a finite difference.

    ``H g`` is the forward difference of the gradient along the unit gradient
    ``u = g / ||g||`` (finite-difference gradient regularization, Karakida et al. 2023):

    ``H g ~ (grad L(w + eps u) - g) * ||g|| / eps``

    two gradient evaluations and no double backprop. The error is ``O(eps)`` (third
    derivatives) plus rounding ``O(machine epsilon * ||g|| / eps)``; :func:`hvp` gives the
    exact ``H g`` at the cost of a second-order backward.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn()`` returns the scalar loss, computed from ``params``. Called twice.
    params : list of tensors
        The parameters (``requires_grad=True``, one device and dtype); moved in place for
        the second call and restored exactly afterwards, also when ``loss_fn`` raises.
    rho : float
        The penalty strength, ``>= 0``; ``rho = 0`` gives the plain gradient.
    eps : float, optional
        The difference step (a distance in parameter space), ``> 0``. Default
        ``sqrt(machine epsilon) * (1 + ||w||)`` in the parameters' dtype: about
        ``1.5e-8 * (1 + ||w||)`` in float64 and ``3.5e-4 * (1 + ||w||)`` in float32, which
        gives ``H g`` to about ``sqrt(machine epsilon)`` relative on smooth losses.

    Returns
    -------
    loss : tensor ()
        ``L(w)``, detached.
    grad : tensor (n,)
        ``g + rho H g`` (flat), on the parameters' device and dtype. If ``g = 0`` it is
        ``g`` (``H g = 0``).

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> loss, g = gradient_penalty_gradient(lambda: (w**3).sum() / 3, [w], 0.1)
    >>> [round(float(x), 6) for x in g]  # w^2 + 0.1 * 2w * w^2
    [1.2, 5.6]
    """
    params = _check_params(params)
    rho = check_real(rho, "rho")
    if eps is not None:
        eps = check_real(eps, "eps", strict=True)
    loss, g = _loss_and_grad(loss_fn, params)
    norm = torch.linalg.vector_norm(g)
    if rho == 0 or not bool(norm > 0):
        return loss, g
    if eps is None:
        # the usual Jacobian-free step (Knoll & Keyes 2004): sqrt(machine eps) balances the
        # O(eps) truncation error against the O(machine eps / eps) cancellation error, and
        # the (1 + ||w||) factor keeps the step above the rounding of w + eps u itself
        w_norm = float(torch.linalg.vector_norm(flatten([p.detach() for p in params])))
        eps = math.sqrt(torch.finfo(g.dtype).eps) * (1.0 + w_norm)
    with _perturbed(params, eps * g / norm):
        g_eps = _loss_and_grad(loss_fn, params)[1]
    return loss, g + rho * (g_eps - g) * (norm / eps)


def stability_threshold(lr: float, rho: float = 0.0) -> float:
    """The largest curvature at which (USAM-/penalty-) gradient descent is linearly stable.

    On a quadratic with curvature ``lambda`` (a Hessian eigenvalue) gradient descent with
    step ``lr`` multiplies the error along that eigenvector by ``1 - lr lambda`` per step;
    unnormalized SAM (:func:`perturbed_gradient` with ``normalize=False``) and the gradient
    penalty (:func:`gradient_penalty_gradient`) with radius ``rho`` by
    ``1 - lr lambda (1 + rho lambda)``. The iteration is stable while the factor lies in
    [-1, 1], i.e. up to the positive root of ``lr lambda (1 + rho lambda) = 2``:

    ``lambda* = 2 / lr`` (``rho = 0``), ``lambda* = (sqrt(1 + 8 rho / lr) - 1) / (2 rho)``

    (computed as ``4 / (lr (1 + sqrt(1 + 8 rho / lr)))``, without cancellation for small
    ``rho``). Normalized SAM has no such threshold: its step does not shrink with ``w``.

    Parameters
    ----------
    lr : float
        The learning rate, ``> 0``.
    rho : float
        The USAM radius or the penalty strength, ``>= 0``.

    Returns
    -------
    float
        ``lambda*``, in the units of the loss's curvature (1 / lr).

    Examples
    --------
    >>> stability_threshold(0.1)
    20.0
    >>> round(stability_threshold(0.1, rho=0.05), 4)
    12.3607
    """
    lr = check_real(lr, "lr", strict=True)
    rho = check_real(rho, "rho")
    if rho == 0:
        return 2.0 / lr
    return 4.0 / (lr * (1.0 + math.sqrt(1.0 + 8.0 * rho / lr)))


# ---------------------------------------------------------------- gradient filtering


def _check_alpha_lamb(alpha, lamb) -> tuple[float, float]:
    alpha = check_real(alpha, "alpha")
    if alpha >= 1:
        raise ValueError(
            f"alpha must be < 1 (the EMA remembers about 1/(1 - alpha) steps); got {alpha}. "
            "Grokfast uses 0.98."
        )
    return alpha, check_real(lamb, "lamb")


class GradientEMAFilter:
    """Grokfast-EMA (Lee et al. 2024): amplify the slow part of the gradient sequence.

    Each call takes the current gradient ``g_t`` and returns ``g_t + lamb * h_t``, where
    ``h`` is an exponential moving average of the gradients: ``h_1 = g_1`` on the first
    call, then ``h_t = alpha h_{t-1} + (1 - alpha) g_t`` (as in the Grokfast reference
    code). In steady state this is the linear filter of :func:`ema_filter_response`: gain
    ``1 + lamb`` at frequency 0, falling towards ``1 + lamb (1 - alpha) / (1 + alpha)`` at
    the highest frequency (0.5 cycles per step).

    Parameters
    ----------
    alpha : float
        The EMA's momentum, ``0 <= alpha < 1`` (memory about ``1 / (1 - alpha)`` steps).
    lamb : float
        The amplification, ``>= 0`` (``0`` returns the gradient unchanged).

    Attributes
    ----------
    ema : tensor or None
        ``h``, detached, with the gradient's shape, device and dtype; ``None`` before the
        first call and after :meth:`reset`.

    Examples
    --------
    >>> f = GradientEMAFilter(alpha=0.5, lamb=2.0)
    >>> f(torch.tensor([1.0, 0.0]))  # first call: h = g, so g + 2 g
    tensor([3., 0.])
    >>> f(torch.tensor([0.0, 1.0]))  # h = 0.5 [1, 0] + 0.5 [0, 1]
    tensor([1., 2.])
    >>> f.ema
    tensor([0.5000, 0.5000])
    """

    def __init__(self, alpha: float = 0.98, lamb: float = 2.0):
        self.alpha, self.lamb = _check_alpha_lamb(alpha, lamb)
        self.ema: torch.Tensor | None = None

    def __repr__(self) -> str:
        return f"GradientEMAFilter(alpha={self.alpha}, lamb={self.lamb})"

    def reset(self) -> None:
        """Forget the average: the next call starts again with ``h = g``."""
        self.ema = None

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        if not isinstance(grad, torch.Tensor) or not grad.is_floating_point():
            got = grad.dtype if isinstance(grad, torch.Tensor) else type(grad).__name__
            raise TypeError(f"grad must be a floating-point torch.Tensor (a flat gradient); got {got}.")
        g = grad.detach()
        if self.ema is None:
            self.ema = g.clone()
        else:
            ema = self.ema
            if g.shape != ema.shape or g.device != ema.device or g.dtype != ema.dtype:
                raise ValueError(
                    f"grad is {tuple(g.shape)} {g.dtype} on {g.device} but the running average is "
                    f"{tuple(ema.shape)} {ema.dtype} on {ema.device}: pass gradients of one shape, "
                    "device and dtype, or call reset() first."
                )
            self.ema = self.alpha * ema + (1.0 - self.alpha) * g
        return grad + self.lamb * self.ema


def ema_filter_response(freq, alpha: float, lamb: float) -> torch.Tensor:
    """Transfer function of the steady-state Grokfast-EMA filter ``g -> g + lamb * EMA(g)``.

    ``H(f) = 1 + lamb (1 - alpha) / (1 - alpha exp(-2 pi i f))``

    with ``f`` in cycles per optimizer step (period ``1/f`` steps; ``|f| <= 0.5`` is the
    Nyquist range). A gradient sequence ``g_t = cos(2 pi f t)`` leaves
    :class:`GradientEMAFilter`, once the start-up transient (``~ alpha^t``) has died out,
    as ``|H(f)| cos(2 pi f t + arg H(f))``. ``|H(0)| = 1 + lamb``; ``|H|`` decreases with
    ``|f|`` to ``1 + lamb (1 - alpha) / (1 + alpha)`` at ``f = 0.5``.

    Parameters
    ----------
    freq : float or tensor
        Frequencies in cycles per step. A float (or integer tensor) computes in float64; a
        floating tensor keeps its device and dtype.
    alpha, lamb : float
        As in :class:`GradientEMAFilter`.

    Returns
    -------
    tensor
        Complex, with ``freq``'s shape (complex128 for float64).

    Examples
    --------
    >>> ema_filter_response(0.0, alpha=0.98, lamb=2.0)
    tensor(3.+0.j, dtype=torch.complex128)
    >>> round(float(ema_filter_response(0.5, alpha=0.98, lamb=2.0).abs()), 4)  # 1 + 2 (0.02 / 1.98)
    1.0202
    """
    alpha, lamb = _check_alpha_lamb(alpha, lamb)
    if isinstance(freq, torch.Tensor):
        f = freq if freq.is_floating_point() else freq.to(torch.float64)
    elif isinstance(freq, numbers.Real) and not isinstance(freq, bool):
        f = torch.tensor(float(freq), dtype=torch.float64)
    else:
        raise TypeError(
            f"freq must be a float or a tensor of frequencies (cycles per step); got {type(freq).__name__}."
        )
    if not bool(torch.isfinite(f).all()):
        raise ValueError("freq has non-finite values (NaN or inf): pass frequencies in cycles per step.")
    z = torch.polar(torch.ones_like(f), -2 * math.pi * f)  # exp(-2 pi i f)
    return 1 + lamb * (1 - alpha) / (1 - alpha * z)


# ------------------------------------------------------------ Jacobians and the NTK


def _vjp_rows(out: torch.Tensor, inputs, *, batched: bool = True) -> torch.Tensor:
    """The (N, P) Jacobian of the flat ``out`` w.r.t. ``inputs`` by reverse mode, one row per
    output: all rows in one vmapped backward, or one backward per row."""
    n = out.numel()
    eye = torch.eye(n, device=out.device, dtype=out.dtype)

    def flat(grads, lead):
        return torch.cat([torch.zeros(*lead, x.numel(), device=x.device, dtype=x.dtype) if g is None
                          else g.reshape(*lead, -1) for g, x in zip(grads, inputs)], dim=-1)

    if batched:
        try:
            grads = torch.autograd.grad(out, inputs, grad_outputs=eye, retain_graph=True,
                                        allow_unused=True, is_grads_batched=True)
            return flat(grads, (n,))
        except (RuntimeError, NotImplementedError):
            pass  # an operation vmap cannot batch: fall back to one backward per row
    return torch.stack([flat(torch.autograd.grad(out, inputs, grad_outputs=eye[i], retain_graph=True,
                                                 allow_unused=True), ()) for i in range(n)])


def _jacobian(outputs_fn, params, name: str, ntk: bool) -> torch.Tensor:
    params = _check_params(params)
    if not callable(outputs_fn):
        raise TypeError(f"outputs_fn must be a callable taking no arguments; got {type(outputs_fn).__name__}.")
    out = outputs_fn()
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        got = out.dtype if isinstance(out, torch.Tensor) else type(out).__name__
        raise TypeError(f"outputs_fn() must return a floating-point torch.Tensor (the model outputs); got {got}.")
    if out.numel() == 0:
        raise ValueError("outputs_fn() returned an empty tensor: evaluate the model on at least one point.")
    if not out.requires_grad:
        raise ValueError(
            "outputs_fn() returned outputs that do not depend on params (no grad_fn): compute "
            "them from the parameters inside the closure, outside torch.no_grad()."
        )
    n, p = out.numel(), sum(q.numel() for q in params)
    nbytes = (n * p + (2 if ntk else 1) * n * n) * itemsize(params[0].dtype)
    check_memory(
        nbytes, params[0].device, name=name,
        what=f"the {n} x {p} Jacobian ({n} outputs, {p} parameters)" + (f" and the {n} x {n} kernel" if ntk else ""),
        alternative="Evaluate the model on fewer points (outputs), or differentiate fewer parameters.",
    )
    return _vjp_rows(out.reshape(-1), params).to(device=params[0].device, dtype=params[0].dtype)


def jacobian(outputs_fn: Callable[[], torch.Tensor], params) -> torch.Tensor:
    """The Jacobian ``J[i, j] = d f_i / d w_j`` of the model outputs w.r.t. the parameters.

    Parameters
    ----------
    outputs_fn : callable
        ``outputs_fn()`` returns the outputs ``f`` computed from ``params``, any shape;
        they are flattened row-major to ``N`` values (for ``N`` points and ``C`` outputs
        per point, ``N*C`` rows, point-major).
    params : list of tensors
        The parameters (``requires_grad=True``, one device and dtype), flattened in order
        as by :func:`flatten` to ``P`` columns.

    Returns
    -------
    tensor (N, P)
        On the parameters' device and dtype. All rows come from one vmapped backward
        pass (``is_grads_batched``), or one backward per row where an operation cannot
        be batched. A ``MemoryError`` naming the size is raised before allocating when
        ``N * P`` (plus ``N * N`` for the batched backward) numbers do not fit.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 3.0]], dtype=torch.float64)
    >>> jacobian(lambda: x @ w, [w])  # a linear model: J = x
    tensor([[1., 0.],
            [1., 1.],
            [0., 3.]], dtype=torch.float64)
    """
    return _jacobian(outputs_fn, params, "jacobian", ntk=False)


def empirical_ntk(outputs_fn: Callable[[], torch.Tensor], params) -> torch.Tensor:
    """The empirical neural tangent kernel ``K = J J^T`` (N, N) at the current parameters.

    ``K[a, b] = <d f_a / d w, d f_b / d w>`` (symmetrized exactly): how a gradient step on output ``b`` moves
    output ``a``. Under gradient flow on the squared loss the residual evolves as
    ``dr/dt = -K r``, so its eigenvectors (:func:`ntk_eigen`) are learned at rates given by
    the eigenvalues. See :func:`jacobian` for ``outputs_fn``, ``params`` and memory.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    >>> empirical_ntk(lambda: x @ w, [w])  # x x^T for a linear model
    tensor([[1., 1.],
            [1., 2.]], dtype=torch.float64)
    """
    J = _jacobian(outputs_fn, params, "empirical_ntk", ntk=True)
    K = J @ J.T
    return (K + K.T) / 2  # exactly symmetric (the product is only up to rounding)


def ntk_eigen(
    outputs_fn: Callable[[], torch.Tensor], params, k: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues and eigenvectors of the empirical NTK (:func:`empirical_ntk`).

    Parameters
    ----------
    outputs_fn, params
        As in :func:`jacobian`.
    k : int, optional
        How many (the largest), ``1 <= k <= N``; default all ``N``.

    Returns
    -------
    eigenvalues : tensor (k,)
        Descending (``>= 0`` up to rounding: ``K`` is a Gram matrix).
    eigenvectors : tensor (N, k)
        Orthonormal columns (by ``torch.linalg.eigh``), each with its largest-magnitude
        entry made positive so the signs are reproducible.

    Examples
    --------
    >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    >>> x = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> vals, vecs = ntk_eigen(lambda: x @ w, [w])
    >>> vals, vecs
    (tensor([4., 1.], dtype=torch.float64), tensor([[1., 0.],
            [0., 1.]], dtype=torch.float64))
    """
    K = empirical_ntk(outputs_fn, params)
    n = K.shape[0]
    k = n if k is None else check_int(k, "k", 1)
    if k > n:
        raise ValueError(f"k must be <= the number of outputs ({n}); got k={k}.")
    vals, vecs = torch.linalg.eigh(K)
    vals, vecs = vals.flip(0)[:k], vecs.flip(1)[:, :k]
    signs = torch.sign(vecs.gather(0, vecs.abs().argmax(dim=0, keepdim=True)))
    return vals, vecs * torch.where(signs == 0, torch.ones_like(signs), signs)


# ---------------------------------------------------------------- training Jacobian


def training_jacobian(step: Callable[[torch.Tensor], torch.Tensor], w0: torch.Tensor, steps: int) -> torch.Tensor:
    """The Jacobian ``d w_T / d w_0`` of ``steps`` iterations of a training map.

    With ``w_{t+1} = step(w_t)`` and ``T = steps`` this is
    ``J = D step(w_{T-1}) ... D step(w_0)``, by reverse-mode differentiation through the
    unrolled run (all ``P`` rows in one vmapped backward where possible). For gradient
    descent on a quadratic with Hessian ``A``, ``J = (I - lr A)^T`` (a matrix power): its
    singular values show which directions of the initialization training forgets
    (``< 1``), keeps (``= 1``: directions the loss does not see) or amplifies (``> 1``).

    Parameters
    ----------
    step : callable
        ``step(w)`` takes a flat tensor ``(P,)`` and returns the next one, of the same
        shape, built from ``w`` by differentiable torch operations: no ``.detach()``,
        ``.item()``, ``torch.no_grad()`` or in-place changes of ``w``. A gradient inside
        ``step`` must keep its graph: ``torch.autograd.grad(loss, w, create_graph=True)``
        or ``torch.func.grad(loss_of_w)(w)``. Without ``create_graph`` the gradient is
        treated as a constant and the result is silently wrong.
    w0 : tensor (P,)
        The initial parameters, flat (:func:`flatten`); not modified.
    steps : int
        ``T >= 0`` (``0`` gives the identity).

    Returns
    -------
    tensor (P, P)
        ``J[i, j] = d (w_T)_i / d (w_0)_j`` on ``w0``'s device and dtype. The unrolled
        graph holds ``steps`` copies of the step's intermediates; a ``MemoryError`` naming
        the size is raised before allocating when ``2 P^2`` numbers do not fit.

    Examples
    --------
    >>> A = torch.diag(torch.tensor([1.0, 3.0], dtype=torch.float64))
    >>> J = training_jacobian(lambda w: w - 0.5 * (A @ w), torch.ones(2, dtype=torch.float64), 3)
    >>> J  # diag(1 - 0.5 * [1, 3]) ** 3
    tensor([[ 0.1250,  0.0000],
            [ 0.0000, -0.1250]], dtype=torch.float64)
    """
    if not callable(step):
        raise TypeError(f"step must be a callable w -> next w; got {type(step).__name__}.")
    if not isinstance(w0, torch.Tensor):
        raise TypeError(f"w0 must be a torch.Tensor; got {type(w0).__name__}.")
    if w0.ndim != 1 or w0.numel() == 0:
        raise ValueError(
            f"w0 must be a non-empty flat (1-D) tensor of parameters; got shape {tuple(w0.shape)} "
            "(flatten a list of parameters with spectrakit.core.dynamics.flatten)."
        )
    if not w0.is_floating_point():
        raise TypeError(f"w0 must be floating point; got dtype {w0.dtype}.")
    if not bool(torch.isfinite(w0).all()):
        raise ValueError("w0 has non-finite values (NaN or inf): pass finite initial parameters.")
    steps = check_int(steps, "steps", 0)
    p = w0.numel()
    check_memory(
        2 * p * p * itemsize(w0.dtype), w0.device, name="training_jacobian",
        what=f"the {p} x {p} Jacobian", alternative="Differentiate fewer parameters (keep the rest fixed inside step).",
    )
    if steps == 0:
        return torch.eye(p, device=w0.device, dtype=w0.dtype)
    with torch.enable_grad():
        start = w0.detach().clone().requires_grad_()
        w = start
        for t in range(steps):
            w = step(w)
            if not isinstance(w, torch.Tensor) or w.shape != (p,):
                got = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
                raise ValueError(
                    f"step must return a flat tensor of shape ({p},) like its input; got {got} at step {t}."
                )
        if not w.requires_grad:
            raise ValueError(
                "step's output does not depend on its input through autograd (a detached tensor, "
                "or computed under torch.no_grad()): build it from w with differentiable torch "
                "operations, with inner gradients from torch.autograd.grad(..., create_graph=True)."
            )
        return _vjp_rows(w, [start]).to(device=w0.device, dtype=w0.dtype)
