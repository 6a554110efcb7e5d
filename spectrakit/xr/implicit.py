"""Implicit regularization on labelled results: matrix sensing by gradient descent and
ScaledGD, diagonal linear networks and their limits, EigenPro, as xarray.

Each function converts its inputs through :mod:`spectrakit.xr._apply` (numpy and xarray
compute in float64 on the device DESIGN.md's precedence gives; a tensor stays on its
device), calls :mod:`spectrakit.core.implicit` and labels the result.

Dims: histories over ``step`` (the optimizer step of each record); eigen- and singular
values over ``mode`` (a 0-based integer index, 0 = the largest; a target's values sit on
the same ``mode``, 0 past its rank, as in :class:`spectrakit.tuning.ImplicitSession`'s
history); a design ``X`` is ``(sample, feature)`` (a DataArray's own dims); a matrix
sensing problem's matrices are ``(row, col)`` and its measurements over ``measurement``;
a grid of initialization scales adds the dim ``init_scale``. ``attrs`` record
``device``, ``dtype`` and ``method``.

>>> problem = matrix_sensing_problem(10, [2.0, 1.0], seed=0)
>>> run = gd_matrix_sensing(problem, steps=300, lr=0.1, init_scale=1e-4)
>>> learning_times(run).dims, bool(run["error"][-1] < 1e-3)
(('mode',), True)
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from ..core import implicit as core
from ._apply import compute_settings, raw, shape_of, tensor_attrs, to_numpy, to_tensor

__all__ = [
    "matrix_sensing_problem",
    "gd_matrix_sensing",
    "scaled_gd",
    "learning_times",
    "first_step_below",
    "diagonal_network_gd",
    "diagonal_network_potential",
    "diagonal_network_limit",
    "min_l1_interpolator",
    "eigenpro_preconditioner",
    "eigenpro_gd",
]



def _tensor(value, name, device, dtype, *others) -> torch.Tensor:
    device, dtype = compute_settings(device, dtype, value, *others)
    return to_tensor(value, name, device, dtype)


def _seed(seed):
    return "none" if seed is None else seed


# ------------------------------------------------------------------- matrix sensing


def matrix_sensing_problem(d: int, singular_values, *, n_measurements=None, noise: float = 0.0, seed=0,
                           device=None, dtype=None) -> xr.Dataset:
    """A rank-r PSD target ``M* = U* diag(sigma) U*^T`` and Gaussian linear measurements
    ``y_i = <A_i, M*> + noise e_i`` of it (:func:`spectrakit.core.implicit.matrix_sensing_problem`;
    ``n_measurements=None`` observes ``M*`` itself: matrix factorization).

    Returns
    -------
    xarray.Dataset
        ``target`` over ``(row, col)``, ``factor`` (U*) over ``(row, mode)``,
        ``singular_values`` (sigma) over ``mode``; with measurements ``sensing`` over
        ``(measurement, row, col)`` and ``measurements`` over ``measurement``. Pass it to
        :func:`gd_matrix_sensing` or :func:`scaled_gd`.

    Examples
    --------
    >>> p = matrix_sensing_problem(6, [3.0, 1.0], n_measurements=50, seed=0)
    >>> p["sensing"].dims, p["singular_values"].values.tolist()
    (('measurement', 'row', 'col'), [3.0, 1.0])
    """
    device, dtype = compute_settings(device, dtype, singular_values)
    sv = singular_values
    if not isinstance(raw(sv), torch.Tensor):
        sv = to_tensor(sv, "singular_values", device, dtype)
    p = core.matrix_sensing_problem(d, raw(sv), n_measurements=n_measurements, noise=noise, seed=seed,
                                    device=device, dtype=dtype)
    r = p.singular_values.shape[0]
    data = {"target": (("row", "col"), to_numpy(p.target)), "factor": (("row", "mode"), to_numpy(p.factor)),
            "singular_values": ("mode", to_numpy(p.singular_values))}
    if p.sensing is not None:
        data["sensing"] = (("measurement", "row", "col"), to_numpy(p.sensing))
        data["measurements"] = ("measurement", to_numpy(p.measurements))
    ds = xr.Dataset(data, coords={"row": np.arange(d), "col": np.arange(d), "mode": np.arange(r)})
    ds["target"].attrs["long_name"] = "target M* = U* diag(sigma) U*^T"
    ds["singular_values"].attrs["long_name"] = "target singular values sigma"
    ds.attrs.update(noise=float(noise), seed=_seed(seed), observed="measurements" if p.sensing is not None else "full",
                    **tensor_attrs(p.target))
    return ds


def _problem(problem, device=None, dtype=None) -> core.MatrixSensingProblem:
    """A Dataset from :func:`matrix_sensing_problem` as core's problem (core's own passes)."""
    if isinstance(problem, core.MatrixSensingProblem):
        return problem
    if not isinstance(problem, xr.Dataset):
        raise TypeError(f"problem must be a Dataset from matrix_sensing_problem; got {type(problem).__name__}.")
    missing = [k for k in ("target", "singular_values", "factor") if k not in problem]
    if missing:
        raise ValueError(f"problem is missing {missing}: build it with matrix_sensing_problem.")
    if device is None and dtype is None:  # where the problem was built (its attrs), unless told otherwise
        device, dtype = problem.attrs.get("device"), getattr(torch, str(problem.attrs.get("dtype", "")), None)
    device, dtype = compute_settings(device, dtype)
    t = {k: to_tensor(problem[k].transpose(*problem[k].dims).values, f"problem.{k}", device, dtype)
         for k in ("target", "singular_values", "factor", "sensing", "measurements") if k in problem}
    return core.MatrixSensingProblem(t.get("sensing"), t.get("measurements"), t["target"], t["singular_values"],
                                     t["factor"])


def _sensing_result(res: core.MatrixSensingResult, method: str, **attrs) -> xr.Dataset:
    sv = to_numpy(res.singular_values)
    k, r = sv.shape[1], res.target.shape[0]
    n = max(k, r)
    sv_full = np.full((sv.shape[0], n), np.nan)
    sv_full[:, :k] = sv
    target = np.zeros(n)
    target[:r] = to_numpy(res.target)
    predicted = np.full(n, np.nan)
    predicted[:r] = to_numpy(res.predicted_steps)
    ds = xr.Dataset(
        {"singular_values": (("step", "mode"), sv_full), "loss": ("step", to_numpy(res.loss)),
         "error": ("step", to_numpy(res.error)), "factor": (("row", "width"), to_numpy(res.factor)),
         "predicted_steps": ("mode", predicted)},
        coords={"step": to_numpy(res.steps), "mode": np.arange(n), "target": ("mode", target)},
    )
    ds["singular_values"].attrs["long_name"] = "eigenvalues of U U^T, largest first"
    ds["error"].attrs["long_name"] = "||U U^T - M*||_F / ||M*||_F"
    ds["predicted_steps"].attrs["long_name"] = "half-rise step by the small-initialization theory (gd)"
    ds["target"].attrs["long_name"] = "target singular values (0 past the rank)"
    ds["mode"].attrs["long_name"] = "singular value index, 0 = the largest"
    ds.attrs.update(method=method, **attrs, **tensor_attrs(res.factor))
    return ds


def gd_matrix_sensing(problem, *, steps: int, lr: float, init_scale: float = 1e-4, width=None, record_every: int = 1,
                      seed=0) -> xr.Dataset:
    """Gradient descent on ``U U^T`` from a small initialization
    (:func:`spectrakit.core.implicit.gd_matrix_sensing`): the singular values are learned
    one at a time, largest first, and the spare ones stay small.

    Returns
    -------
    xarray.Dataset
        ``singular_values`` over ``(step, mode)``, ``loss`` and ``error`` over ``step``,
        ``factor`` (the final U) over ``(row, width)``, ``predicted_steps`` over ``mode``;
        coordinate ``target`` on ``mode``.

    Examples
    --------
    >>> run = gd_matrix_sensing(matrix_sensing_problem(8, [2.0], seed=0), steps=200, lr=0.1, record_every=50)
    >>> run["step"].values.tolist(), run["singular_values"].dims
    ([0, 50, 100, 150, 200], ('step', 'mode'))
    """
    res = core.gd_matrix_sensing(_problem(problem), steps=steps, lr=lr, init_scale=init_scale, width=width,
                                 record_every=record_every, seed=seed)
    return _sensing_result(res, "gd", lr=float(lr), init_scale=float(init_scale), seed=_seed(seed))


def scaled_gd(problem, *, damping: float, steps: int, lr: float = 0.5, init_scale: float = 1e-4, width=None,
              record_every: int = 1, seed=0) -> xr.Dataset:
    """ScaledGD(lambda): gradient descent on ``U U^T`` preconditioned by ``(U^T U + damping
    I)^-1`` (:func:`spectrakit.core.implicit.scaled_gd`): every singular value is learned
    at the same rate. The result is labelled as :func:`gd_matrix_sensing`'s.

    Examples
    --------
    >>> p = matrix_sensing_problem(8, [1.0, 0.01], seed=0)
    >>> run = scaled_gd(p, damping=1e-6, steps=60, init_scale=1e-6, width=2)
    >>> bool(run["error"][-1] < 1e-6), run.attrs["method"]
    (True, 'scaledgd')
    """
    res = core.scaled_gd(_problem(problem), damping=damping, steps=steps, lr=lr, init_scale=init_scale, width=width,
                         record_every=record_every, seed=seed)
    return _sensing_result(res, "scaledgd", damping=float(damping), lr=float(lr), init_scale=float(init_scale),
                           seed=_seed(seed))


def learning_times(history, target=None, *, level: float = 0.5) -> xr.DataArray:
    """The first step at which each singular value reaches ``level`` times its target
    (-1 if never; :func:`spectrakit.core.implicit.learning_times`).

    Parameters
    ----------
    history : Dataset or DataArray or array
        A result of :func:`gd_matrix_sensing` / :func:`scaled_gd` or an
        :class:`~spectrakit.tuning.ImplicitSession` history (``singular_values`` over
        ``(step, mode)`` with the coordinate ``target``), or the singular values
        themselves (then ``target`` is required; a bare array's steps are record indices).
    target : optional
        The target singular values (the modes with a target > 0 are timed).

    Returns
    -------
    xarray.DataArray
        Steps over ``mode`` (the first ``r``).

    Examples
    --------
    >>> import numpy as np
    >>> learning_times(np.array([[0.1, 0.0], [2.0, 0.1], [3.0, 0.6], [3.0, 1.0]]), [3.0, 1.0]).values.tolist()
    [1, 2]
    """
    if isinstance(history, xr.Dataset):
        if "singular_values" not in history:
            raise ValueError("history has no variable 'singular_values': pass a gd_matrix_sensing result.")
        if target is None:
            target = history["target"] if "target" in history.coords or "target" in history else None
        history = history["singular_values"]
    if target is None:
        raise TypeError("target is required (the target singular values) unless history is a result Dataset.")
    if len(shape_of(history)) != 2:
        raise ValueError(f"history must be (step, mode); got shape {shape_of(history)}.")
    steps = None
    if isinstance(history, xr.DataArray):
        history = history.transpose("step", ...) if "step" in history.dims else history
        steps = history["step"].values if "step" in history.coords else None
        history = history.fillna(0.0)  # modes a narrow factor does not have (NaN): never reached
    tg = raw(target.values if isinstance(target, xr.DataArray) else target)
    tg = to_numpy(tg) if isinstance(tg, torch.Tensor) else np.asarray(tg, dtype=float)
    r = int((tg > 0).sum()) if isinstance(target, xr.DataArray) else tg.shape[0]
    h = _tensor(history, "history", None, None)
    tg_t = torch.as_tensor(tg[:r], dtype=h.dtype, device=h.device)
    times = core.learning_times(h, tg_t, level=level, steps=None if steps is None else torch.as_tensor(np.array(steps)))
    out = xr.DataArray(to_numpy(times), dims=("mode",), coords={"mode": np.arange(r)}, name="learning_time")
    out.attrs.update(long_name=f"first step at {level} of the target (-1: never)", level=float(level), units="steps")
    return out


def first_step_below(values, level: float) -> xr.DataArray:
    """The first step at which a curve is ``<= level`` (-1 if never;
    :func:`spectrakit.core.implicit.first_step_below`), along ``step`` (a DataArray's
    ``step`` coordinate gives the answer in steps) or an array's last axis (a record index).

    Examples
    --------
    >>> import xarray as xr
    >>> err = xr.DataArray([1.0, 0.5, 0.05, 0.01], dims="step", coords={"step": [0, 10, 20, 30]})
    >>> int(first_step_below(err, 0.1))
    20
    """
    steps, lead, coords = None, None, {}
    if isinstance(values, xr.DataArray):
        dim = "step" if "step" in values.dims else values.dims[-1]
        values = values.transpose(..., dim)
        steps = values[dim].values if dim in values.coords else None
        lead = values.dims[:-1]
        coords = {k: v for k, v in values.coords.items() if set(v.dims) <= set(lead)}
    t = _tensor(values, "values", None, None)
    first = core.first_step_below(t, level, None if steps is None else torch.as_tensor(np.array(steps)))
    if lead is None:
        lead = tuple(f"dim_{i}" for i in range(t.ndim - 1))
    out = xr.DataArray(to_numpy(first), dims=lead, coords=coords, name="first_step_below")
    out.attrs.update(long_name=f"first step with a value <= {level} (-1: never)", level=float(level))
    return out


# ---------------------------------------------------------- diagonal linear networks


def _design(X, y, device, dtype):
    """(X tensor, y tensor, feature dim, feature coords) of a design (sample, feature)."""
    if len(shape_of(X)) != 2:
        raise ValueError(f"X must be 2-D (samples, features); got shape {shape_of(X)}.")
    if len(shape_of(y)) != 1:
        raise ValueError(f"y must be 1-D (one value per sample); got shape {shape_of(y)}.")
    feature, coords = "feature", {}
    if isinstance(X, xr.DataArray):
        feature = X.dims[1]
        coords = {k: v.values for k, v in X.coords.items() if v.dims == (feature,)}
    device, dtype = compute_settings(device, dtype, X, y)
    return to_tensor(X, "X", device, dtype), to_tensor(y, "y", device, dtype), feature, coords


def _scale_grid(init_scale):
    data = raw(init_scale)
    arr = to_numpy(data) if isinstance(data, torch.Tensor) else np.asarray(data, dtype=float)
    if arr.ndim > 1:
        raise ValueError(f"init_scale must be a number or a 1-D grid; got shape {arr.shape}.")
    return arr


def diagonal_network_gd(X, y, *, init_scale, lr, steps: int, record_every: int = 1, device=None, dtype=None
                        ) -> xr.Dataset:
    """Gradient descent on a diagonal linear network ``w = u*u - v*v`` from ``u = v = alpha``
    (:func:`spectrakit.core.implicit.diagonal_network_gd`): small ``alpha`` ends near the
    sparse min-l1 interpolator, large ``alpha`` near the min-l2 one.

    Parameters
    ----------
    X : (n, d) design (numpy, tensor or DataArray); y : (n,) targets.
    init_scale : float or 1-D grid
        ``alpha``; a grid trains every scale at once and adds the dim ``init_scale``.
    lr : float or a grid matching ``init_scale``.

    Returns
    -------
    xarray.Dataset
        ``weights`` over ``([init_scale,] feature)``, ``history`` over ``(step,
        [init_scale,] feature)``, ``loss`` and ``l1_norm`` over ``(step, [init_scale])``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((10, 20))
    >>> w_star = np.zeros(20); w_star[0] = 1.0
    >>> run = diagonal_network_gd(X, X @ w_star, init_scale=[1e-3, 1.0], lr=0.05, steps=2000, record_every=500)
    >>> l1 = run["l1_norm"].isel(step=-1)
    >>> run["weights"].dims, bool(l1.sel(init_scale=1e-3) < l1.sel(init_scale=1.0))
    (('init_scale', 'feature'), True)
    """
    Xt, yt, feature, fcoords = _design(X, y, device, dtype)
    scales = _scale_grid(init_scale)
    lr_arg = lr if np.ndim(raw(lr)) == 0 else torch.as_tensor(np.asarray(raw(lr), dtype=float))
    res = core.diagonal_network_gd(Xt, yt, init_scale=torch.as_tensor(scales) if scales.ndim else float(scales),
                                   lr=lr_arg, steps=steps, record_every=record_every)
    grid = ("init_scale",) if scales.ndim else ()
    coords = {"step": to_numpy(res.steps), feature: fcoords.pop(feature, np.arange(Xt.shape[1])),
              **{k: (feature, v) for k, v in fcoords.items()}}
    if grid:
        coords["init_scale"] = scales
    ds = xr.Dataset(
        {"weights": (grid + (feature,), to_numpy(res.weights)),
         "history": (("step",) + grid + (feature,), to_numpy(res.history)),
         "loss": (("step",) + grid, to_numpy(res.loss)), "l1_norm": (("step",) + grid, to_numpy(res.l1_norm))},
        coords=coords,
    )
    ds["weights"].attrs["long_name"] = "final w = u*u - v*v"
    ds["loss"].attrs["long_name"] = "||X w - y||^2 / (2n)"
    if not grid:
        ds.attrs["init_scale"] = float(scales)
    ds.attrs.update(method="gd on w = u*u - v*v", **tensor_attrs(res.weights))
    return ds


def diagonal_network_potential(w, init_scale: float, *, device=None, dtype=None) -> xr.DataArray:
    """The implicit regularizer ``Q_alpha(w)`` of :func:`diagonal_network_gd` (Woodworth et
    al. 2020; :func:`spectrakit.core.implicit.diagonal_network_potential`), summed over the
    last dim (``feature`` for a DataArray that has it); the other dims are kept.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0.0, 0.0], [1.0, -2.0]])
    >>> q = diagonal_network_potential(w, 10.0)   # 4 alpha^2 Q -> ||w||^2 as alpha grows
    >>> q.dims, (4 * 100 * q).round(3).values.tolist()
    (('dim_0',), [0.0, 5.0])
    """
    lead, coords = (), {}
    if isinstance(w, xr.DataArray):
        dim = "feature" if "feature" in w.dims else w.dims[-1]
        w = w.transpose(..., dim)
        lead = w.dims[:-1]
        coords = {k: v for k, v in w.coords.items() if set(v.dims) <= set(lead)}
    t = _tensor(w, "w", device, dtype)
    if not lead and t.ndim > 1:
        lead = tuple(f"dim_{i}" for i in range(t.ndim - 1))
    q = core.diagonal_network_potential(t, init_scale)
    out = xr.DataArray(to_numpy(q), dims=lead, coords=coords, name="potential")
    out.attrs.update(long_name="Q_alpha(w)", init_scale=float(init_scale), **tensor_attrs(q))
    return out


def diagonal_network_limit(X, y, init_scale, *, tol: float = 1e-12, max_iter: int = 200, device=None, dtype=None
                           ) -> xr.DataArray:
    """Where gradient flow on the diagonal network ends: ``argmin Q_alpha(w)`` subject to
    ``X w = y``, by Newton's method on the dual (:func:`spectrakit.core.implicit.diagonal_network_limit`).

    Returns
    -------
    xarray.DataArray
        Over ``([init_scale,] feature)`` (a grid of ``init_scale`` adds the dim).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((10, 20))
    >>> path = diagonal_network_limit(X, X[:, 0], [1e-4, 1e2])
    >>> path.dims, bool(np.allclose(X @ path.values.T, X[:, [0, 0]]))
    (('init_scale', 'feature'), True)
    """
    Xt, yt, feature, fcoords = _design(X, y, device, dtype)
    scales = _scale_grid(init_scale)
    w = core.diagonal_network_limit(Xt, yt, torch.as_tensor(scales) if scales.ndim else float(scales), tol=tol,
                                    max_iter=max_iter)
    grid = ("init_scale",) if scales.ndim else ()
    coords = {feature: fcoords.pop(feature, np.arange(Xt.shape[1])), **{k: (feature, v) for k, v in fcoords.items()}}
    if grid:
        coords["init_scale"] = scales
    out = xr.DataArray(to_numpy(w), dims=grid + (feature,), coords=coords, name="limit")
    out.attrs.update(long_name="argmin Q_alpha(w) s.t. X w = y", method="newton on the dual", **tensor_attrs(w))
    if not grid:
        out.attrs["init_scale"] = float(scales)
    return out


def min_l1_interpolator(X, y, *, device=None, dtype=None) -> xr.DataArray:
    """``argmin ||w||_1`` subject to ``X w = y`` (basis pursuit, by scipy's HiGHS;
    :func:`spectrakit.core.implicit.min_l1_interpolator`), over ``feature``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((20, 40))
    >>> w_star = np.zeros(40); w_star[[3, 7]] = [1.0, -2.0]
    >>> np.allclose(min_l1_interpolator(X, X @ w_star).values, w_star, atol=1e-8)
    True
    """
    Xt, yt, feature, fcoords = _design(X, y, device, dtype)
    w = core.min_l1_interpolator(Xt, yt)
    coords = {feature: fcoords.pop(feature, np.arange(Xt.shape[1])), **{k: (feature, v) for k, v in fcoords.items()}}
    out = xr.DataArray(to_numpy(w), dims=(feature,), coords=coords, name="min_l1")
    out.attrs.update(long_name="min ||w||_1 s.t. X w = y", method="linprog (highs)", **tensor_attrs(w))
    return out


# ------------------------------------------------------------------------ EigenPro


def _eigen(eigenvalues, eigenvectors, device, dtype):
    vals = _tensor(eigenvalues, "eigenvalues", device, dtype, eigenvectors)
    vecs = to_tensor(eigenvectors, "eigenvectors", vals.device, vals.dtype)
    return vals, vecs


def eigenpro_preconditioner(eigenvalues, eigenvectors, k: int, *, device=None, dtype=None) -> xr.DataArray:
    """EigenPro's preconditioner ``P = I - sum_{i <= k} (1 - lambda_{k+1}/lambda_i) q_i q_i^T``
    (Ma & Belkin 2017; :func:`spectrakit.core.implicit.eigenpro_preconditioner`): ``P H``
    has the top ``k`` eigenvalues flattened to ``lambda_{k+1}``.

    ``eigenvectors`` (n, modes) has one column per eigenvalue (largest first); the result
    is over ``(<dim>, <dim>_)`` with ``<dim>`` its first dim (``sample`` for an array).

    Examples
    --------
    >>> import numpy as np
    >>> P = eigenpro_preconditioner(np.array([4.0, 2.0, 1.0]), np.eye(3), k=1)
    >>> P.dims, np.diag(P.values).tolist()
    (('sample', 'sample_'), [0.5, 1.0, 1.0])
    """
    vals, vecs = _eigen(eigenvalues, eigenvectors, device, dtype)
    dim = eigenvectors.dims[0] if isinstance(eigenvectors, xr.DataArray) else "sample"
    P = core.eigenpro_preconditioner(vals, vecs, k)
    out = xr.DataArray(to_numpy(P), dims=(dim, dim + "_"), name="preconditioner")
    out.attrs.update(long_name="EigenPro preconditioner P", k=int(k), **tensor_attrs(P))
    return out


def eigenpro_gd(data, y, *, k: int, steps: int, lr=None, kind: str = "kernel", eigen=None, record_every: int = 1,
                device=None, dtype=None) -> xr.Dataset:
    """Kernel (or least-squares) gradient descent preconditioned by EigenPro; ``k = 0`` is
    plain gradient descent (:func:`spectrakit.core.implicit.eigenpro_gd`).

    Parameters
    ----------
    data : (n, n) kernel ``K`` (``kind="kernel"``) or (n, d) design ``X`` (``"features"``).
    y : (n,) targets.
    eigen : (eigenvalues, eigenvectors), optional
        The top eigenpairs of ``H`` (``K / n`` or ``X^T X / n``), largest first, if known.

    Returns
    -------
    xarray.Dataset
        ``coef`` (``sample`` for a kernel, ``feature`` for a design), ``mse`` and
        ``predicted_mse`` (the closed form) over ``step``, ``eigenvalues`` and
        ``preconditioned_eigenvalues`` over ``mode``; attrs ``lr``, ``speedup``
        (``lambda_1 / lambda_{k+1}``), ``k``, ``kind``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((30, 10)) * np.geomspace(1, 0.1, 10)
    >>> run = eigenpro_gd(X, X @ np.ones(10), k=3, steps=200, kind="features", record_every=50)
    >>> run["mse"].dims, run["coef"].dims, bool(run["mse"][-1] < run["mse"][0])
    (('step',), ('feature',), True)
    """
    device, dtype = compute_settings(device, dtype, data, y)
    D = to_tensor(data, "data", device, dtype)
    yt = to_tensor(y, "y", device, dtype)
    eig = None if eigen is None else _eigen(eigen[0], eigen[1], device, dtype)
    res = core.eigenpro_gd(D, yt, k=k, steps=steps, lr=lr, kind=kind, eigen=eig, record_every=record_every)
    coef_dim = "sample" if kind == "kernel" else "feature"
    if isinstance(data, xr.DataArray):
        coef_dim = data.dims[1]
    ds = xr.Dataset(
        {"coef": ((coef_dim,), to_numpy(res.coef)), "mse": ("step", to_numpy(res.mse)),
         "predicted_mse": ("step", to_numpy(res.predicted_mse)), "eigenvalues": ("mode", to_numpy(res.eigenvalues)),
         "preconditioned_eigenvalues": ("mode", to_numpy(res.preconditioned_eigenvalues))},
        coords={"step": to_numpy(res.steps), "mode": np.arange(res.eigenvalues.shape[0])},
    )
    ds["mse"].attrs["long_name"] = "training mean squared error"
    ds["predicted_mse"].attrs["long_name"] = "training MSE by the closed form"
    ds["preconditioned_eigenvalues"].attrs["long_name"] = "eigenvalues of P H"
    ds.attrs.update(method="eigenpro" if k else "gd", k=int(k), kind=kind, lr=float(res.lr), speedup=float(res.speedup),
                    **tensor_attrs(res.coef))
    return ds
