"""Global options: where and in which precision spectrakit computes.

Precedence for the device (DESIGN.md): an explicit ``device=`` argument wins; else the
device of a torch tensor input; else :func:`set_options` / the ``SPECTRAKIT_DEVICE``
environment variable; else CUDA when available, else the CPU. Nothing here touches CUDA
at import time.
"""

from __future__ import annotations

import contextlib
import os

import torch

_OPTIONS: dict[str, object] = {"device": None, "dtype": None, "max_memory": None}

#: without ``max_memory``, an allocation may use this fraction of the memory available on
#: its device when it is checked (the rest is left to the data already there and to the OS)
MEMORY_FRACTION = 0.8

_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    torch.float32: torch.float32,
    torch.float64: torch.float64,
}


def as_device(device, *, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device``, or a ValueError naming ``name`` with the kinds
    spectrakit computes on (torch's own error lists every backend it was built with)."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"{name} must be a torch.device or its name ('cpu', 'cuda', 'cuda:1'); got {device!r}.")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"{name}={device!r} is not a device: use 'cpu', 'cuda' or 'cuda:<index>' (or 'mps')."
        ) from None


def _as_dtype(dtype, *, name="dtype"):
    if dtype is None:
        return None
    if isinstance(dtype, str) or isinstance(dtype, torch.dtype):
        if dtype in _DTYPES:
            return _DTYPES[dtype]
    else:  # numpy dtypes and types
        import numpy as np

        try:
            key = np.dtype(dtype).name
        except TypeError:
            key = None
        if key in _DTYPES:
            return _DTYPES[key]
    raise ValueError(
        f"{name}={dtype!r} is not supported: use torch.float64 (default for numpy and "
        "xarray inputs, needed by ill-posed problems) or torch.float32 (faster on a GPU)."
    )


class set_options(contextlib.ContextDecorator):
    """Set spectrakit's defaults, globally or inside a ``with`` block.

    Parameters
    ----------
    device : str or torch.device, optional
        Where numpy and xarray inputs are computed (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    dtype : torch.dtype or str, optional
        Precision for numpy and xarray inputs (default float64).
    max_memory : float, optional
        The most bytes one computation may ask for. Every entry point estimates what it
        will allocate before it allocates, and refuses with a ``MemoryError`` (the estimate,
        the limit and what to do instead) when the estimate passes the limit. Default (None):
        ``MEMORY_FRACTION`` (0.8) of the memory available on the device at the time.

    Examples
    --------
    >>> import spectrakit
    >>> with spectrakit.set_options(device="cpu"):
    ...     spectrakit.get_options()["device"]
    'cpu'
    """

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(_OPTIONS)
        if unknown:
            raise ValueError(
                f"set_options got unknown option(s) {sorted(unknown)}; known: {sorted(_OPTIONS)}"
            )
        if "dtype" in kwargs:
            kwargs["dtype"] = _as_dtype(kwargs["dtype"])
        if kwargs.get("device") is not None:
            kwargs["device"] = str(as_device(kwargs["device"]))
        if kwargs.get("max_memory") is not None:
            m = kwargs["max_memory"]
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not (m > 0 and m < float("inf")):
                raise ValueError(f"max_memory must be a finite number of bytes > 0 (or None); got {m!r}.")
            kwargs["max_memory"] = float(m)
        self._old = dict(_OPTIONS)
        _OPTIONS.update(kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _OPTIONS.clear()
        _OPTIONS.update(self._old)
        return False


def get_options() -> dict:
    """The current options as a new dict (changing it changes nothing)."""
    return dict(_OPTIONS)


def resolve_device(device=None, *tensors) -> torch.device:
    """The device to compute on, by DESIGN.md's precedence."""
    if device is not None:
        return as_device(device)
    for t in tensors:
        if isinstance(t, torch.Tensor):
            return t.device
    if _OPTIONS["device"] is not None:
        return torch.device(_OPTIONS["device"])
    env = os.environ.get("SPECTRAKIT_DEVICE")
    if env:
        return as_device(env, name="SPECTRAKIT_DEVICE")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype=None, *tensors) -> torch.dtype:
    """The dtype to compute in: explicit, else a floating tensor input's, else float64."""
    if dtype is not None:
        return _as_dtype(dtype)
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.dtype in (torch.float32, torch.float64):
            return t.dtype
    return _OPTIONS["dtype"] or torch.float64
