"""Fourier spectra of dask-backed arrays: lazy, block by block, equal to the eager result;
and the same on a dask.distributed cluster with worker processes on loopback."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr

import spectrakit  # noqa: F401  (registers .spectral)

da_mod = pytest.importorskip("dask.array")


def data(n_series=6, n=256, seed=0):
    rng = np.random.default_rng(seed)
    t = 0.5 * np.arange(n)
    return xr.DataArray(
        rng.standard_normal((n_series, n)) + np.cos(2 * np.pi * 0.2 * t),
        dims=("pixel", "time"),
        coords={"pixel": np.arange(n_series), "time": t},
        attrs={"units": "K"},
        name="field",
    )


OPERATIONS = {
    "periodogram": lambda x: x.spectral.power("time"),
    "welch": lambda x: x.spectral.power("time", method="welch", nperseg=64, window="hamming"),
    "fft": lambda x: x.spectral.fft("time", true_phase=True),
    "rfft_irfft": lambda x: x.spectral.rfft("time").spectral.irfft("time"),
    "spectrogram": lambda x: x.spectral.spectrogram("time", nperseg=32),
    "coherence": lambda x: x.spectral.coherence(x.roll(time=1), "time", nperseg=32),
}


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_dask_equals_eager_and_stays_lazy(name):
    eager = data()
    lazy_in = eager.chunk({"pixel": 2})  # chunked along a non-core dim
    expected = OPERATIONS[name](eager)
    lazy = OPERATIONS[name](lazy_in)
    assert isinstance(lazy.data, da_mod.Array), "the result was computed eagerly"
    # block by block: one output block per input block along the mapped dim
    assert lazy.chunksizes["pixel"] == (2, 2, 2)
    assert lazy.dims == expected.dims and lazy.dtype == expected.dtype
    result = lazy.compute()
    xr.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-12)
    assert result.attrs == expected.attrs
    for c in expected.coords:
        np.testing.assert_array_equal(result[c].values, expected[c].values)


def test_only_the_needed_blocks_are_computed():
    eager = data(n_series=8)
    calls = []

    def spy(block):
        calls.append(block.shape)
        return block

    lazy_in = eager.chunk({"pixel": 2}).map_blocks(lambda b: b.copy(data=spy(b.values)))
    P = lazy_in.spectral.power("time")
    P.isel(pixel=0).compute()
    # the first block of two series, never the whole (8, 256) array
    assert calls and all(shape[0] <= 2 for shape in calls), calls


def test_chunked_core_dim_and_nan_on_dask():
    x = data().chunk({"time": 64})
    with pytest.raises(ValueError, match=r"split into 4 chunks along 'time'.*rechunk it with \.chunk\(\{'time': -1\}\)"):
        x.spectral.power("time")
    bad = data()
    bad[3, 5] = np.nan
    lazy = bad.chunk({"pixel": 2}).spectral.power("time")  # found when the block is computed
    with pytest.raises(ValueError, match="non-finite"):
        lazy.compute()


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
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


def test_distributed_cluster_equals_in_memory(client):
    eager = data(n_series=8, n=512, seed=3)
    lazy_in = eager.chunk({"pixel": 2})
    P = lazy_in.spectral.power("time", method="welch", nperseg=128, device="cpu")
    F = lazy_in.spectral.fft("time", device="cpu")
    assert isinstance(P.data, da_mod.Array) and isinstance(F.data, da_mod.Array)
    P_c, F_c = client.compute([P, F], sync=True)  # runs in the two worker processes
    xr.testing.assert_allclose(P_c, eager.spectral.power("time", method="welch", nperseg=128, device="cpu"))
    xr.testing.assert_allclose(F_c, eager.spectral.fft("time", device="cpu"))
    workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert len(workers) == 2
