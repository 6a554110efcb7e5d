"""spectrakit.xr.dynamics against spectrakit.core.dynamics: the same numbers, labelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core import dynamics as core
from spectrakit.xr import dynamics as sxd

DT = torch.float64


def _least_squares(seed=0, n=12, d=6):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=DT)
    y = torch.randn(n, generator=g, dtype=DT)
    w = torch.zeros(d, dtype=DT, requires_grad=True)
    return X, y, w, (lambda: ((X @ w - y) ** 2).mean() / 2)


def test_hessian_spectrum_matches_core_and_numpy():
    X, y, w, loss = _least_squares()
    spec = sxd.hessian_spectrum(loss, [w], k=3, seed=0, eigenvectors=True)
    vals, vecs = core.hessian_top_eigenvalues(loss, [w], k=3, seed=0)
    np.testing.assert_array_equal(spec["eigenvalue"].values, vals.numpy())
    np.testing.assert_array_equal(spec["eigenvector"].values, vecs.numpy().T)
    assert spec["eigenvalue"].dims == ("mode",) and spec["eigenvector"].dims == ("mode", "param")
    assert spec["mode"].values.tolist() == [0, 1, 2]
    mu = np.linalg.eigvalsh((X.T @ X / len(X)).numpy())[::-1]
    np.testing.assert_allclose(spec["eigenvalue"].values, mu[:3], rtol=1e-10)
    assert spec.attrs["sharpness"] == float(vals[0]) and spec.attrs["solver"] == "lanczos"
    assert spec.attrs["device"] == "cpu" and spec.attrs["dtype"] == "float64"
    assert "eigenvector" not in sxd.hessian_spectrum(loss, [w], k=1, seed=0)


def test_hutchinson_trace_and_ntk_spectrum_match_core():
    X, y, w, loss = _least_squares()
    matvec, n = sxd.hvp_operator(loss, [w])
    tr = sxd.hutchinson_trace(matvec, n, n_samples=20, seed=1)
    est, se = core.hutchinson_trace(matvec, n, n_samples=20, seed=1)
    assert float(tr["estimate"]) == float(est) and float(tr["standard_error"]) == float(se)
    assert tr.attrs["n_samples"] == 20 and tr.attrs["method"] == "hutchinson"
    nt = sxd.ntk_spectrum(lambda: X @ w, [w], k=4)
    vals, vecs = core.ntk_eigen(lambda: X @ w, [w], 4)
    np.testing.assert_array_equal(nt["eigenvalue"].values, vals.numpy())
    np.testing.assert_array_equal(nt["eigenvector"].values, vecs.numpy().T)
    assert nt["eigenvector"].dims == ("mode", "output") and nt.sizes["mode"] == 4


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_training_jacobian_accepts_every_input_and_leaves_it(kind):
    A = np.diag([1.0, 2.0, 3.0])
    w0_np = np.array([1.0, -1.0, 0.5])
    w0 = {"numpy": w0_np.copy(), "torch": torch.tensor(w0_np), "xarray": xr.DataArray(
        w0_np.copy(), dims="weight", coords={"weight": ["a", "b", "c"]})}[kind]
    At = torch.tensor(A)

    def step(w):
        return w - 0.1 * (At @ w)

    J = sxd.training_jacobian(step, w0, 4, device="cpu")
    expected = np.linalg.matrix_power(np.eye(3) - 0.1 * A, 4)
    np.testing.assert_allclose(J.values, expected, rtol=1e-12)
    np.testing.assert_array_equal(J.values, core.training_jacobian(step, torch.tensor(w0_np), 4).numpy())
    if kind == "xarray":
        assert J.dims == ("weight", "weight_") and J["weight_"].values.tolist() == ["a", "b", "c"]
    else:
        assert J.dims == ("param", "param_")
    np.testing.assert_array_equal(np.asarray(w0 if kind != "torch" else w0.numpy()), w0_np)
    assert J.attrs["steps"] == 4 and J.attrs["dtype"] == "float64"


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_ema_filter_response_matches_core(kind):
    f_np = np.array([0.0, 0.01, 0.1, 0.5])
    f = {"numpy": f_np.copy(), "torch": torch.tensor(f_np),
         "xarray": xr.DataArray(f_np.copy(), dims="freq", coords={"freq": f_np})}[kind]
    H = sxd.ema_filter_response(f, 0.98, 2.0, device="cpu")
    np.testing.assert_array_equal(H.values, core.ema_filter_response(torch.tensor(f_np), 0.98, 2.0).numpy())
    assert H.dims == ("freq",) and H["freq"].values.tolist() == f_np.tolist()
    assert H.attrs["alpha"] == 0.98 and H.attrs["lamb"] == 2.0
    scalar = sxd.ema_filter_response(0.5, 0.98, 2.0)
    assert scalar.dims == () and abs(complex(scalar.values) - complex(H.values[-1])) < 1e-15
    np.testing.assert_array_equal(np.asarray(f if kind != "torch" else f.numpy()), f_np)


def test_accessor_calls_the_function():
    f = xr.DataArray([0.0, 0.25], dims="freq")
    np.testing.assert_array_equal(f.spectral.ema_filter_response(0.9, 1.0).values,
                                  sxd.ema_filter_response(f, 0.9, 1.0).values)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="w0"):
        sxd.training_jacobian(lambda w: w, np.zeros((2, 2)), 1)
    with pytest.raises(ValueError, match="w0"):
        sxd.training_jacobian(lambda w: w, np.array([np.nan, 1.0]), 1)
    with pytest.raises(ValueError, match="freq"):
        sxd.ema_filter_response(np.zeros((2, 2)), 0.9, 1.0)
    with pytest.raises(ValueError, match="freq"):
        sxd.ema_filter_response([np.inf], 0.9, 1.0)
    X, y, w, loss = _least_squares()
    with pytest.raises(ValueError, match="k"):
        sxd.hessian_spectrum(loss, [w], k=100)
