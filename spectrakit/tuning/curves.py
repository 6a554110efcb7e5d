"""A GUI-free session for learning-curve theory: a power-law problem whose test error,
its split into bias and variance (in total and per mode) and its Monte-Carlo measurement
answer every move of ``reg``, the spectrum's decay ``alpha``, the target's decay ``beta``,
the number of samples ``n`` and the label ``noise``.

:class:`LearningCurveSession` holds the problem of :mod:`spectrakit.core.curves` (read its
conventions: modes, ``reg`` on the sum of squares, excess risks): the population spectrum
``lambda_k = k**-alpha`` and the target power ``c_k**2 = k**-beta`` over ``n_modes`` modes
(:func:`~spectrakit.core.curves.power_law_spectrum`,
:func:`~spectrakit.core.curves.power_law_target`), labels ``y = f*(x) + noise * eps``. An
answer holds, for the ``reg`` and ``n`` in force:

* the learning curve: the deterministic-equivalent error, bias and variance over the
  ``n_grid`` (:func:`~spectrakit.core.curves.ridge_learning_curve`, or
  :func:`~spectrakit.core.curves.cutoff_learning_curve`);
* its Monte-Carlo counterpart at the ``n_mc`` sample sizes: the mean excess risk over
  ``trials`` Gaussian designs and its standard error, the same numbers as
  :func:`~spectrakit.core.curves.monte_carlo_curve` with the same ``seed``;
* the per-mode bias and variance at ``n``, the filter factors (for ridge the learnabilities
  ``lambda_k/(lambda_k + kappa)``) and the target power ``c_k**2``;
* the error over ``reg_grid`` at ``n`` (the curve the ``reg`` slider moves along) and its
  minimum.

Monte-Carlo is the expensive part, so it is split where the parameters enter: the
standard-normal draws do not depend on anything (drawn once), the decompositions of the
designs ``X = Z diag(sqrt(lambda))`` depend on ``alpha`` only (cached per ``alpha``), and
applying the filter to them costs a few products per draw (cached per ``alpha``, ``beta``,
``noise`` and ``reg``). So a move of ``reg``, ``beta`` or ``noise`` costs milliseconds, a
move of ``n`` none of the Monte-Carlo work, and a move of ``alpha`` one batched
eigendecomposition per Monte-Carlo sample size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from ..core import curves as cc
from ..core.checks import check_finite, check_int, check_memory, check_real, check_reg
from ..core.threads import single_thread_if_small
from ..xr._apply import compute_settings, dtype_name, to_numpy
from ._session import FilterSession
from ._cache import LRUCache

__all__ = ["LearningCurveSession", "CurveStep", "METHODS", "NATIVE"]

#: the methods a session answers for
METHODS = ("ridge", "cutoff")
#: each method's own parameter, derived from ``reg`` at each ``n`` (None: ``reg`` itself)
NATIVE = {"ridge": None, "cutoff": "rank"}
_SPECTRA = 8  # spectra / targets kept per session
_DECOMPOSITIONS = 4  # Monte-Carlo decompositions kept (one per alpha)
_MC_RESULTS = 256  # Monte-Carlo answers kept (one per alpha, beta, noise, reg)
_PATHS = 32  # error-over-reg curves kept (one per alpha, beta, noise, n)



def _sizes(values, name: str, *, integer: bool) -> np.ndarray:
    """A sorted 1-D array of distinct sample sizes (whole numbers >= 1 when ``integer``)."""
    arr = np.array(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float)
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D grid of sample sizes; got shape {arr.shape}.")
    check_finite(arr, name)
    if integer and (arr != np.round(arr)).any():
        raise ValueError(f"{name} must hold whole numbers (Monte-Carlo draws n samples); got {arr[:5].tolist()}.")
    low = 1 if integer else 0
    if arr.size and (arr.min() < low or (not integer and arr.min() <= 0)):
        raise ValueError(f"{name} must be {'>= 1' if integer else '> 0'} (sample sizes); got {arr.min()!r}.")
    arr = np.unique(arr)
    return arr.astype(np.int64) if integer else arr


def _cutoff_rank(lam: torch.Tensor, n, reg: torch.Tensor) -> torch.Tensor:
    """``rank = #{k : n lambda_k >= reg}`` (R,): TSVD's ``s >= reg`` on ``s = n lambda``."""
    return (n * lam[None, :] >= reg[:, None]).sum(-1).to(lam.dtype)


@dataclass(frozen=True)
class CurveStep:
    """One answer of :class:`LearningCurveSession` as tensors (what a slider move costs).

    ``curve`` is the :class:`~spectrakit.core.curves.LearningCurve` over the session's
    ``n_grid``, ``at_n`` the one at ``n`` (scalars and per-mode arrays), ``path`` the one
    over ``reg_grid`` at ``n``; ``mc`` the Monte-Carlo answer at ``n_mc`` (a dict of
    tensors ``error``, ``error_se``, ``bias2``, ``variance``) and ``mc_theory`` the
    deterministic equivalent at those sizes; ``native`` the method's own parameter as
    ``(name, values over n_grid, value at n)`` (``None`` for ridge); ``lam`` and ``c`` the
    problem (``lambda_k`` and ``c_k``).
    """

    reg: float
    alpha: float
    beta: float
    noise: float
    n: int
    curve: cc.LearningCurve
    at_n: cc.LearningCurve
    path: cc.LearningCurve
    mc: dict
    mc_theory: torch.Tensor
    native: tuple | None
    lam: torch.Tensor
    c: torch.Tensor


class LearningCurveSession(FilterSession):
    """Learning curves of ridge (or spectral cut-off) on a power-law problem, theory and
    Monte-Carlo, for any ``reg``, ``alpha``, ``beta``, ``n`` and ``noise``.

    The problem: ``n_modes`` population eigenvalues ``lambda_k = k**-alpha`` and a target
    with ``c_k**2 = k**-beta``, labels with noise of standard deviation ``noise``. The
    errors are excess risks ``E ||f_hat - f*||**2`` (add ``noise**2`` for the test MSE on
    noisy labels), as in :mod:`spectrakit.core.curves`.

    Methods and what ``reg`` means for them:

    * ``"ridge"``: ``reg`` is scikit-learn's ``alpha`` (the ridge estimator minimizes
      ``sum_i (y_i - f(x_i))**2 + reg ||f||**2``); the theory is
      :func:`~spectrakit.core.curves.ridge_learning_curve` (the deterministic equivalent);
      ``reg = 0`` is the ridgeless interpolator.
    * ``"cutoff"``: principal-components regression keeping the ``rank`` top modes, with
      ``rank = #{k : n lambda_k >= reg}``: TSVD's rule ``s >= reg`` on the population
      scale ``s = n lambda`` of the squared singular values, so its step sits where
      ridge's does (at ``reg``), but the rank it implies changes with ``n``. The theory is
      :func:`~spectrakit.core.curves.cutoff_learning_curve` (the population
      approximation, accurate while ``rank`` is well below ``n``); the Monte-Carlo keeps
      the ``rank`` top empirical modes.

    Parameters
    ----------
    n_modes : int
        The number of modes ``P`` (default 400).
    alpha, beta : float
        The spectrum's and the target's decay exponents, ``> 0`` (defaults 1.5 and 2.5).
        With finitely many modes every value gives a finite trace; ``alpha > 1`` and
        ``beta > 1`` are the ones that stay finite as ``n_modes`` grows.
    noise : float
        The label noise's standard deviation, ``>= 0`` (default 0.3).
    reg : float
        The strength in force, ``>= 0`` (default 0.1).
    n : int
        The sample size in force, ``>= 1`` (default 100).
    method : {"ridge", "cutoff"}
    n_grid : 1-D array, optional
        The sample sizes of the learning curve, ``> 0`` (default 61 geometric values from
        10 to 2000).
    reg_grid : 1-D array, optional
        The strengths of the error-over-reg curve, ``> 0`` (default 141 geometric values
        from 1e-4 to 1e3).
    n_mc : 1-D array of int, optional
        The Monte-Carlo sample sizes (default ``(10, 20, 50, 100, 200)``); empty for none.
    trials : int
        Monte-Carlo designs drawn per sample size, ``>= 2`` (default 10).
    seed : int or None
        Seeds the Monte-Carlo draws (None: fresh entropy).
    device, dtype : optional
        Where and in which precision the theory runs (see :func:`spectrakit.set_options`).
        The Monte-Carlo decompositions run in float64 on the same device whatever
        ``dtype`` (the eigendecomposition of a Gram matrix needs it).

    Attributes
    ----------
    reg, alpha, beta, noise, n : the values in force (the last :meth:`update`)
    n_modes, method, n_grid, reg_grid, n_mc, trials, seed, device, dtype
    n_decompositions : int
        Monte-Carlo decompositions computed (one per new ``alpha``).
    n_mc_evaluations : int
        Monte-Carlo answers computed (one per new ``alpha``, ``beta``, ``noise``, ``reg``).

    Examples
    --------
    >>> from spectrakit.tuning.curves import LearningCurveSession
    >>> session = LearningCurveSession(n_modes=200, n_mc=[20, 50], trials=20, device="cpu")
    >>> out = session.update(reg=1e-2, n=50)
    >>> out["error"].dims, out["bias2_mode"].dims, out["error_path"].dims, out["mc_error"].dims
    (('n',), ('mode',), ('reg',), ('n_mc',))
    >>> # the Monte-Carlo points sit on the theory curve, within a few standard errors
    >>> gap = abs(out["mc_error"] - out["mc_theory"]) / out["mc_error_se"]
    >>> bool((gap < 3).all())
    True
    >>> runs = session.n_mc_evaluations
    >>> out = session.update(n=120)  # a new n: the Monte-Carlo answer is reused
    >>> session.n_mc_evaluations == runs, out.attrs["n"]
    (True, 120)
    """

    criteria = ()
    _settings = ("reg", "alpha", "beta", "n", "noise")

    def __init__(
        self, *, n_modes=400, alpha=1.5, beta=2.5, noise=0.3, reg=0.1, n=100, method="ridge", n_grid=None,
        reg_grid=None, n_mc=(10, 20, 50, 100, 200), trials=10, seed=0, device=None, dtype=None,
    ):
        if method not in METHODS:
            raise ValueError(f"method={method!r} is unknown; choose one of {list(METHODS)}.")
        self.method = method
        self.n_modes = check_int(n_modes, "n_modes", 1)
        self.device, self.dtype = compute_settings(device, dtype)
        self.n_grid = np.geomspace(10, 2000, 61) if n_grid is None else _sizes(n_grid, "n_grid", integer=False)
        if self.n_grid.size < 2:
            raise ValueError("n_grid needs at least 2 sample sizes to draw a learning curve.")
        if reg_grid is None:
            self.reg_grid = np.logspace(-4, 3, 141)
        else:
            self.reg_grid = np.unique(check_reg(reg_grid, "reg_grid"))
            if self.reg_grid.size < 2 or self.reg_grid.min() <= 0:
                raise ValueError(
                    "reg_grid must hold at least 2 values, all > 0 (a geometric grid such as "
                    f"numpy.logspace(-4, 3, 141)); got {self.reg_grid.size} value(s), smallest {self.reg_grid.min()!r}."
                )
        self.n_mc = _sizes(np.asarray(n_mc if n_mc is not None else [], dtype=float), "n_mc", integer=True)
        self.trials = check_int(trials, "trials", 2)
        self.seed = None if seed is None else check_int(seed, "seed", 0)
        self._check_mc_memory()
        self._reg_t = torch.as_tensor(self.reg_grid, dtype=self.dtype, device=self.device)
        self._n_t = torch.as_tensor(self.n_grid, dtype=self.dtype, device=self.device)
        self._n_mc_t = torch.as_tensor(self.n_mc, dtype=self.dtype, device=self.device)
        self._spectra = LRUCache(_SPECTRA)
        self._targets = LRUCache(_SPECTRA)
        self._draws = None  # the standard-normal parts of the designs, drawn on first use
        self._decomps = LRUCache(_DECOMPOSITIONS)
        self._mc = LRUCache(_MC_RESULTS)
        self._theory_paths = LRUCache(_PATHS)
        self.n_decompositions = 0
        self.n_mc_evaluations = 0
        # what None keeps: the defaults
        self.reg, self.alpha, self.beta, self.noise, self.n = 0.1, 1.5, 2.5, 0.3, 100
        self.update(reg=reg, alpha=alpha, beta=beta, n=n, noise=noise)  # any problem shows here

    # ------------------------------------------------------------------ checks

    def _check_mc_memory(self) -> None:
        P, t = self.n_modes, self.trials
        # kept: the draws (n x P, or Z^T Z past n = P) and the cached decompositions (P x min(n, P));
        # while drawing: one (n x P) batch. All float64.
        kept = sum(t * P * min(int(n), P) for n in self.n_mc) * (1 + _DECOMPOSITIONS)
        drawing = max((t * P * int(n) for n in self.n_mc), default=0)
        check_memory(
            8.0 * (kept + drawing), self.device, name="LearningCurveSession",
            what=f"the Monte-Carlo draws and decompositions ({t} trials at n = {self.n_mc.tolist()}, {P} modes)",
            alternative="Use fewer trials, smaller n_mc or fewer modes.",
        )

    def _target(self, reg=None, alpha=None, beta=None, n=None, noise=None) -> dict:
        """The settings asked for, checked (nothing is changed); None keeps a value."""
        if isinstance(reg, torch.Tensor):
            reg = reg.detach().cpu().numpy()
        reg = self._scalar_reg(reg, self.reg)
        alpha = self.alpha if alpha is None else check_real(alpha, "alpha", strict=True)
        beta = self.beta if beta is None else check_real(beta, "beta", strict=True)
        noise = self.noise if noise is None else check_real(noise, "noise")
        if n is not None:
            if isinstance(n, torch.Tensor) and n.numel() == 1 and not n.is_floating_point():
                n = n.item()
            n = check_int(n, "n", 1)
        else:
            n = self.n
        return dict(reg=reg, alpha=alpha, beta=beta, n=n, noise=noise)

    # ------------------------------------------------------------------ the problem

    def spectrum(self, alpha=None) -> torch.Tensor:
        """``lambda_k = k**-alpha`` (P,) on the session's device (default: ``alpha`` in force); cached."""
        alpha = self.alpha if alpha is None else check_real(alpha, "alpha", strict=True)
        return self._spectra.get_or_compute(alpha, lambda: cc.power_law_spectrum(
            self.n_modes, alpha, device=self.device, dtype=self.dtype))

    def target(self, beta=None) -> torch.Tensor:
        """``c_k = k**(-beta/2)`` (P,) on the session's device (default: ``beta`` in force); cached."""
        beta = self.beta if beta is None else check_real(beta, "beta", strict=True)
        return self._targets.get_or_compute(beta, lambda: cc.power_law_target(
            self.n_modes, beta, device=self.device, dtype=self.dtype))

    # ------------------------------------------------------------------ theory

    def _theory(self, lam, c, noise, n, reg) -> tuple:
        """The method's LearningCurve and its native parameter (None for ridge) at ``n`` and
        ``reg``: each a float, or one of them a 1-D tensor (the curve over it)."""
        if self.method == "ridge":
            return cc.ridge_learning_curve(lam, c, noise, n, reg), None
        if isinstance(n, torch.Tensor):  # the rank changes with n: one population curve per n
            ranks = torch.cat([_cutoff_rank(lam, float(n_i), torch.tensor([reg], dtype=lam.dtype, device=lam.device))
                               for n_i in n])
            parts = [cc.cutoff_learning_curve(lam, c, noise, float(n_i), r) for n_i, r in zip(n, ranks)]
            return cc.LearningCurve(*(None if f[0] is None else torch.stack(list(f)) for f in zip(*parts))), ranks
        reg_t = torch.as_tensor(reg, dtype=lam.dtype, device=lam.device)
        ranks = _cutoff_rank(lam, float(n), reg_t.reshape(-1)).reshape(reg_t.shape)
        return cc.cutoff_learning_curve(lam, c, noise, float(n), ranks), ranks

    def _path(self, lam, c, alpha, beta, noise, n) -> tuple:
        """The error over reg_grid at ``n`` (independent of reg: cached)."""
        key = (alpha, beta, noise, n)
        return self._theory_paths.get_or_compute(key, lambda: self._theory(lam, c, noise, float(n), self._reg_t))

    # ------------------------------------------------------------------ Monte-Carlo

    def _draw(self) -> list:
        """The standard-normal parts ``Z`` of the designs, as :func:`~spectrakit.core.curves.monte_carlo_curve`
        draws them (one CPU generator, for each n in order, ``trials`` draws of (n, P)); past
        ``n = P`` only ``Z^T Z`` is kept (what the decomposition needs)."""
        if self._draws is None:
            gen = torch.Generator()
            if self.seed is None:
                gen.seed()
            else:
                gen.manual_seed(self.seed)
            P, draws = self.n_modes, []
            for n in self.n_mc:
                Z = torch.stack([torch.randn(int(n), P, generator=gen, dtype=torch.float64)
                                 for _ in range(self.trials)]).to(self.device)
                draws.append(Z if n <= P else Z.mT @ Z)
            self._draws = draws
        return self._draws

    def _decompose(self, alpha, lam) -> list:
        """For each n of n_mc: ``s2`` (trials, r) the squared singular values of
        ``X = Z diag(sqrt(lam))``, descending, and ``V`` (trials, P, r) its right singular
        vectors, from the eigendecomposition of the smaller Gram matrix (float64)."""

        def compute():
            self.n_decompositions += 1
            lam64 = lam.to(torch.float64)
            root = lam64.sqrt()
            out = []
            for n, Z in zip(self.n_mc, self._draw()):
                P = self.n_modes
                with single_thread_if_small(4.0 * self.trials * min(n, P) ** 2 * P, self.device):
                    if n <= P:  # X X^T = Z diag(lam) Z^T = U diag(s2) U^T, V = X^T U / sigma
                        s2, U = torch.linalg.eigh((Z * lam64) @ Z.mT)
                        s2 = s2.clamp_min(torch.finfo(torch.float64).tiny)
                        V = root[:, None] * (Z.mT @ U) / s2.sqrt()[:, None, :]
                    else:  # X^T X = diag(sqrt(lam)) Z^T Z diag(sqrt(lam)) = V diag(s2) V^T
                        s2, V = torch.linalg.eigh(root[:, None] * Z * root)
                        s2 = s2.clamp_min(0.0)
                out.append((s2.flip(-1), V.flip(-1)))
            return out

        return self._decomps.get_or_compute(alpha, compute)

    def _monte_carlo(self, lam, c, reg, alpha, beta, noise) -> dict:
        """The measured error at n_mc for the state: each design's exact excess risk,
        ``sum_k lambda_k (w_hat_k - w*_k)**2`` for the noiseless labels plus the exact average
        over the label noise (as :func:`~spectrakit.core.curves.monte_carlo_curve`)."""
        key = (alpha, beta, noise, reg)

        def compute():
            self.n_mc_evaluations += 1
            empty = torch.zeros(0, dtype=torch.float64, device=self.device)
            if not self.n_mc.size:
                return {k: empty for k in ("error", "error_se", "bias2", "variance")}
            lam64, c64 = lam.to(torch.float64), c.to(torch.float64)
            w_star = c64 / lam64.sqrt()
            noise2 = noise * noise
            rows = {k: [] for k in ("error", "error_se", "bias2", "variance")}
            for n, (s2, V) in zip(self.n_mc, self._decompose(alpha, lam)):
                with single_thread_if_small(6.0 * self.trials * self.n_modes * s2.shape[-1], self.device):
                    h = self._mc_filter(lam64, int(n), s2, reg)  # (trials, r)
                    b_mode, v_mode = cc.design_risk(lam64, w_star, noise2, V, s2, h[:, None, :])
                    bias2, variance = b_mode.sum(-1)[:, 0], v_mode.sum(-1)[:, 0]
                errs = bias2 + variance
                rows["error"].append(errs.mean())
                rows["error_se"].append(errs.std() / math.sqrt(self.trials))
                rows["bias2"].append(bias2.mean())
                rows["variance"].append(variance.mean())
            return {k: torch.stack(v) for k, v in rows.items()}

        return self._mc.get_or_compute(key, compute)

    def _mc_filter(self, lam, n: int, s2: torch.Tensor, reg: float) -> torch.Tensor:
        """The method's filter on the squared singular values ``s2`` (trials, r), descending."""
        if self.method == "ridge":
            return torch.where(s2 > 0, s2 / (s2 + reg).clamp_min(torch.finfo(s2.dtype).tiny), 0.0)
        rank = float(_cutoff_rank(lam, n, torch.tensor([reg], dtype=lam.dtype, device=lam.device))[0])
        idx = torch.arange(s2.shape[-1], device=s2.device, dtype=s2.dtype)
        return ((idx < rank) & (s2 > 0)).to(s2.dtype).expand_as(s2)

    # ------------------------------------------------------------------ answers

    def _solve(self, target: dict) -> CurveStep:
        """One state as tensors (:meth:`solve`, the fast path of :meth:`update`; changes no setting)."""
        reg, alpha, beta, n, noise = (target[k] for k in ("reg", "alpha", "beta", "n", "noise"))
        lam, c = self.spectrum(alpha), self.target(beta)
        curve, native_n = self._theory(lam, c, noise, self._n_t, reg)
        at_n, native_at = self._theory(lam, c, noise, float(n), reg)
        path, _ = self._path(lam, c, alpha, beta, noise, n)
        if self.n_mc.size:
            mc_theory = self._theory(lam, c, noise, self._n_mc_t, reg)[0].error
        else:
            mc_theory = torch.zeros(0, dtype=self.dtype, device=self.device)
        mc = self._monte_carlo(lam, c, reg, alpha, beta, noise)
        native = None
        if NATIVE[self.method] is not None:
            native = (NATIVE[self.method], native_n, float(native_at))
        return CurveStep(reg, alpha, beta, noise, n, curve, at_n, path, mc, mc_theory, native, lam, c)

    def update(self, reg=None, alpha=None, beta=None, n=None, noise=None) -> xr.Dataset:
        """The answer for a new state; any argument left out (or None) keeps its value.

        Returns a numpy-backed Dataset with

        * over ``n`` (the ``n_grid``): ``error``, ``bias2``, ``variance``: the learning curve
          at ``reg`` (deterministic equivalent);
        * over ``n_mc``: ``mc_error`` and ``mc_error_se`` (the mean excess risk over
          ``trials`` designs and its standard error), ``mc_bias2``, ``mc_variance``, and
          ``mc_theory`` (the deterministic equivalent at those sizes);
        * over ``mode`` (coordinate ``eigenvalue``, ``lambda_k``), at ``n``: ``bias2_mode``,
          ``variance_mode``, ``factors`` (``E f_hat_k / c_k``; for ridge the learnability
          ``lambda_k/(lambda_k + kappa)``) and ``target_power`` ``c_k**2``;
        * scalars at ``n`` and ``reg``: ``error_at_n``, ``bias2_at_n``, ``variance_at_n`` and,
          for ridge, ``kappa`` (the effective regularization);
        * over ``reg`` (the ``reg_grid``), at ``n``: ``error_path``, ``bias2_path``,
          ``variance_path``, with its minimum ``best_error`` at ``best_reg``;
        * for ``method="cutoff"``, ``rank`` over ``n`` (the rank ``reg`` implies at each size).

        attrs: ``reg``, ``alpha``, ``beta``, ``noise``, ``n``, ``method``, ``n_modes``,
        ``trials``, ``seed`` (absent when None), ``device``, ``dtype`` (and ``rank`` at ``n``
        for cut-off). Atomic: if it raises, nothing changes.
        """
        return super().update(reg, alpha, beta, n, noise)

    def _path_key(self, target: dict):
        return tuple(target[k] for k in ("alpha", "beta", "noise", "n"))

    def _compute_path(self, target: dict) -> xr.Dataset:
        """The theory over ``reg_grid`` at ``n`` (what ``error_path`` shows): ``error``,
        ``bias2`` and ``variance`` over ``reg``."""
        alpha, beta, noise, n = self._path_key(target)
        lam, c = self.spectrum(alpha), self.target(beta)
        curve, _ = self._path(lam, c, alpha, beta, noise, n)
        data = {name: ("reg", to_numpy(getattr(curve, name)).astype(float, copy=True))
                for name in ("error", "bias2", "variance")}
        ds = xr.Dataset(data, coords={"reg": self.reg_grid.copy()})
        ds.attrs.update(method=self.method, alpha=alpha, beta=beta, noise=noise, n=n)
        return ds

    def choices(self, reg=None, alpha=None, beta=None, n=None, noise=None) -> dict[str, float]:
        """``min_error``: the reg on the grid with the least predicted excess risk at ``n``
        (an oracle: the theory knows the target)."""
        err = self.path_for(reg, alpha, beta, n, noise)["error"].values
        return {"min_error": float(self.reg_grid[int(np.nanargmin(err))])}

    def to_dataset(self, st: CurveStep) -> xr.Dataset:
        """Label a :class:`CurveStep`."""

        def np_(t):
            return to_numpy(t).astype(float, copy=True)

        err_path = np_(st.path.error)
        finite = np.where(np.isfinite(err_path), err_path, np.inf)
        best = int(np.argmin(finite))
        data_vars = {
            "error": ("n", np_(st.curve.error)),
            "bias2": ("n", np_(st.curve.bias2)),
            "variance": ("n", np_(st.curve.variance)),
            "mc_error": ("n_mc", np_(st.mc["error"])),
            "mc_error_se": ("n_mc", np_(st.mc["error_se"])),
            "mc_bias2": ("n_mc", np_(st.mc["bias2"])),
            "mc_variance": ("n_mc", np_(st.mc["variance"])),
            "mc_theory": ("n_mc", np_(st.mc_theory)),
            "bias2_mode": ("mode", np_(st.at_n.bias2_mode)),
            "variance_mode": ("mode", np_(st.at_n.variance_mode)),
            "factors": ("mode", np_(st.at_n.factors)),
            "target_power": ("mode", np_(st.c * st.c)),
            "error_at_n": ((), float(st.at_n.error)),
            "bias2_at_n": ((), float(st.at_n.bias2)),
            "variance_at_n": ((), float(st.at_n.variance)),
            "error_path": ("reg", err_path),
            "bias2_path": ("reg", np_(st.path.bias2)),
            "variance_path": ("reg", np_(st.path.variance)),
            "best_reg": ((), float(self.reg_grid[best])),
            "best_error": ((), float(err_path[best])),
        }
        if st.at_n.kappa is not None:
            data_vars["kappa"] = ((), float(st.at_n.kappa))
        attrs = self._attrs(st)
        if st.native is not None:
            name, over_n, at_n = st.native
            data_vars[name] = ("n", np_(over_n))
            attrs[name] = int(at_n)
        coords = {
            "n": self.n_grid.copy(), "n_mc": self.n_mc.copy(), "reg": self.reg_grid.copy(),
            "mode": np.arange(self.n_modes), "eigenvalue": ("mode", np_(st.lam)),
        }
        ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
        long_names = {
            "error": "excess risk E||f_hat - f*||^2 (deterministic equivalent)",
            "mc_error": "excess risk, Monte-Carlo mean over the trials",
            "mc_error_se": "standard error of mc_error",
            "mc_theory": "deterministic equivalent at the Monte-Carlo sample sizes",
            "factors": "filter on the population modes, E f_hat_k / c_k",
            "target_power": "target power c_k^2",
            "error_path": "excess risk over reg at n",
        }
        for name, text in long_names.items():
            ds[name].attrs["long_name"] = text
        return ds

    def _attrs(self, st: CurveStep) -> dict:
        out = dict(
            reg=st.reg, alpha=st.alpha, beta=st.beta, noise=st.noise, n=int(st.n), method=self.method,
            n_modes=self.n_modes, trials=self.trials, seed=self.seed,
            device=str(self.device), dtype=dtype_name(self.dtype),
        )
        if self.seed is None:  # attrs must be writable to netCDF
            del out["seed"]
        return out

    def __repr__(self) -> str:
        return (f"LearningCurveSession(method={self.method!r}, n_modes={self.n_modes}, alpha={self.alpha:g}, "
                f"beta={self.beta:g}, noise={self.noise:g}, reg={self.reg:.3g}, n={self.n}, "
                f"n_mc={self.n_mc.tolist()}, trials={self.trials}, device={self.device})")
