"""Hyperspectral unmixing: the synthetic cube, grid graphs, graph-regularized NMF and the
abundance error, against scikit-learn, PyGSP, closed forms and brute force.

Measured on ``hyperspectral_cube(noise=0.2, seed=0)`` (32 x 32 pixels, 64 bands, 3
endmembers; ``sum_to_one=3``, 4-neighbour grid, ``init="spa"``), abundance RMSE:

* plain NMF (reg = 0): 0.0342;
* endmembers held at plain NMF's, reg = 0.1, 0.3, 1, 3, 10: 0.0327, 0.0303, **0.0284**,
  0.0349, 0.0605 (a minimum at reg = 1, 17 % below plain NMF);
* endmembers held at the truth: 0.0274 at reg = 0, **0.0186** at reg = 1;
* blind graph-regularized NMF (endmembers free), same reg: 0.0346, 0.0439, 0.0707,
  0.1445, 0.1774: the penalty flattens the abundance maps and spreads the endmembers
  (the ``(A M, M^{-1} E)`` ambiguity), so it never helps here.
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import xarray as xr

from spectrakit.core import graphs as G
from spectrakit.datasets import hyperspectral_cube

F64 = torch.float64


def _problem(noise=0.2, **kw):
    ds = hyperspectral_cube(noise=noise, seed=0, **kw)
    ny, nx, b = ds.cube.shape
    k = ds.sizes["endmember"]
    Y = torch.as_tensor(ds.cube.values.reshape(-1, b)).clamp_min(0)
    T = torch.as_tensor(ds.abundances.values.reshape(k, -1).T)
    E = torch.as_tensor(ds.endmembers.values)
    return ds, Y, T, E


# ------------------------------------------------------------------------------ the cube


def test_cube_layout_coords_attrs():
    ds = hyperspectral_cube(20, 24, n_bands=40, n_endmembers=4, noise=0.1, seed=3)
    assert ds.cube.dims == ds.cube_exact.dims == ("y", "x", "band")
    assert ds.cube.shape == (20, 24, 40)
    assert ds.abundances.dims == ("endmember", "y", "x") and ds.abundances.shape == (4, 20, 24)
    assert ds.endmembers.dims == ("endmember", "band") and ds.noise_std.dims == ("band",)
    assert ds.wavelength.dims == ("band",) and ds.wavelength.attrs["units"] == "nm"
    np.testing.assert_allclose(ds.wavelength.values, np.linspace(400, 2500, 40))
    np.testing.assert_array_equal(ds.y.values, np.arange(20))
    np.testing.assert_array_equal(ds.endmember.values, np.arange(4))
    for key in ("problem", "noise", "seed", "noise_norm", "length_scale", "sharpness", "description", "reference"):
        assert key in ds.attrs, key
    assert ds.attrs["problem"] == "hyperspectral_cube" and ds.attrs["seed"] == 3


def test_cube_is_the_linear_mixing_model_with_relative_noise():
    ds = hyperspectral_cube(noise=0.1, seed=1)
    A, E = ds.abundances.values, ds.endmembers.values
    assert A.min() >= 0 and np.abs(A.sum(0) - 1).max() < 1e-12
    assert E.min() > 0
    np.testing.assert_allclose(ds.cube_exact.values, np.einsum("jyx,jb->yxb", A, E), rtol=1e-13)
    e = ds.cube.values - ds.cube_exact.values
    assert np.linalg.norm(e) == pytest.approx(0.1 * np.linalg.norm(ds.cube_exact.values), rel=1e-12)
    assert ds.attrs["noise_norm"] == pytest.approx(np.linalg.norm(e), rel=1e-12)
    clean = hyperspectral_cube(noise=0.0, seed=1)
    assert np.array_equal(clean.cube.values, clean.cube_exact.values) and clean.attrs["noise_norm"] == 0.0


def test_cube_noise_is_band_dependent():
    ds = hyperspectral_cube(64, 64, noise=0.1, seed=2)
    wl, std = ds.wavelength.values, ds.noise_std.values
    quiet = std[np.argmin(np.abs(wl - 1100))]
    for loud in (400, 1400, 1900, 2500):  # range ends and the water-vapour bands
        assert std[np.argmin(np.abs(wl - loud))] > 2 * quiet, loud
    # the empirical per-band standard deviation follows noise_std
    emp = (ds.cube - ds.cube_exact).std(("y", "x")).values
    np.testing.assert_allclose(emp, std, rtol=0.1)


def test_cube_seeds_and_smoothness():
    a = hyperspectral_cube(noise=0.05, seed=4)
    xr.testing.assert_identical(a, hyperspectral_cube(noise=0.05, seed=4))
    b = hyperspectral_cube(noise=0.2, seed=4)  # noise drawn last: same scene at any noise
    np.testing.assert_array_equal(a.abundances.values, b.abundances.values)
    np.testing.assert_array_equal(a.endmembers.values, b.endmembers.values)
    c = hyperspectral_cube(noise=0.05, seed=5)
    assert not np.allclose(a.abundances.values, c.abundances.values)
    n = hyperspectral_cube(seed=None)
    xr.testing.assert_identical(n, hyperspectral_cube(seed=n.attrs["seed"]))
    # smooth maps: neighbouring pixels differ far less than the maps vary
    A = a.abundances.values
    step = np.abs(np.diff(A, axis=1)).mean() + np.abs(np.diff(A, axis=2)).mean()
    assert step < 0.2 * A.std()
    # smooth spectra: second differences small against the spectra
    E = a.endmembers.values
    assert np.abs(np.diff(E, 2, axis=1)).max() < 0.1 * E.max()
    # the endmembers are distinct (spectral angle) and each has a dark part of the range
    U = E / np.linalg.norm(E, axis=1, keepdims=True)
    assert np.arccos(np.clip(U @ U.T, -1, 1))[np.triu_indices(3, 1)].min() >= 0.15
    assert (E.min(1) < 0.1 * E.max(1)).all()


def test_cube_is_fast():
    hyperspectral_cube()  # warm up numpy's FFT
    t = time.perf_counter()
    hyperspectral_cube(noise=0.2)
    assert time.perf_counter() - t < 1.0


# ------------------------------------------------------------------------------ grid graph


def test_grid_graph_matches_pygsp_and_is_row_major():
    pygsp = pytest.importorskip("pygsp")
    for ny, nx in [(3, 4), (2, 5), (7, 6)]:
        W = G.grid_graph(ny, nx)
        np.testing.assert_array_equal(W.numpy(), pygsp.graphs.Grid2d(ny, nx).W.toarray())
        assert torch.equal(G.grid_graph(ny, nx, sparse=True).to_dense(), W)
    W = G.grid_graph(3, 4)
    assert W[1 * 4 + 2, 1 * 4 + 3] == 1 and W[1 * 4 + 2, 2 * 4 + 2] == 1 and W[1 * 4 + 2, 2 * 4 + 3] == 0
    W8 = G.grid_graph(4, 5, neighbours=8)
    assert W8[1 * 5 + 1, 2 * 5 + 2] == 1 and torch.equal(W8, W8.T)
    assert W8.sum(1).reshape(4, 5)[1:-1, 1:-1].eq(8).all() and W8.sum(1)[0] == 3
    assert G.grid_graph(1, 1).shape == (1, 1) and G.grid_graph(1, 3).sum() == 4


# ------------------------------------------------------------------------------ NMF


def test_plain_nmf_matches_scikit_learn_and_decreases():
    from sklearn.decomposition import NMF

    _ds, Y, _T, _E = _problem(noise=0.05)
    rng = np.random.default_rng(0)
    A0 = rng.random((Y.shape[0], 3)) + 0.05
    E0 = rng.random((3, Y.shape[1])) + 0.05
    X = Y.numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter reached, as asked
        model = NMF(3, solver="mu", beta_loss="frobenius", init="custom", max_iter=150, tol=0)
        W = model.fit_transform(X, W=A0.copy(), H=E0.copy())
    res = G.nmf_unmix(Y, 3, init=(A0, E0), max_iter=150, tol=0)
    assert res.n_iter == model.n_iter_ == 150
    np.testing.assert_allclose(res.abundances.numpy(), W, rtol=1e-6, atol=1e-9 * np.abs(W).max())
    np.testing.assert_allclose(res.endmembers.numpy(), model.components_, rtol=1e-6,
                               atol=1e-9 * np.abs(model.components_).max())
    F = res.objective
    assert F.shape == (151,)
    assert bool((torch.diff(F) <= 1e-12 * F[:-1]).all())  # Lee and Seung: never increases
    assert float(F[-1]) == pytest.approx(2 * model.reconstruction_err_**2 / 2, rel=1e-10)
    assert float(F[0]) == pytest.approx(float(torch.linalg.norm(Y - torch.as_tensor(A0 @ E0)) ** 2), rel=1e-12)


def test_objective_is_the_documented_one_and_decreases_with_every_term():
    _ds, Y, _T, _E = _problem(noise=0.1, n_bands=32)
    W = G.grid_graph(32, 32)
    L = G.laplacian(W)
    reg, sparsity, s = 0.3, 0.05, 2.0
    res = G.nmf_unmix(Y, 3, graph=W, reg=reg, sparsity=sparsity, sum_to_one=s, init="spa", max_iter=200, tol=0)
    A, E = res.abundances, res.endmembers
    F = (torch.linalg.norm(Y - A @ E) ** 2 + reg * torch.trace(A.T @ L @ A) + sparsity * A.sum()
         + s * s * ((A.sum(1) - 1) ** 2).sum())
    assert float(res.objective[-1]) == pytest.approx(float(F), rel=1e-10)
    assert bool((torch.diff(res.objective) <= 1e-12 * res.objective[:-1]).all())
    assert A.min() >= 0 and E.min() >= 0


def test_fixed_endmembers_reach_the_closed_form():
    """With E held, the fixed point solves A (E E^T + s^2 11^T) + reg L A = Y E^T + s^2 11^T -
    sparsity/2 wherever A > 0: a linear system, solved here densely."""
    ny, nx, k, b = 4, 5, 3, 12
    n = ny * nx
    gen = torch.Generator().manual_seed(0)
    E = torch.rand(k, b, generator=gen, dtype=F64) + 0.1
    A_true = torch.rand(n, k, generator=gen, dtype=F64) + 0.3
    Y = (A_true @ E + 0.02 * torch.rand(n, b, generator=gen, dtype=F64)).clamp_min(0)
    W = G.grid_graph(ny, nx)
    L = G.laplacian(W)
    reg, sparsity, s = 0.5, 0.1, 1.5
    ones = torch.ones(k, k, dtype=F64)
    M = torch.kron(torch.eye(n, dtype=F64), E @ E.T + s * s * ones) + reg * torch.kron(L, torch.eye(k, dtype=F64))
    rhs = (Y @ E.T + s * s - sparsity / 2).reshape(-1)
    A_star = torch.linalg.solve(M, rhs).reshape(n, k)
    assert A_star.min() > 0.05  # interior: the nonnegativity is not active
    res = G.nmf_unmix(Y, k, graph=W, reg=reg, sparsity=sparsity, sum_to_one=s, update_endmembers=False,
                      init=(torch.full((n, k), 0.5, dtype=F64), E), max_iter=5000, tol=0)
    assert torch.equal(res.endmembers, E)
    torch.testing.assert_close(res.abundances, A_star, rtol=1e-10, atol=1e-12)


def test_graph_given_as_laplacian_sparse_or_scipy_gives_the_same():
    _ds, Y, _T, _E = _problem(noise=0.1, n_bands=16)
    W = G.grid_graph(32, 32)
    runs = [
        G.nmf_unmix(Y, 3, graph=g, reg=0.5, init="spa", max_iter=40, tol=0)
        for g in (W, W.to_sparse(), sp.csr_array(W.numpy()), G.laplacian(W), G.laplacian(W.to_sparse()),
                  W.numpy() + np.eye(1024))  # self-loops are ignored, as by every Laplacian
    ]
    for r in runs[1:]:
        torch.testing.assert_close(r.abundances, runs[0].abundances, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(r.objective, runs[0].objective, rtol=1e-12, atol=0)
    sym = G.nmf_unmix(Y, 3, graph=G.laplacian(W, "symmetric"), reg=0.5, init="spa", max_iter=40, tol=0)
    assert bool((torch.diff(sym.objective) <= 1e-12 * sym.objective[:-1]).all())


def test_reg_grid_equals_separate_runs():
    _ds, Y, _T, _E = _problem(noise=0.1, n_bands=16)
    W = G.grid_graph(32, 32, sparse=True)
    regs = [0.0, 0.3, 2.0]
    grid = G.nmf_unmix(Y, 3, graph=W, reg=regs, sparsity=0.01, sum_to_one=2.0, init="spa", max_iter=300, tol=1e-5)
    assert grid.abundances.shape == (3, 1024, 3) and grid.endmembers.shape == (3, 3, 16)
    assert grid.n_iter.shape == (3,) and grid.converged.shape == (3,)
    assert grid.objective.shape == (3, int(grid.n_iter.max()) + 1)
    for i, r in enumerate(regs):
        one = G.nmf_unmix(Y, 3, graph=W, reg=r, sparsity=0.01, sum_to_one=2.0, init="spa", max_iter=300, tol=1e-5)
        assert isinstance(one.n_iter, int) and isinstance(one.converged, bool)
        assert one.n_iter == int(grid.n_iter[i]) and one.converged == bool(grid.converged[i])
        torch.testing.assert_close(one.abundances, grid.abundances[i], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(one.objective, grid.objective[i, : one.n_iter + 1], rtol=1e-10, atol=0)
        # a converged value is frozen: its objective stays constant to the end of the grid run
        assert bool((grid.objective[i, one.n_iter :] == grid.objective[i, one.n_iter]).all())


def test_random_init_is_seeded_and_inputs_are_not_modified():
    _ds, Y, _T, _E = _problem(noise=0.05, n_bands=16)
    Y0 = Y.clone()
    A0, E0 = torch.rand(1024, 3, dtype=F64), torch.rand(3, 16, dtype=F64)
    A1, E1 = A0.clone(), E0.clone()
    a = G.nmf_unmix(Y, 3, max_iter=20, seed=1)
    b = G.nmf_unmix(Y, 3, max_iter=20, seed=1)
    c = G.nmf_unmix(Y, 3, max_iter=20, seed=2)
    assert torch.equal(a.abundances, b.abundances) and not torch.equal(a.abundances, c.abundances)
    G.nmf_unmix(Y, 3, init=(A0, E0), max_iter=5)
    assert torch.equal(Y, Y0) and torch.equal(A0, A1) and torch.equal(E0, E1)


def test_float32_and_numpy_inputs():
    _ds, Y, _T, _E = _problem(noise=0.05, n_bands=16)
    r32 = G.nmf_unmix(Y.float(), 3, init="spa", max_iter=50, tol=0)
    r64 = G.nmf_unmix(Y.numpy(), 3, init="spa", max_iter=50, tol=0, device="cpu")
    assert r32.abundances.dtype == torch.float32 and r64.abundances.dtype == F64
    torch.testing.assert_close(r32.abundances.double(), r64.abundances, rtol=1e-3, atol=1e-4)


# ------------------------------------------------------------------------------ the error


def test_abundance_error_of_the_truth_is_zero_and_undoes_order_and_scale():
    _ds, _Y, T, _E = _problem()
    assert float(G.abundance_error(T, T).rmse) == 0.0
    perm = [2, 0, 1]
    est = T[:, perm] * torch.tensor([2.0, 0.5, 3.0], dtype=F64)
    err = G.abundance_error(est, T)
    assert float(err.rmse) < 1e-14
    assert err.permutation.tolist() == [1, 2, 0]  # true j is estimated column perm[j]
    torch.testing.assert_close(err.scale, torch.tensor([2.0, 1 / 3, 0.5], dtype=F64))
    assert float(G.abundance_error(est, T, scale=None).rmse) > 0.1
    # sum-to-one renormalization undoes a common per-pixel factor, not per-endmember ones
    assert float(G.abundance_error(2.5 * T[:, perm], T, scale="sum_to_one").rmse) < 1e-14
    assert float(G.abundance_error(est, T, scale="sum_to_one").rmse) > 0.01


def test_abundance_error_matches_brute_force_over_permutations():
    gen = torch.Generator().manual_seed(0)
    T = torch.rand(200, 4, generator=gen, dtype=F64)
    est = torch.rand(3, 200, 4, generator=gen, dtype=F64)  # a batch
    err = G.abundance_error(est, T)
    assert err.rmse.shape == (3,) and err.permutation.shape == (3, 4)
    for b in range(3):
        best = np.inf
        for p in itertools.permutations(range(4)):
            A = est[b][:, list(p)]
            c = (A * T).sum(0) / (A * A).sum(0)
            best = min(best, float(torch.sqrt(((A * c - T) ** 2).mean())))
        assert float(err.rmse[b]) == pytest.approx(best, rel=1e-12)
        one = G.abundance_error(est[b], T)
        assert float(one.rmse) == pytest.approx(float(err.rmse[b]), rel=1e-14)
        torch.testing.assert_close(one.per_endmember, err.per_endmember[b])


# ------------------------------------------------------------------------------ unmixing the cube


@pytest.fixture(scope="module")
def noisy():
    ds, Y, T, E = _problem(noise=0.2)
    W = G.grid_graph(32, 32, sparse=True)
    plain = G.nmf_unmix(Y, 3, init="spa", sum_to_one=3.0)
    return Y, T, E, W, plain


REGS = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0]


def test_laplacian_lowers_the_abundance_error_with_a_minimum_at_moderate_reg(noisy):
    """Endmembers held at plain NMF's, the spatial penalty denoises the abundances:
    0.0342 (plain NMF) -> 0.0284 at reg = 1 -> 0.0605 at reg = 10."""
    Y, T, _E, W, plain = noisy
    e0 = float(G.abundance_error(plain.abundances, T).rmse)
    assert 0.030 < e0 < 0.038  # 0.0342
    res = G.nmf_unmix(Y, 3, graph=W, reg=REGS, sum_to_one=3.0, update_endmembers=False,
                      init=(plain.abundances, plain.endmembers))
    err = G.abundance_error(res.abundances, T).rmse
    assert float(err[0]) == pytest.approx(e0, rel=1e-3)  # one more step from plain NMF's stop
    best = int(torch.argmin(err))
    assert REGS[best] == 1.0  # interior: 0.0342, 0.0327, 0.0303, 0.0284, 0.0349, 0.0605
    assert float(err[best]) < 0.9 * e0  # 17 % lower
    assert float(err[-1]) > 1.5 * float(err[best])  # too much smoothing blurs the maps
    assert bool((torch.diff(err[: best + 1]) < 0).all()) and bool((torch.diff(err[best:]) > 0).all())


def test_laplacian_with_the_true_endmembers(noisy):
    """Known endmembers: 0.0274 at reg = 0 -> 0.0186 at reg = 1 (32 % lower)."""
    Y, T, E, W, _plain = noisy
    res = G.nmf_unmix(Y, 3, graph=W, reg=REGS, sum_to_one=3.0, update_endmembers=False,
                      init=(torch.full_like(T, 1 / 3), E))
    err = G.abundance_error(res.abundances, T).rmse
    assert REGS[int(torch.argmin(err))] == 1.0
    assert float(err.min()) < 0.75 * float(err[0])


def test_blind_graph_regularized_nmf_flattens_the_maps(noisy):
    """The documented caution: with the endmembers free the penalty is also lowered by
    flattening the abundance maps and spreading the endmembers (0.0342 -> 0.0707 at reg = 1)."""
    Y, T, _E, W, plain = noisy
    res = G.nmf_unmix(Y, 3, graph=W, reg=[1.0, 10.0], sum_to_one=3.0, init="spa")
    err = G.abundance_error(res.abundances, T)
    e0 = float(G.abundance_error(plain.abundances, T).rmse)
    assert float(err.rmse[0]) > 1.5 * e0 and float(err.rmse[1]) > float(err.rmse[0])
    # flatter maps (their pixels' spread: 0.78 and 0.51 against plain NMF's 0.95) ...
    contrast = res.abundances.std(1).sum(-1)
    assert bool((contrast < 0.85 * plain.abundances.std(0).sum()).all())
    # ... and endmembers further apart (3.9 and 6.5 against 3.4)
    spread = torch.linalg.norm(res.endmembers - res.endmembers.mean(1, keepdim=True), dim=(-2, -1))
    assert bool((spread > 1.1 * torch.linalg.norm(plain.endmembers - plain.endmembers.mean(0))).all())


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda Y, W: G.nmf_unmix(-Y, 3), "Y has negative entries.*clip"),
        (lambda Y, W: G.nmf_unmix(Y[0], 3), "Y must be \\(n_pixels, n_bands\\)"),
        (lambda Y, W: G.nmf_unmix(Y.numpy().astype(str), 3), "Y must be a real numeric"),
        (lambda Y, W: G.nmf_unmix(Y, 0), "n_endmembers must be >= 1"),
        (lambda Y, W: G.nmf_unmix(Y, 17), "n_endmembers must be <= min"),
        (lambda Y, W: G.nmf_unmix(Y, 3, graph=W, reg=-1.0), "reg must be >= 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, reg=0.5), "reg > 0 needs graph"),
        (lambda Y, W: G.nmf_unmix(Y, 3, graph=W[:10, :10], reg=0.5), "graph must be \\(n_pixels, n_pixels\\)"),
        (lambda Y, W: G.nmf_unmix(Y, 3, graph=W - W.T.roll(1, 0), reg=0.5), "graph"),
        (lambda Y, W: G.nmf_unmix(Y, 3, graph=-W, reg=0.5), "read as a Laplacian"),
        (lambda Y, W: G.nmf_unmix(Y, 3, graph=W - 2 * torch.eye(1024, dtype=F64), reg=0.5), "read as a Laplacian"),
        (lambda Y, W: G.nmf_unmix(Y, 3, sparsity=-0.1), "sparsity must be >= 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, sum_to_one=0.0), "sum_to_one must be > 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, max_iter=-1), "max_iter must be >= 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, tol=-1.0), "tol must be >= 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, init="nndsvd"), "init='nndsvd' is unknown"),
        (lambda Y, W: G.nmf_unmix(Y, 3, init=(torch.ones(5, 3), torch.ones(3, 16))), "init\\[0\\] \\(abundances\\)"),
        (lambda Y, W: G.nmf_unmix(Y, 3, init=(torch.ones(1024, 3), -torch.ones(3, 16))), "init\\[1\\].*>= 0"),
        (lambda Y, W: G.nmf_unmix(Y, 3, update_endmembers="no"), "update_endmembers"),
        (lambda Y, W: G.nmf_unmix(torch.full((4, 3), float("nan")), 1), "Y"),
        (lambda Y, W: G.abundance_error(torch.ones(5, 3), torch.ones(5, 2)), "estimated must be"),
        (lambda Y, W: G.abundance_error(torch.ones(5, 3), torch.ones(5)), "true must be"),
        (lambda Y, W: G.abundance_error(torch.ones(5, 3), torch.ones(5, 3), scale="max"), "scale="),
        (lambda Y, W: G.grid_graph(3, 3, neighbours=6), "neighbours must be 4 or 8"),
        (lambda Y, W: G.grid_graph(0, 3), "ny must be >= 1"),
        (lambda Y, W: hyperspectral_cube(n_bands=1), "n_bands must be >= 2"),
        (lambda Y, W: hyperspectral_cube(n_endmembers=0), "n_endmembers must be >= 1"),
        (lambda Y, W: hyperspectral_cube(noise=-0.1), "noise must be >= 0"),
        (lambda Y, W: hyperspectral_cube(length_scale=0.0), "length_scale must be > 0"),
        (lambda Y, W: hyperspectral_cube(sharpness=-1.0), "sharpness must be > 0"),
        (lambda Y, W: hyperspectral_cube(seed=-1), "seed must be None or a non-negative"),
    ],
)
def test_clear_errors(call, match):
    Y = torch.rand(1024, 16, dtype=F64)
    W = G.grid_graph(32, 32)
    with pytest.raises((ValueError, TypeError), match=match):
        call(Y, W)


@pytest.mark.gpu
def test_gpu_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    _ds, Y, T, _E = _problem(noise=0.2)
    W = G.grid_graph(32, 32, sparse=True)
    kw = dict(graph=W, reg=[0.0, 1.0], sum_to_one=3.0, init="spa", max_iter=200, tol=0)
    cpu = G.nmf_unmix(Y, 3, **kw)
    gpu = G.nmf_unmix(Y.cuda(), 3, **{**kw, "graph": W.cuda()})
    assert gpu.abundances.is_cuda and gpu.objective.is_cuda
    torch.testing.assert_close(gpu.abundances.cpu(), cpu.abundances, rtol=1e-8, atol=1e-10)
    err = G.abundance_error(gpu.abundances, T.cuda())
    assert err.rmse.is_cuda
    torch.testing.assert_close(err.rmse.cpu(), G.abundance_error(cpu.abundances, T).rmse)
