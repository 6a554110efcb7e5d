"""Input checks shared by every capability: each error names the argument, says what was
wrong and what to do instead."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np
import torch

_GIB = 2.0**30


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int, or an error: not an integer (bools refused), or below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def seeded_generator(seed) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (an int >= 0), or from fresh entropy
    for ``seed=None``: draws made on the CPU and then moved give the same numbers on every
    device.

    Examples
    --------
    >>> a, b = seeded_generator(3), seeded_generator(3)
    >>> bool(torch.equal(torch.randn(4, generator=a), torch.randn(4, generator=b)))
    True
    """
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(check_int(seed, "seed", 0))
    return gen


def check_real(value, name: str, *, minimum: float | None = 0.0, strict: bool = False,
               allow_none: bool = False) -> float | None:
    """``value`` as a finite Python float, or an error that names ``name``.

    Accepted: a real number (int, float, numpy scalar, ...; bools are refused) or a tensor
    or array with one element. Refused: anything else (TypeError), NaN and inf
    (ValueError), and a value below ``minimum`` (ValueError), or equal to it with
    ``strict``; ``minimum=None`` sets no bound.

    Parameters
    ----------
    value : real number, one-element torch.Tensor or numpy.ndarray, or None
    name : str
        The argument's name, for the error message.
    minimum : float or None, default 0.0
        The smallest value allowed (the default: non-negative); None for any finite number.
    strict : bool, default False
        Refuse ``minimum`` itself too (``strict=True`` with the default: positive).
    allow_none : bool, default False
        Return None for None instead of refusing it.

    Examples
    --------
    >>> check_real(3, "lr", strict=True)
    3.0
    >>> check_real(torch.tensor([0.5]), "rho")
    0.5
    >>> check_real(-2.5, "alpha", minimum=None)
    -2.5
    >>> check_real(0.0, "lr", strict=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be > 0; got 0.0.
    >>> check_real(True, "reg")
    Traceback (most recent call last):
    ...
    TypeError: reg must be a real number; got True.
    """
    if value is None and allow_none:
        return None
    if (isinstance(value, torch.Tensor) and value.numel() == 1) or (
            isinstance(value, np.ndarray) and value.size == 1):
        value = value.item()  # a complex or bool element is refused below
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}.")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite; got {v}.")
    if minimum is not None and (v <= minimum if strict else v < minimum):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum:g}; got {v}.")
    return v


def check_finite(value, name: str) -> None:
    """Raise if ``value`` (tensor or array) holds NaN or inf."""
    if isinstance(value, torch.Tensor):
        # a sum of finite values is finite unless it overflows: one cheap pass, and the
        # counting (for the message) only when something may be wrong
        if value.is_floating_point() and bool(torch.isfinite(value.sum())):
            return
        bad = int((~torch.isfinite(value)).sum())
        size = value.numel()
    else:
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}.")
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        size = arr.size
    if bad:
        raise ValueError(
            f"{name} has {bad} non-finite value(s) (NaN or inf) out of {size}: "
            f"drop or fill them first (e.g. with xarray's .dropna or .fillna)."
        )


def reg_count(reg) -> int:
    """How many values ``reg`` holds (a scalar, a sequence, an array, a DataArray or a
    tensor), read without converting it: sizes are checked before values."""
    if isinstance(reg, torch.Tensor):
        return int(reg.numel())
    data = getattr(reg, "data", None) if not isinstance(reg, np.ndarray) else reg
    if isinstance(data, torch.Tensor):
        return int(data.numel())
    return int(np.size(reg))


def check_reg(reg, name: str = "reg") -> np.ndarray:
    """Return ``reg`` as a new 1-D float64 array after checking it is finite and >= 0.

    Accepted: a real scalar, a list or tuple, a numpy array, a DataArray or a torch tensor
    of real numbers. Refused by name: bools (``reg=True`` is not a strength of 1), strings
    and complex numbers (TypeError), NaN, inf, negative values and more than one dim
    (ValueError).

    >>> check_reg([0.0, 1e-3]).tolist()
    [0.0, 0.001]
    >>> check_reg(True)
    Traceback (most recent call last):
    ...
    TypeError: reg must be real numbers (a regularization strength or a grid of them); got True.
    """
    data = reg.detach().cpu() if isinstance(reg, torch.Tensor) else getattr(reg, "values", reg)
    raw_arr = np.asarray(data.numpy() if isinstance(data, torch.Tensor) else data)
    if raw_arr.dtype == bool or raw_arr.dtype.kind not in "iuf" or isinstance(reg, bool):
        raise TypeError(f"{name} must be real numbers (a regularization strength or a grid of them); got {reg!r}.")
    # a copy: the grid is kept in results, and it may be a read-only view of the caller's
    arr = np.array(raw_arr, dtype=float)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D grid; got shape {arr.shape}.")
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError(f"{name} is empty: pass a scalar or at least one value.")
    check_finite(arr, name)
    if (arr < 0).any():
        raise ValueError(
            f"{name} must be >= 0 (it is a regularization strength); got {arr[arr < 0][0]!r}. "
            "A geometric grid such as numpy.logspace(-8, 0, 50) is the usual choice."
        )
    return arr


def available_bytes(device: torch.device) -> float:
    """Memory a new allocation can use on ``device`` (free GPU memory, or available RAM)."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return float(free)
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # not POSIX: do not block the user
        return math.inf


def memory_limit(device) -> float:
    """The most bytes one computation may ask for on ``device``: ``set_options(max_memory=...)``
    when set, else ``MEMORY_FRACTION`` of the memory available there now."""
    from ..options import MEMORY_FRACTION, get_options

    limit = get_options().get("max_memory")
    return float(limit) if limit is not None else MEMORY_FRACTION * available_bytes(device)


def check_memory(nbytes: float, device, *, name: str, what: str, alternative: str) -> None:
    """Raise MemoryError before allocating when ``nbytes`` passes :func:`memory_limit`.

    The one estimate every entry point makes before an allocation that grows with an
    argument; the message names the argument, the estimate, the limit and the alternative.
    """
    limit = memory_limit(device)
    if nbytes > limit:
        source = "set_options(max_memory=...)" if _max_memory_set() else "80% of the memory available"
        raise MemoryError(
            f"{name}: {what} needs about {_size(nbytes)} on {device}, over the limit of {_size(limit)} "
            f"({source}). {alternative}"
        )


def _max_memory_set() -> bool:
    from ..options import get_options

    return get_options().get("max_memory") is not None


def _size(nbytes: float) -> str:
    return f"{nbytes / _GIB:.3g} GiB" if nbytes >= 2**28 else f"{nbytes / 2**20:.3g} MiB"


def itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()
