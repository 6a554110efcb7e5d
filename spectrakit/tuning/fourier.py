"""A GUI-free session for Fourier-domain regularization: smoothing, deconvolution, low-pass.

The data are transformed once: their DFT (and the kernel's, and the truth's) stays on the
device. A reg move then costs the filter factors on the half-spectrum, one product and
one inverse real FFT; the whole path over ``reg_grid`` with every criterion is computed
from the cached spectra once per Sobolev order (and filter) and cached. A circulant
operator is diagonal in the unitary DFT basis, so the foundation's filters
(:func:`spectrakit.core.spectral.filter_factors`) and spectral criteria
(:func:`spectrakit.core.spectral.spectral_criteria`) apply unchanged, with the complex
DFT coefficients as ``beta`` and no matrix anywhere.

=============  ==========================================  ==================================
mode           operator / penalty                          filter argument ``s`` per frequency
=============  ==========================================  ==================================
``smooth``     A = I, penalty weights ``(1 + |k|**2)**p``  ``1 / (1 + |k|**2)**p``
``deconvolve`` A = circular convolution with the kernel    ``|a_k|**2 / (1 + |k|**2)**p``
``lowpass``    (a filter, no penalty)                      ``1 / |k|**2`` (``inf`` at k = 0)
=============  ==========================================  ==================================

``k = 2 pi f`` is the angular wavenumber (``f`` in cycles per coordinate unit), ``p`` the
Sobolev order ``sobolev`` (any real number) and ``a_k`` the DFT of the kernel centred
where its coordinate is 0. Tikhonov (``h = s/(s+reg)``) then gives
``x_k = b_k / (1 + reg (1 + |k|**2)**p)`` for smoothing and
``x_k = conj(a_k) b_k / (|a_k|**2 + reg (1 + |k|**2)**p)`` for deconvolution; the low-pass
kinds are the ``heat`` filter ``exp(-reg |k|**2)`` (Gaussian) and ``butterworth``
``1/(1 + (reg |k|**2)**order)``. These are the contracts of :func:`spectrakit.smooth`,
:func:`spectrakit.deconvolve` and :func:`spectrakit.lowpass`, which the session answers
without recomputing any FFT of the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import xarray as xr

from ..core import spectral
from ..core import fourier as cfour
from ..core.threads import single_thread_if_small
from ..xr._apply import compute_settings, dtype_name, shape_of, to_numpy, to_tensor
from ._session import FilterSession
from ..xr.fourier import FOURIER_LOO_NOTE, centred_transfer, fourier_axes, freq_coord

__all__ = ["SpectrumSession", "MODES"]

MODES = ("smooth", "deconvolve", "lowpass")
LOWPASS_KINDS = {"gaussian": "heat", "butterworth": "butterworth"}
CRITERIA = ("gcv", "loo", "lcurve", "discrepancy")
#: the range of Sobolev orders the default reg grid covers (the explorer's slider range)
SOBOLEV_RANGE = (-1.0, 4.0)
_CHUNK = 4_000_000  # elements of one (rhs, reg, frequency) block in the path


@dataclass(frozen=True)
class Step:
    """One reg's answer as tensors on the device (what a slider move costs).

    ``x`` (B, *shape) the filtered / deconvolved signal (the Dataset's ``estimate``); ``f_half`` the filter factors on
    the half-spectrum grid of :func:`torch.fft.rfftn` (*half_shape); ``residual_norm``,
    ``solution_norm``, ``gcv`` and optional ``error_norm`` (B,).
    """

    reg: float
    sobolev: float | None
    x: torch.Tensor
    f_half: torch.Tensor
    residual_norm: torch.Tensor
    solution_norm: torch.Tensor
    gcv: torch.Tensor
    error_norm: torch.Tensor | None


class _Groups(NamedTuple):
    """The half spectrum's frequencies grouped by equal ``s`` (see ``SpectrumSession._groups``):
    per group ``|k|**2``, ``|a_k|**2`` (deconvolve), the count of full-grid frequencies
    and ``beta = sqrt(sum |X_k|**2 / N)`` (B, G), and the error's sums (with ``x_true``)."""

    k2: torch.Tensor
    a2: torch.Tensor | None
    counts: torch.Tensor
    beta: torch.Tensor
    G2: torch.Tensor | None
    Cr: torch.Tensor | None
    T2: torch.Tensor | None


class _SpectrumBins:
    """The half spectrum binned for a plot (first signal of a batch), computed once: 1-D,
    the one-sided density over ``f > 0``; 2-D, ring averages over the radial frequency
    (the mean left out: a constant detrend). Host index, then tensors on the device."""

    def __init__(self, session: "SpectrumSession"):
        s = session
        w = s._w_half.reshape(-1)
        if len(s.shape) == 1:
            freq = np.fft.rfftfreq(s.shape[0], s.spacing[0])
            index = np.arange(s._half)
            index[0] = -1  # no zero frequency on a log axis
            keep = index >= 0
            index = np.where(keep, np.cumsum(keep) - 1, -1)
            self.freq = freq[keep]
            self.sums = True  # one-sided density: weights 2 double the mirrored bins
        else:
            ny, nx = s.shape
            bins = cfour.radial_bins((ny, nx), s.spacing)
            index = bins.index.reshape(ny, nx)[:, : s._half].reshape(-1).copy()
            index[0] = -1  # leave the mean out (a constant detrend)
            used = np.unique(index[index >= 0])
            remap = -np.ones(len(bins.freq_r), dtype=np.int64)
            remap[used] = np.arange(used.size)
            index = np.where(index >= 0, remap[np.maximum(index, 0)], -1)
            self.freq = bins.freq_r[used]
            self.sums = False  # two-sided density, averaged over each ring
        valid = np.flatnonzero(index >= 0)
        self.valid = torch.as_tensor(valid, device=s.device)
        self.index = torch.as_tensor(index[valid], device=s.device)
        self.n = int(self.freq.size)
        self.w = w.index_select(0, self.valid)
        self.counts = self.w.new_zeros(self.n).index_add_(0, self.index, self.w)
        self.P_half = s.power()
        c = s._c_half
        self.c_abs2 = None if c is None else c.real.square() + c.imag.square()
        self.data = self.power(self.P_half)
        self.truth = None if s._X_true_half is None else self.power(s.power(s._X_true_half[0]))
        self.kernel = None if s._a is None else self.average(s._a[..., : s._half].abs())

    def _sum(self, values: torch.Tensor) -> torch.Tensor:
        v = values.reshape(-1).index_select(0, self.valid) * self.w
        return v.new_zeros(self.n).index_add_(0, self.index, v)

    def power(self, P: torch.Tensor) -> np.ndarray:
        sums = self._sum(P)
        return to_numpy(sums if self.sums else sums / self.counts).astype(float)

    def average(self, values: torch.Tensor) -> np.ndarray:
        return to_numpy(self._sum(values) / self.counts).astype(float)

    def result(self, f_half: torch.Tensor) -> np.ndarray:
        """The power of the result: the data's power times ``|h / a|**2``."""
        gain = f_half.square()
        if self.c_abs2 is not None:
            gain = gain * self.c_abs2
        return self.power(self.P_half * gain)


class SpectrumSession(FilterSession):
    """Fourier-domain regularization of one signal or image, transformed once, answering
    any ``reg`` and Sobolev order.

    Parameters
    ----------
    da : xarray.DataArray
        The data (real, finite), with at least 2 samples and numeric (or datetime64, in
        seconds) evenly spaced coordinates on ``dims``, checked as :func:`spectrakit.smooth`
        checks them (frequencies are in cycles per coordinate unit). Other dims are
        independent signals sharing the filter.
    dims : str or sequence of str, optional
        The dims to filter along (default: all of ``da``'s dims).
    mode : {"smooth", "deconvolve", "lowpass"}
        See the module docstring for each mode's operator and filter argument ``s``.
    kernel : DataArray, optional
        ``mode="deconvolve"`` only: the point-spread function on ``dims`` with the data's
        sizes, centred where its coordinate is 0 (the sample nearest 0; without a numeric
        coordinate, the middle sample), as in :func:`spectrakit.deconvolve`; the blur is
        circular (periodic boundary).
    x_true : DataArray or array, optional
        The true signal (broadcast against ``da``): adds ``error_norm`` (``||x - x_true||``).
    noise_norm : float, optional
        ``||b - b_exact||``: adds ``discrepancy = ||b - A x|| / noise_norm`` to the path.
    reg : float, optional
        The starting strength (default: GCV's choice on the grid).
    reg_grid : 1-D array, optional
        The grid of the cached paths. Default: 201 geometric values from 1e-3 times the
        smallest to 1e3 times the largest ``s`` over the Sobolev orders -1 to 4 (and the
        one given); for ``deconvolve`` from 12 decades below the largest ``s`` (a blur's
        smallest ``|a_k|**2`` are round-off; noise levels down to 1e-6 of the signal
        stay inside).
    sobolev : float, optional
        The Sobolev order ``p`` of the penalty weights ``(1 + |k|**2)**p`` (any real
        number). Default 1.0 for ``smooth`` and 0.0 (no penalty weights: plain Tikhonov /
        Wiener) for ``deconvolve``; not accepted for ``lowpass``.
    method : str or callable, optional
        ``smooth`` and ``deconvolve``: the filter (default ``"tikhonov"``, any of
        :data:`spectrakit.core.spectral.FILTERS` or a callable ``h(s, reg)``);
        ``method_options`` go to it. Not accepted for ``lowpass`` (use ``kind``).
    kind : {"gaussian", "butterworth"}, optional
        ``lowpass`` only (default ``"gaussian"``): ``exp(-reg |k|**2)`` or
        ``1 / (1 + (reg |k|**2)**order)`` (option ``order``, default 2).
    device, dtype : optional
        Where and in which precision to compute (see :func:`spectrakit.set_options`).

    Attributes
    ----------
    reg, sobolev : the values of the last :meth:`update`
    dims, batch_dims : tuple of str
    shape : sizes along ``dims``
    spacing : coordinate steps along ``dims``
    device, dtype : torch device and dtype of the cached spectra
    reg_grid : numpy array

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.tuning import SpectrumSession
    >>> t = np.arange(256) * 0.1
    >>> rng = np.random.default_rng(0)
    >>> clean = np.sin(2 * np.pi * t / 8)
    >>> da = xr.DataArray(clean + 0.3 * rng.standard_normal(256), dims="time", coords={"time": t})
    >>> session = SpectrumSession(da, "time", sobolev=2.0, x_true=clean, device="cpu")
    >>> out = session.update(reg=1e-2)
    >>> out["estimate"].dims, out["filter_factors"].dims
    (('time',), ('freq_time',))
    >>> best = float(session.path["error_norm"].min())
    >>> bool(session.path["error_norm"].sel(reg=session.choices()["gcv"]) < 1.3 * best)
    True
    """

    criteria = CRITERIA
    _settings = ("reg", "sobolev")

    def __init__(
        self, da, dims=None, *, mode="smooth", kernel=None, x_true=None, noise_norm=None, reg=None,
        reg_grid=None, sobolev=None, method=None, kind=None, device=None, dtype=None, **method_options,
    ):
        if not isinstance(da, xr.DataArray):
            raise TypeError(
                f"da must be an xarray.DataArray with labelled dims; got {type(da).__name__}. "
                "Wrap an array with xarray.DataArray(values, dims=...)."
            )
        if mode not in MODES:
            raise ValueError(f"mode={mode!r} is unknown; choose one of {MODES}.")
        self.mode = mode
        # the checks of spectrakit.smooth / deconvolve / lowpass: dims, real numbers, evenly
        # spaced numeric (or datetime) coordinates, at least 2 samples along each dim
        dims, axes, batch_dims = fourier_axes(da, dims, "da")
        self._grid_axes = tuple(axes)
        self.dims, self.batch_dims = tuple(dims), tuple(batch_dims)
        self.shape = tuple(ax.size for ax in axes)
        self.batch_shape = tuple(int(da.sizes[d]) for d in self.batch_dims)
        self.spacing = tuple(ax.spacing for ax in axes)
        self.n = math.prod(self.shape)
        self.attrs = dict(da.attrs)
        self.name = da.name
        # coords on the filtered dims and on the batch dims (kept on the estimate)
        self._coords = {k: v for k, v in da.coords.items() if set(v.dims) <= set(da.dims)}
        self._batch_coords = {k: v for k, v in da.coords.items() if set(v.dims) <= set(self.batch_dims)}

        # -- filter, order, options
        if mode == "lowpass":
            if sobolev is not None:
                raise ValueError("sobolev does not apply to mode='lowpass' (no penalty weights); leave it out.")
            if method is not None:
                raise ValueError(
                    "method does not apply to mode='lowpass'; choose the filter with kind='gaussian' or 'butterworth'."
                )
            kind = "gaussian" if kind is None else kind
            if kind not in LOWPASS_KINDS:
                raise ValueError(f"kind={kind!r} is unknown; choose 'gaussian' or 'butterworth'.")
            if kind == "gaussian" and method_options:
                raise TypeError(f"kind='gaussian' takes no options; got {sorted(method_options)}.")
            method = LOWPASS_KINDS[kind]
            if kind == "butterworth":
                method_options.setdefault("order", 2)
            self.sobolev = None
        else:
            if kind is not None:
                raise ValueError(f"kind applies to mode='lowpass' only; got kind={kind!r} with mode={mode!r}.")
            method = "tikhonov" if method is None else method
            sobolev = (1.0 if mode == "smooth" else 0.0) if sobolev is None else sobolev
            self.sobolev = self._check_sobolev(sobolev)
        self.kind = kind
        self.method = method
        self.method_options = dict(method_options)
        if mode != "deconvolve" and kernel is not None:
            raise ValueError(f"kernel applies to mode='deconvolve' only; got a kernel with mode={mode!r}.")
        if mode == "deconvolve" and kernel is None:
            raise ValueError("mode='deconvolve' needs kernel=: the point-spread function on the data's dims.")

        # -- tensors on the device: the data and its DFT, once
        self.device, self.dtype = compute_settings(device, dtype, da)
        self._axes = tuple(range(1, 1 + len(self.dims)))
        b = to_tensor(da.transpose(*self.batch_dims, *self.dims).data, "da", self.device, self.dtype)
        self._b = b.reshape((-1,) + self.shape)  # (B, *shape)
        self.B = self._b.shape[0]
        self._half = self.shape[-1] // 2 + 1
        self._X_half = cfour.rfftn(self._b, self._axes)  # the one FFT of the data (half spectrum)
        self._k2 = cfour.wavenumbers_squared(self.shape, self.spacing, device=self.device, dtype=self.dtype)
        # weights of the half grid in sums over the full grid (Hermitian symmetry)
        w = cfour.half_spectrum_weights(self.shape[-1], self.dtype, self.device)
        self._w_half = w.expand(self.shape[:-1] + (self._half,))
        self._a = self._a2 = None  # kernel DFT a_k and |a_k|**2 (full grid)
        self._c_half = None  # 1/a_k on the half grid (0 where a_k == 0)
        if mode == "deconvolve":
            self._a = centred_transfer(kernel, dims, axes, self.device, self.dtype)
            self._a2 = self._a.real.square() + self._a.imag.square()
            a_half = self._a[..., : self._half]
            nz = a_half != 0
            self._c_half = torch.where(nz, 1.0 / torch.where(nz, a_half, torch.ones_like(a_half)), torch.zeros_like(a_half))
        self._x_true = None
        self._X_true_half = None
        if x_true is not None:
            self._x_true = self._as_signal(x_true, "x_true")
            self._X_true_half = cfour.rfftn(self._x_true, self._axes)
        self._noise = None
        if noise_norm is not None:
            arr = np.asarray(noise_norm.values if isinstance(noise_norm, xr.DataArray) else noise_norm, dtype=float)
            if not np.isfinite(arr).all() or (arr <= 0).any():
                raise ValueError(f"noise_norm must be finite and > 0 (the norm ||b - b_exact||); got {noise_norm!r}.")
            self._noise = torch.tensor(
                np.broadcast_to(arr, self.batch_shape).reshape(-1), dtype=self.dtype, device=self.device
            )

        self._s_cache: dict = {}
        self._view_bins = None  # spectrum_view's bins, on first use
        self._half_cache = None
        self._group_cache: _Groups | None = None
        # |X|^2 with the half grid's weights: every norm of a step is a weighted sum of it
        self._wx_half = self._w_half * (self._X_half.real.square() + self._X_half.imag.square())
        self.reg = math.nan  # none in force until the first choice
        self._set_grid(reg_grid, self._default_grid)
        self.reg = self._scalar_reg(self._default_reg() if reg is None else reg, math.nan)

    # ------------------------------------------------------------------ set-up

    @staticmethod
    def _check_sobolev(p) -> float:
        try:
            p = float(p)
        except (TypeError, ValueError):
            raise TypeError(f"sobolev must be a real number (the Sobolev order); got {p!r}.") from None
        if not math.isfinite(p):
            raise ValueError(f"sobolev must be finite; got {p!r}.")
        return p

    def _as_signal(self, value, name: str) -> torch.Tensor:
        """A DataArray or array broadcast to the data's (B, *shape) layout."""
        order = self.batch_dims + self.dims
        if isinstance(value, xr.DataArray):
            extra = [d for d in value.dims if d not in order]
            if extra:
                raise ValueError(f"{name} has dims {extra} that the data do not have (data dims: {order}).")
            for d in value.dims:
                size = self.shape[self.dims.index(d)] if d in self.dims else self.batch_shape[self.batch_dims.index(d)]
                if value.sizes[d] != size:
                    raise ValueError(f"{name}: dim {d!r} has size {value.sizes[d]}; the data have {size}.")
            data = value.variable.set_dims(dict(zip(order, self.batch_shape + self.shape))).transpose(*order).data
        else:
            data = value
            full = self.batch_shape + self.shape
            if tuple(shape_of(data)) not in (full, self.shape):
                raise ValueError(f"{name} must have shape {self.shape} or {full} (batch dims first); got {shape_of(data)}.")
        t = to_tensor(data, name, self.device, self.dtype)
        return torch.broadcast_to(t, self.batch_shape + self.shape).reshape((-1,) + self.shape)

    def _filter_argument(self, k2: torch.Tensor, a2: torch.Tensor | None, p) -> torch.Tensor:
        """The filter's argument ``s`` from ``|k|**2`` (and ``|a_k|**2``) on any grid, as
        :func:`spectrakit.smooth` / ``deconvolve`` / ``lowpass`` form it: ``|a_k|**2 / mu_k**2``
        with the Sobolev weights ``mu_k**2`` of :func:`spectrakit.core.fourier.sobolev_weights`;
        for ``lowpass`` ``1/|k|**2``, where the mean (k = 0) gets 1/tiny: it always passes."""
        if self.mode == "lowpass":
            return 1.0 / k2.clamp_min(torch.finfo(k2.dtype).tiny)
        return (1.0 if a2 is None else a2) / cfour.sobolev_weights(k2, float(p))

    def _s(self, sobolev) -> torch.Tensor:
        """The filter's argument ``s`` on the full (unshifted) grid, shape ``self.shape``."""
        key = None if self.mode == "lowpass" else float(sobolev)
        s = self._s_cache.get(key)
        if s is None:
            s = self._filter_argument(self._k2, self._a2, key)
            if len(self._s_cache) > 32:
                self._s_cache.clear()
            self._s_cache[key] = s
        return s

    def _half_s(self, sobolev):
        """``s`` and ``1/s`` (0 where s = 0) on the half grid, for the current order (cached)."""
        key = None if self.mode == "lowpass" else float(sobolev)
        if self._half_cache is None or self._half_cache[0] != key:
            s = self._s(key)[..., : self._half]
            self._half_cache = (key, s, spectral.safe_inverse(s))
        return self._half_cache[1], self._half_cache[2]

    def _default_grid(self) -> np.ndarray:
        if self.mode == "lowpass":
            k2 = self._k2[self._k2 > 0]  # s = 1/|k|^2 over the frequencies other than the mean
            lo, hi = 1.0 / float(k2.max()), 1.0 / float(k2.min())
            return np.logspace(math.log10(lo) - 3, math.log10(hi) + 3, 201)
        orders = {self.sobolev, SOBOLEV_RANGE[0], SOBOLEV_RANGE[1], 0.0}
        los, his = [], []
        for p in orders:
            s = self._s_cache.get(p)
            s = self._s(p) if s is None else s
            pos = s[s > 0]
            if pos.numel():
                los.append(float(pos.min()))
                his.append(float(pos.max()))
        for p in orders - {self.sobolev}:  # keep only the current order's s cached
            self._s_cache.pop(p, None)
        if not his:
            raise ValueError("the filter's argument s is 0 at every frequency: the kernel is zero.")
        lo, hi = min(los) * 1e-3, max(his) * 1e3
        if self.mode == "deconvolve":
            lo = max(lo, hi * 1e-15)  # 12 decades below the largest s
        return np.logspace(math.log10(lo), math.log10(hi), 201)

    # ------------------------------------------------------------------ answers

    def _target(self, reg=None, sobolev=None) -> dict:
        if sobolev is not None and self.mode == "lowpass":
            raise ValueError("sobolev does not apply to mode='lowpass'.")
        p = self.sobolev if sobolev is None else self._check_sobolev(sobolev)
        return dict(reg=self._scalar_reg(reg, self.reg), sobolev=p)

    def _solve(self, target: dict) -> Step:
        """One reg (and Sobolev order) as tensors on the device (:meth:`solve`, pure).

        Costs the filter factors on the half-spectrum, one product, one inverse real FFT
        and a few sums (no forward FFT).
        """
        reg, p = target["reg"], target["sobolev"]
        s_half, inv_s_half = self._half_s(p)
        work = self.B * self.n * max(1.0, math.log2(self.n))
        with single_thread_if_small(work, self.device):
            reg_t = torch.tensor([reg], dtype=self.dtype, device=self.device)
            f, _ = spectral.filter_factors(s_half.reshape(-1), reg_t, self.method, **self.method_options)
            f = f.reshape(s_half.shape)
            coef = self._X_half * (f if self._c_half is None else f * self._c_half)
            x = cfour.irfftn(coef, self._axes, s=self.shape)
            # The norms and GCV of spectral_criteria as Parseval sums over the half grid with
            # the cached |X|^2 (times its weights) and 1/s: a reg move pays 3 sums, not
            # spectral_criteria's recomputed |beta|^2 and 1/s and L-curve curvature
            wx = self._wx_half
            sum_axes = tuple(range(1, 1 + len(self.dims)))
            res_sq = ((1 - f).square() * wx).sum(sum_axes) / self.n
            sol_sq = (f.square() * inv_s_half * wx).sum(sum_axes) / self.n
            dof = (f * self._w_half).sum().reshape(1)
            gcv = spectral.gcv(res_sq, dof, self.n)
            err = None
            if self._x_true is not None:
                err = torch.linalg.vector_norm((x - self._x_true).reshape(self.B, -1), dim=-1)
        return Step(reg, p, x, f, res_sq.sqrt(), sol_sq.sqrt(), gcv, err)

    def update(self, reg=None, sobolev=None) -> xr.Dataset:
        """The filtered (or deconvolved) signal, norms and filter response for one ``reg``.

        Returns what :func:`spectrakit.smooth` / :func:`~spectrakit.deconvolve` /
        :func:`~spectrakit.lowpass` return for a scalar ``reg`` (without the criteria
        that need a grid): ``estimate`` (*batch, *dims), the regularized signal with the
        data's coords (``attrs["solution"]`` names it; not ``x``: images have a dim ``x``),
        ``residual_norm``, ``solution_norm`` (``||L x||`` with the Sobolev weights),
        ``gcv`` and, when known, ``error_norm`` and ``discrepancy``; ``filter_factors``
        over ``freq_<dim>`` (fftshifted, cycles per coordinate unit) with coordinates
        ``s`` (the filter's argument) and ``sigma`` (its square root). Computed from the cached
        spectra: no forward FFT. ``reg`` and ``sobolev`` become the ones in force (or,
        if it raises, nothing changes). :meth:`solve` gives the same as tensors.
        """
        return super().update(reg, sobolev)

    def to_dataset(self, st: Step) -> xr.Dataset:
        """Label a :class:`Step` as :func:`spectrakit.smooth` labels a scalar reg."""
        bd, bs = self.batch_dims, self.batch_shape
        x = to_numpy(st.x).reshape(bs + self.shape)
        data_vars = {"estimate": (bd + self.dims, x)}
        per = {"residual_norm": st.residual_norm, "solution_norm": st.solution_norm, "gcv": st.gcv}
        if st.error_norm is not None:
            per["error_norm"] = st.error_norm
        if self._noise is not None:
            per["discrepancy"] = st.residual_norm / self._noise
        for name, t in per.items():
            data_vars[name] = (bd, to_numpy(t).reshape(bs))
        s_full = self._s(st.sobolev)
        reg_t = torch.tensor([st.reg], dtype=self.dtype, device=self.device)
        f_full, native = spectral.filter_factors(s_full.reshape(-1), reg_t, self.method, **self.method_options)
        fdims = tuple(ax.freq_dim for ax in self._grid_axes)
        f_full = torch.fft.fftshift(f_full.reshape(self.shape))
        sigma = torch.fft.fftshift(s_full.sqrt())
        data_vars["filter_factors"] = (fdims, to_numpy(f_full))
        coords = dict(self._coords)
        for ax in self._grid_axes:  # as spectrakit.smooth labels them (units, spacing)
            coords[ax.freq_dim] = freq_coord(ax, ax.size, onesided=False)
        coords["s"] = (fdims, to_numpy(sigma.square()))
        coords["sigma"] = (fdims, to_numpy(sigma))
        for name, t in native.items():
            coords[name] = float(t[0])
        ds = xr.Dataset(data_vars, coords=coords)
        ds["estimate"].attrs.update(self.attrs)
        ds["s"].attrs["long_name"] = "the filter's argument s = |a_k|**2 / mu_k**2"
        ds["sigma"].attrs["long_name"] = "sqrt of the filter's argument: |a_k| / mu_k"
        ds.attrs.update(self._attrs(st.sobolev), reg=st.reg)
        return ds

    def _attrs(self, sobolev) -> dict:
        if self.mode == "lowpass":
            penalty = f"{self.kind} low-pass"
        else:
            penalty = f"sobolev H^{sobolev:g}"
        out = dict(
            solution="estimate", mode=self.mode, method=spectral.method_name(self.method), penalty=penalty,
            device=str(self.device), dtype=dtype_name(self.dtype),
        )
        if sobolev is not None:
            out["sobolev"] = sobolev
        if self.kind is not None:
            out["kind"] = self.kind
        for k, v in self.method_options.items():
            if isinstance(v, (int, float, str)):
                out[k] = v
        if self._noise is not None and self._noise.numel() == 1:
            out["noise_norm"] = float(self._noise[0])
        return out

    def spectrum_view(self, answer: Step | None = None) -> dict:
        """What a spectrum plot shows, as numpy arrays (first signal of a batch), binned
        once: ``freq`` (1-D: the one-sided density over ``f > 0``; 2-D: ring averages over
        the radial frequency), ``data`` the data's power, ``truth`` the true signal's (or
        None), ``kernel`` the blur's ``|a_k|`` (or None) and, for an answer of :meth:`solve`,
        ``result`` the filtered signal's power and ``response`` the filter factors.
        Powers are ``|X|**2 * prod(spacing) / N`` (the periodogram's density scaling)."""
        if self._view_bins is None:
            self._view_bins = _SpectrumBins(self)
        b = self._view_bins
        out = dict(freq=b.freq, data=b.data, truth=b.truth, kernel=b.kernel)
        if answer is not None:
            out.update(result=b.result(answer.f_half), response=b.average(answer.f_half))
        return out

    def signals(self) -> dict:
        """The first signal of a batch on the device: ``data`` and ``truth`` (or None)."""
        return dict(data=self._b[0], truth=None if self._x_true is None else self._x_true[0])

    def axis_values(self) -> list:
        """The coordinate values along each of :attr:`dims` (sample indices without one)."""
        out = []
        for d, n in zip(self.dims, self.shape):
            c = self._coords.get(d)
            out.append(np.asarray(c.values, dtype=float) if c is not None and c.dims == (d,)
                       else np.arange(n, dtype=float))
        return out

    def threads(self):
        """A context in which torch uses one thread when the session's arrays are small
        (faster there, and no spin-waiting on a busy machine); front ends reading its
        results wrap their own array work in it."""
        return single_thread_if_small(self.n * 8, self.device)

    # ------------------------------------------------------------------ path

    def path_for(self, sobolev=None) -> xr.Dataset:
        """The path over :attr:`reg_grid` for a Sobolev order (default: the current one),
        computed once per order, filter and options and cached.

        Returns a Dataset over (reg, *batch) with ``residual_norm``, ``solution_norm``,
        ``gcv``, ``loo`` (equal to GCV: a circulant smoother has equal leverages),
        ``curvature`` and, when known, ``error_norm`` and ``discrepancy``; no ``estimate`` (the
        solutions over the whole grid would cost ``len(reg_grid)`` images; use
        :meth:`update` for one reg). :func:`spectrakit.choose` works on it.
        """
        return super().path_for(sobolev=sobolev)

    def _path_key(self, target: dict):
        p = None if self.mode == "lowpass" else target["sobolev"]
        return (p, spectral.method_name(self.method), tuple(sorted(self.method_options.items())))

    def _compute_path(self, target: dict) -> xr.Dataset:
        return self._path_at(None if self.mode == "lowpass" else target["sobolev"])

    def _groups(self, p) -> tuple[_Groups, torch.Tensor]:
        """The spectrum compressed to its distinct values of ``s`` (exact, no binning), and
        ``s`` on the groups for the Sobolev order ``p``.

        Real data have a Hermitian-symmetric DFT, so the half grid of ``rfftn`` with
        weights 1 or 2 stands for every frequency; frequencies with the same ``|k|`` (and,
        when deconvolving, the same ``|a_k|``) have the same ``s`` for every Sobolev order,
        so they share every filter factor and each criterion needs only their count and
        the sums of ``|beta|**2`` (and, for the error, of ``|g|**2``, ``Re(g conj(t))`` and
        ``|t|**2`` with ``g = beta / a`` and ``t`` the truth's coefficients) over them:
        :func:`spectrakit.core.spectral.spectral_criteria` takes them as ``counts`` and
        ``beta = sqrt(sum |beta|**2)``. The groups and sums are computed once; an order
        costs ``s`` on the groups.
        """
        if self._group_cache is None:
            self._group_cache = self._group_sums()
        g = self._group_cache
        return g, self._filter_argument(g.k2, g.a2, p)

    def _group_sums(self) -> _Groups:
        k2 = self._k2[..., : self._half].reshape(-1)
        if self._a2 is not None:
            a2 = self._a2[..., : self._half].reshape(-1)
            keys, inv = torch.unique(torch.stack([k2, a2], dim=1), dim=0, return_inverse=True)
            k2g, a2g = keys[:, 0].contiguous(), keys[:, 1].contiguous()
        else:
            k2g, inv = torch.unique(k2, return_inverse=True)
            a2g = None
        G, B = k2g.shape[0], self.B
        w = self._w_half.reshape(-1)

        def group_sum(values):  # (B, H) -> (B, G)
            return values.new_zeros((values.shape[0], G)).index_add_(1, inv, values * w / self.n)

        counts = w.new_zeros(G).index_add_(0, inv, w)
        X = self._X_half.reshape(B, -1)
        beta = group_sum(X.real.square() + X.imag.square()).sqrt()
        G2 = Cr = T2 = None
        if self._X_true_half is not None:
            g = X if self._c_half is None else X * self._c_half.reshape(1, -1)
            t = self._X_true_half.reshape(B, -1)
            G2 = group_sum(g.real.square() + g.imag.square())
            Cr = group_sum(g.real * t.real + g.imag * t.imag)
            T2 = (w * (t.real.square() + t.imag.square())).sum(-1) / self.n
        return _Groups(k2g, a2g, counts, beta, G2, Cr, T2)

    def _criteria(self, groups: _Groups, s, reg_t, f) -> tuple[dict, torch.Tensor]:
        """The foundation's spectral criteria on the groups for factors ``f`` (R, G), GCV
        guarded, and the trace of the influence matrix ``F* diag(f) F`` (R,)."""
        crit = spectral.spectral_criteria(
            s, groups.beta, reg_t, f, m=self.n, outside_sq=groups.beta.new_zeros(self.B), method=self.method,
            noise_norm=self._noise, counts=groups.counts,
        )
        return crit, crit.pop("trace")

    def _path_at(self, p) -> xr.Dataset:
        groups, s = self._groups(p)
        reg_arr = self.reg_grid
        reg_t = torch.as_tensor(reg_arr, dtype=self.dtype, device=self.device)
        R, B, G = reg_t.shape[0], self.B, s.shape[0]
        chunk = max(1, _CHUNK // max(1, B * G))
        parts: dict[str, list] = {}
        dofs = []
        for i in range(0, R, chunk):
            rc = reg_t[i : i + chunk]
            f, _ = spectral.filter_factors(s, rc, self.method, **self.method_options)  # (Rc, G)
            crit, dof = self._criteria(groups, s, rc, f)
            if groups.G2 is not None:
                # ||x - x_true||^2 = sum_k |f_k g_k - t_k|^2, summed within each group
                err_sq = (f * f) @ groups.G2.T - 2 * (f @ groups.Cr.T) + groups.T2.unsqueeze(0)
                crit["error_norm"] = err_sq.T.clamp_min(0).sqrt()
            for name, t in crit.items():
                parts.setdefault(name, []).append(t)
            dofs.append(dof)
        crit = {name: torch.cat(ts, dim=-1) for name, ts in parts.items()}
        if self.method != "tikhonov":
            # grid_curvature (the L-curve of the other filters) needs the whole grid, which
            # comes in chunks: again over the grid, with the trace standing in for f (R, G)
            # in its detection of repeated solutions (the filters are monotone in reg, so f
            # changes between grid points when its trace does)
            crit["curvature"] = spectral.grid_curvature(
                reg_t, crit["residual_norm"] ** 2, crit["solution_norm"] ** 2, torch.cat(dofs).unsqueeze(-1)
            )
        # leave-one-out: H = F* diag(f) F has the constant diagonal trace(H)/N, so LOO = GCV
        crit["loo"] = crit["gcv"].clone()
        bd, bs = self.batch_dims, self.batch_shape
        data_vars = {}
        for name in ("residual_norm", "solution_norm", "gcv", "loo", "curvature", "error_norm", "discrepancy"):
            if name in crit:
                arr = np.moveaxis(to_numpy(crit[name]).reshape(bs + (R,)), len(bs), 0)
                data_vars[name] = (("reg",) + bd, arr)
        ds = xr.Dataset(data_vars, coords={"reg": reg_arr, **self._batch_coords})
        ds["loo"].attrs["note"] = FOURIER_LOO_NOTE
        ds.attrs.update(self._attrs(p))
        return ds

    def choices(self, sobolev=None) -> dict[str, float]:
        """Each criterion's choice of reg on the grid (first signal of a batch):
        ``gcv``, ``loo``, ``lcurve`` and, with ``noise_norm``, ``discrepancy``; with
        ``x_true`` also ``min_error`` (the best reg on the grid)."""
        return super().choices(sobolev=sobolev)

    # ------------------------------------------------------------------ display helpers

    def power(self, signal: torch.Tensor | None = None, f_half: torch.Tensor | None = None):
        """The power spectrum of the data (first signal of a batch) on the half grid,
        optionally times ``f_half**2`` (the filtered signal's power), as
        ``|X|**2 * prod(spacing) / N`` (the periodogram's density scaling, two-sided)."""
        X = self._X_half[0] if signal is None else signal
        P = (X.real.square() + X.imag.square()) * (math.prod(self.spacing) / self.n)
        if f_half is not None:
            P = P * f_half**2
        return P

    def __repr__(self) -> str:
        extra = f", sobolev={self.sobolev}" if self.sobolev is not None else f", kind={self.kind!r}"
        return (
            f"SpectrumSession(mode={self.mode!r}, dims={self.dims}, shape={self.shape}, "
            f"method={spectral.method_name(self.method)!r}{extra}, reg={self.reg:.3g}, device={self.device})"
        )
