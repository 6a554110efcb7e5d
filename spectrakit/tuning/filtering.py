"""A GUI-free session for regularization as spectral filtering.

The decomposition and the data stay on the device; each :meth:`RegularizationSession.update`
costs a few vector operations (filter factors, one matrix-vector product), and the whole
path with every criterion is computed once per method and cached.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..core.checks import check_reg
from ..core.threads import single_thread_if_small
from ..xr import filtering as xf

CRITERIA = ("gcv", "loo", "lcurve", "discrepancy", "quasi_optimality")


class RegularizationSession:
    """One problem ``A x ~ b``, decomposed once, answering any ``reg`` and method.

    Parameters
    ----------
    A, b : arrays, tensors or DataArrays (as in :func:`spectrakit.regularize`)
    L, x_true, noise_norm, device, dtype : as in :func:`spectrakit.regularize`
    reg : float, optional
        The starting strength (default: the GCV choice on the grid).
    reg_grid : 1-D array, optional
        The grid of the cached path (default: 201 geometric values across the spectrum,
        from ``1e-16 * s_max`` to ``10 * s_max``).
    method : str or callable
        The starting filter; ``method_options`` go to it.

    Examples
    --------
    >>> import spectrakit
    >>> ds = spectrakit.datasets.shaw(64, noise=1e-3, seed=0)
    >>> session = spectrakit.RegularizationSession.from_problem(ds, device="cpu")
    >>> out = session.update(reg=1e-4)
    >>> out["x"].dims
    ('t',)
    >>> float(session.path["gcv"].min()) > 0
    True
    """

    def __init__(
        self, A, b, *, L=None, x_true=None, noise_norm=None, reg=None, reg_grid=None,
        method="tikhonov", device=None, dtype=None, **method_options,
    ):
        self.problem = xf.prepare(A, b, L=L, x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype)
        self.method = method
        self.method_options = dict(method_options)
        self.reg_grid = self._default_grid() if reg_grid is None else check_reg(reg_grid)
        if self.reg_grid.shape[0] < 3:
            raise ValueError("reg_grid needs at least 3 values to score the path.")
        self._paths: dict = {}
        if reg is None:
            reg = xf.choose(self._single_rhs(self.path), "gcv")
        self.reg = float(check_reg(reg)[0])

    @classmethod
    def from_problem(cls, problem: xr.Dataset, **kwargs) -> "RegularizationSession":
        """A session on a :mod:`spectrakit.datasets` problem (A, b, x_true, noise_norm)."""
        for name in ("A", "b"):
            if name not in problem:
                raise ValueError(f"problem has no variable {name!r}; expected a spectrakit.datasets problem.")
        kwargs.setdefault("x_true", problem.get("x_true"))
        noise = problem.attrs.get("noise_norm")
        if noise:
            kwargs.setdefault("noise_norm", noise)
        return cls(problem["A"], problem["b"], **kwargs)

    def _default_grid(self) -> np.ndarray:
        s = self.problem.basis.s
        s_max = float(s.max()) if s.numel() else 1.0
        return np.logspace(np.log10(s_max) - 16, np.log10(s_max) + 1, 201)

    @staticmethod
    def _single_rhs(path: xr.Dataset) -> xr.Dataset:
        extra = {d: 0 for d in path["residual_norm"].dims if d != "reg"}
        return path.isel(extra) if extra else path

    # ------------------------------------------------------------------ answers

    def update(self, reg=None, method=None, **method_options) -> xr.Dataset:
        """The solution, norms and filter factors for one ``reg`` (and method).

        Computed from the cached decomposition: filter factors and one product with V
        (on one CPU thread when that is small work, see :mod:`spectrakit.core.threads`).
        Passing ``method`` replaces the method options by ``method_options``; passing only
        options updates them.
        """
        if method is not None:
            self.method, self.method_options = method, dict(method_options)
        elif method_options:
            self.method_options = {**self.method_options, **method_options}
        if reg is not None:
            arr = check_reg(reg)
            if np.ndim(reg) != 0:
                raise ValueError(f"reg must be a scalar in update (use .path for a grid); got shape {arr.shape}.")
            self.reg = float(arr[0])
        basis = self.problem.basis
        work = basis.V.shape[0] * basis.V.shape[1] * self.problem.b.shape[0]
        with single_thread_if_small(work, self.problem.device):
            reg_arr, f, native, x, crit = xf.path_tensors(
                self.problem, self.reg, self.method, criteria=False, **self.method_options
            )
        return xf.to_dataset(self.problem, reg_arr, f, native, x, crit, self.method, scalar=True)

    @property
    def path(self) -> xr.Dataset:
        """The whole path over ``reg_grid`` for the current method, computed once."""
        key = (self.method, tuple(sorted(self.method_options.items())))
        if key not in self._paths:
            reg_arr, f, native, x, crit = xf.path_tensors(
                self.problem, self.reg_grid, self.method, **self.method_options
            )
            self._paths[key] = xf.to_dataset(self.problem, reg_arr, f, native, x, crit, self.method, scalar=False)
        return self._paths[key]

    def choices(self) -> dict[str, float]:
        """Each criterion's choice of reg on the grid (the discrepancy principle needs noise_norm)."""
        path = self._single_rhs(self.path)
        out = {}
        for criterion in CRITERIA:
            if criterion == "discrepancy" and "discrepancy" not in path:
                continue  # the noise level is unknown
            out[criterion] = xf.choose(path, criterion)
        return out
