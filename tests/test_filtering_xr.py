"""regularize / choose / picard / RegularizationSession against independent references."""

import numpy as np
import pytest
import torch
import xarray as xr

import spectrakit
from spectrakit import datasets
from spectrakit.testing import assert_rel_close, influence_matrix, refit_loo, stacked_lstsq_solution

PROBLEMS = {
    "shaw": lambda: datasets.shaw(32),
    "deriv2-1": lambda: datasets.deriv2(32, example=1),
    "deriv2-2": lambda: datasets.deriv2(32, example=2),
    "deriv2-3": lambda: datasets.deriv2(32, example=3),
    "phillips": lambda: datasets.phillips(32),
    "baart": lambda: datasets.baart(32),
    "foxgood": lambda: datasets.foxgood(32),
    "heat": lambda: datasets.heat(32),
    "gravity": lambda: datasets.gravity(32),
    "deblur1d": lambda: datasets.deblur1d(32),
}


def diff_matrix(n, order):
    return np.diff(np.eye(n), order, axis=0)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("L", [None, "d1", "d2"])
def test_path_equals_stacked_least_squares(name, L):
    ds = PROBLEMS[name]()
    A = ds["A"].values
    rng = np.random.default_rng(0)
    b = ds["b_exact"].values * (1 + 1e-3 * rng.standard_normal(A.shape[0]))
    sigma1 = np.linalg.norm(A, 2)
    reg = sigma1**2 * np.logspace(-10, 1, 12)
    path = spectrakit.regularize(ds["A"], ds["b"].copy(data=b), reg=reg, L=L, device="cpu")
    Lm = None if L is None else diff_matrix(A.shape[1], int(L[1]))
    for i, r in enumerate(reg):
        ref = stacked_lstsq_solution(A, b, r, Lm)
        assert_rel_close(path["x"].values[i], ref, 1e-8, what=f"{name} L={L} reg={r:.2e}")
        np.testing.assert_allclose(path["residual_norm"].values[i], np.linalg.norm(A @ ref - b), rtol=1e-7, atol=1e-13 * np.linalg.norm(b))
        Lref = np.eye(A.shape[1]) if Lm is None else Lm
        np.testing.assert_allclose(path["solution_norm"].values[i], np.linalg.norm(Lref @ ref), rtol=1e-7)


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(7)
    A = rng.standard_normal((40, 12)) @ np.diag(np.logspace(0, -4, 12))
    b = A @ rng.standard_normal(12) + 1e-2 * rng.standard_normal(40)
    return A, b


@pytest.mark.parametrize("L", [None, "d1"])
def test_loo_equals_brute_force_refits_and_gcv_its_formula(noisy, L):
    A, b = noisy
    reg = np.logspace(-8, 1, 7)
    path = spectrakit.regularize(A, b, reg=reg, L=L, device="cpu")
    np.testing.assert_allclose(path["loo"].values, refit_loo(A, b, reg, L=L), rtol=1e-8)
    assert path["loo"].attrs["exact"] == 1
    Lm = None if L is None else diff_matrix(A.shape[1], 1)
    m = A.shape[0]
    for i, r in enumerate(reg):
        H = influence_matrix(A, r, Lm)
        res = b - H @ b
        gcv = m * (res @ res) / (m - np.trace(H)) ** 2
        np.testing.assert_allclose(path["gcv"].values[i], gcv, rtol=1e-8)


def test_loo_matches_scikit_learn_ridgecv(noisy):
    from sklearn.linear_model import RidgeCV

    A, b = noisy
    reg = np.logspace(-6, 2, 9)
    path = spectrakit.regularize(A, b, reg=reg, device="cpu")
    cv = RidgeCV(alphas=reg, fit_intercept=False, store_cv_results=True).fit(A, b)
    np.testing.assert_allclose(path["loo"].values, cv.cv_results_.mean(axis=0), rtol=1e-6)
    assert spectrakit.choose(path, "loo") == pytest.approx(cv.alpha_)


def test_loo_of_other_filters_is_an_approximation(noisy):
    A, b = noisy
    reg = np.logspace(-6, 0, 5)
    path = spectrakit.regularize(A, b, reg=reg, method="showalter", device="cpu")
    assert path["loo"].attrs["exact"] == 0
    refit = refit_loo(A, b, reg, method="showalter")
    # close to refitting, but not equal
    rel = np.abs(path["loo"].values - refit) / refit
    assert rel.max() < 0.5
    assert rel.max() > 1e-6


def test_gcv_with_more_rows_counts_the_residual_outside_the_range():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((30, 5))
    b = rng.standard_normal(30)
    path = spectrakit.regularize(A, b, reg=1e-3, device="cpu")
    x = stacked_lstsq_solution(A, b, 1e-3)
    np.testing.assert_allclose(float(path["residual_norm"]), np.linalg.norm(A @ x - b), rtol=1e-12)


def test_kernel_path_matches_kernel_ridge():
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (80, 2))
    y = np.sin(3 * X[:, 0]) + 0.1 * rng.standard_normal(80)
    K = rbf_kernel(X, gamma=2.0)
    reg = np.logspace(-6, 0, 5)
    path = spectrakit.regularize_kernel(K, y, reg=reg, device="cpu")
    for i, r in enumerate(reg):
        ref = KernelRidge(alpha=r, kernel="precomputed").fit(K, y).dual_coef_
        assert_rel_close(path["x"].values[i], ref, 1e-7, what=f"reg={r}")
    H = K @ np.linalg.inv(K + reg[2] * np.eye(80))
    loo = np.mean(((y - H @ y) / (1 - np.diag(H))) ** 2)
    np.testing.assert_allclose(path["loo"].values[2], loo, rtol=1e-7)


def test_kernel_path_predictions_match_kernel_ridge():
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.metrics.pairwise import rbf_kernel

    rng = np.random.default_rng(3)
    X, X_new = rng.uniform(-1, 1, (60, 2)), rng.uniform(-1, 1, (25, 2))
    y = np.stack([np.sin(3 * X[:, 0]), np.cos(2 * X[:, 1])])  # two right-hand sides
    K, K_new = rbf_kernel(X, gamma=2.0), rbf_kernel(X_new, X, gamma=2.0)
    reg = np.logspace(-5, 0, 4)
    labelled = xr.DataArray(K_new, dims=("query", "col"), coords={"query": np.arange(100, 125)})
    path = spectrakit.regularize_kernel(K, y.T, reg=reg, K_test=labelled, device="cpu")
    assert path["prediction"].dims == ("reg", "rhs", "query")
    assert path["query"].values[0] == 100
    for i, r in enumerate(reg):
        ref = KernelRidge(alpha=r, kernel="rbf", gamma=2.0).fit(X, y.T).predict(X_new)
        assert_rel_close(path["prediction"].values[i].T, ref, 1e-7, what=f"reg={r}")
    one = spectrakit.regularize_kernel(K, y[0], reg=1e-2, K_test=K_new, device="cpu")
    assert one["prediction"].dims == ("test",) and one.attrs["reg"] == 1e-2
    ref = KernelRidge(alpha=1e-2, kernel="precomputed").fit(K, y[0]).predict(K_new)
    assert_rel_close(one["prediction"].values, ref, 1e-7, what="scalar reg")
    with pytest.raises(ValueError, match="K_test must have shape"):
        spectrakit.regularize_kernel(K, y[0], reg=1e-2, K_test=K_new[:, :10], device="cpu")
    with pytest.raises(ValueError, match="column dim"):
        spectrakit.regularize_kernel(K, y[0], reg=1e-2, K_test=labelled.rename(col="other"), device="cpu")


# ---------------------------------------------------------------- labels and structure


def test_dims_coords_attrs_and_batched_rhs():
    ds = datasets.shaw(16, noise=1e-2, seed=1)
    b2 = xr.concat([ds["b"], ds["b_exact"]], dim=xr.DataArray(["noisy", "exact"], dims="case", name="case"))
    reg = np.logspace(-6, 0, 7)
    path = spectrakit.regularize(ds["A"], b2, reg=reg, x_true=ds["x_true"], noise_norm=0.1, device="cpu")
    assert path["x"].dims == ("reg", "case", "t")
    assert path["gcv"].dims == ("reg", "case")
    assert path["filter_factors"].dims == ("reg", "mode")
    np.testing.assert_array_equal(path["t"].values, ds["t"].values)
    assert path["t"].attrs == ds["t"].attrs and path["t"].attrs["units"] == "rad"
    assert list(path["case"].values) == ["noisy", "exact"]
    sv = np.linalg.svd(ds["A"].values, compute_uv=False)
    np.testing.assert_allclose(path["sigma"].values, sv, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(path["s"].values, path["sigma"].values ** 2, rtol=1e-12)  # s: the filter's argument
    assert path.attrs["method"] == "tikhonov" and path.attrs["device"] == "cpu" and path.attrs["dtype"] == "float64"
    assert "sigma**2" in path.attrs["conventions"]
    # each right-hand side equals its own single solve
    single = spectrakit.regularize(ds["A"], ds["b_exact"], reg=reg, device="cpu")
    np.testing.assert_allclose(path["x"].sel(case="exact").values, single["x"].values, rtol=1e-12, atol=1e-14)
    err = np.linalg.norm(path["x"].sel(case="noisy").values - ds["x_true"].values, axis=-1)
    np.testing.assert_allclose(path["error_norm"].sel(case="noisy").values, err, rtol=1e-12)
    np.testing.assert_allclose(path["discrepancy"].values, path["residual_norm"].values / 0.1)


def test_scalar_reg_is_the_same_dataset_without_the_dim():
    ds = datasets.shaw(16)
    grid = spectrakit.regularize(ds["A"], ds["b"], reg=[1e-3], method="tsvd", device="cpu")
    one = spectrakit.regularize(ds["A"], ds["b"], reg=1e-3, method="tsvd", device="cpu")
    assert "reg" not in one.dims and float(one["reg"]) == 1e-3
    xr.testing.assert_allclose(grid.isel(reg=0).drop_vars(["curvature"]), one.drop_vars(["curvature"]))
    assert int(one["rank"]) == int((np.linalg.svd(ds["A"].values, compute_uv=False) ** 2 >= 1e-3).sum())


def test_numpy_and_tensor_inputs_get_default_dims():
    A = np.random.default_rng(0).standard_normal((10, 4))
    b = A @ np.ones(4)
    path = spectrakit.regularize(A, b, reg=[1e-8, 1e-2], device="cpu")
    assert path["x"].dims == ("reg", "col")
    tpath = spectrakit.regularize(torch.tensor(A), torch.tensor(b), reg=[1e-8, 1e-2])
    assert tpath.attrs["device"] == "cpu"
    np.testing.assert_allclose(tpath["x"].values, path["x"].values)
    np.testing.assert_allclose(path["x"].values[0], np.ones(4), rtol=1e-6)


def test_float32_follows_the_input_tensor():
    A = torch.randn(20, 5, dtype=torch.float32)
    path = spectrakit.regularize(A, A @ torch.ones(5), reg=[1e-4, 1e-2])
    assert path.attrs["dtype"] == "float32"
    assert path["x"].dtype == np.float32
    path64 = spectrakit.regularize(A.numpy(), (A @ torch.ones(5)).numpy(), reg=[1e-4, 1e-2], device="cpu")
    assert path64.attrs["dtype"] == "float64"


def test_arguments_are_never_modified():
    ds = datasets.phillips(16, noise=1e-2, seed=0)
    before = ds.copy(deep=True)
    A_np = ds["A"].values.copy()
    A_t = torch.tensor(A_np)
    b_t = torch.tensor(ds["b"].values)
    A_t0, b_t0 = A_t.clone(), b_t.clone()
    spectrakit.regularize(ds["A"], ds["b"], reg=np.logspace(-5, 0, 4), L="d2", x_true=ds["x_true"], noise_norm=ds.attrs["noise_norm"], device="cpu")
    spectrakit.regularize(A_t, b_t, reg=1e-3)
    spectrakit.picard(ds["A"], ds["b"], device="cpu")
    path = spectrakit.regularize(ds["A"], ds["b"], reg=np.logspace(-5, 0, 4), noise_norm=0.01, device="cpu")
    path0 = path.copy(deep=True)
    for c in ("gcv", "loo", "lcurve", "quasi_optimality", "discrepancy"):
        try:
            spectrakit.choose(path, c)
        except ValueError:
            pass
    xr.testing.assert_identical(ds, before)
    xr.testing.assert_identical(path, path0)
    assert torch.equal(A_t, A_t0) and torch.equal(b_t, b_t0)


# ---------------------------------------------------------------- choose and picard


@pytest.fixture(scope="module")
def shaw_path():
    ds = datasets.shaw(48, noise=1e-2, seed=3)
    reg = np.logspace(-10, 1, 45)
    path = spectrakit.regularize(ds["A"], ds["b"], reg=reg, x_true=ds["x_true"], noise_norm=ds.attrs["noise_norm"], device="cpu")
    return ds, path


def test_choose_matches_direct_definitions(shaw_path):
    ds, path = shaw_path
    reg = path["reg"].values
    assert spectrakit.choose(path, "gcv") == reg[np.argmin(path["gcv"].values)]
    assert spectrakit.choose(path, "loo") == reg[np.argmin(path["loo"].values)]
    assert spectrakit.choose(path, "lcurve") == reg[np.nanargmax(path["curvature"].values)]
    A, b = ds["A"].values, ds["b"].values
    delta = ds.attrs["noise_norm"]
    for tau in (1.0, 1.5):
        res = np.array([np.linalg.norm(A @ stacked_lstsq_solution(A, b, r) - b) for r in reg])
        assert spectrakit.choose(path, "discrepancy", tau=tau) == reg[res <= tau * delta].max()
    xs = np.array([stacked_lstsq_solution(A, b, r) for r in reg])
    steps = np.linalg.norm(np.diff(xs, axis=0), axis=1)
    assert spectrakit.choose(path, "quasi_optimality") == reg[np.argmin(steps)]


@pytest.mark.parametrize("method", ["tikhonov", "tsvd", "landweber", "showalter", "iterated_tikhonov"])
def test_choices_are_sensible_on_shaw(shaw_path, method):
    # on white noise every criterion's solution is within 2x the best error on the grid,
    # also for the discrete methods whose solutions repeat over stretches of the grid
    ds, path = shaw_path
    if method != "tikhonov":
        path = spectrakit.regularize(ds["A"], ds["b"], reg=path["reg"].values, method=method, x_true=ds["x_true"],
                                     noise_norm=ds.attrs["noise_norm"], device="cpu")
    err = path["error_norm"]
    for c in ("gcv", "loo", "lcurve", "discrepancy", "quasi_optimality"):
        assert float(err.sel(reg=spectrakit.choose(path, c))) <= 2 * float(err.min()), c


def test_choose_errors(shaw_path):
    ds, path = shaw_path
    with pytest.raises(ValueError, match="tau"):
        spectrakit.choose(path, "discrepancy", tau=0.5)
    with pytest.raises(ValueError, match="criterion"):
        spectrakit.choose(path, "aic")
    with pytest.raises(ValueError, match="noise_norm"):
        spectrakit.choose(path.drop_vars("discrepancy"), "discrepancy")
    with pytest.raises(ValueError, match="reg"):
        spectrakit.choose(path.isel(reg=0), "gcv")
    uneven = spectrakit.regularize(ds["A"], ds["b"], reg=[1e-6, 1e-5, 1e-3, 1e-2], device="cpu")
    with pytest.raises(ValueError, match="geometric"):
        spectrakit.choose(uneven, "quasi_optimality")


def test_picard_matches_numpy_svd():
    ds = datasets.baart(24, noise=1e-3, seed=0)
    p = spectrakit.picard(ds["A"], ds["b"], device="cpu")
    U, s, _ = np.linalg.svd(ds["A"].values)
    coef = np.abs(U.T @ ds["b"].values)
    np.testing.assert_allclose(p["sigma"].values, s, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(p["s"].values, p["sigma"].values ** 2, rtol=1e-12)
    # singular vectors are determined to about eps/gap: compare the well-separated modes
    sep = s > 1e-8 * s[0]
    np.testing.assert_allclose(p["coef"].values[sep], coef[sep], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(p["ratio"].values[sep], coef[sep] / s[sep], rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(p["coef"].values), np.linalg.norm(ds["b"].values), rtol=1e-12)


# ---------------------------------------------------------------- bad input


def test_bad_input_messages():
    ds = datasets.shaw(16)
    A, b = ds["A"], ds["b"]
    bad_A = A.copy()
    bad_A[0, 1] = np.nan
    with pytest.raises(ValueError, match="A has 1 non-finite"):
        spectrakit.regularize(bad_A, b, reg=1e-3, device="cpu")
    bad_b = b.copy()
    bad_b[3] = np.inf
    with pytest.raises(ValueError, match="b has 1 non-finite"):
        spectrakit.regularize(A, bad_b, reg=1e-3, device="cpu")
    with pytest.raises(ValueError, match="reg must be >= 0"):
        spectrakit.regularize(A, b, reg=[-1e-3, 1.0], device="cpu")
    with pytest.raises(ValueError, match="reg"):
        spectrakit.regularize(A, b, reg=np.nan, device="cpu")
    with pytest.raises(ValueError, match="share exactly one dim"):
        spectrakit.regularize(A, b.rename(obs="u"), reg=1e-3, device="cpu")
    with pytest.raises(ValueError, match="A must be 2-D"):
        spectrakit.regularize(b, b, reg=1e-3, device="cpu")
    with pytest.raises(ValueError, match="row dim"):
        spectrakit.regularize(A, b.isel(obs=slice(0, 10)), reg=1e-3, device="cpu")
    with pytest.raises(ValueError, match="x_true"):
        spectrakit.regularize(A, b, reg=1e-3, x_true=np.ones(3), device="cpu")
    with pytest.raises(ValueError, match="noise_norm"):
        spectrakit.regularize(A, b, reg=1e-3, noise_norm=-1.0, device="cpu")
    with pytest.raises(ValueError, match="omega"):
        spectrakit.regularize(A, b, reg=1e-3, method="landweber", omega=10.0, device="cpu")
    with pytest.raises(ValueError, match="rename"):
        spectrakit.regularize(A.rename(t="x"), b, reg=1e-3, device="cpu")
    with pytest.raises(ValueError, match="L="):
        spectrakit.regularize(A, b, reg=1e-3, L="d3", device="cpu")


def test_memory_estimate_refuses_before_allocating():
    huge = np.broadcast_to(np.float64(1.0), (300_000, 200_000))  # 480 GB if materialized
    rhs = np.broadcast_to(np.float64(1.0), (300_000,))
    with pytest.raises(MemoryError, match=r"A: the SVD of a 300000 x 200000 matrix .* GiB .*float32"):
        spectrakit.regularize(huge, rhs, reg=1e-3, device="cpu")
    small = datasets.shaw(16)
    with pytest.raises(MemoryError, match="reg: a path over"):
        spectrakit.regularize(small["A"], small["b"], reg=np.broadcast_to(1e-3, (10**10,)), device="cpu")


# ---------------------------------------------------------------- sessions


def test_session_update_equals_regularize_and_needs_no_solve(monkeypatch):
    ds = datasets.deblur1d(64, noise=1e-2, seed=0)
    session = spectrakit.RegularizationSession.from_problem(ds, device="cpu")

    def refuse(*args, **kwargs):
        raise AssertionError("update must not solve a linear system")

    monkeypatch.setattr(torch.linalg, "solve", refuse)
    monkeypatch.setattr(torch.linalg, "lstsq", refuse)
    for method, opt in [("tikhonov", {}), ("tsvd", {}), ("landweber", {}), ("iterated_tikhonov", {"order": 3})]:
        out = session.update(reg=1e-3, method=method, **opt)
        monkeypatch.undo()
        ref = spectrakit.regularize(ds["A"], ds["b"], reg=1e-3, method=method, x_true=ds["x_true"], device="cpu", **opt)
        monkeypatch.setattr(torch.linalg, "solve", refuse)
        monkeypatch.setattr(torch.linalg, "lstsq", refuse)
        np.testing.assert_allclose(out["x"].values, ref["x"].values, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(float(out["error_norm"]), float(ref["error_norm"]), rtol=1e-12)
        np.testing.assert_allclose(out["filter_factors"].values, ref["filter_factors"].values)
    assert session.method == "iterated_tikhonov" and session.reg == 1e-3


def test_session_update_restores_the_thread_count():
    ds = datasets.shaw(32, noise=1e-2, seed=0)
    session = spectrakit.RegularizationSession.from_problem(ds, device="cpu")
    before = torch.get_num_threads()
    session.update(reg=1e-3)
    assert torch.get_num_threads() == before


def test_session_path_and_choices():
    ds = datasets.shaw(32, noise=1e-2, seed=0)
    session = spectrakit.RegularizationSession.from_problem(ds, device="cpu")
    path = session.path
    assert path is session.path  # cached
    assert session.reg == spectrakit.choose(path, "gcv")
    choices = session.choices()
    # the truth is known (a test problem): min_error, the best reg on the grid, too
    assert set(choices) == {"gcv", "loo", "lcurve", "discrepancy", "quasi_optimality", "min_error"}
    err = path["error_norm"].values
    assert choices["min_error"] == path["reg"].values[np.nanargmin(err)]
    with pytest.raises(ValueError, match="reg must be a scalar"):
        session.update(reg=[1e-3, 1e-2])


# ---------------------------------------------------------------- GPU


@pytest.mark.gpu
def test_cuda_follows_input_and_equals_cpu():
    ds = datasets.shaw(64, noise=1e-3, seed=0)
    reg = np.logspace(-10, 0, 21)
    cpu = spectrakit.regularize(ds["A"], ds["b"], reg=reg, x_true=ds["x_true"], device="cpu")
    gpu = spectrakit.regularize(ds["A"], ds["b"], reg=reg, x_true=ds["x_true"], device="cuda")
    assert gpu.attrs["device"].startswith("cuda")
    for name in ("x", "residual_norm", "gcv", "loo", "error_norm"):
        np.testing.assert_allclose(gpu[name].values, cpu[name].values, rtol=1e-10, atol=1e-12 * float(np.abs(cpu[name]).max()))
    At = torch.tensor(ds["A"].values, device="cuda")
    bt = torch.tensor(ds["b"].values, device="cuda")
    assert spectrakit.regularize(At, bt, reg=1e-3).attrs["device"].startswith("cuda")
    f32 = spectrakit.regularize(At.float(), bt.float(), reg=reg)
    assert f32.attrs["dtype"] == "float32"
    from spectrakit.core import filtering as core

    basis = core.svd_basis(At.float())
    assert basis.U.device.type == "cuda" and basis.U.dtype == torch.float32


def test_accessor_delegates():
    ds = datasets.shaw(16, noise=1e-2, seed=0)
    reg = np.logspace(-6, 0, 7)
    via = ds.spectral.regularize(reg=reg, device="cpu")
    direct = spectrakit.regularize(ds["A"], ds["b"], reg=reg, x_true=ds["x_true"], noise_norm=ds.attrs["noise_norm"], device="cpu")
    xr.testing.assert_identical(via, direct)
    xr.testing.assert_identical(ds["A"].spectral.picard(ds["b"], device="cpu"), ds.spectral.picard(device="cpu"))
    assert via.spectral.choose("discrepancy") == spectrakit.choose(direct, "discrepancy")


def test_choose_is_the_function_and_its_module_is_xr_choose():
    import importlib

    import spectrakit.xr
    from spectrakit.xr import choose
    from spectrakit.xr.filtering import choose as from_filtering

    module = importlib.import_module("spectrakit.xr.choose")
    assert callable(choose) and choose is spectrakit.choose is spectrakit.xr.choose is from_filtering
    assert module.choose is choose and choose.__module__ == "spectrakit.xr.choose"
