"""Graph spectra of labelled data: ``graph``, ``laplacian``, ``graph_spectrum``,
``spectral_embedding``, ``eigengap``, ``spectral_clustering``, ``positional_encoding``,
``graph_filter`` and ``label_propagation``.

Every computation is :mod:`spectrakit.core.graphs`'s; this module converts inputs (numpy,
torch, xarray; adjacencies also scipy or torch sparse) through :mod:`spectrakit.xr._apply`
and labels the results. Conventions (stated once here, tested in tests/test_graphs_xr.py):

* **Points** are a (sample, feature) DataArray: ``sample_dim`` / ``feature_dim`` say which
  dim is which (default: the first dim holds the samples); a 1-D DataArray is one feature.
  numpy and torch points are (n, d) with the samples first, labelled ``node`` (or
  ``sample_dim``).
* **Adjacency and Laplacian** DataArrays have two dims: the sample dim and its second
  copy, named ``<sample>_`` (a trailing underscore: ``node, node_``; ``pixel, pixel_``).
  Every coordinate along the sample dim is carried on both, the second copy's names also
  suffixed (``label`` on ``node`` and ``label_`` on ``node_``), so
  ``W.sel(node=i, node_=j)`` is the weight ``W[i, j]`` and renaming ``node_ -> node``
  (and back) transposes. A given adjacency DataArray may use any two dims: its first is
  the sample dim (or ``sample_dim``); the result keeps its dims. Unlabelled adjacencies
  (numpy, torch dense or sparse, scipy sparse) get ``(node, node_)``.
* **Modes**: ``mode`` is the integer index of an eigenpair in ascending order (kept when
  modes are dropped: a positional encoding without the trivial mode starts at
  ``mode = 1``); the graph frequency (the Laplacian eigenvalue ``lam``) is the coordinate
  ``eigenvalue`` on it.
* **Filters** (:func:`graph_filter`, :func:`label_propagation`) follow DESIGN.md: the
  Laplacian eigenvalue enters :mod:`spectrakit.core.filtering`'s filters as ``s = 1/lam``,
  so Tikhonov is ``(I + reg L)^{-1}`` (``1/(1 + reg lam)``), heat ``exp(-reg L)``
  (``reg`` is the time), the ideal low-pass keeps ``lam <= 1/reg``. A scalar ``reg`` gives
  the same Dataset as a grid without the ``reg`` dim (``reg`` stays a scalar coordinate).
  ``method`` names the filter and ``kind`` the Laplacian, as in
  :func:`spectrakit.regularize`, the core functions and
  :class:`spectrakit.tuning.graphs.GraphFilterSession`.
* **attrs** record the graph's parameters, the Laplacian ``kind``, the eigensolver that
  ran (``solver`` in spectra, embeddings, clusterings, encodings and exact filters:
  ``dense``, ``shift_invert``, ``lanczos`` or ``lobpcg``, chosen from size, sparsity and
  device by :func:`spectrakit.core.graphs.graph_spectrum` unless given), ``device`` and
  ``dtype``.
* Results are numpy-backed (dense: an n-node adjacency or complete eigenbasis holds n**2
  numbers; sizes beyond memory raise :class:`MemoryError` with the estimate and the sparse
  alternative). Inputs are never modified, attrs included. Errors name the argument:
  NaN/inf, missing or wrong dims (listing the dims there are), negative ``reg``,
  negative or asymmetric weights.

>>> import numpy as np, xarray as xr
>>> from spectrakit.xr import graphs
>>> rng = np.random.default_rng(0)
>>> xy = np.concatenate([rng.normal(0, 0.2, (20, 2)), rng.normal(3, 0.2, (20, 2))])
>>> points = xr.DataArray(xy, dims=("city", "coord"), coords={"city": np.arange(40)})
>>> W = graphs.graph(points, k=8, device="cpu")
>>> W.dims
('city', 'city_')
>>> ds = graphs.spectral_clustering(W)
>>> ds.attrs["n_clusters"], ds["labels"].dims
(2, ('city',))
"""

from __future__ import annotations

import contextlib
import copy
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import xarray as xr

from ..core import spectral
from ..core import graphs as G
from ..core.checks import check_finite, check_int, check_memory, check_reg, itemsize
from ._apply import (
    apply_core,
    block_tensor,
    check_core_chunks,
    compute_settings,
    dtype_name,
    finish,
    is_dask,
    raw,
    settings_attrs,
    to_numpy,
    to_tensor,
)

__all__ = [
    "graph",
    "laplacian",
    "graph_spectrum",
    "spectral_embedding",
    "eigengap",
    "spectral_clustering",
    "positional_encoding",
    "graph_filter",
    "label_propagation",
]

#: the suffix of the second copy of the sample dim in (sample, sample_) matrices
SECOND_SUFFIX = "_"
#: the sample dim of unlabelled inputs
DEFAULT_SAMPLE_DIM = "node"
#: how :func:`graph` (and :func:`spectral_clustering` on points) builds a graph
GRAPH_KINDS = ("knn", "epsilon", "gaussian")
_EIGENSOLVERS = G.SOLVERS


def second_dim(dim: str) -> str:
    """The name of the second copy of the sample dim ``dim`` in an adjacency or Laplacian.

    >>> second_dim("node")
    'node_'
    """
    return f"{dim}{SECOND_SUFFIX}"


# ----------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class _Nodes:
    """The sample dim and the coordinates that lie along it (or are scalar)."""

    dim: str
    coords: xr.Coordinates | None = None

    def dataset(self) -> xr.Dataset:
        """The coords as a Dataset without data variables (a new object each call)."""
        return xr.Dataset() if self.coords is None else self.coords.to_dataset()

    def second(self) -> xr.Dataset:
        """The same coords on the second copy of the dim, names suffixed."""
        ds = self.dataset()
        on_dim = {k: second_dim(k) for k, v in ds.variables.items() if v.dims == (self.dim,)}
        on_dim[self.dim] = second_dim(self.dim)
        keep = [k for k, v in ds.variables.items() if v.dims == (self.dim,)]
        return ds[keep].rename(on_dim) if keep else xr.Dataset()


def _node_coords(obj: xr.DataArray, dim: str) -> xr.Coordinates:
    """The coords of ``obj`` along ``dim`` alone, and its scalar coords (indexes kept whole)."""
    ds = obj.coords.to_dataset()
    drop = [k for k, v in ds.variables.items() if not set(v.dims) <= {dim}]
    return ds.drop_vars(drop).coords


def _clean_attrs(attrs: dict) -> dict:
    """attrs as netCDF can store them: None dropped, bools as ints."""
    out = {}
    for k, v in attrs.items():
        if v is None:
            continue
        out[k] = int(v) if isinstance(v, (bool, np.bool_)) else v
    return out


@contextlib.contextmanager
def _argument(name: str, core_name: str = "W"):
    """Errors from core that name its argument (``W``) re-raised naming the caller's."""
    try:
        yield
    except (ValueError, TypeError, MemoryError) as exc:
        msg = str(exc)
        if re.match(rf"{re.escape(core_name)}\b", msg):
            raise type(exc)(name + msg[len(core_name):]) from None
        raise


def _is_sparse(value) -> bool:
    return sp.issparse(value) or (isinstance(value, torch.Tensor) and value.layout != torch.strided)


def _check_dense_result(n: int, copies: float, device, dtype, *, name: str, what: str, alternative: str) -> None:
    """A dense n x n result fits on the device and, as numpy, in the host's memory."""
    nbytes = copies * n * n * itemsize(dtype)
    check_memory(nbytes, device, name=name, what=what, alternative=alternative)
    if torch.device(device).type != "cpu":
        check_memory(n * n * itemsize(dtype), "cpu", name=name, what=f"{what} (its numpy copy)",
                     alternative=alternative)


_SPARSE_ALTERNATIVE = (
    "Cluster or embed the points directly (spectral_clustering(points, ...) builds a sparse kNN "
    "graph internally), or build a sparse adjacency with spectrakit.core.graphs.knn_graph(X, k, "
    "sparse=True) and pass it (torch or scipy sparse) to graph_spectrum, spectral_clustering, "
    "graph_filter(..., order=K) or label_propagation(..., method='cg')."
)


# ----------------------------------------------------------------------------- inputs


def _points(points, sample_dim, feature_dim, device, dtype):
    """Points as an (n, d) tensor on the device and their sample dim's labels."""
    if isinstance(points, xr.Dataset):
        raise TypeError(
            "points must be a (sample, feature) DataArray, numpy array or tensor; got a Dataset. "
            "Pick one variable, or stack the variables into features: ds.to_dataarray('feature')."
        )
    if _is_sparse(points):
        raise TypeError("points is a sparse matrix: an adjacency is not points; use it as the adjacency "
                        "(spectral_clustering(..., graph='precomputed')).")
    if isinstance(points, xr.DataArray):
        dims = tuple(points.dims)
        for arg, d in (("sample_dim", sample_dim), ("feature_dim", feature_dim)):
            if d is not None and d not in dims:
                raise ValueError(f"{arg}={d!r} is not a dim of points; its dims are {dims}.")
        if points.ndim == 1:
            if feature_dim is not None:
                raise ValueError(f"feature_dim={feature_dim!r}: points has one dim {dims}, the samples (one feature).")
            sd = dims[0]
            data = points.data
        elif points.ndim == 2:
            if sample_dim is not None and sample_dim == feature_dim:
                raise ValueError(f"sample_dim and feature_dim must differ; both are {sample_dim!r}.")
            if sample_dim is not None:
                sd = sample_dim
            elif feature_dim is not None:
                sd = dims[1] if dims[0] == feature_dim else dims[0]
            else:
                sd = dims[0]
            fd = dims[1] if dims[0] == sd else dims[0]
            data = points.transpose(sd, fd).data
        else:
            raise ValueError(
                f"points must have 2 dims (sample, feature); it has {dims}. Stack the feature dims into "
                f"one first, e.g. points.stack(feature={list(dims[1:])!r}), and say which is the sample dim "
                "with sample_dim=."
            )
        nodes = _Nodes(sd, _node_coords(points, sd))
    else:
        data = raw(points)
        nodes = _Nodes(sample_dim or DEFAULT_SAMPLE_DIM)
    dev, dt = compute_settings(device, dtype, data)
    X = to_tensor(data, "points", dev, dt)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"points must be (n samples, d features); got shape {tuple(X.shape)}.")
    if X.shape[0] < 2:
        raise ValueError(f"points needs at least 2 samples; got {X.shape[0]}.")
    return X, nodes


def _matrix_dims(value, name: str, sample_dim):
    """(data with the sample dim first, its dims, nodes) of an n x n matrix input."""
    if isinstance(value, xr.Dataset):
        raise TypeError(f"{name} must be a (sample, sample) DataArray, array, tensor or sparse matrix; got a Dataset.")
    if isinstance(value, xr.DataArray):
        dims = tuple(value.dims)
        if value.ndim != 2:
            raise ValueError(f"{name} must have 2 dims (sample, sample); it has {dims}.")
        if sample_dim is not None and sample_dim not in dims:
            raise ValueError(f"sample_dim={sample_dim!r} is not a dim of {name}; its dims are {dims}.")
        sd = sample_dim or dims[0]
        other = dims[1] if dims[0] == sd else dims[0]
        if value.sizes[sd] != value.sizes[other]:
            raise ValueError(
                f"{name} must be square: dim {dims[0]!r} has {value.sizes[dims[0]]} entries and "
                f"{dims[1]!r} has {value.sizes[dims[1]]}."
            )
        return value.transpose(sd, other).data, (sd, other), _Nodes(sd, _node_coords(value, sd))
    sd = sample_dim or DEFAULT_SAMPLE_DIM
    return raw(value), (sd, second_dim(sd)), _Nodes(sd)


def _adjacency(value, sample_dim, device, dtype, *, directed=False, name="adjacency"):
    """A checked adjacency tensor (dense or torch sparse), its dims and its nodes."""
    data, dims, nodes = _matrix_dims(value, name, sample_dim)
    dev, dt = compute_settings(device, dtype, data)
    if not _is_sparse(data):
        arr = data
        if not isinstance(arr, torch.Tensor):
            arr = np.asarray(arr)
            if arr.dtype == bool:
                arr = arr.astype(float)
        elif arr.dtype == torch.bool:
            arr = arr.to(dt)
        data = to_tensor(arr, name, dev, dt)  # names NaN/inf and complex values
    with _argument(name):
        try:
            A = G.adjacency(data, directed=directed, device=dev, dtype=dt)
        except ValueError as exc:
            if "negative weights" in str(exc):
                raise ValueError(
                    f"{exc} If this is a Laplacian, not an adjacency, decompose it as given with "
                    "graph_spectrum(..., kind='custom')."
                ) from None
            raise
    if A.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 nodes; got {A.shape[0]}.")
    return A, dims, nodes


def _matrix_tensor(data, name: str, device, dtype) -> torch.Tensor:
    """A real or complex (Hermitian) matrix, dense or sparse, as a finite tensor for laplacian_eigh."""
    if sp.issparse(data):
        coo = sp.coo_array(data)
        idx = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64))
        t = torch.sparse_coo_tensor(idx, torch.as_tensor(coo.data), coo.shape, check_invariants=False).coalesce()
    elif isinstance(data, torch.Tensor):
        t = data.detach()
        if t.layout != torch.strided:
            t = (t if t.layout == torch.sparse_coo else t.to_sparse_coo()).coalesce()
    else:
        arr = np.asarray(data)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must hold numbers; got dtype {arr.dtype}.")
        t = torch.as_tensor(np.ascontiguousarray(arr))
    check_finite(t.values() if t.is_sparse else t, name)
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return t.to(device=device, dtype=complex_dtype if t.is_complex() else dtype)


def _check_kind(kind, q) -> None:
    """The Laplacian kind is known and q is given only with a magnetic kind."""
    if kind not in G.LAPLACIANS:
        raise ValueError(f"kind={kind!r} is unknown; choose one of {list(G.LAPLACIANS)}.")
    if q is not None and not kind.startswith("magnetic"):
        raise ValueError(f"q (the magnetic charge) only applies to the magnetic kinds; got q={q!r} with kind={kind!r}.")


# ----------------------------------------------------------------------------- graphs


def _graph_params(kind, k, radius, bandwidth, weights, symmetrize, include_self) -> dict:
    """The checked parameters of a graph built from points (None: not applicable)."""
    if kind not in GRAPH_KINDS:
        raise ValueError(f"kind={kind!r} is unknown for a graph of points; choose one of {list(GRAPH_KINDS)}.")
    given = {"k": k, "radius": radius, "symmetrize": symmetrize, "include_self": include_self, "weights": weights}
    applies = {
        "knn": {"k", "symmetrize", "include_self", "weights"},
        "epsilon": {"radius", "weights"},
        "gaussian": set(),
    }[kind]
    for arg, v in given.items():
        if v is not None and arg not in applies:
            where = [g for g, a in (("knn", "k symmetrize include_self weights"), ("epsilon", "radius weights"))
                     if arg in a.split()]
            raise ValueError(f"{arg} applies to kind={' or '.join(map(repr, where))}, not kind={kind!r}.")
    p = {"kind": kind}
    if kind == "knn":
        p.update(k=10 if k is None else k, symmetrize=symmetrize or "max", include_self=bool(include_self),
                 weights=weights or "connectivity")
    elif kind == "epsilon":
        if radius is None:
            raise ValueError("radius is required with kind='epsilon' (the distance within which points are linked).")
        p.update(radius=radius, weights=weights or "connectivity")
    else:
        if bandwidth is None:
            raise ValueError(
                "bandwidth is required with kind='gaussian': the length scale sigma of "
                "exp(-d^2 / (2 sigma^2)) (scikit-learn's gamma = 1 / (2 sigma^2)), e.g. a typical "
                "distance to the 7th nearest neighbour."
            )
    if bandwidth is not None:
        if kind != "gaussian" and p.get("weights") != "gaussian":
            raise ValueError(f"bandwidth applies to kind='gaussian' or weights='gaussian'; got kind={kind!r}, "
                             f"weights={p.get('weights')!r}.")
        p["bandwidth"] = bandwidth
    return p


def _build(X: torch.Tensor, p: dict, *, sparse: bool) -> torch.Tensor:
    """The core graph of points X for the parameters p."""
    with _argument("points", "X"):
        if p["kind"] == "knn":
            return G.knn_graph(X, p["k"], weights=p["weights"], bandwidth=p.get("bandwidth"),
                               symmetrize=p["symmetrize"], include_self=p["include_self"], sparse=sparse)
        if p["kind"] == "epsilon":
            with _argument("radius", "eps"):
                return G.epsilon_graph(X, p["radius"], weights=p["weights"], bandwidth=p.get("bandwidth"),
                                       sparse=sparse)
        return G.gaussian_affinity(X, p["bandwidth"])


def _graph_attrs(p: dict) -> dict:
    out = {("graph" if k == "kind" else k): v for k, v in p.items()}
    return out


def _matrix_array(t: torch.Tensor, dims, nodes: _Nodes, attrs: dict, *, name: str) -> xr.DataArray:
    """An n x n tensor as a DataArray over ``dims`` with the nodes' coords on both dims."""
    dense = t.to_dense() if t.is_sparse else t
    da = xr.DataArray(to_numpy(dense), dims=dims, name=name)
    first = nodes.dataset()
    da = da.assign_coords(first.coords)
    if dims[1] == second_dim(dims[0]):
        da = da.assign_coords(nodes.second().coords)
    da.attrs.update(_clean_attrs(attrs))
    return da


def graph(
    points,
    *,
    kind: str = "knn",
    k: int | None = None,
    radius: float | None = None,
    bandwidth: float | None = None,
    weights: str | None = None,
    symmetrize: str | None = None,
    include_self: bool | None = None,
    sample_dim: str | None = None,
    feature_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.DataArray:
    """The graph (weighted adjacency) of labelled points.

    Parameters
    ----------
    points : DataArray (sample, feature), or (n, d) numpy array or torch tensor
        One row per sample; distances are Euclidean over the feature dim. A 1-D
        DataArray is one feature. NaN/inf are refused.
    kind : {"knn", "epsilon", "gaussian"}
        * ``"knn"``: each sample linked to its ``k`` (default 10) nearest others, made
          undirected by ``symmetrize``: ``"max"`` (default: an edge when either is among
          the other's neighbours), ``"mean"`` (``(A + A^T)/2``, scikit-learn's
          ``SpectralClustering(affinity="nearest_neighbors")`` with ``include_self=True``)
          or ``"mutual"``;
        * ``"epsilon"``: all pairs at distance ``<= radius``;
        * ``"gaussian"``: the dense affinity ``exp(-d^2 / (2 bandwidth^2))`` (scikit-learn's
          ``rbf_kernel`` with ``gamma = 1/(2 bandwidth^2)``), zero diagonal.
    weights : {"connectivity", "distance", "gaussian"}, optional
        Edge weights of the knn and epsilon graphs (default 1); ``"gaussian"`` uses
        ``bandwidth`` (default: the median neighbour distance for knn, ``radius / 2``
        for epsilon).
    sample_dim, feature_dim : str, optional
        Which dim of a DataArray holds the samples (default: the first) or the features;
        for numpy/torch points, ``sample_dim`` names the samples (default ``"node"``).
    device, dtype : optional
        Where and in which precision to compute (see :func:`spectrakit.set_options`).

    Returns
    -------
    xarray.DataArray
        The symmetric adjacency ``W`` (``W[i, j] >= 0``, zero diagonal unless
        ``include_self``) over ``(sample, sample_)``: the sample dim and its second copy
        (module docstring), the samples' coords on both; attrs ``graph`` (the kind),
        its parameters, ``matrix="adjacency"``, ``device``, ``dtype``. Dense: n samples
        need ``8 n^2`` bytes in float64, checked before allocating (the error gives the
        sparse alternative).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.xr.graphs import graph
    >>> pts = xr.DataArray([[0.0], [1.0], [3.0]], dims=("town", "km"), coords={"town": ["a", "b", "c"]})
    >>> W = graph(pts, k=1, device="cpu")
    >>> W.dims, W.values.tolist()
    (('town', 'town_'), [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    >>> float(W.sel(town="b", town_="c")), W.attrs["graph"], W.attrs["k"]
    (1.0, 'knn', 1)
    """
    p = _graph_params(kind, k, radius, bandwidth, weights, symmetrize, include_self)
    X, nodes = _points(points, sample_dim, feature_dim, device, dtype)
    n = X.shape[0]
    _check_dense_result(n, 2 if kind == "gaussian" else 1, X.device, X.dtype, name="points",
                        what=f"a dense {n} x {n} adjacency in {X.dtype}", alternative=_SPARSE_ALTERNATIVE)
    W = _build(X, p, sparse=False)
    attrs = {**_graph_attrs(p), "matrix": "adjacency", "long_name": "edge weight",
             **settings_attrs(W.device, W.dtype)}
    return _matrix_array(W, (nodes.dim, second_dim(nodes.dim)), nodes, attrs, name="adjacency")


def laplacian(
    adjacency,
    kind: str | None = None,
    *,
    q: float | None = None,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.DataArray:
    """A graph Laplacian of an adjacency, labelled like it.

    ======================== ====================================================
    ``combinatorial``        ``L = D - W`` (default; scipy's ``csgraph.laplacian``)
    ``symmetric``            ``L = I - D^{-1/2} W D^{-1/2}`` (scipy's ``normed=True``)
    ``random_walk``          ``L = I - D^{-1} W`` (not symmetric)
    ``magnetic``             ``D_s - W_s * exp(i Theta)``, complex Hermitian, charge ``q``
    ``magnetic_normalized``  ``I - D_s^{-1/2} (W_s * exp(i Theta)) D_s^{-1/2}``
    ======================== ====================================================

    ``D`` holds the degrees ``d_i = sum_{j != i} W[i, j]`` (self-loops ignored). Passing
    ``q`` without a ``kind`` gives the magnetic Laplacian of the directed graph ``W``
    (:func:`spectrakit.core.graphs.magnetic_laplacian`: ``W_s = (W + W^T)/2``, phases
    ``Theta = 2 pi q (W - W^T)``); at ``q = 0`` it is the combinatorial Laplacian of
    ``W_s``.

    Parameters
    ----------
    adjacency : (sample, sample_) DataArray, array, tensor, torch or scipy sparse matrix
        Finite weights ``>= 0``; symmetric unless the kind is magnetic.
    kind : str, optional
        One of the above; default ``"combinatorial"``, or ``"magnetic"`` when ``q`` is given.
    q : float, optional
        The magnetic charge (magnetic kinds only; default 0.25 for them).
    sample_dim : str, optional
        The sample dim of a DataArray (default its first) or the name for an unlabelled input.

    Returns
    -------
    xarray.DataArray
        Dense, with the adjacency's dims and coords (complex for the magnetic kinds);
        attrs ``kind``, ``q``, ``matrix="laplacian"``, ``device``, ``dtype``.
        :func:`graph_spectrum` recognizes it and decomposes it as given.

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.xr.graphs import laplacian
    >>> L = laplacian(np.array([[0.0, 2.0], [2.0, 0.0]]), device="cpu")
    >>> L.dims, L.values.tolist(), L.attrs["kind"]
    (('node', 'node_'), [[2.0, -2.0], [-2.0, 2.0]], 'combinatorial')
    >>> Lm = laplacian(np.array([[0.0, 1.0], [0.0, 0.0]]), q=0.25, device="cpu")  # 0 -> 1
    >>> Lm.attrs["kind"], float(Lm.values.imag[0, 1]), bool(np.allclose(Lm.values, Lm.values.conj().T))
    ('magnetic', -0.5, True)
    """
    if kind is None:
        kind = "combinatorial" if q is None else "magnetic"
    _check_kind(kind, q)  # the kind and q checked before any work
    magnetic = kind.startswith("magnetic")
    A, dims, nodes = _adjacency(adjacency, sample_dim, device, dtype, directed=magnetic)
    n = A.shape[0]
    _check_dense_result(n, 2 if magnetic else 1, A.device, A.dtype, name="adjacency",
                        what=f"a dense {n} x {n} Laplacian", alternative=(
                            "Use spectrakit.core.graphs.laplacian on a sparse adjacency (it returns a torch "
                            "sparse tensor), or graph_spectrum / graph_filter(..., order=K), which need no "
                            "dense Laplacian."))
    with _argument("adjacency"):
        L = G.laplacian(A, kind, q=q)
    attrs = {"kind": kind, "q": (0.25 if q is None else float(q)) if magnetic else None, "matrix": "laplacian",
             "long_name": f"graph Laplacian ({kind})", **settings_attrs(A.device, A.dtype)}
    return _matrix_array(L, dims, nodes, attrs, name="laplacian")


# ----------------------------------------------------------------------------- spectra


def _check_n_eigs(n_eigs, n: int, name: str = "n_eigs", offset: int = 0):
    if n_eigs is None:
        return None
    n_eigs = check_int(n_eigs, name, 1)
    if n_eigs + offset > n:
        extra = f" (plus {offset} dropped)" if offset else ""
        raise ValueError(f"{name} must be <= {n - offset}: the graph has {n} nodes{extra}; got {n_eigs}.")
    return n_eigs


def _mode_coords(values: torch.Tensor, start: int = 0) -> dict:
    lam = to_numpy(values).astype(float, copy=True)
    return {"mode": np.arange(start, start + lam.shape[0]), "eigenvalue": ("mode", lam)}


def _spectrum_dataset(spec: G.GraphSpectrum, nodes: _Nodes, attrs: dict) -> xr.Dataset:
    sd = nodes.dim
    lam = to_numpy(spec.values).astype(float, copy=True)
    ds = xr.Dataset(
        {"eigenvalues": ("mode", lam), "eigenvectors": ((sd, "mode"), to_numpy(spec.vectors).copy())},
        coords=nodes.dataset().coords,
    ).assign_coords(_mode_coords(spec.values))
    if spec.degrees is not None:
        ds["degree"] = (sd, to_numpy(spec.degrees).copy())
        ds["degree"].attrs["long_name"] = "degree d_i (eigenvectors are orthonormal in sum_i d_i u_i v_i)"
    ds["eigenvalues"].attrs["long_name"] = f"Laplacian eigenvalue (graph frequency), {spec.kind}"
    ds["eigenvectors"].attrs["long_name"] = "Laplacian eigenvectors (columns; sign convention of fix_signs)"
    ds["eigenvalue"].attrs["long_name"] = "graph frequency: the Laplacian eigenvalue of the mode"
    ds.attrs.update(_clean_attrs({
        "kind": spec.kind, "solver": spec.solver, "n_eigs": spec.k, "complete": spec.complete,
        "n_components": spec.n_components, **attrs,
    }))
    return ds


def graph_spectrum(
    adjacency,
    n_eigs: int | None = None,
    *,
    kind: str | None = None,
    q: float | None = None,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    max_iter: int | None = None,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.Dataset:
    """The lowest ``n_eigs`` eigenpairs (default all) of a graph's Laplacian.

    Parameters
    ----------
    adjacency : (sample, sample_) DataArray, array, tensor, torch or scipy sparse matrix
        The graph; or a Laplacian made by :func:`laplacian` (recognized by its attrs) or,
        with ``kind="custom"``, any symmetric/Hermitian positive semi-definite matrix,
        decomposed as given.
    n_eigs : int, optional
        How many of the lowest eigenpairs; None: all (dense solver).
    kind : str, optional
        The Laplacian (:data:`spectrakit.core.graphs.LAPLACIANS`; default ``"symmetric"``,
        or the kind of a Laplacian input), or ``"custom"`` for a matrix to decompose as
        given. ``random_walk`` is solved through the symmetric Laplacian (its eigenvectors
        ``D^{-1/2} u`` are orthonormal in the degree inner product; ``degree`` is added).
    q : float, optional
        The magnetic charge (magnetic kinds).
    solver : {"auto", "dense", "shift_invert", "lanczos", "lobpcg"}
        The eigensolver. ``"auto"`` picks from the size, sparsity and device (dense for all
        pairs, n <= 256 or n_eigs >= n/2, and on a GPU up to n = 10,000; shift-invert
        ARPACK for sparse graphs on the CPU; Lanczos for large dense ones) and the
        result's ``solver`` attr says which ran.
    tol, seed, max_iter
        The sparse solvers' tolerance (default machine precision), start-vector seed and
        iteration limit.
    sample_dim, device, dtype
        As in :func:`laplacian`.

    Returns
    -------
    xarray.Dataset
        ``eigenvalues`` over ``mode`` (ascending; also the coordinate ``eigenvalue``, the
        graph frequency), ``eigenvectors`` over ``(sample, mode)`` with the sample coords
        (complex for magnetic kinds); attrs ``kind``, ``solver`` (the eigensolver that ran),
        ``n_eigs``, ``complete``, ``n_components`` (connected components, where the
        sparse solvers found them), ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.xr.graphs import graph_spectrum
    >>> W = xr.DataArray(np.ones((3, 3)) - np.eye(3), dims=("v", "v_"))  # a triangle
    >>> spec = graph_spectrum(W, kind="combinatorial", device="cpu")
    >>> (spec["eigenvalues"].values.round(8) + 0.0).tolist(), spec["eigenvectors"].dims, spec.attrs["solver"]
    ([0.0, 3.0, 3.0], ('v', 'mode'), 'dense')
    """
    if solver not in _EIGENSOLVERS:
        raise ValueError(f"solver={solver!r} is unknown; choose one of {list(_EIGENSOLVERS)}.")
    given_laplacian = isinstance(adjacency, xr.DataArray) and adjacency.attrs.get("matrix") == "laplacian"
    if given_laplacian:
        own = adjacency.attrs.get("kind", "custom")
        if kind is not None and kind not in (own, "custom"):
            raise ValueError(
                f"kind={kind!r}, but adjacency is a {own!r} Laplacian (its attrs say so): leave kind out "
                "to decompose it, or pass the adjacency instead."
            )
        if own == "random_walk":
            raise ValueError("adjacency is a random-walk Laplacian (not symmetric): pass the adjacency with "
                             "kind='random_walk', which is solved through the symmetric Laplacian.")
        kind = own
    if kind is None:
        kind = "symmetric"
    if given_laplacian or kind == "custom":
        if q is not None:
            raise ValueError("q applies when the Laplacian is built here (an adjacency and a magnetic kind).")
        data, dims, nodes = _matrix_dims(adjacency, "adjacency", sample_dim)
        dev, dt = compute_settings(device, dtype, data)
        L = _matrix_tensor(data, "adjacency", dev, dt)
        n = L.shape[0]
        n_eigs = _check_n_eigs(n_eigs, n)
        with _argument("adjacency", "L"):
            spec = G.laplacian_eigh(L, n_eigs, solver=solver, tol=tol, seed=seed, max_iter=max_iter)
        spec = G.GraphSpectrum(spec.values, spec.vectors, kind, spec.solver)
        extra = {"q": adjacency.attrs.get("q")} if given_laplacian else {}
        return _spectrum_dataset(spec, nodes, {**extra, **settings_attrs(L.device, dt)})
    _check_kind(kind, q)
    magnetic = kind.startswith("magnetic")
    A, _dims, nodes = _adjacency(adjacency, sample_dim, device, dtype, directed=magnetic)
    n_eigs = _check_n_eigs(n_eigs, A.shape[0])
    with _argument("adjacency"):
        spec = G.graph_spectrum(A, n_eigs, kind=kind, q=q, solver=solver, tol=tol, seed=seed, max_iter=max_iter)
    qq = (0.25 if q is None else float(q)) if magnetic else None
    return _spectrum_dataset(spec, nodes, {"q": qq, **settings_attrs(A.device, A.dtype)})


def spectral_embedding(
    adjacency,
    n_eigs: int,
    *,
    kind: str = "symmetric",
    normalize_rows: bool = False,
    drop_first: bool = False,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.Dataset:
    """Sample coordinates from the ``n_eigs`` lowest Laplacian eigenvectors.

    ``kind="symmetric"`` with ``normalize_rows=True`` is the Ng-Jordan-Weiss embedding,
    ``"random_walk"`` the Shi-Malik one (``D^{-1/2} u``; scikit-learn's
    ``spectral_embedding`` up to the columns' scaling), ``"combinatorial"`` the
    unnormalized one. ``drop_first`` drops the first (trivial) eigenvector. Signs follow
    :func:`spectrakit.core.graphs.fix_signs` (largest-magnitude entry positive); a
    repeated eigenvalue leaves the basis of its eigenspace arbitrary (see
    :func:`positional_encoding`).

    Returns
    -------
    xarray.Dataset
        ``embedding`` over ``(sample, mode)`` with the sample coords, ``eigenvalues`` over
        ``mode`` (coordinate ``eigenvalue``; ``mode`` starts at 1 with ``drop_first``);
        attrs ``kind``, ``solver`` (the eigensolver), ``normalize_rows``, ``drop_first``,
        ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.xr.graphs import spectral_embedding
    >>> W = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)  # two disjoint triangles
    >>> emb = spectral_embedding(W, 2, device="cpu")
    >>> emb["embedding"].dims, (emb["eigenvalues"].values.round(8) + 0.0).tolist()
    (('node', 'mode'), [0.0, 0.0])
    """
    A, _dims, nodes = _adjacency(adjacency, sample_dim, device, dtype)
    n_eigs = _check_n_eigs(n_eigs, A.shape[0], offset=int(bool(drop_first)))
    with _argument("adjacency"):
        res = G.spectral_embedding(A, n_eigs, kind=kind, normalize_rows=normalize_rows, drop_first=drop_first,
                                   solver=solver, tol=tol, seed=seed)
    first = int(bool(drop_first))
    lam = res.spectrum.values[first:first + n_eigs]
    ds = xr.Dataset(
        {"embedding": ((nodes.dim, "mode"), to_numpy(res.embedding).copy()),
         "eigenvalues": ("mode", to_numpy(lam).astype(float, copy=True))},
        coords=nodes.dataset().coords,
    ).assign_coords(_mode_coords(lam, first))
    ds["embedding"].attrs["long_name"] = "spectral embedding (Laplacian eigenvectors, signs fixed)"
    ds.attrs.update(_clean_attrs({
        "kind": kind, "solver": res.spectrum.solver, "normalize_rows": bool(normalize_rows),
        "drop_first": bool(drop_first), **settings_attrs(A.device, A.dtype),
    }))
    return ds


def _eigenvalue_input(eigenvalues):
    """(values tensor, dim, coords Dataset) of eigenvalues given in any form."""
    if isinstance(eigenvalues, xr.Dataset):
        if "eigenvalues" not in eigenvalues:
            raise ValueError(
                "eigenvalues is a Dataset without an 'eigenvalues' variable; its variables are "
                f"{list(eigenvalues.data_vars)}. Pass graph_spectrum's result or the eigenvalues themselves."
            )
        eigenvalues = eigenvalues["eigenvalues"]
    if isinstance(eigenvalues, xr.DataArray):
        if eigenvalues.ndim != 1:
            raise ValueError(f"eigenvalues must have one dim (mode); it has {tuple(eigenvalues.dims)}.")
        dim = eigenvalues.dims[0]
        coords = _node_coords(eigenvalues, dim).to_dataset()
        data = eigenvalues.data
    else:
        data, dim, coords = raw(eigenvalues), "mode", None
    if isinstance(data, torch.Tensor) and data.is_complex() or np.iscomplexobj(data):
        raise TypeError("eigenvalues must be real (Laplacian eigenvalues are).")
    t = to_tensor(data, "eigenvalues", torch.device("cpu"), torch.float64)
    if t.ndim != 1 or t.shape[0] < 2:
        raise ValueError(f"eigenvalues must be 1-D with at least 2 values; got shape {tuple(t.shape)}.")
    return t, dim, coords


def eigengap(eigenvalues, max_clusters: int | None = None) -> xr.Dataset:
    """The eigengap heuristic: the number of clusters ``k`` (1-based) that maximizes
    ``lam_{k+1} - lam_k`` over ``k <= max_clusters`` (von Luxburg 2007).

    Parameters
    ----------
    eigenvalues : Dataset from :func:`graph_spectrum` (or :func:`spectral_clustering`),
        a 1-D DataArray, array or tensor of eigenvalues in ascending order.
    max_clusters : int, optional
        The largest ``k`` considered (default: all but the last eigenvalue).

    Returns
    -------
    xarray.Dataset
        ``eigenvalues`` and ``gap`` (``gap[i] = lam[i+1] - lam[i]``, NaN for the last)
        over the input's dim (``mode``) and coords; attrs ``n_clusters`` (the choice) and
        ``max_clusters``.

    Examples
    --------
    >>> from spectrakit.xr.graphs import eigengap
    >>> eg = eigengap([0.0, 0.01, 0.02, 0.9, 1.0])
    >>> eg.attrs["n_clusters"], eg["gap"].values.round(2).tolist()
    (3, [0.01, 0.01, 0.88, 0.1, nan])
    """
    t, dim, coords = _eigenvalue_input(eigenvalues)
    with _argument("eigenvalues", "values"):
        res = G.eigengap(t, max_clusters)
    m = t.shape[0]
    gap = np.full(m, np.nan)
    gap[:-1] = to_numpy(res.gaps)
    ds = xr.Dataset({"eigenvalues": (dim, to_numpy(t).copy()), "gap": (dim, gap)})
    if coords is not None:
        ds = ds.assign_coords(coords.coords)
    else:
        ds = ds.assign_coords(mode=np.arange(m))
    ds["gap"].attrs["long_name"] = "eigengap lam[i+1] - lam[i]"
    ds.attrs.update(n_clusters=int(res.n_clusters), max_clusters=m - 1 if max_clusters is None else int(max_clusters))
    return ds


def _first_appearance(labels: np.ndarray) -> np.ndarray:
    """Cluster labels renumbered 0, 1, ... in order of first appearance (deterministic)."""
    uniq, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(uniq.shape[0], dtype=np.int64)
    rank[np.argsort(first)] = np.arange(uniq.shape[0])
    return rank[inverse.reshape(-1)]


def _looks_like_adjacency(data) -> bool:
    if _is_sparse(raw(data)):
        return True
    if isinstance(data, xr.DataArray) and data.ndim == 2:
        d0, d1 = data.dims
        return d1 == second_dim(d0) or data.attrs.get("matrix") == "adjacency"
    return False


def _looks_like_dense_adjacency(data) -> bool:
    """A plain (unlabelled, dense) square, symmetric, non-negative matrix with a zero
    diagonal: more likely an adjacency than points."""
    if isinstance(data, (xr.DataArray, xr.Dataset)) or _is_sparse(data):
        return False
    try:
        M = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
    except (TypeError, ValueError, RuntimeError):
        return False
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2 or M.dtype.kind not in "iuf":
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.diagonal(M) == 0) and np.all(M >= 0) and np.array_equal(M, M.T)
                    and np.any(M > 0))


def spectral_clustering(
    data,
    n_clusters: int | None = None,
    *,
    graph: str | None = None,
    k: int | None = None,
    radius: float | None = None,
    bandwidth: float | None = None,
    weights: str | None = None,
    symmetrize: str | None = None,
    include_self: bool | None = None,
    kind: str = "symmetric",
    normalize_rows: bool = True,
    max_clusters: int = 10,
    n_init: int = 10,
    max_iter: int = 300,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    sample_dim: str | None = None,
    feature_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.Dataset:
    """Spectral clustering of labelled points or of a graph (Ng, Jordan and Weiss 2002).

    1. the graph: ``data`` itself (an adjacency) or, for points, a sparse kNN (or
       epsilon, or dense Gaussian) graph built as :func:`graph` builds it;
    2. the ``n_clusters`` lowest eigenvectors of ``L_sym = I - D^{-1/2} W D^{-1/2}``
       (solver chosen from size, sparsity and device; recorded in ``solver``);
    3. rows scaled to unit length (``normalize_rows``), then seeded k-means++ k-means
       with ``n_init`` starts (:func:`spectrakit.core.graphs.kmeans`).

    Parameters
    ----------
    data : points (sample, feature) or an adjacency (sample, sample_)
        DataArray, array, tensor, or torch/scipy sparse adjacency.
    n_clusters : int, optional
        None: chosen by the eigengap heuristic among ``1..max_clusters``
        (:func:`eigengap`), from ``max_clusters + 1`` eigenvalues.
    graph : {None, "knn", "epsilon", "gaussian", "precomputed"}
        How ``data`` is a graph. None: ``"precomputed"`` for sparse matrices and
        DataArrays with the adjacency dims ``(d, d_)`` (or ``graph``'s attrs), else
        ``"knn"``; pass ``"precomputed"`` for a dense numpy/torch adjacency (None warns
        when a plain square matrix looks like one: symmetric, non-negative, zero
        diagonal).
    k, radius, bandwidth, weights, symmetrize, include_self
        The graph's parameters (:func:`graph`); knn and epsilon graphs are built sparse.
        scikit-learn's ``SpectralClustering(affinity="nearest_neighbors", n_neighbors)``
        graph is ``k=n_neighbors, symmetrize="mean", include_self=True``.
    kind : {"symmetric", "random_walk", "combinatorial"}
        The Laplacian (``"random_walk"`` with ``normalize_rows=False``: Shi-Malik).
    max_clusters, n_init, max_iter, tol, seed
        Eigengap range; k-means starts and iterations; eigensolver tolerance; the seed
        of the k-means++ draws and of the solver's start vector.
    solver : {"auto", "dense", "shift_invert", "lanczos", "lobpcg"}
        The eigensolver.
    sample_dim, feature_dim, device, dtype
        As in :func:`graph`.

    Returns
    -------
    xarray.Dataset
        ``labels`` (sample; int, clusters numbered 0, 1, ... in order of first appearance)
        with the sample coords; ``embedding`` over ``(sample, component)``: the rows
        k-means clustered (component j comes from eigenvector mode j); ``eigenvalues``
        and ``gap`` over ``mode`` (``n_clusters`` of them, or ``max_clusters + 1`` with the
        eigengap; coordinate ``eigenvalue``); attrs ``n_clusters``, ``n_clusters_from``
        (``"eigengap"`` or ``"given"``), ``inertia``, ``n_init``, ``max_iter``, ``seed``,
        ``kind``, ``solver`` (the eigensolver), ``normalize_rows``, ``graph`` and its
        parameters, ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.xr.graphs import spectral_clustering
    >>> rng = np.random.default_rng(1)
    >>> xy = np.concatenate([rng.normal(c, 0.3, (30, 2)) for c in (0, 4, 8)])
    >>> pts = xr.DataArray(xy, dims=("star", "axis"), coords={"star": np.arange(90) + 100})
    >>> ds = spectral_clustering(pts, k=8, device="cpu")  # k: neighbours; clusters from the eigengap
    >>> ds.attrs["n_clusters"], ds.attrs["graph"], ds["labels"].dims, int(ds["star"][0])
    (3, 'knn', ('star',), 100)
    >>> np.bincount(ds["labels"].values).tolist()
    [30, 30, 30]
    """
    if graph is None:
        graph = "precomputed" if _looks_like_adjacency(data) else "knn"
        if graph == "knn" and _looks_like_dense_adjacency(data):
            n = len(data)
            warnings.warn(
                f"spectral_clustering: data is a square, symmetric, non-negative {n} x {n} matrix with a zero "
                f"diagonal, which looks like an adjacency, but it is treated as {n} points with {n} features (a kNN "
                "graph is built on its rows). If it is an adjacency, pass graph='precomputed'; to cluster its rows "
                "as points, pass graph='knn' (this warning then goes).", UserWarning, stacklevel=2)
    if graph == "precomputed":
        given = {"k": k, "radius": radius, "bandwidth": bandwidth, "weights": weights, "symmetrize": symmetrize,
                 "include_self": include_self, "feature_dim": feature_dim}
        for arg, v in given.items():
            if v is not None:
                raise ValueError(f"{arg} applies to a graph built from points; data is an adjacency "
                                 "(graph='precomputed'). Pass graph='knn' (or 'epsilon', 'gaussian') for points.")
        A, _dims, nodes = _adjacency(data, sample_dim, device, dtype)
        gattrs = {"graph": "precomputed"}
    else:
        if graph not in GRAPH_KINDS:
            raise ValueError(f"graph={graph!r} is unknown; choose None, 'precomputed' or one of {list(GRAPH_KINDS)}.")
        p = _graph_params(graph, k, radius, bandwidth, weights, symmetrize, include_self)
        X, nodes = _points(data, sample_dim, feature_dim, device, dtype)
        if graph == "gaussian":
            n = X.shape[0]
            _check_dense_result(n, 2, X.device, X.dtype, name="data", what=f"a dense {n} x {n} Gaussian affinity",
                                alternative="Use graph='knn' (sparse) with weights='gaussian'.")
        A = _build(X, p, sparse=graph != "gaussian")
        gattrs = _graph_attrs(p)
    n = A.shape[0]
    if n_clusters is not None:
        n_clusters = _check_n_eigs(n_clusters, n, "n_clusters")
    with _argument("data"):
        res = G.spectral_clustering(A, n_clusters, kind=kind, normalize_rows=normalize_rows, max_clusters=max_clusters,
                                    n_init=n_init, max_iter=max_iter, solver=solver, tol=tol, seed=seed)
    labels = _first_appearance(to_numpy(res.labels))
    lam = res.eigenvalues
    m = lam.shape[0]
    gap = np.full(m, np.nan)
    gap[:-1] = np.diff(to_numpy(lam).astype(float))
    sd = nodes.dim
    ds = xr.Dataset(
        {
            "labels": (sd, labels),
            "embedding": ((sd, "component"), to_numpy(res.embedding).copy()),
            "eigenvalues": ("mode", to_numpy(lam).astype(float, copy=True)),
            "gap": ("mode", gap),
        },
        coords=nodes.dataset().coords,
    ).assign_coords(_mode_coords(lam)).assign_coords(component=np.arange(res.n_clusters))
    ds["labels"].attrs["long_name"] = "cluster (numbered in order of first appearance)"
    ds["embedding"].attrs["long_name"] = "the rows k-means clustered (eigenvectors, rows normalized)"
    ds["gap"].attrs["long_name"] = "eigengap lam[i+1] - lam[i]"
    ds.attrs.update(_clean_attrs({
        "n_clusters": int(res.n_clusters), "n_clusters_from": "eigengap" if n_clusters is None else "given",
        "inertia": float(res.inertia), "n_init": int(n_init), "max_iter": int(max_iter), "seed": seed,
        "kind": kind, "solver": res.solver, "normalize_rows": bool(normalize_rows), **gattrs,
        **settings_attrs(A.device, A.dtype),
    }))
    return ds


def positional_encoding(
    adjacency,
    n_eigs: int,
    *,
    kind: str = "symmetric",
    drop_first: bool = True,
    rtol: float = 1e-6,
    solver: str = "auto",
    tol: float | None = None,
    seed: int | None = 0,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.DataArray:
    """Laplacian-eigenvector positional encodings (Dwivedi et al. 2020): sample ``i`` gets
    ``(u_2(i), ..., u_{k+1}(i))``, the lowest non-trivial eigenvectors.

    Two ambiguities make these vectors not functions of the graph alone:

    * **sign**: ``u`` and ``-u`` are both eigenvectors. Fixed here by
      :func:`spectrakit.core.graphs.fix_signs` (the largest-magnitude entry positive,
      ties to the lowest index). The rule depends on the sample order, so a relabelled
      graph may get other signs: models meant to be invariant still need sign-invariant
      architectures or random sign flips in training.
    * **basis**: for a repeated eigenvalue (cycles, grids, symmetric graphs) any rotation
      of the eigenspace is as valid and no sign rule fixes it. Such modes are flagged by
      the coordinate ``ambiguous`` (eigenvalue within ``rtol * max(1, lam_max)`` of a
      neighbour, the next one beyond ``n_eigs`` included); use the projector ``U U^T``
      onto the eigenspace for a basis-invariant feature.

    Returns
    -------
    xarray.DataArray
        ``positional_encoding`` over ``(sample, mode)`` with the sample coords; on ``mode``
        (the eigenpair's index: 1, 2, ... with ``drop_first``) the coordinates
        ``eigenvalue`` and ``ambiguous``; attrs ``kind``, ``solver`` (the eigensolver),
        ``drop_first``, ``n_ambiguous``, ``sign_convention``, ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from spectrakit.xr.graphs import positional_encoding
    >>> W = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)  # the 6-cycle
    >>> pe = positional_encoding(W, 3, kind="combinatorial", device="cpu")
    >>> pe.dims, pe["mode"].values.tolist(), pe["ambiguous"].values.tolist()
    (('node', 'mode'), [1, 2, 3], [True, True, True])
    """
    A, _dims, nodes = _adjacency(adjacency, sample_dim, device, dtype)
    first = int(bool(drop_first))
    n_eigs = _check_n_eigs(n_eigs, A.shape[0], offset=first)
    with _argument("adjacency"):
        res = G.laplacian_positional_encoding(A, n_eigs, kind=kind, drop_first=drop_first, rtol=rtol, solver=solver,
                                              tol=tol, seed=seed)
    da = xr.DataArray(to_numpy(res.encoding).copy(), dims=(nodes.dim, "mode"), name="positional_encoding")
    da = da.assign_coords(nodes.dataset().coords).assign_coords(_mode_coords(res.eigenvalues, first))
    da = da.assign_coords(ambiguous=("mode", to_numpy(res.ambiguous).astype(bool, copy=True)))
    da.attrs.update(_clean_attrs({
        "long_name": "Laplacian positional encoding", "kind": kind, "solver": res.solver,
        "drop_first": bool(drop_first), "n_ambiguous": int(res.ambiguous.sum()),
        "sign_convention": "largest-magnitude entry of each eigenvector positive (ties: lowest index)",
        **settings_attrs(A.device, A.dtype),
    }))
    return da


# ----------------------------------------------------------------------------- filters


def _sample_dim_of(value, adj_dims, adj_labelled: bool, n: int, sample_dim, name: str) -> str:
    """The sample dim of a labelled signal (or labels) on a graph with dims ``adj_dims``."""
    dims = tuple(value.dims)
    if sample_dim is not None:
        if sample_dim not in dims:
            raise ValueError(f"sample_dim={sample_dim!r} is not a dim of {name}; its dims are {dims}.")
        return sample_dim
    if adj_labelled:
        shared = [d for d in adj_dims if d in dims]
        if len(shared) == 1:
            return shared[0]
        if len(shared) == 2:
            raise ValueError(f"{name} has both dims {adj_dims} of the adjacency: say which is the sample dim "
                             "with sample_dim=.")
        raise ValueError(
            f"{name} has dims {dims} and the adjacency {adj_dims}: they must share the sample dim. Rename one, "
            f"e.g. {name}.rename({{{dims[0]!r}: {adj_dims[0]!r}}}), or pass sample_dim=."
        )
    if DEFAULT_SAMPLE_DIM in dims:
        return DEFAULT_SAMPLE_DIM
    matches = [d for d in dims if value.sizes[d] == n]
    if len(matches) == 1:
        return matches[0]
    raise ValueError(
        f"{name} has dims {dims}: cannot tell which one holds the adjacency's {n} nodes; pass sample_dim=."
    )


def _signal_on_graph(signal, adjacency, sample_dim, device, dtype, *, name: str, directed: bool):
    """(A, signal as (n, c) data, out dims, out coords, nodes) for signal-on-graph functions."""
    adj_labelled = isinstance(adjacency, xr.DataArray)
    if isinstance(signal, xr.Dataset):
        raise TypeError(f"{name} must be a DataArray, array or tensor; got a Dataset: pass one variable.")
    if isinstance(signal, xr.DataArray):
        adj_dims = tuple(adjacency.dims) if adj_labelled else None
        n_hint = adjacency.shape[0] if hasattr(adjacency, "shape") else None
        sd = _sample_dim_of(signal, adj_dims, adj_labelled, n_hint, sample_dim, name)
        adj_sd = sd if adj_labelled else None
        if adj_labelled and sd not in adjacency.dims:
            raise ValueError(f"sample_dim={sd!r} is not a dim of adjacency; its dims are {tuple(adjacency.dims)}.")
        A, adims, nodes = _adjacency(adjacency, adj_sd if adj_labelled else sd, device, dtype, directed=directed)
        if signal.sizes[sd] != A.shape[0]:
            raise ValueError(f"{name} has {signal.sizes[sd]} entries along {sd!r} but the adjacency has "
                             f"{A.shape[0]} nodes.")
        extra = tuple(d for d in signal.dims if d != sd)
        data = signal.transpose(sd, *extra).data
        out_dims = tuple(signal.dims)
        coords = signal.coords.to_dataset()
        extra_shape = tuple(signal.sizes[d] for d in extra)
    else:
        A, adims, nodes = _adjacency(adjacency, sample_dim, device, dtype, directed=directed)
        sd = adims[0]
        data = raw(signal)
        shape = tuple(getattr(data, "shape", np.shape(data)))
        if len(shape) == 0 or shape[0] != A.shape[0]:
            raise ValueError(f"{name} must have the adjacency's {A.shape[0]} nodes along its first axis; "
                             f"got shape {shape}.")
        extra_shape = shape[1:]
        extra = ("channel",) if len(extra_shape) == 1 else tuple(f"channel_{i}" for i in range(len(extra_shape)))
        out_dims = (sd,) + extra
        coords = nodes.dataset()
    return A, data, sd, extra, extra_shape, out_dims, coords


_FILTER_LONG = {
    "tikhonov": "Tikhonov (I + reg L)^-1",
    "heat": "heat kernel exp(-reg L)",
    "lowpass": "ideal low-pass: lam <= 1/reg",
    "butterworth": "Butterworth 1/(1 + (reg lam)^order)",
    "iterated_tikhonov": "iterated Tikhonov",
    "showalter": "Showalter 1 - exp(-1/(reg lam))",
}


def graph_filter(
    signal,
    adjacency,
    *,
    reg,
    method="tikhonov",
    order: int | None = None,
    kind: str = "combinatorial",
    q: float | None = None,
    lmax: float | None = None,
    filter_order: int | None = None,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.Dataset:
    """Filter graph signals: ``y = h(L; reg) x``, exactly through the eigenbasis or by a
    Chebyshev polynomial of order ``order``.

    Filters (``lam`` a Laplacian eigenvalue; :func:`spectrakit.core.graphs.graph_frequency_response`):
    ``tikhonov`` ``1/(1 + reg lam)``, i.e. ``(I + reg L)^{-1} x = argmin ||y - x||^2 +
    reg y^T L y``; ``heat`` ``exp(-reg lam)``, i.e. ``exp(-reg L) x`` (``reg`` is the
    time); ``lowpass`` ``1 if lam <= 1/reg``; ``butterworth`` ``1/(1 + (reg lam)^p)``
    (``p = filter_order``, default 2); ``iterated_tikhonov``; ``showalter``; or a
    callable ``h(s, reg)`` of ``s = 1/lam``.

    Parameters
    ----------
    signal : DataArray, array or tensor
        With the sample dim (the dim it shares with a labelled adjacency; else
        ``sample_dim``, ``node`` or the one dim of the right size; numpy/torch: the first
        axis). Other dims (band, channel, time...) are filtered each, through the one
        decomposition. Dask-backed (chunked along those dims, one chunk along the sample
        dim): the decomposition is computed here and ``estimate`` is lazy, filtered block
        by block when computed (``xarray.apply_ufunc(..., dask="parallelized")``).
    adjacency : (sample, sample_) DataArray, array, tensor, torch or scipy sparse matrix
    reg : float or 1-D array of float >= 0
        A grid adds a leading ``reg`` dim; a scalar gives the same Dataset without it.
    method : str or callable
        The filter (above).
    order : int, optional
        None: exact, through all eigenpairs (a dense eigendecomposition, n**2 memory).
        K: a Chebyshev polynomial of degree K of the Laplacian on ``[0, lmax]``: K
        (sparse) products with L, no eigenvectors (Hammond et al. 2011); for large graphs
        pass a sparse adjacency.
    kind : str
        The Laplacian (:func:`laplacian`; ``q`` for the magnetic kinds), default
        ``"combinatorial"``.
    lmax : float, optional
        Chebyshev only: the interval's end (default a guaranteed bound on the largest
        eigenvalue, 2 for the normalized kinds).
    filter_order : int, optional
        The order of ``butterworth`` or ``iterated_tikhonov``.

    Returns
    -------
    xarray.Dataset
        ``estimate``: the filtered signal with the signal's dims, coords and attrs (plus
        ``reg``). Exact: ``response`` ``h(lam_i; reg)`` over ``(reg, mode)`` with the
        coordinate ``eigenvalue``. Chebyshev: ``max_error`` over ``reg``, the largest
        ``|p(lam) - h(lam)|`` on ``[0, lmax]`` (so ``||y - h(L) x|| <= max_error ||x||``),
        and the ``coefficients`` over ``(reg, term)``. attrs ``reg`` (scalar reg),
        ``method`` (the filter), ``kind``, ``order`` (``"exact"`` or K), ``solver``
        (exact) or ``lmax`` (Chebyshev), ``solution="estimate"``, ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.xr.graphs import graph_filter
    >>> W = xr.DataArray(np.ones((3, 3)) - np.eye(3), dims=("v", "v_"))  # a triangle
    >>> y = xr.DataArray([3.0, 0.0, 0.0], dims="v", attrs={"units": "K"})
    >>> out = graph_filter(y, W, reg=1.0, device="cpu")  # (I + L)^-1 y
    >>> out["estimate"].values.round(6).tolist(), out["estimate"].attrs["units"]
    ([1.5, 0.75, 0.75], 'K')
    >>> graph_filter(y, W, reg=[0.1, 1.0], method="heat", device="cpu")["estimate"].dims
    ('reg', 'v')
    """
    if not callable(method) and method not in G.GRAPH_FILTERS:
        raise ValueError(f"method={method!r} is unknown; choose one of {list(G.GRAPH_FILTERS)} or pass a callable "
                         "h(s, reg) of s = 1/lam.")
    if isinstance(kind, str) and kind in G.GRAPH_FILTERS:
        raise ValueError(f"kind={kind!r} names a filter: the filter is method={kind!r}; kind is the Laplacian, one "
                         f"of {list(G.LAPLACIANS)}.")
    _check_kind(kind, q)
    options = {}
    if filter_order is not None:
        if method not in ("butterworth", "iterated_tikhonov"):
            raise ValueError(f"filter_order applies to method='butterworth' or 'iterated_tikhonov'; got {method!r}.")
        options["order"] = check_int(filter_order, "filter_order", 1)
    if order is not None:
        order = check_int(order, "order", 0)
    elif lmax is not None:
        raise ValueError("lmax applies to the Chebyshev filter (order=K); the exact filter needs no interval.")
    reg_arr = check_reg(reg)
    magnetic = kind.startswith("magnetic")
    A, data, sd, extra, extra_shape, out_dims, coords = _signal_on_graph(
        signal, adjacency, sample_dim, device, dtype, name="signal", directed=magnetic)
    n = A.shape[0]
    c = int(np.prod(extra_shape)) if extra_shape else 1
    lazy = isinstance(signal, xr.DataArray) and is_dask(signal)
    if lazy:  # filtered block by block when computed; a probe column gives what does not depend on it
        check_core_chunks(signal, [sd], "signal")
        c = int(np.prod([max(signal.chunksizes[d]) for d in extra])) if extra else 1
        x = torch.zeros(n, 1, dtype=A.dtype, device=A.device)
    else:
        x = to_tensor(data, "signal", A.device, A.dtype).reshape(n, c)
    R = reg_arr.shape[0]
    width = 2 if magnetic else 1
    check_memory(
        3 * width * R * n * c * itemsize(A.dtype), A.device, name="reg",
        what=f"filtered signals for {R} reg value(s) x {c} column(s) of a {n}-node graph",
        alternative="Use fewer reg values or filter the extra dims in chunks.",
    )
    attrs = {"solution": "estimate", "method": spectral.method_name(method), "kind": kind,
             "q": (0.25 if q is None else float(q)) if magnetic else None,
             "order": "exact" if order is None else order, "filter_order": options.get("order")}
    if method == "heat":
        attrs["note"] = "heat kernel exp(-t L) at time t = reg"
    data_vars = {}
    new_coords = {}
    with _argument("adjacency"):
        if order is None:
            _check_dense_result(n, 4 if magnetic else 3, A.device, A.dtype, name="adjacency",
                                what=f"the complete eigendecomposition of a {n}-node graph",
                                alternative="Pass order=K (a Chebyshev filter: no eigenvectors) with a sparse "
                                            "adjacency.")
            spec = G.graph_spectrum(A, kind=kind, q=q)
            regs = torch.as_tensor(reg_arr, dtype=spec.values.dtype, device=spec.values.device)
            y = G.graph_filter(spec, x, regs, method, **options)  # (R, n, c)
            f = G.graph_frequency_response(spec.values, regs, method, **options)  # (R, n)
            data_vars["response"] = (("reg", "mode"), to_numpy(f).astype(float, copy=True))
            new_coords.update(_mode_coords(spec.values))
            attrs["solver"] = spec.solver
        else:
            cheb = {"kind": kind, "q": q, "order": order, "lmax": lmax}
            res = G.chebyshev_filter(A, x, reg_arr, method, **cheb, **options)
            cheb["lmax"] = float(res.lmax)  # (the blocks reuse the interval)
            y = res.y
            data_vars["max_error"] = ("reg", to_numpy(res.max_error).astype(float, copy=True))
            data_vars["coefficients"] = (("reg", "term"), to_numpy(res.coefficients).astype(float, copy=True))
            new_coords["term"] = np.arange(order + 1)
            attrs["lmax"] = float(res.lmax)
    if lazy:
        est = apply_core(
            _graph_filter_block, [signal], [[sd]], out_dims=["reg", sd], out_sizes={"reg": R, sd: n},
            out_dtype=to_numpy(y).dtype, labels=["signal"], spec=spec if order is None else None,
            A=None if order is None else A, cheb=None if order is None else cheb, reg=reg_arr, method=method,
            options=options, device=str(A.device), dtype=dtype_name(A.dtype),
        ).transpose("reg", *out_dims)
    else:
        y = to_numpy(y).reshape((R, n) + tuple(extra_shape))
        est = xr.DataArray(y, dims=("reg", sd) + tuple(extra)).transpose("reg", *out_dims)
    ds = xr.Dataset({"estimate": est, **data_vars})
    ds = ds.assign_coords(coords.coords).assign_coords(reg=reg_arr, **new_coords)
    if isinstance(signal, xr.DataArray):
        ds["estimate"].attrs.update(copy.deepcopy(signal.attrs))
        ds["estimate"].name = "estimate"
    if "response" in ds:
        ds["response"].attrs["long_name"] = "filter response h(lam; reg) at the Laplacian eigenvalues"
    if "max_error" in ds:
        ds["max_error"].attrs["long_name"] = "max over [0, lmax] of |p(lam) - h(lam; reg)|"
    ds["reg"].attrs["long_name"] = "regularization strength (tikhonov: h = 1/(1 + reg lam))"
    ds.attrs.update(_clean_attrs(attrs))
    return finish(ds, reg=reg, device=A.device, dtype=A.dtype,
                  long_name=_FILTER_LONG.get(attrs["method"], attrs["method"]))


def _graph_filter_block(x, *, spec, A, cheb, reg, method, options, device, dtype):
    """One block of signals (the sample dim last) through the exact filter (``spec``) or
    the Chebyshev one (``A``, ``cheb``): ``(..., reg, sample)``."""
    lead, n = x.shape[:-1], x.shape[-1]
    xt = block_tensor(x, "signal", device, dtype).reshape(-1, n).mT  # (n, c)
    if cheb is None:
        y = G.graph_filter(spec, xt, torch.as_tensor(reg, dtype=spec.values.dtype, device=spec.values.device),
                           method, **options)
    else:
        y = G.chebyshev_filter(A, xt, reg, method, **cheb, **options).y
    y = to_numpy(y)  # (R, n, c)
    return np.moveaxis(y, -1, 0).reshape(lead + y.shape[:2])


def _partial_labels(values, name: str):
    """(codes int64 with -1 for unlabelled, classes) of partially known labels (any shape;
    the classes are shared by all entries)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have the sample dim (one label per sample); got a scalar.")
    kind = arr.dtype.kind
    if kind in "iu":
        missing = arr == -1
    elif kind == "f":
        if np.isinf(arr).any():
            raise ValueError(f"{name} has inf values: mark unlabelled samples with NaN or -1.")
        missing = np.isnan(arr) | (arr == -1)
    elif kind == "b":
        missing = np.zeros(arr.shape, dtype=bool)
    elif kind in "OUS":
        missing = np.asarray(pd.isnull(arr), dtype=bool)
        if kind in "US":
            missing |= arr == arr.dtype.type("")
    else:
        raise TypeError(f"{name} must hold class labels (integers, floats with NaN, strings); got dtype {arr.dtype}.")
    known = arr[~missing]
    if known.size == 0:
        raise ValueError(f"{name} has no labelled sample: give at least one class (unlabelled: -1, NaN or None).")
    classes = np.unique(known)
    if kind == "f" and np.all(classes == np.round(classes)):
        classes = classes.astype(np.int64)
        known = known.astype(np.int64)
    codes = np.full(arr.shape, -1, dtype=np.int64)
    codes[~missing] = np.searchsorted(classes, known)
    return codes, classes


def _class_values(classes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``classes[codes]`` with the unlabelled marker where a code is -1, the marker the
    input reads: -1 for integer classes, NaN for float classes, None for strings and
    objects (as an object array; also for the rare classes that have no marker)."""
    miss = codes < 0
    kind = classes.dtype.kind
    pick = np.maximum(codes, 0)  # -1 must not index the last class
    if kind in "if":
        out = classes[pick]
        out[miss] = -1 if kind == "i" else np.nan
        return out
    if kind in "OUS" or miss.any():
        out = classes.astype(object)[pick]
        out[miss] = None
        return out
    return classes[pick]


def label_propagation(
    labels,
    adjacency,
    *,
    reg,
    kind: str = "symmetric",
    method: str = "auto",
    tol: float = 1e-10,
    max_iter: int | None = None,
    sample_dim: str | None = None,
    device=None,
    dtype=None,
) -> xr.Dataset:
    """Semi-supervised labels by graph Tikhonov smoothing (Zhou et al. 2004).

    With ``Y`` the one-hot given labels (rows of unlabelled samples zero), the class
    scores are ``F = (I + reg L_sym)^{-1} Y``, the graph Tikhonov filter of
    :func:`graph_filter` on ``Y``, and each sample gets ``argmax_c F[i, c]``. Zhou et al.'s
    and scikit-learn's ``LabelSpreading(alpha)`` give the same labels for
    ``reg = alpha / (1 - alpha)`` (:func:`spectrakit.core.graphs.reg_from_zhou_alpha`).

    The scores fall roughly like ``reg**hops`` away from the labelled samples. A sample
    is *reached* when its best score exceeds the resolution floor
    ``n * eps * (1 + reg * lmax) * max|F|`` (below it a score, and its argmax, is
    round-off; :func:`spectrakit.core.graphs.label_propagation` explains the constant).
    An unreached sample gets the unlabelled marker: the labels have not reached it at
    this ``reg``, and a larger ``reg`` spreads them further. Every method reports the
    same reached samples and labels, but for samples within round-off of the floor.

    Parameters
    ----------
    labels : DataArray, array or tensor with the sample dim
        Class labels (integers, strings, ...); unlabelled samples are ``-1`` (integers),
        ``NaN`` (floats; here NaN means "unknown", not an error) or ``None``/``""``.
        Other dims (e.g. ``draw``: several label sets on the one graph; numpy/torch:
        the axes after the first) are propagated each, all through one decomposition or
        one factorization per reg; the classes are shared by all sets.
    adjacency : (sample, sample_) DataArray, array, tensor, torch or scipy sparse matrix
    reg : float or 1-D array of float >= 0
        A grid adds a leading ``reg`` dim.
    kind : {"symmetric", "combinatorial"}
        The Laplacian smoothed with.
    method : {"auto", "spectrum", "solve", "cg"}
        ``"solve"`` (dense Cholesky), ``"cg"`` (conjugate gradients, sparse products, to
        ``tol`` and on until every sample's reached status and label are resolved),
        ``"spectrum"`` (one complete eigendecomposition reused for every reg and label
        set), ``"auto"``: solve for dense adjacencies up to n = 10,000, else cg.

    Returns
    -------
    xarray.Dataset
        With the labels' dims: ``labels`` (the predicted classes, in the input's class
        values; the unlabelled marker where not reached: -1 for integer classes, NaN for
        float classes, None for strings and objects), ``reached`` (bool) and
        ``labelled`` (bool: given); ``scores`` ``F`` with a ``class`` dim last; ``floor``
        (the resolution floor, per reg and label set); a ``reg`` grid leads; the labels'
        coords kept. attrs ``reg`` (scalar), ``kind``, ``method``, ``n_classes``,
        ``n_labelled`` (over all label sets), ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from spectrakit.xr.graphs import label_propagation
    >>> W = np.kron(np.eye(2), np.ones((3, 3))) - np.eye(6)  # two disjoint triangles
    >>> given = xr.DataArray(["cat", None, None, None, "dog", None], dims="pet")
    >>> out = label_propagation(given, W, reg=1.0, device="cpu")
    >>> out["labels"].values.tolist(), out["labels"].dims
    (['cat', 'cat', 'cat', 'dog', 'dog', 'dog'], ('pet',))
    >>> lone = label_propagation(xr.DataArray([0, -1, -1, -1, -1, -1], dims="pet"), W, reg=1.0, device="cpu")
    >>> lone["labels"].values.tolist(), lone["reached"].values.tolist()  # no edge to the second triangle
    ([0, 0, 0, -1, -1, -1], [True, True, True, False, False, False])
    """
    reg_arr = check_reg(reg)
    if method not in ("auto", "spectrum", "solve", "cg"):
        raise ValueError(f"method={method!r} is unknown; choose one of ['auto', 'spectrum', 'solve', 'cg'].")
    A, data, sd, extra, extra_shape, out_dims, coords = _signal_on_graph(
        labels, adjacency, sample_dim, device, dtype, name="labels", directed=False)
    n = A.shape[0]
    codes, classes = _partial_labels(data.values if isinstance(data, xr.DataArray) else data, "labels")
    extra_shape = tuple(extra_shape)
    S = int(np.prod(extra_shape)) if extra_shape else 1
    C = classes.shape[0]
    sets = codes.reshape(n, S)
    empty = np.flatnonzero(~(sets >= 0).any(0))
    if empty.size:
        where = {d: int(i) for d, i in zip(extra, np.unravel_index(int(empty[0]), extra_shape))}
        raise ValueError(f"labels has no labelled sample along {sd!r} at positions {where} ({empty.size} label "
                         "set(s) without a label): give each set at least one class, or drop those sets.")
    R = reg_arr.shape[0]
    check_memory(
        2 * R * n * S * C * itemsize(A.dtype), A.device, name="reg",
        what=f"scores for {R} reg value(s) x {S} label set(s) x {C} classes on a {n}-node graph",
        alternative="Use fewer reg values or propagate the label sets in chunks.",
    )
    spectrum = None
    with _argument("adjacency"):
        if method == "spectrum":
            spectrum = G.graph_spectrum(A, kind=kind)
        res = G.label_propagation(A, torch.as_tensor(sets if extra_shape else sets[:, 0]), reg_arr, kind=kind,
                                  spectrum=spectrum, method=method, tol=tol, max_iter=max_iter)
    shape = (R, n) + extra_shape
    lab = to_numpy(res.labels).reshape(shape)
    reached = to_numpy(res.reached).reshape(shape)
    scores = to_numpy(res.scores).astype(float, copy=True).reshape(shape + (C,))
    floor = to_numpy(res.floor).astype(float, copy=True).reshape((R,) + extra_shape)
    base = ("reg", sd) + tuple(extra)
    order = ("reg",) + tuple(out_dims)
    ds = xr.Dataset(
        {
            "labels": xr.DataArray(_class_values(classes, lab), dims=base).transpose(*order),
            "reached": xr.DataArray(reached.copy(), dims=base).transpose(*order),
            "scores": xr.DataArray(scores, dims=base + ("class",)).transpose(*order, "class"),
            "labelled": xr.DataArray(codes >= 0, dims=(sd,) + tuple(extra)).transpose(*out_dims),
            "floor": xr.DataArray(floor, dims=("reg",) + tuple(extra)),
        },
    )
    ds = ds.assign_coords(coords.coords).assign_coords(reg=reg_arr, **{"class": classes})
    ds["labels"].attrs["long_name"] = "predicted class: argmax of the scores (unlabelled marker: not reached)"
    ds["reached"].attrs["long_name"] = "best score above the resolution floor (or labelled)"
    ds["scores"].attrs["long_name"] = "class scores F = (I + reg L)^-1 Y"
    ds["labelled"].attrs["long_name"] = "whether the class was given"
    ds["floor"].attrs["long_name"] = "resolution floor n eps (1 + reg lmax) max|F|"
    ds = finish(ds, reg=reg, method=res.method, device=A.device, dtype=A.dtype, **_clean_attrs({
        "kind": kind, "n_classes": int(C), "n_labelled": int((codes >= 0).sum())}))
    if ds["labels"].dtype == object:  # xarray turns None into NaN when it wraps an object array: put None back
        ds["labels"].data[~ds["reached"].data] = None
    return ds


# ------------------------------------------------- k-means, unmixing, cluster agreement
# (labelled counterparts of spectrakit.core.graphs' kmeans, nmf_unmix and abundance_error,
# and the adjusted Rand index: what a notebook needs beside the spectral methods above)

__all__ += ["kmeans", "nmf_unmix", "abundance_error", "adjusted_rand_index"]


def _points_of(X, name: str, device, dtype):
    """(tensor, sample dim, feature dim, coords on the sample dim) of (n, d) points."""
    shape = tuple(getattr(raw(X), "shape", np.shape(raw(X))))
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-D ({'samples' if name == 'X' else 'pixels'}, features); got shape {shape}.")
    dims, coords = ("sample", "feature"), None
    if isinstance(X, xr.DataArray):
        dims = tuple(X.dims)
        coords = X.isel({dims[1]: 0}, drop=True).coords
    device, dtype = compute_settings(device, dtype, X)
    return to_tensor(X, name, device, dtype), dims[0], dims[1], coords


def _with_coords(da: xr.DataArray, coords) -> xr.DataArray:
    return da if coords is None else da.assign_coords(coords)


def kmeans(X, n_clusters: int, *, n_init: int = 10, max_iter: int = 300, tol: float = 1e-4, seed=0, device=None,
           dtype=None) -> xr.Dataset:
    """k-means (Lloyd, ``n_init`` k-means++ starts, the lowest inertia kept) on points
    ``X`` (sample, feature): :func:`spectrakit.core.graphs.kmeans`, labelled.

    Returns
    -------
    xarray.Dataset
        ``labels`` over the sample dim (with X's coords on it, e.g. a true class carried
        along), ``centers`` over ``(cluster, <feature dim>)``; attrs ``inertia`` (the sum
        of squared distances to the centers), ``n_iter``, ``n_clusters``, ``device``,
        ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> km = kmeans(np.array([[0.0], [0.1], [5.0], [5.2]]), 2, seed=0)
    >>> km["labels"].dims, sorted(km["centers"].values[:, 0].round(3).tolist()), round(km.attrs["inertia"], 4)
    (('sample',), [0.05, 5.1], 0.025)
    """
    t, sd, fd, coords = _points_of(X, "X", device, dtype)
    res = G.kmeans(t, n_clusters, n_init=n_init, max_iter=max_iter, tol=tol, seed=seed)
    labels = _with_coords(xr.DataArray(to_numpy(res.labels), dims=(sd,)), coords)
    ds = xr.Dataset({"labels": labels, "centers": ((("cluster", fd)), to_numpy(res.centers))},
                    coords={"cluster": np.arange(res.centers.shape[0])})
    ds["labels"].attrs["long_name"] = "cluster of each sample"
    ds.attrs.update(inertia=float(res.inertia), n_iter=int(res.n_iter), n_clusters=int(res.centers.shape[0]),
                    seed="none" if seed is None else seed, **settings_attrs(t.device, t.dtype))
    return ds


def nmf_unmix(Y, n_endmembers: int, *, graph=None, reg=0.0, sparsity: float = 0.0, sum_to_one=None,
              update_endmembers: bool = True, max_iter: int = 1000, tol: float = 1e-6, init="random", seed=0,
              device=None, dtype=None) -> xr.Dataset:
    """Unmix spectra ``Y`` (pixel, band) into abundances and endmembers by graph-regularized
    sparse NMF (multiplicative updates): :func:`spectrakit.core.graphs.nmf_unmix`, labelled.

    Minimizes ``||Y - A E||_F^2 + reg tr(A^T L A) + sparsity ||A||_1 + s^2 ||A 1 - 1||^2``
    over ``A, E >= 0`` with ``L`` the Laplacian of the pixel graph ``graph`` (an adjacency
    DataArray from :func:`graph`, an array or a sparse matrix) and ``s = sum_to_one``.

    Parameters
    ----------
    Y : (pixels, bands) numpy array, tensor or DataArray, >= 0
        A DataArray keeps its pixel coords (a stacked ``(y, x)`` MultiIndex included, so
        ``.unstack`` gives the abundance maps back) and its band coords (wavelengths).
    reg : float or 1-D grid
        A grid runs all values together and adds the dim ``reg``.
    init : {"random", "spa"} or (A0, E0)
        As in core; the factors may be DataArrays.
    Other arguments as :func:`spectrakit.core.graphs.nmf_unmix`.

    Returns
    -------
    xarray.Dataset
        ``abundances`` over ``([reg,] <pixel dim>, endmember)``, ``endmembers`` over
        ``([reg,] endmember, <band dim>)``, ``objective`` over ``([reg,] iteration)``,
        ``n_iter`` and ``converged`` (``[reg]``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, E = rng.uniform(size=(50, 2)), rng.uniform(size=(2, 6))
    >>> res = nmf_unmix(A @ E, 2, init="spa", tol=0, max_iter=500)
    >>> res["abundances"].dims, bool(np.abs(res["abundances"].values @ res["endmembers"].values - A @ E).max() < 1e-2)
    (('pixel', 'endmember'), True)
    """
    t, pd_, bd, coords = _points_of(Y, "Y", device, dtype)
    if pd_ == "sample" and not isinstance(Y, xr.DataArray):
        pd_, bd = "pixel", "band"
    reg_arr = check_reg(reg)
    grid = np.ndim(raw(reg)) > 0
    g = graph
    if isinstance(g, xr.DataArray):
        g = g.data
    if isinstance(init, tuple):
        init = tuple(raw(v) if not isinstance(v, xr.DataArray) else v.values for v in init)
    res = G.nmf_unmix(t, n_endmembers, graph=g, reg=torch.as_tensor(reg_arr) if grid else float(reg_arr[0]),
                      sparsity=sparsity, sum_to_one=sum_to_one, update_endmembers=update_endmembers,
                      max_iter=max_iter, tol=tol, init=init, seed=seed)
    lead = ("reg",) if grid else ()
    band_coords = {}
    if isinstance(Y, xr.DataArray):
        band_coords = {k: v for k, v in Y.coords.items() if v.dims == (bd,)}
    abundances = _with_coords(xr.DataArray(to_numpy(res.abundances), dims=lead + (pd_, "endmember")), coords)
    ds = xr.Dataset(
        {"abundances": abundances,
         "endmembers": xr.DataArray(to_numpy(res.endmembers), dims=lead + ("endmember", bd), coords=band_coords),
         "objective": (lead + ("iteration",), to_numpy(res.objective)),
         "n_iter": (lead, np.asarray(to_numpy(res.n_iter) if isinstance(res.n_iter, torch.Tensor) else res.n_iter)),
         "converged": (lead, np.asarray(to_numpy(res.converged) if isinstance(res.converged, torch.Tensor)
                                        else res.converged))},
        coords={"endmember": np.arange(int(n_endmembers)), "iteration": np.arange(res.objective.shape[-1]),
                **({"reg": reg_arr} if grid else {})},
    )
    ds["abundances"].attrs["long_name"] = "abundance of each endmember in each pixel"
    ds["objective"].attrs["long_name"] = "objective F(A, E) at the start and after each iteration"
    ds.attrs.update(_clean_attrs({"sparsity": float(sparsity), "sum_to_one": sum_to_one,
                                  "update_endmembers": bool(update_endmembers),
                                  "init": init if isinstance(init, str) else "given",
                                  **settings_attrs(t.device, t.dtype)}))
    if not grid:
        ds.attrs["reg"] = float(reg_arr[0])
    return ds


def abundance_error(estimated, true, *, scale="lstsq") -> xr.Dataset:
    """The abundance RMSE of an unmixing with the endmembers matched (Hungarian algorithm)
    and each one's scale fixed: :func:`spectrakit.core.graphs.abundance_error`, labelled.

    Parameters
    ----------
    estimated : ([reg,] pixel, endmember) DataArray or array
        E.g. :func:`nmf_unmix`'s ``abundances``; leading dims (a ``reg`` grid) are kept.
    true : (pixel, endmember) DataArray or array
        The true abundances.
    scale : {"lstsq", "sum_to_one", None}

    Returns
    -------
    xarray.Dataset
        ``rmse`` over the leading dims, ``per_endmember``, ``permutation`` (the estimated
        column matched to each true endmember) and ``scale`` over ``(..., endmember)``.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    >>> err = abundance_error(2 * T[:, ::-1], T)
    >>> float(err["rmse"]), err["permutation"].values.tolist(), err["scale"].values.tolist()
    (0.0, [1, 0], [0.5, 0.5])
    """
    lead, coords = (), {}
    if isinstance(estimated, xr.DataArray):
        lead = tuple(estimated.dims[:-2])
        coords = {k: v for k, v in estimated.coords.items() if set(v.dims) <= set(lead)}
        est = estimated.values
    else:
        est = raw(estimated)
        nd = len(getattr(est, "shape", np.shape(est)))
        lead = ("reg",) if nd == 3 else tuple(f"dim_{i}" for i in range(nd - 2))
    tru = true.values if isinstance(true, xr.DataArray) else raw(true)
    res = G.abundance_error(est, tru, scale=scale)
    ds = xr.Dataset(
        {"rmse": (lead, to_numpy(res.rmse)), "per_endmember": (lead + ("endmember",), to_numpy(res.per_endmember)),
         "permutation": (lead + ("endmember",), to_numpy(res.permutation)),
         "scale": (lead + ("endmember",), to_numpy(res.scale))},
        coords=coords,
    )
    ds["rmse"].attrs["long_name"] = "abundance RMSE after matching the endmembers"
    ds["permutation"].attrs["long_name"] = "estimated column matched to each true endmember"
    ds.attrs["scale"] = "none" if scale is None else scale
    return ds


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """The adjusted Rand index (Hubert and Arabie 1985) of two labelings of the same items:
    1 for identical partitions (up to the names of the clusters), about 0 for independent
    ones; scikit-learn's ``adjusted_rand_score``.

    ``ARI = (sum_ij C(n_ij, 2) - E) / ((sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2 - E)`` with
    the contingency table ``n_ij``, its sums ``a_i``, ``b_j`` and ``E = sum_i C(a_i, 2)
    sum_j C(b_j, 2) / C(n, 2)``. Labels may be any values (DataArrays, arrays, tensors,
    lists; ints or strings).

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> round(adjusted_rand_index(["a", "a", "b", "b"], [0, 1, 0, 1]), 6)
    -0.5
    """
    def values(x, name):
        x = x.values if isinstance(x, xr.DataArray) else raw(x)
        x = to_numpy(x) if isinstance(x, torch.Tensor) else np.asarray(x)
        if x.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one label per item); got shape {x.shape}.")
        return x

    a, b = values(labels_true, "labels_true"), values(labels_pred, "labels_pred")
    if a.shape != b.shape:
        raise ValueError(f"labels_true and labels_pred must label the same items; got {a.shape[0]} and {b.shape[0]}.")
    n = a.shape[0]
    if n < 2:
        return 1.0
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai.reshape(-1), bi.reshape(-1)), 1.0)

    def pairs(x):
        return (x * (x - 1) / 2).sum()

    sum_ij, sum_a, sum_b = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = sum_a * sum_b / (n * (n - 1) / 2)
    top = (sum_a + sum_b) / 2
    if top == expected:  # both partitions trivial (one cluster, or all singletons)
        return 1.0
    return float((sum_ij - expected) / (top - expected))
