"""spectrakit.xr.filter_factors against spectrakit.core.spectral.filter_factors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import spectrakit.xr as sx
from spectrakit.core import spectral


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
@pytest.mark.parametrize("method, options", [("tikhonov", {}), ("tsvd", {}), ("landweber", {"omega": 0.01}),
                                             ("iterated_tikhonov", {"order": 3})])
def test_filter_factors_match_core(kind, method, options):
    s_np = np.logspace(-2, 2, 9)
    s = {"numpy": s_np.copy(), "torch": torch.tensor(s_np),
         "xarray": xr.DataArray(s_np.copy(), dims="k", coords={"k": np.arange(9) * 2})}[kind]
    reg = np.array([0.1, 1.0, 10.0])
    h = sx.filter_factors(s, reg, method, device="cpu", **options)
    f, native = spectral.filter_factors(torch.tensor(s_np), torch.tensor(reg), method, **options)
    np.testing.assert_array_equal(h.values, f.numpy())
    dim = "k" if kind == "xarray" else "mode"
    assert h.dims == ("reg", dim) and h["reg"].values.tolist() == reg.tolist()
    for name, t in native.items():
        np.testing.assert_array_equal(h[name].values, t.numpy().reshape(-1))
    if kind != "xarray":
        np.testing.assert_array_equal(h["s"].values, s_np)
        assert h["mode"].values.tolist() == list(range(9))
    assert h.attrs["method"] == method and h.attrs["dtype"] == "float64"
    np.testing.assert_array_equal(np.asarray(s if kind != "torch" else s.numpy()), s_np)
    one = sx.filter_factors(s, 1.0, method, device="cpu", **options)
    assert one.dims == (dim,) and one.attrs["reg"] == 1.0
    np.testing.assert_array_equal(one.values, h.sel(reg=1.0).values)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="reg"):
        sx.filter_factors([1.0, 2.0], -1.0)
    with pytest.raises(ValueError, match="s must"):
        sx.filter_factors(np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="s must be >= 0"):
        sx.filter_factors([-1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="method"):
        sx.filter_factors([1.0], 1.0, "nope")
