"""A GUI-free session that trains ``U U^T`` on a matrix-sensing problem by gradient descent
or ScaledGD(lambda) and records the spectrum of the estimate as it runs: the implicit
bias of the initialization scale and of preconditioning, streamed.

:class:`ImplicitSession` fits ``U`` (d, width) to linear measurements of a rank-r PSD
target ``M* = U* diag(sigma) U*^T`` (:func:`spectrakit.core.implicit.matrix_sensing_problem`)
from ``U_0`` with iid ``N(0, init_scale^2)`` entries, with the update rule of
:func:`~spectrakit.core.implicit.gd_matrix_sensing` (``optimizer="gd"``) or
:func:`~spectrakit.core.implicit.scaled_gd` (``optimizer="scaledgd"``), stepped by
:class:`~spectrakit.core.implicit.FactoredDescent` (the same code: there is one update
rule). It records at step 0 and at every ``record_every``-th step:

* ``singular_values`` (step, mode): the eigenvalues of the estimate ``U U^T`` (its
  singular values: it is PSD), largest first, mode ``0 .. min(d, width) - 1``; the coordinate
  ``target`` on ``mode`` holds the target's singular values ``sigma`` (0 past the rank).
  From a small ``init_scale`` gradient descent learns them one at a time, largest first (a
  staircase); ScaledGD learns them together;
* ``loss`` (step): ``(1/(4m)) sum_i (<A_i, U U^T> - y_i)^2`` (``||U U^T - M*||_F^2 / 4``
  with full observation);
* ``error`` (step): the relative error ``||U U^T - M*||_F / ||M*||_F``;
* ``lr`` and, for ScaledGD, ``damping`` (step): the values in force (settable between
  steps, like a slider; the value recorded at step ``t`` is the one of the update that led
  to it).

The history is an :class:`xarray.Dataset` over ``step`` (and ``mode``); step ``t`` is the
state after ``t`` updates, and with the same settings it equals what
``gd_matrix_sensing`` / ``scaled_gd`` return (bit for bit on the CPU).

``lr`` and ``damping`` change the running session; ``optimizer``, ``init_scale``,
``width`` and ``seed`` build a new one (:meth:`ImplicitSession.replace`, at step 0, on
the same problem). ``U_0`` is drawn from a CPU generator seeded with ``seed``, so ``run(a);
run(b)`` gives exactly the numbers of ``run(a + b)`` and :meth:`~ImplicitSession.reset`
returns to the same ``U_0``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from ..core import implicit as cimp
from ..core.checks import check_int, check_real
from ..xr._apply import dtype_name
from ..options import resolve_device, resolve_dtype
from ._streaming import StreamingSession

__all__ = ["ImplicitSession", "OPTIMIZERS", "default_lr"]

OPTIMIZERS = ("gd", "scaledgd")
#: what a session builds when no ``problem`` is given (``n_measurements`` None: ``30 d``)
_PROBLEM_DEFAULTS = dict(d=20, singular_values=(3.0, 2.0, 1.0), n_measurements=None, noise=0.0, data_seed=0)
_DATA_KEYS = ("problem",) + tuple(_PROBLEM_DEFAULTS)


def default_lr(optimizer: str, sigma_1: float) -> float:
    """The step size a session takes when ``lr`` is not given: ``0.15 / sigma_1`` (to 4
    significant digits) for gradient descent (stable below ``1 / sigma_1``; about 6 steps per e-fold of the top
    mode while it is small) and 0.5 for ScaledGD (each direction contracts by ``1 - 2 lr``
    near the solution).

    >>> default_lr("gd", 3.0), default_lr("scaledgd", 3.0)
    (0.05, 0.5)
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}.")
    # rounded to 4 significant digits: a number that reads as set (0.05, not 0.049999999999999996)
    return 0.5 if optimizer == "scaledgd" else float(f"{0.15 / float(sigma_1):.4g}")


def _move(problem: cimp.MatrixSensingProblem, device, dtype) -> cimp.MatrixSensingProblem:
    """The problem on ``device`` in ``dtype``: itself when it is there already (shared, never
    modified), else a moved copy."""
    def there(t):  # "cuda" means the current CUDA device: a tensor on cuda:0 is there
        same_device = t.device.type == device.type and device.index in (None, t.device.index)
        return same_device and t.dtype == dtype

    if all(t is None or there(t) for t in problem):
        return problem
    return cimp.MatrixSensingProblem(*(None if t is None else t.to(device=device, dtype=dtype) for t in problem))


class ImplicitSession(StreamingSession):
    """Train ``U U^T`` on matrix sensing by gradient descent or ScaledGD(lambda); record the
    spectrum of the estimate, the loss and the relative error over steps.

    Parameters
    ----------
    problem : MatrixSensingProblem, optional
        From :func:`~spectrakit.core.implicit.matrix_sensing_problem` (used as is, on its
        device and dtype unless ``device``/``dtype`` say otherwise). Default: one built from
        the next five parameters.
    d, singular_values, n_measurements, noise, data_seed : optional
        ``matrix_sensing_problem``'s parameters when ``problem`` is None: defaults 20,
        ``(3, 2, 1)``, ``30 d`` Gaussian measurements (for full observation, pass
        ``problem=matrix_sensing_problem(d, sigma)``), 0 and seed 0.
    optimizer : {"gd", "scaledgd"}
        Plain gradient descent, or ScaledGD(lambda): the gradient times
        ``(U^T U + damping I)^{-1}``.
    lr : float, optional
        Step size; settable between steps (:attr:`lr`). Gradient descent needs
        ``lr < 1 / sigma_1``, ScaledGD ``lr < 1``. Default :func:`default_lr`.
    damping : float
        ScaledGD's ``lambda >= 0`` (kept, unused, by gradient descent, for a later
        ``replace(optimizer="scaledgd")``); settable between steps (:attr:`damping`).
        Too small a damping with many spare columns diverges under sensing noise (see
        :func:`~spectrakit.core.implicit.scaled_gd`); 0.1 is safe for the default problem.
    init_scale : float
        Standard deviation of ``U_0``'s entries, ``> 0``: small (1e-4 and below) for the
        incremental, low-rank regime.
    width : int, optional
        Columns of ``U`` (default ``d``: no rank constraint at all).
    seed : int
        Seeds ``U_0``.
    record_every : int
        Record every this many steps (step 0 is always recorded).
    device, dtype
        Where and in which precision (``spectrakit.options`` precedence; a given problem
        keeps its own unless these are given; default float64).

    Attributes
    ----------
    problem : MatrixSensingProblem
        On the session's device and dtype.
    step : int
        Updates made since construction or :meth:`reset`.
    factor : torch.Tensor
        The current ``U`` (d, width).

    Examples
    --------
    >>> s = ImplicitSession(init_scale=1e-4, device="cpu")   # sigma = 3, 2, 1; lr = 0.05
    >>> h = s.run(250, chunk=50).history
    >>> dict(h.sizes), sorted(h.data_vars)
    ({'step': 251, 'mode': 20}, ['error', 'loss', 'lr', 'singular_values'])
    >>> h.target.values[:4].tolist()
    [3.0, 2.0, 1.0, 0.0]
    >>> s.learning_times().values.tolist()   # the staircase: one singular value at a time
    [58, 84, 145]
    >>> t = s.replace(optimizer="scaledgd", damping=0.1)   # lr: 0.5 for ScaledGD
    >>> t.run(40).learning_times().values.tolist(), t.lr
    ([3, 4, 4], 0.5)
    >>> t.damping = 0.05   # the slider: from the next step on
    >>> t.run(2).history.damping.sel(step=[40, 41, 42]).values.tolist()
    [0.1, 0.05, 0.05]
    """

    def __init__(
        self,
        problem: cimp.MatrixSensingProblem | None = None,
        *,
        d: int | None = None,
        singular_values=None,
        n_measurements: int | None = None,
        noise: float | None = None,
        data_seed: int | None = None,
        optimizer: str = "gd",
        lr: float | None = None,
        damping: float = 0.1,
        init_scale: float = 1e-4,
        width: int | None = None,
        seed: int = 0,
        record_every: int = 1,
        device=None,
        dtype=None,
    ):
        if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}.")
        self.optimizer = optimizer.lower()
        self.seed = check_int(seed, "seed", 0)
        self.record_every = check_int(record_every, "record_every", 1)

        # ---- the problem
        given = dict(d=d, singular_values=singular_values, n_measurements=n_measurements, noise=noise,
                     data_seed=data_seed)
        if problem is None:
            opts = {k: (_PROBLEM_DEFAULTS[k] if v is None else v) for k, v in given.items()}
            size = check_int(opts["d"], "d", 1)
            m = 30 * size if opts["n_measurements"] is None else opts["n_measurements"]
            self.device, self.dtype = resolve_device(device), resolve_dtype(dtype)
            problem = cimp.matrix_sensing_problem(size, opts["singular_values"], n_measurements=m,
                                                  noise=opts["noise"], seed=opts["data_seed"],
                                                  device=self.device, dtype=self.dtype)
            self._data_info = {"problem": "matrix_sensing_problem", "noise": float(opts["noise"]),
                               "data_seed": opts["data_seed"]}
        else:
            named = sorted(k for k, v in given.items() if v is not None)
            if named:
                raise ValueError(f"{named} are matrix_sensing_problem's parameters, used only when problem is None; "
                                 "pass either problem or those.")
            if not isinstance(problem, cimp.MatrixSensingProblem):
                raise TypeError("problem must be a MatrixSensingProblem (from spectrakit.core.implicit."
                                f"matrix_sensing_problem); got {type(problem).__name__}.")
            self.device = resolve_device(device, problem.target)
            self.dtype = resolve_dtype(dtype, problem.target)
            # a moved copy where needed; the caller's tensors are never modified (nothing is in place)
            problem = _move(problem, self.device, self.dtype)
            self._data_info = {"problem": "user problem"}
        self.problem = problem

        sv = problem.singular_values
        lr = default_lr(self.optimizer, float(sv[0])) if lr is None else lr
        # the core checks lr, damping, init_scale, width and the problem, with its messages
        self._run = cimp.FactoredDescent(
            problem, lr=lr, damping=damping if self.optimizer == "scaledgd" else None,
            init_scale=init_scale, width=width, seed=self.seed, name="ImplicitSession",
        )
        # gradient descent keeps the damping (checked) for replace(optimizer="scaledgd")
        self._damping = self._run.damping if self.optimizer == "scaledgd" else check_real(damping, "damping")
        self.init_scale = self._run.init_scale
        self.width = self._run.width
        self.d = self._run.d
        self.rank = int(sv.numel())
        self._target = sv.detach().cpu().numpy().astype(np.float64)
        self._options = dict(optimizer=self.optimizer, damping=self._damping, init_scale=self.init_scale,
                             width=self.width, seed=self.seed, record_every=self.record_every,
                             device=self.device, dtype=self.dtype)
        self.reset()

    # ------------------------------------------------------------------ construction

    def reset(self) -> "ImplicitSession":
        """Back to step 0: ``U_0`` and an empty history, with the current options (a
        changed :attr:`lr` or :attr:`damping` is kept)."""
        self._run.reset()
        self._records: dict[str, list] = {}
        with self._threads():
            self._record()
        return self

    def replace(self, **changes) -> "ImplicitSession":
        """A new session on the same problem with some options changed, at step 0.

        Any keyword of the constructor but the problem (``problem`` and
        ``matrix_sensing_problem``'s parameters). ``damping`` and ``lr`` default to their
        current values, except that a change of ``optimizer`` without ``lr`` takes the new
        optimizer's :func:`default_lr` (the two rules' step sizes are on different scales).
        The session itself is not changed.

        Examples
        --------
        >>> s = ImplicitSession(device="cpu")
        >>> t = s.replace(init_scale=1e-6)
        >>> t.init_scale, t.lr, t.step, t.problem is s.problem
        (1e-06, 0.05, 0, True)
        """
        data = sorted(set(changes) & set(_DATA_KEYS))
        if data:
            raise TypeError(f"replace() keeps the problem, so it does not take {data}; build a new "
                            "ImplicitSession for another problem.")
        known = set(self._options) | {"lr"}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"replace() got unknown options {unknown}; it takes {sorted(known)}.")
        options = dict(self._options, lr=self.lr)
        new_opt = changes.get("optimizer", self.optimizer)
        if "lr" not in changes and (not isinstance(new_opt, str) or new_opt.lower() != self.optimizer):
            options["lr"] = None
        options.update(changes)
        new = ImplicitSession(self.problem, **options)
        new._data_info = dict(self._data_info)
        return new

    # ------------------------------------------------------------------ live settings

    @property
    def lr(self) -> float:
        """The step size; setting it applies from the next step (and is recorded)."""
        return self._run.lr

    @lr.setter
    def lr(self, value):
        self._run.lr = value  # the core checks it (lr * sigma_1 < 1 for GD, < 1 for ScaledGD)

    @property
    def damping(self) -> float:
        """ScaledGD's ``lambda``; setting it applies from the next step (and is recorded).
        A gradient-descent session keeps it for ``replace(optimizer="scaledgd")`` and
        refuses to set it."""
        return self._damping

    @damping.setter
    def damping(self, value):
        if self.optimizer != "scaledgd":
            raise AttributeError(
                "damping is ScaledGD's; this session runs plain gradient descent (optimizer='gd'). "
                "Use replace(optimizer='scaledgd', damping=...)."
            )
        self._run.damping = value  # the core checks it
        self._damping = self._run.damping

    @property
    def step(self) -> int:
        """Updates made since construction or :meth:`reset`."""
        return self._run.step

    @property
    def factor(self) -> torch.Tensor:
        """The current ``U`` (d, width), on the session's device."""
        return self._run.factor

    # ------------------------------------------------------------------ training

    def _threads(self):
        """One torch thread while a step is small (on the CPU): a few small products, where
        several OpenMP threads only wait for each other (:mod:`spectrakit.core.threads`)."""
        return self._run.threads()

    def _record(self):
        run = self._run
        loss = float(run.loss())
        if bool(torch.isfinite(run.factor).all()):
            eig, err = run.spectrum()
            eig, err = eig.cpu().numpy().astype(np.float64), float(err)
        else:
            eig, err = np.full(min(self.d, self.width), np.nan), math.nan
        row = {"step": run.step, "singular_values": eig, "loss": loss, "error": err, "lr": run.lr}
        if self.optimizer == "scaledgd":
            row["damping"] = self._damping
        for key, value in row.items():
            self._records.setdefault(key, []).append(value)
        if not math.isfinite(loss):
            what = "lower lr" if self.optimizer == "gd" else "raise damping (or lower lr, or init_scale)"
            raise FloatingPointError(
                f"ImplicitSession diverged: the loss is {loss} at step {run.step} (lr={run.lr:g}"
                + ("" if self.optimizer == "gd" else f", damping={self._damping:g}")
                + f"); {what}, then reset()."
            )

    def _advance(self, steps: int) -> None:
        run = self._run
        with torch.no_grad():
            for _ in range(steps):
                run.update()
                if run.step % self.record_every == 0:
                    self._record()

    # ------------------------------------------------------------------ results

    @property
    def target(self) -> np.ndarray:
        """The target's singular values ``sigma`` (r,), largest first."""
        return self._target.copy()

    @property
    def history(self) -> xr.Dataset:
        """The recorded history over ``step``: ``singular_values`` (step, mode) with the
        coordinate ``target`` on ``mode``, ``loss``, ``error``, ``lr`` and, for ScaledGD,
        ``damping``; attrs hold the options and the problem's description."""
        rec = self._records
        sv = np.stack(rec["singular_values"])
        k = sv.shape[1]
        target = np.zeros(k)
        r = min(k, self.rank)
        target[:r] = self._target[:r]
        data = {
            "singular_values": (("step", "mode"), sv,
                                {"long_name": "singular values of U U^T",
                                 "description": "eigenvalues of the PSD estimate U U^T, largest first"}),
            "loss": (("step",), np.asarray(rec["loss"], dtype=np.float64),
                     {"long_name": "training loss",
                      "description": "(1/(4m)) sum_i (<A_i, U U^T> - y_i)^2, or ||U U^T - M*||_F^2 / 4 "
                                     "with full observation"}),
            "error": (("step",), np.asarray(rec["error"], dtype=np.float64),
                      {"long_name": "relative error", "description": "||U U^T - M*||_F / ||M*||_F"}),
            "lr": (("step",), np.asarray(rec["lr"], dtype=np.float64), {"long_name": "learning rate"}),
        }
        if self.optimizer == "scaledgd":
            data["damping"] = (("step",), np.asarray(rec["damping"], dtype=np.float64),
                               {"long_name": "damping",
                                "description": "lambda of the preconditioner (U^T U + lambda I)^-1"})
        coords = {
            "step": np.asarray(rec["step"], dtype=np.int64),
            "mode": ("mode", np.arange(k), {"long_name": "singular value index, 0 = the largest"}),
            "target": ("mode", target, {"long_name": "target singular values",
                                        "description": "sigma of M* = U* diag(sigma) U*^T; 0 past its rank"}),
        }
        m = 0 if self.problem.sensing is None else int(self.problem.sensing.shape[0])
        attrs = {
            "optimizer": self.optimizer,
            "init_scale": self.init_scale,
            "width": self.width,
            "seed": self.seed,
            "record_every": self.record_every,
            "d": self.d,
            "rank": self.rank,
            "target_singular_values": self._target.tolist(),
            "condition_number": float(self._target[0] / self._target[-1]),
            "observation": "sensing" if m else "full",
            "n_measurements": m,
            "device": str(self.device),
            "dtype": dtype_name(self.dtype),
            **self._data_info,
        }
        if self.optimizer == "gd":
            attrs["damping"] = self._damping  # kept for replace(optimizer="scaledgd"); not in force
        return xr.Dataset(data, coords=coords, attrs=attrs)

    def learning_times(self, level: float = 0.5) -> xr.DataArray:
        """The first recorded step at which singular value ``i`` reached ``level`` times its
        target ``sigma_i`` (-1 if not yet), for the modes ``0 .. min(r, width) - 1``
        (:func:`~spectrakit.core.implicit.learning_times`)."""
        h = self._records
        r = min(self.rank, self.width, self.d)
        sv = torch.as_tensor(np.stack(h["singular_values"])[:, :r])
        times = cimp.learning_times(sv.nan_to_num(nan=0.0), torch.as_tensor(self._target[:r]), level=level,
                                    steps=torch.as_tensor(np.asarray(h["step"], dtype=np.int64)))
        return xr.DataArray(times.numpy(), dims=("mode",), coords={"mode": np.arange(r)},
                            name="learning_time", attrs={"level": float(level), "units": "steps"})

    def learned_rank(self, level: float = 0.5) -> xr.DataArray:
        """How many singular values have reached ``level`` times their target at each
        recorded step: ``#{i <= r : lambda_i >= level sigma_i}`` (a staircase from 0 to r
        under gradient descent from a small initialization)."""
        if not (isinstance(level, (int, float)) and not isinstance(level, bool) and level > 0):
            raise ValueError(f"level must be a number > 0; got {level!r}.")
        r = min(self.rank, self.width, self.d)
        sv = np.stack(self._records["singular_values"])[:, :r]
        reached = np.nan_to_num(sv, nan=0.0) >= level * self._target[:r]
        return xr.DataArray(reached.sum(axis=1).astype(np.int64), dims=("step",),
                            coords={"step": np.asarray(self._records["step"], dtype=np.int64)},
                            name="learned_rank", attrs={"level": float(level)})

    def __repr__(self) -> str:
        damping = f", damping={self._damping:g}" if self.optimizer == "scaledgd" else ""
        return (f"ImplicitSession(d={self.d}, rank={self.rank}, optimizer={self.optimizer!r}, lr={self.lr:g}"
                f"{damping}, init_scale={self.init_scale:g}, width={self.width}, step={self.step}, "
                f"device={self.device}, dtype={str(self.dtype).replace('torch.', '')})")
