"""Shared pieces of the generators: argument checks, relative noise, the Dataset layout.

Every generator returns the same layout (see :func:`make_dataset`), so tutorials and
sessions can treat all problems alike: ``A`` maps ``x_true`` (column dim) to ``b_exact``
(row dim), and ``b = b_exact + e`` with ``||e|| = noise * ||b_exact||``.
"""

from __future__ import annotations

import numbers

import numpy as np
import xarray as xr

from ..core.checks import check_memory, check_real

HANSEN_2007 = (
    'P. C. Hansen, "Regularization Tools version 4.0 for Matlab 7.3", '
    "Numer. Algorithms 46 (2007), 189-194"
)


def check_int(value, name: str, *, minimum: int = 2, multiple_of: int = 1, why: str = "") -> int:
    """Return ``value`` as an int after checking it is an integer >= minimum and a multiple."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer (the number of points); got {value!r} of type "
            f"{type(value).__name__}. Pass an int such as {name}=64."
        )
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}. Pass a larger {name}.")
    if value % multiple_of:
        lower = max(multiple_of, value - value % multiple_of)
        kind = "even" if multiple_of == 2 else f"a multiple of {multiple_of}"
        raise ValueError(
            f"{name} must be {kind}{why}; got {value}. "
            f"Use {name}={lower} or {name}={lower + multiple_of}."
        )
    return value


def check_size(*shape: int, name: str = "n", arrays: float = 4.0) -> None:
    """Refuse a generator's size before anything is built: ``arrays`` float64 arrays of
    ``shape`` (the matrix, its copies in the Dataset and the work of building it) must fit
    :func:`spectrakit.core.checks.memory_limit` on the host."""
    count = 1.0
    for n in shape:
        count *= float(n)
    check_memory(
        8.0 * arrays * count, "cpu", name=name,
        what=f"a problem of shape {' x '.join(str(int(n)) for n in shape)} (float64, {arrays:g} arrays of it)",
        alternative=f"Use a smaller {name}.",
    )


def check_noise(noise) -> float:
    """Relative noise level: a finite float >= 0."""
    try:
        return check_real(noise, "noise")
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"{err} noise is the relative level ||e||/||b_exact||: use noise=0 for exact data "
            "or e.g. noise=0.01 for 1% noise."
        ) from None


def check_choice(value, name: str, choices) -> int:
    """``value`` must be one of ``choices`` (small integers such as example numbers)."""
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}; got {value!r}.")
    return int(value)


def resolve_seed(seed) -> int:
    """The seed actually used: ``seed`` itself, or a fresh one from the OS when None.

    Recording the seed in ``attrs`` lets any dataset be regenerated exactly, even one made
    with ``seed=None``.
    """
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            f"seed must be None or a non-negative integer (passed to numpy.random.default_rng); "
            f"got {seed!r}. Pass e.g. seed=0 for reproducible noise."
        )
    return int(seed)


def add_noise(b_exact: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``b_exact + e``, Gaussian ``e`` drawn from ``rng`` and scaled to ``noise * ||b_exact||``."""
    if noise == 0:
        return b_exact.copy()
    e = rng.standard_normal(b_exact.shape)
    e *= noise * np.linalg.norm(b_exact) / np.linalg.norm(e)
    return b_exact + e


def make_dataset(
    *,
    problem: str,
    A: np.ndarray,
    x_true: np.ndarray,
    row: tuple,
    col: tuple,
    noise: float,
    seed: int,
    rng: np.random.Generator | None = None,
    description: str,
    reference: str,
    x_attrs: dict | None = None,
    extra_coords: dict | None = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Assemble the common layout.

    ``row`` and ``col`` are ``(dim, values, attrs)`` for the row (data) and column
    (solution) dims. ``b_exact = A @ x_true`` always, so ``A @ x_true == b_exact`` holds
    exactly; ``b`` adds relative Gaussian noise drawn from ``rng`` (default
    ``numpy.random.default_rng(seed)``).
    """
    row_dim, row_values, row_attrs = row
    col_dim, col_values, col_attrs = col
    if row_dim == col_dim:  # a programming error here, not a user error
        raise AssertionError("row and column dims must differ")
    A = np.ascontiguousarray(A, dtype=np.float64)
    x_true = np.asarray(x_true, dtype=np.float64)
    b_exact = A @ x_true
    if rng is None:
        rng = np.random.default_rng(seed)
    b = add_noise(b_exact, noise, rng)
    coords = {
        row_dim: (row_dim, np.asarray(row_values), dict(row_attrs)),
        col_dim: (col_dim, np.asarray(col_values), dict(col_attrs)),
    }
    coords.update(extra_coords or {})
    ds = xr.Dataset(
        {
            "A": ((row_dim, col_dim), A, {"long_name": "forward operator (discretized kernel)"}),
            "b": ((row_dim,), b, {"long_name": "data (b_exact plus noise)"}),
            "b_exact": ((row_dim,), b_exact, {"long_name": "noise-free data, A @ x_true"}),
            "x_true": ((col_dim,), x_true, {"long_name": "exact solution", **(x_attrs or {})}),
        },
        coords=coords,
    )
    ds.attrs.update(
        problem=problem,
        noise=float(noise),
        seed=int(seed),
        noise_norm=float(np.linalg.norm(b - b_exact)),
        description=description,
        reference=reference,
    )
    ds.attrs.update(attrs or {})
    return ds
