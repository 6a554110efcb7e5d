"""Every labelled function that maps over non-core dims runs lazily on dask-backed inputs
(``xarray.apply_ufunc(..., dask="parallelized")`` through ``spectrakit.xr._apply``) and
gives the eager result: with dask's default scheduler, and on a dask.distributed
``LocalCluster`` of two single-threaded worker processes on loopback.

What is mapped, and over what (the core dims stay in one chunk):

* ``regularize`` / ``regularize_kernel``: right-hand sides, b chunked along a dim other
  than the rows (A whole, decomposed once when the graph is built);
* ``smooth`` / ``deconvolve`` / ``power`` (periodogram, Welch): series, chunked along a
  dim other than the transformed one;
* ``graph_filter``: signals on the graph, chunked along e.g. bands;
* the Monte-Carlo learning curves: a dask-backed grid of seeds, one independent
  estimate per seed.

All tests share one cluster (module-scoped fixture) and one xdist group; the suite runs
``--dist loadfile``, which keeps a file on one worker anyway.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr

import spectrakit
from spectrakit.xr import curves as xc
from spectrakit.xr.graphs import graph_filter

dsa = pytest.importorskip("dask.array")

pytestmark = pytest.mark.xdist_group("dask")

RTOL, ATOL = 1e-10, 1e-12


# ----------------------------------------------------------------------------- data


def linear_problem(n_rhs=8, m=40, n=12, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, m)
    A = xr.DataArray(np.vander(t, n, increasing=True), dims=("t", "c"), coords={"t": t})
    x_true = xr.DataArray(rng.standard_normal((n_rhs, n)), dims=("pixel", "c"))
    noise = 1e-3 * rng.standard_normal((m, n_rhs))
    b = (A.dot(x_true) + xr.DataArray(noise, dims=("t", "pixel"))).assign_coords(pixel=np.arange(n_rhs) * 10)
    return A, b.transpose("pixel", "t"), x_true


def cube(n_pixel=8, n=128, seed=0):
    rng = np.random.default_rng(seed)
    t = 0.1 * np.arange(n)
    return xr.DataArray(
        np.sin(2 * np.pi * 0.4 * t) + 0.3 * rng.standard_normal((n_pixel, n)),
        dims=("pixel", "time"), coords={"pixel": np.arange(n_pixel), "time": t}, attrs={"units": "K"}, name="field",
    )


def psf(n=128):
    t = 0.1 * (np.arange(n) - n // 2)
    k = np.exp(-0.5 * (t / 0.3) ** 2)
    return xr.DataArray(k / k.sum(), dims="time", coords={"time": t})


def graph_and_bands(n=30, bands=6, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.25)
    W = np.triu(W, 1)
    W = xr.DataArray(W + W.T, dims=("v", "v_"))
    signal = xr.DataArray(rng.standard_normal((bands, n)), dims=("band", "v"),
                          coords={"band": np.arange(bands) * 100}, attrs={"units": "K"})
    return W, signal


LAM = 1.0 / np.arange(1, 31) ** 1.5
COEFS = 1.0 / np.arange(1, 31)
SEEDS = np.arange(6)


def seeds(chunk=2):
    return xr.DataArray(SEEDS, dims="seed", coords={"seed": SEEDS}).chunk(seed=chunk)


# --------------------------------------------------------------- cases: (eager, lazy) builders

REG = np.logspace(-8, 0, 9)


def _regularize(lazy):
    A, b, x_true = linear_problem()
    return spectrakit.regularize(A, b.chunk(pixel=3) if lazy else b, reg=REG, x_true=x_true, noise_norm=1e-3,
                                 device="cpu")


def _regularize_scalar(lazy):
    A, b, _ = linear_problem()
    return spectrakit.regularize(A, b.chunk(pixel=3) if lazy else b, reg=1e-4, method="tsvd", device="cpu")


def _regularize_kernel(lazy):
    t = np.linspace(0, 1, 25)
    K = xr.DataArray(np.exp(-((t[:, None] - t[None, :]) ** 2) / 0.02), dims=("s", "s2"))
    y = xr.DataArray(np.random.default_rng(1).standard_normal((25, 6)), dims=("s", "rep"))
    # (reg >= 1e-4: below, the dual coefficients are so large that a block's BLAS order shows)
    return spectrakit.regularize_kernel(K, y.chunk(rep=2) if lazy else y, reg=np.logspace(-4, 0, 5), K_test=K.isel(s=slice(0, 5))
                                        .rename(s="test"), device="cpu")


def _smooth(lazy):
    da = cube()
    return spectrakit.smooth(da.chunk(pixel=3) if lazy else da, "time", reg=np.logspace(-4, 1, 6), sobolev=2.0,
                             noise_norm=0.3, device="cpu")


def _deconvolve(lazy):
    da = spectrakit.blur(cube(), psf(), "time", device="cpu")
    return spectrakit.deconvolve(da.chunk(pixel=3) if lazy else da, psf(), "time", reg=np.logspace(-6, -1, 6),
                                 x_true=cube(), device="cpu")


def _power(lazy):
    da = cube()
    return (da.chunk(pixel=3) if lazy else da).spectral.power("time", device="cpu")


def _welch(lazy):
    da = cube()
    return (da.chunk(pixel=3) if lazy else da).spectral.power("time", method="welch", nperseg=32, device="cpu")


def _graph_filter(lazy):
    W, s = graph_and_bands()
    return graph_filter(s.chunk(band=2) if lazy else s, W, reg=[0.1, 1.0], method="heat", device="cpu")


def _graph_filter_chebyshev(lazy):
    W, s = graph_and_bands()
    return graph_filter(s.chunk(band=2) if lazy else s, W, reg=0.5, order=12, device="cpu")


def _monte_carlo_curve(lazy):
    return xc.monte_carlo_curve(LAM, COEFS, n=[10, 20], reg=[0.1, 1.0], noise=0.3, trials=3,
                                seed=seeds() if lazy else SEEDS, device="cpu")


def _random_features_monte_carlo(lazy):
    return xc.random_features_monte_carlo(LAM, COEFS, n=15, n_features=[5, 20], reg=1.0, noise=0.2, draws=1,
                                          trials=2, seed=seeds() if lazy else SEEDS, device="cpu")


def _model_collapse_monte_carlo(lazy):
    return xc.model_collapse_monte_carlo(np.ones(8), 1.0, 40, 2, trials=10, seed=seeds() if lazy else SEEDS,
                                         device="cpu")


CASES = {
    "regularize": (_regularize, "x"),
    "regularize_scalar_reg": (_regularize_scalar, "x"),
    "regularize_kernel": (_regularize_kernel, "prediction"),
    "smooth": (_smooth, "estimate"),
    "deconvolve": (_deconvolve, "estimate"),
    "power": (_power, None),
    "welch": (_welch, None),
    "graph_filter": (_graph_filter, "estimate"),
    "graph_filter_chebyshev": (_graph_filter_chebyshev, "estimate"),
    "monte_carlo_curve": (_monte_carlo_curve, "error"),
    "random_features_monte_carlo": (_random_features_monte_carlo, "error"),
    "model_collapse_monte_carlo": (_model_collapse_monte_carlo, "error"),
}


def _lazy_variable(result, var):
    return result if var is None else result[var]


def _assert_same(result, expected):
    assert type(result) is type(expected)
    if isinstance(expected, xr.Dataset):
        assert set(result.data_vars) == set(expected.data_vars)
        for name in expected.data_vars:
            assert result[name].dims == expected[name].dims, name
            np.testing.assert_allclose(result[name].values, expected[name].values, rtol=RTOL, atol=ATOL, err_msg=name)
    else:
        assert result.dims == expected.dims
        np.testing.assert_allclose(result.values, expected.values, rtol=RTOL, atol=ATOL)
    assert result.attrs == expected.attrs
    for c in expected.coords:
        np.testing.assert_array_equal(result[c].values, expected[c].values)


# ----------------------------------------------------------------------------- plain dask


@pytest.mark.parametrize("name", sorted(CASES))
def test_lazy_equals_eager(name):
    build, var = CASES[name]
    expected = build(False)
    lazy = build(True)
    assert isinstance(_lazy_variable(lazy, var).data, dsa.Array), "computed eagerly"
    _assert_same(lazy.compute(), expected)


def test_nothing_is_computed_until_asked():
    """Building the lazy results reads no block of b, the signal or the cube."""
    calls = []

    def spy(block):
        calls.append(block.shape)
        return block

    def spied(da, chunks):
        data = da.chunk(chunks).data
        return da.copy(data=dsa.map_blocks(spy, data, dtype=data.dtype, meta=np.array((), dtype=data.dtype)))

    A, b, _ = linear_problem()
    W, bands = graph_and_bands()
    results = [
        spectrakit.regularize(A, spied(b, {"pixel": 3}), reg=REG, device="cpu")["x"],
        spectrakit.smooth(spied(cube(), {"pixel": 3}), "time", reg=0.1, device="cpu")["estimate"],
        spied(cube(), {"pixel": 3}).spectral.power("time", method="welch", nperseg=32, device="cpu"),
        graph_filter(spied(bands, {"band": 2}), W, reg=0.5, device="cpu")["estimate"],
    ]
    assert calls == [], calls
    assert all(isinstance(r.data, dsa.Array) for r in results)
    results[0].isel(pixel=0).compute()  # only the first block of three right-hand sides
    assert calls and all(shape[0] <= 3 for shape in calls), calls


def test_chunked_core_dims_are_refused_naming_the_argument():
    A, b, x_true = linear_problem()
    with pytest.raises(ValueError, match=r"^b is a dask array split into 4 chunks along 't'.*\.chunk\(\{'t': -1\}\)"):
        spectrakit.regularize(A, b.chunk(t=10), reg=REG, device="cpu")
    with pytest.raises(ValueError, match=r"^A is a dask array split into 2 chunks along 'c'.*\.chunk\(\{'c': -1\}\)"):
        spectrakit.regularize(A.chunk(c=6), b.chunk(pixel=3), reg=REG, device="cpu")
    with pytest.raises(ValueError, match=r"^x_true is a dask array split into 2 chunks along 'c'"):
        spectrakit.regularize(A, b.chunk(pixel=3), reg=REG, x_true=x_true.chunk(c=6), device="cpu")
    with pytest.raises(ValueError, match=r"split into 4 chunks along 'time'.*\.chunk\(\{'time': -1\}\)"):
        spectrakit.smooth(cube().chunk(time=32), "time", reg=0.1, device="cpu")
    W, bands = graph_and_bands()
    with pytest.raises(ValueError, match=r"^signal is a dask array split into 3 chunks along 'v'.*\.chunk\(\{'v': -1\}\)"):
        graph_filter(bands.chunk(v=10), W, reg=0.5, device="cpu")


def test_nan_in_a_block_is_found_when_computed():
    A, b, _ = linear_problem()
    b = b.copy()
    b[5, 3] = np.nan
    lazy = spectrakit.regularize(A, b.chunk(pixel=3), reg=REG, device="cpu")
    with pytest.raises(ValueError, match="non-finite"):
        lazy.compute()


def test_a_whole_dask_operator_is_read_once():
    A, b, _ = linear_problem()
    expected = spectrakit.regularize(A, b, reg=REG, device="cpu")
    lazy = spectrakit.regularize(A.chunk(), b.chunk(pixel=3), reg=REG, device="cpu")
    _assert_same(lazy.compute(), expected)


def test_seed_grid_matches_one_seed_at_a_time():
    grid = _monte_carlo_curve(True).compute()
    one = xc.monte_carlo_curve(LAM, COEFS, n=[10, 20], reg=[0.1, 1.0], noise=0.3, trials=3, seed=4, device="cpu")
    for name in one.data_vars:
        np.testing.assert_allclose(grid[name].sel(seed=4).values, one[name].values, rtol=RTOL, atol=ATOL)
    assert "seed" not in grid.attrs and one.attrs["seed"] == 4


# ----------------------------------------------------------------------------- distributed


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    # worker processes (not threads): what a real cluster does, pickling every task; on
    # loopback, without a dashboard, so it runs as root in CI without network
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
    finally:
        cluster.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_distributed_equals_eager(client, name):
    build, var = CASES[name]
    expected = build(False)
    lazy = build(True)
    assert isinstance(_lazy_variable(lazy, var).data, dsa.Array), "computed eagerly"
    (result,) = client.compute([lazy], sync=True)  # in the two worker processes
    _assert_same(result, expected)


def test_distributed_cluster_has_two_single_thread_workers(client):
    distributed = pytest.importorskip("distributed")
    workers = client.scheduler_info()["workers"].values()
    assert len(workers) == 2 and all(w["nthreads"] == 1 for w in workers)
    # the blocks of one graph spread over both workers
    da = cube(n_pixel=16).chunk(pixel=2)
    P = da.spectral.power("time", device="cpu")
    P = client.persist(P)
    distributed.wait(P)
    where = client.who_has(P.data)
    hosts = {w for ws in where.values() for w in ws}
    assert len(hosts) == 2, where
    _assert_same(P.compute(), cube(n_pixel=16).spectral.power("time", device="cpu"))
