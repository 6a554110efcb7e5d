"""The registry of public entry points (spectrakit/_registry.py) and the accessor it generates."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import xarray as xr

import spectrakit
from spectrakit import _registry as R
from spectrakit import datasets, tuning
from spectrakit import xr as sx
from spectrakit.xr.accessor import SpectralDataArrayAccessor, SpectralDatasetAccessor


def _public(module) -> set[str]:
    return {n for n in module.__all__ if callable(getattr(module, n))}


def test_every_public_entry_point_is_registered_once():
    names = [e.name for e in R.ENTRIES]
    assert len(names) == len(set(names))
    public = _public(sx) | {n for n in tuning.__all__ if n.endswith("Session")} | _public(datasets)
    assert set(names) == public


def test_every_entry_resolves_to_the_public_object():
    for e in R.ENTRIES:
        module = e.module.rsplit(".", 1)[0] if e.module.startswith("spectrakit.xr.") else e.module
        package = {"spectrakit.xr": sx, "spectrakit.tuning": tuning, "spectrakit.datasets": datasets}[module]
        assert getattr(package, e.name) is e.function, e.qualname
        if e.module.startswith("spectrakit.xr.") or e.module == "spectrakit.tuning":
            assert getattr(spectrakit, e.name) is e.function, e.name  # the top level exports it too


def test_every_parameter_has_a_known_kind():
    bad = [(e.qualname, p, k) for e in R.ENTRIES for p, k in e.parameters.items() if k not in R.KINDS]
    assert not bad, bad
    assert set(R.KIND_BY_NAME.values()) <= set(R.KINDS)


def _methods(cls) -> set[str]:
    return {n for n, v in vars(cls).items() if callable(v) and not n.startswith("_")}


def test_the_accessor_is_the_registry():
    assert _methods(SpectralDataArrayAccessor) == {e.name for e in R.accessor_entries("dataarray")}
    assert _methods(SpectralDatasetAccessor) == {e.name for e in R.accessor_entries("dataset")}


def test_every_labelled_function_of_data_is_an_accessor_method():
    for e in R.ENTRIES:
        if not e.module.startswith("spectrakit.xr.") or inspect.isclass(e.function):
            continue
        first = next(iter(e.parameters.values()))
        # data first: a DataArray method; a Dataset first (a path, a problem): a Dataset method
        assert ("dataarray" in e.accessors) == (first == "data"), e.name
        if first == "dataset":
            assert e.accessors == ("dataset",), e.name


def test_accessor_methods_delegate_with_the_object_first():
    rng = np.random.default_rng(0)
    t = np.arange(128) * 0.1
    da = xr.DataArray(np.sin(t) + 0.1 * rng.standard_normal(t.size), dims="time", coords={"time": t})
    for got, want in (
        (da.spectral.smooth("time", reg=1e-2, device="cpu"), sx.smooth(da, "time", reg=1e-2, device="cpu")),
        (da.spectral.power("time"), sx.power(da, "time")),
        (da.to_dataset(name="v").spectral.power("time"), sx.power(da.to_dataset(name="v"), "time")),
    ):
        xr.testing.assert_identical(got, want)
    problem = datasets.shaw(24, noise=1e-3, seed=0)
    reg = np.logspace(-8, 0, 9)
    direct = sx.regularize(problem["A"], problem["b"], reg=reg, x_true=problem["x_true"],
                           noise_norm=problem.attrs["noise_norm"], device="cpu")
    xr.testing.assert_identical(problem.spectral.regularize(reg=reg, device="cpu"), direct)
    assert problem.spectral.regularize(reg=reg, device="cpu").spectral.choose("gcv") == sx.choose(direct, "gcv")
    xr.testing.assert_identical(problem["A"].spectral.picard(problem["b"], device="cpu"),
                                sx.picard(problem["A"], problem["b"], device="cpu"))


def test_accessor_methods_show_the_function_signature_and_doc():
    method = SpectralDataArrayAccessor.smooth
    params = list(inspect.signature(method).parameters)
    assert params[0] == "self" and "da" not in params and "reg" in params
    assert "spectrakit.xr.fourier.smooth" in method.__doc__
    problem_method = SpectralDatasetAccessor.regularize
    assert {"A", "b"}.isdisjoint(inspect.signature(problem_method).parameters)
    with pytest.raises(ValueError, match="no variable 'A'"):
        xr.Dataset({"b": ("s", np.ones(3))}).spectral.regularize(reg=1.0)


def test_an_unregistered_name_is_named():
    with pytest.raises(KeyError, match="not_a_function"):
        R.entry("not_a_function")
    assert R.entry("smooth").parameters["reg"] == "reg"
