"""The ``.spectral`` accessor: labelled objects call spectrakit's functions directly.

The accessor only delegates, and it is generated from one table,
:data:`spectrakit._registry.ENTRIES`: every labelled function whose first argument is
data is a method of ``DataArray.spectral`` with the DataArray as that argument; those that
take a Dataset are methods of ``Dataset.spectral`` too (the Fourier functions map over its
data variables). On a :mod:`spectrakit.datasets` problem (variables ``A`` and ``b``,
optional ``x_true``, attr ``noise_norm``), ``regularize`` and ``picard`` use those.

>>> import numpy as np, spectrakit
>>> problem = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
>>> path = problem.spectral.regularize(reg=np.logspace(-8, 0, 17), device="cpu")
>>> path.spectral.choose("gcv") > 0
True
>>> problem["A"].spectral.picard(problem["b"], device="cpu")["ratio"].dims
('mode',)
"""

from __future__ import annotations

import inspect

import xarray as xr

from .._registry import Entry, accessor_entries


def _problem_args(ds: xr.Dataset, entry: Entry, kwargs: dict) -> tuple:
    """``A``, ``b`` and the keyword arguments a problem Dataset supplies (``x_true``,
    ``noise_norm``) for the entries that take them."""
    for name in ("A", "b"):
        if name not in ds:
            raise ValueError(f"this Dataset has no variable {name!r}: expected a problem with A and b.")
    params = entry.parameters
    if "x_true" in ds and "x_true" in params:
        kwargs.setdefault("x_true", ds["x_true"])
    if ds.attrs.get("noise_norm") and "noise_norm" in params:
        kwargs.setdefault("noise_norm", ds.attrs["noise_norm"])
    return (ds["A"], ds["b"]), kwargs


def _method(entry: Entry, kind: str):
    """The accessor method that calls ``entry``'s function with the object first."""
    as_problem = kind == "dataset" and entry.dataset_as == "problem"

    def method(self, *args, **kwargs):
        if as_problem:
            first, kwargs = _problem_args(self._obj, entry, kwargs)
            return entry.function(*first, *args, **kwargs)
        return entry.function(self._obj, *args, **kwargs)

    fn = entry.function
    params = list(inspect.signature(fn).parameters.values())
    rest = params[2:] if as_problem else params[1:]
    method.__name__ = method.__qualname__ = entry.name
    method.__signature__ = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY), *rest])
    what = "the problem's A and b" if as_problem else f"this {'Dataset' if kind == 'dataset' else 'DataArray'} as ``{params[0].name}``"
    summary = (fn.__doc__ or "").strip().split("\n\n")[0]
    method.__doc__ = f":func:`{entry.qualname}` with {what}.\n\n{summary}"
    return method


def _build(cls, kind: str):
    for entry in accessor_entries(kind):
        setattr(cls, entry.name, _method(entry, kind))
    return cls


class SpectralDataArrayAccessor:
    """``da.spectral``: every labelled function whose first argument is data, with this
    DataArray as that argument (an operator ``A``, a signal, an adjacency, points, ...)."""

    def __init__(self, obj: xr.DataArray):
        self._obj = obj


class SpectralDatasetAccessor:
    """``ds.spectral`` on a problem (variables A, b, optional x_true, attr noise_norm), on
    a path returned by :func:`spectrakit.regularize`, or on any Dataset the Fourier
    functions map over."""

    def __init__(self, obj: xr.Dataset):
        self._obj = obj


xr.register_dataarray_accessor("spectral")(_build(SpectralDataArrayAccessor, "dataarray"))
xr.register_dataset_accessor("spectral")(_build(SpectralDatasetAccessor, "dataset"))
