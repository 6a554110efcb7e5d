"""Real data as labelled signals, read from files that installed packages ship.

Nothing here touches the network: each loader reads a file that is part of an installed
package's distribution (statsmodels' bundled CSV files, scikit-image's bundled
``camera.png``). Those packages are optional: each one is imported only inside the
loader that needs it, and a missing one raises an :class:`ImportError` that says what
to ``pip install``.

Every loader returns an :class:`xarray.DataArray` (one signal, not a Dataset) whose
dimension coordinates are *numeric and evenly spaced*, so Fourier frequencies come out
in physical units: cycles/year for the time series (coordinate ``time`` in years),
cycles/pixel for the image (coordinates ``y`` and ``x`` in pixels). Calendar dates, where
there are any, are kept alongside as a non-dimension ``datetime64`` coordinate ``date``.

* :func:`sunspots` -- yearly sunspot numbers 1700-2008 (statsmodels).
* :func:`co2` -- weekly Mauna Loa CO2 1958-2001, gaps filled or left NaN (statsmodels).
* :func:`camera` -- the 512 x 512 grayscale "camera" photograph (scikit-image).
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

__all__ = ["camera", "co2", "sunspots"]

#: Days per Julian year: the decimal-year unit of the ``time`` coordinates.
DAYS_PER_YEAR = 365.25
# Julian epoch J2000.0 (2000-01-01T12:00): decimal year = 2000 + (date - J2000) / 365.25 d.
_J2000 = np.datetime64("2000-01-01T12:00:00", "ns")
_FILL_CHOICES = ("interpolate", None)
_DTYPE_CHOICES = ("float64", "float32")


def _missing(package: str, pip_name: str, loader: str, err: ImportError) -> ImportError:
    return ImportError(
        f"spectrakit.datasets.{loader}() reads the data file that ships with {package}, "
        f"which is not installed (or failed to import: {err}). Install it with "
        f"`pip install {pip_name}` (no network is used at run time: the data is inside "
        "the package)."
    )


def _statsmodels_version() -> str:
    import statsmodels

    return statsmodels.__version__


def sunspots() -> xr.DataArray:
    """Yearly mean sunspot numbers, 1700-2008 (309 values), from statsmodels.

    Reads ``statsmodels.datasets.sunspots`` (the CSV file bundled with statsmodels; no
    network). The values are the yearly mean international (Wolf/Zurich) sunspot number,
    version 1 (before SILSO's 2015 recalibration), as distributed by NOAA's National
    Geophysical Data Center. They are unchanged, as float64.

    The dimension coordinate ``time`` is the year as a float (1700.0 ... 2008.0, spacing
    exactly 1.0, ``units="year"``), so a Fourier transform along ``time`` gives
    frequencies in cycles/year; the non-dimension coordinate ``date`` holds the start of
    each year as ``datetime64[ns]``.

    Returns
    -------
    xarray.DataArray
        Name ``"sunspots"``, dim ``time`` (309), coords ``time`` (float64 years) and
        ``date`` (on ``time``); attrs ``units`` (``"1"``: the sunspot number is
        dimensionless), ``long_name``, ``description``, ``source`` and ``reference``.

    Raises
    ------
    ImportError
        If statsmodels is not installed (``pip install statsmodels``).

    Notes
    -----
    The solar cycle (about 11 years) is the dominant peak of the periodogram of the
    demeaned series. Each value is a yearly mean, so the coordinate labels the year, not
    an instant within it.

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.datasets import sunspots
    >>> da = sunspots()
    >>> da.sizes["time"], float(da.time[0]), float(da.time[-1])
    (309, 1700.0, 2008.0)
    >>> y = da.values - da.values.mean()
    >>> freq = np.fft.rfftfreq(y.size, d=1.0)  # cycles/year, from the 1-year spacing
    >>> power = np.abs(np.fft.rfft(y)) ** 2
    >>> round(float(1 / freq[power.argmax()]), 1)  # period of the peak, in years
    11.0
    """
    try:
        from statsmodels.datasets import sunspots as sm_sunspots
    except ImportError as err:
        raise _missing("statsmodels", "statsmodels", "sunspots", err) from err

    frame = sm_sunspots.load_pandas().data
    years = frame["YEAR"].to_numpy(dtype=np.float64, copy=True)
    values = frame["SUNACTIVITY"].to_numpy(dtype=np.float64, copy=True)
    # Check what the coordinate promises (consecutive years) rather than assume it.
    if years.size < 2 or not np.array_equal(np.diff(years), np.ones(years.size - 1)):
        raise ValueError(
            "statsmodels.datasets.sunspots no longer holds consecutive yearly values; "
            "spectrakit.datasets.sunspots() cannot give it an evenly spaced time coordinate."
        )
    dates = years.astype(np.int64).astype(str).astype("datetime64[Y]").astype("datetime64[ns]")
    return xr.DataArray(
        values,
        dims=("time",),
        coords={
            "time": ("time", years, {"units": "year", "long_name": "year (calendar)"}),
            "date": ("time", dates, {"long_name": "start of the year"}),
        },
        name="sunspots",
        attrs={
            "units": "1",
            "long_name": "yearly mean sunspot number",
            "description": (
                f"Yearly mean international (Wolf/Zurich) sunspot number, version 1, "
                f"{int(years[0])}-{int(years[-1])} ({values.size} values, unchanged). "
                "Dominant period: the ~11-year solar cycle."
            ),
            "source": (
                f"statsmodels.datasets.sunspots (statsmodels {_statsmodels_version()}), "
                "file sunspots.csv shipped with statsmodels"
            ),
            "reference": (
                "NOAA National Geophysical Data Center, yearly sunspot numbers, "
                "http://www.ngdc.noaa.gov/stp/solar/solarda3.html (public domain); "
                "SIDC/SILSO, Royal Observatory of Belgium, international sunspot number V1"
            ),
        },
    )


def co2(*, fill: str | None = "interpolate") -> xr.DataArray:
    """Weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001, from statsmodels.

    Reads ``statsmodels.datasets.co2`` (the CSV file bundled with statsmodels; no
    network): 2284 weekly values (each a Saturday, exactly 7 days apart) in ppm, 59 of
    them missing. A Fourier spectrum needs even spacing and finite values, so the weeks
    are kept on their regular grid and the gaps are filled by linear interpolation in
    time (the default) or left as NaN.

    The dimension coordinate ``time`` is the decimal year in Julian years,

    ``time = 2000 + (date - 2000-01-01T12:00) / 365.25 days``

    (the Julian epoch; within a day of the calendar decimal year over this range), so the
    spacing is exactly ``7 / 365.25`` year and Fourier frequencies come out in
    cycles/year. The dates themselves are the non-dimension coordinate ``date``.

    Parameters
    ----------
    fill : {"interpolate", None}, default "interpolate"
        ``"interpolate"``: each missing value is replaced by linear interpolation in
        ``time`` between the nearest observed weeks on either side (the first and last
        weeks are observed, so nothing is extrapolated; the longest gap is 18 weeks).
        ``None``: missing values stay NaN; spectrakit's spectra then raise on the NaN
        (fill or drop them first).

    Returns
    -------
    xarray.DataArray
        Name ``"co2"``, dim ``time`` (2284), coords ``time`` (float64 decimal years),
        ``date`` (``datetime64[ns]``) and ``filled`` (bool: True where a value was
        interpolated), all on ``time``; attrs ``units="ppm"``, ``long_name``,
        ``n_missing`` (59: missing in the source), ``n_filled`` (59 or 0), ``fill``,
        ``description``, ``source`` and ``reference``.

    Raises
    ------
    ValueError
        If ``fill`` is not ``"interpolate"`` or ``None``.
    ImportError
        If statsmodels is not installed (``pip install statsmodels``).

    Examples
    --------
    >>> from spectrakit.datasets import co2
    >>> da = co2()
    >>> da.sizes["time"], da.attrs["units"], da.attrs["n_filled"], int(da.isnull().sum())
    (2284, 'ppm', 59, 0)
    >>> round(float(da.time[1] - da.time[0]) * 365.25, 9)  # days between samples
    7.0
    >>> int(co2(fill=None).isnull().sum())
    59
    """
    if isinstance(fill, str) and fill == "interpolate":
        pass
    elif fill is not None:
        raise ValueError(
            f"fill must be 'interpolate' (fill the missing weeks by linear interpolation in "
            f"time) or None (leave them NaN); got {fill!r}."
        )
    try:
        from statsmodels.datasets import co2 as sm_co2
    except ImportError as err:
        raise _missing("statsmodels", "statsmodels", "co2", err) from err

    frame = sm_co2.load_pandas().data
    values = frame["co2"].to_numpy(dtype=np.float64, copy=True)
    dates = frame.index.to_numpy().astype("datetime64[ns]")
    week = np.timedelta64(7, "D").astype("timedelta64[ns]")
    if dates.size < 2 or not np.all(np.diff(dates) == week):
        raise ValueError(
            "statsmodels.datasets.co2 is no longer on a regular weekly grid; "
            "spectrakit.datasets.co2() cannot give it an evenly spaced time coordinate."
        )
    # t_i = t_0 + i * 7/365.25 in one expression, so the spacing is even to rounding.
    t0_days = (dates[0] - _J2000) / np.timedelta64(1, "D")
    time = 2000.0 + (t0_days + 7.0 * np.arange(dates.size)) / DAYS_PER_YEAR

    missing = np.isnan(values)
    n_missing = int(missing.sum())
    filled = np.zeros(values.size, dtype=bool)
    if fill == "interpolate" and n_missing:
        # np.interp holds the end values outside the observed range; the series starts
        # and ends with observed weeks, so that never happens here.
        values[missing] = np.interp(time[missing], time[~missing], values[~missing])
        filled = missing.copy()
    n_filled = int(filled.sum())

    how = (
        f"{n_filled} missing weeks filled by linear interpolation in time"
        if fill == "interpolate"
        else f"{n_missing} missing weeks left NaN"
    )
    return xr.DataArray(
        values,
        dims=("time",),
        coords={
            "time": (
                "time",
                time,
                {
                    "units": "year",
                    "long_name": "decimal year (Julian epoch)",
                    "description": "2000 + (date - 2000-01-01T12:00) / 365.25 days",
                },
            ),
            "date": ("time", dates, {"long_name": "sample date (weekly, Saturdays)"}),
            "filled": ("time", filled, {"long_name": "value filled by linear interpolation"}),
        },
        name="co2",
        attrs={
            "units": "ppm",
            "long_name": "atmospheric CO2 mole fraction",
            "n_missing": n_missing,
            "n_filled": n_filled,
            "fill": "none" if fill is None else fill,
            "description": (
                f"Weekly atmospheric CO2 at Mauna Loa Observatory, Hawaii, "
                f"{str(dates[0])[:10]} to {str(dates[-1])[:10]} ({values.size} weeks); {how}. "
                "A rising trend with an annual cycle."
            ),
            "source": (
                f"statsmodels.datasets.co2 (statsmodels {_statsmodels_version()}), "
                "file co2.csv shipped with statsmodels"
            ),
            "reference": (
                "C. D. Keeling and T. P. Whorf, Atmospheric CO2 concentrations derived from "
                "flask air samples at sites in the SIO network, in Trends: A Compendium of "
                "Data on Global Change, CDIAC, Oak Ridge National Laboratory (2004)"
            ),
        },
    )


def _float_dtype(dtype) -> np.dtype:
    # numpy dtypes, their names, and torch.float32/float64 (by name: no torch import here).
    name = str(dtype).removeprefix("torch.") if type(dtype).__module__ == "torch" else dtype
    try:
        resolved = None if name is None else np.dtype(name)  # np.dtype(None) is float64
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in _DTYPE_CHOICES:
        raise ValueError(
            f"dtype must be float64 or float32 (the image is scaled to [0, 1]); got "
            f"{dtype!r}. Pass dtype='float64' (default) or dtype='float32'."
        )
    return resolved


def camera(*, dtype="float64") -> xr.DataArray:
    """The 512 x 512 grayscale "camera" photograph from scikit-image, scaled to [0, 1].

    Reads the ``camera.png`` that ships inside scikit-image (the image of
    ``skimage.data.camera()``), never downloading: if the file is not in the installed
    package a clear error says so. The uint8 gray levels ``g`` become ``g / 255`` in
    ``dtype``, so black is 0 and white is 1.

    Dims are ``("y", "x")``: ``y`` is the row (increasing downward), ``x`` the column,
    both numeric pixel coordinates 0.0 ... 511.0 with ``units="pixel"``, so a Fourier
    transform over them gives frequencies in cycles/pixel.

    Parameters
    ----------
    dtype : {"float64", "float32"}, default "float64"
        Floating dtype of the values (numpy dtypes and ``torch.float32``/``float64`` are
        accepted too).

    Returns
    -------
    xarray.DataArray
        Name ``"camera"``, dims ``("y", "x")``, shape (512, 512), values in [0, 1]; attrs
        ``units="1"``, ``long_name``, ``description``, ``source`` and ``reference``.

    Raises
    ------
    ValueError
        If ``dtype`` is not a float64 or float32 dtype.
    ImportError
        If scikit-image is not installed (``pip install scikit-image``).
    FileNotFoundError
        If the installed scikit-image does not ship ``camera.png``.

    Examples
    --------
    >>> from spectrakit.datasets import camera
    >>> img = camera()
    >>> img.dims, img.shape, str(img.dtype)
    (('y', 'x'), (512, 512), 'float64')
    >>> 0.0 <= float(img.min()) < float(img.max()) <= 1.0
    True
    >>> str(camera(dtype="float32").dtype)
    'float32'
    """
    dtype = _float_dtype(dtype)
    try:
        import skimage
        import skimage.data
        from skimage.io import imread
    except ImportError as err:
        raise _missing("scikit-image", "scikit-image", "camera", err) from err

    # skimage.data.camera() would download the file with pooch if it were missing from
    # the installation; read the bundled file directly so that can never happen.
    path = os.path.join(os.path.dirname(skimage.data.__file__), "camera.png")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"spectrakit.datasets.camera() reads the camera.png that ships inside "
            f"scikit-image, but this installation (scikit-image {skimage.__version__}) has "
            f"none at {path}. Reinstall scikit-image (`pip install --force-reinstall "
            "scikit-image`); spectrakit never downloads data."
        )
    raw = np.asarray(imread(path))
    if raw.dtype != np.uint8 or raw.ndim != 2:
        raise ValueError(
            f"scikit-image's camera.png is no longer a 2-D uint8 grayscale image "
            f"(got {raw.dtype}, shape {raw.shape}); spectrakit.datasets.camera() cannot scale it."
        )
    values = (raw.astype(np.float64) / 255.0).astype(dtype, copy=False)
    ny, nx = raw.shape
    return xr.DataArray(
        values,
        dims=("y", "x"),
        coords={
            "y": ("y", np.arange(ny, dtype=np.float64), {"units": "pixel", "long_name": "row (downward)"}),
            "x": ("x", np.arange(nx, dtype=np.float64), {"units": "pixel", "long_name": "column"}),
        },
        name="camera",
        attrs={
            "units": "1",
            "long_name": "gray level (0 black, 1 white)",
            "description": (
                f'Grayscale "camera" photograph, {ny} x {nx} pixels, uint8 gray levels g '
                f"scaled to g / 255 in {dtype.name}."
            ),
            "source": (
                f"skimage.data.camera() (scikit-image {skimage.__version__}), file "
                "camera.png shipped with scikit-image"
            ),
            "reference": (
                "Photograph by Lav Varshney, CC0; scikit-image issue #3927 "
                "(https://github.com/scikit-image/scikit-image/issues/3927)"
            ),
        },
    )
