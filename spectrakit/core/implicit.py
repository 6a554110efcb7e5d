"""Implicit regularization, compute layer: what gradient descent prefers when nothing else
decides, and how preconditioning changes the order in which it learns.

Three models, each small enough to train in a fraction of a second on a CPU:

- **Matrix sensing / factorization** (``U U^T`` fitted to linear measurements of a low-rank
  PSD matrix). From a small initialization, gradient descent learns the singular values
  one at a time, largest first: the iterate stays close to low rank although nothing
  penalizes rank (Arora et al. 2019; Jin et al. 2023, "Understanding incremental learning
  of gradient descent"). ScaledGD(lambda) (Tong, Ma & Chi 2021; Xu, Shen, Ma & Chi 2023)
  right-multiplies the gradient by ``(U^T U + lambda I)^{-1}`` and learns all of them at
  once, so an ill-conditioned target costs no more than a well-conditioned one.
- **Diagonal linear networks** ``w = u*u - v*v`` (Woodworth et al. 2020): the
  initialization scale ``alpha`` decides the interpolator gradient descent finds, from the
  minimum-l1 one (``alpha -> 0``, sparse, the "rich" regime) to the minimum-l2 one
  (``alpha -> inf``, dense, the "kernel" regime), with a closed-form potential between.
- **EigenPro** (Ma & Belkin 2017; Abedsoltan et al. 2023): kernel (or least-squares)
  gradient descent preconditioned by flattening the top-k eigenvalues to
  ``lambda_{k+1}``, which allows a step ``1 / lambda_{k+1}`` instead of ``1 / lambda_1``
  and cuts the iterations to a given training error by about ``lambda_1 / lambda_{k+1}``.

Torch only (plus scipy's ``linprog`` for the minimum-l1 interpolator), unlabelled tensors
in and out: every result is on the input's device and in its dtype, no input is modified,
and random draws come from a CPU ``torch.Generator`` seeded with ``seed`` and are then
moved, so a seeded call gives the same numbers on the CPU and on a GPU (up to rounding).

Functions
---------
matrix_sensing_problem      a rank-r PSD target M* = U* diag(sigma) U*^T and m Gaussian
                            symmetric measurements <A_i, M*> (or full observation)
gd_matrix_sensing           gradient descent on U U^T from a small init; eigenvalues of U U^T,
                            loss and relative error per recorded step; learning-time theory
scaled_gd                   ScaledGD(lambda): the same with the gradient times (U^T U + lambda I)^-1
FactoredDescent             the update rule of both, one step at a time (lr and damping settable
                            between steps): what streaming sessions drive
learning_times              the step at which each eigenvalue first reaches level * its target
first_step_below            the first recorded step at which a curve is <= a level
diagonal_network_gd         gradient descent on w = u*u - v*v from u = v = alpha (batched in alpha)
diagonal_network_limit      the exact gradient-flow limit: argmin Q_alpha(w) s.t. X w = y
diagonal_network_potential  Q_alpha, the implicit regularizer (-> l1 as alpha -> 0, l2 as alpha -> inf)
min_l1_interpolator         argmin ||w||_1 s.t. X w = y (scipy linprog, HiGHS)
eigenpro_preconditioner     P = I - sum_{i<=k} (1 - lambda_{k+1}/lambda_i) q_i q_i^T
eigenpro_gd                 kernel / least-squares GD with P (k = 0: plain GD); training MSE per
                            step, measured and by the closed form
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple, Sequence

import numpy as np
import torch

from ..options import resolve_device, resolve_dtype
from .checks import check_finite, check_int, check_memory, check_real, itemsize, seeded_generator
from .threads import single_thread_if_small

__all__ = [
    "MatrixSensingProblem",
    "matrix_sensing_problem",
    "MatrixSensingResult",
    "gd_matrix_sensing",
    "scaled_gd",
    "FactoredDescent",
    "learning_times",
    "first_step_below",
    "DiagonalNetworkResult",
    "diagonal_network_gd",
    "diagonal_network_limit",
    "diagonal_network_potential",
    "min_l1_interpolator",
    "eigenpro_preconditioner",
    "EigenProResult",
    "eigenpro_gd",
]

_BLOCK = 2**22  # elements per chunk when a history is post-processed in blocks


# ------------------------------------------------------------------------------ checks


def _check_tensor(x, name: str, ndim: int | None = None, what: str = "") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor; got {type(x).__name__} (convert with torch.as_tensor)."
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor; got dtype {x.dtype}.")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D{what}; got shape {tuple(x.shape)}.")
    check_finite(x.detach(), name)
    return x


def _recorded_steps(steps: int, record_every: int) -> list[int]:
    rec = list(range(0, steps + 1, record_every))
    if rec[-1] != steps:
        rec.append(steps)  # the final state is always recorded
    return rec


# ---------------------------------------------------------------------- matrix sensing


class MatrixSensingProblem(NamedTuple):
    """What :func:`matrix_sensing_problem` returns.

    sensing : (m, d, d) symmetric sensing matrices ``A_i``, or None (full observation:
        matrix factorization).
    measurements : (m,) ``y_i = <A_i, M*> + noise``, or None with full observation.
    target : (d, d) the PSD target ``M* = U* diag(sigma) U*^T``.
    singular_values : (r,) ``sigma``, largest first (``M*``'s nonzero eigenvalues).
    factor : (d, r) ``U*``, orthonormal columns (``M*``'s eigenvectors).
    """

    sensing: torch.Tensor | None
    measurements: torch.Tensor | None
    target: torch.Tensor
    singular_values: torch.Tensor
    factor: torch.Tensor


def matrix_sensing_problem(
    d: int,
    singular_values: Sequence[float] | torch.Tensor,
    *,
    n_measurements: int | None = None,
    noise: float = 0.0,
    seed: int | None = 0,
    device=None,
    dtype=None,
) -> MatrixSensingProblem:
    """A rank-r PSD matrix and Gaussian linear measurements of it.

    The target is ``M* = U* diag(sigma) U*^T`` with ``U*`` (d, r) a Haar-random orthonormal
    basis and ``sigma`` the given singular values (``r = len(sigma)``, condition number
    ``sigma_1 / sigma_r``). With ``n_measurements = m`` the data are
    ``y_i = <A_i, M*> + noise * e_i``, ``i = 1..m``, with ``A_i = (G_i + G_i^T) / 2`` and
    ``G_i`` iid standard normal (d, d): for a symmetric ``E``, ``<A_i, E> ~ N(0, ||E||_F^2)``
    and ``(1/m) sum_i <A_i, E> A_i -> E`` as ``m`` grows (the restricted isometry that makes
    sensing behave like factorization). ``n_measurements=None`` observes ``M*`` itself
    (matrix factorization, loss ``||U U^T - M*||_F^2 / 4``).

    Parameters
    ----------
    d : int
        Matrix size, ``>= 1``.
    singular_values : sequence of float or tensor (r,)
        Positive, ``1 <= r <= d``; sorted largest first in the result.
    n_measurements : int, optional
        ``m >= 1``; memory is ``m d^2`` numbers. Recovery needs ``m`` well above the
        ``r d`` degrees of freedom (``m >= 10 r d`` is comfortable).
    noise : float
        Standard deviation of additive measurement noise, ``>= 0``.
    seed : int or None
        Seeds every draw (on the CPU, then moved).
    device, dtype
        Where and in what (default: spectrakit's options, else float64 on the automatic
        device).

    Returns
    -------
    MatrixSensingProblem
        ``(sensing, measurements, target, singular_values, factor)``.

    Examples
    --------
    >>> p = matrix_sensing_problem(20, [3.0, 2.0, 1.0], n_measurements=600, seed=0, device="cpu")
    >>> p.sensing.shape, p.measurements.shape
    (torch.Size([600, 20, 20]), torch.Size([600]))
    >>> [round(float(v), 6) for v in torch.linalg.eigvalsh(p.target).flip(0)[:4]]
    [3.0, 2.0, 1.0, 0.0]
    >>> bool(torch.allclose((p.sensing * p.target).sum((1, 2)), p.measurements))
    True
    """
    d = check_int(d, "d", 1)
    sv = torch.as_tensor(
        singular_values.detach().cpu() if isinstance(singular_values, torch.Tensor) else singular_values,
        dtype=torch.float64,
    )
    if sv.ndim != 1 or sv.numel() < 1:
        raise ValueError(f"singular_values must be a non-empty 1-D sequence; got shape {tuple(sv.shape)}.")
    check_finite(sv, "singular_values")
    if bool((sv <= 0).any()):
        raise ValueError(
            f"singular_values must all be > 0 (the target is PSD of rank len(singular_values)); "
            f"got {sv.tolist()}."
        )
    r = sv.numel()
    if r > d:
        raise ValueError(f"len(singular_values) = {r} (the rank) must be <= d = {d}.")
    sv = torch.sort(sv, descending=True).values
    noise = check_real(noise, "noise")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    gen = seeded_generator(seed)
    q, rr = torch.linalg.qr(torch.randn(d, r, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(rr))  # Haar-distributed: fix QR's sign ambiguity
    target = (q * sv) @ q.T
    target = (target + target.T) / 2
    sensing = measurements = None
    if n_measurements is not None:
        m = check_int(n_measurements, "n_measurements", 1)
        check_memory(
            2.0 * m * d * d * 8, "cpu", name="matrix_sensing_problem",
            what=f"{m} sensing matrices of size {d} x {d}",
            alternative="Use fewer measurements or a smaller d (m ~ 10 r d is enough to recover the target).",
        )
        g = torch.randn(m, d, d, generator=gen, dtype=torch.float64)
        sensing = (g + g.transpose(1, 2)) / 2
        measurements = sensing.reshape(m, -1) @ target.reshape(-1)
        if noise > 0:
            measurements = measurements + noise * torch.randn(m, generator=gen, dtype=torch.float64)
        sensing = sensing.to(device=device, dtype=dtype)
        measurements = measurements.to(device=device, dtype=dtype)
    elif noise > 0:
        raise ValueError("noise > 0 needs n_measurements (full observation has no measurement noise).")
    return MatrixSensingProblem(
        sensing=sensing,
        measurements=measurements,
        target=target.to(device=device, dtype=dtype),
        singular_values=sv.to(device=device, dtype=dtype),
        factor=q.to(device=device, dtype=dtype),
    )


class MatrixSensingResult(NamedTuple):
    """What :func:`gd_matrix_sensing` and :func:`scaled_gd` return.

    factor : (d, width) the final ``U``.
    singular_values : (n_records, min(d, width)) eigenvalues of the estimate ``U U^T`` (its
        singular values: it is PSD), largest first, at each recorded step.
    loss : (n_records,) the training loss ``(1/(4m)) sum_i (<A_i, U U^T> - y_i)^2``
        (``||U U^T - M*||_F^2 / 4`` with full observation).
    error : (n_records,) the relative error ``||U U^T - M*||_F / ||M*||_F``.
    steps : (n_records,) int64, the step of each record (0, record_every, ..., steps).
    target : (r,) the target's singular values ``sigma``.
    predicted_steps : (r,) the step at which eigenvalue ``i`` should reach ``sigma_i / 2``
        by the small-initialization theory (plain gradient descent; NaN for ScaledGD, for
        ``i >= width`` and where the initialization is not small).
    """

    factor: torch.Tensor
    singular_values: torch.Tensor
    loss: torch.Tensor
    error: torch.Tensor
    steps: torch.Tensor
    target: torch.Tensor
    predicted_steps: torch.Tensor


def _check_problem(problem) -> MatrixSensingProblem:
    if not isinstance(problem, MatrixSensingProblem):
        raise TypeError(
            f"problem must be a MatrixSensingProblem (from matrix_sensing_problem); got {type(problem).__name__}."
        )
    target = _check_tensor(problem.target, "problem.target", 2)
    d = target.shape[0]
    if target.shape != (d, d):
        raise ValueError(f"problem.target must be square; got shape {tuple(target.shape)}.")
    if (problem.sensing is None) != (problem.measurements is None):
        raise ValueError("problem.sensing and problem.measurements must be both given or both None.")
    if problem.sensing is not None:
        a = _check_tensor(problem.sensing, "problem.sensing", 3)
        y = _check_tensor(problem.measurements, "problem.measurements", 1)
        if a.shape[1:] != (d, d) or y.shape[0] != a.shape[0]:
            raise ValueError(
                f"problem.sensing must be (m, {d}, {d}) and problem.measurements (m,); got "
                f"{tuple(a.shape)} and {tuple(y.shape)}."
            )
        for t, nm in ((a, "problem.sensing"), (y, "problem.measurements")):
            if t.device != target.device or t.dtype != target.dtype:
                raise ValueError(
                    f"{nm} is {t.dtype} on {t.device} but problem.target is {target.dtype} on "
                    f"{target.device}: build the problem with one device and dtype."
                )
    sv = _check_tensor(problem.singular_values, "problem.singular_values", 1, " (r,)")
    fac = _check_tensor(problem.factor, "problem.factor", 2, " (d, r)")
    if fac.shape != (d, sv.shape[0]):
        raise ValueError(
            f"problem.factor must be (d, r) = ({d}, {sv.shape[0]}) to match target and "
            f"singular_values; got {tuple(fac.shape)}."
        )
    if sv.numel() < 1 or bool((sv <= 0).any()):
        raise ValueError("problem.singular_values must be non-empty and > 0.")
    return problem


def _small_init_theory(u0, factor, sv, lr):
    """Half-rise step of each target eigenvalue under plain GD from ``U_0`` (see docstring)."""
    r = sv.numel()
    width = u0.shape[1]
    out = torch.full_like(sv, float("nan"))
    j = min(r, width)
    # c_i(0): mode i's initial size once the earlier modes' components are projected out of
    # U_0^T u_i (a later mode keeps only the part of its row orthogonal to the earlier ones)
    rmat = torch.linalg.qr(u0.T @ factor[:, :j], mode="r")[1]
    c0 = torch.diagonal(rmat)[:j] ** 2
    s = sv[:j]
    ok = (c0 > 0) & (c0 < s / 2)
    safe_c0 = torch.where(ok, c0, s / 4)
    t = torch.log(s / safe_c0 - 1) / (2 * torch.log1p(lr * s))
    out[:j] = torch.where(ok, t, torch.full_like(t, float("nan")))
    return out


def _check_lr(lr, damping, s1: float) -> float:
    """``lr`` as a float, checked against the update rule's stability limit."""
    lr = check_real(lr, "lr", strict=True)
    if damping is None:
        if lr * s1 >= 1:
            raise ValueError(
                f"lr={lr} is too large for the top singular value {s1:.4g}: gradient descent on "
                f"U U^T needs lr * sigma_1 < 1 (curvature 2 sigma_1 at the solution), i.e. "
                f"lr < {1 / s1:.4g}; take about half of that."
            )
    elif lr >= 1:
        raise ValueError(
            f"lr={lr} must be < 1 for ScaledGD: near the solution each direction contracts by "
            "(1 - 2 lr), so lr = 0.5 is the natural choice."
        )
    return lr


def _spectrum_and_error(factors: torch.Tensor, target: torch.Tensor, k: int):
    """Eigenvalues of ``U U^T`` (its top ``k``, largest first) and ``||U U^T - M*||_F / ||M*||_F``
    for a batch of factors (n, d, width): what :func:`gd_matrix_sensing` records."""
    eig = torch.linalg.svdvals(factors)[:, :k] ** 2
    err = torch.linalg.matrix_norm(factors @ factors.mT - target) / torch.linalg.matrix_norm(target)
    return eig, err


class FactoredDescent:
    """Gradient descent or ScaledGD(lambda) on ``U U^T``, one step at a time.

    The update rule of :func:`gd_matrix_sensing` (``damping=None``) and :func:`scaled_gd`
    (both run it), for callers that stream the training or change ``lr`` or ``damping``
    between steps:

    ``U <- U - lr grad f(U)``  or  ``U <- U - lr grad f(U) (U^T U + damping I)^{-1}``,

    ``grad f(U) = (1/m) sum_i (<A_i, U U^T> - y_i) A_i U`` (``(U U^T - M*) U`` with full
    observation), from ``U_0`` with iid ``N(0, init_scale^2)`` entries drawn from ``seed``
    on the CPU. :meth:`loss` is the loss at the current ``U`` (computed with the gradient
    the next :meth:`update` uses, once per step). Nothing is recorded here: read
    :attr:`factor`, :meth:`loss` and :meth:`spectrum` between steps.

    Parameters
    ----------
    problem : MatrixSensingProblem
    lr : float
        Step size, checked as in :func:`gd_matrix_sensing` / :func:`scaled_gd`; settable.
    damping : float or None
        None: plain gradient descent. A number ``>= 0``: ScaledGD(damping); settable
        (never to or from None: that is another rule).
    init_scale, width, seed
        As in :func:`gd_matrix_sensing`.
    name : str
        How error messages name the caller (e.g. ``"scaled_gd"``).

    Attributes
    ----------
    step : int
        Updates made since construction or :meth:`reset`.
    factor : tensor (d, width)
        The current ``U`` (a new tensor after each update; never modified in place).
    initial_factor : tensor (d, width)
        ``U_0``.

    Examples
    --------
    >>> p = matrix_sensing_problem(20, [3.0, 2.0, 1.0], n_measurements=600, seed=0, device="cpu")
    >>> run = FactoredDescent(p, lr=0.05, init_scale=1e-4)
    >>> for _ in range(100):
    ...     run.update()
    >>> eig, err = run.spectrum()
    >>> [round(float(v), 2) for v in eig[:4]], run.step
    ([3.01, 1.9, 0.02, 0.0], 100)
    >>> whole = gd_matrix_sensing(p, steps=100, lr=0.05, init_scale=1e-4)
    >>> torch.equal(whole.factor, run.factor)  # the same rule
    True
    """

    def __init__(
        self,
        problem: MatrixSensingProblem,
        *,
        lr: float,
        damping: float | None = None,
        init_scale: float = 1e-4,
        width: int | None = None,
        seed: int | None = 0,
        name: str = "FactoredDescent",
    ):
        self.problem = problem = _check_problem(problem)
        self.name = str(name)
        target = problem.target
        self.d = d = target.shape[0]
        self.device, self.dtype = target.device, target.dtype
        self._damping = None if damping is None else check_real(damping, "damping")
        self._sv = problem.singular_values.to(device=self.device, dtype=self.dtype)
        self._s1 = float(self._sv[0])
        lr = check_real(lr, "lr", strict=True)  # the checks in the order the whole-run functions made them
        self.init_scale = check_real(init_scale, "init_scale", strict=True)
        self.width = d if width is None else check_int(width, "width", 1)
        self._lr = _check_lr(lr, self._damping, self._s1)
        self.seed = seed
        u0 = self.init_scale * torch.randn(d, self.width, generator=seeded_generator(seed), dtype=torch.float64)
        self.initial_factor = u0.to(device=self.device, dtype=self.dtype)
        if problem.sensing is not None:
            self._m = m = problem.sensing.shape[0]
            self._a_flat = problem.sensing.reshape(m, d * d)
            self._work = 2.0 * m * d * d + 2.0 * d * d * self.width
        else:
            self._m = 0
            self._a_flat = None
            self._work = 2.0 * d * d * self.width
        self._set_eye()
        self.reset()

    def reset(self) -> "FactoredDescent":
        """Back to ``U_0`` and step 0 (``lr`` and ``damping`` keep their current values)."""
        self._u = self.initial_factor
        self.step = 0
        self._eval = None
        return self

    @property
    def factor(self) -> torch.Tensor:
        """The current ``U`` (d, width)."""
        return self._u

    @property
    def lr(self) -> float:
        """The step size; a new value applies from the next :meth:`update`."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = _check_lr(value, self._damping, self._s1)

    @property
    def damping(self) -> float | None:
        """ScaledGD's ``lambda`` (None: plain gradient descent); a new value applies from
        the next :meth:`update`."""
        return self._damping

    @damping.setter
    def damping(self, value) -> None:
        if self._damping is None:
            raise ValueError(
                f"{self.name} runs plain gradient descent (damping=None): ScaledGD's damping does not apply. "
                "Build one with damping=... for ScaledGD."
            )
        value = check_real(value, "damping")
        _check_lr(self._lr, value, self._s1)
        self._damping = value
        self._set_eye()

    def _set_eye(self) -> None:
        d = self._damping
        self._eye = None if d is None else d * torch.eye(self.width, device=self.device, dtype=self.dtype)

    def threads(self):
        """A context manager: one torch thread while a step is small on the CPU
        (:func:`spectrakit.core.threads.single_thread_if_small`)."""
        return single_thread_if_small(self._work, self.device)

    def _evaluate(self):
        """(loss, g) at the current ``U``, with ``g`` the gradient of the loss in ``U U^T``
        (symmetric): computed once per step."""
        if self._eval is None:
            u = self._u
            with torch.no_grad():
                x = u @ u.T
                if self._m:
                    res = self._a_flat @ x.reshape(-1) - self.problem.measurements
                    loss = res @ res / (4 * self._m)
                    g = (res @ self._a_flat).reshape(self.d, self.d) / self._m
                    g = (g + g.T) / 2
                else:
                    g = x - self.problem.target
                    loss = (g * g).sum() / 4
            self._eval = (loss, g)
        return self._eval

    def loss(self) -> torch.Tensor:
        """The training loss at the current ``U`` (a 0-d tensor):
        ``(1/(4m)) sum_i (<A_i, U U^T> - y_i)^2``, or ``||U U^T - M*||_F^2 / 4``."""
        return self._evaluate()[0]

    def update(self) -> None:
        """One step of the rule with the current ``lr`` and ``damping``."""
        _, g = self._evaluate()
        u = self._u
        with torch.no_grad():
            grad = g @ u
            if self._eye is not None:
                # grad (U^T U + lambda I)^{-1}; the matrix is symmetric positive definite
                try:
                    grad = torch.linalg.solve(u.T @ u + self._eye, grad.T).T
                except torch.linalg.LinAlgError:
                    raise FloatingPointError(
                        f"{self.name}: U^T U + damping I is singular at step {self.step} (damping={self._damping}, "
                        f"width={self.width}): use damping > 0, or width <= rank with damping = 0."
                    ) from None
            self._u = u - self._lr * grad
        self.step += 1
        self._eval = None

    def spectrum(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(eigenvalues, error)`` at the current ``U``: the top ``min(d, width)``
        eigenvalues of ``U U^T``, largest first (its singular values: it is PSD), and the
        relative error ``||U U^T - M*||_F / ||M*||_F``, as :func:`gd_matrix_sensing` records
        them."""
        with torch.no_grad():
            eig, err = _spectrum_and_error(self._u[None], self.problem.target, min(self.d, self.width))
        return eig[0], err[0]


def _factored_descent(problem, *, steps, lr, init_scale, width, damping, record_every, seed, name):
    steps = check_int(steps, "steps", 0)
    record_every = check_int(record_every, "record_every", 1)
    run = FactoredDescent(problem, lr=lr, damping=damping, init_scale=init_scale, width=width, seed=seed, name=name)
    target, d, width = problem.target, run.d, run.width
    device, dtype = run.device, run.dtype
    rec = _recorded_steps(steps, record_every)
    n_rec = len(rec)
    check_memory(
        n_rec * d * width * itemsize(dtype), device, name=name,
        what=f"the history of U ({n_rec} records of {d} x {width})",
        alternative="Record less often (a larger record_every).",
    )
    history = torch.empty(n_rec, d, width, device=device, dtype=dtype)
    losses = torch.empty(n_rec, device=device, dtype=dtype)
    j = 0
    with run.threads(), torch.no_grad():
        for t in range(steps + 1):
            if t == rec[j]:
                history[j] = run.factor
                losses[j] = run.loss()
                j += 1
            if t == steps:
                break
            run.update()
    bad = ~torch.isfinite(losses)
    if bool(bad.any()):
        first = rec[int(torch.nonzero(bad)[0])]
        what = "lower lr" if damping is None else "raise damping (or lower lr, or init_scale)"
        raise FloatingPointError(
            f"{name} diverged: the loss is not finite at step {first} (lr={run.lr}"
            + ("" if damping is None else f", damping={run.damping}")
            + f"); {what}."
        )

    # post-process the history in blocks: eigenvalues of U U^T and the relative error
    k = min(d, width)
    eig = torch.empty(n_rec, k, device=device, dtype=dtype)
    err = torch.empty(n_rec, device=device, dtype=dtype)
    block = max(1, _BLOCK // (d * max(d, width)))
    for b in range(0, n_rec, block):
        eig[b:b + block], err[b:b + block] = _spectrum_and_error(history[b:b + block], target, k)
    sv = problem.singular_values.to(device=device, dtype=dtype)
    predicted = (
        _small_init_theory(run.initial_factor, problem.factor.to(device=device, dtype=dtype), sv, run.lr)
        if damping is None
        else torch.full_like(sv, float("nan"))
    )
    return MatrixSensingResult(
        factor=run.factor,
        singular_values=eig,
        loss=losses,
        error=err,
        steps=torch.tensor(rec, dtype=torch.int64, device=device),
        target=sv,
        predicted_steps=predicted,
    )


def gd_matrix_sensing(
    problem: MatrixSensingProblem,
    *,
    steps: int,
    lr: float,
    init_scale: float = 1e-4,
    width: int | None = None,
    record_every: int = 1,
    seed: int | None = 0,
) -> MatrixSensingResult:
    """Gradient descent on ``U U^T`` from a small initialization: incremental learning.

    Minimizes ``f(U) = (1/(4m)) sum_i (<A_i, U U^T> - y_i)^2`` (or ``||U U^T - M*||_F^2 / 4``
    with full observation) over ``U`` (d, width) by ``U <- U - lr grad f(U)``,
    ``grad f(U) = (1/m) sum_i (<A_i, U U^T> - y_i) A_i U``, from ``U_0`` with iid
    ``N(0, init_scale^2)`` entries. ``width >= r`` overparameterizes (default ``d``: no rank
    constraint at all); the low rank of the result then comes from the initialization alone.

    From a small start the target's eigen-directions ``u_i`` decouple: the eigenvalue
    ``lambda_i`` of ``U U^T`` along ``u_i`` follows the discrete logistic
    ``lambda_i <- lambda_i (1 + lr (sigma_i - lambda_i))^2`` (the population dynamics
    ``d lambda/dt = 2 lambda (sigma - lambda)``), growing by ``(1 + lr sigma_i)^2`` per step
    while small, so it reaches ``sigma_i / 2`` at about

    ``t_i = log(sigma_i / c_i - 1) / (2 log(1 + lr sigma_i))``  (``predicted_steps``)

    ``~ log(1 / init_scale) / (lr sigma_i)`` to leading order, with ``c_i`` the initial size
    of mode ``i`` (the squared norm of ``U_0^T u_i`` after projecting out the earlier modes'
    components; about ``init_scale^2 (width - i + 1)``). So the singular values are learned
    one at a time, in decreasing order, at times inversely proportional to ``sigma_i``: a
    staircase. Measured half-rise times (:func:`learning_times`) agree with ``t_i`` to about
    5-10% with ``m >= 30 d`` measurements (the sensing error nudges them earlier).

    Parameters
    ----------
    problem : MatrixSensingProblem
        From :func:`matrix_sensing_problem`.
    steps : int
        Gradient steps, ``>= 0``.
    lr : float
        Step size, ``0 < lr < 1 / sigma_1`` (the curvature at the solution is ``2 sigma_1``).
    init_scale : float
        Standard deviation of ``U_0``'s entries, ``> 0`` (small: 1e-3 and below).
    width : int, optional
        Columns of ``U`` (default ``d``).
    record_every : int
        Record every this many steps (the last step is always recorded).
    seed : int or None
        Seeds ``U_0`` (drawn on the CPU, then moved).

    Returns
    -------
    MatrixSensingResult
        On the problem's device and dtype; see :class:`MatrixSensingResult`.

    Examples
    --------
    >>> p = matrix_sensing_problem(20, [3.0, 2.0, 1.0], n_measurements=600, seed=0, device="cpu")
    >>> res = gd_matrix_sensing(p, steps=250, lr=0.05, init_scale=1e-4)
    >>> learning_times(res.singular_values, res.target).tolist()  # measured half-rise steps
    [58, 84, 145]
    >>> [round(float(t)) for t in res.predicted_steps]  # theory
    [60, 85, 153]
    >>> [[round(float(v), 2) for v in res.singular_values[t, :4]] for t in (60, 100, 250)]
    [[2.04, 0.02, 0.0, 0.0], [3.01, 1.9, 0.02, 0.0], [3.0, 2.0, 1.0, 0.0]]
    """
    return _factored_descent(
        problem, steps=steps, lr=lr, init_scale=init_scale, width=width, damping=None,
        record_every=record_every, seed=seed, name="gd_matrix_sensing",
    )


def scaled_gd(
    problem: MatrixSensingProblem,
    *,
    damping: float,
    steps: int,
    lr: float = 0.5,
    init_scale: float = 1e-4,
    width: int | None = None,
    record_every: int = 1,
    seed: int | None = 0,
) -> MatrixSensingResult:
    """ScaledGD(lambda): preconditioned gradient descent on ``U U^T`` (Xu, Shen, Ma & Chi 2023).

    The update of :func:`gd_matrix_sensing` with the gradient right-multiplied by the
    damped inverse Gram matrix of the factor,

    ``U <- U - lr grad f(U) (U^T U + lambda I)^{-1}``,  ``lambda = damping``.

    For ``lambda = 0`` and ``width = r`` this is ScaledGD (Tong, Ma & Chi 2021), a
    Gauss-Newton-like step whose local contraction (about ``1 - 2 lr`` along each target
    eigen-direction) does not depend on the condition number ``kappa = sigma_1 / sigma_r``,
    where plain gradient descent contracts direction ``i`` by only ``1 - 2 lr sigma_i`` with
    ``lr < 1/sigma_1``, i.e. needs ``O(kappa)`` times more steps for the smallest one.
    The damping makes the inverse exist when ``U`` is overparameterized (``width > r``)
    and small: while ``||U||^2 << lambda`` the step is plain gradient descent with rate
    ``lr / lambda``, so from a small initialization every mode grows fast and they are
    learned almost together instead of one at a time.

    Choosing ``lambda`` is a trade-off. What the spare columns of an overparameterized
    ``U`` pick up decays only sublinearly (its gradient is cubic in it), faster for smaller
    ``lambda``: that sets the accuracy reached in a budget (example below: 1e-6 after 61
    steps with ``lambda = 1e-5 = sigma_r / 1000``, after about 270 with ``1e-4``). But in
    the directions the measurements do not pin down, the sensing error grows spurious
    components at the rate ``lr ||(A*A - I)(M*)|| / lambda`` while they are small, and the
    more spare columns the worse: the same problem with ``width = d = 20`` diverges for
    ``lambda = 1e-4`` (a ``FloatingPointError``; also for ``1e-3`` from most
    initializations) and is still near 1e-4 after 400 steps with ``1e-2``. With full
    observation there is no sensing error and any ``lambda`` works.

    Parameters
    ----------
    problem : MatrixSensingProblem
        From :func:`matrix_sensing_problem`.
    damping : float
        ``lambda >= 0`` (0 needs ``width <= r`` and an ``U`` of full column rank).
    steps, lr, init_scale, width, record_every, seed
        As in :func:`gd_matrix_sensing`; ``0 < lr < 1`` (default 0.5).

    Returns
    -------
    MatrixSensingResult
        ``predicted_steps`` is NaN (the incremental theory is for plain gradient descent).

    Examples
    --------
    Condition number 100, a factor with two spare columns, the same budget for both:

    >>> p = matrix_sensing_problem(20, [1.0, 0.1, 0.01], n_measurements=800, seed=0, device="cpu")
    >>> fast = scaled_gd(p, damping=1e-5, steps=200, width=5, init_scale=1e-6)
    >>> slow = gd_matrix_sensing(p, steps=200, lr=0.5, width=5, init_scale=1e-6)
    >>> int(first_step_below(fast.error, 1e-6, fast.steps))  # steps to 1e-6 relative error
    61
    >>> f"{float(slow.error[-1]):.1e}"  # gradient descent after as many steps
    '9.6e-02'
    """
    damping = check_real(damping, "damping")
    return _factored_descent(
        problem, steps=steps, lr=lr, init_scale=init_scale, width=width, damping=damping,
        record_every=record_every, seed=seed, name="scaled_gd",
    )


def learning_times(
    history: torch.Tensor,
    target: torch.Tensor,
    *,
    level: float = 0.5,
    steps: torch.Tensor | None = None,
) -> torch.Tensor:
    """The step at which each eigenvalue first reaches ``level`` times its target.

    For column ``i`` of ``history`` (n_records, >= r) (e.g.
    :attr:`MatrixSensingResult.singular_values`) the first record ``t`` with
    ``history[t, i] >= level * target[i]``, as a step: ``steps[t]`` when ``steps`` (the
    result's ``steps``) is given, else the record index. -1 where it is never reached.

    Examples
    --------
    >>> h = torch.tensor([[0.1, 0.0], [2.0, 0.1], [3.0, 0.6], [3.0, 1.0]])
    >>> learning_times(h, torch.tensor([3.0, 1.0]))
    tensor([1, 2])
    >>> learning_times(h, torch.tensor([3.0, 1.0]), steps=torch.tensor([0, 10, 20, 30]))
    tensor([10, 20])
    """
    h = _check_tensor(history, "history", 2, " (n_records, modes)")
    tg = _check_tensor(target, "target", 1, " (modes,)")
    r = tg.numel()
    if h.shape[1] < r:
        raise ValueError(f"history has {h.shape[1]} columns but target has {r} values: it needs at least as many.")
    level = check_real(level, "level", strict=True)
    reached = h[:, :r] >= level * tg.to(h.device, h.dtype)
    first = torch.argmax(reached.to(torch.int8), dim=0)
    if steps is not None:
        steps = torch.as_tensor(steps, device=h.device)
        if steps.shape != (h.shape[0],):
            raise ValueError(f"steps must have shape ({h.shape[0]},) (one per record); got {tuple(steps.shape)}.")
        first = steps.to(torch.int64)[first]
    return torch.where(reached.any(dim=0), first, torch.full_like(first, -1))


def first_step_below(values: torch.Tensor, level: float, steps: torch.Tensor | None = None) -> torch.Tensor:
    """The first record at which a curve is ``<= level`` (-1 if never), along the last dim.

    ``values`` (..., n_records), e.g. an error or loss history; ``steps`` (n_records,) maps
    record indices to steps (a result's ``steps``). Returns int64 of shape ``values.shape[:-1]``.

    Examples
    --------
    >>> first_step_below(torch.tensor([1.0, 0.5, 0.05, 0.01]), 0.1)
    tensor(2)
    >>> first_step_below(torch.tensor([[1.0, 0.5, 0.05], [1.0, 0.9, 0.8]]), 0.1, torch.tensor([0, 5, 10]))
    tensor([10, -1])
    """
    v = _check_tensor(values, "values")
    if v.ndim < 1 or v.shape[-1] < 1:
        raise ValueError(f"values must have at least one record along its last dim; got shape {tuple(v.shape)}.")
    level = check_real(level, "level")
    below = v <= level
    first = torch.argmax(below.to(torch.int8), dim=-1)
    if steps is not None:
        steps = torch.as_tensor(steps, device=v.device)
        if steps.shape != (v.shape[-1],):
            raise ValueError(f"steps must have shape ({v.shape[-1]},) (one per record); got {tuple(steps.shape)}.")
        first = steps.to(torch.int64)[first]
    return torch.where(below.any(dim=-1), first, torch.full_like(first, -1))


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
