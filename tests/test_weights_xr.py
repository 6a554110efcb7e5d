"""spectrakit.xr.weights against spectrakit.core.weights: the same numbers, labelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from torch import nn

from spectrakit.core import weights as core
from spectrakit.xr import weights as sxw

DT = torch.float64


def _kernel(seed=0, shape=(4, 3, 3, 3)):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


def _inputs(t, kind):
    if kind == "numpy":
        return t.numpy().copy()
    if kind == "torch":
        return t.clone()
    return xr.DataArray(t.numpy().copy(), dims=("out", "in", "kh", "kw")[: t.ndim] if t.ndim == 4 else ("o", "i"))


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_conv_spectra_match_core(kind):
    w = _kernel()
    inp = _inputs(w, kind)
    before = np.array(inp if kind != "torch" else inp.numpy(), copy=True)
    sv = sxw.conv_singular_values(inp, (6, 6), device="cpu")
    np.testing.assert_array_equal(sv.values, core.conv_singular_values(w, (6, 6)).numpy())
    assert sv.dims == ("mode",) and sv["mode"].values.tolist() == list(range(6 * 6 * 3))
    byf = sxw.conv_singular_values(inp, (6, 6), by_frequency=True, device="cpu")
    assert byf.dims == ("freq_h", "freq_w", "mode") and byf.shape == (6, 6, 3)
    np.testing.assert_array_equal(byf.values, core.conv_singular_values(w, (6, 6), by_frequency=True).numpy())
    np.testing.assert_allclose(byf["freq_h"].values, np.fft.fftfreq(6))
    norm = sxw.conv_operator_norm(inp, (6, 6), device="cpu")
    assert float(norm) == float(core.conv_operator_norm(w, (6, 6))) == float(sv[0])
    M = sxw.conv_matrix(inp, (6, 6), device="cpu")
    np.testing.assert_array_equal(M.values, core.conv_matrix(w, (6, 6)).numpy())
    np.testing.assert_allclose(np.linalg.svd(M.values, compute_uv=False), sv.values, rtol=1e-10, atol=1e-12)
    gram = sxw.gram_iteration_norm(inp, (6, 6), 3, device="cpu")
    assert float(gram) == float(core.gram_iteration_norm(w, (6, 6), 3)) >= float(norm) * (1 - 1e-12)
    sn = sxw.spectral_normalize(inp, 2.0, (6, 6), device="cpu")
    np.testing.assert_allclose(sn.values, core.spectral_normalize(w, 2.0, (6, 6)).numpy(), rtol=1e-14)
    assert sn.dims == ("out", "in", "kh", "kw") and float(sxw.conv_operator_norm(sn, (6, 6))) == pytest.approx(2.0)
    np.testing.assert_array_equal(np.asarray(inp if kind != "torch" else inp.numpy()), before)
    assert sv.attrs["device"] == "cpu" and sv.attrs["dtype"] == "float64" and sv.attrs["input_shape"] == [6, 6]


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_power_iteration_matches_core(kind):
    A = _kernel(1, (7, 5)).reshape(7, 5)
    inp = _inputs(A, kind)
    v0 = torch.ones(5, dtype=DT)
    res = sxw.power_iteration(inp, v0=v0.numpy(), max_iter=10, tol=0, device="cpu")
    ref = core.power_iteration(A, v0=v0, max_iter=10, tol=0)
    assert float(res["sigma"]) == float(ref.sigma)
    np.testing.assert_array_equal(res["vector"].values, ref.vector.numpy())
    np.testing.assert_array_equal(res["history"].values, ref.history.numpy())
    assert res["history"].dims == ("iteration",) and res["iteration"].values.tolist() == list(range(1, 11))
    assert res["vector"].dims == (("i",) if kind == "xarray" else ("col",))
    conv = sxw.conv_power_iteration(_kernel().numpy(), (5, 5), seed=0, max_iter=5, tol=0, device="cpu")
    ref = core.conv_power_iteration(_kernel(), (5, 5), seed=0, max_iter=5, tol=0)
    np.testing.assert_array_equal(conv["history"].values, ref.history.numpy())
    assert conv["vector"].dims == ("in", "h", "w")


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 6 * 6, 3)).double()


def test_layer_spectra_and_lipschitz_match_core():
    net = _net()
    spec = sxw.layer_spectra(net, (6, 6))
    ref = core.layer_spectra(net, (6, 6))
    assert spec["singular_values"].dims == ("layer", "mode") and spec["layer"].values.tolist() == [0, 1]
    assert spec["module"].values.tolist() == ["0", "3"] and spec["kind"].values.tolist() == ["conv2d", "linear"]
    assert spec["n_values"].values.tolist() == [36, 3] and spec["exact"].values.tolist() == [True, True]
    for i, s in enumerate(ref):
        np.testing.assert_array_equal(spec["singular_values"][i].dropna("mode").values, s.singular_values.numpy())
        assert float(spec["norm"][i]) == float(s.norm)
    assert float(sxw.lipschitz_bound(net, (6, 6))) == float(core.lipschitz_bound(net, (6, 6)).detach())
    x = np.random.default_rng(0).standard_normal((5, 1, 6, 6))
    x_before = x.copy()
    norms = sxw.input_jacobian_norms(net, x)
    np.testing.assert_allclose(norms.values, core.input_jacobian_norms(net, torch.tensor(x)).numpy(), rtol=1e-12)
    assert norms.dims == ("sample",)
    labelled = sxw.input_jacobian_norms(net, xr.DataArray(x, dims=("image", "c", "h", "w"),
                                                          coords={"image": list("abcde")}))
    assert labelled.dims == ("image",) and labelled["image"].values.tolist() == list("abcde")
    assert float(sxw.max_input_gradient_norm(net, torch.tensor(x))) == pytest.approx(float(norms.max()), rel=1e-12)
    np.testing.assert_array_equal(x, x_before)


def test_accessor_calls_the_functions():
    w = xr.DataArray(_kernel().numpy(), dims=("out", "in", "kh", "kw"))
    np.testing.assert_array_equal(w.spectral.conv_singular_values((5, 5)).values,
                                  sxw.conv_singular_values(w, (5, 5)).values)
    assert float(w.spectral.conv_operator_norm((5, 5))) == float(sxw.conv_operator_norm(w, (5, 5)))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="weight"):
        sxw.conv_singular_values(np.zeros(3), (4, 4))
    with pytest.raises(ValueError, match="weight"):
        sxw.conv_operator_norm(np.full((2, 2, 3, 3), np.nan), (4, 4))
    with pytest.raises(ValueError, match="operator"):
        sxw.power_iteration(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="model"):
        sxw.layer_spectra("not a model")
    with pytest.raises(ValueError, match="inputs"):
        sxw.input_jacobian_norms(_net(), np.full((2, 1, 6, 6), np.inf))
