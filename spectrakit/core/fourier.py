"""Fourier transforms and spectral estimates on tensors (torch only, any device).

Every function takes tensors and returns tensors on the input's device: float32 input
gives float32 spectra and complex64 transforms, float64 gives float64 and complex128.
Windows are computed on the host with :func:`scipy.signal.get_window` (DFT-even, as
scipy.signal's spectral functions use them) and moved to the device once.

The spectral estimates follow scipy.signal's defaults, conventions and output layout,
so that ``periodogram``, ``welch``, ``csd``, ``coherence``, ``stft`` and ``spectrogram``
here equal their scipy.signal namesakes:

* frequencies in cycles per unit of ``1/fs`` (``fs`` is the sampling frequency);
* ``scaling="density"``: ``P = |X|**2 / (fs * sum(w**2))`` (units of x**2 / Hz),
  ``scaling="spectrum"``: ``P = |X|**2 / sum(w)**2`` (units of x**2), where ``X`` is the
  DFT of the detrended, windowed segment and ``w`` the window;
* a one-sided spectrum (the default for real input) doubles every bin except the zero
  frequency and, for an even FFT length, the Nyquist bin, so that it sums to the same
  total as the two-sided one (Parseval);
* the frequency axis replaces the transformed axis; spectrograms append a segment axis.

Differences from scipy.signal: ``csd`` and ``coherence`` need ``x`` and ``y`` to have
the same length along ``axis`` (scipy zero-pads the shorter one); detrend is
``"constant"``, ``"linear"`` or ``False`` (no callables).

>>> import torch
>>> from spectrakit.core import fourier
>>> x = torch.randn(4, 1000, dtype=torch.float64)
>>> f, P = fourier.welch(x, fs=100.0, nperseg=128)
>>> tuple(P.shape), float(f[-1])
((4, 65), 50.0)
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from . import spectral
from .checks import check_real

__all__ = [
    "fftn",
    "ifftn",
    "rfftn",
    "irfftn",
    "fftfreq",
    "rfftfreq",
    "wavenumbers_squared",
    "half_spectrum_weights",
    "get_window",
    "detrend",
    "periodogram",
    "periodogramn",
    "welch",
    "csd",
    "coherence",
    "stft",
    "spectrogram",
    "RadialBins",
    "radial_bins",
    "isotropic_power",
    "sobolev_weights",
    "fourier_path",
    "DFTBasis",
]

_REAL = (torch.float32, torch.float64)
_CPLX = (torch.complex64, torch.complex128)
_TO_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}


# ----------------------------------------------------------------------------- checks


def _check_tensor(x, name: str, *, allow_complex: bool = True) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor; got {type(x).__name__}. "
            "(spectrakit.xr and the .spectral accessor take numpy and xarray inputs.)"
        )
    allowed = _REAL + (_CPLX if allow_complex else ())
    if x.dtype not in allowed:
        kinds = "float32/float64" + (" or complex64/complex128" if allow_complex else "")
        raise TypeError(f"{name} must be a {kinds} tensor; got {x.dtype}. Convert it with .to(torch.float64).")


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    return _TO_REAL.get(dtype, dtype)


def _axes(x: torch.Tensor, axes, name: str = "axes") -> tuple[int, ...]:
    """Normalized, distinct, non-negative axes (None: all)."""
    if axes is None:
        return tuple(range(x.ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    out = []
    for a in axes:
        a = int(a)
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"{name}={axes!r} is out of range for a tensor with {x.ndim} dims.")
        out.append(a % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={axes!r} repeats an axis.")
    if not out:
        raise ValueError(f"{name} is empty: name at least one axis.")
    return tuple(out)


def _per_axis(value, n: int, name: str) -> tuple[float, ...]:
    if isinstance(value, (int, float, np.number)):
        return (float(value),) * n
    vals = tuple(float(v) for v in value)
    if len(vals) != n:
        raise ValueError(f"{name} has {len(vals)} values for {n} axes.")
    return vals


# ----------------------------------------------------------------------------- transforms


def fftn(x: torch.Tensor, axes=None, *, norm: str = "backward") -> torch.Tensor:
    """The discrete Fourier transform over ``axes`` (numpy.fft.fftn's convention).

    ``X[k] = sum_n x[n] exp(-2 pi i k n / N)`` (``norm="backward"``: no factor forward,
    ``1/N`` on the way back). Real input is promoted to complex64/complex128.

    Parameters
    ----------
    x : torch.Tensor
        float32/float64 or complex64/complex128, any device.
    axes : int or sequence of int, optional
        Axes to transform (default: all).
    norm : {"backward", "ortho", "forward"}
        As in :func:`numpy.fft.fftn`.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import fftn
    >>> fftn(torch.tensor([1.0, 0.0, 0.0, 0.0]), axes=0)
    tensor([1.+0.j, 1.+0.j, 1.+0.j, 1.+0.j])
    """
    _check_tensor(x, "x")
    return torch.fft.fftn(x, dim=_axes(x, axes), norm=norm)


def ifftn(X: torch.Tensor, axes=None, *, norm: str = "backward") -> torch.Tensor:
    """The inverse of :func:`fftn` over ``axes`` (``1/N`` factor by default).

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import fftn, ifftn
    >>> x = torch.tensor([1.0, 2.0, 3.0])
    >>> torch.allclose(ifftn(fftn(x)).real, x)
    True
    """
    _check_tensor(X, "X")
    return torch.fft.ifftn(X, dim=_axes(X, axes), norm=norm)


def rfftn(x: torch.Tensor, axes=None, *, norm: str = "backward") -> torch.Tensor:
    """The DFT of real ``x`` over ``axes``, the last of them halved (``N//2 + 1`` bins).

    Same convention as :func:`numpy.fft.rfftn`: the other axes keep every frequency.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import rfftn
    >>> tuple(rfftn(torch.zeros(6, 10, dtype=torch.float32)).shape)
    (6, 6)
    >>> rfftn(torch.zeros(6, 10, dtype=torch.float32)).dtype
    torch.complex64
    """
    _check_tensor(x, "x", allow_complex=False)
    return torch.fft.rfftn(x, dim=_axes(x, axes), norm=norm)


def irfftn(X: torch.Tensor, axes=None, *, s=None, norm: str = "backward") -> torch.Tensor:
    """The inverse of :func:`rfftn`; ``s`` gives the output lengths along ``axes``.

    Without ``s`` the last axis comes back with ``2 * (m - 1)`` points (an even length);
    pass the original lengths to recover odd ones.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import irfftn, rfftn
    >>> x = torch.randn(7, dtype=torch.float64)
    >>> torch.allclose(irfftn(rfftn(x), s=(7,)), x)
    True
    """
    _check_tensor(X, "X")
    axes = _axes(X, axes)
    if s is not None:
        s = tuple(int(v) for v in s)
        if len(s) != len(axes):
            raise ValueError(f"s={s!r} must give one length per axis in axes={axes!r}.")
    return torch.fft.irfftn(X, s=s, dim=axes, norm=norm)


def fftfreq(n: int, d: float = 1.0, *, device=None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Frequencies of an ``n``-point DFT with sample spacing ``d`` (numpy's order).

    Examples
    --------
    >>> from spectrakit.core.fourier import fftfreq
    >>> fftfreq(4, 0.5)
    tensor([ 0.0000,  0.5000, -1.0000, -0.5000], dtype=torch.float64)
    """
    return torch.fft.fftfreq(int(n), d=float(d), device=device, dtype=dtype)


def rfftfreq(n: int, d: float = 1.0, *, device=None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Non-negative frequencies of an ``n``-point real DFT with sample spacing ``d``.

    Examples
    --------
    >>> from spectrakit.core.fourier import rfftfreq
    >>> rfftfreq(5, 0.5)
    tensor([0.0000, 0.4000, 0.8000], dtype=torch.float64)
    """
    return torch.fft.rfftfreq(int(n), d=float(d), device=device, dtype=dtype)


def wavenumbers_squared(
    shape: Sequence[int],
    spacing=1.0,
    *,
    real: bool = False,
    shift: bool = False,
    angular: bool = True,
    device=None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """``|k|**2`` on the grid of an FFT over axes of sizes ``shape``.

    ``|k|**2 = sum_a k_a**2`` with ``k_a = 2 pi f_a`` (``angular=True``, radians per unit
    length: the Sobolev weight ``(1 + |k|**2)**s`` uses this) or ``k_a = f_a`` (cycles
    per unit length), ``f_a = fftfreq(shape[a], spacing[a])``. ``real=True`` gives the
    grid of :func:`rfftn` (last axis ``rfftfreq``); ``shift=True`` fftshifts the full
    axes (the layout of spectrakit's labelled ``fft``).

    Examples
    --------
    >>> from spectrakit.core.fourier import wavenumbers_squared
    >>> wavenumbers_squared((4,), angular=False)
    tensor([0.0000, 0.0625, 0.2500, 0.0625], dtype=torch.float64)
    >>> tuple(wavenumbers_squared((8, 8), real=True).shape)
    (8, 5)
    """
    shape = tuple(int(n) for n in shape)
    spacing = _per_axis(spacing, len(shape), "spacing")
    factor = 2 * math.pi if angular else 1.0
    total = torch.zeros((), dtype=dtype, device=device)
    for a, (n, d) in enumerate(zip(shape, spacing)):
        last_real = real and a == len(shape) - 1
        f = (rfftfreq if last_real else fftfreq)(n, d, device=device, dtype=dtype)
        if shift and not last_real:
            f = torch.fft.fftshift(f)
        view = [1] * len(shape)
        view[a] = f.shape[0]
        total = total + (factor * f).reshape(view) ** 2
    return total


# ----------------------------------------------------------------------------- windows, detrend


@functools.lru_cache(maxsize=64)
def _host_window(window, n: int) -> np.ndarray:
    from scipy.signal import get_window as scipy_get_window

    return scipy_get_window(window, n, fftbins=True)


def get_window(window, n: int, *, device=None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A length-``n`` window as a tensor on ``device``.

    A name or ``(name, parameter...)`` tuple goes to :func:`scipy.signal.get_window`
    with ``fftbins=True`` (periodic, as scipy.signal's spectral functions use; computed
    on the host, cached, then moved); an array or tensor is used as given (1-D, length
    ``n``).

    Examples
    --------
    >>> from spectrakit.core.fourier import get_window
    >>> get_window("hann", 4)
    tensor([0.0000, 0.5000, 1.0000, 0.5000], dtype=torch.float64)
    """
    n = int(n)
    if isinstance(window, (str, tuple)):
        try:
            w = _host_window(window, n)
        except (ValueError, TypeError) as e:
            raise ValueError(f"window={window!r} is not a window scipy.signal.get_window knows: {e}") from e
        return torch.tensor(w, dtype=_real_dtype(dtype), device=device)
    w = window if isinstance(window, torch.Tensor) else torch.tensor(np.asarray(window, dtype=float))
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"window must be 1-D with {n} values; got shape {tuple(w.shape)}.")
    return w.to(device=device, dtype=_real_dtype(dtype))


def detrend(x: torch.Tensor, axis=-1, type="constant") -> torch.Tensor:
    """Remove the mean (``"constant"``) or the least-squares line (``"linear"``).

    Over several axes ``"constant"`` removes the mean over all of them and ``"linear"``
    the least-squares plane ``c + sum_a b_a t_a``. ``False`` (or None) returns ``x``
    itself. Matches :func:`scipy.signal.detrend` on one axis. Never modifies ``x``.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import detrend
    >>> detrend(torch.tensor([1.0, 2.0, 3.0, 5.0]), type="linear")
    tensor([ 0.2000, -0.1000, -0.4000,  0.3000])
    """
    _check_tensor(x, "x")
    if type is False or type is None or type == "none":
        return x
    if type not in ("constant", "linear"):
        raise ValueError(f"detrend={type!r} is not supported: use 'constant', 'linear' or False.")
    axes = _axes(x, axis, "axis")
    out = x - x.mean(dim=axes, keepdim=True)
    if type == "linear":
        total = math.prod(x.shape[a] for a in axes)
        rdt = _real_dtype(x.dtype)
        for a in axes:
            n = x.shape[a]
            if n < 2:
                continue
            # centred positions are orthogonal to the constant and to each other on a
            # full grid, so each axis's slope is one projection
            t = torch.arange(n, dtype=rdt, device=x.device) - (n - 1) / 2
            view = [1] * x.ndim
            view[a] = n
            t = t.reshape(view)
            tt = float((n**3 - n) / 12.0) * (total // n)
            slope = (out * t).sum(dim=axes, keepdim=True) / tt
            out = out - slope * t
    return out


_detrend = detrend  # for functions whose `detrend` argument shadows the function


# ----------------------------------------------------------------------------- segments


def _triage(window, nperseg, n: int, device, dtype, *, stacklevel: int = 4):
    """scipy's _triage_segments: the window tensor and nperseg."""
    if nperseg is not None:
        nperseg = int(nperseg)
        if nperseg < 1:
            raise ValueError(f"nperseg={nperseg} must be a positive integer.")
    if isinstance(window, (str, tuple)):
        if nperseg is None:
            nperseg = 256
        if nperseg > n:
            warnings.warn(
                f"nperseg = {nperseg:d} is greater than input length  = {n:d}, using nperseg = {n:d}",
                UserWarning,
                stacklevel=stacklevel,
            )
            nperseg = n
        win = get_window(window, nperseg, device=device, dtype=dtype)
    else:
        win = window if isinstance(window, torch.Tensor) else torch.tensor(np.asarray(window, dtype=float))
        if win.ndim != 1:
            raise ValueError(f"window must be 1-D; got shape {tuple(win.shape)}.")
        if win.shape[0] > n:
            raise ValueError(f"window has {win.shape[0]} values, more than the {n} samples along the axis.")
        if nperseg is None:
            nperseg = win.shape[0]
        elif nperseg != win.shape[0]:
            raise ValueError(f"nperseg={nperseg} differs from the window's length {win.shape[0]}.")
        win = win.to(device=device, dtype=_real_dtype(dtype))
    return win, nperseg


def _scale_from_sums(scaling: str, fs: float, sum_w: float, sum_w2: float) -> float:
    """``1/(fs sum(w**2))`` (density) or ``1/sum(w)**2`` (spectrum)."""
    if scaling == "density":
        return 1.0 / (fs * sum_w2)
    if scaling == "spectrum":
        return 1.0 / sum_w**2
    raise ValueError(f"scaling={scaling!r} is not supported: use 'density' or 'spectrum'.")


def _scale(win: torch.Tensor, fs: float, scaling: str) -> float:
    return _scale_from_sums(scaling, fs, float(win.sum()), float((win * win).sum()))


def _onesided_factor(n: int, nfft: int, scale: float, dtype, device) -> torch.Tensor:
    """``scale`` times 2 for every bin but 0 (and Nyquist for even nfft)."""
    factor = torch.full((n,), 2.0 * scale, dtype=_real_dtype(dtype), device=device)
    factor[0] = scale
    if nfft % 2 == 0:
        factor[-1] = scale
    return factor


def half_spectrum_weights(n: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """How many frequencies of a length-``n`` DFT each bin of its half spectrum
    (:func:`torch.fft.rfft`, ``n // 2 + 1`` bins) stands for: 1 for the mean (and the
    Nyquist bin of an even ``n``), 2 for the others (Hermitian symmetry of real data).
    A sum over the full spectrum is the half spectrum's sum with these weights.

    Examples
    --------
    >>> half_spectrum_weights(4).tolist(), half_spectrum_weights(5).tolist()
    ([1.0, 2.0, 1.0], [1.0, 2.0, 2.0])
    """
    return _onesided_factor(n // 2 + 1, n, 1.0, dtype, device)


def _scale_onesided_(P: torch.Tensor, scale: float, nfft: int, onesided: bool) -> torch.Tensor:
    """``P *= scale``, doubled for every bin but 0 (and Nyquist for even ``nfft``) along
    the last axis when one-sided: one in-place product (``P`` is a temporary)."""
    if onesided:
        return P.mul_(_onesided_factor(P.shape[-1], nfft, scale, P.dtype, P.device))
    return P.mul_(scale)


def _abs2(X: torch.Tensor) -> torch.Tensor:
    """``|X|**2`` of a complex tensor, as a new real tensor."""
    return X.real.square().add_(X.imag.square())


def _median_bias(n: int) -> float:
    ii_2 = 2 * np.arange(1.0, (n - 1) // 2 + 1)
    return float(1 + np.sum(1.0 / (ii_2 + 1) - 1.0 / ii_2))


def _median(P: torch.Tensor, dim: int) -> torch.Tensor:
    """numpy's median (the mean of the two middle values for an even count)."""
    if P.is_complex():
        return torch.complex(_median(P.real, dim), _median(P.imag, dim))
    s = P.sort(dim=dim).values
    n = s.shape[dim]
    mid = s.narrow(dim, n // 2, 1)
    if n % 2 == 0:
        mid = (mid + s.narrow(dim, n // 2 - 1, 1)) / 2
    return mid.squeeze(dim)


def _along_axis(x, y, fs, axis, *, length_note: str = ""):
    """Checked ``x`` (and ``y``), ``fs`` and ``axis``: ``(fs, ax, xm, ym)`` with ``fs`` a float,
    ``ax`` the axis index and ``xm``, ``ym`` the inputs with that axis last (``ym`` None
    without ``y``)."""
    _check_tensor(x, "x")
    if y is not None:
        _check_tensor(y, "y")
    fs = check_real(fs, "fs", strict=True)
    ax = _axes(x, axis, "axis")[0]
    xm = x.movedim(ax, -1)
    ym = None
    if y is not None:
        if y.ndim != x.ndim:
            raise ValueError(f"x and y must have the same number of dims; got {x.ndim} and {y.ndim}.")
        ym = y.movedim(ax, -1)
        if ym.shape[-1] != xm.shape[-1]:
            raise ValueError(
                f"x and y must have the same length along axis {axis}; got {xm.shape[-1]} and {ym.shape[-1]}"
                + (f" {length_note}." if length_note else ".")
            )
    return fs, ax, xm, ym


def _freqs(nfft: int, fs: float, onesided: bool, like: torch.Tensor) -> torch.Tensor:
    """The frequencies of an ``nfft``-point (real, when ``onesided``) DFT, in ``like``'s real dtype."""
    return (rfftfreq if onesided else fftfreq)(nfft, 1.0 / fs, device=like.device, dtype=_real_dtype(like.dtype))


class _Segments(NamedTuple):
    """The checked input and segment parameters of an estimate from windowed segments
    (welch, csd, coherence, stft, spectrogram), from :func:`_segments`."""

    fs: float
    axis: int  # the input's axis: the frequency axis goes back there
    x: torch.Tensor  # the input with ``axis`` last
    y: torch.Tensor | None
    onesided: bool
    win: torch.Tensor
    nperseg: int
    noverlap: int
    nfft: int
    detrend: object

    def fft(self, t: torch.Tensor) -> torch.Tensor:
        """(..., n) -> (..., nseg, nfreq): the DFT of each detrended, windowed segment."""
        seg = _detrend(t.unfold(-1, self.nperseg, self.nperseg - self.noverlap), -1, self.detrend)
        if not bool((self.win == 1).all()):  # boxcar: no product to pay for
            seg = seg * self.win
        return torch.fft.rfft(seg, n=self.nfft) if self.onesided else torch.fft.fft(seg, n=self.nfft)

    def freqs(self, like: torch.Tensor) -> torch.Tensor:
        return _freqs(self.nfft, self.fs, self.onesided, like)

    def by_rows(self, fn, like: torch.Tensor):
        """``(freqs, fn(x, y))`` with ``fn`` mapping rows (..., n) to (..., nfreq), run a
        few rows at a time on the CPU, and the frequency axis moved to ``axis``."""
        return self.freqs(like), _in_row_blocks(fn, self.x, self.y).movedim(-1, self.axis)


def _segments(x, y, fs, axis, *, window, nperseg, noverlap, nfft, detrend, return_onesided,
              default_noverlap=lambda n: n // 2, average=None, length_note: str = "", stacklevel: int = 5):
    """Check ``x`` (and ``y``) along ``axis`` and fill in the segment parameters as
    scipy.signal does (``stacklevel`` for the warning about a too long ``nperseg``)."""
    fs, ax, xm, ym = _along_axis(x, y, fs, axis, length_note=length_note)
    if average is not None and average not in ("mean", "median"):
        raise ValueError(f"average={average!r} must be 'mean' or 'median'.")
    onesided = bool(return_onesided) and not x.is_complex() and not (y is not None and y.is_complex())
    win, nperseg = _triage(window, nperseg, xm.shape[-1], x.device, x.dtype, stacklevel=stacklevel)
    nfft = nperseg if nfft is None else int(nfft)
    if nfft < nperseg:
        raise ValueError(f"nfft={nfft} must be >= nperseg={nperseg}.")
    noverlap = default_noverlap(nperseg) if noverlap is None else int(noverlap)
    if not 0 <= noverlap < nperseg:
        raise ValueError(f"noverlap={noverlap} must be >= 0 and less than nperseg={nperseg}.")
    return _Segments(fs, ax, xm, ym, onesided, win, nperseg, noverlap, nfft, detrend)


def _welch_core(x, y, *, fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling, axis, average):
    """scipy.signal.csd (y given) or welch (y None): (freqs, P) with freq at ``axis``."""
    seg = _segments(
        x, y, fs, axis, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, average=average,
        length_note="(scipy.signal.csd zero-pads the shorter one; spectrakit asks you to)",
    )
    scale = _scale(seg.win, seg.fs, scaling)

    def spectra(xb, yb):
        X = seg.fft(xb)
        P = _scale_onesided_(_abs2(X) if yb is None else X.conj() * seg.fft(yb), scale, seg.nfft, seg.onesided)
        if P.shape[-2] == 1:
            return P.squeeze(-2)
        if average == "median":
            return _median(P, -2) / _median_bias(P.shape[-2])
        return P.mean(dim=-2)

    return seg.by_rows(spectra, x)


_BLOCK_BYTES = 4 * 2**20


def _in_row_blocks(fn, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """``fn(x, y)`` for series along the last axis, on the CPU a few rows at a time.

    Each row's spectrum is independent, so blocks give the same numbers. On the CPU a
    large tensor is fresh memory: every new 4 KiB page faults (about 30,000 per 128 MiB,
    some 20 ms), and a whole-array computation makes several such temporaries. Blocks of
    a few MiB are reused by the allocator and stay in cache: the periodogram of a
    512 x 65536 array runs about twice as fast.
    """
    n = x.shape[-1]
    rows = max(1, _BLOCK_BYTES // max(1, n * x.element_size()))
    lead = x.shape[:-1]
    total = math.prod(lead)
    if x.device.type != "cpu" or total <= rows or (y is not None and y.shape != x.shape):
        return fn(x, y)
    xf = x.reshape(total, n)
    yf = None if y is None else y.reshape(total, n)
    first = fn(xf[:rows], None if yf is None else yf[:rows])
    out = torch.empty((total,) + first.shape[1:], dtype=first.dtype, device=first.device)
    out[:rows] = first
    for i in range(rows, total, rows):
        out[i : i + rows] = fn(xf[i : i + rows], None if yf is None else yf[i : i + rows])
    return out.reshape(lead + first.shape[1:])


def periodogram(
    x: torch.Tensor,
    fs: float = 1.0,
    window="boxcar",
    nfft: int | None = None,
    detrend="constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
):
    """Power spectral density by a periodogram, as :func:`scipy.signal.periodogram`.

    ``P = |DFT(w * detrend(x))|**2 / (fs * sum(w**2))`` (density) or ``/ sum(w)**2``
    (spectrum); one-sided doubling as in the module notes. With the boxcar window and no
    detrend, ``P.sum(axis) * fs / nfft == mean(x**2)`` (Parseval), one- or two-sided.

    Parameters
    ----------
    x : torch.Tensor
        Real (or complex: then two-sided) samples along ``axis``.
    fs : float
        Sampling frequency (1 / sample spacing).
    window : str, tuple or array, default "boxcar"
        See :func:`get_window`; None means boxcar.
    nfft : int, optional
        FFT length: longer zero-pads, shorter truncates ``x`` (as scipy).
    detrend : {"constant", "linear", False}
    return_onesided : bool
    scaling : {"density", "spectrum"}
    axis : int

    Returns
    -------
    freqs, P : torch.Tensor
        ``P`` has the frequency axis at ``axis``.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import periodogram
    >>> x = torch.randn(1000, dtype=torch.float64)
    >>> f, P = periodogram(x, fs=10.0, detrend=False)
    >>> bool(torch.isclose(P.sum() * (f[1] - f[0]), (x**2).mean()))
    True
    """
    _check_tensor(x, "x")
    if window is None:
        window = "boxcar"
    ax = _axes(x, axis, "axis")[0]
    n = x.shape[ax]
    if nfft is None:
        nperseg = n
    elif int(nfft) >= n:
        nperseg = n
        nfft = int(nfft)
    else:
        x = x.narrow(ax, 0, int(nfft))
        nperseg, nfft = int(nfft), None
    if not isinstance(window, (str, tuple)) and np.shape(window) != (nperseg,):
        raise ValueError(f"window must have {nperseg} values (the input's length along axis); got shape {tuple(np.shape(window))}.")
    return _welch_core(
        x, None, fs=fs, window=window, nperseg=nperseg, noverlap=0, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, scaling=scaling, axis=ax, average="mean",
    )


def periodogramn(
    x: torch.Tensor,
    axes=(-2, -1),
    fs=1.0,
    window="boxcar",
    detrend="constant",
    return_onesided: bool = True,
    scaling: str = "density",
):
    """The periodogram over several axes (the N-D version of :func:`periodogram`).

    The window is separable (``w(n1, n2, ...) = w1(n1) w2(n2) ...``, one
    :func:`get_window` per axis), detrend acts over all ``axes`` jointly, and a one-sided
    spectrum halves the *last* of ``axes`` (numpy.fft.rfftn's layout). Scaling:
    ``P = |X|**2 / (prod(fs) * sum(w**2))`` (density) or ``/ sum(w)**2`` (spectrum); with
    the boxcar window and no detrend, ``P.sum() * prod(df) == mean(x**2)`` (Parseval).

    Returns
    -------
    freqs : list of torch.Tensor
        One per axis, in numpy's (unshifted) order.
    P : torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import periodogramn
    >>> x = torch.randn(16, 20, dtype=torch.float64)
    >>> freqs, P = periodogramn(x, detrend=False)
    >>> tuple(P.shape)
    (16, 11)
    >>> df = (freqs[0][1] - freqs[0][0]) * (freqs[1][1] - freqs[1][0])
    >>> bool(torch.isclose(P.sum() * df, (x**2).mean()))
    True
    """
    _check_tensor(x, "x")
    axes = _axes(x, axes)
    fs = _per_axis(fs, len(axes), "fs")
    for v in fs:
        check_real(v, "fs", strict=True)
    if window is None:
        window = "boxcar"
    onesided = bool(return_onesided) and not x.is_complex()
    xd = _detrend(x, axes, detrend)
    sum_w, sum_w2 = 1.0, 1.0
    for a in axes:
        w = get_window(window, x.shape[a], device=x.device, dtype=x.dtype)
        sum_w *= float(w.sum())
        sum_w2 *= float((w * w).sum())
        if not bool((w == 1).all()):
            view = [1] * x.ndim
            view[a] = x.shape[a]
            xd = xd * w.reshape(view)
    scale = _scale_from_sums(scaling, math.prod(fs), sum_w, sum_w2)
    X = torch.fft.rfftn(xd, dim=axes) if onesided else torch.fft.fftn(xd, dim=axes)
    P = _scale_onesided_(_abs2(X).movedim(axes[-1], -1), scale, x.shape[axes[-1]], onesided).movedim(-1, axes[-1])
    rdt = _real_dtype(x.dtype)
    freqs = [
        (rfftfreq if (onesided and i == len(axes) - 1) else fftfreq)(x.shape[a], 1.0 / f, device=x.device, dtype=rdt)
        for i, (a, f) in enumerate(zip(axes, fs))
    ]
    return freqs, P


def welch(
    x: torch.Tensor,
    fs: float = 1.0,
    window="hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend="constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    average: str = "mean",
):
    """Power spectral density by Welch's method, as :func:`scipy.signal.welch`.

    Segments of ``nperseg`` samples (default 256, at most the length, as scipy) overlap by
    ``noverlap`` (default ``nperseg // 2``); each is detrended, windowed and transformed
    (length ``nfft``, default ``nperseg``); their periodograms (scaled as in
    :func:`periodogram`) are averaged (``average="mean"``, or ``"median"`` with scipy's
    bias correction). Segments come from ``Tensor.unfold`` (no copy of the input).

    Returns
    -------
    freqs, P : torch.Tensor
        ``P`` has the frequency axis at ``axis``.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import welch
    >>> t = torch.arange(4096, dtype=torch.float64)
    >>> f, P = welch(torch.sin(2 * torch.pi * 0.125 * t), nperseg=256)
    >>> float(f[P.argmax()])
    0.125
    """
    return _welch_core(
        x, None, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, scaling=scaling, axis=axis, average=average,
    )


def csd(
    x: torch.Tensor,
    y: torch.Tensor,
    fs: float = 1.0,
    window="hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend="constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    average: str = "mean",
):
    """Cross spectral density by Welch's method, as :func:`scipy.signal.csd`.

    ``Pxy = mean over segments of conj(X) * Y`` with :func:`welch`'s scaling, segments
    and one-sided doubling; ``csd(x, x)`` equals ``welch(x)``. The other axes of ``x``
    and ``y`` broadcast; their length along ``axis`` must agree.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import csd, welch
    >>> x = torch.randn(2048, dtype=torch.float64)
    >>> bool(torch.allclose(csd(x, x, nperseg=128)[1].real, welch(x, nperseg=128)[1]))
    True
    """
    return _welch_core(
        x, y, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, scaling=scaling, axis=axis, average=average,
    )


def coherence(
    x: torch.Tensor,
    y: torch.Tensor,
    fs: float = 1.0,
    window="hann",
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend="constant",
    axis: int = -1,
):
    """Magnitude-squared coherence ``|Pxy|**2 / (Pxx Pyy)``, as :func:`scipy.signal.coherence`.

    Welch averages (mean) of one-sided spectra; values lie in [0, 1]. The segment
    transforms of ``x`` and ``y`` are computed once for all three spectra.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import coherence
    >>> x = torch.randn(4096, dtype=torch.float64)
    >>> f, C = coherence(x, 2 * x + 1, nperseg=256)
    >>> bool(torch.allclose(C[1:], torch.ones(()).double()))
    True
    """
    seg = _segments(x, y, fs, axis, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
                    return_onesided=True, stacklevel=4)

    def ratio(xb, yb):
        X, Y = seg.fft(xb), seg.fft(yb)
        # scale and one-sided doubling cancel in the ratio
        Pxx, Pyy = _abs2(X).mean(dim=-2), _abs2(Y).mean(dim=-2)
        return _abs2((X.conj() * Y).mean(dim=-2)).div_(Pxx).div_(Pyy)

    return seg.by_rows(ratio, x)


# ----------------------------------------------------------------------------- STFT


def _extend(x: torch.Tensor, n: int, kind: str) -> torch.Tensor:
    """scipy.signal's even/odd/constant/zero extension of the last axis by ``n``."""
    if n == 0:
        return x
    if kind == "zeros":
        z = x.new_zeros(x.shape[:-1] + (n,))
        return torch.cat([z, x, z], dim=-1)
    if kind == "constant":
        return torch.cat([x[..., :1].expand(*x.shape[:-1], n), x, x[..., -1:].expand(*x.shape[:-1], n)], dim=-1)
    if x.shape[-1] <= n:
        raise ValueError(f"boundary={kind!r} needs more than {n} samples along the axis; got {x.shape[-1]}.")
    left = x[..., 1 : n + 1].flip(-1)
    right = x[..., -n - 1 : -1].flip(-1)
    if kind == "odd":
        left = 2 * x[..., :1] - left
        right = 2 * x[..., -1:] - right
    return torch.cat([left, x, right], dim=-1)


def _unwrap(p: torch.Tensor, dim: int) -> torch.Tensor:
    """numpy.unwrap with the default discont=pi along ``dim``."""
    dd = torch.diff(p, dim=dim)
    ddmod = torch.remainder(dd + math.pi, 2 * math.pi) - math.pi
    ddmod = torch.where((ddmod == -math.pi) & (dd > 0), torch.full_like(ddmod, math.pi), ddmod)
    corr = torch.where(dd.abs() < math.pi, torch.zeros_like(dd), ddmod - dd)
    out = p.clone()
    rest = out.narrow(dim, 1, p.shape[dim] - 1)
    rest.add_(torch.cumsum(corr, dim=dim))
    return out


def _stft_core(x, *, fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling, axis, mode,
               boundary, padded, default_noverlap):
    seg = _segments(x, None, fs, axis, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
                    return_onesided=return_onesided, default_noverlap=default_noverlap)
    fs, ax, xm, _, onesided, win, nperseg, noverlap, nfft, _ = seg
    step = nperseg - noverlap
    if boundary is not None:
        if boundary not in ("even", "odd", "constant", "zeros"):
            raise ValueError(f"boundary={boundary!r} must be 'even', 'odd', 'constant', 'zeros' or None.")
        xm = _extend(xm, nperseg // 2, boundary)
    if padded:
        nadd = (-(xm.shape[-1] - nperseg) % step) % nperseg
        if nadd:
            xm = torch.cat([xm, xm.new_zeros(xm.shape[:-1] + (nadd,))], dim=-1)
    scale = _scale(win, fs, scaling)
    X = seg.fft(xm)  # (..., nseg, nfreq)
    if mode == "psd":
        R = _scale_onesided_(_abs2(X), scale, nfft, onesided)
    else:
        R = X * math.sqrt(scale)
        if mode == "magnitude":
            R = R.abs()
        elif mode in ("angle", "phase"):
            R = R.angle()
            if mode == "phase":
                R = _unwrap(R, dim=-1)
        elif mode != "complex":
            raise ValueError(f"mode={mode!r} must be 'psd', 'complex', 'magnitude', 'angle' or 'phase'.")
    nseg = X.shape[-2]
    rdt = _real_dtype(x.dtype)
    times = (nperseg / 2 + step * torch.arange(nseg, dtype=rdt, device=x.device)) / fs
    if boundary is not None:
        times = times - (nperseg / 2) / fs
    freqs = seg.freqs(x)
    R = R.transpose(-1, -2).movedim(-2, ax)  # freq at axis, segments last (scipy's layout)
    return freqs, times, R


def stft(
    x: torch.Tensor,
    fs: float = 1.0,
    window="hann",
    nperseg: int = 256,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend=False,
    return_onesided: bool = True,
    boundary: str | None = "zeros",
    padded: bool = True,
    axis: int = -1,
    scaling: str = "spectrum",
):
    """Short-time Fourier transform, as :func:`scipy.signal.stft`.

    ``Z = DFT(w * segment) * sqrt(scale)`` with ``scale = 1/sum(w)**2`` (``"spectrum"``)
    or ``1/(fs sum(w**2))`` (``"psd"``); the signal is first extended by ``nperseg//2``
    at both ends (``boundary``) and zero-padded to whole segments (``padded``).

    Returns
    -------
    freqs, times, Z : torch.Tensor
        ``Z`` has the frequency axis at ``axis`` and the segment axis last.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import stft
    >>> f, t, Z = stft(torch.randn(3, 1000), nperseg=100)
    >>> tuple(Z.shape), Z.dtype
    ((3, 51, 21), torch.complex64)
    """
    if scaling == "psd":
        scaling = "density"
    elif scaling != "spectrum":
        raise ValueError(f"scaling={scaling!r} must be 'spectrum' or 'psd'.")
    return _stft_core(
        x, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, scaling=scaling, axis=axis, mode="complex",
        boundary=boundary, padded=padded, default_noverlap=lambda n: n // 2,
    )


def spectrogram(
    x: torch.Tensor,
    fs: float = 1.0,
    window=("tukey", 0.25),
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    detrend="constant",
    return_onesided: bool = True,
    scaling: str = "density",
    axis: int = -1,
    mode: str = "psd",
):
    """Spectrogram (consecutive windowed DFTs), as :func:`scipy.signal.spectrogram`.

    ``mode="psd"``: each segment's periodogram, scaled and doubled as in :func:`welch`
    (no averaging); ``"complex"``, ``"magnitude"``, ``"angle"``, ``"phase"``: the STFT
    (scaled by ``sqrt(scale)``), its modulus, its angle, its angle unwrapped along the
    frequency axis. Defaults as scipy: Tukey(0.25) window, ``nperseg=256`` (at most the
    length), ``noverlap = nperseg // 8``; segment times are the segment centres
    ``(nperseg/2 + j*(nperseg - noverlap)) / fs``.

    Returns
    -------
    freqs, times, S : torch.Tensor
        ``S`` has the frequency axis at ``axis`` and the segment axis last.

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import spectrogram
    >>> f, t, S = spectrogram(torch.randn(2000, dtype=torch.float64), fs=100.0, nperseg=200)
    >>> tuple(S.shape), float(t[0])
    ((101, 11), 1.0)
    """
    return _stft_core(
        x, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, nfft=nfft, detrend=detrend,
        return_onesided=return_onesided, scaling=scaling, axis=axis, mode=mode,
        boundary=None, padded=False, default_noverlap=lambda n: n // 8,
    )


# ----------------------------------------------------------------------------- isotropic


class RadialBins(NamedTuple):
    """Radial-frequency bins of a 2-D FFT grid (numpy, computed on the host).

    ``index[i]`` is the (kept) bin of flattened grid point ``i`` in numpy's unshifted
    layout, -1 beyond ``fmax``; ``freq_r`` the mean ``|f|`` of the points in each bin;
    ``counts`` how many grid points each holds; ``edges`` the lower and upper edge of each
    kept bin (shape (nkept, 2)). Bins that hold no grid point are dropped.
    """

    index: np.ndarray
    freq_r: np.ndarray
    counts: np.ndarray
    edges: np.ndarray


def radial_bins(shape: Sequence[int], spacing=1.0, nbins: int | None = None, fmax: float | None = None) -> RadialBins:
    """Bins of ``|f| = sqrt(fy**2 + fx**2)`` on the FFT grid of a ``shape`` = (ny, nx) array.

    ``nbins`` equal-width bins (default ``min(ny, nx) // 2``) from 0 to ``fmax``
    (default: the largest ``|f|`` on the grid, so every grid point lands in a bin).
    Bins are closed on the right, ``(lo, hi]``, the first one also holding ``|f| = 0``:
    pandas.cut's rule, which xrft's isotropic spectra use too.

    Examples
    --------
    >>> from spectrakit.core.fourier import radial_bins
    >>> b = radial_bins((8, 8), nbins=4)
    >>> int(b.counts.sum()), len(b.freq_r)
    (64, 4)
    """
    ny, nx = (int(n) for n in shape)
    dy, dx = _per_axis(spacing, 2, "spacing")
    fy = np.fft.fftfreq(ny, dy)
    fx = np.fft.fftfreq(nx, dx)
    r = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2).ravel()
    if nbins is None:
        nbins = max(1, min(ny, nx) // 2)
    nbins = int(nbins)
    if nbins < 1:
        raise ValueError(f"nbins={nbins} must be a positive integer.")
    rmax = float(r.max()) if fmax is None else float(fmax)
    if not (math.isfinite(rmax) and rmax > 0):
        raise ValueError(f"fmax={fmax!r} must be a positive frequency.")
    edges = np.linspace(0.0, rmax, nbins + 1)
    idx = np.searchsorted(edges[1:-1], r, side="left")
    idx[r > rmax] = -1
    valid = idx >= 0
    counts = np.bincount(idx[valid], minlength=nbins)
    rsum = np.bincount(idx[valid], weights=r[valid], minlength=nbins)
    keep = counts > 0
    remap = np.cumsum(keep) - 1
    index = np.where(valid, remap[np.maximum(idx, 0)], -1)
    pairs = np.stack([edges[:-1], edges[1:]], axis=1)[keep]
    return RadialBins(index, rsum[keep] / counts[keep], counts[keep], pairs)


def isotropic_power(
    x: torch.Tensor,
    axes=(-2, -1),
    *,
    fs=1.0,
    nbins: int | None = None,
    fmax: float | None = None,
    window="boxcar",
    detrend="constant",
    scaling: str = "density",
):
    """Radially (azimuthally) averaged power over two axes.

    The two-sided 2-D periodogram ``P(fy, fx)`` of :func:`periodogramn` is averaged over
    the grid points in each ring of :func:`radial_bins`. Parseval: with the boxcar window,
    no detrend and ``fmax=None``, ``sum(P_iso * counts) * dfy * dfx == mean(x**2)``.
    (xrft's isotropic spectra multiply this average by ``freq_r``.)

    Returns
    -------
    freq_r : torch.Tensor
        Mean radial frequency per ring.
    P_iso : torch.Tensor
        The ``axes`` replaced by one last axis of rings.
    counts : torch.Tensor
        Grid points per ring (int64).

    Examples
    --------
    >>> import torch
    >>> from spectrakit.core.fourier import isotropic_power
    >>> x = torch.randn(32, 32, dtype=torch.float64)
    >>> fr, P, counts = isotropic_power(x, detrend=False)
    >>> bool(torch.isclose((P * counts).sum() / 32**2, (x**2).mean()))
    True
    """
    _check_tensor(x, "x", allow_complex=False)
    axes = _axes(x, axes)
    if len(axes) != 2:
        raise ValueError(f"axes={axes!r} must name exactly two axes.")
    fs = _per_axis(fs, 2, "fs")
    _, P = periodogramn(x, axes, fs, window=window, detrend=detrend, return_onesided=False, scaling=scaling)
    ny, nx = x.shape[axes[0]], x.shape[axes[1]]
    bins = radial_bins((ny, nx), (1.0 / fs[0], 1.0 / fs[1]), nbins, fmax)
    P = P.movedim(axes, (-2, -1)).reshape(*[s for i, s in enumerate(x.shape) if i not in axes], ny * nx)
    valid = torch.as_tensor(np.flatnonzero(bins.index >= 0), device=x.device)
    idx = torch.as_tensor(bins.index[bins.index >= 0], device=x.device)
    counts = torch.as_tensor(bins.counts, device=x.device)
    sums = P.new_zeros(P.shape[:-1] + (len(bins.freq_r),))
    sums.index_add_(-1, idx, P.index_select(-1, valid))
    freq_r = torch.as_tensor(bins.freq_r, dtype=P.dtype, device=x.device)
    return freq_r, sums / counts.to(P.dtype), counts


# ------------------------------------------------------- Fourier-domain regularization
#
# A circulant operator (a periodic blur) and a stationary penalty (a Sobolev weight) are
# both diagonal in the unitary DFT, so the DFT is their generalized singular basis:
# s_k = |a_k|^2 / mu_k^2 with a_k the blur's transfer function and mu_k^2 the penalty's
# weight. The filters and criteria are then the foundation's own (core.filtering).


class DFTBasis:
    """Real signals on a regular grid in the unitary DFT basis, as the spine's
    :class:`~spectrakit.core.spectral.Basis`.

    A circular blur ``a`` and a stationary penalty ``mu`` are both diagonal in the DFT, so
    the filter's argument per frequency is ``s_k = |a_k|**2 / mu_k**2`` (``a = 1`` when
    smoothing; ``1/|k|**2`` for a low-pass). Real data have Hermitian-symmetric spectra:
    the half spectrum of :func:`rfftn` stands for all ``N`` frequencies, each bin counting
    1 or 2 (:func:`half_spectrum_weights`, the basis's ``counts``), and its coefficient
    carries both mirrored ones, ``beta_k = sqrt(count_k / N) X_k`` (so ``|beta_k|**2`` is
    their summed power in the unitary DFT). A solution is ``x = F* (f X / a)``.

    Parameters
    ----------
    shape : the grid's sizes (the signals' last ``len(shape)`` axes).
    s_half : (*half_shape) the filter's argument on the half grid
        (``shape[:-1] + (shape[-1] // 2 + 1,)``).
    transfer_half : (*half_shape) complex, the blur's ``a_k`` on the half grid (None: 1).

    Examples
    --------
    >>> from spectrakit.core.spectral import filter_factors
    >>> b = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    >>> k2 = wavenumbers_squared((4,), (1.0,), dtype=torch.float64)[:3]
    >>> basis = DFTBasis((4,), 1 / sobolev_weights(k2, 1.0))  # H^1 smoothing
    >>> f, _ = filter_factors(basis.s, torch.tensor([0.0], dtype=torch.float64))
    >>> [round(v, 12) for v in basis.reassemble(f, basis.coefficients(b))[0, 0].tolist()]  # reg = 0: b back
    [1.0, 2.0, 3.0, 4.0]
    """

    def __init__(self, shape, s_half: torch.Tensor, transfer_half: torch.Tensor | None = None):
        self.shape = tuple(int(n) for n in shape)
        self.half_shape = self.shape[:-1] + (self.shape[-1] // 2 + 1,)
        if tuple(s_half.shape) != self.half_shape:
            raise ValueError(f"s_half must have the half grid's shape {self.half_shape}; got {tuple(s_half.shape)}.")
        self.axes = tuple(range(-len(self.shape), 0))
        self.n = math.prod(self.shape)
        real = s_half.dtype
        w = half_spectrum_weights(self.shape[-1], real, s_half.device).expand(self.half_shape).reshape(-1)
        self.counts = w
        self.s = s_half.reshape(-1)
        self._to_beta = (w / self.n).sqrt()
        back = (self.n / w).sqrt()
        if transfer_half is not None:
            a = transfer_half.reshape(-1)
            nz = a != 0
            back = back * torch.where(nz, 1.0 / torch.where(nz, a, torch.ones_like(a)), torch.zeros_like(a))
        self._from_beta = back

    def coefficients(self, b: torch.Tensor) -> torch.Tensor:
        """``beta`` (B, H), complex, for real signals ``b`` (B, *shape)."""
        X = torch.fft.rfftn(b, dim=self.axes).reshape(b.shape[0], -1)
        return X * self._to_beta

    def reassemble(self, f: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """The solutions ``F* (f X / a)`` (B, R, *shape) for factors ``f`` (R, H)."""
        coef = f.unsqueeze(0) * (beta * self._from_beta).unsqueeze(1)
        return torch.fft.irfftn(coef.reshape(coef.shape[:2] + self.half_shape), s=self.shape, dim=self.axes)

    def outside_norm_sq(self, b: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        """0: the DFT is a complete basis."""
        return b.new_zeros(b.shape[0])


def sobolev_weights(k_sq: torch.Tensor, order: float) -> torch.Tensor:
    """The Sobolev H^s penalty's weights ``(1 + |k|^2)**order`` (any real order)."""
    return (1 + k_sq) ** order


def fourier_path(
    b: torch.Tensor,
    reg: torch.Tensor,
    *,
    ndim: int,
    transfer: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    method="tikhonov",
    x_true: torch.Tensor | None = None,
    noise_norm: torch.Tensor | None = None,
    **method_options,
):
    """Regularized deconvolution or smoothing of ``b`` along its last ``ndim`` axes for
    every ``reg``: ``min ||a * x - b||^2 + reg ||mu x||^2`` with ``*`` circular
    convolution, both diagonal in the DFT.

    Parameters
    ----------
    b : (B, *shape) real tensor, the signals.
    reg : (R,) strengths.
    transfer : (*shape) complex, the blur's transfer function ``a_k = fftn(kernel)``
        (kernel centred at index 0); None for smoothing (``a = 1``).
    weights : (*shape) positive, the penalty's ``mu_k^2`` (None: identity).
    method, method_options : a filter of :func:`spectrakit.core.spectral.filter_factors`.

    Returns
    -------
    x : (B, R, *shape) real, the regularized signals.
    f : (R, H) filter factors on the flattened half grid of :func:`rfftn` (:class:`DFTBasis`).
    native : dict, the method's native parameter per reg.
    crit : dict of (B, R) tensors, :func:`spectrakit.core.spectral.spectral_criteria`
        plus ``loo``, which equals ``gcv`` here: a circulant influence matrix has every
        leverage equal to trace(H)/N; and ``error_norm`` with ``x_true``.
    """
    shape = tuple(b.shape[-ndim:])
    half = shape[-1] // 2 + 1
    K = math.prod(shape)
    dtype = b.dtype
    ones = torch.ones(shape, dtype=dtype, device=b.device)
    mu_sq = ones if weights is None else weights.to(dtype)
    if (mu_sq <= 0).any() or not torch.isfinite(mu_sq).all():
        raise ValueError("weights: the penalty weights mu_k^2 must be finite and > 0.")
    a = None if transfer is None else transfer.to(torch.complex128 if dtype == torch.float64 else torch.complex64)
    a_sq = ones if a is None else (a.real**2 + a.imag**2)
    # real signals: the half grid of rfftn stands for every frequency (the DFT basis)
    basis = DFTBasis(shape, (a_sq / mu_sq)[..., :half], None if a is None else a[..., :half])
    f, native = spectral.filter_factors(basis.s, reg, method, **method_options)
    beta = basis.coefficients(b)
    x = basis.reassemble(f, beta)
    crit = spectral.spectral_criteria(
        basis.s, beta, reg, f, m=K, outside_sq=basis.outside_norm_sq(b, beta), method=method,
        noise_norm=noise_norm, counts=basis.counts,
    )
    crit.pop("trace")
    crit["loo"] = crit["gcv"].clone()
    if x_true is not None:
        crit["error_norm"] = torch.linalg.vector_norm((x - x_true.unsqueeze(1)).reshape(x.shape[:2] + (K,)), dim=-1)
    return x, f, native, crit
