"""GraphSpectrumSession and GraphFilterSession against independent references.

Spectra: numpy's eigvalsh of scipy.sparse.csgraph.laplacian on graphs built by
scikit-learn / scipy; clusters: scikit-learn's SpectralClustering and adjusted_rand_score;
filters: dense (I + reg L)^-1 y, scipy.linalg.expm(-t L) y, brute-force leave-one-out and
the foundation's chebyshev_filter (the polynomial recurrence on L, no eigenvectors).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.spatial
import torch
import xarray as xr
from scipy.sparse.csgraph import laplacian as csgraph_laplacian

from spectrakit.core import graphs as G
from spectrakit.tuning import GraphFilterSession, GraphSpectrumSession
from spectrakit.xr import adjusted_rand_index

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.neighbors import kneighbors_graph  # noqa: E402


def knn_reference(X, k, symmetrize="max"):
    """scikit-learn's connectivity kNN graph, made undirected as knn_graph documents."""
    A = kneighbors_graph(X, k, mode="connectivity", include_self=False).toarray()
    return np.maximum(A, A.T) if symmetrize == "max" else (A + A.T) / 2


def gaussian_reference(X, bandwidth):
    d2 = scipy.spatial.distance.cdist(X, X, "sqeuclidean")
    W = np.exp(-d2 / (2 * bandwidth**2))
    np.fill_diagonal(W, 0.0)
    return W


def smooth_problem(n=150, noise=0.4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    clean = np.sin(np.pi * X[:, 0]) * np.cos(np.pi * X[:, 1] / 2)
    return X, clean + noise * rng.standard_normal(n), clean


# =========================================================================== spectrum session


@pytest.mark.parametrize("n", [200, 320])  # the dense solver, and ARPACK's shift-invert
@pytest.mark.parametrize("kind", ["symmetric", "combinatorial", "random_walk"])
def test_spectrum_matches_scipy_laplacian_of_the_same_knn_graph(n, kind):
    X, _ = datasets.make_moons(n, noise=0.06, random_state=0)
    s = GraphSpectrumSession(X, k=8, kind=kind, n_eigs=12, device="cpu")
    W = knn_reference(X, 8)
    L = csgraph_laplacian(W, normed=kind != "combinatorial")  # random walk: same eigenvalues as symmetric
    ref = np.linalg.eigvalsh(L)[:12]
    out = s.update()
    np.testing.assert_allclose(out["eigenvalues"].values, ref, atol=1e-9, rtol=1e-8)
    assert out.attrs["solver"] == ("dense" if n <= 256 else "shift_invert")
    # the gaps and the eigengap's choice follow from them
    np.testing.assert_allclose(out["gap"].values[:-1], np.diff(ref), atol=1e-8)
    assert out.attrs["eigengap"] == int(np.argmax(np.diff(ref)[:10])) + 1


def test_spectrum_matches_scipy_for_gaussian_and_given_graphs():
    X, _ = datasets.make_circles(150, factor=0.5, noise=0.05, random_state=0)
    s = GraphSpectrumSession(X, graph="gaussian", bandwidth=0.2, n_eigs=10, device="cpu")
    ref = np.linalg.eigvalsh(csgraph_laplacian(gaussian_reference(X, 0.2), normed=True))[:10]
    np.testing.assert_allclose(s.update()["eigenvalues"].values, ref, atol=1e-9)
    ref = np.linalg.eigvalsh(csgraph_laplacian(gaussian_reference(X, 0.35), normed=True))[:10]
    np.testing.assert_allclose(s.update(bandwidth=0.35)["eigenvalues"].values, ref, atol=1e-9)
    assert s.bandwidth == 0.35 and s.update().attrs["bandwidth"] == 0.35
    # default bandwidth: the median distance to the 7th nearest neighbour
    d = np.sort(scipy.spatial.distance.cdist(X, X), axis=1)[:, 7]
    assert GraphSpectrumSession(X, graph="gaussian", device="cpu").bandwidth == pytest.approx(np.median(d), rel=1e-12)
    # a given (scipy sparse) stochastic block model
    W, truth = G.stochastic_block_model([40, 30, 30], 0.5, 0.02, seed=0)
    Ws = sp.csr_array(W.numpy())
    s = GraphSpectrumSession(Ws, graph="precomputed", labels=truth.numpy(), device="cpu")
    out = s.update()
    ref = np.linalg.eigvalsh(csgraph_laplacian(W.numpy(), normed=True))[: s.n_eigs]
    np.testing.assert_allclose(out["eigenvalues"].values, ref, atol=1e-9)
    assert out.attrs["eigengap"] == 3 and out.attrs["n_clusters"] == 3 and out.attrs["ari"] == 1.0
    assert "k" not in out.attrs and s.param is None
    with pytest.raises(ValueError, match="graph='knn'"):
        s.update(k=5)


def test_clusters_match_scikit_learn_spectral_clustering():
    from sklearn.cluster import SpectralClustering

    for name, (X, y) in {
        "moons": datasets.make_moons(400, noise=0.06, random_state=0),
        "circles": datasets.make_circles(400, factor=0.5, noise=0.05, random_state=0),
    }.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Graph is not fully connected"
            ref = SpectralClustering(2, affinity="nearest_neighbors", n_neighbors=10, random_state=0).fit(X)
        a_ref = adjusted_rand_score(y, ref.labels_)
        # scikit-learn's graph: connectivity kNN with the point itself, (A + A^T) / 2
        s = GraphSpectrumSession(X, k=10, n_clusters=2, labels=y, symmetrize="mean", include_self=True, device="cpu")
        out = s.update()
        assert abs(out.attrs["ari"] - a_ref) <= 0.02, (name, out.attrs["ari"], a_ref)
        assert out.attrs["ari"] == pytest.approx(adjusted_rand_score(y, out["labels"].values), abs=1e-12)
        # and the same clusters as the foundation's spectral_clustering on that graph
        W = G.knn_graph(X, 10, symmetrize="mean", include_self=True, sparse=True, device="cpu")
        core = G.spectral_clustering(W, 2)
        assert adjusted_rand_score(core.labels.numpy(), out["labels"].values) == 1.0


def test_adjusted_rand_index_equals_scikit_learn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 60))
        a, b = rng.integers(0, rng.integers(1, 6), n), rng.integers(0, rng.integers(1, 6), n)
        assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert adjusted_rand_index(["x", "x", "y"], [2, 2, 7]) == 1.0
    assert adjusted_rand_index(np.arange(5), np.arange(5)) == 1.0
    with pytest.raises(ValueError, match="same items"):
        adjusted_rand_index([0, 1], [0, 1, 1])


def test_moving_only_n_clusters_reruns_kmeans_only(monkeypatch):
    X, y = datasets.make_blobs(300, centers=4, cluster_std=0.6, random_state=2)
    s = GraphSpectrumSession(X, k=10, labels=y, device="cpu")
    calls = {"spectrum": 0, "kmeans": 0}
    spectrum, kmeans = G.graph_spectrum, G.kmeans

    def count(name, fn):
        def wrapped(*a, **kw):
            calls[name] += 1
            return fn(*a, **kw)
        return wrapped

    monkeypatch.setattr(G, "graph_spectrum", count("spectrum", spectrum))
    monkeypatch.setattr(G, "kmeans", count("kmeans", kmeans))
    first = s.update()
    assert first.attrs["eigengap"] == 4 and first.attrs["n_clusters"] == 4 and first.attrs["ari"] == 1.0
    assert calls == {"spectrum": 0, "kmeans": 0}  # cached at construction
    three = s.update(n_clusters=3)
    assert calls == {"spectrum": 0, "kmeans": 1} and three.attrs["n_clusters"] == 3
    assert three.attrs["n_clusters_from"] == "given" and set(three["labels"].values) == {0, 1, 2}
    np.testing.assert_array_equal(three["eigenvalues"].values, first["eigenvalues"].values)
    s.update(n_clusters=0)  # back to the eigengap: cached k-means
    assert calls == {"spectrum": 0, "kmeans": 1} and s.n_clusters is None
    s.update(k=15)
    assert calls == {"spectrum": 1, "kmeans": 2} and s.k == 15
    s.update(k=10, n_clusters=3)  # both cached
    assert calls == {"spectrum": 1, "kmeans": 2} and s.n_spectra == 2
    # labels are numbered in order of first appearance (stable colours)
    labels = s.update()["labels"].values
    firsts = [int(np.flatnonzero(labels == c)[0]) for c in range(labels.max() + 1)]
    assert firsts == sorted(firsts) and labels[0] == 0


def test_spectrum_dataset_labels_and_embedding():
    X, y = datasets.make_blobs(120, centers=3, cluster_std=0.5, random_state=0)
    da = xr.DataArray(X, dims=("sample", "feature"), coords={"sample": np.arange(120) * 10, "feature": ["a", "b"]})
    out = GraphSpectrumSession(da, k=8, labels=y, n_eigs=6, max_clusters=5, device="cpu").update()
    assert out["embedding"].dims == ("sample", "mode") and out["labels"].dims == ("sample",)
    np.testing.assert_array_equal(out["sample"].values, np.arange(120) * 10)
    np.testing.assert_array_equal(out["true_labels"].values, y)
    assert out.sizes["mode"] == 6 and np.isnan(out["gap"].values[-1])
    # the embedding: orthonormal eigenvectors of L_sym for the eigenvalues shown, signs fixed
    W = knn_reference(X, 8)
    L = csgraph_laplacian(W, normed=True)
    U, lam = out["embedding"].values, out["eigenvalues"].values
    np.testing.assert_allclose(L @ U, U * lam, atol=1e-8)
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-10)
    top = np.abs(U).argmax(0)
    assert (U[top, np.arange(6)] > 0).all()
    assert {"graph", "k", "kind", "eigengap", "n_clusters", "ari", "solver", "device"} <= set(out.attrs)


def test_spectrum_session_bad_input():
    X, _ = datasets.make_moons(60, noise=0.05, random_state=0)
    with pytest.raises(ValueError, match="graph="):
        GraphSpectrumSession(X, graph="epsilon")
    with pytest.raises(ValueError, match="kind="):
        GraphSpectrumSession(X, kind="magnetic")
    with pytest.raises(ValueError, match="k must be in"):
        GraphSpectrumSession(X, k=0)
    with pytest.raises(ValueError, match="k must be in"):
        GraphSpectrumSession(X, k=60)
    with pytest.raises(TypeError, match="k must be an integer"):
        GraphSpectrumSession(X, k=2.5)
    with pytest.raises(ValueError, match="bandwidth applies"):
        GraphSpectrumSession(X, bandwidth=0.3)
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        GraphSpectrumSession(X, graph="gaussian", bandwidth=-1.0)
    with pytest.raises(ValueError, match="n_eigs"):
        GraphSpectrumSession(X, n_eigs=5, max_clusters=8)  # fewer than max_clusters + 1
    with pytest.raises(ValueError, match="max_clusters"):
        GraphSpectrumSession(X, max_clusters=60)
    with pytest.raises(ValueError, match="labels must be"):
        GraphSpectrumSession(X, labels=np.zeros(10))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        GraphSpectrumSession(bad)
    with pytest.raises(ValueError, match="sample, feature"):
        GraphSpectrumSession(xr.DataArray(np.zeros((4, 5, 2)), dims=("a", "b", "c")))
    with pytest.raises(TypeError, match="precomputed"):
        GraphSpectrumSession(sp.csr_array(np.eye(5)))
    with pytest.raises(ValueError, match="symmetric"):
        GraphSpectrumSession(np.triu(np.ones((6, 6)), 1), graph="precomputed")
    s = GraphSpectrumSession(X, k=6, device="cpu")
    with pytest.raises(ValueError, match="n_clusters"):
        s.update(n_clusters=s.n_eigs + 1)
    with pytest.raises(ValueError, match="graph='gaussian'"):
        s.update(bandwidth=0.2)
    with pytest.raises(ValueError, match="k must be in"):
        s.update(k=-3)
    assert s.k == 6  # a failed update changes nothing
    before = X.copy()
    s.update(k=7, n_clusters=2)
    np.testing.assert_array_equal(X, before)


# =========================================================================== filter session


def dense_laplacian(session, normed=False):
    W = session.adjacency.to_dense().numpy() if session.adjacency.is_sparse else session.adjacency.numpy()
    return csgraph_laplacian(W, normed=normed)


def test_filter_matches_dense_solve_and_expm():
    X, y, clean = smooth_problem()
    # the graph itself: scikit-learn's kNN, symmetrized by max
    s = GraphFilterSession(X, y, clean=clean, k=8, device="cpu")
    W = knn_reference(X, 8)
    np.testing.assert_array_equal(s.adjacency.to_dense().numpy(), W)
    L = csgraph_laplacian(W)
    lam = np.linalg.eigvalsh(L)
    np.testing.assert_allclose(s.eigenvalues, lam, atol=1e-9)
    I = np.eye(len(y))
    for reg in (0.01, 0.3, 5.0):
        out = s.update(reg=reg)
        x = np.linalg.solve(I + reg * L, y)
        np.testing.assert_allclose(out["estimate"].values, x, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(out["response"].values, 1 / (1 + reg * lam), rtol=1e-9, atol=1e-12)
        assert float(out["residual_norm"]) == pytest.approx(np.linalg.norm(y - x), rel=1e-9)
        assert float(out["solution_norm"]) == pytest.approx(np.sqrt(x @ L @ x), rel=1e-8)
        assert float(out["error_norm"]) == pytest.approx(np.linalg.norm(x - clean), rel=1e-9)
        H = np.linalg.inv(I + reg * L)
        assert float(out["gcv"]) == pytest.approx(len(y) * np.sum((y - x) ** 2) / (len(y) - np.trace(H)) ** 2, rel=1e-8)
        assert out.attrs["reg"] == reg and out.attrs["order"] == "exact" and "exact" not in out
    # heat: exp(-t L) y at t = reg, on the normalized Laplacian too
    for kind, normed in (("combinatorial", False), ("symmetric", True)):
        h = GraphFilterSession(X, y, k=8, kind=kind, method="heat", device="cpu")
        Lk = csgraph_laplacian(W, normed=normed)
        for t in (0.05, 0.8):
            np.testing.assert_allclose(h.update(reg=t)["estimate"].values, scipy.linalg.expm(-t * Lk) @ y,
                                       rtol=1e-8, atol=1e-10)
        assert h.update().attrs["note"].startswith("heat kernel")
    # an adjacency given as a scipy sparse matrix: the same session
    a = GraphFilterSession(sp.csr_array(W), y, clean=clean, device="cpu")
    assert a.build == "adjacency" and a.positions is None
    np.testing.assert_allclose(a.update(reg=0.3)["estimate"].values, s.update(reg=0.3)["estimate"].values, atol=1e-10)


def test_other_filters_and_options():
    X, y, _ = smooth_problem(80)
    s = GraphFilterSession(X, y, k=6, method="lowpass", device="cpu")
    L = dense_laplacian(s)
    lam, V = np.linalg.eigh(L)
    reg = 1 / 2.5  # keeps lam <= 2.5
    keep = lam <= 1 / reg
    np.testing.assert_allclose(s.update(reg=reg)["estimate"].values, V[:, keep] @ (V[:, keep].T @ y), atol=1e-9)
    b = GraphFilterSession(X, y, k=6, method="butterworth", filter_order=3, device="cpu")
    np.testing.assert_allclose(b.update(reg=0.2)["response"].values, 1 / (1 + (0.2 * lam) ** 3), atol=1e-12)
    assert b.update().attrs["filter_order"] == 3
    c = GraphFilterSession(X, y, k=6, method=lambda s_, r: s_ / (s_ + r), device="cpu")  # a callable h(s, reg)
    np.testing.assert_allclose(c.update(reg=0.2)["estimate"].values,
                               np.linalg.solve(np.eye(80) + 0.2 * L, y), atol=1e-9)


def test_path_equals_pointwise_and_brute_force_leave_one_out():
    X, y, clean = smooth_problem(60, seed=3)
    grid = np.logspace(-2, 1, 7)
    s = GraphFilterSession(X, y, clean=clean, k=6, reg_grid=grid, device="cpu")
    path = s.path
    assert path["gcv"].dims == ("reg",) and set(path) >= {"residual_norm", "solution_norm", "gcv", "loo",
                                                          "curvature", "error_norm", "trace"}
    L = dense_laplacian(s)
    n = len(y)
    for i, reg in enumerate(grid):
        out = s.update(reg=reg)
        for name in ("residual_norm", "solution_norm", "gcv", "error_norm"):
            assert path[name].values[i] == pytest.approx(float(out[name]), rel=1e-8), name
        # leave node j out of the data term, predict it from the others
        loo = 0.0
        for j in range(n):
            D = np.eye(n)
            D[j, j] = 0.0
            x = np.linalg.solve(D + reg * L, D @ y)
            loo += (y[j] - x[j]) ** 2 / n
        assert path["loo"].values[i] == pytest.approx(loo, rel=1e-7)
    ch = s.choices()
    assert set(ch) >= {"gcv", "loo", "min_error"}
    assert ch["min_error"] == grid[int(np.argmin(path["error_norm"].values))]
    assert s.reg == grid[-1]  # the last update (the default came from the path's GCV)


def test_chebyshev_equals_the_recurrence_and_converges():
    X, y, clean = smooth_problem(200, seed=1)
    s = GraphFilterSession(X, y, clean=clean, k=8, device="cpu")
    W = s.adjacency
    assert s.lmax == G.lambda_max_bound(W)
    for method, reg in (("tikhonov", 0.3), ("heat", 0.2)):
        m = GraphFilterSession(X, y, clean=clean, k=8, method=method, device="cpu")
        for K in (5, 20):
            out = m.update(reg=reg, order=K)
            ref = G.chebyshev_filter(W, torch.as_tensor(y), reg, method, order=K)
            np.testing.assert_allclose(out["estimate"].values, ref.y.numpy(), rtol=1e-9, atol=1e-11)
            assert out.attrs["chebyshev_max_error"] == pytest.approx(float(ref.max_error[0]), rel=1e-9)
            assert out.attrs["order"] == K
            # the exact estimate alongside, and the reported bound holds
            exact = m.update(reg=reg, order=None)["estimate"].values
            np.testing.assert_allclose(out["exact"].values, exact, atol=1e-12)
            gap = np.linalg.norm(out["estimate"].values - exact) / np.linalg.norm(y)
            assert gap <= out.attrs["chebyshev_max_error"] * (1 + 1e-9)
    conv = s.chebyshev_convergence(orders=[2, 5, 10, 20, 30], reg=0.3)
    err = conv["max_error"].values
    assert (np.diff(err) < 0).all() and err[-1] < 1e-6, err
    assert (conv["eig_error"].values <= err * (1 + 1e-9)).all()
    assert (np.diff(conv["signal_error"].values) < 0).all()
    # the path for an order: polynomial factors, its error per reg, cached
    pk = s.path_for(10)
    assert "max_error" in pk and pk.attrs["order"] == 10 and s.path_for(10) is pk
    i = 100
    out = s.update(reg=s.reg_grid[i], order=10)
    assert pk["error_norm"].values[i] == pytest.approx(float(out["error_norm"]), rel=1e-8)
    assert pk["max_error"].values[i] == pytest.approx(out.attrs["chebyshev_max_error"], rel=1e-9)
    assert s.order == 10 and s.path is pk


def test_filter_session_labels_and_bad_input():
    X, y, clean = smooth_problem(50)
    sig = xr.DataArray(y, dims="station", coords={"station": np.arange(50) + 100}, name="temperature",
                       attrs={"units": "K"})
    out = GraphFilterSession(X, sig, k=5, device="cpu").update(reg=0.1)
    assert out["estimate"].dims == ("station",) and out["estimate"].attrs["units"] == "K"
    np.testing.assert_array_equal(out["station"].values, np.arange(50) + 100)
    assert out["response"].dims == ("mode",) and "eigenvalue" in out.coords
    with pytest.raises(ValueError, match="kind="):
        GraphFilterSession(X, y, kind="random_walk")
    with pytest.raises(ValueError, match="method="):
        GraphFilterSession(X, y, method="wiener")
    with pytest.raises(ValueError, match="filter_order"):
        GraphFilterSession(X, y, filter_order=3)
    with pytest.raises(ValueError, match="signal must be"):
        GraphFilterSession(X, y[:-1])
    bad = clean.copy()
    bad[0] = np.inf
    with pytest.raises(ValueError, match="clean has 1 non-finite"):
        GraphFilterSession(X, y, clean=bad)
    with pytest.raises(ValueError, match="order must be"):
        GraphFilterSession(X, y, order=-1)
    with pytest.raises(ValueError, match="lmax"):
        GraphFilterSession(X, y, lmax=0.5)
    with pytest.raises(ValueError, match="build="):
        GraphFilterSession(X, y, build="epsilon")
    with pytest.raises(ValueError, match="build='knn'"):
        GraphFilterSession(np.triu(np.ones((50, 50)), 1), y)
    with pytest.raises(ValueError, match="positions"):
        GraphFilterSession(X, y, positions=np.zeros((3, 2)))
    s = GraphFilterSession(X, y, k=5, device="cpu")
    with pytest.raises(ValueError, match="reg must be >= 0"):
        s.update(reg=-1.0)
    with pytest.raises(ValueError, match="scalar"):
        s.update(reg=[0.1, 0.2])
    with pytest.raises(ValueError, match="order must be"):
        s.update(order=-2)
    before, y0 = X.copy(), y.copy()
    s.update(reg=1.0, order=10)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.gpu
def test_sessions_on_gpu_match_cpu():
    X, y, clean = smooth_problem(200)
    cpu = GraphFilterSession(X, y, clean=clean, k=8, device="cpu")
    gpu = GraphFilterSession(X, y, clean=clean, k=8, device="cuda")
    assert gpu.device.type == "cuda"
    for order in (None, 20):
        a, b = cpu.update(reg=0.3, order=order), gpu.update(reg=0.3, order=order)
        np.testing.assert_allclose(b["estimate"].values, a["estimate"].values, atol=1e-8)
    np.testing.assert_allclose(gpu.path["error_norm"].values, cpu.path["error_norm"].values, rtol=1e-8)
    Xb, yb = datasets.make_blobs(300, centers=3, cluster_std=0.5, random_state=0)
    sc = GraphSpectrumSession(Xb, k=20, labels=yb, device="cpu").update()
    sg = GraphSpectrumSession(Xb, k=20, labels=yb, device="cuda").update()
    np.testing.assert_allclose(sg["eigenvalues"].values, sc["eigenvalues"].values, atol=1e-8)
    assert sg.attrs["eigengap"] == sc.attrs["eigengap"] and sg.attrs["ari"] == pytest.approx(sc.attrs["ari"])
