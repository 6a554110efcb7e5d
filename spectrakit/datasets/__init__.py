"""Test problems as xarray Datasets (numpy + xarray only; no network, no GUI imports).

Every generator has the signature ``problem(n, *, ..., noise=0.0, seed=None)`` and
returns an ``xarray.Dataset`` with ``A`` (row dim, column dim), ``b``, ``b_exact`` (row
dim) and ``x_true`` (column dim), coordinates on both dims, and attrs ``problem``,
``noise``, ``seed``, ``noise_norm = ||b - b_exact||``, ``description`` and ``reference``.
The noise is relative: ``||b - b_exact|| = noise * ||b_exact||``.

Linear inverse problems (dims ``("s", "t")``; Hansen's Regularization Tools):
:func:`shaw`, :func:`deriv2`, :func:`phillips`, :func:`baart`, :func:`foxgood`,
:func:`heat`, :func:`gravity`, and :func:`deblur1d` (1-D Gaussian blur).

Regression (dims ``("sample", "feature")``): :func:`ridge_regression`.
"""

from .inverse_problems import baart, deblur1d, deriv2, foxgood, gravity, heat, phillips, shaw
from .regression import ridge_regression

__all__ = [
    "baart",
    "deblur1d",
    "deriv2",
    "foxgood",
    "gravity",
    "heat",
    "phillips",
    "ridge_regression",
    "shaw",
]
