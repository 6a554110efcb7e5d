"""Parameter choice on a regularization path: :func:`choose` picks the ``reg`` a criterion
(GCV, leave-one-out, the L-curve's corner, the discrepancy principle, quasi-optimality)
selects on the grid of a path from :func:`spectrakit.regularize` (or any Dataset with the
same variables: :func:`spectrakit.smooth`, :func:`spectrakit.xr.graph_filter`...).

The module is ``spectrakit.xr.choose``; the package attribute of that name is the
function (``from spectrakit.xr import choose``); reach the module through
``importlib.import_module("spectrakit.xr.choose")`` or ``sys.modules``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..core.checks import check_real

__all__ = ["choose"]


def _criterion_values(path: xr.Dataset, name: str, hint: str) -> xr.DataArray:
    if name not in path:
        raise ValueError(f"path has no {name!r}: {hint}")
    values = path[name]
    extra = [d for d in values.dims if d != "reg"]
    if extra:
        raise ValueError(
            f"path has extra dims {extra}: choose works on one right-hand side; select one first, "
            f"e.g. path.isel({extra[0]}=0)."
        )
    return values


def choose(path: xr.Dataset, criterion: str, **options) -> float:
    """The ``reg`` a parameter-choice criterion picks on the path's grid.

    Parameters
    ----------
    path : Dataset from :func:`regularize` with a ``reg`` grid (not modified).
    criterion : {"gcv", "loo", "lcurve", "discrepancy", "quasi_optimality"}
        * ``gcv``, ``loo``: the minimizer;
        * ``lcurve``: the maximum curvature of the L-curve (its corner);
        * ``discrepancy``: the largest reg with ``||r|| <= tau * noise_norm``
          (option ``tau >= 1``, default 1; needs ``noise_norm`` in :func:`regularize`);
        * ``quasi_optimality``: the reg_i minimizing ``||x(reg_{i+1}) - x(reg_i)||`` on a
          geometric grid (steps between identical solutions, as on a TSVD rank's
          stretch of the grid, are skipped).

    Examples
    --------
    >>> import numpy as np, spectrakit
    >>> A = np.vander(np.linspace(0, 1, 30), 10, increasing=True)
    >>> rng = np.random.default_rng(0)
    >>> b = A @ np.ones(10) + 1e-3 * rng.standard_normal(30)
    >>> path = spectrakit.regularize(A, b, reg=np.logspace(-12, 0, 49), device="cpu")
    >>> 1e-12 <= spectrakit.choose(path, "gcv") <= 1.0
    True
    """
    if not isinstance(path, xr.Dataset):
        raise TypeError(
            f"path must be an xarray.Dataset over 'reg' (what spectrakit.regularize or smooth returns for a grid); "
            f"got {type(path).__name__}."
        )
    if "reg" not in path.dims or path.sizes["reg"] < 2:
        raise ValueError("path needs a grid of at least 2 reg values (a dim 'reg'); pass an array as reg.")
    reg = path["reg"].values
    allowed = {"discrepancy": {"tau"}}.get(criterion, set())
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"criterion {criterion!r} takes no option(s) {sorted(unknown)}.")
    if criterion in ("gcv", "loo"):
        values = _criterion_values(path, criterion, "compute the path with spectrakit.regularize.").values
        return float(reg[_nanarg(values, np.nanargmin, criterion)])
    if criterion == "lcurve":
        values = _criterion_values(path, "curvature", "compute the path with spectrakit.regularize.").values
        return float(reg[_nanarg(values, np.nanargmax, criterion)])
    if criterion == "discrepancy":
        tau = check_real(options.get("tau", 1.0), "tau", minimum=1.0)  # the discrepancy principle's safety factor
        values = _criterion_values(path, "discrepancy", "pass noise_norm= to spectrakit.regularize.").values
        ok = values <= tau
        if not ok.any():
            raise ValueError(
                f"no reg on the grid has ||r|| <= tau * noise_norm (tau={tau}); the smallest ratio is "
                f"{np.nanmin(values):.3g}. Extend the grid to smaller reg or check noise_norm."
            )
        return float(reg[ok].max())
    if criterion == "quasi_optimality":
        x = path[path.attrs.get("solution", "x")]
        core_dims = [d for d in x.dims if d != "reg" and d not in path["residual_norm"].dims]
        extra = [d for d in x.dims if d != "reg" and d not in core_dims]
        if extra:
            raise ValueError(f"path has extra dims {extra}: select one right-hand side first, e.g. path.isel({extra[0]}=0).")
        order = np.argsort(reg)
        r = reg[order]
        if (r <= 0).any() or not np.allclose(np.diff(np.log(r)), np.log(r[1] / r[0]), rtol=1e-6, atol=0):
            raise ValueError("quasi_optimality needs a geometric reg grid (e.g. numpy.logspace) of positive values.")
        xs = x.transpose("reg", ...).values[order].reshape(len(order), -1)
        steps = np.linalg.norm(np.diff(xs, axis=0), axis=-1)
        # a discrete native parameter (rank, iteration count) repeats solutions over
        # stretches of the grid: compare distinct neighbours only
        scale = np.linalg.norm(xs, axis=-1).max()
        steps[steps <= 1e-12 * scale] = np.nan
        return float(r[:-1][_nanarg(steps, np.nanargmin, criterion)])
    raise ValueError(
        f"criterion={criterion!r} is unknown; choose one of 'gcv', 'loo', 'lcurve', 'discrepancy', 'quasi_optimality'."
    )


def _nanarg(values, fn, criterion):
    finite = np.where(np.isfinite(values), values, np.nan)
    if np.isnan(finite).all():
        raise ValueError(f"criterion {criterion!r} is undefined everywhere on this path (all NaN or inf).")
    return int(fn(finite))
