"""The labelled block model, k-means, unmixing and ARI against spectrakit.core.graphs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

import spectrakit
from spectrakit.core import graphs as G
from spectrakit.xr import graphs as sxg


def test_block_model_is_core_with_labels():
    W = spectrakit.datasets.stochastic_block_model([5, 4, 3], 0.6, 0.1, seed=2)
    A, labels = G.stochastic_block_model([5, 4, 3], 0.6, 0.1, seed=2)
    np.testing.assert_array_equal(W.values, A.numpy())
    assert W.dims == ("node", "node_") and W["block"].values.tolist() == labels.tolist()
    assert W["block_"].dims == ("node_",) and W.attrs["seed"] == 2 and W.attrs["p_in"] == 0.6
    clusters = W.spectral.spectral_clustering(3)
    assert (clusters["block"].values == labels.numpy()).all()


@pytest.mark.parametrize("kind", ["numpy", "torch", "xarray"])
def test_kmeans_matches_core(kind):
    X = np.random.default_rng(0).standard_normal((30, 2)) + np.repeat([[0, 0], [6, 0], [0, 6]], 10, axis=0)
    Xin = {"numpy": X.copy(), "torch": torch.tensor(X),
           "xarray": xr.DataArray(X.copy(), dims=("point", "axis"), coords={"truth": ("point", np.repeat([0, 1, 2], 10))})}[kind]
    km = sxg.kmeans(Xin, 3, seed=0, device="cpu")
    ref = G.kmeans(torch.tensor(X), 3, seed=0)
    np.testing.assert_array_equal(km["labels"].values, ref.labels.numpy())
    np.testing.assert_array_equal(km["centers"].values, ref.centers.numpy())
    assert km.attrs["inertia"] == ref.inertia
    if kind == "xarray":
        assert km["labels"].dims == ("point",) and "truth" in km["labels"].coords
        assert sxg.adjusted_rand_index(km["labels"]["truth"], km["labels"]) == 1.0
    np.testing.assert_array_equal(np.asarray(Xin if kind != "torch" else Xin.numpy()), X)


def test_nmf_unmix_and_abundance_error_match_core():
    cube = spectrakit.datasets.hyperspectral_cube(8, 8, n_bands=16, noise=0.05, seed=0)
    pixels = cube["cube"].clip(0).stack(pixel=("y", "x")).transpose("pixel", "band")
    truth = cube["abundances"].stack(pixel=("y", "x")).transpose("pixel", "endmember")
    W = xr.concat([pixels["y"], pixels["x"]], "axis").spectral.graph(kind="epsilon", radius=1.0, sample_dim="pixel")
    res = sxg.nmf_unmix(pixels, 3, graph=W, reg=[0.0, 0.3], sum_to_one=3.0, init="spa", max_iter=50)
    ref = G.nmf_unmix(pixels.values, 3, graph=W.values, reg=torch.tensor([0.0, 0.3]), sum_to_one=3.0, init="spa",
                      max_iter=50)
    # (the labelled graph is passed as it is stored, sparse; core got it dense: rounding differs)
    np.testing.assert_allclose(res["abundances"].values, ref.abundances.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(res["endmembers"].values, ref.endmembers.numpy(), rtol=1e-6, atol=1e-12)
    assert res["abundances"].dims == ("reg", "pixel", "endmember") and res["endmembers"].dims == ("reg", "endmember", "band")
    assert "wavelength" in res["endmembers"].coords or res["endmembers"]["band"].size == 16
    maps = res["abundances"].isel(reg=0).unstack("pixel")                # the (y, x) grid back
    assert set(maps.dims) == {"y", "x", "endmember"}
    err = sxg.abundance_error(res["abundances"], truth)
    ref_err = G.abundance_error(res["abundances"].values, truth.values)
    np.testing.assert_array_equal(err["rmse"].values, ref_err.rmse.numpy())
    np.testing.assert_array_equal(err["permutation"].values, ref_err.permutation.numpy())
    assert err["rmse"].dims == ("reg",) and err["reg"].values.tolist() == [0.0, 0.3]
    single = sxg.nmf_unmix(pixels.values, 3, init="spa", max_iter=5)
    assert single["abundances"].dims == ("pixel", "endmember") and single.attrs["reg"] == 0.0


def test_adjusted_rand_index_bad_inputs_are_named():
    # (its values against scikit-learn: tests/test_graphs_session.py)
    with pytest.raises(ValueError, match="labels_pred"):
        sxg.adjusted_rand_index([0, 1], [[0, 1]])
    with pytest.raises(ValueError, match="X"):
        sxg.kmeans(np.zeros(4), 2)
    with pytest.raises(ValueError, match="Y"):
        sxg.nmf_unmix(np.full((4, 3), np.nan), 2)
