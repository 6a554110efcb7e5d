"""Learning-curve theory on labelled results: the deterministic equivalents, their
Monte-Carlo counterparts, random-features ridge and model collapse as xarray Datasets.

Each function converts its inputs through :mod:`spectrakit.xr._apply` (numpy and xarray
go where :func:`spectrakit.set_options` or the automatic choice says, in float64; a
tensor stays on its device), calls :mod:`spectrakit.core.curves` and labels the result.
The conventions (``reg`` = scikit-learn's alpha, modes, ``coefs``, excess risk) are that
module's; they are repeated in each result's ``conventions`` attribute.

Dims: ``n`` (sample sizes), the method's parameter (``reg`` for ridge, ``steps`` for
gradient descent and gradient flow, ``rank`` for spectral cut-off; ``n_features`` for
random features), ``mode`` (an integer index; the population eigenvalue is the coordinate
``eigenvalue`` on it) and ``generation``. A scalar argument gives no dim, with its value
in ``attrs`` (the same Dataset otherwise).

Seed grids: every function with a ``seed`` (the Monte-Carlo ones and
:func:`random_features_curve`) also takes a 1-D grid of seeds (a list, an array or a
DataArray; dim ``seed`` unless labelled): one independent estimate per seed, over that
leading dim (the seed's coordinate replaces ``attrs["seed"]``; average with
``.mean("seed")``). A dask-backed grid gives a lazy Dataset whose seeds run block by
block when computed (``xarray.apply_ufunc(..., dask="parallelized")``, on a
dask.distributed cluster each worker its seeds): the draws are the unit of parallel work.

>>> import numpy as np
>>> from spectrakit.core.curves import power_law_spectrum, power_law_target
>>> lam = power_law_spectrum(200, 1.5, device="cpu").numpy()
>>> c = power_law_target(200, 2.0, device="cpu").numpy()
>>> curve = learning_curve(lam, c, n=[50, 100, 200], reg=1.0, noise=0.3)
>>> curve["error"].dims, curve["bias2_mode"].dims
(('n',), ('n', 'mode'))
>>> bool((curve["error"].diff("n") < 0).all())
True
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import xarray as xr

from ..core import curves as core
from ..core.checks import check_memory, check_reg, itemsize
from ._apply import apply_core, compute_settings, is_dask, raw, settings_attrs, to_numpy, to_tensor

__all__ = [
    "learning_curve",
    "monte_carlo_curve",
    "optimal_learning_curve",
    "random_features_curve",
    "random_features_monte_carlo",
    "model_collapse",
    "model_collapse_monte_carlo",
]

#: each method's own parameter (its dim in the results)
PARAMETERS = {"ridge": "reg", "gd": "steps", "flow": "steps", "cutoff": "rank"}

CONVENTIONS = (
    "reg = scikit-learn's alpha (ridge minimizes ||y - X w||^2 + reg ||w||^2); gradient descent "
    "on (1/2n)||y - X w||^2 from 0 with step lr; error = excess risk E||f_hat - f*||^2 (test MSE "
    "= error + noise^2); c_k = the target's coefficient on the orthonormal eigenfunction k; see "
    "spectrakit.core.curves"
)

_LONG_NAMES = {
    "error": "excess risk E||f_hat - f*||^2",
    "bias2": "error with noiseless labels",
    "variance": "error added by the label noise",
    "test_mse": "test MSE on noisy labels (error + noise^2)",
    "bias2_mode": "bias^2 of the learned function's component in the mode",
    "variance_mode": "variance of the learned function's component in the mode",
    "factors": "mean filter E f_hat_k / c_k (ridge: learnability)",
    "target_power": "target power c_k^2",
    "kappa": "effective regularization (population scale)",
    "error_se": "standard error of the Monte-Carlo mean",
    "approximation": "error of the best function of the N features",
}


# ------------------------------------------------------------------------- inputs


def _spectrum_and_target(eigenvalues, coefs, device, dtype):
    """(lam, c) tensors on the device, and the 1-D coords of a labelled ``eigenvalues``
    (they go on ``mode``)."""
    device, dtype = compute_settings(device, dtype, eigenvalues, coefs)
    for name, value in (("eigenvalues", eigenvalues), ("coefs", coefs)):
        if isinstance(value, xr.DataArray) and value.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one value per mode); got dims {tuple(value.dims)}.")
    lam = to_tensor(eigenvalues, "eigenvalues", device, dtype)
    c = None if coefs is None else to_tensor(coefs, "coefs", device, dtype)
    extra = {}
    if isinstance(eigenvalues, xr.DataArray):
        dim = eigenvalues.dims[0]
        extra = {k: v.values for k, v in eigenvalues.coords.items() if v.dims == (dim,) and k != "mode"}
    return lam, c, extra


def _grid_of(value, name: str, method: str | None = None):
    """A scalar or 1-D grid as (numpy values, dims): a scalar adds no dim."""
    if value is None:
        hint = f" (method={method!r} takes {name})" if method else ""
        raise TypeError(f"{name} is required{hint}.")
    data = raw(value)
    if isinstance(data, torch.Tensor):
        data = to_numpy(data)
    arr = np.asarray(data)
    if name == "reg":
        arr = check_reg(data).reshape(arr.shape)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a number or a 1-D grid of numbers; got {value!r}.")
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D grid; got shape {arr.shape}.")
    return arr, ((name,) if arr.ndim == 1 else ())


def _parameter(method: str, reg, steps, rank):
    """The method's parameter (name, value), refusing the parameters of other methods."""
    if method not in PARAMETERS:
        raise ValueError(f"method={method!r} is unknown; choose one of {tuple(PARAMETERS)}.")
    given = {"reg": reg, "steps": steps, "rank": rank}
    name = PARAMETERS[method]
    for other, value in given.items():
        if other != name and value is not None:
            raise TypeError(f"{other}= does not apply to method={method!r}; it takes {name}=.")
    return name, given[name]


# ------------------------------------------------------------------------- labels


def _dataset(fields: dict, lead: tuple, grids: dict, attrs: dict, lam=None, extra=None) -> xr.Dataset:
    """Label core's tensors (or ``(dims, tensor)`` pairs): leading dims ``lead`` (+ ``mode``
    for per-mode fields, whose coords are the index, the eigenvalue ``lam`` and ``extra``)."""
    data_vars = {}
    for name, t in fields.items():
        if t is None:
            continue
        if isinstance(t, xr.DataArray):  # labelled already (a seed grid: per_seed)
            data_vars[name] = t
            continue
        dims, t = t if isinstance(t, tuple) else (None, t)
        arr = to_numpy(t)
        dims = dims or lead + (("mode",) if arr.ndim == len(lead) + 1 else ())
        data_vars[name] = (dims, arr)
    coords = {d: values for d, (values, dims) in grids.items() if dims}
    if lam is not None and any("mode" in (v.dims if isinstance(v, xr.DataArray) else v[0]) for v in data_vars.values()):
        coords.update({"mode": np.arange(lam.shape[0]), "eigenvalue": ("mode", to_numpy(lam))})
        coords.update({k: ("mode", v) for k, v in (extra or {}).items()})
    ds = xr.Dataset(data_vars, coords=coords)
    for name, var in ds.data_vars.items():
        var.attrs["long_name"] = _LONG_NAMES.get(name, name)
    for d, (values, dims) in grids.items():
        if not dims:
            ds.attrs[d] = float(values)
    ds.attrs.update(attrs, conventions=CONVENTIONS)
    return ds


# ------------------------------------------------------------------- seed grids


def _seed_grid(seed):
    """None for one seed (an integer or None); else the seeds as a 1-D DataArray (dim
    ``seed`` unless labelled), one independent Monte-Carlo estimate each."""
    data = raw(seed)
    if seed is None or np.ndim(data) == 0:
        return None
    if isinstance(seed, xr.DataArray):
        if seed.ndim != 1:
            raise ValueError(f"seed must be an integer or a 1-D grid of seeds; got dims {tuple(seed.dims)}.")
        grid = seed
    else:
        arr = to_numpy(data) if isinstance(data, torch.Tensor) else np.asarray(data)
        if arr.ndim != 1:
            raise ValueError(f"seed must be an integer or a 1-D grid of seeds; got shape {arr.shape}.")
        grid = xr.DataArray(arr, dims="seed", coords={"seed": arr})
    if grid.dtype.kind not in "iu":
        raise TypeError(f"seed must hold whole numbers >= 0; got dtype {grid.dtype}.")
    if not is_dask(grid) and (grid.values < 0).any():
        raise ValueError("seed must hold whole numbers >= 0.")
    return grid


def _seed_block(seeds, *, run, names, shifted):
    """One block of seeds: ``run(seed=s)`` for each, its fields stacked (seeds first);
    ``shifted`` maps more names to ``(field, constant)``: that field plus the constant."""
    seeds = np.asarray(seeds)
    results = [run(seed=int(s)) for s in seeds.reshape(-1)]
    out = []
    for k in names:
        field, add = shifted.get(k, (k, 0.0))
        arr = np.stack([to_numpy(getattr(r, field)) for r in results])
        out.append((arr + add if add else arr).reshape(seeds.shape + arr.shape[1:]))
    return tuple(out)


def _per_seed(seeds: xr.DataArray, run, fields: dict, sizes: dict, like: torch.Tensor, probe: dict,
              shifted: dict | None = None) -> dict:
    """Each field of ``run(seed=s)`` (a NamedTuple of tensors; ``fields`` maps its names to
    their dims) as a DataArray over ``seeds``' dim first: one Monte-Carlo estimate per
    seed, through :func:`spectrakit.xr._apply.apply_core`, so a dask-backed seed grid is
    computed lazily, block by block (a cluster's workers each run their seeds). A lazy
    grid first runs ``run(seed=0, **probe)`` (a cheap draw) so that bad arguments fail
    here, not at compute time. ``shifted`` (name: (field, constant)) adds fields computed
    in the blocks too: an output derived from another lazily (``error + noise**2``) would
    make a graph whose intermediate output distributed's graph optimization can lose.
    """
    if is_dask(seeds):
        run(seed=0, **probe)
    shifted = shifted or {}
    fields = {**fields, **{k: fields[src] for k, (src, _) in shifted.items()}}
    names = list(fields)
    dtype = to_numpy(torch.zeros(0, dtype=like.dtype)).dtype
    outs = apply_core(_seed_block, [seeds], [[]], out_dims=[list(fields[k]) for k in names], out_sizes=sizes,
                      out_dtype=[dtype] * len(names), labels=["seed"], run=run, names=tuple(names), shifted=shifted)
    return dict(zip(names, outs))


def _mc_fields(lead: tuple, names) -> dict:
    """The dims of a Monte-Carlo result's fields (per-mode ones end in ``_mode``)."""
    return {k: lead + (("mode",) if k.endswith("_mode") else ()) for k in names}


# --------------------------------------------------------------------- theory curves


def learning_curve(
    eigenvalues, coefs, *, n, noise=0.0, method="ridge", reg=None, steps=None, rank=None, lr=None,
    device=None, dtype=None,
) -> xr.Dataset:
    """The predicted test error of ridge, gradient descent, gradient flow or spectral
    cut-off for a population spectrum and a target, with bias², variance and their split
    over the modes.

    ``method="ridge"`` (parameter ``reg``) is :func:`spectrakit.core.curves.ridge_learning_curve`
    (the deterministic equivalent, with the effective regularization ``kappa``);
    ``"gd"`` and ``"flow"`` (``steps``, step size ``lr``) are
    :func:`~spectrakit.core.curves.gd_learning_curve`; ``"cutoff"`` (``rank``) is
    :func:`~spectrakit.core.curves.cutoff_learning_curve`.

    Parameters
    ----------
    eigenvalues : (P,) population spectrum ``>= 0`` (numpy, torch or a 1-D DataArray,
        whose coords are kept on ``mode``).
    coefs : (P,) the target's coefficients ``c_k``.
    n : scalar or 1-D grid of sample sizes.
    noise : label-noise standard deviation.
    method : ``"ridge"``, ``"gd"``, ``"flow"`` or ``"cutoff"``.
    reg, steps, rank : scalar or 1-D grid; exactly the method's own one.
    lr : step size for gd and flow (default ``1/lambda_max``).
    device, dtype : where to compute (DESIGN.md's precedence).

    Returns
    -------
    xarray.Dataset
        ``error``, ``bias2``, ``variance``, ``test_mse`` over ``(n, <parameter>)``;
        ``bias2_mode``, ``variance_mode``, ``factors`` over ``(..., mode)``;
        ``target_power`` over ``mode``; ``kappa`` (ridge). A scalar ``n`` or parameter adds
        no dim (its value is in ``attrs``).

    Examples
    --------
    Isotropic features, ridgeless, twice as many modes as samples: Hastie et al.'s
    ``bias2 = r**2 (1 - n/P)`` and ``variance = noise**2 n/(P - n)``:

    >>> curve = learning_curve(np.ones(200), np.full(200, 0.1), n=100, reg=0.0, noise=0.5)
    >>> round(float(curve["bias2"]), 6), round(float(curve["variance"]), 6)
    (1.0, 0.25)
    """
    name, value = _parameter(method, reg, steps, rank)
    lam, c, extra = _spectrum_and_target(eigenvalues, coefs, device, dtype)
    n_arr, n_dims = _grid_of(n, "n")
    p_arr, p_dims = _grid_of(value, name, method)
    points = float(n_arr.size) * float(p_arr.size)
    # per point of the grids: the per-mode terms (a few arrays of P modes) and the curves
    check_memory(
        itemsize(lam.dtype) * points * (4 * lam.shape[-1] + 8), lam.device, name=f"n and {name}",
        what=f"learning curves at {n_arr.size} x {p_arr.size} grid points over {lam.shape[-1]} modes",
        alternative=f"Use grids of a few hundred values of n and {name} (numpy.geomspace), or fewer modes.",
    )
    n_t, p_t = torch.as_tensor(np.array(n_arr)), torch.as_tensor(np.array(p_arr))
    attrs = {"method": method, "noise": float(noise), **settings_attrs(lam.device, lam.dtype)}
    if method == "ridge":
        result = core.ridge_learning_curve(lam, c, noise, n_t, p_t)
        attrs["approximation"] = "deterministic equivalent (exact as n and P grow)"
    elif method == "cutoff":
        result = core.cutoff_learning_curve(lam, c, noise, n_t, p_t)
        attrs["approximation"] = "population approximation (accurate while rank << n)"
    else:
        result = core.gd_learning_curve(lam, c, noise, n_t, p_t, lr=lr, flow=method == "flow")
        attrs["lr"] = float(1.0 / float(lam.max()) if lr is None else lr)
        attrs["approximation"] = "deterministic equivalent of gradient flow" + (
            "" if method == "flow" else " plus the population-level step correction")
    fields = result._asdict()
    fields["test_mse"] = result.error + float(noise) ** 2
    fields["target_power"] = (("mode",), c * c)
    return _dataset(fields, n_dims + p_dims, {"n": (n_arr, n_dims), name: (p_arr, p_dims)}, attrs, lam, extra)


def monte_carlo_curve(
    eigenvalues, coefs, *, n, noise=0.0, method="ridge", reg=None, steps=None, rank=None, lr=None,
    trials=20, seed=0, device=None, dtype=None,
) -> xr.Dataset:
    """The same errors measured on synthetic Gaussian data: the dots for a theory curve of
    :func:`learning_curve` (:func:`spectrakit.core.curves.monte_carlo_curve`).

    Arguments as :func:`learning_curve` (``eigenvalues > 0``, ``n`` whole numbers), plus
    ``trials`` (draws of the design per ``n``) and ``seed`` (an integer, or a grid: one
    estimate per seed over a leading ``seed`` dim, lazy when dask-backed; see the module).

    Returns
    -------
    xarray.Dataset
        ``error`` (mean over the trials), ``error_se`` (its standard error), ``bias2``,
        ``variance``, ``test_mse`` and the per-mode ``bias2_mode``, ``variance_mode``; dims
        as :func:`learning_curve`.

    Examples
    --------
    >>> lam, c = 1.0 / np.arange(1, 101) ** 1.5, 1.0 / np.arange(1, 101)
    >>> mc = monte_carlo_curve(lam, c, n=50, reg=[0.1, 1.0], noise=0.3, trials=10)
    >>> theory = learning_curve(lam, c, n=50, reg=[0.1, 1.0], noise=0.3)
    >>> bool((abs(mc["error"] / theory["error"] - 1) < 0.1).all())
    True
    """
    name, value = _parameter(method, reg, steps, rank)
    lam, c, extra = _spectrum_and_target(eigenvalues, coefs, device, dtype)
    n_arr, n_dims = _grid_of(n, "n")
    p_arr, p_dims = _grid_of(value, name, method)
    run = functools.partial(core.monte_carlo_curve, lam, c, noise, torch.as_tensor(n_arr), torch.as_tensor(p_arr),
                            method=method, lr=lr, trials=trials)
    seeds = _seed_grid(seed)
    if seeds is None:
        fields = run(seed=seed)._asdict()
        fields["test_mse"] = fields["error"] + float(noise) ** 2
    else:
        fields = _per_seed(seeds, run, _mc_fields(n_dims + p_dims, core.MonteCarloCurve._fields),
                           {"n": n_arr.size, name: p_arr.size, "mode": lam.shape[0]}, lam, {"trials": 1},
                           shifted={"test_mse": ("error", float(noise) ** 2)})
    attrs = {"method": method, "noise": float(noise), "trials": int(trials), "seed": seed, **settings_attrs(lam.device, lam.dtype)}
    if method in ("gd", "flow"):
        attrs["lr"] = float(1.0 / float(lam.max()) if lr is None else lr)
    if seed is None:
        attrs["seed"] = "none"
    if seeds is not None:
        del attrs["seed"]  # (the seed coordinate)
    return _dataset(fields, n_dims + p_dims, {"n": (n_arr, n_dims), name: (p_arr, p_dims)}, attrs, lam, extra)


def optimal_learning_curve(
    eigenvalues, coefs, *, n, noise=0.0, method="ridge", grid=None, lr=None, device=None, dtype=None,
) -> xr.Dataset:
    """The error at the best parameter (reg, steps or rank) for each ``n``: the tuned
    learning curve (:func:`spectrakit.core.curves.optimal_learning_curve`), where ridge's
    saturation for smooth targets shows against gradient descent.

    Returns
    -------
    xarray.Dataset
        ``error`` and ``best`` (the parameter at the minimum) over ``n``; ``errors`` over
        ``(n, <parameter>)``, the whole curve searched.

    Examples
    --------
    >>> lam, c = 1.0 / np.arange(1, 501) ** 1.5, np.arange(1, 501) ** -1.25
    >>> best = optimal_learning_curve(lam, c, n=[100, 1000], noise=0.5)
    >>> bool(best["error"][1] < best["error"][0]), best["best"].attrs["parameter"]
    (True, 'reg')
    """
    name = PARAMETERS.get(method)
    if name is None:
        raise ValueError(f"method={method!r} is unknown; choose one of {tuple(PARAMETERS)}.")
    lam, c, _ = _spectrum_and_target(eigenvalues, coefs, device, dtype)
    n_arr, n_dims = _grid_of(n, "n")
    g = None if grid is None else torch.as_tensor(_grid_of(grid, name)[0])
    result = core.optimal_learning_curve(lam, c, noise, torch.as_tensor(n_arr), method=method, grid=g, lr=lr)
    ds = xr.Dataset(
        {"error": (n_dims, to_numpy(result.error)), "best": (n_dims, to_numpy(result.best)),
         "errors": (n_dims + (name,), to_numpy(result.errors))},
        coords={name: to_numpy(result.grid), **({"n": n_arr} if n_dims else {})},
    )
    ds["error"].attrs["long_name"] = "smallest excess risk over the grid"
    ds["best"].attrs.update(long_name=f"{name} at the smallest error", parameter=name)
    ds["errors"].attrs["long_name"] = _LONG_NAMES["error"]
    if not n_dims:
        ds.attrs["n"] = float(n_arr)
    ds.attrs.update(method=method, noise=float(noise), conventions=CONVENTIONS, **settings_attrs(lam.device, lam.dtype))
    return ds


# -------------------------------------------------------------------- random features


def random_features_curve(
    eigenvalues, coefs, *, n, n_features, reg, noise=0.0, draws=4, seed=0, device=None, dtype=None,
) -> xr.Dataset:
    """Ridge on ``N`` random features against ``N`` at a fixed ``n``: the interpolation peak at
    ``N ~ n`` with ``reg ~ 0`` and how ``reg`` removes it
    (:func:`spectrakit.core.curves.random_features_curve`).

    Returns
    -------
    xarray.Dataset
        ``error``, ``bias2``, ``variance``, ``approximation``, ``test_mse`` over
        ``(n_features, reg)`` (a scalar gives no dim).

    Examples
    --------
    >>> lam, c = np.ones(60), np.full(60, 0.1)
    >>> rf = random_features_curve(lam, c, n=30, n_features=[10, 30, 90], reg=1e-6, noise=0.2, draws=2)
    >>> int(rf["error"].idxmax("n_features"))
    30
    """
    lam, c, _ = _spectrum_and_target(eigenvalues, coefs, device, dtype)
    N_arr, N_dims = _grid_of(n_features, "n_features")
    r_arr, r_dims = _grid_of(reg, "reg")
    run = functools.partial(core.random_features_curve, lam, c, noise, n, torch.as_tensor(N_arr),
                            torch.as_tensor(r_arr), draws=draws)
    seeds = _seed_grid(seed)
    if seeds is None:
        fields = run(seed=seed)._asdict()
        fields["test_mse"] = fields["error"] + float(noise) ** 2
    else:
        fields = _per_seed(seeds, run, _mc_fields(N_dims + r_dims, core.RandomFeaturesCurve._fields),
                           {"n_features": N_arr.size, "reg": r_arr.size}, lam, {"draws": 1},
                           shifted={"test_mse": ("error", float(noise) ** 2)})
    attrs = {"n": int(n), "noise": float(noise), "draws": int(draws), "seed": "none" if seed is None else seed,
             **settings_attrs(lam.device, lam.dtype)}
    if seeds is not None:
        del attrs["seed"]  # (the seed coordinate)
    return _dataset(fields, N_dims + r_dims, {"n_features": (N_arr, N_dims), "reg": (r_arr, r_dims)}, attrs)


def random_features_monte_carlo(
    eigenvalues, coefs, *, n, n_features, reg, noise=0.0, draws=4, trials=10, seed=0, device=None, dtype=None,
) -> xr.Dataset:
    """:func:`random_features_curve` measured on synthetic data with the same projections
    (:func:`spectrakit.core.curves.random_features_monte_carlo`): ``error``, ``error_se``,
    ``bias2``, ``variance``, ``test_mse`` over ``(n_features, reg)`` and the per-mode parts over
    the input modes.

    Examples
    --------
    >>> lam, c = np.ones(60), np.full(60, 0.1)
    >>> mc = random_features_monte_carlo(lam, c, n=30, n_features=[10, 90], reg=1.0, noise=0.2, draws=1, trials=5)
    >>> mc["error"].dims
    ('n_features',)
    """
    lam, c, extra = _spectrum_and_target(eigenvalues, coefs, device, dtype)
    N_arr, N_dims = _grid_of(n_features, "n_features")
    r_arr, r_dims = _grid_of(reg, "reg")
    run = functools.partial(core.random_features_monte_carlo, lam, c, noise, n, torch.as_tensor(N_arr),
                            torch.as_tensor(r_arr), draws=draws, trials=trials)
    seeds = _seed_grid(seed)
    if seeds is None:
        fields = run(seed=seed)._asdict()
        fields["test_mse"] = fields["error"] + float(noise) ** 2
    else:
        fields = _per_seed(seeds, run, _mc_fields(N_dims + r_dims, core.MonteCarloCurve._fields),
                           {"n_features": N_arr.size, "reg": r_arr.size, "mode": lam.shape[0]}, lam,
                           {"draws": 1, "trials": 1},
                           shifted={"test_mse": ("error", float(noise) ** 2)})
    attrs = {"n": int(n), "noise": float(noise), "draws": int(draws), "trials": int(trials),
             "seed": "none" if seed is None else seed, **settings_attrs(lam.device, lam.dtype)}
    if seeds is not None:
        del attrs["seed"]  # (the seed coordinate)
    return _dataset(fields, N_dims + r_dims, {"n_features": (N_arr, N_dims), "reg": (r_arr, r_dims)}, attrs, lam, extra)


# ---------------------------------------------------------------------- model collapse


def _generation_coords(generations) -> np.ndarray:
    if isinstance(generations, (int, np.integer)) and not isinstance(generations, bool):
        return np.arange(int(generations) + 1)
    return np.asarray(raw(generations)).astype(int)


def model_collapse(noise, d, T, generations, *, T0=None, device=None, dtype=None) -> xr.DataArray:
    """The excess risk of least squares retrained on its own labels, generation after
    generation: ``noise**2 d/(T0 - d - 1) + g noise**2 d/(T - d - 1)``
    (:func:`spectrakit.core.curves.model_collapse_error`), over the dim ``generation``.

    Examples
    --------
    >>> model_collapse(1.0, 20, 100, 2).round(4).values.tolist()
    [0.2532, 0.5063, 0.7595]
    """
    err = core.model_collapse_error(noise, d, T, generations, T0=T0, device=device, dtype=dtype)
    out = xr.DataArray(to_numpy(err), dims=("generation",), coords={"generation": _generation_coords(generations)},
                       name="error")
    out.attrs.update(long_name=_LONG_NAMES["error"], noise=float(noise), d=int(d), T=int(T),
                     T0=int(T if T0 is None else T0), **settings_attrs(err.device, err.dtype))
    return out


def model_collapse_monte_carlo(
    eigenvalues, noise, T, generations, *, reg=0.0, T0=None, w_star=None, trials=200, seed=0, device=None, dtype=None,
) -> xr.Dataset:
    """Training on generated data simulated (:func:`spectrakit.core.curves.model_collapse_monte_carlo`):
    ``error`` and ``error_se`` over ``generation``; ``reg`` a scalar or one value per generation.

    Examples
    --------
    >>> mc = model_collapse_monte_carlo(np.ones(20), 1.0, 100, 2, trials=400)
    >>> bool((abs(mc["error"] / model_collapse(1.0, 20, 100, 2) - 1) < 0.05).all())
    True
    """
    device, dtype = compute_settings(device, dtype, eigenvalues)
    lam = to_tensor(eigenvalues, "eigenvalues", device, dtype)
    reg_arr, _ = _grid_of(reg, "reg")
    run = functools.partial(core.model_collapse_monte_carlo, lam, noise, T, generations, reg=torch.as_tensor(reg_arr),
                            T0=T0, w_star=w_star, trials=trials)
    seeds = _seed_grid(seed)
    gen_coords = _generation_coords(generations)
    if seeds is None:
        fields = run(seed=seed)._asdict()
    else:
        fields = _per_seed(seeds, run, _mc_fields(("generation",), core.CollapseMonteCarlo._fields),
                           {"generation": gen_coords.size}, lam, {"trials": 2})
    attrs = {"noise": float(noise), "T": int(T), "T0": int(T if T0 is None else T0), "trials": int(trials),
             "seed": "none" if seed is None else seed, **settings_attrs(lam.device, lam.dtype)}
    if seeds is not None:
        del attrs["seed"]  # (the seed coordinate)
    ds = _dataset(fields, ("generation",), {"generation": (gen_coords, ("generation",))}, attrs)
    if reg_arr.ndim == 0:
        ds.attrs["reg"] = float(reg_arr)
    else:
        ds["reg"] = ("generation", reg_arr[_generation_coords(generations)])
    return ds
