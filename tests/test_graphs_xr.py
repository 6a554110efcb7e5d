"""The labelled graph API (spectrakit.xr.graphs) against independent references.

References: scikit-learn's ``kneighbors_graph`` / ``radius_neighbors_graph`` / ``rbf_kernel``
(graphs), ``scipy.sparse.csgraph.laplacian`` (Laplacians), numpy's ``eigh`` (spectra),
``SpectralClustering`` with ``adjusted_rand_score`` (clusters), dense solves and
``scipy.linalg.expm`` (filters), ``LabelSpreading`` (label propagation). Labelling (dims,
coords, attrs), input types, unmodified inputs and the errors are checked too.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import torch
import xarray as xr
from scipy.sparse.csgraph import laplacian as csgraph_laplacian

import spectrakit
import spectrakit.xr as sxr
from spectrakit.xr import graphs as xg

CPU = {"device": "cpu"}


@pytest.fixture(scope="module")
def moons():
    from sklearn.datasets import make_moons

    X, y = make_moons(240, noise=0.06, random_state=0)
    pts = xr.DataArray(
        X, dims=("sample", "feature"),
        coords={"sample": np.arange(240) * 10, "feature": ["x", "y"], "truth": ("sample", y)},
        attrs={"units": "m", "history": ["made by make_moons"]},
    )
    return pts, y


@pytest.fixture(scope="module")
def blobs():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(240, centers=[(0, 0), (7, 0), (0, 7)], cluster_std=1.0, random_state=0)
    return X, y


def _sym_max(A):
    return np.maximum(A, A.T)


# ------------------------------------------------------------------------------ graphs


def test_knn_graph_matches_scikit_learn(moons):
    from sklearn.neighbors import kneighbors_graph

    pts, _ = moons
    X = pts.values
    W = xg.graph(pts, k=7, **CPU)
    np.testing.assert_array_equal(W.values, _sym_max(kneighbors_graph(X, 7).toarray()))
    # scikit-learn's SpectralClustering graph: connectivity with itself, (A + A^T) / 2
    A = kneighbors_graph(X, 7, include_self=True).toarray()
    W = xg.graph(pts, k=7, symmetrize="mean", include_self=True, **CPU)
    np.testing.assert_allclose(W.values, (A + A.T) / 2, atol=0)
    D = kneighbors_graph(X, 5, mode="distance").toarray()
    W = xg.graph(pts, k=5, weights="distance", **CPU)
    np.testing.assert_allclose(W.values, _sym_max(D), rtol=1e-12)
    assert W.attrs["graph"] == "knn" and W.attrs["k"] == 5 and W.attrs["weights"] == "distance"
    assert W.attrs["symmetrize"] == "max" and W.attrs["matrix"] == "adjacency"


def test_epsilon_and_gaussian_graphs_match_scikit_learn(moons):
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.neighbors import radius_neighbors_graph

    pts, _ = moons
    X = pts.values
    W = xg.graph(pts, kind="epsilon", radius=0.2, **CPU)
    np.testing.assert_array_equal(W.values, radius_neighbors_graph(X, 0.2).toarray())
    assert W.attrs["radius"] == 0.2
    W = xg.graph(pts, kind="gaussian", bandwidth=0.5, **CPU)
    K = rbf_kernel(X, gamma=1 / (2 * 0.5**2))
    np.fill_diagonal(K, 0)
    np.testing.assert_allclose(W.values, K, atol=1e-14)
    assert W.attrs["bandwidth"] == 0.5


def test_graph_labels_dims_coords_and_attrs(moons):
    pts, y = moons
    W = xg.graph(pts, k=5, **CPU)
    assert W.dims == ("sample", "sample_")
    np.testing.assert_array_equal(W["sample"], pts["sample"])
    np.testing.assert_array_equal(W["sample_"], pts["sample"])
    # a coordinate along the samples is carried on both dims, the second copy suffixed
    np.testing.assert_array_equal(W["truth"], y)
    assert W["truth"].dims == ("sample",) and W["truth_"].dims == ("sample_",)
    assert "feature" not in W.coords and W.attrs["device"] == "cpu" and W.attrs["dtype"] == "float64"
    # selecting by labels; renaming the dims transposes (symmetric: the same)
    assert float(W.sel(sample=0, sample_=W["sample_"][np.argmax(W.values[0])])) == 1.0
    flipped = W.rename({"sample": "s2", "sample_": "sample"}).rename({"s2": "sample_"})
    xr.testing.assert_equal(flipped.transpose("sample", "sample_").drop_vars(["truth", "truth_"]),
                            W.drop_vars(["truth", "truth_"]))
    # feature-first data: say which dim holds the samples (either argument)
    Wt = xg.graph(pts.T, k=5, sample_dim="sample", **CPU)
    Wf = xg.graph(pts.T, k=5, feature_dim="feature", **CPU)
    xr.testing.assert_identical(Wt, W)
    xr.testing.assert_identical(Wf, W)


def test_graph_of_stacked_pixels_keeps_the_multiindex():
    rng = np.random.default_rng(0)
    cube = xr.DataArray(rng.random((4, 5, 3)), dims=("y", "x", "band"),
                        coords={"y": np.arange(4), "x": np.arange(5) * 2.0, "band": [450, 550, 650]})
    pts = cube.stack(pixel=("y", "x"))  # dims (band, pixel)
    W = xg.graph(pts, k=4, sample_dim="pixel", **CPU)
    assert W.dims == ("pixel", "pixel_")
    assert {"y", "x", "y_", "x_"} <= set(W.coords)
    np.testing.assert_array_equal(W["x_"].values, pts["x"].values)
    assert W.sel(pixel=(1, 2.0)).dims == ("pixel_",)
    spec = xg.graph_spectrum(W, 3, **CPU)
    assert spec["eigenvectors"].dims == ("pixel", "mode") and "y" in spec["eigenvectors"].coords


def test_numpy_torch_and_xarray_points_agree(moons):
    pts, _ = moons
    W_xr = xg.graph(pts, k=6, **CPU)
    W_np = xg.graph(pts.values, k=6, **CPU)
    W_t = xg.graph(torch.as_tensor(pts.values), k=6)
    assert W_np.dims == W_t.dims == ("node", "node_")
    np.testing.assert_array_equal(W_np.values, W_xr.values)
    np.testing.assert_array_equal(W_t.values, W_xr.values)
    assert isinstance(W_t.data, np.ndarray)
    W32 = xg.graph(torch.as_tensor(pts.values, dtype=torch.float32), k=6)
    assert W32.dtype == np.float32 and W32.attrs["dtype"] == "float32"
    W_named = xg.graph(pts.values, k=6, sample_dim="city", **CPU)
    assert W_named.dims == ("city", "city_")


# ------------------------------------------------------------------------------ Laplacians


@pytest.mark.parametrize("layout", ["dataarray", "numpy", "torch", "scipy"])
def test_laplacians_match_scipy_csgraph(moons, layout):
    pts, _ = moons
    W = xg.graph(pts, k=6, weights="distance", **CPU)
    A = W.values
    given = {"dataarray": W, "numpy": A, "torch": torch.as_tensor(A), "scipy": sp.csr_array(A)}[layout]
    L = xg.laplacian(given, **CPU)
    np.testing.assert_allclose(L.values, csgraph_laplacian(A), atol=1e-13)
    Ls = xg.laplacian(given, "symmetric", **CPU)
    np.testing.assert_allclose(Ls.values, csgraph_laplacian(A, normed=True), atol=1e-13)
    Lrw = xg.laplacian(given, "random_walk", **CPU)
    np.testing.assert_allclose(Lrw.values, csgraph_laplacian(A) / A.sum(1)[:, None], atol=1e-13)
    assert isinstance(L.data, np.ndarray) and L.attrs["kind"] == "combinatorial"
    assert Ls.attrs["kind"] == "symmetric" and L.attrs["matrix"] == "laplacian"
    if layout == "dataarray":
        assert L.dims == W.dims and L.attrs["device"] == "cpu"
        np.testing.assert_array_equal(L["truth_"], W["truth_"])
    else:
        assert L.dims == ("node", "node_")


def test_magnetic_laplacian_is_hermitian_and_reduces_to_the_symmetrized_graph():
    rng = np.random.default_rng(3)
    A = (rng.random((12, 12)) < 0.3) * rng.random((12, 12))
    np.fill_diagonal(A, 0)  # directed, weighted
    Lq = xg.laplacian(A, q=0.1, **CPU)
    assert Lq.attrs["kind"] == "magnetic" and Lq.attrs["q"] == 0.1 and np.iscomplexobj(Lq.values)
    np.testing.assert_allclose(Lq.values, Lq.values.conj().T, atol=1e-14)
    assert np.linalg.eigvalsh(Lq.values).min() > -1e-12
    L0 = xg.laplacian(A, q=0.0, **CPU)
    np.testing.assert_allclose(L0.values, csgraph_laplacian((A + A.T) / 2), atol=1e-14)
    # the magnetic Laplacian's spectrum, recognized by its attrs, equals numpy's
    spec = xg.graph_spectrum(Lq, **CPU)
    np.testing.assert_allclose(spec["eigenvalues"], np.linalg.eigvalsh(Lq.values), atol=1e-12)
    assert spec.attrs["kind"] == "magnetic" and spec.attrs["q"] == 0.1
    spec2 = xg.graph_spectrum(A, kind="magnetic", q=0.1, **CPU)
    np.testing.assert_allclose(spec2["eigenvalues"], spec["eigenvalues"], atol=1e-12)


# ------------------------------------------------------------------------------ spectra


def test_graph_spectrum_matches_numpy_and_reports_the_solver(moons):
    pts, _ = moons
    W = xg.graph(pts, k=8, **CPU)
    spec = xg.graph_spectrum(W, **CPU)
    ref = np.linalg.eigvalsh(csgraph_laplacian(W.values, normed=True))
    np.testing.assert_allclose(spec["eigenvalues"], ref, atol=1e-10)
    np.testing.assert_array_equal(spec["eigenvalue"], spec["eigenvalues"])
    assert spec["eigenvectors"].dims == ("sample", "mode") and spec["eigenvalues"].dims == ("mode",)
    np.testing.assert_array_equal(spec["mode"], np.arange(240))
    np.testing.assert_array_equal(spec["sample"], pts["sample"])
    assert spec.attrs["solver"] == "dense" and spec.attrs["kind"] == "symmetric" and spec.attrs["complete"] == 1
    V, lam = spec["eigenvectors"].values, spec["eigenvalues"].values
    Ls = csgraph_laplacian(W.values, normed=True)
    np.testing.assert_allclose(Ls @ V, V * lam, atol=1e-10)
    # a few of the lowest pairs of a larger sparse graph: shift-invert chosen and said
    from sklearn.datasets import make_moons

    W = xg.graph(make_moons(400, noise=0.06, random_state=1)[0], k=8, **CPU)
    few = xg.graph_spectrum(W, 4, kind="combinatorial", **CPU)
    assert few.attrs["solver"] == "shift_invert" and few.sizes["mode"] == 4 and few.attrs["complete"] == 0
    np.testing.assert_allclose(few["eigenvalues"], np.linalg.eigvalsh(csgraph_laplacian(W.values))[:4], atol=1e-9)
    assert few.attrs["n_components"] >= 1
    forced = xg.graph_spectrum(W, 4, kind="combinatorial", solver="lobpcg", tol=1e-10, **CPU)
    assert forced.attrs["solver"] == "lobpcg"
    np.testing.assert_allclose(forced["eigenvalues"], few["eigenvalues"], atol=1e-6)


def test_graph_spectrum_of_a_given_laplacian_and_random_walk(moons):
    pts, _ = moons
    W = xg.graph(pts, k=8, **CPU)
    L = xg.laplacian(W, "combinatorial")
    from_L = xg.graph_spectrum(L, **CPU)
    assert from_L.attrs["kind"] == "combinatorial"
    np.testing.assert_allclose(from_L["eigenvalues"], np.linalg.eigvalsh(csgraph_laplacian(W.values)), atol=1e-10)
    custom = xg.graph_spectrum(csgraph_laplacian(W.values), kind="custom", **CPU)
    np.testing.assert_allclose(custom["eigenvalues"], from_L["eigenvalues"], atol=1e-10)
    assert custom.attrs["kind"] == "custom"
    with pytest.raises(ValueError, match="kind='custom'"):
        xg.graph_spectrum(csgraph_laplacian(W.values), **CPU)  # negative weights: a Laplacian
    rw = xg.graph_spectrum(W, kind="random_walk", **CPU)
    d = W.values.sum(1)
    np.testing.assert_allclose(rw["degree"], d)
    Lrw = csgraph_laplacian(W.values) / d[:, None]
    V, lam = rw["eigenvectors"].values, rw["eigenvalues"].values
    np.testing.assert_allclose(Lrw @ V, V * lam, atol=1e-9)


def test_eigengap_and_spectral_embedding(blobs):
    X, y = blobs
    W = xg.graph(X, k=10, **CPU)
    spec = xg.graph_spectrum(W, 6, **CPU)
    eg = xg.eigengap(spec)
    lam = spec["eigenvalues"].values
    assert eg.attrs["n_clusters"] == int(np.argmax(np.diff(lam))) + 1 == 3 and eg.attrs["max_clusters"] == 5
    np.testing.assert_allclose(eg["gap"].values[:-1], np.diff(lam))
    assert np.isnan(eg["gap"].values[-1]) and eg["gap"].dims == ("mode",)
    np.testing.assert_array_equal(eg["eigenvalue"], lam)  # the input's coords kept
    assert xg.eigengap([0.0, 0.1, 0.5, 0.6, 2.0]).attrs["n_clusters"] == 4
    assert xg.eigengap(np.array([0.0, 0.1, 0.5, 0.6, 2.0]), max_clusters=3).attrs["n_clusters"] == 2
    assert xg.eigengap(torch.as_tensor(lam)).attrs["n_clusters"] == 3

    emb = xg.spectral_embedding(W, 3, drop_first=True, **CPU)
    assert emb["embedding"].dims == ("node", "mode")
    np.testing.assert_array_equal(emb["mode"], [1, 2, 3])
    np.testing.assert_allclose(emb["eigenvalues"], lam[1:4], atol=1e-9)
    # the same vectors as the spectrum's, up to sign
    V = spec["eigenvectors"].values[:, 1:4]
    E = emb["embedding"].values
    np.testing.assert_allclose(np.abs((V * E).sum(0)), 1.0, atol=1e-6)
    top = np.abs(E).argmax(0)
    assert (E[top, np.arange(3)] > 0).all()  # the sign convention


def test_positional_encoding_flags_the_basis_ambiguity():
    n = 8
    cycle = np.roll(np.eye(n), 1, axis=1) + np.roll(np.eye(n), -1, axis=1)
    pe = xr.DataArray(cycle, dims=("atom", "atom_"), coords={"atom": list("abcdefgh")})
    enc = xg.positional_encoding(pe, 4, kind="combinatorial", **CPU)
    assert enc.dims == ("atom", "mode") and list(enc["atom"].values) == list("abcdefgh")
    lam = 2 - 2 * np.cos(2 * np.pi * np.arange(n) / n)
    np.testing.assert_allclose(enc["eigenvalue"], np.sort(lam)[1:5], atol=1e-12)
    assert enc["ambiguous"].values.all() and enc.attrs["n_ambiguous"] == 4
    path = np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)  # simple spectrum
    enc = xg.positional_encoding(path, 3, kind="combinatorial", **CPU)
    assert not enc["ambiguous"].values.any()
    np.testing.assert_array_equal(enc["mode"], [1, 2, 3])
    E = enc.values
    assert (E[np.abs(E).argmax(0), np.arange(3)] > 0).all()
    assert "sign_convention" in enc.attrs


# ------------------------------------------------------------------------------ clustering


def test_spectral_clustering_ari_against_scikit_learn(moons, blobs):
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import adjusted_rand_score as ari

    pts, y_moons = moons
    for data, y, k in ((pts, y_moons, 2), (blobs[0], blobs[1], 3)):
        X = data.values if isinstance(data, xr.DataArray) else data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Graph is not fully connected"
            ref = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10, random_state=0).fit(X)
        ours = xg.spectral_clustering(data, k, k=10, symmetrize="mean", include_self=True, **CPU)
        assert ari(y, ours["labels"].values) >= ari(y, ref.labels_) - 0.02
        assert ours.attrs["n_clusters"] == k and ours.attrs["n_clusters_from"] == "given"
    # the blobs' number of clusters from the eigengap
    X, y = blobs
    auto = xg.spectral_clustering(X, k=10, symmetrize="mean", include_self=True, max_clusters=5, **CPU)
    assert auto.attrs["n_clusters"] == 3 and auto.attrs["n_clusters_from"] == "eigengap"
    assert ari(y, auto["labels"].values) >= ari(y, ref.labels_) - 0.02
    # rbf affinity: gamma = 1 / (2 bandwidth^2)
    X, y = blobs
    ref = SpectralClustering(3, affinity="rbf", gamma=0.5, random_state=0).fit(X)
    ours = xg.spectral_clustering(X, 3, graph="gaussian", bandwidth=1.0, **CPU)
    assert ari(y, ours["labels"].values) >= ari(y, ref.labels_) - 0.02


def test_spectral_clustering_labels_and_attrs(moons):
    pts, y = moons
    ds = xg.spectral_clustering(pts, 2, k=10, seed=3, **CPU)
    assert ds["labels"].dims == ("sample",) and ds["labels"].dtype == np.int64
    np.testing.assert_array_equal(ds["sample"], pts["sample"])
    np.testing.assert_array_equal(ds["truth"], y)
    assert ds["labels"].values[0] == 0  # numbered in order of first appearance
    assert ds["embedding"].dims == ("sample", "component") and ds.sizes["component"] == 2
    np.testing.assert_allclose(np.linalg.norm(ds["embedding"].values, axis=1), 1.0)
    assert ds["eigenvalues"].dims == ("mode",)
    for key in ("n_clusters", "inertia", "n_init", "seed", "kind", "solver", "graph", "k", "device"):
        assert key in ds.attrs, key
    assert ds.attrs["graph"] == "knn" and ds.attrs["solver"] == "dense" and ds.attrs["seed"] == 3  # n <= 256
    # the same clustering from the labelled adjacency (recognized by its dims)
    W = xg.graph(pts, k=10, **CPU)
    dw = xg.spectral_clustering(W, 2, seed=3, **CPU)
    assert dw.attrs["graph"] == "precomputed"
    np.testing.assert_array_equal(dw["labels"], ds["labels"])
    # eigengap: max_clusters + 1 eigenvalues, the embedding has n_clusters components
    auto = xg.spectral_clustering(pts, k=10, max_clusters=6, **CPU)
    assert auto.sizes["mode"] == 7 and auto.sizes["component"] == auto.attrs["n_clusters"]
    dense = xg.spectral_clustering(W.values, 2, graph="precomputed", **CPU)
    np.testing.assert_array_equal(dense["labels"], ds["labels"])


# ------------------------------------------------------------------------------ filters


@pytest.fixture(scope="module")
def noisy_signal(moons):
    pts, _ = moons
    rng = np.random.default_rng(5)
    clean = np.stack([np.sin(3 * pts.values[:, 0]), pts.values[:, 1]], axis=1)
    y = xr.DataArray(
        clean + 0.3 * rng.standard_normal(clean.shape), dims=("sample", "band"),
        coords={"sample": pts["sample"], "band": ["red", "nir"], "truth": pts["truth"]},
        attrs={"units": "K", "tags": ["raw"]},
    )
    W = xg.graph(pts, k=8, weights="gaussian", bandwidth=0.2, **CPU)
    return y, W


def test_graph_filter_exact_matches_dense_solve_and_expm(noisy_signal):
    y, W = noisy_signal
    L = csgraph_laplacian(W.values)
    I = np.eye(L.shape[0])
    regs = np.array([0.01, 0.3, 5.0])
    out = xg.graph_filter(y, W, reg=regs, **CPU)
    assert out["estimate"].dims == ("reg", "sample", "band")
    for i, r in enumerate(regs):
        np.testing.assert_allclose(out["estimate"].values[i], np.linalg.solve(I + r * L, y.values), atol=1e-10)
    lam = np.linalg.eigvalsh(L)
    np.testing.assert_allclose(out["eigenvalue"], lam, atol=1e-10)
    np.testing.assert_allclose(out["response"].values, 1 / (1 + regs[:, None] * lam[None, :]), atol=1e-10)
    heat = xg.graph_filter(y, W, reg=0.4, method="heat", **CPU)
    np.testing.assert_allclose(heat["estimate"].values, scipy.linalg.expm(-0.4 * L) @ y.values, atol=1e-10)
    assert heat.attrs["method"] == "heat" and heat.attrs["order"] == "exact" and heat.attrs["solver"] == "dense"
    # the ideal low-pass keeps the modes with lam <= 1/reg (numpy's eigenbasis)
    lam_np, V = np.linalg.eigh(L)
    keep = lam_np <= 1 / 2.0
    low = xg.graph_filter(y, W, reg=2.0, method="lowpass", **CPU)
    np.testing.assert_allclose(low["estimate"].values, V[:, keep] @ (V[:, keep].T @ y.values), atol=1e-9)
    # the symmetric Laplacian
    sym = xg.graph_filter(y, W, reg=0.5, kind="symmetric", **CPU)
    Ls = csgraph_laplacian(W.values, normed=True)
    np.testing.assert_allclose(sym["estimate"].values, np.linalg.solve(I + 0.5 * Ls, y.values), atol=1e-10)


def test_graph_filter_chebyshev_is_within_its_error_bound(noisy_signal):
    y, W = noisy_signal
    L = csgraph_laplacian(W.values)
    exact = scipy.linalg.expm(-0.2 * L) @ y.values
    cheb = xg.graph_filter(y, W, reg=0.2, method="heat", order=25, **CPU)
    assert cheb.attrs["order"] == 25 and cheb.attrs["lmax"] > 0 and "response" not in cheb
    err = np.linalg.norm(cheb["estimate"].values - exact, axis=0) / np.linalg.norm(y.values, axis=0)
    assert (err <= float(cheb["max_error"]) + 1e-12).all() and float(cheb["max_error"]) < 1e-6
    assert cheb["coefficients"].dims == ("term",) and cheb.sizes["term"] == 26
    # the same through a scipy sparse adjacency (what a large graph would use)
    sparse = xg.graph_filter(y.values, sp.csr_array(W.values), reg=0.2, method="heat", order=25, **CPU)
    np.testing.assert_allclose(sparse["estimate"].values, cheb["estimate"].values, atol=1e-12)
    assert sparse["estimate"].dims == ("node", "channel")


def test_graph_filter_scalar_and_grid_give_the_same_type(noisy_signal):
    y, W = noisy_signal
    one = xg.graph_filter(y, W, reg=0.3, **CPU)
    grid = xg.graph_filter(y, W, reg=[0.1, 0.3], **CPU)
    assert type(one) is type(grid) is xr.Dataset
    assert set(one.data_vars) == set(grid.data_vars)
    assert "reg" not in one.dims and float(one["reg"]) == 0.3 and one.attrs["reg"] == 0.3
    xr.testing.assert_allclose(one["estimate"], grid["estimate"].sel(reg=0.3))
    # labels: the signal's dims, coords and attrs
    assert one["estimate"].dims == y.dims
    np.testing.assert_array_equal(one["band"], ["red", "nir"])
    np.testing.assert_array_equal(one["truth"], y["truth"])
    assert one["estimate"].attrs["units"] == "K"
    for key in ("method", "kind", "order", "device", "dtype"):
        assert key in one.attrs
    # a single graph signal, numpy and torch
    y0 = y.isel(band=0)
    a = xg.graph_filter(y0, W, reg=0.3, **CPU)
    b = xg.graph_filter(y0.values, W.values, reg=0.3, **CPU)
    c = xg.graph_filter(torch.as_tensor(y0.values), torch.as_tensor(W.values), reg=0.3)
    np.testing.assert_allclose(a["estimate"].values, one["estimate"].values[:, 0])
    np.testing.assert_allclose(b["estimate"].values, a["estimate"].values)
    np.testing.assert_allclose(c["estimate"].values, a["estimate"].values)
    assert b["estimate"].dims == ("node",) and isinstance(c["estimate"].data, np.ndarray)


def test_label_propagation_matches_label_spreading(moons):
    from sklearn.semi_supervised import LabelSpreading

    pts, y = moons
    X = pts.values
    rng = np.random.default_rng(0)
    given = np.full(y.shape, -1)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), 3, replace=False) for c in (0, 1)])
    given[idx] = y[idx]
    gamma = 20.0
    alpha = 0.9
    ref = LabelSpreading(kernel="rbf", gamma=gamma, alpha=alpha, max_iter=5000, tol=1e-12).fit(X, given)
    W = xg.graph(pts, kind="gaussian", bandwidth=np.sqrt(1 / (2 * gamma)), **CPU)
    reg = alpha / (1 - alpha)
    labels = xr.DataArray(given, dims="sample", coords={"sample": pts["sample"]})
    out = xg.label_propagation(labels, W, reg=reg, **CPU)
    np.testing.assert_array_equal(out["labels"].values, ref.transduction_)
    # the scores are (I + reg L_sym)^-1 Y
    Y = np.zeros((240, 2))
    Y[given >= 0, given[given >= 0]] = 1
    F = np.linalg.solve(np.eye(240) + reg * csgraph_laplacian(W.values, normed=True), Y)
    np.testing.assert_allclose(out["scores"].values, F, atol=1e-10)
    assert out["labels"].dims == ("sample",) and out["scores"].dims == ("sample", "class")
    np.testing.assert_array_equal(out["sample"], pts["sample"])
    assert out["labelled"].values.sum() == 6 and out.attrs["n_labelled"] == 6 and out.attrs["reg"] == reg
    # string classes with None for unlabelled; a reg grid and the spectrum method agree
    names = np.array(["left", "right"], dtype=object)[np.maximum(given, 0)]
    names[given < 0] = None
    grid = xg.label_propagation(names, W.values, reg=[reg, 2 * reg], method="spectrum", **CPU)
    assert grid["labels"].dims == ("reg", "node") and list(grid["class"].values) == ["left", "right"]
    np.testing.assert_array_equal(grid["labels"].values[0], np.array(["left", "right"])[ref.transduction_])
    # NaN marks unlabelled in float labels
    fl = xg.label_propagation(np.where(given >= 0, given, np.nan), W, reg=reg, **CPU)
    np.testing.assert_array_equal(fl["labels"].values, ref.transduction_)
    assert fl["labels"].dtype == np.int64
    assert out["reached"].values.all() and grid["reached"].values.all()  # a dense Gaussian graph reaches all


def _arc(n=200):
    t = np.linspace(0, np.pi, n)
    pts = xr.DataArray(np.c_[np.cos(t), np.sin(t)], dims=("sample", "feature"),
                       coords={"sample": np.arange(n) * 10})
    return xg.graph(pts, k=10, **CPU)


@pytest.mark.parametrize("method", ["spectrum", "solve", "cg"])
def test_label_propagation_marks_unreached_samples_missing(method):
    # one label at each end of a long arc: at reg = 0.01 the labels reach ~50 of 200 samples
    W = _arc()
    A = W.values if method != "cg" else sp.csr_matrix(W.values)
    codes = np.full(200, -1)
    codes[0], codes[-1] = 0, 1
    core = spectrakit.core.graphs.label_propagation(torch.as_tensor(W.values), codes, [0.01, 100.0], method="solve")
    reached = core.reached.numpy()
    assert 20 < reached[0].sum() < 100 and reached[1].all()
    cases = {  # the input's class values and unlabelled marker -> the marker in the output
        "int": (np.array([3, 7]), -1),
        "float": (np.array([0.5, 2.5]), np.nan),
        "object": (np.array(["left", "right"], dtype=object), None),
        "str": (np.array(["left", "right"]), ""),
    }
    for name, (values, marker) in cases.items():
        given = values[np.maximum(codes, 0)].astype(object if name == "object" else values.dtype)
        given[codes < 0] = marker
        given = xr.DataArray(given, dims="sample", coords={"sample": W["sample"]})
        out = xg.label_propagation(given, A, reg=[0.01, 100.0], method=method, **CPU)
        assert out["reached"].dims == out["labels"].dims == ("reg", "sample") and out["reached"].dtype == bool
        np.testing.assert_array_equal(out["reached"].values, reached, err_msg=name)
        lab = out["labels"].values
        want = values[np.maximum(core.labels.numpy(), 0)]
        np.testing.assert_array_equal(lab[reached], want[reached], err_msg=name)  # reached: the class values
        miss = lab[~reached]  # unreached: the marker, not the last class (values[-1])
        if name == "int":
            assert lab.dtype == values.dtype and (miss == -1).all()
        elif name == "float":
            assert lab.dtype == float and np.isnan(miss).all()
        else:
            assert lab.dtype == object and all(v is None for v in miss), name
        # the output reads back as labels: unreached samples are unlabelled again
        again = xg.label_propagation(out["labels"].isel(reg=0, drop=True), A, reg=100.0, method=method, **CPU)
        assert again.attrs["n_labelled"] == int(reached[0].sum())
        assert out["floor"].dims == ("reg",) and bool((out["floor"] > 0).all())
        assert bool((out["scores"].max("class").where(~out["reached"]) < out["floor"]).sum() == (~reached).sum())


def test_label_propagation_batches_label_sets_through_one_decomposition(moons, monkeypatch):
    pts, y = moons
    W = xg.graph(pts, k=10, **CPU)
    rng = np.random.default_rng(0)
    draws = np.full((6, 240), -1)
    for d in range(6):
        for c in (0, 1):
            pick = rng.choice(np.flatnonzero(y == c), 1 + d % 3, replace=False)
            draws[d, pick] = c
    labels = xr.DataArray(draws, dims=("draw", "sample"),
                          coords={"draw": np.arange(6) + 100, "sample": pts["sample"], "seed": ("draw", np.arange(6))})
    regs = [0.01, 1.0, 100.0]
    calls = []
    spectrum = spectrakit.core.graphs.graph_spectrum
    monkeypatch.setattr(spectrakit.core.graphs, "graph_spectrum", lambda *a, **k: calls.append(1) or spectrum(*a, **k))
    for method in ("spectrum", "solve", "cg"):
        calls.clear()
        out = xg.label_propagation(labels, W, reg=regs, method=method, **CPU)
        assert len(calls) == (method == "spectrum")  # one decomposition for all six label sets
        assert out["labels"].dims == out["reached"].dims == ("reg", "draw", "sample")
        assert out["scores"].dims == ("reg", "draw", "sample", "class") and out["floor"].dims == ("reg", "draw")
        assert out["labelled"].dims == ("draw", "sample") and out.attrs["n_labelled"] == int((draws >= 0).sum())
        np.testing.assert_array_equal(out["seed"], np.arange(6))
        np.testing.assert_array_equal(out["draw"], np.arange(6) + 100)
        for d in range(6):  # the same as one label set at a time
            one = xg.label_propagation(labels.isel(draw=d), W, reg=regs, method=method, **CPU)
            for v in ("labels", "reached", "labelled"):
                np.testing.assert_array_equal(out[v].isel(draw=d).values, one[v].values, err_msg=(method, v))
            atol = 1e-9 if method == "cg" else 1e-13
            np.testing.assert_allclose(out["scores"].isel(draw=d).values, one["scores"].values, rtol=1e-9, atol=atol)
            np.testing.assert_allclose(out["floor"].isel(draw=d).values, one["floor"].values, rtol=1e-9)
        # the reached share rises with reg; at reg = 100 every sample is reached
        share = out["reached"].mean("sample")
        assert bool((share.diff("reg") >= 0).all()) and bool((share.isel(reg=-1) == 1).all())
    # a scalar reg drops the reg dim; label sets as extra axes of a numpy array become channel dims
    one_reg = xg.label_propagation(labels, W, reg=1.0, **CPU)
    assert one_reg["labels"].dims == ("draw", "sample") and one_reg["floor"].dims == ("draw",)
    plain = xg.label_propagation(draws.T, W.values, reg=1.0, **CPU)
    assert plain["labels"].dims == ("node", "channel")
    np.testing.assert_array_equal(plain["labels"].values, one_reg["labels"].values.T)
    # a label set without a label is an error that says where
    bad = labels.copy()
    bad[2] = -1
    with pytest.raises(ValueError, match=r"no labelled sample along 'sample' at positions \{'draw': 2\}"):
        xg.label_propagation(bad, W, reg=1.0, **CPU)


def test_spectral_clustering_warns_when_points_look_like_an_adjacency(moons):
    pts, y = moons
    W = xg.graph(pts, k=10, **CPU)
    for dense in (W.values, torch.as_tensor(W.values)):
        with pytest.warns(UserWarning, match=r"looks like an adjacency.*graph='precomputed'"):
            xg.spectral_clustering(dense, 2, **CPU)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xg.spectral_clustering(W.values, 2, graph="precomputed", **CPU)  # said so: no warning
        xg.spectral_clustering(W.values, 2, graph="knn", **CPU)  # rows as points, on purpose
        xg.spectral_clustering(W, 2, **CPU)  # a labelled adjacency is recognized
        xg.spectral_clustering(pts, 2, **CPU)  # ordinary points
        xg.spectral_clustering(pts.values, 2, **CPU)
        sq = np.abs(np.random.default_rng(0).normal(size=(30, 30)))
        xg.spectral_clustering(sq + sq.T, 2, k=5, **CPU)  # square, symmetric, but a non-zero diagonal
        xg.spectral_clustering(np.abs(np.random.default_rng(1).normal(size=(30, 30))), 2, k=5, **CPU)


# ------------------------------------------------------------------------------ inputs untouched


def test_inputs_and_their_attrs_are_not_modified(noisy_signal, moons):
    pts, _ = moons
    y, W = noisy_signal
    before = [copy.deepcopy(v) for v in (pts, y, W)]
    attrs_before = [copy.deepcopy(v.attrs) for v in (pts, y, W)]
    A = W.values.copy()
    out = xg.graph_filter(y, W, reg=[0.1, 1.0], **CPU)
    out["estimate"].attrs["tags"].append("filtered")  # the result's attrs are its own
    out.attrs["reg"] = "changed"
    xg.graph(pts, k=5, **CPU).attrs["k"] = 99
    xg.laplacian(W)
    xg.graph_spectrum(W, **CPU)
    xg.spectral_clustering(pts, 2, **CPU)
    xg.label_propagation(np.r_[0, 1, [-1] * 238], W, reg=1.0, **CPU)
    for b, a, attrs in zip(before, (pts, y, W), attrs_before):
        xr.testing.assert_identical(a, b)
        assert a.attrs == attrs
    np.testing.assert_array_equal(W.values, A)


# ------------------------------------------------------------------------------ errors


def test_clear_errors(noisy_signal, moons):
    pts, _ = moons
    y, W = noisy_signal
    bad = pts.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"points has 1 non-finite"):
        xg.graph(bad, **CPU)
    with pytest.raises(ValueError, match=r"signal has 2 non-finite"):
        xg.graph_filter(y.where(y.sample != 0), W, reg=1.0, **CPU)
    Wbad = W.copy()
    Wbad[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"adjacency has 1 non-finite"):
        xg.graph_spectrum(Wbad, **CPU)
    with pytest.raises(ValueError, match=r"sample_dim='time' is not a dim of points; its dims are "
                                         r"\('sample', 'feature'\)"):
        xg.graph(pts, sample_dim="time")
    with pytest.raises(ValueError, match=r"points must have 2 dims.*stack"):
        xg.graph(pts.expand_dims(run=2))
    with pytest.raises(ValueError, match=r"signal has dims \('pixel',\).*share the sample dim"):
        xg.graph_filter(y.isel(band=0).rename(sample="pixel"), W, reg=1.0)
    with pytest.raises(ValueError, match=r"reg must be >= 0"):
        xg.graph_filter(y, W, reg=[0.1, -1.0], **CPU)
    with pytest.raises(ValueError, match=r"reg must be >= 0"):
        xg.label_propagation(np.r_[0, 1, [-1] * 238], W, reg=-1.0, **CPU)
    with pytest.raises(ValueError, match=r"adjacency has negative weights"):
        xg.laplacian(-W)
    with pytest.raises(ValueError, match=r"adjacency is not symmetric"):
        xg.graph_spectrum(np.triu(W.values), **CPU)
    with pytest.raises(ValueError, match=r"adjacency must be square"):
        xg.laplacian(W.isel(sample=slice(0, 10)))
    with pytest.raises(ValueError, match=r"kind='heat' names a filter"):
        xg.graph_filter(y, W, reg=1.0, kind="heat")
    with pytest.raises(ValueError, match=r"radius applies to kind='epsilon'"):
        xg.graph(pts, radius=0.3)
    with pytest.raises(ValueError, match=r"bandwidth is required with kind='gaussian'"):
        xg.graph(pts, kind="gaussian")
    with pytest.raises(ValueError, match=r"n_eigs must be <= 240"):
        xg.graph_spectrum(W, 500)
    with pytest.raises(ValueError, match=r"labels has no labelled sample"):
        xg.label_propagation(np.full(240, -1), W, reg=1.0)


def test_memory_error_gives_the_estimate_and_the_alternative(moons, monkeypatch):
    import spectrakit.core.checks as checks

    pts, _ = moons
    monkeypatch.setattr(checks, "available_bytes", lambda device: 1000.0)
    with pytest.raises(MemoryError, match=r"points: a dense 240 x 240 adjacency .* needs about [0-9.]+ MiB.*sparse"):
        xg.graph(pts, **CPU)


# ------------------------------------------------------------------------------ API surface


def test_accessor_and_exports(noisy_signal, moons):
    pts, _ = moons
    y, W = noisy_signal
    xr.testing.assert_identical(pts.spectral.graph(k=5, device="cpu"), xg.graph(pts, k=5, **CPU))
    xr.testing.assert_identical(pts.spectral.spectral_clustering(2, device="cpu"),
                                xg.spectral_clustering(pts, 2, **CPU))
    xr.testing.assert_identical(y.spectral.graph_filter(W, reg=0.5, device="cpu"),
                                xg.graph_filter(y, W, reg=0.5, **CPU))
    xr.testing.assert_identical(W.spectral.graph_spectrum(5, device="cpu"), xg.graph_spectrum(W, 5, **CPU))
    lab = xr.DataArray(np.r_[0, 1, [-1] * 238], dims="sample")
    xr.testing.assert_identical(lab.spectral.label_propagation(W, reg=1.0, device="cpu"),
                                xg.label_propagation(lab, W, reg=1.0, **CPU))
    for name in xg.__all__:
        assert getattr(sxr, name) is getattr(xg, name)
        assert ">>>" in getattr(xg, name).__doc__, name
    assert spectrakit.lowpass is sxr.fourier.lowpass  # no clash with the Fourier names
