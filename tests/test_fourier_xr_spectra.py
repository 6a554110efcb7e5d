"""Fourier transforms and spectra of labelled arrays against numpy.fft, scipy.signal and xrft.

Tolerances: 1e-6 relative in float64 and 1e-4 in float32, each entry compared relative
to the largest reference value (bins near zero, e.g. the mean removed by a detrend, are
rounding noise in every implementation).

Where xrft's conventions differ from spectrakit's (and so are not compared directly):

* xrft.fft defaults to ``true_phase=True, true_amplitude=True``; spectrakit defaults to
  numpy's values (both ``False``). The tests pass the flags explicitly on both sides.
* xrft.power_spectrum does not detrend by default and does not correct the density for
  the window unless ``window_correction=True``; spectrakit follows scipy (constant
  detrend; the density divided by ``fs * sum(w**2)``, which is xrft's
  ``window_correction=True``).
* xrft.cross_spectrum is ``X * conj(Y)``; spectrakit follows scipy.signal.csd,
  ``conj(X) * Y`` (the conjugate).
* xrft.isotropic_power_spectrum multiplies the ring average by ``freq_r``; spectrakit
  returns the ring average itself (so that ``(P_iso * count).sum() * dfy * dfx`` is
  Parseval's total).
* Two-sided spectra are fftshifted in spectrakit and xrft; scipy returns numpy's order
  (the tests shift scipy's output). xrft's ``fft(..., real_dim=...)`` leaves the other
  (full) axes in numpy's order even with ``shift=True``; spectrakit's ``rfft`` shifts
  them (``shift=False`` gives xrft's layout).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import scipy.signal as ss
import torch
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import spectrakit  # noqa: F401  (registers .spectral)
from spectrakit.core import fourier as cf
from spectrakit.xr import fourier as xf

RTOL = {np.float64: 1e-6, np.float32: 1e-4}
DTYPE = {np.float64: None, np.float32: torch.float32}


def close(actual, expected, rtol):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def series(n=200, extra=3, d=0.25, x0=2.0, seed=0, name="signal"):
    """Real data (extra, n) with an evenly spaced, unit-carrying time coordinate."""
    rng = np.random.default_rng(seed)
    t = x0 + d * np.arange(n)
    data = rng.standard_normal((extra, n)) + np.sin(2 * np.pi * 0.3 * t) + 0.01 * t
    da = xr.DataArray(
        data,
        dims=("station", "time"),
        coords={"station": np.arange(extra) * 10, "time": t, "label": ("station", list("abc")[:extra] + ["z"] * max(0, extra - 3))},
        attrs={"units": "K", "long_name": "temperature", "source": "test"},
        name=name,
    )
    da["time"].attrs["units"] = "s"
    return da


def image(ny=24, nx=20, d=(0.5, 0.25), seed=1):
    rng = np.random.default_rng(seed)
    y = d[0] * np.arange(ny) - 3.0
    x = d[1] * np.arange(nx) + 1.0
    da = xr.DataArray(
        rng.standard_normal((2, ny, nx)),
        dims=("band", "y", "x"),
        coords={"band": ["r", "g"], "y": y, "x": x},
        attrs={"units": "W"},
        name="img",
    )
    da["x"].attrs["units"] = "m"
    da["y"].attrs["units"] = "m"
    return da


# ----------------------------------------------------------------------------- numpy.fft


@pytest.mark.parametrize("n", [64, 63])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("shift", [True, False])
def test_fft_equals_numpy(n, dt, shift):
    da = series(n)
    F = da.spectral.fft("time", shift=shift, dtype=DTYPE[dt])
    ref = np.fft.fft(da.values, axis=-1)
    f = np.fft.fftfreq(n, 0.25)
    if shift:
        ref, f = np.fft.fftshift(ref, axes=-1), np.fft.fftshift(f)
    assert F.dims == ("station", "freq_time")
    assert F.dtype == (np.complex128 if dt == np.float64 else np.complex64)
    close(F.values, ref, RTOL[dt])
    np.testing.assert_allclose(F.freq_time.values, f, rtol=1e-12)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_fft_over_two_dims_equals_numpy(dt):
    da = image()
    F = da.spectral.fft(["y", "x"], dtype=DTYPE[dt])
    ref = np.fft.fftshift(np.fft.fftn(da.values, axes=(1, 2)), axes=(1, 2))
    assert F.dims == ("band", "freq_y", "freq_x")
    close(F.values, ref, RTOL[dt])
    np.testing.assert_allclose(F.freq_y, np.fft.fftshift(np.fft.fftfreq(24, 0.5)))
    np.testing.assert_allclose(F.freq_x, np.fft.fftshift(np.fft.fftfreq(20, 0.25)))
    # dim=None transforms every dim (no coordinate on a dim: spacing 1)
    G = xr.DataArray(da.values[0]).spectral.fft()
    close(G.values, np.fft.fftshift(np.fft.fft2(da.values[0])), 1e-6)
    assert G.dims == ("freq_dim_0", "freq_dim_1")


@pytest.mark.parametrize("n", [32, 33])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
def test_rfft_equals_numpy(n, dt):
    da = image(ny=10, nx=n)
    R = da.spectral.rfft(["y", "x"], dtype=DTYPE[dt])
    ref = np.fft.fftshift(np.fft.rfftn(da.values, axes=(1, 2)), axes=1)
    assert R.dims == ("band", "freq_y", "freq_x")
    close(R.values, ref, RTOL[dt])
    np.testing.assert_allclose(R.freq_x, np.fft.rfftfreq(n, 0.25))
    np.testing.assert_allclose(R.freq_y, np.fft.fftshift(np.fft.fftfreq(10, 0.5)))


def test_fft_of_complex_data():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(16) + 1j * rng.standard_normal(16)
    F = xr.DataArray(z, dims="x").spectral.fft("x", shift=False)
    close(F.values, np.fft.fft(z), 1e-6)
    back = F.spectral.ifft("x")
    close(back.values, z, 1e-6)


def test_true_phase_is_the_sum_over_coordinate_positions():
    da = series(40, extra=1)
    x, t = da.values[0], da.time.values
    F = da.spectral.fft("time", true_phase=True, true_amplitude=True)
    f = F.freq_time.values
    direct = (x[None, :] * np.exp(-2j * np.pi * f[:, None] * t[None, :])).sum(axis=1) * 0.25
    close(F.values[0], direct, 1e-9)


@pytest.mark.parametrize("n", [50, 51])
@pytest.mark.parametrize("true_phase", [False, True])
@pytest.mark.parametrize("true_amplitude", [False, True])
def test_round_trips(n, true_phase, true_amplitude):
    da = series(n)
    flags = dict(true_phase=true_phase, true_amplitude=true_amplitude)
    back = da.spectral.fft("time", **flags).spectral.ifft("freq_time", **flags)
    assert back.dims == da.dims
    close(back.real.values, da.values, 1e-12)
    np.testing.assert_allclose(back.time.values, da.time.values, rtol=1e-12)
    assert back.time.attrs["units"] == "s"
    back = da.spectral.rfft("time", **flags).spectral.irfft("time", **flags)
    assert back.sizes["time"] == n  # the odd length comes back (direct_size)
    close(back.values, da.values, 1e-12)
    np.testing.assert_allclose(back.time.values, da.time.values, rtol=1e-12)
    # two dims, shifted and not
    img = image()
    for shift in (True, False):
        back = img.spectral.fft(["y", "x"], shift=shift, **flags).spectral.ifft(**flags)
        xr.testing.assert_allclose(back.real.drop_vars(["y", "x"]), img.drop_vars(["y", "x"]))
        np.testing.assert_allclose(back.y, img.y)
    back = img.spectral.rfft(["y", "x"], **flags).spectral.irfft(["y", "x"], **flags)
    xr.testing.assert_allclose(back, img.transpose(*back.dims), rtol=1e-10)


def test_decreasing_and_datetime_coordinates():
    da = series(30)
    rev = da.isel(time=slice(None, None, -1))  # decreasing coordinate
    for kw in ({}, {"true_phase": True}):
        xr.testing.assert_allclose(rev.spectral.fft("time", **kw), da.spectral.fft("time", **kw))
    xr.testing.assert_allclose(rev.spectral.power("time"), da.spectral.power("time"))
    back = rev.spectral.fft("time", true_phase=True).spectral.ifft("time", true_phase=True)
    np.testing.assert_array_equal(back.time.values, rev.time.values)
    close(back.real.values, rev.values, 1e-12)
    # datetime: spacing in seconds, frequencies in 1/s
    times = np.datetime64("2020-01-01") + np.arange(30) * np.timedelta64(6, "h")
    dt = da.assign_coords(time=times)
    P = dt.spectral.power("time")
    np.testing.assert_allclose(P.freq_time.values, np.fft.rfftfreq(30, 6 * 3600.0))
    assert P.freq_time.attrs["units"] == "1/s"
    back = dt.spectral.fft("time", true_phase=True).spectral.ifft("time", true_phase=True)
    np.testing.assert_array_equal(back.time.values, times.astype("datetime64[ns]"))
    close(back.real.values, dt.values, 1e-9)


def test_fft_parseval():
    da = series(64)
    x = da.values
    F = da.spectral.fft("time")
    close((abs(F) ** 2).sum("freq_time").values, 64 * (x**2).sum(axis=-1), 1e-12)
    F = da.spectral.fft("time", true_amplitude=True)
    df = F.freq_time.attrs["spacing"]
    close(((abs(F) ** 2).sum("freq_time") * df).values, (x**2).sum(axis=-1) * 0.25, 1e-12)


def test_dims_coords_attrs_kept_and_units():
    da = series(64)
    da["time"].attrs["long_name"] = "time"
    da = da.assign_coords(flag=("time", np.arange(64)))  # lies along the transformed dim
    for out in (
        da.spectral.fft("time"),
        da.spectral.power("time"),
        da.spectral.power("time", method="welch", nperseg=32),
        da.spectral.spectrogram("time", nperseg=16),
        da.spectral.cross_spectrum(da, "time"),
        da.spectral.coherence(da * 2, "time", nperseg=16),
    ):
        assert out.dims[0] == "station" and "freq_time" in out.dims
        np.testing.assert_array_equal(out.station, da.station)
        np.testing.assert_array_equal(out.label, da.label)
        assert "flag" not in out.coords and "time" not in out.coords
        assert out.attrs["source"] == "test" and out.name == "signal"
        assert out.attrs["device"] in ("cpu", "cuda", "cuda:0")
        assert out.freq_time.attrs["units"] == "1/s"
        assert np.isclose(out.freq_time.attrs["spacing"], np.diff(out.freq_time.values[:2])[0])
    assert da.spectral.fft("time").attrs["units"] == "K"
    assert da.spectral.fft("time", true_amplitude=True).attrs["units"] == "K s"
    assert da.spectral.power("time").attrs["units"] == "K^2 s"
    assert da.spectral.power("time", scaling="spectrum").attrs["units"] == "K^2"
    assert da.spectral.power("time").attrs["method"] == "periodogram"
    S = da.spectral.spectrogram("time", nperseg=16)
    assert S.dims == ("station", "freq_time", "time_segment")
    assert S.time_segment.attrs["units"] == "s"


def test_arguments_not_modified():
    da = series(64)
    other = series(64, seed=5)
    saved = copy.deepcopy((da, other))
    da.spectral.fft("time", true_phase=True).spectral.ifft("time", true_phase=True)
    da.spectral.rfft("time", true_amplitude=True)
    da.spectral.power("time", detrend="linear", window="hann")
    da.spectral.power("time", method="welch", nperseg=16)
    da.spectral.spectrogram("time", nperseg=16)
    da.spectral.cross_spectrum(other, "time", method="welch", nperseg=16)
    da.spectral.coherence(other, "time", nperseg=16)
    image().spectral.isotropic_power()
    window = np.hanning(64)
    w0 = window.copy()
    da.spectral.power("time", window=window)
    np.testing.assert_array_equal(window, w0)
    for a, b in zip((da, other), saved):
        xr.testing.assert_identical(a, b)
        assert a.attrs == b.attrs and a.time.attrs == b.time.attrs


# ----------------------------------------------------------------------------- scipy.signal

PERIODOGRAM_CASES = [
    {},
    {"window": "hann"},
    {"window": ("tukey", 0.3), "detrend": "linear"},
    {"detrend": False, "scaling": "spectrum"},
    {"nfft": 300},
    {"nfft": 150, "window": "blackman"},
    {"onesided": False},
    {"onesided": False, "window": "hamming", "scaling": "spectrum", "detrend": "linear"},
]


def _scipy_kwargs(kw):
    kw = dict(kw)
    if "onesided" in kw:
        kw["return_onesided"] = kw.pop("onesided")
    return kw


def _shift_if_twosided(ref, kw, axis=-1):
    return np.fft.fftshift(ref, axes=axis) if kw.get("onesided") is False else ref


@pytest.mark.parametrize("n", [200, 201])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", PERIODOGRAM_CASES)
def test_periodogram_equals_scipy(n, dt, kw):
    da = series(n)
    P = da.spectral.power("time", dtype=DTYPE[dt], **kw)
    f, ref = ss.periodogram(da.values, fs=4.0, **_scipy_kwargs(kw))
    close(P.values, _shift_if_twosided(ref, kw), RTOL[dt])
    np.testing.assert_allclose(P.freq_time.values, _shift_if_twosided(f, kw), rtol=1e-12, atol=1e-12)
    assert P.dtype == dt


WELCH_CASES = [
    {},
    {"nperseg": 64},
    {"nperseg": 50, "noverlap": 10, "window": "blackman", "detrend": "linear"},
    {"nperseg": 40, "noverlap": 0, "window": "boxcar", "detrend": False, "scaling": "spectrum"},
    {"nperseg": 33, "nfft": 70},
    {"nperseg": 64, "average": "median"},
    {"nperseg": 48, "onesided": False, "window": ("kaiser", 4.0)},
    {"window": np.hanning(30)},
]


@pytest.mark.parametrize("n", [400, 401])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", WELCH_CASES)
def test_welch_equals_scipy(n, dt, kw):
    da = series(n)
    P = da.spectral.power("time", method="welch", dtype=DTYPE[dt], **kw)
    f, ref = ss.welch(da.values, fs=4.0, **_scipy_kwargs(kw))
    close(P.values, _shift_if_twosided(ref, kw), RTOL[dt])
    np.testing.assert_allclose(P.freq_time.values, _shift_if_twosided(f, kw), rtol=1e-12, atol=1e-12)
    assert P.attrs["method"] == "welch" and P.attrs["nperseg"] == (kw.get("nperseg") or (30 if "window" in kw else 256))


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", WELCH_CASES[:7])
def test_cross_spectrum_welch_equals_scipy_csd(dt, kw):
    x, y = series(301), series(301, seed=9)
    P = x.spectral.cross_spectrum(y, "time", method="welch", dtype=DTYPE[dt], **kw)
    f, ref = ss.csd(x.values, y.values, fs=4.0, **_scipy_kwargs(kw))
    close(P.values, _shift_if_twosided(ref, kw), RTOL[dt])
    assert P.dtype == (np.complex128 if dt == np.float64 else np.complex64)


def test_cross_spectrum_periodogram_is_power_and_scipy_one_segment():
    x, y = series(128), series(128, seed=2)
    xr.testing.assert_allclose(x.spectral.cross_spectrum(x, "time").real, x.spectral.power("time"))
    P = x.spectral.cross_spectrum(y, "time", window="hann", detrend="linear")
    _, ref = ss.csd(x.values, y.values, fs=4.0, window="hann", nperseg=128, noverlap=0, detrend="linear")
    close(P.values, ref, 1e-6)
    P = x.spectral.cross_spectrum(y, "time", nfft=100)  # shorter nfft truncates, as scipy.periodogram
    _, ref = ss.csd(x.values[:, :100], y.values[:, :100], fs=4.0, window="boxcar", nperseg=100, noverlap=0)
    close(P.values, ref, 1e-6)


@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{"nperseg": 64}, {"nperseg": 50, "noverlap": 40, "window": "hamming"}, {"detrend": False}])
def test_coherence_equals_scipy(dt, kw):
    x = series(1024)
    y = 0.5 * x.roll(time=2) + xr.DataArray(np.random.default_rng(4).standard_normal((3, 1024)), dims=x.dims)
    C = x.spectral.coherence(y, "time", dtype=DTYPE[dt], **kw)
    f, ref = ss.coherence(x.values, y.values, fs=4.0, **kw)
    # bin 0 is 0/0 after a constant detrend: rounding noise in both
    sl = slice(None) if kw.get("detrend") is False else slice(1, None)
    close(C.values[:, sl], ref[:, sl], RTOL[dt])
    assert float(C.max()) <= 1 + 1e-6


SPECTROGRAM_CASES = [
    {},
    {"nperseg": 64},
    {"nperseg": 50, "noverlap": 25, "window": "hann", "detrend": "linear", "scaling": "spectrum"},
    {"nperseg": 40, "nfft": 64, "onesided": False},
    {"nperseg": 64, "mode": "complex"},
    {"nperseg": 64, "mode": "magnitude"},
    {"nperseg": 64, "mode": "angle", "detrend": False},
    {"nperseg": 32, "mode": "phase", "detrend": False},
]


@pytest.mark.parametrize("n", [600, 601])
@pytest.mark.parametrize("dt", [np.float64, np.float32])
@pytest.mark.parametrize("kw", SPECTROGRAM_CASES)
def test_spectrogram_equals_scipy(n, dt, kw):
    da = series(n)
    if dt == np.float32 and kw.get("mode") in ("angle", "phase"):
        pytest.skip("the angle of float32 bins near zero is not defined to 1e-4")
    S = da.spectral.spectrogram("time", dtype=DTYPE[dt], **kw)
    f, t, ref = ss.spectrogram(da.values, fs=4.0, **_scipy_kwargs(kw))
    assert S.dims == ("station", "freq_time", "time_segment")
    close(S.values, _shift_if_twosided(ref, kw, axis=-2), RTOL[dt])
    np.testing.assert_allclose(S.time_segment.values, da.time.values[0] + t, rtol=1e-12)
    np.testing.assert_allclose(S.freq_time.values, _shift_if_twosided(f, kw), atol=1e-12)


@pytest.mark.parametrize("kw", [
    {"nperseg": 64},
    {"nperseg": 50, "noverlap": 20, "boundary": "even", "detrend": "constant"},
    {"nperseg": 48, "boundary": None, "padded": False, "scaling": "psd", "window": "hamming"},
    {"nperseg": 40, "boundary": "odd", "return_onesided": False},
    {"nperseg": 30, "boundary": "constant", "nfft": 45},
])
@pytest.mark.parametrize("dt", [torch.float64, torch.float32])
def test_core_stft_equals_scipy(kw, dt):
    x = np.random.default_rng(5).standard_normal((2, 333))
    f, t, Z = cf.stft(torch.from_numpy(x).to(dt), fs=3.0, **kw)
    f2, t2, ref = ss.stft(x, fs=3.0, **kw)
    close(Z.numpy(), ref, 1e-6 if dt == torch.float64 else 1e-4)
    np.testing.assert_allclose(t.numpy(), t2, rtol=1e-6)
    assert Z.dtype == (torch.complex128 if dt == torch.float64 else torch.complex64)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_core_functions_along_any_axis(axis):
    x = np.random.default_rng(6).standard_normal((64, 20, 70))
    t = torch.from_numpy(x)
    close(cf.welch(t, nperseg=16, axis=axis)[1].numpy(), ss.welch(x, nperseg=16, axis=axis)[1], 1e-10)
    close(cf.periodogram(t, axis=axis, window="hann")[1].numpy(), ss.periodogram(x, axis=axis, window="hann")[1], 1e-10)
    close(cf.spectrogram(t, nperseg=16, axis=axis)[2].numpy(), ss.spectrogram(x, nperseg=16, axis=axis)[2], 1e-10)
    y = x[::-1].copy()
    close(cf.csd(t, torch.from_numpy(y), nperseg=16, axis=axis)[1].numpy(), ss.csd(x, y, nperseg=16, axis=axis)[1], 1e-10)


def test_core_detrend_equals_scipy():
    x = np.random.default_rng(7).standard_normal((4, 31)) + np.arange(31)
    for kind in ("constant", "linear"):
        close(cf.detrend(torch.from_numpy(x), -1, kind).numpy(), ss.detrend(x, type=kind), 1e-10)
    # a plane over two axes: what remains is orthogonal to 1, y and x
    r = cf.detrend(torch.from_numpy(x), (0, 1), "linear").numpy()
    yy, xx = np.meshgrid(np.arange(4), np.arange(31), indexing="ij")
    for basis in (np.ones_like(r), yy, xx):
        assert abs((r * basis).sum()) < 1e-9


# ----------------------------------------------------------------------------- Parseval


@pytest.mark.parametrize("n", [128, 127])
@pytest.mark.parametrize("onesided", [True, False])
def test_parseval_power(n, onesided):
    da = series(n)
    ms = (da**2).mean("time")
    P = da.spectral.power("time", detrend=False, onesided=onesided)
    df = P.freq_time.attrs["spacing"]
    xr.testing.assert_allclose(P.sum("freq_time") * df, ms)
    P = da.spectral.power("time", detrend=False, onesided=onesided, scaling="spectrum")
    xr.testing.assert_allclose(P.sum("freq_time"), ms)
    # with a window: the window-weighted mean square
    w = ss.get_window("hann", n)
    P = da.spectral.power("time", detrend=False, onesided=onesided, window="hann")
    weighted = (da**2 * xr.DataArray(w**2, dims="time")).sum("time") / (w**2).sum()
    xr.testing.assert_allclose(P.sum("freq_time") * df, weighted)
    # the constant detrend removes the mean: the variance remains
    P = da.spectral.power("time", onesided=onesided)
    xr.testing.assert_allclose(P.sum("freq_time") * df, da.var("time"))
    # Welch with boxcar segments that tile the series
    P = da.spectral.power("time", method="welch", window="boxcar", nperseg=n // 4 if n % 4 == 0 else n, noverlap=0,
                          detrend=False, onesided=onesided)
    xr.testing.assert_allclose(P.sum("freq_time") * P.freq_time.attrs["spacing"], ms)
    # cross spectrum: mean(x y)
    other = series(n, seed=11)
    Pxy = da.spectral.cross_spectrum(other, "time", detrend=False, onesided=onesided)
    xr.testing.assert_allclose(Pxy.real.sum("freq_time") * df, (da * other).mean("time"))
    # spectrogram psd with boxcar, no overlap: each segment's mean square
    S = da.spectral.spectrogram("time", window="boxcar", nperseg=16, noverlap=0, detrend=False, onesided=onesided)
    seg = da.values[:, : 16 * S.sizes["time_segment"]].reshape(3, -1, 16)
    close((S.sum("freq_time") * S.freq_time.attrs["spacing"]).values, (seg**2).mean(-1), 1e-10)


def test_parseval_two_dims_and_isotropic():
    img = image()
    ms = (img**2).mean(["y", "x"])
    for onesided in (True, False):
        P = img.spectral.power(["y", "x"], detrend=False, onesided=onesided)
        dfy, dfx = P.freq_y.attrs["spacing"], P.freq_x.attrs["spacing"]
        xr.testing.assert_allclose(P.sum(["freq_y", "freq_x"]) * dfy * dfx, ms)
    iso = img.spectral.isotropic_power(("y", "x"), detrend=False, nbins=7)
    xr.testing.assert_allclose((iso * iso["count"]).sum("freq_r") * dfy * dfx, ms)
    assert int(iso["count"].sum()) == 24 * 20
    assert iso.freq_r.attrs["units"] == "1/m" and iso.attrs["units"] == "W^2 m m"


@settings(max_examples=25)
@given(
    n=st.integers(2, 300),
    d=st.floats(1e-3, 1e3),
    onesided=st.booleans(),
    scaling=st.sampled_from(["density", "spectrum"]),
)
def test_parseval_property(n, d, onesided, scaling):
    x = np.random.default_rng(n).standard_normal(n)
    da = xr.DataArray(x, dims="t", coords={"t": d * np.arange(n)})
    P = da.spectral.power("t", detrend=False, onesided=onesided, scaling=scaling)
    total = P.sum().item() * (P.freq_t.attrs["spacing"] if scaling == "density" else 1.0)
    assert np.isclose(total, (x**2).mean(), rtol=1e-9)
    assert P.sizes["freq_t"] == (n // 2 + 1 if onesided else n)


def test_two_dim_periodogram_agrees_with_one_dim_and_numpy():
    img = image()
    P = img.spectral.power(["y", "x"], window="hann", detrend="constant")
    x = img.values - img.values.mean(axis=(1, 2), keepdims=True)
    w = np.outer(ss.get_window("hann", 24), ss.get_window("hann", 20))
    X = np.fft.rfftn(x * w, axes=(1, 2))
    ref = np.abs(X) ** 2 / (2.0 * 4.0 * (w**2).sum())
    ref[..., 1:-1] *= 2
    close(P.values, np.fft.fftshift(ref, axes=1), 1e-10)
    one = img.isel(y=0).spectral.power("x")
    same = img.isel(y=0).spectral.power(["x"])
    xr.testing.assert_allclose(one, same)


# ----------------------------------------------------------------------------- isotropic


def test_isotropic_equals_pandas_cut_reference():
    pd = pytest.importorskip("pandas")
    img = image(ny=30, nx=26)
    iso = img.spectral.isotropic_power(("y", "x"), nbins=6, detrend=False)
    P2 = np.fft.fftn(img.values, axes=(1, 2))
    P2 = np.abs(P2) ** 2 / (2.0 * 4.0 * 30 * 26)
    fy, fx = np.fft.fftfreq(30, 0.5), np.fft.fftfreq(26, 0.25)
    r = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2).ravel()
    cut = pd.cut(r, bins=6)  # xrft's rule: equal bins over [0, max], closed on the right
    for b in range(2):
        frame = pd.DataFrame({"p": P2[b].ravel(), "r": r, "bin": cut})
        means = frame.groupby("bin", observed=True).mean()
        close(iso.values[b], means["p"].values, 1e-10)
        close(iso.freq_r.values, means["r"].values, 1e-12)


def test_isotropic_of_power_law_and_fmax():
    n = 64
    fy, fx = np.fft.fftfreq(n), np.fft.fftfreq(n)
    k = np.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)
    amp = np.where(k > 0, k, 1.0) ** -1.5  # |X|^2 ~ k^-3
    phase = np.exp(2j * np.pi * np.random.default_rng(0).random((n, n)))
    field = np.fft.ifft2(amp * phase).real
    iso = xr.DataArray(field, dims=("y", "x")).spectral.isotropic_power(fmax=0.5)
    sel = iso.where((iso.freq_r > 0.05) & (iso.freq_r < 0.4), drop=True)
    slope = np.polyfit(np.log(sel.freq_r), np.log(sel), 1)[0]
    assert -3.4 < slope < -2.6
    assert float(iso.freq_r.max()) <= 0.5


# ----------------------------------------------------------------------------- xrft

xrft = None
try:
    import xrft  # noqa: F811
except Exception as e:  # pragma: no cover - xrft absent or broken on this xarray
    _XRFT_IMPORT_ERROR = f"xrft failed to import: {type(e).__name__}: {e}"
else:
    _XRFT_IMPORT_ERROR = None


def _raised_inside(exc: BaseException, packages) -> bool:
    """Whether the innermost frame of ``exc``'s traceback is in one of ``packages``."""
    import os

    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return False
    path = os.path.realpath(tb.tb_frame.f_code.co_filename)
    return any(path.startswith(os.path.realpath(os.path.dirname(p.__file__)) + os.sep) for p in packages)


def call_xrft(fn, *args, **kwargs):
    """Call xrft; skip only when xrft itself fails on this environment.

    xrft 1.0.1 predates today's xarray. An exception raised inside xrft's or xarray's
    code during the xrft call is reported as a skip with its message (and a missing
    optional dependency of xrft, such as numpy_groupies for the isotropic spectra, as
    such). Anything else (a wrong call from this file, a disagreement in the comparisons
    after the call) fails the test.
    """
    if _XRFT_IMPORT_ERROR:
        pytest.skip(_XRFT_IMPORT_ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # xrft's own deprecations
        try:
            return fn(*args, **kwargs)
        except ImportError as e:
            if _raised_inside(e, [xrft]):
                pytest.skip(f"xrft {xrft.__version__}.{fn.__name__} needs a package that is not installed: {e}")
            raise
        except Exception as e:
            if _raised_inside(e, [xrft, xr]):
                pytest.skip(f"xrft {xrft.__version__} fails on xarray {xr.__version__}: {type(e).__name__}: {e}")
            raise


@pytest.mark.parametrize("n", [40, 41])
def test_fft_equals_xrft(n):
    da = series(n).drop_vars("label")
    for flags in ({"true_phase": True, "true_amplitude": True}, {"true_phase": False, "true_amplitude": False}):
        ref = call_xrft(xrft.fft, da, dim="time", **flags)
        F = da.spectral.fft("time", **flags)
        close(F.values, ref.transpose(*F.dims).values, 1e-9)
        np.testing.assert_allclose(F.freq_time.values, ref.freq_time.values, rtol=1e-12)
        assert np.isclose(F.freq_time.attrs["spacing"], ref.freq_time.attrs["spacing"])
    img = image()
    ref = call_xrft(xrft.fft, img, dim=["y", "x"], real_dim="x", true_phase=True, true_amplitude=True)
    # xrft leaves the full axes of a real-dim transform unshifted (numpy's order) even with
    # shift=True; spectrakit shifts them unless shift=False
    R = img.spectral.rfft(["y", "x"], true_phase=True, true_amplitude=True, shift=False)
    close(R.values, ref.transpose(*R.dims).values, 1e-9)
    np.testing.assert_allclose(R.freq_y.values, ref.freq_y.values)


@pytest.mark.parametrize("scaling", ["density", "spectrum"])
def test_power_equals_xrft(scaling):
    da = series(64).drop_vars("label")
    ref = call_xrft(xrft.power_spectrum, da, dim="time", scaling=scaling)
    P = da.spectral.power("time", detrend=False, onesided=False, scaling=scaling)
    close(P.values, ref.transpose(*P.dims).values, 1e-9)
    ref = call_xrft(xrft.power_spectrum, da, dim="time", real_dim="time", scaling=scaling)
    P = da.spectral.power("time", detrend=False, scaling=scaling)
    close(P.values, ref.transpose(*P.dims).values, 1e-9)
    # a window: xrft's window_correction=True is scipy's (and spectrakit's) scaling
    ref = call_xrft(xrft.power_spectrum, da, dim="time", window="hann", window_correction=True, detrend="linear",
                    scaling=scaling)
    P = da.spectral.power("time", window="hann", detrend="linear", onesided=False, scaling=scaling)
    close(P.values, ref.transpose(*P.dims).values, 1e-9)
    img = image()
    for detrend in ("constant", "linear"):
        ref = call_xrft(xrft.power_spectrum, img, dim=["y", "x"], detrend=detrend, scaling=scaling)
        P = img.spectral.power(["y", "x"], detrend=detrend, onesided=False, scaling=scaling)
        close(P.values, ref.transpose(*P.dims).values, 1e-9)


def test_cross_spectrum_is_the_conjugate_of_xrfts():
    x, y = series(64).drop_vars("label"), series(64, seed=3).drop_vars("label")
    ref = call_xrft(xrft.cross_spectrum, x, y, dim="time", true_phase=False)
    P = x.spectral.cross_spectrum(y, "time", detrend=False, onesided=False)
    close(P.values, np.conj(ref.transpose(*P.dims).values), 1e-9)


def test_isotropic_equals_xrft():
    img = image(ny=32, nx=28)
    ref = call_xrft(xrft.isotropic_power_spectrum, img, dim=["y", "x"], nfactor=4, truncate=False)
    iso = img.spectral.isotropic_power(("y", "x"), nbins=7, detrend=False)
    close((iso * iso.freq_r).values, ref.transpose(*iso.dims).values, 1e-9)


# ----------------------------------------------------------------------------- errors


def test_uneven_coordinate_is_an_error():
    da = series(50)
    t = da.time.values.copy()
    t[10] += 0.01
    bad = da.assign_coords(time=t)
    with pytest.raises(ValueError, match=r"'time' is not evenly spaced.*spacing_tol=0.001.*[Ii]nterpolate"):
        bad.spectral.power("time")
    with pytest.raises(ValueError, match="'time' is not evenly spaced"):
        bad.spectral.fft("time")
    bad.spectral.power("time", spacing_tol=0.1)  # a looser tolerance accepts it


def test_non_finite_is_an_error():
    da = series(50)
    for value in (np.nan, np.inf):
        bad = da.copy()
        bad[1, 3] = value
        for call in (lambda: bad.spectral.power("time"), lambda: bad.spectral.fft("time"),
                     lambda: bad.spectral.spectrogram("time", nperseg=16)):
            with pytest.raises(ValueError, match=r"obj \('signal'\) has 1 non-finite value"):
                call()
        with pytest.raises(ValueError, match=r"other \('signal'\) has 1 non-finite"):
            da.spectral.coherence(bad, "time", nperseg=16)


def test_missing_dim_is_an_error():
    da = series(50)
    with pytest.raises(ValueError, match=r"dim='depth' is not a dimension of obj \('signal'\); its dims are \('station', 'time'\)"):
        da.spectral.power("depth")
    with pytest.raises(ValueError, match="dim='depth' is not a dimension"):
        da.spectral.fft(["time", "depth"])
    with pytest.raises(ValueError, match="dim='freq_time' is not a dimension"):
        da.spectral.ifft("freq_time")
    with pytest.raises(ValueError, match="not a dimension of other"):
        da.spectral.coherence(da.rename(time="t"), "time")


@pytest.mark.parametrize("option", [{"nperseg": 32}, {"noverlap": 8}, {"average": "median"}])
def test_option_that_does_not_apply_is_an_error(option):
    da = series(64)
    (name,) = option
    with pytest.raises(ValueError, match=rf"{name}=.* does not apply to method='periodogram'"):
        da.spectral.power("time", **option)
    with pytest.raises(ValueError, match=rf"{name}=.* does not apply to method='periodogram'"):
        da.spectral.cross_spectrum(da, "time", **option)


def test_other_bad_options():
    da, img = series(64), image()
    with pytest.raises(ValueError, match="nfft=.* does not apply"):
        img.spectral.power(["y", "x"], nfft=64)
    with pytest.raises(ValueError, match="method='welch' works along one dim"):
        img.spectral.power(["y", "x"], method="welch")
    with pytest.raises(ValueError, match="method='fourier' is not supported"):
        da.spectral.power("time", method="fourier")
    with pytest.raises(ValueError, match="scaling='psd' is not supported"):
        da.spectral.power("time", scaling="psd")
    with pytest.raises(ValueError, match="detrend='quadratic' is not supported"):
        da.spectral.power("time", detrend="quadratic")
    with pytest.raises(ValueError, match="noverlap=32 must be"):
        da.spectral.power("time", method="welch", nperseg=32, noverlap=32)
    with pytest.raises(ValueError, match="window='nope'"):
        da.spectral.power("time", method="welch", window="nope")
    with pytest.raises(TypeError, match="complex numbers"):
        (da + 1j).spectral.power("time")
    with pytest.raises(ValueError, match="same length and coordinate"):
        da.spectral.coherence(da.isel(time=slice(1, None)), "time")
    with pytest.raises(ValueError, match="exactly two dims"):
        img.spectral.isotropic_power(("band", "y", "x"))
    with pytest.raises(ValueError, match="an inverse transform needs the whole spectrum"):
        da.spectral.fft("time").isel(freq_time=slice(0, 10)).spectral.ifft("time")
    with pytest.warns(UserWarning, match="nperseg=100 is greater than the 64 samples"):
        P = da.spectral.power("time", method="welch", nperseg=100)
    assert P.attrs["nperseg"] == 64


def test_chunked_core_dim_is_an_error():
    pytest.importorskip("dask.array")
    da = series(64).chunk({"time": 16})
    with pytest.raises(ValueError, match=r"split into 4 chunks along 'time'.*\.chunk\(\{'time': -1\}\)"):
        da.spectral.power("time")
    with pytest.raises(ValueError, match=r"\.chunk\(\{'time': -1\}\)"):
        da.spectral.fft("time")


# ----------------------------------------------------------------------------- dtypes, inputs


def test_float32_follows():
    da = series(64)
    assert da.spectral.fft("time", dtype=torch.float32).dtype == np.complex64
    assert da.spectral.rfft("time", dtype="float32").spectral.irfft("time", dtype="float32").dtype == np.float32
    assert da.spectral.power("time", dtype=torch.float32).dtype == np.float32
    assert da.spectral.spectrogram("time", nperseg=16, mode="complex", dtype=torch.float32).dtype == np.complex64
    assert da.spectral.cross_spectrum(da, "time", dtype=torch.float32).dtype == np.complex64
    assert da.astype(np.float32).spectral.power("time").dtype == np.float64  # DESIGN: float64 by default
    t = torch.randn(3, 64)
    assert cf.fftn(t, -1).dtype == torch.complex64 and cf.welch(t, nperseg=16)[1].dtype == torch.float32
    assert cf.fftn(t.double(), -1).dtype == torch.complex128
    P = xf.power(t, "dim_1")  # a torch tensor computes in its dtype
    assert P.dtype == np.float32 and P.dims == ("dim_0", "freq_dim_1")


def test_numpy_input_and_dataset():
    x = np.random.default_rng(0).standard_normal((2, 50))
    P = xf.power(x, "dim_1")
    close(P.values, ss.periodogram(x)[1], 1e-10)
    ds = xr.Dataset({
        "a": series(64)[0].drop_vars(["station", "label"]),
        "b": series(64, seed=1)[1].drop_vars(["station", "label"]),
        "const": ("station", np.arange(3.0)),
    })
    out = ds.spectral.power("time")
    assert out["a"].dims == ("freq_time",) and out["const"].dims == ("station",)
    xr.testing.assert_allclose(out["a"], ds["a"].spectral.power("time"))
    back = ds.spectral.fft("time").spectral.ifft("time")
    xr.testing.assert_allclose(back["b"].real, ds["b"])


def test_wavenumbers_squared_on_the_fft_grid():
    img = image()
    F = img.spectral.fft(["y", "x"])
    k2 = xf.wavenumbers_squared(img, ["y", "x"])
    assert k2.dims == ("freq_y", "freq_x")
    xr.testing.assert_identical(k2.freq_x, F.freq_x)
    expected = (2 * np.pi) ** 2 * (F.freq_y**2 + F.freq_x**2)
    np.testing.assert_allclose(k2.values, expected.transpose("freq_y", "freq_x").values, rtol=1e-12)
    R = img.spectral.rfft(["y", "x"])
    k2r = img.spectral.wavenumbers_squared(["y", "x"], real=True, angular=False)
    np.testing.assert_allclose(k2r.values, (R.freq_y**2 + R.freq_x**2).transpose("freq_y", "freq_x").values)
    assert k2r.attrs["units"] == "m^-2"
    # the core tensor grid (unshifted) is the same numbers in numpy's order
    core = cf.wavenumbers_squared((24, 20), (0.5, 0.25)).numpy()
    np.testing.assert_allclose(np.fft.fftshift(core), k2.values)


# ----------------------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_equals_cpu():
    da, img = series(512), image()
    for fn in (
        lambda **d: da.spectral.fft("time", true_phase=True, **d),
        lambda **d: da.spectral.power("time", **d),
        lambda **d: da.spectral.power("time", method="welch", nperseg=64, average="median", **d),
        lambda **d: da.spectral.spectrogram("time", nperseg=64, **d),
        lambda **d: da.spectral.coherence(da.roll(time=3), "time", nperseg=64, **d),
        lambda **d: img.spectral.isotropic_power(**d),
    ):
        for dtype, rtol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
            gpu, cpu = fn(device="cuda", dtype=dtype), fn(device="cpu", dtype=dtype)
            assert gpu.attrs["device"].startswith("cuda")
            close(gpu.values, cpu.values, rtol)
    t = torch.randn(4, 1000, device="cuda")
    f, P = cf.welch(t, nperseg=128)
    assert P.device.type == "cuda" and P.dtype == torch.float32
    close(P.cpu().numpy(), ss.welch(t.cpu().numpy(), nperseg=128)[1], 1e-4)


def test_cpu_row_blocks_give_scipys_numbers():
    # enough rows that the CPU path computes in several blocks of a few MiB
    import scipy.signal

    from spectrakit.core import fourier as cf

    rng = np.random.default_rng(11)
    x = rng.standard_normal((70, 20000))
    rows = cf._BLOCK_BYTES // (20000 * 8)
    assert 70 > rows  # several blocks
    f, P = cf.periodogram(torch.as_tensor(x), fs=2.0)
    np.testing.assert_allclose(P.numpy(), scipy.signal.periodogram(x, fs=2.0)[1], rtol=1e-10, atol=1e-14)
    f, P = cf.welch(torch.as_tensor(x), fs=2.0, nperseg=512)
    np.testing.assert_allclose(P.numpy(), scipy.signal.welch(x, fs=2.0, nperseg=512)[1], rtol=1e-10, atol=1e-14)
    y = rng.standard_normal((70, 20000))
    f, C = cf.csd(torch.as_tensor(x), torch.as_tensor(y), fs=2.0, nperseg=512)
    np.testing.assert_allclose(C.numpy(), scipy.signal.csd(x, y, fs=2.0, nperseg=512)[1], rtol=1e-9, atol=1e-14)
