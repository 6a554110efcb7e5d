"""The one session contract every slider-driven capability follows.

A session holds a decomposition (or other expensive state) computed once, and a few
*settings* in force (``reg``, a Sobolev order, a Chebyshev order, ...). It answers:

* :meth:`Session.solve` ``(**settings)``: the answer as tensors on the device. Pure: it
  changes nothing, so a front end can compute before it commits.
* :meth:`Session.update` ``(**settings)``: the labelled answer (an xarray Dataset), and
  the settings become the ones in force. Atomic: if it raises, the session is exactly as
  before, and the next valid update works.
* :attr:`Session.path`: the whole grid at the settings in force, computed once and cached;
  :meth:`Session.path_for` ``(**settings)`` for other settings.
* :meth:`Session.choices`: each criterion's choice on the grid (``{}`` where none applies).

:class:`FilterSession` is the spectral case: a ``reg`` over a ``reg_grid``, the criteria
of :mod:`spectrakit.core.spectral` on the path, and :func:`spectrakit.choose` picking
from it. A capability supplies ``_target`` (validate and complete the settings),
``_solve`` (tensors), ``to_dataset`` (labels) and ``_compute_path``; the contract, the
atomic commit and the caches live here. ``step`` is not a session word: it is the training
counter of the streaming sessions (:mod:`spectrakit.tuning._streaming`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..core.checks import check_memory, check_reg, reg_count
from ..xr.choose import choose

__all__ = ["Session", "FilterSession"]


class Session:
    """The generic base: ``solve`` pure, ``update`` atomic, ``path`` cached, ``choices``.

    A subclass names its settings in ``_settings`` (attribute names) and provides:

    * ``_target(*args, **params) -> dict``: the settings a call asks for, checked, with the
      ones it leaves out taken from those in force (raises on bad input; changes nothing);
    * ``_solve(target) -> step``: the answer as tensors (changes nothing);
    * ``to_dataset(step) -> xr.Dataset``: its labels;
    * ``_path_key(target)`` and ``_compute_path(target)`` when it has a path.
    """

    _settings: tuple[str, ...] = ()

    # ------------------------------------------------------------------ the contract

    @property
    def settings(self) -> dict[str, Any]:
        """The settings in force (what :meth:`update` and :meth:`path` use by default)."""
        return {name: getattr(self, name) for name in self._settings}

    def check(self, *args, **params) -> dict:
        """The settings a call with these arguments would use, checked (a bad one raises,
        naming it); changes nothing and computes nothing."""
        return self._target(*args, **params)

    def solve(self, *args, **params):
        """The answer for these settings as tensors on the device; changes nothing.

        Settings left out are the ones in force. What a live front end calls on every
        slider move (labelling costs more than the vector operations themselves).
        """
        return self._solve(self._target(*args, **params))

    def apply(self, *args, **params):
        """:meth:`solve`, then make its settings the ones in force (only if it succeeded)."""
        target = self._target(*args, **params)
        answer = self._solve(target)
        self._commit(target)
        return answer

    def update(self, *args, **params) -> xr.Dataset:
        """The labelled answer for these settings, which become the ones in force.

        Atomic: a call that raises leaves the session exactly as it was.
        """
        target = self._target(*args, **params)
        ds = self.to_dataset(self._solve(target))
        self._commit(target)
        return ds

    @property
    def path(self) -> xr.Dataset:
        """The whole grid at the settings in force, computed once and cached."""
        return self.path_for()

    def path_for(self, *args, **params) -> xr.Dataset:
        """The path at other settings (those left out are the ones in force), cached per
        setting that changes it."""
        target = self._target(*args, **params)
        key = self._path_key(target)
        paths = self.__dict__.setdefault("_paths", {})
        if key not in paths:
            paths[key] = self._compute_path(target)
        return paths[key]

    def choices(self, *args, **params) -> dict[str, float]:
        """Each criterion's choice on the grid; ``{}`` where no criterion applies."""
        return {}

    # ------------------------------------------------------------------ what a subclass gives

    def _target(self, *args, **params) -> dict:  # pragma: no cover - every session provides it
        raise NotImplementedError

    def _solve(self, target: dict):  # pragma: no cover - every session provides it
        raise NotImplementedError

    def to_dataset(self, answer) -> xr.Dataset:  # pragma: no cover - every session provides it
        raise NotImplementedError

    def _path_key(self, target: dict):
        return None

    def _compute_path(self, target: dict) -> xr.Dataset:
        raise NotImplementedError(f"{type(self).__name__} has no path over a grid.")

    def _commit(self, target: dict) -> None:
        for name in self._settings:
            if name in target:
                setattr(self, name, target[name])


class FilterSession(Session):
    """The spectral case: a strength ``reg`` over ``reg_grid`` and a cached path scored by
    the criteria of :mod:`spectrakit.core.spectral`.

    A subclass sets ``criteria`` (the names :func:`spectrakit.choose` takes that apply to
    it) and, before its first path, ``reg_grid`` through :meth:`_set_grid`.
    """

    criteria: tuple[str, ...] = ("gcv", "loo", "lcurve")
    reg_grid: np.ndarray

    def _set_grid(self, reg_grid, default) -> None:
        """``reg_grid`` checked (at least 3 values), or ``default()`` when it is None."""
        if reg_grid is not None:
            # the grid's copy and the path's values per reg (norms, criteria, factors' rows)
            check_memory(64.0 * reg_count(reg_grid), "cpu", name="reg_grid",
                         what=f"a path over {reg_count(reg_grid)} reg values",
                         alternative="Use a grid of a few hundred values (numpy.logspace(-8, 0, 201)).")
        grid = default() if reg_grid is None else check_reg(reg_grid, "reg_grid")
        if grid.shape[0] < 3:
            raise ValueError("reg_grid needs at least 3 values to score the path.")
        self.reg_grid = grid

    @staticmethod
    def _scalar_reg(reg, current: float) -> float:
        """``reg`` (None: ``current``) as a float, checked: finite, >= 0 and a scalar."""
        if reg is None:
            return current
        arr = check_reg(reg)
        if np.ndim(reg) != 0:
            raise ValueError(f"reg must be a scalar here (use .path for a grid); got shape {arr.shape}.")
        return float(arr[0])

    @staticmethod
    def first_signal(path: xr.Dataset) -> xr.Dataset:
        """The path of the first right-hand side / signal of a batch."""
        extra = {d: 0 for d in path["residual_norm"].dims if d != "reg"}
        return path.isel(extra) if extra else path

    def _default_reg(self) -> float:
        """GCV's choice on the path in force (the first signal of a batch): the starting reg."""
        return choose(self.first_signal(self.path), "gcv")

    def choices(self, *args, **params) -> dict[str, float]:
        """Each criterion's choice of reg on the grid (first signal of a batch), by
        :func:`spectrakit.choose`; a criterion without a choice on this grid (no noise
        level for the discrepancy principle, no L-curve corner) is left out. With the
        truth known, ``min_error`` is the best reg on the grid."""
        path = self.first_signal(self.path_for(*args, **params))
        out = {}
        for criterion in self.criteria:
            if criterion == "discrepancy" and "discrepancy" not in path:
                continue  # the noise level is unknown
            try:
                out[criterion] = choose(path, criterion)
            except ValueError:
                continue  # undefined on this grid
        if "error_norm" in path:
            err = path["error_norm"].values
            out["min_error"] = float(path["reg"].values[int(np.nanargmin(err))])
        return out
