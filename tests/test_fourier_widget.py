"""SpectrumSession and SpectrumExplorer in plain Python (no browser).

The session is checked against independent references (numpy.fft formulas and the
foundation's ``spectrakit.regularize`` on explicit circulant matrices) and against the
public ``spectrakit.smooth`` / ``deconvolve`` / ``lowpass``; the explorer is driven from
Python: set controls, read the figures. Without a running asyncio loop a coalesced change
waits for ``flush()``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.linalg
import scipy.signal
import torch
import xarray as xr

pytest.importorskip("ipywidgets")
pytest.importorskip("plotly")
pytest.importorskip("anywidget")

import spectrakit  # noqa: E402
from spectrakit.core import fourier as cfour  # noqa: E402
from spectrakit.testing import stacked_lstsq_solution  # noqa: E402
from spectrakit.tuning import SpectrumSession  # noqa: E402
from spectrakit.widgets import SpectrumExplorer  # noqa: E402
from spectrakit.widgets.fourier import decode_array  # noqa: E402

N = 64
DX = 0.1


def signal(n=N, seed=0, noise=0.2):
    t = np.arange(n) * DX
    clean = np.sin(2 * np.pi * t / (n * DX)) + 0.5 * (np.abs(t - 2.0) < 0.6)
    noisy = clean + noise * np.random.default_rng(seed).standard_normal(n)
    da = xr.DataArray(noisy, dims="time", coords={"time": t}, name="level")
    return da, xr.DataArray(clean, dims="time", coords={"time": t})


def gaussian_psf(n, dx, width, dim):
    coord = (np.arange(n) - n // 2) * dx
    k = np.exp(-0.5 * (coord / width) ** 2)
    return xr.DataArray(k / k.sum(), dims=dim, coords={dim: coord})


def blurred_image(n=32, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n]
    clean = ((np.abs(yy - n / 2) < n / 4) & (np.abs(xx - n / 3) < n / 5)).astype(float) + 0.3 * np.sin(xx / 3.0)
    c = np.arange(n) - n // 2
    psf = np.exp(-(c[:, None] ** 2 + c[None, :] ** 2) / (2 * 1.2**2))
    psf /= psf.sum()
    A = np.fft.fft2(np.fft.ifftshift(psf))
    b = np.fft.ifft2(A * np.fft.fft2(clean)).real + noise * rng.standard_normal((n, n))
    coords = {"y": np.arange(n, dtype=float), "x": np.arange(n, dtype=float)}
    da = xr.DataArray(b, dims=("y", "x"), coords=coords)
    kernel = xr.DataArray(psf, dims=("y", "x"), coords={"y": c.astype(float), "x": c.astype(float)})
    return da, kernel, xr.DataArray(clean, dims=("y", "x"), coords=coords), A


def k2_1d(n=N, dx=DX):
    return (2 * np.pi * np.fft.fftfreq(n, d=dx)) ** 2


def y(explorer, figure, trace):
    return decode_array(explorer.trace(figure, trace).y)


# --------------------------------------------------------------------------- session


def test_session_update_matches_fft_formulas():
    da, clean = signal()
    F = np.fft.fft(da.values)
    for p in (1.0, 2.5, -0.5):
        s = SpectrumSession(da, "time", sobolev=p, x_true=clean, device="cpu")
        out = s.update(reg=0.05)
        ref = np.fft.ifft(F / (1 + 0.05 * (1 + k2_1d()) ** p)).real
        np.testing.assert_allclose(out["estimate"].values, ref, rtol=1e-10, atol=1e-12)
        assert out["estimate"].dims == ("time",) and out.attrs["sobolev"] == p and out.attrs["reg"] == 0.05
        assert out.attrs["solution"] == "estimate" and out.attrs["penalty"] == f"sobolev H^{p:g}"
        np.testing.assert_array_equal(out["time"].values, da["time"].values)
        assert float(out["error_norm"]) == pytest.approx(np.linalg.norm(ref - clean.values), rel=1e-10)
        assert float(out["residual_norm"]) == pytest.approx(np.linalg.norm(ref - da.values), rel=1e-10)
        # the filter response over fftshifted frequencies, with sigma = sqrt(s) on them
        freq = np.fft.fftshift(np.fft.fftfreq(N, DX))
        np.testing.assert_allclose(out["freq_time"].values, freq)
        s_ref = 1 / (1 + (2 * np.pi * freq) ** 2) ** p
        np.testing.assert_allclose(out["s"].values, s_ref, rtol=1e-12)
        np.testing.assert_allclose(out["sigma"].values, np.sqrt(s_ref), rtol=1e-12)
        np.testing.assert_allclose(out["filter_factors"].values, s_ref / (s_ref + 0.05), rtol=1e-12)
    # low-pass kinds
    for kind, h in (("gaussian", np.exp(-0.01 * k2_1d())), ("butterworth", 1 / (1 + (0.01 * k2_1d()) ** 3))):
        opts = {"order": 3} if kind == "butterworth" else {}
        out = SpectrumSession(da, "time", mode="lowpass", kind=kind, device="cpu", **opts).update(reg=0.01)
        np.testing.assert_allclose(out["estimate"].values, np.fft.ifft(h * F).real, rtol=1e-10, atol=1e-12)


def test_session_2d_and_batch_dims():
    rng = np.random.default_rng(0)
    img = xr.DataArray(
        rng.standard_normal((2, 16, 13)), dims=("band", "y", "x"),
        coords={"band": ["r", "g"], "y": np.arange(16) * 0.5, "x": np.arange(13) * 2.0},
    )
    s = SpectrumSession(img, ["y", "x"], sobolev=1.5, device="cpu")
    out = s.update(reg=0.1)
    assert out["estimate"].dims == ("band", "y", "x") and out["gcv"].dims == ("band",)
    np.testing.assert_array_equal(out["x"].values, img["x"].values)  # the coordinate, kept
    assert list(out["band"].values) == ["r", "g"]
    ky = 2 * np.pi * np.fft.fftfreq(16, d=0.5)
    kx = 2 * np.pi * np.fft.fftfreq(13, d=2.0)
    w = (1 + ky[:, None] ** 2 + kx[None, :] ** 2) ** 1.5
    for i in range(2):
        ref = np.fft.ifft2(np.fft.fft2(img.values[i]) / (1 + 0.1 * w)).real
        np.testing.assert_allclose(out["estimate"].values[i], ref, rtol=1e-10, atol=1e-12)
    assert s.path["gcv"].dims == ("reg", "band")
    assert set(s.choices()) >= {"gcv", "loo", "lcurve"}


def test_session_path_equals_foundation_on_circulant_matrices():
    """Smoothing = general-form Tikhonov with the Sobolev L; deconvolution = Tikhonov on the
    circulant blur: the FFT path equals spectrakit.regularize's SVD / GSVD path."""
    da, clean = signal(48, noise=1e-2)
    n = 48
    reg = np.logspace(-6, 1, 8)
    k = 2 * np.pi * np.fft.fftfreq(n, d=DX)
    F = np.fft.fft(np.eye(n), norm="ortho")
    for p in (1.0, -0.5):
        L = (F.conj().T @ np.diag((1 + k**2) ** (p / 2)) @ F).real
        s = SpectrumSession(da, "time", sobolev=p, x_true=clean, reg_grid=reg, device="cpu")
        ref = spectrakit.regularize(np.eye(n), da.values, reg=reg, L=L, x_true=clean.values, device="cpu")
        for name in ("residual_norm", "solution_norm", "gcv", "loo", "error_norm", "curvature"):
            np.testing.assert_allclose(s.path[name].values, ref[name].values, rtol=1e-6, err_msg=name)
        for i in (1, 5):
            out = s.update(reg=reg[i])
            np.testing.assert_allclose(out["estimate"].values, stacked_lstsq_solution(np.eye(n), da.values, reg[i], L),
                                       rtol=1e-8, atol=1e-10)
            assert float(out["gcv"]) == pytest.approx(ref["gcv"].values[i], rel=1e-7)
    psf = gaussian_psf(n, DX, 0.2, "time")
    C = scipy.linalg.circulant(np.roll(psf.values, -(n // 2)))
    b = C @ clean.values + 1e-3 * np.random.default_rng(1).standard_normal(n)
    db = da.copy(data=b)
    reg = np.logspace(-8, 0, 9)
    noise = 1e-3 * np.sqrt(n)
    s = SpectrumSession(db, "time", mode="deconvolve", kernel=psf, x_true=clean, noise_norm=noise,
                        reg_grid=reg, device="cpu")
    ref = spectrakit.regularize(C, b, reg=reg, x_true=clean.values, noise_norm=noise, device="cpu")
    for name in ("residual_norm", "solution_norm", "gcv", "loo", "error_norm", "discrepancy", "curvature"):
        np.testing.assert_allclose(s.path[name].values, ref[name].values, rtol=1e-6, err_msg=name)
    assert s.choices()["gcv"] == spectrakit.choose(ref, "gcv")
    np.testing.assert_allclose(s.update(reg=1e-4)["estimate"].values, ref["x"].values[4], rtol=1e-7,
                               atol=1e-9 * np.abs(ref["x"].values).max())


def _public(name):
    fn = getattr(spectrakit, name, None)
    if fn is None:
        pytest.skip(f"spectrakit.{name} is not there yet")
    return fn


@pytest.mark.parametrize("mode", ["smooth", "deconvolve", "lowpass"])
def test_session_update_equals_public_function(mode):
    da, kernel, clean, _ = blurred_image(24)
    kw = dict(x_true=clean, device="cpu")
    if mode == "smooth":
        fn, args, skw, fkw = _public("smooth"), (da, ["y", "x"]), dict(sobolev=1.5), dict(sobolev=1.5)
    elif mode == "deconvolve":
        fn, args = _public("deconvolve"), (da, kernel, ["y", "x"])
        skw, fkw = dict(kernel=kernel, sobolev=0.5), dict(sobolev=0.5)
    else:
        fn, args, skw, fkw = (_public("lowpass"), (da, ["y", "x"]), dict(kind="butterworth", order=3),
                              dict(kind="butterworth", order=3))
    s = SpectrumSession(da, ["y", "x"], mode=mode, **skw, **kw)
    for reg in (1e-3, 0.3):
        out = s.update(reg=reg)
        ref = fn(*args, reg=reg, **fkw, **kw)
        np.testing.assert_allclose(out["estimate"].values, ref["estimate"].values, rtol=1e-9, atol=1e-12)
        for name in ("residual_norm", "solution_norm", "gcv", "error_norm"):
            np.testing.assert_allclose(float(out[name]), float(ref[name]), rtol=1e-8, err_msg=name)
        ff = ref["filter_factors"].transpose(*out["filter_factors"].dims)
        np.testing.assert_allclose(out["filter_factors"].values, ff.values, rtol=1e-10, atol=1e-14)
        for coord in ("s", "sigma"):
            np.testing.assert_allclose(out[coord].values, ref[coord].transpose(*out[coord].dims).values, rtol=1e-10)
    grid = s.reg_grid[::20]
    ref = fn(*args, reg=grid, **fkw, **kw)
    for name in ("residual_norm", "solution_norm", "gcv", "loo", "error_norm"):
        # GCV's denominator N - trace(H) cancels at the grid's small end (the smoother
        # nearly interpolates): the two summation orders agree to 1e-5 there
        rtol = 1e-4 if name in ("gcv", "loo") else 1e-6
        np.testing.assert_allclose(s.path[name].values[::20], ref[name].values, rtol=rtol, err_msg=name)
    np.testing.assert_allclose(s.path["gcv"].values[40::20], ref["gcv"].values[2:], rtol=1e-8)


def test_no_forward_fft_after_construction(monkeypatch):
    da, kernel, clean, _ = blurred_image(24)
    s = SpectrumSession(da, mode="deconvolve", kernel=kernel, x_true=clean, device="cpu")
    ex = SpectrumExplorer(da, mode="deconvolve", kernel=kernel, x_true=clean, device="cpu", throttle_s=60.0)

    def forbidden(*a, **k):
        raise AssertionError("the data's FFT is cached: no forward transform after construction")

    for name in ("fft", "fftn", "fft2", "rfft", "rfftn", "rfft2"):
        monkeypatch.setattr(torch.fft, name, forbidden)
    for reg in (1e-4, 1e-2):
        out = s.update(reg=reg)
        assert np.isfinite(out["estimate"].values).all()
    s.update(reg=1e-3, sobolev=2.0)  # a new order: a new penalty and path, same cached spectra
    assert "gcv" in s.path and s.sobolev == 2.0
    ex.set(reg=1e-3)
    ex.flush()
    ex.set(sobolev=1.25)
    ex.flush()
    assert ex.error is None, ex.error
    assert ex.reg == 1e-3 and ex.sobolev == 1.25


def test_session_bad_input():
    da, _ = signal()
    with pytest.raises(ValueError, match="mode"):
        SpectrumSession(da, mode="wiener")
    with pytest.raises(ValueError, match="kernel"):
        SpectrumSession(da, mode="deconvolve")
    with pytest.raises(ValueError, match="sobolev"):
        SpectrumSession(da, mode="lowpass", sobolev=1.0)
    with pytest.raises(ValueError, match="kind"):
        SpectrumSession(da, mode="lowpass", kind="box")
    with pytest.raises(ValueError, match="space"):
        SpectrumSession(da, "space")
    with pytest.raises(ValueError, match="time"):
        SpectrumSession(da.assign_coords(time=da["time"].values ** 1.5), "time")
    bad = da.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        SpectrumSession(bad)
    with pytest.raises(ValueError, match="kernel"):
        SpectrumSession(da, mode="deconvolve", kernel=da.isel(time=slice(0, 10)))
    s = SpectrumSession(da, device="cpu")
    with pytest.raises(ValueError, match="reg"):
        s.update(reg=-1.0)
    with pytest.raises(ValueError, match="scalar"):
        s.update(reg=[1.0, 2.0])
    before = da.copy(deep=True)
    s.update(reg=1.0, sobolev=2.0)
    xr.testing.assert_identical(da, before)


# --------------------------------------------------------------------------- explorer: 1-D


@pytest.fixture
def explorer1d():
    da, clean = signal()
    # a long throttle: every change after the first draw stays pending until flush()
    return SpectrumExplorer(da, dim="time", x_true=clean, noise_norm=0.2 * math.sqrt(N), device="cpu", throttle_s=60.0)


def test_builds_from_dataarray_and_from_session():
    da, clean = signal()
    s = SpectrumSession(da, "time", x_true=clean, reg=1e-2, device="cpu")
    a = SpectrumExplorer(s)
    assert a.session is s and a.reg == 1e-2 and a.sobolev == 1.0 and a.n_updates == 1
    b = SpectrumExplorer(da, dims="time", x_true=clean, reg=1e-2, device="cpu")
    np.testing.assert_allclose(y(a, "signal", "x"), y(b, "signal", "x"), rtol=1e-12)
    assert set(a.figures) == {"signal", "spectrum", "criteria"}
    assert {"reg", "reg_readout", "sobolev"} <= set(a.controls)
    assert "application/vnd.jupyter.widget-view+json" in a._repr_mimebundle_()
    with pytest.raises(TypeError, match="device"):
        SpectrumExplorer(s, device="cpu")
    with pytest.raises(TypeError, match="mode"):
        SpectrumExplorer(s, mode="lowpass")
    with pytest.raises(TypeError, match="da_or_session"):
        SpectrumExplorer(np.zeros(8))
    with pytest.raises(TypeError, match="dim"):
        SpectrumExplorer(da, dim="time", dims="time")
    cube = xr.DataArray(np.random.default_rng(0).standard_normal((4, 4, 4)), dims=("a", "b", "c"))
    with pytest.raises(ValueError, match="two dims"):
        SpectrumExplorer(cube, device="cpu")


def test_css_classes(explorer1d):
    for name in ("signal", "spectrum", "criteria"):
        assert f"sk-fig-{name}" in explorer1d.figures[name]._dom_classes
    assert "sk-reg-slider" in explorer1d.controls["reg"]._dom_classes
    assert "sk-sobolev-slider" in explorer1d.controls["sobolev"]._dom_classes
    assert "sk-status" in explorer1d.status._dom_classes
    assert "sk-spectrum-explorer" in explorer1d.widget._dom_classes


def test_reg_move_updates_figures_in_place(explorer1d):
    ex = explorer1d
    figs = dict(ex.figures)
    traces = {name: list(fig.data) for name, fig in figs.items()}
    before_x, before_h = y(ex, "signal", "x"), y(ex, "spectrum", "h")
    gcv_before = y(ex, "criteria", "gcv")
    ex.set(reg=0.3)
    ex.flush()
    assert ex.reg == 0.3
    out = ex.session.update(reg=0.3)
    np.testing.assert_allclose(y(ex, "signal", "x"), out["estimate"].values, rtol=1e-12)
    assert not np.allclose(y(ex, "signal", "x"), before_x)
    # the filter over the positive frequencies
    freq = np.fft.rfftfreq(N, DX)[1:]
    np.testing.assert_allclose(decode_array(ex.trace("spectrum", "h").x), freq)
    s_ref = 1 / (1 + (2 * np.pi * freq) ** 2)
    np.testing.assert_allclose(y(ex, "spectrum", "h"), s_ref / (s_ref + 0.3), rtol=1e-12)
    assert not np.allclose(y(ex, "spectrum", "h"), before_h)
    # the data's one-sided periodogram (scipy's density), and the result's power |h X|^2
    _, P = scipy.signal.periodogram(ex.session._b[0].numpy(), fs=1 / DX, detrend=False)
    np.testing.assert_allclose(y(ex, "spectrum", "data"), P[1:], rtol=1e-10)
    _, Px = scipy.signal.periodogram(out["estimate"].values, fs=1 / DX, detrend=False)
    np.testing.assert_allclose(y(ex, "spectrum", "x"), Px[1:], rtol=1e-8)
    np.testing.assert_allclose(decode_array(ex.trace("criteria", "current").x), [0.3, 0.3])
    # a reg move leaves the path alone; figures and traces are the same objects
    np.testing.assert_array_equal(y(ex, "criteria", "gcv"), gcv_before)
    for name, fig in ex.figures.items():
        assert fig is figs[name] and len(fig.data) == len(traces[name])
        assert all(a is b for a, b in zip(fig.data, traces[name]))
    assert "reg = 3.00e-01" in ex.status.value and "sobolev = 1" in ex.status.value
    assert ex.controls["reg_readout"].value == "reg = 3.00e-01"


def test_sobolev_change_recomputes_path_once(explorer1d):
    ex = explorer1d
    calls = []
    real = ex.session._compute_path

    def counting(target):
        calls.append(target["sobolev"])
        return real(target)

    ex.session._compute_path = counting
    gcv1 = y(ex, "criteria", "gcv")
    reg = ex.reg
    ex.set(sobolev=2.5)
    ex.flush()
    assert ex.sobolev == 2.5 and ex.session.sobolev == 2.5 and ex.reg == reg and calls == [2.5]
    path = ex.session.path_for(2.5)
    gcv = path["gcv"].values
    np.testing.assert_allclose(y(ex, "criteria", "gcv"), gcv / gcv.min(), rtol=1e-12)
    assert not np.allclose(y(ex, "criteria", "gcv"), gcv1)
    assert ex.choices["gcv"] == ex.session.choices(2.5)["gcv"]
    assert ex.choices["gcv"] in decode_array(ex.trace("criteria", "choices").x)
    # the result follows the new penalty
    ref = np.fft.ifft(np.fft.fft(ex.session._b[0].numpy()) / (1 + reg * (1 + k2_1d()) ** 2.5)).real
    np.testing.assert_allclose(y(ex, "signal", "x"), ref, rtol=1e-9, atol=1e-12)
    # back to 1: cached, not recomputed
    ex.set(sobolev=1.0)
    ex.flush()
    ex.set(sobolev=2.5)
    ex.flush()
    assert calls == [2.5]
    np.testing.assert_allclose(y(ex, "criteria", "gcv"), gcv / gcv.min(), rtol=1e-12)
    with pytest.raises(ValueError, match="sobolev"):
        ex.set(sobolev=9.0)


def test_fast_drag_coalesces_and_last_value_wins(explorer1d):
    ex = explorer1d
    slider = ex.controls["reg"]
    start = ex.n_updates
    calls = []
    real = ex.session.apply

    def counting(*a, **kw):
        calls.append(a[0] if a else kw.get("reg"))
        return real(*a, **kw)

    ex.session.apply = counting
    values = np.linspace(slider.min + 10, slider.max - 10, 50).round().astype(int)
    for v in values:
        slider.value = int(v)
    assert ex.n_updates - start <= 3 and len(calls) <= 3
    ex.flush()
    last = ex.sliders["reg"].value_at(int(values[-1]))
    assert ex.reg == last and calls[-1] == last
    np.testing.assert_allclose(y(ex, "signal", "x"), ex.session.solve(last).x[0].numpy(), rtol=1e-12)
    assert ex.pending == {}
    n = ex.n_updates
    ex.flush()
    assert ex.n_updates == n


def test_leading_edge_applies_at_once_when_idle():
    da, _ = signal()
    ex = SpectrumExplorer(da, device="cpu", throttle_s=0.0)
    ex.controls["reg"].value = ex.sliders["reg"].position(0.1)
    assert ex.reg == pytest.approx(0.1, rel=0.07) and ex.pending == {} and ex.n_updates == 2
    ex.controls["sobolev"].value = ex.sliders["sobolev"].position(2.0)
    assert ex.sobolev == 2.0 and ex.n_updates == 3


def test_error_shows_in_status_and_widget_keeps_working(explorer1d, monkeypatch):
    ex = explorer1d
    good = y(ex, "signal", "x")
    reg0 = ex.reg

    def broken(*a, **kw):
        raise RuntimeError("device fell over")

    monkeypatch.setattr(ex.session, "_solve", broken)
    ex.set(reg=0.5)
    ex.flush()
    assert "RuntimeError" in ex.status.value and "device fell over" in ex.status.value
    assert "#c62828" in ex.status.value
    assert ex.error == "RuntimeError: device fell over" and ex.reg == reg0
    np.testing.assert_array_equal(y(ex, "signal", "x"), good)
    monkeypatch.undo()
    ex.set(reg=0.5)
    ex.flush()
    assert ex.reg == 0.5 and ex.error is None and "RuntimeError" not in ex.status.value


def test_invalid_set_arguments_raise(explorer1d):
    with pytest.raises(ValueError, match="outside the slider"):
        explorer1d.set(reg=1e12)
    with pytest.raises(ValueError, match="reg"):
        explorer1d.set(reg=-1.0)


def test_sobolev_off_the_grid_survives_the_page():
    da, _ = signal()
    ex = SpectrumExplorer(da, sobolev=1.1, device="cpu", throttle_s=60.0)
    sob = ex.controls["sobolev"]
    assert ex.sliders["sobolev"].value_at(sob.value) == 1.0  # shown at the nearest position
    assert ex.controls["sobolev_readout"].value == "p = 1.10"
    n = ex.n_updates
    sob.set_state({"value": sob.value})  # the page's message at the position shown
    ex.flush()
    assert ex.sobolev == 1.1 and ex.n_updates == n
    sob.set_state({"value": sob.value + 1})  # a user's move: one position
    ex.flush()
    assert ex.sobolev == 1.25 and ex.n_updates == n + 1


def test_lowpass_has_no_sobolev_control():
    da, _ = signal()
    ex = SpectrumExplorer(da, mode="lowpass", kind="butterworth", device="cpu", throttle_s=60.0)
    assert "sobolev" not in ex.controls and ex.sobolev is None
    with pytest.raises(ValueError, match="lowpass"):
        ex.set(sobolev=1.0)
    ex.set(reg=1e-2)
    ex.flush()
    freq = np.fft.rfftfreq(N, DX)[1:]
    np.testing.assert_allclose(y(ex, "spectrum", "h"), 1 / (1 + (1e-2 * (2 * np.pi * freq) ** 2) ** 2), rtol=1e-10)
    assert "butterworth" in ex.status.value


# --------------------------------------------------------------------------- explorer: 2-D


def test_2d_deconvolution_explorer():
    da, kernel, clean, A = blurred_image(32)
    ex = SpectrumExplorer(da, mode="deconvolve", kernel=kernel, x_true=clean, sobolev=0.0, device="cpu",
                          throttle_s=60.0)
    assert [type(t).__name__ for t in ex.figures["signal"].data] == ["Heatmap", "Heatmap", "Heatmap"]
    np.testing.assert_allclose(decode_array(ex.trace("signal", "data").z), da.values, rtol=1e-6, atol=1e-6)
    ex.set(reg=1e-3)
    ex.flush()
    z = decode_array(ex.trace("signal", "x").z)
    ref = np.fft.ifft2(np.conj(A) * np.fft.fft2(da.values) / (np.abs(A) ** 2 + 1e-3)).real
    np.testing.assert_allclose(z, ref, rtol=1e-5, atol=1e-5)  # float32 on the page
    # the isotropic view of the data is core.fourier.isotropic_power's (the mean left out)
    fr, P, _ = cfour.isotropic_power(torch.tensor(da.values), detrend="constant")
    np.testing.assert_allclose(decode_array(ex.trace("spectrum", "data").x)[1:], fr.numpy()[1:], rtol=1e-12)
    np.testing.assert_allclose(y(ex, "spectrum", "data")[1:], P.numpy()[1:], rtol=1e-10)
    # h is the ring average of the Tikhonov filter on s = |a|^2, and the kernel's |a| is drawn
    h = y(ex, "spectrum", "h")
    assert h[0] > 0.9 and h[-1] < 0.1 and np.all(np.diff(h) < 1e-12)
    assert y(ex, "spectrum", "kernel")[0] == pytest.approx(1.0, abs=0.05)
    # GCV lands near the best reg of the grid
    err = ex.session.path["error_norm"]
    assert float(err.sel(reg=ex.choices["gcv"])) < 1.5 * float(err.min())
    before = z
    ex.set(sobolev=1.0)
    ex.flush()
    assert not np.allclose(decode_array(ex.trace("signal", "x").z), before)


def test_large_image_is_shown_block_averaged_and_moves_fast():
    rng = np.random.default_rng(0)
    img = xr.DataArray(rng.standard_normal((200, 160)), dims=("y", "x"))
    ex = SpectrumExplorer(img, device="cpu", throttle_s=0.0, max_pixels=64)
    z = decode_array(ex.trace("signal", "x").z)
    assert z.shape == (50, 40)  # blocks of 4 x 4
    x = ex.session.solve(ex.reg).x[0].numpy()
    np.testing.assert_allclose(z, x.reshape(50, 4, 40, 4).mean(axis=(1, 3)), rtol=1e-5, atol=1e-6)
    slider = ex.controls["reg"]
    times = []
    for v in np.linspace(slider.min + 1, slider.max - 1, 15):
        t = time.perf_counter()
        slider.value = float(v)
        times.append(time.perf_counter() - t)
    assert np.median(times) < 0.05, f"median reg move {np.median(times) * 1e3:.1f} ms"
