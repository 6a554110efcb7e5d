"""Fourier spectra of labelled arrays: ``fft``, ``ifft``, ``rfft``, ``irfft``, ``power``,
``spectrogram``, ``cross_spectrum``, ``coherence``, ``isotropic_power`` and
``wavenumbers_squared``.

Conventions (stated once here, tested in tests/test_fourier_xr_spectra.py):

* **Frequency dims** are ``freq_<dim>`` (xrft's convention) in cycles per unit of the
  ``dim`` coordinate: ``fftfreq(n, d)`` with ``d`` the coordinate spacing (1 without a
  coordinate; seconds for datetime64/timedelta64 coordinates). The frequency coordinate
  carries ``spacing`` (its own step, as xrft), ``units = "1/<units of dim>"`` when the
  dim coordinate has ``units``, and ``direct_*`` attrs (spacing, origin, size, ...) that
  let ``ifft``/``irfft`` rebuild the original coordinate.
* **Full transforms are fftshifted** (``shift=True``) so frequencies increase;
  ``rfft`` halves the *last* of the given dims (numpy.fft.rfftn's layout, xrft's
  ``real_dim``), whose frequencies are ``rfftfreq(n, d) >= 0``.
* **Values**: ``fft`` is ``numpy.fft.fftn`` of the data as stored (``X[k] = sum_n x[n]
  exp(-2 pi i k n / N)``). ``true_phase=True`` multiplies by ``exp(-2 pi i f x0)``,
  ``x0`` the first coordinate value, so that ``X(f) = sum_n x_n exp(-2 pi i f x_n)`` is
  the phase relative to the coordinate origin; ``true_amplitude=True`` multiplies by the
  spacing ``d`` (a Riemann sum of the continuous transform). Both are what
  ``xrft.fft`` does with the same flags; xrft's defaults are ``True``, spectrakit's are
  ``False`` (numpy's values, which the regularization filters act on). ``ifft``/
  ``irfft`` undo exactly what the forward transform did.
* A **decreasing coordinate** is transformed as its increasing reversal (the data along
  that dim are reversed first): spectra are functions of the coordinate *value*, not of
  the storage order. ``ifft`` restores the original order.
* **Power spectra** follow scipy.signal's defaults and scaling (see :func:`power`):
  ``scaling="density"``, constant detrend, boxcar window for the periodogram and Hann
  for Welch, one-sided for real data. Two-sided spectra are fftshifted (frequencies
  increasing), where scipy returns numpy's order.
* **Parseval** (boxcar window, no detrend): ``P.sum() * df == mean(x**2)`` for
  ``scaling="density"`` and ``P.sum() == mean(x**2)`` for ``"spectrum"``, one- or
  two-sided (the one-sided spectrum doubles every bin but 0 and Nyquist).
* The other dims, their coords and the attrs are kept; coords that lie along a
  transformed dim (other than its index) are dropped. attrs record ``method``,
  ``device`` and ``units`` where known. Inputs are never modified.
* **Errors** name the argument: a missing dim, an unevenly spaced coordinate (relative
  tolerance ``spacing_tol``; interpolate first), NaN/inf, an option that does not apply
  to the chosen method, a dask array chunked along a transformed dim (rechunk with
  ``.chunk({dim: -1})``). On dask-backed data NaN/inf are found when the blocks are
  computed.

Scale: every operation maps over the non-core dims through the one bridge,
:func:`spectrakit.xr._apply.apply_core` (``xarray.apply_ufunc(..., dask="parallelized")`` around a
numpy-in/numpy-out wrapper of a ``spectrakit.core.fourier`` function), so dask-backed
arrays are transformed block by block, lazily, and run unchanged on a dask.distributed
cluster. Fourier-domain regularization (Sobolev, Wiener, low-pass filters) belongs in
this module too: it multiplies ``rfft``/``fft`` output by a function of
:func:`wavenumbers_squared` and maps over blocks with the same bridge.

>>> import numpy as np, xarray as xr, spectrakit
>>> t = np.arange(512) * 0.1
>>> da = xr.DataArray(np.sin(2 * np.pi * 1.25 * t), dims="time", coords={"time": t})
>>> P = da.spectral.power("time", device="cpu")
>>> float(P.idxmax("freq_time"))
1.25
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from ..core import spectral
from ..core import fourier as core
from ..core.checks import check_int, check_memory, check_real, check_reg, itemsize, reg_count
from ._apply import FREQ_PREFIX as PREFIX
from ._apply import Axis as _Axis
from ._apply import apply_core as _apply_core
from ._apply import axis as _axis
from ._apply import block_tensor as _block_tensor
from ._apply import check_data as _check_data
from ._apply import dims_list as _dims_list
from ._apply import finish, settings, to_numpy, to_tensor
from ._apply import increasing as _increasing
from ._apply import labelled as _labelled
from ._apply import np_dtype as _np_dtype
from ._apply import order_dims as _order

__all__ = [
    "fft",
    "ifft",
    "rfft",
    "irfft",
    "power",
    "spectrogram",
    "cross_spectrum",
    "coherence",
    "isotropic_power",
    "wavenumbers_squared",
    "smooth",
    "deconvolve",
    "lowpass",
    "blur",
]

_DETRENDS = ("constant", "linear", False, None)


# ----------------------------------------------------------------------------- results


def _finish(result: xr.DataArray, da: xr.DataArray, replace: dict, coords: dict, attrs: dict) -> xr.DataArray:
    """Put new dims where the old ones were, add coords, and set the attrs (copies)."""
    result = result.transpose(*_order(da.dims, replace))
    result = result.assign_coords(coords)
    result.attrs = {**da.attrs, **attrs}
    result.name = da.name
    return result


def _dataset_map(ds: xr.Dataset, dims, fn) -> xr.Dataset:
    """Apply ``fn`` to each data variable that has all ``dims``; keep the others."""
    need = [] if dims is None else ([dims] if isinstance(dims, str) or not isinstance(dims, (list, tuple)) else list(dims))
    out, done = {}, 0
    for name, var in ds.data_vars.items():
        if all(d in var.dims for d in need):
            out[name] = fn(var)
            done += 1
        else:
            out[name] = var
    if not done:
        raise ValueError(
            f"no data variable of the Dataset has all of the dims {need}: "
            + ", ".join(f"{k} has {tuple(v.dims)}" for k, v in ds.data_vars.items())
        )
    return xr.Dataset(out, attrs=dict(ds.attrs))


def _simple_units(u: str) -> str:
    return u if re.fullmatch(r"[A-Za-z_]+", u) else f"({u})"


def _window_attr(window) -> str:
    if isinstance(window, (str, tuple)):
        return str(window)
    return f"array of {np.shape(window)[0]} values"


def _check_choice(value, name: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported: use one of {list(choices)}.")


# ----------------------------------------------------------------------------- FFT blocks


def _fft_block(x, *, kind, naxes, shifts, phases, scale, label, device, dtype):
    t = _block_tensor(x, label, device, dtype)
    axes = tuple(range(t.ndim - naxes, t.ndim))
    X = core.rfftn(t, axes) if kind == "rfft" else core.fftn(t, axes)
    shifted = tuple(a for a, s in zip(axes, shifts) if s)
    if shifted:
        X = torch.fft.fftshift(X, dim=shifted)
    X = _multiply_phases(X, axes, phases)
    if scale != 1.0:
        X = X * scale
    return to_numpy(X)


def _ifft_block(x, *, kind, naxes, unshifts, phases, scale, sizes, label, device, dtype):
    t = _block_tensor(x, label, device, dtype)
    if not t.is_complex():
        t = t.to(torch.complex64 if t.dtype == torch.float32 else torch.complex128)
    axes = tuple(range(t.ndim - naxes, t.ndim))
    t = _multiply_phases(t, axes, phases)
    unshifted = tuple(a for a, s in zip(axes, unshifts) if s)
    if unshifted:
        t = torch.fft.ifftshift(t, dim=unshifted)
    out = core.irfftn(t, axes, s=sizes) if kind == "irfft" else core.ifftn(t, axes)
    if scale != 1.0:
        out = out * scale
    return to_numpy(out)


def _multiply_phases(X: torch.Tensor, axes, phases) -> torch.Tensor:
    for a, p in zip(axes, phases):
        if p is None:
            continue
        view = [1] * X.ndim
        view[a] = p.shape[0]
        X = X * torch.as_tensor(p, device=X.device).to(X.dtype).reshape(view)
    return X


# ----------------------------------------------------------------------------- FFTs


def _forward(obj, dim, *, kind, shift, true_phase, true_amplitude, spacing_tol, device, dtype):
    da, tensor, label = _labelled(obj, "obj")
    _check_data(da, label, allow_complex=kind == "fft")
    dims = _dims_list(da, dim, label)
    axes = [_axis(da, d, spacing_tol, label) for d in dims]
    dev, dts, dt = settings(device, dtype, tensor)
    coords, phases, shifts, sizes = {}, [], [], {}
    for i, ax in enumerate(axes):
        real = kind == "rfft" and i == len(axes) - 1
        if real:
            f = np.fft.rfftfreq(ax.size, ax.spacing)
        else:
            f = np.fft.fftfreq(ax.size, ax.spacing)
            if shift:
                f = np.fft.fftshift(f)
        shifts.append(bool(shift and not real))
        df = 1.0 / (ax.size * ax.spacing)
        coords[ax.freq_dim] = xr.Variable(ax.freq_dim, f, attrs=ax.freq_attrs(df))
        sizes[ax.freq_dim] = f.shape[0]
        phases.append(np.exp(-2j * np.pi * f * ax.origin) if true_phase and ax.origin != 0 else None)
    scale = math.prod(ax.spacing for ax in axes) if true_amplitude else 1.0
    out_dims = [ax.freq_dim for ax in axes]
    result = _apply_core(
        _fft_block, [_increasing(da, axes)], [dims], out_dims, sizes, _np_dtype(dt, True), [label],
        kind=kind, naxes=len(dims), shifts=tuple(shifts), phases=tuple(phases), scale=float(scale),
        label=label, device=dev, dtype=dts,
    )
    attrs = {"method": kind, "true_phase": int(true_phase), "true_amplitude": int(true_amplitude), "device": dev}
    units = da.attrs.get("units")
    if true_amplitude and units and all(ax.units for ax in axes):
        attrs["units"] = " ".join([units] + [ax.units for ax in axes])
    return _finish(result, da, {ax.dim: (ax.freq_dim,) for ax in axes}, coords, attrs)


def fft(
    obj,
    dim=None,
    *,
    shift: bool = True,
    true_phase: bool = False,
    true_amplitude: bool = False,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """The discrete Fourier transform over one or more dims, with frequency coords.

    ``X[k] = sum_n x[n] exp(-2 pi i k n / N)`` over each dim in ``dim`` (numpy.fft.fftn);
    the result has dims ``freq_<dim>`` with frequencies ``fftfreq(N, d)`` in cycles per
    unit of the coordinate (``d`` its spacing), fftshifted so they increase
    (``shift=False``: numpy's order). Parseval: ``sum |X|**2 == N * sum x**2``; with
    ``true_amplitude=True``, ``sum |X|**2 * df == sum x**2 * d``.

    Parameters
    ----------
    obj : DataArray, Dataset, numpy array or torch tensor
        Real or complex data. A Dataset: every data variable with all of ``dim``.
    dim : str or list of str, optional
        Dims to transform (default: all).
    shift : bool, default True
        fftshift the output (frequencies increasing).
    true_phase : bool, default False
        Multiply by ``exp(-2 pi i f x0)`` (``x0``: the first coordinate value, in
        increasing order), the phase relative to the coordinate origin.
    true_amplitude : bool, default False
        Multiply by the spacing (``d1 * d2 ...``): approximates the continuous transform.
    spacing_tol : float
        Relative tolerance for an evenly spaced coordinate.
    device, dtype
        Where and in which precision to compute (DESIGN.md's rules; default float64,
        ``torch.float32`` gives complex64).

    Returns
    -------
    DataArray
        complex, ``dim`` replaced by ``freq_<dim>`` in place; other dims, coords, attrs
        kept; attrs ``method``, ``true_phase``, ``true_amplitude``, ``device``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray([1.0, 0.0, 0.0, 0.0], dims="x", coords={"x": [0.0, 0.5, 1.0, 1.5]})
    >>> F = da.spectral.fft("x", device="cpu")
    >>> F.freq_x.values
    array([-1. , -0.5,  0. ,  0.5])
    >>> F.values
    array([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    if isinstance(obj, xr.Dataset):
        return _dataset_map(obj, dim, lambda v: fft(v, dim, shift=shift, true_phase=true_phase,
                                                    true_amplitude=true_amplitude, spacing_tol=spacing_tol,
                                                    device=device, dtype=dtype))
    return _forward(obj, dim, kind="fft", shift=shift, true_phase=true_phase, true_amplitude=true_amplitude,
                    spacing_tol=spacing_tol, device=device, dtype=dtype)


def rfft(
    obj,
    dim=None,
    *,
    shift: bool = True,
    true_phase: bool = False,
    true_amplitude: bool = False,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """The DFT of real data, halved along the last of ``dim`` (numpy.fft.rfftn).

    The last dim in ``dim`` (default: the last dim of the array) keeps ``N//2 + 1``
    non-negative frequencies ``rfftfreq(N, d)``; the others are full and fftshifted
    (``shift=True``). ``true_phase`` and ``true_amplitude`` as in :func:`fft`; the
    original length is recorded in the frequency coord's attrs (``direct_size``) so
    :func:`irfft` returns odd lengths too.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray(np.ones(5), dims="t", coords={"t": np.arange(5) * 0.25})
    >>> R = da.spectral.rfft("t", device="cpu")
    >>> R.freq_t.values
    array([0. , 0.8, 1.6])
    >>> np.round(abs(R.values), 12)
    array([5., 0., 0.])
    """
    if isinstance(obj, xr.Dataset):
        return _dataset_map(obj, dim, lambda v: rfft(v, dim, shift=shift, true_phase=true_phase,
                                                     true_amplitude=true_amplitude, spacing_tol=spacing_tol,
                                                     device=device, dtype=dtype))
    return _forward(obj, dim, kind="rfft", shift=shift, true_phase=true_phase, true_amplitude=true_amplitude,
                    spacing_tol=spacing_tol, device=device, dtype=dtype)


@dataclass(frozen=True)
class _FreqAxis:
    fdim: Hashable
    dim: str
    size: int  # frequency bins
    shifted: bool
    freqs: np.ndarray  # in the input's layout
    direct: _Axis  # the grid to rebuild


def _freq_axis(da: xr.DataArray, fdim: Hashable, label: str, spacing_tol: float, *, real: bool, n: int | None) -> _FreqAxis:
    m = int(da.sizes[fdim])
    sfdim = str(fdim)
    dim = sfdim[len(PREFIX):] if sfdim.startswith(PREFIX) else f"{sfdim}_inverse"
    attrs = dict(da[fdim].attrs) if fdim in da.coords else {}
    size = check_int(n, "n", 1) if n is not None else int(attrs.get("direct_size", 2 * (m - 1) if real else m))
    expected = size // 2 + 1 if real else size
    if m != expected:
        raise ValueError(
            f"{fdim!r} of {label} has {m} frequencies, but an inverse to {size} samples needs {expected}: "
            "an inverse transform needs the whole spectrum as the forward transform made it"
            + (" (for irfft pass n= the original length)." if real else ".")
        )
    if fdim in da.coords:
        f = np.asarray(da[fdim].values, dtype=float)
        inc = m < 2 or bool(np.all(np.diff(f) > 0))
        if real:
            if not inc or f[0] != 0:
                raise ValueError(f"{fdim!r} of {label} does not look like rfft frequencies (0, df, 2 df, ...).")
            shifted, ordered = False, f
        elif inc and m > 1 and f[0] < 0:
            shifted, ordered = True, f
        else:
            ordered = np.fft.fftshift(f)
            if m > 1 and (f[0] != 0 or not np.all(np.diff(ordered) > 0)):
                raise ValueError(f"{fdim!r} of {label} does not look like FFT frequencies (shifted or in numpy's order).")
            shifted = False
        df = (ordered[-1] - ordered[0]) / (m - 1) if m > 1 else float(attrs.get("spacing", 1.0))
        if m > 2 and np.max(np.abs(np.diff(ordered) - df)) > spacing_tol * abs(df):
            raise ValueError(f"the frequencies of {fdim!r} are not evenly spaced (relative tolerance spacing_tol={spacing_tol:g}).")
    else:
        f = np.fft.rfftfreq(size) if real else np.fft.fftfreq(size)
        shifted, df = False, 1.0 / size
    spacing = float(attrs.get("direct_spacing", 1.0 / (size * df)))
    direct = _Axis(
        dim, size, spacing, float(attrs.get("direct_origin", 0.0)), bool(attrs.get("direct_descending", 0)),
        str(attrs.get("direct_kind", "number" if fdim in da.coords else "index")), attrs.get("direct_units"),
    )
    return _FreqAxis(fdim, dim, m, shifted, f, direct)


def _freq_dims(da: xr.DataArray, dim, label: str) -> list:
    if dim is None:
        dims = [d for d in da.dims if str(d).startswith(PREFIX)]
        if not dims:
            raise ValueError(f"{label} has no frequency dims (named {PREFIX}<dim>); its dims are {tuple(da.dims)}: pass dim=.")
        return dims
    dims = [dim] if isinstance(dim, str) or not isinstance(dim, (list, tuple)) else list(dim)
    out = []
    for d in dims:
        if d not in da.dims and f"{PREFIX}{d}" in da.dims:
            d = f"{PREFIX}{d}"
        if d not in da.dims:
            raise ValueError(f"dim={d!r} is not a dimension of {label}; its dims are {tuple(da.dims)}.")
        out.append(d)
    if len(set(out)) != len(out):
        raise ValueError(f"dim={dim!r} repeats a dim.")
    return out


def _inverse(obj, dim, *, kind, n, true_phase, true_amplitude, spacing_tol, device, dtype):
    da, tensor, label = _labelled(obj, "obj")
    _check_data(da, label, allow_complex=True)
    fdims = _freq_dims(da, dim, label)
    faxes = [
        _freq_axis(da, fd, label, spacing_tol, real=kind == "irfft" and i == len(fdims) - 1,
                   n=n if kind == "irfft" and i == len(fdims) - 1 else None)
        for i, fd in enumerate(fdims)
    ]
    for fa in faxes:
        if fa.dim in da.dims:
            raise ValueError(f"{label} already has a dim {fa.dim!r}, the name the inverse of {fa.fdim!r} would take: rename it.")
    dev, dts, dt = settings(device, dtype, tensor)
    phases = tuple(
        np.exp(2j * np.pi * fa.freqs * fa.direct.origin) if true_phase and fa.direct.origin != 0 else None
        for fa in faxes
    )
    scale = 1.0 / math.prod(fa.direct.spacing for fa in faxes) if true_amplitude else 1.0
    sizes = {fa.dim: fa.direct.size for fa in faxes}
    result = _apply_core(
        _ifft_block, [da], [fdims], [fa.dim for fa in faxes], sizes, _np_dtype(dt, kind == "ifft"), [label],
        kind=kind, naxes=len(faxes), unshifts=tuple(fa.shifted for fa in faxes), phases=phases,
        scale=float(scale), sizes=tuple(fa.direct.size for fa in faxes), label=label, device=dev, dtype=dts,
    )
    coords = {}
    for fa in faxes:
        if fa.direct.kind != "index":
            attrs = {"units": fa.direct.units} if fa.direct.units and fa.direct.kind == "number" else {}
            coords[fa.dim] = xr.Variable(fa.dim, fa.direct.positions(np.arange(fa.direct.size)), attrs=attrs)
    attrs = {"method": kind, "true_phase": int(true_phase), "true_amplitude": int(true_amplitude), "device": dev}
    result = _finish(result, da, {fa.fdim: (fa.dim,) for fa in faxes}, coords, attrs)
    units = da.attrs.get("units")
    if true_amplitude and units:
        suffix = "".join(f" {fa.direct.units}" for fa in faxes if fa.direct.units)
        if suffix and units.endswith(suffix):
            result.attrs["units"] = units[: -len(suffix)]
    flips = {fa.dim: slice(None, None, -1) for fa in faxes if fa.direct.descending}
    return result.isel(flips) if flips else result


def ifft(
    obj,
    dim=None,
    *,
    true_phase: bool = False,
    true_amplitude: bool = False,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """The inverse of :func:`fft` over frequency dims, back to ``<dim>`` with its coordinate.

    ``dim`` names the frequency dims (``"freq_x"``, or ``"x"`` for short; default: every
    ``freq_*`` dim). The layout is read from the frequency coordinate (increasing:
    fftshifted; starting at 0: numpy's order). ``true_phase`` and ``true_amplitude`` must
    match the forward call: they undo it, using the origin and spacing the forward
    transform recorded in the coordinate's attrs (without those: origin 0, spacing
    ``1/(N df)``). Returns complex values (take ``.real`` for real data).

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray(np.arange(4.0), dims="x", coords={"x": [10.0, 10.5, 11.0, 11.5]})
    >>> back = da.spectral.fft("x", true_phase=True, device="cpu").spectral.ifft("x", true_phase=True, device="cpu")
    >>> np.round(back.real.values, 12), back.x.values
    (array([0., 1., 2., 3.]), array([10. , 10.5, 11. , 11.5]))
    """
    if isinstance(obj, xr.Dataset):
        fd = None if dim is None else _freq_dims_for_dataset(obj, dim)
        return _dataset_map(obj, fd if fd is not None else _all_freq_dims(obj), lambda v: ifft(
            v, dim, true_phase=true_phase, true_amplitude=true_amplitude, spacing_tol=spacing_tol,
            device=device, dtype=dtype))
    return _inverse(obj, dim, kind="ifft", n=None, true_phase=true_phase, true_amplitude=true_amplitude,
                    spacing_tol=spacing_tol, device=device, dtype=dtype)


def irfft(
    obj,
    dim=None,
    *,
    n: int | None = None,
    true_phase: bool = False,
    true_amplitude: bool = False,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """The inverse of :func:`rfft`: real values, the last of ``dim`` the halved one.

    The output length along the halved dim is ``n``, else the length :func:`rfft`
    recorded (``direct_size``), else ``2 * (m - 1)``. Other conventions as :func:`ifft`.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray(np.arange(5.0), dims="t")
    >>> np.round(da.spectral.rfft(device="cpu").spectral.irfft(device="cpu").values, 12)
    array([0., 1., 2., 3., 4.])
    """
    if isinstance(obj, xr.Dataset):
        fd = None if dim is None else _freq_dims_for_dataset(obj, dim)
        return _dataset_map(obj, fd if fd is not None else _all_freq_dims(obj), lambda v: irfft(
            v, dim, n=n, true_phase=true_phase, true_amplitude=true_amplitude, spacing_tol=spacing_tol,
            device=device, dtype=dtype))
    return _inverse(obj, dim, kind="irfft", n=n, true_phase=true_phase, true_amplitude=true_amplitude,
                    spacing_tol=spacing_tol, device=device, dtype=dtype)


def _all_freq_dims(ds: xr.Dataset) -> list:
    return [d for d in ds.dims if str(d).startswith(PREFIX)]


def _freq_dims_for_dataset(ds: xr.Dataset, dim) -> list:
    dims = [dim] if isinstance(dim, str) or not isinstance(dim, (list, tuple)) else list(dim)
    return [d if d in ds.dims or f"{PREFIX}{d}" not in ds.dims else f"{PREFIX}{d}" for d in dims]


# ----------------------------------------------------------------------------- power spectra


def _periodogramn_block(x, *, naxes, fs, params, shifts, label, device, dtype):
    t = _block_tensor(x, label, device, dtype)
    axes = tuple(range(t.ndim - naxes, t.ndim))
    _, P = core.periodogramn(t, axes, fs, **params)
    full = tuple(a for a, s in zip(axes, shifts) if s)
    if full:
        P = torch.fft.fftshift(P, dim=full)
    return to_numpy(P)


def _segments_block(*blocks, method, fs, params, shift, truncate, names, device, dtype):
    """core.welch (one block), core.csd or core.coherence (two) along the last axis, on
    the first ``truncate`` samples when given; fftshifted when ``shift``."""
    ts = [_block_tensor(b, name, device, dtype) for b, name in zip(blocks, names)]
    if truncate is not None:
        ts = [t[..., :truncate] for t in ts]
    estimate = {"welch": core.welch, "csd": core.csd, "coherence": core.coherence}[method]
    _, P = estimate(*ts, fs, axis=-1, **params)
    if shift:
        P = torch.fft.fftshift(P, dim=-1)
    return to_numpy(P)


def _spectrogram_block(x, *, fs, params, shift, label, device, dtype):
    t = _block_tensor(x, label, device, dtype)
    _, _, S = core.spectrogram(t, fs, axis=-1, **params)
    if shift:
        S = torch.fft.fftshift(S, dim=-2)
    return to_numpy(S)


def freq_coord(ax: _Axis, nfft: int, onesided: bool) -> xr.Variable:
    d = ax.spacing
    f = np.fft.rfftfreq(nfft, d) if onesided else np.fft.fftshift(np.fft.fftfreq(nfft, d))
    return xr.Variable(ax.freq_dim, f, attrs=ax.freq_attrs(1.0 / (nfft * d)))


def _not_for(method: str, why: str, **options) -> None:
    for name, value in options.items():
        if value is not None:
            raise ValueError(
                f"{name}={value!r} does not apply to method={method!r} ({why}): drop it"
                + (", or use method='welch'." if method == "periodogram" else ".")
            )


def _segments(ax: _Axis, window, nperseg, noverlap, nfft, default_window, default_noverlap, *, stacklevel: int = 4):
    """Host-side segment parameters, as scipy.signal fills them in."""
    if window is None:
        window = default_window
    n = ax.size
    if isinstance(window, (str, tuple)):
        nperseg = min(256, n) if nperseg is None else check_int(nperseg, "nperseg", 1)
        if nperseg > n:
            warnings.warn(
                f"nperseg={nperseg} is greater than the {n} samples along {ax.dim!r}; using nperseg={n}.",
                UserWarning,
                stacklevel=stacklevel,
            )
            nperseg = n
        core.get_window(window, nperseg)  # an unknown window fails here, before any work
    else:
        window = np.asarray(window.detach().cpu() if isinstance(window, torch.Tensor) else window, dtype=float)
        if window.ndim != 1 or window.shape[0] > n:
            raise ValueError(f"window must be 1-D with at most {n} values (the length of {ax.dim!r}); got shape {window.shape}.")
        if not np.isfinite(window).all():
            raise ValueError("window holds NaN or inf: a window must be finite (it weights every segment).")
        if not window.any():
            raise ValueError("window is all zeros: it would weight every sample by 0 (the spectrum is undefined).")
        if nperseg is not None and check_int(nperseg, "nperseg", 1) != window.shape[0]:
            raise ValueError(f"nperseg={nperseg} differs from the window's length {window.shape[0]}.")
        nperseg = window.shape[0]
    noverlap = default_noverlap(nperseg) if noverlap is None else check_int(noverlap, "noverlap", 0)
    if not 0 <= noverlap < nperseg:
        raise ValueError(f"noverlap={noverlap} must be >= 0 and less than nperseg={nperseg}.")
    nfft = nperseg if nfft is None else check_int(nfft, "nfft", 1)
    if nfft < nperseg:
        raise ValueError(f"nfft={nfft} must be >= nperseg={nperseg}.")
    return window, nperseg, noverlap, nfft


def _power_units(da: xr.DataArray, axes: Sequence[_Axis], scaling: str, other: xr.DataArray | None = None) -> dict:
    """The units of ``|X|**2`` (of ``conj(X) * Y`` with ``other``), per unit frequency
    for a density: none unless the data (and the axes, for a density) have units."""
    u = da.attrs.get("units")
    v = u if other is None else other.attrs.get("units")
    if not (u and v):
        return {}
    prod = f"{_simple_units(u)}^2" if u == v else f"{_simple_units(u)} {_simple_units(v)}"
    if scaling == "spectrum":
        return {"units": prod}
    if all(ax.units for ax in axes):
        return {"units": " ".join([prod] + [ax.units for ax in axes])}
    return {}


def _check_scaling_detrend(scaling, detrend) -> None:
    _check_choice(scaling, "scaling", ("density", "spectrum"))
    _check_choice(detrend, "detrend", _DETRENDS)


def _periodogram_window(window, *, nperseg, noverlap, average):
    """The periodogram's window (default boxcar), after refusing the Welch-only options."""
    _not_for("periodogram", "one segment spanning the whole dim", nperseg=nperseg, noverlap=noverlap, average=average)
    return "boxcar" if window is None else window


def _periodogram_length(ax: _Axis, nfft, window) -> tuple[int, int]:
    """(FFT length, samples used) of a periodogram along ``ax``: a shorter ``nfft``
    truncates the data, as scipy does."""
    length = ax.size if nfft is None else check_int(nfft, "nfft", 1)
    n = min(ax.size, length)
    if not isinstance(window, (str, tuple)) and np.shape(window) != (n,):
        raise ValueError(f"window must have {n} values (the samples along {ax.dim!r}); got shape {np.shape(window)}.")
    return length, n


def _welch_segments(ax: _Axis, *, window, detrend, nperseg, noverlap, nfft, stacklevel: int) -> dict:
    """Welch's segments along ``ax`` filled in as scipy.signal does (Hann window,
    ``nperseg`` 256 at most the length, ``noverlap = nperseg // 2``): the keyword
    arguments of core.welch, core.csd and core.coherence they make."""
    window, nperseg, noverlap, nfft = _segments(ax, window, nperseg, noverlap, nfft, "hann", lambda k: k // 2,
                                                stacklevel=stacklevel)
    return {"window": window, "nperseg": nperseg, "noverlap": noverlap, "nfft": nfft, "detrend": detrend}


def _spectrum_along(das, labels, ax: _Axis, tensor, *, method, window, detrend, nperseg, noverlap, nfft, average,
                    scaling, onesided, device, dtype) -> xr.DataArray:
    """The power spectrum of one DataArray, or the cross spectrum of two, along ``ax``:
    core.welch or core.csd, by ``method``.

    ``"periodogram"``: one segment spanning the dim (default window boxcar; a shorter
    ``nfft`` truncates the data, as scipy.signal.periodogram does); ``"welch"``: the
    segments of :func:`_welch_segments`, averaged by ``average``. Called by the public
    functions only: the nperseg warning names their caller's line.
    """
    onesided = bool(onesided)
    attrs = {"method": method, "scaling": scaling, "detrend": str(detrend or "none"), "onesided": int(onesided)}
    truncate = None
    if method == "periodogram":
        window = _periodogram_window(window, nperseg=nperseg, noverlap=noverlap, average=average)
        length, n = _periodogram_length(ax, nfft, window)
        if n < ax.size:
            truncate = n
        params = {"window": window, "nperseg": n, "noverlap": 0, "nfft": length, "detrend": detrend}
        average = "mean"
        if nfft is not None:
            attrs["nfft"] = length
    else:
        average = "mean" if average is None else average
        _check_choice(average, "average", ("mean", "median"))
        params = _welch_segments(ax, window=window, detrend=detrend, nperseg=nperseg, noverlap=noverlap, nfft=nfft,
                                 stacklevel=6)
        attrs.update(nperseg=params["nperseg"], noverlap=params["noverlap"], nfft=params["nfft"], average=average)
    params.update(return_onesided=onesided, scaling=scaling, average=average)
    attrs["window"] = _window_attr(params["window"])
    coord = freq_coord(ax, params["nfft"], onesided)
    dev, dts, dt = settings(device, dtype, tensor)
    cross = len(das) == 2
    result = _apply_segments(das, labels, ax, coord, _np_dtype(dt, cross), method="csd" if cross else "welch",
                             params=params, shift=not onesided, truncate=truncate, device=dev, dtype=dts)
    kind = "cross" if cross else "power"
    attrs.update(device=dev, long_name=f"{kind} spectral density" if scaling == "density" else f"{kind} spectrum")
    attrs.update(_power_units(das[0], [ax], scaling, das[-1]))
    return _finish(result, das[0], {ax.dim: (ax.freq_dim,)}, {ax.freq_dim: coord}, attrs)


def power(
    obj,
    dim,
    *,
    method: str = "periodogram",
    window=None,
    detrend="constant",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    average: str | None = None,
    scaling: str = "density",
    onesided: bool = True,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """Power spectrum along ``dim``: a periodogram or Welch's average, as scipy.signal.

    ``method="periodogram"`` (:func:`scipy.signal.periodogram`; over one or several
    dims, then a separable window) or ``"welch"`` (:func:`scipy.signal.welch`, one dim).
    With ``w`` the window and ``X`` the DFT of the detrended, windowed data (or
    segment), ``fs = 1/d`` the sampling frequency from the coordinate spacing:

    * ``scaling="density"``: ``P = |X|**2 / (fs * sum(w**2))``, units of x**2 per unit
      frequency (attrs ``units`` when data and coordinate have units);
    * ``scaling="spectrum"``: ``P = |X|**2 / sum(w)**2``, units of x**2;
    * one-sided (real data, the default) doubles every bin but 0 and Nyquist;
      ``onesided=False`` gives the fftshifted two-sided spectrum (scipy: numpy's order);
    * Welch averages these over segments (``average="mean"`` or ``"median"``).

    Parseval (boxcar window, ``detrend=False``): ``P.sum() * df == mean(x**2)`` for
    density (``df = fs / nfft``; over several dims the product of the ``df``) and
    ``P.sum() == mean(x**2)`` for spectrum; with a window, the weighted mean
    ``sum(w**2 x**2) / sum(w**2)``; Welch: the average of that over segments.

    Parameters
    ----------
    obj : DataArray, Dataset, numpy array or torch tensor
        Real data. A Dataset: every data variable with all of ``dim``.
    dim : str or list of str
        The dim(s) along which to estimate the spectrum (several: periodogram only; the
        last one is halved when one-sided).
    method : {"periodogram", "welch"}
    window : str, tuple or 1-D array, optional
        :func:`scipy.signal.get_window` spec; default ``"boxcar"`` (periodogram) or
        ``"hann"`` (Welch).
    detrend : {"constant", "linear", False}
        Per segment (Welch) or over the whole dims (periodogram; over several dims a
        least-squares plane for ``"linear"``).
    nperseg, noverlap, average : Welch only
        Segment length (default 256, at most the length), overlap (default
        ``nperseg // 2``), ``"mean"`` (default) or ``"median"``. Passing them with the
        periodogram is a ValueError.
    nfft : int, optional
        FFT length (one dim only); for the periodogram a shorter ``nfft`` truncates the
        data, as scipy does.
    scaling : {"density", "spectrum"}
    onesided : bool, default True
    spacing_tol : float
        Relative tolerance for an evenly spaced coordinate.
    device, dtype
        Where and in which precision to compute.

    Returns
    -------
    DataArray
        ``dim`` replaced by ``freq_<dim>``; attrs ``method``, ``scaling``, ``window``,
        ``detrend``, ``nperseg``/``noverlap``/``nfft`` (Welch), ``onesided``,
        ``device``, ``units``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> x = xr.DataArray(np.random.default_rng(0).normal(size=1000), dims="t",
    ...                  coords={"t": np.arange(1000) * 0.01})
    >>> P = x.spectral.power("t", detrend=False, device="cpu")
    >>> bool(np.isclose(P.sum() * P.freq_t.spacing, (x**2).mean()))
    True
    >>> x.spectral.power("t", method="welch", nperseg=200, device="cpu").sizes["freq_t"]
    101
    """
    options = dict(method=method, window=window, detrend=detrend, nperseg=nperseg, noverlap=noverlap, nfft=nfft,
                   average=average, scaling=scaling, onesided=onesided, spacing_tol=spacing_tol, device=device,
                   dtype=dtype)
    if isinstance(obj, xr.Dataset):
        return _dataset_map(obj, dim, lambda v: power(v, dim, **options))
    da, tensor, label = _labelled(obj, "obj")
    _check_choice(method, "method", ("periodogram", "welch"))
    _check_scaling_detrend(scaling, detrend)
    _check_data(da, label, allow_complex=False)
    dims = _dims_list(da, dim, label, default_all=False)
    axes = [_axis(da, d, spacing_tol, label) for d in dims]
    if len(dims) == 1:
        return _spectrum_along([da], [label], axes[0], tensor, method=method, window=window, detrend=detrend,
                               nperseg=nperseg, noverlap=noverlap, nfft=nfft, average=average, scaling=scaling,
                               onesided=onesided, device=device, dtype=dtype)
    if method == "welch":
        raise ValueError(f"dim={dim!r}: method='welch' works along one dim; use method='periodogram' over several.")
    window = _periodogram_window(window, nperseg=nperseg, noverlap=noverlap, average=average)
    _not_for(method, f"over several dims {dims}; it applies to one dim", nfft=nfft)
    if not isinstance(window, (str, tuple)):
        raise ValueError("window must be a name or (name, parameter) tuple over several dims (one window per dim).")
    onesided = bool(onesided)
    params = {"window": window, "detrend": detrend, "return_onesided": onesided, "scaling": scaling}
    attrs = {"method": method, "scaling": scaling, "detrend": str(detrend or "none"), "onesided": int(onesided),
             "window": _window_attr(window)}
    coords = {}
    shifts = []
    for i, ax in enumerate(axes):
        halved = onesided and i == len(axes) - 1
        coords[ax.freq_dim] = freq_coord(ax, ax.size, halved)
        shifts.append(not halved)
    dev, dts, dt = settings(device, dtype, tensor)
    result = _apply_core(
        _periodogramn_block, [_increasing(da, axes)], [dims], [ax.freq_dim for ax in axes],
        {k: v.shape[0] for k, v in coords.items()}, _np_dtype(dt, False), [label], naxes=len(dims),
        fs=tuple(1.0 / ax.spacing for ax in axes), params=params, shifts=tuple(shifts), label=label, device=dev,
        dtype=dts,
    )
    attrs.update(device=dev, long_name="power spectral density" if scaling == "density" else "power spectrum")
    attrs.update(_power_units(da, axes, scaling))
    return _finish(result, da, {ax.dim: (ax.freq_dim,) for ax in axes}, coords, attrs)


def _pair(obj, other, dim, spacing_tol):
    da, tensor, la = _labelled(obj, "obj")
    db, tensor_b, lb = _labelled(other, "other")
    _check_data(da, la, allow_complex=False)
    _check_data(db, lb, allow_complex=False)
    if not isinstance(dim, Hashable) or isinstance(dim, (list, tuple)):
        raise ValueError(f"dim={dim!r} must name one dim.")
    _dims_list(da, dim, la, default_all=False)
    _dims_list(db, dim, lb, default_all=False)
    ax = _axis(da, dim, spacing_tol, la)
    bx = _axis(db, dim, spacing_tol, lb)
    same = ax.size == bx.size and ax.descending == bx.descending and (dim in da.coords) == (dim in db.coords)
    if same and dim in da.coords:
        ca, cb = da[dim].values, db[dim].values
        same = bool(np.array_equal(ca, cb)) if ca.dtype.kind not in "fc" else bool(np.allclose(ca, cb, rtol=1e-12, atol=0))
    if not same:
        raise ValueError(
            f"obj and other must share dim {dim!r} with the same length and coordinate; got {ax.size} and "
            f"{bx.size} samples. Align them first (e.g. xarray.align(obj, other, join='inner'))."
        )
    return da, db, la, lb, ax, tensor if tensor is not None else tensor_b


def _apply_segments(das, labels, ax: _Axis, coord: xr.Variable, out_dtype, *, method, params, shift, truncate,
                    device, dtype) -> xr.DataArray:
    """``_segments_block`` (core.welch of one DataArray, core.csd or core.coherence of the
    pair from :func:`_pair`) along ``ax``."""
    return _apply_core(
        _segments_block, [_increasing(d, [ax]) for d in das], [[ax.dim]] * len(das), [ax.freq_dim],
        {ax.freq_dim: coord.shape[0]}, out_dtype, list(labels), method=method, fs=1.0 / ax.spacing,
        params=params, shift=shift, truncate=truncate, names=tuple(labels), device=device, dtype=dtype,
    )


def cross_spectrum(
    obj,
    other,
    dim,
    *,
    method: str = "periodogram",
    window=None,
    detrend="constant",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    average: str | None = None,
    scaling: str = "density",
    onesided: bool = True,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """Cross spectrum ``Pxy = conj(X) * Y`` of ``obj`` (x) and ``other`` (y) along ``dim``.

    scipy.signal.csd's convention and scaling: with ``method="welch"`` it equals
    :func:`scipy.signal.csd` (Hann window, segments, averages); ``"periodogram"`` (the
    default, as in :func:`power`) is one boxcar segment spanning the dim, so
    ``cross_spectrum(x, x) == power(x)``. Options, defaults and errors as :func:`power`.
    (xrft.cross_spectrum returns the conjugate, ``X * conj(Y)``.) Parseval: with the
    boxcar window and ``detrend=False``, ``Pxy.real.sum() * df == mean(x * y)``. The
    other dims of ``obj`` and ``other`` broadcast (aligned exactly); ``dim`` must have
    the same length and coordinate in both.

    Returns
    -------
    DataArray
        complex, ``dim`` replaced by ``freq_<dim>``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> rng = np.random.default_rng(0)
    >>> x = xr.DataArray(rng.normal(size=256), dims="t")
    >>> y = x.roll(t=3) + 0.1 * xr.DataArray(rng.normal(size=256), dims="t")
    >>> Pxy = x.spectral.cross_spectrum(y, "t", detrend=False, device="cpu")
    >>> bool(np.isclose(Pxy.real.sum() / 256, (x * y).mean()))
    True
    """
    da, db, la, lb, ax, tensor = _pair(obj, other, dim, spacing_tol)
    _check_choice(method, "method", ("periodogram", "welch"))
    _check_scaling_detrend(scaling, detrend)
    return _spectrum_along([da, db], [la, lb], ax, tensor, method=method, window=window, detrend=detrend,
                           nperseg=nperseg, noverlap=noverlap, nfft=nfft, average=average, scaling=scaling,
                           onesided=onesided, device=device, dtype=dtype)


def coherence(
    obj,
    other,
    dim,
    *,
    window=None,
    detrend="constant",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """Magnitude-squared coherence ``|Pxy|**2 / (Pxx Pyy)`` along ``dim``, in [0, 1].

    Welch estimates as :func:`scipy.signal.coherence` (Hann window, ``nperseg`` default
    256 at most the length, ``noverlap = nperseg // 2``, one-sided, mean average).
    (With a single segment the coherence is 1 at every frequency, so there is no
    periodogram method.)

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> rng = np.random.default_rng(1)
    >>> x = xr.DataArray(rng.normal(size=4096), dims="t")
    >>> C = x.spectral.coherence(3 * x, "t", nperseg=128, device="cpu")
    >>> bool(np.allclose(C.isel(freq_t=slice(1, None)), 1.0))
    True
    """
    da, db, la, lb, ax, tensor = _pair(obj, other, dim, spacing_tol)
    _check_choice(detrend, "detrend", _DETRENDS)
    params = _welch_segments(ax, window=window, detrend=detrend, nperseg=nperseg, noverlap=noverlap, nfft=nfft,
                             stacklevel=5)
    coord = freq_coord(ax, params["nfft"], True)
    dev, dts, dt = settings(device, dtype, tensor)
    result = _apply_segments([da, db], [la, lb], ax, coord, _np_dtype(dt, False), method="coherence", params=params,
                             shift=False, truncate=None, device=dev, dtype=dts)
    attrs = {"method": "welch", "window": _window_attr(params["window"]), "detrend": str(detrend or "none"),
             "nperseg": params["nperseg"], "noverlap": params["noverlap"], "nfft": params["nfft"], "device": dev,
             "long_name": "magnitude-squared coherence", "units": "1"}
    out = _finish(result, da, {dim: (ax.freq_dim,)}, {ax.freq_dim: coord}, attrs)
    if out.chunks is None and bool(np.isnan(out.values).any()):  # (a lazy result is not read here)
        warnings.warn(
            "coherence: obj or other has zero power at some frequencies (a constant signal?), where the "
            "coherence |Pxy|^2 / (Pxx Pyy) is 0/0: NaN there, as scipy.signal.coherence gives (with its warning).",
            RuntimeWarning, stacklevel=2,
        )
    return out


def spectrogram(
    obj,
    dim,
    *,
    window=None,
    detrend="constant",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    scaling: str = "density",
    onesided: bool = True,
    mode: str = "psd",
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """Spectrogram (short-time Fourier transform) along ``dim``, as scipy.signal.spectrogram.

    ``dim`` is replaced by two dims: ``freq_<dim>`` and ``<dim>_segment`` (xrft's name
    for segments), whose coordinate is each segment's centre,
    ``x0 + (nperseg/2 + j*(nperseg - noverlap)) * d`` (scipy's segment times, offset by
    the first coordinate value). Defaults as scipy: Tukey(0.25) window, ``nperseg`` 256
    (at most the length), ``noverlap = nperseg // 8``, constant detrend, density scaling.
    ``mode="psd"``: each segment's periodogram (Parseval per segment as in
    :func:`power`); ``"complex"``: the STFT scaled by ``sqrt`` of the scale;
    ``"magnitude"``, ``"angle"``, ``"phase"`` (unwrapped along frequency) from it.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> t = np.arange(2000) / 100.0
    >>> chirp = xr.DataArray(np.sin(2 * np.pi * (2 + t) * t), dims="time", coords={"time": t})
    >>> S = chirp.spectral.spectrogram("time", nperseg=200, device="cpu")
    >>> S.dims
    ('freq_time', 'time_segment')
    >>> round(float(S.time_segment[0]), 9)
    1.0
    """
    options = dict(window=window, detrend=detrend, nperseg=nperseg, noverlap=noverlap, nfft=nfft, scaling=scaling,
                   onesided=onesided, mode=mode, spacing_tol=spacing_tol, device=device, dtype=dtype)
    if isinstance(obj, xr.Dataset):
        return _dataset_map(obj, dim, lambda v: spectrogram(v, dim, **options))
    da, tensor, label = _labelled(obj, "obj")
    _check_scaling_detrend(scaling, detrend)
    _check_choice(mode, "mode", ("psd", "complex", "magnitude", "angle", "phase"))
    _check_data(da, label, allow_complex=False)
    if isinstance(dim, (list, tuple)):
        raise ValueError(f"dim={dim!r} must name one dim.")
    (dim,) = _dims_list(da, dim, label, default_all=False)
    ax = _axis(da, dim, spacing_tol, label)
    window, nperseg, noverlap, length = _segments(ax, window, nperseg, noverlap, nfft, ("tukey", 0.25), lambda k: k // 8)
    onesided = bool(onesided)
    step = nperseg - noverlap
    nseg = (ax.size - noverlap) // step
    seg_dim = f"{dim}_segment"
    if seg_dim in da.dims:
        raise ValueError(f"{label} already has a dim {seg_dim!r}: rename it.")
    fcoord = freq_coord(ax, length, onesided)
    seg_attrs = {"long_name": f"centre of the segment along {dim}"}
    if ax.units and ax.kind == "number":
        seg_attrs["units"] = ax.units
    scoord = xr.Variable(seg_dim, ax.positions(nperseg / 2 + step * np.arange(nseg)), attrs=seg_attrs)
    dev, dts, dt = settings(device, dtype, tensor)
    params = {"window": window, "nperseg": nperseg, "noverlap": noverlap, "nfft": length, "detrend": detrend,
              "return_onesided": onesided, "scaling": scaling, "mode": mode}
    result = _apply_core(
        _spectrogram_block, [_increasing(da, [ax])], [[dim]], [ax.freq_dim, seg_dim],
        {ax.freq_dim: fcoord.shape[0], seg_dim: nseg}, _np_dtype(dt, mode == "complex"), [label],
        fs=1.0 / ax.spacing, params=params, shift=not onesided, label=label, device=dev, dtype=dts,
    )
    attrs = {"method": "spectrogram", "mode": mode, "scaling": scaling, "window": _window_attr(window),
             "detrend": str(detrend or "none"), "nperseg": nperseg, "noverlap": noverlap, "nfft": length,
             "onesided": int(onesided), "device": dev}
    if mode == "psd":
        attrs.update(_power_units(da, [ax], scaling))
    elif mode in ("angle", "phase"):
        attrs["units"] = "rad"
    return _finish(result, da, {dim: (ax.freq_dim, seg_dim)}, {ax.freq_dim: fcoord, seg_dim: scoord}, attrs)


# ----------------------------------------------------------------------------- isotropic


def _isotropic_block(x, *, fs, nbins, fmax, window, detrend, scaling, label, device, dtype):
    t = _block_tensor(x, label, device, dtype)
    _, P, _ = core.isotropic_power(t, (-2, -1), fs=fs, nbins=nbins, fmax=fmax, window=window, detrend=detrend,
                                   scaling=scaling)
    return to_numpy(P)


def isotropic_power(
    obj,
    dims=None,
    *,
    nbins: int | None = None,
    fmax: float | None = None,
    window=None,
    detrend="constant",
    scaling: str = "density",
    spacing_tol: float = 1e-3,
    device=None,
    dtype=None,
):
    """Radially averaged power over two dims ``(y, x)``: the isotropic spectrum.

    The two-sided 2-D periodogram ``P(fy, fx)`` (scaling as :func:`power`; separable
    ``window``, default boxcar; ``detrend`` over both dims) is averaged over rings of
    ``|f| = sqrt(fy**2 + fx**2)``: ``nbins`` equal-width rings (default
    ``min(ny, nx) // 2``) from 0 to ``fmax`` (default the largest ``|f|`` on the grid, so
    every grid point counts; pass the smaller Nyquist frequency to keep whole rings
    only), closed on the right as pandas.cut (and so xrft); rings without grid points are
    dropped. The result has a dim ``freq_r`` (the mean ``|f|`` in each ring) with a coord
    ``count`` (grid points per ring). Parseval (boxcar, ``detrend=False``):
    ``(P_iso * count).sum() * dfy * dfx == mean(x**2)``. xrft's
    ``isotropic_power_spectrum`` returns ``P_iso * freq_r`` instead.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> img = xr.DataArray(np.random.default_rng(0).normal(size=(64, 64)), dims=("y", "x"))
    >>> iso = img.spectral.isotropic_power(("y", "x"), detrend=False, device="cpu")
    >>> bool(np.isclose((iso * iso["count"]).sum() / 64**2, (img**2).mean()))
    True
    """
    options = dict(nbins=nbins, fmax=fmax, window=window, detrend=detrend, scaling=scaling, spacing_tol=spacing_tol,
                   device=device, dtype=dtype)
    if isinstance(obj, xr.Dataset):
        return _dataset_map(obj, dims, lambda v: isotropic_power(v, dims, **options))
    da, tensor, label = _labelled(obj, "obj")
    _check_scaling_detrend(scaling, detrend)
    _check_data(da, label, allow_complex=False)
    if dims is None:
        if da.ndim < 2:
            raise ValueError(f"{label} has dims {tuple(da.dims)}: isotropic_power needs two dims.")
        dims = list(da.dims[-2:])
    dims = _dims_list(da, dims, label, default_all=False, name="dims")
    if len(dims) != 2:
        raise ValueError(f"dims={dims!r} must name exactly two dims (y, x).")
    axes = [_axis(da, d, spacing_tol, label) for d in dims]
    if axes[0].units and axes[1].units and axes[0].units != axes[1].units:
        raise ValueError(
            f"dims {dims} have different units ({axes[0].units!r}, {axes[1].units!r}): a radius mixes them; "
            "convert the coordinates to the same units first."
        )
    window = "boxcar" if window is None else window
    if not isinstance(window, (str, tuple)):
        raise ValueError("window must be a name or (name, parameter) tuple (one window per dim).")
    bins = core.radial_bins((axes[0].size, axes[1].size), (axes[0].spacing, axes[1].spacing), nbins, fmax)
    fs = (1.0 / axes[0].spacing, 1.0 / axes[1].spacing)
    units = axes[0].units or axes[1].units
    fr_attrs = {"long_name": "radial frequency (mean |f| in the ring)"}
    if units:
        fr_attrs["units"] = f"1/{units}"
    coords = {"freq_r": xr.Variable("freq_r", bins.freq_r, attrs=fr_attrs),
              "count": xr.Variable("freq_r", bins.counts, attrs={"long_name": "grid points in the ring"})}
    dev, dts, dt = settings(device, dtype, tensor)
    result = _apply_core(
        _isotropic_block, [_increasing(da, axes)], [dims], ["freq_r"], {"freq_r": len(bins.freq_r)},
        _np_dtype(dt, False), [label], fs=fs, nbins=nbins, fmax=fmax, window=window, detrend=detrend,
        scaling=scaling, label=label, device=dev, dtype=dts,
    )
    attrs = {"method": "isotropic periodogram", "scaling": scaling, "window": _window_attr(window),
             "detrend": str(detrend or "none"), "device": dev,
             "long_name": "radially averaged power spectral density" if scaling == "density" else "radially averaged power spectrum"}
    u = da.attrs.get("units")
    if u:
        sq = f"{_simple_units(u)}^2"
        attrs["units"] = sq if scaling == "spectrum" else (f"{sq} {units} {units}" if units and all(a.units for a in axes) else None)
        if attrs["units"] is None:
            del attrs["units"]
    return _finish(result, da, {dims[0]: ("freq_r",), dims[1]: ()}, coords, attrs)


# ----------------------------------------------------------------------------- wavenumbers


def wavenumbers_squared(
    obj,
    dim=None,
    *,
    real: bool = False,
    shift: bool = True,
    angular: bool = True,
    spacing_tol: float = 1e-3,
) -> xr.DataArray:
    """``|k|**2`` on the grid of ``fft(obj, dim)`` (or ``rfft`` with ``real=True``).

    ``|k|**2 = sum over dims of k_d**2`` with ``k_d = 2 pi f_d`` (``angular=True``,
    radians per unit of the coordinate, the usual Sobolev convention: weight
    ``(1 + |k|**2)**s``) or ``k_d = f_d`` (cycles per unit). The result has the dims and
    coords (with their attrs) that :func:`fft`/:func:`rfft` give for the same ``dim``,
    ``shift`` and ``spacing_tol``, so it broadcasts against the transform: a
    Fourier-domain filter is ``irfft(rfft(da, dims) * h(k2))``. Computed on the host
    (it is small); ``spectrakit.core.fourier.wavenumbers_squared`` builds the same grid
    as a tensor on a device.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray(np.zeros(4), dims="x", coords={"x": np.arange(4) * 0.5})
    >>> k2 = spectrakit.xr.wavenumbers_squared(da, "x", angular=False)
    >>> k2.dims, k2.values
    (('freq_x',), array([1.  , 0.25, 0.  , 0.25]))
    """
    da, _, label = _labelled(obj, "obj")
    dims = _dims_list(da, dim, label)
    axes = [_axis(da, d, spacing_tol, label) for d in dims]
    k2 = core.wavenumbers_squared(
        [ax.size for ax in axes], [ax.spacing for ax in axes], real=real, shift=shift, angular=angular,
        device="cpu", dtype=torch.float64,
    )
    coords = {}
    for i, ax in enumerate(axes):
        last_real = real and i == len(axes) - 1
        f = np.fft.rfftfreq(ax.size, ax.spacing) if last_real else np.fft.fftfreq(ax.size, ax.spacing)
        if shift and not last_real:
            f = np.fft.fftshift(f)
        coords[ax.freq_dim] = xr.Variable(ax.freq_dim, f, attrs=ax.freq_attrs(1.0 / (ax.size * ax.spacing)))
    attrs = {"long_name": "squared angular wavenumber |2 pi f|^2" if angular else "squared frequency |f|^2"}
    units = {ax.units for ax in axes}
    if len(units) == 1 and None not in units:
        (u,) = units
        attrs["units"] = f"{'rad^2 ' if angular else ''}{_simple_units(u)}^-2"
    return xr.DataArray(to_numpy(k2), dims=[ax.freq_dim for ax in axes], coords=coords, name="k2", attrs=attrs)


# ------------------------------------------------------- Fourier-domain regularization

FOURIER_LOO_NOTE = (
    "equals gcv: the influence matrix of a circulant problem has every leverage equal to trace(H)/N"
)


def fourier_axes(da, dims, label, spacing_tol=1e-6):
    """Checked (dims, axes, other dims) of a Fourier regularization, without loading data."""
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{label} must be an xarray.DataArray with evenly spaced coordinates on its dims.")
    _check_data(da, label, allow_complex=False)  # (finiteness: per block, in the bridge)
    dims = _dims_list(da, dims, label, name="dims")
    axes = [_axis(da, d, spacing_tol, label, tol_is_argument=False) for d in dims]
    return dims, axes, [d for d in da.dims if d not in dims]


def centred_transfer(kernel, dims, axes, device, dtype) -> torch.Tensor:
    """``fftn`` of a PSF whose centre (coordinate 0, else the middle sample) goes to index 0."""
    if not isinstance(kernel, xr.DataArray):
        raise TypeError("kernel must be a DataArray on the same dims as the data (the point-spread function).")
    missing = [d for d in dims if d not in kernel.dims]
    extra = [d for d in kernel.dims if d not in dims]
    if missing or extra:
        raise ValueError(f"kernel must have exactly the dims {tuple(dims)}; it has {tuple(kernel.dims)}.")
    sizes = {ax.dim: ax.size for ax in axes}
    if any(kernel.sizes[d] != sizes[d] for d in dims):
        raise ValueError(
            f"kernel must have the data's sizes on {tuple(dims)} ({sizes}); got {dict(kernel.sizes)}. "
            "Pad it with zeros around its centre."
        )
    k = to_tensor(kernel.transpose(*dims).data, "kernel", device, dtype)
    shifts = []
    for d in dims:
        if d in kernel.coords and kernel[d].dtype.kind in "iuf":
            centre = int(np.argmin(np.abs(kernel[d].values)))
        else:
            centre = kernel.sizes[d] // 2
        shifts.append(-centre)
    k = torch.roll(k, shifts=tuple(shifts), dims=tuple(range(len(dims))))
    return torch.fft.fftn(k)


def _regularize_block(b, *x_true, ndim, reg, transfer, weights, method, options, noise_norm, names, device, dtype):
    """One block of signals (core dims last) through :func:`spectrakit.core.fourier.fourier_path`."""
    lead, shape = b.shape[:-ndim], b.shape[-ndim:]
    tdtype = getattr(torch, dtype)
    bt = _block_tensor(b, "da", device, dtype).reshape((-1,) + shape)
    xt = _block_tensor(x_true[0], "x_true", device, dtype).reshape((-1,) + shape) if x_true else None
    noise = None if noise_norm is None else torch.full((bt.shape[0],), noise_norm, dtype=tdtype, device=device)
    x, _, _, crit = core.fourier_path(
        bt, torch.as_tensor(reg, dtype=tdtype, device=device), ndim=ndim,
        transfer=None if transfer is None else torch.as_tensor(transfer, device=device),
        weights=torch.as_tensor(weights, dtype=tdtype, device=device),
        method=method, x_true=xt, noise_norm=noise, **options,
    )
    R = len(reg)
    return (to_numpy(x).reshape(lead + (R,) + shape),) + tuple(to_numpy(crit[n]).reshape(lead + (R,)) for n in names)


def _fourier_regularize(
    da, dims, *, reg, method, penalty, transfer_from=None, sobolev=0.0, lowpass=False,
    x_true=None, noise_norm=None, device=None, dtype=None, **method_options,
) -> xr.Dataset:
    """The one path under smooth, deconvolve and lowpass (see :func:`smooth`)."""
    dims, axes, other = fourier_axes(da, dims, "da")
    dev, dt_name, dt = settings(device, dtype, None)
    shape = tuple(ax.size for ax in axes)
    K = int(np.prod(shape))
    n_reg = reg_count(reg)
    n_signals = int(np.prod([da.sizes[d] for d in other])) if other else 1
    per_block = n_signals if da.chunks is None else max(
        int(np.prod([max(da.chunksizes[d]) for d in other])) if other else 1, 1
    )
    check_memory(
        itemsize(dt) * (per_block * n_reg * K * 5 + n_reg * K * 2), dev, name="reg",
        what=f"a path over {n_reg} reg values of {per_block} signal(s) of {K} samples at once",
        alternative="Use fewer reg values, a scalar reg per call, or chunk the other dims with dask.",
    )
    reg_arr = check_reg(reg)
    if noise_norm is not None and (np.ndim(noise_norm) != 0 or not np.isfinite(noise_norm) or noise_norm <= 0):
        raise ValueError(f"noise_norm must be one finite number > 0 (the norm ||b - b_exact|| per signal); got {noise_norm!r}.")

    k_sq = core.wavenumbers_squared(shape, [ax.spacing for ax in axes], device=dev, dtype=dt)
    transfer = None if transfer_from is None else centred_transfer(transfer_from, dims, axes, dev, dt)
    # lowpass: s = 1/|k|^2, so the mean (k = 0) has s huge and always passes
    weights = k_sq.clamp_min(torch.finfo(dt).tiny) if lowpass else core.sobolev_weights(k_sq, float(sobolev))
    s = (1 if transfer is None else transfer.real**2 + transfer.imag**2) / weights
    f, native = spectral.filter_factors(s.reshape(K), torch.as_tensor(reg_arr, dtype=dt, device=dev), method, **method_options)

    inputs, in_dims = [da], [dims]
    if x_true is not None:
        xt = x_true if isinstance(x_true, xr.DataArray) else xr.DataArray(np.asarray(x_true), dims=da.dims[-np.ndim(x_true):])
        missing = [d for d in dims if d not in xt.dims]
        if missing or any(xt.sizes[d] != da.sizes[d] for d in dims):
            raise ValueError(f"x_true must have the data's dims {tuple(dims)} and sizes; it has {dict(xt.sizes)}.")
        inputs.append(xt)
        in_dims.append(dims)
    names = ["residual_norm", "solution_norm", "gcv", "curvature"]
    names += ["error_norm"] if x_true is not None else []
    names += ["discrepancy"] if noise_norm is not None else []
    outs = _apply_core(
        _regularize_block, inputs, in_dims,
        out_dims=[["reg", *dims]] + [["reg"]] * len(names),
        out_sizes={"reg": reg_arr.shape[0], **{ax.dim: ax.size for ax in axes}},
        out_dtype=[_np_dtype(dt, False)] * (len(names) + 1), labels=["da", "x_true"],
        ndim=len(dims), reg=reg_arr, transfer=None if transfer is None else to_numpy(transfer),
        weights=to_numpy(weights), method=method, options=method_options,
        noise_norm=None if noise_norm is None else float(noise_norm), names=names, device=dev, dtype=dt_name,
    )
    data_vars = {"estimate": outs[0].transpose("reg", *other, *dims)}
    for name, value in zip(names, outs[1:]):
        data_vars[name] = value.transpose("reg", *other)
    data_vars["loo"] = data_vars["gcv"].copy()

    freq_dims = [ax.freq_dim for ax in axes]
    axes_idx = tuple(range(1, len(dims) + 1))
    data_vars["filter_factors"] = (("reg", *freq_dims), to_numpy(torch.fft.fftshift(f.reshape((-1,) + shape), dim=axes_idx)))
    coords = {k: v for k, v in da.coords.items() if set(v.dims) <= set(da.dims)}
    coords["reg"] = reg_arr
    for ax in axes:
        coords[ax.freq_dim] = xr.Variable(
            ax.freq_dim, np.fft.fftshift(np.fft.fftfreq(ax.size, d=ax.spacing)), attrs=ax.freq_attrs(1.0 / (ax.size * ax.spacing))
        )
    s_full = torch.fft.fftshift(s * torch.ones(shape, dtype=dt, device=dev))
    coords["s"] = (tuple(freq_dims), to_numpy(s_full))
    coords["sigma"] = (tuple(freq_dims), to_numpy(s_full.sqrt()))
    for name, value in native.items():
        coords[name] = ("reg", to_numpy(value))
    ds = xr.Dataset(data_vars, coords=coords)
    ds["estimate"].attrs.update(da.attrs)
    ds["loo"].attrs["note"] = FOURIER_LOO_NOTE
    ds["s"].attrs["long_name"] = "the filter's argument s = |a_k|**2 / mu_k**2"
    ds["sigma"].attrs["long_name"] = "sqrt of the filter's argument: |a_k| / mu_k"
    ds["reg"].attrs["long_name"] = "regularization strength"
    return finish(
        ds, reg=reg, solution="estimate", method=spectral.method_name(method), penalty=penalty, device=dev,
        dtype=dt, conventions=spectral.CONVENTIONS
        + "; Fourier: unitary DFT along " + ", ".join(map(str, dims)) + ", angular k = 2 pi freq",
    )


def smooth(da, dims=None, *, reg, sobolev=1.0, method="tikhonov", x_true=None, noise_norm=None,
           device=None, dtype=None, **method_options) -> xr.Dataset:
    """Sobolev H^s smoothing along ``dims``: ``min ||x - b||^2 + reg ||x||_{H^s}^2``.

    The penalty ``||x||_{H^s}^2 = sum_k (1 + |k|^2)**sobolev |x_k|^2`` (unitary DFT,
    angular wavenumber ``k = 2 pi freq`` in radians per coordinate unit) is diagonal in the
    DFT, so this is the foundation's general-form Tikhonov with A = I and
    ``s = 1/(1 + |k|^2)**sobolev``: any filter of :func:`spectrakit.regularize` applies,
    ``sobolev`` may be any real number (negative: a weaker norm than L2), and an array of
    ``reg`` gives the whole path with every criterion in one batched operation.

    Returns the Dataset of :func:`spectrakit.regularize`, with the regularized signal
    named ``estimate`` (images have a dim ``x``): ``estimate`` (reg, ..., dims),
    ``residual_norm``, ``solution_norm`` (``||x||_{H^s}``), ``gcv``, ``loo`` (equal to gcv),
    ``curvature``, ``error_norm`` / ``discrepancy`` with ``x_true`` / ``noise_norm``,
    ``filter_factors`` over ``freq_<dim>`` (fftshifted, cycles per unit).

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> t = np.arange(200) * 0.1
    >>> noisy = xr.DataArray(np.sin(t) + 0.3 * np.random.default_rng(0).standard_normal(200), dims="t", coords={"t": t})
    >>> out = spectrakit.smooth(noisy, "t", reg=np.logspace(-4, 2, 13), sobolev=2.0, device="cpu")
    >>> out["estimate"].dims
    ('reg', 't')
    >>> reg = spectrakit.choose(out, "gcv")
    """
    sobolev = check_real(sobolev, "sobolev", minimum=None)
    return _fourier_regularize(
        da, dims, reg=reg, method=method, penalty=f"sobolev H^{sobolev:g}", sobolev=sobolev,
        x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype, **method_options,
    )


def deconvolve(da, kernel, dims=None, *, reg, sobolev=0.0, method="tikhonov", x_true=None, noise_norm=None,
               device=None, dtype=None, **method_options) -> xr.Dataset:
    """Regularized deconvolution of a periodic blur: ``min ||kernel * x - b||^2 + reg ||x||_{H^s}^2``.

    ``kernel`` is the point-spread function, a DataArray on ``dims`` with the data's sizes,
    centred where its coordinate is 0 (else at the middle sample). The blur is circulant,
    so its transfer function ``a_k = fftn(kernel)`` holds its singular values and the
    filter acts on ``s = |a_k|^2 / (1 + |k|^2)**sobolev``; ``sobolev=0`` is classic
    Tikhonov (Wiener with a flat signal spectrum). The whole reg path with GCV and the true
    error is one batched operation. Output as :func:`smooth`.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> t = np.arange(64) * 1.0 - 32
    >>> psf = xr.DataArray(np.exp(-t**2 / 8) / np.exp(-t**2 / 8).sum(), dims="t", coords={"t": t})
    >>> truth = xr.DataArray((np.abs(t) < 8).astype(float), dims="t", coords={"t": t})
    >>> blurred = spectrakit.blur(truth, psf, "t")
    >>> out = spectrakit.deconvolve(blurred, psf, "t", reg=1e-6, x_true=truth, device="cpu")
    >>> float(out["error_norm"]) < 0.5 * float(np.linalg.norm(blurred - truth))  # sharper than the data
    True
    """
    sobolev = check_real(sobolev, "sobolev", minimum=None)
    return _fourier_regularize(
        da, dims, reg=reg, method=method, penalty=f"sobolev H^{sobolev:g}", transfer_from=kernel,
        sobolev=sobolev, x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype, **method_options,
    )


_LOWPASS = {"gaussian": "heat", "butterworth": "butterworth"}


def lowpass(da, dims=None, *, reg, kind="gaussian", order=2, x_true=None, noise_norm=None,
            device=None, dtype=None) -> xr.Dataset:
    """Gaussian or Butterworth low-pass along ``dims``, on the same filter family.

    With ``s = 1/|k|^2`` (angular k): ``gaussian`` is the heat filter
    ``exp(-reg |k|^2)`` (a Gaussian blur of standard deviation ``sqrt(2 reg)``), and
    ``butterworth`` is ``1 / (1 + (reg |k|^2)**order)`` (cut-off ``|k| = 1/sqrt(reg)``).
    Output as :func:`smooth`.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray(np.random.default_rng(0).standard_normal(128), dims="t")
    >>> out = spectrakit.lowpass(da, "t", reg=2.0, kind="butterworth", order=4, device="cpu")
    >>> float(out["estimate"].std()) < float(da.std())
    True
    """
    if kind not in _LOWPASS:
        raise ValueError(f"kind={kind!r} is unknown; choose 'gaussian' or 'butterworth'.")
    options = {"order": order} if kind == "butterworth" else {}
    return _fourier_regularize(
        da, dims, reg=reg, method=_LOWPASS[kind], penalty=f"{kind} low-pass", lowpass=True,
        x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype, **options,
    )


def _blur_block(b, *, ndim, transfer, device, dtype):
    axes = tuple(range(-ndim, 0))
    bt = _block_tensor(b, "da", device, dtype)
    a = torch.as_tensor(transfer, device=device)
    return to_numpy(torch.fft.ifftn(torch.fft.fftn(bt, dim=axes) * a, dim=axes).real)


def blur(da, kernel, dims=None, *, device=None, dtype=None) -> xr.DataArray:
    """Circular convolution of ``da`` with a centred ``kernel`` along ``dims`` (the forward
    operator :func:`deconvolve` inverts): a new DataArray with da's dims, coords and attrs.

    Examples
    --------
    >>> import numpy as np, xarray as xr, spectrakit
    >>> da = xr.DataArray([0.0, 0, 1, 0, 0], dims="t", coords={"t": np.arange(5.0)})
    >>> psf = xr.DataArray([0.25, 0.5, 0.25], dims="t", coords={"t": [-1.0, 0, 1]})
    >>> psf = psf.pad(t=1, constant_values=0).assign_coords(t=np.arange(-2.0, 3))  # the data's size
    >>> (spectrakit.blur(da, psf, "t", device="cpu").values.round(2) + 0.0).tolist()
    [0.0, 0.25, 0.5, 0.25, 0.0]
    """
    dims, axes, other = fourier_axes(da, dims, "da")
    dev, dt_name, dt = settings(device, dtype, None)
    transfer = to_numpy(centred_transfer(kernel, dims, axes, dev, dt))
    out = _apply_core(
        _blur_block, [da], [dims], out_dims=dims, out_sizes={ax.dim: ax.size for ax in axes},
        out_dtype=_np_dtype(dt, False), labels=["da"], ndim=len(dims), transfer=transfer, device=dev, dtype=dt_name,
    )
    return out.transpose(*da.dims).assign_coords({k: v for k, v in da.coords.items()}).rename(da.name).assign_attrs(da.attrs)
