"""Shared argument checks and work estimates of the graph modules (private).

Part of :mod:`spectrakit.core.graphs` (see there for the conventions).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...options import resolve_device, resolve_dtype
from ..checks import check_finite, check_memory, itemsize
from ..checks import check_int as _check_int  # noqa: F401  (the graph modules import it from here)

# ------------------------------------------------------------------------------ checks


def _check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is unknown; choose one of {list(choices)}.")
    return value


def _check_dense_memory(n: int, copies: float, dtype, device, name: str, what: str, alternative: str) -> None:
    check_memory(copies * n * n * itemsize(dtype), device, name=name, what=what, alternative=alternative)


def _points(X, name: str, device, dtype) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        if X.is_complex():
            raise TypeError(f"{name} must be real; got dtype {X.dtype}.")
        dev = resolve_device(device, X)
        dt = resolve_dtype(dtype, X)
        X = X.to(device=dev, dtype=dt)
    else:
        arr = np.asarray(X)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must be a real numeric array; got dtype {arr.dtype}.")
        X = torch.as_tensor(arr, dtype=resolve_dtype(dtype), device=resolve_device(device))
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} must be (n points, d features); got shape {tuple(X.shape)}.")
    if X.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 points; got {X.shape[0]}.")
    check_finite(X, name)
    return X


def _size(A: torch.Tensor) -> int:
    return A._nnz() if A.is_sparse else A.numel()


def _sort_work(m: int) -> float:
    """The work of sorting-based sparse assembly of m entries, for single_thread_if_small."""
    return m * max(1.0, math.log2(max(m, 2)))
