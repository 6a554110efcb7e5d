"""Random graphs with known communities, as labelled adjacencies."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..core.graphs import stochastic_block_model as _core_sbm
from ._common import resolve_seed

__all__ = ["stochastic_block_model"]


def stochastic_block_model(sizes, p_in: float = 0.5, p_out: float = 0.05, *, probabilities=None,
                           directed: bool = False, seed: int | None = 0) -> xr.DataArray:
    """A seeded stochastic block model: blocks of the given ``sizes``; nodes ``i`` in block
    ``a`` and ``j`` in block ``b`` are linked with probability ``P[a, b]``
    (:func:`spectrakit.core.graphs.stochastic_block_model`).

    ``P`` is ``probabilities`` (a (k, k) matrix, symmetric unless ``directed``) or ``p_in``
    on the diagonal and ``p_out`` elsewhere. No self-loops; weights are 0/1. The draws come
    from one CPU generator seeded with ``seed`` (``None``: a fresh seed, recorded in
    ``attrs``), so the same seed gives the same graph everywhere.

    Parameters
    ----------
    sizes : sequence of int
        The number of nodes in each block (nodes are numbered block by block).
    p_in, p_out : float in [0, 1]
        The link probability within a block and between blocks.
    probabilities : (k, k) array, optional
        Every pair of blocks' probability instead (wins over ``p_in``, ``p_out``).
    directed : bool
        Draw every ordered pair (an asymmetric adjacency); else each pair once.
    seed : int or None

    Returns
    -------
    xarray.DataArray
        The adjacency over ``(node, node_)`` (float64), with each node's block as the
        coordinate ``block`` on both dims (``block`` on ``node``, ``block_`` on ``node_``);
        attrs ``sizes``, ``p_in``, ``p_out`` (or ``probabilities``), ``directed``, ``seed``.
        :func:`spectrakit.xr.graph_spectrum` and
        :func:`spectrakit.xr.spectral_clustering` take it as it is (and carry ``block``
        along).

    Examples
    --------
    >>> ds = stochastic_block_model([3, 2], 1.0, 0.0)
    >>> ds.dims, ds["block"].values.tolist(), ds.sum("node_").values.tolist()
    (('node', 'node_'), [0, 0, 0, 1, 1], [2.0, 2.0, 2.0, 1.0, 1.0])
    """
    seed = resolve_seed(seed)
    W, labels = _core_sbm(sizes, p_in, p_out, probabilities=probabilities, directed=directed, seed=seed,
                          device="cpu", dtype=None)
    block = labels.numpy()
    out = xr.DataArray(W.numpy().astype(np.float64, copy=False), dims=("node", "node_"),
                       coords={"node": np.arange(block.size), "node_": np.arange(block.size),
                               "block": ("node", block), "block_": ("node_", block)}, name="adjacency")
    out.attrs.update(long_name="adjacency of a stochastic block model", sizes=[int(s) for s in np.atleast_1d(sizes)],
                     directed=int(bool(directed)), seed=seed)
    if probabilities is None:
        out.attrs.update(p_in=float(p_in), p_out=float(p_out))
    else:
        out.attrs["probabilities"] = np.asarray(probabilities, dtype=float).tolist()
    return out
