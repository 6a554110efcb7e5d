"""core.graphs against the references users trust, identities and properties.

References: ``scipy.sparse.csgraph.laplacian`` (normed and not), scikit-learn's
``kneighbors_graph`` / ``radius_neighbors_graph`` / ``rbf_kernel``, ``SpectralClustering``
(ARI on moons, circles, blobs and digits), ``KMeans`` and ``LabelSpreading``, PyGSP's
``filters.Heat`` (exact and Chebyshev), dense ``numpy.linalg.eigh`` and ``scipy.linalg.expm``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.csgraph
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import laplacian as csgraph_laplacian

from spectrakit.core import graphs as G

F64 = torch.float64


def dense(W):
    return W.to_dense() if isinstance(W, torch.Tensor) and W.is_sparse else W


def random_graph(n=40, p=0.2, seed=0, weighted=True, isolated=0):
    rng = np.random.default_rng(seed)
    A = (rng.uniform(size=(n, n)) < p) * (rng.uniform(0.5, 2.0, size=(n, n)) if weighted else 1.0)
    A = np.triu(A, 1)
    A = A + A.T
    if isolated:
        A[:isolated] = 0
        A[:, :isolated] = 0
    return A


def directed_graph(n=30, p=0.15, seed=1):
    rng = np.random.default_rng(seed)
    A = (rng.uniform(size=(n, n)) < p) * rng.uniform(0.5, 2.0, size=(n, n))
    np.fill_diagonal(A, 0)
    return A


@pytest.fixture(scope="module")
def sbm():
    return G.stochastic_block_model([60, 50, 40, 50], 0.4, 0.01, seed=3)


# ------------------------------------------------------------------------------ Laplacians


@pytest.mark.parametrize("layout", ["dense", "torch_sparse", "scipy"])
@pytest.mark.parametrize("normed", [False, True])
def test_laplacians_match_scipy_csgraph(layout, normed):
    A = random_graph(isolated=2)
    A[5, 5] = 3.0  # a self-loop: ignored by both
    ref = csgraph_laplacian(A, normed=normed)
    W = {"dense": torch.tensor(A), "torch_sparse": torch.tensor(A).to_sparse(), "scipy": sp.csr_array(A)}[layout]
    L = G.laplacian(W, "symmetric" if normed else "combinatorial", device="cpu")
    assert L.is_sparse == (layout != "dense")
    np.testing.assert_allclose(dense(L).numpy(), ref, rtol=0, atol=1e-14)


def test_random_walk_laplacian_is_inverse_degree_times_combinatorial():
    A = random_graph(isolated=1)
    d = A.sum(1)
    Dinv = np.diag(np.where(d > 0, 1 / np.where(d > 0, d, 1), 0.0))
    ref = Dinv @ csgraph_laplacian(A)
    np.testing.assert_allclose(G.laplacian(torch.tensor(A), "random_walk").numpy(), ref, atol=1e-14)
    Ls = G.laplacian(sp.coo_array(A), "random_walk", device="cpu")
    np.testing.assert_allclose(dense(Ls).numpy(), ref, atol=1e-14)


@pytest.mark.parametrize("normalized", [False, True])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_magnetic_laplacian_hermitian_psd_and_ordinary_at_q0(normalized, layout):
    A = directed_graph()
    W = torch.tensor(A) if layout == "dense" else sp.csr_array(A)
    for q in (0.1, 0.25, 0.4):
        L = dense(G.magnetic_laplacian(W, q, normalized=normalized, device="cpu"))
        assert L.dtype == torch.complex128
        assert torch.allclose(L, L.mH, atol=1e-15, rtol=0)
        lam = torch.linalg.eigvalsh(L)
        assert float(lam.min()) > -1e-12
        if normalized:
            assert float(lam.max()) <= 2 + 1e-12
        # the quadratic form 1/2 sum W_s |x_i - e^{i theta} x_j|^2
        x = torch.randn(A.shape[0], dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
        if not normalized:
            Ws = torch.tensor((A + A.T) / 2)
            theta = 2 * math.pi * q * torch.tensor(A - A.T)
            form = 0.5 * (Ws * (x[:, None] - torch.exp(1j * theta) * x[None, :]).abs() ** 2).sum()
            assert torch.allclose((x.conj() @ L @ x).real, form, rtol=1e-12)
    L0 = dense(G.magnetic_laplacian(W, 0.0, normalized=normalized, device="cpu"))
    ref = csgraph_laplacian((A + A.T) / 2, normed=normalized)
    np.testing.assert_allclose(L0.real.numpy(), ref, atol=1e-14)
    assert float(L0.imag.abs().max()) == 0.0
    # the kind= spelling is the same operator
    L1 = dense(G.laplacian(W, "magnetic_normalized" if normalized else "magnetic", q=0.25, device="cpu"))
    assert torch.allclose(L1, dense(G.magnetic_laplacian(W, 0.25, normalized=normalized, device="cpu")))


def test_magnetic_laplacian_sees_direction():
    # a directed 3-cycle and the same cycle with one edge reversed: same W_s, different
    # spectra (the spectrum depends on the flux 2 pi q (sum of orientations) around the cycle)
    cyc = np.zeros((3, 3))
    cyc[0, 1] = cyc[1, 2] = cyc[2, 0] = 1
    rev = cyc.copy()
    rev[2, 0], rev[0, 2] = 0, 1
    lam_c = torch.linalg.eigvalsh(G.magnetic_laplacian(torch.tensor(cyc), 0.1))
    lam_r = torch.linalg.eigvalsh(G.magnetic_laplacian(torch.tensor(rev), 0.1))
    assert not torch.allclose(lam_c, lam_r)
    lam0_c = torch.linalg.eigvalsh(G.magnetic_laplacian(torch.tensor(cyc), 0.0))
    lam0_r = torch.linalg.eigvalsh(G.magnetic_laplacian(torch.tensor(rev), 0.0))
    assert torch.allclose(lam0_c, lam0_r)


@pytest.mark.parametrize("kind", ["combinatorial", "symmetric", "magnetic", "magnetic_normalized"])
def test_lambda_max_bound_holds(kind):
    A = directed_graph(seed=4) if kind.startswith("magnetic") else random_graph(seed=4)
    lam = torch.linalg.eigvalsh(G.laplacian(torch.tensor(A), kind))
    bound = G.lambda_max_bound(torch.tensor(A), kind)
    assert float(lam.max()) <= bound + 1e-12
    if kind == "combinatorial":  # Anderson-Morley is sharper than Gershgorin's 2 d_max
        assert bound <= 2 * A.sum(1).max()


# ------------------------------------------------------------------------------ graphs from points


def test_knn_graph_matches_scikit_learn_tree_and_brute_force():
    from sklearn.datasets import load_digits, make_moons
    from sklearn.neighbors import kneighbors_graph

    rng = np.random.default_rng(0)
    # 2-D: cKDTree; 64-D: torch brute force (the digits jittered: integer pixels tie)
    for X in (make_moons(300, noise=0.05, random_state=0)[0], load_digits().data[:400] + 1e-3 * rng.standard_normal((400, 64))):
        for include_self in (True, False):
            A = kneighbors_graph(X, 7, include_self=include_self).toarray()
            ref_mean = 0.5 * (A + A.T)
            ref_max = np.maximum(A, A.T)
            ref_mutual = np.minimum(A, A.T)
            Xt = torch.tensor(X)
            np.testing.assert_array_equal(
                G.knn_graph(Xt, 7, symmetrize="mean", include_self=include_self).numpy(), ref_mean)
            np.testing.assert_array_equal(
                dense(G.knn_graph(Xt, 7, include_self=include_self, sparse=True)).numpy(), ref_max)
            np.testing.assert_array_equal(
                G.knn_graph(Xt, 7, symmetrize="mutual", include_self=include_self).numpy(), ref_mutual)
        D = kneighbors_graph(X, 5, mode="distance").toarray()
        ours = G.knn_graph(torch.tensor(X), 5, weights="distance").numpy()
        np.testing.assert_allclose(ours, np.maximum(D, D.T), rtol=1e-10)
        Wg = G.knn_graph(torch.tensor(X), 5, weights="gaussian", bandwidth=0.7).numpy()
        Dm = np.maximum(D, D.T)
        np.testing.assert_allclose(Wg, np.where(Dm > 0, np.exp(-Dm**2 / (2 * 0.7**2)), 0), rtol=1e-10)


def test_epsilon_graph_and_gaussian_affinity_match_scikit_learn():
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.neighbors import radius_neighbors_graph

    X = np.random.default_rng(0).uniform(size=(150, 3))
    ref = radius_neighbors_graph(X, 0.3, include_self=False).toarray()
    np.testing.assert_array_equal(G.epsilon_graph(torch.tensor(X), 0.3).numpy(), ref)
    np.testing.assert_array_equal(dense(G.epsilon_graph(torch.tensor(X), 0.3, sparse=True)).numpy(), ref)
    K = rbf_kernel(X, gamma=2.0)
    np.fill_diagonal(K, 0)
    np.testing.assert_allclose(G.gaussian_affinity(torch.tensor(X), bandwidth=0.5).numpy(), K, atol=1e-14)


def test_stochastic_block_model_is_seeded_and_layout_free():
    a = G.stochastic_block_model([30, 20], 0.3, 0.05, seed=7)
    b = G.stochastic_block_model([30, 20], 0.3, 0.05, seed=7, sparse=True)
    c = G.stochastic_block_model([30, 20], 0.3, 0.05, seed=8)
    assert torch.equal(a.adjacency, b.adjacency.to_dense())
    assert not torch.equal(a.adjacency, c.adjacency)
    W = a.adjacency
    assert torch.equal(W, W.T) and float(W.diagonal().abs().sum()) == 0
    assert a.labels.tolist() == [0] * 30 + [1] * 20
    d = G.stochastic_block_model([20, 20], probabilities=[[0.0, 1.0], [0.0, 0.0]], directed=True).adjacency
    assert float(d[:20, 20:].sum()) == 400 and float(d[20:].sum()) == 0
    # edge density near the probabilities on a larger draw
    big = G.stochastic_block_model([200, 200], 0.3, 0.05, seed=1).adjacency
    assert abs(float(big[:200, :200].sum()) / (200 * 199) - 0.3) < 0.02
    assert abs(float(big[:200, 200:].mean()) - 0.05) < 0.01


# ------------------------------------------------------------------------------ eigenpairs


def test_sbm_has_k_near_zero_eigenvalues_and_eigengap_at_k(sbm):
    W, labels = sbm
    for solver in ("dense", "shift_invert"):
        spec = G.graph_spectrum(W, 8, solver=solver)
        lam = spec.values
        assert spec.solver == solver
        assert float(lam[3]) < 0.1 and float(lam[4]) > 0.5, lam
        assert G.eigengap(lam).n_clusters == 4
    assert G.eigengap(lam, 3).n_clusters <= 3


@pytest.mark.parametrize("kind", ["combinatorial", "symmetric", "random_walk"])
@pytest.mark.parametrize("solver", ["shift_invert", "lanczos", "lobpcg"])
def test_sparse_solvers_agree_with_dense(kind, solver):
    # two components and an isolated node: the null space is deflated exactly
    A = random_graph(n=160, p=0.15, seed=2, isolated=1)
    A[1:80, 80:] = A[80:, 1:80] = 0
    W = sp.csr_array(A)
    assert scipy.sparse.csgraph.connected_components(W)[0] == 3
    k = 6
    ref = G.graph_spectrum(W, kind=kind, device="cpu")  # dense, all
    spec = G.graph_spectrum(W, k, kind=kind, solver=solver, seed=0, device="cpu",
                            tol=1e-9 if solver == "lobpcg" else None)
    assert spec.solver == solver and spec.n_components == 3
    np.testing.assert_allclose(spec.values.numpy(), ref.values[:k].numpy(), atol=1e-8)
    # same invariant subspace (eigenvalue 0 is triple): compare projectors
    if kind == "random_walk":  # D-orthonormal: V^T D V = I
        Dm = torch.diag(spec.degrees)
        np.testing.assert_allclose((spec.vectors.T @ Dm @ spec.vectors).numpy(), np.eye(k), atol=1e-7)
    else:
        P, Pref = spec.vectors @ spec.vectors.T, ref.vectors[:, :k] @ ref.vectors[:, :k].T
        assert float((P - Pref).abs().max()) < 1e-6
    Lrw = G.laplacian(W, kind, device="cpu")
    res = dense(Lrw) @ spec.vectors - spec.vectors * spec.values
    assert float(res.abs().max()) < 1e-6


def test_lobpcg_that_does_not_converge_says_so():
    A = random_graph(n=400, p=0.02, seed=0, weighted=False)
    with pytest.raises(RuntimeError, match="did not converge"):
        G.graph_spectrum(sp.csr_array(A), 6, solver="lobpcg", max_iter=3, tol=1e-12, device="cpu")


def test_auto_solver_choice_is_reported():
    big = G.knn_graph(torch.rand(800, 2, generator=torch.Generator().manual_seed(0), dtype=F64), 8, sparse=True)
    assert G.graph_spectrum(big, 4).solver == "shift_invert"
    assert G.graph_spectrum(big).solver == "dense"  # all eigenpairs
    small = G.stochastic_block_model([50, 50], 0.3, 0.05).adjacency
    assert G.graph_spectrum(small, 4).solver == "dense"  # n <= 256
    full = G.gaussian_affinity(torch.rand(400, 2, generator=torch.Generator().manual_seed(0), dtype=F64), 0.3)
    assert G.graph_spectrum(full, 4).solver == "dense"  # (nearly) dense matrix, n <= 10,000


def test_magnetic_spectrum_by_shift_invert_matches_dense():
    A = directed_graph(n=300, p=0.03, seed=5)
    ref = torch.linalg.eigvalsh(G.magnetic_laplacian(torch.tensor(A), 0.2))
    spec = G.graph_spectrum(sp.csr_array(A), 5, kind="magnetic", q=0.2, solver="shift_invert", device="cpu")
    assert spec.vectors.dtype == torch.complex128
    np.testing.assert_allclose(spec.values.numpy(), ref[:5].numpy(), atol=1e-9)


def test_laplacian_eigh_of_a_given_matrix():
    A = random_graph(n=300, p=0.03, seed=6)
    assert scipy.sparse.csgraph.connected_components(A)[0] == 1  # no deflation here
    A = A + np.diag(np.ones(300))  # self-loops do not matter
    L = csgraph_laplacian(A, normed=True)
    ref = np.linalg.eigvalsh(L)
    for solver in ("dense", "shift_invert", "lanczos"):
        spec = G.laplacian_eigh(sp.csr_array(L), 4, solver=solver)
        np.testing.assert_allclose(spec.values.numpy(), ref[:4], atol=1e-8)
    with pytest.raises(ValueError, match="not symmetric"):
        G.laplacian_eigh(G.laplacian(torch.tensor(A), "random_walk"), 3)


def test_random_walk_embedding_matches_scikit_learn_spectral_embedding():
    from sklearn.manifold import spectral_embedding as sk_embedding

    X = np.random.default_rng(3).standard_normal((300, 2))
    W = G.knn_graph(X, 8, symmetrize="mean", sparse=True, device="cpu")
    ref = sk_embedding(sp.csr_array(dense(W).numpy()), n_components=4, drop_first=False, random_state=0)
    ours = G.spectral_embedding(W, 4, kind="random_walk").embedding
    np.testing.assert_allclose(ours.numpy(), G.fix_signs(torch.tensor(ref)).numpy(), atol=1e-7)


# ------------------------------------------------------------------------------ clustering


def _datasets():
    from sklearn import datasets

    return {
        "moons": datasets.make_moons(400, noise=0.06, random_state=0),
        "circles": datasets.make_circles(400, factor=0.5, noise=0.05, random_state=0),
        "blobs": datasets.make_blobs(400, centers=3, cluster_std=1.0, random_state=0),
        "digits": datasets.load_digits(return_X_y=True),
    }


def test_spectral_clustering_ari_vs_scikit_learn():
    from sklearn.cluster import SpectralClustering
    from sklearn.metrics import adjusted_rand_score as ari

    for name, (X, y) in _datasets().items():
        k = len(np.unique(y))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Graph is not fully connected"
            ref = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10, random_state=0).fit(X)
        # the same graph: scikit-learn's connectivity kNN with itself, (A + A^T) / 2
        W = G.knn_graph(X, 10, symmetrize="mean", include_self=True, sparse=True, device="cpu")
        ours = G.spectral_clustering(W, k)
        a_ref, a_ours = ari(y, ref.labels_), ari(y, ours.labels.numpy())
        assert a_ours >= a_ref - 0.02, (name, a_ours, a_ref)
        assert ours.solver == "shift_invert"
        if name in ("moons", "circles"):
            assert a_ours > 0.99, name
    # the Gaussian (rbf) affinity: gamma = 1 / (2 bandwidth^2)
    X, y = _datasets()["blobs"]
    ref = SpectralClustering(3, affinity="rbf", gamma=0.5, random_state=0).fit(X)
    ours = G.spectral_clustering(G.gaussian_affinity(X, 1.0, device="cpu"), 3)
    assert ari(y, ours.labels.numpy()) >= ari(y, ref.labels_) - 0.02


def test_spectral_clustering_recovers_blocks_and_picks_k(sbm):
    from sklearn.metrics import adjusted_rand_score as ari

    W, labels = sbm
    res = G.spectral_clustering(W)
    assert res.n_clusters == 4 and res.eigenvalues.shape == (11,)
    assert ari(labels.numpy(), res.labels.numpy()) == 1.0
    sw = G.spectral_clustering(W.to_sparse(), 4, kind="random_walk", normalize_rows=False)
    assert ari(labels.numpy(), sw.labels.numpy()) == 1.0


def test_kmeans_matches_scikit_learn_inertia_and_is_seeded():
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(1000, centers=6, cluster_std=1.5, random_state=1)
    ref = KMeans(6, n_init=10, random_state=0).fit(X)
    ours = G.kmeans(torch.tensor(X), 6, n_init=10, seed=0)
    assert ours.inertia <= ref.inertia_ * 1.001
    assert np.isclose(ours.inertia, ((X - ours.centers.numpy()[ours.labels.numpy()]) ** 2).sum())
    again = G.kmeans(torch.tensor(X), 6, n_init=10, seed=0)
    assert torch.equal(ours.labels, again.labels)
    # an empty cluster is refilled; k = n puts every point in its own cluster
    Xs = torch.tensor([[0.0], [0.0], [0.0], [1.0]], dtype=F64)
    res = G.kmeans(Xs, 4, n_init=2)
    assert res.inertia == 0.0


# ------------------------------------------------------------------------------ encodings


def test_positional_encoding_signs_and_ambiguity():
    # a path graph: simple spectrum, 2 - 2 cos(pi j / n)
    n = 12
    W = torch.zeros(n, n, dtype=F64)
    idx = torch.arange(n - 1)
    W[idx, idx + 1] = W[idx + 1, idx] = 1.0
    pe = G.laplacian_positional_encoding(W, 4, kind="combinatorial")
    lam = 2 - 2 * np.cos(np.pi * np.arange(1, 5) / n)
    np.testing.assert_allclose(pe.eigenvalues.numpy(), lam, atol=1e-12)
    assert not pe.ambiguous.any()
    enc = pe.encoding
    mag = enc.abs()
    # the largest-magnitude entry is positive; the path's vectors are (anti)symmetric, so
    # the two ends tie (to round-off) and the lower index wins
    first = torch.argmax((mag >= mag.amax(0) * (1 - 1e-6)).to(torch.int8), 0)
    assert first.tolist() == [0, 0, 0, 0]
    assert (enc[0] > 0).all()
    # invariant to the sign the solver returned
    flipped = G.fix_signs(-G.graph_spectrum(W, kind="combinatorial").vectors[:, 1:5])
    assert torch.allclose(flipped, enc, atol=1e-12)
    # the path's eigenvectors are (anti)symmetric: ties at both ends go to the lower index
    u = torch.tensor([-0.5, 0.1, -0.1, 0.5], dtype=F64)
    assert G.fix_signs(u).tolist() == [0.5, -0.1, 0.1, -0.5]
    # complex vectors: the pivot's phase is removed
    v = torch.tensor([0.8j, 0.6], dtype=torch.complex128)
    assert torch.allclose(G.fix_signs(v), torch.tensor([0.8, -0.6j], dtype=torch.complex128))
    # a cycle: every non-trivial eigenvalue is double -> flagged
    C = torch.roll(torch.eye(8, dtype=F64), 1, 0)
    cyc = G.laplacian_positional_encoding(C + C.T, 4)
    assert cyc.ambiguous.tolist() == [True, True, True, True]


# ------------------------------------------------------------------------------ filters


def _graph_and_signal(n=60, seed=0):
    W = G.stochastic_block_model([n // 2, n - n // 2], 0.3, 0.05, seed=seed).adjacency
    x = torch.randn(n, 2, dtype=F64, generator=torch.Generator().manual_seed(seed))
    return W, x


def test_exact_filters_are_the_textbook_operators():
    W, x = _graph_and_signal()
    L = G.laplacian(W)
    spec = G.graph_spectrum(W, kind="combinatorial")
    n = W.shape[0]
    eye = torch.eye(n, dtype=F64)
    for reg in (0.05, 1.0):
        tik = G.graph_filter(spec, x, reg, "tikhonov")
        assert torch.allclose(tik, torch.linalg.solve(eye + reg * L, x), atol=1e-12)
        heat = G.graph_filter(spec, x, reg, "heat")
        np.testing.assert_allclose(heat.numpy(), scipy.linalg.expm(-reg * L.numpy()) @ x.numpy(), atol=1e-11)
    # the ideal low-pass keeps the modes with lam <= 1/reg
    low = G.graph_filter(spec, x, 0.2, "lowpass")
    keep = spec.values <= 5.0
    V = spec.vectors[:, keep]
    assert torch.allclose(low, V @ (V.T @ x), atol=1e-12)
    # a grid of reg: a leading dim, equal to the scalar calls
    grid = G.graph_filter(spec, x[:, 0], [0.1, 1.0, 10.0], "butterworth", order=3)
    assert grid.shape == (3, n)
    assert torch.allclose(grid[1], G.graph_filter(spec, x[:, 0], 1.0, "butterworth", order=3))
    # reg = 0 is the identity; the smooth (lam = 0) mode passes any filter
    assert torch.allclose(G.graph_filter(spec, x, 0.0), x, atol=1e-12)
    ones = torch.ones(n, dtype=F64)
    assert torch.allclose(G.graph_filter(spec, ones, 1e6, "heat"), ones, atol=1e-9)
    # the same as core.filtering's tikhonov with s = 1/lam
    f = G.graph_frequency_response(spec.values, 0.3)
    assert torch.allclose(f[0], 1 / (1 + 0.3 * spec.values.clamp_min(0)), atol=1e-15)


def test_random_walk_filter_is_similar_to_symmetric():
    W, x = _graph_and_signal(seed=1)
    d = W.sum(1)
    Lrw = G.laplacian(W, "random_walk")
    spec = G.graph_spectrum(W, kind="random_walk")
    ref = torch.linalg.solve(torch.eye(len(d), dtype=F64) + 0.7 * Lrw, x)
    assert torch.allclose(G.graph_filter(spec, x, 0.7), ref, atol=1e-11)
    cheb = G.chebyshev_filter(W, x, 0.7, kind="random_walk", order=40)
    Dh = d.sqrt()[:, None]
    assert float((Dh * (cheb.y - ref)).norm() / (Dh * x).norm()) <= float(cheb.max_error) + 1e-12


@pytest.mark.parametrize("method,reg", [("heat", 0.2), ("tikhonov", 0.3), ("butterworth", 0.2)])
def test_chebyshev_error_falls_with_order_and_matches_exact(method, reg):
    W, x = _graph_and_signal(n=80, seed=2)
    exact = G.graph_filter(G.graph_spectrum(W, kind="combinatorial"), x, reg, method)
    errs, bounds = [], []
    for order in (2, 5, 10, 20, 40, 80):
        cheb = G.chebyshev_filter(W, x, reg, method, order=order)
        err = float((cheb.y - exact).norm(dim=0).max() / x.norm(dim=0).min())
        errs.append(err)
        bounds.append(float(cheb.max_error))
        assert err <= float(cheb.max_error) * (x.norm(dim=0).max() / x.norm(dim=0).min()) + 1e-13
    assert bounds[-1] < 1e-4 and bounds[-1] < bounds[0] / 100
    assert all(b2 <= b1 * 1.05 + 1e-14 for b1, b2 in zip(bounds, bounds[1:])), bounds
    if method == "heat":
        assert bounds[3] < 1e-10  # entire function: super-geometric decay


def test_chebyshev_filter_sparse_magnetic_and_grid():
    A = directed_graph(n=50, seed=3)
    x = torch.randn(50, dtype=F64, generator=torch.Generator().manual_seed(0))
    spec = G.graph_spectrum(torch.tensor(A), kind="magnetic", q=0.25)
    exact = G.graph_filter(spec, x, [0.1, 0.5], "heat")
    cheb = G.chebyshev_filter(sp.csr_array(A), x, [0.1, 0.5], "heat", kind="magnetic", q=0.25, order=40)
    assert cheb.y.shape == (2, 50) and cheb.y.is_complex()
    assert float((cheb.y - exact).abs().max()) < 1e-9
    # lowpass: the jump keeps the error near 1/2 (Gibbs), reported honestly
    W, xs = _graph_and_signal()
    low = G.chebyshev_filter(W, xs, 0.2, "lowpass", order=50)
    assert 0.3 < float(low.max_error) < 0.7


def test_filters_match_pygsp():
    pygsp = pytest.importorskip("pygsp")
    W, x = _graph_and_signal(n=70, seed=4)
    Gp = pygsp.graphs.Graph(sp.csr_matrix(W.numpy()))
    Gp.compute_fourier_basis()
    heat = pygsp.filters.Heat(Gp, scale=5)  # exp(-5 lam / lmax)
    xn = x.numpy()
    spec = G.graph_spectrum(W, kind="combinatorial")
    np.testing.assert_allclose(spec.values.numpy(), Gp.e, atol=1e-10)
    ours = G.graph_filter(spec, x, 5 / Gp.lmax, "heat").numpy()
    np.testing.assert_allclose(ours, heat.filter(xn, method="exact"), atol=1e-12)
    cheb = G.chebyshev_filter(W, x, 5 / Gp.lmax, "heat", order=30, lmax=Gp.lmax)
    np.testing.assert_allclose(cheb.y.numpy(), heat.filter(xn, method="chebyshev", order=30), atol=1e-10)
    # PyGSP's normalized Laplacian is ours
    Gn = pygsp.graphs.Graph(sp.csr_matrix(W.numpy()), lap_type="normalized")
    np.testing.assert_allclose(Gn.L.toarray(), G.laplacian(W, "symmetric").numpy(), atol=1e-15)


# ------------------------------------------------------------------------------ label propagation


def test_label_propagation_on_a_block_model(sbm):
    W, labels = sbm
    gen = torch.Generator().manual_seed(0)
    given = torch.full_like(labels, -1)
    for b in range(4):  # three labelled nodes per block
        members = torch.nonzero(labels == b)[:, 0]
        pick = members[torch.randperm(len(members), generator=gen)[:3]]
        given[pick] = b
    res = G.label_propagation(W, given, 10.0)
    acc = float((res.labels == labels).double().mean())
    assert acc > 0.97 and res.method == "solve"
    spec = G.graph_spectrum(W, kind="symmetric")
    grid = G.label_propagation(W, given, [1.0, 10.0, 100.0], spectrum=spec)
    assert grid.scores.shape == (3, 200, 4) and grid.method == "spectrum"
    assert torch.allclose(grid.scores[1], res.scores, atol=1e-10)
    cg = G.label_propagation(W.to_sparse(), given, 10.0)
    assert cg.method == "cg" and torch.allclose(cg.scores, res.scores, atol=1e-8)
    assert bool(res.reached.all() and grid.reached.all() and cg.reached.all())  # a dense block model, large reg


def arc_graph(n=200, k=10):
    # points on a half circle: a long thin graph, its ends ~n/k hops apart
    t = np.linspace(0, np.pi, n)
    return dense(G.knn_graph(np.c_[np.cos(t), np.sin(t)], k, device="cpu"))


def sparse_block_model():
    # sparse blocks (mean degree ~4): many hops between nodes, one labelled node per block
    W, truth = G.stochastic_block_model([60, 50, 40, 50], 0.08, 0.004, seed=3)
    given = torch.full_like(truth, -1)
    for b in range(4):
        given[torch.nonzero(truth == b)[0, 0]] = b
    return W, given


LP_REGS = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["symmetric", "combinatorial"])
@pytest.mark.parametrize("graph", ["arc", "block_model"])
def test_label_propagation_methods_agree_on_the_reached_nodes(graph, kind, dtype):
    if graph == "arc":
        W = arc_graph()
        given = torch.full((200,), -1)
        given[0], given[-1] = 0, 1  # one label at each end
    else:
        W, given = sparse_block_model()
    W = W.to(dtype)
    n = W.shape[0]
    spec = G.graph_spectrum(W, kind=kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cg converges (to tol and to the floor) without a warning
        res = {
            "spectrum": G.label_propagation(W, given, LP_REGS, kind=kind, spectrum=spec),
            "solve": G.label_propagation(W, given, LP_REGS, kind=kind, method="solve"),
            "cg": G.label_propagation(W.to_sparse(), given, LP_REGS, kind=kind, method="cg"),
        }
    ref = res["solve"]
    assert ref.reached.shape == ref.labels.shape == (len(LP_REGS), n) and ref.reached.dtype == torch.bool
    assert ref.floor.shape == (len(LP_REGS),)
    for name, r in res.items():
        assert r.method == name
        assert torch.equal(r.reached, ref.reached), (name, r.reached.sum(-1), ref.reached.sum(-1))
        assert torch.equal(r.labels, ref.labels), name
        assert torch.equal(r.labels == -1, ~r.reached), name  # -1 exactly where not reached
        assert bool(r.reached[:, given >= 0].all()), name  # labelled nodes always reached
    reached = ref.reached.sum(-1)
    assert reached[0] < (n / 2 if graph == "arc" else n) and reached[-1] == n, reached  # all reached at reg = 100
    assert bool((reached.diff() >= 0).all()), reached  # more reg reaches more nodes
    if dtype == torch.float64 and graph == "arc":
        # what the floor prevents: below it the eigenbasis and the solve argmax disagree (round-off)
        old = torch.argmax(res["spectrum"].scores, -1) != torch.argmax(ref.scores, -1)
        assert int(old[1].sum()) > 20 and not bool((old & ref.reached).any())


@pytest.mark.parametrize("kind", ["symmetric", "combinatorial"])
def test_label_propagation_unreached_nodes_are_below_the_floor_of_the_exact_solve(kind):
    W = arc_graph()
    n = 200
    given = np.full(n, -1)
    given[[0, 120]], given[199] = 0, 1
    Wn = W.numpy()
    L = csgraph_laplacian(Wn, normed=kind == "symmetric")
    lam_max = np.linalg.eigvalsh(L).max()
    Y = np.zeros((n, 2))
    Y[[0, 120], 0], Y[199, 1] = 1, 1
    eps = np.finfo(np.float64).eps
    spec = G.graph_spectrum(W, kind=kind)
    scale = 1.0 if kind == "symmetric" else 0.1  # D - W is about 10 times L_sym here (degrees ~ 10)
    for reg in (0.003 * scale, 0.05 * scale, 1.0 * scale):
        res = G.label_propagation(W, given, reg, kind=kind, spectrum=spec)
        F = scipy.linalg.solve(np.eye(n) + reg * L, Y, assume_a="pos")  # LAPACK, independent of torch
        # the documented floor n eps (1 + reg lmax) max|F|, lmax a bound on L's largest eigenvalue (2 for L_sym;
        # at most twice the largest degree for D - W)
        lmax = (float(res.floor) / (n * eps * np.abs(F).max()) - 1) / reg
        if kind == "symmetric":
            assert abs(lmax - 2) < 1e-6, lmax
        else:
            assert lam_max * (1 - 1e-9) <= lmax <= 2 * Wn.sum(1).max() * (1 + 1e-9), (lmax, lam_max)
        best = F.max(1)
        unreached = ~res.reached.numpy()
        if reg < scale:
            assert unreached.sum() > 20, (reg, unreached.sum())
        assert bool((best[unreached] < float(res.floor)).all())  # unreached: the exact best score is below the floor
        assert bool((best[~unreached] > float(res.floor)).all())
        np.testing.assert_array_equal(res.labels.numpy()[~unreached], F.argmax(1)[~unreached])


def test_label_propagation_reached_against_exact_arithmetic():
    # a path of 40 nodes labelled at both ends: the exact scores (mpmath, 80 digits, a tridiagonal solve)
    # fall like reg**hops; reached is exactly "exact best score above the floor", for every method
    mpmath = pytest.importorskip("mpmath")
    n, reg = 40, 0.05
    W = torch.diag(torch.ones(n - 1, dtype=F64), 1)
    W = W + W.T
    given = torch.full((n,), -1)
    given[0], given[-1] = 0, 1
    with mpmath.workdps(80):
        deg = [1 if i in (0, n - 1) else 2 for i in range(n)]
        r = mpmath.mpf(reg)
        M = mpmath.matrix(n, n)
        for i in range(n):
            M[i, i] = 1 + r
            for j in (i - 1, i + 1):
                if 0 <= j < n:
                    M[i, j] = -r / mpmath.sqrt(deg[i] * deg[j])
        exact = []
        for c, node in ((0, 0), (1, n - 1)):
            e = mpmath.matrix(n, 1)
            e[node] = 1
            exact.append(mpmath.lu_solve(M, e))
        F = np.array([[float(exact[c][i]) for c in range(2)] for i in range(n)])
    spec = G.graph_spectrum(W, kind="symmetric")
    for res in (G.label_propagation(W, given, reg, spectrum=spec), G.label_propagation(W, given, reg, method="solve"),
                G.label_propagation(W.to_sparse(), given, reg, method="cg")):
        floor = float(res.floor)
        assert abs(floor / (n * torch.finfo(F64).eps * (1 + 2 * reg) * F.max()) - 1) < 1e-8
        best = F.max(1)
        assert np.abs(np.log10(best / floor)).min() > 0.1  # no node within round-off of the floor here
        np.testing.assert_array_equal(res.reached.numpy(), best > floor, err_msg=res.method)
        want = np.where(best > floor, F.argmax(1), -1)
        np.testing.assert_array_equal(res.labels.numpy(), want, err_msg=res.method)
    assert 10 < int(res.reached.sum()) < 30  # the middle of the path is beyond the labels' reach at reg = 0.05


def test_label_propagation_label_sets_match_one_at_a_time(sbm):
    W, truth = sbm
    gen = torch.Generator().manual_seed(1)
    sets = torch.full((200, 5), -1)
    for s in range(5):
        for b in range(4 if s != 3 else 3):  # set 3 has no label of class 3: its column stays 0
            members = torch.nonzero(truth == b)[:, 0]
            sets[members[torch.randperm(len(members), generator=gen)[: 1 + s % 2]], s] = b
    spec = G.graph_spectrum(W, kind="symmetric")
    regs = [0.001, 0.1, 10.0]
    for method, A in (("spectrum", W), ("solve", W), ("cg", W.to_sparse())):
        kw = {"spectrum": spec} if method == "spectrum" else {"method": method}
        many = G.label_propagation(A, sets, regs, **kw)
        assert many.labels.shape == many.reached.shape == (3, 200, 5) and many.scores.shape == (3, 200, 5, 4)
        assert many.floor.shape == (3, 5)
        one_reg = G.label_propagation(A, sets, 0.1, **kw)
        assert one_reg.labels.shape == (200, 5) and one_reg.floor.shape == (5,)
        for s in range(5):
            given = sets[:, s]
            if s == 3:
                given = given.clone()  # alone, set 3 has classes 0..2
            one = G.label_propagation(A, given, regs, **kw)
            C = one.scores.shape[-1]
            assert torch.equal(many.labels[:, :, s], one.labels) and torch.equal(many.reached[:, :, s], one.reached)
            atol = 1e-9 if method == "cg" else 1e-13  # cg: to its tol (more columns, more iterations)
            assert torch.allclose(many.scores[:, :, s, :C], one.scores, rtol=1e-9, atol=atol)
            assert torch.allclose(many.floor[:, s], one.floor, rtol=1e-9)
        assert bool((many.scores[:, :, 3, 3] == 0).all())


def test_label_propagation_matches_scikit_learn_label_spreading():
    from sklearn.datasets import make_moons
    from sklearn.semi_supervised import LabelSpreading

    X, y = make_moons(200, noise=0.1, random_state=0)
    given = np.full(200, -1)
    given[[0, 1, 2, 3, 4, 5]] = y[[0, 1, 2, 3, 4, 5]]
    alpha, gamma = 0.9, 20.0
    ref = LabelSpreading(kernel="rbf", gamma=gamma, alpha=alpha, max_iter=5000, tol=1e-14).fit(X, given)
    W = G.gaussian_affinity(X, bandwidth=1 / math.sqrt(2 * gamma), device="cpu")
    ours = G.label_propagation(W, given, G.reg_from_zhou_alpha(alpha))
    F = ours.scores.numpy()
    F = F / F.sum(1, keepdims=True)
    np.testing.assert_allclose(F, ref.label_distributions_, atol=1e-8)
    np.testing.assert_array_equal(ours.labels.numpy(), ref.transduction_)
    assert bool(ours.reached.all())  # a dense Gaussian graph at reg = 9: the labels reach every node


# ------------------------------------------------------------------------------ contract


def test_inputs_are_not_modified_and_dtype_device_follow():
    A = random_graph(seed=9)
    W = torch.tensor(A, dtype=torch.float32)
    W[3, 3] = 1.0  # a self-loop stays in the input
    before = W.clone()
    L = G.laplacian(W, "symmetric")
    spec = G.graph_spectrum(W)
    x = torch.randn(W.shape[0], dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    xb = x.clone()
    y = G.graph_filter(spec, x, 0.5)
    c = G.chebyshev_filter(W, x, 0.5, order=10)
    res = G.spectral_clustering(W, 2)
    assert torch.equal(W, before) and torch.equal(x, xb)
    assert L.dtype == spec.values.dtype == spec.vectors.dtype == y.dtype == c.y.dtype == torch.float32
    assert res.embedding.dtype == torch.float32
    S = sp.csr_array(A)
    S_before = S.copy()
    G.graph_spectrum(S, 3, solver="shift_invert", device="cpu")
    assert (S != S_before).nnz == 0


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: G.laplacian(torch.tensor([[0.0, 1.0], [0.0, 0.0]])), "not symmetric"),
        (lambda: G.laplacian(torch.tensor([[0.0, -1.0], [-1.0, 0.0]])), "negative"),
        (lambda: G.laplacian(torch.tensor([[0.0, math.nan], [math.nan, 0.0]])), "non-finite"),
        (lambda: G.laplacian(torch.ones(2, 3)), "square"),
        (lambda: G.laplacian(torch.eye(2), "normalized"), "kind"),
        (lambda: G.laplacian(torch.eye(2), q=0.1), "q"),
        (lambda: G.knn_graph(torch.rand(5, 2), 5), "k must be <= 4"),
        (lambda: G.graph_spectrum(torch.eye(3), 4), "k must be <= n"),
        (lambda: G.graph_spectrum(torch.eye(3), 2, solver="arpack"), "solver"),
        (lambda: G.graph_filter(G.graph_spectrum(torch.ones(4, 4), 2), torch.ones(4), 1.0), "chebyshev_filter"),
        (lambda: G.graph_filter(G.graph_spectrum(torch.ones(4, 4)), torch.ones(4), -1.0), "reg"),
        (lambda: G.graph_filter(G.graph_spectrum(torch.ones(4, 4)), torch.ones(5), 1.0), "x must be"),
        (lambda: G.graph_filter(G.graph_spectrum(torch.ones(4, 4)), torch.ones(4), 1.0, "wiener"), "method"),
        (lambda: G.label_propagation(torch.ones(4, 4), [-1, -1, -1, -1], 1.0), "no labelled"),
        (lambda: G.label_propagation(torch.ones(4, 4), [0, 2, -1, -1], 1.0), "classes \\[1\\]"),
        (lambda: G.label_propagation(torch.ones(4, 4), [[0, -1], [1, -1], [-1, -1], [-1, -1]], 1.0),
         "label set\\(s\\) \\[1\\]"),
        (lambda: G.label_propagation(torch.ones(4, 4), torch.zeros(4, 2, 2), 1.0), "\\(n, S\\)"),
        (lambda: G.label_propagation(torch.ones(4, 4), [0, 1, -1, -1], 1.0,
                                     spectrum=G.graph_spectrum(torch.ones(3, 3))), "3 nodes"),
        (lambda: G.stochastic_block_model([2, 2], 1.5), "\\[0, 1\\]"),
        (lambda: G.kmeans(torch.rand(3, 2), 4), "k must be <= n"),
        (lambda: G.reg_from_zhou_alpha(1.0), "alpha"),
    ],
)
def test_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_memory_guard_names_the_alternative(monkeypatch):
    monkeypatch.setattr("spectrakit.core.checks.available_bytes", lambda device: 1e3)
    with pytest.raises(MemoryError, match="sparse=True"):
        G.knn_graph(torch.rand(100, 2), 3)
    with pytest.raises(MemoryError, match="k=..."):
        G.graph_spectrum(torch.ones(50, 50))


@pytest.mark.gpu
def test_gpu_matches_cpu():
    W, labels = G.stochastic_block_model([300, 300, 300], 0.05, 0.002, seed=0)
    Wc = W.cuda()
    spec = G.graph_spectrum(Wc, 5)
    assert spec.solver == "dense" and spec.vectors.is_cuda
    ref = G.graph_spectrum(W, 5)
    np.testing.assert_allclose(spec.values.cpu().numpy(), ref.values.numpy(), atol=1e-10)
    res = G.spectral_clustering(Wc, 3)
    assert res.labels.is_cuda
    from sklearn.metrics import adjusted_rand_score as ari

    assert ari(labels.numpy(), res.labels.cpu().numpy()) > 0.95
    x = torch.randn(900, dtype=F64)
    cheb = G.chebyshev_filter(Wc.to_sparse(), x.cuda(), 0.5, "heat", order=30)
    cpu = G.chebyshev_filter(W.to_sparse(), x, 0.5, "heat", order=30)
    assert torch.allclose(cheb.y.cpu(), cpu.y, atol=1e-10)
    Xg = torch.rand(2000, 3, dtype=F64, device="cuda")
    assert torch.equal(G.knn_graph(Xg, 5).cpu(), G.knn_graph(Xg.cpu(), 5))
    _label_propagation_matches_cpu(W, Wc)


def _label_propagation_matches_cpu(W, Wd):
    """Label propagation on Wd's device against the CPU: the same reached nodes and labels away from the
    floor's round-off band (best score within 12 % of the floor, or top two scores within a tenth of it)."""
    given = torch.full((W.shape[0],), -1)
    given[[0, 300, 600]] = torch.tensor([0, 1, 2])
    regs = [1e-5, 1e-3, 1.0]
    cpu = G.label_propagation(W, given, regs)
    top = cpu.scores.topk(2, -1).values
    clear = ((top[..., 0] / cpu.floor[:, None]).log10().abs() > 0.05) & (
        (top[..., 0] - top[..., 1] > 0.1 * cpu.floor[:, None]) | ~cpu.reached)
    assert float(clear.double().mean()) > 0.95 and 0 < int(cpu.reached[0].sum()) < W.shape[0]
    spec = G.graph_spectrum(Wd, kind="symmetric")
    for res in (G.label_propagation(Wd, given, regs), G.label_propagation(Wd, given, regs, spectrum=spec),
                G.label_propagation(Wd.to_sparse(), given, regs, method="cg")):
        assert res.reached.device == Wd.device and res.labels.device == Wd.device
        assert torch.equal(res.reached.cpu()[clear], cpu.reached[clear]), res.method
        assert torch.equal(res.labels.cpu()[clear], cpu.labels[clear]), res.method
        assert torch.allclose(res.floor.cpu(), cpu.floor, rtol=1e-6)


def test_label_propagation_device_check_runs_on_the_cpu():
    # the GPU test's comparison, run here on the CPU so that its logic is tested without a GPU
    W, _ = G.stochastic_block_model([300, 300, 300], 0.05, 0.002, seed=0)
    _label_propagation_matches_cpu(W, W.clone())
