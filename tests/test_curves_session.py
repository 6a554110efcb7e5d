"""LearningCurveSession against the core functions called directly, closed forms, and
Monte-Carlo; its caching, its errors, and what it returns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

import spectrakit
from spectrakit.core import curves as cc
from spectrakit.tuning.curves import LearningCurveSession

N_MC = [10, 30, 80]


def small(**kw):
    opts = dict(n_modes=120, n_mc=N_MC, trials=6, device="cpu")
    opts.update(kw)
    return LearningCurveSession(**opts)


def problem(P, alpha, beta):
    return cc.power_law_spectrum(P, alpha, device="cpu"), cc.power_law_target(P, beta, device="cpu")


# ------------------------------------------------------------------------ what it returns


def test_result_dims_coords_and_attrs():
    s = small()
    out = s.update(reg=0.05, n=40)
    assert isinstance(out, xr.Dataset)
    assert dict(out.sizes) == {"n": 61, "n_mc": 3, "mode": 120, "reg": 141}
    for name in ("error", "bias2", "variance"):
        assert out[name].dims == ("n",)
    for name in ("mc_error", "mc_error_se", "mc_bias2", "mc_variance", "mc_theory"):
        assert out[name].dims == ("n_mc",)
    for name in ("bias2_mode", "variance_mode", "factors", "target_power"):
        assert out[name].dims == ("mode",)
    for name in ("error_path", "bias2_path", "variance_path"):
        assert out[name].dims == ("reg",)
    for name in ("error_at_n", "bias2_at_n", "variance_at_n", "best_reg", "best_error", "kappa"):
        assert out[name].dims == ()
    for name, var in {**out.data_vars, **out.coords}.items():
        assert isinstance(var.data, np.ndarray), name
    np.testing.assert_array_equal(out["mode"].values, np.arange(120))
    np.testing.assert_array_equal(out["n_mc"].values, N_MC)
    np.testing.assert_allclose(out["n"].values, np.geomspace(10, 2000, 61))
    np.testing.assert_allclose(out["reg"].values, np.logspace(-4, 3, 141))
    np.testing.assert_allclose(out["eigenvalue"].values, np.arange(1, 121) ** -1.5)
    assert out.attrs == dict(reg=0.05, alpha=1.5, beta=2.5, noise=0.3, n=40, method="ridge", n_modes=120, trials=6,
                             seed=0, device="cpu", dtype="float64")
    assert (s.reg, s.alpha, s.beta, s.noise, s.n) == (0.05, 1.5, 2.5, 0.3, 40)
    assert repr(s).startswith("LearningCurveSession(method='ridge', n_modes=120, alpha=1.5")


def test_partial_updates_keep_the_rest():
    s = small()
    s.update(reg=0.2, alpha=2.0, beta=3.0, n=50, noise=0.1)
    out = s.update(noise=0.4)
    assert {k: out.attrs[k] for k in ("reg", "alpha", "beta", "n", "noise")} == dict(
        reg=0.2, alpha=2.0, beta=3.0, n=50, noise=0.4)
    again = s.update()
    xr.testing.assert_identical(out, again)
    xr.testing.assert_identical(s.update(reg=None, alpha=None, beta=None, n=None, noise=None), out)
    fresh = LearningCurveSession(n_modes=120, n_mc=N_MC, trials=6, reg=None, alpha=None, n=None, device="cpu")
    assert (fresh.reg, fresh.alpha, fresh.beta, fresh.noise, fresh.n) == (0.1, 1.5, 2.5, 0.3, 100)


# ------------------------------------------------------------------------ theory vs core


@pytest.mark.parametrize("reg", [0.0, 1e-3, 0.7])
def test_ridge_theory_equals_core(reg):
    s = small(n_grid=[5, 20, 119, 121, 500])
    out = s.update(reg=reg, alpha=1.2, beta=1.8, n=60, noise=0.25)
    lam, c = problem(120, 1.2, 1.8)
    curve = cc.ridge_learning_curve(lam, c, 0.25, torch.tensor([5.0, 20, 119, 121, 500], dtype=torch.float64), reg)
    for name in ("error", "bias2", "variance"):
        np.testing.assert_allclose(out[name].values, getattr(curve, name).numpy(), rtol=1e-12)
    at = cc.ridge_learning_curve(lam, c, 0.25, 60, reg)
    for name in ("bias2_mode", "variance_mode", "factors"):
        np.testing.assert_allclose(out[name].values, getattr(at, name).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(float(out["error_at_n"]), float(at.error), rtol=1e-12)
    np.testing.assert_allclose(float(out["kappa"]), float(at.kappa), rtol=1e-12)
    np.testing.assert_allclose(out["target_power"].values, (c * c).numpy(), rtol=1e-14)
    path = cc.ridge_learning_curve(lam, c, 0.25, 60, torch.as_tensor(s.reg_grid))
    np.testing.assert_allclose(out["error_path"].values, path.error.numpy(), rtol=1e-12)
    i = int(np.argmin(path.error.numpy()))
    assert float(out["best_reg"]) == s.reg_grid[i] and float(out["best_error"]) == pytest.approx(float(path.error[i]))
    mc_theory = cc.ridge_learning_curve(lam, c, 0.25, torch.tensor(N_MC, dtype=torch.float64), reg).error
    np.testing.assert_allclose(out["mc_theory"].values, mc_theory.numpy(), rtol=1e-12)
    # the per-mode parts add up to the totals (the core's convention)
    np.testing.assert_allclose(out["bias2_mode"].sum() + out["variance_mode"].sum(), out["error_at_n"], rtol=1e-10)


def test_isotropic_ridgeless_closed_forms():
    # alpha, beta -> 0: lambda_k = c_k**2 = 1 to 1e-9 (isotropic, r**2 = P). Hastie et al.'s
    # ridgeless limits: bias2 = r**2 (1 - n/P), variance = noise**2 n/(P - n) for n < P, and
    # bias2 = 0, variance = noise**2 P/(n - P) for n > P.
    P, sigma = 200, 0.5
    n = np.array([20, 50, 100, 150, 250, 400, 800])
    s = LearningCurveSession(n_modes=P, alpha=1e-9, beta=1e-9, noise=sigma, reg=0.0, n=100, n_grid=n, n_mc=[],
                             device="cpu")
    out = s.update()
    under, over = n < P, n > P
    np.testing.assert_allclose(out["bias2"].values[under], P * (1 - n[under] / P), rtol=1e-6)
    np.testing.assert_allclose(out["variance"].values[under], sigma**2 * n[under] / (P - n[under]), rtol=1e-6)
    np.testing.assert_allclose(out["bias2"].values[over], 0.0, atol=1e-6)
    np.testing.assert_allclose(out["variance"].values[over], sigma**2 * P / (n[over] - P), rtol=1e-6)
    # at n = P/2 the implicit regularization is kappa = P/n - 1 = 1, every learnability 1/2
    assert float(out["kappa"]) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(out["factors"].values, 0.5, rtol=1e-6)


def test_cutoff_theory_and_rank():
    s = small(method="cutoff", n_grid=[10, 40, 200])
    out = s.update(reg=0.3, n=40, alpha=2.0, beta=3.0, noise=0.2)
    lam, c = problem(120, 2.0, 3.0)
    # rank = #{k : n lambda_k >= reg} = #{k : k <= (n/reg)**(1/alpha)}
    ranks = [math.floor((n / 0.3) ** 0.5 + 1e-12) for n in (10, 40, 200)]
    np.testing.assert_array_equal(out["rank"].values, ranks)
    assert out.attrs["rank"] == ranks[1] and "kappa" not in out
    for i, n in enumerate((10, 40, 200)):
        ref = cc.cutoff_learning_curve(lam, c, 0.2, n, ranks[i])
        assert float(out["error"][i]) == pytest.approx(float(ref.error), rel=1e-12)
        # closed form of the population approximation: the power left out plus noise**2 rank/n
        k = np.arange(1, 121)
        assert float(out["error"][i]) == pytest.approx((k[ranks[i]:] ** -3.0).sum() + 0.04 * ranks[i] / n, rel=1e-12)
    ref = cc.cutoff_learning_curve(lam, c, 0.2, 40, ranks[1])
    np.testing.assert_allclose(out["factors"].values, ref.factors.numpy())
    path_ranks = [(40 * lam.numpy() >= r).sum() for r in s.reg_grid]
    np.testing.assert_allclose(out["error_path"].values, cc.cutoff_learning_curve(lam, c, 0.2, 40, path_ranks).error)


# ------------------------------------------------------------------------ Monte-Carlo


@pytest.mark.parametrize("reg", [0.0, 1e-2, 1.0])
def test_monte_carlo_equals_core_monte_carlo_curve(reg):
    # the same seed draws the same designs: the numbers of monte_carlo_curve, to rounding
    n_mc = [10, 40, 150]  # 150 > P: the other decomposition branch
    s = LearningCurveSession(n_modes=100, n_mc=n_mc, trials=5, seed=3, device="cpu")
    out = s.update(reg=reg, alpha=1.8, beta=2.0, noise=0.4)
    lam, c = problem(100, 1.8, 2.0)
    ref = cc.monte_carlo_curve(lam, c, 0.4, n_mc, reg, trials=5, seed=3)
    np.testing.assert_allclose(out["mc_error"].values, ref.error.numpy(), rtol=1e-8)
    np.testing.assert_allclose(out["mc_error_se"].values, ref.error_se.numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["mc_variance"].values, ref.variance.numpy(), rtol=1e-8)
    np.testing.assert_allclose(out["mc_bias2"].values, ref.bias2.numpy(), rtol=1e-8, atol=1e-12)


def test_cutoff_monte_carlo_equals_core():
    s = LearningCurveSession(n_modes=100, n_mc=[20, 60], trials=4, seed=1, method="cutoff", device="cpu")
    out = s.update(reg=0.5)
    lam, c = problem(100, 1.5, 2.5)
    for i, n in enumerate([20, 60]):
        rank = int((n * lam >= 0.5).sum())
        ref = cc.monte_carlo_curve(lam, c, 0.3, [20, 60], [rank], method="cutoff", trials=4, seed=1)
        assert float(out["mc_error"][i]) == pytest.approx(float(ref.error[i, 0]), rel=1e-8)


@pytest.mark.parametrize("state", [
    dict(),  # the defaults: alpha 1.5, beta 2.5, noise 0.3, reg 0.1
    dict(reg=1e-3, noise=0.5),
    dict(reg=1.0, alpha=2.5, beta=2.0, noise=0.1),
])
def test_monte_carlo_points_lie_on_the_theory_curve(state):
    # the tests' rule (notebook 06): within max(3 %, 3 standard errors), at n of 10 and more
    s = LearningCurveSession(trials=20, n_mc=[10, 25, 60, 150], device="cpu")
    out = s.update(**state)
    mc, theory, se = out["mc_error"].values, out["mc_theory"].values, out["mc_error_se"].values
    gap = np.abs(theory / mc - 1)
    assert (gap <= np.maximum(0.03, 3 * se / mc)).all(), (gap, se / mc)


def test_monte_carlo_least_squares_exact_expectation():
    # isotropic least squares with n > P + 1: E error = noise**2 P/(n - P - 1) exactly (Gaussian design)
    P, n, sigma = 10, 40, 1.0
    s = LearningCurveSession(n_modes=P, alpha=1e-9, beta=1e-9, noise=sigma, reg=0.0, n_mc=[n], trials=400,
                             device="cpu")
    out = s.update()
    exact = sigma**2 * P / (n - P - 1)
    assert abs(float(out["mc_error"][0]) - exact) < 3 * float(out["mc_error_se"][0]) + 1e-3 * exact
    assert float(out["mc_bias2"][0]) < 1e-20


# ------------------------------------------------------------------------ caching


def test_caching_what_each_move_costs():
    s = small()
    s.update()
    assert s.n_decompositions == 1 and s.n_mc_evaluations == 1
    lam = s.spectrum()
    s.update(n=77)  # no Monte-Carlo work at all
    assert (s.n_decompositions, s.n_mc_evaluations) == (1, 1)
    s.update(reg=0.5)  # the filter on cached decompositions
    assert (s.n_decompositions, s.n_mc_evaluations) == (1, 2)
    s.update(beta=3.0)
    s.update(noise=0.1)
    assert (s.n_decompositions, s.n_mc_evaluations) == (1, 4)
    s.update(reg=0.1, beta=2.5, noise=0.3)  # the first state again: cached
    assert (s.n_decompositions, s.n_mc_evaluations) == (1, 4)
    s.update(alpha=2.0)  # a new decomposition
    assert (s.n_decompositions, s.n_mc_evaluations) == (2, 5)
    s.update(alpha=1.5)
    assert (s.n_decompositions, s.n_mc_evaluations) == (2, 5)
    assert s.spectrum() is lam and s.spectrum(2.0) is s.spectrum(2.0)


def test_cached_paths_do_not_leak_between_states():
    s = small()
    a = s.update(reg=0.01, n=30)["error_path"].values
    b = s.update(reg=1.0, n=30)["error_path"].values  # the path does not depend on reg
    np.testing.assert_array_equal(a, b)
    c = s.update(n=31)["error_path"].values
    assert not np.allclose(a, c)
    d = s.update(alpha=2.0, n=30)["error_path"].values
    assert not np.allclose(a, d)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(reg=-1.0), ValueError, "reg must be >= 0"),
    (dict(reg=float("nan")), ValueError, "reg has 1 non-finite"),
    (dict(reg=[0.1, 0.2]), ValueError, "reg must be a scalar"),
    (dict(alpha=0.0), ValueError, "alpha must be > 0"),
    (dict(alpha=float("inf")), ValueError, "alpha must be finite"),
    (dict(beta=-2.0), ValueError, "beta must be > 0"),
    (dict(beta="2"), TypeError, "beta must be a real number"),
    (dict(noise=-0.1), ValueError, "noise must be >= 0"),
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.5), TypeError, "n must be an integer"),
])
def test_bad_update_raises_and_changes_nothing(kwargs, error, match):
    s = small()
    before = s.update(reg=0.2, n=50)
    with pytest.raises(error, match=match):
        s.update(**kwargs)
    assert (s.reg, s.alpha, s.beta, s.noise, s.n) == (0.2, 1.5, 2.5, 0.3, 50)
    xr.testing.assert_identical(s.update(), before)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(method="lasso"), ValueError, "method='lasso' is unknown"),
    (dict(n_modes=0), ValueError, "n_modes must be >= 1"),
    (dict(n_mc=[10, 20.5]), ValueError, "n_mc must hold whole numbers"),
    (dict(n_mc=[0, 10]), ValueError, "n_mc must be >= 1"),
    (dict(trials=1), ValueError, "trials must be >= 2"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(n_grid=[-1, 10]), ValueError, "n_grid must be > 0"),
    (dict(n_grid=[10]), ValueError, "n_grid needs at least 2"),
    (dict(reg_grid=[0.0, 1.0, 2.0]), ValueError, "reg_grid must hold at least 2 values, all > 0"),
    (dict(reg_grid=[-1.0, 1.0]), ValueError, "reg_grid must be >= 0"),
    (dict(alpha=-1), ValueError, "alpha must be > 0"),
    (dict(n_mc=[10**6], trials=10**4, n_modes=10**4), MemoryError, "Monte-Carlo draws"),
])
def test_bad_construction_raises(kwargs, error, match):
    with pytest.raises(error, match=match):
        small(**kwargs)


def test_inputs_are_not_modified_and_results_are_copies():
    n_grid, reg_grid, n_mc = np.array([400.0, 10.0, 50.0]), np.logspace(1, -3, 9), np.array([50, 10])
    copies = n_grid.copy(), reg_grid.copy(), n_mc.copy()
    s = small(n_grid=n_grid, reg_grid=reg_grid, n_mc=n_mc)
    out = s.update(reg=0.01)
    for given, kept in zip((n_grid, reg_grid, n_mc), copies):
        np.testing.assert_array_equal(given, kept)
    np.testing.assert_array_equal(s.n_grid, [10, 50, 400])  # sorted copies
    np.testing.assert_array_equal(s.n_mc, [10, 50])
    out["error"].values[:] = -1  # a result is the caller's to change
    assert (s.update()["error"].values > 0).all()
    assert not np.shares_memory(out["n"].values, s.n_grid) and not np.shares_memory(out["reg"].values, s.reg_grid)


def test_no_monte_carlo_and_dtype_and_options():
    s = LearningCurveSession(n_modes=50, n_mc=[], device="cpu", dtype=torch.float32)
    out = s.update(reg=0.1)
    assert out.sizes["n_mc"] == 0 and out["mc_error"].shape == (0,) and s.n_decompositions == 0
    assert out.attrs["dtype"] == "float32"
    ref = LearningCurveSession(n_modes=50, n_mc=[], device="cpu").update(reg=0.1)
    np.testing.assert_allclose(out["error"].values, ref["error"].values, rtol=1e-4)
    unseeded = [LearningCurveSession(n_modes=30, n_mc=[10], trials=3, seed=None, device="cpu").update()
                for _ in range(2)]
    assert "seed" not in unseeded[0].attrs and unseeded[0]["mc_error"] != unseeded[1]["mc_error"]
    with spectrakit.set_options(device="cpu"):
        assert LearningCurveSession(n_modes=20, n_mc=[5], trials=2).update().attrs["device"] == "cpu"


@pytest.mark.gpu
def test_cuda_equals_cpu():
    cpu = small(n_mc=[10, 150]).update(reg=0.05)
    gpu = small(n_mc=[10, 150], device="cuda").update(reg=0.05)
    assert gpu.attrs["device"].startswith("cuda")
    for name in ("error", "bias2_mode", "error_path", "mc_error", "mc_error_se"):
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=1e-7, atol=1e-14)
