"""GUI-free sessions for graph spectra: spectral clustering with a live graph parameter, and
graph filters with a live ``reg`` and Chebyshev order.

:class:`GraphSpectrumSession` builds a graph on points (kNN or Gaussian, or takes an
adjacency), computes the lowest eigenpairs of its Laplacian once per graph parameter
(cached), and answers the eigengap's choice of the number of clusters, the spectral
embedding and the k-means labels (with the adjusted Rand index against known labels).
Moving the graph parameter (``k`` or ``bandwidth``) rebuilds the graph and its spectrum
(unless cached); moving only ``n_clusters`` re-runs k-means on the cached eigenvectors.

:class:`GraphFilterSession` decomposes the Laplacian of one graph once (all eigenpairs) and
filters one noisy graph signal ``y`` for any ``reg``: exactly through the eigenbasis, or by
a Chebyshev polynomial of order ``K`` of the Laplacian (what a large graph would use,
without eigenvectors), whose frequency response and error against the exact filter it
reports. The conventions are those of :mod:`spectrakit.core.graphs`: the graph frequency
``lam`` (a Laplacian eigenvalue) enters every filter of :mod:`spectrakit.core.filtering` as
``s = 1/lam``, so Tikhonov is ``(I + reg L)^{-1}`` (``1/(1 + reg lam)``), heat is
``exp(-reg L)`` (``reg`` is the time ``t``), Butterworth ``1/(1 + (reg lam)^order)`` and the
ideal low-pass keeps ``lam <= 1/reg``. Graph smoothing is general-form Tikhonov with
``A = I`` and the penalty ``x^T L x``, so the foundation's spectral criteria
(:func:`spectrakit.core.spectral.spectral_criteria`) apply unchanged with the
coefficients ``beta = V^T y`` in the orthonormal eigenbasis: the whole path over
``reg_grid`` (residual, ``sqrt(x^T L x)``, GCV, exact leave-one-out, L-curve curvature and
the error against the clean signal) is one batched computation, cached per filter and order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import xarray as xr

from ..core import spectral
from ..core import graphs as G
from ..core.checks import check_real, check_reg
from ..core.threads import single_thread_if_small
from ..xr.graphs import adjusted_rand_index
from ..xr._apply import compute_settings, dtype_name, to_numpy, to_tensor
from ..xr.choose import choose
from ._cache import LRUCache
from ._session import FilterSession, Session

__all__ = [
    "GraphSpectrumSession",
    "GraphFilterSession",
    "SpectrumStep",
    "FilterStep",
    "GRAPHS",
    "FILTER_KINDS",
]

#: how :class:`GraphSpectrumSession` gets its graph
GRAPHS = ("knn", "gaussian", "precomputed")
#: the Laplacians :class:`GraphSpectrumSession` clusters with
SPECTRUM_KINDS = ("symmetric", "random_walk", "combinatorial")
#: the Laplacians :class:`GraphFilterSession` filters with (orthonormal eigenbases)
FILTER_KINDS = ("combinatorial", "symmetric")
CRITERIA = ("gcv", "loo", "lcurve")
#: neighbour whose distance sets the default Gaussian bandwidth (Zelnik-Manor and Perona's
#: local scale, here one global value: the median over the points)
BANDWIDTH_NEIGHBOUR = 7
_CACHE = 16  # graph spectra kept per session (each n x n_eigs)
_ERROR_POINTS = 2001  # points of each half of the grid on [0, lmax] the Chebyshev error is taken on
_KEEP = object()  # "argument not given" (None has a meaning: the eigengap, the exact filter)


# ---------------------------------------------------------------------- shared helpers


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Cluster names in order of first appearance: node 0's cluster is 0, the first node
    outside it starts cluster 1, ... (k-means numbers clusters arbitrarily; this keeps the
    colours of a figure stable while a slider moves)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def _check_int(value, name: str, lo: int, hi: int | None = None, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        span = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be {span}{why}; got {value}.")
    return value


def _points(points, name: str, device, dtype):
    """Points as an (n, d) tensor plus the labels of their dims: (sample dim, its coords,
    feature dim, its coords). DataArrays are (sample, feature); 1-D inputs are one feature."""
    if isinstance(points, xr.DataArray):
        if points.ndim == 1:
            points = points.expand_dims("feature", axis=1)
        if points.ndim != 2:
            raise ValueError(
                f"{name} must be a (sample, feature) DataArray; got dims {points.dims}. Stack the feature dims first."
            )
        sdim, fdim = points.dims
        coords = {k: v for k, v in points.coords.items() if v.dims == (sdim,)}
        fcoords = {k: v for k, v in points.coords.items() if v.dims == (fdim,)}
        data = points.data
    else:
        if sp.issparse(points) or (isinstance(points, torch.Tensor) and points.layout != torch.strided):
            raise TypeError(f"{name} is a sparse matrix: pass graph='precomputed' to use it as an adjacency.")
        data = points
        sdim, fdim, coords, fcoords = "node", "feature", {}, {}
    dev, dt = compute_settings(device, dtype, data)
    X = to_tensor(data, name, dev, dt)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} must be (n points, d features); got shape {tuple(X.shape)}.")
    if X.shape[0] < 3:
        raise ValueError(f"{name} needs at least 3 points; got {X.shape[0]}.")
    return X, sdim, coords, fdim, fcoords


def _default_bandwidth(X: torch.Tensor, neighbour: int = BANDWIDTH_NEIGHBOUR) -> float:
    """The median over the points of the distance to their ``neighbour``-th nearest other point."""
    n = X.shape[0]
    j = min(neighbour, n - 1)
    block = max(1, min(n, 2**22 // n))
    dists = []
    for start in range(0, n, block):
        d = torch.cdist(X[start : start + block], X)
        dists.append(torch.topk(d, j + 1, dim=1, largest=False).values[:, j])  # column 0: the point itself
    d = torch.cat(dists)
    positive = d[d > 0]
    return float(np.median(to_numpy(positive))) if positive.numel() else 1.0


def _knn_or_gaussian(X, graph: str, param, symmetrize: str, include_self: bool = False):
    if graph == "knn":
        return G.knn_graph(X, param, symmetrize=symmetrize, include_self=include_self, sparse=True)
    return G.gaussian_affinity(X, param)


# ---------------------------------------------------------------------- graph spectrum


@dataclass(frozen=True)
class _Spectrum:
    values: torch.Tensor  # (m,)
    vectors: torch.Tensor  # (n, m), signs fixed
    gaps: torch.Tensor  # (m - 1,)
    eigengap: int
    solver: str
    n_components: int | None


@dataclass(frozen=True)
class SpectrumStep:
    """One answer of :class:`GraphSpectrumSession` as tensors (what a slider move costs).

    ``param`` the graph parameter (``k``, ``bandwidth`` or None for a given graph);
    ``values`` (m,) the lowest Laplacian eigenvalues, ascending; ``vectors`` (n, m) their
    eigenvectors with :func:`~spectrakit.core.graphs.fix_signs`'s signs (the spectral
    embedding); ``gaps`` (m - 1,) ``lam[i+1] - lam[i]``; ``eigengap`` the number of clusters
    the eigengap picks (among ``1..max_clusters``); ``n_clusters`` the number used;
    ``labels`` (n,) int64 the clusters (numbered in order of first appearance);
    ``inertia`` of the k-means; ``ari`` against the true labels (None when unknown);
    ``solver`` the eigensolver; ``n_components`` the connected components (None where not
    computed); ``n_clusters_given`` whether ``n_clusters`` was given (else the eigengap's).
    """

    param: Any
    values: torch.Tensor
    vectors: torch.Tensor
    gaps: torch.Tensor
    eigengap: int
    n_clusters: int
    labels: torch.Tensor
    inertia: float
    ari: float | None
    solver: str
    n_components: int | None
    n_clusters_given: bool


class GraphSpectrumSession(Session):
    """Spectral clustering of points (or of a given graph) with a live graph parameter and
    number of clusters.

    For each value of the graph parameter the session builds the graph, computes the
    ``n_eigs`` lowest eigenpairs of its Laplacian (:func:`~spectrakit.core.graphs.graph_spectrum`,
    the solver chosen by size and sparsity) and caches them (the last 16 values). The
    number of clusters is the eigengap's choice (:func:`~spectrakit.core.graphs.eigengap`,
    the ``k <= max_clusters`` that maximizes ``lam_{k+1} - lam_k``) or a given one; the
    clusters are Ng-Jordan-Weiss: the first ``n_clusters`` sign-fixed eigenvectors, rows
    scaled to unit length (``normalize_rows``), then seeded k-means
    (:func:`~spectrakit.core.graphs.kmeans`), as :func:`~spectrakit.core.graphs.spectral_clustering`
    does. Moving only ``n_clusters`` re-runs the k-means on the cached eigenvectors.

    Parameters
    ----------
    points : (n, d) array, tensor or DataArray (sample, feature); or an adjacency
        The points (finite). With ``graph="precomputed"``: an (n, n) adjacency (dense,
        torch sparse or scipy sparse; symmetric, weights >= 0).
    graph : {"knn", "gaussian", "precomputed"}
        ``"knn"`` (default): :func:`~spectrakit.core.graphs.knn_graph` with ``k`` neighbours
        (0/1 weights, symmetrized by ``symmetrize``, sparse); ``"gaussian"``: the dense
        :func:`~spectrakit.core.graphs.gaussian_affinity` ``exp(-d^2 / (2 bandwidth^2))``;
        ``"precomputed"``: ``points`` is the graph (no graph parameter).
    k : int
        Neighbours of the kNN graph (default 10).
    bandwidth : float, optional
        The Gaussian's width (in the points' units). Default: the median over the points
        of the distance to their 7th nearest neighbour.
    kind : {"symmetric", "random_walk", "combinatorial"}
        The Laplacian (default ``"symmetric"``, ``I - D^{-1/2} W D^{-1/2}``).
    n_eigs : int, optional
        How many of the lowest eigenpairs to compute and show (default
        ``min(n, max(20, max_clusters + 1))``); at least ``max_clusters + 1``.
    n_clusters : int, optional
        The number of clusters; None or 0: the eigengap's choice.
    max_clusters : int, optional
        The largest number of clusters the eigengap may pick (default 10, or
        ``n_eigs - 1`` when fewer eigenpairs are asked for).
    labels : (n,) array, optional
        True labels (any values): adds the adjusted Rand index (:func:`adjusted_rand_index`).
    symmetrize : {"max", "mean", "mutual"}
        How the kNN relation is made undirected (see :func:`~spectrakit.core.graphs.knn_graph`).
    include_self : bool
        Count each point as its own first neighbour (``k - 1`` others). scikit-learn's
        ``SpectralClustering(affinity="nearest_neighbors", n_neighbors=k)`` builds its graph
        with ``symmetrize="mean", include_self=True``.
    normalize_rows : bool
        Scale the embedding's rows to unit length before k-means (default True).
    n_init, seed : int
        k-means starts and the seed of both the k-means and the eigensolver's start vector.
    device, dtype : optional
        Where and in which precision to compute (see :func:`spectrakit.set_options`).

    Attributes
    ----------
    graph, kind, n, n_eigs, max_clusters : as given (or resolved)
    k, bandwidth : the graph parameter in force (None where it does not apply)
    n_clusters : the given number of clusters in force, None for the eigengap
    param_name : "k", "bandwidth" or None
    positions : (n, d) numpy array of the points (None for a given graph)
    true_labels : (n,) numpy array or None

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.tuning import GraphSpectrumSession
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.3, (40, 2)), rng.normal(3, 0.3, (40, 2))])
    >>> truth = np.repeat([0, 1], 40)
    >>> session = GraphSpectrumSession(X, k=20, labels=truth, device="cpu")
    >>> out = session.update()
    >>> out.attrs["eigengap"], out.attrs["n_clusters"], out.attrs["ari"]
    (2, 2, 1.0)
    >>> out = session.update(n_clusters=3)  # only the k-means runs again
    >>> out["labels"].dims, int(out["labels"].max())
    (('node',), 2)
    """

    _settings = ("k", "bandwidth", "n_clusters")

    def __init__(
        self, points, *, graph="knn", k=10, bandwidth=None, kind="symmetric", n_eigs=None, n_clusters=None,
        max_clusters=None, labels=None, symmetrize="max", include_self=False, normalize_rows=True, n_init=10, seed=0,
        device=None, dtype=None,
    ):
        if graph not in GRAPHS:
            raise ValueError(f"graph={graph!r} is unknown; choose one of {list(GRAPHS)}.")
        if kind not in SPECTRUM_KINDS:
            raise ValueError(f"kind={kind!r} is unknown; choose one of {list(SPECTRUM_KINDS)}.")
        if symmetrize not in ("max", "mean", "mutual"):
            raise ValueError(f"symmetrize={symmetrize!r} is unknown; choose 'max', 'mean' or 'mutual'.")
        self.graph, self.kind, self.symmetrize, self.include_self = graph, kind, symmetrize, bool(include_self)
        self.normalize_rows = bool(normalize_rows)
        self.n_init = _check_int(n_init, "n_init", 1)
        self.seed = _check_int(seed, "seed", 0)
        self.k = self.bandwidth = None
        self.positions = None
        self._X = self._W = None
        if graph == "precomputed":
            if isinstance(points, xr.DataArray):
                points = points.data
            dev, dt = compute_settings(device, dtype, points if isinstance(points, torch.Tensor) else None)
            try:
                self._W = G.adjacency(points, device=dev, dtype=dt)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"points (graph='precomputed' takes an adjacency): {exc}") from None
            self.n = self._W.shape[0]
            self.sample_dim, self._coords = "node", {}
            self.device, self.dtype = self._W.device, self._W.dtype
            self.param_name = None
        else:
            X, sdim, coords, _fdim, _fcoords = _points(points, "points", device, dtype)
            self._X = X
            self.n = X.shape[0]
            self.sample_dim, self._coords = sdim, coords
            self.device, self.dtype = X.device, X.dtype
            self.positions = to_numpy(X).astype(float, copy=True)
            if graph == "knn":
                self.param_name = "k"
                if bandwidth is not None:
                    raise ValueError("bandwidth applies to graph='gaussian'; the kNN graph takes k.")
                self.k = self._check_k(k)
            else:
                self.param_name = "bandwidth"
                self.bandwidth = (_default_bandwidth(X) if bandwidth is None
                                  else check_real(bandwidth, "bandwidth", strict=True))
        n = self.n
        if max_clusters is None:
            max_clusters = min(10, n - 1, n - 1 if n_eigs is None else max(1, int(n_eigs) - 1))
        self.max_clusters = _check_int(max_clusters, "max_clusters", 1, n - 1, " (at most n - 1)")
        if n_eigs is None:
            n_eigs = min(n, max(20, self.max_clusters + 1))
        self.n_eigs = _check_int(n_eigs, "n_eigs", self.max_clusters + 1, n,
                                 f" (at least max_clusters + 1 = {self.max_clusters + 1}, at most n)")
        self.n_clusters = self._check_clusters(n_clusters)
        self.true_labels = None
        if labels is not None:
            lab = np.asarray(labels.values if isinstance(labels, xr.DataArray) else
                             (labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels))
            if lab.shape != (n,):
                raise ValueError(f"labels must be (n,) = ({n},) true labels, one per point; got shape {lab.shape}.")
            self.true_labels = lab.copy()
        self._spectra = LRUCache(_CACHE)
        self._clusters = LRUCache(8 * _CACHE)
        self.n_spectra = 0  # graph spectra computed (cache misses)
        self.solve()  # the first answer: any problem with the data shows here

    # ------------------------------------------------------------------ checks

    @property
    def adjacency(self):
        """The given graph's adjacency (torch, dense or sparse); None for a graph built from
        points (it changes with the graph parameter)."""
        return self._W

    @property
    def param(self):
        """The graph parameter in force (``k``, ``bandwidth`` or None)."""
        return self.k if self.graph == "knn" else self.bandwidth

    def _check_k(self, k) -> int:
        return _check_int(k, "k", 1, self.n - 1, " (the number of neighbours; at most n - 1)")

    def _check_clusters(self, n_clusters):
        if n_clusters is None:
            return None
        c = _check_int(n_clusters, "n_clusters", 0, self.n_eigs,
                       f" (0 for the eigengap; at most n_eigs = {self.n_eigs})")
        return None if c == 0 else c

    def _target(self, k=_KEEP, bandwidth=_KEEP, n_clusters=_KEEP) -> dict:
        if k is not _KEEP and k is not None:
            if self.graph != "knn":
                raise ValueError(f"k applies to graph='knn'; this session's graph is {self.graph!r}.")
            k = self._check_k(k)
        else:
            k = self.k
        if bandwidth is not _KEEP and bandwidth is not None:
            if self.graph != "gaussian":
                raise ValueError(f"bandwidth applies to graph='gaussian'; this session's graph is {self.graph!r}.")
            bandwidth = check_real(bandwidth, "bandwidth", strict=True)
        else:
            bandwidth = self.bandwidth
        c = self.n_clusters if n_clusters is _KEEP else self._check_clusters(n_clusters)
        return dict(k=k, bandwidth=bandwidth, n_clusters=c)

    # ------------------------------------------------------------------ answers

    def spectrum(self, param=_KEEP) -> _Spectrum:
        """The cached eigenpairs for a graph parameter (default the one in force)."""
        param = self.param if param is _KEEP else param

        def compute():
            W = self._W if self.graph == "precomputed" else _knn_or_gaussian(
                self._X, self.graph, param, self.symmetrize, self.include_self
            )
            spec = G.graph_spectrum(W, self.n_eigs, kind=self.kind, seed=self.seed)
            lam = spec.values.real if spec.values.is_complex() else spec.values
            vectors = G.fix_signs(spec.vectors)
            gaps = torch.diff(lam)
            choice = G.eigengap(lam, self.max_clusters).n_clusters
            self.n_spectra += 1
            return _Spectrum(lam, vectors, gaps, choice, spec.solver, spec.n_components)

        return self._spectra.get_or_compute(param, compute)

    def _cluster(self, param, spec: _Spectrum, c: int):
        def compute():
            U = spec.vectors[:, :c]
            if self.normalize_rows:
                norm = torch.linalg.vector_norm(U, dim=1, keepdim=True)
                U = U / torch.where(norm > 0, norm, torch.ones_like(norm))
            km = G.kmeans(U, c, n_init=self.n_init, seed=self.seed)
            labels = torch.as_tensor(_canonical_labels(to_numpy(km.labels)), device=self.device)
            return labels, float(km.inertia)

        return self._clusters.get_or_compute((param, c), compute)

    def _solve(self, target: dict) -> SpectrumStep:
        """One answer as tensors (:meth:`solve`; changes no setting).

        A new graph parameter costs the graph and its eigenpairs (once; then cached); a
        new ``n_clusters`` one k-means on the cached eigenvectors.
        """
        k, bandwidth, c = target["k"], target["bandwidth"], target["n_clusters"]
        param = k if self.graph == "knn" else bandwidth
        spec = self.spectrum(param)
        used = spec.eigengap if c is None else c
        labels, inertia = self._cluster(param, spec, used)
        ari = None if self.true_labels is None else adjusted_rand_index(self.true_labels, to_numpy(labels))
        return SpectrumStep(param, spec.values, spec.vectors, spec.gaps, spec.eigengap, used, labels, inertia,
                            ari, spec.solver, spec.n_components, c is not None)

    def update(self, k=_KEEP, bandwidth=_KEEP, n_clusters=_KEEP) -> xr.Dataset:
        """The spectrum, embedding and clusters for a graph parameter and number of clusters.

        Parameters left out keep their value; ``n_clusters=None`` (or 0) is the eigengap's
        choice. Returns a Dataset with ``eigenvalues`` and ``gap`` (``lam[i+1] - lam[i]``,
        NaN for the last) over ``mode``, ``embedding`` (sample, mode) the sign-fixed
        eigenvectors, ``labels`` (sample) and, when known, ``true_labels``; attrs record the
        graph, its parameter, ``kind``, ``eigengap`` (the eigengap's choice),
        ``n_clusters`` (the number used), ``ari`` (when labels are known), ``inertia``,
        the eigensolver ``solver`` and ``n_components``. Atomic: if it raises, nothing changes.
        """
        return super().update(k, bandwidth, n_clusters)

    def to_dataset(self, st: SpectrumStep) -> xr.Dataset:
        """Label a :class:`SpectrumStep`."""
        m = st.values.shape[0]
        gap = np.full(m, np.nan)
        gap[:-1] = to_numpy(st.gaps)
        sd = self.sample_dim
        data_vars = {
            "eigenvalues": ("mode", to_numpy(st.values).astype(float, copy=True)),
            "gap": ("mode", gap),
            "embedding": ((sd, "mode"), to_numpy(st.vectors).copy()),
            "labels": (sd, to_numpy(st.labels).astype(np.int64, copy=True)),
        }
        if self.true_labels is not None:
            data_vars["true_labels"] = (sd, self.true_labels.copy())
        coords = {"mode": np.arange(m), **self._coords}
        ds = xr.Dataset(data_vars, coords=coords)
        ds["eigenvalues"].attrs["long_name"] = f"{self.kind} Laplacian eigenvalue"
        ds["embedding"].attrs["long_name"] = "Laplacian eigenvectors (signs fixed): the spectral embedding"
        ds["labels"].attrs["long_name"] = "cluster (numbered in order of first appearance)"
        attrs = dict(
            graph=self.graph, kind=self.kind, eigengap=st.eigengap, n_clusters=st.n_clusters,
            n_clusters_from="given" if st.n_clusters_given else "eigengap", inertia=st.inertia,
            solver=st.solver, device=str(self.device), dtype=dtype_name(self.dtype),
        )
        if self.param_name is not None:
            attrs[self.param_name] = st.param
        if st.n_components is not None:
            attrs["n_components"] = st.n_components
        if st.ari is not None:
            attrs["ari"] = st.ari
        ds.attrs.update(attrs)
        return ds

    def __repr__(self) -> str:
        param = "" if self.param_name is None else f", {self.param_name}={self.param:.4g}"
        c = "eigengap" if self.n_clusters is None else self.n_clusters
        return (f"GraphSpectrumSession(graph={self.graph!r}{param}, kind={self.kind!r}, n={self.n}, "
                f"n_eigs={self.n_eigs}, n_clusters={c}, device={self.device})")


# ---------------------------------------------------------------------- graph filters


@dataclass(frozen=True)
class FilterStep:
    """One answer of :class:`GraphFilterSession` as tensors on the device.

    ``x`` (n,) the filtered signal (Chebyshev when ``order`` is set, else exact);
    ``x_exact`` (n,) the exact filter's; ``response`` (n,) the exact response
    ``h(lam_i)`` over the eigenvalues; ``chebyshev`` (n,) the polynomial's ``p(lam_i)``
    (None for the exact filter); ``max_error`` ``max |p - h|`` over ``[0, lmax]`` and
    ``eig_error`` over the eigenvalues (None for the exact filter); ``residual_norm``
    ``||y - x||``, ``solution_norm`` ``sqrt(x^T L x)``, ``gcv`` and ``error_norm``
    ``||x - clean||`` (None without the clean signal): 0-d tensors.
    """

    reg: float
    order: int | None
    x: torch.Tensor
    x_exact: torch.Tensor
    response: torch.Tensor
    chebyshev: torch.Tensor | None
    max_error: float | None
    eig_error: float | None
    residual_norm: torch.Tensor
    solution_norm: torch.Tensor
    gcv: torch.Tensor
    error_norm: torch.Tensor | None


class GraphFilterSession(FilterSession):
    """Filter one noisy graph signal for any ``reg``, exactly or by a Chebyshev polynomial,
    from one eigendecomposition of the Laplacian.

    The Laplacian's complete eigendecomposition ``L = V diag(lam) V^T``
    (:func:`~spectrakit.core.graphs.graph_spectrum`, dense) and the signal's coefficients
    ``beta = V^T y`` are computed once. For a ``reg``:

    * exact: ``x = V h(lam; reg) beta``, with ``h`` the filter's response
      (:func:`~spectrakit.core.graphs.graph_frequency_response`): Tikhonov ``1/(1 + reg lam)``,
      i.e. ``x = (I + reg L)^{-1} y``; heat ``exp(-reg lam)``, i.e. ``x = exp(-t L) y`` with
      ``t = reg``; and the others of :data:`~spectrakit.core.graphs.GRAPH_FILTERS`;
    * Chebyshev of order ``K``: ``x = p_K(L) y`` with ``p_K`` the Chebyshev interpolant of
      ``h`` on ``[0, lmax]`` (:func:`~spectrakit.core.graphs.chebyshev_coefficients`;
      ``lmax`` defaults to :func:`~spectrakit.core.graphs.lambda_max_bound`, as
      :func:`~spectrakit.core.graphs.chebyshev_filter` uses without eigenvectors). The
      session evaluates ``p_K`` on the cached eigenvalues (``p_K(L) y = V p_K(lam) beta``,
      the same vector the recurrence gives up to rounding) and reports its error
      ``max |p_K - h|`` on ``[0, lmax]`` (a bound on ``||p_K(L) y - h(L) y|| / ||y||``).

    The path over ``reg_grid`` scores the current filter (exact or the order-K polynomial)
    with the foundation's :func:`~spectrakit.core.spectral.spectral_criteria` at
    ``s = 1/lam``: ``residual_norm`` ``||y - x||``, ``solution_norm`` ``sqrt(x^T L x)``,
    ``gcv`` ``n ||y - x||^2 / (n - trace H)^2`` with ``trace H = sum_i h(lam_i)``,
    ``curvature`` of the L-curve; plus the exact leave-one-out ``loo`` of the smoother
    ``H = V diag(h) V^T`` (``mean_i ((y - x)_i / (1 - H_ii))^2``), ``error_norm``
    ``||x - clean||`` when the clean signal is given, and for a Chebyshev order its
    ``max_error`` per reg. It is computed once per filter and order and cached.

    Parameters
    ----------
    graph : adjacency or points
        An (n, n) adjacency (dense, torch sparse or scipy sparse; symmetric, weights >= 0),
        or (n, d) points (array, tensor or (sample, feature) DataArray) to build the graph on.
    signal : (n,) array, tensor or DataArray
        The noisy graph signal ``y`` (finite); a DataArray's dim and coords label the results.
    clean : (n,) array, optional
        The clean signal: adds ``error_norm`` and the ``min_error`` choice.
    build : {None, "adjacency", "knn", "gaussian"}
        How ``graph`` is read. None (default): sparse inputs and (n, n) arrays are an
        adjacency, (n, d) arrays with ``d != n`` are points for a kNN graph. ``"knn"``:
        :func:`~spectrakit.core.graphs.knn_graph` with ``k`` neighbours and 0/1 weights
        (``symmetrize``); ``"gaussian"``: :func:`~spectrakit.core.graphs.gaussian_affinity`
        with ``bandwidth`` (default: the median distance to the 7th nearest neighbour).
    k, bandwidth, symmetrize : the graph's parameters when built from points
    positions : (n, p) array, optional
        Coordinates to draw the nodes at (default: the points, when the graph is built
        from points).
    kind : {"combinatorial", "symmetric"}
        The Laplacian (default ``"combinatorial"``, ``D - W``: ``x^T L x =
        sum_{i<j} W_ij (x_i - x_j)^2``).
    method : str or callable
        One of :data:`~spectrakit.core.graphs.GRAPH_FILTERS` (default ``"tikhonov"``) or a
        callable ``h(s, reg)`` with ``s = 1/lam``.
    filter_order : int, optional
        The Butterworth or iterated-Tikhonov order (their option ``order``; default 2).
    order : int, optional
        The Chebyshev order ``K`` in force (None: the exact filter).
    lmax : float, optional
        The end of the Chebyshev interval (default: the guaranteed bound
        :func:`~spectrakit.core.graphs.lambda_max_bound`; must be >= the largest eigenvalue).
    reg : float, optional
        The starting strength. Default: GCV's choice on the grid (exact filter) when it
        lies inside the grid, else ``1 / median(lam)`` (GCV can decrease all the way to
        the interpolating end when denoising on a graph whose eigenvalues are spread
        little: its limit there, ``sigma^2 n sum lam^2 / (sum lam)^2``, is close to the
        noise level ``sigma^2``).
    reg_grid : 1-D array, optional
        The grid of the cached paths. Default: 201 geometric values from
        ``1e-2 / lam_max`` to ``1e2 / lam_2`` (``lam_2`` the smallest positive eigenvalue):
        every filter's step (near ``reg = 1/lam``) crosses the whole spectrum on it.
    device, dtype : optional

    Attributes
    ----------
    reg, order : the values in force (the last :meth:`update`)
    n, kind, method, method_options, lmax, reg_grid
    eigenvalues : (n,) numpy array, ascending
    positions : (n, p) numpy array or None
    signal, clean : (n,) numpy arrays (clean may be None)
    adjacency : the adjacency (torch, dense or sparse)

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.tuning import GraphFilterSession
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(150, 2))
    >>> clean = np.sin(3 * X[:, 0]) + X[:, 1]
    >>> session = GraphFilterSession(X, clean + 0.3 * rng.standard_normal(150), clean=clean, k=8, device="cpu")
    >>> out = session.update(reg=0.5)
    >>> out["estimate"].dims, out["response"].dims
    (('node',), ('mode',))
    >>> bool(out["error_norm"] < np.linalg.norm(session.signal - clean))  # smoothing helps
    True
    >>> cheb = session.update(order=30)  # the same filter as a Chebyshev polynomial of L
    >>> bool(cheb.attrs["chebyshev_max_error"] < 1e-3)
    True
    """

    criteria = CRITERIA
    _settings = ("reg", "order")

    def __init__(
        self, graph, signal, *, clean=None, build=None, k=10, bandwidth=None, symmetrize="max", positions=None,
        kind="combinatorial", method="tikhonov", filter_order=None, order=None, lmax=None, reg=None,
        reg_grid=None, device=None, dtype=None,
    ):
        if kind not in FILTER_KINDS:
            raise ValueError(
                f"kind={kind!r}: the filter session needs an orthonormal eigenbasis; choose one of "
                f"{list(FILTER_KINDS)} "
                "(the random-walk Laplacian filters like the symmetric one in the degree inner product)."
            )
        if not callable(method) and method not in G.GRAPH_FILTERS:
            raise ValueError(
                f"method={method!r} is unknown; choose one of {list(G.GRAPH_FILTERS)} or pass a callable h(s, reg)."
            )
        self.kind, self.method = kind, method
        self.method_options: dict = {}
        if filter_order is not None:
            if method not in ("butterworth", "iterated_tikhonov"):
                raise ValueError(
                    f"filter_order applies to method='butterworth' or 'iterated_tikhonov'; got method={method!r}."
                )
            self.method_options["order"] = _check_int(filter_order, "filter_order", 1)

        # -- the signal (its dim and coords label the results)
        if isinstance(signal, xr.DataArray):
            if signal.ndim != 1:
                raise ValueError(f"signal must be one graph signal (1 dim); got dims {signal.dims}.")
            self.sample_dim = signal.dims[0]
            self._coords = {k_: v for k_, v in signal.coords.items() if v.dims == (self.sample_dim,)}
            self.name = signal.name
            self.attrs = dict(signal.attrs)
        else:
            self.sample_dim, self._coords, self.name, self.attrs = "node", {}, None, {}

        # -- the graph
        dev, dt = compute_settings(device, dtype, graph if isinstance(graph, torch.Tensor) else None,
                                   signal.data if isinstance(signal, xr.DataArray) else signal)
        build = self._resolve_build(graph, signal, build)
        self.build = build
        self.positions = None
        if build == "adjacency":
            if isinstance(graph, xr.DataArray):
                graph = graph.data
            try:
                W = G.adjacency(graph, device=dev, dtype=dt)
            except ValueError as exc:
                raise ValueError(f"graph: {exc} (pass build='knn' if these are points)") from None
            self.k = self.bandwidth = None
        else:
            X, *_ = _points(graph, "graph", dev, dt)
            self.positions = to_numpy(X).astype(float, copy=True)
            if build == "knn":
                self.k = _check_int(k, "k", 1, X.shape[0] - 1, " (the number of neighbours; at most n - 1)")
                self.bandwidth = None
                W = G.knn_graph(X, self.k, symmetrize=symmetrize, sparse=True)
            else:
                self.k = None
                self.bandwidth = (_default_bandwidth(X) if bandwidth is None
                                  else check_real(bandwidth, "bandwidth", strict=True))
                W = G.gaussian_affinity(X, self.bandwidth)
        self.adjacency = W
        self.n = W.shape[0]
        self.device, self.dtype = W.device, W.dtype
        if positions is not None:
            pos = np.asarray(positions, dtype=float)
            if pos.ndim != 2 or pos.shape[0] != self.n or not np.isfinite(pos).all():
                raise ValueError(
                    f"positions must be finite (n, p) = ({self.n}, p) node coordinates; got shape {pos.shape}."
                )
            self.positions = pos.copy()

        y = self._as_signal(signal, "signal")
        self._y = y
        self.signal = to_numpy(y).astype(float, copy=True)
        self._clean = None if clean is None else self._as_signal(clean, "clean")
        self.clean = None if self._clean is None else to_numpy(self._clean).astype(float, copy=True)

        # -- the one decomposition
        spec = G.graph_spectrum(W, kind=kind)
        self._lam = spec.values
        self._V = spec.vectors
        self.eigenvalues = to_numpy(self._lam).astype(float, copy=True)
        self._basis = G.GraphBasis(spec)  # the spine's basis: s = 1/lam, beta = V^T y
        self._s = self._basis.s
        self._beta = self._basis.coefficients(y)
        self._t = None if self._clean is None else self._basis.coefficients(self._clean)
        self._lev = self._V * self._V  # (n, n): H_ii = sum_j h_j V_ij^2
        bound = G.lambda_max_bound(W, kind)
        self.lmax = max(bound, float(self._lam.max()), torch.finfo(self.dtype).eps) if lmax is None else \
            check_real(lmax, "lmax", strict=True)
        if self.lmax < float(self._lam.max()) * (1 - 1e-12):
            raise ValueError(
                f"lmax={self.lmax:.6g} is below the largest eigenvalue {float(self._lam.max()):.6g}: the Chebyshev "
                "interval must hold the spectrum; leave lmax=None for the guaranteed bound."
            )
        self._grid = self._error_grid()
        self.order = self._check_order(order)
        self.reg = math.nan  # none in force until the first choice
        self._set_grid(reg_grid, self._default_grid)
        self.reg = self._scalar_reg(self._graph_default_reg() if reg is None else reg, math.nan)

    # ------------------------------------------------------------------ inputs

    @staticmethod
    def _resolve_build(graph, signal, build):
        if build is not None:
            if build not in ("adjacency", "knn", "gaussian"):
                raise ValueError(f"build={build!r} is unknown; choose None, 'adjacency', 'knn' or 'gaussian'.")
            return build
        if sp.issparse(graph) or (isinstance(graph, torch.Tensor) and graph.layout != torch.strided):
            return "adjacency"
        shape = tuple(getattr(graph, "shape", np.shape(graph)))
        n = len(signal)
        if len(shape) == 2 and shape[0] == shape[1] == n:
            return "adjacency"
        return "knn"

    def _as_signal(self, value, name: str) -> torch.Tensor:
        data = value.data if isinstance(value, xr.DataArray) else value
        t = to_tensor(data, name, self.device, self.dtype)
        if t.shape != (self.n,):
            raise ValueError(
                f"{name} must be one graph signal of shape (n,) = ({self.n},); got shape {tuple(t.shape)}."
            )
        return t

    def _check_order(self, order):
        if order is None:
            return None
        return _check_int(order, "order", 0, None, " (the Chebyshev order; None for the exact filter)")

    def _error_grid(self) -> torch.Tensor:
        """Points of ``[0, lmax]`` the Chebyshev error is taken on: uniform plus Chebyshev-spaced."""
        lm = self.lmax
        g = torch.cat([
            torch.linspace(0, lm, _ERROR_POINTS, dtype=torch.float64),
            (lm / 2) * (torch.cos(torch.linspace(0, math.pi, _ERROR_POINTS - 1, dtype=torch.float64)) + 1),
        ])
        return g.to(dtype=self.dtype, device=self.device)

    def _default_grid(self) -> np.ndarray:
        lam = self.eigenvalues
        top = float(lam.max())
        if top <= 0:
            raise ValueError("the graph has no edges (every Laplacian eigenvalue is 0): nothing to filter.")
        low = lam[lam > 1e-9 * top]
        lo, hi = 1e-2 / top, 1e2 / float(low.min())
        return np.logspace(math.log10(lo), math.log10(hi), 201)

    def _graph_default_reg(self) -> float:
        """GCV's choice inside the grid, else ``1 / median(lam)`` (see the ``reg`` parameter)."""
        grid = self.reg_grid
        try:
            reg = choose(self.path_for(None), "gcv")
        except ValueError:
            reg = None
        if reg is not None and grid.min() < reg < grid.max():
            return reg
        lam = self.eigenvalues[self.eigenvalues > 1e-9 * self.eigenvalues.max()]
        return float(np.clip(1.0 / np.median(lam), grid.min(), grid.max()))

    # ------------------------------------------------------------------ responses

    def response(self, reg, lam=None) -> torch.Tensor:
        """The exact response ``h(lam; reg)`` (R, N) at eigenvalues ``lam`` (default the graph's)."""
        reg_t = torch.as_tensor(np.atleast_1d(check_reg(reg)), dtype=self.dtype, device=self.device)
        lam = self._lam if lam is None else lam
        return G.graph_frequency_response(lam, reg_t, self.method, **self.method_options)

    def chebyshev_coefficients(self, reg, order: int) -> torch.Tensor:
        """The Chebyshev coefficients (R, order + 1) of the response on ``[0, lmax]``."""
        reg_t = torch.as_tensor(np.atleast_1d(check_reg(reg)), dtype=self.dtype, device=self.device)

        def h(lam):
            return G.graph_frequency_response(lam, reg_t, self.method, **self.method_options)

        return G.chebyshev_coefficients(h, order, self.lmax, dtype=self.dtype, device=self.device)

    def chebyshev_response(self, reg, order: int, lam=None) -> torch.Tensor:
        """The order-``order`` polynomial's ``p(lam)`` (R, N) at ``lam`` (default the eigenvalues)."""
        c = self.chebyshev_coefficients(reg, order)
        return G.chebyshev_eval(c, self._lam if lam is None else lam, self.lmax)

    def _max_error(self, reg, order: int, c=None) -> torch.Tensor:
        c = self.chebyshev_coefficients(reg, order) if c is None else c
        return (G.chebyshev_eval(c, self._grid, self.lmax) - self.response(reg, self._grid)).abs().amax(-1)

    # ------------------------------------------------------------------ answers

    def _target(self, reg=None, order=_KEEP) -> dict:
        order = self.order if order is _KEEP else self._check_order(order)
        return dict(reg=self._scalar_reg(reg, self.reg), order=order)

    def _solve(self, target: dict) -> FilterStep:
        """One reg (and Chebyshev order) as tensors (:meth:`solve`; changes no setting).

        Costs the response on the n eigenvalues (and, for a Chebyshev order K, K + 1
        coefficients and the polynomial on the eigenvalues and the 4000 points of the error
        grid) and two products with the eigenvectors.
        """
        reg, order = target["reg"], target["order"]
        n = self.n
        with single_thread_if_small(2 * n * n, self.device):
            f = self.response(reg)[0]
            x_exact = self._V @ (f * self._beta)
            p = max_err = eig_err = None
            g = f
            if order is not None:
                c = self.chebyshev_coefficients(reg, order)
                p = G.chebyshev_eval(c, self._lam, self.lmax)[0]
                max_err = float(self._max_error(reg, order, c)[0])
                eig_err = float((p - f).abs().max())
                g = p
            x = x_exact if p is None else self._V @ (p * self._beta)
            res = torch.linalg.vector_norm(self._y - x)
            sol = ((g * self._beta) ** 2 * self._lam.clamp_min(0)).sum().sqrt()
            gcv = spectral.gcv(res**2, g.sum(), n)
            err = None if self._clean is None else torch.linalg.vector_norm(x - self._clean)
        return FilterStep(reg, order, x, x_exact, f, p, max_err, eig_err, res, sol, gcv, err)

    def update(self, reg=None, order=_KEEP) -> xr.Dataset:
        """The filtered signal and the filter's response for one ``reg`` (and order).

        ``order``: a Chebyshev order K, None for the exact filter, left out to keep the
        one in force. Returns ``estimate`` (the filtered signal, with the signal's dim
        and coords; ``exact`` too when a Chebyshev order is in force), ``response`` the
        exact ``h(lam_i)`` over ``mode`` (coordinate ``eigenvalue``), ``chebyshev`` the
        polynomial's ``p(lam_i)`` (Chebyshev only), and the scalars ``residual_norm``,
        ``solution_norm`` (``sqrt(x^T L x)``), ``gcv`` and, with the clean signal,
        ``error_norm``; attrs record ``reg``, ``method``, ``kind``, ``order`` ("exact" or
        K), ``lmax`` and, for a Chebyshev order, ``chebyshev_max_error`` (over
        ``[0, lmax]``) and ``chebyshev_eig_error`` (over the eigenvalues). Atomic: if it
        raises, nothing changes.
        """
        return super().update(reg, order)

    def to_dataset(self, st: FilterStep) -> xr.Dataset:
        """Label a :class:`FilterStep`."""
        sd = self.sample_dim
        data_vars = {
            "estimate": (sd, to_numpy(st.x).astype(float, copy=True)),
            "response": ("mode", to_numpy(st.response).astype(float, copy=True)),
            "residual_norm": ((), float(st.residual_norm)),
            "solution_norm": ((), float(st.solution_norm)),
            "gcv": ((), float(st.gcv)),
        }
        if st.chebyshev is not None:
            data_vars["exact"] = (sd, to_numpy(st.x_exact).astype(float, copy=True))
            data_vars["chebyshev"] = ("mode", to_numpy(st.chebyshev).astype(float, copy=True))
        if st.error_norm is not None:
            data_vars["error_norm"] = ((), float(st.error_norm))
        coords = {"mode": np.arange(self.n), "eigenvalue": ("mode", self.eigenvalues.copy()), **self._coords}
        ds = xr.Dataset(data_vars, coords=coords)
        ds["estimate"].attrs.update(self.attrs)
        ds["response"].attrs["long_name"] = "filter response h(lam; reg) at the Laplacian eigenvalues"
        ds.attrs.update(self._attrs(st.order), reg=st.reg)
        if st.order is not None:
            ds.attrs.update(chebyshev_max_error=st.max_error, chebyshev_eig_error=st.eig_error)
        return ds

    def _attrs(self, order) -> dict:
        out = dict(
            solution="estimate", method=spectral.method_name(self.method), kind=self.kind,
            order="exact" if order is None else int(order), lmax=self.lmax,
            device=str(self.device), dtype=dtype_name(self.dtype),
        )
        if self.method == "heat":
            out["note"] = "heat kernel exp(-t L) at time t = reg"
        if "order" in self.method_options:
            out["filter_order"] = self.method_options["order"]
        if self.k is not None:
            out["k"] = self.k
        if self.bandwidth is not None:
            out["bandwidth"] = self.bandwidth
        return out

    # ------------------------------------------------------------------ path

    def path_for(self, order=_KEEP) -> xr.Dataset:
        """The path over :attr:`reg_grid` for a Chebyshev order (None: exact; default the
        one in force), computed once per order and cached.

        A Dataset over ``reg`` with ``residual_norm``, ``solution_norm``, ``gcv``,
        ``loo``, ``curvature``, ``trace`` (the smoother's degrees of freedom) and, when
        known, ``error_norm``; for a Chebyshev order also ``max_error``. No estimates
        (use :meth:`update`). :func:`spectrakit.choose` works on it.
        """
        return super().path_for(order=order)

    def _path_key(self, target: dict):
        return target["order"]

    def _compute_path(self, target: dict) -> xr.Dataset:
        return self._path_at(target["order"])

    def _path_at(self, order) -> xr.Dataset:
        reg_arr = self.reg_grid
        reg_t = torch.as_tensor(reg_arr, dtype=self.dtype, device=self.device)
        n = self.n
        with single_thread_if_small(reg_arr.size * n * n, self.device):
            max_error = None
            if order is None:
                F = self.response(reg_arr)  # (R, n)
                method = self.method
            else:
                c = self.chebyshev_coefficients(reg_arr, order)
                F = G.chebyshev_eval(c, self._lam, self.lmax)
                max_error = self._max_error(reg_arr, order, c)
                method = "chebyshev"  # not the Tikhonov closed form: finite-difference curvature
            beta = self._beta[None, :]
            crit = spectral.spectral_criteria(
                self._s, beta, reg_t, F, m=n, outside_sq=beta.new_zeros(1), method=method,
            )
            trace = crit.pop("trace")
            # exact leave-one-out of the smoother H = V diag(h) V^T (A = I)
            e = ((1 - F) * self._beta[None, :]) @ self._V.T  # (R, n): y - H y
            crit["loo"] = spectral.leave_one_out(e, F @ self._lev.T)[None, :]  # H_ii = sum_j h_j V_ij^2
            if self._t is not None:
                diff = F * self._beta[None, :] - self._t[None, :]  # Parseval: V is orthonormal
                crit["error_norm"] = torch.linalg.vector_norm(diff, dim=-1)[None, :]
        data_vars = {name: ("reg", to_numpy(t.reshape(-1)).astype(float, copy=True))
                     for name, t in crit.items() if name != "discrepancy"}
        data_vars["trace"] = ("reg", to_numpy(trace).astype(float, copy=True))
        if max_error is not None:
            data_vars["max_error"] = ("reg", to_numpy(max_error).astype(float, copy=True))
        ds = xr.Dataset(data_vars, coords={"reg": reg_arr.copy()})
        ds["loo"].attrs["note"] = "exact leave-one-out of the linear smoother x = V diag(h) V^T y"
        ds.attrs.update(self._attrs(order))
        return ds

    def choices(self, order=_KEEP) -> dict[str, float]:
        """Each criterion's choice of reg on the grid: ``gcv``, ``loo``, ``lcurve`` and,
        with the clean signal, ``min_error`` (the best reg on the grid)."""
        return super().choices(order=order)

    def coefficients(self) -> xr.Dataset:
        """The graph Fourier coefficients over ``mode`` (coordinate ``eigenvalue``):
        ``signal`` ``V^T y`` and, when known, ``clean`` ``V^T clean`` (each eigenvector's
        sign follows the solver; their magnitudes are what a filter acts on)."""
        data_vars = {"signal": ("mode", to_numpy(self._beta).astype(float, copy=True))}
        if self._t is not None:
            data_vars["clean"] = ("mode", to_numpy(self._t).astype(float, copy=True))
        coords = {"mode": np.arange(self.n), "eigenvalue": ("mode", self.eigenvalues.copy())}
        return xr.Dataset(data_vars, coords=coords)

    def chebyshev_convergence(self, orders=(2, 5, 10, 15, 20, 30, 50), reg=None) -> xr.Dataset:
        """How the Chebyshev filter approaches the exact one as the order grows, at ``reg``
        (default the one in force): over ``order``, ``max_error`` ``max |p - h|`` on
        ``[0, lmax]``, ``eig_error`` over the eigenvalues and ``signal_error``
        ``||p(L) y - h(L) y|| / ||h(L) y||``."""
        reg = self.reg if reg is None else float(check_reg(reg)[0])
        orders = [self._check_order(o) for o in np.atleast_1d(orders)]
        f = self.response(reg)[0]
        exact = self._V @ (f * self._beta)
        scale = float(torch.linalg.vector_norm(exact)) or 1.0
        max_err, eig_err, sig_err = [], [], []
        for K in orders:
            c = self.chebyshev_coefficients(reg, K)
            p = G.chebyshev_eval(c, self._lam, self.lmax)[0]
            max_err.append(float(self._max_error(reg, K, c)[0]))
            eig_err.append(float((p - f).abs().max()))
            sig_err.append(float(torch.linalg.vector_norm(self._V @ (p * self._beta) - exact)) / scale)
        ds = xr.Dataset(
            {"max_error": ("order", max_err), "eig_error": ("order", eig_err), "signal_error": ("order", sig_err)},
            coords={"order": np.asarray(orders, dtype=np.int64)},
        )
        ds.attrs.update(self._attrs(None), reg=reg)
        ds.attrs.pop("order")
        return ds

    def __repr__(self) -> str:
        order = "exact" if self.order is None else self.order
        return (f"GraphFilterSession(n={self.n}, kind={self.kind!r}, method={spectral.method_name(self.method)!r}, "
                f"reg={self.reg:.3g}, order={order}, device={self.device})")
