"""The ``.spectral`` accessor: labelled objects call spectrakit's functions directly.

The accessor only delegates; each capability keeps its code in its own module.

>>> import numpy as np, spectrakit
>>> problem = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
>>> path = problem.spectral.regularize(reg=np.logspace(-8, 0, 17), device="cpu")
>>> path.spectral.choose("gcv") > 0
True
"""

from __future__ import annotations

import xarray as xr

from . import filtering


@xr.register_dataarray_accessor("spectral")
class SpectralDataArrayAccessor:
    """``A.spectral``: A is the operator (its row dim is the one it shares with b)."""

    def __init__(self, obj: xr.DataArray):
        self._obj = obj

    def regularize(self, b, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.regularize` with this DataArray as A."""
        return filtering.regularize(self._obj, b, **kwargs)

    def picard(self, b, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.picard` with this DataArray as A."""
        return filtering.picard(self._obj, b, **kwargs)


@xr.register_dataset_accessor("spectral")
class SpectralDatasetAccessor:
    """``ds.spectral`` on a problem (variables A, b, optional x_true, attr noise_norm) or
    on a path returned by :func:`spectrakit.regularize`."""

    def __init__(self, obj: xr.Dataset):
        self._obj = obj

    def _problem_args(self, kwargs):
        ds = self._obj
        for name in ("A", "b"):
            if name not in ds:
                raise ValueError(f"this Dataset has no variable {name!r}: expected a problem with A and b.")
        if "x_true" in ds:
            kwargs.setdefault("x_true", ds["x_true"])
        return ds["A"], ds["b"], kwargs

    def regularize(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.regularize` on the problem's A, b (and x_true, noise_norm)."""
        A, b, kwargs = self._problem_args(kwargs)
        if self._obj.attrs.get("noise_norm"):
            kwargs.setdefault("noise_norm", self._obj.attrs["noise_norm"])
        return filtering.regularize(A, b, **kwargs)

    def picard(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.picard` on the problem's A and b."""
        A, b, kwargs = self._problem_args(kwargs)
        kwargs.pop("x_true", None)
        return filtering.picard(A, b, **kwargs)

    def choose(self, criterion: str, **options) -> float:
        """:func:`spectrakit.choose` on this path."""
        return filtering.choose(self._obj, criterion, **options)
