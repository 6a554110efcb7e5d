"""Matrix sensing / factorization: incremental learning of ``U U^T`` by gradient descent and ScaledGD.

Part of :mod:`spectrakit.core.implicit` (read its docstring first). Read
:func:`gd_matrix_sensing` first (the staircase and its learning-time theory); :func:`scaled_gd`
preconditions the same update, :class:`FactoredDescent` runs it one step at a time, and
:func:`learning_times` and :func:`first_step_below` read the recorded curves.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_int, check_memory, check_real, itemsize, seeded_generator
from ..threads import single_thread_if_small
from ._common import _BLOCK, _check_tensor, _recorded_steps

__all__ = [
    "MatrixSensingProblem",
    "matrix_sensing_problem",
    "MatrixSensingResult",
    "gd_matrix_sensing",
    "scaled_gd",
    "FactoredDescent",
    "learning_times",
    "first_step_below",
]


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
