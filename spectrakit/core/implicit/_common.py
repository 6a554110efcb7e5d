"""Shared argument checks and record bookkeeping of the implicit-regularization modules (private).

Part of :mod:`spectrakit.core.implicit` (read its docstring first).
"""

from __future__ import annotations

import torch

from ..checks import check_finite


_BLOCK = 2**22  # elements per chunk when a history is post-processed in blocks


# ------------------------------------------------------------------------------ checks


def _check_tensor(x, name: str, ndim: int | None = None, what: str = "") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor; got {type(x).__name__} (convert with torch.as_tensor)."
        )
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a real floating-point tensor; got dtype {x.dtype}.")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D{what}; got shape {tuple(x.shape)}.")
    check_finite(x.detach(), name)
    return x


def _recorded_steps(steps: int, record_every: int) -> list[int]:
    rec = list(range(0, steps + 1, record_every))
    if rec[-1] != steps:
        rec.append(steps)  # the final state is always recorded
    return rec
