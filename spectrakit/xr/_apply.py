"""The labelled bridge: every conversion between labelled inputs (numpy, torch, xarray,
dask) and core's tensors, the one ``xarray.apply_ufunc`` wrapper and the result conventions.

Every labelled module converts through here, so device, dtype and the checks on user data
are the same everywhere: numpy and xarray inputs go to the resolved device in float64
unless ``dtype`` says otherwise; torch tensors stay where they are; results come back as
numpy-backed xarray objects, or dask-backed ones, lazily, when the input was dask-backed
(:func:`apply_core`). :func:`finish` sets the attrs every result carries (``method``,
``device``, ``dtype``) and the scalar-``reg`` convention (a scalar ``reg`` gives the same
Dataset without the ``reg`` dim, its value in ``attrs``).

Sections: tensors (``raw``, ``to_tensor``, ``to_numpy``, ``compute_settings``,
``settings``, ``shape_of``, ``dtype_name``); axes and labels (``Axis``/``axis``: an evenly
spaced dim, ``dims_list``, ``labelled``, ``check_data``...); results (``finish``); dask
(``apply_core``, ``check_core_chunks``, ``block_tensor``). The names are public within
spectrakit.xr (no underscore) and private to the package (the module is).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from ..core.checks import check_finite, check_real
from ..options import resolve_device, resolve_dtype

# ----------------------------------------------------------------------------- tensors


def raw(value):
    """The data of a DataArray, tensor or array-like without copying or converting."""
    if isinstance(value, xr.DataArray):
        return value.data
    return value


def is_dask(value) -> bool:
    """Whether ``value`` (a DataArray or an array) is dask-backed."""
    return type(raw(value)).__module__.split(".")[0] == "dask"


def compute_settings(device, dtype, *inputs) -> tuple[torch.device, torch.dtype]:
    """Device and dtype by DESIGN.md's precedence, looking at tensor inputs."""
    tensors = [raw(v) for v in inputs]
    return resolve_device(device, *tensors), resolve_dtype(dtype, *tensors)


def dtype_name(dtype) -> str:
    """``torch.float64`` (or a numpy dtype, or a name) as the name results record: ``"float64"``.

    >>> dtype_name(torch.float32), dtype_name(np.float64)
    ('float32', 'float64')
    """
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace("torch.", "")
    return str(np.dtype(dtype)) if not isinstance(dtype, str) else dtype.replace("torch.", "")


def settings(device, dtype, *inputs) -> tuple[str, str, torch.dtype]:
    """(device name, dtype name, torch dtype) of :func:`compute_settings`: the plain values
    that travel to dask blocks (they pickle) and into attrs."""
    dev, dt = compute_settings(device, dtype, *(v for v in inputs if v is not None))
    return str(dev), dtype_name(dt), dt


def settings_attrs(device, dtype) -> dict:
    """``{"device": ..., "dtype": ...}`` as every result's attrs record them."""
    return {"device": str(device), "dtype": dtype_name(dtype)}


def tensor_attrs(t: torch.Tensor) -> dict:
    """:func:`settings_attrs` of the tensor a result was computed as."""
    return settings_attrs(t.device, t.dtype)


def to_tensor(value, name: str, device, dtype) -> torch.Tensor:
    """A finite tensor on ``device`` in ``dtype``.

    It may share memory with the input (no copy when device and dtype already match):
    spectrakit never writes into it.
    """
    data = raw(value)
    if isinstance(data, torch.Tensor):
        if data.is_complex() or data.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers; got a {data.dtype} tensor.")
        t = data.detach()
    else:
        arr = np.asarray(data)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:
            # torch warns that writing through such a tensor is undefined; spectrakit never
            # writes into its inputs, so the shared, read-only memory is safe
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
                t = torch.as_tensor(arr)
        else:
            t = torch.as_tensor(arr)
    check_finite(t, name)
    return t.to(device=device, dtype=dtype)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """The tensor as a numpy array on the host (shares memory with a CPU tensor)."""
    return t.detach().to("cpu").numpy()


def shape_of(value) -> tuple[int, ...]:
    """The shape of any input, read without converting it (it may be a broadcast view)."""
    return tuple(getattr(raw(value), "shape", np.shape(raw(value))))


def coords_on(value, dim) -> dict:
    """The coords of a DataArray that lie along ``dim`` alone (empty for unlabelled input)."""
    if not isinstance(value, xr.DataArray):
        return {}
    return {k: v for k, v in value.coords.items() if set(v.dims) == {dim}}


# ----------------------------------------------------------------------------- axes and labels

#: new frequency dims are ``freq_<dim>`` (xrft's convention)
FREQ_PREFIX = "freq_"
#: datetime64 coordinates are measured in seconds since this instant
EPOCH = np.datetime64("1970-01-01T00:00:00", "ns")

@dataclass(frozen=True)
class Axis:
    """An evenly spaced dim: where its samples sit, in increasing order."""

    dim: Hashable
    size: int
    spacing: float  # > 0
    origin: float  # the smallest coordinate value (seconds since 1970 for datetimes)
    descending: bool
    kind: str  # "index" (no coordinate), "number", "datetime", "timedelta"
    units: str | None

    @property
    def freq_dim(self) -> str:
        return f"{FREQ_PREFIX}{self.dim}"

    def freq_attrs(self, df: float) -> dict:
        attrs = {
            "long_name": f"frequency along {self.dim}",
            "spacing": float(df),
            "direct_spacing": float(self.spacing),
            "direct_origin": float(self.origin),
            "direct_size": int(self.size),
            "direct_kind": self.kind,
            "direct_descending": int(self.descending),
        }
        if self.units:
            attrs["units"] = f"1/{self.units}"
            attrs["direct_units"] = self.units
        return attrs

    def positions(self, offsets: np.ndarray):
        """Coordinate values at ``origin + offsets * spacing`` in the coordinate's type."""
        x = self.origin + np.asarray(offsets, dtype=float) * self.spacing
        if self.kind == "datetime":
            return EPOCH + np.round(x * 1e9).astype("timedelta64[ns]")
        if self.kind == "timedelta":
            return np.round(x * 1e9).astype("timedelta64[ns]")
        return x


def label_of(da: xr.DataArray, default: str) -> str:
    return f"{default} ({da.name!r})" if da.name is not None else default


def as_dataarray(obj, default: str):
    """(DataArray, tensor or None): numpy and torch inputs get xarray's default dims."""
    if isinstance(obj, xr.DataArray):
        return obj, None
    if isinstance(obj, xr.Dataset):
        raise TypeError(f"{default} must be a DataArray here; got a Dataset (pick a variable: ds['name']).")
    if isinstance(obj, torch.Tensor):
        return xr.DataArray(obj.detach().to("cpu").numpy()), obj
    return xr.DataArray(np.asarray(obj)), None


def labelled(obj, default: str):
    """(DataArray, tensor or None, label) of an input named ``default`` in messages."""
    da, tensor = as_dataarray(obj, default)
    return da, tensor, label_of(da, default)


def np_dtype(dt: torch.dtype, complex_: bool):
    if dt == torch.float32:
        return np.complex64 if complex_ else np.float32
    return np.complex128 if complex_ else np.float64


def check_data(da: xr.DataArray, label: str, *, allow_complex: bool) -> None:
    kind = da.dtype.kind
    if kind == "c" and not allow_complex:
        raise TypeError(
            f"{label} holds complex numbers ({da.dtype}); this spectrum is for real data: pass "
            "its .real, .imag or abs(), or use fft."
        )
    if kind not in "iufc":
        raise TypeError(f"{label} must hold numbers; got dtype {da.dtype}.")


def dims_list(da: xr.DataArray, dim, label: str, *, default_all: bool = True, name: str = "dim") -> list:
    """The dims named by ``dim`` (None: all of ``da``'s), checked; errors call it ``name``,
    the caller's argument."""
    if dim is None:
        if not default_all:
            raise ValueError(f"{name} is required: name the dim to transform.")
        dims = list(da.dims)
    elif isinstance(dim, str) or not isinstance(dim, (list, tuple)):
        dims = [dim]
    else:
        dims = list(dim)
    if not dims:
        raise ValueError(f"{name} is empty: name at least one dim.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name}={dim!r} repeats a dim.")
    for d in dims:
        if d not in da.dims:
            raise ValueError(f"{name}={d!r} is not a dimension of {label}; its dims are {tuple(da.dims)}.")
    return dims


def axis(da: xr.DataArray, dim: Hashable, spacing_tol: float, label: str, *, tol_is_argument: bool = True) -> Axis:
    """The grid of ``dim``: its spacing and origin, after checking it is even.

    ``tol_is_argument=False``: the caller has no ``spacing_tol`` argument (its tolerance is
    fixed), so the error does not tell the user to raise it.
    """
    if tol_is_argument:
        check_real(spacing_tol, "spacing_tol")  # a relative tolerance: finite, >= 0
    n = int(da.sizes[dim])
    if n < 2:
        raise ValueError(f"dim {dim!r} of {label} has {n} sample(s); a spectrum needs at least 2.")
    if dim not in da.coords:
        return Axis(dim, n, 1.0, 0.0, False, "index", None)
    coord = da[dim]
    values = coord.values
    units = coord.attrs.get("units")
    if np.issubdtype(values.dtype, np.datetime64):
        c = (values.astype("datetime64[ns]") - EPOCH).astype(np.int64) / 1e9
        kind, units = "datetime", "s"
    elif np.issubdtype(values.dtype, np.timedelta64):
        c = values.astype("timedelta64[ns]").astype(np.int64) / 1e9
        kind, units = "timedelta", "s"
    elif values.dtype.kind in "iuf":
        c = values.astype(float)
        kind = "number"
    else:
        raise TypeError(
            f"the coordinate of dim {dim!r} has dtype {values.dtype}: a spectrum needs numbers or "
            "datetime64 (convert cftime dates with .convert_calendar, or drop the coordinate)."
        )
    if not np.all(np.isfinite(c)):
        raise ValueError(f"the coordinate of dim {dim!r} holds NaN or inf.")
    step = (c[-1] - c[0]) / (n - 1)
    if step == 0:
        raise ValueError(f"the coordinate of dim {dim!r} has zero spacing (its first and last values are equal).")
    deviation = float(np.max(np.abs(np.diff(c) - step)) / abs(step))
    if deviation > spacing_tol:
        if tol_is_argument:
            tolerance, advice = f"spacing_tol={spacing_tol:g}", ", or raise spacing_tol"
        else:
            tolerance, advice = f"{spacing_tol:g}", ""
        raise ValueError(
            f"the coordinate of dim {dim!r} is not evenly spaced: its steps differ from the mean step "
            f"{step:.6g} by up to {deviation:.3g} relative, more than the relative tolerance "
            f"{tolerance}. Interpolate onto an even grid first, e.g. "
            f"da.interp({dim}=numpy.linspace(first, last, n)){advice}."
        )
    return Axis(dim, n, abs(float(step)), float(min(c[0], c[-1])), bool(step < 0), kind, units)


def increasing(da: xr.DataArray, axes: Sequence[Axis]) -> xr.DataArray:
    """Reverse the dims whose coordinate decreases (a view; never modifies ``da``)."""
    flips = {ax.dim: slice(None, None, -1) for ax in axes if ax.descending}
    return da.isel(flips) if flips else da


def order_dims(dims: Sequence[Hashable], replace: dict) -> list:
    """``dims`` with each key of ``replace`` swapped for its tuple of new dims."""
    out = []
    for d in dims:
        out.extend(replace.get(d, (d,)))
    return out


# ----------------------------------------------------------------------------- results


def is_scalar(reg) -> bool:
    """Whether the user passed one ``reg`` (the result then has no ``reg`` dim)."""
    return np.ndim(raw(reg)) == 0


def finish(result, *, reg=None, method=None, device=None, dtype=None, **attrs):
    """The result conventions, set once: ``attrs`` (``method``, ``device``, ``dtype`` by
    name, then ``attrs``; None values are not set) and the scalar-``reg`` squeeze.

    ``reg`` is the caller's argument: a scalar removes the ``reg`` dim (kept as a scalar
    coordinate; a caller may build the result without it, which is cheaper) and records its
    value in ``attrs["reg"]``, so a scalar gives the same
    Dataset as a grid, without the dim. ``result`` is updated in place (build it in the
    caller, never pass a user's object) and returned, squeezed.

    >>> ds = xr.Dataset({"x": (("reg", "t"), np.ones((1, 3)))}, coords={"reg": [0.5]})
    >>> out = finish(ds, reg=0.5, method="tikhonov", device="cpu", dtype=torch.float64)
    >>> out["x"].dims, out.attrs["reg"], out.attrs["dtype"]
    (('t',), 0.5, 'float64')
    """
    named = {"method": method, "device": None if device is None else str(device),
             "dtype": None if dtype is None else dtype_name(dtype), **attrs}
    result.attrs.update({k: v for k, v in named.items() if v is not None})
    if reg is not None and is_scalar(reg):
        if "reg" in result.dims:
            result = result.squeeze("reg", drop=False)
        result.attrs["reg"] = float(result["reg"].values) if "reg" in result.coords else float(raw(reg))
    return result


# ----------------------------------------------------------------------------- dask


def check_core_chunks(da: xr.DataArray, dims: Sequence[Hashable], label: str) -> None:
    """A dask array must hold each core dim in one chunk (a transform or a solve needs all of it)."""
    if da.chunks is None:
        return
    for d in dims:
        n = len(da.chunksizes.get(d, ()))
        if n > 1:
            raise ValueError(
                f"{label} is a dask array split into {n} chunks along {d!r}, a dim this operation "
                f"needs whole (it transforms or solves along all of it): rechunk it with "
                f".chunk({{{d!r}: -1}}) first (chunk along the other dims instead; each block then "
                "holds whole series)."
            )


def apply_core(
    block: Callable,
    inputs: Sequence[xr.DataArray],
    in_dims: Sequence[Sequence[Hashable]],
    out_dims: Sequence[Hashable],
    out_sizes: dict,
    out_dtype,
    labels: Sequence[str],
    **kwargs,
) -> xr.DataArray:
    """Map ``block`` over the non-core dims of ``inputs``: the one bridge of every labelled module.

    ``block(*arrays, **kwargs)`` takes numpy arrays whose core dims (``in_dims``, in that
    order) are the last axes and returns one numpy array whose last axes are
    ``out_dims`` (sizes ``out_sizes``), or a tuple of them when ``out_dims`` is a list of
    dim lists (and ``out_dtype`` a list of dtypes). It runs through ``xarray.apply_ufunc`` with
    ``dask="parallelized"``: on numpy-backed inputs once, on dask-backed ones once per
    block, lazily, without loading the whole array (and on a dask.distributed cluster:
    ``block`` is a module-level function and ``kwargs`` plain values, so they pickle).
    Each block is converted to a tensor on the device, computed by
    spectrakit.core and converted back. Coords along the core dims are
    dropped; attrs are set by the caller.
    """
    for da, dims, label in zip(inputs, in_dims, labels):
        check_core_chunks(da, dims, label)
    # several outputs: out_dims is a list of dim lists and out_dtype a list of dtypes
    several = bool(out_dims) and isinstance(out_dims[0], (list, tuple))
    outs = [list(d) for d in out_dims] if several else [list(out_dims)]
    dtypes = list(out_dtype) if several else [out_dtype]
    with warnings.catch_warnings():
        # dask builds the output's (empty) meta array by casting the input's: complex in,
        # real out (irfft) warns about discarding imaginary parts of nothing
        warnings.filterwarnings("ignore", message="Casting complex values to real", module="dask")
        return xr.apply_ufunc(
            functools.partial(block, **kwargs),
            *inputs,
            input_core_dims=[list(d) for d in in_dims],
            output_core_dims=outs,
            dask="parallelized",
            output_dtypes=dtypes,
            dask_gufunc_kwargs={"output_sizes": {d: int(out_sizes[d]) for o in outs for d in o}},
            keep_attrs=False,
        )


def block_tensor(x: np.ndarray, label: str, device: str, dtype: str) -> torch.Tensor:
    """One block as a finite tensor on ``device`` (complex blocks stay complex).

    The same conversion and checks as :func:`to_tensor`, with a
    cheaper finiteness test first (the counting check, for its message, only when the
    block's sum is not finite).
    """
    tdtype = getattr(torch, dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "iufc":
        raise TypeError(f"{label} must hold numbers; got dtype {arr.dtype}.")
    if arr.dtype.kind == "c":
        tdtype = torch.complex64 if tdtype == torch.float32 else torch.complex128
    with warnings.catch_warnings():
        # dask blocks can be read-only views; spectrakit never writes into its inputs
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        t = torch.as_tensor(np.ascontiguousarray(arr))
    t = t.to(device=device, dtype=tdtype)
    # a sum of finite values is finite unless it overflows: then count, which raises only
    # when there is a NaN or inf (one cheap pass instead of a boolean mask of the block)
    if not bool(torch.isfinite(t.sum())):
        check_finite(t, label)
    return t
