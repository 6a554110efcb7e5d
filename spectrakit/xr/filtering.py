"""Regularization as spectral filtering on labelled data: ``regularize``,
``regularize_kernel``, ``picard`` (the parameter choice, ``choose``, is :mod:`spectrakit.xr.choose`).

The row dim is the dim A shares with b; A's other dim is the column dim; extra dims of b
are independent right-hand sides that share the one decomposition of A.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import xarray as xr

from ..core import filtering as core
from ..core import spectral
from ..core.checks import check_memory, check_reg, itemsize, reg_count
from ._apply import (
    apply_core,
    block_tensor,
    check_core_chunks,
    compute_settings,
    coords_on,
    dtype_name,
    finish,
    is_dask,
    is_scalar,
    raw,
    settings_attrs,
    shape_of,
    tensor_attrs,
    to_numpy,
    to_tensor,
)
from .choose import choose  # re-exported: spectrakit.xr.filtering.choose stays importable

__all__ = ["regularize", "regularize_kernel", "choose", "picard", "filter_factors"]

_LOO_NOTE = {
    True: "exact leave-one-out (Tikhonov: the influence-matrix formula equals refitting)",
    False: (
        "linear-smoother formula e_i/(1-H_ii) with this filter's influence matrix; it only "
        "approximates refitting without sample i"
    ),
}

_LONG_NAMES = {
    "x": "regularized solution",
    "residual_norm": "||b - A x||",
    "solution_norm": "||x|| (||L x|| with a penalty L)",
    "filter_factors": "filter factor h(s, reg)",
    "gcv": "generalized cross-validation m||r||^2/(m - trace H)^2",
    "loo": "mean squared leave-one-out residual",
    "curvature": "curvature of the L-curve (log||r||, log||x||)",
    "error_norm": "||x - x_true||",
    "discrepancy": "||b - A x|| / noise_norm",
    "prediction": "K_test x (kernel regression's predictions at the test points)",
}


@dataclass(frozen=True)
class FilteringProblem:
    """``A x ~ b`` prepared once: labels, tensors on the device and the spectral basis.

    Every ``reg`` and method is then answered from ``basis`` and the cached coefficients
    ``beta = U^T b``, without touching A again.
    """

    basis: core.SpectralBasis
    b: torch.Tensor  # (B, m), B = product of the batch dims
    beta: torch.Tensor  # (B, k)
    x0: torch.Tensor  # (B, n), the unpenalized part
    outside_sq: torch.Tensor  # (B,), residual no filter removes
    x_true: torch.Tensor | None  # (B, n)
    noise_norm: torch.Tensor | None  # (B,)
    row: str
    col: str
    batch_dims: tuple[str, ...]
    batch_shape: tuple[int, ...]
    col_coords: dict
    batch_coords: dict
    penalty: str

    @property
    def device(self) -> torch.device:
        return self.b.device

    @property
    def dtype(self) -> torch.dtype:
        return self.b.dtype

    @property
    def n_modes(self) -> int:
        return self.basis.s.shape[0]

    def mode_coords(self) -> dict:
        """``mode`` (0-based), ``s`` the filter's argument (sigma**2; the kernel's
        eigenvalue) and ``sigma`` its square root (the singular value) on it."""
        return dict(self._mode_coords)

    @cached_property
    def _mode_coords(self) -> dict:  # computed once: every slider move labels with it
        s = to_numpy(self.basis.s)
        return {"mode": np.arange(s.shape[0]), "s": ("mode", s), "sigma": ("mode", np.sqrt(s))}


def _resolve_dims(A, b):
    """(A's dims, b's dims, row dim, col dim) by the rule: row = the dim A shares with b."""
    a_shape, b_shape = shape_of(A), shape_of(b)
    if len(a_shape) != 2:
        raise ValueError(f"A must be 2-D (rows x columns); got shape {a_shape}.")
    if len(b_shape) == 0:
        raise ValueError("b must have at least the row dimension; got a scalar.")
    if isinstance(A, xr.DataArray):
        a_dims = tuple(A.dims)
        if isinstance(b, xr.DataArray):
            b_dims = tuple(b.dims)
        else:
            extra = ("rhs",) if len(b_shape) == 2 else tuple(f"rhs_{i}" for i in range(len(b_shape) - 1))
            b_dims = (a_dims[0],) + extra
    else:
        if isinstance(b, xr.DataArray):
            b_dims = tuple(b.dims)
            matches = [d for d in b_dims if b.sizes[d] == a_shape[0]]
            row = "row" if "row" in b_dims else (matches[0] if len(matches) == 1 else None)
            if row is None:
                raise ValueError(
                    f"b has dims {b_dims}: cannot tell which one matches A's {a_shape[0]} rows. "
                    "Pass A as a DataArray that shares its row dim with b."
                )
            a_dims = (row, "col")
        else:
            a_dims = ("row", "col")
            extra = ("rhs",) if len(b_shape) == 2 else tuple(f"rhs_{i}" for i in range(len(b_shape) - 1))
            b_dims = ("row",) + extra
    shared = [d for d in a_dims if d in b_dims]
    if len(shared) != 1:
        what = "no dim" if not shared else f"both dims {tuple(shared)}"
        raise ValueError(
            f"b must share exactly one dim (the rows) with A; A has dims {a_dims}, b has {b_dims} "
            f"({what} in common). Rename b's sample dim to A's row dim."
        )
    row = shared[0]
    col = a_dims[1] if a_dims[0] == row else a_dims[0]
    if a_shape[a_dims.index(row)] != b_shape[b_dims.index(row)]:
        raise ValueError(
            f"A and b disagree on the size of the row dim {row!r}: "
            f"{a_shape[a_dims.index(row)]} vs {b_shape[b_dims.index(row)]}."
        )
    return a_dims, b_dims, row, col


def _penalty(L, n, dtype, device):
    if L is None:
        return None, "identity"
    if isinstance(L, str):
        if L not in ("d1", "d2"):
            raise ValueError(f"L={L!r} is unknown: use 'd1' (first difference), 'd2' (second) or a matrix.")
        order = int(L[1])
        return core.difference_operator(n, order, dtype=dtype, device=device), L
    return to_tensor(L, "L", device, dtype), "matrix"


def prepare(A, b, *, L=None, x_true=None, noise_norm=None, device=None, dtype=None, kernel=False,
            symmetrize=None) -> FilteringProblem:
    """Check and convert the inputs and decompose A once (see :func:`regularize`)."""
    a_dims, b_dims, row, col = _resolve_dims(A, b)
    device, dtype = compute_settings(device, dtype, A, b)
    a_shape = shape_of(A)
    m, n = a_shape[a_dims.index(row)], a_shape[a_dims.index(col)]
    if kernel and m != n:
        raise ValueError(f"K must be square (samples x samples); got shape {a_shape}.")
    # estimate before allocating anything: the input may be a lazy or broadcast array
    core.check_svd_memory(m, n, dtype, device, "K" if kernel else "A")
    A_t = to_tensor(A, "K" if kernel else "A", device, dtype)
    if a_dims[0] != row:
        A_t = A_t.T
    batch_dims = tuple(d for d in b_dims if d != row)
    if isinstance(b, xr.DataArray):
        b_coords = dict(b.coords)
        b_data = b.transpose(*batch_dims, row).data
    else:  # unlabelled b: rows first
        b_coords = {}
        b_data = b.movedim(0, -1) if isinstance(b, torch.Tensor) else np.moveaxis(np.asarray(b), 0, -1)
    if col in batch_dims:
        raise ValueError(f"b must not have A's column dim {col!r}; its dims are {b_dims}.")
    if "x" in (col,) + batch_dims:
        raise ValueError(
            "a dim named 'x' would clash with the result variable x: rename it first, e.g. "
            "A.rename(x='pixel') (and the same for b or x_true)."
        )
    batch_shape = tuple(shape_of(b_data)[:-1])
    n_rhs = float(np.prod(batch_shape)) if batch_shape else 1.0
    # b, its coefficients, the unpenalized part and the truth: about (2 m + 2 n) per right-hand side
    check_memory(
        itemsize(dtype) * n_rhs * (2 * m + 2 * n), device, name="b",
        what=f"{n_rhs:.4g} right-hand side(s) of {m} rows (and their solutions' {n} columns)",
        alternative="Use fewer right-hand sides per call, or chunk b along its other dims with dask (b.chunk(...)).",
    )
    b_t = to_tensor(b_data, "b", device, dtype).reshape(-1, m)

    if kernel:
        if L is not None:
            raise ValueError("L: a penalty operator is not supported with a kernel; the kernel is the penalty.")
        basis, penalty = core.kernel_basis(A_t, symmetrize=symmetrize), "kernel"
    else:
        L_t, penalty = _penalty(L, n, dtype, device)
        basis = core.svd_basis(A_t) if L_t is None else core.general_form_basis(A_t, L_t)

    x_true_t = None
    if x_true is not None:
        if isinstance(x_true, xr.DataArray):
            if col not in x_true.dims:
                raise ValueError(f"x_true must have A's column dim {col!r}; it has dims {tuple(x_true.dims)}.")
            extra = [d for d in x_true.dims if d != col and d not in batch_dims]
            if extra:
                raise ValueError(f"x_true has dims {extra} that b does not have.")
            target = xr.DataArray(np.zeros(batch_shape + (n,)), dims=batch_dims + (col,))
            x_data = x_true.broadcast_like(target).transpose(*batch_dims, col).data
        else:
            x_data = raw(x_true)
            if tuple(shape_of(x_data))[-1:] != (n,):
                raise ValueError(f"x_true must end with A's {n} columns; got shape {shape_of(x_data)}.")
        x_true_t = to_tensor(x_data, "x_true", device, dtype)
        x_true_t = torch.broadcast_to(x_true_t, batch_shape + (n,)).reshape(-1, n)

    noise_t = None
    if noise_norm is not None:
        noise_arr = np.asarray(raw(noise_norm), dtype=float)
        if not np.isfinite(noise_arr).all() or (noise_arr <= 0).any():
            raise ValueError(f"noise_norm must be finite and > 0 (the norm ||b - b_exact||); got {noise_norm!r}.")
        noise_t = torch.tensor(np.broadcast_to(noise_arr, batch_shape).reshape(-1), dtype=dtype, device=device)

    beta = basis.coefficients(b_t)
    return FilteringProblem(
        basis=basis,
        b=b_t,
        beta=beta,
        x0=basis.unpenalized(b_t),
        outside_sq=basis.outside_norm_sq(b_t, beta),
        x_true=x_true_t,
        noise_norm=noise_t,
        row=row,
        col=col,
        batch_dims=batch_dims,
        batch_shape=batch_shape,
        col_coords={k: v for k, v in coords_on(A, col).items()},
        batch_coords={k: v for k, v in b_coords.items() if set(v.dims) <= set(batch_dims) and k not in (row,)},
        penalty=penalty,
    )


def _check_path_memory(problem: FilteringProblem, n_reg: int, B: int | None = None) -> None:
    B = problem.b.shape[0] if B is None else B
    m, n = problem.basis.shape
    k = problem.n_modes
    # x, the leave-one-out residuals and coefficients per (rhs, reg); H's diagonal and
    # the factors per reg; U**2 once
    nbytes = itemsize(problem.dtype) * (B * n_reg * (n + 2 * m + k) + n_reg * (m + k) + m * k)
    check_memory(
        nbytes,
        problem.device,
        name="reg",
        what=f"a path over {n_reg} reg values for {B} right-hand side(s) of a {m} x {n} problem",
        alternative="Use fewer reg values or right-hand sides, or call regularize on chunks of the grid.",
    )


def path_tensors(problem: FilteringProblem, reg, method="tikhonov", *, criteria=True, **method_options):
    """Factors, native parameter, solutions and (optionally) every criterion for ``reg``."""
    n_reg = reg_count(reg)
    if n_reg > 1:  # (one reg, a slider move, allocates nothing worth asking the device about)
        _check_path_memory(problem, n_reg)  # before looking at the values
    reg_arr = check_reg(reg)
    reg_t = torch.as_tensor(reg_arr, dtype=problem.dtype, device=problem.device)
    f, native, x, crit = core.filter_path(
        problem.basis, problem.b, reg_t, method, beta=problem.beta, x0=problem.x0, outside_sq=problem.outside_sq,
        x_true=problem.x_true, noise_norm=problem.noise_norm, criteria=criteria, **method_options,
    )
    return reg_arr, f, native, x, crit


def per_rhs(problem: FilteringProblem, t: torch.Tensor, tail_dims=()) -> tuple:
    """core's (B, R, *tail) tensor as (dims, array) with dims ('reg', *batch, *tail_dims)."""
    bs = problem.batch_shape
    arr = to_numpy(t).reshape(bs + tuple(t.shape[1:]))
    return (("reg",) + problem.batch_dims + tuple(tail_dims), np.moveaxis(arr, len(bs), 0))


def to_dataset(
    problem: FilteringProblem, reg_arr, f, native, x, crit, method, *, scalar: bool, extra=None, extra_coords=None
) -> xr.Dataset:
    """Label core's tensors: dims ('reg', *batch, col), ('reg', *batch), ('reg', 'mode');
    ``extra`` maps more names to ``(tail_dims, (B, R, *tail) tensor)``."""
    data_vars = {"x": per_rhs(problem, x, (problem.col,))}
    for name, t in crit.items():
        data_vars[name] = per_rhs(problem, t)
    for name, (tail_dims, t) in (extra or {}).items():
        data_vars[name] = per_rhs(problem, t, tail_dims)
    return _label_path(problem, data_vars, reg_arr, f, native, method, scalar=scalar, extra_coords=extra_coords)


def _without_reg(value):
    """A ``(dims, array)`` pair (or a DataArray) with its leading ``reg`` dim (of size 1) dropped."""
    if isinstance(value, tuple):
        dims = (value[0],) if isinstance(value[0], str) else tuple(value[0])
        if dims[:1] == ("reg",):
            return (dims[1:], value[1][0], *value[2:])
    if isinstance(value, xr.DataArray) and value.dims[:1] == ("reg",):
        return value.isel(reg=0, drop=True)
    return value


def _label_path(problem: FilteringProblem, data_vars: dict, reg_arr, f, native, method, *, scalar: bool,
                extra_coords=None) -> xr.Dataset:
    """The path's Dataset from its per-rhs variables (numpy ``(dims, array)`` pairs or
    DataArrays, dask-backed ones included): the factors, coords, long names and attrs."""
    data_vars = {**data_vars, "filter_factors": (("reg", "mode"), to_numpy(f))}
    coords = {"reg": reg_arr, **problem.mode_coords(), **problem.col_coords, **problem.batch_coords,
              **(extra_coords or {})}
    for name, t in native.items():
        coords[name] = ("reg", to_numpy(t))
    if scalar:  # one reg (a slider move): built without the reg dim, not squeezed afterwards
        data_vars = {name: _without_reg(v) for name, v in data_vars.items()}
        coords = {name: float(reg_arr[0]) if name == "reg" else _without_reg(v) for name, v in coords.items()}
    ds = xr.Dataset(data_vars, coords=coords)
    for name, var in ds.data_vars.items():
        var.attrs["long_name"] = _LONG_NAMES.get(name, name)
    if "loo" in ds:
        ds["loo"].attrs["exact"] = int(method == "tikhonov")
        ds["loo"].attrs["note"] = _LOO_NOTE[method == "tikhonov"]
    ds["reg"].attrs["long_name"] = "regularization strength (tikhonov: h = s/(s+reg))"
    ds["s"].attrs["long_name"] = "the filters' argument s = sigma**2"
    ds["sigma"].attrs["long_name"] = "singular value sigma"
    if problem.noise_norm is not None and problem.noise_norm.numel() == 1:
        ds.attrs["noise_norm"] = float(problem.noise_norm[0])
    return finish(ds, reg=float(reg_arr[0]) if scalar else reg_arr, solution="x", method=spectral.method_name(method),
                  penalty=problem.penalty, device=problem.device, dtype=problem.dtype, conventions=spectral.CONVENTIONS)


def path_dataset(problem: FilteringProblem, reg, method="tikhonov", **method_options) -> xr.Dataset:
    """The whole path for a prepared problem (what :func:`regularize` returns)."""
    reg_arr, f, native, x, crit = path_tensors(problem, reg, method, **method_options)
    return to_dataset(problem, reg_arr, f, native, x, crit, method, scalar=is_scalar(reg))


# ------------------------------------------------------------------ dask: many right-hand sides


def _with_data(problem: FilteringProblem, b_t, x_true_t=None, noise_t=None) -> FilteringProblem:
    """``problem``'s decomposition with other right-hand sides ``b_t`` (B, m)."""
    basis = problem.basis
    beta = basis.coefficients(b_t)
    return dataclasses.replace(problem, b=b_t, beta=beta, x0=basis.unpenalized(b_t),
                               outside_sq=basis.outside_norm_sq(b_t, beta), x_true=x_true_t, noise_norm=noise_t)


def _path_block(b, *more, problem, reg, method, options, names, has_x_true, has_noise, K_test, device, dtype):
    """One block of right-hand sides (rows last) along the path: ``x`` then each
    criterion of ``names`` (then ``prediction`` with ``K_test``), leading dims kept."""
    lead, m = b.shape[:-1], b.shape[-1]
    b_t = block_tensor(b, "b", device, dtype).reshape(-1, m)
    more = list(more)
    x_true_t = block_tensor(more.pop(0), "x_true", device, dtype).reshape(b_t.shape[0], -1) if has_x_true else None
    noise_t = block_tensor(more.pop(0), "noise_norm", device, dtype).reshape(-1) if has_noise else None
    block = _with_data(problem, b_t, x_true_t, noise_t)
    _, _, _, x, crit = path_tensors(block, reg, method, **options)
    R = x.shape[1]
    outs = [to_numpy(x).reshape(lead + (R, x.shape[-1]))]
    outs += [to_numpy(crit[name]).reshape(lead + (R,)) for name in names]
    if K_test is not None:
        p = x @ K_test.mT
        outs.append(to_numpy(p).reshape(lead + (R, p.shape[-1])))
    return tuple(outs)


def _lazy_path(A, b, *, reg, method, L=None, x_true=None, noise_norm=None, device=None, dtype=None, kernel=False,
               K_test=None, symmetrize=None, **method_options) -> xr.Dataset:
    """:func:`regularize` (or :func:`regularize_kernel`) for a dask-backed ``b``: A is
    decomposed once, here; the right-hand sides go through the path block by block,
    lazily, through :func:`spectrakit.xr._apply.apply_core`."""
    name_A = "K" if kernel else "A"
    a_dims, b_dims, row, col = _resolve_dims(A, b)
    if not isinstance(b, xr.DataArray):
        b = xr.DataArray(b, dims=b_dims)
    if is_dask(A):  # the operator is a core input: one chunk, then read whole
        check_core_chunks(A if isinstance(A, xr.DataArray) else xr.DataArray(A, dims=a_dims), a_dims, name_A)
    check_core_chunks(b, [row], "b")
    if "x" in (col,) + b_dims:
        raise ValueError(
            "a dim named 'x' would clash with the result variable x: rename it first, e.g. "
            "A.rename(x='pixel') (and the same for b or x_true)."
        )
    batch_dims = tuple(d for d in b_dims if d != row)
    if col in batch_dims:
        raise ValueError(f"b must not have A's column dim {col!r}; its dims are {b_dims}.")
    batch_shape = tuple(b.sizes[d] for d in batch_dims)
    device, dtype = compute_settings(device, dtype, A, b)
    # the decomposition and its labels, on one placeholder right-hand side
    placeholder = xr.DataArray(np.zeros(b.sizes[row]), dims=(row,))
    problem = prepare(A, placeholder, L=L, device=device, dtype=dtype, kernel=kernel, symmetrize=symmetrize)
    n = problem.basis.shape[1]
    reg_arr = check_reg(reg)
    n_reg = reg_arr.shape[0]
    per_block = int(np.prod([max(b.chunksizes[d]) for d in batch_dims])) if batch_dims else 1
    if n_reg > 1:
        _check_path_memory(problem, n_reg, per_block)

    inputs, in_dims, labels = [b], [[row]], ["b"]
    if x_true is not None:
        like = b.isel({row: 0}, drop=True)
        if isinstance(x_true, xr.DataArray):
            if col not in x_true.dims:
                raise ValueError(f"x_true must have A's column dim {col!r}; it has dims {tuple(x_true.dims)}.")
            extra = [d for d in x_true.dims if d != col and d not in batch_dims]
            if extra:
                raise ValueError(f"x_true has dims {extra} that b does not have.")
            xt = x_true
        else:
            data = raw(x_true)
            if tuple(shape_of(data))[-1:] != (n,):
                raise ValueError(f"x_true must end with A's {n} columns; got shape {shape_of(data)}.")
            data = data if is_dask(data) else np.asarray(to_numpy(data) if isinstance(data, torch.Tensor) else data)
            nd = len(shape_of(data)) - 1
            xt = xr.DataArray(data, dims=batch_dims[len(batch_dims) - nd:] + (col,))
        check_core_chunks(xt, [col], "x_true")
        inputs.append(xt.broadcast_like(like))
        in_dims.append([col])
        labels.append("x_true")
    if noise_norm is not None:
        noise_arr = np.asarray(raw(noise_norm), dtype=float)
        if not np.isfinite(noise_arr).all() or (noise_arr <= 0).any():
            raise ValueError(f"noise_norm must be finite and > 0 (the norm ||b - b_exact||); got {noise_norm!r}.")
        inputs.append(xr.DataArray(np.broadcast_to(noise_arr, batch_shape).copy(), dims=batch_dims))
        in_dims.append([])
        labels.append("noise_norm")

    # what the path returns (names, factors, native parameters) does not depend on b
    probe = _with_data(
        problem, torch.zeros(1, b.sizes[row], dtype=dtype, device=device),
        None if x_true is None else torch.zeros(1, n, dtype=dtype, device=device),
        None if noise_norm is None else torch.ones(1, dtype=dtype, device=device),
    )
    reg_arr, f, native, _, crit = path_tensors(probe, reg, method, **method_options)
    names = list(crit)
    extra_coords, K_t, test_dim = {}, None, None
    if K_test is not None:
        test_dim, K_t, extra_coords = _test_kernel(dataclasses.replace(problem, batch_dims=batch_dims), K_test)
    out_dims = [["reg", col]] + [["reg"]] * len(names) + ([["reg", test_dim]] if K_t is not None else [])
    np_dtype = to_numpy(torch.zeros(0, dtype=dtype)).dtype
    outs = apply_core(
        _path_block, inputs, in_dims, out_dims=out_dims,
        out_sizes={"reg": n_reg, col: n, **({test_dim: K_t.shape[0]} if K_t is not None else {})},
        out_dtype=[np_dtype] * len(out_dims), labels=labels,
        problem=dataclasses.replace(problem, col_coords={}, batch_coords={}), reg=reg_arr, method=method,
        options=method_options, names=names, has_x_true=x_true is not None, has_noise=noise_norm is not None,
        K_test=K_t, device=str(device), dtype=dtype_name(dtype),
    )
    data_vars = {"x": outs[0].transpose("reg", *batch_dims, col)}
    for name, value in zip(names, outs[1:]):
        data_vars[name] = value.transpose("reg", *batch_dims)
    if K_t is not None:
        data_vars["prediction"] = outs[-1].transpose("reg", *batch_dims, test_dim)
    one_rhs = noise_norm is not None and int(np.prod(batch_shape)) == 1  # (its noise_norm goes into attrs)
    labelled = dataclasses.replace(
        problem, batch_dims=batch_dims, batch_shape=batch_shape,
        batch_coords={k: v for k, v in b.coords.items() if set(v.dims) <= set(batch_dims) and k != row},
        noise_norm=torch.as_tensor(inputs[-1].values.reshape(1)) if one_rhs else None,
    )
    return _label_path(labelled, data_vars, reg_arr, f, native, method, scalar=is_scalar(reg), extra_coords=extra_coords)


def regularize(
    A, b, *, reg, method="tikhonov", L=None, x_true=None, noise_norm=None, device=None, dtype=None, **method_options
) -> xr.Dataset:
    """Regularized solutions of ``A x ~ b`` for one ``reg`` or a whole grid, with every
    parameter-choice criterion, from one SVD.

    The solution is ``x(reg) = sum_i h(s_i, reg) (u_i^T b / sigma_i) v_i`` with ``s_i =
    sigma_i**2``; with a penalty ``L`` the same filters act on the generalized singular
    values (standard-form transformation, :func:`spectrakit.core.filtering.general_form_basis`).

    Parameters
    ----------
    A : (rows, cols) numpy array, torch tensor or DataArray
        The operator. As a DataArray, its row dim is the dim it shares with ``b``.
    b : array, tensor or DataArray
        Data; dims of b other than the row dim are independent right-hand sides. A
        dask-backed b (chunked along those dims, one chunk along the row dim) gives a
        lazy Dataset: A (not chunked) is decomposed once, here, and the path runs block by
        block when computed (``xarray.apply_ufunc(..., dask="parallelized")``, also on a
        dask.distributed cluster); the factors and coords are computed at once.
    reg : float or 1-D array of float >= 0
        Strength(s). A scalar gives the Dataset without the ``reg`` dim.
    method : {"tikhonov", "tsvd", "landweber", "showalter", "iterated_tikhonov", "heat", "butterworth"} or callable
        The filter (see :func:`spectrakit.core.spectral.filter_factors`);
        ``method_options`` go to it (``omega``, ``n_iter`` for landweber, ``order`` for
        iterated_tikhonov).
    L : None, "d1", "d2" or (p, cols) matrix
        Penalty operator: ``min ||A x - b||^2 + reg ||L x||^2``.
    x_true : optional
        The true solution: adds ``error_norm``.
    noise_norm : float, optional
        ``||b - b_exact||``: adds ``discrepancy = ||r|| / noise_norm``.
    device, dtype : optional
        Where and in which precision to compute (see :func:`spectrakit.set_options`).

    Returns
    -------
    xarray.Dataset
        ``x`` (reg, ..., col), ``residual_norm``, ``solution_norm``, ``gcv``, ``loo``,
        ``curvature`` (reg, ...), ``filter_factors`` (reg, mode), optional
        ``error_norm`` and ``discrepancy``; coordinates ``s`` (``sigma**2``) and ``sigma`` on ``mode``,
        ``n_iter`` (landweber) or ``rank`` (tsvd) on ``reg``; attrs ``method``, ``device``,
        ``dtype``, ``conventions``.

    Notes
    -----
    ``gcv`` is ``m ||r||^2 / (m - trace H)^2`` (Golub, Heath & Wahba 1979) with ``||r||^2``
    including the part of b outside the range of A; regtools' ``gcv`` omits the factor m,
    which does not move the minimum. ``loo`` is exact for Tikhonov and a linear-smoother
    approximation for the other filters (its attrs say which). ``reg`` is scikit-learn's
    ``alpha`` and regtools' ``lambda**2``.

    Examples
    --------
    >>> import numpy as np, spectrakit
    >>> A = np.vander(np.linspace(0, 1, 20), 8, increasing=True)
    >>> b = A @ np.ones(8)
    >>> path = spectrakit.regularize(A, b, reg=np.logspace(-10, 0, 11), device="cpu")
    >>> path["x"].dims
    ('reg', 'col')
    >>> float(path["residual_norm"].sel(reg=1e-10)) < 1e-4
    True
    """
    if is_dask(b):  # many right-hand sides, lazily: one decomposition, the path per block
        return _lazy_path(A, b, reg=reg, method=method, L=L, x_true=x_true, noise_norm=noise_norm, device=device,
                          dtype=dtype, **method_options)
    problem = prepare(A, b, L=L, x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype)
    return path_dataset(problem, reg, method, **method_options)


def regularize_kernel(
    K, y, *, reg, K_test=None, method="tikhonov", noise_norm=None, symmetrize=None, device=None, dtype=None,
    **method_options
):
    """Kernel regression along a path of ``reg`` from one eigendecomposition of ``K``.

    ``x`` holds the dual coefficients ``alpha`` (fitted values ``K alpha``); for Tikhonov
    ``alpha = (K + reg I)^{-1} y``, scikit-learn's ``KernelRidge(alpha=reg).dual_coef_``.
    The filters act on the kernel eigenvalues (``s`` on ``mode``; ``sigma`` holds their
    square roots, the singular values of ``K^{1/2}``); criteria as in :func:`regularize`.
    ``K`` must be symmetric and positive semi-definite to round-off
    (:func:`spectrakit.core.filtering.kernel_basis` says how close): an asymmetric ``K`` is
    refused unless ``symmetrize="mean"`` asks for ``(K + K^T) / 2``.

    ``K_test`` (m test points x n training points; a DataArray shares K's column dim, and
    its other dim names the test points, else ``test``) adds ``prediction = K_test alpha``
    for every ``reg``: ``KernelRidge(alpha=reg).predict`` along the whole path.

    Examples
    --------
    >>> import numpy as np, spectrakit
    >>> t = np.linspace(0, 1, 30)
    >>> K = np.exp(-((t[:, None] - t[None, :]) ** 2) / 0.02)
    >>> path = spectrakit.regularize_kernel(K, np.sin(6 * t), reg=[1e-3, 1e-1], K_test=K[:5], device="cpu")
    >>> path["x"].shape, path["prediction"].dims
    ((2, 30), ('reg', 'test'))
    """
    if is_dask(y):
        return _lazy_path(K, y, reg=reg, method=method, noise_norm=noise_norm, device=device, dtype=dtype,
                          kernel=True, K_test=K_test, symmetrize=symmetrize, **method_options)
    problem = prepare(K, y, noise_norm=noise_norm, device=device, dtype=dtype, kernel=True, symmetrize=symmetrize)
    reg_arr, f, native, x, crit = path_tensors(problem, reg, method, **method_options)
    extra, coords = {}, {}
    if K_test is not None:
        test_dim, K_t, coords = _test_kernel(problem, K_test)
        extra["prediction"] = ((test_dim,), x @ K_t.mT)
    return to_dataset(problem, reg_arr, f, native, x, crit, method, scalar=is_scalar(reg),
                      extra=extra, extra_coords=coords)


def _test_kernel(problem: FilteringProblem, K_test):
    """(test dim, (m, n) tensor, coords on the test dim) of the kernel between test and
    training points."""
    n = problem.basis.shape[1]
    shape = shape_of(K_test)
    if isinstance(K_test, xr.DataArray):
        if K_test.ndim != 2 or problem.col not in K_test.dims:
            raise ValueError(
                f"K_test must be 2-D with K's column dim {problem.col!r} (the training points); "
                f"it has dims {tuple(K_test.dims)}."
            )
        test_dim = next(d for d in K_test.dims if d != problem.col)
        data, coords = K_test.transpose(test_dim, problem.col).data, coords_on(K_test, test_dim)
    else:
        if len(shape) != 2 or shape[1] != n:
            raise ValueError(f"K_test must have shape (m test points, {n} training points); got {shape}.")
        test_dim, data, coords = "test", raw(K_test), {}
    if test_dim in {"reg", "mode", *problem.batch_dims}:
        raise ValueError(f"K_test's test dim {test_dim!r} clashes with a dim of the result; rename it.")
    return test_dim, to_tensor(data, "K_test", problem.device, problem.dtype), coords


def picard(A, b, *, L=None, device=None, dtype=None) -> xr.Dataset:
    """The Picard plot's data over ``mode``: ``coef = |u_i^T b|`` and ``ratio =
    |u_i^T b| / sigma_i``, with coordinates ``sigma`` (the singular values) and ``s``
    (``sigma**2``, the filters' argument).

    The discrete Picard condition holds where ``coef`` decays faster than ``s``; where the
    noise floor takes over, ``ratio`` grows and the unregularized solution explodes.

    Examples
    --------
    >>> import numpy as np, spectrakit
    >>> A = np.diag([1.0, 0.1, 0.01])
    >>> p = spectrakit.picard(A, np.array([1.0, 0.1, 0.1]), device="cpu")
    >>> p["ratio"].values.round(6).tolist()
    [1.0, 1.0, 10.0]
    """
    return picard_of(prepare(A, b, L=L, device=device, dtype=dtype))


def picard_of(problem: FilteringProblem) -> xr.Dataset:
    """:func:`picard` of a prepared problem (what a session shows without a new SVD)."""
    beta = problem.beta.abs()
    sigma = problem.basis.sigma
    ratio = beta * torch.where(sigma > 0, 1.0 / torch.where(sigma > 0, sigma, 1.0), torch.inf)
    shape = problem.batch_shape + (problem.n_modes,)
    dims = problem.batch_dims + ("mode",)
    ds = xr.Dataset(
        {"coef": (dims, to_numpy(beta).reshape(shape)), "ratio": (dims, to_numpy(ratio).reshape(shape))},
        coords={**problem.mode_coords(), **problem.batch_coords},
    )
    ds["coef"].attrs["long_name"] = "|u_i^T b|"
    ds["ratio"].attrs["long_name"] = "|u_i^T b| / sigma_i"
    return finish(ds, penalty=problem.penalty, **settings_attrs(problem.device, problem.dtype))


# ---------------------------------------------------------------------- the filter itself


def filter_factors(s, reg, method="tikhonov", *, device=None, dtype=None, **options) -> xr.DataArray:
    """The filter factors ``h(s, reg)`` of a spectral filter for every ``reg`` and spectral
    value ``s = sigma**2`` (:func:`spectrakit.core.spectral.filter_factors`).

    ``tikhonov`` is ``s / (s + reg)``, ``tsvd`` ``1 if s >= reg``, ``landweber``
    ``1 - (1 - omega s)**k`` with ``k = round(1/(omega reg))``, ``showalter`` ``1 -
    exp(-s/reg)``, ``iterated_tikhonov`` ``1 - (reg/(s + reg))**order``, ``heat``
    ``exp(-reg/s)``, ``butterworth`` ``1 / (1 + (reg/s)**order)``, or a callable
    ``h(s, reg)``; every one is near 1 where ``s >> reg`` and near 0 where ``s << reg``.

    Parameters
    ----------
    s : 1-D numpy array, tensor or DataArray
        Spectral values (squared singular values, eigenvalues), ``>= 0``. A DataArray keeps
        its dim and coords; else the dim is ``mode`` with ``s`` as a coordinate on it.
    reg : float or 1-D grid of float >= 0
        A scalar gives no ``reg`` dim (its value is in ``attrs``).
    method : str or callable
    options
        The method's options (``omega``, ``n_iter`` for landweber, ``order``).

    Returns
    -------
    xarray.DataArray
        Over ``(reg, mode)``; the method's native parameter (``rank`` for tsvd,
        ``n_iter`` for landweber) as a coordinate on ``reg``; attrs ``method``,
        ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> h = filter_factors(np.array([4.0, 1.0, 0.25]), [1.0, 4.0])
    >>> h.dims, h.sel(reg=1.0).values.tolist()
    (('reg', 'mode'), [0.8, 0.5, 0.2])
    >>> filter_factors([4.0, 1.0, 0.25], 1.0, "tsvd").values.tolist()
    [1.0, 1.0, 0.0]
    """
    if len(shape_of(s)) != 1:
        raise ValueError(f"s must be 1-D (one spectral value per mode); got shape {shape_of(s)}.")
    reg_arr = check_reg(reg)
    device, dtype = compute_settings(device, dtype, s)
    s_t = to_tensor(s, "s", device, dtype)
    if bool((s_t < 0).any()):
        raise ValueError("s must be >= 0 (squared singular values or eigenvalues).")
    f, native = spectral.filter_factors(s_t, torch.as_tensor(reg_arr, dtype=s_t.dtype, device=s_t.device), method,
                                    **options)
    if isinstance(s, xr.DataArray):
        dim = s.dims[0]
        coords = {k: v for k, v in s.coords.items() if v.dims == (dim,)}
        if dim not in coords:
            coords[dim] = np.arange(s_t.shape[0])
        if s.name is not None and s.name not in coords:
            coords[s.name] = (dim, np.asarray(s.values))
    else:
        dim = "mode"
        coords = {"mode": np.arange(s_t.shape[0]), "s": ("mode", to_numpy(s_t))}
    out = xr.DataArray(to_numpy(f), dims=("reg", dim), coords={"reg": reg_arr, **coords}, name="filter_factors")
    for name, t in native.items():
        out.coords[name] = ("reg", to_numpy(t.reshape(-1)))
    out.attrs.update(long_name="filter factor h(s, reg)", method=spectral.method_name(method),
                     **tensor_attrs(s_t))
    if np.ndim(raw(reg)) == 0:
        out = out.squeeze("reg", drop=False)
        out.attrs["reg"] = float(reg_arr[0])
    return out
