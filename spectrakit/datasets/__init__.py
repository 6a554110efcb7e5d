"""Test problems as xarray Datasets (numpy + xarray only; no network, no GUI imports).

Every generator has the signature ``problem(n, *, ..., noise=0.0, seed=None)`` and
returns an ``xarray.Dataset`` with ``A`` (row dim, column dim), ``b``, ``b_exact`` (row
dim) and ``x_true`` (column dim), coordinates on both dims, and attrs ``problem``,
``noise``, ``seed``, ``noise_norm = ||b - b_exact||``, ``description`` and ``reference``.
The noise is relative: ``||b - b_exact|| = noise * ||b_exact||``.

Linear inverse problems (dims ``("obs", "t")``: data at Hansen's points s, solution at t; Regularization Tools):
:func:`shaw`, :func:`deriv2`, :func:`phillips`, :func:`baart`, :func:`foxgood`,
:func:`heat`, :func:`gravity`, and :func:`deblur1d` (1-D Gaussian blur).

Regression (dims ``("sample", "feature")``): :func:`ridge_regression`.

Hyperspectral unmixing (its own layout: ``cube`` (y, x, band) with wavelengths in nm,
``abundances``, ``endmembers``; the same relative-noise and seed contract):
:func:`hyperspectral_cube`.

Graphs (an adjacency DataArray over ``(node, node_)`` with the true communities as the
coordinate ``block``): :func:`stochastic_block_model`.

Real data (not generators: each returns one ``xarray.DataArray`` with numeric, evenly
spaced coordinates, read from a file an optional package ships; no network):
:func:`sunspots` and :func:`co2` (``pip install statsmodels``), :func:`camera`
(``pip install scikit-image``).
"""

from .graphs import stochastic_block_model
from .hyperspectral import hyperspectral_cube
from .inverse_problems import baart, deblur1d, deriv2, foxgood, gravity, heat, phillips, shaw
from .real import camera, co2, sunspots
from .regression import ridge_regression

__all__ = [
    "baart",
    "camera",
    "co2",
    "deblur1d",
    "deriv2",
    "foxgood",
    "gravity",
    "heat",
    "hyperspectral_cube",
    "phillips",
    "ridge_regression",
    "shaw",
    "stochastic_block_model",
    "sunspots",
]
