"""Fourier-domain regularization against the foundation's path on explicit matrices.

A periodic blur is a circulant matrix and a Sobolev penalty a symmetric circulant
L^T L; spectrakit.regularize on those matrices (an SVD / GSVD) is the independent
reference for the FFT path, which never forms a matrix.
"""

import numpy as np
import pytest
import scipy.linalg
import xarray as xr

import spectrakit
from spectrakit.testing import assert_rel_close, stacked_lstsq_solution

N = 48
DX = 0.1


def signal(n=N, seed=0, noise=1e-2):
    t = np.arange(n) * DX
    rng = np.random.default_rng(seed)
    clean = np.sin(2 * np.pi * t / (n * DX)) + 0.5 * (np.abs(t - 2.0) < 0.6)
    return t, clean, clean + noise * rng.standard_normal(n)


def circulant_blur(n=N, width=0.2):
    d = np.minimum(np.arange(n), n - np.arange(n)) * DX
    kernel = np.exp(-0.5 * (d / width) ** 2)
    kernel /= kernel.sum()
    return kernel, scipy.linalg.circulant(kernel)  # C @ x = circular convolution kernel * x


def sobolev_L(n, order):
    """A real symmetric L with L^T L = F* diag((1 + k^2)^order) F (angular k)."""
    k = 2 * np.pi * np.fft.fftfreq(n, d=DX)
    F = np.fft.fft(np.eye(n), norm="ortho")
    L = (F.conj().T @ np.diag((1 + k**2) ** (order / 2)) @ F).real
    return L


def test_sobolev_smoothing_equals_general_form_tikhonov():
    t, clean, noisy = signal()
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    reg = np.logspace(-6, 1, 8)
    for order in (1.0, 2.0, -0.5):
        out = spectrakit.smooth(da, "time", reg=reg, sobolev=order, x_true=clean, device="cpu")
        L = sobolev_L(N, order)
        for i, r in enumerate(reg):
            ref = stacked_lstsq_solution(np.eye(N), noisy, r, L)
            assert_rel_close(out["estimate"].values[i], ref, 1e-8, what=f"order={order} reg={r}")
        ref_path = spectrakit.regularize(np.eye(N), noisy, reg=reg, L=L, x_true=clean, device="cpu")
        for name in ("residual_norm", "solution_norm", "gcv", "error_norm"):
            np.testing.assert_allclose(out[name].values, ref_path[name].values, rtol=1e-7, err_msg=name)
        # a circulant influence matrix has equal leverages: leave-one-out equals GCV
        np.testing.assert_allclose(out["loo"].values, ref_path["loo"].values, rtol=1e-7)


def test_deconvolution_equals_tikhonov_on_the_circulant_matrix():
    t, clean, _ = signal()
    kernel, C = circulant_blur()
    rng = np.random.default_rng(1)
    b = C @ clean + 1e-3 * rng.standard_normal(N)
    da = xr.DataArray(b, dims="time", coords={"time": t})
    psf = xr.DataArray(np.roll(kernel, N // 2), dims="time", coords={"time": t - t[N // 2]})
    reg = np.logspace(-8, 0, 9)
    out = spectrakit.deconvolve(da, psf, "time", reg=reg, x_true=clean, noise_norm=1e-3 * np.sqrt(N), device="cpu")
    ref = spectrakit.regularize(C, b, reg=reg, x_true=clean, noise_norm=1e-3 * np.sqrt(N), device="cpu")
    np.testing.assert_allclose(out["estimate"].values, ref["x"].values, rtol=1e-7, atol=1e-9 * np.abs(ref["x"].values).max())
    for name in ("residual_norm", "solution_norm", "gcv", "loo", "error_norm", "discrepancy", "curvature"):
        np.testing.assert_allclose(out[name].values, ref[name].values, rtol=1e-6, err_msg=name)
    for criterion in ("gcv", "loo", "lcurve", "discrepancy", "quasi_optimality"):
        assert spectrakit.choose(out, criterion) == spectrakit.choose(ref, criterion), criterion
    # the filter factors are the foundation's on s = |a_k|^2: their sorted values agree
    np.testing.assert_allclose(np.sort(out["filter_factors"].values, axis=1)[:, ::-1], ref["filter_factors"].values, rtol=1e-7, atol=1e-12)


def test_lowpass_filters_are_the_gaussian_and_butterworth_responses():
    t, _, noisy = signal()
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    k = 2 * np.pi * np.fft.fftfreq(N, d=DX)
    reg = 0.01
    gauss = spectrakit.lowpass(da, "time", reg=reg, kind="gaussian", device="cpu")
    ref = np.fft.ifft(np.exp(-reg * k**2) * np.fft.fft(noisy)).real
    np.testing.assert_allclose(gauss["estimate"].values, ref, rtol=1e-10, atol=1e-12)
    bw = spectrakit.lowpass(da, "time", reg=reg, kind="butterworth", order=3, device="cpu")
    ref = np.fft.ifft(np.fft.fft(noisy) / (1 + (reg * k**2) ** 3)).real
    np.testing.assert_allclose(bw["estimate"].values, ref, rtol=1e-10, atol=1e-12)


def test_two_dims_and_batch_dims_are_kept():
    rng = np.random.default_rng(0)
    img = xr.DataArray(
        rng.standard_normal((2, 16, 12)), dims=("band", "y", "x"),
        coords={"band": ["r", "g"], "y": np.arange(16) * 0.5, "x": np.arange(12) * 2.0}, attrs={"units": "counts"},
    )
    out = spectrakit.smooth(img, ["y", "x"], reg=[1e-3, 1e-1], sobolev=1.0, device="cpu")
    assert out["estimate"].dims == ("reg", "band", "y", "x")
    assert out["gcv"].dims == ("reg", "band")
    assert list(out["band"].values) == ["r", "g"]
    np.testing.assert_array_equal(out["y"].values, img["y"].values)
    one = spectrakit.smooth(img.isel(band=1), ["y", "x"], reg=1e-1, sobolev=1.0, device="cpu")
    np.testing.assert_allclose(out["estimate"].isel(reg=1, band=1).values, one["estimate"].values, rtol=1e-12)
    assert "reg" not in one.dims
    # two-dimensional Sobolev smoothing is general-form Tikhonov with the 2-D weights
    ky = 2 * np.pi * np.fft.fftfreq(16, d=0.5)
    kx = 2 * np.pi * np.fft.fftfreq(12, d=2.0)
    w = 1 + ky[:, None] ** 2 + kx[None, :] ** 2
    ref = np.fft.ifft2(np.fft.fft2(img.values[1]) / (1 + 1e-1 * w)).real
    np.testing.assert_allclose(one["estimate"].values, ref, rtol=1e-10, atol=1e-12)


def test_smoothing_path_is_u_shaped_and_gcv_lands_near_the_best():
    t = np.arange(256) * DX
    clean = np.sin(2 * np.pi * t / 8) + 0.3 * np.cos(2 * np.pi * t / 3)
    noisy = clean + 0.3 * np.random.default_rng(3).standard_normal(256)
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    out = spectrakit.smooth(da, "time", reg=np.logspace(-8, 2, 41), sobolev=2.0, x_true=clean, device="cpu")
    err = out["error_norm"].values
    best = int(np.argmin(err))
    assert 0 < best < len(err) - 1 and err[0] > 1.5 * err[best] and err[-1] > 1.5 * err[best]
    chosen = float(out["error_norm"].sel(reg=spectrakit.choose(out, "gcv")))
    assert chosen <= 1.3 * err[best]


def test_bad_input():
    t, _, noisy = signal()
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    with pytest.raises(ValueError, match="reg"):
        spectrakit.smooth(da, "time", reg=-1.0)
    with pytest.raises(ValueError, match="dim"):
        spectrakit.smooth(da, "space", reg=1.0)
    uneven = da.assign_coords(time=t**1.5)
    with pytest.raises(ValueError, match="time"):
        spectrakit.smooth(uneven, "time", reg=1.0)
    bad = da.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        spectrakit.smooth(bad, "time", reg=1.0)
    with pytest.raises(ValueError, match="kind"):
        spectrakit.lowpass(da, "time", reg=1.0, kind="box")
    with pytest.raises(ValueError, match="kernel"):
        spectrakit.deconvolve(da, da.isel(time=slice(0, 10)), "time", reg=1.0)
    before = da.copy(deep=True)
    spectrakit.smooth(da, "time", reg=[1e-3, 1.0])
    xr.testing.assert_identical(da, before)


def test_blur_is_the_forward_operator_and_the_accessor_delegates():
    t, clean, _ = signal()
    kernel, C = circulant_blur()
    da = xr.DataArray(clean, dims="time", coords={"time": t}, attrs={"units": "V"})
    psf = xr.DataArray(np.roll(kernel, N // 2), dims="time", coords={"time": t - t[N // 2]})
    blurred = spectrakit.blur(da, psf, "time", device="cpu")
    np.testing.assert_allclose(blurred.values, C @ clean, rtol=1e-12, atol=1e-14)
    assert blurred.attrs == da.attrs and blurred.dims == da.dims
    xr.testing.assert_identical(da.spectral.blur(psf, "time", device="cpu"), blurred)
    via = blurred.spectral.deconvolve(psf, "time", reg=[1e-6, 1e-2], x_true=clean, device="cpu")
    direct = spectrakit.deconvolve(blurred, psf, "time", reg=[1e-6, 1e-2], x_true=clean, device="cpu")
    xr.testing.assert_identical(via, direct)
    xr.testing.assert_identical(da.spectral.smooth("time", reg=1.0, device="cpu"), spectrakit.smooth(da, "time", reg=1.0, device="cpu"))
    xr.testing.assert_identical(da.spectral.lowpass("time", reg=1.0, device="cpu"), spectrakit.lowpass(da, "time", reg=1.0, device="cpu"))


def test_float32_follows_and_matches_float64():
    t, clean, noisy = signal()
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    lo = spectrakit.smooth(da, "time", reg=[1e-3, 1e-1], dtype="float32", device="cpu")
    hi = spectrakit.smooth(da, "time", reg=[1e-3, 1e-1], device="cpu")
    assert lo.attrs["dtype"] == "float32" and lo["estimate"].dtype == np.float32
    np.testing.assert_allclose(lo["estimate"].values, hi["estimate"].values, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_cuda_equals_cpu():
    t, clean, noisy = signal()
    da = xr.DataArray(noisy, dims="time", coords={"time": t})
    cpu = spectrakit.smooth(da, "time", reg=np.logspace(-4, 1, 6), x_true=clean, device="cpu")
    gpu = spectrakit.smooth(da, "time", reg=np.logspace(-4, 1, 6), x_true=clean, device="cuda")
    assert gpu.attrs["device"].startswith("cuda")
    for name in ("estimate", "gcv", "error_norm"):
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=1e-10, atol=1e-12)


def test_dask_input_stays_lazy_and_equals_eager():
    dask = pytest.importorskip("dask")
    rng = np.random.default_rng(5)
    da = xr.DataArray(
        rng.standard_normal((6, 64)), dims=("trace", "time"),
        coords={"trace": np.arange(6), "time": np.arange(64) * DX},
    )
    truth = da * 0.5
    eager = spectrakit.smooth(da, "time", reg=np.logspace(-3, 1, 5), sobolev=1.5, x_true=truth, noise_norm=0.3, device="cpu")
    lazy = spectrakit.smooth(da.chunk({"trace": 2}), "time", reg=np.logspace(-3, 1, 5), sobolev=1.5,
                             x_true=truth.chunk({"trace": 2}), noise_norm=0.3, device="cpu")
    assert dask.is_dask_collection(lazy["estimate"].data) and dask.is_dask_collection(lazy["gcv"].data)
    xr.testing.assert_allclose(lazy.compute(), eager)
    with pytest.raises(ValueError, match="rechunk"):
        spectrakit.smooth(da.chunk({"time": 16}), "time", reg=1.0)
