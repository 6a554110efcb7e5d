"""spectrakit.xr.implicit against spectrakit.core.implicit: the same numbers, labelled."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from spectrakit.core import implicit as core
from spectrakit.xr import implicit as sxi

DT = torch.float64


def test_matrix_sensing_matches_core():
    problem = sxi.matrix_sensing_problem(8, [3.0, 1.0], n_measurements=60, seed=0)
    ref_p = core.matrix_sensing_problem(8, [3.0, 1.0], n_measurements=60, seed=0, device="cpu", dtype=DT)
    np.testing.assert_array_equal(problem["sensing"].values, ref_p.sensing.numpy())
    np.testing.assert_array_equal(problem["target"].values, ref_p.target.numpy())
    assert problem["factor"].dims == ("row", "mode") and problem["measurements"].dims == ("measurement",)
    run = sxi.gd_matrix_sensing(problem, steps=120, lr=0.05, init_scale=1e-3, record_every=2)
    ref = core.gd_matrix_sensing(ref_p, steps=120, lr=0.05, init_scale=1e-3, record_every=2)
    np.testing.assert_array_equal(run["singular_values"].values, ref.singular_values.numpy())
    np.testing.assert_array_equal(run["error"].values, ref.error.numpy())
    np.testing.assert_array_equal(run["step"].values, ref.steps.numpy())
    assert run["singular_values"].dims == ("step", "mode") and run["mode"].values.tolist() == list(range(8))
    assert run["target"].values.tolist() == [3.0, 1.0] + [0.0] * 6
    times = sxi.learning_times(run)
    np.testing.assert_array_equal(times.values, core.learning_times(ref.singular_values, ref.target,
                                                                    steps=ref.steps).numpy())
    assert times.dims == ("mode",) and times["mode"].values.tolist() == [0, 1]
    fast = sxi.scaled_gd(problem, damping=1e-4, steps=30, width=3)
    ref = core.scaled_gd(ref_p, damping=1e-4, steps=30, width=3)
    np.testing.assert_array_equal(fast["factor"].values, ref.factor.numpy())
    assert fast["singular_values"].sizes["mode"] == 3 and fast.attrs["method"] == "scaledgd"
    assert int(sxi.first_step_below(fast["error"], 1e-2)) == int(core.first_step_below(ref.error, 1e-2, ref.steps))


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_diagonal_networks_match_core(kind):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(10, 20, generator=g, dtype=DT)
    y = X[:, 0] - 0.5 * X[:, 3]
    Xin = {"numpy": X.numpy().copy(), "torch": X.clone(),
           "xarray": xr.DataArray(X.numpy().copy(), dims=("obs", "coef"), coords={"coef": np.arange(20) * 10})}[kind]
    before = np.array(Xin if kind != "torch" else Xin.numpy(), copy=True)
    run = sxi.diagonal_network_gd(Xin, y.numpy(), init_scale=[1e-2, 1.0], lr=0.05, steps=200, record_every=100,
                                  device="cpu")
    ref = core.diagonal_network_gd(X, y, init_scale=torch.tensor([1e-2, 1.0], dtype=DT), lr=0.05, steps=200,
                                   record_every=100)
    np.testing.assert_array_equal(run["weights"].values, ref.weights.numpy())
    np.testing.assert_array_equal(run["history"].values, ref.history.numpy())
    feature = "coef" if kind == "xarray" else "feature"
    assert run["weights"].dims == ("init_scale", feature) and run["step"].values.tolist() == [0, 100, 200]
    assert run["init_scale"].values.tolist() == [1e-2, 1.0]
    single = sxi.diagonal_network_gd(Xin, y.numpy(), init_scale=0.1, lr=0.05, steps=10, device="cpu")
    assert single["weights"].dims == (feature,) and single.attrs["init_scale"] == 0.1
    lim = sxi.diagonal_network_limit(Xin, y.numpy(), [1e-2, 1.0], device="cpu")
    np.testing.assert_array_equal(lim.values, core.diagonal_network_limit(X, y, torch.tensor([1e-2, 1.0],
                                                                                            dtype=DT)).numpy())
    if kind == "xarray":
        assert lim["coef"].values.tolist() == list(range(0, 200, 10))
    q = sxi.diagonal_network_potential(lim, 0.5)
    np.testing.assert_array_equal(q.values, core.diagonal_network_potential(torch.tensor(lim.values), 0.5).numpy())
    assert q.dims == ("init_scale",)
    l1 = sxi.min_l1_interpolator(Xin, y.numpy(), device="cpu")
    np.testing.assert_array_equal(l1.values, core.min_l1_interpolator(X, y).numpy())
    np.testing.assert_array_equal(np.asarray(Xin if kind != "torch" else Xin.numpy()), before)


def test_eigenpro_matches_core():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(60, 2, generator=g, dtype=DT)
    K = torch.exp(-torch.cdist(x, x) / 0.5)
    y = torch.sin(3 * x[:, 0])
    run = sxi.eigenpro_gd(K.numpy(), y.numpy(), k=3, steps=40, record_every=10, device="cpu")
    ref = core.eigenpro_gd(K, y, k=3, steps=40, record_every=10)
    np.testing.assert_array_equal(run["mse"].values, ref.mse.numpy())
    np.testing.assert_array_equal(run["coef"].values, ref.coef.numpy())
    np.testing.assert_array_equal(run["preconditioned_eigenvalues"].values, ref.preconditioned_eigenvalues.numpy())
    assert run["coef"].dims == ("sample",) and run.attrs["speedup"] == ref.speedup and run.attrs["lr"] == ref.lr
    lam, vec = np.linalg.eigh(K.numpy() / 60)
    lam, vec = lam[::-1].copy(), vec[:, ::-1].copy()
    P = sxi.eigenpro_preconditioner(lam, vec, 3)
    np.testing.assert_array_equal(P.values, core.eigenpro_preconditioner(torch.tensor(lam), torch.tensor(vec), 3).numpy())
    assert P.dims == ("sample", "sample_")
    with_eigen = sxi.eigenpro_gd(K, y, k=3, steps=40, record_every=10, eigen=(lam, vec))
    assert with_eigen["mse"].dims == ("step",)


def test_a_factor_narrower_than_the_rank_never_learns_the_last_modes():
    run = sxi.gd_matrix_sensing(sxi.matrix_sensing_problem(8, [3.0, 2.0, 1.0], seed=0), steps=300, lr=0.05,
                                init_scale=1e-3, width=2)
    assert run.sizes["mode"] == 3 and np.isnan(run["singular_values"].sel(mode=2)).all()
    times = sxi.learning_times(run)
    assert times.values[-1] == -1 and (times.values[:2] > 0).all()


def test_accessor_calls_the_functions():
    X = xr.DataArray(np.random.default_rng(0).standard_normal((8, 12)), dims=("sample", "feature"))
    y = X.values[:, 0]
    assert X.spectral.min_l1_interpolator(y).equals(sxi.min_l1_interpolator(X, y))
    p = sxi.matrix_sensing_problem(5, [1.0], seed=0)
    run = p.spectral.gd_matrix_sensing(steps=50, lr=0.1)
    assert run.spectral.learning_times().equals(sxi.learning_times(run))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="X"):
        sxi.min_l1_interpolator(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="y"):
        sxi.diagonal_network_limit(np.ones((3, 4)), np.array([1.0, np.nan, 0.0]), 0.1)
    with pytest.raises(TypeError, match="problem"):
        sxi.gd_matrix_sensing("problem", steps=1, lr=0.1)
    with pytest.raises(TypeError, match="target"):
        sxi.learning_times(np.ones((3, 2)))
    with pytest.raises(ValueError, match="values"):
        sxi.first_step_below(np.array([np.inf, 1.0]), 0.5)


@pytest.mark.gpu
def test_labelled_results_come_back_from_the_gpu():
    # numpy in, device="cuda": computed there, numpy-backed out, the device recorded; a tensor stays where it is
    from spectrakit.xr import dynamics as sxd
    from spectrakit.xr import representations as sxr
    from spectrakit.xr import weights as sxw

    z = np.random.default_rng(0).standard_normal((50, 4))
    s = sxr.covariance_spectrum(z, device="cuda")
    assert s.attrs["device"].startswith("cuda") and isinstance(s.data, np.ndarray)
    np.testing.assert_allclose(s.values, sxr.covariance_spectrum(z, device="cpu").values, rtol=1e-10)
    sv = sxw.conv_singular_values(torch.randn(3, 2, 3, 3, dtype=DT, device="cuda"), (6, 6))
    assert sv.attrs["device"].startswith("cuda") and isinstance(sv.data, np.ndarray)
    H = sxd.ema_filter_response(np.linspace(0, 0.5, 5), 0.9, 1.0, device="cuda")
    assert H.attrs["device"].startswith("cuda")
    problem = sxi.matrix_sensing_problem(6, [2.0, 1.0], seed=0, device="cuda")
    run = sxi.gd_matrix_sensing(problem, steps=50, lr=0.1)            # the problem's device, from its attrs
    assert run.attrs["device"].startswith("cuda") and run["error"].dims == ("step",)
    X = np.random.default_rng(1).standard_normal((8, 16))
    lim = sxi.diagonal_network_limit(X, X[:, 0], [1e-2, 1.0], device="cuda")
    np.testing.assert_allclose(lim.values, sxi.diagonal_network_limit(X, X[:, 0], [1e-2, 1.0], device="cpu").values,
                               rtol=1e-8, atol=1e-10)
