"""xr.curves: labelled learning curves against closed forms, brute force and Monte-Carlo,
their dims, coords and attrs, inputs left alone, and clear errors.

Monte-Carlo comparisons are seeded; each states its tolerance as
``|theory / measured - 1| <= max(tol, 3 standard errors)``.
"""

import numpy as np
import pytest
import scipy.optimize
import torch
import xarray as xr

from spectrakit.xr import curves as X

P = 200


def power_law(alpha=1.5, beta=2.0, P=P):
    k = np.arange(1, P + 1, dtype=float)
    return k**-alpha, k ** (-beta / 2)


def assert_close_mc(theory, mc, se, tol):
    theory, mc, se = (np.asarray(v, dtype=float) for v in (theory, mc, se))
    rel = np.abs(theory / mc - 1)
    allowed = np.maximum(tol, 3 * se / mc)
    assert (rel <= allowed).all(), f"rel diff {rel.round(4)} > allowed {allowed.round(4)}"


def ridge_by_root_finding(lam, c, noise, n, reg):
    """The omniscient-risk formula, with kappa found by scipy's brentq (independent of core)."""
    def gap(k):
        return (lam / (lam + k)).sum() + reg / k - n

    kappa = scipy.optimize.brentq(gap, 1e-14, 1e6, xtol=1e-15, rtol=1e-13) if reg > 0 else (
        scipy.optimize.brentq(lambda k: (lam / (lam + k)).sum() - n, 1e-14, 1e6, xtol=1e-15, rtol=1e-13))
    L = lam / (lam + kappa)
    e0 = 1 / (1 - (L**2).sum() / n)
    bias2 = e0 * (((1 - L) ** 2) * c**2).sum()
    return bias2 + noise**2 * (e0 - 1), bias2


# ------------------------------------------------------------------------ theory


def test_ridge_matches_closed_form_isotropic():
    # Hastie et al. (2019), ridgeless, P = 2n: bias2 = r^2 (1 - n/P), variance = noise^2 n/(P - n)
    r2, noise = 2.0, 0.5
    curve = X.learning_curve(np.ones(P), np.full(P, np.sqrt(r2 / P)), n=[50, 100], reg=0.0, noise=noise)
    n = np.array([50, 100])
    np.testing.assert_allclose(curve["bias2"], r2 * (1 - n / P), rtol=1e-10)
    np.testing.assert_allclose(curve["variance"], noise**2 * n / (P - n), rtol=1e-10)
    np.testing.assert_allclose(curve["test_mse"], curve["error"] + noise**2)


def test_ridge_matches_root_finding_and_per_mode_sums():
    lam, c = power_law()
    regs, ns = np.array([1e-2, 0.3, 10.0]), np.array([20, 150, 800])
    curve = X.learning_curve(lam, c, n=ns, reg=regs, noise=0.4)
    assert curve["error"].dims == ("n", "reg") and curve["bias2_mode"].dims == ("n", "reg", "mode")
    for i, n in enumerate(ns):
        for j, reg in enumerate(regs):
            err, bias2 = ridge_by_root_finding(lam, c, 0.4, n, reg)
            assert float(curve["error"][i, j]) == pytest.approx(err, rel=1e-8)
            assert float(curve["bias2"][i, j]) == pytest.approx(bias2, rel=1e-8)
    np.testing.assert_allclose(curve["bias2_mode"].sum("mode"), curve["bias2"], rtol=1e-10)
    np.testing.assert_allclose(curve["variance_mode"].sum("mode"), curve["variance"], rtol=1e-10)
    np.testing.assert_allclose(curve["target_power"], c**2)
    np.testing.assert_allclose(curve["eigenvalue"], lam)
    # learnability with the effective regularization
    kappa = curve["kappa"].values[..., None]
    np.testing.assert_allclose(curve["factors"], lam / (lam + kappa), rtol=1e-12)


def test_cutoff_closed_form_and_flow_limit():
    lam, c = power_law()
    cut = X.learning_curve(lam, c, n=100, method="cutoff", rank=[0, 5, 40], noise=0.3)
    for j, r in enumerate([0, 5, 40]):
        assert float(cut["bias2"][j]) == pytest.approx((c[r:] ** 2).sum(), rel=1e-12)
        assert float(cut["variance"][j]) == pytest.approx(0.09 * r / 100, rel=1e-12)
    # gradient flow trained for a very long time is the ridgeless interpolator
    flow = X.learning_curve(lam, c, n=50, method="flow", steps=1e8, lr=1.0, noise=0.3)
    ridgeless = X.learning_curve(lam, c, n=50, reg=0.0, noise=0.3)
    assert float(flow["error"]) == pytest.approx(float(ridgeless["error"]), rel=1e-6)
    assert flow.attrs["lr"] == 1.0 and flow.attrs["steps"] == 1e8


def test_monte_carlo_agrees_with_theory():
    lam, c = power_law(P=100)
    kwargs = dict(n=[40, 160], reg=[0.05, 1.0], noise=0.3)
    theory = X.learning_curve(lam, c, **kwargs)
    mc = X.monte_carlo_curve(lam, c, trials=40, seed=1, **kwargs)
    assert mc["error"].dims == ("n", "reg")
    assert mc["n"].dtype.kind == "i"  # the sample sizes stay whole numbers
    assert_close_mc(theory["error"], mc["error"], mc["error_se"], 0.06)
    gd_theory = X.learning_curve(lam, c, n=80, method="gd", steps=[3, 30], lr=0.5, noise=0.3)
    gd_mc = X.monte_carlo_curve(lam, c, n=80, method="gd", steps=[3, 30], lr=0.5, noise=0.3, trials=40, seed=2)
    assert_close_mc(gd_theory["error"], gd_mc["error"], gd_mc["error_se"], 0.06)


def test_optimal_curve_is_the_grid_minimum():
    lam, c = power_law(beta=3.0)
    grid = np.logspace(-4, 2, 25)
    best = X.optimal_learning_curve(lam, c, n=[30, 300], noise=0.5, grid=grid)
    brute = X.learning_curve(lam, c, n=[30, 300], reg=grid, noise=0.5)["error"]
    np.testing.assert_allclose(best["error"], brute.min("reg"), rtol=1e-12)
    np.testing.assert_allclose(best["best"], grid[brute.argmin("reg").values])
    assert best["errors"].dims == ("n", "reg") and best["best"].attrs["parameter"] == "reg"
    gd = X.optimal_learning_curve(lam, c, n=100, method="gd", noise=0.5)
    assert gd["errors"].dims == ("steps",) and gd.attrs["n"] == 100


def test_random_features_peak_and_monte_carlo():
    lam, c = np.ones(80), np.full(80, 0.1)
    N = np.array([10, 20, 40, 80, 160])
    rf = X.random_features_curve(lam, c, n=40, n_features=N, reg=[1e-6, 1.0], noise=0.3, draws=2, seed=0)
    assert rf["error"].dims == ("n_features", "reg")
    ridgeless = rf["error"].sel(reg=1e-6)
    assert int(ridgeless.idxmax("n_features")) == 40  # the interpolation peak at N = n
    assert float(rf["error"].sel(reg=1.0, n_features=40)) < 0.5 * float(ridgeless.sel(n_features=40))
    mc = X.random_features_monte_carlo(lam, c, n=40, n_features=[20, 160], reg=1.0, noise=0.3, draws=2,
                                       trials=20, seed=0)
    assert_close_mc(rf["error"].sel(reg=1.0, n_features=[20, 160]), mc["error"], mc["error_se"], 0.08)


def test_model_collapse_formula_and_monte_carlo():
    d, T, noise = 10, 60, 0.7
    theory = X.model_collapse(noise, d, T, 4)
    g = np.arange(5)
    np.testing.assert_allclose(theory, noise**2 * d / (T - d - 1) * (1 + g), rtol=1e-12)
    assert theory.dims == ("generation",) and theory["generation"].values.tolist() == g.tolist()
    mc = X.model_collapse_monte_carlo(np.ones(d), noise, T, [0, 2, 4], trials=600, seed=0)
    assert mc["generation"].values.tolist() == [0, 2, 4]
    assert_close_mc(theory.sel(generation=[0, 2, 4]), mc["error"], mc["error_se"], 0.05)
    schedule = X.model_collapse_monte_carlo(np.ones(d), noise, T, 2, reg=[0.0, 5.0, 5.0], trials=50)
    assert schedule["reg"].values.tolist() == [0.0, 5.0, 5.0]


# ------------------------------------------------------------------------ labels


def test_scalar_and_grid_give_the_same_dataset():
    lam, c = power_law()
    grid = X.learning_curve(lam, c, n=[100], reg=[0.5], noise=0.2)
    scalar = X.learning_curve(lam, c, n=100, reg=0.5, noise=0.2)
    assert isinstance(scalar, xr.Dataset) and set(scalar.data_vars) == set(grid.data_vars)
    assert scalar["error"].dims == () and scalar.attrs["n"] == 100 and scalar.attrs["reg"] == 0.5
    xr.testing.assert_allclose(grid.isel(n=0, reg=0, drop=True), scalar)
    assert scalar.attrs["method"] == "ridge" and scalar.attrs["device"] == "cpu"
    assert scalar.attrs["dtype"] == "float64" and "alpha" in scalar.attrs["conventions"]


def test_inputs_of_every_kind_and_left_alone():
    lam, c = power_law()
    lam_da = xr.DataArray(lam.copy(), dims="k", coords={"k": np.arange(1, P + 1), "label": ("k", [f"m{i}" for i in range(P)])},
                          attrs={"units": "1"})
    before = lam_da.copy(deep=True)
    from_numpy = X.learning_curve(lam, c, n=50, reg=[0.1, 1.0], noise=0.2)
    from_torch = X.learning_curve(torch.from_numpy(lam), torch.from_numpy(c), n=50, reg=torch.tensor([0.1, 1.0], dtype=torch.float64),
                                  noise=0.2)
    from_xr = X.learning_curve(lam_da, c, n=50, reg=[0.1, 1.0], noise=0.2)
    xr.testing.assert_identical(lam_da, before)
    assert lam_da.attrs == {"units": "1"}
    for ds in (from_torch, from_xr):
        np.testing.assert_allclose(ds["error"], from_numpy["error"], rtol=1e-12)
    # the labelled input's coords ride along on mode
    assert from_xr["k"].dims == ("mode",) and from_xr["label"].values[3] == "m3"
    assert from_numpy["mode"].values.tolist() == list(range(P))
    f32 = X.learning_curve(lam, c, n=50, reg=0.1, noise=0.2, dtype=torch.float32)
    assert f32.attrs["dtype"] == "float32"
    assert float(f32["error"]) == pytest.approx(float(from_numpy["error"][0]), rel=1e-4)


def test_clear_errors():
    lam, c = power_law()
    with pytest.raises(ValueError, match="method='sgd' is unknown"):
        X.learning_curve(lam, c, n=10, method="sgd", reg=1.0)
    with pytest.raises(TypeError, match="steps= does not apply to method='ridge'"):
        X.learning_curve(lam, c, n=10, reg=1.0, steps=5)
    with pytest.raises(TypeError, match="steps is required"):
        X.learning_curve(lam, c, n=10, method="gd")
    with pytest.raises(ValueError, match="reg must be >= 0"):
        X.learning_curve(lam, c, n=10, reg=[-1.0, 1.0])
    bad = lam.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="eigenvalues"):
        X.learning_curve(bad, c, n=10, reg=1.0)
    with pytest.raises(ValueError, match="1-D"):
        X.learning_curve(xr.DataArray(np.ones((2, 3)), dims=("a", "b")), np.ones(3), n=10, reg=1.0)
    with pytest.raises(ValueError, match="coefs must have one value per mode"):
        X.learning_curve(lam, c[:-1], n=10, reg=1.0)
    with pytest.raises(ValueError, match="n must be > 0"):
        X.learning_curve(lam, c, n=[0, 10], reg=1.0)
    with pytest.raises(TypeError, match="n must be a number"):
        X.learning_curve(lam, c, n="ten", reg=1.0)
