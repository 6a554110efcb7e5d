"""Filter factors ``h(s, reg)`` on labelled grids: the function every spectral filter of
spectrakit is, over ``(reg, mode)``.

Part of the ``filtering`` capability (:mod:`spectrakit.xr.filtering` solves and scores
problems with these filters); kept in its own module so the filter itself can be drawn and
compared without a problem to solve.
"""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from ..core import filtering as core
from ..core.checks import check_reg
from ._apply import compute_settings, raw, shape_of, tensor_attrs, to_numpy, to_tensor

__all__ = ["filter_factors"]


def filter_factors(s, reg, method="tikhonov", *, device=None, dtype=None, **options) -> xr.DataArray:
    """The filter factors ``h(s, reg)`` of a spectral filter for every ``reg`` and spectral
    value ``s = sigma**2`` (:func:`spectrakit.core.filtering.filter_factors`).

    ``tikhonov`` is ``s / (s + reg)``, ``tsvd`` ``1 if s >= reg``, ``landweber``
    ``1 - (1 - omega s)**k`` with ``k = round(1/(omega reg))``, ``showalter`` ``1 -
    exp(-s/reg)``, ``iterated_tikhonov`` ``1 - (reg/(s + reg))**order``, ``heat``
    ``exp(-reg/s)``, ``butterworth`` ``1 / (1 + (reg/s)**order)``, or a callable
    ``h(s, reg)``; every one is near 1 where ``s >> reg`` and near 0 where ``s << reg``.

    Parameters
    ----------
    s : 1-D numpy array, tensor or DataArray
        Spectral values (squared singular values, eigenvalues), ``>= 0``. A DataArray keeps
        its dim and coords; else the dim is ``mode`` with ``s`` as a coordinate on it.
    reg : float or 1-D grid of float >= 0
        A scalar gives no ``reg`` dim (its value is in ``attrs``).
    method : str or callable
    options
        The method's options (``omega``, ``n_iter`` for landweber, ``order``).

    Returns
    -------
    xarray.DataArray
        Over ``(reg, mode)``; the method's native parameter (``rank`` for tsvd,
        ``n_iter`` for landweber) as a coordinate on ``reg``; attrs ``method``,
        ``device``, ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> h = filter_factors(np.array([4.0, 1.0, 0.25]), [1.0, 4.0])
    >>> h.dims, h.sel(reg=1.0).values.tolist()
    (('reg', 'mode'), [0.8, 0.5, 0.2])
    >>> filter_factors([4.0, 1.0, 0.25], 1.0, "tsvd").values.tolist()
    [1.0, 1.0, 0.0]
    """
    if len(shape_of(s)) != 1:
        raise ValueError(f"s must be 1-D (one spectral value per mode); got shape {shape_of(s)}.")
    reg_arr = check_reg(reg)
    device, dtype = compute_settings(device, dtype, s)
    s_t = to_tensor(s, "s", device, dtype)
    if bool((s_t < 0).any()):
        raise ValueError("s must be >= 0 (squared singular values or eigenvalues).")
    f, native = core.filter_factors(s_t, torch.as_tensor(reg_arr, dtype=s_t.dtype, device=s_t.device), method,
                                    **options)
    if isinstance(s, xr.DataArray):
        dim = s.dims[0]
        coords = {k: v for k, v in s.coords.items() if v.dims == (dim,)}
        if dim not in coords:
            coords[dim] = np.arange(s_t.shape[0])
        if s.name is not None and s.name not in coords:
            coords[s.name] = (dim, np.asarray(s.values))
    else:
        dim = "mode"
        coords = {"mode": np.arange(s_t.shape[0]), "s": ("mode", to_numpy(s_t))}
    out = xr.DataArray(to_numpy(f), dims=("reg", dim), coords={"reg": reg_arr, **coords}, name="filter_factors")
    for name, t in native.items():
        out.coords[name] = ("reg", to_numpy(t.reshape(-1)))
    out.attrs.update(long_name="filter factor h(s, reg)", method=core.method_name(method),
                     **tensor_attrs(s_t))
    if np.ndim(raw(reg)) == 0:
        out = out.squeeze("reg", drop=False)
        out.attrs["reg"] = float(reg_arr[0])
    return out
