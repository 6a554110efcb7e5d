"""The bridge between labelled inputs (numpy, torch, xarray) and core's tensors.

Every capability converts through here, so device, dtype and the checks on user data are
the same everywhere: numpy and xarray inputs go to the resolved device in float64 unless
``dtype`` says otherwise; torch tensors stay where they are; results come back as
numpy-backed xarray objects.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from ..core.checks import check_finite
from ..options import resolve_device, resolve_dtype


def raw(value):
    """The data of a DataArray, tensor or array-like without copying or converting."""
    if isinstance(value, xr.DataArray):
        return value.data
    return value


def compute_settings(device, dtype, *inputs) -> tuple[torch.device, torch.dtype]:
    """Device and dtype by DESIGN.md's precedence, looking at tensor inputs."""
    tensors = [raw(v) for v in inputs]
    return resolve_device(device, *tensors), resolve_dtype(dtype, *tensors)


def to_tensor(value, name: str, device, dtype) -> torch.Tensor:
    """A finite tensor on ``device`` in ``dtype``.

    It may share memory with the input (no copy when device and dtype already match):
    spectrakit never writes into it.
    """
    data = raw(value)
    if isinstance(data, torch.Tensor):
        t = data.detach()
    else:
        arr = np.asarray(data)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}.")
        t = torch.as_tensor(np.ascontiguousarray(arr))
    check_finite(t, name)
    return t.to(device=device, dtype=dtype)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """The tensor as a numpy array on the host (shares memory with a CPU tensor)."""
    return t.detach().to("cpu").numpy()


def shape_of(value) -> tuple[int, ...]:
    """The shape of any input, read without converting it (it may be a broadcast view)."""
    return tuple(getattr(raw(value), "shape", np.shape(raw(value))))
