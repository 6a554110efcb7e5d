"""spectrakit.xr.representations against spectrakit.core.representations: the same numbers, labelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core import representations as core
from spectrakit.xr import representations as sxr

DT = torch.float64


def _z(seed=0, n=40, d=5):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=DT) * torch.linspace(2, 0.1, d,
                                                                                                        dtype=DT)


def _as(t, kind, dims=("item", "unit")):
    if kind == "numpy":
        return t.numpy().copy()
    if kind == "torch":
        return t.clone()
    return xr.DataArray(t.numpy().copy(), dims=dims[: t.ndim])


def _np(x):
    return x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_spectra_and_ranks_match_core(kind):
    z = _z()
    inp = _as(z, kind)
    before = _np(inp).copy()
    s = sxr.covariance_spectrum(inp, device="cpu")
    np.testing.assert_array_equal(s.values, core.covariance_spectrum(z).numpy())
    assert s.dims == ("mode",) and s["mode"].values.tolist() == list(range(5))
    np.testing.assert_allclose(s.values, np.linalg.eigvalsh(np.cov(z.numpy(), rowvar=False))[::-1], rtol=1e-12)
    assert float(sxr.effective_rank(s)) == float(core.effective_rank(core.covariance_spectrum(z)))
    assert float(sxr.effective_rank(inp, kind="covariance", device="cpu")) == float(core.effective_rank(z, kind="covariance"))
    assert float(sxr.spectral_entropy(s)) == float(core.spectral_entropy(core.covariance_spectrum(z)))
    assert float(sxr.von_neumann_entropy(inp, device="cpu")) == float(core.von_neumann_entropy(z))
    terms = sxr.vicreg_terms(inp, inp, device="cpu")
    ref = core.vicreg_terms(z, z)
    for name, value in ref._asdict().items():
        assert float(terms[name]) == float(value)
    white = sxr.iternorm_whiten(inp, 4, device="cpu")
    np.testing.assert_array_equal(white.values, core.iternorm_whiten(z, 4).numpy())
    assert white.dims == (("item", "unit") if kind == "xarray" else ("sample", "feature"))
    np.testing.assert_array_equal(_np(inp), before)
    assert s.attrs["device"] == "cpu" and s.attrs["dtype"] == "float64"


def test_batches_of_spectra_keep_their_dims():
    hist = xr.DataArray(np.abs(_z(1, 6, 4).numpy()), dims=("step", "mode"), coords={"step": np.arange(0, 60, 10)})
    r = sxr.effective_rank(hist)
    np.testing.assert_array_equal(r.values, core.effective_rank(torch.tensor(hist.values)).numpy())
    assert r.dims == ("step",) and r["step"].values.tolist() == list(range(0, 60, 10))
    # the spectrum dim is found by name whatever its position
    assert np.array_equal(sxr.effective_rank(hist.T).values, r.values)
    assert sxr.spectral_entropy(np.ones((3, 4))).dims == ("step",)


def test_iternorm_labels_both_dims():
    cov = xr.DataArray(np.diag([4.0, 1.0, 0.25]), dims=("f", "g"), coords={"f": list("abc")})
    W = sxr.iternorm(cov, T=8)
    np.testing.assert_array_equal(W.values, core.iternorm(torch.tensor(cov.values), 8).numpy())
    assert W.dims == ("f", "f_") and W["f_"].values.tolist() == list("abc")


def test_toy_data_training_and_barlow_twins_match_core():
    views = sxr.ssl_toy_data(200, 6, decay=0.5, seed=0)
    pair = core.ssl_toy_data(200, 6, decay=0.5, seed=0, device="cpu", dtype=DT)
    np.testing.assert_array_equal(views["view_a"].values, pair.view_a.numpy())
    assert views["view_b"].dims == ("sample", "feature")
    enc = sxr.linear_encoder(6, 3, seed=1)
    run = sxr.train_ssl(enc, views, lambda a, b: sxr.vicreg_loss(a, b), steps=10, record_every=5)
    ref = core.train_ssl(enc, pair, lambda a, b: core.vicreg_loss(a, b), steps=10, record_every=5)
    np.testing.assert_array_equal(run.history["eigenvalues"].values, ref.spectra.detach().numpy())
    np.testing.assert_array_equal(run.history["loss"].values, ref.loss.detach().numpy())
    assert run.history["step"].values.tolist() == [0, 5, 10] and run.history["mode"].values.tolist() == [0, 1, 2]
    np.testing.assert_allclose(run.history["effective_rank"].values,
                               core.effective_rank(ref.spectra.detach()).numpy())
    bt = sxr.linear_barlow_twins(views, 2, steps=200, lr=0.05, seed=0)
    bref = core.linear_barlow_twins(pair.view_a, pair.view_b, 2, steps=200, lr=0.05, seed=0)
    np.testing.assert_array_equal(bt["eigenvalues"].values, bref.eigenvalues.numpy())
    np.testing.assert_array_equal(bt["weights"].values, bref.weights.numpy())
    np.testing.assert_array_equal(sxr.switch_on_steps(bt["eigenvalues"]).values,
                                  core.switch_on_steps(bref.eigenvalues).numpy())
    assert views.spectral.linear_barlow_twins(2, steps=200).equals(bt)


def test_switch_on_steps_reads_the_step_coordinate():
    h = xr.DataArray([[0.0, 0.0], [0.6, 0.0], [1.0, 0.1], [1.0, 0.9], [1.0, 1.0]], dims=("step", "mode"),
                     coords={"step": [0, 10, 20, 30, 40]})
    assert sxr.switch_on_steps(h).values.tolist() == [10, 30]


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="z"):
        sxr.covariance_spectrum(np.zeros(4))
    with pytest.raises(ValueError, match="z"):
        sxr.covariance_spectrum(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="kind"):
        sxr.effective_rank(np.ones(3), kind="nope")
    with pytest.raises(ValueError, match="covariance"):
        sxr.iternorm(np.ones(3))
    with pytest.raises(TypeError, match="views"):
        sxr.linear_barlow_twins(3, 2)
    with pytest.raises(TypeError, match="encoder"):
        sxr.train_ssl("enc", sxr.ssl_toy_data(10, 2), sxr.vicreg_loss)
