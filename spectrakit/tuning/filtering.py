"""A GUI-free session for regularization as spectral filtering.

The decomposition and the data stay on the device; each :meth:`RegularizationSession.update`
costs a few vector operations (filter factors, one matrix-vector product), and the whole
path with every criterion is computed once per method and cached.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import xarray as xr

from ..core.threads import single_thread_if_small
from ..xr import filtering as xf
from ._session import FilterSession

CRITERIA = ("gcv", "loo", "lcurve", "discrepancy", "quasi_optimality")


class RegularizationStep(NamedTuple):
    """One answer of :class:`RegularizationSession` as tensors (what :meth:`~RegularizationSession.solve`
    returns): ``reg`` (1,) numpy, filter factors ``f`` (1, k), the ``native`` parameter,
    the solution ``x`` (B, 1, n) and the norms ``crit``; ``method`` and ``options`` name the filter."""

    reg: np.ndarray
    f: object
    native: dict
    x: object
    crit: dict
    method: object
    options: dict


class RegularizationSession(FilterSession):
    """One problem ``A x ~ b``, decomposed once, answering any ``reg`` and method.

    Parameters
    ----------
    A, b : arrays, tensors or DataArrays (as in :func:`spectrakit.regularize`)
    L, x_true, noise_norm, device, dtype : as in :func:`spectrakit.regularize`
    reg : float, optional
        The starting strength (default: the GCV choice on the grid).

    The session contract (:mod:`spectrakit.tuning._session`): ``solve(reg=, method=,
    **method_options)`` answers as tensors and changes nothing; ``update`` (the same
    arguments) labels the answer and makes its settings the ones in force, or raises and
    changes nothing; ``path`` is the whole grid for the method in force (``path_for(method=...)``
    for another), cached; ``choices()`` each criterion's reg.
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

    criteria = CRITERIA
    _settings = ("reg", "method", "method_options")

    def __init__(
        self, A, b, *, L=None, x_true=None, noise_norm=None, reg=None, reg_grid=None,
        method="tikhonov", device=None, dtype=None, **method_options,
    ):
        self.problem = xf.prepare(A, b, L=L, x_true=x_true, noise_norm=noise_norm, device=device, dtype=dtype)
        self.method, self.method_options, self.reg = method, dict(method_options), math.nan
        self._set_grid(reg_grid, self._default_grid)
        self.reg = self._scalar_reg(self._default_reg() if reg is None else reg, math.nan)

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

    # ------------------------------------------------------------------ what front ends show

    @property
    def device(self):
        """The torch device the decomposition lives on."""
        return self.problem.device

    @property
    def penalty(self) -> str:
        """The penalty: "identity", a difference operator's name, "matrix" or "kernel"."""
        return self.problem.penalty

    def picard(self) -> xr.Dataset:
        """:func:`spectrakit.picard` from the cached decomposition: ``coef`` ``|u_i^T b|`` and
        ``ratio`` ``|u_i^T b| / sigma_i`` over ``mode``, coordinates ``s`` and ``sigma``."""
        return xf.picard_of(self.problem)

    def truth(self) -> xr.DataArray | None:
        """The true solution of the first right-hand side over the solution's dim (with its
        coords), or None when it is unknown."""
        if self.problem.x_true is None:
            return None
        col, values = self.solution_axis()
        return xr.DataArray(np.asarray(self.problem.x_true[0].detach().cpu(), dtype=float), dims=col,
                            coords={col: values})

    def solution_axis(self) -> tuple[str, np.ndarray]:
        """The solution's dim and its coordinate values (0..n-1 without a coordinate)."""
        p = self.problem
        col = p.col_coords.get(p.col)
        return p.col, np.asarray(col.values if col is not None else np.arange(p.basis.shape[1]))

    def _default_grid(self) -> np.ndarray:
        s = self.problem.basis.s
        s_max = float(s.max()) if s.numel() else 1.0
        return np.logspace(np.log10(s_max) - 16, np.log10(s_max) + 1, 201)

    # ------------------------------------------------------------------ answers

    def _target(self, reg=None, method=None, **method_options) -> dict:
        """Passing ``method`` replaces the method options by ``method_options``; passing
        only options updates them (a bad method or option raises in :meth:`_solve`, before
        anything changes)."""
        if method is not None:
            options = dict(method_options)
        else:
            method, options = self.method, {**self.method_options, **method_options}
        return dict(reg=self._scalar_reg(reg, self.reg), method=method, method_options=options)

    def _solve(self, target: dict) -> RegularizationStep:
        """Filter factors and one product with V (on one CPU thread when that is small
        work, see :mod:`spectrakit.core.threads`)."""
        basis = self.problem.basis
        work = basis.V.shape[0] * basis.V.shape[1] * self.problem.b.shape[0]
        method, options = target["method"], target["method_options"]
        with single_thread_if_small(work, self.problem.device):
            reg_arr, f, native, x, crit = xf.path_tensors(self.problem, target["reg"], method, criteria=False, **options)
        return RegularizationStep(reg_arr, f, native, x, crit, method, options)

    def to_dataset(self, st: RegularizationStep) -> xr.Dataset:
        """The solution, norms and filter factors for one ``reg``, labelled as
        :func:`spectrakit.regularize` labels a scalar ``reg``."""
        return xf.to_dataset(self.problem, st.reg, st.f, st.native, st.x, st.crit, st.method, scalar=True)

    def _path_key(self, target: dict):
        return (target["method"], tuple(sorted(target["method_options"].items())))

    def _compute_path(self, target: dict) -> xr.Dataset:
        """The whole path over ``reg_grid`` for a method: every criterion in one batch."""
        method, options = target["method"], target["method_options"]
        reg_arr, f, native, x, crit = xf.path_tensors(self.problem, self.reg_grid, method, **options)
        return xf.to_dataset(self.problem, reg_arr, f, native, x, crit, method, scalar=False)
