"""A small synthetic hyperspectral image for unmixing: smooth abundance maps, a few smooth
endmember spectra, the linear mixing model and band-dependent noise."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._common import check_int, check_noise, check_real, check_size, resolve_seed

__all__ = ["hyperspectral_cube"]

WAVELENGTH_RANGE_NM = (400.0, 2500.0)  # visible to short-wave infrared, as AVIRIS covers
# water-vapour absorption bands, where real sensors see little light and much noise
_WATER_BANDS_NM = ((1400.0, 40.0), (1900.0, 50.0))  # (centre, width) in nm
_MIN_ANGLE = 0.15  # redraw the endmembers until every pair is this far apart (radians)


def _noise_profile(wavelength: np.ndarray) -> np.ndarray:
    """The relative noise standard deviation per band, ``w(lambda)`` (mean square 1)."""
    lo, hi = WAVELENGTH_RANGE_NM
    u = (wavelength - (lo + hi) / 2) / ((hi - lo) / 2)  # -1 .. 1 across the range
    w = 1.0 + 1.5 * u**4  # detector response falls off at both ends of the range
    for centre, width in _WATER_BANDS_NM:
        w += 2.0 * np.exp(-0.5 * ((wavelength - centre) / width) ** 2)
    return w / np.sqrt(np.mean(w**2))


def _endmembers(k: int, wavelength: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """k smooth positive reflectance-like spectra: baseline and slope, three broad
    reflectance peaks, and two absorption dips: a deep one in the endmember's own part of
    the range (so that each endmember is nearly dark where the others are not, which makes
    the mixture identifiable) and a shallower one anywhere."""
    lo, hi = WAVELENGTH_RANGE_NM
    t = (wavelength - lo) / (hi - lo)
    span = (hi - lo) / k
    for _ in range(1000):
        E = np.empty((k, wavelength.size))
        for j in range(k):
            r = rng.uniform(0.05, 0.15) + rng.uniform(0.0, 0.1) * t
            for _peak in range(3):
                c, w, a = rng.uniform(lo, hi), rng.uniform(100, 350), rng.uniform(0.2, 0.6)
                r = r + a * np.exp(-0.5 * ((wavelength - c) / w) ** 2)
            own = lo + span * (j + rng.uniform(0.25, 0.75))
            for c, w, a in ((own, min(span / 4, 250.0), rng.uniform(0.9, 0.97)),
                            (rng.uniform(lo, hi), rng.uniform(80, 200), rng.uniform(0.2, 0.6))):
                r = r * (1 - a * np.exp(-0.5 * ((wavelength - c) / w) ** 2))
            E[j] = r
        unit = E / np.linalg.norm(E, axis=1, keepdims=True)
        cos = np.clip(unit @ unit.T, -1, 1)
        angles = np.arccos(cos[np.triu_indices(k, 1)])
        if k == 1 or angles.min() >= _MIN_ANGLE:
            return E
    raise RuntimeError("could not draw distinct endmembers")  # pragma: no cover


def _abundances(k: int, ny: int, nx: int, length_scale: float, sharpness: float, rng) -> np.ndarray:
    """Smooth maps (k, ny, nx) >= 0 summing to one: the softmax of ``sharpness`` times k
    standardized Gaussian random fields with correlation length ``length_scale`` pixels."""
    # drawn on a padded periodic grid and cropped, so the maps do not wrap around
    py, px = ny + int(np.ceil(4 * length_scale)), nx + int(np.ceil(4 * length_scale))
    ky = np.fft.fftfreq(py)[:, None]
    kx = np.fft.rfftfreq(px)[None, :]
    gain = np.exp(-2 * (np.pi * length_scale) ** 2 * (ky**2 + kx**2))  # a Gaussian blur of width length_scale
    Z = np.empty((k, ny, nx))
    for j in range(k):
        f = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((py, px))) * gain, s=(py, px))[:ny, :nx]
        Z[j] = (f - f.mean()) / f.std()
    Z = sharpness * Z
    Z -= Z.max(0, keepdims=True)
    P = np.exp(Z)
    return P / P.sum(0, keepdims=True)


def hyperspectral_cube(
    ny: int = 32,
    nx: int = 32,
    *,
    n_bands: int = 64,
    n_endmembers: int = 3,
    noise: float = 0.05,
    length_scale: float = 6.0,
    sharpness: float = 2.0,
    seed: int | None = 0,
) -> xr.Dataset:
    """A synthetic hyperspectral image made by the linear mixing model, with smooth
    abundance maps and band-dependent noise: a test problem for (graph-regularized) unmixing.

    ``cube_exact[y, x, :] = sum_j abundances[j, y, x] * endmembers[j, :]`` and
    ``cube = cube_exact + e``:

    * **endmembers** (k, n_bands): smooth positive reflectance-like spectra (between
      about 0.002 and 1.4) over ``n_bands`` wavelengths evenly spaced from 400 to
      2500 nm: a baseline with a slope, three broad Gaussian peaks (widths 100-350 nm)
      and two absorption dips, one 90-97 % deep in the endmember's own k-th of the range
      (so each endmember is nearly dark where the others are not: the mixture is then
      identifiable) and one shallower anywhere; redrawn until every pair is at least
      0.15 rad apart (spectral angle);
    * **abundances** (k, y, x): the softmax over endmembers of ``sharpness`` times k
      standardized Gaussian random fields, white noise blurred by a Gaussian of standard
      deviation ``length_scale`` pixels. Every pixel's abundances are >= 0 and sum to one;
      the maps are smooth, with nearly pure regions where one field dominates (more so
      for a larger ``sharpness``) and mixed borders between them;
    * **noise** e: Gaussian, independent across pixels and bands, with a standard
      deviation per band proportional to
      ``w(lambda) = 1 + 1.5 u^4 + 2 exp(-(lambda - 1400)^2 / (2 40^2)) + 2 exp(-(lambda - 1900)^2 / (2 50^2))``
      with ``u = (lambda - 1450 nm) / 1050 nm`` in [-1, 1]: low signal at both ends of the
      range and in the two water-vapour absorption bands near 1400 and 1900 nm. The draw
      is scaled so that ``||cube - cube_exact||_F = noise * ||cube_exact||_F`` exactly (the
      relative noise of all spectrakit datasets); ``noise_std`` (band) records the
      per-band standard deviation of that scaled draw's distribution.

    Draws come from ``numpy.random.default_rng(seed)`` in this order: endmembers,
    abundance fields, noise; so the same seed gives the same endmembers and maps at any
    ``noise``. Noise can make a few small values negative: clip before NMF.

    Parameters
    ----------
    ny, nx : int, default 32
        Image size in pixels (>= 2).
    n_bands : int, default 64
        Number of spectral bands (>= 2).
    n_endmembers : int, default 3
        Number of endmembers k (>= 1).
    noise : float, default 0.05
        Relative noise level ``||cube - cube_exact|| / ||cube_exact||``.
    length_scale : float, default 6.0
        Smoothness of the abundance maps: the width of the blur, in pixels (> 0).
    sharpness : float, default 2.0
        How pure the regions are (> 0): the softmax's inverse temperature. At the
        defaults about 20 % of the pixels have one abundance above 0.95.
    seed : int or None, default 0
        Seed for ``numpy.random.default_rng``; None draws one and records it in
        ``attrs["seed"]``.

    Returns
    -------
    xarray.Dataset
        ``cube`` and ``cube_exact`` (y, x, band), ``abundances`` (endmember, y, x),
        ``endmembers`` (endmember, band), ``noise_std`` (band); coordinates ``y``, ``x``
        (pixel indices), ``band`` (band index), ``wavelength`` (on ``band``, nm) and
        ``endmember``; attrs ``problem``, ``noise``, ``seed``, ``noise_norm``,
        ``length_scale``, ``sharpness``, ``description``, ``reference``. For NMF:
        ``Y = ds.cube.values.reshape(ny * nx, n_bands)`` (row-major pixels, the order of
        :func:`spectrakit.core.graphs.grid_graph`) and the true abundances
        ``ds.abundances.values.reshape(k, -1).T``.

    References
    ----------
    N. Keshava and J. F. Mustard, "Spectral unmixing", IEEE Signal Processing Magazine 19
    (2002), 44-57. X. Lu et al., "Manifold regularized sparse NMF for hyperspectral
    unmixing", IEEE TGRS 51 (2013), 2815-2826.

    Examples
    --------
    >>> ds = hyperspectral_cube(16, 12, n_bands=32, noise=0.05, seed=0)
    >>> ds.cube.dims, ds.abundances.dims, ds.endmembers.dims
    (('y', 'x', 'band'), ('endmember', 'y', 'x'), ('endmember', 'band'))
    >>> bool(abs(ds.abundances.sum("endmember") - 1).max() < 1e-12)
    True
    >>> float(ds.wavelength[0]), float(ds.wavelength[-1]), ds.wavelength.attrs["units"]
    (400.0, 2500.0, 'nm')
    """
    ny = check_int(ny, "ny")
    nx = check_int(nx, "nx")
    n_bands = check_int(n_bands, "n_bands")
    check_size(ny, nx, n_bands, name="ny, nx and n_bands", arrays=6.0)
    k = check_int(n_endmembers, "n_endmembers", minimum=1)
    noise = check_noise(noise)
    length_scale = check_real(length_scale, "length_scale", strict=True)
    sharpness = check_real(sharpness, "sharpness", strict=True)
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    wavelength = np.linspace(*WAVELENGTH_RANGE_NM, n_bands)
    E = _endmembers(k, wavelength, rng)
    A = _abundances(k, ny, nx, length_scale, sharpness, rng)
    exact = np.einsum("jyx,jb->yxb", A, E)
    w = _noise_profile(wavelength)
    e = rng.standard_normal(exact.shape) * w
    norm = np.linalg.norm(e)
    factor = noise * np.linalg.norm(exact) / norm if norm > 0 else 0.0
    e *= factor
    cube = exact + e
    coords = {
        "y": ("y", np.arange(ny), {"long_name": "pixel row"}),
        "x": ("x", np.arange(nx), {"long_name": "pixel column"}),
        "band": ("band", np.arange(n_bands), {"long_name": "band index"}),
        "wavelength": ("band", wavelength, {"long_name": "band centre wavelength", "units": "nm"}),
        "endmember": ("endmember", np.arange(k), {"long_name": "endmember index"}),
    }
    refl = {"units": "1"}
    ds = xr.Dataset(
        {
            "cube": (("y", "x", "band"), cube, {"long_name": "observed reflectance (cube_exact plus noise)", **refl}),
            "cube_exact": (("y", "x", "band"), exact, {"long_name": "noise-free reflectance", **refl}),
            "abundances": (("endmember", "y", "x"), A,
                           {"long_name": "true abundance (fraction of the pixel)", "units": "1"}),
            "endmembers": (("endmember", "band"), E, {"long_name": "endmember reflectance spectrum", **refl}),
            "noise_std": (("band",), factor * w, {"long_name": "noise standard deviation per band", **refl}),
        },
        coords=coords,
    )
    ds.attrs.update(
        problem="hyperspectral_cube",
        noise=float(noise),
        seed=int(seed),
        noise_norm=float(np.linalg.norm(e)),
        length_scale=float(length_scale),
        sharpness=float(sharpness),
        description=(
            "Synthetic hyperspectral image by the linear mixing model: smooth abundance maps (softmax of "
            "Gaussian random fields), smooth endmember spectra, band-dependent Gaussian noise."
        ),
        reference=(
            "N. Keshava and J. F. Mustard, IEEE Signal Process. Mag. 19 (2002), 44-57; "
            "X. Lu et al., IEEE TGRS 51 (2013), 2815-2826"
        ),
    )
    return ds
