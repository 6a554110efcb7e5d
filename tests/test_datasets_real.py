"""spectrakit.datasets.real: loaders of data shipped inside statsmodels and scikit-image.

Each loader is checked against the package's raw file read independently here (the CSV
files with numpy, the image with ``skimage.data.camera()``), for even coordinate spacing,
sizes and attrs, for a physical sanity check (the ~11-year solar cycle, CO2's annual
cycle), for its errors, and for the ImportError that names the pip package.

statsmodels and scikit-image are optional: without them these tests skip, except where
the environment variable ``CI`` is set, where they fail (CI must install them).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectrakit.datasets import camera, co2, sunspots


def _need(module: str, pip_name: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {pip_name} (`pip install {pip_name}`): {err}")
        pytest.skip(f"needs {pip_name} (`pip install {pip_name}`)")


@pytest.fixture(scope="module")
def sm_datasets():
    return _need("statsmodels.datasets", "statsmodels")


@pytest.fixture(scope="module")
def skimage_data():
    return _need("skimage.data", "scikit-image")


def _raw_csv(module_name: str, filename: str) -> np.ndarray:
    """The CSV file bundled next to a statsmodels dataset module, as a float array."""
    module = importlib.import_module(module_name)
    path = Path(module.__file__).parent / filename
    return np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64)


def _assert_evenly_spaced(coord: xr.DataArray, step: float) -> None:
    d = np.diff(coord.values.astype(np.float64))
    np.testing.assert_allclose(d, step, rtol=1e-9, atol=0)


def _peak_frequency(values: np.ndarray, spacing: float) -> float:
    power = np.abs(np.fft.rfft(values - values.mean())) ** 2
    freq = np.fft.rfftfreq(values.size, d=spacing)
    return float(freq[1:][power[1:].argmax()])  # skip the zero frequency


# --------------------------------------------------------------------------- sunspots


@pytest.fixture(scope="module")
def sun(sm_datasets):
    return sunspots()


def test_sunspots_equals_raw_file(sun):
    raw = _raw_csv("statsmodels.datasets.sunspots", "sunspots.csv")  # YEAR, SUNACTIVITY
    np.testing.assert_array_equal(sun.values, raw[:, 1])
    np.testing.assert_array_equal(sun.time.values, raw[:, 0])


def test_sunspots_layout(sun):
    assert isinstance(sun, xr.DataArray)
    assert sun.name == "sunspots"
    assert sun.dims == ("time",) and sun.sizes["time"] == 309
    assert sun.dtype == np.float64 and sun.time.dtype == np.float64
    assert float(sun.time[0]) == 1700.0 and float(sun.time[-1]) == 2008.0
    _assert_evenly_spaced(sun.time, 1.0)
    assert sun.time.attrs["units"] == "year" and sun.time.attrs["long_name"]
    assert np.issubdtype(sun.date.dtype, np.datetime64) and sun.date.dims == ("time",)
    np.testing.assert_array_equal(sun.date.dt.year.values, np.arange(1700, 2009))
    assert (sun.date.dt.dayofyear.values == 1).all()
    for key in ("units", "description", "source", "reference"):
        assert sun.attrs[key], key
    assert "statsmodels.datasets.sunspots" in sun.attrs["source"]
    assert np.isfinite(sun.values).all() and (sun.values >= 0).all()


def test_sunspots_periodogram_peaks_at_the_solar_cycle(sun):
    f = _peak_frequency(sun.values, float(sun.time[1] - sun.time[0]))  # cycles/year
    assert 9.0 <= 1.0 / f <= 12.0, f"peak period {1 / f:.2f} years"


# --------------------------------------------------------------------------- co2

WEEK = 7.0 / 365.25


@pytest.fixture(scope="module")
def raw_co2(sm_datasets) -> np.ndarray:
    return _raw_csv("statsmodels.datasets.co2", "co2.csv")  # date (YYYYMMDD), co2


@pytest.fixture(scope="module")
def co2_filled(sm_datasets):
    return co2()


def test_co2_layout(co2_filled, raw_co2):
    da = co2_filled
    assert isinstance(da, xr.DataArray) and da.name == "co2"
    assert da.dims == ("time",) and da.sizes["time"] == raw_co2.shape[0] == 2284
    assert da.attrs["units"] == "ppm"
    assert da.time.attrs["units"] == "year"
    assert da.time.dtype == np.float64
    _assert_evenly_spaced(da.time, WEEK)
    # Decimal years that match the dates (within a day of the calendar decimal year).
    first, last = da.date.values[0], da.date.values[-1]
    assert str(first)[:10] == "1958-03-29" and str(last)[:10] == "2001-12-29"
    assert abs(float(da.time[0]) - (1958 + 87 / 365)) < 1.5 / 365
    assert abs(float(da.time[-1]) - (2001 + 362 / 365)) < 1.5 / 365
    dates = np.array([str(int(d)) for d in raw_co2[:, 0]])
    iso = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in dates], dtype="datetime64[ns]")
    np.testing.assert_array_equal(da.date.values, iso)
    for key in ("description", "source", "reference"):
        assert da.attrs[key], key
    assert "statsmodels.datasets.co2" in da.attrs["source"]


def test_co2_interpolate_fills_every_gap_and_keeps_observations(co2_filled, raw_co2):
    da, raw = co2_filled, raw_co2[:, 1]
    missing = np.isnan(raw)
    assert missing.sum() > 0
    assert not da.isnull().any()
    assert da.attrs["n_filled"] == da.attrs["n_missing"] == int(missing.sum())
    np.testing.assert_array_equal(da.filled.values, missing)
    np.testing.assert_array_equal(da.values[~missing], raw[~missing])
    # Filled values are linear interpolation in time between the observed neighbours.
    t = da.time.values
    expected = np.interp(t[missing], t[~missing], raw[~missing])
    np.testing.assert_allclose(da.values[missing], expected, rtol=1e-12)
    i = int(np.flatnonzero(missing)[0])  # an isolated gap: the mean of its neighbours
    if not missing[i - 1] and not missing[i + 1]:
        assert da.values[i] == pytest.approx((raw[i - 1] + raw[i + 1]) / 2, rel=1e-12)


def test_co2_fill_none_keeps_nan(co2_filled, raw_co2):
    da = co2(fill=None)
    raw = raw_co2[:, 1]
    np.testing.assert_array_equal(da.values, raw)  # NaN in the same places
    assert int(da.isnull().sum()) == da.attrs["n_missing"] == int(np.isnan(raw).sum())
    assert da.attrs["n_filled"] == 0 and not da.filled.any()
    xr.testing.assert_identical(da.time.variable, co2_filled.time.variable)
    assert da.dims == co2_filled.dims and set(da.coords) == set(co2_filled.coords)


def test_co2_detrended_spectrum_peaks_at_one_cycle_per_year(co2_filled):
    t = co2_filled.time.values
    trend = np.polyval(np.polyfit(t - t.mean(), co2_filled.values, 2), t - t.mean())
    f = _peak_frequency(co2_filled.values - trend, float(t[1] - t[0]))
    assert f == pytest.approx(1.0, abs=0.05), f"peak at {f:.3f} cycles/year"


@pytest.mark.parametrize("bad", ["linear", "Interpolate", "", 0, False, True, np.nan])
def test_co2_bad_fill_is_a_clear_error(bad):
    with pytest.raises(ValueError, match=r"fill must be 'interpolate'.*or None"):
        co2(fill=bad)


# --------------------------------------------------------------------------- camera


@pytest.fixture(scope="module")
def cam(skimage_data):
    return camera()


def test_camera_equals_skimage(cam, skimage_data):
    raw = skimage_data.camera()
    assert raw.dtype == np.uint8 and raw.shape == (512, 512)
    np.testing.assert_array_equal(cam.values, raw.astype(np.float64) / 255.0)


def test_camera_layout(cam):
    assert isinstance(cam, xr.DataArray) and cam.name == "camera"
    assert cam.dims == ("y", "x") and cam.shape == (512, 512)
    assert cam.dtype == np.float64
    assert 0.0 <= float(cam.min()) and float(cam.max()) <= 1.0
    assert float(cam.min()) < float(cam.max())
    for dim in ("y", "x"):
        np.testing.assert_array_equal(cam[dim].values, np.arange(512.0))
        _assert_evenly_spaced(cam[dim], 1.0)
        assert cam[dim].attrs["units"] == "pixel"
    assert "skimage.data.camera" in cam.attrs["source"] and cam.attrs["reference"]


@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32")])
def test_camera_float32(cam, dtype):
    img = camera(dtype=dtype)
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img.values, cam.values.astype(np.float32))


@pytest.mark.parametrize("bad", ["int8", np.uint8, "complex128", "float16", "bogus", None])
def test_camera_bad_dtype_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="dtype must be float64 or float32"):
        camera(dtype=bad)


# --------------------------------------------------------------------------- general


def test_each_call_returns_a_fresh_object(sun, cam):
    a = sunspots()
    a[0] = -1.0
    a.attrs["units"] = "changed"
    b = sunspots()
    assert float(b[0]) == float(sun[0]) and b.attrs["units"] == "1"
    c = camera()
    c[0, 0] = -1.0
    assert float(camera()[0, 0]) == float(cam[0, 0])


@pytest.mark.parametrize(
    ("loader", "hidden", "pip_name"),
    [
        (sunspots, "statsmodels", "statsmodels"),
        (lambda: co2(), "statsmodels", "statsmodels"),
        (camera, "skimage", "scikit-image"),
    ],
)
def test_missing_package_raises_import_error_naming_pip_package(monkeypatch, loader, hidden, pip_name):
    # A None entry in sys.modules makes `import <name>` raise ImportError, as if the
    # package were not installed; monkeypatch restores the real modules afterwards.
    for name in [m for m in sys.modules if m == hidden or m.startswith(hidden + ".")] + [hidden]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=rf"pip install {pip_name}`"):
        loader()


def test_import_spectrakit_datasets_does_not_import_the_data_packages():
    # The optional packages are imported lazily, inside the loaders.
    import subprocess

    code = (
        "import sys, spectrakit.datasets; "
        "print(sorted(m for m in ('statsmodels', 'skimage') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout
